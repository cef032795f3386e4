/* quants.h — GGUF's quantized block formats and their scalar reference code.
 *
 * Every block struct below is GGUF's (ggml's) byte layout, bit for bit, so a
 * tensor inside a memory-mapped GGUF file can be read in place. Each is
 * pinned with a static_assert on its size. Multi-byte fields are little
 * endian (owl runs on little-endian hosts only). A block must be aligned to
 * its widest field: 2 bytes for the f16 ones, 4 for block_q8_K.
 *
 * The scalar functions here are the truth every faster kernel is tested
 * against:
 *   *_to_float   dequantize n elements (a multiple of the block size), with
 *                the same float operations in the same order as ggml's
 *                reference, so results are bit-exact (see quants.c);
 *   *_from_float quantize as ggml's reference quantizers do, byte for byte
 *                (Q8_0, Q8_1, Q4_0, Q4_1, Q5_0, Q5_1, Q8_K, and Q2_K..Q6_K
 *                as llama.cpp writes them without an importance matrix);
 *   *_dot_f32    one row of n elements times n floats, accumulated in fp32,
 *                one block at a time through a stack buffer (no heap).
 *
 * Letters: QK = 32 elements per block of the simple quants, QK_K = 256 per
 * super-block of the K-quants (split into 8 or 16 sub-blocks with their own
 * scales).
 */
#ifndef OWL_TENSOR_QUANTS_H
#define OWL_TENSOR_QUANTS_H

#include <assert.h>
#include <stdint.h>

#define QK4_0 32
#define QK4_1 32
#define QK5_0 32
#define QK5_1 32
#define QK8_0 32
#define QK8_1 32
#define QK_K 256
#define K_SCALE_SIZE 12 /* packed 6-bit scales and mins of Q4_K / Q5_K */

/* f16 fields are raw IEEE half bits; convert with f16_to_f32 (base/f16.h). */

/* Q4_0: x = d * (q - 8), q in 0..15. qs[j] holds element j in its low
 * nibble and element j + 16 in its high nibble. */
typedef struct block_q4_0 {
    uint16_t d;
    uint8_t qs[QK4_0 / 2];
} block_q4_0;
static_assert(sizeof(block_q4_0) == 2 + QK4_0 / 2, "block_q4_0 layout");

/* Q4_1: x = d * q + m, q in 0..15; nibbles as Q4_0. */
typedef struct block_q4_1 {
    uint16_t d;
    uint16_t m;
    uint8_t qs[QK4_1 / 2];
} block_q4_1;
static_assert(sizeof(block_q4_1) == 4 + QK4_1 / 2, "block_q4_1 layout");

/* Q5_0: x = d * (q - 16), q in 0..31: low 4 bits as Q4_0, bit 4 of element
 * j is bit j of qh (read as a little-endian uint32). */
typedef struct block_q5_0 {
    uint16_t d;
    uint8_t qh[4];
    uint8_t qs[QK5_0 / 2];
} block_q5_0;
static_assert(sizeof(block_q5_0) == 6 + QK5_0 / 2, "block_q5_0 layout");

/* Q5_1: x = d * q + m, q in 0..31; bits as Q5_0. */
typedef struct block_q5_1 {
    uint16_t d;
    uint16_t m;
    uint8_t qh[4];
    uint8_t qs[QK5_1 / 2];
} block_q5_1;
static_assert(sizeof(block_q5_1) == 8 + QK5_1 / 2, "block_q5_1 layout");

/* Q8_0: x = d * q, q in -127..127. */
typedef struct block_q8_0 {
    uint16_t d;
    int8_t qs[QK8_0];
} block_q8_0;
static_assert(sizeof(block_q8_0) == 2 + QK8_0, "block_q8_0 layout");

/* Q8_1: as Q8_0 plus s = d * sum(qs), the activation side of Q4_1/Q5_1
 * dot products (it carries the min term). */
typedef struct block_q8_1 {
    uint16_t d;
    uint16_t s;
    int8_t qs[QK8_1];
} block_q8_1;
static_assert(sizeof(block_q8_1) == 4 + QK8_1, "block_q8_1 layout");

