/* vm_tz.h - time-zone rules compiled into a program.
 *
 * `hours "Europe/Warsaw" {...}` is compiled with the zone's rules so that the
 * VM needs no time-zone database at run time: the UTC offsets in force from
 * 1970 on (the transitions of the zone's TZif file) and, for instants after
 * the last transition, the zone's POSIX TZ rule (the TZif footer, e.g.
 * "CET-1CEST,M3.5.0,M10.5.0/3"). The compiler fills a vm_tz from the zoneinfo
 * database (compiler/fc_tz.h); the bytecode carries it (vm_tz_encode /
 * vm_tz_decode); the VM asks it for local times.
 */
#ifndef VM_TZ_H
#define VM_TZ_H

#include <stdbool.h>
#include <stdint.h>

#include "vm_buf.h"

/* One change of UTC offset: from `at` (seconds since the epoch, UTC) on,
 * local time is UTC + `utoff` seconds. */
typedef struct vm_tz_transition {
    int64_t at;
    int32_t utoff;
} vm_tz_transition;

/* A POSIX TZ rule date: Jn (1-365, no Feb 29), n (0-365), or Mm.w.d. */
typedef struct vm_tz_date {
    uint8_t kind;  /* 'J', 'n' or 'M' */
    uint16_t day;  /* J: 1-365, n: 0-365 */
    uint8_t month; /* M: 1-12 */
    uint8_t week;  /* M: 1-5 (5 = last) */
    uint8_t wday;  /* M: 0 = Sunday .. 6 */
    int32_t secs;  /* local time of day of the change, may be negative or > 24h */
} vm_tz_date;

typedef struct vm_tz_rule {
    int32_t std_off; /* seconds east of UTC (POSIX "CET-1" is +3600) */
    int32_t dst_off;
    bool has_dst;
    vm_tz_date start, end; /* DST starts (in standard time), ends (in DST) */
} vm_tz_rule;

typedef struct vm_tz {
    char name[64];          /* IANA name, e.g. "Europe/Warsaw" */
    int32_t initial_utoff;  /* offset before the first transition */
    uint32_t ntrans;
    vm_tz_transition *trans; /* ascending `at`; owned, malloc'd */
    bool has_rule;           /* rule applies after the last transition */
    vm_tz_rule rule;
} vm_tz;

/* Broken-down local time. */
typedef struct vm_civil {
    int year, month, day;      /* month 1-12, day 1-31 */
    int hour, minute, second;
    int weekday;               /* 0 = Monday .. 6 = Sunday */
} vm_civil;

void vm_tz_free(vm_tz *tz); /* frees trans; tz itself is the caller's */

/* The UTC offset in seconds in force at `utc`. A NULL tz is UTC. */
int32_t vm_tz_offset_at(const vm_tz *tz, int64_t utc);

/* Local civil time at `utc`. */
void vm_tz_local(const vm_tz *tz, int64_t utc, vm_civil *out);

/* The UTC instant of a local wall-clock time. A time that occurs twice (the
 * hour repeated when DST ends) gives the first occurrence; a time that does
 * not exist (skipped when DST starts) is read with the offset in force before
 * the gap, i.e. moved forward by the gap. */
int64_t vm_tz_from_local(const vm_tz *tz, int year, int month, int day, int hour, int minute);

/* Days since 1970-01-01 of a proleptic Gregorian date, and back. */
int64_t vm_days_from_civil(int year, int month, int day);
void vm_civil_from_days(int64_t days, int *year, int *month, int *day);

/* Serialisation for the bytecode: field by field, little-endian. */
void vm_tz_encode(const vm_tz *tz, vm_buf *out);
/* Reads what vm_tz_encode wrote; on any malformed or out-of-range field
 * (unsorted transitions, offsets beyond +-26h, bad rule dates, more than
 * 100000 transitions) returns false with a message in err. */
bool vm_tz_decode(vm_reader *in, vm_tz *tz, char *err, size_t errlen);

#endif
