/* test_rt_webhook.c - outgoing webhooks through rt_webhook.h on a real
 * SQLite store, delivering to civetweb receivers started here on
 * 127.0.0.1: the body, headers and signature of a delivery, filtering by
 * event, retries with growing gaps, a dead receiver (emit does not wait,
 * deliveries fail after max_attempts), a receiver that never answers (the
 * others are not held up, free stops in time), pending deliveries across a
 * restart, the bound of the queue, and the admin API's validation.
 * Only loopback traffic; every wait has a deadline. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <civetweb.h>
#include <cjson/cJSON.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sodium.h>
#include <sys/socket.h>

#include "rt_webhook.h"

#define AT 1795338000 /* the events' time: any fixed Unix time */

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void sleep_ms(int ms) { nanosleep(&(struct timespec){ms / 1000, (ms % 1000) * 1000000L}, NULL); }

/* ---- a receiver: civetweb on 127.0.0.1, port chosen by the system ------------------- */

typedef struct hit {
    char method[8], path[128], query[128], host[128], type[64], agent[64];
    char event[64], delivery[64], timestamp[32], signature[96];
    char body[2048];
    int status; /* what the receiver answered */
    double at;  /* monotonic */
} hit;

typedef struct receiver {
    struct mg_context *ctx;
    int port;
    pthread_mutex_t lock;
    int script[8], nscript; /* the first answers; after them `status` */
    int status;
    int n;
    hit hits[512];
} receiver;

static void header(struct mg_connection *c, const char *name, char *out, size_t size)
{
    const char *v = mg_get_header(c, name);
    snprintf(out, size, "%s", v ? v : "");
}

static void read_body(struct mg_connection *c, char *out, size_t size)
{
    size_t n = 0;
    int got;
    while (n + 1 < size && (got = mg_read(c, out + n, size - 1 - n)) > 0)
        n += (size_t)got;
    out[n] = '\0';
}

static int on_request(struct mg_connection *c, void *arg)
{
    receiver *r = arg;
    const struct mg_request_info *ri = mg_get_request_info(c);
    hit h;
    memset(&h, 0, sizeof h);
    snprintf(h.method, sizeof h.method, "%s", ri->request_method);
    snprintf(h.path, sizeof h.path, "%s", ri->local_uri);
    snprintf(h.query, sizeof h.query, "%s", ri->query_string ? ri->query_string : "");
    header(c, "Host", h.host, sizeof h.host);
    header(c, "Content-Type", h.type, sizeof h.type);
    header(c, "User-Agent", h.agent, sizeof h.agent);
    header(c, "X-Flowd-Event", h.event, sizeof h.event);
    header(c, "X-Flowd-Delivery", h.delivery, sizeof h.delivery);
    header(c, "X-Flowd-Timestamp", h.timestamp, sizeof h.timestamp);
    header(c, "X-Flowd-Signature", h.signature, sizeof h.signature);
    read_body(c, h.body, sizeof h.body);
    h.at = mono();
    pthread_mutex_lock(&r->lock);
    int i = r->n;
    h.status = i < r->nscript ? r->script[i] : r->status;
    if (r->n < (int)(sizeof r->hits / sizeof r->hits[0]))
        r->hits[r->n++] = h;
    pthread_mutex_unlock(&r->lock);
    mg_printf(c, "HTTP/1.1 %d Scripted\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", h.status);
    return h.status;
}

static receiver *receiver_start(void)
{
    receiver *r = calloc(1, sizeof *r);
    assert_non_null(r);
    pthread_mutex_init(&r->lock, NULL);
    r->status = 200;
    const char *options[] = {"listening_ports", "127.0.0.1:0", "num_threads", "4", NULL};
    struct mg_callbacks cb;
    memset(&cb, 0, sizeof cb);
    r->ctx = mg_start(&cb, r, options);
    assert_non_null(r->ctx);
    mg_set_request_handler(r->ctx, "/", on_request, r);
    struct mg_server_port ports[4];
    assert_true(mg_get_server_ports(r->ctx, 4, ports) >= 1);
    r->port = ports[0].port;
    assert_true(r->port > 0);
    return r;
}

static void receiver_stop(receiver *r)
{
    mg_stop(r->ctx);
    pthread_mutex_destroy(&r->lock);
    free(r);
}

