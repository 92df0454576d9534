/* rt_channels.c - channel settings (see rt_channels.h).
 *
 * In memory a channel is its canonical settings object (every key, in the
 * order of docs/api.md) plus an rt_channel_info derived from it for the
 * engine. An edit is first validated, without the lock, into a "patch" of
 * normalised values: validation calls into rt_flows and the account check,
 * whose locks must never nest inside ours. The patch is then applied under
 * the lock to the settings as they are at that moment, so two concurrent
 * PUTs of different keys both land. The commit happens under the lock too:
 * admin edits are rare, and a hot-path reader waiting a few milliseconds is
 * cheaper than a second lock and its ordering rules.
 */
#include <cjson/cJSON.h>
#include <pthread.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "rt_channels.h"
#include "rt_log.h"
#include "vm_text.h"
#include "vm_tz.h"

typedef struct channel {
    cJSON *settings;
    rt_channel_info info; /* derived from settings whenever they change */
    struct channel *next;
} channel;

struct rt_channels {
    rt_store *store;
    rt_flows *flows;
    pthread_mutex_t lock; /* everything below */
    channel *list;        /* ordered by name */
    rt_user_exists_fn user_exists;
    void *user_ctx;
};

/* ---- small helpers ------------------------------------------------------------ */

static const cJSON *get(const cJSON *o, const char *key) { return cJSON_GetObjectItemCaseSensitive(o, key); }

static const char *str(const cJSON *o, const char *key)
{
    const cJSON *v = get(o, key);
    return cJSON_IsString(v) ? v->valuestring : "";
}

/* Adds or replaces; takes `item`. */
static void set_item(cJSON *o, const char *key, cJSON *item)
{
    if (!item)
        return;
    if (get(o, key))
        cJSON_ReplaceItemInObjectCaseSensitive(o, key, item);
    else
        cJSON_AddItemToObject(o, key, item);
}

static bool valid_name(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n < 1 || n > 63)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '-'))
            return false;
    return true;
}

static void new_secret(char out[65])
{
    unsigned char raw[32];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2hex(out, 65, raw, sizeof raw);
}

static const vm_program *current_program(rt_channels *c, const char *flow)
{
    return c->flows && flow && flow[0] ? rt_flows_current(c->flows, flow) : NULL;
}

/* Takes `o`. */
static int reply_json(char **body, int status, cJSON *o)
{
    *body = o ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    if (*body)
        return status;
    *body = strdup("{\"error\":\"out of memory\"}");
    return 500;
}

static int reply_error(char **body, int status, const char *message)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "error", message);
    return reply_json(body, status, o);
}

/* ---- validation ------------------------------------------------------------------ */

/* What a checker may consult: the settings being edited (NULL when
 * creating) and the account check, copied out of the lock. */
typedef struct vctx {
    rt_channels *c;
    const cJSON *current;
    rt_user_exists_fn user_exists;
    void *user_ctx;
} vctx;

typedef struct field field;
/* Checks one value: true with its normalised copy in *out, or false with a
 * message for the admin page in msg. */
typedef bool (*check_fn)(const vctx *x, const field *f, const cJSON *v, cJSON **out, char *msg, size_t cap);

struct field {
    const char *key;
    check_fn check;
    int max;               /* bytes, items or the largest number */
    const char *one, *two; /* an enumeration's values */
    const char *def;       /* the default, as JSON */
};

static bool fail(char *msg, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static bool fail(char *msg, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, cap, fmt, ap);
    va_end(ap);
    return false;
}

static bool has_control(const char *s, bool newlines)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if ((*p < 0x20 && !(newlines && *p == '\n')) || *p == 0x7f)
            return true;
    return false;
}

/* Spaces included: no URL or path glob here needs one unescaped. */
static bool has_space(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p <= 0x20 || *p == 0x7f)
            return true;
    return false;
}

static bool string_ok(const field *f, const cJSON *v, bool newlines, char *msg, size_t cap)
{
    if (!cJSON_IsString(v))
        return fail(msg, cap, "must be a string");
    size_t n = strlen(v->valuestring);
    if (n > (size_t)f->max)
        return fail(msg, cap, "must be at most %d bytes", f->max);
    if (!vm_text_valid_utf8(v->valuestring, n))
        return fail(msg, cap, "must be valid UTF-8 text");
    if (has_control(v->valuestring, newlines))
        return fail(msg, cap, "must not contain control characters");
    return true;
}

