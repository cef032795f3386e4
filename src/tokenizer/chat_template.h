/* chat_template.h — renders a conversation with a model's chat template.
 *
 * Not a Jinja engine (that is a later piece of work): the template text is
 * recognised as one of the formats owl renders exactly, else the call
 * fails with OWL_ERR_UNSUPPORTED naming why. Formats: ChatML
 * ("<|im_start|>role\ncontent<|im_end|>\n", generation prompt
 * "<|im_start|>assistant\n"), including a default system message the
 * template inserts when the conversation has none (SmolLM2, Qwen2.5);
 * Llama 3's original Instruct template and Gemma 2's, by their exact text. */
#ifndef OWL_TOKENIZER_CHAT_TEMPLATE_H
#define OWL_TOKENIZER_CHAT_TEMPLATE_H

#include <stdbool.h>
#include <stddef.h>

#include "owl.h"

/* tmpl may be NULL (no template in the file); bos_text: the text of the
 * BOS token, for templates that write bos_token (NULL: ""). *out is
 * malloc'd. */
owl_status chat_template_apply(const char *tmpl, const char *bos_text, const owl_chat_msg *msgs, size_t n_msgs,
                               bool add_generation_prompt, char **out);

#endif
