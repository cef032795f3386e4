/* test_detok.c — the streaming detokenizer never hands out a broken UTF-8
 * character, replaces what can never be one by U+FFFD, and gives back the
 * text a tokenization came from.
 *
 * Uses SmolLM2's byte-level vocabulary ($OWL_SMOLLM2: single-byte tokens
 * split multibyte characters) and Llama's SentencePiece vocabulary
 * ($OWL_SHARED_DIR/data/vocab/ggml-vocab-llama-spm.gguf: <0xXX> tokens). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "io/gguf.h"
#include "tokenizer/detok.h"
#include "tokenizer/tokenizer.h"

typedef struct vocab {
    gguf *g;
    tokenizer *t;
    owl_token byte_tok[256]; /* a token whose piece is exactly that byte */
} vocab;

static bool vocab_open(vocab *v, const char *path) {
    memset(v, 0, sizeof *v);
    if (gguf_open(path, &v->g) != OWL_OK || tokenizer_from_gguf(v->g, &v->t) != OWL_OK) {
        CHECK(0, "cannot load %s: %s", path, owl_last_error());
        return false;
    }
    for (int b = 0; b < 256; b++) v->byte_tok[b] = -1;
    for (owl_token id = 0; id < tokenizer_n_vocab(v->t); id++) {
        char p[8];
        if (tokenizer_piece(v->t, id, p, sizeof p) == 1 && v->byte_tok[(unsigned char)p[0]] < 0)
            v->byte_tok[(unsigned char)p[0]] = id;
    }
    return true;
}

static void vocab_close(vocab *v) {
    tokenizer_free(v->t);
    gguf_close(v->g);
}

/* Pushes the single-byte tokens of bytes[0..n) one by one; appends every
 * output to out and checks each output is whole, well-formed UTF-8. */
static size_t push_bytes(detok *d, const vocab *v, const char *bytes, size_t n, char *out, bool flush) {
    size_t m = 0;
    for (size_t i = 0; i <= n; i++) {
        const char *s;
        size_t l;
        if (i == n) {
            if (!flush) break;
            detok_flush(d, &s, &l);
        } else {
            owl_token id = v->byte_tok[(unsigned char)bytes[i]];
            CHECK(id >= 0, "no single-byte token for 0x%02x", (unsigned char)bytes[i]);
            detok_push(d, id, &s, &l);
        }
        /* every output is complete, well-formed UTF-8 */
        for (size_t k = 0; k < l;) {
            unsigned char c = (unsigned char)s[k];
            size_t L = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0;
            bool ok = L && k + L <= l;
            for (size_t j = 1; ok && j < L; j++) ok = ((unsigned char)s[k + j] & 0xC0) == 0x80;
            CHECK(ok, "output of push %zu is not whole UTF-8 at byte %zu", i, k);
            if (!ok) break;
            k += L;
        }
        memcpy(out + m, s, l);
        m += l;
    }
    return m;
}

