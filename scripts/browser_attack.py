"""PGD-40 in the student's browser, measured: onnxruntime-web (WASM) in headless Chromium (issue 32, item 3).

A prototype, not the page's path. One PGD step with its input gradient is exported to ONNX (vacdemo.perf.levers
.export_step, batch 1 and a 21-row grid) and run 40 times by onnxruntime-web from a plain page
(scripts/browser_attack/index.html) served over HTTP:
  - "LAN, single-threaded": reached as http://lan.test:PORT (Chromium maps the name to 127.0.0.1), so, like a page
    a phone opens on the classroom's Wi-Fi, not a secure context: no SharedArrayBuffer, one WASM thread;
  - "isolated, threaded": http://127.0.0.1:PORT (a secure context) with COOP/COEP headers, which Streamlit does not
    send: cross-origin isolated, 2 WASM threads;
  - "phone": the single-threaded LAN page under CDP CPU throttling (4×, about a mid-range phone against this CPU).
It reports the bytes a phone downloads, the time to the first attack (load), PGD-40 per image and per 21-ε grid
(medians), and compares the browser's adversarial predictions with the server's PGD (plain fp32) on 50 test images.

    python scripts/browser_attack.py [--n 50] [--json reports/browser-attack.json]
Needs npm (the onnxruntime-web package is fetched with `npm pack` into runs/ortweb) and Debian's Chromium.
"""
import argparse
import functools
import http.server
import json
import shutil
import statistics
import subprocess
import sys
import tarfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository's vacdemo, from any folder

import torch

from vacdemo.attacks.pgd import pgd
from vacdemo.data import load_split
from vacdemo.models.checkpoint import load_pretrained
from vacdemo.perf.levers import export_step

ROOT = Path(__file__).resolve().parents[1]
PAGE = Path(__file__).resolve().parent / "browser_attack"
ORT_VERSION = "1.30.0"
EPS = 0.015  # MNIST: about half of the test images fall to PGD-40 here, so the predictions can disagree
CHROMIUM = "/usr/bin/chromium"


def ort_web(cache: Path) -> Path:
    """The onnxruntime-web package's dist folder (npm pack, once)."""
    dist = cache / "package" / "dist"
    if not dist.exists():
        cache.mkdir(parents=True, exist_ok=True)
        subprocess.run(["npm", "pack", f"onnxruntime-web@{ORT_VERSION}"], cwd=cache, check=True, capture_output=True)
        with tarfile.open(next(cache.glob("onnxruntime-web-*.tgz"))) as t:
            t.extractall(cache, filter="data")
    return dist


def site(model, work: Path, dist: Path) -> Path:
    """The page, the runtime's WASM build and the two exported graphs in one folder."""
    work.mkdir(parents=True, exist_ok=True)
    shutil.copy(PAGE / "index.html", work / "index.html")
    (work / "ort").mkdir(exist_ok=True)
    for f in ("ort.wasm.min.js", "ort-wasm-simd-threaded.wasm", "ort-wasm-simd-threaded.mjs"):
        shutil.copy(dist / f, work / "ort" / f)
    for rows, name in ((1, "step1.onnx"), (21, "step21.onnx")):
        x = torch.rand(rows, 1, 28, 28)
        export_step(model, x, torch.zeros(rows, dtype=torch.long), torch.full((rows, 1, 1, 1), 0.1),
                    torch.full((rows, 1, 1, 1), 0.01), work / name)
    return work


class Handler(http.server.SimpleHTTPRequestHandler):
    isolate = False

    def end_headers(self):
        if self.isolate:
            self.send_header("Cross-Origin-Opener-Policy", "same-origin")
            self.send_header("Cross-Origin-Embedder-Policy", "require-corp")
        self.send_header("Cache-Control", "no-store")  # every load is a first load
        super().end_headers()

    def log_message(self, *a):
        pass


def serve(folder: Path, isolate: bool) -> tuple[http.server.ThreadingHTTPServer, int]:
    handler = type("H", (Handler,), {"isolate": isolate})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(folder)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, httpd.server_address[1]


