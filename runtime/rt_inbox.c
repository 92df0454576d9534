/* rt_inbox.c - the agents' side of conversations (docs/api.md "Inbox"):
 * who may see what, the inbox folders, a conversation's full view, and the
 * agents' actions (assign, reply, snooze, close, panel edits...). Every
 * action is a step of rt_engine.c: stored before anyone hears of it.
 *
 * Access is decided here, not in the page: an agent sees conversations that
 * are unassigned or theirs; admins see all. A request about another
 * agent's conversation answers 403 and nothing else.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "rt_engine_internal.h"
#include "vm_text.h"

#define MAX_TEXT_CHARS 512

static const char *const status_names[] = {"bot", "queued", "agent", "closed"};
static const char *const priority_names[] = {"low", "normal", "high", "urgent"};

char *rt_json_error(const char *msg)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "error", msg);
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

static int fail(char **json, int status, const char *msg)
{
    *json = rt_json_error(msg);
    return status;
}

bool rt_conv_visible(const rt_conv_rec *c, const rt_principal *who)
{
    return who->admin || !c->agent[0] || strcmp(c->agent, who->user) == 0;
}

static const char *fact(cJSON *facts, const char *key)
{
    const char *v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(facts, key));
    return v ? v : "";
}

/* "<country> <date time>" until the visitor's name is known (product.md 2). */
static void display_name(const rt_conv_rec *c, cJSON *facts, char *out, size_t cap)
{
    if (fact(facts, "name")[0]) {
        snprintf(out, cap, "%s", fact(facts, "name"));
        return;
    }
    time_t t = (time_t)c->created_at;
    struct tm tm;
    gmtime_r(&t, &tm);
    char when[32];
    strftime(when, sizeof when, "%Y-%m-%d %H:%M", &tm);
    snprintf(out, cap, "%s %s", fact(facts, "country")[0] ? fact(facts, "country") : "Visitor", when);
}

void rt_conv_display_name(const conv *c, char *out, size_t cap)
{
    cJSON *facts = cJSON_ParseWithOpts(c->rec.facts, NULL, 0);
    display_name(&c->rec, facts, out, cap);
    cJSON_Delete(facts);
}

static const char *agent_display(rt_engine *e, const char *user, rt_user *buf)
{
    if (!user[0])
        return "";
    return e->auth && rt_auth_get_user(e->auth, user, buf) ? buf->name : user;
}

static bool snoozed(const rt_conv_rec *c, int64_t now)
{
    return c->status != RT_STATUS_CLOSED && (c->snoozed_until == -1 || c->snoozed_until > now);
}

static bool visitor_online(rt_engine *e, int64_t id)
{
    pthread_mutex_lock(&e->lock);
    conv *c = e->table[(uint64_t)id % TABLE_SIZE];
    while (c && c->rec.id != id)
        c = c->next;
    bool online = c && c->peer; /* a read of a pointer: a hint for the list, no lock needed on c */
    pthread_mutex_unlock(&e->lock);
    return online;
}

/* The list's view of a conversation (docs/api.md "Conversation summary").
 * online: 1/0 when the caller knows, -1 to look it up. */
static cJSON *summary_of(rt_engine *e, const rt_conv_rec *c, int online)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *facts = cJSON_ParseWithOpts(c->facts, NULL, 0);
    int64_t now = rt_engine_now(e);
    rt_user u;
    char name[128];
    cJSON_AddNumberToObject(o, "id", (double)c->id);
    cJSON_AddStringToObject(o, "channel", c->channel);
    cJSON_AddStringToObject(o, "status", status_names[c->status & 3]);
    cJSON_AddStringToObject(o, "state", c->status == RT_STATUS_CLOSED ? "closed" : snoozed(c, now) ? "snoozed" : "open");
    cJSON_AddStringToObject(o, "assignee", c->agent);
    cJSON_AddStringToObject(o, "assignee_name", agent_display(e, c->agent, &u));
    cJSON_AddStringToObject(o, "team", c->team);
    cJSON *v = cJSON_AddObjectToObject(o, "visitor");
    display_name(c, facts, name, sizeof name);
    cJSON_AddStringToObject(v, "id", c->visitor);
    cJSON_AddStringToObject(v, "name", name);
    cJSON_AddStringToObject(v, "email", fact(facts, "email"));
    cJSON_AddBoolToObject(v, "online", online >= 0 ? online : visitor_online(e, c->id));
    cJSON *last = cJSON_AddObjectToObject(o, "last");
    cJSON_AddStringToObject(last, "from", c->last_from);
    cJSON_AddStringToObject(last, "text", c->last_text);
    cJSON_AddNumberToObject(last, "at", (double)c->last_at);
    cJSON_AddNumberToObject(o, "unread", c->unread);
    if (c->waiting_since && c->status != RT_STATUS_CLOSED)
        cJSON_AddNumberToObject(o, "waiting_since", (double)c->waiting_since);
    else
        cJSON_AddNullToObject(o, "waiting_since");
    cJSON_AddStringToObject(o, "priority", priority_names[c->priority & 3]);
    cJSON *tags = cJSON_ParseWithOpts(c->tags[0] ? c->tags : "[]", NULL, 0);
    cJSON_AddItemToObject(o, "tags", cJSON_IsArray(tags) ? tags : (cJSON_Delete(tags), cJSON_CreateArray()));
    if (c->snoozed_until && c->status != RT_STATUS_CLOSED)
        cJSON_AddNumberToObject(o, "snoozed_until", (double)c->snoozed_until);
    else
        cJSON_AddNullToObject(o, "snoozed_until");
    cJSON_AddNumberToObject(o, "created_at", (double)c->created_at);
    cJSON_AddNumberToObject(o, "updated_at", (double)c->updated_at);
    cJSON_Delete(facts);
    return o;
}

