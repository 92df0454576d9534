/* vm_tz.c - UTC offsets, local civil time and the bytecode form of a zone's
 * rules (see vm_tz.h).
 *
 * Pure arithmetic on the compiled rules: no time-zone database, no
 * localtime/mktime, no TZ variable and no globals, so a program gives the
 * same answers on every machine. Every function accepts any int64 instant
 * and any int date fields without overflow; vm_tz_decode accepts any bytes.
 */
#include "vm_tz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SECS_PER_DAY 86400
#define MAX_UTOFF (26 * 3600)             /* larger offsets are malformed */
#define MAX_RULE_SECS (167 * 3600 + 3599) /* RFC 8536: hours -167..167 */
#define MAX_TRANS 100000u
#define TRANS_BYTES 12u /* encoded transition: u64 at + u32 utoff */
#define MAX_NAME 63     /* name[64] with its NUL */
/* Days are clamped to +-2e9 years around 1970, so a year fits in an int. */
#define MAX_DAYS (146097LL * 5000000LL)
/* Segments of the 52 hours around a wall time that vm_tz_from_local walks;
 * real zones have at most a few, only damaged data could have more. */
#define MAX_SEGMENTS 64

/* ---- integer helpers ---------------------------------------------------- */

/* Division rounding towards minus infinity (b > 0): instants before 1970
 * must fall on the day before, not on day 0. */
static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b < 0) ? q - 1 : q;
}

/* Computed from the remainder so that a near INT64_MIN cannot overflow. */
static int64_t floor_mod(int64_t a, int64_t b)
{
    int64_t r = a % b;
    return r < 0 ? r + b : r;
}

static int64_t clamp_days(int64_t days)
{
    if (days > MAX_DAYS)
        return MAX_DAYS;
    return days < -MAX_DAYS ? -MAX_DAYS : days;
}

/* Two's complement readback without implementation-defined conversions. */
static int32_t to_i32(uint32_t u)
{
    return u <= INT32_MAX ? (int32_t)u : (int32_t)(u - 0x80000000u) - INT32_MAX - 1;
}

static int64_t to_i64(uint64_t u)
{
    return u <= INT64_MAX ? (int64_t)u : (int64_t)(u - 0x8000000000000000u) - INT64_MAX - 1;
}

/* ---- calendar ----------------------------------------------------------- */

/* Howard Hinnant's days_from_civil. Months outside 1-12 carry into the year
 * and days outside the month carry into the next/previous months (the
 * formula is linear in the day), so callers may ask for "month 13". */
int64_t vm_days_from_civil(int year, int month, int day)
{
    int64_t y = (int64_t)year + floor_div((int64_t)month - 1, 12);
    int64_t m = floor_mod((int64_t)month - 1, 12) + 1;
    y -= m <= 2; /* the computational year starts on March 1 */
    int64_t era = floor_div(y, 400);
    int64_t yoe = y - era * 400;                                      /* [0, 399] */
    int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + day - 1; /* from Mar 1 */
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;              /* [0, 146096] */
    return era * 146097 + doe - 719468;
}

/* Howard Hinnant's civil_from_days; days beyond +-2e9 years are clamped so
 * the year cannot overflow an int. */
void vm_civil_from_days(int64_t days, int *year, int *month, int *day)
{
    int64_t z = clamp_days(days) + 719468;
    int64_t era = floor_div(z, 146097);
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t m = mp < 10 ? mp + 3 : mp - 9;
    *year = (int)(yoe + era * 400 + (m <= 2));
    *month = (int)m;
    *day = (int)(doy - (153 * mp + 2) / 5 + 1);
}

/* ---- POSIX rule --------------------------------------------------------- */

/* Day (since 1970) on which a rule date falls in local year `year`. Out-of-
 * range fields of a hand-built rule give odd days, never undefined results. */
static int64_t rule_day(const vm_tz_date *d, int year)
{
    int64_t jan1 = vm_days_from_civil(year, 1, 1);
    if (d->kind == 'J') { /* 1-365 never counting Feb 29: J60 is March 1 */
        bool leap = vm_days_from_civil(year, 3, 1) - jan1 == 60;
        return jan1 + d->day - 1 + (leap && d->day >= 60);
    }
    if (d->kind == 'n') /* zero-based, Feb 29 counted */
        return jan1 + d->day;
    /* Mm.w.d: the w-th weekday d of month m; week 5 means the last one. */
    int64_t first = vm_days_from_civil(year, d->month, 1);
    int64_t len = vm_days_from_civil(year, d->month + 1, 1) - first;
    int64_t wday_first = floor_mod(first + 4, 7); /* 1970-01-01 was a Thursday */
    int64_t off = floor_mod(d->wday - wday_first, 7) + (int64_t)(d->week - 1) * 7;
    while (off >= len && off >= 7)
        off -= 7;
    return first + off;
}

