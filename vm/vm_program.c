/* vm_program.c - loading and verifying bytecode (layout in vm_bytecode.h).
 *
 * Everything is checked before anything runs, so the interpreter can trust
 * the code: the header and CRC, every table entry, every operand against its
 * kind, every jump target against the instruction boundaries, and the stack
 * depth on every path (consistent where paths meet, never below zero, never
 * above VM_MAX_STACK, and empty wherever the VM waits or resumes). Any byte
 * string either loads or is refused with a message; none is read out of
 * bounds.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "vm_internal.h"
#include "vm_text.h"

typedef struct loader {
    vm_program *p;
    vm_reader r;
    char *err;
    size_t errlen;
    bool failed;
} loader;

static bool fail(loader *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool fail(loader *l, const char *fmt, ...)
{
    if (!l->failed && l->err && l->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(l->err, l->errlen, fmt, ap);
        va_end(ap);
    }
    l->failed = true;
    return false;
}

/* A count read from the file, refused when the remaining bytes cannot hold
 * that many entries of at least min_size bytes: a damaged count never makes
 * us allocate gigabytes. */
static bool read_count(loader *l, uint32_t *n, size_t min_size, const char *what)
{
    uint64_t v = vm_read_varint(&l->r);
    if (l->r.err || v > vm_reader_left(&l->r) / (min_size ? min_size : 1) || v > UINT32_MAX / 2)
        return fail(l, "bytecode is damaged: bad %s count", what);
    *n = (uint32_t)v;
    return true;
}

static void *alloc_array(loader *l, uint32_t n, size_t size)
{
    void *a = calloc(n ? n : 1, size);
    if (!a)
        fail(l, "out of memory");
    return a;
}

static bool read_text(loader *l, vm_text_ref *t, const char *what)
{
    size_t len;
    const char *s = vm_read_str(&l->r, &len);
    if (!s || len > VM_MAX_TEXT * 16u)
        return fail(l, "bytecode is damaged: bad %s", what);
    t->s = s;
    t->len = (uint32_t)len;
    return true;
}

static bool read_header(loader *l, const uint8_t *bytes, size_t len)
{
    if (len < VM_HEADER_SIZE || memcmp(bytes, VM_MAGIC, 4) != 0)
        return fail(l, "not Flow bytecode (bad magic number)");
    vm_reader h = vm_reader_make(bytes + 4, VM_HEADER_SIZE - 4);
    uint16_t version = vm_read_u16(&h);
    uint16_t reserved = vm_read_u16(&h);
    uint32_t payload = vm_read_u32(&h);
    uint32_t crc = vm_read_u32(&h);
    if (version != VM_FORMAT_VERSION)
        return fail(l, "bytecode format version %u is not supported (this VM reads version %u)", version,
                    VM_FORMAT_VERSION);
    if (reserved != 0)
        return fail(l, "bytecode is damaged: reserved header bytes are not zero");
    if (payload != len - VM_HEADER_SIZE)
        return fail(l, "bytecode is truncated or has trailing bytes (payload %u bytes, file has %zu)", payload,
                    len - VM_HEADER_SIZE);
    if ((uint32_t)crc32(0L, bytes + VM_HEADER_SIZE, payload) != crc)
        return fail(l, "bytecode is damaged: checksum mismatch");
    return true;
}

static bool read_constants(loader *l)
{
    vm_program *p = l->p;
    if (!read_text(l, &p->name, "flow name") || !read_text(l, &p->source, "source name"))
        return false;
    if (!read_count(l, &p->nstrings, 1, "string"))
        return false;
    p->strings = alloc_array(l, p->nstrings, sizeof *p->strings);
    for (uint32_t i = 0; p->strings && i < p->nstrings; i++)
        if (!read_text(l, &p->strings[i], "string constant"))
            return false;
    if (l->failed || !read_count(l, &p->nnumbers, 8, "number"))
        return false;
    p->numbers = alloc_array(l, p->nnumbers, sizeof *p->numbers);
    for (uint32_t i = 0; p->numbers && i < p->nnumbers; i++)
        p->numbers[i] = vm_read_f64(&l->r);
    return !l->failed;
}