static cJSON *summary(rt_engine *e, const rt_conv_rec *c) { return summary_of(e, c, -1); }

/* ---- pushes to the agents' sockets ------------------------------------------------ */

/* No open inbox tab: nothing to build or send. */
static bool nobody_watches(rt_engine *e) { return !e->push || atomic_load(&e->agent_tabs) <= 0; }

void rt_inbox_push(rt_engine *e, conv *c, const char *prev, const char *only_user, cJSON *frame)
{
    if (nobody_watches(e)) {
        cJSON_Delete(frame);
        return;
    }
    char *json = cJSON_PrintUnformatted(frame);
    cJSON_Delete(frame);
    if (json && e->push)
        e->push(e->push_ctx, c->rec.id, c->rec.agent, prev, only_user, json);
    free(json);
}

void rt_inbox_changed(rt_engine *e, conv *c, const char *prev_assignee)
{
    if (nobody_watches(e))
        return;
    cJSON *f = cJSON_CreateObject();
    cJSON_AddStringToObject(f, "type", "conversation");
    /* a new conversation is not in the table yet: its socket says it is online */
    cJSON_AddItemToObject(f, "conversation", summary_of(e, &c->rec, c->peer != NULL));
    rt_inbox_push(e, c, prev_assignee, NULL, f);
}

static const char *message_status(const rt_conv_rec *c, int64_t seq)
{
    return seq <= c->visitor_read_seq ? "read" : seq <= c->delivered_seq ? "delivered" : "pending";
}

void rt_inbox_message(rt_engine *e, conv *c, int64_t seq, cJSON *message)
{
    if (nobody_watches(e))
        return;
    cJSON *f = cJSON_CreateObject();
    cJSON_AddStringToObject(f, "type", "message");
    cJSON_AddNumberToObject(f, "id", (double)c->rec.id);
    cJSON *m = cJSON_Duplicate(message, true);
    if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(m, "from")), "agent") == 0)
        cJSON_AddStringToObject(m, "status", message_status(&c->rec, seq));
    cJSON_AddItemToObject(f, "message", m);
    rt_inbox_push(e, c, c->rec.agent, NULL, f);
}

void rt_inbox_notify(rt_engine *e, conv *c, const char *event, const char *only_user)
{
    if (nobody_watches(e) || strcmp(event, "created") == 0)
        return;
    char name[128];
    rt_conv_display_name(c, name, sizeof name);
    cJSON *f = cJSON_CreateObject();
    cJSON_AddStringToObject(f, "type", "notify");
    cJSON_AddStringToObject(f, "event", event);
    cJSON_AddNumberToObject(f, "id", (double)c->rec.id);
    cJSON_AddStringToObject(f, "title", strcmp(event, "unassigned") == 0 ? "New conversation waiting"
                                        : strcmp(event, "assigned") == 0 ? "Conversation assigned to you"
                                                                         : "New message");
    char body[400];
    snprintf(body, sizeof body, "%s: %s", name, c->rec.last_text);
    cJSON_AddStringToObject(f, "body", body);
    rt_inbox_push(e, c, c->rec.agent, only_user, f);
}

/* ---- actions ------------------------------------------------------------------------ */

