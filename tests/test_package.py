"""The package's layers: reading a checkpoint loads no attack code; the public names still import from the root."""
import re
import subprocess
import sys

from conftest import ROOT

ATTACK_AND_STUDY = ("vacdemo.attack", "vacdemo.adaptive", "vacdemo.detector", "vacdemo.sweep", "vacdemo.study")


def fresh(code: str) -> str:
    """Run code in a new interpreter (sys.modules starts empty of vacdemo) and return what it prints."""
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True,
                          timeout=120).stdout


def test_reading_a_checkpoint_loads_no_attack_code():
    out = fresh("import sys, vacdemo.checkpoint\n"
                "vacdemo.checkpoint.load_pretrained('mnist')\n"
                "print(sorted(m for m in sys.modules if m.startswith('vacdemo')))")
    loaded = eval(out)
    assert "vacdemo.checkpoint" in loaded and "vacdemo.model" in loaded
    assert not [m for m in loaded if m.startswith(ATTACK_AND_STUDY)], loaded


def test_public_names_import_from_the_root():
    out = fresh("from vacdemo import pgd, load_pretrained, Detector, preprocess_image, __version__\n"
                "import vacdemo, vacdemo.attack\n"
                "print(callable(pgd), pgd is vacdemo.attack.pgd, vacdemo.__version__ == __version__)")
    assert out.split() == ["True", "True", "True"]


def test_unknown_root_name_is_an_attribute_error():
    out = fresh("import vacdemo\n"
                "try:\n    vacdemo.nothing_here\nexcept AttributeError as e:\n    print('AttributeError', e)")
    assert out.startswith("AttributeError") and "nothing_here" in out


def test_the_core_never_imports_the_study_or_the_app():
    """vacdemo/ never imports the study, Streamlit or ui/ (the load test's protocol classes excepted)."""
    core = [p for p in (ROOT / "vacdemo").glob("*.py") if p.name != "cli.py"]
    for path in core:
        text = path.read_text()
        imports = re.findall(r"^\s*(?:from|import) (\S+)", text, re.MULTILINE)
        # the load-test client speaks Streamlit's wire protocol, so it alone reads its protobuf classes
        allowed = ("streamlit.proto.",) if path.name == "loadtest.py" else ()
        assert not [m for m in imports if m.startswith((".study", "streamlit", "ui")) and not m.startswith(allowed)], \
            (path, imports)
