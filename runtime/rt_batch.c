/* rt_batch.c - batches of store writes (see rt_store.h). Each operation and
 * the strings it holds live in one allocation, freed with the batch. */
#include <stdlib.h>
#include <string.h>

#include "rt_store.h"

struct rt_batch {
    rt_op *head, *tail;
};

rt_batch *rt_batch_new(void) { return calloc(1, sizeof(rt_batch)); }

void rt_batch_free(rt_batch *b)
{
    if (!b)
        return;
    rt_op *op = b->head;
    while (op) {
        rt_op *next = op->next;
        free(op);
        op = next;
    }
    free(b);
}

const rt_op *rt_batch_ops(const rt_batch *b) { return b->head; }
bool rt_batch_empty(const rt_batch *b) { return b->head == NULL; }

/* An op with `extra` bytes after it for copied strings and blobs. */
static rt_op *add(rt_batch *b, rt_op_kind kind, size_t extra)
{
    rt_op *op = calloc(1, sizeof *op + extra);
    if (!op)
        abort(); /* flowd cannot go on without memory for a commit */
    op->kind = kind;
    if (b->tail)
        b->tail->next = op;
    else
        b->head = op;
    b->tail = op;
    return op;
}

static const char *copy_into(char **cursor, const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    char *dst = *cursor;
    memcpy(dst, s, n);
    *cursor += n;
    return dst;
}

static size_t size_of(const char *s) { return s ? strlen(s) + 1 : 0; }

void rt_batch_conversation(rt_batch *b, const rt_conv_rec *c)
{
    rt_op *op = add(b, RT_OP_CONV, sizeof *c);
    rt_conv_rec *copy = (rt_conv_rec *)(op + 1);
    *copy = *c;
    op->conv = copy;
}

void rt_batch_message(rt_batch *b, const rt_msg_rec *m)
{
    rt_op *op = add(b, RT_OP_MSG, size_of(m->sender) + size_of(m->kind) + size_of(m->body) + size_of(m->client_id));
    char *cur = (char *)(op + 1);
    op->msg = *m;
    op->msg.sender = copy_into(&cur, m->sender);
    op->msg.kind = copy_into(&cur, m->kind);
    op->msg.body = copy_into(&cur, m->body);
    op->msg.client_id = copy_into(&cur, m->client_id);
}

void rt_batch_state(rt_batch *b, int64_t conversation, const void *bytes, size_t len)
{
    rt_op *op = add(b, RT_OP_STATE, len);
    op->conversation = conversation;
    memcpy(op + 1, bytes, len);
    op->bytes = op + 1;
    op->len = len;
}

void rt_batch_timer(rt_batch *b, int64_t conversation, int64_t due)
{
    rt_op *op = add(b, RT_OP_TIMER, 0);
    op->conversation = conversation;
    op->at = due;
}

void rt_batch_lead(rt_batch *b, int64_t conversation, bool deal, const char *fields_json, int64_t at,
                   const char *source)
{
    rt_op *op = add(b, RT_OP_LEAD, size_of(fields_json) + size_of(source));
    char *cur = (char *)(op + 1);
    op->conversation = conversation;
    op->deal = deal;
    op->text = copy_into(&cur, fields_json);
    op->name = copy_into(&cur, source);
    op->at = at;
}

void rt_batch_counter(rt_batch *b, const char *channel, const char *day, const char *name, int64_t delta)
{
    rt_op *op = add(b, RT_OP_COUNTER, size_of(channel) + size_of(name) + size_of(day));
    char *cur = (char *)(op + 1);
    op->text = copy_into(&cur, channel);
    op->name = copy_into(&cur, name);
    op->key = copy_into(&cur, day);
    op->number = delta;
}

void rt_batch_record(rt_batch *b, const char *kind, const char *key, const char *json)
{
    rt_op *op = add(b, RT_OP_RECORD, size_of(kind) + size_of(key) + size_of(json));
    char *cur = (char *)(op + 1);
    op->name = copy_into(&cur, kind);
    op->key = copy_into(&cur, key);
    op->text = copy_into(&cur, json);
}

void rt_batch_program(rt_batch *b, uint64_t id, const char *flow, const void *code, size_t len)
{
    rt_op *op = add(b, RT_OP_PROGRAM, size_of(flow) + len);
    char *cur = (char *)(op + 1);
    op->number = (int64_t)id;
    op->name = copy_into(&cur, flow);
    memcpy(cur, code, len);
    op->bytes = cur;
    op->len = len;
}
