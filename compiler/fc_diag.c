/* fc_diag.c - collecting diagnostics and writing them as text, JSON or SARIF.
 *
 * A report copies everything it needs out of the source at once (path,
 * character column, a bounded window of the source line, the formatted
 * message), so the compiler may free a source before the diagnostics are
 * written. Writing never changes the collector: the order (file of first
 * report, line, column, report order) and the "too many diagnostics" summary
 * are worked out each time from the stored reports.
 *
 * Everything that reaches a terminal, JSON or SARIF is filtered: invalid UTF-8
 * becomes U+FFFD and control characters never go out raw, because messages
 * and source lines come from files the user may not trust.
 */
#include "fc_diag.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* How much of a source line around the caret is kept, each side: enough for
 * any real line, small enough that a 10 MB one-line file costs nothing. */
#define WINDOW_BYTES 200
#define TAB_WIDTH 8
#define REPLACEMENT "\xEF\xBF\xBD" /* U+FFFD */

/* ---- code tables ------------------------------------------------------ */

#define SEV_error FC_SEV_ERROR
#define SEV_warning FC_SEV_WARNING

typedef struct code_info {
    const char *id;
    const char *name;
    const char *help;
    fc_severity sev;
} code_info;

static const code_info codes[FC_CODE_COUNT] = {
#define FC_DIAG_ROW(ID, CODE, SEV, NAME, HELP) [ID] = {CODE, NAME, HELP, SEV_##SEV},
    FC_DIAG_LIST(FC_DIAG_ROW)
#undef FC_DIAG_ROW
};

static bool code_ok(fc_code c) { return (unsigned)c < FC_CODE_COUNT; }

const char *fc_code_id(fc_code c) { return code_ok(c) ? codes[c].id : ""; }
const char *fc_code_name(fc_code c) { return code_ok(c) ? codes[c].name : ""; }
const char *fc_code_help(fc_code c) { return code_ok(c) ? codes[c].help : ""; }
fc_severity fc_code_severity(fc_code c) { return code_ok(c) ? codes[c].sev : FC_SEV_ERROR; }

/* ---- the collector ------------------------------------------------------ */

/* One position with its message: a diagnostic or one of its notes. */
typedef struct site {
    uint32_t file;  /* index into fc_diags.files */
    uint32_t line;
    uint32_t col;   /* in characters */
    char *msg;
    char *snippet;  /* rendered window of the source line, or NULL */
    uint32_t caret; /* display columns before the caret in `snippet` */
} site;

typedef struct diag {
    site at;
    fc_code code;
    site *notes;
    size_t nnotes, cap_notes;
} diag;

/* Per path: the limit, the counts, and a column cache. */
typedef struct file_info {
    char *path;
    uint32_t order; /* position among files by first diagnostic */
    bool ordered;
    size_t kept;
    size_t errors, warnings;                 /* as reported, before -Werror */
    size_t dropped_errors, dropped_warnings; /* subset beyond the limit */
    uint32_t first_dropped_line, first_dropped_col;
    /* Where the last column count stopped: many diagnostics on one huge line
     * then cost one pass over it instead of one pass each. */
    const char *cache_text;
    size_t cache_len, cache_start, cache_pos, cache_chars;
} file_info;

struct fc_diags {
    file_info *files;
    size_t nfiles, cap_files;
    size_t cur_file; /* last file looked up; reports come in runs per file */
    diag *diags;
    size_t ndiags, cap_diags;
    size_t errors, warnings; /* as reported, before -Werror */
    uint32_t next_order;
    bool werror;
    bool last_dropped; /* notes then belong to nothing */
};

fc_diags *fc_diags_new(void) { return calloc(1, sizeof(fc_diags)); }

static void site_free(site *s)
{
    free(s->msg);
    free(s->snippet);
}

void fc_diags_free(fc_diags *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < d->ndiags; i++) {
        site_free(&d->diags[i].at);
        for (size_t j = 0; j < d->diags[i].nnotes; j++)
            site_free(&d->diags[i].notes[j]);
        free(d->diags[i].notes);
    }
    for (size_t i = 0; i < d->nfiles; i++)
        free(d->files[i].path);
    free(d->diags);
    free(d->files);
    free(d);
}

