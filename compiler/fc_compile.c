/* fc_compile.c - the whole pipeline for one source (see fc_unit.h). */
#include "fc_unit.h"

bool fc_compile(const fc_source *src, fc_diags *diags, vm_buf *out)
{
    size_t before = fc_diags_errors_in(diags, src->path);
    fc_unit u;
    fc_check_unit(&u, src, diags);
    if (u.file.truncated) {
        fc_unit_free(&u);
        return false;
    }
    fc_program prog;
    fc_codegen(&u, &prog);
    fc_flow_check(&u, &prog);
    if (prog.code.len > VM_MAX_CODE || u.nvars > VM_MAX_VARS || prog.code.oom)
        fc_diag(diags, &u.file.src, FC_E_LIMIT, (fc_loc){1, 1, 0},
                "the program is too large for the bytecode format (%zu bytes of code, %u variables)", prog.code.len,
                u.nvars);
    bool ok = fc_diags_errors_in(diags, src->path) == before;
    if (ok && out)
        fc_write(&u, &prog, out);
    fc_program_free(&prog);
    fc_unit_free(&u);
    return ok;
}
