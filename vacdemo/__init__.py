"""vacdemo: β-Variational Classifiers under adversarial attack (Maggipinto, Terzi, Susto).

The public names load lazily (PEP 562): `import vacdemo.models.checkpoint` loads the model, not the attacks, while
`from vacdemo import pgd, load_pretrained` works as ever.
"""
import importlib

from .version import __version__

# public name → the submodule that defines it
_HOME = {
    "adaptive_pgd": "attacks.adaptive",
    "CheckpointError": "models.checkpoint", "load_checkpoint": "models.checkpoint",
    "load_pretrained": "models.checkpoint",
    "Config": "config", "preset": "config",
    "CLASS_NAMES": "datasets", "DATASETS": "datasets", "DataNotFoundError": "data",
    "Detector": "models.detector", "DetectorError": "models.detector",
    "VacdemoError": "errors",
    "BetaVAC": "models.vac", "Readout": "models.vac", "reconstruction_error": "models.vac",
    "fgsm": "attacks.pgd", "pgd": "attacks.pgd", "square": "attacks.square",
    "ImageError": "lab.preprocess", "preprocess_image": "lab.preprocess",
}
__all__ = ["__version__", *sorted(_HOME)]


def __getattr__(name: str):
    if name not in _HOME:
        raise AttributeError(f"module 'vacdemo' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_HOME[name]}", __name__), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__():
    return sorted(set(globals()) | set(_HOME))
