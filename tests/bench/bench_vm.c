/* bench_vm.c - what one conversation step costs the VM, and what a
 * conversation weighs.
 *
 * usage: bench_vm [STEPS]      (default 2,000,000 timed steps per run)
 *
 * A step is what the runtime does for each visitor message of a stored
 * conversation: restore the state from bytes (vm_state_load), deliver one
 * input (vm_send_text or vm_click), run to the next wait, save the state
 * (vm_state_save) and free it. The flow below loops forever, and every
 * iteration waits, through a fixed cycle of nine inputs: clicks, a valid and
 * an invalid answer to an `ask` (retry), a label typed in another case, and
 * text that matches nothing (fallback, buttons offered again).
 *
 * Also: bytes per saved state over the cycle (min / typical / max), the fixed
 * part of a saved state (a program without variables, waiting at a handoff:
 * nothing but header, position and checksum), memory per live conversation
 * with 100,000 states held at once (vm_state_new + vm_start each), and the
 * floor: the same loop with restore and save replaced by memcpy of the saved
 * bytes. The parts of a step (load + free, save, the two CRC-32s inside
 * them) are timed in loops of their own over the states of one cycle; input
 * + run is the step minus load and save. Figures only; nothing is asserted
 * on timings.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "fc_unit.h"
#include "vm.h"

static const char loop_flow[] =
    "flow \"Bench loop\"\n"
    "\n"
    "var name: text = \"\"\n"
    "var email: email = \"\"\n"
    "var rounds: number = 0\n"
    "var total: number = 0\n"
    "var vip: bool = false\n"
    "\n"
    "fallback \"Please pick one of the buttons.\"\n"
    "\n"
    "on \"human\", \"agent\" -> human\n"
    "\n"
    "node start {\n"
    "  say \"Hi {visitor.name|there}! Welcome.\"\n"
    "  goto menu\n"
    "}\n"
    "\n"
    "node menu {\n"
    "  set rounds = rounds + 1\n"
    "  if rounds >= 1000 {\n"
    "    set rounds = 1\n"
    "    set total = 0\n"
    "  }\n"
    "  choice \"Round {rounds}: what next?\" {\n"
    "    \"Name\" { ask name \"Your name?\" }\n"
    "    \"Email\" { ask email \"Your email, {name|friend}?\" retry \"That is not an email address.\" }\n"
    "    \"Add\" if rounds < 5000 {\n"
    "      set total = total + rounds * 2\n"
    "      set vip = total > 100\n"
    "    }\n"
    "    \"Again\" -> menu\n"
    "  }\n"
    "  if vip and name != \"\" {\n"
    "    say \"Thanks {name}, your total is {total}; we write to {email|you}.\"\n"
    "  } else {\n"
    "    say \"Total so far: {total}.\"\n"
    "  }\n"
    "  goto menu\n"
    "}\n"
    "\n"
    "node human {\n"
    "  handoff \"sales\" {\n"
    "    online \"Connecting you, {name|friend}...\"\n"
    "    wait 2m\n"
    "    offline -> menu\n"
    "  }\n"
    "}\n";

/* No variables, no buttons: a saved handoff wait is the fixed part alone. */
static const char fixed_flow[] =
    "flow \"Fixed part\"\n"
    "node start {\n"
    "  handoff \"sales\" { offline -> bye }\n"
    "}\n"
    "node bye { end }\n";

/* ---- host ------------------------------------------------------------------ */

typedef struct sink {
    uint64_t events, bytes;
} sink;

static void on_emit(void *ctx, const vm_event *ev)
{
    sink *k = ctx;
    k->events++;
    k->bytes += ev->text.len;
}

static int64_t fixed_now(void *ctx)
{
    (void)ctx;
    return 1767614400; /* 2026-01-05 12:00 UTC, a Monday */
}

static uint32_t one_agent(void *ctx, const char *team, size_t len)
{
    (void)ctx;
    (void)team;
    (void)len;
    return 1;
}

static const vm_visitor visitor = {"Ada", "ada@example.com", "/pricing", "desktop", "PL", true};

/* ---- helpers ------------------------------------------------------------- */

