/* fc_check.c - declarations, names, types, hours and interpolation
 * (spec sections 3-6 and the non-flow errors of section 10).
 *
 * Declarations are collected first, so nodes and variables may be used
 * before they are declared. An expression with an error gets type
 * FC_T_ERROR, and nothing is reported about expressions built on it: one
 * mistake, one diagnostic.
 */
#include <stdarg.h>
#include <string.h>

#include "fc_tz.h"
#include "fc_unit.h"

static const fc_loc file_start = {1, 1, 0};

#define REPORT(u, code, loc, ...) fc_diag((u)->diags, &(u)->file.src, code, loc, __VA_ARGS__)
#define NOTE(u, loc, ...) fc_diag_note((u)->diags, &(u)->file.src, loc, __VA_ARGS__)

static bool str_is(fc_str s, const char *lit)
{
    size_t n = strlen(lit);
    return s.len == n && memcmp(s.s, lit, n) == 0;
}

static const char *type_name(fc_type t)
{
    switch (t) {
    case FC_T_TEXT: return "text";
    case FC_T_NUMBER: return "number";
    case FC_T_BOOL: return "bool";
    case FC_T_EMAIL: return "email";
    case FC_T_PHONE: return "phone";
    default: return "error";
    }
}

/* "a number", "an email": for messages that name a type. */
static const char *a_type(fc_type t)
{
    switch (t) {
    case FC_T_TEXT: return "a text";
    case FC_T_NUMBER: return "a number";
    case FC_T_BOOL: return "a bool";
    case FC_T_EMAIL: return "an email";
    case FC_T_PHONE: return "a phone";
    default: return "an error";
    }
}

/* text, email and phone agree with each other everywhere. */
static fc_type base(fc_type t) { return t == FC_T_EMAIL || t == FC_T_PHONE ? FC_T_TEXT : t; }

static fc_type from_vm_type(vm_type t)
{
    switch (t) {
    case VM_TYPE_NUMBER: return FC_T_NUMBER;
    case VM_TYPE_BOOL: return FC_T_BOOL;
    case VM_TYPE_EMAIL: return FC_T_EMAIL;
    case VM_TYPE_PHONE: return FC_T_PHONE;
    default: return FC_T_TEXT;
    }
}

/* ---- declarations ---------------------------------------------------------- */

static bool parse_type_name(fc_str s, vm_type *out)
{
    static const struct { const char *name; vm_type type; } types[] = {
        {"text", VM_TYPE_TEXT}, {"number", VM_TYPE_NUMBER}, {"bool", VM_TYPE_BOOL},
        {"email", VM_TYPE_EMAIL}, {"phone", VM_TYPE_PHONE},
    };
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (str_is(s, types[i].name)) {
            *out = types[i].type;
            return true;
        }
    return false;
}

static void check_init(fc_unit *u, fc_var *v)
{
    fc_expr *e = v->init;
    bool literal = e->kind == FC_EX_NUMBER || e->kind == FC_EX_STRING || e->kind == FC_EX_BOOL ||
                   (e->kind == FC_EX_NEG && e->u.operand->kind == FC_EX_NUMBER);
    if (!literal) {
        REPORT(u, FC_E_LITERAL, e->loc, "the initial value of '%.*s' must be a literal", (int)v->name.id.len,
               v->name.id.s);
        return;
    }
    fc_type t = e->kind == FC_EX_STRING ? FC_T_TEXT : e->kind == FC_EX_BOOL ? FC_T_BOOL : FC_T_NUMBER;
    e->type = t;
    if (e->kind == FC_EX_NEG)
        e->u.operand->type = FC_T_NUMBER;
    if (e->kind == FC_EX_STRING)
        e->text = fc_decode_string(&u->arena, &e->u.string, &e->text_len);
    if (base(from_vm_type(v->type)) != t)
        REPORT(u, FC_E_ASSIGN_TYPE, e->loc, "the initial value of '%.*s' is %s, but '%.*s' is %s",
               (int)v->name.id.len, v->name.id.s, a_type(t), (int)v->name.id.len, v->name.id.s,
               a_type(from_vm_type(v->type)));
}

