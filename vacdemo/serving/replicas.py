"""`python -m vacdemo serve --replicas n` (`make serve REPLICAS=n`): n Streamlit replicas behind Debian's nginx.

A Streamlit page lives on one server: its websocket, the /media files its images point to and its uploads must
all reach the replica that holds the session. nginx routes by a cookie it sets on the first request (a random
route, hashed consistently onto the replicas), so every request of one browser goes to one replica, and a
websocket stays where it opened. Each replica keeps its own models, attack queue and cross-session batches.
"""
import getpass
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from ..errors import SettingsError
from ..paths import ROOT, SERVE

NGINX = os.environ.get("VACDEMO_NGINX", "/usr/sbin/nginx")

CONF = """# written by python -m vacdemo serve: {n} replica(s) behind one port
{user}worker_processes 1;
pid {work}/nginx.pid;
error_log {work}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {work}/body;
    proxy_temp_path {work}/proxy;
    fastcgi_temp_path {work}/fastcgi;
    uwsgi_temp_path {work}/uwsgi;
    scgi_temp_path {work}/scgi;
    client_max_body_size 6m;  # the app takes uploads up to 5 MB
    map $http_upgrade $connection_upgrade {{ default upgrade; "" close; }}
    # the route: the browser's cookie, else a new random one (set below): one browser, one replica
    map $cookie_vacdemo_route $route {{ "" $request_id; default $cookie_vacdemo_route; }}
    upstream vacdemo {{
        hash $route consistent;
{servers}
    }}
    server {{
        listen {host}:{port};
        location / {{
            proxy_pass http://vacdemo;
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_set_header Host $http_host;  # with the port: Streamlit checks Origin against Host
            proxy_read_timeout 1d;  # a websocket stays open as long as the page
            proxy_buffering off;
            add_header Set-Cookie "vacdemo_route=$route; Path=/; HttpOnly; SameSite=Lax" always;
            add_header X-Vacdemo-Replica $upstream_addr always;
        }}
    }}
}}
"""


def nginx_conf(ports: list[int], port: int, work: Path, host: str = "127.0.0.1") -> str:
    user = f"user {getpass.getuser()};\n" if os.geteuid() == 0 else ""  # workers as the caller, not nobody
    servers = "\n".join(f"        server 127.0.0.1:{p} max_fails=0;" for p in ports)
    return CONF.format(n=len(ports), user=user, work=work, servers=servers, host=host, port=port)


def replica_env(replicas: int, secret: str, host: str = "127.0.0.1", public_url: str | None = None) -> dict:
    """Each replica gets an equal share of the cores (VACDEMO_THREADS, VACDEMO_WORKERS), unless the caller set them, and the same
    cookie secret, so that a cookie signed by one replica is valid on all. The replicas listen on loopback; the
    page's join link reads where nginx listens (VACDEMO_LISTEN) and the address students open (VACDEMO_PUBLIC_URL)."""
    env = os.environ.copy()
    env["VACDEMO_LISTEN"] = host
    if public_url:
        env["VACDEMO_PUBLIC_URL"] = public_url
    env.setdefault("VACDEMO_THREADS", str(max(1, (os.cpu_count() or 2) // replicas)))
    # and one attack batch at a time per share (serving_workers would give each replica one per core: n × too many)
    env.setdefault("VACDEMO_WORKERS", str(max(1, (os.cpu_count() or 2) // replicas // int(env["VACDEMO_THREADS"]))))
    env["STREAMLIT_SERVER_COOKIE_SECRET"] = secret
    return env


def start(replicas: int, port: int, work: Path, host: str = "127.0.0.1",
          public_url: str | None = None) -> list[subprocess.Popen]:
    """n replicas on the ports after `port`, then nginx on `port`; → the processes, nginx last."""
    if not 1 <= replicas <= 64:
        raise SettingsError(f"--replicas must lie in 1 … 64, got {replicas}")
    if not Path(NGINX).exists() and not shutil.which("nginx"):
        raise SettingsError(f"nginx is missing at {NGINX}: run 'sudo apt-get install nginx' (or set VACDEMO_NGINX), "
                            "or bash scripts/ensure-nginx.sh")
    work = work.resolve()  # nginx reads paths relative to its prefix: give it absolute ones
    work.mkdir(parents=True, exist_ok=True)
    ports = [port + 1 + i for i in range(replicas)]
    secret = secrets.token_hex(16)
    procs = [subprocess.Popen([sys.executable, "-m", "streamlit", "run", str(SERVE), "--server.port",
                               str(p), "--server.address", "127.0.0.1", "--server.headless", "true",
                               "--server.fileWatcherType", "none"],
                              cwd=ROOT, env=replica_env(replicas, secret, host, public_url), stdout=(work / f"replica-{p}.log").open("w"),
                              stderr=subprocess.STDOUT) for p in ports]
    (work / "nginx.conf").write_text(nginx_conf(ports, port, work, host))
    procs.append(subprocess.Popen([NGINX if Path(NGINX).exists() else "nginx", "-p", str(work), "-c",
                                   str(work / "nginx.conf"), "-g", "daemon off;"],
                                  stdout=(work / "nginx.log").open("w"), stderr=subprocess.STDOUT))
    return procs


def stop(procs: list[subprocess.Popen]) -> None:
    for p in reversed(procs):
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    for p in procs:
        try:
            p.wait(20)
        except subprocess.TimeoutExpired:
            p.kill()


def serve(replicas: int, port: int, work: Path, host: str = "127.0.0.1", public_url: str | None = None) -> int:
    """Run until interrupted (Ctrl-C), or until a process exits."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # a kill stops the replicas and nginx too (finally)
    procs = start(replicas, port, work, host, public_url)
    print(f"{replicas} replica(s) on ports {port + 1}…{port + replicas}, nginx on http://{host}:{port} "
          f"(logs in {work}); Ctrl-C stops them", flush=True)
    try:
        while all(p.poll() is None for p in procs):
            time.sleep(0.5)
        failed = next(p for p in procs if p.poll() is not None)
        print(f"error: {' '.join(map(str, failed.args[:6]))} … exited with {failed.returncode}; see the logs in {work}",
              file=sys.stderr)
        return 1
    except (KeyboardInterrupt, SystemExit):
        return 0
    finally:
        stop(procs)
