/*===- lattice_threads.c - The thread pool of compiled models -------------===*
 *
 * Part of the Lattice project, under the Apache License v2.0 with LLVM
 * Exceptions. See LICENSE for license information.
 * SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
 *
 *===----------------------------------------------------------------------===*
 *
 * One pool per process (per model library): workers created on demand, a
 * single job at a time. The protocol, on one atomic word `state`:
 *
 *   bits 0..7   workers that joined the current job
 *   bits 8..15  workers the job admits (the call's thread count - 1)
 *   bit 16      the job is open to workers
 *   bits 17..   the job's generation
 *
 * The caller writes the job, then publishes a new generation, open; a
 * worker joins by incrementing the count while the job is open and not
 * full, and only then reads the job. The caller runs iterations itself,
 * closes the job (clears the open bit: from then on nobody joins), and
 * waits for the workers that joined to finish theirs; every iteration has
 * then run, and the job may be rewritten. Iterations are claimed from
 * counters (a contiguous range per thread, its own first), so a worker that
 * joins late, or never, costs nothing: the others take its range.
 *
 *===----------------------------------------------------------------------===*/

#define _GNU_SOURCE

#include "lattice_threads.h"

#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#if defined(__x86_64__)
#include <immintrin.h>
#define CPU_RELAX() _mm_pause()
#else
#define CPU_RELAX() ((void)0)
#endif

#define MAX_WORKERS 255
#define OPEN ((uint64_t)1 << 16)
#define GENERATION_SHIFT 17

/* How long an idle worker spins before it sleeps, and how long the caller
   spins for a worker before it yields its CPU. */
#define IDLE_SPIN_NS 50000
#define WAIT_SPIN_NS 20000

/* Contention: another process running on the pool's cores. Either of two
   signs of it sends the loops that follow to the caller alone for a while:
   - a loop stalls: the caller, its own iterations done, waits for the
     workers longer than STALL_NS and longer than STALL_ITERATIONS of its
     own iterations took on average (a worker was descheduled while it held
     an iteration, which no claiming of iterations can work around);
   - the caller is preempted: over a window of WINDOW_LOOPS loops in which
     it slept nowhere, it was switched out involuntarily and spent more than
     PREEMPTED_NS, and a quarter of the window, off its CPU. The pool then
     has more runnable threads than it gets cores, and the caller, sharing
     one with the other process, runs at a fraction of its speed while the
     workers spin between loops on CPU time it could use.
   The serial stretch is SERIAL_MIN_NS after a first sign, twice as long
   after each that comes within SOON_STRETCHES of the last stretch's length
   of its end (up to SERIAL_MAX_NS): on a busy machine a model costs about its
   single-thread time and a probe every SERIAL_MAX_NS, and a machine that
   turns quiet again gets its threads back within that time. */
#define STALL_NS 100000
#define STALL_ITERATIONS 4
#define WINDOW_LOOPS 32
#define PREEMPTED_NS 200000
#define SERIAL_MIN_NS 2000000
#define SERIAL_MAX_NS 128000000
#define SOON_STRETCHES 4

typedef struct {
  lattice_loop_body body;
  void *context;
  int64_t lower, upper, step, count;
  /* The iterations are cut into `shares` contiguous ranges, one per thread
     the job admits: each thread starts with its own range (the caller with
     range 0, worker w with range w % shares), so that a thread meets the
     same data from one loop to the next (a recurrent weight in its L2),
     then takes what is left of the others'. */
  int shares;
  int64_t range_end[MAX_WORKERS + 1];
  atomic_int finished; /* workers that joined and are done */
} job_t;

/* The next iteration of each range, a cache line each. */
static struct {
  _Alignas(64) atomic_llong next;
} cursors[MAX_WORKERS + 1];

static job_t job;
static _Atomic uint64_t state;
static atomic_uint wake_sequence; /* the futex that sleeping workers wait on */
static atomic_int sleepers;
static atomic_flag pool_busy = ATOMIC_FLAG_INIT;
static pthread_mutex_t start_lock = PTHREAD_MUTEX_INITIALIZER;
static int started_workers;

/* The contention back-off (see STALL_NS): loops start serially before
   `serial_until`; `serial_length` is the last serial stretch. Written by
   the caller that holds the pool. */
static _Atomic int64_t serial_until;
static int64_t serial_length;

/* The caller's window of loops (see STALL_NS): the caller, and its wall
   clock, CPU time and context switches at the window's start. */
typedef struct {
  const void *thread;
  int64_t wall, cpu;
  long voluntary, involuntary;
} usage_t;
static _Thread_local char this_thread; /* its address names the thread */
static usage_t window_start;
static int window_loops;

static _Thread_local int call_threads = 1;

int lattice_get_call_threads(void) { return call_threads; }

/* Runs of units per thread. */
#define RUNS_PER_THREAD 4

