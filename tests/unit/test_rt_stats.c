/* test_rt_stats.c - channel statistics (runtime/rt_stats.h) over a real
 * SQLite store: percentiles, days and months in the flow's zone (Warsaw,
 * across DST), the report's every figure as JSON and CSV, the quota, bad
 * parameters, and the funnel's counts and bytecode edges. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "fc_unit.h"
#include "rt_stats.h"

/* ---- fixtures ------------------------------------------------------------------------- */

/* Goto, options (one looping back), an ask, a handoff with an offline node
 * and a keyword trigger (a jump from no node: not an edge). */
static const char *const FUNNEL_FLOW = "flow \"Funnel\"\n"
                                       "\n"
                                       "hours \"Europe/Warsaw\" {\n"
                                       "  mon-fri 09:00-17:00\n"
                                       "}\n"
                                       "\n"
                                       "var email: email\n"
                                       "\n"
                                       "on \"human\" -> human\n"
                                       "\n"
                                       "node start {\n"
                                       "  say \"Hi\"\n"
                                       "  choice {\n"
                                       "    \"Price\" -> price\n"
                                       "    \"Human\" -> human\n"
                                       "    \"Again\" -> start\n"
                                       "    \"Bye\" { end }\n"
                                       "  }\n"
                                       "}\n"
                                       "\n"
                                       "node price {\n"
                                       "  say \"10 EUR\"\n"
                                       "  if open { goto human }\n"
                                       "  ask email \"Email?\"\n"
                                       "  lead { email: email }\n"
                                       "}\n"
                                       "\n"
                                       "node human {\n"
                                       "  handoff \"sales\" {\n"
                                       "    wait 1m\n"
                                       "    offline -> later\n"
                                       "  }\n"
                                       "}\n"
                                       "\n"
                                       "node later {\n"
                                       "  say \"Later\"\n"
                                       "}\n";

static const char *const UTC_FLOW = "flow \"Plain\"\n\nnode start {\n  say \"Hi\"\n}\n";

/* Instants used below (UTC seconds), named by their UTC time. */
#define JAN09_2259_59 1767999599 /* Warsaw (CET, +1): 2026-01-09 23:59:59 */
#define JAN09_2300 1767999600    /* 2026-01-10 00:00 */
#define JAN12_2259_59 1768258799 /* 2026-01-12 23:59:59 */
#define JAN12_2300 1768258800    /* 2026-01-13 00:00 */
#define JAN15_2330 1768519800    /* 2026-01-16 00:30 */
#define JAN20_1200 1768910400
#define JAN31_2330 1769902200    /* 2026-02-01 00:30 */
#define MAR15_1200 1773576000
#define MAR31_2230 1774996200    /* CEST (+2): 2026-04-01 00:30 */
#define JUL01_2159_59 1782943199 /* 2026-07-01 23:59:59 */
#define JUL01_2200 1782943200    /* 2026-07-02 00:00 */
#define JUL15_2130 1784151000    /* 2026-07-15 23:30 */
#define JUL15_2230 1784154600    /* 2026-07-16 00:30 */
#define OCT15_1200 1792065600
/* Warsaw midnights on the first of a month */
#define W_FEB01 1769900400
#define W_MAR01 1772319600
#define W_APR01 1774994400 /* 22:00 UTC: DST began on March 29 */
#define W_MAY01 1777586400
#define W_NOV01 1793487600 /* 23:00 UTC again: DST ended on October 25 */

typedef struct fixture {
    char dir[64], path[96];
    rt_store *store;
    vm_program *warsaw, *utc;
    int64_t quota;
} fixture;

static vm_program *compile(const char *text)
{
    fc_diags *d = fc_diags_new();
    fc_source src = {"t.flow", text, strlen(text)};
    vm_buf code = {0};
    bool ok = fc_compile(&src, d, &code);
    if (!ok)
        fc_diags_write_text(d, stderr, false);
    fc_diags_free(d);
    assert_true(ok);
    char err[256];
    vm_program *p = vm_program_load(code.data, code.len, err, sizeof err);
    if (!p)
        fprintf(stderr, "load: %s\n", err);
    vm_buf_free(&code);
    assert_non_null(p);
    return p;
}

