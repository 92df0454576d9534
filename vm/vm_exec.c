/* vm_exec.c - the interpreter: delivering inputs and running to the next
 * wait (spec sections 7-9).
 *
 * A run lives on the C stack: the value stack, a scratch area for texts made
 * while running (concatenations, printed numbers), the options being offered
 * and the record being built. Nothing in the dispatch loop allocates except
 * a conversation's own variable text, and scratch texts beyond the local
 * area (rare: only very long texts). The loader verified operands, jumps
 * and stack depths; value types are checked here, because the VM also runs
 * bytecode no compiler checked: a mismatch ends the conversation with
 * outcome error instead of misbehaving.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vm_internal.h"
#include "vm_text.h"

typedef struct vm_value {
    uint8_t type; /* VM_TYPE_TEXT, VM_TYPE_NUMBER or VM_TYPE_BOOL */
    uint32_t len;
    union {
        double number;
        bool boolean;
        const char *text;
    } u;
} vm_value;

typedef struct scratch_chunk {
    struct scratch_chunk *next;
    char data[];
} scratch_chunk;

enum { LOCAL_SCRATCH = 4096 };
/* Heap scratch of one run: room for a full stack of the longest texts. More
 * can only come from hand-made bytecode that loops with values left on the
 * stack; the conversation then ends with outcome error instead of eating
 * the host's memory. */
#define MAX_SCRATCH ((size_t)VM_MAX_STACK * VM_MAX_TEXT)

typedef struct run {
    vm_state *s;
    const vm_host *h;
    const vm_program *p;
    uint32_t steps;
    uint32_t resume_choice; /* the choice whose buttons REOFFER repeats, or VM_NONE */
    bool have_now;
    int64_t now;
    /* options offered by OPTION, waiting for CHOICE */
    uint32_t nopts;
    uint32_t opt_target[VM_MAX_BUTTONS];
    vm_text_ref opt_label[VM_MAX_BUTTONS];
    /* the record being built */
    bool in_record, record_deal;
    uint32_t nfields;
    vm_field fields[VM_MAX_FIELDS];
    /* texts made while running */
    size_t used;
    scratch_chunk *chunks;
    size_t heap; /* bytes in chunks */
    char local[LOCAL_SCRATCH];
    uint32_t sp;
    vm_value stack[VM_MAX_STACK];
} run;

static const char missed_text[] = "Nobody is available right now. We will get back to you.";
static const char *const weekdays[] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};

/* ---- scratch texts ---------------------------------------------------------- */

static char *scratch(run *r, size_t n)
{
    if (n <= LOCAL_SCRATCH - r->used) {
        char *p = r->local + r->used;
        r->used += n;
        return p;
    }
    if (n > MAX_SCRATCH - r->heap)
        return NULL;
    scratch_chunk *c = malloc(sizeof *c + (n ? n : 1));
    if (!c)
        return NULL;
    r->heap += n;
    c->next = r->chunks;
    r->chunks = c;
    return c->data;
}

static void free_scratch(run *r)
{
    while (r->chunks) {
        scratch_chunk *next = r->chunks->next;
        free(r->chunks);
        r->chunks = next;
    }
    r->heap = 0;
}

/* Scratch texts are referred to only from the stack, the options being
 * offered and the record being built: with none of them, the memory is
 * free again (else 50000 `say "{t}"` of a 64 KB t take 3 GB in one run). */
static void reuse_scratch(run *r)
{
    if (r->sp == 0 && r->nopts == 0 && !r->in_record) {
        free_scratch(r);
        r->used = 0;
    }
}

/* ---- output ------------------------------------------------------------------ */

static void emit(run *r, vm_event *ev, uint32_t pc)
{
    ev->pc = pc;
    if (r->h && r->h->emit)
        r->h->emit(r->h->ctx, ev);
}

static void emit_text(run *r, vm_event_kind kind, const char *s, uint32_t len, uint32_t pc)
{
    vm_event ev = {.kind = kind, .text = {s, len}};
    emit(r, &ev, pc);
}

