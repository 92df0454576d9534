/* fc_tz.c - a zone's rules from its TZif file (RFC 8536, versions 1-4) at
 * compile time (see fc_tz.h).
 *
 * The file is read whole (at most 1 MB) and parsed with bounds checks on
 * every field: zoneinfo directories can be pointed anywhere with
 * FLOWC_ZONEINFO, so its files are not trusted more than source code.
 */
#include "fc_tz.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEFAULT_ZONEINFO "/usr/share/zoneinfo"
#define MAX_FILE (1 << 20) /* real TZif files are a few KB */
#define MAX_ZONE_NAME 63   /* vm_tz.name holds 63 characters */
#define MAX_UTOFF (26 * 3600)
#define MAX_FOOTER 255
#define ZONE_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_+-/"

/* ---- zone names and files ----------------------------------------------- */

/* Only plain relative names made of [A-Za-z0-9_+-/], with no empty
 * component: no "." at all means no "..", and no leading "/" means no
 * absolute path, so the name cannot leave the zoneinfo directory. */
static bool valid_zone_name(const char *zone)
{
    size_t len = strlen(zone);
    if (len == 0 || len > MAX_ZONE_NAME || strspn(zone, ZONE_CHARS) != len)
        return false;
    if (zone[0] == '/' || zone[len - 1] == '/' || strstr(zone, "//"))
        return false;
    /* Debian's "localtime" is a link to the build machine's /etc/localtime:
     * a program must not change meaning with the machine it is built on. */
    return strcmp(zone, "localtime") != 0;
}

/* The message always starts "unknown time zone 'X'"; the name is echoed
 * with bytes that could garble a terminal replaced, and cut short. */
static bool refuse(const char *zone, const char *why, char *err, size_t errlen)
{
    char shown[MAX_ZONE_NAME + 4];
    size_t n = 0;
    for (const char *p = zone ? zone : ""; *p && n < MAX_ZONE_NAME; p++)
        shown[n++] = (*p >= 0x20 && *p < 0x7f && *p != '\'') ? *p : '?';
    if (zone && strlen(zone) > MAX_ZONE_NAME)
        n += (size_t)snprintf(shown + n, sizeof shown - n, "...");
    shown[n] = '\0';
    if (err && errlen)
        snprintf(err, errlen, "unknown time zone '%s'%s%s%s", shown, why ? " (" : "",
                 why ? why : "", why ? ")" : "");
    return false;
}

typedef struct file_data {
    uint8_t *bytes;
    size_t len;
} file_data;

/* Reads a regular file of at most MAX_FILE bytes. O_NONBLOCK keeps a FIFO
 * from hanging the compiler; directories and devices fail the S_ISREG test.
 * Returns NULL on success, else why (ENOENT gives "" = plain unknown). */
static const char *read_zone_file(const char *path, file_data *out)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0)
        return (errno == ENOENT || errno == ENOTDIR) ? "" : strerror(errno);
    struct stat st;
    const char *why = NULL;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
        why = "not a regular file";
    else if (st.st_size > MAX_FILE)
        why = "file too large";
    else if (!(out->bytes = malloc((size_t)st.st_size + 1)))
        why = "out of memory";
    size_t cap = why ? 0 : (size_t)st.st_size + 1; /* +1 notices growth */
    while (!why && out->len < cap) {
        ssize_t got = read(fd, out->bytes + out->len, cap - out->len);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            why = "read error";
        else if (got == 0)
            break;
        else
            out->len += (size_t)got;
    }
    if (!why && out->len == cap)
        why = "file changed while being read";
    close(fd);
    return why;
}

/* ---- big-endian cursor over the file ------------------------------------ */

typedef struct cursor {
    const uint8_t *p, *end;
    bool err;
} cursor;

static const uint8_t *take(cursor *c, uint64_t n)
{
    if (c->err || (uint64_t)(c->end - c->p) < n) {
        c->err = true;
        return NULL;
    }
    const uint8_t *p = c->p;
    c->p += n;
    return p;
}

static uint64_t be(cursor *c, unsigned n)
{
    const uint8_t *p = take(c, n);
    uint64_t v = 0;
    for (unsigned i = 0; p && i < n; i++)
        v = v << 8 | p[i];
    return v;
}

