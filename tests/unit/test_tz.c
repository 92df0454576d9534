/* test_tz.c - time zones: offsets and local times from the system zoneinfo
 * (compiler/fc_tz.c) and from POSIX rules alone (vm/vm_tz.c), DST gaps and
 * overlaps, TZif and TZ-string parsing from synthesized files, refused names
 * and files, and the bytecode form (round trip and hostile input).
 *
 * Expected instants are literal epoch seconds (checked against Python's
 * zoneinfo), not computed with the code under test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fc_tz.h"
#include "vm_tz.h"

#define H 3600

/* 2026 transition instants (UTC). */
#define WAW_SPRING 1774746000LL /* 2026-03-29 01:00 UTC */
#define WAW_AUTUMN 1792890000LL /* 2026-10-25 01:00 UTC */
#define NY_SPRING 1772953200LL  /* 2026-03-08 07:00 UTC */
#define NY_AUTUMN 1793512800LL  /* 2026-11-01 06:00 UTC */
#define SYD_END 1775318400LL    /* 2026-04-04 16:00 UTC: AEDT -> AEST */
#define SYD_START 1791043200LL  /* 2026-10-03 16:00 UTC: AEST -> AEDT */
#define WAW_SPRING_2090 3794173200LL /* 2090-03-26 01:00 UTC */
#define WAW_AUTUMN_2090 3812922000LL /* 2090-10-29 01:00 UTC */

/* ---- helpers -------------------------------------------------------------- */

/* Loads from the system database (FLOWC_ZONEINFO unset: the default path). */
static void load_system(const char *zone, vm_tz *tz)
{
    char err[256] = "";
    unsetenv("FLOWC_ZONEINFO");
    if (!fc_tz_load(zone, tz, err, sizeof err))
        fail_msg("loading %s: %s", zone, err);
}

static void check_local(const vm_tz *tz, int64_t t, int y, int mo, int d, int h, int mi, int s,
                        int wd)
{
    vm_civil c;
    vm_tz_local(tz, t, &c);
    assert_int_equal(c.year, y);
    assert_int_equal(c.month, mo);
    assert_int_equal(c.day, d);
    assert_int_equal(c.hour, h);
    assert_int_equal(c.minute, mi);
    assert_int_equal(c.second, s);
    assert_int_equal(c.weekday, wd);
}

static vm_tz_date mdate(int month, int week, int wday, int32_t secs)
{
    vm_tz_date d = {0};
    d.kind = 'M';
    d.month = (uint8_t)month;
    d.week = (uint8_t)week;
    d.wday = (uint8_t)wday;
    d.secs = secs;
    return d;
}

/* "CET-1CEST,M3.5.0,M10.5.0/3" built by hand, with no transitions. */
static vm_tz warsaw_rule_only(void)
{
    vm_tz tz;
    memset(&tz, 0, sizeof tz);
    strcpy(tz.name, "rule/Warsaw");
    tz.initial_utoff = 1 * H;
    tz.has_rule = true;
    tz.rule.std_off = 1 * H;
    tz.rule.dst_off = 2 * H;
    tz.rule.has_dst = true;
    tz.rule.start = mdate(3, 5, 0, 2 * H);
    tz.rule.end = mdate(10, 5, 0, 3 * H);
    return tz;
}

/* Field by field: the structs have padding that copies need not keep. */
static void assert_date_equal(const vm_tz_date *a, const vm_tz_date *b)
{
    assert_int_equal(a->kind, b->kind);
    assert_int_equal(a->day, b->day);
    assert_int_equal(a->month, b->month);
    assert_int_equal(a->week, b->week);
    assert_int_equal(a->wday, b->wday);
    assert_int_equal(a->secs, b->secs);
}

static void assert_rule_equal(const vm_tz_rule *a, const vm_tz_rule *b)
{
    assert_int_equal(a->std_off, b->std_off);
    assert_int_equal(a->dst_off, b->dst_off);
    assert_int_equal(a->has_dst, b->has_dst);
    assert_date_equal(&a->start, &b->start);
    assert_date_equal(&a->end, &b->end);
}

/* ---- synthesized TZif files ------------------------------------------------ */

typedef struct tzif_spec {
    char version;          /* 0, '2', '3', '4' */
    int ntime;
    const int64_t *times;
    const uint8_t *idx;
    int ntype;
    const int32_t *utoff;
    const char *footer;    /* v2+: the TZ string between the newlines */
} tzif_spec;

static void put_be(vm_buf *b, uint64_t v, int n)
{
    for (int i = n - 1; i >= 0; i--)
        vm_buf_put_u8(b, (uint8_t)(v >> (8 * i)));
}

static void put_header(vm_buf *b, char version, uint32_t ntime, uint32_t ntype, uint32_t leap)
{
    vm_buf_put_bytes(b, "TZif", 4);
    vm_buf_put_u8(b, (uint8_t)version);
    for (int i = 0; i < 15; i++)
        vm_buf_put_u8(b, 0);
    uint32_t counts[6] = {0, 0, leap, ntime, ntype, 4};
    for (int i = 0; i < 6; i++)
        put_be(b, counts[i], 4);
}

static void put_block(vm_buf *b, const tzif_spec *s, int tsize)
{
    for (int i = 0; i < s->ntime; i++)
        put_be(b, (uint64_t)s->times[i], tsize);
    for (int i = 0; i < s->ntime; i++)
        vm_buf_put_u8(b, s->idx[i]);
    for (int i = 0; i < s->ntype; i++) {
        put_be(b, (uint32_t)s->utoff[i], 4);
        vm_buf_put_u8(b, 0);
        vm_buf_put_u8(b, 0);
    }
    vm_buf_put_bytes(b, "UTC", 4); /* with its NUL */
}

/* Version 1: 32-bit data only. Later versions: an empty v1 block (as zic
 * -b slim writes), the 64-bit block and the footer. */
static void build_tzif(const tzif_spec *s, vm_buf *b)
{
    if (s->version == 0) {
        put_header(b, 0, (uint32_t)s->ntime, (uint32_t)s->ntype, 0);
        put_block(b, s, 4);
        return;
    }
    static const int32_t zero = 0;
    tzif_spec v1 = {s->version, 0, NULL, NULL, 1, &zero, NULL};
    put_header(b, s->version, 0, 1, 0);
    put_block(b, &v1, 4);
    put_header(b, s->version, (uint32_t)s->ntime, (uint32_t)s->ntype, 0);
    put_block(b, s, 8);
    vm_buf_put_u8(b, '\n');
    vm_buf_put_bytes(b, s->footer, strlen(s->footer));
    vm_buf_put_u8(b, '\n');
}

