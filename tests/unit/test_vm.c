/* test_vm.c - the VM through its public header: loading and verifying,
 * running, the step limit, saved states, business hours across DST. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include <cmocka.h>

#include "fc_unit.h"
#include "vm.h"

/* ---- helpers ------------------------------------------------------------------------ */

static vm_program *compile(const char *text)
{
    fc_diags *d = fc_diags_new();
    fc_source src = {"t.flow", text, strlen(text)};
    vm_buf code = {0};
    bool ok = fc_compile(&src, d, &code);
    if (!ok)
        fc_diags_write_text(d, stderr, false);
    fc_diags_free(d);
    assert_true(ok);
    char err[256];
    vm_program *p = vm_program_load(code.data, code.len, err, sizeof err);
    if (!p)
        fprintf(stderr, "load: %s\n", err);
    vm_buf_free(&code);
    assert_non_null(p);
    return p;
}

typedef struct outputs {
    char lines[64][256];
    int n;
    vm_outcome outcome;
} outputs;

static void collect(void *ctx, const vm_event *ev)
{
    outputs *o = ctx;
    if (o->n == 64)
        return;
    switch (ev->kind) {
    case VM_EV_SAY: snprintf(o->lines[o->n++], 256, "bot: %.*s", (int)ev->text.len, ev->text.s); break;
    case VM_EV_END:
        o->outcome = ev->outcome;
        snprintf(o->lines[o->n++], 256, "end: %s", vm_outcome_name(ev->outcome));
        break;
    default: break;
    }
}

static int64_t fixed_now;
static int64_t clock_now(void *ctx)
{
    (void)ctx;
    return fixed_now;
}

/* A hand-made program: one string "x", no variables, one node at 0, the
 * given code; entry and fallback at 0. Lets tests feed the loader and the
 * VM bytecode no compiler would write. */
static void raw_program(vm_buf *out, const uint8_t *code, size_t len, uint32_t fallback)
{
    vm_buf p = {0};
    vm_buf_put_str(&p, "raw", 3);
    vm_buf_put_str(&p, "raw.flow", 8);
    vm_buf_put_varint(&p, 1);
    vm_buf_put_str(&p, "x", 1);
    vm_buf_put_varint(&p, 0); /* numbers */
    vm_buf_put_varint(&p, 0); /* vars */
    vm_buf_put_varint(&p, 1); /* nodes */
    vm_buf_put_str(&p, "start", 5);
    vm_buf_put_varint(&p, 0);
    vm_buf_put_varint(&p, 1);
    vm_buf_put_varint(&p, 1);
    vm_buf_put_varint(&p, 0); /* triggers */
    vm_buf_put_varint(&p, 0);
    vm_buf_put_varint(&p, fallback);
    vm_buf_put_u8(&p, 0); /* no hours */
    vm_buf_put_varint(&p, len);
    vm_buf_put_bytes(&p, code, len);
    vm_buf_put_varint(&p, 0); /* lines */
    vm_buf_put_bytes(out, VM_MAGIC, 4);
    vm_buf_put_u16(out, VM_FORMAT_VERSION);
    vm_buf_put_u16(out, 0);
    vm_buf_put_u32(out, (uint32_t)p.len);
    vm_buf_put_u32(out, (uint32_t)crc32(0L, p.data, (uInt)p.len));
    vm_buf_put_bytes(out, p.data, p.len);
    vm_buf_free(&p);
}

static vm_program *load_raw(const uint8_t *code, size_t len, char *err, size_t errlen)
{
    vm_buf b = {0};
    raw_program(&b, code, len, 0);
    vm_program *p = vm_program_load(b.data, b.len, err, errlen);
    vm_buf_free(&b);
    return p;
}

/* ---- loader and verifier ------------------------------------------------------------------ */

static void test_refuses_bad_headers(void **state)
{
    (void)state;
    char err[256];
    assert_null(vm_program_load("nope", 4, err, sizeof err));
    assert_non_null(strstr(err, "magic"));
    vm_buf b = {0};
    uint8_t end = VM_OP_END;
    raw_program(&b, &end, 1, 0);
    b.data[b.len - 1] ^= 1; /* damage the payload: the CRC no longer matches */
    assert_null(vm_program_load(b.data, b.len, err, sizeof err));
    assert_non_null(strstr(err, "checksum"));
    assert_null(vm_program_load(b.data, b.len - 3, err, sizeof err));
    assert_non_null(strstr(err, "truncated"));
    vm_buf_free(&b);
}