static void emit_buttons(run *r, uint32_t pc)
{
    vm_text_ref labels[VM_MAX_BUTTONS];
    vm_state *s = r->s;
    for (uint32_t i = 0; i < s->nbuttons; i++) {
        labels[i].s = s->buttons[i].label;
        labels[i].len = s->buttons[i].len;
    }
    vm_event ev = {.kind = VM_EV_BUTTONS, .buttons = labels, .nbuttons = s->nbuttons};
    emit(r, &ev, pc);
}

static void finish(run *r, vm_outcome outcome, uint32_t pc)
{
    vm_state *s = r->s;
    vm_state_clear_buttons(s);
    s->wait = VM_WAIT_ENDED;
    s->outcome = (uint8_t)outcome;
    s->pc = pc;
    vm_event ev = {.kind = VM_EV_END, .outcome = outcome};
    emit(r, &ev, pc);
}

/* ---- values --------------------------------------------------------------------- */

static int64_t now(run *r)
{
    if (!r->have_now) {
        r->now = r->h && r->h->now ? r->h->now(r->h->ctx) : (int64_t)time(NULL);
        r->have_now = true;
    }
    return r->now;
}

static vm_value text_value(const char *s, size_t len)
{
    vm_value v = {.type = VM_TYPE_TEXT, .len = (uint32_t)len};
    v.u.text = s ? s : "";
    return v;
}

static vm_value number_value(double d)
{
    vm_value v = {.type = VM_TYPE_NUMBER};
    v.u.number = d;
    return v;
}

static vm_value bool_value(bool b)
{
    vm_value v = {.type = VM_TYPE_BOOL};
    v.u.boolean = b;
    return v;
}

static vm_value visitor_text(const char *s) { return text_value(s, s ? strlen(s) : 0); }

static vm_value fact(run *r, vm_fact f)
{
    const vm_visitor *v = r->h ? r->h->visitor : NULL;
    vm_civil c;
    switch (f) {
    case VM_FACT_VISITOR_NAME: return visitor_text(v ? v->name : NULL);
    case VM_FACT_VISITOR_EMAIL: return visitor_text(v ? v->email : NULL);
    case VM_FACT_VISITOR_PAGE: return visitor_text(v ? v->page : NULL);
    case VM_FACT_VISITOR_DEVICE: return visitor_text(v ? v->device : NULL);
    case VM_FACT_VISITOR_COUNTRY: return visitor_text(v ? v->country : NULL);
    case VM_FACT_VISITOR_RETURNING: return bool_value(v && v->returning);
    case VM_FACT_OPEN: return bool_value(vm_program_open_at(r->p, now(r)));
    case VM_FACT_AGENTS_ONLINE:
        return number_value(r->h && r->h->agents_online ? r->h->agents_online(r->h->ctx, NULL, 0) : 0);
    case VM_FACT_NOW_HOUR:
        vm_tz_local(vm_program_zone(r->p), now(r), &c);
        return number_value(c.hour);
    case VM_FACT_NOW_WEEKDAY:
        vm_tz_local(vm_program_zone(r->p), now(r), &c);
        return text_value(weekdays[c.weekday % 7], 3);
    default: return text_value("", 0);
    }
}

/* A printed value (spec section 4) in scratch or constant memory. */
static bool to_text(run *r, vm_value *v)
{
    if (v->type == VM_TYPE_TEXT)
        return true;
    if (v->type == VM_TYPE_BOOL) {
        *v = v->u.boolean ? text_value("true", 4) : text_value("false", 5);
        return true;
    }
    char *buf = scratch(r, VM_NUMBER_BUF);
    if (!buf)
        return false;
    size_t n = vm_text_format_number(v->u.number, buf);
    *v = text_value(buf, n);
    return true;
}

static bool load_var(run *r, uint32_t var, vm_value *out)
{
    const vm_slot *slot = &r->s->vars[var];
    vm_type t = vm_type_base(r->p->vars[var].type);
    if (t == VM_TYPE_NUMBER) {
        *out = number_value(slot->u.number);
    } else if (t == VM_TYPE_BOOL) {
        *out = bool_value(slot->u.boolean);
    } else {
        /* copied, so a later store into the variable cannot pull the text
         * from under a value still on the stack */
        char *copy = scratch(r, slot->len);
        if (!copy)
            return false;
        if (slot->len)
            memcpy(copy, slot->u.text, slot->len);
        *out = text_value(copy, slot->len);
    }
    return true;
}

