/* vm_buf.c - growable byte buffer and bounded reader (see vm_buf.h). */
#include "vm_buf.h"

#include <stdlib.h>

bool vm_buf_reserve(vm_buf *b, size_t extra)
{
    if (b->oom)
        return false;
    if (b->cap - b->len >= extra)
        return true;
    size_t cap = b->cap ? b->cap : 64;
    while (cap - b->len < extra) {
        if (cap > SIZE_MAX / 2) {
            b->oom = true;
            return false;
        }
        cap *= 2;
    }
    uint8_t *p = realloc(b->data, cap);
    if (!p) {
        b->oom = true;
        return false;
    }
    b->data = p;
    b->cap = cap;
    return true;
}

void vm_buf_free(vm_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
    b->oom = false;
}

void vm_buf_put_bytes(vm_buf *b, const void *p, size_t n)
{
    if (n == 0 || !vm_buf_reserve(b, n))
        return;
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

void vm_buf_put_u8(vm_buf *b, uint8_t v) { vm_buf_put_bytes(b, &v, 1); }

void vm_buf_put_u16(vm_buf *b, uint16_t v)
{
    uint8_t x[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
    vm_buf_put_bytes(b, x, 2);
}

void vm_buf_put_u32(vm_buf *b, uint32_t v)
{
    uint8_t x[4];
    for (int i = 0; i < 4; i++)
        x[i] = (uint8_t)(v >> (8 * i));
    vm_buf_put_bytes(b, x, 4);
}

void vm_buf_put_u64(vm_buf *b, uint64_t v)
{
    uint8_t x[8];
    for (int i = 0; i < 8; i++)
        x[i] = (uint8_t)(v >> (8 * i));
    vm_buf_put_bytes(b, x, 8);
}

void vm_buf_put_varint(vm_buf *b, uint64_t v)
{
    uint8_t x[10];
    size_t n = 0;
    do {
        uint8_t byte = v & 0x7f;
        v >>= 7;
        x[n++] = byte | (v ? 0x80 : 0);
    } while (v);
    vm_buf_put_bytes(b, x, n);
}

void vm_buf_put_svarint(vm_buf *b, int64_t v)
{
    uint64_t u = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
    vm_buf_put_varint(b, u);
}

void vm_buf_put_f64(vm_buf *b, double v)
{
    uint64_t u;
    memcpy(&u, &v, sizeof u);
    vm_buf_put_u64(b, u);
}

void vm_buf_put_str(vm_buf *b, const char *s, size_t n)
{
    vm_buf_put_varint(b, n);
    vm_buf_put_bytes(b, s, n);
}

const uint8_t *vm_read_bytes(vm_reader *r, size_t n)
{
    if (r->err || vm_reader_left(r) < n) {
        r->err = true;
        return NULL;
    }
    const uint8_t *p = r->p;
    r->p += n;
    return p;
}

static uint64_t read_le(vm_reader *r, size_t n)
{
    const uint8_t *p = vm_read_bytes(r, n);
    uint64_t v = 0;
    if (!p)
        return 0;
    for (size_t i = 0; i < n; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

uint8_t vm_read_u8(vm_reader *r) { return (uint8_t)read_le(r, 1); }
uint16_t vm_read_u16(vm_reader *r) { return (uint16_t)read_le(r, 2); }
uint32_t vm_read_u32(vm_reader *r) { return (uint32_t)read_le(r, 4); }
uint64_t vm_read_u64(vm_reader *r) { return read_le(r, 8); }

uint64_t vm_read_varint(vm_reader *r)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (r->err || r->p >= r->end) {
            r->err = true;
            return 0;
        }
        uint8_t byte = *r->p++;
        v |= (uint64_t)(byte & 0x7f) << shift;
        if (!(byte & 0x80))
            return v;
    }
    r->err = true; /* more than 10 bytes: not a varint we wrote */
    return 0;
}

int64_t vm_read_svarint(vm_reader *r)
{
    uint64_t u = vm_read_varint(r);
    return (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
}

double vm_read_f64(vm_reader *r)
{
    uint64_t u = vm_read_u64(r);
    double v;
    memcpy(&v, &u, sizeof v);
    return v;
}

const char *vm_read_str(vm_reader *r, size_t *len)
{
    uint64_t n = vm_read_varint(r);
    if (r->err || n > vm_reader_left(r)) {
        r->err = true;
        *len = 0;
        return NULL;
    }
    *len = (size_t)n;
    return (const char *)vm_read_bytes(r, (size_t)n);
}