void fc_diags_set_werror(fc_diags *d, bool on)
{
    if (d)
        d->werror = on;
}

/* Counts are kept as reported so that -Werror may be set at any time. */
size_t fc_diags_errors(const fc_diags *d)
{
    return d ? d->errors + (d->werror ? d->warnings : 0) : 0;
}

size_t fc_diags_warnings(const fc_diags *d) { return d && !d->werror ? d->warnings : 0; }

static file_info *find_file(const fc_diags *d, const char *path)
{
    for (size_t i = 0; i < d->nfiles; i++)
        if (strcmp(d->files[i].path, path) == 0)
            return &d->files[i];
    return NULL;
}

size_t fc_diags_errors_in(const fc_diags *d, const char *path)
{
    const file_info *f = d && path ? find_file(d, path) : NULL;
    return f ? f->errors + (d->werror ? f->warnings : 0) : 0;
}

/* Grows *p (an array of `size`-byte items with capacity *cap) to hold n+1. */
static bool grow(void **p, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return true;
    size_t ncap = *cap ? *cap * 2 : 8;
    void *q = ncap < SIZE_MAX / size ? realloc(*p, ncap * size) : NULL;
    if (!q)
        return false;
    *p = q;
    *cap = ncap;
    return true;
}

static const char *src_path(const fc_source *src)
{
    return src && src->path ? src->path : "<unknown>";
}

/* The file entry for a path, added on first use; NULL when out of memory. */
static file_info *file_for(fc_diags *d, const char *path)
{
    if (d->cur_file < d->nfiles && strcmp(d->files[d->cur_file].path, path) == 0)
        return &d->files[d->cur_file];
    file_info *f = find_file(d, path);
    if (!f) {
        if (d->nfiles >= UINT32_MAX || !grow((void **)&d->files, &d->cap_files, d->nfiles, sizeof *f))
            return NULL;
        f = &d->files[d->nfiles];
        memset(f, 0, sizeof *f);
        if (!(f->path = strdup(path)))
            return NULL;
        d->nfiles++;
    }
    d->cur_file = (size_t)(f - d->files);
    return f;
}

/* ---- UTF-8 and columns ---------------------------------------------------- */

/* Length of the valid UTF-8 sequence at s[0..n) and its code point; 0 when
 * the bytes there are not one (overlong, surrogate, past U+10FFFF, cut). */
static size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
    unsigned c = s[0];
    size_t len;
    uint32_t v;
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (c >= 0xC2 && c <= 0xDF)
        len = 2, v = c & 0x1F;
    else if (c >= 0xE0 && c <= 0xEF)
        len = 3, v = c & 0x0F;
    else if (c >= 0xF0 && c <= 0xF4)
        len = 4, v = c & 0x07;
    else
        return 0;
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        v = v << 6 | (s[i] & 0x3F);
    }
    if ((len == 3 && (v < 0x800 || (v >= 0xD800 && v <= 0xDFFF))) || (len == 4 && (v < 0x10000 || v > 0x10FFFF)))
        return 0;
    *cp = v;
    return len;
}

/* One step of the character walk: a valid sequence, or one invalid byte
 * (which counts as a character of its own, as fc_char_column promises). */
static size_t char_len(const char *text, size_t len, size_t i)
{
    uint32_t cp;
    size_t k = utf8_decode((const unsigned char *)text + i, len - i, &cp);
    return k ? k : 1;
}

/* Characters that lie wholly in text[from..to); *stop is where the walk
 * ended (before `to` only when a character straddles it). */
static size_t count_chars(const char *text, size_t len, size_t from, size_t to, size_t *stop)
{
    size_t n = 0, i = from;
    while (i < to) {
        /* Runs of ASCII, eight bytes at a time: one byte is one character.
         * (fc_write asks for the column of every line-table entry.) */
        uint64_t w;
        while (to - i >= 8 && (memcpy(&w, text + i, 8), (w & 0x8080808080808080u) == 0)) {
            i += 8;
            n += 8;
        }
        if (i == to)
            break;
        if ((unsigned char)text[i] < 0x80) {
            i++;
            n++;
            continue;
        }
        size_t k = char_len(text, len, i);
        if (i + k > to)
            break;
        i += k;
        n++;
    }
    *stop = i;
    return n;
}

