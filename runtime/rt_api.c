/* rt_api.c - the JSON API of docs/api.md and docs/protocol.md: sessions,
 * the inbox, leads, canned responses, channels, statistics, webhooks,
 * uploads and the files they store, and the test hooks.
 *
 * This file parses, authenticates and routes; the engine, the channels, the
 * accounts, the statistics and the webhooks modules decide. Every request
 * made with a session cookie that changes something carries the session's
 * CSRF token in X-CSRF-Token; bearer-token requests (scripts) need none.
 */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rt_auth.h"
#include "rt_channels.h"
#include "rt_log.h"
#include "rt_stats.h"
#include "rt_web_internal.h"
#include "rt_webhook.h"

#define MAX_FILE (10u << 20)

typedef struct request {
    rt_web *w;
    struct mg_connection *conn;
    const struct mg_request_info *ri;
    const char *path;
    const char *method;
    rt_principal who;
    rt_auth_kind auth;
    char csrf[65];
} request;

static bool is(const request *r, const char *method) { return strcmp(r->method, method) == 0; }

/* A query parameter into buf ("" when absent). */
static const char *query(const request *r, const char *name, char *buf, size_t cap)
{
    buf[0] = '\0';
    const char *qs = r->ri->query_string;
    if (qs && mg_get_var(qs, strlen(qs), name, buf, cap) < 0)
        buf[0] = '\0';
    return buf;
}

/* ---- sessions ------------------------------------------------------------------------ */

static rt_auth_kind bearer(rt_web *w, const struct mg_connection *conn, rt_principal *who)
{
    const char *h = mg_get_header(conn, "Authorization");
    if (!w->token || !h || strncmp(h, "Bearer ", 7) != 0)
        return RT_AUTH_NONE;
    const char *t = h + 7;
    size_t lt = strlen(t), lw = strlen(w->token);
    if (lt != lw || sodium_memcmp(t, w->token, lw) != 0)
        return RT_AUTH_NONE;
    snprintf(who->user, sizeof who->user, "admin");
    snprintf(who->name, sizeof who->name, "Admin");
    who->admin = true;
    return RT_AUTH_BEARER;
}

rt_auth_kind rt_web_principal(rt_web *w, const struct mg_connection *conn, rt_principal *who, char csrf[65])
{
    memset(who, 0, sizeof *who);
    csrf[0] = '\0';
    if (bearer(w, conn, who) == RT_AUTH_BEARER)
        return RT_AUTH_BEARER;
    const char *cookies = mg_get_header(conn, "Cookie");
    char token[128];
    if (!w->opt.auth || !cookies || mg_get_cookie(cookies, "flowd_session", token, sizeof token) <= 0)
        return RT_AUTH_NONE;
    rt_user u;
    rt_session_result r = rt_auth_session(w->opt.auth, token, rt_engine_now(w->engine), &u, csrf);
    if (r != RT_SESSION_OK)
        return r == RT_SESSION_EXPIRED ? RT_AUTH_EXPIRED : RT_AUTH_NONE;
    snprintf(who->user, sizeof who->user, "%s", u.user);
    snprintf(who->name, sizeof who->name, "%s", u.name);
    who->admin = strcmp(u.role, "admin") == 0;
    return RT_AUTH_SESSION;
}

static char *user_json(const rt_user *u, const char *csrf, bool online)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "user", u->user);
    cJSON_AddStringToObject(o, "name", u->name);
    cJSON_AddStringToObject(o, "role", u->role);
    cJSON_AddNumberToObject(o, "capacity", u->capacity);
    cJSON_AddBoolToObject(o, "online", online);
    if (csrf)
        cJSON_AddStringToObject(o, "csrf", csrf);
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

static void session_cookie(rt_web *w, const char *token, char *out, size_t cap)
{
    snprintf(out, cap, "Set-Cookie: flowd_session=%s; Path=/; HttpOnly; SameSite=Strict%s%s\r\n", token,
             w->opt.tls_cert ? "; Secure" : "", token[0] ? "" : "; Max-Age=0");
}

