/* rt_channels.h - channels: one chat widget on one website, bound to a flow.
 *
 * A channel's settings are one JSON object (docs/api.md, "Channels
 * (admins)"), kept as a store record of kind "channel" keyed by the name and
 * mirrored in memory, so that the engine's hot path (every hello, every
 * handoff) reads them without touching the store. Every function is safe to
 * call from civetweb's worker threads at once: one mutex guards the mirror,
 * and a change is committed to the store before the mirror shows it
 * ("acknowledged means committed", as for conversations).
 */
#ifndef RT_CHANNELS_H
#define RT_CHANNELS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rt_flows.h"
#include "rt_store.h"

typedef struct rt_channels rt_channels;

/* Loads every channel record into memory. Records that do not parse are
 * logged and skipped; keys a record lacks (written by an older flowd) take
 * their defaults. The store and flows are borrowed and must outlive it. */
rt_channels *rt_channels_new(rt_store *store, rt_flows *flows);
void rt_channels_free(rt_channels *c); /* NULL: no-op */

/* Whether an account exists, for validating a channel's "agents" (accounts
 * live in rt_auth, which this module does not know). Unset: any name is
 * accepted. Called without the channels' lock held. */
typedef bool (*rt_user_exists_fn)(void *ctx, const char *user);
void rt_channels_set_user_check(rt_channels *c, rt_user_exists_fn fn, void *ctx);

/* `flowd --channel NAME=FLOW` at start: creates the channel with the
 * defaults and a fresh random identity secret or, when it exists, binds it
 * to FLOW keeping its other settings (an admin's edits survive restarts).
 * The flow need not be loaded yet. False with a message for a bad name
 * ([a-z0-9_-]{1,63}), a bad flow name or a failed commit. */
bool rt_channels_ensure(rt_channels *c, const char *name, const char *flow, char *err, size_t errlen);

/* What the engine needs on its hot path, copied out under the lock into the
 * caller's buffer (no allocation, nothing to free, no pointer into memory a
 * concurrent edit could free). */
typedef struct rt_channel_info {
    char name[64], flow[128], bot_name[64];
    int64_t quota; /* bot conversations a month; 0: no limit */
    bool identity_enforced;
    char identity_secret[80];
    char agents[16][64];
    int nagents; /* 0: every agent may answer */
} rt_channel_info;

/* False: no such channel. */
bool rt_channels_get(rt_channels *c, const char *name, rt_channel_info *out);
/* Whether `user` may answer conversations of `channel` (false for an unknown
 * channel). */
bool rt_channels_agent_allowed(rt_channels *c, const char *channel, const char *user);
/* Checks a signed identity: user_hash is hex (either case) of
 * HMAC-SHA256(key = the identity secret's text, message = user_id), as a
 * site computes it with e.g. PHP's hash_hmac('sha256', $id, $secret); the
 * comparison is constant-time. True when acceptable: a valid signature, or
 * no hash given (NULL or "") while enforcement is off. A given but wrong
 * hash is always refused, as is anything on an unknown channel. */
bool rt_channels_identity_ok(rt_channels *c, const char *channel, const char *user_id, const char *user_hash);

/* The admin API and the widget's configuration. Each returns an HTTP status
 * and puts a malloc'd JSON body in *body (the caller frees it); errors are
 * {"error": "..."}. */

/* GET /api/channels: 200 [settings], by name; each with "zone" as below. */
int rt_channels_list(rt_channels *c, char **body);
/* GET /api/channels/NAME: 200 settings plus "zone" (the IANA zone of the
 * flow's hours, "UTC" without hours or without a loaded flow); 404. */
int rt_channels_get_json(rt_channels *c, const char *name, char **body);
/* POST /api/channels: 201 settings; 400 (a body that is not a JSON object,
 * or {"error":"invalid settings","fields":{"key":"message"}} with one entry
 * per bad key, nothing stored); 409 when the name exists. "name" and "flow"
 * are required; every other key defaults. A read-only "zone" key (as GET
 * answers it) is accepted and ignored, so a page can send back what it read. */
int rt_channels_create(rt_channels *c, const char *json, size_t len, char **body);
/* PUT /api/channels/NAME: 200 settings; 400 as for create; 404. A missing
 * key keeps its value; "identity_secret": "regenerate" makes a new secret;
 * "name", when given, must be NAME (channels are not renamed). */
int rt_channels_put(rt_channels *c, const char *name, const char *json, size_t len, char **body);
/* GET /api/flows: 200 [{"name","version","nodes"}] the loaded flows by name;
 * version is the 16-hex-digit program id, nodes the node count. */
int rt_channels_flows(rt_channels *c, char **body);
/* GET /api/widget/config?channel=C&page=P at time `now` (UTC seconds). The
 * public settings only: never identity_secret, agents or quota. "open_now"
 * follows the flow's hours (true without hours or without a loaded flow);
 * "visible" is false when the page rules exclude the page (NULL: "/") or
 * when it is after hours and after_hours is "hide". 404 for an unknown
 * channel. */
int rt_channels_widget_config(rt_channels *c, const char *name, const char *page, int64_t now, char **body);
/* Whether a page matches the channel's rules: with page_mode "allow" it must
 * match one of the globs, with "deny" none of them (so an empty deny-list
 * means everywhere). Globs: '*' matches any run of characters, '/' included,
 * '?' exactly one, everything else itself. The page's query string and
 * fragment are ignored, and a full URL is reduced to its path. False for an
 * unknown channel. */
bool rt_channels_page_allowed(rt_channels *c, const char *name, const char *page);

#endif
