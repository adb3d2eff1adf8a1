"""The class wall's store and rules, on SQLite and on a real PostgreSQL server: classes, joining, posting with the
server's flip ε, rankings, the teacher's controls, every bad input with one clear line, restarts and expiry."""
import io
import time
import zipfile

import numpy as np
import pytest
from sqlalchemy import create_engine, func, select, text

from conftest import free_ports
from postgres import postgres_server
from vacdemo.classroom import classes as C
from vacdemo.classroom.classes import ClassError, Classroom, clean_nickname
from vacdemo.classroom.store import SCHEMA_VERSION, StoreError, attempts
from vacdemo.classroom.wall import ordinal, wall


@pytest.fixture(scope="module")
def pg_url():
    with postgres_server(free_ports(1)) as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.slow)])
def url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'classroom.sqlite'}"
    pg = request.getfixturevalue("pg_url")
    engine = create_engine(pg)
    with engine.begin() as c:  # each test on an empty store
        c.execute(text("DROP TABLE IF EXISTS vac_attempt, vac_student, vac_class, vac_meta CASCADE"))
    engine.dispose()
    return pg


def post(room, code, student, eps=0.02, caught=False, label=0, model="vac", now=None):
    return room.post(code, student, dataset="mnist", model=model, goal="untargeted", target=None, flip_eps=eps,
                     label=label, after=5, caught=caught, x_png=b"\x89PNG x", adv_png=b"\x89PNG a", now=now)


def test_a_class_end_to_end(url):
    room = Classroom(url)
    code, key = room.create("mnist")
    assert len(code) == 5 and set(code) <= set(C.ALPHABET) and len(key) >= 32
    ann, bob = room.join(code, "s1", "Ann"), room.join(code, "s2", "Bob")
    assert room.join(code, "s1", "Annie") == ann  # the same session joins once
    t = time.time()
    assert post(room, code, ann, 0.030, now=t).rank == 1
    assert post(room, code, bob, 0.012, now=t + 1).rank == 1  # Bob's is smaller: first now
    assert post(room, code, ann, 0.020, now=t + 5).rank == 2  # Ann's best counts once
    assert post(room, code, bob, None, now=t + 9).rank is None  # not fooled: does not rank
    board = room.ranking(code)
    assert [(r["shown_name"], r["flip_eps"]) for r in board] == [("Bob", 0.012), ("Annie", 0.020)]
    w = wall(room, code)
    assert w.info.students == 2 and w.info.attempts == 4 and w.fooled == 3 and w.caught == 0
    assert len(w.flip_eps) == 3 and ordinal(3) == "3rd" and ordinal(11) == "11th" and ordinal(22) == "22nd"
    # the teacher's controls, with the key only
    assert room.is_teacher(code, key) and not room.is_teacher(code, "guess") and not room.is_teacher(code, None)
    with pytest.raises(ClassError, match="Only the teacher"):
        room.clear(code, "guess")
    room.hide_attempt(code, key, board[0]["id"])
    assert [r["shown_name"] for r in room.ranking(code)] == ["Annie"]  # Bob's only fooling attempt hidden
    room.hide_name(code, key, ann)
    assert room.ranking(code)[0]["shown_name"] is None
    room.set_challenge(code, key, "stealth")
    assert room.ranking(code) == []  # a new challenge ranks its own attempts
    zipped = zipfile.ZipFile(io.BytesIO(room.export(code, key)))
    assert "attempts.csv" in zipped.namelist() and len([n for n in zipped.namelist() if n.endswith(".png")]) == 8
    room.end(code, key)
    with pytest.raises(ClassError, match="no class"):
        room.info(code)


def test_an_acknowledged_post_survives_a_restart_and_classes_expire(url):
    room = Classroom(url)
    code, key = room.create("mnist")
    post(room, code, room.join(code, "s1"), 0.01)
    again = Classroom(url)  # a new server process on the same store
    assert again.info(code).attempts == 1 and again.is_teacher(code, key)
    assert again.cleanup(now=time.time() + 25 * 3600) >= 1  # a day after its last post: deleted
    with pytest.raises(ClassError):
        again.info(code)


def test_another_data_set_and_a_gone_class_are_refused_in_one_line(url):
    room = Classroom(url)
    code, key = room.create("mnist")
    s = room.join(code, "s1")
    with pytest.raises(ClassError, match="plays on mnist"):
        room.post(code, s, dataset="fmnist", model="vac", goal="untargeted", target=None, flip_eps=0.01, label=0,
                  after=1, caught=False, x_png=b"x", adv_png=b"y")
    room.end(code, key)
    with pytest.raises(ClassError, match="no class"):
        post(room, code, s)


def test_a_wrong_from_the_start_picture_does_not_rank_and_late_places_are_told(url):
    room = Classroom(url)
    code, _ = room.create("mnist")
    t = time.time()
    for i in range(12):
        post(room, code, room.join(code, f"s{i}"), 0.01 + 0.001 * i, now=t)
    assert post(room, code, room.join(code, "late"), 0.5, now=t).rank == 13  # the 13th is told it is 13th
    assert post(room, code, room.join(code, "wrong"), 0.0, now=t).rank is None  # misread already: no rank


def test_the_export_is_inert_in_a_spreadsheet(url):
    room = Classroom(url)
    code, key = room.create("mnist")
    post(room, code, room.join(code, "s1", '=HYPERLINK("http://x","y")'))
    text = zipfile.ZipFile(io.BytesIO(room.export(code, key))).read("attempts.csv").decode()
    assert "'=HYPERLINK" in text and ",=HYPERLINK" not in text