def run_case(browser, url: str, threads: int, throttle: float, x, y, n_grid: int) -> dict:
    page = browser.new_page()
    received = []
    page.on("response", lambda r: received.append(r))
    if throttle > 1:
        page.context.new_cdp_session(page).send("Emulation.setCPUThrottlingRate", {"rate": throttle})
    start = time.perf_counter()
    page.goto(url)
    page.wait_for_function("() => window.vac !== undefined")
    info = page.evaluate(f"() => window.vac.load({threads})")
    info["first_load_s"] = time.perf_counter() - start
    info["bytes"] = sum(int(r.headers.get("content-length", 0)) for r in received)
    images = x.flatten(1).tolist()
    one = page.evaluate("([im, y, e]) => window.vac.attack(im.flat(), y, e, 40)", [images, y.tolist(), [EPS]])
    grid_eps = [round(0.3 * k / 20, 6) for k in range(21)]
    grid = page.evaluate("([im, y, e]) => window.vac.attack(im.flat(), y, e, 40)",
                         [images[:n_grid], y[:n_grid].tolist(), grid_eps])
    page.close()
    return {**info, "one_ms": statistics.median(one["ms"]), "grid_ms": statistics.median(grid["ms"]),
            "x_adv": torch.tensor(one["x_adv"]).view(-1, 1, 28, 28)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=50, help="test images attacked (default 50)")
    parser.add_argument("--grid-n", type=int, default=5, help="images whose 21-ε grid is timed (default 5)")
    parser.add_argument("--throttle", type=float, default=4.0, help="CDP CPU slow-down for the phone (default 4)")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args()
    model = load_pretrained("mnist").requires_grad_(False)
    x, y = load_split("mnist", False, args.data_dir).batch(slice(0, args.n))
    folder = site(model, ROOT / "runs" / "browser-attack", ort_web(ROOT / "runs" / "ortweb"))
    pgd(model, x[:1], y[:1], eps=EPS, fast=False)  # warm-up: oneDNN builds its kernels on the first call
    start = time.perf_counter()
    server_adv = torch.cat([pgd(model, x[i:i + 1], y[i:i + 1], eps=EPS, fast=False) for i in range(len(x))])
    server_ms = (time.perf_counter() - start) / len(x) * 1000
    with torch.no_grad():
        server_pred = model.classify(server_adv).argmax(1)
    from playwright.sync_api import sync_playwright
    rows = []
    plain, port = serve(folder, isolate=False)
    iso, iso_port = serve(folder, isolate=True)
    try:
        with sync_playwright() as p:
            b = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                  args=["--no-sandbox", "--disable-gpu", '--host-resolver-rules=MAP lan.test 127.0.0.1'])
            cases = [("LAN, single-threaded", f"http://lan.test:{port}/index.html", 1, 1.0),
                     ("isolated, threaded", f"http://127.0.0.1:{iso_port}/index.html", 2, 1.0),
                     (f"phone ({args.throttle:g}× CPU throttling), LAN", f"http://lan.test:{port}/index.html", 1,
                      args.throttle)]
            for what, url, threads, throttle in cases:
                r = run_case(b, url, threads, throttle, x, y, args.grid_n)
                with torch.no_grad():
                    pred = model.classify(r.pop("x_adv")).argmax(1)
                r.update(what=what, agree=float((pred == server_pred).float().mean()),
                         fooled=float((pred != y).float().mean()))
                rows.append(r)
                print(r, flush=True)
            b.close()
    finally:
        plain.shutdown()
        iso.shutdown()
    head = ("| browser | secure / isolated / WASM threads | downloaded | first load | PGD-40 one image | PGD-40 21-ε grid "
            "| same prediction as the server | fooled |\n|---|---|---:|---:|---:|---:|---:|---:|")
    lines = [f"| {r['what']} | {r['secure']} / {r['isolated']} / {r['threads']} | {r['bytes'] / 2**20:.1f} MB | "
             f"{r['first_load_s']:.1f} s | {r['one_ms']:.0f} ms | {r['grid_ms']:.0f} ms | {r['agree']:.2f} | "
             f"{r['fooled']:.2f} |" for r in rows]
    print(f"\nserver, PGD-40 one image, plain fp32, {torch.get_num_threads()} threads: {server_ms:.0f} ms; "
          f"fooled {float((server_pred != y).float().mean()):.2f} of {len(y)} at ε = {EPS}\n")
    print("\n".join([head, *lines]))
    if args.json:
        Path(args.json).write_text(json.dumps({"eps": EPS, "n": len(y), "server_ms": server_ms, "rows": rows,
                                               "ort_web": ORT_VERSION}, indent=1))


if __name__ == "__main__":
    main()
