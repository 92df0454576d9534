/* test_rt_auth.c - accounts and sessions through rt_auth.h on a real SQLite
 * store: validation, what the store holds (hashes, never passwords or
 * tokens), logins and their rate limit, session expiry and refresh,
 * password changes, restarts, CSRF comparison and FLOWD_ADMIN. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <cjson/cJSON.h>
#include <pthread.h>
#include <sodium.h>

#include "rt_auth.h"

#define T0 1700000000 /* a fixed "now": nothing in rt_auth reads the clock */
#define PW "Correct-Horse-42"

/* ---- fixture: a store in a fresh directory ---------------------------------------- */

typedef struct fixture {
    char dir[64], path[96];
    rt_store *store;
    rt_auth *auth;
} fixture;

static void open_all(fixture *f)
{
    char err[256];
    f->store = rt_store_sqlite_open(&(rt_sqlite_options){.path = f->path}, err, sizeof err);
    if (!f->store)
        fprintf(stderr, "store: %s\n", err);
    assert_non_null(f->store);
    f->auth = rt_auth_new(f->store);
    assert_non_null(f->auth);
}

static void close_all(fixture *f)
{
    rt_auth_free(f->auth);
    f->store->ops->close(f->store);
    f->auth = NULL;
    f->store = NULL;
}

/* A restart: everything in memory is gone, the file stays. */
static void reopen(fixture *f)
{
    close_all(f);
    open_all(f);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    snprintf(f->dir, sizeof f->dir, "/tmp/test_rt_auth.XXXXXX");
    if (!mkdtemp(f->dir)) {
        free(f);
        return -1;
    }
    snprintf(f->path, sizeof f->path, "%s/flowd.db", f->dir);
    open_all(f);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    close_all(f);
    static const char *const suffixes[] = {"", "-wal", "-shm", "-journal"};
    for (int i = 0; i < 4; i++) {
        char p[128];
        snprintf(p, sizeof p, "%s%s", f->path, suffixes[i]);
        unlink(p);
    }
    rmdir(f->dir);
    free(f);
    return 0;
}

/* ---- helpers -------------------------------------------------------------------- */

static rt_user mk(const char *user, const char *name, const char *role, int capacity)
{
    rt_user u = {.capacity = capacity};
    snprintf(u.user, sizeof u.user, "%s", user);
    snprintf(u.name, sizeof u.name, "%s", name);
    snprintf(u.role, sizeof u.role, "%s", role);
    return u;
}

static void add_ok(fixture *f, const char *user, const char *role, const char *password)
{
    char err[256] = "";
    rt_user u = mk(user, "", role, 0);
    bool ok = rt_auth_add_user(f->auth, &u, password, err, sizeof err);
    if (!ok)
        fprintf(stderr, "add %s: %s\n", user, err);
    assert_true(ok);
}

/* Asserts that adding fails with a message starting with `prefix`. */
static void add_fails(fixture *f, rt_user u, const char *password, const char *prefix)
{
    char err[256] = "";
    assert_false(rt_auth_add_user(f->auth, &u, password, err, sizeof err));
    if (strncmp(err, prefix, strlen(prefix)) != 0)
        fprintf(stderr, "expected \"%s...\", got \"%s\"\n", prefix, err);
    assert_true(strncmp(err, prefix, strlen(prefix)) == 0);
}

static rt_login_result login(fixture *f, const char *user, const char *pw, const char *addr, int64_t now,
                             char token[65], int *retry)
{
    char csrf[65];
    rt_user u;
    int r = 0;
    rt_login_result res = rt_auth_login(f->auth, user, pw, addr, now, &u, token, csrf, &r);
    if (retry)
        *retry = r;
    return res;
}

static void login_ok(fixture *f, const char *user, const char *pw, int64_t now, char token[65])
{
    assert_int_equal(login(f, user, pw, "10.0.0.1", now, token, NULL), RT_LOGIN_OK);
}

static rt_session_result session(fixture *f, const char *token, int64_t now)
{
    rt_user u;
    char csrf[65];
    return rt_auth_session(f->auth, token, now, &u, csrf);
}

static void token_key(const char *token, char key[65])
{
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, (const unsigned char *)token, strlen(token));
    sodium_bin2hex(key, 65, h, sizeof h);
}

static bool is_hex64(const char *s)
{
    if (strlen(s) != 64)
        return false;
    for (; *s; s++)
        if (!strchr("0123456789abcdef", *s))
            return false;
    return true;
}

typedef struct counted {
    int n;
} counted;

static bool count_record(void *ctx, const char *key, const char *json)
{
    (void)key;
    (void)json;
    ((counted *)ctx)->n++;
    return true;
}

static int record_count(fixture *f, const char *kind)
{
    counted c = {0};
    assert_true(f->store->ops->records(f->store, kind, count_record, &c));
    return c.n;
}

