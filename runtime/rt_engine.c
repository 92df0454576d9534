/* rt_engine.c - conversations (see rt_engine.h).
 *
 * A conversation in memory is an rt_conv_rec mirror of its row, the VM
 * state, the program version it runs, the visitor's facts and, while the
 * visitor is connected, their socket. A step (visitor input, agent action,
 * timer) locks the conversation, runs the VM with a host that turns every
 * output into a stored message plus a frame, commits the batch, and only
 * then sends the frames. If the commit fails the conversation is reloaded
 * from the store, so memory never runs ahead of what was acknowledged.
 */
#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rt_engine.h"
#include "rt_log.h"
#include "vm_text.h"

#define TABLE_SIZE 16384

typedef struct channel_rec {
    char name[64];
    char flow[128];
    struct channel_rec *next;
} channel_rec;

typedef struct agent_rec {
    char name[64];
    bool online;
    struct agent_rec *next;
} agent_rec;

typedef struct conv {
    pthread_mutex_t lock;
    rt_conv_rec rec;
    vm_state *vm;
    const vm_program *prog;
    char *fact[5]; /* name, email, page, device, country */
    bool returning;
    vm_visitor visitor;
    rt_peer *peer;
    bool debug;
    bool abandon_armed; /* an abandon timer is stored for it */
    struct conv *next;
} conv;

struct rt_engine {
    rt_store *store;
    rt_flows *flows;
    rt_send_fn send;
    bool test_hooks;
    int64_t abandon_after;
    pthread_mutex_t lock; /* the tables below */
    conv *table[TABLE_SIZE];
    channel_rec *channels;
    agent_rec *agents;
    _Atomic int64_t next_id;
    _Atomic int64_t test_clock; /* 0: real time */
    _Atomic int test_agents;    /* -1: count present agents */
    _Atomic uint64_t steps, vm_instructions, outcomes[VM_OUTCOME_ERROR + 1], handoffs, timers_fired;
};

/* ---- helpers ------------------------------------------------------------------ */

int64_t rt_engine_now(rt_engine *e)
{
    int64_t t = atomic_load(&e->test_clock);
    return t ? t : (int64_t)time(NULL);
}

static char *dup_or_empty(const char *s) { return strdup(s ? s : ""); }

static void set_facts(conv *c, const char *const facts[5], bool returning)
{
    for (int i = 0; i < 5; i++) {
        free(c->fact[i]);
        c->fact[i] = dup_or_empty(facts[i]);
    }
    c->returning = returning;
    c->visitor = (vm_visitor){c->fact[0], c->fact[1], c->fact[2], c->fact[3], c->fact[4], returning};
}

/* Facts are kept with the conversation (as JSON) so that a timer firing
 * after a restart still sees them. */
static void facts_to_rec(conv *c)
{
    static const char *const keys[] = {"name", "email", "page", "device", "country"};
    cJSON *o = cJSON_CreateObject();
    for (int i = 0; i < 5; i++)
        cJSON_AddStringToObject(o, keys[i], c->fact[i]);
    cJSON_AddBoolToObject(o, "returning", c->returning);
    char *s = cJSON_PrintUnformatted(o);
    snprintf(c->rec.facts, sizeof c->rec.facts, "%s", s ? s : "{}");
    free(s);
    cJSON_Delete(o);
}

static void facts_from_rec(conv *c)
{
    static const char *const keys[] = {"name", "email", "page", "device", "country"};
    cJSON *o = cJSON_ParseWithOpts(c->rec.facts, NULL, 0);
    const char *facts[5];
    for (int i = 0; i < 5; i++) {
        cJSON *v = cJSON_GetObjectItemCaseSensitive(o, keys[i]);
        facts[i] = cJSON_IsString(v) ? v->valuestring : "";
    }
    set_facts(c, facts, cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "returning")));
    cJSON_Delete(o);
}

