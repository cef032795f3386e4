/* test_tokenizer.c — tokenizer behaviour a user would notice: BPE merge
 * order, special tokens kept whole, BOS/EOS as the model asks, bad bytes,
 * and refusal (with a message, never a crash) of malformed tokenizer
 * metadata in handcrafted GGUF files. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "io/gguf.h"
#include "tokenizer/tokenizer.h"

/* ---- a minimal GGUF v3 writer (no tensors) for handcrafted files ---- */

typedef struct gw {
    char buf[1 << 16];
    size_t n;
    uint64_t n_kv;
} gw;

static void put(gw *w, const void *p, size_t n) {
    memcpy(w->buf + w->n, p, n);
    w->n += n;
}
static void put_u32(gw *w, uint32_t v) { put(w, &v, 4); }
static void put_u64(gw *w, uint64_t v) { put(w, &v, 8); }
static void put_str(gw *w, const char *s) {
    put_u64(w, strlen(s));
    put(w, s, strlen(s));
}
static void kv_str(gw *w, const char *k, const char *v) {
    put_str(w, k);
    put_u32(w, 8);
    put_str(w, v);
    w->n_kv++;
}
static void kv_u32(gw *w, const char *k, uint32_t v) {
    put_str(w, k);
    put_u32(w, 4);
    put_u32(w, v);
    w->n_kv++;
}
static void kv_bool(gw *w, const char *k, bool v) {
    put_str(w, k);
    put_u32(w, 7);
    uint8_t b = v;
    put(w, &b, 1);
    w->n_kv++;
}
static void kv_strs(gw *w, const char *k, const char *const *v, size_t n) {
    put_str(w, k);
    put_u32(w, 9);
    put_u32(w, 8);
    put_u64(w, n);
    for (size_t i = 0; i < n; i++) put_str(w, v[i]);
    w->n_kv++;
}
static void kv_i32s(gw *w, const char *k, const int32_t *v, size_t n) {
    put_str(w, k);
    put_u32(w, 9);
    put_u32(w, 5);
    put_u64(w, n);
    put(w, v, n * 4);
    w->n_kv++;
}

/* Writes the file and builds a tokenizer from it. */
static owl_status load(const gw *w, const char *name, gguf **g, tokenizer **t) {
    char path[4096];
    snprintf(path, sizeof path, "%s/tok_%s.gguf", check_env("OWL_TMP"), name);
    FILE *f = fopen(path, "wb");
    uint32_t hdr[2] = {0x46554747u, 3};
    uint64_t counts[2] = {0, w->n_kv};
    fwrite(hdr, 4, 2, f);
    fwrite(counts, 8, 2, f);
    fwrite(w->buf, 1, w->n, f);
    static const char zeros[32];
    fwrite(zeros, 1, (32 - (24 + w->n) % 32) % 32, f);
    fclose(f);
    *t = NULL;
    owl_status st = gguf_open(path, g);
    if (st) return st;
    return tokenizer_from_gguf(*g, t);
}

/* the characters GPT-2's byte-level mapping gives ' ', 'a', 'b', 'c' */
static const char *const tiny_tokens[] = {"\xC4\xA0", "a", "b", "c", "ab", "abc", "\xC4\xA0\x61" /* Ġa */, "<|end|>"};
static const int32_t tiny_types[] = {1, 1, 1, 1, 1, 1, 1, 3};
static const char *const tiny_merges[] = {"a b", "ab c", "\xC4\xA0 a"};

static void tiny(gw *w, const char *model, const char *pre) {
    memset(w, 0, sizeof *w);
    if (model) kv_str(w, "tokenizer.ggml.model", model);
    if (pre) kv_str(w, "tokenizer.ggml.pre", pre);
    kv_strs(w, "tokenizer.ggml.tokens", tiny_tokens, 8);
    kv_i32s(w, "tokenizer.ggml.token_type", tiny_types, 8);
}

