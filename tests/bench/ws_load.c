/* ws_load.c - WebSocket load client for the server benchmarks
 * (tests/bench/server.sh). One thread, epoll, non-blocking sockets and a
 * minimal hand-written WebSocket client (RFC 6455: masked text frames out;
 * text, ping, pong and close frames in; no fragmentation, no extensions).
 *
 * It opens N connections to 127.0.0.1:PORT (at most --ramp new ones a second
 * and 64 handshakes at a time), sends each a hello and waits for the answer,
 * then runs the phases in the order given on the same connections:
 *
 *   --closed SECS       closed loop: every connection sends its next message
 *                       as soon as the reply to the previous one completed
 *                       -> replies/second (and latencies)
 *   --open RATE:SECS    open loop: RATE messages/second spread evenly over the
 *                       connections (round robin, timer-driven, never waiting
 *                       for replies) -> p50/p99/max latency, send to reply
 *
 * Each phase first runs --warmup seconds (default 1) that are not measured.
 * Between phases it waits for every outstanding reply (at most 5 s) and then
 * 1.2 s more, so flowd's per-socket rate window starts empty.
 *
 * Against flowd (the default) a message is {"type":"click","id":"mK",
 * "button":0} and its reply is complete when the `buttons` frame of the next
 * wait arrives (the flow must wait on a choice in a loop: tests/bench/
 * loop.flow); the hello is {"type":"hello","channel":C,"visitor":"PREFIXi"}
 * and it is answered when the first `buttons` frame arrives. With --echo every
 * text frame that comes back is the reply.
 *
 * flowd allows 20 frames a second per socket (docs/protocol.md); --rate-cap
 * (default 20 against flowd, 0 = none with --echo) keeps every connection
 * under it in the closed loop (at most CAP frames in any 1.05 s), which caps
 * the closed loop at CAP x N / 1.05 replies/second.
 *
 * --pid PID reads the server's VmRSS before the first connection and after
 * every conversation started, and prints the difference per connection; and
 * its CPU time (utime + stime) over each measured phase, per reply.
 *
 * Output: one line per step, `key=value` pairs, for scripts:
 *   ready conns=N ok=N failed=F secs=S [rss_before_kb= rss_after_kb= rss_per_conn_kb=]
 *   closed conns= secs= replies= rate= p50_ms= p90_ms= p99_ms= max_ms= server_cpu_us= errors= lost= capped=
 *   open conns= offered= secs= sent= replies= rate= p50_ms= p90_ms= p99_ms= p999_ms= max_ms=
 *        lag_p99_ms= lag_max_ms= server_cpu_us= errors= lost= skipped=
 * (lag_*: how late this client sent against the schedule; capped: closed-loop
 * sends held back by --rate-cap; lost: replies still missing 5 s after the
 * phase, which are then no longer measured)
 *   held conns=N alive=A
 * Bounded: at most 15,000 connections, 600 s of phases, and --timeout
 * (default 300 s) for the whole run; exit status 1 when a connection failed,
 * was closed, or a reply was lost or refused.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS 15000
#define MAX_PHASES 16
#define MAX_INFLIGHT_HANDSHAKES 64
#define PEND 64          /* outstanding messages per connection */
#define MAX_CAP 64       /* --rate-cap at most */
#define MAX_FRAME (1 << 20)
#define TIMER_ID UINT32_MAX

enum { C_IDLE, C_CONNECTING, C_HANDSHAKE, C_HELLO, C_READY, C_DEAD };
enum { P_NONE, P_CLOSED, P_OPEN, P_DRAIN };

typedef struct pend {
    int64_t sent;
    bool measured;
} pend;

typedef struct conn {
    int fd;
    int state;
    bool want_out;
    char *in;
    size_t in_len, in_cap;
    char *out;
    size_t out_len, out_off, out_cap;
    pend q[PEND];
    int q_head, q_n;
    int64_t ring[MAX_CAP]; /* send times of the last CAP frames */
    int ring_pos, ring_n;
    int64_t blocked_until; /* closed loop: waiting for the rate cap; 0 = not */
    uint64_t counter;
} conn;

typedef struct samples {
    int64_t *v;
    size_t n, cap;
} samples;