int64_t lattice_run_length(int64_t limit, int64_t units) {
  int64_t threads = call_threads;
  if (limit > 0 && limit < threads)
    threads = limit;
  int64_t runs = threads > 1 ? threads * RUNS_PER_THREAD : 1;
  return units > runs ? (units + runs - 1) / runs : 1;
}

int64_t lattice_work_threads(int64_t limit, int64_t work) {
  int64_t threads = call_threads;
  if (limit > 0 && limit < threads)
    threads = limit;
  int64_t worth = work / LATTICE_THREAD_WORK;
  if (worth < threads)
    threads = worth < 1 ? 1 : worth;
  return threads;
}

void *lattice_scratch(size_t bytes, int which) {
  static _Thread_local void *buffers[LATTICE_SCRATCH_SLOTS];
  static _Thread_local size_t sizes[LATTICE_SCRATCH_SLOTS];
  if (sizes[which] < bytes) {
    free(buffers[which]);
    size_t size = (bytes + 4095) & ~(size_t)4095;
    buffers[which] = aligned_alloc(64, size);
    sizes[which] = buffers[which] ? size : 0;
  }
  return buffers[which];
}

int lattice_set_call_threads(int threads) {
  int previous = call_threads;
  call_threads = threads < 1 ? 1 : threads;
  return previous;
}

