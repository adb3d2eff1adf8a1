"""A student's Square Attack (black box: the model's answers only) at one ε, through the same shared queue as PGD.

Its cost: 1,000 queries are 1,000 forward passes of one image, about 8× a PGD-40 row at one ε (40 × (one forward +
one backward ≈ 3 forwards) = 120). So the search runs in slices of SLICE iterations, each a queue row at the grid
fillers' priority, below every PGD first answer: a burst of PGD verdicts waits for one slice at most, never for a
whole search. Slices of several students run as one batch (each image keeps its own random draws, so its search
is the same in any batch). Finished searches are cached for every session, like PGD's grids.
"""
import hashlib
import time
from collections.abc import Iterator
from concurrent.futures import CancelledError

import numpy as np
import torch

from ..attacks.square import SquareState, square_result, square_start, square_steps, stack
from ..datasets import EPS_MAX
from ..errors import SettingsError
from ..lab.limits import MAX_QUERIES, QUERIES
from ..lab.record import SquareRun
from ..lab.sweep import label, read_out
from .batcher import FILL
from .events import Attacking, Done, Event, Failed, Queued
from .lab import image_key, load_lab, queue
from .sweeps import POLL_S, WAIT_S, SweepCache, failure

SLICE = 50  # iterations per queue row (measured: python -m vacdemo bench --square; tens of ms on 2 cores)
CACHE = SweepCache()


def check(name: str, eps: float, queries: int) -> None:
    if not (isinstance(queries, int) and 1 <= queries <= MAX_QUERIES):
        raise SettingsError(f"the query budget must be an integer in 1 … {MAX_QUERIES:,}, got {queries!r}")
    if not (np.isfinite(eps) and 0 <= eps <= EPS_MAX[name]):
        raise SettingsError(f"ε must lie in [0, {EPS_MAX[name]}] for Square on this data set, got {eps}")


def run_slices(group: tuple, states: list[SquareState]) -> list[SquareState]:
    """The queue's work for a Square group: SLICE more iterations of every row, as one batch."""
    lab = load_lab(group[1])
    state = square_steps(lab.model, stack(states), SLICE)
    return state.rows()


def square_attack(name: str, x: np.ndarray, y: int | None, *, eps: float, queries: int = QUERIES,
                  target: int | None = None, owner) -> Iterator[Event]:
    """The Square Attack on x (1, 28, 28) at ε, as events: Queued / Attacking(queries spent, budget) while it runs,
    then Done(SquareRun), or Failed with one line saying why."""
    try:
        check(name, eps, queries)
    except SettingsError as e:
        yield Failed(f"These attack settings cannot run: {e}")
        return
    image = image_key(x)
    key = ("square", name, image, y, round(float(eps), 6), queries, target)
    done = CACHE.get(key)
    if done is not None:
        yield Done(done, fresh=False)
        return
    try:
        lab = load_lab(name)
        start = time.perf_counter()
        xt = torch.from_numpy(np.asarray(x, dtype=np.float32))
        y, labelled = label(lab.model, xt, y, lab.device)
        seed = int(hashlib.sha1(f"{image}:{eps}".encode()).hexdigest()[:8], 16)  # the same search for everyone
        state = square_start(lab.model, xt[None].to(lab.device), torch.tensor([y], device=lab.device), eps=eps,
                             queries=queries, seeds=[seed], target=None if target is None else [target])
        group = ("square", name, queries, target is None)
        q, n = queue(), 0
        while bool(state.running.any()):
            row = (key, n)
            q.forget(owner, keep={row})  # this student's earlier attacks are no longer wanted
            (future,) = q.submit(owner, group, [(row, state, FILL)], keep=False)  # a slice is asked for once
            shown, deadline = None, time.monotonic() + WAIT_S
            while not future.done():
                if time.monotonic() > deadline:
                    raise TimeoutError(f"no answer within {WAIT_S:.0f} s")
                ahead = q.ahead(row)
                if (ahead, int(state.used)) != shown:
                    shown = ahead, int(state.used)
                    yield Queued(ahead) if ahead else Attacking(int(state.used), queries)
                try:
                    future.result(timeout=POLL_S)
                except TimeoutError:
                    pass
            state, n = future.result(), n + 1
            yield Attacking(int(state.used), queries)
        r = square_result(state)
        sweep = read_out(lab.model, lab.detector, torch.cat([xt[None].to(lab.device), r.x_adv]), np.array([0.0, eps]),
                         y, labelled, target, False, "inf", start)
        run = SquareRun(sweep, int(r.queries[0]), queries, bool(r.fooled[0]), r.p_true[0].float().cpu().numpy())
    except CancelledError:
        return
    except Exception as e:  # noqa: BLE001  one clear line, never a traceback
        yield failure(e)
        return
    CACHE.put(key, run)
    yield Done(run, fresh=True)
