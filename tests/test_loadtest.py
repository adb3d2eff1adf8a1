"""The load test drives real sessions over the websocket: a few students at once get their verdicts with no
error and no cross-talk, and the cross-talk check does catch a page that shows someone else's image."""
import pytest

from vacdemo.serving import loadtest
from vacdemo.serving.loadtest import Page, Student, check_image


@pytest.mark.slow  # starts the app's server
def test_a_small_burst_gets_every_verdict_with_no_error(tmp_path, free_port):
    row = loadtest.loadtest(4, "burst", inputs=1, port=free_port, log=tmp_path / "server.log")
    assert row["errors"] == [] and row["inputs"] == 4
    # each input's verdict comes within the run that ends with its whole grid: so every quantile is earlier
    assert 0 < row["verdict_p50"] <= row["grid_p50"] and row["verdict_p95"] <= row["grid_p95"]
    assert row["peak_mb"] > 100 and row["cpu_cores"] > 0  # read from the server's /proc entries


@pytest.mark.slow  # starts the app's server
def test_square_students_search_beside_a_burst(tmp_path, free_port):
    """Black-box students open the page on Square Attack and keep searching while the PGD students burst: every
    search ends with a verdict, and the row says how many ran and how long each took."""
    row = loadtest.loadtest(2, "burst", inputs=1, port=free_port, log=tmp_path / "server.log", squares=2)
    assert row["errors"] == [] and row["inputs"] == 2 and row["squares"] == 2 and row["searches"] >= 2
    assert 0 < row["search_p50"] <= row["search_p95"]
    assert "+ 2 Square" in loadtest.table([row])


class Markdown:
    def __init__(self, body):
        self.body = body


def test_cross_talk_is_reported():
    s, page = Student(3), Page()
    c, _ = s.image(1)
    page.els[(0, 1)] = ("markdown", Markdown(f"test image #1234 ({(c + 1) % 10}) · PGD-40 …"))
    check_image(s, page, 1)
    assert s.errors and "not a" in s.errors[0]
    s.errors.clear()
    page.els[(0, 1)] = ("markdown", Markdown(f"test image #1234 ({c}) · PGD-40 …"))
    check_image(s, page, 1)
    assert s.errors == []
