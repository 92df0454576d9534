/* echo_server.c - the floor for the server benchmarks (tests/bench/server.sh):
 * a bare civetweb WebSocket echo server on /ws/visitor with the civetweb
 * options flowd uses (runtime/rt_web.c: tcp_nodelay, ping-pong, the same
 * time-outs and backlog, one worker thread per socket). Every text frame
 * comes back unchanged; nothing is parsed, stored or logged.
 *
 * usage: echo_server [--port N] [--threads N]
 *   --port 0 (the default) picks a free port; the first line on stdout is
 *   "echo_server listening on port N". --threads is civetweb's num_threads
 *   (default 1032): one per concurrent socket plus a few for HTTP.
 * Stops on SIGINT/SIGTERM.
 */
#include <civetweb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static volatile sig_atomic_t stopping;

static void on_signal(int sig)
{
    (void)sig;
    stopping = 1;
}

static int ws_connect(const struct mg_connection *conn, void *cbdata)
{
    (void)conn;
    (void)cbdata;
    return 0;
}

static int ws_data(struct mg_connection *conn, int bits, char *data, size_t len, void *cbdata)
{
    (void)cbdata;
    int opcode = bits & 0x0f;
    if (opcode == MG_WEBSOCKET_OPCODE_CONNECTION_CLOSE)
        return 0;
    if (opcode == MG_WEBSOCKET_OPCODE_TEXT || opcode == MG_WEBSOCKET_OPCODE_BINARY)
        mg_websocket_write(conn, opcode, data, len);
    return 1;
}

int main(int argc, char **argv)
{
    int port = 0, threads = 1032;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--port") == 0 && i + 1 < argc)
            port = atoi(argv[++i]);
        else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc)
            threads = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: echo_server [--port N] [--threads N]\n");
            return 2;
        }
    }
    if (port < 0 || port > 65535 || threads < 1 || threads > 11000) {
        fprintf(stderr, "echo_server: port 0..65535, threads 1..11000\n");
        return 2;
    }
    char ports[64], nthreads[16];
    snprintf(ports, sizeof ports, "127.0.0.1:%d", port);
    snprintf(nthreads, sizeof nthreads, "%d", threads);
    const char *options[] = {"listening_ports", ports, "num_threads", nthreads, "tcp_nodelay", "1",
                             "enable_websocket_ping_pong", "yes", "websocket_timeout_ms", "30000",
                             "request_timeout_ms", "30000", "listen_backlog", "4096", NULL};
    struct mg_callbacks cb;
    memset(&cb, 0, sizeof cb);
    struct mg_init_data init = {&cb, NULL, options};
    char err[256] = "";
    unsigned code = 0;
    struct mg_error_data error = {&code, err, sizeof err};
    struct mg_context *ctx = mg_start2(&init, &error);
    if (!ctx) {
        fprintf(stderr, "echo_server: cannot start: %s\n", err);
        return 1;
    }
    mg_set_websocket_handler(ctx, "/ws/visitor", ws_connect, NULL, ws_data, NULL, NULL);
    struct mg_server_port sp[4];
    int n = mg_get_server_ports(ctx, 4, sp);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGPIPE, SIG_IGN);
    printf("echo_server listening on port %d\n", n > 0 ? sp[0].port : 0);
    fflush(stdout);
    while (!stopping) {
        struct timespec ts = {0, 100 * 1000000L};
        nanosleep(&ts, NULL);
    }
    mg_stop(ctx);
    return 0;
}