/* One receiver for every test: civetweb takes ~2 s to stop once it has
 * served a request. Each test starts from an empty one that answers 200. */
static receiver *shared;

static receiver *receiver_reset(void)
{
    pthread_mutex_lock(&shared->lock);
    shared->n = shared->nscript = 0;
    shared->status = 200;
    pthread_mutex_unlock(&shared->lock);
    return shared;
}

static int hits(receiver *r)
{
    pthread_mutex_lock(&r->lock);
    int n = r->n;
    pthread_mutex_unlock(&r->lock);
    return n;
}

static bool wait_hits(receiver *r, int n, double seconds)
{
    double end = mono() + seconds;
    while (hits(r) < n && mono() < end)
        sleep_ms(5);
    return hits(r) >= n;
}

/* A port nobody listens on: bound, read, closed. */
static int dead_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    return ntohs(a.sin_port);
}

/* A receiver that takes connections (the kernel does) and never answers. */
static int silent_listener(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(fd, 128), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

/* ---- fixture: a store in a fresh directory ---------------------------------------- */

typedef struct fixture {
    char dir[64], path[96];
    rt_store *store;
    rt_webhooks *w;
} fixture;

static void open_store(fixture *f)
{
    char err[256];
    f->store = rt_store_sqlite_open(&(rt_sqlite_options){.path = f->path}, err, sizeof err);
    if (!f->store)
        fprintf(stderr, "store: %s\n", err);
    assert_non_null(f->store);
}

static void start(fixture *f, int max_attempts, double first_backoff, double timeout)
{
    char err[256] = "";
    rt_webhook_options o = {.store = f->store, .max_attempts = max_attempts, .first_backoff = first_backoff,
                            .timeout = timeout};
    f->w = rt_webhooks_new(&o, err, sizeof err);
    if (!f->w)
        fprintf(stderr, "webhooks: %s\n", err);
    assert_non_null(f->w);
}

static void stop(fixture *f)
{
    rt_webhooks_free(f->w);
    f->w = NULL;
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    snprintf(f->dir, sizeof f->dir, "/tmp/test_rt_webhook.XXXXXX");
    if (!mkdtemp(f->dir)) {
        free(f);
        return -1;
    }
    snprintf(f->path, sizeof f->path, "%s/flowd.db", f->dir);
    open_store(f);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    rt_webhooks_free(f->w);
    if (f->store)
        f->store->ops->close(f->store);
    static const char *const suffixes[] = {"", "-wal", "-shm", "-journal"};
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        char p[128];
        snprintf(p, sizeof p, "%s%s", f->path, suffixes[i]);
        unlink(p);
    }
    rmdir(f->dir);
    free(f);
    return 0;
}

/* ---- helpers ------------------------------------------------------------------------ */

/* Creates a subscription; its id into id (64 bytes). */
static void create(fixture *f, const char *body, char *id)
{
    char *json = NULL;
    int status = rt_webhooks_create(f->w, body, strlen(body), &json);
    if (status != 201)
        fprintf(stderr, "create %s: %d %s\n", body, status, json ? json : "");
    assert_int_equal(status, 201);
    cJSON *o = cJSON_Parse(json);
    const char *v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "id"));
    assert_non_null(v);
    snprintf(id, 64, "%s", v);
    cJSON_Delete(o);
    free(json);
}

static void create_for(fixture *f, receiver *r, const char *path, const char *events, char *id)
{
    char body[512];
    snprintf(body, sizeof body, "{\"url\":\"http://127.0.0.1:%d%s\",\"events\":%s,\"secret\":\"s3cret\"}",
             r->port, path, events);
    create(f, body, id);
}

typedef struct counts {
    uint64_t delivered, failed, pending;
} counts;

static counts get_counts(fixture *f)
{
    counts c;
    rt_webhooks_counts(f->w, &c.delivered, &c.failed, &c.pending);
    return c;
}

static bool wait_counts(fixture *f, uint64_t delivered, uint64_t failed, double seconds)
{
    double end = mono() + seconds;
    counts c = get_counts(f);
    while ((c.delivered < delivered || c.failed < failed) && mono() < end) {
        sleep_ms(5);
        c = get_counts(f);
    }
    return c.delivered >= delivered && c.failed >= failed;
}

