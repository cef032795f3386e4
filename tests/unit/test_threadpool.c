/* test_threadpool.c — every chunk of every job runs exactly once, on a
 * thread index in range, and the job is complete when run returns: with
 * more threads than cores (workers descheduled mid-job, whose chunks the
 * others must take), with jobs of 1 to 1000 chunks back to back, and with
 * a chunk that sleeps. */
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "base/threadpool.h"
#include "check.h"

enum { MAXC = 1000 };

typedef struct job {
    atomic_int runs[MAXC];
    atomic_int bad_ith;
    int nth;
    int sleepy; /* chunk that sleeps 2 ms, -1 none */
} job;

static void chunk_fn(void *arg, int c, int n, int ith) {
    job *j = arg;
    (void)n;
    if (ith < 0 || ith >= j->nth) atomic_fetch_add(&j->bad_ith, 1);
    if (c == j->sleepy) nanosleep(&(struct timespec){0, 2000000}, NULL);
    /* the caller dawdles, so workers finish the last chunk and signal:
     * the moment a worker can meet the caller already writing the next
     * job (the race run() guards against) */
    if (ith == 0)
        for (volatile int k = 0; k < 200; k++) {
        }
    atomic_fetch_add(&j->runs[c], 1);
}

static void simple_fn(void *arg, int ith, int nth) {
    job *j = arg;
    if (nth != j->nth) atomic_fetch_add(&j->bad_ith, 1);
    atomic_fetch_add(&j->runs[ith], 1);
}

int main(void) {
    static job j;
    const int counts[] = {1, 2, 3, 7, 64, 1000};
    for (int nt = 1; nt <= 8; nt *= 2) {
        threadpool *p = NULL;
        if (threadpool_new(nt, &p) != OWL_OK) {
            CHECK(0, "threadpool_new(%d)", nt);
            continue;
        }
        int wrong = 0, jobs = 0;
        for (int rep = 0; rep < 3000; rep++) {
            int n = rep % 2 ? counts[(rep / 2) % 6] : 1; /* small after large: a late worker must not take chunk 1 of the next job */
            memset(&j, 0, sizeof j);
            j.nth = nt;
            j.sleepy = rep % 500 == 1 ? n / 2 : -1;
            threadpool_run_chunks(p, chunk_fn, &j, n);
            for (int c = 0; c < MAXC; c++) wrong += atomic_load(&j.runs[c]) != (c < n);
            wrong += atomic_load(&j.bad_ith);
            jobs++;
            memset(&j, 0, sizeof j);
            j.nth = nt;
            threadpool_run(p, simple_fn, &j);
            for (int c = 0; c < MAXC; c++) wrong += atomic_load(&j.runs[c]) != (c < nt);
            wrong += atomic_load(&j.bad_ith);
            jobs++;
        }
        CHECK(wrong == 0, "%d threads: %d chunks ran other than once (or with a bad index) over %d jobs",
              nt, wrong, jobs);
        threadpool_free(p);
    }
    /* a NULL pool runs everything on the caller */
    memset(&j, 0, sizeof j);
    j.nth = 1;
    j.sleepy = -1;
    threadpool_run_chunks(NULL, chunk_fn, &j, 5);
    int ok = 1;
    for (int c = 0; c < 5; c++) ok &= atomic_load(&j.runs[c]) == 1;
    CHECK(ok, "a NULL pool did not run each chunk once");
    return check_done();
}