static bool store_var(run *r, uint32_t var, const vm_value *v)
{
    vm_slot *slot = &r->s->vars[var];
    vm_type t = vm_type_base(r->p->vars[var].type);
    /* longer texts (a long constant, a host's visitor fact) could be saved
     * but never loaded again: vm_state_load allows VM_MAX_TEXT */
    if (v->type != t || (t == VM_TYPE_TEXT && v->len > VM_MAX_TEXT))
        return false;
    if (t == VM_TYPE_NUMBER)
        slot->u.number = v->u.number;
    else if (t == VM_TYPE_BOOL)
        slot->u.boolean = v->u.boolean;
    else
        return vm_slot_set_text(slot, v->u.text, v->len);
    return true;
}

static int compare_texts(const vm_value *a, const vm_value *b)
{
    uint32_t n = a->len < b->len ? a->len : b->len;
    int c = n ? memcmp(a->u.text, b->u.text, n) : 0;
    if (c)
        return c;
    return a->len < b->len ? -1 : a->len > b->len;
}

static bool values_equal(const vm_value *a, const vm_value *b)
{
    switch (a->type) {
    case VM_TYPE_NUMBER: return a->u.number == b->u.number;
    case VM_TYPE_BOOL: return a->u.boolean == b->u.boolean;
    default: return a->len == b->len && (a->len == 0 || memcmp(a->u.text, b->u.text, a->len) == 0);
    }
}

/* a OP b for LT LE GT GE; false in *ok on mixed types. */
static bool order(vm_opcode op, const vm_value *a, const vm_value *b, bool *ok)
{
    int c;
    if (a->type == VM_TYPE_NUMBER && b->type == VM_TYPE_NUMBER)
        c = a->u.number < b->u.number ? -1 : a->u.number > b->u.number ? 1 : 0;
    else if (a->type == VM_TYPE_TEXT && b->type == VM_TYPE_TEXT)
        c = compare_texts(a, b);
    else
        return *ok = false;
    *ok = true;
    switch (op) {
    case VM_OP_LT: return c < 0;
    case VM_OP_LE: return c <= 0;
    case VM_OP_GT: return c > 0;
    default: return c >= 0;
    }
}

static double arith(vm_opcode op, double a, double b)
{
    double v;
    switch (op) {
    case VM_OP_ADD: v = a + b; break;
    case VM_OP_SUB: v = a - b; break;
    case VM_OP_MUL: v = a * b; break;
    default: v = b == 0 ? 0 : a / b; break;
    }
    /* spec section 5: any result that is not a finite number gives 0 */
    return v - v == 0 ? v : 0;
}

/* ---- the dispatch loop -------------------------------------------------------- */

static bool take_options(run *r, uint32_t pc)
{
    vm_state *s = r->s;
    if (!vm_state_set_buttons(s, r->opt_target, r->opt_label, r->nopts))
        return false;
    r->nopts = 0;
    s->wait = VM_WAIT_CHOICE;
    s->pc = pc;
    emit_buttons(r, pc);
    return true;
}

static bool add_field(run *r, uint32_t name, vm_value v)
{
    if (!r->in_record || r->nfields == VM_MAX_FIELDS)
        return false;
    vm_field *f = &r->fields[r->nfields++];
    f->name = r->p->strings[name];
    f->is_number = v.type == VM_TYPE_NUMBER;
    f->number = f->is_number ? v.u.number : 0;
    if (!to_text(r, &v))
        return false;
    f->value.s = v.u.text;
    f->value.len = v.len;
    return true;
}

/* Handoff with nobody available, or its wait ran out. */
static bool go_offline(run *r, uint32_t handoff_pc, uint32_t *pc)
{
    uint32_t offline = vm_read_operand(r->p->code, handoff_pc, 2);
    if (offline != VM_NONE) {
        *pc = offline;
        return true;
    }
    emit_text(r, VM_EV_SAY, missed_text, sizeof missed_text - 1, handoff_pc);
    finish(r, VM_OUTCOME_MISSED, handoff_pc);
    return false;
}