static void declare_var(fc_unit *u, fc_decl *d)
{
    fc_name *n = &d->u.var.name;
    vm_type type = VM_TYPE_TEXT;
    bool type_ok = parse_type_name(d->u.var.type_name, &type);
    if (!type_ok)
        REPORT(u, FC_E_TYPE_NAME, d->u.var.type_name.loc,
               "unknown type '%.*s' (expected text, number, bool, email or phone)", (int)d->u.var.type_name.len,
               d->u.var.type_name.s);
    if (n->reserved) /* reported, then declared anyway: its uses are not errors too */
        REPORT(u, FC_E_RESERVED, n->id.loc, "'%.*s' is a reserved word and cannot name a variable", (int)n->id.len,
               n->id.s);
    int32_t prev = fc_symtab_get(&u->var_index, n->id.s, n->id.len);
    if (prev >= 0) {
        REPORT(u, FC_E_DUP_VAR, n->id.loc, "duplicate variable '%.*s'", (int)n->id.len, n->id.s);
        NOTE(u, u->vars[prev].name.id.loc, "first defined here");
        return;
    }
    fc_var *v = &u->vars[u->nvars];
    v->name = *n;
    v->type = type;
    v->init = d->u.var.init;
    v->decl = d;
    n->ref = (int32_t)u->nvars;
    fc_symtab_put(&u->var_index, n->id.s, n->id.len, (int32_t)u->nvars++);
    if (v->init && type_ok)
        check_init(u, v);
}

static void declare_node(fc_unit *u, fc_decl *d)
{
    fc_name *n = &d->u.node.name;
    if (n->reserved)
        REPORT(u, FC_E_RESERVED, n->id.loc, "'%.*s' is a reserved word and cannot name a node", (int)n->id.len,
               n->id.s);
    int32_t prev = fc_symtab_get(&u->node_index, n->id.s, n->id.len);
    if (prev >= 0) {
        REPORT(u, FC_E_DUP_NODE, n->id.loc, "duplicate node '%.*s'", (int)n->id.len, n->id.s);
        NOTE(u, u->nodes[prev].name.loc, "first defined here");
        return;
    }
    fc_node *node = &u->nodes[u->nnodes];
    node->name = n->id;
    node->decl = d;
    n->ref = (int32_t)u->nnodes;
    fc_symtab_put(&u->node_index, n->id.s, n->id.len, (int32_t)u->nnodes++);
}

/* ---- hours ------------------------------------------------------------- */

static int day_index(fc_str s)
{
    static const char *days[] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};
    for (int i = 0; i < 7; i++)
        if (str_is(s, days[i]))
            return i;
    return -1;
}

/* "HH:MM" to minutes; -1 if out of range. 24:00 is allowed (end of day). */
static int clock_minutes(fc_str s)
{
    int h = (s.s[0] - '0') * 10 + (s.s[1] - '0');
    int m = (s.s[3] - '0') * 10 + (s.s[4] - '0');
    if (h > 24 || m > 59 || (h == 24 && m != 0))
        return -1;
    return h * 60 + m;
}

/* DAYS: a day, a range mon-fri, or a comma list of those. Returns a bit
 * mask of days, or 0 after reporting. */
static unsigned parse_days(fc_unit *u, fc_htok **tp)
{
    unsigned mask = 0;
    fc_htok *t = *tp;
    for (;;) {
        int from = t && t->kind == FC_HT_WORD ? day_index(t->text) : -1;
        if (from < 0) {
            REPORT(u, FC_E_HOURS_LINE, t ? t->text.loc : file_start,
                   "expected a day (mon, tue, wed, thu, fri, sat or sun)%s%.*s%s", t ? ", found '" : "",
                   t ? (int)t->text.len : 0, t ? t->text.s : "", t ? "'" : "");
            return 0;
        }
        int to = from;
        fc_htok *start = t;
        t = t->next;
        if (t && t->kind == FC_HT_DASH && t->next && t->next->kind == FC_HT_WORD) {
            fc_htok *last = t->next;
            to = day_index(last->text);
            if (to < 0) {
                REPORT(u, FC_E_HOURS_LINE, last->text.loc, "expected a day after '-', found '%.*s'",
                       (int)last->text.len, last->text.s);
                return 0;
            }
            if (to < from) {
                fc_str first = start->text;
                REPORT(u, FC_E_HOURS_LINE, first.loc, "day range '%.*s-%.*s' wraps around the week", (int)first.len,
                       first.s, (int)last->text.len, last->text.s);
                return 0;
            }
            t = t->next->next;
        }
        for (int d = from; d <= to; d++)
            mask |= 1u << d;
        if (!t || t->kind != FC_HT_COMMA)
            break;
        t = t->next;
    }
    *tp = t;
    return mask;
}

