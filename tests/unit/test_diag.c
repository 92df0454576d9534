/* test_diag.c - unit tests of the diagnostics collector (compiler/fc_diag.c).
 *
 * Output is captured with open_memstream and compared byte for byte: the
 * formats are read by people, by tests/conformance (JSON) and by code
 * scanning (SARIF), so any change to them should show up here. For inputs
 * that are too big or too hostile to spell out, a small JSON checker below
 * (well-formed JSON, valid UTF-8) stands in for the exact comparison.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "fc_diag.h"

/* ---- helpers ------------------------------------------------------------ */

typedef enum { OUT_TEXT, OUT_TEXT_SOURCE, OUT_JSON, OUT_SARIF } out_kind;

/* The collector's output as one heap string. */
static char *capture(const fc_diags *d, out_kind k)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    if (k == OUT_JSON)
        fc_diags_write(d, FC_DIAG_JSON, f, false);
    else if (k == OUT_SARIF)
        fc_diags_write(d, FC_DIAG_SARIF, f, false);
    else
        fc_diags_write(d, FC_DIAG_TEXT, f, k == OUT_TEXT_SOURCE);
    fclose(f);
    return buf;
}

static void expect_output(const fc_diags *d, out_kind k, const char *want)
{
    char *got = capture(d, k);
    assert_string_equal(got, want);
    free(got);
}

static fc_source source(const char *path, const char *text)
{
    return (fc_source){path, text, strlen(text)};
}

/* The location of the first occurrence of `needle` in the source. */
static fc_loc loc_of(const fc_source *src, const char *needle)
{
    const char *p = strstr(src->text, needle);
    assert_non_null(p);
    fc_loc l = {1, 1, (uint32_t)(p - src->text)};
    for (const char *q = src->text; q < p; q++) {
        if (*q == '\n')
            l.line++, l.col = 1;
        else
            l.col++;
    }
    return l;
}

/* Length of a valid UTF-8 sequence at s (0 if none), written apart from the
 * one in fc_diag.c so that a bug there is not copied here. */
static size_t utf8_ok(const unsigned char *s, size_t n)
{
    static const struct { unsigned char lo, hi; size_t len; unsigned char lo2, hi2; } t[] = {
        {0xC2, 0xDF, 2, 0x80, 0xBF}, {0xE0, 0xE0, 3, 0xA0, 0xBF}, {0xE1, 0xEC, 3, 0x80, 0xBF},
        {0xED, 0xED, 3, 0x80, 0x9F}, {0xEE, 0xEF, 3, 0x80, 0xBF}, {0xF0, 0xF0, 4, 0x90, 0xBF},
        {0xF1, 0xF3, 4, 0x80, 0xBF}, {0xF4, 0xF4, 4, 0x80, 0x8F}};
    if (s[0] < 0x80)
        return 1;
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        if (s[0] < t[i].lo || s[0] > t[i].hi)
            continue;
        if (n < t[i].len || s[1] < t[i].lo2 || s[1] > t[i].hi2)
            return 0;
        for (size_t j = 2; j < t[i].len; j++)
            if ((s[j] & 0xC0) != 0x80)
                return 0;
        return t[i].len;
    }
    return 0;
}

static bool valid_utf8(const char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        size_t k = utf8_ok((const unsigned char *)s + i, n - i);
        if (!k)
            return false;
        i += k;
    }
    return true;
}

/* ---- a tiny JSON checker (RFC 8259 syntax, UTF-8 strings) ------------------ */

typedef struct jp {
    const char *p, *end;
} jp;

static bool j_value(jp *j);

static void j_ws(jp *j)
{
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
        j->p++;
}

static bool j_lit(jp *j, const char *w)
{
    size_t n = strlen(w);
    if ((size_t)(j->end - j->p) < n || memcmp(j->p, w, n) != 0)
        return false;
    j->p += n;
    return true;
}

static bool j_escape(jp *j)
{
    if (j->p >= j->end)
        return false;
    char c = *j->p++;
    if (c != 'u')
        return strchr("\"\\/bfnrt", c) != NULL && c != '\0';
    for (int i = 0; i < 4; i++, j->p++)
        if (j->p >= j->end || !strchr("0123456789abcdefABCDEF", *j->p) || *j->p == '\0')
            return false;
    return true;
}

static bool j_string(jp *j)
{
    if (!j_lit(j, "\""))
        return false;
    while (j->p < j->end) {
        unsigned char c = (unsigned char)*j->p;
        if (c == '"') {
            j->p++;
            return true;
        }
        if (c < 0x20)
            return false;
        if (c == '\\') {
            j->p++;
            if (!j_escape(j))
                return false;
            continue;
        }
        size_t k = utf8_ok((const unsigned char *)j->p, (size_t)(j->end - j->p));
        if (!k)
            return false;
        j->p += k;
    }
    return false;
}

