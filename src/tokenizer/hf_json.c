/* hf_json.c — builds a tokenizer from a Hugging Face folder: tokenizer.json
 * (the vocabulary, merges, added tokens, normalizer, pre-tokenizer) and
 * tokenizer_config.json (BOS/EOS, add_bos_token, the chat template).
 *
 * Read here: model {type "BPE", vocab {text: id}, merges ["a b"] or
 * [["a", "b"]], ignore_merges}, added_tokens [{id, content, special,
 * lstrip, rstrip}], normalizer (null, NFC, or an empty Sequence),
 * pre_tokenizer (Split regexes with behavior "Isolated", ByteLevel,
 * Digits, alone or in a Sequence), decoder.
 *
 * Two kinds: byte-level BPE (a ByteLevel pre-tokenizer or decoder), and
 * SentencePiece-style BPE (byte_fallback, the normalizer Prepend "▁" then
 * Replace " " -> "▁", no pre-tokenizer: Llama 2, Mistral), which runs on
 * owl's SentencePiece merger with each piece scored by minus the rank of
 * the first merge that forms it (pieces no merge forms are never merged),
 * which merges the same pairs in the same order as Hugging Face's BPE.
 * Anything else is refused with OWL_ERR_UNSUPPORTED saying what.
 * Special added tokens become control tokens (parsed with parse_special),
 * the others user-defined (always kept whole), as in the GGUF converter. */
#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/mem.h"
#include "../base/status.h"
#include "vocab.h"

#define RE_BYTELEVEL "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+"
#define MAX_RE 8

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

/* The regexes one pre-tokenizer (or a Sequence of them) stands for. */
static owl_status pre_regexes(json_t *pre, const char **re, int *n, bool *byte_level, const char *path) {
    if (!pre || json_is_null(pre)) return OWL_OK;
    const char *type = json_string_value(json_object_get(pre, "type"));
    if (!type) return owl_err(OWL_ERR_FORMAT, "%s: pre_tokenizer without a type", path);
    if (strcmp(type, "Sequence") == 0) {
        json_t *list = json_object_get(pre, "pretokenizers"), *it;
        size_t i;
        json_array_foreach(list, i, it) {
            owl_status st = pre_regexes(it, re, n, byte_level, path);
            if (st) return st;
        }
        return OWL_OK;
    }
    if (*n == MAX_RE) return owl_err(OWL_ERR_UNSUPPORTED, "%s: more than %d pre-tokenizer steps", path, MAX_RE);
    if (strcmp(type, "Split") == 0) {
        const char *beh = json_string_value(json_object_get(pre, "behavior"));
        const char *rx = json_string_value(json_object_get(json_object_get(pre, "pattern"), "Regex"));
        if (!rx || !beh || strcmp(beh, "Isolated") != 0 || json_is_true(json_object_get(pre, "invert")))
            return owl_err(OWL_ERR_UNSUPPORTED, "%s: Split pre-tokenizer other than an isolating regex", path);
        re[(*n)++] = rx;
        return OWL_OK;
    }
    if (strcmp(type, "ByteLevel") == 0) {
        if (json_is_true(json_object_get(pre, "add_prefix_space")))
            return owl_err(OWL_ERR_UNSUPPORTED, "%s: ByteLevel pre-tokenizer with add_prefix_space", path);
        *byte_level = true;
        json_t *ur = json_object_get(pre, "use_regex");
        if (!ur || json_is_true(ur)) re[(*n)++] = RE_BYTELEVEL;
        return OWL_OK;
    }
    if (strcmp(type, "Digits") == 0) {
        re[(*n)++] = json_is_true(json_object_get(pre, "individual_digits")) ? "\\p{N}" : "\\p{N}+";
        return OWL_OK;
    }
    return owl_err(OWL_ERR_UNSUPPORTED, "%s: pre-tokenizer '%s' is not supported", path, type);
}

static owl_status check_normalizer(json_t *norm, bool *nfc, const char *path) {
    if (!norm || json_is_null(norm)) return OWL_OK;
    const char *type = json_string_value(json_object_get(norm, "type"));
    if (type && strcmp(type, "NFC") == 0) {
        *nfc = true;
        return OWL_OK;
    }
    if (type && strcmp(type, "Sequence") == 0) {
        json_t *list = json_object_get(norm, "normalizers"), *it;
        size_t i;
        json_array_foreach(list, i, it) {
            owl_status st = check_normalizer(it, nfc, path);
            if (st) return st;
        }
        return OWL_OK;
    }
    return owl_err(OWL_ERR_UNSUPPORTED, "%s: normalizer '%s' is not supported (byte-level BPE with NFC or none is)",
                   path, type ? type : "?");
}

