/* bench_compile.c - how fast the compiler turns a large flow into bytecode.
 *
 * usage: bench_compile FILE.flow [RUNS]
 *
 * Times (CLOCK_MONOTONIC, best of RUNS, default 5) a whole compile through
 * fc_compile, and the scanner alone through fc_lex_only over the same text:
 * the lexer is the floor a compile cannot beat, so the ratio compile/lex
 * says how much the later passes cost. The passes are also timed one by one
 * (parse, check, codegen, flow checks, write) to show where the time goes.
 *
 * Peak memory: one compile runs in a forked child and another child only
 * reads the file; each child's ru_maxrss comes from wait4() (the per-child
 * form of getrusage(RUSAGE_CHILDREN), which would report only the maximum
 * over all children) and the difference is what the compile itself needed
 * at its peak. It is measured before any timed run, so the parent's heap is
 * small and the same in both children. mallinfo2() would only show the heap
 * in use at one moment, not the peak, and misses memory returned to the OS.
 *
 * Prints figures and ratios; nothing is asserted on timings. Exit status 1
 * only when the file cannot be read or does not compile.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fc_unit.h"

static double now_sec(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 20, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap)
            break;
        char *grown = realloc(buf, cap *= 2);
        if (!grown) {
            free(buf);
            buf = NULL;
        }
        buf = grown;
    }
    bool bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        return NULL;
    }
    *len = n;
    return buf;
}

static size_t count_lines(const char *s, size_t n)
{
    size_t lines = 0;
    for (size_t i = 0; i < n; i++)
        lines += s[i] == '\n';
    if (n && s[n - 1] != '\n')
        lines++;
    return lines;
}

/* ---- peak memory -------------------------------------------------------- */

/* Runs in the child: read the file, and compile it when `compile` is set. */
static int child_work(const char *path, bool compile)
{
    size_t len;
    char *text = read_all(path, &len);
    if (!text)
        return 2;
    int rc = 0;
    if (compile) {
        fc_source src = {path, text, len};
        fc_diags *d = fc_diags_new();
        vm_buf out = {0};
        rc = fc_compile(&src, d, &out) ? 0 : 1;
        vm_buf_free(&out);
        fc_diags_free(d);
    }
    free(text);
    return rc;
}

/* ru_maxrss of a child doing child_work, in KiB; -1 on failure. */
static long child_maxrss(const char *path, bool compile)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0)
        _exit(child_work(path, compile));
    int status;
    struct rusage ru;
    if (wait4(pid, &status, 0, &ru) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return -1;
    return ru.ru_maxrss;
}

/* ---- timing ------------------------------------------------------------- */

typedef struct phases {
    double parse, check, codegen, flow, write;
} phases;

/* One compile with the passes of fc_compile timed one by one; the parse is
 * timed on its own just before (fc_check_unit parses, then checks, so the
 * check is the difference). Keeps the run with the smallest total, so that
 * all passes come from one run. */
static void time_phases(const fc_source *src, phases *best, bool first)
{
    fc_diags *d = fc_diags_new();
    fc_arena arena = {0};
    fc_file file;
    double t0 = now_sec();
    fc_parse_file(src, &arena, d, &file);
    double t1 = now_sec();
    fc_arena_free(&arena);

    fc_unit u;
    fc_program prog;
    vm_buf out = {0};
    double t2 = now_sec();
    fc_check_unit(&u, src, d);
    double t3 = now_sec();
    fc_codegen(&u, &prog);
    double t4 = now_sec();
    fc_flow_check(&u, &prog);
    double t5 = now_sec();
    fc_write(&u, &prog, &out);
    double t6 = now_sec();
    vm_buf_free(&out);
    fc_program_free(&prog);
    fc_unit_free(&u);
    fc_diags_free(d);

    phases p = {t1 - t0, (t3 - t2) - (t1 - t0), t4 - t3, t5 - t4, t6 - t5};
    if (p.check < 0)
        p.check = 0;
    double sum = p.parse + p.check + p.codegen + p.flow + p.write;
    double best_sum = best->parse + best->check + best->codegen + best->flow + best->write;
    if (first || sum < best_sum)
        *best = p;
}

