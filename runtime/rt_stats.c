/* rt_stats.c - statistics of a channel (see rt_stats.h).
 *
 * A report is three reads: the daily counters of the range (one row per
 * day and name), the conversations created in the range (for the reply and
 * close percentiles, which cannot be summed), and the "bot" counters of the
 * quota's month. Days are the channel's flow zone's: the engine names a
 * counter by the local day of its event, and a range [from, to] covers
 * [from 00:00, to+1 00:00) local time, so both reads agree on what a day is.
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rt_stats.h"

#define MAX_DAYS 366               /* a leap year: the longest range a report covers */
#define NOUT VM_OUTCOME_ERROR      /* outcomes a bot part can end with: resolved .. error */
#define JSON_TYPE "application/json"
#define CSV_TYPE "text/csv"

/* ---- days ---------------------------------------------------------------------------- */

static const vm_tz *zone_of(const vm_program *prog) { return prog ? vm_program_zone(prog) : NULL; }

static int clamp(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

/* Clamped so the text always fits (and the compiler can see it does). */
static void format_ymd(int y, int m, int d, char out[11])
{
    snprintf(out, 11, "%04d-%02d-%02d", clamp(y, 0, 9999), clamp(m, 1, 12), clamp(d, 1, 31));
}

static void format_days(int64_t days, char out[11])
{
    int y, m, d;
    vm_civil_from_days(days, &y, &m, &d);
    format_ymd(y, m, d, out);
}

static bool is_digits(const char *s, int n)
{
    for (int i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

/* "YYYY-MM-DD" exactly, a real calendar date; *days: days since 1970-01-01.
 * vm_days_from_civil carries a day past the month's end into the next month,
 * so a date is real exactly when it reads back unchanged. */
static bool parse_day(const char *s, int64_t *days)
{
    if (!s || strlen(s) != 10 || s[4] != '-' || s[7] != '-' || !is_digits(s, 4) || !is_digits(s + 5, 2) ||
        !is_digits(s + 8, 2))
        return false;
    int y = atoi(s), m = atoi(s + 5), d = atoi(s + 8);
    if (y < 1 || m < 1 || m > 12 || d < 1)
        return false;
    *days = vm_days_from_civil(y, m, d);
    int y2, m2, d2;
    vm_civil_from_days(*days, &y2, &m2, &d2);
    return y2 == y && m2 == m && d2 == d;
}

/* The UTC instant local day `days` begins in the zone. */
static int64_t day_start(const vm_tz *tz, int64_t days)
{
    int y, m, d;
    vm_civil_from_days(days, &y, &m, &d);
    return vm_tz_from_local(tz, y, m, d, 0, 0);
}

void rt_stats_day(const vm_program *prog, int64_t t, char day[11])
{
    vm_civil c;
    vm_tz_local(zone_of(prog), t, &c);
    format_ymd(c.year, c.month, c.day, day);
}

/* ---- percentiles ------------------------------------------------------------------------ */

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

int64_t rt_stats_percentile(int64_t *values, size_t n, int p)
{
    if (n == 0)
        return 0;
    qsort(values, n, sizeof *values, cmp_i64);
    p = clamp(p, 0, 100);
    size_t rank = ((size_t)p * n + 99) / 100; /* ceil(p/100*n) in integers: no rounding at exact ranks */
    return values[rank ? rank - 1 : 0];        /* p = 0: the smallest */
}

/* ---- parameters -------------------------------------------------------------------------- */

typedef struct params {
    int64_t first, last; /* days since the epoch, both included */
    bool csv;
    const vm_program *prog; /* NULL: the flow is not loaded (then UTC, no graph) */
    char flow[128];
    int64_t quota;
} params;

static int answer_error(int status, const char *msg, char **body, const char **content_type)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "error", msg);
    *body = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    *content_type = JSON_TYPE;
    return status;
}

/* Checks the query (400s first: they need no lookup), then the channel
 * (404). Returns 0 when the request is good, else the status, with *msg. */
static int read_params(const rt_stats_source *src, const char *channel, const char *from, const char *to,
                       const char *format, params *p, const char **msg)
{
    memset(p, 0, sizeof *p);
    if (!channel || !channel[0])
        return *msg = "missing channel", 400;
    if (!from || !to || !from[0] || !to[0])
        return *msg = "from and to are required (YYYY-MM-DD)", 400;
    if (!parse_day(from, &p->first) || !parse_day(to, &p->last))
        return *msg = "from and to must be dates like 2026-11-01", 400;
    if (p->first > p->last)
        return *msg = "from is after to", 400;
    if (p->last - p->first + 1 > MAX_DAYS)
        return *msg = "the range is over 366 days", 400;
    if (format && format[0] && strcmp(format, "json") != 0 && strcmp(format, "csv") != 0)
        return *msg = "format must be json or csv", 400;
    p->csv = format && strcmp(format, "csv") == 0;
    if (!src->channel || !src->channel(src->ctx, channel, &p->prog, p->flow, &p->quota))
        return *msg = "unknown channel", 404;
    return 0;
}

/* ---- counters ---------------------------------------------------------------------------- */

/* vm_outcome_name's names are the counters' and the JSON keys: index o is outcome o + 1. */
static const char *outcome_key(int o) { return vm_outcome_name((vm_outcome)(o + 1)); }

static int outcome_index(const char *name)
{
    for (int o = 0; o < NOUT; o++)
        if (strcmp(name, outcome_key(o)) == 0)
            return o;
    return -1;
}

typedef struct day_counts {
    int64_t started, outcome[NOUT], leads, deals;
} day_counts;

typedef struct day_table {
    int64_t first, last;
    day_counts day[MAX_DAYS];
} day_table;

static bool add_day_counter(void *ctx, const char *day, const char *name, int64_t value)
{
    day_table *t = ctx;
    int64_t d;
    if (!parse_day(day, &d) || d < t->first || d > t->last)
        return true; /* the store filters by text; a malformed day is not ours */
    day_counts *c = &t->day[d - t->first];
    if (strcmp(name, "started") == 0)
        c->started += value;
    else if (strcmp(name, "leads") == 0)
        c->leads += value;
    else if (strcmp(name, "deals") == 0)
        c->deals += value;
    else if (strncmp(name, "outcome:", 8) == 0 && outcome_index(name + 8) >= 0)
        c->outcome[outcome_index(name + 8)] += value;
    return true;
}

/* Walks the counters of days first..last; false when the store failed. */
static bool read_counters(rt_store *store, const char *channel, int64_t first, int64_t last, rt_stat_fn fn,
                          void *ctx)
{
    char from[11], to[11];
    format_days(first, from);
    format_days(last, to);
    return store->ops->stats(store, channel, from, to, fn, ctx);
}

typedef struct sum_ctx {
    const char *name;
    int64_t sum;
} sum_ctx;

static bool add_named(void *ctx, const char *day, const char *name, int64_t value)
{
    sum_ctx *s = ctx;
    if (strcmp(name, s->name) == 0)
        s->sum += value;
    return true;
}

int64_t rt_stats_month_used(const rt_stats_source *src, const char *channel, const vm_program *prog, int64_t now,
                            int64_t *renews_at, char month[8])
{
    const vm_tz *tz = zone_of(prog);
    vm_civil c;
    vm_tz_local(tz, now, &c);
    /* day names compare as text, so "-31" closes every month */
    char from[11], to[11];
    format_ymd(c.year, c.month, 1, from);
    format_ymd(c.year, c.month, 31, to);
    sum_ctx s = {"bot", 0};
    /* a store that cannot be read counts as nothing used: the bot keeps
     * answering rather than turning every visitor away */
    src->store->ops->stats(src->store, channel, from, to, add_named, &s);
    if (renews_at) /* month 13 carries into January (vm_days_from_civil) */
        *renews_at = vm_tz_from_local(tz, c.year, c.month + 1, 1, 0, 0);
    if (month)
        snprintf(month, 8, "%04d-%02d", clamp(c.year, 0, 9999), clamp(c.month, 1, 12));
    return s.sum;
}

/* ---- reply and close times ------------------------------------------------------------- */

typedef struct samples {
    int64_t *v;
    size_t n, cap;
    bool oom;
} samples;

static void sample_add(samples *s, int64_t x)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        int64_t *v = realloc(s->v, cap * sizeof *v);
        if (!v) {
            s->oom = true;
            return;
        }
        s->v = v;
        s->cap = cap;
    }
    /* the test clock (and a real one set back) can make a later event look
     * earlier; a negative wait means "at once" */
    s->v[s->n++] = x < 0 ? 0 : x;
}

