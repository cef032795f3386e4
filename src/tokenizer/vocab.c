/* vocab.c — the vocabulary table every loader fills (GGUF, tokenizer.json)
 * and what is built from it: the end-of-generation set, byte tokens, the
 * special-token index, decoded pieces; accessors and tokenizer_free. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/mem.h"
#include "../base/status.h"
#include "normalize.h"
#include "vocab.h"

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
    normalizer_free(t->norm);
    free(t->nadd_text);
    free(t->nadd_lens);
    free(t->nadd);
    strmap_free(&t->nadd_map);
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

owl_status vocab_alloc(tokenizer *t, int32_t n, size_t text_bytes) {
    t->n_vocab = n;
    t->tokens = owl_xcalloc((size_t)n, sizeof *t->tokens);
    t->text = owl_xmalloc(text_bytes ? text_bytes : 1);
    t->text_cap = text_bytes;
    if (!t->tokens || !t->text) return OWL_ERR_NOMEM;
    return strmap_init(&t->text_to_id, (size_t)n);
}

void vocab_set(tokenizer *t, int32_t id, const char *s, size_t len, float score, uint16_t attr) {
    tok_entry *e = &t->tokens[id];
    e->off = (uint32_t)t->text_used;
    e->len = (uint32_t)len;
    e->score = score;
    e->attr = attr;
    memcpy(t->text + t->text_used, s, len);
    t->text[t->text_used + len] = 0;
    t->text_used += len + 1;
    if (len > t->max_token_len) t->max_token_len = len;
    strmap_put(&t->text_to_id, t->text + e->off, e->len, id);
}

owl_status vocab_add_merge(tokenizer *t, const char *a, size_t la, const char *b, size_t lb, int32_t rank,
                           char **buf, size_t *cap) {
    int32_t ia = strmap_get(&t->text_to_id, a, la), ib = strmap_get(&t->text_to_id, b, lb);
    if (ia < 0 || ib < 0) return OWL_OK; /* a merge of unknown parts can never apply */
    if (la + lb > *cap) {
        char *nb = owl_xrealloc(*buf, la + lb);
        if (!nb) return OWL_ERR_NOMEM;
        *buf = nb;
        *cap = la + lb;
    }
    memcpy(*buf, a, la);
    memcpy(*buf + la, b, lb);
    int32_t ab = strmap_get(&t->text_to_id, *buf, la + lb);
    if (ab >= 0) pairmap_put_first(&t->merges, (uint64_t)(uint32_t)ia << 32 | (uint32_t)ib, rank, ab);
    return OWL_OK;
}

void vocab_add_eog(tokenizer *t, owl_token id) {
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

owl_status vocab_finish(tokenizer *t, const char *name, size_t name_len) {
    owl_status st;
    int32_t n = t->n_vocab;
    /* end-of-generation tokens: eos, eot, eom and the usual end texts */
    static const char *const eog_texts[] = {"<|eot_id|>",    "<|im_end|>", "<|end|>",    "<end_of_turn>",
                                            "<|endoftext|>", "<|eom_id|>", "<EOT>",      "<|fim_pad|>",
                                            "<|fim_repo|>",  "<|repo_name|>", "<|file_sep|>"};
    for (size_t k = 0; k < sizeof eog_texts / sizeof eog_texts[0]; k++) {
        int32_t id = strmap_get(&t->text_to_id, eog_texts[k], strlen(eog_texts[k]));
        if (id < 0) continue;
        if (t->eot < 0 && k < 7 && k != 5) t->eot = id;
        t->tokens[id].attr |= TOK_CONTROL;
        t->tokens[id].attr &= (uint16_t)~TOK_NORMAL;
        vocab_add_eog(t, id);
    }
    vocab_add_eog(t, t->eos);
    vocab_add_eog(t, t->eot);
    vocab_add_eog(t, t->eom);

    if (t->kind == TOK_KIND_BPE) {
        for (int b = 0; b < 256; b++) {
            char u[4];
            size_t k = utf8_encode(bpe_byte_to_cpt((uint8_t)b), u);
            t->byte_id[b] = strmap_get(&t->text_to_id, u, k);
        }
        if (!t->pretok && (st = pretok_new(t->pre, &t->pretok))) return st;
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
    if (name_has(name, name_len, "phi-3") || name_has(name, name_len, "phi3")) {
        for (int32_t i = 0; i < n; i++)
            if (t->tokens[i].attr & (TOK_CONTROL | TOK_USER_DEFINED | TOK_UNKNOWN)) t->tokens[i].attr |= TOK_RSTRIP;
        static const char *const keep[] = {"<unk>", "<s>", "<|endoftext|>"};
        int32_t id = strmap_get(&t->text_to_id, "</s>", 4);
        if (id >= 0) t->tokens[id].attr |= TOK_RSTRIP;
        for (int k = 0; k < 3; k++) {
            id = strmap_get(&t->text_to_id, keep[k], strlen(keep[k]));
            if (id >= 0) t->tokens[id].attr &= (uint16_t)~TOK_RSTRIP;
        }
    }
    if ((st = build_specials(t))) return st;

    /* decoded pieces: never longer than the texts */
    t->piece = owl_xmalloc(t->text_used ? t->text_used : 1);
    t->piece_off = owl_xreallocarray(NULL, (size_t)n + 1, sizeof *t->piece_off);
    if (!t->piece || !t->piece_off) return OWL_ERR_NOMEM;
    size_t off = 0;
    for (int32_t i = 0; i < n; i++) {
        t->piece_off[i] = (uint32_t)off;
        size_t k = make_piece(t, i, t->piece + off);
        if (k > t->max_piece_len) t->max_piece_len = k;
        off += k;
    }
    t->piece_off[n] = (uint32_t)off;
    return OWL_OK;
}
