"""What the projector's wall shows, from a class's attempts: plain numbers and PNG bytes (the ui draws them)."""
from dataclasses import dataclass

import numpy as np

from .classes import ClassInfo, Classroom


@dataclass(frozen=True)
class Wall:
    info: ClassInfo
    shown: int  # attempts on the wall (hidden ones not counted)
    latest: list[dict]  # the newest attempts (id, shown_name, x_png, adv_png, label, after, caught, flip_eps, …)
    flip_eps: np.ndarray  # every shown attempt's flip ε (the fooled ones)
    fooled: int  # attempts that fooled the model
    caught: float | None  # the share of those the detector caught, None before any
    hardest: int | None  # the class (label) hardest to fool: largest median flip ε (never fooled counts as ∞)
    ranking: list[dict]  # the current challenge's best per student


def wall(room: Classroom, code: str, latest: int = 8) -> Wall:
    info = room.info(code)
    rows = room.attempts(code, images=False)  # every attempt's numbers; the pictures of the newest only
    flips = np.array([r["flip_eps"] for r in rows if r["flip_eps"] is not None], dtype=float)
    fooled = [r for r in rows if r["flip_eps"] is not None]
    caught = sum(r["caught"] for r in fooled) / len(fooled) if fooled else None
    by_class: dict[int, list[float]] = {}
    for r in rows:
        by_class.setdefault(int(r["label"]), []).append(np.inf if r["flip_eps"] is None else float(r["flip_eps"]))
    hardest = max(by_class, key=lambda c: (float(np.median(by_class[c])), len(by_class[c]))) if by_class else None
    return Wall(info, len(rows), room.attempts(code, limit=latest), flips, len(fooled), caught, hardest, room.ranking(code))


def ordinal(n: int) -> str:
    """1 → 1st, 2 → 2nd, 11 → 11th, 23 → 23rd."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"
