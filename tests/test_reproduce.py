"""`reproduce`: the plan, the scaled schedule, each verdict rule both ways on made-up measurements, and one
end-to-end run on tiny settings (real MNIST), resumed in worker processes, then re-measured."""
import csv
import json
import re
import subprocess
import sys

import pytest
import torch

from conftest import ROOT
from vacdemo.cli import main
from vacdemo.study.findings import Study, claims, rows_for
from vacdemo.paper import L1, ROBUST, TABLE_EPS
from vacdemo.study.reproduce import Run, eps_grid, plan, scaled_config
from vacdemo.models.vac import build_model


def test_plan_puts_the_capacity_sweeps_first():
    runs = plan(["mnist", "fmnist"], [0.01, 0.1, 1.0, 10.0])
    assert len(runs) == 16 and len(set(runs)) == 16
    assert all(r.l1 == 0 for r in runs[:8]) and all(r.l1 > 0 for r in runs[8:])
    assert {r.capacity for r in runs[8:] if r.dataset == "fmnist"} == {10.0}
    assert [r.l1 for r in runs[8:12]] == L1["mnist"]


def test_plan_goes_seed_by_seed_then_the_extra_l1():
    runs = plan(["mnist"], [0.1, 1.0], seeds=3, extra_l1=(1e-3, 1e-6))  # 1e-6 is the paper's: not twice
    assert [r.seed for r in runs[:6]] == [0] * 6 and [r.seed for r in runs[12:18]] == [2] * 6
    assert runs[-1] == Run("mnist", 1.0, 1e-3, 0) and len(runs) == 19
    assert runs[6].name == "mnist-C0.1-l1_0-s1" and runs[0].name == "mnist-C0.1-l1_0"


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


def fake_measurement(dataset: str, capacity: float, l1: float, recon_reads: str = "adversarial", turned=100,
                     re_gain: float = 10.0, adversarial_from: float = 0.0, re_clean: float = 1.0,
                     seed: int = 0) -> tuple[dict, dict]:
    """200 test images, all right when clean; at ε > 0 the first `turned` (a number, or a function of ε)
    become class (y + 1) % 10, and the judge reads their reconstruction as recon_reads ('adversarial' or 'true';
    'adversarial' only from ε ≥ adversarial_from). RE is re_clean when clean and rises by re_gain per unit of ε;
    the detector flags RE > 1.2."""
    grid, n = eps_grid(dataset), 200
    y = torch.arange(n) % 10
    k = turned if callable(turned) else (lambda e: turned)
    pred_adv = torch.stack([y if e == 0 else torch.where(torch.arange(n) < k(e), (y + 1) % 10, y) for e in grid])
    judged = torch.stack([p if recon_reads == "adversarial" and e >= adversarial_from else y
                          for p, e in zip(pred_adv, grid)])
    re_adv = torch.stack([torch.full((n,), re_clean + re_gain * e) for e in grid])
    t = {"y": y, "pred_clean": y.clone(), "re_clean": torch.full((n,), re_clean), "judge_clean": y.clone(),
         "pred_adv": pred_adv, "re_adv": re_adv, "judge_adv": judged}
    meta = {"run": {"dataset": dataset, "capacity": capacity, "l1": l1, "seed": seed}, "eps": grid,
            "detector": {"coef": 50.0, "intercept": -60.0}}  # τ = 1.2
    return meta, t


def verdicts(measurements, dataset="mnist", fig_eps=0.15) -> dict[str, str]:
    return {c["claim"][:20]: c["verdict"] for c in claims(Study(measurements), dataset, fig_eps)}


