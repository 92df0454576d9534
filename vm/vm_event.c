/* vm_event.c - an output as a line of a .chat transcript (spec section 12):
 * the one printer shared by `flowc test`, `flowc run` and flowd's debug
 * frames, so that the three cannot disagree on the format. */
#include <string.h>

#include "vm.h"

static void put(vm_buf *b, const char *s) { vm_buf_put_bytes(b, s, strlen(s)); }
static void put_ref(vm_buf *b, vm_text_ref t) { vm_buf_put_bytes(b, t.s, t.len); }

/* A record value: quoted when empty or holding white space or a quote,
 * with `"` and `\` escaped inside the quotes. */
static void put_value(vm_buf *b, vm_text_ref v)
{
    bool quote = v.len == 0;
    for (uint32_t i = 0; i < v.len && !quote; i++)
        quote = v.s[i] == ' ' || v.s[i] == '"' || v.s[i] == '\t' || v.s[i] == '\n' || v.s[i] == '\r';
    if (!quote) {
        put_ref(b, v);
        return;
    }
    put(b, "\"");
    for (uint32_t i = 0; i < v.len; i++) {
        if (v.s[i] == '"' || v.s[i] == '\\')
            put(b, "\\");
        vm_buf_put_bytes(b, v.s + i, 1);
    }
    put(b, "\"");
}

bool vm_event_line(const vm_event *ev, vm_buf *out)
{
    switch (ev->kind) {
    case VM_EV_SAY: put(out, "bot: "); put_ref(out, ev->text); return true;
    case VM_EV_PAUSE: put(out, "pause: "); put_ref(out, ev->text); return true;
    case VM_EV_TAG: put(out, "tag: "); put_ref(out, ev->text); return true;
    case VM_EV_END: put(out, "end: "); put(out, vm_outcome_name(ev->outcome)); return true;
    case VM_EV_HANDOFF:
        put(out, "handoff:");
        if (ev->text.s) { /* without a team: `handoff:` alone */
            put(out, " ");
            put_ref(out, ev->text);
        }
        return true;
    case VM_EV_BUTTONS:
        put(out, "buttons: ");
        for (uint32_t i = 0; i < ev->nbuttons; i++) {
            if (i)
                put(out, " | ");
            put_ref(out, ev->buttons[i]);
        }
        return true;
    case VM_EV_RECORD:
        put(out, ev->record_deal ? "deal:" : "lead:");
        for (uint32_t i = 0; i < ev->nfields; i++) {
            put(out, " ");
            put_ref(out, ev->fields[i].name);
            put(out, "=");
            put_value(out, ev->fields[i].value);
        }
        return true;
    case VM_EV_ASK:
    case VM_EV_NODE: return false;
    }
    return false;
}
