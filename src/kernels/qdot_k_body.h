/* qdot_k_body.h — the K-quant dot kernels of qdot_k_avx2.c and
 * qdot_k_avx512.c, written once. The including file defines KFN(name)
 * (the suffixed name), the type kw (one unpacked super-block: .mins as
 * in qdot_k_simd.h, .d, .dmin) and unpack_q4_K/q5_K/q6_K, lanes_u8 and
 * lanes_q6 (the 8 i32 lanes of qdot_k.c for one activation row); the fp32
 * steps here are then the same for every ISA, so are the bits. */

#define XROW(k) ((const block_q8_K *)((const char *)xq + (k) * xs))

float KFN(qdot_q4_K_q8_K)(const void *restrict w, const void *restrict xq, int64_t n) {
    const block_q4_K *a = w;
    const block_q8_K *b = xq;
    __m256 acc = _mm256_setzero_ps();
    __m128 accm = _mm_setzero_ps();
    for (int64_t i = 0; i < n / QK_K; i++) {
        kw u;
        unpack_q4_K(&a[i], &u);
        accm = mins4(u.mins, &b[i], -b[i].d * u.dmin, accm);
        acc = _mm256_fmadd_ps(_mm256_set1_ps(b[i].d * u.d), _mm256_cvtepi32_ps(lanes_u8(&u, b[i].qs)), acc);
    }
    return hsum8(acc) + hsum4(accm);
}

void KFN(qdot4_q4_K_q8_K)(const void *restrict w, const void *restrict xq, size_t xs, float out[4],
                          int64_t n) {
    const block_q4_K *a = w;
    __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
    __m128 accm[4] = {_mm_setzero_ps(), _mm_setzero_ps(), _mm_setzero_ps(), _mm_setzero_ps()};
    for (int64_t i = 0; i < n / QK_K; i++) {
        kw u;
        unpack_q4_K(&a[i], &u);
        for (int k = 0; k < 4; k++) {
            const block_q8_K *b = &XROW(k)[i];
            accm[k] = mins4(u.mins, b, -b->d * u.dmin, accm[k]);
            acc[k] = _mm256_fmadd_ps(_mm256_set1_ps(b->d * u.d), _mm256_cvtepi32_ps(lanes_u8(&u, b->qs)), acc[k]);
        }
    }
    for (int k = 0; k < 4; k++) out[k] = hsum8(acc[k]) + hsum4(accm[k]);
}

float KFN(qdot_q5_K_q8_K)(const void *restrict w, const void *restrict xq, int64_t n) {
    const block_q5_K *a = w;
    const block_q8_K *b = xq;
    __m256 acc = _mm256_setzero_ps();
    float summs = 0;
    for (int64_t i = 0; i < n / QK_K; i++) {
        kw u;
        unpack_q5_K(&a[i], &u);
        summs = _mm_cvtss_f32(_mm_fmadd_ss(_mm_set_ss(-b[i].d * u.dmin), _mm_set_ss((float)mins_total(u.mins, &b[i])),
                                           _mm_set_ss(summs)));
        acc = _mm256_fmadd_ps(_mm256_set1_ps(b[i].d * u.d), _mm256_cvtepi32_ps(lanes_u8(&u, b[i].qs)), acc);
    }
    return hsum8(acc) + summs;
}

void KFN(qdot4_q5_K_q8_K)(const void *restrict w, const void *restrict xq, size_t xs, float out[4],
                          int64_t n) {
    const block_q5_K *a = w;
    __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
    float summs[4] = {0, 0, 0, 0};
    for (int64_t i = 0; i < n / QK_K; i++) {
        kw u;
        unpack_q5_K(&a[i], &u);
        for (int k = 0; k < 4; k++) {
            const block_q8_K *b = &XROW(k)[i];
            summs[k] = _mm_cvtss_f32(_mm_fmadd_ss(_mm_set_ss(-b->d * u.dmin), _mm_set_ss((float)mins_total(u.mins, b)),
                                                  _mm_set_ss(summs[k])));
            acc[k] = _mm256_fmadd_ps(_mm256_set1_ps(b->d * u.d), _mm256_cvtepi32_ps(lanes_u8(&u, b->qs)), acc[k]);
        }
    }
    for (int k = 0; k < 4; k++) out[k] = hsum8(acc[k]) + summs[k];
}

float KFN(qdot_q6_K_q8_K)(const void *restrict w, const void *restrict xq, int64_t n) {
    const block_q6_K *a = w;
    const block_q8_K *b = xq;
    __m256 acc = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / QK_K; i++) {
        kw u;
        unpack_q6_K(&a[i], &u);
        acc = _mm256_fmadd_ps(_mm256_set1_ps(b[i].d * u.d), _mm256_cvtepi32_ps(lanes_q6(&u, b[i].qs)), acc);
    }
    return hsum8(acc);
}

void KFN(qdot4_q6_K_q8_K)(const void *restrict w, const void *restrict xq, size_t xs, float out[4],
                          int64_t n) {
    const block_q6_K *a = w;
    __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
    for (int64_t i = 0; i < n / QK_K; i++) {
        kw u;
        unpack_q6_K(&a[i], &u);
        for (int k = 0; k < 4; k++) {
            const block_q8_K *b = &XROW(k)[i];
            acc[k] = _mm256_fmadd_ps(_mm256_set1_ps(b->d * u.d), _mm256_cvtepi32_ps(lanes_q6(&u, b->qs)), acc[k]);
        }
    }
    for (int k = 0; k < 4; k++) out[k] = hsum8(acc[k]);
}

