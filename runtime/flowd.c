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

#include "rt_auth.h"
#include "rt_channels.h"
#include "rt_engine.h"
#include "rt_log.h"
#include "rt_web.h"
#include "rt_webhook.h"

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
    "  --agent-grace SECS     an agent whose inbox tabs all closed stays online this long (default 60)\n"
    "  --stats=off            write no daily statistics counters (benchmarks compare on and off)\n"
    "  --test-hooks           enable /api/test/* (clock, agents) and test-only hello keys\n"
    "  --help                 this text\n"
    "\n"
    "  flowd backup DATA_DIR DEST   consistent copy of the store while flowd runs (online backup API)\n"
    "  flowd adduser DATA_DIR USER [--name NAME] [--role admin|agent] [--capacity N]\n"
    "                               creates an account; the password is read from FLOWD_PASSWORD or stdin\n"
    "\n"
    "FLOWD_ADMIN=user:password creates that admin at start when the store has no account yet.\n"
    "There is no built-in account or default password.\n"
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
    long abandon_after, agent_grace;
    bool sync_full, test_hooks, no_stats;
    const char *channels[64];
    int nchannels;
} options;

static int parse(int argc, char **argv, options *o)
{
    enum { O_LISTEN = 1, O_PORT, O_DATA, O_FLOWS, O_CHANNEL, O_WEB, O_TOKEN, O_MAXV, O_HTTP, O_SYNC, O_TLS, O_HOOKS, O_HELP,
           O_ABANDON, O_GRACE, O_STATS };
    static const struct option longopts[] = {
        {"listen", required_argument, 0, O_LISTEN}, {"port", required_argument, 0, O_PORT},
        {"data", required_argument, 0, O_DATA}, {"flows", required_argument, 0, O_FLOWS},
        {"channel", required_argument, 0, O_CHANNEL}, {"web", required_argument, 0, O_WEB},
        {"agent-token", required_argument, 0, O_TOKEN}, {"max-visitors", required_argument, 0, O_MAXV},
        {"http-threads", required_argument, 0, O_HTTP}, {"sync", required_argument, 0, O_SYNC},
        {"tls-cert", required_argument, 0, O_TLS}, {"test-hooks", no_argument, 0, O_HOOKS},
        {"help", no_argument, 0, O_HELP}, {"abandon-after", required_argument, 0, O_ABANDON},
        {"agent-grace", required_argument, 0, O_GRACE}, {"stats", required_argument, 0, O_STATS}, {0, 0, 0, 0},
    };
    *o = (options){"127.0.0.1", "data", "flows", "runtime/web", getenv("FLOWD_AGENT_TOKEN"), NULL, 8080, 1000, 32,
                   1800, 60, false, false, false, {0}, 0};
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
        case O_GRACE: o->agent_grace = atol(optarg); break;
        case O_STATS:
            if (strcmp(optarg, "on") != 0 && strcmp(optarg, "off") != 0) {
                fprintf(stderr, "flowd: --stats takes on or off\n");
                return 2;
            }
            o->no_stats = strcmp(optarg, "off") == 0;
            break;
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
        o->http_threads < 4 || o->http_threads > 1000 || o->abandon_after < 1 || o->agent_grace < 1) {
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

/* --channel NAME=FLOW binds channels at every start (other settings stay
 * as the admin pages left them); without any, every flow gets a channel of
 * its name the first time. */
static bool add_channels(rt_channels *ch, rt_flows *flows, const options *o)
{
    char err[256];
    for (int i = 0; i < o->nchannels; i++) {
        char name[64];
        const char *eq = strchr(o->channels[i], '=');
        snprintf(name, sizeof name, "%.*s", (int)(eq - o->channels[i]), o->channels[i]);
        if (!rt_flows_current(flows, eq + 1))
            rt_log("warn", "channel %s: flow %s is not loaded (yet)", name, eq + 1);
        if (!rt_channels_ensure(ch, name, eq + 1, err, sizeof err)) {
            fprintf(stderr, "flowd: --channel %s: %s\n", o->channels[i], err);
            return false;
        }
    }
    if (o->nchannels)
        return true;
    const char *names[256];
    int n = rt_flows_names(flows, names, 256);
    rt_channel_info info;
    for (int i = 0; i < n; i++)
        if (!rt_channels_get(ch, names[i], &info) && !rt_channels_ensure(ch, names[i], names[i], err, sizeof err))
            rt_log("warn", "no channel for flow %s: %s", names[i], err);
    return true;
}

static rt_store *open_store(const char *data, bool sync_full)
{
    char path[1024], err[512] = "";
    snprintf(path, sizeof path, "%s/flowd.db", data);
    rt_sqlite_options so = {path, sync_full, 4};
    rt_store *store = rt_store_sqlite_open(&so, err, sizeof err);
    if (!store)
        fprintf(stderr, "flowd: %s\n", err);
    return store;
}

/* `flowd adduser DATA USER [--name NAME] [--role ROLE] [--capacity N]`. */
static int adduser(int argc, char **argv)
{
    if (argc < 4) {
        fputs("usage: flowd adduser DATA_DIR USER [--name NAME] [--role admin|agent] [--capacity N]\n", stderr);
        return 2;
    }
    rt_user u = {0};
    snprintf(u.user, sizeof u.user, "%s", argv[3]);
    snprintf(u.name, sizeof u.name, "%s", argv[3]);
    snprintf(u.role, sizeof u.role, "agent");
    for (int i = 4; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--name") == 0)
            snprintf(u.name, sizeof u.name, "%s", argv[i + 1]);
        else if (strcmp(argv[i], "--role") == 0)
            snprintf(u.role, sizeof u.role, "%s", argv[i + 1]);
        else if (strcmp(argv[i], "--capacity") == 0)
            u.capacity = atoi(argv[i + 1]);
        else {
            fprintf(stderr, "flowd adduser: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    char password[300] = "";
    const char *env = getenv("FLOWD_PASSWORD");
    if (env)
        snprintf(password, sizeof password, "%s", env);
    else if (fgets(password, sizeof password, stdin))
        password[strcspn(password, "\r\n")] = '\0';
    if (mkdir(argv[2], 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "flowd: cannot create the data folder %s: %s\n", argv[2], strerror(errno));
        return 1;
    }
    rt_store *store = open_store(argv[2], false);
    if (!store)
        return 1;
    rt_auth *auth = rt_auth_new(store);
    char err[256];
    bool ok = auth && rt_auth_add_user(auth, &u, password, err, sizeof err);
    if (!ok)
        fprintf(stderr, "flowd adduser: %s\n", auth ? err : "out of memory");
    else
        printf("created %s %s (%s)\n", u.role, u.user, u.name);
    rt_auth_free(auth);
    store->ops->close(store);
    return ok ? 0 : 1;
}

static bool user_exists(void *ctx, const char *user)
{
    rt_user u;
    return rt_auth_get_user(ctx, user, &u);
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
    if (argc >= 2 && strcmp(argv[1], "adduser") == 0)
        return adduser(argc, argv);
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
    rt_store *store = open_store(o.data, o.sync_full);
    if (!store)
        return 1;
    rt_flows *flows = rt_flows_open(o.flows, store, err, sizeof err);
    if (!flows) {
        fprintf(stderr, "flowd: %s\n", err);
        store->ops->close(store);
        return 1;
    }
    rt_auth *auth = rt_auth_new(store);
    rt_channels *channels = rt_channels_new(store, flows);
    rt_webhooks *hooks = rt_webhooks_new(&(rt_webhook_options){.store = store}, err, sizeof err);
    if (!auth || !channels || !hooks || !add_channels(channels, flows, &o)) {
        fprintf(stderr, "flowd: cannot start: %s\n", err[0] ? err : "out of memory");
        return 1;
    }
    rt_channels_set_user_check(channels, user_exists, auth);
    if (getenv("FLOWD_ADMIN") && !rt_auth_bootstrap(auth, getenv("FLOWD_ADMIN"), err, sizeof err) && err[0])
        fprintf(stderr, "flowd: FLOWD_ADMIN: %s\n", err);
    rt_engine_options eo = {.store = store, .flows = flows, .channels = channels, .auth = auth, .hooks = hooks,
                            .agent_grace = o.agent_grace, .no_stats = o.no_stats, .send = rt_web_send, .test_hooks = o.test_hooks,
                            .abandon_after = o.abandon_after};
    rt_engine *engine = rt_engine_new(&eo);
    char listen[300];
    snprintf(listen, sizeof listen, "%s:%d", o.listen, o.port);
    rt_web_options wo = {.listen = listen, .web_root = o.web, .agent_token = o.token, .tls_cert = o.tls,
                         .data_dir = o.data, .auth = auth, .channels = channels, .flows = flows, .hooks = hooks,
                         .max_visitors = o.max_visitors, .http_threads = o.http_threads, .test_hooks = o.test_hooks};
    rt_web *web = rt_web_start(engine, &wo, err, sizeof err);
    if (!web) {
        fprintf(stderr, "flowd: cannot listen on %s: %s\n", listen, err);
        return 1;
    }
    if (!o.token && rt_auth_user_count(auth) == 0)
        rt_log("warn", "no account and no --agent-token: create one with `flowd adduser` or FLOWD_ADMIN");
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
    rt_webhooks_free(hooks);
    rt_engine_free(engine);
    rt_channels_free(channels);
    rt_auth_free(auth);
    rt_flows_close(flows);
    store->ops->close(store);
    rt_log("info", "stopped");
    return 0;
}
