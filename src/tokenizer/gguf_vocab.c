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

owl_status tok_ids_push(tok_ids *ids, owl_token id) {
    if (ids->n == ids->cap) {
        size_t cap = ids->cap ? ids->cap * 2 : 64;
        owl_token *v = owl_xreallocarray(ids->v, cap, sizeof *v);
        if (!v) return OWL_ERR_NOMEM;
        ids->v = v;
        ids->cap = cap;
    }
    ids->v[ids->n++] = id;
    return OWL_OK;
}

void tokenizer_free(tokenizer *t) {
    if (!t) return;
    free(t->tokens);
    free(t->text);
    strmap_free(&t->text_to_id);
    free(t->piece);
    free(t->piece_off);
    pairmap_free(&t->merges);
    pretok_free(t->pretok);
    free(t->special);
    free(t->special_lens);
    strmap_free(&t->special_map);
    free(t->chat_template);
    free(t);
}

int32_t tokenizer_n_vocab(const tokenizer *t) { return t->n_vocab; }
owl_token tokenizer_bos(const tokenizer *t) { return t->bos; }
owl_token tokenizer_eos(const tokenizer *t) { return t->eos; }
const char *tokenizer_chat_template(const tokenizer *t) { return t->chat_template; }

bool tokenizer_is_eog(const tokenizer *t, owl_token id) {
    if (id < 0) return false;
    for (int i = 0; i < t->n_eog; i++)
        if (t->eog[i] == id) return true;
    return false;
}

const char *tokenizer_text(const tokenizer *t, owl_token id) {
    if (id < 0 || id >= t->n_vocab) return NULL;
    return tok_text(t, id);
}

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

static void add_eog(tokenizer *t, owl_token id) {
    if (id < 0 || tokenizer_is_eog(t, id) || t->n_eog == TOK_MAX_EOG) return;
    t->eog[t->n_eog++] = id;
}

typedef struct len_id {
    uint32_t len;
    int32_t id;
} len_id;

