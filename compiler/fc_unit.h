/* fc_unit.h - one file on its way through the compiler passes:
 *
 *   fc_parse_file   text -> tree                       (grammar/, fc_parse.c)
 *   fc_check_unit   names, types, hours, interpolation (fc_check.c)
 *   fc_codegen      tree -> instructions               (fc_codegen.c)
 *   fc_flow_check   cycles, reachability, data flow    (fc_flow.c)
 *   fc_write        instructions -> bytecode file      (fc_codegen.c)
 *
 * Each pass reports what it finds and carries on, so one run reports every
 * error it can.
 */
#ifndef FC_UNIT_H
#define FC_UNIT_H

#include "fc_ast.h"
#include "fc_symtab.h"
#include "vm_buf.h"
#include "vm_tz.h"

typedef struct fc_var {
    fc_name name;
    vm_type type;
    fc_expr *init; /* NULL without an initial value */
    bool read;     /* some expression or interpolation reads it */
    bool poisoned; /* an assignment to it was an error: no data-flow warnings */
    fc_decl *decl;
} fc_var;

typedef struct fc_node {
    fc_str name;
    fc_decl *decl;
    uint32_t entry; /* code offset, set by codegen */
} fc_node;

typedef struct fc_range {
    uint8_t day; /* 0 = Monday */
    uint16_t start, end; /* minutes from midnight, end exclusive, end <= 1440 */
} fc_range;

typedef struct fc_unit {
    fc_file file;
    fc_arena arena;
    fc_diags *diags;

    fc_var *vars;
    uint32_t nvars;
    fc_symtab var_index;
    fc_node *nodes;
    uint32_t nnodes;
    fc_symtab node_index;

    fc_decl *flow_decl, *hours_decl, *fallback_decl;
    bool has_tz;
    vm_tz tz;
    fc_range *ranges;
    uint32_t nranges;
    int32_t start; /* node index of `start`, or -1 */
} fc_unit;

/* An instruction's place in the source, for the line table. */
typedef struct fc_line {
    uint32_t pc;
    fc_loc loc;
} fc_line;

/* Generated code and its tables, before they are written out. */
typedef struct fc_program {
    vm_buf code;
    fc_line *lines;
    uint32_t nlines, lines_cap;
    const char **strings; /* constant texts (arena memory) */
    uint32_t *string_lens;
    uint32_t nstrings, strings_cap;
    fc_symtab string_index;
    double *numbers;
    uint32_t nnumbers, numbers_cap;
    fc_symtab number_index;
    uint32_t *trigger_str, *trigger_node;
    uint32_t ntriggers, triggers_cap;
    uint32_t entry_pc, fallback_pc;
    /* compiler-only facts for the flow checks */
    uint32_t *skippable; /* ascending offsets of CHOICEs whose options all have guards */
    uint32_t nskippable, skippable_cap;
    uint32_t max_stack;
} fc_program;

/* Parses and checks src; returns false if an error was reported. The unit
 * owns its arena; free it with fc_unit_free. */
bool fc_check_unit(fc_unit *u, const fc_source *src, fc_diags *diags);
void fc_unit_free(fc_unit *u);

void fc_codegen(fc_unit *u, fc_program *prog);
void fc_program_free(fc_program *prog);
/* The section 10 flow checks over the generated code. */
void fc_flow_check(fc_unit *u, const fc_program *prog);
/* Serialises the program in the layout of vm_bytecode.h. */
void fc_write(const fc_unit *u, const fc_program *prog, vm_buf *out);

/* Graphviz DOT of the node graph (flowc graph). */
void fc_graph(const fc_unit *u, FILE *out);

/* Whole pipeline for one source: diagnostics into diags; bytecode into out
 * (when out is not NULL and there were no errors). Returns true without
 * errors. */
bool fc_compile(const fc_source *src, fc_diags *diags, vm_buf *out);

#endif
