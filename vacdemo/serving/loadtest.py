"""`python -m vacdemo loadtest`: a classroom against the app, over the browser's own protocol.

It starts `streamlit run serve.py` on a loopback port (or drives one at --url, e.g. nginx in front of replicas)
and opens N real Streamlit sessions over its websocket: each sends `BackMsg.rerun_script` (a query string, then
widget changes) and reads `ForwardMsg`s until `script_finished`, as a browser tab does. Each student opens
the page on its own gallery image and step size (no two ask for the same attack: no cache hits), then picks a
new image, alone every few seconds (steady) or all at the same moment (burst), then moves ε.

Measured per new input: the time to the verdict shown (the headline at the slider's ε) and to the whole
ε-grid; per ε move, the time to the re-rendered page; the server's CPU and peak memory; errors, timeouts and
cross-talk (a page showing another student's image). Streamlit's protocol classes are imported here only:
the rest of the package never imports Streamlit.
"""
import asyncio
import os
import random
import re
import statistics
import subprocess
import sys
import time
import urllib.request
from urllib.parse import quote
from dataclasses import dataclass, field
from pathlib import Path

from ..datasets import CLASS_NAMES
from ..errors import SettingsError
from ..paths import ROOT, SERVE

VERDICT = re.compile(r"No change yet \(ε = 0\)|the model (now |still )?says \*\*")
IMAGE = re.compile(r"test image #(\d+) \(([^,)]+)")
DONE, EARLY = (0, 1, 3), 2  # script_finished: finished (full, compile error, fragment); ended for a rerun
MAX_USERS, MAX_SECONDS = 100, 900
SQUARE = "Square: sees only its answers"  # the attacker radio's label (ui.controls.ATTACKERS)


