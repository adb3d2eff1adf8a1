"""`python -m vacdemo loadtest --class-mode`: a class playing together, over the browser's own protocol.

A teacher's projector session starts a class (its button, as a teacher clicks it) and refreshes the wall every
second, as the browser's timer does (a rerun of the wall's fragment). N students open the class's link on their
own gallery images, pick a new image (the verdict under load is measured), then press "Send to the class" (the
server finds the smallest ε that fools the model and stores the attempt). Measured: Send → acknowledged, Send →
the post counted on the wall (the k-th acknowledged post is on the wall once the wall counts k), the verdict p95
under that load, posts acknowledged vs stored (the wall's own count at the end), errors.
"""
import asyncio
import re
import time

from ..datasets import CLASS_NAMES
from .loadtest import Page, Student, check_image, pct, rerun_msg, run_once, stream, trigger, widget

WALL_COUNT = re.compile(r"\*\*(\d+)\*\* attempts")
ACK = "Sent to the class"


def wall_count(page: Page) -> int | None:
    return next((int(m.group(1)) for t in page.texts("markdown") for m in [WALL_COUNT.search(t)] if m), None)


class Teacher:
    """The projector: starts the class, then refreshes the wall every second and notes when it counts more."""

    def __init__(self):
        self.code, self.seen, self.errors, self.stop = None, [], [], False  # seen: (time, count)
        self.started = asyncio.Event()

    async def run(self, base: str, timeout: float) -> None:
        try:
            async with stream(base) as ws:
                page = Page()
                await run_once(ws, page, rerun_msg(base, "present=1"), timeout)
                page.query = page.query or "present=1"  # the URL the tab keeps when the page changes none of it
                w, _ = trigger(page, "class_start")
                await run_once(ws, page, rerun_msg(base, page.query, [w], page.page_hash), timeout)
                self.code = dict(p.split("=", 1) for p in page.query.split("&") if "=" in p).get("class")
                if not self.code:
                    raise RuntimeError("the projector did not start a class: " + "; ".join(page.texts("alert"))[:200])
                await run_once(ws, page, rerun_msg(base, page.query, [], page.page_hash), timeout)  # with the wall
                fragment = page.widgets["class_challenge"][1]  # the wall's fragment (the teacher's controls are in it)
                self.started.set()
                while not self.stop:
                    await asyncio.sleep(1.0)  # the wall's own refresh period
                    await run_once(ws, page, rerun_msg(base, page.query, [], page.page_hash, fragment or ""), timeout)
                    n = wall_count(page)
                    if n is not None:
                        self.seen.append((time.perf_counter(), n))
        except Exception as e:  # noqa: BLE001  every failure is a measured error
            self.errors.append(f"teacher: {type(e).__name__}: {e}")
            self.started.set()


async def student(s: Student, base: str, code: str, timeout: float, sends: list) -> None:
    try:
        async with stream(base) as ws:
            page = Page()
            verdict, end, _ = await run_once(ws, page, rerun_msg(base, f"class={code}&" + s.query()), timeout)
            s.times["open"].append(verdict or end)
            c, n = s.image(1)  # a new picture: the verdict under the class's load
            (wc, _), (ws_, _) = (widget(page, f"cls_{s.dataset}", label=CLASS_NAMES[s.dataset][c]),
                                 widget(page, f"sample_{s.dataset}", number=n))
            verdict, end, _ = await run_once(ws, page, rerun_msg(base, page.query, [wc, ws_], page.page_hash), timeout)
            if verdict is None:
                s.errors.append("no verdict shown")
            else:
                s.times["verdict"].append(verdict)
            s.times["grid"].append(end)
            check_image(s, page, 1)
            w, fragment = trigger(page, "class_send")  # the button lives in a fragment: the browser reruns it alone
            t0 = time.perf_counter()
            await run_once(ws, page, rerun_msg(base, page.query, [w], page.page_hash, fragment), timeout)
            if any(t.startswith(ACK) for t in page.texts("alert")):
                sends.append((t0, time.perf_counter()))
            else:
                s.errors.append("send not acknowledged: " + "; ".join(page.texts("alert"))[:200])
    except Exception as e:  # noqa: BLE001
        s.errors.append(f"{type(e).__name__}: {e}")


async def drive(base: str, users: int, timeout: float) -> dict:
    teacher = Teacher()
    wall = asyncio.create_task(teacher.run(base, timeout))
    await asyncio.wait_for(teacher.started.wait(), timeout)
    students, sends = [Student(u) for u in range(users)], []
    if teacher.code:
        await asyncio.gather(*(student(s, base, teacher.code, timeout, sends) for s in students))
    deadline = time.perf_counter() + 15  # until the wall counts every acknowledged post (or 15 s pass)
    while teacher.code and time.perf_counter() < deadline and not (teacher.seen and teacher.seen[-1][1] >= len(sends)):
        await asyncio.sleep(0.2)
    teacher.stop = True
    await wall
    return dict(teacher=teacher, students=students, sends=sends)


def to_wall(sends: list, seen: list) -> list[float]:
    """Send → on the wall: the k-th acknowledged post (in time order) is on the wall from the first refresh that
    counts k posts or more."""
    out = []
    for k, (t_send, t_ack) in enumerate(sorted(sends, key=lambda s: s[1]), start=1):
        shown = next((t for t, n in seen if n >= k and t >= t_ack), None)
        if shown is not None:
            out.append(shown - t_send)
    return out


def row(users: int, result: dict, wall_s: float, cores: float, peak: float) -> dict:
    t, students, sends = result["teacher"], result["students"], result["sends"]
    verdicts = [v for s in students for v in s.times["verdict"]]
    walls = to_wall(sends, t.seen)
    errors = t.errors + [f"student {s.u}: {e}" for s in students for e in s.errors]
    stored = t.seen[-1][1] if t.seen else 0
    if len(walls) < len(sends):
        errors.append(f"{len(sends) - len(walls)} acknowledged post(s) never counted on the wall")
    return dict(users=users, wall_s=wall_s, send_p50=pct([b - a for a, b in sends], 50),
                send_p95=pct([b - a for a, b in sends], 95), to_wall_p50=pct(walls, 50), to_wall_p95=pct(walls, 95),
                verdict_p50=pct(verdicts, 50), verdict_p95=pct(verdicts, 95), acknowledged=len(sends), stored=stored,
                cpu_cores=cores, peak_mb=peak, errors=errors)


def table(rows: list[dict]) -> str:
    head = ("| students | Send → acknowledged p50 / p95 (s) | Send → on the wall p50 / p95 (s) | verdict p50 / p95 (s) "
            "| posts acknowledged / stored | server CPU (cores) | errors |\n|---:|---|---|---|---|---:|---:|")
    lines = [f"| {r['users']} | {r['send_p50']:.2f} / {r['send_p95']:.2f} | {r['to_wall_p50']:.2f} / "
             f"{r['to_wall_p95']:.2f} | {r['verdict_p50']:.2f} / {r['verdict_p95']:.2f} | {r['acknowledged']} / "
             f"{r['stored']} | {r['cpu_cores']:.2f} | {len(r['errors'])} |" for r in rows]
    return "\n".join([head, *lines])
