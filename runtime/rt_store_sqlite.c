/* rt_store_sqlite.c - the embedded store: SQLite in WAL mode.
 *
 * Writes: one writer thread owns the only write connection. Connection
 * threads hand it batches through a queue and wait; it takes every batch
 * waiting, wraps each in a SAVEPOINT inside one transaction (so one bad
 * batch fails alone) and commits them together: one fsync-free WAL append
 * for many conversations. With synchronous=NORMAL in WAL mode a committed
 * transaction survives a crash of the process; synchronous=FULL (--sync=full)
 * also survives power loss.
 *
 * Checkpoints run on their own connection in a background thread, never on
 * the writer (wal_autocheckpoint is off on the writer).
 *
 * Reads use a small pool of read-only connections (WAL readers do not block
 * the writer). Every statement is prepared with bound parameters.
 */
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rt_store.h"

/* Schema migrations: entry i brings user_version from i to i + 1. */
static const char *const migrations[] = {
    "CREATE TABLE channels(id TEXT PRIMARY KEY, flow TEXT NOT NULL, settings TEXT NOT NULL DEFAULT '{}');"
    "CREATE TABLE programs(id TEXT PRIMARY KEY, flow TEXT NOT NULL, bytecode BLOB NOT NULL);"
    "CREATE TABLE conversations(id INTEGER PRIMARY KEY, channel TEXT NOT NULL, visitor TEXT NOT NULL,"
    "  flow TEXT NOT NULL, program TEXT NOT NULL, status INTEGER NOT NULL, outcome INTEGER NOT NULL,"
    "  team TEXT NOT NULL, agent TEXT NOT NULL, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,"
    "  queued_at INTEGER NOT NULL, last_seq INTEGER NOT NULL, facts TEXT NOT NULL);"
    "CREATE INDEX conversations_visitor ON conversations(channel, visitor, status);"
    "CREATE INDEX conversations_status ON conversations(status, queued_at);"
    "CREATE TABLE messages(conversation INTEGER NOT NULL, seq INTEGER NOT NULL, sender TEXT NOT NULL,"
    "  kind TEXT NOT NULL, body TEXT NOT NULL, client_id TEXT, created_at INTEGER NOT NULL,"
    "  PRIMARY KEY(conversation, seq)) WITHOUT ROWID;"
    "CREATE UNIQUE INDEX messages_client ON messages(conversation, client_id) WHERE client_id IS NOT NULL;"
    "CREATE TABLE states(conversation INTEGER PRIMARY KEY, bytes BLOB NOT NULL);"
    "CREATE TABLE timers(conversation INTEGER PRIMARY KEY, due INTEGER NOT NULL);"
    "CREATE INDEX timers_due ON timers(due);"
    "CREATE TABLE leads(id INTEGER PRIMARY KEY, conversation INTEGER NOT NULL, kind TEXT NOT NULL,"
    "  fields TEXT NOT NULL, created_at INTEGER NOT NULL);"
    "CREATE TABLE counters(channel TEXT NOT NULL, name TEXT NOT NULL, value INTEGER NOT NULL,"
    "  PRIMARY KEY(channel, name)) WITHOUT ROWID;",
    /* 2: the inbox's columns, records (accounts, sessions, settings...), daily
     * counters for statistics, where a lead came from */
    "ALTER TABLE conversations ADD COLUMN snoozed_until INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE conversations ADD COLUMN priority INTEGER NOT NULL DEFAULT 1;"
    "ALTER TABLE conversations ADD COLUMN tags TEXT NOT NULL DEFAULT '[]';"
    "ALTER TABLE conversations ADD COLUMN last_from TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE conversations ADD COLUMN last_text TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE conversations ADD COLUMN last_at INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE conversations ADD COLUMN waiting_since INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE conversations ADD COLUMN first_reply_at INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE conversations ADD COLUMN closed_at INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE conversations ADD COLUMN unread INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE conversations ADD COLUMN visitor_read_seq INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE conversations ADD COLUMN delivered_seq INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE conversations ADD COLUMN node TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE conversations ADD COLUMN flags INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE conversations ADD COLUMN visited TEXT NOT NULL DEFAULT '';"
    "CREATE INDEX conversations_created ON conversations(channel, created_at);"
    "CREATE TABLE records(kind TEXT NOT NULL, key TEXT NOT NULL, body TEXT NOT NULL,"
    "  PRIMARY KEY(kind, key)) WITHOUT ROWID;"
    "CREATE TABLE stats(channel TEXT NOT NULL, day TEXT NOT NULL, name TEXT NOT NULL, value INTEGER NOT NULL,"
    "  PRIMARY KEY(channel, day, name)) WITHOUT ROWID;"
    "ALTER TABLE leads ADD COLUMN source TEXT NOT NULL DEFAULT 'bot';"
    "CREATE INDEX leads_conversation ON leads(conversation);",
};

