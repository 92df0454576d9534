/* rt_webhook.c - outgoing webhooks (see rt_webhook.h).
 *
 * Deliveries move through three places, all behind one mutex: `fresh`
 * (queued by emit, not yet in the store), `queue` (in the store, waiting
 * for their due time) and `inflight` (the one being attempted, outside the
 * lock). Every change to delivery records goes into one batch, `outbox`,
 * that only the delivery thread commits, before each attempt: emit never
 * waits for the disk, the store sees one commit per attempt, and the
 * records change in the order the changes were made (a delete cannot be
 * overtaken by an older write of the same record).
 *
 * civetweb's client connects with a fixed 10 s timeout, longer than the
 * per-attempt one; so every attempt first connects itself (non-blocking,
 * bounded by the attempt's deadline) to find a reachable address, and
 * civetweb then connects to that address, which answers at once.
 */
#include <civetweb.h>
#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "rt_log.h"
#include "rt_webhook.h"

static const char *const event_names[] = {"conversation.created", "handoff.requested", "conversation.assigned",
                                          "conversation.closed",  "lead.created",      "deal.created",
                                          "message.created"};
enum { N_EVENTS = sizeof event_names / sizeof event_names[0] };

#define URL_MAX 2000
#define SECRET_MAX 256
#define ID_MAX 24
/* Server certificates of https receivers are checked against these. */
#define CA_BUNDLE "/etc/ssl/certs/ca-certificates.crt"
/* A drop of a full queue is logged at most this often (seconds). */
#define DROP_LOG_EVERY 10.0

typedef struct target {
    bool tls;
    int port;
    char host[256];         /* name or address, without the [] of IPv6 */
    char hostport[270];     /* the Host header, as the URL wrote it */
    char path[URL_MAX + 2]; /* with the query */
} target;

typedef struct sub {
    char id[20];
    char *url, *secret;
    unsigned events; /* a bit per event_names entry; 0: every event, also ones added later */
    target to;
    bool failing;      /* its last attempt failed: it waits behind the healthy ones */
    uint64_t last_try; /* w->tries when it was last tried: round robin among equals */
    struct sub *next;
} sub;

typedef struct delivery {
    char id[ID_MAX];
    sub *sub; /* valid while queued: deleting a subscription takes its deliveries first */
    int event;
    char *body;
    int attempts;
    double due;   /* wall clock, so that it means the same after a restart */
    uint64_t seq; /* queue order, for equal due times */
    struct delivery *next;
} delivery;

struct rt_webhooks {
    rt_store *store;
    int max_attempts;
    double first_backoff, timeout;
    pthread_t thread;
    pthread_mutex_t lock; /* everything below */
    pthread_cond_t wake;
    bool stopping;
    sub *subs; /* oldest first */
    int nsubs; /* changed under the lock with atomic ops: rt_webhooks_any reads it without */
    delivery *fresh, *queue, *inflight;
    bool inflight_gone; /* its subscription was deleted during the attempt */
    rt_batch *outbox;   /* delivery records to write, in order */
    size_t pending;     /* fresh + queue + inflight */
    uint64_t seq, tries, delivered, failed, dropped_unlogged;
    double drop_logged_at;
};

/* What the thread needs for one attempt, copied under the lock (the
 * subscription may be deleted meanwhile). */
typedef struct job {
    target to;
    char secret[SECRET_MAX + 1];
    char error[200];
} job;

/* ---- helpers ------------------------------------------------------------------ */

static double clock_s(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double wall_now(void) { return clock_s(CLOCK_REALTIME); }
static double mono_now(void) { return clock_s(CLOCK_MONOTONIC); }

/* Milliseconds until a monotonic deadline, at least 1. */
static int ms_left(double deadline)
{
    double ms = (deadline - mono_now()) * 1000.0;
    return ms < 1.0 ? 1 : (int)ms;
}

static int event_index(const char *name)
{
    for (int i = 0; name && i < N_EVENTS; i++)
        if (strcmp(name, event_names[i]) == 0)
            return i;
    return -1;
}

/* Ids start with the time in hex so that the store's order by key is the
 * order of creation (listings, reloads); the random rest keeps them apart. */
static void new_id(char *out, size_t size, uint64_t time_part, int time_digits)
{
    uint32_t r = randombytes_random();
    snprintf(out, size, "%0*llx%08x", time_digits, (unsigned long long)time_part, r);
}

/* Writes why a request is refused; false, to return at once. */
static bool refuse(char *why, size_t whylen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static bool refuse(char *why, size_t whylen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, whylen, fmt, ap);
    va_end(ap);
    return false;
}

static int reply(char **json, int status, cJSON *o)
{
    *json = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return status;
}

static int error_reply(char **json, int status, const char *msg)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "error", msg);
    return reply(json, status, o);
}

