// Every problem of the options, of the sensitivity file and of the budget is
// an error that says what is wrong; a layer the file measures but the module
// lacks gets a warning.
// RUN: rm -rf %t && mkdir -p %t
// RUN: not lattice-opt %S/../../Tools/Inputs/three-layers.mlir --lattice-assign-precision 2>&1 | FileCheck %s --check-prefix=NO-FILE
// NO-FILE: error: lattice-assign-precision: needs sensitivity=<file> (lattice-compile measures it for the mixed recipe)
// RUN: not lattice-opt %S/../../Tools/Inputs/three-layers.mlir --lattice-assign-precision="sensitivity=%S/Inputs/three-layers-sensitivity.json budget=0" 2>&1 | FileCheck %s --check-prefix=ZERO
// ZERO: error: lattice-assign-precision: budget must be a positive number of bits per weight, got 0
// RUN: not lattice-opt %S/../../Tools/Inputs/three-layers.mlir --lattice-assign-precision="sensitivity=%S/Inputs/three-layers-sensitivity.json budget=-3" 2>&1 | FileCheck %s --check-prefix=NEGATIVE
// NEGATIVE: error: lattice-assign-precision: budget must be a positive number of bits per weight, got -3
// RUN: not lattice-opt %S/../../Tools/Inputs/three-layers.mlir --lattice-assign-precision="sensitivity=%S/Inputs/three-layers-sensitivity.json budget=2.4" 2>&1 | FileCheck %s --check-prefix=INFEASIBLE
// INFEASIBLE: error: lattice-assign-precision: a budget of 2.4 bits per weight is below the smallest feasible one, 2.5000 bits per weight (every layer at its cheapest candidate)
// RUN: not lattice-opt %S/../../Tools/Inputs/three-layers.mlir --lattice-assign-precision="sensitivity=%S/Inputs/three-layers-sensitivity.json solver=greedy" 2>&1 | FileCheck %s --check-prefix=SOLVER
// SOLVER: error: lattice-assign-precision: unknown solver 'greedy' (expected exact or annealing)
// RUN: not lattice-opt %S/../../Tools/Inputs/three-layers.mlir --lattice-assign-precision=sensitivity=%t/missing.json 2>&1 | FileCheck %s --check-prefix=MISSING
// MISSING: error: lattice-assign-precision: sensitivity file '{{.*}}missing.json': cannot be read: No such file or directory
// RUN: echo 'not json' > %t/a.json
// RUN: not lattice-opt %S/../../Tools/Inputs/three-layers.mlir --lattice-assign-precision=sensitivity=%t/a.json 2>&1 | FileCheck %s --check-prefix=JSON
// JSON: error: lattice-assign-precision: sensitivity file '{{.*}}a.json': not JSON: [1:2, byte=2]: Invalid JSON value
// RUN: echo '[]' > %t/b.json
// RUN: not lattice-opt %S/../../Tools/Inputs/three-layers.mlir --lattice-assign-precision=sensitivity=%t/b.json 2>&1 | FileCheck %s --check-prefix=TOP
// TOP: sensitivity file '{{.*}}b.json': expected a JSON object
// RUN: echo '{"version": 2, "candidates": ["4/g32"], "layers": []}' > %t/c.json
// RUN: not lattice-opt %S/../../Tools/Inputs/three-layers.mlir --lattice-assign-precision=sensitivity=%t/c.json 2>&1 | FileCheck %s --check-prefix=VERSION
// VERSION: sensitivity file '{{.*}}c.json': "version" is 2; expected 1
// RUN: echo '{"version": 1, "candidates": ["4/g32"], "layers": [], "bits": 4}' > %t/d.json
// RUN: not lattice-opt %S/../../Tools/Inputs/three-layers.mlir --lattice-assign-precision=sensitivity=%t/d.json 2>&1 | FileCheck %s --check-prefix=KEY
// KEY: sensitivity file '{{.*}}d.json': unknown key "bits" (known: version, metric, samples, candidates, layers)
// RUN: echo '{"version": 1, "candidates": ["4/g0"], "layers": []}' > %t/e.json
// RUN: not lattice-opt %S/../../Tools/Inputs/three-layers.mlir --lattice-assign-precision=sensitivity=%t/e.json 2>&1 | FileCheck %s --check-prefix=CANDIDATE
// CANDIDATE: sensitivity file '{{.*}}e.json': candidate '4/g0': expected <bits>/g<group size>, <bits>/channel or float
// RUN: echo '{"version": 1, "candidates": ["4/g32", "4/g32"], "layers": []}' > %t/f.json
// RUN: not lattice-opt %S/../../Tools/Inputs/three-layers.mlir --lattice-assign-precision=sensitivity=%t/f.json 2>&1 | FileCheck %s --check-prefix=TWICE
// TWICE: sensitivity file '{{.*}}f.json': candidate '4/g32' appears twice
// RUN: echo '{"version": 1, "candidates": [], "layers": []}' > %t/g.json
// RUN: not lattice-opt %S/../../Tools/Inputs/three-layers.mlir --lattice-assign-precision=sensitivity=%t/g.json 2>&1 | FileCheck %s --check-prefix=EMPTY
// EMPTY: sensitivity file '{{.*}}g.json': "candidates" is []; expected a non-empty array of candidate schemes
// RUN: echo '{"version": 1, "candidates": ["4/g32"], "layers": [{"name": "first", "errors": {"8/g32": 1}}]}' > %t/h.json
// RUN: not lattice-opt %S/../../Tools/Inputs/three-layers.mlir --lattice-assign-precision=sensitivity=%t/h.json 2>&1 | FileCheck %s --check-prefix=UNLISTED
// UNLISTED: sensitivity file '{{.*}}h.json': layers[0].errors has candidate '8/g32', which "candidates" does not list
// RUN: echo '{"version": 1, "candidates": ["4/g32"], "layers": [{"name": "first", "errors": {"4/g32": -1}}]}' > %t/i.json
// RUN: not lattice-opt %S/../../Tools/Inputs/three-layers.mlir --lattice-assign-precision=sensitivity=%t/i.json 2>&1 | FileCheck %s --check-prefix=NEGATIVE-ERROR
// NEGATIVE-ERROR: sensitivity file '{{.*}}i.json': layers[0].errors["4/g32"] is -1; expected a non-negative number
// RUN: echo '{"version": 1, "candidates": ["4/g32"], "layers": [{"name": "first"}, {"name": "first"}]}' > %t/j.json
// RUN: not lattice-opt %S/../../Tools/Inputs/three-layers.mlir --lattice-assign-precision=sensitivity=%t/j.json 2>&1 | FileCheck %s --check-prefix=DUPLICATE
// DUPLICATE: sensitivity file '{{.*}}j.json': layer 'first' appears twice
// RUN: echo '{"version": 1, "candidates": ["4/g32"], "layers": [{"errors": {}}]}' > %t/k.json
// RUN: not lattice-opt %S/../../Tools/Inputs/three-layers.mlir --lattice-assign-precision=sensitivity=%t/k.json 2>&1 | FileCheck %s --check-prefix=NAMELESS
// NAMELESS: sensitivity file '{{.*}}k.json': layers[0] has no "name"
// RUN: echo '{"version": 1, "candidates": ["4/g32"], "layers": [{"name": "first", "errors": {"4/g32": 1}}]}' > %t/l.json
// RUN: not lattice-opt %S/../../Tools/Inputs/three-layers.mlir --lattice-assign-precision=sensitivity=%t/l.json 2>&1 | FileCheck %s --check-prefix=UNMEASURED
// UNMEASURED: error: lattice-assign-precision: layer 'middle' has no measurement in sensitivity file '{{.*}}l.json'
// A layer the file measures under no candidate (a group size that does not
// divide K, 48 of 64 here, is a candidate like any other).
// RUN: echo '{"version": 1, "candidates": ["4/g48"], "layers": [{"name": "first", "errors": {}}, {"name": "middle", "errors": {"4/g48": 1}}, {"name": "last", "errors": {"4/g48": 1}}]}' > %t/m.json
// RUN: not lattice-opt %S/../../Tools/Inputs/three-layers.mlir --lattice-assign-precision=sensitivity=%t/m.json 2>&1 | FileCheck %s --check-prefix=NO-CANDIDATE
// NO-CANDIDATE: error: lattice-assign-precision: layer 'first' (64 x 64) can take none of the measured candidates
// A layer the file measures but the module lacks.
// RUN: echo '{"version": 1, "candidates": ["4/g32"], "layers": [{"name": "first", "errors": {"4/g32": 1}}, {"name": "middle", "errors": {"4/g32": 1}}, {"name": "last", "errors": {"4/g32": 1}}, {"name": "gone", "errors": {"4/g32": 1}}]}' > %t/n.json
// RUN: lattice-opt %S/../../Tools/Inputs/three-layers.mlir --lattice-assign-precision=sensitivity=%t/n.json -o /dev/null 2>&1 | FileCheck %s --check-prefix=GONE
// GONE: warning: lattice-assign-precision: sensitivity file '{{.*}}n.json' measures layer 'gone', which the module does not have
// RUN: not lattice-opt %S/../../Tools/Inputs/three-layers.mlir --lattice-assign-precision="sensitivity=%S/Inputs/three-layers-sensitivity.json report=%t/no/such/dir/r.json" -o /dev/null 2>&1 | FileCheck %s --check-prefix=REPORT
// REPORT: error: lattice-assign-precision: cannot write '{{.*}}r.json': No such file or directory
// RUN: not lattice-opt %S/Inputs/unnamed-layer.mlir --lattice-assign-precision=sensitivity=%S/Inputs/three-layers-sensitivity.json -o /dev/null 2>&1 | FileCheck %s --check-prefix=UNNAMED
// UNNAMED: error: lattice-assign-precision: a weight layer without a name cannot be looked up in the sensitivity file
