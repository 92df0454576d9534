/* vm_text.h - the text rules of the Flow language (spec sections 4 and 7).
 *
 * Pure functions over byte strings with explicit lengths (texts may contain
 * any byte but are normally UTF-8). Shared by the VM (matching and
 * validating visitor input, printing values) and the compiler. No allocation.
 */
#ifndef VM_TEXT_H
#define VM_TEXT_H

#include <stdbool.h>
#include <stddef.h>

/* White space is ASCII space, tab, CR and LF. Sets *start and *len to the
 * trimmed span of s[0..n). */
void vm_text_trim(const char *s, size_t n, size_t *start, size_t *len);

/* Equality ignoring ASCII case (other bytes compare exactly). */
bool vm_text_equal_ci(const char *a, size_t an, const char *b, size_t bn);

/* True when `needle` occurs in `hay`, ignoring ASCII case. An empty needle
 * occurs in every text. */
bool vm_text_contains_ci(const char *hay, size_t hn, const char *needle, size_t nn);

/* Keyword trigger rule: true when `word` (non-empty) occurs in `text`,
 * ignoring ASCII case, bounded on each side by the text's end or by a byte
 * that is not an ASCII letter or digit. "agent" is in "an agent please" and
 * "agent!" but not in "agents" or "reagent". */
bool vm_text_has_word_ci(const char *text, size_t n, const char *word, size_t wn);

/* Number of Unicode code points: bytes that are not UTF-8 continuation
 * bytes (10xxxxxx). */
size_t vm_text_codepoints(const char *s, size_t n);

/* True when s[0..n) is valid UTF-8 (no overlongs, no surrogates, at most
 * U+10FFFF). */
bool vm_text_valid_utf8(const char *s, size_t n);

/* Validation of trimmed `ask` answers (section 7 table). */
/* text: not empty, at most 512 code points. */
bool vm_text_valid_text(const char *s, size_t n);
/* email: exactly one '@', non-empty local part, a domain with at least one
 * dot and no empty label, no white space or control character, at most 254
 * bytes. */
bool vm_text_valid_email(const char *s, size_t n);
/* phone: only digits, spaces, '-', '(', ')' and one optional leading '+';
 * 7 to 15 digits. */
bool vm_text_valid_phone(const char *s, size_t n);
/* number: optional sign ('+' or '-'), digits, optionally '.' or ',' followed
 * by digits; single spaces between digits are ignored ("2 500" is 2500,
 * "1,5" is 1.5). The result must be finite. */
bool vm_text_parse_number(const char *s, size_t n, double *out);

/* Prints a number as C's "%.15g", except that -0 (and any non-finite value)
 * prints as "0". `buf` holds at least VM_NUMBER_BUF bytes; returns the length
 * (no terminator counted; one is written). */
#define VM_NUMBER_BUF 32
size_t vm_text_format_number(double v, char *buf);

#endif
