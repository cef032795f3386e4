/* normalize.c — tokenizer.json normalizers; see normalize.h.
 *
 * Each step maps a whole buffer to a new one. Unicode forms and case come
 * from utf8proc, corrected by the tables of hf_unicode.c where tokenizers'
 * Unicode data differs (the characters its normalizer leaves alone are
 * copied, the text between them normalized); Lowercase is the default
 * lowercase mapping per character (U+0130 becomes "i" + U+0307, the one
 * multi-character case Rust's to_lowercase has). StripAccents removes
 * what tokenizers counts as combining marks. White space for Strip is the
 * White_Space set. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "normalize.h"

#include <pcre2.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "../base/mem.h"
#include "../base/status.h"
#include "hf_unicode.h"
#include "vocab.h"

#define MAX_STEPS 32

typedef struct norm_step {
    norm_kind kind;
    char *a, *b;
    size_t la, lb;
    bool left, right;
    pcre2_code *re;
} norm_step;

struct normalizer {
    int n;
    norm_step step[MAX_STEPS];
};

owl_status normalizer_new(normalizer **out) {
    *out = owl_xcalloc(1, sizeof **out);
    return *out ? OWL_OK : OWL_ERR_NOMEM;
}

void normalizer_free(normalizer *nz) {
    if (!nz) return;
    for (int i = 0; i < nz->n; i++) {
        free(nz->step[i].a);
        free(nz->step[i].b);
        pcre2_code_free(nz->step[i].re);
    }
    free(nz);
}

int normalizer_steps(const normalizer *nz) { return nz ? nz->n : 0; }

owl_status normalizer_add(normalizer *nz, norm_kind kind, const char *a, size_t la, const char *b, size_t lb,
                          bool left, bool right) {
    if (nz->n == MAX_STEPS) return owl_err(OWL_ERR_UNSUPPORTED, "more than %d normalizer steps", MAX_STEPS);
    norm_step *s = &nz->step[nz->n];
    memset(s, 0, sizeof *s);
    s->kind = kind;
    s->left = left;
    s->right = right;
    if (a && !(s->a = owl_xstrndup(a, la))) return OWL_ERR_NOMEM;
    if (b && !(s->b = owl_xstrndup(b, lb))) {
        free(s->a);
        return OWL_ERR_NOMEM;
    }
    s->la = la;
    s->lb = lb;
    if (kind == NORM_REPLACE_RE) {
        int err;
        PCRE2_SIZE off;
        s->re = pcre2_compile((PCRE2_SPTR)a, la, PCRE2_UTF | PCRE2_UCP, &err, &off, NULL);
        if (!s->re) {
            PCRE2_UCHAR msg[256];
            pcre2_get_error_message(err, msg, sizeof msg);
            free(s->a);
            free(s->b);
            return owl_err(OWL_ERR_UNSUPPORTED, "Replace normalizer regex \"%.60s\": %s", a, (const char *)msg);
        }
    }
    nz->n++;
    return OWL_OK;
}

static bool is_white(uint32_t c) {
    return (c >= 9 && c <= 13) || c == 32 || c == 0x85 || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) ||
           c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

typedef struct sbuf {
    char *p;
    size_t n, cap;
} sbuf;

static bool sb_put(sbuf *b, const void *s, size_t n) {
    if (n == 0) return true;
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->n + n) {
            if (cap > ((size_t)1 << 40)) return false;
            cap *= 2;
        }
        char *p = owl_xrealloc(b->p, cap);
        if (!p) return false;
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    return true;
}

static bool in_list(const uint32_t *v, size_t n, uint32_t c) {
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (v[mid] == c) return true;
        if (v[mid] < c) lo = mid + 1;
        else hi = mid;
    }
    return false;
}

static bool in_ranges(const uint32_t (*r)[2], size_t n, uint32_t c) {
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (c < r[mid][0]) hi = mid;
        else if (c > r[mid][1]) lo = mid + 1;
        else return true;
    }
    return false;
}

static uint32_t hf_lower(uint32_t c) {
    size_t lo = 0, hi = hf_lower_delta_n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (hf_lower_delta[mid][0] == c) return hf_lower_delta[mid][1];
        if (hf_lower_delta[mid][0] < c) lo = mid + 1;
        else hi = mid;
    }
    return (uint32_t)utf8proc_tolower((utf8proc_int32_t)c);
}

static owl_status unicode_form(const unsigned char *u, size_t n, int fl, sbuf *o) {
    if (n == 0) return OWL_OK;
    utf8proc_uint8_t *dst = NULL;
    utf8proc_ssize_t m = utf8proc_map(u, (utf8proc_ssize_t)n, &dst, (utf8proc_option_t)fl);
    if (m < 0) return owl_err(OWL_ERR_INTERNAL, "normalizer: %s", utf8proc_errmsg(m));
    bool ok = sb_put(o, dst, (size_t)m);
    free(dst);
    return ok ? OWL_OK : OWL_ERR_NOMEM;
}

/* One step on in[0..n) into o (emptied first). */
static owl_status run_step(const norm_step *s, const char *in, size_t n, sbuf *o) {
    o->n = 0;
    const unsigned char *u = (const unsigned char *)in;
    switch (s->kind) {
    case NORM_NFC:
    case NORM_NFD:
    case NORM_NFKC:
    case NORM_NFKD: {
        int fl = UTF8PROC_STABLE;
        fl |= s->kind == NORM_NFC || s->kind == NORM_NFKC ? UTF8PROC_COMPOSE : UTF8PROC_DECOMPOSE;
        if (s->kind == NORM_NFKC || s->kind == NORM_NFKD) fl |= UTF8PROC_COMPAT;
        const uint32_t *keep = s->kind == NORM_NFC ? hf_nfc_keep : s->kind == NORM_NFD ? hf_nfd_keep :
                               s->kind == NORM_NFKC ? hf_nfkc_keep : hf_nfkd_keep;
        size_t n_keep = s->kind == NORM_NFC ? hf_nfc_keep_n : s->kind == NORM_NFD ? hf_nfd_keep_n :
                        s->kind == NORM_NFKC ? hf_nfkc_keep_n : hf_nfkd_keep_n;
        size_t seg = 0; /* the text since the last kept character */
        for (size_t i = 0; n_keep && i < n;) {
            uint32_t c;
            size_t k = utf8_decode(u + i, n - i, &c);
            if (!k) k = 1, c = 0xFFFD;
            if (c >= 0x80 && in_list(keep, n_keep, c)) {
                owl_status st = unicode_form(u + seg, i - seg, fl, o);
                if (st) return st;
                if (!sb_put(o, in + i, k)) return OWL_ERR_NOMEM;
                seg = i + k;
            }
            i += k;
        }
        return unicode_form(u + seg, n - seg, fl, o);
    }
    case NORM_LOWERCASE:
    case NORM_STRIP_ACCENTS:
        for (size_t i = 0; i < n;) {
            uint32_t c;
            size_t k = utf8_decode(u + i, n - i, &c);
            if (!k) k = 1, c = u[i];
            char e[8];
            size_t m;
            if (s->kind == NORM_STRIP_ACCENTS) {
                if (in_ranges(hf_mark_ranges, hf_mark_ranges_n, c)) {
                    i += k;
                    continue;
                }
                memcpy(e, in + i, k);
                m = k;
            } else if (c == 0x130) {
                memcpy(e, "i\xCC\x87", 3);
                m = 3;
            } else {
                m = utf8_encode(hf_lower(c), e);
            }
            if (!sb_put(o, e, m)) return OWL_ERR_NOMEM;
            i += k;
        }
        return OWL_OK;
    case NORM_PREPEND:
        if (n && !sb_put(o, s->a, s->la)) return OWL_ERR_NOMEM;
        return sb_put(o, in, n) ? OWL_OK : OWL_ERR_NOMEM;
    case NORM_REPLACE:
        for (size_t i = 0; i < n;) {
            if (s->la && i + s->la <= n && memcmp(in + i, s->a, s->la) == 0) {
                if (!sb_put(o, s->b, s->lb)) return OWL_ERR_NOMEM;
                i += s->la;
            } else {
                if (!sb_put(o, in + i, 1)) return OWL_ERR_NOMEM;
                i++;
            }
        }
        return OWL_OK;
    case NORM_REPLACE_RE: {
        pcre2_match_data *md = pcre2_match_data_create_from_pattern(s->re, NULL);
        if (!md) return OWL_ERR_NOMEM;
        size_t pos = 0, last = 0;
        owl_status st = OWL_OK;
        while (pos <= n) {
            int rc = pcre2_match(s->re, u, n, pos, PCRE2_NO_UTF_CHECK, md, NULL);
            if (rc < 0) break;
            PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
            if (ov[1] == ov[0]) { /* an empty match replaces nothing */
                pos = ov[0] + 1;
                while (pos < n && (u[pos] & 0xC0) == 0x80) pos++;
                continue;
            }
            if (!sb_put(o, in + last, ov[0] - last) || !sb_put(o, s->b, s->lb)) {
                st = OWL_ERR_NOMEM;
                break;
            }
            last = pos = ov[1];
        }
        pcre2_match_data_free(md);
        if (st == OWL_OK && !sb_put(o, in + last, n - last)) st = OWL_ERR_NOMEM;
        return st;
    }
    case NORM_STRIP: {
        size_t a = 0, b = n;
        uint32_t c;
        size_t k;
        while (s->left && a < b && (k = utf8_decode(u + a, b - a, &c)) && is_white(c)) a += k;
        while (s->right && b > a) {
            size_t j = b - 1;
            while (j > a && (u[j] & 0xC0) == 0x80) j--;
            if (!(k = utf8_decode(u + j, b - j, &c)) || !is_white(c)) break;
            b = j;
        }
        return sb_put(o, in + a, b - a) ? OWL_OK : OWL_ERR_NOMEM;
    }
    }
    return OWL_ERR_INTERNAL;
}

owl_status normalizer_apply(const normalizer *nz, const char *s, size_t n, char **out, size_t *out_n) {
    sbuf a = {0}, b = {0};
    *out = NULL;
    *out_n = 0;
    if (!sb_put(&a, s, n) || !sb_put(&a, "", 1)) {
        free(a.p);
        return OWL_ERR_NOMEM;
    }
    a.n = n;
    for (int i = 0; i < nz->n; i++) {
        owl_status st = run_step(&nz->step[i], a.p, a.n, &b);
        if (st) {
            free(a.p);
            free(b.p);
            return st;
        }
        sbuf t = a;
        a = b;
        b = t;
    }
    free(b.p);
    if (!a.p) {
        if (!sb_put(&a, "", 1)) return OWL_ERR_NOMEM;
        a.n = 0;
    }
    *out = a.p;
    *out_n = a.n;
    return OWL_OK;
}