static void add_range(fc_unit *u, int day, int start, int end)
{
    fc_range *r = fc_arena_alloc(&u->arena, sizeof *r * (u->nranges + 1));
    if (u->nranges)
        memcpy(r, u->ranges, sizeof *r * u->nranges);
    r[u->nranges].day = (uint8_t)day;
    r[u->nranges].start = (uint16_t)start;
    r[u->nranges].end = (uint16_t)end;
    u->ranges = r;
    u->nranges++;
}

static void check_hours_line(fc_unit *u, fc_hours_line *line)
{
    fc_htok *t = line->tokens;
    unsigned mask = parse_days(u, &t);
    if (!mask)
        return;
    if (!t || t->kind != FC_HT_CLOCK || !t->next || t->next->kind != FC_HT_DASH || !t->next->next ||
        t->next->next->kind != FC_HT_CLOCK) {
        REPORT(u, FC_E_HOURS_LINE, t ? t->text.loc : line->loc, "expected a time range HH:MM-HH:MM after the days");
        return;
    }
    fc_htok *extra = t->next->next->next;
    if (extra) {
        REPORT(u, FC_E_HOURS_LINE, extra->text.loc, "unexpected '%.*s' after the time range (one range per line)",
               (int)extra->text.len, extra->text.s);
        return;
    }
    fc_htok *a = t, *b = t->next->next;
    int start = clock_minutes(a->text), end = clock_minutes(b->text);
    if (start < 0 || start == 24 * 60 || end < 0) {
        fc_htok *bad = start < 0 || start == 24 * 60 ? a : b;
        REPORT(u, FC_E_HOURS_LINE, bad->text.loc, "'%.*s' is not a time of day (00:00 to 24:00)", (int)bad->text.len,
               bad->text.s);
        return;
    }
    if (end <= start) {
        REPORT(u, FC_E_HOURS_RANGE, a->text.loc, "the range %.*s-%.*s does not end after it starts", (int)a->text.len,
               a->text.s, (int)b->text.len, b->text.s);
        return;
    }
    for (int d = 0; d < 7; d++)
        if (mask & (1u << d))
            add_range(u, d, start, end);
}

static void check_hours(fc_unit *u, fc_decl *d)
{
    uint32_t len;
    const char *zone = fc_decode_string(&u->arena, &d->u.hours.zone, &len);
    char err[256];
    if (strlen(zone) != len || !fc_tz_load(zone, &u->tz, err, sizeof err))
        REPORT(u, FC_E_ZONE, d->u.hours.zone.loc, "unknown time zone '%s'", zone);
    else
        u->has_tz = true;
    for (fc_hours_line *l = d->u.hours.lines; l; l = l->next)
        check_hours_line(u, l);
}

static void check_declarations(fc_unit *u)
{
    fc_decl *first = u->file.decls;
    if (!first || first->kind != FC_D_FLOW)
        REPORT(u, FC_E_FLOW_DECL, first ? first->loc : file_start, "a flow file must begin with flow \"NAME\"");
    for (fc_decl *d = u->file.decls; d; d = d->next) {
        switch (d->kind) {
        case FC_D_FLOW:
            if (u->flow_decl) {
                REPORT(u, FC_E_FLOW_DECL, d->loc, "duplicate flow declaration");
                NOTE(u, u->flow_decl->loc, "first defined here");
            } else {
                u->flow_decl = d;
            }
            break;
        case FC_D_HOURS:
            if (u->hours_decl) {
                REPORT(u, FC_E_DUP_DECL, d->loc, "duplicate hours declaration (at most one per file)");
                NOTE(u, u->hours_decl->loc, "first defined here");
            } else {
                u->hours_decl = d;
                check_hours(u, d);
            }
            break;
        case FC_D_FALLBACK:
            if (u->fallback_decl) {
                REPORT(u, FC_E_DUP_DECL, d->loc, "duplicate fallback declaration (at most one per file)");
                NOTE(u, u->fallback_decl->loc, "first defined here");
            } else {
                u->fallback_decl = d;
            }
            break;
        case FC_D_VAR: declare_var(u, d); break;
        case FC_D_NODE: declare_node(u, d); break;
        case FC_D_ON: break;
        }
    }
    if (u->nvars > VM_MAX_VARS)
        REPORT(u, FC_E_LIMIT, u->vars[VM_MAX_VARS].name.id.loc,
               "too many variables: the program is too large for the bytecode format (at most %d)", VM_MAX_VARS);
    u->start = fc_symtab_get(&u->node_index, "start", 5);
    if (u->start < 0)
        REPORT(u, FC_E_NO_START, u->flow_decl ? u->flow_decl->loc : file_start,
               "no node named 'start' (execution begins there)");
}

