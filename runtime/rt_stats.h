/* rt_stats.h - statistics of a channel (docs/api.md, "Statistics"):
 * conversations started, outcomes, time to first agent reply and to close,
 * leads and deals, the monthly quota of bot conversations, and the per-node
 * funnel drawn over the flow's graph.
 *
 * Counts come from daily counters the engine writes with every step
 * (rt_batch_counter), keyed by the day in the zone of the channel's flow, so
 * a report sums rows instead of scanning conversations; only the reply and
 * close times, which need percentiles, read conversation rows.
 *
 * Counter names (per channel and day):
 *   started, bot, quota_skipped        conversations started; run by the bot; without it (quota)
 *   outcome:NAME                       the bot part ended so (vm_outcome_name)
 *   leads, deals                       records created
 *   reached:FLOW:NODE                  conversations that entered NODE (first time only)
 *   left:FLOW:NODE:OUTCOME             the bot part ended while in NODE
 *
 * Every function here only reads the store; none keeps state between calls.
 */
#ifndef RT_STATS_H
#define RT_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rt_store.h"
#include "vm.h"

/* Everything a report needs from outside: the store, and per channel its flow's program and monthly quota. */
typedef struct rt_stats_source {
    rt_store *store;
    /* the channel's current flow program (for its zone and graph) and quota (0: none); false: unknown channel */
    bool (*channel)(void *ctx, const char *channel, const vm_program **prog, char flow[128], int64_t *quota);
    void *ctx;
} rt_stats_source;

/* GET /api/stats?channel=C&from=YYYY-MM-DD&to=YYYY-MM-DD[&format=csv] -> status, malloc'd body, content type
 * ("application/json" or "text/csv"). 400 for bad/missing dates, from > to, a range over 366 days, a bad format;
 * 404 unknown channel. Errors are JSON {"error": "..."}. `now` places the quota's month. */
int rt_stats_report(const rt_stats_source *src, const char *channel, const char *from, const char *to,
                    const char *format, int64_t now, char **body, const char **content_type);

/* GET /api/stats/funnel?... same parameters. */
int rt_stats_funnel(const rt_stats_source *src, const char *channel, const char *from, const char *to,
                    const char *format, char **body, const char **content_type);

/* The quota: bot conversations used in the month (in the channel's zone) containing `now`, and the UTC instant the
 * next month starts there. Reads only src->store (src->channel may be NULL); renews_at and month may be NULL. */
int64_t rt_stats_month_used(const rt_stats_source *src, const char *channel, const vm_program *prog, int64_t now,
                            int64_t *renews_at, char month[8]);

/* The day ("YYYY-MM-DD") of instant t in a program's zone (NULL program: UTC) — the engine uses this to name
 * counters. */
void rt_stats_day(const vm_program *prog, int64_t t, char day[11]);

/* Nearest-rank percentile (p in 0..100) of n values (sorted in place): the value at rank ceil(p/100*n), 1-based;
 * 0 when n == 0. Medians are p=50. */
int64_t rt_stats_percentile(int64_t *values, size_t n, int p);

#endif
