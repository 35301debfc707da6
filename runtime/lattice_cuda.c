/*===- lattice_cuda.c - The GPU runtime of compiled models ----------------===*\
|*                                                                            *|
|* Part of the Lattice project, under the Apache License v2.0 with LLVM       *|
|* Exceptions. See LICENSE for license information.                          *|
|* SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception                    *|
|*                                                                            *|
|*===----------------------------------------------------------------------===*|
|*                                                                            *|
|* The CUDA driver API, opened with dlopen at the first use, behind the      *|
|* mgpu* ABI that MLIR's GPU lowering emits calls to (gpu.launch_func,       *|
|* gpu.alloc, gpu.memcpy, the module loads of gpu.binary) and behind the     *|
|* functions of lattice_cuda.h. No CUDA header or library is needed to build *|
|* or link it.                                                               *|
|*                                                                            *|
\*===----------------------------------------------------------------------===*/

#include "lattice_cuda.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The driver API types this file uses (cuda.h, ABI-stable). */
typedef int CUresult;
typedef int CUdevice;
typedef struct CUctx_st *CUcontext;
typedef struct CUmod_st *CUmodule;
typedef struct CUfunc_st *CUfunction;
typedef struct CUstream_st *CUstream;
typedef struct CUevent_st *CUevent;
typedef unsigned long long CUdeviceptr;
typedef int CUjit_option;
#define CUDA_SUCCESS 0
#define CU_JIT_OPTIMIZATION_LEVEL 7
#define CU_JIT_ERROR_LOG_BUFFER 5
#define CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES 6

/* The entry points, looked up by their versioned names. */
static struct {
  CUresult (*Init)(unsigned);
  CUresult (*GetErrorString)(CUresult, const char **);
  CUresult (*DeviceGetCount)(int *);
  CUresult (*DeviceGet)(CUdevice *, int);
  CUresult (*DevicePrimaryCtxRetain)(CUcontext *, CUdevice);
  CUresult (*CtxSetCurrent)(CUcontext);
  CUresult (*CtxSynchronize)(void);
  CUresult (*ModuleLoadData)(CUmodule *, const void *);
  CUresult (*ModuleLoadDataEx)(CUmodule *, const void *, unsigned,
                               CUjit_option *, void **);
  CUresult (*ModuleUnload)(CUmodule);
  CUresult (*ModuleGetFunction)(CUfunction *, CUmodule, const char *);
  CUresult (*LaunchKernel)(CUfunction, unsigned, unsigned, unsigned, unsigned,
                           unsigned, unsigned, unsigned, CUstream, void **,
                           void **);
  CUresult (*FuncGetAttribute)(int *, int, CUfunction);
  CUresult (*StreamCreate)(CUstream *, unsigned);
  CUresult (*StreamDestroy)(CUstream);
  CUresult (*StreamSynchronize)(CUstream);
  CUresult (*MemAlloc)(CUdeviceptr *, size_t);
  CUresult (*MemFree)(CUdeviceptr);
  CUresult (*Memcpy)(CUdeviceptr, CUdeviceptr, size_t);
  CUresult (*MemcpyAsync)(CUdeviceptr, CUdeviceptr, size_t, CUstream);
  CUresult (*MemsetD32Async)(CUdeviceptr, unsigned, size_t, CUstream);
  CUresult (*MemsetD16Async)(CUdeviceptr, unsigned short, size_t, CUstream);
  CUresult (*EventCreate)(CUevent *, unsigned);
  CUresult (*EventDestroy)(CUevent);
  CUresult (*EventRecord)(CUevent, CUstream);
  CUresult (*EventSynchronize)(CUevent);
  CUresult (*EventElapsedTime)(float *, CUevent, CUevent);
} cu;

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
/* Why the driver cannot be used (empty when it can); set once. */
static char init_error[512];
static CUcontext context;

static _Thread_local char thread_error[1024];

