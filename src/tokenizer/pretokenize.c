/* pretokenize.c — regex pre-tokenizers on PCRE2; see pretokenize.h.
 *
 * The regex lists per pre-tokenizer follow llama.cpp's llama-vocab.cpp
 * (commit c392e50), the version the ggml-vocab-*.inp/.out test files come
 * with; they are the pre_tokenizer "Split" regexes of each model's
 * tokenizer.json. Semantics of a list: every regex in turn cuts every
 * current piece into its matches and the gaps between them (a gap is a
 * piece too). Matching of a piece sees only that piece (lookaheads stop at
 * its end). "$" matches only at the very end of a piece. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "pretokenize.h"

#include <pcre2.h>
#include <stdlib.h>
#include <string.h>

#include "../base/mem.h"
#include "../base/status.h"
#include "vocab.h"

#define MAX_REGEX 8

/* the White_Space code points, the set \s stands for here */
#define WS_SET "\\t-\\r \\x{85}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{202F}\\x{205F}\\x{3000}"

/* the GPT-2 regex, used on its own and inside other lists */
#define RE_GPT2 "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)"
#define RE_LLAMA3 \
    "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| " \
    "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"

static const char *const regex_lists[PRETOK_COUNT][MAX_REGEX] = {
    [PRETOK_DEFAULT] = {"[\\p{P}\\$\\+<=>\\^~\\|]+", RE_GPT2, "\\p{N}+", "[0-9][0-9][0-9]"},
    [PRETOK_LLAMA3] = {RE_LLAMA3},
    [PRETOK_DEEPSEEK_LLM] =
        {
            "[\\r\\n]",
            "\\s?[A-Za-z\\x{B5}\\x{C0}-\\x{D6}\\x{D8}-\\x{F6}\\x{F8}-\\x{1BA}\\x{1BC}-\\x{1BF}\\x{1C4}-\\x{293}\\x{295}-\\x{2AF}\\x{370}-\\x{373}\\x{376}\\x{377}\\x{37B}-\\x{37D}\\x{37F}\\x{386}\\x{388}-\\x{38A}\\x{38C}\\x{38E}-\\x{3A1}\\x{3A3}-\\x{3F5}\\x{3F7}-\\x{481}\\x{48A}-\\x{52F}\\x{531}-\\x{556}\\x{10A0}-\\x{10C5}\\x{13A0}-\\x{13F5}\\x{13F8}-\\x{13FD}\\x{1C90}-\\x{1CBA}\\x{1CBD}-\\x{1CBF}\\x{1D00}-\\x{1D2B}\\x{1D6B}-\\x{1D77}\\x{1D79}-\\x{1D9A}\\x{1E00}-\\x{1F15}\\x{1F18}-\\x{1F1D}\\x{1F20}-\\x{1F45}\\x{1F48}-\\x{1F4D}\\x{1F50}-\\x{1F57}\\x{1F59}\\x{1F5B}\\x{1F5D}\\x{1F5F}-\\x{1F7D}\\x{1F80}-\\x{1FB4}\\x{1FB6}-\\x{1FBC}\\x{1FBE}\\x{1FC2}-\\x{1FC4}\\x{1FC6}-\\x{1FCC}\\x{1FD0}-\\x{1FD3}\\x{1FD6}-\\x{1FDB}\\x{1FE0}-\\x{1FEC}\\x{1FF2}-\\x{1FF4}\\x{1FF6}-\\x{1FFC}\\x{2102}\\x{2107}\\x{210A}-\\x{2113}\\x{2115}\\x{2119}-\\x{211D}\\x{2124}\\x{2126}\\x{2128}\\x{212A}-\\x{212D}\\x{212F}-\\x{2134}\\x{2139}\\x{213C}-\\x{213F}\\x{2145}-\\x{2149}\\x{214E}\\x{2183}\\x{2184}\\x{2C00}-\\x{2C7B}\\x{2C7E}-\\x{2CE4}\\x{2CEB}-\\x{2CEE}\\x{2CF2}\\x{2CF3}\\x{A640}-\\x{A66D}\\x{A680}-\\x{A69B}\\x{A722}-\\x{A76F}\\x{A771}-\\x{A787}\\x{A78B}-\\x{A78E}\\x{AB70}-\\x{ABBF}\\x{FB00}-\\x{FB06}\\x{FB13}-\\x{FB17}\\x{FF21}-\\x{FF3A}\\x{FF41}-\\x{FF5A}\\x{10400}-\\x{1044F}\\x{104B0}-\\x{104D3}\\x{104D8}-\\x{104FB}\\x{10C80}-\\x{10CB2}\\x{10CC0}-\\x{10CF2}\\x{118A0}-\\x{118DF}\\x{1E900}-\\x{1E943}]+",
            "\\s?[!-/:-~\\x{FF01}-\\x{FF0F}\\x{FF1A}-\\x{FF5E}\\x{2018}-\\x{201F}\\x{3000}-\\x{3002}]+",
            "\\s+$",
            "[\\x{4E00}-\\x{9FA5}\\x{800}-\\x{4E00}\\x{AC00}-\\x{D7FF}]+",
            "\\p{N}+",
        },
    [PRETOK_DEEPSEEK3_LLM] =
        {
            "\\p{N}{1,3}",
            "[\\x{4E00}-\\x{9FA5}\\x{3040}-\\x{309F}\\x{30A0}-\\x{30FF}]+",
            "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\\r\\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| "
            "?[\\p{P}\\p{S}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
        },
    [PRETOK_DEEPSEEK_CODER] = {"[\\r\\n]", "\\s?\\p{L}+", "\\s?\\p{P}+", "[\\x{4E00}-\\x{9FA5}\\x{800}-\\x{4E00}\\x{AC00}-\\x{D7FF}]+", "\\p{N}"},
    [PRETOK_FALCON] = {"[\\p{P}\\$\\+<=>\\^~\\|`]+", RE_GPT2, "[0-9][0-9][0-9]"},
    [PRETOK_STARCODER] = {"\\p{N}", RE_GPT2},
    [PRETOK_GPT2] = {RE_GPT2},
    [PRETOK_QWEN2] = {"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|"
                      "\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"},
    [PRETOK_BLOOM] = {" ?[^(\\s|.,!?\\x{2026}\\x{3002}\\x{FF0C}\\x{3001}\\x{964}\\x{6D4}\\x{60C})]+"},
    [PRETOK_CHATGLM4] = {RE_LLAMA3},
    [PRETOK_VIKING] = {" ?[^(\\s|.,!?\\x{2026}\\x{3002}\\x{FF0C}\\x{3001}\\x{964}\\x{6D4}\\x{60C})]+", "\\p{N}"},
    [PRETOK_TEKKEN] = {"[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))*((?=[\\p{L}])([^A-Z]))+|[^\\r\\n\\p{L}\\p{N}]?(("
                       "?=[\\p{L}])([^a-z]))+((?=[\\p{L}])([^A-Z]))*|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|"
                       "\\s+(?!\\S)|\\s+"},
    [PRETOK_CHAMELEON] = {"<sentinel:[0-9]+>", "(IMGIMG)((A|B|C|D|E|F|G|H|I){1,4})Z", "([\\t\\n]|    |  )", "\\p{N}",
                          "[\\p{P}!-/:-@\\[-`{-~]", RE_GPT2},
};