static bool commit(rt_webhooks *w, rt_batch *b)
{
    bool ok = rt_batch_empty(b) || w->store->ops->commit(w->store, b);
    rt_batch_free(b);
    return ok;
}

/* ---- URLs --------------------------------------------------------------------- */

static bool host_chars_ok(const char *h, bool ipv6)
{
    for (; *h; h++) {
        unsigned char c = (unsigned char)*h;
        if (!(ipv6 ? isxdigit(c) || c == ':' || c == '.' : isalnum(c) || c == '-' || c == '.' || c == '_'))
            return false;
    }
    return true;
}

/* Splits "host", "host:port" or "[v6]:port" of t->hostport. */
static bool split_host_port(target *t)
{
    const char *hp = t->hostport, *end;
    bool ipv6 = hp[0] == '[';
    if (ipv6) {
        end = strchr(hp, ']');
        if (!end)
            return false;
        snprintf(t->host, sizeof t->host, "%.*s", (int)(end - hp - 1), hp + 1);
        end++;
    } else {
        end = hp + strcspn(hp, ":");
        snprintf(t->host, sizeof t->host, "%.*s", (int)(end - hp), hp);
    }
    if (!t->host[0] || !host_chars_ok(t->host, ipv6))
        return false;
    if (*end == '\0')
        return true;
    char *stop;
    long port = end[0] == ':' && isdigit((unsigned char)end[1]) ? strtol(end + 1, &stop, 10) : 0;
    if (port < 1 || port > 65535 || *stop)
        return false;
    t->port = (int)port;
    return true;
}

static bool plain_text(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s <= 0x20 || *s == 0x7f)
            return false;
    return true;
}

/* Parses an http:// or https:// URL; false with the reason. The request
 * line and the Host header are made of its parts, hence no spaces or
 * control characters anywhere. */
static bool parse_url(const char *url, target *t, char *why, size_t whylen)
{
    memset(t, 0, sizeof *t);
    t->tls = strncmp(url, "https://", 8) == 0;
    if (!t->tls && strncmp(url, "http://", 7) != 0)
        return refuse(why, whylen, "url must start with http:// or https://");
    if (strlen(url) > URL_MAX || !plain_text(url))
        return refuse(why, whylen, "url must be at most %d characters without spaces or control characters", URL_MAX);
    const char *rest = url + (t->tls ? 8 : 7);
    t->port = t->tls ? 443 : 80;
    size_t auth = strcspn(rest, "/?#");
    if (auth == 0 || auth >= sizeof t->hostport || memchr(rest, '@', auth))
        return refuse(why, whylen, "url must have a host (and no user or password)");
    memcpy(t->hostport, rest, auth);
    if (!split_host_port(t))
        return refuse(why, whylen, "url has a bad host or port");
    const char *path = rest + auth;
    int plen = (int)strcspn(path, "#");
    snprintf(t->path, sizeof t->path, "%s%.*s", path[0] == '/' ? "" : "/", plen, path);
    return true;
}

/* ---- subscriptions -------------------------------------------------------------- */

static void free_sub(sub *s)
{
    if (s) {
        free(s->url);
        free(s->secret);
        free(s);
    }
}

static bool wants(const sub *s, int event) { return s->events == 0 || (s->events & (1u << event)); }

static cJSON *sub_json(const sub *s)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", s->id);
    cJSON_AddStringToObject(o, "url", s->url);
    cJSON *events = cJSON_AddArrayToObject(o, "events");
    for (int i = 0; i < N_EVENTS; i++)
        if (s->events & (1u << i))
            cJSON_AddItemToArray(events, cJSON_CreateString(event_names[i]));
    cJSON_AddStringToObject(o, "secret", s->secret);
    return o;
}

static bool events_from_json(const cJSON *a, unsigned *events, char *why, size_t whylen)
{
    *events = 0;
    if (!a || cJSON_IsNull(a))
        return true;
    if (!cJSON_IsArray(a))
        return refuse(why, whylen, "events must be an array of event names");
    const cJSON *e;
    cJSON_ArrayForEach(e, a) {
        int i = cJSON_IsString(e) ? event_index(e->valuestring) : -1;
        if (i < 0)
            return refuse(why, whylen, "unknown event: %.80s", cJSON_IsString(e) ? e->valuestring : "(not a string)");
        *events |= 1u << i;
    }
    return true;
}

