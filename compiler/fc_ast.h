/* fc_ast.h - the syntax tree of a .flow file.
 *
 * The parser only builds this tree; names are resolved, types checked and
 * flow checks run by later passes (fc_check.c), which fill in the fields
 * marked "set by the checker". Everything is allocated in one arena and freed
 * at once: a compile allocates many small nodes and frees them together.
 *
 * Strings from the source (`fc_str`) point into the source buffer, are not
 * NUL-terminated and keep their escapes; fc_text holds decoded and split
 * interpolated text.
 */
#ifndef FC_AST_H
#define FC_AST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fc_diag.h"
#include "vm_bytecode.h"

/* ---- arena ------------------------------------------------------------ */

typedef struct fc_arena_chunk fc_arena_chunk;
typedef struct fc_arena {
    fc_arena_chunk *head;
    char *cur, *end;
    size_t total; /* bytes handed out, for statistics */
} fc_arena;

/* Zeroed memory that lives until fc_arena_free; aborts on out-of-memory
 * (a compiler that cannot allocate a few bytes cannot report anything). */
void *fc_arena_alloc(fc_arena *a, size_t n);
char *fc_arena_strndup(fc_arena *a, const char *s, size_t n);
void fc_arena_free(fc_arena *a);

/* ---- leaves ------------------------------------------------------------- */

/* A slice of the source: a name or the raw inside of a string literal. */
typedef struct fc_str {
    const char *s;
    uint32_t len;
    fc_loc loc; /* the first character (for strings, the opening quote) */
} fc_str;

/* A reference to something declared elsewhere (variable or node). */
typedef struct fc_name {
    fc_str id;
    bool reserved; /* a reserved word stood where a name was expected */
    int32_t ref;   /* set by the checker: variable slot or node index, -1 if unknown */
} fc_name;

/* Interpolated text: literal pieces and {NAME|DEFAULT} references. */
typedef struct fc_text_part {
    bool is_ref;
    const char *lit; /* decoded literal text (is_ref false) or default text */
    uint32_t lit_len;
    bool has_default;
    struct fc_expr *ref; /* the referenced value (is_ref true) */
} fc_text_part;

typedef struct fc_text {
    fc_str raw;          /* as written, quotes excluded */
    fc_text_part *parts; /* set by the checker */
    uint32_t nparts;
} fc_text;

/* ---- expressions -------------------------------------------------------- */

typedef enum fc_type {
    FC_T_ERROR = 0, /* an expression that already had an error: no cascade */
    FC_T_TEXT,
    FC_T_NUMBER,
    FC_T_BOOL,
    FC_T_EMAIL,
    FC_T_PHONE,
} fc_type;

typedef enum fc_expr_kind {
    FC_EX_NUMBER,
    FC_EX_STRING,
    FC_EX_BOOL,
    FC_EX_VAR,  /* a variable by name */
    FC_EX_FACT, /* visitor.X, now.X, open, agents_online */
    FC_EX_BINARY,
    FC_EX_NOT,
    FC_EX_NEG,
} fc_expr_kind;

typedef enum fc_binop {
    FC_OP_OR, FC_OP_AND,
    FC_OP_EQ, FC_OP_NE, FC_OP_LT, FC_OP_LE, FC_OP_GT, FC_OP_GE,
    FC_OP_CONTAINS,
    FC_OP_ADD, FC_OP_SUB, FC_OP_MUL, FC_OP_DIV,
} fc_binop;

typedef struct fc_expr {
    fc_expr_kind kind;
    fc_loc loc;
    fc_type type; /* set by the checker */
    uint32_t depth; /* nesting depth, bounded by the parser */
    union {
        double number;
        bool boolean;
        fc_str string; /* raw; decoded into `text` by the checker */
        fc_name var;
        struct {
            fc_str scope; /* "visitor" or "now", or empty for open/agents_online */
            fc_str field;
            int fact; /* set by the checker: vm_fact, or -1 */
        } fact;
        struct {
            fc_binop op;
            struct fc_expr *left, *right;
        } bin;
        struct fc_expr *operand;
    } u;
    const char *text; /* FC_EX_STRING: decoded by the checker */
    uint32_t text_len;
} fc_expr;

/* ---- statements --------------------------------------------------------- */

typedef enum fc_stmt_kind {
    FC_ST_SAY, FC_ST_CHOICE, FC_ST_ASK, FC_ST_SET, FC_ST_IF, FC_ST_GOTO,
    FC_ST_HANDOFF, FC_ST_LEAD, FC_ST_DEAL, FC_ST_TAG, FC_ST_PAUSE, FC_ST_END,
} fc_stmt_kind;

typedef struct fc_stmt fc_stmt;

