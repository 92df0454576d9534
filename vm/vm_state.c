/* vm_state.c - conversation states: creation, variables, and the saved form.
 *
 * Saved state layout (little-endian, varints are LEB128):
 *
 *   u8      0xF5 magic
 *   u8      state format version (1)
 *   u64     program id (vm_program_id)
 *   u8      wait (low 4 bits) | recorded (bit 4)
 *   [u8     outcome]                      only when ended
 *   varint  pc of the waiting instruction
 *   [varint button count, then per button: varint target, varint length, label]
 *                                         only at a choice
 *   per variable, in program order, by its declared type:
 *     number  varint: zig-zag integer << 1 (low bit 0), or 1 then f64 (low bit 1)
 *     bool    u8
 *     text    varint length, bytes
 *   u32     CRC-32 of everything before it
 *
 * A typical conversation saves in well under 100 bytes; the fixed part is
 * 20 bytes or less.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "vm_internal.h"
#include "vm_text.h"

#define STATE_MAGIC 0xF5
#define STATE_VERSION 1

bool vm_slot_set_text(vm_slot *slot, const char *s, uint32_t len)
{
    if (len > slot->cap) {
        uint32_t cap = (len + 15) & ~15u;
        char *p = realloc(slot->u.text, cap);
        if (!p)
            return false;
        slot->u.text = p;
        slot->cap = cap;
    }
    if (len)
        memmove(slot->u.text, s, len);
    slot->len = len;
    return true;
}

void vm_state_init_vars(vm_state *s)
{
    const vm_program *p = s->prog;
    for (uint32_t i = 0; i < p->nvars; i++) {
        const vm_var_info *v = &p->vars[i];
        vm_slot *slot = &s->vars[i];
        if (!v->has_init)
            continue;
        if (vm_type_base(v->type) == VM_TYPE_NUMBER)
            slot->u.number = v->init_number;
        else if (v->type == VM_TYPE_BOOL)
            slot->u.boolean = v->init_bool;
        else
            vm_slot_set_text(slot, v->init_text.s, v->init_text.len);
    }
}

static vm_state *alloc_state(const vm_program *p)
{
    vm_state *s = calloc(1, sizeof *s + sizeof(vm_slot) * p->nvars);
    if (s)
        s->prog = p;
    return s;
}

vm_state *vm_state_new(const vm_program *p)
{
    vm_state *s = alloc_state(p);
    if (s)
        vm_state_init_vars(s);
    return s;
}

static bool is_text_var(const vm_program *p, uint32_t i) { return vm_type_base(p->vars[i].type) == VM_TYPE_TEXT; }

void vm_state_free(vm_state *s)
{
    if (!s)
        return;
    for (uint32_t i = 0; i < s->prog->nvars; i++)
        if (is_text_var(s->prog, i))
            free(s->vars[i].u.text);
    free(s->buttons);
    free(s);
}

void vm_state_clear_buttons(vm_state *s)
{
    free(s->buttons);
    s->buttons = NULL;
    s->nbuttons = 0;
}

bool vm_state_set_buttons(vm_state *s, const uint32_t *targets, const vm_text_ref *labels, uint32_t n)
{
    vm_state_clear_buttons(s);
    if (n > VM_MAX_BUTTONS)
        return false;
    size_t bytes = sizeof(vm_saved_button) * n;
    for (uint32_t i = 0; i < n; i++)
        bytes += labels[i].len;
    vm_saved_button *b = malloc(bytes ? bytes : 1);
    if (!b)
        return false;
    char *text = (char *)(b + n);
    for (uint32_t i = 0; i < n; i++) {
        b[i].target = targets[i];
        b[i].len = labels[i].len;
        b[i].label = text;
        if (labels[i].len)
            memcpy(text, labels[i].s, labels[i].len);
        text += labels[i].len;
    }
    s->buttons = b;
    s->nbuttons = (uint8_t)n;
    return true;
}

/* ---- queries ---------------------------------------------------------------- */

vm_wait vm_state_wait(const vm_state *s) { return (vm_wait)s->wait; }
vm_outcome vm_state_outcome(const vm_state *s) { return (vm_outcome)s->outcome; }
uint32_t vm_state_last_steps(const vm_state *s) { return s->last_steps; }