typedef struct fixture {
    char dir[64];
} fixture;

static int setup_dir(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    strcpy(f->dir, "/tmp/test_tz.XXXXXX");
    if (!f || !mkdtemp(f->dir))
        return -1;
    *state = f;
    return 0;
}

static int teardown_dir(void **state)
{
    fixture *f = *state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    int rc = system(cmd);
    free(f);
    unsetenv("FLOWC_ZONEINFO");
    return rc == 0 ? 0 : -1;
}

static void write_file(const fixture *f, const char *name, const void *data, size_t len)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", f->dir, name);
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(data, 1, len, fp), len);
    assert_int_equal(fclose(fp), 0);
}

/* Loads `name` from the fixture directory; returns fc_tz_load's result. */
static bool load_fixture(const fixture *f, const char *name, vm_tz *tz, char *err, size_t errlen)
{
    setenv("FLOWC_ZONEINFO", f->dir, 1);
    bool ok = fc_tz_load(name, tz, err, errlen);
    unsetenv("FLOWC_ZONEINFO");
    return ok;
}

/* A v2 file with no transitions and the given footer, loaded back. */
static bool load_footer(const fixture *f, const char *footer, vm_tz *tz)
{
    static const int32_t utoff = 0;
    tzif_spec s = {'2', 0, NULL, NULL, 1, &utoff, footer};
    vm_buf b = {0};
    char err[256];
    build_tzif(&s, &b);
    write_file(f, "Footer", b.data, b.len);
    vm_buf_free(&b);
    return load_fixture(f, "Footer", tz, err, sizeof err);
}

/* ---- calendar ------------------------------------------------------------- */

static void test_days_civil_known(void **state)
{
    int y, m, d;
    assert_int_equal(vm_days_from_civil(1970, 1, 1), 0);
    assert_int_equal(vm_days_from_civil(1969, 12, 31), -1);
    assert_int_equal(vm_days_from_civil(2000, 2, 29), 11016);
    assert_int_equal(vm_days_from_civil(2026, 3, 29), (WAW_SPRING - H) / 86400);
    assert_int_equal(vm_days_from_civil(0, 3, 1), -719468);
    assert_int_equal(vm_days_from_civil(2025, 13, 1), vm_days_from_civil(2026, 1, 1));
    assert_int_equal(vm_days_from_civil(2026, 0, 1), vm_days_from_civil(2025, 12, 1));
    assert_int_equal(vm_days_from_civil(2026, 2, 29), vm_days_from_civil(2026, 3, 1));
    vm_civil_from_days(-719468, &y, &m, &d);
    assert_true(y == 0 && m == 3 && d == 1);
    vm_civil_from_days(11016, &y, &m, &d);
    assert_true(y == 2000 && m == 2 && d == 29);
    vm_civil_from_days(INT64_MAX, &y, &m, &d); /* clamped, no overflow */
    assert_true(y > 1000000000 && m >= 1 && m <= 12 && d >= 1 && d <= 31);
    vm_civil_from_days(INT64_MIN, &y, &m, &d);
    assert_true(y < -1000000000 && m >= 1 && m <= 12 && d >= 1 && d <= 31);
}

/* Every day of about +-2700 years: back and forth, and each day follows the
 * previous one on the calendar. */
static void test_days_civil_roundtrip(void **state)
{
    int py, pm, pd;
    vm_civil_from_days(-1000001, &py, &pm, &pd);
    for (int64_t days = -1000000; days <= 1000000; days++) {
        int y, m, d;
        vm_civil_from_days(days, &y, &m, &d);
        assert_int_equal(vm_days_from_civil(y, m, d), days);
        bool next_day = y == py && m == pm && d == pd + 1;
        bool next_month = y == py && m == pm + 1 && d == 1;
        bool next_year = y == py + 1 && m == 1 && d == 1 && pm == 12 && pd == 31;
        assert_true(next_day || next_month || next_year);
        py = y, pm = m, pd = d;
    }
}

/* ---- Europe/Warsaw ----------------------------------------------------------- */

static void check_warsaw_2026(const vm_tz *tz)
{
    assert_int_equal(vm_tz_offset_at(tz, WAW_SPRING - 1), 1 * H);
    assert_int_equal(vm_tz_offset_at(tz, WAW_SPRING), 2 * H);
    assert_int_equal(vm_tz_offset_at(tz, WAW_AUTUMN - 1), 2 * H);
    assert_int_equal(vm_tz_offset_at(tz, WAW_AUTUMN), 1 * H);
    check_local(tz, WAW_SPRING - 1, 2026, 3, 29, 1, 59, 59, 6); /* Sunday */
    check_local(tz, WAW_SPRING, 2026, 3, 29, 3, 0, 0, 6);
    check_local(tz, WAW_AUTUMN - 1, 2026, 10, 25, 2, 59, 59, 6);
    check_local(tz, WAW_AUTUMN, 2026, 10, 25, 2, 0, 0, 6);
    check_local(tz, 1783324800, 2026, 7, 6, 10, 0, 0, 0); /* Monday 08:00 UTC */
    /* Normal wall times. */
    assert_int_equal(vm_tz_from_local(tz, 2026, 1, 15, 9, 0), 1768464000);
    assert_int_equal(vm_tz_from_local(tz, 2026, 7, 6, 10, 0), 1783324800);
    assert_int_equal(vm_tz_from_local(tz, 2026, 3, 29, 1, 59), WAW_SPRING - 60);
    assert_int_equal(vm_tz_from_local(tz, 2026, 3, 29, 3, 0), WAW_SPRING);
    /* 02:30 does not exist: read with CET, i.e. 01:30 UTC (03:30 CEST). */
    assert_int_equal(vm_tz_from_local(tz, 2026, 3, 29, 2, 30), WAW_SPRING + 30 * 60);
    /* 02:30 happens twice: the first time, in CEST, is 00:30 UTC. */
    assert_int_equal(vm_tz_from_local(tz, 2026, 10, 25, 2, 30), WAW_AUTUMN - 30 * 60);
    assert_int_equal(vm_tz_from_local(tz, 2026, 10, 25, 3, 0), WAW_AUTUMN + H);
}