static int login(request *r)
{
    int status = 0;
    size_t len;
    char *text = rt_http_body(r->conn, RT_MAX_BODY, &len, &status);
    if (!text)
        return status;
    cJSON *body = rt_http_parse_json(text, len);
    free(text);
    const char *user = rt_json_str(body, "user"), *password = rt_json_str(body, "password");
    if (!user || !password || !r->w->opt.auth) {
        cJSON_Delete(body);
        return rt_http_error(r->conn, 400, "give user and password");
    }
    rt_user u;
    char token[65], csrf[65];
    int retry = 0;
    rt_login_result res = rt_auth_login(r->w->opt.auth, user, password, r->ri->remote_addr,
                                        rt_engine_now(r->w->engine), &u, token, csrf, &retry);
    cJSON_Delete(body);
    if (res == RT_LOGIN_LIMITED) {
        char headers[64], json[96];
        snprintf(headers, sizeof headers, "Retry-After: %d\r\n", retry);
        snprintf(json, sizeof json, "{\"error\":\"too many attempts\",\"retry_after\":%d}", retry);
        return rt_http_reply(r->conn, 429, "application/json", json, headers);
    }
    if (res != RT_LOGIN_OK)
        return rt_http_error(r->conn, 401, "wrong user or password");
    char cookie[256];
    session_cookie(r->w, token, cookie, sizeof cookie);
    char *json = user_json(&u, csrf, rt_agent_online(r->w->engine, u.user));
    int rc = rt_http_reply(r->conn, 200, "application/json", json, cookie);
    free(json);
    return rc;
}

static int logout(request *r)
{
    const char *cookies = mg_get_header(r->conn, "Cookie");
    char token[128];
    if (r->w->opt.auth && cookies && mg_get_cookie(cookies, "flowd_session", token, sizeof token) > 0)
        rt_auth_logout(r->w->opt.auth, token);
    char cookie[256];
    session_cookie(r->w, "", cookie, sizeof cookie);
    return rt_http_reply(r->conn, 200, "application/json", "{}", cookie);
}

static int me(request *r)
{
    rt_user u = {0};
    if (r->auth == RT_AUTH_BEARER || !r->w->opt.auth || !rt_auth_get_user(r->w->opt.auth, r->who.user, &u)) {
        snprintf(u.user, sizeof u.user, "%s", r->who.user);
        snprintf(u.name, sizeof u.name, "%s", r->who.name);
        snprintf(u.role, sizeof u.role, "admin");
    }
    return rt_http_json(r->conn, 200, user_json(&u, r->csrf, rt_agent_online(r->w->engine, u.user)));
}

/* ---- accounts --------------------------------------------------------------------------- */

/* The account fields of a body; NULL, or what is wrong (never cut short:
 * a 70-character login must be refused, not saved as its first 63). */
static const char *user_from_json(cJSON *b, rt_user *u)
{
    memset(u, 0, sizeof *u);
    static const struct { const char *key; size_t off, cap; } fields[] = {
        {"user", offsetof(rt_user, user), sizeof u->user},
        {"name", offsetof(rt_user, name), sizeof u->name},
        {"role", offsetof(rt_user, role), sizeof u->role},
    };
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        cJSON *v = cJSON_GetObjectItemCaseSensitive(b, fields[i].key);
        if (v && !cJSON_IsString(v))
            return "user, name and role are strings";
        if (v && strlen(v->valuestring) >= fields[i].cap)
            return fields[i].cap == sizeof u->role ? "role is admin or agent" : "user and name are at most 63 bytes";
        if (v)
            memcpy((char *)u + fields[i].off, v->valuestring, strlen(v->valuestring) + 1);
    }
    cJSON *cap = cJSON_GetObjectItemCaseSensitive(b, "capacity");
    if (cap && (!cJSON_IsNumber(cap) || cap->valuedouble != (double)(int)cap->valuedouble || cap->valuedouble < 1 ||
                cap->valuedouble > 1000))
        return "capacity is a whole number from 1 to 1000";
    u->capacity = cap ? cap->valueint : 0;
    return NULL;
}