static bool read_vars(loader *l)
{
    vm_program *p = l->p;
    if (!read_count(l, &p->nvars, 3, "variable") || p->nvars > VM_MAX_VARS)
        return fail(l, "bytecode is damaged: bad variable count");
    p->vars = alloc_array(l, p->nvars, sizeof *p->vars);
    for (uint32_t i = 0; p->vars && i < p->nvars; i++) {
        vm_var_info *v = &p->vars[i];
        uint8_t type = vm_read_u8(&l->r);
        if (type > VM_TYPE_PHONE)
            return fail(l, "bytecode is damaged: variable %u has unknown type %u", i, type);
        v->type = (vm_type)type;
        if (!read_text(l, &v->name, "variable name"))
            return false;
        v->has_init = vm_read_u8(&l->r) != 0;
        if (!v->has_init)
            continue;
        if (vm_type_base(v->type) == VM_TYPE_NUMBER)
            v->init_number = vm_read_f64(&l->r);
        else if (v->type == VM_TYPE_BOOL)
            v->init_bool = vm_read_u8(&l->r) != 0;
        else if (!read_text(l, &v->init_text, "initial value") || v->init_text.len > VM_MAX_TEXT)
            return fail(l, "bytecode is damaged: bad initial value of variable %u", i);
    }
    return !l->failed && !l->r.err;
}

static bool read_nodes(loader *l)
{
    vm_program *p = l->p;
    if (!read_count(l, &p->nnodes, 4, "node"))
        return false;
    p->nodes = alloc_array(l, p->nnodes, sizeof *p->nodes);
    for (uint32_t i = 0; p->nodes && i < p->nnodes; i++) {
        vm_node_info *n = &p->nodes[i];
        if (!read_text(l, &n->name, "node name"))
            return false;
        n->entry = (uint32_t)vm_read_varint(&l->r);
        n->line = (uint32_t)vm_read_varint(&l->r);
        n->col = (uint32_t)vm_read_varint(&l->r);
    }
    if (l->failed || !read_count(l, &p->ntriggers, 2, "trigger"))
        return false;
    p->triggers = alloc_array(l, p->ntriggers, sizeof *p->triggers);
    for (uint32_t i = 0; p->triggers && i < p->ntriggers; i++) {
        uint64_t w = vm_read_varint(&l->r), n = vm_read_varint(&l->r);
        if (w >= p->nstrings || n >= p->nnodes)
            return fail(l, "bytecode is damaged: trigger %u refers to a missing string or node", i);
        p->triggers[i].word = (uint32_t)w;
        p->triggers[i].node = (uint32_t)n;
    }
    p->entry_pc = (uint32_t)vm_read_varint(&l->r);
    p->fallback_pc = (uint32_t)vm_read_varint(&l->r);
    return !l->failed && !l->r.err;
}

static bool read_hours(loader *l)
{
    vm_program *p = l->p;
    uint8_t present = vm_read_u8(&l->r);
    if (present > 1)
        return fail(l, "bytecode is damaged: bad hours flag");
    if (!present)
        return !l->r.err;
    char err[200];
    if (!vm_tz_decode(&l->r, &p->tz, err, sizeof err))
        return fail(l, "bytecode is damaged: time zone: %s", err);
    p->has_hours = true;
    if (!read_count(l, &p->nranges, 5, "hours range"))
        return false;
    p->ranges = alloc_array(l, p->nranges, sizeof *p->ranges);
    for (uint32_t i = 0; p->ranges && i < p->nranges; i++) {
        vm_range *r = &p->ranges[i];
        r->day = vm_read_u8(&l->r);
        r->start = vm_read_u16(&l->r);
        r->end = vm_read_u16(&l->r);
        if (r->day > 6 || r->start >= r->end || r->end > 1440)
            return fail(l, "bytecode is damaged: bad hours range %u", i);
    }
    return !l->failed && !l->r.err;
}