static char *random_secret(void)
{
    unsigned char raw[32];
    char *hex = malloc(sizeof raw * 2 + 1);
    randombytes_buf(raw, sizeof raw);
    if (hex)
        sodium_bin2hex(hex, sizeof raw * 2 + 1, raw, sizeof raw);
    return hex;
}

/* Fills s from a subscription's JSON (a request or a record); false with
 * the reason. A missing secret is made when `make_secret`. */
static bool sub_from_json(const cJSON *o, sub *s, bool make_secret, char *why, size_t whylen)
{
    if (!cJSON_IsObject(o))
        return refuse(why, whylen, "the body must be a JSON object");
    const cJSON *url = cJSON_GetObjectItemCaseSensitive(o, "url");
    const cJSON *secret = cJSON_GetObjectItemCaseSensitive(o, "secret");
    if (!cJSON_IsString(url))
        return refuse(why, whylen, "url is required");
    if (!parse_url(url->valuestring, &s->to, why, whylen) ||
        !events_from_json(cJSON_GetObjectItemCaseSensitive(o, "events"), &s->events, why, whylen))
        return false;
    bool has_secret = secret && !cJSON_IsNull(secret);
    if (has_secret && (!cJSON_IsString(secret) || !secret->valuestring[0] ||
                       strlen(secret->valuestring) > SECRET_MAX || !plain_text(secret->valuestring)))
        return refuse(why, whylen, "secret must be 1 to %d characters without spaces", SECRET_MAX);
    if (!has_secret && !make_secret)
        return refuse(why, whylen, "secret is missing");
    s->url = strdup(url->valuestring);
    s->secret = has_secret ? strdup(secret->valuestring) : random_secret();
    return (s->url && s->secret) || refuse(why, whylen, "out of memory");
}

static sub *find_sub_locked(rt_webhooks *w, const char *id)
{
    sub *s = w->subs;
    while (s && strcmp(s->id, id) != 0)
        s = s->next;
    return s;
}

static void append_sub_locked(rt_webhooks *w, sub *s)
{
    sub **p = &w->subs;
    while (*p)
        p = &(*p)->next;
    *p = s;
}

static sub *unlink_sub_locked(rt_webhooks *w, const char *id)
{
    for (sub **p = &w->subs; *p; p = &(*p)->next)
        if (strcmp((*p)->id, id) == 0) {
            sub *s = *p;
            *p = s->next;
            __atomic_fetch_sub(&w->nsubs, 1, __ATOMIC_RELAXED); /* rt_webhooks_any reads it unlocked */
            return s;
        }
    return NULL;
}

/* ---- deliveries ---------------------------------------------------------------- */

static void free_delivery(delivery *d)
{
    if (d) {
        free(d->body);
        free(d);
    }
}

static void free_list(delivery *d)
{
    while (d) {
        delivery *next = d->next;
        free_delivery(d);
        d = next;
    }
}

static void store_delivery(rt_batch *b, const delivery *d)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "subscription", d->sub->id);
    cJSON_AddStringToObject(o, "event", event_names[d->event]);
    cJSON_AddStringToObject(o, "body", d->body);
    cJSON_AddNumberToObject(o, "attempts", d->attempts);
    cJSON_AddNumberToObject(o, "due", d->due);
    char *json = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (json)
        rt_batch_record(b, "delivery", d->id, json);
    free(json);
}

/* A full queue drops the delivery, counted failed; the log says so at
 * most every DROP_LOG_EVERY seconds, not once per event. */
static void drop_locked(rt_webhooks *w, const sub *s, int event, double now)
{
    w->failed++;
    w->dropped_unlogged++;
    if (now - w->drop_logged_at < DROP_LOG_EVERY)
        return;
    rt_log("warn", "webhooks: %zu deliveries pending (the most kept); dropped %llu, the last %s for %s", w->pending,
           (unsigned long long)w->dropped_unlogged, event_names[event], s->url);
    w->dropped_unlogged = 0;
    w->drop_logged_at = now;
}