static bool count_record(void *ctx, const char *key, const char *json)
{
    (void)key;
    (void)json;
    (*(int *)ctx)++;
    return true;
}

static int stored(fixture *f, const char *kind)
{
    int n = 0;
    assert_true(f->store->ops->records(f->store, kind, count_record, &n));
    return n;
}

/* The store follows the counts with the thread's next commit. */
static bool wait_stored(fixture *f, const char *kind, int n, double seconds)
{
    double end = mono() + seconds;
    while (stored(f, kind) != n && mono() < end)
        sleep_ms(5);
    return stored(f, kind) == n;
}

static void expected_signature(const char *secret, const char *ts, const char *body, char *out)
{
    crypto_auth_hmacsha256_state st;
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    crypto_auth_hmacsha256_init(&st, (const unsigned char *)secret, strlen(secret));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)ts, strlen(ts));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)".", 1);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)body, strlen(body));
    crypto_auth_hmacsha256_final(&st, mac);
    char hex[2 * sizeof mac + 1];
    sodium_bin2hex(hex, sizeof hex, mac, sizeof mac);
    sprintf(out, "sha256=%s", hex);
}

/* ---- delivery ------------------------------------------------------------------------ */

static void test_delivery_body_headers_signature(void **state)
{
    fixture *f = *state;
    receiver *r = receiver_reset();
    start(f, 8, 0.05, 2.0);
    char id[64];
    create_for(f, r, "/hooks/flowd?team=sales", "[\"message.created\"]", id);
    rt_webhooks_emit(f->w, "message.created", "{\"conversation\": 12, \"text\": \"Hi \\\"there\\\"\"}", AT);
    assert_true(wait_counts(f, 1, 0, 10));
    assert_int_equal(hits(r), 1);
    hit *h = &r->hits[0];
    assert_string_equal(h->method, "POST");
    assert_string_equal(h->path, "/hooks/flowd");
    assert_string_equal(h->query, "team=sales");
    char host[64];
    snprintf(host, sizeof host, "127.0.0.1:%d", r->port);
    assert_string_equal(h->host, host);
    assert_string_equal(h->type, "application/json");
    assert_string_equal(h->agent, "flowd");
    assert_string_equal(h->event, "message.created");

    cJSON *o = cJSON_Parse(h->body);
    assert_non_null(o);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "id")), h->delivery);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "event")), "message.created");
    assert_int_equal((int64_t)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(o, "at")), AT);
    cJSON *data = cJSON_GetObjectItemCaseSensitive(o, "data");
    assert_int_equal(cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(data, "conversation")), 12);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(data, "text")), "Hi \"there\"");
    assert_int_equal(cJSON_GetArraySize(o), 4);
    cJSON_Delete(o);

    long long ts = atoll(h->timestamp);
    assert_true(llabs(ts - (long long)time(NULL)) < 60);
    char want[96];
    expected_signature("s3cret", h->timestamp, h->body, want);
    assert_string_equal(h->signature, want);
    expected_signature("wrong", h->timestamp, h->body, want);
    assert_string_not_equal(h->signature, want);

    counts c = get_counts(f);
    assert_int_equal(c.failed, 0);
    assert_int_equal(c.pending, 0);
    assert_true(wait_stored(f, "delivery", 0, 10)); /* done: forgotten */
    stop(f);
}

static int events_at(receiver *r, const char *path, const char *event)
{
    int n = 0;
    pthread_mutex_lock(&r->lock);
    for (int i = 0; i < r->n; i++)
        n += strcmp(r->hits[i].path, path) == 0 && (!event || strcmp(r->hits[i].event, event) == 0);
    pthread_mutex_unlock(&r->lock);
    return n;
}