static void test_warsaw_2026(void **state)
{
    vm_tz tz;
    load_system("Europe/Warsaw", &tz);
    assert_string_equal(tz.name, "Europe/Warsaw");
    assert_true(tz.ntrans > 0);
    assert_int_equal(tz.initial_utoff, 1 * H); /* CET in 1970 */
    assert_true(tz.trans[0].at >= 0);
    assert_true(tz.has_rule && tz.rule.has_dst);
    check_warsaw_2026(&tz);
    /* 2090 is past Debian's fat-file table (2037): the footer rule. */
    assert_int_equal(vm_tz_offset_at(&tz, WAW_SPRING_2090 - 1), 1 * H);
    assert_int_equal(vm_tz_offset_at(&tz, WAW_SPRING_2090), 2 * H);
    vm_tz_free(&tz);
    assert_null(tz.trans);
}

static void test_new_york_2026(void **state)
{
    vm_tz tz;
    load_system("America/New_York", &tz);
    assert_int_equal(vm_tz_offset_at(&tz, NY_SPRING - 1), -5 * H);
    assert_int_equal(vm_tz_offset_at(&tz, NY_SPRING), -4 * H);
    assert_int_equal(vm_tz_offset_at(&tz, NY_AUTUMN - 1), -4 * H);
    assert_int_equal(vm_tz_offset_at(&tz, NY_AUTUMN), -5 * H);
    check_local(&tz, NY_SPRING - 1, 2026, 3, 8, 1, 59, 59, 6);
    check_local(&tz, NY_SPRING, 2026, 3, 8, 3, 0, 0, 6);
    check_local(&tz, NY_AUTUMN - 1, 2026, 11, 1, 1, 59, 59, 6);
    check_local(&tz, NY_AUTUMN, 2026, 11, 1, 1, 0, 0, 6);
    /* 2026-03-06 is a Friday; 03:00 UTC is still Thursday evening. */
    check_local(&tz, 1772766000, 2026, 3, 5, 22, 0, 0, 3);
    assert_int_equal(vm_tz_from_local(&tz, 2026, 3, 5, 22, 0), 1772766000);
    assert_int_equal(vm_tz_from_local(&tz, 2026, 3, 8, 2, 30), NY_SPRING + 30 * 60); /* gap */
    assert_int_equal(vm_tz_from_local(&tz, 2026, 11, 1, 1, 30), NY_AUTUMN - 30 * 60); /* EDT */
    /* 2090 from the footer rule: 2090-03-12 07:00 UTC. */
    assert_int_equal(vm_tz_offset_at(&tz, 3792985200 - 1), -5 * H);
    assert_int_equal(vm_tz_offset_at(&tz, 3792985200), -4 * H);
    vm_tz_free(&tz);
}

/* ---- POSIX rules without transitions --------------------------------------------- */

static void test_rule_only_warsaw(void **state)
{
    vm_tz tz = warsaw_rule_only();
    check_warsaw_2026(&tz);
    assert_int_equal(vm_tz_offset_at(&tz, WAW_SPRING_2090 - 1), 1 * H);
    assert_int_equal(vm_tz_offset_at(&tz, WAW_SPRING_2090), 2 * H);
    assert_int_equal(vm_tz_offset_at(&tz, WAW_AUTUMN_2090 - 1), 2 * H);
    assert_int_equal(vm_tz_offset_at(&tz, WAW_AUTUMN_2090), 1 * H);
    check_local(&tz, WAW_SPRING_2090, 2090, 3, 26, 3, 0, 0, 6);
    assert_int_equal(vm_tz_from_local(&tz, 2090, 3, 26, 2, 30), WAW_SPRING_2090 + 30 * 60);
    assert_int_equal(vm_tz_from_local(&tz, 2090, 10, 29, 2, 30), WAW_AUTUMN_2090 - 30 * 60);
    /* New year: winter on both sides. */
    assert_int_equal(vm_tz_offset_at(&tz, 1798761600), 1 * H); /* 2027-01-01 00:00 UTC */
    check_local(&tz, 1798761600 - H, 2027, 1, 1, 0, 0, 0, 4);
}

/* The same rule parsed from a footer, in a file with no transitions. */
static void test_rule_from_footer(void **state)
{
    vm_tz tz, ref = warsaw_rule_only();
    assert_true(load_footer(*state, "CET-1CEST,M3.5.0,M10.5.0/3", &tz));
    assert_int_equal(tz.ntrans, 0);
    assert_true(tz.has_rule && tz.rule.has_dst);
    assert_rule_equal(&tz.rule, &ref.rule);
    check_warsaw_2026(&tz);
    assert_int_equal(vm_tz_offset_at(&tz, WAW_AUTUMN_2090 - 1), 2 * H);
    assert_int_equal(vm_tz_offset_at(&tz, WAW_AUTUMN_2090), 1 * H);
    vm_tz_free(&tz);
}

/* DST across the new year: it ends in April and starts in October. */
static void check_sydney_2026(const vm_tz *tz)
{
    assert_int_equal(vm_tz_offset_at(tz, SYD_END - 1), 11 * H);
    assert_int_equal(vm_tz_offset_at(tz, SYD_END), 10 * H);
    assert_int_equal(vm_tz_offset_at(tz, SYD_START - 1), 10 * H);
    assert_int_equal(vm_tz_offset_at(tz, SYD_START), 11 * H);
    check_local(tz, SYD_END - 1, 2026, 4, 5, 2, 59, 59, 6);
    check_local(tz, SYD_END, 2026, 4, 5, 2, 0, 0, 6);
    check_local(tz, SYD_START, 2026, 10, 4, 3, 0, 0, 6);
    /* 2026-12-31 13:00 UTC is midnight AEDT: summer over the new year. */
    assert_int_equal(vm_tz_offset_at(tz, 1798722000 - 1), 11 * H);
    check_local(tz, 1798722000, 2027, 1, 1, 0, 0, 0, 4);
    assert_int_equal(vm_tz_offset_at(tz, 1783296000), 10 * H); /* July */
    assert_int_equal(vm_tz_from_local(tz, 2026, 10, 4, 2, 30), SYD_START + 30 * 60);
    assert_int_equal(vm_tz_from_local(tz, 2026, 4, 5, 2, 30), SYD_END - 30 * 60);
    /* 2090: DST ends 2090-04-01 16:00 UTC, starts 2090-09-30 16:00 UTC. */
    assert_int_equal(vm_tz_offset_at(tz, 3794745600 - 1), 11 * H);
    assert_int_equal(vm_tz_offset_at(tz, 3794745600), 10 * H);
    assert_int_equal(vm_tz_offset_at(tz, 3810470400 - 1), 10 * H);
    assert_int_equal(vm_tz_offset_at(tz, 3810470400), 11 * H);
}

