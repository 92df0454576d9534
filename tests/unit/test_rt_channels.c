/* test_rt_channels.c - channel settings over a real SQLite store and a real
 * flows folder: validation (every rule, several at once, nothing stored on
 * refusal), the admin API round trip and persistence, --channel's ensure,
 * page globs, signed identities, and the widget's configuration around the
 * opening hours of a Europe/Warsaw flow. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>
#include <cmocka.h>
#include <pthread.h>
#include <sodium.h>

#include "rt_channels.h"
#include "vm_tz.h"

/* ---- fixture ------------------------------------------------------------------------- */

static const char support_flow[] = "flow \"Support\"\n\n"
                                   "hours \"Europe/Warsaw\" {\n  mon-fri 09:00-17:00\n}\n\n"
                                   "node start {\n  say \"Hi\"\n}\n";
static const char plain_flow[] = "flow \"Plain\"\n\nnode start {\n  say \"Hello\"\n}\n";

typedef struct fx {
    char dir[64], flowdir[96], db[96];
    rt_store *store;
    rt_flows *flows;
    rt_channels *ch;
} fx;

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void open_all(fx *x)
{
    char err[256];
    x->store = rt_store_sqlite_open(&(rt_sqlite_options){.path = x->db}, err, sizeof err);
    if (!x->store)
        fprintf(stderr, "store: %s\n", err);
    assert_non_null(x->store);
    x->flows = rt_flows_open(x->flowdir, x->store, err, sizeof err);
    assert_non_null(x->flows);
    x->ch = rt_channels_new(x->store, x->flows);
    assert_non_null(x->ch);
}

static void close_all(fx *x)
{
    rt_channels_free(x->ch);
    rt_flows_close(x->flows);
    x->store->ops->close(x->store);
}

static int setup(void **state)
{
    fx *x = calloc(1, sizeof *x);
    snprintf(x->dir, sizeof x->dir, "/tmp/test_rt_channels-XXXXXX");
    assert_non_null(mkdtemp(x->dir));
    snprintf(x->flowdir, sizeof x->flowdir, "%s/flows", x->dir);
    snprintf(x->db, sizeof x->db, "%s/flowd.db", x->dir);
    char path[160];
    assert_int_equal(mkdir(x->flowdir, 0700), 0);
    snprintf(path, sizeof path, "%s/support.flow", x->flowdir);
    write_file(path, support_flow);
    snprintf(path, sizeof path, "%s/plain.flow", x->flowdir);
    write_file(path, plain_flow);
    open_all(x);
    *state = x;
    return 0;
}

static int teardown(void **state)
{
    fx *x = *state;
    close_all(x);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", x->dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", x->dir);
    free(x);
    return 0;
}

/* ---- helpers ------------------------------------------------------------------------- */

static int create(fx *x, const char *json, cJSON **out)
{
    char *body = NULL;
    int status = rt_channels_create(x->ch, json, strlen(json), &body);
    assert_non_null(body);
    *out = cJSON_Parse(body);
    assert_non_null(*out);
    free(body);
    return status;
}

static int put(fx *x, const char *name, const char *json, cJSON **out)
{
    char *body = NULL;
    int status = rt_channels_put(x->ch, name, json, strlen(json), &body);
    assert_non_null(body);
    *out = cJSON_Parse(body);
    assert_non_null(*out);
    free(body);
    return status;
}

static void put_ok(fx *x, const char *name, const char *json)
{
    cJSON *o;
    int status = put(x, name, json, &o);
    if (status != 200)
        fprintf(stderr, "PUT %s: %d\n", json, status);
    assert_int_equal(status, 200);
    cJSON_Delete(o);
}

static cJSON *get_json(fx *x, const char *name)
{
    char *body = NULL;
    int status = rt_channels_get_json(x->ch, name, &body);
    assert_int_equal(status, 200);
    cJSON *o = cJSON_Parse(body);
    free(body);
    assert_non_null(o);
    return o;
}

static const char *s_of(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    assert_true(cJSON_IsString(v));
    return v->valuestring;
}

static double n_of(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    assert_true(cJSON_IsNumber(v));
    return v->valuedouble;
}

static bool b_of(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    assert_true(cJSON_IsBool(v));
    return cJSON_IsTrue(v);
}