@dataclass
class Student:
    """One browser tab: its own step size α, and a new gallery image per input (class and sample)."""
    u: int
    dataset: str = "mnist"
    times: dict = field(default_factory=lambda: {"open": [], "verdict": [], "grid": [], "move": []})
    errors: list = field(default_factory=list)
    queued: int = 0  # runs in which the page said "Queued"
    square: bool = False  # a black-box student: Square Attack (1,000 queries) at a small ε, new images until told


    @property
    def alpha(self) -> float:
        return round(0.010 + 0.001 * (self.u % 10), 3)  # 0.010 … 0.019: every ε of the grid stays in reach

    def image(self, j: int) -> tuple[int, int]:
        """(class, sample) of input j: distinct across students that share a step size and across inputs."""
        return (self.u + j) % 10, 1 + (self.u // 10) % 8

    def query(self) -> str:
        c, s = self.image(0)
        if self.square:  # ε at the grid's smallest step: most searches spend the whole budget
            return (f"cls_{self.dataset}={c}&sample_{self.dataset}={s}&attacker={quote(SQUARE)}"
                    f"&eps_{self.dataset}_inf={0.015 if self.dataset == 'mnist' else 0.005}")
        return (f"cls_{self.dataset}={c}&sample_{self.dataset}={s}&auto_alpha=false&alpha={self.alpha}"
                f"&eps_{self.dataset}_inf={0.075 if self.dataset == 'mnist' else 0.025}")


class Page:
    """What a tab shows: elements by position, widget ids by key, the query string, how each run ended."""

    def __init__(self):
        self.els, self.widgets, self.query, self.page_hash = {}, {}, "", ""

    def feed(self, fm) -> int | None:
        kind = fm.WhichOneof("type")
        if kind == "new_session":
            self.page_hash = fm.new_session.page_script_hash
            if not fm.metadata.run.fragment_ids:  # a full run sends the whole page again
                self.els.clear()
        elif kind == "delta" and fm.delta.WhichOneof("type") == "new_element":
            el = fm.delta.new_element
            body = getattr(el, el.WhichOneof("type"))
            self.els[tuple(fm.metadata.delta_path)] = (el.WhichOneof("type"), body)
            wid = getattr(body, "id", "")
            if wid.startswith("$$ID-"):
                self.widgets[wid.split("-", 2)[2]] = (wid, fm.delta.fragment_id)
        elif kind == "page_info_changed":
            self.query = fm.page_info_changed.query_string
        elif kind == "script_finished":
            return fm.script_finished
        return None

    def texts(self, kind: str) -> list[str]:
        return [b.body for k, b in self.els.values() if k == kind and hasattr(b, "body")]

    def verdict(self) -> str | None:
        return next((t for t in self.texts("alert") if VERDICT.search(t)), None)

    def problems(self) -> list[str]:
        return [f"exception: {b.message}" for k, b in self.els.values() if k == "exception"] + \
            [f"error: {b.body}" for k, b in self.els.values()
             if k == "alert" and b.format == 1 and not VERDICT.search(b.body)]  # a fooled model is an st.error too


def rerun_msg(base: str, query: str, widgets=(), page_hash: str = "", fragment_id: str = "") -> bytes:
    from streamlit.proto.BackMsg_pb2 import BackMsg
    m = BackMsg()
    cs = m.rerun_script
    cs.query_string, cs.page_script_hash, cs.fragment_id = query, page_hash, fragment_id
    cs.widget_states.widgets.extend(widgets)
    cs.context_info.timezone, cs.context_info.locale = "UTC", "en-US"
    cs.context_info.url = f"{base}/?{query}"
    return m.SerializeToString()


async def run_once(ws, page: Page, payload: bytes, timeout: float) -> tuple[float | None, float, bool]:
    """Send one rerun and read until its last run ends: (seconds to the verdict, seconds to the end, queued)."""
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
    t0, t_verdict, queued, started = time.perf_counter(), None, False, False
    await ws.send(payload)
    async with asyncio.timeout(timeout):
        while True:
            fm = ForwardMsg()
            fm.ParseFromString(await ws.recv())
            status = page.feed(fm)
            started = started or fm.WhichOneof("type") == "new_session"  # before it, the page is the last run's
            if started and t_verdict is None and page.verdict():
                t_verdict = time.perf_counter() - t0
            queued = queued or any(t.startswith("Queued:") for t in page.texts("alert"))
            if status in DONE:
                return t_verdict, time.perf_counter() - t0, queued


def widget(page: Page, key: str, **value):
    from streamlit.proto.WidgetStates_pb2 import WidgetState
    wid, fragment = page.widgets[key]
    w = WidgetState(id=wid)
    if "number" in value:
        w.double_array_value.data[:] = [value["number"]]  # sliders send a list, even for one value
    else:
        w.string_value = value["label"]
    return w, fragment


def trigger(page: Page, key: str):
    """A button press, as the browser sends it."""
    from streamlit.proto.WidgetStates_pb2 import WidgetState
    wid, fragment = page.widgets[key]
    return WidgetState(id=wid, trigger_value=True), fragment


def check_image(s: Student, page: Page, j: int) -> None:
    """Cross-talk: the page must show this student's own image (its class) and no error."""
    want = CLASS_NAMES[s.dataset][s.image(j)[0]]
    shown = [m.group(2) for t in page.texts("markdown") for m in [IMAGE.search(t)] if m]
    if not shown or shown[0] != want:
        s.errors.append(f"input {j}: the page shows {shown[:1] or 'no image'}, not a {want}")
    s.errors += [f"input {j}: {p}" for p in page.problems()]


def stream(base: str):
    """A browser tab's websocket to the app at base (its Streamlit stream)."""
    from websockets.asyncio.client import connect
    return connect(base.replace("http", "ws", 1) + "/_stcore/stream", subprotocols=["streamlit"], max_size=None,
                   proxy=None, compression=None, open_timeout=60, ping_timeout=None)


def pick(s: Student, page: Page, j: int) -> list:
    """The widget changes that pick student s's input j: its class and sample."""
    c, n = s.image(j)
    return [widget(page, f"cls_{s.dataset}", label=CLASS_NAMES[s.dataset][c])[0],
            widget(page, f"sample_{s.dataset}", number=n)[0]]


async def student(s: Student, base: str, inputs: int, go, timeout: float) -> None:
    """Open the page, then `inputs` new images, each when go(j) says, then one ε move."""
    try:
        async with stream(base) as ws:
            page = Page()
            verdict, end, queued = await run_once(ws, page, rerun_msg(base, s.query()), timeout)
            s.times["open"].append(verdict or end)
            check_image(s, page, 0)
            for j in range(1, inputs + 1):
                await go(j)
                verdict, end, queued = await run_once(ws, page, rerun_msg(base, page.query, pick(s, page, j),
                                                                          page.page_hash), timeout)
                s.queued += queued
                if verdict is None:
                    s.errors.append(f"input {j}: no verdict shown")
                else:
                    s.times["verdict"].append(verdict)
                s.times["grid"].append(end)
                check_image(s, page, j)
            key = f"eps_{s.dataset}_inf"
            w, fragment = widget(page, key, number=0.15 if s.dataset == "mnist" else 0.05)
            _, end, _ = await run_once(ws, page, rerun_msg(base, page.query, [w], page.page_hash, fragment), timeout)
            s.times["move"].append(end)
    except (TimeoutError, OSError, Exception) as e:  # noqa: BLE001  every failure is a measured error
        s.errors.append(f"{type(e).__name__}: {e}")


def wait_healthy(base: str, timeout: float = 180, proc: subprocess.Popen | None = None) -> None:
    """Until base answers /_stcore/health; raises when it does not in time, or when proc (its server) exits."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc is not None and proc.poll() is not None:
            raise SettingsError(f"the server for {base} exited with {proc.returncode} before it answered")
        try:
            if urllib.request.urlopen(f"{base}/_stcore/health", timeout=2).read() == b"ok":
                return
        except OSError:
            time.sleep(0.3)
    raise SettingsError(f"no Streamlit server answered at {base} within {timeout:.0f} s")


def start_server(port: int, log: Path) -> subprocess.Popen:
    """`streamlit run serve.py` on 127.0.0.1:port (loopback only), its output in log."""
    cmd = [sys.executable, "-m", "streamlit", "run", str(SERVE), "--server.port", str(port),
           "--server.address", "127.0.0.1", "--server.headless", "true", "--server.fileWatcherType", "none"]
    return subprocess.Popen(cmd, cwd=ROOT, stdout=log.open("w"), stderr=subprocess.STDOUT, env=os.environ.copy())


class Usage:
    """The server process's CPU seconds and peak resident memory, from /proc (Linux)."""

    def __init__(self, pid: int | None):
        self.pid = pid
        self.start = self.cpu(), time.perf_counter()

    def cpu(self) -> float:
        try:
            fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError, TypeError):
            return float("nan")

    def cores(self) -> float:
        return (self.cpu() - self.start[0]) / (time.perf_counter() - self.start[1])

    def peak_mb(self) -> float:
        try:
            line = next(x for x in Path(f"/proc/{self.pid}/status").read_text().splitlines() if x.startswith("VmHWM"))
            return int(line.split()[1]) / 1024
        except (OSError, StopIteration, TypeError):
            return float("nan")