/* longest first, then lowest id */
static int cmp_len_id(const void *a, const void *b) {
    const len_id *x = a, *y = b;
    if (x->len != y->len) return x->len > y->len ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

/* Decoded bytes of token id into out (room for its text length). */
static size_t make_piece(const tokenizer *t, int32_t id, char *out) {
    const tok_entry *e = &t->tokens[id];
    const char *s = tok_text(t, id);
    size_t n = 0;
    if (e->attr & (TOK_CONTROL | TOK_UNKNOWN | TOK_USER_DEFINED)) {
        memcpy(out, s, e->len);
        return e->len;
    }
    if (e->attr & TOK_BYTE) {
        unsigned v;
        char tail;
        if (e->len == 6 && sscanf(s, "<0x%2x%c", &v, &tail) == 2 && tail == '>' && isxdigit((unsigned char)s[3]) &&
            isxdigit((unsigned char)s[4])) {
            out[0] = (char)v;
            return 1;
        }
        return 0;
    }
    if (!(e->attr & TOK_NORMAL)) return 0;
    if (t->kind == TOK_KIND_BPE) {
        const unsigned char *u = (const unsigned char *)s;
        for (size_t i = 0; i < e->len;) {
            uint32_t cpt;
            size_t k = utf8_decode(u + i, e->len - i, &cpt);
            if (!k) { /* not UTF-8: keep the byte */
                out[n++] = s[i++];
                continue;
            }
            int b = bpe_cpt_to_byte(cpt);
            if (b >= 0) {
                out[n++] = (char)b;
            } else {
                memcpy(out + n, s + i, k);
                n += k;
            }
            i += k;
        }
        return n;
    }
    for (size_t i = 0; i < e->len;) { /* SPM, WPM: ▁ is a space */
        if (i + 3 <= e->len && memcmp(s + i, "\xE2\x96\x81", 3) == 0) {
            out[n++] = ' ';
            i += 3;
        } else {
            out[n++] = s[i++];
        }
    }
    return n;
}

static bool name_has(const char *name, size_t len, const char *what) {
    size_t w = strlen(what);
    for (size_t i = 0; i + w <= len; i++) {
        size_t j = 0;
        while (j < w && tolower((unsigned char)name[i + j]) == what[j]) j++;
        if (j == w) return true;
    }
    return false;
}

static owl_status load_merges(tokenizer *t, const gguf *g) {
    const gguf_kv *kv = gguf_get_arr(g, K "merges", GGUF_STRING);
    if (!kv) return owl_err(OWL_ERR_FORMAT, "gpt2 tokenizer without " K "merges (a string array)");
    owl_status st = pairmap_init(&t->merges, kv->arr_n);
    if (st) return st;
    char *buf = NULL;
    size_t cap = 0;
    for (uint64_t i = 0; i < kv->arr_n; i++) {
        gguf_str m = kv->arr_str[i];
        if (m.len < 3 || m.len > UINT32_MAX) continue;
        const char *sp = memchr(m.ptr + 1, ' ', m.len - 1);
        if (!sp) continue;
        size_t la = (size_t)(sp - m.ptr), lb = m.len - la - 1;
        int32_t a = strmap_get(&t->text_to_id, m.ptr, la);
        int32_t b = strmap_get(&t->text_to_id, sp + 1, lb);
        if (a < 0 || b < 0) continue;
        if (la + lb > cap) {
            cap = la + lb;
            char *nb = owl_xrealloc(buf, cap);
            if (!nb) {
                free(buf);
                return OWL_ERR_NOMEM;
            }
            buf = nb;
        }
        memcpy(buf, m.ptr, la);
        memcpy(buf + la, sp + 1, lb);
        int32_t ab = strmap_get(&t->text_to_id, buf, la + lb);
        if (ab < 0 || i > INT32_MAX) continue;
        pairmap_put_first(&t->merges, (uint64_t)(uint32_t)a << 32 | (uint32_t)b, (int32_t)i, ab);
    }
    free(buf);
    return OWL_OK;
}

static owl_status build_specials(tokenizer *t) {
    size_t n = 0;
    for (int32_t i = 0; i < t->n_vocab; i++)
        if (t->tokens[i].attr & (TOK_CONTROL | TOK_USER_DEFINED | TOK_UNKNOWN)) n++;
    len_id *li = owl_xreallocarray(NULL, n ? n : 1, sizeof *li);
    t->special = owl_xreallocarray(NULL, n ? n : 1, sizeof *t->special);
    t->special_lens = owl_xreallocarray(NULL, n ? n : 1, sizeof *t->special_lens);
    if (!li || !t->special || !t->special_lens) {
        free(li);
        return OWL_ERR_NOMEM;
    }
    for (int32_t i = 0; i < t->n_vocab; i++) {
        if (t->tokens[i].attr & (TOK_CONTROL | TOK_USER_DEFINED | TOK_UNKNOWN)) {
            li[t->n_special].len = t->tokens[i].len;
            li[t->n_special++].id = i;
        }
    }
    qsort(li, t->n_special, sizeof *li, cmp_len_id);
    for (size_t k = 0; k < t->n_special; k++) t->special[k] = li[k].id;
    free(li);
    owl_status st = strmap_init(&t->special_map, t->n_special);
    if (st) return st;
    for (size_t k = 0; k < t->n_special; k++) {
        const tok_entry *e = &t->tokens[t->special[k]];
        const char *s = tok_text(t, t->special[k]);
        if (strmap_get(&t->special_map, s, e->len) < 0) strmap_put(&t->special_map, s, e->len, (int32_t)k);
        t->special_first[(unsigned char)s[0]] = true;
        if (t->n_special_lens == 0 || t->special_lens[t->n_special_lens - 1] != e->len)
            t->special_lens[t->n_special_lens++] = e->len; /* sorted: equal lengths are adjacent */
    }
    return OWL_OK;
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
    t->tokens = owl_xcalloc((size_t)n, sizeof *t->tokens);
    t->text = owl_xmalloc(pool);
    if (!t->tokens || !t->text || (st = strmap_init(&t->text_to_id, (size_t)n))) {
        st = OWL_ERR_NOMEM;
        goto fail;
    }
    size_t off = 0;
    for (int32_t i = 0; i < n; i++) {
        tok_entry *e = &t->tokens[i];
        gguf_str s = toks->arr_str[i];
        e->off = (uint32_t)off;
        if (s.len) {
            memcpy(t->text + off, s.ptr, s.len);
            e->len = (uint32_t)s.len;
        } else {
            e->len = (uint32_t)snprintf(t->text + off, 24, "[EMPTY_%d]", i);
        }
        t->text[off + e->len] = 0;
        off += e->len + 1;
        if (e->len > t->max_token_len) t->max_token_len = e->len;
        double sc = 0;
        if (scores && !gguf_arr_f64(scores, (uint64_t)i, &sc)) sc = 0;
        e->score = (float)sc;
        int64_t ty = 1;
        if (types && !gguf_arr_i64(types, (uint64_t)i, &ty)) ty = 1;
        static const uint8_t type_attr[7] = {0, TOK_NORMAL, TOK_UNKNOWN, TOK_CONTROL, TOK_USER_DEFINED, TOK_UNUSED, TOK_BYTE};
        e->attr = (ty >= 0 && ty <= 6) ? type_attr[ty] : 0;
        strmap_put(&t->text_to_id, t->text + e->off, e->len, i);
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

    /* end-of-generation tokens: eos, eot, eom and the usual end texts */
    static const char *const eog_texts[] = {"<|eot_id|>",    "<|im_end|>", "<|end|>",    "<end_of_turn>",
                                            "<|endoftext|>", "<|eom_id|>", "<EOT>",      "<|fim_pad|>",
                                            "<|fim_repo|>",  "<|repo_name|>", "<|file_sep|>"};
    for (size_t k = 0; k < sizeof eog_texts / sizeof eog_texts[0]; k++) {
        int32_t id = strmap_get(&t->text_to_id, eog_texts[k], strlen(eog_texts[k]));
        if (id < 0) continue;
        if (t->eot < 0 && k < 7 && k != 5) t->eot = id;
        t->tokens[id].attr |= TOK_CONTROL;
        t->tokens[id].attr &= (uint8_t)~TOK_NORMAL;
        add_eog(t, id);
    }
    add_eog(t, t->eos);
    add_eog(t, t->eot);
    add_eog(t, t->eom);

    if (t->kind == TOK_KIND_BPE) {
        if ((st = load_merges(t, g))) goto fail;
        for (int b = 0; b < 256; b++) {
            char u[4];
            size_t k = utf8_encode(bpe_byte_to_cpt((uint8_t)b), u);
            t->byte_id[b] = strmap_get(&t->text_to_id, u, k);
        }
        if ((st = pretok_new(t->pre, &t->pretok))) goto fail;
    } else {
        for (int b = 0; b < 256; b++) {
            char hex[8], c = (char)b;
            snprintf(hex, sizeof hex, "<0x%02X>", b);
            int32_t id = strmap_get(&t->text_to_id, hex, 6);
            t->byte_id[b] = id >= 0 ? id : strmap_get(&t->text_to_id, &c, 1);
        }
    }

    /* per-model token attributes (llama.cpp: Phi-3's special tokens eat the
     * spaces after them) */
    gguf_str name = {"", 0};
    if (gguf_get_str(g, "general.name", &name) < 0) owl_err_clear();
    if (name_has(name.ptr, (size_t)name.len, "phi-3") || name_has(name.ptr, (size_t)name.len, "phi3")) {
        for (int32_t i = 0; i < n; i++)
            if (t->tokens[i].attr & (TOK_CONTROL | TOK_USER_DEFINED | TOK_UNKNOWN)) t->tokens[i].attr |= TOK_RSTRIP;
        static const char *const keep[] = {"<unk>", "<s>", "<|endoftext|>"};
        int32_t id = strmap_get(&t->text_to_id, "</s>", 4);
        if (id >= 0) t->tokens[id].attr |= TOK_RSTRIP;
        for (int k = 0; k < 3; k++) {
            id = strmap_get(&t->text_to_id, keep[k], strlen(keep[k]));
            if (id >= 0) t->tokens[id].attr &= (uint8_t)~TOK_RSTRIP;
        }
    }
    if ((st = build_specials(t))) goto fail;

    /* decoded pieces: never longer than the texts */
    t->piece = owl_xmalloc(pool);
    t->piece_off = owl_xreallocarray(NULL, (size_t)n + 1, sizeof *t->piece_off);
    if (!t->piece || !t->piece_off) {
        st = OWL_ERR_NOMEM;
        goto fail;
    }
    off = 0;
    for (int32_t i = 0; i < n; i++) {
        t->piece_off[i] = (uint32_t)off;
        size_t k = make_piece(t, i, t->piece + off);
        if (k > t->max_piece_len) t->max_piece_len = k;
        off += k;
    }
    t->piece_off[n] = (uint32_t)off;

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
