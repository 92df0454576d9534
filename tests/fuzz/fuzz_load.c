/* fuzz_load.c - libFuzzer target: any bytes as bytecode.
 *
 * vm_program_load must load or refuse every byte string without crashing or
 * reading out of bounds; whatever it loads must run without crashing (the
 * VM runs bytecode no compiler checked), and every state of a conversation
 * must survive vm_state_save / vm_state_load; `flowc disasm` must print it.
 *
 * Input layouts:
 *
 *   0xFF K DRIVER[K] PROGRAM   PROGRAM gets its payload length and CRC-32
 *                              fixed up before loading, so that mutations of
 *                              the tables and the code get past the checksum;
 *                              DRIVER (K <= 64 bytes) drives the conversation.
 *   anything else              the whole input is the bytecode file as is (the
 *                              header and checksum checks); the conversation
 *                              is driven by bytes derived from a hash of it.
 *
 * DRIVER[0] sets the scene (agents online, visitor facts, the clock); each
 * later byte is one step: (b & 7) picks the kind (0 text, 1 click, 2 taken,
 * 3 timeout, 4 a button's label typed, 5 a new conversation, 6 the state
 * saved, one byte changed and loaded, 7 a long text), (b >> 3) the argument.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fc_cli.h"
#include "fuzz_common.h"

#define MAX_DRIVER 64

/* `flowc disasm` reads a file: each loaded program is written here first. */
static char fbc_path[256];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(fbc_path, sizeof fbc_path, "%s/fuzz_load.%ld.fbc", dir, (long)getpid());
    /* the disassembly goes to stdout; libFuzzer reports on stderr */
    if (!freopen("/dev/null", "w", stdout))
        fuzz_die("cannot send stdout to /dev/null");
    return 0;
}

/* flowc disasm of bytes the loader accepted. */
static void disassemble(const uint8_t *bytes, size_t n)
{
    FILE *f = fopen(fbc_path, "wb");
    if (!f)
        return;
    bool ok = fwrite(bytes, 1, n, f) == n;
    if (fclose(f) != 0 || !ok)
        return;
    char *argv[] = {fbc_path, NULL};
    if (fc_cmd_disasm(1, argv) != 0)
        fuzz_die("flowc disasm failed on bytecode that vm_program_load accepted");
    unlink(fbc_path);
}

static const char *const texts[] = {
    "hello", "", "human", "an agent please", "ann@example.com", "+48 600 700 800", "42", " 1,5 ",
    "yes", "  YES  ", "\xff\xfe\x80", "No, thanks", "operator", "x@y", "-0", "99999999999999999999999",
    "Pricing", "Book a demo", "Talk to a person", "Yes", "a\tb\r\n", "not-an-email@", "(0) 123-4567", "2 500",
};

static const int64_t instants[] = {
    FUZZ_MONDAY_NOON,                    /* Monday 12:00 UTC */
    FUZZ_MONDAY_NOON + 5 * 86400,        /* Saturday */
    FUZZ_MONDAY_NOON + 6 * 86400 + 43000, /* Sunday night */
    0,
    -1,
    INT64_MIN,
    INT64_MAX,
    INT64_C(4102444800), /* 2100 */
};

