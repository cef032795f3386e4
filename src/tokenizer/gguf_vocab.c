/* gguf_vocab.c — builds a tokenizer from a GGUF file's tokenizer.* keys.
 *
 * Keys read (all under tokenizer.ggml.): model ("gpt2", "llama", "bert"),
 * pre, tokens (string array), scores (f32 array, SPM), token_type (i32
 * array: 1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte),
 * merges (string array "left right", BPE, in rank order), bos/eos/eot/eom/
 * unknown/seperator/padding/cls_token_id, add_bos_token, add_eos_token,
 * add_space_prefix; and tokenizer.chat_template. Arrays must have one entry
 * per token; ids out of range fall back to the model's default, as
 * llama.cpp does. Defaults per model follow llama.cpp's llama-vocab.cpp. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/mem.h"
#include "../base/status.h"
#include "vocab.h"

#define K "tokenizer.ggml."

/* An optional token id key: keeps *id when missing or out of range. */
static owl_status read_id(const gguf *g, const char *key, int32_t n_vocab, owl_token *id) {
    int64_t v;
    int r = gguf_get_i64(g, key, &v);
    if (r < 0) return OWL_ERR_FORMAT;
    if (r == 1 && v >= 0 && v < n_vocab) *id = (owl_token)v;
    return OWL_OK;
}

static owl_status read_flag(const gguf *g, const char *key, bool *flag) {
    bool v;
    int r = gguf_get_bool(g, key, &v);
    if (r < 0) return OWL_ERR_FORMAT;
    if (r == 1) *flag = v;
    return OWL_OK;
}

static owl_status load_merges(tokenizer *t, const gguf *g) {
    const gguf_kv *kv = gguf_get_arr(g, K "merges", GGUF_STRING);
    if (!kv) return owl_err(OWL_ERR_FORMAT, "%s: gpt2 tokenizer without " K "merges (a string array)", g->path);
    if (kv->arr_n > INT32_MAX) return owl_err(OWL_ERR_FORMAT, "%s: too many merges", g->path);
    owl_status st = pairmap_init(&t->merges, kv->arr_n);
    char *buf = NULL;
    size_t cap = 0;
    for (uint64_t i = 0; st == OWL_OK && i < kv->arr_n; i++) {
        gguf_str m = kv->arr_str[i];
        const char *sp = m.len >= 3 ? memchr(m.ptr + 1, ' ', m.len - 1) : NULL; /* "left right" */
        if (!sp) continue;
        size_t la = (size_t)(sp - m.ptr);
        st = vocab_add_merge(t, m.ptr, la, sp + 1, m.len - la - 1, (int32_t)i, &buf, &cap);
    }
    free(buf);
    return st;
}

