/* dtype.c — the type-traits table: one row per tensor type owl knows,
 * indexed by owl_type (GGUF's ggml_type values), and the lookups on it.
 *
 * A type GGUF defines but owl cannot read (IQ*, TQ*, MXFP4, ...) has no
 * row: dtype_get() returns NULL and the loader reports it as unsupported. */
#include "tensor/dtype.h"

#include "base/mem.h"
#include "tensor/quants.h"

static const dtype_traits dtype_table[OWL_TYPE_COUNT] = {
    [OWL_TYPE_F32] = {.name = "f32", .blck = 1, .size = 4, .quantized = false,
                      .to_float = f32_to_float, .from_float = f32_from_float,
                      .dot_f32 = f32_dot_f32, .vec_dot_type = OWL_TYPE_F32},
    [OWL_TYPE_F16] = {.name = "f16", .blck = 1, .size = 2, .quantized = false,
                      .to_float = f16_row_to_float, .from_float = f16_row_from_float,
                      .dot_f32 = f16_dot_f32, .vec_dot_type = OWL_TYPE_F16},
    [OWL_TYPE_BF16] = {.name = "bf16", .blck = 1, .size = 2, .quantized = false,
                       .to_float = bf16_row_to_float, .from_float = bf16_row_from_float,
                       .dot_f32 = bf16_dot_f32, .vec_dot_type = OWL_TYPE_BF16},
    [OWL_TYPE_Q4_0] = {.name = "q4_0", .blck = QK4_0, .size = sizeof(block_q4_0), .quantized = true,
                       .to_float = q4_0_to_float, .from_float = q4_0_from_float,
                       .dot_f32 = q4_0_dot_f32, .vec_dot_type = OWL_TYPE_Q8_0},
    [OWL_TYPE_Q4_1] = {.name = "q4_1", .blck = QK4_1, .size = sizeof(block_q4_1), .quantized = true,
                       .to_float = q4_1_to_float, .from_float = q4_1_from_float,
                       .dot_f32 = q4_1_dot_f32, .vec_dot_type = OWL_TYPE_Q8_1},
    [OWL_TYPE_Q5_0] = {.name = "q5_0", .blck = QK5_0, .size = sizeof(block_q5_0), .quantized = true,
                       .to_float = q5_0_to_float, .from_float = q5_0_from_float,
                       .dot_f32 = q5_0_dot_f32, .vec_dot_type = OWL_TYPE_Q8_0},
    [OWL_TYPE_Q5_1] = {.name = "q5_1", .blck = QK5_1, .size = sizeof(block_q5_1), .quantized = true,
                       .to_float = q5_1_to_float, .from_float = q5_1_from_float,
                       .dot_f32 = q5_1_dot_f32, .vec_dot_type = OWL_TYPE_Q8_1},
    [OWL_TYPE_Q8_0] = {.name = "q8_0", .blck = QK8_0, .size = sizeof(block_q8_0), .quantized = true,
                       .to_float = q8_0_to_float, .from_float = q8_0_from_float,
                       .dot_f32 = q8_0_dot_f32, .vec_dot_type = OWL_TYPE_Q8_0},
    [OWL_TYPE_Q8_1] = {.name = "q8_1", .blck = QK8_1, .size = sizeof(block_q8_1), .quantized = true,
                       .to_float = q8_1_to_float, .from_float = q8_1_from_float,
                       .dot_f32 = q8_1_dot_f32, .vec_dot_type = OWL_TYPE_Q8_1},
    [OWL_TYPE_Q2_K] = {.name = "q2_k", .blck = QK_K, .size = sizeof(block_q2_K), .quantized = true,
                       .to_float = q2_K_to_float, .from_float = q2_K_from_float,
                       .dot_f32 = q2_K_dot_f32, .vec_dot_type = OWL_TYPE_Q8_K},
    [OWL_TYPE_Q3_K] = {.name = "q3_k", .blck = QK_K, .size = sizeof(block_q3_K), .quantized = true,
                       .to_float = q3_K_to_float, .from_float = q3_K_from_float,
                       .dot_f32 = q3_K_dot_f32, .vec_dot_type = OWL_TYPE_Q8_K},
    [OWL_TYPE_Q4_K] = {.name = "q4_k", .blck = QK_K, .size = sizeof(block_q4_K), .quantized = true,
                       .to_float = q4_K_to_float, .from_float = q4_K_from_float,
                       .dot_f32 = q4_K_dot_f32, .vec_dot_type = OWL_TYPE_Q8_K},
    [OWL_TYPE_Q5_K] = {.name = "q5_k", .blck = QK_K, .size = sizeof(block_q5_K), .quantized = true,
                       .to_float = q5_K_to_float, .from_float = q5_K_from_float,
                       .dot_f32 = q5_K_dot_f32, .vec_dot_type = OWL_TYPE_Q8_K},
    [OWL_TYPE_Q6_K] = {.name = "q6_k", .blck = QK_K, .size = sizeof(block_q6_K), .quantized = true,
                       .to_float = q6_K_to_float, .from_float = q6_K_from_float,
                       .dot_f32 = q6_K_dot_f32, .vec_dot_type = OWL_TYPE_Q8_K},
    [OWL_TYPE_Q8_K] = {.name = "q8_k", .blck = QK_K, .size = sizeof(block_q8_K), .quantized = true,
                       .to_float = q8_K_to_float, .from_float = q8_K_from_float,
                       .dot_f32 = q8_K_dot_f32, .vec_dot_type = OWL_TYPE_Q8_K},
};

const dtype_traits *dtype_get(int t) {
    if (t < 0 || t >= OWL_TYPE_COUNT || !dtype_table[t].name) return NULL;
    return &dtype_table[t];
}

size_t dtype_row_size(int t, int64_t n) {
    const dtype_traits *tr = dtype_get(t);
    if (!tr || n < 0 || n % tr->blck != 0) return 0;
    size_t bytes;
    if (!size_mul((size_t)(n / tr->blck), tr->size, &bytes)) return 0;
    return bytes;
}

const char *owl_type_name(int type) {
    const dtype_traits *tr = dtype_get(type);
    return tr ? tr->name : NULL;
}