/* ---- expressions ---------------------------------------------------------- */

static const struct {
    const char *scope, *name;
    fc_type type;
} facts[] = {
#define FACT_ROW(id, scope, name, type) {scope, name, FC_T_##type},
    VM_FACTS(FACT_ROW)
#undef FACT_ROW
};

static fc_type check_fact(fc_unit *u, fc_expr *e)
{
    fc_str scope = e->u.fact.scope, field = e->u.fact.field;
    for (int i = 0; i < VM_FACT_COUNT; i++)
        if ((scope.s ? str_is(scope, facts[i].scope) : facts[i].scope[0] == '\0') && str_is(field, facts[i].name)) {
            e->u.fact.fact = i;
            return facts[i].type;
        }
    if (scope.s)
        REPORT(u, FC_E_UNKNOWN_FACT, e->loc, "unknown fact '%.*s.%.*s'", (int)scope.len, scope.s, (int)field.len,
               field.s);
    else
        REPORT(u, FC_E_UNKNOWN_FACT, e->loc, "unknown built-in value '%.*s'", (int)field.len, field.s);
    return FC_T_ERROR;
}

static fc_type check_var_ref(fc_unit *u, fc_expr *e)
{
    fc_name *n = &e->u.var;
    n->ref = fc_symtab_get(&u->var_index, n->id.s, n->id.len);
    if (n->ref < 0) {
        REPORT(u, FC_E_UNKNOWN_VAR, e->loc, "unknown variable '%.*s'", (int)n->id.len, n->id.s);
        return FC_T_ERROR;
    }
    u->vars[n->ref].read = true;
    return from_vm_type(u->vars[n->ref].type);
}

static const char *op_name(fc_binop op)
{
    static const char *names[] = {"or", "and", "==", "!=", "<", "<=", ">", ">=", "contains", "+", "-", "*", "/"};
    return names[op];
}

static fc_type binary_type(fc_unit *u, fc_expr *e, fc_type l, fc_type r)
{
    fc_binop op = e->u.bin.op;
    switch (op) {
    case FC_OP_OR:
    case FC_OP_AND:
        if (l == FC_T_BOOL && r == FC_T_BOOL)
            return FC_T_BOOL;
        break;
    case FC_OP_EQ:
    case FC_OP_NE:
        if (l == r)
            return FC_T_BOOL;
        break;
    case FC_OP_LT: case FC_OP_LE: case FC_OP_GT: case FC_OP_GE:
        if (l == r && (l == FC_T_NUMBER || l == FC_T_TEXT))
            return FC_T_BOOL;
        break;
    case FC_OP_CONTAINS:
        if (l == FC_T_TEXT && r == FC_T_TEXT)
            return FC_T_BOOL;
        break;
    case FC_OP_ADD:
        if (l == FC_T_TEXT || r == FC_T_TEXT)
            return FC_T_TEXT;
        if (l == FC_T_NUMBER && r == FC_T_NUMBER)
            return FC_T_NUMBER;
        break;
    default:
        if (l == FC_T_NUMBER && r == FC_T_NUMBER)
            return FC_T_NUMBER;
        break;
    }
    static const char *needs[] = {"two bools", "two bools", "two values of one type", "two values of one type",
                                  "two numbers or two texts", "two numbers or two texts", "two numbers or two texts",
                                  "two numbers or two texts", "two texts", "numbers or a text", "two numbers",
                                  "two numbers", "two numbers"};
    REPORT(u, FC_E_TYPE, e->loc, "'%s' needs %s, got %s and %s", op_name(op), needs[op], type_name(l), type_name(r));
    return FC_T_ERROR;
}

