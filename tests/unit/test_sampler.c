/* test_sampler.c — the sampler picks what its parameters say it picks.
 *
 * Greedy is the argmax; top-k = 1 is greedy at any temperature; a seed
 * fixes the whole sequence of draws (and reset replays it), another seed
 * gives another one; at temperature T the draws follow softmax(logits / T)
 * (chi-square test on 200k draws); top-p keeps exactly the smallest set
 * with mass >= p; min-p drops exactly the tokens below min_p * p_max;
 * the repetition penalty divides positive logits and multiplies negative
 * ones, frequency and presence penalties subtract count * f + p, only for
 * tokens inside the last penalty_last_n accepted. */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "owl.h"
#include "runtime/sampler.h"

#define V 1000

/* a deterministic, test-only generator for logits (not the sampler's) */
static uint64_t lcg_state = 12345;
static float lcg_float(void) { /* uniform in [-8, 8) */
    lcg_state = lcg_state * 6364136223846793005ull + 1442695040888963407ull;
    return (float)((lcg_state >> 40) * (16.0 / (double)(1ull << 24))) - 8.0f;
}

static int cmp_desc(const void *a, const void *b);

static owl_sampler_params plain(float temp) { /* temperature only, no filters */
    owl_sampler_params p = owl_sampler_default_params();
    p.temp = temp;
    p.top_k = 0;
    p.top_p = 1.0f;
    p.min_p = 0.0f;
    return p;
}

static owl_sampler *make(const owl_sampler_params *p, int32_t n_vocab) {
    owl_sampler *s = NULL;
    owl_status st = owl_sampler_new(p, n_vocab, &s);
    CHECK(st == OWL_OK && s, "owl_sampler_new failed: %s", owl_last_error());
    return s;
}

static int argmax(const float *x, int n) {
    int b = 0;
    for (int i = 1; i < n; i++)
        if (x[i] > x[b]) b = i;
    return b;
}

static void test_defaults(void) {
    owl_sampler_params p = owl_sampler_default_params();
    CHECK(p.temp == 0.8f && p.top_k == 40 && p.top_p == 0.95f && p.min_p == 0.05f,
          "defaults differ from llama.cpp's (temp 0.8, top-k 40, top-p 0.95, min-p 0.05)");
    CHECK(p.repeat_penalty == 1.0f && p.presence_penalty == 0 && p.frequency_penalty == 0 &&
              p.penalty_last_n == 64,
          "penalties must be off by default, looking back 64 tokens");
}

static void test_greedy(void) {
    float logits[V];
    int wrong = 0;
    for (int round = 0; round < 50; round++) {
        for (int i = 0; i < V; i++) logits[i] = lcg_float();
        for (int t = 0; t < 2; t++) {
            owl_sampler_params p = owl_sampler_default_params(); /* filters on: must not matter */
            p.temp = t ? -1.0f : 0.0f;
            owl_sampler *s = make(&p, V);
            if (s && owl_sampler_sample(s, logits) != argmax(logits, V)) wrong++;
            owl_sampler_free(s);
        }
    }
    CHECK(wrong == 0, "greedy (temp <= 0) missed the argmax %d times of 100", wrong);

    /* a spike far from index 0 and negative logits everywhere */
    for (int i = 0; i < V; i++) logits[i] = -50.0f - (float)i;
    logits[777] = -3.0f;
    owl_sampler_params p = plain(0);
    owl_sampler *s = make(&p, V);
    CHECK(s && owl_sampler_sample(s, logits) == 777, "greedy missed a spike at 777");
    owl_sampler_free(s);
}

static void test_top_k_one_is_greedy(void) {
    const float temps[] = {0.1f, 0.8f, 1.0f, 5.0f, 100.0f};
    float logits[V];
    int wrong = 0, total = 0;
    for (size_t t = 0; t < sizeof temps / sizeof temps[0]; t++) {
        owl_sampler_params p = plain(temps[t]);
        p.top_k = 1;
        p.seed = 1000 + t;
        owl_sampler *s = make(&p, V);
        for (int round = 0; s && round < 40; round++) {
            for (int i = 0; i < V; i++) logits[i] = lcg_float();
            total++;
            if (owl_sampler_sample(s, logits) != argmax(logits, V)) wrong++;
        }
        owl_sampler_free(s);
    }
    CHECK(wrong == 0, "top-k 1 differs from greedy in %d of %d draws", wrong, total);
}

/* top-k keeps exactly the k largest logits, through both of its paths
 * (a heap for k <= 1024, quickselect above) */