uint32_t vm_state_buttons(const vm_state *s, vm_text_ref *out, uint32_t max)
{
    for (uint32_t i = 0; i < s->nbuttons && i < max; i++) {
        out[i].s = s->buttons[i].label;
        out[i].len = s->buttons[i].len;
    }
    return s->nbuttons;
}

vm_type vm_state_ask_type(const vm_state *s)
{
    if (s->wait != VM_WAIT_ASK)
        return VM_TYPE_TEXT;
    return s->prog->vars[vm_read_operand(s->prog->code, s->pc, 0)].type;
}

const char *vm_state_var_text(const vm_state *s, uint32_t var, char *numbuf, uint32_t *len)
{
    if (var >= s->prog->nvars) {
        *len = 0;
        return "";
    }
    const vm_slot *slot = &s->vars[var];
    switch (vm_type_base(s->prog->vars[var].type)) {
    case VM_TYPE_NUMBER: *len = (uint32_t)vm_text_format_number(slot->u.number, numbuf); return numbuf;
    case VM_TYPE_BOOL: *len = slot->u.boolean ? 4 : 5; return slot->u.boolean ? "true" : "false";
    default: *len = slot->len; return slot->len ? slot->u.text : "";
    }
}

size_t vm_state_memory(const vm_state *s)
{
    size_t n = sizeof *s + sizeof(vm_slot) * s->prog->nvars;
    for (uint32_t i = 0; i < s->prog->nvars; i++)
        if (is_text_var(s->prog, i))
            n += s->vars[i].cap;
    if (s->buttons) {
        n += sizeof(vm_saved_button) * s->nbuttons;
        for (uint32_t i = 0; i < s->nbuttons; i++)
            n += s->buttons[i].len;
    }
    return n;
}

/* ---- saving ------------------------------------------------------------------- */

static void put_number(vm_buf *b, double v)
{
    if (v == floor(v) && fabs(v) < 9007199254740992.0 && !(v == 0 && signbit(v))) {
        int64_t i = (int64_t)v;
        uint64_t zz = ((uint64_t)i << 1) ^ (uint64_t)(i >> 63);
        vm_buf_put_varint(b, zz << 1);
    } else {
        vm_buf_put_varint(b, 1);
        vm_buf_put_f64(b, v);
    }
}

bool vm_state_save(const vm_state *s, vm_buf *out)
{
    const vm_program *p = s->prog;
    size_t start = out->len;
    vm_buf_put_u8(out, STATE_MAGIC);
    vm_buf_put_u8(out, STATE_VERSION);
    vm_buf_put_u64(out, p->id);
    vm_buf_put_u8(out, (uint8_t)(s->wait | (s->recorded ? 0x10 : 0)));
    if (s->wait == VM_WAIT_ENDED)
        vm_buf_put_u8(out, s->outcome);
    vm_buf_put_varint(out, s->pc);
    if (s->wait == VM_WAIT_CHOICE) {
        vm_buf_put_varint(out, s->nbuttons);
        for (uint32_t i = 0; i < s->nbuttons; i++) {
            vm_buf_put_varint(out, s->buttons[i].target);
            vm_buf_put_str(out, s->buttons[i].label, s->buttons[i].len);
        }
    }
    for (uint32_t i = 0; i < p->nvars; i++) {
        const vm_slot *slot = &s->vars[i];
        switch (vm_type_base(p->vars[i].type)) {
        case VM_TYPE_NUMBER: put_number(out, slot->u.number); break;
        case VM_TYPE_BOOL: vm_buf_put_u8(out, slot->u.boolean); break;
        default: vm_buf_put_str(out, slot->len ? slot->u.text : "", slot->len); break;
        }
    }
    if (out->oom)
        return false;
    vm_buf_put_u32(out, (uint32_t)crc32(0L, out->data + start, (uInt)(out->len - start)));
    return !out->oom;
}

/* ---- loading ---------------------------------------------------------------------- */

