/* flow.y - the grammar of the Flow language (spec sections 2-6).
 *
 * A pure parser with locations. Actions only build the tree (fc_ast.h);
 * names, types and flow are checked in later passes. Error recovery happens
 * at statement, option, field and declaration boundaries, so one mistake
 * gives one diagnostic.
 */
%define api.pure full
%define api.location.type {fc_loc}
%define parse.error custom
%define parse.lac full
%locations
%expect 0
%param {fc_parser *p}

%code requires {
#include "fc_parse.h"
}

%code provides {
int fc_yyparse_file(fc_parser *p);
}

%code {
#include <stdio.h>
#include <string.h>

#define YYMAXDEPTH 100000

#define YYLLOC_DEFAULT(Cur, Rhs, N)          \
    do {                                     \
        if (N)                               \
            (Cur) = YYRHSLOC(Rhs, 1);        \
        else                                 \
            (Cur) = YYRHSLOC(Rhs, 0);        \
    } while (0)

int fc_lex_raw(YYSTYPE *lval, YYLTYPE *lloc, void *scanner);
static int yylex(YYSTYPE *lval, YYLTYPE *lloc, fc_parser *p);
static void yyerror(const YYLTYPE *loc, fc_parser *p, const char *msg);
}

%union {
    fc_str str;
    double number;
    uint64_t seconds;
    fc_expr *expr;
    fc_stmt *stmt;
    fc_name name;
    fc_stmt_list stmts;
    fc_option *option;
    fc_option_list options;
    fc_branch_list branches;
    fc_field *field;
    fc_field_list fields;
    fc_setting *setting;
    fc_setting_list settings;
    fc_keyword_list keywords;
    fc_htok *htok;
    fc_htok_list htoks;
    fc_hline_list hlines;
    fc_decl *decl;
    bool flag;
}

%token FLOW "'flow'" HOURS "'hours'" VAR "'var'" NODE "'node'" ON "'on'"
%token FALLBACK "'fallback'" SAY "'say'" CHOICE "'choice'" ASK "'ask'"
%token RETRY "'retry'" SET "'set'" IF "'if'" ELIF "'elif'" ELSE "'else'"
%token GOTO "'goto'" HANDOFF "'handoff'" LEAD "'lead'" DEAL "'deal'"
%token TAG "'tag'" PAUSE "'pause'" END "'end'" AND "'and'" OR "'or'"
%token NOT "'not'" CONTAINS "'contains'" TRUE "'true'" FALSE "'false'"
%token OPEN "'open'" AGENTS_ONLINE "'agents_online'" NOW "'now'"
%token VISITOR "'visitor'"
%token ARROW "'->'" EQ "'=='" NE "'!='" LE "'<='" GE "'>='"
%token NEWLINE "end of line"
%token <str> STRING "string" IDENT "name" CLOCK "time"
%token <number> NUMBER "number"
%token <seconds> DURATION "duration"

%left OR
%left AND
%precedence NOT
%nonassoc EQ NE '<' LE '>' GE
%left CONTAINS
%left '+' '-'
%left '*' '/'
%precedence UMINUS

%type <expr> expr opt_guard opt_init
%type <stmt> stmt
%type <stmts> stmts stmt_seq block
%type <option> option
%type <options> options option_seq
%type <branches> elifs
%type <field> field
%type <fields> fields field_seq
%type <setting> setting
%type <settings> settings setting_seq opt_handoff_body
%type <keywords> keywords
%type <htok> htok
%type <htoks> hline
%type <hlines> hours_body hline_seq
%type <name> name
%type <str> reserved opt_string
%type <decl> decl

%%

file:
    opt_sep decls
  ;

decls:
    %empty
  | decls decl sep          { (void)$2; /* added by decl itself: see below */ }
  | decls error sep         { yyerrok; }
  | decls error block sep   { yyerrok; /* a broken header: skip its block whole */ }
  ;

/* Each declaration is added when it is reduced, not when `decls` is: an
 * error right after it would otherwise discard it with the parser's stack. */