static int64_t now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static usage_t usage_now(void) {
  struct rusage usage;
  getrusage(RUSAGE_THREAD, &usage);
  int64_t cpu_us =
      (int64_t)(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1000000 +
      usage.ru_utime.tv_usec + usage.ru_stime.tv_usec;
  return (usage_t){&this_thread, now_ns(), cpu_us * 1000, usage.ru_nvcsw,
                   usage.ru_nivcsw};
}

/* Whether the caller was preempted for long over the window that ends now
   (see STALL_NS), which then restarts. */
static bool preempted_in_window(void) {
  usage_t now = usage_now(), start = window_start;
  window_start = now;
  int64_t wall = now.wall - start.wall, off = wall - (now.cpu - start.cpu);
  return start.thread == now.thread && now.voluntary == start.voluntary &&
         now.involuntary != start.involuntary && off > PREEMPTED_NS &&
         4 * off > wall;
}

static uint64_t generation_of(uint64_t s) { return s >> GENERATION_SHIFT; }

/* Runs iterations of `j` until none is left: those of range `home` first,
   then those of the next ranges in turn. Returns how many it ran. */
static int64_t run_iterations(job_t *j, int home) {
  int64_t ran = 0;
  for (int taken = 0, r = home; taken < j->shares;
       ++taken, r = r + 1 == j->shares ? 0 : r + 1) {
    for (;;) {
      int64_t i =
          atomic_fetch_add_explicit(&cursors[r].next, 1, memory_order_relaxed);
      if (i >= j->range_end[r])
        break;
      int64_t begin = j->lower + i * j->step;
      int64_t end = begin + j->step < j->upper ? begin + j->step : j->upper;
      j->body(j->context, begin, end);
      ++ran;
    }
  }
  return ran;
}

/* Whether `s` is a job of a generation other than `seen` that a worker may
   still join. */
static bool joinable(uint64_t s, uint64_t seen) {
  return generation_of(s) != seen && (s & OPEN) &&
         (s & 0xff) < ((s >> 8) & 0xff);
}

/* Waits for a joinable job: spins for a while, then sleeps until the next
   job is published. Returns the state that showed it. */
static uint64_t wait_for_job(uint64_t seen) {
  for (;;) {
    int64_t start = now_ns();
    for (int spins = 0;; ++spins) {
      uint64_t s = atomic_load_explicit(&state, memory_order_acquire);
      if (joinable(s, seen))
        return s;
      CPU_RELAX();
      if ((spins & 63) == 63 && now_ns() - start > IDLE_SPIN_NS)
        break;
    }
    unsigned sequence = atomic_load(&wake_sequence);
    atomic_fetch_add(&sleepers, 1);
    uint64_t s = atomic_load(&state);
    if (!joinable(s, seen))
      syscall(SYS_futex, &wake_sequence, FUTEX_WAIT_PRIVATE, sequence, NULL,
              NULL, 0);
    atomic_fetch_sub(&sleepers, 1);
  }
}

static void *worker_main(void *argument) {
  /* This worker's number, 1, 2, ... in order of creation. */
  int index = (int)(intptr_t)argument;
  uint64_t seen = 0;
  for (;;) {
    uint64_t s = wait_for_job(seen);
    seen = generation_of(s);
    /* Join: one more worker, while this job is open and not full. */
    bool joined = false;
    while (!joined && generation_of(s) == seen && (s & OPEN) &&
           (s & 0xff) < ((s >> 8) & 0xff))
      joined = atomic_compare_exchange_weak_explicit(
          &state, &s, s + 1, memory_order_acq_rel, memory_order_acquire);
    if (!joined)
      continue;
    run_iterations(&job, index % job.shares);
    atomic_fetch_add_explicit(&job.finished, 1, memory_order_release);
  }
  return NULL;
}

/* Runs the loops that start before `now` + the next serial stretch on
   their caller alone (see STALL_NS). */
static void back_off(int64_t now) {
  int64_t last = atomic_load_explicit(&serial_until, memory_order_relaxed);
  bool soon = last && now - last < SOON_STRETCHES * serial_length;
  serial_length = !soon                               ? SERIAL_MIN_NS
                  : 2 * serial_length < SERIAL_MAX_NS ? 2 * serial_length
                                                      : SERIAL_MAX_NS;
  atomic_store_explicit(&serial_until, now + serial_length,
                        memory_order_relaxed);
}

/* Whether loops start serially now (see STALL_NS). */
static bool backing_off(void) {
  int64_t until = atomic_load_explicit(&serial_until, memory_order_relaxed);
  return until && now_ns() < until;
}

/* Starts workers until there are `count`; returns how many there are. */
static int ensure_workers(int count) {
  if (__atomic_load_n(&started_workers, __ATOMIC_ACQUIRE) >= count)
    return count;
  pthread_mutex_lock(&start_lock);
  while (started_workers < count) {
    pthread_attr_t attributes;
    pthread_attr_init(&attributes);
    pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
    pthread_t thread;
    int failed = pthread_create(&thread, &attributes, worker_main,
                                (void *)(intptr_t)(started_workers + 1));
    pthread_attr_destroy(&attributes);
    if (failed)
      break;
    __atomic_store_n(&started_workers, started_workers + 1, __ATOMIC_RELEASE);
  }
  int started = started_workers;
  pthread_mutex_unlock(&start_lock);
  return started < count ? started : count;
}

void lattice_parallel_for(lattice_loop_body body, void *context, int64_t lower,
                          int64_t upper, int64_t step) {
  if (upper <= lower || step <= 0)
    return;
  int64_t count = (upper - lower + step - 1) / step;
  int threads = call_threads;
  if (count == 1 || threads <= 1 || backing_off() ||
      atomic_flag_test_and_set(&pool_busy)) {
    /* Serially: one iteration, one thread, contention (see STALL_NS), or
       the pool is another call's (or this loop is inside one of the pool's
       loops). */
    for (int64_t begin = lower; begin < upper; begin += step)
      body(context, begin, begin + step < upper ? begin + step : upper);
    return;
  }
  int64_t wanted = threads - 1 < count - 1 ? threads - 1 : count - 1;
  int workers =
      ensure_workers(wanted < MAX_WORKERS ? (int)wanted : MAX_WORKERS);

  job.body = body;
  job.context = context;
  job.lower = lower;
  job.upper = upper;
  job.step = step;
  job.count = count;
  job.shares = workers + 1;
  for (int r = 0; r < job.shares; ++r) {
    atomic_store_explicit(&cursors[r].next, count * r / job.shares,
                          memory_order_relaxed);
    job.range_end[r] = count * (r + 1) / job.shares;
  }
  atomic_store_explicit(&job.finished, 0, memory_order_relaxed);
  uint64_t generation = generation_of(atomic_load(&state)) + 1;
  atomic_store_explicit(&state,
                        (generation << GENERATION_SHIFT) | OPEN |
                            ((uint64_t)workers << 8),
                        memory_order_seq_cst);
  if (atomic_load(&sleepers) > 0) {
    atomic_fetch_add(&wake_sequence, 1);
    syscall(SYS_futex, &wake_sequence, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL,
            0);
  }

  int64_t started = now_ns();
  int64_t ran = run_iterations(&job, 0);

  /* Close the job, then wait for those who joined. */
  uint64_t s = atomic_load(&state);
  while (!atomic_compare_exchange_weak(&state, &s, s & ~OPEN))
    ;
  int joined = (int)(s & 0xff);
  int64_t done = now_ns(), waited = 0;
  int spins = 0;
  for (; atomic_load_explicit(&job.finished, memory_order_acquire) < joined;
       ++spins) {
    CPU_RELAX();
    if ((spins & 63) != 63)
      continue;
    waited = now_ns() - done;
    if (waited > WAIT_SPIN_NS)
      sched_yield();
  }
  /* A wait of more than a few spins is timed to its end: a caller that
     yielded its CPU may get it back long after the workers finished. */
  if (spins >= 64)
    waited = now_ns() - done;
  int64_t iteration = ran ? (done - started) / ran : 0;
  bool stalled = waited > STALL_NS && waited > STALL_ITERATIONS * iteration;
  if (stalled || ++window_loops == WINDOW_LOOPS) {
    window_loops = 0;
    if (preempted_in_window() || stalled)
      back_off(now_ns());
  }
  atomic_flag_clear(&pool_busy);
}