/* The byte offset of loc, kept inside the text whatever the caller passed. */
static size_t clamp_off(const fc_source *src, fc_loc loc) { return loc.off < src->len ? loc.off : src->len; }

/* Line start = off - (col - 1), from the byte column the lexer tracks; a
 * column that would reach before the file start is cut at the file start. */
static size_t line_start(fc_loc loc, size_t off)
{
    size_t back = loc.col ? (size_t)loc.col - 1 : 0;
    return back < off ? off - back : 0;
}

static uint32_t to_u32(size_t v) { return v < UINT32_MAX ? (uint32_t)v : UINT32_MAX; }

uint32_t fc_char_column(const fc_source *src, fc_loc loc)
{
    if (!src || !src->text)
        return loc.col ? loc.col : 1;
    size_t off = clamp_off(src, loc), stop;
    return to_u32(count_chars(src->text, src->len, line_start(loc, off), off, &stop) + 1);
}

/* fc_char_column, resuming from the last count on the same line. */
static uint32_t cached_column(file_info *f, const fc_source *src, fc_loc loc)
{
    if (!src || !src->text)
        return fc_char_column(src, loc);
    size_t off = clamp_off(src, loc), start = line_start(loc, off), from = start, n = 0;
    if (f->cache_text == src->text && f->cache_len == src->len && f->cache_start == start && f->cache_pos <= off)
        from = f->cache_pos, n = f->cache_chars;
    n += count_chars(src->text, src->len, from, off, &f->cache_pos);
    f->cache_text = src->text;
    f->cache_len = src->len;
    f->cache_start = start;
    f->cache_chars = n;
    return to_u32(n + 1);
}

/* ---- rendering a source line for the terminal ------------------------------ */

typedef struct sbuf {
    char *p;
    size_t len, cap;
    bool oom;
} sbuf;

static void sb_put(sbuf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t ncap = (b->len + n + 1) * 2;
        char *q = realloc(b->p, ncap);
        if (!q) {
            b->oom = true;
            return;
        }
        b->p = q;
        b->cap = ncap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

/* Characters shown as U+FFFD on a terminal and in text messages: controls
 * (C0, DEL, C1), line separators, and the bidirectional overrides that can
 * make a line display in another order than it is read ("Trojan Source"). */
static bool unsafe_cp(uint32_t cp)
{
    return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) || cp == 0x2028 || cp == 0x2029 ||
           (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069);
}

/* Terminal columns a code point takes: a small table covering combining marks
 * (0) and East Asian wide characters and emoji (2), so the caret stays under
 * the right character in the common cases without depending on the locale. */
static unsigned cp_width(uint32_t cp)
{
    static const uint32_t zero[][2] = {{0x0300, 0x036F}, {0x0483, 0x0489}, {0x0591, 0x05BD}, {0x0610, 0x061A},
                                       {0x064B, 0x065F}, {0x1AB0, 0x1AFF}, {0x1DC0, 0x1DFF}, {0x200B, 0x200F},
                                       {0x20D0, 0x20FF}, {0xFE00, 0xFE0F}, {0xFE20, 0xFE2F}, {0xFEFF, 0xFEFF}};
    static const uint32_t wide[][2] = {{0x1100, 0x115F},   {0x2E80, 0x303E},   {0x3041, 0x33FF},
                                       {0x3400, 0x4DBF},   {0x4E00, 0x9FFF},   {0xA000, 0xA4CF},
                                       {0xAC00, 0xD7A3},   {0xF900, 0xFAFF},   {0xFE30, 0xFE4F},
                                       {0xFF00, 0xFF60},   {0xFFE0, 0xFFE6},   {0x1F300, 0x1F64F},
                                       {0x1F900, 0x1F9FF}, {0x20000, 0x2FFFD}, {0x30000, 0x3FFFD}};
    for (size_t i = 0; i < sizeof zero / sizeof zero[0]; i++)
        if (cp >= zero[i][0] && cp <= zero[i][1])
            return 0;
    for (size_t i = 0; i < sizeof wide / sizeof wide[0]; i++)
        if (cp >= wide[i][0] && cp <= wide[i][1])
            return 2;
    return 1;
}