decl:
    FLOW STRING             { $$ = fc_mk_decl(p, FC_D_FLOW, @1); $$->u.flow_name = $2; fc_add_decl(p, $$); }
  | HOURS STRING '{' hours_body '}'
                            {
                                $$ = fc_mk_decl(p, FC_D_HOURS, @1); $$->u.hours.zone = $2; $$->u.hours.lines = $4.head;
                                fc_add_decl(p, $$);
                            }
  | VAR name ':' IDENT opt_init
                            {
                                $$ = fc_mk_decl(p, FC_D_VAR, @1);
                                $$->u.var.name = $2; $$->u.var.type_name = $4; $$->u.var.init = $5;
                                fc_add_decl(p, $$);
                            }
  | FALLBACK STRING         { $$ = fc_mk_decl(p, FC_D_FALLBACK, @1); $$->u.fallback = fc_mk_text($2); fc_add_decl(p, $$); }
  | ON keywords ARROW name  {
                                $$ = fc_mk_decl(p, FC_D_ON, @1); $$->u.on.keywords = $2.head; $$->u.on.target = $4;
                                fc_add_decl(p, $$);
                            }
  | NODE name block         {
                                $$ = fc_mk_decl(p, FC_D_NODE, @1); $$->u.node.name = $2; $$->u.node.body = $3.head;
                                fc_add_decl(p, $$);
                            }
  ;

opt_init:
    %empty                  { $$ = NULL; }
  | '=' expr                { $$ = $2; }
  ;

keywords:
    STRING                  { fc_keyword *k = fc_mk(p, sizeof *k); k->text = $1; $$.head = $$.tail = k; }
  | keywords ',' opt_nl STRING
                            { fc_keyword *k = fc_mk(p, sizeof *k); k->text = $4; $$ = $1; FC_APPEND($$, k); }
  ;

hours_body:
    opt_sep                 { $$.head = $$.tail = NULL; }
  | opt_sep hline_seq opt_sep
                            { $$ = $2; }
  ;

hline_seq:
    hline                   {
                                fc_hours_line *l = fc_mk(p, sizeof *l); l->tokens = $1.head; l->loc = @1;
                                $$.head = $$.tail = l;
                            }
  | hline_seq sep hline     {
                                fc_hours_line *l = fc_mk(p, sizeof *l); l->tokens = $3.head; l->loc = @3;
                                $$ = $1; FC_APPEND($$, l);
                            }
  ;

hline:
    htok                    { $$.head = $$.tail = $1; }
  | hline htok              { $$ = $1; FC_APPEND($$, $2); }
  ;

htok:
    IDENT                   { $$ = fc_mk_htok(p, FC_HT_WORD, $1); }
  | CLOCK                   { $$ = fc_mk_htok(p, FC_HT_CLOCK, $1); }
  | '-'                     { $$ = fc_mk_htok(p, FC_HT_DASH, fc_mk_str("-", @1)); }
  | ','                     { $$ = fc_mk_htok(p, FC_HT_COMMA, fc_mk_str(",", @1)); }
  | NUMBER                  { $$ = fc_mk_htok(p, FC_HT_OTHER, fc_mk_str("number", @1)); }
  | DURATION                { $$ = fc_mk_htok(p, FC_HT_OTHER, fc_mk_str("duration", @1)); }
  | ':'                     { $$ = fc_mk_htok(p, FC_HT_OTHER, fc_mk_str(":", @1)); }
  | '.'                     { $$ = fc_mk_htok(p, FC_HT_OTHER, fc_mk_str(".", @1)); }
  | STRING                  { $$ = fc_mk_htok(p, FC_HT_OTHER, fc_mk_str("string", @1)); }
  ;

block:
    '{' stmts '}'           { $$ = $2; }
  ;

stmts:
    opt_sep                 { $$.head = $$.tail = NULL; }
  | opt_sep stmt_seq opt_sep
                            { $$ = $2; }
  ;