static void test_southern(void **state)
{
    vm_tz tz;
    assert_true(load_footer(*state, "AEST-10AEDT,M10.1.0,M4.1.0/3", &tz));
    assert_int_equal(tz.ntrans, 0);
    assert_int_equal(tz.rule.start.month, 10);
    assert_int_equal(tz.rule.end.month, 4);
    assert_int_equal(tz.rule.end.secs, 3 * H);
    check_sydney_2026(&tz);
    vm_tz_free(&tz);
    load_system("Australia/Sydney", &tz);
    check_sydney_2026(&tz);
    vm_tz_free(&tz);
}

static void test_fixed_tokyo(void **state)
{
    vm_tz tz;
    load_system("Asia/Tokyo", &tz);
    assert_int_equal(tz.ntrans, 0); /* last change 1951 */
    assert_true(tz.has_rule && !tz.rule.has_dst);
    for (int64_t t = 0; t < 4102444800LL; t += 86400 * 97 + 1234)
        assert_int_equal(vm_tz_offset_at(&tz, t), 9 * H);
    check_local(&tz, WAW_SPRING, 2026, 3, 29, 10, 0, 0, 6);
    assert_int_equal(vm_tz_from_local(&tz, 2026, 3, 29, 10, 0), WAW_SPRING);
    vm_tz_free(&tz);
}

static void test_utc(void **state)
{
    const char *names[] = {"UTC", "Etc/UTC", "Etc/GMT", "Zulu"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        vm_tz tz;
        load_system(names[i], &tz);
        assert_int_equal(tz.ntrans, 0);
        assert_int_equal(vm_tz_offset_at(&tz, WAW_SPRING), 0);
        assert_int_equal(vm_tz_from_local(&tz, 2026, 3, 29, 1, 0), WAW_SPRING);
        vm_tz_free(&tz);
    }
    assert_int_equal(vm_tz_offset_at(NULL, WAW_SPRING), 0); /* NULL is UTC */
    check_local(NULL, WAW_SPRING, 2026, 3, 29, 1, 0, 0, 6);
    check_local(NULL, -1, 1969, 12, 31, 23, 59, 59, 2);
    assert_int_equal(vm_tz_from_local(NULL, 2026, 3, 29, 1, 0), WAW_SPRING);
}

/* Every wall time on the minute that exists converts back to its first
 * occurrence; covers half-hour DST (Lord Howe), negative DST (Dublin),
 * 2-hour DST (Troll) and rules with odd times (Nuuk, Gaza, Santiago). */
static void test_from_local_roundtrip(void **state)
{
    const char *zones[] = {"Europe/Warsaw",       "America/New_York", "Australia/Sydney",
                           "Australia/Lord_Howe", "Europe/Dublin",    "Antarctica/Troll",
                           "America/Nuuk",        "Asia/Gaza",        "America/Santiago"};
    const int64_t ranges[][2] = {{1767225600, 1798761600},  /* 2026 */
                                 {3786912000, 3818448000}}; /* 2090 */
    for (size_t z = 0; z < sizeof zones / sizeof *zones; z++) {
        vm_tz tz;
        load_system(zones[z], &tz);
        for (size_t r = 0; r < 2; r++)
            for (int64_t t = ranges[r][0]; t < ranges[r][1]; t += 15 * 60) {
                vm_civil c, back;
                vm_tz_local(&tz, t, &c);
                int64_t u = vm_tz_from_local(&tz, c.year, c.month, c.day, c.hour, c.minute);
                vm_tz_local(&tz, u, &back);
                assert_true(u <= t);
                assert_true(back.day == c.day && back.hour == c.hour && back.minute == c.minute);
            }
        vm_tz_free(&tz);
    }
}

/* ---- TZ strings ------------------------------------------------------------ */

typedef struct tz_string_case {
    const char *s;
    int32_t std_off, dst_off;
    bool has_dst;
    char kind0;
    int day0; /* J/n day, or month for M */
    int32_t secs0, secs1;
} tz_string_case;

