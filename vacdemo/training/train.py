"""Algorithm 1: minimise eq. 5 over minibatches while the capacity c rises linearly to C. The plain CNN (cfg.kind
"cnn") minimises the cross-entropy instead, on adversarial inputs when cfg.adv_eps > 0."""
import copy
import json
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from tqdm import tqdm

from .adversarial import training_attack
from .augment import augment, centre_distances
from ..config import Config
from ..data import Split
from ..device import autocast
from ..errors import SettingsError, TrainingDiverged
from .evaluate import evaluate
from .loss import beta_at, capacity_at, vac_loss
from ..models.vac import BetaVAC, build_model


def make_optimizer(cfg: Config, model: BetaVAC) -> torch.optim.Optimizer:
    if cfg.optimizer == "adam":
        return torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum,
                               weight_decay=cfg.weight_decay)
    raise SettingsError(f"optimizer must be 'adam' or 'sgd', not {cfg.optimizer!r}")


def make_scheduler(cfg: Config, opt: torch.optim.Optimizer, steps: int):
    """Stepped once per batch: the step schedule's milestones are epochs, so they count in batches."""
    if cfg.schedule == "step":
        return torch.optim.lr_scheduler.MultiStepLR(opt, [m * steps for m in cfg.milestones], gamma=0.1)
    if cfg.schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=cfg.epochs * steps)
    raise SettingsError(f"schedule must be 'step' or 'cosine', not {cfg.schedule!r}")


def l1_penalty(model: BetaVAC) -> torch.Tensor:
    """Σ|W| over the classifier's weight matrices (not biases), as in Tables 1–4."""
    return sum(m.weight.abs().sum() for m in model.classifier if isinstance(m, torch.nn.Linear))


def train_step(model, opt, cfg: Config, x, y, c: float, beta: float, device) -> dict[str, torch.Tensor]:
    with autocast(device, cfg.bf16):
        mu, logvar = model.encode(x)
        z = model.reparameterize(mu, logvar, max(cfg.samples, cfg.class_samples))  # (M', B, d)
        class_logits = model.classifier(z[:cfg.class_samples])  # (M_y, B, 10)
        terms = vac_loss(x, y, mu, logvar, model.decode(z[:cfg.samples]), class_logits,
                         beta=beta, c=c, kl_reduction=cfg.kl_reduction,
                         recon_reduction=cfg.recon_reduction, smoothing=cfg.capacity_smoothing)
    terms["acc"] = (class_logits.detach().argmax(-1) == y).float().mean()
    loss = terms["loss"] + (cfg.l1 * l1_penalty(model) if cfg.l1 else 0.0)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    if cfg.grad_clip:
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
    opt.step()
    return terms


def train_step_ce(model, opt, cfg: Config, x, y, eps: float, device) -> dict[str, torch.Tensor]:
    """One step of the plain CNN: cross-entropy, on the training attack's x_adv when eps > 0."""
    if eps:
        x = training_attack(model, x, y, eps, cfg.adv_steps, cfg.adv_alpha, cfg.bf16)
    with autocast(device, cfg.bf16):
        logits = model.classify(x)
    ce = F.cross_entropy(logits.float(), y)
    loss = ce + (cfg.l1 * l1_penalty(model) if cfg.l1 else 0.0)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    if cfg.grad_clip:
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
    opt.step()
    zero = torch.zeros((), device=ce.device)
    return {"loss": ce.detach(), "ce": ce.detach(), "acc": (logits.detach().argmax(-1) == y).float().mean(),
            "recon": zero, "kl": zero}


