/* rt_web.c - the civetweb layer (see rt_web.h and docs/protocol.md).
 *
 * civetweb runs a thread per connection and a WebSocket keeps its thread for
 * life, so HTTP and WebSocket share one pool: the pool has max_visitors +
 * http_threads threads and visitor sockets beyond max_visitors are refused,
 * so sockets can never take the threads HTTP needs. Ping-pong is on so a
 * frozen client cannot hold a thread forever, and tcp_nodelay is on (its
 * default adds 40 ms to every frame).
 *
 * This file only parses and validates; every decision is the engine's.
 */
#include <civetweb.h>
#include <cjson/cJSON.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>

#include "rt_log.h"
#include "rt_web.h"
#include "vm_text.h"

#define MAX_FRAME 65536
#define MAX_TEXT_CHARS 512
#define MAX_ID_BYTES 64
#define MAX_BODY 65536
#define FRAMES_PER_SECOND 20
#define MAX_DEPTH 32 /* JSON nesting accepted; the protocol needs 2 */

struct rt_peer {
    struct mg_connection *conn;
    int64_t conversation;
    bool said_hello;
    bool debug_allowed;
    double window_start;
    int frames_in_window;
    bool corked;        /* frames wait in `out` for one write (see cork); */
    unsigned char *out; /* both under the connection's lock */
    size_t out_len, out_cap;
};

struct rt_web {
    struct mg_context *ctx;
    rt_engine *engine;
    rt_web_options opt;
    char *token;
    _Atomic int visitors;
};

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The header of a text frame of `len` bytes (FIN, text; a server's frames
 * are not masked); returns its size (at most 10). */
static size_t frame_header(unsigned char *h, size_t len)
{
    size_t n = 0;
    h[n++] = 0x80 | MG_WEBSOCKET_OPCODE_TEXT;
    if (len < 126) {
        h[n++] = (unsigned char)len;
    } else if (len <= 0xffff) {
        h[n++] = 126;
        h[n++] = (unsigned char)(len >> 8);
        h[n++] = (unsigned char)len;
    } else {
        h[n++] = 127;
        for (int i = 7; i >= 0; i--)
            h[n++] = (unsigned char)((uint64_t)len >> (8 * i));
    }
    return n;
}

/* Appends a frame to the peer's buffer; false without memory. */
static bool buffer_frame(rt_peer *p, const unsigned char *head, size_t h, const char *json, size_t len)
{
    if (p->out_len + h + len > p->out_cap) {
        size_t cap = p->out_cap ? p->out_cap : 512;
        while (cap < p->out_len + h + len)
            cap *= 2;
        unsigned char *out = realloc(p->out, cap);
        if (!out)
            return false;
        p->out = out;
        p->out_cap = cap;
    }
    memcpy(p->out + p->out_len, head, h);
    memcpy(p->out + p->out_len + h, json, len);
    p->out_len += h + len;
    return true;
}

/* One text frame in one write (mg_websocket_write sends the header and the
 * payload apart: two TCP segments with tcp_nodelay), or, while the peer is
 * corked, into its buffer. Under the connection's lock like
 * mg_websocket_write, since timers and agents write to a visitor's socket
 * from other threads. */
void rt_web_send(rt_peer *peer, const char *json, size_t len)
{
    unsigned char head[10];
    size_t h = frame_header(head, len);
    mg_lock_connection(peer->conn);
    if (!peer->corked || peer->out_len + h + len > MAX_FRAME || !buffer_frame(peer, head, h, json, len)) {
        if (peer->out_len) /* keep the order: what is buffered goes first */
            mg_write(peer->conn, peer->out, peer->out_len);
        peer->out_len = 0;
        unsigned char stack[1024];
        unsigned char *buf = h + len <= sizeof stack ? stack : malloc(h + len);
        if (buf) {
            memcpy(buf, head, h);
            memcpy(buf + h, json, len);
            mg_write(peer->conn, buf, h + len);
            if (buf != stack)
                free(buf);
        }
    }
    mg_unlock_connection(peer->conn);
}

/* While the engine handles a visitor's frame, the frames it answers with
 * (ack, messages, buttons) wait and then leave in one write: one TCP segment
 * and one wake-up of the visitor's side instead of one per frame. Frames
 * other threads send meanwhile queue behind them, in order. */