static bool read_code(loader *l)
{
    vm_program *p = l->p;
    uint64_t len = vm_read_varint(&l->r);
    if (l->r.err || len > vm_reader_left(&l->r) || len > VM_MAX_CODE || len == 0)
        return fail(l, "bytecode is damaged: bad code length");
    p->code = vm_read_bytes(&l->r, (size_t)len);
    p->code_len = (uint32_t)len;
    if (!read_count(l, &p->nlines, 3, "line table"))
        return false;
    p->line_pc = alloc_array(l, p->nlines, sizeof *p->line_pc);
    p->line_no = alloc_array(l, p->nlines, sizeof *p->line_no);
    p->line_col = alloc_array(l, p->nlines, sizeof *p->line_col);
    if (l->failed)
        return false;
    uint64_t pc = 0;
    int64_t line = 0;
    for (uint32_t i = 0; i < p->nlines; i++) {
        pc += vm_read_varint(&l->r);
        line += vm_read_svarint(&l->r);
        uint64_t col = vm_read_varint(&l->r);
        if (l->r.err || pc >= p->code_len || line < 0 || line > UINT32_MAX || col > UINT32_MAX)
            return fail(l, "bytecode is damaged: bad line table entry %u", i);
        p->line_pc[i] = (uint32_t)pc;
        p->line_no[i] = (uint32_t)line;
        p->line_col[i] = (uint32_t)col;
    }
    if (vm_reader_left(&l->r) != 0)
        return fail(l, "bytecode is damaged: %zu unexpected bytes after the line table", vm_reader_left(&l->r));
    return true;
}

/* ---- verifier ----------------------------------------------------------------- */

typedef struct verifier {
    loader *l;
    uint8_t *start;  /* bitmap: an instruction starts here */
    int32_t *depth;  /* stack depth before the instruction, -1 unknown */
    uint32_t *work;
    uint32_t top;
} verifier;

static bool is_start(const verifier *v, uint32_t pc)
{
    return pc < v->l->p->code_len && (v->start[pc / 8] >> (pc % 8) & 1);
}

static bool mark_instructions(verifier *v)
{
    const vm_program *p = v->l->p;
    for (uint32_t pc = 0; pc < p->code_len;) {
        uint8_t op = p->code[pc];
        if (op >= VM_OP_COUNT)
            return fail(v->l, "bytecode is damaged: unknown opcode %u at offset %u", op, pc);
        if (vm_op_size(op) > p->code_len - pc)
            return fail(v->l, "bytecode is damaged: instruction at offset %u runs past the end", pc);
        v->start[pc / 8] |= (uint8_t)(1u << (pc % 8));
        pc += vm_op_size(op);
    }
    return true;
}

static bool check_operand(verifier *v, uint32_t pc, vm_operand_kind kind, uint32_t x)
{
    const vm_program *p = v->l->p;
    bool ok;
    switch (kind) {
    case VM_OPK_JUMP: ok = is_start(v, x); break;
    case VM_OPK_JUMP_OPT: ok = x == VM_NONE || is_start(v, x); break;
    case VM_OPK_STR: ok = x < p->nstrings; break;
    case VM_OPK_STR_OPT: ok = x == VM_NONE || x < p->nstrings; break;
    case VM_OPK_NUM: ok = x < p->nnumbers; break;
    case VM_OPK_VAR: ok = x < p->nvars; break;
    case VM_OPK_FACT: ok = x < VM_FACT_COUNT; break;
    case VM_OPK_BOOL:
    case VM_OPK_KIND: ok = x <= 1; break;
    case VM_OPK_NODE: ok = x < p->nnodes; break;
    case VM_OPK_SECS: ok = x <= 86400; break;
    default: ok = true; break;
    }
    if (!ok)
        return fail(v->l, "bytecode is damaged: operand %u of %s at offset %u is out of range (%s)", x,
                    vm_opinfo_table[p->code[pc]].name, pc, vm_operand_kind_doc[kind]);
    return true;
}

