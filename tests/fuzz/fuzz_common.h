/* fuzz_common.h - shared pieces of the libFuzzer targets (tests/fuzz/).
 *
 * A host whose callbacks read every byte the VM hands them (so ASan sees a
 * dangling or out-of-bounds event pointer at once), checks of the public
 * accessors, and the save/load round trip that must never fail for a state
 * the VM itself produced. Everything is `static inline` so each target uses
 * what it needs without unused-function warnings.
 *
 * A broken invariant (as opposed to a refused input, which is fine) calls
 * fuzz_die(): it prints what went wrong and aborts, which libFuzzer reports
 * as a crash with the input saved.
 */
#ifndef FUZZ_COMMON_H
#define FUZZ_COMMON_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "vm.h"
#include "vm_text.h" /* VM_NUMBER_BUF: the size vm_state_var_text needs */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static inline void fuzz_die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static inline void fuzz_die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("\nFUZZ INVARIANT BROKEN: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    abort();
}

/* Loads of every byte end here, so the compiler cannot drop them. */
static volatile uint32_t fuzz_sink;

static inline void fuzz_touch(const void *p, size_t n)
{
    const volatile uint8_t *b = p;
    uint32_t h = 0;
    for (size_t i = 0; i < n; i++)
        h = h * 31 + b[i];
    fuzz_sink += h;
}

static inline void fuzz_touch_ref(vm_text_ref t, const char *what)
{
    if (t.len && !t.s)
        fuzz_die("%s: NULL text with length %u", what, t.len);
    if (t.len)
        fuzz_touch(t.s, t.len);
}

/* ---- the host -------------------------------------------------------------- */

typedef struct fuzz_host {
    vm_host host;
    vm_visitor visitor;
    const vm_program *prog;
    int64_t now;
    uint32_t agents;
    uint32_t events;
} fuzz_host;

static inline void fuzz_emit(void *ctx, const vm_event *ev)
{
    fuzz_host *fh = ctx;
    fh->events++;
    if ((unsigned)ev->kind > VM_EV_NODE)
        fuzz_die("event of unknown kind %d", (int)ev->kind);
    fuzz_touch_ref(ev->text, "event text");
    /* only a handoff without a team may send a NULL text */
    if (!ev->text.s && (ev->kind == VM_EV_SAY || ev->kind == VM_EV_TAG || ev->kind == VM_EV_PAUSE))
        fuzz_die("event of kind %d with a NULL text", (int)ev->kind);
    if (ev->nbuttons > VM_MAX_BUTTONS || (ev->nbuttons && !ev->buttons))
        fuzz_die("event with %u buttons at %p", ev->nbuttons, (const void *)ev->buttons);
    for (uint32_t i = 0; i < ev->nbuttons; i++)
        fuzz_touch_ref(ev->buttons[i], "button label");
    if (ev->nfields > VM_MAX_FIELDS || (ev->nfields && !ev->fields))
        fuzz_die("record with %u fields at %p", ev->nfields, (const void *)ev->fields);
    for (uint32_t i = 0; i < ev->nfields; i++) {
        fuzz_touch_ref(ev->fields[i].name, "field name");
        fuzz_touch_ref(ev->fields[i].value, "field value");
    }
    if (ev->kind == VM_EV_END && (ev->outcome == VM_OUTCOME_NONE || ev->outcome > VM_OUTCOME_ERROR))
        fuzz_die("end event with outcome %d", (int)ev->outcome);
    if (ev->kind == VM_EV_NODE) {
        if (ev->node >= vm_program_node_count(fh->prog))
            fuzz_die("node event for node %u of %u", ev->node, vm_program_node_count(fh->prog));
        fuzz_touch_ref(vm_program_node_name(fh->prog, ev->node), "node name");
    }
    uint32_t line, col;
    vm_program_position(fh->prog, ev->pc, &line, &col);
    fuzz_sink += line + col;
}

static inline int64_t fuzz_now(void *ctx) { return ((fuzz_host *)ctx)->now; }

static inline uint32_t fuzz_agents(void *ctx, const char *team, size_t len)
{
    if (len && !team)
        fuzz_die("agents_online: NULL team with length %zu", len);
    if (len)
        fuzz_touch(team, len);
    return ((fuzz_host *)ctx)->agents;
}

