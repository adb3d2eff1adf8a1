"""The detector's error rates, measured on the shipped model: what "Is this picture attacked?" states beside its
verdict (`python -m vacdemo rates` writes pretrained/<data set>/detector_rates.json).

False alarms: the clean test images the alarm flags. Misses: the PGD attacks that fool the model and pass under the
alarm; and the detector-aware attack's success, the share of test images it turns wrong *and* unflagged.
"""
import torch

from ..attacks.adaptive import adaptive_pgd
from ..attacks.evaluate import batched
from ..attacks.pgd import default_alpha, pgd
from ..data import Split
from ..models.detector import Detector
from ..models.vac import BetaVAC, reconstruction_error

RATES = "detector_rates.json"


def detector_rates(model: BetaVAC, detector: Detector, test: Split, eps_list: list[float], *, n: int = 500,
                   n_clean: int = 10_000, steps: int = 40, batch_size: int = 250) -> dict:
    """False alarms on the first n_clean test images; per ε, PGD's and the detector-aware attack's outcomes on the
    first n (those the model reads right)."""
    tau = detector.threshold
    xc, _ = test.batch(slice(0, min(n_clean, len(test))))
    with torch.no_grad():
        re_clean = batched(lambda s: reconstruction_error(model, xc[s]), len(xc), batch_size)
    x, y = test.batch(slice(0, n))
    with torch.no_grad():
        right = batched(lambda s: model.classify(x[s]).argmax(1) == y[s], n, batch_size)
    x, y = x[right], y[right]
    rows = []
    for eps in eps_list:
        a = default_alpha(eps, steps, "inf")
        x_adv = batched(lambda s: pgd(model, x[s], y[s], eps=eps, alpha=a, steps=steps), len(x), batch_size)
        with torch.no_grad():
            fooled = batched(lambda s: model.classify(x_adv[s]).argmax(1) != y[s], len(x), batch_size)
            caught = batched(lambda s: reconstruction_error(model, x_adv[s]) > tau, len(x), batch_size)
        _, evaded = batched(lambda s: adaptive_pgd(model, x[s], y[s], detector, eps=eps, alpha=a, steps=steps),
                            len(x), batch_size)
        hits = int(fooled.sum())
        rows.append({"eps": eps, "pgd_fooled": hits / len(x),
                     "pgd_missed": float((fooled & ~caught).sum()) / hits if hits else None,  # of its successes
                     "aware_fooled_unflagged": float(evaded.float().mean())})
    return {"tau": tau, "n_clean": len(xc), "false_alarm": float((re_clean > tau).float().mean()),
            "n": len(x), "steps": steps, "per_eps": rows}
