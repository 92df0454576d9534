/* vm_bytecode.h - the bytecode: one opcode table and the file layout.
 *
 * Instructions are a byte stream: one opcode byte followed by its operands,
 * each a 32-bit little-endian word (0xFFFFFFFF, VM_NONE, means "absent" where
 * an operand is optional). The VM is a stack machine over three value types
 * (number, text, bool); variables live in numbered slots of the conversation
 * state.
 *
 *   +--------+-----------+-----------+-----------+
 *   | opcode | operand a | operand b | operand c |   operands: 0 to 3 x u32 LE
 *   +--------+-----------+-----------+-----------+
 *
 * File layout (all integers little-endian, read field by field):
 *
 *   offset  size  field
 *   0       4     magic "FLBC"
 *   4       2     format version (VM_FORMAT_VERSION)
 *   6       2     reserved, 0
 *   8       4     payload length in bytes
 *   12      4     CRC-32 (zlib) of the payload
 *   16      ...   payload: sections in this fixed order, each a varint
 *                 count followed by its entries:
 *                   name       flow name (string)
 *                   source     source file name (string)
 *                   strings    constant texts          (varint len, bytes)
 *                   numbers    constant numbers        (f64)
 *                   vars       variables  (u8 type, string name, u8 has_init,
 *                                          init value of the type)
 *                   nodes      (string name, varint entry pc, line, col)
 *                   triggers   (varint string index, varint target pc)
 *                   entry      varint start pc, varint fallback pc
 *                   hours      u8 present; if 1: vm_tz, then varint count of
 *                              (u8 weekday, u16 start minute, u16 end minute)
 *                   code       varint length, bytes
 *                   lines      varint count of (varint pc delta,
 *                              svarint line delta, varint column)
 *
 * The opcode table below is the only place an opcode is described: it
 * generates the enum, the operand decoder, the disassembler, the verifier's
 * stack effects and docs/bytecode.md (`flowc --list-opcodes`).
 */
#ifndef VM_BYTECODE_H
#define VM_BYTECODE_H

#include <stdint.h>

#define VM_MAGIC "FLBC"
#define VM_FORMAT_VERSION 1
#define VM_HEADER_SIZE 16
#define VM_NONE 0xFFFFFFFFu

/* Operand kinds: what the verifier checks each operand against. */
#define VM_OPERAND_KINDS(K) \
    K(NONE, "-") \
    K(JUMP, "code offset of an instruction") \
    K(JUMP_OPT, "code offset of an instruction, or VM_NONE") \
    K(STR, "index into the string table") \
    K(STR_OPT, "index into the string table, or VM_NONE") \
    K(NUM, "index into the number table") \
    K(VAR, "variable slot") \
    K(FACT, "visitor fact or built-in (vm_fact)") \
    K(BOOL, "0 or 1") \
    K(NODE, "index into the node table") \
    K(KIND, "0 = lead, 1 = deal") \
    K(SECS, "duration in seconds, 0 to 86400")

typedef enum vm_operand_kind {
#define VM_K_ENUM(name, doc) VM_OPK_##name,
    VM_OPERAND_KINDS(VM_K_ENUM)
#undef VM_K_ENUM
} vm_operand_kind;