static const struct {
    const char *name;
    pretok_info info; /* type, ignore_merges, add_bos, clean_spaces */
} pretok_names[] = {
    {"default", {PRETOK_DEFAULT, false, false, true}},
    {"llama3", {PRETOK_LLAMA3, true, true, true}},
    {"llama-v3", {PRETOK_LLAMA3, true, true, true}},
    {"llama-bpe", {PRETOK_LLAMA3, true, true, true}},
    {"falcon3", {PRETOK_LLAMA3, true, true, true}},
    {"deepseek-llm", {PRETOK_DEEPSEEK_LLM, false, false, false}},
    {"deepseek-coder", {PRETOK_DEEPSEEK_CODER, false, false, false}},
    {"deepseek-v3", {PRETOK_DEEPSEEK3_LLM, false, false, false}},
    {"falcon", {PRETOK_FALCON, false, false, true}},
    {"mpt", {PRETOK_GPT2, false, false, true}},
    {"starcoder", {PRETOK_STARCODER, false, false, true}},
    {"gpt-2", {PRETOK_GPT2, false, false, true}},
    {"phi-2", {PRETOK_GPT2, false, false, true}},
    {"jina-es", {PRETOK_GPT2, false, false, true}},
    {"jina-de", {PRETOK_GPT2, false, false, true}},
    {"gigachat", {PRETOK_GPT2, false, false, true}},
    {"jina-v1-en", {PRETOK_GPT2, false, false, true}},
    {"jina-v2-es", {PRETOK_GPT2, false, false, true}},
    {"jina-v2-de", {PRETOK_GPT2, false, false, true}},
    {"jina-v2-code", {PRETOK_GPT2, false, false, true}},
    {"roberta-bpe", {PRETOK_GPT2, false, false, true}},
    {"refact", {PRETOK_STARCODER, false, false, true}},
    {"command-r", {PRETOK_STARCODER, false, false, false}},
    {"qwen2", {PRETOK_QWEN2, false, false, false}},
    {"deepseek-r1-qwen", {PRETOK_QWEN2, false, false, false}},
    {"stablelm2", {PRETOK_QWEN2, false, false, true}},
    {"olmo", {PRETOK_GPT2, false, false, true}},
    {"dbrx", {PRETOK_LLAMA3, false, false, true}},
    {"smaug-bpe", {PRETOK_LLAMA3, false, false, true}},
    {"poro-chat", {PRETOK_BLOOM, false, false, false}},
    {"chatglm-bpe", {PRETOK_CHATGLM4, false, false, true}},
    {"viking", {PRETOK_VIKING, false, false, false}},
    {"jais", {PRETOK_GPT2, false, false, true}},
    {"tekken", {PRETOK_TEKKEN, true, true, false}},
    {"smollm", {PRETOK_STARCODER, false, false, false}},
    {"codeshell", {PRETOK_STARCODER, false, false, true}},
    {"bloom", {PRETOK_BLOOM, false, false, true}},
    {"gpt3-finnish", {PRETOK_BLOOM, false, false, true}},
    {"exaone", {PRETOK_STARCODER, false, false, true}},
    {"chameleon", {PRETOK_CHAMELEON, false, true, false}},
    {"minerva-7b", {PRETOK_STARCODER, false, false, true}},
    {"megrez", {PRETOK_QWEN2, false, false, true}},
};