static int users(request *r, cJSON *body, const char *name)
{
    rt_auth *a = r->w->opt.auth;
    if (!a)
        return rt_http_error(r->conn, 404, "accounts are off");
    char err[256];
    rt_user u;
    if (!name && is(r, "GET")) {
        char *json = NULL; /* with each account's presence and open conversations */
        int status = rt_agents(r->w->engine, &json);
        return rt_http_json(r->conn, status, json);
    }
    const char *problem = is(r, "DELETE") ? NULL : user_from_json(body, &u);
    if (problem)
        return rt_http_error(r->conn, 400, problem);
    if (!name && is(r, "POST")) {
        if (!u.name[0])
            snprintf(u.name, sizeof u.name, "%s", u.user);
        if (!u.role[0])
            snprintf(u.role, sizeof u.role, "agent");
        if (!rt_auth_add_user(a, &u, rt_json_str(body, "password"), err, sizeof err))
            return rt_http_error(r->conn, strncmp(err, "exists", 6) == 0 ? 409 : 400, err);
        rt_auth_get_user(a, u.user, &u);
        return rt_http_json(r->conn, 201, user_json(&u, NULL, false));
    }
    if (name && is(r, "PUT")) {
        if (!rt_auth_update_user(a, name, &u, rt_json_str(body, "password"), err, sizeof err))
            return rt_http_error(r->conn, strncmp(err, "unknown", 7) == 0 ? 404 : 400, err);
        rt_auth_get_user(a, name, &u);
        return rt_http_json(r->conn, 200, user_json(&u, NULL, rt_agent_online(r->w->engine, name)));
    }
    if (name && is(r, "DELETE")) {
        if (strcmp(name, r->who.user) == 0)
            return rt_http_error(r->conn, 409, "you cannot delete your own account");
        if (!rt_auth_delete_user(a, name, err, sizeof err))
            return rt_http_error(r->conn, strncmp(err, "unknown", 7) == 0 ? 404 : 400, err);
        return rt_http_reply(r->conn, 200, "application/json", "{}", NULL);
    }
    return rt_http_error(r->conn, 405, "method not allowed");
}

/* ---- conversations ------------------------------------------------------------------------ */

static int conversation(request *r, int64_t id, const char *action, cJSON *body, const char *raw)
{
    rt_engine *e = r->w->engine;
    char *json = NULL;
    int status;
    rt_principal who = r->who;
    /* the bearer API names the acting agent in the body (docs/protocol.md) */
    const char *agent = rt_json_str(body, "agent");
    if (r->auth == RT_AUTH_BEARER && agent && agent[0] && strlen(agent) < sizeof who.user) {
        snprintf(who.user, sizeof who.user, "%s", agent);
        snprintf(who.name, sizeof who.name, "%s", agent);
    }
    if (!action)
        status = is(r, "GET") ? rt_conversation(e, &who, id, &json) : 405;
    else if (strcmp(action, "take") == 0)
        status = rt_agent_take(e, &who, id, &json);
    else if (strcmp(action, "assign") == 0)
        status = rt_agent_assign(e, &who, id, rt_json_str(body, "to"), &json);
    else if (strcmp(action, "unassign") == 0)
        status = rt_agent_unassign(e, &who, id, &json);
    else if (strcmp(action, "reply") == 0)
        status = rt_agent_reply(e, &who, id, rt_json_str(body, "text"), &json);
    else if (strcmp(action, "close") == 0)
        status = rt_agent_close(e, &who, id, &json);
    else if (strcmp(action, "snooze") == 0) {
        cJSON *until = cJSON_GetObjectItemCaseSensitive(body, "until");
        status = cJSON_IsNumber(until) || cJSON_IsNull(until) || !until
                     ? rt_agent_snooze(e, &who, id, cJSON_IsNumber(until) ? (int64_t)until->valuedouble : 0, &json)
                     : 400;
    } else if (strcmp(action, "typing") == 0)
        status = rt_agent_typing(e, &who, id, cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(body, "typing")), &json);
    else if (strcmp(action, "read") == 0)
        status = rt_agent_read(e, &who, id, &json);
    else if (strcmp(action, "meta") == 0)
        status = rt_agent_meta(e, &who, id, raw, &json);
    else if (strcmp(action, "lead") == 0)
        status = rt_agent_lead_fields(e, &who, id, raw, &json);
    else if (strcmp(action, "records") == 0)
        status = rt_agent_record(e, &who, id, cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(body, "deal")), &json);
    else
        status = 404;
    if (!json)
        return rt_http_error(r->conn, status, status == 405 ? "method not allowed" : status == 400 ? "bad request"
                                                                                               : "no such action");
    return rt_http_json(r->conn, status, json);
}

