//===- Passes.td - Lattice code generation passes ----------*- tablegen -*-===//
//
// Part of the Lattice project, under the Apache License v2.0 with LLVM
// Exceptions. See LICENSE for license information.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// The steps of the native pipelines after the portable lowering to linalg:
// target-neutral passes (lib/Codegen/Common) that the CPU and GPU pipelines
// share, then those of each target (`lattice-cpu-*`, `lattice-gpu-*`). The
// pipelines themselves (`lattice-lower-to-cpu`) are declared in
// Pipelines.h.
//
//===----------------------------------------------------------------------===//

#ifndef LATTICE_CODEGEN_PASSES_TD
#define LATTICE_CODEGEN_PASSES_TD

include "mlir/Pass/PassBase.td"

//===----------------------------------------------------------------------===//
// Target-neutral passes
//===----------------------------------------------------------------------===//

def EmulateNarrowTypesPass
    : Pass<"lattice-emulate-narrow-types", "ModuleOp"> {
  let summary = "Store sub-byte integers packed in bytes";
  let description = [{
    Rewrites memrefs of `i1`, `i2` and `i4` (quantized codes after
    bufferization) into flat byte buffers that hold the codes packed
    LSB-first, with the loads, stores and vector transfers that read and
    write them, function signatures included. This is the in-memory layout
    of sub-byte weights documented in docs/WeightLayout.md. Runs after vector
    transfers are lowered to 1-D loads and stores.
  }];
  let dependentDialects = [
    "::mlir::affine::AffineDialect",
    "::mlir::arith::ArithDialect",
    "::mlir::memref::MemRefDialect",
    "::mlir::vector::VectorDialect",
  ];
}

