/* fc_codes.h - the one list of diagnostic kinds.
 *
 * DIAG(ID, CODE, SEVERITY, NAME, HELP)
 *   ID        enum constant used in the compiler (FC_E_... / FC_W_...)
 *   CODE      stable public code; never renumber, never reuse
 *   SEVERITY  error or warning (-Werror turns warnings into errors)
 *   NAME      short kebab-case name (SARIF rule name)
 *   HELP      one sentence for docs/diagnostics.md and SARIF rule help
 *
 * The enum, the SARIF rule table and `flowc --list-codes` (which writes
 * docs/diagnostics.md) are all generated from this list.
 */
#define FC_DIAG_LIST(DIAG) \
    DIAG(FC_E_SYNTAX, "FC001", error, "syntax-error", "The text does not follow the grammar of section 2-6; the message names what was found and what was expected.") \
    DIAG(FC_E_UTF8, "FC002", error, "invalid-utf8", "The file contains a byte sequence that is not valid UTF-8, or a NUL byte.") \
    DIAG(FC_E_ESCAPE, "FC003", error, "bad-escape", "A string uses an escape other than \\\" \\\\ \\n \\{ \\}.") \
    DIAG(FC_E_UNTERMINATED, "FC004", error, "unterminated-string", "A string is not closed before the end of its line.") \
    DIAG(FC_E_CHAR, "FC005", error, "unexpected-character", "A character that cannot start any token.") \
    DIAG(FC_E_FLOW_DECL, "FC006", error, "flow-declaration", "`flow \"NAME\"` is missing, is not the first declaration, or appears twice.") \
    DIAG(FC_E_DUP_DECL, "FC007", error, "duplicate-declaration", "A second `hours` or `fallback` declaration.") \
    DIAG(FC_E_DUP_NODE, "FC008", error, "duplicate-node", "Two nodes have the same name.") \
    DIAG(FC_E_DUP_VAR, "FC009", error, "duplicate-variable", "Two variables have the same name.") \
    DIAG(FC_E_DUP_FIELD, "FC010", error, "duplicate-field", "A `lead` or `deal` names the same field twice.") \
    DIAG(FC_E_DUP_SETTING, "FC011", error, "duplicate-handoff-setting", "A `handoff` block gives `online`, `wait` or `offline` twice.") \
    DIAG(FC_E_RESERVED, "FC012", error, "reserved-name", "A reserved word is used to name a variable or a node.") \
    DIAG(FC_E_NO_START, "FC013", error, "no-start-node", "The file has no node named `start`.") \
    DIAG(FC_E_UNKNOWN_NODE, "FC014", error, "unknown-node", "A `goto`, option, trigger or `offline` names a node that does not exist.") \
    DIAG(FC_E_UNKNOWN_VAR, "FC015", error, "unknown-variable", "An expression or interpolation names a variable that is not declared.") \
    DIAG(FC_E_UNKNOWN_FACT, "FC016", error, "unknown-fact", "`visitor.X` or `now.X` names a fact that does not exist.") \
    DIAG(FC_E_TYPE, "FC017", error, "type-error", "An operator or condition is given operands of the wrong type.") \
    DIAG(FC_E_ASSIGN_TYPE, "FC018", error, "assignment-type", "A `set` or an initial value gives a variable a value of another type.") \
    DIAG(FC_E_FIELD_TYPE, "FC019", error, "field-type", "The `value` field of a lead or deal is not a number.") \
    DIAG(FC_E_READ_ONLY, "FC020", error, "read-only", "`set` or `ask` targets a visitor fact or a built-in value.") \
    DIAG(FC_E_ASK_BOOL, "FC021", error, "ask-bool", "`ask` cannot store into a bool variable.") \
    DIAG(FC_E_EMPTY_CHOICE, "FC022", error, "empty-choice", "A `choice` has no options.") \
    DIAG(FC_E_CYCLE, "FC023", error, "cycle-without-wait", "Execution can go round a loop forever without waiting for the visitor.") \
    DIAG(FC_E_ZONE, "FC024", error, "unknown-time-zone", "The `hours` time zone is not a known IANA zone.") \
    DIAG(FC_E_HOURS_LINE, "FC025", error, "malformed-hours", "An `hours` line is not `DAYS HH:MM-HH:MM`, or names an unknown or wrapping day range.") \
    DIAG(FC_E_HOURS_RANGE, "FC026", error, "empty-hours-range", "An `hours` range does not end after it starts.") \
    DIAG(FC_E_WAIT, "FC027", error, "wait-range", "A handoff `wait` is outside 1s-24h.") \
    DIAG(FC_E_TYPE_NAME, "FC028", error, "unknown-type", "A variable is declared with a type other than text, number, bool, email or phone.") \
    DIAG(FC_E_INTERP, "FC029", error, "bad-interpolation", "A `{` in an interpolated text does not start `{NAME}` or `{NAME|DEFAULT}`.") \
    DIAG(FC_E_LITERAL, "FC030", error, "bad-literal", "A number, duration or clock time is out of range or malformed.") \
    DIAG(FC_E_LIMIT, "FC031", error, "limit", "The program exceeds a size limit of the bytecode format.") \
    DIAG(FC_W_UNREACHABLE, "FC101", warning, "unreachable-node", "A node can never be reached from `start` or a trigger.") \
    DIAG(FC_W_UNUSED, "FC102", warning, "unused-variable", "No expression or interpolation reads the variable.") \
    DIAG(FC_W_UNASSIGNED, "FC103", warning, "read-before-assignment", "Some path from `start` reads a variable without an initial value before assigning it.")

typedef enum fc_code {
#define FC_DIAG_ENUM(ID, CODE, SEV, NAME, HELP) ID,
    FC_DIAG_LIST(FC_DIAG_ENUM)
#undef FC_DIAG_ENUM
    FC_CODE_COUNT
} fc_code;
