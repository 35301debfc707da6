/*===- lattice_runtime.c - Run models compiled by lattice-compile ---------===*\
|*                                                                            *|
|* Part of the Lattice project, under the Apache License v2.0 with LLVM       *|
|* Exceptions. See LICENSE for license information.                          *|
|* SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception                    *|
|*                                                                            *|
|*===----------------------------------------------------------------------===*|
|*                                                                            *|
|* Loads the weights of a compiled model from a safetensors file (mapped,    *|
|* not copied, when aligned) after checking every byte of the header that    *|
|* the model relies on, and calls the compiled entry point. The file is      *|
|* untrusted input: every failure is an error code and a message, never a    *|
|* crash.                                                                    *|
|*                                                                            *|
\*===----------------------------------------------------------------------===*/

#define _GNU_SOURCE /* sched_getaffinity */

#include "lattice_runtime.h"
#include "lattice_cuda.h"
#include "lattice_threads.h"

#include <errno.h>
#include <fcntl.h>
#include <omp.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* The largest safetensors header we read (the format's own limit). */
#define MAX_HEADER_BYTES (100u * 1024u * 1024u)

static _Thread_local char last_error[512];

static lattice_status fail(lattice_status status, const char *format, ...) {
  va_list args;
  va_start(args, format);
  vsnprintf(last_error, sizeof(last_error), format, args);
  va_end(args);
  return status;
}

const char *lattice_last_error(void) { return last_error; }

struct lattice_model {
  const lattice_model_info *info;
  void *mapping;
  size_t mapping_size;
  /* One pointer per weight, into the mapping or into an aligned copy. */
  void **weights;
  void **copies;
  /* CUDA models: one device copy of each weight (what `entry` gets). */
  void **device_weights;
  /* The temporaries of one call (info->workspace_bytes), and whether a call
     is using them. */
  void *workspace;
  atomic_flag workspace_busy;
  /* Threads per call. */
  int threads;
};

/*===----------------------------------------------------------------------===*/
/* Threads                                                                   */
/*===----------------------------------------------------------------------===*/

/* Reads a small non-negative integer from a one-line file; -1 on failure. */
static int read_small_int(const char *path) {
  FILE *file = fopen(path, "r");
  if (!file)
    return -1;
  int value = -1;
  if (fscanf(file, "%d", &value) != 1)
    value = -1;
  fclose(file);
  return value;
}

/* The number of physical cores among the CPUs this process may run on:
   hardware threads of one core (SMT siblings) count once. Falls back to the
   number of CPUs when the topology is not readable. */
static int physical_cores(void) {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) != 0)
    return 1;
  int cpus = CPU_COUNT(&set);
  /* (package, core) pairs seen so far. */
  enum { MAX_CORES = 1024 };
  int seen[MAX_CORES][2];
  int cores = 0;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (!CPU_ISSET(cpu, &set))
      continue;
    char path[128];
    snprintf(path, sizeof(path),
             "/sys/devices/system/cpu/cpu%d/topology/core_id", cpu);
    int core = read_small_int(path);
    snprintf(path, sizeof(path),
             "/sys/devices/system/cpu/cpu%d/topology/physical_package_id", cpu);
    int package = read_small_int(path);
    if (core < 0 || package < 0 || cores == MAX_CORES)
      return cpus > 0 ? cpus : 1;
    int known = 0;
    for (int i = 0; i < cores && !known; ++i)
      known = seen[i][0] == package && seen[i][1] == core;
    if (!known) {
      seen[cores][0] = package;
      seen[cores][1] = core;
      ++cores;
    }
  }
  return cores > 0 ? cores : 1;
}

/* The thread count a model starts with: LATTICE_NUM_THREADS, else the
   physical cores. A variable that is set but not a count from 1 to 4096 is
   an error. */