/* ---- settings and state ---------------------------------------------------------------- */

static int opt_port, opt_conns = 100, opt_rate_cap = -1, opt_ramp = 4000, opt_pid, opt_timeout = 300;
static bool opt_echo;
static const char *opt_channel = "loop", *opt_prefix = "v", *opt_path = "/ws/visitor";
static double opt_warmup = 1.0;
static struct {
    int kind; /* P_CLOSED or P_OPEN */
    double rate, secs;
} phases[MAX_PHASES];
static int nphases;

static conn *conns;
static int ep, tfd;
static int64_t deadline;
static uint64_t xs = 0x9e3779b97f4a7c15ull;

static int phase = P_NONE;
static int64_t measure_start, phase_end;
static samples lat, lag;
static uint64_t replies_in_window, errors, shown_errors, capped, ready_count, failed_count, closed_count;
static int blocked[MAX_CONNS], nblocked;

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static uint32_t rnd(void)
{
    xs ^= xs << 13;
    xs ^= xs >> 7;
    xs ^= xs << 17;
    return (uint32_t)(xs >> 16);
}

static void die(const char *msg)
{
    fprintf(stderr, "ws_load: %s\n", msg);
    exit(2);
}

static void *xrealloc(void *p, size_t n)
{
    p = realloc(p, n);
    if (!p)
        die("out of memory");
    return p;
}