static char *conv_json(rt_engine *e, conv *c)
{
    cJSON *o = summary(e, &c->rec);
    cJSON_AddStringToObject(o, "outcome", vm_outcome_name(c->rec.outcome));
    cJSON_AddNumberToObject(o, "conversation", (double)c->rec.id); /* the bearer API's name for id */
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

/* The conversation, locked, if the principal may see it; else NULL and the
 * status to answer (404, or 403 revealing nothing). */
static conv *open_for(rt_engine *e, const rt_principal *who, int64_t id, int *status, char **json)
{
    conv *c = rt_conv_get(e, id);
    if (!c) {
        *status = fail(json, 404, "no such conversation");
        return NULL;
    }
    pthread_mutex_lock(&c->lock);
    if (!rt_conv_visible(&c->rec, who)) {
        pthread_mutex_unlock(&c->lock);
        *status = fail(json, 403, "forbidden");
        return NULL;
    }
    return c;
}

/* open_for, and the conversation must not be closed (409: closed is final). */
static conv *open_unclosed(rt_engine *e, const rt_principal *who, int64_t id, int *status, char **json)
{
    conv *c = open_for(e, who, id, status, json);
    if (c && c->rec.status == RT_STATUS_CLOSED) {
        pthread_mutex_unlock(&c->lock);
        *status = fail(json, 409, "the conversation is closed");
        return NULL;
    }
    return c;
}

static int finish(step *s, conv *c, rt_engine *e, char **json)
{
    int status = rt_step_finish(s, NULL) ? 200 : 503;
    *json = status == 200 ? conv_json(e, c) : rt_json_error("the store could not commit");
    return status;
}

static void system_event(step *s, const char *kind, const char *key, const char *value)
{
    cJSON *body = cJSON_CreateObject();
    if (key)
        cJSON_AddStringToObject(body, key, value);
    rt_step_message(s, "system", kind, body, NULL);
}

/* The agent's open conversations (for capacity). */
typedef struct open_count {
    const char *user;
    int n;
} open_count;

static bool count_open(void *ctx, const rt_conv_rec *c)
{
    open_count *oc = ctx;
    oc->n += strcmp(c->agent, oc->user) == 0;
    return true;
}

static int open_conversations(rt_engine *e, const char *user)
{
    open_count oc = {user, 0};
    rt_conv_query q = {.closed = false};
    e->store->ops->conversations(e->store, &q, count_open, &oc);
    return oc.n;
}

static bool at_capacity(rt_engine *e, const char *user)
{
    rt_user u;
    if (!e->auth || !rt_auth_get_user(e->auth, user, &u))
        return false;
    return open_conversations(e, user) >= u.capacity;
}

void rt_step_take(step *s, const char *agent, const char *agent_name)
{
    conv *c = s->c;
    if (vm_state_wait(c->vm) == VM_WAIT_HANDOFF) {
        rt_step_run(s, vm_taken);
    } else if (vm_state_wait(c->vm) != VM_WAIT_ENDED && !(c->rec.flags & RT_CONV_QUOTA_SKIPPED)) {
        /* "stop the bot": an agent takes over a conversation the bot runs */
        rt_step_end_bot(s, VM_OUTCOME_HANDOFF);
        vm_state_free(c->vm);
        c->vm = vm_state_new(c->prog); /* the bot part is over; keep a valid state */
    } else if (c->rec.flags & RT_CONV_QUOTA_SKIPPED && c->rec.outcome == VM_OUTCOME_NONE) {
        rt_step_end_bot(s, VM_OUTCOME_HANDOFF); /* no bot ran; a human took it */
    }
    c->rec.status = RT_STATUS_AGENT;
    if (!c->rec.waiting_since)
        c->rec.waiting_since = c->rec.queued_at ? c->rec.queued_at : s->now;
    rt_batch_timer(s->batch, c->rec.id, -1);
    snprintf(c->rec.agent, sizeof c->rec.agent, "%s", agent);
    cJSON *body = cJSON_CreateObject();
    cJSON_AddStringToObject(body, "name", agent_name);
    cJSON_AddStringToObject(body, "agent", agent);
    int64_t seq = rt_step_message(s, "system", "joined", body, NULL);
    cJSON *f = cJSON_CreateObject();
    cJSON_AddStringToObject(f, "type", "agent_joined");
    cJSON_AddNumberToObject(f, "seq", (double)seq);
    cJSON_AddStringToObject(f, "name", agent_name);
    rt_step_frame(s, f);
    cJSON *data = cJSON_CreateObject();
    cJSON_AddStringToObject(data, "agent", agent);
    rt_step_hook(s, "conversation.assigned", data);
}

/* Gives the conversation to `to` inside a step: the bot stops if it still
 * runs; the visitor hears who joined. */
static void assign_in_step(step *s, rt_engine *e, const char *to, const char *by)
{
    rt_user u;
    const char *name = agent_display(e, to, &u);
    if (s->c->rec.status != RT_STATUS_AGENT || !s->c->rec.agent[0] || strcmp(s->c->rec.agent, to) != 0) {
        rt_step_take(s, to, name);
        if (strcmp(to, by) != 0)
            system_event(s, "assigned", "by", by);
        rt_step_notify(s, "assigned", to);
    }
}

/* take: only if nobody else has it; assign: also reassigns. */
static int assign(rt_engine *e, const rt_principal *who, int64_t id, const char *to, bool take, char **json)
{
    int status = 0;
    conv *c = open_unclosed(e, who, id, &status, json);
    if (!c)
        return status;
    if (take && c->rec.agent[0] && strcmp(c->rec.agent, to) != 0) {
        status = fail(json, 409, "another agent has it");
    } else if (strcmp(c->rec.agent, to) == 0 && c->rec.status == RT_STATUS_AGENT) {
        *json = conv_json(e, c), status = 200;
    } else if (strcmp(to, who->user) != 0 && e->auth && !rt_auth_get_user(e->auth, to, &(rt_user){0})) {
        status = fail(json, 400, "no such agent");
    } else if (!rt_channels_agent_allowed(e->channels, c->rec.channel, to)) {
        status = fail(json, 409, "that agent does not answer this channel");
    } else if (at_capacity(e, to)) {
        status = fail(json, 409, "that agent is at capacity");
    } else {
        step s;
        rt_step_begin(&s, e, c);
        assign_in_step(&s, e, to, who->user);
        status = finish(&s, c, e, json);
    }
    pthread_mutex_unlock(&c->lock);
    return status;
}

int rt_agent_take(rt_engine *e, const rt_principal *who, int64_t id, char **json)
{
    return assign(e, who, id, who->user, true, json);
}

int rt_agent_assign(rt_engine *e, const rt_principal *who, int64_t id, const char *to, char **json)
{
    return assign(e, who, id, to && to[0] ? to : who->user, false, json);
}

int rt_agent_unassign(rt_engine *e, const rt_principal *who, int64_t id, char **json)
{
    int status = 0;
    conv *c = open_unclosed(e, who, id, &status, json);
    if (!c)
        return status;
    step s;
    rt_step_begin(&s, e, c);
    if (c->rec.agent[0]) {
        c->rec.agent[0] = '\0';
        system_event(&s, "unassigned", "by", who->user);
        rt_step_notify(&s, "unassigned", NULL);
    }
    status = finish(&s, c, e, json);
    pthread_mutex_unlock(&c->lock);
    return status;
}

static cJSON *agent_frame(const char *type, int64_t seq, const char *name)
{
    cJSON *f = cJSON_CreateObject();
    cJSON_AddStringToObject(f, "type", type);
    cJSON_AddNumberToObject(f, "seq", (double)seq);
    cJSON_AddStringToObject(f, "from", "agent");
    cJSON_AddStringToObject(f, "name", name);
    return f;
}

/* An agent message (text or file) in a step: assigns an unassigned
 * conversation to the author, ends the visitor's wait. */
static int64_t agent_says(step *s, rt_engine *e, const rt_principal *who, const char *kind, cJSON *body)
{
    conv *c = s->c;
    if (!c->rec.agent[0] || c->rec.status != RT_STATUS_AGENT)
        assign_in_step(s, e, who->user, who->user); /* replying assigns it */
    if (!c->rec.first_reply_at) {
        c->rec.first_reply_at = s->now;
        int64_t from = c->rec.queued_at ? c->rec.queued_at : c->rec.created_at;
        atomic_fetch_add(&e->handoff_waits, 1);
        atomic_fetch_add(&e->handoff_wait_seconds, (uint64_t)(s->now > from ? s->now - from : 0));
    }
    c->rec.waiting_since = 0;
    c->rec.unread = 0;
    cJSON_AddStringToObject(body, "agent", who->user);
    cJSON_AddStringToObject(body, "name", who->name);
    cJSON *data = cJSON_CreateObject();
    cJSON_AddStringToObject(data, "from", "agent");
    cJSON_AddStringToObject(data, "agent", who->user);
    cJSON_AddItemToObject(data, "body", cJSON_Duplicate(body, true));
    rt_step_hook(s, "message.created", data);
    return rt_step_message(s, "agent", kind, body, NULL);
}

static int agent_message(rt_engine *e, const rt_principal *who, int64_t id, const char *kind, const char *payload,
                         char **json)
{
    int status = 0;
    conv *c = open_unclosed(e, who, id, &status, json);
    if (!c)
        return status;
    if (strcmp(c->rec.agent, who->user) != 0 && at_capacity(e, who->user)) { /* replying would assign it */
        status = fail(json, 409, "you are at capacity");
    } else {
        step s;
        rt_step_begin(&s, e, c);
        cJSON *body = cJSON_CreateObject(), *f;
        if (strcmp(kind, "file") == 0) {
            cJSON_AddItemToObject(body, "file", cJSON_Parse(payload));
            int64_t seq = agent_says(&s, e, who, kind, body);
            f = agent_frame("file", seq, who->name);
            cJSON_AddItemToObject(f, "file", cJSON_Parse(payload));
        } else {
            cJSON_AddStringToObject(body, "text", payload);
            int64_t seq = agent_says(&s, e, who, kind, body);
            f = agent_frame("message", seq, who->name);
            cJSON_AddStringToObject(f, "text", payload);
        }
        rt_step_frame(&s, f);
        status = finish(&s, c, e, json);
    }
    pthread_mutex_unlock(&c->lock);
    return status;
}

int rt_agent_reply(rt_engine *e, const rt_principal *who, int64_t id, const char *text, char **json)
{
    if (!text || !text[0] || vm_text_codepoints(text, strlen(text)) > MAX_TEXT_CHARS)
        return fail(json, 400, "a reply is 1 to 512 characters");
    return agent_message(e, who, id, "text", text, json);
}

int rt_agent_file(rt_engine *e, const rt_principal *who, int64_t id, const char *file_json, char **json)
{
    return agent_message(e, who, id, "file", file_json, json);
}

int rt_agent_close(rt_engine *e, const rt_principal *who, int64_t id, char **json)
{
    int status = 0;
    conv *c = open_for(e, who, id, &status, json);
    if (!c)
        return status;
    status = 200;
    if (c->rec.status != RT_STATUS_CLOSED) {
        step s;
        rt_step_begin(&s, e, c);
        if (vm_state_wait(c->vm) != VM_WAIT_ENDED && c->rec.outcome == VM_OUTCOME_NONE)
            rt_step_end_bot(&s, c->rec.flags & RT_CONV_QUOTA_SKIPPED ? VM_OUTCOME_MISSED : VM_OUTCOME_ABANDONED);
        if (c->rec.status != RT_STATUS_CLOSED)
            rt_step_close(&s);
        system_event(&s, "closed", "by", who->user);
        cJSON *f = cJSON_CreateObject();
        cJSON_AddStringToObject(f, "type", "status");
        cJSON_AddStringToObject(f, "status", "closed");
        rt_step_frame(&s, f);
        status = finish(&s, c, e, json);
    } else {
        *json = conv_json(e, c);
    }
    pthread_mutex_unlock(&c->lock);
    return status;
}

int rt_agent_snooze(rt_engine *e, const rt_principal *who, int64_t id, int64_t until, char **json)
{
    int status = 0;
    conv *c = open_unclosed(e, who, id, &status, json);
    if (!c)
        return status;
    step s;
    rt_step_begin(&s, e, c);
    c->rec.snoozed_until = until > 0 ? until : -1;
    char when[32];
    snprintf(when, sizeof when, "%lld", (long long)c->rec.snoozed_until);
    system_event(&s, "snoozed", "until", when);
    status = finish(&s, c, e, json);
    pthread_mutex_unlock(&c->lock);
    return status;
}

int rt_agent_typing(rt_engine *e, const rt_principal *who, int64_t id, bool typing, char **json)
{
    int status = 0;
    conv *c = open_for(e, who, id, &status, json);
    if (!c)
        return status;
    cJSON *f = cJSON_CreateObject();
    cJSON_AddStringToObject(f, "type", "typing");
    cJSON_AddStringToObject(f, "from", "agent");
    cJSON_AddStringToObject(f, "name", who->name);
    cJSON_AddBoolToObject(f, "typing", typing);
    rt_conv_send(e, c, f);
    cJSON_Delete(f);
    pthread_mutex_unlock(&c->lock);
    *json = strdup("{}");
    return 200;
}

/* Row-only changes (no VM, no visitor frame): stored, then agents told. */
static int save_and_tell(rt_engine *e, conv *c, char **json)
{
    step s;
    rt_step_begin(&s, e, c);
    return finish(&s, c, e, json);
}

int rt_agent_read(rt_engine *e, const rt_principal *who, int64_t id, char **json)
{
    int status = 0;
    conv *c = open_for(e, who, id, &status, json);
    if (!c)
        return status;
    c->rec.unread = 0;
    status = save_and_tell(e, c, json);
    cJSON *f = cJSON_CreateObject();
    cJSON_AddStringToObject(f, "type", "read");
    cJSON_AddNumberToObject(f, "seq", (double)c->rec.last_seq);
    rt_conv_send(e, c, f);
    cJSON_Delete(f);
    pthread_mutex_unlock(&c->lock);
    return status;
}

static bool valid_tags(cJSON *tags)
{
    if (!cJSON_IsArray(tags) || cJSON_GetArraySize(tags) > 10)
        return false;
    cJSON *t;
    cJSON_ArrayForEach(t, tags) if (!cJSON_IsString(t) || !t->valuestring[0] || strlen(t->valuestring) > 32) return false;
    return true;
}

int rt_agent_meta(rt_engine *e, const rt_principal *who, int64_t id, const char *body, char **json)
{
    cJSON *o = cJSON_Parse(body);
    cJSON *prio = cJSON_GetObjectItemCaseSensitive(o, "priority"), *tags = cJSON_GetObjectItemCaseSensitive(o, "tags");
    int p = -1;
    for (int i = 0; prio && i < 4; i++)
        if (cJSON_IsString(prio) && strcmp(prio->valuestring, priority_names[i]) == 0)
            p = i;
    char *tag_json = tags && valid_tags(tags) ? cJSON_PrintUnformatted(tags) : NULL;
    int status = 0;
    if (!cJSON_IsObject(o) || (prio && p < 0) || (tags && (!tag_json || strlen(tag_json) >= 256))) {
        status = fail(json, 400, "priority is low, normal, high or urgent; tags are up to 10 strings of 1-32 bytes");
    } else {
        conv *c = open_for(e, who, id, &status, json);
        if (c) {
            if (p >= 0)
                c->rec.priority = p;
            if (tag_json)
                snprintf(c->rec.tags, sizeof c->rec.tags, "%s", tag_json);
            status = save_and_tell(e, c, json);
            pthread_mutex_unlock(&c->lock);
        }
    }
    free(tag_json);
    cJSON_Delete(o);
    return status;
}

/* ---- the side panel's lead fields ----------------------------------------------------- */

static const char *const lead_keys[] = {"name", "email", "phone", "organization", "address",
                                        "deal_value", "close_date", "notes"};
enum { NLEAD_KEYS = sizeof lead_keys / sizeof lead_keys[0] };

static cJSON *panel_fields(rt_engine *e, int64_t id)
{
    char key[32];
    snprintf(key, sizeof key, "%lld", (long long)id);
    char *json = e->store->ops->get_record(e->store, "panel", key);
    cJSON *o = json ? cJSON_Parse(json) : NULL;
    free(json);
    return cJSON_IsObject(o) ? o : (cJSON_Delete(o), cJSON_CreateObject());
}

/* Validates the panel's fields: known keys, strings (notes up to 2000 bytes,
 * others 200), deal_value a number-like string, close_date YYYY-MM-DD. */
static const char *check_fields(cJSON *o)
{
    if (!cJSON_IsObject(o))
        return "the body must be a JSON object";
    cJSON *f;
    cJSON_ArrayForEach(f, o)
    {
        int k = -1;
        for (int i = 0; i < NLEAD_KEYS; i++)
            if (strcmp(f->string, lead_keys[i]) == 0)
                k = i;
        if (k < 0)
            return "unknown lead field";
        if (!cJSON_IsString(f) || strlen(f->valuestring) > (strcmp(f->string, "notes") == 0 ? 2000u : 200u))
            return "lead fields are strings (notes up to 2000 bytes, others 200)";
        const char *v = f->valuestring;
        if (strcmp(f->string, "deal_value") == 0 && v[0] && strspn(v, "0123456789.,") != strlen(v))
            return "deal_value is a number";
        int y, m, d;
        char extra;
        if (strcmp(f->string, "close_date") == 0 && v[0] &&
            (sscanf(v, "%4d-%2d-%2d%c", &y, &m, &d, &extra) != 3 || m < 1 || m > 12 || d < 1 || d > 31))
            return "close_date is YYYY-MM-DD";
    }
    return NULL;
}

int rt_agent_lead_fields(rt_engine *e, const rt_principal *who, int64_t id, const char *body, char **json)
{
    cJSON *o = cJSON_Parse(body);
    const char *problem = check_fields(o);
    int status = 0;
    if (problem) {
        status = fail(json, 400, problem);
    } else {
        conv *c = open_for(e, who, id, &status, json);
        if (c) {
            cJSON *fields = panel_fields(e, id);
            cJSON *f;
            cJSON_ArrayForEach(f, o)
            {
                cJSON_DeleteItemFromObjectCaseSensitive(fields, f->string);
                cJSON_AddStringToObject(fields, f->string, f->valuestring);
            }
            char key[32], *text = cJSON_PrintUnformatted(fields);
            snprintf(key, sizeof key, "%lld", (long long)id);
            rt_batch *b = rt_batch_new();
            rt_batch_record(b, "panel", key, text);
            status = e->store->ops->commit(e->store, b) ? 200 : 503;
            rt_batch_free(b);
            *json = status == 200 ? text : (free(text), rt_json_error("the store could not commit"));
            cJSON_Delete(fields);
            pthread_mutex_unlock(&c->lock);
        }
    }
    cJSON_Delete(o);
    return status;
}

int rt_agent_record(rt_engine *e, const rt_principal *who, int64_t id, bool deal, char **json)
{
    int status = 0;
    conv *c = open_for(e, who, id, &status, json);
    if (!c)
        return status;
    cJSON *fields = panel_fields(e, id);
    cJSON *name = cJSON_GetObjectItemCaseSensitive(fields, "name"), *email = cJSON_GetObjectItemCaseSensitive(fields, "email");
    if (!(cJSON_IsString(name) && name->valuestring[0]) && !(cJSON_IsString(email) && email->valuestring[0])) {
        cJSON_Delete(fields);
        status = fail(json, 400, "fill in at least a name or an email first");
    } else {
        step s; /* a closed conversation takes new records too; it stays as it is */
        rt_step_begin(&s, e, c);
        rt_step_record(&s, deal, fields, "panel");
        status = finish(&s, c, e, json);
    }
    pthread_mutex_unlock(&c->lock);
    return status;
}

/* ---- reading ---------------------------------------------------------------------- */

typedef struct listing {
    rt_engine *e;
    const rt_principal *who;
    const char *folder, *q, *state;
    int64_t now;
    cJSON *out;
    cJSON *counts;
} listing;

/* ASCII case-insensitive substring (strcasestr is a GNU extension). */
static bool contains_nocase(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; *hay; hay++)
        if (strncasecmp(hay, needle, n) == 0)
            return true;
    return n == 0;
}