static bool is_hex64(const char *s)
{
    if (strlen(s) != 64)
        return false;
    for (int i = 0; i < 64; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return true;
}

static char *repeat(char ch, int n)
{
    char *s = malloc((size_t)n + 1);
    memset(s, ch, (size_t)n);
    s[n] = '\0';
    return s;
}

static int count_items(const cJSON *o)
{
    int n = 0;
    for (const cJSON *v = o ? o->child : NULL; v; v = v->next)
        n++;
    return n;
}

static char *stored(fx *x, const char *name) { return x->store->ops->get_record(x->store, "channel", name); }

/* UTC seconds of a UTC calendar time. */
static int64_t utc(int y, int mo, int d, int h, int mi, int s)
{
    return vm_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s;
}

/* ---- validation ------------------------------------------------------------------------ */

/* One bad key each (beside a valid name and flow): the field it must name. */
typedef struct bad_case {
    const char *json; /* the bad key and value, spliced into a valid body */
    const char *field;
} bad_case;

static const bad_case bad_cases[] = {
    {"\"website\": 5", "website"},
    {"\"website\": \"ftp://shop.example\"", "website"},
    {"\"website\": \"shop.example\"", "website"},
    {"\"website\": \"http://a\\u0001b\"", "website"},
    {"\"flow\": \"missing\"", "flow"},
    {"\"flow\": 7", "flow"},
    {"\"primary\": \"blue\"", "primary"},
    {"\"primary\": \"#12345\"", "primary"},
    {"\"primary\": \"#12345g\"", "primary"},
    {"\"primary\": \"#1234567\"", "primary"},
    {"\"secondary\": \"#fff\"", "secondary"},
    {"\"secondary\": 16777215", "secondary"},
    {"\"align\": \"center\"", "align"},
    {"\"align\": \"Left\"", "align"},
    {"\"offset\": -1", "offset"},
    {"\"offset\": 401", "offset"},
    {"\"offset\": 1.5", "offset"},
    {"\"offset\": \"20\"", "offset"},
    {"\"bot_name\": 3", "bot_name"},
    {"\"bot_name\": \"a\\nb\"", "bot_name"},
    {"\"bot_name\": \"\\u00ff\\u00ff\\u00ff\\u00ff\\u00ff\\u00ff\\u00ff\\u00ff\\u00ff\\u00ff\\u00ff\\u00ff"
     "\\u00ff\\u00ff\\u00ff\\u00ff\\u00ff\\u00ff\\u00ff\\u00ff\\u00ff\\u00ff\\u00ff\\u00ff\\u00ff\\u00ff"
     "\\u00ff\\u00ff\\u00ff\\u00ff\\u00ff\\u00ff\"", "bot_name"}, /* 32 characters, 64 bytes */
    {"\"avatar\": \"javascript:alert(1)\"", "avatar"},
    {"\"avatar\": \"ava.png\"", "avatar"},
    {"\"avatar\": \"/a b.png\"", "avatar"},
    {"\"welcome\": false", "welcome"},
    {"\"welcome\": \"tab\\there\"", "welcome"},
    {"\"prechat\": \"yes\"", "prechat"},
    {"\"prechat\": 1", "prechat"},
    {"\"privacy_url\": \"ftp://example.com\"", "privacy_url"},
    {"\"privacy_url\": \"http://\"", "privacy_url"},
    {"\"privacy_url\": \"https://a b\"", "privacy_url"},
    {"\"terms_url\": \"javascript:alert(1)\"", "terms_url"},
    {"\"terms_url\": \"//example.com/terms\"", "terms_url"},
    {"\"page_mode\": \"both\"", "page_mode"},
    {"\"pages\": \"/shop/*\"", "pages"},
    {"\"pages\": [\"shop/*\"]", "pages"},
    {"\"pages\": [\"/a b\"]", "pages"},
    {"\"pages\": [\"/a\\tb\"]", "pages"},
    {"\"pages\": [\"/ok\", \"/a/**\"]", "pages"},
    {"\"pages\": [5]", "pages"},
    {"\"after_hours\": \"close\"", "after_hours"},
    {"\"after_hours_message\": [\"x\"]", "after_hours_message"},
    {"\"agents\": \"anna\"", "agents"},
    {"\"agents\": [1]", "agents"},
    {"\"agents\": [\"\"]", "agents"},
    {"\"quota\": -1", "quota"},
    {"\"quota\": 10000001", "quota"},
    {"\"quota\": 2.5", "quota"},
    {"\"quota\": true", "quota"},
    {"\"identity_secret\": \"short\"", "identity_secret"},
    {"\"identity_secret\": \"has spaces in the secret\"", "identity_secret"},
    {"\"identity_secret\": 5", "identity_secret"},
    {"\"identity_enforced\": \"true\"", "identity_enforced"},
    {"\"identity_enforced\": 0", "identity_enforced"},
    {"\"colour\": \"#000000\"", "colour"},
};

/* Long values, built at run time. */
static char *long_case(int i, const char **field)
{
    static const struct { const char *key, *prefix; char fill; int n; bool array; } longs[] = {
        {"website", "https://", 'a', 493, false}, {"welcome", "", 'a', 501, false},
        {"after_hours_message", "", 'a', 501, false}, {"bot_name", "", 'a', 64, false},
        {"privacy_url", "https://", 'a', 493, false}, {"avatar", "/", 'a', 500, false},
        {"pages", "/", 'a', 200, true},
    };
    if (i >= (int)(sizeof longs / sizeof longs[0]))
        return NULL;
    char *fill = repeat(longs[i].fill, longs[i].n);
    char *json = malloc(strlen(fill) + 128);
    sprintf(json, longs[i].array ? "\"%s\": [\"%s%s\"]" : "\"%s\": \"%s%s\"", longs[i].key, longs[i].prefix, fill);
    free(fill);
    *field = longs[i].key;
    return json;
}

static char *many_case(int i, const char **field)
{
    static const struct { const char *key, *item; int n; } many[] = {{"pages", "\"/p\"", 51}, {"agents", "\"a\"", 17}};
    if (i >= 2)
        return NULL;
    char *json = malloc(1024);
    int len = sprintf(json, "\"%s\": [", many[i].key);
    for (int k = 0; k < many[i].n; k++)
        len += sprintf(json + len, "%s%s", k ? "," : "", many[i].item);
    sprintf(json + len, "]");
    *field = many[i].key;
    return json;
}

/* POST with the bad key refuses naming exactly that field and stores
 * nothing; PUT of the same key on an existing channel changes nothing. */
static void expect_refused(fx *x, const char *bad, const char *field, const char *before)
{
    char *json = malloc(strlen(bad) + 64);
    sprintf(json, "{\"name\": \"fresh\", \"flow\": \"support\", %s}", bad);
    cJSON *o;
    int status = create(x, json, &o);
    if (status != 400 || !cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(o, "fields"), field))
        fprintf(stderr, "case %s\n", bad);
    assert_int_equal(status, 400);
    assert_string_equal(s_of(o, "error"), "invalid settings");
    const cJSON *fields = cJSON_GetObjectItemCaseSensitive(o, "fields");
    assert_int_equal(count_items(fields), 1);
    assert_true(strlen(s_of(fields, field)) > 0);
    cJSON_Delete(o);
    assert_null(stored(x, "fresh"));
    sprintf(json, "{%s}", bad);
    status = put(x, "kept", json, &o);
    assert_int_equal(status, 400);
    assert_non_null(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(o, "fields"), field));
    cJSON_Delete(o);
    char *after = stored(x, "kept");
    assert_string_equal(after, before);
    free(after);
    free(json);
}

