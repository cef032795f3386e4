/* hf_json.c — builds a tokenizer from a Hugging Face folder: tokenizer.json
 * (the model, added tokens, normalizer, pre-tokenizer, decoder and
 * post-processor) and tokenizer_config.json (BOS/EOS names, the chat
 * template, else chat_template.jinja), to give the ids Hugging Face
 * `tokenizers` gives.
 *
 * tokenizer.json, as read here:
 *   model: {"type": "BPE", "vocab": {text: id}, "merges": ["a b", ...] or
 *     [["a", "b"], ...], "byte_fallback", "ignore_merges", "unk_token",
 *     "dropout" (null), "continuing_subword_prefix"/"end_of_word_suffix"
 *     (null or "")}
 *   added_tokens: [{"id", "content", "special", "lstrip", "rstrip",
 *     "normalized", "single_word"}]
 *   normalizer: NFC, NFD, NFKC, NFKD, Lowercase, Prepend, Replace, Strip,
 *     StripAccents, Sequence (normalize.c)
 *   pre_tokenizer: Split (String or Regex pattern, any behavior, invert),
 *     ByteLevel (add_prefix_space, use_regex), Digits, Punctuation,
 *     Whitespace, WhitespaceSplit, BertPreTokenizer, Metaspace
 *     (replacement "▁", prepend_scheme first/always/never, split), Sequence
 *   decoder, post_processor: see decoder() and post_processor() below.
 *
 * Two kinds of model: byte-level BPE (a ByteLevel pre-tokenizer or
 * decoder) on owl's BPE merger, and SentencePiece-style BPE (spaces become
 * "▁" through the normalizer or a Metaspace pre-tokenizer; usually with
 * byte_fallback: Llama 2, Mistral), which runs on owl's SentencePiece
 * merger with each piece scored by minus the rank of the first merge that
 * forms it (pieces no merge forms are never merged), merging the same
 * pairs in the same order as Hugging Face's BPE. Anything else (WordPiece,
 * Unigram, other normalizers) is refused with OWL_ERR_UNSUPPORTED saying
 * what; a file that is not a well-formed tokenizer.json with
 * OWL_ERR_FORMAT saying where. */
#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/mapfile.h"
#include "../base/mem.h"
#include "../base/status.h"
#include "hf_unicode.h"
#include "normalize.h"
#include "vocab.h"

#define RE_BYTELEVEL "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+"
#define SPM_SPACE "\xE2\x96\x81"
#define MAX_STEPS 8

typedef struct hf_tok {
    const char *s;
    size_t len;
    uint16_t attr;
} hf_tok;

static const char *str_of(json_t *v) { /* "text" or {"content": "text"} */
    if (json_is_string(v)) return json_string_value(v);
    if (json_is_object(v)) return json_string_value(json_object_get(v, "content"));
    return NULL;
}

static const char *type_of(json_t *v) { return json_string_value(json_object_get(v, "type")); }

/* What the pre-tokenizer amounts to. */
typedef struct pre_plan {
    pretok_step step[MAX_STEPS];
    char *owned[MAX_STEPS]; /* regexes built here (escaped strings) */
    int n;
    bool byte_level, prefix_space, metaspace, meta_split;
    int meta_prepend;
} pre_plan;

/* A tokenizer.json regex with each \p{X} (\pX, \P{X}) widened to what
 * tokenizers' Oniguruma counts in X (hf_prop_delta); malloc'd. */
static char *widen_props(const char *re) {
    size_t n = strlen(re), cap = n + 1;
    for (size_t i = 0; i + 1 < n; i++)
        if (re[i] == '\\' && (re[i + 1] == 'p' || re[i + 1] == 'P')) {
            size_t most = 0;
            for (size_t k = 0; k < hf_prop_delta_n; k++)
                if (strlen(hf_prop_delta[k].delta) > most) most = strlen(hf_prop_delta[k].delta);
            cap += most + 16;
        }
    char *out = owl_xmalloc(cap), *o = out;
    if (!out) return NULL;
    bool in_class = false;
    for (size_t i = 0; i < n;) {
        char c = re[i];
        if (c == '\\' && i + 1 < n && (re[i + 1] == 'p' || re[i + 1] == 'P')) {
            bool neg = re[i + 1] == 'P';
            const char *name = re + i + 2;
            size_t len = 0, skip;
            if (*name == '{') {
                const char *end = strchr(name, '}');
                if (!end) goto copy;
                name++;
                len = (size_t)(end - name);
                skip = 2 + len + 2;
            } else {
                len = *name ? 1 : 0;
                skip = 3;
            }
            const hf_prop *p = NULL;
            for (size_t k = 0; k < hf_prop_delta_n; k++)
                if (strlen(hf_prop_delta[k].name) == len && strncmp(hf_prop_delta[k].name, name, len) == 0)
                    p = &hf_prop_delta[k];
            if (!p || (!p->exact && !p->delta[0]) || (neg && in_class)) goto copy;
            if (!in_class) o += sprintf(o, neg ? "[^" : "[");
            if (!p->exact) o += sprintf(o, "\\p{%s}", p->name);
            o += sprintf(o, "%s", p->delta);
            if (!in_class) *o++ = ']';
            i += skip;
            continue;
        }
    copy:
        if (c == '\\' && i + 1 < n) {
            *o++ = re[i++];
            *o++ = re[i++];
            continue;
        }
        if (c == '[' && !in_class) {
            in_class = true;
            *o++ = re[i++];
            if (i < n && re[i] == '^') *o++ = re[i++];
            if (i < n && re[i] == ']') *o++ = re[i++]; /* a leading ] is literal */
            continue;
        }
        if (c == '[' && in_class && i + 1 < n && re[i + 1] == ':') { /* [:alpha:] */
            const char *end = strstr(re + i, ":]");
            size_t k = end ? (size_t)(end - (re + i)) + 2 : 1;
            memcpy(o, re + i, k);
            o += k;
            i += k;
            continue;
        }
        if (c == ']' && in_class) in_class = false;
        *o++ = re[i++];
    }
    *o = 0;
    return out;
}