static bool handoff(run *r, uint32_t pc, uint32_t *next)
{
    const vm_program *p = r->p;
    vm_value online = r->stack[--r->sp];
    uint32_t team = vm_read_operand(p->code, pc, 0);
    const char *tname = team == VM_NONE ? NULL : p->strings[team].s;
    uint32_t tlen = team == VM_NONE ? 0 : p->strings[team].len;
    bool available = vm_program_open_at(p, now(r)) && r->h && r->h->agents_online &&
                     r->h->agents_online(r->h->ctx, tname, tlen) > 0;
    if (!available)
        return go_offline(r, pc, next);
    emit_text(r, VM_EV_SAY, online.u.text, online.len, pc);
    vm_event ev = {.kind = VM_EV_HANDOFF, .text = {tname, tlen}, .seconds = vm_read_operand(p->code, pc, 1)};
    emit(r, &ev, pc);
    r->s->wait = VM_WAIT_HANDOFF;
    r->s->pc = pc;
    return false;
}

#define POP() (r->stack[--r->sp])
#define PUSH(v) (r->stack[r->sp++] = (v))
#define TOP() (r->stack[r->sp - 1])
#define FAIL() goto failed

/* Runs from pc until the conversation waits or ends. */
static void execute(run *r, uint32_t pc)
{
    const vm_program *p = r->p;
    const uint8_t *code = p->code;
    vm_state *s = r->s;
    for (;;) {
        if (++r->steps > VM_STEP_LIMIT)
            FAIL();
        if (r->used || r->chunks)
            reuse_scratch(r);
        vm_opcode op = code[pc];
        uint32_t a = vm_opinfo_table[op].noperands ? vm_read_operand(code, pc, 0) : 0;
        uint32_t next = pc + vm_op_size(op);
        vm_value x, y;
        bool ok;
        switch (op) {
        case VM_OP_PUSH_NUM: PUSH(number_value(p->numbers[a])); break;
        case VM_OP_PUSH_STR: PUSH(text_value(p->strings[a].s, p->strings[a].len)); break;
        case VM_OP_PUSH_BOOL: PUSH(bool_value(a != 0)); break;
        case VM_OP_LOAD:
            if (!load_var(r, a, &x))
                FAIL();
            PUSH(x);
            break;
        case VM_OP_STORE:
            x = POP();
            if (!store_var(r, a, &x))
                FAIL();
            break;
        case VM_OP_FACT: PUSH(fact(r, (vm_fact)a)); break;
        case VM_OP_ADD: case VM_OP_SUB: case VM_OP_MUL: case VM_OP_DIV:
            y = POP();
            x = POP();
            if (x.type != VM_TYPE_NUMBER || y.type != VM_TYPE_NUMBER)
                FAIL();
            PUSH(number_value(arith(op, x.u.number, y.u.number)));
            break;
        case VM_OP_NEG:
            if (TOP().type != VM_TYPE_NUMBER)
                FAIL();
            TOP().u.number = TOP().u.number == 0 ? 0 : -TOP().u.number;
            break;
        case VM_OP_NOT:
            if (TOP().type != VM_TYPE_BOOL)
                FAIL();
            TOP().u.boolean = !TOP().u.boolean;
            break;
        case VM_OP_CONCAT: {
            y = POP();
            x = POP();
            if (x.type != VM_TYPE_TEXT || y.type != VM_TYPE_TEXT || (size_t)x.len + y.len > VM_MAX_TEXT)
                FAIL();
            char *buf = scratch(r, (size_t)x.len + y.len);
            if (!buf)
                FAIL();
            if (x.len)
                memcpy(buf, x.u.text, x.len);
            if (y.len)
                memcpy(buf + x.len, y.u.text, y.len);
            PUSH(text_value(buf, (size_t)x.len + y.len));
            break;
        }
        case VM_OP_TOTEXT:
            if (!to_text(r, &TOP()))
                FAIL();
            break;
        case VM_OP_DEFAULT:
            if (TOP().type != VM_TYPE_TEXT)
                FAIL();
            if (TOP().len == 0)
                TOP() = text_value(p->strings[a].s, p->strings[a].len);
            break;
        case VM_OP_EQ: case VM_OP_NE:
            y = POP();
            x = POP();
            if (x.type != y.type)
                FAIL();
            PUSH(bool_value(values_equal(&x, &y) == (op == VM_OP_EQ)));
            break;
        case VM_OP_LT: case VM_OP_LE: case VM_OP_GT: case VM_OP_GE:
            y = POP();
            x = POP();
            PUSH(bool_value(order(op, &x, &y, &ok)));
            if (!ok)
                FAIL();
            break;
        case VM_OP_CONTAINS:
            y = POP();
            x = POP();
            if (x.type != VM_TYPE_TEXT || y.type != VM_TYPE_TEXT)
                FAIL();
            PUSH(bool_value(vm_text_contains_ci(x.u.text, x.len, y.u.text, y.len)));
            break;
        case VM_OP_JUMP: next = a; break;
        case VM_OP_JUMP_FALSE:
            x = POP();
            if (x.type != VM_TYPE_BOOL)
                FAIL();
            if (!x.u.boolean)
                next = a;
            break;
        case VM_OP_ENTER: {
            vm_event ev = {.kind = VM_EV_NODE, .node = a};
            emit(r, &ev, pc);
            break;
        }
        case VM_OP_SAY:
            x = POP();
            if (x.type != VM_TYPE_TEXT)
                FAIL();
            /* text sent counts against the step limit (a step per 64
             * bytes): a loop cannot flood the host with gigabytes */
            r->steps += x.len / 64;
            emit_text(r, VM_EV_SAY, x.u.text, x.len, pc);
            break;
        case VM_OP_PAUSE: {
            uint32_t b = vm_read_operand(code, pc, 1);
            vm_event ev = {.kind = VM_EV_PAUSE, .seconds = a, .text = p->strings[b]};
            emit(r, &ev, pc);
            break;
        }
        case VM_OP_TAG: emit_text(r, VM_EV_TAG, p->strings[a].s, p->strings[a].len, pc); break;
        case VM_OP_RECORD:
            r->in_record = true;
            r->record_deal = a == 1;
            r->nfields = 0;
            break;
        case VM_OP_FIELD:
            if (!add_field(r, a, POP()))
                FAIL();
            break;
        case VM_OP_COMMIT: {
            if (!r->in_record)
                FAIL();
            vm_event ev = {.kind = VM_EV_RECORD, .record_deal = r->record_deal, .fields = r->fields,
                           .nfields = r->nfields};
            emit(r, &ev, pc);
            r->in_record = false;
            s->recorded = true;
            break;
        }
        case VM_OP_OPTION:
            x = POP();
            if (x.type != VM_TYPE_TEXT || x.len > VM_MAX_TEXT || r->nopts == VM_MAX_BUTTONS)
                FAIL();
            r->opt_target[r->nopts] = a;
            r->opt_label[r->nopts].s = x.u.text;
            r->opt_label[r->nopts].len = x.len;
            r->nopts++;
            break;
        case VM_OP_CHOICE:
        case VM_OP_CHOICE_PROMPT:
            if (op == VM_OP_CHOICE_PROMPT) {
                x = POP();
                if (x.type != VM_TYPE_TEXT)
                    FAIL();
                if (r->nopts)
                    emit_text(r, VM_EV_SAY, x.u.text, x.len, pc);
            }
            if (!r->nopts)
                break; /* no option visible: the choice is skipped */
            if (!take_options(r, pc))
                FAIL();
            goto done;
        case VM_OP_REOFFER:
            if (r->resume_choice == VM_NONE || !s->nbuttons)
                FAIL();
            s->wait = VM_WAIT_CHOICE;
            s->pc = r->resume_choice;
            emit_buttons(r, pc);
            goto done;
        case VM_OP_ASK: {
            vm_event ev = {.kind = VM_EV_ASK, .ask_type = r->p->vars[a].type};
            emit(r, &ev, pc);
            s->wait = VM_WAIT_ASK;
            s->pc = pc;
            goto done;
        }
        case VM_OP_HANDOFF:
            if (TOP().type != VM_TYPE_TEXT) /* the online text */
                FAIL();
            if (!handoff(r, pc, &next))
                goto done;
            break;
        case VM_OP_END:
            finish(r, s->recorded ? VM_OUTCOME_LEAD : VM_OUTCOME_RESOLVED, pc);
            goto done;
        default: FAIL();
        }
        pc = next;
    }
failed:
    finish(r, VM_OUTCOME_ERROR, pc);
done:
    return;
}