static void test_top_k(void) {
    enum { N = 1200, DRAWS = 3000 };
    static float logits[N], sorted[N];
    for (int i = 0; i < N; i++) logits[i] = lcg_float() * 0.05f; /* flat, in [-0.4, 0.4) */
    memcpy(sorted, logits, sizeof sorted);
    qsort(sorted, N, sizeof *sorted, cmp_desc);
    const int ks[] = {5, 1024, 1025};
    for (int j = 0; j < 3; j++) {
        int k = ks[j];
        float cut = sorted[k - 1];
        owl_sampler_params p = plain(1.0f);
        p.top_k = k;
        p.seed = 400 + j;
        owl_sampler *s = make(&p, N);
        static int counts[N];
        memset(counts, 0, sizeof counts);
        int outside = 0, seen = 0;
        for (int i = 0; s && i < DRAWS; i++) {
            owl_token t = owl_sampler_sample(s, logits);
            if (t < 0 || t >= N || logits[t] < cut)
                outside++;
            else if (!counts[t]++)
                seen++;
        }
        owl_sampler_free(s);
        CHECK(outside == 0, "top-k %d drew %d times outside the %d largest logits", k, outside, k);
        CHECK(seen >= k * 85 / 100, "top-k %d drew only %d distinct tokens", k, seen);
    }
}

/* n draws from the same logits into out */
static void draws(owl_sampler *s, const float *logits, owl_token *out, int n) {
    for (int i = 0; i < n; i++) out[i] = owl_sampler_sample(s, logits);
}

static void test_seed(void) {
    enum { N = 500 };
    float logits[V];
    for (int i = 0; i < V; i++) logits[i] = lcg_float() * 0.3f; /* flat: many candidates */
    static owl_token a[N], b[N], c[N], d[N];
    owl_sampler_params p = owl_sampler_default_params();
    p.top_k = 0;
    p.seed = 42;
    owl_sampler *s1 = make(&p, V), *s2 = make(&p, V);
    p.seed = 43;
    owl_sampler *s3 = make(&p, V);
    if (!s1 || !s2 || !s3) goto out;
    draws(s1, logits, a, N);
    draws(s2, logits, b, N);
    draws(s3, logits, c, N);
    CHECK(!memcmp(a, b, sizeof a), "the same seed gave different draws");
    int same = 0;
    for (int i = 0; i < N; i++) same += a[i] == c[i];
    CHECK(same < N / 4, "seeds 42 and 43 agree on %d of %d draws", same, N);
    int distinct = 0;
    for (int i = 0; i < N; i++) {
        bool seen = false;
        for (int j = 0; j < i && !seen; j++) seen = a[j] == a[i];
        distinct += !seen;
    }
    CHECK(distinct > 20, "only %d distinct tokens in %d draws from a flat distribution", distinct, N);
    owl_sampler_reset(s1);
    draws(s1, logits, d, N);
    CHECK(!memcmp(a, d, sizeof a), "after reset the sampler did not replay its draws");
out:
    owl_sampler_free(s1);
    owl_sampler_free(s2);
    owl_sampler_free(s3);
}

/* Chi-square of counts[0..n) against probabilities prob[0..n) over total
 * draws; only cells with prob > 0. Returns the statistic, sets *dof. */
static double chi_square(const int *counts, const double *prob, int n, int total, int *dof) {
    double x2 = 0;
    *dof = -1;
    for (int i = 0; i < n; i++) {
        if (prob[i] <= 0) continue;
        double e = prob[i] * total;
        x2 += (counts[i] - e) * (counts[i] - e) / e;
        (*dof)++;
    }
    return x2;
}

static void softmax_ref(const float *l, double *p, int n, double temp) {
    double mx = l[0], sum = 0;
    for (int i = 1; i < n; i++) mx = l[i] > mx ? l[i] : mx;
    for (int i = 0; i < n; i++) sum += p[i] = exp((l[i] - mx) / temp);
    for (int i = 0; i < n; i++) p[i] /= sum;
}

/* 99.9% quantiles of chi-square: a correct sampler fails one seed in a
 * thousand; the seeds are fixed, so the test is deterministic */
static double chi2_crit(int dof) {
    static const double q[] = {0, 10.83, 13.82, 16.27, 18.47, 20.52, 22.46, 24.32, 26.12, 27.88, 29.59};
    return dof >= 1 && dof <= 10 ? q[dof] : 0;
}