/* A signed n-byte (4 or 8) two's-complement value. */
static int64_t be_signed(cursor *c, unsigned n)
{
    uint64_t v = be(c, n);
    uint64_t sign = (uint64_t)1 << (8 * n - 1);
    if (!(v & sign))
        return (int64_t)v;
    return -(int64_t)((~v & (sign - 1))) - 1; /* no out-of-range conversion */
}

/* ---- TZif ---------------------------------------------------------------- */

typedef struct tzif_header {
    uint8_t version; /* 0 (version 1), '2', '3' or '4' */
    uint32_t isut, isstd, leap, time, type, chars;
} tzif_header;

/* The data block of one version: transition times (4 or 8 bytes each) with
 * their type indices, and the types' UTC offsets. */
typedef struct tzif_data {
    int64_t *times;
    uint8_t *idx;
    int32_t utoff[256];
    uint32_t ntime, ntype;
} tzif_data;

static const char *read_header(cursor *c, tzif_header *h)
{
    const uint8_t *magic = take(c, 4);
    if (!magic || memcmp(magic, "TZif", 4) != 0)
        return "not a TZif file";
    h->version = (uint8_t)be(c, 1);
    take(c, 15); /* reserved */
    h->isut = (uint32_t)be(c, 4);
    h->isstd = (uint32_t)be(c, 4);
    h->leap = (uint32_t)be(c, 4);
    h->time = (uint32_t)be(c, 4);
    h->type = (uint32_t)be(c, 4);
    h->chars = (uint32_t)be(c, 4);
    if (c->err)
        return "truncated TZif file";
    if (h->version != 0 && (h->version < '2' || h->version > '4'))
        return "unsupported TZif version";
    /* Type indices are bytes, so more than 256 types cannot be used. */
    if (h->type == 0 || h->type > 256 || (h->isut && h->isut != h->type) ||
        (h->isstd && h->isstd != h->type))
        return "bad TZif header counts";
    return NULL;
}

/* Bytes of a data block; 64-bit arithmetic, so forged counts cannot wrap. */
static uint64_t block_size(const tzif_header *h, unsigned tsize)
{
    return (uint64_t)h->time * (tsize + 1) + (uint64_t)h->type * 6 + h->chars +
           (uint64_t)h->leap * (tsize + 4) + h->isstd + h->isut;
}

static const char *read_times(cursor *c, const tzif_header *h, unsigned tsize, tzif_data *d)
{
    d->ntime = h->time;
    if (h->time == 0)
        return NULL;
    d->times = malloc((size_t)h->time * sizeof *d->times);
    d->idx = malloc(h->time);
    if (!d->times || !d->idx)
        return "out of memory";
    for (uint32_t i = 0; i < h->time; i++) {
        d->times[i] = be_signed(c, tsize);
        if (i > 0 && d->times[i] <= d->times[i - 1])
            return "TZif transitions not ascending";
    }
    for (uint32_t i = 0; i < h->time; i++)
        if ((d->idx[i] = (uint8_t)be(c, 1)) >= h->type)
            return "TZif type index out of range";
    return NULL;
}

static const char *read_types(cursor *c, const tzif_header *h, tzif_data *d)
{
    d->ntype = h->type;
    for (uint32_t i = 0; i < h->type; i++) {
        int64_t off = be_signed(c, 4);
        uint64_t isdst = be(c, 1), desig = be(c, 1);
        if (off < -MAX_UTOFF || off > MAX_UTOFF)
            return "TZif UTC offset beyond 26 hours";
        if (isdst > 1 || desig >= h->chars)
            return "bad TZif local time type";
        d->utoff[i] = (int32_t)off;
    }
    return NULL;
}

/* The rest of the block is checked for well-formedness only. Leap-second
 * records are refused: transition times would count leap seconds the VM's
 * clock does not, and Debian's right/ files end in 2026 with no footer. */
