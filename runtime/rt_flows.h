/* rt_flows.h - the flows folder: every NAME.flow (compiled at load) and
 * NAME.fbc (bytecode) in it is flow NAME. Files are re-read when they
 * change; new conversations get the newest version while running ones keep
 * the version they started with (old versions stay loaded, and every
 * version is kept in the store so a restarted server still has it). */
#ifndef RT_FLOWS_H
#define RT_FLOWS_H

#include <stdbool.h>
#include <stdint.h>

#include "rt_store.h"
#include "vm.h"

typedef struct rt_flows rt_flows;

/* Loads every flow in `dir`; problems with single files are logged and the
 * file skipped. NULL only when the folder cannot be read. */
rt_flows *rt_flows_open(const char *dir, rt_store *store, char *err, size_t errlen);
void rt_flows_close(rt_flows *f);

/* The newest version of a flow (NULL if none), and its id. */
const vm_program *rt_flows_current(rt_flows *f, const char *name);
/* A version by id: loaded, or read back from the store. */
const vm_program *rt_flows_by_id(rt_flows *f, uint64_t id);
/* Re-reads files whose size or modification time changed. Returns the
 * number of flows (re)loaded. */
int rt_flows_poll(rt_flows *f);
/* Names of the current flows, for listings. */
int rt_flows_names(rt_flows *f, const char **names, int max);

#endif
