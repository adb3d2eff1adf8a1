"""Where the study's models run: one after another here, a process pool on this machine, or Ray (a cluster,
or a local Ray instance). Each backend calls run(job, quiet) for every job and returns one status per job;
a job that raises is reported as failed and never loses the others."""
import os
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from pathlib import Path

from tqdm import tqdm

from ..errors import SettingsError
from ..paths import PACKAGE



def failed(name: str, e: BaseException) -> dict:
    return {"run": name, "status": f"failed: {type(e).__name__}: {e}"}


def run_here(run, jobs: list, names: list[str], results: list | None = None) -> list[dict]:
    """One after another, each status appended to results as it comes (an interrupted caller keeps them)."""
    results = [] if results is None else results
    for job, name in zip(tqdm(jobs, desc="models"), names):
        try:
            results.append(run(job, False))
        except Exception as e:
            results.append(failed(name, e))
    return results


def run_pool(run, jobs: list, names: list[str], workers: int) -> list[dict]:
    """Spawned processes (a fresh interpreter per worker, safe with CUDA)."""
    results = []
    with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
        futures = {pool.submit(run, job, True): name for job, name in zip(jobs, names)}
        for f in tqdm(as_completed(futures), total=len(jobs), desc="models"):
            try:
                results.append(f.result())
            except Exception as e:
                results.append(failed(futures[f], e))
    return results


def call(run, job, quiet: bool) -> dict:
    """run(job, quiet) as a plain function: Ray's tasks must be functions, run may be a partial."""
    return run(job, quiet)


def run_ray(run, jobs: list, names: list[str], *, cpus: int, gpus: float, address: str | None,
            local_cpus: int) -> list[dict]:
    """One Ray task per job, each asking for cpus CPUs (and gpus GPUs). address: a running cluster ("auto",
    "ray://host:10001"); None starts a local instance with local_cpus CPUs. The vacdemo package travels with
    the tasks; the data and the work folder must be where every node can read and write them."""
    try:
        import ray
    except ImportError as e:
        raise SettingsError("--backend ray needs Ray: pip install -r requirements-ray.txt") from e
    package = str(PACKAGE)
    # A local Ray starts its workers at nice 15: beside anything else busy they would crawl. The models are
    # the work here. (A cluster keeps its own setting.)
    ours = "RAY_worker_niceness" not in os.environ
    os.environ.setdefault("RAY_worker_niceness", "0")
    env = {"py_modules": [package], "env_vars": {k: v for k, v in os.environ.items() if k.startswith("VACDEMO_")}}
    try:
        ray.init(address=address or "local", num_cpus=None if address else local_cpus, runtime_env=env,
                 include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    finally:  # read by ray.init only: the environment is left as it was
        if ours:
            del os.environ["RAY_worker_niceness"]
    try:
        task = ray.remote(num_cpus=cpus, num_gpus=gpus, max_retries=0)(call)
        pending = {task.remote(run, job, True): name for job, name in zip(jobs, names)}
        results = []
        with tqdm(total=len(jobs), desc="models (ray)") as bar:
            while pending:
                done, _ = ray.wait(list(pending), num_returns=1)
                name = pending.pop(done[0])
                try:
                    results.append(ray.get(done[0]))
                except Exception as e:
                    results.append(failed(name, e))
                bar.update()
        return results
    finally:
        ray.shutdown()