bool pretok_lookup(const char *name, size_t len, pretok_info *info) {
    if (len == 0) {
        *info = pretok_names[0].info;
        return true;
    }
    for (size_t i = 0; i < sizeof pretok_names / sizeof pretok_names[0]; i++) {
        if (strlen(pretok_names[i].name) == len && memcmp(pretok_names[i].name, name, len) == 0) {
            *info = pretok_names[i].info;
            return true;
        }
    }
    return false;
}

struct pretok {
    int n;
    pcre2_code *re[MAX_REGEX];
    pretok_behavior behavior[MAX_REGEX];
    bool invert[MAX_REGEX];
    int mapped_from; /* the steps from here on see the byte-mapped text */
};

/* Rewrites \s and \S into explicit White_Space classes, so that \s means
 * the same set everywhere (PCRE2's UCP \s also takes U+180E). */
static char *expand_space_classes(const char *re) {
    size_t n = strlen(re), cap = n * (sizeof WS_SET + 4) + 1;
    char *out = malloc(cap), *o = out;
    if (!out) return NULL;
    bool in_class = false;
    for (size_t i = 0; i < n; i++) {
        char c = re[i];
        if (c == '\\' && i + 1 < n) {
            char d = re[i + 1];
            i++;
            if (d == 's' || d == 'S') {
                if (in_class) { /* [^\s...]: only \s appears inside classes */
                    memcpy(o, WS_SET, sizeof WS_SET - 1);
                    o += sizeof WS_SET - 1;
                } else {
                    *o++ = '[';
                    if (d == 'S') *o++ = '^';
                    memcpy(o, WS_SET, sizeof WS_SET - 1);
                    o += sizeof WS_SET - 1;
                    *o++ = ']';
                }
            } else {
                *o++ = c;
                *o++ = d;
            }
            continue;
        }
        if (c == '[' && !in_class) {
            in_class = true;
            *o++ = c;
            if (i + 1 < n && re[i + 1] == '^') *o++ = re[++i];
            if (i + 1 < n && re[i + 1] == ']') *o++ = re[++i]; /* a leading ] is literal */
            continue;
        }
        if (c == ']' && in_class) in_class = false;
        *o++ = c;
    }
    *o = 0;
    return out;
}