static bool check_line(const vctx *x, const field *f, const cJSON *v, cJSON **out, char *msg, size_t cap)
{
    if (!string_ok(f, v, false, msg, cap))
        return false;
    *out = cJSON_CreateString(v->valuestring);
    return true;
}

/* Messages shown to visitors may span lines. */
static bool check_message(const vctx *x, const field *f, const cJSON *v, cJSON **out, char *msg, size_t cap)
{
    if (!string_ok(f, v, true, msg, cap))
        return false;
    *out = cJSON_CreateString(v->valuestring);
    return true;
}

static bool check_name(const vctx *x, const field *f, const cJSON *v, cJSON **out, char *msg, size_t cap)
{
    if (!cJSON_IsString(v) || !valid_name(v->valuestring))
        return fail(msg, cap, "must be 1-63 characters of a-z, 0-9, _ and -");
    *out = cJSON_CreateString(v->valuestring);
    return true;
}

/* The flow must be loaded, unless it is the one the channel already has:
 * sending back unchanged settings must work while a flow file is missing. */
static bool check_flow(const vctx *x, const field *f, const cJSON *v, cJSON **out, char *msg, size_t cap)
{
    if (!string_ok(f, v, false, msg, cap))
        return false;
    const char *name = v->valuestring;
    bool unchanged = x->current && strcmp(str(x->current, "flow"), name) == 0;
    if (!unchanged && !current_program(x->c, name))
        return fail(msg, cap, "must be a loaded flow (see GET /api/flows)");
    *out = cJSON_CreateString(name);
    return true;
}

