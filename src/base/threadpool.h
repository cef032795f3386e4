/* threadpool.h — one persistent pool of worker threads per context.
 *
 * threadpool_run(pool, fn, arg) calls fn(arg, ith, nth) once for every
 * ith in [0, nth) and returns when all are done. The calls are chunks of
 * one job: each is run by whichever thread takes it first (the caller
 * too), so a worker the OS has descheduled does not hold the job up — the
 * others take its share — and fn must not assume which thread runs ith
 * (per-ith scratch is still safe: each ith runs once, on one thread).
 * threadpool_run_chunks splits a job into any number of chunks and also
 * tells fn the thread running it (for per-thread scratch).
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
/* fn(arg, chunk, n_chunks, ith) once for every chunk in [0, n_chunks),
 * ith < threadpool_size(p) being the thread that runs it; returns when all
 * are done. */
typedef void (*threadpool_chunk_fn)(void *arg, int chunk, int n_chunks, int ith);
void threadpool_run_chunks(threadpool *p, threadpool_chunk_fn fn, void *arg, int n_chunks);

/* CPUs this process may use: affinity mask, then cgroup cpu.max quota. */
int owl_cpu_count(void);

#endif