static void add_sample(samples *s, int64_t v)
{
    if (s->n == s->cap) {
        if (s->cap >= 50000000)
            return;
        s->cap = s->cap ? s->cap * 2 : 65536;
        s->v = xrealloc(s->v, s->cap * sizeof *s->v);
    }
    s->v[s->n++] = v;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile in milliseconds (0 when empty). */
static double pct_ms(samples *s, double p)
{
    if (!s->n)
        return 0;
    size_t i = (size_t)(p / 100.0 * (double)s->n);
    if (i >= s->n)
        i = s->n - 1;
    return (double)s->v[i] / 1e6;
}

/* utime + stime of a process in seconds (-1 when unknown). */
static double cpu_seconds(int pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')'); /* the command name may hold spaces */
    unsigned long long ut = 0, st = 0;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        return -1;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static long rss_kb(int pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    FILE *f = fopen(path, "r");
    long kb = -1;
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
            break;
    fclose(f);
    return kb;
}

/* ---- sockets ------------------------------------------------------------------------ */

static void set_events(conn *c, int idx)
{
    struct epoll_event ev = {.events = EPOLLIN | (c->want_out ? EPOLLOUT : 0u), .data.u32 = (uint32_t)idx};
    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
}

static void kill_conn(conn *c, const char *why)
{
    if (c->state == C_DEAD)
        return;
    if (c->state == C_READY)
        closed_count++;
    else
        failed_count++;
    if (closed_count + failed_count <= 5)
        fprintf(stderr, "ws_load: connection %d: %s\n", (int)(c - conns), why);
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    c->fd = -1;
    c->state = C_DEAD;
    c->q_n = 0;
    free(c->in);
    free(c->out);
    c->in = c->out = NULL;
    c->in_len = c->in_cap = c->out_len = c->out_off = c->out_cap = 0;
}

static void flush_out(conn *c)
{
    while (c->out_off < c->out_len) {
        ssize_t n = write(c->fd, c->out + c->out_off, c->out_len - c->out_off);
        if (n > 0) {
            c->out_off += (size_t)n;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (!c->want_out) {
                c->want_out = true;
                set_events(c, (int)(c - conns));
            }
            return;
        } else {
            kill_conn(c, "write failed");
            return;
        }
    }
    c->out_off = c->out_len = 0;
    if (c->want_out) {
        c->want_out = false;
        set_events(c, (int)(c - conns));
    }
}

static void out_reserve(conn *c, size_t n)
{
    if (c->out_len + n > c->out_cap) {
        if (c->out_off) { /* compact first */
            memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
            c->out_len -= c->out_off;
            c->out_off = 0;
        }
        while (c->out_len + n > c->out_cap)
            c->out_cap = c->out_cap ? c->out_cap * 2 : 512;
        c->out = xrealloc(c->out, c->out_cap);
    }
}

/* Queues one masked frame (client frames are always masked) and writes. */
static void send_frame(conn *c, int opcode, const char *data, size_t len)
{
    if (c->state == C_DEAD)
        return;
    out_reserve(c, len + 14);
    unsigned char *p = (unsigned char *)c->out + c->out_len;
    size_t h = 0;
    p[h++] = (unsigned char)(0x80 | opcode);
    if (len < 126) {
        p[h++] = (unsigned char)(0x80 | len);
    } else if (len < 65536) {
        p[h++] = 0x80 | 126;
        p[h++] = (unsigned char)(len >> 8);
        p[h++] = (unsigned char)len;
    } else {
        p[h++] = 0x80 | 127;
        for (int i = 7; i >= 0; i--)
            p[h++] = (unsigned char)((uint64_t)len >> (8 * i));
    }
    uint32_t key = rnd();
    unsigned char mask[4] = {(unsigned char)key, (unsigned char)(key >> 8), (unsigned char)(key >> 16),
                             (unsigned char)(key >> 24)};
    memcpy(p + h, mask, 4);
    h += 4;
    for (size_t i = 0; i < len; i++)
        p[h + i] = (unsigned char)data[i] ^ mask[i & 3];
    c->out_len += h + len;
    flush_out(c);
}

static void note_send(conn *c, int64_t t)
{
    if (opt_rate_cap > 0) {
        c->ring[c->ring_pos] = t;
        c->ring_pos = (c->ring_pos + 1) % opt_rate_cap;
        if (c->ring_n < opt_rate_cap)
            c->ring_n++;
    }
}

/* The earliest time this connection may send again under the rate cap. */
static int64_t cap_free_at(const conn *c)
{
    if (opt_rate_cap <= 0 || c->ring_n < opt_rate_cap)
        return 0;
    return c->ring[c->ring_pos] + 1050000000LL; /* the oldest of the last CAP sends + 1.05 s */
}

static void send_message(conn *c, int64_t sent_at, bool measured)
{
    if (c->q_n == PEND) {
        errors++;
        if (shown_errors++ < 5)
            fprintf(stderr, "ws_load: connection %d: %d replies outstanding; message not sent\n", (int)(c - conns),
                    PEND);
        return;
    }
    char msg[128];
    int n = snprintf(msg, sizeof msg, "{\"type\":\"click\",\"id\":\"m%llu\",\"button\":0}",
                     (unsigned long long)++c->counter);
    c->q[(c->q_head + c->q_n) % PEND] = (pend){sent_at, measured};
    c->q_n++;
    note_send(c, sent_at);
    send_frame(c, 1, msg, (size_t)n);
}

/* Closed loop: the next message of this connection, now or when the cap allows. */
static void closed_next(conn *c, int64_t now)
{
    int64_t free_at = cap_free_at(c);
    if (free_at > now) {
        if (!c->blocked_until) {
            c->blocked_until = free_at;
            blocked[nblocked++] = (int)(c - conns);
            capped++;
        }
        return;
    }
    send_message(c, now, now >= measure_start);
}

static void reply_done(conn *c, int64_t now, bool ok)
{
    if (!c->q_n)
        return; /* a frame nobody waited for */
    pend p = c->q[c->q_head];
    c->q_head = (c->q_head + 1) % PEND;
    c->q_n--;
    if (ok && p.measured)
        add_sample(&lat, now - p.sent);
    if (ok && phase == P_CLOSED && now >= measure_start && now <= phase_end)
        replies_in_window++; /* throughput: every reply completed inside the window */
    if (phase == P_CLOSED && now < phase_end)
        closed_next(c, now);
}

static void send_hello(conn *c, int idx)
{
    char msg[256];
    int n = snprintf(msg, sizeof msg, "{\"type\":\"hello\",\"channel\":\"%s\",\"visitor\":\"%s%d\"}", opt_channel,
                     opt_prefix, idx);
    note_send(c, now_ns());
    c->state = C_HELLO;
    send_frame(c, 1, msg, (size_t)n);
}

/* A text frame from the server. */
static void on_text(conn *c, const char *p, size_t len, int64_t now)
{
    bool reply = opt_echo, error = false;
    if (!opt_echo) {
        const char *t = memmem(p, len, "\"type\":\"", 8);
        if (t) {
            t += 8;
            size_t rest = len - (size_t)(t - p);
            reply = rest >= 8 && memcmp(t, "buttons\"", 8) == 0;
            error = rest >= 6 && memcmp(t, "error\"", 6) == 0;
        }
    }
    if (error) {
        errors++;
        if (shown_errors++ < 5)
            fprintf(stderr, "ws_load: connection %d: %.*s\n", (int)(c - conns), (int)(len > 300 ? 300 : len), p);
        if (c->state == C_HELLO)
            kill_conn(c, "hello refused");
        else
            reply_done(c, now, false); /* that message gets no reply */
        return;
    }
    if (!reply)
        return;
    if (c->state == C_HELLO) {
        c->state = C_READY;
        ready_count++;
        return;
    }
    reply_done(c, now, true);
}

/* Parses every complete frame in the input buffer. */
static void parse_frames(conn *c, int64_t now)
{
    size_t off = 0;
    unsigned char *b = (unsigned char *)c->in;
    while (c->state != C_DEAD && c->in_len - off >= 2) {
        unsigned char *p = b + off;
        size_t avail = c->in_len - off, h = 2;
        uint64_t len = p[1] & 0x7f;
        if (len == 126) {
            if (avail < 4)
                break;
            len = (uint64_t)p[2] << 8 | p[3];
            h = 4;
        } else if (len == 127) {
            if (avail < 10)
                break;
            len = 0;
            for (int i = 0; i < 8; i++)
                len = len << 8 | p[2 + i];
            h = 10;
        }
        bool masked = p[1] & 0x80;
        if (masked)
            h += 4;
        if (len > MAX_FRAME) {
            kill_conn(c, "frame too big");
            return;
        }
        if (avail < h + len)
            break;
        unsigned char *data = p + h;
        if (masked)
            for (uint64_t i = 0; i < len; i++)
                data[i] ^= p[h - 4 + (i & 3)];
        int opcode = p[0] & 0x0f;
        bool fin = p[0] & 0x80;
        off += h + (size_t)len;
        if (!fin || opcode == 0) {
            kill_conn(c, "fragmented frame (not supported)");
            return;
        }
        if (opcode == 1)
            on_text(c, (const char *)data, (size_t)len, now);
        else if (opcode == 9)
            send_frame(c, 10, (const char *)data, (size_t)len); /* ping -> pong */
        else if (opcode == 8) {
            kill_conn(c, "closed by the server");
            return;
        }
    }
    if (c->state == C_DEAD)
        return;
    if (off) {
        memmove(c->in, c->in + off, c->in_len - off);
        c->in_len -= off;
    }
}

static void on_readable(conn *c, int idx, int64_t now)
{
    if (c->in_cap - c->in_len < 4096) {
        c->in_cap = c->in_cap ? c->in_cap * 2 : 8192;
        if (c->in_cap > 2 * MAX_FRAME + 16) {
            kill_conn(c, "input buffer overflow");
            return;
        }
        c->in = xrealloc(c->in, c->in_cap);
    }
    ssize_t n = read(c->fd, c->in + c->in_len, c->in_cap - c->in_len);
    if (n == 0) {
        kill_conn(c, "closed by the server");
        return;
    }
    if (n < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            kill_conn(c, "read failed");
        return;
    }
    c->in_len += (size_t)n;
    if (c->state == C_HANDSHAKE) {
        char *end = memmem(c->in, c->in_len, "\r\n\r\n", 4);
        if (!end) {
            if (c->in_len > 8192)
                kill_conn(c, "handshake answer too long");
            return;
        }
        if (c->in_len < 12 || memcmp(c->in, "HTTP/1.1 101", 12) != 0) {
            kill_conn(c, "handshake refused");
            return;
        }
        size_t used = (size_t)(end + 4 - c->in);
        memmove(c->in, c->in + used, c->in_len - used);
        c->in_len -= used;
        send_hello(c, idx);
    }
    parse_frames(c, now);
}

static void on_connected(conn *c, int idx)
{
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err) {
        kill_conn(c, err ? strerror(err) : "connect failed");
        return;
    }
    unsigned char raw[16];
    for (int i = 0; i < 16; i++)
        raw[i] = (unsigned char)rnd();
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char key[25];
    int k = 0;
    for (int i = 0; i < 15; i += 3) {
        uint32_t v = (uint32_t)raw[i] << 16 | (uint32_t)raw[i + 1] << 8 | raw[i + 2];
        key[k++] = b64[v >> 18 & 63], key[k++] = b64[v >> 12 & 63], key[k++] = b64[v >> 6 & 63], key[k++] = b64[v & 63];
    }
    key[k++] = b64[raw[15] >> 2], key[k++] = b64[(raw[15] & 3) << 4], key[k++] = '=', key[k++] = '=';
    key[k] = '\0';
    char req[512];
    int n = snprintf(req, sizeof req,
                     "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\nUser-Agent: ws_load\r\n\r\n",
                     opt_path, opt_port, key);
    c->state = C_HANDSHAKE;
    out_reserve(c, (size_t)n);
    memcpy(c->out + c->out_len, req, (size_t)n);
    c->out_len += (size_t)n;
    c->want_out = true; /* flush_out turns EPOLLOUT off once written */
    flush_out(c);
    (void)idx;
}