static bool j_digits(jp *j)
{
    const char *s = j->p;
    while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
        j->p++;
    return j->p > s;
}

static bool j_number(jp *j)
{
    j_lit(j, "-");
    if (!j_lit(j, "0") && !(j->p < j->end && *j->p >= '1' && *j->p <= '9' && j_digits(j)))
        return false;
    if (j_lit(j, ".") && !j_digits(j))
        return false;
    if ((j_lit(j, "e") || j_lit(j, "E")) && (j_lit(j, "+") || j_lit(j, "-") || 1) && !j_digits(j))
        return false;
    return true;
}

/* Members or elements up to `close`; objects want "key": before each. */
static bool j_list(jp *j, char close, bool object)
{
    char end[2] = {close, 0};
    j_ws(j);
    if (j_lit(j, end))
        return true;
    do {
        j_ws(j);
        if (object && !(j_string(j) && (j_ws(j), j_lit(j, ":"))))
            return false;
        if (!j_value(j))
            return false;
        j_ws(j);
    } while (j_lit(j, ","));
    return j_lit(j, end);
}

static bool j_value(jp *j)
{
    j_ws(j);
    if (j->p >= j->end)
        return false;
    switch (*j->p) {
    case '{': j->p++; return j_list(j, '}', true);
    case '[': j->p++; return j_list(j, ']', false);
    case '"': return j_string(j);
    case 't': return j_lit(j, "true");
    case 'f': return j_lit(j, "false");
    case 'n': return j_lit(j, "null");
    default: return j_number(j);
    }
}

static bool valid_json(const char *s)
{
    jp j = {s, s + strlen(s)};
    if (!j_value(&j))
        return false;
    j_ws(&j);
    return j.p == j.end;
}

static void test_json_checker(void **state)
{
    assert_true(valid_json("[]"));
    assert_true(valid_json("{\"a\": [1, -2.5e3, true, null, \"\\u00e9\\n\"]}\n"));
    assert_false(valid_json("[1,]"));
    assert_false(valid_json("{\"a\" 1}"));
    assert_false(valid_json("[\"\x01\"]"));
    assert_false(valid_json("[\"\xff\"]"));
    assert_false(valid_json("[01]"));
    assert_false(valid_json("[] []"));
}

/* ---- code tables ------------------------------------------------------------ */

static void test_code_tables(void **state)
{
    assert_string_equal(fc_code_id(FC_E_UNKNOWN_NODE), "FC014");
    assert_string_equal(fc_code_name(FC_E_UNKNOWN_NODE), "unknown-node");
    assert_string_equal(fc_code_id(FC_W_UNUSED), "FC102");
    assert_int_equal(fc_code_severity(FC_E_SYNTAX), FC_SEV_ERROR);
    assert_int_equal(fc_code_severity(FC_W_UNREACHABLE), FC_SEV_WARNING);
    assert_true(strstr(fc_code_help(FC_E_NO_START), "start") != NULL);
    /* Every code filled in, ids of the form FCnnn, strictly increasing. */
    for (int c = 0; c < FC_CODE_COUNT; c++) {
        const char *id = fc_code_id((fc_code)c);
        assert_int_equal(strlen(id), 5);
        assert_memory_equal(id, "FC", 2);
        assert_true(*fc_code_name((fc_code)c) && *fc_code_help((fc_code)c));
        if (c)
            assert_true(strcmp(fc_code_id((fc_code)(c - 1)), id) < 0);
        assert_int_equal(fc_code_severity((fc_code)c), id[2] == '1' ? FC_SEV_WARNING : FC_SEV_ERROR);
    }
    assert_string_equal(fc_code_id(FC_CODE_COUNT), "");
    assert_string_equal(fc_code_name((fc_code)-1), "");
}

/* ---- columns ------------------------------------------------------------------ */

static void test_char_column(void **state)
{
    fc_source s = source("c.flow", "ab\n\xC3\xA9x\xE2\x82\xAC" "y\xF0\x9F\x98\x80z\n");
    assert_int_equal(fc_char_column(&s, (fc_loc){1, 2, 1}), 2);
    assert_int_equal(fc_char_column(&s, (fc_loc){2, 1, 3}), 1);
    assert_int_equal(fc_char_column(&s, (fc_loc){2, 3, 5}), 2);    /* after é */
    assert_int_equal(fc_char_column(&s, (fc_loc){2, 7, 9}), 4);    /* after é x € */
    assert_int_equal(fc_char_column(&s, (fc_loc){2, 12, 14}), 6);  /* after the emoji */
    assert_int_equal(fc_char_column(&s, (fc_loc){2, 13, 15}), 7);  /* the newline */
    assert_int_equal(fc_char_column(&s, (fc_loc){2, 2, 4}), 1);    /* inside é: é itself */
    /* Invalid bytes count one each. */
    fc_source bad = source("b.flow", "\x80\x80\xff" "a\xE2\x82" "b");
    assert_int_equal(fc_char_column(&bad, (fc_loc){1, 4, 3}), 4);
    assert_int_equal(fc_char_column(&bad, (fc_loc){1, 7, 6}), 7); /* E2 82 b: two bad bytes */
    /* Nonsense locations stay inside the text. */
    assert_int_equal(fc_char_column(&s, (fc_loc){9, 99, 9999}), 11); /* the end, from 0 */
    assert_int_equal(fc_char_column(&s, (fc_loc){1, 0, 1}), 1);
    assert_int_equal(fc_char_column(&s, (fc_loc){1, 50, 2}), 3);     /* start cut at 0 */
    assert_int_equal(fc_char_column(NULL, (fc_loc){1, 7, 6}), 7);
    fc_source empty = {"e.flow", "", 0};
    assert_int_equal(fc_char_column(&empty, (fc_loc){1, 1, 0}), 1);
}