static void test_filter_by_event(void **state)
{
    fixture *f = *state;
    receiver *r = receiver_reset();
    start(f, 8, 0.05, 2.0);
    char a[64], b[64], c[64], d[64];
    create_for(f, r, "/a", "[\"conversation.created\"]", a);
    create_for(f, r, "/b", "[]", b); /* empty: every event */
    create_for(f, r, "/c", "[\"lead.created\",\"deal.created\"]", c);
    char body[256];
    snprintf(body, sizeof body, "{\"url\":\"http://127.0.0.1:%d/d\"}", r->port); /* omitted: every event */
    create(f, body, d);

    rt_webhooks_emit(f->w, "conversation.created", "{\"conversation\":1}", AT);
    rt_webhooks_emit(f->w, "deal.created", "{\"conversation\":1,\"value\":100}", AT);
    rt_webhooks_emit(f->w, "message.created", "{\"conversation\":1}", AT);
    rt_webhooks_emit(f->w, "no.such.event", "{}", AT);            /* a caller's bug: dropped */
    rt_webhooks_emit(f->w, "handoff.requested", "[1,2]", AT);     /* data not an object: dropped */
    rt_webhooks_emit(f->w, "handoff.requested", "{\"a\":1} x", AT); /* trailing junk: dropped */
    assert_true(wait_counts(f, 8, 0, 10));
    sleep_ms(100); /* anything more would show up by now */

    assert_int_equal(events_at(r, "/a", NULL), 1);
    assert_int_equal(events_at(r, "/a", "conversation.created"), 1);
    assert_int_equal(events_at(r, "/b", NULL), 3);
    assert_int_equal(events_at(r, "/c", NULL), 1);
    assert_int_equal(events_at(r, "/c", "deal.created"), 1);
    assert_int_equal(events_at(r, "/d", NULL), 3);
    counts n = get_counts(f);
    assert_int_equal(n.delivered, 8);
    assert_int_equal(n.failed, 0);
    assert_int_equal(n.pending, 0);
    assert_int_equal(hits(r), 8);
    stop(f);
}

/* ---- retries ------------------------------------------------------------------------- */

static void test_retries_with_growing_gaps(void **state)
{
    fixture *f = *state;
    receiver *r = receiver_reset();
    pthread_mutex_lock(&r->lock);
    r->script[0] = 500;
    r->script[1] = 500;
    r->nscript = 2;
    pthread_mutex_unlock(&r->lock);
    start(f, 8, 0.15, 2.0); /* gaps of 0.15 and 0.3 s: well above scheduling noise */
    char id[64];
    create_for(f, r, "/flaky", "[]", id);
    rt_webhooks_emit(f->w, "lead.created", "{\"email\":\"a@b.c\"}", AT);
    assert_true(wait_counts(f, 1, 0, 10));
    sleep_ms(700); /* a 4th attempt would come by now */
    assert_int_equal(hits(r), 3);
    for (int i = 1; i < 3; i++) {
        assert_string_equal(r->hits[i].delivery, r->hits[0].delivery); /* the same delivery */
        assert_string_equal(r->hits[i].body, r->hits[0].body);
    }
    double gap1 = r->hits[1].at - r->hits[0].at, gap2 = r->hits[2].at - r->hits[1].at;
    assert_true(gap1 >= 0.14); /* first_backoff, minus clock slack */
    assert_true(gap2 >= 0.29); /* doubled */
    assert_true(gap2 > gap1);
    counts c = get_counts(f);
    assert_int_equal(c.delivered, 1);
    assert_int_equal(c.failed, 0);
    assert_int_equal(c.pending, 0);
    stop(f);
}

static void test_dead_receiver(void **state)
{
    fixture *f = *state;
    start(f, 3, 0.3, 1.0);
    char body[256], id[64];
    snprintf(body, sizeof body, "{\"url\":\"http://127.0.0.1:%d/gone\"}", dead_port());
    create(f, body, id);
    double t0 = mono();
    for (int i = 0; i < 100; i++)
        rt_webhooks_emit(f->w, "message.created", "{\"conversation\":7,\"text\":\"hello\"}", AT + i);
    /* queued, none given up yet: that takes 3 attempts 0.3 and 0.6 s apart */
    assert_true(mono() - t0 < 0.5);
    counts c = get_counts(f);
    assert_int_equal(c.pending, 100);
    assert_int_equal(c.failed, 0);
    assert_true(wait_counts(f, 0, 100, 30));
    c = get_counts(f);
    assert_int_equal(c.delivered, 0);
    assert_int_equal(c.failed, 100);
    assert_int_equal(c.pending, 0);
    assert_true(wait_stored(f, "delivery", 0, 10));
}

