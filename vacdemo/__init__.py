"""vacdemo: β-Variational Classifiers under adversarial attack (Maggipinto, Terzi, Susto)."""
__version__ = "0.1.0"

from .adaptive import adaptive_pgd
from .checkpoint import CheckpointError, load_checkpoint, load_pretrained
from .config import Config, preset
from .data import CLASS_NAMES, DataNotFoundError
from .detector import Detector, DetectorError
from .model import BetaVAC, reconstruction_error
from .pgd import fgsm, pgd
from .preprocess import ImageError, preprocess_image

__all__ = ["BetaVAC", "CLASS_NAMES", "CheckpointError", "Config", "DataNotFoundError", "Detector", "DetectorError",
           "ImageError", "adaptive_pgd", "fgsm", "load_checkpoint", "load_pretrained", "pgd", "preprocess_image", "preset",
           "reconstruction_error"]