/* Appends the character at text[i] as it should appear on a terminal and
 * returns its byte length; *width grows by the columns it takes. Tabs become
 * spaces, so that the caret line (all spaces) lines up whatever the tab
 * stops of the terminal. */
static size_t render_char(sbuf *b, const char *text, size_t len, size_t i, size_t *width)
{
    uint32_t cp;
    size_t k = utf8_decode((const unsigned char *)text + i, len - i, &cp);
    if (k == 1 && cp == '\t') {
        size_t to = (*width / TAB_WIDTH + 1) * TAB_WIDTH;
        for (; *width < to; ++*width)
            sb_put(b, " ", 1);
    } else if (k == 0 || unsafe_cp(cp)) {
        sb_put(b, REPLACEMENT, 3);
        ++*width;
    } else {
        sb_put(b, text + i, k);
        *width += cp_width(cp);
    }
    return k ? k : 1;
}

static bool is_cont(char c) { return ((unsigned char)c & 0xC0) == 0x80; }

/* The end of the shown part of the line holding `off`: its newline (minus a
 * CR before it), the end of the text, or WINDOW_BYTES on, moved back to the
 * start of a character; *cut tells whether the line goes on beyond. */
static size_t window_end(const fc_source *src, size_t off, bool *cut)
{
    size_t limit = src->len - off > WINDOW_BYTES ? off + WINDOW_BYTES : src->len;
    const char *nl = memchr(src->text + off, '\n', limit - off);
    *cut = false;
    if (nl || limit == src->len) {
        size_t end = nl ? (size_t)(nl - src->text) : limit;
        return end > off && src->text[end - 1] == '\r' ? end - 1 : end;
    }
    while (limit > off && is_cont(src->text[limit]))
        limit--;
    *cut = true;
    return limit;
}

/* Renders the window of the line around loc into s->snippet with the caret
 * position in s->caret; a cut side is marked with "...". */
static void make_snippet(site *s, const fc_source *src, fc_loc loc)
{
    size_t off = clamp_off(src, loc), start = line_start(loc, off), width = 0, i;
    size_t lo = off - start > WINDOW_BYTES ? off - WINDOW_BYTES : start;
    while (lo < off && is_cont(src->text[lo]))
        lo++;
    bool cut_right;
    size_t hi = window_end(src, off, &cut_right);
    sbuf b = {0};
    if (lo > start) {
        sb_put(&b, "...", 3);
        width = 3;
    }
    s->caret = to_u32(width);
    for (i = lo; i < hi;) {
        size_t before = width, k = render_char(&b, src->text, src->len, i, &width);
        if (i <= off && off < i + k) /* under the character holding off */
            s->caret = to_u32(before);
        i += k;
        if (i <= off) /* off lies past this character, maybe at the end */
            s->caret = to_u32(width);
    }
    if (cut_right)
        sb_put(&b, "...", 3);
    if (b.oom)
        free(b.p), b.p = NULL;
    s->snippet = b.p ? b.p : strdup("");
}

/* ---- reporting ------------------------------------------------------------ */

/* vsnprintf into a fresh heap string of whatever length it takes. */
static char *vformat(const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return strdup("(message could not be formatted)");
    char *s = malloc((size_t)n + 1);
    if (s)
        vsnprintf(s, (size_t)n + 1, fmt, ap);
    /* A message quoting a 10 MB name is no use to anyone: cut it on a
     * character boundary and say so. */
    enum { MAX_MESSAGE = 1024 };
    if (s && n > MAX_MESSAGE) {
        size_t cut = MAX_MESSAGE;
        while (cut > 0 && ((unsigned char)s[cut] & 0xC0) == 0x80)
            cut--;
        memcpy(s + cut, "...", 4);
    }
    return s;
}

