"""ONNX's backend node tests, compiled by Lattice and compared as ONNX's
runner compares them.

Debian's libonnx-testdata ships ONNX's node tests: one small model per
folder (model.onnx) with input and expected output tensors
(test_data_set_*/input_*.pb, output_*.pb). Each test is compiled with the
f32 recipe (lattice.compile, as a user would), run on every data set, and
its outputs compared with the expected ones: same dtype and shape, values
within rtol 1e-3 and atol 1e-7 (numpy's assert_allclose, as ONNX's runner).
Many tests pass the parameters that decide shapes (a Reshape's shape,
Slice's bounds, Resize's scales) as graph inputs; the importer names those
it needs as constants, and the runner binds them to the data set's values
(`bind`, as a user would with `--bind`), once per distinct set of them.

    python3 python/tests/onnx_conformance.py [--data DIR] [--jobs N]
        [--filter REGEX] [--json results.json] [--write]

prints a line per test that does not pass and the coverage by operator;
--write stores the outcomes as the expectations that the test suite holds
(python/tests/onnx_conformance_expected.json) and the coverage table in
docs/ONNX.md, between its conformance markers.

Outcomes:
    pass      every output matches
    mismatch  an output differs in value, shape or dtype (a miscompile, or
              a type the runtime returns differently: int64 as int32)
    rejected  the importer refused the model with a diagnostic (an
              unsupported operator, type or attribute)
    failed    the compiler failed on what the importer wrote: a bug
    error     a crash of the compiler, or a traceback: always a bug
Training operators (the ai.onnx.preview.training domain, the loss
functions, training-mode batch norm) are counted apart.
"""

import argparse
import json
import multiprocessing
import os
import pathlib
import re
import sys
import tempfile
import traceback

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "python"))

DEFAULT_DATA = pathlib.Path("/usr/share/libonnx-testdata/data/node")
EXPECTED = pathlib.Path(__file__).with_name("onnx_conformance_expected.json")
DOCS = ROOT / "docs" / "ONNX.md"
BEGIN, END = "<!-- conformance begin -->", "<!-- conformance end -->"
RTOL, ATOL = 1e-3, 1e-7

TRAINING_OPS = {"NegativeLogLikelihoodLoss", "SoftmaxCrossEntropyLoss"}
TRAINING_DOMAIN = "ai.onnx.preview.training"


def _tensor(path):
    from onnx import TensorProto, numpy_helper
    tensor = TensorProto()
    tensor.ParseFromString(path.read_bytes())
    return numpy_helper.to_array(tensor)


def describe(folder):
    """(operator, op types of the graph, training?) of the test in
    `folder`. The operator of an '_expanded' test is its operator before
    expansion (the name's), of the others the graph's first node."""
    import onnx
    model = onnx.load(str(folder / "model.onnx"), load_external_data=False)
    ops = [node.op_type for node in model.graph.node if node.op_type != "Constant"]
    training = any(node.domain == TRAINING_DOMAIN for node in model.graph.node) or \
        "training" in folder.name
    operator = ops[0] if ops else "Constant"
    if folder.name.endswith("_expanded"):
        base = folder.with_name(folder.name[:-len("_expanded")])
        if (base / "model.onnx").is_file():
            operator = describe(base)[0]
    training = training or operator in TRAINING_OPS
    return operator, sorted(set(ops)), training


def run_test(folder):
    """The outcome of one test: {"test", "outcome", "detail", "bound"}.
    Inputs that the importer needs as constants (the parameters that decide
    shapes: it names them, with `--bind`) are bound to the data set's
    values, one compilation per distinct set of them; "bound" lists them."""
    from lattice import compiler
    folder = pathlib.Path(folder)
    result = {"test": folder.name}
    try:
        operator, ops, training = describe(folder)
        result.update(operator=operator, ops=ops, training=training)
        names, data_sets = _data_sets(folder)
    except Exception as error:  # a test that onnx cannot read: not ours
        result.update(outcome="error", detail=f"unreadable test: {error}")
        return result
    bound, compiled = [], {}
    with tempfile.TemporaryDirectory(prefix="lattice-conformance-") as work:
        try:
            for set_name, inputs, expected in data_sets:
                unreadable = expected if inputs is None else None
                inputs = inputs or {}
                while True:
                    key = tuple(inputs[name].tobytes() for name in bound)
                    if key in compiled:
                        break
                    try:
                        compiled[key] = compiler.compile(
                            folder / "model.onnx", "f32", quiet=True,
                            output=pathlib.Path(work) / f"model{len(compiled)}",
                            bind={name: inputs[name] for name in bound})
                        break
                    except compiler.CompileError as error:
                        asked = re.search(r"--bind (\S+)=FILE\.npy", str(error))
                        if asked and asked.group(1) in inputs and asked.group(1) not in bound:
                            bound.append(asked.group(1))
                            continue
                        result.update(_compile_failure(str(error), work), bound=bound)
                        return result
                if unreadable is not None:
                    result.update(outcome="error", bound=bound,
                                  detail=_short(f"unreadable test data: {unreadable}"))
                    return result
                model = compiled[key]
                args = [inputs[name] for name in names if name not in bound]
                outcome = _compare(model, set_name, args, expected)
                if outcome["outcome"] != "pass":
                    result.update(outcome, bound=bound)
                    return result
        except Exception:
            result.update(outcome="error", detail=_tail(traceback.format_exc()),
                          bound=bound)
            return result
        finally:
            for model in compiled.values():
                model.close()
    result.update(outcome="pass", detail="", bound=bound)
    return result