/* A number field of a stored record. */
static int64_t stored_number(fixture *f, const char *kind, const char *key, const char *field)
{
    char *json = f->store->ops->get_record(f->store, kind, key);
    assert_non_null(json);
    cJSON *o = cJSON_Parse(json);
    cJSON *v = cJSON_GetObjectItemCaseSensitive(o, field);
    assert_true(cJSON_IsNumber(v));
    int64_t n = (int64_t)v->valuedouble;
    cJSON_Delete(o);
    free(json);
    return n;
}

/* True when `needle` occurs in the bytes of a file (missing file: false). */
static bool file_contains(const char *path, const char *needle)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return false;
    size_t n = strlen(needle), len = 0, cap = 1 << 16;
    char *buf = malloc(cap);
    size_t got;
    while ((got = fread(buf + len, 1, cap - len, fp)) > 0) {
        len += got;
        if (len == cap)
            buf = realloc(buf, cap *= 2);
    }
    fclose(fp);
    bool found = false;
    for (size_t i = 0; !found && i + n <= len; i++)
        found = memcmp(buf + i, needle, n) == 0;
    free(buf);
    return found;
}

static bool store_contains(fixture *f, const char *needle)
{
    char wal[128];
    snprintf(wal, sizeof wal, "%s-wal", f->path);
    return file_contains(f->path, needle) || file_contains(wal, needle);
}

static double seconds_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/* ---- accounts --------------------------------------------------------------------- */

typedef struct listed {
    char names[8][64];
    int n, stop_after;
} listed;

static bool list_user(void *ctx, const rt_user *u)
{
    listed *l = ctx;
    snprintf(l->names[l->n++], 64, "%s", u->user);
    return l->n != l->stop_after;
}

static void test_add_and_get_users(void **state)
{
    fixture *f = *state;
    char err[256];
    rt_user anna = mk("anna", "Anna Kowalska", "admin", 5);
    assert_true(rt_auth_add_user(f->auth, &anna, PW, err, sizeof err));
    add_ok(f, "bob", "", PW); /* every default */
    assert_int_equal(rt_auth_user_count(f->auth), 2);

    rt_user u;
    assert_true(rt_auth_get_user(f->auth, "anna", &u));
    assert_string_equal(u.user, "anna");
    assert_string_equal(u.name, "Anna Kowalska");
    assert_string_equal(u.role, "admin");
    assert_int_equal(u.capacity, 5);
    assert_true(rt_auth_get_user(f->auth, "bob", &u));
    assert_string_equal(u.name, "bob");
    assert_string_equal(u.role, "agent");
    assert_int_equal(u.capacity, 10);
    assert_false(rt_auth_get_user(f->auth, "carol", &u));
    assert_false(rt_auth_get_user(f->auth, NULL, &u));

    listed l = {.stop_after = -1};
    rt_auth_each_user(f->auth, list_user, &l);
    assert_int_equal(l.n, 2);
    assert_string_equal(l.names[0], "anna"); /* login-name order, not insertion order */
    assert_string_equal(l.names[1], "bob");
    listed first = {.stop_after = 1};
    rt_auth_each_user(f->auth, list_user, &first);
    assert_int_equal(first.n, 1);

    add_fails(f, mk("anna", "Other", "agent", 0), PW, "exists");
    assert_true(rt_auth_get_user(f->auth, "anna", &u));
    assert_string_equal(u.name, "Anna Kowalska");
}

static void test_add_validation(void **state)
{
    fixture *f = *state;
    static const char *const bad_names[] = {"", "Anna", "a b", "an\xc3\xa4", ".hidden", "..", "-x", "a/b", "a:b"};
    for (size_t i = 0; i < sizeof bad_names / sizeof bad_names[0]; i++)
        add_fails(f, mk(bad_names[i], "", "agent", 0), PW, "bad login name");
    rt_user full = mk("", "", "agent", 0); /* 64 bytes, no terminator: too long, not cut to 63 */
    memset(full.user, 'a', sizeof full.user);
    add_fails(f, full, PW, "bad login name");
    full = mk("anna", "", "agent", 0);
    memset(full.name, 'A', sizeof full.name);
    add_fails(f, full, PW, "bad display name");
    add_fails(f, mk("anna", "", "owner", 0), PW, "bad role");
    add_fails(f, mk("anna", "", "Admin", 0), PW, "bad role");
    add_fails(f, mk("anna", "", "agent", -1), PW, "bad capacity");
    add_fails(f, mk("anna", "", "agent", 1001), PW, "bad capacity");
    add_fails(f, mk("anna", "Line\nbreak", "agent", 0), PW, "bad display name");
    add_fails(f, mk("anna", "\xff\xfe", "agent", 0), PW, "bad display name");
    add_fails(f, mk("anna", "", "agent", 0), "seven77", "password too short");
    add_fails(f, mk("anna", "", "agent", 0), "", "password too short");
    add_fails(f, mk("anna", "", "agent", 0), NULL, "password too short");
    /* 7 characters in 14 bytes: lengths count characters */
    add_fails(f, mk("anna", "", "agent", 0), "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9",
              "password too short");
    char longpw[258];
    memset(longpw, 'p', 257);
    longpw[257] = '\0';
    add_fails(f, mk("anna", "", "agent", 0), longpw, "password too long");
    assert_int_equal(rt_auth_user_count(f->auth), 0);
    assert_int_equal(record_count(f, "user"), 0);

    /* the limits themselves are allowed */
    longpw[256] = '\0';
    char err[256];
    rt_user edge = mk("a.b_c-901234567890123456789012345678901234567890123456789012345", "", "agent", 1000);
    assert_int_equal(strlen(edge.user), 63);
    assert_true(rt_auth_add_user(f->auth, &edge, longpw, err, sizeof err));
    rt_user one = mk("9", "\xc3\x89lodie \xe2\x80\x94 support", "admin", 1);
    assert_true(rt_auth_add_user(f->auth, &one, "12345678", err, sizeof err));
    assert_int_equal(rt_auth_user_count(f->auth), 2);
}

