"""What one image's ε-grid attack produced: plain numpy arrays (no torch), so the page's views can draw it."""
from dataclasses import dataclass

import numpy as np


@dataclass
class Sweep:
    """Results per ε, each a numpy array with the grid as its first axis (K = len(eps))."""
    eps: np.ndarray  # (K,)
    x_adv: np.ndarray  # (K, 28, 28)
    recon: np.ndarray  # (K, 28, 28) the decoder's image of x_adv
    probs: np.ndarray  # (K, 10) class probabilities of x_adv
    re: np.ndarray  # (K,) ℓ2 reconstruction error
    score: np.ndarray  # (K,) detector's P(adversarial)
    z: np.ndarray  # (K, d) μ(x_adv)
    pred_8bit: np.ndarray  # (K,) the prediction once x_adv is saved as an 8-bit PNG (rounded to 1/255)
    margin: np.ndarray  # (K,) the logit margin still to overcome (vacdemo.lab.sweep.logit_margin); < 0: fooled
    y: int  # the class the attack moves away from
    labelled: bool  # y is the true class (a test image); else the model's clean prediction (a drawing, an upload)
    target: int | None  # the class it moves toward (targeted), else None
    flagged: np.ndarray  # (K,) the detector's verdict: RE above its threshold τ (score ≥ 0.5)
    seconds: float  # wall time of the attack and the read-out
    device: str
    norm: str  # "inf" or "2": what eps measures

    @property
    def pred(self) -> np.ndarray:
        return self.probs.argmax(1)

    @property
    def p_wrong(self) -> np.ndarray:
        """(K,) the probability of the most likely class other than y."""
        return np.delete(self.probs, self.y, axis=1).max(1)

    @property
    def wrong_from_start(self) -> bool:
        """The clean input (ε = 0) is already misclassified (possible only for a labelled test image)."""
        return bool(self.pred[0] != self.y)

    def flip(self) -> int | None:
        """Index of the first ε whose prediction is no longer y (targeted: is the target), or None."""
        hit = self.pred == self.target if self.target is not None else self.pred != self.y
        return int(np.argmax(hit)) if hit.any() else None

    def perturbation(self, k: int, norm: str) -> tuple[np.ndarray, float]:
        """x_adv − x at grid index k, (28, 28), and the bound of its colour scale: ε for ℓ∞, max |δ| for ℓ2."""
        delta = self.x_adv[k] - self.x_adv[0]
        return delta, float(self.eps[k]) if norm == "inf" else float(np.abs(delta).max())


@dataclass
class SquareRun:
    """A black-box Square Attack at one ε: the Sweep of its two rows (ε = 0, the input; ε, the best point found) and
    the search's own record."""
    sweep: Sweep
    queries: int  # model queries the search spent, the first (its starting stripes) included
    budget: int  # the most it was allowed
    fooled: bool  # it reached its goal within the budget
    p_true: np.ndarray  # (budget,) P(y) at the best point after each query

    @property
    def ran_out(self) -> bool:
        return not self.fooled and self.queries >= self.budget


@dataclass(frozen=True)
class Check:
    """One picture read by the model alone, for "Is this picture attacked?": no attack runs."""
    probs: np.ndarray  # (10,) the model's class probabilities
    recon: np.ndarray  # (28, 28) the decoder's redrawing
    re: float  # ℓ2 reconstruction error ‖x − x̂‖₂
    score: float  # the detector's P(adversarial)
    flagged: bool  # RE above the detector's threshold τ
    pred_8bit: int  # the reading once the picture is saved as an 8-bit PNG (rounded to 1/255)

    @property
    def pred(self) -> int:
        return int(self.probs.argmax())


@dataclass(frozen=True)
class LabFacts:
    """What the page's views need of a data set's lab, as plain arrays: the detector's limit, the clean test
    images' reconstruction errors, the latent map, the gallery. Built once per server (vacdemo.serving)."""
    name: str  # the data set's key
    tau: float  # the detector's threshold on the reconstruction error
    re_counts: np.ndarray  # (bins,) clean test images' reconstruction errors, binned
    re_edges: np.ndarray  # (bins + 1,)
    codes: np.ndarray  # (N, 2) the latent map: test codes projected
    code_labels: np.ndarray  # (N,)
    mean: np.ndarray  # (d,) the map's centre
    basis: np.ndarray  # (d, 2) the map's directions
    pictures: np.ndarray  # (G, 28, 28) float32 in [0, 1]: the gallery
    labels: np.ndarray  # (G,)
    indices: np.ndarray  # (G,) each gallery picture's position in the test split
    right: np.ndarray  # (G,) bool: the model reads the gallery picture right at ε = 0

    def project(self, z: np.ndarray) -> np.ndarray:
        """Codes (B, d) → (B, 2) in the latent map's coordinates."""
        return (np.asarray(z, dtype=np.float32) - self.mean) @ self.basis

    def samples_of(self, cls: int) -> list[int]:
        """Gallery positions of a class, those the model reads right first: sample 1 is never wrong from the start."""
        pos = np.flatnonzero(self.labels == cls).tolist()
        return sorted(pos, key=lambda i: not self.right[i])