static void test_every_rule_refused(void **state)
{
    fx *x = *state;
    char err[128];
    assert_true(rt_channels_ensure(x->ch, "kept", "support", err, sizeof err));
    char *before = stored(x, "kept");
    assert_non_null(before);
    for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++)
        expect_refused(x, bad_cases[i].json, bad_cases[i].field, before);
    const char *field;
    char *json;
    for (int i = 0; (json = long_case(i, &field)) != NULL; i++) {
        expect_refused(x, json, field, before);
        free(json);
    }
    for (int i = 0; (json = many_case(i, &field)) != NULL; i++) {
        expect_refused(x, json, field, before);
        free(json);
    }
    free(before);
    char *body;
    assert_int_equal(rt_channels_list(x->ch, &body), 200);
    cJSON *all = cJSON_Parse(body);
    assert_int_equal(cJSON_GetArraySize(all), 1); /* only "kept" */
    cJSON_Delete(all);
    free(body);
}

/* The longest accepted values are accepted (the limits are not off by one). */
static void test_limits_accepted(void **state)
{
    fx *x = *state;
    char *a500 = repeat('a', 500), *a63 = repeat('a', 63), *a199 = repeat('a', 199);
    char *site = repeat('a', 500);
    memcpy(site, "https://", 8); /* a 500-byte URL */
    char *json = malloc(4096);
    sprintf(json,
            "{\"name\": \"%s\", \"flow\": \"plain\", \"website\": \"%s\", \"welcome\": \"%s\", \"bot_name\": \"%s\","
            " \"pages\": [\"/%s\"], \"offset\": 400, \"quota\": 10000000, \"primary\": \"#ABCDEF\","
            " \"privacy_url\": \"HTTPS://example.com/privacy\", \"avatar\": \"/avatars/a.png\","
            " \"after_hours_message\": \"Away.\\nBack tomorrow.\"}",
            a63, site, a500, a63, a199);
    cJSON *o;
    int status = create(x, json, &o);
    assert_int_equal(status, 201);
    assert_string_equal(s_of(o, "primary"), "#abcdef"); /* colours are kept in lower case */
    assert_int_equal((int)n_of(o, "quota"), 10000000);
    cJSON_Delete(o);
    free(a500);
    free(site);
    free(a63);
    free(a199);
    free(json);
}

static void test_several_errors_at_once(void **state)
{
    fx *x = *state;
    const char *json = "{\"name\": \"Bad Name\", \"flow\": \"nope\", \"primary\": \"red\", \"offset\": 999,"
                       " \"pages\": [\"x\"], \"extra\": 1, \"identity_enforced\": \"no\"}";
    cJSON *o;
    assert_int_equal(create(x, json, &o), 400);
    const cJSON *fields = cJSON_GetObjectItemCaseSensitive(o, "fields");
    static const char *const want[] = {"name", "flow", "primary", "offset", "pages", "extra", "identity_enforced"};
    assert_int_equal(count_items(fields), 7);
    for (int i = 0; i < 7; i++)
        assert_non_null(cJSON_GetObjectItemCaseSensitive(fields, want[i]));
    assert_string_equal(s_of(fields, "primary"), "must be a colour like #0b5fff");
    assert_string_equal(s_of(fields, "extra"), "unknown setting");
    cJSON_Delete(o);
    assert_int_equal(create(x, "{}", &o), 400); /* name and flow are required */
    fields = cJSON_GetObjectItemCaseSensitive(o, "fields");
    assert_int_equal(count_items(fields), 2);
    assert_string_equal(s_of(fields, "name"), "is required");
    assert_string_equal(s_of(fields, "flow"), "is required");
    cJSON_Delete(o);
    static const char *const not_objects[] = {"[]", "{\"name\":", "", "\"demo\"", "null"};
    for (int i = 0; i < 5; i++) {
        assert_int_equal(create(x, not_objects[i], &o), 400);
        assert_string_equal(s_of(o, "error"), "the body must be a JSON object");
        cJSON_Delete(o);
    }
    char *body;
    assert_int_equal(rt_channels_list(x->ch, &body), 200);
    assert_string_equal(body, "[]");
    free(body);
}

/* The account check runs for new names only. */
static bool known_user(void *ctx, const char *user)
{
    (*(int *)ctx)++;
    return strcmp(user, "anna") == 0 || strcmp(user, "bob") == 0;
}

