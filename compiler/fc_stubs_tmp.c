#include "fc_cli.h"
int fc_cmd_run(int argc, char **argv) { (void)argc; (void)argv; return 2; }
int fc_cmd_disasm(int argc, char **argv) { (void)argc; (void)argv; return 2; }
int fc_cmd_graph(int argc, char **argv) { (void)argc; (void)argv; return 2; }