static void set_error(const char *format, ...) {
  if (thread_error[0])
    return; /* the first failure explains the rest */
  va_list args;
  va_start(args, format);
  vsnprintf(thread_error, sizeof(thread_error), format, args);
  va_end(args);
}

const char *lattice_cuda_take_error(void) {
  static _Thread_local char taken[sizeof(thread_error)];
  if (!thread_error[0])
    return NULL;
  memcpy(taken, thread_error, sizeof(taken));
  thread_error[0] = '\0';
  return taken;
}

static const char *describe(CUresult result) {
  const char *text = NULL;
  if (cu.GetErrorString && cu.GetErrorString(result, &text) == CUDA_SUCCESS &&
      text)
    return text;
  return "unknown CUDA error";
}

/* Checks a driver call: false (and the error kept) when it failed. */
static bool check(CUresult result, const char *what) {
  if (result == CUDA_SUCCESS)
    return true;
  set_error("%s failed: %s (CUDA error %d)", what, describe(result), result);
  return false;
}

static void open_driver(void) {
  void *library = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!library) {
    const char *reason = dlerror();
    snprintf(init_error, sizeof(init_error), "no CUDA driver (%s)",
             reason ? reason : "libcuda.so.1 cannot be opened");
    return;
  }
#define LOOKUP(field, name)                                                    \
  do {                                                                         \
    *(void **)&cu.field = dlsym(library, name);                                \
    if (!cu.field) {                                                           \
      snprintf(init_error, sizeof(init_error),                                 \
               "the CUDA driver has no %s: too old", name);                    \
      return;                                                                  \
    }                                                                          \
  } while (0)
  LOOKUP(Init, "cuInit");
  LOOKUP(GetErrorString, "cuGetErrorString");
  LOOKUP(DeviceGetCount, "cuDeviceGetCount");
  LOOKUP(DeviceGet, "cuDeviceGet");
  LOOKUP(DevicePrimaryCtxRetain, "cuDevicePrimaryCtxRetain");
  LOOKUP(CtxSetCurrent, "cuCtxSetCurrent");
  LOOKUP(CtxSynchronize, "cuCtxSynchronize");
  LOOKUP(ModuleLoadData, "cuModuleLoadData");
  LOOKUP(ModuleLoadDataEx, "cuModuleLoadDataEx");
  LOOKUP(ModuleUnload, "cuModuleUnload");
  LOOKUP(ModuleGetFunction, "cuModuleGetFunction");
  LOOKUP(LaunchKernel, "cuLaunchKernel");
  LOOKUP(FuncGetAttribute, "cuFuncGetAttribute");
  LOOKUP(StreamCreate, "cuStreamCreate");
  LOOKUP(StreamDestroy, "cuStreamDestroy_v2");
  LOOKUP(StreamSynchronize, "cuStreamSynchronize");
  LOOKUP(MemAlloc, "cuMemAlloc_v2");
  LOOKUP(MemFree, "cuMemFree_v2");
  LOOKUP(Memcpy, "cuMemcpy");
  LOOKUP(MemcpyAsync, "cuMemcpyAsync");
  LOOKUP(MemsetD32Async, "cuMemsetD32Async");
  LOOKUP(MemsetD16Async, "cuMemsetD16Async");
  LOOKUP(EventCreate, "cuEventCreate");
  LOOKUP(EventDestroy, "cuEventDestroy_v2");
  LOOKUP(EventRecord, "cuEventRecord");
  LOOKUP(EventSynchronize, "cuEventSynchronize");
  LOOKUP(EventElapsedTime, "cuEventElapsedTime");