static void test_agents_and_user_check(void **state)
{
    fx *x = *state;
    int calls = 0;
    rt_channels_set_user_check(x->ch, known_user, &calls);
    cJSON *o;
    assert_int_equal(create(x, "{\"name\":\"sales\",\"flow\":\"plain\",\"agents\":[\"anna\",\"ghost\"]}", &o), 400);
    assert_string_equal(s_of(cJSON_GetObjectItemCaseSensitive(o, "fields"), "agents"), "no account named \"ghost\"");
    cJSON_Delete(o);
    assert_null(stored(x, "sales"));
    assert_int_equal(create(x, "{\"name\":\"sales\",\"flow\":\"plain\",\"agents\":[\"anna\"]}", &o), 201);
    cJSON_Delete(o);
    assert_true(rt_channels_agent_allowed(x->ch, "sales", "anna"));
    assert_false(rt_channels_agent_allowed(x->ch, "sales", "bob"));
    assert_false(rt_channels_agent_allowed(x->ch, "sales", NULL));
    assert_false(rt_channels_agent_allowed(x->ch, "nowhere", "anna"));
    char err[128];
    assert_true(rt_channels_ensure(x->ch, "open", "plain", err, sizeof err));
    assert_true(rt_channels_agent_allowed(x->ch, "open", "anyone")); /* empty list: every agent */
    /* anna is gone from the accounts, but an unrelated edit still saves */
    rt_channels_set_user_check(x->ch, known_user, &calls);
    calls = 0;
    put_ok(x, "sales", "{\"agents\":[\"anna\",\"bob\"],\"bot_name\":\"Sam\"}");
    assert_int_equal(calls, 1); /* bob only */
    rt_channel_info info;
    assert_true(rt_channels_get(x->ch, "sales", &info));
    assert_int_equal(info.nagents, 2);
    assert_string_equal(info.agents[1], "bob");
    assert_string_equal(info.bot_name, "Sam");
    put_ok(x, "sales", "{\"agents\":[]}");
    assert_true(rt_channels_agent_allowed(x->ch, "sales", "carol"));
}

/* ---- the admin API ----------------------------------------------------------------------- */

static const char full_settings[] =
    "{\"name\": \"demo\", \"website\": \"https://example.com\", \"flow\": \"support\","
    " \"primary\": \"#112233\", \"secondary\": \"#445566\", \"align\": \"left\", \"offset\": 40,"
    " \"bot_name\": \"Ava\", \"avatar\": \"/avatars/ava.png\", \"welcome\": \"Hi!\", \"prechat\": true,"
    " \"privacy_url\": \"https://example.com/privacy\", \"terms_url\": \"http://example.com/terms\","
    " \"page_mode\": \"deny\", \"pages\": [\"/admin/*\", \"/checkout\"], \"after_hours\": \"hide\","
    " \"after_hours_message\": \"Gone fishing.\", \"agents\": [\"anna\"], \"quota\": 1000,"
    " \"identity_secret\": \"0123456789abcdef0123\", \"identity_enforced\": true, \"zone\": \"ignored\"}";

/* Every key of `want` but the zone is in `got` with the same value. */
static void assert_settings(const cJSON *got, const cJSON *want)
{
    const cJSON *w;
    cJSON_ArrayForEach(w, want) {
        if (strcmp(w->string, "zone") == 0)
            continue;
        const cJSON *g = cJSON_GetObjectItemCaseSensitive(got, w->string);
        if (!cJSON_Compare(g, w, 1))
            fprintf(stderr, "key %s differs\n", w->string);
        assert_true(cJSON_Compare(g, w, 1));
    }
}

static void test_round_trip(void **state)
{
    fx *x = *state;
    cJSON *want = cJSON_Parse(full_settings), *o;
    assert_int_equal(create(x, full_settings, &o), 201);
    assert_settings(o, want);
    assert_string_equal(s_of(o, "zone"), "Europe/Warsaw");
    assert_int_equal(count_items(o), 22); /* 21 settings and the zone */
    cJSON_Delete(o);
    o = get_json(x, "demo");
    assert_settings(o, want);
    assert_string_equal(s_of(o, "zone"), "Europe/Warsaw");
    cJSON_Delete(o);
    assert_int_equal(create(x, full_settings, &o), 409);
    cJSON_Delete(o);
    assert_int_equal(create(x, "{\"name\": \"alpha\", \"flow\": \"plain\"}", &o), 201);
    assert_string_equal(s_of(o, "zone"), "UTC");
    cJSON_Delete(o);
    char *body;
    assert_int_equal(rt_channels_list(x->ch, &body), 200);
    cJSON *all = cJSON_Parse(body);
    free(body);
    assert_int_equal(cJSON_GetArraySize(all), 2);
    assert_string_equal(s_of(cJSON_GetArrayItem(all, 0), "name"), "alpha"); /* by name */
    assert_settings(cJSON_GetArrayItem(all, 1), want);
    assert_string_equal(s_of(cJSON_GetArrayItem(all, 1), "zone"), "Europe/Warsaw");
    cJSON_Delete(all);
    /* a partial PUT keeps every other key */
    assert_int_equal(put(x, "demo", "{\"bot_name\": \"Max\", \"pages\": [], \"zone\": \"x\"}", &o), 200);
    cJSON_ReplaceItemInObjectCaseSensitive(want, "bot_name", cJSON_CreateString("Max"));
    cJSON_ReplaceItemInObjectCaseSensitive(want, "pages", cJSON_CreateArray());
    assert_settings(o, want);
    cJSON_Delete(o);
    /* the page sends back what it read */
    o = get_json(x, "demo");
    body = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    put_ok(x, "demo", body);
    free(body);
    assert_int_equal(put(x, "demo", "{\"name\": \"other\"}", &o), 400);
    assert_non_null(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(o, "fields"), "name"));
    cJSON_Delete(o);
    put_ok(x, "demo", "{\"name\": \"demo\"}");
    assert_int_equal(put(x, "nowhere", "{}", &o), 404);
    cJSON_Delete(o);
    assert_int_equal(put(x, "Bad Name", "{}", &o), 404);
    cJSON_Delete(o);
    assert_int_equal(rt_channels_get_json(x->ch, "nowhere", &body), 404);
    free(body);
    /* persistence: everything survives closing and reopening the store */
    close_all(x);
    open_all(x);
    o = get_json(x, "demo");
    assert_settings(o, want);
    cJSON_Delete(o);
    o = get_json(x, "alpha");
    assert_string_equal(s_of(o, "bot_name"), "Assistant");
    cJSON_Delete(o);
    cJSON_Delete(want);
    rt_channel_info info;
    assert_true(rt_channels_get(x->ch, "demo", &info));
    assert_string_equal(info.flow, "support");
    assert_string_equal(info.identity_secret, "0123456789abcdef0123");
    assert_true(info.identity_enforced);
    assert_int_equal(info.quota, 1000);
    assert_false(rt_channels_get(x->ch, "nowhere", &info));
}