/* ---- files ------------------------------------------------------------------------------- */

static const char *const file_types[] = {"image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf",
                                         "text/plain"};

static bool allowed_type(const char *t)
{
    for (size_t i = 0; i < sizeof file_types / sizeof file_types[0]; i++)
        if (t && strcmp(t, file_types[i]) == 0)
            return true;
    return false;
}

/* A file name kept for display and downloads: no path, no control or quote
 * characters, at most 120 bytes. X-File-Name is percent-encoded UTF-8
 * (docs/api.md); a raw UTF-8 name (bytes over 0x7f) is taken as it is. */
static void clean_name(const char *raw, char *out, size_t cap)
{
    char decoded[512];
    const char *in = raw;
    bool ascii = true;
    for (const char *p = raw; p && *p; p++)
        ascii &= (unsigned char)*p < 0x80;
    if (raw && ascii && strchr(raw, '%') && mg_url_decode(raw, (int)strlen(raw), decoded, sizeof decoded, 0) > 0)
        in = decoded;
    const char *base = in ? strrchr(in, '/') : NULL;
    base = base ? base + 1 : in && in[0] ? in : "file";
    size_t n = 0;
    for (; *base && n + 1 < cap && n < 120; base++)
        out[n++] = (unsigned char)*base < 0x20 || *base == '"' || *base == '\\' || *base == 0x7f ? '_' : *base;
    out[n] = '\0';
}

/* Streams the body into DATA/files/ID; returns the size or -1 after replying. */
static long long receive_file(request *r, const char *path)
{
    long long declared = r->ri->content_length;
    if (declared > (long long)MAX_FILE)
        return rt_http_error(r->conn, 413, "files are at most 10 MB"), -1;
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0)
        return rt_http_error(r->conn, 503, "cannot store the file"), -1;
    char buf[16384];
    long long total = 0;
    int got;
    bool ok = true;
    while (ok && (got = mg_read(r->conn, buf, sizeof buf)) > 0) {
        total += got;
        ok = total <= (long long)MAX_FILE && write(fd, buf, (size_t)got) == got;
    }
    ok = ok && fsync(fd) == 0;
    close(fd);
    if (!ok || total == 0) {
        unlink(path);
        if (total > (long long)MAX_FILE)
            return rt_http_error(r->conn, 413, "files are at most 10 MB"), -1;
        return rt_http_error(r->conn, total == 0 ? 400 : 503, total == 0 ? "the file is empty" : "cannot store the file"),
               -1;
    }
    return total;
}

/* Stores an upload; the file's JSON ({"id","name","type","size","url"}) in
 * *file, or NULL after replying. */
static char *store_upload(request *r, int64_t conversation)
{
    const char *type = mg_get_header(r->conn, "Content-Type");
    char ctype[64];
    snprintf(ctype, sizeof ctype, "%s", type ? type : "");
    char *semi = strchr(ctype, ';');
    if (semi)
        *semi = '\0';
    if (!allowed_type(ctype))
        return rt_http_error(r->conn, 415, "images (png, jpeg, gif, webp), pdf and plain text only"), NULL;
    unsigned char raw[16];
    randombytes_buf(raw, sizeof raw);
    char id[33], dir[1100], path[1200];
    sodium_bin2hex(id, sizeof id, raw, sizeof raw);
    snprintf(dir, sizeof dir, "%s/files", r->w->opt.data_dir);
    mkdir(dir, 0700);
    snprintf(path, sizeof path, "%s/%s", dir, id);
    long long size = receive_file(r, path);
    if (size < 0)
        return NULL;
    char name[128];
    clean_name(mg_get_header(r->conn, "X-File-Name"), name, sizeof name);
    cJSON *f = cJSON_CreateObject();
    cJSON_AddStringToObject(f, "id", id);
    cJSON_AddStringToObject(f, "name", name);
    cJSON_AddStringToObject(f, "type", ctype);
    cJSON_AddNumberToObject(f, "size", (double)size);
    char url[64];
    snprintf(url, sizeof url, "/files/%s", id);
    cJSON_AddStringToObject(f, "url", url);
    cJSON_AddNumberToObject(f, "conversation", (double)conversation);
    char *json = cJSON_PrintUnformatted(f);
    cJSON_Delete(f);
    rt_batch *b = rt_batch_new();
    rt_batch_record(b, "file", id, json);
    bool ok = rt_engine_store(r->w->engine)->ops->commit(rt_engine_store(r->w->engine), b);
    rt_batch_free(b);
    if (!ok) {
        unlink(path);
        free(json);
        return rt_http_error(r->conn, 503, "the store could not commit"), NULL;
    }
    return json;
}

