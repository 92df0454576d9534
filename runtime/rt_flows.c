/* rt_flows.c - the flows folder (see rt_flows.h). */
#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fc_diag.h"
#include "fc_unit.h"
#include "rt_flows.h"
#include "rt_log.h"

typedef struct version {
    vm_program *prog;
    char name[128];
    struct version *next;
} version;

typedef struct source {
    char name[128];
    char path[1024];
    struct timespec mtime; /* with nanoseconds: an edit within the same second is seen */
    off_t size;
    const vm_program *current;
    struct source *next;
} source;

struct rt_flows {
    char *dir;
    rt_store *store;
    pthread_mutex_t lock;
    version *versions; /* every version ever loaded, kept for running conversations */
    source *sources;
};

static bool read_all(const char *path, uint8_t **data, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return false;
    size_t cap = 4096, n = 0;
    uint8_t *buf = malloc(cap);
    size_t got;
    while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            uint8_t *b = cap < (64u << 20) ? realloc(buf, cap * 2) : NULL;
            if (!b) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = b;
            cap *= 2;
        }
    }
    fclose(f);
    *data = buf;
    *len = n;
    return buf != NULL;
}

/* Bytecode of a .flow (compiled) or .fbc file; diagnostics are logged. */
static bool bytecode_of(const char *path, vm_buf *code)
{
    uint8_t *data;
    size_t len;
    if (!read_all(path, &data, &len)) {
        rt_log("warn", "cannot read flow %s", path);
        return false;
    }
    size_t n = strlen(path);
    bool ok;
    if (n > 4 && strcmp(path + n - 4, ".fbc") == 0) {
        vm_buf_put_bytes(code, data, len);
        ok = true;
    } else {
        fc_diags *d = fc_diags_new();
        fc_source src = {path, (const char *)data, len};
        ok = fc_compile(&src, d, code);
        if (fc_diags_errors(d) || fc_diags_warnings(d))
            fc_diags_write_text(d, stderr, false);
        fc_diags_free(d);
        if (!ok)
            rt_log("warn", "flow %s has errors: not loaded", path);
    }
    free(data);
    return ok;
}

/* Registers a version (unless the same bytecode is already loaded). */
static const vm_program *add_version(rt_flows *f, const char *name, const uint8_t *code, size_t len)
{
    char err[256];
    vm_program *p = vm_program_load(code, len, err, sizeof err);
    if (!p) {
        rt_log("warn", "flow %s refused: %s", name, err);
        return NULL;
    }
    for (version *v = f->versions; v; v = v->next)
        if (vm_program_id(v->prog) == vm_program_id(p)) {
            vm_program_free(p);
            return v->prog;
        }
    version *v = calloc(1, sizeof *v);
    v->prog = p;
    snprintf(v->name, sizeof v->name, "%s", name);
    v->next = f->versions;
    f->versions = v;
    rt_batch *b = rt_batch_new();
    rt_batch_program(b, vm_program_id(p), name, code, len);
    if (!f->store->ops->commit(f->store, b))
        rt_log("warn", "could not store flow %s", name);
    rt_batch_free(b);
    return p;
}

static void load_source(rt_flows *f, source *s)
{
    vm_buf code = {0};
    if (bytecode_of(s->path, &code)) {
        const vm_program *p = add_version(f, s->name, code.data, code.len);
        if (p) {
            if (s->current && s->current != p)
                rt_log("info", "flow %s changed: new conversations use version %016llx", s->name,
                       (unsigned long long)vm_program_id(p));
            s->current = p;
        }
    }
    vm_buf_free(&code);
}

static bool flow_file(const char *file, char *name, size_t cap)
{
    size_t n = strlen(file);
    bool fl = n > 5 && strcmp(file + n - 5, ".flow") == 0, fbc = n > 4 && strcmp(file + n - 4, ".fbc") == 0;
    if (!fl && !fbc)
        return false;
    snprintf(name, cap, "%.*s", (int)(n - (fl ? 5 : 4)), file);
    return true;
}

static source *find_source(rt_flows *f, const char *name)
{
    for (source *s = f->sources; s; s = s->next)
        if (strcmp(s->name, name) == 0)
            return s;
    return NULL;
}

int rt_flows_poll(rt_flows *f)
{
    DIR *d = opendir(f->dir);
    if (!d)
        return 0;
    int changed = 0;
    struct dirent *e;
    pthread_mutex_lock(&f->lock);
    while ((e = readdir(d)) != NULL) {
        char name[128];
        if (e->d_name[0] == '.' || !flow_file(e->d_name, name, sizeof name))
            continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", f->dir, e->d_name);
        struct stat st;
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        source *s = find_source(f, name);
        if (s && strcmp(s->path, path) != 0 && strstr(s->path, ".flow"))
            continue; /* NAME.flow wins over NAME.fbc */
        if (s && s->mtime.tv_sec == st.st_mtim.tv_sec && s->mtime.tv_nsec == st.st_mtim.tv_nsec &&
            s->size == st.st_size)
            continue;
        if (!s) {
            s = calloc(1, sizeof *s);
            snprintf(s->name, sizeof s->name, "%s", name);
            s->next = f->sources;
            f->sources = s;
        }
        snprintf(s->path, sizeof s->path, "%s", path);
        s->mtime = st.st_mtim;
        s->size = st.st_size;
        load_source(f, s);
        changed++;
    }
    pthread_mutex_unlock(&f->lock);
    closedir(d);
    return changed;
}

rt_flows *rt_flows_open(const char *dir, rt_store *store, char *err, size_t errlen)
{
    DIR *d = opendir(dir);
    if (!d) {
        snprintf(err, errlen, "cannot read the flows folder %s", dir);
        return NULL;
    }
    closedir(d);
    rt_flows *f = calloc(1, sizeof *f);
    f->dir = strdup(dir);
    f->store = store;
    pthread_mutex_init(&f->lock, NULL);
    rt_flows_poll(f);
    return f;
}

void rt_flows_close(rt_flows *f)
{
    if (!f)
        return;
    while (f->versions) {
        version *v = f->versions;
        f->versions = v->next;
        vm_program_free(v->prog);
        free(v);
    }
    while (f->sources) {
        source *s = f->sources;
        f->sources = s->next;
        free(s);
    }
    pthread_mutex_destroy(&f->lock);
    free(f->dir);
    free(f);
}

const vm_program *rt_flows_current(rt_flows *f, const char *name)
{
    pthread_mutex_lock(&f->lock);
    source *s = find_source(f, name);
    const vm_program *p = s ? s->current : NULL;
    pthread_mutex_unlock(&f->lock);
    return p;
}

const vm_program *rt_flows_by_id(rt_flows *f, uint64_t id)
{
    pthread_mutex_lock(&f->lock);
    const vm_program *found = NULL;
    for (version *v = f->versions; v && !found; v = v->next)
        if (vm_program_id(v->prog) == id)
            found = v->prog;
    pthread_mutex_unlock(&f->lock);
    if (found)
        return found;
    uint8_t *code;
    size_t len;
    if (!f->store->ops->get_program(f->store, id, &code, &len))
        return NULL;
    pthread_mutex_lock(&f->lock);
    found = add_version(f, "(stored)", code, len);
    pthread_mutex_unlock(&f->lock);
    free(code);
    return found;
}

int rt_flows_names(rt_flows *f, const char **names, int max)
{
    int n = 0;
    pthread_mutex_lock(&f->lock);
    for (source *s = f->sources; s && n < max; s = s->next)
        if (s->current)
            names[n++] = s->name;
    pthread_mutex_unlock(&f->lock);
    return n;
}
