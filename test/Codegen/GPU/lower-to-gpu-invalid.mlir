// RUN: not lattice-opt %s --lattice-lower-to-gpu="chip=gfx90a" 2>&1 \
// RUN:   | FileCheck %s --check-prefix=CHIP
// RUN: not lattice-opt %s --lattice-lower-to-gpu="format=ptx" 2>&1 \
// RUN:   | FileCheck %s --check-prefix=FORMAT
// RUN: not lattice-opt %s --lattice-lower-to-gpu="opt-level=4" 2>&1 \
// RUN:   | FileCheck %s --check-prefix=OPT
// RUN: not lattice-opt %s --lattice-lower-to-gpu="block-size=1000" 2>&1 \
// RUN:   | FileCheck %s --check-prefix=BLOCK
// RUN: not lattice-opt %s --lattice-lower-to-gpu="cuda-path=%t.none" 2>&1 \
// RUN:   | FileCheck %s --check-prefix=TOOLKIT

// CHIP: lattice-lower-to-gpu: unknown chip 'gfx90a' (expected an NVIDIA architecture such as sm_80 or sm_90a)
// FORMAT: lattice-lower-to-gpu: unknown format 'ptx' (expected isa, bin or fatbin)
// OPT: lattice-lower-to-gpu: opt-level must be 0 to 3, not 4
// BLOCK: lattice-lower-to-gpu: block-size must be a multiple of 32 between 32 and 1024, not 1000
// TOOLKIT: lattice-lower-to-gpu: no CUDA toolkit at '{{.*}}.none' (its nvvm/libdevice is missing); set cuda-path or CUDA_HOME

func.func @f(%x: tensor<4xf32>) -> tensor<4xf32> {
  %y = arith.addf %x, %x : tensor<4xf32>
  return %y : tensor<4xf32>
}