typedef struct times {
    samples reply, close;
} times;

static bool add_times(void *ctx, const rt_conv_rec *c)
{
    times *t = ctx;
    /* a handoff's wait starts when a human was asked for; a conversation an
     * agent answered straight away (no handoff, or the quota skipped the bot
     * with nobody online) waited from its start */
    if (c->first_reply_at > 0)
        sample_add(&t->reply, c->first_reply_at - (c->queued_at ? c->queued_at : c->created_at));
    if (c->closed_at > 0)
        sample_add(&t->close, c->closed_at - c->created_at);
    return true;
}

/* Conversations created in [from, to): the store lists open and closed ones apart. */
static bool read_times(rt_store *store, const char *channel, int64_t from, int64_t to, times *t)
{
    for (int closed = 0; closed < 2; closed++) {
        rt_conv_query q = {.channel = channel, .closed = closed, .created_from = from, .created_to = to};
        if (!store->ops->conversations(store, &q, add_times, t))
            return false;
    }
    return !t->reply.oom && !t->close.oom;
}

static cJSON *times_json(samples *s)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "count", (double)s->n);
    cJSON_AddNumberToObject(o, "median", (double)rt_stats_percentile(s->v, s->n, 50));
    cJSON_AddNumberToObject(o, "p90", (double)rt_stats_percentile(s->v, s->n, 90));
    return o;
}