static void test_tz_strings(void **state)
{
    static const tz_string_case ok[] = {
        {"JST-9", 9 * H, 0, false, 0, 0, 0, 0},
        {"<+03>-3", 3 * H, 0, false, 0, 0, 0, 0},
        {"<-00>0", 0, 0, false, 0, 0, 0, 0},
        {"<+0530>-5:30", 5 * H + 1800, 0, false, 0, 0, 0, 0},
        {"XYZ+5:45:30", -(5 * H + 45 * 60 + 30), 0, false, 0, 0, 0, 0},
        {"EST5EDT,M3.2.0,M11.1.0", -5 * H, -4 * H, true, 'M', 3, 2 * H, 2 * H},
        {"<-02>2<-01>,M3.5.0/-1,M10.5.0/0", -2 * H, -1 * H, true, 'M', 3, -1 * H, 0},
        {"EET-2EEST,M3.4.4/50,M10.4.4/50", 2 * H, 3 * H, true, 'M', 3, 50 * H, 50 * H},
        {"IST-1GMT0,M10.5.0,M3.5.0/1", 1 * H, 0, true, 'M', 10, 2 * H, 1 * H},
        {"<+1030>-10:30<+11>-11,M10.1.0,M4.1.0", 10 * H + 1800, 11 * H, true, 'M', 10, 2 * H,
         2 * H},
        {"EST5EDT,0/0,J365/25", -5 * H, -4 * H, true, 'n', 0, 0, 25 * H},
        {"AAA3BBB,J60/-167,59/167:59:59", -3 * H, -2 * H, true, 'J', 60, -167 * H,
         167 * H + 3599},
    };
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
        vm_tz tz;
        if (!load_footer(*state, ok[i].s, &tz))
            fail_msg("refused %s", ok[i].s);
        assert_true(tz.has_rule);
        assert_int_equal(tz.rule.std_off, ok[i].std_off);
        assert_int_equal(tz.rule.has_dst, ok[i].has_dst);
        if (ok[i].has_dst) {
            assert_int_equal(tz.rule.dst_off, ok[i].dst_off);
            assert_int_equal(tz.rule.start.kind, ok[i].kind0);
            assert_int_equal(ok[i].kind0 == 'M' ? tz.rule.start.month : tz.rule.start.day,
                             ok[i].day0);
            assert_int_equal(tz.rule.start.secs, ok[i].secs0);
            assert_int_equal(tz.rule.end.secs, ok[i].secs1);
        }
        vm_tz_free(&tz);
    }
    static const char *bad[] = {
        "CET", "CET-1CEST", "CET-1CEST,M3.5.0", "CET-25", "CE-1", "C1T-1", "<+03-3",
        "<>-3", "CET-1:60", "CET-1CEST,M13.1.0,M10.5.0", "CET-1CEST,M3.0.0,M10.5.0",
        "CET-1CEST,M3.6.0,M10.5.0", "CET-1CEST,M3.5.7,M10.5.0", "CET-1CEST,J0,J365",
        "CET-1CEST,J1,J366", "CET-1CEST,n366,n1", "CET-1CEST,M3.5.0/168,M10.5.0",
        "CET-1CEST,M3.5.0,M10.5.0/3x", "CET-1 ", "CET-1CEST,M3.5.0,M10.5.0,", "CET--1",
        "CET-1CEST-25,M3.5.0,M10.5.0", "CET-1CEST,M3.5.0,M10.5.0/", "CET-1CEST,,M10.5.0",
        "CET-1\tCEST,M3.5.0,M10.5.0", "CET-1CEST,n59,n300",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        vm_tz tz;
        if (load_footer(*state, bad[i], &tz))
            fail_msg("accepted %s", bad[i]);
        assert_null(tz.trans);
    }
    /* An empty footer: no rule, the last offset goes on. */
    vm_tz tz;
    assert_true(load_footer(*state, "", &tz));
    assert_false(tz.has_rule);
    assert_int_equal(vm_tz_offset_at(&tz, WAW_SPRING), 0);
}

/* Odd rule dates and times evaluated. */
static void test_rule_dates(void **state)
{
    vm_tz tz;
    /* Permanent DST (tz's convention: all year from Jan 1 00:00 to Dec 31 25:00). */
    assert_true(load_footer(*state, "EST5EDT,0/0,J365/25", &tz));
    for (int64_t t = 1735689600 - 3 * 86400; t < 1735689600 + 3 * 86400; t += 1800)
        assert_int_equal(vm_tz_offset_at(&tz, t), -4 * H);
    assert_int_equal(vm_tz_offset_at(&tz, WAW_SPRING), -4 * H);
    /* J60 is always March 1; 59 (zero-based) is Feb 29 in a leap year, else March 1. */
    assert_true(load_footer(*state, "AAA0BBB-1,J60/0,59/0", &tz));
    assert_int_equal(vm_tz_offset_at(&tz, 1709251200 - 1), 0); /* 2024-03-01 00:00 UTC */
    assert_int_equal(vm_tz_offset_at(&tz, 1709251200), 1 * H); /* starts J60 */
    /* 2025: ends on day 59 = March 1 00:00 DST (Feb 28 23:00 UTC), starts
     * again on J60 = March 1 00:00 standard time (00:00 UTC). */
    assert_int_equal(vm_tz_offset_at(&tz, 1740783600 - 1), 1 * H);
    assert_int_equal(vm_tz_offset_at(&tz, 1740783600), 0);
    assert_int_equal(vm_tz_offset_at(&tz, 1740787200), 1 * H);
    /* Gaza 2090: fourth Thursday of March (23rd) + 50h = 2090-03-25 00:00 UTC. */
    assert_true(load_footer(*state, "EET-2EEST,M3.4.4/50,M10.4.4/50", &tz));
    assert_int_equal(vm_tz_offset_at(&tz, 3794083200 - 1), 2 * H);
    assert_int_equal(vm_tz_offset_at(&tz, 3794083200), 3 * H);
    assert_int_equal(vm_tz_offset_at(&tz, 3812828400 - 1), 3 * H);
    assert_int_equal(vm_tz_offset_at(&tz, 3812828400), 2 * H);
    /* Nuuk: /-1 starts DST on Saturday 23:00 local. */
    assert_true(load_footer(*state, "<-02>2<-01>,M3.5.0/-1,M10.5.0/0", &tz));
    assert_int_equal(vm_tz_offset_at(&tz, WAW_SPRING - 1), -2 * H);
    assert_int_equal(vm_tz_offset_at(&tz, WAW_SPRING), -1 * H);
    check_local(&tz, WAW_SPRING, 2026, 3, 29, 0, 0, 0, 6);
    assert_int_equal(vm_tz_offset_at(&tz, WAW_AUTUMN), -2 * H);
    /* Dublin: "standard" IST in summer, negative DST in winter. */
    assert_true(load_footer(*state, "IST-1GMT0,M10.5.0,M3.5.0/1", &tz));
    assert_int_equal(vm_tz_offset_at(&tz, WAW_SPRING - 1), 0);
    assert_int_equal(vm_tz_offset_at(&tz, WAW_SPRING), 1 * H);
    assert_int_equal(vm_tz_offset_at(&tz, WAW_AUTUMN - 1), 1 * H);
    assert_int_equal(vm_tz_offset_at(&tz, WAW_AUTUMN), 0);
}

/* ---- TZif variants ------------------------------------------------------------ */

/* Version 1 file, 32-bit times: transitions before 1970 set the initial
 * offset, a transition that keeps the offset is dropped, no footer rule. */
static void test_tzif_v1(void **state)
{
    static const int64_t times[] = {-100000, 1000, 2000, 3000, 4000};
    static const uint8_t idx[] = {1, 2, 2, 1, 1};
    static const int32_t utoff[] = {7 * H, 1 * H, 2 * H};
    tzif_spec s = {0, 5, times, idx, 3, utoff, NULL};
    vm_buf b = {0};
    char err[256];
    vm_tz tz;
    build_tzif(&s, &b);
    write_file(*state, "V1", b.data, b.len);
    vm_buf_free(&b);
    assert_true(load_fixture(*state, "V1", &tz, err, sizeof err));
    assert_false(tz.has_rule);
    assert_int_equal(tz.initial_utoff, 1 * H);
    assert_int_equal(tz.ntrans, 3); /* 1000 (->2h), 3000 (->1h), 4000 (last, kept) */
    assert_int_equal(tz.trans[0].at, 1000);
    assert_int_equal(tz.trans[1].at, 3000);
    assert_int_equal(tz.trans[2].at, 4000);
    assert_int_equal(vm_tz_offset_at(&tz, 2500), 2 * H);
    assert_int_equal(vm_tz_offset_at(&tz, 5000000000LL), 1 * H);
    vm_tz_free(&tz);
}