/* Channels: "demo" runs flow "funnel" (Warsaw), "plain" runs "plain" (no
 * hours: UTC), "fun" runs a flow named "fun" (a prefix of "funnel"),
 * "unloaded" names a flow that is not loaded. */
static bool lookup(void *ctx, const char *channel, const vm_program **prog, char flow[128], int64_t *quota)
{
    fixture *f = ctx;
    *quota = f->quota;
    if (strcmp(channel, "demo") == 0 || strcmp(channel, "fun") == 0) {
        *prog = f->warsaw;
        snprintf(flow, 128, "%s", strcmp(channel, "demo") == 0 ? "funnel" : "fun");
        return true;
    }
    if (strcmp(channel, "plain") == 0 || strcmp(channel, "unloaded") == 0) {
        *prog = strcmp(channel, "plain") == 0 ? f->utc : NULL;
        snprintf(flow, 128, "%s", channel);
        return true;
    }
    return false;
}

static rt_stats_source source(fixture *f) { return (rt_stats_source){f->store, lookup, f}; }

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    snprintf(f->dir, sizeof f->dir, "/tmp/test_rt_stats-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof f->path, "%s/flowd.db", f->dir);
    char err[256];
    f->store = rt_store_sqlite_open(&(rt_sqlite_options){.path = f->path}, err, sizeof err);
    if (!f->store)
        fprintf(stderr, "store: %s\n", err);
    assert_non_null(f->store);
    f->warsaw = compile(FUNNEL_FLOW);
    f->utc = compile(UTC_FLOW);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    f->store->ops->close(f->store);
    vm_program_free(f->warsaw);
    vm_program_free(f->utc);
    const char *suffix[] = {"", "-wal", "-shm"};
    for (int i = 0; i < 3; i++) {
        char p[128];
        snprintf(p, sizeof p, "%s%s", f->path, suffix[i]);
        unlink(p);
    }
    rmdir(f->dir);
    free(f);
    return 0;
}

static void counter_on(fixture *f, const char *channel, const char *day, const char *name, int64_t delta)
{
    rt_batch *b = rt_batch_new();
    rt_batch_counter(b, channel, day, name, delta);
    assert_true(f->store->ops->commit(f->store, b));
    rt_batch_free(b);
}

static void counter(fixture *f, const char *day, const char *name, int64_t delta)
{
    counter_on(f, "demo", day, name, delta);
}

/* A conversation row; closed ones get status closed (the store lists them apart). */
static void conv_on(fixture *f, const char *channel, int64_t id, int64_t created, int64_t queued, int64_t replied,
                    int64_t closed)
{
    rt_conv_rec c = {.id = id, .created_at = created, .updated_at = created, .queued_at = queued,
                     .first_reply_at = replied, .closed_at = closed, .priority = 1};
    c.status = closed ? RT_STATUS_CLOSED : RT_STATUS_AGENT;
    snprintf(c.channel, sizeof c.channel, "%s", channel);
    snprintf(c.visitor, sizeof c.visitor, "v%lld", (long long)id);
    snprintf(c.flow, sizeof c.flow, "funnel");
    snprintf(c.tags, sizeof c.tags, "[]");
    snprintf(c.facts, sizeof c.facts, "{}");
    rt_batch *b = rt_batch_new();
    rt_batch_conversation(b, &c);
    assert_true(f->store->ops->commit(f->store, b));
    rt_batch_free(b);
}

static void conv(fixture *f, int64_t id, int64_t created, int64_t queued, int64_t replied, int64_t closed)
{
    conv_on(f, "demo", id, created, queued, replied, closed);
}

typedef struct reply {
    int status;
    char *body;
    const char *type;
} reply;

static reply report(fixture *f, const char *channel, const char *from, const char *to, const char *format,
                    int64_t now)
{
    rt_stats_source src = source(f);
    reply r = {0};
    r.status = rt_stats_report(&src, channel, from, to, format, now, &r.body, &r.type);
    assert_non_null(r.body);
    assert_non_null(r.type);
    return r;
}

static reply funnel(fixture *f, const char *channel, const char *from, const char *to, const char *format)
{
    rt_stats_source src = source(f);
    reply r = {0};
    r.status = rt_stats_funnel(&src, channel, from, to, format, &r.body, &r.type);
    assert_non_null(r.body);
    assert_non_null(r.type);
    return r;
}

