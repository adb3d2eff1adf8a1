"""What the app's server holds once for every session: the labs (model, detector, gallery, latent map) and the
one attack queue (vacdemo.serving.batcher) that runs every session's PGD rows as shared batches.

A student's new input asks for its ε-grid with the slider's ε first: that row comes back as soon as its batch
runs (first answers go ahead of grid fillers), the rest of the grid after it. warm() loads the models and runs
one attack at server start (serve.py), so the first visitor pays for neither.
"""
import hashlib
import json
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..lab.atlas import Atlas, load_atlas
from .batcher import FILL, FIRST, Batcher
from ..models.checkpoint import PRETRAINED, load_checkpoint, load_pretrained
from ..attacks.compare import compare_grid
from ..attacks.fastpath import clear_policy, has_policy
from ..models.detector import Detector
from ..datasets import DATASETS
from ..device import pick_device, serving_threads, serving_workers
from ..lab.gallery import Gallery, load_gallery
from ..lab.record import Check, LabFacts
from ..models.vac import eval_mode, reconstruction_error
from ..lab.sweep import GRID_SIZE, Sweep, attack_rows, eps_grid, label, read_out, settle

MAX_ROWS = 32  # rows per batch: a burst of 30 first answers runs as one batch
# Before the path is measured (choose_path, at warm-up), one row runs the plain fp32 path: the default fast path
# (bf16 where the CPU claims it) pays from 2 rows on only
FAST_FROM = 2


@dataclass(frozen=True)
class Lab:
    """What a data set's page runs on, loaded once per server and shared by every session (never mutated)."""
    model: torch.nn.Module
    detector: Detector
    gallery: Gallery
    gallery_right: np.ndarray  # (N,) bool: the model reads the gallery image right at ε = 0
    atlas: Atlas
    device: torch.device


_labs: dict[str, Lab] = {}
_lock = threading.Lock()


def configure_torch() -> int:
    """Torch threads for serving (vacdemo.device.serving_threads), set once per process."""
    with _lock:
        if not _configured:
            torch.set_num_threads(serving_threads())
            _configured.append(True)
    return torch.get_num_threads()


_configured: list[bool] = []


def load_lab(name: str) -> Lab:
    """The lab of a data set, loaded on first use (by one thread; the others wait for it)."""
    with _lock:
        if name not in _labs:
            device = pick_device("auto")
            # input gradients only (frozen weights); load_checkpoint already gave float32 in channels_last
            model = load_pretrained(name).to(device).requires_grad_(False)
            folder = PRETRAINED / name
            gallery = load_gallery(folder)
            with torch.no_grad():
                images = torch.stack([gallery.image(i) for i in range(len(gallery))]).to(device)
                right = (model.classify(images).argmax(1).cpu() == gallery.labels).numpy()
            _labs[name] = Lab(model, Detector.load(folder / "detector_inf.json"), gallery, right,
                              load_atlas(folder), device)
        return _labs[name]


_facts: dict[str, LabFacts] = {}


def lab_facts(name: str) -> LabFacts:
    """What the page's views draw from a lab, as plain arrays (vacdemo.lab.record.LabFacts), built once."""
    if name not in _facts:
        lab = load_lab(name)
        counts, edges = lab.atlas.re_histogram()
        g = lab.gallery
        _facts[name] = LabFacts(name, float(lab.detector.threshold), counts, edges, lab.atlas.codes.numpy(),
                                lab.atlas.labels.numpy(), lab.atlas.mean.float().numpy(),
                                lab.atlas.basis.float().numpy(), (g.images.float() / 255).numpy(), g.labels.numpy(),
                                g.indices.numpy(), lab.gallery_right)
    return _facts[name]


# The models the comparison sets beside the β-VAC, shipped as pretrained/<data set>-<kind>/ when trained
RIVALS = {"cnn": "plain CNN", "adv": "adversarially trained CNN"}
_rivals: dict[str, dict] = {}


def rival_folder(name: str, kind: str) -> Path:
    return PRETRAINED / f"{name}-{kind}"


def load_rivals(name: str) -> dict:
    """{"β-VAC": …, "plain CNN": …, "adversarially trained CNN": …} for the comparison: the β-VAC and each
    rival that is shipped for this data set ({} when none is: the app then offers no comparison)."""
    with _lock:
        if name not in _rivals:
            found = {label: rival_folder(name, kind) for kind, label in RIVALS.items()
                     if (rival_folder(name, kind) / "config.json").exists()}
            _rivals[name] = {label: load_checkpoint(folder).requires_grad_(False) for label, folder in found.items()}
    rivals = _rivals[name]
    if not rivals:
        return {}
    lab = load_lab(name)
    return {"β-VAC": lab.model, **{k: m.to(lab.device) for k, m in rivals.items()}}