static void test_bytes(const vocab *v, const char *name) {
    detok *d = NULL;
    CHECK(detok_new(v->t, &d) == OWL_OK, "%s: detok_new", name);
    char out[256];

    /* a 4-byte character in four tokens: nothing, nothing, nothing, 🦙 */
    const char *llama = "\xF0\x9F\xA6\x99";
    const char *s;
    size_t l, total = 0;
    for (int i = 0; i < 4; i++) {
        detok_push(d, v->byte_tok[(unsigned char)llama[i]], &s, &l);
        if (i < 3) CHECK(l == 0, "%s: byte %d of 🦙 handed out %zu bytes early", name, i, l);
        total += l;
    }
    CHECK(l == 4 && memcmp(s, llama, 4) == 0, "%s: 🦙 not handed out whole", name);
    detok_flush(d, &s, &l);
    CHECK(l == 0, "%s: flush after whole text gives %zu bytes", name, l);

    static const struct {
        const char *in, *want;
    } cases[] = {
        {"a\xC3\xA9z", "a\xC3\xA9z"},                            /* é split over two tokens */
        {"\xE6\x9D\xB1\xE4\xBA\xAC", "\xE6\x9D\xB1\xE4\xBA\xAC"}, /* 東京 */
        {"\x80", "\xEF\xBF\xBD"},                                /* stray continuation */
        {"\xF0\x9F" "a", "\xEF\xBF\xBD" "a"},                    /* cut short by an ASCII byte */
        {"\xF0\x9F", "\xEF\xBF\xBD"},                            /* unfinished at the end: flush */
        {"\xE0\x80", "\xEF\xBF\xBD\xEF\xBF\xBD"},                /* overlong */
        {"\xED\xA0\x80", "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"}, /* surrogate */
        {"\xFF" "b\xC3", "\xEF\xBF\xBD" "b\xEF\xBF\xBD"},      /* never a lead; unfinished */
        {"\xC3" "b\xC3", "\xEF\xBF\xBD" "b\xEF\xBF\xBD"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        bool have = true; /* SmolLM2 has no token for some bytes (0x04, 0xF1, 0xFF...) */
        for (const char *c = cases[i].in; *c; c++) have &= v->byte_tok[(unsigned char)*c] >= 0;
        if (!have) continue;
        size_t n = push_bytes(d, v, cases[i].in, strlen(cases[i].in), out, true);
        CHECK(n == strlen(cases[i].want) && memcmp(out, cases[i].want, n) == 0, "%s: case %zu: got \"%.*s\"", name, i,
              (int)n, out);
    }
    (void)total;
    detok_free(d);
}

/* tokenize -> stream back, token by token: the same text */
static void test_round_trip(const vocab *v, const char *name, bool spm) {
    static const char *texts[] = {
        "Hello world", "🦙 llama 😶‍🌫️ Größe 東京 ក្រុង", "  two spaces\n\ttab", "x\xC3\xA9y", "",
    };
    detok *d = NULL;
    CHECK(detok_new(v->t, &d) == OWL_OK, "%s: detok_new", name);
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        for (int with_bos = 0; with_bos < 2; with_bos++) {
            owl_token *ids = NULL;
            size_t n = 0;
            CHECK(tokenizer_encode(v->t, texts[i], strlen(texts[i]), with_bos, false, &ids, &n) == OWL_OK,
                  "%s: encode: %s", name, owl_last_error());
            char out[512];
            size_t m = 0;
            const char *s;
            size_t l;
            for (size_t k = 0; k < n; k++) {
                detok_push(d, ids[k], &s, &l);
                memcpy(out + m, s, l);
                m += l;
            }
            detok_flush(d, &s, &l);
            memcpy(out + m, s, l);
            m += l;
            CHECK(m == strlen(texts[i]) && memcmp(out, texts[i], m) == 0, "%s: \"%s\" (bos %d) came back as \"%.*s\"",
                  name, texts[i], with_bos, (int)m, out);
            free(ids);
        }
    }
    if (spm) {
        /* a stream continuing a prompt keeps the space of its first word
         * when the prompt's tokens were pushed first */
        owl_token *ids = NULL;
        size_t n = 0;
        CHECK(tokenizer_encode(v->t, "The capital is Paris", 20, true, false, &ids, &n) == OWL_OK, "encode");
        const char *s;
        size_t l;
        char out[64];
        size_t m = 0;
        for (size_t k = 0; k + 1 < n; k++) detok_push(d, ids[k], &s, &l);
        detok_push(d, ids[n - 1], &s, &l);
        memcpy(out, s, l);
        m = l;
        CHECK(m == 6 && memcmp(out, " Paris", 6) == 0, "%s: last word came out as \"%.*s\"", name, (int)m, out);
        detok_flush(d, &s, &l);
        free(ids);
    }
    detok_free(d);
}

int main(void) {
    vocab v;
    if (vocab_open(&v, check_env("OWL_SMOLLM2"))) {
        test_bytes(&v, "smollm2");
        test_round_trip(&v, "smollm2", false);
        vocab_close(&v);
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/data/vocab/ggml-vocab-llama-spm.gguf", check_env("OWL_SHARED_DIR"));
    if (vocab_open(&v, path)) {
        CHECK(v.byte_tok[0xF0] >= 0 && strcmp(tokenizer_text(v.t, v.byte_tok[0xF0]), "<0xF0>") == 0,
              "llama-spm: byte 0xF0 is not the token <0xF0>");
        test_bytes(&v, "llama-spm");
        test_round_trip(&v, "llama-spm", true);
        vocab_close(&v);
    }
    return check_done();
}
