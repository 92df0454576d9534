/* vm_text.c - the text rules of the Flow language (see vm_text.h).
 *
 * Everything here works on bytes with ASCII-only helpers instead of <ctype.h>:
 * the language's rules are defined on ASCII, and ctype results depend on the
 * process locale, which must never change how a playbook behaves.
 */
#include "vm_text.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Limits from the spec (section 7). */
#define TEXT_MAX_CODEPOINTS 512
#define EMAIL_MAX_BYTES 254
#define PHONE_MIN_DIGITS 7
#define PHONE_MAX_DIGITS 15
/* Cleaned number text plus terminator; longer answers are not worth parsing. */
#define NUMBER_BUF 512

/* ---- ASCII helpers ---------------------------------------------------- */

static bool is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool is_digit(unsigned char c) { return c >= '0' && c <= '9'; }

static bool is_alnum(unsigned char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static unsigned char fold(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + ('a' - 'A')) : c;
}

/* Case-insensitive comparison of n bytes at a and b. */
static bool same_ci(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (fold((unsigned char)a[i]) != fold((unsigned char)b[i]))
            return false;
    return true;
}

/* ---- trimming and matching -------------------------------------------- */

void vm_text_trim(const char *s, size_t n, size_t *start, size_t *len)
{
    size_t b = 0, e = n;
    while (b < e && is_space((unsigned char)s[b]))
        b++;
    while (e > b && is_space((unsigned char)s[e - 1]))
        e--;
    *start = b;
    *len = e - b;
}

bool vm_text_equal_ci(const char *a, size_t an, const char *b, size_t bn)
{
    return an == bn && same_ci(a, b, an);
}

bool vm_text_contains_ci(const char *hay, size_t hn, const char *needle,
                         size_t nn)
{
    if (nn > hn)
        return false;
    /* Texts are short (visitor messages), so the naive scan is enough. */
    for (size_t i = 0; i + nn <= hn; i++)
        if (same_ci(hay + i, needle, nn))
            return true;
    return false;
}

bool vm_text_has_word_ci(const char *text, size_t n, const char *word,
                         size_t wn)
{
    if (wn == 0 || wn > n)
        return false;
    /* Every occurrence is tried: "reagent agent" must still match "agent". */
    for (size_t i = 0; i + wn <= n; i++) {
        if (!same_ci(text + i, word, wn))
            continue;
        bool left = i == 0 || !is_alnum((unsigned char)text[i - 1]);
        bool right = i + wn == n || !is_alnum((unsigned char)text[i + wn]);
        if (left && right)
            return true;
    }
    return false;
}

/* ---- UTF-8 ------------------------------------------------------------ */

size_t vm_text_codepoints(const char *s, size_t n)
{
    size_t count = 0;
    for (size_t i = 0; i < n; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80)
            count++;
    return count;
}

/* Length of the well-formed UTF-8 sequence at p (avail bytes left), or 0.
 * The narrowed second-byte ranges (Unicode table 3-7) are what exclude
 * overlongs (E0, F0), surrogates (ED) and code points above U+10FFFF (F4). */
static size_t utf8_sequence(const unsigned char *p, size_t avail)
{
    unsigned char b = p[0], lo = 0x80, hi = 0xBF;
    size_t len;
    if (b < 0x80)
        return 1;
    if (b >= 0xC2 && b <= 0xDF) {
        len = 2;
    } else if (b >= 0xE0 && b <= 0xEF) {
        len = 3;
        lo = b == 0xE0 ? 0xA0 : lo;
        hi = b == 0xED ? 0x9F : hi;
    } else if (b >= 0xF0 && b <= 0xF4) {
        len = 4;
        lo = b == 0xF0 ? 0x90 : lo;
        hi = b == 0xF4 ? 0x8F : hi;
    } else {
        return 0; /* continuation byte, C0/C1 overlong lead, or F5..FF */
    }
    if (avail < len || p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if ((p[i] & 0xC0) != 0x80)
            return 0;
    return len;
}

bool vm_text_valid_utf8(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        size_t len = utf8_sequence(p + i, n - i);
        if (len == 0)
            return false;
        i += len;
    }
    return true;
}

/* ---- answer validation ------------------------------------------------ */