static bool check_operands(verifier *v)
{
    const vm_program *p = v->l->p;
    for (uint32_t pc = 0; pc < p->code_len; pc += vm_op_size(p->code[pc])) {
        const vm_opinfo *in = &vm_opinfo_table[p->code[pc]];
        for (int i = 0; i < in->noperands; i++)
            if (!check_operand(v, pc, in->operands[i], vm_read_operand(p->code, pc, i)))
                return false;
    }
    if (!is_start(v, p->entry_pc) || !is_start(v, p->fallback_pc))
        return fail(v->l, "bytecode is damaged: entry or fallback offset is not an instruction");
    for (uint32_t i = 0; i < p->nnodes; i++)
        if (!is_start(v, p->nodes[i].entry))
            return fail(v->l, "bytecode is damaged: entry of node %u is not an instruction", i);
    return true;
}

/* Records that `pc` is reached with `depth`; paths that meet must agree. */
static bool reach(verifier *v, uint32_t pc, int32_t depth)
{
    if (depth < 0 || depth > VM_MAX_STACK)
        return fail(v->l, "bytecode is damaged: stack depth %d out of range at offset %u", depth, pc);
    if (v->depth[pc] == depth)
        return true;
    if (v->depth[pc] >= 0)
        return fail(v->l, "bytecode is damaged: stack depth %d and %d meet at offset %u", v->depth[pc], depth, pc);
    v->depth[pc] = depth;
    v->work[v->top++] = pc;
    if ((uint32_t)depth > v->l->p->max_stack)
        v->l->p->max_stack = (uint32_t)depth;
    return true;
}

static bool follow(verifier *v, uint32_t pc)
{
    const vm_program *p = v->l->p;
    vm_opcode op = p->code[pc];
    const vm_opinfo *in = &vm_opinfo_table[op];
    int32_t d = v->depth[pc];
    if (d < in->pops)
        return fail(v->l, "bytecode is damaged: %s at offset %u needs %d values, the stack has %d", in->name, pc,
                    in->pops, d);
    int32_t after = d - in->pops + in->pushes;
    uint32_t next = pc + vm_op_size(op);
    bool next_ok = next < p->code_len;
    switch (op) {
    case VM_OP_JUMP: return reach(v, vm_read_operand(p->code, pc, 0), after);
    case VM_OP_JUMP_FALSE:
        return reach(v, vm_read_operand(p->code, pc, 0), after) && (!next_ok || reach(v, next, after)) &&
               (next_ok || fail(v->l, "bytecode is damaged: code falls off the end at %u", pc));
    case VM_OP_OPTION:
        /* the option's code runs after the CHOICE waited: with an empty stack */
        return reach(v, vm_read_operand(p->code, pc, 0), 0) &&
               (next_ok ? reach(v, next, after) : fail(v->l, "bytecode is damaged: code falls off the end"));
    case VM_OP_CHOICE:
    case VM_OP_CHOICE_PROMPT:
    case VM_OP_ASK:
    case VM_OP_HANDOFF:
    case VM_OP_REOFFER:
        if (after != 0)
            return fail(v->l, "bytecode is damaged: %s at offset %u waits with %d values on the stack", in->name, pc,
                        after);
        if (op == VM_OP_ASK && !reach(v, vm_read_operand(p->code, pc, 1), 0))
            return false;
        if (op == VM_OP_HANDOFF && vm_read_operand(p->code, pc, 2) != VM_NONE &&
            !reach(v, vm_read_operand(p->code, pc, 2), 0))
            return false;
        if (op == VM_OP_HANDOFF || op == VM_OP_REOFFER)
            return true;
        return next_ok ? reach(v, next, 0) : fail(v->l, "bytecode is damaged: code falls off the end");
    case VM_OP_END: return true;
    default:
        return next_ok ? reach(v, next, after) : fail(v->l, "bytecode is damaged: code falls off the end at %u", pc);
    }
}

static bool check_stack(verifier *v)
{
    const vm_program *p = v->l->p;
    if (!reach(v, p->entry_pc, 0) || !reach(v, p->fallback_pc, 0))
        return false;
    for (uint32_t i = 0; i < p->ntriggers; i++)
        if (!reach(v, p->nodes[p->triggers[i].node].entry, 0))
            return false;
    while (v->top)
        if (!follow(v, v->work[--v->top]))
            return false;
    return true;
}

