/* qdot_body.h — the integer dot kernels of qdot_avx2.c and qdot_avx512.c,
 * written once. The including file defines QFN(name) (the suffixed name)
 * and dot_u8_i8 (the u8 x i8 pair sums: maddubs + madd on AVX2, one
 * vpdpbusd with AVX512-VNNI — the same integers either way, since no
 * pair sum here reaches the i16 saturation of maddubs), so the variants
 * are bit-identical. Needs hsum8() and dot_u8_i8() in scope. */

/* the 32 nibbles of a block as 32 bytes: element j at byte j */
static inline __m256i nibbles(const uint8_t *qs) {
    __m128i raw = _mm_loadu_si128((const __m128i *)qs);
    __m256i both = _mm256_set_m128i(_mm_srli_epi16(raw, 4), raw);
    return _mm256_and_si256(both, _mm256_set1_epi8(0x0f));
}

/* the sums for i8 a x i8 b: |a| x (b with a's sign) */
static inline __m256 dot_i8_i8(__m256i a, __m256i b) {
    return dot_u8_i8(_mm256_sign_epi8(a, a), _mm256_sign_epi8(b, a));
}

float QFN(qdot_q4_0_q8_0)(const void *restrict w, const void *restrict xq, int64_t n) {
    const block_q4_0 *a = w;
    const block_q8_0 *b = xq;
    __m256 acc = _mm256_setzero_ps();
    const __m256i eight = _mm256_set1_epi8(8);
    for (int64_t i = 0; i < n / QK8_0; i++) {
        __m256i qa = _mm256_sub_epi8(nibbles(a[i].qs), eight);
        __m256i qb = _mm256_loadu_si256((const __m256i *)b[i].qs);
        __m256 d = _mm256_set1_ps(_cvtsh_ss(a[i].d) * _cvtsh_ss(b[i].d));
        acc = _mm256_fmadd_ps(d, dot_i8_i8(qa, qb), acc);
    }
    return hsum8(acc);
}

/* Q5_0: the nibbles with bit 4 from qh, minus 16, as i8 */
static inline __m256i q5_0_bytes(const block_q5_0 *a) {
    uint32_t qh;
    memcpy(&qh, a->qh, 4);
    /* byte j of the vector: byte j / 8 of qh, then its bit j % 8 */
    const __m256i spread = _mm256_shuffle_epi8(_mm256_set1_epi32((int)qh),
                                               _mm256_set_epi64x(0x0303030303030303, 0x0202020202020202,
                                                                 0x0101010101010101, 0));
    const __m256i bit = _mm256_set1_epi64x(0x8040201008040201);
    const __m256i set = _mm256_cmpeq_epi8(_mm256_and_si256(spread, bit), bit);
    return _mm256_or_si256(nibbles(a->qs), _mm256_andnot_si256(set, _mm256_set1_epi8((char)0xf0)));
}

float QFN(qdot_q5_0_q8_0)(const void *restrict w, const void *restrict xq, int64_t n) {
    const block_q5_0 *a = w;
    const block_q8_0 *b = xq;
    __m256 acc = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / QK8_0; i++) {
        __m256i qb = _mm256_loadu_si256((const __m256i *)b[i].qs);
        __m256 d = _mm256_set1_ps(_cvtsh_ss(a[i].d) * _cvtsh_ss(b[i].d));
        acc = _mm256_fmadd_ps(d, dot_i8_i8(q5_0_bytes(&a[i]), qb), acc);
    }
    return hsum8(acc);
}

void QFN(qdot4_q5_0_q8_0)(const void *restrict w, const void *restrict xq, size_t xs,
                          float out[4], int64_t n) {
    const block_q5_0 *a = w;
    const block_q8_0 *b[4];
    for (int k = 0; k < 4; k++) b[k] = (const block_q8_0 *)((const char *)xq + k * xs);
    __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
    for (int64_t i = 0; i < n / QK8_0; i++) {
        __m256i qa = q5_0_bytes(&a[i]);
        __m256i ua = _mm256_sign_epi8(qa, qa);
        float da = _cvtsh_ss(a[i].d);
        for (int k = 0; k < 4; k++) {
            __m256i qb = _mm256_sign_epi8(_mm256_loadu_si256((const __m256i *)b[k][i].qs), qa);
            __m256 d = _mm256_set1_ps(da * _cvtsh_ss(b[k][i].d));
            acc[k] = _mm256_fmadd_ps(d, dot_u8_i8(ua, qb), acc[k]);
        }
    }
    for (int k = 0; k < 4; k++) out[k] = hsum8(acc[k]);
}