static double now_sec(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static vm_program *compile(const char *name, const char *text)
{
    fc_source src = {name, text, strlen(text)};
    fc_diags *d = fc_diags_new();
    vm_buf code = {0};
    bool ok = fc_compile(&src, d, &code);
    if (!ok || fc_diags_warnings(d)) {
        fc_diags_write_text(d, stderr, false);
        if (!ok) {
            fprintf(stderr, "bench_vm: %s does not compile\n", name);
            exit(1);
        }
    }
    fc_diags_free(d);
    char err[256];
    vm_program *p = vm_program_load(code.data, code.len, err, sizeof err);
    vm_buf_free(&code);
    if (!p) {
        fprintf(stderr, "bench_vm: %s: %s\n", name, err);
        exit(1);
    }
    return p;
}

/* Resident set size now, in bytes (from /proc/self/statm). */
static long rss_now(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long size = 0, resident = -1;
    if (!f)
        return -1;
    if (fscanf(f, "%ld %ld", &size, &resident) != 2)
        resident = -1;
    fclose(f);
    return resident < 0 ? -1 : resident * sysconf(_SC_PAGESIZE);
}

/* ---- the input cycle ----------------------------------------------------- */

typedef struct input {
    bool click;
    uint32_t button;
    const char *text;
    vm_wait before; /* what the state must wait for when the input comes */
} input;

static const input cycle[] = {
    {true, 0, NULL, VM_WAIT_CHOICE},                 /* Name -> ask name */
    {false, 0, "  Ada Lovelace ", VM_WAIT_ASK},     /* stored -> menu */
    {true, 1, NULL, VM_WAIT_CHOICE},                 /* Email -> ask email */
    {false, 0, "not an email", VM_WAIT_ASK},        /* retry */
    {false, 0, "ada@example.com", VM_WAIT_ASK},     /* stored -> menu */
    {true, 2, NULL, VM_WAIT_CHOICE},                 /* Add -> menu */
    {false, 0, "again", VM_WAIT_CHOICE},            /* the label, typed -> menu */
    {false, 0, "what is this?", VM_WAIT_CHOICE},    /* fallback, same buttons */
    {true, 3, NULL, VM_WAIT_CHOICE},                 /* Again -> menu */
};
enum { CYCLE = sizeof cycle / sizeof cycle[0] };

static vm_status deliver(vm_state *s, const vm_host *h, const input *in)
{
    if (in->click)
        return vm_click(s, h, in->button);
    return vm_send_text(s, h, in->text, strlen(in->text));
}

/* One step: restore, input, run, save, free. `cur` holds the saved state
 * before and after (the new one is built in `next`, then swapped). */
static bool step(const vm_program *p, const vm_host *h, vm_buf *cur, vm_buf *next, const input *in, bool check)
{
    char err[128];
    vm_state *s = vm_state_load(p, cur->data, cur->len, err, sizeof err);
    if (!s) {
        fprintf(stderr, "bench_vm: load failed: %s\n", err);
        return false;
    }
    if (check && vm_state_wait(s) != in->before) {
        fprintf(stderr, "bench_vm: expected wait %d, state waits for %d\n", in->before, vm_state_wait(s));
        return false;
    }
    vm_status st = deliver(s, h, in);
    next->len = 0;
    bool ok = vm_state_save(s, next);
    vm_state_free(s);
    if (check && (st != VM_OK || !ok)) {
        fprintf(stderr, "bench_vm: step failed: %s\n", vm_status_text(st));
        return false;
    }
    vm_buf t = *cur;
    *cur = *next;
    *next = t;
    return true;
}

static int cmp_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return x < y ? -1 : x > y;
}

static void row(const char *what, const char *value, const char *target, const char *verdict)
{
    printf("  %-34s %18s   %-16s %s\n", what, value, target, verdict);
}

/* The floor: memcpy stands in for restore and for save. Called through a
 * volatile pointer so the copies cannot be optimised away. */
static void *(*volatile copy_fn)(void *, const void *, size_t) = memcpy;

enum { LIVE = 100000 };