/* ---- the report ---------------------------------------------------------------------------- */

/* The outcomes object: every key (totals), or only those that happened (a day's). */
static cJSON *outcomes_json(const int64_t n[NOUT], bool all)
{
    cJSON *o = cJSON_CreateObject();
    for (int i = 0; i < NOUT; i++)
        if (all || n[i])
            cJSON_AddNumberToObject(o, outcome_key(i), (double)n[i]);
    return o;
}

static cJSON *quota_json(const rt_stats_source *src, const char *channel, const params *p, int64_t now)
{
    int64_t renews = 0;
    char month[8];
    int64_t used = rt_stats_month_used(src, channel, p->prog, now, &renews, month);
    cJSON *q = cJSON_CreateObject();
    cJSON_AddNumberToObject(q, "limit", (double)p->quota);
    cJSON_AddNumberToObject(q, "used", (double)used);
    cJSON_AddStringToObject(q, "month", month);
    cJSON_AddBoolToObject(q, "exhausted", p->quota > 0 && used >= p->quota);
    cJSON_AddNumberToObject(q, "renews_at", (double)renews);
    return q;
}

static cJSON *days_json(const day_table *t)
{
    cJSON *a = cJSON_CreateArray();
    for (int64_t d = t->first; d <= t->last; d++) {
        const day_counts *c = &t->day[d - t->first];
        char date[11];
        format_days(d, date);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "date", date);
        cJSON_AddNumberToObject(o, "started", (double)c->started);
        cJSON_AddItemToObject(o, "outcomes", outcomes_json(c->outcome, false));
        cJSON_AddItemToArray(a, o);
    }
    return a;
}

static void add_up(const day_table *t, day_counts *sum)
{
    memset(sum, 0, sizeof *sum);
    for (int64_t d = 0; d <= t->last - t->first; d++) {
        sum->started += t->day[d].started;
        sum->leads += t->day[d].leads;
        sum->deals += t->day[d].deals;
        for (int o = 0; o < NOUT; o++)
            sum->outcome[o] += t->day[d].outcome[o];
    }
}