static lattice_status default_threads(int *threads) {
  const char *text = getenv("LATTICE_NUM_THREADS");
  if (!text || !*text) {
    *threads = physical_cores();
    return LATTICE_OK;
  }
  char *end;
  errno = 0;
  long value = strtol(text, &end, 10);
  if (*end != '\0' || errno || value < 1 || value > 4096)
    return fail(LATTICE_ERROR_ARGUMENT,
                "LATTICE_NUM_THREADS='%s' is not a thread count (1 to 4096)",
                text);
  *threads = (int)value;
  return LATTICE_OK;
}

lattice_status lattice_model_set_threads(lattice_model *model, int threads) {
  if (!model)
    return fail(LATTICE_ERROR_ARGUMENT,
                "lattice_model_set_threads: NULL model");
  if (threads < 1)
    return fail(LATTICE_ERROR_ARGUMENT,
                "lattice_model_set_threads: %d threads (at least 1)", threads);
  model->threads = threads;
  return LATTICE_OK;
}

int lattice_model_get_threads(const lattice_model *model) {
  return model ? model->threads : 0;
}

/*===----------------------------------------------------------------------===*/
/* A JSON reader for the safetensors header                                  */
/*===----------------------------------------------------------------------===*/

typedef struct {
  const char *p, *end;
  const char *error;
} reader;

