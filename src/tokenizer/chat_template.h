/* chat_template.h — renders a conversation with a model's chat template.
 *
 * Any template: it runs in owl's sandboxed Jinja interpreter (jinja.h),
 * with the variables transformers' apply_chat_template gives it:
 * messages, add_generation_prompt, tools, documents (None unless given),
 * bos_token and eos_token (the model's token texts, left undefined when
 * the model has none), plus any extra variables. A template that calls
 * raise_exception() fails with OWL_ERR_ARG and its message; a broken or
 * runaway template with OWL_ERR_FORMAT. */
#ifndef OWL_TOKENIZER_CHAT_TEMPLATE_H
#define OWL_TOKENIZER_CHAT_TEMPLATE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "owl.h"

typedef struct chat_render_opts {
    const char *bos_text;       /* NULL: bos_token undefined */
    const char *eos_text;       /* NULL: eos_token undefined */
    bool add_generation_prompt;
    json_t *tools;              /* JSON array of tool schemas, or NULL (None) */
    json_t *extra;              /* JSON object of more variables, or NULL */
} chat_render_opts;

/* messages: a JSON array of message objects (role, content, tool_calls,
 * name, ... as in the OpenAI / transformers format). *out is malloc'd. */
owl_status chat_template_render_json(const char *tmpl, json_t *messages, const chat_render_opts *opts, char **out);

/* The same for plain role/content messages. */
owl_status chat_template_render(const char *tmpl, const char *bos_text, const char *eos_text,
                                const owl_chat_msg *msgs, size_t n_msgs, bool add_generation_prompt, char **out);

/* tmpl may be NULL (no template in the file): OWL_ERR_UNSUPPORTED.
 * bos_text: the text of the BOS token (NULL: none); no EOS token. */
owl_status chat_template_apply(const char *tmpl, const char *bos_text, const owl_chat_msg *msgs, size_t n_msgs,
                               bool add_generation_prompt, char **out);

#endif