/* ---- text ---------------------------------------------------------------------- */

static const char *prog = "flow \"x\"\n"
                          "node \xC3\xA9 { goto nowhere }\n"
                          "node start { say \"hi\" }\n";

static void test_text_plain(void **state)
{
    fc_diags *d = fc_diags_new();
    fc_source s = source("t.flow", prog);
    assert_true(fc_diag(d, &s, FC_E_UNKNOWN_NODE, loc_of(&s, "nowhere"), "unknown node '%s'", "nowhere"));
    assert_true(fc_diag(d, &s, FC_W_UNREACHABLE, loc_of(&s, "\xC3\xA9 {"), "node '%s' is never reached", "\xC3\xA9"));
    expect_output(d, OUT_TEXT,
                  "t.flow:2:6: warning: node '\xC3\xA9' is never reached [FC101]\n"
                  "t.flow:2:15: error: unknown node 'nowhere' [FC014]\n");
    assert_int_equal(fc_diags_errors(d), 1);
    assert_int_equal(fc_diags_warnings(d), 1);
    fc_diags_free(d);
}

static void test_text_source_multibyte(void **state)
{
    fc_diags *d = fc_diags_new();
    fc_source s = source("t.flow", prog);
    fc_loc l = loc_of(&s, "nowhere");
    assert_int_equal(l.col, 16); /* bytes */
    fc_diag(d, &s, FC_E_UNKNOWN_NODE, l, "unknown node 'nowhere'");
    expect_output(d, OUT_TEXT_SOURCE,
                  "t.flow:2:15: error: unknown node 'nowhere' [FC014]\n"
                  "node \xC3\xA9 { goto nowhere }\n"
                  "              ^\n");
    fc_diags_free(d);
}

static void test_text_tabs_and_controls(void **state)
{
    fc_diags *d = fc_diags_new();
    fc_source s = source("t.flow", "\tgoto\x1b[31m x\ty\r\n");
    fc_diag(d, &s, FC_E_CHAR, loc_of(&s, "\x1b"), "unexpected character");
    fc_diag(d, &s, FC_E_UNKNOWN_NODE, loc_of(&s, "x"), "unknown node 'x'");
    fc_diag(d, &s, FC_E_SYNTAX, loc_of(&s, "\r"), "expected end of line");
    /* The tab becomes 8 spaces, ESC becomes U+FFFD (one column), the CR of a
     * CRLF line end is not shown; the caret at the line end is after y. */
    expect_output(d, OUT_TEXT_SOURCE,
                  "t.flow:1:6: error: unexpected character [FC005]\n"
                  "        goto\xEF\xBF\xBD[31m x     y\n"
                  "            ^\n"
                  "t.flow:1:12: error: unknown node 'x' [FC014]\n"
                  "        goto\xEF\xBF\xBD[31m x     y\n"
                  "                  ^\n"
                  "t.flow:1:15: error: expected end of line [FC001]\n"
                  "        goto\xEF\xBF\xBD[31m x     y\n"
                  "                         ^\n");
    fc_diags_free(d);
}

static void test_text_wide_and_invalid(void **state)
{
    fc_diags *d = fc_diags_new();
    fc_source s = source("w.flow", "say \xE6\x97\xA5\xE6\x9C\xAC \xff" "e\xCC\x81 x\n");
    fc_diag(d, &s, FC_E_SYNTAX, loc_of(&s, "x"), "bad \x1b[2J message\nwith\xff newline");
    /* 日本 take two columns each, the invalid byte one (U+FFFD), e plus a
     * combining accent one; the message's controls and bad bytes are
     * replaced too. */
    expect_output(d, OUT_TEXT_SOURCE,
                  "w.flow:1:12: error: bad \xEF\xBF\xBD[2J message\xEF\xBF\xBDwith\xEF\xBF\xBD newline [FC001]\n"
                  "say \xE6\x97\xA5\xE6\x9C\xAC \xEF\xBF\xBD" "e\xCC\x81 x\n"
                  "            ^\n");
    fc_diags_free(d);
}

