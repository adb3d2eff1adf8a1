"""The reconstruction-error detector (§6.1): a logistic classifier on RE(x) = ‖x − x̂(x)‖₂."""
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score, roc_curve

from ..errors import VacdemoError
from .vac import BetaVAC, eval_mode, reconstruction_error

# Why ℓ2: an ℓ∞-bounded perturbation moves many pixels a little, and the decoder's answer to it (a
# different digit) differs from x over whole strokes; the ℓ2 norm adds those up, while an ℓ∞ norm of
# the residual would see only its largest pixel, already near 1 on clean images' stroke edges.
FEATURE = "l2 reconstruction error ||x - reconstruct(x)||_2"


class DetectorError(VacdemoError, ValueError):
    """A detector file is missing or malformed."""


@dataclass
class Detector:
    """P(adversarial | x) = σ(coef · RE(x) + intercept)."""
    coef: float
    intercept: float
    meta: dict = field(default_factory=dict)

    @property
    def threshold(self) -> float:
        """τ: the reconstruction error above which an input is flagged (probability 0.5)."""
        return -self.intercept / self.coef

    def prob(self, re: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.coef * re + self.intercept)

    @torch.no_grad()
    def score(self, model: BetaVAC, x: torch.Tensor) -> torch.Tensor:
        """Each input's probability of being adversarial, (B,)."""
        with eval_mode(model):
            return self.prob(reconstruction_error(model, x))

    def save(self, path: Path) -> None:
        Path(path).write_text(json.dumps({"feature": FEATURE, **asdict(self)}, indent=1))

    @classmethod
    def load(cls, path: Path) -> "Detector":
        try:
            d = json.loads(Path(path).read_text())
            det = cls(float(d["coef"]), float(d["intercept"]), dict(d.get("meta", {})))
        except FileNotFoundError:
            raise DetectorError(f"{path}: missing; `python -m vacdemo attack` fits one") from None
        except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError, ValueError) as e:
            raise DetectorError(f"{path}: not a detector file ({type(e).__name__}: {e}); "
                                "`python -m vacdemo attack --refit` fits a new one") from None
        if not (np.isfinite(det.coef) and det.coef > 0 and np.isfinite(det.intercept)):
            raise DetectorError(f"{path}: coef must be finite and > 0 (got {det.coef}), intercept finite")
        return det


def fit_detector(re_clean: torch.Tensor, re_adv: torch.Tensor, meta: dict) -> Detector:
    """Logistic regression of 'adversarial' on RE, over a balanced set of clean and attacked inputs."""
    re = torch.cat([re_clean, re_adv]).double().cpu().numpy()[:, None]
    label = np.r_[np.zeros(len(re_clean)), np.ones(len(re_adv))]
    lr = LogisticRegression(C=1e6).fit(re, label)  # 1-D: effectively unregularised
    return Detector(float(lr.coef_[0, 0]), float(lr.intercept_[0]), meta)


def detection_metrics(det: Detector, re_clean: torch.Tensor, re_adv: torch.Tensor,
                      successful: torch.Tensor | None = None) -> dict[str, float]:
    """accuracy (clean and adversarial together, every attacked input counted as adversarial), ROC-AUC, and the
    share of adversarial inputs detected when 5 % of clean ones are flagged. With successful (a (B,) bool mask
    of the attacks that fooled the model), also: tnr, the share of clean inputs let through, and
    accuracy_successful, the accuracy over the clean inputs and the successful attacks only. Where no attack
    succeeds (ε = 0) that reading is the TNR: the paper's ε = 0 column (Table 3: 0.976 = 2 · 0.988 − 1) is it."""
    score = torch.cat([re_clean, re_adv]).double().cpu().numpy()
    label = np.r_[np.zeros(len(re_clean)), np.ones(len(re_adv))]
    flagged = det.prob(torch.from_numpy(score)).numpy() >= 0.5
    fpr, tpr, _ = roc_curve(label, score)
    out = {"accuracy": float((flagged == label).mean()), "auc": float(roc_auc_score(label, score)),
           "tpr_at_5fpr": float(tpr[fpr <= 0.05].max())}  # the best threshold flagging ≤ 5 % of clean
    if successful is not None:
        passed = ~flagged[:len(re_clean)]
        caught = flagged[len(re_clean):][successful.cpu().numpy().astype(bool)]
        out.update(tnr=float(passed.mean()),
                   accuracy_successful=float((passed.sum() + caught.sum()) / (len(passed) + len(caught))))
    return out