static void test_distribution(void) {
    enum { N = 8, DRAWS = 200000 };
    const float logits[N] = {1.0f, 0.5f, 2.0f, -1.0f, 0.0f, 1.5f, -0.5f, 0.25f};
    const float temps[] = {1.0f, 0.5f, 2.0f};
    for (size_t t = 0; t < 3; t++) {
        owl_sampler_params p = plain(temps[t]);
        p.seed = 7 + t;
        owl_sampler *s = make(&p, N);
        if (!s) return;
        int counts[N] = {0};
        for (int i = 0; i < DRAWS; i++) {
            owl_token k = owl_sampler_sample(s, logits);
            if (k >= 0 && k < N) counts[k]++;
        }
        owl_sampler_free(s);
        double prob[N];
        softmax_ref(logits, prob, N, temps[t]);
        int dof;
        double x2 = chi_square(counts, prob, N, DRAWS, &dof);
        CHECK(x2 < chi2_crit(dof), "temp %g: draws do not follow softmax(l/T): chi2 %.2f >= %.2f (%d dof)",
              (double)temps[t], x2, chi2_crit(dof), dof);
        /* and wrong temperatures are rejected by the same test: it can fail */
        double wrong[N];
        softmax_ref(logits, wrong, N, temps[t] * 1.1);
        double x2w = chi_square(counts, wrong, N, DRAWS, &dof);
        CHECK(x2w > chi2_crit(dof), "temp %g: the chi-square test cannot tell T from 1.1 T (%.2f)",
              (double)temps[t], x2w);
    }
}

/* Draws many times and returns the set of tokens drawn as a bit mask. */
static uint32_t drawn_set(const owl_sampler_params *p, const float *logits, int n, int times, int *counts) {
    owl_sampler *s = make(p, n);
    uint32_t set = 0;
    for (int i = 0; s && i < times; i++) {
        owl_token k = owl_sampler_sample(s, logits);
        if (k >= 0 && k < n) {
            set |= 1u << k;
            if (counts) counts[k]++;
        }
    }
    owl_sampler_free(s);
    return set;
}

static void test_top_p(void) {
    enum { N = 6 };
    /* probabilities 0.35 0.25 0.2 0.1 0.06 0.04, shuffled over the ids */
    const double prob[N] = {0.1, 0.35, 0.04, 0.2, 0.25, 0.06};
    float logits[N];
    for (int i = 0; i < N; i++) logits[i] = (float)log(prob[i]) + 3.0f;
    struct { float p; uint32_t want; } cases[] = {
        {0.30f, 1u << 1},                                  /* 0.35 >= 0.30 */
        {0.55f, 1u << 1 | 1u << 4},                        /* 0.60 >= 0.55 */
        {0.61f, 1u << 1 | 1u << 4 | 1u << 3},              /* 0.80 */
        {0.85f, 1u << 1 | 1u << 4 | 1u << 3 | 1u << 0},    /* 0.90 */
        {0.93f, 0x3f & ~(1u << 2)},                        /* 0.96 */
        {0.99f, 0x3f},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        owl_sampler_params p = plain(1.0f);
        p.top_p = cases[c].p;
        p.seed = 100 + c;
        int counts[N] = {0};
        uint32_t got = drawn_set(&p, logits, N, 20000, counts);
        CHECK(got == cases[c].want, "top-p %.2f kept set 0x%x, want 0x%x", (double)cases[c].p, got,
              cases[c].want);
        /* the kept tokens keep their relative odds */
        if (cases[c].want == (1u << 1 | 1u << 4)) {
            double r = (double)counts[1] / (counts[4] ? counts[4] : 1);
            CHECK(fabs(r - 0.35 / 0.25) < 0.08, "top-p 0.55: odds 1:4 are %.3f, want 1.4", r);
        }
    }
    /* top-p looks at the untempered distribution: a high temperature does
     * not widen the set */
    owl_sampler_params p = plain(10.0f);
    p.top_p = 0.55f;
    CHECK(drawn_set(&p, logits, N, 5000, NULL) == (1u << 1 | 1u << 4),
          "top-p 0.55 at temperature 10 kept another set");
}

static int cmp_desc(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return x > y ? -1 : x < y ? 1 : 0;
}

/* top-p over a large flat vocabulary, where the kept set is hundreds of
 * tokens: checked against a plain sort of the probabilities */
