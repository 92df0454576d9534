/* fc_flow.c - the flow checks of spec section 10, run over the generated
 * instructions rather than the tree: the code already has every path the
 * VM can take (options, fallbacks, retries, triggers from each wait, the
 * offline path), so the analyses see exactly what will run.
 *
 *   cycle-without-wait  a loop in the graph of edges that do not wait for
 *                       the visitor (error)
 *   unreachable-node    a node entry no path from start or a trigger reaches
 *   read-before-assignment
 *                       a forward "definitely assigned" data-flow analysis
 *                       over basic blocks: a read of a variable without an
 *                       initial value is reported when some path from
 *                       start reaches it with no assignment first
 *   unused-variable     a variable no expression or interpolation reads
 */
#include <stdlib.h>
#include <string.h>

#include "fc_unit.h"

typedef struct edge {
    uint32_t to;    /* instruction index */
    bool waits;     /* taking it waits for the visitor */
    int32_t gen;    /* variable assigned on this edge (ASK's valid answer), or -1 */
} edge;

typedef struct graph {
    const fc_unit *u;
    const fc_program *p;
    uint32_t n;         /* instructions */
    uint32_t *pc;       /* instruction index -> code offset */
    int32_t *index_of;  /* code offset -> instruction index, -1 inside an instruction */
    uint32_t *first;    /* edges of instruction i: edges[first[i] .. first[i+1]) */
    edge *edges;
    uint32_t nedges, edges_cap;
    uint32_t *roots;    /* start and trigger targets */
    uint32_t nroots;
    uint32_t *trigger_pcs; /* entries of the nodes triggers jump to, each once */
    uint32_t ntrigger_pcs;
} graph;

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (!p) {
        fputs("flowc: out of memory\n", stderr);
        abort();
    }
    return p;
}