static void test_store_keeps_hashes_only(void **state)
{
    fixture *f = *state;
    add_ok(f, "anna", "admin", PW);
    char token[65];
    login_ok(f, "anna", PW, T0, token);

    char *json = f->store->ops->get_record(f->store, "user", "anna");
    assert_non_null(json);
    cJSON *o = cJSON_Parse(json);
    const cJSON *hash = cJSON_GetObjectItemCaseSensitive(o, "hash");
    assert_true(cJSON_IsString(hash));
    assert_true(strncmp(hash->valuestring, "$argon2id$", 10) == 0);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(o, "role")->valuestring, "admin");
    assert_null(strstr(json, PW));
    cJSON_Delete(o);
    free(json);

    /* the session is stored under the token's SHA-256, the token nowhere */
    char key[65];
    token_key(token, key);
    json = f->store->ops->get_record(f->store, "session", key);
    assert_non_null(json);
    assert_null(strstr(json, token));
    assert_non_null(strstr(json, "\"user\":\"anna\""));
    free(json);
    assert_null(f->store->ops->get_record(f->store, "session", token));
    assert_false(store_contains(f, PW));
    assert_false(store_contains(f, token));
    reopen(f); /* checkpoints the WAL into the file */
    assert_false(store_contains(f, PW));
    assert_false(store_contains(f, token));
}