static owl_status add_step(pre_plan *pl, const char *re, pretok_behavior b, bool invert, const char *path) {
    if (pl->metaspace) return owl_err(OWL_ERR_UNSUPPORTED, "%s: a pre-tokenizer step after Metaspace", path);
    if (pl->n == MAX_STEPS) return owl_err(OWL_ERR_UNSUPPORTED, "%s: more than %d pre-tokenizer steps", path, MAX_STEPS);
    char *w = widen_props(re);
    if (!w) return OWL_ERR_NOMEM;
    if (strcmp(w, re) == 0) {
        free(w);
    } else {
        free(pl->owned[pl->n]);
        pl->owned[pl->n] = w;
        re = w;
    }
    pl->step[pl->n++] = (pretok_step){re, b, invert, pl->byte_level};
    return OWL_OK;
}

/* A step whose regex is a + b + c, built here. */
static owl_status add_built(pre_plan *pl, const char *a, const char *b, const char *c, pretok_behavior beh, bool invert,
                            const char *path) {
    if (pl->n == MAX_STEPS) return owl_err(OWL_ERR_UNSUPPORTED, "%s: more than %d pre-tokenizer steps", path, MAX_STEPS);
    size_t n = strlen(a) + strlen(b) + strlen(c) + 1;
    char *re = owl_xmalloc(n);
    if (!re) return OWL_ERR_NOMEM;
    snprintf(re, n, "%s%s%s", a, b, c);
    free(pl->owned[pl->n]);
    pl->owned[pl->n] = re;
    return add_step(pl, re, beh, invert, path);
}

static bool behavior_of(json_t *v, pretok_behavior *b) {
    static const struct {
        const char *name;
        pretok_behavior b;
    } names[] = {{"Isolated", PRETOK_ISOLATED},
                 {"Removed", PRETOK_REMOVED},
                 {"MergedWithPrevious", PRETOK_MERGED_PREV},
                 {"MergedWithNext", PRETOK_MERGED_NEXT},
                 {"Contiguous", PRETOK_CONTIGUOUS}};
    const char *s = json_string_value(v);
    for (size_t i = 0; s && i < sizeof names / sizeof names[0]; i++)
        if (strcmp(s, names[i].name) == 0) return *b = names[i].b, true;
    return false;
}

/* A literal string as a regex: ASCII punctuation escaped. */
static char *escape_re(const char *s, size_t n) {
    size_t cap;
    if (!size_mul(n, 2, &cap) || !size_add(cap, 1, &cap)) return NULL;
    char *o = owl_xmalloc(cap), *p = o;
    if (!o) return NULL;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x80 && !isalnum(c) && c != ' ') *p++ = '\\';
        *p++ = (char)c;
    }
    *p = 0;
    return o;
}

