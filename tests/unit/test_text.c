/* test_text.c - unit tests for the text rules in vm/vm_text.c (spec sections
 * 4 and 7). Mostly tables: each row is an input and its expected outcome;
 * a failing row is reported by its index and input.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "vm_text.h"

/* A string literal with its length, so rows may contain NUL bytes. */
typedef struct str {
    const char *s;
    size_t n;
} str;
#define S(lit) {(lit), sizeof(lit) - 1}
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* A predicate row: input and expected answer. */
typedef struct pred_case {
    str in;
    bool want;
} pred_case;

static void check_pred(const pred_case *cases, size_t count,
                       bool (*fn)(const char *, size_t), const char *name)
{
    for (size_t i = 0; i < count; i++) {
        bool got = fn(cases[i].in.s, cases[i].in.n);
        if (got != cases[i].want)
            fail_msg("%s case %zu (\"%s\"): got %d, want %d", name, i,
                     cases[i].in.s, got, cases[i].want);
    }
}

/* Fills buf with `count` copies of `unit` and a terminator. */
static size_t repeat(char *buf, const char *unit, size_t count)
{
    size_t un = strlen(unit), n = 0;
    for (size_t i = 0; i < count; i++, n += un)
        memcpy(buf + n, unit, un);
    buf[n] = '\0';
    return n;
}

/* ---- trimming and matching -------------------------------------------- */

static void test_trim(void **state)
{
    (void)state;
    static const struct {
        str in;
        size_t start, len;
    } cases[] = {
        {S(""), 0, 0},
        {S("abc"), 0, 3},
        {S("  a b  "), 2, 3},
        {S("\t\r\nhi\n\r\t"), 3, 2},
        {S("x "), 0, 1},
        {S(" x"), 1, 1},
        {S("\v\fa\v"), 0, 4},         /* VT and FF are not white space */
        {S("\xc2\xa0" "a"), 0, 3},    /* nor is U+00A0 */
        {S(" a\0 "), 1, 2},           /* NUL is an ordinary byte */
    };
    for (size_t i = 0; i < COUNT(cases); i++) {
        size_t start = 99, len = 99;
        vm_text_trim(cases[i].in.s, cases[i].in.n, &start, &len);
        if (start != cases[i].start || len != cases[i].len)
            fail_msg("trim case %zu: got (%zu,%zu), want (%zu,%zu)", i, start,
                     len, cases[i].start, cases[i].len);
    }
}

static void test_trim_all_white_space(void **state)
{
    (void)state;
    static const str cases[] = {S(" "), S("   "), S(" \t\r\n \n")};
    for (size_t i = 0; i < COUNT(cases); i++) {
        size_t start = 99, len = 99;
        vm_text_trim(cases[i].s, cases[i].n, &start, &len);
        assert_int_equal(len, 0);
        assert_true(start <= cases[i].n);
    }
}

typedef struct pair_case {
    str a, b;
    bool want;
} pair_case;

static void check_pair(const pair_case *cases, size_t count,
                       bool (*fn)(const char *, size_t, const char *, size_t),
                       const char *name)
{
    for (size_t i = 0; i < count; i++) {
        const pair_case *c = &cases[i];
        bool got = fn(c->a.s, c->a.n, c->b.s, c->b.n);
        if (got != c->want)
            fail_msg("%s case %zu (\"%s\", \"%s\"): got %d", name, i, c->a.s,
                     c->b.s, got);
    }
}

static void test_equal_ci(void **state)
{
    (void)state;
    static const pair_case cases[] = {
        {S(""), S(""), true},
        {S("Yes"), S("yes"), true},
        {S("YES PLEASE"), S("yes please"), true},
        {S("Talk to sales"), S("talk to SALES"), true},
        {S("yes"), S("yes "), false},
        {S("yes"), S("ye"), false},
        {S("yes"), S("yet"), false},
        {S("@"), S("`"), false},             /* 0x40 vs 0x60: not letters */
        {S("["), S("{"), false},             /* 0x5B vs 0x7B */
        {S("\xc3\x89"), S("\xc3\xa9"), false}, /* É vs é: only ASCII folds */
        {S("\xc3\xa9"), S("\xc3\xa9"), true},
        {S("a\0b"), S("A\0B"), true},
        {S("a\0b"), S("a\0c"), false},
    };
    check_pair(cases, COUNT(cases), vm_text_equal_ci, "equal_ci");
}

