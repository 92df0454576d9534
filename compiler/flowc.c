/* flowc.c - the command line (spec section 11).
 *
 *   flowc check FILE...          compile and report, write nothing
 *   flowc build FILE [-o OUT]    write bytecode
 *   flowc test FLOW CHAT...      transcript tests
 *   flowc run FLOW               chat in the terminal
 *   flowc disasm FILE            readable bytecode
 *   flowc graph FLOW             Graphviz DOT
 *
 * Exit status: 0 fine, 1 errors or failed tests, 2 bad usage or an
 * unreadable file.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fc_cli.h"
#include "fc_unit.h"

#define MAX_FILE (256u * 1024 * 1024)

static const char usage[] =
    "usage: flowc COMMAND [OPTIONS] FILE...\n"
    "\n"
    "commands:\n"
    "  check FILE...            compile and report, write nothing\n"
    "  build FILE [-o OUT]      write bytecode (default: FILE with .fbc)\n"
    "  test FLOW CHAT...        run transcript tests [--roundtrip]\n"
    "  run FLOW                 chat with the bot in the terminal\n"
    "  disasm FILE              print the bytecode of a .flow or .fbc readably\n"
    "  graph FLOW               print the node graph as Graphviz DOT\n"
    "\n"
    "options of check and build:\n"
    "  --diagnostics=text|json|sarif   how to print diagnostics (json and sarif go to stdout)\n"
    "  -Werror                         treat warnings as errors\n"
    "\n"
    "  flowc --list-codes      the diagnostic codes, as Markdown\n"
    "  flowc --list-opcodes    the bytecode instructions, as Markdown\n"
    "\n"
    "exit status: 0 success, 1 errors or failed tests, 2 bad usage or unreadable file\n";

static int bad_usage(const char *fmt, const char *arg)
{
    fputs("flowc: ", stderr);
    fprintf(stderr, fmt, arg);
    fputs("\n(run 'flowc --help' for usage)\n", stderr);
    return 2;
}

bool fc_read_file(const char *path, char **text, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "flowc: cannot read '%s': %s\n", path, strerror(errno));
        return false;
    }
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap + 1);
    while (buf) {
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (n < cap)
            break;
        if (cap >= MAX_FILE) {
            fprintf(stderr, "flowc: cannot read '%s': larger than 256 MB\n", path);
            free(buf);
            fclose(f);
            return false;
        }
        cap *= 2;
        char *bigger = realloc(buf, cap + 1);
        if (!bigger)
            free(buf);
        buf = bigger;
    }
    bool err = ferror(f) || !buf;
    int saved = errno;
    fclose(f);
    if (err) {
        fprintf(stderr, "flowc: cannot read '%s': %s\n", path, buf ? strerror(saved) : "out of memory");
        free(buf);
        return false;
    }
    buf[n] = '\0';
    *text = buf;
    *len = n;
    return true;
}

typedef struct compile_opts {
    fc_diag_format format;
    bool werror;
    const char *out;
    const char **files;
    int nfiles;
} compile_opts;

static int parse_compile_opts(int argc, char **argv, compile_opts *o)
{
    memset(o, 0, sizeof *o);
    o->files = calloc((size_t)argc + 1, sizeof *o->files);
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--diagnostics=text") == 0)
            o->format = FC_DIAG_TEXT;
        else if (strcmp(a, "--diagnostics=json") == 0)
            o->format = FC_DIAG_JSON;
        else if (strcmp(a, "--diagnostics=sarif") == 0)
            o->format = FC_DIAG_SARIF;
        else if (strcmp(a, "-Werror") == 0)
            o->werror = true;
        else if (strcmp(a, "-o") == 0 && i + 1 < argc)
            o->out = argv[++i];
        else if (a[0] == '-' && a[1] != '\0') {
            free(o->files);
            return bad_usage("unknown option '%s'", a);
        } else {
            o->files[o->nfiles++] = a;
        }
    }
    if (o->nfiles == 0) {
        free(o->files);
        return bad_usage("%s", "no input file");
    }
    return 0;
}

/* Compiles each file; writes bytecode when `build`. */
static int compile_files(compile_opts *o, bool build)
{
    fc_diags *d = fc_diags_new();
    fc_diags_set_werror(d, o->werror);
    int status = 0;
    for (int i = 0; i < o->nfiles; i++) {
        char *text;
        size_t len;
        if (!fc_read_file(o->files[i], &text, &len)) {
            status = 2;
            continue;
        }
        fc_source src = {o->files[i], text, len};
        vm_buf code = {0};
        bool ok = fc_compile(&src, d, build ? &code : NULL);
        if (ok && build) {
            char *out = NULL;
            const char *dest = o->out;
            if (!dest) {
                size_t n = strlen(o->files[i]);
                const char *dot = n > 5 && strcmp(o->files[i] + n - 5, ".flow") == 0 ? o->files[i] + n - 5 : NULL;
                size_t stem = dot ? (size_t)(dot - o->files[i]) : n;
                out = malloc(stem + 5);
                memcpy(out, o->files[i], stem);
                memcpy(out + stem, ".fbc", 5);
                dest = out;
            }
            FILE *f = fopen(dest, "wb");
            if (!f || fwrite(code.data, 1, code.len, f) != code.len || fclose(f) != 0) {
                fprintf(stderr, "flowc: cannot write '%s': %s\n", dest, strerror(errno));
                status = 2;
            }
            free(out);
        }
        vm_buf_free(&code);
        free(text);
    }
    fc_diags_write(d, o->format, o->format == FC_DIAG_TEXT ? stderr : stdout, isatty(2));
    if (status == 0 && fc_diags_errors(d) > 0)
        status = 1;
    fc_diags_free(d);
    return status;
}