/* First transition after 1970: the offset before it is type 0's (RFC 8536),
 * even when type 0 is not the type of a later transition. Versions 2-4. */
static void test_tzif_v2_v3_v4(void **state)
{
    static const int64_t times[] = {1000000, 2000000};
    static const uint8_t idx[] = {1, 2};
    static const int32_t utoff[] = {-3 * H, 4 * H, 5 * H};
    const char versions[] = {'2', '3', '4'};
    for (size_t i = 0; i < 3; i++) {
        tzif_spec s = {versions[i], 2, times, idx, 3, utoff, "<+05>-5"};
        vm_buf b = {0};
        char err[256];
        vm_tz tz;
        build_tzif(&s, &b);
        write_file(*state, "V2", b.data, b.len);
        vm_buf_free(&b);
        assert_true(load_fixture(*state, "V2", &tz, err, sizeof err));
        assert_int_equal(tz.initial_utoff, -3 * H);
        assert_int_equal(tz.ntrans, 2);
        assert_int_equal(vm_tz_offset_at(&tz, 0), -3 * H);
        assert_int_equal(vm_tz_offset_at(&tz, 1500000), 4 * H);
        assert_int_equal(vm_tz_offset_at(&tz, WAW_SPRING), 5 * H);
        vm_tz_free(&tz);
    }
}

/* Damaged and unsupported files are refused with the usual message. */
static void test_tzif_refused(void **state)
{
    static const int64_t times[] = {1000, 2000};
    static const uint8_t idx[] = {0, 1};
    static const uint8_t bad_idx[] = {0, 3};
    static const int64_t unsorted[] = {2000, 1000};
    static const int32_t utoff[] = {0, 1 * H};
    static const int32_t huge_off[] = {0, 27 * H};
    const tzif_spec specs[] = {
        {'2', 2, times, bad_idx, 2, utoff, ""},
        {'2', 2, unsorted, idx, 2, utoff, ""},
        {'2', 2, times, idx, 2, huge_off, ""},
        {'5', 2, times, idx, 2, utoff, ""},
        {'1', 2, times, idx, 2, utoff, ""},
        {'2', 2, times, idx, 2, utoff, "CET-1CEST"},
    };
    for (size_t i = 0; i < sizeof specs / sizeof *specs; i++) {
        vm_buf b = {0};
        char err[256] = "";
        vm_tz tz;
        build_tzif(&specs[i], &b);
        write_file(*state, "Bad", b.data, b.len);
        vm_buf_free(&b);
        if (load_fixture(*state, "Bad", &tz, err, sizeof err))
            fail_msg("accepted case %zu", i);
        assert_non_null(strstr(err, "unknown time zone 'Bad'"));
        assert_null(tz.trans);
    }
    /* A leap-second record (as in right/ zones). */
    vm_buf b = {0};
    put_header(&b, 0, 0, 1, 1);
    put_be(&b, 0, 4), put_be(&b, 0, 2), vm_buf_put_bytes(&b, "UTC", 4);
    put_be(&b, 78796800, 4), put_be(&b, 1, 4);
    char err[256];
    vm_tz tz;
    write_file(*state, "Leap", b.data, b.len);
    vm_buf_free(&b);
    assert_false(load_fixture(*state, "Leap", &tz, err, sizeof err));
    assert_non_null(strstr(err, "leap"));
}

/* The real Europe/Warsaw file cut at every length is refused; whole, it
 * loads. Each cut file is exactly that long, so reads past it would show. */
static void test_tzif_truncated(void **state)
{
    FILE *fp = fopen("/usr/share/zoneinfo/Europe/Warsaw", "rb");
    assert_non_null(fp);
    static uint8_t data[65536];
    size_t len = fread(data, 1, sizeof data, fp);
    fclose(fp);
    assert_true(len > 100 && len < sizeof data);
    for (size_t n = 0; n <= len; n++) {
        char err[256];
        vm_tz tz;
        write_file(*state, "Cut", data, n);
        bool ok = load_fixture(*state, "Cut", &tz, err, sizeof err);
        assert_int_equal(ok, n == len);
        if (ok)
            check_warsaw_2026(&tz);
        vm_tz_free(&tz);
    }
}

/* ---- refused names and files ------------------------------------------------------ */

static void expect_refused(const char *zone)
{
    vm_tz tz;
    char err[256] = "";
    if (fc_tz_load(zone, &tz, err, sizeof err))
        fail_msg("accepted zone '%s'", zone ? zone : "(null)");
    assert_true(strncmp(err, "unknown time zone '", 19) == 0);
    assert_null(tz.trans);
    assert_int_equal(tz.ntrans, 0);
}

static void test_refused_names(void **state)
{
    unsetenv("FLOWC_ZONEINFO");
    const char *names[] = {"Europe/Atlantis", "../etc/passwd", "/etc/passwd", "Europe", "",
                           "Europe/../Europe/Warsaw", "./Europe/Warsaw", "Europe//Warsaw",
                           "Europe/Warsaw/", "Europe/War saw", "Europe/Warsaw\n", "europe\\warsaw",
                           "localtime", "zone.tab", "Europe/Warsaw/x",
                           "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
                           NULL};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        expect_refused(names[i]);
    char err[256];
    vm_tz tz;
    assert_false(fc_tz_load("Europe/Atlantis", &tz, err, sizeof err));
    assert_string_equal(err, "unknown time zone 'Europe/Atlantis'");
    assert_false(fc_tz_load("Europe\x1b[2J", &tz, err, sizeof err));
    assert_null(strchr(err, '\x1b')); /* echoed safely */
    assert_false(fc_tz_load("Europe/Atlantis", &tz, NULL, 0)); /* no message wanted */
    /* posixrules is a valid TZif file (a link to America/New_York here). */
    load_system("posixrules", &tz);
    vm_tz_free(&tz);
}

