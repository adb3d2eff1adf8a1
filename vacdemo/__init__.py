"""vacdemo: β-Variational Classifiers under adversarial attack (Maggipinto, Terzi, Susto)."""
__version__ = "0.1.0"

from .checkpoint import CheckpointError, load_checkpoint, load_pretrained
from .config import Config, preset
from .data import CLASS_NAMES, DataNotFoundError
from .model import BetaVAC, reconstruction_error

__all__ = ["BetaVAC", "CLASS_NAMES", "CheckpointError", "Config", "DataNotFoundError", "load_checkpoint",
           "load_pretrained", "preset", "reconstruction_error"]
