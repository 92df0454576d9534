/* rt_store.h - the one interface between flowd and its storage.
 *
 * Everything flowd keeps (channels, programs, conversations, messages, VM
 * states, timers, leads, counters) goes through this interface; the SQLite
 * implementation (rt_store_sqlite.c) is the embedded default, and another
 * store only has to fill in rt_store_ops.
 *
 * Writes are grouped into an rt_batch that commits atomically: a visitor's
 * input, every output of the bot and the new VM state go in one batch, and
 * the caller answers the visitor only after commit() returned true
 * ("acknowledged means committed"). commit() may be called from any thread;
 * implementations serialise writes themselves (SQLite: one writer thread
 * that commits waiting batches together).
 */
#ifndef RT_STORE_H
#define RT_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum rt_status {
    RT_STATUS_BOT = 0,    /* the bot is talking */
    RT_STATUS_QUEUED = 1, /* waiting in a team's queue for an agent */
    RT_STATUS_AGENT = 2,  /* an agent took it */
    RT_STATUS_CLOSED = 3, /* final */
} rt_status;

typedef struct rt_conv_rec {
    int64_t id;
    char channel[64];
    char visitor[80];
    char flow[128];
    uint64_t program_id;
    int status;  /* rt_status */
    int outcome; /* vm_outcome */
    char team[64];
    char agent[64];
    int64_t created_at, updated_at, queued_at;
    int64_t last_seq; /* seq of the newest message */
    char facts[768];  /* the visitor's facts as a JSON object */
    /* the inbox's view of it (docs/api.md) */
    int64_t snoozed_until;   /* 0: not snoozed; -1: until the visitor writes; else a time */
    int priority;            /* 0 low, 1 normal, 2 high, 3 urgent */
    char tags[256];          /* JSON array of strings */
    char last_from[16];      /* the newest text message: who, what (a preview), when */
    char last_text[160];
    int64_t last_at;
    int64_t waiting_since;   /* the visitor waits for a human reply since; 0: nobody waits */
    int64_t first_reply_at;  /* the first agent reply; 0: none yet */
    int64_t closed_at;
    int unread;              /* visitor messages the agents have not read */
    int64_t visitor_read_seq; /* the visitor saw everything up to this seq */
    int64_t delivered_seq;    /* sent to the visitor's open socket up to this seq */
    char node[64];           /* the flow node the bot is in (the funnel's "left at") */
    char visited[65];        /* nodes 0-255 it has entered, as 64 hex digits (the funnel's "reached") */
    int flags;               /* RT_CONV_* */
} rt_conv_rec;

enum { RT_CONV_QUOTA_SKIPPED = 1, /* started after the monthly quota ran out: no bot */
       RT_CONV_WINDOW_OPEN = 2 }; /* the visitor's chat window is open */

typedef struct rt_msg_rec {
    int64_t conversation;
    int64_t seq;
    const char *sender;    /* visitor, bot, agent, system */
    const char *kind;      /* text, buttons, pause, tag, lead, deal, handoff, end, joined */
    const char *body;      /* JSON object */
    const char *client_id; /* visitor's message id, or NULL */
    int64_t at;
} rt_msg_rec;

typedef struct rt_batch rt_batch;

rt_batch *rt_batch_new(void);
void rt_batch_free(rt_batch *b);
/* Each adder copies its arguments. */
void rt_batch_conversation(rt_batch *b, const rt_conv_rec *c);
void rt_batch_message(rt_batch *b, const rt_msg_rec *m);
void rt_batch_state(rt_batch *b, int64_t conversation, const void *bytes, size_t len);
void rt_batch_timer(rt_batch *b, int64_t conversation, int64_t due); /* due < 0: clear */
/* source: "bot" (a lead/deal statement) or "panel" (an agent's side panel) */
void rt_batch_lead(rt_batch *b, int64_t conversation, bool deal, const char *fields_json, int64_t at,
                   const char *source);
/* Adds delta to a channel's counter of one day ("YYYY-MM-DD" in the channel's zone). */
void rt_batch_counter(rt_batch *b, const char *channel, const char *day, const char *name, int64_t delta);
/* Sets (json != NULL) or deletes a small record: accounts, sessions, channel
 * settings, canned responses, webhooks, files (kinds are the callers'). */
void rt_batch_record(rt_batch *b, const char *kind, const char *key, const char *json);
void rt_batch_program(rt_batch *b, uint64_t id, const char *flow, const void *code, size_t len);
bool rt_batch_empty(const rt_batch *b);