static void cork(rt_peer *p)
{
    mg_lock_connection(p->conn);
    p->corked = true;
    mg_unlock_connection(p->conn);
}

static void uncork(rt_peer *p)
{
    mg_lock_connection(p->conn);
    p->corked = false;
    if (p->out_len)
        mg_write(p->conn, p->out, p->out_len);
    p->out_len = 0;
    mg_unlock_connection(p->conn);
}

/* ---- visitor socket ----------------------------------------------------------------------- */

static void frame_error(rt_peer *p, const char *code, const char *msg, const char *id)
{
    char *json = rt_error_frame(code, msg, id);
    if (json)
        rt_web_send(p, json, strlen(json));
    free(json);
}

static int ws_connect(const struct mg_connection *conn, void *cbdata)
{
    rt_web *w = cbdata;
    if (atomic_fetch_add(&w->visitors, 1) >= w->opt.max_visitors) {
        atomic_fetch_sub(&w->visitors, 1);
        rt_log("warn", "visitor socket refused: %d visitors connected (--max-visitors)", w->opt.max_visitors);
        return 1; /* refuse: the remaining threads are HTTP's */
    }
    rt_peer *p = calloc(1, sizeof *p);
    if (!p) {
        atomic_fetch_sub(&w->visitors, 1);
        return 1;
    }
    p->conn = (struct mg_connection *)conn;
    p->window_start = now_seconds();
    mg_set_user_connection_data(conn, p);
    return 0;
}

/* Parses JSON nested at most MAX_DEPTH deep, else NULL. cJSON recurses per
 * level and civetweb's threads have small stacks (128 KB): one frame of 800
 * nested brackets crashed the server, so depth is counted before parsing. */
static cJSON *parse_json(const char *s, size_t len)
{
    int depth = 0;
    bool in_string = false;
    for (size_t i = 0; i < len; i++) {
        if (in_string && s[i] == '\\')
            i++; /* an escaped character, maybe a quote */
        else if (s[i] == '"')
            in_string = !in_string;
        else if (!in_string && (s[i] == '[' || s[i] == '{') && ++depth > MAX_DEPTH)
            return NULL;
        else if (!in_string && (s[i] == ']' || s[i] == '}'))
            depth--;
    }
    return cJSON_ParseWithLengthOpts(s, len, NULL, 0);
}

static const char *str_field(cJSON *o, const char *key)
{
    cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static bool hello(rt_web *w, rt_peer *p, cJSON *msg)
{
    rt_hello h;
    memset(&h, 0, sizeof h);
    h.channel = str_field(msg, "channel");
    h.visitor = str_field(msg, "visitor");
    h.page = str_field(msg, "page");
    h.name = str_field(msg, "name");
    h.email = str_field(msg, "email");
    const struct mg_request_info *ri = mg_get_request_info(p->conn);
    const char *ua = mg_get_header(p->conn, "User-Agent");
    h.device = ua && (strstr(ua, "iPad") || strstr(ua, "Tablet")) ? "tablet"
               : ua && strstr(ua, "Mobi")                         ? "mobile"
                                                                  : "desktop";
    (void)ri;
    if (w->opt.test_hooks) {
        if (str_field(msg, "device"))
            h.device = str_field(msg, "device");
        h.country = str_field(msg, "country");
        cJSON *r = cJSON_GetObjectItemCaseSensitive(msg, "returning");
        h.returning_given = cJSON_IsBool(r);
        h.returning = cJSON_IsTrue(r);
        h.debug = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(msg, "debug"));
    }
    if (!h.channel || !h.visitor || !h.visitor[0] || strlen(h.visitor) > MAX_ID_BYTES || strlen(h.channel) > 63 ||
        (h.page && strlen(h.page) > 2048) || (h.name && strlen(h.name) > 200) || (h.email && strlen(h.email) > 254)) {
        frame_error(p, "bad_hello", "hello needs a channel and a visitor id (at most 64 bytes)", NULL);
        return false;
    }
    char err[256];
    cork(p);
    p->conversation = rt_visitor_hello(w->engine, p, &h, err, sizeof err);
    uncork(p);
    if (!p->conversation) {
        frame_error(p, "bad_hello", err, NULL);
        return false;
    }
    p->said_hello = true;
    return true;
}