enum {
    STMT_CONV, STMT_MSG, STMT_STATE, STMT_TIMER_SET, STMT_TIMER_CLEAR, STMT_LEAD, STMT_COUNTER, STMT_PROGRAM,
    STMT_CONV_SAME, /* see apply_conv */
    STMT_RECORD_SET, STMT_RECORD_DELETE,
    STMT_SAVEPOINT, STMT_ROLLBACK_TO, STMT_RELEASE, /* around every batch: prepared once, not parsed per batch */
    NSTMT
};

/* The inbox's columns, set by both conversation statements. */
#define CONV_SET                                                                                                  \
    ", snoozed_until=?15, priority=?16, tags=?17, last_from=?18, last_text=?19, last_at=?20, waiting_since=?21," \
    " first_reply_at=?22, closed_at=?23, unread=?24, visitor_read_seq=?25, delivered_seq=?26, node=?27, flags=?28," \
    " visited=?29"

static const char *const write_sql[NSTMT] = {
    ("INSERT INTO conversations(id, channel, visitor, flow, program, status, outcome, team, agent, created_at,"
     " updated_at, queued_at, last_seq, facts, snoozed_until, priority, tags, last_from, last_text, last_at,"
     " waiting_since, first_reply_at, closed_at, unread, visitor_read_seq, delivered_seq, node, flags, visited)"
     " VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19,?20,?21,?22,?23,?24,?25,?26,?27,?28,?29)"
     " ON CONFLICT(id) DO UPDATE SET status=?6, outcome=?7, team=?8, agent=?9, updated_at=?11, queued_at=?12,"
     " last_seq=?13, facts=?14" CONV_SET),
    "INSERT INTO messages(conversation, seq, sender, kind, body, client_id, created_at) VALUES(?1,?2,?3,?4,?5,?6,?7)",
    "INSERT OR REPLACE INTO states(conversation, bytes) VALUES(?1, ?2)",
    "INSERT OR REPLACE INTO timers(conversation, due) VALUES(?1, ?2)",
    "DELETE FROM timers WHERE conversation = ?1",
    "INSERT INTO leads(conversation, kind, fields, created_at, source) VALUES(?1, ?2, ?3, ?4, ?5)",
    ("INSERT INTO stats(channel, day, name, value) VALUES(?1, ?4, ?2, ?3)"
     " ON CONFLICT(channel, day, name) DO UPDATE SET value = value + ?3"),
    "INSERT OR IGNORE INTO programs(id, flow, bytecode) VALUES(?1, ?2, ?3)",
    "UPDATE conversations SET outcome=?7, team=?8, agent=?9, updated_at=?11, last_seq=?13, facts=?14" CONV_SET
    " WHERE id=?1 AND status=?6 AND queued_at=?12",
    "INSERT OR REPLACE INTO records(kind, key, body) VALUES(?1, ?2, ?3)",
    "DELETE FROM records WHERE kind = ?1 AND key = ?2",
    "SAVEPOINT batch",
    "ROLLBACK TO batch",
    "RELEASE batch",
};

typedef struct pending {
    rt_batch *batch;
    bool done, ok;
    pthread_cond_t wake; /* its committer waits here alone: a group commit wakes only its own
                            committers, not every thread waiting for a later group */
    struct pending *next;
} pending;

typedef struct reader {
    sqlite3 *db;
    sqlite3_stmt *client_msg; /* client_message's statement, prepared once */
    bool busy;
} reader;

typedef struct sqlite_store {
    rt_store base;
    char *path;
    sqlite3 *writer;
    sqlite3_stmt *stmt[NSTMT];
    pthread_t writer_thread, checkpoint_thread;
    pthread_mutex_t lock;
    pthread_cond_t work;
    pthread_mutex_t readers_lock; /* the reader pool, apart from the writer's queue */
    pthread_cond_t reader_free;
    pthread_cond_t checkpoint_wake; /* only the checkpoint thread waits here: a commit's signal on
                                       `work` must reach the writer, never this thread */
    pending *queue_head, *queue_tail;
    bool stopping;
    reader *readers;
    int nreaders;
    uint64_t commits, batches;
    double commit_seconds;
} sqlite_store;

static double seconds_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void id_text(uint64_t id, char out[17]) { snprintf(out, 17, "%016llx", (unsigned long long)id); }

/* ---- writing ---------------------------------------------------------------- */

static bool step_done(sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_DONE;
}

static void bind_text(sqlite3_stmt *st, int i, const char *s)
{
    if (s)
        sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, i);
}