stmt_seq:
    stmt                    { $$.head = $$.tail = NULL; if ($1) { FC_APPEND($$, $1); } }
  | stmt_seq sep stmt       { $$ = $1; if ($3) { FC_APPEND($$, $3); } }
  | stmt_seq error          { $$ = $1; /* junk after a statement: skip to the end of the line */ }
  ;

stmt:
    SAY STRING              { $$ = fc_mk_stmt(p, FC_ST_SAY, @1); $$->u.say = fc_mk_text($2); }
  | CHOICE opt_string '{' options '}'
                            {
                                $$ = fc_mk_stmt(p, FC_ST_CHOICE, @1);
                                $$->u.choice.has_prompt = $2.s != NULL;
                                $$->u.choice.prompt = fc_mk_text($2);
                                $$->u.choice.options = $4.head;
                            }
  | ASK expr STRING         { $$ = fc_mk_stmt(p, FC_ST_ASK, @1); $$->u.ask.var.target = $2; $$->u.ask.prompt = fc_mk_text($3); }
  | ASK expr STRING RETRY STRING
                            {
                                $$ = fc_mk_stmt(p, FC_ST_ASK, @1); $$->u.ask.var.target = $2;
                                $$->u.ask.prompt = fc_mk_text($3);
                                $$->u.ask.has_retry = true; $$->u.ask.retry = fc_mk_text($5);
                            }
  | SET expr '=' expr       { $$ = fc_mk_stmt(p, FC_ST_SET, @1); $$->u.set.var.target = $2; $$->u.set.value = $4; }
  | IF expr block elifs     {
                                $$ = fc_mk_stmt(p, FC_ST_IF, @1);
                                fc_branch *b = fc_mk(p, sizeof *b); b->cond = $2; b->body = $3.head; b->loc = @1;
                                b->next = $4.head; $$->u.branches = b;
                            }
  | IF expr block elifs ELSE block
                            {
                                $$ = fc_mk_stmt(p, FC_ST_IF, @1);
                                fc_branch *b = fc_mk(p, sizeof *b); b->cond = $2; b->body = $3.head; b->loc = @1;
                                fc_branch *e = fc_mk(p, sizeof *e); e->cond = NULL; e->body = $6.head; e->loc = @5;
                                fc_branch_list l = $4; FC_APPEND(l, e);
                                b->next = l.head; $$->u.branches = b;
                            }
  | GOTO name               { $$ = fc_mk_stmt(p, FC_ST_GOTO, @1); $$->u.go = $2; }
  | HANDOFF opt_string opt_handoff_body
                            {
                                $$ = fc_mk_stmt(p, FC_ST_HANDOFF, @1);
                                $$->u.handoff.has_team = $2.s != NULL; $$->u.handoff.team = $2;
                                $$->u.handoff.settings = $3.head;
                            }
  | LEAD '{' fields '}'     { $$ = fc_mk_stmt(p, FC_ST_LEAD, @1); $$->u.fields = $3.head; }
  | DEAL '{' fields '}'     { $$ = fc_mk_stmt(p, FC_ST_DEAL, @1); $$->u.fields = $3.head; }
  | TAG STRING              { $$ = fc_mk_stmt(p, FC_ST_TAG, @1); $$->u.tag = $2; }
  | PAUSE DURATION          {
                                $$ = fc_mk_stmt(p, FC_ST_PAUSE, @1);
                                $$->u.pause.bad = $2 > 86400 * 366;
                                $$->u.pause.seconds = $$->u.pause.bad ? 0 : (uint32_t)$2;
                                $$->u.pause.written = fc_token_text(p, @2);
                            }
  | END                     { $$ = fc_mk_stmt(p, FC_ST_END, @1); }
  | error                   { $$ = NULL; }
  | error block             { $$ = NULL; /* a broken `if ... {`: its block is skipped whole */ }
  ;

elifs:
    %empty                  { $$.head = $$.tail = NULL; }
  | elifs ELIF expr block   {
                                fc_branch *b = fc_mk(p, sizeof *b); b->cond = $3; b->body = $4.head; b->loc = @2;
                                $$ = $1; FC_APPEND($$, b);
                            }
  ;