static owl_status pre_tokenizer(pre_plan *pl, json_t *pre, const char *path) {
    if (!pre || json_is_null(pre)) return OWL_OK;
    const char *type = type_of(pre);
    if (!type) return owl_err(OWL_ERR_FORMAT, "%s: a pre_tokenizer without a type", path);
    owl_status st;
    if (strcmp(type, "Sequence") == 0) {
        json_t *list = json_object_get(pre, "pretokenizers"), *it;
        size_t i;
        if (!json_is_array(list)) return owl_err(OWL_ERR_FORMAT, "%s: pre_tokenizer Sequence without pretokenizers", path);
        json_array_foreach(list, i, it) {
            if ((st = pre_tokenizer(pl, it, path))) return st;
        }
        return OWL_OK;
    }
    if (strcmp(type, "Split") == 0) {
        json_t *pat = json_object_get(pre, "pattern"), *inv = json_object_get(pre, "invert");
        pretok_behavior b;
        if (!behavior_of(json_object_get(pre, "behavior"), &b))
            return owl_err(OWL_ERR_FORMAT, "%s: Split pre-tokenizer without a known behavior", path);
        if (inv && !json_is_boolean(inv)) return owl_err(OWL_ERR_FORMAT, "%s: Split pre-tokenizer: invert is not a boolean", path);
        const char *rx = json_string_value(json_object_get(pat, "Regex"));
        json_t *lit = json_object_get(pat, "String");
        if (!rx && json_is_string(lit)) {
            if (pl->n == MAX_STEPS) return owl_err(OWL_ERR_UNSUPPORTED, "%s: more than %d pre-tokenizer steps", path, MAX_STEPS);
            if (!(pl->owned[pl->n] = escape_re(json_string_value(lit), json_string_length(lit)))) return OWL_ERR_NOMEM;
            rx = pl->owned[pl->n];
        }
        if (!rx) return owl_err(OWL_ERR_FORMAT, "%s: Split pre-tokenizer without a String or Regex pattern", path);
        return add_step(pl, rx, b, json_is_true(inv), path);
    }
    if (strcmp(type, "ByteLevel") == 0) { /* its regex sees the text; the steps after it, the mapped bytes */
        if (pl->byte_level) return owl_err(OWL_ERR_UNSUPPORTED, "%s: two ByteLevel pre-tokenizers", path);
        if (json_is_true(json_object_get(pre, "add_prefix_space"))) {
            if (pl->n) return owl_err(OWL_ERR_UNSUPPORTED, "%s: ByteLevel add_prefix_space after other pre-tokenizers", path);
            pl->prefix_space = true;
        }
        json_t *ur = json_object_get(pre, "use_regex");
        if ((!ur || json_is_true(ur)) && (st = add_step(pl, RE_BYTELEVEL, PRETOK_ISOLATED, false, path))) return st;
        pl->byte_level = true;
        return OWL_OK;
    }
    if (strcmp(type, "Digits") == 0)
        return add_built(pl, "[", hf_re_numeric, json_is_true(json_object_get(pre, "individual_digits")) ? "]" : "]+",
                         PRETOK_ISOLATED, false, path);
    if (strcmp(type, "Punctuation") == 0) {
        pretok_behavior b = PRETOK_ISOLATED;
        json_t *bj = json_object_get(pre, "behavior");
        if (bj && !behavior_of(bj, &b))
            return owl_err(OWL_ERR_FORMAT, "%s: Punctuation pre-tokenizer with an unknown behavior", path);
        return add_built(pl, "[", hf_re_punct, "]", b, false, path);
    }
    if (strcmp(type, "Whitespace") == 0) { /* \w+|[^\w\s]+ */
        size_t lw = strlen(hf_re_word);
        char *mid = owl_xmalloc(2 * lw + 16);
        if (!mid) return OWL_ERR_NOMEM;
        snprintf(mid, 2 * lw + 16, "%s]+|[^%s", hf_re_word, hf_re_word);
        st = add_built(pl, "[", mid, "\\s]+", PRETOK_REMOVED, true, path);
        free(mid);
        return st;
    }
    if (strcmp(type, "WhitespaceSplit") == 0) return add_step(pl, "\\s+", PRETOK_REMOVED, false, path);
    if (strcmp(type, "BertPreTokenizer") == 0) {
        if ((st = add_step(pl, "\\s+", PRETOK_REMOVED, false, path))) return st;
        return add_built(pl, "[", hf_re_punct, "]", PRETOK_ISOLATED, false, path);
    }
    if (strcmp(type, "Metaspace") == 0) {
        json_t *rep = json_object_get(pre, "replacement"), *ps = json_object_get(pre, "prepend_scheme");
        if (rep && !(json_is_string(rep) && strcmp(json_string_value(rep), SPM_SPACE) == 0))
            return owl_err(OWL_ERR_UNSUPPORTED, "%s: Metaspace with a replacement other than U+2581", path);
        if (pl->n || pl->metaspace) return owl_err(OWL_ERR_UNSUPPORTED, "%s: Metaspace after other pre-tokenizers", path);
        const char *scheme = json_string_value(ps);
        if (scheme && strcmp(scheme, "first") == 0) pl->meta_prepend = META_FIRST;
        else if (scheme && strcmp(scheme, "always") == 0) pl->meta_prepend = META_ALWAYS;
        else if (scheme && strcmp(scheme, "never") == 0) pl->meta_prepend = META_NEVER;
        else if (!ps) pl->meta_prepend = json_is_false(json_object_get(pre, "add_prefix_space")) ? META_NEVER : META_ALWAYS;
        else return owl_err(OWL_ERR_FORMAT, "%s: Metaspace prepend_scheme is not first, always or never", path);
        json_t *split = json_object_get(pre, "split");
        pl->meta_split = !split || json_is_true(split);
        pl->metaspace = true;
        return OWL_OK;
    }
    return owl_err(OWL_ERR_UNSUPPORTED, "%s: pre-tokenizer '%s' is not supported", path, type);
}

/* The normalizer's steps into nz; *spaces: it turns " " into "▁", *prefix:
 * it prepends "▁" (SentencePiece style). */
static owl_status build_normalizer(normalizer *nz, json_t *norm, bool *spaces, bool *prefix, const char *path) {
    if (!norm || json_is_null(norm)) return OWL_OK;
    const char *type = type_of(norm);
    if (!type) return owl_err(OWL_ERR_FORMAT, "%s: a normalizer without a type", path);
    static const struct {
        const char *name;
        norm_kind kind;
    } simple[] = {{"NFC", NORM_NFC},   {"NFD", NORM_NFD},         {"NFKC", NORM_NFKC},
                  {"NFKD", NORM_NFKD}, {"Lowercase", NORM_LOWERCASE}, {"StripAccents", NORM_STRIP_ACCENTS}};
    for (size_t i = 0; i < sizeof simple / sizeof simple[0]; i++)
        if (strcmp(type, simple[i].name) == 0) return normalizer_add(nz, simple[i].kind, NULL, 0, NULL, 0, false, false);
    if (strcmp(type, "Sequence") == 0) {
        json_t *list = json_object_get(norm, "normalizers"), *it;
        size_t i;
        if (!json_is_array(list)) return owl_err(OWL_ERR_FORMAT, "%s: normalizer Sequence without normalizers", path);
        json_array_foreach(list, i, it) {
            owl_status st = build_normalizer(nz, it, spaces, prefix, path);
            if (st) return st;
        }
        return OWL_OK;
    }
    if (strcmp(type, "Prepend") == 0) {
        json_t *pre = json_object_get(norm, "prepend");
        if (!json_is_string(pre)) return owl_err(OWL_ERR_FORMAT, "%s: Prepend normalizer without a prepend string", path);
        if (strcmp(json_string_value(pre), SPM_SPACE) == 0) *prefix = true;
        return normalizer_add(nz, NORM_PREPEND, json_string_value(pre), json_string_length(pre), NULL, 0, false, false);
    }
    if (strcmp(type, "Replace") == 0) {
        json_t *pat = json_object_get(norm, "pattern"), *to = json_object_get(norm, "content");
        json_t *lit = json_object_get(pat, "String"), *re = json_object_get(pat, "Regex");
        if (!json_is_string(to) || (!json_is_string(lit) && !json_is_string(re)))
            return owl_err(OWL_ERR_FORMAT, "%s: Replace normalizer without a String or Regex pattern and a content", path);
        if (json_is_string(lit)) {
            if (strcmp(json_string_value(lit), " ") == 0 && strcmp(json_string_value(to), SPM_SPACE) == 0) *spaces = true;
            return normalizer_add(nz, NORM_REPLACE, json_string_value(lit), json_string_length(lit),
                                  json_string_value(to), json_string_length(to), false, false);
        }
        owl_status st = normalizer_add(nz, NORM_REPLACE_RE, json_string_value(re), json_string_length(re),
                                       json_string_value(to), json_string_length(to), false, false);
        return st ? owl_err_prefix(st, "%s", path) : OWL_OK;
    }
    if (strcmp(type, "Strip") == 0) {
        json_t *l = json_object_get(norm, "strip_left"), *r = json_object_get(norm, "strip_right");
        return normalizer_add(nz, NORM_STRIP, NULL, 0, NULL, 0, !l || json_is_true(l), !r || json_is_true(r));
    }
    return owl_err(OWL_ERR_UNSUPPORTED, "%s: normalizer '%s' is not supported", path, type);
}

