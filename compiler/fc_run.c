/* fc_run.c - `flowc run FLOW`: chat with the bot in the terminal.
 *
 * This file is the VM's host, like fc_chat.c, but the visitor is a person:
 * bot outputs are printed as they come (in the line format of transcripts,
 * spec section 12, with buttons numbered), and each line read from standard
 * input is a click (a button's number), typed text, or a /command that plays
 * the world's part: an agent taking the handoff, the wait running out, the
 * clock, the agents online, the visitor's facts. Notes from flowc itself are
 * printed in parentheses so they cannot be mistaken for the bot.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fc_cli.h"
#include "fc_scene.h"
#include "vm.h"

typedef struct term {
    fc_scene scene; /* first: the host's callbacks read it through ctx; real clock until /time */
    const vm_program *prog;
    vm_state *state;
    FILE *out;
    vm_host host;
} term;

/* ---- outputs --------------------------------------------------------------------- */

/* A bot message; lines after the first are indented under the first. */
static void put_message(FILE *f, vm_text_ref t)
{
    fputs("bot: ", f);
    for (uint32_t i = 0; i < t.len; i++) {
        fputc(t.s[i], f);
        if (t.s[i] == '\n')
            fputs("     ", f);
    }
    fputc('\n', f);
}

/* Tags, records and the end as transcript lines (vm_event_line). */
static void put_line(FILE *f, const vm_event *ev)
{
    vm_buf line = {0};
    if (vm_event_line(ev, &line))
        fprintf(f, "%.*s\n", (int)line.len, (const char *)line.data);
    vm_buf_free(&line);
}

/* 120 -> "2m", the way a flow writes durations. */
static void put_duration(FILE *f, uint32_t secs)
{
    if (secs && secs % 3600 == 0)
        fprintf(f, "%uh", secs / 3600);
    else if (secs && secs % 60 == 0)
        fprintf(f, "%um", secs / 60);
    else
        fprintf(f, "%us", secs);
}

static void put_handoff(FILE *f, const vm_event *ev)
{
    fputs("handoff:", f);
    if (ev->text.s)
        fprintf(f, " %.*s", (int)ev->text.len, ev->text.s);
    fputs("\n(waiting up to ", f);
    put_duration(f, ev->seconds);
    fputs(" for an agent: /taken or /timeout)\n", f);
}

static void on_event(void *ctx, const vm_event *ev)
{
    FILE *f = ((term *)ctx)->out;
    switch (ev->kind) {
    case VM_EV_SAY: put_message(f, ev->text); break;
    case VM_EV_BUTTONS:
        for (uint32_t i = 0; i < ev->nbuttons; i++)
            fprintf(f, "  [%u] %.*s", i + 1, (int)ev->buttons[i].len, ev->buttons[i].s);
        fputc('\n', f);
        break;
    case VM_EV_PAUSE: fprintf(f, "(typing %.*s...)\n", (int)ev->text.len, ev->text.s); break;
    case VM_EV_TAG:
    case VM_EV_RECORD: put_line(f, ev); break;
    case VM_EV_HANDOFF: put_handoff(f, ev); break;
    case VM_EV_END: put_line(f, ev); break;
    case VM_EV_ASK:
    case VM_EV_NODE: break; /* the prompt was said; the funnel is for the runtime */
    }
}

/* ---- the host --------------------------------------------------------------------- */

/* The defaults of a transcript (spec section 12), with the real clock. */
static void init_term(term *t, const vm_program *prog)
{
    memset(t, 0, sizeof *t);
    fc_scene_init(&t->scene, prog, false);
    t->prog = prog;
    t->out = stdout;
    t->host = fc_scene_host(&t->scene, on_event);
}

static void free_term(term *t)
{
    fc_scene_free(&t->scene);
    vm_state_free(t->state);
}

static bool start(term *t)
{
    vm_state_free(t->state);
    t->state = vm_state_new(t->prog);
    if (!t->state) {
        fputs("flowc: out of memory\n", stderr);
        return false;
    }
    vm_start(t->state, &t->host);
    return true;
}

/* ---- commands ------------------------------------------------------------------------ */

/* What happened to an input the VM did not take as usual. */
static void report(term *t, vm_status st)
{
    if (st == VM_IGNORED)
        fputs("(the bot ignores text while a handoff waits: it goes to the agents)\n", t->out);
    else if (st != VM_OK)
        fprintf(t->out, "(%s)\n", vm_status_text(st));
}

static bool cmd_taken(term *t, char *arg)
{
    report(t, vm_taken(t->state, &t->host));
    return true;
}

static bool cmd_timeout(term *t, char *arg)
{
    report(t, vm_timeout(t->state, &t->host));
    return true;
}

static bool cmd_agents(term *t, char *arg)
{
    if (!fc_scene_set_agents(&t->scene, arg))
        fputs("(usage: /agents N)\n", t->out);
    return true;
}