static void bind_conv(sqlite3_stmt *st, const rt_conv_rec *c, const char *prog)
{
    sqlite3_bind_int64(st, 1, c->id);
    bind_text(st, 2, c->channel);
    bind_text(st, 3, c->visitor);
    bind_text(st, 4, c->flow);
    bind_text(st, 5, prog);
    sqlite3_bind_int(st, 6, c->status);
    sqlite3_bind_int(st, 7, c->outcome);
    bind_text(st, 8, c->team);
    bind_text(st, 9, c->agent);
    sqlite3_bind_int64(st, 10, c->created_at);
    sqlite3_bind_int64(st, 11, c->updated_at);
    sqlite3_bind_int64(st, 12, c->queued_at);
    sqlite3_bind_int64(st, 13, c->last_seq);
    bind_text(st, 14, c->facts);
    sqlite3_bind_int64(st, 15, c->snoozed_until);
    sqlite3_bind_int(st, 16, c->priority);
    bind_text(st, 17, c->tags[0] ? c->tags : "[]");
    bind_text(st, 18, c->last_from);
    bind_text(st, 19, c->last_text);
    sqlite3_bind_int64(st, 20, c->last_at);
    sqlite3_bind_int64(st, 21, c->waiting_since);
    sqlite3_bind_int64(st, 22, c->first_reply_at);
    sqlite3_bind_int64(st, 23, c->closed_at);
    sqlite3_bind_int(st, 24, c->unread);
    sqlite3_bind_int64(st, 25, c->visitor_read_seq);
    sqlite3_bind_int64(st, 26, c->delivered_seq);
    bind_text(st, 27, c->node);
    sqlite3_bind_int(st, 28, c->flags);
    bind_text(st, 29, c->visited);
}

/* Most steps change neither status nor queued_at: then an UPDATE of the
 * other columns leaves the table's two indexes alone, where the upsert
 * rewrites their entries every time (it costs twice as much). */
static bool apply_conv(sqlite_store *s, const rt_conv_rec *c)
{
    char prog[17];
    id_text(c->program_id, prog);
    sqlite3_stmt *st = s->stmt[STMT_CONV_SAME];
    bind_conv(st, c, prog);
    if (!step_done(st))
        return false;
    if (sqlite3_changes(s->writer) == 1)
        return true;
    st = s->stmt[STMT_CONV]; /* a new conversation, or its status or queue time changed */
    bind_conv(st, c, prog);
    return step_done(st);
}

static bool apply_op(sqlite_store *s, const rt_op *op)
{
    sqlite3_stmt *st;
    char prog[17];
    switch (op->kind) {
    case RT_OP_CONV: return apply_conv(s, op->conv);
    case RT_OP_MSG:
        st = s->stmt[STMT_MSG];
        sqlite3_bind_int64(st, 1, op->msg.conversation);
        sqlite3_bind_int64(st, 2, op->msg.seq);
        bind_text(st, 3, op->msg.sender);
        bind_text(st, 4, op->msg.kind);
        bind_text(st, 5, op->msg.body);
        bind_text(st, 6, op->msg.client_id);
        sqlite3_bind_int64(st, 7, op->msg.at);
        return step_done(st);
    case RT_OP_STATE:
        st = s->stmt[STMT_STATE];
        sqlite3_bind_int64(st, 1, op->conversation);
        sqlite3_bind_blob(st, 2, op->bytes, (int)op->len, SQLITE_STATIC);
        return step_done(st);
    case RT_OP_TIMER:
        st = s->stmt[op->at >= 0 ? STMT_TIMER_SET : STMT_TIMER_CLEAR];
        sqlite3_bind_int64(st, 1, op->conversation);
        if (op->at >= 0)
            sqlite3_bind_int64(st, 2, op->at);
        return step_done(st);
    case RT_OP_LEAD:
        st = s->stmt[STMT_LEAD];
        sqlite3_bind_int64(st, 1, op->conversation);
        bind_text(st, 2, op->deal ? "deal" : "lead");
        bind_text(st, 3, op->text);
        sqlite3_bind_int64(st, 4, op->at);
        bind_text(st, 5, op->name ? op->name : "bot");
        return step_done(st);
    case RT_OP_COUNTER:
        st = s->stmt[STMT_COUNTER];
        bind_text(st, 1, op->text);
        bind_text(st, 2, op->name);
        sqlite3_bind_int64(st, 3, op->number);
        bind_text(st, 4, op->key ? op->key : "");
        return step_done(st);
    case RT_OP_RECORD:
        st = s->stmt[op->text ? STMT_RECORD_SET : STMT_RECORD_DELETE];
        bind_text(st, 1, op->name);
        bind_text(st, 2, op->key);
        if (op->text)
            bind_text(st, 3, op->text);
        return step_done(st);
    case RT_OP_PROGRAM:
        st = s->stmt[STMT_PROGRAM];
        id_text((uint64_t)op->number, prog);
        bind_text(st, 1, prog);
        bind_text(st, 2, op->name);
        sqlite3_bind_blob(st, 3, op->bytes, (int)op->len, SQLITE_STATIC);
        return step_done(st);
    }
    return false;
}

/* One batch inside the group transaction; rolled back alone on failure. */
static bool apply_batch(sqlite_store *s, rt_batch *b)
{
    if (!step_done(s->stmt[STMT_SAVEPOINT]))
        return false;
    bool ok = true;
    for (const rt_op *op = rt_batch_ops(b); op && ok; op = op->next)
        ok = apply_op(s, op);
    if (!ok)
        step_done(s->stmt[STMT_ROLLBACK_TO]);
    step_done(s->stmt[STMT_RELEASE]);
    return ok;
}

