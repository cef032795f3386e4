/* encode.c — text -> ids: special tokens first, then the vocabulary's model.
 *
 * Vocabularies from tokenizer.json take encode_hf: Hugging Face
 * tokenizers' order (added tokens, normalizer, pre-tokenizer, model,
 * post-processor); those from GGUF the llama.cpp order described here.
 *
 * Special tokens (control, user-defined and unknown types) written in the
 * text are cut out before the model sees it, the longest token first and
 * each at every place it occurs (llama.cpp's order, which the ggml-vocab
 * tests were made with). User-defined tokens are always cut out; control
 * and unknown ones only with parse_special. Which special texts occur at
 * all is found first with one pass over the text (hash lookups of the
 * lengths special texts have), so a vocabulary with thousands of added
 * tokens costs nothing when they are absent. */
#include <stdlib.h>
#include <string.h>

#include "../base/mem.h"
#include "../base/status.h"
#include "hf_unicode.h"
#include "normalize.h"
#include "vocab.h"

typedef struct frag {
    size_t off, len;
    owl_token id; /* >= 0: a special token; -1: text[off, off + len) */
} frag;

typedef struct frag_vec {
    frag *v;
    size_t n, cap;
} frag_vec;

static bool frag_push(frag_vec *f, size_t off, size_t len, owl_token id) {
    if (f->n == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 16;
        frag *v = owl_xreallocarray(f->v, cap, sizeof *v);
        if (!v) return false;
        f->v = v;
        f->cap = cap;
    }
    f->v[f->n++] = (frag){off, len, id};
    return true;
}

static inline bool is_space_c(char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

static const char *find_bytes(const char *hay, size_t n, const char *needle, size_t m) {
    if (m == 0 || m > n) return NULL;
    const char *end = hay + n - m + 1, *p = hay;
    while (p < end) {
        p = memchr(p, needle[0], (size_t)(end - p));
        if (!p) return NULL;
        if (memcmp(p, needle, m) == 0) return p;
        p++;
    }
    return NULL;
}

/* Cuts text into fragments of plain text and special tokens. */
static owl_status partition(const tokenizer *t, const char *text, size_t len, bool parse_special, frag_vec *out) {
    frag_vec cur = {0}, next = {0};
    bool *present = NULL;
    owl_status st = OWL_OK;
    if (!frag_push(&cur, 0, len, -1)) return OWL_ERR_NOMEM;
    if (t->n_special == 0) goto finish;
    present = owl_xcalloc(t->n_special, sizeof *present);
    if (!present) {
        st = OWL_ERR_NOMEM;
        goto finish;
    }
    size_t n_present = 0;
    for (size_t i = 0; i < len; i++) {
        if (!t->special_first[(unsigned char)text[i]]) continue;
        for (size_t k = 0; k < t->n_special_lens; k++) {
            size_t l = t->special_lens[k];
            if (l > len - i) continue;
            int32_t idx = strmap_get(&t->special_map, text + i, l);
            if (idx >= 0 && !present[idx]) {
                present[idx] = true;
                n_present++;
            }
        }
    }
    for (size_t k = 0; n_present && k < t->n_special; k++) {
        if (!present[k]) continue;
        owl_token id = t->special[k];
        const tok_entry *e = &t->tokens[id];
        if (!parse_special && (e->attr & (TOK_CONTROL | TOK_UNKNOWN))) continue;
        const char *s = tok_text(t, id);
        next.n = 0;
        for (size_t f = 0; f < cur.n; f++) {
            frag fr = cur.v[f];
            if (fr.id >= 0) {
                if (!frag_push(&next, fr.off, fr.len, fr.id)) goto nomem;
                continue;
            }
            size_t off = fr.off, n = fr.len;
            for (;;) {
                const char *m = find_bytes(text + off, n, s, e->len);
                if (!m) {
                    if (n && !frag_push(&next, off, n, -1)) goto nomem;
                    break;
                }
                size_t mo = (size_t)(m - text), left = mo - off;
                if (e->attr & TOK_LSTRIP)
                    while (left && is_space_c(text[off + left - 1])) left--;
                if (left && !frag_push(&next, off, left, -1)) goto nomem;
                if (!frag_push(&next, mo, e->len, id)) goto nomem;
                size_t roff = mo + e->len, rn = off + n - roff;
                if (e->attr & TOK_RSTRIP)
                    while (rn && is_space_c(text[roff])) roff++, rn--;
                off = roff;
                n = rn;
                if (!n) break;
            }
        }
        frag_vec tmp = cur;
        cur = next;
        next = tmp;
    }
    goto finish;
nomem:
    st = OWL_ERR_NOMEM;
finish:
    free(present);
    free(next.v);
    if (st) {
        free(cur.v);
        return st;
    }
    *out = cur;
    return OWL_OK;
}

/* ---- tokenizer.json (Hugging Face tokenizers' pipeline) ---- */

static bool hf_white(uint32_t c) {
    return (c >= 9 && c <= 13) || c == 32 || c == 0x85 || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) ||
           c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

/* \w as tokenizers' regex crate has it (hf_unicode.c) */
static bool hf_word(uint32_t c) {
    size_t lo = 0, hi = hf_word_ranges_n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (c < hf_word_ranges[mid][0]) hi = mid;
        else if (c > hf_word_ranges[mid][1]) lo = mid + 1;
        else return true;
    }
    return false;
}

