/* rope.c — rotary position embedding: a per-position table of (cos, sin)
 * built once per batch row and applied to q and k of every layer. */
#include <math.h>

#include "kernels.h"

void rope_table(float *restrict cs, int32_t pos, int32_t n_rot, float theta, float pos_scale,
                const float *restrict freq_factors) {
    double p = (double)pos * (double)pos_scale;
    for (int32_t i = 0; i < n_rot / 2; i++) {
        double freq = pow((double)theta, -2.0 * i / n_rot);
        double a = p * freq;
        if (freq_factors) a /= (double)freq_factors[i];
        cs[2 * i] = (float)cos(a);
        cs[2 * i + 1] = (float)sin(a);
    }
}

void rope_table_f32(float *restrict cs, int32_t pos, int32_t n_rot, float theta,
                    float pos_scale, const float *restrict freq_factors) {
    const float step = powf(theta, -2.0f / (float)n_rot);
    float t = (float)pos;
    for (int32_t i = 0; i < n_rot / 2; i++) {
        float a = pos_scale * (freq_factors ? t / freq_factors[i] : t);
        cs[2 * i] = cosf(a);
        cs[2 * i + 1] = sinf(a);
        t *= step;
    }
}

void rope_apply(float *x, int32_t n_head, int32_t head_dim, int32_t n_rot,
                const float *restrict cs, bool neox) {
    const int32_t half = n_rot / 2;
    for (int32_t h = 0; h < n_head; h++) {
        float *xh = x + (int64_t)h * head_dim;
        for (int32_t i = 0; i < half; i++) {
            int32_t a = neox ? i : 2 * i, b = neox ? i + half : 2 * i + 1;
            float c = cs[2 * i], s = cs[2 * i + 1];
            float x0 = xh[a], x1 = xh[b];
            xh[a] = x0 * c - x1 * s;
            xh[b] = x0 * s + x1 * c;
        }
    }
}