static void start_connect(conn *c, int idx)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        c->state = C_DEAD;
        failed_count++;
        fprintf(stderr, "ws_load: socket: %s\n", strerror(errno));
        return;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)opt_port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    c->fd = fd;
    c->state = C_CONNECTING;
    c->want_out = true;
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.u32 = (uint32_t)idx};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0)
        die("epoll_ctl");
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0 && errno != EINPROGRESS)
        kill_conn(c, strerror(errno));
}

/* ---- the event loop -------------------------------------------------------------------- */

static void poll_once(int timeout_ms)
{
    struct epoll_event evs[1024];
    int n = epoll_wait(ep, evs, 1024, timeout_ms);
    if (n < 0 && errno != EINTR)
        die("epoll_wait");
    for (int i = 0; i < n; i++) {
        uint32_t id = evs[i].data.u32;
        if (id == TIMER_ID) {
            uint64_t ticks;
            if (read(tfd, &ticks, sizeof ticks) < 0) { /* nothing to do */
            }
            continue;
        }
        conn *c = &conns[id];
        int64_t now = now_ns();
        if (c->state == C_DEAD)
            continue;
        if (c->state == C_CONNECTING) {
            if (evs[i].events & (EPOLLOUT | EPOLLERR | EPOLLHUP))
                on_connected(c, (int)id);
            continue;
        }
        if (evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP))
            on_readable(c, (int)id, now);
        if (c->state != C_DEAD && (evs[i].events & EPOLLOUT))
            flush_out(c);
    }
    if (now_ns() > deadline) {
        fprintf(stderr, "ws_load: --timeout reached\n");
        exit(1);
    }
}