typedef struct rule_event {
    int64_t at; /* UTC */
    bool dst;   /* DST is in force from `at` on */
} rule_event;

/* The rule's two changes of local year `year`, as UTC instants: DST starts
 * at a standard-time wall clock, ends at a DST wall clock. */
static void year_events(const vm_tz_rule *r, int year, rule_event ev[2])
{
    ev[0].at = rule_day(&r->start, year) * SECS_PER_DAY + r->start.secs - r->std_off;
    ev[0].dst = true;
    ev[1].at = rule_day(&r->end, year) * SECS_PER_DAY + r->end.secs - r->dst_off;
    ev[1].dst = false;
}

/* True when a must come after b. At equal instants the end sorts first, so
 * "DST ends Dec 31 24:00, starts Jan 1 00:00" (DST all year) stays in DST. */
static bool event_after(const rule_event *a, const rule_event *b)
{
    return a->at > b->at || (a->at == b->at && a->dst && !b->dst);
}

#define NEVENTS 8

/* The changes of the four local years around `utc`, sorted. A rule's date
 * plus a time of at most 167h and an offset of at most 26h stays within
 * ten days of its year, so these years surround `utc` on both sides, and the
 * ordering needs no "northern/southern hemisphere" case: DST spanning the new
 * year simply ends before it starts within the year. */
static void events_around(const vm_tz_rule *r, int64_t utc, rule_event ev[NEVENTS])
{
    int y, m, d;
    vm_civil_from_days(floor_div(utc, SECS_PER_DAY), &y, &m, &d);
    for (int i = 0; i < NEVENTS / 2; i++)
        year_events(r, y - 1 + i, &ev[2 * i]);
    for (int i = 1; i < NEVENTS; i++) { /* insertion sort: eight items */
        rule_event e = ev[i];
        int j = i;
        for (; j > 0 && event_after(&ev[j - 1], &e); j--)
            ev[j] = ev[j - 1];
        ev[j] = e;
    }
}

static int32_t rule_offset_at(const vm_tz_rule *r, int64_t utc)
{
    if (!r->has_dst)
        return r->std_off;
    rule_event ev[NEVENTS];
    events_around(r, utc, ev);
    bool dst = !ev[0].dst; /* before the first change: the other state */
    for (int i = 0; i < NEVENTS && ev[i].at <= utc; i++)
        dst = ev[i].dst;
    return dst ? r->dst_off : r->std_off;
}

/* The first rule change strictly after `t`; false for a rule without DST. */
static bool rule_next(const vm_tz_rule *r, int64_t t, int64_t *next)
{
    if (!r->has_dst)
        return false;
    rule_event ev[NEVENTS];
    events_around(r, t, ev);
    for (int i = 0; i < NEVENTS; i++)
        if (ev[i].at > t) {
            *next = ev[i].at;
            return true;
        }
    return false;
}

/* ---- lookups ------------------------------------------------------------ */

static uint32_t ntrans(const vm_tz *tz) { return tz->trans ? tz->ntrans : 0; }

/* Index of the last transition at or before `utc`; the caller has checked
 * that the first one is. */
