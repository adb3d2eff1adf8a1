"""Two replicas behind nginx on one PostgreSQL: a student posting through replica A appears on the wall that
replica B serves, the rows are in PostgreSQL (replicas on one host could share a SQLite file and pass otherwise),
and a replica restarted mid-class serves the wall whole again."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright
from sqlalchemy import create_engine, func, select

from conftest import ROOT, free_ports
from postgres import postgres_server
from test_browser import ARGS, CHROMIUM, WAIT
from vacdemo.classroom.classes import Classroom
from vacdemo.classroom.store import attempts
from vacdemo.serving import loadtest, replicas

pytestmark = pytest.mark.slow  # PostgreSQL, nginx, two app servers and a browser


@pytest.fixture(scope="module")
def pg():
    with postgres_server(free_ports(1)) as url:
        yield url


@pytest.fixture(scope="module")
def proxy(tmp_path_factory, pg):
    port = free_ports(3)
    saved = os.environ.get("VACDEMO_DATABASE_URL")
    os.environ["VACDEMO_DATABASE_URL"] = pg  # the replicas' environment (replicas.replica_env copies it)
    procs = replicas.start(2, port, tmp_path_factory.mktemp("serve"), public_url=f"http://192.168.7.10:{port}")
    try:
        for i, p in enumerate(range(port + 1, port + 3)):
            loadtest.wait_healthy(f"http://127.0.0.1:{p}", proc=procs[i])
        loadtest.wait_healthy(f"http://127.0.0.1:{port}", timeout=30)
        yield port, procs
    finally:
        replicas.stop(procs)
        if saved is None:
            os.environ.pop("VACDEMO_DATABASE_URL", None)
        else:
            os.environ["VACDEMO_DATABASE_URL"] = saved


def stored(pg: str, code: str) -> int:
    with create_engine(pg).connect() as c:
        return c.execute(select(func.count()).select_from(attempts).where(attempts.c.code == code)).scalar_one()


def test_a_post_through_one_replica_is_on_the_wall_of_the_other(proxy, pg, tmp_path):
    port, procs = proxy
    a, b = f"http://127.0.0.1:{port + 1}", f"http://127.0.0.1:{port + 2}"
    code, key = Classroom(pg).create("mnist")
    assert Path(CHROMIUM).exists()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        wall = browser.new_page(viewport={"width": 1920, "height": 1080})
        wall.goto(f"{b}/?present=1&class={code}&teacher={key}")  # the projector on replica B
        wall.get_by_text(f"Class {code}").first.wait_for(timeout=WAIT)
        wall.wait_for_function("() => !location.search.includes('teacher=')", timeout=WAIT)  # handed over, then gone
        phone = browser.new_page(viewport={"width": 390, "height": 844})
        phone.goto(f"{a}/?class={code}&cls_mnist=4")  # a student on replica A
        phone.locator(".st-key-class_send button:visible").first.click(timeout=WAIT)
        phone.get_by_text("Sent to the class").first.wait_for(timeout=WAIT)
        wall.wait_for_function("() => document.body.innerText.includes('1 attempts')", timeout=10_000)
        assert stored(pg, code) == 1  # the row is in PostgreSQL
        # replica B restarted mid-class: its wall comes back whole
        procs[1].terminate()
        procs[1].wait(timeout=30)
        procs[1] = subprocess.Popen([sys.executable, "-m", "streamlit", "run", str(ROOT / "serve.py"),
                                     "--server.port", str(port + 2), "--server.address", "127.0.0.1",
                                     "--server.headless", "true"], cwd=ROOT,
                                    env={**os.environ, "VACDEMO_DATABASE_URL": pg},
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        loadtest.wait_healthy(b, proc=procs[1])
        wall.goto(f"{b}/?present=1&class={code}&teacher={key}")
        wall.wait_for_function("() => document.body.innerText.includes('1 attempts')", timeout=WAIT)
        browser.close()
