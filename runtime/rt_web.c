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
#include "rt_web_internal.h"
#include "vm_text.h"

#define MAX_FRAME 65536
#define MAX_TEXT_CHARS 512
#define MAX_ID_BYTES 64
#define FRAMES_PER_SECOND 20

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
cJSON *rt_http_parse_json(const char *s, size_t len)
{
    int depth = 0;
    bool in_string = false;
    for (size_t i = 0; i < len; i++) {
        if (in_string && s[i] == '\\')
            i++; /* an escaped character, maybe a quote */
        else if (s[i] == '"')
            in_string = !in_string;
        else if (!in_string && (s[i] == '[' || s[i] == '{') && ++depth > RT_MAX_DEPTH)
            return NULL;
        else if (!in_string && (s[i] == ']' || s[i] == '}'))
            depth--;
    }
    return cJSON_ParseWithLengthOpts(s, len, NULL, 0);
}

const char *rt_json_str(cJSON *o, const char *key)
{
    cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static bool hello(rt_web *w, rt_peer *p, cJSON *msg)
{
    rt_hello h;
    memset(&h, 0, sizeof h);
    h.channel = rt_json_str(msg, "channel");
    h.visitor = rt_json_str(msg, "visitor");
    h.page = rt_json_str(msg, "page");
    h.name = rt_json_str(msg, "name");
    h.email = rt_json_str(msg, "email");
    h.user_id = rt_json_str(msg, "user_id");
    h.user_hash = rt_json_str(msg, "user_hash");
    h.subject = rt_json_str(msg, "subject");
    h.message = rt_json_str(msg, "message");
    const struct mg_request_info *ri = mg_get_request_info(p->conn);
    const char *ua = mg_get_header(p->conn, "User-Agent");
    h.device = ua && (strstr(ua, "iPad") || strstr(ua, "Tablet")) ? "tablet"
               : ua && strstr(ua, "Mobi")                         ? "mobile"
                                                                  : "desktop";
    char country[3];
    if (rt_geo_country(w->geo, ri->remote_addr, country))
        h.country = country;
    if (w->opt.test_hooks) {
        if (rt_json_str(msg, "device"))
            h.device = rt_json_str(msg, "device");
        if (rt_json_str(msg, "country"))
            h.country = rt_json_str(msg, "country");
        cJSON *r = cJSON_GetObjectItemCaseSensitive(msg, "returning");
        h.returning_given = cJSON_IsBool(r);
        h.returning = cJSON_IsTrue(r);
        h.debug = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(msg, "debug"));
    }
    h.resume_only = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(msg, "resume_only"));
    if (!h.channel || !h.visitor || !h.visitor[0] || strlen(h.visitor) > MAX_ID_BYTES || strlen(h.channel) > 63 ||
        (h.page && strlen(h.page) > 2048) || (h.name && strlen(h.name) > 200) || (h.email && strlen(h.email) > 254) ||
        (h.user_id && strlen(h.user_id) > 256) || (h.user_hash && strlen(h.user_hash) > 128) ||
        (h.subject && strlen(h.subject) > 200) ||
        (h.message && vm_text_codepoints(h.message, strlen(h.message)) > MAX_TEXT_CHARS)) {
        frame_error(p, "bad_hello", "hello needs a channel and a visitor id (at most 64 bytes)", NULL);
        return false;
    }
    char err[256];
    cork(p);
    p->conversation = rt_visitor_hello(w->engine, p, &h, err, sizeof err);
    uncork(p);
    if (!p->conversation && strcmp(err, "none") == 0)
        return true; /* resume_only and nothing open: a later hello may start one */
    if (!p->conversation) {
        if (strcmp(err, "bad_identity") == 0)
            frame_error(p, "bad_identity", "the signed user id is missing or does not match", NULL);
        else
            frame_error(p, "bad_hello", err, NULL);
        return false;
    }
    p->said_hello = true;
    return true;
}