static uint32_t last_at_or_before(const vm_tz *tz, int64_t utc)
{
    uint32_t lo = 0, hi = ntrans(tz); /* answer in [lo, hi) */
    while (hi - lo > 1) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (tz->trans[mid].at <= utc)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

/* With no transitions at all the rule, when there is one, covers all time;
 * otherwise it covers only what comes after the last transition. */
int32_t vm_tz_offset_at(const vm_tz *tz, int64_t utc)
{
    if (!tz)
        return 0;
    uint32_t n = ntrans(tz);
    if (n == 0)
        return tz->has_rule ? rule_offset_at(&tz->rule, utc) : tz->initial_utoff;
    if (utc < tz->trans[0].at)
        return tz->initial_utoff;
    uint32_t i = last_at_or_before(tz, utc);
    if (i == n - 1 && tz->has_rule && utc > tz->trans[i].at)
        return rule_offset_at(&tz->rule, utc);
    return tz->trans[i].utoff;
}

/* The next instant after `t` at which the offset may change (a transition
 * or a rule change; it may turn out to keep the same offset). */
static bool next_change(const vm_tz *tz, int64_t t, int64_t *next)
{
    uint32_t n = ntrans(tz);
    if (n > 0 && t < tz->trans[n - 1].at) {
        uint32_t i = t < tz->trans[0].at ? 0 : last_at_or_before(tz, t) + 1;
        *next = tz->trans[i].at;
        return true;
    }
    return tz->has_rule && rule_next(&tz->rule, t, next);
}

void vm_tz_local(const vm_tz *tz, int64_t utc, vm_civil *out)
{
    /* Split first and add the offset to the seconds of the day, so that no
     * instant near the int64 limits can overflow. */
    int64_t days = floor_div(utc, SECS_PER_DAY);
    int64_t secs = floor_mod(utc, SECS_PER_DAY) + vm_tz_offset_at(tz, utc);
    days = clamp_days(days + floor_div(secs, SECS_PER_DAY));
    secs = floor_mod(secs, SECS_PER_DAY);
    vm_civil_from_days(days, &out->year, &out->month, &out->day);
    out->hour = (int)(secs / 3600);
    out->minute = (int)(secs / 60 % 60);
    out->second = (int)(secs % 60);
    out->weekday = (int)floor_mod(days + 3, 7); /* 1970-01-01: Thursday = 3 */
}

/* Any instant u showing wall time `local` has u = local - offset(u), and
 * offsets are within 26h, so u lies within 26h of `local`. The offset
 * segments of that window are walked in order: the first segment holding its
 * own candidate gives the first occurrence. A wall time no segment holds was
 * skipped: it keeps the offset from before the (first) gap it fell into. */
int64_t vm_tz_from_local(const vm_tz *tz, int year, int month, int day, int hour, int minute)
{
    /* int inputs keep this far below the int64 limits (|local| < 2^57). */
    int64_t local = vm_days_from_civil(year, month, day) * SECS_PER_DAY + (int64_t)hour * 3600 +
                    (int64_t)minute * 60;
    if (!tz)
        return local;
    int64_t t = local - MAX_UTOFF - 1; /* start of the current segment */
    int32_t off = vm_tz_offset_at(tz, t);
    int64_t gap = local - (int64_t)off; /* fallback; only damaged data keeps it */
    bool in_gap = false;
    for (int i = 0; i < MAX_SEGMENTS && t <= local + MAX_UTOFF; i++) {
        int64_t cand = local - (int64_t)off, next;
        bool more = next_change(tz, t, &next);
        if (cand >= t && (!more || cand < next))
            return cand;
        if (!more)
            break;
        int32_t next_off = vm_tz_offset_at(tz, next);
        if (!in_gap && cand >= next && local - (int64_t)next_off < next) {
            in_gap = true; /* skipped here; a later segment may still hold it */
            gap = cand;
        }
        t = next;
        off = next_off;
    }
    return gap;
}

void vm_tz_free(vm_tz *tz)
{
    if (!tz)
        return;
    free(tz->trans);
    tz->trans = NULL;
    tz->ntrans = 0;
}

/* ---- serialisation ------------------------------------------------------ */
/* Layout (all little-endian, signed values in two's complement):
 *   str name; u32 initial_utoff; u32 ntrans; ntrans x {u64 at; u32 utoff};
 *   u8 has_rule; if has_rule: u32 std_off; u8 has_dst;
 *     if has_dst: u32 dst_off; date start; date end
 *   date: u8 kind; 'M': u8 month, u8 week, u8 wday; 'J'/'n': u16 day; u32 secs
 * Only fields that mean something are stored; decode zeroes the others. */

static void encode_date(const vm_tz_date *d, vm_buf *out)
{
    vm_buf_put_u8(out, d->kind);
    if (d->kind == 'M') {
        vm_buf_put_u8(out, d->month);
        vm_buf_put_u8(out, d->week);
        vm_buf_put_u8(out, d->wday);
    } else {
        vm_buf_put_u16(out, d->day);
    }
    vm_buf_put_u32(out, (uint32_t)d->secs);
}

void vm_tz_encode(const vm_tz *tz, vm_buf *out)
{
    size_t nlen = strnlen(tz->name, sizeof tz->name);
    uint32_t n = ntrans(tz);
    vm_buf_put_str(out, tz->name, nlen);
    vm_buf_put_u32(out, (uint32_t)tz->initial_utoff);
    vm_buf_put_u32(out, n);
    for (uint32_t i = 0; i < n; i++) {
        vm_buf_put_u64(out, (uint64_t)tz->trans[i].at);
        vm_buf_put_u32(out, (uint32_t)tz->trans[i].utoff);
    }
    vm_buf_put_u8(out, tz->has_rule);
    if (!tz->has_rule)
        return;
    vm_buf_put_u32(out, (uint32_t)tz->rule.std_off);
    vm_buf_put_u8(out, tz->rule.has_dst);
    if (!tz->rule.has_dst)
        return;
    vm_buf_put_u32(out, (uint32_t)tz->rule.dst_off);
    encode_date(&tz->rule.start, out);
    encode_date(&tz->rule.end, out);
}

/* Decoding stops at the first problem; `why` names it (static text). */
typedef struct decoder {
    vm_reader *in;
    const char *why;
} decoder;

static bool fail(decoder *d, const char *why)
{
    if (!d->why)
        d->why = why;
    return false;
}

/* A field read past the end counts as truncation, reported as such rather
 * than as whatever range check the zero it yields happens to fail. */
static bool truncated(decoder *d)
{
    if (!d->in->err)
        return false;
    fail(d, "truncated");
    return true;
}

static bool read_offset(decoder *d, int32_t *off)
{
    *off = to_i32(vm_read_u32(d->in));
    if (truncated(d))
        return false;
    return (*off >= -MAX_UTOFF && *off <= MAX_UTOFF) || fail(d, "UTC offset beyond 26 hours");
}

static bool read_bool(decoder *d, bool *v)
{
    uint8_t b = vm_read_u8(d->in);
    if (truncated(d))
        return false;
    *v = b == 1;
    return b <= 1 || fail(d, "flag not 0 or 1");
}

/* Same character set as zone names (fc_tz.h), so a name never carries
 * control characters into messages. */
static bool read_name(decoder *d, char name[64])
{
    size_t len;
    const char *s = vm_read_str(d->in, &len);
    if (truncated(d) || !s)
        return fail(d, "truncated");
    if (len > MAX_NAME)
        return fail(d, "name too long");
    for (size_t i = 0; i < len; i++)
        if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_+-/", s[i]) ||
            s[i] == '\0')
            return fail(d, "bad character in name");
    memcpy(name, s, len);
    name[len] = '\0';
    return true;
}