static void test_handcrafted(void) {
    gw w;
    gguf *g = NULL;
    tokenizer *t = NULL;
    owl_status st;

    /* a good one: merges go by rank, not by position */
    tiny(&w, "gpt2", "gpt-2");
    kv_strs(&w, "tokenizer.ggml.merges", tiny_merges, 3);
    kv_u32(&w, "tokenizer.ggml.eos_token_id", 7);
    kv_u32(&w, "tokenizer.ggml.bos_token_id", 99); /* out of range: ignored */
    kv_bool(&w, "tokenizer.ggml.add_eos_token", true);
    st = load(&w, "good", &g, &t);
    CHECK(st == OWL_OK, "good tiny vocab: %s", owl_last_error());
    if (st == OWL_OK) {
        owl_token *ids;
        size_t n;
        CHECK(tokenizer_encode(t, "abc ab", 6, false, false, &ids, &n) == OWL_OK, "encode");
        /* "abc" | " ab": a+b (rank 0) wins over " "+a (rank 2) */
        CHECK(n == 3 && ids[0] == 5 && ids[1] == 0 && ids[2] == 4, "\"abc ab\" -> %zu ids [%d %d ...]", n, ids[0],
              n > 1 ? ids[1] : -1);
        free(ids);
        CHECK(tokenizer_encode(t, " a<|end|>", 9, false, true, &ids, &n) == OWL_OK, "encode");
        CHECK(n == 2 && ids[0] == 6 && ids[1] == 7, "\" a<|end|>\" -> %zu ids", n);
        free(ids);
        /* add_eos_token: EOS at the end with add_special, not without; no BOS (none valid) */
        CHECK(tokenizer_encode(t, "ab", 2, true, false, &ids, &n) == OWL_OK && n == 2 && ids[0] == 4 && ids[1] == 7,
              "add_special with add_eos_token: %zu ids", n);
        free(ids);
        CHECK(tokenizer_encode(t, "ab", 2, false, false, &ids, &n) == OWL_OK && n == 1, "no add_special: %zu ids", n);
        free(ids);
        CHECK(tokenizer_bos(t) == -1, "out-of-range bos_token_id kept: %d", tokenizer_bos(t));
        CHECK(tokenizer_eos(t) == 7 && tokenizer_is_eog(t, 7) && !tokenizer_is_eog(t, 4), "eos / eog");
        /* a byte the vocabulary lacks is dropped, not a crash */
        CHECK(tokenizer_encode(t, "\x01" "ab", 3, false, false, &ids, &n) == OWL_OK && n == 1 && ids[0] == 4,
              "unknown byte");
        free(ids);
    }
    tokenizer_free(t);
    gguf_close(g);
    g = NULL;

    static const struct {
        const char *name, *model, *pre;
        bool merges;
        owl_status want;
        const char *msg;
    } bad[] = {
        {"nomodel", NULL, "gpt-2", true, OWL_ERR_FORMAT, "tokenizer.ggml.model"},
        {"t5", "t5", NULL, false, OWL_ERR_UNSUPPORTED, "'t5'"},
        {"badpre", "gpt2", "no-such-pre", true, OWL_ERR_UNSUPPORTED, "no-such-pre"},
        {"nomerges", "gpt2", "gpt-2", false, OWL_ERR_FORMAT, "merges"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        tiny(&w, bad[i].model, bad[i].pre);
        if (bad[i].merges) kv_strs(&w, "tokenizer.ggml.merges", tiny_merges, 3);
        st = load(&w, bad[i].name, &g, &t);
        CHECK(st == bad[i].want && t == NULL && strstr(owl_last_error(), bad[i].msg), "%s: status %d, \"%s\"",
              bad[i].name, st, owl_last_error());
        gguf_close(g);
        g = NULL;
    }

    /* token_type with the wrong count */
    memset(&w, 0, sizeof w);
    kv_str(&w, "tokenizer.ggml.model", "llama");
    kv_strs(&w, "tokenizer.ggml.tokens", tiny_tokens, 8);
    kv_i32s(&w, "tokenizer.ggml.token_type", tiny_types, 5);
    st = load(&w, "typecount", &g, &t);
    CHECK(st == OWL_ERR_FORMAT && strstr(owl_last_error(), "token_type"), "token_type count: %d \"%s\"", st,
          owl_last_error());
    gguf_close(g);
    g = NULL;

    /* model key of the wrong type; no tokens at all */
    memset(&w, 0, sizeof w);
    kv_u32(&w, "tokenizer.ggml.model", 2);
    st = load(&w, "modeltype", &g, &t);
    CHECK(st == OWL_ERR_FORMAT && t == NULL, "model as u32: %d \"%s\"", st, owl_last_error());
    gguf_close(g);
    g = NULL;
    memset(&w, 0, sizeof w);
    kv_str(&w, "tokenizer.ggml.model", "llama");
    kv_strs(&w, "tokenizer.ggml.tokens", tiny_tokens, 0);
    st = load(&w, "notokens", &g, &t);
    CHECK(st == OWL_ERR_FORMAT && t == NULL, "empty tokens: %d \"%s\"", st, owl_last_error());
    gguf_close(g);
}

static owl_token *enc(tokenizer *t, const char *s, bool add, bool special, size_t *n) {
    owl_token *ids = NULL;
    owl_status st = tokenizer_encode(t, s, strlen(s), add, special, &ids, n);
    CHECK(st == OWL_OK, "encode \"%s\": %s", s, owl_last_error());
    return ids;
}

static void test_smollm2(void) {
    gguf *g;
    tokenizer *t;
    if (gguf_open(check_env("OWL_SMOLLM2"), &g) || tokenizer_from_gguf(g, &t)) {
        CHECK(0, "SmolLM2: %s", owl_last_error());
        return;
    }
    size_t n;
    owl_token *ids = enc(t, "<|im_start|>user\nHi<|im_end|>", false, true, &n);
    CHECK(n >= 4 && ids[0] == 1 && ids[n - 1] == 2, "parse_special keeps <|im_start|> and <|im_end|> whole");
    free(ids);
    ids = enc(t, "<|im_start|>user", false, false, &n);
    CHECK(n > 2 && ids[0] != 1, "without parse_special, <|im_start|> is text (%zu ids)", n);
    free(ids);
    ids = enc(t, "<|im_start|><|im_end|><|im_start|>", false, true, &n);
    CHECK(n == 3 && ids[0] == 1 && ids[1] == 2 && ids[2] == 1, "adjacent special tokens");
    free(ids);
    ids = enc(t, "Hello", true, false, &n);
    CHECK(n == 1, "SmolLM2 adds no BOS (add_bos_token false): %zu ids", n);
    free(ids);
    ids = enc(t, "", true, true, &n);
    CHECK(ids != NULL && n == 0, "empty text: %zu ids", n);
    free(ids);
    CHECK(tokenizer_is_eog(t, 2) && tokenizer_is_eog(t, 0) && !tokenizer_is_eog(t, 1) && !tokenizer_is_eog(t, 100),
          "eog: <|im_end|> and <|endoftext|> only");
    CHECK(strcmp(tokenizer_text(t, 1), "<|im_start|>") == 0 && tokenizer_text(t, -1) == NULL &&
              tokenizer_text(t, tokenizer_n_vocab(t)) == NULL,
          "token text");
    CHECK(tokenizer_chat_template(t) && strstr(tokenizer_chat_template(t), "<|im_start|>"), "chat template");

    /* invalid UTF-8 is tokenized as U+FFFD, like llama.cpp */
    ids = enc(t, "a\xFF" "b", false, false, &n);
    char out[64];
    size_t m = 0;
    for (size_t i = 0; i < n; i++) m += tokenizer_piece(t, ids[i], out + m, sizeof out - m);
    CHECK(m == 5 && memcmp(out, "a\xEF\xBF\xBD" "b", 5) == 0, "invalid byte -> U+FFFD (%zu bytes)", m);
    free(ids);

    /* piece: full length returned even when it does not fit */
    ids = enc(t, " world", false, false, &n);
    CHECK(n == 1 && tokenizer_piece(t, ids[0], out, 2) == 6 && memcmp(out, " w", 2) == 0, "truncated piece");
    free(ids);

    /* a large text: one long word and long whitespace runs */
    size_t big = 1 << 20;
    char *s = malloc(big + 1);
    for (size_t i = 0; i < big; i++) s[i] = i < big / 2 ? 'a' + (char)(i % 3) : (i % 1000 ? ' ' : '\n');
    s[big] = 0;
    ids = NULL;
    CHECK(tokenizer_encode(t, s, big, false, false, &ids, &n) == OWL_OK && n > 1000, "1 MiB text: %zu ids", n);
    m = 0;
    bool same = true;
    for (size_t i = 0; i < n && same; i++) {
        char p[256];
        size_t k = tokenizer_piece(t, ids[i], p, sizeof p);
        same = m + k <= big && memcmp(s + m, p, k) == 0;
        m += k;
    }
    CHECK(same && m == big, "1 MiB text does not decode back");
    free(ids);
    free(s);
    tokenizer_free(t);
    gguf_close(g);
}

static void test_spm(void) {
    char path[4096];
    snprintf(path, sizeof path, "%s/data/vocab/ggml-vocab-llama-spm.gguf", check_env("OWL_SHARED_DIR"));
    gguf *g;
    tokenizer *t;
    if (gguf_open(path, &g) || tokenizer_from_gguf(g, &t)) {
        CHECK(0, "llama-spm: %s", owl_last_error());
        return;
    }
    size_t n;
    owl_token *ids = enc(t, "Hello", true, false, &n);
    CHECK(n == 2 && ids[0] == 1 && ids[1] == 15043, "SPM: [BOS, ▁Hello] (got %zu ids)", n);
    free(ids);
    ids = enc(t, "</s>x", false, false, &n);
    CHECK(n > 1 && ids[0] != 2, "SPM: </s> is text without parse_special");
    free(ids);
    ids = enc(t, "a</s>", false, true, &n);
    CHECK(n >= 2 && ids[n - 1] == 2, "SPM: </s> whole with parse_special");
    free(ids);
    ids = enc(t, "\xF0\x9F\xA6\x99", false, false, &n); /* 🦙 is not a piece: byte fallback */
    bool bytes = n == 5;
    for (size_t i = 1; bytes && i < 5; i++) bytes = strncmp(tokenizer_text(t, ids[i]), "<0x", 3) == 0;
    CHECK(bytes && strcmp(tokenizer_text(t, ids[1]), "<0xF0>") == 0, "SPM byte fallback for 🦙 (%zu ids)", n);
    free(ids);
    tokenizer_free(t);
    gguf_close(g);
}

/* Random byte strings (ASCII, multibyte characters, cut characters,
 * invalid bytes, pieces of special tokens): tokenizing never fails, and
 * the pieces give the text back (gpt-2: with each byte that starts no
 * well-formed character replaced by U+FFFD, as llama.cpp does; SPM: byte
 * fallback keeps every byte, less the prefix space, when the text has no
 * "▁" of its own). */
static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint32_t next_rand(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 11);
}

