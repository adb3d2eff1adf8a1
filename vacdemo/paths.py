"""Where the repository's own files are: the one place that reads this package's location on disk."""
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent  # the repository (or the folder the package was copied into)
PACKAGE = ROOT / "vacdemo"
PRETRAINED = ROOT / "pretrained"  # shipped checkpoints, detectors, galleries, latent maps, model cards
REALSET = ROOT / "realset"  # pictures from outside MNIST: scans, fonts, photographs
STATIC = ROOT / "static"  # files Streamlit serves (the reproduction report)
APP = ROOT / "app.py"
SERVE = ROOT / "serve.py"