/* OP(NAME, A, B, C, POPS, PUSHES, DOC) */
#define VM_OPCODES(OP) \
    OP(PUSH_NUM, NUM, NONE, NONE, 0, 1, "Push number constant a.") \
    OP(PUSH_STR, STR, NONE, NONE, 0, 1, "Push text constant a.") \
    OP(PUSH_BOOL, BOOL, NONE, NONE, 0, 1, "Push true (a = 1) or false (a = 0).") \
    OP(LOAD, VAR, NONE, NONE, 0, 1, "Push the value of variable a.") \
    OP(STORE, VAR, NONE, NONE, 1, 0, "Pop a value into variable a; it must have the variable's type.") \
    OP(FACT, FACT, NONE, NONE, 0, 1, "Push visitor fact or built-in a (asks the host for the clock and agents).") \
    OP(ADD, NONE, NONE, NONE, 2, 1, "Pop two numbers, push their sum.") \
    OP(SUB, NONE, NONE, NONE, 2, 1, "Pop b then a, push a - b.") \
    OP(MUL, NONE, NONE, NONE, 2, 1, "Pop two numbers, push their product.") \
    OP(DIV, NONE, NONE, NONE, 2, 1, "Pop b then a, push a / b; 0 when b is 0 or the result is not finite.") \
    OP(NEG, NONE, NONE, NONE, 1, 1, "Negate a number.") \
    OP(NOT, NONE, NONE, NONE, 1, 1, "Negate a bool.") \
    OP(CONCAT, NONE, NONE, NONE, 2, 1, "Pop two texts, push them joined.") \
    OP(TOTEXT, NONE, NONE, NONE, 1, 1, "Print the top value as text (numbers with %.15g, bools as true/false).") \
    OP(DEFAULT, STR, NONE, NONE, 1, 1, "If the top text is empty, replace it with text constant a.") \
    OP(EQ, NONE, NONE, NONE, 2, 1, "Pop two values of one type, push whether they are equal.") \
    OP(NE, NONE, NONE, NONE, 2, 1, "Pop two values of one type, push whether they differ.") \
    OP(LT, NONE, NONE, NONE, 2, 1, "Pop b then a (two numbers or two texts), push a < b.") \
    OP(LE, NONE, NONE, NONE, 2, 1, "Pop b then a, push a <= b.") \
    OP(GT, NONE, NONE, NONE, 2, 1, "Pop b then a, push a > b.") \
    OP(GE, NONE, NONE, NONE, 2, 1, "Pop b then a, push a >= b.") \
    OP(CONTAINS, NONE, NONE, NONE, 2, 1, "Pop b then a (texts), push whether a contains b ignoring ASCII case.") \
    OP(JUMP, JUMP, NONE, NONE, 0, 0, "Continue at a.") \
    OP(JUMP_FALSE, JUMP, NONE, NONE, 1, 0, "Pop a bool; continue at a if it is false.") \
    OP(ENTER, NODE, NONE, NONE, 0, 0, "Execution enters node a (reported to the host for the funnel).") \
    OP(SAY, NONE, NONE, NONE, 1, 0, "Pop a text and send it as a bot message.") \
    OP(PAUSE, SECS, STR, NONE, 0, 0, "Show typing for a seconds; b is the duration as written.") \
    OP(TAG, STR, NONE, NONE, 0, 0, "Tag the conversation with text constant a.") \
    OP(RECORD, KIND, NONE, NONE, 0, 0, "Start a lead (a = 0) or deal (a = 1) record.") \
    OP(FIELD, STR, NONE, NONE, 1, 0, "Pop a value into field a of the record being built.") \
    OP(COMMIT, NONE, NONE, NONE, 0, 0, "Send the record being built to the host.") \
    OP(OPTION, JUMP, NONE, NONE, 1, 0, "Pop a label; offer it as a button that continues at a.") \
    OP(CHOICE, NONE, NONE, NONE, 0, 0, "Wait for a button or text if any option was offered, else go on.") \
    OP(CHOICE_PROMPT, NONE, NONE, NONE, 1, 0, "Pop the prompt; like CHOICE, saying the prompt first if any option was offered.") \
    OP(REOFFER, NONE, NONE, NONE, 0, 0, "End of the fallback text: offer the waiting choice's buttons again and wait.") \
    OP(ASK, VAR, JUMP, NONE, 0, 0, "Wait for an answer for variable a; valid: store it and continue at b; invalid: continue after this instruction (the retry text).") \
    OP(HANDOFF, STR_OPT, SECS, JUMP_OPT, 1, 0, "Pop the online text; ask for a human of team a waiting b seconds; the offline path is c.") \
    OP(END, NONE, NONE, NONE, 0, 0, "The bot part ends: outcome lead if a record was sent, else resolved.")

typedef enum vm_opcode {
#define VM_OP_ENUM(name, a, b, c, pops, pushes, doc) VM_OP_##name,
    VM_OPCODES(VM_OP_ENUM)
#undef VM_OP_ENUM
    VM_OP_COUNT
} vm_opcode;

typedef struct vm_opinfo {
    const char *name;
    uint8_t operands[3]; /* vm_operand_kind */
    uint8_t noperands;
    uint8_t pops, pushes;
    const char *doc;
} vm_opinfo;

extern const vm_opinfo vm_opinfo_table[VM_OP_COUNT];
extern const char *const vm_operand_kind_doc[];
extern const char *const vm_operand_kind_name[];

/* Size in bytes of an instruction with this opcode. */
static inline uint32_t vm_op_size(vm_opcode op) { return 1u + 4u * vm_opinfo_table[op].noperands; }

/* Visitor facts and built-in values (operand of FACT). */
#define VM_FACTS(F) \
    F(VISITOR_NAME, "visitor", "name", TEXT) \
    F(VISITOR_EMAIL, "visitor", "email", TEXT) \
    F(VISITOR_PAGE, "visitor", "page", TEXT) \
    F(VISITOR_DEVICE, "visitor", "device", TEXT) \
    F(VISITOR_COUNTRY, "visitor", "country", TEXT) \
    F(VISITOR_RETURNING, "visitor", "returning", BOOL) \
    F(OPEN, "", "open", BOOL) \
    F(AGENTS_ONLINE, "", "agents_online", NUMBER) \
    F(NOW_HOUR, "now", "hour", NUMBER) \
    F(NOW_WEEKDAY, "now", "weekday", TEXT)

typedef enum vm_fact {
#define VM_F_ENUM(id, scope, name, type) VM_FACT_##id,
    VM_FACTS(VM_F_ENUM)
#undef VM_F_ENUM
    VM_FACT_COUNT
} vm_fact;

/* Value and variable types. email and phone are text that `ask` validates. */
typedef enum vm_type {
    VM_TYPE_TEXT = 0,
    VM_TYPE_NUMBER = 1,
    VM_TYPE_BOOL = 2,
    VM_TYPE_EMAIL = 3,
    VM_TYPE_PHONE = 4,
} vm_type;

/* The type a value of variable type t has on the stack. */
static inline vm_type vm_type_base(vm_type t) { return t == VM_TYPE_EMAIL || t == VM_TYPE_PHONE ? VM_TYPE_TEXT : t; }

/* Limits of the format, checked by the compiler and the loader. */
#define VM_MAX_CODE (64u * 1024 * 1024)
#define VM_MAX_STACK 1024
#define VM_MAX_VARS 65535
#define VM_MAX_BUTTONS 64
#define VM_MAX_FIELDS 64
#define VM_MAX_TEXT 65536    /* bytes in one text value */
#define VM_STEP_LIMIT 100000 /* instructions without waiting: outcome error */

#endif