/* Fills a site from a report: everything is copied, nothing kept of src. */
static bool site_init(fc_diags *d, site *s, file_info *f, const fc_source *src, fc_loc loc, const char *fmt,
                      va_list ap)
{
    memset(s, 0, sizeof *s);
    s->file = (uint32_t)(f - d->files);
    s->line = loc.line ? loc.line : 1; /* SARIF and editors want lines from 1 */
    s->col = cached_column(f, src, loc);
    if (!(s->msg = vformat(fmt, ap)))
        return false;
    if (src && src->text)
        make_snippet(s, src, loc);
    return true;
}

static void count(fc_diags *d, file_info *f, fc_severity sev)
{
    if (sev == FC_SEV_ERROR)
        d->errors++, f->errors++;
    else
        d->warnings++, f->warnings++;
}

/* Past the per-file limit only the count and the first position are kept:
 * the summary error points there. */
static void drop(fc_diags *d, file_info *f, const fc_source *src, fc_loc loc, fc_severity sev)
{
    if (f->dropped_errors + f->dropped_warnings == 0) {
        f->first_dropped_line = loc.line ? loc.line : 1;
        f->first_dropped_col = cached_column(f, src, loc);
    }
    if (sev == FC_SEV_ERROR)
        f->dropped_errors++;
    else
        f->dropped_warnings++;
    d->last_dropped = true;
}

/* Stores a diagnostic; false when out of memory. */
static bool keep(fc_diags *d, file_info *f, const fc_source *src, fc_code code, fc_loc loc, const char *fmt,
                 va_list ap)
{
    if (!grow((void **)&d->diags, &d->cap_diags, d->ndiags, sizeof(diag)))
        return false;
    diag *g = &d->diags[d->ndiags];
    memset(g, 0, sizeof *g);
    g->code = code;
    if (!site_init(d, &g->at, f, src, loc, fmt, ap)) {
        site_free(&g->at);
        return false;
    }
    d->ndiags++;
    f->kept++;
    return true;
}

bool fc_diag(fc_diags *d, const fc_source *src, fc_code code, fc_loc loc, const char *fmt, ...)
{
    if (!d)
        return false;
    fc_severity sev = fc_code_severity(code);
    file_info *f = file_for(d, src_path(src));
    d->last_dropped = true;
    if (!f) { /* out of memory: the count still sets the exit status */
        d->errors += sev == FC_SEV_ERROR;
        d->warnings += sev == FC_SEV_WARNING;
        return false;
    }
    count(d, f, sev);
    if (!f->ordered)
        f->order = d->next_order++, f->ordered = true;
    /* An unknown code (a bug in the caller) has no rule to name in SARIF, and
     * a diagnostic that finds no memory is lost: both are counted and
     * summarised like the ones past the limit. */
    bool ok = code_ok(code) && f->kept < FC_DIAG_MAX_PER_FILE;
    if (ok) {
        va_list ap;
        va_start(ap, fmt);
        ok = keep(d, f, src, code, loc, fmt, ap);
        va_end(ap);
    }
    if (!ok)
        drop(d, f, src, loc, sev);
    d->last_dropped = !ok;
    return ok;
}

void fc_diag_note(fc_diags *d, const fc_source *src, fc_loc loc, const char *fmt, ...)
{
    if (!d || d->last_dropped || d->ndiags == 0)
        return;
    diag *g = &d->diags[d->ndiags - 1];
    file_info *f = file_for(d, src_path(src));
    if (!f || !grow((void **)&g->notes, &g->cap_notes, g->nnotes, sizeof(site)))
        return;
    va_list ap;
    va_start(ap, fmt);
    bool ok = site_init(d, &g->notes[g->nnotes], f, src, loc, fmt, ap);
    va_end(ap);
    if (ok)
        g->nnotes++;
    else
        site_free(&g->notes[g->nnotes]);
}

/* ---- the order of output ------------------------------------------------------ */

