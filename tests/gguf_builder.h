/* gguf_builder.h — writes small GGUF files byte by byte, for tests.
 *
 * The tests use it to make a complete tiny llama model (f32 weights, a
 * byte-level vocabulary) and then break it in every way a file can be
 * broken. It writes the layout described in src/io/gguf.c directly, so a
 * test can also write what a correct writer never would (absurd counts,
 * lengths past the end, unknown types). */
#ifndef OWL_TESTS_GGUF_BUILDER_H
#define OWL_TESTS_GGUF_BUILDER_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct gb_buf {
    uint8_t *p;
    size_t n, cap;
} gb_buf;

static void gb_put(gb_buf *b, const void *src, size_t n) {
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->n + n) cap *= 2;
        b->p = realloc(b->p, cap);
        if (!b->p) { fprintf(stderr, "gguf_builder: out of memory\n"); exit(1); }
        b->cap = cap;
    }
    memcpy(b->p + b->n, src, n);
    b->n += n;
}
static void gb_u32(gb_buf *b, uint32_t v) { gb_put(b, &v, 4); }
static void gb_u64(gb_buf *b, uint64_t v) { gb_put(b, &v, 8); }
static void gb_str(gb_buf *b, const char *s) { gb_u64(b, strlen(s)); gb_put(b, s, strlen(s)); }

/* metadata value types (GGUF) */
enum { GB_U8 = 0, GB_I8, GB_U16, GB_I16, GB_U32, GB_I32, GB_F32, GB_BOOL, GB_STRING, GB_ARRAY, GB_U64, GB_I64, GB_F64 };

typedef struct gb_tensor {
    const char *name;
    uint32_t n_dims;
    uint64_t ne[4];
    uint32_t type;   /* 0 = f32 */
    const float *data; /* ne product floats (f32 only) */
} gb_tensor;

/* The pieces of a file, kept apart so tests can tamper with each. */
typedef struct gb_file {
    uint32_t magic, version;
    gb_buf kv;        /* serialized metadata entries */
    uint64_t n_kv;
    gb_tensor t[64];
    uint64_t n_t;
    uint32_t alignment;
} gb_file;

static void gb_kv_u32(gb_file *f, const char *k, uint32_t v) { gb_str(&f->kv, k); gb_u32(&f->kv, GB_U32); gb_u32(&f->kv, v); f->n_kv++; }
static void gb_kv_f32(gb_file *f, const char *k, float v) { gb_str(&f->kv, k); gb_u32(&f->kv, GB_F32); gb_put(&f->kv, &v, 4); f->n_kv++; }
static void gb_kv_bool(gb_file *f, const char *k, int v) { uint8_t x = (uint8_t)v; gb_str(&f->kv, k); gb_u32(&f->kv, GB_BOOL); gb_put(&f->kv, &x, 1); f->n_kv++; }
static void gb_kv_str(gb_file *f, const char *k, const char *v) { gb_str(&f->kv, k); gb_u32(&f->kv, GB_STRING); gb_str(&f->kv, v); f->n_kv++; }

/* serializes the whole file; tensor offsets follow one another, aligned */
static gb_buf gb_serialize(const gb_file *f) {
    gb_buf b = {0};
    uint32_t al = f->alignment ? f->alignment : 32;
    gb_u32(&b, f->magic);
    gb_u32(&b, f->version);
    gb_u64(&b, f->n_t);
    gb_u64(&b, f->n_kv);
    gb_put(&b, f->kv.p, f->kv.n);
    uint64_t off = 0;
    for (uint64_t i = 0; i < f->n_t; i++) {
        const gb_tensor *t = &f->t[i];
        gb_str(&b, t->name);
        gb_u32(&b, t->n_dims);
        uint64_t nel = 1;
        for (uint32_t d = 0; d < t->n_dims; d++) { gb_u64(&b, t->ne[d]); nel *= t->ne[d]; }
        gb_u32(&b, t->type);
        gb_u64(&b, off);
        off += nel * 4;
        off = (off + al - 1) / al * al;
    }
    static const uint8_t zero[64];
    while (b.n % al) gb_put(&b, zero, 1);
    for (uint64_t i = 0; i < f->n_t; i++) {
        const gb_tensor *t = &f->t[i];
        uint64_t nel = 1;
        for (uint32_t d = 0; d < t->n_dims; d++) nel *= t->ne[d];
        gb_put(&b, t->data, nel * 4);
        while (b.n % al) gb_put(&b, zero, 1);
    }
    return b;
}

/* A complete tiny llama: n_embd 8, 1 layer, 2 heads, 1 kv head, n_ff 16,
 * a byte-level BPE vocabulary of 256 bytes + "<|endoftext|>" (257). */
#define GB_N_EMBD 8
#define GB_N_FF 16
#define GB_N_VOCAB 257
static float gb_weights[GB_N_VOCAB * GB_N_EMBD * 2 + 4096];

static void gb_tensor_add(gb_file *f, const char *name, uint64_t ne0, uint64_t ne1, const float *data) {
    gb_tensor *t = &f->t[f->n_t++];
    t->name = name;
    t->n_dims = ne1 ? 2 : 1;
    t->ne[0] = ne0;
    t->ne[1] = ne1 ? ne1 : 1;
    t->type = 0;
    t->data = data;
}

