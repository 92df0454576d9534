/* rt_auth.c - accounts and sessions (see rt_auth.h).
 *
 * Memory is the truth for reads; the store is written first for changes.
 * Every change builds a batch, commits it while holding the lock and only
 * then changes memory, so memory never runs ahead of what a restart would
 * find, and a logout cannot be overtaken by a late write that brings the
 * session back. Writes are rare (logins, logouts, account edits, one
 * last_used a minute per session), so holding the lock over them is cheap;
 * the expensive part, argon2id, always runs outside the lock.
 */
#include <cjson/cJSON.h>
#include <pthread.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rt_auth.h"
#include "rt_log.h"
#include "vm_text.h"

#define BUCKETS 1024
#define DEFAULT_CAPACITY 10
#define MAX_CAPACITY 1000
#define MIN_PASSWORD 8
#define MAX_PASSWORD 256
/* Expired sessions stay this long to answer "expired" rather than "none". */
#define EXPIRED_KEEP_SECONDS (24 * 3600)
#define SWEEP_EVERY_SECONDS 60

typedef struct account {
    rt_user u;
    char hash[crypto_pwhash_STRBYTES];
    uint64_t gen; /* bumped by every password change (see login) */
} account;

typedef struct session {
    char key[65]; /* SHA-256 hex of the token */
    char user[64];
    char csrf[65];
    int64_t created, last_used, stored_used; /* stored_used: last_used as the store has it */
    struct session *next;
} session;

/* Recent failed logins of one account name ("u:") or address ("a:"). */
typedef struct counter {
    char key[72];
    int64_t fail[RT_AUTH_MAX_FAILURES]; /* oldest first */
    int n;
    int pending; /* attempts being checked right now */
    struct counter *next;
} counter;

struct rt_auth {
    rt_store *store;
    pthread_mutex_t lock; /* everything below */
    account *users;       /* sorted by login name */
    int nusers, cap;
    session *sessions[BUCKETS];
    counter *counters[BUCKETS];
    int64_t last_sweep;
    char dummy[crypto_pwhash_STRBYTES]; /* what unknown users are checked against */
};

/* ---- helpers ------------------------------------------------------------------ */

static void set_err(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || !errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static unsigned bucket(const char *s)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h % BUCKETS;
}

/* Copies at most size - 1 bytes: sources may be fixed arrays without a terminator. */
static void copy_str(char *dst, size_t size, const char *src)
{
    snprintf(dst, size, "%.*s", (int)(size - 1), src ? src : "");
}

static bool is_hex64(const char *s)
{
    if (!s || strlen(s) != 64)
        return false;
    for (; *s; s++)
        if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
            return false;
    return true;
}

/* 1-63 of [a-z0-9._-], starting with a letter or digit (see rt_auth.h). */
static bool valid_login(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > 63 || !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= '0' && s[0] <= '9')))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || strchr("._-", s[i])))
            return false;
    return true;
}

/* Display names end up in every agent's inbox: valid UTF-8 without control
 * characters, so they print as they are. */
static bool valid_display(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 63 || !vm_text_valid_utf8(s, n))
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return false;
    return true;
}

static bool valid_role(const char *s) { return strcmp(s, "admin") == 0 || strcmp(s, "agent") == 0; }

static bool check_password(const char *pw, char *err, size_t errlen)
{
    size_t chars = vm_text_codepoints(pw, strlen(pw));
    if (chars < MIN_PASSWORD) {
        set_err(err, errlen, "password too short: at least %d characters", MIN_PASSWORD);
        return false;
    }
    if (chars > MAX_PASSWORD) {
        set_err(err, errlen, "password too long: at most %d characters", MAX_PASSWORD);
        return false;
    }
    return true;
}

static bool hash_password(const char *pw, char out[crypto_pwhash_STRBYTES], char *err, size_t errlen)
{
    if (crypto_pwhash_str(out, pw, strlen(pw), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                          crypto_pwhash_MEMLIMIT_INTERACTIVE) == 0)
        return true;
    set_err(err, errlen, "cannot hash the password (out of memory)");
    return false;
}