static void expect(reply r, int status, const char *type, const char *body)
{
    if (r.status != status || strcmp(r.body, body) != 0)
        fprintf(stderr, "expected %d %s\n  got %d %s\n", status, body, r.status, r.body);
    assert_int_equal(r.status, status);
    assert_string_equal(r.type, type);
    assert_string_equal(r.body, body);
    free(r.body);
}

static const char *const ZERO_TIMES = "{\"count\":0,\"median\":0,\"p90\":0}";

/* ---- percentiles ---------------------------------------------------------------------- */

static void percentile_of_nothing_is_zero(void **state)
{
    (void)state;
    assert_int_equal(rt_stats_percentile(NULL, 0, 50), 0);
    assert_int_equal(rt_stats_percentile(NULL, 0, 90), 0);
}

static void percentile_nearest_rank(void **state)
{
    (void)state;
    int64_t one[] = {7};
    assert_int_equal(rt_stats_percentile(one, 1, 50), 7);
    assert_int_equal(rt_stats_percentile(one, 1, 90), 7);
    /* odd count: the median is the middle value; p90 of 5 is rank ceil(4.5) = 5 */
    int64_t odd[] = {30, 10, 50, 20, 40};
    assert_int_equal(rt_stats_percentile(odd, 5, 50), 30);
    assert_int_equal(rt_stats_percentile(odd, 5, 90), 50);
    assert_int_equal(rt_stats_percentile(odd, 5, 80), 40); /* rank 4 exactly */
    /* even count: nearest rank takes the lower middle (rank 2 of 4), no averaging */
    int64_t even[] = {40, 10, 30, 20};
    assert_int_equal(rt_stats_percentile(even, 4, 50), 20);
    assert_int_equal(rt_stats_percentile(even, 4, 90), 40); /* rank ceil(3.6) = 4 */
    /* p90 of 10 is rank 9 exactly (no rounding up); of 11, rank ceil(9.9) = 10 */
    int64_t ten[] = {10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 11};
    assert_int_equal(rt_stats_percentile(ten, 10, 90), 9);
    assert_int_equal(rt_stats_percentile(ten, 10, 50), 5);
    assert_int_equal(rt_stats_percentile(ten, 11, 90), 10);
    assert_int_equal(rt_stats_percentile(ten, 11, 50), 6);
    assert_int_equal(rt_stats_percentile(ten, 11, 0), 1);
    assert_int_equal(rt_stats_percentile(ten, 11, 100), 11);
    /* ranks with a fraction under one half still round up: p90 of 6 is rank ceil(5.4) = 6, p25 of 5 rank 2 */
    int64_t six[] = {6, 5, 4, 3, 2, 1};
    assert_int_equal(rt_stats_percentile(six, 6, 90), 6);
    assert_int_equal(rt_stats_percentile(six, 5, 25), 2);
    assert_int_equal(rt_stats_percentile(six, 6, 1), 1); /* rank ceil(0.06) = 1 */
    /* sorted in place */
    for (int i = 0; i < 11; i++)
        assert_int_equal(ten[i], i + 1);
    int64_t neg[] = {5, -3, 0};
    assert_int_equal(rt_stats_percentile(neg, 3, 50), 0);
    assert_int_equal(neg[0], -3);
}

/* ---- days and months ------------------------------------------------------------------- */

static void days_in_the_flow_zone(void **state)
{
    fixture *f = *state;
    char day[11];
    rt_stats_day(f->warsaw, JAN15_2330, day); /* 23:30 UTC in winter is 00:30 the next day in Warsaw */
    assert_string_equal(day, "2026-01-16");
    rt_stats_day(NULL, JAN15_2330, day);
    assert_string_equal(day, "2026-01-15");
    rt_stats_day(f->utc, JAN15_2330, day); /* no hours: UTC */
    assert_string_equal(day, "2026-01-15");
    rt_stats_day(f->warsaw, JUL15_2130, day); /* summer: +2 */
    assert_string_equal(day, "2026-07-15");
    rt_stats_day(f->warsaw, JUL15_2230, day);
    assert_string_equal(day, "2026-07-16");
    rt_stats_day(f->warsaw, JAN09_2300, day); /* local midnight belongs to the new day */
    assert_string_equal(day, "2026-01-10");
    rt_stats_day(f->warsaw, JAN09_2259_59, day);
    assert_string_equal(day, "2026-01-09");
}