static void test_regenerate_secret(void **state)
{
    fx *x = *state;
    cJSON *o;
    assert_int_equal(create(x, "{\"name\": \"demo\", \"flow\": \"plain\", \"identity_secret\": \"regenerate\"}", &o), 201);
    char first[80];
    snprintf(first, sizeof first, "%s", s_of(o, "identity_secret"));
    assert_true(is_hex64(first));
    cJSON_Delete(o);
    assert_int_equal(put(x, "demo", "{\"identity_secret\": \"regenerate\"}", &o), 200);
    assert_true(is_hex64(s_of(o, "identity_secret")));
    assert_string_not_equal(s_of(o, "identity_secret"), first);
    cJSON_Delete(o);
}

static void test_ensure(void **state)
{
    fx *x = *state;
    char err[160];
    assert_true(rt_channels_ensure(x->ch, "demo", "support", err, sizeof err));
    cJSON *o = get_json(x, "demo");
    cJSON *want = cJSON_Parse("{\"name\":\"demo\",\"website\":\"\",\"flow\":\"support\",\"primary\":\"#0b5fff\","
                              "\"secondary\":\"#ffffff\",\"align\":\"right\",\"offset\":20,\"bot_name\":\"Assistant\","
                              "\"avatar\":\"\",\"welcome\":\"Hi! How can we help?\",\"prechat\":false,"
                              "\"privacy_url\":\"\",\"terms_url\":\"\",\"page_mode\":\"deny\",\"pages\":[],"
                              "\"after_hours\":\"message\",\"after_hours_message\":\"We are away right now. Leave a "
                              "message and we will get back to you.\",\"agents\":[],\"quota\":0,"
                              "\"identity_enforced\":false,\"zone\":\"Europe/Warsaw\"}");
    assert_settings(o, want);
    assert_string_equal(s_of(o, "zone"), "Europe/Warsaw");
    char secret[80];
    snprintf(secret, sizeof secret, "%s", s_of(o, "identity_secret"));
    assert_true(is_hex64(secret));
    cJSON_Delete(o);
    cJSON_Delete(want);
    /* an existing channel keeps its settings and only changes its flow */
    put_ok(x, "demo", "{\"bot_name\": \"Ava\", \"quota\": 5}");
    assert_true(rt_channels_ensure(x->ch, "demo", "plain", err, sizeof err));
    o = get_json(x, "demo");
    assert_string_equal(s_of(o, "flow"), "plain");
    assert_string_equal(s_of(o, "bot_name"), "Ava");
    assert_string_equal(s_of(o, "identity_secret"), secret);
    assert_string_equal(s_of(o, "zone"), "UTC");
    cJSON_Delete(o);
    /* a flow that is not loaded (yet) is accepted at start */
    assert_true(rt_channels_ensure(x->ch, "later", "not-yet", err, sizeof err));
    rt_channel_info info;
    assert_true(rt_channels_get(x->ch, "later", &info));
    assert_string_equal(info.flow, "not-yet");
    assert_string_not_equal(info.identity_secret, secret); /* every channel its own secret */
    /* ...and sending its settings back unchanged still works */
    put_ok(x, "later", "{\"flow\": \"not-yet\", \"bot_name\": \"Zed\"}");
    static const char *const bad[] = {"Demo", "a b", "", "x/y", NULL};
    for (int i = 0; i < 5; i++) {
        err[0] = '\0';
        assert_false(rt_channels_ensure(x->ch, bad[i], "plain", err, sizeof err));
        assert_non_null(strstr(err, "channel name"));
    }
    char *long_name = repeat('a', 64);
    assert_false(rt_channels_ensure(x->ch, long_name, "plain", err, sizeof err));
    free(long_name);
    assert_false(rt_channels_ensure(x->ch, "ok", "", err, sizeof err));
    /* restart: the same secret, the new flow */
    close_all(x);
    open_all(x);
    assert_true(rt_channels_get(x->ch, "demo", &info));
    assert_string_equal(info.identity_secret, secret);
    assert_string_equal(info.flow, "plain");
    assert_int_equal(info.quota, 5);
}