static char *report_json(const rt_stats_source *src, const char *channel, const params *p, const day_table *t,
                         times *tm, int64_t now)
{
    day_counts sum;
    add_up(t, &sum);
    char from[11], to[11];
    format_days(p->first, from);
    format_days(p->last, to);
    const vm_tz *tz = zone_of(p->prog);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "channel", channel);
    cJSON_AddStringToObject(o, "zone", tz ? tz->name : "UTC");
    cJSON_AddStringToObject(o, "from", from);
    cJSON_AddStringToObject(o, "to", to);
    cJSON_AddNumberToObject(o, "started", (double)sum.started);
    cJSON_AddItemToObject(o, "outcomes", outcomes_json(sum.outcome, true));
    cJSON_AddItemToObject(o, "first_reply", times_json(&tm->reply));
    cJSON_AddItemToObject(o, "close", times_json(&tm->close));
    cJSON_AddNumberToObject(o, "leads", (double)sum.leads);
    cJSON_AddNumberToObject(o, "deals", (double)sum.deals);
    cJSON_AddItemToObject(o, "quota", quota_json(src, channel, p, now));
    cJSON_AddItemToObject(o, "days", days_json(t));
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

/* One line per day; the columns of the JSON's days plus leads and deals. */
static char *report_csv(const day_table *t)
{
    char *out = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&out, &size);
    if (!f)
        return NULL;
    fputs("date,started", f);
    for (int o = 0; o < NOUT; o++)
        fprintf(f, ",%s", outcome_key(o));
    fputs(",leads,deals\n", f);
    for (int64_t d = t->first; d <= t->last; d++) {
        const day_counts *c = &t->day[d - t->first];
        char date[11];
        format_days(d, date);
        fprintf(f, "%s,%lld", date, (long long)c->started);
        for (int o = 0; o < NOUT; o++)
            fprintf(f, ",%lld", (long long)c->outcome[o]);
        fprintf(f, ",%lld,%lld\n", (long long)c->leads, (long long)c->deals);
    }
    fclose(f);
    return out;
}

static int answer(char *text, bool csv, char **body, const char **content_type)
{
    if (!text)
        return answer_error(500, "out of memory", body, content_type);
    *body = text;
    *content_type = csv ? CSV_TYPE : JSON_TYPE;
    return 200;
}

int rt_stats_report(const rt_stats_source *src, const char *channel, const char *from, const char *to,
                    const char *format, int64_t now, char **body, const char **content_type)
{
    params p;
    const char *msg = NULL;
    int status = read_params(src, channel, from, to, format, &p, &msg);
    if (status)
        return answer_error(status, msg, body, content_type);
    day_table *t = calloc(1, sizeof *t);
    if (!t)
        return answer_error(500, "out of memory", body, content_type);
    t->first = p.first;
    t->last = p.last;
    const vm_tz *tz = zone_of(p.prog);
    times tm = {{0}, {0}};
    if (!read_counters(src->store, channel, p.first, p.last, add_day_counter, t) ||
        !read_times(src->store, channel, day_start(tz, p.first), day_start(tz, p.last + 1), &tm))
        status = answer_error(500, "the store could not be read", body, content_type);
    else
        status = answer(p.csv ? report_csv(t) : report_json(src, channel, &p, t, &tm, now), p.csv, body,
                        content_type);
    free(tm.reply.v);
    free(tm.close.v);
    free(t);
    return status;
}

/* ---- the funnel: counts per node ------------------------------------------------------------ */

typedef struct node_counts {
    int64_t reached, left[NOUT];
} node_counts;

typedef struct funnel {
    const vm_program *prog;
    const char *flow;
    uint32_t nnodes;
    node_counts *node;
} funnel;

static int64_t node_index(const funnel *f, const char *name, size_t len)
{
    for (uint32_t i = 0; i < f->nnodes; i++) {
        vm_text_ref n = vm_program_node_name(f->prog, i);
        if (n.len == len && memcmp(n.s, name, len) == 0)
            return i;
    }
    return -1;
}

/* After "KIND:FLOW:" of this funnel's flow, or NULL: a flow's name may hold
 * ':' (it is a file name), so it is matched whole rather than split off. */
static const char *after_flow(const funnel *f, const char *name, const char *kind)
{
    size_t k = strlen(kind), n = strlen(f->flow);
    if (strncmp(name, kind, k) != 0 || strncmp(name + k, f->flow, n) != 0 || name[k + n] != ':')
        return NULL;
    return name + k + n + 1;
}

