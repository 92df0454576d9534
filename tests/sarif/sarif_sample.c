/* sarif_sample.c - writes SARIF logs that exercise every corner of
 * fc_diags_write_sarif, for validate.mjs to check against the SARIF schema
 * until `flowc check --diagnostics=sarif` can produce them from real files.
 *
 * usage: sarif_sample full|empty|werror > out.sarif
 */
#include <stdio.h>
#include <string.h>

#include "fc_diag.h"

static const char *text = "flow \"demo\"\n"
                          "node start { say \"hi {name\" ; goto nowhere }\n"
                          "\tnode \xC3\xA9t\xC3\xA9 { set x = \xff }\n";

/* Notes across files, braces and quotes in messages, paths that need
 * percent-encoding, invalid UTF-8, and a file past the per-file limit. */
static void fill(fc_diags *d)
{
    fc_source a = {"examples/my demo.flow", text, strlen(text)};
    fc_source b = {"./other/c:d#1.flow", "var x: text\n", 12};
    fc_source c = {"/abs/path/\xC3\xA9t\xC3\xA9.flow", "x\n", 2};
    fc_diag(d, &a, FC_E_UNKNOWN_NODE, (fc_loc){2, 36, 47}, "unknown node '%s'", "nowhere");
    fc_diag_note(d, &a, (fc_loc){2, 6, 17}, "in node 'start'");
    fc_diag_note(d, &b, (fc_loc){1, 5, 4}, "see \"x\" {here}");
    fc_diag(d, &a, FC_E_INTERP, (fc_loc){2, 22, 33}, "'{' does not start {NAME} or {NAME|DEFAULT}");
    fc_diag(d, &a, FC_E_UTF8, (fc_loc){3, 23, 79}, "invalid UTF-8 byte \xff in \x01 text");
    fc_diag(d, &a, FC_W_UNREACHABLE, (fc_loc){3, 7, 63}, "node '\xC3\xA9t\xC3\xA9' is never reached");
    fc_diag(d, &b, FC_W_UNUSED, (fc_loc){1, 5, 4}, "variable 'x' is never read");
    fc_diag(d, NULL, FC_E_NO_START, (fc_loc){0, 0, 0}, "no node named 'start'");
    for (int i = 0; i < FC_DIAG_MAX_PER_FILE + 5; i++)
        fc_diag(d, &c, FC_E_SYNTAX, (fc_loc){1, 1, 0}, "syntax error %d", i);
}

int main(int argc, char **argv)
{
    const char *kind = argc > 1 ? argv[1] : "full";
    fc_diags *d = fc_diags_new();
    if (!d)
        return 1;
    if (strcmp(kind, "empty") != 0)
        fill(d);
    fc_diags_set_werror(d, strcmp(kind, "werror") == 0);
    fc_diags_write_sarif(d, stdout);
    fc_diags_free(d);
    return 0;
}