static void queue_locked(rt_webhooks *w, sub *s, int event, const char *data, int64_t at, double now)
{
    size_t size = strlen(data) + 128;
    delivery *d = w->pending < RT_WEBHOOK_MAX_PENDING ? calloc(1, sizeof *d) : NULL;
    char *body = d ? malloc(size) : NULL;
    if (!body) {
        free(d);
        drop_locked(w, s, event, now);
        return;
    }
    *d = (delivery){.sub = s, .event = event, .body = body, .due = now, .seq = ++w->seq, .next = w->fresh};
    new_id(d->id, sizeof d->id, (uint64_t)(now * 1000.0), 12);
    snprintf(body, size, "{\"id\":\"%s\",\"event\":\"%s\",\"at\":%lld,\"data\":%s}", d->id, event_names[event],
             (long long)at, data);
    w->fresh = d;
    w->pending++;
}

/* Removes a deleted subscription's deliveries (their records into b). */
static void drop_deliveries_locked(rt_webhooks *w, const sub *s, rt_batch *b)
{
    delivery **lists[] = {&w->fresh, &w->queue};
    for (int i = 0; i < 2; i++)
        for (delivery **p = lists[i]; *p;) {
            delivery *d = *p;
            if (d->sub != s) {
                p = &d->next;
                continue;
            }
            *p = d->next;
            if (i == 1)
                rt_batch_record(b, "delivery", d->id, NULL);
            free_delivery(d);
            w->pending--;
        }
    if (w->inflight && w->inflight->sub == s)
        w->inflight_gone = true;
}

/* ---- emit ---------------------------------------------------------------------- */

static bool anyone_wants(rt_webhooks *w, int event)
{
    pthread_mutex_lock(&w->lock);
    const sub *s = w->subs;
    while (s && !wants(s, event))
        s = s->next;
    pthread_mutex_unlock(&w->lock);
    return s != NULL;
}

static bool is_object(const char *json)
{
    cJSON *o = cJSON_ParseWithOpts(json, NULL, true);
    bool ok = cJSON_IsObject(o);
    cJSON_Delete(o);
    return ok;
}

bool rt_webhooks_any(rt_webhooks *w)
{
    /* every conversation step asks: a relaxed read, no lock (a subscription
     * made during a step may miss that step's events, as it would anyway) */
    return w && __atomic_load_n(&w->nsubs, __ATOMIC_RELAXED) > 0;
}

void rt_webhooks_emit(rt_webhooks *w, const char *event, const char *data_json, int64_t at)
{
    int ev = event_index(event);
    if (ev < 0) {
        rt_log("error", "webhooks: unknown event %s dropped", event ? event : "(null)");
        return;
    }
    if (!anyone_wants(w, ev))
        return;
    if (!data_json || strlen(data_json) > RT_WEBHOOK_MAX_DATA || !is_object(data_json)) {
        rt_log("error", "webhooks: %s dropped: its data is not a JSON object of at most %d bytes", event,
               RT_WEBHOOK_MAX_DATA);
        return;
    }
    double now = wall_now();
    pthread_mutex_lock(&w->lock);
    for (sub *s = w->subs; s; s = s->next)
        if (wants(s, ev))
            queue_locked(w, s, ev, data_json, at, now);
    pthread_cond_signal(&w->wake);
    pthread_mutex_unlock(&w->lock);
}

/* ---- one attempt (outside the lock) -------------------------------------------- */

static int await_connect(int fd, double deadline)
{
    struct pollfd p = {.fd = fd, .events = POLLOUT};
    int n;
    do
        n = poll(&p, 1, ms_left(deadline));
    while (n < 0 && errno == EINTR && mono_now() < deadline);
    if (n <= 0)
        return n == 0 ? ETIMEDOUT : errno;
    int e = 0;
    socklen_t len = sizeof e;
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len);
    return e;
}

/* Connects to one address and hangs up: 0 or an errno. */
static int probe(const struct addrinfo *ai, double deadline)
{
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0)
        return errno;
    int e = connect(fd, ai->ai_addr, ai->ai_addrlen) == 0 ? 0 : errno;
    if (e == EINPROGRESS)
        e = await_connect(fd, deadline);
    close(fd);
    return e;
}

/* The first address of the receiver that accepts a connection before the
 * deadline, as text for civetweb; false with the reason in j->error. */
static bool reachable(job *j, double deadline, char *addr, size_t addrlen)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *list = NULL;
    char port[8];
    snprintf(port, sizeof port, "%d", j->to.port);
    int rc = getaddrinfo(j->to.host, port, &hints, &list);
    if (rc != 0) {
        snprintf(j->error, sizeof j->error, "%.100s: %s", j->to.host, gai_strerror(rc));
        return false;
    }
    int e = ETIMEDOUT;
    const struct addrinfo *ai = list;
    for (; ai && mono_now() < deadline; ai = ai->ai_next)
        if ((e = probe(ai, deadline)) == 0)
            break;
    bool ok = ai && e == 0 &&
              getnameinfo(ai->ai_addr, ai->ai_addrlen, addr, (socklen_t)addrlen, NULL, 0, NI_NUMERICHOST) == 0;
    if (!ok)
        snprintf(j->error, sizeof j->error, "connect %.100s:%d: %s", j->to.host, j->to.port,
                 e == 0 ? "no usable address" : e == ETIMEDOUT ? "timed out" : strerror(e));
    freeaddrinfo(list);
    return ok;
}

