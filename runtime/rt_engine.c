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

#include "rt_engine_internal.h"
#include "rt_log.h"
#include "rt_stats.h"
#include "vm_text.h"

/* How long a quota-skipped conversation waits in the queue before the
 * offline form (the bot's handoff has its own `wait`). */
#define QUOTA_QUEUE_WAIT 300

/* ---- helpers ------------------------------------------------------------------ */

int64_t rt_engine_now(rt_engine *e)
{
    int64_t t = atomic_load(&e->test_clock);
    return t ? t : (int64_t)time(NULL);
}

static char *dup_or_empty(const char *s) { return strdup(s ? s : ""); }

/* facts may point into c->fact (a change of one fact): copy, then free. */
static void set_facts(conv *c, const char *const facts[5], bool returning)
{
    char *fresh[5];
    for (int i = 0; i < 5; i++)
        fresh[i] = dup_or_empty(facts[i]);
    for (int i = 0; i < 5; i++) {
        free(c->fact[i]);
        c->fact[i] = fresh[i];
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

void rt_conv_facts_from_rec(conv *c)
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

static bool agent_counts(rt_engine *e, const agent_rec *a, int64_t now)
{
    return a->online && (!a->ever_tabbed || a->tabs > 0 || now - a->last_tab_closed < e->agent_grace);
}

/* Agents online who may answer the channel (teams are not modelled: a
 * channel's agent list is its team). */
static uint32_t agents_online(rt_engine *e, const char *channel)
{
    int forced = atomic_load(&e->test_agents);
    if (forced >= 0)
        return (uint32_t)forced;
    int64_t now = rt_engine_now(e);
    uint32_t n = 0;
    pthread_mutex_lock(&e->lock);
    for (agent_rec *a = e->agents; a; a = a->next)
        if (agent_counts(e, a, now) && (!channel || rt_channels_agent_allowed(e->channels, channel, a->name)))
            n++;
    pthread_mutex_unlock(&e->lock);
    return n;
}

bool rt_agent_online(rt_engine *e, const char *agent)
{
    int64_t now = rt_engine_now(e);
    bool on = false;
    pthread_mutex_lock(&e->lock);
    for (agent_rec *a = e->agents; a; a = a->next)
        if (strcmp(a->name, agent) == 0)
            on = agent_counts(e, a, now);
    pthread_mutex_unlock(&e->lock);
    return on;
}

/* The record of an agent, created on first use; called with e->lock held. */
static agent_rec *agent_locked(rt_engine *e, const char *name)
{
    agent_rec *a = e->agents;
    while (a && strcmp(a->name, name) != 0)
        a = a->next;
    if (!a && (a = calloc(1, sizeof *a)) != NULL) {
        snprintf(a->name, sizeof a->name, "%s", name);
        a->next = e->agents;
        e->agents = a;
    }
    return a;
}

int rt_agent_presence(rt_engine *e, const char *name, bool online, char **json)
{
    pthread_mutex_lock(&e->lock);
    agent_rec *a = agent_locked(e, name);
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

void rt_agent_tab(rt_engine *e, const char *name, int delta)
{
    pthread_mutex_lock(&e->lock);
    agent_rec *a = agent_locked(e, name);
    if (a) {
        a->tabs += delta;
        a->ever_tabbed = true;
        atomic_fetch_add(&e->agent_tabs, delta);
        if (a->tabs <= 0) {
            a->tabs = 0;
            a->last_tab_closed = rt_engine_now(e);
        }
    }
    pthread_mutex_unlock(&e->lock);
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
conv *rt_conv_get(rt_engine *e, int64_t id)
{
    pthread_mutex_lock(&e->lock);
    conv *c = table_find(e, id);
    pthread_mutex_unlock(&e->lock);
    if (c)
        return c;
    if (id <= 0)
        return NULL;
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
    rt_conv_facts_from_rec(fresh);
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
void rt_conv_reload(rt_engine *e, conv *c)
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

void rt_step_frame(step *s, cJSON *frame) { cJSON_AddItemToArray(s->frames, frame); }

void rt_step_counter(step *s, const char *name)
{
    if (s->e->no_stats)
        return;
    char day[11];
    rt_stats_day(s->c->prog, s->now, day);
    rt_batch_counter(s->batch, s->c->rec.channel, day, name, 1);
}

void rt_step_notify(step *s, const char *event, const char *only_user)
{
    cJSON *n = cJSON_CreateObject();
    cJSON_AddStringToObject(n, "event", event);
    if (only_user)
        cJSON_AddStringToObject(n, "user", only_user);
    cJSON_AddItemToArray(s->notify, n);
}

void rt_step_hook(step *s, const char *event, cJSON *data)
{
    if (!s->for_hooks) {
        cJSON_Delete(data);
        return;
    }
    cJSON *h = cJSON_CreateObject();
    cJSON_AddStringToObject(h, "event", event);
    cJSON_AddNumberToObject(data, "conversation", (double)s->c->rec.id);
    cJSON_AddStringToObject(data, "channel", s->c->rec.channel);
    cJSON_AddItemToObject(h, "data", data);
    cJSON_AddItemToArray(s->hooks, h);
}

/* The newest text message is the inbox list's preview. */
static void note_last(step *s, const char *sender, const char *kind, cJSON *body)
{
    const char *text = NULL;
    if (strcmp(kind, "text") == 0)
        text = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(body, "text"));
    else if (strcmp(kind, "file") == 0)
        text = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(body, "file"),
                                                                     "name"));
    if (!text)
        return;
    snprintf(s->c->rec.last_from, sizeof s->c->rec.last_from, "%s", sender);
    /* a preview: cut at a character boundary */
    size_t n = strlen(text), cap = sizeof s->c->rec.last_text - 1;
    if (n > cap) {
        n = cap;
        while (n > 0 && ((unsigned char)text[n] & 0xC0) == 0x80)
            n--;
    }
    memcpy(s->c->rec.last_text, text, n);
    s->c->rec.last_text[n] = '\0';
    s->c->rec.last_at = s->now;
}

int64_t rt_step_message(step *s, const char *sender, const char *kind, cJSON *body, const char *client_id)
{
    note_last(s, sender, kind, body);
    char *json = cJSON_PrintUnformatted(body);
    rt_msg_rec m = {s->c->rec.id, ++s->c->rec.last_seq, sender, kind, json ? json : "{}", client_id, s->now};
    rt_batch_message(s->batch, &m);
    free(json);
    if (!s->for_agents) { /* nobody would see it live; the inbox reads the store */
        cJSON_Delete(body);
        return m.seq;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "seq", (double)m.seq);
    cJSON_AddStringToObject(o, "from", sender);
    cJSON_AddStringToObject(o, "kind", kind);
    cJSON_AddItemToObject(o, "body", body);
    cJSON_AddNumberToObject(o, "at", (double)s->now);
    cJSON_AddItemToArray(s->agent_msgs, o);
    return m.seq;
}

static void debug_line(step *s, const char *line)
{
    if (!s->c->debug)
        return;
    cJSON *f = cJSON_CreateObject();
    cJSON_AddStringToObject(f, "type", "event");
    cJSON_AddStringToObject(f, "line", line);
    rt_step_frame(s, f);
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
    int64_t seq = rt_step_message(s, "bot", "text", body, NULL);
    cJSON *f = cJSON_CreateObject();
    cJSON_AddStringToObject(f, "type", "message");
    cJSON_AddNumberToObject(f, "seq", (double)seq);
    cJSON_AddStringToObject(f, "from", "bot");
    cJSON_AddItemToObject(f, "text", text_json(ev->text));
    rt_step_frame(s, f);
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
    int64_t seq = rt_step_message(s, "bot", "buttons", body, NULL);
    cJSON *f = cJSON_CreateObject();
    cJSON_AddStringToObject(f, "type", "buttons");
    cJSON_AddNumberToObject(f, "seq", (double)seq);
    cJSON_AddItemToObject(f, "buttons", button_array(ev));
    rt_step_frame(s, f);
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

/* A lead or deal (from the bot or the side panel): stored, counted, shown
 * in the thread, sent to webhooks. Takes fields. */
void rt_step_record(step *s, bool deal, cJSON *fields, const char *source)
{
    char *json = cJSON_PrintUnformatted(fields);
    rt_batch_lead(s->batch, s->c->rec.id, deal, json ? json : "{}", s->now, source);
    free(json);
    rt_step_counter(s, deal ? "deals" : "leads");
    rt_step_hook(s, deal ? "deal.created" : "lead.created", cJSON_Duplicate(fields, true));
    cJSON *body = cJSON_CreateObject();
    cJSON_AddItemToObject(body, "fields", fields);
    cJSON_AddStringToObject(body, "source", source);
    rt_step_message(s, "system", deal ? "deal" : "lead", body, NULL);
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
    rt_step_record(s, ev->record_deal, fields, "bot");
}

/* The conversation waits for a human from now on (until an agent replies). */
static void enter_queue(step *s, const char *team, size_t team_len)
{
    conv *c = s->c;
    c->rec.status = RT_STATUS_QUEUED;
    c->rec.queued_at = s->now;
    if (!c->rec.waiting_since)
        c->rec.waiting_since = s->now;
    snprintf(c->rec.team, sizeof c->rec.team, "%.*s", (int)team_len, team);
    cJSON *body = cJSON_CreateObject();
    cJSON_AddStringToObject(body, "team", c->rec.team);
    rt_step_message(s, "system", "handoff", body, NULL);
    cJSON *f = cJSON_CreateObject();
    cJSON_AddStringToObject(f, "type", "status");
    cJSON_AddStringToObject(f, "status", "queued");
    rt_step_frame(s, f);
    rt_step_notify(s, "unassigned", NULL);
    cJSON *data = cJSON_CreateObject();
    cJSON_AddStringToObject(data, "team", c->rec.team);
    rt_step_hook(s, "handoff.requested", data);
    atomic_fetch_add(&s->e->handoffs, 1);
}

static void emit_handoff(step *s, const vm_event *ev)
{
    enter_queue(s, ev->text.s ? ev->text.s : "", ev->text.s ? ev->text.len : 0);
    rt_batch_timer(s->batch, s->c->rec.id, s->now + ev->seconds);
}

void rt_step_ended_frame(step *s, const char *outcome)
{
    cJSON *f = cJSON_CreateObject();
    cJSON_AddStringToObject(f, "type", "ended");
    cJSON_AddStringToObject(f, "outcome", outcome);
    rt_step_frame(s, f);
}

/* Closes the conversation for good (the visitor, an agent, or the bot's end). */
void rt_step_close(step *s)
{
    conv *c = s->c;
    c->rec.status = RT_STATUS_CLOSED;
    c->rec.closed_at = s->now;
    c->rec.waiting_since = 0;
    c->rec.snoozed_until = 0;
    rt_batch_timer(s->batch, c->rec.id, -1);
    cJSON *data = cJSON_CreateObject();
    cJSON_AddStringToObject(data, "outcome", vm_outcome_name(c->rec.outcome));
    rt_step_hook(s, "conversation.closed", data);
}

void rt_step_end_bot(step *s, vm_outcome outcome)
{
    conv *c = s->c;
    c->rec.outcome = outcome;
    char name[200];
    snprintf(name, sizeof name, "outcome:%s", vm_outcome_name(outcome));
    rt_step_counter(s, name);
    if (c->rec.node[0]) {
        snprintf(name, sizeof name, "left:%s:%s:%s", c->rec.flow, c->rec.node, vm_outcome_name(outcome));
        rt_step_counter(s, name);
    }
    atomic_fetch_add(&s->e->outcomes[outcome <= VM_OUTCOME_ERROR ? outcome : 0], 1);
    cJSON *body = cJSON_CreateObject();
    cJSON_AddStringToObject(body, "outcome", vm_outcome_name(outcome));
    rt_step_message(s, "system", "end", body, NULL);
    /* handed to an agent: the conversation goes on with them; otherwise the
     * bot's part was the whole conversation and it is closed */
    if (outcome == VM_OUTCOME_HANDOFF) {
        c->rec.status = RT_STATUS_AGENT;
        rt_batch_timer(s->batch, c->rec.id, -1);
    } else {
        rt_step_close(s);
        rt_step_ended_frame(s, vm_outcome_name(outcome));
    }
}

static void emit_end(step *s, const vm_event *ev) { rt_step_end_bot(s, ev->outcome); }

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

static int hex_value(char ch) { return ch >= 'a' ? ch - 'a' + 10 : ch - '0'; }

/* Marks node n visited; true the first time (the funnel counts
 * conversations, not visits; nodes past 255 count every visit). */
static bool first_visit(conv *c, uint32_t n)
{
    if (n >= 256)
        return true;
    if (strlen(c->rec.visited) != 64)
        memset(c->rec.visited, '0', 64), c->rec.visited[64] = '\0';
    char *digit = &c->rec.visited[n / 4];
    int v = hex_value(*digit), bit = 1 << (n % 4);
    if (v & bit)
        return false;
    *digit = "0123456789abcdef"[v | bit];
    return true;
}

static void emit_node(step *s, const vm_event *ev)
{
    vm_text_ref name = vm_program_node_name(s->c->prog, ev->node);
    snprintf(s->c->rec.node, sizeof s->c->rec.node, "%.*s", (int)name.len, name.s);
    if (first_visit(s->c, ev->node)) {
        char counter[256];
        snprintf(counter, sizeof counter, "reached:%s:%s", s->c->rec.flow, s->c->rec.node);
        rt_step_counter(s, counter);
    }
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
        rt_step_frame(s, f);
        return;
    }
    case VM_EV_PAUSE: {
        cJSON *f = cJSON_CreateObject();
        cJSON_AddStringToObject(f, "type", "typing");
        cJSON_AddNumberToObject(f, "seconds", ev->seconds);
        rt_step_frame(s, f);
        break;
    }
    case VM_EV_TAG: {
        cJSON *body = cJSON_CreateObject();
        cJSON_AddItemToObject(body, "tag", text_json(ev->text));
        rt_step_message(s, "system", "tag", body, NULL);
        break;
    }
    case VM_EV_RECORD: emit_record(s, ev); break;
    case VM_EV_HANDOFF: emit_handoff(s, ev); break;
    case VM_EV_END: emit_end(s, ev); break;
    case VM_EV_NODE: emit_node(s, ev); return;
    }
    char *line = s->c->debug ? transcript_line(ev) : NULL; /* only debug sockets show it */
    if (line)
        debug_line(s, line);
    free(line);
}

void rt_step_begin(step *s, rt_engine *e, conv *c)
{
    s->e = e;
    s->c = c;
    s->batch = rt_batch_new();
    s->now = rt_engine_now(e);
    s->frames = cJSON_CreateArray();
    s->agent_msgs = cJSON_CreateArray();
    s->notify = cJSON_CreateArray();
    s->hooks = cJSON_CreateArray();
    snprintf(s->prev_assignee, sizeof s->prev_assignee, "%s", c->rec.agent);
    s->prev_status = c->rec.status;
    s->for_agents = e->push && atomic_load(&e->agent_tabs) > 0;
    s->for_hooks = rt_webhooks_any(e->hooks);
}

/* The VM's host during a step: outputs into the step, the step's clock,
 * the engine's agents, the conversation's visitor. */
static int64_t host_now(void *ctx) { return ((step *)ctx)->now; }
static uint32_t host_agents(void *ctx, const char *team, size_t len)
{
    (void)team;
    (void)len;
    step *s = ctx;
    return agents_online(s->e, s->c->rec.channel);
}

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

void rt_conv_send(rt_engine *e, conv *c, cJSON *f)
{
    if (!c->peer)
        return;
    char *json = cJSON_PrintUnformatted(f);
    if (json) {
        e->send(c->peer, json, strlen(json));
        free(json);
    }
}

/* A flow that asked for the visitor's name (`ask name`) names them. */
static void learn_name(conv *c)
{
    if (c->fact[0][0])
        return;
    uint32_t n = vm_program_var_count(c->prog);
    for (uint32_t v = 0; v < n; v++) {
        vm_text_ref name = vm_program_var_name(c->prog, v);
        if (name.len != 4 || memcmp(name.s, "name", 4) != 0)
            continue;
        char numbuf[32];
        uint32_t len = 0;
        const char *text = vm_state_var_text(c->vm, v, numbuf, &len);
        if (text && len > 0 && len < 200) {
            const char *facts[5];
            char value[200];
            snprintf(value, sizeof value, "%.*s", (int)len, text);
            facts[0] = value;
            for (int i = 1; i < 5; i++)
                facts[i] = c->fact[i];
            set_facts(c, facts, c->returning);
            facts_to_rec(c);
        }
    }
}

/* After a commit: agents see the new messages and the changed summary,
 * get their notifications; webhooks get their events. */
static void tell_others(step *s)
{
    rt_engine *e = s->e;
    cJSON *m;
    if (!s->for_agents)
        goto hooks;
    cJSON_ArrayForEach(m, s->agent_msgs)
    {
        cJSON *seq = cJSON_GetObjectItemCaseSensitive(m, "seq");
        rt_inbox_message(e, s->c, (int64_t)cJSON_GetNumberValue(seq), m);
    }
    rt_inbox_changed(e, s->c, s->prev_assignee);
    cJSON *n;
    cJSON_ArrayForEach(n, s->notify)
    rt_inbox_notify(e, s->c, cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(n, "event")),
                    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(n, "user")));