static void free_conv(conv *c)
{
    vm_state_free(c->vm);
    for (int i = 0; i < 5; i++)
        free(c->fact[i]);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

static const char *channel_flow(rt_engine *e, const char *name)
{
    const char *flow = NULL;
    pthread_mutex_lock(&e->lock);
    for (channel_rec *ch = e->channels; ch; ch = ch->next)
        if (strcmp(ch->name, name) == 0)
            flow = ch->flow;
    pthread_mutex_unlock(&e->lock);
    return flow;
}

static uint32_t agents_online(void *ctx, const char *team, size_t len)
{
    rt_engine *e = ctx;
    (void)team;
    (void)len;
    int forced = atomic_load(&e->test_agents);
    if (forced >= 0)
        return (uint32_t)forced;
    uint32_t n = 0;
    pthread_mutex_lock(&e->lock);
    for (agent_rec *a = e->agents; a; a = a->next)
        n += a->online;
    pthread_mutex_unlock(&e->lock);
    return n;
}

/* ---- the conversation table ---------------------------------------------------- */

static conv *table_find(rt_engine *e, int64_t id)
{
    for (conv *c = e->table[(uint64_t)id % TABLE_SIZE]; c; c = c->next)
        if (c->rec.id == id)
            return c;
    return NULL;
}

/* Loads a conversation from the store into memory (or finds it there). */
static conv *get_conv(rt_engine *e, int64_t id)
{
    pthread_mutex_lock(&e->lock);
    conv *c = table_find(e, id);
    pthread_mutex_unlock(&e->lock);
    if (c)
        return c;
    conv *fresh = calloc(1, sizeof *fresh);
    uint8_t *state = NULL;
    size_t len = 0;
    if (!fresh || !e->store->ops->get_conversation(e->store, id, &fresh->rec, &state, &len)) {
        free(fresh);
        return NULL;
    }
    char err[256];
    fresh->prog = rt_flows_by_id(e->flows, fresh->rec.program_id);
    fresh->vm = fresh->prog ? vm_state_load(fresh->prog, state, len, err, sizeof err) : NULL;
    free(state);
    if (!fresh->vm) {
        rt_log("error", "conversation %lld cannot be restored: %s", (long long)id,
               fresh->prog ? err : "its flow version is missing");
        free(fresh);
        return NULL;
    }
    pthread_mutex_init(&fresh->lock, NULL);
    facts_from_rec(fresh);
    pthread_mutex_lock(&e->lock);
    c = table_find(e, id);
    if (!c) {
        fresh->next = e->table[(uint64_t)id % TABLE_SIZE];
        e->table[(uint64_t)id % TABLE_SIZE] = c = fresh;
        fresh = NULL;
    }
    pthread_mutex_unlock(&e->lock);
    if (fresh)
        free_conv(fresh);
    return c;
}

/* Drops the in-memory copy (after a failed commit) so the next access
 * reloads what the store has. Called with c->lock held; c stays valid (it
 * is only unlinked and re-read in place). */
static void reload_conv(rt_engine *e, conv *c)
{
    uint8_t *state = NULL;
    size_t len = 0;
    rt_conv_rec rec;
    char err[256];
    if (!e->store->ops->get_conversation(e->store, c->rec.id, &rec, &state, &len))
        return;
    vm_state *vm = vm_state_load(c->prog, state, len, err, sizeof err);
    free(state);
    if (!vm)
        return;
    vm_state_free(c->vm);
    c->vm = vm;
    c->rec = rec;
}

/* ---- one step: outputs, batch, commit, frames ------------------------------------------ */

typedef struct step {
    rt_engine *e;
    conv *c;
    rt_batch *batch;
    int64_t now;
    cJSON *frames;
} step;

static void add_frame(step *s, cJSON *frame) { cJSON_AddItemToArray(s->frames, frame); }

static int64_t store_message(step *s, const char *sender, const char *kind, cJSON *body, const char *client_id)
{
    char *json = cJSON_PrintUnformatted(body);
    rt_msg_rec m = {s->c->rec.id, ++s->c->rec.last_seq, sender, kind, json ? json : "{}", client_id, s->now};
    rt_batch_message(s->batch, &m);
    free(json);
    cJSON_Delete(body);
    return m.seq;
}

static void debug_line(step *s, const char *line)
{
    if (!s->c->debug)
        return;
    cJSON *f = cJSON_CreateObject();
    cJSON_AddStringToObject(f, "type", "event");
    cJSON_AddStringToObject(f, "line", line);
    add_frame(s, f);
}

static cJSON *text_json(vm_text_ref t)
{
    /* cJSON needs NUL-terminated text */
    char *z = malloc(t.len + 1);
    if (t.len)
        memcpy(z, t.s, t.len);
    z[t.len] = '\0';
    cJSON *j = cJSON_CreateString(z);
    free(z);
    return j;
}

static void emit_say(step *s, const vm_event *ev)
{
    cJSON *body = cJSON_CreateObject();
    cJSON_AddItemToObject(body, "text", text_json(ev->text));
    int64_t seq = store_message(s, "bot", "text", body, NULL);
    cJSON *f = cJSON_CreateObject();
    cJSON_AddStringToObject(f, "type", "message");
    cJSON_AddNumberToObject(f, "seq", (double)seq);
    cJSON_AddStringToObject(f, "from", "bot");
    cJSON_AddItemToObject(f, "text", text_json(ev->text));
    add_frame(s, f);
}

static cJSON *button_array(const vm_event *ev)
{
    cJSON *a = cJSON_CreateArray();
    for (uint32_t i = 0; i < ev->nbuttons; i++)
        cJSON_AddItemToArray(a, text_json(ev->buttons[i]));
    return a;
}

static void emit_buttons(step *s, const vm_event *ev)
{
    cJSON *body = cJSON_CreateObject();
    cJSON_AddItemToObject(body, "buttons", button_array(ev));
    int64_t seq = store_message(s, "bot", "buttons", body, NULL);
    cJSON *f = cJSON_CreateObject();
    cJSON_AddStringToObject(f, "type", "buttons");
    cJSON_AddNumberToObject(f, "seq", (double)seq);
    cJSON_AddItemToObject(f, "buttons", button_array(ev));
    add_frame(s, f);
}

static const char *ask_name(vm_type t)
{
    switch (t) {
    case VM_TYPE_EMAIL: return "email";
    case VM_TYPE_PHONE: return "phone";
    case VM_TYPE_NUMBER: return "number";
    default: return "text";
    }
}

static void emit_record(step *s, const vm_event *ev)
{
    cJSON *fields = cJSON_CreateObject();
    for (uint32_t i = 0; i < ev->nfields; i++) {
        char name[128];
        snprintf(name, sizeof name, "%.*s", (int)ev->fields[i].name.len, ev->fields[i].name.s);
        if (ev->fields[i].is_number)
            cJSON_AddNumberToObject(fields, name, ev->fields[i].number);
        else
            cJSON_AddItemToObject(fields, name, text_json(ev->fields[i].value));
    }
    char *json = cJSON_PrintUnformatted(fields);
    rt_batch_lead(s->batch, s->c->rec.id, ev->record_deal, json ? json : "{}", s->now);
    rt_batch_counter(s->batch, s->c->rec.channel, ev->record_deal ? "deals" : "leads", 1);
    free(json);
    cJSON *body = cJSON_CreateObject();
    cJSON_AddItemToObject(body, "fields", fields);
    store_message(s, "system", ev->record_deal ? "deal" : "lead", body, NULL);
}

static void emit_handoff(step *s, const vm_event *ev)
{
    conv *c = s->c;
    c->rec.status = RT_STATUS_QUEUED;
    c->rec.queued_at = s->now;
    snprintf(c->rec.team, sizeof c->rec.team, "%.*s", ev->text.s ? (int)ev->text.len : 0, ev->text.s ? ev->text.s : "");
    rt_batch_timer(s->batch, c->rec.id, s->now + ev->seconds);
    cJSON *body = cJSON_CreateObject();
    cJSON_AddStringToObject(body, "team", c->rec.team);
    store_message(s, "system", "handoff", body, NULL);
    cJSON *f = cJSON_CreateObject();
    cJSON_AddStringToObject(f, "type", "status");
    cJSON_AddStringToObject(f, "status", "queued");
    add_frame(s, f);
    atomic_fetch_add(&s->e->handoffs, 1);
}

static void emit_end(step *s, const vm_event *ev)
{
    conv *c = s->c;
    c->rec.outcome = ev->outcome;
    /* handed to an agent: the conversation goes on with them; otherwise the
     * bot's part was the whole conversation and it is closed */
    c->rec.status = ev->outcome == VM_OUTCOME_HANDOFF ? RT_STATUS_AGENT : RT_STATUS_CLOSED;
    rt_batch_timer(s->batch, c->rec.id, -1);
    char name[48];
    snprintf(name, sizeof name, "outcome:%s", vm_outcome_name(ev->outcome));
    rt_batch_counter(s->batch, c->rec.channel, name, 1);
    atomic_fetch_add(&s->e->outcomes[ev->outcome <= VM_OUTCOME_ERROR ? ev->outcome : 0], 1);
    cJSON *body = cJSON_CreateObject();
    cJSON_AddStringToObject(body, "outcome", vm_outcome_name(ev->outcome));
    store_message(s, "system", "end", body, NULL);
    if (c->rec.status == RT_STATUS_CLOSED) {
        cJSON *f = cJSON_CreateObject();
        cJSON_AddStringToObject(f, "type", "ended");
        cJSON_AddStringToObject(f, "outcome", vm_outcome_name(ev->outcome));
        add_frame(s, f);
    }
}

/* The transcript line of an output (vm_event_line), for debug frames:
 * malloc'd; NULL for outputs a transcript does not show. */
static char *transcript_line(const vm_event *ev)
{
    vm_buf line = {0};
    if (!vm_event_line(ev, &line)) {
        vm_buf_free(&line);
        return NULL;
    }
    vm_buf_put_u8(&line, 0);
    if (line.oom) {
        vm_buf_free(&line);
        return NULL;
    }
    return (char *)line.data;
}

static void on_event(void *ctx, const vm_event *ev)
{
    step *s = ctx;
    switch (ev->kind) {
    case VM_EV_SAY: emit_say(s, ev); break;
    case VM_EV_BUTTONS: emit_buttons(s, ev); break;
    case VM_EV_ASK: {
        cJSON *f = cJSON_CreateObject();
        cJSON_AddStringToObject(f, "type", "ask");
        cJSON_AddStringToObject(f, "input", ask_name(ev->ask_type));
        add_frame(s, f);
        return;
    }
    case VM_EV_PAUSE: {
        cJSON *f = cJSON_CreateObject();
        cJSON_AddStringToObject(f, "type", "typing");
        cJSON_AddNumberToObject(f, "seconds", ev->seconds);
        add_frame(s, f);
        break;
    }
    case VM_EV_TAG: {
        cJSON *body = cJSON_CreateObject();
        cJSON_AddItemToObject(body, "tag", text_json(ev->text));
        store_message(s, "system", "tag", body, NULL);
        break;
    }
    case VM_EV_RECORD: emit_record(s, ev); break;
    case VM_EV_HANDOFF: emit_handoff(s, ev); break;
    case VM_EV_END: emit_end(s, ev); break;
    case VM_EV_NODE: {
        vm_text_ref name = vm_program_node_name(s->c->prog, ev->node);
        char counter[200];
        snprintf(counter, sizeof counter, "node:%s:%.*s", s->c->rec.flow, (int)name.len, name.s);
        rt_batch_counter(s->batch, s->c->rec.channel, counter, 1);
        return;
    }
    }
    char *line = s->c->debug ? transcript_line(ev) : NULL; /* only debug sockets show it */
    if (line)
        debug_line(s, line);
    free(line);
}

static void step_begin(step *s, rt_engine *e, conv *c)
{
    s->e = e;
    s->c = c;
    s->batch = rt_batch_new();
    s->now = rt_engine_now(e);
    s->frames = cJSON_CreateArray();
}

/* The VM's host during a step: outputs into the step, the step's clock,
 * the engine's agents, the conversation's visitor. */
static int64_t host_now(void *ctx) { return ((step *)ctx)->now; }
static uint32_t host_agents(void *ctx, const char *team, size_t len) { return agents_online(((step *)ctx)->e, team, len); }

static vm_host step_host(step *s)
{
    vm_host h = {s, on_event, host_now, host_agents, &s->c->visitor};
    return h;
}

/* For /metrics: one VM call and the instructions it ran. */
static void count_run(step *s)
{
    atomic_fetch_add(&s->e->steps, 1);
    atomic_fetch_add(&s->e->vm_instructions, vm_state_last_steps(s->c->vm));
}

static void send_frame(rt_engine *e, conv *c, cJSON *f)
{
    if (!c->peer)
        return;
    char *json = cJSON_PrintUnformatted(f);
    if (json) {
        e->send(c->peer, json, strlen(json));
        free(json);
    }
}

/* Commits the step and sends its frames (after `first`, e.g. an ack);
 * false (and the conversation reloaded) if the store refused. */
static bool step_finish(step *s, cJSON *first)
{
    conv *c = s->c;
    vm_buf state = {0};
    c->rec.updated_at = s->now;
    bool ok = vm_state_save(c->vm, &state);
    if (ok) {
        rt_batch_state(s->batch, c->rec.id, state.data, state.len);
        rt_batch_conversation(s->batch, &c->rec);
        ok = s->e->store->ops->commit(s->e->store, s->batch);
    }
    vm_buf_free(&state);
    if (ok) {
        if (first)
            send_frame(s->e, c, first);
        cJSON *f;
        cJSON_ArrayForEach(f, s->frames) send_frame(s->e, c, f);
    } else {
        reload_conv(s->e, c);
    }
    cJSON_Delete(first);
    cJSON_Delete(s->frames);
    rt_batch_free(s->batch);
    return ok;
}

static void run_vm(step *s, vm_status (*fn)(vm_state *, const vm_host *))
{
    vm_host h = step_host(s);
    fn(s->c->vm, &h);
    count_run(s);
}

char *rt_error_frame(const char *code, const char *msg, const char *id)
{
    cJSON *f = cJSON_CreateObject();
    cJSON_AddStringToObject(f, "type", "error");
    cJSON_AddStringToObject(f, "code", code);
    cJSON_AddStringToObject(f, "message", msg);
    if (id)
        cJSON_AddStringToObject(f, "id", id);
    char *json = cJSON_PrintUnformatted(f);
    cJSON_Delete(f);
    return json;
}

static void send_error(rt_engine *e, rt_peer *peer, const char *code, const char *msg, const char *id)
{
    char *json = rt_error_frame(code, msg, id);
    if (json && peer)
        e->send(peer, json, strlen(json));
    free(json);
}

/* The bot waits for a visitor who is not there: after `abandon_after`
 * seconds without them the conversation ends as abandoned (a timer, so it
 * survives a restart; cancelled when they come back or write). */
static bool bot_waits_for_visitor(conv *c)
{
    vm_wait w = vm_state_wait(c->vm);
    return c->rec.status == RT_STATUS_BOT && (w == VM_WAIT_CHOICE || w == VM_WAIT_ASK);
}

static void set_abandon_timer(rt_engine *e, conv *c, bool arm)
{
    if (arm == c->abandon_armed)
        return;
    rt_batch *b = rt_batch_new();
    rt_batch_timer(b, c->rec.id, arm ? rt_engine_now(e) + e->abandon_after : -1);
    if (e->store->ops->commit(e->store, b))
        c->abandon_armed = arm;
    rt_batch_free(b);
}

/* ---- visitors ------------------------------------------------------------------------ */

static cJSON *welcome_frame(conv *c, bool resumed)
{
    static const char *const status[] = {"bot", "queued", "agent", "closed"};
    cJSON *f = cJSON_CreateObject();
    cJSON_AddStringToObject(f, "type", "welcome");
    cJSON_AddNumberToObject(f, "conversation", (double)c->rec.id);
    cJSON_AddStringToObject(f, "status", status[c->rec.status & 3]);
    cJSON_AddBoolToObject(f, "resumed", resumed);
    return f;
}

typedef struct history {
    rt_engine *e;
    conv *c;
} history;

/* A stored message as the frame the visitor would have seen. */
static bool send_history(void *ctx, const rt_msg_rec *m)
{
    history *h = ctx;
    cJSON *body = cJSON_ParseWithOpts(m->body, NULL, 0);
    cJSON *f = NULL;
    if (strcmp(m->kind, "text") == 0 || strcmp(m->kind, "joined") == 0) {
        f = cJSON_CreateObject();
        cJSON_AddStringToObject(f, "type", strcmp(m->kind, "joined") == 0 ? "agent_joined" : "message");
        cJSON_AddNumberToObject(f, "seq", (double)m->seq);
        cJSON_AddStringToObject(f, "from", m->sender);
        cJSON *text = cJSON_GetObjectItemCaseSensitive(body, strcmp(m->kind, "joined") == 0 ? "name" : "text");
        cJSON_AddStringToObject(f, strcmp(m->kind, "joined") == 0 ? "name" : "text",
                                cJSON_IsString(text) ? text->valuestring : "");
    } else if (strcmp(m->kind, "buttons") == 0) {
        f = cJSON_CreateObject();
        cJSON_AddStringToObject(f, "type", "buttons");
        cJSON_AddNumberToObject(f, "seq", (double)m->seq);
        cJSON *b = cJSON_DetachItemFromObjectCaseSensitive(body, "buttons");
        cJSON_AddItemToObject(f, "buttons", b ? b : cJSON_CreateArray());
    }
    if (f) {
        send_frame(h->e, h->c, f);
        cJSON_Delete(f);
    }
    cJSON_Delete(body);
    return true;
}

static conv *new_conv(rt_engine *e, const rt_hello *h, const char *flow, const vm_program *prog)
{
    conv *c = calloc(1, sizeof *c);
    c->vm = vm_state_new(prog);
    if (!c->vm) {
        free(c);
        return NULL;
    }
    pthread_mutex_init(&c->lock, NULL);
    c->prog = prog;
    c->rec.id = atomic_fetch_add(&e->next_id, 1);
    snprintf(c->rec.channel, sizeof c->rec.channel, "%s", h->channel);
    snprintf(c->rec.visitor, sizeof c->rec.visitor, "%s", h->visitor);
    snprintf(c->rec.flow, sizeof c->rec.flow, "%s", flow);
    c->rec.program_id = vm_program_id(prog);
    c->rec.created_at = rt_engine_now(e);
    const char *facts[5] = {h->name, h->email, h->page ? h->page : "/", h->device ? h->device : "desktop",
                            h->country};
    set_facts(c, facts, h->returning_given && h->returning);
    facts_to_rec(c);
    return c;
}

static void table_add(rt_engine *e, conv *c)
{
    pthread_mutex_lock(&e->lock);
    c->next = e->table[(uint64_t)c->rec.id % TABLE_SIZE];
    e->table[(uint64_t)c->rec.id % TABLE_SIZE] = c;
    pthread_mutex_unlock(&e->lock);
}

/* Starts a conversation: the bot's first outputs go out after the commit. */
static conv *start_conv(rt_engine *e, rt_peer *peer, const rt_hello *h, const char *flow, char *err, size_t errlen)
{
    const vm_program *prog = rt_flows_current(e->flows, flow);
    conv *c = prog ? new_conv(e, h, flow, prog) : NULL;
    if (!c) {
        snprintf(err, errlen, prog ? "out of memory" : "the channel's flow is not loaded");
        return NULL;
    }
    pthread_mutex_lock(&c->lock);
    c->peer = peer;
    c->debug = h->debug;
    step s;
    step_begin(&s, e, c);
    rt_batch_counter(s.batch, c->rec.channel, "conversations", 1);
    run_vm(&s, vm_start);
    if (!step_finish(&s, welcome_frame(c, false))) {
        pthread_mutex_unlock(&c->lock);
        free_conv(c);
        snprintf(err, errlen, "the store could not commit");
        return NULL;
    }
    table_add(e, c);
    pthread_mutex_unlock(&c->lock);
    return c;
}

int64_t rt_visitor_hello(rt_engine *e, rt_peer *peer, const rt_hello *h, char *err, size_t errlen)
{
    const char *flow = channel_flow(e, h->channel);
    if (!flow) {
        snprintf(err, errlen, "unknown channel '%s'", h->channel);
        return 0;
    }
    rt_conv_rec found;
    conv *c = e->store->ops->find_open(e->store, h->channel, h->visitor, &found) ? get_conv(e, found.id) : NULL;
    if (c) {
        pthread_mutex_lock(&c->lock);
        c->peer = peer;
        c->debug = h->debug;
        if (c->abandon_armed || c->rec.status == RT_STATUS_BOT)
            set_abandon_timer(e, c, false);
        cJSON *w = welcome_frame(c, true);
        send_frame(e, c, w);
        cJSON_Delete(w);
        history hist = {e, c};
        e->store->ops->messages(e->store, c->rec.id, 0, send_history, &hist);
        pthread_mutex_unlock(&c->lock);
        return c->rec.id;
    }
    c = start_conv(e, peer, h, flow, err, errlen);
    return c ? c->rec.id : 0;
}

static cJSON *ack_frame(const char *id, int64_t seq)
{
    cJSON *f = cJSON_CreateObject();
    cJSON_AddStringToObject(f, "type", "ack");
    cJSON_AddStringToObject(f, "id", id);
    cJSON_AddNumberToObject(f, "seq", (double)seq);
    return f;
}

typedef struct input {
    rt_input_kind kind;
    const char *text;
    size_t len;
    int button;
} input;

static vm_status deliver(step *s, const input *in)
{
    vm_host h = step_host(s);
    vm_status st = in->kind == RT_INPUT_CLICK ? vm_click(s->c->vm, &h, (uint32_t)in->button)
                                              : vm_send_text(s->c->vm, &h, in->text, in->len);
    count_run(s);
    return st;
}

/* The visitor's input as a stored message (a click is stored as its label). */
static int64_t store_input(step *s, const char *client_id, const input *in)
{
    cJSON *body = cJSON_CreateObject();
    if (in->kind == RT_INPUT_CLICK) {
        vm_text_ref labels[VM_MAX_BUTTONS];
        uint32_t n = vm_state_buttons(s->c->vm, labels, VM_MAX_BUTTONS);
        cJSON_AddItemToObject(body, "text", text_json(in->button < (int)n ? labels[in->button] : (vm_text_ref){"", 0}));
        cJSON_AddNumberToObject(body, "button", in->button);
    } else {
        cJSON_AddItemToObject(body, "text", text_json((vm_text_ref){in->text, (uint32_t)in->len}));
    }
    return store_message(s, "visitor", "text", body, client_id);
}

/* An input whose client id is stored already was sent again after a
 * reconnect: it is acknowledged again with its seq, not run twice. */
static bool ack_if_seen(rt_engine *e, conv *c, const char *client_id)
{
    int64_t seen = e->store->ops->client_message(e->store, c->rec.id, client_id);
    if (seen <= 0)
        return false;
    cJSON *ack = ack_frame(client_id, seen);
    send_frame(e, c, ack);
    cJSON_Delete(ack);
    return true;
}

/* The client id is looked up only when the input fails (a store read on
 * every input cost a tenth of flowd's time): the store refuses a second
 * visitor message with the same id (unique index), so a resend that would
 * run fails its commit, the conversation is reloaded, and the id is found. */
void rt_visitor_input(rt_engine *e, rt_peer *peer, int64_t id, const char *client_id, rt_input_kind kind,
                      const char *text, size_t len, int button)
{
    conv *c = get_conv(e, id);
    if (!c) {
        send_error(e, peer, "ended", "the conversation is gone", client_id);
        return;
    }
    pthread_mutex_lock(&c->lock);
    c->peer = peer;
    if (c->rec.status == RT_STATUS_CLOSED) {
        bool seen = ack_if_seen(e, c, client_id);
        pthread_mutex_unlock(&c->lock);
        if (!seen)
            send_error(e, peer, "ended", "this conversation is closed; reconnect to start a new one", client_id);
        return;
    }
    input in = {kind, text, len, button};
    vm_text_ref labels[VM_MAX_BUTTONS];
    bool bot_waits = c->rec.status == RT_STATUS_BOT || c->rec.status == RT_STATUS_QUEUED;
    if (kind == RT_INPUT_CLICK && (vm_state_wait(c->vm) != VM_WAIT_CHOICE || button < 0 ||
                                   (uint32_t)button >= vm_state_buttons(c->vm, labels, VM_MAX_BUTTONS))) {
        bool seen = ack_if_seen(e, c, client_id);
        pthread_mutex_unlock(&c->lock);
        if (!seen)
            send_error(e, peer, "no_button", "that button is not offered", client_id);
        return;
    }
    step s;
    step_begin(&s, e, c);
    int64_t seq = store_input(&s, client_id, &in);
    if (bot_waits)
        deliver(&s, &in);
    if (!step_finish(&s, ack_frame(client_id, seq)) && !ack_if_seen(e, c, client_id))
        send_error(e, peer, "server_busy", "the message could not be stored; send it again", client_id);
    pthread_mutex_unlock(&c->lock);
}

void rt_visitor_gone(rt_engine *e, rt_peer *peer, int64_t id)
{
    pthread_mutex_lock(&e->lock);
    conv *c = table_find(e, id);
    pthread_mutex_unlock(&e->lock);
    if (!c)
        return;
    pthread_mutex_lock(&c->lock);
    if (c->peer == peer) {
        c->peer = NULL;
        if (bot_waits_for_visitor(c))
            set_abandon_timer(e, c, true);
    }
    pthread_mutex_unlock(&c->lock);
}

/* ---- agents ------------------------------------------------------------------------------ */

static char *json_error(const char *msg)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "error", msg);
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

