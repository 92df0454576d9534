/* rt_web_internal.h - what the web layer's files share: rt_web.c (civetweb,
 * sockets, /healthz, /metrics) and rt_api.c (the JSON API, files). */
#ifndef RT_WEB_INTERNAL_H
#define RT_WEB_INTERNAL_H

#include <civetweb.h>
#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdatomic.h>

#include "rt_geo.h"
#include "rt_web.h"

typedef struct agent_socket agent_socket;

struct rt_web {
    struct mg_context *ctx;
    rt_engine *engine;
    rt_web_options opt;
    char *token;
    _Atomic int visitors;
    pthread_mutex_t agents_lock; /* the agents' sockets */
    agent_socket *agent_sockets;
    _Atomic int agents;
    rt_geo *geo; /* NULL: no GeoIP database */
};

#define RT_MAX_BODY 65536
#define RT_MAX_DEPTH 32 /* JSON nesting accepted; the API needs 3 */

int rt_http_reply(struct mg_connection *conn, int status, const char *type, const char *body, const char *extra_headers);
/* Replies with a malloc'd JSON body (freed). */
int rt_http_json(struct mg_connection *conn, int status, char *json);
int rt_http_error(struct mg_connection *conn, int status, const char *msg);
cJSON *rt_http_parse_json(const char *s, size_t len);
/* The request body (at most max bytes, malloc'd, NUL-terminated) or NULL
 * after replying (413). */
char *rt_http_body(struct mg_connection *conn, size_t max, size_t *len, int *status);
const char *rt_json_str(cJSON *o, const char *key);

/* Who is asking: a valid session cookie or the bearer token. Fills *who;
 * *cookie says whether it was a session (CSRF applies) and csrf its token. */
typedef enum rt_auth_kind { RT_AUTH_NONE, RT_AUTH_BEARER, RT_AUTH_SESSION, RT_AUTH_EXPIRED } rt_auth_kind;
rt_auth_kind rt_web_principal(rt_web *w, const struct mg_connection *conn, rt_principal *who, char csrf[65]);

int rt_api_handler(struct mg_connection *conn, void *cbdata);
int rt_files_handler(struct mg_connection *conn, void *cbdata);

#endif