def CopyAliasedResultsPass
    : Pass<"lattice-copy-aliased-results", "func::FuncOp"> {
  let summary = "Give every tensor result of a function its own value";
  let description = [{
    A function that returns one tensor value twice, or returns one of its
    arguments, makes its results share a buffer after bufferization, which
    the C ABI (one out-parameter per result) cannot express: upstream's
    `buffer-results-to-out-params` fails on it. This pass copies every
    repeated result and every returned argument into a new tensor
    (`linalg.copy` into `tensor.empty`), so that each result is written by
    an op of its own. Calibration and report builds return a probe's
    value next to the model output it equals.

    ```mlir
    return %y, %y : tensor<4xf32>, tensor<4xf32>
    ```

    becomes

    ```mlir
    %e = tensor.empty() : tensor<4xf32>
    %c = linalg.copy ins(%y : tensor<4xf32>) outs(%e : tensor<4xf32>) -> tensor<4xf32>
    return %y, %c : tensor<4xf32>, tensor<4xf32>
    ```

    Run it after `eliminate-empty-tensors`, which would otherwise write the
    producer straight into the copy's destination and share the buffer
    again.
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect",
                           "::mlir::tensor::TensorDialect"];
}

def ExpandMathPass : Pass<"lattice-expand-math", "ModuleOp"> {
  let summary = "Expand math functions that LLVM would call per element";
  let description = [{
    Rewrites the `math` functions that have no LLVM intrinsic, or whose
    vector intrinsic LLVM's x86 backend scalarizes into a C library call per
    element, scalar or vector, into the polynomial approximations of
    upstream MLIR: `exp`, `erf`, `erfc`, `tanh`, `atan`, `atan2`, `asin`,
    `acos`, `cbrt`, `log1p`, `expm1`. The error is a few ulp over the whole
    float range (see MLIR's PolynomialApproximation.cpp); `exp` is within 1
    ulp where its result is a normal number, exact on infinities and NaN,
    and flushes results below 2^-126 to zero. Other math ops are left to
    `convert-math-to-llvm`.

    ```mlir
    %y = math.erf %x : vector<16xf32>
    ```

    becomes arithmetic, comparisons and selects on `vector<16xf32>`.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::vector::VectorDialect",
                           "::mlir::math::MathDialect"];
}

def ExternalizeWeightsPass
    : Pass<"lattice-externalize-weights", "ModuleOp"> {
  let summary = "Move the weights of the entry function into a weights file";
  let description = [{
    Every weight of the entry function (`entry`, or the only public
    function) becomes a trailing argument, and its tensor goes to
    `weights-file` (safetensors, tensors 64-byte aligned), written one at a
    time: `lattice.weight` ops (read from their files, relative to `dir`),
    quantized constants (the codes behind a `lattice.scast`, packed
    LSB-first in containers of 1, 2, 4 or 8 bits) and float constants in
    blobs (the weights that `lattice-load-weights` mapped; small `dense`
    constants stay in the code). Ops that read the same tensor share one
    argument. Constants are named after their location's name
    (`lattice-load-weights` and `lattice-quantize` set it), else
    `constant.<n>`.

    With `ukernel-vector-bits` (the target's vector width; 0: no
    microkernels), a weight whose every use is the rhs of a matmul that a
    microkernel covers is stored in that microkernel's layout
    (docs/WeightLayout.md), and its argument says so (`lattice.layout`).
    Each new argument carries `lattice.stored_weight = {name, dtype, shape}`
    (the tensor as stored), from which a driver writes the library's weight
    table. `lattice-compile` runs this pass before lowering.

    ```mlir
    func.func @model(%x: tensor<2x64xf32>) -> tensor<2x16xf32> {
      %w = lattice.weight "fc" from "model.safetensors" : tensor<16x64xf32>
      ...
    ```

    becomes

    ```mlir
    func.func @model(%x: tensor<2x64xf32>,
        %fc: tensor<16x64xf32> {lattice.stored_weight = {
            dtype = "F32", name = "fc", shape = array<i64: 16, 64>}})
        -> tensor<2x16xf32> {
    ```
  }];
  let options = [
    Option<"weightsFile", "weights-file", "std::string", /*default=*/"\"\"",
           "The safetensors file to write (required)">,
    Option<"dir", "dir", "std::string", /*default=*/"\"\"",
           "Folder that the lattice.weight ops' file names are relative to">,
    Option<"entry", "entry", "std::string", /*default=*/"\"\"",
           "The function whose weights move (default: the only public one)">,
    Option<"ukernelVectorBits", "ukernel-vector-bits", "unsigned",
           /*default=*/"0",
           "Store weights in the layouts of the microkernels for this vector "
           "width (0: linear layouts only)">,
  ];
}

//===----------------------------------------------------------------------===//
// CPU passes
//===----------------------------------------------------------------------===//


def CPUTileAndVectorizePass
    : Pass<"lattice-cpu-tile-and-vectorize", "func::FuncOp"> {
  let summary = "Tile linalg ops for threads and registers and vectorize them";
  let description = [{
    The CPU strategy for linalg on tensors, op by op:

    1. *Lane split.* A reduction whose innermost loop is an addition, or an
       IEEE maximum or minimum (`arith.maximumf`, `arith.minimumf`), over a
       static extent divisible by the vector width `L` is rewritten into a
       reduction into `L` partial results per output (the innermost loop
       becomes parallel; maxima start at -inf, minima at +inf) followed by a
       small reduction of the partial results. The hot loop then combines
       whole vectors and reduces horizontally once per output instead of
       once per step; floating-point sums are reassociated, maxima and
       minima are exact in any order.
    2. *Thread tiling.* When the op has enough work (its iterations times
       the cost of one: a unit per operand and per op of its body, eight
       per division or math function; 2^17 units or more, about what a
       fork and join of the threads costs; 2^19 when an op left on one
       thread wrote its largest input, which the other threads then read
       from the caller's cache), its largest parallel loop
       (other than the lanes) is tiled into `num-threads` chunks with
       `scf.forall`, fusing the `linalg.fill` of its destination.
    3. *Register tiling.* Inside, every linalg op is tiled with `scf.for` to
       a register block: `L` on the vector loop (the lanes, else the
       innermost loop), up to 4 on the innermost other parallel loop and on
       the outermost parallel loop of a reduction, 1 elsewhere. An
       elementwise op with a 32-bit operand read transposed (its contiguous
       dimension is another loop than the vector's, as when a pixel-major
       GEMM result goes back to NCHW) gets `L` on that loop too.
    4. *Vectorization* of each register tile with `linalg::vectorize`;
       partial tiles at the ends of odd extents are vectorized with masks.
       An op that cannot be vectorized stays a scalar loop nest (correct,
       slower) and is named in a remark. The `L x L` transposes of step 3
       are lowered to shuffles (`shuffle_16x16`) here, before later
       unrolling would fold their rows into element-wise extractions.
  }];
  let options = [
    Option<"vectorBits", "vector-bits", "unsigned", /*default=*/"256",
           "Width of the target's vector registers in bits (128, 256, 512)">,
    Option<"numThreads", "num-threads", "unsigned", /*default=*/"2",
           "Number of threads the parallel loops are divided among">,
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect",
    "::mlir::vector::VectorDialect",
  ];
}

def CPUFuseElementwisePass : Pass<"lattice-cpu-fuse-elementwise"> {
  let summary = "Fuse chains of elementwise linalg ops, except through broadcasts";
  let description = [{
    Upstream's `linalg-fuse-elementwise-ops` with one difference in what it
    fuses: a producer is not fused into a consumer that reads it through a
    broadcasting map (fewer results than loops, such as a per-row value read
    by every element of the row). Fused, the producer's body would run once
    per element of the consumer instead of once per element of its own
    result: the mean and root of a layer norm, or the scale of a per-row
    quantization, would cost a division and a square root per element. As
    upstream, the producer must have a single use; reshapes are folded by
    expansion, and constants folded, under the same rule.

    ```mlir
    %roots = linalg.generic {iterator_types = ["parallel"]}
        ins(%sums : tensor<8xf32>) outs(%e : tensor<8xf32>) { sqrt ... }
    %y = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>,
                                          affine_map<(d0, d1) -> (d0)>, ...]}
        ins(%x, %roots : tensor<8x64xf32>, tensor<8xf32>) ... { divf ... }
    ```

    stays two ops (8 square roots, not 512), where upstream's pass makes
    one.
  }];
  let dependentDialects = [
    "::mlir::affine::AffineDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::tensor::TensorDialect",
  ];
}

def CPUFuseUkernelEpiloguesPass
    : Pass<"lattice-cpu-fuse-ukernel-epilogues", "ModuleOp"> {
  let summary = "Fold a convolution's bias, residual and activation into "
                "its microkernel call";
  let description = [{
    A convolution or depthwise convolution that a microkernel computes
    (`lattice_uk_conv2d_f32` with an NCHW output, `lattice_uk_window2d_f32`)
    is followed in CNNs by an elementwise op that adds a bias per output
    channel (and a residual: ResNet's block outputs) and applies an
    activation: a pass of its own over the output, split over the threads
    otherwise than the kernel's, so that at two threads half of what it
    reads is in the other core's cache. The kernels
    apply that epilogue to their results in registers as they store them
    (LATTICE_UK_EPILOGUE_* in runtime/lattice_ukernels.h).

    The pass folds the `linalg.generic` that is the only user of the
    kernel's result into the call when its body is, in arith's ops, a bias
    (`addf` of a value that varies with the output channel only), then a
    residual (`addf` of a tensor of the result's shape), each optional and
    in that order, followed by nothing, ReLU (`maximumf` with +0), a clip
    (`maximumf` then `minimumf` with constants), HardSwish or HardSigmoid
    (`x * min(max(x * a + b, 0), 1)` and its second factor). The kernels
    compute the same values: each product and sum rounded on its own, IEEE
    maximum and minimum. Sums in another order, fast-math flags, or any
    other body leave the op as it is.

    ```mlir
    call @lattice_uk_conv2d_f32(%x, %w, %y, ..., %c0, %c0, %c0, %c0,
                                %nchw, %threads)
    %t = bufferization.to_tensor %alloc ... : tensor<1x16x8x8xf32>
    %r = linalg.generic ins(%t, %bias) ... { addf, maximumf 0.0 }
    ```

    becomes one call with the bias's address, LATTICE_UK_EPILOGUE_RELU, no
    parameters and no residual, whose result `%t` replaces `%r`.

    Paddings: when the op's result is inserted into a padding (a
    `tensor.insert_slice` into a `linalg.fill` of a fresh tensor, the next
    convolution's input as the ONNX importer pads it), the convolution
    kernel writes the padded buffer's interior itself: the pass fills a
    fresh padded tensor before the call, passes the address of its
    interior and the frame around the planes in the call's flags
    (LATTICE_UK_OUT_FRAME_*), and the padded tensor after the call replaces
    the insert's result (the op's other users read its interior). A
    residual that is the interior of a padded tensor (a slice of it, or a
    value inserted into it before the call) is read there, its frame in
    LATTICE_UK_RESIDUAL_FRAME_*. Frames cost the kernel nothing but on 1 x 1
    convolutions at stride 1 without padding: it computes some as the
    weight times the input, a path that takes no frames, and the others in
    runs of pixels across output rows, which it would store a row at a
    time. There, and for the window kernel, an op
    whose result goes into a padding stays, and bufferization makes it
    write the padded buffer's interior in place.

    Inputs: a convolution whose input is the interior of a padded tensor
    (a 1 x 1 convolution at stride 2 on a ResNet's downsampling path reads
    the padded input of the next 3 x 3 convolution) reads it in place: the
    padded buffer's address plus the interior's offset, with the padded
    planes' rows and columns as its input's, instead of a copy of the
    slice that bufferization would make. Not where the kernel computes the
    convolution as the weight times a dense input (1 x 1 at stride 1) or
    with Winograd's tiles, which read past the last window up to the
    input's edge.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::bufferization::BufferizationDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::memref::MemRefDialect",
    "::mlir::tensor::TensorDialect",
  ];
}

def CPUHoistPadDestinationsPass
    : Pass<"lattice-cpu-hoist-pad-destinations", "func::FuncOp"> {
  let summary = "Create padded buffers before the ops that fill their interior";
  let description = [{
    A padding (of a convolution's input, say) is a `tensor.insert_slice` of
    the value into a `linalg.fill` of a constant into a `tensor.empty`, all
    created after the value. Upstream's `eliminate-empty-tensors` can make
    the value's producer write straight into the padded buffer's interior,
    but only when that buffer is defined before the producer's own
    destination, which it is not: without this pass every padding is a copy
    of the whole tensor after bufferization (a strided `memref.copy`). And
    CSE merges the fills of equal paddings (the inputs of a CNN's
    convolutions of one size) into one tensor that every insertion then
    copies before writing into it.

    This pass gives each such insertion a padded buffer of its own, created
    just above the producer of the inserted value (a linalg op, or the
    `scf.forall` of a tiled one) when the producer is in the same block and
    the fill's value is defined before it: a `bufferization.alloc_tensor`,
    which CSE does not merge, and a fill of it. The old fill and empty
    tensor go when nothing else uses them. Nothing else moves, so buffers
    live no longer than the producer's.

    ```mlir
    %y = linalg.generic ... outs(%e : tensor<1x8x6x6xf32>)
    %p = tensor.empty() : tensor<1x8x8x8xf32>
    %z = linalg.fill ins(%zero : f32) outs(%p : tensor<1x8x8x8xf32>)
    %i = tensor.insert_slice %y into %z[0, 0, 1, 1] [1, 8, 6, 6] [1, 1, 1, 1]
    ```

    becomes

    ```mlir
    %p = bufferization.alloc_tensor() : tensor<1x8x8x8xf32>
    %z = linalg.fill ins(%zero : f32) outs(%p : tensor<1x8x8x8xf32>)
    %y = linalg.generic ... outs(%e : tensor<1x8x6x6xf32>)
    %i = tensor.insert_slice %y into %z[0, 0, 1, 1] [1, 8, 6, 6] [1, 1, 1, 1]
    ```
  }];
  let dependentDialects = [
    "::mlir::bufferization::BufferizationDialect",
  ];
}

def CPUPlanWorkspacePass : Pass<"lattice-cpu-plan-workspace", "ModuleOp"> {
  let summary = "Place a function's temporary buffers in one workspace";
  let description = [{
    Static memory planning after bufferization. Every `memref.alloc` in the
    top-level block of a function body with a static shape, an identity
    layout, the default memory space and whole-byte elements becomes a
    `memref.view` at a fixed offset of one `memref<Nxi8>` workspace. A
    buffer lives from its allocation to the last top-level op that uses it
    or anything computed from it (views, extracted addresses, the results
    of a loop whose body uses it); a buffer that a function returns stays an
    allocation. Buffers are placed largest first, each at the lowest offset
    (a multiple of 64 bytes) free of the buffers already placed whose
    lifetimes overlap its own, the greedy-by-size plan of TFLite's arena
    planner. The function gets `lattice.workspace_bytes = N`.

    With `argument`, a public function without callers in the module takes
    the workspace as a new trailing argument marked `lattice.workspace`: the
    runtime of a compiled model allocates it once, when the model loads, so
    that a call neither allocates nor faults pages in. Otherwise the
    workspace is one allocation at the start of the function (one `malloc`
    per call instead of one per temporary), freed by the deallocation
    pipeline that runs next.

    ```mlir
    %a = memref.alloc() {alignment = 64 : i64} : memref<64x128xf32>
    ```

    becomes

    ```mlir
    %c0 = arith.constant 0 : index
    %a = memref.view %workspace[%c0][] : memref<32768xi8> to memref<64x128xf32>
    ```
  }];
  let options = [
    Option<"argument", "argument", "bool", /*default=*/"false",
           "Take the workspace as a trailing argument of public functions">,
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::memref::MemRefDialect"];
}

def CPUOutlineParallelPass
    : Pass<"lattice-cpu-outline-parallel", "ModuleOp"> {
  let summary = "Run parallel loops on the Lattice runtime's thread pool";
  let description = [{
    Rewrites each `omp.parallel` whose body is one `omp.wsloop` over a
    single `omp.loop_nest` with an exclusive bound and no clauses (the form
    `convert-scf-to-openmp` gives a parallel loop without reductions), in
    the LLVM dialect, into a call of the runtime's
    `lattice_parallel_for(body, context, lower, upper, step)`
    (`runtime/lattice_threads.h`):

    - the loop becomes an internal function `body(context, begin, end)`
      that runs the iterations `begin, begin + step, ... < end`;
    - the values it uses from outside are stored in a struct on the
      caller's stack (one slot per call site, in the entry block) and
      loaded back in `body`; constants and global addresses are repeated
      in `body` instead.

    The pool runs each iteration on whichever of its threads claims it
    first, the caller included, and returns when all have run: unlike an
    OpenMP team, it does not wait for a thread that never started (one
    that the OS has descheduled in favour of another process), and its
    idle threads sleep after a short spin. Other OpenMP constructs are
    left to the OpenMP runtime. Only for code linked with the Lattice
    runtime: `lattice-lower-to-cpu` adds it with `thread-pool=true`, which
    `lattice-compile` sets.

    ```mlir
    omp.parallel {
      omp.wsloop {
        omp.loop_nest (%i) : i64 = (%c0) to (%c64) step (%c32) {
          ... %buffer ...
          omp.yield
        }
      }
      omp.terminator
    }
    ```

    becomes a store of `%buffer` into a stack slot and
    `llvm.call @lattice_parallel_for(@f..par0, %slot, %c0, %c64, %c32)`.
  }];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect"];
}

def CPUFuseMultiplyAddPass
    : Pass<"lattice-cpu-fuse-multiply-add", "func::FuncOp"> {
  let summary = "Turn reductions of contractible products into vector.fma";
  let description = [{
    Rewrites `vector.multi_reduction <add>` of an `arith.mulf` that carries
    the `contract` fast-math flag and has no other use, over dimensions that leave the innermost
    one alone (the lane-parallel accumulations that tiling and vectorizing
    a matmul produce), into one `vector.fma` per reduced position, in
    row-major order. The float path of `lattice.matmul` marks its products
    `contract`; `vector.multi_reduction` has no fast-math flags of its own,
    so without this pass its lowering leaves separate multiplications and
    additions. Runs before `vector.multi_reduction` is lowered.

    ```mlir
    %p = arith.mulf %a, %b fastmath<contract> : vector<2x16xf32>
    %r = vector.multi_reduction <add>, %p, %acc [0] : vector<2x16xf32> to vector<16xf32>
    ```

    becomes two `vector.fma` on `%a[0], %b[0]` and `%a[1], %b[1]`.
  }];
  let dependentDialects = ["::mlir::vector::VectorDialect"];
}

def CPUUseUkernelsPass : Pass<"lattice-cpu-use-ukernels", "ModuleOp"> {
  let summary = "Call the runtime's microkernels for the ops they cover";
  let description = [{
    Rewrites `lattice.matmul` ops with static shapes and an f32 result into
    calls of the runtime's microkernels (declared in
    `runtime/lattice_ukernels.h` and linked into every library that
    `lattice-compile` makes):

    - `lattice_uk_gemm_f32`, packed GEMM: f32 activations `[..., K]` with at
      least 8 rows (the product of the leading dimensions) and f32 weights
      `[N, K]`, on targets with 256-bit vectors or wider. The kernel packs
      the weights into panels of 32 columns once per call and thread, and
      multiplies them with register tiles of 12 x 32 (AVX-512) or 6 x 16
      (AVX2) accumulators. A weight argument that the driver stored in the
      panels (`lattice.layout = "f32-panels32"`) takes the kernel with any
      number of rows: it has nothing to pack (a recurrent cell's GEMV).
    - `lattice_uk_conv2d_f32`: the same for a matmul whose lhs is the
      im2col matrix of a 2-D convolution (the collapse of a copy
      `patches[n, oh, ow, c, i, j] = x[n, c, oh * sh + i * dh, ow * sw +
      j * dw]`, as the ONNX importer writes convolutions): the kernel's
      tiles read the matrix in place from `x` instead of a copy of it, and
      the copy loses its last user. When the result goes, through
      elementwise ops alone, to the importer's transpose to NCHW, the
      kernel writes NCHW (flag `LATTICE_UK_OUT_NCHW`) and a transposing
      copy gives the matmul's pixel-major result back, which elementwise
      fusion cancels against the importer's transpose. A weight that the
      driver stored transformed for Winograd's F(2 x 2, 3 x 3) (layout
      `f32-winograd2x2`, for the 3 x 3 stride-1 convolutions that
      `lattice_uk_conv2d_f32_winograd` names) gets flag
      `LATTICE_UK_B_WINOGRAD`.
    - `lattice_uk_gemm_f32` also takes the batched f32 contractions of
      linalg (`linalg.generic` with one M, N and K loop, batch loops whose
      strides linearize, a zero-filled destination: the products of
      attention) with at least 8 rows. Its operands are read in place
      through static slices, reshapes and transposes (`linalg.generic`
      copies through a permutation), where the kernel takes the strides (A
      along K and C along N with unit stride): the heads of attention where
      the projection wrote them, and a result that only a transpose reads
      is written where that transpose would put it, in its place.
    - `lattice_uk_window2d_f32`: the `linalg.generic` ops that slide a
      window over the channels of a static f32 NCHW tensor, as the ONNX
      importer writes them: grouped and depthwise convolutions (`y[n, g, m,
      oh, ow] += x[n, g, c, oh * sh + i * dh, ow * sw + j * dw] * w[g, m, c,
      i, j]` into a zero fill) and max and sum pooling (`y[n, c, oh, ow] =
      max|+ x[n, c, oh * sh + i * dh, ow * sw + j * dw]` into a fill of
      -inf or 0), and sums or maxima over whole planes written as
      reductions (`[N, C, H, W]` to `[N, C]`: global pooling), on targets
      with 256-bit vectors or wider. The kernel
      computes 16 output pixels of a row per vector, several rows at once,
      reading each channel's plane in place. An input that is a padding
      (`tensor.insert_slice` of whole images and channels into a
      `linalg.fill` of a fresh tensor) of the value the reduction starts
      from (-inf for max pooling, +0 otherwise) is read without it: the
      kernel takes the padding's rows above and columns left in its `kind`
      (LATTICE_UK_WINDOW_PAD_*) and reads that value outside the input, so
      that the padded tensor is neither filled nor written.
    - `lattice_uk_gemm_f32_q4`: the same for 4-bit weights (`s4`, or `u4`
      with or without zero points) in groups of an even size along K with
      f16 or f32 scales, and more than 16 rows: each weight is dequantized
      once per call, while packing, instead of once per row.
    - `lattice_uk_gemm_s8`: 8-bit activations (`s8` or `u8`, per tensor or
      per row of a matrix, with or without `i8` zero points, f32 scales)
      times symmetric `s8` weights per output channel (f32 or f16 scales),
      summed in `i32` with AVX512-VNNI (`vpdpbusd`) where the CPU has it;
      the epilogue `f32(sum) * sa * sw` is the op's.
    - `lattice_uk_conv2d_s8`: the same for a matmul whose lhs is the
      per-tensor quantization (half to even, with the matmul's own scale
      and zero point) of an im2col matrix as above, possibly multiplied by
      column scales first (`lattice.channel_scale` on axis 1, which
      SmoothQuant writes): the kernel gathers, scales and quantizes the
      matrix a block of rows at a time, vectorized along the pixels of an
      output row, with the arithmetic of the ops it replaces.
    - `lattice_uk_matmul_f32_q4`, the W4A16 GEMV: f32 activations `[M, K]`
      with M <= 16 and 4-bit weights in groups of a multiple of 32, on
      AVX-512 targets. It splits the activations by parity once, so that
      the low and high nibbles of each byte of the packed weights pair with
      even and odd activations, and dequantizes a nibble with one lane
      permutation of a per-group table of `(code - zero point) * scale`
      values. A weight that is a function argument with
      `lattice.layout = "q4-rows4"` (set by `lattice-compile`, which then
      stores it with rows interleaved by four, see docs/WeightLayout.md) is
      read in that layout; the attribute is removed.

    The operands are passed by the addresses of their buffers
    (`bufferization.to_buffer` + `memref.extract_aligned_pointer_as_index`)
    and the result is a fresh buffer turned back into a tensor. Each kernel
    chooses its vector level (portable C, AVX2, AVX-512) from the CPU it
    runs on and divides its work among up to `num-threads` threads of the
    runtime's pool (at most the call's thread count). Other ops are left alone; runs before
    `convert-lattice-to-linalg`, which finishes the conversion of the
    operands' types. Only for models linked with the Lattice runtime:
    `lattice-lower-to-cpu` adds it with `ukernels=true`, which
    `lattice-compile` sets for targets with 256-bit vectors or wider.
  }];
  let options = [
    Option<"numThreads", "num-threads", "int64_t", /*default=*/"1",
           "Threads the microkernels may use">,
    Option<"vectorBits", "vector-bits", "unsigned", /*default=*/"512",
           "Vector width of the target in bits: the GEMMs need 256, the "
           "W4A16 GEMV 512">,
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::bufferization::BufferizationDialect",
    "::mlir::func::FuncDialect",
    "::mlir::memref::MemRefDialect",
  ];
}

//===----------------------------------------------------------------------===//
// GPU passes
//===----------------------------------------------------------------------===//

def GPUDistributePass : Pass<"lattice-gpu-distribute", "func::FuncOp"> {
  let summary = "Turn each linalg op on buffers into a GPU kernel";
  let description = [{
    Replaces every linalg op of a bufferized function (named ops are first
    written as `linalg.generic`, `memref.copy` as `linalg.copy`) by a
    `gpu.launch` of one-dimensional blocks of `block-size` threads whose
    body evaluates the op's payload, in one of two shapes:

    - *Warp per output.* A reduction whose payload combines each output
      with one associative operator of its own (`out = out + f(ins)`, or
      max, min, ...: the ops `arith::getNeutralElement` knows), on `f32` or
      `i32`, with at least 32 reduced elements. The 32 lanes of a warp share
      one output: lane `l` evaluates chunks `l, l + 32, ...` of `c`
      consecutive elements of the innermost reduction loop (`c` is the
      largest power of two up to `max-chunk` dividing its extent), so that a
      warp reads rows of a `[N, K]` weight in contiguous spans and the
      payload (dequantization included) runs in registers; the lanes' partial
      results meet in a butterfly of `gpu.shuffle xor` and lane 0 combines
      the totals with the outputs' initial values. Matmuls with quantized
      weights (GEMV and small-M GEMM), the sums of norms, the maxima and
      sums of softmax and the minimum and maximum of a dynamic quantization
      take this shape. An input read at unit stride along that loop (a
      weight row, the activations) is read as one `vector.load` per chunk,
      aligned to the chunk's size up to 16 bytes: kernel buffers must be
      16-byte aligned, as CUDA's allocations are. A dot product of bytes
      (`out + ext(a) * ext(b)`, `a` and `b` i8, `out` i32: W8A8 matmuls)
      becomes one `nvvm.dot.accumulate.4way` (dp4a) per four elements when
      `dot-products` is set.
    - *Thread per output.* Every other op: consecutive threads take
      consecutive output elements (the innermost parallel loop varies
      fastest), reductions run as sequential loops in the thread.

    Both walk their outputs with a grid-stride loop over a grid of at most
    65535 blocks. After the rewrite no buffer is read or written outside a
    kernel; an op that would (a `memref.load` in host code, for example) is
    an error, as is a linalg op without a generic form.

    ```mlir
    linalg.generic {iterator_types = ["parallel", "reduction"], ...}
        ins(%x, %w : memref<64xf32>, memref<128x64xi4>) outs(%y : memref<128xf32>)
    ```

    becomes a `gpu.launch` of 16 blocks of 256 threads (8 warps each, one
    output per warp): the 64 reduced elements are 4 chunks of 16, so lanes
    0 to 3 each read 16 activations and 16 codes (8 bytes) in two vector
    loads and sum them, and the other lanes contribute the identity.
  }];
  let options = [
    Option<"blockSize", "block-size", "unsigned", /*default=*/"256",
           "Threads per block (a multiple of 32, at most 1024)">,
    Option<"maxChunk", "max-chunk", "unsigned", /*default=*/"16",
           "Most consecutive reduction elements a lane handles per step">,
    Option<"dotProducts", "dot-products", "bool", /*default=*/"true",
           "Dot products of bytes as dp4a (sm_61 and newer)">,
  ];
  let dependentDialects = [
    "::mlir::affine::AffineDialect",
    "::mlir::arith::ArithDialect",
    "::mlir::gpu::GPUDialect",
    "::mlir::memref::MemRefDialect",
    "::mlir::NVVM::NVVMDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::ub::UBDialect",
    "::mlir::vector::VectorDialect",
  ];
}

def GPUAllocateOnDevicePass
    : Pass<"lattice-gpu-allocate-on-device", "ModuleOp"> {
  let summary = "Put the buffers of host code in device memory";
  let description = [{
    Runs after `lattice-gpu-distribute`, when kernels do all the reading
    and writing of buffers, and makes host code hand them device memory:

    - `memref.alloc` and `memref.dealloc` outside kernels become
      `gpu.alloc` and `gpu.dealloc`; a `memref.alloca` read by a kernel is
      an error;
    - a `memref.get_global` whose buffer a kernel reads is cloned into the
      kernel, so that `gpu-kernel-outlining` copies the global into the GPU
      module, and the global is aligned to 16 bytes at least (kernels read
      buffers in aligned vectors);
    - a call to an external function (host code, such as the runtime's
      `printMemrefF32`) is passed host copies (`gpu.memcpy`) of its buffer
      operands, freed after the call; what the callee writes to them is not
      copied back.

    Function arguments are taken to be device memory: the caller (the
    runtime of a compiled model) passes device buffers.
  }];
  let dependentDialects = ["::mlir::gpu::GPUDialect",
                           "::mlir::memref::MemRefDialect"];
}

def GPUExactMathPass : Pass<"lattice-gpu-exact-math", "::mlir::gpu::GPUModuleOp"> {
  let summary = "Correctly rounded square roots in kernels, as on the CPU";
  let description = [{
    `convert-gpu-to-nvvm` lowers `math.sqrt` and `math.rsqrt` on f32 to
    libdevice's `__nv_sqrtf` and `__nv_rsqrtf`, which are `sqrt.approx`
    and `rsqrt.approx` unless the `__CUDA_PREC_SQRT` reflection is set, and
    MLIR does not set it. The CPU computes a correctly rounded square root,
    and a norm's result that differs in its last bit moves a quantized
    activation by one step where its quotient lies near a half: the GPU
    would no longer give the CPU's codes. This pass, on the kernels' module
    before `convert-gpu-to-nvvm`, rewrites `math.sqrt` on f32 and f64
    (scalars, and 1-D vectors element by element) into NVVM's `sqrt.rn`
    intrinsic, and `math.rsqrt` into 1 / `sqrt.rn` (`div.rn`), which is
    what the CPU's `convert-math-to-llvm` computes. (convert-gpu-to-nvvm
    turns `llvm.intr.sqrt` into libdevice's call as well.)

    ```mlir
    %r = math.sqrt %x : f32
    ```

    becomes `%r = llvm.call_intrinsic "llvm.nvvm.sqrt.rn.f"(%x) : (f32) -> f32`.
  }];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::vector::VectorDialect"];
}

#endif // LATTICE_CODEGEN_PASSES_TD