static void month_used(fixture *f, const vm_program *prog, const char *channel, int64_t now, int64_t want_used,
                       const char *want_month, int64_t want_renews)
{
    rt_stats_source src = {f->store, NULL, NULL}; /* the engine passes no lookup */
    int64_t renews = -1;
    char month[8] = "";
    assert_int_equal(rt_stats_month_used(&src, channel, prog, now, &renews, month), want_used);
    assert_string_equal(month, want_month);
    assert_int_equal(renews, want_renews);
}

static void quota_month_in_the_zone(void **state)
{
    fixture *f = *state;
    counter(f, "2025-12-31", "bot", 5);
    counter(f, "2026-01-01", "bot", 1);
    counter(f, "2026-01-31", "bot", 1);
    counter(f, "2026-01-31", "started", 9); /* only "bot" counts against the quota */
    counter(f, "2026-01-15", "quota_skipped", 3);
    counter(f, "2026-02-01", "bot", 4);
    counter(f, "2026-03-01", "bot", 1);
    counter(f, "2026-03-31", "bot", 1);
    counter(f, "2026-04-01", "bot", 2);
    counter(f, "2026-10-31", "bot", 6);
    counter_on(f, "plain", "2026-01-31", "bot", 8);
    counter_on(f, "plain", "2026-02-01", "bot", 16);
    month_used(f, f->warsaw, "demo", JAN20_1200, 2, "2026-01", W_FEB01);
    /* 23:30 UTC on January 31 is already February in Warsaw */
    month_used(f, f->warsaw, "demo", JAN31_2330, 4, "2026-02", W_MAR01);
    month_used(f, f->warsaw, "demo", W_FEB01 - 1, 2, "2026-01", W_FEB01);
    month_used(f, f->warsaw, "demo", W_FEB01, 4, "2026-02", W_MAR01);
    /* DST starts on March 29: April begins at 22:00 UTC */
    month_used(f, f->warsaw, "demo", MAR15_1200, 2, "2026-03", W_APR01);
    month_used(f, f->warsaw, "demo", MAR31_2230, 2, "2026-04", W_MAY01);
    /* DST ends on October 25: November begins at 23:00 UTC */
    month_used(f, f->warsaw, "demo", OCT15_1200, 6, "2026-10", W_NOV01);
    /* without hours the months are UTC's */
    month_used(f, f->utc, "plain", JAN31_2330, 8, "2026-01", W_FEB01 + 3600);
    month_used(f, NULL, "plain", W_FEB01 + 3600, 16, "2026-02", W_MAR01 + 3600);
    /* nothing written for another channel */
    month_used(f, f->warsaw, "other", JAN20_1200, 0, "2026-01", W_FEB01);
}

/* ---- the report ---------------------------------------------------------------------- */