static void test_contains_ci(void **state)
{
    (void)state;
    static const pair_case cases[] = {
        {S("anything"), S(""), true},
        {S(""), S(""), true},
        {S(""), S("a"), false},
        {S("Hello World"), S("world"), true},
        {S("Hello World"), S("O W"), true},
        {S("Hello World"), S("HELLO WORLD"), true},
        {S("Hello"), S("Hello World"), false},
        {S("Hello"), S("hellp"), false},
        {S("aaab"), S("aab"), true},         /* restart after partial match */
        {S("abc"), S("c"), true},
        {S("abc"), S("d"), false},
        {S("caf\xc3\xa9"), S("\xc3\xa9"), true},
        {S("CAF\xc3\x89"), S("caf\xc3\xa9"), false},
        {S("x\0y"), S("\0Y"), true},
    };
    check_pair(cases, COUNT(cases), vm_text_contains_ci, "contains_ci");
}

static void test_has_word_ci(void **state)
{
    (void)state;
    static const pair_case cases[] = {
        {S("agent"), S("agent"), true},
        {S("an agent please"), S("agent"), true},
        {S("agent!"), S("agent"), true},
        {S("AGENT"), S("agent"), true},
        {S("Human AGENT?"), S("agent"), true},
        {S("agents"), S("agent"), false},
        {S("reagent"), S("agent"), false},
        {S("agent2"), S("agent"), false},
        {S("2agent"), S("agent"), false},
        {S("reagent agent"), S("agent"), true}, /* a later occurrence */
        {S("agents, agent"), S("agent"), true},
        {S("agent_x"), S("agent"), true},     /* '_' is not a letter/digit */
        {S("agent\xc3\xa9"), S("agent"), true}, /* non-ASCII bounds a word */
        {S("(agent)"), S("agent"), true},
        {S("talk to a human"), S("human"), true},
        {S("talk to a human"), S("to a"), true},
        {S("talk to a human"), S("o a"), false},
        {S("agen"), S("agent"), false},
        {S(""), S("agent"), false},
        {S("agent"), S(""), false},           /* an empty word never matches */
    };
    check_pair(cases, COUNT(cases), vm_text_has_word_ci, "has_word_ci");
}

/* ---- UTF-8 ------------------------------------------------------------ */

static void test_codepoints(void **state)
{
    (void)state;
    static const struct {
        str in;
        size_t want;
    } cases[] = {
        {S(""), 0},
        {S("abc"), 3},
        {S("caf\xc3\xa9"), 4},
        {S("\xe2\x82\xac"), 1},               /* euro sign */
        {S("\xf0\x9f\x98\x80!"), 2},          /* emoji + '!' */
        {S("\x80\x80"), 0},                   /* stray continuation bytes */
        {S("a\0b"), 3},
    };
    for (size_t i = 0; i < COUNT(cases); i++)
        if (vm_text_codepoints(cases[i].in.s, cases[i].in.n) != cases[i].want)
            fail_msg("codepoints case %zu", i);
}