static bool is_hex(char ch) { return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F'); }

static bool check_colour(const vctx *x, const field *f, const cJSON *v, cJSON **out, char *msg, size_t cap)
{
    const char *s = cJSON_IsString(v) ? v->valuestring : "";
    bool ok = strlen(s) == 7 && s[0] == '#';
    for (int i = 1; ok && i < 7; i++)
        ok = is_hex(s[i]);
    if (!ok)
        return fail(msg, cap, "must be a colour like #0b5fff");
    char lower[8];
    for (int i = 0; i < 8; i++)
        lower[i] = (char)(s[i] >= 'A' && s[i] <= 'F' ? s[i] - 'A' + 'a' : s[i]);
    *out = cJSON_CreateString(lower);
    return true;
}

static bool check_enum(const vctx *x, const field *f, const cJSON *v, cJSON **out, char *msg, size_t cap)
{
    const char *s = cJSON_IsString(v) ? v->valuestring : "";
    if (strcmp(s, f->one) != 0 && strcmp(s, f->two) != 0)
        return fail(msg, cap, "must be \"%s\" or \"%s\"", f->one, f->two);
    *out = cJSON_CreateString(s);
    return true;
}

static bool check_int(const vctx *x, const field *f, const cJSON *v, cJSON **out, char *msg, size_t cap)
{
    double d = cJSON_IsNumber(v) ? v->valuedouble : -1;
    if (d < 0 || d > f->max || (double)(int64_t)d != d)
        return fail(msg, cap, "must be a whole number from 0 to %d", f->max);
    *out = cJSON_CreateNumber(d);
    return true;
}

static bool check_bool(const vctx *x, const field *f, const cJSON *v, cJSON **out, char *msg, size_t cap)
{
    if (!cJSON_IsBool(v))
        return fail(msg, cap, "must be true or false");
    *out = cJSON_CreateBool(cJSON_IsTrue(v));
    return true;
}

static bool is_url(const char *s)
{
    size_t skip = strncasecmp(s, "http://", 7) == 0 ? 7 : strncasecmp(s, "https://", 8) == 0 ? 8 : 0;
    return skip && s[skip] && s[skip] != '/' && !has_space(s);
}

static bool check_url(const vctx *x, const field *f, const cJSON *v, cJSON **out, char *msg, size_t cap)
{
    if (!string_ok(f, v, false, msg, cap))
        return false;
    if (v->valuestring[0] && !is_url(v->valuestring))
        return fail(msg, cap, "must be an http:// or https:// URL without spaces, or empty");
    *out = cJSON_CreateString(v->valuestring);
    return true;
}

/* An avatar may also be served by flowd itself ("/avatars/ava.png"). */
static bool check_avatar(const vctx *x, const field *f, const cJSON *v, cJSON **out, char *msg, size_t cap)
{
    if (!string_ok(f, v, false, msg, cap))
        return false;
    const char *s = v->valuestring;
    if (s[0] && !is_url(s) && (s[0] != '/' || has_space(s)))
        return fail(msg, cap, "must be an http:// or https:// URL or a path starting with /, or empty");
    *out = cJSON_CreateString(s);
    return true;
}

/* '**' is refused because '*' already crosses '/': a glob written with
 * another tool's '**' in mind would mean something else here. */
static const char *glob_problem(const char *g)
{
    if (g[0] != '/')
        return "must start with /";
    if (strlen(g) > 200)
        return "must be at most 200 bytes";
    if (has_space(g))
        return "must not contain spaces or control characters";
    if (!vm_text_valid_utf8(g, strlen(g)))
        return "must be valid UTF-8 text";
    if (strstr(g, "**"))
        return "must not contain ** (one * already matches across /)";
    return NULL;
}

static bool check_pages(const vctx *x, const field *f, const cJSON *v, cJSON **out, char *msg, size_t cap)
{
    if (!cJSON_IsArray(v))
        return fail(msg, cap, "must be a list of path globs");
    if (cJSON_GetArraySize(v) > f->max)
        return fail(msg, cap, "must have at most %d entries", f->max);
    int i = 1;
    const cJSON *g;
    cJSON_ArrayForEach(g, v) {
        const char *problem = cJSON_IsString(g) ? glob_problem(g->valuestring) : "must be a string";
        if (problem)
            return fail(msg, cap, "entry %d %s", i, problem);
        i++;
    }
    *out = cJSON_Duplicate(v, 1);
    return true;
}

static bool listed(const cJSON *list, const char *s)
{
    const cJSON *e;
    cJSON_ArrayForEach(e, list)
        if (cJSON_IsString(e) && strcmp(e->valuestring, s) == 0)
            return true;
    return false;
}

/* Names already on the channel's list are not checked again, so that an
 * unrelated edit still saves after an account was removed. */
static bool agent_ok(const vctx *x, const cJSON *a, int i, char *msg, size_t cap)
{
    const char *s = cJSON_IsString(a) ? a->valuestring : "";
    size_t n = strlen(s);
    if (n < 1 || n > 63 || !vm_text_valid_utf8(s, n) || has_control(s, false))
        return fail(msg, cap, "entry %d must be a user name of 1-63 bytes", i);
    bool known = x->current && listed(get(x->current, "agents"), s);
    if (!known && x->user_exists && !x->user_exists(x->user_ctx, s))
        return fail(msg, cap, "no account named \"%s\"", s);
    return true;
}

static bool check_agents(const vctx *x, const field *f, const cJSON *v, cJSON **out, char *msg, size_t cap)
{
    if (!cJSON_IsArray(v))
        return fail(msg, cap, "must be a list of user names");
    if (cJSON_GetArraySize(v) > f->max)
        return fail(msg, cap, "must have at most %d entries", f->max);
    int i = 1;
    const cJSON *a;
    cJSON_ArrayForEach(a, v)
        if (!agent_ok(x, a, i++, msg, cap))
            return false;
    *out = cJSON_Duplicate(v, 1);
    return true;
}

/* Printable ASCII: a secret is pasted into other systems' configuration. */
static bool secret_ok(const char *s, int max)
{
    size_t n = strlen(s);
    if (n < 16 || n > (size_t)max)
        return false;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p <= 0x20 || *p >= 0x7f)
            return false;
    return true;
}

static bool check_secret(const vctx *x, const field *f, const cJSON *v, cJSON **out, char *msg, size_t cap)
{
    const char *s = cJSON_IsString(v) ? v->valuestring : NULL;
    char fresh[65];
    if (s && strcmp(s, "regenerate") == 0) {
        new_secret(fresh);
        s = fresh;
    } else if (!s || !secret_ok(s, f->max)) {
        return fail(msg, cap, "must be \"regenerate\" or 16-%d printable ASCII characters without spaces", f->max);
    }
    *out = cJSON_CreateString(s);
    return true;
}

/* Every setting, in the order of docs/api.md: the output order, the
 * defaults and the checks come from this one table. */
