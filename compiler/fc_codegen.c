/* fc_codegen.c - from the checked tree to instructions, and the bytecode
 * file writer (layout in vm_bytecode.h).
 *
 * Code generation runs even after errors (so the flow checks can run too);
 * unresolved names simply produce no edge. Output is deterministic: tables
 * are filled in the order the tree is walked, never from a hash order.
 */
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "fc_unit.h"
#include "vm_text.h"

typedef struct fixup {
    uint32_t at;   /* code offset of the operand */
    int32_t node;  /* node index whose entry goes there */
} fixup;

typedef struct gen {
    fc_unit *u;
    fc_program *p;
    fc_loc loc;
    uint32_t depth;
    fixup *fixups;
    uint32_t nfixups, fixups_cap;
} gen;

static void *grow(void *ptr, uint32_t *cap, uint32_t need, size_t elem)
{
    if (need <= *cap)
        return ptr;
    uint32_t c = *cap ? *cap : 16;
    while (c < need)
        c *= 2;
    void *q = realloc(ptr, c * elem);
    if (!q) {
        fputs("flowc: out of memory\n", stderr);
        abort();
    }
    *cap = c;
    return q;
}

/* ---- tables ---------------------------------------------------------------- */

static uint32_t intern_string(gen *g, const char *s, uint32_t len)
{
    fc_program *p = g->p;
    int32_t i = fc_symtab_put(&p->string_index, s, len, (int32_t)p->nstrings); /* one hash for both cases */
    if ((uint32_t)i != p->nstrings)
        return (uint32_t)i;
    p->strings = grow(p->strings, &p->strings_cap, p->nstrings + 1, sizeof *p->strings);
    uint32_t cap = p->strings_cap;
    p->string_lens = realloc(p->string_lens, cap * sizeof *p->string_lens);
    if (!p->string_lens)
        abort();
    p->strings[p->nstrings] = s;
    p->string_lens[p->nstrings] = len;
    return p->nstrings++;
}

static uint32_t intern_number(gen *g, double v)
{
    fc_program *p = g->p;
    if (v == 0)
        v = 0; /* -0 and 0 are one constant */
    char *key = fc_arena_alloc(&g->u->arena, sizeof v);
    memcpy(key, &v, sizeof v);
    int32_t i = fc_symtab_get(&p->number_index, key, sizeof v);
    if (i >= 0)
        return (uint32_t)i;
    p->numbers = grow(p->numbers, &p->numbers_cap, p->nnumbers + 1, sizeof *p->numbers);
    p->numbers[p->nnumbers] = v;
    fc_symtab_put(&p->number_index, key, sizeof v, (int32_t)p->nnumbers);
    return p->nnumbers++;
}

/* ---- emitting --------------------------------------------------------------- */

static uint32_t pc(const gen *g) { return (uint32_t)g->p->code.len; }

static void note_line(gen *g)
{
    fc_program *p = g->p;
    if (p->nlines && p->lines[p->nlines - 1].loc.line == g->loc.line && p->lines[p->nlines - 1].loc.col == g->loc.col)
        return;
    p->lines = grow(p->lines, &p->lines_cap, p->nlines + 1, sizeof *p->lines);
    p->lines[p->nlines].pc = pc(g);
    p->lines[p->nlines].loc = g->loc;
    p->nlines++;
}

static uint32_t emit(gen *g, vm_opcode op, uint32_t a, uint32_t b, uint32_t c)
{
    const vm_opinfo *info = &vm_opinfo_table[op];
    note_line(g);
    uint32_t at = pc(g);
    vm_buf_put_u8(&g->p->code, (uint8_t)op);
    uint32_t operands[3] = {a, b, c};
    for (int i = 0; i < info->noperands; i++)
        vm_buf_put_u32(&g->p->code, operands[i]);
    g->depth = g->depth - info->pops + info->pushes;
    if (g->depth > g->p->max_stack)
        g->p->max_stack = g->depth;
    return at;
}

static void patch(gen *g, uint32_t operand_at, uint32_t value)
{
    uint8_t *b = g->p->code.data + operand_at;
    for (int i = 0; i < 4; i++)
        b[i] = (uint8_t)(value >> (8 * i));
}

/* Offset of operand i of the instruction at `at`. */
static uint32_t operand(uint32_t at, int i) { return at + 1 + 4u * (uint32_t)i; }