static bool add_node_counter(void *ctx, const char *day, const char *name, int64_t value)
{
    funnel *f = ctx;
    const char *rest;
    if ((rest = after_flow(f, name, "reached:")) != NULL) {
        int64_t i = node_index(f, rest, strlen(rest));
        if (i >= 0)
            f->node[i].reached += value;
    } else if ((rest = after_flow(f, name, "left:")) != NULL) {
        const char *colon = strrchr(rest, ':'); /* NODE:OUTCOME; node names hold no ':' */
        int64_t i = colon ? node_index(f, rest, (size_t)(colon - rest)) : -1;
        int o = colon ? outcome_index(colon + 1) : -1;
        if (i >= 0 && o >= 0)
            f->node[i].left[o] += value;
    }
    return true;
}

/* ---- the funnel: edges from the bytecode ---------------------------------------------------- */

/* A node's code runs from its entry up to the next node's entry (or the
 * fallback text, which belongs to no node): the node of the greatest
 * boundary at or before pc. VM_NONE: none. */
static uint32_t node_of_pc(const vm_program *p, uint32_t pc)
{
    uint32_t best = VM_NONE, best_entry = 0, fallback = vm_program_fallback(p);
    for (uint32_t i = 0; i < vm_program_node_count(p); i++) {
        uint32_t e = vm_program_node_entry(p, i);
        if (e <= pc && (best == VM_NONE || e > best_entry))
            best = i, best_entry = e;
    }
    if (best != VM_NONE && fallback <= pc && fallback > best_entry)
        return VM_NONE;
    return best;
}

static uint32_t read_u32(const uint8_t *b)
{
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

/* The node a jump to `target` enters: the node starting there, or the one
 * the ENTER found there names. VM_NONE: a jump inside a node. */
static uint32_t node_at_target(const vm_program *p, const uint8_t *code, uint32_t len, uint32_t target)
{
    for (uint32_t i = 0; i < vm_program_node_count(p); i++)
        if (vm_program_node_entry(p, i) == target)
            return i;
    if (target < len && code[target] == VM_OP_ENTER && len - target >= vm_op_size(VM_OP_ENTER)) {
        uint32_t n = read_u32(code + target + 1);
        if (n < vm_program_node_count(p))
            return n;
    }
    return VM_NONE;
}

typedef struct edges {
    uint32_t (*pair)[2];
    size_t n, cap;
} edges;

static void add_edge(edges *e, uint32_t from, uint32_t to)
{
    for (size_t i = 0; i < e->n; i++)
        if (e->pair[i][0] == from && e->pair[i][1] == to)
            return;
    if (e->n == e->cap) {
        size_t cap = e->cap ? e->cap * 2 : 16;
        uint32_t(*pair)[2] = realloc(e->pair, cap * sizeof *pair);
        if (!pair)
            return; /* a graph missing an edge beats no answer */
        e->pair = pair;
        e->cap = cap;
    }
    e->pair[e->n][0] = from;
    e->pair[e->n][1] = to;
    e->n++;
}

/* Every jump operand (JUMP, JUMP_FALSE, OPTION, ASK, HANDOFF's offline
 * path: whatever the opcode table marks as a code offset) that leaves its
 * node for another node's entry is an edge, in code order. */
static void find_edges(const vm_program *p, edges *e)
{
    uint32_t len;
    const uint8_t *code = vm_program_code(p, &len);
    for (uint32_t pc = 0; pc < len;) {
        if (code[pc] >= VM_OP_COUNT || len - pc < vm_op_size((vm_opcode)code[pc]))
            return; /* the loader verified the code; this only guards the walk */
        const vm_opinfo *info = &vm_opinfo_table[code[pc]];
        for (uint32_t k = 0; k < info->noperands; k++) {
            uint32_t target = read_u32(code + pc + 1 + 4 * k);
            bool jump = info->operands[k] == VM_OPK_JUMP || info->operands[k] == VM_OPK_JUMP_OPT;
            uint32_t from = jump && target != VM_NONE ? node_of_pc(p, pc) : VM_NONE;
            uint32_t to = from != VM_NONE ? node_at_target(p, code, len, target) : VM_NONE;
            if (to != VM_NONE)
                add_edge(e, from, to);
        }
        pc += vm_op_size((vm_opcode)code[pc]);
    }
}

/* ---- the funnel: output ---------------------------------------------------------------------- */

static cJSON *text_json(vm_text_ref t)
{
    char *s = malloc((size_t)t.len + 1);
    if (!s)
        return cJSON_CreateString("");
    memcpy(s, t.s, t.len);
    s[t.len] = '\0';
    cJSON *j = cJSON_CreateString(s);
    free(s);
    return j;
}

static char *funnel_json(const funnel *f)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "flow", f->flow);
    cJSON *nodes = cJSON_AddArrayToObject(o, "nodes");
    for (uint32_t i = 0; i < f->nnodes; i++) {
        cJSON *n = cJSON_CreateObject();
        cJSON_AddItemToObject(n, "name", text_json(vm_program_node_name(f->prog, i)));
        cJSON_AddNumberToObject(n, "reached", (double)f->node[i].reached);
        cJSON_AddItemToObject(n, "left", outcomes_json(f->node[i].left, false));
        cJSON_AddItemToArray(nodes, n);
    }
    cJSON *arr = cJSON_AddArrayToObject(o, "edges");
    edges e = {0};
    if (f->prog)
        find_edges(f->prog, &e);
    for (size_t i = 0; i < e.n; i++) {
        cJSON *x = cJSON_CreateObject();
        cJSON_AddItemToObject(x, "from", text_json(vm_program_node_name(f->prog, e.pair[i][0])));
        cJSON_AddItemToObject(x, "to", text_json(vm_program_node_name(f->prog, e.pair[i][1])));
        cJSON_AddItemToArray(arr, x);
    }
    free(e.pair);
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

