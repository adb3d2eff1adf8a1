"""Square Attack in the lab (vacdemo.serving.blackbox): through the shared queue in slices below PGD's first
answers, every query counted within the budget, the finished run cached for every session, bad settings one line."""
import numpy as np
import pytest

from vacdemo.lab.record import SquareRun
from vacdemo.serving import blackbox
from vacdemo.serving.batcher import FILL, FIRST
from vacdemo.serving.events import Attacking, Done, Failed
from vacdemo.serving.lab import lab_facts, queue


def run(x, y, **kw):
    events = list(blackbox.square_attack("mnist", x, y, owner="test-blackbox", **kw))
    return events, events[-1]


def test_a_search_goes_through_the_queue_in_slices_below_first_answers(monkeypatch):
    facts = lab_facts("mnist")
    submitted = []
    real = type(queue()).submit

    def spy(self, owner, group, rows, keep=True):
        submitted.extend((group, priority, keep) for _, _, priority in rows)
        return real(self, owner, group, rows, keep)
    monkeypatch.setattr(type(queue()), "submit", spy)
    x, y = facts.pictures[3][None], int(facts.labels[3])
    events, last = run(x, y, eps=0.005, queries=300)  # too small to fool: the whole budget, slice by slice
    assert isinstance(last, Done) and last.fresh and isinstance(last.sweep, SquareRun)
    r = last.sweep
    assert not r.fooled and r.ran_out and r.queries == 300 == r.budget
    assert len(submitted) == -(-(300 - 1) // blackbox.SLICE)  # the first query at the start, then slices
    assert {p for _, p, _ in submitted} == {FILL} and FILL > FIRST  # below every PGD first answer
    assert all(g[0] == "square" and not keep for g, _, keep in submitted)  # slices are not kept once done
    steps = [e.step for e in events if isinstance(e, Attacking)]
    assert steps == sorted(steps) and steps[-1] == 300
    assert np.abs(r.sweep.x_adv[1] - r.sweep.x_adv[0]).max() <= 0.005 + 1e-6
    assert r.p_true.shape == (300,) and np.all((r.p_true >= 0) & (r.p_true <= 1))
    again, cached = run(x, y, eps=0.005, queries=300)
    assert cached.fresh is False and cached.sweep is r and len(again) == 1


def test_a_fooled_search_stops_and_counts_its_queries():
    facts = lab_facts("mnist")
    _, last = run(facts.pictures[0][None], int(facts.labels[0]), eps=0.15, queries=1000)
    r = last.sweep
    assert r.fooled and 1 <= r.queries < 1000 and r.sweep.pred[1] != r.sweep.y
    assert np.all(r.p_true[r.queries - 1:] == r.p_true[r.queries - 1])  # after it stops, the curve stays


@pytest.mark.parametrize("kw, words", [({"eps": 0.1, "queries": 0}, "query budget"),
                                       ({"eps": 0.1, "queries": 20_000}, "query budget"),
                                       ({"eps": 0.9, "queries": 100}, "ε must lie")])
def test_bad_settings_are_one_line(kw, words):
    facts = lab_facts("mnist")
    events, last = run(facts.pictures[0][None], 0, **kw)
    assert isinstance(last, Failed) and words in last.message and len(events) == 1
