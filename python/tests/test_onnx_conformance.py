"""ONNX's backend node tests (Debian's libonnx-testdata), compiled and run
by onnx_conformance.py: no test may end in a traceback, and every test's
outcome must be the one that onnx_conformance_expected.json records (a
test that passed must still pass; one that now passes, or fails another
way, means the expectations, and the table in docs/ONNX.md, are to be
written again: `python3 python/tests/onnx_conformance.py --write`)."""

import json
import os

import pytest

import onnx_conformance as conformance
from lattice import tools

pytestmark = [
    pytest.mark.skipif(tools.missing() is not None, reason=str(tools.missing())),
    pytest.mark.skipif(not conformance.DEFAULT_DATA.is_dir(),
                       reason="ONNX's node tests are not installed (libonnx-testdata)"),
]


@pytest.fixture(scope="module")
def results():
    pytest.importorskip("onnx")
    return conformance.run_all(conformance.tests(conformance.DEFAULT_DATA),
                               os.cpu_count() or 1)


def test_no_test_ends_in_a_traceback(results):
    errors = [f"{r['test']}: {r['detail']}" for r in results if r["outcome"] == "error"]
    assert not errors, "\n".join(errors)


def test_outcomes_are_the_expected_ones(results):
    expected = json.loads(conformance.EXPECTED.read_text())
    regressed, changed = [], []
    for r in results:
        before = expected.get(r["test"])
        if before is None or before == r["outcome"]:
            continue
        line = f"{r['test']}: expected {before}, got {r['outcome']}: {r['detail']}"
        (regressed if before == "pass" else changed).append(line)
    assert not regressed, "tests that passed no longer do:\n" + "\n".join(regressed)
    assert not changed, ("outcomes changed (write the expectations again with "
                         "onnx_conformance.py --write):\n" + "\n".join(changed))