/* SHA-256 hex of a token's 64 characters: the session's key in memory and store. */
static void token_key(const char *token, char key[65])
{
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, (const unsigned char *)token, 64);
    sodium_bin2hex(key, 65, h, sizeof h);
}

static void random_hex(char out[65])
{
    unsigned char b[32];
    randombytes_buf(b, sizeof b);
    sodium_bin2hex(out, 65, b, sizeof b);
    sodium_memzero(b, sizeof b);
}

static bool commit(rt_auth *a, rt_batch *b)
{
    bool ok = a->store->ops->commit(a->store, b);
    rt_batch_free(b);
    return ok;
}

/* ---- records ------------------------------------------------------------------ */

static char *print_json(cJSON *o)
{
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!s)
        abort(); /* like rt_batch: nothing sensible to do without memory */
    return s;
}

static void batch_account(rt_batch *b, const account *ac)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "user", ac->u.user);
    cJSON_AddStringToObject(o, "name", ac->u.name);
    cJSON_AddStringToObject(o, "role", ac->u.role);
    cJSON_AddNumberToObject(o, "capacity", ac->u.capacity);
    cJSON_AddStringToObject(o, "hash", ac->hash);
    char *json = print_json(o);
    rt_batch_record(b, "user", ac->u.user, json);
    free(json);
}

static void batch_session(rt_batch *b, const session *s, int64_t last_used)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "user", s->user);
    cJSON_AddStringToObject(o, "csrf", s->csrf);
    cJSON_AddNumberToObject(o, "created", (double)s->created);
    cJSON_AddNumberToObject(o, "last_used", (double)last_used);
    char *json = print_json(o);
    rt_batch_record(b, "session", s->key, json);
    free(json);
}