/* Both bounds are checked before allocating: the hard cap, and what the
 * bytes left can hold, so a forged count cannot make us allocate much. */
static bool read_transitions(decoder *d, vm_tz *tz)
{
    uint32_t n = vm_read_u32(d->in);
    if (truncated(d))
        return false;
    if (n > MAX_TRANS)
        return fail(d, "too many transitions");
    if ((uint64_t)n * TRANS_BYTES > vm_reader_left(d->in))
        return fail(d, "truncated");
    if (n == 0)
        return true;
    tz->trans = malloc((size_t)n * sizeof *tz->trans);
    if (!tz->trans)
        return fail(d, "out of memory");
    tz->ntrans = n;
    for (uint32_t i = 0; i < n; i++) {
        tz->trans[i].at = to_i64(vm_read_u64(d->in));
        if (!read_offset(d, &tz->trans[i].utoff))
            return false;
        if (i > 0 && tz->trans[i].at <= tz->trans[i - 1].at)
            return fail(d, "transitions not ascending");
    }
    return true;
}

static bool read_date(decoder *d, vm_tz_date *date)
{
    vm_reader *in = d->in;
    date->kind = vm_read_u8(in);
    if (date->kind == 'M') {
        date->month = vm_read_u8(in);
        date->week = vm_read_u8(in);
        date->wday = vm_read_u8(in);
    } else {
        date->day = vm_read_u16(in);
    }
    date->secs = to_i32(vm_read_u32(in));
    if (truncated(d))
        return false;
    bool ok;
    switch (date->kind) {
    case 'M':
        ok = date->month >= 1 && date->month <= 12 && date->week >= 1 && date->week <= 5 &&
             date->wday <= 6;
        break;
    case 'J': ok = date->day >= 1 && date->day <= 365; break;
    case 'n': ok = date->day <= 365; break;
    default: ok = false;
    }
    if (!ok)
        return fail(d, "bad rule date");
    return (date->secs >= -MAX_RULE_SECS && date->secs <= MAX_RULE_SECS) ||
           fail(d, "rule time beyond 167 hours");
}

static bool read_rule(decoder *d, vm_tz *tz)
{
    if (!read_bool(d, &tz->has_rule) || !tz->has_rule)
        return d->why == NULL;
    vm_tz_rule *r = &tz->rule;
    if (!read_offset(d, &r->std_off) || !read_bool(d, &r->has_dst) || !r->has_dst)
        return d->why == NULL;
    return read_offset(d, &r->dst_off) && read_date(d, &r->start) && read_date(d, &r->end);
}

/* Overwrites *tz (whatever it held is not freed); on failure *tz is left
 * empty with nothing allocated, and the reader's err is set too, so that a
 * caller decoding a whole program can check once at the end. */
bool vm_tz_decode(vm_reader *in, vm_tz *tz, char *err, size_t errlen)
{
    decoder d = {in, NULL};
    memset(tz, 0, sizeof *tz);
    if (read_name(&d, tz->name) && read_offset(&d, &tz->initial_utoff) &&
        read_transitions(&d, tz) && read_rule(&d, tz))
        return true;
    vm_tz_free(tz);
    memset(tz, 0, sizeof *tz);
    in->err = true;
    if (err && errlen)
        snprintf(err, errlen, "%s", d.why ? d.why : "malformed"); /* caller adds context */
    return false;
}