static struct mg_connection *open_conn(job *j, const char *addr)
{
    char err[160] = "";
    struct mg_connection *c;
    if (j->to.tls) {
        struct mg_client_options o = {.host = addr, .port = j->to.port, .host_name = j->to.host,
                                      .server_cert = access(CA_BUNDLE, R_OK) == 0 ? CA_BUNDLE : NULL};
        c = mg_connect_client_secure(&o, err, sizeof err);
    } else {
        c = mg_connect_client(addr, j->to.port, 0, err, sizeof err);
    }
    if (!c)
        snprintf(j->error, sizeof j->error, "%s", err[0] ? err : "cannot connect");
    return c;
}

/* The signature: hex HMAC-SHA256 over "timestamp.body" keyed with the
 * secret's bytes; the timestamp inside lets receivers refuse replays. */
static void sign(const char *secret, const char *ts, const char *body, char hex[2 * crypto_auth_hmacsha256_BYTES + 1])
{
    crypto_auth_hmacsha256_state st;
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    crypto_auth_hmacsha256_init(&st, (const unsigned char *)secret, strlen(secret));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)ts, strlen(ts));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)".", 1);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)body, strlen(body));
    crypto_auth_hmacsha256_final(&st, mac);
    sodium_bin2hex(hex, 2 * crypto_auth_hmacsha256_BYTES + 1, mac, sizeof mac);
}

static bool send_request(struct mg_connection *c, const delivery *d, const job *j)
{
    char ts[24], sig[2 * crypto_auth_hmacsha256_BYTES + 1];
    snprintf(ts, sizeof ts, "%lld", (long long)time(NULL));
    sign(j->secret, ts, d->body, sig);
    size_t len = strlen(d->body);
    int n = mg_printf(c,
                      "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nUser-Agent: flowd\r\n"
                      "X-Flowd-Event: %s\r\nX-Flowd-Delivery: %s\r\nX-Flowd-Timestamp: %s\r\n"
                      "X-Flowd-Signature: sha256=%s\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
                      j->to.path, j->to.hostport, event_names[d->event], d->id, ts, sig, len);
    return n > 0 && mg_write(c, d->body, len) == (int)len;
}

/* The answer's status, or -1 when none came before the deadline. */
static int await_status(struct mg_connection *c, double deadline, job *j)
{
    char err[160] = "";
    if (mg_get_response(c, err, sizeof err, ms_left(deadline)) < 0) {
        snprintf(j->error, sizeof j->error, "no answer: %s", err[0] ? err : "timed out");
        return -1;
    }
    const struct mg_response_info *ri = mg_get_response_info(c);
    int status = ri ? ri->status_code : -1;
    snprintf(j->error, sizeof j->error, "answered %d", status);
    return status;
}

/* POSTs a delivery; the HTTP status, or -1 (j->error says why). */
static int attempt(rt_webhooks *w, const delivery *d, job *j)
{
    double deadline = mono_now() + w->timeout;
    char addr[64];
    if (!reachable(j, deadline, addr, sizeof addr))
        return -1;
    struct mg_connection *c = open_conn(j, addr);
    if (!c)
        return -1;
    int status = -1;
    if (send_request(c, d, j))
        status = await_status(c, deadline, j);
    else
        snprintf(j->error, sizeof j->error, "the request could not be sent");
    mg_close_connection(c);
    return status;
}

/* ---- the delivery thread ------------------------------------------------------- */

/* Which due delivery goes first: one of a subscription that is not
 * failing, then of the subscription tried least recently, then the oldest.
 * A receiver that is down thus holds the others up by one attempt at most. */
static bool goes_before(const delivery *a, const delivery *b)
{
    if (a->sub->failing != b->sub->failing)
        return !a->sub->failing;
    if (a->sub->last_try != b->sub->last_try)
        return a->sub->last_try < b->sub->last_try;
    if (a->due != b->due)
        return a->due < b->due;
    return a->seq < b->seq;
}

