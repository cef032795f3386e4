/* elementwise.c — RMSNorm, softmax, SwiGLU and the f16 rounding of a row,
 * scalar: the references (and the exact path's versions). The default path
 * reaches the vector variants of rmsnorm, swiglu and to_f16 through the
 * kernel table. */
#include <math.h>

#include "kernels.h"
#include "../base/f16.h"
#include "exp_poly.h"

void rmsnorm(float *o, const float *x, const float *restrict w, int64_t n, float eps) {
    double ss = 0;
    for (int64_t i = 0; i < n; i++) ss += (double)(x[i] * x[i]);
    const float mean = (float)(ss / (double)n);
    const float r = 1.0f / sqrtf(mean + eps);
    for (int64_t i = 0; i < n; i++) o[i] = (x[i] * r) * w[i];
}

void to_f16_ref(uint16_t *restrict dst, const float *restrict x, int64_t n) {
    for (int64_t i = 0; i < n; i++) dst[i] = f32_to_f16(x[i]);
}

void softmax(float *x, int64_t n) {
    if (n <= 0) return;
    float mx = x[0];
    for (int64_t i = 1; i < n; i++)
        if (x[i] > mx) mx = x[i];
    double sum = 0;
    for (int64_t i = 0; i < n; i++) {
        x[i] = expf(x[i] - mx);
        sum += (double)x[i];
    }
    const float inv = (float)(1.0 / sum);
    for (int64_t i = 0; i < n; i++) x[i] *= inv;
}

void softmax_poly(float *x, int64_t n) {
    if (n <= 0) return;
    float mx = x[0];
    for (int64_t i = 1; i < n; i++)
        if (x[i] > mx) mx = x[i];
    /* four running sums, element i in sum i % 4: no chain of dependent
     * adds, and the order a 4-lane vector keeps */
    double s[4] = {0, 0, 0, 0};
    for (int64_t i = 0; i < n; i++) {
        x[i] = exp_poly(x[i] - mx);
        s[i % 4] += (double)x[i];
    }
    const float inv = (float)(1.0 / ((s[0] + s[1]) + (s[2] + s[3])));
    for (int64_t i = 0; i < n; i++) x[i] *= inv;
}

void swiglu(float *o, const float *g, const float *restrict u, int64_t n) {
    for (int64_t i = 0; i < n; i++) o[i] = g[i] / (1.0f + expf(-g[i])) * u[i];
}

void swiglu_poly(float *o, const float *g, const float *restrict u, int64_t n) {
    for (int64_t i = 0; i < n; i++) o[i] = g[i] / (1.0f + exp_poly(-g[i])) * u[i];
}
