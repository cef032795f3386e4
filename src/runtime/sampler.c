/* sampler.c — picks the next token from a row of logits (owl_sampler_*).
 *
 * The chain, in the order llama.cpp's common sampler uses by default:
 *
 *   penalties -> top-k -> top-p -> min-p -> temperature -> draw
 *
 *   penalties    over the last penalty_last_n accepted tokens, for each token
 *                seen there `count` times: a positive logit is divided by
 *                repeat_penalty, a negative one multiplied (so the penalty
 *                always makes the token less likely), then
 *                count * frequency_penalty + presence_penalty is subtracted.
 *   top-k        keeps the k largest logits.
 *   top-p        keeps the smallest prefix of the candidates sorted by
 *                probability whose mass is >= top_p.
 *   min-p        keeps the tokens with p >= min_p * p_max, i.e. logit >=
 *                max_logit + log(min_p).
 *   temperature  divides the surviving logits by temp. The filters above
 *                see the untempered distribution, as in llama.cpp, so the
 *                same settings keep the same candidates at any temperature.
 *   draw         softmax of what is left, one uniform number from the
 *                sampler's own PRNG (xoshiro256**, seeded with splitmix64
 *                from params.seed): same seed, same sequence of draws.
 *
 * temp <= 0 is greedy: the largest logit after the penalties (ties go to
 * the lowest id), and no random number is drawn.
 *
 * Every buffer (candidates, penalty ring, per-token counts) is allocated by
 * owl_sampler_new; owl_sampler_sample and owl_sampler_accept never allocate. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "base/status.h"
#include "owl.h"
#include "runtime/sampler.h"

/* top-k up to this size selects with a heap in one pass over the logits;
 * larger k builds every candidate and uses quickselect */
enum { TOP_K_HEAP_MAX = 1024 };

typedef struct cand {
    float logit;
    float p;
    owl_token id;
} cand;

struct owl_sampler {
    owl_sampler_params params;
    int32_t n_vocab;
    cand *cands;      /* (V) scratch for one sample call */
    /* penalties: the last penalty_last_n accepted tokens, and how many
     * times each token occurs among them */
    owl_token *ring;  /* (penalty_last_n) */
    int32_t ring_head; /* index of the oldest token */
    int32_t ring_len;
    int32_t *counts;  /* (V) */
    uint64_t rng[4];  /* xoshiro256** state */
};

owl_sampler_params owl_sampler_default_params(void) {
    return (owl_sampler_params){
        .temp = 0.8f,
        .top_k = 40,
        .top_p = 0.95f,
        .min_p = 0.05f,
        .repeat_penalty = 1.0f,
        .penalty_last_n = 64,
        .presence_penalty = 0.0f,
        .frequency_penalty = 0.0f,
        .seed = 0xdeadbeef,
    };
}