static char *json_ok(conv *c)
{
    static const char *const status[] = {"bot", "queued", "agent", "closed"};
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "conversation", (double)c->rec.id);
    cJSON_AddStringToObject(o, "status", status[c->rec.status & 3]);
    cJSON_AddStringToObject(o, "outcome", vm_outcome_name(c->rec.outcome));
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

/* Takes the conversation for `agent` inside step s: the bot stops (outcome
 * handoff), the visitor sees who joined. */
static void take_in_step(step *s, const char *agent)
{
    conv *c = s->c;
    if (vm_state_wait(c->vm) == VM_WAIT_HANDOFF) {
        run_vm(s, vm_taken);
    } else if (vm_state_wait(c->vm) != VM_WAIT_ENDED) {
        /* "stop the bot": an agent takes over a conversation the bot runs */
        vm_event ev = {.kind = VM_EV_END, .outcome = VM_OUTCOME_HANDOFF};
        emit_end(s, &ev);
        vm_state_free(c->vm);
        c->vm = vm_state_new(c->prog); /* the bot part is over; keep a valid state */
    }
    c->rec.status = RT_STATUS_AGENT;
    rt_batch_timer(s->batch, c->rec.id, -1);
    snprintf(c->rec.agent, sizeof c->rec.agent, "%s", agent);
    cJSON *body = cJSON_CreateObject();
    cJSON_AddStringToObject(body, "name", agent);
    int64_t seq = store_message(s, "system", "joined", body, NULL);
    cJSON *f = cJSON_CreateObject();
    cJSON_AddStringToObject(f, "type", "agent_joined");
    cJSON_AddNumberToObject(f, "seq", (double)seq);
    cJSON_AddStringToObject(f, "name", agent);
    add_frame(s, f);
}

