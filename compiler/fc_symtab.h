/* fc_symtab.h - a hash map from byte strings to integers (names of nodes
 * and variables, constant strings of the program). Keys are borrowed: they
 * must outlive the table. */
#ifndef FC_SYMTAB_H
#define FC_SYMTAB_H

#include <stdint.h>
#include <stddef.h>

typedef struct fc_symtab_slot {
    const char *key;
    uint32_t len;
    uint32_t hash;
    int32_t value;
} fc_symtab_slot;

typedef struct fc_symtab {
    fc_symtab_slot *slots;
    uint32_t cap; /* power of two */
    uint32_t count;
} fc_symtab;

void fc_symtab_free(fc_symtab *t);
/* The value stored for key, or -1. */
int32_t fc_symtab_get(const fc_symtab *t, const char *key, size_t len);
/* Stores value for key unless present; returns the value now stored. */
int32_t fc_symtab_put(fc_symtab *t, const char *key, size_t len, int32_t value);

#endif