static bool str_is(json_t *v, const char *s) { return json_is_string(v) && strcmp(json_string_value(v), s) == 0; }

/* The decoder, for tokenizer_decode: ByteLevel (the pieces undo the byte
 * mapping), and the SentencePiece-style steps Replace "▁" -> " ",
 * ByteFallback, Fuse, Strip (one leading space) and Metaspace (which drops
 * the space it prepended), alone or in a Sequence ("decoders"). */
static owl_status decoder(tokenizer *t, json_t *dec, const char *path) {
    if (!dec || json_is_null(dec)) return OWL_OK;
    const char *type = json_string_value(json_object_get(dec, "type"));
    if (!type) return owl_err(OWL_ERR_FORMAT, "%s: decoder without a type", path);
    if (strcmp(type, "Sequence") == 0) {
        json_t *list = json_object_get(dec, "decoders"), *it;
        size_t i;
        if (!json_is_array(list)) return owl_err(OWL_ERR_FORMAT, "%s: decoder Sequence without decoders", path);
        json_array_foreach(list, i, it) {
            owl_status st = decoder(t, it, path);
            if (st) return st;
        }
        return OWL_OK;
    }
    if (strcmp(type, "ByteLevel") == 0 || strcmp(type, "ByteFallback") == 0 || strcmp(type, "Fuse") == 0) return OWL_OK;
    if (strcmp(type, "Replace") == 0) {
        if (str_is(json_object_get(json_object_get(dec, "pattern"), "String"), "\xE2\x96\x81") &&
            str_is(json_object_get(dec, "content"), " "))
            return OWL_OK;
        return owl_err(OWL_ERR_UNSUPPORTED, "%s: Replace decoder other than \"\xE2\x96\x81\" -> \" \"", path);
    }
    if (strcmp(type, "Strip") == 0) {
        json_t *start = json_object_get(dec, "start"), *stop = json_object_get(dec, "stop");
        if (!str_is(json_object_get(dec, "content"), " ") || !json_is_integer(start) || !json_is_integer(stop) ||
            json_integer_value(start) < 0 || json_integer_value(start) > 1 || json_integer_value(stop) != 0)
            return owl_err(OWL_ERR_UNSUPPORTED, "%s: Strip decoder other than one leading space", path);
        if (json_integer_value(start) == 1) t->strip_lead_space = true;
        return OWL_OK;
    }
    if (strcmp(type, "Metaspace") == 0) {
        json_t *ps = json_object_get(dec, "prepend_scheme");
        if (str_is(ps, "first") || str_is(ps, "always") || (!ps && json_is_true(json_object_get(dec, "add_prefix_space"))))
            t->strip_lead_space = true;
        return OWL_OK;
    }
    return owl_err(OWL_ERR_UNSUPPORTED, "%s: decoder '%s' is not supported", path, type);
}

static owl_status post_push(tokenizer *t, bool before, json_t *id, const char *path) {
    int *n = before ? &t->n_post_before : &t->n_post_after;
    owl_token *v = before ? t->post_before : t->post_after;
    if (!json_is_integer(id) || json_integer_value(id) < 0 || json_integer_value(id) >= t->n_vocab)
        return owl_err(OWL_ERR_FORMAT, "%s: post_processor: a special token id is not an id of the vocabulary", path);
    if (*n == TOK_MAX_POST)
        return owl_err(OWL_ERR_UNSUPPORTED, "%s: post_processor adds more than %d tokens", path, TOK_MAX_POST);
    v[(*n)++] = (owl_token)json_integer_value(id);
    return OWL_OK;
}

/* What add_special_tokens=True adds around one sequence: TemplateProcessing
 * ("single": [{"SpecialToken": {"id": name}}, {"Sequence": {"id": "A"}}],
 * "special_tokens": {name: {"ids": [...]}}), Bert/RobertaProcessing
 * ("cls": [text, id], "sep": [text, id]), ByteLevel (adds nothing), or a
 * Sequence of them ("processors"). */