/* Q2_K: 16 sub-blocks of 16. scales[i]: low nibble scale, high nibble min
 * of sub-block i; x = d * sc * q - dmin * m, q in 0..3. Element order:
 * for each half h (128 elements, qs[32h .. 32h+31]) and shift s = 0,2,4,6,
 * 32 elements take bits s..s+1 of those 32 bytes. */
typedef struct block_q2_K {
    uint8_t scales[QK_K / 16];
    uint8_t qs[QK_K / 4];
    uint16_t d;
    uint16_t dmin;
} block_q2_K;
static_assert(sizeof(block_q2_K) == 2 * 2 + QK_K / 16 + QK_K / 4, "block_q2_K layout");

/* Q3_K: 16 sub-blocks of 16 with signed 6-bit scales (stored + 32, packed
 * in 12 bytes: low nibbles in bytes 0..7, top 2 bits in bytes 8..11);
 * x = d * (sc - 32) * (q - (hbit ? 0 : 4)), q 2 bits as Q2_K, hbit = bit
 * (group of 32) of hmask[element % 32]. */
typedef struct block_q3_K {
    uint8_t hmask[QK_K / 8];
    uint8_t qs[QK_K / 4];
    uint8_t scales[12];
    uint16_t d;
} block_q3_K;
static_assert(sizeof(block_q3_K) == 2 + QK_K / 4 + QK_K / 8 + 12, "block_q3_K layout");

/* Q4_K: 8 sub-blocks of 32 with 6-bit scale and min packed in 12 bytes;
 * x = d * sc * q - dmin * m, q in 0..15. Each 64 elements use 32 bytes of
 * qs: low nibbles first, then high nibbles. */
typedef struct block_q4_K {
    uint16_t d;
    uint16_t dmin;
    uint8_t scales[K_SCALE_SIZE];
    uint8_t qs[QK_K / 2];
} block_q4_K;
static_assert(sizeof(block_q4_K) == 2 * 2 + K_SCALE_SIZE + QK_K / 2, "block_q4_K layout");

/* Q5_K: Q4_K plus a fifth bit: bit (group of 32) of qh[element % 32]. */
typedef struct block_q5_K {
    uint16_t d;
    uint16_t dmin;
    uint8_t scales[K_SCALE_SIZE];
    uint8_t qh[QK_K / 8];
    uint8_t qs[QK_K / 2];
} block_q5_K;
static_assert(sizeof(block_q5_K) == 2 * 2 + K_SCALE_SIZE + QK_K / 2 + QK_K / 8, "block_q5_K layout");

/* Q6_K: 16 sub-blocks of 16 with int8 scales; x = d * sc * (q - 32), q in
 * 0..63: low 4 bits in ql, top 2 bits in qh. */
typedef struct block_q6_K {
    uint8_t ql[QK_K / 2];
    uint8_t qh[QK_K / 4];
    int8_t scales[QK_K / 16];
    uint16_t d;
} block_q6_K;
static_assert(sizeof(block_q6_K) == 2 + QK_K / 16 + 3 * QK_K / 4, "block_q6_K layout");

/* Q8_K: the activation side of K-quant dot products. d is fp32;
 * bsums[i] = sum of qs[16i .. 16i+15]. */
typedef struct block_q8_K {
    float d;
    int8_t qs[QK_K];
    int16_t bsums[QK_K / 16];
} block_q8_K;
static_assert(sizeof(block_q8_K) == 4 + QK_K + QK_K / 16 * 2, "block_q8_K layout");

/* Scale and min of sub-block j (0..7) of Q4_K / Q5_K: 6 bits each. For
 * j < 4 they are the low 6 bits of bytes j and j + 4; for j >= 4 the low
 * 4 bits come from byte j + 4 (scale: low nibble, min: high nibble) and
 * the top 2 bits from the top of bytes j - 4 (scale) and j (min). */
