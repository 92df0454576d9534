/* rt_web.h - HTTP and WebSocket on one civetweb port: the visitor socket,
 * the JSON API, /healthz, /metrics and static files (docs/protocol.md). */
#ifndef RT_WEB_H
#define RT_WEB_H

#include <stdbool.h>

#include "rt_auth.h"
#include "rt_channels.h"
#include "rt_engine.h"
#include "rt_webhook.h"

typedef struct rt_web_options {
    const char *listen;      /* "127.0.0.1:8080" */
    const char *web_root;    /* static files */
    const char *agent_token; /* bearer token of the agent API; NULL: API refuses all */
    const char *tls_cert;    /* PEM with certificate and key; NULL: plain HTTP */
    const char *data_dir;    /* uploads go to DATA/files/ */
    rt_auth *auth;           /* accounts and sessions */
    rt_channels *channels;
    rt_flows *flows;
    rt_webhooks *hooks;      /* NULL: none */
    int max_visitors;        /* concurrent visitor sockets */
    int http_threads;        /* threads kept for HTTP beyond the visitors' */
    bool test_hooks;
} rt_web_options;

typedef struct rt_web rt_web;

/* Starts serving; NULL with a message. */
rt_web *rt_web_start(rt_engine *e, const rt_web_options *o, char *err, size_t errlen);
/* Stops accepting, closes sockets, waits for handlers to return. */
void rt_web_stop(rt_web *w);
/* The send callback the engine writes visitor frames with. */
void rt_web_send(rt_peer *peer, const char *json, size_t len);
/* The port actually bound (for --port 0). */
int rt_web_port(rt_web *w);

#endif