#undef LOOKUP

  CUresult result = cu.Init(0);
  if (result != CUDA_SUCCESS) {
    snprintf(init_error, sizeof(init_error),
             "the CUDA driver does not start: %s (CUDA error %d)",
             describe(result), result);
    return;
  }
  int count = 0;
  result = cu.DeviceGetCount(&count);
  if (result != CUDA_SUCCESS || count == 0) {
    snprintf(init_error, sizeof(init_error), "no CUDA device");
    return;
  }
  int ordinal = 0;
  const char *chosen = getenv("LATTICE_CUDA_DEVICE");
  if (chosen && *chosen) {
    char *end;
    long value = strtol(chosen, &end, 10);
    if (*end || value < 0 || value >= count) {
      snprintf(init_error, sizeof(init_error),
               "LATTICE_CUDA_DEVICE=%s: expected a device number below %d",
               chosen, count);
      return;
    }
    ordinal = (int)value;
  }
  CUdevice device;
  result = cu.DeviceGet(&device, ordinal);
  if (result == CUDA_SUCCESS)
    result = cu.DevicePrimaryCtxRetain(&context, device);
  if (result != CUDA_SUCCESS) {
    snprintf(init_error, sizeof(init_error),
             "cannot use CUDA device %d: %s (CUDA error %d)", ordinal,
             describe(result), result);
    context = NULL;
  }
}

/* Opens the driver once and makes the context current on this thread;
   false (with the error kept) when there is no usable device, or when an
   earlier call on this thread failed. */
static bool ready(void) {
  if (thread_error[0])
    return false;
  pthread_once(&init_once, open_driver);
  if (init_error[0]) {
    set_error("%s", init_error);
    return false;
  }
  return check(cu.CtxSetCurrent(context), "cuCtxSetCurrent");
}

int lattice_cuda_init(void) { return ready() ? 0 : -1; }

int lattice_cuda_alloc(void **pointer, size_t size) {
  *pointer = NULL;
  CUdeviceptr address = 0;
  if (!ready() || !check(cu.MemAlloc(&address, size ? size : 1), "cuMemAlloc"))
    return -1;
  *pointer = (void *)(uintptr_t)address;
  return 0;
}

int lattice_cuda_free(void *pointer) {
  if (!pointer)
    return 0;
  return ready() &&
                 check(cu.MemFree((CUdeviceptr)(uintptr_t)pointer), "cuMemFree")
             ? 0
             : -1;
}

int lattice_cuda_copy(void *destination, const void *source, size_t size) {
  if (size == 0)
    return 0;
  return ready() && check(cu.Memcpy((CUdeviceptr)(uintptr_t)destination,
                                    (CUdeviceptr)(uintptr_t)source, size),
                          "cuMemcpy")
             ? 0
             : -1;
}

/* Kernel timing: a pair of events around every launch of the thread,
   read back when the thread waits for its work. */
enum { kTimedLaunches = 256 };
static _Thread_local bool timing;
static _Thread_local CUevent timing_events[2 * kTimedLaunches];
static _Thread_local unsigned num_timing_events; /* created */
static _Thread_local unsigned num_timed;         /* pairs recorded */
static _Thread_local double timed_us;
static _Thread_local unsigned long long timed_launches;

/* Adds the recorded launches' durations to the totals. */
static bool collect_kernel_times(void) {
  for (unsigned i = 0; i < num_timed; ++i) {
    float ms = 0;
    CUevent start = timing_events[2 * i], end = timing_events[2 * i + 1];
    if (!check(cu.EventSynchronize(end), "cuEventSynchronize") ||
        !check(cu.EventElapsedTime(&ms, start, end), "cuEventElapsedTime")) {
      num_timed = 0;
      return false;
    }
    timed_us += ms * 1000.0;
    ++timed_launches;
  }
  num_timed = 0;
  return true;
}

int lattice_cuda_time_kernels(int enable) {
  if (!ready())
    return -1;
  bool ok = collect_kernel_times();
  if (!enable) {
    for (unsigned i = 0; i < num_timing_events; ++i)
      cu.EventDestroy(timing_events[i]);
    num_timing_events = 0;
  }
  timing = enable != 0;
  timed_us = 0;
  timed_launches = 0;
  return ok ? 0 : -1;
}