static void arm_timer(int64_t at)
{
    struct itimerspec its;
    memset(&its, 0, sizeof its);
    its.it_value.tv_sec = at / 1000000000LL;
    its.it_value.tv_nsec = at % 1000000000LL;
    if (its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0)
        its.it_value.tv_nsec = 1;
    timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL);
}

static int pending_total(void)
{
    int n = 0;
    for (int i = 0; i < opt_conns; i++)
        n += conns[i].q_n;
    return n;
}

static int alive(void)
{
    int n = 0;
    for (int i = 0; i < opt_conns; i++)
        n += conns[i].state == C_READY;
    return n;
}

/* Waits for outstanding replies (at most 5 s), then `idle` seconds; returns
 * how many replies never came (they are then no longer measured). */
static int drain(void)
{
    phase = P_DRAIN;
    int64_t until = now_ns() + 5000000000LL;
    while (pending_total() && now_ns() < until)
        poll_once(10);
    int lost = pending_total();
    for (int i = 0, shown = 0; i < opt_conns && shown < 3; i++)
        if (conns[i].q_n) {
            fprintf(stderr, "ws_load: connection %d: %d replies missing after 5 s (last message sent m%llu)\n", i,
                    conns[i].q_n, (unsigned long long)conns[i].counter);
            shown++;
        }
    for (int i = 0; i < opt_conns; i++)
        for (int k = 0; k < conns[i].q_n; k++)
            conns[i].q[(conns[i].q_head + k) % PEND].measured = false;
    return lost;
}