static owl_status post_processor(tokenizer *t, json_t *post, const char *path) {
    if (!post || json_is_null(post)) return OWL_OK;
    const char *type = json_string_value(json_object_get(post, "type"));
    if (!type) return owl_err(OWL_ERR_FORMAT, "%s: post_processor without a type", path);
    owl_status st;
    size_t i, j;
    json_t *it, *id;
    if (strcmp(type, "ByteLevel") == 0) return OWL_OK;
    if (strcmp(type, "Sequence") == 0) {
        json_t *list = json_object_get(post, "processors");
        if (!json_is_array(list)) return owl_err(OWL_ERR_FORMAT, "%s: post_processor Sequence without processors", path);
        json_array_foreach(list, i, it) {
            if ((st = post_processor(t, it, path))) return st;
        }
        return OWL_OK;
    }
    if (strcmp(type, "BertProcessing") == 0 || strcmp(type, "RobertaProcessing") == 0) {
        json_t *cls = json_object_get(post, "cls"), *sep = json_object_get(post, "sep");
        if (!json_is_array(cls) || !json_is_array(sep))
            return owl_err(OWL_ERR_FORMAT, "%s: %s without cls and sep", path, type);
        if ((st = post_push(t, true, json_array_get(cls, 1), path))) return st;
        return post_push(t, false, json_array_get(sep, 1), path);
    }
    if (strcmp(type, "TemplateProcessing") != 0)
        return owl_err(OWL_ERR_UNSUPPORTED, "%s: post_processor '%s' is not supported", path, type);
    json_t *single = json_object_get(post, "single"), *specials = json_object_get(post, "special_tokens");
    if (!json_is_array(single)) return owl_err(OWL_ERR_FORMAT, "%s: TemplateProcessing without a single template", path);
    bool seen_a = false;
    json_array_foreach(single, i, it) {
        json_t *sp = json_object_get(it, "SpecialToken");
        if (json_is_object(json_object_get(it, "Sequence"))) {
            seen_a = true;
            continue;
        }
        const char *name = json_string_value(json_object_get(sp, "id"));
        if (!name) return owl_err(OWL_ERR_FORMAT, "%s: TemplateProcessing single[%zu] is neither a SpecialToken nor a Sequence", path, i);
        json_t *ids = json_object_get(json_object_get(specials, name), "ids");
        if (!json_is_array(ids))
            return owl_err(OWL_ERR_FORMAT, "%s: TemplateProcessing: special token '%.40s' has no ids", path, name);
        json_array_foreach(ids, j, id) {
            if ((st = post_push(t, !seen_a, id, path))) return st;
        }
    }
    return OWL_OK;
}

/* The added tokens with normalized set, by their normalized text: the
 * text pool, the map and the lengths partition looks for. */
static int cmp_desc(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x > y ? -1 : x < y;
}

static owl_status normalized_added(tokenizer *t, const char *path) {
    size_t count = 0, pool = 0;
    int32_t n = t->n_vocab;
    char **txt = owl_xcalloc((size_t)n, sizeof *txt);
    size_t *len = owl_xcalloc((size_t)n, sizeof *len);
    owl_status st = txt && len ? OWL_OK : OWL_ERR_NOMEM;
    for (int32_t id = 0; st == OWL_OK && id < n; id++) {
        if ((t->tokens[id].attr & (TOK_ADDED | TOK_NORMALIZED)) != (TOK_ADDED | TOK_NORMALIZED)) continue;
        if (t->norm) {
            st = normalizer_apply(t->norm, tok_text(t, id), t->tokens[id].len, &txt[id], &len[id]);
            if (st) owl_err_prefix(st, "%s: added token %d", path, id);
        } else if (!(txt[id] = owl_xstrndup(tok_text(t, id), t->tokens[id].len))) {
            st = OWL_ERR_NOMEM;
        } else {
            len[id] = t->tokens[id].len;
        }
        if (st == OWL_OK && len[id]) count++, pool += len[id];
    }
    if (st == OWL_OK) {
        t->nadd_text = owl_xmalloc(pool ? pool : 1);
        t->nadd_lens = owl_xcalloc(count ? count : 1, sizeof *t->nadd_lens);
        t->nadd = owl_xcalloc(count ? count : 1, sizeof *t->nadd);
        if (!t->nadd_text || !t->nadd_lens || !t->nadd || (st = strmap_init(&t->nadd_map, count))) st = OWL_ERR_NOMEM;
    }
    size_t off = 0;
    for (int32_t id = 0; st == OWL_OK && id < n; id++) {
        if (!txt[id] || !len[id]) continue;
        memcpy(t->nadd_text + off, txt[id], len[id]);
        if (strmap_get(&t->nadd_map, t->nadd_text + off, len[id]) < 0)
            strmap_put(&t->nadd_map, t->nadd_text + off, len[id], id);
        t->nadd_first[(unsigned char)txt[id][0]] = true;
        t->nadd[t->n_nadd++] = (struct nadd_entry){id, (uint32_t)off, (uint32_t)len[id]};
        bool seen = false;
        for (size_t k = 0; k < t->n_nadd_lens; k++) seen |= t->nadd_lens[k] == len[id];
        if (!seen) t->nadd_lens[t->n_nadd_lens++] = (uint32_t)len[id];
        off += len[id];
    }
    if (st == OWL_OK) qsort(t->nadd_lens, t->n_nadd_lens, sizeof *t->nadd_lens, cmp_desc);
    for (int32_t id = 0; txt && id < n; id++) free(txt[id]);
    free(txt);
    free(len);
    return st;
}

/* An id from the file: an integer in [0, limit). */
static bool valid_id(json_t *v, int64_t limit) {
    return json_is_integer(v) && json_integer_value(v) >= 0 && json_integer_value(v) < limit;
}