static fc_type check_expr(fc_unit *u, fc_expr *e)
{
    fc_type t = FC_T_ERROR;
    switch (e->kind) {
    case FC_EX_NUMBER: t = FC_T_NUMBER; break;
    case FC_EX_BOOL: t = FC_T_BOOL; break;
    case FC_EX_STRING:
        e->text = fc_decode_string(&u->arena, &e->u.string, &e->text_len);
        t = FC_T_TEXT;
        break;
    case FC_EX_VAR: t = base(check_var_ref(u, e)); break;
    case FC_EX_FACT: t = check_fact(u, e); break;
    case FC_EX_NOT:
    case FC_EX_NEG: {
        fc_type o = check_expr(u, e->u.operand);
        fc_type want = e->kind == FC_EX_NOT ? FC_T_BOOL : FC_T_NUMBER;
        if (o == want)
            t = want;
        else if (o != FC_T_ERROR)
            REPORT(u, FC_E_TYPE, e->loc, "'%s' needs a %s, got %s", e->kind == FC_EX_NOT ? "not" : "-",
                   type_name(want), type_name(o));
        break;
    }
    case FC_EX_BINARY: {
        fc_type l = check_expr(u, e->u.bin.left);
        fc_type r = check_expr(u, e->u.bin.right);
        if (l != FC_T_ERROR && r != FC_T_ERROR)
            t = binary_type(u, e, l, r);
        break;
    }
    }
    e->type = t;
    return t;
}

static void check_condition(fc_unit *u, fc_expr *e, const char *what)
{
    fc_type t = check_expr(u, e);
    if (t != FC_T_BOOL && t != FC_T_ERROR)
        REPORT(u, FC_E_TYPE, e->loc, "the condition of %s must be a bool, got %s", what, type_name(t));
}

/* ---- interpolated text ------------------------------------------------------ */

typedef struct text_builder {
    fc_text_part *parts;
    uint32_t n, cap;
    char *lit;
    uint32_t lit_len;
} text_builder;

static void push_part(fc_unit *u, text_builder *b, fc_text_part part)
{
    if (b->n == b->cap) {
        uint32_t cap = b->cap ? b->cap * 2 : 4;
        fc_text_part *p = fc_arena_alloc(&u->arena, sizeof *p * cap);
        if (b->n)
            memcpy(p, b->parts, sizeof *p * b->n);
        b->parts = p;
        b->cap = cap;
    }
    b->parts[b->n++] = part;
}

static void flush_literal(fc_unit *u, text_builder *b)
{
    if (!b->lit_len)
        return;
    fc_text_part part = {false, fc_arena_strndup(&u->arena, b->lit, b->lit_len), b->lit_len, false, NULL};
    push_part(u, b, part);
    b->lit_len = 0;
}

static bool ident_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
static bool ident_char(char c) { return ident_start(c) || (c >= '0' && c <= '9'); }

static fc_loc loc_at(const fc_str *raw, uint32_t i)
{
    /* raw.loc is the opening quote; strings never span lines */
    fc_loc l = {raw->loc.line, raw->loc.col + 1 + i, raw->loc.off + 1 + i};
    return l;
}

/* `{NAME}` or `{NAME|DEFAULT}` starting at raw[i] == '{'; returns the index
 * after the closing brace, or 0 after reporting a malformed one. */