def test_rows_count_robust_accuracy_detection_and_the_judge():
    rows = rows_for(*fake_measurement("mnist", 1.0, 0.0))
    assert rows[0]["robust_accuracy"] == 1.0 and rows[0]["successful_attacks"] == 0
    assert rows[0]["detection_accuracy"] == 0.5  # ε = 0: the "attacked" images are the clean ones
    assert rows[0]["detection_tnr"] == 1.0  # the paper's ε = 0 quantity: every clean image let through
    for r in rows[1:]:
        assert (r["robust_accuracy"], r["successful_attacks"], r["recon_as_adversarial"]) == (0.5, 100, 1.0)
        assert r["recon_as_true"] == 0.0 and r["detection_accuracy"] == 1.0


def test_detection_over_successful_attacks_only_on_a_known_case():
    # ε = 0.0375 raises RE to 1.375 > τ: every attacked image flagged; 50 of 200 attacks succeed
    meta, t = fake_measurement("mnist", 1.0, 0.0, turned=50)
    t["re_clean"][:20] = 2.0  # 20 clean images wrongly flagged: TNR 0.9
    r = rows_for(meta, t)[1]
    assert r["detection_tnr"] == pytest.approx(0.9)
    assert r["detection_accuracy"] == pytest.approx((180 + 200) / 400)  # every attack counted
    assert r["detection_accuracy_successful"] == pytest.approx((180 + 50) / 250)  # clean + the 50 successful
    study = Study([(meta, t)])
    assert study.stat("mnist", 1.0, 0.0, "detection_successful", 1).mean == pytest.approx((180 + 50) / 250)


def test_seed_means_and_spread():
    ms = [fake_measurement("mnist", 1.0, 0.0, turned=k, seed=s) for s, k in enumerate((40, 50, 60))]
    study = Study(ms)
    row = [r for r in study.mean_rows if r["eps"] > 0][0]
    assert row["seeds"] == 3 and row["robust_accuracy"] == pytest.approx(0.75)
    assert row["robust_accuracy_sd"] == pytest.approx(0.05)  # 0.8, 0.75, 0.7
    s = study.stat("mnist", 1.0, 0.0, "robust", 1)
    assert s.sd == pytest.approx(0.05) and study.margin_one(s) >= 0.1  # twice the seed s.d.


@pytest.mark.parametrize("reads, start, verdict", [("adversarial", 0.0, "confirmed"), ("true", 0.0, "not confirmed"),
                                                   ("adversarial", 0.2, "confirmed at larger ε only")])
def test_the_decoder_claim_follows_the_judge(reads, start, verdict):
    found = verdicts([fake_measurement("mnist", 1.0, 0.0, reads, adversarial_from=start)])
    assert found["The decoder reconstr"] == verdict


def seeds(dataset, capacity, l1, turned, jitter=(0, 0, 0), **kw) -> list:
    """Three seeds of one setting, the turned count moved by jitter per seed."""
    return [fake_measurement(dataset, capacity, l1, turned=turned + j, seed=s, **kw) for s, j in enumerate(jitter)]


def test_capacity_claims_follow_the_sweep():
    # robustness falls steadily with C (40, 80, 120, 160 of 200 turned): capacity does control it
    trend = [m for c, k in ((0.01, 40), (0.1, 80), (1.0, 120), (10.0, 160)) for m in seeds("mnist", c, 0.0, k)]
    assert verdicts(trend)["Capacity does not co"] == "not confirmed"
    flat = [m for c in (0.01, 0.1, 1.0, 10.0) for m in seeds("mnist", c, 0.0, 100)]
    assert verdicts(flat)["Capacity does not co"] == "confirmed"
    # 16 points between capacities, but seeds of one capacity already differ by ±20 points: within the margin,
    # and a margin that wide could not have seen an effect of 0.1: a null result without power is inconclusive
    noisy = [m for c, k in ((0.01, 100), (1.0, 132)) for m in seeds("mnist", c, 0.0, k, jitter=(-40, 0, 40))]
    assert verdicts(noisy)["Capacity does not co"].startswith("inconclusive (could detect ≥ 0.")
    # C = 0.01's attacked images barely raise RE, so it detects worse; the claim also wants its clean RE highest
    def sweep(clean_re_low: float):
        return [m for c, g, re in ((0.01, 0.1, clean_re_low), (0.1, 10.0, 1.1), (1.0, 10.0, 1.1))
                for m in seeds("mnist", c, 0.0, 100, re_gain=g, re_clean=re)]
    assert verdicts(sweep(1.0))["Capacity matters for"] == "not confirmed"
    assert verdicts(sweep(1.15))["Capacity matters for"] == "confirmed"