static void test_top_p_large(void) {
    enum { N = 1000, DRAWS = 8000 };
    static float logits[N], sorted[N];
    for (int i = 0; i < N; i++) logits[i] = lcg_float() * 0.125f; /* in [-1, 1) */
    memcpy(sorted, logits, sizeof sorted);
    qsort(sorted, N, sizeof *sorted, cmp_desc);
    const float ps[] = {0.5f, 0.9f};
    for (int k = 0; k < 2; k++) {
        double sum = 0, cum = 0;
        for (int i = 0; i < N; i++) sum += exp(sorted[i]);
        int keep = N;
        for (int i = 0; i < N; i++) {
            cum += exp(sorted[i]) / sum;
            if (cum >= ps[k]) {
                keep = i + 1;
                break;
            }
        }
        float cut = sorted[keep - 1]; /* the smallest logit kept */
        owl_sampler_params p = plain(1.0f);
        p.top_p = ps[k];
        p.seed = 300 + k;
        owl_sampler *s = make(&p, N);
        static int counts[N];
        memset(counts, 0, sizeof counts);
        int outside = 0, seen = 0;
        for (int i = 0; s && i < DRAWS; i++) {
            owl_token t = owl_sampler_sample(s, logits);
            if (t < 0 || t >= N || logits[t] < cut)
                outside++;
            else if (!counts[t]++)
                seen++;
        }
        owl_sampler_free(s);
        CHECK(keep > 256, "test setup: top-p %.1f keeps only %d tokens", (double)ps[k], keep);
        CHECK(outside == 0, "top-p %.1f drew %d times outside the %d tokens it must keep", (double)ps[k], outside,
              keep);
        CHECK(seen >= keep * 90 / 100, "top-p %.1f drew only %d of the %d tokens it keeps", (double)ps[k], seen,
              keep);
    }
}

static void test_min_p(void) {
    enum { N = 6 };
    const double prob[N] = {0.05, 0.4, 0.1, 0.21, 0.19, 0.05};
    float logits[N];
    for (int i = 0; i < N; i++) logits[i] = (float)log(prob[i]) - 1.0f;
    struct { float p; uint32_t want; } cases[] = {
        {0.50f, 1u << 1 | 1u << 3},                     /* >= 0.20 */
        {0.45f, 1u << 1 | 1u << 3 | 1u << 4},           /* >= 0.18 */
        {0.20f, 1u << 1 | 1u << 3 | 1u << 4 | 1u << 2}, /* >= 0.08 */
        {0.10f, 0x3f},                                  /* >= 0.04 */
        {0.99f, 1u << 1},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        owl_sampler_params p = plain(1.0f);
        p.min_p = cases[c].p;
        p.seed = 200 + c;
        uint32_t got = drawn_set(&p, logits, N, 20000, NULL);
        CHECK(got == cases[c].want, "min-p %.2f kept set 0x%x, want 0x%x", (double)cases[c].p, got,
              cases[c].want);
    }
    /* top-k then min-p: top-k 2 keeps {1, 3}, min-p 0.6 of p_max 0.4 drops 3 (0.21 < 0.24) */
    owl_sampler_params p = plain(1.0f);
    p.top_k = 2;
    p.min_p = 0.6f;
    CHECK(drawn_set(&p, logits, N, 5000, NULL) == 1u << 1, "top-k 2 with min-p 0.6 kept more than token 1");
    p.min_p = 0.5f;
    CHECK(drawn_set(&p, logits, N, 5000, NULL) == (1u << 1 | 1u << 3), "top-k 2 kept another set");
}

