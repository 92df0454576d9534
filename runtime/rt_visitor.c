/* rt_visitor.c - the visitor's frames beyond text and clicks (docs/api.md):
 * typing, read receipts, the window, page changes, ending the chat, the
 * offline form, uploads. The VM steps themselves are rt_engine.c's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rt_engine_internal.h"

/* A loaded conversation with its lock held, or NULL. */
conv *rt_conv_locked(rt_engine *e, int64_t id)
{
    conv *c = rt_conv_get(e, id);
    if (c)
        pthread_mutex_lock(&c->lock);
    return c;
}

void rt_visitor_typing(rt_engine *e, int64_t id, bool typing)
{
    conv *c = rt_conv_locked(e, id);
    if (!c)
        return;
    c->visitor_typing = typing;
    cJSON *f = cJSON_CreateObject();
    cJSON_AddStringToObject(f, "type", "typing");
    cJSON_AddNumberToObject(f, "id", (double)id);
    cJSON_AddStringToObject(f, "from", "visitor");
    cJSON_AddBoolToObject(f, "typing", typing);
    rt_inbox_push(e, c, c->rec.agent, NULL, f);
    pthread_mutex_unlock(&c->lock);
}

/* Small changes that need no VM step: the conversation row is stored,
 * then agents hear about it. */
void rt_conv_save_row(rt_engine *e, conv *c)
{
    rt_batch *b = rt_batch_new();
    rt_batch_conversation(b, &c->rec);
    if (!e->store->ops->commit(e->store, b))
        rt_conv_reload(e, c);
    rt_batch_free(b);
}

void rt_visitor_read(rt_engine *e, int64_t id, int64_t seq)
{
    conv *c = rt_conv_locked(e, id);
    if (!c)
        return;
    if (seq > c->rec.last_seq)
        seq = c->rec.last_seq;
    if (seq > c->rec.visitor_read_seq) {
        c->rec.visitor_read_seq = seq;
        rt_conv_save_row(e, c);
        cJSON *f = cJSON_CreateObject();
        cJSON_AddStringToObject(f, "type", "receipt");
        cJSON_AddNumberToObject(f, "id", (double)id);
        cJSON_AddNumberToObject(f, "seq", (double)seq);
        cJSON_AddStringToObject(f, "status", "read");
        rt_inbox_push(e, c, c->rec.agent, NULL, f);
    }
    pthread_mutex_unlock(&c->lock);
}

void rt_visitor_window(rt_engine *e, int64_t id, bool open)
{
    conv *c = rt_conv_locked(e, id);
    if (!c)
        return;
    if (open)
        c->rec.flags |= RT_CONV_WINDOW_OPEN;
    else
        c->rec.flags &= ~RT_CONV_WINDOW_OPEN;
    pthread_mutex_unlock(&c->lock);
}

void rt_visitor_page(rt_engine *e, int64_t id, const char *page)
{
    conv *c = rt_conv_locked(e, id);
    if (!c)
        return;
    if (strcmp(page, c->fact[2]) != 0) {
        /* the last page is kept for the side panel: "current and last page" */
        cJSON *o = cJSON_ParseWithOpts(c->rec.facts, NULL, 0);
        if (o) {
            cJSON_DeleteItemFromObjectCaseSensitive(o, "last_page");
            cJSON_AddStringToObject(o, "last_page", c->fact[2]);
            cJSON_DeleteItemFromObjectCaseSensitive(o, "page");
            cJSON_AddStringToObject(o, "page", page);
            char *json = cJSON_PrintUnformatted(o);
            if (json && strlen(json) < sizeof c->rec.facts) {
                snprintf(c->rec.facts, sizeof c->rec.facts, "%s", json);
                rt_conv_facts_from_rec(c);
                rt_conv_save_row(e, c);
                rt_inbox_changed(e, c, c->rec.agent);
            }
            free(json);
            cJSON_Delete(o);
        }
    }
    pthread_mutex_unlock(&c->lock);
}