static const char *cors_headers = "Access-Control-Allow-Origin: *\r\n"
                                  "Access-Control-Allow-Methods: GET, POST, OPTIONS\r\n"
                                  "Access-Control-Allow-Headers: Content-Type, X-File-Name\r\n"
                                  "Access-Control-Max-Age: 600\r\n";

static int visitor_upload(request *r)
{
    char channel[128], visitor[128], conv[32];
    query(r, "visitor", visitor, sizeof visitor);
    query(r, "channel", channel, sizeof channel);
    long long id = atoll(query(r, "conversation", conv, sizeof conv));
    if (id <= 0 || !rt_visitor_owns(r->w->engine, id, visitor))
        return rt_http_reply(r->conn, 403, "application/json", "{\"error\":\"forbidden\"}", cors_headers);
    char *file = store_upload(r, id);
    if (!file)
        return 400;
    char *json = NULL;
    int status = rt_visitor_file(r->w->engine, id, visitor, file, &json);
    free(file);
    int rc = rt_http_reply(r->conn, status, "application/json", json ? json : "{}", cors_headers);
    free(json);
    return rc;
}

static int agent_upload(request *r, int64_t id)
{
    if (!rt_conversation_visible(r->w->engine, &r->who, id))
        return rt_http_error(r->conn, 403, "forbidden");
    char *file = store_upload(r, id);
    if (!file)
        return 400;
    char *json = NULL;
    int status = rt_agent_file(r->w->engine, &r->who, id, file, &json);
    free(file);
    return rt_http_json(r->conn, status, json);
}

/* GET /files/ID: to the conversation's visitor (?visitor=) or an agent who
 * may see it; never rendered as a page (nosniff, sandbox, attachment). */
int rt_files_handler(struct mg_connection *conn, void *cbdata)
{
    rt_web *w = cbdata;
    const struct mg_request_info *ri = mg_get_request_info(conn);
    const char *id = ri->local_uri + strlen("/files/");
    if (strlen(id) != 32 || strspn(id, "0123456789abcdef") != 32)
        return rt_http_error(conn, 404, "no such file");
    char *meta = rt_engine_store(w->engine)->ops->get_record(rt_engine_store(w->engine), "file", id);
    cJSON *m = meta ? cJSON_Parse(meta) : NULL;
    free(meta);
    int64_t conv = (int64_t)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(m, "conversation"));
    char visitor[80] = "", csrf[65];
    if (ri->query_string)
        mg_get_var(ri->query_string, strlen(ri->query_string), "visitor", visitor, sizeof visitor);
    rt_principal who;
    rt_auth_kind kind = m && !visitor[0] ? rt_web_principal(w, conn, &who, csrf) : RT_AUTH_NONE;
    bool allowed = m && ((visitor[0] && rt_visitor_owns(w->engine, conv, visitor)) ||
                         ((kind == RT_AUTH_BEARER || kind == RT_AUTH_SESSION) &&
                          rt_conversation_visible(w->engine, &who, conv)));
    if (!allowed) {
        cJSON_Delete(m);
        return rt_http_reply(conn, 403, "application/json", "{\"error\":\"forbidden\"}", cors_headers);
    }
    const char *type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(m, "type"));
    const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(m, "name"));
    char path[1200], headers[512];
    snprintf(path, sizeof path, "%s/files/%s", w->opt.data_dir, id);
    bool image = type && strncmp(type, "image/", 6) == 0;
    snprintf(headers, sizeof headers,
             "Content-Security-Policy: sandbox; default-src 'none'\r\nCross-Origin-Resource-Policy: cross-origin\r\n"
             "X-Content-Type-Options: nosniff\r\nCache-Control: private, max-age=3600\r\n"
             "Access-Control-Allow-Origin: *\r\nContent-Disposition: %s; filename=\"%s\"\r\n",
             image ? "inline" : "attachment", name ? name : "file");
    mg_send_mime_file2(conn, path, type && allowed_type(type) ? type : "application/octet-stream", headers);
    cJSON_Delete(m);
    return 200;
}