/* Three days in Warsaw, 2026-01-10..12, i.e. [Jan 9 23:00 UTC, Jan 12 23:00 UTC). */
static void fill_january(fixture *f)
{
    counter(f, "2026-01-09", "started", 5); /* outside */
    counter(f, "2026-01-10", "started", 2);
    counter(f, "2026-01-10", "bot", 2);
    counter(f, "2026-01-10", "outcome:resolved", 1);
    counter(f, "2026-01-10", "outcome:lead", 1);
    counter(f, "2026-01-10", "leads", 1);
    counter(f, "2026-01-10", "reached:funnel:start", 2);
    counter(f, "2026-01-11", "started", 3);
    counter(f, "2026-01-11", "started", 1); /* counters add up */
    counter(f, "2026-01-11", "bot", 1);
    counter(f, "2026-01-11", "outcome:handoff", 2);
    counter(f, "2026-01-11", "outcome:missed", 1);
    counter(f, "2026-01-11", "outcome:abandoned", 1);
    counter(f, "2026-01-11", "outcome:bogus", 7);  /* not an outcome: ignored */
    counter(f, "2026-01-11", "outcome:none", 7);   /* not an end of a bot part */
    counter(f, "2026-01-11", "leads", 2);
    counter(f, "2026-01-11", "deals", 1);
    counter(f, "2026-01-13", "started", 7); /* outside */
    counter(f, "2026-01-13", "outcome:error", 7);
    counter_on(f, "plain", "2026-01-10", "started", 100); /* another channel */
    /* the reply wait counts from the handoff (queued_at), else from the start */
    conv(f, 1, JAN09_2259_59, JAN09_2259_59 + 5, JAN09_2259_59 + 6, JAN09_2259_59 + 7); /* Jan 9 local: out */
    conv(f, 2, JAN09_2300, JAN09_2300 + 60, JAN09_2300 + 100, JAN09_2300 + 300);       /* reply 40, close 300 */
    conv(f, 3, JAN12_2259_59, 0, JAN12_2259_59 + 10, 0);                              /* reply 10, open */
    conv(f, 4, JAN12_2300, JAN12_2300 + 1, JAN12_2300 + 2, JAN12_2300 + 3);            /* Jan 13 local: out */
    conv(f, 5, JAN09_2300 + 86400, 0, 0, JAN09_2300 + 86400 + 1200);                  /* close 1200 */
    conv(f, 6, JAN09_2300 + 90000, JAN09_2300 + 90000 + 20, JAN09_2300 + 90000 + 200,
         JAN09_2300 + 90000 + 600);                                                     /* reply 180, close 600 */
    conv(f, 7, JAN09_2300 + 100000, 0, 0, JAN09_2300 + 100100);                       /* close 100 */
    conv(f, 8, JAN09_2300 + 100000, 0, 0, 0);                                         /* open, no reply */
    conv_on(f, "plain", 9, JAN09_2300 + 100, 0, JAN09_2300 + 105, JAN09_2300 + 110);   /* another channel */
}

static void report_json_every_figure(void **state)
{
    fixture *f = *state;
    f->quota = 5;
    fill_january(f);
    /* reply {40, 10, 180}: median rank 2 = 40, p90 rank 3 = 180;
     * close {300, 1200, 600, 100}: median rank 2 = 300, p90 rank 4 = 1200;
     * quota: January's bot counters, 2 + 1 in the range and 1 on the 13th (outside it, inside the month) */
    counter(f, "2026-01-13", "bot", 1);
    expect(report(f, "demo", "2026-01-10", "2026-01-12", NULL, JAN20_1200), 200, "application/json",
           "{\"channel\":\"demo\",\"zone\":\"Europe/Warsaw\",\"from\":\"2026-01-10\",\"to\":\"2026-01-12\","
           "\"started\":6,"
           "\"outcomes\":{\"resolved\":1,\"lead\":1,\"handoff\":2,\"missed\":1,\"abandoned\":1,\"error\":0},"
           "\"first_reply\":{\"count\":3,\"median\":40,\"p90\":180},"
           "\"close\":{\"count\":4,\"median\":300,\"p90\":1200},"
           "\"leads\":3,\"deals\":1,"
           "\"quota\":{\"limit\":5,\"used\":4,\"month\":\"2026-01\",\"exhausted\":false,\"renews_at\":1769900400},"
           "\"days\":[{\"date\":\"2026-01-10\",\"started\":2,\"outcomes\":{\"resolved\":1,\"lead\":1}},"
           "{\"date\":\"2026-01-11\",\"started\":4,\"outcomes\":{\"handoff\":2,\"missed\":1,\"abandoned\":1}},"
           "{\"date\":\"2026-01-12\",\"started\":0,\"outcomes\":{}}]}");
    /* format=json is the default spelled out; the quota is used up at the limit */
    counter(f, "2026-01-02", "bot", 1);
    reply r = report(f, "demo", "2026-01-12", "2026-01-12", "json", JAN20_1200);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "\"first_reply\":{\"count\":1,\"median\":10,\"p90\":10}"));
    assert_non_null(strstr(r.body, "\"close\":{\"count\":0,\"median\":0,\"p90\":0}"));
    assert_non_null(strstr(r.body, "\"quota\":{\"limit\":5,\"used\":5,\"month\":\"2026-01\",\"exhausted\":true,"));
    free(r.body);
}