def test_a_store_failure_is_one_line_not_a_traceback(tmp_path):
    room = Classroom(f"sqlite:///{tmp_path / 's.sqlite'}")
    code, key = room.create("mnist")
    room.engine.dispose()
    (tmp_path / "s.sqlite").unlink()
    (tmp_path / "s.sqlite").mkdir()  # the file is gone, a folder in its place: every query fails
    with pytest.raises(StoreError, match="unavailable"):
        room.join(code, "s1")
    assert room.is_teacher(code, key) is False  # any failure is simply no


def test_floods_are_refused_with_one_line(url, monkeypatch):
    room = Classroom(url)
    code, _ = room.create("mnist")
    s = room.join(code, "s1")
    t = time.time()
    post(room, code, s, now=t)
    with pytest.raises(ClassError, match="One post every 3 s"):
        post(room, code, s, now=t + 1)
    monkeypatch.setattr(C, "MAX_ATTEMPTS", 2)
    post(room, code, s, now=t + 4)
    with pytest.raises(ClassError, match="the most it keeps"):
        post(room, code, s, now=t + 100)


@pytest.mark.parametrize("raw, shown", [
    ("<script>alert(1)</script>", "<script>alert(1)</sc"),  # kept as text, cut to 20; the views escape it
    ("x" * 10_000, "x" * 20),
    ("\u202egnp.exe\u202c", "gnp.exe"),  # no right-to-left override
    ("  😀  ok\n\tthere ", "😀 ok there"),
    ("\u200b\u200d", None), ("", None), (None, None)])
def test_hostile_nicknames_are_inert_text(raw, shown):
    assert clean_nickname(raw) == shown


def test_bad_codes_and_keys(url):
    room = Classroom(url)
    for bad in ("", "ABC", "ABCDEF", "I0OL1", "abc'; DROP TABLE vac_class; --"):
        with pytest.raises(ClassError, match="not a class code"):
            room.info(bad)
    with pytest.raises(ClassError, match="no class"):
        room.info("ZZZZZ")
    with pytest.raises(ClassError, match="no class"):
        room.join("ZZZZZ", "s1", "x")
    code, _ = room.create("mnist")
    assert room.info(code.lower()).code == code  # typed in lower case


def test_an_unreachable_store_says_so_in_one_line():
    with pytest.raises(StoreError, match="cannot be used") as e:
        Classroom("postgresql+psycopg://vac:secret@127.0.0.1:1/none")
    assert "secret" not in str(e.value)


def test_a_store_newer_than_the_code_is_refused(tmp_path):
    url = f"sqlite:///{tmp_path / 's.sqlite'}"
    Classroom(url)
    engine = create_engine(url)
    with engine.begin() as c:
        c.execute(text("UPDATE vac_meta SET value = :v WHERE key = 'schema'"), {"v": str(SCHEMA_VERSION + 1)})
    with pytest.raises(StoreError, match="newer than this vacdemo"):
        Classroom(url)


@pytest.mark.slow
def test_the_rows_are_in_postgresql(pg_url):
    room = Classroom(pg_url)
    code, _ = room.create("mnist")
    post(room, code, room.join(code, "s1"), 0.02)
    with create_engine(pg_url).connect() as c:
        assert c.execute(select(func.count()).select_from(attempts).where(attempts.c.code == code)).scalar_one() == 1
        assert c.execute(text("SELECT version()")).scalar_one().startswith("PostgreSQL")


def test_the_server_finds_the_flip_eps_to_a_thousandth(model):
    """The smallest ε that fools the model, found by the server: fooled there, not at the largest ε probed below
    it, 0.001 or less away (each probe its own PGD from the input, as on the page's grid); from the page's own
    grid or from the whole range alike."""
    import torch
    from vacdemo import pgd
    from vacdemo.lab.gallery import load_gallery
    from vacdemo.lab.grid import eps_grid
    from vacdemo.lab.sweep import sweep
    from vacdemo.paths import PRETRAINED
    from vacdemo.serving.flip import flip_eps
    from vacdemo.serving.lab import load_lab
    g, lab = load_gallery(PRETRAINED / "mnist"), load_lab("mnist")
    for i in (0, 17, 33):
        x, y = g.image(i).numpy(), int(g.labels[i])
        page = sweep(lab.model, lab.detector, g.image(i), y, eps_grid("mnist", "inf"))
        for grid in (page, None):
            f = flip_eps("mnist", x, y, grid=grid, owner="test")
            assert f.eps is not None and 0 < f.eps <= 0.3 and f.after != y and f.label == y, (i, f)
            assert 0 <= f.eps - f.below <= 0.001 + 1e-9 and f.probes <= (4 if grid is not None else 10)
            for e, fools in ((f.eps, True), (f.below, False)):  # PGD is deterministic: the same answers again
                x_adv = pgd(model, torch.from_numpy(x)[None], torch.tensor([y]), eps=e, fast=False)  # a lone row: fp32
                assert (int(model.classify(x_adv).argmax()) != y) == fools, (i, e, fools)
            assert np.abs(f.x_adv - x[0]).max() <= f.eps + 1e-6


def test_a_picture_misread_before_any_attack_has_flip_eps_zero():
    """Without the page's grid the search still looks at ε = 0 first: a picture the model already misreads gets
    0, which never ranks (it once came out as ~0.0008, first place)."""
    from vacdemo.lab.gallery import load_gallery
    from vacdemo.paths import PRETRAINED
    from vacdemo.serving.flip import flip_eps
    from vacdemo.serving.lab import lab_facts
    facts = lab_facts("fmnist")
    i = next(i for i in range(len(facts.labels)) if not facts.right[i])  # misread by the shipped β-VAC
    g = load_gallery(PRETRAINED / "fmnist")
    f = flip_eps("fmnist", g.image(i).numpy(), int(g.labels[i]), owner="test")
    assert f.eps == 0.0 and f.probes == 0