static inline void k_scale_min(int j, const uint8_t *restrict q, uint8_t *sc, uint8_t *m) {
    if (j < 4) {
        *sc = q[j] & 63;
        *m = q[j + 4] & 63;
    } else {
        *sc = (uint8_t)((q[j + 4] & 0x0f) | ((q[j - 4] >> 6) << 4));
        *m = (uint8_t)((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
    }
}

/* ---- dequantize: n elements, a multiple of the block size -------------- */

void f32_to_float(const void *restrict src, float *restrict dst, int64_t n);
void f16_row_to_float(const void *restrict src, float *restrict dst, int64_t n);
void bf16_row_to_float(const void *restrict src, float *restrict dst, int64_t n);
void q4_0_to_float(const void *restrict src, float *restrict dst, int64_t n);
void q4_1_to_float(const void *restrict src, float *restrict dst, int64_t n);
void q5_0_to_float(const void *restrict src, float *restrict dst, int64_t n);
void q5_1_to_float(const void *restrict src, float *restrict dst, int64_t n);
void q8_0_to_float(const void *restrict src, float *restrict dst, int64_t n);
void q8_1_to_float(const void *restrict src, float *restrict dst, int64_t n);
void q2_K_to_float(const void *restrict src, float *restrict dst, int64_t n);
void q3_K_to_float(const void *restrict src, float *restrict dst, int64_t n);
void q4_K_to_float(const void *restrict src, float *restrict dst, int64_t n);
void q5_K_to_float(const void *restrict src, float *restrict dst, int64_t n);
void q6_K_to_float(const void *restrict src, float *restrict dst, int64_t n);
void q8_K_to_float(const void *restrict src, float *restrict dst, int64_t n);

/* ---- quantize: n floats, a multiple of the block size ------------------ */

void f32_from_float(const float *restrict src, void *restrict dst, int64_t n);
void f16_row_from_float(const float *restrict src, void *restrict dst, int64_t n);
void bf16_row_from_float(const float *restrict src, void *restrict dst, int64_t n);
void q4_0_from_float(const float *restrict src, void *restrict dst, int64_t n);
void q4_1_from_float(const float *restrict src, void *restrict dst, int64_t n);
void q5_0_from_float(const float *restrict src, void *restrict dst, int64_t n);
void q5_1_from_float(const float *restrict src, void *restrict dst, int64_t n);
void q8_0_from_float(const float *restrict src, void *restrict dst, int64_t n);
void q8_1_from_float(const float *restrict src, void *restrict dst, int64_t n);
void q8_K_from_float(const float *restrict src, void *restrict dst, int64_t n);
void q2_K_from_float(const float *restrict src, void *restrict dst, int64_t n);
void q3_K_from_float(const float *restrict src, void *restrict dst, int64_t n);
void q4_K_from_float(const float *restrict src, void *restrict dst, int64_t n);
void q5_K_from_float(const float *restrict src, void *restrict dst, int64_t n);
void q6_K_from_float(const float *restrict src, void *restrict dst, int64_t n);

/* ---- row . x in fp32: n elements, a multiple of the block size --------- */

float f32_dot_f32(const void *restrict row, const float *restrict x, int64_t n);
float f16_dot_f32(const void *restrict row, const float *restrict x, int64_t n);
float bf16_dot_f32(const void *restrict row, const float *restrict x, int64_t n);
float q4_0_dot_f32(const void *restrict row, const float *restrict x, int64_t n);
float q4_1_dot_f32(const void *restrict row, const float *restrict x, int64_t n);
float q5_0_dot_f32(const void *restrict row, const float *restrict x, int64_t n);
float q5_1_dot_f32(const void *restrict row, const float *restrict x, int64_t n);
float q8_0_dot_f32(const void *restrict row, const float *restrict x, int64_t n);
float q8_1_dot_f32(const void *restrict row, const float *restrict x, int64_t n);
float q2_K_dot_f32(const void *restrict row, const float *restrict x, int64_t n);
float q3_K_dot_f32(const void *restrict row, const float *restrict x, int64_t n);
float q4_K_dot_f32(const void *restrict row, const float *restrict x, int64_t n);
float q5_K_dot_f32(const void *restrict row, const float *restrict x, int64_t n);
float q6_K_dot_f32(const void *restrict row, const float *restrict x, int64_t n);
float q8_K_dot_f32(const void *restrict row, const float *restrict x, int64_t n);

#endif