def pct(xs: list[float], q: float) -> float:
    return statistics.quantiles(xs, n=100, method="inclusive")[q - 1] if len(xs) > 1 else (xs[0] if xs else float("nan"))


async def searcher(s: Student, base: str, stop: asyncio.Event, timeout: float) -> None:
    """A black-box student: opens the page on Square Attack, then a new image as soon as each search ends, until
    stop is set; each search's time to its verdict goes to times["grid"]."""
    try:
        async with stream(base) as ws:
            page = Page()
            verdict, end, _ = await run_once(ws, page, rerun_msg(base, s.query()), timeout)
            s.times["open"].append(verdict or end)
            j = 0
            while j == 0 or not stop.is_set():  # at least one search, however short the burst beside it
                j += 1
                verdict, end, _ = await run_once(ws, page, rerun_msg(base, page.query, pick(s, page, j), page.page_hash),
                                                 timeout)
                if verdict is None:
                    s.errors.append(f"search {j}: no verdict shown")
                s.times["grid"].append(end)
                s.errors += [f"search {j}: {p}" for p in page.problems()]
    except (TimeoutError, OSError, Exception) as e:  # noqa: BLE001  every failure is a measured error
        s.errors.append(f"{type(e).__name__}: {e}")


async def drive(base: str, users: int, mode: str, inputs: int, period: float, timeout: float,
                squares: int = 0) -> tuple[list[Student], list[Student]]:
    students = [Student(u) for u in range(users)]
    stop = asyncio.Event()
    searchers = [Student(users + i, square=True) for i in range(squares)]
    running = [asyncio.create_task(searcher(s, base, stop, timeout)) for s in searchers]
    opened = asyncio.Barrier(users + 1)
    rounds = [asyncio.Event() for _ in range(inputs + 1)]
    rng = random.Random(0)

    async def one(s: Student):
        joined = False

        async def go(j: int):
            nonlocal joined
            if j == 1:
                joined = True
                await opened.wait()
            if mode == "burst":
                await rounds[j].wait()  # everyone at the same moment
            else:
                await asyncio.sleep(rng.uniform(0.5, 1.5) * period)  # each on its own, every ~period s
        await student(s, base, inputs, go, timeout)
        if not joined:  # failed before its first input: the others do not wait for it
            await opened.wait()

    tasks = [asyncio.create_task(one(s)) for s in students]
    await opened.wait()  # every page open (the first visit is not part of the burst)
    if mode == "burst":
        for j in range(1, inputs + 1):
            rounds[j].set()
            while any(len(s.times["grid"]) + len(s.errors) < j for s in students if not s.errors):
                await asyncio.sleep(0.05)
            await asyncio.sleep(1.0)  # a pause between rounds, as a teacher's
    await asyncio.gather(*tasks)
    stop.set()
    await asyncio.gather(*running)
    return students, searchers


