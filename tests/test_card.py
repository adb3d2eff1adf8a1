"""The model card command: it measures, fills the tables between its markers and keeps the prose."""
import re
import shutil

import pytest
import torch

from vacdemo.attacks.pgd import pgd
from vacdemo.models.checkpoint import PRETRAINED, load_checkpoint
from vacdemo.cli import main
from vacdemo.data import load_split
from vacdemo.models.detector import Detector
from vacdemo.models.vac import reconstruction_error
from vacdemo.paper import TABLE_EPS
from vacdemo.study.card import BEGIN, END, fill, train_command


def test_fill_replaces_only_between_the_markers():
    text = f"# Card\n\nprose before\n\n{BEGIN}\nold table\n{END}\n\nprose after\n"
    out = fill(text, {"mnist": "### `mnist`\n\nnew table\n"})
    assert "old table" not in out and "new table" in out
    assert out.startswith("# Card\n\nprose before") and out.endswith("prose after\n")
    assert fill("# Card\n", {"mnist": "### `mnist`\n"}).count(BEGIN) == 1  # no markers yet: appended


def test_measuring_one_data_set_keeps_the_others_section_as_it_is():
    card = (PRETRAINED / "README.md").read_text()
    assert fill(card, {}) == card  # nothing measured: the card unchanged, byte for byte
    out = fill(card, {"fmnist": "### `fmnist`\n\nremeasured\n"})
    assert card.split("### `fmnist`")[0] == out.split("### `fmnist`")[0]  # mnist's sections untouched
    assert "remeasured" in out and "### `fmnist`: the β-VAC beside" not in out


@pytest.mark.slow  # the card command: the whole test set, PGD-40 at every ε, then again here
def test_card_measures_a_checkpoint_and_writes_its_table(tmp_path, data_dir, capsys):
    shutil.copytree(PRETRAINED / "mnist", tmp_path / "mnist")
    (tmp_path / "README.md").write_text(f"# Card\n\nhow they were made\n\n{BEGIN}\n{END}\n")
    assert main(["card", "--dataset", "mnist", "--n", "20", "--pretrained", str(tmp_path),
                 "--data-dir", str(data_dir)]) == 0
    card = (tmp_path / "README.md").read_text()
    assert card.startswith("# Card\n\nhow they were made")
    recorded = load_checkpoint(tmp_path / "mnist").meta["metrics"]["final"]["test_accuracy"]
    shown = float(re.search(r"\*\*(\d+\.\d+)%\*\* on the full test set \(10,000 images\)", card)[1]) / 100
    # measured again in fp32: the recorded figure is training's own evaluation (bf16 where native), so within 0.2 points
    assert abs(shown - recorded) <= 0.002, (shown, recorded)
    rows = [line for line in card.splitlines() if line.startswith("| 0.")]
    assert [r.split("|")[1].strip() for r in rows] == ["0.000", "0.075", "0.150", "0.225", "0.300"]
    assert rows[0].split("|")[3].strip() == "0.940"  # the paper's clean accuracy beside ours
    # the robust and detection columns: recomputed here from the attack and the detector directly
    model = load_checkpoint(tmp_path / "mnist").requires_grad_(False)
    detector = Detector.load(tmp_path / "mnist" / "detector_inf.json")
    x, y = load_split("mnist", False, data_dir).batch(slice(0, 20))
    for row, eps in zip(rows, TABLE_EPS["mnist"]):
        x_adv = pgd(model, x, y, eps=eps, alpha=0.01, steps=40)
        with torch.no_grad():
            robust = (model.classify(x_adv).argmax(1) == y).float().mean().item()
            flagged = [detector.prob(reconstruction_error(model, v)) >= 0.5 for v in (x, x_adv)]
        detection = (torch.cat([~flagged[0], flagged[1]])).float().mean().item()
        cells = [c.strip() for c in row.split("|")]
        assert cells[2] == f"{robust:.3f}" and cells[4] == f"{detection:.3f}", (eps, cells)


def test_train_command_is_recorded_or_rebuilt_from_the_config():
    cmd = train_command(load_checkpoint(PRETRAINED / "mnist"))
    assert cmd.startswith("python -m vacdemo train --dataset mnist --preset ship")


def test_the_real_picture_table_alone_is_measured_again_and_the_rest_kept():
    from vacdemo import load_pretrained
    from vacdemo.study.card import sections_of, with_realset
    section = sections_of((PRETRAINED / "README.md").read_text())["fmnist"]
    out = with_realset(section, load_pretrained("fmnist"), "fmnist")
    assert out == section  # the card is current: measured again, it reads the same
    stale = section.replace("| all |", "| old-kind | 1.0 % | 1 / 100 |\n| all |", 1)
    assert with_realset(stale, load_pretrained("fmnist"), "fmnist") == section  # a stale table is replaced whole
    alone = section.split("### `fmnist`: ")[0].rstrip("\n") + "\n"  # no comparison after it: the table ends the section
    assert with_realset(alone, load_pretrained("fmnist"), "fmnist") == alone
    no_total = stale.replace("| all |", "| every |")  # no "all" row: the comparison after the table is still kept
    assert "### `fmnist`: the β-VAC beside" in with_realset(no_total, load_pretrained("fmnist"), "fmnist")