static uint32_t parse_ref(fc_unit *u, const fc_str *raw, uint32_t i, text_builder *b)
{
    const char *s = raw->s;
    uint32_t n = raw->len, j = i + 1, dot = 0;
    if (j < n && ident_start(s[j])) {
        while (j < n && ident_char(s[j]))
            j++;
        if (j + 1 < n && s[j] == '.' && ident_start(s[j + 1])) {
            dot = j++;
            while (j < n && ident_char(s[j]))
                j++;
        }
    }
    if (j > i + 1 && j >= n) {
        REPORT(u, FC_E_INTERP, loc_at(raw, i), "unterminated {%.*s}: missing '}'", (int)(j - i - 1), s + i + 1);
        return 0;
    }
    if (j == i + 1 || j >= n || (s[j] != '}' && s[j] != '|')) {
        REPORT(u, FC_E_INTERP, loc_at(raw, i),
               "'{' must start {NAME} or {NAME|DEFAULT} (write \\{ for a literal brace)");
        return 0;
    }
    fc_loc nloc = loc_at(raw, i + 1);
    fc_str whole = {s + i + 1, j - i - 1, nloc};
    fc_expr *ref = fc_arena_alloc(&u->arena, sizeof *ref);
    ref->loc = nloc;
    ref->depth = 1;
    if (dot) {
        ref->kind = FC_EX_FACT;
        ref->u.fact.scope = (fc_str){s + i + 1, dot - i - 1, nloc};
        ref->u.fact.field = (fc_str){s + dot + 1, j - dot - 1, nloc};
    } else if (str_is(whole, "open") || str_is(whole, "agents_online")) {
        ref->kind = FC_EX_FACT;
        ref->u.fact.field = whole;
    } else {
        ref->kind = FC_EX_VAR;
        ref->u.var = (fc_name){whole, false, -1};
    }
    check_expr(u, ref);
    fc_text_part part = {true, NULL, 0, false, ref};
    if (s[j] == '|') {
        uint32_t k = j + 1, dlen = 0;
        char *def = fc_arena_alloc(&u->arena, n - k + 1);
        while (k < n && s[k] != '}') {
            if (s[k] == '\\' && k + 1 < n) {
                k++;
                def[dlen++] = s[k] == 'n' ? '\n' : s[k];
            } else {
                def[dlen++] = s[k];
            }
            k++;
        }
        if (k >= n) {
            REPORT(u, FC_E_INTERP, loc_at(raw, i), "unterminated {%.*s|...}: missing '}'", (int)whole.len, whole.s);
            return 0;
        }
        part.has_default = true;
        part.lit = def;
        part.lit_len = dlen;
        j = k;
    }
    flush_literal(u, b);
    push_part(u, b, part);
    return j + 1;
}

static void check_text(fc_unit *u, fc_text *t)
{
    if (!t->raw.s)
        return;
    text_builder b = {0};
    b.lit = fc_arena_alloc(&u->arena, t->raw.len + 1);
    const char *s = t->raw.s;
    for (uint32_t i = 0; i < t->raw.len;) {
        if (s[i] == '\\' && i + 1 < t->raw.len) {
            b.lit[b.lit_len++] = s[i + 1] == 'n' ? '\n' : s[i + 1];
            i += 2;
        } else if (s[i] == '{') {
            uint32_t next = parse_ref(u, &t->raw, i, &b);
            if (!next)
                break;
            i = next;
        } else {
            b.lit[b.lit_len++] = s[i++];
        }
    }
    flush_literal(u, &b);
    t->parts = b.parts;
    t->nparts = b.n;
}

/* ---- statements -------------------------------------------------------------- */

static void resolve_node(fc_unit *u, fc_name *n)
{
    n->ref = fc_symtab_get(&u->node_index, n->id.s, n->id.len);
    if (n->ref < 0)
        REPORT(u, FC_E_UNKNOWN_NODE, n->id.loc, "unknown node '%.*s'%s", (int)n->id.len, n->id.s,
               n->reserved ? " (a reserved word cannot name a node)" : "");
}

/* The variable that `set` or `ask` stores into, or NULL after reporting. */
static fc_var *check_target(fc_unit *u, fc_lvalue *lv, const char *verb)
{
    fc_expr *e = lv->target;
    if (e->kind == FC_EX_FACT) {
        if (check_fact(u, e) != FC_T_ERROR)
            REPORT(u, FC_E_READ_ONLY, e->loc, "cannot %s %s%.*s%s%.*s: visitor facts and built-in values are read-only",
                   verb, strcmp(verb, "set") == 0 ? "" : "into ", e->u.fact.scope.s ? (int)e->u.fact.scope.len : 0,
                   e->u.fact.scope.s ? e->u.fact.scope.s : "", e->u.fact.scope.s ? "." : "",
                   (int)e->u.fact.field.len, e->u.fact.field.s);
        return NULL;
    }
    if (e->kind != FC_EX_VAR) {
        REPORT(u, FC_E_SYNTAX, e->loc, "expected a variable name after '%s'", verb);
        return NULL;
    }
    fc_name *n = &e->u.var;
    n->ref = fc_symtab_get(&u->var_index, n->id.s, n->id.len);
    if (n->ref < 0) {
        REPORT(u, FC_E_UNKNOWN_VAR, e->loc, "unknown variable '%.*s'", (int)n->id.len, n->id.s);
        return NULL;
    }
    e->type = from_vm_type(u->vars[n->ref].type);
    return &u->vars[n->ref];
}