static const field fields[] = {
    {"name", check_name, 63, NULL, NULL, "\"\""},
    {"website", check_url, 500, NULL, NULL, "\"\""},
    {"flow", check_flow, 127, NULL, NULL, "\"\""},
    {"primary", check_colour, 0, NULL, NULL, "\"#0b5fff\""},
    {"secondary", check_colour, 0, NULL, NULL, "\"#ffffff\""},
    {"align", check_enum, 0, "left", "right", "\"right\""},
    {"offset", check_int, 400, NULL, NULL, "20"},
    {"bot_name", check_line, 63, NULL, NULL, "\"Assistant\""},
    {"avatar", check_avatar, 500, NULL, NULL, "\"\""},
    {"welcome", check_message, 500, NULL, NULL, "\"Hi! How can we help?\""},
    {"prechat", check_bool, 0, NULL, NULL, "false"},
    {"privacy_url", check_url, 500, NULL, NULL, "\"\""},
    {"terms_url", check_url, 500, NULL, NULL, "\"\""},
    {"page_mode", check_enum, 0, "allow", "deny", "\"deny\""},
    {"pages", check_pages, 50, NULL, NULL, "[]"},
    {"after_hours", check_enum, 0, "message", "hide", "\"message\""},
    {"after_hours_message", check_message, 500, NULL, NULL,
     "\"We are away right now. Leave a message and we will get back to you.\""},
    {"agents", check_agents, 16, NULL, NULL, "[]"},
    {"quota", check_int, 10000000, NULL, NULL, "0"},
    {"identity_secret", check_secret, 79, NULL, NULL, "\"\""},
    {"identity_enforced", check_bool, 0, NULL, NULL, "false"},
};
enum { NFIELDS = sizeof fields / sizeof fields[0] };

static const field *field_of(const char *key)
{
    for (int i = 0; i < NFIELDS; i++)
        if (strcmp(fields[i].key, key) == 0)
            return &fields[i];
    return NULL;
}

static void add_error(cJSON *errors, const char *key, const char *message)
{
    if (!get(errors, key))
        cJSON_AddStringToObject(errors, key, message);
}

/* Checks every key of `in`: normalised values go into `patch`, one message
 * per bad key into `errors`. "zone" is what GET adds; it is ignored so a
 * page can send back what it read. */
static void validate(const vctx *x, const cJSON *in, cJSON *patch, cJSON *errors)
{
    const cJSON *v;
    cJSON_ArrayForEach(v, in) {
        const field *f = field_of(v->string);
        char msg[200] = "unknown setting";
        cJSON *out = NULL;
        if (!f && strcmp(v->string, "zone") == 0)
            continue;
        if (f && f->check(x, f, v, &out, msg, sizeof msg))
            set_item(patch, f->key, out);
        else
            add_error(errors, v->string, msg);
    }
}

static vctx make_vctx(rt_channels *c, const cJSON *current)
{
    vctx x = {c, current, NULL, NULL};
    pthread_mutex_lock(&c->lock);
    x.user_exists = c->user_exists;
    x.user_ctx = c->user_ctx;
    pthread_mutex_unlock(&c->lock);
    return x;
}

static cJSON *parse_object(const char *json, size_t len)
{
    cJSON *in = json ? cJSON_ParseWithLengthOpts(json, len, NULL, 0) : NULL;
    if (in && !cJSON_IsObject(in)) {
        cJSON_Delete(in);
        in = NULL;
    }
    return in;
}

/* Takes `errors`. */
static int reply_invalid(char **body, cJSON *errors)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "error", "invalid settings");
    cJSON_AddItemToObject(o, "fields", errors);
    return reply_json(body, 400, o);
}

/* ---- the mirror ------------------------------------------------------------------ */

static cJSON *defaults(const char *name, const char *flow)
{
    cJSON *o = cJSON_CreateObject();
    for (int i = 0; i < NFIELDS; i++)
        cJSON_AddItemToObject(o, fields[i].key, cJSON_ParseWithOpts(fields[i].def, NULL, 1));
    char secret[65];
    new_secret(secret);
    set_item(o, "name", cJSON_CreateString(name));
    set_item(o, "flow", cJSON_CreateString(flow));
    set_item(o, "identity_secret", cJSON_CreateString(secret));
    return o;
}

/* Copies the keys of `patch` over `settings`; returns how many it set. */
static int apply(cJSON *settings, const cJSON *patch)
{
    int n = 0;
    const cJSON *v;
    cJSON_ArrayForEach(v, patch)
        if (field_of(v->string)) {
            set_item(settings, v->string, cJSON_Duplicate(v, 1));
            n++;
        }
    return n;
}

static void copy_string(char *dst, size_t cap, const cJSON *o, const char *key)
{
    snprintf(dst, cap, "%s", str(o, key));
}