static bool verify(loader *l)
{
    vm_program *p = l->p;
    verifier v = {.l = l};
    size_t bits = (p->code_len + 7) / 8;
    v.start = calloc(bits ? bits : 1, 1);
    v.depth = malloc(sizeof *v.depth * p->code_len);
    v.work = malloc(sizeof *v.work * p->code_len);
    p->resumable = calloc(bits ? bits : 1, 1);
    p->reached = calloc(bits ? bits : 1, 1);
    bool ok = v.start && v.depth && v.work && p->resumable && p->reached;
    if (!ok)
        fail(l, "out of memory");
    if (ok) {
        memset(v.depth, 0xff, sizeof *v.depth * p->code_len);
        ok = mark_instructions(&v) && check_operands(&v) && check_stack(&v);
    }
    for (uint32_t pc = 0; ok && pc < p->code_len; pc++) {
        if (is_start(&v, pc) && v.depth[pc] == 0)
            p->resumable[pc / 8] |= (uint8_t)(1u << (pc % 8));
        if (is_start(&v, pc) && v.depth[pc] >= 0)
            p->reached[pc / 8] |= (uint8_t)(1u << (pc % 8));
    }
    free(v.start);
    free(v.depth);
    free(v.work);
    return ok;
}

static char *dup_text(vm_text_ref t)
{
    char *s = malloc(t.len + 1);
    if (s) {
        memcpy(s, t.s, t.len);
        s[t.len] = '\0';
    }
    return s;
}

static uint64_t fnv1a64(const uint8_t *b, size_t n)
{
    uint64_t h = 14695981039346656037ull;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 1099511628211ull;
    }
    return h;
}

vm_program *vm_program_load(const void *bytes, size_t len, char *err, size_t errlen)
{
    if (err && errlen)
        err[0] = '\0';
    vm_program *p = calloc(1, sizeof *p);
    loader l = {.p = p, .err = err, .errlen = errlen};
    if (!p || !(p->blob = malloc(len ? len : 1))) {
        free(p);
        if (err && errlen)
            snprintf(err, errlen, "out of memory");
        return NULL;
    }
    memcpy(p->blob, bytes, len);
    p->blob_len = len;
    bool ok = read_header(&l, p->blob, len);
    if (ok) {
        l.r = vm_reader_make(p->blob + VM_HEADER_SIZE, len - VM_HEADER_SIZE);
        ok = read_constants(&l) && read_vars(&l) && read_nodes(&l) && read_hours(&l) && read_code(&l) && verify(&l);
        /* a field read past the end sets only the reader's err */
        if (!ok && !l.failed)
            fail(&l, "bytecode is damaged: a table is truncated or malformed");
    }
    if (ok) {
        p->id = fnv1a64(p->blob, len);
        p->name_z = dup_text(p->name);
        p->source_z = dup_text(p->source);
        ok = p->name_z && p->source_z;
        if (!ok)
            fail(&l, "out of memory");
    }
    if (!ok) {
        vm_program_free(p);
        return NULL;
    }
    return p;
}

void vm_program_free(vm_program *p)
{
    if (!p)
        return;
    free(p->blob);
    free(p->name_z);
    free(p->source_z);
    free(p->strings);
    free(p->numbers);
    free(p->vars);
    free(p->nodes);
    free(p->triggers);
    if (p->has_hours)
        vm_tz_free(&p->tz);
    free(p->ranges);
    free(p->line_pc);
    free(p->line_no);
    free(p->line_col);
    free(p->resumable);
    free(p->reached);
    free(p);
}

/* ---- accessors ------------------------------------------------------------------- */