static uint64_t splitmix(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static vm_state *after_step(const vm_program *p, vm_state *s)
{
    fuzz_poke_state(p, s);
    return fuzz_roundtrip(p, s);
}

static vm_state *restart(const vm_program *p, vm_state *s, const vm_host *h)
{
    vm_state_free(s);
    s = vm_state_new(p);
    if (s)
        vm_start(s, h);
    return s;
}

/* Types the label of button i (upper-cased, with spaces around it). */
static void type_label(vm_state *s, const vm_host *h, uint32_t i)
{
    vm_text_ref b[VM_MAX_BUTTONS];
    uint32_t n = vm_state_buttons(s, b, VM_MAX_BUTTONS);
    if (n == 0)
        return;
    vm_text_ref l = b[i % n];
    char buf[300];
    uint32_t len = l.len < 256 ? l.len : 256;
    buf[0] = ' ';
    for (uint32_t k = 0; k < len; k++)
        buf[k + 1] = (l.s[k] >= 'a' && l.s[k] <= 'z') ? (char)(l.s[k] - 32) : l.s[k];
    buf[len + 1] = '\t';
    vm_send_text(s, h, buf, len + 2);
}

/* The state saved, one byte changed (and the CRC made right again), loaded
 * back: refused, or restored and safe to go on with. */
static void damaged_state(const vm_program *p, const vm_state *s, const vm_host *h, uint8_t arg)
{
    vm_buf b = {0};
    if (!vm_state_save(s, &b) || b.len < 5)
        fuzz_die("vm_state_save failed");
    size_t at = (size_t)arg * 7 % (b.len - 4);
    b.data[at] ^= (uint8_t)(1u << (arg % 8)) | (arg >= 16 ? 0x80 : 0);
    fuzz_fix_state(b.data, b.len);
    char err[256];
    err[0] = '\0';
    vm_state *t = vm_state_load(p, b.data, b.len, err, sizeof err);
    vm_buf_free(&b);
    if (!t) {
        if (!err[0])
            fuzz_die("vm_state_load refused without a message");
        return;
    }
    fuzz_poke_state(p, t);
    vm_send_text(t, h, "hello", 5);
    vm_click(t, h, 0);
    vm_timeout(t, h);
    vm_start(t, h);
    t = fuzz_roundtrip(p, t);
    vm_state_free(t);
}

static void converse(const vm_program *p, const uint8_t *d, size_t n)
{
    uint8_t scene = n ? d[0] : 0;
    fuzz_host fh;
    fuzz_host_init(&fh, p, instants[(scene >> 3) % 8], scene & 3, scene & 4);
    const vm_host *h = &fh.host;
    vm_state *s = vm_state_new(p);
    if (!s)
        return;
    vm_start(s, h);
    s = after_step(p, s);
    static char longtext[32 * 40]; /* arg (0-31) x 40 bytes */
    if (!longtext[0])
        memset(longtext, 'a', sizeof longtext);
    for (size_t i = 1; i < n && s; i++) {
        uint8_t b = d[i], arg = b >> 3;
        switch (b & 7) {
        case 0: vm_send_text(s, h, texts[arg % (sizeof texts / sizeof texts[0])], strlen(texts[arg % (sizeof texts / sizeof texts[0])])); break;
        case 1: vm_click(s, h, arg); break;
        case 2: vm_taken(s, h); break;
        case 3: vm_timeout(s, h); break;
        case 4: type_label(s, h, arg); break;
        case 5: s = restart(p, s, h); break;
        case 6: damaged_state(p, s, h, arg); break;
        default: vm_send_text(s, h, longtext, (size_t)arg * 40); break;
        }
        if (s)
            s = after_step(p, s);
    }
    vm_state_free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t driver[MAX_DRIVER];
    size_t ndriver;
    uint8_t *prog;
    size_t nprog;
    if (size >= 2 && data[0] == 0xFF) {
        ndriver = data[1] < MAX_DRIVER ? data[1] : MAX_DRIVER;
        if (ndriver > size - 2)
            ndriver = size - 2;
        memcpy(driver, data + 2, ndriver);
        nprog = size - 2 - ndriver;
        prog = malloc(nprog ? nprog : 1);
        if (!prog)
            return 0;
        if (nprog)
            memcpy(prog, data + 2 + ndriver, nprog);
        fuzz_fix_program(prog, nprog, true);
    } else {
        uint64_t x = 14695981039346656037ull;
        for (size_t i = 0; i < size; i++)
            x = (x ^ data[i]) * 1099511628211ull;
        ndriver = 12;
        for (size_t i = 0; i < ndriver; i++)
            driver[i] = (uint8_t)splitmix(&x);
        nprog = size;
        prog = malloc(size ? size : 1);
        if (!prog)
            return 0;
        if (size)
            memcpy(prog, data, size);
    }
    char err[256];
    vm_program *p = vm_program_load(prog, nprog, err, sizeof err);
    if (p)
        disassemble(prog, nprog);
    /* "Copies the bytes: the caller may free them." */
    free(prog);
    if (!p) {
        if (!err[0] || !memchr(err, '\0', sizeof err))
            fuzz_die("vm_program_load refused without a message");
        return 0;
    }
    fuzz_poke_program(p);
    converse(p, driver, ndriver);
    vm_program_free(p);
    return 0;
}
