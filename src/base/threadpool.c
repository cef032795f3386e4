/* threadpool.c — persistent workers, a job as chunks taken by whichever
 * thread is running, spin then sleep. */
#define _GNU_SOURCE
#include "threadpool.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "mem.h"
#include "status.h"

struct threadpool {
    int n;                       /* threads including the caller */
    pthread_t *threads;          /* (n - 1) workers */
    pthread_mutex_t mu;
    pthread_cond_t cv;           /* workers sleep here for the next job */
    pthread_cond_t done_cv;      /* the caller sleeps here for the last chunk */
    /* the job: generation (high 32 bits) and next chunk to take (low 32);
     * a chunk is taken by compare-and-swap on the whole word, so a worker
     * that slept through a job can never take a chunk of the next one with
     * the last one's parameters */
    _Atomic uint64_t ticket;
    atomic_int n_chunks;
    atomic_int done;             /* chunks finished */
    _Atomic(threadpool_fn) fn;   /* one of the two is set */
    _Atomic(threadpool_chunk_fn) cfn;
    _Atomic(void *) arg;
    atomic_int stop;
};

/* Waiting, on both sides: spin with PAUSE (a job usually follows within
 * microseconds during a forward pass), then yield the CPU (when threads
 * outnumber free cores a spinner steals the time the others need), then
 * sleep on a condition variable. */
enum { SPIN_PAUSE = 2000, SPIN_YIELD = 200 };

static inline void cpu_relax(void) {
#if defined(__x86_64__)
    __builtin_ia32_pause();
#endif
}

/* Takes and runs chunks of the current job until none is left. */
static void take_chunks(threadpool *p, int ith) {
    for (;;) {
        uint64_t t = atomic_load(&p->ticket);
        const int64_t c = (int64_t)(uint32_t)t;
        const int n = atomic_load(&p->n_chunks);
        if (c >= n) return;
        threadpool_fn fn = atomic_load(&p->fn);
        threadpool_chunk_fn cfn = atomic_load(&p->cfn);
        void *arg = atomic_load(&p->arg);
        /* success means the ticket did not move since the parameters were
         * read: they belong to this job (run() closes a job's ticket before
         * it writes the next job's parameters) */
        if (!atomic_compare_exchange_weak(&p->ticket, &t, t + 1)) continue;
        if (cfn) cfn(arg, (int)c, n, ith);
        else fn(arg, (int)c, n);
        if (atomic_fetch_add_explicit(&p->done, 1, memory_order_acq_rel) + 1 == n) {
            /* the last chunk wakes the caller if it went to sleep */
            pthread_mutex_lock(&p->mu);
            pthread_cond_signal(&p->done_cv);
            pthread_mutex_unlock(&p->mu);
        }
    }
}

typedef struct { threadpool *p; int ith; } worker_arg;

static void *worker_main(void *v) {
    worker_arg *wa = v;
    threadpool *p = wa->p;
    int ith = wa->ith;
    free(wa);
    uint32_t seen = 0;
    for (;;) {
        uint32_t g;
        int spins = 0;
        while ((g = (uint32_t)(atomic_load_explicit(&p->ticket, memory_order_acquire) >> 32)) == seen &&
               !atomic_load(&p->stop)) {
            if (++spins < SPIN_PAUSE) {
                cpu_relax();
                continue;
            }
            if (spins < SPIN_PAUSE + SPIN_YIELD) { /* oversubscribed: let others run */
                sched_yield();
                continue;
            }
            pthread_mutex_lock(&p->mu);
            while ((uint32_t)(atomic_load(&p->ticket) >> 32) == seen && !atomic_load(&p->stop))
                pthread_cond_wait(&p->cv, &p->mu);
            pthread_mutex_unlock(&p->mu);
        }
        if (atomic_load(&p->stop)) break;
        seen = g;
        take_chunks(p, ith);
    }
    return NULL;
}