/* One line of output: a stored diagnostic, or (g == NULL) the summary of
 * what the limit dropped in a file, which goes after that file's others. */
typedef struct entry {
    const diag *g;
    uint32_t file, order, line, col;
    size_t seq;
} entry;

static int entry_cmp(const void *pa, const void *pb)
{
    const entry *a = pa, *b = pb;
    if (a->order != b->order)
        return a->order < b->order ? -1 : 1;
    if (!a->g != !b->g)
        return !a->g ? 1 : -1;
    if (a->line != b->line)
        return a->line < b->line ? -1 : 1;
    if (a->col != b->col)
        return a->col < b->col ? -1 : 1;
    return a->seq < b->seq ? -1 : a->seq > b->seq; /* report order: stable */
}

/* All output entries, sorted; *n = 0 (and NULL) when there are none or no
 * memory for them. */
static entry *sorted_entries(const fc_diags *d, size_t *n)
{
    *n = 0;
    entry *es = d->ndiags + d->nfiles ? calloc(d->ndiags + d->nfiles, sizeof *es) : NULL;
    if (!es)
        return NULL;
    for (size_t i = 0; i < d->ndiags; i++) {
        const diag *g = &d->diags[i];
        es[(*n)++] = (entry){g, g->at.file, d->files[g->at.file].order, g->at.line, g->at.col, i};
    }
    for (size_t i = 0; i < d->nfiles; i++) {
        const file_info *f = &d->files[i];
        if (f->dropped_errors + f->dropped_warnings)
            es[(*n)++] = (entry){NULL, (uint32_t)i, f->order, f->first_dropped_line, f->first_dropped_col, 0};
    }
    qsort(es, *n, sizeof *es, entry_cmp);
    return es;
}

/* What the writers print for one entry. */
typedef struct view {
    site at;
    const site *notes;
    size_t nnotes;
    fc_code code;
    fc_severity sev;
    char buf[96]; /* the summary's message */
} view;

static void entry_view(const fc_diags *d, const entry *e, view *v)
{
    memset(v, 0, sizeof *v);
    if (e->g) {
        v->at = e->g->at;
        v->notes = e->g->notes;
        v->nnotes = e->g->nnotes;
        v->code = e->g->code;
        v->sev = d->werror ? FC_SEV_ERROR : fc_code_severity(e->g->code);
        return;
    }
    /* The summary is an error only if an error was dropped, so that the
     * output never shows an error that the exit status does not. */
    const file_info *f = &d->files[e->file];
    v->at = (site){e->file, e->line, e->col, v->buf, NULL, 0};
    v->code = FC_E_LIMIT;
    v->sev = f->dropped_errors || d->werror ? FC_SEV_ERROR : FC_SEV_WARNING;
    snprintf(v->buf, sizeof v->buf, "too many diagnostics (%zu more not shown)",
             f->dropped_errors + f->dropped_warnings);
}

static const char *sev_name(fc_severity s) { return s == FC_SEV_ERROR ? "error" : "warning"; }

/* ---- text ------------------------------------------------------------------ */

/* A message or path for the terminal: invalid UTF-8 and controls become
 * U+FFFD. */
static void put_text(FILE *out, const char *s)
{
    size_t len = strlen(s);
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        size_t k = utf8_decode((const unsigned char *)s + i, len - i, &cp);
        if (k == 0 || unsafe_cp(cp))
            fputs(REPLACEMENT, out);
        else
            fwrite(s + i, 1, k, out);
        i += k ? k : 1;
    }
}

static void put_source(FILE *out, const site *s)
{
    fprintf(out, "%s\n", s->snippet);
    for (uint32_t i = 0; i < s->caret; i++)
        putc(' ', out);
    fputs("^\n", out);
}

static void text_site(const fc_diags *d, FILE *out, const site *s, const char *kind, const char *code,
                      bool show_source)
{
    put_text(out, d->files[s->file].path); /* a file name can hold escapes too */
    fprintf(out, ":%" PRIu32 ":%" PRIu32 ": %s: ", s->line, s->col, kind);
    put_text(out, s->msg);
    if (code)
        fprintf(out, " [%s]", code);
    putc('\n', out);
    if (show_source && s->snippet)
        put_source(out, s);
}