static void input(rt_web *w, rt_peer *p, cJSON *msg, const char *type)
{
    const char *id = str_field(msg, "id");
    if (!id || !id[0] || strlen(id) > MAX_ID_BYTES) {
        frame_error(p, "too_long", "every input needs an id of 1 to 64 bytes", NULL);
        return;
    }
    if (strcmp(type, "click") == 0) {
        cJSON *b = cJSON_GetObjectItemCaseSensitive(msg, "button");
        if (!cJSON_IsNumber(b) || b->valuedouble < 0 || b->valuedouble > 1000) {
            frame_error(p, "no_button", "click needs a button index", id);
            return;
        }
        cork(p);
        rt_visitor_input(w->engine, p, p->conversation, id, RT_INPUT_CLICK, NULL, 0, b->valueint);
        uncork(p);
        return;
    }
    const char *text = str_field(msg, "text");
    if (!text) {
        frame_error(p, "bad_json", "text needs a \"text\" string", id);
        return;
    }
    size_t len = strlen(text);
    if (vm_text_codepoints(text, len) > MAX_TEXT_CHARS) {
        frame_error(p, "too_long", "messages are at most 512 characters", id);
        return;
    }
    cork(p);
    rt_visitor_input(w->engine, p, p->conversation, id, RT_INPUT_TEXT, text, len, 0);
    uncork(p);
}

/* At most FRAMES_PER_SECOND frames a second per socket; the rest are
 * answered with one error each and dropped. */
static bool over_rate(rt_peer *p)
{
    double t = now_seconds();
    if (t - p->window_start >= 1.0) {
        p->window_start = t;
        p->frames_in_window = 0;
    }
    return ++p->frames_in_window > FRAMES_PER_SECOND;
}

/* Anything but a valid hello first is refused and the socket closed (1008). */
static void refuse(rt_peer *p)
{
    frame_error(p, "bad_hello", "the first frame must be a hello", NULL);
    mg_websocket_write(p->conn, MG_WEBSOCKET_OPCODE_CONNECTION_CLOSE, "\x03\xf0", 2);
}

static void handle_frame(rt_web *w, rt_peer *p, const char *data, size_t len)
{
    if (over_rate(p)) {
        frame_error(p, "rate_limited", "too many messages; slow down", NULL);
        return;
    }
    cJSON *msg = parse_json(data, len);
    if (!cJSON_IsObject(msg)) {
        if (p->said_hello)
            frame_error(p, "bad_json", "frames are JSON objects", NULL);
        else
            refuse(p); /* not even JSON is "anything else first" too */
        cJSON_Delete(msg);
        return;
    }
    const char *type = str_field(msg, "type");
    if (type && strcmp(type, "hello") == 0 && !p->said_hello) {
        if (!hello(w, p, msg))
            mg_websocket_write(p->conn, MG_WEBSOCKET_OPCODE_CONNECTION_CLOSE, "\x03\xf0", 2); /* 1008 */
    } else if (!p->said_hello) {
        refuse(p);
    } else if (type && (strcmp(type, "text") == 0 || strcmp(type, "click") == 0)) {
        input(w, p, msg, type);
    } else if (type && strcmp(type, "ping") == 0) {
        rt_web_send(p, "{\"type\":\"pong\"}", 15);
    } else {
        frame_error(p, "unknown_type", "unknown frame type", str_field(msg, "id"));
    }
    cJSON_Delete(msg);
}

static int ws_data(struct mg_connection *conn, int bits, char *data, size_t len, void *cbdata)
{
    rt_web *w = cbdata;
    rt_peer *p = mg_get_user_connection_data(conn);
    int opcode = bits & 0x0f;
    if (!p || opcode == MG_WEBSOCKET_OPCODE_CONNECTION_CLOSE)
        return 0;
    if (len > MAX_FRAME) {
        mg_websocket_write(conn, MG_WEBSOCKET_OPCODE_CONNECTION_CLOSE, "\x03\xf1", 2); /* 1009 too big */
        return 0;
    }
    if (opcode == MG_WEBSOCKET_OPCODE_TEXT)
        handle_frame(w, p, data, len);
    else if (opcode == MG_WEBSOCKET_OPCODE_BINARY && !p->said_hello)
        refuse(p);
    else if (opcode == MG_WEBSOCKET_OPCODE_BINARY)
        frame_error(p, "bad_json", "frames are JSON text", NULL);
    return 1;
}

