/* fuzz_rt_api.c - what flowd's JSON API does with any request body or query:
 * channel settings (create and update), webhook subscriptions, statistics
 * queries, and the JSON reader with its nesting cap. Every answer must be
 * a status flowd documents with a JSON (or CSV) body, never a crash, a hang
 * or a leak; a refused create must store nothing.
 *
 * The first byte picks the entry point; the rest is the body (or, for the
 * statistics, "channel\nfrom\nto\nformat"). One SQLite store and one flows
 * folder (a flow with hours in Europe/Warsaw) live for the whole run.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rt_channels.h"
#include "rt_stats.h"
#include "rt_web_internal.h"
#include "rt_webhook.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static rt_store *store;
static rt_flows *flows;
static rt_channels *channels;
static rt_webhooks *hooks;

static const char flow_text[] = "flow \"Fuzz\"\n\nhours \"Europe/Warsaw\" {\n  mon-fri 09:00-17:00\n}\n\n"
                                "node start {\n  say \"Hi\"\n  choice {\n    \"A\" -> a\n  }\n}\n\n"
                                "node a {\n  say \"Bye\"\n  end\n}\n";

static void die(const char *what)
{
    fprintf(stderr, "fuzz_rt_api: %s\n", what);
    abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    char dir[] = "/tmp/fuzz-rt-api-XXXXXX", path[256], err[256];
    if (!mkdtemp(dir))
        die("no temp folder");
    snprintf(path, sizeof path, "%s/fuzz.flow", dir);
    FILE *f = fopen(path, "w");
    if (!f || fputs(flow_text, f) < 0 || fclose(f) != 0)
        die("cannot write the flow");
    snprintf(path, sizeof path, "%s/flowd.db", dir);
    store = rt_store_sqlite_open(&(rt_sqlite_options){.path = path}, err, sizeof err);
    flows = store ? rt_flows_open(dir, store, err, sizeof err) : NULL;
    channels = flows ? rt_channels_new(store, flows) : NULL;
    hooks = channels ? rt_webhooks_new(&(rt_webhook_options){.store = store, .max_attempts = 1}, err, sizeof err) : NULL;
    if (!hooks || !rt_channels_ensure(channels, "demo", "fuzz", err, sizeof err))
        die(err);
    return 0;
}

static bool stats_channel(void *ctx, const char *channel, const vm_program **prog, char flow[128], int64_t *quota)
{
    (void)ctx;
    rt_channel_info info;
    if (!rt_channels_get(channels, channel, &info))
        return false;
    *prog = rt_flows_current(flows, info.flow);
    snprintf(flow, 128, "%s", info.flow);
    *quota = info.quota;
    return true;
}

/* A documented status and a body that is not empty. */
static void check_answer(int status, char *body)
{
    static const int known[] = {200, 201, 400, 404, 409, 500};
    bool ok = false;
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        ok |= status == known[i];
    if (!ok || !body || !body[0])
        die("an undocumented answer");
    free(body);
}

/* The nth line of s (copied, at most 200 bytes). */
static void line(const char *s, int n, char *out, size_t cap)
{
    while (n-- > 0 && s && (s = strchr(s, '\n')) != NULL)
        s++;
    size_t len = s ? strcspn(s, "\n") : 0;
    if (len >= cap)
        len = cap - 1;
    memcpy(out, s ? s : "", len);
    out[len] = '\0';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 65536)
        return 0;
    char *body = malloc(size);
    memcpy(body, data + 1, size - 1);
    body[size - 1] = '\0';
    size_t len = size - 1;
    char *out = NULL;
    const char *type = NULL;
    int before = 0;
    char *list = NULL;
    switch (data[0] % 6) {
    case 0: /* POST /api/channels: a refused create stores nothing */
        rt_channels_list(channels, &list);
        before = (int)strlen(list);
        int status = rt_channels_create(channels, body, len, &out);
        check_answer(status, out);
        free(list);
        rt_channels_list(channels, &list);
        if (status != 201 && (int)strlen(list) != before)
            die("a refused create changed the channels");
        free(list);
        break;
    case 1: /* PUT /api/channels/demo */
        check_answer(rt_channels_put(channels, "demo", body, len, &out), out);
        break;
    case 2: { /* POST then DELETE /api/webhooks */
        int st = rt_webhooks_create(hooks, body, len, &out);
        cJSON *made = st == 201 ? cJSON_Parse(out) : NULL;
        check_answer(st, out);
        const char *id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(made, "id"));
        if (id)
            check_answer(rt_webhooks_delete(hooks, id, &out), out);
        cJSON_Delete(made);
        break;
    }
    case 3: { /* GET /api/stats and /api/stats/funnel */
        char channel[201], from[201], to[201], format[201];
        line(body, 0, channel, sizeof channel);
        line(body, 1, from, sizeof from);
        line(body, 2, to, sizeof to);
        line(body, 3, format, sizeof format);
        rt_stats_source src = {store, stats_channel, NULL};
        check_answer(rt_stats_report(&src, channel, from, to, format, 1795337000, &out, &type), out);
        check_answer(rt_stats_funnel(&src, channel, from, to, format, &out, &type), out);
        break;
    }
    case 4: /* the widget's config for a page */
        check_answer(rt_channels_widget_config(channels, "demo", body, 1795337000, &out), out);
        rt_channels_page_allowed(channels, "demo", body);
        break;
    default: { /* the JSON reader with its nesting cap */
        cJSON *o = rt_http_parse_json(body, len);
        cJSON_Delete(o);
        break;
    }
    }
    free(body);
    return 0;
}
