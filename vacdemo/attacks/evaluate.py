"""Robust accuracy and detection over an ε grid: the `attack` command's table (paper §6.1–6.2)."""
from pathlib import Path

import torch
from tqdm import tqdm

from .adaptive import adaptive_pgd
from .pgd import default_alpha, pgd
from ..data import Split
from ..models.detector import Detector, detection_metrics, fit_detector
from ..errors import SettingsError
from ..models.vac import BetaVAC, reconstruction_error


def batched(fn, n: int, batch_size: int):
    """Concatenate fn(slice) over [0, n) in batches."""
    outs = [fn(slice(s, s + batch_size)) for s in range(0, n, batch_size)]
    return tuple(torch.cat(parts) for parts in zip(*outs)) if isinstance(outs[0], tuple) else torch.cat(outs)


def fit_on_training(model: BetaVAC, train: Split, eps_grid: list[float], *, n: int = 1000, alpha=None,
                    steps: int = 40, norm: str = "inf", seed: int = 0, batch_size: int = 250) -> Detector:
    """Fit the detector on n clean training images and their PGD versions, one ε per image drawn
    from the grid's non-zero values: one detector covers the whole ε range."""
    gen = torch.Generator().manual_seed(seed)
    idx = torch.randperm(len(train), generator=gen)[:n]
    x, y = train.batch(idx)
    grid = torch.tensor([e for e in eps_grid if e > 0])
    if len(grid) == 0:
        raise SettingsError(f"the detector is fitted on attacked images: give at least one ε > 0, not {eps_grid}")
    eps = grid[torch.randint(len(grid), (n,), generator=gen)]
    alphas = (default_alpha(eps, steps, norm) if alpha is None else alpha) * torch.ones(n)

    def attack(s):
        return pgd(model, x[s], y[s], eps=eps[s], alpha=alphas[s], steps=steps, norm=norm)
    x_adv = batched(attack, n, batch_size)
    with torch.no_grad():
        re_clean = batched(lambda s: reconstruction_error(model, x[s]), n, batch_size)
        re_adv = batched(lambda s: reconstruction_error(model, x_adv[s]), n, batch_size)
    meta = {"n_clean": n, "n_adversarial": n, "split": "train", "eps_mix": grid.tolist(), "alpha": alpha,
            "steps": steps, "norm": norm, "seed": seed}
    return fit_detector(re_clean, re_adv, meta)


def load_or_fit_detector(model: BetaVAC, folder: Path, load_train, fit_eps: list[float], *, norm: str = "inf",
                         steps: int = 40, alpha: float | None = None, n_fit: int = 1000,
                         refit: bool = False) -> tuple[Detector, Path]:
    """The detector beside a checkpoint (folder/detector_<norm>.json), fitted and saved when asked (refit), missing,
    or fitted with other attack settings. load_train: () → the training split, called only when fitting."""
    path = folder / f"detector_{norm}.json"
    wanted = {"steps": steps, "alpha": alpha, "norm": norm, "n_clean": n_fit}
    detector = None if refit or not path.exists() else Detector.load(path)
    if detector is not None and any(detector.meta.get(k) != v for k, v in wanted.items()):
        print(f"{path} was fitted with other attack settings than {wanted}: refitting")
        detector = None
    if detector is None:
        print(f"fitting the detector on {n_fit} training images and their PGD versions …")
        detector = fit_on_training(model, load_train(), fit_eps, n=n_fit, alpha=alpha, steps=steps, norm=norm)
        detector.save(path)
        print(f"  saved {path} (threshold τ = {detector.threshold:.3f})")
    return detector, path


def attack_table(model: BetaVAC, detector: Detector, test: Split, eps_grid: list[float], *, n: int = 1000,
                 alpha=None, steps: int = 40, norm: str = "inf", adaptive: bool = False, lam: float = 10.0,
                 batch_size: int = 250) -> list[dict]:
    """One row per ε on the first n test images: robust accuracy, mean RE clean and adversarial,
    detection accuracy / AUC / TPR at 5 % FPR and, with adaptive, the detector-aware attack's success."""
    x, y = test.batch(slice(0, n))
    with torch.no_grad():
        re_clean = batched(lambda s: reconstruction_error(model, x[s]), n, batch_size)
        clean_correct = batched(lambda s: model.classify(x[s]).argmax(1) == y[s], n, batch_size)
    rows = []
    for eps in tqdm(eps_grid, desc="ε grid", leave=False):
        a = default_alpha(eps, steps, norm) if alpha is None else alpha
        x_adv = batched(lambda s: pgd(model, x[s], y[s], eps=eps, alpha=a, steps=steps, norm=norm), n, batch_size)
        with torch.no_grad():
            correct = batched(lambda s: model.classify(x_adv[s]).argmax(1) == y[s], n, batch_size)
            re_adv = batched(lambda s: reconstruction_error(model, x_adv[s]), n, batch_size)
        row = {"eps": eps, "alpha": a, "robust_accuracy": correct.float().mean().item(),
               "attack_success": (clean_correct & ~correct).float().mean().item(),
               "re_clean": re_clean.mean().item(), "re_adv": re_adv.mean().item(),
               **{f"detection_{k}": v for k, v in
                  detection_metrics(detector, re_clean, re_adv, clean_correct & ~correct).items()}}
        if adaptive:
            _, evaded = batched(lambda s: adaptive_pgd(model, x[s], y[s], detector, eps=eps, alpha=a,
                                                       steps=steps, lam=lam, norm=norm), n, batch_size)
            row["adaptive_success"] = (clean_correct & evaded).float().mean().item()
        rows.append(row)
    return rows