/* A CSV field: quoted (quotes doubled) when it holds a comma, quote or line break. */
static void csv_field(FILE *f, vm_text_ref t)
{
    bool quote = false;
    for (uint32_t i = 0; i < t.len; i++)
        quote |= t.s[i] == ',' || t.s[i] == '"' || t.s[i] == '\n' || t.s[i] == '\r';
    if (!quote) {
        fwrite(t.s, 1, t.len, f);
        return;
    }
    fputc('"', f);
    for (uint32_t i = 0; i < t.len; i++) {
        if (t.s[i] == '"')
            fputc('"', f);
        fputc(t.s[i], f);
    }
    fputc('"', f);
}

static char *funnel_csv(const funnel *f)
{
    char *out = NULL;
    size_t size = 0;
    FILE *fp = open_memstream(&out, &size);
    if (!fp)
        return NULL;
    fputs("node,reached", fp);
    for (int o = 0; o < NOUT; o++)
        fprintf(fp, ",left_%s", outcome_key(o));
    fputc('\n', fp);
    for (uint32_t i = 0; i < f->nnodes; i++) {
        csv_field(fp, vm_program_node_name(f->prog, i));
        fprintf(fp, ",%lld", (long long)f->node[i].reached);
        for (int o = 0; o < NOUT; o++)
            fprintf(fp, ",%lld", (long long)f->node[i].left[o]);
        fputc('\n', fp);
    }
    fclose(fp);
    return out;
}

int rt_stats_funnel(const rt_stats_source *src, const char *channel, const char *from, const char *to,
                    const char *format, char **body, const char **content_type)
{
    params p;
    const char *msg = NULL;
    int status = read_params(src, channel, from, to, format, &p, &msg);
    if (status)
        return answer_error(status, msg, body, content_type);
    funnel f = {p.prog, p.flow, p.prog ? vm_program_node_count(p.prog) : 0, NULL};
    f.node = calloc(f.nnodes ? f.nnodes : 1, sizeof *f.node);
    if (!f.node)
        return answer_error(500, "out of memory", body, content_type);
    if (!read_counters(src->store, channel, p.first, p.last, add_node_counter, &f))
        status = answer_error(500, "the store could not be read", body, content_type);
    else
        status = answer(p.csv ? funnel_csv(&f) : funnel_json(&f), p.csv, body, content_type);
    free(f.node);
    return status;
}
