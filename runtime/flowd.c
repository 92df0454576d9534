/* flowd.c - the server: options, start-up checks, the timer loop, graceful
 * shutdown. Everything else lives in rt_engine (conversations), rt_web
 * (civetweb), rt_flows (the flows folder) and rt_store (SQLite). */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "rt_engine.h"
#include "rt_log.h"
#include "rt_web.h"

static const char usage[] =
    "usage: flowd [OPTIONS]\n"
    "\n"
    "Runs compiled Flow playbooks for website visitors (docs/protocol.md).\n"
    "\n"
    "  --listen ADDR          address to listen on (default 127.0.0.1; loopback unless told otherwise)\n"
    "  --port N               port (default 8080; 0 picks a free one and prints it)\n"
    "  --data DIR             data folder; the SQLite store is DIR/flowd.db (default ./data)\n"
    "  --flows DIR            flows folder: NAME.flow or NAME.fbc is flow NAME (default ./flows)\n"
    "  --channel NAME=FLOW    a channel (one website widget) bound to a flow; repeatable\n"
    "                         (default: one channel per flow, named like the flow)\n"
    "  --web DIR              static files (default runtime/web)\n"
    "  --agent-token TOKEN    bearer token of the agent API (or env FLOWD_AGENT_TOKEN);\n"
    "                         without one the agent API refuses every request\n"
    "  --max-visitors N       concurrent visitor sockets (default 1000); needs N + 200 open files\n"
    "  --http-threads N       threads kept for HTTP besides the visitors' (default 32)\n"
    "  --sync=full            synchronous=FULL: commits survive power loss, not only a crash\n"
    "  --abandon-after SECS   a visitor who left while the bot waits is abandoned after this long\n"
    "                         (default 1800)\n"
    "  --tls-cert FILE        serve HTTPS/WSS with this PEM (certificate and key)\n"
    "  --test-hooks           enable /api/test/* (clock, agents) and test-only hello keys\n"
    "  --help                 this text\n"
    "\n"
    "  flowd backup DATA_DIR DEST   consistent copy of the store while flowd runs (online backup API)\n"
    "\n"
    "Logs are JSON lines on standard error. SIGINT/SIGTERM stop gracefully: sockets\n"
    "close, in-flight writes are committed, the WAL is checkpointed.\n";

static volatile sig_atomic_t stopping;

static void on_signal(int sig)
{
    (void)sig;
    stopping = 1;
}

typedef struct options {
    const char *listen, *data, *flows, *web, *token, *tls;
    int port, max_visitors, http_threads;
    long abandon_after;
    bool sync_full, test_hooks;
    const char *channels[64];
    int nchannels;
} options;

static int parse(int argc, char **argv, options *o)
{
    enum { O_LISTEN = 1, O_PORT, O_DATA, O_FLOWS, O_CHANNEL, O_WEB, O_TOKEN, O_MAXV, O_HTTP, O_SYNC, O_TLS, O_HOOKS, O_HELP,
           O_ABANDON };
    static const struct option longopts[] = {
        {"listen", required_argument, 0, O_LISTEN}, {"port", required_argument, 0, O_PORT},
        {"data", required_argument, 0, O_DATA}, {"flows", required_argument, 0, O_FLOWS},
        {"channel", required_argument, 0, O_CHANNEL}, {"web", required_argument, 0, O_WEB},
        {"agent-token", required_argument, 0, O_TOKEN}, {"max-visitors", required_argument, 0, O_MAXV},
        {"http-threads", required_argument, 0, O_HTTP}, {"sync", required_argument, 0, O_SYNC},
        {"tls-cert", required_argument, 0, O_TLS}, {"test-hooks", no_argument, 0, O_HOOKS},
        {"help", no_argument, 0, O_HELP}, {"abandon-after", required_argument, 0, O_ABANDON}, {0, 0, 0, 0},
    };
    *o = (options){"127.0.0.1", "data", "flows", "runtime/web", getenv("FLOWD_AGENT_TOKEN"), NULL, 8080, 1000, 32,
                   1800, false, false, {0}, 0};
    int c;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case O_LISTEN: o->listen = optarg; break;
        case O_PORT: o->port = atoi(optarg); break;
        case O_DATA: o->data = optarg; break;
        case O_FLOWS: o->flows = optarg; break;
        case O_WEB: o->web = optarg; break;
        case O_TOKEN: o->token = optarg; break;
        case O_MAXV: o->max_visitors = atoi(optarg); break;
        case O_HTTP: o->http_threads = atoi(optarg); break;
        case O_TLS: o->tls = optarg; break;
        case O_HOOKS: o->test_hooks = true; break;
        case O_ABANDON: o->abandon_after = atol(optarg); break;
        case O_SYNC:
            if (strcmp(optarg, "full") != 0 && strcmp(optarg, "normal") != 0) {
                fprintf(stderr, "flowd: --sync takes full or normal\n");
                return 2;
            }
            o->sync_full = strcmp(optarg, "full") == 0;
            break;
        case O_CHANNEL:
            if (!strchr(optarg, '=') || o->nchannels == 64) {
                fprintf(stderr, "flowd: --channel takes NAME=FLOW\n");
                return 2;
            }
            o->channels[o->nchannels++] = optarg;
            break;
        case O_HELP: fputs(usage, stdout); exit(0);
        default: fputs(usage, stderr); return 2;
        }
    }
    if (optind < argc || o->port < 0 || o->port > 65535 || o->max_visitors < 1 || o->max_visitors > 11000 ||
        o->http_threads < 4 || o->http_threads > 1000 || o->abandon_after < 1) {
        fprintf(stderr, "flowd: bad arguments (max-visitors 1..11000, http-threads 4..1000)\n%s", usage);
        return 2;
    }
    return 0;
}

