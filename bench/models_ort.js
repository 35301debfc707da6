// models_ort.js - times an ONNX model in ONNX Runtime (the npm package
// onnxruntime-node) on prepared inputs, one call per sample, as
// bench/models.py times Lattice.
//
//   NODE_PATH=<npm folder>/node_modules node models_ort.js MODEL.onnx
//       MANIFEST.json THREADS ROUNDS
//
// MANIFEST.json: {"calls": n, "inputs": [{"name", "dtype" (float32, int64
// or int32), "shape" (of one call), "file" (n calls stacked, raw)}]}.
// Prints one line: `median_us=<per call, median over rounds of the mean>`.
'use strict';
const fs = require('fs');
const path = require('path');
const ort = require('onnxruntime-node');

const ARRAYS = {float32: Float32Array, int64: BigInt64Array, int32: Int32Array};

async function main() {
  const [model, manifestPath, threadsArg, roundsArg, minRoundArg] = process.argv.slice(2);
  const minRoundNs = BigInt(Math.round(parseFloat(minRoundArg || '0') * 1e9));
  const manifest = JSON.parse(fs.readFileSync(manifestPath, 'utf8'));
  const folder = path.dirname(manifestPath);
  const feeds = [];
  for (let i = 0; i < manifest.calls; i++)
    feeds.push({});
  for (const input of manifest.inputs) {
    const Type = ARRAYS[input.dtype];
    const bytes = fs.readFileSync(path.join(folder, input.file));
    const all = new Type(bytes.buffer, bytes.byteOffset, bytes.length / Type.BYTES_PER_ELEMENT);
    const size = input.shape.reduce((a, b) => a * b, 1);
    for (let i = 0; i < manifest.calls; i++)
      feeds[i][input.name] = new ort.Tensor(input.dtype, all.slice(i * size, (i + 1) * size), input.shape);
  }
  const session = await ort.InferenceSession.create(model, {
    intraOpNumThreads: parseInt(threadsArg, 10), interOpNumThreads: 1,
    executionMode: 'sequential', graphOptimizationLevel: 'all',
  });
  await session.run(feeds[0]);
  const means = [];
  for (let round = 0; round < parseInt(roundsArg, 10); round++) {
    // As bench/models.py times Lattice: the inputs once or more, until the
    // round has lasted minRound seconds.
    let count = 0;
    const start = process.hrtime.bigint();
    while (count === 0 || process.hrtime.bigint() - start < minRoundNs) {
      for (const feed of feeds) await session.run(feed);
      count += feeds.length;
    }
    means.push(Number(process.hrtime.bigint() - start) / 1e3 / count);
  }
  means.sort((a, b) => a - b);
  console.log(`median_us=${means[Math.floor(means.length / 2)].toFixed(1)}`);
}

main().catch((e) => { console.error(String(e.message || e)); process.exit(1); });