/* Prepend "▁" then Replace " " -> "▁": SentencePiece's treatment of spaces */
static bool spm_normalizer(json_t *norm) {
    if (!json_is_object(norm) || !json_is_string(json_object_get(norm, "type")) ||
        strcmp(json_string_value(json_object_get(norm, "type")), "Sequence") != 0)
        return false;
    json_t *list = json_object_get(norm, "normalizers");
    if (json_array_size(list) != 2) return false;
    json_t *a = json_array_get(list, 0), *b = json_array_get(list, 1);
    const char *ta = json_string_value(json_object_get(a, "type")), *tb = json_string_value(json_object_get(b, "type"));
    const char *pre = json_string_value(json_object_get(a, "prepend"));
    const char *from = json_string_value(json_object_get(json_object_get(b, "pattern"), "String"));
    const char *to = json_string_value(json_object_get(b, "content"));
    return ta && tb && pre && from && to && strcmp(ta, "Prepend") == 0 && strcmp(tb, "Replace") == 0 &&
           strcmp(pre, "\xE2\x96\x81") == 0 && strcmp(from, " ") == 0 && strcmp(to, "\xE2\x96\x81") == 0;
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

static owl_status load(tokenizer *t, json_t *tj, json_t *cfg, const char *path) {
    owl_status st;
    json_t *model = json_object_get(tj, "model");
    const char *mtype = json_string_value(json_object_get(model, "type"));
    if (!mtype) return owl_err(OWL_ERR_FORMAT, "%s: no model.type", path);
    if (strcmp(mtype, "BPE") != 0) return owl_err(OWL_ERR_UNSUPPORTED, "%s: model type '%s' (BPE is supported)", path, mtype);
    bool spm = json_is_true(json_object_get(model, "byte_fallback"));
    t->ignore_merges = json_is_true(json_object_get(model, "ignore_merges"));
    if (spm) {
        if (!spm_normalizer(json_object_get(tj, "normalizer")) || !json_is_null(json_object_get(tj, "pre_tokenizer")))
            return owl_err(OWL_ERR_UNSUPPORTED, "%s: byte_fallback BPE other than SentencePiece-style (normalizer "
                                                "Prepend U+2581, Replace spaces, no pre-tokenizer)", path);
        t->kind = TOK_KIND_SPM;
        t->add_space_prefix = true;
        snprintf(t->pre_name, sizeof t->pre_name, "tokenizer.json");
    } else {
        t->kind = TOK_KIND_BPE;
        if ((st = check_normalizer(json_object_get(tj, "normalizer"), &t->nfc, path))) return st;
        const char *re[MAX_RE];
        int n_re = 0;
        bool byte_level = false;
        if ((st = pre_regexes(json_object_get(tj, "pre_tokenizer"), re, &n_re, &byte_level, path))) return st;
        const char *dec = json_string_value(json_object_get(json_object_get(tj, "decoder"), "type"));
        if (!byte_level && !(dec && strcmp(dec, "ByteLevel") == 0))
            return owl_err(OWL_ERR_UNSUPPORTED, "%s: not a byte-level BPE (no ByteLevel pre-tokenizer or decoder)", path);
        if ((st = pretok_new_regexes(re, n_re, &t->pretok))) return owl_err_prefix(st, "%s", path);
        snprintf(t->pre_name, sizeof t->pre_name, "tokenizer.json");
    }

    /* ids: model.vocab, then added_tokens over them */
    json_t *vocab = json_object_get(model, "vocab"), *added = json_object_get(tj, "added_tokens"), *v;
    if (!json_is_object(vocab)) return owl_err(OWL_ERR_FORMAT, "%s: model.vocab is not an object", path);
    int64_t max_id = -1;
    const char *key;
    json_object_foreach(vocab, key, v) {
        if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) >= INT32_MAX / 2)
            return owl_err(OWL_ERR_FORMAT, "%s: model.vocab[\"%.40s\"] is not a valid id", path, key);
        if (json_integer_value(v) > max_id) max_id = json_integer_value(v);
    }
    size_t i;
    json_array_foreach(added, i, v) {
        json_t *id = json_object_get(v, "id");
        if (!json_is_integer(id) || json_integer_value(id) < 0 || json_integer_value(id) >= INT32_MAX / 2 ||
            !json_is_string(json_object_get(v, "content")))
            return owl_err(OWL_ERR_FORMAT, "%s: added_tokens[%zu] has no valid id or content", path, i);
        if (json_integer_value(id) > max_id) max_id = json_integer_value(id);
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
        tok[id].s = json_string_value(json_object_get(v, "content"));
        tok[id].len = json_string_length(json_object_get(v, "content"));
        tok[id].attr = json_is_true(json_object_get(v, "special")) ? TOK_CONTROL : TOK_USER_DEFINED;
        if (json_is_true(json_object_get(v, "lstrip"))) tok[id].attr |= TOK_LSTRIP;
        if (json_is_true(json_object_get(v, "rstrip"))) tok[id].attr |= TOK_RSTRIP;
    }
    size_t pool = 0;
    for (int32_t k = 0; k < n; k++) pool += (tok[k].s ? tok[k].len : 24) + 1;
    if (pool > UINT32_MAX || tok == NULL || (st = vocab_alloc(t, n, pool))) {
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

    json_t *merges = json_object_get(model, "merges"), *m;
    if (!json_is_array(merges)) return owl_err(OWL_ERR_FORMAT, "%s: model.merges is not an array", path);
    if (!spm && (st = pairmap_init(&t->merges, json_array_size(merges)))) return st;
    bool *formed = spm ? owl_xcalloc((size_t)n, sizeof *formed) : NULL;
    if (spm && !formed) return OWL_ERR_NOMEM;
    char *buf = NULL;
    size_t cap = 0;
    json_array_foreach(merges, i, m) {
        if (i > INT32_MAX) break;
        const char *a, *b;
        size_t la, lb;
        if (json_is_string(m)) { /* "left right" */
            const char *s = json_string_value(m);
            size_t len = json_string_length(m);
            const char *sp = len >= 3 ? memchr(s + 1, ' ', len - 1) : NULL;
            if (!sp) continue;
            a = s;
            la = (size_t)(sp - s);
            b = sp + 1;
            lb = len - la - 1;
        } else if (json_is_array(m) && json_array_size(m) == 2 && json_is_string(json_array_get(m, 0)) &&
                   json_is_string(json_array_get(m, 1))) {
            a = json_string_value(json_array_get(m, 0));
            la = json_string_length(json_array_get(m, 0));
            b = json_string_value(json_array_get(m, 1));
            lb = json_string_length(json_array_get(m, 1));
        } else {
            st = owl_err(OWL_ERR_FORMAT, "%s: model.merges[%zu] is neither \"a b\" nor [\"a\", \"b\"]", path, i);
            break;
        }
        if (!spm) {
            if ((st = vocab_add_merge(t, a, la, b, lb, (int32_t)i, &buf, &cap))) break;
            continue;
        }
        /* SentencePiece-style: the piece a merge forms scores -rank */
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
        int32_t ab = strmap_get(&t->text_to_id, buf, la + lb);
        if (ab >= 0 && !formed[ab] && strmap_get(&t->text_to_id, a, la) >= 0 && strmap_get(&t->text_to_id, b, lb) >= 0) {
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
            if (e->len == 6 && strncmp(txt, "<0x", 3) == 0 && txt[5] == '>' && isxdigit((unsigned char)txt[3]) &&
                isxdigit((unsigned char)txt[4]))
                e->attr = TOK_BYTE;
            else if (!formed[k] && utf8_decode((const unsigned char *)txt, e->len, &cpt) != e->len)
                e->attr |= TOK_NOMERGE; /* more than one character, and no merge forms it */
        }
        const char *unk = json_string_value(json_object_get(model, "unk_token"));
        if (unk) t->unk = strmap_get(&t->text_to_id, unk, strlen(unk));
    }
    free(formed);
    if (st) return st;

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

owl_status tokenizer_from_hf_dir(const char *dir, tokenizer **out) {
    *out = NULL;
    char path[4096], cpath[4096];
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    snprintf(cpath, sizeof cpath, "%s/tokenizer_config.json", dir);
    json_error_t jerr;
    json_t *tj = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (!tj) {
        FILE *f = fopen(path, "rb");
        if (!f) return owl_err(OWL_ERR_IO, "%s: cannot open", path);
        fclose(f);
        return owl_err(OWL_ERR_FORMAT, "%s:%d: %s", path, jerr.line, jerr.text);
    }
    json_t *cfg = json_load_file(cpath, 0, &jerr); /* optional */
    tokenizer *t = owl_xcalloc(1, sizeof *t);
    owl_status st = OWL_ERR_NOMEM;
    if (t) {
        t->bos = t->eos = t->eot = t->eom = t->unk = t->sep = t->pad = -1;
        t->clean_spaces = json_is_true(json_object_get(cfg, "clean_up_tokenization_spaces"));
        st = load(t, tj, cfg, path);
    }
    json_decref(tj);
    json_decref(cfg);
    if (st) {
        tokenizer_free(t);
        return st;
    }
    *out = t;
    return OWL_OK;
}