bool vm_text_valid_text(const char *s, size_t n)
{
    return n > 0 && vm_text_codepoints(s, n) <= TEXT_MAX_CODEPOINTS;
}

/* The domain needs at least one dot and no empty label, i.e. it neither
 * starts nor ends with a dot and has no two dots in a row. */
static bool valid_domain(const char *d, size_t n)
{
    if (n == 0 || d[0] == '.' || d[n - 1] == '.')
        return false;
    bool dot = false;
    for (size_t i = 0; i < n; i++) {
        if (d[i] != '.')
            continue;
        if (d[i + 1] == '.') /* safe: d[n - 1] is not a dot */
            return false;
        dot = true;
    }
    return dot;
}

bool vm_text_valid_email(const char *s, size_t n)
{
    if (n == 0 || n > EMAIL_MAX_BYTES)
        return false;
    size_t at = n, ats = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        /* Space and control bytes; bytes >= 0x80 (UTF-8 addresses) pass. */
        if (c <= 0x20 || c == 0x7F)
            return false;
        if (c == '@') {
            at = i;
            ats++;
        }
    }
    if (ats != 1 || at == 0)
        return false;
    return valid_domain(s + at + 1, n - at - 1);
}

bool vm_text_valid_phone(const char *s, size_t n)
{
    size_t digits = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (is_digit((unsigned char)c))
            digits++;
        else if (c == '+' && i == 0)
            continue;
        else if (c != ' ' && c != '-' && c != '(' && c != ')')
            return false;
    }
    return digits >= PHONE_MIN_DIGITS && digits <= PHONE_MAX_DIGITS;
}

/* ---- numbers ---------------------------------------------------------- */

/* Skips a run of digits starting at i in which single spaces may separate
 * two digits; returns the index after it (i itself when s[i] is no digit). */
static size_t skip_digits(const char *s, size_t n, size_t i)
{
    while (i < n && is_digit((unsigned char)s[i])) {
        i++;
        if (i + 1 < n && s[i] == ' ' && is_digit((unsigned char)s[i + 1]))
            i++;
    }
    return i;
}

/* True when s[0..n) is: [+-] digits [('.' | ',') digits]. */
static bool number_grammar(const char *s, size_t n)
{
    size_t i = 0;
    if (i < n && (s[i] == '+' || s[i] == '-'))
        i++;
    size_t end = skip_digits(s, n, i);
    if (end == i)
        return false;
    i = end;
    if (i < n && (s[i] == '.' || s[i] == ',')) {
        i++;
        end = skip_digits(s, n, i);
        if (end == i)
            return false;
        i = end;
    }
    return i == n;
}

/* Copies grammar-checked number text into buf as plain strtod input:
 * group spaces dropped, ',' turned into '.'. False when it does not fit. */
static bool number_clean(const char *s, size_t n, char buf[NUMBER_BUF])
{
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == ' ')
            continue;
        if (len == NUMBER_BUF - 1)
            return false;
        buf[len++] = s[i] == ',' ? '.' : s[i];
    }
    buf[len] = '\0';
    return true;
}

bool vm_text_parse_number(const char *s, size_t n, double *out)
{
    char buf[NUMBER_BUF];
    if (!number_grammar(s, n) || !number_clean(s, n, buf))
        return false;
    /* The grammar already excludes hex, exponents, "inf" and "nan", so strtod
     * sees a plain decimal. The end check also refuses (rather than
     * misreads) a fraction if some locale other than "C" were in force. */
    char *end;
    double v = strtod(buf, &end);
    if (*end != '\0' || !isfinite(v))
        return false;
    *out = v == 0 ? 0.0 : v; /* "-0" is just zero to a visitor */
    return true;
}

size_t vm_text_format_number(double v, char *buf)
{
    /* v == 0 also catches -0, which "%.15g" would print as "-0". */
    if (!isfinite(v) || v == 0) {
        memcpy(buf, "0", 2);
        return 1;
    }
    int len = snprintf(buf, VM_NUMBER_BUF, "%.15g", v);
    if (len < 0 || len >= VM_NUMBER_BUF) { /* cannot happen: max is 22 */
        memcpy(buf, "0", 2);
        return 1;
    }
    /* Guard against a process locale with a decimal comma. */
    for (int i = 0; i < len; i++)
        if (buf[i] == ',')
            buf[i] = '.';
    return (size_t)len;
}