static void idle(double secs)
{
    int64_t rest = now_ns() + (int64_t)(secs * 1e9);
    while (now_ns() < rest)
        poll_once(10);
}

/* The server's CPU time from the start of the measured part of a phase. */
static double cpu_at_start;
static bool cpu_started;

static void note_cpu_start(int64_t now)
{
    if (!cpu_started && now >= measure_start) {
        cpu_started = true;
        cpu_at_start = opt_pid ? cpu_seconds(opt_pid) : -1;
    }
}

/* Server CPU microseconds per reply since note_cpu_start (0 when unknown). */
static double cpu_us_per(uint64_t replies)
{
    double end = opt_pid ? cpu_seconds(opt_pid) : -1;
    if (!cpu_started || cpu_at_start < 0 || end < 0 || !replies)
        return 0;
    return (end - cpu_at_start) * 1e6 / (double)replies;
}

static void connect_all(void)
{
    long before = opt_pid ? rss_kb(opt_pid) : -1;
    int64_t t0 = now_ns();
    int started = 0;
    while ((int)(ready_count + failed_count) < opt_conns) {
        int64_t now = now_ns();
        int inflight = started - (int)(ready_count + failed_count);
        int64_t allowed = opt_ramp > 0 ? (int64_t)((double)(now - t0) / 1e9 * opt_ramp) + 1 : opt_conns;
        while (started < opt_conns && inflight < MAX_INFLIGHT_HANDSHAKES && started < allowed) {
            start_connect(&conns[started], started);
            started++;
            inflight++;
        }
        poll_once(2);
    }
    double secs = (double)(now_ns() - t0) / 1e9;
    printf("ready conns=%d ok=%llu failed=%llu secs=%.2f", opt_conns, (unsigned long long)ready_count,
           (unsigned long long)failed_count, secs);
    if (opt_pid) {
        idle(0.3); /* let the last conversations settle */
        long after = rss_kb(opt_pid);
        printf(" rss_before_kb=%ld rss_after_kb=%ld rss_per_conn_kb=%.1f", before, after,
               ready_count ? (double)(after - before) / (double)ready_count : 0.0);
    }
    printf("\n");
    fflush(stdout);
}

static void reset_stats(void)
{
    lat.n = lag.n = 0;
    replies_in_window = errors = shown_errors = capped = 0;
    cpu_started = false;
}

static void run_closed(double secs)
{
    reset_stats();
    int64_t start = now_ns();
    measure_start = start + (int64_t)(opt_warmup * 1e9);
    phase_end = measure_start + (int64_t)(secs * 1e9);
    phase = P_CLOSED;
    for (int i = 0; i < opt_conns; i++)
        if (conns[i].state == C_READY)
            closed_next(&conns[i], start);
    for (;;) {
        int64_t now = now_ns();
        note_cpu_start(now);
        if (now >= phase_end)
            break;
        for (int i = 0; i < nblocked;) {
            conn *c = &conns[blocked[i]];
            if (c->state != C_READY || c->blocked_until <= now) {
                c->blocked_until = 0;
                blocked[i] = blocked[--nblocked];
                if (c->state == C_READY)
                    send_message(c, now, now >= measure_start);
            } else {
                i++;
            }
        }
        int64_t left_ms = (phase_end - now) / 1000000 + 1;
        poll_once(nblocked ? 1 : (int)(left_ms < 50 ? left_ms : 50));
    }
    double cpu = cpu_us_per(replies_in_window);
    for (int i = 0; i < nblocked; i++)
        conns[blocked[i]].blocked_until = 0;
    nblocked = 0;
    int lost = drain();
    idle(1.2);
    qsort(lat.v, lat.n, sizeof *lat.v, cmp_i64);
    printf("closed conns=%d secs=%.2f replies=%llu rate=%.0f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f "
           "server_cpu_us=%.1f errors=%llu lost=%d capped=%llu\n",
           alive(), secs, (unsigned long long)replies_in_window, (double)replies_in_window / secs, pct_ms(&lat, 50),
           pct_ms(&lat, 90), pct_ms(&lat, 99), lat.n ? (double)lat.v[lat.n - 1] / 1e6 : 0.0, cpu,
           (unsigned long long)errors, lost, (unsigned long long)capped);
    fflush(stdout);
    if (lost)
        errors++;
}

