"""Every session's attack rows, run as shared batches by one worker thread.

A classroom asks at the same moment ("now everyone pick a digit"). One image attacked alone leaves the cores
mostly idle (operator overhead: 16 images cost about 3.4× one), so rows that wait at the same time are run as
one batch: first answers (the ε on a student's slider) ahead of grid fillers, oldest first, at most
`max_rows` per batch, and at most `workers` batches at a time (one per core the attacks may use, each on one
torch thread), so never more work at once than the cores take. A row wanted
by several sessions runs once; rows nobody waits for any more are dropped before they run.

No torch here: `run(group, payloads) → results` does the math (vacdemo.serving.lab gives it the attack).
"""
import itertools
import threading
import time
from collections import OrderedDict
from concurrent.futures import Future
from dataclasses import dataclass, field

FIRST, FILL = 0, 1  # priorities: the answer a student is looking at, then the rest of the grid


class Busy(RuntimeError):
    """The queue is full: more rows wait than the server will hold."""


@dataclass(eq=False)
class Row:
    group: tuple  # rows batch only with rows of the same group (one model, norm, step count, attack kind)
    key: tuple  # (image key, ε index): equal keys are one computation
    payload: object  # what run() needs for this row
    priority: int
    seq: int  # arrival order, for first-come first-served within a priority
    future: Future = field(default_factory=Future)
    owners: set = field(default_factory=set)
    worker: int = -1  # the worker that runs it
    keep: bool = True  # kept among the finished rows for a session that asks again (a search's slice is not)

    @property
    def order(self) -> tuple[int, int]:
        return self.priority, self.seq


