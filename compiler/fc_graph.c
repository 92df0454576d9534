/* fc_graph.c - `flowc graph FLOW`: the node graph as Graphviz DOT.
 *
 * Drawn from the checked tree rather than the bytecode, so that edges keep
 * what the author wrote: option labels and guards, the conditions of the
 * if/elif/else a goto sits in, and which keywords trigger which node.
 *
 *   box             a node (start: bold and filled; "handoff: TEAM" as a
 *                   second line, rounded, when the node hands off)
 *   solid edge      goto or an option, labelled with the option's label
 *                   and guard and the conditions on the way
 *   dotted edge     a handoff's offline path
 *   dashed ellipse  an `on` declaration, with dashed edges to its node
 *
 * Output depends only on the source: nodes in declaration order, then
 * triggers, then edges in the order the statements are written.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fc_cli.h"
#include "fc_unit.h"

typedef struct graph {
    const fc_unit *u;
    fc_arena arena; /* decoded strings */
    FILE *edges;    /* edges are collected here and written after all nodes */
    char *edges_text;
    size_t edges_len;
    uint32_t node;  /* the node being walked */
    FILE *label;    /* its label: the name, then a line per handoff */
    bool handoff;   /* it has a handoff */
} graph;

/* ---- text ------------------------------------------------------------------------ */

/* A DOT quoted string. Backslashes are doubled because DOT reads \n, \l,
 * \N... in labels as escapes; other control bytes become spaces; UTF-8
 * passes through (DOT's default charset). */
static void put_dot(FILE *f, const char *s, size_t n)
{
    fputc('"', f);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c == '\n')
            fputs("\\n", f);
        else
            fputc(c < 0x20 || c == 0x7f ? ' ' : c, f);
    }
    fputc('"', f);
}

static void put_dot_str(FILE *f, const char *s) { put_dot(f, s, strlen(s)); }

static void put_node_id(FILE *f, const fc_unit *u, int32_t node)
{
    put_dot(f, u->nodes[node].name.s, u->nodes[node].name.len);
}

static const char *decode(graph *g, const fc_str *raw, uint32_t *len) { return fc_decode_string(&g->arena, raw, len); }

/* A growable string written through stdio. */
typedef struct mem {
    FILE *f;
    char *s;
    size_t len;
} mem;

static FILE *mem_open(mem *m)
{
    memset(m, 0, sizeof *m);
    m->f = open_memstream(&m->s, &m->len);
    if (!m->f) {
        fputs("flowc: out of memory\n", stderr);
        abort();
    }
    return m->f;
}

/* Closes the stream; the caller frees the text. */
static char *mem_close(mem *m)
{
    fclose(m->f);
    return m->s;
}

/* ---- expressions, as the author would write them ------------------------------------ */

enum { P_OR = 1, P_AND, P_NOT, P_CMP, P_CONTAINS, P_ADD, P_MUL, P_NEG, P_ATOM };

static int binop_prec(fc_binop op)
{
    switch (op) {
    case FC_OP_OR: return P_OR;
    case FC_OP_AND: return P_AND;
    case FC_OP_CONTAINS: return P_CONTAINS;
    case FC_OP_ADD:
    case FC_OP_SUB: return P_ADD;
    case FC_OP_MUL:
    case FC_OP_DIV: return P_MUL;
    default: return P_CMP;
    }
}

static int expr_prec(const fc_expr *e)
{
    switch (e->kind) {
    case FC_EX_BINARY: return binop_prec(e->u.bin.op);
    case FC_EX_NOT: return P_NOT;
    case FC_EX_NEG: return P_NEG;
    default: return P_ATOM;
    }
}

