/* vm.h - the conversation VM: the only header the runtime and flowc use.
 *
 * A vm_program is loaded once from bytecode, verified completely, and then
 * shared read-only by every conversation and thread. A vm_state is one
 * conversation: a position, what it waits for, and its variables (a few
 * hundred bytes). One state must be used by one thread at a time; there are
 * no globals.
 *
 *   program = vm_program_load(bytes)           verify everything first
 *   state   = vm_state_new(program)
 *   vm_start(state, &host)                     runs to the first wait
 *   vm_send_text / vm_click / vm_taken / vm_timeout
 *   vm_state_save(state, &buf)                 after every step
 *   state   = vm_state_load(program, bytes)    after a restart
 *
 * Outputs (messages, buttons, records, handoff, end) are delivered to the
 * host's emit callback while a call runs; pointers in an event are valid only
 * during the callback. The host answers questions about the world (the
 * clock, agents online, the visitor) through the same vm_host.
 */
#ifndef VM_H
#define VM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vm_buf.h"
#include "vm_bytecode.h"
#include "vm_tz.h"

typedef struct vm_program vm_program;
typedef struct vm_state vm_state;

/* A text that is not NUL-terminated. */
typedef struct vm_text_ref {
    const char *s;
    uint32_t len;
} vm_text_ref;

/* ---- programs ---------------------------------------------------------- */

/* Checks header, checksum, every table, operand and jump target, and stack
 * depths on every path; on any problem returns NULL with a message in err.
 * Copies the bytes: the caller may free them. */
vm_program *vm_program_load(const void *bytes, size_t len, char *err, size_t errlen);
void vm_program_free(vm_program *p);

/* A hash of the bytecode: saved states name the program they belong to. */
uint64_t vm_program_id(const vm_program *p);
const char *vm_program_name(const vm_program *p);
const char *vm_program_source(const vm_program *p);
uint32_t vm_program_node_count(const vm_program *p);
vm_text_ref vm_program_node_name(const vm_program *p, uint32_t node);
uint32_t vm_program_var_count(const vm_program *p);
vm_text_ref vm_program_var_name(const vm_program *p, uint32_t var);
vm_type vm_program_var_type(const vm_program *p, uint32_t var);
/* The source position of the instruction at code offset pc (0 if unknown). */
void vm_program_position(const vm_program *p, uint32_t pc, uint32_t *line, uint32_t *col);
/* The compiled time zone of `hours`, or NULL (then times are UTC). */
const vm_tz *vm_program_zone(const vm_program *p);
/* Whether `open` is true at this instant. */
bool vm_program_open_at(const vm_program *p, int64_t utc);

/* Read-only access for disassemblers and tools. */
const uint8_t *vm_program_code(const vm_program *p, uint32_t *len);
const char *vm_program_string(const vm_program *p, uint32_t i, uint32_t *len);
uint32_t vm_program_string_count(const vm_program *p);
double vm_program_number(const vm_program *p, uint32_t i);
uint32_t vm_program_number_count(const vm_program *p);
uint32_t vm_program_node_entry(const vm_program *p, uint32_t node);
/* Code offsets where a conversation starts and where the fallback text is
 * said (typed text that matches no button). */
uint32_t vm_program_entry(const vm_program *p);
uint32_t vm_program_fallback(const vm_program *p);
/* A variable's initial value printed as in spec section 4 into *out (numbuf
 * holds at least VM_NUMBER_BUF, 32, bytes); false when it has none and starts
 * as "", 0 or false. */
bool vm_program_var_init(const vm_program *p, uint32_t var, char *numbuf, vm_text_ref *out);
/* Keyword triggers, one per keyword, in source order: trigger i matches
 * string constant vm_program_trigger_word(p, i) and jumps to node
 * vm_program_trigger_node(p, i). */
uint32_t vm_program_trigger_count(const vm_program *p);
uint32_t vm_program_trigger_word(const vm_program *p, uint32_t i);
uint32_t vm_program_trigger_node(const vm_program *p, uint32_t i);
/* The opening ranges of `hours` (0 without it): range i is open on weekday
 * *day (0 = Monday) from minute *start to minute *end (exclusive) of the day,
 * in the zone of vm_program_zone. */
uint32_t vm_program_hours_count(const vm_program *p);
void vm_program_hours_range(const vm_program *p, uint32_t i, int *day, int *start, int *end);

/* ---- the host -------------------------------------------------------------- */

typedef struct vm_visitor {
    const char *name, *email, *page, *device, *country; /* NUL-terminated; NULL reads as "" */
    bool returning;
} vm_visitor;

