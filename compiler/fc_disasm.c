/* fc_disasm.c - `flowc disasm FILE`: a program's bytecode, readably.
 *
 * FILE is a .flow (compiled first) or a .fbc. Either way the bytes go
 * through the VM's own loader and verifier, so what is printed is exactly
 * what the VM would run. Output: a header, the variables, hours and
 * triggers, then one line per instruction:
 *
 *   OFFSET  LINE:COL  OPCODE  OPERAND, OPERAND...
 *
 * Operands are decoded by their kind in the opcode table (vm_bytecode.h);
 * this file knows nothing about any single opcode.
 */
#include <stdlib.h>
#include <string.h>

#include "fc_cli.h"
#include "vm.h"

static const char *const type_names[] = {"text", "number", "bool", "email", "phone"};
static const char *const day_names[] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};

#define FACT_SCOPE(id, scope, name, type) scope,
#define FACT_FIELD(id, scope, name, type) name,
static const char *const fact_scope[] = {VM_FACTS(FACT_SCOPE)};
static const char *const fact_field[] = {VM_FACTS(FACT_FIELD)};

/* A node's entry offset, for the label lines and for naming jump targets. */
typedef struct label {
    uint32_t pc, node;
} label;

typedef struct disasm {
    const vm_program *p;
    FILE *out;
    label *labels; /* every node, by entry offset */
    uint32_t nlabels;
    int pc_width, op_width;
} disasm;

/* ---- values ----------------------------------------------------------------- */

/* A text in double quotes, escaped as in Flow source so that control bytes
 * cannot break the one-line-per-instruction layout; UTF-8 passes through. */
