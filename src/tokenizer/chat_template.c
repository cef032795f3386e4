/* chat_template.c — a conversation through the model's chat template, on
 * the Jinja interpreter (see chat_template.h). The context is built the way
 * transformers' apply_chat_template builds it, so the text is the one
 * Python would give. */
#include "chat_template.h"

#include <stdlib.h>
#include <string.h>

#include "../base/status.h"
#include "jinja.h"

static int set_str(json_t *obj, const char *key, const char *s) {
    return json_object_set_new(obj, key, json_stringn_nocheck(s, strlen(s)));
}

owl_status chat_template_render_json(const char *tmpl, json_t *messages, const chat_render_opts *opts, char **out) {
    if (!out) return owl_err(OWL_ERR_ARG, "chat: out is NULL");
    *out = NULL;
    if (!tmpl) return owl_err(OWL_ERR_UNSUPPORTED, "chat: the model has no tokenizer.chat_template");
    if (!json_is_array(messages)) return owl_err(OWL_ERR_ARG, "chat: messages must be a JSON array");
    chat_render_opts none = {0};
    if (!opts) opts = &none;
    json_t *ctx = json_object();
    if (!ctx) return owl_err(OWL_ERR_NOMEM, "chat: out of memory");
    int bad = 0;
    if (opts->extra && json_is_object(opts->extra)) bad |= json_object_update(ctx, opts->extra);
    bad |= json_object_set(ctx, "messages", messages);
    bad |= json_object_set_new(ctx, "tools", opts->tools ? json_incref(opts->tools) : json_null());
    if (!json_object_get(ctx, "documents")) bad |= json_object_set_new(ctx, "documents", json_null());
    bad |= json_object_set_new(ctx, "add_generation_prompt", json_boolean(opts->add_generation_prompt));
    if (opts->bos_text) bad |= set_str(ctx, "bos_token", opts->bos_text);
    if (opts->eos_text) bad |= set_str(ctx, "eos_token", opts->eos_text);
    owl_status st;
    if (bad) {
        st = owl_err(OWL_ERR_NOMEM, "chat: out of memory");
    } else {
        st = jinja_render(tmpl, ctx, 0, out);
        if (st != OWL_OK) st = owl_err_prefix(st, "chat");
    }
    json_decref(ctx);
    return st;
}

owl_status chat_template_render(const char *tmpl, const char *bos_text, const char *eos_text,
                                const owl_chat_msg *msgs, size_t n_msgs, bool add_generation_prompt, char **out) {
    if (!out) return owl_err(OWL_ERR_ARG, "chat: out is NULL");
    *out = NULL;
    if (n_msgs && !msgs) return owl_err(OWL_ERR_ARG, "chat: messages is NULL");
    for (size_t i = 0; i < n_msgs; i++)
        if (!msgs[i].role || !msgs[i].content) return owl_err(OWL_ERR_ARG, "chat: message %zu has no role or content", i);
    if (!tmpl) return owl_err(OWL_ERR_UNSUPPORTED, "chat: the model has no tokenizer.chat_template");
    json_t *arr = json_array();
    int bad = !arr;
    for (size_t i = 0; i < n_msgs && !bad; i++) {
        json_t *m = json_object();
        bad |= !m || set_str(m, "role", msgs[i].role) || set_str(m, "content", msgs[i].content);
        bad |= json_array_append_new(arr, m);
    }
    owl_status st;
    if (bad) {
        st = owl_err(OWL_ERR_NOMEM, "chat: out of memory");
    } else {
        chat_render_opts o = {.bos_text = bos_text, .eos_text = eos_text,
                              .add_generation_prompt = add_generation_prompt};
        st = chat_template_render_json(tmpl, arr, &o, out);
    }
    json_decref(arr);
    return st;
}

owl_status chat_template_apply(const char *tmpl, const char *bos_text, const owl_chat_msg *msgs, size_t n_msgs,
                               bool add_generation_prompt, char **out) {
    return chat_template_render(tmpl, bos_text, NULL, msgs, n_msgs, add_generation_prompt, out);
}