int rt_agent_take(rt_engine *e, int64_t id, const char *agent, char **json)
{
    conv *c = get_conv(e, id);
    if (!c)
        return *json = json_error("no such conversation"), 404;
    pthread_mutex_lock(&c->lock);
    int status = 200;
    if (c->rec.status == RT_STATUS_CLOSED || (c->rec.status == RT_STATUS_AGENT && strcmp(c->rec.agent, agent) != 0)) {
        *json = json_error(c->rec.status == RT_STATUS_CLOSED ? "the conversation is closed" : "another agent has it");
        status = 409;
    } else if (c->rec.status != RT_STATUS_AGENT) {
        step s;
        step_begin(&s, e, c);
        take_in_step(&s, agent);
        status = step_finish(&s, NULL) ? 200 : 503;
        *json = status == 200 ? json_ok(c) : json_error("the store could not commit");
    } else {
        *json = json_ok(c);
    }
    pthread_mutex_unlock(&c->lock);
    return status;
}

int rt_agent_reply(rt_engine *e, int64_t id, const char *agent, const char *text, char **json)
{
    conv *c = get_conv(e, id);
    if (!c)
        return *json = json_error("no such conversation"), 404;
    pthread_mutex_lock(&c->lock);
    int status;
    if (c->rec.status == RT_STATUS_CLOSED || (c->rec.status == RT_STATUS_AGENT && strcmp(c->rec.agent, agent) != 0)) {
        *json = json_error(c->rec.status == RT_STATUS_CLOSED ? "the conversation is closed" : "another agent has it");
        status = 409;
    } else {
        step s;
        step_begin(&s, e, c);
        if (c->rec.status != RT_STATUS_AGENT)
            take_in_step(&s, agent); /* replying assigns it */
        cJSON *body = cJSON_CreateObject();
        cJSON_AddStringToObject(body, "text", text);
        cJSON_AddStringToObject(body, "agent", agent);
        int64_t seq = store_message(&s, "agent", "text", body, NULL);
        cJSON *f = cJSON_CreateObject();
        cJSON_AddStringToObject(f, "type", "message");
        cJSON_AddNumberToObject(f, "seq", (double)seq);
        cJSON_AddStringToObject(f, "from", "agent");
        cJSON_AddStringToObject(f, "name", agent);
        cJSON_AddStringToObject(f, "text", text);
        add_frame(&s, f);
        status = step_finish(&s, NULL) ? 200 : 503;
        *json = status == 200 ? json_ok(c) : json_error("the store could not commit");
    }
    pthread_mutex_unlock(&c->lock);
    return status;
}