static bool cmd_time(term *t, char *arg)
{
    if (!fc_scene_set_time(&t->scene, arg))
        fputs("(usage: /time YYYY-MM-DD HH:MM, local time of the flow's hours)\n", t->out);
    return true;
}

static bool cmd_visitor(term *t, char *arg)
{
    const char *err = fc_scene_set_visitor(&t->scene, arg);
    if (err)
        fprintf(t->out, "(/visitor: %s)\n", err);
    return true;
}

static bool cmd_restart(term *t, char *arg)
{
    fputs("(a new conversation)\n", t->out);
    return start(t);
}

static bool cmd_quit(term *t, char *arg) { return false; }
static bool cmd_help(term *t, char *arg);

typedef struct command {
    const char *name, *args, *help;
    bool (*run)(term *t, char *arg); /* false: stop */
} command;

static const command commands[] = {
    {"taken", "", "an agent takes the waiting handoff", cmd_taken},
    {"timeout", "", "the handoff's wait runs out", cmd_timeout},
    {"agents", " N", "N agents are online for every team (default 1)", cmd_agents},
    {"time", " YYYY-MM-DD HH:MM", "stop the clock at this time of the hours zone (default: real)", cmd_time},
    {"visitor", " KEY=VALUE...", "visitor facts: name email page device country returning", cmd_visitor},
    {"restart", "", "start a new conversation (to see a new scene from the start)", cmd_restart},
    {"quit", "", "leave", cmd_quit},
    {"help", "", "this list", cmd_help},
};

static bool cmd_help(term *t, char *arg)
{
    fputs("A number clicks that button; other text is typed to the bot (//TEXT types /TEXT).\n", t->out);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        char usage[64];
        snprintf(usage, sizeof usage, "/%s%s", commands[i].name, commands[i].args);
        fprintf(t->out, "  %-26s %s\n", usage, commands[i].help);
    }
    return true;
}

static bool command_line(term *t, char *line)
{
    char *name = line + 1, *arg = name + strcspn(name, " \t");
    size_t n = (size_t)(arg - name);
    arg += strspn(arg, " \t");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strlen(commands[i].name) == n && memcmp(commands[i].name, name, n) == 0)
            return commands[i].run(t, arg);
    fprintf(t->out, "(unknown command '/%.*s'; /help lists them)\n", (int)n, name);
    return true;
}

/* ---- the visitor ------------------------------------------------------------------------ */

/* A button number: only digits, 1 to the number of buttons offered. */
static bool button_number(const term *t, const char *s, uint32_t *index)
{
    if (vm_state_wait(t->state) != VM_WAIT_CHOICE || !*s || strspn(s, "0123456789") != strlen(s))
        return false;
    unsigned long n = strtoul(s, NULL, 10);
    if (n < 1 || n > vm_state_buttons(t->state, NULL, 0))
        return false;
    *index = (uint32_t)(n - 1);
    return true;
}

/* One input line; false to stop. */
static bool input_line(term *t, char *line)
{
    if (line[strspn(line, " \t")] == '\0')
        return true;
    if (line[0] == '/' && line[1] != '/')
        return command_line(t, line);
    if (line[0] == '/')
        line++;
    uint32_t button;
    if (button_number(t, line, &button))
        report(t, vm_click(t->state, &t->host, button));
    else
        report(t, vm_send_text(t->state, &t->host, line, strlen(line)));
    return true;
}

static void chat(term *t, FILE *in, bool tty)
{
    char *line = NULL;
    size_t cap = 0;
    bool going = start(t);
    while (going && vm_state_wait(t->state) != VM_WAIT_ENDED) {
        if (tty)
            fputs("> ", t->out);
        fflush(t->out);
        ssize_t n = getline(&line, &cap, in);
        if (n < 0) {
            if (tty)
                fputc('\n', t->out);
            break;
        }
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = '\0';
        going = input_line(t, line);
    }
    if (going && t->state && vm_state_wait(t->state) == VM_WAIT_ENDED)
        fputs("(the conversation has ended)\n", t->out);
    free(line);
}

int fc_cmd_run(int argc, char **argv)
{
    if (argc != 1 || (argv[0][0] == '-' && argv[0][1] != '\0')) {
        fputs("flowc: usage: flowc run FLOW (then /help for the commands)\n", stderr);
        return 2;
    }
    vm_buf code = {0};
    int rc = fc_load_bytecode(argv[0], &code);
    char err[256];
    vm_program *prog = rc == 0 ? vm_program_load(code.data, code.len, err, sizeof err) : NULL;
    vm_buf_free(&code);
    if (rc == 0 && !prog) {
        fprintf(stderr, "flowc: %s: %s\n", argv[0], err);
        return 1;
    }
    if (!prog)
        return rc;
    term t;
    init_term(&t, prog);
    if (isatty(0))
        fprintf(t.out, "(chatting with \"%s\"; /help lists the commands)\n", vm_program_name(prog));
    chat(&t, stdin, isatty(0));
    free_term(&t);
    vm_program_free(prog);
    return 0;
}
