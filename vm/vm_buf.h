/* vm_buf.h - growable byte buffer and bounded little-endian reader.
 *
 * Every on-disk or on-the-wire format of the VM (bytecode, saved states,
 * time-zone rules) is written field by field through vm_buf and read back
 * through vm_reader; no struct is ever dumped raw. A reader never reads past
 * its end: a short or damaged input sets `err` and yields zeros, so decoders
 * check `err` once at the end instead of after every field.
 */
#ifndef VM_BUF_H
#define VM_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct vm_buf {
    uint8_t *data;
    size_t len;
    size_t cap;
    bool oom; /* an allocation failed; the buffer content is incomplete */
} vm_buf;

/* Makes room for `extra` more bytes; false (and oom set) when out of memory. */
bool vm_buf_reserve(vm_buf *b, size_t extra);
void vm_buf_free(vm_buf *b);
void vm_buf_put_bytes(vm_buf *b, const void *p, size_t n);
void vm_buf_put_u8(vm_buf *b, uint8_t v);
void vm_buf_put_u16(vm_buf *b, uint16_t v);
void vm_buf_put_u32(vm_buf *b, uint32_t v);
void vm_buf_put_u64(vm_buf *b, uint64_t v);
/* Unsigned LEB128: 7 bits a byte, low bits first. */
void vm_buf_put_varint(vm_buf *b, uint64_t v);
/* Zig-zag then LEB128, for signed values. */
void vm_buf_put_svarint(vm_buf *b, int64_t v);
void vm_buf_put_f64(vm_buf *b, double v);
/* A varint length followed by the bytes. */
void vm_buf_put_str(vm_buf *b, const char *s, size_t n);

typedef struct vm_reader {
    const uint8_t *p;
    const uint8_t *end;
    bool err; /* read past the end or malformed field */
} vm_reader;

static inline vm_reader vm_reader_make(const void *p, size_t n)
{
    vm_reader r = {(const uint8_t *)p, (const uint8_t *)p + n, false};
    return r;
}

static inline size_t vm_reader_left(const vm_reader *r) { return (size_t)(r->end - r->p); }

uint8_t vm_read_u8(vm_reader *r);
uint16_t vm_read_u16(vm_reader *r);
uint32_t vm_read_u32(vm_reader *r);
uint64_t vm_read_u64(vm_reader *r);
uint64_t vm_read_varint(vm_reader *r);
int64_t vm_read_svarint(vm_reader *r);
double vm_read_f64(vm_reader *r);
/* Returns a pointer into the input (not copied) and its length; NULL on error. */
const uint8_t *vm_read_bytes(vm_reader *r, size_t n);
const char *vm_read_str(vm_reader *r, size_t *len);

#endif