static const char *json_str(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static bool json_num(const cJSON *o, const char *name, double *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    if (!cJSON_IsNumber(v))
        return false;
    *out = v->valuedouble;
    return true;
}

static bool parse_account(const char *key, const char *json, account *ac)
{
    cJSON *o = cJSON_Parse(json);
    const char *user = json_str(o, "user"), *name = json_str(o, "name"), *role = json_str(o, "role");
    const char *hash = json_str(o, "hash");
    double cap = 0;
    bool ok = user && name && role && hash && json_num(o, "capacity", &cap) && strcmp(user, key) == 0 &&
              valid_login(user) && valid_display(name) && valid_role(role) && cap >= 1 && cap <= MAX_CAPACITY &&
              strncmp(hash, "$argon2", 7) == 0 && strlen(hash) < sizeof ac->hash;
    if (ok) {
        *ac = (account){0};
        copy_str(ac->u.user, sizeof ac->u.user, user);
        copy_str(ac->u.name, sizeof ac->u.name, name);
        copy_str(ac->u.role, sizeof ac->u.role, role);
        ac->u.capacity = (int)cap;
        copy_str(ac->hash, sizeof ac->hash, hash);
    }
    cJSON_Delete(o);
    return ok;
}

static bool parse_session(const char *key, const char *json, session *s)
{
    cJSON *o = cJSON_Parse(json);
    const char *user = json_str(o, "user"), *csrf = json_str(o, "csrf");
    double created = 0, used = 0;
    bool ok = user && csrf && json_num(o, "created", &created) && json_num(o, "last_used", &used) &&
              is_hex64(key) && is_hex64(csrf) && valid_login(user);
    if (ok) {
        *s = (session){0};
        copy_str(s->key, sizeof s->key, key);
        copy_str(s->user, sizeof s->user, user);
        copy_str(s->csrf, sizeof s->csrf, csrf);
        s->created = (int64_t)created;
        s->last_used = s->stored_used = (int64_t)used;
    }
    cJSON_Delete(o);
    return ok;
}

/* ---- accounts in memory ---------------------------------------------------------- */

/* Index of a login name, or -(insertion point) - 1 (the list is sorted). */
static int find_index(const rt_auth *a, const char *user)
{
    int lo = 0, hi = a->nusers;
    while (lo < hi) {
        int mid = (lo + hi) / 2, c = strcmp(a->users[mid].u.user, user);
        if (c == 0)
            return mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -lo - 1;
}

static account *find_account(rt_auth *a, const char *user)
{
    int i = user ? find_index(a, user) : -1;
    return i >= 0 ? &a->users[i] : NULL;
}

static bool insert_account(rt_auth *a, const account *ac)
{
    int at = -find_index(a, ac->u.user) - 1;
    if (at < 0)
        return false;
    if (a->nusers == a->cap) {
        int cap = a->cap ? a->cap * 2 : 16;
        account *grown = realloc(a->users, (size_t)cap * sizeof *grown);
        if (!grown)
            return false;
        a->users = grown;
        a->cap = cap;
    }
    memmove(&a->users[at + 1], &a->users[at], (size_t)(a->nusers - at) * sizeof *a->users);
    a->users[at] = *ac;
    a->nusers++;
    return true;
}

static void remove_account(rt_auth *a, const char *user)
{
    int i = find_index(a, user);
    if (i < 0)
        return;
    memmove(&a->users[i], &a->users[i + 1], (size_t)(a->nusers - i - 1) * sizeof *a->users);
    a->nusers--;
}

/* ---- sessions in memory ------------------------------------------------------------ */

static session *find_session(rt_auth *a, const char *key)
{
    for (session *s = a->sessions[bucket(key)]; s; s = s->next)
        if (strcmp(s->key, key) == 0)
            return s;
    return NULL;
}

static void link_session(rt_auth *a, session *s)
{
    unsigned h = bucket(s->key);
    s->next = a->sessions[h];
    a->sessions[h] = s;
}

static void unlink_session(rt_auth *a, const session *gone)
{
    for (session **p = &a->sessions[bucket(gone->key)]; *p; p = &(*p)->next)
        if (*p == gone) {
            *p = gone->next;
            free((session *)gone);
            return;
        }
}

/* Adds deletions of a user's sessions to a batch (memory changes after the commit). */
static void batch_drop_sessions(rt_auth *a, rt_batch *b, const char *user)
{
    for (int i = 0; i < BUCKETS; i++)
        for (session *s = a->sessions[i]; s; s = s->next)
            if (strcmp(s->user, user) == 0)
                rt_batch_record(b, "session", s->key, NULL);
}

static void drop_sessions(rt_auth *a, const char *user)
{
    for (int i = 0; i < BUCKETS; i++)
        for (session **p = &a->sessions[i]; *p;) {
            session *s = *p;
            if (strcmp(s->user, user) == 0) {
                *p = s->next;
                free(s);
            } else {
                p = &s->next;
            }
        }
}

/* ---- loading --------------------------------------------------------------------- */

typedef struct load_ctx {
    rt_auth *a;
    rt_batch *orphans; /* sessions of accounts that are gone, deleted from the store */
    int skipped;
} load_ctx;

static bool load_user(void *ctx, const char *key, const char *json)
{
    load_ctx *l = ctx;
    account ac;
    if (!parse_account(key, json, &ac) || !insert_account(l->a, &ac))
        l->skipped++;
    return true;
}

static bool load_session(void *ctx, const char *key, const char *json)
{
    load_ctx *l = ctx;
    session tmp;
    if (!parse_session(key, json, &tmp)) {
        l->skipped++;
        return true;
    }
    if (!find_account(l->a, tmp.user)) {
        rt_batch_record(l->orphans, "session", key, NULL);
        return true;
    }
    session *s = malloc(sizeof *s);
    if (!s) {
        l->skipped++;
        return true;
    }
    *s = tmp;
    link_session(l->a, s);
    return true;
}

static bool load(rt_auth *a)
{
    load_ctx l = {a, rt_batch_new(), 0};
    if (!l.orphans)
        return false;
    bool ok = a->store->ops->records(a->store, "user", load_user, &l) &&
              a->store->ops->records(a->store, "session", load_session, &l);
    if (ok && !rt_batch_empty(l.orphans)) {
        if (!commit(a, l.orphans))
            rt_log("warn", "could not delete sessions of deleted accounts");
    } else {
        rt_batch_free(l.orphans);
    }
    if (l.skipped)
        rt_log("warn", "skipped %d unreadable account or session records", l.skipped);
    return ok;
}

rt_auth *rt_auth_new(rt_store *store)
{
    if (sodium_init() < 0)
        return NULL;
    rt_auth *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    a->store = store;
    pthread_mutex_init(&a->lock, NULL);
    char pw[65];
    random_hex(pw); /* no password matches the dummy */
    bool ok = hash_password(pw, a->dummy, NULL, 0) && load(a);
    if (!ok) {
        rt_log("error", "accounts and sessions cannot be loaded");
        rt_auth_free(a);
        return NULL;
    }
    return a;
}

static void free_counters(rt_auth *a)
{
    for (int i = 0; i < BUCKETS; i++)
        while (a->counters[i]) {
            counter *c = a->counters[i];
            a->counters[i] = c->next;
            free(c);
        }
}

void rt_auth_free(rt_auth *a)
{
    if (!a)
        return;
    for (int i = 0; i < BUCKETS; i++)
        while (a->sessions[i]) {
            session *s = a->sessions[i];
            a->sessions[i] = s->next;
            free(s);
        }
    free_counters(a);
    if (a->users) /* the hashes are no one's business after this */
        sodium_memzero(a->users, (size_t)a->cap * sizeof *a->users);
    free(a->users);
    pthread_mutex_destroy(&a->lock);
    free(a);
}

int rt_auth_user_count(rt_auth *a)
{
    pthread_mutex_lock(&a->lock);
    int n = a->nusers;
    pthread_mutex_unlock(&a->lock);
    return n;
}

/* ---- accounts ------------------------------------------------------------------------ */

/* Validates a new account and fills in the defaults of rt_auth.h. */
static bool new_account(const rt_user *u, const char *password, account *ac, char *err, size_t errlen)
{
    *ac = (account){.u = *u};
    /* A field that fills its array has no terminator: too long, not to be cut short. */
    if (!memchr(u->user, 0, sizeof u->user) || !valid_login(ac->u.user)) {
        set_err(err, errlen, "bad login name: 1-63 characters of a-z 0-9 . _ -, starting with a letter or digit");
        return false;
    }
    if (!ac->u.name[0])
        copy_str(ac->u.name, sizeof ac->u.name, ac->u.user);
    if (!ac->u.role[0])
        copy_str(ac->u.role, sizeof ac->u.role, "agent");
    if (!ac->u.capacity)
        ac->u.capacity = DEFAULT_CAPACITY;
    if (!memchr(u->name, 0, sizeof u->name) || !valid_display(ac->u.name)) {
        set_err(err, errlen, "bad display name: 1-63 bytes of text");
        return false;
    }
    if (!memchr(u->role, 0, sizeof u->role) || !valid_role(ac->u.role)) {
        set_err(err, errlen, "bad role: admin or agent");
        return false;
    }
    if (ac->u.capacity < 1 || ac->u.capacity > MAX_CAPACITY) {
        set_err(err, errlen, "bad capacity: 1-%d", MAX_CAPACITY);
        return false;
    }
    return check_password(password ? password : "", err, errlen);
}

typedef enum add_result { ADD_OK, ADD_FAILED, ADD_NOT_FIRST } add_result;

/* only_first: add only when there is no account at all (bootstrap), decided
 * under the same lock as the insert. */
static add_result add_account(rt_auth *a, const rt_user *u, const char *password, bool only_first, char *err,
                              size_t errlen)
{
    account ac;
    if (!new_account(u, password, &ac, err, errlen) || !hash_password(password, ac.hash, err, errlen))
        return ADD_FAILED;
    add_result r = ADD_FAILED;
    pthread_mutex_lock(&a->lock);
    if (only_first && a->nusers > 0) {
        r = ADD_NOT_FIRST;
    } else if (find_account(a, ac.u.user)) {
        set_err(err, errlen, "exists: user %s", ac.u.user);
    } else {
        rt_batch *b = rt_batch_new();
        batch_account(b, &ac);
        if (!commit(a, b))
            set_err(err, errlen, "store: the account could not be saved");
        else if (!insert_account(a, &ac))
            set_err(err, errlen, "out of memory");
        else
            r = ADD_OK;
    }
    pthread_mutex_unlock(&a->lock);
    sodium_memzero(&ac, sizeof ac);
    return r;
}

bool rt_auth_add_user(rt_auth *a, const rt_user *u, const char *password, char *err, size_t errlen)
{
    return add_account(a, u, password, false, err, errlen) == ADD_OK;
}

/* Applies the non-empty fields of `changes` to *ac, validated. */
static bool apply_changes(account *ac, const rt_user *changes, char *err, size_t errlen)
{
    if (!changes)
        return true;
    if (changes->name[0]) {
        copy_str(ac->u.name, sizeof ac->u.name, changes->name);
        if (!memchr(changes->name, 0, sizeof changes->name) || !valid_display(ac->u.name)) {
            set_err(err, errlen, "bad display name: 1-63 bytes of text");
            return false;
        }
    }
    if (changes->role[0]) {
        copy_str(ac->u.role, sizeof ac->u.role, changes->role);
        if (!memchr(changes->role, 0, sizeof changes->role) || !valid_role(ac->u.role)) {
            set_err(err, errlen, "bad role: admin or agent");
            return false;
        }
    }
    if (changes->capacity < 0 || changes->capacity > MAX_CAPACITY) {
        set_err(err, errlen, "bad capacity: 1-%d", MAX_CAPACITY);
        return false;
    }
    if (changes->capacity > 0)
        ac->u.capacity = changes->capacity;
    return true;
}

/* Checks everything that needs no lock, and hashes the new password, so
 * that the locked part is only bookkeeping. */
static bool prepare_update(rt_auth *a, const char *user, const rt_user *changes, const char *password,
                           char hash[crypto_pwhash_STRBYTES], char *err, size_t errlen)
{
    if (!rt_auth_get_user(a, user, NULL)) {
        set_err(err, errlen, "unknown user: %s", user ? user : "");
        return false;
    }
    /* The fields are checked on a stand-in too (and again under the lock on
     * the real account), so a bad one is reported before the hash is paid for. */
    account stand_in = {.u = {.name = "x", .role = "agent"}};
    if (!apply_changes(&stand_in, changes, err, errlen))
        return false;
    return !password || (check_password(password, err, errlen) && hash_password(password, hash, err, errlen));
}

bool rt_auth_update_user(rt_auth *a, const char *user, const rt_user *changes, const char *password, char *err,
                         size_t errlen)
{
    char hash[crypto_pwhash_STRBYTES];
    if (!prepare_update(a, user, changes, password, hash, err, errlen))
        return false;
    bool ok = false;
    pthread_mutex_lock(&a->lock);
    account *ac = find_account(a, user);
    account next = ac ? *ac : (account){0};
    if (!ac) {
        set_err(err, errlen, "unknown user: %s", user); /* deleted meanwhile */
    } else if (apply_changes(&next, changes, err, errlen)) {
        rt_batch *b = rt_batch_new();
        if (password) {
            memcpy(next.hash, hash, sizeof hash);
            next.gen++;
            batch_drop_sessions(a, b, user);
        }
        batch_account(b, &next);
        ok = commit(a, b);
        if (!ok)
            set_err(err, errlen, "store: the account could not be saved");
        else if (password)
            drop_sessions(a, user);
        if (ok)
            *ac = next;
    }
    pthread_mutex_unlock(&a->lock);
    sodium_memzero(hash, sizeof hash);
    return ok;
}

bool rt_auth_delete_user(rt_auth *a, const char *user, char *err, size_t errlen)
{
    bool ok = false;
    pthread_mutex_lock(&a->lock);
    if (!find_account(a, user)) {
        set_err(err, errlen, "unknown user: %s", user ? user : "");
    } else {
        rt_batch *b = rt_batch_new();
        batch_drop_sessions(a, b, user);
        rt_batch_record(b, "user", user, NULL);
        ok = commit(a, b);
        if (ok) {
            drop_sessions(a, user);
            remove_account(a, user);
        } else {
            set_err(err, errlen, "store: the account could not be deleted");
        }
    }
    pthread_mutex_unlock(&a->lock);
    return ok;
}

bool rt_auth_get_user(rt_auth *a, const char *user, rt_user *out)
{
    pthread_mutex_lock(&a->lock);
    account *ac = find_account(a, user);
    if (ac && out)
        *out = ac->u;
    pthread_mutex_unlock(&a->lock);
    return ac != NULL;
}

void rt_auth_each_user(rt_auth *a, bool (*fn)(void *ctx, const rt_user *u), void *ctx)
{
    pthread_mutex_lock(&a->lock);
    int n = a->nusers;
    rt_user *copy = malloc((size_t)(n ? n : 1) * sizeof *copy);
    for (int i = 0; copy && i < n; i++)
        copy[i] = a->users[i].u;
    pthread_mutex_unlock(&a->lock);
    if (!copy)
        return;
    for (int i = 0; i < n && fn(ctx, &copy[i]); i++)
        ;
    free(copy);
}

/* ---- failed-login counters ---------------------------------------------------------- */

static counter *find_counter(rt_auth *a, const char *key)
{
    for (counter *c = a->counters[bucket(key)]; c; c = c->next)
        if (strcmp(c->key, key) == 0)
            return c;
    return NULL;
}

static counter *get_counter(rt_auth *a, const char *key)
{
    counter *c = find_counter(a, key);
    if (c)
        return c;
    c = calloc(1, sizeof *c);
    if (!c)
        abort(); /* without a counter the limit would silently lapse */
    copy_str(c->key, sizeof c->key, key);
    unsigned h = bucket(c->key);
    c->next = a->counters[h];
    a->counters[h] = c;
    return c;
}

/* Forgets failures that left the window. */
static void prune(counter *c, int64_t now)
{
    int keep = 0;
    while (keep < c->n && c->fail[keep] <= now - RT_AUTH_WINDOW_SECONDS)
        keep++;
    memmove(c->fail, c->fail + keep, (size_t)(c->n - keep) * sizeof c->fail[0]);
    c->n -= keep;
}

/* Seconds until this counter allows an attempt; 0: now. */
static int wait_of(counter *c, int64_t now)
{
    if (!c)
        return 0;
    prune(c, now);
    if (c->n >= RT_AUTH_MAX_FAILURES) {
        int64_t wait = c->fail[0] + RT_AUTH_WINDOW_SECONDS - now;
        return (int)(wait > RT_AUTH_WINDOW_SECONDS ? RT_AUTH_WINDOW_SECONDS : wait); /* a clock set back */
    }
    return c->n + c->pending >= RT_AUTH_MAX_FAILURES ? 1 : 0; /* the answer is a moment away */
}

static void add_failure(counter *c, int64_t now)
{
    prune(c, now);
    if (c->n == RT_AUTH_MAX_FAILURES) {
        memmove(c->fail, c->fail + 1, (size_t)(c->n - 1) * sizeof c->fail[0]);
        c->n--;
    }
    c->fail[c->n++] = now;
}

/* Counter keys: the name as typed (cut to what a login name can be) and the address. */
static void counter_keys(const char *user, const char *addr, char ukey[72], char akey[72])
{
    snprintf(ukey, 72, "u:%.63s", user ? user : "");
    akey[0] = '\0';
    if (addr && addr[0])
        snprintf(akey, 72, "a:%.69s", addr);
}

static void sweep(rt_auth *a, int64_t now)
{
    a->last_sweep = now;
    rt_batch *b = rt_batch_new();
    for (int i = 0; i < BUCKETS; i++) {
        for (session **p = &a->sessions[i]; *p;) {
            session *s = *p;
            if (now - s->last_used >= RT_AUTH_IDLE_SECONDS + EXPIRED_KEEP_SECONDS) {
                rt_batch_record(b, "session", s->key, NULL);
                *p = s->next;
                free(s);
            } else {
                p = &s->next;
            }
        }
        for (counter **p = &a->counters[i]; *p;) {
            counter *c = *p;
            prune(c, now);
            if (c->n == 0 && c->pending == 0) {
                *p = c->next;
                free(c);
            } else {
                p = &c->next;
            }
        }
    }
    /* A failed delete only leaves expired records, swept again after a restart. */
    if (!rt_batch_empty(b)) {
        if (!commit(a, b))
            rt_log("warn", "could not delete expired sessions");
    } else {
        rt_batch_free(b);
    }
}

void rt_auth_sweep(rt_auth *a, int64_t now)
{
    pthread_mutex_lock(&a->lock);
    sweep(a, now);
    pthread_mutex_unlock(&a->lock);
}

/* ---- login ------------------------------------------------------------------------ */

/* What the hash check needs, copied under the lock. */
typedef struct attempt {
    counter *ucount, *acount; /* kept alive by their `pending` while unlocked */
    char hash[crypto_pwhash_STRBYTES];
    bool known;
    uint64_t gen;
} attempt;

/* The locked first half: the limit, then reserving the attempt. */
static int begin_attempt(rt_auth *a, const char *user, const char *addr, int64_t now, attempt *t)
{
    char ukey[72], akey[72];
    counter_keys(user, addr, ukey, akey);
    /* Look up without creating: limited attempts must not grow the table. */
    int wu = wait_of(find_counter(a, ukey), now);
    int wa = akey[0] ? wait_of(find_counter(a, akey), now) : 0;
    if (wu || wa)
        return wu > wa ? wu : wa;
    t->ucount = get_counter(a, ukey);
    t->acount = akey[0] ? get_counter(a, akey) : NULL;
    t->ucount->pending++;
    if (t->acount)
        t->acount->pending++;
    account *ac = find_account(a, user);
    t->known = ac != NULL;
    t->gen = ac ? ac->gen : 0;
    memcpy(t->hash, ac ? ac->hash : a->dummy, sizeof t->hash);
    return 0;
}

static bool create_session(rt_auth *a, const char *user, int64_t now, char token[65], char csrf[65])
{
    session *s = calloc(1, sizeof *s);
    if (!s)
        return false;
    random_hex(token);
    random_hex(s->csrf);
    token_key(token, s->key);
    copy_str(s->user, sizeof s->user, user);
    s->created = s->last_used = s->stored_used = now;
    rt_batch *b = rt_batch_new();
    batch_session(b, s, now);
    if (!commit(a, b))
        rt_log("warn", "a session of %s could not be stored; it ends with a restart", user);
    link_session(a, s);
    memcpy(csrf, s->csrf, 65);
    return true;
}

/* The locked second half: count the outcome; on success open a session. */
static bool finish_attempt(rt_auth *a, const char *user, attempt *t, bool right, int64_t now, rt_user *out,
                           char token[65], char csrf[65])
{
    t->ucount->pending--;
    if (t->acount)
        t->acount->pending--;
    account *ac = find_account(a, user);
    /* The password was right for the hash we read; not if it changed since. */
    right = right && t->known && ac && ac->gen == t->gen;
    if (!right) {
        add_failure(t->ucount, now);
        if (t->acount)
            add_failure(t->acount, now);
        return false;
    }
    t->ucount->n = 0;
    if (!create_session(a, user, now, token, csrf))
        return false;
    if (out)
        *out = ac->u;
    return true;
}

rt_login_result rt_auth_login(rt_auth *a, const char *user, const char *password, const char *addr, int64_t now,
                              rt_user *out, char token[65], char csrf[65], int *retry_after)
{
    token[0] = csrf[0] = '\0';
    if (retry_after)
        *retry_after = 0;
    attempt t = {0};
    pthread_mutex_lock(&a->lock);
    if (now - a->last_sweep >= SWEEP_EVERY_SECONDS)
        sweep(a, now);
    int wait = begin_attempt(a, user ? user : "", addr, now, &t);
    pthread_mutex_unlock(&a->lock);
    if (wait) {
        if (retry_after)
            *retry_after = wait;
        return RT_LOGIN_LIMITED;
    }
    const char *pw = password ? password : "";
    bool right = crypto_pwhash_str_verify(t.hash, pw, strlen(pw)) == 0;
    pthread_mutex_lock(&a->lock);
    bool ok = finish_attempt(a, user ? user : "", &t, right, now, out, token, csrf);
    pthread_mutex_unlock(&a->lock);
    sodium_memzero(&t, sizeof t);
    return ok ? RT_LOGIN_OK : RT_LOGIN_WRONG;
}

/* ---- sessions ------------------------------------------------------------------------ */

/* Writes last_used when the stored one is a minute old (under the lock). */
static void touch(rt_auth *a, session *s, int64_t now)
{
    if (now > s->last_used)
        s->last_used = now;
    if (s->last_used - s->stored_used < RT_AUTH_TOUCH_SECONDS)
        return;
    rt_batch *b = rt_batch_new();
    batch_session(b, s, s->last_used);
    if (commit(a, b)) /* else try again with the next request */
        s->stored_used = s->last_used;
}

rt_session_result rt_auth_session(rt_auth *a, const char *token, int64_t now, rt_user *out, char csrf[65])
{
    if (!is_hex64(token))
        return RT_SESSION_NONE;
    char key[65];
    token_key(token, key);
    rt_session_result r = RT_SESSION_NONE;
    pthread_mutex_lock(&a->lock);
    session *s = find_session(a, key);
    account *ac = s ? find_account(a, s->user) : NULL;
    if (s && ac && now - s->last_used >= RT_AUTH_IDLE_SECONDS) {
        r = RT_SESSION_EXPIRED;
    } else if (ac) {
        touch(a, s, now);
        if (out)
            *out = ac->u;
        if (csrf)
            memcpy(csrf, s->csrf, 65);
        r = RT_SESSION_OK;
    }
    pthread_mutex_unlock(&a->lock);
    return r;
}

void rt_auth_logout(rt_auth *a, const char *token)
{
    if (!is_hex64(token))
        return;
    char key[65];
    token_key(token, key);
    pthread_mutex_lock(&a->lock);
    session *s = find_session(a, key);
    if (s) {
        rt_batch *b = rt_batch_new();
        rt_batch_record(b, "session", key, NULL);
        if (!commit(a, b))
            rt_log("error", "a logout could not be stored; the session comes back with a restart");
        unlink_session(a, s);
    }
    pthread_mutex_unlock(&a->lock);
}

bool rt_auth_csrf_ok(const char *expected, const char *given)
{
    if (!expected || !given || !expected[0])
        return false;
    size_t n = strlen(expected);
    /* The length is not secret (always 64); the content is compared in constant time. */
    return strlen(given) == n && sodium_memcmp(expected, given, n) == 0;
}

/* ---- the first admin ---------------------------------------------------------------- */

bool rt_auth_bootstrap(rt_auth *a, const char *spec, char *err, size_t errlen)
{
    set_err(err, errlen, "%s", "");
    if (!spec || !spec[0])
        return false;
    const char *colon = strchr(spec, ':');
    rt_user u = {.capacity = DEFAULT_CAPACITY};
    copy_str(u.role, sizeof u.role, "admin");
    size_t n = colon ? (size_t)(colon - spec) : 0;
    if (!colon || n == 0) {
        set_err(err, errlen, "FLOWD_ADMIN must be name:password");
        return false;
    }
    if (n >= sizeof u.user) {
        set_err(err, errlen, "FLOWD_ADMIN: bad login name: at most %zu characters", sizeof u.user - 1);
        return false;
    }
    memcpy(u.user, spec, n);
    char msg[160];
    account check;
    if (!new_account(&u, colon + 1, &check, msg, sizeof msg)) {
        set_err(err, errlen, "FLOWD_ADMIN: %s", msg);
        return false;
    }
    if (rt_auth_user_count(a) > 0) /* spare the hash; add_account decides under the lock */
        return false;
    add_result r = add_account(a, &u, colon + 1, true, msg, sizeof msg);
    if (r == ADD_FAILED)
        set_err(err, errlen, "FLOWD_ADMIN: %s", msg);
    return r == ADD_OK;
}