static void jump_to_node(gen *g, uint32_t operand_at, int32_t node)
{
    if (node < 0) {
        patch(g, operand_at, VM_NONE);
        return;
    }
    g->fixups = grow(g->fixups, &g->fixups_cap, g->nfixups + 1, sizeof *g->fixups);
    g->fixups[g->nfixups].at = operand_at;
    g->fixups[g->nfixups].node = node;
    g->nfixups++;
}

/* ---- expressions -------------------------------------------------------------- */

static void gen_expr(gen *g, const fc_expr *e);

static void gen_to_text(gen *g, const fc_expr *e)
{
    gen_expr(g, e);
    if (e->type != FC_T_TEXT && e->type != FC_T_EMAIL && e->type != FC_T_PHONE)
        emit(g, VM_OP_TOTEXT, 0, 0, 0);
}

/* and / or with short-circuit: both paths leave exactly one bool. */
static void gen_logic(gen *g, const fc_expr *e)
{
    bool is_and = e->u.bin.op == FC_OP_AND;
    gen_expr(g, e->u.bin.left);
    uint32_t jf = emit(g, VM_OP_JUMP_FALSE, 0, 0, 0);
    if (is_and)
        gen_expr(g, e->u.bin.right);
    else
        emit(g, VM_OP_PUSH_BOOL, 1, 0, 0);
    uint32_t j = emit(g, VM_OP_JUMP, 0, 0, 0);
    g->depth--;
    patch(g, operand(jf, 0), pc(g));
    if (is_and)
        emit(g, VM_OP_PUSH_BOOL, 0, 0, 0);
    else
        gen_expr(g, e->u.bin.right);
    patch(g, operand(j, 0), pc(g));
}

static void gen_binary(gen *g, const fc_expr *e)
{
    static const vm_opcode ops[] = {
        [FC_OP_EQ] = VM_OP_EQ, [FC_OP_NE] = VM_OP_NE, [FC_OP_LT] = VM_OP_LT, [FC_OP_LE] = VM_OP_LE,
        [FC_OP_GT] = VM_OP_GT, [FC_OP_GE] = VM_OP_GE, [FC_OP_CONTAINS] = VM_OP_CONTAINS,
        [FC_OP_ADD] = VM_OP_ADD, [FC_OP_SUB] = VM_OP_SUB, [FC_OP_MUL] = VM_OP_MUL, [FC_OP_DIV] = VM_OP_DIV,
    };
    fc_binop op = e->u.bin.op;
    if (op == FC_OP_AND || op == FC_OP_OR) {
        gen_logic(g, e);
        return;
    }
    if (op == FC_OP_ADD && e->type == FC_T_TEXT) {
        gen_to_text(g, e->u.bin.left);
        gen_to_text(g, e->u.bin.right);
        emit(g, VM_OP_CONCAT, 0, 0, 0);
        return;
    }
    gen_expr(g, e->u.bin.left);
    gen_expr(g, e->u.bin.right);
    emit(g, ops[op], 0, 0, 0);
}

static void gen_expr(gen *g, const fc_expr *e)
{
    fc_loc saved = g->loc;
    g->loc = e->loc;
    switch (e->kind) {
    case FC_EX_NUMBER: emit(g, VM_OP_PUSH_NUM, intern_number(g, e->u.number), 0, 0); break;
    case FC_EX_STRING: emit(g, VM_OP_PUSH_STR, intern_string(g, e->text ? e->text : "", e->text_len), 0, 0); break;
    case FC_EX_BOOL: emit(g, VM_OP_PUSH_BOOL, e->u.boolean, 0, 0); break;
    case FC_EX_VAR:
        if (e->u.var.ref >= 0)
            emit(g, VM_OP_LOAD, (uint32_t)e->u.var.ref, 0, 0);
        else
            emit(g, VM_OP_PUSH_STR, intern_string(g, "", 0), 0, 0);
        break;
    case FC_EX_FACT:
        if (e->u.fact.fact >= 0)
            emit(g, VM_OP_FACT, (uint32_t)e->u.fact.fact, 0, 0);
        else
            emit(g, VM_OP_PUSH_STR, intern_string(g, "", 0), 0, 0);
        break;
    case FC_EX_NOT: gen_expr(g, e->u.operand); emit(g, VM_OP_NOT, 0, 0, 0); break;
    case FC_EX_NEG: gen_expr(g, e->u.operand); emit(g, VM_OP_NEG, 0, 0, 0); break;
    case FC_EX_BINARY: gen_binary(g, e); break;
    }
    g->loc = saved;
}