int lattice_cuda_take_kernel_time(double *microseconds,
                                  unsigned long long *launches) {
  *microseconds = 0;
  if (launches)
    *launches = 0;
  if (!ready() || !collect_kernel_times())
    return -1;
  *microseconds = timed_us;
  if (launches)
    *launches = timed_launches;
  timed_us = 0;
  timed_launches = 0;
  return 0;
}

/* Records the start (end = false) or the end of the event pair
   `num_timed`; a pair counts once both are recorded. */
static bool record_timing_event(CUstream stream, bool end) {
  unsigned index = 2 * num_timed + end;
  if (index == num_timing_events) {
    if (!check(cu.EventCreate(&timing_events[index], /*CU_EVENT_DEFAULT=*/0),
               "cuEventCreate"))
      return false;
    ++num_timing_events;
  }
  return check(cu.EventRecord(timing_events[index], stream), "cuEventRecord");
}

int lattice_cuda_synchronize(void) {
  return ready() && check(cu.CtxSynchronize(), "cuCtxSynchronize") &&
                 collect_kernel_times()
             ? 0
             : -1;
}

/*===----------------------------------------------------------------------===*/
/* The mgpu* ABI of MLIR's GPU lowering                                      */
/*===----------------------------------------------------------------------===*/

/* The modules of a library are loaded by its constructors, before any
   Lattice call can report an error: a failed load leaves a NULL module,
   and the launches from it fail with the reason, kept here. */
static pthread_mutex_t load_mutex = PTHREAD_MUTEX_INITIALIZER;
static char load_error[1024];

static CUmodule load_module(const void *data, int opt_level, bool jit) {
  CUmodule module = NULL;
  bool ok = ready();
  if (ok && jit) {
    char log[4096] = "";
    CUjit_option options[] = {CU_JIT_OPTIMIZATION_LEVEL,
                              CU_JIT_ERROR_LOG_BUFFER,
                              CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES};
    void *values[] = {(void *)(intptr_t)opt_level, log,
                      (void *)(uintptr_t)sizeof(log)};
    CUresult result = cu.ModuleLoadDataEx(&module, data, 3, options, values);
    if (result != CUDA_SUCCESS) {
      set_error("cannot compile the PTX of the model for this GPU: %s%s%s",
                describe(result), log[0] ? ": " : "", log);
      ok = false;
    }
  } else if (ok) {
    ok = check(cu.ModuleLoadData(&module, data), "cuModuleLoadData");
  }
  if (!ok) {
    const char *reason = lattice_cuda_take_error();
    pthread_mutex_lock(&load_mutex);
    if (!load_error[0])
      snprintf(load_error, sizeof(load_error), "%s", reason);
    pthread_mutex_unlock(&load_mutex);
    return NULL;
  }
  return module;
}

CUmodule mgpuModuleLoad(void *data, size_t size) {
  (void)size;
  return load_module(data, 0, false);
}

CUmodule mgpuModuleLoadJIT(void *data, int opt_level) {
  return load_module(data, opt_level, true);
}

void mgpuModuleUnload(CUmodule module) {
  /* At exit the driver may already be shutting down; errors do not
     matter there. */
  if (module && cu.ModuleUnload)
    cu.ModuleUnload(module);
}

CUfunction mgpuModuleGetFunction(CUmodule module, const char *name) {
  if (!module) {
    pthread_mutex_lock(&load_mutex);
    set_error("the model's GPU code is not loaded: %s",
              load_error[0] ? load_error : "unknown reason");
    pthread_mutex_unlock(&load_mutex);
    return NULL;
  }
  CUfunction function = NULL;
  if (!ready() || !check(cu.ModuleGetFunction(&function, module, name),
                         "cuModuleGetFunction"))
    return NULL;
  return function;
}