class Batcher:
    """submit() rows, wait on their futures; one daemon thread runs them in batches."""

    def __init__(self, run, max_rows: int = 32, gather_s: float = 0.005, max_waiting: int = 4096,
                 keep_done: int = 4096, workers: int = 1):
        self.run, self.max_rows, self.gather_s, self.max_waiting = run, max_rows, gather_s, max_waiting
        self.n_workers = workers  # batches run at once, each on its own thread (one per core the attacks may use)
        self.keep_done = keep_done  # finished rows kept by key: a session that reruns finds its answers
        self._cv = threading.Condition()
        self._waiting: dict[tuple, Row] = {}
        self._running: dict[tuple, Row] = {}
        self._done: OrderedDict[tuple, Future] = OrderedDict()
        self._seq = itertools.count()
        self._worker: threading.Thread | None = None  # the first worker
        self._workers: list[threading.Thread | None] = [None] * workers
        self._progress: dict[int, tuple[int, int]] = {}  # worker → (step, steps) of the batch it runs
        self._here = threading.local()  # which worker this thread is
        self.batches: list[int] = []  # sizes of the batches run so far (the most recent 1000), for tests and the load test

    def submit(self, owner, group: tuple, rows: list[tuple[tuple, object, int]], keep: bool = True) -> list[Future]:
        """rows: (key, payload, priority) → one future per row. A row already waiting, running or done is
        shared (a waiting one moves up to the higher priority). keep=False: not kept once done (large results
        nobody asks for twice). Raises Busy when the queue is full."""
        with self._cv:
            new = sum(k not in self._waiting and k not in self._running and k not in self._done for k, _, _ in rows)
            if len(self._waiting) + new > self.max_waiting:
                raise Busy(f"{len(self._waiting)} attack rows are waiting, the most this server holds is "
                           f"{self.max_waiting}")
            futures = []
            for key, payload, priority in rows:
                if key in self._done:
                    self._done.move_to_end(key)
                    futures.append(self._done[key])
                    continue
                row = self._running.get(key) or self._waiting.get(key)
                if row is None:
                    row = self._waiting[key] = Row(group, key, payload, priority, next(self._seq), keep=keep)
                elif key in self._waiting and priority < row.priority:
                    row.priority = priority
                row.owners.add(owner)
                futures.append(row.future)
            self._start()
            self._cv.notify()
            return futures

    def demote(self, owner, keep: tuple) -> None:
        """owner's earlier first answers, other than keep, wait as grid fillers again (a slider dragged while
        the grid fills must not turn a whole grid into first answers, ahead of other students')."""
        with self._cv:
            for key, row in self._waiting.items():
                if key != keep and row.priority == FIRST and row.owners == {owner}:
                    row.priority = FILL

    def forget(self, owner, keep: set = frozenset()) -> None:
        """owner no longer waits for its rows outside keep (a new input, a closed page): rows that nobody
        waits for are dropped unrun, their futures cancelled."""
        with self._cv:
            for key, row in list(self._waiting.items()):
                if key not in keep:
                    row.owners.discard(owner)
                    if not row.owners:
                        del self._waiting[key]
                        row.future.cancel()

    def ahead(self, key: tuple) -> int:
        """How many other images have rows that run before this row (0 once it runs or is done)."""
        with self._cv:
            row = self._waiting.get(key)
            if row is None:
                return 0
            return len({r.key[0] for r in self._waiting.values() if r.order < row.order and r.key[0] != key[0]} |
                       {r.key[0] for r in self._running.values() if r.key[0] != key[0]})

    def running(self, key: tuple) -> bool:
        with self._cv:
            return key in self._running

    @property
    def progress(self) -> tuple[int, int]:
        """(step, steps) of the first worker's batch (one worker: the batch now running)."""
        return self._progress.get(0, (0, 0))

    def progress_of(self, key: tuple) -> tuple[int, int]:
        """(step, steps) of the batch that runs this row, (0, 0) while it waits or once done."""
        with self._cv:
            row = self._running.get(key)
            return self._progress.get(row.worker, (0, 0)) if row is not None else (0, 0)

    def report(self, step: int, steps: int) -> None:
        """Called from inside run() (the attack's on_step): this worker's batch is at step of steps."""
        self._progress[getattr(self._here, "worker", 0)] = (step, steps)

    def _start(self) -> None:
        for i, w in enumerate(self._workers):
            if w is None or not w.is_alive():
                self._workers[i] = threading.Thread(target=self._loop, args=(i,), name=f"vacdemo-batcher-{i}",
                                                    daemon=True)
                self._workers[i].start()
        self._worker = self._workers[0]

    def _take(self, worker: int = 0) -> list[Row]:
        """The next batch: the first row in line and the rows of its group and priority, in line order, at most
        max_rows. First answers never wait for grid fillers in their own batch."""
        if not self._waiting:  # forgotten while the batch gathered
            return []
        head = min(self._waiting.values(), key=lambda r: r.order)
        rows = sorted((r for r in self._waiting.values() if (r.group, r.priority) == (head.group, head.priority)),
                      key=lambda r: r.order)
        taken = []
        for r in rows[:self.max_rows]:
            del self._waiting[r.key]
            if r.future.set_running_or_notify_cancel():  # from here on it cannot be cancelled
                r.worker = worker
                self._running[r.key] = r
                taken.append(r)
        return taken

    def _loop(self, worker: int = 0) -> None:
        self._here.worker = worker
        while True:
            with self._cv:
                while not self._waiting:
                    self._cv.wait()
            time.sleep(self.gather_s)  # rows asked for at the same moment join this batch
            with self._cv:
                rows = self._take(worker)
                # No notify() for what remains: a sleeping worker wakes at the next submit. Waking it here measured
                # no better under a burst of 30 (whole grid p95 6.88 s against 5.70 and 6.44 s without it: within
                # the runs' spread), and it splits first answers into smaller batches; one student's lone grid
                # waits for one first-answer batch at most.
                if not rows:
                    continue
                self.batches = (self.batches + [len(rows)])[-1000:]
            try:
                self._resolve(rows)
            except BaseException as e:  # never leave a future unresolved, even on the way out
                for r in rows:
                    if not r.future.done():
                        r.future.set_exception(e)
                raise
            finally:
                with self._cv:
                    for r in rows:
                        del self._running[r.key]
                        if r.keep and not r.future.exception():
                            self._done[r.key] = r.future
                    while len(self._done) > self.keep_done:
                        self._done.popitem(last=False)
                    self._progress.pop(worker, None)

    def _resolve(self, rows: list[Row]) -> None:
        """Run rows as one batch. If the batch fails, each row runs alone, so one bad row fails only itself
        (and the students waiting on it see its error)."""
        try:
            results = self._run_checked(rows)
        except Exception as e:
            if len(rows) == 1:
                rows[0].future.set_exception(e)
                return
            for r in rows:
                try:
                    r.future.set_result(self._run_checked([r])[0])
                except Exception as e1:  # noqa: BLE001  the session shows it
                    r.future.set_exception(e1)
            return
        for r, result in zip(rows, results):
            r.future.set_result(result)

    def _run_checked(self, rows: list[Row]) -> list:
        results = list(self.run(rows[0].group, [r.payload for r in rows]))
        if len(results) != len(rows):
            raise RuntimeError(f"the attack returned {len(results)} results for {len(rows)} rows")
        return results
