/* dispatch.c — the kernel table, chosen once from the CPU features
 * (base/cpu.h, capped by OWL_ISA=scalar|avx2|avx512|avx512vnni).
 *
 * BF16 weights: every table runs them on bf16 activations (bf16.c), with
 * the same bits everywhere; the vdpbf16ps kernels need their own level,
 * avx512bf16 (the VNNI table plus them), chosen first when the CPU has
 * AVX512-BF16, so that the VNNI table stays testable on such a CPU and a
 * CPU with VNNI but without BF16 (Ice Lake) gets the AVX2 replay. */
#include <pthread.h>
#include <stdbool.h>
#include <string.h>

#include "kernels.h"
#include "../base/cpu.h"

/* bf: the BF16 dots; ksuffix: the K-quant dots (qdot_k*.c) */
#define QDOT(suffix, bf, ksuffix)                                                \
    .qdot = {[OWL_TYPE_Q4_0] = qdot_q4_0_q8_0_##suffix,                          \
             [OWL_TYPE_Q4_1] = qdot_q4_1_q8_1_##suffix,                          \
             [OWL_TYPE_Q8_0] = qdot_q8_0_q8_0_##suffix,                          \
             [OWL_TYPE_BF16] = qdot_bf16_##bf,                                   \
             [OWL_TYPE_Q5_0] = qdot_q5_0_q8_0_##suffix,                          \
             [OWL_TYPE_Q4_K] = qdot_q4_K_q8_K_##ksuffix,                         \
             [OWL_TYPE_Q5_K] = qdot_q5_K_q8_K_##ksuffix,                         \
             [OWL_TYPE_Q6_K] = qdot_q6_K_q8_K_##ksuffix},                        \
    .qdot4 = {[OWL_TYPE_Q4_0] = qdot4_q4_0_q8_0_##suffix,                        \
              [OWL_TYPE_Q4_1] = qdot4_q4_1_q8_1_##suffix,                        \
              [OWL_TYPE_Q8_0] = qdot4_q8_0_q8_0_##suffix,                        \
              [OWL_TYPE_BF16] = qdot4_bf16_##bf,                                 \
              [OWL_TYPE_Q5_0] = qdot4_q5_0_q8_0_##suffix,                        \
              [OWL_TYPE_Q4_K] = qdot4_q4_K_q8_K_##ksuffix,                       \
              [OWL_TYPE_Q5_K] = qdot4_q5_K_q8_K_##ksuffix,                       \
              [OWL_TYPE_Q6_K] = qdot4_q6_K_q8_K_##ksuffix}
#define F16KV(suffix) .dot_f16 = dot_f16_##suffix, .axpy_f16 = axpy_f16_##suffix

static const kernel_table table_scalar = {
    .isa = "scalar", .dot = dot_ref, .axpy = axpy_ref, .gemm_tile = gemm_tile_ref,
    QDOT(ref, ref, ref), F16KV(ref),
    .act_quant = {[OWL_TYPE_Q8_0] = act_quantize_q8_0, [OWL_TYPE_Q8_1] = act_quantize_q8_1,
                  [OWL_TYPE_BF16] = act_quantize_bf16,
                  [OWL_TYPE_Q8_K] = act_quantize_q8_K},
    .attn_f16 = attention_head_f16, .swiglu = swiglu_poly, .rmsnorm = rmsnorm, .to_f16 = to_f16_ref,
};
#if defined(__x86_64__)
#define ACT_AVX2(bf)                                                             \
    .act_quant = {[OWL_TYPE_Q8_0] = act_quantize_q8_0_avx2,                        \
                  [OWL_TYPE_Q8_1] = act_quantize_q8_1_avx2,                        \
                  [OWL_TYPE_BF16] = act_quantize_bf16_##bf,                        \
                  [OWL_TYPE_Q8_K] = act_quantize_q8_K_avx2},                       \
    .attn_f16 = attention_head_f16_avx2, .swiglu = swiglu_poly_avx2,                 \
    .rmsnorm = rmsnorm_avx2, .to_f16 = to_f16_avx2
#define ROWDOT_AVX2                                                                   \
    .rowdot = {[OWL_TYPE_Q4_0] = rowdot_q4_0_avx2, [OWL_TYPE_Q4_1] = rowdot_q4_1_avx2, \
               [OWL_TYPE_Q8_0] = rowdot_q8_0_avx2, [OWL_TYPE_F16] = rowdot_f16_avx2,   \
               [OWL_TYPE_F32] = rowdot_f32_avx2, [OWL_TYPE_Q4_K] = rowdot_q4_K_avx2,   \
               [OWL_TYPE_Q5_K] = rowdot_q5_K_avx2, [OWL_TYPE_Q6_K] = rowdot_q6_K_avx2,   \
               [OWL_TYPE_BF16] = rowdot_bf16_avx2}
static const kernel_table table_avx2 = {
    .isa = "avx2", .dot = dot_avx2, .axpy = axpy_avx2, .gemm_tile = gemm_tile_avx2,
    ROWDOT_AVX2, QDOT(avx2, avx2, avx2), F16KV(avx2), ACT_AVX2(avx2),
};
/* AVX-512 CPUs have AVX2: the 8-lane row and integer dots serve until
 * 16-lane ones pay */
static const kernel_table table_avx512 = {
    .isa = "avx512", .dot = dot_avx512, .axpy = axpy_avx512, .gemm_tile = gemm_tile_avx512,
    ROWDOT_AVX2, QDOT(avx2, avx2, avx512), F16KV(avx2), ACT_AVX2(avx2),
    .attn_tile = attention_tile_f16_avx512,
};
/* ... and with VNNI, the integer dots sum with vpdpbusd, and prefill runs
 * the 16-row GEMM of qgemm_avx512.c (bit-identical to the scalar
 * references; its fp32 summation order differs from the row dots', which
 * follow llama.cpp's AVX2 lanes, so the two may pick different tokens at
 * a near-tie — as llama.cpp's own repacked GEMM and row dots do). */
/* the GEMMs of Q4_K_M's types: Q5_0 (qgemm_avx512.c) and the K-quants
 * (qgemm_k_avx512.c); used where the table also has the type's integer
 * row dot and activation quantizer */
#define QGEMM_K                                                                  \
    [OWL_TYPE_Q5_0] = qgemm_q5_0_vnni, [OWL_TYPE_Q4_K] = qgemm_q4_K_vnni,         \
    [OWL_TYPE_Q5_K] = qgemm_q5_K_vnni, [OWL_TYPE_Q6_K] = qgemm_q6_K_vnni
/* the K-quant GEMM's one-token path decodes each row's super-blocks and is
 * 3x slower than the row dots, Q8_0's 2x (9 against 20 GMAC/s on the 49152
 * x 576 output of SmolLM2, bench/kernels.c): one token takes the row dots
 * (its bits then differ from the same row's in a prompt batch, as
 * llama.cpp's do) */
#define QGEMM_K_MIN_B \
    .qgemm_min_b = {[OWL_TYPE_Q4_K] = 4, [OWL_TYPE_Q5_K] = 4, [OWL_TYPE_Q6_K] = 4, [OWL_TYPE_Q8_0] = 4}
/* weights of these types are repacked at load into the GEMM's tiles
 * (qgemm_avx512.c, qgemm_k_avx512.c), which then serve every batch: decode
 * streams them without the row dots' horizontal sums (Q6_K from memory at
 * ~34 GB/s on one thread against the row dots' 18, bench-kernels) */
#define QPACK_VNNI_TYPES                                                                    \
    [OWL_TYPE_Q4_0] = &qpack_q4_0_vnni, [OWL_TYPE_Q4_1] = &qpack_q4_1_vnni,                  \
    [OWL_TYPE_Q8_0] = &qpack_q8_0_vnni, [OWL_TYPE_Q5_0] = &qpack_q5_0_vnni,                  \
    [OWL_TYPE_Q4_K] = &qpack_q4_K_vnni, [OWL_TYPE_Q5_K] = &qpack_q5_K_vnni,                  \
    [OWL_TYPE_Q6_K] = &qpack_q6_K_vnni
#define QPACK_VNNI .qpack = {QPACK_VNNI_TYPES}
static const kernel_table table_avx512_vnni = {
    .isa = "avx512vnni", .dot = dot_avx512, .axpy = axpy_avx512, .gemm_tile = gemm_tile_avx512,
    ROWDOT_AVX2, QDOT(vnni, avx2, avx512), F16KV(avx2), ACT_AVX2(avx2),
    .attn_tile = attention_tile_f16_avx512,
    .qgemm = {[OWL_TYPE_Q4_0] = qgemm_q4_0_vnni, [OWL_TYPE_Q4_1] = qgemm_q4_1_vnni,
              [OWL_TYPE_Q8_0] = qgemm_q8_0_vnni, QGEMM_K},
    QGEMM_K_MIN_B, QPACK_VNNI,
};
/* ... and with AVX512-BF16, BF16 weights by vdpbf16ps (bf16_avx512.c) */
static const kernel_table table_avx512_bf16 = {
    .isa = "avx512bf16", .dot = dot_avx512, .axpy = axpy_avx512, .gemm_tile = gemm_tile_avx512,
    ROWDOT_AVX2, QDOT(vnni, avx512bf16, avx512), F16KV(avx2), ACT_AVX2(avx512),
    .attn_tile = attention_tile_f16_avx512,
    .qgemm = {[OWL_TYPE_Q4_0] = qgemm_q4_0_vnni, [OWL_TYPE_Q4_1] = qgemm_q4_1_vnni,
              [OWL_TYPE_Q8_0] = qgemm_q8_0_vnni, [OWL_TYPE_BF16] = qgemm_bf16_avx512bf16,
              QGEMM_K},
    /* BF16 weights too (bf16_avx512.c: 16 rows side by side, one stream) */
    QGEMM_K_MIN_B, .qpack = {QPACK_VNNI_TYPES, [OWL_TYPE_BF16] = &qpack_bf16_avx512bf16},
};
#endif

const kernel_table *kernels_variant(const char *isa) {
    const cpu_features *f = cpu_get();
    if (strcmp(isa, "scalar") == 0) return &table_scalar;
#if defined(__x86_64__)
    if (strcmp(isa, "avx2") == 0 && f->avx2 && f->fma && f->f16c) return &table_avx2;
    bool avx512 = f->avx512f && f->avx2 && f->fma && f->f16c;
    if (strcmp(isa, "avx512") == 0 && avx512) return &table_avx512;
    if (strcmp(isa, "avx512vnni") == 0 && avx512 && f->avx512vl && f->avx512vnni)
        return &table_avx512_vnni;
    if (strcmp(isa, "avx512bf16") == 0 && avx512 && f->avx512vl && f->avx512bw && f->avx512vnni &&
        f->avx512bf16)
        return &table_avx512_bf16;
#else
    (void)f;
#endif
    return NULL;
}

static const kernel_table *chosen;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void choose(void) {
    const kernel_table *t = kernels_variant("avx512bf16");
    if (!t) t = kernels_variant("avx512vnni");
    if (!t) t = kernels_variant("avx512");
    if (!t) t = kernels_variant("avx2");
    if (!t) t = &table_scalar;
    chosen = t;
}

const kernel_table *kernels_get(void) {
    pthread_once(&once, choose);
    return chosen;
}