int rt_agent_close(rt_engine *e, int64_t id, char **json)
{
    conv *c = get_conv(e, id);
    if (!c)
        return *json = json_error("no such conversation"), 404;
    pthread_mutex_lock(&c->lock);
    int status = 200;
    if (c->rec.status != RT_STATUS_CLOSED) {
        step s;
        step_begin(&s, e, c);
        if (vm_state_wait(c->vm) != VM_WAIT_ENDED && c->rec.outcome == VM_OUTCOME_NONE) {
            vm_event ev = {.kind = VM_EV_END, .outcome = VM_OUTCOME_ABANDONED};
            emit_end(&s, &ev);
        }
        c->rec.status = RT_STATUS_CLOSED;
        rt_batch_timer(s.batch, c->rec.id, -1);
        cJSON *f = cJSON_CreateObject();
        cJSON_AddStringToObject(f, "type", "status");
        cJSON_AddStringToObject(f, "status", "closed");
        add_frame(&s, f);
        status = step_finish(&s, NULL) ? 200 : 503;
    }
    *json = status == 200 ? json_ok(c) : json_error("the store could not commit");
    pthread_mutex_unlock(&c->lock);
    return status;
}

int rt_agent_presence(rt_engine *e, const char *name, bool online, char **json)
{
    pthread_mutex_lock(&e->lock);
    agent_rec *a = e->agents;
    while (a && strcmp(a->name, name) != 0)
        a = a->next;
    if (!a && (a = calloc(1, sizeof *a)) != NULL) {
        snprintf(a->name, sizeof a->name, "%s", name);
        a->next = e->agents;
        e->agents = a;
    }
    if (a)
        a->online = online;
    pthread_mutex_unlock(&e->lock);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "agent", name);
    cJSON_AddBoolToObject(o, "online", online);
    *json = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return 200;
}