static void test_valid_utf8(void **state)
{
    (void)state;
    static const pred_case cases[] = {
        {S(""), true},
        {S("plain ASCII"), true},
        {S("a\0b"), true},
        {S("\x7f"), true},
        {S("\xc2\x80"), true},                /* U+0080 */
        {S("\xdf\xbf"), true},                /* U+07FF */
        {S("\xe0\xa0\x80"), true},            /* U+0800 */
        {S("\xed\x9f\xbf"), true},            /* U+D7FF */
        {S("\xee\x80\x80"), true},            /* U+E000 */
        {S("\xef\xbf\xbf"), true},            /* U+FFFF */
        {S("\xf0\x9f\x98\x80"), true},        /* U+1F600 emoji */
        {S("\xf4\x8f\xbf\xbf"), true},        /* U+10FFFF */
        {S("\xc0\xaf"), false},               /* overlong '/' */
        {S("\xc1\xbf"), false},               /* overlong */
        {S("\xe0\x80\xaf"), false},           /* overlong, 3 bytes */
        {S("\xf0\x80\x80\xaf"), false},       /* overlong, 4 bytes */
        {S("\xed\xa0\x80"), false},           /* surrogate U+D800 */
        {S("\xed\xbf\xbf"), false},           /* surrogate U+DFFF */
        {S("\xf4\x90\x80\x80"), false},       /* U+110000 */
        {S("\xf5\x80\x80\x80"), false},
        {S("\xff"), false},
        {S("\x80"), false},                   /* lone continuation */
        {S("\xc3"), false},                   /* truncated 2-byte */
        {S("\xe2\x82"), false},               /* truncated 3-byte */
        {S("\xf0\x9f\x98"), false},           /* truncated 4-byte */
        {S("\xf0\x9f\x98" "a"), false},       /* continuation replaced */
        {S("\xc3" "a"), false},
        {S("ok \xc3\xa9 \xf0\x9f\x98\x80 ok"), true},
    };
    check_pred(cases, COUNT(cases), vm_text_valid_utf8, "valid_utf8");
}

/* ---- answer validation ------------------------------------------------ */

static void test_valid_text(void **state)
{
    (void)state;
    static const pred_case cases[] = {
        {S(""), false},
        {S("a"), true},
        {S("hello there"), true},
        {S("\xf0\x9f\x98\x80"), true},
    };
    check_pred(cases, COUNT(cases), vm_text_valid_text, "valid_text");
}

static void test_valid_text_length(void **state)
{
    (void)state;
    char buf[2 * 513 + 1];
    size_t n = repeat(buf, "\xc3\xa9", 512); /* 1024 bytes, 512 code points */
    assert_int_equal(vm_text_codepoints(buf, n), 512);
    assert_true(vm_text_valid_text(buf, n));
    n = repeat(buf, "\xc3\xa9", 513);
    assert_int_equal(vm_text_codepoints(buf, n), 513);
    assert_false(vm_text_valid_text(buf, n));
    n = repeat(buf, "a", 513);
    assert_false(vm_text_valid_text(buf, n));
}

static void test_valid_email(void **state)
{
    (void)state;
    static const pred_case cases[] = {
        {S("a@b.co"), true},
        {S("jane.doe+tag@mail.example.com"), true},
        {S("x@sub-domain.example.org"), true},
        {S("caf\xc3\xa9@b\xc3\xbc.de"), true},   /* non-ASCII bytes allowed */
        {S(""), false},
        {S("@"), false},
        {S("plainaddress"), false},
        {S("a@b@c.com"), false},                 /* two '@' */
        {S("@b.com"), false},                    /* empty local part */
        {S("a@"), false},
        {S("a@localhost"), false},               /* no dot in domain */
        {S("a@b..com"), false},                  /* empty label */
        {S("a@.com"), false},
        {S("a@b.com."), false},                  /* trailing dot */
        {S("a@."), false},
        {S("a b@c.com"), false},                 /* white space inside */
        {S("a@b .com"), false},
        {S("a@b.com\tx"), false},
        {S(" a@b.com"), false},                  /* untrimmed input */
        {S("a@b\x01.com"), false},               /* control characters */
        {S("a@b.com\x7f"), false},
        {S("a\0@b.com"), false},
    };
    check_pred(cases, COUNT(cases), vm_text_valid_email, "valid_email");
}

static void test_valid_email_length(void **state)
{
    (void)state;
    static const char domain[] = "@example.com";
    char buf[300];
    /* A local part of 242 bytes makes a 254-byte address, the maximum. */
    size_t n = repeat(buf, "x", 242);
    memcpy(buf + n, domain, sizeof domain);
    n += sizeof domain - 1;
    assert_int_equal(n, 254);
    assert_true(vm_text_valid_email(buf, n));

    n = repeat(buf, "x", 243);
    memcpy(buf + n, domain, sizeof domain);
    n += sizeof domain - 1;
    assert_int_equal(n, 255);
    assert_false(vm_text_valid_email(buf, n));
}