static const char *read_block(cursor *c, const tzif_header *h, unsigned tsize, tzif_data *d)
{
    if (block_size(h, tsize) > (uint64_t)(c->end - c->p))
        return "truncated TZif file";
    if (h->leap)
        return "leap-second zones are not supported";
    const char *why = read_times(c, h, tsize, d);
    if (!why)
        why = read_types(c, h, d);
    if (why)
        return why;
    take(c, h->chars);
    for (uint64_t i = 0; i < (uint64_t)h->isstd + h->isut; i++)
        if (be(c, 1) > 1)
            return "bad TZif indicator";
    return c->err ? "truncated TZif file" : NULL;
}

/* ---- POSIX TZ string (the footer) --------------------------------------- */

static bool is_digit(char ch) { return ch >= '0' && ch <= '9'; }
static bool is_alpha(char ch) { return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z'); }

/* An unsigned decimal of 1 to `maxdigits` digits, at most `max`. */
static bool parse_num(const char **s, int maxdigits, int max, int *v)
{
    int n = 0, digits = 0;
    while (is_digit(**s) && digits < maxdigits) {
        n = n * 10 + (**s - '0');
        (*s)++;
        digits++;
    }
    *v = n;
    return digits > 0 && !is_digit(**s) && n <= max;
}

/* An abbreviation: three or more letters, or <...> of letters, digits,
 * '+' and '-' (e.g. "<+03>"). Its text is not kept: the VM needs offsets. */
static bool parse_abbr(const char **s)
{
    const char *p = *s;
    size_t n = 0;
    if (*p == '<') {
        for (p++; is_alpha(*p) || is_digit(*p) || *p == '+' || *p == '-'; p++)
            n++;
        if (*p++ != '>')
            return false;
    } else {
        for (; is_alpha(*p); p++)
            n++;
    }
    *s = p;
    return n >= 3;
}

/* [+-]hh[:mm[:ss]] in seconds, hours at most max_hours. */
static bool parse_hms(const char **s, int max_hours, int32_t *secs)
{
    int sign = 1, h, m = 0, sec = 0;
    if (**s == '+' || **s == '-')
        sign = *(*s)++ == '-' ? -1 : 1;
    if (!parse_num(s, 3, max_hours, &h))
        return false;
    if (**s == ':') {
        (*s)++;
        if (!parse_num(s, 2, 59, &m))
            return false;
        if (**s == ':') {
            (*s)++;
            if (!parse_num(s, 2, 59, &sec))
                return false;
        }
    }
    *secs = sign * (h * 3600 + m * 60 + sec);
    return true;
}

/* POSIX offsets count hours west of UTC ("CET-1"); vm_tz counts east. */
static bool parse_offset(const char **s, int32_t *off)
{
    int32_t west;
    if (!parse_hms(s, 24, &west))
        return false;
    *off = -west;
    return true;
}

/* Jn, n or Mm.w.d, then an optional /time (default 02:00; RFC 8536 allows
 * -167..167 hours). */
static bool parse_date(const char **s, vm_tz_date *d)
{
    int a, b, c;
    memset(d, 0, sizeof *d);
    if (**s == 'M') {
        (*s)++;
        if (!parse_num(s, 2, 12, &a) || a < 1 || *(*s)++ != '.' || !parse_num(s, 1, 5, &b) ||
            b < 1 || *(*s)++ != '.' || !parse_num(s, 1, 6, &c))
            return false;
        d->kind = 'M';
        d->month = (uint8_t)a;
        d->week = (uint8_t)b;
        d->wday = (uint8_t)c;
    } else if (**s == 'J') {
        (*s)++;
        if (!parse_num(s, 3, 365, &a) || a < 1)
            return false;
        d->kind = 'J';
        d->day = (uint16_t)a;
    } else {
        if (!parse_num(s, 3, 365, &a))
            return false;
        d->kind = 'n';
        d->day = (uint16_t)a;
    }
    d->secs = 7200;
    if (**s == '/') {
        (*s)++;
        return parse_hms(s, 167, &d->secs);
    }
    return true;
}

/* std offset [dst [offset] ,start[/time],end[/time]]. A DST part without
 * its rule would need POSIX's implementation-defined default; zic never
 * writes one, so it is refused rather than guessed. */
static bool parse_tz_string(const char *s, vm_tz_rule *r)
{
    memset(r, 0, sizeof *r);
    if (!parse_abbr(&s) || !parse_offset(&s, &r->std_off))
        return false;
    if (*s == '\0')
        return true;
    r->has_dst = true;
    if (!parse_abbr(&s))
        return false;
    r->dst_off = r->std_off + 3600;
    if (*s != ',' && !parse_offset(&s, &r->dst_off))
        return false;
    if (*s++ != ',' || !parse_date(&s, &r->start) || *s++ != ',' || !parse_date(&s, &r->end))
        return false;
    return *s == '\0';
}

/* The footer: newline, TZ string (possibly empty), newline. */
static const char *read_footer(cursor *c, vm_tz *out)
{
    const uint8_t *nl = take(c, 1);
    if (!nl || *nl != '\n')
        return "missing TZif footer";
    size_t left = (size_t)(c->end - c->p);
    const uint8_t *end = memchr(c->p, '\n', left);
    if (!end)
        return "unterminated TZif footer";
    size_t len = (size_t)(end - c->p);
    if (len == 0)
        return NULL; /* no rule: the last offset goes on for ever */
    char tz[MAX_FOOTER + 1];
    if (len > MAX_FOOTER || memchr(c->p, '\0', len))
        return "bad TZif footer";
    memcpy(tz, c->p, len);
    tz[len] = '\0';
    if (!parse_tz_string(tz, &out->rule))
        return "bad TZ string in TZif footer";
    out->has_rule = true;
    return NULL;
}

/* ---- building the vm_tz -------------------------------------------------- */

/* Keeps transitions from 1970 on that change the offset; the last one is
 * always kept because the footer rule takes over only after it. Before any
 * transition RFC 8536 prescribes type 0. */
static const char *build(const tzif_data *d, vm_tz *out)
{
    out->initial_utoff = d->utoff[0];
    uint32_t first = 0;
    while (first < d->ntime && d->times[first] < 0)
        out->initial_utoff = d->utoff[d->idx[first++]];
    if (first == d->ntime)
        return NULL;
    out->trans = malloc((size_t)(d->ntime - first) * sizeof *out->trans);
    if (!out->trans)
        return "out of memory";
    int32_t cur = out->initial_utoff;
    for (uint32_t i = first; i < d->ntime; i++) {
        int32_t off = d->utoff[d->idx[i]];
        if (off == cur && i + 1 < d->ntime)
            continue;
        out->trans[out->ntrans].at = d->times[i];
        out->trans[out->ntrans++].utoff = off;
        cur = off;
    }
    return NULL;
}

/* Version 1 files carry 32-bit data only; later versions repeat the data
 * with 64-bit times after the first block, followed by the footer. */
static const char *parse_tzif(const uint8_t *bytes, size_t len, vm_tz *out)
{
    cursor c = {bytes, bytes + len, false};
    tzif_header h;
    tzif_data d = {0};
    const char *why = read_header(&c, &h);
    unsigned tsize = 4;
    if (!why && h.version != 0) {
        if (block_size(&h, 4) > (uint64_t)(c.end - c.p))
            why = "truncated TZif file";
        else {
            take(&c, block_size(&h, 4));
            why = read_header(&c, &h);
            tsize = 8;
            if (!why && h.version == 0)
                why = "bad TZif version in second header";
        }
    }
    if (!why)
        why = read_block(&c, &h, tsize, &d);
    if (!why && tsize == 8)
        why = read_footer(&c, out);
    if (!why)
        why = build(&d, out);
    free(d.times);
    free(d.idx);
    return why;
}

bool fc_tz_load(const char *zone, vm_tz *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (!zone || !valid_zone_name(zone))
        return refuse(zone, NULL, err, errlen);
    const char *dir = getenv("FLOWC_ZONEINFO");
    if (!dir || !*dir)
        dir = DEFAULT_ZONEINFO;
    char path[4096];
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, zone) >= sizeof path)
        return refuse(zone, "zoneinfo path too long", err, errlen);
    file_data f = {NULL, 0};
    const char *why = read_zone_file(path, &f);
    if (!why)
        why = parse_tzif(f.bytes, f.len, out);
    free(f.bytes);
    if (why) {
        vm_tz_free(out);
        memset(out, 0, sizeof *out);
        return refuse(zone, *why ? why : NULL, err, errlen);
    }
    memcpy(out->name, zone, strlen(zone) + 1);
    return true;
}
