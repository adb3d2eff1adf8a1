from streamlit.testing.v1 import AppTest

from conftest import ROOT


def test_placeholder_page_runs_and_lists_the_shipped_models():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    assert not at.exception
    assert "β-Variational" in at.title[0].value
    assert [h.value for h in at.subheader] == ["mnist", "fmnist"]  # both shipped models are listed
