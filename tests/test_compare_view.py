"""The app's comparison view, with rival checkpoints standing in for the shipped ones (untrained plain CNNs
saved as checkpoints): offered only where rivals exist, each model attacked and read, the detector only the
β-VAC's, transfer shown, the choice kept in the URL."""
import pytest
import torch
from streamlit.testing.v1 import AppTest

from conftest import ROOT
from vacdemo.serving import lab as serving
from vacdemo.models.checkpoint import save_checkpoint
from vacdemo.config import preset
from vacdemo.models.vac import build_model


@pytest.fixture
def rivals(tmp_path, monkeypatch):
    torch.manual_seed(0)
    for kind in serving.RIVALS:
        model = build_model(preset("fast", kind="cnn")).eval()
        save_checkpoint(model, tmp_path / f"mnist-{kind}", {})
    monkeypatch.setattr(serving, "rival_folder", lambda name, kind: tmp_path / f"{name}-{kind}")
    monkeypatch.setattr(serving, "_rivals", {})
    yield
    serving._rivals.clear()


def test_no_rivals_no_comparison(monkeypatch, tmp_path):
    monkeypatch.setattr(serving, "rival_folder", lambda name, kind: tmp_path / "none")
    monkeypatch.setattr(serving, "_rivals", {})
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    views = [r for r in at.radio if r.key == "view"]
    assert not at.exception and views and "Compare models" not in views[0].options  # the lab and the check only


def test_the_comparison_attacks_each_model_and_shows_transfer(rivals):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    at.query_params = {"view": "Compare models", "cmp_eps_mnist": "0.3"}
    at.run()
    assert not at.exception, at.exception
    assert at.radio(key="view").value == "compare"
    headings = [h.value for h in at.markdown if h.value.startswith("#### ")]
    assert headings == ["#### β-VAC", "#### plain CNN", "#### adversarially trained CNN"]
    assert any("Fooled" in e.value for e in at.error)  # the β-VAC falls at ε = 0.3
    captions = " ".join(c.value for c in at.caption)
    assert "Its detector" in captions and captions.count("no detector") == 2
    assert any(m.value.startswith("| attack made for") for m in at.markdown)
    at.slider(key="cmp_eps_mnist").set_value(0.0).run()
    assert not at.exception and sum("No attack yet" in i.value for i in at.info) == 3


@pytest.mark.slow  # trains nothing, but measures three models on the test set (~90 s)
def test_the_card_measures_the_comparison_and_the_page_charts_it(rivals, tmp_path, monkeypatch, data_dir):
    from vacdemo.data import load_split
    from vacdemo.study.rivals import comparison_section
    models = serving.load_rivals("mnist")
    markdown = comparison_section(models, "mnist", load_split("mnist", False, data_dir), 20, tmp_path)
    assert (tmp_path / "compare.json").exists()
    assert "| β-VAC |" in markdown and "| plain CNN |" in markdown and "Transfer at ε = 0.3" in markdown
    assert ("| clean | ε = 0.075 | ε = 0.15 | ε = 0.225 | ε = 0.3 | ε = 0.075, PGD or APGD | ε = 0.3, PGD or APGD |"
            in markdown)  # the paper's columns, and the stronger attack at the first of them and at the usual ε
    monkeypatch.setattr(serving, "card_file", lambda name: tmp_path / "compare.json")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    at.query_params = {"view": "Compare models"}
    at.run()
    assert not at.exception and at.get("plotly_chart")
    assert any("Robust accuracy over ε" in m.value and "at ε = 0.075: β-VAC" in m.value and "at ε = 0.3: β-VAC" in m.value
               for m in at.markdown)  # the stronger attack at the first paper column and at the usual ε


def test_the_shipped_fashion_rivals_compare_on_a_garment(monkeypatch):
    monkeypatch.setattr(serving, "_rivals", {})
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    # the URL carries a bound radio's label, as a shared link does
    at.query_params = {"data": "Garments (Fashion-MNIST)", "view": "Compare models", "cmp_eps_fmnist": "0.1"}
    at.run()
    assert not at.exception, at.exception
    headings = [h.value for h in at.markdown if h.value.startswith("#### ")]
    assert headings == ["#### β-VAC", "#### plain CNN", "#### adversarially trained CNN"]
    assert any("Robust accuracy over ε" in m.value and "at ε = 0.025: β-VAC" in m.value and "at ε = 0.1: β-VAC"
               in m.value for m in at.markdown)
    assert at.get("plotly_chart")

