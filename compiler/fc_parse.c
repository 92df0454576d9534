/* fc_parse.c - running the scanner and parser over one file, and the tree
 * constructors used by the grammar actions. */
#include "fc_parse.h"

#include <stdlib.h>
#include <string.h>

#include "flow.tab.h"
#include "flow.lex.h"

int fc_lex_raw(YYSTYPE *lval, YYLTYPE *lloc, void *scanner);

/* ---- arena ---------------------------------------------------------------- */

struct fc_arena_chunk {
    fc_arena_chunk *next;
    max_align_t align[];
};

void *fc_arena_alloc(fc_arena *a, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    if ((size_t)(a->end - a->cur) < n) {
        /* Chunks come zeroed from calloc (large ones straight from the
         * kernel), so allocations need no memset of their own. */
        size_t size = n > (1u << 20) ? n : (1u << 20);
        fc_arena_chunk *c = calloc(1, sizeof *c + size);
        if (!c) {
            fputs("flowc: out of memory\n", stderr);
            abort();
        }
        c->next = a->head;
        a->head = c;
        a->cur = (char *)c->align;
        a->end = a->cur + size;
    }
    void *p = a->cur;
    a->cur += n;
    a->total += n;
    return p;
}

char *fc_arena_strndup(fc_arena *a, const char *s, size_t n)
{
    char *p = fc_arena_alloc(a, n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

void fc_arena_free(fc_arena *a)
{
    fc_arena_chunk *c = a->head;
    while (c) {
        fc_arena_chunk *next = c->next;
        free(c);
        c = next;
    }
    memset(a, 0, sizeof *a);
}

/* ---- positions ----------------------------------------------------------- */

fc_loc fc_parser_loc(const fc_parser *p, uint32_t at)
{
    fc_loc l = {p->line, at - p->line_start + 1, at};
    return l;
}

/* ---- constructors ---------------------------------------------------------- */

void *fc_mk(fc_parser *p, size_t size) { return fc_arena_alloc(p->arena, size); }

static fc_expr *mk_expr(fc_parser *p, fc_expr_kind kind, fc_loc loc)
{
    fc_expr *e = fc_mk(p, sizeof *e);
    e->kind = kind;
    e->loc = loc;
    e->depth = 1;
    return e;
}

fc_expr *fc_mk_number(fc_parser *p, fc_loc loc, double v)
{
    fc_expr *e = mk_expr(p, FC_EX_NUMBER, loc);
    e->u.number = v;
    return e;
}

fc_expr *fc_mk_string(fc_parser *p, fc_str s)
{
    fc_expr *e = mk_expr(p, FC_EX_STRING, s.loc);
    e->u.string = s;
    return e;
}

fc_expr *fc_mk_bool(fc_parser *p, fc_loc loc, bool v)
{
    fc_expr *e = mk_expr(p, FC_EX_BOOL, loc);
    e->u.boolean = v;
    return e;
}

fc_expr *fc_mk_var(fc_parser *p, fc_str name)
{
    fc_expr *e = mk_expr(p, FC_EX_VAR, name.loc);
    e->u.var = fc_mk_name(name, false);
    return e;
}

fc_expr *fc_mk_fact(fc_parser *p, fc_loc loc, fc_str scope, fc_str field)
{
    fc_expr *e = mk_expr(p, FC_EX_FACT, loc);
    e->u.fact.scope = scope;
    e->u.fact.field = field;
    e->u.fact.fact = -1;
    return e;
}

/* Keeps every expression tree at most FC_MAX_EXPR_DEPTH deep, so that the
 * recursive passes after the parser are bounded: past the limit the operator
 * is dropped after one error. */
static bool too_deep(fc_parser *p, fc_loc loc, uint32_t child_depth)
{
    if (child_depth < FC_MAX_EXPR_DEPTH)
        return false;
    if (child_depth == FC_MAX_EXPR_DEPTH)
        fc_diag(p->diags, p->src, FC_E_LIMIT, loc, "expression nested deeper than %d levels", FC_MAX_EXPR_DEPTH);
    return true;
}

fc_expr *fc_mk_binary(fc_parser *p, fc_loc loc, fc_binop op, fc_expr *l, fc_expr *r)
{
    uint32_t d = l->depth > r->depth ? l->depth : r->depth;
    if (too_deep(p, loc, d)) {
        fc_expr *keep = l->depth >= r->depth ? l : r;
        keep->depth = FC_MAX_EXPR_DEPTH + 1;
        return keep;
    }
    fc_expr *e = mk_expr(p, FC_EX_BINARY, loc);
    e->u.bin.op = op;
    e->u.bin.left = l;
    e->u.bin.right = r;
    e->depth = d + 1;
    return e;
}

fc_expr *fc_mk_unary(fc_parser *p, fc_loc loc, fc_expr_kind kind, fc_expr *operand)
{
    if (too_deep(p, loc, operand->depth)) {
        operand->depth = FC_MAX_EXPR_DEPTH + 1;
        return operand;
    }
    fc_expr *e = mk_expr(p, kind, loc);
    e->u.operand = operand;
    e->depth = operand->depth + 1;
    return e;
}

fc_stmt *fc_mk_stmt(fc_parser *p, fc_stmt_kind kind, fc_loc loc)
{
    fc_stmt *s = fc_mk(p, sizeof *s);
    s->kind = kind;
    s->loc = loc;
    return s;
}

fc_decl *fc_mk_decl(fc_parser *p, fc_decl_kind kind, fc_loc loc)
{
    fc_decl *d = fc_mk(p, sizeof *d);
    d->kind = kind;
    d->loc = loc;
    return d;
}

fc_text fc_mk_text(fc_str raw)
{
    fc_text t;
    memset(&t, 0, sizeof t);
    t.raw = raw;
    return t;
}

fc_name fc_mk_name(fc_str id, bool reserved)
{
    fc_name n = {id, reserved, -1};
    return n;
}

fc_str fc_mk_str(const char *s, fc_loc loc)
{
    fc_str r = {s, s ? (uint32_t)strlen(s) : 0, loc};
    return r;
}

fc_str fc_token_text(fc_parser *p, fc_loc loc)
{
    const char *s = p->src->text + loc.off;
    uint32_t n = 0;
    while (loc.off + n < p->src->len) {
        char c = s[n];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'))
            break;
        n++;
    }
    fc_str r = {s, n, loc};
    return r;
}

fc_setting *fc_mk_setting(fc_parser *p, fc_str key)
{
    fc_setting *s = fc_mk(p, sizeof *s);
    s->key = key;
    s->node.ref = -1;
    if (key.len == 6 && memcmp(key.s, "online", 6) == 0)
        s->kind = FC_SET_ONLINE;
    else if (key.len == 4 && memcmp(key.s, "wait", 4) == 0)
        s->kind = FC_SET_WAIT;
    else if (key.len == 7 && memcmp(key.s, "offline", 7) == 0)
        s->kind = FC_SET_OFFLINE;
    else
        s->kind = FC_SET_UNKNOWN;
    return s;
}

fc_htok *fc_mk_htok(fc_parser *p, fc_htok_kind kind, fc_str text)
{
    fc_htok *t = fc_mk(p, sizeof *t);
    t->kind = kind;
    t->text = text;
    return t;
}

void fc_add_decl(fc_parser *p, fc_decl *d)
{
    if (p->decl_tail)
        p->decl_tail->next = d;
    else
        p->file->decls = d;
    p->decl_tail = d;
}

/* ---- driver -------------------------------------------------------------- */

/* NUL bytes are reported here (once per line) and blanked in the scanner's
 * copy: inside a token flex treats every NUL as a possible end of buffer
 * and rescans the token from its start, which makes a long line full of
 * NULs quadratic. */
static void blank_nul_bytes(char *buf, size_t len, const fc_source *src, fc_diags *diags)
{
    uint32_t line = 1, line_start = 0, reported_line = 0;
    for (size_t i = 0; i < len; i++) {
        char *nul = memchr(buf + i, '\0', len - i);
        if (!nul)
            break;
        size_t at = (size_t)(nul - buf);
        for (size_t k = i; k < at; k++)
            if (buf[k] == '\n') {
                line++;
                line_start = (uint32_t)k + 1;
            }
        if (reported_line != line) {
            fc_loc loc = {line, (uint32_t)at - line_start + 1, (uint32_t)at};
            fc_diag(diags, src, FC_E_UTF8, loc, "NUL byte in the source");
            reported_line = line;
        }
        *nul = ' ';
        i = at;
    }
}

void fc_parse_file(const fc_source *src, fc_arena *arena, fc_diags *diags, fc_file *out)
{
    memset(out, 0, sizeof *out);
    out->src = *src;

    /* flex scans in place over a buffer ending in two NULs; the copy lives in
     * the arena, so token slices stay valid as long as the tree. */
    char *buf = fc_arena_alloc(arena, src->len + 2);
    memcpy(buf, src->text, src->len);
    fc_source scanned = {src->path, buf, src->len};
    out->src = scanned;
    blank_nul_bytes(buf, src->len, &out->src, diags);

    fc_parser p;
    memset(&p, 0, sizeof p);
    p.src = &out->src;
    p.arena = arena;
    p.diags = diags;
    p.file = out;
    p.line = 1;

    yyscan_t scanner;
    if (fc_yylex_init_extra(&p, &scanner) != 0) {
        fputs("flowc: out of memory\n", stderr);
        abort();
    }
    p.scanner = scanner;
    fc_yy_scan_buffer(buf, src->len + 2, scanner);
    fc_yyparse_file(&p);
    fc_yylex_destroy(scanner);
}

const char *fc_decode_string(fc_arena *a, const fc_str *raw, uint32_t *len)
{
    char *out = fc_arena_alloc(a, raw->len + 1);
    uint32_t n = 0;
    for (uint32_t i = 0; i < raw->len; i++) {
        char c = raw->s[i];
        if (c == '\\' && i + 1 < raw->len) {
            char e = raw->s[++i];
            c = e == 'n' ? '\n' : e; /* \" \\ \{ \} stand for themselves; bad ones were reported */
        }
        out[n++] = c;
    }
    out[n] = '\0';
    *len = n;
    return out;
}

size_t fc_lex_only(const fc_source *src, fc_diags *diags)
{
    fc_arena arena = {0};
    char *buf = fc_arena_alloc(&arena, src->len + 2);
    memcpy(buf, src->text, src->len);
    fc_source scanned = {src->path, buf, src->len};
    blank_nul_bytes(buf, src->len, &scanned, diags);
    fc_file file;
    memset(&file, 0, sizeof file);
    fc_parser p;
    memset(&p, 0, sizeof p);
    p.src = &scanned;
    p.arena = &arena;
    p.diags = diags;
    p.file = &file;
    p.line = 1;
    yyscan_t scanner;
    if (fc_yylex_init_extra(&p, &scanner) != 0)
        abort();
    fc_yy_scan_buffer(buf, src->len + 2, scanner);
    YYSTYPE val;
    YYLTYPE loc;
    size_t tokens = 0;
    while (fc_lex_raw(&val, &loc, scanner) != 0)
        tokens++;
    fc_yylex_destroy(scanner);
    fc_arena_free(&arena);
    return tokens;
}