static void test_text_notes(void **state)
{
    fc_diags *d = fc_diags_new();
    fc_source a = source("a.flow", "node start {}\nnode start {}\n");
    fc_source b = source("b.flow", "var x: text\n");
    assert_true(fc_diag(d, &a, FC_E_DUP_NODE, (fc_loc){2, 6, 19}, "duplicate node 'start'"));
    fc_diag_note(d, &a, (fc_loc){1, 6, 5}, "first defined here");
    fc_diag_note(d, &b, (fc_loc){1, 5, 4}, "see also 'x'");
    expect_output(d, OUT_TEXT,
                  "a.flow:2:6: error: duplicate node 'start' [FC008]\n"
                  "a.flow:1:6: note: first defined here\n"
                  "b.flow:1:5: note: see also 'x'\n");
    expect_output(d, OUT_TEXT_SOURCE,
                  "a.flow:2:6: error: duplicate node 'start' [FC008]\n"
                  "node start {}\n"
                  "     ^\n"
                  "a.flow:1:6: note: first defined here\n"
                  "node start {}\n"
                  "     ^\n"
                  "b.flow:1:5: note: see also 'x'\n"
                  "var x: text\n"
                  "    ^\n");
    fc_diags_free(d);
}

static void test_text_edges(void **state)
{
    fc_diags *d = fc_diags_new();
    fc_source s = source("e.flow", "a\n\nb");
    fc_diag(d, &s, FC_E_SYNTAX, (fc_loc){2, 1, 2}, "empty line");
    fc_diag(d, &s, FC_E_SYNTAX, (fc_loc){3, 2, 4}, "end of file");
    fc_diag(d, NULL, FC_E_NO_START, (fc_loc){0, 0, 0}, "no source");
    expect_output(d, OUT_TEXT_SOURCE,
                  "e.flow:2:1: error: empty line [FC001]\n"
                  "\n"
                  "^\n"
                  "e.flow:3:2: error: end of file [FC001]\n"
                  "b\n"
                  " ^\n"
                  "<unknown>:1:1: error: no source [FC013]\n");
    fc_diags_free(d);
}

/* ---- long lines ------------------------------------------------------------------ */

#define BIG (10u * 1000 * 1000)

static char *repeat(const char *unit, size_t times)
{
    size_t u = strlen(unit);
    char *s = malloc(u * times + 1);
    assert_non_null(s);
    for (size_t i = 0; i < times; i++)
        memcpy(s + i * u, unit, u);
    s[u * times] = '\0';
    return s;
}

static void test_huge_line_ascii(void **state)
{
    char *text = repeat("a", BIG);
    fc_source s = {"big.flow", text, BIG};
    fc_diags *d = fc_diags_new();
    fc_diag(d, &s, FC_E_SYNTAX, (fc_loc){1, 5000001, 5000000}, "middle");
    fc_diag(d, &s, FC_E_SYNTAX, (fc_loc){1, BIG + 1, BIG}, "end");
    char *got = capture(d, OUT_TEXT_SOURCE);
    char *a200 = repeat("a", 200), *a400 = repeat("a", 400), *sp203 = repeat(" ", 203);
    char want[2048];
    snprintf(want, sizeof want,
             "big.flow:1:5000001: error: middle [FC001]\n...%s...\n%s^\n"
             "big.flow:1:10000001: error: end [FC001]\n...%s\n%s^\n",
             a400, sp203, a200, sp203);
    assert_string_equal(got, want);
    free(got), free(a200), free(a400), free(sp203);
    fc_diags_free(d);
    free(text);
}

/* Three-byte characters, so that 200 bytes either side of the caret falls
 * inside a character and the window must move to a boundary. */
static void test_huge_line_utf8(void **state)
{
    char *text = repeat("\xE2\x82\xAC", BIG / 3 + 1);
    fc_source s = {"euro.flow", text, strlen(text)};
    fc_diags *d = fc_diags_new();
    fc_diag(d, &s, FC_E_SYNTAX, (fc_loc){1, 9000001, 9000000}, "here");
    char *got = capture(d, OUT_TEXT_SOURCE);
    char *e132 = repeat("\xE2\x82\xAC", 132), *sp69 = repeat(" ", 69);
    char want[2048];
    snprintf(want, sizeof want, "euro.flow:1:3000001: error: here [FC001]\n...%s...\n%s^\n", e132, sp69);
    assert_string_equal(got, want);
    assert_true(valid_utf8(got, strlen(got)));
    free(got), free(e132), free(sp69);
    fc_diags_free(d);
    free(text);
}

/* A thousand diagnostics along one 10 MB line: the column count resumes
 * where the last one stopped, so this is one pass over the line, not a
 * thousand. */