opt_string:
    %empty                  { $$.s = NULL; $$.len = 0; $$.loc = @$; }
  | STRING                  { $$ = $1; }
  ;

options:
    opt_sep                 { $$.head = $$.tail = NULL; }
  | opt_sep option_seq opt_sep
                            { $$ = $2; }
  ;

option_seq:
    option                  { $$.head = $$.tail = NULL; if ($1) { FC_APPEND($$, $1); } }
  | option_seq sep option   { $$ = $1; if ($3) { FC_APPEND($$, $3); } }
  | option_seq error        { $$ = $1; }
  ;

option:
    STRING opt_guard ARROW name
                            {
                                $$ = fc_mk(p, sizeof *$$); $$->label = fc_mk_text($1); $$->guard = $2;
                                $$->has_target = true; $$->target = $4; $$->loc = @1;
                            }
  | STRING opt_guard block  {
                                $$ = fc_mk(p, sizeof *$$); $$->label = fc_mk_text($1); $$->guard = $2;
                                $$->body = $3.head; $$->loc = @1;
                            }
  | error                   { $$ = NULL; }
  ;

opt_guard:
    %empty                  { $$ = NULL; }
  | IF expr                 { $$ = $2; }
  ;

opt_handoff_body:
    %empty                  { $$.head = $$.tail = NULL; }
  | '{' settings '}'        { $$ = $2; }
  ;

settings:
    opt_sep                 { $$.head = $$.tail = NULL; }
  | opt_sep setting_seq opt_sep
                            { $$ = $2; }
  ;

setting_seq:
    setting                 { $$.head = $$.tail = NULL; if ($1) { FC_APPEND($$, $1); } }
  | setting_seq sep setting { $$ = $1; if ($3) { FC_APPEND($$, $3); } }
  | setting_seq error       { $$ = $1; }
  ;

setting:
    IDENT STRING            { $$ = fc_mk_setting(p, $1); $$->text = fc_mk_text($2); }
  | IDENT DURATION          {
                                $$ = fc_mk_setting(p, $1);
                                $$->seconds_bad = $2 > 86400 * 366;
                                $$->seconds = $$->seconds_bad ? 0 : (uint32_t)$2;
                            }
  | IDENT ARROW name        { $$ = fc_mk_setting(p, $1); $$->node = $3; }
  | error                   { $$ = NULL; }
  ;

fields:
    opt_fsep                { $$.head = $$.tail = NULL; }
  | opt_fsep field_seq opt_fsep
                            { $$ = $2; }
  ;

field_seq:
    field                   { $$.head = $$.tail = NULL; if ($1) { FC_APPEND($$, $1); } }
  | field_seq fsep field    { $$ = $1; if ($3) { FC_APPEND($$, $3); } }
  | field_seq error         { $$ = $1; }
  ;

field:
    IDENT ':' expr          { $$ = fc_mk(p, sizeof *$$); $$->name = $1; $$->value = $3; }
  | error                   { $$ = NULL; }
  ;

