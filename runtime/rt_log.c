/* rt_log.c - structured logs (see rt_log.h). */
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "rt_log.h"

void rt_log(const char *level, const char *fmt, ...)
{
    char msg[1024], esc[2100], ts[32];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    size_t n = 0;
    for (const char *p = msg; *p && n + 7 < sizeof esc; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '"' || c == '\\')
            n += (size_t)snprintf(esc + n, sizeof esc - n, "\\%c", c);
        else if (c < 0x20)
            n += (size_t)snprintf(esc + n, sizeof esc - n, "\\u%04x", c);
        else
            esc[n++] = (char)c;
    }
    esc[n] = '\0';
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
    fprintf(stderr, "{\"ts\":\"%s\",\"level\":\"%s\",\"msg\":\"%s\"}\n", ts, level, esc);
}