static void check_stmts(fc_unit *u, fc_stmt *s);

static void check_choice(fc_unit *u, fc_stmt *s)
{
    check_text(u, &s->u.choice.prompt);
    if (!s->u.choice.options)
        REPORT(u, FC_E_EMPTY_CHOICE, s->loc, "choice has no options");
    uint32_t n = 0;
    for (fc_option *o = s->u.choice.options; o; o = o->next)
        if (++n == VM_MAX_BUTTONS + 1)
            REPORT(u, FC_E_LIMIT, o->loc, "a choice can offer at most %d options", VM_MAX_BUTTONS);
    for (fc_option *o = s->u.choice.options; o; o = o->next) {
        check_text(u, &o->label);
        if (o->guard)
            check_condition(u, o->guard, "an option's 'if'");
        if (o->has_target)
            resolve_node(u, &o->target);
        else
            check_stmts(u, o->body);
    }
}

static void check_ask(fc_unit *u, fc_stmt *s)
{
    fc_var *v = check_target(u, &s->u.ask.var, "ask");
    if (v && v->type == VM_TYPE_BOOL) {
        REPORT(u, FC_E_ASK_BOOL, s->u.ask.var.target->loc, "cannot ask for '%.*s': it is a bool",
               (int)v->name.id.len, v->name.id.s);
        v->poisoned = true;
    }
    check_text(u, &s->u.ask.prompt);
    if (s->u.ask.has_retry)
        check_text(u, &s->u.ask.retry);
}

static void check_set(fc_unit *u, fc_stmt *s)
{
    fc_var *v = check_target(u, &s->u.set.var, "set");
    fc_type t = check_expr(u, s->u.set.value);
    if (v && t != FC_T_ERROR && base(from_vm_type(v->type)) != t)
        REPORT(u, FC_E_ASSIGN_TYPE, s->u.set.value->loc, "cannot set '%.*s' (%s) to %s", (int)v->name.id.len,
               v->name.id.s, a_type(from_vm_type(v->type)), a_type(t));
}

static void check_handoff(fc_unit *u, fc_stmt *s)
{
    fc_setting *seen[FC_SET_UNKNOWN] = {NULL, NULL, NULL};
    static const char *const names[] = {"online", "wait", "offline"};
    static const char *const takes[] = {"a text", "a duration", "'-> NODE'"};
    for (fc_setting *set = s->u.handoff.settings; set; set = set->next) {
        if (set->kind == FC_SET_UNKNOWN) {
            REPORT(u, FC_E_SYNTAX, set->key.loc, "unknown handoff setting '%.*s' (expected online, wait or offline)",
                   (int)set->key.len, set->key.s);
            continue;
        }
        if (seen[set->kind]) {
            REPORT(u, FC_E_DUP_SETTING, set->key.loc, "duplicate handoff setting '%s'", names[set->kind]);
            NOTE(u, seen[set->kind]->key.loc, "first given here");
            continue;
        }
        seen[set->kind] = set;
        bool is_text = set->text.raw.s != NULL, is_node = set->node.id.s != NULL;
        bool ok = set->kind == FC_SET_ONLINE ? is_text : set->kind == FC_SET_OFFLINE ? is_node : !is_text && !is_node;
        if (!ok) {
            REPORT(u, FC_E_SYNTAX, set->key.loc, "'%s' takes %s", names[set->kind], takes[set->kind]);
            seen[set->kind] = NULL;
            set->kind = FC_SET_UNKNOWN;
            continue;
        }
        if (set->kind == FC_SET_ONLINE)
            check_text(u, &set->text);
        else if (set->kind == FC_SET_OFFLINE)
            resolve_node(u, &set->node);
        else if (set->seconds_bad || set->seconds < 1 || set->seconds > 86400)
            REPORT(u, FC_E_WAIT, set->key.loc, "wait must be between 1s and 24h");
    }
}