static void test_refused_files(void **state)
{
    fixture *f = *state;
    char path[256];
    write_file(f, "Text", "not a zone\n", 11);
    write_file(f, "Empty", "", 0);
    write_file(f, "Magic", "TZif", 4);
    snprintf(path, sizeof path, "%s/Big", f->dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, 2 << 20), 0); /* sparse 2 MB */
    close(fd);
    snprintf(path, sizeof path, "%s/Fifo", f->dir);
    assert_int_equal(mkfifo(path, 0644), 0); /* must not block */
    snprintf(path, sizeof path, "%s/Dir", f->dir);
    assert_int_equal(mkdir(path, 0755), 0);
    const char *names[] = {"Text", "Empty", "Magic", "Big", "Fifo", "Dir", "Missing"};
    setenv("FLOWC_ZONEINFO", f->dir, 1);
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        expect_refused(names[i]);
    setenv("FLOWC_ZONEINFO", "/nonexistent", 1);
    expect_refused("Europe/Warsaw");
    unsetenv("FLOWC_ZONEINFO");
}

/* ---- bytecode form ------------------------------------------------------------ */

static void assert_tz_equal(const vm_tz *a, const vm_tz *b)
{
    assert_string_equal(a->name, b->name);
    assert_int_equal(a->initial_utoff, b->initial_utoff);
    assert_int_equal(a->ntrans, b->ntrans);
    for (uint32_t i = 0; i < a->ntrans; i++) {
        assert_int_equal(a->trans[i].at, b->trans[i].at);
        assert_int_equal(a->trans[i].utoff, b->trans[i].utoff);
    }
    assert_int_equal(a->has_rule, b->has_rule);
    assert_rule_equal(&a->rule, &b->rule);
}

static bool decode_bytes(const uint8_t *p, size_t n, vm_tz *tz)
{
    /* An exact-size copy, so that a read past the end is caught by ASan. */
    uint8_t *copy = malloc(n ? n : 1);
    assert_non_null(copy);
    if (n)
        memcpy(copy, p, n);
    vm_reader r = vm_reader_make(copy, n);
    char err[128] = "";
    bool ok = vm_tz_decode(&r, tz, err, sizeof err);
    if (ok)
        assert_false(r.err);
    else
        assert_true(r.err && err[0] != '\0');
    free(copy);
    return ok;
}

static void test_encode_decode_roundtrip(void **state)
{
    const char *zones[] = {"Europe/Warsaw", "America/New_York", "Australia/Sydney", "Asia/Tokyo",
                           "UTC", "Asia/Gaza"};
    for (size_t i = 0; i <= sizeof zones / sizeof *zones; i++) {
        vm_tz tz, back;
        if (i < sizeof zones / sizeof *zones)
            load_system(zones[i], &tz);
        else
            tz = warsaw_rule_only();
        vm_buf b = {0}, b2 = {0};
        vm_tz_encode(&tz, &b);
        assert_false(b.oom);
        assert_true(decode_bytes(b.data, b.len, &back));
        assert_tz_equal(&tz, &back);
        vm_tz_encode(&back, &b2);
        assert_int_equal(b.len, b2.len);
        assert_memory_equal(b.data, b2.data, b.len);
        /* Decoding consumes exactly what was written. */
        vm_reader r = vm_reader_make(b.data, b.len);
        char err[64];
        vm_tz again;
        assert_true(vm_tz_decode(&r, &again, err, sizeof err));
        assert_int_equal(vm_reader_left(&r), 0);
        vm_tz_free(&again);
        vm_tz_free(&back);
        vm_tz_free(&tz);
        vm_buf_free(&b);
        vm_buf_free(&b2);
    }
}

static void test_decode_truncated(void **state)
{
    vm_tz tz, back;
    load_system("Europe/Warsaw", &tz);
    vm_buf b = {0};
    vm_tz_encode(&tz, &b);
    for (size_t n = 0; n < b.len; n++) {
        memset(&back, 0x5a, sizeof back);
        assert_false(decode_bytes(b.data, n, &back));
        assert_null(back.trans); /* left empty, nothing to free */
        assert_int_equal(back.ntrans, 0);
    }
    vm_buf_free(&b);
    vm_tz_free(&tz);
}

/* Encodes a hand-made tz (vm_tz_encode does not validate) and expects the
 * decoder to refuse it. */
static void expect_decode_fails(const vm_tz *tz)
{
    vm_buf b = {0};
    vm_tz back;
    vm_tz_encode(tz, &b);
    assert_false(decode_bytes(b.data, b.len, &back));
    vm_buf_free(&b);
}

static void test_decode_rejects(void **state)
{
    vm_tz_transition tr[3] = {{1000, H}, {3000, 0}, {2000, H}};
    vm_tz tz = warsaw_rule_only();
    tz.trans = tr;
    tz.ntrans = 3;
    expect_decode_fails(&tz); /* unsorted */
    tr[2].at = 3000;
    expect_decode_fails(&tz); /* equal times */
    tr[2].at = 4000;
    tr[1].utoff = 26 * H + 1;
    expect_decode_fails(&tz); /* offset beyond 26h */
    tr[1].utoff = 0;
    vm_tz ok = tz;
    vm_buf b = {0};
    vm_tz back;
    vm_tz_encode(&ok, &b);
    assert_true(decode_bytes(b.data, b.len, &back));
    vm_tz_free(&back);
    vm_buf_free(&b);

    vm_tz t = warsaw_rule_only();
    t.initial_utoff = -26 * H - 1, expect_decode_fails(&t), t = warsaw_rule_only();
    t.rule.std_off = 27 * H, expect_decode_fails(&t), t = warsaw_rule_only();
    t.rule.dst_off = INT32_MIN, expect_decode_fails(&t), t = warsaw_rule_only();
    t.rule.start.kind = 'X', expect_decode_fails(&t), t = warsaw_rule_only();
    t.rule.start.month = 13, expect_decode_fails(&t), t = warsaw_rule_only();
    t.rule.start.month = 0, expect_decode_fails(&t), t = warsaw_rule_only();
    t.rule.end.week = 0, expect_decode_fails(&t), t = warsaw_rule_only();
    t.rule.end.week = 6, expect_decode_fails(&t), t = warsaw_rule_only();
    t.rule.end.wday = 7, expect_decode_fails(&t), t = warsaw_rule_only();
    t.rule.end.secs = 168 * H, expect_decode_fails(&t), t = warsaw_rule_only();
    t.rule.start.secs = -168 * H, expect_decode_fails(&t), t = warsaw_rule_only();
    t.rule.start = (vm_tz_date){.kind = 'J', .day = 0}, expect_decode_fails(&t);
    t.rule.start = (vm_tz_date){.kind = 'J', .day = 366}, expect_decode_fails(&t);
    t.rule.start = (vm_tz_date){.kind = 'n', .day = 366}, expect_decode_fails(&t);
    t = warsaw_rule_only();
    strcpy(t.name, "Europe/War saw"), expect_decode_fails(&t);
}