/* the character that ends s[0..n), or 0 */
static uint32_t last_cpt(const unsigned char *s, size_t n, size_t *start) {
    if (!n) return *start = 0, 0;
    size_t j = n - 1;
    while (j > 0 && (s[j] & 0xC0) == 0x80 && n - j < 4) j--;
    uint32_t c;
    *start = j;
    return utf8_decode(s + j, n - j, &c) == n - j ? c : 0;
}

/* The added tokens of one set (normalized or not) in s[0..n): at each
 * place the longest one that starts there, leftmost first, as the
 * Aho-Corasick search of tokenizers does; then single_word, lstrip and
 * rstrip as it applies them. */
static owl_status partition_hf(const tokenizer *t, const char *s, size_t n, bool normalized, bool parse_special,
                               frag_vec *out) {
    const unsigned char *u = (const unsigned char *)s;
    size_t done = 0; /* text before this is in out */
    out->n = 0;
    for (size_t i = 0; i < n;) {
        owl_token id = -1;
        size_t l = 0;
        if (normalized) { /* by their normalized text */
            for (size_t k = 0; t->nadd_first[u[i]] && k < t->n_nadd_lens && id < 0; k++) {
                l = t->nadd_lens[k];
                if (l > n - i) continue;
                owl_token c = strmap_get(&t->nadd_map, s + i, l);
                if (c < 0 || (!parse_special && (t->tokens[c].attr & (TOK_CONTROL | TOK_UNKNOWN)))) continue;
                id = c;
            }
        } else if (t->special_first[u[i]]) {
            for (size_t k = 0; k < t->n_special_lens && id < 0; k++) {
                l = t->special_lens[k];
                if (l > n - i) continue;
                int32_t idx = strmap_get(&t->special_map, s + i, l);
                if (idx < 0) continue;
                owl_token c = t->special[idx];
                uint16_t a = t->tokens[c].attr;
                if (!(a & TOK_ADDED) || (a & TOK_NORMALIZED)) continue;
                if (!parse_special && (a & (TOK_CONTROL | TOK_UNKNOWN))) continue;
                id = c;
            }
        }
        if (id < 0) {
            i++;
            continue;
        }
        uint16_t a = t->tokens[id].attr;
        size_t start = i, stop = i + l, at;
        i = stop;
        uint32_t c;
        if (a & TOK_SINGLE_WORD) {
            if (start > 0 && hf_word(last_cpt(u, start, &at))) continue;
            if (stop < n && utf8_decode(u + stop, n - stop, &c) && hf_word(c)) continue;
        }
        if (a & TOK_LSTRIP) {
            while (start > done && hf_white(last_cpt(u, start, &at))) start = at;
        }
        if (a & TOK_RSTRIP) {
            size_t k;
            while (stop < n && (k = utf8_decode(u + stop, n - stop, &c)) && hf_white(c)) stop += k;
            i = stop;
        }
        if (start > done && !frag_push(out, done, start - done, -1)) return OWL_ERR_NOMEM;
        if (!frag_push(out, start, stop - start, id)) return OWL_ERR_NOMEM;
        done = stop;
    }
    if ((done < n || n == 0) && !frag_push(out, done, n - done, -1)) return OWL_ERR_NOMEM;
    return OWL_OK;
}

/* The pre-tokenizer and the model on one piece of normalized text; first:
 * the piece starts the whole text (Metaspace's prepend_scheme "first"). */
static owl_status model_hf(const tokenizer *t, const char *s, size_t n, bool first, tok_ids *out) {
    if (n == 0) return OWL_OK;
    if (t->kind == TOK_KIND_SPM) {
        bool pre = t->meta_prepend == META_ALWAYS || (t->meta_prepend == META_FIRST && first);
        if (s[0] == ' ' || (n >= 3 && memcmp(s, "\xE2\x96\x81", 3) == 0)) pre = false;
        return spm_encode(t, s, n, pre, out);
    }
    if (t->prefix_space && s[0] != ' ') {
        char *b = owl_xmalloc(n + 1);
        if (!b) return OWL_ERR_NOMEM;
        b[0] = ' ';
        memcpy(b + 1, s, n);
        owl_status st = bpe_encode(t, b, n + 1, out);
        free(b);
        return st;
    }
    return bpe_encode(t, s, n, out);
}