static void test_verifier_refuses_bad_code(void **state)
{
    (void)state;
    char err[256];
    uint8_t jump_out[] = {VM_OP_JUMP, 99, 0, 0, 0};
    assert_null(load_raw(jump_out, sizeof jump_out, err, sizeof err));
    assert_non_null(strstr(err, "out of range"));
    uint8_t underflow[] = {VM_OP_SAY, VM_OP_END};
    assert_null(load_raw(underflow, sizeof underflow, err, sizeof err));
    assert_non_null(strstr(err, "needs 1 values"));
    uint8_t bad_op[] = {200};
    assert_null(load_raw(bad_op, sizeof bad_op, err, sizeof err));
    assert_non_null(strstr(err, "unknown opcode"));
    uint8_t into_operand[] = {VM_OP_JUMP, 2, 0, 0, 0, VM_OP_END};
    assert_null(load_raw(into_operand, sizeof into_operand, err, sizeof err));
    /* two paths meeting with different stack depths */
    uint8_t uneven[] = {VM_OP_PUSH_BOOL, 1, 0, 0, 0, VM_OP_JUMP_FALSE, 15, 0, 0, 0, VM_OP_PUSH_STR, 0, 0, 0, 0, VM_OP_END};
    assert_null(load_raw(uneven, sizeof uneven, err, sizeof err));
    assert_non_null(strstr(err, "meet"));
    uint8_t bad_string[] = {VM_OP_PUSH_STR, 7, 0, 0, 0, VM_OP_SAY, VM_OP_END};
    assert_null(load_raw(bad_string, sizeof bad_string, err, sizeof err));
    uint8_t wait_with_stack[] = {VM_OP_PUSH_STR, 0, 0, 0, 0, VM_OP_PUSH_STR, 0, 0, 0, 0, VM_OP_CHOICE_PROMPT, VM_OP_END};
    assert_null(load_raw(wait_with_stack, sizeof wait_with_stack, err, sizeof err));
    assert_non_null(strstr(err, "waits"));
}

/* ---- running ---------------------------------------------------------------------------- */

static void test_step_limit_ends_with_error(void **state)
{
    (void)state;
    char err[256];
    uint8_t forever[] = {VM_OP_JUMP, 0, 0, 0, 0}; /* a loop no compiler would accept */
    vm_program *p = load_raw(forever, sizeof forever, err, sizeof err);
    assert_non_null(p);
    vm_state *s = vm_state_new(p);
    outputs o = {0};
    vm_host h = {&o, collect, clock_now, NULL, NULL};
    assert_int_equal(vm_start(s, &h), VM_OK);
    assert_int_equal(vm_state_wait(s), VM_WAIT_ENDED);
    assert_int_equal(o.outcome, VM_OUTCOME_ERROR);
    assert_true(vm_state_last_steps(s) > VM_STEP_LIMIT);
    assert_int_equal(vm_send_text(s, &h, "hi", 2), VM_ERR_ENDED);
    vm_state_free(s);
    vm_program_free(p);
}

static void test_runtime_type_error_ends_with_error(void **state)
{
    (void)state;
    char err[256];
    /* SAY of a bool: verified (depths are fine) but wrong at run time */
    uint8_t code[] = {VM_OP_PUSH_BOOL, 1, 0, 0, 0, VM_OP_SAY, VM_OP_END};
    vm_program *p = load_raw(code, sizeof code, err, sizeof err);
    assert_non_null(p);
    vm_state *s = vm_state_new(p);
    outputs o = {0};
    vm_host h = {&o, collect, clock_now, NULL, NULL};
    vm_start(s, &h);
    assert_int_equal(o.outcome, VM_OUTCOME_ERROR);
    vm_state_free(s);
    vm_program_free(p);
}

static const char *const shop = "flow \"Shop\"\n"
                                "var n: number\n"
                                "var who: text = \"you\"\n"
                                "node start {\n"
                                "  choice \"Pick\" {\n    \"A\" { set n = n + 1; say \"A {n} {who}\" }\n    \"B\" -> b\n  }\n"
                                "  goto start2\n"
                                "}\n"
                                "node start2 { ask who \"Name?\"; say \"Hi {who}\"; goto start }\n"
                                "node b { handoff \"sales\" { wait 30s } }\n";

static void test_inputs_and_statuses(void **state)
{
    (void)state;
    vm_program *p = compile(shop);
    vm_state *s = vm_state_new(p);
    outputs o = {0};
    vm_host h = {&o, collect, clock_now, NULL, NULL};
    assert_int_equal(vm_send_text(s, &h, "x", 1), VM_ERR_NOT_STARTED);
    assert_int_equal(vm_start(s, &h), VM_OK);
    assert_int_equal(vm_start(s, &h), VM_ERR_STARTED);
    assert_int_equal(vm_state_wait(s), VM_WAIT_CHOICE);
    assert_int_equal(vm_click(s, &h, 5), VM_ERR_NO_BUTTON);
    assert_int_equal(vm_taken(s, &h), VM_ERR_NO_HANDOFF);
    assert_int_equal(vm_click(s, &h, 0), VM_OK);
    assert_string_equal(o.lines[o.n - 2], "bot: A 1 you");
    assert_int_equal(vm_state_wait(s), VM_WAIT_ASK);
    assert_int_equal(vm_click(s, &h, 0), VM_ERR_NO_CHOICE);
    assert_int_equal(vm_send_text(s, &h, "  Ann  ", 7), VM_OK);
    assert_string_equal(o.lines[o.n - 2], "bot: Hi Ann");
    /* no agents online: the handoff goes straight to "missed" */
    assert_int_equal(vm_click(s, &h, 1), VM_OK);
    assert_int_equal(o.outcome, VM_OUTCOME_MISSED);
    vm_state_free(s);
    vm_program_free(p);
}