static void test_huge_line_many(void **state)
{
    char *text = repeat("\xC3\xA9", BIG / 2);
    fc_source s = {"many.flow", text, BIG};
    fc_diags *d = fc_diags_new();
    clock_t t0 = clock();
    for (uint32_t i = 0; i < FC_DIAG_MAX_PER_FILE; i++) {
        uint32_t off = i * (BIG / FC_DIAG_MAX_PER_FILE);
        assert_true(fc_diag(d, &s, FC_E_SYNTAX, (fc_loc){1, off + 1, off}, "n%u", (unsigned)i));
    }
    double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
    assert_true(secs < 2.0); /* one pass: ~0.02 s at -O2; a pass per diagnostic: ~5 s */
    free(text); /* the collector copied what it needs */
    char *got = capture(d, OUT_JSON);
    assert_true(valid_json(got));
    assert_non_null(strstr(got, "\"line\": 1, \"column\": 4995001, \"severity\": \"error\", \"message\": \"n999\""));
    free(got);
    fc_diags_free(d);
}

/* ---- ordering, limit, -Werror ------------------------------------------------------- */

static void test_sort_stable(void **state)
{
    fc_diags *d = fc_diags_new();
    fc_source b = source("b.flow", "x\ny\nz\n");
    fc_source a = source("a.flow", "p\nq\n");
    fc_diag(d, &b, FC_E_SYNTAX, (fc_loc){3, 1, 4}, "b3");
    fc_diag(d, &a, FC_E_SYNTAX, (fc_loc){2, 1, 2}, "a2");
    fc_diag(d, &b, FC_E_SYNTAX, (fc_loc){1, 2, 1}, "b1 col2");
    fc_diag_note(d, &a, (fc_loc){1, 1, 0}, "note of b1 col2");
    fc_diag(d, &b, FC_E_SYNTAX, (fc_loc){1, 1, 0}, "b1 first");
    fc_diag(d, &b, FC_W_UNUSED, (fc_loc){1, 1, 0}, "b1 second");
    fc_diag(d, &a, FC_E_SYNTAX, (fc_loc){1, 1, 0}, "a1");
    /* b.flow was reported first, so it comes first. */
    expect_output(d, OUT_TEXT,
                  "b.flow:1:1: error: b1 first [FC001]\n"
                  "b.flow:1:1: warning: b1 second [FC102]\n"
                  "b.flow:1:2: error: b1 col2 [FC001]\n"
                  "a.flow:1:1: note: note of b1 col2\n"
                  "b.flow:3:1: error: b3 [FC001]\n"
                  "a.flow:1:1: error: a1 [FC001]\n"
                  "a.flow:2:1: error: a2 [FC001]\n");
    assert_int_equal(fc_diags_errors_in(d, "a.flow"), 2);
    assert_int_equal(fc_diags_errors_in(d, "b.flow"), 3);
    assert_int_equal(fc_diags_errors_in(d, "c.flow"), 0);
    fc_diags_free(d);
}

static void test_limit(void **state)
{
    fc_diags *d = fc_diags_new();
    fc_source a = source("a.flow", "x\n");
    fc_source b = source("b.flow", "y\n");
    /* Reported from the last line up: the first 1000 reported are kept. */
    for (uint32_t i = 0; i < FC_DIAG_MAX_PER_FILE + 3; i++) {
        bool kept = fc_diag(d, &a, i % 2 ? FC_W_UNUSED : FC_E_SYNTAX, (fc_loc){2000 - i, 1, 0}, "e%u", (unsigned)i);
        assert_int_equal(kept, i < FC_DIAG_MAX_PER_FILE);
        if (i == FC_DIAG_MAX_PER_FILE)
            fc_diag_note(d, &a, (fc_loc){1, 1, 0}, "note of a dropped diagnostic");
    }
    assert_true(fc_diag(d, &b, FC_E_SYNTAX, (fc_loc){1, 1, 0}, "b"));
    assert_int_equal(fc_diags_errors(d), 503);
    assert_int_equal(fc_diags_warnings(d), 501);
    assert_int_equal(fc_diags_errors_in(d, "a.flow"), 502);
    char *got = capture(d, OUT_TEXT);
    /* The summary goes after the file's others, at the first dropped one. */
    assert_non_null(strstr(got, "a.flow:2000:1: error: e0 [FC001]\n"
                                "a.flow:1000:1: error: too many diagnostics (3 more not shown) [FC031]\n"
                                "b.flow:1:1: error: b [FC001]\n"));
    assert_null(strstr(got, "note of a dropped"));
    assert_null(strstr(got, "e1000"));
    free(got);
    got = capture(d, OUT_JSON);
    assert_non_null(strstr(got, "{\"file\": \"a.flow\", \"line\": 1000, \"column\": 1, \"severity\": \"error\", "
                                "\"message\": \"too many diagnostics (3 more not shown)\", \"code\": \"FC031\", "
                                "\"notes\": []}"));
    assert_true(valid_json(got));
    free(got);
    fc_diags_free(d);
}