static bool queue_item(void *ctx, const rt_conv_rec *c)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "conversation", (double)c->id);
    cJSON_AddStringToObject(o, "channel", c->channel);
    cJSON_AddStringToObject(o, "team", c->team);
    cJSON_AddNumberToObject(o, "waiting_since", (double)c->queued_at);
    cJSON_AddItemToArray((cJSON *)ctx, o);
    return true;
}

int rt_queue(rt_engine *e, char **json)
{
    cJSON *a = cJSON_CreateArray();
    e->store->ops->by_status(e->store, RT_STATUS_QUEUED, queue_item, a);
    *json = cJSON_PrintUnformatted(a);
    cJSON_Delete(a);
    return 200;
}

static bool message_item(void *ctx, const rt_msg_rec *m)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "seq", (double)m->seq);
    cJSON_AddStringToObject(o, "from", m->sender);
    cJSON_AddStringToObject(o, "kind", m->kind);
    cJSON *body = cJSON_ParseWithOpts(m->body, NULL, 0);
    cJSON_AddItemToObject(o, "body", body ? body : cJSON_CreateObject());
    cJSON_AddNumberToObject(o, "at", (double)m->at);
    cJSON_AddItemToArray((cJSON *)ctx, o);
    return true;
}

int rt_conversation(rt_engine *e, int64_t id, char **json)
{
    conv *c = get_conv(e, id);
    if (!c)
        return *json = json_error("no such conversation"), 404;
    pthread_mutex_lock(&c->lock);
    static const char *const status[] = {"bot", "queued", "agent", "closed"};
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "conversation", (double)c->rec.id);
    cJSON_AddStringToObject(o, "channel", c->rec.channel);
    cJSON_AddStringToObject(o, "flow", c->rec.flow);
    cJSON_AddStringToObject(o, "status", status[c->rec.status & 3]);
    cJSON_AddStringToObject(o, "outcome", vm_outcome_name(c->rec.outcome));
    cJSON_AddStringToObject(o, "team", c->rec.team);
    cJSON_AddStringToObject(o, "agent", c->rec.agent);
    cJSON *msgs = cJSON_AddArrayToObject(o, "messages");
    e->store->ops->messages(e->store, id, 0, message_item, msgs);
    pthread_mutex_unlock(&c->lock);
    *json = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return 200;
}

