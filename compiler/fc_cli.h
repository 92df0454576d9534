/* fc_cli.h - pieces of the flowc command line shared by its commands. */
#ifndef FC_CLI_H
#define FC_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "fc_diag.h"
#include "vm_buf.h"

/* Reads a whole file (at most 256 MB). On failure prints
 * "flowc: cannot read 'PATH': REASON" and returns false. */
bool fc_read_file(const char *path, char **text, size_t *len);

/* Compiles FILE.flow, or loads FILE.fbc as it is, into bytecode. Diagnostics
 * of a compile are printed as text to stderr. Returns 0, 1 (errors) or 2
 * (unreadable). */
int fc_load_bytecode(const char *path, vm_buf *out);

/* flowc test / run / disasm / graph (fc_chat.c, fc_run.c, fc_disasm.c). */
int fc_cmd_test(int argc, char **argv);
int fc_cmd_run(int argc, char **argv);
int fc_cmd_disasm(int argc, char **argv);
int fc_cmd_graph(int argc, char **argv);

#endif