static void ws_close(const struct mg_connection *conn, void *cbdata)
{
    rt_web *w = cbdata;
    rt_peer *p = mg_get_user_connection_data(conn);
    if (!p)
        return;
    if (p->conversation)
        rt_visitor_gone(w->engine, p, p->conversation);
    mg_set_user_connection_data(conn, NULL);
    free(p->out);
    free(p);
    atomic_fetch_sub(&w->visitors, 1);
}

/* ---- HTTP -------------------------------------------------------------------------------- */

static int reply(struct mg_connection *conn, int status, const char *type, const char *body)
{
    const char *reason = status == 200 ? "OK" : status == 400 ? "Bad Request" : status == 401 ? "Unauthorized"
                       : status == 404 ? "Not Found" : status == 405 ? "Method Not Allowed"
                       : status == 409 ? "Conflict" : status == 413 ? "Payload Too Large" : "Service Unavailable";
    size_t len = body ? strlen(body) : 0;
    mg_printf(conn,
              "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nCache-Control: no-store\r\n"
              "X-Content-Type-Options: nosniff\r\n\r\n",
              status, reason, type, len);
    if (len)
        mg_write(conn, body, len);
    return status;
}

static int reply_json(struct mg_connection *conn, int status, char *json)
{
    int rc = reply(conn, status, "application/json", json ? json : "{}");
    free(json);
    return rc;
}

static int error_json(struct mg_connection *conn, int status, const char *msg)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "error", msg);
    char *json = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return reply_json(conn, status, json);
}

static int health(struct mg_connection *conn, void *cbdata)
{
    rt_web *w = cbdata;
    return rt_engine_store_ok(w->engine) ? reply(conn, 200, "application/json", "{\"status\":\"ok\"}")
                                         : reply(conn, 503, "application/json", "{\"status\":\"store unavailable\"}");
}

static int metrics(struct mg_connection *conn, void *cbdata)
{
    rt_web *w = cbdata;
    char *text = rt_engine_metrics(w->engine);
    if (!text)
        return reply(conn, 503, "text/plain", "out of memory\n");
    char extra[256];
    snprintf(extra, sizeof extra,
             "# HELP flowd_visitor_sockets Connected visitor sockets.\n# TYPE flowd_visitor_sockets gauge\n"
             "flowd_visitor_sockets %d\n",
             atomic_load(&w->visitors));
    size_t n = strlen(text) + strlen(extra) + 1;
    char *all = malloc(n);
    if (all)
        snprintf(all, n, "%s%s", text, extra);
    free(text);
    int rc = all ? reply(conn, 200, "text/plain; version=0.0.4", all) : reply(conn, 503, "text/plain", "");
    free(all);
    return rc;
}

/* Reads the request body (at most MAX_BODY) as JSON; NULL after replying. */
static cJSON *read_body(struct mg_connection *conn, int *status)
{
    char *buf = malloc(MAX_BODY + 1); /* not on the stack: it would take half of a civetweb thread's */
    size_t n = 0;
    int got;
    if (!buf) {
        *status = error_json(conn, 503, "out of memory");
        return NULL;
    }
    while (n < MAX_BODY + 1 && (got = mg_read(conn, buf + n, MAX_BODY + 1 - n)) > 0)
        n += (size_t)got;
    cJSON *o = n > MAX_BODY ? NULL : parse_json(buf, n);
    free(buf);
    if (n > MAX_BODY) {
        *status = error_json(conn, 413, "body over 64 KB");
        return NULL;
    }
    if (!cJSON_IsObject(o)) {
        cJSON_Delete(o);
        *status = error_json(conn, 400, "the body must be a JSON object");
        return NULL;
    }
    return o;
}

/* Constant-time comparison, so the token cannot be guessed byte by byte. */
static bool same_secret(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    unsigned char diff = (unsigned char)(la != lb);
    for (size_t i = 0; i < la; i++)
        diff |= (unsigned char)(a[i] ^ b[i % (lb ? lb : 1)]);
    return diff == 0;
}