/* ---- admin modules ------------------------------------------------------------------------- */

static int channels(request *r, const char *name, const char *raw, size_t len)
{
    rt_channels *c = r->w->opt.channels;
    char *body = NULL;
    int status;
    if (!name && is(r, "GET"))
        status = rt_channels_list(c, &body);
    else if (!name && is(r, "POST"))
        status = rt_channels_create(c, raw, len, &body);
    else if (name && is(r, "GET"))
        status = rt_channels_get_json(c, name, &body);
    else if (name && is(r, "PUT"))
        status = rt_channels_put(c, name, raw, len, &body);
    else
        return rt_http_error(r->conn, 405, "method not allowed");
    return rt_http_json(r->conn, status, body);
}

static bool stats_channel(void *ctx, const char *channel, const vm_program **prog, char flow[128], int64_t *quota)
{
    rt_web *w = ctx;
    rt_channel_info info;
    if (!rt_channels_get(w->opt.channels, channel, &info))
        return false;
    *prog = rt_flows_current(w->opt.flows, info.flow);
    snprintf(flow, 128, "%s", info.flow);
    *quota = info.quota;
    return true;
}

static int stats(request *r, bool funnel)
{
    char channel[128], from[16], to[16], format[16]; /* longer than any name: a cut one must not match */
    query(r, "channel", channel, sizeof channel);
    query(r, "from", from, sizeof from);
    query(r, "to", to, sizeof to);
    query(r, "format", format, sizeof format);
    rt_stats_source src = {rt_engine_store(r->w->engine), stats_channel, r->w};
    char *body = NULL;
    const char *type = "application/json";
    int status = funnel ? rt_stats_funnel(&src, channel, from, to, format, &body, &type)
                        : rt_stats_report(&src, channel, from, to, format, rt_engine_now(r->w->engine), &body, &type);
    int rc = rt_http_reply(r->conn, status, type, body ? body : "{}", NULL);
    free(body);
    return rc;
}

static int webhooks(request *r, const char *id, const char *raw, size_t len)
{
    rt_webhooks *h = r->w->opt.hooks;
    char *body = NULL;
    int status;
    if (!h)
        return rt_http_error(r->conn, 404, "webhooks are off");
    if (!id && is(r, "GET"))
        status = rt_webhooks_list(h, &body);
    else if (!id && is(r, "POST"))
        status = rt_webhooks_create(h, raw, len, &body);
    else if (id && is(r, "DELETE"))
        status = rt_webhooks_delete(h, id, &body);
    else
        return rt_http_error(r->conn, 405, "method not allowed");
    return rt_http_json(r->conn, status, body);
}

/* ---- test hooks ---------------------------------------------------------------------------- */

static int test_hook(request *r, cJSON *body, const char *what)
{
    rt_engine *e = r->w->engine;
    if (strcmp(what, "clock") == 0) {
        cJSON *utc = cJSON_GetObjectItemCaseSensitive(body, "utc");
        const char *local = rt_json_str(body, "local"), *channel = rt_json_str(body, "channel");
        bool set = cJSON_IsNumber(utc) || (local && channel && rt_engine_set_local_clock(e, channel, local));
        if (cJSON_IsNumber(utc))
            rt_engine_set_clock(e, (int64_t)utc->valuedouble);
        /* before the answer: once it has it, a test sees every timer due by the new clock fired */
        rt_engine_fire_timers(e);
        return set ? rt_http_reply(r->conn, 200, "application/json", "{}", NULL)
                   : rt_http_error(r->conn, 400, "give utc, or local and channel");
    }
    if (strcmp(what, "agents") == 0) {
        cJSON *n = cJSON_GetObjectItemCaseSensitive(body, "online");
        if (!cJSON_IsNumber(n) || n->valuedouble < -1)
            return rt_http_error(r->conn, 400, "give online: N (-1: count real agents)");
        rt_engine_set_agents(e, n->valueint);
        return rt_http_reply(r->conn, 200, "application/json", "{}", NULL);
    }
    return rt_http_error(r->conn, 404, "no such test hook");
}