static void commit_group(sqlite_store *s, pending *group)
{
    double t0 = seconds_now();
    bool began = sqlite3_exec(s->writer, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK;
    uint64_t n = 0;
    for (pending *p = group; p; p = p->next, n++)
        p->ok = began && apply_batch(s, p->batch);
    bool committed = began && sqlite3_exec(s->writer, "COMMIT", NULL, NULL, NULL) == SQLITE_OK;
    if (began && !committed)
        sqlite3_exec(s->writer, "ROLLBACK", NULL, NULL, NULL);
    double t1 = seconds_now();
    pthread_mutex_lock(&s->lock);
    for (pending *p = group; p; p = p->next) {
        p->ok = p->ok && committed;
        p->done = true;
        pthread_cond_signal(&p->wake); /* p stays valid: its committer needs s->lock to return */
    }
    s->commits++;
    s->batches += n;
    s->commit_seconds += t1 - t0;
    pthread_mutex_unlock(&s->lock);
}

static void *writer_main(void *arg)
{
    sqlite_store *s = arg;
    pthread_mutex_lock(&s->lock);
    for (;;) {
        while (!s->queue_head && !s->stopping)
            pthread_cond_wait(&s->work, &s->lock);
        if (!s->queue_head && s->stopping)
            break;
        pending *group = s->queue_head;
        s->queue_head = s->queue_tail = NULL;
        pthread_mutex_unlock(&s->lock);
        commit_group(s, group);
        pthread_mutex_lock(&s->lock);
    }
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

static bool store_commit(rt_store *base, rt_batch *b)
{
    sqlite_store *s = (sqlite_store *)base;
    pending p = {.batch = b};
    pthread_cond_init(&p.wake, NULL);
    pthread_mutex_lock(&s->lock);
    if (s->stopping) {
        pthread_mutex_unlock(&s->lock);
        pthread_cond_destroy(&p.wake);
        return false;
    }
    if (s->queue_tail)
        s->queue_tail->next = &p;
    else
        s->queue_head = &p;
    s->queue_tail = &p;
    pthread_cond_signal(&s->work);
    while (!p.done)
        pthread_cond_wait(&p.wake, &s->lock);
    pthread_mutex_unlock(&s->lock);
    pthread_cond_destroy(&p.wake);
    return p.ok;
}

static void *checkpoint_main(void *arg)
{
    sqlite_store *s = arg;
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(s->path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
        sqlite3_close(db);
        return NULL;
    }
    sqlite3_busy_timeout(db, 1000);
    pthread_mutex_lock(&s->lock);
    while (!s->stopping) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += 1;
        pthread_cond_timedwait(&s->checkpoint_wake, &s->lock, &until);
        if (s->stopping)
            break;
        pthread_mutex_unlock(&s->lock);
        sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
        pthread_mutex_lock(&s->lock);
    }
    pthread_mutex_unlock(&s->lock);
    sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
    sqlite3_close(db);
    return NULL;
}

/* ---- reading -------------------------------------------------------------------- */

static sqlite3 *take_reader(sqlite_store *s, int *slot)
{
    pthread_mutex_lock(&s->readers_lock);
    for (;;) {
        for (int i = 0; i < s->nreaders; i++)
            if (!s->readers[i].busy) {
                s->readers[i].busy = true;
                *slot = i;
                pthread_mutex_unlock(&s->readers_lock);
                return s->readers[i].db;
            }
        pthread_cond_wait(&s->reader_free, &s->readers_lock);
    }
}

static void give_reader(sqlite_store *s, int slot)
{
    pthread_mutex_lock(&s->readers_lock);
    s->readers[slot].busy = false;
    pthread_cond_signal(&s->reader_free);
    pthread_mutex_unlock(&s->readers_lock);
}

/* A read on a pooled reader: query_begin takes a reader and prepares sql
 * (st is NULL when that failed), query_end finalizes and gives it back. */
typedef struct query {
    sqlite_store *s;
    int slot;
    sqlite3_stmt *st;
} query;

static query query_begin(sqlite_store *s, const char *sql)
{
    query q = {s, 0, NULL};
    sqlite3 *db = take_reader(s, &q.slot);
    if (sqlite3_prepare_v2(db, sql, -1, &q.st, NULL) != SQLITE_OK) {
        sqlite3_finalize(q.st);
        q.st = NULL;
    }
    return q;
}

static void query_end(query *q)
{
    sqlite3_finalize(q->st);
    give_reader(q->s, q->slot);
}

static void copy_col(sqlite3_stmt *st, int col, char *dst, size_t cap)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    snprintf(dst, cap, "%s", t ? (const char *)t : "");
}

static const char conv_columns[] = "id, channel, visitor, flow, program, status, outcome, team, agent, created_at,"
                                   " updated_at, queued_at, last_seq, facts, snoozed_until, priority, tags,"
                                   " last_from, last_text, last_at, waiting_since, first_reply_at, closed_at,"
                                   " unread, visitor_read_seq, delivered_seq, node, flags, visited";