/* ---- saved states ------------------------------------------------------------------------------ */

static void test_state_roundtrip_and_refusals(void **state)
{
    (void)state;
    vm_program *p = compile(shop);
    vm_program *other = compile("flow \"Other\"\nnode start { choice { \"A\" -> start } }\n");
    vm_state *s = vm_state_new(p);
    outputs o = {0};
    vm_host h = {&o, collect, clock_now, NULL, NULL};
    vm_start(s, &h);
    vm_click(s, &h, 0);
    vm_buf saved = {0};
    assert_true(vm_state_save(s, &saved));
    assert_true(saved.len < 64); /* fixed part and two variables */
    char err[256];
    vm_state *back = vm_state_load(p, saved.data, saved.len, err, sizeof err);
    assert_non_null(back);
    vm_buf again = {0};
    assert_true(vm_state_save(back, &again));
    assert_int_equal(again.len, saved.len);
    assert_memory_equal(again.data, saved.data, saved.len);
    assert_null(vm_state_load(other, saved.data, saved.len, err, sizeof err));
    assert_non_null(strstr(err, "another program"));
    for (size_t cut = 0; cut < saved.len; cut++)
        assert_null(vm_state_load(p, saved.data, cut, err, sizeof err));
    for (size_t i = 0; i < saved.len; i++) { /* every flipped bit is caught */
        saved.data[i] ^= 0x10;
        assert_null(vm_state_load(p, saved.data, saved.len, err, sizeof err));
        saved.data[i] ^= 0x10;
    }
    vm_buf_free(&saved);
    vm_buf_free(&again);
    vm_state_free(s);
    vm_state_free(back);
    vm_program_free(p);
    vm_program_free(other);
}

/* ---- business hours across daylight-saving changes ------------------------------------------- */

static void test_open_across_dst(void **state)
{
    (void)state;
    vm_program *waw = compile("flow \"W\"\nhours \"Europe/Warsaw\" {\n  sun 02:00-03:00\n  sun 03:00-04:00\n"
                              "  mon-sat 09:00-17:00\n}\nnode start { if open { say \"open\" } }\n");
    /* 2026-03-29 (Sunday): clocks go 02:00 CET -> 03:00 CEST at 01:00 UTC */
    assert_false(vm_program_open_at(waw, 1774745999)); /* 00:59:59 UTC = 01:59:59 CET */
    assert_true(vm_program_open_at(waw, 1774746000));  /* 01:00 UTC = 03:00 CEST */
    /* 2026-10-25 (Sunday): 03:00 CEST -> 02:00 CET at 01:00 UTC; 02:xx happens twice */
    assert_true(vm_program_open_at(waw, 1792888200));  /* 00:30 UTC = 02:30 CEST */
    assert_true(vm_program_open_at(waw, 1792891800));  /* 01:30 UTC = 02:30 CET */
    assert_false(vm_program_open_at(waw, 1792897200)); /* 03:00 UTC = 04:00 CET */
    /* a weekday: 09:00 local is 08:00 UTC in winter, 07:00 UTC in summer */
    assert_true(vm_program_open_at(waw, 1767600000));  /* 2026-01-05 08:00 UTC = 09:00 CET */
    assert_false(vm_program_open_at(waw, 1767599999));
    assert_true(vm_program_open_at(waw, 1775113200));  /* 2026-04-02 07:00 UTC = 09:00 CEST */
    assert_false(vm_program_open_at(waw, 1775113199));
    vm_program_free(waw);

    vm_program *ny = compile("flow \"N\"\nhours \"America/New_York\" {\n  mon-fri 08:00-18:00\n}\n"
                             "node start { say \"{open}\" }\n");
    /* 2026-03-09 (Monday after the change): 08:00 EDT = 12:00 UTC */
    assert_true(vm_program_open_at(ny, 1773057600));
    assert_false(vm_program_open_at(ny, 1773057599));
    /* 2026-11-02 (Monday after the change back): 08:00 EST = 13:00 UTC */
    assert_true(vm_program_open_at(ny, 1793624400));
    assert_false(vm_program_open_at(ny, 1793624399));
    /* and through the VM: the built-in `open` reads the host's clock */
    vm_state *s = vm_state_new(ny);
    outputs o = {0};
    fixed_now = 1793624400;
    vm_host h = {&o, collect, clock_now, NULL, NULL};
    vm_start(s, &h);
    assert_string_equal(o.lines[0], "bot: true");
    vm_state_free(s);
    vm_program_free(ny);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_refuses_bad_headers),
        cmocka_unit_test(test_verifier_refuses_bad_code),
        cmocka_unit_test(test_step_limit_ends_with_error),
        cmocka_unit_test(test_runtime_type_error_ends_with_error),
        cmocka_unit_test(test_inputs_and_statuses),
        cmocka_unit_test(test_state_roundtrip_and_refusals),
        cmocka_unit_test(test_open_across_dst),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