void fc_diags_write_text(const fc_diags *d, FILE *out, bool show_source)
{
    size_t n;
    entry *es = d ? sorted_entries(d, &n) : NULL;
    for (size_t i = 0; es && i < n; i++) {
        view v;
        entry_view(d, &es[i], &v);
        text_site(d, out, &v.at, sev_name(v.sev), fc_code_id(v.code), show_source);
        for (size_t j = 0; j < v.nnotes; j++)
            text_site(d, out, &v.notes[j], "note", NULL, show_source);
    }
    free(es);
}

/* ---- JSON ------------------------------------------------------------------ */

/* A JSON string: valid whatever the bytes. Invalid UTF-8 becomes U+FFFD;
 * U+2028/2029 are escaped for JavaScript consumers that predate ES2019. In
 * SARIF messages braces are doubled (SARIF 2.1.0 section 3.11.5). */
static void json_str(FILE *out, const char *s, bool sarif_msg)
{
    size_t len = strlen(s);
    putc('"', out);
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        size_t k = utf8_decode((const unsigned char *)s + i, len - i, &cp);
        if (k == 0)
            fputs(REPLACEMENT, out);
        else if (cp == '"' || cp == '\\')
            fprintf(out, "\\%c", (char)cp);
        else if (cp < 0x20 || cp == 0x2028 || cp == 0x2029)
            fprintf(out, "\\u%04" PRIX32, cp);
        else if (sarif_msg && (cp == '{' || cp == '}'))
            fprintf(out, "%c%c", (char)cp, (char)cp);
        else
            fwrite(s + i, 1, k, out);
        i += k ? k : 1;
    }
    putc('"', out);
}

/* "file", "line" and "column" of a site, without the closing brace. */
static void json_site(const fc_diags *d, FILE *out, const site *s)
{
    fputs("{\"file\": ", out);
    json_str(out, d->files[s->file].path, false);
    fprintf(out, ", \"line\": %" PRIu32 ", \"column\": %" PRIu32, s->line, s->col);
}

static void json_view(const fc_diags *d, FILE *out, const view *v)
{
    json_site(d, out, &v->at);
    fprintf(out, ", \"severity\": \"%s\", \"message\": ", sev_name(v->sev));
    json_str(out, v->at.msg, false);
    fprintf(out, ", \"code\": \"%s\", \"notes\": [", fc_code_id(v->code));
    for (size_t j = 0; j < v->nnotes; j++) {
        fputs(j ? ", " : "", out);
        json_site(d, out, &v->notes[j]);
        fputs(", \"message\": ", out);
        json_str(out, v->notes[j].msg, false);
        putc('}', out);
    }
    fputs("]}", out);
}

void fc_diags_write_json(const fc_diags *d, FILE *out)
{
    size_t n = 0;
    entry *es = d ? sorted_entries(d, &n) : NULL;
    fputs(n ? "[\n" : "[", out);
    for (size_t i = 0; i < n; i++) {
        view v;
        entry_view(d, &es[i], &v);
        fputs(i ? ",\n  " : "  ", out);
        json_view(d, out, &v);
    }
    fputs(n ? "\n]\n" : "]\n", out);
    free(es);
}

/* ---- SARIF ------------------------------------------------------------------ */

/* Where flowc is documented; SARIF's driver.informationUri is optional, and
 * the project has no public address yet, so it is left out unless the build
 * defines one (-DFC_INFORMATION_URI='"https://..."'). */
#ifdef FC_INFORMATION_URI
#define INFO_URI_MEMBER ", \"informationUri\": \"" FC_INFORMATION_URI "\""
#else
#define INFO_URI_MEMBER ""
#endif

/* A path as a URI reference: relative paths stay relative (code scanning
 * resolves them against the repository root), absolute ones become file://
 * URIs, and every byte outside RFC 3986's unreserved set, sub-delims, '@'
 * and '/' is percent-encoded. ':' is encoded too, since "c:x.flow" would
 * otherwise read as a URI with scheme "c". */