int fc_load_bytecode(const char *path, vm_buf *out)
{
    char *text;
    size_t len;
    if (!fc_read_file(path, &text, &len))
        return 2;
    if (len >= 4 && memcmp(text, VM_MAGIC, 4) == 0) {
        vm_buf_put_bytes(out, text, len);
        free(text);
        return 0;
    }
    fc_diags *d = fc_diags_new();
    fc_source src = {path, text, len};
    bool ok = fc_compile(&src, d, out);
    fc_diags_write(d, FC_DIAG_TEXT, stderr, isatty(2));
    fc_diags_free(d);
    free(text);
    return ok ? 0 : 1;
}

static void list_codes(void)
{
    puts("# flowc diagnostics\n");
    puts("Every diagnostic has a stable code. Errors stop `flowc build`; warnings do not,");
    puts("unless `-Werror` is given. This page is generated by `flowc --list-codes`");
    puts("from `compiler/fc_codes.h`.\n");
    puts("| code | severity | name | meaning |");
    puts("| --- | --- | --- | --- |");
    for (int c = 0; c < FC_CODE_COUNT; c++)
        printf("| %s | %s | `%s` | %s |\n", fc_code_id(c), fc_code_severity(c) == FC_SEV_ERROR ? "error" : "warning",
               fc_code_name(c), fc_code_help(c));
}

static void list_opcodes(void)
{
    puts("# Bytecode instructions\n");
    puts("Generated by `flowc --list-opcodes` from the opcode table in `vm/vm_bytecode.h`;");
    puts("the file layout is drawn at the top of that header. Each instruction is one");
    puts("opcode byte followed by its operands, each a 32-bit little-endian word.\n");
    puts("| opcode | name | operands | pops | pushes | meaning |");
    puts("| --- | --- | --- | --- | --- | --- |");
    for (int op = 0; op < VM_OP_COUNT; op++) {
        const vm_opinfo *in = &vm_opinfo_table[op];
        printf("| %d | `%s` | ", op, in->name);
        for (int i = 0; i < in->noperands; i++)
            printf("%s%c: %s", i ? "; " : "", 'a' + i, vm_operand_kind_doc[in->operands[i]]);
        if (!in->noperands)
            printf("-");
        printf(" | %d | %d | %s |\n", in->pops, in->pushes, in->doc);
    }
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return bad_usage("%s", "no command");
    const char *cmd = argv[1];
    compile_opts o;
    int rc;
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        fputs(usage, stdout);
        return 0;
    }
    if (strcmp(cmd, "--list-codes") == 0) {
        list_codes();
        return 0;
    }
    if (strcmp(cmd, "--list-opcodes") == 0) {
        list_opcodes();
        return 0;
    }
    if (strcmp(cmd, "check") == 0 || strcmp(cmd, "build") == 0) {
        if ((rc = parse_compile_opts(argc - 2, argv + 2, &o)) != 0)
            return rc;
        if (cmd[0] == 'b' && o.nfiles != 1) {
            free(o.files);
            return bad_usage("%s", "build takes one file");
        }
        rc = compile_files(&o, cmd[0] == 'b');
        free(o.files);
        return rc;
    }
    if (strcmp(cmd, "test") == 0)
        return fc_cmd_test(argc - 2, argv + 2);
    if (strcmp(cmd, "run") == 0)
        return fc_cmd_run(argc - 2, argv + 2);
    if (strcmp(cmd, "disasm") == 0)
        return fc_cmd_disasm(argc - 2, argv + 2);
    if (strcmp(cmd, "graph") == 0)
        return fc_cmd_graph(argc - 2, argv + 2);
    return bad_usage("unknown command '%s'", cmd);
}
