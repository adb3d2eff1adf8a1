"""`make test` does its own set-up: the Chromium and nginx steps install them or say in one line what to run."""
import os
import shutil
import subprocess

from conftest import ROOT

SCRIPT = ROOT / "scripts" / "ensure-chromium.sh"


def run(env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([shutil.which("bash"), str(SCRIPT)], env=env, capture_output=True, text=True, timeout=60)


def test_present_chromium_is_left_alone(tmp_path):
    fake = tmp_path / "chromium"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    done = run({**os.environ, "VACDEMO_CHROMIUM": str(fake)})
    assert done.returncode == 0 and done.stdout == "" and done.stderr == ""


def test_missing_chromium_without_apt_says_what_to_run(tmp_path):
    # A PATH with no apt-get: the script cannot install, so it must fail with the one-line hint.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("id",):
        (bin_dir / tool).symlink_to(shutil.which(tool))
    done = run({"PATH": str(bin_dir), "VACDEMO_CHROMIUM": str(tmp_path / "no-chromium")})
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "apt-get install chromium" in lines[0] and "no-chromium" in lines[0]


def test_make_test_runs_the_chromium_and_nginx_steps():
    dry = subprocess.run(["make", "-n", "test"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert dry.returncode == 0
    steps = dry.stdout.splitlines()
    pytest_step = next(i for i, s in enumerate(steps) if "-m pytest" in s)
    for script in ("ensure-chromium.sh", "ensure-nginx.sh", "ensure-cxx.sh"):
        assert next(i for i, s in enumerate(steps) if script in s) < pytest_step


def test_missing_nginx_without_apt_says_what_to_run(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "id").symlink_to(shutil.which("id"))
    done = subprocess.run([shutil.which("bash"), str(ROOT / "scripts" / "ensure-nginx.sh")], capture_output=True,
                          text=True, timeout=60, env={"PATH": str(bin_dir), "VACDEMO_NGINX": str(tmp_path / "no-nginx")})
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 1 and len(lines) == 1 and "apt-get install nginx" in lines[0]