/* ---- clock and timers ------------------------------------------------------------------------ */

void rt_engine_set_clock(rt_engine *e, int64_t utc) { atomic_store(&e->test_clock, utc); }
void rt_engine_set_agents(rt_engine *e, int online) { atomic_store(&e->test_agents, online); }

bool rt_engine_set_local_clock(rt_engine *e, const char *channel, const char *local)
{
    const char *flow = channel_flow(e, channel);
    const vm_program *p = flow ? rt_flows_current(e->flows, flow) : NULL;
    int y, mo, d, h, mi;
    if (!p || sscanf(local, "%d-%d-%d %d:%d", &y, &mo, &d, &h, &mi) != 5)
        return false;
    rt_engine_set_clock(e, vm_tz_from_local(vm_program_zone(p), y, mo, d, h, mi));
    return true;
}

static bool fire_timer(void *ctx, int64_t id, int64_t due)
{
    rt_engine *e = ctx;
    (void)due;
    conv *c = get_conv(e, id);
    if (!c)
        return true;
    pthread_mutex_lock(&c->lock);
    step s;
    step_begin(&s, e, c);
    rt_batch_timer(s.batch, id, -1);
    if (c->rec.status == RT_STATUS_QUEUED && vm_state_wait(c->vm) == VM_WAIT_HANDOFF) {
        c->rec.status = RT_STATUS_BOT; /* leaves the queue: the offline path */
        run_vm(&s, vm_timeout);
        atomic_fetch_add(&e->timers_fired, 1);
    } else if (!c->peer && bot_waits_for_visitor(c)) {
        vm_event ev = {.kind = VM_EV_END, .outcome = VM_OUTCOME_ABANDONED};
        emit_end(&s, &ev); /* closes it: a returning visitor starts anew */
        atomic_fetch_add(&e->timers_fired, 1);
    }
    c->abandon_armed = false;
    step_finish(&s, NULL);
    pthread_mutex_unlock(&c->lock);
    return true;
}