static bool refuse(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static bool refuse(char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return false;
}

static double read_number(vm_reader *r)
{
    uint64_t v = vm_read_varint(r);
    if (v & 1) {
        if (v != 1)
            r->err = true;
        return vm_read_f64(r);
    }
    uint64_t zz = v >> 1;
    return (double)((int64_t)(zz >> 1) ^ -(int64_t)(zz & 1));
}

/* The position must be an instruction of the right kind with an empty stack. */
static bool check_position(const vm_program *p, vm_wait wait, uint32_t pc)
{
    if (wait == VM_WAIT_START || wait == VM_WAIT_ENDED)
        return true;
    if (!vm_is_reached(p, pc))
        return false;
    vm_opcode op = p->code[pc];
    if (wait == VM_WAIT_CHOICE)
        return op == VM_OP_CHOICE || op == VM_OP_CHOICE_PROMPT;
    if (wait == VM_WAIT_ASK)
        return op == VM_OP_ASK;
    return op == VM_OP_HANDOFF;
}

static bool read_buttons(vm_state *s, vm_reader *r)
{
    uint64_t n = vm_read_varint(r);
    if (r->err || n == 0 || n > VM_MAX_BUTTONS)
        return false;
    uint32_t targets[VM_MAX_BUTTONS];
    vm_text_ref labels[VM_MAX_BUTTONS];
    for (uint64_t i = 0; i < n; i++) {
        uint64_t t = vm_read_varint(r);
        size_t len;
        const char *label = vm_read_str(r, &len);
        if (r->err || t > UINT32_MAX || !vm_is_resumable(s->prog, (uint32_t)t) || len > VM_MAX_TEXT)
            return false;
        targets[i] = (uint32_t)t;
        labels[i].s = label;
        labels[i].len = (uint32_t)len;
    }
    return vm_state_set_buttons(s, targets, labels, (uint32_t)n);
}

static bool read_vars(vm_state *s, vm_reader *r)
{
    const vm_program *p = s->prog;
    for (uint32_t i = 0; i < p->nvars; i++) {
        vm_slot *slot = &s->vars[i];
        switch (vm_type_base(p->vars[i].type)) {
        case VM_TYPE_NUMBER: slot->u.number = read_number(r); break;
        case VM_TYPE_BOOL: {
            uint8_t b = vm_read_u8(r);
            if (b > 1)
                return false;
            slot->u.boolean = b;
            break;
        }
        default: {
            size_t len;
            const char *t = vm_read_str(r, &len);
            if (r->err || len > VM_MAX_TEXT || !vm_slot_set_text(slot, t, (uint32_t)len))
                return false;
            break;
        }
        }
        if (r->err)
            return false;
    }
    return true;
}

vm_state *vm_state_load(const vm_program *p, const void *bytes, size_t len, char *err, size_t errlen)
{
    const uint8_t *b = bytes;
    if (len < 15 || b[0] != STATE_MAGIC)
        return refuse(err, errlen, "not a saved conversation state"), NULL;
    if (b[1] != STATE_VERSION)
        return refuse(err, errlen, "saved state version %u is not supported", b[1]), NULL;
    vm_reader crc_r = vm_reader_make(b + len - 4, 4);
    if ((uint32_t)crc32(0L, b, (uInt)(len - 4)) != vm_read_u32(&crc_r))
        return refuse(err, errlen, "saved state is damaged (checksum mismatch)"), NULL;
    vm_reader r = vm_reader_make(b + 2, len - 6);
    if (vm_read_u64(&r) != p->id)
        return refuse(err, errlen, "saved state belongs to another program"), NULL;
    uint8_t flags = vm_read_u8(&r);
    vm_wait wait = (vm_wait)(flags & 0x0f);
    uint8_t outcome = wait == VM_WAIT_ENDED ? vm_read_u8(&r) : 0;
    uint64_t pc = vm_read_varint(&r);
    if (r.err || wait > VM_WAIT_ENDED || (flags & ~0x1fu) || pc > UINT32_MAX ||
        (wait == VM_WAIT_ENDED && (outcome == 0 || outcome > VM_OUTCOME_ERROR)) ||
        !check_position(p, wait, (uint32_t)pc))
        return refuse(err, errlen, "saved state is damaged (bad position)"), NULL;
    vm_state *s = alloc_state(p);
    if (!s)
        return refuse(err, errlen, "out of memory"), NULL;
    s->wait = (uint8_t)wait;
    s->outcome = outcome;
    s->recorded = flags & 0x10;
    s->pc = (uint32_t)pc;
    bool ok = (wait != VM_WAIT_CHOICE || read_buttons(s, &r)) && read_vars(s, &r);
    if (!ok || r.err || vm_reader_left(&r) != 0) {
        vm_state_free(s);
        return refuse(err, errlen, "saved state is damaged (bad buttons or variables)"), NULL;
    }
    return s;
}
