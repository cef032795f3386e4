/* kernels.h — the compute kernels of the forward pass.
 *
 * Each op has a scalar reference (always built, the truth the tests hold
 * every variant to). The inner loops that pay for SIMD — the f32 dot and
 * axpy of attention and the matmul micro-kernel — have AVX2 and AVX-512
 * variants (vec_avx2.c, vec_avx512.c) reached through one table filled
 * once from the CPU features (dispatch.c). So do the fused dot products of
 * a quantized weight row with f32 activations (rowdot_avx2.c), the inner
 * loop of one-token matmuls. Everything accumulates in fp32.
 *
 * Signatures: output first, inputs const, sizes explicit.
 * Letters: B batch rows, R weight rows, n (or K) the shared inner length,
 * D head_dim, N cells attended. */
#ifndef OWL_KERNELS_KERNELS_H
#define OWL_KERNELS_KERNELS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../tensor/dtype.h"

/* y[b*ldy + r] = (add ? y[b*ldy + r] : 0) + dot(x[b*ldx .. +n), w[r*ldw .. +n))
 * for b < B, r < R: a tile of y(B, R) = x(B, n) · w(R, n)^T, fp32 weights. */
typedef void (*gemm_tile_fn)(float *restrict y, ptrdiff_t ldy, const float *restrict x,
                             ptrdiff_t ldx, int64_t B, const float *restrict w, ptrdiff_t ldw,
                             int64_t R, int64_t n, bool add);

/* dot of a weight row (n elements) with quantized activations (n elements) */
typedef float (*qdot_fn)(const void *restrict w, const void *restrict xq, int64_t n);
/* the same for one weight row and four activation rows xs bytes apart;
 * out[k] is bit-identical to qdot(w, xq + k*xs, n) */
typedef void (*qdot4_fn)(const void *restrict w, const void *restrict xq, size_t xs, float out[4],
                         int64_t n);

/* y[b*ldy + r] = (add ? y[b*ldy + r] : 0) + qdot(row r of w, row b of xq)
 * for r < R (a multiple of 16), b < B: the prefill GEMM of the default
 * path (qgemm_avx512.c), each result bit-identical to the scalar
 * reference qdot_*_ref. w rows are rs bytes apart, xq rows xs bytes;
 * scratch holds qgemm_scratch_bytes(n, B) bytes, 64-byte aligned. */
typedef void (*qgemm_fn)(float *restrict y, ptrdiff_t ldy, const void *restrict w, size_t rs,
                         int64_t R, const void *restrict xq, size_t xs, int64_t B, int64_t n,
                         bool add, void *scratch);
size_t qgemm_scratch_bytes(int64_t n, int64_t B);

/* The same GEMM on a weight repacked at load (model/weights.c) into tiles
 * of 16 rows: y(B, 16*T) = xq(B, n) · W^T, tile t (rows 16t .. 16t+15) at
 * tiles + t * tile_bytes(n). Each output is bit-identical to the type's
 * scalar reference qdot for every B, one token included, so a row's
 * result never depends on its batch. */
typedef void (*qgemm_packed_fn)(float *restrict y, ptrdiff_t ldy, const void *restrict tiles,
                                int64_t T, const void *restrict xq, size_t xs, int64_t B,
                                int64_t n, bool add, void *scratch);
/* A weight type's packed layout: its size, the packer and the GEMM on it.
 * The layout is private to the kernel file; the bytes per row are at most
 * the file's, so decode reads no more than the row dots would. */
typedef struct qpack_ops {
    size_t (*tile_bytes)(int64_t n);
    /* 16 rows (rs bytes apart, n elements each) -> dst, tile_bytes(n)
     * bytes, 64-byte aligned */
    void (*pack)(void *restrict dst, const void *restrict w, size_t rs, int64_t n);
    qgemm_packed_fn gemm;
    /* narrower weights stay in the file layout (0: any width) */
    int64_t min_cols;
} qpack_ops;

typedef void (*act_quant_fn)(const float *restrict x, void *restrict dst, int64_t n);
/* Blocked attention over an f16 cache (attention_avx512.c), the default
 * path's prompts: rows <= ATTN_TILE_ROWS query rows times G query heads
 * sharing one kv head. Query head j of tile row i is q + i*ldq + j*D and
 * its output out + i*ldo + j*D (floats). cells(N) lists the cells any row
 * sees; bit i of masks[c] says row i sees cells[c]. k and v point at the
 * kv head's D channels of cell 0, cell rows stride elements apart. Each
 * row and head gets the bits attention_head_f16_avx2 gives over the cells
 * that row sees (in the order of cells); a row that sees none gets zeros.
 * D a multiple of 16. scratch holds attention_tile_scratch_floats(G, D, N)
 * floats, 64-byte aligned. */
