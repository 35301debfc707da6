// RUN: rm -rf %t && mkdir -p %t
// RUN: lattice-opt %s --lattice-quantize="weight-bits=4 report-file=%t/report.json" -o /dev/null
// RUN: FileCheck %s --input-file=%t/report.json
// RUN: not lattice-opt %s --lattice-quantize="report-file=%t/missing/report.json" -o /dev/null 2>&1 \
// RUN:   | FileCheck %s --check-prefix=UNWRITABLE

// The report file has an entry per quantized layer in program order, with
// what the remarks of report=true say: the scheme, the weight SQNR in dB
// (null when the codes are exact: JSON has no infinity) and the bits per
// weight. Layers left in float are not in it.
// CHECK:      "format": "lattice-quantize-report",
// CHECK-NEXT: "layers": [
// CHECK-NEXT:   {
// CHECK-NEXT:     "bits_per_weight": 12,
// CHECK-NEXT:     "name": "fc.1",
// CHECK-NEXT:     "scheme": "!lattice.quant<s4, f32, channel<0>>",
// CHECK-NEXT:     "sqnr_db": 23.11
// CHECK:        },
// CHECK-NEXT:   {
// CHECK-NEXT:     "bits_per_weight": 10,
// CHECK-NEXT:     "name": "head",
// CHECK-NEXT:     "scheme": "!lattice.quant<s8, f16>",
// CHECK-NEXT:     "sqnr_db": 48.73
// CHECK:        },
// CHECK-NEXT:   {
// CHECK-NEXT:     "bits_per_weight": 20,
// CHECK-NEXT:     "name": "exact",
// CHECK-NEXT:     "scheme": "!lattice.quant<s4, f32, channel<0>>",
// CHECK-NEXT:     "sqnr_db": null
// CHECK-NEXT:   }
// CHECK-NEXT: ],
// CHECK-NEXT: "version": 1

// UNWRITABLE: error: lattice-quantize: cannot write the report '{{.*}}missing/report.json'

func.func @layers(%x: tensor<3x4xf32>, %z: tensor<1x2xf32>) -> (tensor<3x2xf32>, tensor<3x2xf32>, tensor<1x2xf32>, tensor<3x2xf32>) {
  %w = arith.constant dense<[[0.0, 15.0, -1.0, 14.0], [7.0, -3.5, 1.75, -0.25]]> : tensor<2x4xf32> loc("fc.1")
  %y = lattice.matmul %x, %w accumulate(f32) : (tensor<3x4xf32>, tensor<2x4xf32>) -> tensor<3x2xf32>
  %h = arith.constant dense<[[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0]]> : tensor<2x4xf32> loc("head")
  %o = lattice.matmul %x, %h accumulate(f32) {lattice.quantize = {weight_bits = 8, granularity = "tensor", scale_type = "f16"}}
      : (tensor<3x4xf32>, tensor<2x4xf32>) -> tensor<3x2xf32>
  %e = arith.constant dense<[[7.0, 0.0], [14.0, -14.0]]> : tensor<2x2xf32> loc("exact")
  %p = lattice.matmul %z, %e accumulate(f32) : (tensor<1x2xf32>, tensor<2x2xf32>) -> tensor<1x2xf32>
  %f = arith.constant dense<1.0> : tensor<2x4xf32> loc("kept")
  %q = lattice.matmul %x, %f accumulate(f32) {lattice.quantize = {skip}} : (tensor<3x4xf32>, tensor<2x4xf32>) -> tensor<3x2xf32>
  return %y, %o, %p, %q : tensor<3x2xf32>, tensor<3x2xf32>, tensor<1x2xf32>, tensor<3x2xf32>
}