enum { CONV_NCOLS = 29 };

static void read_conv(sqlite3_stmt *st, rt_conv_rec *c)
{
    memset(c, 0, sizeof *c);
    c->id = sqlite3_column_int64(st, 0);
    copy_col(st, 1, c->channel, sizeof c->channel);
    copy_col(st, 2, c->visitor, sizeof c->visitor);
    copy_col(st, 3, c->flow, sizeof c->flow);
    const unsigned char *prog = sqlite3_column_text(st, 4);
    c->program_id = prog ? strtoull((const char *)prog, NULL, 16) : 0;
    c->status = sqlite3_column_int(st, 5);
    c->outcome = sqlite3_column_int(st, 6);
    copy_col(st, 7, c->team, sizeof c->team);
    copy_col(st, 8, c->agent, sizeof c->agent);
    c->created_at = sqlite3_column_int64(st, 9);
    c->updated_at = sqlite3_column_int64(st, 10);
    c->queued_at = sqlite3_column_int64(st, 11);
    c->last_seq = sqlite3_column_int64(st, 12);
    copy_col(st, 13, c->facts, sizeof c->facts);
    c->snoozed_until = sqlite3_column_int64(st, 14);
    c->priority = sqlite3_column_int(st, 15);
    copy_col(st, 16, c->tags, sizeof c->tags);
    copy_col(st, 17, c->last_from, sizeof c->last_from);
    copy_col(st, 18, c->last_text, sizeof c->last_text);
    c->last_at = sqlite3_column_int64(st, 19);
    c->waiting_since = sqlite3_column_int64(st, 20);
    c->first_reply_at = sqlite3_column_int64(st, 21);
    c->closed_at = sqlite3_column_int64(st, 22);
    c->unread = sqlite3_column_int(st, 23);
    c->visitor_read_seq = sqlite3_column_int64(st, 24);
    c->delivered_seq = sqlite3_column_int64(st, 25);
    copy_col(st, 26, c->node, sizeof c->node);
    c->flags = sqlite3_column_int(st, 27);
    copy_col(st, 28, c->visited, sizeof c->visited);
}

static bool store_get_conversation(rt_store *base, int64_t id, rt_conv_rec *out, uint8_t **state, size_t *len)
{
    char sql[1024];
    snprintf(sql, sizeof sql,
             "SELECT %s, (SELECT bytes FROM states WHERE conversation = c.id) FROM conversations c WHERE id = ?1",
             conv_columns);
    query q = query_begin((sqlite_store *)base, sql);
    sqlite3_stmt *st = q.st;
    bool found = false;
    if (st) {
        sqlite3_bind_int64(st, 1, id);
        if (sqlite3_step(st) == SQLITE_ROW) {
            read_conv(st, out);
            found = true;
            if (state) {
                int n = sqlite3_column_bytes(st, CONV_NCOLS);
                const void *b = sqlite3_column_blob(st, CONV_NCOLS);
                *state = malloc(n ? (size_t)n : 1);
                if (*state && n)
                    memcpy(*state, b, (size_t)n);
                *len = (size_t)n;
                found = *state != NULL;
            }
        }
    }
    query_end(&q);
    return found;
}

static bool store_find_open(rt_store *base, const char *channel, const char *visitor, rt_conv_rec *out)
{
    char sql[1024];
    snprintf(sql, sizeof sql,
             "SELECT %s FROM conversations WHERE channel = ?1 AND visitor = ?2 AND status != 3 ORDER BY id DESC LIMIT 1",
             conv_columns);
    query q = query_begin((sqlite_store *)base, sql);
    sqlite3_stmt *st = q.st;
    bool found = false;
    if (st) {
        sqlite3_bind_text(st, 1, channel, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, visitor, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW) {
            read_conv(st, out);
            found = true;
        }
    }
    query_end(&q);
    return found;
}

static bool store_messages(rt_store *base, int64_t conv, int64_t after, rt_msg_fn fn, void *ctx)
{
    query q = query_begin((sqlite_store *)base, "SELECT seq, sender, kind, body, client_id, created_at FROM messages"
                                                " WHERE conversation = ?1 AND seq > ?2 ORDER BY seq");
    sqlite3_stmt *st = q.st;
    bool ok = st != NULL;
    if (ok) {
        sqlite3_bind_int64(st, 1, conv);
        sqlite3_bind_int64(st, 2, after);
        while (sqlite3_step(st) == SQLITE_ROW) {
            rt_msg_rec m = {conv,
                            sqlite3_column_int64(st, 0),
                            (const char *)sqlite3_column_text(st, 1),
                            (const char *)sqlite3_column_text(st, 2),
                            (const char *)sqlite3_column_text(st, 3),
                            (const char *)sqlite3_column_text(st, 4),
                            sqlite3_column_int64(st, 5)};
            if (!fn(ctx, &m))
                break;
        }
    }
    query_end(&q);
    return ok;
}