typedef struct fc_option {
    fc_text label;
    fc_expr *guard; /* NULL without `if` */
    bool has_target;
    fc_name target; /* "LABEL" -> NODE */
    fc_stmt *body;  /* "LABEL" { ... } */
    fc_loc loc;
    struct fc_option *next;
} fc_option;

/* A fact or variable on the left of `set` or `ask`. */
typedef struct fc_lvalue {
    fc_expr *target; /* FC_EX_VAR or FC_EX_FACT */
} fc_lvalue;

typedef struct fc_branch {
    fc_expr *cond; /* NULL for else */
    fc_stmt *body;
    fc_loc loc;
    struct fc_branch *next;
} fc_branch;

typedef struct fc_field {
    fc_str name;
    fc_expr *value;
    struct fc_field *next;
} fc_field;

typedef enum fc_setting_kind { FC_SET_ONLINE, FC_SET_WAIT, FC_SET_OFFLINE, FC_SET_UNKNOWN } fc_setting_kind;

typedef struct fc_setting {
    fc_str key;
    fc_setting_kind kind; /* from key, set by the parser's action */
    fc_text text;         /* online */
    uint32_t seconds;     /* wait */
    bool seconds_bad;     /* the duration literal overflowed */
    fc_name node;         /* offline */
    struct fc_setting *next;
} fc_setting;

struct fc_stmt {
    fc_stmt_kind kind;
    fc_loc loc;
    fc_stmt *next;
    union {
        fc_text say;
        struct {
            bool has_prompt;
            fc_text prompt;
            fc_option *options;
        } choice;
        struct {
            fc_lvalue var;
            fc_text prompt;
            bool has_retry;
            fc_text retry;
        } ask;
        struct {
            fc_lvalue var;
            fc_expr *value;
        } set;
        fc_branch *branches; /* if / elif / else */
        fc_name go;
        struct {
            bool has_team;
            fc_str team;
            fc_setting *settings;
        } handoff;
        fc_field *fields; /* lead / deal */
        fc_str tag;
        struct {
            uint32_t seconds;
            bool bad;
            fc_str written; /* "2s" as in the source */
        } pause;
    } u;
};

/* ---- declarations ------------------------------------------------------- */

typedef enum fc_decl_kind {
    FC_D_FLOW, FC_D_HOURS, FC_D_VAR, FC_D_FALLBACK, FC_D_ON, FC_D_NODE,
} fc_decl_kind;

/* One token of an `hours` line; lines are validated by the checker so that a
 * malformed line gets one clear message instead of a parser error. */
typedef enum fc_htok_kind { FC_HT_WORD, FC_HT_CLOCK, FC_HT_DASH, FC_HT_COMMA, FC_HT_OTHER } fc_htok_kind;
typedef struct fc_htok {
    fc_htok_kind kind;
    fc_str text;
    struct fc_htok *next;
} fc_htok;

typedef struct fc_hours_line {
    fc_htok *tokens;
    fc_loc loc;
    struct fc_hours_line *next;
} fc_hours_line;

typedef struct fc_keyword {
    fc_str text;
    struct fc_keyword *next;
} fc_keyword;

typedef struct fc_decl {
    fc_decl_kind kind;
    fc_loc loc;
    struct fc_decl *next;
    union {
        fc_str flow_name;
        struct {
            fc_str zone;
            fc_hours_line *lines;
        } hours;
        struct {
            fc_name name;
            fc_str type_name;
            fc_expr *init; /* NULL without `= LITERAL` */
        } var;
        fc_text fallback;
        struct {
            fc_keyword *keywords;
            fc_name target;
        } on;
        struct {
            fc_name name;
            fc_stmt *body;
        } node;
    } u;
} fc_decl;

/* One parsed file. */
typedef struct fc_file {
    fc_source src;
    fc_decl *decls; /* in source order */
    bool truncated; /* parsing stopped early (nesting limit): the tree is partial */
    bool had_syntax_errors; /* statements were dropped: flow warnings would be guesses */
} fc_file;

/* Parses `src` into `out` (allocated in `arena`), reporting syntax and
 * lexical errors to `diags`. Always produces a tree, possibly partial. */
void fc_parse_file(const fc_source *src, fc_arena *arena, fc_diags *diags, fc_file *out);

/* Runs only the scanner over src and returns the number of tokens: the
 * floor that `make bench` compares a whole compile with. */
size_t fc_lex_only(const fc_source *src, fc_diags *diags);

/* Decodes the escapes of a raw string slice into arena memory (`\{` and
 * `\}` become braces). Used for non-interpolated strings. */
const char *fc_decode_string(fc_arena *a, const fc_str *raw, uint32_t *len);

#endif