static void report_empty_range_and_no_quota(void **state)
{
    fixture *f = *state;
    char want[1024];
    snprintf(want, sizeof want,
             "{\"channel\":\"demo\",\"zone\":\"Europe/Warsaw\",\"from\":\"2026-03-28\",\"to\":\"2026-03-30\","
             "\"started\":0,"
             "\"outcomes\":{\"resolved\":0,\"lead\":0,\"handoff\":0,\"missed\":0,\"abandoned\":0,\"error\":0},"
             "\"first_reply\":%s,\"close\":%s,\"leads\":0,\"deals\":0,"
             "\"quota\":{\"limit\":0,\"used\":0,\"month\":\"2026-03\",\"exhausted\":false,\"renews_at\":%d},"
             "\"days\":[{\"date\":\"2026-03-28\",\"started\":0,\"outcomes\":{}},"
             "{\"date\":\"2026-03-29\",\"started\":0,\"outcomes\":{}},"
             "{\"date\":\"2026-03-30\",\"started\":0,\"outcomes\":{}}]}",
             ZERO_TIMES, ZERO_TIMES, W_APR01);
    expect(report(f, "demo", "2026-03-28", "2026-03-30", "", MAR15_1200), 200, "application/json", want);
}

/* In summer a Warsaw day starts at 22:00 UTC; a flow without hours counts UTC days. */
static void report_days_in_summer_and_utc(void **state)
{
    fixture *f = *state;
    conv(f, 1, JUL01_2159_59, 0, JUL01_2159_59 + 30, 0); /* July 1 local */
    conv(f, 2, JUL01_2200, 0, JUL01_2200 + 50, 0);       /* July 2 local */
    /* queued again after the first reply: the wait would be negative, counted as none */
    conv(f, 5, JUL01_2200 + 10, JUL01_2200 + 500, JUL01_2200 + 400, JUL01_2200 + 300);
    reply r = report(f, "demo", "2026-07-02", "2026-07-02", NULL, JUL01_2200);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "\"first_reply\":{\"count\":2,\"median\":0,\"p90\":50}"));
    assert_non_null(strstr(r.body, "\"close\":{\"count\":1,\"median\":290,\"p90\":290}"));
    assert_non_null(strstr(r.body, "\"month\":\"2026-07\""));
    free(r.body);
    conv_on(f, "plain", 3, JUL01_2159_59, 0, JUL01_2159_59 + 70, 0);
    conv_on(f, "plain", 4, JUL01_2200, 0, JUL01_2200 + 90, 0);
    r = report(f, "plain", "2026-07-01", "2026-07-01", NULL, JUL01_2200);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "\"zone\":\"UTC\""));
    assert_non_null(strstr(r.body, "\"first_reply\":{\"count\":2,\"median\":70,\"p90\":90}"));
    free(r.body);
    /* a channel whose flow is not loaded: UTC, and no graph */
    r = report(f, "unloaded", "2026-07-01", "2026-07-01", NULL, JUL01_2200);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "\"zone\":\"UTC\""));
    free(r.body);
}

static void report_csv_shape(void **state)
{
    fixture *f = *state;
    fill_january(f);
    expect(report(f, "demo", "2026-01-10", "2026-01-12", "csv", JAN20_1200), 200, "text/csv",
           "date,started,resolved,lead,handoff,missed,abandoned,error,leads,deals\n"
           "2026-01-10,2,1,1,0,0,0,0,1,0\n"
           "2026-01-11,4,0,0,2,1,1,0,2,1\n"
           "2026-01-12,0,0,0,0,0,0,0,0,0\n");
    expect(report(f, "demo", "2026-01-13", "2026-01-13", "csv", JAN20_1200), 200, "text/csv",
           "date,started,resolved,lead,handoff,missed,abandoned,error,leads,deals\n"
           "2026-01-13,7,0,0,0,0,0,7,0,0\n");
}

/* ---- bad parameters ------------------------------------------------------------------- */

static void expect_status(fixture *f, const char *channel, const char *from, const char *to, const char *format,
                          int status)
{
    reply r = report(f, channel, from, to, format, JAN20_1200);
    if (r.status != status)
        fprintf(stderr, "report %s %s..%s %s: expected %d, got %d %s\n", channel ? channel : "(null)",
                from ? from : "(null)", to ? to : "(null)", format ? format : "(null)", status, r.status, r.body);
    assert_int_equal(r.status, status);
    if (status != 200) {
        assert_string_equal(r.type, "application/json");
        assert_true(strncmp(r.body, "{\"error\":\"", 10) == 0);
    }
    free(r.body);
    reply fr = funnel(f, channel, from, to, format);
    assert_int_equal(fr.status, status);
    free(fr.body);
}