static void derive_info(channel *ch)
{
    rt_channel_info *i = &ch->info;
    const cJSON *s = ch->settings;
    memset(i, 0, sizeof *i);
    copy_string(i->name, sizeof i->name, s, "name");
    copy_string(i->flow, sizeof i->flow, s, "flow");
    copy_string(i->bot_name, sizeof i->bot_name, s, "bot_name");
    copy_string(i->identity_secret, sizeof i->identity_secret, s, "identity_secret");
    const cJSON *q = get(s, "quota");
    i->quota = cJSON_IsNumber(q) && q->valuedouble > 0 ? (int64_t)q->valuedouble : 0;
    i->identity_enforced = cJSON_IsTrue(get(s, "identity_enforced"));
    const cJSON *a;
    cJSON_ArrayForEach(a, get(s, "agents"))
        if (cJSON_IsString(a) && i->nagents < 16)
            snprintf(i->agents[i->nagents++], sizeof i->agents[0], "%s", a->valuestring);
}

static channel *find(rt_channels *c, const char *name)
{
    for (channel *ch = c->list; ch && name; ch = ch->next)
        if (strcmp(ch->info.name, name) == 0)
            return ch;
    return NULL;
}

/* Takes `settings`. */
static void insert(rt_channels *c, cJSON *settings)
{
    channel *ch = calloc(1, sizeof *ch);
    if (!ch) {
        cJSON_Delete(settings);
        return;
    }
    ch->settings = settings;
    derive_info(ch);
    channel **at = &c->list;
    while (*at && strcmp((*at)->info.name, ch->info.name) < 0)
        at = &(*at)->next;
    ch->next = *at;
    *at = ch;
}

static bool store_settings(rt_channels *c, const cJSON *settings)
{
    char *json = cJSON_PrintUnformatted(settings);
    if (!json)
        return false;
    rt_batch *b = rt_batch_new();
    rt_batch_record(b, "channel", str(settings, "name"), json);
    bool ok = c->store->ops->commit(c->store, b);
    rt_batch_free(b);
    free(json);
    if (!ok)
        rt_log("warn", "channel %s: could not store its settings", str(settings, "name"));
    return ok;
}

/* Commits new settings and only then shows them; ch NULL: a new channel.
 * Takes `settings`. Called with the lock held. */
static bool commit_locked(rt_channels *c, channel *ch, cJSON *settings)
{
    if (!store_settings(c, settings)) {
        cJSON_Delete(settings);
        return false;
    }
    if (!ch) {
        insert(c, settings);
        return true;
    }
    cJSON_Delete(ch->settings);
    ch->settings = settings;
    derive_info(ch);
    return true;
}

/* A copy of a channel's settings (NULL: no such channel). */
static cJSON *snapshot(rt_channels *c, const char *name)
{
    pthread_mutex_lock(&c->lock);
    channel *ch = find(c, name);
    cJSON *copy = ch ? cJSON_Duplicate(ch->settings, 1) : NULL;
    pthread_mutex_unlock(&c->lock);
    return copy;
}

/* Takes and returns `settings`, with the zone of its flow's hours. */
static cJSON *with_zone(rt_channels *c, cJSON *settings)
{
    const vm_program *p = current_program(c, str(settings, "flow"));
    const vm_tz *tz = p ? vm_program_zone(p) : NULL;
    cJSON_AddStringToObject(settings, "zone", tz && tz->name[0] ? tz->name : "UTC");
    return settings;
}

/* ---- life cycle -------------------------------------------------------------------- */

typedef struct loader {
    rt_channels *c;
    cJSON *stale; /* names of records that lacked keys: written back */
} loader;

static bool load_one(void *ctx, const char *key, const char *json)
{
    loader *l = ctx;
    cJSON *rec = cJSON_ParseWithOpts(json, NULL, 1);
    if (!cJSON_IsObject(rec) || !valid_name(key)) {
        rt_log("warn", "channel %s: unreadable settings record, skipped", key);
        cJSON_Delete(rec);
        return true;
    }
    cJSON *s = defaults(key, "");
    if (apply(s, rec) < NFIELDS) /* its defaults (a fresh secret) must not change at every start */
        cJSON_AddItemToArray(l->stale, cJSON_CreateString(key));
    set_item(s, "name", cJSON_CreateString(key));
    cJSON_Delete(rec);
    insert(l->c, s);
    return true;
}

rt_channels *rt_channels_new(rt_store *store, rt_flows *flows)
{
    if (sodium_init() < 0)
        return NULL;
    rt_channels *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->store = store;
    c->flows = flows;
    pthread_mutex_init(&c->lock, NULL);
    loader l = {c, cJSON_CreateArray()};
    if (!store->ops->records(store, "channel", load_one, &l))
        rt_log("warn", "could not read the channels from the store");
    const cJSON *name;
    cJSON_ArrayForEach(name, l.stale) {
        channel *ch = find(c, name->valuestring);
        if (ch)
            store_settings(c, ch->settings);
    }
    cJSON_Delete(l.stale);
    return c;
}

