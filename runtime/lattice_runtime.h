/*===- lattice_runtime.h - Run models compiled by lattice-compile -*- C -*-===*\
|*                                                                            *|
|* Part of the Lattice project, under the Apache License v2.0 with LLVM       *|
|* Exceptions. See LICENSE for license information.                          *|
|* SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception                    *|
|*                                                                            *|
|*===----------------------------------------------------------------------===*|
|*                                                                            *|
|* The C ABI of a compiled model. A library made by lattice-compile exports  *|
|* `lattice_model_info_v1()`, the description of its inputs, outputs and     *|
|* weights, and the functions below; its generated header adds typed         *|
|* wrappers named after the model.                                           *|
|*                                                                            *|
|* Tensors are dense, row-major, in host memory (models built for CUDA copy  *|
|* them to and from the GPU, or take device buffers through                 *|
|* lattice_model_run_device). Sub-byte weights are packed                   *|
|* as docs/WeightLayout.md describes. Functions return LATTICE_OK (0) or an  *|
|* error code; lattice_last_error() then describes the failure.             *|
|*                                                                            *|
\*===----------------------------------------------------------------------===*/

#ifndef LATTICE_RUNTIME_H
#define LATTICE_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LATTICE_ABI_VERSION 3
#define LATTICE_MAX_RANK 8

typedef enum {
  LATTICE_OK = 0,
  LATTICE_ERROR_ARGUMENT = 1, /* a NULL pointer or a bad argument */
  LATTICE_ERROR_IO = 2,       /* the weights file cannot be opened or mapped */
  LATTICE_ERROR_FORMAT = 3,   /* the weights file is not valid safetensors */
  LATTICE_ERROR_MISMATCH = 4, /* a weight is missing or has another type */
  LATTICE_ERROR_MEMORY = 5,   /* out of memory */
  LATTICE_ERROR_DEVICE = 6    /* no usable GPU, or a GPU call failed */
} lattice_status;

/* Where a model runs. */
typedef enum { LATTICE_DEVICE_CPU = 0, LATTICE_DEVICE_CUDA = 1 } lattice_device;

/* Element types, as safetensors names them. */
typedef enum {
  LATTICE_F32 = 0,
  LATTICE_F16 = 1,
  LATTICE_BF16 = 2,
  LATTICE_I8 = 3,
  LATTICE_U8 = 4, /* also packed sub-byte codes */
  LATTICE_I32 = 5
} lattice_dtype;

typedef struct {
  const char *name;
  int32_t dtype; /* lattice_dtype */
  int32_t rank;
  int64_t shape[LATTICE_MAX_RANK];
  uint64_t num_bytes;
} lattice_tensor_info;

typedef struct {
  uint32_t abi_version; /* LATTICE_ABI_VERSION */
  const char *name;
  uint32_t num_inputs, num_outputs, num_weights;
  const lattice_tensor_info *inputs;
  const lattice_tensor_info *outputs;
  const lattice_tensor_info *weights;
  /* The compiled function: args = inputs, weights, outputs, in that order;
     device buffers for CUDA models. When workspace_bytes is not 0, one more
     argument follows: a 64-byte aligned buffer of that size for the
     temporaries of a call, which the runtime allocates when the model
     loads. */
  void (*entry)(void **args);
  uint32_t device; /* lattice_device */
  uint64_t workspace_bytes;
} lattice_model_info;

typedef struct lattice_model lattice_model;

/* Maps the safetensors file `weights_path` and checks that it holds every
   weight of `info` with its dtype and size. A CUDA model also opens the
   CUDA driver (LATTICE_ERROR_DEVICE, "no CUDA driver", where there is none)
   and copies its weights to the GPU once. */
lattice_status lattice_model_load(const lattice_model_info *info,
                                  const char *weights_path,
                                  lattice_model **model);

/* Binds the weights inside `data`, `size` bytes in the safetensors format
   (for example weights embedded in the library, or a buffer the caller
   filled), with the checks of lattice_model_load. Tensors that are 64-byte
   aligned in memory are used in place: `data` must outlive the model;
   others are copied. */
lattice_status lattice_model_load_memory(const lattice_model_info *info,
                                         const void *data, size_t size,
                                         lattice_model **model);

/* Runs the model: `inputs` and `outputs` point to one buffer per tensor, of
   info->inputs[i].num_bytes and info->outputs[i].num_bytes bytes. Safe to
   call from several threads on the same model: the model's workspace serves
   one call at a time, and a call that finds it taken allocates its own. */
lattice_status lattice_model_run(const lattice_model *model,
                                 const void *const *inputs,
                                 void *const *outputs);

/* Runs the model on buffers that are already where it runs: for a CUDA
   model, `inputs` and `outputs` are device pointers (CUdeviceptr values,
   from cuMemAlloc or cudaMalloc: 16-byte aligned at least) and nothing is
   copied; for a CPU model this is lattice_model_run. Returns when the
   outputs are written. */
lattice_status lattice_model_run_device(const lattice_model *model,
                                        const void *const *inputs,
                                        void *const *outputs);

/* Sets the number of threads a call of the model uses (1 or more; at most
   the parallelism the library was compiled for is used). A model starts
   with the value of the environment variable LATTICE_NUM_THREADS when it
   is set (loading fails with LATTICE_ERROR_ARGUMENT when it is not a count
   from 1 to 4096), else with the number of physical cores this process may
   run on. Not to be called while the model runs. */
lattice_status lattice_model_set_threads(lattice_model *model, int threads);

/* The number of threads a call of the model uses. */
int lattice_model_get_threads(const lattice_model *model);

/* Unmaps the weights and frees the model; NULL is ignored. */
void lattice_model_free(lattice_model *model);

/* The description of the model. */
const lattice_model_info *lattice_model_get_info(const lattice_model *model);

/* Describes the last failure of a lattice_* call on this thread. */
const char *lattice_last_error(void);

#ifdef __cplusplus
}
#endif

#endif /* LATTICE_RUNTIME_H */