static void run_open(double rate, double secs)
{
    reset_stats();
    int64_t start = now_ns() + 1000000; /* the first send 1 ms from now */
    measure_start = start + (int64_t)(opt_warmup * 1e9);
    phase_end = measure_start + (int64_t)(secs * 1e9);
    uint64_t total = (uint64_t)(rate * (opt_warmup + secs));
    double gap = 1e9 / rate;
    uint64_t k = 0, sent = 0, measured_sent = 0, skipped = 0;
    phase = P_OPEN;
    while (k < total) {
        int64_t now = now_ns();
        note_cpu_start(now);
        for (; k < total; k++) {
            int64_t at = start + (int64_t)((double)k * gap);
            if (at > now)
                break;
            conn *c = &conns[k % (uint64_t)opt_conns];
            if (c->state != C_READY) {
                skipped++;
                continue;
            }
            bool measured = at >= measure_start;
            send_message(c, now, measured);
            sent++;
            if (measured) {
                measured_sent++;
                add_sample(&lag, now - at);
            }
        }
        if (k >= total)
            break;
        arm_timer(start + (int64_t)((double)k * gap));
        poll_once(50);
    }
    int lost = drain();
    double cpu = cpu_us_per(lat.n);
    idle(1.2);
    qsort(lat.v, lat.n, sizeof *lat.v, cmp_i64);
    qsort(lag.v, lag.n, sizeof *lag.v, cmp_i64);
    printf("open conns=%d offered=%.0f secs=%.2f sent=%llu replies=%zu rate=%.0f p50_ms=%.3f p90_ms=%.3f "
           "p99_ms=%.3f p999_ms=%.3f max_ms=%.3f lag_p99_ms=%.3f lag_max_ms=%.3f server_cpu_us=%.1f errors=%llu "
           "lost=%d skipped=%llu\n",
           alive(), rate, secs, (unsigned long long)measured_sent, lat.n, (double)lat.n / secs, pct_ms(&lat, 50),
           pct_ms(&lat, 90), pct_ms(&lat, 99), pct_ms(&lat, 99.9), lat.n ? (double)lat.v[lat.n - 1] / 1e6 : 0.0,
           pct_ms(&lag, 99), lag.n ? (double)lag.v[lag.n - 1] / 1e6 : 0.0, cpu, (unsigned long long)errors, lost,
           (unsigned long long)skipped);
    fflush(stdout);
    (void)sent;
    if (lost)
        errors++;
}

/* ---- main ------------------------------------------------------------------------------- */

static const char usage[] =
    "usage: ws_load --port N [--conns N] [--echo] [--channel C] [--visitor-prefix P] [--path /ws/visitor]\n"
    "               [--closed SECS] [--open RATE:SECS]... [--warmup SECS] [--rate-cap N] [--ramp CONNS_PER_S]\n"
    "               [--pid SERVER_PID] [--timeout SECS]\n";

