/* rt_engine.h - conversations: running the VM for visitors, the handoff
 * queue, agents' actions and timers. Knows nothing of HTTP: the web layer
 * (rt_web.c) parses requests and hands the engine plain values; the engine
 * sends visitor frames through the `send` callback.
 *
 * Every change to a conversation (the visitor's input, every output of the
 * bot, the new VM state, timers, leads, counters) is one store batch,
 * committed before the visitor hears about it. One conversation is touched
 * by one thread at a time (its lock); different conversations run in
 * parallel.
 */
#ifndef RT_ENGINE_H
#define RT_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rt_flows.h"
#include "rt_store.h"

typedef struct rt_engine rt_engine;
typedef struct rt_peer rt_peer; /* a visitor's socket, owned by the web layer */

typedef void (*rt_send_fn)(rt_peer *peer, const char *json, size_t len);

/* Who makes an agent-side request (from a session, or the bearer token). */
typedef struct rt_principal {
    char user[64]; /* login name */
    char name[64]; /* display name */
    bool admin;
} rt_principal;

/* Sends an agent frame to every /ws/agent socket that may see a
 * conversation now assigned to `assignee` ("" nobody); sockets that could
 * see it under `prev_assignee` but no longer can get {"type":"removed"}.
 * only_user: just that user's sockets (NULL: all). */
typedef void (*rt_agent_push_fn)(void *ctx, int64_t conversation, const char *assignee, const char *prev_assignee,
                                 const char *only_user, const char *json);

struct rt_channels;
struct rt_auth;
struct rt_webhooks;

typedef struct rt_engine_options {
    rt_store *store;
    rt_flows *flows;
    struct rt_channels *channels;
    struct rt_auth *auth;         /* NULL: no accounts */
    struct rt_webhooks *hooks;    /* NULL: no webhooks */
    int64_t agent_grace;          /* seconds an agent stays online after their last tab closed (default 60) */
    bool no_stats;                /* write no daily counters (benchmarks compare with and without) */
    rt_send_fn send;
    bool test_hooks; /* accept test-only hello keys and clock/agents settings */
    int64_t abandon_after; /* seconds a bot may wait for a visitor who left (default 1800) */
} rt_engine_options;

rt_engine *rt_engine_new(const rt_engine_options *o);
void rt_engine_free(rt_engine *e);

/* The store (for the web layer's uploads). */
rt_store *rt_engine_store(rt_engine *e);
/* Where agent frames go (set once the web layer is up). */
void rt_engine_set_push(rt_engine *e, rt_agent_push_fn push, void *ctx);

typedef struct rt_hello {
    const char *channel, *visitor;
    const char *page, *name, *email, *device, *country; /* NULL: unknown */
    const char *user_id, *user_hash;  /* identity verification (docs/api.md) */
    const char *subject, *message;    /* the pre-chat form's; message is the first visitor message */
    bool returning_given, returning;
    bool debug; /* send `event` frames with every VM output (test hooks only) */
    bool resume_only; /* only an open conversation: never start one (a returning visitor's page load) */
} rt_hello;

/* A visitor's socket said hello: finds their open conversation or starts
 * one, then sends welcome, history and any new bot outputs. Returns the
 * conversation id, or 0 with an error code ("bad_hello") and message. */
int64_t rt_visitor_hello(rt_engine *e, rt_peer *peer, const rt_hello *h, char *err, size_t errlen);

typedef enum rt_input_kind { RT_INPUT_TEXT, RT_INPUT_CLICK } rt_input_kind;

/* A visitor's text or click (already validated for size by the web layer).
 * Sends ack and outputs, or an error frame. */
void rt_visitor_input(rt_engine *e, rt_peer *peer, int64_t conversation, const char *client_id, rt_input_kind kind,
                      const char *text, size_t len, int button);

/* An `error` frame of docs/protocol.md (malloc'd JSON). */
char *rt_error_frame(const char *code, const char *msg, const char *id);