float QFN(qdot_q4_1_q8_1)(const void *restrict w, const void *restrict xq, int64_t n) {
    const block_q4_1 *a = w;
    const block_q8_1 *b = xq;
    __m256 acc = _mm256_setzero_ps();
    float mins = 0;
    for (int64_t i = 0; i < n / QK8_1; i++) {
        mins += _cvtsh_ss(a[i].m) * _cvtsh_ss(b[i].s);
        __m256i qb = _mm256_loadu_si256((const __m256i *)b[i].qs);
        __m256 d = _mm256_set1_ps(_cvtsh_ss(a[i].d) * _cvtsh_ss(b[i].d));
        acc = _mm256_fmadd_ps(d, dot_u8_i8(nibbles(a[i].qs), qb), acc);
    }
    return hsum8(acc) + mins;
}

float QFN(qdot_q8_0_q8_0)(const void *restrict w, const void *restrict xq, int64_t n) {
    const block_q8_0 *a = w;
    const block_q8_0 *b = xq;
    __m256 acc = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / QK8_0; i++) {
        __m256i qa = _mm256_loadu_si256((const __m256i *)a[i].qs);
        __m256i qb = _mm256_loadu_si256((const __m256i *)b[i].qs);
        __m256 d = _mm256_set1_ps(_cvtsh_ss(a[i].d) * _cvtsh_ss(b[i].d));
        acc = _mm256_fmadd_ps(d, dot_i8_i8(qa, qb), acc);
    }
    return hsum8(acc);
}

/* One weight row against four activation rows (stride xs bytes): the
 * weight block is unpacked once and serves four dots, each computed with
 * the very operations of the single-row kernel above, so every result is
 * bit-identical to it. */
void QFN(qdot4_q4_0_q8_0)(const void *restrict w, const void *restrict xq, size_t xs,
                          float out[4], int64_t n) {
    const block_q4_0 *a = w;
    const block_q8_0 *b[4];
    for (int k = 0; k < 4; k++) b[k] = (const block_q8_0 *)((const char *)xq + k * xs);
    __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
    const __m256i eight = _mm256_set1_epi8(8);
    for (int64_t i = 0; i < n / QK8_0; i++) {
        __m256i qa = _mm256_sub_epi8(nibbles(a[i].qs), eight);
        __m256i ua = _mm256_sign_epi8(qa, qa);
        float da = _cvtsh_ss(a[i].d);
        for (int k = 0; k < 4; k++) {
            __m256i qb = _mm256_sign_epi8(_mm256_loadu_si256((const __m256i *)b[k][i].qs), qa);
            __m256 d = _mm256_set1_ps(da * _cvtsh_ss(b[k][i].d));
            acc[k] = _mm256_fmadd_ps(d, dot_u8_i8(ua, qb), acc[k]);
        }
    }
    for (int k = 0; k < 4; k++) out[k] = hsum8(acc[k]);
}

void QFN(qdot4_q4_1_q8_1)(const void *restrict w, const void *restrict xq, size_t xs,
                          float out[4], int64_t n) {
    const block_q4_1 *a = w;
    const block_q8_1 *b[4];
    for (int k = 0; k < 4; k++) b[k] = (const block_q8_1 *)((const char *)xq + k * xs);
    __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
    float mins[4] = {0, 0, 0, 0};
    for (int64_t i = 0; i < n / QK8_1; i++) {
        __m256i qa = nibbles(a[i].qs);
        float da = _cvtsh_ss(a[i].d), ma = _cvtsh_ss(a[i].m);
        for (int k = 0; k < 4; k++) {
            mins[k] += ma * _cvtsh_ss(b[k][i].s);
            __m256i qb = _mm256_loadu_si256((const __m256i *)b[k][i].qs);
            __m256 d = _mm256_set1_ps(da * _cvtsh_ss(b[k][i].d));
            acc[k] = _mm256_fmadd_ps(d, dot_u8_i8(qa, qb), acc[k]);
        }
    }
    for (int k = 0; k < 4; k++) out[k] = hsum8(acc[k]) + mins[k];
}

void QFN(qdot4_q8_0_q8_0)(const void *restrict w, const void *restrict xq, size_t xs,
                          float out[4], int64_t n) {
    const block_q8_0 *a = w;
    const block_q8_0 *b[4];
    for (int k = 0; k < 4; k++) b[k] = (const block_q8_0 *)((const char *)xq + k * xs);
    __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
    for (int64_t i = 0; i < n / QK8_0; i++) {
        __m256i qa = _mm256_loadu_si256((const __m256i *)a[i].qs);
        __m256i ua = _mm256_sign_epi8(qa, qa);
        float da = _cvtsh_ss(a[i].d);
        for (int k = 0; k < 4; k++) {
            __m256i qb = _mm256_sign_epi8(_mm256_loadu_si256((const __m256i *)b[k][i].qs), qa);
            __m256 d = _mm256_set1_ps(da * _cvtsh_ss(b[k][i].d));
            acc[k] = _mm256_fmadd_ps(d, dot_u8_i8(ua, qb), acc[k]);
        }
    }
    for (int k = 0; k < 4; k++) out[k] = hsum8(acc[k]);
}