/* Monday 2026-01-05 12:00 UTC: inside most business hours. */
#define FUZZ_MONDAY_NOON INT64_C(1767614400)

static inline void fuzz_host_init(fuzz_host *fh, const vm_program *p, int64_t now, uint32_t agents, bool visitor)
{
    memset(fh, 0, sizeof *fh);
    fh->prog = p;
    fh->now = now;
    fh->agents = agents;
    fh->visitor.name = "Ann";
    fh->visitor.email = "ann@example.com";
    fh->visitor.page = "/pricing";
    fh->visitor.device = "mobile";
    fh->visitor.country = "PL";
    fh->visitor.returning = true;
    fh->host.ctx = fh;
    fh->host.emit = fuzz_emit;
    fh->host.now = fuzz_now;
    fh->host.agents_online = fuzz_agents;
    fh->host.visitor = visitor ? &fh->visitor : NULL;
}

/* ---- programs and states ------------------------------------------------------ */

/* Every read-only accessor of a loaded program. */
static inline void fuzz_poke_program(const vm_program *p)
{
    fuzz_sink += (uint32_t)vm_program_id(p);
    const char *name = vm_program_name(p), *source = vm_program_source(p);
    if (!name || !source)
        fuzz_die("program without a name or source string");
    fuzz_touch(name, strlen(name));
    fuzz_touch(source, strlen(source));
    for (uint32_t i = 0, n = vm_program_node_count(p); i < n && i < 256; i++) {
        fuzz_touch_ref(vm_program_node_name(p, i), "node name");
        fuzz_sink += vm_program_node_entry(p, i);
    }
    for (uint32_t i = 0, n = vm_program_var_count(p); i < n && i < 256; i++) {
        fuzz_touch_ref(vm_program_var_name(p, i), "variable name");
        fuzz_sink += (uint32_t)vm_program_var_type(p, i);
        char numbuf[VM_NUMBER_BUF];
        vm_text_ref init;
        if (vm_program_var_init(p, i, numbuf, &init))
            fuzz_touch_ref(init, "initial value");
    }
    for (uint32_t i = 0, n = vm_program_trigger_count(p); i < n && i < 256; i++) {
        if (vm_program_trigger_word(p, i) >= vm_program_string_count(p) ||
            vm_program_trigger_node(p, i) >= vm_program_node_count(p))
            fuzz_die("trigger %u names string %u and node %u", i, vm_program_trigger_word(p, i),
                     vm_program_trigger_node(p, i));
    }
    for (uint32_t i = 0, n = vm_program_hours_count(p); i < n && i < 256; i++) {
        int day, start, end;
        vm_program_hours_range(p, i, &day, &start, &end);
        if (day < 0 || day > 6 || start < 0 || start >= end || end > 1440)
            fuzz_die("hours range %u: day %d, %d-%d", i, day, start, end);
    }
    fuzz_sink += vm_program_entry(p) + vm_program_fallback(p) + vm_program_number_count(p);
    for (uint32_t i = 0, n = vm_program_string_count(p); i < n && i < 256; i++) {
        uint32_t len;
        const char *s = vm_program_string(p, i, &len);
        fuzz_touch_ref((vm_text_ref){s, len}, "string constant");
    }
    double num = vm_program_number(p, 0);
    fuzz_touch(&num, sizeof num);
    uint32_t code_len, line, col;
    const uint8_t *code = vm_program_code(p, &code_len);
    fuzz_touch(code, code_len < 4096 ? code_len : 4096);
    for (uint32_t pc = 0; pc < code_len && pc < 4096; pc += 7) {
        vm_program_position(p, pc, &line, &col);
        fuzz_sink += line + col;
    }
    vm_program_position(p, UINT32_MAX, &line, &col);
    const vm_tz *tz = vm_program_zone(p);
    if (tz)
        fuzz_touch(tz->name, strnlen(tz->name, sizeof tz->name));
    static const int64_t instants[] = {0, FUZZ_MONDAY_NOON, -1, INT64_MIN, INT64_MAX, INT64_C(4102444800)};
    for (size_t i = 0; i < sizeof instants / sizeof instants[0]; i++)
        fuzz_sink += vm_program_open_at(p, instants[i]);
}

