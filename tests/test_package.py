"""The package's layers: the import contracts in .importlinter hold, and a violating import does break them;
reading a checkpoint loads no attack code; ui/ loads without torch; the public names still import from the root."""
import os
import shutil
import subprocess
import sys

from conftest import ROOT

ATTACK_AND_STUDY = ("vacdemo.attacks.pgd", "vacdemo.attacks.adaptive", "vacdemo.models.detector", "vacdemo.lab.sweep", "vacdemo.study")
CONTRACTS = {  # contract name in .importlinter → what lint-imports says when a planted import breaks it
    "vacdemo's layers": "vacdemo.models is not allowed to import vacdemo.serving",
    "ui/ never imports torch": "ui is not allowed to import torch",
    "vacdemo never imports Streamlit or ui/": "vacdemo is not allowed to import streamlit",
}


def fresh(code: str) -> str:
    """Run code in a new interpreter (sys.modules starts empty of vacdemo) and return what it prints."""
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True,
                          timeout=120).stdout


def lint_imports(cwd) -> subprocess.CompletedProcess:
    """`lint-imports` (import-linter) on the tree at cwd, with its .importlinter; output unwrapped, no cache left."""
    env = {**os.environ, "PYTHONPATH": str(cwd), "COLUMNS": "400", "NO_COLOR": "1"}
    return subprocess.run([sys.executable, "-c", "import sys; from importlinter.cli import lint_imports_command; "
                           "sys.exit(lint_imports_command())", "--no-cache"],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def test_the_import_contracts_hold():
    run = lint_imports(ROOT)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "0 broken" in run.stdout and all(f"{name}" in run.stdout for name in CONTRACTS), run.stdout


def test_a_violating_import_breaks_its_contract(tmp_path):
    """The same check on a copy with three planted imports: the model imports the server, a ui module imports
    torch, the load test imports Streamlit beyond its protocol classes. Each breaks its own contract."""
    for tree in ("vacdemo", "ui"):
        shutil.copytree(ROOT / tree, tmp_path / tree, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / ".importlinter", tmp_path)
    with open(tmp_path / "vacdemo" / "models" / "vac.py", "a") as f:
        f.write("\nfrom ..serving import lab  # planted: models never import the server\n")
    ui_module = sorted((tmp_path / "ui").glob("*.py"))[0]
    shutil.copy(ui_module, tmp_path / "ui" / "planted.py")
    with open(tmp_path / "ui" / "planted.py", "a") as f:
        f.write("\nimport torch  # planted: ui/ never imports torch\n")
    with open(tmp_path / "vacdemo" / "serving" / "loadtest.py", "a") as f:
        f.write("\nimport streamlit.runtime  # planted: only streamlit.proto.* is allowed here\n")
    run = lint_imports(tmp_path)
    assert run.returncode != 0, run.stdout
    for name, words in CONTRACTS.items():
        assert any(line.startswith(name) and "BROKEN" in line for line in run.stdout.splitlines()), (name, run.stdout)
        assert words in run.stdout, (words, run.stdout)
    # each planted import is named (so the failure is the plant's, whatever else the real tree holds)
    for edge in ("vacdemo.models.vac -> vacdemo.serving.lab", "ui.planted -> torch",
                 "vacdemo.serving.loadtest -> streamlit.runtime"):
        assert edge in run.stdout, (edge, run.stdout)
    assert "Contracts: 0 kept, 3 broken" in run.stdout


def test_reading_a_checkpoint_loads_no_attack_code():
    out = fresh("import sys, vacdemo.models.checkpoint\n"
                "vacdemo.models.checkpoint.load_pretrained('mnist')\n"
                "print(sorted(m for m in sys.modules if m.startswith('vacdemo')))")
    loaded = eval(out)
    assert "vacdemo.models.checkpoint" in loaded and "vacdemo.models.vac" in loaded
    assert not [m for m in loaded if m.startswith(ATTACK_AND_STUDY)], loaded


def test_every_ui_module_loads_without_torch():
    """ui/ draws the page from plain data: importing all of it (whatever modules exist) loads no torch. The
    imports run in a Streamlit script run, as app.py's do (the drawing canvas registers its component on import,
    which needs one); Streamlit's test harness itself loads no torch (checked first)."""
    modules = sorted(".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
                     for p in (ROOT / "ui").rglob("*.py"))
    assert "ui.svg" in modules, modules
    script = "import importlib\n" f"for name in {modules!r}:\n" "    importlib.import_module(name)\n"
    out = fresh("import sys\n"
                "from streamlit.testing.v1 import AppTest\n"
                "assert 'torch' not in sys.modules\n"
                f"at = AppTest.from_string({script!r}).run(timeout=120)\n"
                "assert not at.exception, at.exception\n"
                f"assert not [m for m in {modules!r} if m not in sys.modules]\n"
                "print(sorted(m for m in sys.modules if m == 'torch' or m.startswith('torch.')))")
    assert out.strip() == "[]", out


def test_public_names_import_from_the_root():
    out = fresh("from vacdemo import pgd, load_pretrained, Detector, preprocess_image, __version__\n"
                "import vacdemo, vacdemo.attacks.pgd\n"
                "print(callable(pgd), pgd is vacdemo.attacks.pgd.pgd, vacdemo.__version__ == __version__)")
    assert out.split() == ["True", "True", "True"]


def test_unknown_root_name_is_an_attribute_error():
    out = fresh("import vacdemo\n"
                "try:\n    vacdemo.nothing_here\nexcept AttributeError as e:\n    print('AttributeError', e)")
    assert out.startswith("AttributeError") and "nothing_here" in out