/* Runs the state from `pc` (after an input), counting steps. The run's
 * working memory (about 25 KB, mostly the value stack) lives on the C stack
 * and only the parts used are touched. */
static void run_from(vm_state *s, const vm_host *h, uint32_t pc, uint32_t resume_choice)
{
    run r;
    r.s = s;
    r.h = h;
    r.p = s->prog;
    r.steps = 0;
    r.resume_choice = resume_choice;
    r.have_now = false;
    r.nopts = 0;
    r.in_record = false;
    r.nfields = 0;
    r.used = 0;
    r.chunks = NULL;
    r.heap = 0;
    r.sp = 0;
    execute(&r, pc);
    s->last_steps = r.steps;
    free_scratch(&r);
}

/* ---- inputs ------------------------------------------------------------------------ */

static vm_status ready(const vm_state *s)
{
    if (s->wait == VM_WAIT_START)
        return VM_ERR_NOT_STARTED;
    if (s->wait == VM_WAIT_ENDED)
        return VM_ERR_ENDED;
    return VM_OK;
}

vm_status vm_start(vm_state *s, const vm_host *h)
{
    if (s->wait != VM_WAIT_START)
        return s->wait == VM_WAIT_ENDED ? VM_ERR_ENDED : VM_ERR_STARTED;
    run_from(s, h, s->prog->entry_pc, VM_NONE);
    return VM_OK;
}

