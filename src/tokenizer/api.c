/* api.c — the public vocabulary, tokenizer, detokenizer and chat calls of
 * owl.h, on top of model->tok. */
#include <stdlib.h>

#include "../base/status.h"
#include "../model/model.h"
#include "chat_template.h"
#include "detok.h"
#include "tokenizer.h"

int32_t owl_n_vocab(const owl_model *model) { return model ? tokenizer_n_vocab(model->tok) : 0; }
owl_token owl_token_bos(const owl_model *model) { return model ? tokenizer_bos(model->tok) : -1; }
owl_token owl_token_eos(const owl_model *model) { return model ? tokenizer_eos(model->tok) : -1; }

bool owl_token_is_eog(const owl_model *model, owl_token t) { return model && tokenizer_is_eog(model->tok, t); }

const char *owl_token_text(const owl_model *model, owl_token t) {
    const char *s = model ? tokenizer_text(model->tok, t) : NULL;
    return s ? s : "";
}

owl_status owl_tokenize(const owl_model *model, const char *text, size_t len, bool add_special, bool parse_special,
                        owl_token **ids, size_t *n_ids) {
    if (!ids || !n_ids) return owl_err(OWL_ERR_ARG, "owl_tokenize: ids and n_ids must not be NULL");
    *ids = NULL;
    *n_ids = 0;
    if (!model) return owl_err(OWL_ERR_ARG, "owl_tokenize: model is NULL");
    return tokenizer_encode(model->tok, text, len, add_special, parse_special, ids, n_ids);
}

size_t owl_token_piece(const owl_model *model, owl_token t, char *buf, size_t cap) {
    return model ? tokenizer_piece(model->tok, t, buf, cap) : 0;
}

owl_status owl_detok_new(const owl_model *model, owl_detok **out) {
    if (!out) return owl_err(OWL_ERR_ARG, "owl_detok_new: out is NULL");
    *out = NULL;
    if (!model) return owl_err(OWL_ERR_ARG, "owl_detok_new: model is NULL");
    return detok_new(model->tok, out);
}

void owl_detok_push(owl_detok *d, owl_token t, const char **text, size_t *len) { detok_push(d, t, text, len); }
void owl_detok_flush(owl_detok *d, const char **text, size_t *len) { detok_flush(d, text, len); }
void owl_detok_free(owl_detok *d) { detok_free(d); }

owl_status owl_chat_apply(const owl_model *model, const owl_chat_msg *msgs, size_t n_msgs, bool add_generation_prompt,
                          char **out) {
    if (!out) return owl_err(OWL_ERR_ARG, "owl_chat_apply: out is NULL");
    *out = NULL;
    if (!model) return owl_err(OWL_ERR_ARG, "owl_chat_apply: model is NULL");
    owl_token bos = tokenizer_bos(model->tok), eos = tokenizer_eos(model->tok);
    return chat_template_render(tokenizer_chat_template(model->tok), bos >= 0 ? tokenizer_text(model->tok, bos) : NULL,
                                eos >= 0 ? tokenizer_text(model->tok, eos) : NULL, msgs, n_msgs, add_generation_prompt,
                                out);
}