static void test_limit_warnings_only(void **state)
{
    fc_diags *d = fc_diags_new();
    fc_source a = source("a.flow", "x\n");
    for (uint32_t i = 0; i < FC_DIAG_MAX_PER_FILE + 2; i++)
        fc_diag(d, &a, FC_W_UNUSED, (fc_loc){1, 1, 0}, "w");
    /* Only warnings were dropped: the summary is a warning, since no error
     * may appear in the output of a run that exits 0. */
    char *got = capture(d, OUT_TEXT);
    assert_non_null(strstr(got, "\na.flow:1:1: warning: too many diagnostics (2 more not shown) [FC031]\n"));
    free(got);
    assert_int_equal(fc_diags_errors(d), 0);
    fc_diags_set_werror(d, true);
    got = capture(d, OUT_TEXT);
    assert_non_null(strstr(got, "\na.flow:1:1: error: too many diagnostics (2 more not shown) [FC031]\n"));
    free(got);
    assert_int_equal(fc_diags_errors(d), FC_DIAG_MAX_PER_FILE + 2);
    fc_diags_free(d);
}

/* An unknown code is a bug in the caller: counted, summarised, not written
 * with a rule that does not exist. */
static void test_unknown_code(void **state)
{
    fc_diags *d = fc_diags_new();
    fc_source s = source("u.flow", "x\n");
    assert_false(fc_diag(d, &s, FC_CODE_COUNT, (fc_loc){1, 2, 1}, "bogus"));
    fc_diag_note(d, &s, (fc_loc){1, 1, 0}, "dropped with it");
    assert_int_equal(fc_diags_errors(d), 1);
    expect_output(d, OUT_TEXT, "u.flow:1:2: error: too many diagnostics (1 more not shown) [FC031]\n");
    fc_diags_free(d);
}

static void test_werror(void **state)
{
    fc_diags *d = fc_diags_new();
    fc_source s = source("w.flow", "var x: text\n");
    fc_diags_set_werror(d, true);
    fc_diag(d, &s, FC_W_UNUSED, (fc_loc){1, 5, 4}, "variable 'x' is never read");
    expect_output(d, OUT_TEXT, "w.flow:1:5: error: variable 'x' is never read [FC102]\n");
    expect_output(d, OUT_JSON,
                  "[\n  {\"file\": \"w.flow\", \"line\": 1, \"column\": 5, \"severity\": \"error\", \"message\": "
                  "\"variable 'x' is never read\", \"code\": \"FC102\", \"notes\": []}\n]\n");
    assert_int_equal(fc_diags_errors(d), 1);
    assert_int_equal(fc_diags_warnings(d), 0);
    assert_int_equal(fc_diags_errors_in(d, "w.flow"), 1);
    fc_diags_set_werror(d, false);
    assert_int_equal(fc_diags_errors(d), 0);
    assert_int_equal(fc_diags_warnings(d), 1);
    expect_output(d, OUT_TEXT, "w.flow:1:5: warning: variable 'x' is never read [FC102]\n");
    fc_diags_free(d);
}

/* ---- copying ---------------------------------------------------------------------------- */

static void test_copies_source_and_message(void **state)
{
    char *path = strdup("gone.flow"), *text = strdup("node a { goto b }\n");
    fc_source s = {path, text, strlen(text)};
    size_t n = 100000;
    char *long_msg = repeat("m", n);
    fc_diags *d = fc_diags_new();
    fc_diag(d, &s, FC_E_UNKNOWN_NODE, (fc_loc){1, 15, 14}, "%s", long_msg);
    fc_diag_note(d, &s, (fc_loc){1, 1, 0}, "in node '%s'", "a");
    free(path), free(text); /* ASan checks that nothing still points here */
    char *got = capture(d, OUT_TEXT_SOURCE);
    /* a long message is cut at 1024 bytes and marked with "..." */
    assert_int_equal(strlen(got), strlen("gone.flow:1:15: error: ") + 1024 + 3 + strlen(" [FC014]\n") +
                                      2 * strlen("node a { goto b }\n") + 16 + strlen("gone.flow:1:1: note: in node 'a'\n") + 2);
    assert_non_null(strstr(got, "mmm... [FC014]\n"));
    assert_non_null(strstr(got, "node a { goto b }\n              ^\ngone.flow:1:1: note: in node 'a'\nnode a { goto b }\n^\n"));
    free(got), free(long_msg);
    fc_diags_free(d);
    fc_diags_free(NULL);
    fc_diag_note(NULL, NULL, (fc_loc){0, 0, 0}, "ignored");
}

