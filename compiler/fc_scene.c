/* fc_scene.c - the host's world for flowc test and flowc run (see fc_scene.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fc_scene.h"

static const char *const fact_keys[FC_NFACTS] = {"name", "email", "page", "device", "country"};

static void set_fact(fc_scene *s, int i, const char *v, size_t n)
{
    char *copy = malloc(n + 1);
    if (!copy)
        abort();
    memcpy(copy, v, n);
    copy[n] = '\0';
    free(s->fact[i]);
    s->fact[i] = copy;
    s->visitor.name = s->fact[FC_FACT_NAME];
    s->visitor.email = s->fact[FC_FACT_EMAIL];
    s->visitor.page = s->fact[FC_FACT_PAGE];
    s->visitor.device = s->fact[FC_FACT_DEVICE];
    s->visitor.country = s->fact[FC_FACT_COUNTRY];
}

void fc_scene_init(fc_scene *s, const vm_program *prog, bool fixed_time)
{
    memset(s, 0, sizeof *s);
    s->prog = prog;
    s->agents = 1;
    s->fixed_time = fixed_time;
    s->now = vm_tz_from_local(vm_program_zone(prog), 2026, 1, 5, 12, 0); /* a Monday noon */
    set_fact(s, FC_FACT_NAME, "", 0);
    set_fact(s, FC_FACT_EMAIL, "", 0);
    set_fact(s, FC_FACT_PAGE, "/", 1);
    set_fact(s, FC_FACT_DEVICE, "desktop", 7);
    set_fact(s, FC_FACT_COUNTRY, "", 0);
}

void fc_scene_free(fc_scene *s)
{
    for (int i = 0; i < FC_NFACTS; i++)
        free(s->fact[i]);
}

bool fc_scene_set_time(fc_scene *s, const char *arg)
{
    int y, mo, d, h, mi;
    char extra;
    if (sscanf(arg, "%4d-%2d-%2d %2d:%2d %c", &y, &mo, &d, &h, &mi, &extra) != 5 || mo < 1 || mo > 12 || d < 1 ||
        d > 31 || h < 0 || h > 23 || mi < 0 || mi > 59)
        return false;
    s->now = vm_tz_from_local(vm_program_zone(s->prog), y, mo, d, h, mi);
    s->fixed_time = true;
    return true;
}

bool fc_scene_set_agents(fc_scene *s, const char *arg)
{
    char *end;
    long n = strtol(arg, &end, 10);
    if (end == arg || *end || n < 0 || n > 100000)
        return false;
    s->agents = (uint32_t)n;
    return true;
}

/* One KEY=VALUE at *p; advances *p. */
static const char *set_pair(fc_scene *s, char **p)
{
    char *key = *p, *c = *p;
    while (*c && *c != '=' && *c != ' ')
        c++;
    if (*c != '=')
        return "expected KEY=VALUE";
    size_t klen = (size_t)(c++ - key);
    char *val = c, *w = c;
    if (*c == '"') {
        for (c++; *c && *c != '"'; c++) {
            if (*c == '\\' && (c[1] == '"' || c[1] == '\\'))
                c++;
            *w++ = *c;
        }
        if (*c++ != '"')
            return "unterminated quote";
    } else {
        while (*c && *c != ' ' && *c != '\t')
            *w++ = *c++;
    }
    *p = c;
    size_t vlen = (size_t)(w - val);
    for (int i = 0; i < FC_NFACTS; i++)
        if (klen == strlen(fact_keys[i]) && memcmp(key, fact_keys[i], klen) == 0) {
            set_fact(s, i, val, vlen);
            return NULL;
        }
    if (klen != 9 || memcmp(key, "returning", 9) != 0)
        return "unknown key (name, email, page, device, country, returning)";
    bool yes = vlen == 4 && memcmp(val, "true", 4) == 0, no = vlen == 5 && memcmp(val, "false", 5) == 0;
    if (!yes && !no)
        return "returning must be true or false";
    s->visitor.returning = yes;
    return NULL;
}

const char *fc_scene_set_visitor(fc_scene *s, char *arg)
{
    const char *err = NULL;
    bool any = false;
    for (char *p = arg; !err && *p;) {
        if (*p == ' ' || *p == '\t') {
            p++;
        } else {
            err = set_pair(s, &p);
            any = true;
        }
    }
    return err ? err : any ? NULL : "expected KEY=VALUE";
}

static int64_t host_now(void *ctx)
{
    const fc_scene *s = ctx;
    return s->fixed_time ? s->now : (int64_t)time(NULL);
}

static uint32_t host_agents(void *ctx, const char *team, size_t len)
{
    (void)team;
    (void)len;
    return ((const fc_scene *)ctx)->agents; /* `@agents N`: N online for every team */
}

vm_host fc_scene_host(fc_scene *s, void (*emit)(void *ctx, const vm_event *ev))
{
    vm_host h = {s, emit, host_now, host_agents, &s->visitor};
    return h;
}
