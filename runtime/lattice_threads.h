/*===- lattice_threads.h - The thread pool of compiled models ----*- C -*-===*
 *
 * Part of the Lattice project, under the Apache License v2.0 with LLVM
 * Exceptions. See LICENSE for license information.
 * SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
 *
 *===----------------------------------------------------------------------===*
 *
 * The parallel loops of a compiled model (the generated code, through
 * lattice-cpu-outline-parallel, and the microkernels) run on this pool:
 *
 * - The iterations of a loop are cut into one contiguous range per thread;
 *   each running thread (the caller included) claims the iterations of its
 *   own range one at a time, then those left in the others'. The loop ends
 *   when every iteration has run, not when every thread has checked in. A
 *   worker that the OS has descheduled (another process busy on its core)
 *   therefore delays nothing unless it holds an iteration: the caller takes
 *   its share. On a quiet machine a thread meets the same range, and data,
 *   from one loop to the next.
 * - Workers spin briefly between loops (the loops of one call follow one
 *   another within microseconds), then sleep on a futex, so that an idle
 *   model costs no CPU.
 * - The thread count of a call is the model's (lattice_model_set_threads);
 *   loops run serially on the caller when it is 1, when a loop has one
 *   iteration, or when another call holds the pool.
 *
 *===----------------------------------------------------------------------===*/

#ifndef LATTICE_THREADS_H
#define LATTICE_THREADS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The body of a parallel loop: runs iterations [begin, end) (one step of
   the loop: `end` is begin + step, or the loop's end). */
typedef void (*lattice_loop_body)(void *context, int64_t begin, int64_t end);

/* Runs `body` for every step of [lower, upper) by `step`, on up to the
   calling thread's thread count (lattice_set_call_threads). */
void lattice_parallel_for(lattice_loop_body body, void *context, int64_t lower,
                          int64_t upper, int64_t step);

/* The step of a parallel loop over `units` units of work on up to `limit`
   threads (0: no limit) of the caller's thread count: a few runs per
   thread, enough for the pool to balance threads that run at different
   speeds, few enough that each run reuses what it loaded. */
int64_t lattice_run_length(int64_t limit, int64_t units);

/* The threads worth waking for `work` steps of a kernel (multiply-adds,
   or the like) on up to `limit` threads (0: no limit) of the caller's
   thread count: one per LATTICE_THREAD_WORK steps at most, since waking
   a thread and joining it costs about what that many steps do. */
#define LATTICE_THREAD_WORK (1 << 17)
int64_t lattice_work_threads(int64_t limit, int64_t work);

/* A buffer of this thread of at least `bytes` bytes, 64-byte aligned, in
   slot `which` (< LATTICE_SCRATCH_SLOTS), kept and grown across calls (the
   pool's threads live as long as the process), so that a kernel call
   allocates nothing once warm; NULL when out of memory. Kernels own the
   slots while they run. */
#define LATTICE_SCRATCH_SLOTS 4
void *lattice_scratch(size_t bytes, int which);

/* Sets the thread count of the parallel loops that this thread starts (1
   or more); returns the previous one. The runtime sets it around each
   call of a model. */
int lattice_set_call_threads(int threads);

/* The thread count of the parallel loops that this thread starts. */
int lattice_get_call_threads(void);

#ifdef __cplusplus
}
#endif

#endif /* LATTICE_THREADS_H */