/* A record written by an older flowd (keys missing) gets the defaults, and
 * they are written back so its secret does not change at every start. */
static void test_old_record(void **state)
{
    fx *x = *state;
    rt_batch *b = rt_batch_new();
    rt_batch_record(b, "channel", "old", "{\"name\":\"old\",\"flow\":\"plain\",\"bot_name\":\"Olga\"}");
    rt_batch_record(b, "channel", "junk", "not json");
    assert_true(x->store->ops->commit(x->store, b));
    rt_batch_free(b);
    close_all(x);
    open_all(x);
    rt_channel_info first, again;
    assert_true(rt_channels_get(x->ch, "old", &first));
    assert_string_equal(first.bot_name, "Olga");
    assert_true(is_hex64(first.identity_secret));
    assert_false(rt_channels_get(x->ch, "junk", &again));
    close_all(x);
    open_all(x);
    assert_true(rt_channels_get(x->ch, "old", &again));
    assert_string_equal(again.identity_secret, first.identity_secret);
}

static void test_flows_listing(void **state)
{
    fx *x = *state;
    char *body;
    assert_int_equal(rt_channels_flows(x->ch, &body), 200);
    cJSON *all = cJSON_Parse(body);
    free(body);
    assert_int_equal(cJSON_GetArraySize(all), 2);
    const cJSON *plain = cJSON_GetArrayItem(all, 0), *support = cJSON_GetArrayItem(all, 1);
    assert_string_equal(s_of(plain, "name"), "plain");
    assert_string_equal(s_of(support, "name"), "support");
    assert_int_equal(strlen(s_of(support, "version")), 16);
    assert_string_not_equal(s_of(plain, "version"), s_of(support, "version"));
    assert_true(n_of(support, "nodes") >= 1);
    cJSON_Delete(all);
}

/* ---- page rules -------------------------------------------------------------------------- */

typedef struct page_case {
    const char *mode, *pages; /* pages: a JSON array */
    const char *page;
    bool allowed;
} page_case;

static const page_case page_cases[] = {
    {"deny", "[]", "/anything/at/all", true},
    {"deny", "[]", NULL, true},
    {"deny", "[\"/admin/*\"]", "/admin/users", false},
    {"deny", "[\"/admin/*\"]", "/admin/a/b/c", false}, /* '*' crosses '/' */
    {"deny", "[\"/admin/*\"]", "/admin", true},
    {"deny", "[\"/admin/*\"]", "/administrator", true},
    {"deny", "[\"/admin/*\"]", "/admin/?tab=1", false},
    {"deny", "[\"/blog/*\", \"/*.pdf\"]", "/docs/x.pdf", false},
    {"deny", "[\"/blog/*\", \"/*.pdf\"]", "/docs/x.pdfs", true},
    {"deny", "[\"/blog/*\", \"/*.pdf\"]", "/blog/", false},
    {"allow", "[]", "/", false},
    {"allow", "[\"/shop/*\"]", "/shop/shoes", true},
    {"allow", "[\"/shop/*\"]", "/shop/shoes?size=42", true},
    {"allow", "[\"/shop/*\"]", "/shop?next=/shop/x", false}, /* the query string is not the path */
    {"allow", "[\"/shop/*\"]", "/about#/shop/x", false},
    {"allow", "[\"/shop/*\"]", "/about", false},
    {"allow", "[\"/shop/*\"]", "https://example.com/shop/x?y=1", true},
    {"allow", "[\"/shop/*\"]", "https://example.com", false},
    {"allow", "[\"/p?ge\"]", "/page", true},
    {"allow", "[\"/p?ge\"]", "/p/ge", true},
    {"allow", "[\"/p?ge\"]", "/pge", false},
    {"allow", "[\"/p?ge\"]", "/paage", false},
    {"allow", "[\"/p?ge\"]", "/page?x", true},
    {"allow", "[\"/file.html\"]", "/file.html", true},
    {"allow", "[\"/file.html\"]", "/fileXhtml", false}, /* the dot is literal */
    {"allow", "[\"/file.html\"]", "/file.html/", false},
    {"allow", "[\"/\"]", "/", true},
    {"allow", "[\"/\"]", "/?utm=1", true},
    {"allow", "[\"/\"]", "", true},
    {"allow", "[\"/\"]", "/x", false},
    {"allow", "[\"/a*b*c\"]", "/a/x/b/y/c", true},
    {"allow", "[\"/a*b*c\"]", "/abcabcab", false},
    {"allow", "[\"/a*b*c\"]", "/aaabbbccc", true},
    {"allow", "[\"/*\"]", "/", true},
    {"allow", "[\"/x\", \"/y/*\"]", "/y/z", true},
    {"allow", "[\"/Shop\"]", "/shop", false}, /* case matters */
};

