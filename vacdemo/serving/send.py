"""A student's "Send to the class": the server finds the smallest ε that fools the model with the student's own
attack (vacdemo.serving.flip), then stores the attempt with small PNGs of the input and the attacked picture."""
import numpy as np

from ..classroom.classes import ClassError, Classroom, Posted
from ..images import gray_png
from .flip import flip_eps
from .sweeps import CACHE, sweep_key

GOALS = {(False, False): "untargeted", (True, False): "targeted", (False, True): "evade the detector"}


def send(room: Classroom, code: str, student: int, name: str, x: np.ndarray, y: int | None, *, norm: str,
         steps: int, alpha: float | None, target: int | None, adaptive: bool, model: str | None = None,
         owner: str = "send") -> tuple[Posted, float | None]:
    """→ the post (id, rank) and the flip ε the server found (None: not fooled within the range). model: "vac" or
    "adv"; None: the class's challenge decides (the robust challenge attacks the adversarially trained CNN)."""
    if norm != "inf":  # a class ranks one kind of budget: the paper's
        raise ClassError("The class compares ℓ∞ attacks (the paper's): switch the norm to ℓ∞ to send.")
    info = room.check_post(code, student, name)  # an ended class, a flood, another data set: refused before any attack
    model = model or ("adv" if info.challenge == "robust" else "vac")
    grid = CACHE.get(sweep_key(name, x, y, norm, steps, alpha, target, adaptive))  # the page's own grid, if kept
    f = flip_eps(name, x, y, norm=norm, steps=steps, alpha=alpha, target=target, adaptive=adaptive, model=model,
                 grid=grid, owner=owner)
    posted = room.post(code, student, dataset=name, model=model, goal=GOALS[target is not None, adaptive],
                       target=target, flip_eps=f.eps, label=f.label, after=f.after, caught=f.caught,
                       x_png=gray_png(np.asarray(x)[0], 1), adv_png=gray_png(f.x_adv, 1))
    return posted, f.eps
