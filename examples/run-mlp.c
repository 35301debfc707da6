/* Runs the MLP that lattice-compile makes from examples/mlp-w4a16.mlir:
 *
 *   lattice-compile examples/mlp-w4a16.mlir -o out/mlp
 *   cc -Iout examples/run-mlp.c out/mlp.so -Wl,-rpath,out -o run-mlp
 *   ./run-mlp out/mlp.safetensors
 *
 * With weights compiled into the library (lattice-compile --embed-weights),
 * run it without an argument. Prints the 64 outputs for the input x[i] = sin(i), one per line. */
#include "mlp.h"

#include <math.h>
#include <stdio.h>

int main(int argc, char **argv) {
  if (argc > 2) {
    fprintf(stderr, "usage: %s [mlp.safetensors]\n", argv[0]);
    return 2;
  }
  lattice_model *model;
  if (mlp_load(argc == 2 ? argv[1] : NULL, &model) != LATTICE_OK) {
    fprintf(stderr, "error: %s\n", lattice_last_error());
    return 1;
  }
  float x[1][64], y[1][64];
  for (int i = 0; i < 64; ++i)
    x[0][i] = sinf((float)i);
  if (mlp_run(model, &x[0][0], &y[0][0]) != LATTICE_OK ||
      mlp_run(model, &x[0][0], NULL) != LATTICE_ERROR_ARGUMENT) {
    fprintf(stderr, "error: %s\n", lattice_last_error());
    mlp_free(model);
    return 1;
  }
  printf("NULL output: %s\n", lattice_last_error());
  for (int i = 0; i < 64; ++i)
    printf("%.9g\n", y[0][i]);
  mlp_free(model);
  return 0;
}