static void test_page_rules(void **state)
{
    fx *x = *state;
    char err[128], json[256];
    assert_true(rt_channels_ensure(x->ch, "demo", "plain", err, sizeof err));
    for (size_t i = 0; i < sizeof page_cases / sizeof page_cases[0]; i++) {
        const page_case *pc = &page_cases[i];
        snprintf(json, sizeof json, "{\"page_mode\": \"%s\", \"pages\": %s}", pc->mode, pc->pages);
        put_ok(x, "demo", json);
        bool got = rt_channels_page_allowed(x->ch, "demo", pc->page);
        if (got != pc->allowed)
            fprintf(stderr, "%s %s %s: %d\n", pc->mode, pc->pages, pc->page ? pc->page : "(null)", got);
        assert_int_equal(got, pc->allowed);
    }
    assert_false(rt_channels_page_allowed(x->ch, "nowhere", "/"));
}

/* ---- identity ------------------------------------------------------------------------------ */

static void sign(const char *secret, const char *user, bool upper, char out[65])
{
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, (const unsigned char *)secret, strlen(secret));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)user, strlen(user));
    crypto_auth_hmacsha256_final(&st, mac);
    sodium_bin2hex(out, 65, mac, sizeof mac);
    for (int i = 0; upper && out[i]; i++)
        if (out[i] >= 'a' && out[i] <= 'f')
            out[i] = (char)(out[i] - 'a' + 'A');
}

