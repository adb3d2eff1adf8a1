"""Two replicas behind nginx: the config starts, one browser's requests stay on one replica (the route cookie),
different browsers spread over both, and sessions through the proxy get their pages and verdicts."""
import secrets
import time
import urllib.request

import pytest

from conftest import free_ports
from vacdemo.serving import loadtest, replicas

pytestmark = pytest.mark.slow  # nginx in front of two app servers


@pytest.fixture(scope="module")
def proxy(tmp_path_factory):
    port = free_ports(3)
    procs = replicas.start(2, port, tmp_path_factory.mktemp("serve"))
    url = f"http://127.0.0.1:{port}"
    try:
        for i, p in enumerate(range(port + 1, port + 3)):  # both replicas warm, then the proxy answers
            loadtest.wait_healthy(f"http://127.0.0.1:{p}", proc=procs[i])
        loadtest.wait_healthy(url, timeout=30)
        yield url
    finally:
        replicas.stop(procs)


def replica_of(url: str, route: str | None) -> tuple[str, str]:
    req = urllib.request.Request(url + "/_stcore/health",
                                 headers={"Cookie": f"vacdemo_route={route}"} if route else {})
    with urllib.request.urlopen(req, timeout=10) as r:
        return r.headers["X-Vacdemo-Replica"], next(c for c in r.headers.get_all("Set-Cookie") if "vacdemo_route=" in c)


def test_one_browser_stays_on_one_replica_and_browsers_spread(proxy):
    first, cookie = replica_of(proxy, None)
    route = cookie.split("vacdemo_route=")[1].split(";")[0]
    assert len(route) >= 16  # a new random route for a new browser
    assert {replica_of(proxy, route)[0] for _ in range(10)} == {first}
    assert len({replica_of(proxy, secrets.token_hex(16))[0] for _ in range(40)}) == 2


def test_sessions_through_the_proxy_get_pages_and_verdicts(proxy):
    with urllib.request.urlopen(proxy + "/", timeout=10) as r:
        assert r.status == 200 and b"<html" in r.read().lower()
    start = time.perf_counter()
    row = loadtest.loadtest(3, "burst", inputs=1, url=proxy)
    assert row["errors"] == [] and row["inputs"] == 3, row["errors"]
    assert time.perf_counter() - start < 120


def test_each_replica_gets_its_share_of_threads_and_batches(monkeypatch):
    from vacdemo.serving.replicas import replica_env
    monkeypatch.delenv("VACDEMO_THREADS", raising=False)
    monkeypatch.delenv("VACDEMO_WORKERS", raising=False)
    monkeypatch.setattr("os.cpu_count", lambda: 8)
    env = replica_env(2, "secret")
    assert env["VACDEMO_THREADS"] == "4" and env["VACDEMO_WORKERS"] == "1"  # 2 replicas × 1 batch × 4 threads
    monkeypatch.setenv("VACDEMO_THREADS", "1")
    assert replica_env(2, "secret")["VACDEMO_WORKERS"] == "4"  # 2 × 4 batches × 1 thread: the 8 cores
