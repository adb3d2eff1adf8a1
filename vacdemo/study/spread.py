"""How much a difference between two settings has to be before a verdict reads it as an effect.

Two sources of noise: the seed (initialisation and data order: models trained again differ) and the test
sample (another draw of images gives other accuracies). A setting's value at one ε is the mean over its
seeds; an effect between two settings counts only when it exceeds the margin

    margin = max(SEED_SDS × seed-to-seed s.d. (pooled over the two settings),
                 BOOT_SES × bootstrap s.e. of the difference over test images (paired: the same images),
                 FLOOR),

and a reading "over the ε range" counts the ε > 0 columns where it does, against CONSISTENT of them (columns
where both settings sit at 0 or 1 are left out: no effect can show there).
"""
from dataclasses import dataclass

import numpy as np

SEED_SDS = 2.0  # an effect must exceed twice the seed-to-seed standard deviation …
BOOT_SES = 2.0  # … and twice the bootstrap standard error of the difference over the test images …
FLOOR = 0.01  # … and one point, whatever the spreads
CONSISTENT = 0.5  # "over the ε range": in more than this share of the ε > 0 columns
BOOTSTRAPS = 1000


def resample_weights(n: int, seed: int = 0) -> np.ndarray:
    """(BOOTSTRAPS, n) multinomial counts: one bootstrap draw of the n test images per row, the same for
    every setting (the images are shared, so differences are paired)."""
    rng = np.random.default_rng(seed)
    return rng.multinomial(n, np.full(n, 1 / n), size=BOOTSTRAPS).astype(np.float32)


@dataclass
class Stat:
    """One setting's value at one ε: the mean over seeds of a ratio of per-image sums, Σ num / Σ den (den = 1
    for a plain share such as accuracy; 1 + [attack succeeded] for detection over clean and successful)."""
    num: np.ndarray  # (seeds, n)
    den: np.ndarray | None = None  # (seeds, n); None: all ones

    def __post_init__(self):
        self.num = np.atleast_2d(np.asarray(self.num, dtype=np.float32))
        self.den = np.ones_like(self.num) if self.den is None else np.atleast_2d(np.asarray(self.den, dtype=np.float32))

    @property
    def per_seed(self) -> np.ndarray:
        return self.num.sum(1) / np.maximum(self.den.sum(1), 1e-12)

    @property
    def mean(self) -> float:
        return float(self.per_seed.mean())

    @property
    def seeds(self) -> int:
        return len(self.num)

    @property
    def sd(self) -> float:
        """Seed-to-seed s.d. of the per-seed values (nan with one seed)."""
        return float(self.per_seed.std(ddof=1)) if self.seeds > 1 else float("nan")

    def boot(self, w: np.ndarray) -> np.ndarray:
        """(BOOTSTRAPS,) bootstrap replicates of the mean over seeds."""
        den = w @ self.den.T
        with np.errstate(invalid="ignore", divide="ignore"):  # a resample with nothing to count is undefined
            return np.where(den > 0, (w @ self.num.T) / den, np.nan).mean(1)


def boot_sd(replicates: np.ndarray) -> float:
    """The s.d. of the defined bootstrap replicates (0 when fewer than two: nothing to spread)."""
    r = replicates[np.isfinite(replicates)]
    return float(r.std()) if len(r) > 1 else 0.0


def margin_one(a: Stat, w: np.ndarray) -> float:
    """The smallest distance of one setting's value from a fixed line (a threshold) read as beyond it."""
    seed_term = SEED_SDS * a.sd if a.seeds > 1 else 0.0
    return max(seed_term, BOOT_SES * boot_sd(a.boot(w)), FLOOR)


def margin(a: Stat, b: Stat, w: np.ndarray) -> float:
    """The smallest difference a − b read as an effect (see the module's docstring)."""
    sds = [s.sd for s in (a, b) if s.seeds > 1]
    seed_term = SEED_SDS * float(np.sqrt(np.mean(np.square(sds)))) if sds else 0.0
    boot_term = BOOT_SES * boot_sd(a.boot(w) - b.boot(w))
    return max(seed_term, boot_term, FLOOR)


@dataclass
class Effect:
    """a − b at each ε > 0, with its margin: +1 above, −1 below, 0 within. A column where both settings sit at
    0 or at 1 (within FLOOR; robust accuracy once every attack succeeds) cannot show an effect, so it is left
    out of the count: saturated columns must not outvote the ones where the settings can differ."""
    eps: list[float]
    diff: list[float]
    margins: list[float]
    informative: list[bool]

    @property
    def signs(self) -> list[int]:
        return [int(np.sign(d)) if abs(d) > m else 0 for d, m in zip(self.diff, self.margins)]

    def share(self, sign: int) -> float:
        kept = [s for s, i in zip(self.signs, self.informative) if i]
        return sum(s == sign for s in kept) / max(len(kept), 1)

    def consistent(self, sign: int) -> bool:
        """a − b beyond the margin, with this sign, in more than CONSISTENT of the informative ε columns."""
        return self.share(sign) > CONSISTENT

    def detectable(self) -> float | None:
        """The smallest effect these measurements could tell from none: the largest margin over the informative
        columns (an effect below it in every column could have gone unseen); None without an informative column."""
        kept = [m for m, i in zip(self.margins, self.informative) if i]
        return max(kept) if kept else None

    def describe(self) -> str:
        cols = ", ".join(f"ε {e:g}: {d:+.3f} (±{m:.3f})" + ("" if i else " (saturated)")
                         for e, d, m, i in zip(self.eps, self.diff, self.margins, self.informative))
        return (f"{cols}; beyond the margin at {sum(s != 0 for s, i in zip(self.signs, self.informative) if i)} "
                f"of {sum(self.informative)} informative ε")


def effect(a: list[Stat], b: list[Stat], eps: list[float], w: np.ndarray) -> Effect:
    """a − b over the ε > 0 columns (a, b: one Stat per ε in eps)."""
    saturated = [all(v < FLOOR for v in (x.mean, y.mean)) or all(v > 1 - FLOOR for v in (x.mean, y.mean))
                 for x, y in zip(a, b)]
    return Effect(list(eps), [x.mean - y.mean for x, y in zip(a, b)], [margin(x, y, w) for x, y in zip(a, b)],
                  [not sat for sat in saturated])