static void bad_parameters(void **state)
{
    fixture *f = *state;
    expect_status(f, "demo", "2026-01-01", "2026-01-31", NULL, 200);
    expect_status(f, NULL, "2026-01-01", "2026-01-31", NULL, 400);
    expect_status(f, "", "2026-01-01", "2026-01-31", NULL, 400);
    expect_status(f, "demo", NULL, "2026-01-31", NULL, 400);
    expect_status(f, "demo", "2026-01-01", NULL, NULL, 400);
    expect_status(f, "demo", "", "", NULL, 400);
    const char *bad[] = {"2026-02-30", "2026-02-29", "2100-02-29", "2026-04-31", "2026-13-01", "2026-00-10",
                         "2026-01-00", "2026-1-01",  "2026-01-1",  "20260101",   "2026/01/01", "2026-01-01 ",
                         " 2026-01-01", "2026-01-0x", "+026-01-01", "0000-01-01", "2026-01-01T00", "today"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        expect_status(f, "demo", bad[i], "2026-12-31", NULL, 400);
        expect_status(f, "demo", "2026-01-01", bad[i], NULL, 400);
    }
    expect_status(f, "demo", "2024-02-29", "2024-02-29", NULL, 200); /* leap years */
    expect_status(f, "demo", "2000-02-29", "2000-02-29", NULL, 200);
    expect_status(f, "demo", "2026-01-02", "2026-01-01", NULL, 400); /* from > to */
    expect_status(f, "demo", "2026-01-01", "2026-01-01", NULL, 200);
    expect_status(f, "demo", "2024-01-01", "2024-12-31", NULL, 200); /* 366 days */
    expect_status(f, "demo", "2024-01-01", "2025-01-01", NULL, 400); /* 367 */
    expect_status(f, "demo", "2025-01-01", "2026-01-01", NULL, 200); /* 366 */
    expect_status(f, "demo", "2025-01-01", "2026-01-02", NULL, 400);
    expect_status(f, "demo", "2026-01-01", "2026-01-31", "xml", 400);
    expect_status(f, "demo", "2026-01-01", "2026-01-31", "CSV", 400);
    expect_status(f, "demo", "2026-01-01", "2026-01-31", "csv", 200);
    expect_status(f, "nope", "2026-01-01", "2026-01-31", NULL, 404);
    expect_status(f, "nope", "2026-01-01", "2026-01-31", "csv", 404);
    expect_status(f, "nope", "2026-02-30", "2026-01-31", NULL, 400); /* the query is checked first */
}

/* ---- the funnel ----------------------------------------------------------------------- */

static void fill_funnel(fixture *f)
{
    counter(f, "2026-01-09", "reached:funnel:start", 100); /* outside */
    counter(f, "2026-01-10", "reached:funnel:start", 3);
    counter(f, "2026-01-11", "reached:funnel:start", 1);
    counter(f, "2026-01-10", "reached:funnel:price", 2);
    counter(f, "2026-01-11", "reached:funnel:human", 2);
    counter(f, "2026-01-10", "left:funnel:start:resolved", 1);
    counter(f, "2026-01-11", "left:funnel:start:abandoned", 1);
    counter(f, "2026-01-10", "left:funnel:price:lead", 1);
    counter(f, "2026-01-12", "left:funnel:price:lead", 1);
    counter(f, "2026-01-11", "left:funnel:human:handoff", 1);
    counter(f, "2026-01-11", "left:funnel:human:missed", 1);
    counter(f, "2026-01-11", "left:funnel:nosuch:resolved", 5); /* a node of an older version */
    counter(f, "2026-01-11", "left:funnel:price:bogus", 5);
    counter(f, "2026-01-11", "reached:other:start", 9); /* another flow */
    counter(f, "2026-01-11", "reached:funnel", 9);     /* malformed */
    counter(f, "2026-01-11", "left:funnel:start", 9);
    counter(f, "2026-01-11", "reached:funnelXstart", 9);
    counter_on(f, "plain", "2026-01-11", "reached:funnel:start", 50);
}

