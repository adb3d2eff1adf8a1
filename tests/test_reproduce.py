"""`reproduce`: the plan, the scaled schedule, the verdict rules on made-up measurements, and one end-to-end
run on tiny settings (real MNIST), resumed a second time in worker processes."""
import csv
import json

import pytest
import torch

from vacdemo.cli import main
from vacdemo.findings import claims, rows_for
from vacdemo.paper import L1, ROBUST, TABLE_EPS
from vacdemo.reproduce import Run, eps_grid, plan, scaled_config


def test_plan_puts_the_capacity_sweeps_first():
    runs = plan(["mnist", "fmnist"], [0.01, 0.1, 1.0, 10.0])
    assert len(runs) == 16 and len(set(runs)) == 16
    assert all(r.l1 == 0 for r in runs[:8]) and all(r.l1 > 0 for r in runs[8:])
    assert {r.capacity for r in runs[8:] if r.dataset == "fmnist"} == {10.0}
    assert [r.l1 for r in runs[8:12]] == L1["mnist"]


@pytest.mark.parametrize("dataset", ["mnist", "fmnist"])
def test_eps_grid_holds_every_table_column(dataset):
    grid = eps_grid(dataset)
    assert len(grid) == 9 and grid[0] == 0
    assert all(any(abs(g - e) < 1e-9 for g in grid) for e in TABLE_EPS[dataset])


def test_schedule_scales_with_the_epochs():
    run = Run("mnist", 1.0, 0.0)
    assert scaled_config("paper", run, None).milestones == (10, 30)
    cfg = scaled_config("paper", run, 6)  # 60 → 6 epochs: milestones 10, 30 → 1, 3; ramp 5 → 0.5
    assert (cfg.epochs, cfg.milestones, cfg.capacity_ramp_epochs) == (6, (1, 3), 0.5)
    assert scaled_config("fast", run, 1).milestones == ()  # a milestone at the last epoch would never act
    assert scaled_config("paper", Run("fmnist", 10.0, 1e-3), 7).l1 == 1e-3


def fake_measurement(dataset: str, capacity: float, l1: float, recon_reads: str) -> tuple[dict, dict]:
    """100 test images, all right when clean; at ε > 0 half are turned to class (y + 1) % 10, and the judge
    reads their reconstruction as recon_reads ('adversarial' or 'true')."""
    grid, n = eps_grid(dataset), 100
    y = torch.arange(n) % 10
    pred_adv = torch.stack([y if e == 0 else torch.where(torch.arange(n) < 50, (y + 1) % 10, y) for e in grid])
    judged = pred_adv.clone() if recon_reads == "adversarial" else y.expand(len(grid), n).clone()
    re_adv = torch.stack([torch.full((n,), 1.0 + 10 * e) for e in grid])
    t = {"y": y, "pred_clean": y.clone(), "re_clean": torch.ones(n), "judge_clean": y.clone(),
         "pred_adv": pred_adv, "re_adv": re_adv, "judge_adv": judged}
    meta = {"run": {"dataset": dataset, "capacity": capacity, "l1": l1}, "eps": grid,
            "detector": {"coef": 50.0, "intercept": -60.0}}  # τ = 1.2: flags every attacked image here
    return meta, t


def test_rows_count_robust_accuracy_and_the_judge():
    rows = rows_for(*fake_measurement("mnist", 1.0, 0.0, "adversarial"))
    assert rows[0]["robust_accuracy"] == 1.0 and rows[0]["successful_attacks"] == 0
    assert rows[0]["detection_accuracy"] == 0.5  # ε = 0: the "attacked" images are the clean ones
    for r in rows[1:]:
        assert (r["robust_accuracy"], r["successful_attacks"], r["recon_as_adversarial"]) == (0.5, 50, 1.0)
        assert r["recon_as_true"] == 0.0 and r["detection_accuracy"] == 1.0


@pytest.mark.parametrize("reads, verdict", [("adversarial", "confirmed"), ("true", "not confirmed")])
def test_the_decoder_claim_follows_the_judge(reads, verdict):
    rows = rows_for(*fake_measurement("mnist", 1.0, 0.0, reads))
    found = {c["claim"][:11]: c for c in claims(rows, "mnist", 0.15)}
    assert found["The decoder"]["verdict"] == verdict


def test_claims_without_their_models_say_not_measured():
    rows = rows_for(*fake_measurement("fmnist", 10.0, 0.0, "true"))
    verdicts = {c["claim"][:20]: c["verdict"] for c in claims(rows, "fmnist", 0.05)}
    assert verdicts["Capacity does not co"] == "not measured"  # one capacity: no sweep
    assert verdicts["ℓ1 regularisation of"] == "not measured"  # no λ > 0


def test_reproduce_end_to_end_on_tiny_settings(tmp_path, data_dir, capsys):
    work, out = tmp_path / "work", tmp_path / "report"
    args = ["reproduce", "--dataset", "mnist", "--epochs", "1", "--train-images", "640", "--n-test", "40",
            "--n-fit", "40", "--steps", "3", "--capacities", "0.1", "1", "--data-dir", str(data_dir),
            "--device", "cpu", "--work", str(work), "--out", str(out)]
    assert main([*args, "--jobs", "1"]) == 0
    md = (out / "reproduce.md").read_text()
    assert "Tables 1 and 3" in md and f"{ROBUST['mnist'][1e-6][0]:.3f}" in md  # the paper's numbers beside ours
    assert "judge CNN (mnist)" in md and "confirmed" in md
    html = (out / "reproduce.html").read_text()
    assert "plotly" in html and html.count("<table>") >= 4
    with open(out / "reproduce.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == (2 + 4) * 9  # two capacities and four λ, nine ε each
    assert {float(r["robust_accuracy"]) <= float(r["clean_accuracy"]) for r in rows if float(r["eps"]) == 0} == {True}
    # again, in two worker processes: everything is reused, nothing retrained
    assert main([*args, "--jobs", "2"]) == 0
    calls = json.loads((work / "run.json").read_text())["invocations"]
    assert len(calls) == 2 and {r["status"] for r in calls[1]["results"]} == {"reused"}
    assert "reused" in capsys.readouterr().out


def test_report_only_without_measurements_is_one_clear_line(tmp_path, capsys):
    assert main(["reproduce", "--report-only", "--work", str(tmp_path / "empty"), "--out", str(tmp_path)]) == 2
    assert "no measurements under" in capsys.readouterr().err


def test_bad_settings_are_refused(capsys):
    assert main(["reproduce", "--epochs", "0", "--report-only"]) == 2
    assert "must be ≥ 1" in capsys.readouterr().err