hooks:
    if (s->for_hooks) {
        cJSON *h;
        cJSON_ArrayForEach(h, s->hooks)
        {
            char *data = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(h, "data"));
            if (data)
                rt_webhooks_emit(e->hooks, cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(h, "event")), data,
                                 s->now);
            free(data);
        }
    }
}

static void step_free(step *s, cJSON *first)
{
    cJSON_Delete(first);
    cJSON_Delete(s->frames);
    cJSON_Delete(s->agent_msgs);
    cJSON_Delete(s->notify);
    cJSON_Delete(s->hooks);
    rt_batch_free(s->batch);
}

/* Commits the step and sends its frames (after `first`, e.g. an ack);
 * false (and the conversation reloaded) if the store refused. */
bool rt_step_finish(step *s, cJSON *first)
{
    conv *c = s->c;
    vm_buf state = {0};
    c->rec.updated_at = s->now;
    learn_name(c);
    if (c->peer)
        c->rec.delivered_seq = c->rec.last_seq; /* the visitor's socket gets everything below */
    bool ok = vm_state_save(c->vm, &state);
    if (ok) {
        rt_batch_state(s->batch, c->rec.id, state.data, state.len);
        rt_batch_conversation(s->batch, &c->rec);
        ok = s->e->store->ops->commit(s->e->store, s->batch);
    }
    vm_buf_free(&state);
    if (ok) {
        if (first)
            rt_conv_send(s->e, c, first);
        cJSON *f;
        cJSON_ArrayForEach(f, s->frames) rt_conv_send(s->e, c, f);
        tell_others(s);
    } else {
        rt_conv_reload(s->e, c);
    }
    step_free(s, first);
    return ok;
}

