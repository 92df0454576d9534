/* fuzz_compile.c - libFuzzer target: any bytes as a .flow source.
 *
 * The compiler must answer every input with diagnostics or bytecode, never
 * a crash, a hang or an out-of-bounds read. The diagnostics are also written
 * as text (to /dev/null), JSON and SARIF; the JSON and SARIF must parse as
 * JSON. When the source compiles, the VM must load the bytecode (the
 * compiler's own output refused is a bug) and run a short conversation, and
 * every state of it must survive vm_state_save / vm_state_load; a second
 * compile must give the same bytes, and `flowc graph` draws it too.
 *
 *   build/fuzz/fuzz/fuzz_compile -dict=tests/fuzz/flow.dict CORPUS
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fc_diag.h"
#include "fc_unit.h"
#include "fuzz_common.h"

static FILE *devnull;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    devnull = fopen("/dev/null", "w");
    if (!devnull)
        fuzz_die("cannot open /dev/null");
    return 0;
}

/* ---- a strict JSON checker (RFC 8259) for the JSON and SARIF writers ---- */

/* The checker is the harness, not the code under test: without coverage
 * instrumentation it runs several times faster and does not steer the
 * fuzzer towards shapes of JSON. */
#define NOCOV __attribute__((no_sanitize("coverage")))

typedef struct json {
    const unsigned char *p, *end;
    int depth;
} json;

NOCOV static bool j_value(json *j);

NOCOV static void j_ws(json *j)
{
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
        j->p++;
}

NOCOV static bool j_lit(json *j, const char *w)
{
    size_t n = strlen(w);
    if ((size_t)(j->end - j->p) < n || memcmp(j->p, w, n) != 0)
        return false;
    j->p += n;
    return true;
}

NOCOV static bool j_digits(json *j)
{
    const unsigned char *s = j->p;
    while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
        j->p++;
    return j->p > s;
}

NOCOV static bool j_number(json *j)
{
    if (j->p < j->end && *j->p == '-')
        j->p++;
    if (j->p < j->end && *j->p == '0')
        j->p++;
    else if (!j_digits(j))
        return false;
    if (j->p < j->end && *j->p == '.') {
        j->p++;
        if (!j_digits(j))
            return false;
    }
    if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
        j->p++;
        if (j->p < j->end && (*j->p == '+' || *j->p == '-'))
            j->p++;
        if (!j_digits(j))
            return false;
    }
    return true;
}

/* Well-formed UTF-8: no overlongs, surrogates or code points past U+10FFFF. */
NOCOV static bool j_utf8(const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        unsigned c = s[i];
        size_t k = c < 0x80 ? 1 : c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
        if (k == 0 || n - i < k)
            return false;
        uint32_t v = k == 1 ? c : c & (0x7F >> k);
        for (size_t m = 1; m < k; m++) {
            if ((s[i + m] & 0xC0) != 0x80)
                return false;
            v = v << 6 | (s[i + m] & 0x3F);
        }
        if ((k == 3 && (v < 0x800 || (v >= 0xD800 && v <= 0xDFFF))) || (k == 4 && (v < 0x10000 || v > 0x10FFFF)))
            return false;
        i += k;
    }
    return true;
}

NOCOV static bool j_string(json *j)
{
    if (j->p >= j->end || *j->p != '"')
        return false;
    const unsigned char *s = ++j->p;
    while (j->p < j->end && *j->p != '"') {
        unsigned char c = *j->p;
        if (c < 0x20)
            return false;
        if (c == '\\') {
            if (++j->p >= j->end)
                return false;
            c = *j->p;
            if (c == 'u') {
                for (int i = 0; i < 4; i++)
                    if (++j->p >= j->end || !strchr("0123456789abcdefABCDEF", *j->p) || *j->p == 0)
                        return false;
            } else if (!strchr("\"\\/bfnrt", c) || c == 0) {
                return false;
            }
        }
        j->p++;
    }
    if (j->p >= j->end)
        return false;
    bool ok = j_utf8(s, (size_t)(j->p - s));
    j->p++;
    return ok;
}

NOCOV static bool j_members(json *j, char close, bool object)
{
    j->p++;
    j_ws(j);
    if (j->p < j->end && *j->p == close) {
        j->p++;
        return true;
    }
    for (;;) {
        j_ws(j);
        if (object) {
            if (!j_string(j))
                return false;
            j_ws(j);
            if (j->p >= j->end || *j->p++ != ':')
                return false;
        }
        if (!j_value(j))
            return false;
        j_ws(j);
        if (j->p >= j->end)
            return false;
        if (*j->p == close) {
            j->p++;
            return true;
        }
        if (*j->p++ != ',')
            return false;
    }
}

NOCOV static bool j_value(json *j)
{
    j_ws(j);
    if (j->p >= j->end || ++j->depth > 64)
        return false;
    bool ok;
    switch (*j->p) {
    case '{': ok = j_members(j, '}', true); break;
    case '[': ok = j_members(j, ']', false); break;
    case '"': ok = j_string(j); break;
    case 't': ok = j_lit(j, "true"); break;
    case 'f': ok = j_lit(j, "false"); break;
    case 'n': ok = j_lit(j, "null"); break;
    default: ok = j_number(j); break;
    }
    j->depth--;
    return ok;
}

