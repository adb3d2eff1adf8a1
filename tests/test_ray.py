"""The study on Ray (issue 16): a local Ray instance runs a two-model plan and measures exactly what the
local process pool measures. Ray is a test requirement (requirements-ray.txt): this test cannot be skipped."""
import json

import pytest
import ray  # noqa: F401  (installed by make test: a missing Ray fails here, loudly)
import torch
from safetensors.torch import load_file

from vacdemo.cli import main

pytestmark = pytest.mark.slow  # a local Ray instance and two trainings


def test_ray_backend_measures_what_the_local_backend_measures(tmp_path, data_dir):
    def study(work, *backend):
        args = ["reproduce", "--dataset", "mnist", "--epochs", "1", "--train-images", "256", "--n-test", "24",
                "--n-fit", "24", "--steps", "2", "--capacities", "0.1", "1", "--no-l1-sweep", "--data-dir",
                str(data_dir), "--device", "cpu", "--work", str(work), "--no-report", "--jobs", "1", *backend]
        assert main(args) == 0
        return {p.parent.name: load_file(str(p)) for p in work.glob("*/measure.safetensors")}

    local, on_ray = study(tmp_path / "local"), study(tmp_path / "ray", "--backend", "ray")
    assert sorted(local) == sorted(on_ray) == ["mnist-C0.1-l1_0", "mnist-C1-l1_0"]
    for name in local:
        assert local[name].keys() == on_ray[name].keys()
        for k in local[name]:
            assert torch.equal(local[name][k], on_ray[name][k]), (name, k)
    calls = json.loads((tmp_path / "ray" / "run.json").read_text())["invocations"]
    assert calls[0]["settings"]["backend"] == "ray" and {r["status"] for r in calls[0]["results"]} == {"done"}