static void parse(int argc, char **argv)
{
    enum { O_PORT = 1, O_CONNS, O_ECHO, O_CHANNEL, O_PREFIX, O_PATH, O_CLOSED, O_OPEN, O_WARM, O_CAP, O_RAMP, O_PID, O_TIMEOUT };
    static const struct option lo[] = {
        {"port", required_argument, 0, O_PORT}, {"conns", required_argument, 0, O_CONNS},
        {"echo", no_argument, 0, O_ECHO}, {"channel", required_argument, 0, O_CHANNEL},
        {"visitor-prefix", required_argument, 0, O_PREFIX}, {"path", required_argument, 0, O_PATH},
        {"closed", required_argument, 0, O_CLOSED}, {"open", required_argument, 0, O_OPEN},
        {"warmup", required_argument, 0, O_WARM}, {"rate-cap", required_argument, 0, O_CAP},
        {"ramp", required_argument, 0, O_RAMP}, {"pid", required_argument, 0, O_PID},
        {"timeout", required_argument, 0, O_TIMEOUT}, {0, 0, 0, 0},
    };
    int o;
    double total = 0;
    while ((o = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (o) {
        case O_PORT: opt_port = atoi(optarg); break;
        case O_CONNS: opt_conns = atoi(optarg); break;
        case O_ECHO: opt_echo = true; break;
        case O_CHANNEL: opt_channel = optarg; break;
        case O_PREFIX: opt_prefix = optarg; break;
        case O_PATH: opt_path = optarg; break;
        case O_WARM: opt_warmup = atof(optarg); break;
        case O_CAP: opt_rate_cap = atoi(optarg); break;
        case O_RAMP: opt_ramp = atoi(optarg); break;
        case O_PID: opt_pid = atoi(optarg); break;
        case O_TIMEOUT: opt_timeout = atoi(optarg); break;
        case O_CLOSED:
        case O_OPEN:
            if (nphases == MAX_PHASES)
                die("too many phases");
            phases[nphases].kind = o == O_CLOSED ? P_CLOSED : P_OPEN;
            if (o == O_CLOSED)
                phases[nphases].secs = atof(optarg);
            else if (sscanf(optarg, "%lf:%lf", &phases[nphases].rate, &phases[nphases].secs) != 2 ||
                     phases[nphases].rate <= 0 || phases[nphases].rate > 1e6)
                die("--open takes RATE:SECS (RATE up to 1,000,000)");
            if (phases[nphases].secs <= 0)
                die("a phase needs a positive duration");
            total += phases[nphases].secs;
            nphases++;
            break;
        default: fputs(usage, stderr); exit(2);
        }
    }
    if (opt_rate_cap < 0)
        opt_rate_cap = opt_echo ? 0 : 20;
    if (optind < argc || opt_port <= 0 || opt_port > 65535 || opt_conns < 1 || opt_conns > MAX_CONNS ||
        opt_rate_cap > MAX_CAP || opt_warmup < 0 || opt_warmup > 30 || total > 600 || opt_timeout < 1 ||
        opt_timeout > 3600 || strlen(opt_channel) > 63 || strlen(opt_prefix) > 40 || strlen(opt_path) > 200) {
        fputs(usage, stderr);
        exit(2);
    }
}

int main(int argc, char **argv)
{
    parse(argc, argv);
    signal(SIGPIPE, SIG_IGN);
    struct rlimit rl;
    rlim_t need = (rlim_t)opt_conns + 64;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < need) {
        rl.rlim_cur = need <= rl.rlim_max ? need : rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
        if (rl.rlim_cur < need) {
            fprintf(stderr, "ws_load: %d connections need %llu open files; the limit is %llu\n", opt_conns,
                    (unsigned long long)need, (unsigned long long)rl.rlim_cur);
            return 2;
        }
    }
    xs ^= (uint64_t)now_ns() * 0x2545F4914F6CDD1Dull;
    deadline = now_ns() + (int64_t)opt_timeout * 1000000000LL;
    conns = calloc((size_t)opt_conns, sizeof *conns);
    ep = epoll_create1(EPOLL_CLOEXEC);
    tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (!conns || ep < 0 || tfd < 0)
        die("cannot set up (memory, epoll or timerfd)");
    struct epoll_event tev = {.events = EPOLLIN, .data.u32 = TIMER_ID};
    epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &tev);
    for (int i = 0; i < opt_conns; i++)
        conns[i].fd = -1;

    connect_all();
    uint64_t all_errors = 0;
    for (int i = 0; i < nphases; i++) {
        if (phases[i].kind == P_CLOSED)
            run_closed(phases[i].secs);
        else
            run_open(phases[i].rate, phases[i].secs);
        all_errors += errors;
    }
    printf("held conns=%d alive=%d\n", opt_conns, alive());
    fflush(stdout);
    for (int i = 0; i < opt_conns; i++)
        if (conns[i].fd >= 0)
            close(conns[i].fd);
    return failed_count || closed_count || all_errors ? 1 : 0;
}
