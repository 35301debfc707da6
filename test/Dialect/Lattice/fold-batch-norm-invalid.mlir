// RUN: lattice-opt %s --lattice-fold-batch-norm -verify-diagnostics

#id = affine_map<(d0, d1) -> (d0, d1)>
#col = affine_map<(d0, d1) -> (d1)>

/// A weight that folds must load: a missing file is an error naming it.
func.func @missing_file(%x: tensor<3x2xf32>) -> tensor<3x2xf32> {
  // expected-error @below {{cannot load weight 'fc': }}
  %w = lattice.weight "fc" from "absent.safetensors" : tensor<2x2xf32>
  %y = lattice.matmul %x, %w accumulate(f32) : (tensor<3x2xf32>, tensor<2x2xf32>) -> tensor<3x2xf32>
  %a = arith.constant dense<[2.0, -0.5]> : tensor<2xf32>
  %e = tensor.empty() : tensor<3x2xf32>
  %z = linalg.generic {indexing_maps = [#id, #col, #id], iterator_types = ["parallel", "parallel"]}
      ins(%y, %a : tensor<3x2xf32>, tensor<2xf32>) outs(%e : tensor<3x2xf32>) {
  ^bb0(%v: f32, %s: f32, %o: f32):
    %r = arith.mulf %v, %s : f32
    linalg.yield %r : f32
  } -> tensor<3x2xf32>
  return %z : tensor<3x2xf32>
}