#define ATTN_TILE_ROWS 16
#define ATTN_TILE_CELLS 32
typedef void (*attention_tile_fn)(float *out, ptrdiff_t ldo, const float *q, ptrdiff_t ldq,
                                  int32_t rows, int32_t G, int32_t D, const uint16_t *k,
                                  const uint16_t *v, size_t stride, const int32_t *restrict cells,
                                  const uint16_t *restrict masks, int32_t N, float scale,
                                  float *scratch);
size_t attention_tile_scratch_floats(int32_t G, int32_t D, int32_t N);

typedef struct kernel_table {
    const char *isa; /* "scalar", "avx2", "avx512", "avx512vnni", "avx512bf16" */
    float (*dot)(const float *restrict a, const float *restrict b, int64_t n);
    /* y[i] += a * x[i] */
    void (*axpy)(float *restrict y, float a, const float *restrict x, int64_t n);
    gemm_tile_fn gemm_tile;
    /* Fused dequantize-and-dot of one weight row of type t with f32
     * activations (the dtype_traits.dot_f32 contract), for the types this
     * ISA speeds up; NULL entries fall back to the type table's scalar
     * dot_f32. Indexed by owl_type. */
    dtype_dot_f32_fn rowdot[OWL_TYPE_COUNT];
    /* Integer dot of one weight row of type t with activations quantized
     * to dtype_get(t)->vec_dot_type (the default path, see quant_act.c);
     * NULL: this type has no integer path and runs the exact one. */
    qdot_fn qdot[OWL_TYPE_COUNT];
    qdot4_fn qdot4[OWL_TYPE_COUNT]; /* set wherever qdot is */
    /* the many-row (prefill) form of qdot; NULL: matmul uses qdot4 */
    qgemm_fn qgemm[OWL_TYPE_COUNT];
    /* fewest activation rows for which matmul calls qgemm (0: any, one
     * token too, so a row's bits never depend on its batch); below it the
     * row dots run, faster there but with other fp32 rounding */
    int8_t qgemm_min_b[OWL_TYPE_COUNT];
    /* the packed layout of a weight type (NULL: none); weights of that
     * type are repacked at load and every batch runs qpack->gemm */
    const qpack_ops *qpack[OWL_TYPE_COUNT];
    /* The activation formats of the default path, indexed by activation
     * type (a weight type's vec_dot_type: Q8_0, Q8_1, Q8_K, BF16, ...):
     * x(n) -> one row of that type, as llama.cpp makes it. A weight type
     * runs the integer (or bf16) path when both qdot[type] and
     * act_quant[vec_dot_type] are set. */
    act_quant_fn act_quant[OWL_TYPE_COUNT];
    /* f16 KV cache: dot of an f16 row with f32, and y += a * f16 row */
    float (*dot_f16)(const uint16_t *restrict a, const float *restrict x, int64_t n);
    void (*axpy_f16)(float *restrict y, float a, const uint16_t *restrict x, int64_t n);
    /* rmsnorm (elementwise.c) or a variant summing the squares in four
     * double lanes (the same result but for the last bits of the double
     * sum); the default path's */
    void (*rmsnorm)(float *o, const float *x, const float *restrict w, int64_t n, float eps);
    /* dst(n) = x rounded to f16 (round to nearest even): the KV cache store */
    void (*to_f16)(uint16_t *restrict dst, const float *restrict x, int64_t n);
    /* swiglu_poly, or a variant giving the same bits faster (default path) */
    void (*swiglu)(float *o, const float *g, const float *restrict u, int64_t n);
    /* attention_head_f16, or a variant giving the same bits faster */
    void (*attn_f16)(float *restrict out, const float *restrict q, const uint16_t *k,
                     const uint16_t *v, size_t stride, const int32_t *restrict cells, int32_t N,
                     int32_t D, float scale, float *restrict scores, const struct kernel_table *kt);
    /* blocked attention of a tile of query rows (attention_tile_f16_*);
     * NULL: this ISA has none, attention runs attn_f16 per (row, head) */
    attention_tile_fn attn_tile;
} kernel_table;