expr:
    expr OR expr            { $$ = fc_mk_binary(p, @2, FC_OP_OR, $1, $3); }
  | expr AND expr           { $$ = fc_mk_binary(p, @2, FC_OP_AND, $1, $3); }
  | NOT expr                { $$ = fc_mk_unary(p, @1, FC_EX_NOT, $2); }
  | expr EQ expr            { $$ = fc_mk_binary(p, @2, FC_OP_EQ, $1, $3); }
  | expr NE expr            { $$ = fc_mk_binary(p, @2, FC_OP_NE, $1, $3); }
  | expr '<' expr           { $$ = fc_mk_binary(p, @2, FC_OP_LT, $1, $3); }
  | expr LE expr            { $$ = fc_mk_binary(p, @2, FC_OP_LE, $1, $3); }
  | expr '>' expr           { $$ = fc_mk_binary(p, @2, FC_OP_GT, $1, $3); }
  | expr GE expr            { $$ = fc_mk_binary(p, @2, FC_OP_GE, $1, $3); }
  | expr CONTAINS expr      { $$ = fc_mk_binary(p, @2, FC_OP_CONTAINS, $1, $3); }
  | expr '+' expr           { $$ = fc_mk_binary(p, @2, FC_OP_ADD, $1, $3); }
  | expr '-' expr           { $$ = fc_mk_binary(p, @2, FC_OP_SUB, $1, $3); }
  | expr '*' expr           { $$ = fc_mk_binary(p, @2, FC_OP_MUL, $1, $3); }
  | expr '/' expr           { $$ = fc_mk_binary(p, @2, FC_OP_DIV, $1, $3); }
  | '-' expr %prec UMINUS   { $$ = fc_mk_unary(p, @1, FC_EX_NEG, $2); }
  | '(' expr ')'            { $$ = $2; }
  | NUMBER                  { $$ = fc_mk_number(p, @1, $1); }
  | STRING                  { $$ = fc_mk_string(p, $1); }
  | TRUE                    { $$ = fc_mk_bool(p, @1, true); }
  | FALSE                   { $$ = fc_mk_bool(p, @1, false); }
  | IDENT                   { $$ = fc_mk_var(p, $1); }
  | VISITOR '.' IDENT       { $$ = fc_mk_fact(p, @1, fc_mk_str("visitor", @1), $3); }
  | NOW '.' IDENT           { $$ = fc_mk_fact(p, @1, fc_mk_str("now", @1), $3); }
  | OPEN                    { $$ = fc_mk_fact(p, @1, fc_mk_str(NULL, @1), fc_mk_str("open", @1)); }
  | AGENTS_ONLINE           { $$ = fc_mk_fact(p, @1, fc_mk_str(NULL, @1), fc_mk_str("agents_online", @1)); }
  ;

name:
    IDENT                   { $$ = fc_mk_name($1, false); }
  | reserved                { $$ = fc_mk_name($1, true); }
  ;

/* A reserved word where a name is declared or referenced: parsed as a name
 * so the checker can say exactly what is wrong. */
reserved:
    FLOW { $$ = fc_mk_str("flow", @1); } | HOURS { $$ = fc_mk_str("hours", @1); }
  | VAR { $$ = fc_mk_str("var", @1); } | NODE { $$ = fc_mk_str("node", @1); }
  | ON { $$ = fc_mk_str("on", @1); } | FALLBACK { $$ = fc_mk_str("fallback", @1); }
  | SAY { $$ = fc_mk_str("say", @1); } | CHOICE { $$ = fc_mk_str("choice", @1); }
  | ASK { $$ = fc_mk_str("ask", @1); } | RETRY { $$ = fc_mk_str("retry", @1); }
  | SET { $$ = fc_mk_str("set", @1); } | IF { $$ = fc_mk_str("if", @1); }
  | ELIF { $$ = fc_mk_str("elif", @1); } | ELSE { $$ = fc_mk_str("else", @1); }
  | GOTO { $$ = fc_mk_str("goto", @1); } | HANDOFF { $$ = fc_mk_str("handoff", @1); }
  | LEAD { $$ = fc_mk_str("lead", @1); } | DEAL { $$ = fc_mk_str("deal", @1); }
  | TAG { $$ = fc_mk_str("tag", @1); } | PAUSE { $$ = fc_mk_str("pause", @1); }
  | END { $$ = fc_mk_str("end", @1); } | AND { $$ = fc_mk_str("and", @1); }
  | OR { $$ = fc_mk_str("or", @1); } | NOT { $$ = fc_mk_str("not", @1); }
  | CONTAINS { $$ = fc_mk_str("contains", @1); } | TRUE { $$ = fc_mk_str("true", @1); }
  | FALSE { $$ = fc_mk_str("false", @1); } | OPEN { $$ = fc_mk_str("open", @1); }
  | AGENTS_ONLINE { $$ = fc_mk_str("agents_online", @1); } | NOW { $$ = fc_mk_str("now", @1); }
  | VISITOR { $$ = fc_mk_str("visitor", @1); }
  ;

sep:
    NEWLINE
  | ';'
  | sep NEWLINE
  | sep ';'
  ;

opt_sep:
    %empty
  | sep
  ;