static owl_status load(tokenizer *t, json_t *tj, json_t *cfg, const char *path) {
    owl_status st;
    if (!json_is_object(tj)) return owl_err(OWL_ERR_FORMAT, "%s: not a JSON object", path);
    json_t *model = json_object_get(tj, "model");
    if (!json_is_object(model)) return owl_err(OWL_ERR_FORMAT, "%s: no model object", path);
    const char *mtype = type_of(model);
    if (!mtype) {
        if (!json_object_get(model, "merges")) return owl_err(OWL_ERR_FORMAT, "%s: no model.type", path);
        mtype = "BPE"; /* tokenizers reads a model without a type by its fields */
    }
    if (strcmp(mtype, "BPE") != 0)
        return owl_err(OWL_ERR_UNSUPPORTED, "%s: model type '%s' is not supported (BPE is)", path, mtype);
    json_t *bf = json_object_get(model, "byte_fallback"), *im = json_object_get(model, "ignore_merges");
    if ((bf && !json_is_boolean(bf)) || (im && !json_is_boolean(im)))
        return owl_err(OWL_ERR_FORMAT, "%s: model.byte_fallback and model.ignore_merges must be booleans", path);
    bool byte_fallback = json_is_true(bf);
    t->ignore_merges = json_is_true(im);
    t->hf = true;
    static const char *const affixes[] = {"continuing_subword_prefix", "end_of_word_suffix"};
    for (int k = 0; k < 2; k++) {
        json_t *v = json_object_get(model, affixes[k]);
        if (v && !json_is_null(v) && !(json_is_string(v) && json_string_length(v) == 0))
            return owl_err(OWL_ERR_UNSUPPORTED, "%s: model.%s is not supported", path, affixes[k]);
    }
    json_t *drop = json_object_get(model, "dropout");
    if (drop && !json_is_null(drop) && !(json_is_number(drop) && json_number_value(drop) == 0))
        return owl_err(OWL_ERR_UNSUPPORTED, "%s: BPE dropout is not supported", path);

    /* normalizer, pre-tokenizer: which kind of BPE this is */
    bool spaces = false, prefix = false;
    if ((st = normalizer_new(&t->norm))) return st;
    if ((st = build_normalizer(t->norm, json_object_get(tj, "normalizer"), &spaces, &prefix, path))) return st;
    if (normalizer_steps(t->norm) == 0) {
        normalizer_free(t->norm);
        t->norm = NULL;
    }
    pre_plan pl = {0};
    st = pre_tokenizer(&pl, json_object_get(tj, "pre_tokenizer"), path);
    const char *dec = type_of(json_object_get(tj, "decoder"));
    bool spm = pl.metaspace || (spaces && !pl.byte_level);
    if (st == OWL_OK && spm) {
        if (pl.n || pl.byte_level) {
            st = owl_err(OWL_ERR_UNSUPPORTED, "%s: SentencePiece-style BPE (spaces as U+2581) with split pre-tokenizers",
                         path);
        } else {
            t->kind = TOK_KIND_SPM;
            t->meta_prepend = pl.metaspace ? pl.meta_prepend : META_NONE;
            t->spm_split = pl.metaspace && pl.meta_split;
            t->add_space_prefix = pl.metaspace ? pl.meta_prepend == META_FIRST || pl.meta_prepend == META_ALWAYS : prefix;
        }
    } else if (st == OWL_OK) {
        if (byte_fallback)
            st = owl_err(OWL_ERR_UNSUPPORTED, "%s: byte_fallback BPE without SentencePiece-style spaces (a Metaspace "
                                              "pre-tokenizer, or a normalizer replacing \" \" by U+2581)", path);
        else if (!pl.byte_level && !(dec && strcmp(dec, "ByteLevel") == 0))
            st = owl_err(OWL_ERR_UNSUPPORTED, "%s: BPE that is neither byte-level (ByteLevel pre-tokenizer or decoder) "
                                              "nor SentencePiece-style", path);
        else {
            t->kind = TOK_KIND_BPE;
            t->prefix_space = pl.prefix_space;
            st = pretok_new_steps(pl.step, pl.n, &t->pretok);
            if (st) owl_err_prefix(st, "%s", path);
        }
    }
    for (int k = 0; k < MAX_STEPS; k++) free(pl.owned[k]);
    if (st) return st;
    snprintf(t->pre_name, sizeof t->pre_name, "tokenizer.json");

    /* ids: model.vocab, then added_tokens over them */
    json_t *vocab = json_object_get(model, "vocab"), *added = json_object_get(tj, "added_tokens"), *v;
    if (!json_is_object(vocab)) return owl_err(OWL_ERR_FORMAT, "%s: model.vocab is not an object", path);
    if (added && !json_is_array(added) && !json_is_null(added))
        return owl_err(OWL_ERR_FORMAT, "%s: added_tokens is not an array", path);
    /* ids may leave holes, but not many: at most twice as many ids as entries */
    int64_t entries = (int64_t)json_object_size(vocab) + (int64_t)json_array_size(added);
    int64_t limit = entries * 2 + 1024 < INT32_MAX / 2 ? entries * 2 + 1024 : INT32_MAX / 2;
    int64_t max_id = -1;
    const char *key;
    json_object_foreach(vocab, key, v) {
        if (!valid_id(v, limit))
            return owl_err(OWL_ERR_FORMAT, "%s: model.vocab[\"%.40s\"] is not an id (an integer from 0 to %lld)", path,
                           key, (long long)limit - 1);
        if (json_integer_value(v) > max_id) max_id = json_integer_value(v);
    }
    size_t i;
    json_array_foreach(added, i, v) {
        json_t *c = json_object_get(v, "content");
        if (!valid_id(json_object_get(v, "id"), limit) || !json_is_string(c) || json_string_length(c) == 0)
            return owl_err(OWL_ERR_FORMAT, "%s: added_tokens[%zu] has no valid id (0 to %lld) or no content", path, i,
                           (long long)limit - 1);
        static const char *const flags[] = {"special", "lstrip", "rstrip", "normalized", "single_word"};
        for (int k = 0; k < 5; k++) {
            json_t *f = json_object_get(v, flags[k]);
            if (f && !json_is_boolean(f))
                return owl_err(OWL_ERR_FORMAT, "%s: added_tokens[%zu].%s is not a boolean", path, i, flags[k]);
        }
        if (json_integer_value(json_object_get(v, "id")) > max_id) max_id = json_integer_value(json_object_get(v, "id"));
    }
    if (max_id < 0) return owl_err(OWL_ERR_FORMAT, "%s: empty vocabulary", path);
    int32_t n = (int32_t)max_id + 1;
    hf_tok *tok = owl_xcalloc((size_t)n, sizeof *tok);
    if (!tok) return OWL_ERR_NOMEM;
    json_object_foreach(vocab, key, v) {
        int32_t id = (int32_t)json_integer_value(v);
        tok[id].s = key;
        tok[id].len = strlen(key);
        tok[id].attr = TOK_NORMAL;
    }
    json_array_foreach(added, i, v) {
        int32_t id = (int32_t)json_integer_value(json_object_get(v, "id"));
        bool special = json_is_true(json_object_get(v, "special"));
        json_t *nm = json_object_get(v, "normalized");
        tok[id].s = json_string_value(json_object_get(v, "content"));
        tok[id].len = json_string_length(json_object_get(v, "content"));
        tok[id].attr = (special ? TOK_CONTROL : TOK_USER_DEFINED) | TOK_ADDED;
        if (json_is_true(json_object_get(v, "lstrip"))) tok[id].attr |= TOK_LSTRIP;
        if (json_is_true(json_object_get(v, "rstrip"))) tok[id].attr |= TOK_RSTRIP;
        if (json_is_true(json_object_get(v, "single_word"))) tok[id].attr |= TOK_SINGLE_WORD;
        if (nm ? json_is_true(nm) : !special) tok[id].attr |= TOK_NORMALIZED;
    }
    size_t pool = 0;
    for (int32_t k = 0; k < n; k++) pool += (tok[k].s ? tok[k].len : 24) + 1;
    if (pool > UINT32_MAX || (st = vocab_alloc(t, n, pool))) {
        free(tok);
        return pool > UINT32_MAX ? owl_err(OWL_ERR_UNSUPPORTED, "%s: token texts too large", path) : OWL_ERR_NOMEM;
    }
    for (int32_t k = 0; k < n; k++) {
        if (tok[k].s && tok[k].len) {
            vocab_set(t, k, tok[k].s, tok[k].len, 0, tok[k].attr);
        } else { /* a hole in the ids, as the GGUF converter fills them */
            char pad[24];
            int l = snprintf(pad, sizeof pad, "[PAD%d]", k);
            vocab_set(t, k, pad, (size_t)l, 0, TOK_UNUSED);
        }
    }
    free(tok);
    if ((st = normalized_added(t, path))) return st;

    json_t *merges = json_object_get(model, "merges"), *m;
    if (!json_is_array(merges)) return owl_err(OWL_ERR_FORMAT, "%s: model.merges is not an array", path);
    if (!spm && (st = pairmap_init(&t->merges, json_array_size(merges)))) return st;
    bool *formed = spm ? owl_xcalloc((size_t)n, sizeof *formed) : NULL;
    if (spm && !formed) return OWL_ERR_NOMEM;
    char *buf = NULL;
    size_t cap = 0;
    json_array_foreach(merges, i, m) {
        if (i >= INT32_MAX) {
            st = owl_err(OWL_ERR_UNSUPPORTED, "%s: more than %d merges", path, INT32_MAX);
            break;
        }
        const char *a = NULL, *b = NULL;
        size_t la = 0, lb = 0;
        if (json_is_string(m)) { /* "left right" */
            const char *s = json_string_value(m);
            size_t len = json_string_length(m);
            const char *sp = len >= 3 ? memchr(s + 1, ' ', len - 2) : NULL;
            if (sp) {
                a = s;
                la = (size_t)(sp - s);
                b = sp + 1;
                lb = len - la - 1;
            }
        } else if (json_is_array(m) && json_array_size(m) == 2 && json_is_string(json_array_get(m, 0)) &&
                   json_is_string(json_array_get(m, 1))) {
            a = json_string_value(json_array_get(m, 0));
            la = json_string_length(json_array_get(m, 0));
            b = json_string_value(json_array_get(m, 1));
            lb = json_string_length(json_array_get(m, 1));
        }
        if (!a || !la || !lb) {
            st = owl_err(OWL_ERR_FORMAT, "%s: model.merges[%zu] is neither \"a b\" nor [\"a\", \"b\"]", path, i);
            break;
        }
        if (la + lb > cap) {
            char *nb = owl_xrealloc(buf, la + lb);
            if (!nb) {
                st = OWL_ERR_NOMEM;
                break;
            }
            buf = nb;
            cap = la + lb;
        }
        memcpy(buf, a, la);
        memcpy(buf + la, b, lb);
        int32_t ia = strmap_get(&t->text_to_id, a, la), ib = strmap_get(&t->text_to_id, b, lb);
        int32_t ab = strmap_get(&t->text_to_id, buf, la + lb);
        if (ia < 0 || ib < 0 || ab < 0) { /* as tokenizers: a merge must stay inside the vocabulary */
            const char *what = ia < 0 ? a : ib < 0 ? b : buf;
            size_t wl = ia < 0 ? la : ib < 0 ? lb : la + lb;
            st = owl_err(OWL_ERR_FORMAT, "%s: model.merges[%zu]: '%.*s' is not in the vocabulary", path, i,
                         (int)(wl > 40 ? 40 : wl), what);
            break;
        }
        if (!spm) {
            pairmap_put_first(&t->merges, (uint64_t)(uint32_t)ia << 32 | (uint32_t)ib, (int32_t)i, ab);
            continue;
        }
        /* SentencePiece-style: the piece a merge forms scores -rank */
        if (!formed[ab]) {
            formed[ab] = true;
            t->tokens[ab].score = -(float)i;
        }
    }
    free(buf);
    if (spm && st == OWL_OK) {
        for (int32_t k = 0; k < n; k++) {
            tok_entry *e = &t->tokens[k];
            const char *txt = tok_text(t, k);
            uint32_t cpt;
            if (!(e->attr & TOK_NORMAL)) continue;
            if (byte_fallback && e->len == 6 && strncmp(txt, "<0x", 3) == 0 && txt[5] == '>' &&
                isxdigit((unsigned char)txt[3]) && isxdigit((unsigned char)txt[4]))
                e->attr = TOK_BYTE;
            else if (!formed[k] && utf8_decode((const unsigned char *)txt, e->len, &cpt) != e->len)
                e->attr |= TOK_NOMERGE; /* more than one character, and no merge forms it */
        }
    }
    free(formed);
    if (st) return st;
    json_t *unk = json_object_get(model, "unk_token");
    if (unk && !json_is_null(unk)) {
        if (!json_is_string(unk)) return owl_err(OWL_ERR_FORMAT, "%s: model.unk_token is not a string", path);
        t->unk = strmap_get(&t->text_to_id, json_string_value(unk), json_string_length(unk));
        if (t->unk < 0)
            return owl_err(OWL_ERR_FORMAT, "%s: model.unk_token '%.40s' is not in the vocabulary", path,
                           json_string_value(unk));
    }

    /* BOS/EOS: tokenizer_config.json names them; what add_special_tokens
     * adds is the post-processor's alone (as in Hugging Face tokenizers) */
    const char *bos = str_of(json_object_get(cfg, "bos_token")), *eos = str_of(json_object_get(cfg, "eos_token"));
    if (bos) t->bos = strmap_get(&t->text_to_id, bos, strlen(bos));
    if (eos) t->eos = strmap_get(&t->text_to_id, eos, strlen(eos));
    t->has_post = true;
    if ((st = decoder(t, json_object_get(tj, "decoder"), path))) return st;
    if ((st = post_processor(t, json_object_get(tj, "post_processor"), path))) return st;
    t->add_bos = t->n_post_before > 0;
    t->add_eos = t->n_post_after > 0;
    if (t->bos < 0 && t->n_post_before) t->bos = t->post_before[0];
    if (t->eos < 0 && t->n_post_after) t->eos = t->post_after[t->n_post_after - 1];

    json_t *tmpl = json_object_get(cfg, "chat_template");
    const char *ts = json_string_value(tmpl);
    if (json_is_array(tmpl)) { /* [{"name": "default", "template": ...}, ...] */
        json_array_foreach(tmpl, i, v) {
            const char *name = json_string_value(json_object_get(v, "name"));
            if (name && strcmp(name, "default") == 0) ts = json_string_value(json_object_get(v, "template"));
        }
    }
    if (ts && !(t->chat_template = owl_xstrndup(ts, strlen(ts)))) return OWL_ERR_NOMEM;
    return vocab_finish(t, "", 0);
}

