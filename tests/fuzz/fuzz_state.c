/* fuzz_state.c - libFuzzer target: any bytes as a saved conversation state.
 *
 * vm_state_load must restore or refuse every byte string against a real
 * program without crashing or reading out of bounds; a restored state must
 * take inputs safely and survive vm_state_save / vm_state_load again.
 *
 * The programs, compiled once at start-up, are the acme example of the
 * conformance suite (spec section 1) and a small one with a variable of
 * every type; a state is loaded against the one whose id it carries (bytes
 * 2-9), acme when none matches. Input layouts:
 *
 *   0xFF STATE     STATE gets its closing CRC-32 fixed up before loading, so
 *                  that mutations of the fields get past the checksum
 *   anything else  the whole input is a saved state as is
 *
 * With FLOW_FUZZ_STATE_SEEDS=DIR in the environment, start-up also writes
 * states of scripted conversations into DIR (raw and 0xFF forms) as a
 * seed corpus: `fuzz_state -runs=0` with it set does just that
 * (tests/fuzz/run.sh).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fc_diag.h"
#include "fc_unit.h"
#include "fuzz_common.h"

/* /work/shared/conformance/acme/acme.flow */
static const char acme_flow[] =
    "flow \"Acme support\"\n"
    "\n"
    "hours \"Europe/Warsaw\" {\n"
    "  mon-fri 09:00-17:00\n"
    "  sat 10:00-14:00\n"
    "}\n"
    "\n"
    "var name: text\n"
    "var email: email\n"
    "var budget: number = 0\n"
    "\n"
    "fallback \"Sorry, please pick one of the buttons.\"\n"
    "\n"
    "on \"human\", \"agent\", \"operator\" -> human\n"
    "\n"
    "node start {\n"
    "  say \"Hi {visitor.name|there}! How can we help?\"\n"
    "  choice {\n"
    "    \"Pricing\" -> pricing\n"
    "    \"Book a demo\" -> demo\n"
    "    \"Talk to a person\" -> human\n"
    "  }\n"
    "}\n"
    "\n"
    "node pricing {\n"
    "  say \"Plans start at 10 EUR a month.\"\n"
    "  choice \"Anything else?\" {\n"
    "    \"Yes\" -> start\n"
    "    \"No, thanks\" { say \"Have a nice day!\"; end }\n"
    "  }\n"
    "}\n"
    "\n"
    "node demo {\n"
    "  ask name \"What is your name?\"\n"
    "  ask email \"Thanks {name}! Your email?\" retry \"That does not look like an email address.\"\n"
    "  ask budget \"Monthly budget in EUR?\"\n"
    "  if budget >= 1000 {\n"
    "    tag \"qualified\"\n"
    "    goto human\n"
    "  }\n"
    "  lead { name: name, email: email, value: budget }\n"
    "  say \"Thanks, we will write to {email}.\"\n"
    "  end\n"
    "}\n"
    "\n"
    "node human {\n"
    "  handoff \"sales\" {\n"
    "    online \"Connecting you with our sales team...\"\n"
    "    wait 2m\n"
    "    offline -> capture\n"
    "  }\n"
    "}\n"
    "\n"
    "node capture {\n"
    "  say \"Nobody is available right now.\"\n"
    "  ask email \"Leave your email and we will get back to you.\"\n"
    "  lead { email: email, note: \"offline request\" }\n"
    "  end\n"
    "}\n";

/* Every variable type, a guarded option, a trigger, a deal, a handoff. */
static const char types_flow[] =
    "flow \"types\"\n"
    "var t: text = \"x\"\n"
    "var n: number = -2.5\n"
    "var b: bool = true\n"
    "var e: email\n"
    "var ph: phone\n"
    "on \"help\" -> start\n"
    "node start {\n"
    "  choice \"Pick one\" {\n"
    "    \"ask\" -> asks\n"
    "    \"flip\" { set b = not b; set n = n * 3 + 0.1 }\n"
    "    \"hand\" -> hand\n"
    "    \"hidden\" if b and n > 100 -> asks\n"
    "  }\n"
    "  goto start\n"
    "}\n"
    "node asks {\n"
    "  ask ph \"Phone?\"\n"
    "  ask e \"Email?\"\n"
    "  ask n \"Number?\"\n"
    "  ask t \"Text?\"\n"
    "  if b { deal { value: n, name: t, email: e, phone: ph } }\n"
    "  end\n"
    "}\n"
    "node hand {\n"
    "  handoff \"team\" { wait 1m; offline -> asks }\n"
    "}\n";

static vm_program *programs[2];

static void write_seed(const char *dir, const char *name, int n, const vm_buf *b)
{
    char path[4096];
    for (int fixed = 0; fixed < 2; fixed++) {
        snprintf(path, sizeof path, "%s/%s-state-%02d%s", dir, name, n, fixed ? "-fix" : "");
        FILE *f = fopen(path, "wb");
        if (!f)
            fuzz_die("cannot write %s", path);
        if (fixed)
            fputc(0xFF, f);
        fwrite(b->data, 1, b->len, f);
        fclose(f);
    }
}

/* Scripted conversations, each state saved as a seed. A step is a click
 * ("#N"), a handoff event ("@taken", "@timeout"), "!new" for a fresh
 * conversation (started), or typed text. */