static void check_json(const fc_diags *d, bool sarif)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return;
    if (sarif)
        fc_diags_write_sarif(d, f);
    else
        fc_diags_write_json(d, f);
    fclose(f);
    json j = {(const unsigned char *)buf, (const unsigned char *)buf + len, 0};
    bool ok = j_value(&j);
    j_ws(&j);
    if (!ok || j.p != j.end) {
        fprintf(stderr, "%.*s\n", (int)(len > 4000 ? 4000 : len), buf);
        fuzz_die("the %s writer wrote invalid JSON (at byte %zu of %zu)", sarif ? "SARIF" : "JSON",
                 (size_t)(j.p - (const unsigned char *)buf), len);
    }
    free(buf);
}

/* ---- running what compiled -------------------------------------------------- */

static vm_state *step_done(const vm_program *p, vm_state *s)
{
    fuzz_poke_state(p, s);
    return fuzz_roundtrip(p, s);
}

static void converse(const vm_program *p)
{
    fuzz_host fh;
    fuzz_host_init(&fh, p, FUZZ_MONDAY_NOON, 1, true);
    const vm_host *h = &fh.host;
    vm_state *s = vm_state_new(p);
    if (!s)
        return;
    s = step_done(p, s);
    vm_start(s, h);
    s = step_done(p, s);
    vm_send_text(s, h, "hello", 5);
    s = step_done(p, s);
    vm_click(s, h, 0);
    s = step_done(p, s);
    /* the first offered label, typed: the label-matching path */
    vm_text_ref b[VM_MAX_BUTTONS];
    if (vm_state_buttons(s, b, VM_MAX_BUTTONS) > 0) {
        char label[128];
        uint32_t n = b[0].len < sizeof label - 2 ? b[0].len : (uint32_t)sizeof label - 2;
        label[0] = ' ';
        memcpy(label + 1, b[0].s, n);
        label[n + 1] = ' ';
        vm_send_text(s, h, label, n + 2);
        s = step_done(p, s);
    }
    vm_send_text(s, h, "ann@example.com", 15);
    s = step_done(p, s);
    vm_send_text(s, h, " 2 500 ", 7);
    s = step_done(p, s);
    vm_click(s, h, 1);
    s = step_done(p, s);
    vm_taken(s, h);
    s = step_done(p, s);
    vm_timeout(s, h);
    s = step_done(p, s);
    vm_state_free(s);

    /* once more, with the business closed and nobody online */
    fuzz_host_init(&fh, p, FUZZ_MONDAY_NOON + 5 * 86400 + 12 * 3600, 0, false);
    s = vm_state_new(p);
    if (!s)
        return;
    vm_start(s, h);
    s = step_done(p, s);
    vm_timeout(s, h);
    s = step_done(p, s);
    vm_state_free(s);
}

/* Spec section 11: the same input always gives byte-identical bytecode. */
static void same_again(const uint8_t *data, size_t size, const vm_buf *first)
{
    char *text = malloc(size ? size : 1);
    if (!text)
        return;
    if (size)
        memcpy(text, data, size);
    fc_source src = {"fuzz.flow", text, size};
    fc_diags *d = fc_diags_new();
    vm_buf code = {0};
    if (!fc_compile(&src, d, &code))
        fuzz_die("a source that compiled does not compile the second time");
    if (code.len != first->len || memcmp(code.data, first->data, code.len) != 0)
        fuzz_die("two compiles of one source gave different bytecode (%zu and %zu bytes)", first->len, code.len);
    vm_buf_free(&code);
    fc_diags_free(d);
    free(text);
}

/* flowc graph: the checked tree as Graphviz DOT. */
static void graph(const uint8_t *data, size_t size)
{
    char *text = malloc(size ? size : 1);
    if (!text)
        return;
    if (size)
        memcpy(text, data, size);
    fc_source src = {"fuzz.flow", text, size};
    fc_diags *d = fc_diags_new();
    fc_unit u;
    if (!fc_check_unit(&u, &src, d))
        fuzz_die("fc_check_unit failed on a source that compiled");
    fc_graph(&u, devnull);
    fc_unit_free(&u);
    fc_diags_free(d);
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* an exact-size copy: a read past the end of the source is caught */
    char *text = malloc(size ? size : 1);
    if (!text)
        return 0;
    if (size)
        memcpy(text, data, size);
    fc_source src = {"fuzz.flow", text, size};
    fc_diags *d = fc_diags_new();
    vm_buf code = {0};
    bool ok = fc_compile(&src, d, &code);
    free(text); /* the collector keeps what it needs of the source */
    fc_diags_write_text(d, devnull, true);
    check_json(d, false);
    check_json(d, true);
    if (ok != (fc_diags_errors(d) == 0))
        fuzz_die("fc_compile returned %d with %zu errors", ok, fc_diags_errors(d));
    if (ok) {
        char err[256];
        vm_program *p = vm_program_load(code.data, code.len, err, sizeof err);
        if (!p)
            fuzz_die("vm_program_load refused the compiler's own bytecode (%zu bytes): %s", code.len, err);
        fuzz_poke_program(p);
        converse(p);
        vm_program_free(p);
        same_again(data, size, &code);
        graph(data, size);
    }
    vm_buf_free(&code);
    fc_diags_free(d);
    return 0;
}