opt_nl:
    %empty
  | NEWLINE
  ;

fsep:
    NEWLINE
  | ';'
  | ','
  | fsep NEWLINE
  | fsep ';'
  | fsep ','
  ;

opt_fsep:
    %empty
  | fsep
  ;

%%

/* The parser's token source: the scanner with one token of lookahead, so
 * that the end of line before `elif` or `else` can be dropped (spec section
 * 2 lets them stand on the line after the `}` they follow). */
static int yylex(YYSTYPE *lval, YYLTYPE *lloc, fc_parser *p)
{
    int tok;
    if (p->has_pending) {
        p->has_pending = false;
        tok = p->pending_tok;
        *lloc = p->pending_loc;
        memcpy(lval, &p->pending_val, sizeof p->pending_val);
    } else {
        tok = fc_lex_raw(lval, lloc, p->scanner);
    }
    if (tok != NEWLINE)
        return tok;
    YYSTYPE next_val;
    YYLTYPE next_loc;
    int next = fc_lex_raw(&next_val, &next_loc, p->scanner);
    if (next == ELIF || next == ELSE) {
        *lloc = next_loc;
        *lval = next_val;
        return next;
    }
    p->has_pending = true;
    p->pending_tok = next;
    p->pending_loc = next_loc;
    memcpy(&p->pending_val, &next_val, sizeof p->pending_val);
    return NEWLINE;
}

static const char *token_name(yysymbol_kind_t k)
{
    if (k == YYSYMBOL_YYEOF)
        return "end of file";
    return yysymbol_name(k);
}

/* Reserved words are accepted where a name is expected (to say exactly
 * what is wrong); listing them all would drown the message. */
static bool is_keyword(yysymbol_kind_t k) { return k >= YYSYMBOL_FLOW && k <= YYSYMBOL_VISITOR; }

/* "unexpected X, expected A, B or C" in the house style. */
static int yyreport_syntax_error(const yypcontext_t *ctx, fc_parser *p)
{
    if (p->nesting_error)
        return 0;
    enum { MAX_TOKENS = 80, MAX_LISTED = 4 };
    yysymbol_kind_t all[MAX_TOKENS], expected[MAX_TOKENS];
    int n = yypcontext_expected_tokens(ctx, all, MAX_TOKENS), m = 0;
    bool name = false;
    for (int i = 0; i < n; i++)
        name |= all[i] == YYSYMBOL_IDENT;
    for (int i = 0; i < n; i++)
        if (!(name && is_keyword(all[i])))
            expected[m++] = all[i];
    char msg[512];
    int len = snprintf(msg, sizeof msg, "unexpected %s", token_name(yypcontext_token(ctx)));
    if (m > 0 && m <= MAX_LISTED) {
        for (int i = 0; i < m && len > 0 && (size_t)len < sizeof msg; i++)
            len += snprintf(msg + len, sizeof msg - (size_t)len, "%s%s",
                            i == 0 ? ", expected " : i == m - 1 ? " or " : ", ", token_name(expected[i]));
    }
    p->syntax_errors++;
    p->file->had_syntax_errors = true;
    if (yypcontext_location(ctx)->line == p->quiet_line)
        return 0; /* the echo of a character the scanner reported and skipped */
    fc_diag(p->diags, p->src, FC_E_SYNTAX, *yypcontext_location(ctx), "%s", msg);
    return 0;
}

static void yyerror(const YYLTYPE *loc, fc_parser *p, const char *msg)
{
    p->syntax_errors++;
    p->file->had_syntax_errors = true;
    if (strcmp(msg, "memory exhausted") == 0) {
        /* bison's stack: only a pathological chain (100 000 `not`s) gets here */
        p->file->truncated = true;
        fc_diag(p->diags, p->src, FC_E_LIMIT, *loc, "nested deeper than the parser can hold");
        return;
    }
    fc_diag(p->diags, p->src, FC_E_SYNTAX, *loc, "%s", msg);
}

int fc_yyparse_file(fc_parser *p)
{
    return yyparse(p);
}