static uint32_t operand_at(const fc_program *p, uint32_t pc, int i)
{
    const uint8_t *b = p->code.data + pc + 1 + 4 * i;
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static void add_edge(graph *g, uint32_t to_pc, bool waits, int32_t gen)
{
    if (to_pc >= g->p->code.len || g->index_of[to_pc] < 0)
        return;
    if (g->nedges == g->edges_cap) {
        g->edges_cap = g->edges_cap ? g->edges_cap * 2 : 1024;
        g->edges = realloc(g->edges, g->edges_cap * sizeof *g->edges);
        if (!g->edges)
            abort();
    }
    g->edges[g->nedges].to = (uint32_t)g->index_of[to_pc];
    g->edges[g->nedges].waits = waits;
    g->edges[g->nedges].gen = gen;
    g->nedges++;
}

static bool skippable(const fc_program *p, uint32_t pc)
{
    size_t lo = 0, hi = p->nskippable;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (p->skippable[mid] < pc)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < p->nskippable && p->skippable[lo] == pc;
}

/* Visitor text at a wait may match a keyword trigger and jump to its node. */
static void add_trigger_edges(graph *g)
{
    for (uint32_t t = 0; t < g->ntrigger_pcs; t++)
        add_edge(g, g->trigger_pcs[t], true, -1);
}

/* Several keywords (and `on` lines) often name one node: every wait gets one
 * edge per distinct node, in first-seen order, instead of one per keyword.
 * Duplicate edges would change no analysis, only cost time and memory. */
static void collect_trigger_targets(graph *g)
{
    const fc_program *p = g->p;
    uint8_t *seen = xcalloc(g->u->nnodes + 1, 1);
    g->trigger_pcs = xcalloc(p->ntriggers + 1, sizeof *g->trigger_pcs);
    for (uint32_t t = 0; t < p->ntriggers; t++) {
        uint32_t node = p->trigger_node[t];
        if (!seen[node]) {
            seen[node] = 1;
            g->trigger_pcs[g->ntrigger_pcs++] = g->u->nodes[node].entry;
        }
    }
    free(seen);
}

static void add_edges_of(graph *g, uint32_t i)
{
    uint32_t pc = g->pc[i];
    vm_opcode op = g->p->code.data[pc];
    uint32_t next = pc + vm_op_size(op);
    switch (op) {
    case VM_OP_JUMP: add_edge(g, operand_at(g->p, pc, 0), false, -1); break;
    case VM_OP_JUMP_FALSE:
        add_edge(g, operand_at(g->p, pc, 0), false, -1);
        add_edge(g, next, false, -1);
        break;
    case VM_OP_OPTION: /* the option runs after the CHOICE waits */
        add_edge(g, next, false, -1);
        add_edge(g, operand_at(g->p, pc, 0), true, -1);
        break;
    case VM_OP_CHOICE:
    case VM_OP_CHOICE_PROMPT:
        if (skippable(g->p, pc))
            add_edge(g, next, false, -1);
        add_edge(g, g->p->fallback_pc, true, -1);
        add_trigger_edges(g);
        break;
    case VM_OP_ASK:
        add_edge(g, operand_at(g->p, pc, 1), true, (int32_t)operand_at(g->p, pc, 0));
        add_edge(g, next, true, -1);
        add_trigger_edges(g);
        break;
    case VM_OP_HANDOFF: /* nobody available: the offline node at once */
        if (operand_at(g->p, pc, 2) != VM_NONE)
            add_edge(g, operand_at(g->p, pc, 2), false, -1);
        break;
    case VM_OP_REOFFER:
    case VM_OP_END: break;
    default: add_edge(g, next, false, -1); break;
    }
}

static void build_graph(graph *g, const fc_unit *u, const fc_program *p)
{
    memset(g, 0, sizeof *g);
    g->u = u;
    g->p = p;
    size_t len = p->code.len;
    g->index_of = xcalloc(len + 1, sizeof *g->index_of);
    for (size_t i = 0; i <= len; i++)
        g->index_of[i] = -1;
    uint32_t n = 0;
    for (size_t pc = 0; pc < len; pc += vm_op_size(p->code.data[pc]))
        n++;
    g->pc = xcalloc(n, sizeof *g->pc);
    n = 0;
    for (size_t pc = 0; pc < len; pc += vm_op_size(p->code.data[pc])) {
        g->index_of[pc] = (int32_t)n;
        g->pc[n++] = (uint32_t)pc;
    }
    g->n = n;
    collect_trigger_targets(g);
    g->first = xcalloc(n + 1, sizeof *g->first);
    for (uint32_t i = 0; i < n; i++) {
        g->first[i] = g->nedges;
        add_edges_of(g, i);
    }
    g->first[n] = g->nedges;
    g->roots = xcalloc(p->ntriggers + 1, sizeof *g->roots);
    if (n && p->entry_pc < len && g->index_of[p->entry_pc] >= 0)
        g->roots[g->nroots++] = (uint32_t)g->index_of[p->entry_pc];
    for (uint32_t t = 0; t < p->ntriggers; t++) {
        int32_t to = g->index_of[u->nodes[p->trigger_node[t]].entry];
        if (to >= 0)
            g->roots[g->nroots++] = (uint32_t)to;
    }
}

static void free_graph(graph *g)
{
    free(g->pc);
    free(g->index_of);
    free(g->first);
    free(g->edges);
    free(g->roots);
    free(g->trigger_pcs);
}

static fc_loc loc_of(const graph *g, uint32_t i)
{
    const fc_program *p = g->p;
    uint32_t pc = g->pc[i];
    size_t lo = 0, hi = p->nlines;
    while (lo < hi) { /* last line entry at or before pc */
        size_t mid = (lo + hi) / 2;
        if (p->lines[mid].pc <= pc)
            lo = mid + 1;
        else
            hi = mid;
    }
    fc_loc none = {1, 1, 0};
    return lo ? p->lines[lo - 1].loc : none;
}

/* The node whose code holds instruction i (nodes are laid out in order). */
static const fc_node *node_of(const graph *g, uint32_t i)
{
    const fc_node *found = NULL;
    size_t lo = 0, hi = g->u->nnodes;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (g->u->nodes[mid].entry <= g->pc[i]) {
            found = &g->u->nodes[mid];
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return found;
}

/* ---- cycles that never wait ------------------------------------------------- */

/* Iterative depth-first search over the edges that do not wait; an edge
 * back to an instruction still on the search path closes such a cycle. */
static void check_cycles(graph *g)
{
    enum { WHITE, GRAY, BLACK };
    uint8_t *color = xcalloc(g->n, 1);
    uint32_t *stack = xcalloc(g->n, sizeof *stack);
    uint32_t *next_edge = xcalloc(g->n, sizeof *next_edge);
    for (uint32_t root = 0; root < g->n; root++) {
        if (color[root] != WHITE)
            continue;
        uint32_t sp = 0;
        stack[sp++] = root;
        color[root] = GRAY;
        next_edge[root] = g->first[root];
        while (sp) {
            uint32_t i = stack[sp - 1];
            if (next_edge[i] == g->first[i + 1]) {
                color[i] = BLACK;
                sp--;
                continue;
            }
            const edge *e = &g->edges[next_edge[i]++];
            if (e->waits)
                continue;
            if (color[e->to] == GRAY) {
                const fc_node *n = node_of(g, e->to);
                fc_diag(g->u->diags, &g->u->file.src, FC_E_CYCLE, loc_of(g, i),
                        "endless loop: this goes back to node '%.*s' without waiting for the visitor",
                        n ? (int)n->name.len : 0, n ? n->name.s : "");
                if (n)
                    fc_diag_note(g->u->diags, &g->u->file.src, n->name.loc,
                                 "add a choice or an ask to the loop through '%.*s'", (int)n->name.len, n->name.s);
            } else if (color[e->to] == WHITE) {
                color[e->to] = GRAY;
                next_edge[e->to] = g->first[e->to];
                stack[sp++] = e->to;
            }
        }
    }
    free(color);
    free(stack);
    free(next_edge);
}

/* ---- reachability ----------------------------------------------------------- */

static uint8_t *reachable(const graph *g)
{
    uint8_t *seen = xcalloc(g->n, 1);
    uint32_t *work = xcalloc(g->n, sizeof *work);
    uint32_t top = 0;
    for (uint32_t r = 0; r < g->nroots; r++)
        if (!seen[g->roots[r]]) {
            seen[g->roots[r]] = 1;
            work[top++] = g->roots[r];
        }
    while (top) {
        uint32_t i = work[--top];
        for (uint32_t k = g->first[i]; k < g->first[i + 1]; k++)
            if (!seen[g->edges[k].to]) {
                seen[g->edges[k].to] = 1;
                work[top++] = g->edges[k].to;
            }
    }
    free(work);
    return seen;
}

static void check_unreachable(graph *g, const uint8_t *seen)
{
    for (uint32_t k = 0; k < g->u->nnodes; k++) {
        const fc_node *n = &g->u->nodes[k];
        int32_t i = g->index_of[n->entry];
        if (i >= 0 && !seen[i] && !n->decl->u.node.name.reserved)
            fc_diag(g->u->diags, &g->u->file.src, FC_W_UNREACHABLE, n->name.loc,
                    "node '%.*s' is never reached from start or a trigger", (int)n->name.len, n->name.s);
    }
}

/* ---- read before assignment ------------------------------------------------- */

typedef struct dataflow {
    graph *g;
    int32_t *bit;      /* variable -> bit, -1 when it has an initial value */
    uint32_t words;    /* 64-bit words per set */
    uint32_t *block_of;/* instruction -> block */
    uint32_t *start;   /* block -> first instruction */
    uint32_t nblocks;
    uint64_t *in;      /* nblocks x words: definitely assigned on entry */
    uint8_t *reached;
} dataflow;

static bool ends_block(vm_opcode op)
{
    switch (op) {
    case VM_OP_JUMP: case VM_OP_JUMP_FALSE: case VM_OP_OPTION: case VM_OP_CHOICE:
    case VM_OP_CHOICE_PROMPT: case VM_OP_REOFFER: case VM_OP_ASK: case VM_OP_HANDOFF: case VM_OP_END:
        return true;
    default:
        return false;
    }
}

static void split_blocks(dataflow *df)
{
    graph *g = df->g;
    uint8_t *leader = xcalloc(g->n + 1, 1);
    if (g->n)
        leader[0] = 1;
    for (uint32_t i = 0; i < g->n; i++) {
        if (ends_block(g->p->code.data[g->pc[i]]))
            leader[i + 1] = 1;
        for (uint32_t k = g->first[i]; k < g->first[i + 1]; k++)
            leader[g->edges[k].to] = 1;
    }
    for (uint32_t r = 0; r < g->nroots; r++)
        leader[g->roots[r]] = 1;
    df->block_of = xcalloc(g->n, sizeof *df->block_of);
    df->start = xcalloc(g->n + 1, sizeof *df->start);
    for (uint32_t i = 0; i < g->n; i++) {
        if (leader[i])
            df->start[df->nblocks++] = i;
        df->block_of[i] = df->nblocks - 1;
    }
    df->start[df->nblocks] = g->n;
    free(leader);
}

/* Applies the assignments of block b to `set` (block's IN), stopping before
 * instruction `stop` (pass the block end for the whole block). */
static void transfer(const dataflow *df, uint32_t b, uint64_t *set, uint32_t stop)
{
    const graph *g = df->g;
    for (uint32_t i = df->start[b]; i < stop; i++) {
        uint32_t pc = g->pc[i];
        if (g->p->code.data[pc] != VM_OP_STORE)
            continue;
        int32_t bit = df->bit[operand_at(g->p, pc, 0)];
        if (bit >= 0)
            set[bit / 64] |= 1ull << (bit % 64);
    }
}

static void solve(dataflow *df)
{
    graph *g = df->g;
    uint32_t W = df->words;
    df->in = xcalloc((size_t)df->nblocks * W, sizeof *df->in);
    memset(df->in, 0xff, (size_t)df->nblocks * W * sizeof *df->in);
    df->reached = xcalloc(df->nblocks, 1);
    uint32_t *work = xcalloc(df->nblocks, sizeof *work);
    uint8_t *queued = xcalloc(df->nblocks, 1);
    uint64_t *out = xcalloc(W, sizeof *out), *edge_out = xcalloc(W, sizeof *edge_out);
    uint32_t top = 0;
    if (g->nroots) {
        uint32_t b = df->block_of[g->roots[0]]; /* start: nothing assigned yet */
        memset(df->in + (size_t)b * W, 0, W * sizeof *df->in);
        df->reached[b] = queued[b] = 1;
        work[top++] = b;
    }
    while (top) {
        uint32_t b = work[--top];
        queued[b] = 0;
        memcpy(out, df->in + (size_t)b * W, W * sizeof *out);
        uint32_t end = df->start[b + 1];
        transfer(df, b, out, end);
        uint32_t last = end - 1;
        for (uint32_t k = g->first[last]; k < g->first[last + 1]; k++) {
            const edge *e = &g->edges[k];
            memcpy(edge_out, out, W * sizeof *out);
            if (e->gen >= 0 && df->bit[e->gen] >= 0)
                edge_out[df->bit[e->gen] / 64] |= 1ull << (df->bit[e->gen] % 64);
            uint32_t s = df->block_of[e->to];
            uint64_t *in = df->in + (size_t)s * W;
            bool changed = !df->reached[s];
            df->reached[s] = 1;
            for (uint32_t w = 0; w < W; w++) {
                uint64_t v = in[w] & edge_out[w];
                changed |= v != in[w];
                in[w] = v;
            }
            if (changed && !queued[s]) {
                queued[s] = 1;
                work[top++] = s;
            }
        }
    }
    free(work);
    free(queued);
    free(out);
    free(edge_out);
}

static void report_reads(dataflow *df)
{
    graph *g = df->g;
    uint64_t *set = xcalloc(df->words, sizeof *set);
    for (uint32_t b = 0; b < df->nblocks; b++) {
        if (!df->reached[b])
            continue;
        memcpy(set, df->in + (size_t)b * df->words, df->words * sizeof *set);
        for (uint32_t i = df->start[b]; i < df->start[b + 1]; i++) {
            uint32_t pc = g->pc[i];
            vm_opcode op = g->p->code.data[pc];
            if (op != VM_OP_LOAD && op != VM_OP_STORE)
                continue;
            uint32_t var = operand_at(g->p, pc, 0);
            int32_t bit = df->bit[var];
            if (bit < 0)
                continue;
            bool assigned = set[bit / 64] >> (bit % 64) & 1;
            if (op == VM_OP_STORE) {
                set[bit / 64] |= 1ull << (bit % 64);
            } else if (!assigned) {
                const fc_var *v = &g->u->vars[var];
                fc_diag(g->u->diags, &g->u->file.src, FC_W_UNASSIGNED, loc_of(g, i),
                        "'%.*s' may be read before it is assigned (it has no initial value)", (int)v->name.id.len,
                        v->name.id.s);
                fc_diag_note(g->u->diags, &g->u->file.src, v->name.id.loc, "'%.*s' is declared here",
                             (int)v->name.id.len, v->name.id.s);
                set[bit / 64] |= 1ull << (bit % 64); /* once per path is enough */
            }
        }
    }
    free(set);
}

static void check_reads(graph *g)
{
    dataflow df = {.g = g};
    df.bit = xcalloc(g->u->nvars, sizeof *df.bit);
    uint32_t nbits = 0;
    for (uint32_t v = 0; v < g->u->nvars; v++)
        df.bit[v] = g->u->vars[v].init || !g->u->vars[v].read || g->u->vars[v].poisoned ? -1 : (int32_t)nbits++;
    if (nbits && g->n) {
        df.words = (nbits + 63) / 64;
        split_blocks(&df);
        solve(&df);
        report_reads(&df);
    }
    free(df.bit);
    free(df.block_of);
    free(df.start);
    free(df.in);
    free(df.reached);
}

static void check_unused(const fc_unit *u)
{
    for (uint32_t v = 0; v < u->nvars; v++)
        if (!u->vars[v].read && !u->vars[v].name.reserved) /* a reserved name had its error */
            fc_diag(u->diags, &u->file.src, FC_W_UNUSED, u->vars[v].name.id.loc, "variable '%.*s' is never read",
                    (int)u->vars[v].name.id.len, u->vars[v].name.id.s);
}

void fc_flow_check(fc_unit *u, const fc_program *p)
{
    graph g;
    build_graph(&g, u, p);
    check_cycles(&g);
    if (u->file.had_syntax_errors) {
        /* statements were dropped: "never read" or "never reached" would
         * only echo the syntax error */
        free_graph(&g);
        return;
    }
    uint8_t *seen = reachable(&g);
    check_unreachable(&g, seen);
    free(seen);
    check_reads(&g);
    check_unused(u);
    free_graph(&g);
}
