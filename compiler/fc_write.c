/* fc_write.c - writes a generated program in the bytecode layout drawn in
 * vm_bytecode.h, field by field. The output depends only on the source text
 * and the file's base name, so the same source gives the same bytes. */
#include <string.h>
#include <zlib.h>

#include "fc_unit.h"

static void put_cstr(vm_buf *b, const char *s) { vm_buf_put_str(b, s, strlen(s)); }

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

static void write_init(vm_buf *b, const fc_var *v)
{
    const fc_expr *e = v->init;
    vm_buf_put_u8(b, e != NULL);
    if (!e)
        return;
    switch (vm_type_base(v->type)) {
    case VM_TYPE_NUMBER:
        vm_buf_put_f64(b, e->kind == FC_EX_NEG ? -e->u.operand->u.number : e->u.number);
        break;
    case VM_TYPE_BOOL: vm_buf_put_u8(b, e->u.boolean); break;
    default: vm_buf_put_str(b, e->text ? e->text : "", e->text_len); break;
    }
}

static void write_tables(const fc_unit *u, const fc_program *p, vm_buf *b)
{
    uint32_t len = 0;
    const char *name = u->flow_decl ? fc_decode_string((fc_arena *)&u->arena, &u->flow_decl->u.flow_name, &len) : "";
    vm_buf_put_str(b, name, len);
    put_cstr(b, base_name(u->file.src.path));
    vm_buf_put_varint(b, p->nstrings);
    for (uint32_t i = 0; i < p->nstrings; i++)
        vm_buf_put_str(b, p->strings[i], p->string_lens[i]);
    vm_buf_put_varint(b, p->nnumbers);
    for (uint32_t i = 0; i < p->nnumbers; i++)
        vm_buf_put_f64(b, p->numbers[i]);
    vm_buf_put_varint(b, u->nvars);
    for (uint32_t i = 0; i < u->nvars; i++) {
        vm_buf_put_u8(b, (uint8_t)u->vars[i].type);
        vm_buf_put_str(b, u->vars[i].name.id.s, u->vars[i].name.id.len);
        write_init(b, &u->vars[i]);
    }
    vm_buf_put_varint(b, u->nnodes);
    for (uint32_t i = 0; i < u->nnodes; i++) {
        vm_buf_put_str(b, u->nodes[i].name.s, u->nodes[i].name.len);
        vm_buf_put_varint(b, u->nodes[i].entry);
        vm_buf_put_varint(b, u->nodes[i].name.loc.line);
        vm_buf_put_varint(b, fc_char_column(&u->file.src, u->nodes[i].name.loc));
    }
    vm_buf_put_varint(b, p->ntriggers);
    for (uint32_t i = 0; i < p->ntriggers; i++) {
        vm_buf_put_varint(b, p->trigger_str[i]);
        vm_buf_put_varint(b, p->trigger_node[i]);
    }
    vm_buf_put_varint(b, p->entry_pc);
    vm_buf_put_varint(b, p->fallback_pc);
}

static void write_hours(const fc_unit *u, vm_buf *b)
{
    vm_buf_put_u8(b, u->has_tz);
    if (!u->has_tz)
        return;
    vm_tz_encode(&u->tz, b);
    vm_buf_put_varint(b, u->nranges);
    for (uint32_t i = 0; i < u->nranges; i++) {
        vm_buf_put_u8(b, u->ranges[i].day);
        vm_buf_put_u16(b, u->ranges[i].start);
        vm_buf_put_u16(b, u->ranges[i].end);
    }
}

/* The line table asks for the column of many positions on each line, most
 * often in increasing order. While the line up to a position is ASCII, its
 * character column is its byte distance from the line start (exactly what
 * fc_char_column counts); the ASCII prefix found so far is remembered, so a
 * line is scanned once instead of once per entry. Anything else goes to
 * fc_char_column. */
typedef struct column_cache {
    size_t start;     /* line start of the last position asked */
    size_t ascii_end; /* text[start..ascii_end) is all ASCII */
} column_cache;

static uint32_t cached_char_column(column_cache *c, const fc_source *src, fc_loc loc)
{
    size_t off = loc.off, back = loc.col ? (size_t)loc.col - 1 : 0;
    if (!src->text || off >= src->len || back > off)
        return fc_char_column(src, loc);
    size_t start = off - back;
    if (start != c->start || c->ascii_end < start) {
        c->start = start;
        c->ascii_end = start;
    }
    while (c->ascii_end < off && (unsigned char)src->text[c->ascii_end] < 0x80)
        c->ascii_end++;
    if (c->ascii_end < off)
        return fc_char_column(src, loc);
    return (uint32_t)(off - start + 1);
}

static void write_code(const fc_unit *u, const fc_program *p, vm_buf *b)
{
    vm_buf_put_varint(b, p->code.len);
    vm_buf_put_bytes(b, p->code.data, p->code.len);
    vm_buf_put_varint(b, p->nlines);
    uint32_t last_pc = 0, last_line = 0;
    column_cache cols = {0, 0};
    for (uint32_t i = 0; i < p->nlines; i++) {
        const fc_line *l = &p->lines[i];
        vm_buf_put_varint(b, l->pc - last_pc);
        vm_buf_put_svarint(b, (int64_t)l->loc.line - (int64_t)last_line);
        vm_buf_put_varint(b, cached_char_column(&cols, &u->file.src, l->loc));
        last_pc = l->pc;
        last_line = l->loc.line;
    }
}

void fc_write(const fc_unit *u, const fc_program *p, vm_buf *out)
{
    vm_buf payload = {0};
    write_tables(u, p, &payload);
    write_hours(u, &payload);
    write_code(u, p, &payload);
    vm_buf_put_bytes(out, VM_MAGIC, 4);
    vm_buf_put_u16(out, VM_FORMAT_VERSION);
    vm_buf_put_u16(out, 0);
    vm_buf_put_u32(out, (uint32_t)payload.len);
    vm_buf_put_u32(out, (uint32_t)crc32(0L, payload.data, (uInt)payload.len));
    vm_buf_put_bytes(out, payload.data, payload.len);
    if (payload.oom)
        out->oom = true;
    vm_buf_free(&payload);
}