static bool matches_q(const rt_conv_rec *c, const char *q)
{
    if (!q || !q[0])
        return true;
    cJSON *facts = cJSON_ParseWithOpts(c->facts, NULL, 0);
    char name[128];
    display_name(c, facts, name, sizeof name);
    bool hit = contains_nocase(name, q) || contains_nocase(fact(facts, "email"), q);
    cJSON_Delete(facts);
    return hit;
}

static void count(cJSON *counts, const char *folder, const rt_conv_rec *c)
{
    cJSON *f = cJSON_GetObjectItemCaseSensitive(counts, folder);
    cJSON *total = cJSON_GetObjectItemCaseSensitive(f, "total"), *unread = cJSON_GetObjectItemCaseSensitive(f, "unread");
    cJSON_SetNumberValue(total, total->valuedouble + 1);
    if (c->unread > 0)
        cJSON_SetNumberValue(unread, unread->valuedouble + 1);
}

static bool in_folder(const listing *l, const char *folder, const rt_conv_rec *c)
{
    if (strcmp(folder, "all") == 0)
        return l->who->admin;
    if (strcmp(folder, "closed") == 0)
        return c->status == RT_STATUS_CLOSED;
    if (c->status == RT_STATUS_CLOSED)
        return false;
    if (strcmp(folder, "mine") == 0)
        return strcmp(c->agent, l->who->user) == 0;
    return strcmp(folder, "unassigned") == 0 && !c->agent[0];
}