static void skip_space(reader *r) {
  while (r->p < r->end &&
         (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r'))
    ++r->p;
}

static int expect(reader *r, char c) {
  skip_space(r);
  if (r->p >= r->end || *r->p != c) {
    r->error = "malformed JSON";
    return 0;
  }
  ++r->p;
  return 1;
}

static int peek(reader *r, char c) {
  skip_space(r);
  return r->p < r->end && *r->p == c;
}

/* Reads a string into `out` (NUL-terminated, at most `cap` bytes); escapes
   other than \" \\ \/ are rejected (names are plain text). */
static int read_string(reader *r, char *out, size_t cap) {
  if (!expect(r, '"'))
    return 0;
  size_t n = 0;
  while (r->p < r->end && *r->p != '"') {
    char c = *r->p++;
    if (c == '\\') {
      if (r->p >= r->end || (*r->p != '"' && *r->p != '\\' && *r->p != '/')) {
        r->error = "unsupported escape in a JSON string";
        return 0;
      }
      c = *r->p++;
    } else if ((unsigned char)c < 0x20) {
      r->error = "control character in a JSON string";
      return 0;
    }
    if (n + 1 >= cap) {
      r->error = "JSON string too long";
      return 0;
    }
    out[n++] = c;
  }
  if (r->p >= r->end) {
    r->error = "unterminated JSON string";
    return 0;
  }
  ++r->p;
  out[n] = '\0';
  return 1;
}

static int read_uint(reader *r, uint64_t *value) {
  skip_space(r);
  if (r->p >= r->end || *r->p < '0' || *r->p > '9') {
    r->error = "expected a non-negative integer";
    return 0;
  }
  uint64_t v = 0;
  while (r->p < r->end && *r->p >= '0' && *r->p <= '9') {
    uint64_t digit = (uint64_t)(*r->p++ - '0');
    if (v > (UINT64_MAX - digit) / 10) {
      r->error = "integer overflow";
      return 0;
    }
    v = v * 10 + digit;
  }
  *value = v;
  return 1;
}

/* Skips any JSON value (the __metadata__ object, unknown fields), with a
   bounded nesting depth. */
static int skip_value(reader *r, int depth) {
  if (depth > 16) {
    r->error = "JSON nested too deeply";
    return 0;
  }
  skip_space(r);
  if (r->p >= r->end) {
    r->error = "truncated JSON";
    return 0;
  }
  char scratch[4096];
  switch (*r->p) {
  case '"':
    return read_string(r, scratch, sizeof(scratch));
  case '{':
  case '[': {
    char close = *r->p == '{' ? '}' : ']';
    int object = *r->p == '{';
    ++r->p;
    if (peek(r, close))
      return expect(r, close);
    do {
      if (object &&
          (!read_string(r, scratch, sizeof(scratch)) || !expect(r, ':')))
        return 0;
      if (!skip_value(r, depth + 1))
        return 0;
    } while (peek(r, ',') && expect(r, ','));
    return expect(r, close);
  }
  default:
    while (r->p < r->end && *r->p != ',' && *r->p != '}' && *r->p != ']')
      ++r->p;
    return 1;
  }
}

typedef struct {
  char dtype[16];
  int rank;
  uint64_t shape[LATTICE_MAX_RANK];
  uint64_t begin, end;
  int has_dtype, has_shape, has_offsets;
} entry;

static int read_entry(reader *r, entry *e) {
  memset(e, 0, sizeof(*e));
  if (!expect(r, '{'))
    return 0;
  if (peek(r, '}'))
    return expect(r, '}');
  do {
    char key[64];
    if (!read_string(r, key, sizeof(key)) || !expect(r, ':'))
      return 0;
    if (!strcmp(key, "dtype")) {
      if (!read_string(r, e->dtype, sizeof(e->dtype)))
        return 0;
      e->has_dtype = 1;
    } else if (!strcmp(key, "shape")) {
      if (!expect(r, '['))
        return 0;
      if (!peek(r, ']')) {
        do {
          if (e->rank >= LATTICE_MAX_RANK) {
            r->error = "tensor rank above 8";
            return 0;
          }
          if (!read_uint(r, &e->shape[e->rank++]))
            return 0;
        } while (peek(r, ',') && expect(r, ','));
      }
      if (!expect(r, ']'))
        return 0;
      e->has_shape = 1;
    } else if (!strcmp(key, "data_offsets")) {
      if (!expect(r, '[') || !read_uint(r, &e->begin) || !expect(r, ',') ||
          !read_uint(r, &e->end) || !expect(r, ']'))
        return 0;
      e->has_offsets = 1;
    } else if (!skip_value(r, 1)) {
      return 0;
    }
  } while (peek(r, ',') && expect(r, ','));
  return expect(r, '}');
}

static const char *dtype_name(int32_t dtype) {
  switch (dtype) {
  case LATTICE_F32:
    return "F32";
  case LATTICE_F16:
    return "F16";
  case LATTICE_BF16:
    return "BF16";
  case LATTICE_I8:
    return "I8";
  case LATTICE_U8:
    return "U8";
  case LATTICE_I32:
    return "I32";
  default:
    return "?";
  }
}

/*===----------------------------------------------------------------------===*/
/* Loading                                                                   */
/*===----------------------------------------------------------------------===*/

static lattice_status bind_weights(lattice_model *model, const char *path,
                                   const unsigned char *data, size_t size) {
  const lattice_model_info *info = model->info;
  if (size < 8)
    return fail(LATTICE_ERROR_FORMAT, "%s: too short for a safetensors file",
                path);
  uint64_t header_size = 0;
  for (int i = 7; i >= 0; --i)
    header_size = (header_size << 8) | data[i];
  if (header_size > MAX_HEADER_BYTES || header_size > size - 8)
    return fail(LATTICE_ERROR_FORMAT,
                "%s: header size %llu does not fit in the file", path,
                (unsigned long long)header_size);
  const unsigned char *payload = data + 8 + header_size;
  uint64_t payload_size = size - 8 - header_size;

  uint32_t found = 0;
  reader r = {(const char *)data + 8, (const char *)data + 8 + header_size,
              NULL};
  if (!expect(&r, '{'))
    return fail(LATTICE_ERROR_FORMAT, "%s: header: %s", path, r.error);
  if (!peek(&r, '}')) {
    do {
      char name[1024];
      if (!read_string(&r, name, sizeof(name)) || !expect(&r, ':'))
        return fail(LATTICE_ERROR_FORMAT, "%s: header: %s", path, r.error);
      uint32_t index = info->num_weights;
      for (uint32_t i = 0; i < info->num_weights; ++i)
        if (!strcmp(info->weights[i].name, name))
          index = i;
      if (index == info->num_weights) {
        if (!skip_value(&r, 1))
          return fail(LATTICE_ERROR_FORMAT, "%s: header: %s", path, r.error);
        continue;
      }
      entry e;
      if (!read_entry(&r, &e))
        return fail(LATTICE_ERROR_FORMAT, "%s: tensor '%s': %s", path, name,
                    r.error);
      const lattice_tensor_info *w = &info->weights[index];
      if (!e.has_dtype || !e.has_shape || !e.has_offsets)
        return fail(LATTICE_ERROR_FORMAT,
                    "%s: tensor '%s' lacks dtype, shape or data_offsets", path,
                    name);
      if (strcmp(e.dtype, dtype_name(w->dtype)))
        return fail(LATTICE_ERROR_MISMATCH,
                    "%s: tensor '%s' is %s, the model expects %s", path, name,
                    e.dtype, dtype_name(w->dtype));
      int same_shape = e.rank == w->rank;
      for (int d = 0; same_shape && d < e.rank; ++d)
        same_shape = e.shape[d] == (uint64_t)w->shape[d];
      if (!same_shape)
        return fail(LATTICE_ERROR_MISMATCH,
                    "%s: tensor '%s' has another shape than the model expects",
                    path, name);
      if (e.begin > e.end || e.end > payload_size ||
          e.end - e.begin != w->num_bytes)
        return fail(LATTICE_ERROR_FORMAT,
                    "%s: tensor '%s': data_offsets [%llu, %llu] do not hold "
                    "%llu bytes inside the file",
                    path, name, (unsigned long long)e.begin,
                    (unsigned long long)e.end,
                    (unsigned long long)w->num_bytes);
      if (model->weights[index])
        return fail(LATTICE_ERROR_FORMAT, "%s: tensor '%s' appears twice", path,
                    name);
      const unsigned char *bytes = payload + e.begin;
      if (((uintptr_t)bytes) % 64 == 0) {
        model->weights[index] = (void *)(uintptr_t)bytes; /* read only */
      } else {
        /* Misaligned for vector loads: keep an aligned copy. */
        size_t rounded = (w->num_bytes + 63) / 64 * 64;
        void *copy = aligned_alloc(64, rounded ? rounded : 64);
        if (!copy)
          return fail(LATTICE_ERROR_MEMORY, "out of memory copying '%s'", name);
        memcpy(copy, bytes, w->num_bytes);
        model->copies[index] = copy;
        model->weights[index] = copy;
      }
      ++found;
    } while (peek(&r, ',') && expect(&r, ','));
  }
  if (!expect(&r, '}'))
    return fail(LATTICE_ERROR_FORMAT, "%s: header: %s", path, r.error);
  if (found != info->num_weights) {
    for (uint32_t i = 0; i < info->num_weights; ++i)
      if (!model->weights[i])
        return fail(LATTICE_ERROR_MISMATCH, "%s: weight '%s' is missing", path,
                    info->weights[i].name);
  }
  return LATTICE_OK;
}

/* The bytes of a workspace of `info`: a multiple of 64, as aligned_alloc
   wants. */
static size_t workspace_size(const lattice_model_info *info) {
  return (size_t)((info->workspace_bytes + 63) & ~(uint64_t)63);
}

/* A model of `info` with no weights bound yet. */
static lattice_status create_model(const lattice_model_info *info,
                                   lattice_model **model) {
  if (info->abi_version != LATTICE_ABI_VERSION)
    return fail(LATTICE_ERROR_ARGUMENT,
                "model built for ABI version %u, this runtime is version %d",
                info->abi_version, LATTICE_ABI_VERSION);
  lattice_model *m = calloc(1, sizeof(*m));
  if (!m)
    return fail(LATTICE_ERROR_MEMORY, "out of memory");
  m->info = info;
  lattice_status status = default_threads(&m->threads);
  if (status != LATTICE_OK) {
    free(m);
    return status;
  }
  atomic_flag_clear(&m->workspace_busy);
  if (info->workspace_bytes > 0) {
    /* Touched once here, so that calls find its pages mapped. */
    size_t size = workspace_size(info);
    m->workspace = aligned_alloc(64, size);
    if (!m->workspace) {
      free(m);
      return fail(LATTICE_ERROR_MEMORY,
                  "out of memory (a workspace of %llu bytes)",
                  (unsigned long long)info->workspace_bytes);
    }
    memset(m->workspace, 0, size);
  }
  m->weights = calloc(info->num_weights + 1, sizeof(void *));
  m->copies = calloc(info->num_weights + 1, sizeof(void *));
  m->device_weights = calloc(info->num_weights + 1, sizeof(void *));
  if (!m->weights || !m->copies || !m->device_weights) {
    lattice_model_free(m);
    return fail(LATTICE_ERROR_MEMORY, "out of memory");
  }
  *model = m;
  return LATTICE_OK;
}

static lattice_status device_failure(const char *what) {
  const char *reason = lattice_cuda_take_error();
  return fail(LATTICE_ERROR_DEVICE, "%s%s%s", what, reason ? ": " : "",
              reason ? reason : "");
}

/* For a CUDA model: opens the driver and copies the bound weights to the
   device. Frees the model on failure. */
static lattice_status finish_load(lattice_model *m, lattice_model **model) {
  const lattice_model_info *info = m->info;
  if (info->device == LATTICE_DEVICE_CUDA) {
    lattice_cuda_take_error(); /* a stale failure of this thread */
    if (lattice_cuda_init() != 0) {
      lattice_model_free(m);
      return device_failure("cannot run a CUDA model");
    }
    for (uint32_t i = 0; i < info->num_weights; ++i) {
      size_t size = (size_t)info->weights[i].num_bytes;
      if (lattice_cuda_alloc(&m->device_weights[i], size) != 0 ||
          lattice_cuda_copy(m->device_weights[i], m->weights[i], size) != 0) {
        lattice_status status = device_failure("cannot copy the weights to "
                                               "the GPU");
        lattice_model_free(m);
        return status;
      }
    }
  } else if (info->device != LATTICE_DEVICE_CPU) {
    lattice_model_free(m);
    return fail(LATTICE_ERROR_ARGUMENT, "unknown device %u", info->device);
  }
  *model = m;
  return LATTICE_OK;
}

lattice_status lattice_model_load(const lattice_model_info *info,
                                  const char *weights_path,
                                  lattice_model **model) {
  if (!info || !model)
    return fail(LATTICE_ERROR_ARGUMENT, "lattice_model_load: NULL argument");
  *model = NULL;
  lattice_model *m = NULL;
  lattice_status status = create_model(info, &m);
  if (status != LATTICE_OK)
    return status;
  if (info->num_weights > 0) {
    if (!weights_path) {
      lattice_model_free(m);
      return fail(LATTICE_ERROR_ARGUMENT,
                  "the model has weights: a weights file is required");
    }
    int fd = open(weights_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      lattice_model_free(m);
      return fail(LATTICE_ERROR_IO, "%s: %s", weights_path, strerror(errno));
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
      close(fd);
      lattice_model_free(m);
      return fail(LATTICE_ERROR_IO, "%s: not a regular file", weights_path);
    }
    m->mapping_size = (size_t)st.st_size;
    if (m->mapping_size > 0) {
      m->mapping = mmap(NULL, m->mapping_size, PROT_READ, MAP_PRIVATE, fd, 0);
      if (m->mapping == MAP_FAILED) {
        m->mapping = NULL;
        close(fd);
        lattice_model_free(m);
        return fail(LATTICE_ERROR_IO, "%s: cannot map: %s", weights_path,
                    strerror(errno));
      }
    }
    close(fd);
    status = bind_weights(m, weights_path, m->mapping, m->mapping_size);
    if (status != LATTICE_OK) {
      lattice_model_free(m);
      return status;
    }
  }
  return finish_load(m, model);
}

lattice_status lattice_model_load_memory(const lattice_model_info *info,
                                         const void *data, size_t size,
                                         lattice_model **model) {
  if (!info || !model || (!data && size))
    return fail(LATTICE_ERROR_ARGUMENT,
                "lattice_model_load_memory: NULL argument");
  *model = NULL;
  lattice_model *m = NULL;
  lattice_status status = create_model(info, &m);
  if (status != LATTICE_OK)
    return status;
  if (info->num_weights > 0) {
    status = bind_weights(m, "<memory>", data, size);
    if (status != LATTICE_OK) {
      lattice_model_free(m);
      return status;
    }
  }
  return finish_load(m, model);
}

/* Checks the arguments of a run. */
static lattice_status check_run(const lattice_model *model,
                                const void *const *inputs,
                                void *const *outputs) {
  if (!model)
    return fail(LATTICE_ERROR_ARGUMENT, "lattice_model_run: NULL model");
  const lattice_model_info *info = model->info;
  if ((info->num_inputs && !inputs) || (info->num_outputs && !outputs))
    return fail(LATTICE_ERROR_ARGUMENT,
                "lattice_model_run: NULL input or output array");
  for (uint32_t i = 0; i < info->num_inputs; ++i)
    if (!inputs[i])
      return fail(LATTICE_ERROR_ARGUMENT, "input '%s' is NULL",
                  info->inputs[i].name);
  for (uint32_t i = 0; i < info->num_outputs; ++i)
    if (!outputs[i])
      return fail(LATTICE_ERROR_ARGUMENT, "output '%s' is NULL",
                  info->outputs[i].name);
  return LATTICE_OK;
}

/* Calls the entry point on buffers where the model runs. */
static lattice_status call_entry(const lattice_model *model,
                                 const void *const *inputs,
                                 void *const *outputs) {
  const lattice_model_info *info = model->info;
  bool cuda = info->device == LATTICE_DEVICE_CUDA;
  void *const *weights = cuda ? model->device_weights : model->weights;
  uint32_t count = info->num_inputs + info->num_weights + info->num_outputs +
                   (info->workspace_bytes > 0);
  void *stack_args[64];
  void **args = count <= 64 ? stack_args : malloc(count * sizeof(void *));
  if (!args)
    return fail(LATTICE_ERROR_MEMORY, "out of memory");
  uint32_t n = 0;
  for (uint32_t i = 0; i < info->num_inputs; ++i)
    args[n++] = (void *)(uintptr_t)inputs[i]; /* read only */
  for (uint32_t i = 0; i < info->num_weights; ++i)
    args[n++] = weights[i];
  for (uint32_t i = 0; i < info->num_outputs; ++i)
    args[n++] = outputs[i];
  /* The model's workspace, or one of this call's own when another call has
     it. */
  lattice_model *shared = (lattice_model *)(uintptr_t)model;
  void *own_workspace = NULL;
  bool holds_workspace = false;
  if (info->workspace_bytes > 0) {
    holds_workspace = !atomic_flag_test_and_set(&shared->workspace_busy);
    if (holds_workspace) {
      args[n++] = model->workspace;
    } else {
      own_workspace = aligned_alloc(64, workspace_size(info));
      if (!own_workspace) {
        if (args != stack_args)
          free(args);
        return fail(LATTICE_ERROR_MEMORY, "out of memory");
      }
      args[n++] = own_workspace;
    }
  }
  if (cuda)
    lattice_cuda_take_error(); /* a stale failure of this thread */
  /* The thread count of the call: the pool's (lattice_threads.h), and this
     thread's OpenMP setting for code built without the pool. */
  int previous_threads = lattice_set_call_threads(model->threads);
  int previous_omp_threads = omp_get_max_threads();
  omp_set_num_threads(model->threads);
  info->entry(args);
  omp_set_num_threads(previous_omp_threads);
  lattice_set_call_threads(previous_threads);
  if (holds_workspace)
    atomic_flag_clear(&shared->workspace_busy);
  free(own_workspace);
  if (args != stack_args)
    free(args);
  if (cuda && lattice_cuda_synchronize() != 0)
    return device_failure("the model failed on the GPU");
  return LATTICE_OK;
}

lattice_status lattice_model_run_device(const lattice_model *model,
                                        const void *const *inputs,
                                        void *const *outputs) {
  lattice_status status = check_run(model, inputs, outputs);
  if (status != LATTICE_OK)
    return status;
  /* Kernels read buffers in aligned vectors of up to 16 bytes. */
  const lattice_model_info *info = model->info;
  if (info->device == LATTICE_DEVICE_CUDA) {
    for (uint32_t i = 0; i < info->num_inputs; ++i)
      if ((uintptr_t)inputs[i] % 16 != 0)
        return fail(LATTICE_ERROR_ARGUMENT,
                    "input '%s' is not 16-byte aligned on the device",
                    info->inputs[i].name);
    for (uint32_t i = 0; i < info->num_outputs; ++i)
      if ((uintptr_t)outputs[i] % 16 != 0)
        return fail(LATTICE_ERROR_ARGUMENT,
                    "output '%s' is not 16-byte aligned on the device",
                    info->outputs[i].name);
  }
  return call_entry(model, inputs, outputs);
}

/* Rounds a buffer size up so that the next buffer stays 256-byte aligned,
   as cuMemAlloc's are. */
static size_t align_up(uint64_t size) {
  return (size_t)((size + 255) & ~(uint64_t)255);
}

lattice_status lattice_model_run(const lattice_model *model,
                                 const void *const *inputs,
                                 void *const *outputs) {
  lattice_status status = check_run(model, inputs, outputs);
  if (status != LATTICE_OK || model->info->device != LATTICE_DEVICE_CUDA)
    return status != LATTICE_OK ? status : call_entry(model, inputs, outputs);

  /* CUDA: the inputs and outputs go through one device allocation. */
  const lattice_model_info *info = model->info;
  uint32_t count = info->num_inputs + info->num_outputs;
  size_t total = 0;
  for (uint32_t i = 0; i < info->num_inputs; ++i)
    total += align_up(info->inputs[i].num_bytes);
  for (uint32_t i = 0; i < info->num_outputs; ++i)
    total += align_up(info->outputs[i].num_bytes);
  void **buffers = calloc(count + 1, sizeof(void *));
  if (!buffers)
    return fail(LATTICE_ERROR_MEMORY, "out of memory");
  lattice_cuda_take_error();
  char *block = NULL;
  if (lattice_cuda_alloc((void **)&block, total) != 0) {
    free(buffers);
    return device_failure("cannot allocate the inputs and outputs on the "
                          "GPU");
  }
  size_t offset = 0;
  for (uint32_t i = 0; i < count; ++i) {
    const lattice_tensor_info *t = i < info->num_inputs
                                       ? &info->inputs[i]
                                       : &info->outputs[i - info->num_inputs];
    buffers[i] = block + offset;
    offset += align_up(t->num_bytes);
  }
  status = LATTICE_OK;
  for (uint32_t i = 0; i < info->num_inputs && status == LATTICE_OK; ++i)
    if (lattice_cuda_copy(buffers[i], inputs[i],
                          (size_t)info->inputs[i].num_bytes) != 0)
      status = device_failure("cannot copy the inputs to the GPU");
  if (status == LATTICE_OK)
    status = call_entry(model, (const void *const *)buffers,
                        buffers + info->num_inputs);
  for (uint32_t i = 0; i < info->num_outputs && status == LATTICE_OK; ++i)
    if (lattice_cuda_copy(outputs[i], buffers[info->num_inputs + i],
                          (size_t)info->outputs[i].num_bytes) != 0)
      status = device_failure("cannot copy the outputs from the GPU");
  lattice_cuda_free(block);
  free(buffers);
  return status;
}

void lattice_model_free(lattice_model *model) {
  if (!model)
    return;
  if (model->copies)
    for (uint32_t i = 0; i < model->info->num_weights; ++i)
      free(model->copies[i]);
  if (model->device_weights)
    for (uint32_t i = 0; i < model->info->num_weights; ++i)
      lattice_cuda_free(model->device_weights[i]);
  free(model->device_weights);
  if (model->mapping)
    munmap(model->mapping, model->mapping_size);
  free(model->copies);
  free(model->weights);
  free(model->workspace);
  free(model);
}

const lattice_model_info *lattice_model_get_info(const lattice_model *model) {
  return model ? model->info : NULL;
}

/*===------------------------------------------------------------------===*
 * memrefCopy: the copy between strided buffers that MLIR's memref.copy
 * lowers to when a view is not contiguous (a slice of a tensor copied into
 * a concatenation, for example). Same ABI as MLIR's C runner utilities;
 * hidden, so that every model library carries its own.
 *===------------------------------------------------------------------===*/

typedef struct {
  int64_t rank;
  void *descriptor;
} lattice_unranked_memref;

typedef struct {
  char *allocated;
  char *aligned;
  int64_t offset;
  int64_t sizes_and_strides[]; /* sizes[rank], then strides[rank] */
} lattice_strided_memref;

/* A copy between strided buffers, by rows: the innermost dimension when
   it is contiguous on both sides, else single elements. */
typedef struct {
  int64_t rank, element_size, inner;
  const int64_t *sizes, *src_strides, *dst_strides;
  const char *from;
  char *to;
} copy_work;

/* Copies rows [begin, end) of a copy_work, in the order of their indices. */
static void copy_rows(void *context, int64_t begin, int64_t end) {
  const copy_work *w = context;
  int64_t outer = w->inner > 1 ? w->rank - 1 : w->rank;
  int64_t index[outer > 0 ? outer : 1];
  for (int64_t d = outer - 1, rest = begin; d >= 0; --d) {
    index[d] = rest % w->sizes[d];
    rest /= w->sizes[d];
  }
  for (int64_t row = begin; row < end; ++row) {
    int64_t src_offset = 0, dst_offset = 0;
    for (int64_t d = 0; d < outer; ++d) {
      src_offset += index[d] * w->src_strides[d];
      dst_offset += index[d] * w->dst_strides[d];
    }
    memcpy(w->to + dst_offset * w->element_size,
           w->from + src_offset * w->element_size,
           (size_t)(w->inner * w->element_size));
    for (int64_t d = outer - 1; d >= 0; --d) {
      if (++index[d] < w->sizes[d])
        break;
      index[d] = 0;
    }
  }
}

/* Bytes of a copy per step of work (lattice_work_threads): a second thread
   joins copies of 256 KB or more. ResNet-18 copies its activations into
   and out of padded buffers (the residual read by a strided convolution):
   2.9 MB a call, 0.6 ms on one thread while the other waited. */
#define COPY_BYTES_PER_STEP 2

__attribute__((visibility("hidden"))) void
memrefCopy(int64_t element_size, lattice_unranked_memref *source,
           lattice_unranked_memref *target) {
  int64_t rank = source->rank;
  const lattice_strided_memref *src = source->descriptor;
  const lattice_strided_memref *dst = target->descriptor;
  const int64_t *sizes = src->sizes_and_strides;
  copy_work w = {.rank = rank,
                 .element_size = element_size,
                 .inner = 1,
                 .sizes = sizes,
                 .src_strides = src->sizes_and_strides + rank,
                 .dst_strides = dst->sizes_and_strides + rank,
                 .from = src->aligned + src->offset * element_size,
                 .to = dst->aligned + dst->offset * element_size};
  if (rank == 0) {
    memcpy(w.to, w.from, (size_t)element_size);
    return;
  }
  int64_t elements = 1;
  for (int64_t d = 0; d < rank; ++d) {
    if (sizes[d] == 0)
      return;
    elements *= sizes[d];
  }
  if (w.src_strides[rank - 1] == 1 && w.dst_strides[rank - 1] == 1)
    w.inner = sizes[rank - 1];
  int64_t rows = elements / w.inner;
  int64_t threads =
      lattice_work_threads(0, elements * element_size / COPY_BYTES_PER_STEP);
  lattice_parallel_for(copy_rows, &w, 0, rows,
                       threads > 1 ? lattice_run_length(threads, rows) : rows);
}