void pretok_free(pretok *p) {
    if (!p) return;
    for (int i = 0; i < p->n; i++) pcre2_code_free(p->re[i]);
    free(p);
}

owl_status pretok_new_regexes(const char *const *regexes, int n, pretok **out) {
    pretok_step steps[MAX_REGEX];
    *out = NULL;
    if (n < 0 || n > MAX_REGEX) return owl_err(OWL_ERR_UNSUPPORTED, "pre-tokenizer with %d regexes (at most %d)", n, MAX_REGEX);
    for (int i = 0; i < n; i++) steps[i] = (pretok_step){regexes[i], PRETOK_ISOLATED, false, false};
    return pretok_new_steps(steps, n, out);
}

owl_status pretok_new_steps(const pretok_step *steps, int n, pretok **out) {
    *out = NULL;
    if (n < 0 || n > MAX_REGEX) return owl_err(OWL_ERR_UNSUPPORTED, "pre-tokenizer with %d steps (at most %d)", n, MAX_REGEX);
    pretok *p = owl_xcalloc(1, sizeof *p);
    if (!p) return OWL_ERR_NOMEM;
    p->mapped_from = n;
    for (int i = n - 1; i >= 0; i--)
        if (steps[i].mapped) p->mapped_from = i;
    for (int i = 0; i < n; i++) {
        char *src = expand_space_classes(steps[i].regex);
        if (!src) {
            pretok_free(p);
            return owl_err(OWL_ERR_NOMEM, "out of memory compiling a pre-tokenizer regex");
        }
        int err;
        PCRE2_SIZE erroff;
        pcre2_code *re = pcre2_compile((PCRE2_SPTR)src, PCRE2_ZERO_TERMINATED,
                                       PCRE2_UTF | PCRE2_UCP | PCRE2_DOLLAR_ENDONLY, &err, &erroff, NULL);
        free(src);
        if (!re) {
            PCRE2_UCHAR msg[256];
            pcre2_get_error_message(err, msg, sizeof msg);
            pretok_free(p);
            return owl_err(OWL_ERR_UNSUPPORTED, "pre-tokenizer regex %d (\"%.60s\"): %s at offset %zu", i, steps[i].regex,
                           (const char *)msg, (size_t)erroff);
        }
        pcre2_jit_compile(re, PCRE2_JIT_COMPLETE); /* without JIT, the interpreter runs */
        p->behavior[p->n] = steps[i].behavior;
        p->invert[p->n] = steps[i].invert;
        p->re[p->n++] = re;
    }
    *out = p;
    return OWL_OK;
}