static int64_t store_client_message(rt_store *base, int64_t conv, const char *client_id)
{
    sqlite_store *s = (sqlite_store *)base;
    int slot;
    sqlite3 *db = take_reader(s, &slot);
    sqlite3_stmt **st = &s->readers[slot].client_msg;
    int64_t seq = -1;
    if (*st || sqlite3_prepare_v3(db, "SELECT seq FROM messages WHERE conversation = ?1 AND client_id = ?2", -1,
                                  SQLITE_PREPARE_PERSISTENT, st, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(*st, 1, conv);
        sqlite3_bind_text(*st, 2, client_id, -1, SQLITE_STATIC);
        if (sqlite3_step(*st) == SQLITE_ROW)
            seq = sqlite3_column_int64(*st, 0);
        sqlite3_reset(*st); /* ends the read transaction */
        sqlite3_clear_bindings(*st);
    }
    give_reader(s, slot);
    return seq;
}

static bool store_by_status(rt_store *base, int status, rt_conv_fn fn, void *ctx)
{
    char sql[1024];
    snprintf(sql, sizeof sql, "SELECT %s FROM conversations WHERE status = ?1 ORDER BY queued_at, id", conv_columns);
    query q = query_begin((sqlite_store *)base, sql);
    sqlite3_stmt *st = q.st;
    bool ok = st != NULL;
    if (ok) {
        sqlite3_bind_int(st, 1, status);
        while (sqlite3_step(st) == SQLITE_ROW) {
            rt_conv_rec c;
            read_conv(st, &c);
            if (!fn(ctx, &c))
                break;
        }
    }
    query_end(&q);
    return ok;
}

static bool store_due_timers(rt_store *base, int64_t now, rt_timer_fn fn, void *ctx)
{
    query q = query_begin((sqlite_store *)base, "SELECT conversation, due FROM timers WHERE due <= ?1 ORDER BY due LIMIT 1000");
    sqlite3_stmt *st = q.st;
    bool ok = st != NULL;
    int64_t ids[1000], dues[1000];
    int n = 0;
    if (ok) {
        sqlite3_bind_int64(st, 1, now);
        while (n < 1000 && sqlite3_step(st) == SQLITE_ROW) {
            ids[n] = sqlite3_column_int64(st, 0);
            dues[n++] = sqlite3_column_int64(st, 1);
        }
    }
    query_end(&q);
    /* called after the reader is back: firing a timer commits */
    for (int i = 0; i < n; i++)
        if (!fn(ctx, ids[i], dues[i]))
            break;
    return ok;
}

static bool store_get_program(rt_store *base, uint64_t id, uint8_t **code, size_t *len)
{
    char prog[17];
    id_text(id, prog);
    query q = query_begin((sqlite_store *)base, "SELECT bytecode FROM programs WHERE id = ?1");
    sqlite3_stmt *st = q.st;
    bool found = false;
    if (st) {
        sqlite3_bind_text(st, 1, prog, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW) {
            int n = sqlite3_column_bytes(st, 0);
            *code = malloc(n ? (size_t)n : 1);
            if (*code) {
                memcpy(*code, sqlite3_column_blob(st, 0), (size_t)n);
                *len = (size_t)n;
                found = true;
            }
        }
    }
    query_end(&q);
    return found;
}

static int64_t store_max_conversation_id(rt_store *base)
{
    query q = query_begin((sqlite_store *)base, "SELECT COALESCE(MAX(id), 0) FROM conversations");
    int64_t id = q.st && sqlite3_step(q.st) == SQLITE_ROW ? sqlite3_column_int64(q.st, 0) : 0;
    query_end(&q);
    return id;
}

static bool store_conversations(rt_store *base, const rt_conv_query *cq, rt_conv_fn fn, void *ctx)
{
    char sql[1280];
    snprintf(sql, sizeof sql,
             "SELECT %s FROM conversations WHERE (?1 IS NULL OR channel = ?1) AND (status = 3) = ?2"
             " AND (?3 = 0 AND ?4 = 0 OR created_at >= ?3 AND created_at < ?4)"
             " ORDER BY CASE WHEN ?2 THEN -id ELSE id END LIMIT ?5",
             conv_columns);
    query q = query_begin((sqlite_store *)base, sql);
    sqlite3_stmt *st = q.st;
    bool ok = st != NULL;
    if (ok) {
        bind_text(st, 1, cq->channel);
        sqlite3_bind_int(st, 2, cq->closed);
        sqlite3_bind_int64(st, 3, cq->created_from);
        sqlite3_bind_int64(st, 4, cq->created_to);
        sqlite3_bind_int64(st, 5, cq->limit > 0 ? cq->limit : -1);
        while (sqlite3_step(st) == SQLITE_ROW) {
            rt_conv_rec c;
            read_conv(st, &c);
            if (!fn(ctx, &c))
                break;
        }
    }
    query_end(&q);
    return ok;
}

static char *store_get_record(rt_store *base, const char *kind, const char *key)
{
    query q = query_begin((sqlite_store *)base, "SELECT body FROM records WHERE kind = ?1 AND key = ?2");
    char *out = NULL;
    if (q.st) {
        bind_text(q.st, 1, kind);
        bind_text(q.st, 2, key);
        if (sqlite3_step(q.st) == SQLITE_ROW)
            out = strdup((const char *)sqlite3_column_text(q.st, 0));
    }
    query_end(&q);
    return out;
}

static bool store_records(rt_store *base, const char *kind, rt_record_fn fn, void *ctx)
{
    query q = query_begin((sqlite_store *)base, "SELECT key, body FROM records WHERE kind = ?1 ORDER BY key");
    bool ok = q.st != NULL;
    if (ok) {
        bind_text(q.st, 1, kind);
        while (sqlite3_step(q.st) == SQLITE_ROW)
            if (!fn(ctx, (const char *)sqlite3_column_text(q.st, 0), (const char *)sqlite3_column_text(q.st, 1)))
                break;
    }
    query_end(&q);
    return ok;
}

static bool store_stats(rt_store *base, const char *channel, const char *from, const char *to, rt_stat_fn fn,
                        void *ctx)
{
    query q = query_begin((sqlite_store *)base, "SELECT day, name, value FROM stats WHERE channel = ?1"
                                                " AND day >= ?2 AND day <= ?3 ORDER BY day, name");
    bool ok = q.st != NULL;
    if (ok) {
        bind_text(q.st, 1, channel);
        bind_text(q.st, 2, from);
        bind_text(q.st, 3, to);
        while (sqlite3_step(q.st) == SQLITE_ROW)
            if (!fn(ctx, (const char *)sqlite3_column_text(q.st, 0), (const char *)sqlite3_column_text(q.st, 1),
                    sqlite3_column_int64(q.st, 2)))
                break;
    }
    query_end(&q);
    return ok;
}

static bool store_leads(rt_store *base, int64_t conversation, rt_lead_fn fn, void *ctx)
{
    query q = query_begin((sqlite_store *)base,
                          "SELECT l.id, l.conversation, l.kind, l.fields, l.created_at, l.source, c.channel"
                          " FROM leads l LEFT JOIN conversations c ON c.id = l.conversation"
                          " WHERE ?1 = 0 OR l.conversation = ?1 ORDER BY l.id DESC");
    bool ok = q.st != NULL;
    if (ok) {
        sqlite3_bind_int64(q.st, 1, conversation);
        while (sqlite3_step(q.st) == SQLITE_ROW) {
            const char *channel = (const char *)sqlite3_column_text(q.st, 6);
            rt_lead_rec l = {sqlite3_column_int64(q.st, 0),
                             sqlite3_column_int64(q.st, 1),
                             sqlite3_column_int64(q.st, 4),
                             strcmp((const char *)sqlite3_column_text(q.st, 2), "deal") == 0,
                             (const char *)sqlite3_column_text(q.st, 5),
                             (const char *)sqlite3_column_text(q.st, 3),
                             channel ? channel : ""};
            if (!fn(ctx, &l))
                break;
        }
    }
    query_end(&q);
    return ok;
}

static bool store_ping(rt_store *base)
{
    sqlite_store *s = (sqlite_store *)base;
    int slot;
    sqlite3 *db = take_reader(s, &slot);
    bool ok = sqlite3_exec(db, "SELECT 1", NULL, NULL, NULL) == SQLITE_OK;
    give_reader(s, slot);
    return ok;
}

static void store_commit_stats(rt_store *base, uint64_t *commits, double *seconds, uint64_t *batches)
{
    sqlite_store *s = (sqlite_store *)base;
    pthread_mutex_lock(&s->lock);
    *commits = s->commits;
    *seconds = s->commit_seconds;
    *batches = s->batches;
    pthread_mutex_unlock(&s->lock);
}

static void store_close(rt_store *base)
{
    sqlite_store *s = (sqlite_store *)base;
    if (!s)
        return;
    pthread_mutex_lock(&s->lock);
    s->stopping = true;
    pthread_cond_broadcast(&s->work);
    pthread_cond_broadcast(&s->checkpoint_wake);
    pthread_mutex_unlock(&s->lock);
    /* the writer finishes the batches already queued: in-flight writes land */
    pthread_join(s->writer_thread, NULL);
    pthread_join(s->checkpoint_thread, NULL);
    for (int i = 0; i < NSTMT; i++)
        sqlite3_finalize(s->stmt[i]);
    sqlite3_close(s->writer);
    for (int i = 0; i < s->nreaders; i++) {
        sqlite3_finalize(s->readers[i].client_msg);
        sqlite3_close(s->readers[i].db);
    }
    free(s->readers);
    free(s->path);
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->work);
    pthread_mutex_destroy(&s->readers_lock);
    pthread_cond_destroy(&s->reader_free);
    pthread_cond_destroy(&s->checkpoint_wake);
    free(s);
}