void rt_step_run(step *s, vm_status (*fn)(vm_state *, const vm_host *))
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

void rt_send_error(rt_engine *e, rt_peer *peer, const char *code, const char *msg, const char *id)
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

static const char *status_name(int status)
{
    static const char *const names[] = {"bot", "queued", "agent", "closed"};
    return names[status & 3];
}

/* A quota-skipped conversation with nobody online gets the offline form. */
bool rt_conv_offline_form_due(const conv *c)
{
    return (c->rec.flags & RT_CONV_QUOTA_SKIPPED) && c->rec.status == RT_STATUS_BOT;
}

static cJSON *welcome_frame(rt_engine *e, conv *c, bool resumed)
{
    cJSON *f = cJSON_CreateObject();
    cJSON_AddStringToObject(f, "type", "welcome");
    cJSON_AddNumberToObject(f, "conversation", (double)c->rec.id);
    /* no bot runs in a quota-skipped conversation waiting for its form */
    cJSON_AddStringToObject(f, "status", rt_conv_offline_form_due(c) ? "offline" : status_name(c->rec.status));
    cJSON_AddBoolToObject(f, "resumed", resumed);
    cJSON_AddNumberToObject(f, "read_seq", (double)c->rec.visitor_read_seq);
    char agent_name[64] = "";
    if (c->rec.agent[0]) {
        rt_user u;
        snprintf(agent_name, sizeof agent_name, "%s",
                 e->auth && rt_auth_get_user(e->auth, c->rec.agent, &u) ? u.name : c->rec.agent);
    }
    cJSON_AddStringToObject(f, "agent", agent_name);
    rt_channel_info info;
    cJSON_AddStringToObject(f, "bot_name",
                            rt_channels_get(e->channels, c->rec.channel, &info) ? info.bot_name : "Assistant");
    if (rt_conv_offline_form_due(c))
        cJSON_AddBoolToObject(f, "offline_form", true);
    if (c->rec.status == RT_STATUS_BOT && vm_state_wait(c->vm) == VM_WAIT_ASK)
        cJSON_AddStringToObject(f, "ask", ask_name(vm_state_ask_type(c->vm))); /* the input type after a reload */
    return f;
}