/* ---- routing --------------------------------------------------------------------------------- */

static bool changes_state(const request *r) { return !is(r, "GET") && !is(r, "HEAD") && !is(r, "OPTIONS"); }

/* Requests anyone may make (the widget's, logging in). */
static int public_route(request *r, bool *handled)
{
    *handled = true;
    if (is(r, "OPTIONS") && (strcmp(r->path, "/api/widget/config") == 0 || strcmp(r->path, "/api/visitor/files") == 0))
        return rt_http_reply(r->conn, 204, "text/plain", "", cors_headers);
    if (strcmp(r->path, "/api/widget/config") == 0 && is(r, "GET")) {
        char channel[128], page[2048], *body = NULL;
        query(r, "channel", channel, sizeof channel);
        query(r, "page", page, sizeof page);
        int status = rt_channels_widget_config(r->w->opt.channels, channel, page[0] ? page : "/",
                                               rt_engine_now(r->w->engine), &body);
        int rc = rt_http_reply(r->conn, status, "application/json", body ? body : "{}", cors_headers);
        free(body);
        return rc;
    }
    if (strcmp(r->path, "/api/visitor/files") == 0 && is(r, "POST"))
        return visitor_upload(r);
    if (strcmp(r->path, "/api/login") == 0 && is(r, "POST"))
        return login(r);
    if (strcmp(r->path, "/api/logout") == 0 && is(r, "POST"))
        return logout(r);
    *handled = false;
    return 0;
}

static int admin_route(request *r, const char *raw, size_t len, cJSON *body)
{
    const char *p = r->path;
    if (strcmp(p, "/api/users") == 0 || strncmp(p, "/api/users/", 11) == 0)
        return users(r, body, p[10] ? p + 11 : NULL);
    if (strcmp(p, "/api/channels") == 0 || strncmp(p, "/api/channels/", 14) == 0)
        return channels(r, p[13] ? p + 14 : NULL, raw, len);
    if (strcmp(p, "/api/flows") == 0 && is(r, "GET")) {
        char *out = NULL;
        int status = rt_channels_flows(r->w->opt.channels, &out);
        return rt_http_json(r->conn, status, out);
    }
    if (strcmp(p, "/api/stats") == 0 || strcmp(p, "/api/stats/funnel") == 0)
        return is(r, "GET") ? stats(r, p[10] != '\0') : rt_http_error(r->conn, 405, "method not allowed");
    if (strcmp(p, "/api/webhooks") == 0 || strncmp(p, "/api/webhooks/", 14) == 0)
        return webhooks(r, p[13] ? p + 14 : NULL, raw, len);
    if (strncmp(p, "/api/canned/", 12) == 0) {
        char *out = NULL;
        int status = is(r, "PUT")      ? rt_canned_put(r->w->engine, p + 12, raw, &out)
                     : is(r, "DELETE") ? rt_canned_delete(r->w->engine, p + 12, &out)
                                       : 0;
        return status ? rt_http_json(r->conn, status, out) : rt_http_error(r->conn, 405, "method not allowed");
    }
    return -1;
}

static bool is_admin_path(const char *p)
{
    static const char *const prefixes[] = {"/api/users", "/api/channels", "/api/flows", "/api/stats",
                                           "/api/webhooks", "/api/canned/"};
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++)
        if (strncmp(p, prefixes[i], strlen(prefixes[i])) == 0)
            return true;
    return false;
}