def train(cfg: Config, train_split: Split, test_split: Split, device: torch.device,
          out_dir: Path | None = None, limit: int | None = None, on_epoch=None,
          select: str | None = None, resume: bool = True) -> tuple[BetaVAC, list[dict]]:
    """Train a β-VAC; per-epoch metrics go to out_dir/metrics.json as they come. limit: first N train images.
    on_epoch(model) → dict, when given, adds its readings of the epoch's model (as evaluated) to the row.
    select: a key of those readings; the model returned is then the epoch's with the highest value (early
    stopping, as Wong et al. against catastrophic overfitting), its row marked "selected".
    resume (with out_dir): the whole state is saved to out_dir/resume.pt after every epoch, and a later call with
    the same config and limit continues from there (a session ends, its background jobs with it); the
    continued run takes the same steps as an unbroken one. drop_resume(out_dir) once the checkpoint is saved."""
    torch.manual_seed(cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)
    model = build_model(cfg).to(device, memory_format=torch.channels_last)  # as load_checkpoint: oneDNN's layout
    opt = make_optimizer(cfg, model)
    n = min(limit or len(train_split), len(train_split))
    steps = n // cfg.batch_size  # drop the last partial batch: BatchNorm dislikes tiny batches
    if steps == 0:
        raise SettingsError(f"{n} training images are fewer than one batch of {cfg.batch_size}")
    sched = make_scheduler(cfg, opt, steps)
    # The EMA's BatchNorm statistics are averaged too (use_buffers): the averaged model is complete on its own.
    ema = torch.optim.swa_utils.AveragedModel(
        model, multi_avg_fn=torch.optim.swa_utils.get_ema_multi_avg_fn(cfg.ema), use_buffers=True) if cfg.ema else None
    lines = centre_distances(train_split.images[:n]) if cfg.augment and cfg.redraw > 0 else None
    history, start, first, best = [], time.perf_counter(), 0, None
    state = out_dir / RESUME if out_dir is not None and resume else None
    if state is not None and state.exists():
        first, history, best = load_resume(state, cfg, n, select, model, opt, sched, ema, gen)
        start -= history[-1]["wall_s"] if history else 0.0
        tqdm.write(f"resuming {out_dir} after epoch {first} of {cfg.epochs}")
    for epoch in range(first, cfg.epochs):
        model.train()
        perm = torch.randperm(n, generator=gen)
        sums = {"recon": 0.0, "kl": 0.0, "ce": 0.0, "acc": 0.0}
        bar = tqdm(range(steps), desc=f"epoch {epoch + 1}/{cfg.epochs}", leave=False, mininterval=1.0)
        for i in bar:
            idx = perm[i * cfg.batch_size:(i + 1) * cfg.batch_size]
            x, y = train_split.batch(idx)
            if cfg.augment:
                d = lines[idx.to(lines.device)].to(x.device, torch.float32)[:, None] / 4 if lines is not None else None
                x = augment(x, gen, cfg.dataset, d=d, redraw=cfg.redraw, elastic=cfg.elastic)
            x = x.to(device, memory_format=torch.channels_last, non_blocking=True)
            y = y.to(device, non_blocking=True)
            c = capacity_at(epoch + i / steps, cfg.capacity, cfg.capacity_ramp_epochs)
            beta = beta_at(epoch + i / steps, cfg.beta, cfg.beta_start, cfg.beta_ramp_epochs)
            if cfg.kind == "cnn":
                eps = cfg.adv_eps * min(1.0, (epoch + i / steps) / cfg.adv_ramp_epochs) if cfg.adv_ramp_epochs \
                    else cfg.adv_eps
                terms = train_step_ce(model, opt, cfg, x, y, eps, device)
            else:
                terms = train_step(model, opt, cfg, x, y, c, beta, device)
            sched.step()
            if ema is not None and epoch + i / steps >= cfg.ema_start_epochs:
                ema.update_parameters(model)  # the first update copies the weights
            for k in sums:
                sums[k] += terms[k].detach()  # stays on the device: no sync per step
            if i % 20 == 0:  # syncs with the device only every 20 steps
                if not torch.isfinite(terms["loss"]):
                    raise TrainingDiverged(f"loss is {terms['loss'].item()} at epoch {epoch + 1}, step {i}")
                bar.set_postfix(recon=f"{terms['recon'].item():.1f}", kl=f"{terms['kl'].item():.3f}/{c:.3f}",
                                ce=f"{terms['ce'].item():.3f}", acc=f"{terms['acc'].item():.3f}")
        averaged = ema is not None and ema.n_averaged.item() > 0
        current = ema.module if averaged else model
        test = evaluate(current, test_split, device, bf16=cfg.bf16)
        raw = {"test_accuracy_raw": evaluate(model, test_split, device, bf16=cfg.bf16)["accuracy"]} if averaged else {}
        row = {"epoch": epoch + 1, "c": c, "beta": beta, **{f"train_{k}": sums[k].item() / steps for k in sums},
               **{f"test_{k}": v for k, v in test.items()}, **raw, **(on_epoch(current) if on_epoch else {}),
               "wall_s": round(time.perf_counter() - start, 1)}
        history.append(row)
        if select is not None and row[select] > max((r[select] for r in history[:-1]), default=float("-inf")):
            best = copy.deepcopy(current.state_dict())
        tqdm.write(f"epoch {row['epoch']:3d}  recon {row['train_recon']:7.2f}  kl {row['train_kl']:.3f}/{c:.3f}  "
                   f"ce {row['train_ce']:.4f}  train acc {row['train_acc']:.4f}  test acc {test['accuracy']:.4f}  {row['wall_s']:.0f}s")
        if out_dir is not None:
            out_dir.mkdir(parents=True, exist_ok=True)
            (out_dir / "metrics.json").write_text(json.dumps(history, indent=1))
        if state is not None:
            save_resume(state, cfg, n, select, epoch + 1, history, best, model, opt, sched, ema, gen)
    # With an EMA, the averaged weights are the model: evaluated above, saved by the caller.
    if ema is not None and ema.n_averaged.item() > 0:
        model = ema.module
    if select is not None:
        model.load_state_dict(best)
        chosen = max(history, key=lambda r: r[select])
        chosen["selected"] = True
        if out_dir is not None:
            (out_dir / "metrics.json").write_text(json.dumps(history, indent=1))
    model.eval()
    return model, history