def _compile_failure(text, work):
    """The outcome of a compilation that failed with `text`."""
    lines = [line for line in text.splitlines() if line.strip()]
    # The importer's diagnostics refuse what it does not support; the
    # compiler failing on what the importer wrote is a bug.
    outcome = "failed" if text.startswith("lattice-compile failed") else "rejected"
    if "Stack dump" in text or "PLEASE submit a bug report" in text:
        outcome = "error"  # the compiler crashed
    detail = next((line for line in lines if "error:" in line), lines[-1] if lines else "")
    detail = re.sub(re.escape(str(work)) + r"/model\d*\.work/", "", detail)
    return {"outcome": outcome, "detail": _short(detail)}


def _data_sets(folder):
    """The names of the graph inputs (initializers left out), and each data
    set: (its name, {input name: array}, the expected outputs). bfloat16
    inputs, which onnx reads as uint16 bit patterns (numpy has no
    bfloat16), become the f32 values they stand for."""
    import onnx
    model = onnx.load(str(folder / "model.onnx"), load_external_data=False)
    initializers = {t.name for t in model.graph.initializer}
    graph_inputs = [i for i in model.graph.input if i.name not in initializers]
    names = [i.name for i in graph_inputs]
    bfloat16 = {i.name for i in graph_inputs
                if i.type.tensor_type.elem_type == onnx.TensorProto.BFLOAT16}
    data_sets = []
    for data_set in sorted(folder.glob("test_data_set_*")):
        try:
            arrays = [_tensor(p) for p in sorted(data_set.glob("input_*.pb"), key=_index)]
            expected = [_tensor(p) for p in sorted(data_set.glob("output_*.pb"),
                                                   key=_index)]
        except Exception as error:  # sequences and optionals: numpy cannot hold them
            data_sets.append((data_set.name, None, f"{error}"))
            continue
        inputs = {}
        for name, x in zip(names, arrays):
            if name in bfloat16 and x.dtype == np.uint16:
                x = (x.astype(np.uint32) << 16).view(np.float32)
            inputs[name] = x
        data_sets.append((data_set.name, inputs, expected))
    return names, data_sets


def _compare(model, set_name, inputs, expected):
    """The outcome of running `model` on one data set."""
    try:
        actual = model(*inputs)
    except Exception as error:
        # The runtime checks shapes and types of inputs: a refusal.
        return {"outcome": "rejected", "detail": _short(f"run: {error}")}
    if len(actual) != len(expected):
        return {"outcome": "mismatch",
                "detail": f"{len(actual)} outputs, expected {len(expected)}"}
    for index, (a, e) in enumerate(zip(actual, expected)):
        where = f"{set_name} output {index}"
        if a.dtype != e.dtype:
            return {"outcome": "mismatch",
                    "detail": f"{where}: dtype {a.dtype}, expected {e.dtype}"}
        if a.shape != e.shape:
            return {"outcome": "mismatch",
                    "detail": f"{where}: shape {list(a.shape)}, expected {list(e.shape)}"}
        try:
            np.testing.assert_allclose(a, e, rtol=RTOL, atol=ATOL)
        except AssertionError as error:
            text = [line.strip() for line in str(error).splitlines()
                    if "Max" in line or "Mismatched" in line]
            return {"outcome": "mismatch", "detail": f"{where}: " + "; ".join(text)}
    return {"outcome": "pass", "detail": ""}


def _index(path):
    return int(re.search(r"_(\d+)\.pb$", path.name).group(1))