static owl_status encode_hf(const tokenizer *t, const char *text, size_t len, bool parse_special, tok_ids *out) {
    bool same;
    size_t n;
    char *clean = utf8_sanitize(text, len, &n, &same);
    if (!same && !clean) return OWL_ERR_NOMEM;
    const char *src = same ? text : clean;
    frag_vec outer = {0}, inner = {0};
    owl_status st = partition_hf(t, src, n, false, parse_special, &outer);
    for (size_t i = 0; st == OWL_OK && i < outer.n; i++) {
        frag f = outer.v[i];
        if (f.id >= 0) {
            st = tok_ids_push(out, f.id);
            continue;
        }
        char *norm = NULL;
        const char *p = src + f.off;
        size_t m = f.len;
        if (t->norm && (st = normalizer_apply(t->norm, p, m, &norm, &m))) break;
        if (norm) p = norm;
        st = partition_hf(t, p, m, true, parse_special, &inner);
        for (size_t j = 0; st == OWL_OK && j < inner.n; j++) {
            frag g = inner.v[j];
            if (g.id >= 0) st = tok_ids_push(out, g.id);
            else st = model_hf(t, p + g.off, g.len, f.off == 0 && g.off == 0, out);
        }
        free(norm);
    }
    free(outer.v);
    free(inner.v);
    free(clean);
    return st;
}

owl_status tokenizer_encode(const tokenizer *t, const char *text, size_t len, bool add_special, bool parse_special,
                            owl_token **ids, size_t *n_ids) {
    *ids = NULL;
    *n_ids = 0;
    if (!text && len) return owl_err(OWL_ERR_ARG, "tokenize: text is NULL");
    if (len > (size_t)INT32_MAX / 4)
        return owl_err(OWL_ERR_ARG, "tokenize: text of %zu bytes is too long (512 MiB at most)", len);
    frag_vec fr = {0};
    tok_ids out = {0};
    owl_status st = len && !t->hf ? partition(t, text, len, parse_special, &fr) : OWL_OK;
    if (st) return st;
    if (add_special && t->has_post) {
        for (int i = 0; st == OWL_OK && i < t->n_post_before; i++) st = tok_ids_push(&out, t->post_before[i]);
    } else if (add_special && (t->kind == TOK_KIND_WPM || t->add_bos) && t->bos >= 0) {
        st = tok_ids_push(&out, t->bos);
    }
    if (st == OWL_OK && t->hf) st = encode_hf(t, text, len, parse_special, &out);
    bool prev_special = true; /* SPM: the start of the text counts as after a special token */
    for (size_t i = 0; st == OWL_OK && i < fr.n; i++) {
        if (fr.v[i].id >= 0) {
            st = tok_ids_push(&out, fr.v[i].id);
            prev_special = true;
            continue;
        }
        const char *s = text + fr.v[i].off;
        switch (t->kind) {
        case TOK_KIND_BPE:
            st = bpe_encode(t, s, fr.v[i].len, &out);
            break;
        case TOK_KIND_SPM: st = spm_encode(t, s, fr.v[i].len, t->add_space_prefix && prev_special, &out); break;
        case TOK_KIND_WPM: st = wpm_encode(t, s, fr.v[i].len, &out); break;
        }
        prev_special = false;
    }
    if (st == OWL_OK && add_special && t->has_post) {
        for (int i = 0; st == OWL_OK && i < t->n_post_after; i++) st = tok_ids_push(&out, t->post_after[i]);
    } else if (st == OWL_OK && add_special) {
        if (t->kind == TOK_KIND_WPM) {
            if (t->sep >= 0) st = tok_ids_push(&out, t->sep);
        } else if (t->add_eos && t->eos >= 0) {
            st = tok_ids_push(&out, t->eos);
        }
    }
    free(fr.v);
    if (st) {
        free(out.v);
        return st;
    }
    if (!out.v) { /* an empty result is still an allocation the caller frees */
        out.v = owl_xmalloc(sizeof *out.v);
        if (!out.v) return OWL_ERR_NOMEM;
    }
    *ids = out.v;
    *n_ids = out.n;
    return OWL_OK;
}

size_t tokenizer_piece(const tokenizer *t, owl_token id, char *buf, size_t cap) {
    if (id < 0 || id >= t->n_vocab) return 0;
    size_t n = t->piece_off[id + 1] - t->piece_off[id];
    if (buf && cap) memcpy(buf, t->piece + t->piece_off[id], n < cap ? n : cap);
    return n;
}