static delivery *take_due_locked(rt_webhooks *w, double now, job *j)
{
    delivery **best = NULL;
    for (delivery **p = &w->queue; *p; p = &(*p)->next)
        if ((*p)->due <= now && (!best || goes_before(*p, *best)))
            best = p;
    if (!best)
        return NULL;
    delivery *d = *best;
    *best = d->next;
    d->next = NULL;
    d->attempts++;
    d->sub->last_try = ++w->tries;
    w->inflight = d;
    w->inflight_gone = false;
    j->to = d->sub->to;
    snprintf(j->secret, sizeof j->secret, "%s", d->sub->secret);
    j->error[0] = '\0';
    return d;
}

static void save_fresh_locked(rt_webhooks *w)
{
    while (w->fresh) {
        delivery *d = w->fresh;
        w->fresh = d->next;
        store_delivery(w->outbox, d);
        d->next = w->queue;
        w->queue = d;
    }
}

static double backoff(const rt_webhooks *w, int attempts)
{
    double s = w->first_backoff * ldexp(1.0, attempts - 1);
    return s < RT_WEBHOOK_MAX_BACKOFF ? s : RT_WEBHOOK_MAX_BACKOFF;
}

/* Logs when a subscription starts or stops failing, not every attempt. */
static void note_health_locked(sub *s, bool ok, const char *error)
{
    if (ok && s->failing)
        rt_log("info", "webhook %s (%s) delivers again", s->id, s->url);
    else if (!ok && !s->failing)
        rt_log("warn", "webhook %s (%s) failing, will retry: %s", s->id, s->url, error);
    s->failing = !ok;
}

static void done_locked(rt_webhooks *w, delivery *d)
{
    rt_batch_record(w->outbox, "delivery", d->id, NULL);
    free_delivery(d);
    w->pending--;
}

static void finish_locked(rt_webhooks *w, delivery *d, int status, const char *error)
{
    bool ok = status >= 200 && status < 300;
    w->inflight = NULL;
    if (w->inflight_gone) { /* its subscription was deleted meanwhile: it counts for nobody */
        done_locked(w, d);
        return;
    }
    note_health_locked(d->sub, ok, error);
    if (ok || d->attempts >= w->max_attempts) {
        if (!ok)
            rt_log("warn", "webhook delivery %s (%s to %s) failed for good after %d attempts: %s", d->id,
                   event_names[d->event], d->sub->url, d->attempts, error);
        *(ok ? &w->delivered : &w->failed) += 1;
        done_locked(w, d);
        return;
    }
    d->due = wall_now() + backoff(w, d->attempts);
    store_delivery(w->outbox, d);
    d->next = w->queue;
    w->queue = d;
}

/* Sleeps until the next delivery is due, an emit or a stop. */
static void wait_locked(rt_webhooks *w)
{
    double due = INFINITY, now = wall_now();
    for (const delivery *d = w->queue; d; d = d->next)
        due = d->due < due ? d->due : due;
    if (w->stopping || w->fresh || !rt_batch_empty(w->outbox) || due <= now)
        return;
    due = due < now + 60.0 ? due : now + 60.0;
    struct timespec ts = {.tv_sec = (time_t)due, .tv_nsec = (long)((due - floor(due)) * 1e9)};
    pthread_cond_timedwait(&w->wake, &w->lock, &ts);
}

/* Commits what the outbox held (taken under the lock). */
static void flush(rt_webhooks *w, rt_batch *b)
{
    if (!commit(w, b))
        rt_log("error", "webhooks: deliveries could not be stored (a restart may lose or repeat some)");
}

static rt_batch *take_outbox_locked(rt_webhooks *w)
{
    rt_batch *b = w->outbox, *fresh = rt_batch_new();
    if (!fresh)
        return NULL; /* keep collecting; try again next time */
    w->outbox = fresh;
    return b;
}

static void *run(void *arg)
{
    rt_webhooks *w = arg;
    job j;
    pthread_mutex_lock(&w->lock);
    while (!w->stopping) {
        save_fresh_locked(w);
        delivery *d = take_due_locked(w, wall_now(), &j);
        rt_batch *b = take_outbox_locked(w);
        pthread_mutex_unlock(&w->lock);
        if (b)
            flush(w, b);
        int status = d ? attempt(w, d, &j) : 0;
        pthread_mutex_lock(&w->lock);
        if (d)
            finish_locked(w, d, status, j.error);
        else
            wait_locked(w);
    }
    save_fresh_locked(w);
    rt_batch *b = take_outbox_locked(w);
    pthread_mutex_unlock(&w->lock);
    if (b)
        flush(w, b);
    return NULL;
}