/* Pushes one text: the parts of an interpolated text joined. */
static void gen_text(gen *g, const fc_text *t, fc_loc loc)
{
    fc_loc saved = g->loc;
    g->loc = loc;
    if (t->nparts == 0)
        emit(g, VM_OP_PUSH_STR, intern_string(g, "", 0), 0, 0);
    for (uint32_t i = 0; i < t->nparts; i++) {
        const fc_text_part *part = &t->parts[i];
        if (!part->is_ref) {
            emit(g, VM_OP_PUSH_STR, intern_string(g, part->lit, part->lit_len), 0, 0);
        } else {
            gen_to_text(g, part->ref);
            if (part->has_default)
                emit(g, VM_OP_DEFAULT, intern_string(g, part->lit, part->lit_len), 0, 0);
        }
        if (i > 0)
            emit(g, VM_OP_CONCAT, 0, 0, 0);
    }
    g->loc = saved;
}

static void gen_literal_text(gen *g, const char *s)
{
    emit(g, VM_OP_PUSH_STR, intern_string(g, s, (uint32_t)strlen(s)), 0, 0);
}

/* ---- statements ---------------------------------------------------------------- */

static void gen_stmts(gen *g, const fc_stmt *s);

static void gen_choice(gen *g, const fc_stmt *s)
{
    uint32_t nopts = 0;
    for (const fc_option *o = s->u.choice.options; o; o = o->next)
        nopts++;
    uint32_t *option_at = calloc(nopts + 1, sizeof *option_at);
    if (!option_at)
        abort();
    bool all_guarded = true;
    uint32_t i = 0;
    for (const fc_option *o = s->u.choice.options; o; o = o->next, i++) {
        g->loc = o->loc;
        uint32_t skip = VM_NONE;
        if (o->guard) {
            gen_expr(g, o->guard);
            skip = emit(g, VM_OP_JUMP_FALSE, 0, 0, 0);
        } else {
            all_guarded = false;
        }
        gen_text(g, &o->label, o->loc);
        option_at[i] = emit(g, VM_OP_OPTION, 0, 0, 0);
        if (skip != VM_NONE)
            patch(g, operand(skip, 0), pc(g));
    }
    g->loc = s->loc;
    uint32_t choice_at;
    if (s->u.choice.has_prompt) {
        gen_text(g, &s->u.choice.prompt, s->u.choice.prompt.raw.loc);
        choice_at = emit(g, VM_OP_CHOICE_PROMPT, 0, 0, 0);
    } else {
        choice_at = emit(g, VM_OP_CHOICE, 0, 0, 0);
    }
    if (all_guarded) {
        fc_program *p = g->p;
        p->skippable = grow(p->skippable, &p->skippable_cap, p->nskippable + 1, sizeof *p->skippable);
        p->skippable[p->nskippable++] = choice_at;
    }
    uint32_t *ends = calloc(nopts + 1, sizeof *ends);
    if (!ends)
        abort();
    ends[0] = emit(g, VM_OP_JUMP, 0, 0, 0);
    i = 0;
    for (const fc_option *o = s->u.choice.options; o; o = o->next, i++) {
        if (o->has_target) {
            jump_to_node(g, operand(option_at[i], 0), o->target.ref);
            continue;
        }
        patch(g, operand(option_at[i], 0), pc(g));
        gen_stmts(g, o->body);
        g->loc = o->loc;
        ends[i + 1] = emit(g, VM_OP_JUMP, 0, 0, 0);
    }
    for (i = 0; i <= nopts; i++)
        if (i == 0 || ends[i])
            patch(g, operand(ends[i], 0), pc(g));
    free(ends);
    free(option_at);
}

static const char *default_retry(vm_type t)
{
    switch (t) {
    case VM_TYPE_EMAIL: return "Please enter a valid email address.";
    case VM_TYPE_PHONE: return "Please enter a valid phone number.";
    case VM_TYPE_NUMBER: return "Please enter a number.";
    default: return "Please type a reply.";
    }
}