int rt_engine_fire_timers(rt_engine *e)
{
    uint64_t before = atomic_load(&e->timers_fired);
    e->store->ops->due_timers(e->store, rt_engine_now(e), fire_timer, e);
    return (int)(atomic_load(&e->timers_fired) - before);
}

bool rt_engine_store_ok(rt_engine *e) { return e->store->ops->ping(e->store); }

/* ---- metrics --------------------------------------------------------------------------------- */

static bool count_one(void *ctx, const rt_conv_rec *c)
{
    (void)c;
    (*(int64_t *)ctx)++;
    return true;
}

char *rt_engine_metrics(rt_engine *e)
{
    char *out = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&out, &size);
    if (!f)
        return NULL;
    int64_t queued = 0, active = 0;
    e->store->ops->by_status(e->store, RT_STATUS_QUEUED, count_one, &queued);
    e->store->ops->by_status(e->store, RT_STATUS_BOT, count_one, &active);
    uint64_t commits, batches;
    double secs;
    e->store->ops->commit_stats(e->store, &commits, &secs, &batches);
#define PUT(...) fprintf(f, __VA_ARGS__)
    PUT("# HELP flowd_conversations_total Conversations that ended, by outcome.\n");
    PUT("# TYPE flowd_conversations_total counter\n");
    for (int o = VM_OUTCOME_RESOLVED; o <= VM_OUTCOME_ERROR; o++)
        PUT("flowd_conversations_total{outcome=\"%s\"} %llu\n", vm_outcome_name(o),
            (unsigned long long)atomic_load(&e->outcomes[o]));
    PUT("# HELP flowd_active_conversations Conversations the bot is running.\n# TYPE flowd_active_conversations gauge\n");
    PUT("flowd_active_conversations %lld\n", (long long)active);
    PUT("# HELP flowd_queue_length Conversations waiting for an agent.\n# TYPE flowd_queue_length gauge\n");
    PUT("flowd_queue_length %lld\n", (long long)queued);
    PUT("# HELP flowd_handoffs_total Handoffs requested.\n# TYPE flowd_handoffs_total counter\n");
    PUT("flowd_handoffs_total %llu\n", (unsigned long long)atomic_load(&e->handoffs));
    PUT("# HELP flowd_vm_steps_total VM calls (inputs delivered).\n# TYPE flowd_vm_steps_total counter\n");
    PUT("flowd_vm_steps_total %llu\n", (unsigned long long)atomic_load(&e->steps));
    PUT("# HELP flowd_vm_instructions_total VM instructions run.\n# TYPE flowd_vm_instructions_total counter\n");
    PUT("flowd_vm_instructions_total %llu\n", (unsigned long long)atomic_load(&e->vm_instructions));
    PUT("# HELP flowd_store_commits_total Group commits of the store writer.\n# TYPE flowd_store_commits_total counter\n");
    PUT("flowd_store_commits_total %llu\n", (unsigned long long)commits);
    PUT("# HELP flowd_store_batches_total Batches committed.\n# TYPE flowd_store_batches_total counter\n");
    PUT("flowd_store_batches_total %llu\n", (unsigned long long)batches);
    PUT("# HELP flowd_store_commit_seconds_total Time spent committing.\n# TYPE flowd_store_commit_seconds_total counter\n");
    PUT("flowd_store_commit_seconds_total %.6f\n", secs);
#undef PUT
    fclose(f);
    return out;
}

/* ---- setup ----------------------------------------------------------------------------------- */

rt_engine *rt_engine_new(const rt_engine_options *o)
{
    rt_engine *e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    e->store = o->store;
    e->flows = o->flows;
    e->send = o->send;
    e->test_hooks = o->test_hooks;
    e->abandon_after = o->abandon_after > 0 ? o->abandon_after : 1800;
    pthread_mutex_init(&e->lock, NULL);
    atomic_store(&e->next_id, o->store->ops->max_conversation_id(o->store) + 1);
    atomic_store(&e->test_agents, -1);
    return e;
}

bool rt_engine_add_channel(rt_engine *e, const char *name, const char *flow)
{
    channel_rec *ch = calloc(1, sizeof *ch);
    if (!ch)
        return false;
    snprintf(ch->name, sizeof ch->name, "%s", name);
    snprintf(ch->flow, sizeof ch->flow, "%s", flow);
    pthread_mutex_lock(&e->lock);
    ch->next = e->channels;
    e->channels = ch;
    pthread_mutex_unlock(&e->lock);
    return true;
}

void rt_engine_free(rt_engine *e)
{
    if (!e)
        return;
    for (int i = 0; i < TABLE_SIZE; i++)
        while (e->table[i]) {
            conv *c = e->table[i];
            e->table[i] = c->next;
            free_conv(c);
        }
    while (e->channels) {
        channel_rec *ch = e->channels;
        e->channels = ch->next;
        free(ch);
    }
    while (e->agents) {
        agent_rec *a = e->agents;
        e->agents = a->next;
        free(a);
    }
    pthread_mutex_destroy(&e->lock);
    free(e);
}
