/* fc_chat.c - `flowc test FLOW CHAT...`: transcript tests (spec section 12).
 *
 * The flow is compiled once; each .chat file runs a fresh conversation in
 * the VM with this file acting as the host (clock, agents, visitor facts).
 * Every output the VM produces is printed in the transcript's line format
 * and compared, in order, with the file's expected lines. With --roundtrip,
 * the state is saved, freed and restored between every two steps, which
 * must not change any transcript.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "fc_cli.h"
#include "fc_scene.h"
#include "vm.h"
#include "vm_text.h"

typedef struct chat {
    fc_scene scene; /* first: the host's callbacks read it through ctx */
    const char *path;
    const vm_program *prog;
    vm_state *state;
    bool roundtrip;
    bool started;
    vm_host host;
    /* outputs not yet matched */
    char **out;
    size_t nout, head, cap;
    /* the failure, if any */
    char *failure;
} chat;

/* ---- outputs as transcript lines -------------------------------------------- */

typedef struct line_buf {
    char *s;
    size_t len, cap;
} line_buf;

static void lb_put(line_buf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->s = realloc(b->s, b->cap);
        if (!b->s)
            abort();
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

static void lb_cstr(line_buf *b, const char *s) { lb_put(b, s, strlen(s)); }

static void queue_line(chat *c, char *line)
{
    if (c->nout == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 16;
        c->out = realloc(c->out, c->cap * sizeof *c->out);
        if (!c->out)
            abort();
    }
    c->out[c->nout++] = line;
}

static void on_event(void *ctx, const vm_event *ev)
{
    vm_buf line = {0};
    if (!vm_event_line(ev, &line)) {
        vm_buf_free(&line);
        return;
    }
    vm_buf_put_u8(&line, 0);
    if (line.oom)
        abort();
    queue_line((chat *)ctx, (char *)line.data);
}

/* ---- the host --------------------------------------------------------------- */

static void init_chat(chat *c, const char *path, const vm_program *prog, bool roundtrip)
{
    memset(c, 0, sizeof *c);
    fc_scene_init(&c->scene, prog, true);
    c->path = path;
    c->prog = prog;
    c->roundtrip = roundtrip;
    c->host = fc_scene_host(&c->scene, on_event);
}

static void free_chat(chat *c)
{
    for (size_t i = 0; i < c->nout; i++)
        free(c->out[i]);
    free(c->out);
    fc_scene_free(&c->scene);
    vm_state_free(c->state);
    free(c->failure);
}

/* ---- failures ---------------------------------------------------------------- */

static bool failf(chat *c, size_t line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static bool failf(chat *c, size_t line, const char *fmt, ...)
{
    if (c->failure)
        return false;
    char msg[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    size_t n = strlen(c->path) + strlen(msg) + 32;
    c->failure = malloc(n);
    snprintf(c->failure, n, "%s:%zu: %s", c->path, line, msg);
    return false;
}

/* An output for a message: newlines and backslashes written as in files. */
static char *escaped(const char *s)
{
    line_buf b = {0};
    lb_cstr(&b, "");
    for (; *s; s++) {
        if (*s == '\n')
            lb_cstr(&b, "\\n");
        else if (*s == '\\')
            lb_cstr(&b, "\\\\");
        else
            lb_put(&b, s, 1);
    }
    return b.s;
}

static void unescape(char *s)
{
    char *w = s;
    for (char *r = s; *r; r++) {
        if (r[0] == '\\' && (r[1] == 'n' || r[1] == '\\')) {
            *w++ = r[1] == 'n' ? '\n' : '\\';
            r++;
        } else {
            *w++ = *r;
        }
    }
    *w = '\0';
}

/* ---- running --------------------------------------------------------------------- */

static bool roundtrip(chat *c, size_t line)
{
    if (!c->roundtrip || !c->state)
        return true;
    vm_buf saved = {0};
    char err[256];
    if (!vm_state_save(c->state, &saved))
        return failf(c, line, "saving the state failed");
    vm_state_free(c->state);
    c->state = vm_state_load(c->prog, saved.data, saved.len, err, sizeof err);
    vm_buf_free(&saved);
    return c->state ? true : failf(c, line, "restoring the state failed: %s", err);
}

static bool start(chat *c, size_t line)
{
    if (c->started)
        return true;
    c->started = true;
    c->state = vm_state_new(c->prog);
    if (!c->state)
        return failf(c, line, "out of memory");
    if (!roundtrip(c, line))
        return false;
    vm_start(c->state, &c->host);
    return roundtrip(c, line);
}

/* Before an input and at the end: every output must have been matched. */
static bool all_matched(chat *c, size_t line)
{
    if (c->head == c->nout)
        return true;
    char *e = escaped(c->out[c->head]);
    failf(c, line, "unexpected '%s'", e);
    free(e);
    return false;
}

static bool expect(chat *c, size_t line, char *want)
{
    unescape(want);
    if (c->head == c->nout) {
        char *e = escaped(want);
        failf(c, line, "expected '%s', got nothing", e);
        free(e);
        return false;
    }
    const char *got = c->out[c->head];
    if (strcmp(got, want) != 0) {
        char *e = escaped(want), *g = escaped(got);
        failf(c, line, "expected '%s', got '%s'", e, g);
        free(e);
        free(g);
        return false;
    }
    c->head++;
    return true;
}

static bool deliver_status(chat *c, size_t line, vm_status st, const char *label)
{
    switch (st) {
    case VM_OK:
    case VM_IGNORED: return roundtrip(c, line);
    case VM_ERR_ENDED: return failf(c, line, "the conversation has ended");
    case VM_ERR_NO_HANDOFF: return failf(c, line, "no handoff is waiting");
    case VM_ERR_NO_CHOICE:
    case VM_ERR_NO_BUTTON: return failf(c, line, "no button '%s'", label ? label : "");
    default: return failf(c, line, "%s", vm_status_text(st));
    }
}

static bool visitor_input(chat *c, size_t line, char *text)
{
    if (text[0] == ' ')
        text++;
    size_t n = strlen(text);
    if (n >= 2 && text[0] == '[' && text[n - 1] == ']') {
        text[n - 1] = '\0';
        char *label = text + 1;
        unescape(label);
        if (vm_state_wait(c->state) == VM_WAIT_ENDED)
            return failf(c, line, "the conversation has ended");
        vm_text_ref buttons[VM_MAX_BUTTONS];
        uint32_t nb = vm_state_buttons(c->state, buttons, VM_MAX_BUTTONS);
        for (uint32_t i = 0; i < nb && vm_state_wait(c->state) == VM_WAIT_CHOICE; i++)
            if (buttons[i].len == strlen(label) && memcmp(buttons[i].s, label, buttons[i].len) == 0)
                return deliver_status(c, line, vm_click(c->state, &c->host, i), label);
        return failf(c, line, "no button '%s'", label);
    }
    unescape(text);
    return deliver_status(c, line, vm_send_text(c->state, &c->host, text, strlen(text)), NULL);
}

/* ---- scene lines ------------------------------------------------------------------ */

static bool scene(chat *c, size_t line, char *s)
{
    if (strncmp(s, "@time ", 6) == 0)
        return fc_scene_set_time(&c->scene, s + 6) || failf(c, line, "bad @time (expected @time YYYY-MM-DD HH:MM)");
    if (strncmp(s, "@agents ", 8) == 0)
        return fc_scene_set_agents(&c->scene, s + 8) || failf(c, line, "bad @agents (expected a count)");
    if (strncmp(s, "@visitor ", 9) == 0) {
        const char *err = fc_scene_set_visitor(&c->scene, s + 9);
        return !err || failf(c, line, "bad @visitor: %s", err);
    }
    return failf(c, line, "unknown line '%s'", s);
}

static bool step(chat *c, size_t line, char *s)
{
    if (s[0] == '@' && strcmp(s, "@taken") != 0 && strcmp(s, "@timeout") != 0)
        return scene(c, line, s);
    if (!start(c, line))
        return false;
    if (s[0] == '>') {
        return all_matched(c, line) && visitor_input(c, line, s + 1);
    }
    if (strcmp(s, "@taken") == 0)
        return all_matched(c, line) && deliver_status(c, line, vm_taken(c->state, &c->host), NULL);
    if (strcmp(s, "@timeout") == 0)
        return all_matched(c, line) && deliver_status(c, line, vm_timeout(c->state, &c->host), NULL);
    return expect(c, line, s);
}

/* Runs one transcript; returns true when it passes, else prints why. */
static bool run_chat(const char *path, const vm_program *prog, bool rt)
{
    char *text;
    size_t len;
    if (!fc_read_file(path, &text, &len)) {
        printf("%s:0: cannot read the file\n", path);
        return false;
    }
    chat c;
    init_chat(&c, path, prog, rt);
    size_t lineno = 0;
    bool ok = true;
    for (char *p = text; ok && p < text + len;) {
        char *nl = memchr(p, '\n', (size_t)(text + len - p));
        char *end = nl ? nl : text + len;
        *end = '\0';
        lineno++;
        char *e = end;
        while (e > p && (e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t'))
            *--e = '\0';
        char *s = p;
        while (*s == ' ' || *s == '\t')
            s++;
        if (*s && *s != '#')
            ok = step(&c, lineno, s);
        p = end + 1;
    }
    if (ok)
        ok = start(&c, lineno ? lineno : 1) && all_matched(&c, lineno ? lineno : 1);
    if (!ok)
        printf("%s\n", c.failure ? c.failure : "failed");
    free_chat(&c);
    free(text);
    return ok;
}

int fc_cmd_test(int argc, char **argv)
{
    bool rt = false;
    const char *flow = NULL;
    int nchats = 0;
    char **chats = calloc((size_t)argc + 1, sizeof *chats);
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--roundtrip") == 0)
            rt = true;
        else if (!flow)
            flow = argv[i];
        else
            chats[nchats++] = argv[i];
    }
    if (!flow || !nchats) {
        free(chats);
        fputs("flowc: usage: flowc test FLOW CHAT... [--roundtrip]\n", stderr);
        return 2;
    }
    vm_buf code = {0};
    int rc = fc_load_bytecode(flow, &code);
    char err[256];
    vm_program *prog = rc == 0 ? vm_program_load(code.data, code.len, err, sizeof err) : NULL;
    if (rc == 0 && !prog) {
        fprintf(stderr, "flowc: %s: %s\n", flow, err);
        rc = 1;
    }
    vm_buf_free(&code);
    if (!prog) {
        free(chats);
        return rc;
    }
    int passed = 0, failed = 0;
    for (int i = 0; i < nchats; i++) {
        if (run_chat(chats[i], prog, rt))
            passed++;
        else
            failed++;
    }
    printf("%d passed, %d failed\n", passed, failed);
    vm_program_free(prog);
    free(chats);
    return failed ? 1 : 0;
}