/* The table for this CPU (filled once, thread-safe). */
const kernel_table *kernels_get(void);
/* The table of one ISA ("scalar", "avx2", "avx512", "avx512vnni",
 * "avx512bf16"), or
 * NULL when this CPU (or OWL_ISA) does not allow it. For tests and
 * benchmarks. */
const kernel_table *kernels_variant(const char *isa);

/* ---- scalar references ------------------------------------------------ */
float dot_ref(const float *restrict a, const float *restrict b, int64_t n);
void axpy_ref(float *restrict y, float a, const float *restrict x, int64_t n);
void gemm_tile_ref(float *restrict y, ptrdiff_t ldy, const float *restrict x, ptrdiff_t ldx,
                   int64_t B, const float *restrict w, ptrdiff_t ldw, int64_t R, int64_t n,
                   bool add);

/* ---- activations for the default path (quant_act.c) ---------------------- */
/* x(n) -> Q8_0 / Q8_1 blocks as llama.cpp's x86 path makes them */
void act_quantize_q8_0(const float *restrict x, void *restrict dst, int64_t n);
void act_quantize_q8_1(const float *restrict x, void *restrict dst, int64_t n);
/* x(n) -> Q8_K blocks (256 each) as llama.cpp makes them (quant_act.c) */
void act_quantize_q8_K(const float *restrict x, void *restrict dst, int64_t n);
/* dst(n) = x rounded to f16 (as f32) */
void act_round_f16(float *restrict dst, const float *restrict x, int64_t n);
float qdot_q4_0_q8_0_ref(const void *restrict w, const void *restrict xq, int64_t n);
float qdot_q4_1_q8_1_ref(const void *restrict w, const void *restrict xq, int64_t n);
float qdot_q8_0_q8_0_ref(const void *restrict w, const void *restrict xq, int64_t n);
void qdot4_q4_0_q8_0_ref(const void *restrict w, const void *restrict xq, size_t xs, float out[4], int64_t n);
void qdot4_q4_1_q8_1_ref(const void *restrict w, const void *restrict xq, size_t xs, float out[4], int64_t n);
void qdot4_q8_0_q8_0_ref(const void *restrict w, const void *restrict xq, size_t xs, float out[4], int64_t n);
/* BF16 weights (bf16.c): x(n) -> bf16 as llama.cpp rounds it, and the
 * bf16 x bf16 dot as vdpbf16ps computes it, any n */
void act_quantize_bf16(const float *restrict x, void *restrict dst, int64_t n);
float qdot_bf16_ref(const void *restrict w, const void *restrict xq, int64_t n);
void qdot4_bf16_ref(const void *restrict w, const void *restrict xq, size_t xs, float out[4], int64_t n);
/* K-quant weights x Q8_K activations (qdot_k.c) */
float qdot_q4_K_q8_K_ref(const void *restrict w, const void *restrict xq, int64_t n);
float qdot_q5_K_q8_K_ref(const void *restrict w, const void *restrict xq, int64_t n);
float qdot_q6_K_q8_K_ref(const void *restrict w, const void *restrict xq, int64_t n);
void qdot4_q4_K_q8_K_ref(const void *restrict w, const void *restrict xq, size_t xs, float out[4], int64_t n);
void qdot4_q5_K_q8_K_ref(const void *restrict w, const void *restrict xq, size_t xs, float out[4], int64_t n);
void qdot4_q6_K_q8_K_ref(const void *restrict w, const void *restrict xq, size_t xs, float out[4], int64_t n);
float qdot_q5_0_q8_0_ref(const void *restrict w, const void *restrict xq, int64_t n);
void qdot4_q5_0_q8_0_ref(const void *restrict w, const void *restrict xq, size_t xs, float out[4], int64_t n);
float dot_f16_ref(const uint16_t *restrict a, const float *restrict x, int64_t n);
void axpy_f16_ref(float *restrict y, float a, const uint16_t *restrict x, int64_t n);