/* The first keyword trigger (in source order) that matches typed text. */
static int32_t match_trigger(const vm_program *p, const char *text, size_t len)
{
    for (uint32_t i = 0; i < p->ntriggers; i++) {
        vm_text_ref w = p->strings[p->triggers[i].word];
        if (vm_text_has_word_ci(text, len, w.s, w.len))
            return (int32_t)p->nodes[p->triggers[i].node].entry;
    }
    return -1;
}

static vm_status take_button(vm_state *s, const vm_host *h, uint32_t i)
{
    uint32_t target = s->buttons[i].target;
    vm_state_clear_buttons(s);
    run_from(s, h, target, VM_NONE);
    return VM_OK;
}

static vm_status text_at_choice(vm_state *s, const vm_host *h, const char *text, size_t len)
{
    size_t start, n;
    vm_text_trim(text, len, &start, &n);
    for (uint32_t i = 0; i < s->nbuttons; i++) {
        size_t ls, ln;
        vm_text_trim(s->buttons[i].label, s->buttons[i].len, &ls, &ln);
        if (vm_text_equal_ci(text + start, n, s->buttons[i].label + ls, ln))
            return take_button(s, h, i);
    }
    int32_t trigger = match_trigger(s->prog, text, len);
    if (trigger >= 0) {
        vm_state_clear_buttons(s);
        run_from(s, h, (uint32_t)trigger, VM_NONE);
    } else {
        run_from(s, h, s->prog->fallback_pc, s->pc);
    }
    return VM_OK;
}

/* Validates and stores an `ask` answer; false when invalid. */
static bool store_answer(vm_state *s, uint32_t var, const char *text, size_t n)
{
    vm_type type = s->prog->vars[var].type;
    double number;
    switch (type) {
    case VM_TYPE_NUMBER:
        if (!vm_text_parse_number(text, n, &number))
            return false;
        s->vars[var].u.number = number;
        return true;
    case VM_TYPE_EMAIL:
        if (!vm_text_valid_email(text, n))
            return false;
        break;
    case VM_TYPE_PHONE:
        if (!vm_text_valid_phone(text, n))
            return false;
        break;
    case VM_TYPE_TEXT:
        if (!vm_text_valid_text(text, n))
            return false;
        break;
    default: return false;
    }
    return vm_slot_set_text(&s->vars[var], text, (uint32_t)n);
}