static bool state_matches(const listing *l, const rt_conv_rec *c)
{
    const char *st = l->state && l->state[0] ? l->state : strcmp(l->folder, "closed") == 0 ? "closed" : "open";
    if (strcmp(st, "any") == 0)
        return true;
    if (strcmp(st, "closed") == 0)
        return c->status == RT_STATUS_CLOSED;
    if (strcmp(st, "snoozed") == 0)
        return snoozed(c, l->now);
    return c->status != RT_STATUS_CLOSED && !snoozed(c, l->now);
}

static bool list_one(void *ctx, const rt_conv_rec *c)
{
    listing *l = ctx;
    if (!rt_conv_visible(c, l->who))
        return true;
    static const char *const folders[] = {"unassigned", "mine", "closed", "all"};
    for (int i = 0; i < 4; i++)
        if (in_folder(l, folders[i], c) && (strcmp(folders[i], "closed") == 0 || !snoozed(c, l->now)))
            count(l->counts, folders[i], c);
    if (in_folder(l, l->folder, c) && state_matches(l, c) && matches_q(c, l->q))
        cJSON_AddItemToArray(l->out, summary(l->e, c));
    return true;
}

/* Unassigned: waiting for a human first, longest-waiting first; then the
 * bot's conversations, oldest first. */
