/* fc_diag.h - collecting and printing diagnostics (spec section 11).
 *
 * Every error and warning of the compiler goes through fc_diag(). The
 * collector copies what it needs at report time (file name, the character
 * column, a window of the source line for the caret), so sources may be freed
 * before the diagnostics are written. Diagnostics are written sorted by file
 * (in the order files were first reported), then line, then column; notes stay
 * with the diagnostic they belong to.
 */
#ifndef FC_DIAG_H
#define FC_DIAG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "fc_codes.h"

/* A position in a source file: 1-based line, 1-based *byte* column, and the
 * byte offset of the position from the start of the file. The character
 * column printed to users is computed from these by the collector. */
typedef struct fc_loc {
    uint32_t line;
    uint32_t col;
    uint32_t off;
} fc_loc;

/* A source file as the compiler read it. */
typedef struct fc_source {
    const char *path;
    const char *text;
    size_t len;
} fc_source;

typedef enum fc_severity { FC_SEV_ERROR, FC_SEV_WARNING } fc_severity;

typedef enum fc_diag_format { FC_DIAG_TEXT, FC_DIAG_JSON, FC_DIAG_SARIF } fc_diag_format;

typedef struct fc_diags fc_diags;

/* At most this many diagnostics are kept per file; the rest are counted and
 * summarised by one final error, so that a 10 MB file of garbage cannot
 * produce gigabytes of output. */
#define FC_DIAG_MAX_PER_FILE 1000

fc_diags *fc_diags_new(void);
void fc_diags_free(fc_diags *d);

/* With -Werror, warnings are reported (and counted) as errors. */
void fc_diags_set_werror(fc_diags *d, bool on);

/* Reports one diagnostic of kind `code` (its severity comes from fc_codes.h)
 * at `loc` in `src`. Returns false when the per-file limit dropped it. */
bool fc_diag(fc_diags *d, const fc_source *src, fc_code code, fc_loc loc, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* Attaches a note (`FILE:LINE:COL: note: MESSAGE`) to the diagnostic reported
 * last; ignored if that one was dropped. */
void fc_diag_note(fc_diags *d, const fc_source *src, fc_loc loc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Errors so far (warnings included under -Werror), and warnings so far. */
size_t fc_diags_errors(const fc_diags *d);
size_t fc_diags_warnings(const fc_diags *d);
/* Errors reported for one file path so far. */
size_t fc_diags_errors_in(const fc_diags *d, const char *path);

/* Text: `FILE:LINE:COL: error: MESSAGE [CODE]`, then, when `show_source` is
 * true (stderr is a terminal), the source line and a caret under the column.
 * Notes follow as `FILE:LINE:COL: note: MESSAGE`. */
void fc_diags_write_text(const fc_diags *d, FILE *out, bool show_source);
/* One JSON array, one object per diagnostic: file, line, column, severity,
 * message, code, and `notes` (array of {file,line,column,message}). */
void fc_diags_write_json(const fc_diags *d, FILE *out);
/* SARIF 2.1.0: one run, tool.driver "flowc" with the rules of fc_codes.h. */
void fc_diags_write_sarif(const fc_diags *d, FILE *out);
void fc_diags_write(const fc_diags *d, fc_diag_format fmt, FILE *out, bool show_source);

/* Public tables from fc_codes.h, for `flowc --list-codes` and docs. */
const char *fc_code_id(fc_code c);      /* "FC014" */
const char *fc_code_name(fc_code c);    /* "unknown-node" */
const char *fc_code_help(fc_code c);
fc_severity fc_code_severity(fc_code c);

/* The character column (1-based, counting UTF-8 code points) of `loc` in
 * `src`; invalid bytes count as one character each. */
uint32_t fc_char_column(const fc_source *src, fc_loc loc);

#endif