static void uri_str(FILE *out, const char *path)
{
    static const char keep[] = "-._~!$&'()*+,;=@/";
    putc('"', out);
    if (path[0] == '/')
        fputs("file://", out);
    while (path[0] == '.' && path[1] == '/')
        path += 2;
    for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
            strchr(keep, *p))
            putc(*p, out);
        else
            fprintf(out, "%%%02X", *p);
    }
    putc('"', out);
}

static void sarif_location(const fc_diags *d, FILE *out, const site *s)
{
    fputs("\"physicalLocation\": {\"artifactLocation\": {\"uri\": ", out);
    uri_str(out, d->files[s->file].path);
    fprintf(out, "}, \"region\": {\"startLine\": %" PRIu32 ", \"startColumn\": %" PRIu32 "}}", s->line, s->col);
}

/* shortDescription is the rule name in words ("unknown node"). */
static void sarif_rule(FILE *out, fc_code c)
{
    fprintf(out, "{\"id\": \"%s\", \"name\": \"%s\", \"shortDescription\": {\"text\": \"", codes[c].id, codes[c].name);
    for (const char *p = codes[c].name; *p; p++)
        putc(*p == '-' ? ' ' : *p, out);
    fputs("\"}, \"fullDescription\": {\"text\": ", out);
    json_str(out, codes[c].help, true);
    fputs("}, \"help\": {\"text\": ", out);
    json_str(out, codes[c].help, true);
    fprintf(out, "}, \"defaultConfiguration\": {\"level\": \"%s\"}}", sev_name(codes[c].sev));
}

static void sarif_result(const fc_diags *d, FILE *out, const view *v)
{
    fprintf(out, "{\"ruleId\": \"%s\", \"ruleIndex\": %d, \"level\": \"%s\", \"message\": {\"text\": ",
            fc_code_id(v->code), (int)v->code, sev_name(v->sev));
    json_str(out, v->at.msg, true);
    fputs("}, \"locations\": [{", out);
    sarif_location(d, out, &v->at);
    fputs("}]", out);
    if (v->nnotes)
        fputs(", \"relatedLocations\": [", out);
    for (size_t j = 0; j < v->nnotes; j++) {
        fprintf(out, "%s{\"id\": %zu, \"message\": {\"text\": ", j ? ", " : "", j + 1);
        json_str(out, v->notes[j].msg, true);
        fputs("}, ", out);
        sarif_location(d, out, &v->notes[j]);
        putc('}', out);
    }
    fputs(v->nnotes ? "]}" : "}", out);
}

void fc_diags_write_sarif(const fc_diags *d, FILE *out)
{
    fputs("{\n  \"$schema\": \"https://json.schemastore.org/sarif-2.1.0.json\",\n  \"version\": \"2.1.0\",\n"
          "  \"runs\": [{\n    \"tool\": {\"driver\": {\"name\": \"flowc\"" INFO_URI_MEMBER ", \"rules\": [\n",
          out);
    for (int c = 0; c < FC_CODE_COUNT; c++) {
        fputs(c ? ",\n      " : "      ", out);
        sarif_rule(out, (fc_code)c);
    }
    fputs("\n    ]}},\n    \"columnKind\": \"unicodeCodePoints\",\n    \"results\": [", out);
    size_t n = 0;
    entry *es = d ? sorted_entries(d, &n) : NULL;
    for (size_t i = 0; i < n; i++) {
        view v;
        entry_view(d, &es[i], &v);
        fputs(i ? ",\n      " : "\n      ", out);
        sarif_result(d, out, &v);
    }
    fputs(n ? "\n    ]\n  }]\n}\n" : "]\n  }]\n}\n", out);
    free(es);
}

void fc_diags_write(const fc_diags *d, fc_diag_format fmt, FILE *out, bool show_source)
{
    if (fmt == FC_DIAG_JSON)
        fc_diags_write_json(d, out);
    else if (fmt == FC_DIAG_SARIF)
        fc_diags_write_sarif(d, out);
    else
        fc_diags_write_text(d, out, show_source);
}