static int unassigned_order(const void *a, const void *b)
{
    const cJSON *x = *(const cJSON *const *)a, *y = *(const cJSON *const *)b;
    double wx = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(x, "waiting_since"));
    double wy = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(y, "waiting_since"));
    bool qx = wx == wx, qy = wy == wy; /* NaN: null, nobody waits */
    if (qx != qy)
        return qx ? -1 : 1;
    double kx = qx ? wx : cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(x, "created_at"));
    double ky = qy ? wy : cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(y, "created_at"));
    if (kx != ky)
        return kx < ky ? -1 : 1;
    return cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(x, "id")) <
                   cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(y, "id"))
               ? -1
               : 1;
}

/* Mine and All: the most recently active first. */
static int recent_order(const void *a, const void *b)
{
    const cJSON *x = *(const cJSON *const *)a, *y = *(const cJSON *const *)b;
    double kx = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(x, "updated_at"));
    double ky = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(y, "updated_at"));
    return kx > ky ? -1 : kx < ky ? 1 : 0;
}

static void sort_array(cJSON *arr, int (*cmp)(const void *, const void *))
{
    int n = cJSON_GetArraySize(arr);
    cJSON **items = malloc(sizeof *items * (size_t)(n ? n : 1));
    if (!items)
        return;
    for (int i = 0; i < n; i++)
        items[i] = cJSON_DetachItemFromArray(arr, 0);
    qsort(items, (size_t)n, sizeof *items, cmp);
    for (int i = 0; i < n; i++)
        cJSON_AddItemToArray(arr, items[i]);
    free(items);
}

