// RUN: lattice-opt %s --lattice-lower-to-cpu="vector-bits=512 num-threads=2 bare-pointer-abi" \
// RUN:   | FileCheck %s
// RUN: lattice-opt %s --lattice-lower-to-cpu="target-cpu=x86-64 num-threads=2" \
// RUN:   | FileCheck %s --check-prefix=SSE

// A W4A16 GEMV (4-bit weights in groups of 32, f16 scales; large enough to
// be worth threads) lowers to LLVM with no lattice op left: one OpenMP
// parallel loop over the output rows, and a hot loop that reads packed bytes
// and works on whole vectors.

// CHECK-LABEL: llvm.func @gemv
// CHECK-SAME:    (%{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr)
// CHECK-NOT:   = lattice.
// CHECK:       omp.parallel
// CHECK:       omp.wsloop
// The packed codes: 8 bytes hold 16 codes, unpacked with vector shifts.
// CHECK:       llvm.load %{{.*}} : !llvm.ptr -> vector<8xi8>
// CHECK:       llvm.ashr %{{.*}} : vector<8xi8>
// CHECK:       llvm.sitofp %{{.*}} : vector<16xi{{[0-9]+}}> to vector<16xf32>
// Dequantization (code times scale), then one fused multiply-add per vector.
// CHECK:       llvm.fmul %{{.*}} : vector<16xf32>
// CHECK:       llvm.intr.fmuladd(%{{.*}}, %{{.*}}, %{{.*}}) : (vector<16xf32>, vector<16xf32>, vector<16xf32>) -> vector<16xf32>
// CHECK-NOT:   = lattice.

// The portable target uses 4-lane vectors.
// SSE-LABEL:   llvm.func @gemv
// SSE:         llvm.fmul %{{.*}} : vector<4xf32>
func.func @gemv(%x: tensor<1x512xf32>,
                %w: tensor<256x512x!lattice.quant<s4, f16, group<1, 32>>>,
                %s: tensor<256x16xf16>) -> tensor<1x256xf32> {
  %y = lattice.matmul %x, %w rhs_scale(%s) accumulate(f32)
      : (tensor<1x512xf32>, tensor<256x512x!lattice.quant<s4, f16, group<1, 32>>>,
         tensor<256x16xf16>) -> tensor<1x256xf32>
  return %y : tensor<1x256xf32>
}