static void check_fields(fc_unit *u, fc_stmt *s)
{
    uint32_t n = 0;
    for (fc_field *f = s->u.fields; f; f = f->next)
        if (++n == VM_MAX_FIELDS + 1)
            REPORT(u, FC_E_LIMIT, f->name.loc, "a %s can have at most %d fields", s->kind == FC_ST_LEAD ? "lead" : "deal",
                   VM_MAX_FIELDS);
    for (fc_field *f = s->u.fields; f; f = f->next) {
        for (fc_field *g = s->u.fields; g != f; g = g->next)
            if (g->name.len == f->name.len && memcmp(g->name.s, f->name.s, f->name.len) == 0) {
                REPORT(u, FC_E_DUP_FIELD, f->name.loc, "duplicate field '%.*s' in %s", (int)f->name.len, f->name.s,
                       s->kind == FC_ST_LEAD ? "lead" : "deal");
                NOTE(u, g->name.loc, "first given here");
                break;
            }
        fc_type t = check_expr(u, f->value);
        if (str_is(f->name, "value") && t != FC_T_NUMBER && t != FC_T_ERROR)
            REPORT(u, FC_E_FIELD_TYPE, f->value->loc, "the value field must be a number, got %s", type_name(t));
    }
}

static void check_stmt(fc_unit *u, fc_stmt *s)
{
    switch (s->kind) {
    case FC_ST_SAY: check_text(u, &s->u.say); break;
    case FC_ST_CHOICE: check_choice(u, s); break;
    case FC_ST_ASK: check_ask(u, s); break;
    case FC_ST_SET: check_set(u, s); break;
    case FC_ST_IF:
        for (fc_branch *b = s->u.branches; b; b = b->next) {
            if (b->cond)
                check_condition(u, b->cond, b == s->u.branches ? "'if'" : "'elif'");
            check_stmts(u, b->body);
        }
        break;
    case FC_ST_GOTO: resolve_node(u, &s->u.go); break;
    case FC_ST_HANDOFF: check_handoff(u, s); break;
    case FC_ST_LEAD:
    case FC_ST_DEAL: check_fields(u, s); break;
    case FC_ST_PAUSE:
        if (s->u.pause.bad || s->u.pause.seconds > 86400)
            REPORT(u, FC_E_LITERAL, s->loc, "pause must be at most 24h");
        break;
    case FC_ST_TAG:
    case FC_ST_END: break;
    }
}

static void check_stmts(fc_unit *u, fc_stmt *s)
{
    for (; s; s = s->next)
        check_stmt(u, s);
}

static void check_bodies(fc_unit *u)
{
    for (fc_decl *d = u->file.decls; d; d = d->next) {
        if (d->kind == FC_D_NODE)
            check_stmts(u, d->u.node.body);
        else if (d->kind == FC_D_ON)
            resolve_node(u, &d->u.on.target);
        else if (d->kind == FC_D_FALLBACK && d == u->fallback_decl)
            check_text(u, &d->u.fallback);
    }
}

bool fc_check_unit(fc_unit *u, const fc_source *src, fc_diags *diags)
{
    memset(u, 0, sizeof *u);
    u->diags = diags;
    u->start = -1;
    size_t errors_before = fc_diags_errors_in(diags, src->path);
    fc_parse_file(src, &u->arena, diags, &u->file);
    if (u->file.truncated) {
        /* The rest of the file was never read: checking what was would only
         * report things missing because of the one error already given. */
        u->vars = fc_arena_alloc(&u->arena, sizeof *u->vars);
        u->nodes = fc_arena_alloc(&u->arena, sizeof *u->nodes);
        return false;
    }
    uint32_t nvars = 0, nnodes = 0;
    for (fc_decl *d = u->file.decls; d; d = d->next) {
        nvars += d->kind == FC_D_VAR;
        nnodes += d->kind == FC_D_NODE;
    }
    u->vars = fc_arena_alloc(&u->arena, sizeof *u->vars * (nvars + 1));
    u->nodes = fc_arena_alloc(&u->arena, sizeof *u->nodes * (nnodes + 1));
    check_declarations(u);
    check_bodies(u);
    return fc_diags_errors_in(diags, src->path) == errors_before;
}

void fc_unit_free(fc_unit *u)
{
    fc_symtab_free(&u->var_index);
    fc_symtab_free(&u->node_index);
    if (u->has_tz)
        vm_tz_free(&u->tz);
    fc_arena_free(&u->arena);
}
