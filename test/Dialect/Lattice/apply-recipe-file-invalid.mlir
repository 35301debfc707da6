// Every problem of a recipe file is an error that names the file, the key
// and the bad value.
// RUN: rm -rf %t && mkdir -p %t
// RUN: echo 'not json' > %t/a.json
// RUN: not lattice-opt %S/../../Tools/Inputs/three-layers.mlir --lattice-apply-recipe-file=file=%t/a.json 2>&1 | FileCheck %s --check-prefix=JSON
// JSON: error: recipe file '{{.*}}a.json': not JSON: [1:2, byte=2]: Invalid JSON value
// RUN: echo '[]' > %t/b.json
// RUN: not lattice-opt %S/../../Tools/Inputs/three-layers.mlir --lattice-apply-recipe-file=file=%t/b.json 2>&1 | FileCheck %s --check-prefix=TOP
// TOP: error: recipe file '{{.*}}b.json': expected a JSON object
// RUN: echo '{"recipe": "w4a16", "bits": 4}' > %t/c.json
// RUN: not lattice-opt %S/../../Tools/Inputs/three-layers.mlir --lattice-apply-recipe-file=file=%t/c.json 2>&1 | FileCheck %s --check-prefix=TOP-KEY
// TOP-KEY: error: recipe file '{{.*}}c.json': unknown key "bits" (known: recipe, description, layers, awq, awq_grid, awq_clip, qep, qep_alpha, budget, candidates, solver, metric, outlier_threshold)
// RUN: echo '{"recipe": "w4a16", "awq": 1}' > %t/awq.json
// RUN: not lattice-opt %S/../../Tools/Inputs/three-layers.mlir --lattice-apply-recipe-file=file=%t/awq.json 2>&1 | FileCheck %s --check-prefix=AWQ
// AWQ: error: recipe file '{{.*}}awq.json': "awq" is 1; expected true or false
// RUN: echo '{"recipe": "w4a16", "awq_grid": 0}' > %t/grid.json
// RUN: not lattice-opt %S/../../Tools/Inputs/three-layers.mlir --lattice-apply-recipe-file=file=%t/grid.json 2>&1 | FileCheck %s --check-prefix=GRID
// GRID: error: recipe file '{{.*}}grid.json': "awq_grid" is 0; expected an integer from 1 to 1000
// RUN: echo '{"recipe": "w4a16", "qep_alpha": 1.5}' > %t/alpha.json
// RUN: not lattice-opt %S/../../Tools/Inputs/three-layers.mlir --lattice-apply-recipe-file=file=%t/alpha.json 2>&1 | FileCheck %s --check-prefix=ALPHA
// ALPHA: error: recipe file '{{.*}}alpha.json': "qep_alpha" is 1.5; expected a number in [0, 1]
// RUN: %PYTHON -c "print('[' * 100000)" > %t/deep.json
// RUN: not lattice-opt %S/../../Tools/Inputs/three-layers.mlir --lattice-apply-recipe-file=file=%t/deep.json 2>&1 | FileCheck %s --check-prefix=DEEP
// DEEP: error: recipe file '{{.*}}deep.json': not {{.*}} nested more than 64 levels deep (at offset 64)
// RUN: echo '{"recipe": "w9"}' > %t/d.json
// RUN: not lattice-opt %S/../../Tools/Inputs/three-layers.mlir --lattice-apply-recipe-file=file=%t/d.json 2>&1 | FileCheck %s --check-prefix=RECIPE
// RECIPE: error: recipe file '{{.*}}d.json': "recipe" is "w9"; expected one of f32, w8a16, w4a16, w4a16-gptq, w4a16-awq, w4a16-gptq-qep, w4a16-g32, w3a16, w3a16-gptq, w3a16-awq, w3a16-gptq-qep, w2a16, w2a16-gptq, w2a16-gptq-qep, ternary, mixed, w8a8, w8a8-dynamic, llm-int8
// RUN: echo '{"layers": []}' > %t/e.json
// RUN: not lattice-opt %S/../../Tools/Inputs/three-layers.mlir --lattice-apply-recipe-file=file=%t/e.json 2>&1 | FileCheck %s --check-prefix=NO-RECIPE
// NO-RECIPE: error: recipe file '{{.*}}e.json': has no "recipe" (the built-in recipe whose passes run)
// RUN: echo '{"recipe": "w4a16", "layers": {}}' > %t/f.json
// RUN: not lattice-opt %S/../../Tools/Inputs/three-layers.mlir --lattice-apply-recipe-file=file=%t/f.json 2>&1 | FileCheck %s --check-prefix=LAYERS
// LAYERS: error: recipe file '{{.*}}f.json': "layers" is {}; expected an array of rules
// RUN: echo '{"recipe": "w4a16", "layers": [3]}' > %t/g.json
// RUN: not lattice-opt %S/../../Tools/Inputs/three-layers.mlir --lattice-apply-recipe-file=file=%t/g.json 2>&1 | FileCheck %s --check-prefix=RULE
// RULE: error: recipe file '{{.*}}g.json': layers[0] is 3; expected an object
// RUN: echo '{"recipe": "w4a16", "layers": [{"bits": 4}]}' > %t/h.json
// RUN: not lattice-opt %S/../../Tools/Inputs/three-layers.mlir --lattice-apply-recipe-file=file=%t/h.json 2>&1 | FileCheck %s --check-prefix=MATCH
// MATCH: error: recipe file '{{.*}}h.json': layers[0] has no "match"
// RUN: echo '{"recipe": "w4a16", "layers": [{"match": "a["}]}' > %t/i.json
// RUN: not lattice-opt %S/../../Tools/Inputs/three-layers.mlir --lattice-apply-recipe-file=file=%t/i.json 2>&1 | FileCheck %s --check-prefix=REGEX
// REGEX: error: recipe file '{{.*}}i.json': layers[0].match is "a["; expected a regular expression (brackets ([ ]) not balanced)
// RUN: echo '{"recipe": "w4a16", "layers": [{"match": ".", "bits": 9}]}' > %t/j.json
// RUN: not lattice-opt %S/../../Tools/Inputs/three-layers.mlir --lattice-apply-recipe-file=file=%t/j.json 2>&1 | FileCheck %s --check-prefix=BITS
// BITS: error: recipe file '{{.*}}j.json': layers[0].bits is 9; expected 2 to 8, "ternary" or "binary"
// RUN: echo '{"recipe": "w4a16", "layers": [{"match": ".", "granularity": "row"}]}' > %t/k.json
// RUN: not lattice-opt %S/../../Tools/Inputs/three-layers.mlir --lattice-apply-recipe-file=file=%t/k.json 2>&1 | FileCheck %s --check-prefix=GRANULARITY
// GRANULARITY: error: recipe file '{{.*}}k.json': layers[0].granularity is "row"; expected one of "tensor", "channel", "group"
// RUN: echo '{"recipe": "w4a16", "layers": [{"match": ".", "group_size": 0}]}' > %t/l.json
// RUN: not lattice-opt %S/../../Tools/Inputs/three-layers.mlir --lattice-apply-recipe-file=file=%t/l.json 2>&1 | FileCheck %s --check-prefix=GROUP
// GROUP: error: recipe file '{{.*}}l.json': layers[0].group_size is 0; expected a positive integer
// RUN: echo '{"recipe": "w4a16", "layers": [{"match": ".", "symmetric": "yes"}]}' > %t/m.json
// RUN: not lattice-opt %S/../../Tools/Inputs/three-layers.mlir --lattice-apply-recipe-file=file=%t/m.json 2>&1 | FileCheck %s --check-prefix=BOOL
// BOOL: error: recipe file '{{.*}}m.json': layers[0].symmetric is "yes"; expected true or false
// RUN: echo '{"recipe": "w4a16", "layers": [{"match": ".", "scale_type": "f64"}]}' > %t/n.json
// RUN: not lattice-opt %S/../../Tools/Inputs/three-layers.mlir --lattice-apply-recipe-file=file=%t/n.json 2>&1 | FileCheck %s --check-prefix=SCALE
// SCALE: error: recipe file '{{.*}}n.json': layers[0].scale_type is "f64"; expected one of "f32", "f16", "bf16"
// RUN: echo '{"recipe": "w4a16", "layers": [{"match": ".", "method": "awq"}]}' > %t/o.json
// RUN: not lattice-opt %S/../../Tools/Inputs/three-layers.mlir --lattice-apply-recipe-file=file=%t/o.json 2>&1 | FileCheck %s --check-prefix=METHOD
// METHOD: error: recipe file '{{.*}}o.json': layers[0].method is "awq"; expected one of "rtn", "gptq"
// RUN: echo '{"recipe": "w4a16", "layers": [{"match": ".", "damp": 0}]}' > %t/o2.json
// RUN: not lattice-opt %S/../../Tools/Inputs/three-layers.mlir --lattice-apply-recipe-file=file=%t/o2.json 2>&1 | FileCheck %s --check-prefix=DAMP
// DAMP: error: recipe file '{{.*}}o2.json': layers[0].damp is 0; expected a number in (0, 1]
// RUN: echo '{"recipe": "w4a16", "layers": [{"match": ".", "block_size": 0}]}' > %t/o4.json
// RUN: not lattice-opt %S/../../Tools/Inputs/three-layers.mlir --lattice-apply-recipe-file=file=%t/o4.json 2>&1 | FileCheck %s --check-prefix=BLOCK
// BLOCK: error: recipe file '{{.*}}o4.json': layers[0].block_size is 0; expected a positive integer
// A rule asking for GPTQ makes the recipe's pipeline need statistics.
// RUN: echo '{"recipe": "w4a16", "layers": [{"match": ".", "method": "gptq", "damp": 0.1}]}' > %t/o3.json
// RUN: not lattice-opt %S/../../Tools/Inputs/three-layers.mlir --lattice-recipe-w4a16=recipe-file=%t/o3.json 2>&1 | FileCheck %s --check-prefix=GPTQ-STATS
// GPTQ-STATS: recipe 'w4a16' uses GPTQ, which needs the statistics of the float model with the X^T X of every layer's input (float-stats)
// RUN: echo '{"recipe": "w4a16", "layers": [{"match": ".", "bitz": 4}]}' > %t/p.json
// RUN: not lattice-opt %S/../../Tools/Inputs/three-layers.mlir --lattice-apply-recipe-file=file=%t/p.json 2>&1 | FileCheck %s --check-prefix=RULE-KEY
// RULE-KEY: error: recipe file '{{.*}}p.json': layers[0] has unknown key "bitz" (known: match, bits, granularity, group_size, symmetric, scale_type, clip, method, damp, act_order, block_size, keep_float)
// RUN: echo '{"recipe": "w4a16", "layers": [{"match": ".", "clip": "kl"}]}' > %t/q.json
// RUN: not lattice-opt %S/../../Tools/Inputs/three-layers.mlir --lattice-apply-recipe-file=file=%t/q.json 2>&1 | FileCheck %s --check-prefix=CLIP
// CLIP: error: recipe file '{{.*}}q.json': layers[0].clip is "kl"; expected one of "minmax", "percentile", "mse"
// RUN: echo '{"recipe": "w4a16", "description": 1}' > %t/r.json
// RUN: not lattice-opt %S/../../Tools/Inputs/three-layers.mlir --lattice-apply-recipe-file=file=%t/r.json 2>&1 | FileCheck %s --check-prefix=DESCRIPTION
// DESCRIPTION: error: recipe file '{{.*}}r.json': "description" is 1; expected a string
// RUN: not lattice-opt %S/../../Tools/Inputs/three-layers.mlir --lattice-apply-recipe-file=file=%t/missing.json 2>&1 | FileCheck %s --check-prefix=MISSING
// MISSING: error: recipe file '{{.*}}missing.json': cannot be read: No such file or directory
// RUN: not lattice-opt %S/../../Tools/Inputs/three-layers.mlir --lattice-apply-recipe-file 2>&1 | FileCheck %s --check-prefix=NO-FILE
// NO-FILE: error: lattice-apply-recipe-file: needs file=<recipe file>
//
// The recipe pipeline checks that the file is for its recipe.
// RUN: echo '{"recipe": "w8a8-dynamic"}' > %t/s.json
// RUN: not lattice-opt %S/../../Tools/Inputs/three-layers.mlir --lattice-recipe-w4a16=recipe-file=%t/s.json 2>&1 | FileCheck %s --check-prefix=OTHER
// OTHER: error: recipe file '{{.*}}s.json' is for recipe 'w8a8-dynamic', not 'w4a16'
// RUN: not lattice-opt %S/../../Tools/Inputs/three-layers.mlir --lattice-recipe-f32=recipe-file=%t/s.json 2>&1 | FileCheck %s --check-prefix=F32
// F32: error: recipe 'f32' quantizes nothing; a recipe file needs one that does
// The mixed recipe's keys.
// RUN: echo '{"recipe": "mixed", "budget": 0}' > %t/s.json
// RUN: not lattice-opt %S/../../Tools/Inputs/three-layers.mlir --lattice-apply-recipe-file=file=%t/s.json 2>&1 | FileCheck %s --check-prefix=BUDGET
// BUDGET: error: recipe file '{{.*}}s.json': "budget" is 0; expected a positive number of bits per weight
// RUN: echo '{"recipe": "mixed", "candidates": []}' > %t/t.json
// RUN: not lattice-opt %S/../../Tools/Inputs/three-layers.mlir --lattice-apply-recipe-file=file=%t/t.json 2>&1 | FileCheck %s --check-prefix=CANDIDATES
// CANDIDATES: error: recipe file '{{.*}}t.json': "candidates" is []; expected a non-empty array of candidate schemes
// RUN: echo '{"recipe": "mixed", "candidates": ["4/g32", 4]}' > %t/u.json
// RUN: not lattice-opt %S/../../Tools/Inputs/three-layers.mlir --lattice-apply-recipe-file=file=%t/u.json 2>&1 | FileCheck %s --check-prefix=CANDIDATE-TYPE
// CANDIDATE-TYPE: error: recipe file '{{.*}}u.json': candidate 4 is not a string
// RUN: echo '{"recipe": "mixed", "candidates": ["4/g32", "5/h7"]}' > %t/v.json
// RUN: not lattice-opt %S/../../Tools/Inputs/three-layers.mlir --lattice-apply-recipe-file=file=%t/v.json 2>&1 | FileCheck %s --check-prefix=CANDIDATE
// CANDIDATE: error: recipe file '{{.*}}v.json': candidate '5/h7': expected <bits>/g<group size>, <bits>/channel or float
// RUN: echo '{"recipe": "mixed", "candidates": ["float", "float"]}' > %t/w.json
// RUN: not lattice-opt %S/../../Tools/Inputs/three-layers.mlir --lattice-apply-recipe-file=file=%t/w.json 2>&1 | FileCheck %s --check-prefix=CANDIDATE-TWICE
// CANDIDATE-TWICE: error: recipe file '{{.*}}w.json': candidate 'float' appears twice
// RUN: echo '{"recipe": "mixed", "solver": "greedy"}' > %t/x.json
// RUN: not lattice-opt %S/../../Tools/Inputs/three-layers.mlir --lattice-apply-recipe-file=file=%t/x.json 2>&1 | FileCheck %s --check-prefix=SOLVER
// SOLVER: error: recipe file '{{.*}}x.json': "solver" is "greedy"; expected "exact" or "annealing"
// RUN: echo '{"recipe": "w4a16", "budget": 4}' > %t/y.json
// RUN: not lattice-opt %S/../../Tools/Inputs/three-layers.mlir --lattice-apply-recipe-file=file=%t/y.json 2>&1 | FileCheck %s --check-prefix=NOT-MIXED
// NOT-MIXED: error: recipe file '{{.*}}y.json': "budget", "candidates", "solver" and "metric" are the mixed recipe's; this file is for 'w4a16'
// RUN: echo '{"recipe": "mixed", "metric": "mse"}' > %t/z.json
// RUN: not lattice-opt %S/../../Tools/Inputs/three-layers.mlir --lattice-apply-recipe-file=file=%t/z.json 2>&1 | FileCheck %s --check-prefix=METRIC
// METRIC: error: recipe file '{{.*}}z.json': "metric" is "mse"; expected "kl" or "nsr"
// A sensitivity file is for the mixed recipe only.
// RUN: not lattice-opt %S/../../Tools/Inputs/three-layers.mlir --lattice-recipe-w4a16=sensitivity=%S/Inputs/three-layers-sensitivity.json 2>&1 | FileCheck %s --check-prefix=SENSITIVITY
// SENSITIVITY: recipe 'w4a16' does not assign precisions (sensitivity is for mixed)