typedef struct history {
    rt_engine *e;
    conv *c;
} history;

static cJSON *history_frame(const rt_msg_rec *m, cJSON *body)
{
    cJSON *f = cJSON_CreateObject();
    bool joined = strcmp(m->kind, "joined") == 0;
    if (strcmp(m->kind, "text") == 0 || joined) {
        cJSON_AddStringToObject(f, "type", joined ? "agent_joined" : "message");
        cJSON_AddNumberToObject(f, "seq", (double)m->seq);
        cJSON_AddStringToObject(f, "from", m->sender);
        const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(body, "name"));
        if (joined || (name && strcmp(m->sender, "agent") == 0))
            cJSON_AddStringToObject(f, "name", name ? name : "");
        if (!joined) {
            const char *text = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(body, "text"));
            cJSON_AddStringToObject(f, "text", text ? text : "");
        }
    } else if (strcmp(m->kind, "buttons") == 0) {
        cJSON_AddStringToObject(f, "type", "buttons");
        cJSON_AddNumberToObject(f, "seq", (double)m->seq);
        cJSON *b = cJSON_DetachItemFromObjectCaseSensitive(body, "buttons");
        cJSON_AddItemToObject(f, "buttons", b ? b : cJSON_CreateArray());
    } else if (strcmp(m->kind, "file") == 0) {
        cJSON_AddStringToObject(f, "type", "file");
        cJSON_AddNumberToObject(f, "seq", (double)m->seq);
        cJSON_AddStringToObject(f, "from", m->sender);
        const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(body, "name"));
        if (name)
            cJSON_AddStringToObject(f, "name", name);
        cJSON *file = cJSON_DetachItemFromObjectCaseSensitive(body, "file");
        cJSON_AddItemToObject(f, "file", file ? file : cJSON_CreateObject());
    } else {
        cJSON_Delete(f);
        return NULL;
    }
    return f;
}

