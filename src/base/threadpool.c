/* threadpool.c — persistent workers, generation counter, spin then sleep. */
#define _GNU_SOURCE
#include "threadpool.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
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
    pthread_cond_t done_cv;      /* the caller sleeps here for the last worker */
    atomic_uint gen;             /* bumped once per job */
    atomic_int pending;          /* workers still running the job */
    atomic_int stop;
    threadpool_fn fn;
    void *arg;
};

/* Waiting, on both sides: spin with PAUSE (a job usually follows within
 * microseconds during a forward pass), then yield the CPU (when threads
 * outnumber free cores a spinner steals the time the others need), then
 * sleep on a condition variable. */
enum { SPIN_PAUSE = 2000, SPIN_YIELD = 200 };

typedef struct { threadpool *p; int ith; } worker_arg;

static void *worker_main(void *v) {
    worker_arg *wa = v;
    threadpool *p = wa->p;
    int ith = wa->ith;
    free(wa);
    unsigned seen = 0;
    for (;;) {
        unsigned g;
        int spins = 0;
        while ((g = atomic_load_explicit(&p->gen, memory_order_acquire)) == seen &&
               !atomic_load(&p->stop)) {
            if (++spins < SPIN_PAUSE) {
#if defined(__x86_64__)
                __builtin_ia32_pause();
#endif
                continue;
            }
            if (spins < SPIN_PAUSE + SPIN_YIELD) { /* oversubscribed: let others run */
                sched_yield();
                continue;
            }
            pthread_mutex_lock(&p->mu);
            while (atomic_load(&p->gen) == seen && !atomic_load(&p->stop))
                pthread_cond_wait(&p->cv, &p->mu);
            pthread_mutex_unlock(&p->mu);
        }
        if (atomic_load(&p->stop)) break;
        seen = g;
        p->fn(p->arg, ith, p->n);
        if (atomic_fetch_sub_explicit(&p->pending, 1, memory_order_acq_rel) == 1) {
            /* the last one out wakes the caller if it went to sleep */
            pthread_mutex_lock(&p->mu);
            pthread_cond_signal(&p->done_cv);
            pthread_mutex_unlock(&p->mu);
        }
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

void threadpool_run(threadpool *p, threadpool_fn fn, void *arg) {
    if (!p || p->n == 1) { fn(arg, 0, 1); return; }
    p->fn = fn;
    p->arg = arg;
    atomic_store_explicit(&p->pending, p->n - 1, memory_order_release);
    pthread_mutex_lock(&p->mu);
    atomic_fetch_add_explicit(&p->gen, 1, memory_order_acq_rel);
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    fn(arg, 0, p->n);
    for (int spins = 0; atomic_load_explicit(&p->pending, memory_order_acquire) > 0; spins++) {
        if (spins < SPIN_PAUSE) {
#if defined(__x86_64__)
            __builtin_ia32_pause();
#endif
        } else if (spins < SPIN_PAUSE + SPIN_YIELD) {
            sched_yield();
        } else {
            pthread_mutex_lock(&p->mu);
            while (atomic_load_explicit(&p->pending, memory_order_acquire) > 0)
                pthread_cond_wait(&p->done_cv, &p->mu);
            pthread_mutex_unlock(&p->mu);
        }
    }
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
