/*===- lattice_cuda.h - The GPU runtime of compiled models -------*- C -*-===*\
|*                                                                            *|
|* Part of the Lattice project, under the Apache License v2.0 with LLVM       *|
|* Exceptions. See LICENSE for license information.                          *|
|* SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception                    *|
|*                                                                            *|
|*===----------------------------------------------------------------------===*|
|*                                                                            *|
|* The host code of a model built for CUDA (lattice-lower-to-gpu) calls the  *|
|* mgpu* functions of lattice_cuda.c, the ABI of upstream MLIR's GPU         *|
|* runtime wrappers; the model runtime (lattice_runtime.c) uses the          *|
|* functions below. Both reach the CUDA driver through dlopen at run time,   *|
|* so that libraries link and load on machines without a driver; there      *|
|* every call fails with "no CUDA driver".                                   *|
|*                                                                            *|
|* The mgpu* functions cannot return errors: the first failure on a thread  *|
|* is kept (later calls on that thread do nothing) until                     *|
|* lattice_cuda_take_error() returns it.                                     *|
|*                                                                            *|
\*===----------------------------------------------------------------------===*/

#ifndef LATTICE_CUDA_H
#define LATTICE_CUDA_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Opens the driver and makes the device's primary context current on this
   thread (the device is LATTICE_CUDA_DEVICE, default 0). Returns 0, or -1
   with the reason in lattice_cuda_take_error(). */
int lattice_cuda_init(void);

/* Device memory; the functions return 0, or -1 (see above). */
int lattice_cuda_alloc(void **pointer, size_t size);
int lattice_cuda_free(void *pointer);
/* Copies between any two of host and device memory (unified addressing). */
int lattice_cuda_copy(void *destination, const void *source, size_t size);
/* Waits for the work of this thread's context. */
int lattice_cuda_synchronize(void);

/* Kernel timing, for benchmarks: with `enable` set, every kernel this thread
   launches is timed with a pair of CUDA events (which serialize nothing
   but add a little to each launch); 0 stops it. Clears the totals. */
int lattice_cuda_time_kernels(int enable);
/* The summed duration, in microseconds, of the kernels this thread launched
   since the last call (or lattice_cuda_time_kernels), waiting for them to
   finish; `launches` (may be NULL) receives their number. */
int lattice_cuda_take_kernel_time(double *microseconds,
                                  unsigned long long *launches);

/* The first failure of a CUDA call on this thread since the last call of
   this function, or NULL; clears it. */
const char *lattice_cuda_take_error(void);

#ifdef __cplusplus
}
#endif

#endif /* LATTICE_CUDA_H */
