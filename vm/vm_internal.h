/* vm_internal.h - the VM's private structures, shared by vm_program.c
 * (loader, verifier), vm_exec.c (interpreter) and vm_state.c (save/load).
 * Nothing outside vm/ includes this. */
#ifndef VM_INTERNAL_H
#define VM_INTERNAL_H

#include "vm.h"

typedef struct vm_var_info {
    vm_type type;
    vm_text_ref name;
    bool has_init;
    double init_number;
    bool init_bool;
    vm_text_ref init_text;
} vm_var_info;

typedef struct vm_node_info {
    vm_text_ref name;
    uint32_t entry, line, col;
} vm_node_info;

typedef struct vm_trigger {
    uint32_t word; /* string index */
    uint32_t node;
} vm_trigger;

typedef struct vm_range {
    uint8_t day;
    uint16_t start, end;
} vm_range;

struct vm_program {
    uint8_t *blob; /* owned copy of the bytecode; text refs point into it */
    size_t blob_len;
    uint64_t id;
    vm_text_ref name, source;
    char *name_z, *source_z; /* NUL-terminated copies */
    vm_text_ref *strings;
    uint32_t nstrings;
    double *numbers;
    uint32_t nnumbers;
    vm_var_info *vars;
    uint32_t nvars;
    vm_node_info *nodes;
    uint32_t nnodes;
    vm_trigger *triggers;
    uint32_t ntriggers;
    uint32_t entry_pc, fallback_pc;
    bool has_hours;
    vm_tz tz;
    vm_range *ranges;
    uint32_t nranges;
    const uint8_t *code;
    uint32_t code_len;
    uint32_t *line_pc, *line_no, *line_col;
    uint32_t nlines;
    uint8_t *resumable; /* bitmap over code offsets: instruction start with an empty stack */
    uint8_t *reached;   /* bitmap: instruction start the verifier reached */
    uint32_t max_stack;
};

/* A variable's storage in a conversation: 16 bytes. Texts are owned. */
typedef struct vm_slot {
    union {
        double number;
        bool boolean;
        char *text;
    } u;
    uint32_t len, cap;
} vm_slot;

typedef struct vm_saved_button {
    uint32_t target;
    uint32_t len;
    char *label;
} vm_saved_button;

struct vm_state {
    const vm_program *prog;
    uint32_t pc;           /* the waiting instruction */
    uint8_t wait;          /* vm_wait */
    uint8_t outcome;       /* vm_outcome once ended */
    bool recorded;         /* a lead or deal was sent: `end` means outcome lead */
    uint8_t nbuttons;
    uint32_t last_steps;
    vm_saved_button *buttons; /* one allocation holding entries and labels */
    vm_slot vars[];
};

static inline uint32_t vm_read_operand(const uint8_t *code, uint32_t pc, int i)
{
    const uint8_t *b = code + pc + 1 + 4 * i;
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

/* A button's target: execution may begin here with an empty stack. */
static inline bool vm_is_resumable(const vm_program *p, uint32_t pc)
{
    return pc < p->code_len && (p->resumable[pc / 8] >> (pc % 8) & 1);
}

/* A wait position: the verifier checked this instruction and its paths. */
static inline bool vm_is_reached(const vm_program *p, uint32_t pc)
{
    return pc < p->code_len && (p->reached[pc / 8] >> (pc % 8) & 1);
}

/* vm_state.c: variable storage shared with the interpreter. */
bool vm_slot_set_text(vm_slot *slot, const char *s, uint32_t len);
void vm_state_init_vars(vm_state *s);
bool vm_state_set_buttons(vm_state *s, const uint32_t *targets, const vm_text_ref *labels, uint32_t n);
void vm_state_clear_buttons(vm_state *s);

#endif