void rt_visitor_end(rt_engine *e, rt_peer *peer, int64_t id)
{
    conv *c = rt_conv_locked(e, id);
    if (!c)
        return;
    if (c->rec.status != RT_STATUS_CLOSED) {
        step s;
        rt_step_begin(&s, e, c);
        if (vm_state_wait(c->vm) != VM_WAIT_ENDED && c->rec.outcome == VM_OUTCOME_NONE &&
            !(c->rec.flags & RT_CONV_QUOTA_SKIPPED))
            rt_step_end_bot(&s, VM_OUTCOME_ABANDONED);
        if (c->rec.status != RT_STATUS_CLOSED) {
            rt_step_close(&s);
            rt_step_ended_frame(&s, vm_outcome_name(c->rec.outcome));
        }
        cJSON *body = cJSON_CreateObject();
        cJSON_AddStringToObject(body, "by", "visitor");
        rt_step_message(&s, "system", "closed", body, NULL);
        if (!rt_step_finish(&s, NULL))
            rt_send_error(e, peer, "server_busy", "the chat could not be ended; try again", NULL);
    }
    pthread_mutex_unlock(&c->lock);
}

void rt_visitor_offline_form(rt_engine *e, rt_peer *peer, int64_t id, const char *name, const char *email,
                             const char *message)
{
    conv *c = rt_conv_locked(e, id);
    if (!c)
        return;
    if (!rt_conv_offline_form_due(c)) {
        pthread_mutex_unlock(&c->lock);
        rt_send_error(e, peer, "unknown_type", "no offline form is open", NULL);
        return;
    }
    step s;
    rt_step_begin(&s, e, c);
    cJSON *fields = cJSON_CreateObject();
    cJSON_AddStringToObject(fields, "name", name);
    cJSON_AddStringToObject(fields, "email", email);
    cJSON_AddStringToObject(fields, "message", message);
    rt_step_record(&s, false, fields, "offline_form");
    c->rec.outcome = VM_OUTCOME_LEAD;
    rt_step_close(&s);
    rt_step_ended_frame(&s, "lead");
    if (!rt_step_finish(&s, NULL))
        rt_send_error(e, peer, "server_busy", "the form could not be stored; send it again", NULL);
    pthread_mutex_unlock(&c->lock);
}

bool rt_visitor_owns(rt_engine *e, int64_t id, const char *visitor)
{
    conv *c = rt_conv_get(e, id);
    return c && visitor && strcmp(c->rec.visitor, visitor) == 0;
}

int rt_visitor_file(rt_engine *e, int64_t id, const char *visitor, const char *file_json, char **json)
{
    conv *c = rt_conv_locked(e, id);
    if (!c)
        return *json = rt_json_error("no such conversation"), 404;
    int status = 200;
    if (!visitor || strcmp(c->rec.visitor, visitor) != 0) {
        *json = rt_json_error("forbidden"), status = 403;
    } else if (c->rec.status == RT_STATUS_CLOSED) {
        *json = rt_json_error("the conversation is closed"), status = 409;
    } else {
        step s;
        rt_step_begin(&s, e, c);
        cJSON *body = cJSON_CreateObject();
        cJSON_AddItemToObject(body, "file", cJSON_Parse(file_json));
        rt_step_visitor_wrote(&s, "(file)");
        int64_t seq = rt_step_message(&s, "visitor", "file", body, NULL);
        cJSON *f = cJSON_CreateObject();
        cJSON_AddStringToObject(f, "type", "file");
        cJSON_AddNumberToObject(f, "seq", (double)seq);
        cJSON_AddStringToObject(f, "from", "visitor");
        cJSON_AddItemToObject(f, "file", cJSON_Parse(file_json));
        rt_step_frame(&s, f);
        status = rt_step_finish(&s, NULL) ? 200 : 503;
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "seq", (double)seq);
        cJSON_AddItemToObject(o, "file", cJSON_Parse(file_json));
        *json = status == 200 ? cJSON_PrintUnformatted(o) : rt_json_error("the store could not commit");
        cJSON_Delete(o);
    }
    pthread_mutex_unlock(&c->lock);
    return status;
}