static void test_update_user(void **state)
{
    fixture *f = *state;
    char err[256];
    rt_user anna = mk("anna", "Anna", "agent", 3);
    assert_true(rt_auth_add_user(f->auth, &anna, PW, err, sizeof err));

    rt_user change = mk("", "Anna Kowalska", "", 0); /* only the name */
    assert_true(rt_auth_update_user(f->auth, "anna", &change, NULL, err, sizeof err));
    rt_user u;
    assert_true(rt_auth_get_user(f->auth, "anna", &u));
    assert_string_equal(u.name, "Anna Kowalska");
    assert_string_equal(u.role, "agent");
    assert_int_equal(u.capacity, 3);
    change = mk("ignored", "", "admin", 20);
    assert_true(rt_auth_update_user(f->auth, "anna", &change, NULL, err, sizeof err));
    assert_true(rt_auth_get_user(f->auth, "anna", &u));
    assert_string_equal(u.user, "anna"); /* no renaming */
    assert_string_equal(u.name, "Anna Kowalska");
    assert_string_equal(u.role, "admin");
    assert_int_equal(u.capacity, 20);
    assert_false(rt_auth_get_user(f->auth, "ignored", NULL));
    assert_int_equal(stored_number(f, "user", "anna", "capacity"), 20);

    /* every refusal leaves the account as it was */
    static const struct {
        rt_user changes;
        const char *password, *prefix;
    } bad[] = {
        {{.role = "root"}, NULL, "bad role"},
        {{.capacity = 1001}, NULL, "bad capacity"},
        {{.capacity = -5}, NULL, "bad capacity"},
        {{.name = "tab\there"}, NULL, "bad display name"},
        {{.name = "New"}, "short", "password too short"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        assert_false(rt_auth_update_user(f->auth, "anna", &bad[i].changes, bad[i].password, err, sizeof err));
        assert_true(strncmp(err, bad[i].prefix, strlen(bad[i].prefix)) == 0);
    }
    rt_user full = {0}; /* a name of 64 bytes has no terminator: too long */
    memset(full.name, 'N', sizeof full.name);
    assert_false(rt_auth_update_user(f->auth, "anna", &full, NULL, err, sizeof err));
    assert_true(strncmp(err, "bad display name", 16) == 0);
    assert_false(rt_auth_update_user(f->auth, "nobody", &change, NULL, err, sizeof err));
    assert_true(strncmp(err, "unknown", 7) == 0);
    assert_false(rt_auth_update_user(f->auth, "nobody", NULL, "new-password", err, sizeof err));
    assert_true(strncmp(err, "unknown", 7) == 0);
    assert_true(rt_auth_get_user(f->auth, "anna", &u));
    assert_string_equal(u.name, "Anna Kowalska");
    assert_string_equal(u.role, "admin");
    assert_int_equal(u.capacity, 20);

    /* a new password (changes may be NULL) */
    assert_true(rt_auth_update_user(f->auth, "anna", NULL, "new-password", err, sizeof err));
    char token[65];
    assert_int_equal(login(f, "anna", PW, "10.0.0.1", T0, token, NULL), RT_LOGIN_WRONG);
    login_ok(f, "anna", "new-password", T0, token);
    assert_false(store_contains(f, "new-password"));
}

static void test_delete_user(void **state)
{
    fixture *f = *state;
    add_ok(f, "anna", "agent", PW);
    char token[65], err[256];
    login_ok(f, "anna", PW, T0, token);
    assert_true(rt_auth_delete_user(f->auth, "anna", err, sizeof err));
    assert_int_equal(session(f, token, T0 + 1), RT_SESSION_NONE);
    assert_int_equal(rt_auth_user_count(f->auth), 0);
    assert_int_equal(record_count(f, "user"), 0);
    assert_int_equal(record_count(f, "session"), 0);
    assert_false(rt_auth_delete_user(f->auth, "anna", err, sizeof err));
    assert_true(strncmp(err, "unknown", 7) == 0);
}

/* ---- logins ----------------------------------------------------------------------- */

static void test_login(void **state)
{
    fixture *f = *state;
    rt_user anna = mk("anna", "Anna Kowalska", "admin", 4);
    char err[256];
    assert_true(rt_auth_add_user(f->auth, &anna, PW, err, sizeof err));

    rt_user u = {0};
    char token[65], csrf[65];
    int retry = -1;
    assert_int_equal(rt_auth_login(f->auth, "anna", PW, "10.0.0.1", T0, &u, token, csrf, &retry), RT_LOGIN_OK);
    assert_string_equal(u.user, "anna");
    assert_string_equal(u.name, "Anna Kowalska");
    assert_string_equal(u.role, "admin");
    assert_int_equal(u.capacity, 4);
    assert_true(is_hex64(token));
    assert_true(is_hex64(csrf));
    assert_string_not_equal(token, csrf);
    assert_int_equal(retry, 0);

    char token2[65], csrf2[65];
    assert_int_equal(rt_auth_login(f->auth, "anna", PW, "10.0.0.1", T0, &u, token2, csrf2, NULL), RT_LOGIN_OK);
    assert_string_not_equal(token, token2); /* every login is a new session */
    assert_string_not_equal(csrf, csrf2);

    assert_int_equal(rt_auth_login(f->auth, "anna", "wrong-password", "10.0.0.1", T0, &u, token, csrf, &retry),
                     RT_LOGIN_WRONG);
    assert_string_equal(token, "");
    assert_string_equal(csrf, "");
    assert_int_equal(rt_auth_login(f->auth, "nobody", PW, "10.0.0.1", T0, &u, token, csrf, &retry), RT_LOGIN_WRONG);
    assert_int_equal(rt_auth_login(f->auth, "ANNA", PW, "10.0.0.1", T0, &u, token, csrf, &retry), RT_LOGIN_WRONG);
    assert_int_equal(rt_auth_login(f->auth, NULL, NULL, NULL, T0, &u, token, csrf, &retry), RT_LOGIN_WRONG);
    assert_int_equal(record_count(f, "session"), 2);
}

/* An unknown name must cost a full hash check: its time is compared with the
 * fastest of two plain verifications (noise only ever makes it slower). */
static void test_unknown_user_takes_a_hash(void **state)
{
    fixture *f = *state;
    char hash[crypto_pwhash_STRBYTES];
    assert_int_equal(crypto_pwhash_str(hash, PW, strlen(PW), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                                       crypto_pwhash_MEMLIMIT_INTERACTIVE),
                     0);
    double fastest = 1e9;
    for (int i = 0; i < 2; i++) {
        struct timespec t0;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        assert_int_not_equal(crypto_pwhash_str_verify(hash, "wrong", 5), 0);
        double s = seconds_since(&t0);
        fastest = s < fastest ? s : fastest;
    }
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    char token[65];
    assert_int_equal(login(f, "nobody", PW, "10.0.0.1", T0, token, NULL), RT_LOGIN_WRONG);
    assert_true(seconds_since(&t0) > fastest / 2);
}

static void test_limit_per_account(void **state)
{
    fixture *f = *state;
    add_ok(f, "anna", "agent", PW);
    char token[65], addr[32];
    int retry = -1;
    for (int i = 0; i < 5; i++) { /* from five addresses: the account's count */
        snprintf(addr, sizeof addr, "192.0.2.%d", i);
        assert_int_equal(login(f, "anna", "guess", addr, T0 + i, token, &retry), RT_LOGIN_WRONG);
        assert_int_equal(retry, 0);
    }
    /* the 6th attempt, even right and from a new address */
    assert_int_equal(login(f, "anna", "guess", "192.0.2.9", T0 + 10, token, &retry), RT_LOGIN_LIMITED);
    assert_int_equal(retry, 890); /* the first failure (T0) leaves the window at T0 + 900 */
    assert_int_equal(login(f, "anna", PW, "198.51.100.1", T0 + 100, token, &retry), RT_LOGIN_LIMITED);
    assert_int_equal(retry, 800);
    assert_string_equal(token, "");
    /* limited attempts do not count: the window does not move */
    assert_int_equal(login(f, "anna", PW, "198.51.100.1", T0 + 899, token, &retry), RT_LOGIN_LIMITED);
    assert_int_equal(retry, 1);
    /* other accounts from those addresses are fine */
    add_ok(f, "bob", "agent", PW);
    assert_int_equal(login(f, "bob", PW, "192.0.2.0", T0 + 100, token, NULL), RT_LOGIN_OK);
    /* once the oldest failure is 15 minutes old, one attempt is allowed again */
    assert_int_equal(login(f, "anna", PW, "198.51.100.1", T0 + 900, token, &retry), RT_LOGIN_OK);
    assert_int_equal(session(f, token, T0 + 901), RT_SESSION_OK);
    /* the success cleared the account's failures */
    for (int i = 0; i < 5; i++)
        assert_int_equal(login(f, "anna", "guess", "203.0.113.1", T0 + 901, token, NULL), RT_LOGIN_WRONG);
    assert_int_equal(login(f, "anna", PW, "203.0.113.2", T0 + 902, token, &retry), RT_LOGIN_LIMITED);
    assert_int_equal(retry, 899);
}

static void test_limit_per_address(void **state)
{
    fixture *f = *state;
    add_ok(f, "anna", "agent", PW);
    char token[65], name[32];
    int retry = -1;
    for (int i = 0; i < 5; i++) { /* five different names, mostly unknown: the address's count */
        snprintf(name, sizeof name, i ? "guess%d" : "anna", i);
        assert_int_equal(login(f, name, "guess", "192.0.2.7", T0 + 60 * i, token, &retry), RT_LOGIN_WRONG);
    }
    assert_int_equal(login(f, "anna", PW, "192.0.2.7", T0 + 300, token, &retry), RT_LOGIN_LIMITED);
    assert_int_equal(retry, 600);
    assert_int_equal(login(f, "someone-new", "x", "192.0.2.7", T0 + 300, token, &retry), RT_LOGIN_LIMITED);
    /* the account itself has only one failure: another address gets in */
    assert_int_equal(login(f, "anna", PW, "198.51.100.1", T0 + 300, token, &retry), RT_LOGIN_OK);
    /* a success elsewhere does not reset the address */
    assert_int_equal(login(f, "anna", PW, "192.0.2.7", T0 + 301, token, &retry), RT_LOGIN_LIMITED);
    assert_int_equal(retry, 599);
    assert_int_equal(login(f, "anna", PW, "192.0.2.7", T0 + 900, token, &retry), RT_LOGIN_OK);
}

/* An unknown name is limited like an account, so LIMITED does not tell them apart. */
static void test_limit_unknown_name(void **state)
{
    fixture *f = *state;
    char token[65], addr[32];
    int retry = -1;
    for (int i = 0; i < 5; i++) {
        snprintf(addr, sizeof addr, "192.0.2.%d", i);
        assert_int_equal(login(f, "ghost", "guess", addr, T0, token, NULL), RT_LOGIN_WRONG);
    }
    assert_int_equal(login(f, "ghost", "guess", "192.0.2.99", T0 + 1, token, &retry), RT_LOGIN_LIMITED);
    assert_int_equal(retry, 899);
}

typedef struct racer {
    fixture *f;
    int index;
    rt_login_result result;
} racer;

static void *race_login(void *arg)
{
    racer *r = arg;
    char token[65], addr[32];
    snprintf(addr, sizeof addr, "192.0.2.%d", r->index);
    r->result = login(r->f, "anna", "guess", addr, T0, token, NULL);
    return NULL;
}

/* Parallel guesses cannot slip past the limit while hashes are checked. */
static void test_limit_holds_under_parallel_guesses(void **state)
{
    fixture *f = *state;
    add_ok(f, "anna", "agent", PW);
    enum { N = 8 };
    racer r[N];
    pthread_t th[N];
    for (int i = 0; i < N; i++) {
        r[i] = (racer){f, i, RT_LOGIN_OK};
        assert_int_equal(pthread_create(&th[i], NULL, race_login, &r[i]), 0);
    }
    int wrong = 0, limited = 0;
    for (int i = 0; i < N; i++) {
        pthread_join(th[i], NULL);
        wrong += r[i].result == RT_LOGIN_WRONG;
        limited += r[i].result == RT_LOGIN_LIMITED;
    }
    assert_int_equal(wrong, 5);
    assert_int_equal(limited, N - 5);
    char token[65];
    assert_int_equal(login(f, "anna", PW, "198.51.100.1", T0 + 1, token, NULL), RT_LOGIN_LIMITED);
}

/* ---- sessions ---------------------------------------------------------------------- */

static void test_sessions_expire_and_refresh(void **state)
{
    fixture *f = *state;
    rt_user anna = mk("anna", "Anna", "agent", 0);
    char err[256], token[65], csrf[65], seen[65];
    assert_true(rt_auth_add_user(f->auth, &anna, PW, err, sizeof err));
    rt_user u;
    assert_int_equal(rt_auth_login(f->auth, "anna", PW, "10.0.0.1", T0, &u, token, csrf, NULL), RT_LOGIN_OK);

    memset(&u, 0, sizeof u);
    assert_int_equal(rt_auth_session(f->auth, token, T0 + 10, &u, seen), RT_SESSION_OK);
    assert_string_equal(u.user, "anna");
    assert_string_equal(u.name, "Anna");
    assert_string_equal(seen, csrf);

    /* each use restarts the 12 hours */
    int64_t last = T0 + 10;
    for (int i = 0; i < 3; i++) {
        last += RT_AUTH_IDLE_SECONDS - 1;
        assert_int_equal(session(f, token, last), RT_SESSION_OK);
    }
    assert_int_equal(session(f, token, last + RT_AUTH_IDLE_SECONDS), RT_SESSION_EXPIRED);
    assert_int_equal(session(f, token, last + RT_AUTH_IDLE_SECONDS + 5), RT_SESSION_EXPIRED); /* and stays so */

    /* a role change applies to the open session at once */
    char other[65];
    login_ok(f, "anna", PW, last, other);
    rt_user change = mk("", "", "admin", 0);
    assert_true(rt_auth_update_user(f->auth, "anna", &change, NULL, err, sizeof err));
    assert_int_equal(rt_auth_session(f->auth, other, last + 1, &u, seen), RT_SESSION_OK);
    assert_string_equal(u.role, "admin");
}

static void test_session_tokens_checked(void **state)
{
    fixture *f = *state;
    add_ok(f, "anna", "agent", PW);
    char token[65];
    login_ok(f, "anna", PW, T0, token);
    char upper[65], shorter[64], unknown[65];
    for (int i = 0; i < 65; i++)
        upper[i] = (char)(token[i] >= 'a' && token[i] <= 'f' ? token[i] - 32 : token[i]);
    memcpy(shorter, token, 63);
    shorter[63] = '\0';
    memset(unknown, 'a', 64);
    unknown[64] = '\0';
    static const char *const junk[] = {"", "zz", "not a token at all"};
    for (size_t i = 0; i < sizeof junk / sizeof junk[0]; i++)
        assert_int_equal(session(f, junk[i], T0), RT_SESSION_NONE);
    assert_int_equal(session(f, NULL, T0), RT_SESSION_NONE);
    if (strcmp(upper, token) != 0)
        assert_int_equal(session(f, upper, T0), RT_SESSION_NONE);
    assert_int_equal(session(f, shorter, T0), RT_SESSION_NONE);
    assert_int_equal(session(f, unknown, T0), RT_SESSION_NONE);
    char key[65];
    token_key(token, key);
    assert_int_equal(session(f, key, T0), RT_SESSION_NONE); /* the stored key is no token */
    assert_int_equal(session(f, token, T0), RT_SESSION_OK);
}

static void test_last_used_written_once_a_minute(void **state)
{
    fixture *f = *state;
    add_ok(f, "anna", "agent", PW);
    char token[65], key[65];
    login_ok(f, "anna", PW, T0, token);
    token_key(token, key);
    assert_int_equal(stored_number(f, "session", key, "created"), T0);
    assert_int_equal(stored_number(f, "session", key, "last_used"), T0);
    assert_int_equal(session(f, token, T0 + 30), RT_SESSION_OK);
    assert_int_equal(stored_number(f, "session", key, "last_used"), T0);
    assert_int_equal(session(f, token, T0 + 61), RT_SESSION_OK);
    assert_int_equal(stored_number(f, "session", key, "last_used"), T0 + 61);
    assert_int_equal(session(f, token, T0 + 100), RT_SESSION_OK);
    assert_int_equal(stored_number(f, "session", key, "last_used"), T0 + 61);
    assert_int_equal(stored_number(f, "session", key, "created"), T0);
}

static void test_logout(void **state)
{
    fixture *f = *state;
    add_ok(f, "anna", "agent", PW);
    char token[65], other[65];
    login_ok(f, "anna", PW, T0, token);
    login_ok(f, "anna", PW, T0, other);
    rt_auth_logout(f->auth, token);
    assert_int_equal(session(f, token, T0 + 1), RT_SESSION_NONE);
    assert_int_equal(session(f, other, T0 + 1), RT_SESSION_OK); /* only that one */
    assert_int_equal(record_count(f, "session"), 1);
    rt_auth_logout(f->auth, token); /* twice, junk: nothing happens */
    rt_auth_logout(f->auth, "junk");
    rt_auth_logout(f->auth, NULL);
    reopen(f);
    assert_int_equal(session(f, token, T0 + 2), RT_SESSION_NONE);
    assert_int_equal(session(f, other, T0 + 2), RT_SESSION_OK);
}

static void test_password_change_ends_sessions(void **state)
{
    fixture *f = *state;
    add_ok(f, "anna", "agent", PW);
    add_ok(f, "bob", "agent", PW);
    char a1[65], a2[65], b1[65], err[256];
    login_ok(f, "anna", PW, T0, a1);
    login_ok(f, "anna", PW, T0, a2);
    login_ok(f, "bob", PW, T0, b1);
    rt_user change = mk("", "Anna K", "", 0);
    assert_true(rt_auth_update_user(f->auth, "anna", &change, NULL, err, sizeof err));
    assert_int_equal(session(f, a1, T0 + 1), RT_SESSION_OK); /* other edits keep sessions */

    assert_true(rt_auth_update_user(f->auth, "anna", NULL, "another-password", err, sizeof err));
    assert_int_equal(session(f, a1, T0 + 2), RT_SESSION_NONE);
    assert_int_equal(session(f, a2, T0 + 2), RT_SESSION_NONE);
    assert_int_equal(session(f, b1, T0 + 2), RT_SESSION_OK);
    assert_int_equal(record_count(f, "session"), 1);
    reopen(f);
    assert_int_equal(session(f, a1, T0 + 3), RT_SESSION_NONE);
    assert_int_equal(session(f, b1, T0 + 3), RT_SESSION_OK);
}

static void test_session_survives_restart(void **state)
{
    fixture *f = *state;
    rt_user anna = mk("anna", "Anna Kowalska", "admin", 7);
    char err[256], token[65], csrf[65], seen[65];
    assert_true(rt_auth_add_user(f->auth, &anna, PW, err, sizeof err));
    rt_user u;
    assert_int_equal(rt_auth_login(f->auth, "anna", PW, "10.0.0.1", T0, &u, token, csrf, NULL), RT_LOGIN_OK);
    assert_int_equal(session(f, token, T0 + 120), RT_SESSION_OK); /* stored: a minute has passed */

    reopen(f);
    assert_int_equal(rt_auth_user_count(f->auth), 1);
    memset(&u, 0, sizeof u);
    assert_int_equal(rt_auth_session(f->auth, token, T0 + 120 + RT_AUTH_IDLE_SECONDS - 1, &u, seen), RT_SESSION_OK);
    assert_string_equal(seen, csrf);
    assert_string_equal(u.name, "Anna Kowalska");
    assert_string_equal(u.role, "admin");
    assert_int_equal(u.capacity, 7);
    char again[65];
    login_ok(f, "anna", PW, T0 + 200, again); /* the hash survived too */

    /* expiry survives a restart as well */
    int64_t late = T0 + 120 + 3 * RT_AUTH_IDLE_SECONDS;
    reopen(f);
    assert_int_equal(session(f, token, late), RT_SESSION_EXPIRED);
}

static void test_sweep_drops_old_sessions(void **state)
{
    fixture *f = *state;
    add_ok(f, "anna", "agent", PW);
    char token[65], fresh[65];
    login_ok(f, "anna", PW, T0, token);
    int64_t later = T0 + RT_AUTH_IDLE_SECONDS + 24 * 3600;
    login_ok(f, "anna", PW, later, fresh); /* a login sweeps too */
    assert_int_equal(session(f, token, later), RT_SESSION_NONE);
    assert_int_equal(session(f, fresh, later), RT_SESSION_OK);
    assert_int_equal(record_count(f, "session"), 1);
    rt_auth_sweep(f->auth, later + 2 * RT_AUTH_IDLE_SECONDS);
    assert_int_equal(record_count(f, "session"), 1); /* kept a day to answer "expired" */
    rt_auth_sweep(f->auth, later + RT_AUTH_IDLE_SECONDS + 24 * 3600);
    assert_int_equal(record_count(f, "session"), 0);
}

/* A session record whose account is gone (deleted by an older flowd or by
 * hand) is dropped when loading. */
static void test_orphan_sessions_dropped(void **state)
{
    fixture *f = *state;
    rt_batch *b = rt_batch_new();
    rt_batch_record(b, "session", "0000000000000000000000000000000000000000000000000000000000000000",
                    "{\"user\":\"gone\",\"csrf\":\"1111111111111111111111111111111111111111111111111111111111111111\","
                    "\"created\":1,\"last_used\":1}");
    assert_true(f->store->ops->commit(f->store, b));
    rt_batch_free(b);
    reopen(f);
    assert_int_equal(record_count(f, "session"), 0);
}

/* ---- CSRF and the first admin ------------------------------------------------------- */

static void test_csrf(void **state)
{
    (void)state;
    const char *t = "3f2a9c0e5b7d41e8a6c2f0b9d8e7a6c53f2a9c0e5b7d41e8a6c2f0b9d8e7a6c5";
    char copy[65], last[65];
    memcpy(copy, t, 65);
    memcpy(last, t, 65);
    last[63] = last[63] == '0' ? '1' : '0';
    assert_true(rt_auth_csrf_ok(t, copy));
    assert_false(rt_auth_csrf_ok(t, last));
    assert_false(rt_auth_csrf_ok(t, "3f2a9c0e"));
    assert_false(rt_auth_csrf_ok("3f2a9c0e", t));
    assert_false(rt_auth_csrf_ok(t, ""));
    assert_false(rt_auth_csrf_ok(t, NULL));
    assert_false(rt_auth_csrf_ok(NULL, t));
    assert_false(rt_auth_csrf_ok("", ""));
    assert_false(rt_auth_csrf_ok(NULL, NULL));
}

static void test_bootstrap(void **state)
{
    fixture *f = *state;
    char err[256] = "x";
    assert_false(rt_auth_bootstrap(f->auth, NULL, err, sizeof err));
    assert_string_equal(err, "");
    assert_false(rt_auth_bootstrap(f->auth, "", err, sizeof err));
    assert_string_equal(err, "");
    static const char *const malformed[] = {"admin", ":long-enough-password", "Admin:long-enough-password",
                                            "root:short", "root:",
                                            "a-login-name-that-is-far-too-long-for-an-account-0123456789abcdef:password"};
    for (size_t i = 0; i < sizeof malformed / sizeof malformed[0]; i++) {
        err[0] = '\0';
        assert_false(rt_auth_bootstrap(f->auth, malformed[i], err, sizeof err));
        assert_true(strncmp(err, "FLOWD_ADMIN", 11) == 0);
    }
    assert_int_equal(rt_auth_user_count(f->auth), 0);

    /* the password is everything after the first colon */
    assert_true(rt_auth_bootstrap(f->auth, "root:pass:word:123", err, sizeof err));
    rt_user u;
    assert_true(rt_auth_get_user(f->auth, "root", &u));
    assert_string_equal(u.role, "admin");
    char token[65];
    login_ok(f, "root", "pass:word:123", T0, token);

    /* once any account exists it does nothing, quietly; typos are still reported */
    assert_false(rt_auth_bootstrap(f->auth, "other:long-enough-password", err, sizeof err));
    assert_string_equal(err, "");
    assert_false(rt_auth_bootstrap(f->auth, "other", err, sizeof err));
    assert_true(strncmp(err, "FLOWD_ADMIN", 11) == 0);
    assert_int_equal(rt_auth_user_count(f->auth), 1);
    assert_false(rt_auth_get_user(f->auth, "other", NULL));
}

/* Bootstrapping does nothing when the only account is an agent, too. */
static void test_bootstrap_any_account_counts(void **state)
{
    fixture *f = *state;
    add_ok(f, "bob", "agent", PW);
    char err[256];
    assert_false(rt_auth_bootstrap(f->auth, "root:long-enough-password", err, sizeof err));
    assert_string_equal(err, "");
    assert_int_equal(rt_auth_user_count(f->auth), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_add_and_get_users, setup, teardown),
        cmocka_unit_test_setup_teardown(test_add_validation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_keeps_hashes_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_update_user, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete_user, setup, teardown),
        cmocka_unit_test_setup_teardown(test_login, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_user_takes_a_hash, setup, teardown),
        cmocka_unit_test_setup_teardown(test_limit_per_account, setup, teardown),
        cmocka_unit_test_setup_teardown(test_limit_per_address, setup, teardown),
        cmocka_unit_test_setup_teardown(test_limit_unknown_name, setup, teardown),
        cmocka_unit_test_setup_teardown(test_limit_holds_under_parallel_guesses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sessions_expire_and_refresh, setup, teardown),
        cmocka_unit_test_setup_teardown(test_session_tokens_checked, setup, teardown),
        cmocka_unit_test_setup_teardown(test_last_used_written_once_a_minute, setup, teardown),
        cmocka_unit_test_setup_teardown(test_logout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_password_change_ends_sessions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_session_survives_restart, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sweep_drops_old_sessions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_orphan_sessions_dropped, setup, teardown),
        cmocka_unit_test(test_csrf),
        cmocka_unit_test_setup_teardown(test_bootstrap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bootstrap_any_account_counts, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