static void row(const char *what, const char *value, const char *target, const char *verdict)
{
    printf("  %-34s %18s   %-16s %s\n", what, value, target, verdict);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE.flow [RUNS]\n", argv[0]);
        return 2;
    }
    const char *path = argv[1];
    int runs = argc > 2 ? atoi(argv[2]) : 5;
    if (runs < 1)
        runs = 1;

    /* Memory first, while this process is still small. */
    long rss_read = child_maxrss(path, false);
    long rss_compile = child_maxrss(path, true);

    size_t len;
    char *text = read_all(path, &len);
    if (!text) {
        fprintf(stderr, "bench_compile: cannot read %s\n", path);
        return 1;
    }
    fc_source src = {path, text, len};
    size_t lines = count_lines(text, len);

    /* One checked compile: it must succeed, and we report what it made. */
    fc_diags *d = fc_diags_new();
    vm_buf code = {0};
    bool ok = fc_compile(&src, d, &code);
    size_t errors = fc_diags_errors(d), warnings = fc_diags_warnings(d);
    if (!ok || errors) {
        fc_diags_write_text(d, stderr, false);
        fprintf(stderr, "bench_compile: %s does not compile (%zu errors)\n", path, errors);
        return 1;
    }
    size_t code_len = code.len;
    vm_buf_free(&code);
    fc_diags_free(d);

    double best_compile = 0, best_lex = 0;
    size_t tokens = 0;
    for (int r = 0; r < runs; r++) {
        fc_diags *dd = fc_diags_new();
        vm_buf out = {0};
        double t0 = now_sec();
        fc_compile(&src, dd, &out);
        double t = now_sec() - t0;
        if (r == 0 || t < best_compile)
            best_compile = t;
        vm_buf_free(&out);
        fc_diags_free(dd);
    }
    for (int r = 0; r < runs; r++) {
        fc_diags *dd = fc_diags_new();
        double t0 = now_sec();
        tokens = fc_lex_only(&src, dd);
        double t = now_sec() - t0;
        if (r == 0 || t < best_lex)
            best_lex = t;
        fc_diags_free(dd);
    }
    phases ph = {0};
    for (int r = 0; r < runs; r++)
        time_phases(&src, &ph, r == 0);

    double ratio = best_compile / best_lex;
    double lps = (double)lines / best_compile;
    char v[64];
    printf("compiler: %s, %zu lines, %zu bytes, %zu tokens -> %zu bytes of bytecode, %zu warnings; best of %d runs\n",
           path, lines, len, tokens, code_len, warnings, runs);
    printf("  %-34s %18s   %-16s %s\n", "metric", "value", "target", "");
    snprintf(v, sizeof v, "%.2f ms", best_compile * 1e3);
    row("compile (fc_compile, whole)", v, "", "");
    snprintf(v, sizeof v, "%.0f", lps);
    row("compile lines/s", v, "> 1,000,000", lps > 1e6 ? "ok" : "MISSED");
    snprintf(v, sizeof v, "%.1f MB/s", (double)len / best_compile / 1e6);
    row("compile throughput", v, "", "");
    snprintf(v, sizeof v, "%.2f ms", best_lex * 1e3);
    row("lex only (fc_lex_only)", v, "", "");
    snprintf(v, sizeof v, "%.0f", (double)tokens / best_lex);
    row("lex tokens/s", v, "", "");
    snprintf(v, sizeof v, "%.0f", (double)lines / best_lex);
    row("lex lines/s", v, "", "");
    snprintf(v, sizeof v, "%.2fx", ratio);
    row("compile / lex", v, "<= 3x", ratio <= 3 ? "ok" : "MISSED");
    printf("  passes (the fastest of %d runs; check = fc_check_unit minus its parse):\n", runs);
    double sum = ph.parse + ph.check + ph.codegen + ph.flow + ph.write;
    const char *names[] = {"parse (lex + grammar + tree)", "check (names, types, text)", "codegen",
                           "flow checks", "write bytecode"};
    double vals[] = {ph.parse, ph.check, ph.codegen, ph.flow, ph.write};
    for (int i = 0; i < 5; i++) {
        char pct[32];
        snprintf(v, sizeof v, "%.2f ms", vals[i] * 1e3);
        snprintf(pct, sizeof pct, "%4.1f%%", 100 * vals[i] / sum);
        row(names[i], v, pct, "");
    }
    if (rss_read > 0 && rss_compile > 0) {
        snprintf(v, sizeof v, "%.1f MiB", (double)(rss_compile - rss_read) / 1024);
        row("peak memory of a compile", v, "", "");
        snprintf(v, sizeof v, "%.1fx", (double)(rss_compile - rss_read) * 1024 / (double)len);
        row("  per byte of source", v, "", "");
        snprintf(v, sizeof v, "%ld/%ld KiB", rss_compile, rss_read);
        row("  (maxrss compile/read-only child)", v, "", "");
    } else {
        row("peak memory of a compile", "unavailable", "", "");
    }
    free(text);
    return 0;
}