static const rt_store_ops sqlite_ops = {
    store_commit, store_get_conversation, store_find_open, store_messages, store_client_message,
    store_by_status, store_due_timers, store_get_program, store_max_conversation_id,
    store_conversations, store_get_record, store_records, store_stats, store_leads, store_ping,
    store_commit_stats, store_close,
};

/* ---- opening ---------------------------------------------------------------------- */

static bool migrate(sqlite3 *db, char *err, size_t errlen)
{
    sqlite3_stmt *st = NULL;
    int version = 0;
    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        version = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    int target = (int)(sizeof migrations / sizeof migrations[0]);
    if (version > target) {
        snprintf(err, errlen, "the database has schema version %d; this flowd knows up to %d", version, target);
        return false;
    }
    for (; version < target; version++) {
        char pragma[64];
        snprintf(pragma, sizeof pragma, "PRAGMA user_version = %d", version + 1);
        char *msg = NULL;
        if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK ||
            sqlite3_exec(db, migrations[version], NULL, NULL, &msg) != SQLITE_OK ||
            sqlite3_exec(db, pragma, NULL, NULL, &msg) != SQLITE_OK ||
            sqlite3_exec(db, "COMMIT", NULL, NULL, &msg) != SQLITE_OK) {
            snprintf(err, errlen, "migration %d failed: %s", version + 1, msg ? msg : sqlite3_errmsg(db));
            sqlite3_free(msg);
            sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
            return false;
        }
    }
    return true;
}