static void input(rt_web *w, rt_peer *p, cJSON *msg, const char *type)
{
    const char *id = rt_json_str(msg, "id");
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
    const char *text = rt_json_str(msg, "text");
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

static bool limited(const char *s, size_t max) { return s && strlen(s) <= max; }

/* The visitor frames of docs/api.md beyond text and click; false for an
 * unknown type. */
static bool other_frame(rt_web *w, rt_peer *p, cJSON *msg, const char *type)
{
    rt_engine *e = w->engine;
    if (strcmp(type, "typing") == 0)
        rt_visitor_typing(e, p->conversation, cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(msg, "typing")));
    else if (strcmp(type, "read") == 0)
        rt_visitor_read(e, p->conversation, (int64_t)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(msg, "seq")));
    else if (strcmp(type, "window") == 0)
        rt_visitor_window(e, p->conversation, cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(msg, "open")));
    else if (strcmp(type, "page") == 0 && limited(rt_json_str(msg, "page"), 2048))
        rt_visitor_page(e, p->conversation, rt_json_str(msg, "page"));
    else if (strcmp(type, "end") == 0) {
        cork(p);
        rt_visitor_end(e, p, p->conversation);
        uncork(p);
    } else if (strcmp(type, "offline_form") == 0) {
        const char *name = rt_json_str(msg, "name"), *email = rt_json_str(msg, "email");
        const char *text = rt_json_str(msg, "message");
        if (!limited(name, 200) || !limited(email, 254) || !text ||
            vm_text_codepoints(text, strlen(text)) > MAX_TEXT_CHARS || !strchr(email, '@'))
            frame_error(p, "bad_form", "the form needs a name, a valid email and a message of at most 512 characters",
                        NULL);
        else {
            cork(p);
            rt_visitor_offline_form(e, p, p->conversation, name, email, text);
            uncork(p);
        }
    } else if (strcmp(type, "page") == 0) {
        frame_error(p, "too_long", "pages are at most 2048 bytes", NULL);
    } else
        return false;
    return true;
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
    cJSON *msg = rt_http_parse_json(data, len);
    if (over_rate(p)) { /* the dropped frame's id, so the client knows what to send again */
        const char *id = rt_json_str(msg, "id");
        frame_error(p, "rate_limited", "too many messages; slow down", id && strlen(id) <= MAX_ID_BYTES ? id : NULL);
        cJSON_Delete(msg);
        return;
    }
    if (!cJSON_IsObject(msg)) {
        if (p->said_hello)
            frame_error(p, "bad_json", "frames are JSON objects", NULL);
        else
            refuse(p); /* not even JSON is "anything else first" too */
        cJSON_Delete(msg);
        return;
    }
    const char *type = rt_json_str(msg, "type");
    if (type && strcmp(type, "hello") == 0 && !p->said_hello) {
        if (!hello(w, p, msg))
            mg_websocket_write(p->conn, MG_WEBSOCKET_OPCODE_CONNECTION_CLOSE, "\x03\xf0", 2); /* 1008 */
    } else if (!p->said_hello) {
        refuse(p);
    } else if (type && (strcmp(type, "text") == 0 || strcmp(type, "click") == 0)) {
        input(w, p, msg, type);
    } else if (type && strcmp(type, "ping") == 0) {
        rt_web_send(p, "{\"type\":\"pong\"}", 15);
    } else if (type && other_frame(w, p, msg, type)) {
        /* handled */
    } else {
        frame_error(p, "unknown_type", "unknown frame type", rt_json_str(msg, "id"));
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

static const char *reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
    case 429: return "Too Many Requests";
    default: return "Service Unavailable";
    }
}

int rt_http_reply(struct mg_connection *conn, int status, const char *type, const char *body, const char *extra_headers)
{
    size_t len = body ? strlen(body) : 0;
    mg_printf(conn,
              "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nCache-Control: no-store\r\n"
              "X-Content-Type-Options: nosniff\r\nConnection: close\r\n%s\r\n",
              status, reason(status), type, len, extra_headers ? extra_headers : "");
    if (len)
        mg_write(conn, body, len);
    return status;
}

static int reply(struct mg_connection *conn, int status, const char *type, const char *body)
{
    return rt_http_reply(conn, status, type, body, NULL);
}

int rt_http_json(struct mg_connection *conn, int status, char *json)
{
    int rc = reply(conn, status, "application/json", json ? json : "{}");
    free(json);
    return rc;
}

int rt_http_error(struct mg_connection *conn, int status, const char *msg)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "error", msg);
    char *json = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return rt_http_json(conn, status, json);
}