static void test_valid_phone(void **state)
{
    (void)state;
    static const pred_case cases[] = {
        {S("123456"), false},                    /* 6 digits */
        {S("1234567"), true},                    /* 7 digits */
        {S("123456789012345"), true},            /* 15 digits */
        {S("1234567890123456"), false},          /* 16 digits */
        {S("+1 (212) 555-0100"), true},
        {S("+48 601 234 567"), true},
        {S("(0) 20-7946-0958"), true},
        {S("12345"), false},
        {S("+"), false},
        {S(""), false},
        {S("---- ()()"), false},                 /* no digits */
        {S("+1 212 555 0100 999 99"), false},    /* 16 digits with layout */
        {S("+1 212 555 0100 99 99"), true},      /* 15 digits with layout */
        {S("1 2 3 4 5 6 7"), true},              /* spaces do not count */
        {S("212+5550100"), false},               /* '+' in the middle */
        {S("2125550100+"), false},
        {S("++12125550100"), false},             /* two '+' */
        {S("+1+2125550100"), false},
        {S("212-555-CALL"), false},              /* letters */
        {S("2125550100x12"), false},
        {S("212.555.0100"), false},              /* '.' is not allowed */
        {S("212\t5550100"), false},              /* only spaces, not tabs */
        {S("\xef\xbc\x91" "234567"), false},     /* fullwidth digit */
    };
    check_pred(cases, COUNT(cases), vm_text_valid_phone, "valid_phone");
}

/* ---- numbers ---------------------------------------------------------- */

static void test_parse_number(void **state)
{
    (void)state;
    static const struct {
        str in;
        bool ok;
        double want;
    } cases[] = {
        {S("0"), true, 0},
        {S("42"), true, 42},
        {S("2 500"), true, 2500},
        {S("1 200"), true, 1200},
        {S("1 000 000"), true, 1000000},
        {S("1,5"), true, 1.5},
        {S("1.5"), true, 1.5},
        {S("2 500,75"), true, 2500.75},
        {S("3.141 592"), true, 3.141592},        /* spaces between any digits */
        {S("-7"), true, -7},
        {S("+3"), true, 3},
        {S("-0,25"), true, -0.25},
        {S("007"), true, 7},
        {S("0.1"), true, 0.1},
        {S("3."), false, 0},                     /* '.' needs digits after */
        {S("3,"), false, 0},
        {S(".5"), false, 0},                     /* and digits before */
        {S("-.5"), false, 0},
        {S("lots"), false, 0},
        {S(""), false, 0},
        {S("-"), false, 0},
        {S("+"), false, 0},
        {S("1  2"), false, 0},                   /* double space */
        {S(" 12"), false, 0},                    /* untrimmed input */
        {S("12 "), false, 0},
        {S("- 7"), false, 0},                    /* space after the sign */
        {S("1 ,5"), false, 0},
        {S("1, 5"), false, 0},
        {S("1e5"), false, 0},
        {S("1E5"), false, 0},
        {S("0x10"), false, 0},
        {S("inf"), false, 0},
        {S("nan"), false, 0},
        {S("--1"), false, 0},
        {S("+-1"), false, 0},
        {S("1.2.3"), false, 0},
        {S("1,2,3"), false, 0},
        {S("1.2,3"), false, 0},
        {S("12abc"), false, 0},
        {S("1\t2"), false, 0},
        {S("1\0"), false, 0},
        {S("\xd9\xa1"), false, 0},               /* Arabic-Indic digit one */
    };
    for (size_t i = 0; i < COUNT(cases); i++) {
        double got = -12345;
        bool ok = vm_text_parse_number(cases[i].in.s, cases[i].in.n, &got);
        if (ok != cases[i].ok)
            fail_msg("parse case %zu (\"%s\"): ok=%d", i, cases[i].in.s, ok);
        if (ok && got != cases[i].want)
            fail_msg("parse case %zu (\"%s\"): got %.17g, want %.17g", i,
                     cases[i].in.s, got, cases[i].want);
    }
}

static void test_parse_negative_zero(void **state)
{
    (void)state;
    double v = 1;
    assert_true(vm_text_parse_number("-0", 2, &v));
    assert_true(v == 0 && !signbit(v));
    assert_true(vm_text_parse_number("-0,000", 6, &v));
    assert_true(v == 0 && !signbit(v));
}