def loadtest(users: int, mode: str, inputs: int = 2, period: float = 5.0, url: str | None = None,
             port: int = 8599, timeout: float = 120, log: Path = Path("runs/loadtest-server.log"),
             squares: int = 0) -> dict:
    """One load test; → its table row. Starts (and stops) a server unless url is given. squares: black-box
    students searching with Square Attack all along, beside the PGD students."""
    if not 1 <= users <= MAX_USERS:
        raise SettingsError(f"--users must lie in 1 … {MAX_USERS}, got {users}")
    if mode not in ("steady", "burst", "class"):
        raise SettingsError(f"--mode must be steady, burst or class, not {mode!r}")
    if not 1 <= inputs <= 9:
        raise SettingsError(f"--inputs must lie in 1 … 9 (new images per student), got {inputs}")
    server = None
    if url is None:
        log.parent.mkdir(parents=True, exist_ok=True)
        server = start_server(port, log)
        url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, proc=server)
        usage = Usage(server.pid if server else None)
        start, generator = time.perf_counter(), time.process_time()  # the load generator's own CPU, beside the server's
        if mode == "class":  # a class playing together (vacdemo.serving.classload)
            from . import classload
            result = asyncio.run(asyncio.wait_for(classload.drive(url, users, timeout), MAX_SECONDS))
            return {**classload.row(users, result, time.perf_counter() - start, usage.cores(), usage.peak_mb()),
                    "mode": "class"}
        students, searchers = asyncio.run(asyncio.wait_for(drive(url, users, mode, inputs, period, timeout, squares),
                                                           MAX_SECONDS))
        wall = time.perf_counter() - start
        cores, peak = usage.cores(), usage.peak_mb()
        generator_cores = (time.process_time() - generator) / wall
    finally:
        if server is not None:
            server.terminate()
            server.wait(30)
    every = {k: [t for s in students for t in s.times[k]] for k in ("open", "verdict", "grid", "move")}
    errors = [f"student {s.u}: {e}" for s in [*students, *searchers] for e in s.errors]
    searches = [t for s in searchers for t in s.times["grid"]]
    return dict(users=users, mode=mode, inputs=len(every["verdict"]), wall_s=wall, squares=len(searchers),
                searches=len(searches), search_p50=pct(searches, 50), search_p95=pct(searches, 95),
                verdict_p50=pct(every["verdict"], 50), verdict_p95=pct(every["verdict"], 95),
                verdict_max=max(every["verdict"], default=float("nan")),
                grid_p50=pct(every["grid"], 50), grid_p95=pct(every["grid"], 95),
                move_p50=pct(every["move"], 50), open_p50=pct(every["open"], 50),
                queued=sum(s.queued for s in students), cpu_cores=cores, peak_mb=peak, errors=errors,
                generator_cores=generator_cores)


def known(v: float, spec: str) -> str:
    """A figure, or a dash where it was not measured (a server given by --url: its processes are not ours)."""
    return "–" if v != v else format(v, spec)


def table(rows: list[dict]) -> str:
    head = ("| students | mode | new inputs | verdict p50 / p95 / max (s) | whole grid p50 / p95 (s) | ε move p50 (s) "
            "| server CPU (cores) | load generator CPU (cores) | peak memory (MB) | errors |\n"
            "|---:|---|---:|---|---|---:|---:|---:|---:|---:|")
    lines = [f"| {r['users']}{square_words(r)} | {r['mode']} | {r['inputs']} | {r['verdict_p50']:.2f} / {r['verdict_p95']:.2f} / "
             f"{r['verdict_max']:.2f} | {r['grid_p50']:.2f} / {r['grid_p95']:.2f} | {r['move_p50']:.2f} | "
             f"{known(r['cpu_cores'], '.2f')} | {known(r.get('generator_cores', float('nan')), '.2f')} | "
             f"{known(r['peak_mb'], '.0f')} | {len(r['errors'])} |" for r in rows]
    return "\n".join([head, *lines])


def square_words(r: dict) -> str:
    """Beside the student count: the black-box students searching all along, their searches and time per search."""
    if not r.get("squares"):
        return ""
    return (f" + {r['squares']} Square ({r['searches']} searches of 1,000 queries, p50 / p95 "
            f"{r['search_p50']:.1f} / {r['search_p95']:.1f} s)")
