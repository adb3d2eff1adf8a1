"""The class load test end to end: a projector's wall and students posting over the websocket; every
acknowledged post is stored and counted on the wall."""
import pytest

from conftest import free_ports
from vacdemo.serving import loadtest

pytestmark = pytest.mark.slow  # a served app and sessions over its websocket


def test_a_small_class_posts_and_the_wall_counts_every_post(tmp_path, monkeypatch):
    monkeypatch.setenv("VACDEMO_CLASSROOM_DIR", str(tmp_path / "classroom"))
    row = loadtest.loadtest(3, "class", port=free_ports(1), log=tmp_path / "server.log")
    assert row["errors"] == [] and row["acknowledged"] == row["stored"] == 3
    assert row["to_wall_p95"] >= row["send_p50"] > 0  # on the wall after it was acknowledged
    assert row["verdict_p95"] > 0