/* A receiver that takes the connection and never answers costs each of
 * its attempts the whole timeout; another subscription's delivery waits
 * for at most the attempt in progress, and free waits for it too. */
static void test_silent_receiver_holds_nobody(void **state)
{
    fixture *f = *state;
    int silent_port;
    int fd = silent_listener(&silent_port);
    receiver *r = receiver_reset();
    start(f, 8, 30.0, 1.0);
    char body[256], slow[64], fast[64];
    snprintf(body, sizeof body, "{\"url\":\"http://127.0.0.1:%d/never\"}", silent_port);
    create(f, body, slow);
    create_for(f, r, "/fast", "[\"lead.created\"]", fast);
    rt_webhooks_emit(f->w, "message.created", "{\"conversation\":3}", AT);
    sleep_ms(100); /* the thread now waits for the silent receiver */
    double t0 = mono();
    for (int i = 0; i < 4; i++)
        rt_webhooks_emit(f->w, "message.created", "{\"conversation\":3}", AT);
    rt_webhooks_emit(f->w, "lead.created", "{\"conversation\":3}", AT); /* both subscriptions */
    assert_true(mono() - t0 < 0.5); /* emit did not wait for that attempt */
    assert_true(wait_counts(f, 1, 0, 15));
    /* one silent attempt (1 s) and slack, not six */
    assert_true(mono() - t0 < 1.0 + 2.0);
    counts c = get_counts(f);
    assert_int_equal(c.delivered, 1);
    assert_int_equal(c.pending, 6); /* the silent receiver's, none given up */

    t0 = mono();
    stop(f);
    assert_true(mono() - t0 < 1.0 + 1.5); /* within ~timeout */
    assert_int_equal(stored(f, "delivery"), 6); /* kept for the next start */
    close(fd);
}

/* A receiver whose connect hangs (its accept queue is full, so the kernel
 * drops our SYN): the attempt still ends with the per-attempt timeout, not
 * with civetweb's own 10 s connect timeout. */
static void test_hanging_connect_ends_with_timeout(void **state)
{
    fixture *f = *state;
    int fd = socket(AF_INET, SOCK_STREAM, 0), filler = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(fd, 0), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    assert_int_equal(connect(filler, (struct sockaddr *)&a, sizeof a), 0); /* fills the queue */
    start(f, 1, 1.0, 0.3);
    char body[256], id[64];
    snprintf(body, sizeof body, "{\"url\":\"http://127.0.0.1:%d/stuck\"}", ntohs(a.sin_port));
    create(f, body, id);
    double t0 = mono();
    rt_webhooks_emit(f->w, "conversation.created", "{\"conversation\":4}", AT);
    assert_true(wait_counts(f, 0, 1, 15));
    assert_true(mono() - t0 < 0.3 + 3.0); /* civetweb alone would take 10 s */
    close(filler);
    close(fd);
}

/* ---- restarts and limits ------------------------------------------------------------- */

static bool received_ok(receiver *r, const char *delivery)
{
    bool found = false;
    pthread_mutex_lock(&r->lock);
    for (int i = 0; i < r->n; i++)
        found |= r->hits[i].status == 200 && strcmp(r->hits[i].delivery, delivery) == 0;
    pthread_mutex_unlock(&r->lock);
    return found;
}

static void test_pending_survive_restart(void **state)
{
    fixture *f = *state;
    receiver *r = receiver_reset();
    pthread_mutex_lock(&r->lock);
    r->status = 503;
    pthread_mutex_unlock(&r->lock);
    start(f, 8, 0.05, 1.0);
    char id[64];
    create_for(f, r, "/later", "[]", id);
    for (int i = 0; i < 3; i++)
        rt_webhooks_emit(f->w, "conversation.closed", "{\"conversation\":9}", AT);
    assert_true(wait_hits(r, 3, 10)); /* each tried once, refused */
    rt_webhooks_emit(f->w, "conversation.assigned", "{\"conversation\":9}", AT);
    rt_webhooks_emit(f->w, "handoff.requested", "{\"conversation\":9}", AT);
    stop(f); /* at once: the last two may not even be stored yet */
    assert_int_equal(stored(f, "delivery"), 5);

    pthread_mutex_lock(&r->lock);
    int before = r->n;
    char seen[3][64];
    for (int i = 0; i < 3; i++)
        snprintf(seen[i], sizeof seen[i], "%s", r->hits[i].delivery);
    r->status = 200;
    pthread_mutex_unlock(&r->lock);

    f->store->ops->close(f->store); /* a restart */
    open_store(f);
    start(f, 8, 0.05, 1.0);
    counts c = get_counts(f);
    assert_true(c.pending + c.delivered == 5);
    assert_true(wait_counts(f, 5, 0, 10));
    for (int i = 0; i < 3; i++)
        assert_true(received_ok(r, seen[i]));
    assert_true(hits(r) >= before + 5);
    assert_int_equal(events_at(r, "/later", "handoff.requested"), 1);
    assert_true(wait_stored(f, "delivery", 0, 10));
    char *json = NULL;
    assert_int_equal(rt_webhooks_list(f->w, &json), 200);
    assert_non_null(strstr(json, id)); /* the subscription came back too */
    free(json);
    stop(f);
}

