// RUN: lattice-opt %s --lattice-export-observations -split-input-file -verify-diagnostics

func.func @types_differ(%x: tensor<2x4xf32>, %y: tensor<3x4xf32>) -> (tensor<2x4xf32>, tensor<3x4xf32>) {
  // expected-note@+1 {{the first one}}
  %a = lattice.observe %x name("p") channel_axis(1) : tensor<2x4xf32>
  // expected-error@+1 {{probes named 'p' cannot be pooled: they need one type and one channel axis other than 0}}
  %b = lattice.observe %y name("p") channel_axis(1) : tensor<3x4xf32>
  return %a, %b : tensor<2x4xf32>, tensor<3x4xf32>
}

// -----

func.func @axes_differ(%x: tensor<4x4xf32>, %y: tensor<4x4xf32>) -> (tensor<4x4xf32>, tensor<4x4xf32>) {
  // expected-note@+1 {{the first one}}
  %a = lattice.observe %x name("p") channel_axis(1) : tensor<4x4xf32>
  // expected-error@+1 {{probes named 'p' cannot be pooled}}
  %b = lattice.observe %y name("p") : tensor<4x4xf32>
  return %a, %b : tensor<4x4xf32>, tensor<4x4xf32>
}

// -----

/// Pooling stacks rows: samples along the channel axis 0 would mix channels.
func.func @channel_axis_zero(%x: tensor<4x2xf32>, %y: tensor<4x2xf32>) -> (tensor<4x2xf32>, tensor<4x2xf32>) {
  // expected-note@+1 {{the first one}}
  %a = lattice.observe %x name("p") channel_axis(0) : tensor<4x2xf32>
  // expected-error@+1 {{probes named 'p' cannot be pooled}}
  %b = lattice.observe %y name("p") channel_axis(0) : tensor<4x2xf32>
  return %a, %b : tensor<4x2xf32>, tensor<4x2xf32>
}

// -----

func.func @nested(%x: tensor<4xf32>, %c: i1) -> tensor<4xf32> {
  %y = scf.if %c -> tensor<4xf32> {
    // expected-error@+1 {{probe 'p' is inside a nested region; only probes in the function body can be exported}}
    %p = lattice.observe %x name("p") : tensor<4xf32>
    scf.yield %p : tensor<4xf32>
  } else {
    scf.yield %x : tensor<4xf32>
  }
  return %y : tensor<4xf32>
}

// -----

// expected-error@+1 {{a function with probes must have one block ending in func.return to export them}}
func.func @blocks(%x: tensor<4xf32>) -> tensor<4xf32> {
  cf.br ^next
^next:
  %p = lattice.observe %x name("p") : tensor<4xf32>
  return %p : tensor<4xf32>
}
