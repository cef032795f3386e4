/* bf16.c — the default path for BF16 weights: activations rounded to bf16
 * and bf16 x bf16 dot products summed in fp32, as llama.cpp computes them
 * on CPUs with AVX512-BF16. Scalar references; bf16_avx512.c has the
 * vdpbf16ps kernels, bf16_avx2.c the fallback for CPUs without them.
 *
 * Rounding: act_quantize_bf16 is llama.cpp's GGML_FP32_TO_BF16 (round to
 * nearest even, a NaN kept as a quiet NaN: f32_to_bf16 in base/f16.h) for
 * every element. llama.cpp's own AVX512-BF16 build converts whole groups
 * of 32 with vcvtne2ps2bf16, which differs only for subnormal inputs (it
 * gives +-0); the dot below reads subnormals as zero anyway.
 *
 * The dot is defined by what vdpbf16ps does (checked on Zen 4 against this
 * model, and it is Intel's pseudo-code): 16 fp32 lanes; elements in groups
 * of 32 (the last group padded with zeros), lane j of a group takes
 * element 2j+1 and then element 2j, each by one fused multiply-add
 * (lane = fma(w, x, lane), one rounding), with subnormal inputs read as
 * zero and a subnormal result flushed to zero (DAZ, FTZ: the instruction
 * ignores MXCSR). The groups go into the same 16 lanes in order, and the
 * lanes are summed by halves: lane j + lane j+8, then j + j+4, j + j+2,
 * j + j+1 (plain fp32 adds). Every variant computes exactly these
 * operations, so all give the same bits, whatever the batch. A bf16
 * product is exact in fp32 (8-bit significands), so the lanes lose
 * nothing but the running sum's rounding. */
#include <math.h>
#include <string.h>

#include "kernels.h"
#include "../base/f16.h"

void act_quantize_bf16(const float *restrict x, void *restrict dst, int64_t n) {
    uint16_t *y = dst;
    for (int64_t i = 0; i < n; i++) y[i] = f32_to_bf16(x[i]);
}

static inline float flush(float v) { return fpclassify(v) == FP_SUBNORMAL ? copysignf(0.0f, v) : v; }

/* one step of vdpbf16ps in one lane */
static inline float fma_bf16(float acc, uint16_t a, uint16_t b) {
    return flush(fmaf(flush(bf16_to_f32(a)), flush(bf16_to_f32(b)), flush(acc)));
}

static float lanes_sum(const float lane[16]) {
    float s8[8], s4[4], s2[2];
    for (int j = 0; j < 8; j++) s8[j] = lane[j] + lane[j + 8];
    for (int j = 0; j < 4; j++) s4[j] = s8[j] + s8[j + 4];
    for (int j = 0; j < 2; j++) s2[j] = s4[j] + s4[j + 2];
    return s2[0] + s2[1];
}

float qdot_bf16_ref(const void *restrict w, const void *restrict xq, int64_t n) {
    const uint16_t *a = w, *b = xq;
    float lane[16] = {0};
    for (int64_t i = 0; i < n; i += 32) {
        uint16_t ga[32] = {0}, gb[32] = {0};
        int m = n - i < 32 ? (int)(n - i) : 32;
        memcpy(ga, a + i, sizeof(uint16_t) * (size_t)m);
        memcpy(gb, b + i, sizeof(uint16_t) * (size_t)m);
        for (int j = 0; j < 16; j++) {
            lane[j] = fma_bf16(lane[j], ga[2 * j + 1], gb[2 * j + 1]);
            lane[j] = fma_bf16(lane[j], ga[2 * j], gb[2 * j]);
        }
    }
    return lanes_sum(lane);
}

void qdot4_bf16_ref(const void *restrict w, const void *restrict xq, size_t xs, float out[4],
                    int64_t n) {
    for (int k = 0; k < 4; k++) out[k] = qdot_bf16_ref(w, (const char *)xq + k * xs, n);
}