static void test_queue_is_bounded(void **state)
{
    fixture *f = *state;
    int silent_port;
    int fd = silent_listener(&silent_port);
    start(f, 8, 60.0, 0.3);
    char body[256], id[64];
    snprintf(body, sizeof body, "{\"url\":\"http://127.0.0.1:%d/full\"}", silent_port);
    create(f, body, id);
    for (int i = 0; i < RT_WEBHOOK_MAX_PENDING + 50; i++)
        rt_webhooks_emit(f->w, "message.created", "{\"conversation\":1}", AT);
    counts c = get_counts(f);
    assert_int_equal(c.pending, RT_WEBHOOK_MAX_PENDING);
    assert_int_equal(c.failed, 50);
    stop(f);
    assert_int_equal(stored(f, "delivery"), RT_WEBHOOK_MAX_PENDING);
    close(fd);
}

/* ---- the admin API -------------------------------------------------------------------- */

static void expect_400(fixture *f, const char *body, const char *words)
{
    char *json = NULL;
    int status = rt_webhooks_create(f->w, body, strlen(body), &json);
    if (status != 400 || !strstr(json, words))
        fprintf(stderr, "create %s: %d %s\n", body, status, json ? json : "");
    assert_int_equal(status, 400);
    assert_non_null(strstr(json, "\"error\""));
    assert_non_null(strstr(json, words));
    free(json);
}

