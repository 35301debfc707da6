// RUN: lattice-opt %s --lattice-raise-norms | FileCheck %s

// Norms spelled out as the ONNX importer writes exported graphs: one
// linalg.generic per ONNX op, reductions with keepdims as reshapes.

#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#col = affine_map<(d0, d1) -> (d1)>
#scalar = affine_map<(d0, d1) -> ()>
#id1 = affine_map<(d0) -> (d0)>

/// x * (1 / sqrt(mean(x^2) + eps)) * g, as PyTorch exports RMSNorm (the
/// mean kept as [4, 1]): one lattice.rms_norm with the gain.
// CHECK-LABEL: func.func @rms_norm_reciprocal
// CHECK-SAME: (%[[X:.*]]: tensor<4x8xf32>)
// CHECK-NOT: linalg.generic
// CHECK: %[[G:.*]] = arith.constant dense<[1.000000e+00, 2.000000e+00, {{.*}}]> : tensor<8xf32>
// CHECK-NOT: linalg.generic
// CHECK: %[[N:.*]] = lattice.rms_norm %[[X]], %[[G]] {epsilon = 9.99999974E-6 : f32}
// CHECK-NEXT: return %[[N]]
func.func @rms_norm_reciprocal(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %ms_sq_e = tensor.empty() : tensor<4x8xf32>
  %ms_sq = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<4x8xf32>) outs(%ms_sq_e : tensor<4x8xf32>) {
  ^bb0(%b0: f32, %o: f32):
    %r = arith.mulf %b0, %b0 : f32
    linalg.yield %r : f32
  } -> tensor<4x8xf32>
  %ms_sum_e = tensor.empty() : tensor<4xf32>
  %ms_sum_z = arith.constant 0.0 : f32
  %ms_sum_i = linalg.fill ins(%ms_sum_z : f32) outs(%ms_sum_e : tensor<4xf32>) -> tensor<4xf32>
  %ms_sum = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%ms_sq : tensor<4x8xf32>) outs(%ms_sum_i : tensor<4xf32>) {
  ^bb0(%b0: f32, %o: f32):
    %r = arith.addf %b0, %o : f32
    linalg.yield %r : f32
  } -> tensor<4xf32>
  %ms_mean_e = tensor.empty() : tensor<4xf32>
  %ms_mean = linalg.generic {indexing_maps = [#id1, #id1], iterator_types = ["parallel"]}
      ins(%ms_sum : tensor<4xf32>) outs(%ms_mean_e : tensor<4xf32>) {
  ^bb0(%b0: f32, %o: f32):
    %c = arith.constant 1.250000e-01 : f32
    %r = arith.mulf %b0, %c : f32
    linalg.yield %r : f32
  } -> tensor<4xf32>
  %den_k = tensor.expand_shape %ms_mean [[0, 1]] output_shape [4, 1] : tensor<4xf32> into tensor<4x1xf32>
  %den_eps = arith.constant dense<1.000000e-05> : tensor<f32>
  %den_plus_e = tensor.empty() : tensor<4x1xf32>
  %den_plus = linalg.generic {indexing_maps = [#id, #scalar, #id], iterator_types = ["parallel", "parallel"]}
      ins(%den_k, %den_eps : tensor<4x1xf32>, tensor<f32>) outs(%den_plus_e : tensor<4x1xf32>) {
  ^bb0(%b0: f32, %b1: f32, %o: f32):
    %r = arith.addf %b0, %b1 : f32
    linalg.yield %r : f32
  } -> tensor<4x1xf32>
  %den_sqrt_e = tensor.empty() : tensor<4x1xf32>
  %den_sqrt = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%den_plus : tensor<4x1xf32>) outs(%den_sqrt_e : tensor<4x1xf32>) {
  ^bb0(%b0: f32, %o: f32):
    %r = math.sqrt %b0 : f32
    linalg.yield %r : f32
  } -> tensor<4x1xf32>
  %inv_e = tensor.empty() : tensor<4x1xf32>
  %inv = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%den_sqrt : tensor<4x1xf32>) outs(%inv_e : tensor<4x1xf32>) {
  ^bb0(%b0: f32, %o: f32):
    %one = arith.constant 1.0 : f32
    %r = arith.divf %one, %b0 : f32
    linalg.yield %r : f32
  } -> tensor<4x1xf32>
  %inv_rows = tensor.collapse_shape %inv [[0, 1]] : tensor<4x1xf32> into tensor<4xf32>
  %core_e = tensor.empty() : tensor<4x8xf32>
  %core = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %inv_rows : tensor<4x8xf32>, tensor<4xf32>) outs(%core_e : tensor<4x8xf32>) {
  ^bb0(%b0: f32, %b1: f32, %o: f32):
    %r = arith.mulf %b0, %b1 : f32
    linalg.yield %r : f32
  } -> tensor<4x8xf32>
  %y_c = arith.constant dense<[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]> : tensor<8xf32>
  %y_e = tensor.empty() : tensor<4x8xf32>
  %y = linalg.generic {indexing_maps = [#id, #col, #id], iterator_types = ["parallel", "parallel"]}
      ins(%core, %y_c : tensor<4x8xf32>, tensor<8xf32>) outs(%y_e : tensor<4x8xf32>) {
  ^bb0(%b0: f32, %b1: f32, %o: f32):
    %r = arith.mulf %b0, %b1 : f32
    linalg.yield %r : f32
  } -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

/// x / sqrt(mean(x^2) + eps) without a gain: a gain of ones.
// CHECK-LABEL: func.func @rms_norm_div
// CHECK-SAME: (%[[X:.*]]: tensor<4x8xf32>)
// CHECK: %[[ONES:.*]] = arith.constant dense<1.000000e+00> : tensor<8xf32>
// CHECK: %[[N:.*]] = lattice.rms_norm %[[X]], %[[ONES]] {epsilon = 1.000000e-03 : f32}
// CHECK-NEXT: return %[[N]]
func.func @rms_norm_div(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %ms_sq_e = tensor.empty() : tensor<4x8xf32>
  %ms_sq = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<4x8xf32>) outs(%ms_sq_e : tensor<4x8xf32>) {
  ^bb0(%b0: f32, %o: f32):
    %r = arith.mulf %b0, %b0 : f32
    linalg.yield %r : f32
  } -> tensor<4x8xf32>
  %ms_sum_e = tensor.empty() : tensor<4xf32>
  %ms_sum_z = arith.constant 0.0 : f32
  %ms_sum_i = linalg.fill ins(%ms_sum_z : f32) outs(%ms_sum_e : tensor<4xf32>) -> tensor<4xf32>
  %ms_sum = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%ms_sq : tensor<4x8xf32>) outs(%ms_sum_i : tensor<4xf32>) {
  ^bb0(%b0: f32, %o: f32):
    %r = arith.addf %b0, %o : f32
    linalg.yield %r : f32
  } -> tensor<4xf32>
  %ms_mean_e = tensor.empty() : tensor<4xf32>
  %ms_mean = linalg.generic {indexing_maps = [#id1, #id1], iterator_types = ["parallel"]}
      ins(%ms_sum : tensor<4xf32>) outs(%ms_mean_e : tensor<4xf32>) {
  ^bb0(%b0: f32, %o: f32):
    %c = arith.constant 1.250000e-01 : f32
    %r = arith.mulf %b0, %c : f32
    linalg.yield %r : f32
  } -> tensor<4xf32>
  %den_k = tensor.expand_shape %ms_mean [[0, 1]] output_shape [4, 1] : tensor<4xf32> into tensor<4x1xf32>
  %den_eps = arith.constant dense<1.000000e-03> : tensor<f32>
  %den_plus_e = tensor.empty() : tensor<4x1xf32>
  %den_plus = linalg.generic {indexing_maps = [#id, #scalar, #id], iterator_types = ["parallel", "parallel"]}
      ins(%den_k, %den_eps : tensor<4x1xf32>, tensor<f32>) outs(%den_plus_e : tensor<4x1xf32>) {
  ^bb0(%b0: f32, %b1: f32, %o: f32):
    %r = arith.addf %b0, %b1 : f32
    linalg.yield %r : f32
  } -> tensor<4x1xf32>
  %den_sqrt_e = tensor.empty() : tensor<4x1xf32>
  %den_sqrt = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%den_plus : tensor<4x1xf32>) outs(%den_sqrt_e : tensor<4x1xf32>) {
  ^bb0(%b0: f32, %o: f32):
    %r = math.sqrt %b0 : f32
    linalg.yield %r : f32
  } -> tensor<4x1xf32>
  %den_rows = tensor.collapse_shape %den_sqrt [[0, 1]] : tensor<4x1xf32> into tensor<4xf32>
  %y_e = tensor.empty() : tensor<4x8xf32>
  %y = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %den_rows : tensor<4x8xf32>, tensor<4xf32>) outs(%y_e : tensor<4x8xf32>) {
  ^bb0(%b0: f32, %b1: f32, %o: f32):
    %r = arith.divf %b0, %b1 : f32
    linalg.yield %r : f32
  } -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

/// The sum times 1/4 is not the mean of 8 elements: nothing is raised.
// CHECK-LABEL: func.func @wrong_mean_factor
// CHECK-NOT: lattice.rms_norm
// CHECK: return
func.func @wrong_mean_factor(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %ms_sq_e = tensor.empty() : tensor<4x8xf32>
  %ms_sq = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<4x8xf32>) outs(%ms_sq_e : tensor<4x8xf32>) {
  ^bb0(%b0: f32, %o: f32):
    %r = arith.mulf %b0, %b0 : f32
    linalg.yield %r : f32
  } -> tensor<4x8xf32>
  %ms_sum_e = tensor.empty() : tensor<4xf32>
  %ms_sum_z = arith.constant 0.0 : f32
  %ms_sum_i = linalg.fill ins(%ms_sum_z : f32) outs(%ms_sum_e : tensor<4xf32>) -> tensor<4xf32>
  %ms_sum = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%ms_sq : tensor<4x8xf32>) outs(%ms_sum_i : tensor<4xf32>) {
  ^bb0(%b0: f32, %o: f32):
    %r = arith.addf %b0, %o : f32
    linalg.yield %r : f32
  } -> tensor<4xf32>
  %ms_mean_e = tensor.empty() : tensor<4xf32>
  %ms_mean = linalg.generic {indexing_maps = [#id1, #id1], iterator_types = ["parallel"]}
      ins(%ms_sum : tensor<4xf32>) outs(%ms_mean_e : tensor<4xf32>) {
  ^bb0(%b0: f32, %o: f32):
    %c = arith.constant 2.500000e-01 : f32
    %r = arith.mulf %b0, %c : f32
    linalg.yield %r : f32
  } -> tensor<4xf32>
  %den_k = tensor.expand_shape %ms_mean [[0, 1]] output_shape [4, 1] : tensor<4xf32> into tensor<4x1xf32>
  %den_eps = arith.constant dense<1.000000e-03> : tensor<f32>
  %den_plus_e = tensor.empty() : tensor<4x1xf32>
  %den_plus = linalg.generic {indexing_maps = [#id, #scalar, #id], iterator_types = ["parallel", "parallel"]}
      ins(%den_k, %den_eps : tensor<4x1xf32>, tensor<f32>) outs(%den_plus_e : tensor<4x1xf32>) {
  ^bb0(%b0: f32, %b1: f32, %o: f32):
    %r = arith.addf %b0, %b1 : f32
    linalg.yield %r : f32
  } -> tensor<4x1xf32>
  %den_sqrt_e = tensor.empty() : tensor<4x1xf32>
  %den_sqrt = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%den_plus : tensor<4x1xf32>) outs(%den_sqrt_e : tensor<4x1xf32>) {
  ^bb0(%b0: f32, %o: f32):
    %r = math.sqrt %b0 : f32
    linalg.yield %r : f32
  } -> tensor<4x1xf32>
  %den_rows = tensor.collapse_shape %den_sqrt [[0, 1]] : tensor<4x1xf32> into tensor<4xf32>
  %y_e = tensor.empty() : tensor<4x8xf32>
  %y = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %den_rows : tensor<4x8xf32>, tensor<4xf32>) outs(%y_e : tensor<4x8xf32>) {
  ^bb0(%b0: f32, %b1: f32, %o: f32):
    %r = arith.divf %b0, %b1 : f32
    linalg.yield %r : f32
  } -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

/// eps = 0 is no norm's epsilon (the ops need a positive one).
// CHECK-LABEL: func.func @zero_epsilon
// CHECK-NOT: lattice.rms_norm
// CHECK: return
func.func @zero_epsilon(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %ms_sq_e = tensor.empty() : tensor<4x8xf32>
  %ms_sq = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<4x8xf32>) outs(%ms_sq_e : tensor<4x8xf32>) {
  ^bb0(%b0: f32, %o: f32):
    %r = arith.mulf %b0, %b0 : f32
    linalg.yield %r : f32
  } -> tensor<4x8xf32>
  %ms_sum_e = tensor.empty() : tensor<4xf32>
  %ms_sum_z = arith.constant 0.0 : f32
  %ms_sum_i = linalg.fill ins(%ms_sum_z : f32) outs(%ms_sum_e : tensor<4xf32>) -> tensor<4xf32>
  %ms_sum = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%ms_sq : tensor<4x8xf32>) outs(%ms_sum_i : tensor<4xf32>) {
  ^bb0(%b0: f32, %o: f32):
    %r = arith.addf %b0, %o : f32
    linalg.yield %r : f32
  } -> tensor<4xf32>
  %ms_mean_e = tensor.empty() : tensor<4xf32>
  %ms_mean = linalg.generic {indexing_maps = [#id1, #id1], iterator_types = ["parallel"]}
      ins(%ms_sum : tensor<4xf32>) outs(%ms_mean_e : tensor<4xf32>) {
  ^bb0(%b0: f32, %o: f32):
    %c = arith.constant 1.250000e-01 : f32
    %r = arith.mulf %b0, %c : f32
    linalg.yield %r : f32
  } -> tensor<4xf32>
  %den_k = tensor.expand_shape %ms_mean [[0, 1]] output_shape [4, 1] : tensor<4xf32> into tensor<4x1xf32>
  %den_eps = arith.constant dense<0.000000e+00> : tensor<f32>
  %den_plus_e = tensor.empty() : tensor<4x1xf32>
  %den_plus = linalg.generic {indexing_maps = [#id, #scalar, #id], iterator_types = ["parallel", "parallel"]}
      ins(%den_k, %den_eps : tensor<4x1xf32>, tensor<f32>) outs(%den_plus_e : tensor<4x1xf32>) {
  ^bb0(%b0: f32, %b1: f32, %o: f32):
    %r = arith.addf %b0, %b1 : f32
    linalg.yield %r : f32
  } -> tensor<4x1xf32>
  %den_sqrt_e = tensor.empty() : tensor<4x1xf32>
  %den_sqrt = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%den_plus : tensor<4x1xf32>) outs(%den_sqrt_e : tensor<4x1xf32>) {
  ^bb0(%b0: f32, %o: f32):
    %r = math.sqrt %b0 : f32
    linalg.yield %r : f32
  } -> tensor<4x1xf32>
  %den_rows = tensor.collapse_shape %den_sqrt [[0, 1]] : tensor<4x1xf32> into tensor<4xf32>
  %y_e = tensor.empty() : tensor<4x8xf32>
  %y = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %den_rows : tensor<4x8xf32>, tensor<4xf32>) outs(%y_e : tensor<4x8xf32>) {
  ^bb0(%b0: f32, %b1: f32, %o: f32):
    %r = arith.divf %b0, %b1 : f32
    linalg.yield %r : f32
  } -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

/// x / sqrt(mean(z^2) + eps) divides by another tensor's RMS.
// CHECK-LABEL: func.func @other_numerator
// CHECK-NOT: lattice.rms_norm
// CHECK: return
func.func @other_numerator(%x: tensor<4x8xf32>, %z: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %ms_sq_e = tensor.empty() : tensor<4x8xf32>
  %ms_sq = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%z : tensor<4x8xf32>) outs(%ms_sq_e : tensor<4x8xf32>) {
  ^bb0(%b0: f32, %o: f32):
    %r = arith.mulf %b0, %b0 : f32
    linalg.yield %r : f32
  } -> tensor<4x8xf32>
  %ms_sum_e = tensor.empty() : tensor<4xf32>
  %ms_sum_z = arith.constant 0.0 : f32
  %ms_sum_i = linalg.fill ins(%ms_sum_z : f32) outs(%ms_sum_e : tensor<4xf32>) -> tensor<4xf32>
  %ms_sum = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%ms_sq : tensor<4x8xf32>) outs(%ms_sum_i : tensor<4xf32>) {
  ^bb0(%b0: f32, %o: f32):
    %r = arith.addf %b0, %o : f32
    linalg.yield %r : f32
  } -> tensor<4xf32>
  %ms_mean_e = tensor.empty() : tensor<4xf32>
  %ms_mean = linalg.generic {indexing_maps = [#id1, #id1], iterator_types = ["parallel"]}
      ins(%ms_sum : tensor<4xf32>) outs(%ms_mean_e : tensor<4xf32>) {
  ^bb0(%b0: f32, %o: f32):
    %c = arith.constant 1.250000e-01 : f32
    %r = arith.mulf %b0, %c : f32
    linalg.yield %r : f32
  } -> tensor<4xf32>
  %den_k = tensor.expand_shape %ms_mean [[0, 1]] output_shape [4, 1] : tensor<4xf32> into tensor<4x1xf32>
  %den_eps = arith.constant dense<1.000000e-05> : tensor<f32>
  %den_plus_e = tensor.empty() : tensor<4x1xf32>
  %den_plus = linalg.generic {indexing_maps = [#id, #scalar, #id], iterator_types = ["parallel", "parallel"]}
      ins(%den_k, %den_eps : tensor<4x1xf32>, tensor<f32>) outs(%den_plus_e : tensor<4x1xf32>) {
  ^bb0(%b0: f32, %b1: f32, %o: f32):
    %r = arith.addf %b0, %b1 : f32
    linalg.yield %r : f32
  } -> tensor<4x1xf32>
  %den_sqrt_e = tensor.empty() : tensor<4x1xf32>
  %den_sqrt = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%den_plus : tensor<4x1xf32>) outs(%den_sqrt_e : tensor<4x1xf32>) {
  ^bb0(%b0: f32, %o: f32):
    %r = math.sqrt %b0 : f32
    linalg.yield %r : f32
  } -> tensor<4x1xf32>
  %den_rows = tensor.collapse_shape %den_sqrt [[0, 1]] : tensor<4x1xf32> into tensor<4xf32>
  %y_e = tensor.empty() : tensor<4x8xf32>
  %y = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %den_rows : tensor<4x8xf32>, tensor<4xf32>) outs(%y_e : tensor<4x8xf32>) {
  ^bb0(%b0: f32, %b1: f32, %o: f32):
    %r = arith.divf %b0, %b1 : f32
    linalg.yield %r : f32
  } -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

/// (x - mean(x)) / sqrt(mean((x - mean(x))^2) + eps) * g + b: one
/// lattice.layer_norm with gain and bias (eps 1e-5, the op's default, is
/// not printed).
// CHECK-LABEL: func.func @layer_norm
// CHECK-SAME: (%[[X:.*]]: tensor<4x8xf32>)
// CHECK-DAG: %[[B:.*]] = arith.constant dense<[0.000000e+00, 1.000000e+00, {{.*}}]> : tensor<8xf32>
// CHECK-DAG: %[[G:.*]] = arith.constant dense<2.000000e+00> : tensor<8xf32>
// CHECK-NOT: linalg.generic
// CHECK: %[[N:.*]] = lattice.layer_norm %[[X]], %[[G]], %[[B]] :
// CHECK-NEXT: return %[[N]]
func.func @layer_norm(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %mu_sum_e = tensor.empty() : tensor<4xf32>
  %mu_sum_z = arith.constant 0.0 : f32
  %mu_sum_i = linalg.fill ins(%mu_sum_z : f32) outs(%mu_sum_e : tensor<4xf32>) -> tensor<4xf32>
  %mu_sum = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<4x8xf32>) outs(%mu_sum_i : tensor<4xf32>) {
  ^bb0(%b0: f32, %o: f32):
    %r = arith.addf %b0, %o : f32
    linalg.yield %r : f32
  } -> tensor<4xf32>
  %mu_mean_e = tensor.empty() : tensor<4xf32>
  %mu_mean = linalg.generic {indexing_maps = [#id1, #id1], iterator_types = ["parallel"]}
      ins(%mu_sum : tensor<4xf32>) outs(%mu_mean_e : tensor<4xf32>) {
  ^bb0(%b0: f32, %o: f32):
    %c = arith.constant 1.250000e-01 : f32
    %r = arith.mulf %b0, %c : f32
    linalg.yield %r : f32
  } -> tensor<4xf32>
  %centred_e = tensor.empty() : tensor<4x8xf32>
  %centred = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %mu_mean : tensor<4x8xf32>, tensor<4xf32>) outs(%centred_e : tensor<4x8xf32>) {
  ^bb0(%b0: f32, %b1: f32, %o: f32):
    %r = arith.subf %b0, %b1 : f32
    linalg.yield %r : f32
  } -> tensor<4x8xf32>
  %var_sq_e = tensor.empty() : tensor<4x8xf32>
  %var_sq = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%centred : tensor<4x8xf32>) outs(%var_sq_e : tensor<4x8xf32>) {
  ^bb0(%b0: f32, %o: f32):
    %r = arith.mulf %b0, %b0 : f32
    linalg.yield %r : f32
  } -> tensor<4x8xf32>
  %var_sum_e = tensor.empty() : tensor<4xf32>
  %var_sum_z = arith.constant 0.0 : f32
  %var_sum_i = linalg.fill ins(%var_sum_z : f32) outs(%var_sum_e : tensor<4xf32>) -> tensor<4xf32>
  %var_sum = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%var_sq : tensor<4x8xf32>) outs(%var_sum_i : tensor<4xf32>) {
  ^bb0(%b0: f32, %o: f32):
    %r = arith.addf %b0, %o : f32
    linalg.yield %r : f32
  } -> tensor<4xf32>
  %var_mean_e = tensor.empty() : tensor<4xf32>
  %var_mean = linalg.generic {indexing_maps = [#id1, #id1], iterator_types = ["parallel"]}
      ins(%var_sum : tensor<4xf32>) outs(%var_mean_e : tensor<4xf32>) {
  ^bb0(%b0: f32, %o: f32):
    %c = arith.constant 1.250000e-01 : f32
    %r = arith.mulf %b0, %c : f32
    linalg.yield %r : f32
  } -> tensor<4xf32>
  %den_k = tensor.expand_shape %var_mean [[0, 1]] output_shape [4, 1] : tensor<4xf32> into tensor<4x1xf32>
  %den_eps = arith.constant dense<1.000000e-05> : tensor<f32>
  %den_plus_e = tensor.empty() : tensor<4x1xf32>
  %den_plus = linalg.generic {indexing_maps = [#id, #scalar, #id], iterator_types = ["parallel", "parallel"]}
      ins(%den_k, %den_eps : tensor<4x1xf32>, tensor<f32>) outs(%den_plus_e : tensor<4x1xf32>) {
  ^bb0(%b0: f32, %b1: f32, %o: f32):
    %r = arith.addf %b0, %b1 : f32
    linalg.yield %r : f32
  } -> tensor<4x1xf32>
  %den_sqrt_e = tensor.empty() : tensor<4x1xf32>
  %den_sqrt = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%den_plus : tensor<4x1xf32>) outs(%den_sqrt_e : tensor<4x1xf32>) {
  ^bb0(%b0: f32, %o: f32):
    %r = math.sqrt %b0 : f32
    linalg.yield %r : f32
  } -> tensor<4x1xf32>
  %den_rows = tensor.collapse_shape %den_sqrt [[0, 1]] : tensor<4x1xf32> into tensor<4xf32>
  %core_e = tensor.empty() : tensor<4x8xf32>
  %core = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%centred, %den_rows : tensor<4x8xf32>, tensor<4xf32>) outs(%core_e : tensor<4x8xf32>) {
  ^bb0(%b0: f32, %b1: f32, %o: f32):
    %r = arith.divf %b0, %b1 : f32
    linalg.yield %r : f32
  } -> tensor<4x8xf32>
  %scaled_c = arith.constant dense<2.0> : tensor<8xf32>
  %scaled_e = tensor.empty() : tensor<4x8xf32>
  %scaled = linalg.generic {indexing_maps = [#id, #col, #id], iterator_types = ["parallel", "parallel"]}
      ins(%core, %scaled_c : tensor<4x8xf32>, tensor<8xf32>) outs(%scaled_e : tensor<4x8xf32>) {
  ^bb0(%b0: f32, %b1: f32, %o: f32):
    %r = arith.mulf %b0, %b1 : f32
    linalg.yield %r : f32
  } -> tensor<4x8xf32>
  %y_c = arith.constant dense<[0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0]> : tensor<8xf32>
  %y_e = tensor.empty() : tensor<4x8xf32>
  %y = linalg.generic {indexing_maps = [#id, #col, #id], iterator_types = ["parallel", "parallel"]}
      ins(%scaled, %y_c : tensor<4x8xf32>, tensor<8xf32>) outs(%y_e : tensor<4x8xf32>) {
  ^bb0(%b0: f32, %b1: f32, %o: f32):
    %r = arith.addf %b0, %b1 : f32
    linalg.yield %r : f32
  } -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

/// A gain that is an argument stays a multiplication after the norm.
// CHECK-LABEL: func.func @gain_not_constant
// CHECK-SAME: (%[[X:.*]]: tensor<4x8xf32>, %[[G:.*]]: tensor<8xf32>)
// CHECK: %[[N:.*]] = lattice.rms_norm %[[X]], %{{.*}} {epsilon
// CHECK: linalg.generic {{.*}} ins(%[[N]], %[[G]] :
// CHECK: arith.mulf
func.func @gain_not_constant(%x: tensor<4x8xf32>, %g: tensor<8xf32>) -> tensor<4x8xf32> {
  %ms_sq_e = tensor.empty() : tensor<4x8xf32>
  %ms_sq = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<4x8xf32>) outs(%ms_sq_e : tensor<4x8xf32>) {
  ^bb0(%b0: f32, %o: f32):
    %r = arith.mulf %b0, %b0 : f32
    linalg.yield %r : f32
  } -> tensor<4x8xf32>
  %ms_sum_e = tensor.empty() : tensor<4xf32>
  %ms_sum_z = arith.constant 0.0 : f32
  %ms_sum_i = linalg.fill ins(%ms_sum_z : f32) outs(%ms_sum_e : tensor<4xf32>) -> tensor<4xf32>
  %ms_sum = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%ms_sq : tensor<4x8xf32>) outs(%ms_sum_i : tensor<4xf32>) {
  ^bb0(%b0: f32, %o: f32):
    %r = arith.addf %b0, %o : f32
    linalg.yield %r : f32
  } -> tensor<4xf32>
  %ms_mean_e = tensor.empty() : tensor<4xf32>
  %ms_mean = linalg.generic {indexing_maps = [#id1, #id1], iterator_types = ["parallel"]}
      ins(%ms_sum : tensor<4xf32>) outs(%ms_mean_e : tensor<4xf32>) {
  ^bb0(%b0: f32, %o: f32):
    %c = arith.constant 1.250000e-01 : f32
    %r = arith.mulf %b0, %c : f32
    linalg.yield %r : f32
  } -> tensor<4xf32>
  %den_k = tensor.expand_shape %ms_mean [[0, 1]] output_shape [4, 1] : tensor<4xf32> into tensor<4x1xf32>
  %den_eps = arith.constant dense<1.000000e-05> : tensor<f32>
  %den_plus_e = tensor.empty() : tensor<4x1xf32>
  %den_plus = linalg.generic {indexing_maps = [#id, #scalar, #id], iterator_types = ["parallel", "parallel"]}
      ins(%den_k, %den_eps : tensor<4x1xf32>, tensor<f32>) outs(%den_plus_e : tensor<4x1xf32>) {
  ^bb0(%b0: f32, %b1: f32, %o: f32):
    %r = arith.addf %b0, %b1 : f32
    linalg.yield %r : f32
  } -> tensor<4x1xf32>
  %den_sqrt_e = tensor.empty() : tensor<4x1xf32>
  %den_sqrt = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%den_plus : tensor<4x1xf32>) outs(%den_sqrt_e : tensor<4x1xf32>) {
  ^bb0(%b0: f32, %o: f32):
    %r = math.sqrt %b0 : f32
    linalg.yield %r : f32
  } -> tensor<4x1xf32>
  %den_rows = tensor.collapse_shape %den_sqrt [[0, 1]] : tensor<4x1xf32> into tensor<4xf32>
  %core_e = tensor.empty() : tensor<4x8xf32>
  %core = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %den_rows : tensor<4x8xf32>, tensor<4xf32>) outs(%core_e : tensor<4x8xf32>) {
  ^bb0(%b0: f32, %b1: f32, %o: f32):
    %r = arith.divf %b0, %b1 : f32
    linalg.yield %r : f32
  } -> tensor<4x8xf32>
  %y_e = tensor.empty() : tensor<4x8xf32>
  %y = linalg.generic {indexing_maps = [#id, #col, #id], iterator_types = ["parallel", "parallel"]}
      ins(%core, %g : tensor<4x8xf32>, tensor<8xf32>) outs(%y_e : tensor<4x8xf32>) {
  ^bb0(%b0: f32, %b1: f32, %o: f32):
    %r = arith.mulf %b0, %b1 : f32
    linalg.yield %r : f32
  } -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

/// A norm with another user keeps its unit gain: the gain's product is a
/// separate value.
// CHECK-LABEL: func.func @norm_used_twice
// CHECK: %[[ONES:.*]] = arith.constant dense<1.000000e+00> : tensor<8xf32>
// CHECK: %[[N:.*]] = lattice.rms_norm %{{.*}}, %[[ONES]]
// CHECK: %[[S:.*]] = linalg.generic {{.*}} ins(%[[N]], %{{.*}} :
// CHECK: linalg.generic {{.*}} ins(%[[N]], %[[S]] :
func.func @norm_used_twice(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %ms_sq_e = tensor.empty() : tensor<4x8xf32>
  %ms_sq = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<4x8xf32>) outs(%ms_sq_e : tensor<4x8xf32>) {
  ^bb0(%b0: f32, %o: f32):
    %r = arith.mulf %b0, %b0 : f32
    linalg.yield %r : f32
  } -> tensor<4x8xf32>
  %ms_sum_e = tensor.empty() : tensor<4xf32>
  %ms_sum_z = arith.constant 0.0 : f32
  %ms_sum_i = linalg.fill ins(%ms_sum_z : f32) outs(%ms_sum_e : tensor<4xf32>) -> tensor<4xf32>
  %ms_sum = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%ms_sq : tensor<4x8xf32>) outs(%ms_sum_i : tensor<4xf32>) {
  ^bb0(%b0: f32, %o: f32):
    %r = arith.addf %b0, %o : f32
    linalg.yield %r : f32
  } -> tensor<4xf32>
  %ms_mean_e = tensor.empty() : tensor<4xf32>
  %ms_mean = linalg.generic {indexing_maps = [#id1, #id1], iterator_types = ["parallel"]}
      ins(%ms_sum : tensor<4xf32>) outs(%ms_mean_e : tensor<4xf32>) {
  ^bb0(%b0: f32, %o: f32):
    %c = arith.constant 1.250000e-01 : f32
    %r = arith.mulf %b0, %c : f32
    linalg.yield %r : f32
  } -> tensor<4xf32>
  %den_k = tensor.expand_shape %ms_mean [[0, 1]] output_shape [4, 1] : tensor<4xf32> into tensor<4x1xf32>
  %den_eps = arith.constant dense<1.000000e-05> : tensor<f32>
  %den_plus_e = tensor.empty() : tensor<4x1xf32>
  %den_plus = linalg.generic {indexing_maps = [#id, #scalar, #id], iterator_types = ["parallel", "parallel"]}
      ins(%den_k, %den_eps : tensor<4x1xf32>, tensor<f32>) outs(%den_plus_e : tensor<4x1xf32>) {
  ^bb0(%b0: f32, %b1: f32, %o: f32):
    %r = arith.addf %b0, %b1 : f32
    linalg.yield %r : f32
  } -> tensor<4x1xf32>
  %den_sqrt_e = tensor.empty() : tensor<4x1xf32>
  %den_sqrt = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%den_plus : tensor<4x1xf32>) outs(%den_sqrt_e : tensor<4x1xf32>) {
  ^bb0(%b0: f32, %o: f32):
    %r = math.sqrt %b0 : f32
    linalg.yield %r : f32
  } -> tensor<4x1xf32>
  %den_rows = tensor.collapse_shape %den_sqrt [[0, 1]] : tensor<4x1xf32> into tensor<4xf32>
  %core_e = tensor.empty() : tensor<4x8xf32>
  %core = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %den_rows : tensor<4x8xf32>, tensor<4xf32>) outs(%core_e : tensor<4x8xf32>) {
  ^bb0(%b0: f32, %b1: f32, %o: f32):
    %r = arith.divf %b0, %b1 : f32
    linalg.yield %r : f32
  } -> tensor<4x8xf32>
  %scaled_c = arith.constant dense<2.0> : tensor<8xf32>
  %scaled_e = tensor.empty() : tensor<4x8xf32>
  %scaled = linalg.generic {indexing_maps = [#id, #col, #id], iterator_types = ["parallel", "parallel"]}
      ins(%core, %scaled_c : tensor<4x8xf32>, tensor<8xf32>) outs(%scaled_e : tensor<4x8xf32>) {
  ^bb0(%b0: f32, %b1: f32, %o: f32):
    %r = arith.mulf %b0, %b1 : f32
    linalg.yield %r : f32
  } -> tensor<4x8xf32>
  %y_e = tensor.empty() : tensor<4x8xf32>
  %y = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%core, %scaled : tensor<4x8xf32>, tensor<4x8xf32>) outs(%y_e : tensor<4x8xf32>) {
  ^bb0(%b0: f32, %b1: f32, %o: f32):
    %r = arith.addf %b0, %b1 : f32
    linalg.yield %r : f32
  } -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

/// x / Expand(Clip(sqrt(sum(x^2)), 1e-12, inf)), as an L2 normalization
/// exports: lattice.normalize with that epsilon (the op's default).
// CHECK-LABEL: func.func @l2_normalize
// CHECK-SAME: (%[[X:.*]]: tensor<4x8xf32>)
// CHECK-NOT: linalg.generic
// CHECK: %[[N:.*]] = lattice.normalize %[[X]] :
// CHECK-NEXT: return %[[N]]
func.func @l2_normalize(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %l2_sq_e = tensor.empty() : tensor<4x8xf32>
  %l2_sq = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<4x8xf32>) outs(%l2_sq_e : tensor<4x8xf32>) {
  ^bb0(%b0: f32, %o: f32):
    %r = arith.mulf %b0, %b0 : f32
    linalg.yield %r : f32
  } -> tensor<4x8xf32>
  %l2_sum_e = tensor.empty() : tensor<4xf32>
  %l2_sum_z = arith.constant 0.0 : f32
  %l2_sum_i = linalg.fill ins(%l2_sum_z : f32) outs(%l2_sum_e : tensor<4xf32>) -> tensor<4xf32>
  %l2_sum = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%l2_sq : tensor<4x8xf32>) outs(%l2_sum_i : tensor<4xf32>) {
  ^bb0(%b0: f32, %o: f32):
    %r = arith.addf %b0, %o : f32
    linalg.yield %r : f32
  } -> tensor<4xf32>
  %norm_e = tensor.empty() : tensor<4xf32>
  %norm = linalg.generic {indexing_maps = [#id1, #id1], iterator_types = ["parallel"]}
      ins(%l2_sum : tensor<4xf32>) outs(%norm_e : tensor<4xf32>) {
  ^bb0(%b0: f32, %o: f32):
    %r = math.sqrt %b0 : f32
    linalg.yield %r : f32
  } -> tensor<4xf32>
  %clip_e = tensor.empty() : tensor<4xf32>
  %clip = linalg.generic {indexing_maps = [#id1, #id1], iterator_types = ["parallel"]}
      ins(%norm : tensor<4xf32>) outs(%clip_e : tensor<4xf32>) {
  ^bb0(%b0: f32, %o: f32):
    %lo = arith.constant 1.0e-12 : f32
    %hi = arith.constant 0x7F800000 : f32
    %m = arith.maximumf %b0, %lo : f32
    %r = arith.minimumf %m, %hi : f32
    linalg.yield %r : f32
  } -> tensor<4xf32>
  %expanded_e = tensor.empty() : tensor<4x8xf32>
  %expanded = linalg.generic {indexing_maps = [#row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%clip : tensor<4xf32>) outs(%expanded_e : tensor<4x8xf32>) {
  ^bb0(%b0: f32, %o: f32):
    linalg.yield %b0 : f32
  } -> tensor<4x8xf32>
  %y_e = tensor.empty() : tensor<4x8xf32>
  %y = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %expanded : tensor<4x8xf32>, tensor<4x8xf32>) outs(%y_e : tensor<4x8xf32>) {
  ^bb0(%b0: f32, %b1: f32, %o: f32):
    %r = arith.divf %b0, %b1 : f32
    linalg.yield %r : f32
  } -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

/// x / sqrt(sum(x^2)), as the nGPT example writes it: lattice.normalize
/// with its default floor (1e-12).
// CHECK-LABEL: func.func @l2_no_floor
// CHECK-SAME: (%[[X:.*]]: tensor<4x8xf32>)
// CHECK-NOT: linalg.generic
// CHECK: %[[N:.*]] = lattice.normalize %[[X]] :
// CHECK-NEXT: return %[[N]]
func.func @l2_no_floor(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %l2_sq_e = tensor.empty() : tensor<4x8xf32>
  %l2_sq = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<4x8xf32>) outs(%l2_sq_e : tensor<4x8xf32>) {
  ^bb0(%b0: f32, %o: f32):
    %r = arith.mulf %b0, %b0 : f32
    linalg.yield %r : f32
  } -> tensor<4x8xf32>
  %l2_sum_e = tensor.empty() : tensor<4xf32>
  %l2_sum_z = arith.constant 0.0 : f32
  %l2_sum_i = linalg.fill ins(%l2_sum_z : f32) outs(%l2_sum_e : tensor<4xf32>) -> tensor<4xf32>
  %l2_sum = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%l2_sq : tensor<4x8xf32>) outs(%l2_sum_i : tensor<4xf32>) {
  ^bb0(%b0: f32, %o: f32):
    %r = arith.addf %b0, %o : f32
    linalg.yield %r : f32
  } -> tensor<4xf32>
  %norm_e = tensor.empty() : tensor<4xf32>
  %norm = linalg.generic {indexing_maps = [#id1, #id1], iterator_types = ["parallel"]}
      ins(%l2_sum : tensor<4xf32>) outs(%norm_e : tensor<4xf32>) {
  ^bb0(%b0: f32, %o: f32):
    %r = math.sqrt %b0 : f32
    linalg.yield %r : f32
  } -> tensor<4xf32>
  %y_e = tensor.empty() : tensor<4x8xf32>
  %y = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %norm : tensor<4x8xf32>, tensor<4xf32>) outs(%y_e : tensor<4x8xf32>) {
  ^bb0(%b0: f32, %b1: f32, %o: f32):
    %r = arith.divf %b0, %b1 : f32
    linalg.yield %r : f32
  } -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