/* byte-level BPE: the unicode character GPT-2 uses for byte i */
static int gb_byte_char(int i, char out[4]) {
    int cp;
    if ((i >= 33 && i <= 126) || (i >= 161 && i <= 172) || (i >= 174 && i <= 255)) cp = i;
    else {
        int n = 0;
        for (int j = 0; j < i; j++)
            if (!((j >= 33 && j <= 126) || (j >= 161 && j <= 172) || (j >= 174 && j <= 255))) n++;
        cp = 256 + n;
    }
    if (cp < 0x80) { out[0] = (char)cp; return 1; }
    out[0] = (char)(0xc0 | (cp >> 6));
    out[1] = (char)(0x80 | (cp & 0x3f));
    return 2;
}

static void gb_tiny_llama(gb_file *f, const char *skip_tensor) {
    memset(f, 0, sizeof *f);
    f->magic = 0x46554747u;
    f->version = 3;
    for (size_t i = 0; i < sizeof gb_weights / sizeof gb_weights[0]; i++)
        gb_weights[i] = (float)((int)((i * 2654435761u) % 2001) - 1000) / 4000.0f;
    gb_kv_str(f, "general.architecture", "llama");
    gb_kv_str(f, "general.name", "tiny test llama");
    gb_kv_u32(f, "llama.context_length", 64);
    gb_kv_u32(f, "llama.embedding_length", GB_N_EMBD);
    gb_kv_u32(f, "llama.block_count", 1);
    gb_kv_u32(f, "llama.feed_forward_length", GB_N_FF);
    gb_kv_u32(f, "llama.attention.head_count", 2);
    gb_kv_u32(f, "llama.attention.head_count_kv", 1);
    gb_kv_f32(f, "llama.attention.layer_norm_rms_epsilon", 1e-5f);
    gb_kv_f32(f, "llama.rope.freq_base", 10000.0f);
    gb_kv_str(f, "tokenizer.ggml.model", "gpt2");
    gb_kv_str(f, "tokenizer.ggml.pre", "gpt-2");
    /* tokens */
    gb_str(&f->kv, "tokenizer.ggml.tokens");
    gb_u32(&f->kv, GB_ARRAY);
    gb_u32(&f->kv, GB_STRING);
    gb_u64(&f->kv, GB_N_VOCAB);
    for (int i = 0; i < 256; i++) {
        char c[4];
        int n = gb_byte_char(i, c);
        gb_u64(&f->kv, (uint64_t)n);
        gb_put(&f->kv, c, (size_t)n);
    }
    gb_str(&f->kv, "<|endoftext|>");
    f->n_kv++;
    gb_str(&f->kv, "tokenizer.ggml.token_type");
    gb_u32(&f->kv, GB_ARRAY);
    gb_u32(&f->kv, GB_I32);
    gb_u64(&f->kv, GB_N_VOCAB);
    for (int i = 0; i < GB_N_VOCAB; i++) gb_u32(&f->kv, i == 256 ? 3u : 1u);
    f->n_kv++;
    gb_str(&f->kv, "tokenizer.ggml.merges");
    gb_u32(&f->kv, GB_ARRAY);
    gb_u32(&f->kv, GB_STRING);
    gb_u64(&f->kv, 1);
    gb_str(&f->kv, "a b");
    f->n_kv++;
    gb_kv_u32(f, "tokenizer.ggml.bos_token_id", 256);
    gb_kv_u32(f, "tokenizer.ggml.eos_token_id", 256);
    gb_kv_bool(f, "tokenizer.ggml.add_bos_token", 0);

    const float *w = gb_weights;
    static const char *names[] = {
        "token_embd.weight", "blk.0.attn_norm.weight", "blk.0.attn_q.weight", "blk.0.attn_k.weight",
        "blk.0.attn_v.weight", "blk.0.attn_output.weight", "blk.0.ffn_norm.weight", "blk.0.ffn_gate.weight",
        "blk.0.ffn_up.weight", "blk.0.ffn_down.weight", "output_norm.weight",
    };
    const uint64_t shape[][2] = {
        {GB_N_EMBD, GB_N_VOCAB}, {GB_N_EMBD, 0}, {GB_N_EMBD, GB_N_EMBD}, {GB_N_EMBD, GB_N_EMBD / 2},
        {GB_N_EMBD, GB_N_EMBD / 2}, {GB_N_EMBD, GB_N_EMBD}, {GB_N_EMBD, 0}, {GB_N_EMBD, GB_N_FF},
        {GB_N_EMBD, GB_N_FF}, {GB_N_FF, GB_N_EMBD}, {GB_N_EMBD, 0},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (skip_tensor && !strcmp(skip_tensor, names[i])) continue;
        gb_tensor_add(f, names[i], shape[i][0], shape[i][1], w);
    }
}

static int gb_write(const char *path, const void *p, size_t n) {
    FILE *fp = fopen(path, "wb");
    if (!fp) return -1;
    size_t w = n ? fwrite(p, 1, n, fp) : 0;
    return (fclose(fp) == 0 && w == n) ? 0 : -1;
}

#endif