/* A JSON file read whole, then parsed from memory (jansson's own file
 * reading goes a character at a time). */
static json_t *load_json(const char *path, size_t flags, json_error_t *err) {
    mapfile mf;
    if (mapfile_open(path, &mf) != OWL_OK || !mf.data) return json_load_file(path, flags, err); /* reports it */
    json_t *j = json_loadb((const char *)mf.data, mf.size, flags, err);
    mapfile_close(&mf);
    return j;
}

/* The chat template of newer transformers, in its own file
 * (chat_template.jinja) when tokenizer_config.json has none. */
static owl_status read_template(const char *dir, tokenizer *t) {
    char path[4096];
    snprintf(path, sizeof path, "%s/chat_template.jinja", dir);
    FILE *f = fopen(path, "rb");
    if (!f) return OWL_OK;
    enum { MAX = 1 << 20 };
    char *buf = owl_xmalloc(MAX + 1);
    size_t n = buf ? fread(buf, 1, MAX + 1, f) : 0;
    bool err = ferror(f);
    fclose(f);
    if (!buf) return OWL_ERR_NOMEM;
    if (err || n > MAX) {
        free(buf);
        return owl_err(err ? OWL_ERR_IO : OWL_ERR_FORMAT, "%s: %s", path, err ? "cannot read" : "larger than 1 MiB");
    }
    buf[n] = 0;
    if (memchr(buf, 0, n)) {
        free(buf);
        return owl_err(OWL_ERR_FORMAT, "%s: holds a NUL byte", path);
    }
    t->chat_template = buf;
    return OWL_OK;
}