void rt_channels_free(rt_channels *c)
{
    if (!c)
        return;
    while (c->list) {
        channel *ch = c->list;
        c->list = ch->next;
        cJSON_Delete(ch->settings);
        free(ch);
    }
    pthread_mutex_destroy(&c->lock);
    free(c);
}

void rt_channels_set_user_check(rt_channels *c, rt_user_exists_fn fn, void *ctx)
{
    pthread_mutex_lock(&c->lock);
    c->user_exists = fn;
    c->user_ctx = ctx;
    pthread_mutex_unlock(&c->lock);
}

/* Called with the lock held. */
static bool rebind_locked(rt_channels *c, channel *ch, const char *flow)
{
    if (strcmp(ch->info.flow, flow) == 0)
        return true;
    cJSON *s = cJSON_Duplicate(ch->settings, 1);
    set_item(s, "flow", cJSON_CreateString(flow));
    return commit_locked(c, ch, s);
}

bool rt_channels_ensure(rt_channels *c, const char *name, const char *flow, char *err, size_t errlen)
{
    if (!valid_name(name)) {
        snprintf(err, errlen, "bad channel name \"%s\": use 1-63 characters of a-z, 0-9, _ and -", name ? name : "");
        return false;
    }
    if (!flow || !flow[0] || strlen(flow) > 127) {
        snprintf(err, errlen, "channel %s: the flow name must be 1-127 bytes", name);
        return false;
    }
    pthread_mutex_lock(&c->lock);
    channel *ch = find(c, name);
    bool ok = ch ? rebind_locked(c, ch, flow) : commit_locked(c, NULL, defaults(name, flow));
    pthread_mutex_unlock(&c->lock);
    if (!ok)
        snprintf(err, errlen, "channel %s: could not store its settings", name);
    return ok;
}

/* ---- the hot path ------------------------------------------------------------------ */

bool rt_channels_get(rt_channels *c, const char *name, rt_channel_info *out)
{
    pthread_mutex_lock(&c->lock);
    channel *ch = find(c, name);
    if (ch)
        *out = ch->info;
    pthread_mutex_unlock(&c->lock);
    return ch != NULL;
}

bool rt_channels_agent_allowed(rt_channels *c, const char *channel_name, const char *user)
{
    bool ok = false;
    pthread_mutex_lock(&c->lock);
    channel *ch = find(c, channel_name);
    if (ch) {
        ok = ch->info.nagents == 0;
        for (int i = 0; i < ch->info.nagents && !ok && user; i++)
            ok = strcmp(ch->info.agents[i], user) == 0;
    }
    pthread_mutex_unlock(&c->lock);
    return ok;
}

static bool hmac_matches(const char *secret, const char *user_id, const char *hex)
{
    unsigned char want[crypto_auth_hmacsha256_BYTES], got[crypto_auth_hmacsha256_BYTES];
    size_t n = 0, hexlen = strlen(hex);
    if (hexlen != 2 * sizeof got || sodium_hex2bin(got, sizeof got, hex, hexlen, NULL, &n, NULL) != 0 ||
        n != sizeof got)
        return false;
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, (const unsigned char *)secret, strlen(secret));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)user_id, strlen(user_id));
    crypto_auth_hmacsha256_final(&st, want);
    return sodium_memcmp(want, got, sizeof got) == 0;
}

bool rt_channels_identity_ok(rt_channels *c, const char *channel_name, const char *user_id, const char *user_hash)
{
    char secret[80];
    bool enforced = false;
    pthread_mutex_lock(&c->lock);
    channel *ch = find(c, channel_name);
    if (ch) {
        memcpy(secret, ch->info.identity_secret, sizeof secret);
        enforced = ch->info.identity_enforced;
    }
    pthread_mutex_unlock(&c->lock);
    if (!ch)
        return false;
    bool ok;
    if (!user_hash || !user_hash[0])
        ok = !enforced;
    else
        ok = user_id && user_id[0] && hmac_matches(secret, user_id, user_hash);
    sodium_memzero(secret, sizeof secret);
    return ok;
}

/* ---- page rules ------------------------------------------------------------------ */