static void write_seeds(const char *dir, const char *name, const vm_program *prog, const char *const *script,
                        size_t nscript)
{
    fuzz_host fh;
    fuzz_host_init(&fh, prog, FUZZ_MONDAY_NOON, 1, true);
    int n = 0;
    vm_state *s = vm_state_new(prog);
    vm_buf b = {0};
    vm_state_save(s, &b); /* not started */
    write_seed(dir, name, n++, &b);
    for (size_t i = 0; i < nscript; i++) {
        const char *step = script[i];
        if (strcmp(step, "!new") == 0) {
            vm_state_free(s);
            s = vm_state_new(prog);
            vm_start(s, &fh.host);
        } else if (step[0] == '#') {
            vm_click(s, &fh.host, (uint32_t)atoi(step + 1));
        } else if (strcmp(step, "@taken") == 0) {
            vm_taken(s, &fh.host);
        } else if (strcmp(step, "@timeout") == 0) {
            vm_timeout(s, &fh.host);
        } else {
            vm_send_text(s, &fh.host, step, strlen(step));
        }
        b.len = 0;
        vm_state_save(s, &b);
        write_seed(dir, name, n++, &b);
    }
    vm_buf_free(&b);
    vm_state_free(s);
}

static vm_program *compile(const char *path, const char *text, size_t len)
{
    fc_source src = {path, text, len};
    fc_diags *d = fc_diags_new();
    vm_buf code = {0};
    if (!fc_compile(&src, d, &code)) {
        fc_diags_write_text(d, stderr, false);
        fuzz_die("the embedded %s does not compile", path);
    }
    char err[256];
    vm_program *p = vm_program_load(code.data, code.len, err, sizeof err);
    if (!p)
        fuzz_die("vm_program_load refused %s: %s", path, err);
    vm_buf_free(&code);
    fc_diags_free(d);
    return p;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    programs[0] = compile("acme.flow", acme_flow, sizeof acme_flow - 1);
    programs[1] = compile("types.flow", types_flow, sizeof types_flow - 1);
    const char *dir = getenv("FLOW_FUZZ_STATE_SEEDS");
    if (dir && *dir) {
        static const char *const acme[] = {
            "!new", "#0", "#1", "!new", "#1", "Ann", "not an email", "ann@example.com", "lots", "2000", "@taken",
            "!new", "#2", "@timeout", "ann@example.com", "!new", "what?", "human", "@timeout", "!new", "#1", "Ann",
            "ann@example.com", "5", "!new", "#0", "No, thanks",
        };
        static const char *const types[] = {
            "!new", "#1", "#1", "#1", "#1", "#0", "12", "+48 600 700 800", "x", "a@b.co", "-1,5", "  hi  ",
            "!new", "#2", "@timeout", "help", "hand", "@taken", "!new", "zzz", "#0", "help",
        };
        write_seeds(dir, "acme", programs[0], acme, sizeof acme / sizeof acme[0]);
        write_seeds(dir, "types", programs[1], types, sizeof types / sizeof types[0]);
    }
    return 0;
}

static vm_state *after_step(const vm_program *prog, vm_state *s)
{
    fuzz_poke_state(prog, s);
    return fuzz_roundtrip(prog, s);
}

/* The program whose id the state names (bytes 2-9), else acme. */
static const vm_program *program_for(const uint8_t *b, size_t n)
{
    uint64_t id = 0;
    for (int i = 0; n >= 10 && i < 8; i++)
        id |= (uint64_t)b[2 + i] << (8 * i);
    return id == vm_program_id(programs[1]) ? programs[1] : programs[0];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    bool fix = size >= 1 && data[0] == 0xFF;
    size_t n = fix ? size - 1 : size;
    uint8_t *bytes = malloc(n ? n : 1);
    if (!bytes)
        return 0;
    if (n)
        memcpy(bytes, data + fix, n);
    if (fix)
        fuzz_fix_state(bytes, n);
    const vm_program *prog = program_for(bytes, n);
    char err[256];
    err[0] = '\0';
    vm_state *s = vm_state_load(prog, bytes, n, err, sizeof err);
    free(bytes);
    if (!s) {
        if (!err[0] || !memchr(err, '\0', sizeof err))
            fuzz_die("vm_state_load refused without a message");
        return 0;
    }
    fuzz_host fh;
    fuzz_host_init(&fh, prog, FUZZ_MONDAY_NOON, 1, true);
    const vm_host *h = &fh.host;
    s = after_step(prog, s);
    vm_text_ref b[VM_MAX_BUTTONS];
    if (vm_state_buttons(s, b, VM_MAX_BUTTONS) > 0) {
        char label[300];
        uint32_t len = b[0].len < 256 ? b[0].len : 256;
        memcpy(label, b[0].s, len);
        vm_send_text(s, h, label, len);
        s = after_step(prog, s);
    }
    static const char *const inputs[] = {"#0",     "hello",  "+48 600 700 800", "ann@example.com", "2 000,5", "#1",
                                         "#2",     "help",   "@timeout",        "@taken",          "human",   "x",
                                         "@start"};
    for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++) {
        const char *in = inputs[i];
        if (in[0] == '#')
            vm_click(s, h, (uint32_t)(in[1] - '0'));
        else if (strcmp(in, "@timeout") == 0)
            vm_timeout(s, h);
        else if (strcmp(in, "@taken") == 0)
            vm_taken(s, h);
        else if (strcmp(in, "@start") == 0)
            vm_start(s, h);
        else
            vm_send_text(s, h, in, strlen(in));
        s = after_step(prog, s);
    }
    vm_state_free(s);
    return 0;
}