def test_l1_claims_both_ways():
    base = seeds("fmnist", 10.0, 0.0, 120, re_gain=30.0)
    more_robust = [m for lam in L1["fmnist"] for m in seeds("fmnist", 10.0, lam, 80, re_gain=2.0)]
    found = verdicts(base + more_robust, "fmnist", 0.05)
    assert found["ℓ1 regularisation of"] == "not confirmed"  # λ > 0 keeps 20 points more at every ε
    assert found["ℓ1 regularisation lo"] == "confirmed"  # re_gain 2: RE stays ≤ τ, nothing detected
    same = [m for lam in L1["fmnist"] for m in seeds("fmnist", 10.0, lam, 120, re_gain=30.0)]
    found = verdicts(base + same, "fmnist", 0.05)
    assert found["ℓ1 regularisation of"] == "confirmed"
    # every attack detected at every ε for every λ: saturated columns cannot show a drop, so no power at all
    assert found["ℓ1 regularisation lo"] == "inconclusive"


def test_headline_claims_read_every_column():
    everything = verdicts(seeds("mnist", 1.0, 0.0, 200, re_gain=30.0))
    assert everything["The β-VAC is not rob"] == "confirmed" and everything["Its reconstruction e"] == "confirmed"
    kept = verdicts(seeds("mnist", 1.0, 0.0, 120))  # 40 % kept at every ε
    assert kept["The β-VAC is not rob"] == "not confirmed"
    # robust at the first table column (ε = 0.075) only, as our paper-width models: the verdict says so
    first = verdicts([fake_measurement("mnist", 1.0, 0.0, turned=lambda e: 80 if e < 0.1 else 200, seed=s)
                      for s in range(3)])
    assert first["The β-VAC is not rob"] == "confirmed from ε = 0.15 on"
    # re_gain 0.5: RE stays under τ until ε = 0.4: nothing detected at any column
    assert verdicts(seeds("mnist", 1.0, 0.0, 200, re_gain=0.5))["Its reconstruction e"] == "not confirmed"


def test_claims_without_their_models_say_not_measured():
    found = verdicts([fake_measurement("fmnist", 10.0, 0.0, "true")], "fmnist", 0.05)
    assert found["Capacity does not co"] == "not measured"  # one capacity: no sweep
    assert found["ℓ1 regularisation of"] == "not measured"  # no λ > 0


def test_an_interrupted_study_records_the_part_it_ran(tmp_path, monkeypatch):
    from vacdemo.study import reproduce as study
    calls = []

    def job(run, quiet, *, s, threads):  # the first model finishes, then Ctrl-C (or SIGTERM, via the CLI)
        calls.append(run.name)
        if len(calls) > 1:
            raise KeyboardInterrupt
        return {"run": run.name, "status": "done"}
    monkeypatch.setattr(study, "ensure_judges", lambda datasets, s: None)
    monkeypatch.setattr(study, "run_job", job)
    s = study.Settings(preset="fast", epochs=1, n_test=10, n_fit=10, steps=1, device="cpu", jobs=1, work=str(tmp_path))
    with pytest.raises(KeyboardInterrupt):
        study.reproduce(["mnist"], [1.0, 10.0], s, command="python -m vacdemo reproduce …")
    (call,) = json.loads((tmp_path / "run.json").read_text())["invocations"]
    assert call["results"] == [{"run": calls[0], "status": "done"}] and "interrupted" in call and "finished" not in call