int rt_inbox(rt_engine *e, const rt_principal *who, const char *folder, const char *q, const char *state, char **json)
{
    if (!folder || !folder[0])
        folder = "unassigned";
    static const char *const folders[] = {"unassigned", "mine", "closed", "all"};
    bool known = false;
    for (int i = 0; i < 4; i++)
        known |= strcmp(folder, folders[i]) == 0;
    if (!known)
        return fail(json, 400, "folder is unassigned, mine, closed or all");
    if (strcmp(folder, "all") == 0 && !who->admin)
        return fail(json, 403, "admins only");
    listing l = {e, who, folder, q, state, rt_engine_now(e), cJSON_CreateArray(), cJSON_CreateObject()};
    for (int i = 0; i < 4; i++) {
        cJSON *c = cJSON_AddObjectToObject(l.counts, folders[i]);
        cJSON_AddNumberToObject(c, "total", 0);
        cJSON_AddNumberToObject(c, "unread", 0);
    }
    rt_conv_query open = {.closed = false}, closed = {.closed = true, .limit = 500};
    e->store->ops->conversations(e->store, &open, list_one, &l);
    e->store->ops->conversations(e->store, &closed, list_one, &l);
    sort_array(l.out, strcmp(folder, "unassigned") == 0 ? unassigned_order : recent_order);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "counts", l.counts);
    cJSON_AddItemToObject(o, "conversations", l.out);
    *json = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return 200;
}

static bool queue_item(void *ctx, const rt_conv_rec *c)
{
    if (c->agent[0])
        return true;
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

typedef struct thread {
    const rt_conv_rec *c;
    cJSON *out;
} thread;

static bool message_item(void *ctx, const rt_msg_rec *m)
{
    thread *t = ctx;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "seq", (double)m->seq);
    cJSON_AddStringToObject(o, "from", m->sender);
    cJSON_AddStringToObject(o, "kind", m->kind);
    cJSON *body = cJSON_ParseWithOpts(m->body, NULL, 0);
    cJSON_AddItemToObject(o, "body", body ? body : cJSON_CreateObject());
    cJSON_AddNumberToObject(o, "at", (double)m->at);
    if (strcmp(m->sender, "agent") == 0)
        cJSON_AddStringToObject(o, "status", message_status(t->c, m->seq));
    cJSON_AddItemToArray(t->out, o);
    return true;
}

static cJSON *variables(const conv *c)
{
    cJSON *o = cJSON_CreateObject();
    uint32_t n = vm_program_var_count(c->prog);
    for (uint32_t v = 0; v < n; v++) {
        vm_text_ref name = vm_program_var_name(c->prog, v);
        char key[128], numbuf[32];
        snprintf(key, sizeof key, "%.*s", (int)name.len, name.s);
        uint32_t len = 0;
        const char *text = vm_state_var_text(c->vm, v, numbuf, &len);
        char *value = strndup(text ? text : "", text ? len : 0);
        cJSON_AddStringToObject(o, key, value ? value : "");
        free(value);
    }
    return o;
}

static bool record_item(void *ctx, const rt_lead_rec *l)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "id", (double)l->id);
    cJSON_AddNumberToObject(o, "conversation", (double)l->conversation);
    cJSON_AddStringToObject(o, "channel", l->channel);
    cJSON_AddStringToObject(o, "kind", l->deal ? "deal" : "lead");
    cJSON_AddStringToObject(o, "source", l->source);
    cJSON *f = cJSON_Parse(l->fields);
    cJSON_AddItemToObject(o, "fields", f ? f : cJSON_CreateObject());
    cJSON_AddNumberToObject(o, "at", (double)l->at);
    cJSON_AddItemToArray((cJSON *)ctx, o);
    return true;
}

static cJSON *facts_json(rt_engine *e, conv *c)
{
    cJSON *facts = cJSON_ParseWithOpts(c->rec.facts, NULL, 0);
    if (!facts)
        facts = cJSON_CreateObject();
    cJSON_DeleteItemFromObjectCaseSensitive(facts, "online");
    cJSON_AddBoolToObject(facts, "online", c->peer != NULL);
    cJSON_AddNumberToObject(facts, "last_seen", (double)(c->peer ? rt_engine_now(e) : c->rec.updated_at));
    return facts;
}

int rt_conversation(rt_engine *e, const rt_principal *who, int64_t id, char **json)
{
    int status = 0;
    conv *c = open_for(e, who, id, &status, json);
    if (!c)
        return status;
    cJSON *o = summary(e, &c->rec);
    cJSON_AddNumberToObject(o, "conversation", (double)c->rec.id);
    cJSON_AddStringToObject(o, "flow", c->rec.flow);
    cJSON_AddStringToObject(o, "outcome", vm_outcome_name(c->rec.outcome));
    cJSON_AddStringToObject(o, "agent", c->rec.agent); /* the bearer API's name */
    cJSON_AddBoolToObject(o, "visitor_typing", c->visitor_typing);
    thread t = {&c->rec, cJSON_AddArrayToObject(o, "messages")};
    e->store->ops->messages(e->store, id, 0, message_item, &t);
    cJSON_AddItemToObject(o, "facts", facts_json(e, c));
    cJSON_AddItemToObject(o, "variables", variables(c));
    cJSON_AddItemToObject(o, "lead", panel_fields(e, id));
    cJSON *records = cJSON_AddArrayToObject(o, "records");
    e->store->ops->leads(e->store, id, record_item, records);
    pthread_mutex_unlock(&c->lock);
    *json = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return 200;
}

bool rt_conversation_visible(rt_engine *e, const rt_principal *who, int64_t id)
{
    conv *c = rt_conv_get(e, id);
    if (!c)
        return false;
    pthread_mutex_lock(&c->lock);
    bool ok = rt_conv_visible(&c->rec, who);
    pthread_mutex_unlock(&c->lock);
    return ok;
}

/* ---- agents, leads, canned responses ------------------------------------------------------ */

typedef struct agent_list {
    rt_engine *e;
    cJSON *out;
} agent_list;

