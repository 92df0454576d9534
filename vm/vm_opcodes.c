/* vm_opcodes.c - the tables generated from the opcode list (vm_bytecode.h). */
#include "vm_bytecode.h"

#define COUNT_OPERAND(k) (VM_OPK_##k != VM_OPK_NONE)
#define OP_ROW(name, a, b, c, pops, pushes, doc)                                              \
    {#name, {VM_OPK_##a, VM_OPK_##b, VM_OPK_##c},                                             \
     (uint8_t)(COUNT_OPERAND(a) + COUNT_OPERAND(b) + COUNT_OPERAND(c)), pops, pushes, doc},

const vm_opinfo vm_opinfo_table[VM_OP_COUNT] = {VM_OPCODES(OP_ROW)};

#define KIND_DOC(name, doc) doc,
const char *const vm_operand_kind_doc[] = {VM_OPERAND_KINDS(KIND_DOC)};
#define KIND_NAME(name, doc) #name,
const char *const vm_operand_kind_name[] = {VM_OPERAND_KINDS(KIND_NAME)};