static void test_penalties(void) {
    enum { N = 8 };
    const float logits[N] = {2.0f, -1.0f, 0.5f, -3.0f, 1.0f, 0.0f, 4.0f, -0.25f};
    float out[N];
    owl_sampler_params p = plain(0);
    p.repeat_penalty = 1.5f;
    p.frequency_penalty = 0.25f;
    p.presence_penalty = 0.125f;
    p.penalty_last_n = 4;
    owl_sampler *s = make(&p, N);
    if (!s) return;
    /* window of 4: 6 falls out, then 0 0 1 5 remain */
    const owl_token hist[] = {6, 0, 0, 1, 5};
    for (size_t i = 0; i < sizeof hist / sizeof hist[0]; i++) owl_sampler_accept(s, hist[i]);
    sampler_penalize(s, logits, out);
    float want[N];
    memcpy(want, logits, sizeof want);
    want[0] = 2.0f / 1.5f - 2 * 0.25f - 0.125f; /* positive: divided; count 2 */
    want[1] = -1.0f * 1.5f - 0.25f - 0.125f;    /* negative: multiplied */
    want[5] = 0.0f * 1.5f - 0.25f - 0.125f;     /* zero */
    int bad = 0;
    for (int i = 0; i < N; i++)
        if (fabsf(out[i] - want[i]) > 1e-6f) {
            bad++;
            fprintf(stderr, "  token %d: penalized %g, want %g\n", i, (double)out[i], (double)want[i]);
        }
    CHECK(bad == 0, "penalties changed %d logits wrongly (only 0, 1, 5 may change, exactly)", bad);
    CHECK(out[6] == 4.0f, "token 6 left the window of 4 but is still penalized");
    owl_sampler_reset(s);
    sampler_penalize(s, logits, out);
    CHECK(!memcmp(out, logits, sizeof out), "reset did not forget the accepted tokens");
    owl_sampler_free(s);

    /* each penalty alone, and what a user sees: greedy picks change */
    float two[2] = {3.0f, 2.5f};
    p = plain(0);
    p.repeat_penalty = 1.5f;
    s = make(&p, 2);
    owl_sampler_accept(s, 0);
    CHECK(s && owl_sampler_sample(s, two) == 1, "repeat penalty 1.5: 3.0 / 1.5 < 2.5 should flip greedy");
    owl_sampler_free(s);

    float neg[2] = {-1.0f, -1.2f};
    s = make(&p, 2);
    owl_sampler_accept(s, 0);
    CHECK(s && owl_sampler_sample(s, neg) == 1,
          "repeat penalty on a negative logit must multiply (-1.5 < -1.2), not divide");
    owl_sampler_free(s);

    p = plain(0);
    p.frequency_penalty = 0.2f;
    s = make(&p, 2);
    owl_sampler_accept(s, 0);
    owl_sampler_accept(s, 0);
    CHECK(s && owl_sampler_sample(s, two) == 0, "frequency 0.2 x 2 = 0.4 must not flip 3.0 vs 2.5");
    owl_sampler_accept(s, 0);
    CHECK(s && owl_sampler_sample(s, two) == 1, "frequency 0.2 x 3 = 0.6 must flip 3.0 vs 2.5");
    owl_sampler_free(s);

    p = plain(0);
    p.presence_penalty = 0.6f;
    s = make(&p, 2);
    owl_sampler_accept(s, 1);
    CHECK(s && owl_sampler_sample(s, two) == 0, "presence penalty hit the wrong token");
    owl_sampler_accept(s, 0);
    owl_sampler_accept(s, 0);
    sampler_penalize(s, two, out);
    CHECK(fabsf(out[0] - 2.4f) < 1e-6f && fabsf(out[1] - 1.9f) < 1e-6f,
          "presence penalty must not grow with the count: %g %g", (double)out[0], (double)out[1]);
    owl_sampler_free(s);

    /* penalty_last_n 0 turns every penalty off */
    p = plain(0);
    p.repeat_penalty = 10.0f;
    p.penalty_last_n = 0;
    s = make(&p, 2);
    owl_sampler_accept(s, 0);
    CHECK(s && owl_sampler_sample(s, two) == 0, "penalty_last_n 0 still penalized");
    owl_sampler_free(s);
}

static void test_bad_params(void) {
    owl_sampler *s = (owl_sampler *)1;
    owl_sampler_params p = owl_sampler_default_params();
    CHECK(owl_sampler_new(&p, 0, &s) == OWL_ERR_ARG && s == NULL, "n_vocab 0 accepted");
    p.penalty_last_n = -1;
    CHECK(owl_sampler_new(&p, 10, &s) == OWL_ERR_ARG && s == NULL, "penalty_last_n -1 accepted");
    CHECK(strstr(owl_last_error(), "penalty_last_n") != NULL, "message '%s' does not name the parameter",
          owl_last_error());
    p = owl_sampler_default_params();
    p.repeat_penalty = 0;
    CHECK(owl_sampler_new(&p, 10, &s) == OWL_ERR_ARG, "repeat_penalty 0 accepted");
    owl_sampler_free(NULL);

    /* odd logits never produce an out-of-range or NaN pick */
    float odd[4] = {NAN, -INFINITY, INFINITY, 1.0f};
    p = owl_sampler_default_params();
    s = make(&p, 4);
    owl_token t = s ? owl_sampler_sample(s, odd) : -1;
    CHECK(t == 2, "with a +inf logit the sampler picked %d, want 2", t);
    float none[4] = {-INFINITY, -INFINITY, NAN, -INFINITY};
    t = s ? owl_sampler_sample(s, none) : -1;
    CHECK(t >= 0 && t < 4, "all -inf: picked %d, out of range", t);
    owl_sampler_free(s);
}

int main(void) {
    test_defaults();
    test_greedy();
    test_top_k_one_is_greedy();
    test_top_k();
    test_seed();
    test_distribution();
    test_top_p();
    test_top_p_large();
    test_min_p();
    test_penalties();
    test_bad_params();
    return check_done();
}