/* Prints e, in parentheses when it binds looser than its place needs. */
static void put_expr(FILE *f, const fc_expr *e, int need)
{
    static const char *const ops[] = {"or", "and", "==", "!=", "<", "<=", ">", ">=", "contains", "+", "-", "*", "/"};
    int prec = expr_prec(e);
    if (prec < need)
        fputc('(', f);
    switch (e->kind) {
    case FC_EX_NUMBER: fprintf(f, "%.15g", e->u.number); break;
    case FC_EX_STRING: fprintf(f, "\"%.*s\"", (int)e->u.string.len, e->u.string.s); break; /* escapes as written */
    case FC_EX_BOOL: fputs(e->u.boolean ? "true" : "false", f); break;
    case FC_EX_VAR: fprintf(f, "%.*s", (int)e->u.var.id.len, e->u.var.id.s); break;
    case FC_EX_FACT:
        if (e->u.fact.scope.len)
            fprintf(f, "%.*s.", (int)e->u.fact.scope.len, e->u.fact.scope.s);
        fprintf(f, "%.*s", (int)e->u.fact.field.len, e->u.fact.field.s);
        break;
    case FC_EX_NOT: fputs("not ", f); put_expr(f, e->u.operand, P_NOT); break;
    case FC_EX_NEG: fputc('-', f); put_expr(f, e->u.operand, P_NEG); break;
    case FC_EX_BINARY:
        /* comparisons do not chain: both sides of one need parentheses */
        put_expr(f, e->u.bin.left, prec == P_CMP ? prec + 1 : prec);
        fprintf(f, " %s ", ops[e->u.bin.op]);
        put_expr(f, e->u.bin.right, prec + 1);
        break;
    }
    if (prec < need)
        fputc(')', f);
}

/* ---- edges ----------------------------------------------------------------------------- */

/* "CONTEXT / TEXT": where an edge starts inside the node (options and
 * conditions on the way), then what the edge itself is. Either may be NULL. */
static char *join(const char *ctx, const char *text)
{
    if (!ctx && !text)
        return NULL;
    mem m;
    fprintf(mem_open(&m), "%s%s%s", ctx ? ctx : "", ctx && text ? " / " : "", text ? text : "");
    return mem_close(&m);
}

static void edge(graph *g, int32_t to, const char *ctx, const char *text, const char *attrs)
{
    if (to < 0)
        return; /* an unknown node was reported by the checker */
    char *label = join(ctx, text);
    fputs("  ", g->edges);
    put_node_id(g->edges, g->u, (int32_t)g->node);
    fputs(" -> ", g->edges);
    put_node_id(g->edges, g->u, to);
    if (label || attrs) {
        fputs(" [", g->edges);
        if (label) {
            fputs("label=", g->edges);
            put_dot_str(g->edges, label);
        }
        fprintf(g->edges, "%s%s]", label && attrs ? ", " : "", attrs ? attrs : "");
    }
    fputs(";\n", g->edges);
    free(label);
}

static void walk(graph *g, const fc_stmt *s, const char *ctx);

/* An option's edge label: its label text and, if any, its guard. */
static char *option_text(graph *g, const fc_option *o)
{
    uint32_t len;
    const char *label = decode(g, &o->label.raw, &len);
    mem m;
    FILE *f = mem_open(&m);
    fwrite(label, 1, len, f);
    if (o->guard) {
        fputs(" [if ", f);
        put_expr(f, o->guard, 0);
        fputc(']', f);
    }
    return mem_close(&m);
}

static void walk_choice(graph *g, const fc_stmt *s, const char *ctx)
{
    for (const fc_option *o = s->u.choice.options; o; o = o->next) {
        char *text = option_text(g, o);
        if (o->has_target) {
            edge(g, o->target.ref, ctx, text, NULL);
        } else {
            char *inner = join(ctx, text);
            walk(g, o->body, inner);
            free(inner);
        }
        free(text);
    }
}

static void walk_if(graph *g, const fc_stmt *s, const char *ctx)
{
    for (const fc_branch *b = s->u.branches; b; b = b->next) {
        mem m;
        FILE *f = mem_open(&m);
        if (b->cond) {
            fputs(b == s->u.branches ? "if " : "elif ", f);
            put_expr(f, b->cond, 0);
        } else {
            fputs("else", f);
        }
        char *cond = mem_close(&m), *inner = join(ctx, cond);
        walk(g, b->body, inner);
        free(inner);
        free(cond);
    }
}

/* Marks the node (a label line) and draws the offline path. */
static void walk_handoff(graph *g, const fc_stmt *s, const char *ctx)
{
    g->handoff = true;
    fputs("\nhandoff", g->label);
    if (s->u.handoff.has_team) {
        uint32_t len;
        const char *team = decode(g, &s->u.handoff.team, &len);
        fputs(": ", g->label);
        fwrite(team, 1, len, g->label);
    }
    for (const fc_setting *set = s->u.handoff.settings; set; set = set->next)
        if (set->kind == FC_SET_OFFLINE)
            edge(g, set->node.ref, ctx, "offline", "style=dotted, color=\"orangered\", fontcolor=\"orangered\"");
}

