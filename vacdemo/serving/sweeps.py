"""A student's ε-grid from request to answer, behind one call: the cache of every session's finished sweeps,
the shared queue (vacdemo.serving.lab.Grid), and what to tell the student while they wait (events).

The page iterates `attack(...)` and draws each event; it never polls the queue or holds a lock itself.
"""
import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from concurrent.futures import CancelledError

import numpy as np

from ..errors import SettingsError
from ..lab.record import Sweep
from .batcher import Busy
from .events import AlreadyThere, Attacking, Done, Event, Failed, Filling, First, Queued, Slow
from .lab import Grid, seconds_per_step

SLOW_S = 5.0  # an attack expected to take longer than this says so before it runs
POLL_S = 0.1  # a waiting page looks at its answer this often
WAIT_S = 600.0  # and gives up after this long, saying so
KEEP = 256  # finished sweeps kept for every session, most recent first


class SweepCache:
    """(image, settings) → Sweep, the KEEP most recent, shared by every session of this process. Not Streamlit's
    cache_data, which cannot replay a progress bar drawn from inside the cached call. Nobody mutates a Sweep."""

    def __init__(self, size: int = KEEP):
        self.size, self.items, self.lock = size, OrderedDict(), threading.Lock()

    def get(self, key: tuple) -> Sweep | None:
        with self.lock:
            if key in self.items:
                self.items.move_to_end(key)
            return self.items.get(key)

    def put(self, key: tuple, s: Sweep) -> None:
        with self.lock:
            self.items[key] = s
            while len(self.items) > self.size:
                self.items.popitem(last=False)


CACHE = SweepCache()
_notes: dict[tuple, str] = {}  # the slow note of a sweep computed here: said again when it is drawn


def sweep_key(name: str, x: np.ndarray, y: int | None, norm: str, steps: int, alpha: float | None,
              target: int | None, adaptive: bool) -> tuple:
    return name, hashlib.sha1(np.ascontiguousarray(x).tobytes()).hexdigest(), y, norm, steps, alpha, target, adaptive


def slow_note(steps: int, adaptive: bool) -> str | None:
    """A warning for settings expected to take more than SLOW_S on this server, else None."""
    estimate = seconds_per_step() * steps * (3 if adaptive else 1)
    if estimate <= SLOW_S:
        return None
    return (f"These settings take about {estimate:.0f} s ({steps} steps{', detector-aware' if adaptive else ''}): "
            "fewer steps under Advanced are quicker.")


def attack(name: str, x: np.ndarray, y: int | None, *, norm: str, steps: int, alpha: float | None,
           target: int | None, adaptive: bool, first, owner: str) -> Iterator[Event]:
    """The ε-grid of x (1, 28, 28) with these settings, as events: Done at once when any session already has it;
    else the grid goes into the shared queue with row `first` (the slider's ε) ahead, and the events say where it
    stands (Queued, Attacking), give that row's verdict (First), the rest filling in (Filling), then Done. Failed
    instead says in one line why it could not run; a tab that asked for another input meanwhile hears nothing
    more (its next run draws that one). first: a grid index, or a function that gives it (the page's slider,
    drawn only when the grid must be computed)."""
    key = sweep_key(name, x, y, norm, steps, alpha, target, adaptive)
    s = CACHE.get(key)
    if s is not None:
        if key in _notes:
            yield Slow(_notes.pop(key))
        yield Done(s, fresh=False)
        return
    note = slow_note(steps, adaptive)
    if note:
        yield Slow(note)
    grid = None
    first = first() if callable(first) else first
    try:
        grid = Grid(name, x, y, norm=norm, steps=steps, alpha=alpha, target=target, adaptive=adaptive, first=first,
                    owner=owner)
        if grid.target is not None and grid.target == grid.y:
            grid.drop()
            yield AlreadyThere(grid.y)
            return
        k = min(max(int(first), 0), len(grid.eps) - 1)
        yield from wait(grid, k)
        yield First(grid.sweep([0, k] if k else [0]))
        while (done := grid.count_done()) < len(grid.eps):
            yield Filling(done, len(grid.eps))
            time.sleep(POLL_S)
        s = grid.sweep()
    except CancelledError:
        return
    except Exception as e:  # noqa: BLE001  one clear line, never a traceback; nothing of the page is lost
        if grid is not None and not isinstance(e, (Busy, SettingsError)):
            grid.drop()
        yield failure(e)
        return
    if note:
        _notes[key] = note  # said again by the run that draws it from the cache (only a finished sweep is drawn)
    CACHE.put(key, s)
    yield Done(s, fresh=True)


def failure(e: Exception) -> Failed:
    """What a student reads when an attack cannot run: a full queue, settings out of range, or a server error."""
    if isinstance(e, Busy):
        return Failed("The server is busy with everyone's attacks: try again in a few seconds.", busy=True)
    if isinstance(e, SettingsError):
        return Failed(f"These attack settings cannot run: {e}")
    return Failed(f"The attack failed on the server ({type(e).__name__}: {e}). Pick the input again to retry.")


def wait(grid: Grid, k: int) -> Iterator[Event]:
    """Until row k is back: where it stands in the queue, or how far its batch has come (each change once)."""
    shown, deadline = None, time.monotonic() + WAIT_S
    while not grid.done(k):
        if time.monotonic() > deadline:
            raise TimeoutError(f"no answer within {WAIT_S:.0f} s")
        ahead = grid.ahead(k)
        step, steps = grid.progress(k) if not ahead else (0, 0)
        if (ahead, step) != shown:
            shown = ahead, step
            yield Queued(ahead) if ahead else Attacking(step, steps)
        try:
            grid.futures[k].result(timeout=POLL_S)
        except TimeoutError:
            pass