static void test_admin_validation(void **state)
{
    fixture *f = *state;
    start(f, 0, 0, 0); /* the defaults */
    expect_400(f, "{\"url\":", "bad JSON");
    expect_400(f, "[]", "JSON object");
    expect_400(f, "{}", "url is required");
    expect_400(f, "{\"url\":42}", "url is required");
    expect_400(f, "{\"url\":\"ftp://example.com/x\"}", "http:// or https://");
    expect_400(f, "{\"url\":\"example.com/x\"}", "http:// or https://");
    expect_400(f, "{\"url\":\"http://\"}", "host");
    expect_400(f, "{\"url\":\"http:///path\"}", "host");
    expect_400(f, "{\"url\":\"http://user:pw@example.com/\"}", "host");
    expect_400(f, "{\"url\":\"http://example.com:0/\"}", "port");
    expect_400(f, "{\"url\":\"http://example.com:99999/\"}", "port");
    expect_400(f, "{\"url\":\"http://example.com:80x/\"}", "port");
    expect_400(f, "{\"url\":\"http://exa mple.com/\"}", "spaces");
    expect_400(f, "{\"url\":\"http://example.com/a\\r\\nX-Evil: 1\"}", "control");
    expect_400(f, "{\"url\":\"http://example.com/\",\"events\":[\"lead.created\",\"lead.deleted\"]}",
               "unknown event: lead.deleted");
    expect_400(f, "{\"url\":\"http://example.com/\",\"events\":[1]}", "unknown event");
    expect_400(f, "{\"url\":\"http://example.com/\",\"events\":\"lead.created\"}", "array");
    expect_400(f, "{\"url\":\"http://example.com/\",\"secret\":\"\"}", "secret");
    expect_400(f, "{\"url\":\"http://example.com/\",\"secret\":7}", "secret");
    assert_int_equal(stored(f, "webhook"), 0);

    /* omitted events and secret: every event, a random 32-byte hex secret */
    char *json = NULL;
    const char *plain = "{\"url\":\"https://hooks.example.com/flowd\"}";
    assert_int_equal(rt_webhooks_create(f->w, plain, strlen(plain), &json), 201);
    cJSON *o = cJSON_Parse(json);
    const char *id1 = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "id"));
    assert_non_null(id1);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "url")),
                        "https://hooks.example.com/flowd");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(o, "events")), 0);
    const char *secret = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "secret"));
    assert_non_null(secret);
    assert_int_equal(strlen(secret), 64);
    assert_int_equal(strspn(secret, "0123456789abcdef"), 64);
    char first[64];
    snprintf(first, sizeof first, "%s", id1);
    char *record = f->store->ops->get_record(f->store, "webhook", first);
    assert_non_null(record); /* stored */
    free(record);
    cJSON_Delete(o);
    free(json);

    char second[64];
    create(f, "{\"url\":\"http://[::1]:8080/x?y=1\",\"events\":[\"deal.created\",\"lead.created\"],"
              "\"secret\":\"abc\"}",
           second);
    assert_int_equal(rt_webhooks_list(f->w, &json), 200);
    o = cJSON_Parse(json);
    assert_int_equal(cJSON_GetArraySize(o), 2);
    cJSON *s2 = cJSON_GetArrayItem(o, 1); /* oldest first */
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(s2, "id")), second);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(s2, "url")),
                        "http://[::1]:8080/x?y=1");
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(s2, "secret")), "abc");
    cJSON *events = cJSON_GetObjectItemCaseSensitive(s2, "events");
    assert_int_equal(cJSON_GetArraySize(events), 2);
    assert_string_equal(cJSON_GetArrayItem(events, 0)->valuestring, "lead.created");
    assert_string_equal(cJSON_GetArrayItem(events, 1)->valuestring, "deal.created");
    cJSON_Delete(o);
    free(json);

    assert_int_equal(rt_webhooks_delete(f->w, "nope", &json), 404);
    assert_non_null(strstr(json, "\"error\""));
    free(json);
    assert_int_equal(rt_webhooks_delete(f->w, first, &json), 200);
    free(json);
    assert_int_equal(rt_webhooks_delete(f->w, first, &json), 404);
    free(json);
    assert_null(f->store->ops->get_record(f->store, "webhook", first));

    stop(f); /* a restart keeps the one left */
    start(f, 0, 0, 0);
    assert_int_equal(rt_webhooks_list(f->w, &json), 200);
    o = cJSON_Parse(json);
    assert_int_equal(cJSON_GetArraySize(o), 1);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(o, 0), "id")),
                        second);
    cJSON_Delete(o);
    free(json);
}

/* Deleting a subscription drops its pending deliveries, from memory and
 * from the store. */
static void test_delete_drops_pending(void **state)
{
    fixture *f = *state;
    start(f, 8, 30.0, 1.0);
    char body[256], id[64];
    snprintf(body, sizeof body, "{\"url\":\"http://127.0.0.1:%d/gone\"}", dead_port());
    create(f, body, id);
    for (int i = 0; i < 4; i++)
        rt_webhooks_emit(f->w, "message.created", "{\"conversation\":2}", AT);
    assert_true(wait_stored(f, "delivery", 4, 10));
    char *json = NULL;
    assert_int_equal(rt_webhooks_delete(f->w, id, &json), 200);
    free(json);
    assert_int_equal(get_counts(f).pending, 0); /* in memory at once */
    assert_int_equal(stored(f, "webhook"), 0);
    assert_true(wait_stored(f, "delivery", 0, 10)); /* in the store with the thread's next commit */
}

static int group_setup(void **state)
{
    (void)state;
    shared = receiver_start();
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    receiver_stop(shared);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_delivery_body_headers_signature, setup, teardown),
        cmocka_unit_test_setup_teardown(test_filter_by_event, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retries_with_growing_gaps, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dead_receiver, setup, teardown),
        cmocka_unit_test_setup_teardown(test_silent_receiver_holds_nobody, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hanging_connect_ends_with_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pending_survive_restart, setup, teardown),
        cmocka_unit_test_setup_teardown(test_queue_is_bounded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_admin_validation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete_drops_pending, setup, teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
