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

typedef struct rt_engine_options {
    rt_store *store;
    rt_flows *flows;
    rt_send_fn send;
    bool test_hooks; /* accept test-only hello keys and clock/agents settings */
    int64_t abandon_after; /* seconds a bot may wait for a visitor who left (default 1800) */
} rt_engine_options;

rt_engine *rt_engine_new(const rt_engine_options *o);
void rt_engine_free(rt_engine *e);

/* Binds a channel to a flow (by flow name). */
bool rt_engine_add_channel(rt_engine *e, const char *channel, const char *flow);

typedef struct rt_hello {
    const char *channel, *visitor;
    const char *page, *name, *email, *device, *country; /* NULL: unknown */
    bool returning_given, returning;
    bool debug; /* send `event` frames with every VM output (test hooks only) */
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

/* Agents. Each returns an HTTP status (200, 404, 409, 503) and, in *json,
 * a malloc'd JSON body. */
int rt_agent_take(rt_engine *e, int64_t conversation, const char *agent, char **json);
int rt_agent_reply(rt_engine *e, int64_t conversation, const char *agent, const char *text, char **json);
int rt_agent_close(rt_engine *e, int64_t conversation, char **json);
int rt_agent_presence(rt_engine *e, const char *agent, bool online, char **json);
int rt_queue(rt_engine *e, char **json);
int rt_conversation(rt_engine *e, int64_t conversation, char **json);

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
