"""Issue 31's first-column verdicts and the capacity–robustness correlations: the rules can fail both ways."""
import json

import numpy as np

from vacdemo.study.column_report import table, verdict
from vacdemo.study.confounds import partial_spearman, spearman


def row(arm, seed, first, clean=0.87, others=(0.13, 0.02, 0.0), config=None):
    robust = {"0.025": first, **{f"{e:g}": v for e, v in zip((0.05, 0.075, 0.1), others)}}
    return {"arm": arm, "seed": seed, "n_test": 1000, "clean_test": clean, "robust": robust,
            "config": config or {"arm": arm, "seed": seed}}


def test_verdicts_explain_partly_and_not():
    base = [row("baseline", s, f) for s, f in enumerate((0.45, 0.49, 0.52))]
    assert verdict([row("x", s, f) for s, f in enumerate((0.30, 0.28, 0.33))], base)["verdict"] == "explains"
    # within reach, but clean accuracy fell by 10 points: not a clean explanation
    assert verdict([row("x", s, f, clean=0.76) for s, f in enumerate((0.30, 0.28, 0.33))], base)["verdict"] == "partly"
    # lower beyond the seeds' spread, yet still far from the paper
    assert verdict([row("x", s, f) for s, f in enumerate((0.40, 0.41, 0.40))], base)["verdict"] == "partly"
    no = verdict([row("x", s, f) for s, f in enumerate((0.47, 0.50, 0.46))], base)
    assert no["verdict"] == "does not" and 0.03 < no["detectable"] < 0.2  # and it says how small an effect it could see


def test_the_table_reads_the_result_files(tmp_path):
    for s, f in enumerate((0.45, 0.49, 0.52)):
        (tmp_path / f"baseline-s{s}").mkdir()
        (tmp_path / f"baseline-s{s}" / "result.json").write_text(json.dumps(row("baseline", s, f)))
        (tmp_path / f"baseline-s{s}" / "no-clamp-result.json").write_text(json.dumps(row("no-clamp", s, f - 0.2)))
    text = table(tmp_path, {"no-clamp": "no clamp"})
    assert "| baseline |" in text and "| no-clamp | no clamp |" in text and "3 seeds" in text


def test_partial_correlation_removes_a_confound():
    rng = np.random.default_rng(0)
    c = np.repeat(np.log10([0.01, 0.1, 1, 10]), 3)
    clean = -c + rng.normal(0, 0.1, 12)  # capacity drives clean accuracy …
    robust = clean + rng.normal(0, 0.05, 12)  # … and clean accuracy alone drives robustness
    assert spearman(c, robust) < -0.7 and abs(partial_spearman(c, robust, clean)) < 0.5


def test_an_attack_only_arm_is_compared_seed_by_seed():
    """The same models attacked two ways: the seeds' spread cancels, so a steady 0.04 drop is seen."""
    base = [row("baseline", s, f, config={"seed": s}) for s, f in enumerate((0.45, 0.49, 0.53))]
    same = [row("other-attack", s, f - 0.04, config={"seed": s}) for s, f in enumerate((0.45, 0.49, 0.53))]
    other = [row("retrained", s, f - 0.04) for s, f in enumerate((0.45, 0.49, 0.53))]
    assert verdict(same, base)["detectable"] < 0.03 and verdict(same, base)["verdict"] == "partly"
    assert verdict(other, base)["detectable"] > 0.05 and verdict(other, base)["verdict"] == "does not"
