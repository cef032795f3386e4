/* threadpool.h — one persistent pool of worker threads per context.
 *
 * threadpool_run(pool, fn, arg) calls fn(arg, ith, nth) once for every
 * ith in [0, nth) — the caller runs ith 0 — and returns when all are done.
 * No thread is created per operation; idle workers spin briefly, then
 * sleep on a condition variable. */
#ifndef OWL_BASE_THREADPOOL_H
#define OWL_BASE_THREADPOOL_H

#include "owl.h"

typedef struct threadpool threadpool;
typedef void (*threadpool_fn)(void *arg, int ith, int nth);

/* n_threads >= 1 (1 = no workers, everything runs on the caller). */
owl_status threadpool_new(int n_threads, threadpool **out);
void threadpool_free(threadpool *p);
int threadpool_size(const threadpool *p);
void threadpool_run(threadpool *p, threadpool_fn fn, void *arg);

/* CPUs this process may use: affinity mask, then cgroup cpu.max quota. */
int owl_cpu_count(void);

#endif
