// model_ort.js - times an ONNX model in ONNX Runtime (the npm package
// onnxruntime-node), one call per window, as bench/model.py times Lattice.
//
//   NODE_PATH=<npm folder>/node_modules node model_ort.js MODEL.onnx WINDOWS.bin
//       INPUT ROWS COLS THREADS ROUNDS
//
// WINDOWS.bin holds int64 token windows [n, ROWS, COLS]. Prints one line:
// `median_us=<per call, median over rounds of the mean> calls=<n>`.
'use strict';
const fs = require('fs');
const ort = require('onnxruntime-node');

async function main() {
  const [model, windowsPath, input, rowsArg, colsArg, threadsArg, roundsArg] =
      process.argv.slice(2);
  const rows = parseInt(rowsArg, 10), cols = parseInt(colsArg, 10);
  const bytes = fs.readFileSync(windowsPath);
  const all = new BigInt64Array(bytes.buffer, bytes.byteOffset, bytes.length / 8);
  const size = rows * cols, count = all.length / size;
  const session = await ort.InferenceSession.create(model, {
    intraOpNumThreads: parseInt(threadsArg, 10), interOpNumThreads: 1,
    executionMode: 'sequential', graphOptimizationLevel: 'all',
  });
  const feeds = [];
  for (let i = 0; i < count; i++)
    feeds.push({[input]: new ort.Tensor('int64', all.slice(i * size, (i + 1) * size), [rows, cols])});
  await session.run(feeds[0]);
  const means = [];
  for (let round = 0; round < parseInt(roundsArg, 10); round++) {
    const start = process.hrtime.bigint();
    for (const feed of feeds) await session.run(feed);
    means.push(Number(process.hrtime.bigint() - start) / 1e3 / count);
  }
  means.sort((a, b) => a - b);
  console.log(`median_us=${means[Math.floor(means.length / 2)].toFixed(1)} calls=${count}`);
}

main().catch((e) => { console.error(String(e.message || e)); process.exit(1); });