def card_file(name: str) -> Path:
    return PRETRAINED / name / "compare.json"


def compare_card(name: str) -> dict | None:
    """The comparison measured on the test set by the card command (pretrained/<name>/compare.json), or None."""
    path = card_file(name)
    return json.loads(path.read_text()) if path.exists() else None


def comparison(name: str, x: np.ndarray, y: int | None, steps: int, alpha: float | None) -> tuple:
    """The comparison's ε-grid of one input on every model (ℓ∞, untargeted, one batched call per model), and
    the β-VAC's reconstructions, errors and detector scores of its own rows: (CompareGrid, recon (K, 28, 28),
    re (K,), score (K,))."""
    lab = load_lab(name)
    xt = torch.from_numpy(np.asarray(x, dtype=np.float32))
    label(lab.model, xt, y, lab.device)  # checks x
    with _compare_lock:  # one comparison at a time: it runs beside the queue's batches, not in them
        grid = compare_grid(load_rivals(name), xt.to(lab.device), y, eps_grid(name, "inf"), steps=steps,
                            alpha=alpha or 0.01)
    with torch.no_grad(), eval_mode(lab.model):
        x_vac = torch.from_numpy(grid.x_adv[0][:, None]).to(lab.device)
        recon = lab.model.reconstruct(x_vac)
        re = reconstruction_error(lab.model, x_vac, recon)
    return grid, recon[:, 0].float().cpu().numpy(), re.float().cpu().numpy(), lab.detector.prob(re).float().cpu().numpy()


def check_picture(name: str, x: np.ndarray) -> Check:
    """The model's reading of one picture, its redrawing and the detector's verdict: no attack."""
    lab = load_lab(name)
    xt = torch.from_numpy(np.asarray(x, dtype=np.float32))
    label(lab.model, xt, 0, lab.device)  # checks x
    xt = xt[None].to(lab.device)
    with torch.no_grad(), eval_mode(lab.model):
        read = lab.model(xt)
        re = reconstruction_error(lab.model, xt, read.recon)
        pred_8bit = int(lab.model.classify((xt * 255).round() / 255).argmax())
    return Check(read.probs[0].float().cpu().numpy(), read.recon[0, 0].float().cpu().numpy(), float(re[0]),
                 float(lab.detector.prob(re)[0]), bool(re[0] > lab.detector.threshold), pred_8bit)


def detector_rates(name: str) -> dict | None:
    """The detector's measured error rates (python -m vacdemo rates), or None where they were not measured."""
    path = PRETRAINED / name / "detector_rates.json"
    return json.loads(path.read_text()) if path.exists() else None


def run_rows(group: tuple, payloads: list[tuple]) -> list[torch.Tensor]:
    """The batcher's work: rows of one group (data set, norm, steps, attack kind), each (x, y, ε, α, target)
    from any image, attacked as one batch; → x_adv per row, (1, 28, 28) on the CPU. A Square group ("square", …)
    takes one slice of each row's search instead (vacdemo.serving.blackbox)."""
    if group[0] == "square":
        from .blackbox import run_slices  # the layer above: it builds on this module's queue
        return run_slices(group, payloads)
    name, norm, steps, adaptive, _ = group
    lab = load_lab(name)
    x = torch.stack([p[0] for p in payloads]).to(lab.device)  # (B, 1, 28, 28)
    y, eps, alpha = (torch.tensor([p[i] for p in payloads], device=lab.device) for i in (1, 2, 3))
    targets = [p[4] for p in payloads]
    target = None if targets[0] is None else torch.tensor(targets, device=lab.device)
    # the path per batch size: measured at start (vacdemo.serving.fastpath); before that, the old rule
    fast = has_policy(lab.device.type, lab.model) or lab.device.type == "cuda" or len(payloads) >= FAST_FROM
    start = time.perf_counter()
    x_adv = attack_rows(lab.model, lab.detector, x, y, eps.to(x.dtype), alpha.to(x.dtype), steps=steps, norm=norm,
                        target=target, adaptive=adaptive, on_step=_progress, fast=fast)
    if not adaptive and len(payloads) >= GRID_SIZE - 1:  # a whole grid's batch: what one PGD step of a grid costs
        _step_s[0] = (time.perf_counter() - start) / steps
    return list(x_adv.cpu())


_step_s = [0.02]  # seconds per PGD step of the last grid-sized batch (queue time not included)


def seconds_per_step() -> float:
    """What one PGD step of a whole ε-grid costs on this server, as last measured (the page's slow warning)."""
    return _step_s[0]


def _progress(i: int, steps: int) -> None:
    queue().report(i, steps)