owl_status pretok_new(pretok_type type, pretok **out) {
    *out = NULL;
    if ((int)type < 0 || type >= PRETOK_COUNT) return owl_err(OWL_ERR_ARG, "pre-tokenizer type %d out of range", type);
    int n = 0;
    while (n < MAX_REGEX && regex_lists[type][n]) n++;
    owl_status st = pretok_new_regexes(regex_lists[type], n, out);
    if (st) owl_err_prefix(st, "pre-tokenizer type %d", type);
    return st;
}

typedef struct span_vec {
    pretok_span *v;
    size_t n, cap;
} span_vec;

static bool span_push(span_vec *s, size_t off, size_t len) {
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        pretok_span *v = owl_xreallocarray(s->v, cap, sizeof *v);
        if (!v) return false;
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n].off = off;
    s->v[s->n].len = len;
    s->n++;
    return true;
}

/* The behaviours, fed one piece at a time (delim: a delimiter, in the
 * sense of the step's behaviour). A piece waits in *prev while the next
 * one may still join it. */
typedef struct pending {
    size_t off, len;
    bool delim, have;
} pending;

static bool flush(span_vec *out, pending *pv) {
    bool ok = !pv->have || span_push(out, pv->off, pv->len);
    pv->have = false;
    return ok;
}

static bool piece(span_vec *out, size_t off, size_t len, bool delim, pretok_behavior b, pending *pv) {
    switch (b) {
    case PRETOK_ISOLATED: return span_push(out, off, len);
    case PRETOK_REMOVED: return delim || span_push(out, off, len);
    case PRETOK_MERGED_PREV: /* a delimiter after a non-delimiter joins it */
        if (delim && pv->have && !pv->delim) {
            pv->len = off + len - pv->off;
            pv->delim = true;
            return true;
        }
        break;
    case PRETOK_MERGED_NEXT: /* a non-delimiter after a delimiter joins it */
        if (!delim && pv->have && pv->delim) {
            pv->len = off + len - pv->off;
            pv->delim = false;
            return true;
        }
        break;
    case PRETOK_CONTIGUOUS: /* pieces of one kind in a row are one */
        if (pv->have && pv->delim == delim) {
            pv->len = off + len - pv->off;
            return true;
        }
        break;
    }
    if (!flush(out, pv)) return false;
    *pv = (pending){off, len, delim, true};
    return true;
}

static bool piece_end(span_vec *out, pretok_behavior b, pending *pv) {
    (void)b;
    return flush(out, pv);
}

/* text with each byte as the UTF-8 of its byte-level character; moff[i]:
 * where byte i went (len + 1 entries), back[j]: the byte at mapped offset
 * j (for the offsets that start a character, and the end). */
static char *map_bytes(const char *text, size_t len, size_t *mlen, size_t **moff, size_t **back) {
    size_t cap;
    if (!size_mul(len, 2, &cap) || !size_add(cap, 1, &cap)) return NULL;
    char *m = owl_xmalloc(cap);
    *moff = owl_xreallocarray(NULL, len + 1, sizeof **moff);
    *back = owl_xreallocarray(NULL, cap, sizeof **back);
    if (!m || !*moff || !*back) {
        free(m);
        return NULL;
    }
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        (*moff)[i] = o;
        (*back)[o] = i;
        o += utf8_encode(bpe_byte_to_cpt((uint8_t)text[i]), m + o);
    }
    (*moff)[len] = o;
    (*back)[o] = len;
    *mlen = o;
    return m;
}