typedef enum vm_event_kind {
    VM_EV_SAY,     /* text: a bot message */
    VM_EV_BUTTONS, /* buttons, nbuttons: offered after the messages */
    VM_EV_ASK,     /* ask_type: the visitor should type this kind of answer */
    VM_EV_PAUSE,   /* seconds, text = the duration as written ("2s") */
    VM_EV_TAG,     /* text */
    VM_EV_RECORD,  /* record_deal, fields, nfields */
    VM_EV_HANDOFF, /* text = team (NULL without one), seconds = wait */
    VM_EV_END,     /* outcome */
    VM_EV_NODE,    /* node: execution entered this node (for the funnel) */
} vm_event_kind;

typedef enum vm_outcome {
    VM_OUTCOME_NONE = 0,
    VM_OUTCOME_RESOLVED,
    VM_OUTCOME_LEAD,
    VM_OUTCOME_HANDOFF,
    VM_OUTCOME_MISSED,
    VM_OUTCOME_ABANDONED, /* decided by the runtime, never by the VM */
    VM_OUTCOME_ERROR,
} vm_outcome;

const char *vm_outcome_name(vm_outcome o);

typedef struct vm_field {
    vm_text_ref name;
    vm_text_ref value; /* printed as in spec section 4 */
    bool is_number;
    double number;
} vm_field;

typedef struct vm_event {
    vm_event_kind kind;
    vm_text_ref text;
    uint32_t seconds;
    const vm_text_ref *buttons;
    uint32_t nbuttons;
    vm_type ask_type;
    bool record_deal;
    const vm_field *fields;
    uint32_t nfields;
    vm_outcome outcome;
    uint32_t node;
    uint32_t pc; /* the instruction that produced it (vm_program_position) */
} vm_event;

/* Appends the output as a line of a .chat transcript ("bot: Hi",
 * "buttons: A | B", "lead: email=a@b.c"), without a newline; false (and
 * nothing appended) for outputs a transcript does not show (ask, node). */
bool vm_event_line(const vm_event *ev, vm_buf *out);

typedef struct vm_host {
    void *ctx;
    void (*emit)(void *ctx, const vm_event *ev);
    /* Seconds since the epoch, UTC. NULL: time(NULL). */
    int64_t (*now)(void *ctx);
    /* Agents online for `team` (NULL: any team). NULL: none. */
    uint32_t (*agents_online)(void *ctx, const char *team, size_t len);
    const vm_visitor *visitor; /* NULL: all facts empty */
} vm_host;

/* ---- conversations ------------------------------------------------------------ */

typedef enum vm_wait {
    VM_WAIT_START = 0, /* created, not started */
    VM_WAIT_CHOICE,
    VM_WAIT_ASK,
    VM_WAIT_HANDOFF,
    VM_WAIT_ENDED,
} vm_wait;

typedef enum vm_status {
    VM_OK = 0,
    VM_IGNORED,        /* visitor text during a handoff: for the agents, not the bot */
    VM_ERR_NOT_STARTED,
    VM_ERR_STARTED,
    VM_ERR_ENDED,
    VM_ERR_NO_CHOICE,  /* a click while no buttons are offered */
    VM_ERR_NO_BUTTON,  /* a click on a button that is not offered */
    VM_ERR_NO_HANDOFF, /* taken/timeout while no handoff waits */
} vm_status;

const char *vm_status_text(vm_status s);

vm_state *vm_state_new(const vm_program *p); /* NULL when out of memory */
void vm_state_free(vm_state *s);

vm_status vm_start(vm_state *s, const vm_host *h);
vm_status vm_send_text(vm_state *s, const vm_host *h, const char *text, size_t len);
vm_status vm_click(vm_state *s, const vm_host *h, uint32_t button);
vm_status vm_taken(vm_state *s, const vm_host *h);
vm_status vm_timeout(vm_state *s, const vm_host *h);

vm_wait vm_state_wait(const vm_state *s);
vm_outcome vm_state_outcome(const vm_state *s);
/* The buttons offered while waiting at a choice. */
uint32_t vm_state_buttons(const vm_state *s, vm_text_ref *out, uint32_t max);
/* What an `ask` wait expects (text, email, phone or number). */
vm_type vm_state_ask_type(const vm_state *s);
/* A variable's value printed as in spec section 4; *len gets its length.
 * The pointer is valid until the state changes. */
const char *vm_state_var_text(const vm_state *s, uint32_t var, char *numbuf, uint32_t *len);
/* Instructions run by the last call (for metrics). */
uint32_t vm_state_last_steps(const vm_state *s);
/* Heap bytes held by this state (struct, variables, buttons). */
size_t vm_state_memory(const vm_state *s);

/* Appends the state as a compact, versioned byte string (program id,
 * position, wait, variables, CRC-32). False when out of memory. */
bool vm_state_save(const vm_state *s, vm_buf *out);
/* Restores a saved state against the program it was saved with; any other
 * program, a damaged or truncated string gives NULL and a message. */
vm_state *vm_state_load(const vm_program *p, const void *bytes, size_t len, char *err, size_t errlen);

#endif