_queue: list[Batcher] = []
_compare_lock = threading.Lock()
_queue_lock = threading.Lock()  # not _lock: a model loading must not stall the queue


def queue() -> Batcher:
    """The one attack queue of this process."""
    with _queue_lock:
        if not _queue:
            _queue.append(Batcher(run_rows, max_rows=MAX_ROWS, workers=serving_workers()))
        return _queue[0]


def image_key(x: np.ndarray) -> str:
    return hashlib.sha1(np.ascontiguousarray(x, dtype=np.float32).tobytes()).hexdigest()


class Grid:
    """One image's ε-grid in the queue: the rows of ε > 0 (ε = 0 is the input itself), one future each."""

    def __init__(self, name: str, x: np.ndarray, y: int | None, *, norm: str, steps: int, alpha: float | None,
                 target: int | None, adaptive: bool, first: int, owner):
        self.lab, self.name, self.norm, self.target, self.adaptive = load_lab(name), name, norm, target, adaptive
        self.eps, alpha = settle(eps_grid(name, norm), steps, alpha, norm, target, adaptive)
        self.x = torch.from_numpy(np.asarray(x, dtype=np.float32))
        self.y, self.labelled = label(self.lab.model, self.x, y, self.lab.device)
        self.start = time.perf_counter()
        image = (name, image_key(x), self.y, norm, steps, tuple(alpha), target, adaptive)
        self.keys = [(image, k) for k in range(len(self.eps))]
        first = min(max(int(first), 0), len(self.eps) - 1)
        order = [first] + [k for k in range(1, len(self.eps)) if k != first]  # the slider's ε first
        rows = [(self.keys[k], (self.x, self.y, float(self.eps[k]), float(alpha[k]), target),
                 FIRST if k == first else FILL) for k in order if k > 0]
        q = queue()
        q.forget(owner, keep=set(self.keys))  # this student's earlier input is no longer wanted
        q.demote(owner, keep=self.keys[first])  # nor the ε the slider showed before
        futures = q.submit(owner, (name, norm, steps, adaptive, target is None), rows)
        self.owner = owner
        self.futures = {k: f for k, f in zip([k for k in order if k > 0], futures)}

    def drop(self) -> None:
        """Nobody here waits for this grid any more (its rows still run if another student wants them)."""
        queue().forget(self.owner)

    def done(self, k: int) -> bool:
        return k == 0 or self.futures[k].done()

    def count_done(self) -> int:
        return 1 + sum(f.done() for f in self.futures.values())

    def ahead(self, k: int) -> int:
        return 0 if k == 0 else queue().ahead(self.keys[k])

    def progress(self, k: int) -> tuple[int, int]:
        """(step, steps) of the batch that runs row k, (0, 0) while it waits."""
        q = queue()
        return q.progress_of(self.keys[k]) if k > 0 else (0, 0)

    def sweep(self, ks: list[int] | None = None) -> Sweep:
        """The Sweep at grid indices ks (ascending, from 0; all by default), once their rows are done."""
        ks = list(range(len(self.eps))) if ks is None else ks
        x_adv = torch.stack([self.x if k == 0 else self.futures[k].result() for k in ks]).to(self.lab.device)
        return read_out(self.lab.model, self.lab.detector, x_adv, self.eps[ks], self.y, self.labelled, self.target,
                        self.adaptive, self.norm, self.start)


def choose_path(name: str) -> dict:
    """The attack path per batch size for this lab's model, measured once per machine (cached), its policy set."""
    from . import fastpath
    lab = load_lab(name)
    g = lab.gallery
    x = torch.stack([g.image(i) for i in range(len(g))]).to(lab.device)
    return fastpath.ensure(lab.model, x, g.labels.to(lab.device), [float(e) for e in eps_grid(name, "inf")[1:6]])


def warm(names=tuple(DATASETS)) -> float:
    """Load every lab and run one attack through the queue, so the first visitor waits for neither; → seconds."""
    start = time.perf_counter()
    configure_torch()
    for name in names:
        lab = load_lab(name)
        try:
            choose_path(name)
        except Exception as e:  # noqa: BLE001  a failed measurement (a read-only install, say) keeps the default path
            print(f"vacdemo: the attack path for {name} was not measured ({type(e).__name__}: {e}); the default serves",
                  flush=True)
            clear_policy(lab.model)
        load_rivals(name)  # the comparison's models, where shipped
        grid = Grid(name, lab.gallery.image(0).numpy(), int(lab.gallery.labels[0]), norm="inf", steps=40,
                    alpha=None, target=None, adaptive=False, first=len(eps_grid(name, "inf")) - 1, owner="warm-up")
        grid.futures[len(grid.eps) - 1].result()
        queue().forget("warm-up")  # the rest of its grid is not needed
    return time.perf_counter() - start