static bool open_writer(sqlite_store *s, bool sync_full, char *err, size_t errlen)
{
    if (sqlite3_open_v2(s->path, &s->writer, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK) {
        snprintf(err, errlen, "cannot open %s: %s", s->path, sqlite3_errmsg(s->writer));
        return false;
    }
    sqlite3_busy_timeout(s->writer, 5000);
    char *msg = NULL;
    /* cache_size: the pages every commit touches (the newest messages page, state and row of each busy
     * conversation) stay in the writer's cache; the default 2 MB thrashes (re-reads) at ~1,000 of them. */
    const char *pragmas = sync_full ? "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA wal_autocheckpoint=0;"
                                      " PRAGMA cache_size=-65536;"
                                    : "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA wal_autocheckpoint=0;"
                                      " PRAGMA cache_size=-65536;";
    if (sqlite3_exec(s->writer, pragmas, NULL, NULL, &msg) != SQLITE_OK) {
        snprintf(err, errlen, "cannot set up %s: %s", s->path, msg ? msg : "?");
        sqlite3_free(msg);
        return false;
    }
    if (!migrate(s->writer, err, errlen))
        return false;
    for (int i = 0; i < NSTMT; i++)
        if (sqlite3_prepare_v3(s->writer, write_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &s->stmt[i], NULL) !=
            SQLITE_OK) {
            snprintf(err, errlen, "cannot prepare statement %d: %s", i, sqlite3_errmsg(s->writer));
            return false;
        }
    return true;
}

static bool open_readers(sqlite_store *s, int n, char *err, size_t errlen)
{
    s->readers = calloc((size_t)n, sizeof *s->readers);
    if (!s->readers)
        return false;
    for (int i = 0; i < n; i++, s->nreaders++) {
        if (sqlite3_open_v2(s->path, &s->readers[i].db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) !=
            SQLITE_OK) {
            snprintf(err, errlen, "cannot open a reader on %s", s->path);
            s->nreaders++;
            return false;
        }
        sqlite3_busy_timeout(s->readers[i].db, 5000);
    }
    return true;
}

rt_store *rt_store_sqlite_open(const rt_sqlite_options *o, char *err, size_t errlen)
{
    /* No memory statistics: with them every sqlite3_malloc of every connection takes one global
     * mutex. Only possible before SQLite is first used; otherwise this fails and changes nothing. */
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    sqlite_store *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->base.ops = &sqlite_ops;
    s->path = strdup(o->path);
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->work, NULL);
    pthread_mutex_init(&s->readers_lock, NULL);
    pthread_cond_init(&s->reader_free, NULL);
    pthread_cond_init(&s->checkpoint_wake, NULL);
    bool ok = s->path && open_writer(s, o->sync_full, err, errlen) &&
              open_readers(s, o->readers > 0 ? o->readers : 4, err, errlen);
    if (ok && pthread_create(&s->writer_thread, NULL, writer_main, s) == 0) {
        if (pthread_create(&s->checkpoint_thread, NULL, checkpoint_main, s) == 0)
            return &s->base;
        s->stopping = true;
        pthread_cond_broadcast(&s->work);
        pthread_join(s->writer_thread, NULL);
    }
    for (int i = 0; i < NSTMT; i++)
        sqlite3_finalize(s->stmt[i]);
    sqlite3_close(s->writer);
    for (int i = 0; i < s->nreaders; i++)
        sqlite3_close(s->readers[i].db);
    free(s->readers);
    free(s->path);
    free(s);
    return NULL;
}