static size_t utf8_ok(const unsigned char *s, size_t n) { /* length of a well-formed char at s, or 0 */
    unsigned char c = s[0];
    if (c < 0x80) return 1;
    size_t L = c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
    if (!L || L > n) return 0;
    unsigned char lo = c == 0xE0 ? 0xA0 : c == 0xF0 ? 0x90 : 0x80, hi = c == 0xED ? 0x9F : c == 0xF4 ? 0x8F : 0xBF;
    if (s[1] < lo || s[1] > hi) return 0;
    for (size_t i = 2; i < L; i++)
        if ((s[i] & 0xC0) != 0x80) return 0;
    return L;
}

static void test_random(const char *vocab_name, bool spm) {
    char path[4096];
    snprintf(path, sizeof path, "%s/data/vocab/ggml-vocab-%s.gguf", check_env("OWL_SHARED_DIR"), vocab_name);
    gguf *g;
    tokenizer *t;
    if (gguf_open(path, &g) || tokenizer_from_gguf(g, &t)) {
        CHECK(0, "%s: %s", vocab_name, owl_last_error());
        return;
    }
    static const char *const bits[] = {"a", "Z", " ", "  ", "\n", "\t", "7", "42", "'s", "\xC3\xA9", "\xE6\x9D\xB1",
                                       "\xF0\x9F\xA6\x99", "\xF0\x9F", "\x80", "\xFF", "\xC3", "\xED\xA0\x80", "<|",
                                       "|>", "<s>", "</s>", "<|endoftext|>", ".", "\xE2\x96\x81", "\r\n", "\x00"};
    int ok = 0, runs = 300;
    for (int r = 0; r < runs; r++) {
        char in[512], want[2048], got[4096];
        size_t n = 0, nw = 0, ng = 0;
        int k = 1 + (int)(next_rand() % 40);
        for (int i = 0; i < k; i++) {
            const char *b = bits[next_rand() % (sizeof bits / sizeof bits[0])];
            if (spm && strcmp(b, "\xE2\x96\x81") == 0) b = "_"; /* SPM reads ▁ as a space */
            size_t l = b[0] ? strlen(b) : 1; /* "\x00": one NUL byte */
            memcpy(in + n, b, l);
            n += l;
        }
        if (spm) {
            memcpy(want, in, n);
            nw = n;
        } else {
            for (size_t i = 0; i < n;) {
                size_t L = utf8_ok((const unsigned char *)in + i, n - i);
                if (L) {
                    memcpy(want + nw, in + i, L);
                    nw += L;
                    i += L;
                } else {
                    memcpy(want + nw, "\xEF\xBF\xBD", 3);
                    nw += 3;
                    i++;
                }
            }
        }
        owl_token *ids = NULL;
        size_t ni = 0;
        /* SPM puts a space after a special token: parse them for BPE only */
        if (tokenizer_encode(t, in, n, false, !spm && r % 2 == 0, &ids, &ni) != OWL_OK) continue;
        for (size_t i = 0; i < ni; i++) ng += tokenizer_piece(t, ids[i], got + ng, sizeof got - ng);
        const char *gp = got;
        if (spm && ng && got[0] == ' ') gp++, ng--; /* the prefix space */
        /* with parse_special, a special token's piece is its text: same bytes */
        if (ng == nw && memcmp(gp, want, nw) == 0) ok++;
        else if (ok + 3 > r) fprintf(stderr, "%s: run %d: %zu bytes back, %zu expected\n", vocab_name, r, ng, nw);
        free(ids);
    }
    CHECK(ok == runs, "%s: %d of %d random strings came back", vocab_name, ok, runs);
    tokenizer_free(t);
    gguf_close(g);
}

int main(void) {
    test_random("gpt-2", false);
    test_random("llama-spm", true);
    test_handcrafted();
    test_smollm2();
    test_spm();
    return check_done();
}
