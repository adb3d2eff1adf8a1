"""A real PostgreSQL server for a test session: Debian's binaries (installed by `make test`), a fresh cluster in a
temporary folder owned by the `postgres` user when run as root (initdb refuses root), socket and port on
127.0.0.1, fsync off; stopped and removed after."""
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path


def bindir() -> Path:
    """The server's binaries: $VACDEMO_PG_BINDIR, else pg_config --bindir, else the newest
    /usr/lib/postgresql/<version>/bin."""
    if os.environ.get("VACDEMO_PG_BINDIR"):
        return Path(os.environ["VACDEMO_PG_BINDIR"])
    try:
        out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, timeout=10).stdout.strip()
        if out and (Path(out) / "initdb").exists():
            return Path(out)
    except OSError:
        pass
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    assert found, "PostgreSQL is missing: `make test` installs it (scripts/ensure-postgres.sh), or apt-get install postgresql"
    return Path(found[-1]).parent


def as_owner(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


@contextmanager
def postgres_server(port: int):
    """→ a SQLAlchemy URL of a running server on 127.0.0.1:port; stopped and its folder removed after. The folder
    is a fresh one under /tmp (pytest's own are private to root, and the server runs as `postgres`)."""
    folder = Path(tempfile.mkdtemp(prefix="vacdemo-pg-", dir="/tmp"))  # not $TMPDIR: it may be private
    data = folder / "data"
    if os.geteuid() == 0:
        pw = pwd.getpwnam("postgres")
        os.chown(folder, pw.pw_uid, pw.pw_gid)
    b = bindir()
    subprocess.run(as_owner([str(b / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync",
                             "-E", "UTF8"]), check=True, capture_output=True, timeout=120)
    proc = subprocess.Popen(as_owner([str(b / "postgres"), "-D", str(data), "-p", str(port), "-k", str(folder),
                                      "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off",
                                      "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]),
                            stdout=subprocess.DEVNULL, stderr=(folder / "server.log").open("w"))
    try:
        for _ in range(100):
            ready = subprocess.run([str(b / "pg_isready"), "-h", "127.0.0.1", "-p", str(port)], capture_output=True)
            if ready.returncode == 0:
                break
            assert proc.poll() is None, (folder / "server.log").read_text()
            time.sleep(0.1)
        else:
            raise RuntimeError("PostgreSQL did not start within 10 s: " + (folder / "server.log").read_text())
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(folder, ignore_errors=True)