static void test_parse_number_huge(void **state)
{
    (void)state;
    char buf[1200];
    double v;
    size_t n = repeat(buf, "9", 300); /* 1e300: large but finite */
    assert_true(vm_text_parse_number(buf, n, &v));
    assert_true(isfinite(v) && v > 9e299);

    n = repeat(buf, "9", 400); /* overflows to infinity */
    assert_false(vm_text_parse_number(buf, n, &v));
    buf[0] = '-';
    assert_false(vm_text_parse_number(buf, n, &v));

    n = repeat(buf, "0", 1000); /* zero, but longer than the buffer */
    assert_false(vm_text_parse_number(buf, n, &v));

    /* The limit is on the cleaned text: 511 bytes fit, 512 do not. */
    memcpy(buf, "0.", 2);
    n = 2 + repeat(buf + 2, "0", 508);
    buf[n++] = '1';
    assert_int_equal(n, 511);
    assert_true(vm_text_parse_number(buf, n, &v)); /* underflows to 0 */
    assert_true(v >= 0 && v < 1e-300);
    memcpy(buf + n - 1, "01", 2);
    n++;
    assert_false(vm_text_parse_number(buf, n, &v));

    /* Group spaces do not count toward the limit: 300 zeros, 599 bytes. */
    n = repeat(buf, "0 ", 300) - 1;
    assert_int_equal(n, 599);
    assert_true(vm_text_parse_number(buf, n, &v));
    assert_true(v == 0);
}

static void test_format_number(void **state)
{
    (void)state;
    static const struct {
        double v;
        const char *want;
    } cases[] = {
        {0, "0"},
        {-0.0, "0"},
        {1000, "1000"},
        {15000, "15000"},
        {2.5, "2.5"},
        {-2.5, "-2.5"},
        {1.0 / 3, "0.333333333333333"},
        {0.1 + 0.2, "0.3"},
        {1e15, "1e+15"},
        {123456789012345, "123456789012345"},
        {1e21, "1e+21"},
        {1e-7, "1e-07"},
        {-DBL_MAX, "-1.79769313486232e+308"},
        {DBL_MIN, "2.2250738585072e-308"},
        {NAN, "0"},
        {-NAN, "0"},
        {INFINITY, "0"},
        {-INFINITY, "0"},
    };
    for (size_t i = 0; i < COUNT(cases); i++) {
        char buf[VM_NUMBER_BUF];
        memset(buf, 'X', sizeof buf);
        size_t len = vm_text_format_number(cases[i].v, buf);
        if (strcmp(buf, cases[i].want) != 0 || len != strlen(cases[i].want))
            fail_msg("format case %zu: got \"%s\" (%zu), want \"%s\"", i, buf,
                     len, cases[i].want);
    }
}

/* What a visitor types comes back printed in the canonical form. */
static void test_parse_then_format(void **state)
{
    (void)state;
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"2 500", "2500"}, {"1,5", "1.5"}, {"-0", "0"}, {"+3", "3"},
        {"0,10", "0.1"},   {"1 000 000 000 000 000", "1e+15"},
    };
    for (size_t i = 0; i < COUNT(cases); i++) {
        double v;
        char buf[VM_NUMBER_BUF];
        assert_true(vm_text_parse_number(cases[i].in, strlen(cases[i].in), &v));
        vm_text_format_number(v, buf);
        assert_string_equal(buf, cases[i].out);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_trim),
        cmocka_unit_test(test_trim_all_white_space),
        cmocka_unit_test(test_equal_ci),
        cmocka_unit_test(test_contains_ci),
        cmocka_unit_test(test_has_word_ci),
        cmocka_unit_test(test_codepoints),
        cmocka_unit_test(test_valid_utf8),
        cmocka_unit_test(test_valid_text),
        cmocka_unit_test(test_valid_text_length),
        cmocka_unit_test(test_valid_email),
        cmocka_unit_test(test_valid_email_length),
        cmocka_unit_test(test_valid_phone),
        cmocka_unit_test(test_parse_number),
        cmocka_unit_test(test_parse_negative_zero),
        cmocka_unit_test(test_parse_number_huge),
        cmocka_unit_test(test_format_number),
        cmocka_unit_test(test_parse_then_format),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