static bool authorized(rt_web *w, struct mg_connection *conn)
{
    const char *h = mg_get_header(conn, "Authorization");
    return w->token && h && strncmp(h, "Bearer ", 7) == 0 && same_secret(h + 7, w->token);
}

static int test_hook(rt_web *w, struct mg_connection *conn, const char *what)
{
    int status = 0;
    cJSON *body = read_body(conn, &status);
    if (!body)
        return status;
    int rc;
    if (strcmp(what, "clock") == 0) {
        cJSON *utc = cJSON_GetObjectItemCaseSensitive(body, "utc");
        const char *local = str_field(body, "local"), *channel = str_field(body, "channel");
        bool set = cJSON_IsNumber(utc) || (local && channel && rt_engine_set_local_clock(w->engine, channel, local));
        if (cJSON_IsNumber(utc))
            rt_engine_set_clock(w->engine, (int64_t)utc->valuedouble);
        /* before the answer: once it has it, a test sees every timer due by the new clock fired */
        rt_engine_fire_timers(w->engine);
        rc = set ? reply(conn, 200, "application/json", "{}") : error_json(conn, 400, "give utc, or local and channel");
    } else if (strcmp(what, "agents") == 0) {
        cJSON *n = cJSON_GetObjectItemCaseSensitive(body, "online");
        if (cJSON_IsNumber(n) && n->valuedouble >= 0) {
            rt_engine_set_agents(w->engine, n->valueint);
            rc = reply(conn, 200, "application/json", "{}");
        } else {
            rc = error_json(conn, 400, "give online: N");
        }
    } else {
        rc = error_json(conn, 404, "no such test hook");
    }
    cJSON_Delete(body);
    return rc;
}

static int conversation_action(rt_web *w, struct mg_connection *conn, int64_t id, const char *action)
{
    int status = 0;
    char *json = NULL;
    if (!action) {
        /* the call first: the order arguments are evaluated in is unspecified */
        status = rt_conversation(w->engine, id, &json);
        return reply_json(conn, status, json);
    }
    cJSON *body = read_body(conn, &status);
    if (!body)
        return status;
    const char *agent = str_field(body, "agent");
    const char *text = str_field(body, "text");
    if (!agent || !agent[0])
        agent = "Agent";
    if (strlen(agent) > 63) {
        cJSON_Delete(body);
        return error_json(conn, 400, "agent names are at most 63 bytes");
    }
    if (strcmp(action, "take") == 0)
        status = rt_agent_take(w->engine, id, agent, &json);
    else if (strcmp(action, "close") == 0)
        status = rt_agent_close(w->engine, id, &json);
    else if (strcmp(action, "reply") == 0 && text && text[0] && strlen(text) <= 4096)
        status = rt_agent_reply(w->engine, id, agent, text, &json);
    else if (strcmp(action, "reply") == 0)
        status = 400, json = strdup("{\"error\":\"reply needs a text of 1 to 4096 bytes\"}");
    else
        status = 404, json = strdup("{\"error\":\"no such action\"}");
    cJSON_Delete(body);
    return reply_json(conn, status, json);
}

static int api(struct mg_connection *conn, void *cbdata)
{
    rt_web *w = cbdata;
    const struct mg_request_info *ri = mg_get_request_info(conn);
    const char *path = ri->local_uri;
    bool post = strcmp(ri->request_method, "POST") == 0;
    if (w->opt.test_hooks && post && strncmp(path, "/api/test/", 10) == 0)
        return test_hook(w, conn, path + 10);
    if (!authorized(w, conn))
        return error_json(conn, 401, "unauthorized");
    char *json = NULL;
    if (strcmp(path, "/api/queue") == 0) {
        int status = rt_queue(w->engine, &json); /* before json is read (argument order is unspecified) */
        return reply_json(conn, status, json);
    }
    if (strcmp(path, "/api/presence") == 0 && post) {
        int status = 0;
        cJSON *body = read_body(conn, &status);
        if (!body)
            return status;
        const char *agent = str_field(body, "agent");
        if (!agent || !agent[0] || strlen(agent) > 63) {
            cJSON_Delete(body);
            return error_json(conn, 400, "give agent and online");
        }
        status = rt_agent_presence(w->engine, agent, cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(body, "online")),
                                   &json);
        cJSON_Delete(body);
        return reply_json(conn, status, json);
    }
    long long id;
    int used = 0;
    if (sscanf(path, "/api/conversations/%lld%n", &id, &used) == 1 && id > 0) {
        const char *rest = path + used;
        if (!*rest && !post)
            return conversation_action(w, conn, id, NULL);
        if (*rest == '/' && post)
            return conversation_action(w, conn, id, rest + 1);
    }
    return error_json(conn, 404, "no such endpoint");
}