char *rt_http_body(struct mg_connection *conn, size_t max, size_t *len, int *status)
{
    char *buf = malloc(max + 1); /* not on the stack: it would take half of a civetweb thread's */
    size_t n = 0;
    int got;
    if (!buf) {
        *status = rt_http_error(conn, 503, "out of memory");
        return NULL;
    }
    while (n < max + 1 && (got = mg_read(conn, buf + n, max + 1 - n)) > 0)
        n += (size_t)got;
    if (n > max) {
        free(buf);
        *status = rt_http_error(conn, 413, "body over 64 KB");
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
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
    char extra[1024];
    uint64_t delivered = 0, failed = 0, pending = 0;
    if (w->opt.hooks)
        rt_webhooks_counts(w->opt.hooks, &delivered, &failed, &pending);
    snprintf(extra, sizeof extra,
             "# HELP flowd_visitor_sockets Connected visitor sockets.\n# TYPE flowd_visitor_sockets gauge\n"
             "flowd_visitor_sockets %d\n"
             "# HELP flowd_agent_sockets Connected inbox tabs.\n# TYPE flowd_agent_sockets gauge\n"
             "flowd_agent_sockets %d\n"
             "# HELP flowd_webhook_deliveries_total Webhook deliveries that ended.\n"
             "# TYPE flowd_webhook_deliveries_total counter\n"
             "flowd_webhook_deliveries_total{result=\"delivered\"} %llu\n"
             "flowd_webhook_deliveries_total{result=\"failed\"} %llu\n"
             "# HELP flowd_webhook_pending Webhook deliveries waiting or being retried.\n"
             "# TYPE flowd_webhook_pending gauge\nflowd_webhook_pending %llu\n",
             atomic_load(&w->visitors), atomic_load(&w->agents), (unsigned long long)delivered,
             (unsigned long long)failed, (unsigned long long)pending);
    size_t n = strlen(text) + strlen(extra) + 1;
    char *all = malloc(n);
    if (all)
        snprintf(all, n, "%s%s", text, extra);
    free(text);
    int rc = all ? reply(conn, 200, "text/plain; version=0.0.4", all) : reply(conn, 503, "text/plain", "");
    free(all);
    return rc;
}

/* ---- agent sockets ------------------------------------------------------------------------ */

/* An inbox tab: the engine pushes conversation changes, messages, typing,
 * receipts and notifications through push_to_agents, filtered here by what
 * the agent may see. The socket opens only with a valid session and from
 * the server's own origin (a page elsewhere cannot ride the cookie). */
struct agent_socket {
    struct mg_connection *conn;
    rt_principal who;
    bool ready;
    agent_socket *next;
};

static bool same_origin(const struct mg_connection *conn)
{
    const char *origin = mg_get_header(conn, "Origin"), *host = mg_get_header(conn, "Host");
    if (!origin)
        return true; /* not a browser: no cookie to ride */
    const char *after = strstr(origin, "://");
    return host && after && strcmp(after + 3, host) == 0;
}

static int agent_connect(const struct mg_connection *conn, void *cbdata)
{
    rt_web *w = cbdata;
    rt_principal who;
    char csrf[65];
    rt_auth_kind kind = rt_web_principal(w, conn, &who, csrf);
    if ((kind != RT_AUTH_SESSION && kind != RT_AUTH_BEARER) || !same_origin(conn))
        return 1;
    if (atomic_fetch_add(&w->agents, 1) >= 1000) { /* agents' tabs come out of the HTTP threads */
        atomic_fetch_sub(&w->agents, 1);
        return 1;
    }
    agent_socket *a = calloc(1, sizeof *a);
    if (!a) {
        atomic_fetch_sub(&w->agents, 1);
        return 1;
    }
    a->conn = (struct mg_connection *)conn;
    a->who = who;
    mg_set_user_connection_data(conn, a);
    pthread_mutex_lock(&w->agents_lock);
    a->next = w->agent_sockets;
    w->agent_sockets = a;
    pthread_mutex_unlock(&w->agents_lock);
    return 0;
}

static void agent_ready(struct mg_connection *conn, void *cbdata)
{
    rt_web *w = cbdata;
    agent_socket *a = mg_get_user_connection_data(conn);
    if (!a)
        return;
    rt_agent_tab(w->engine, a->who.user, +1);
    mg_lock_connection(conn);
    a->ready = true;
    mg_websocket_write(conn, MG_WEBSOCKET_OPCODE_TEXT, "{\"type\":\"ready\"}", 16);
    mg_unlock_connection(conn);
}

static int agent_data(struct mg_connection *conn, int bits, char *data, size_t len, void *cbdata)
{
    (void)cbdata;
    int opcode = bits & 0x0f;
    if (opcode == MG_WEBSOCKET_OPCODE_CONNECTION_CLOSE || len > 4096)
        return 0;
    cJSON *msg = opcode == MG_WEBSOCKET_OPCODE_TEXT ? rt_http_parse_json(data, len) : NULL;
    const char *type = rt_json_str(msg, "type");
    bool ping = type && strcmp(type, "ping") == 0;
    cJSON_Delete(msg);
    if (ping) {
        mg_lock_connection(conn);
        mg_websocket_write(conn, MG_WEBSOCKET_OPCODE_TEXT, "{\"type\":\"pong\"}", 15);
        mg_unlock_connection(conn);
    }
    return 1;
}

static void agent_close(const struct mg_connection *conn, void *cbdata)
{
    rt_web *w = cbdata;
    agent_socket *a = mg_get_user_connection_data(conn);
    if (!a)
        return;
    pthread_mutex_lock(&w->agents_lock);
    for (agent_socket **pp = &w->agent_sockets; *pp; pp = &(*pp)->next)
        if (*pp == a) {
            *pp = a->next;
            break;
        }
    pthread_mutex_unlock(&w->agents_lock);
    if (a->ready)
        rt_agent_tab(w->engine, a->who.user, -1);
    mg_set_user_connection_data(conn, NULL);
    atomic_fetch_sub(&w->agents, 1);
    free(a);
}

static bool may_see(const rt_principal *who, const char *assignee)
{
    return who->admin || !assignee || !assignee[0] || strcmp(assignee, who->user) == 0;
}

/* The engine's rt_agent_push_fn. Writes happen under the agents' lock so a
 * closing socket is not freed under us; frames are small and the writes
 * are to loopback or LAN browsers. */
static void push_to_agents(void *ctx, int64_t conversation, const char *assignee, const char *prev_assignee,
                           const char *only_user, const char *json)
{
    rt_web *w = ctx;
    char removed[64];
    int rn = snprintf(removed, sizeof removed, "{\"type\":\"removed\",\"id\":%lld}", (long long)conversation);
    size_t len = strlen(json);
    pthread_mutex_lock(&w->agents_lock);
    for (agent_socket *a = w->agent_sockets; a; a = a->next) {
        if (!a->ready || (only_user && strcmp(a->who.user, only_user) != 0))
            continue;
        bool now = may_see(&a->who, assignee), before = may_see(&a->who, prev_assignee);
        if (!now && !before)
            continue;
        mg_lock_connection(a->conn);
        if (now)
            mg_websocket_write(a->conn, MG_WEBSOCKET_OPCODE_TEXT, json, len);
        else if (!only_user)
            mg_websocket_write(a->conn, MG_WEBSOCKET_OPCODE_TEXT, removed, (size_t)rn);
        mg_unlock_connection(a->conn);
    }
    pthread_mutex_unlock(&w->agents_lock);
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
    pthread_mutex_init(&w->agents_lock, NULL);
    w->geo = rt_geo_open();
    if (!w->geo)
        rt_log("warn", "no GeoIP database (/usr/share/GeoIP): visitors' countries stay unknown");
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
        rt_geo_close(w->geo);
        pthread_mutex_destroy(&w->agents_lock);
        free(w->token);
        free(w);
        return NULL;
    }
    mg_set_request_handler(w->ctx, "/healthz", health, w);
    mg_set_request_handler(w->ctx, "/metrics", metrics, w);
    mg_set_request_handler(w->ctx, "/api/", rt_api_handler, w);
    mg_set_request_handler(w->ctx, "/files/", rt_files_handler, w);
    mg_set_websocket_handler(w->ctx, "/ws/visitor", ws_connect, NULL, ws_data, ws_close, w);
    mg_set_websocket_handler(w->ctx, "/ws/agent", agent_connect, agent_ready, agent_data, agent_close, w);
    rt_engine_set_push(e, push_to_agents, w);
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
    rt_engine_set_push(w->engine, NULL, NULL);
    mg_stop(w->ctx);
    pthread_mutex_destroy(&w->agents_lock);
    rt_geo_close(w->geo);
    free(w->token);
    free(w);
}