owl_status threadpool_new(int n_threads, threadpool **out) {
    *out = NULL;
    if (n_threads < 1) n_threads = 1;
    if (n_threads > 512) return owl_err(OWL_ERR_ARG, "too many threads: %d", n_threads);
    threadpool *p = owl_xcalloc(1, sizeof *p);
    if (!p) return OWL_ERR_NOMEM;
    p->n = n_threads;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    pthread_cond_init(&p->done_cv, NULL);
    p->threads = owl_xcalloc((size_t)n_threads, sizeof *p->threads);
    if (!p->threads) { threadpool_free(p); return OWL_ERR_NOMEM; }
    for (int i = 1; i < n_threads; i++) {
        worker_arg *wa = owl_xmalloc(sizeof *wa);
        if (!wa) { p->n = i; threadpool_free(p); return OWL_ERR_NOMEM; }
        wa->p = p;
        wa->ith = i;
        if (pthread_create(&p->threads[i - 1], NULL, worker_main, wa) != 0) {
            free(wa);
            p->n = i;
            threadpool_free(p);
            return owl_err(OWL_ERR_NOMEM, "cannot create thread %d", i);
        }
    }
    *out = p;
    return OWL_OK;
}

void threadpool_free(threadpool *p) {
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    atomic_store(&p->stop, 1);
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    for (int i = 1; i < p->n; i++) pthread_join(p->threads[i - 1], NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    pthread_cond_destroy(&p->done_cv);
    free(p->threads);
    free(p);
}

int threadpool_size(const threadpool *p) { return p ? p->n : 1; }

static void run(threadpool *p, threadpool_fn fn, threadpool_chunk_fn cfn, void *arg, int n) {
    /* close the last job's ticket before its parameters are replaced: a
     * worker that read the old ticket and then a new parameter finds its
     * compare-and-swap failing (every access here is sequentially
     * consistent, so the close is ordered before the parameter writes) */
    const uint64_t g = atomic_load(&p->ticket) >> 32;
    atomic_store(&p->ticket, (g << 32) | 0xffffffffu);
    atomic_store(&p->fn, fn);
    atomic_store(&p->cfn, cfn);
    atomic_store(&p->arg, arg);
    atomic_store(&p->n_chunks, n);
    atomic_store(&p->done, 0);
    pthread_mutex_lock(&p->mu);
    atomic_store(&p->ticket, ((g + 1) & 0xffffffffu) << 32);
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    take_chunks(p, 0);
    for (int spins = 0; atomic_load_explicit(&p->done, memory_order_acquire) < n; spins++) {
        if (spins < SPIN_PAUSE) {
            cpu_relax();
        } else if (spins < SPIN_PAUSE + SPIN_YIELD) {
            sched_yield();
        } else {
            pthread_mutex_lock(&p->mu);
            while (atomic_load_explicit(&p->done, memory_order_acquire) < n)
                pthread_cond_wait(&p->done_cv, &p->mu);
            pthread_mutex_unlock(&p->mu);
        }
    }
}

void threadpool_run(threadpool *p, threadpool_fn fn, void *arg) {
    if (!p || p->n == 1) { fn(arg, 0, 1); return; }
    run(p, fn, NULL, arg, p->n);
}

void threadpool_run_chunks(threadpool *p, threadpool_chunk_fn fn, void *arg, int n_chunks) {
    if (n_chunks <= 0) return;
    if (!p || p->n == 1 || n_chunks == 1) {
        for (int c = 0; c < n_chunks; c++) fn(arg, c, n_chunks, 0);
        return;
    }
    run(p, NULL, fn, arg, n_chunks);
}

int owl_cpu_count(void) {
    int n = 0;
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0) n = CPU_COUNT(&set);
    if (n <= 0) n = (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (n <= 0) n = 1;
    /* cgroup v2 quota: "max 100000" or "200000 100000" */
    FILE *f = fopen("/sys/fs/cgroup/cpu.max", "r");
    if (f) {
        char q[32];
        long long period = 0;
        if (fscanf(f, "%31s %lld", q, &period) == 2 && q[0] != 'm' && period > 0) {
            long long quota = atoll(q);
            int lim = (int)((quota + period - 1) / period);
            if (lim >= 1 && lim < n) n = lim;
        }
        fclose(f);
    }
    return n;
}