static void put_quoted(FILE *f, const char *s, uint32_t n)
{
    fputc('"', f);
    for (uint32_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c == '\n')
            fputs("\\n", f);
        else if (c == '\t')
            fputs("\\t", f);
        else if (c < 0x20 || c == 0x7f)
            fprintf(f, "\\x%02x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

static void put_ref(FILE *f, vm_text_ref t) { fwrite(t.s, 1, t.len, f); }

static const char *type_name(vm_type t) { return (unsigned)t < 5 ? type_names[t] : "?"; }

static int cmp_label(const void *a, const void *b)
{
    const label *x = a, *y = b;
    if (x->pc != y->pc)
        return x->pc < y->pc ? -1 : 1;
    return x->node < y->node ? -1 : x->node > y->node;
}

/* The first label at or after `pc` (binary search). */
static uint32_t label_from(const disasm *d, uint32_t pc)
{
    uint32_t lo = 0, hi = d->nlabels;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (d->labels[mid].pc < pc)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* A jump target: its offset, and the node when it is a node's entry. */
static void put_jump(const disasm *d, uint32_t pc)
{
    fprintf(d->out, "@%u", pc);
    uint32_t i = label_from(d, pc);
    if (i < d->nlabels && d->labels[i].pc == pc) {
        fputs(" (", d->out);
        put_ref(d->out, vm_program_node_name(d->p, d->labels[i].node));
        fputc(')', d->out);
    }
}

static void put_operand(const disasm *d, vm_operand_kind kind, uint32_t x)
{
    FILE *f = d->out;
    uint32_t len;
    const char *s;
    if (x == VM_NONE) {
        fputc('-', f);
        return;
    }
    switch (kind) {
    case VM_OPK_JUMP:
    case VM_OPK_JUMP_OPT: put_jump(d, x); break;
    case VM_OPK_STR:
    case VM_OPK_STR_OPT:
        s = vm_program_string(d->p, x, &len);
        put_quoted(f, s, len);
        break;
    case VM_OPK_NUM: fprintf(f, "%.15g", vm_program_number(d->p, x)); break;
    case VM_OPK_VAR: put_ref(f, vm_program_var_name(d->p, x)); break;
    case VM_OPK_FACT:
        if (x < VM_FACT_COUNT)
            fprintf(f, "%s%s%s", fact_scope[x], fact_scope[x][0] ? "." : "", fact_field[x]);
        else
            fprintf(f, "fact %u", x);
        break;
    case VM_OPK_BOOL: fputs(x ? "true" : "false", f); break;
    case VM_OPK_NODE: put_ref(f, vm_program_node_name(d->p, x)); break;
    case VM_OPK_KIND: fputs(x ? "deal" : "lead", f); break;
    case VM_OPK_SECS: fprintf(f, "%us", x); break;
    default: fprintf(f, "%u", x); break;
    }
}

/* ---- header and tables ------------------------------------------------------- */

static void print_header(const disasm *d, const uint8_t *bytes)
{
    const vm_program *p = d->p;
    FILE *f = d->out;
    uint32_t code_len;
    vm_program_code(p, &code_len);
    fputs("flow      ", f);
    put_quoted(f, vm_program_name(p), (uint32_t)strlen(vm_program_name(p)));
    fputs("\nsource    ", f);
    put_quoted(f, vm_program_source(p), (uint32_t)strlen(vm_program_source(p)));
    /* the loader accepts one version only, but show what the file says */
    fprintf(f, "\nformat    %u\n", (unsigned)(bytes[4] | bytes[5] << 8));
    fprintf(f, "id        %016llx\n", (unsigned long long)vm_program_id(p));
    fprintf(f, "tables    strings %u, numbers %u, vars %u, nodes %u, triggers %u, code %u bytes\n",
            vm_program_string_count(p), vm_program_number_count(p), vm_program_var_count(p),
            vm_program_node_count(p), vm_program_trigger_count(p), code_len);
    if (vm_program_zone(p))
        fprintf(f, "hours     %s\n", vm_program_zone(p)->name);
    fputs("entry     ", f);
    put_jump(d, vm_program_entry(p));
    fprintf(f, "\nfallback  @%u\n", vm_program_fallback(p));
}

static void print_vars(const disasm *d)
{
    const vm_program *p = d->p;
    uint32_t n = vm_program_var_count(p);
    if (!n)
        return;
    fputs("\nvars\n", d->out);
    for (uint32_t i = 0; i < n; i++) {
        vm_type t = vm_program_var_type(p, i);
        fprintf(d->out, "  %u  ", i);
        put_ref(d->out, vm_program_var_name(p, i));
        fprintf(d->out, ": %s", type_name(t));
        char numbuf[32];
        vm_text_ref init;
        if (vm_program_var_init(p, i, numbuf, &init)) {
            fputs(" = ", d->out);
            if (vm_type_base(t) == VM_TYPE_TEXT)
                put_quoted(d->out, init.s, init.len);
            else
                put_ref(d->out, init);
        }
        fputc('\n', d->out);
    }
}

static void print_hours(const disasm *d)
{
    uint32_t n = vm_program_hours_count(d->p);
    if (!vm_program_zone(d->p))
        return;
    fputs("\nhours\n", d->out);
    for (uint32_t i = 0; i < n; i++) {
        int day, start, end;
        vm_program_hours_range(d->p, i, &day, &start, &end);
        fprintf(d->out, "  %s %02d:%02d-%02d:%02d\n", day_names[day % 7], start / 60, start % 60, end / 60,
                end % 60);
    }
}

static void print_triggers(const disasm *d)
{
    const vm_program *p = d->p;
    uint32_t n = vm_program_trigger_count(p);
    if (!n)
        return;
    fputs("\ntriggers\n", d->out);
    for (uint32_t i = 0; i < n; i++) {
        uint32_t len;
        const char *word = vm_program_string(p, vm_program_trigger_word(p, i), &len);
        fprintf(d->out, "  %u  ", i);
        put_quoted(d->out, word, len);
        fputs(" -> ", d->out);
        put_ref(d->out, vm_program_node_name(p, vm_program_trigger_node(p, i)));
        fputc('\n', d->out);
    }
}

/* ---- code ------------------------------------------------------------------------- */

static void print_instruction(const disasm *d, const uint8_t *code, uint32_t pc)
{
    const vm_opinfo *in = &vm_opinfo_table[code[pc]];
    uint32_t line, col;
    char pos[32] = "-";
    vm_program_position(d->p, pc, &line, &col);
    if (line)
        snprintf(pos, sizeof pos, "%u:%u", line, col);
    fprintf(d->out, "  %*u  %-9s %-*s", d->pc_width, pc, pos, in->noperands ? d->op_width : 0, in->name);
    vm_reader r = vm_reader_make(code + pc + 1, 4u * in->noperands);
    for (int i = 0; i < in->noperands; i++) {
        fputs(i ? ", " : " ", d->out);
        put_operand(d, in->operands[i], vm_read_u32(&r));
    }
    fputc('\n', d->out);
}

static void print_code(const disasm *d)
{
    uint32_t len;
    const uint8_t *code = vm_program_code(d->p, &len);
    uint32_t next = 0, fallback = vm_program_fallback(d->p);
    fputs("\ncode\n", d->out);
    for (uint32_t pc = 0; pc < len; pc += vm_op_size(code[pc])) {
        for (; next < d->nlabels && d->labels[next].pc <= pc; next++) {
            fputs("node ", d->out);
            put_ref(d->out, vm_program_node_name(d->p, d->labels[next].node));
            fputs(":\n", d->out);
        }
        if (pc == fallback)
            fputs("fallback:\n", d->out);
        print_instruction(d, code, pc);
    }
}

static bool init_disasm(disasm *d, const vm_program *p, FILE *out)
{
    memset(d, 0, sizeof *d);
    d->p = p;
    d->out = out;
    d->nlabels = vm_program_node_count(p);
    d->labels = calloc(d->nlabels + 1, sizeof *d->labels);
    if (!d->labels)
        return false;
    for (uint32_t i = 0; i < d->nlabels; i++)
        d->labels[i] = (label){vm_program_node_entry(p, i), i};
    qsort(d->labels, d->nlabels, sizeof *d->labels, cmp_label);
    uint32_t len;
    vm_program_code(p, &len);
    d->pc_width = snprintf(NULL, 0, "%u", len);
    for (int op = 0; op < VM_OP_COUNT; op++)
        if ((int)strlen(vm_opinfo_table[op].name) > d->op_width)
            d->op_width = (int)strlen(vm_opinfo_table[op].name);
    return true;
}

/* ---- the command ------------------------------------------------------------------ */

static bool has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* A .fbc is taken as bytecode whatever it holds, so a damaged one gets the
 * loader's message instead of a compiler's complaints about its bytes. */
static int load_bytes(const char *path, vm_buf *out)
{
    if (!has_suffix(path, ".fbc"))
        return fc_load_bytecode(path, out);
    char *text;
    size_t len;
    if (!fc_read_file(path, &text, &len))
        return 2;
    vm_buf_put_bytes(out, text, len);
    free(text);
    return 0;
}

int fc_cmd_disasm(int argc, char **argv)
{
    if (argc != 1 || (argv[0][0] == '-' && argv[0][1] != '\0')) {
        fputs("flowc: usage: flowc disasm FILE (a .flow or .fbc)\n", stderr);
        return 2;
    }
    vm_buf bytes = {0};
    int rc = load_bytes(argv[0], &bytes);
    char err[256];
    vm_program *p = rc == 0 ? vm_program_load(bytes.data, bytes.len, err, sizeof err) : NULL;
    if (rc == 0 && !p) {
        fprintf(stderr, "flowc: %s: %s\n", argv[0], err);
        rc = 1;
    }
    disasm d;
    if (p && !init_disasm(&d, p, stdout)) {
        fputs("flowc: out of memory\n", stderr);
        rc = 1;
    } else if (p) {
        print_header(&d, bytes.data);
        print_vars(&d);
        print_hours(&d);
        print_triggers(&d);
        print_code(&d);
        free(d.labels);
    }
    vm_program_free(p);
    vm_buf_free(&bytes);
    return rc;
}