/* ---- start and stop ------------------------------------------------------------------------ */

#ifndef PR_FUTEX_HASH
#define PR_FUTEX_HASH 78
#define PR_FUTEX_HASH_SET_SLOTS 1
#endif

/* Linux 6.16 and later give each process its own futex hash, sized by
 * CPUs, not threads: 16 buckets on 2 CPUs. With a thread per socket, the
 * thousands of idle workers wait on one futex and fill one bucket, and every
 * futex wake-up hashed to that bucket (a commit waking its connection's
 * thread) walks them all: 0.1-0.6 ms of kernel time per wake. Ask for a
 * bucket per two threads instead; older kernels refuse, which is fine. */
static void size_futex_hash(int threads)
{
    unsigned long slots = 16;
    while (slots < 2ul * (unsigned long)threads && slots < (1ul << 20))
        slots <<= 1;
    if (prctl(PR_FUTEX_HASH, PR_FUTEX_HASH_SET_SLOTS, slots, 0ul, 0ul) != 0)
        rt_log("info", "futex hash left at the kernel's default size");
}

rt_web *rt_web_start(rt_engine *e, const rt_web_options *o, char *err, size_t errlen)
{
    rt_web *w = calloc(1, sizeof *w);
    w->engine = e;
    w->opt = *o;
    w->token = o->agent_token ? strdup(o->agent_token) : NULL;
    char threads[32], ports[300];
    snprintf(threads, sizeof threads, "%d", o->max_visitors + o->http_threads);
    snprintf(ports, sizeof ports, "%s%s", o->listen, o->tls_cert ? "s" : "");
    const char *options[32];
    int n = 0;
    options[n++] = "listening_ports";
    options[n++] = ports;
    options[n++] = "num_threads";
    options[n++] = threads;
    options[n++] = "tcp_nodelay";
    options[n++] = "1";
    options[n++] = "enable_websocket_ping_pong";
    options[n++] = "yes";
    options[n++] = "websocket_timeout_ms";
    options[n++] = "30000";
    options[n++] = "request_timeout_ms";
    options[n++] = "30000";
    options[n++] = "document_root";
    options[n++] = o->web_root;
    options[n++] = "enable_directory_listing";
    options[n++] = "no";
    options[n++] = "listen_backlog";
    options[n++] = "4096";
    if (o->tls_cert) {
        options[n++] = "ssl_certificate";
        options[n++] = o->tls_cert;
    }
    options[n] = NULL;
    struct mg_callbacks cb;
    memset(&cb, 0, sizeof cb);
    struct mg_init_data init = {&cb, w, options};
    unsigned code = 0;
    struct mg_error_data error = {&code, err, errlen};
    size_futex_hash(o->max_visitors + o->http_threads);
    w->ctx = mg_start2(&init, &error);
    if (!w->ctx) {
        free(w->token);
        free(w);
        return NULL;
    }
    mg_set_request_handler(w->ctx, "/healthz", health, w);
    mg_set_request_handler(w->ctx, "/metrics", metrics, w);
    mg_set_request_handler(w->ctx, "/api/", api, w);
    mg_set_websocket_handler(w->ctx, "/ws/visitor", ws_connect, NULL, ws_data, ws_close, w);
    return w;
}

int rt_web_port(rt_web *w)
{
    struct mg_server_port ports[4];
    int n = mg_get_server_ports(w->ctx, 4, ports);
    return n > 0 ? ports[0].port : 0;
}

void rt_web_stop(rt_web *w)
{
    if (!w)
        return;
    mg_stop(w->ctx);
    free(w->token);
    free(w);
}