/* ---- loading ------------------------------------------------------------------- */

typedef struct loader {
    rt_webhooks *w;
    rt_batch *orphans; /* deliveries whose subscription is gone */
    int skipped;
} loader;

static bool load_sub(void *ctx, const char *key, const char *json)
{
    loader *l = ctx;
    cJSON *o = cJSON_Parse(json);
    sub *s = calloc(1, sizeof *s);
    char why[160];
    if (s && strlen(key) < sizeof s->id && l->w->nsubs < RT_WEBHOOK_MAX_SUBSCRIPTIONS &&
        sub_from_json(o, s, false, why, sizeof why)) {
        snprintf(s->id, sizeof s->id, "%s", key);
        append_sub_locked(l->w, s);
        __atomic_fetch_add(&l->w->nsubs, 1, __ATOMIC_RELAXED);
    } else {
        free_sub(s);
        l->skipped++;
    }
    cJSON_Delete(o);
    return true;
}

static delivery *delivery_from_json(rt_webhooks *w, const char *key, const cJSON *o)
{
    const cJSON *subid = cJSON_GetObjectItemCaseSensitive(o, "subscription");
    const cJSON *body = cJSON_GetObjectItemCaseSensitive(o, "body");
    const cJSON *attempts = cJSON_GetObjectItemCaseSensitive(o, "attempts");
    const cJSON *due = cJSON_GetObjectItemCaseSensitive(o, "due");
    int event = event_index(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "event")));
    sub *s = cJSON_IsString(subid) ? find_sub_locked(w, subid->valuestring) : NULL;
    if (!s || event < 0 || !cJSON_IsString(body) || !cJSON_IsNumber(attempts) || !cJSON_IsNumber(due) ||
        strlen(key) >= ID_MAX)
        return NULL;
    delivery *d = calloc(1, sizeof *d);
    if (d) {
        *d = (delivery){.sub = s, .event = event, .body = strdup(body->valuestring), .attempts = attempts->valueint,
                        .due = due->valuedouble, .seq = ++w->seq};
        snprintf(d->id, sizeof d->id, "%s", key);
    }
    return d;
}

static bool load_delivery(void *ctx, const char *key, const char *json)
{
    loader *l = ctx;
    if (l->w->pending >= RT_WEBHOOK_MAX_PENDING) {
        l->skipped++;
        return true;
    }
    cJSON *o = cJSON_Parse(json);
    delivery *d = delivery_from_json(l->w, key, o);
    cJSON_Delete(o);
    if (d && d->body) {
        d->next = l->w->queue;
        l->w->queue = d;
        l->w->pending++;
    } else {
        free_delivery(d);
        rt_batch_record(l->orphans, "delivery", key, NULL);
    }
    return true;
}

static bool load(rt_webhooks *w, char *err, size_t errlen)
{
    loader l = {w, rt_batch_new(), 0};
    bool ok = w->store->ops->records(w->store, "webhook", load_sub, &l) &&
              w->store->ops->records(w->store, "delivery", load_delivery, &l);
    if (!commit(w, l.orphans))
        rt_log("error", "webhooks: deliveries of deleted subscriptions could not be removed");
    if (l.skipped)
        rt_log("warn", "webhooks: skipped %d unreadable records (or over the limits)", l.skipped);
    if (!ok)
        snprintf(err, errlen, "webhooks cannot be read from the store");
    return ok;
}

/* ---- the API ------------------------------------------------------------------- */

static void free_all(rt_webhooks *w)
{
    while (w->subs) {
        sub *s = w->subs;
        w->subs = s->next;
        free_sub(s);
    }
    free_list(w->fresh);
    free_list(w->queue);
    if (w->outbox)
        rt_batch_free(w->outbox);
    pthread_cond_destroy(&w->wake);
    pthread_mutex_destroy(&w->lock);
    free(w);
}

