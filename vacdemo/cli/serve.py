"""`loadtest` and `serve`: the app in the classroom (vacdemo.serving), N students at once and n replicas."""
from __future__ import annotations

import json
from pathlib import Path

from .common import command


def cmd_loadtest(args) -> int:
    """N students over the app's websocket, for each (students, mode): one table (vacdemo.serving.loadtest)."""
    from ..serving import loadtest
    rows = []
    for users in args.users:
        for mode in args.mode:
            print(f"{users} student(s), {mode} …", flush=True)
            row = loadtest.loadtest(users, mode, args.inputs, args.period, args.url, args.port, args.timeout,
                                    squares=args.square)
            rows.append(row)
            for e in row["errors"][:10]:
                print("  error:", e)
    plain, together = [r for r in rows if r["mode"] != "class"], [r for r in rows if r["mode"] == "class"]
    if plain:
        print("\n" + loadtest.table(plain))
    if together:
        from ..serving import classload
        print("\n" + classload.table(together))
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return 1 if any(r["errors"] for r in rows) else 0


def register_loadtest(sub) -> None:
    p = command(sub, "loadtest", "N students at once over the app's websocket: time to the verdict, CPU, memory",
                cmd_loadtest)
    p.add_argument("--users", type=int, nargs="+", default=[1, 10, 30], help="students per run (default 1 10 30)")
    p.add_argument("--mode", nargs="+", choices=["steady", "burst", "class"], default=["steady", "burst"],
                   help="steady: each student a new input every ~--period s; burst: all at the same moment; class: a "
                        "class playing together (a projector's wall, each student a new input, then Send to the class)")
    p.add_argument("--inputs", type=int, default=2, help="new images per student after opening the page (default 2)")
    p.add_argument("--period", type=float, default=5.0, help="steady: seconds between a student's inputs (default 5)")
    p.add_argument("--url", help="drive this server (e.g. nginx in front of replicas) instead of starting one")
    p.add_argument("--port", type=int, default=8599, help="loopback port of the server it starts (default 8599)")
    p.add_argument("--timeout", type=float, default=120, help="seconds one page run may take (default 120)")
    p.add_argument("--square", type=int, default=0, metavar="N",
                   help="also N black-box students running Square Attack (1,000 queries) all along, beside the others "
                        "(default 0)")
    p.add_argument("--json", help="also write the rows here")


def cmd_serve(args) -> int:
    """n Streamlit replicas behind nginx with sticky sessions (vacdemo.serving.replicas)."""
    from ..serving import replicas
    return replicas.serve(args.replicas, args.port, Path(args.work), args.host, args.public_url)


def register_serve(sub) -> None:
    p = command(sub, "serve", "n replicas of the app behind nginx, one port, sticky sessions", cmd_serve)
    p.add_argument("--replicas", type=int, default=2, help="Streamlit servers (default 2)")
    p.add_argument("--port", type=int, default=8500, help="nginx's port; replicas take the next ones (default 8500)")
    p.add_argument("--host", default="127.0.0.1", help="nginx's address (0.0.0.0: reachable from the classroom)")
    p.add_argument("--public-url", help="the address students open, for the projector's join link and QR code "
                   "(default: $VACDEMO_PUBLIC_URL, else this machine's LAN addresses)")
    p.add_argument("--work", default="runs/serve", help="nginx config, pid and logs (default runs/serve)")


def register(sub) -> None:
    register_loadtest(sub)
    register_serve(sub)