owl_status tokenizer_from_hf_dir(const char *dir, tokenizer **out) {
    *out = NULL;
    char path[4096], cpath[4096];
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    snprintf(cpath, sizeof cpath, "%s/tokenizer_config.json", dir);
    json_error_t jerr;
    json_t *tj = load_json(path, JSON_REJECT_DUPLICATES, &jerr);
    if (!tj) {
        FILE *f = fopen(path, "rb");
        if (!f) return owl_err(OWL_ERR_IO, "%s: cannot open", path);
        fclose(f);
        return owl_err(OWL_ERR_FORMAT, "%s:%d: %s", path, jerr.line, jerr.text);
    }
    json_t *cfg = NULL; /* optional, but not broken */
    FILE *cf = fopen(cpath, "rb");
    if (cf) {
        fclose(cf);
        cfg = json_load_file(cpath, JSON_DECODE_INT_AS_REAL, &jerr);
        if (!cfg || !json_is_object(cfg)) {
            json_decref(tj);
            json_decref(cfg);
            return cfg ? owl_err(OWL_ERR_FORMAT, "%s: not a JSON object", cpath)
                       : owl_err(OWL_ERR_FORMAT, "%s:%d: %s", cpath, jerr.line, jerr.text);
        }
    }
    tokenizer *t = owl_xcalloc(1, sizeof *t);
    owl_status st = OWL_ERR_NOMEM;
    if (t) {
        t->bos = t->eos = t->eot = t->eom = t->unk = t->sep = t->pad = -1;
        t->clean_spaces = json_is_true(json_object_get(cfg, "clean_up_tokenization_spaces"));
        st = load(t, tj, cfg, path);
    }
    json_decref(tj);
    json_decref(cfg);
    if (st == OWL_OK && !t->chat_template) st = read_template(dir, t);
    if (st) {
        tokenizer_free(t);
        return st;
    }
    *out = t;
    return OWL_OK;
}