/* Walks the operations of a batch (for store implementations). */
typedef enum rt_op_kind {
    RT_OP_CONV, RT_OP_MSG, RT_OP_STATE, RT_OP_TIMER, RT_OP_LEAD, RT_OP_COUNTER, RT_OP_PROGRAM, RT_OP_RECORD
} rt_op_kind;
typedef struct rt_op {
    rt_op_kind kind;
    const rt_conv_rec *conv; /* RT_OP_CONV (copied into the op); a pointer so every other op stays small */
    rt_msg_rec msg;
    int64_t conversation, number, at;
    bool deal;
    const char *text, *name, *key; /* RT_OP_COUNTER: channel, name, day; RT_OP_RECORD: body, kind, key */
    const void *bytes;
    size_t len;
    struct rt_op *next;
} rt_op;
const rt_op *rt_batch_ops(const rt_batch *b);

typedef struct rt_store rt_store;

typedef bool (*rt_msg_fn)(void *ctx, const rt_msg_rec *m);
typedef bool (*rt_conv_fn)(void *ctx, const rt_conv_rec *c);
typedef bool (*rt_timer_fn)(void *ctx, int64_t conversation, int64_t due);
typedef bool (*rt_record_fn)(void *ctx, const char *key, const char *json);
typedef bool (*rt_stat_fn)(void *ctx, const char *day, const char *name, int64_t value);

typedef struct rt_lead_rec {
    int64_t id, conversation, at;
    bool deal;
    const char *source, *fields; /* fields: JSON object */
    const char *channel;
} rt_lead_rec;
typedef bool (*rt_lead_fn)(void *ctx, const rt_lead_rec *l);

/* Which conversations rt_store_ops.conversations lists. */
typedef struct rt_conv_query {
    const char *channel;        /* NULL: every channel */
    bool closed;                /* false: those not closed; true: closed ones, newest first */
    int64_t created_from, created_to; /* both 0: any time; else created_at in [from, to) */
    int limit;                  /* 0: no limit */
} rt_conv_query;

typedef struct rt_store_ops {
    /* Commits the batch atomically; blocks until it is durable. */
    bool (*commit)(rt_store *s, rt_batch *b);
    /* Reads one conversation and, when `state` is not NULL, its VM state
     * (malloc'd into *state, *state_len). */
    bool (*get_conversation)(rt_store *s, int64_t id, rt_conv_rec *out, uint8_t **state, size_t *state_len);
    /* The newest conversation of a visitor on a channel that is not closed. */
    bool (*find_open)(rt_store *s, const char *channel, const char *visitor, rt_conv_rec *out);
    /* Messages of a conversation in order, from seq `after` + 1 on. */
    bool (*messages)(rt_store *s, int64_t conversation, int64_t after, rt_msg_fn fn, void *ctx);
    /* The seq of the visitor message with this client id, or -1. */
    int64_t (*client_message)(rt_store *s, int64_t conversation, const char *client_id);
    /* Conversations with the given status, oldest queued first. */
    bool (*by_status)(rt_store *s, int status, rt_conv_fn fn, void *ctx);
    /* Timers due at or before `now`. */
    bool (*due_timers)(rt_store *s, int64_t now, rt_timer_fn fn, void *ctx);
    /* Bytecode of a program kept for running conversations (malloc'd). */
    bool (*get_program)(rt_store *s, uint64_t id, uint8_t **code, size_t *len);
    int64_t (*max_conversation_id)(rt_store *s);
    /* Conversations matching q (open ones oldest first, closed newest first). */
    bool (*conversations)(rt_store *s, const rt_conv_query *q, rt_conv_fn fn, void *ctx);
    /* One record (malloc'd JSON) or NULL. */
    char *(*get_record)(rt_store *s, const char *kind, const char *key);
    /* Every record of a kind, by key. */
    bool (*records)(rt_store *s, const char *kind, rt_record_fn fn, void *ctx);
    /* Counters of a channel for days from..to (inclusive, "YYYY-MM-DD"). */
    bool (*stats)(rt_store *s, const char *channel, const char *from, const char *to, rt_stat_fn fn, void *ctx);
    /* Leads and deals, newest first (conversation 0: all). */
    bool (*leads)(rt_store *s, int64_t conversation, rt_lead_fn fn, void *ctx);
    bool (*ping)(rt_store *s);
    /* Commit latency statistics for /metrics: count and total seconds. */
    void (*commit_stats)(rt_store *s, uint64_t *commits, double *seconds, uint64_t *batches);
    void (*close)(rt_store *s);
} rt_store_ops;

struct rt_store {
    const rt_store_ops *ops;
};

typedef struct rt_sqlite_options {
    const char *path;  /* database file */
    bool sync_full;    /* synchronous=FULL: survive power loss, not only a crash */
    int readers;       /* read connections (default 4) */
} rt_sqlite_options;

/* Opens (creating and migrating) an SQLite store; NULL with a message. */
rt_store *rt_store_sqlite_open(const rt_sqlite_options *o, char *err, size_t errlen);

#endif