/* '*' any run (across '/'), '?' one byte, the rest literally. Iterative
 * with one backtracking point: linear in practice, never exponential. */
static bool glob_match(const char *p, const char *s, size_t n)
{
    const char *star = NULL;
    size_t i = 0, star_i = 0;
    while (i < n) {
        if (*p == '*') {
            star = ++p;
            star_i = i;
        } else if (*p && (*p == '?' || *p == s[i])) {
            p++;
            i++;
        } else if (star) {
            p = star;
            i = ++star_i;
        } else {
            return false;
        }
    }
    while (*p == '*')
        p++;
    return *p == '\0';
}

/* The path the rules see: no query string or fragment, and only the path
 * when the widget sent a whole URL ("https://site/x?y" is "/x"). */
static size_t page_path(const char *page, const char **path)
{
    const char *scheme = strstr(page, "://");
    if (scheme && (size_t)(scheme - page) + 1 == strcspn(page, "/?#")) {
        page = scheme + 3;
        page += strcspn(page, "/?#");
    }
    size_t n = strcspn(page, "?#");
    *path = n ? page : "/";
    return n ? n : 1;
}

static bool pages_match(const cJSON *settings, const char *page)
{
    const char *path;
    size_t n = page_path(page ? page : "/", &path);
    bool allow = strcmp(str(settings, "page_mode"), "allow") == 0;
    const cJSON *g;
    cJSON_ArrayForEach(g, get(settings, "pages"))
        if (cJSON_IsString(g) && glob_match(g->valuestring, path, n))
            return allow;
    return !allow;
}

bool rt_channels_page_allowed(rt_channels *c, const char *name, const char *page)
{
    pthread_mutex_lock(&c->lock);
    channel *ch = find(c, name);
    bool ok = ch && pages_match(ch->settings, page);
    pthread_mutex_unlock(&c->lock);
    return ok;
}

/* ---- the admin API ------------------------------------------------------------------ */

int rt_channels_list(rt_channels *c, char **body)
{
    cJSON *all = cJSON_CreateArray();
    pthread_mutex_lock(&c->lock);
    for (channel *ch = c->list; ch; ch = ch->next)
        cJSON_AddItemToArray(all, cJSON_Duplicate(ch->settings, 1));
    pthread_mutex_unlock(&c->lock);
    cJSON *s;
    cJSON_ArrayForEach(s, all)
        with_zone(c, s);
    return reply_json(body, 200, all);
}

int rt_channels_get_json(rt_channels *c, const char *name, char **body)
{
    cJSON *s = snapshot(c, name);
    if (!s)
        return reply_error(body, 404, "no such channel");
    return reply_json(body, 200, with_zone(c, s));
}

/* Stores a new channel unless the name is taken; takes `settings`. */
static int add_channel(rt_channels *c, cJSON *settings, char **body)
{
    pthread_mutex_lock(&c->lock);
    bool exists = find(c, str(settings, "name")) != NULL;
    cJSON *copy = exists ? NULL : cJSON_Duplicate(settings, 1);
    bool stored = !exists && commit_locked(c, NULL, settings);
    pthread_mutex_unlock(&c->lock);
    if (exists) {
        cJSON_Delete(settings);
        return reply_error(body, 409, "a channel with this name exists");
    }
    if (!stored) {
        cJSON_Delete(copy);
        return reply_error(body, 500, "could not store the channel");
    }
    return reply_json(body, 201, with_zone(c, copy));
}

int rt_channels_create(rt_channels *c, const char *json, size_t len, char **body)
{
    cJSON *in = parse_object(json, len);
    if (!in)
        return reply_error(body, 400, "the body must be a JSON object");
    cJSON *patch = cJSON_CreateObject(), *errors = cJSON_CreateObject();
    vctx x = make_vctx(c, NULL);
    validate(&x, in, patch, errors);
    if (!get(in, "name"))
        add_error(errors, "name", "is required");
    if (!get(in, "flow"))
        add_error(errors, "flow", "is required");
    cJSON_Delete(in);
    if (errors->child) {
        cJSON_Delete(patch);
        return reply_invalid(body, errors);
    }
    cJSON_Delete(errors);
    cJSON *settings = defaults("", "");
    apply(settings, patch);
    cJSON_Delete(patch);
    return add_channel(c, settings, body);
}

