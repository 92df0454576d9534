/* rt_log.h - structured logs: one JSON object a line on standard error,
 * {"ts":"2026-11-22T03:00:00Z","level":"info","msg":"..."}. */
#ifndef RT_LOG_H
#define RT_LOG_H

void rt_log(const char *level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