int main(int argc, char **argv)
{
    long steps = argc > 1 ? atol(argv[1]) : 2000000;
    if (steps < CYCLE)
        steps = CYCLE;
    steps -= steps % CYCLE;
    const int runs = 3;

    vm_program *p = compile("bench-loop.flow", loop_flow);
    vm_program *fixed = compile("fixed-part.flow", fixed_flow);
    sink k = {0, 0};
    vm_host h = {&k, on_emit, fixed_now, one_agent, &visitor};

    /* Fixed part. */
    vm_state *fs = vm_state_new(fixed);
    vm_buf fb = {0};
    vm_start(fs, &h);
    if (vm_state_wait(fs) != VM_WAIT_HANDOFF || !vm_state_save(fs, &fb)) {
        fprintf(stderr, "bench_vm: the fixed-part flow does not wait at its handoff\n");
        return 1;
    }
    size_t fixed_bytes = fb.len;
    vm_buf_free(&fb);
    vm_state_free(fs);

    /* Live conversations (first, while the heap is small). */
    vm_state **live = malloc(sizeof *live * LIVE);
    if (!live)
        return 1;
    long rss0 = rss_now();
    size_t live_heap = 0;
    for (int i = 0; i < LIVE; i++) {
        live[i] = vm_state_new(p);
        if (!live[i] || vm_start(live[i], &h) != VM_OK) {
            fprintf(stderr, "bench_vm: vm_state_new/vm_start failed\n");
            return 1;
        }
        live_heap += vm_state_memory(live[i]);
    }
    long rss1 = rss_now();
    for (int i = 0; i < LIVE; i++)
        vm_state_free(live[i]);
    free(live);

    /* The first state, and one checked pass over the cycle that records
     * every saved state and its size. */
    vm_buf cur = {0}, next = {0};
    vm_state *s0 = vm_state_new(p);
    vm_start(s0, &h);
    vm_state_save(s0, &cur);
    vm_state_free(s0);
    enum { SAMPLE = CYCLE * 2000 };
    size_t *sizes = malloc(sizeof *sizes * SAMPLE);
    vm_buf saved[CYCLE];
    memset(saved, 0, sizeof saved);
    for (long i = 0; i < SAMPLE; i++) {
        if (i < CYCLE)
            vm_buf_put_bytes(&saved[i], cur.data, cur.len);
        if (!step(p, &h, &cur, &next, &cycle[i % CYCLE], true))
            return 1;
        sizes[i] = cur.len;
    }
    qsort(sizes, SAMPLE, sizeof *sizes, cmp_size);
    double mean = 0;
    for (long i = 0; i < SAMPLE; i++)
        mean += (double)sizes[i];
    mean /= SAMPLE;
    size_t smin = sizes[0], smed = sizes[SAMPLE / 2], smax = sizes[SAMPLE - 1];
    free(sizes);

    /* Timed steps: best of `runs`. The state keeps evolving between runs;
     * the cycle length divides `steps`, so every run starts at input 0. */
    double best_step = 0;
    uint64_t ev0 = k.events;
    for (int r = 0; r < runs; r++) {
        double t0 = now_sec();
        for (long i = 0; i < steps; i++)
            step(p, &h, &cur, &next, &cycle[i % CYCLE], false);
        double t = now_sec() - t0;
        if (r == 0 || t < best_step)
            best_step = t;
    }
    double events_per_step = (double)(k.events - ev0) / ((double)steps * runs);

    /* Parts of a step, over the recorded states of one cycle. */
    double best_load = 0, best_save = 0;
    vm_state *loaded[CYCLE];
    for (int r = 0; r < runs; r++) {
        char err[128];
        double t0 = now_sec();
        for (long i = 0; i < steps; i++) {
            const vm_buf *b = &saved[i % CYCLE];
            vm_state_free(vm_state_load(p, b->data, b->len, err, sizeof err));
        }
        double t = now_sec() - t0;
        if (r == 0 || t < best_load)
            best_load = t;
    }
    for (int i = 0; i < CYCLE; i++)
        loaded[i] = vm_state_load(p, saved[i].data, saved[i].len, NULL, 0);
    for (int r = 0; r < runs; r++) {
        double t0 = now_sec();
        for (long i = 0; i < steps; i++) {
            next.len = 0;
            vm_state_save(loaded[i % CYCLE], &next);
        }
        double t = now_sec() - t0;
        if (r == 0 || t < best_save)
            best_save = t;
    }
    for (int i = 0; i < CYCLE; i++)
        vm_state_free(loaded[i]);

    /* The CRC-32 that vm_state_load checks and vm_state_save appends (zlib,
     * over the bytes before the checksum): two per step. */
    double best_crc = 0;
    volatile uint32_t crc_sink = 0; /* keeps the results alive */
    for (int r = 0; r < runs; r++) {
        double t0 = now_sec();
        for (long i = 0; i < steps; i++) {
            const vm_buf *b = &saved[i % CYCLE];
            crc_sink += (uint32_t)crc32(0L, b->data, (uInt)(b->len - 4));
            crc_sink += (uint32_t)crc32(0L, b->data, (uInt)(b->len - 4));
        }
        double t = now_sec() - t0;
        if (r == 0 || t < best_crc)
            best_crc = t;
    }

    /* The floor: restore = memcpy, save = memcpy. */
    uint8_t work[4096], out[4096];
    double best_copy = 0;
    for (int r = 0; r < runs; r++) {
        double t0 = now_sec();
        for (long i = 0; i < steps; i++) {
            const vm_buf *b = &saved[i % CYCLE];
            copy_fn(work, b->data, b->len);
            copy_fn(out, work, b->len);
        }
        double t = now_sec() - t0;
        if (r == 0 || t < best_copy)
            best_copy = t;
    }

    double ns_step = best_step / (double)steps * 1e9;
    double sps = (double)steps / best_step;
    double ns_copy = best_copy / (double)steps * 1e9;
    double ns_load = best_load / (double)steps * 1e9;
    double ns_save = best_save / (double)steps * 1e9;
    double ns_crc = best_crc / (double)steps * 1e9;
    double per_live_rss = rss0 >= 0 && rss1 >= 0 ? (double)(rss1 - rss0) / LIVE : -1;
    double per_live_heap = (double)live_heap / LIVE;
    char v[64], t[64];

    printf("vm: %ld timed steps per run, best of %d; a cycle of %d inputs (%.1f events per step)\n", steps, runs,
           CYCLE, events_per_step);
    printf("  %-34s %18s   %-16s %s\n", "metric", "value", "target", "");
    snprintf(v, sizeof v, "%.0f", sps);
    row("steps/s (load+input+run+save+free)", v, ">= 1,000,000", sps >= 1e6 ? "ok" : "MISSED");
    snprintf(v, sizeof v, "%.0f ns", ns_step);
    row("  time per step", v, "", "");
    snprintf(v, sizeof v, "%.0f ns", ns_load);
    snprintf(t, sizeof t, "%4.1f%%", 100 * ns_load / ns_step);
    row("  of which vm_state_load + free", v, t, "");
    snprintf(v, sizeof v, "%.0f ns", ns_save);
    snprintf(t, sizeof t, "%4.1f%%", 100 * ns_save / ns_step);
    row("  of which vm_state_save", v, t, "");
    snprintf(v, sizeof v, "%.0f ns", ns_crc);
    snprintf(t, sizeof t, "%4.1f%%", 100 * ns_crc / ns_step);
    row("    (in load + save: 2 CRC-32s)", v, t, "");
    snprintf(v, sizeof v, "%.0f ns", ns_step - ns_load - ns_save);
    snprintf(t, sizeof t, "%4.1f%%", 100 * (ns_step - ns_load - ns_save) / ns_step);
    row("  of which input + run (the rest)", v, t, "");
    snprintf(v, sizeof v, "%.1f ns", ns_copy);
    row("floor: memcpy restore + save", v, "", "");
    snprintf(v, sizeof v, "%.0fx", ns_step / ns_copy);
    row("step / memcpy", v, "", "");
    snprintf(v, sizeof v, "%zu / %zu / %zu B", smin, smed, smax);
    snprintf(t, sizeof t, "typical < 256");
    row("saved state min / typical / max", v, t, smed < 256 ? "ok" : "MISSED");
    snprintf(v, sizeof v, "%.1f B", mean);
    row("  mean over the cycle", v, "", "");
    snprintf(v, sizeof v, "%zu B", fixed_bytes);
    row("  fixed part (no vars, no buttons)", v, "< 64", fixed_bytes < 64 ? "ok" : "MISSED");
    snprintf(v, sizeof v, "%.0f B", per_live_rss);
    row("live conversation (RSS delta)", v, "< 1 KB", per_live_rss >= 0 && per_live_rss < 1024 ? "ok" : "MISSED");
    snprintf(v, sizeof v, "%.0f B", per_live_heap);
    row("  (vm_state_memory)", v, "< 1 KB", per_live_heap < 1024 ? "ok" : "MISSED");
    snprintf(v, sizeof v, "%.1f MiB", (double)(rss1 - rss0) / (1024 * 1024));
    snprintf(t, sizeof t, "%d states", LIVE);
    row("  RSS held by all", v, t, "");

    for (int i = 0; i < CYCLE; i++)
        vm_buf_free(&saved[i]);
    vm_buf_free(&cur);
    vm_buf_free(&next);
    vm_program_free(fixed);
    vm_program_free(p);
    return 0;
}