static int agent_route(request *r, const char *raw, cJSON *body)
{
    rt_engine *e = r->w->engine;
    const char *p = r->path;
    char *out = NULL;
    int status = 0;
    if (strcmp(p, "/api/me") == 0 && is(r, "GET"))
        return me(r);
    if (strcmp(p, "/api/agents") == 0 && is(r, "GET"))
        status = rt_agents(e, &out);
    else if (strcmp(p, "/api/queue") == 0 && is(r, "GET"))
        status = rt_queue(e, &out);
    else if (strcmp(p, "/api/canned") == 0 && is(r, "GET"))
        status = rt_canned_list(e, &out);
    else if (strcmp(p, "/api/leads") == 0 && is(r, "GET"))
        status = rt_leads(e, false, &out);
    else if (strcmp(p, "/api/leads.csv") == 0 && is(r, "GET")) {
        status = rt_leads(e, true, &out);
        int rc = rt_http_reply(r->conn, status, "text/csv; charset=utf-8", out ? out : "",
                               "Content-Disposition: attachment; filename=\"leads.csv\"\r\n");
        free(out);
        return rc;
    } else if (strcmp(p, "/api/inbox") == 0 && is(r, "GET")) {
        char folder[16], q[128], state[16];
        status = rt_inbox(e, &r->who, query(r, "folder", folder, sizeof folder), query(r, "q", q, sizeof q),
                          query(r, "state", state, sizeof state), &out);
    } else if (strcmp(p, "/api/presence") == 0 && is(r, "POST")) {
        const char *agent = r->auth == RT_AUTH_BEARER && rt_json_str(body, "agent") ? rt_json_str(body, "agent")
                                                                                    : r->who.user;
        if (!agent[0] || strlen(agent) > 63)
            return rt_http_error(r->conn, 400, "give agent and online");
        status = rt_agent_presence(e, agent, cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(body, "online")), &out);
    } else {
        long long id;
        int used = 0;
        if (sscanf(p, "/api/conversations/%lld%n", &id, &used) == 1 && id > 0 && used > 0) {
            const char *rest = p + used;
            if (strcmp(rest, "/files") == 0 && is(r, "POST"))
                return agent_upload(r, id);
            if (!*rest || (*rest == '/' && (is(r, "POST") || is(r, "PUT"))))
                return conversation(r, id, *rest ? rest + 1 : NULL, body, raw);
        }
        return rt_http_error(r->conn, 404, "no such endpoint");
    }
    return rt_http_json(r->conn, status, out);
}

/* Reads a JSON body for requests that carry one (not uploads). */
static bool wants_json_body(const request *r)
{
    return changes_state(r) && strcmp(r->path, "/api/visitor/files") != 0 &&
           !(strncmp(r->path, "/api/conversations/", 19) == 0 && strstr(r->path, "/files"));
}

int rt_api_handler(struct mg_connection *conn, void *cbdata)
{
    request r = {.w = cbdata, .conn = conn};
    r.ri = mg_get_request_info(conn);
    r.path = r.ri->local_uri;
    r.method = r.ri->request_method;
    bool handled;
    int rc = public_route(&r, &handled);
    if (handled)
        return rc;
    size_t len = 0;
    char *raw = NULL;
    cJSON *body = NULL;
    if (wants_json_body(&r)) {
        int status = 0;
        raw = rt_http_body(conn, RT_MAX_BODY, &len, &status);
        if (!raw)
            return status;
        body = len ? rt_http_parse_json(raw, len) : cJSON_CreateObject(); /* no body: {} */
        if (!cJSON_IsObject(body)) {
            free(raw);
            cJSON_Delete(body);
            return rt_http_error(conn, 400, "the body must be a JSON object");
        }
    }
    rc = -1;
    if (r.w->opt.test_hooks && is(&r, "POST") && strncmp(r.path, "/api/test/", 10) == 0)
        rc = test_hook(&r, body, r.path + 10);
    if (rc < 0) {
        r.auth = rt_web_principal(r.w, conn, &r.who, r.csrf);
        if (r.auth == RT_AUTH_NONE || r.auth == RT_AUTH_EXPIRED)
            rc = rt_http_error(conn, 401, r.auth == RT_AUTH_EXPIRED ? "session expired" : "unauthorized");
        else if (r.auth == RT_AUTH_SESSION && changes_state(&r) &&
                 !rt_auth_csrf_ok(r.csrf, mg_get_header(conn, "X-CSRF-Token")))
            rc = rt_http_error(conn, 403, "missing or wrong CSRF token");
        else if (is_admin_path(r.path) && !r.who.admin)
            rc = rt_http_error(conn, 403, "admins only");
        else if ((rc = is_admin_path(r.path) ? admin_route(&r, raw ? raw : "", len, body) : -1) < 0)
            rc = agent_route(&r, raw ? raw : "", body);
    }
    free(raw);
    cJSON_Delete(body);
    return rc;
}