uint64_t vm_program_id(const vm_program *p) { return p->id; }
const char *vm_program_name(const vm_program *p) { return p->name_z; }
const char *vm_program_source(const vm_program *p) { return p->source_z; }
uint32_t vm_program_node_count(const vm_program *p) { return p->nnodes; }
uint32_t vm_program_var_count(const vm_program *p) { return p->nvars; }
const vm_tz *vm_program_zone(const vm_program *p) { return p->has_hours ? &p->tz : NULL; }
uint32_t vm_program_string_count(const vm_program *p) { return p->nstrings; }
double vm_program_number(const vm_program *p, uint32_t i) { return i < p->nnumbers ? p->numbers[i] : 0; }
uint32_t vm_program_node_entry(const vm_program *p, uint32_t n) { return n < p->nnodes ? p->nodes[n].entry : 0; }

uint32_t vm_program_number_count(const vm_program *p) { return p->nnumbers; }
uint32_t vm_program_entry(const vm_program *p) { return p->entry_pc; }
uint32_t vm_program_fallback(const vm_program *p) { return p->fallback_pc; }
uint32_t vm_program_trigger_count(const vm_program *p) { return p->ntriggers; }

uint32_t vm_program_trigger_word(const vm_program *p, uint32_t i)
{
    return i < p->ntriggers ? p->triggers[i].word : 0;
}

uint32_t vm_program_trigger_node(const vm_program *p, uint32_t i)
{
    return i < p->ntriggers ? p->triggers[i].node : 0;
}

uint32_t vm_program_hours_count(const vm_program *p) { return p->has_hours ? p->nranges : 0; }

void vm_program_hours_range(const vm_program *p, uint32_t i, int *day, int *start, int *end)
{
    vm_range none = {0, 0, 0};
    const vm_range *r = i < vm_program_hours_count(p) ? &p->ranges[i] : &none;
    *day = r->day;
    *start = r->start;
    *end = r->end;
}

bool vm_program_var_init(const vm_program *p, uint32_t var, char *numbuf, vm_text_ref *out)
{
    if (var >= p->nvars || !p->vars[var].has_init)
        return false;
    const vm_var_info *v = &p->vars[var];
    switch (vm_type_base(v->type)) {
    case VM_TYPE_NUMBER:
        out->len = (uint32_t)vm_text_format_number(v->init_number, numbuf);
        out->s = numbuf;
        break;
    case VM_TYPE_BOOL: out->s = v->init_bool ? "true" : "false"; out->len = v->init_bool ? 4 : 5; break;
    default: *out = v->init_text; break;
    }
    return true;
}

vm_text_ref vm_program_node_name(const vm_program *p, uint32_t node)
{
    vm_text_ref none = {"?", 1};
    return node < p->nnodes ? p->nodes[node].name : none;
}

vm_text_ref vm_program_var_name(const vm_program *p, uint32_t var)
{
    vm_text_ref none = {"?", 1};
    return var < p->nvars ? p->vars[var].name : none;
}

vm_type vm_program_var_type(const vm_program *p, uint32_t var) { return var < p->nvars ? p->vars[var].type : VM_TYPE_TEXT; }

const uint8_t *vm_program_code(const vm_program *p, uint32_t *len)
{
    *len = p->code_len;
    return p->code;
}

const char *vm_program_string(const vm_program *p, uint32_t i, uint32_t *len)
{
    if (i >= p->nstrings) {
        *len = 0;
        return "";
    }
    *len = p->strings[i].len;
    return p->strings[i].s;
}

void vm_program_position(const vm_program *p, uint32_t pc, uint32_t *line, uint32_t *col)
{
    size_t lo = 0, hi = p->nlines;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (p->line_pc[mid] <= pc)
            lo = mid + 1;
        else
            hi = mid;
    }
    *line = lo ? p->line_no[lo - 1] : 0;
    *col = lo ? p->line_col[lo - 1] : 0;
}

bool vm_program_open_at(const vm_program *p, int64_t utc)
{
    if (!p->has_hours)
        return true;
    vm_civil c;
    vm_tz_local(&p->tz, utc, &c);
    int minute = c.hour * 60 + c.minute;
    for (uint32_t i = 0; i < p->nranges; i++)
        if (p->ranges[i].day == c.weekday && p->ranges[i].start <= minute && minute < p->ranges[i].end)
            return true;
    return false;
}
