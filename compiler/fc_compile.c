/* fc_compile.c - the whole pipeline for one source (see fc_unit.h). */
#include "fc_unit.h"

bool fc_compile(const fc_source *src, fc_diags *diags, vm_buf *out)
{
    size_t before = fc_diags_errors_in(diags, src->path);
    fc_unit u;
    fc_check_unit(&u, src, diags);
    fc_program prog;
    fc_codegen(&u, &prog);
    fc_flow_check(&u, &prog);
    bool ok = fc_diags_errors_in(diags, src->path) == before;
    if (ok && out)
        fc_write(&u, &prog, out);
    fc_program_free(&prog);
    fc_unit_free(&u);
    return ok;
}