owl_status tokenizer_from_gguf(const gguf *g, tokenizer **out) {
    *out = NULL;
    gguf_str model, pre = {"", 0};
    int r = gguf_get_str(g, K "model", &model);
    if (r == 0) return owl_err(OWL_ERR_FORMAT, "%s: no " K "model key", g->path);
    if (r < 0) return OWL_ERR_FORMAT;
    if (gguf_get_str(g, K "pre", &pre) < 0) return OWL_ERR_FORMAT;

    tokenizer *t = owl_xcalloc(1, sizeof *t);
    if (!t) return OWL_ERR_NOMEM;
    owl_status st = OWL_OK;
    t->bos = t->eos = t->eot = t->eom = t->unk = t->sep = t->pad = -1;
    pretok_info info = {PRETOK_DEFAULT, false, false, false};
    if (gguf_str_eq(model, "gpt2")) {
        t->kind = TOK_KIND_BPE;
        if (!pretok_lookup(pre.ptr, (size_t)pre.len, &info)) {
            st = owl_err(OWL_ERR_UNSUPPORTED, "%s: unknown pre-tokenizer " K "pre = '%.*s'", g->path,
                         (int)(pre.len > 64 ? 64 : pre.len), pre.ptr);
            goto fail;
        }
        t->ignore_merges = info.ignore_merges;
        t->add_bos = info.add_bos;
        t->clean_spaces = info.clean_spaces;
    } else if (gguf_str_eq(model, "llama")) {
        t->kind = TOK_KIND_SPM;
        t->add_bos = true;
        t->add_space_prefix = true;
    } else if (gguf_str_eq(model, "bert")) {
        t->kind = TOK_KIND_WPM;
        t->add_bos = true;
        t->clean_spaces = true;
    } else {
        st = owl_err(OWL_ERR_UNSUPPORTED, "%s: tokenizer model '%.*s' is not supported (gpt2, llama and bert are)",
                     g->path, (int)(model.len > 64 ? 64 : model.len), model.ptr);
        goto fail;
    }
    t->pre = info.type;
    snprintf(t->pre_name, sizeof t->pre_name, "%.*s", (int)(pre.len > 31 ? 31 : pre.len), pre.ptr);

    const gguf_kv *toks = gguf_get_arr(g, K "tokens", GGUF_STRING);
    if (!toks) {
        st = owl_err(OWL_ERR_FORMAT, "%s: no " K "tokens string array", g->path);
        goto fail;
    }
    if (toks->arr_n == 0 || toks->arr_n > INT32_MAX / 2) {
        st = owl_err(OWL_ERR_FORMAT, "%s: " K "tokens has %llu entries", g->path, (unsigned long long)toks->arr_n);
        goto fail;
    }
    int32_t n = (int32_t)toks->arr_n;
    t->n_vocab = n;
    const gguf_kv *scores = gguf_find(g, K "scores"), *types = gguf_find(g, K "token_type");
    if (scores && (scores->type != GGUF_ARRAY || scores->arr_n != (uint64_t)n || scores->arr_type == GGUF_STRING)) {
        st = owl_err(OWL_ERR_FORMAT, "%s: " K "scores is not a numeric array of %d entries", g->path, n);
        goto fail;
    }
    if (types && (types->type != GGUF_ARRAY || types->arr_n != (uint64_t)n || types->arr_type == GGUF_STRING)) {
        st = owl_err(OWL_ERR_FORMAT, "%s: " K "token_type is not an integer array of %d entries", g->path, n);
        goto fail;
    }

    /* texts: an empty one becomes "[EMPTY_<id>]" so that lookups stay unique */
    size_t pool = 0;
    for (int32_t i = 0; i < n; i++) {
        size_t l = toks->arr_str[i].len ? (size_t)toks->arr_str[i].len : 24;
        if (toks->arr_str[i].len > UINT32_MAX / 2 || !size_add(pool, l + 1, &pool)) {
            st = owl_err(OWL_ERR_FORMAT, "%s: token %d text too long", g->path, i);
            goto fail;
        }
    }
    if (pool > UINT32_MAX) {
        st = owl_err(OWL_ERR_UNSUPPORTED, "%s: token texts take more than 4 GiB", g->path);
        goto fail;
    }
    if ((st = vocab_alloc(t, n, pool))) goto fail;
    for (int32_t i = 0; i < n; i++) {
        gguf_str s = toks->arr_str[i];
        char empty[24];
        double sc = 0;
        if (scores && !gguf_arr_f64(scores, (uint64_t)i, &sc)) sc = 0;
        int64_t ty = 1;
        if (types && !gguf_arr_i64(types, (uint64_t)i, &ty)) ty = 1;
        static const uint8_t type_attr[7] = {0, TOK_NORMAL, TOK_UNKNOWN, TOK_CONTROL, TOK_USER_DEFINED, TOK_UNUSED, TOK_BYTE};
        uint16_t attr = (ty >= 0 && ty <= 6) ? type_attr[ty] : 0;
        if (s.len) {
            vocab_set(t, i, s.ptr, (size_t)s.len, (float)sc, attr);
        } else {
            int k = snprintf(empty, sizeof empty, "[EMPTY_%d]", i);
            vocab_set(t, i, empty, (size_t)k, (float)sc, attr);
        }
    }

    /* special ids: defaults per model, then the file's keys */
    if (t->kind == TOK_KIND_SPM) {
        t->bos = 1;
        t->eos = 2;
        t->unk = 0;
    } else if (t->kind == TOK_KIND_WPM) {
        t->bos = 101;
        t->unk = 100;
        t->sep = 102;
        t->pad = 0;
    }
    if (t->bos >= n) t->bos = -1;
    if (t->eos >= n) t->eos = -1;
    if (t->unk >= n) t->unk = -1;
    if (t->sep >= n) t->sep = -1;
    if ((st = read_id(g, K "bos_token_id", n, &t->bos)) || (st = read_id(g, K "eos_token_id", n, &t->eos)) ||
        (st = read_id(g, K "eot_token_id", n, &t->eot)) || (st = read_id(g, K "eom_token_id", n, &t->eom)) ||
        (st = read_id(g, K "unknown_token_id", n, &t->unk)) ||
        (st = read_id(g, K "seperator_token_id", n, &t->sep)) ||
        (st = read_id(g, K "padding_token_id", n, &t->pad)))
        goto fail;
    if (t->kind == TOK_KIND_WPM && (st = read_id(g, K "cls_token_id", n, &t->bos))) goto fail;
    if ((st = read_flag(g, K "add_bos_token", &t->add_bos)) || (st = read_flag(g, K "add_eos_token", &t->add_eos)) ||
        (st = read_flag(g, K "add_space_prefix", &t->add_space_prefix)))
        goto fail;
    if (t->kind == TOK_KIND_BPE) t->add_space_prefix = false;

    if (t->kind == TOK_KIND_BPE && (st = load_merges(t, g))) goto fail;
    gguf_str name = {"", 0};
    if (gguf_get_str(g, "general.name", &name) < 0) owl_err_clear();
    if ((st = vocab_finish(t, name.ptr, (size_t)name.len))) goto fail;

    gguf_str tmpl;
    r = gguf_get_str(g, "tokenizer.chat_template", &tmpl);
    if (r < 0) {
        st = OWL_ERR_FORMAT;
        goto fail;
    }
    if (r == 1) {
        t->chat_template = owl_xstrndup(tmpl.ptr, (size_t)tmpl.len);
        if (!t->chat_template) {
            st = OWL_ERR_NOMEM;
            goto fail;
        }
    }
    *out = t;
    return OWL_OK;
fail:
    tokenizer_free(t);
    return st;
}