RESUME = "resume.pt"  # the training state after the last finished epoch


def save_resume(path: Path, cfg: Config, n: int, select, epochs_done: int, history, best, model, opt, sched, ema,
                gen) -> None:
    """Everything the next epoch depends on, written atomically (a kill mid-write keeps the previous one)."""
    blob = {"config": json.loads(json.dumps(cfg.to_dict())), "n": n, "select": select, "epoch": epochs_done,
            "history": history, "best": best, "model": model.state_dict(), "opt": opt.state_dict(),
            "sched": sched.state_dict(), "ema": ema.state_dict() if ema is not None else None, "gen": gen.get_state(),
            "rng": torch.get_rng_state(), "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else []}
    tmp = path.with_suffix(".tmp")
    torch.save(blob, tmp)
    tmp.replace(path)


# Config fields added after training states were first saved, with the value that reproduces what a state saved
# before them did. Only these may be absent from a saved state; any other missing field refuses it.
ADDED_SINCE_RESUME = {"redraw": 0.0, "elastic": 0.0}


def same_config(saved, cfg: Config) -> bool:
    """Whether a saved state's config is cfg, reading a field in ADDED_SINCE_RESUME that it lacks as that value."""
    if not isinstance(saved, dict):
        return False
    return {**ADDED_SINCE_RESUME, **saved} == json.loads(json.dumps(cfg.to_dict()))


def load_resume(path: Path, cfg: Config, n: int, select, model, opt, sched, ema,
                gen) -> tuple[int, list[dict], dict | None]:
    """Restore a save_resume state into the freshly built objects: (epochs done, history, best weights)."""
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)  # tensors and plain values only
    except Exception as e:
        raise SettingsError(f"{path} is not a readable training state ({type(e).__name__}: {e}); delete it to "
                            "start this model afresh") from None
    if not same_config(blob.get("config"), cfg) or blob.get("n") != n or blob.get("select") != select:
        raise SettingsError(f"{path} was saved by a run with other settings; delete it (or its folder) to start "
                            "afresh, or rerun with the settings it was saved with")
    model.load_state_dict(blob["model"])
    opt.load_state_dict(blob["opt"])
    sched.load_state_dict(blob["sched"])
    if ema is not None:
        ema.load_state_dict(blob["ema"])
    gen.set_state(blob["gen"])
    torch.set_rng_state(blob["rng"])
    if blob.get("cuda_rng") and torch.cuda.is_available():  # the sampling of z on a GPU draws from its generator
        torch.cuda.set_rng_state_all(blob["cuda_rng"])
    return blob["epoch"], blob["history"], blob["best"]


def drop_resume(out_dir: Path) -> None:
    """Remove a finished run's training state (its checkpoint is saved)."""
    (Path(out_dir) / RESUME).unlink(missing_ok=True)
