/* rt_engine_internal.h - what the engine's files share (rt_engine.c: the
 * visitor side and the VM; rt_visitor.c: the visitor's other frames;
 * rt_inbox.c: the agents' side). Not for the web
 * layer, which only sees rt_engine.h. */
#ifndef RT_ENGINE_INTERNAL_H
#define RT_ENGINE_INTERNAL_H

#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdatomic.h>

#include "rt_auth.h"
#include "rt_channels.h"
#include "rt_engine.h"
#include "rt_webhook.h"

#define TABLE_SIZE 16384

/* An agent's presence: the inbox's toggle, and their open /ws/agent tabs.
 * They count as online while the toggle is on and a tab is open, or for
 * agent_grace seconds after the last tab closed. An agent who never opened
 * a tab (a script on the bearer API) counts while the toggle is on. */
typedef struct agent_rec {
    char name[64];
    bool online;
    int tabs;
    bool ever_tabbed;
    int64_t last_tab_closed;
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
    bool visitor_typing;
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
    rt_channels *channels;
    rt_auth *auth;         /* NULL: no accounts (tests of the core) */
    rt_webhooks *hooks;    /* NULL: no webhooks */
    rt_agent_push_fn push; /* the web layer's agent sockets */
    void *push_ctx;
    int64_t agent_grace;
    agent_rec *agents;
    struct quota_rec *quotas; /* this month's bot conversations per channel (rt_engine.c) */
    _Atomic int64_t next_id;
    _Atomic int64_t test_clock; /* 0: real time */
    _Atomic int test_agents;    /* -1: count present agents */
    _Atomic uint64_t steps, vm_instructions, outcomes[VM_OUTCOME_ERROR + 1], handoffs, timers_fired;
    _Atomic uint64_t handoff_waits, handoff_wait_seconds; /* queue to first agent reply */
    _Atomic int agent_tabs; /* open inbox tabs: none, and a step builds nothing for them */
    bool no_stats; /* --stats=off: daily counters are not written (for the benchmark's comparison) */
};

/* One change to a conversation. Everything it produces waits until the
 * batch is committed: frames for the visitor, stored messages for the
 * agents' sockets, notifications, webhook events. */
typedef struct step {
    rt_engine *e;
    conv *c;
    rt_batch *batch;
    int64_t now;
    cJSON *frames;            /* visitor frames */
    cJSON *agent_msgs;        /* messages as the agent API shows them */
    cJSON *notify;            /* [{"event", "user"}] for rt_inbox_notify */
    cJSON *hooks;             /* [{"event", "data"}] for the webhooks */
    char prev_assignee[64];   /* who had it when the step began */
    int prev_status;
    bool for_agents;          /* an inbox tab is open: build what agents are sent */
    bool for_hooks;           /* a webhook subscription exists */
} step;

/* Conversations in memory (loaded from the store on first use). */
conv *rt_conv_get(rt_engine *e, int64_t id);
/* A step: begin, add outputs (messages, frames, counters), finish (commit,
 * then send the frames to the visitor); false when the store refused. */
void rt_step_begin(step *s, rt_engine *e, conv *c);
bool rt_step_finish(step *s, cJSON *first);
int64_t rt_step_message(step *s, const char *sender, const char *kind, cJSON *body, const char *client_id);
void rt_step_frame(step *s, cJSON *frame);
void rt_step_counter(step *s, const char *name);
void rt_step_notify(step *s, const char *event, const char *only_user);
void rt_step_hook(step *s, const char *event, cJSON *data);
/* Ends the bot part with an outcome (counted, stored, told to the visitor when it closes). */
void rt_step_end_bot(step *s, vm_outcome outcome);
void rt_step_run(step *s, vm_status (*fn)(vm_state *, const vm_host *));
/* A lead or deal record (takes `fields`); source "bot" or "panel". */
void rt_step_record(step *s, bool deal, cJSON *fields, const char *source);
/* Closes the conversation for good. */
void rt_step_close(step *s);
/* An agent takes the conversation inside a step (the bot stops). */
void rt_step_take(step *s, const char *agent, const char *agent_name);
void rt_conv_send(rt_engine *e, conv *c, cJSON *frame);
/* Tells agents (the web layer's /ws/agent sockets) that a conversation changed. */
void rt_inbox_changed(rt_engine *e, conv *c, const char *prev_assignee);
/* Sends (and frees) an agent frame about c to the tabs that may see it. */
void rt_inbox_push(rt_engine *e, conv *c, const char *prev_assignee, const char *only_user, cJSON *frame);
void rt_inbox_message(rt_engine *e, conv *c, int64_t seq, cJSON *message);
void rt_inbox_notify(rt_engine *e, conv *c, const char *event, const char *only_user);
char *rt_json_error(const char *msg);
/* Shared by rt_engine.c and rt_visitor.c. */
conv *rt_conv_locked(rt_engine *e, int64_t id); /* loaded and locked, or NULL */
void rt_conv_save_row(rt_engine *e, conv *c);  /* a row-only change, stored (reloaded if refused) */
void rt_conv_reload(rt_engine *e, conv *c);
void rt_conv_facts_from_rec(conv *c);
bool rt_conv_offline_form_due(const conv *c);
void rt_step_ended_frame(step *s, const char *outcome);
void rt_step_visitor_wrote(step *s, const char *text);
void rt_send_error(rt_engine *e, rt_peer *peer, const char *code, const char *msg, const char *id);
/* The visitor's display name: their name, else "<country> <date time>". */
void rt_conv_display_name(const conv *c, char *out, size_t cap);
/* Whether an agent may see a conversation (unassigned, theirs, or admin). */
bool rt_conv_visible(const rt_conv_rec *c, const rt_principal *who);

#endif