def _short(text, limit=300):
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _tail(text, limit=300):
    """The end of a traceback, where the exception is."""
    text = " ".join(text.split())
    return text if len(text) <= limit else "..." + text[-(limit - 3):]


def tests(data, pattern=None):
    folders = sorted(p for p in data.iterdir() if (p / "model.onnx").is_file())
    if pattern:
        folders = [p for p in folders if re.search(pattern, p.name)]
    return folders


def run_all(folders, jobs):
    if jobs <= 1:
        return [run_test(f) for f in folders]
    # Each test compiles in its own folder; a fresh process per few tests
    # keeps one test's state (loaded libraries) from the next.
    with multiprocessing.get_context("spawn").Pool(jobs, maxtasksperchild=16) as pool:
        return pool.map(run_test, [str(f) for f in folders], chunksize=4)


def claimed(ops):
    """Whether the importer has a handler for every op in `ops`."""
    from lattice.onnx_import.importer import _Importer
    return all(hasattr(_Importer, "op_" + op) for op in ops)


def summary(results):
    """Counts over the tests that are not training operators'."""
    counted = [r for r in results if not r.get("training")]
    outcomes = {}
    for r in counted:
        outcomes[r["outcome"]] = outcomes.get(r["outcome"], 0) + 1
    in_claimed = [r for r in counted if claimed(r.get("ops", []))]
    return {
        "tests": len(counted),
        "training": len(results) - len(counted),
        "outcomes": outcomes,
        "pass_rate": outcomes.get("pass", 0) / max(len(counted), 1),
        "claimed": len(in_claimed),
        "claimed_pass_rate": sum(r["outcome"] == "pass" for r in in_claimed) /
        max(len(in_claimed), 1),
        "bound": sum(r["outcome"] == "pass" and bool(r.get("bound")) for r in counted),
    }


def coverage_table(results):
    """Markdown: per operator, its tests and how many pass, and the reasons
    of the others (the first of each outcome)."""
    by_operator = {}
    for r in results:
        if r.get("training"):
            continue
        by_operator.setdefault(r.get("operator", "?"), []).append(r)
    s = summary(results)
    lines = [
        f"{s['tests']} tests (training operators' {s['training']} left out): "
        f"{s['outcomes'].get('pass', 0)} pass ({100 * s['pass_rate']:.1f} %; "
        f"{s['bound']} of them with inputs bound at compile time, `--bind`); "
        f"of the {s['claimed']} whose operators the importer claims, "
        f"{100 * s['claimed_pass_rate']:.1f} % pass. Outcomes: " +
        ", ".join(f"{k} {v}" for k, v in sorted(s["outcomes"].items())) + ".",
        "",
        "| operator | pass / tests | why the others do not pass (first of each kind) |",
        "| --- | --- | --- |",
    ]
    for operator in sorted(by_operator):
        rs = by_operator[operator]
        passed = sum(r["outcome"] == "pass" for r in rs)
        reasons = {}
        for r in rs:
            if r["outcome"] != "pass" and r["outcome"] not in reasons:
                detail = r["detail"].replace("|", "\\|")
                reasons[r["outcome"]] = f"{r['outcome']}: `{r['test']}`: {detail[:160]}"
        lines.append(f"| {operator} | {passed} / {len(rs)} | "
                     f"{'<br>'.join(reasons.values())} |")
    return "\n".join(lines)


def write_docs(table):
    text = DOCS.read_text()
    begin, end = text.index(BEGIN), text.index(END)
    DOCS.write_text(text[:begin + len(BEGIN)] + "\n\n" + table + "\n\n" + text[end:])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=pathlib.Path, default=DEFAULT_DATA)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--filter", help="only the tests whose name matches")
    parser.add_argument("--json", type=pathlib.Path, help="write every outcome here")
    parser.add_argument("--write", action="store_true",
                        help="store the outcomes as the expectations, and the table "
                             "in docs/ONNX.md")
    args = parser.parse_args(argv)
    if not args.data.is_dir():
        parser.error(f"{args.data}: no such folder (install libonnx-testdata)")
    results = run_all(tests(args.data, args.filter), args.jobs)
    for r in results:
        if r["outcome"] != "pass":
            print(f"{r['test']}: {r['outcome']}: {r['detail']}")
    table = coverage_table(results)
    print("\n" + table)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1) + "\n")
    if args.write:
        EXPECTED.write_text(json.dumps(
            {r["test"]: r["outcome"] for r in results}, indent=0, sort_keys=True) + "\n")
        write_docs(table)
    return 1 if any(r["outcome"] == "error" for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