@pytest.mark.slow  # trains and measures two tiny models
def test_reproduce_end_to_end_on_tiny_settings(tmp_path, data_dir):
    work, out = tmp_path / "work", tmp_path / "report"
    args = ["reproduce", "--dataset", "mnist", "--epochs", "1", "--train-images", "640", "--n-test", "40",
            "--n-fit", "40", "--steps", "3", "--capacities", "0.1", "1", "--data-dir", str(data_dir),
            "--device", "cpu", "--work", str(work), "--out", str(out)]
    assert main([*args, "--jobs", "1"]) == 0
    md = (out / "reproduce.md").read_text()
    assert "Tables 1 and 3" in md and f"{ROBUST['mnist'][1e-6][0]:.3f}" in md  # the paper's numbers beside ours
    assert "judge CNN (mnist)" in md
    assert len(re.findall(r"^\*\*.+\(§[\d.]+.*\): [a-zε ]+\.\*\* ", md, re.M)) == 7  # every claim has a verdict
    html = (out / "reproduce.html").read_text()
    assert "plotly" in html and html.count("<table>") >= 4
    assert 'name="viewport" content="width=device-width' in html and "back to the lab" in html  # a phone reads it
    with open(out / "reproduce.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == (2 + 4) * 9  # two capacities and four λ, nine ε each
    assert {r["n"] for r in rows} == {"40"} and len({r["eps"] for r in rows}) == 9
    # again, in two worker processes: everything is reused, nothing retrained. From a shell, as a user runs
    # it: spawned workers re-run the parent's __main__, which inside this suite can be app.py (AppTest)
    done = subprocess.run([sys.executable, "-m", "vacdemo", *args, "--jobs", "2"], cwd=ROOT, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    calls = json.loads((work / "run.json").read_text())["invocations"]
    assert len(calls) == 2 and {r["status"] for r in calls[1]["results"]} == {"reused"}
    assert "reused" in done.stdout
    # other attack settings: measured again, the models kept
    weights = {p: p.stat().st_mtime_ns for p in work.glob("*/model.safetensors")}
    assert main([*args[:-4], "--n-test", "30", "--work", str(work), "--out", str(out), "--jobs", "1"]) == 0
    assert {p: p.stat().st_mtime_ns for p in work.glob("*/model.safetensors")} == weights
    assert {json.loads(p.read_text())["n_test"] for p in work.glob("*/measure.json")} == {30}


def test_report_only_without_measurements_is_one_clear_line(tmp_path, capsys):
    assert main(["reproduce", "--report-only", "--work", str(tmp_path / "empty"), "--out", str(tmp_path)]) == 2
    assert "no measurements under" in capsys.readouterr().err


@pytest.mark.parametrize("bad, words", [(["--epochs", "0"], "must be ≥ 1"), (["--train-images", "0"], "must be ≥ 1"),
                                        (["--jobs", "0"], "must be ≥ 1"), (["--capacities", "0"], "must be > 0")])
def test_bad_settings_are_refused(bad, words, capsys):
    assert main(["reproduce", *bad, "--report-only"]) == 2
    assert words in capsys.readouterr().err


def test_robustness_between_epochs_leaves_the_training_model_alone(data_dir):
    from vacdemo.config import preset
    from vacdemo.data import load_split
    from vacdemo.models.vac import BetaVAC
    from vacdemo.study.measure import robust_accuracy
    torch.manual_seed(0)
    model = build_model(preset("fast", dataset="mnist")).train()  # as train() hands it over between epochs
    before = {k: v.clone() for k, v in model.state_dict().items()}
    x, y = load_split("mnist", False, data_dir).batch(slice(0, 16))
    found = robust_accuracy(model, x=x, y=y, eps_list=[0.1], steps=2)
    assert set(found) == {"robust@0.1"} and 0 <= found["robust@0.1"] <= 1
    assert model.training  # its mode restored …
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())  # … BatchNorm statistics untouched


@pytest.mark.slow  # trains and measures several tiny models
def test_seeds_second_opinions_and_epochs_reach_the_report(tmp_path, data_dir):
    work, out = tmp_path / "work", tmp_path / "report"
    assert main(["reproduce", "--dataset", "mnist", "--epochs", "2", "--train-images", "256", "--n-test", "30",
                 "--n-fit", "24", "--steps", "2", "--capacities", "1", "--no-l1-sweep", "--seeds", "2",
                 "--second-opinion", "8", "--data-dir", str(data_dir), "--device", "cpu", "--work", str(work),
                 "--out", str(out), "--jobs", "1"]) == 0
    assert sorted(p.name for p in work.glob("mnist-*")) == ["mnist-C1-l1_0", "mnist-C1-l1_0-s1"]
    assert all((work / n / "second.json").exists() and (work / n / "weights.json").exists()
               for n in ("mnist-C1-l1_0", "mnist-C1-l1_0-s1"))
    history = json.loads((work / "mnist-C1-l1_0" / "metrics.json").read_text())
    assert [sorted(k for k in r if k.startswith("robust@")) for r in history] == [
        ["robust@0.075", "robust@0.15", "robust@0.225", "robust@0.3"]] * 2  # every epoch of the tracked model
    assert "robust@0.075" not in json.loads((work / "mnist-C1-l1_0-s1" / "metrics.json").read_text())[0]
    md = (out / "reproduce.md").read_text()
    assert "Second opinions on robustness" in md and "Robustness after every epoch" in md
    assert "| seeds per model | 2 |" in md and " ± " in md  # seed means with their spread
    assert "seed-to-seed s.d. of robust: median" in md  # every verdict states the spread it used
    table = (out / "findings.md").read_text()
    assert table.startswith("<!-- findings:") and "| not robust to PGD |" in table and "2 seed(s)" in table
    readme = tmp_path / "README.md"
    readme.write_text("intro\n<!-- findings: generated by python -m vacdemo reproduce --readme; do not edit -->\nold\n"
                      "<!-- end of findings -->\noutro\n")
    assert main(["reproduce", "--report-only", "--work", str(work), "--out", str(out), "--readme", str(readme)]) == 0
    text = readme.read_text()
    assert text.startswith("intro\n") and text.endswith("outro\n") and "old" not in text and "| not robust to PGD |" in text


def test_saturated_columns_do_not_outvote_the_informative_ones():
    # capacities differ by 60 points at the three smallest ε and all fall to 0 beyond: an effect, not "no effect"
    low = lambda e: 40 if e < 0.12 else 200  # noqa: E731
    high = lambda e: 160 if e < 0.12 else 200  # noqa: E731
    ms = [fake_measurement("mnist", c, 0.0, turned=f, seed=s) for c, f in ((0.1, low), (1.0, high)) for s in range(3)]
    assert verdicts(ms)["Capacity does not co"] == "not confirmed"


def test_readme_findings_are_the_committed_reports():
    # the docs' verdicts table (docs/reproduction.md, moved there from the README) is generated, never edited by
    # hand: rebuild it from the committed measurements
    from vacdemo.study.findings import load_measurements
    from vacdemo.study.report import BEGIN, END, findings_table
    study = Study(load_measurements(ROOT / "reports/cpu-fast/data"))
    block = BEGIN + (ROOT / "docs/reproduction.md").read_text().split(BEGIN, 1)[1].split(END, 1)[0] + END
    assert block == findings_table(study, "reports/cpu-fast/reproduce.md")
    assert (ROOT / "reports/cpu-fast/findings.md").read_text() == block + "\n"


def test_the_apps_report_fits_a_phone_and_links_back_to_the_lab():
    html = (ROOT / "static" / "reproduce.html").read_text()
    assert 'name="viewport" content="width=device-width' in html
    assert html.count('<a href="../../">← back to the lab</a>') == 2  # /app/static/reproduce.html → /
