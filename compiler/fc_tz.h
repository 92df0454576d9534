/* fc_tz.h - reading a time zone's rules from the zoneinfo database at
 * compile time (the VM never reads it; see vm/vm_tz.h). */
#ifndef FC_TZ_H
#define FC_TZ_H

#include <stdbool.h>
#include <stddef.h>

#include "vm_tz.h"

/* Loads IANA zone `zone` (e.g. "Europe/Warsaw") from the directory named by
 * the environment variable FLOWC_ZONEINFO, or /usr/share/zoneinfo. Keeps the
 * transitions from 1970-01-01 on (the offset in force then becomes
 * initial_utoff) and the TZif footer rule. Names that are not plain zone
 * names (absolute, containing "..", empty, other characters than
 * [A-Za-z0-9_+-/]) and files that are not valid TZif are refused: returns
 * false with a message in err ("unknown time zone 'X'"). */
bool fc_tz_load(const char *zone, vm_tz *out, char *err, size_t errlen);

#endif