/* ---- ISA variants (only call through the table) ------------------------ */
float qdot_q4_0_q8_0_avx2(const void *restrict w, const void *restrict xq, int64_t n);
float qdot_q4_1_q8_1_avx2(const void *restrict w, const void *restrict xq, int64_t n);
float qdot_q8_0_q8_0_avx2(const void *restrict w, const void *restrict xq, int64_t n);
float qdot_q5_0_q8_0_avx2(const void *restrict w, const void *restrict xq, int64_t n);
void qdot4_q5_0_q8_0_avx2(const void *restrict w, const void *restrict xq, size_t xs, float out[4], int64_t n);
void qdot4_q4_0_q8_0_avx2(const void *restrict w, const void *restrict xq, size_t xs, float out[4], int64_t n);
void qdot4_q4_1_q8_1_avx2(const void *restrict w, const void *restrict xq, size_t xs, float out[4], int64_t n);
void qdot4_q8_0_q8_0_avx2(const void *restrict w, const void *restrict xq, size_t xs, float out[4], int64_t n);
float dot_f16_avx2(const uint16_t *restrict a, const float *restrict x, int64_t n);
void act_quantize_q8_0_avx2(const float *restrict x, void *restrict dst, int64_t n);
void act_quantize_q8_1_avx2(const float *restrict x, void *restrict dst, int64_t n);
void axpy_f16_avx2(float *restrict y, float a, const uint16_t *restrict x, int64_t n);
void attention_head_f16_avx2(float *restrict out, const float *restrict q, const uint16_t *k,
                             const uint16_t *v, size_t stride, const int32_t *restrict cells,
                             int32_t N, int32_t D, float scale, float *restrict scores,
                             const struct kernel_table *kt);
float dot_avx2(const float *restrict a, const float *restrict b, int64_t n);
void rmsnorm_avx2(float *o, const float *x, const float *restrict w, int64_t n, float eps);
void to_f16_ref(uint16_t *restrict dst, const float *restrict x, int64_t n);
void to_f16_avx2(uint16_t *restrict dst, const float *restrict x, int64_t n);
void axpy_avx2(float *restrict y, float a, const float *restrict x, int64_t n);
void gemm_tile_avx2(float *restrict y, ptrdiff_t ldy, const float *restrict x, ptrdiff_t ldx,
                    int64_t B, const float *restrict w, ptrdiff_t ldw, int64_t R, int64_t n,
                    bool add);
float rowdot_q4_0_avx2(const void *restrict row, const float *restrict x, int64_t n);
float rowdot_q4_1_avx2(const void *restrict row, const float *restrict x, int64_t n);
float rowdot_q8_0_avx2(const void *restrict row, const float *restrict x, int64_t n);
float rowdot_f16_avx2(const void *restrict row, const float *restrict x, int64_t n);
float rowdot_q4_K_avx2(const void *restrict row, const float *restrict x, int64_t n);
float rowdot_q5_K_avx2(const void *restrict row, const float *restrict x, int64_t n);
float rowdot_q6_K_avx2(const void *restrict row, const float *restrict x, int64_t n);
float rowdot_f32_avx2(const void *restrict row, const float *restrict x, int64_t n);
float qdot_q4_0_q8_0_vnni(const void *restrict w, const void *restrict xq, int64_t n);
float qdot_q4_1_q8_1_vnni(const void *restrict w, const void *restrict xq, int64_t n);
float qdot_q8_0_q8_0_vnni(const void *restrict w, const void *restrict xq, int64_t n);
float qdot_q5_0_q8_0_vnni(const void *restrict w, const void *restrict xq, int64_t n);
void qdot4_q5_0_q8_0_vnni(const void *restrict w, const void *restrict xq, size_t xs, float out[4], int64_t n);
void qdot4_q4_0_q8_0_vnni(const void *restrict w, const void *restrict xq, size_t xs, float out[4], int64_t n);
void qdot4_q4_1_q8_1_vnni(const void *restrict w, const void *restrict xq, size_t xs, float out[4], int64_t n);
void qdot4_q8_0_q8_0_vnni(const void *restrict w, const void *restrict xq, size_t xs, float out[4], int64_t n);
void qgemm_q4_0_vnni(float *restrict y, ptrdiff_t ldy, const void *restrict w, size_t rs,
                     int64_t R, const void *restrict xq, size_t xs, int64_t B, int64_t n, bool add,
                     void *scratch);
void qgemm_q4_1_vnni(float *restrict y, ptrdiff_t ldy, const void *restrict w, size_t rs,
                     int64_t R, const void *restrict xq, size_t xs, int64_t B, int64_t n, bool add,
                     void *scratch);
void qgemm_q5_0_vnni(float *restrict y, ptrdiff_t ldy, const void *restrict w, size_t rs,
                     int64_t R, const void *restrict xq, size_t xs, int64_t B, int64_t n, bool add,
                     void *scratch);