/* A stored message as the frame the visitor would have seen. */
static bool send_history(void *ctx, const rt_msg_rec *m)
{
    history *h = ctx;
    cJSON *body = cJSON_ParseWithOpts(m->body, NULL, 0);
    cJSON *f = history_frame(m, body);
    if (f) {
        rt_conv_send(h->e, h->c, f);
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
    c->rec.priority = 1;
    snprintf(c->rec.tags, sizeof c->rec.tags, "[]");
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

static void offline_form_frame(step *s)
{
    cJSON *f = cJSON_CreateObject();
    cJSON_AddStringToObject(f, "type", "offline_form");
    cJSON_AddStringToObject(f, "message", "Nobody is available right now. Leave your details and we will get back to you.");
    rt_step_frame(s, f);
}

/* The monthly quota of bot conversations is used up: the conversation skips
 * the bot and goes to the live-chat path: the queue if an agent is online,
 * else the offline form. */
static void start_without_bot(step *s)
{
    conv *c = s->c;
    c->rec.flags |= RT_CONV_QUOTA_SKIPPED;
    rt_step_counter(s, "quota_skipped");
    if (agents_online(s->e, c->rec.channel) > 0) {
        enter_queue(s, "", 0);
        rt_batch_timer(s->batch, c->rec.id, s->now + QUOTA_QUEUE_WAIT);
    } else {
        offline_form_frame(s);
    }
}

/* The month's bot conversations of a channel, kept in memory once read from
 * the store's counters: checking and counting happen under one lock, so two
 * visitors arriving together cannot both take the last conversation of the
 * quota, and a new conversation costs no store read. A failed commit leaves
 * one counted too many in memory (the safe side) until the next month. */
typedef struct quota_rec {
    char channel[64];
    char month[8];
    int64_t used;
    struct quota_rec *next;
} quota_rec;

/* Takes one bot conversation from the quota; false when it is used up. */
static bool take_quota(rt_engine *e, const rt_channel_info *info, const vm_program *prog)
{
    int64_t now = rt_engine_now(e);
    char day[11], month[8];
    rt_stats_day(prog, now, day);
    snprintf(month, sizeof month, "%.7s", day);
    pthread_mutex_lock(&e->lock);
    quota_rec *q = e->quotas;
    while (q && strcmp(q->channel, info->name) != 0)
        q = q->next;
    if (!q && info->quota <= 0) {
        pthread_mutex_unlock(&e->lock); /* no quota and nothing cached: nothing to count */
        return true;
    }
    if (!q && (q = calloc(1, sizeof *q)) != NULL) {
        snprintf(q->channel, sizeof q->channel, "%s", info->name);
        q->next = e->quotas;
        e->quotas = q;
    }
    bool ok = true;
    if (q) {
        if (strcmp(q->month, month) != 0) { /* first use, or a new month: read the store's count */
            rt_stats_source src = {e->store, NULL, NULL};
            q->used = rt_stats_month_used(&src, info->name, prog, now, NULL, NULL);
            snprintf(q->month, sizeof q->month, "%s", month);
        }
        ok = info->quota <= 0 || q->used < info->quota;
        q->used += ok;
    }
    pthread_mutex_unlock(&e->lock);
    return ok;
}

static void feed_prechat(rt_engine *e, step *s, const rt_hello *h);

/* Starts a conversation: the bot's first outputs go out after the commit. */
static conv *start_conv(rt_engine *e, rt_peer *peer, const rt_hello *h, const rt_channel_info *info, char *err,
                        size_t errlen)
{
    const vm_program *prog = rt_flows_current(e->flows, info->flow);
    conv *c = prog ? new_conv(e, h, info->flow, prog) : NULL;
    if (!c) {
        snprintf(err, errlen, prog ? "out of memory" : "the channel's flow is not loaded");
        return NULL;
    }
    pthread_mutex_lock(&c->lock);
    c->peer = peer;
    c->debug = h->debug;
    step s;
    rt_step_begin(&s, e, c);
    rt_step_counter(&s, "started");
    rt_step_notify(&s, "created", NULL);
    rt_step_hook(&s, "conversation.created", cJSON_CreateObject());
    if (h->message && h->message[0])
        feed_prechat(e, &s, h); /* the visitor's first message, before the bot's greeting */
    if (!take_quota(e, info, prog)) {
        start_without_bot(&s);
    } else {
        rt_step_counter(&s, "bot");
        rt_step_run(&s, vm_start);
    }
    if (!rt_step_finish(&s, welcome_frame(e, c, false))) {
        pthread_mutex_unlock(&c->lock);
        free_conv(c);
        snprintf(err, errlen, "the store could not commit");
        return NULL;
    }
    table_add(e, c);
    pthread_mutex_unlock(&c->lock);
    return c;
}

/* A returning visitor: welcome, then the whole history. */
static void resume_conv(rt_engine *e, conv *c, rt_peer *peer, const rt_hello *h)
{
    c->peer = peer;
    c->debug = h->debug;
    if (c->abandon_armed || c->rec.status == RT_STATUS_BOT)
        set_abandon_timer(e, c, false);
    if (h->page && h->page[0] && strcmp(h->page, c->fact[2]) != 0) {
        const char *facts[5] = {c->fact[0], c->fact[1], h->page, c->fact[3], c->fact[4]};
        set_facts(c, facts, true);
        facts_to_rec(c);
    }
    cJSON *w = welcome_frame(e, c, true);
    rt_conv_send(e, c, w);
    cJSON_Delete(w);
    history hist = {e, c};
    e->store->ops->messages(e->store, c->rec.id, 0, send_history, &hist);
    c->rec.delivered_seq = c->rec.last_seq;
    if (rt_conv_offline_form_due(c)) {
        cJSON *f = cJSON_CreateObject();
        cJSON_AddStringToObject(f, "type", "offline_form");
        rt_conv_send(e, c, f);
        cJSON_Delete(f);
    }
    rt_inbox_changed(e, c, c->rec.agent); /* the visitor is online */
}

int64_t rt_visitor_hello(rt_engine *e, rt_peer *peer, const rt_hello *h, char *err, size_t errlen)
{
    rt_channel_info info;
    if (!rt_channels_get(e->channels, h->channel, &info)) {
        snprintf(err, errlen, "unknown channel '%s'", h->channel);
        return 0;
    }
    if (!rt_channels_identity_ok(e->channels, h->channel, h->user_id, h->user_hash)) {
        snprintf(err, errlen, "bad_identity");
        return 0;
    }
    rt_conv_rec found;
    conv *c = e->store->ops->find_open(e->store, h->channel, h->visitor, &found) ? rt_conv_get(e, found.id) : NULL;
    if (c) {
        pthread_mutex_lock(&c->lock);
        resume_conv(e, c, peer, h);
        pthread_mutex_unlock(&c->lock);
        return c->rec.id;
    }
    if (h->resume_only) { /* nothing open: say so, start nothing (no phantom conversation per page view) */
        char *json = strdup("{\"type\":\"welcome\",\"conversation\":0,\"status\":\"none\",\"resumed\":false}");
        if (json)
            e->send(peer, json, strlen(json));
        free(json);
        snprintf(err, errlen, "none");
        return 0;
    }
    c = start_conv(e, peer, h, &info, err, errlen);
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

/* A visitor message the agents should answer: unread, waiting, unsnoozed,
 * the assignee notified. */
void rt_step_visitor_wrote(step *s, const char *text)
{
    conv *c = s->c;
    bool human = c->rec.status == RT_STATUS_QUEUED || c->rec.status == RT_STATUS_AGENT;
    if (human) {
        c->rec.unread++;
        if (!c->rec.waiting_since)
            c->rec.waiting_since = s->now;
        if (c->rec.agent[0])
            rt_step_notify(s, "message", c->rec.agent);
    }
    c->rec.snoozed_until = 0;
    cJSON *data = cJSON_CreateObject();
    cJSON_AddStringToObject(data, "from", "visitor");
    cJSON_AddStringToObject(data, "text", text);
    rt_step_hook(s, "message.created", data);
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
    rt_step_visitor_wrote(s, cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(body, "text")));
    return rt_step_message(s, "visitor", "text", body, client_id);
}

/* The pre-chat form's message is the visitor's first message: stored (and
 * shown with its seq) before the bot's greeting, for the agents; the bot
 * starts at its start node as always (the message is not an answer to a
 * question it has not asked yet). */
static void feed_prechat(rt_engine *e, step *s, const rt_hello *h)
{
    (void)e;
    size_t len = strlen(h->message);
    input in = {RT_INPUT_TEXT, h->message, len, 0};
    char id[96];
    snprintf(id, sizeof id, "prechat-%s", h->visitor);
    int64_t seq = store_input(s, id, &in);
    cJSON *f = cJSON_CreateObject();
    cJSON_AddStringToObject(f, "type", "message");
    cJSON_AddNumberToObject(f, "seq", (double)seq);
    cJSON_AddStringToObject(f, "from", "visitor");
    cJSON_AddStringToObject(f, "text", h->message);
    rt_step_frame(s, f);
}

/* An input whose client id is stored already was sent again after a
 * reconnect: it is acknowledged again with its seq, not run twice. */
static bool ack_if_seen(rt_engine *e, conv *c, const char *client_id)
{
    int64_t seen = e->store->ops->client_message(e->store, c->rec.id, client_id);
    if (seen <= 0)
        return false;
    cJSON *ack = ack_frame(client_id, seen);
    rt_conv_send(e, c, ack);
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
    conv *c = rt_conv_get(e, id);
    if (!c) {
        rt_send_error(e, peer, "ended", "the conversation is gone", client_id);
        return;
    }
    pthread_mutex_lock(&c->lock);
    c->peer = peer;
    if (c->rec.status == RT_STATUS_CLOSED) {
        bool seen = ack_if_seen(e, c, client_id);
        pthread_mutex_unlock(&c->lock);
        if (!seen)
            rt_send_error(e, peer, "ended", "this conversation is closed; reconnect to start a new one", client_id);
        return;
    }
    input in = {kind, text, len, button};
    vm_text_ref labels[VM_MAX_BUTTONS];
    bool bot_waits = (c->rec.status == RT_STATUS_BOT || c->rec.status == RT_STATUS_QUEUED) &&
                     !(c->rec.flags & RT_CONV_QUOTA_SKIPPED);
    if (kind == RT_INPUT_CLICK && (vm_state_wait(c->vm) != VM_WAIT_CHOICE || button < 0 ||
                                   (uint32_t)button >= vm_state_buttons(c->vm, labels, VM_MAX_BUTTONS))) {
        bool seen = ack_if_seen(e, c, client_id);
        pthread_mutex_unlock(&c->lock);
        if (!seen)
            rt_send_error(e, peer, "no_button", "that button is not offered", client_id);
        return;
    }
    step s;
    rt_step_begin(&s, e, c);
    int64_t seq = store_input(&s, client_id, &in);
    if (bot_waits)
        deliver(&s, &in);
    if (!rt_step_finish(&s, ack_frame(client_id, seq)) && !ack_if_seen(e, c, client_id))
        rt_send_error(e, peer, "server_busy", "the message could not be stored; send it again", client_id);
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
        c->rec.flags &= ~RT_CONV_WINDOW_OPEN;
        c->visitor_typing = false;
        if (bot_waits_for_visitor(c))
            set_abandon_timer(e, c, true);
        rt_inbox_changed(e, c, c->rec.agent); /* the visitor is offline */
    }
    pthread_mutex_unlock(&c->lock);
}

/* ---- clock and timers ------------------------------------------------------------------------ */

void rt_engine_set_clock(rt_engine *e, int64_t utc) { atomic_store(&e->test_clock, utc); }
void rt_engine_set_agents(rt_engine *e, int online) { atomic_store(&e->test_agents, online); }

bool rt_engine_set_local_clock(rt_engine *e, const char *channel, const char *local)
{
    rt_channel_info info;
    const vm_program *p = rt_channels_get(e->channels, channel, &info) ? rt_flows_current(e->flows, info.flow) : NULL;
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
    conv *c = rt_conv_get(e, id);
    if (!c)
        return true;
    pthread_mutex_lock(&c->lock);
    step s;
    rt_step_begin(&s, e, c);
    rt_batch_timer(s.batch, id, -1);
    if (c->rec.status == RT_STATUS_QUEUED && (c->rec.flags & RT_CONV_QUOTA_SKIPPED)) {
        c->rec.status = RT_STATUS_BOT; /* nobody came: the offline form */
        c->rec.waiting_since = 0;
        offline_form_frame(&s);
        atomic_fetch_add(&e->timers_fired, 1);
    } else if (c->rec.status == RT_STATUS_QUEUED && vm_state_wait(c->vm) == VM_WAIT_HANDOFF) {
        c->rec.status = RT_STATUS_BOT; /* leaves the queue: the offline path */
        c->rec.waiting_since = 0;
        rt_step_run(&s, vm_timeout);
        atomic_fetch_add(&e->timers_fired, 1);
    } else if (!c->peer && bot_waits_for_visitor(c)) {
        rt_step_end_bot(&s, VM_OUTCOME_ABANDONED); /* closes it: a returning visitor starts anew */
        atomic_fetch_add(&e->timers_fired, 1);
    }
    c->abandon_armed = false;
    rt_step_finish(&s, NULL);
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
    PUT("# HELP flowd_handoff_wait_seconds Time from a handoff to the first agent reply.\n"
        "# TYPE flowd_handoff_wait_seconds summary\n");
    PUT("flowd_handoff_wait_seconds_sum %llu\n", (unsigned long long)atomic_load(&e->handoff_wait_seconds));
    PUT("flowd_handoff_wait_seconds_count %llu\n", (unsigned long long)atomic_load(&e->handoff_waits));
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
    e->channels = o->channels;
    e->auth = o->auth;
    e->hooks = o->hooks;
    e->agent_grace = o->agent_grace > 0 ? o->agent_grace : 60;
    e->no_stats = o->no_stats;
    e->send = o->send;
    e->test_hooks = o->test_hooks;
    e->abandon_after = o->abandon_after > 0 ? o->abandon_after : 1800;
    pthread_mutex_init(&e->lock, NULL);
    atomic_store(&e->next_id, o->store->ops->max_conversation_id(o->store) + 1);
    atomic_store(&e->test_agents, -1);
    return e;
}

rt_store *rt_engine_store(rt_engine *e) { return e->store; }

void rt_engine_set_push(rt_engine *e, rt_agent_push_fn push, void *ctx)
{
    e->push_ctx = ctx;
    e->push = push;
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
    while (e->agents) {
        agent_rec *a = e->agents;
        e->agents = a->next;
        free(a);
    }
    while (e->quotas) {
        quota_rec *q = e->quotas;
        e->quotas = q->next;
        free(q);
    }
    pthread_mutex_destroy(&e->lock);
    free(e);
}
