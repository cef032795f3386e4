/* bench/membw.c — the machine's read bandwidth as decode sees it: a
 * buffer far larger than the caches (default 2 GiB) read once per pass by
 * T threads of owl's thread pool, cut into a few contiguous chunks per
 * thread taken by whichever thread is free (as matmul.c cuts the weights).
 * Decode of a large model reads every weight once per token, so its
 * tokens/s times the bytes it reads cannot exceed this figure for long;
 * bench/compare runs it between the tools to tell which decode rows are
 * at that limit. The VM this was written on moves between 24 and 39 GB/s
 * from hour to hour, which is why it is measured in the same run.
 *
 *   build/bench-membw [-t THREADS=2] [-s MiB=2048] [-r PASSES=5] [-o md|json]
 *
 * Prints the best and the median pass in GB/s (1e9 bytes). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/mem.h"
#include "base/threadpool.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

typedef struct pass {
    const uint8_t *buf;
    size_t size;
    uint64_t sink[64]; /* one per thread, a cache line apart: 8 threads */
} pass;

#if defined(__x86_64__)
/* 256-bit loads, four streams of additions: the loop issues loads as fast
 * as the core takes them, so the time is the memory's */
__attribute__((target("avx2"))) static uint64_t read_avx2(const uint8_t *p, size_t n) {
    __m256i a = _mm256_setzero_si256(), b = a, c = a, d = a;
    for (size_t i = 0; i + 128 <= n; i += 128) {
        a = _mm256_add_epi64(a, _mm256_load_si256((const __m256i *)(p + i)));
        b = _mm256_add_epi64(b, _mm256_load_si256((const __m256i *)(p + i + 32)));
        c = _mm256_add_epi64(c, _mm256_load_si256((const __m256i *)(p + i + 64)));
        d = _mm256_add_epi64(d, _mm256_load_si256((const __m256i *)(p + i + 96)));
    }
    __m256i s = _mm256_add_epi64(_mm256_add_epi64(a, b), _mm256_add_epi64(c, d));
    uint64_t o[4];
    _mm256_storeu_si256((__m256i *)o, s);
    return o[0] + o[1] + o[2] + o[3];
}
#endif

static uint64_t read_plain(const uint8_t *p, size_t n) {
    uint64_t s[8] = {0};
    for (size_t i = 0; i + 64 <= n; i += 64)
        for (int k = 0; k < 8; k++) {
            uint64_t v;
            memcpy(&v, p + i + 8 * k, 8);
            s[k] += v;
        }
    return s[0] + s[1] + s[2] + s[3] + s[4] + s[5] + s[6] + s[7];
}

static int have_avx2;
static volatile uint64_t sink; /* what was read, so the reads are not dropped */

static void read_chunk(void *arg, int c, int nc, int ith) {
    pass *ps = arg;
    /* chunks of whole 128-byte groups */
    const size_t groups = ps->size / 128, g0 = groups * (size_t)c / (size_t)nc, g1 = groups * (size_t)(c + 1) / (size_t)nc;
    const uint8_t *p = ps->buf + g0 * 128;
    const size_t n = (g1 - g0) * 128;
    uint64_t v;
#if defined(__x86_64__)
    v = have_avx2 ? read_avx2(p, n) : read_plain(p, n);
#else
    v = read_plain(p, n);
#endif
    ps->sink[8 * (ith & 7)] += v;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void usage(void) {
    fprintf(stderr, "usage: bench-membw [-t THREADS] [-s MiB] [-r PASSES] [-o md|json]\n");
    exit(2);
}

int main(int argc, char **argv) {
    int threads = 2, passes = 5;
    long mib = 2048;
    const char *fmt = "md";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (i + 1 >= argc) usage();
        const char *v = argv[++i];
        char *end;
        long x = strtol(v, &end, 10);
        if (!strcmp(a, "-o")) {
            if (strcmp(v, "md") && strcmp(v, "json")) usage();
            fmt = v;
            continue;
        }
        if (*end || x <= 0) usage();
        if (!strcmp(a, "-t") && x <= 8) threads = (int)x;
        else if (!strcmp(a, "-s") && x <= (1L << 20)) mib = x;
        else if (!strcmp(a, "-r") && x <= 1000) passes = (int)x;
        else usage();
    }
#if defined(__x86_64__)
    __builtin_cpu_init();
    have_avx2 = __builtin_cpu_supports("avx2");
#endif
    const size_t size = (size_t)mib << 20;
    const long pages = sysconf(_SC_PHYS_PAGES), psz = sysconf(_SC_PAGESIZE);
    if (pages > 0 && psz > 0 && size > (size_t)pages / 2 * (size_t)psz) {
        fprintf(stderr, "bench-membw: -s %ld MiB is more than half of this machine's memory (%zu MiB)\n", mib,
                (size_t)pages * (size_t)psz >> 20);
        return 1;
    }
    uint8_t *buf = owl_xaligned(size);
    if (!buf) {
        fprintf(stderr, "bench-membw: out of memory for %ld MiB\n", mib);
        return 1;
    }
    /* every page written first, so the passes read memory, not the zero page */
    memset(buf, 1, size);
    threadpool *pool;
    if (threadpool_new(threads, &pool) != OWL_OK) {
        fprintf(stderr, "bench-membw: no thread pool of %d threads\n", threads);
        return 1;
    }
    pass ps = {.buf = buf, .size = size};
    threadpool_run_chunks(pool, read_chunk, &ps, threads * 4); /* warm-up */
    double *gbs = malloc(sizeof(double) * (size_t)passes);
    for (int r = 0; r < passes; r++) {
        double t0 = now();
        threadpool_run_chunks(pool, read_chunk, &ps, threads * 4);
        gbs[r] = (double)size / (now() - t0) / 1e9;
    }
    qsort(gbs, (size_t)passes, sizeof(double), cmp_double);
    const double best = gbs[passes - 1], med = gbs[passes / 2];
    for (int k = 0; k < 8; k++) sink += ps.sink[8 * k];
    if (!strcmp(fmt, "json"))
        printf("{\"threads\": %d, \"size_bytes\": %zu, \"passes\": %d, \"best_gbs\": %.2f, \"median_gbs\": %.2f}\n",
               threads, size, passes, best, med);
    else
        printf("read bandwidth, %d threads, %ld MiB x %d passes: best %.1f GB/s, median %.1f GB/s\n", threads,
               mib, passes, best, med);
    free(gbs);
    threadpool_free(pool);
    owl_afree(buf);
    return 0;
}