/* ---- PRNG: splitmix64 expands the seed, xoshiro256** draws ---------------- */

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static void rng_seed(uint64_t s[4], uint64_t seed) {
    for (int i = 0; i < 4; i++) s[i] = splitmix64(&seed);
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t rng_next(uint64_t s[4]) {
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

/* uniform in [0, 1) with 53 random bits */
static double rng_uniform(uint64_t s[4]) {
    return (double)(rng_next(s) >> 11) * 0x1.0p-53;
}

/* ---- create / free ---------------------------------------------------------- */

owl_status owl_sampler_new(const owl_sampler_params *params, int32_t n_vocab,
                           owl_sampler **out) {
    *out = NULL;
    owl_sampler_params p = params ? *params : owl_sampler_default_params();
    if (n_vocab <= 0) return owl_err(OWL_ERR_ARG, "sampler: n_vocab must be positive, got %d", n_vocab);
    if (p.penalty_last_n < 0)
        return owl_err(OWL_ERR_ARG, "sampler: penalty_last_n must be >= 0, got %d", p.penalty_last_n);
    if (isnan(p.temp) || isnan(p.top_p) || isnan(p.min_p) || !isfinite(p.repeat_penalty) ||
        !isfinite(p.presence_penalty) || !isfinite(p.frequency_penalty))
        return owl_err(OWL_ERR_ARG, "sampler: a parameter is not a number");
    if (p.repeat_penalty <= 0)
        return owl_err(OWL_ERR_ARG, "sampler: repeat_penalty must be > 0, got %g", (double)p.repeat_penalty);

    owl_sampler *s = owl_xcalloc(1, sizeof *s);
    if (!s) return OWL_ERR_NOMEM;
    s->params = p;
    s->n_vocab = n_vocab;
    s->cands = owl_xreallocarray(NULL, (size_t)n_vocab, sizeof *s->cands);
    s->counts = owl_xcalloc((size_t)n_vocab, sizeof *s->counts);
    s->ring = p.penalty_last_n ? owl_xreallocarray(NULL, (size_t)p.penalty_last_n, sizeof *s->ring) : NULL;
    if (!s->cands || !s->counts || (p.penalty_last_n && !s->ring)) {
        owl_sampler_free(s);
        return OWL_ERR_NOMEM;
    }
    rng_seed(s->rng, p.seed);
    *out = s;
    return OWL_OK;
}

void owl_sampler_free(owl_sampler *s) {
    if (!s) return;
    free(s->cands);
    free(s->counts);
    free(s->ring);
    free(s);
}

void owl_sampler_reset(owl_sampler *s) {
    memset(s->counts, 0, (size_t)s->n_vocab * sizeof *s->counts);
    s->ring_head = 0;
    s->ring_len = 0;
    rng_seed(s->rng, s->params.seed);
}

void owl_sampler_accept(owl_sampler *s, owl_token t) {
    int32_t cap = s->params.penalty_last_n;
    if (cap == 0 || t < 0 || t >= s->n_vocab) return;
    if (s->ring_len == cap) { /* full: the oldest token leaves the window */
        s->counts[s->ring[s->ring_head]]--;
        s->ring[s->ring_head] = t;
        s->ring_head = (s->ring_head + 1) % cap;
    } else {
        s->ring[(s->ring_head + s->ring_len) % cap] = t;
        s->ring_len++;
    }
    s->counts[t]++;
}

/* ---- the chain ------------------------------------------------------------------ */

static bool penalties_active(const owl_sampler_params *p) {
    return p->penalty_last_n > 0 &&
           (p->repeat_penalty != 1.0f || p->frequency_penalty != 0.0f || p->presence_penalty != 0.0f);
}

static float penalize(const owl_sampler_params *p, float logit, int32_t count) {
    if (logit <= 0)
        logit *= p->repeat_penalty;
    else
        logit /= p->repeat_penalty;
    return logit - (float)count * p->frequency_penalty - p->presence_penalty;
}

void sampler_penalize(const owl_sampler *s, const float *logits, float *out) {
    bool pen = penalties_active(&s->params);
    for (int32_t i = 0; i < s->n_vocab; i++)
        out[i] = pen && s->counts[i] ? penalize(&s->params, logits[i], s->counts[i]) : logits[i];
}

/* The logit of token i after the penalties, with NaN as -inf and +inf as
 * the largest float. */
static inline float clean_logit(const owl_sampler *s, const float *logits, size_t i, bool pen) {
    float l = logits[i];
    if (pen && s->counts[i]) l = penalize(&s->params, l, s->counts[i]);
    if (isnan(l)) return -INFINITY;
    return l > FLT_MAX ? FLT_MAX : l;
}

/* descending logit, ties by ascending id: a total order, so the result
 * never depends on how the sort algorithm treats equal keys */
static inline bool cand_before(const cand *a, const cand *b) {
    return a->logit > b->logit || (a->logit == b->logit && a->id < b->id);
}

/* Sorts c[0..n) into cand order, in place: heapsort (qsort may allocate). */
static void sift_down(cand *c, size_t root, size_t n) {
    for (;;) {
        size_t child = 2 * root + 1;
        if (child >= n) return;
        /* the heap keeps the candidate that comes last on top */
        if (child + 1 < n && cand_before(&c[child], &c[child + 1])) child++;
        if (!cand_before(&c[root], &c[child])) return;
        cand t = c[root];
        c[root] = c[child];
        c[child] = t;
        root = child;
    }
}

static void sort_cands(cand *c, size_t n) {
    if (n < 2) return;
    for (size_t i = n / 2; i-- > 0;) sift_down(c, i, n);
    for (size_t end = n - 1; end > 0; end--) {
        cand t = c[0];
        c[0] = c[end];
        c[end] = t;
        sift_down(c, 0, end);
    }
}

/* Moves the k first candidates in cand order to c[0..k), in any order
 * (quickselect, median of three; no allocation). */
static void select_top(cand *c, size_t n, size_t k) {
    size_t lo = 0, hi = n; /* the k-th element lies in [lo, hi) */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        /* median of three as pivot, moved to hi-1 */
        cand *a = &c[lo], *b = &c[mid], *z = &c[hi - 1], t;
        if (cand_before(b, a)) { t = *a; *a = *b; *b = t; }
        if (cand_before(z, a)) { t = *a; *a = *z; *z = t; }
        if (cand_before(z, b)) { t = *b; *b = *z; *z = t; }
        t = *b; *b = *z; *z = t; /* pivot (the median) to hi-1 */
        cand pivot = c[hi - 1];
        size_t store = lo;
        for (size_t i = lo; i < hi - 1; i++)
            if (cand_before(&c[i], &pivot)) { t = c[i]; c[i] = c[store]; c[store] = t; store++; }
        t = c[store]; c[store] = c[hi - 1]; c[hi - 1] = t;
        /* c[lo..store) come before the pivot, c[store] is the pivot */
        if (store == k || store + 1 == k) return;
        if (store > k)
            hi = store;
        else
            lo = store + 1;
    }
}

/* Fills c[i].p with the softmax of c[0..n).logit / temp; max_logit is the
 * largest logit among them (finite). */
static void softmax(cand *c, size_t n, float max_logit, float temp) {
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
        c[i].p = expf((c[i].logit - max_logit) / temp);
        sum += c[i].p;
    }
    float inv = (float)(1.0 / sum);
    for (size_t i = 0; i < n; i++) c[i].p *= inv;
}

