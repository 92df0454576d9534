/* fc_symtab.c - open-addressing hash map (see fc_symtab.h). */
#include "fc_symtab.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint32_t hash_bytes(const char *s, size_t n)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 16777619u;
    }
    return h;
}

void fc_symtab_free(fc_symtab *t)
{
    free(t->slots);
    memset(t, 0, sizeof *t);
}

static fc_symtab_slot *find(const fc_symtab *t, const char *key, size_t len, uint32_t h)
{
    uint32_t mask = t->cap - 1;
    for (uint32_t i = h & mask;; i = (i + 1) & mask) {
        fc_symtab_slot *s = &t->slots[i];
        if (!s->key || (s->hash == h && s->len == len && memcmp(s->key, key, len) == 0))
            return s;
    }
}

static void grow(fc_symtab *t)
{
    fc_symtab old = *t;
    t->cap = old.cap ? old.cap * 2 : 64;
    t->slots = calloc(t->cap, sizeof *t->slots);
    if (!t->slots) {
        fputs("flowc: out of memory\n", stderr);
        abort();
    }
    for (uint32_t i = 0; i < old.cap; i++)
        if (old.slots[i].key)
            *find(t, old.slots[i].key, old.slots[i].len, old.slots[i].hash) = old.slots[i];
    free(old.slots);
}

int32_t fc_symtab_get(const fc_symtab *t, const char *key, size_t len)
{
    if (!t->cap)
        return -1;
    fc_symtab_slot *s = find(t, key, len, hash_bytes(key, len));
    return s->key ? s->value : -1;
}

int32_t fc_symtab_put(fc_symtab *t, const char *key, size_t len, int32_t value)
{
    if ((t->count + 1) * 2 > t->cap)
        grow(t);
    uint32_t h = hash_bytes(key, len);
    fc_symtab_slot *s = find(t, key, len, h);
    if (s->key)
        return s->value;
    s->key = key ? key : "";
    s->len = (uint32_t)len;
    s->hash = h;
    s->value = value;
    t->count++;
    return value;
}
