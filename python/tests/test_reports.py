"""lattice.report: per-layer figures against PyTorch's own activations."""

import math
import warnings

import numpy as np
import pytest

import lattice
from lattice import tools

torch = pytest.importorskip("torch")
pytest.importorskip("onnx")
nn = torch.nn

pytestmark = pytest.mark.skipif(tools.missing() is not None,
                                reason=str(tools.missing()))


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(64, 128, bias=False)
        self.fc2 = nn.Linear(128, 64, bias=False)
        self.fc3 = nn.Linear(64, 16, bias=False)

    def forward(self, x):
        return self.fc3(torch.relu(self.fc2(torch.relu(self.fc1(x)))))


def test_report_against_pytorch(tmp_path):
    torch.manual_seed(0)
    net = Net().eval()
    x = torch.randn(8, 64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(net, x, str(tmp_path / "net.onnx"), opset_version=13,
                          input_names=["x"])
    samples = [(torch.randn(8, 64).numpy(),) for _ in range(4)]
    captured = {name: [] for name in ("fc1", "fc2", "fc3")}
    for name in captured:
        getattr(net, name).register_forward_hook(
            lambda module, inputs, output, name=name: captured[name].append(output))
    with torch.no_grad():
        for (sample,) in samples:
            net(torch.from_numpy(sample))

    rep = lattice.report(tmp_path / "net.onnx", "w4a16-g32", samples, tmp_path / "plots",
                         quiet=True)
    assert [row["layer"] for row in rep.rows] == ["fc1", "fc2", "fc3"]
    for row in rep.rows:
        # The float model's activations are PyTorch's.
        outputs = torch.cat(captured[row["layer"]]).numpy().astype(np.float64)
        assert row["rms_float"] == pytest.approx(np.sqrt(np.mean(outputs ** 2)), rel=1e-5)
        assert row["bits"] == pytest.approx(4.5)
        assert 10 < row["weight_sqnr"] < 30
        # 30 dB of weight noise in one layer costs at most a few dB more.
        assert 20 < row["sensitivity"] < 40
        assert abs(row["drift"]) < 0.1
    # Errors compound: the first layer's output is as good as its weight,
    # and no later layer is better than the model output allows.
    first = rep.rows[0]
    assert abs(first["output_sqnr"] - first["weight_sqnr"]) < 6
    assert rep.rows[-1]["output_sqnr"] == pytest.approx(rep.output_sqnr, abs=1e-6)
    assert math.isfinite(rep.output_sqnr)
    table = rep.table()
    assert "fc2" in table and "model output SQNR" in table
    pytest.importorskip("matplotlib")
    assert sorted(p.rsplit("/", 1)[1] for p in rep.plots) == [
        "drift.png", "rms.png", "sensitivity.png", "sqnr.png"]