static const char *const FUNNEL_EDGES =
    "\"edges\":[{\"from\":\"start\",\"to\":\"price\"},{\"from\":\"start\",\"to\":\"human\"},"
    "{\"from\":\"start\",\"to\":\"start\"},{\"from\":\"price\",\"to\":\"human\"},"
    "{\"from\":\"human\",\"to\":\"later\"}]}";

static void funnel_json_counts_and_edges(void **state)
{
    fixture *f = *state;
    fill_funnel(f);
    char want[2048];
    snprintf(want, sizeof want,
             "{\"flow\":\"funnel\",\"nodes\":["
             "{\"name\":\"start\",\"reached\":4,\"left\":{\"resolved\":1,\"abandoned\":1}},"
             "{\"name\":\"price\",\"reached\":2,\"left\":{\"lead\":2}},"
             "{\"name\":\"human\",\"reached\":2,\"left\":{\"handoff\":1,\"missed\":1}},"
             "{\"name\":\"later\",\"reached\":0,\"left\":{}}],%s",
             FUNNEL_EDGES);
    expect(funnel(f, "demo", "2026-01-10", "2026-01-12", NULL), 200, "application/json", want);
    /* a flow whose name is a prefix of "funnel" sees none of its counters */
    snprintf(want, sizeof want,
             "{\"flow\":\"fun\",\"nodes\":["
             "{\"name\":\"start\",\"reached\":0,\"left\":{}},{\"name\":\"price\",\"reached\":0,\"left\":{}},"
             "{\"name\":\"human\",\"reached\":0,\"left\":{}},{\"name\":\"later\",\"reached\":0,\"left\":{}}],%s",
             FUNNEL_EDGES);
    expect(funnel(f, "fun", "2026-01-10", "2026-01-12", NULL), 200, "application/json", want);
    expect(funnel(f, "unloaded", "2026-01-10", "2026-01-12", NULL), 200, "application/json",
           "{\"flow\":\"unloaded\",\"nodes\":[],\"edges\":[]}");
    expect(funnel(f, "plain", "2026-01-10", "2026-01-12", NULL), 200, "application/json",
           "{\"flow\":\"plain\",\"nodes\":[{\"name\":\"start\",\"reached\":0,\"left\":{}}],\"edges\":[]}");
}

static void funnel_csv_shape(void **state)
{
    fixture *f = *state;
    fill_funnel(f);
    expect(funnel(f, "demo", "2026-01-10", "2026-01-12", "csv"), 200, "text/csv",
           "node,reached,left_resolved,left_lead,left_handoff,left_missed,left_abandoned,left_error\n"
           "start,4,1,0,0,0,1,0\n"
           "price,2,0,2,0,0,0,0\n"
           "human,2,0,0,1,1,0,0\n"
           "later,0,0,0,0,0,0,0\n");
    expect(funnel(f, "demo", "2026-01-09", "2026-01-09", "csv"), 200, "text/csv",
           "node,reached,left_resolved,left_lead,left_handoff,left_missed,left_abandoned,left_error\n"
           "start,100,0,0,0,0,0,0\n"
           "price,0,0,0,0,0,0,0\n"
           "human,0,0,0,0,0,0,0\n"
           "later,0,0,0,0,0,0,0\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(percentile_of_nothing_is_zero),
        cmocka_unit_test(percentile_nearest_rank),
        cmocka_unit_test_setup_teardown(days_in_the_flow_zone, setup, teardown),
        cmocka_unit_test_setup_teardown(quota_month_in_the_zone, setup, teardown),
        cmocka_unit_test_setup_teardown(report_json_every_figure, setup, teardown),
        cmocka_unit_test_setup_teardown(report_empty_range_and_no_quota, setup, teardown),
        cmocka_unit_test_setup_teardown(report_days_in_summer_and_utc, setup, teardown),
        cmocka_unit_test_setup_teardown(report_csv_shape, setup, teardown),
        cmocka_unit_test_setup_teardown(bad_parameters, setup, teardown),
        cmocka_unit_test_setup_teardown(funnel_json_counts_and_edges, setup, teardown),
        cmocka_unit_test_setup_teardown(funnel_csv_shape, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