void mgpuLaunchKernel(CUfunction function, intptr_t grid_x, intptr_t grid_y,
                      intptr_t grid_z, intptr_t block_x, intptr_t block_y,
                      intptr_t block_z, int32_t shared_memory, CUstream stream,
                      void **params, void **extra, size_t num_params) {
  (void)num_params;
  if (!function || !ready())
    return;
  bool timed = timing &&
               (num_timed < kTimedLaunches || collect_kernel_times()) &&
               record_timing_event(stream, false);
  CUresult result = cu.LaunchKernel(
      function, (unsigned)grid_x, (unsigned)grid_y, (unsigned)grid_z,
      (unsigned)block_x, (unsigned)block_y, (unsigned)block_z,
      (unsigned)shared_memory, stream, params, extra);
  if (result != CUDA_SUCCESS) {
    /* What the launch asked for and what the kernel allows. */
    int max_threads = -1, static_shared = -1, registers = -1;
    cu.FuncGetAttribute(&max_threads,
                        /*CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK=*/0,
                        function);
    cu.FuncGetAttribute(&static_shared,
                        /*CU_FUNC_ATTRIBUTE_SHARED_SIZE_BYTES=*/1, function);
    cu.FuncGetAttribute(&registers, /*CU_FUNC_ATTRIBUTE_NUM_REGS=*/4, function);
    set_error("cuLaunchKernel failed: %s (CUDA error %d) on %ld x %ld x %ld "
              "blocks of %ld x %ld x %ld threads with %d bytes of dynamic "
              "shared memory; the kernel takes up to %d threads a block and "
              "uses %d bytes of static shared memory and %d registers",
              describe(result), result, (long)grid_x, (long)grid_y,
              (long)grid_z, (long)block_x, (long)block_y, (long)block_z,
              (int)shared_memory, max_threads, static_shared, registers);
  }
  if (timed && record_timing_event(stream, true))
    ++num_timed;
}

CUstream mgpuStreamCreate(void) {
  CUstream stream = NULL;
  if (ready())
    check(cu.StreamCreate(&stream, /*CU_STREAM_NON_BLOCKING=*/1),
          "cuStreamCreate");
  return stream;
}

void mgpuStreamDestroy(CUstream stream) {
  if (stream && ready())
    check(cu.StreamDestroy(stream), "cuStreamDestroy");
}

void mgpuStreamSynchronize(CUstream stream) {
  if (ready() && check(cu.StreamSynchronize(stream), "cuStreamSynchronize"))
    collect_kernel_times();
}

void *mgpuMemAlloc(uint64_t size, CUstream stream, bool host_shared) {
  (void)stream;
  void *pointer = NULL;
  if (host_shared) {
    set_error("host-shared GPU allocations are not supported");
    return NULL;
  }
  lattice_cuda_alloc(&pointer, (size_t)size);
  return pointer;
}

void mgpuMemFree(void *pointer, CUstream stream) {
  /* Work queued on the stream may still read the buffer. */
  if (stream)
    mgpuStreamSynchronize(stream);
  lattice_cuda_free(pointer);
}

void mgpuMemcpy(void *destination, void *source, size_t size, CUstream stream) {
  if (size && ready())
    check(cu.MemcpyAsync((CUdeviceptr)(uintptr_t)destination,
                         (CUdeviceptr)(uintptr_t)source, size, stream),
          "cuMemcpyAsync");
}

void mgpuMemset32(void *destination, unsigned value, size_t count,
                  CUstream stream) {
  if (count && ready())
    check(cu.MemsetD32Async((CUdeviceptr)(uintptr_t)destination, value, count,
                            stream),
          "cuMemsetD32Async");
}

void mgpuMemset16(void *destination, unsigned short value, size_t count,
                  CUstream stream) {
  if (count && ready())
    check(cu.MemsetD16Async((CUdeviceptr)(uintptr_t)destination, value, count,
                            stream),
          "cuMemsetD16Async");
}
