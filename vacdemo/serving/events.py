"""What a student's page hears while its attack runs: plain records (no torch), so the page's views can draw them."""
from dataclasses import dataclass

from ..lab.record import SquareRun, Sweep  # noqa: F401  (SquareRun: named in Done)


@dataclass(frozen=True)
class Slow:
    """These settings take a while: said before the attack runs (and again when its answer is drawn)."""
    note: str


@dataclass(frozen=True)
class Queued:
    ahead: int  # attacks ahead of this one in the shared queue


@dataclass(frozen=True)
class Attacking:
    step: int  # PGD steps done by the batch that runs this attack
    steps: int


@dataclass(frozen=True)
class First:
    """The slider's ε is done: its verdict can be drawn while the rest of the grid fills in."""
    sweep: Sweep  # two rows: ε = 0 and the slider's ε


@dataclass(frozen=True)
class Filling:
    done: int  # grid rows back
    total: int


@dataclass(frozen=True)
class Done:
    sweep: "Sweep | SquareRun"  # the whole grid (a Square Attack: its run at one ε)
    fresh: bool  # computed in this call (False: from the cache of every session's finished sweeps)


@dataclass(frozen=True)
class AlreadyThere:
    """A targeted attack toward the class the model already reads."""
    y: int


@dataclass(frozen=True)
class Failed:
    message: str  # one line for the student: what went wrong and what to do
    busy: bool = False  # the queue is full: a warning, not an error


Event = Slow | Queued | Attacking | First | Filling | Done | AlreadyThere | Failed
