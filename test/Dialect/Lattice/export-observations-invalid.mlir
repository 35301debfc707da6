// RUN: lattice-opt %s --lattice-export-observations -split-input-file -verify-diagnostics

func.func @duplicate(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-note@+1 {{the first one}}
  %a = lattice.observe %x name("p") : tensor<4xf32>
  // expected-error@+1 {{two probes are named 'p'}}
  %b = lattice.observe %a name("p") : tensor<4xf32>
  return %b : tensor<4xf32>
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
