"""The shared attack queue: rows that wait together run as one batch, first answers first, one batch at a time,
shared rows run once, unwanted rows never run, a full queue says so, a failing batch fails only its rows."""
import threading
import time
import types

import pytest

from vacdemo.serving import batcher
from vacdemo.serving.batcher import FILL, FIRST, Batcher, Busy


class Recorder:
    """A run() that records its batches and how many ran at once; blocks while `gate` is clear."""

    def __init__(self, seconds: float = 0.02):
        self.batches, self.seconds, self.now, self.most = [], seconds, 0, 0
        self.gate, self.lock = threading.Event(), threading.Lock()
        self.gate.set()

    def __call__(self, group, payloads):
        with self.lock:
            self.now += 1
            self.most = max(self.most, self.now)
        self.gate.wait(5)
        time.sleep(self.seconds)
        self.batches.append((group, list(payloads)))
        with self.lock:
            self.now -= 1
        return [p * 10 for p in payloads]


def held(max_rows: int, **kw) -> tuple[Recorder, Batcher]:
    """A queue whose worker is held on a first one-row batch (img0) while the test queues up the rest."""
    run = Recorder()
    run.gate.clear()
    q = Batcher(run, max_rows=max_rows, gather_s=0.0, **kw)
    q.submit("x", ("g",), rows("img0", [1]))
    time.sleep(0.1)
    return run, q


def rows(image: str, ks, priority=FILL):
    return [((image, k), k, priority) for k in ks]


def test_rows_asked_together_run_as_one_batch_and_come_back_in_order():
    run = Recorder()
    q = Batcher(run, max_rows=32, gather_s=0.05)
    futures = q.submit("a", ("g",), rows("img1", range(1, 6))) + q.submit("b", ("g",), rows("img2", range(1, 6)))
    assert [f.result(5) for f in futures] == [10, 20, 30, 40, 50] * 2
    assert len(run.batches) == 1 and len(run.batches[0][1]) == 10


def test_first_answers_go_ahead_of_grid_fillers_and_never_wait_in_their_batch():
    run, q = held(4)
    fill = q.submit("b", ("g",), rows("img1", range(1, 7)))
    first = q.submit("c", ("g",), rows("img2", [3], FIRST)) + q.submit("d", ("g",), rows("img3", [5], FIRST))
    assert q.ahead(("img1", 1)) == 3  # img0 runs, img2 and img3 go first
    run.gate.set()
    for f in fill + first:
        f.result(5)
    assert [b[1] for b in run.batches] == [[1], [3, 5], [1, 2, 3, 4], [5, 6]]
    assert run.most == 1  # one batch at a time


def test_batches_hold_one_group_and_at_most_max_rows():
    run, q = held(3)
    futures = q.submit("a", ("inf",), rows("img1", range(1, 5))) + q.submit("b", ("l2",), rows("img2", range(1, 3)))
    run.gate.set()
    for f in futures:
        f.result(5)
    groups = [(g, len(p)) for g, p in run.batches[1:]]
    assert groups == [(("inf",), 3), (("inf",), 1), (("l2",), 2)]


def test_a_row_wanted_twice_runs_once_and_a_waiting_one_moves_up():
    run, q = held(8)
    a = q.submit("a", ("g",), rows("img1", [1, 2]))
    c = q.submit("c", ("g",), rows("img2", [1]))
    b = q.submit("b", ("g",), rows("img1", [2], FIRST))  # the same row, now someone's first answer
    assert b[0] is a[1]
    run.gate.set()
    assert b[0].result(5) == 20 and [f.result(5) for f in a + c] == [10, 20, 10]
    assert [b_[1] for b_ in run.batches] == [[1], [2], [1, 1]]  # img1's ε 2 first; every row once
    assert q.submit("d", ("g",), rows("img1", [2]))[0].result(0) == 20  # done rows are kept


def test_rows_nobody_waits_for_are_dropped_unrun():
    run, q = held(8)
    old = q.submit("a", ("g",), rows("img1", [1, 2]))
    shared = q.submit("b", ("g",), rows("img1", [2]))
    new = q.submit("a", ("g",), rows("img2", [1]))
    q.forget("a", keep={("img2", 1)})  # a student's new input: the old grid is not wanted, but b still wants ε 2
    assert old[0].cancelled() and not shared[0].cancelled()
    run.gate.set()
    assert new[0].result(5) == 10 and shared[0].result(5) == 20
    assert [b[1] for b in run.batches] == [[1], [2, 1]]