/* Counts that would make the decoder allocate much: refused before any
 * allocation, whether over the cap or over what the input can hold. */
static void test_decode_huge_counts(void **state)
{
    uint32_t counts[] = {0xffffffffu, 100001, 1000, 2};
    for (size_t i = 0; i < sizeof counts / sizeof *counts; i++) {
        vm_buf b = {0};
        vm_tz back;
        vm_buf_put_str(&b, "X", 1);
        vm_buf_put_u32(&b, 0);
        vm_buf_put_u32(&b, counts[i]);
        /* 100001 transitions' worth of bytes, so only the cap refuses it. */
        size_t body = counts[i] == 100001 ? (size_t)counts[i] * 12 + 1 : 13;
        uint8_t *zeros = calloc(1, body);
        vm_buf_put_bytes(&b, zeros, body);
        free(zeros);
        assert_false(decode_bytes(b.data, b.len, &back));
        vm_buf_free(&b);
    }
    /* Flags other than 0/1, a name longer than 63. */
    uint8_t flag[] = {1, 'X', 0, 0, 0, 0, 0, 0, 0, 0, 2};
    vm_tz back;
    assert_false(decode_bytes(flag, sizeof flag, &back));
    vm_buf b = {0};
    char name[80];
    memset(name, 'A', sizeof name);
    vm_buf_put_str(&b, name, sizeof name);
    vm_buf_put_bytes(&b, "\0\0\0\0\0\0\0\0\0", 9);
    assert_false(decode_bytes(b.data, b.len, &back));
    vm_buf_free(&b);
}

/* Random damage to real encodings: decoding never misbehaves (ASan/UBSan
 * watch), and what it accepts is usable and re-encodes to the same bytes. */
static void test_decode_mutations(void **state)
{
    const char *zones[] = {"Europe/Warsaw", "Australia/Sydney", "Asia/Tokyo"};
    uint64_t rng = 0x9e3779b97f4a7c15u;
    for (size_t z = 0; z < 3; z++) {
        vm_tz tz;
        vm_buf b = {0};
        load_system(zones[z], &tz);
        vm_tz_encode(&tz, &b);
        for (int iter = 0; iter < 20000; iter++) {
            uint8_t *m = malloc(b.len);
            memcpy(m, b.data, b.len);
            for (int k = 0; k < 1 + iter % 4; k++) {
                rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
                m[rng % b.len] ^= (uint8_t)(1u << (rng >> 32) % 8);
            }
            size_t n = iter % 5 == 0 ? (size_t)(rng >> 40) % b.len : b.len;
            vm_tz back;
            if (decode_bytes(m, n, &back)) {
                vm_civil c;
                vm_tz_local(&back, WAW_SPRING, &c);
                (void)vm_tz_from_local(&back, 2026, 3, 29, 2, 30);
                vm_buf b2 = {0};
                vm_tz_encode(&back, &b2);
                vm_tz again;
                assert_true(decode_bytes(b2.data, b2.len, &again));
                assert_tz_equal(&back, &again);
                vm_tz_free(&again);
                vm_buf_free(&b2);
                vm_tz_free(&back);
            }
            free(m);
        }
        vm_buf_free(&b);
        vm_tz_free(&tz);
    }
}

/* Extreme arguments are defined behaviour (UBSan watches) and sane. */
static void test_extreme_inputs(void **state)
{
    vm_tz tz;
    load_system("Europe/Warsaw", &tz);
    const int64_t times[] = {INT64_MIN, INT64_MIN + 1, -1, 0, INT64_MAX - 1, INT64_MAX};
    for (size_t i = 0; i < sizeof times / sizeof *times; i++) {
        vm_civil c;
        int32_t off = vm_tz_offset_at(&tz, times[i]);
        assert_true(off >= -26 * H && off <= 26 * H);
        vm_tz_local(&tz, times[i], &c);
        assert_true(c.month >= 1 && c.month <= 12 && c.hour >= 0 && c.hour < 24);
        assert_true(c.weekday >= 0 && c.weekday < 7);
    }
    const int vals[] = {INT_MIN, -1, 0, 1, INT_MAX};
    for (size_t a = 0; a < 5; a++)
        for (size_t m = 0; m < 5; m++)
            (void)vm_tz_from_local(&tz, vals[a], vals[m], vals[(a + m) % 5], vals[m], vals[a]);
    /* Day and hour overflow carry: 2026-03-28 26:30 is 03-29 02:30 (a gap). */
    assert_int_equal(vm_tz_from_local(&tz, 2026, 3, 28, 26, 30), WAW_SPRING + 30 * 60);
    vm_tz_free(&tz);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_days_civil_known),
        cmocka_unit_test(test_days_civil_roundtrip),
        cmocka_unit_test(test_warsaw_2026),
        cmocka_unit_test(test_new_york_2026),
        cmocka_unit_test(test_rule_only_warsaw),
        cmocka_unit_test_setup_teardown(test_rule_from_footer, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_southern, setup_dir, teardown_dir),
        cmocka_unit_test(test_fixed_tokyo),
        cmocka_unit_test(test_utc),
        cmocka_unit_test(test_from_local_roundtrip),
        cmocka_unit_test_setup_teardown(test_tz_strings, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_rule_dates, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_tzif_v1, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_tzif_v2_v3_v4, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_tzif_refused, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_tzif_truncated, setup_dir, teardown_dir),
        cmocka_unit_test(test_refused_names),
        cmocka_unit_test_setup_teardown(test_refused_files, setup_dir, teardown_dir),
        cmocka_unit_test(test_encode_decode_roundtrip),
        cmocka_unit_test(test_decode_truncated),
        cmocka_unit_test(test_decode_rejects),
        cmocka_unit_test(test_decode_huge_counts),
        cmocka_unit_test(test_decode_mutations),
        cmocka_unit_test(test_extreme_inputs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