rt_webhooks *rt_webhooks_new(const rt_webhook_options *o, char *err, size_t errlen)
{
    snprintf(err, errlen, "%s", !o || !o->store ? "webhooks need a store" : "");
    if (err[0])
        return NULL;
    if (sodium_init() < 0) {
        snprintf(err, errlen, "libsodium cannot start");
        return NULL;
    }
    /* civetweb's client needs the library set up; it is counted, and
     * never undone here: the server of the same process may still run. */
    mg_init_library(0);
    rt_webhooks *w = calloc(1, sizeof *w);
    if (!w) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    w->store = o->store;
    w->max_attempts = o->max_attempts > 0 ? o->max_attempts : 8;
    w->first_backoff = o->first_backoff > 0 ? o->first_backoff : 1.0;
    w->timeout = o->timeout > 0 ? o->timeout : 5.0;
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->wake, NULL);
    w->outbox = rt_batch_new();
    if (!w->outbox || !load(w, err, errlen) || pthread_create(&w->thread, NULL, run, w) != 0) {
        if (!err[0])
            snprintf(err, errlen, "the webhook thread cannot start");
        free_all(w);
        return NULL;
    }
    return w;
}

void rt_webhooks_free(rt_webhooks *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->lock);
    w->stopping = true;
    pthread_cond_broadcast(&w->wake);
    pthread_mutex_unlock(&w->lock);
    pthread_join(w->thread, NULL);
    free_all(w);
}

int rt_webhooks_list(rt_webhooks *w, char **json)
{
    cJSON *a = cJSON_CreateArray();
    pthread_mutex_lock(&w->lock);
    for (const sub *s = w->subs; s; s = s->next)
        cJSON_AddItemToArray(a, sub_json(s));
    pthread_mutex_unlock(&w->lock);
    return reply(json, 200, a);
}

/* Stores a new subscription, then lets emit see it. Its slot is taken
 * before the commit, so concurrent creates cannot pass the limit. */
static int add_sub(rt_webhooks *w, sub *s, char **json)
{
    pthread_mutex_lock(&w->lock);
    bool room = w->nsubs < RT_WEBHOOK_MAX_SUBSCRIPTIONS;
    __atomic_fetch_add(&w->nsubs, room ? 1 : 0, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&w->lock);
    if (!room) {
        free_sub(s);
        return error_reply(json, 400, "too many webhooks (at most 100)");
    }
    cJSON *o = sub_json(s);
    char *text = cJSON_PrintUnformatted(o);
    rt_batch *b = rt_batch_new();
    rt_batch_record(b, "webhook", s->id, text);
    free(text);
    bool ok = commit(w, b);
    pthread_mutex_lock(&w->lock);
    if (ok)
        append_sub_locked(w, s);
    else
        __atomic_fetch_sub(&w->nsubs, 1, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&w->lock);
    if (!ok) {
        free_sub(s);
        cJSON_Delete(o);
        return error_reply(json, 500, "the webhook could not be stored");
    }
    return reply(json, 201, o);
}

int rt_webhooks_create(rt_webhooks *w, const char *body, size_t len, char **json)
{
    cJSON *o = body ? cJSON_ParseWithLength(body, len) : NULL;
    sub *s = calloc(1, sizeof *s);
    char why[160] = "bad JSON";
    bool ok = o && s && sub_from_json(o, s, true, why, sizeof why);
    cJSON_Delete(o);
    if (!ok) {
        free_sub(s);
        return error_reply(json, 400, why);
    }
    new_id(s->id, sizeof s->id, (uint64_t)time(NULL), 8);
    return add_sub(w, s, json);
}

/* Forgets the subscription in the store first (a failure changes
 * nothing), then its deliveries: at once in memory, in the store with the
 * thread's next commit (a crash before it leaves records that the next
 * start removes). */
int rt_webhooks_delete(rt_webhooks *w, const char *id, char **json)
{
    pthread_mutex_lock(&w->lock);
    bool found = id && find_sub_locked(w, id);
    pthread_mutex_unlock(&w->lock);
    if (!found)
        return error_reply(json, 404, "no such webhook");
    rt_batch *b = rt_batch_new();
    rt_batch_record(b, "webhook", id, NULL);
    if (!commit(w, b))
        return error_reply(json, 500, "the webhook could not be deleted");
    pthread_mutex_lock(&w->lock);
    sub *s = unlink_sub_locked(w, id);
    if (s)
        drop_deliveries_locked(w, s, w->outbox);
    pthread_cond_signal(&w->wake);
    pthread_mutex_unlock(&w->lock);
    free_sub(s);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", id);
    cJSON_AddBoolToObject(o, "deleted", true);
    return reply(json, 200, o);
}

void rt_webhooks_counts(rt_webhooks *w, uint64_t *delivered, uint64_t *failed, uint64_t *pending)
{
    pthread_mutex_lock(&w->lock);
    if (delivered)
        *delivered = w->delivered;
    if (failed)
        *failed = w->failed;
    if (pending)
        *pending = w->pending;
    pthread_mutex_unlock(&w->lock);
}