/* Every query of a state, with its invariants. */
static inline void fuzz_poke_state(const vm_program *p, const vm_state *s)
{
    vm_wait w = vm_state_wait(s);
    if ((unsigned)w > VM_WAIT_ENDED)
        fuzz_die("state waits for %d", (int)w);
    vm_outcome o = vm_state_outcome(s);
    if (w == VM_WAIT_ENDED && (o == VM_OUTCOME_NONE || o > VM_OUTCOME_ERROR))
        fuzz_die("ended state with outcome %d", (int)o);
    vm_text_ref b[VM_MAX_BUTTONS];
    uint32_t nb = vm_state_buttons(s, b, VM_MAX_BUTTONS);
    if (nb > VM_MAX_BUTTONS)
        fuzz_die("state offers %u buttons", nb);
    if (w == VM_WAIT_CHOICE && nb == 0)
        fuzz_die("state waits at a choice without buttons");
    for (uint32_t i = 0; i < nb; i++)
        fuzz_touch_ref(b[i], "state button");
    vm_type t = vm_state_ask_type(s);
    if ((unsigned)t > VM_TYPE_PHONE)
        fuzz_die("ask type %d", (int)t);
    for (uint32_t i = 0, n = vm_program_var_count(p); i < n && i < 256; i++) {
        char numbuf[VM_NUMBER_BUF];
        uint32_t len;
        const char *v = vm_state_var_text(s, i, numbuf, &len);
        fuzz_touch_ref((vm_text_ref){v, len}, "variable value");
    }
    fuzz_sink += vm_state_last_steps(s) + (uint32_t)vm_state_memory(s);
}

/* Saves s, loads it back and saves again: the loader must accept what the
 * VM saved, and the two saved forms must be identical. Returns the loaded
 * state (s is freed), so the conversation goes on from the restored copy. */
static inline vm_state *fuzz_roundtrip(const vm_program *p, vm_state *s)
{
    vm_buf a = {0}, b = {0};
    if (!vm_state_save(s, &a))
        fuzz_die("vm_state_save failed (out of memory?)");
    char err[256];
    vm_state *t = vm_state_load(p, a.data, a.len, err, sizeof err);
    if (!t) {
        fprintf(stderr, "saved state (%zu bytes):", a.len);
        for (size_t i = 0; i < a.len && i < 64; i++)
            fprintf(stderr, " %02x", a.data[i]);
        fuzz_die("vm_state_load refused a state vm_state_save just wrote: %s", err);
    }
    if (!vm_state_save(t, &b))
        fuzz_die("vm_state_save of a loaded state failed");
    if (a.len != b.len || memcmp(a.data, b.data, a.len) != 0)
        fuzz_die("save/load/save changed the saved state (%zu bytes, then %zu)", a.len, b.len);
    if (vm_state_wait(t) != vm_state_wait(s) || vm_state_outcome(t) != vm_state_outcome(s))
        fuzz_die("the loaded state waits or ended differently");
    vm_buf_free(&a);
    vm_buf_free(&b);
    vm_state_free(s);
    return t;
}

/* Sets the CRC-32 (and, when fix_len, the payload length) of a program in
 * the bytecode layout of vm_bytecode.h. */
static inline void fuzz_fix_program(uint8_t *b, size_t n, bool fix_len)
{
    if (n < VM_HEADER_SIZE)
        return;
    uint32_t payload = (uint32_t)(n - VM_HEADER_SIZE);
    if (fix_len)
        for (int i = 0; i < 4; i++)
            b[8 + i] = (uint8_t)(payload >> (8 * i));
    uint32_t crc = (uint32_t)crc32(0L, b + VM_HEADER_SIZE, (uInt)(n - VM_HEADER_SIZE));
    for (int i = 0; i < 4; i++)
        b[12 + i] = (uint8_t)(crc >> (8 * i));
}

/* Sets the closing CRC-32 of a saved state (of all bytes before it). */
static inline void fuzz_fix_state(uint8_t *b, size_t n)
{
    if (n < 4)
        return;
    uint32_t crc = (uint32_t)crc32(0L, b, (uInt)(n - 4));
    for (int i = 0; i < 4; i++)
        b[n - 4 + i] = (uint8_t)(crc >> (8 * i));
}

#endif