/* Each visitor socket is a file, plus the store, flows and HTTP clients:
 * say so at start-up instead of failing at the 1,000th visitor. */
static bool check_file_limit(const options *o)
{
    struct rlimit rl;
    rlim_t need = (rlim_t)o->max_visitors + (rlim_t)o->http_threads + 100;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return true;
    if (rl.rlim_cur < need && rl.rlim_max >= need) {
        rl.rlim_cur = need;
        setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
    }
    if (rl.rlim_cur < need) {
        fprintf(stderr,
                "flowd: --max-visitors %d needs %llu open files, but the limit is %llu; raise it (ulimit -n) or lower "
                "--max-visitors\n",
                o->max_visitors, (unsigned long long)need, (unsigned long long)rl.rlim_cur);
        return false;
    }
    return true;
}

static void add_channels(rt_engine *e, rt_flows *flows, const options *o)
{
    for (int i = 0; i < o->nchannels; i++) {
        char name[64];
        const char *eq = strchr(o->channels[i], '=');
        snprintf(name, sizeof name, "%.*s", (int)(eq - o->channels[i]), o->channels[i]);
        if (!rt_flows_current(flows, eq + 1))
            rt_log("warn", "channel %s: flow %s is not loaded (yet)", name, eq + 1);
        rt_engine_add_channel(e, name, eq + 1);
    }
    if (o->nchannels)
        return;
    const char *names[256];
    int n = rt_flows_names(flows, names, 256);
    for (int i = 0; i < n; i++)
        rt_engine_add_channel(e, names[i], names[i]);
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* `flowd backup DATA DEST`: SQLite's online backup API copies a consistent
 * snapshot while the server keeps writing. */
static int backup(const char *data, const char *dest)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/flowd.db", data);
    sqlite3 *src = NULL, *dst = NULL;
    int rc = sqlite3_open_v2(path, &src, SQLITE_OPEN_READONLY, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_open(dest, &dst);
    sqlite3_backup *b = rc == SQLITE_OK ? sqlite3_backup_init(dst, "main", src, "main") : NULL;
    if (b) {
        sqlite3_busy_timeout(src, 5000);
        while ((rc = sqlite3_backup_step(b, 256)) == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
            sqlite3_sleep(10);
        sqlite3_backup_finish(b);
    }
    bool ok = b && rc == SQLITE_DONE;
    if (!ok)
        fprintf(stderr, "flowd: backup of %s to %s failed: %s\n", path, dest,
                dst ? sqlite3_errmsg(dst) : src ? sqlite3_errmsg(src) : "cannot open");
    sqlite3_close(src);
    sqlite3_close(dst);
    return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "backup") == 0) {
        if (argc != 4) {
            fprintf(stderr, "usage: flowd backup DATA_DIR DEST\n");
            return 2;
        }
        return backup(argv[2], argv[3]);
    }
    options o;
    int rc = parse(argc, argv, &o);
    if (rc)
        return rc;
    if (!check_file_limit(&o))
        return 1;
    if (mkdir(o.data, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "flowd: cannot create the data folder %s: %s\n", o.data, strerror(errno));
        return 1;
    }
    char path[1024], err[512] = "";
    snprintf(path, sizeof path, "%s/flowd.db", o.data);
    rt_sqlite_options so = {path, o.sync_full, 4};
    rt_store *store = rt_store_sqlite_open(&so, err, sizeof err);
    if (!store) {
        fprintf(stderr, "flowd: %s\n", err);
        return 1;
    }
    rt_flows *flows = rt_flows_open(o.flows, store, err, sizeof err);
    if (!flows) {
        fprintf(stderr, "flowd: %s\n", err);
        store->ops->close(store);
        return 1;
    }
    rt_engine_options eo = {store, flows, rt_web_send, o.test_hooks, o.abandon_after};
    rt_engine *engine = rt_engine_new(&eo);
    add_channels(engine, flows, &o);
    char listen[300];
    snprintf(listen, sizeof listen, "%s:%d", o.listen, o.port);
    rt_web_options wo = {listen, o.web, o.token, o.tls, o.max_visitors, o.http_threads, o.test_hooks};
    rt_web *web = rt_web_start(engine, &wo, err, sizeof err);
    if (!web) {
        fprintf(stderr, "flowd: cannot listen on %s: %s\n", listen, err);
        rt_engine_free(engine);
        rt_flows_close(flows);
        store->ops->close(store);
        return 1;
    }
    if (!o.token)
        rt_log("warn", "no --agent-token: the agent API refuses every request");
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGPIPE, SIG_IGN);
    int port = rt_web_port(web);
    printf("flowd listening on http://%s:%d/ (data %s, flows %s)\n", o.listen, port, path, o.flows);
    fflush(stdout);
    rt_log("info", "listening on %s:%d", o.listen, port);
    for (int tick = 0; !stopping; tick++) {
        sleep_ms(100);
        rt_engine_fire_timers(engine);
        if (tick % 10 == 0)
            rt_flows_poll(flows);
    }
    rt_log("info", "stopping");
    rt_web_stop(web);
    rt_engine_free(engine);
    rt_flows_close(flows);
    store->ops->close(store);
    rt_log("info", "stopped");
    return 0;
}