static void gen_ask(gen *g, const fc_stmt *s)
{
    const fc_expr *target = s->u.ask.var.target;
    int32_t var = target->kind == FC_EX_VAR ? target->u.var.ref : -1;
    gen_text(g, &s->u.ask.prompt, s->u.ask.prompt.raw.loc);
    emit(g, VM_OP_SAY, 0, 0, 0);
    if (var < 0 || g->u->vars[var].type == VM_TYPE_BOOL)
        return; /* reported by the checker */
    g->loc = s->loc;
    uint32_t ask = emit(g, VM_OP_ASK, (uint32_t)var, 0, 0);
    if (s->u.ask.has_retry)
        gen_text(g, &s->u.ask.retry, s->u.ask.retry.raw.loc);
    else
        gen_literal_text(g, default_retry(g->u->vars[var].type));
    emit(g, VM_OP_SAY, 0, 0, 0);
    emit(g, VM_OP_JUMP, ask, 0, 0);
    patch(g, operand(ask, 1), pc(g));
}

static void gen_if(gen *g, const fc_stmt *s)
{
    uint32_t n = 0;
    for (const fc_branch *b = s->u.branches; b; b = b->next)
        n++;
    uint32_t *ends = calloc(n, sizeof *ends);
    if (!ends)
        abort();
    uint32_t i = 0;
    for (const fc_branch *b = s->u.branches; b; b = b->next, i++) {
        g->loc = b->loc;
        uint32_t skip = VM_NONE;
        if (b->cond) {
            gen_expr(g, b->cond);
            skip = emit(g, VM_OP_JUMP_FALSE, 0, 0, 0);
        }
        gen_stmts(g, b->body);
        g->loc = b->loc;
        ends[i] = b->next ? emit(g, VM_OP_JUMP, 0, 0, 0) : VM_NONE;
        if (skip != VM_NONE)
            patch(g, operand(skip, 0), pc(g));
    }
    for (i = 0; i < n; i++)
        if (ends[i] != VM_NONE)
            patch(g, operand(ends[i], 0), pc(g));
    free(ends);
}

static void gen_handoff(gen *g, const fc_stmt *s)
{
    const fc_setting *online = NULL, *wait = NULL, *offline = NULL;
    for (const fc_setting *set = s->u.handoff.settings; set; set = set->next) {
        const fc_setting **slot = set->kind == FC_SET_ONLINE ? &online : set->kind == FC_SET_WAIT ? &wait
                                : set->kind == FC_SET_OFFLINE ? &offline : NULL;
        if (slot && !*slot)
            *slot = set;
    }
    if (online)
        gen_text(g, &online->text, online->text.raw.loc);
    else
        gen_literal_text(g, "Please wait, an agent will join you shortly.");
    g->loc = s->loc;
    uint32_t team = VM_NONE;
    if (s->u.handoff.has_team) {
        uint32_t len;
        const char *t = fc_decode_string(&g->u->arena, &s->u.handoff.team, &len);
        team = intern_string(g, t, len);
    }
    uint32_t secs = wait && !wait->seconds_bad && wait->seconds >= 1 && wait->seconds <= 86400 ? wait->seconds : 120;
    uint32_t at = emit(g, VM_OP_HANDOFF, team, secs, VM_NONE);
    if (offline)
        jump_to_node(g, operand(at, 2), offline->node.ref);
}

static void gen_record(gen *g, const fc_stmt *s)
{
    emit(g, VM_OP_RECORD, s->kind == FC_ST_DEAL, 0, 0);
    for (const fc_field *f = s->u.fields; f; f = f->next) {
        gen_expr(g, f->value);
        g->loc = f->name.loc;
        emit(g, VM_OP_FIELD, intern_string(g, f->name.s, f->name.len), 0, 0);
    }
    g->loc = s->loc;
    emit(g, VM_OP_COMMIT, 0, 0, 0);
}

