/* rt_webhook.h - outgoing webhooks (docs/api.md, "Webhooks"): the way
 * flowd reaches email, CRM or chat tools when something happens.
 *
 * A subscription is a URL, the events it wants and a secret; every event
 * becomes one delivery per subscription that wants it, POSTed as JSON and
 * signed with HMAC-SHA256 so the receiver can tell it came from us. Both are
 * records in the store the caller keeps open (and closes after
 * rt_webhooks_free):
 *   kind "webhook",  key = subscription id, {"id","url","events","secret"}
 *   kind "delivery", key = delivery id,     {"subscription","event","body","attempts","due"}
 * so a restart resumes the deliveries that were pending. Delivery is at
 * least once (a crash between an answer and the store forgetting the
 * delivery sends it again): receivers deduplicate by the delivery id.
 *
 * One thread delivers. Retries are scheduled, never slept through, and
 * subscriptions whose last attempt succeeded go before failing ones, so a
 * receiver that is down holds the others up by at most the attempt in
 * progress (one per-attempt timeout).
 */
#ifndef RT_WEBHOOK_H
#define RT_WEBHOOK_H

#include <stddef.h>
#include <stdint.h>

#include "rt_store.h"

/* Deliveries waiting at once; more are dropped (and counted failed) so a
 * receiver that is down for days cannot make flowd run out of memory. */
#define RT_WEBHOOK_MAX_PENDING 10000
/* Subscriptions at once: every emit walks them under a lock. */
#define RT_WEBHOOK_MAX_SUBSCRIPTIONS 100
/* The largest data_json an event may carry: with RT_WEBHOOK_MAX_PENDING it
 * bounds the memory of the queue (and one request fits a socket buffer). */
#define RT_WEBHOOK_MAX_DATA 16384
/* The longest wait between two attempts, however many failed before. */
#define RT_WEBHOOK_MAX_BACKOFF 300.0

typedef struct rt_webhooks rt_webhooks;
typedef struct rt_webhook_options {
    rt_store *store;
    int max_attempts;      /* default 8 */
    double first_backoff;  /* seconds before the 2nd attempt, doubling after (default 1.0, capped at 300 s) */
    double timeout;        /* per attempt, seconds (default 5) */
} rt_webhook_options;

/* Loads subscriptions and pending deliveries and starts one delivery
 * thread; NULL with a message. Options left 0 take their defaults. */
rt_webhooks *rt_webhooks_new(const rt_webhook_options *o, char *err, size_t errlen);
/* Stops the thread within ~timeout (it finishes the attempt in progress);
 * pending deliveries stay in the store for the next rt_webhooks_new. */
void rt_webhooks_free(rt_webhooks *w);

/* Queues an event for every subscription that wants it and returns at once:
 * never blocks on the network, so a conversation step is never slowed by a
 * slow receiver. data_json is a JSON object; the delivered body is
 * {"id": "<delivery id>", "event": "...", "at": <unix time>, "data": <data_json>}.
 * The delivery thread writes queued deliveries to the store before its next
 * attempt, so a crash (not a rt_webhooks_free) can lose the events of the
 * last attempt's duration. An unknown event, data that is not a JSON
 * object or is over RT_WEBHOOK_MAX_DATA bytes is a caller's bug: logged and
 * dropped. */
void rt_webhooks_emit(rt_webhooks *w, const char *event, const char *data_json, int64_t at);
/* Whether any subscription exists: lets a caller skip building event data
 * on its hot path when nobody listens. */
bool rt_webhooks_any(rt_webhooks *w);

/* The admin API (docs/api.md), each returns an HTTP status and a malloc'd JSON body in *json:
 *  GET    /api/webhooks            -> list:   [{"id","url","events":[...],"secret"}]
 *  POST   /api/webhooks {"url","events":[...] (omitted or empty: all),"secret" (omitted: random 32 bytes hex)}
 *         -> create: 201 {subscription}; 400 {"error":...} for a url that is not http:// or https://,
 *            unknown event names, bad JSON
 *  DELETE /api/webhooks/ID         -> delete: 200 / 404
 * A store that fails answers 500. Deleting a subscription discards its
 * pending deliveries (they count neither delivered nor failed). */
int rt_webhooks_list(rt_webhooks *w, char **json);
int rt_webhooks_create(rt_webhooks *w, const char *body, size_t len, char **json);
int rt_webhooks_delete(rt_webhooks *w, const char *id, char **json);

/* For /metrics and tests: deliveries succeeded, failed for good, pending
 * (queued, waiting for a retry or being attempted). */
void rt_webhooks_counts(rt_webhooks *w, uint64_t *delivered, uint64_t *failed, uint64_t *pending);

#endif