void qgemm_q8_0_vnni(float *restrict y, ptrdiff_t ldy, const void *restrict w, size_t rs,
                     int64_t R, const void *restrict xq, size_t xs, int64_t B, int64_t n, bool add,
                     void *scratch);
void act_quantize_bf16_avx2(const float *restrict x, void *restrict dst, int64_t n);
float qdot_bf16_avx2(const void *restrict w, const void *restrict xq, int64_t n);
void qdot4_bf16_avx2(const void *restrict w, const void *restrict xq, size_t xs, float out[4], int64_t n);
float rowdot_bf16_avx2(const void *restrict row, const float *restrict x, int64_t n);
void act_quantize_bf16_avx512(const float *restrict x, void *restrict dst, int64_t n);
float qdot_bf16_avx512bf16(const void *restrict w, const void *restrict xq, int64_t n);
void qdot4_bf16_avx512bf16(const void *restrict w, const void *restrict xq, size_t xs, float out[4], int64_t n);
void qgemm_bf16_avx512bf16(float *restrict y, ptrdiff_t ldy, const void *restrict w, size_t rs,
                           int64_t R, const void *restrict xq, size_t xs, int64_t B, int64_t n,
                           bool add, void *scratch);
/* BF16 weights repacked in tiles of 16 rows (bf16_avx512.c) */
extern const qpack_ops qpack_bf16_avx512bf16;
/* K-quants (qdot_k_avx2.c, qdot_k_avx512.c: AVX-512BW, 64 bytes at a time) */
void act_quantize_q8_K_avx2(const float *restrict x, void *restrict dst, int64_t n);
float qdot_q4_K_q8_K_avx2(const void *restrict w, const void *restrict xq, int64_t n);
float qdot_q5_K_q8_K_avx2(const void *restrict w, const void *restrict xq, int64_t n);
float qdot_q6_K_q8_K_avx2(const void *restrict w, const void *restrict xq, int64_t n);
void qdot4_q4_K_q8_K_avx2(const void *restrict w, const void *restrict xq, size_t xs, float out[4], int64_t n);
void qdot4_q5_K_q8_K_avx2(const void *restrict w, const void *restrict xq, size_t xs, float out[4], int64_t n);
void qdot4_q6_K_q8_K_avx2(const void *restrict w, const void *restrict xq, size_t xs, float out[4], int64_t n);
float qdot_q4_K_q8_K_avx512(const void *restrict w, const void *restrict xq, int64_t n);
float qdot_q5_K_q8_K_avx512(const void *restrict w, const void *restrict xq, int64_t n);
float qdot_q6_K_q8_K_avx512(const void *restrict w, const void *restrict xq, int64_t n);
void qdot4_q4_K_q8_K_avx512(const void *restrict w, const void *restrict xq, size_t xs, float out[4], int64_t n);
void qdot4_q5_K_q8_K_avx512(const void *restrict w, const void *restrict xq, size_t xs, float out[4], int64_t n);
void qdot4_q6_K_q8_K_avx512(const void *restrict w, const void *restrict xq, size_t xs, float out[4], int64_t n);
/* the packed layouts of qgemm_avx512.c */
extern const qpack_ops qpack_q4_0_vnni, qpack_q4_1_vnni, qpack_q8_0_vnni, qpack_q5_0_vnni;
/* the K-quant prefill GEMM (qgemm_k_avx512.c) */
void qgemm_q4_K_vnni(float *restrict y, ptrdiff_t ldy, const void *restrict w, size_t rs,
                     int64_t R, const void *restrict xq, size_t xs, int64_t B, int64_t n, bool add,
                     void *scratch);
void qgemm_q5_K_vnni(float *restrict y, ptrdiff_t ldy, const void *restrict w, size_t rs,
                     int64_t R, const void *restrict xq, size_t xs, int64_t B, int64_t n, bool add,
                     void *scratch);
void qgemm_q6_K_vnni(float *restrict y, ptrdiff_t ldy, const void *restrict w, size_t rs,
                     int64_t R, const void *restrict xq, size_t xs, int64_t B, int64_t n, bool add,
                     void *scratch);
/* the same on K-quant weights repacked at load (qgemm_k_avx512.c) */
extern const qpack_ops qpack_q4_K_vnni, qpack_q5_K_vnni, qpack_q6_K_vnni;
float dot_avx512(const float *restrict a, const float *restrict b, int64_t n);
void axpy_avx512(float *restrict y, float a, const float *restrict x, int64_t n);
void gemm_tile_avx512(float *restrict y, ptrdiff_t ldy, const float *restrict x, ptrdiff_t ldx,
                      int64_t B, const float *restrict w, ptrdiff_t ldw, int64_t R, int64_t n,
                      bool add);