owl_token owl_sampler_sample(owl_sampler *s, const float *logits) {
    const owl_sampler_params *p = &s->params;
    size_t n = (size_t)s->n_vocab;
    cand *c = s->cands;
    bool pen = penalties_active(p);

    if (p->temp <= 0) { /* greedy: the largest logit after the penalties */
        size_t best = 0;
        float best_l = -INFINITY;
        for (size_t i = 0; i < n; i++) {
            float l = logits[i];
            if (pen && s->counts[i]) l = penalize(p, l, s->counts[i]);
            if (l > best_l) { /* NaN never compares greater */
                best_l = l;
                best = i;
            }
        }
        return (owl_token)best;
    }

    /* penalties; NaN and infinities are made harmless: a NaN is never
     * picked, +inf becomes the largest float so the sums stay finite */
    bool sorted = false;
    float max_logit;
    if (p->top_k > 0 && (size_t)p->top_k < n && p->top_k <= TOP_K_HEAP_MAX) {
        /* small k: one pass keeping the k best in a heap whose root is the
         * one that comes last; most tokens lose to the root and cost one
         * comparison */
        size_t k = (size_t)p->top_k, h = 0;
        for (size_t i = 0; i < n; i++) {
            cand x = {.logit = clean_logit(s, logits, i, pen), .p = 0, .id = (owl_token)i};
            if (h < k) {
                c[h++] = x;
                if (h == k)
                    for (size_t j = k / 2; j-- > 0;) sift_down(c, j, k);
            } else if (cand_before(&x, &c[0])) {
                c[0] = x;
                sift_down(c, 0, k);
            }
        }
        n = k;
        sort_cands(c, n);
        sorted = true;
        max_logit = c[0].logit;
    } else {
        size_t best = 0;
        for (size_t i = 0; i < n; i++) {
            c[i] = (cand){.logit = clean_logit(s, logits, i, pen), .p = 0, .id = (owl_token)i};
            if (c[i].logit > c[best].logit) best = i;
        }
        max_logit = c[best].logit;
        if (p->top_k > 0 && (size_t)p->top_k < n) {
            select_top(c, n, (size_t)p->top_k);
            n = (size_t)p->top_k;
            sort_cands(c, n);
            sorted = true;
        }
    }
    /* nothing has any probability (every logit -inf): the first will do */
    if (max_logit == -INFINITY) return sorted ? c[0].id : 0;
    /* from here on the filters never drop the best candidate: max_logit
     * stays the largest logit */

    if (p->top_p < 1.0f) {
        /* probabilities of the candidates left; then the smallest sorted
         * prefix with mass >= top_p. Without top-k, sort only the top m
         * candidates, m growing until the mass is reached. */
        double sum = 0;
        for (size_t i = 0; i < n; i++) sum += exp((double)c[i].logit - max_logit);
        size_t m = sorted || n < 256 ? n : 256;
        for (;;) {
            if (!sorted) {
                if (m < n) select_top(c, n, m);
                sort_cands(c, m);
            }
            double cum = 0;
            size_t cut = 0;
            for (size_t i = 0; i < m && !cut; i++) {
                cum += exp((double)c[i].logit - max_logit) / sum;
                if (cum >= p->top_p) cut = i + 1;
            }
            if (cut) {
                n = cut;
                break;
            }
            if (m == n) break; /* rounding kept the mass just below top_p: keep all */
            m = n / 4 > m ? m * 4 : n;
        }
    }

    if (p->min_p > 0.0f) {
        /* p_i >= min_p * p_max  <=>  logit_i >= max_logit + log(min_p); the
         * best candidate always stays (min_p > 1 keeps it alone) */
        float min_logit = max_logit + logf(p->min_p);
        size_t kept = 0;
        for (size_t i = 0; i < n; i++)
            if (c[i].logit >= min_logit || c[i].logit == max_logit) c[kept++] = c[i];
        n = kept;
    }

    softmax(c, n, max_logit, p->temp);
    double u = rng_uniform(s->rng);
    double cum = 0;
    for (size_t i = 0; i < n; i++) {
        cum += c[i].p;
        if (u < cum) return c[i].id;
    }
    /* rounding left u just above the total: the last candidate with any mass */
    for (size_t i = n; i-- > 0;)
        if (c[i].p > 0) return c[i].id;
    return c[0].id;
}