static bool agent_item(void *ctx, const rt_user *u)
{
    agent_list *l = ctx;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "user", u->user);
    cJSON_AddStringToObject(o, "name", u->name);
    cJSON_AddStringToObject(o, "role", u->role);
    cJSON_AddBoolToObject(o, "online", rt_agent_online(l->e, u->user));
    cJSON_AddNumberToObject(o, "open", 0); /* counted below, in one pass over the store */
    cJSON_AddNumberToObject(o, "capacity", u->capacity);
    cJSON_AddItemToArray(l->out, o);
    return true;
}

/* One open conversation: +1 for its agent's "open". */
static bool count_agent_open(void *ctx, const rt_conv_rec *c)
{
    cJSON *a;
    cJSON_ArrayForEach(a, (cJSON *)ctx)
    {
        if (c->agent[0] && strcmp(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(a, "user")), c->agent) == 0) {
            cJSON *open = cJSON_GetObjectItemCaseSensitive(a, "open");
            cJSON_SetNumberValue(open, open->valuedouble + 1);
            break;
        }
    }
    return true;
}

int rt_agents(rt_engine *e, char **json)
{
    agent_list l = {e, cJSON_CreateArray()};
    if (e->auth)
        rt_auth_each_user(e->auth, agent_item, &l);
    rt_conv_query q = {.closed = false};
    e->store->ops->conversations(e->store, &q, count_agent_open, l.out);
    *json = cJSON_PrintUnformatted(l.out);
    cJSON_Delete(l.out);
    return 200;
}

/* A CSV cell: quoted, quotes doubled; a leading =, +, - or @ is prefixed
 * with ' so that spreadsheets do not run it as a formula. */
static void csv_cell(FILE *f, const char *s)
{
    fputc('"', f);
    if (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@')
        fputc('\'', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

static char *leads_csv(cJSON *leads)
{
    char *out = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&out, &size);
    if (!f)
        return NULL;
    fputs("id,kind,source,conversation,channel,created_at", f);
    for (int i = 0; i < NLEAD_KEYS; i++)
        fprintf(f, ",%s", lead_keys[i]);
    fputs(",other\r\n", f);
    cJSON *l;
    cJSON_ArrayForEach(l, leads)
    {
        char when[32];
        time_t t = (time_t)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(l, "at"));
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
        fprintf(f, "%.0f,%s,%s,%.0f,", cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(l, "id")),
                cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(l, "kind")),
                cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(l, "source")),
                cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(l, "conversation")));
        csv_cell(f, cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(l, "channel")));
        fprintf(f, ",%s", when);
        cJSON *fields = cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(l, "fields"), true);
        for (int i = 0; i < NLEAD_KEYS; i++) {
            cJSON *v = cJSON_DetachItemFromObjectCaseSensitive(fields, lead_keys[i]);
            char *text = cJSON_IsString(v) ? strdup(v->valuestring) : v ? cJSON_PrintUnformatted(v) : strdup("");
            fputc(',', f);
            csv_cell(f, text ? text : "");
            free(text);
            cJSON_Delete(v);
        }
        char *rest = cJSON_GetArraySize(fields) ? cJSON_PrintUnformatted(fields) : strdup("");
        fputc(',', f);
        csv_cell(f, rest ? rest : "");
        free(rest);
        cJSON_Delete(fields);
        fputs("\r\n", f);
    }
    fclose(f);
    return out;
}

int rt_leads(rt_engine *e, bool csv, char **body)
{
    cJSON *a = cJSON_CreateArray();
    e->store->ops->leads(e->store, 0, record_item, a);
    *body = csv ? leads_csv(a) : cJSON_PrintUnformatted(a);
    cJSON_Delete(a);
    return *body ? 200 : 503;
}

static bool canned_item(void *ctx, const char *key, const char *json)
{
    cJSON *o = cJSON_Parse(json);
    if (!o)
        return true;
    cJSON_DeleteItemFromObjectCaseSensitive(o, "shortcut");
    cJSON_AddStringToObject(o, "shortcut", key);
    cJSON_AddItemToArray((cJSON *)ctx, o);
    return true;
}

int rt_canned_list(rt_engine *e, char **json)
{
    cJSON *a = cJSON_CreateArray();
    e->store->ops->records(e->store, "canned", canned_item, a);
    *json = cJSON_PrintUnformatted(a);
    cJSON_Delete(a);
    return 200;
}

static bool valid_shortcut(const char *s)
{
    size_t n = strlen(s);
    return n > 0 && n <= 32 && strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_-") == n;
}

static int canned_write(rt_engine *e, const char *shortcut, const char *text, char **json)
{
    rt_batch *b = rt_batch_new();
    char *rec = NULL;
    if (text) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "text", text);
        rec = cJSON_PrintUnformatted(o);
        cJSON_Delete(o);
    }
    rt_batch_record(b, "canned", shortcut, rec);
    bool ok = e->store->ops->commit(e->store, b);
    rt_batch_free(b);
    free(rec);
    if (!ok)
        return fail(json, 503, "the store could not commit");
    return rt_canned_list(e, json);
}

int rt_canned_put(rt_engine *e, const char *shortcut, const char *body, char **json)
{
    if (!valid_shortcut(shortcut))
        return fail(json, 400, "a shortcut is 1-32 characters of a-z, 0-9, _ and -");
    cJSON *o = cJSON_Parse(body);
    const char *text = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "text"));
    int status = !text || !text[0] || vm_text_codepoints(text, strlen(text)) > MAX_TEXT_CHARS
                     ? fail(json, 400, "a canned response is 1 to 512 characters")
                     : canned_write(e, shortcut, text, json);
    cJSON_Delete(o);
    return status;
}

int rt_canned_delete(rt_engine *e, const char *shortcut, char **json)
{
    char *old = valid_shortcut(shortcut) ? e->store->ops->get_record(e->store, "canned", shortcut) : NULL;
    if (!old)
        return fail(json, 404, "no such canned response");
    free(old);
    return canned_write(e, shortcut, NULL, json);
}