/* ---- norms, activations, softmax (elementwise.c) ------------------------ */
/* o(n) = x / sqrt(mean(x^2) + eps) * w; o may equal x. The sum of squares
 * runs in double. */
void rmsnorm(float *o, const float *x, const float *restrict w, int64_t n, float eps);
/* x(n) = softmax(x), max-subtracted, the sum in double. */
void softmax(float *x, int64_t n);
/* softmax with exp_poly (exp_poly.h) for the exponentials: the softmax of
 * the default path's f16 attention. Same max and scaling; the double sum
 * runs as four partial sums (element i into sum i % 4, then
 * (s0 + s1) + (s2 + s3)), the order of a 4-lane vector. */
void softmax_poly(float *x, int64_t n);
/* swiglu with exp_poly for the exponential: the default path's, as
 * llama.cpp's silu uses a polynomial exp too. o may equal g. */
void swiglu_poly(float *o, const float *g, const float *restrict u, int64_t n);
void swiglu_poly_avx2(float *o, const float *g, const float *restrict u, int64_t n);
/* o(n) = silu(g) * u, silu(g) = g / (1 + exp(-g)); o may equal g. */
void swiglu(float *o, const float *g, const float *restrict u, int64_t n);

/* ---- RoPE (rope.c) ------------------------------------------------------ */
/* cs(n_rot) = (cos, sin) of angle pos * pos_scale * theta^(-2i/n_rot) / ff[i]
 * for i < n_rot/2 (ff = freq_factors, NULL = all 1: llama 3's long-context
 * rope_freqs), computed in double: the table one row (position) uses in
 * every layer. */
void rope_table(float *restrict cs, int32_t pos, int32_t n_rot, float theta, float pos_scale,
                const float *restrict freq_factors);
/* The same table as llama.cpp builds it (the default path): angles by
 * repeated fp32 multiplication pos * step^i, step = theta^(-2/n_rot), and
 * fp32 cosf/sinf. Differs from rope_table by fp32 rounding only. */
void rope_table_f32(float *restrict cs, int32_t pos, int32_t n_rot, float theta, float pos_scale,
                    const float *restrict freq_factors);
/* Rotates x(n_head, head_dim) in place, the first n_rot channels of each
 * head. neox=false: pairs (2i, 2i+1) (llama.cpp "normal", GGUF llama);
 * neox=true: pairs (i, i + n_rot/2). */
void rope_apply(float *x, int32_t n_head, int32_t head_dim, int32_t n_rot,
                const float *restrict cs, bool neox);

/* ---- attention (attention.c) --------------------------------------------- */
/* One query head over N cached cells:
 *   out(D) = softmax_c(scale * q · k_c) · v_c,  c in cells[0..N)
 * with k_c = k + cells[c]*stride, v_c likewise (stride in floats).
 * scores(N) is scratch. N == 0 gives out = 0. Uses kt's dot and axpy. */
void attention_head(float *restrict out, const float *restrict q, const float *k,
                    const float *v, size_t stride, const int32_t *restrict cells, int32_t N,
                    int32_t D, float scale, float *restrict scores, const kernel_table *kt);
/* The same over an f16 cache (the default path): the keys and values are
 * f16 as stored, the query and the softmax weights stay fp32 (llama.cpp
 * rounds both to f16; it costs a conversion each and, on SmolLM2 Q4_1,
 * 3% of the KL-divergence from the fp32 path), and the softmax takes its
 * exponentials from a polynomial (softmax_poly). */
void attention_head_f16(float *restrict out, const float *restrict q, const uint16_t *k,
                        const uint16_t *v, size_t stride, const int32_t *restrict cells,
                        int32_t N, int32_t D, float scale, float *restrict scores,
                        const struct kernel_table *kt);
/* The blocked kernel (attention_tile_fn), AVX-512: attention_avx512.c */
void attention_tile_f16_avx512(float *out, ptrdiff_t ldo, const float *q, ptrdiff_t ldq,
                               int32_t rows, int32_t G, int32_t D, const uint16_t *k,
                               const uint16_t *v, size_t stride, const int32_t *restrict cells,
                               const uint16_t *restrict masks, int32_t N, float scale,
                               float *scratch);

#endif