static void test_note_without_diagnostic(void **state)
{
    fc_diags *d = fc_diags_new();
    fc_source s = source("n.flow", "x\n");
    fc_diag_note(d, &s, (fc_loc){1, 1, 0}, "nothing to attach to");
    expect_output(d, OUT_TEXT, "");
    fc_diags_free(d);
}

/* ---- JSON ---------------------------------------------------------------------------------- */

static void test_json_exact(void **state)
{
    fc_diags *d = fc_diags_new();
    fc_source s = source("t.flow", prog);
    fc_diag(d, &s, FC_E_UNKNOWN_NODE, loc_of(&s, "nowhere"), "unknown node 'nowhere'");
    fc_diag_note(d, &s, loc_of(&s, "\xC3\xA9"), "in node '\xC3\xA9'");
    fc_diag(d, &s, FC_W_UNREACHABLE, loc_of(&s, "start"), "node 'start' never reached");
    expect_output(d, OUT_JSON,
                  "[\n"
                  "  {\"file\": \"t.flow\", \"line\": 2, \"column\": 15, \"severity\": \"error\", \"message\": "
                  "\"unknown node 'nowhere'\", \"code\": \"FC014\", \"notes\": [{\"file\": \"t.flow\", \"line\": 2, "
                  "\"column\": 6, \"message\": \"in node '\xC3\xA9'\"}]},\n"
                  "  {\"file\": \"t.flow\", \"line\": 3, \"column\": 6, \"severity\": \"warning\", \"message\": "
                  "\"node 'start' never reached\", \"code\": \"FC101\", \"notes\": []}\n"
                  "]\n");
    fc_diags_free(d);
}

static void test_json_escaping(void **state)
{
    fc_diags *d = fc_diags_new();
    fc_source s = source("dir/\"q\"\\.flow", "x\n");
    fc_diag(d, &s, FC_E_ESCAPE, (fc_loc){1, 1, 0}, "a\"b\\c\nd\x01\x1f\x7f \xff\xC3 \xE2\x80\xA8 {x} \xC3\xA9");
    expect_output(d, OUT_JSON,
                  "[\n  {\"file\": \"dir/\\\"q\\\"\\\\.flow\", \"line\": 1, \"column\": 1, \"severity\": \"error\", "
                  "\"message\": \"a\\\"b\\\\c\\u000Ad\\u0001\\u001F\x7f \xEF\xBF\xBD\xEF\xBF\xBD \\u2028 {x} \xC3\xA9\", "
                  "\"code\": \"FC003\", \"notes\": []}\n]\n");
    fc_diags_free(d);
}

static void test_json_empty(void **state)
{
    fc_diags *d = fc_diags_new();
    expect_output(d, OUT_JSON, "[]\n");
    expect_output(d, OUT_TEXT, "");
    fc_diags_free(d);
}

/* Every byte in message and path: the output is still JSON and UTF-8. */
static void test_json_hostile_bytes(void **state)
{
    char all[256];
    for (int i = 1; i < 256; i++)
        all[i - 1] = (char)i;
    all[255] = '\0';
    fc_source s = {all, all, 255};
    fc_diags *d = fc_diags_new();
    fc_diag(d, &s, FC_E_UTF8, (fc_loc){1, 200, 199}, "%s", all);
    fc_diag_note(d, &s, (fc_loc){1, 1, 0}, "%s", all);
    char *got = capture(d, OUT_JSON);
    assert_true(valid_json(got));
    free(got);
    got = capture(d, OUT_SARIF);
    assert_true(valid_json(got));
    free(got);
    got = capture(d, OUT_TEXT_SOURCE);
    assert_true(valid_utf8(got, strlen(got)));
    for (const char *p = got; *p; p++) /* no control character but newlines */
        assert_true(*p == '\n' || (unsigned char)*p >= 0x20);
    free(got);
    fc_diags_free(d);
}

/* ---- SARIF ------------------------------------------------------------------------------------ */