owl_status pretok_split(const pretok *p, const char *text, size_t len, pretok_span **spans, size_t *n_spans) {
    span_vec cur = {0}, next = {0};
    char *mapped = NULL;
    size_t mlen = 0, *moff = NULL, *back = NULL;
    owl_status st = OWL_OK;
    pcre2_match_data *md = NULL;
    pcre2_match_context *mctx = NULL;
    pcre2_jit_stack *jit = NULL;
    *spans = NULL;
    *n_spans = 0;
    if (len == 0) return OWL_OK;
    if (!span_push(&cur, 0, len)) return OWL_ERR_NOMEM;
    md = pcre2_match_data_create(16, NULL);
    if (!md) {
        st = owl_err(OWL_ERR_NOMEM, "out of memory for regex match data");
        goto done;
    }
    for (int r = 0; r < p->n; r++) {
        if (r == p->mapped_from) { /* from here on: the byte-mapped text */
            if (!(mapped = map_bytes(text, len, &mlen, &moff, &back))) goto nomem;
            for (size_t s = 0; s < cur.n; s++) {
                size_t a = moff[cur.v[s].off], b = moff[cur.v[s].off + cur.v[s].len];
                cur.v[s].off = a;
                cur.v[s].len = b - a;
            }
            text = mapped;
            len = mlen;
        }
        next.n = 0;
        for (size_t s = 0; s < cur.n; s++) {
            pending prev = {0, 0, false, false};
            const char *sub = text + cur.v[s].off;
            size_t sublen = cur.v[s].len, pos = 0, last = 0;
            while (pos < sublen) {
                int rc = pcre2_match(p->re[r], (PCRE2_SPTR)sub, sublen, pos, PCRE2_NO_UTF_CHECK, md, mctx);
                if (rc == PCRE2_ERROR_JIT_STACKLIMIT && !jit) {
                    jit = pcre2_jit_stack_create(64 * 1024, 64 * 1024 * 1024, NULL);
                    mctx = pcre2_match_context_create(NULL);
                    if (!jit || !mctx) {
                        st = owl_err(OWL_ERR_NOMEM, "out of memory for the regex stack");
                        goto done;
                    }
                    pcre2_jit_stack_assign(mctx, NULL, jit);
                    continue;
                }
                if (rc == PCRE2_ERROR_NOMATCH) break;
                if (rc < 0) {
                    PCRE2_UCHAR msg[256];
                    pcre2_get_error_message(rc, msg, sizeof msg);
                    st = owl_err(OWL_ERR_INTERNAL, "pre-tokenizer regex %d: %s", r, (const char *)msg);
                    goto done;
                }
                PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
                size_t ms = ov[0], me = ov[1];
                if (me <= ms) { /* an empty match cuts nothing: step one character */
                    pos = ms + 1;
                    while (pos < sublen && ((unsigned char)sub[pos] & 0xC0) == 0x80) pos++;
                    continue;
                }
                if (ms > last && !piece(&next, cur.v[s].off + last, ms - last, p->invert[r], p->behavior[r], &prev))
                    goto nomem;
                if (!piece(&next, cur.v[s].off + ms, me - ms, !p->invert[r], p->behavior[r], &prev)) goto nomem;
                last = pos = me;
            }
            if (last < sublen && !piece(&next, cur.v[s].off + last, sublen - last, p->invert[r], p->behavior[r], &prev))
                goto nomem;
            if (!piece_end(&next, p->behavior[r], &prev)) goto nomem;
        }
        span_vec tmp = cur;
        cur = next;
        next = tmp;
    }
    if (mapped) { /* spans of the mapped text back to bytes of the text */
        for (size_t s = 0; s < cur.n; s++) {
            size_t a = back[cur.v[s].off], b = back[cur.v[s].off + cur.v[s].len];
            cur.v[s].off = a;
            cur.v[s].len = b - a;
        }
    }
    *spans = cur.v;
    *n_spans = cur.n;
    cur.v = NULL;
    goto done;
nomem:
    st = OWL_ERR_NOMEM;
done:
    free(mapped);
    free(moff);
    free(back);
    free(cur.v);
    free(next.v);
    pcre2_match_data_free(md);
    pcre2_match_context_free(mctx);
    pcre2_jit_stack_free(jit);
    return st;
}