static void walk(graph *g, const fc_stmt *s, const char *ctx)
{
    for (; s; s = s->next) {
        switch (s->kind) {
        case FC_ST_GOTO: edge(g, s->u.go.ref, ctx, NULL, NULL); break;
        case FC_ST_CHOICE: walk_choice(g, s, ctx); break;
        case FC_ST_IF: walk_if(g, s, ctx); break;
        case FC_ST_HANDOFF: walk_handoff(g, s, ctx); break;
        default: break;
        }
    }
}

/* ---- nodes and triggers ------------------------------------------------------------------ */

static void put_node(graph *g, FILE *out, uint32_t i)
{
    const fc_node *n = &g->u->nodes[i];
    mem m;
    g->label = mem_open(&m);
    fwrite(n->name.s, 1, n->name.len, g->label);
    g->node = i;
    g->handoff = false;
    walk(g, n->decl->u.node.body, NULL);
    bool handoff = g->handoff;
    char *label = mem_close(&m);
    bool start = (int32_t)i == g->u->start;
    fputs("  ", out);
    put_node_id(out, g->u, (int32_t)i);
    fputs(" [label=", out);
    put_dot(out, label, m.len);
    if (start || handoff)
        fprintf(out, ", style=\"%s%s%s\"", start ? "filled,bold" : "", start && handoff ? "," : "",
                handoff ? "rounded" : "");
    if (start)
        fputs(", fillcolor=\"palegreen\"", out);
    if (handoff)
        fputs(", color=\"steelblue\"", out);
    fputs("];\n", out);
    free(label);
}

/* One dashed ellipse per `on` declaration: "on: human, agent". */
static void put_trigger(graph *g, FILE *out, const fc_decl *d, uint32_t number)
{
    mem m;
    FILE *f = mem_open(&m);
    fputs("on: ", f);
    for (const fc_keyword *k = d->u.on.keywords; k; k = k->next) {
        uint32_t len;
        const char *kw = decode(g, &k->text, &len);
        fwrite(kw, 1, len, f);
        if (k->next)
            fputs(", ", f);
    }
    char *label = mem_close(&m);
    /* node names are identifiers, so an id with a space cannot clash */
    fprintf(out, "  \"on %u\" [label=", number);
    put_dot(out, label, m.len);
    fputs(", shape=ellipse, style=dashed];\n", out);
    if (d->u.on.target.ref >= 0) {
        fprintf(g->edges, "  \"on %u\" -> ", number);
        put_node_id(g->edges, g->u, d->u.on.target.ref);
        fputs(" [style=dashed];\n", g->edges);
    }
    free(label);
}

void fc_graph(const fc_unit *u, FILE *out)
{
    graph g = {.u = u};
    g.edges = open_memstream(&g.edges_text, &g.edges_len);
    if (!g.edges) {
        fputs("flowc: out of memory\n", stderr);
        return;
    }
    uint32_t len = 0;
    const char *name = u->flow_decl ? decode(&g, &u->flow_decl->u.flow_name, &len) : "";
    fputs("digraph ", out);
    put_dot(out, name, len);
    fputs(" {\n  node [shape=box];\n  edge [fontsize=10];\n", out);
    for (uint32_t i = 0; i < u->nnodes; i++)
        put_node(&g, out, i);
    uint32_t ntriggers = 0;
    for (const fc_decl *d = u->file.decls; d; d = d->next)
        if (d->kind == FC_D_ON)
            put_trigger(&g, out, d, ++ntriggers);
    fclose(g.edges);
    fwrite(g.edges_text, 1, g.edges_len, out);
    fputs("}\n", out);
    free(g.edges_text);
    fc_arena_free(&g.arena);
}

/* ---- the command --------------------------------------------------------------------------- */

int fc_cmd_graph(int argc, char **argv)
{
    if (argc != 1 || (argv[0][0] == '-' && argv[0][1] != '\0')) {
        fputs("flowc: usage: flowc graph FLOW > FLOW.dot\n", stderr);
        return 2;
    }
    char *text;
    size_t len;
    if (!fc_read_file(argv[0], &text, &len))
        return 2;
    fc_source src = {argv[0], text, len};
    fc_diags *d = fc_diags_new();
    fc_unit u;
    /* names and types are enough to draw; the flow checks need codegen */
    bool ok = fc_check_unit(&u, &src, d);
    fc_diags_write(d, FC_DIAG_TEXT, stderr, isatty(2));
    if (ok)
        fc_graph(&u, stdout);
    fc_unit_free(&u);
    fc_diags_free(d);
    free(text);
    return ok ? 0 : 1;
}