/* The visitor's socket closed. */
void rt_visitor_gone(rt_engine *e, rt_peer *peer, int64_t conversation);
/* The other visitor frames of docs/api.md. */
void rt_visitor_typing(rt_engine *e, int64_t conversation, bool typing);
void rt_visitor_read(rt_engine *e, int64_t conversation, int64_t seq);
void rt_visitor_window(rt_engine *e, int64_t conversation, bool open);
void rt_visitor_page(rt_engine *e, int64_t conversation, const char *page);
void rt_visitor_end(rt_engine *e, rt_peer *peer, int64_t conversation);
/* The offline form (quota used up, nobody online): a lead. */
void rt_visitor_offline_form(rt_engine *e, rt_peer *peer, int64_t conversation, const char *name, const char *email,
                             const char *message);
/* A file the visitor uploaded (already stored): a message. Returns an HTTP
 * status; 403 when the visitor does not own the conversation. */
int rt_visitor_file(rt_engine *e, int64_t conversation, const char *visitor, const char *file_json, char **json);
/* Whether a visitor id owns a conversation (for serving files). */
bool rt_visitor_owns(rt_engine *e, int64_t conversation, const char *visitor);

/* Agents (rt_inbox.c, docs/api.md). Each returns an HTTP status (200, 400,
 * 403, 404, 409, 503) and, in *json, a malloc'd JSON body. A conversation
 * the principal may not see answers 403 {"error":"forbidden"}. */
int rt_agent_take(rt_engine *e, const rt_principal *who, int64_t conversation, char **json);
int rt_agent_assign(rt_engine *e, const rt_principal *who, int64_t conversation, const char *to, char **json);
int rt_agent_unassign(rt_engine *e, const rt_principal *who, int64_t conversation, char **json);
int rt_agent_reply(rt_engine *e, const rt_principal *who, int64_t conversation, const char *text, char **json);
int rt_agent_file(rt_engine *e, const rt_principal *who, int64_t conversation, const char *file_json, char **json);
int rt_agent_close(rt_engine *e, const rt_principal *who, int64_t conversation, char **json);
int rt_agent_snooze(rt_engine *e, const rt_principal *who, int64_t conversation, int64_t until, char **json);
int rt_agent_typing(rt_engine *e, const rt_principal *who, int64_t conversation, bool typing, char **json);
int rt_agent_read(rt_engine *e, const rt_principal *who, int64_t conversation, char **json);
int rt_agent_meta(rt_engine *e, const rt_principal *who, int64_t conversation, const char *body, char **json);
int rt_agent_lead_fields(rt_engine *e, const rt_principal *who, int64_t conversation, const char *body, char **json);
int rt_agent_record(rt_engine *e, const rt_principal *who, int64_t conversation, bool deal, char **json);
int rt_agent_presence(rt_engine *e, const char *agent, bool online, char **json);
/* An agent's inbox tab opened (+1) or closed (-1). */
void rt_agent_tab(rt_engine *e, const char *agent, int delta);
bool rt_agent_online(rt_engine *e, const char *agent);
int rt_agents(rt_engine *e, char **json);
int rt_inbox(rt_engine *e, const rt_principal *who, const char *folder, const char *q, const char *state, char **json);
int rt_queue(rt_engine *e, char **json);
int rt_conversation(rt_engine *e, const rt_principal *who, int64_t conversation, char **json);
/* Whether the principal may see the conversation (files, attachments). */
bool rt_conversation_visible(rt_engine *e, const rt_principal *who, int64_t conversation);
int rt_leads(rt_engine *e, bool csv, char **body);
int rt_canned_list(rt_engine *e, char **json);
int rt_canned_put(rt_engine *e, const char *shortcut, const char *body, char **json);
int rt_canned_delete(rt_engine *e, const char *shortcut, char **json);

/* The clock the engine runs by (a test clock once set). */
int64_t rt_engine_now(rt_engine *e);
void rt_engine_set_clock(rt_engine *e, int64_t utc);
/* A local time "YYYY-MM-DD HH:MM" in the zone of the channel's flow. */
bool rt_engine_set_local_clock(rt_engine *e, const char *channel, const char *local);
void rt_engine_set_agents(rt_engine *e, int online);

/* Fires due timers (handoff waits that ran out); returns how many. */
int rt_engine_fire_timers(rt_engine *e);

/* Whether the store answers (for /healthz). */
bool rt_engine_store_ok(rt_engine *e);

/* Prometheus text for /metrics (malloc'd). */
char *rt_engine_metrics(rt_engine *e);

#endif
