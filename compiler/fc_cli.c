/* fc_cli.c - file reading and loading shared by the flowc commands (and by
 * anything else linking libfc, such as the fuzz targets). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fc_cli.h"
#include "fc_unit.h"

#define MAX_FILE (256u * 1024 * 1024)

bool fc_read_file(const char *path, char **text, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "flowc: cannot read '%s': %s\n", path, strerror(errno));
        return false;
    }
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap + 1);
    while (buf) {
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (n < cap)
            break;
        if (cap >= MAX_FILE) {
            fprintf(stderr, "flowc: cannot read '%s': larger than 256 MB\n", path);
            free(buf);
            fclose(f);
            return false;
        }
        cap *= 2;
        char *bigger = realloc(buf, cap + 1);
        if (!bigger)
            free(buf);
        buf = bigger;
    }
    bool err = ferror(f) || !buf;
    int saved = errno;
    fclose(f);
    if (err) {
        fprintf(stderr, "flowc: cannot read '%s': %s\n", path, buf ? strerror(saved) : "out of memory");
        free(buf);
        return false;
    }
    buf[n] = '\0';
    *text = buf;
    *len = n;
    return true;
}

int fc_load_bytecode(const char *path, vm_buf *out)
{
    char *text;
    size_t len;
    if (!fc_read_file(path, &text, &len))
        return 2;
    if (len >= 4 && memcmp(text, VM_MAGIC, 4) == 0) {
        vm_buf_put_bytes(out, text, len);
        free(text);
        return 0;
    }
    fc_diags *d = fc_diags_new();
    fc_source src = {path, text, len};
    bool ok = fc_compile(&src, d, out);
    fc_diags_write(d, FC_DIAG_TEXT, stderr, isatty(2));
    fc_diags_free(d);
    free(text);
    return ok ? 0 : 1;
}