static void gen_stmt(gen *g, const fc_stmt *s)
{
    g->loc = s->loc;
    switch (s->kind) {
    case FC_ST_SAY:
        gen_text(g, &s->u.say, s->u.say.raw.loc);
        emit(g, VM_OP_SAY, 0, 0, 0);
        break;
    case FC_ST_CHOICE: gen_choice(g, s); break;
    case FC_ST_ASK: gen_ask(g, s); break;
    case FC_ST_SET: {
        const fc_expr *t = s->u.set.var.target;
        gen_expr(g, s->u.set.value);
        g->loc = s->loc;
        if (t->kind == FC_EX_VAR && t->u.var.ref >= 0)
            emit(g, VM_OP_STORE, (uint32_t)t->u.var.ref, 0, 0);
        else
            g->depth--; /* nothing to store into: reported by the checker */
        break;
    }
    case FC_ST_IF: gen_if(g, s); break;
    case FC_ST_GOTO: {
        if (s->u.go.ref < 0) {
            emit(g, VM_OP_END, 0, 0, 0); /* unknown node: reported by the checker */
            break;
        }
        uint32_t at = emit(g, VM_OP_JUMP, 0, 0, 0);
        jump_to_node(g, operand(at, 0), s->u.go.ref);
        break;
    }
    case FC_ST_HANDOFF: gen_handoff(g, s); break;
    case FC_ST_LEAD:
    case FC_ST_DEAL: gen_record(g, s); break;
    case FC_ST_TAG: {
        uint32_t len;
        const char *t = fc_decode_string(&g->u->arena, &s->u.tag, &len);
        emit(g, VM_OP_TAG, intern_string(g, t, len), 0, 0);
        break;
    }
    case FC_ST_PAUSE:
        emit(g, VM_OP_PAUSE, s->u.pause.seconds, intern_string(g, s->u.pause.written.s, s->u.pause.written.len), 0);
        break;
    case FC_ST_END: emit(g, VM_OP_END, 0, 0, 0); break;
    }
}

static void gen_stmts(gen *g, const fc_stmt *s)
{
    for (; s; s = s->next)
        gen_stmt(g, s);
}

static void gen_triggers(gen *g)
{
    fc_program *p = g->p;
    for (fc_decl *d = g->u->file.decls; d; d = d->next) {
        if (d->kind != FC_D_ON || d->u.on.target.ref < 0)
            continue;
        for (fc_keyword *k = d->u.on.keywords; k; k = k->next) {
            uint32_t len;
            const char *kw = fc_decode_string(&g->u->arena, &k->text, &len);
            p->trigger_str = grow(p->trigger_str, &p->triggers_cap, p->ntriggers + 1, sizeof *p->trigger_str);
            p->trigger_node = realloc(p->trigger_node, p->triggers_cap * sizeof *p->trigger_node);
            if (!p->trigger_node)
                abort();
            p->trigger_str[p->ntriggers] = intern_string(g, kw, len);
            p->trigger_node[p->ntriggers] = (uint32_t)d->u.on.target.ref;
            p->ntriggers++;
        }
    }
}

void fc_codegen(fc_unit *u, fc_program *p)
{
    memset(p, 0, sizeof *p);
    gen g = {.u = u, .p = p};
    for (uint32_t i = 0; i < u->nnodes; i++) {
        fc_decl *d = u->nodes[i].decl;
        g.loc = d->u.node.name.id.loc;
        u->nodes[i].entry = pc(&g);
        emit(&g, VM_OP_ENTER, i, 0, 0);
        gen_stmts(&g, d->u.node.body);
        g.loc = d->loc;
        emit(&g, VM_OP_END, 0, 0, 0);
    }
    /* The fallback: said when typed text matches no button, then the same
     * buttons again (REOFFER). */
    g.loc = u->fallback_decl ? u->fallback_decl->loc : (fc_loc){1, 1, 0};
    p->fallback_pc = pc(&g);
    if (u->fallback_decl)
        gen_text(&g, &u->fallback_decl->u.fallback, u->fallback_decl->u.fallback.raw.loc);
    else
        gen_literal_text(&g, "Please choose one of the options.");
    emit(&g, VM_OP_SAY, 0, 0, 0);
    emit(&g, VM_OP_REOFFER, 0, 0, 0);
    for (uint32_t i = 0; i < g.nfixups; i++)
        patch(&g, g.fixups[i].at, u->nodes[g.fixups[i].node].entry);
    p->entry_pc = u->start >= 0 ? u->nodes[u->start].entry : 0;
    gen_triggers(&g);
    free(g.fixups);
}

void fc_program_free(fc_program *p)
{
    vm_buf_free(&p->code);
    free(p->lines);
    free(p->strings);
    free(p->string_lens);
    fc_symtab_free(&p->string_index);
    free(p->numbers);
    free(p->trigger_str);
    free(p->trigger_node);
    free(p->skippable);
    fc_symtab_free(&p->number_index);
    memset(p, 0, sizeof *p);
}