static vm_status text_at_ask(vm_state *s, const vm_host *h, const char *text, size_t len)
{
    const vm_program *p = s->prog;
    int32_t trigger = match_trigger(p, text, len);
    if (trigger >= 0) {
        run_from(s, h, (uint32_t)trigger, VM_NONE);
        return VM_OK;
    }
    size_t start, n;
    vm_text_trim(text, len, &start, &n);
    uint32_t var = vm_read_operand(p->code, s->pc, 0);
    if (store_answer(s, var, text + start, n))
        run_from(s, h, vm_read_operand(p->code, s->pc, 1), VM_NONE);
    else
        run_from(s, h, s->pc + vm_op_size(VM_OP_ASK), VM_NONE);
    return VM_OK;
}

vm_status vm_send_text(vm_state *s, const vm_host *h, const char *text, size_t len)
{
    vm_status st = ready(s);
    if (st != VM_OK)
        return st;
    switch (s->wait) {
    case VM_WAIT_CHOICE: return text_at_choice(s, h, text, len);
    case VM_WAIT_ASK: return text_at_ask(s, h, text, len);
    default: return VM_IGNORED; /* waiting for an agent: the text is for them */
    }
}

vm_status vm_click(vm_state *s, const vm_host *h, uint32_t button)
{
    vm_status st = ready(s);
    if (st != VM_OK)
        return st;
    if (s->wait != VM_WAIT_CHOICE)
        return VM_ERR_NO_CHOICE;
    if (button >= s->nbuttons)
        return VM_ERR_NO_BUTTON;
    return take_button(s, h, button);
}

vm_status vm_taken(vm_state *s, const vm_host *h)
{
    vm_status st = ready(s);
    if (st != VM_OK)
        return st;
    if (s->wait != VM_WAIT_HANDOFF)
        return VM_ERR_NO_HANDOFF;
    s->wait = VM_WAIT_ENDED;
    s->outcome = VM_OUTCOME_HANDOFF;
    vm_event ev = {.kind = VM_EV_END, .outcome = VM_OUTCOME_HANDOFF, .pc = s->pc};
    if (h && h->emit)
        h->emit(h->ctx, &ev);
    return VM_OK;
}

vm_status vm_timeout(vm_state *s, const vm_host *h)
{
    vm_status st = ready(s);
    if (st != VM_OK)
        return st;
    if (s->wait != VM_WAIT_HANDOFF)
        return VM_ERR_NO_HANDOFF;
    uint32_t offline = vm_read_operand(s->prog->code, s->pc, 2);
    if (offline != VM_NONE) {
        run_from(s, h, offline, VM_NONE);
        return VM_OK;
    }
    vm_event say = {.kind = VM_EV_SAY, .text = {missed_text, sizeof missed_text - 1}, .pc = s->pc};
    vm_event end = {.kind = VM_EV_END, .outcome = VM_OUTCOME_MISSED, .pc = s->pc};
    s->wait = VM_WAIT_ENDED;
    s->outcome = VM_OUTCOME_MISSED;
    if (h && h->emit) {
        h->emit(h->ctx, &say);
        h->emit(h->ctx, &end);
    }
    return VM_OK;
}

const char *vm_status_text(vm_status s)
{
    switch (s) {
    case VM_OK: return "ok";
    case VM_IGNORED: return "the bot is waiting for an agent";
    case VM_ERR_NOT_STARTED: return "the conversation has not started";
    case VM_ERR_STARTED: return "the conversation has already started";
    case VM_ERR_ENDED: return "the conversation has ended";
    case VM_ERR_NO_CHOICE: return "no buttons are offered";
    case VM_ERR_NO_BUTTON: return "no such button";
    case VM_ERR_NO_HANDOFF: return "no handoff is waiting";
    }
    return "unknown status";
}

const char *vm_outcome_name(vm_outcome o)
{
    static const char *const names[] = {"none", "resolved", "lead", "handoff", "missed", "abandoned", "error"};
    return (unsigned)o < sizeof names / sizeof names[0] ? names[o] : "unknown";
}
