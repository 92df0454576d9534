/* fc_parse.h - state shared by the scanner (grammar/flow.l) and the parser
 * (grammar/flow.y). Private to those two and fc_parse.c. */
#ifndef FC_PARSE_H
#define FC_PARSE_H

#include "fc_ast.h"

/* Deeper blocks or parentheses are refused with one error: no real playbook
 * comes close, and it bounds the recursion of every later pass. */
#define FC_MAX_NESTING 1000
/* Expressions deeper than this (long operator chains) are refused likewise. */
#define FC_MAX_EXPR_DEPTH 1000

typedef struct fc_parser {
    const fc_source *src;
    fc_arena *arena;
    fc_diags *diags;
    fc_file *file;
    void *scanner; /* yyscan_t */

    /* scanner position */
    uint32_t off, line, line_start;
    int nesting;          /* open { and ( */
    bool nesting_error;   /* reported once, then the scanner returns EOF */
    bool eof_newline;     /* the synthetic NEWLINE before EOF was sent */
    fc_decl *decl_tail;

    /* one token of lookahead, so that NEWLINE before elif/else is dropped */
    bool has_pending;
    int pending_tok;
    fc_loc pending_loc;
    union {
        fc_str str;
        double number;
        uint64_t seconds;
    } pending_val;
    int syntax_errors;
    uint32_t quiet_line; /* a bad character was skipped on this line */
} fc_parser;

/* Location of byte offset `at` on the current line, for scanner actions. */
fc_loc fc_parser_loc(const fc_parser *p, uint32_t at);

/* Lists built left to right by the grammar. */
#define FC_LIST(T) struct { T *head, *tail; }
typedef FC_LIST(fc_stmt) fc_stmt_list;
typedef FC_LIST(fc_option) fc_option_list;
typedef FC_LIST(fc_branch) fc_branch_list;
typedef FC_LIST(fc_field) fc_field_list;
typedef FC_LIST(fc_setting) fc_setting_list;
typedef FC_LIST(fc_keyword) fc_keyword_list;
typedef FC_LIST(fc_htok) fc_htok_list;
typedef FC_LIST(fc_hours_line) fc_hline_list;
#define FC_APPEND(list, item)                      \
    do {                                           \
        if ((list).tail)                           \
            (list).tail->next = (item);            \
        else                                       \
            (list).head = (item);                  \
        (list).tail = (item);                      \
    } while (0)

/* Tree constructors used by the grammar actions (fc_parse.c). */
fc_expr *fc_mk_number(fc_parser *p, fc_loc loc, double v);
fc_expr *fc_mk_string(fc_parser *p, fc_str s);
fc_expr *fc_mk_bool(fc_parser *p, fc_loc loc, bool v);
fc_expr *fc_mk_var(fc_parser *p, fc_str name);
/* visitor.X / now.X; scope empty (s == NULL) for open and agents_online. */
fc_expr *fc_mk_fact(fc_parser *p, fc_loc loc, fc_str scope, fc_str field);
fc_expr *fc_mk_binary(fc_parser *p, fc_loc loc, fc_binop op, fc_expr *l, fc_expr *r);
fc_expr *fc_mk_unary(fc_parser *p, fc_loc loc, fc_expr_kind kind, fc_expr *operand);
fc_stmt *fc_mk_stmt(fc_parser *p, fc_stmt_kind kind, fc_loc loc);
fc_decl *fc_mk_decl(fc_parser *p, fc_decl_kind kind, fc_loc loc);
void *fc_mk(fc_parser *p, size_t size);
fc_text fc_mk_text(fc_str raw);
fc_name fc_mk_name(fc_str id, bool reserved);
fc_str fc_mk_str(const char *s, fc_loc loc);
/* The source text of the token (digits and letters) starting at loc. */
fc_str fc_token_text(fc_parser *p, fc_loc loc);
fc_setting *fc_mk_setting(fc_parser *p, fc_str key);
fc_htok *fc_mk_htok(fc_parser *p, fc_htok_kind kind, fc_str text);
void fc_add_decl(fc_parser *p, fc_decl *d);

#endif