def test_a_full_queue_refuses_new_rows_but_not_shared_ones():
    run, q = held(8, max_waiting=3)
    q.submit("a", ("g",), rows("img1", [1, 2, 3]))
    with pytest.raises(Busy, match="most this server holds is 3"):
        q.submit("b", ("g",), rows("img2", [1]))
    q.submit("b", ("g",), rows("img1", [2]))  # already waiting: no new row
    run.gate.set()


def test_a_failing_batch_fails_its_rows_and_the_worker_goes_on():
    def run(group, payloads):
        if group == ("bad",):
            raise ValueError("boom")
        return payloads
    q = Batcher(run, gather_s=0.0)
    bad = q.submit("a", ("bad",), rows("img1", [1]))[0]
    with pytest.raises(ValueError, match="boom"):
        bad.result(5)
    assert q.submit("a", ("good",), rows("img2", [1]))[0].result(5) == 1
    assert q.submit("b", ("bad",), rows("img1", [1]))[0] is not bad  # a failure is not kept: asking again retries


def test_rows_forgotten_while_a_batch_gathers_leave_the_worker_running(monkeypatch):
    gathering, release = threading.Event(), threading.Event()

    def gather(seconds):  # the worker's first gathering waits until the test has forgotten its row
        if not gathering.is_set():
            gathering.set()
            release.wait(5)
        time.sleep(seconds)
    monkeypatch.setattr(batcher, "time", types.SimpleNamespace(sleep=gather))
    run = Recorder()
    q = Batcher(run, gather_s=0.01)
    old = q.submit("a", ("g",), rows("img1", [1]))[0]
    worker = q._worker
    assert gathering.wait(5)  # the worker saw img1's row and gathers a batch around it
    q.forget("a")
    assert old.cancelled()  # nobody else wanted the row: dropped, its future cancelled
    release.set()  # the gathering ends on an empty queue
    time.sleep(0.3)
    assert worker.is_alive() and q.batches == [] and run.batches == []  # nothing ran, and the worker goes on
    assert q.submit("b", ("g",), rows("img2", [2]))[0].result(5) == 20
    assert q._worker is worker  # the same worker ran the next row (submit did not have to start a new one)
    assert [b[1] for b in run.batches] == [[2]]  # img2's row alone: img1's never ran


def test_a_failing_row_fails_alone_and_its_batch_mates_get_their_results():
    def run(group, payloads):
        if "bad" in payloads:
            raise ValueError("bad row")
        return [p.upper() for p in payloads]
    q = Batcher(run, gather_s=0.05)
    futures = q.submit("a", ("g",), [(("img1", 1), "ok", FILL), (("img2", 1), "bad", FILL), (("img3", 1), "ok2", FILL)])
    assert futures[0].result(5) == "OK" and futures[2].result(5) == "OK2"
    with pytest.raises(ValueError, match="bad row"):
        futures[1].result(5)


def test_a_dragged_slider_leaves_one_first_answer():
    run, q = held(8)
    q.submit("other", ("g",), rows("img9", [1], FIRST))
    for k in (2, 3, 4):  # a student drags the slider over ε 2, 3, 4 while their grid waits
        q.demote("a", keep=("img1", k))
        q.submit("a", ("g",), rows("img1", [k], FIRST) + rows("img1", [5, 6]))
    run.gate.set()
    time.sleep(0.5)
    assert [b[1] for b in run.batches][:3] == [[1], [1, 4], [2, 5, 6, 3]]  # img9, then the last first answer


def test_two_workers_run_two_batches_at_once_each_reporting_its_own_progress():
    """One worker per core: the next batch starts while another runs (first answers need not wait for a grid
    filler's batch), never more than `workers` at once, and a row's progress is its own batch's."""
    seen = {}

    class Steps(Recorder):
        def __call__(self, group, payloads):
            q.report(len(payloads), 40)  # as the attack's on_step does, from inside the worker
            seen[payloads[0]] = q.progress_of(("img" + str(payloads[0]), payloads[0]))
            return super().__call__(group, payloads)
    run = Steps(seconds=0.2)
    q = Batcher(run, max_rows=2, gather_s=0.0, workers=2)
    futures = [f for i in range(1, 7) for f in q.submit(f"s{i}", ("g", i), [((f"img{i}", i), i, FILL)])]
    for f in futures:
        f.result(5)
    assert run.most == 2  # two batches at once, never three
    assert all(seen[i] == (1, 40) for i in range(1, 7))  # each row saw its own worker's progress
    assert q.progress_of(("img1", 1)) == (0, 0)  # done: no progress to report