/* Applies a validated patch to the channel as it is now; takes `patch`. */
static int update_channel(rt_channels *c, const char *name, cJSON *patch, char **body)
{
    pthread_mutex_lock(&c->lock);
    channel *ch = find(c, name);
    cJSON *next = ch ? cJSON_Duplicate(ch->settings, 1) : NULL;
    if (next)
        apply(next, patch);
    cJSON *copy = next ? cJSON_Duplicate(next, 1) : NULL;
    bool stored = ch && commit_locked(c, ch, next);
    pthread_mutex_unlock(&c->lock);
    cJSON_Delete(patch);
    if (!ch)
        return reply_error(body, 404, "no such channel");
    if (!stored) {
        cJSON_Delete(copy);
        return reply_error(body, 500, "could not store the channel");
    }
    return reply_json(body, 200, with_zone(c, copy));
}

int rt_channels_put(rt_channels *c, const char *name, const char *json, size_t len, char **body)
{
    cJSON *current = snapshot(c, name);
    if (!current)
        return reply_error(body, 404, "no such channel");
    cJSON *in = parse_object(json, len);
    if (!in) {
        cJSON_Delete(current);
        return reply_error(body, 400, "the body must be a JSON object");
    }
    cJSON *patch = cJSON_CreateObject(), *errors = cJSON_CreateObject();
    vctx x = make_vctx(c, current);
    validate(&x, in, patch, errors);
    if (get(patch, "name") && strcmp(str(patch, "name"), name) != 0)
        add_error(errors, "name", "cannot be changed (create a new channel instead)");
    cJSON_Delete(in);
    cJSON_Delete(current);
    if (errors->child) {
        cJSON_Delete(patch);
        return reply_invalid(body, errors);
    }
    cJSON_Delete(errors);
    return update_channel(c, name, patch, body);
}

static int by_name(const void *a, const void *b) { return strcmp(*(const char *const *)a, *(const char *const *)b); }

int rt_channels_flows(rt_channels *c, char **body)
{
    const char *names[512];
    int n = c->flows ? rt_flows_names(c->flows, names, 512) : 0;
    qsort(names, (size_t)n, sizeof names[0], by_name);
    cJSON *all = cJSON_CreateArray();
    for (int i = 0; i < n; i++) {
        const vm_program *p = rt_flows_current(c->flows, names[i]);
        if (!p)
            continue;
        char version[17];
        snprintf(version, sizeof version, "%016llx", (unsigned long long)vm_program_id(p));
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", names[i]);
        cJSON_AddStringToObject(o, "version", version);
        cJSON_AddNumberToObject(o, "nodes", vm_program_node_count(p));
        cJSON_AddItemToArray(all, o);
    }
    return reply_json(body, 200, all);
}

/* ---- the widget ---------------------------------------------------------------------- */

static void copy_keys(cJSON *to, const cJSON *from, const char *const *keys, int n)
{
    for (int i = 0; i < n; i++) {
        const cJSON *v = get(from, keys[i]);
        if (v)
            cJSON_AddItemToObject(to, keys[i], cJSON_Duplicate(v, 1));
    }
}

/* Only what a visitor's browser may see: no secret, agents or quota. */
static cJSON *public_config(const cJSON *s, bool open, bool page_ok)
{
    static const char *const look[] = {"primary", "secondary", "align",   "offset",      "bot_name",
                                       "avatar",  "welcome",   "prechat", "privacy_url", "terms_url"};
    static const char *const after[] = {"after_hours", "after_hours_message"};
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "channel", str(s, "name"));
    copy_keys(o, s, look, (int)(sizeof look / sizeof look[0]));
    bool hide = strcmp(str(s, "after_hours"), "hide") == 0;
    cJSON_AddBoolToObject(o, "visible", page_ok && (open || !hide));
    cJSON_AddBoolToObject(o, "open_now", open);
    copy_keys(o, s, after, 2);
    cJSON_AddBoolToObject(o, "identity_required", cJSON_IsTrue(get(s, "identity_enforced")));
    return o;
}

/* Without hours (or without a loaded flow) a channel is always open. */
static bool open_now(rt_channels *c, const char *flow, int64_t now)
{
    const vm_program *p = current_program(c, flow);
    return !p || vm_program_hours_count(p) == 0 || vm_program_open_at(p, now);
}

int rt_channels_widget_config(rt_channels *c, const char *name, const char *page, int64_t now, char **body)
{
    cJSON *s = snapshot(c, name);
    if (!s)
        return reply_error(body, 404, "no such channel");
    bool page_ok = pages_match(s, page);
    cJSON *o = public_config(s, open_now(c, str(s, "flow"), now), page_ok);
    cJSON_Delete(s);
    return reply_json(body, 200, o);
}