static void test_sarif_results(void **state)
{
    fc_diags *d = fc_diags_new();
    fc_source s = source("./my dir/t#1.flow", prog);
    fc_diag(d, &s, FC_E_INTERP, loc_of(&s, "nowhere"), "bad interpolation '{x' in \"%s\"", "a\\b");
    fc_diag_note(d, &s, loc_of(&s, "\xC3\xA9"), "in node '\xC3\xA9'");
    fc_diag_note(d, &s, (fc_loc){1, 1, 0}, "and here");
    fc_source abs = source("/srv/c:d/\xC3\xA9.flow", "x\n");
    fc_diags_set_werror(d, true);
    fc_diag(d, &abs, FC_W_UNUSED, (fc_loc){1, 1, 0}, "unused");
    char *got = capture(d, OUT_SARIF);
    assert_true(valid_json(got));
    const char *results = strstr(got, "\"results\": [");
    assert_non_null(results);
    assert_string_equal(
        results,
        "\"results\": [\n"
        "      {\"ruleId\": \"FC029\", \"ruleIndex\": 28, \"level\": \"error\", \"message\": {\"text\": "
        "\"bad interpolation '{{x' in \\\"a\\\\b\\\"\"}, \"locations\": [{\"physicalLocation\": {\"artifactLocation\": "
        "{\"uri\": \"my%20dir/t%231.flow\"}, \"region\": {\"startLine\": 2, \"startColumn\": 15}}}], "
        "\"relatedLocations\": [{\"id\": 1, \"message\": {\"text\": \"in node '\xC3\xA9'\"}, \"physicalLocation\": "
        "{\"artifactLocation\": {\"uri\": \"my%20dir/t%231.flow\"}, \"region\": {\"startLine\": 2, \"startColumn\": 6}}}, "
        "{\"id\": 2, \"message\": {\"text\": \"and here\"}, \"physicalLocation\": {\"artifactLocation\": {\"uri\": "
        "\"my%20dir/t%231.flow\"}, \"region\": {\"startLine\": 1, \"startColumn\": 1}}}]},\n"
        "      {\"ruleId\": \"FC102\", \"ruleIndex\": 32, \"level\": \"error\", \"message\": {\"text\": \"unused\"}, "
        "\"locations\": [{\"physicalLocation\": {\"artifactLocation\": {\"uri\": \"file:///srv/c%3Ad/%C3%A9.flow\"}, "
        "\"region\": {\"startLine\": 1, \"startColumn\": 1}}}]}\n"
        "    ]\n"
        "  }]\n"
        "}\n");
    free(got);
    fc_diags_free(d);
}

static void test_sarif_run(void **state)
{
    fc_diags *d = fc_diags_new();
    char *got = capture(d, OUT_SARIF);
    assert_true(valid_json(got));
    const char *head = "{\n  \"$schema\": \"https://json.schemastore.org/sarif-2.1.0.json\",\n  \"version\": \"2.1.0\",\n"
                       "  \"runs\": [{\n    \"tool\": {\"driver\": {\"name\": \"flowc\", \"rules\": [\n";
    assert_true(strncmp(got, head, strlen(head)) == 0);
    assert_non_null(strstr(got, "\n      {\"id\": \"FC014\", \"name\": \"unknown-node\", \"shortDescription\": "
                                "{\"text\": \"unknown node\"}, \"fullDescription\": {\"text\": \"A `goto`, option, "
                                "trigger or `offline` names a node that does not exist.\"}, \"help\": {\"text\": \"A "
                                "`goto`, option, trigger or `offline` names a node that does not exist.\"}, "
                                "\"defaultConfiguration\": {\"level\": \"error\"}},\n"));
    assert_non_null(strstr(got, "{\"id\": \"FC103\", \"name\": \"read-before-assignment\", \"shortDescription\": "
                                "{\"text\": \"read before assignment\"}"));
    assert_non_null(strstr(got, "\"defaultConfiguration\": {\"level\": \"warning\"}}\n    ]}},\n"
                                "    \"columnKind\": \"unicodeCodePoints\",\n    \"results\": []\n  }]\n}\n"));
    /* One rule per code, in code order, so ruleIndex is the enum value. */
    size_t rules = 0;
    for (const char *p = got; (p = strstr(p, "{\"id\": \"FC")); p++)
        assert_memory_equal(p + 8, fc_code_id((fc_code)rules++), 5);
    assert_int_equal(rules, FC_CODE_COUNT);
    free(got);
    fc_diags_free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_checker),
        cmocka_unit_test(test_code_tables),
        cmocka_unit_test(test_char_column),
        cmocka_unit_test(test_text_plain),
        cmocka_unit_test(test_text_source_multibyte),
        cmocka_unit_test(test_text_tabs_and_controls),
        cmocka_unit_test(test_text_wide_and_invalid),
        cmocka_unit_test(test_text_notes),
        cmocka_unit_test(test_text_edges),
        cmocka_unit_test(test_huge_line_ascii),
        cmocka_unit_test(test_huge_line_utf8),
        cmocka_unit_test(test_huge_line_many),
        cmocka_unit_test(test_sort_stable),
        cmocka_unit_test(test_limit),
        cmocka_unit_test(test_limit_warnings_only),
        cmocka_unit_test(test_unknown_code),
        cmocka_unit_test(test_werror),
        cmocka_unit_test(test_copies_source_and_message),
        cmocka_unit_test(test_note_without_diagnostic),
        cmocka_unit_test(test_json_exact),
        cmocka_unit_test(test_json_escaping),
        cmocka_unit_test(test_json_empty),
        cmocka_unit_test(test_json_hostile_bytes),
        cmocka_unit_test(test_sarif_results),
        cmocka_unit_test(test_sarif_run),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