static void test_identity(void **state)
{
    fx *x = *state;
    char err[128], hash[65], upper[65], other[65], wrong[65];
    assert_true(rt_channels_ensure(x->ch, "demo", "plain", err, sizeof err));
    rt_channel_info info;
    assert_true(rt_channels_get(x->ch, "demo", &info));
    sign(info.identity_secret, "user-42", false, hash);
    sign(info.identity_secret, "user-42", true, upper);
    sign(info.identity_secret, "user-43", false, other);
    /* a known answer: RFC 4231 test case 2 (key "Jefe") */
    char rfc[65];
    sign("Jefe", "what do ya want for nothing?", false, rfc);
    assert_string_equal(rfc, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    memcpy(wrong, hash, sizeof wrong);
    wrong[10] = wrong[10] == '0' ? '1' : '0';
    /* enforcement off */
    assert_true(rt_channels_identity_ok(x->ch, "demo", "user-42", hash));
    assert_true(rt_channels_identity_ok(x->ch, "demo", "user-42", upper));
    assert_false(rt_channels_identity_ok(x->ch, "demo", "user-42", wrong));
    assert_false(rt_channels_identity_ok(x->ch, "demo", "user-42", other));
    assert_false(rt_channels_identity_ok(x->ch, "demo", "user-42", "abc"));
    assert_false(rt_channels_identity_ok(x->ch, "demo", NULL, hash));
    assert_true(rt_channels_identity_ok(x->ch, "demo", NULL, NULL));
    assert_true(rt_channels_identity_ok(x->ch, "demo", "user-42", NULL));
    assert_true(rt_channels_identity_ok(x->ch, "demo", "user-42", ""));
    assert_false(rt_channels_identity_ok(x->ch, "nowhere", "user-42", hash));
    /* enforcement on */
    put_ok(x, "demo", "{\"identity_enforced\": true}");
    assert_true(rt_channels_identity_ok(x->ch, "demo", "user-42", hash));
    assert_true(rt_channels_identity_ok(x->ch, "demo", "user-42", upper));
    assert_false(rt_channels_identity_ok(x->ch, "demo", "user-42", wrong));
    assert_false(rt_channels_identity_ok(x->ch, "demo", "user-42", NULL));
    assert_false(rt_channels_identity_ok(x->ch, "demo", NULL, NULL));
    char spaced[70];
    snprintf(spaced, sizeof spaced, " %s", hash);
    assert_false(rt_channels_identity_ok(x->ch, "demo", "user-42", spaced));
    /* a new secret makes old signatures worthless */
    put_ok(x, "demo", "{\"identity_secret\": \"regenerate\"}");
    assert_false(rt_channels_identity_ok(x->ch, "demo", "user-42", hash));
    /* a secret the admin set */
    put_ok(x, "demo", "{\"identity_secret\": \"a-secret-of-our-own\"}");
    sign("a-secret-of-our-own", "user-42", false, hash);
    assert_true(rt_channels_identity_ok(x->ch, "demo", "user-42", hash));
}

/* ---- the widget ------------------------------------------------------------------------------ */

static cJSON *widget(fx *x, const char *name, const char *page, int64_t now)
{
    char *body = NULL;
    int status = rt_channels_widget_config(x->ch, name, page, now, &body);
    assert_int_equal(status, 200);
    rt_channel_info info;
    assert_true(rt_channels_get(x->ch, name, &info));
    assert_null(strstr(body, info.identity_secret)); /* never leaks */
    assert_null(strstr(body, "identity_secret"));
    assert_null(strstr(body, "agents"));
    assert_null(strstr(body, "quota"));
    cJSON *o = cJSON_Parse(body);
    free(body);
    assert_non_null(o);
    return o;
}

typedef struct hours_case {
    int64_t at;
    bool open;
} hours_case;

static void expect_widget(fx *x, const char *page, int64_t at, bool open, bool visible)
{
    cJSON *o = widget(x, "demo", page, at);
    if (b_of(o, "open_now") != open || b_of(o, "visible") != visible)
        fprintf(stderr, "at %lld page %s: open %d visible %d\n", (long long)at, page, b_of(o, "open_now"),
                b_of(o, "visible"));
    assert_int_equal(b_of(o, "open_now"), open);
    assert_int_equal(b_of(o, "visible"), visible);
    cJSON_Delete(o);
}

static void test_widget_config(void **state)
{
    fx *x = *state;
    cJSON *o;
    assert_int_equal(create(x,
                            "{\"name\": \"demo\", \"flow\": \"support\", \"bot_name\": \"Ava\", \"agents\": [\"anna\"],"
                            " \"quota\": 777, \"pages\": [\"/admin/*\"], \"identity_enforced\": true}",
                            &o),
                     201);
    cJSON_Delete(o);
    /* mon-fri 09:00-17:00 Warsaw: CET (UTC+1) in January, CEST (UTC+2) in July */
    const hours_case hours[] = {
        {utc(2026, 1, 12, 7, 59, 59), false}, /* Monday 08:59:59 */
        {utc(2026, 1, 12, 8, 0, 0), true},    /* Monday 09:00 */
        {utc(2026, 1, 12, 15, 59, 59), true}, /* Monday 16:59:59 */
        {utc(2026, 1, 12, 16, 0, 0), false},  /* Monday 17:00 */
        {utc(2026, 1, 17, 12, 0, 0), false},  /* Saturday noon */
        {utc(2026, 7, 13, 6, 59, 59), false}, /* Monday 08:59:59 CEST */
        {utc(2026, 7, 13, 7, 0, 0), true},    /* Monday 09:00 CEST */
        {utc(2026, 7, 13, 14, 59, 59), true}, /* Monday 16:59:59 CEST */
        {utc(2026, 7, 17, 15, 0, 0), false},  /* Friday 17:00 CEST */
    };
    int n = (int)(sizeof hours / sizeof hours[0]);
    for (int i = 0; i < n; i++) /* after_hours "message": visible, sending disabled */
        expect_widget(x, "/pricing", hours[i].at, hours[i].open, true);
    put_ok(x, "demo", "{\"after_hours\": \"hide\"}");
    for (int i = 0; i < n; i++) /* "hide": gone after hours */
        expect_widget(x, "/pricing", hours[i].at, hours[i].open, hours[i].open);
    /* an excluded page is never visible, open or not */
    expect_widget(x, "/admin/users", hours[1].at, true, false);
    expect_widget(x, "/admin/users", hours[0].at, false, false);
    put_ok(x, "demo", "{\"after_hours\": \"message\"}");
    expect_widget(x, "/admin/users", hours[0].at, false, false);
    expect_widget(x, NULL, hours[0].at, false, true);
    o = widget(x, "demo", "/", hours[1].at);
    cJSON *want = cJSON_Parse("{\"channel\":\"demo\",\"primary\":\"#0b5fff\",\"secondary\":\"#ffffff\","
                              "\"align\":\"right\",\"offset\":20,\"bot_name\":\"Ava\",\"avatar\":\"\","
                              "\"welcome\":\"Hi! How can we help?\",\"prechat\":false,\"privacy_url\":\"\","
                              "\"terms_url\":\"\",\"visible\":true,\"open_now\":true,\"after_hours\":\"message\","
                              "\"after_hours_message\":\"We are away right now. Leave a message and we will get "
                              "back to you.\",\"identity_required\":true}");
    assert_true(cJSON_Compare(o, want, 1));
    cJSON_Delete(want);
    cJSON_Delete(o);
    /* a flow without hours is always open */
    put_ok(x, "demo", "{\"flow\": \"plain\", \"after_hours\": \"hide\"}");
    expect_widget(x, "/pricing", hours[0].at, true, true);
    expect_widget(x, "/pricing", hours[4].at, true, true);
    char *body;
    assert_int_equal(rt_channels_widget_config(x->ch, "nowhere", "/", hours[0].at, &body), 404);
    free(body);
}

/* ---- threads -------------------------------------------------------------------------------- */

typedef struct reader_arg {
    fx *x;
    int bad;
} reader_arg;

static void *reader(void *p)
{
    reader_arg *a = p;
    for (int i = 0; i < 2000; i++) {
        rt_channel_info info;
        if (!rt_channels_get(a->x->ch, "demo", &info) || strncmp(info.bot_name, "Bot", 3) != 0)
            a->bad++;
        rt_channels_page_allowed(a->x->ch, "demo", "/x");
        rt_channels_agent_allowed(a->x->ch, "demo", "anna");
    }
    return NULL;
}

/* Readers on other threads see whole settings, old or new, while an admin
 * edits (meant for the sanitizer builds). */
static void test_concurrent_readers(void **state)
{
    fx *x = *state;
    char err[128], json[64];
    assert_true(rt_channels_ensure(x->ch, "demo", "plain", err, sizeof err));
    put_ok(x, "demo", "{\"bot_name\": \"Bot0\"}");
    pthread_t t[3];
    reader_arg args[3] = {{x, 0}, {x, 0}, {x, 0}};
    for (int i = 0; i < 3; i++)
        assert_int_equal(pthread_create(&t[i], NULL, reader, &args[i]), 0);
    for (int i = 1; i <= 20; i++) {
        snprintf(json, sizeof json, "{\"bot_name\": \"Bot%d\", \"pages\": [\"/%d\"]}", i, i);
        put_ok(x, "demo", json);
    }
    for (int i = 0; i < 3; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(args[i].bad, 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_every_rule_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_limits_accepted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_several_errors_at_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_agents_and_user_check, setup, teardown),
        cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_regenerate_secret, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ensure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_old_record, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flows_listing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_page_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(test_identity, setup, teardown),
        cmocka_unit_test_setup_teardown(test_widget_config, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_readers, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
