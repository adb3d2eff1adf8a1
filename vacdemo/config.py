"""Training and model configuration: one dataclass (the model's shape in its own), presets, saved in every checkpoint."""
from dataclasses import asdict, dataclass, fields, replace

from .datasets import check_dataset
from .errors import SettingsError
from .paper import BEST_CAPACITY

# The unit of C and of the logged KL. The paper's capacities (0.01 ... 10) only make sense as nats per latent
# dimension: C = 0.01 is then 1 nat for the whole 100-d code, too little to tell ten classes apart (the
# paper's "low accuracy"). A constant, not a setting: the loss is written in this unit.
KL_UNIT = "nats per latent dimension (KL summed over the code, divided by latent_dim)"


@dataclass(frozen=True)
class ModelShape:
    """The network (§5: All-CNN encoder, mirrored decoder, 2-layer MLP classifier): all a checkpoint needs
    to rebuild the model."""
    width1: int = 96  # channels of the first three All-CNN convs
    width2: int = 192  # channels of the last five All-CNN convs
    latent_dim: int = 100  # z ∈ R^100
    hidden: int = 64  # classifier MLP width (100 → 64 → 64 → 10)
    batchnorm: bool = True  # without it no β = 1000 run trained (docs/models.md, "What we tried")


SHAPE_FIELDS = tuple(f.name for f in fields(ModelShape))


KINDS = ("vac", "cnn")  # the β-VAC (eq. 5), or its encoder and classifier alone trained on cross-entropy


@dataclass(frozen=True)
class Config:
    dataset: str = "mnist"  # "mnist" or "fmnist"
    kind: str = "vac"  # "vac": the β-VAC; "cnn": the plain CNN (no sampling, no decoder, no capacity term)
    shape: ModelShape = ModelShape()
    # --- objective (eq. 5) ---
    beta: float = 1000.0
    beta_start: float = 0.0  # > 0: β rises geometrically from beta_start to beta over beta_ramp_epochs (a continuation)
    beta_ramp_epochs: float = 0.0
    capacity: float = 1.0  # C, in KL_UNIT
    capacity_ramp_epochs: float = 5.0  # c rises linearly 0 → C over this many epochs, then stays at C
    kl_reduction: str = "sample"  # "sample": mean_i β·|KL_i − c| (Algorithm 1); "batch": β·|mean_i KL_i − c|
    capacity_smoothing: float = 0.2  # δ: Huber-smooth |KL − c| within ±δ (KL_UNIT); 0 = eq. 5's |·| exactly
    recon_reduction: str = "sum"  # −log p(x|z) "sum" over the 784 pixels (nats per image) or "mean" (÷ 784)
    samples: int = 1  # M, reparameterised samples per input for −log p(x|z) (each costs a decoder pass)
    class_samples: int = 8  # samples for −log p(y|z): cheap (a tiny MLP), unbiased for eq. 5, less noisy
    l1: float = 0.0  # λ of the ℓ1 penalty on the classifier weights (Tables 1–4)
    # --- optimisation (§5, except the optimiser: SGD diverges or stalls at β = 1000, see docs/models.md) ---
    optimizer: str = "adam"  # "adam" or "sgd"
    lr: float = 1e-3
    momentum: float = 0.9  # SGD only
    weight_decay: float = 1e-6
    schedule: str = "step"  # "step": lr ÷ 10 at each milestone epoch; "cosine": lr → 0 along a half cosine, per step
    milestones: tuple[int, ...] = (10, 30)  # lr ÷ 10 at these epochs ("step" only)
    epochs: int = 60
    batch_size: int = 128
    grad_clip: float = 0.0  # max gradient norm; 0 = off
    augment: bool = False  # per-image shifts, rotations, scale, shear, thickness, blur, contrast (augment.py)
    redraw: float = 0.0  # with augment, digits: the share drawn again along their centre line with a new pen width
    elastic: float = 0.0  # with augment, digits: elastic distortion of α px (Simard et al. 2003); 0 = off
    ema: float = 0.0  # decay of an exponential moving average of the weights, evaluated and saved; 0 = off
    ema_start_epochs: float = 0.0  # the average starts here: after β's ramp, it averages one objective only
    bf16: bool = True  # bf16 autocast where native (GPUs, AVX512-BF16/AMX CPUs); fp32 elsewhere
    seed: int = 0
    # --- adversarial training (cnn only; Madry et al. 2018, cheap as in Wong, Rice & Kolter 2020) ---
    adv_eps: float = 0.0  # ℓ∞ ε of the training attack; 0 = standard training
    adv_steps: int = 1  # 1: FGSM from a random start in the ε-ball ("fast is better than free"); > 1: PGD
    adv_alpha: float = 0.0  # step size; 0 = 1.25·ε for FGSM (Wong et al.'s choice), 2.5·ε/steps for PGD
    adv_ramp_epochs: float = 0.0  # ε rises linearly 0 → adv_eps over this many epochs (a warm-up)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "Config":
        """A Config from JSON, each field checked against the type of its default. Also reads the layout of
        checkpoints before 0.2 (the shape's fields at the top level, and a prose field kl_unit)."""
        if not isinstance(d, dict):
            raise SettingsError(f"config must be a JSON object, not {type(d).__name__}")
        d = {k: v for k, v in d.items() if k != "kl_unit"}
        legacy = {k: d.pop(k) for k in SHAPE_FIELDS if k in d}
        shape = {**legacy, **d.pop("shape", {})} if isinstance(d.get("shape", {}), dict) else d.pop("shape")
        if not isinstance(shape, dict):
            raise SettingsError(f"config field 'shape' must be a JSON object, not {type(shape).__name__}")
        cfg = cls(**checked(cls, d), shape=ModelShape(**checked(ModelShape, shape)))
        check_dataset(cfg.dataset)
        return cfg


def checked(cls, d: dict) -> dict:
    """d's fields, each checked against the type of cls's default (ints pass as floats; lists become tuples)."""
    defaults = {f.name: getattr(cls(), f.name) for f in fields(cls) if f.name != "shape"}
    unknown = sorted(set(d) - set(defaults))
    if unknown:
        raise SettingsError(f"unknown config field(s) {unknown}; known: {sorted(defaults)}")
    d = {k: tuple(v) if isinstance(v, list) else v for k, v in d.items()}
    for k, v in d.items():
        want = type(defaults[k])
        ok = isinstance(v, want) and not (want is not bool and isinstance(v, bool))
        if want is float and isinstance(v, int) and not isinstance(v, bool):
            ok, d[k] = True, float(v)
        if not ok:
            raise SettingsError(f"field {k!r} must be {want.__name__}, got {v!r}")
    return d


def flat(cfg: Config) -> dict:
    """Every setting by name, the shape's fields among them: what `--set FIELD=VALUE` names."""
    d = {f.name: getattr(cfg, f.name) for f in fields(cfg) if f.name != "shape"}
    return {**d, **{k: getattr(cfg.shape, k) for k in SHAPE_FIELDS}}


def with_overrides(cfg: Config, **overrides) -> Config:
    """cfg with fields replaced, each checked; the shape's fields (width1, …) may be named directly."""
    shape = {k: overrides.pop(k) for k in SHAPE_FIELDS if k in overrides}
    if "shape" in overrides:
        raise SettingsError("override the shape's fields by name (width1=…), not 'shape' as a whole")
    out = replace(cfg, shape=replace(cfg.shape, **checked(ModelShape, shape)), **checked(Config, overrides))
    check_ranges(out)
    return out


def check_ranges(cfg: Config) -> None:
    """Values a run cannot use, refused by name."""
    check_dataset(cfg.dataset)
    positive = {"epochs": cfg.epochs, "batch_size": cfg.batch_size, "samples": cfg.samples,
                "class_samples": cfg.class_samples, "lr": cfg.lr, "beta": cfg.beta,
                **{k: getattr(cfg.shape, k) for k in ("width1", "width2", "latent_dim", "hidden")}}
    bad = [f"{k} = {v}" for k, v in positive.items() if not v > 0]
    bad += [f"{k} = {v}" for k, v in {"capacity": cfg.capacity, "l1": cfg.l1, "beta_start": cfg.beta_start,
                                      "weight_decay": cfg.weight_decay, "grad_clip": cfg.grad_clip}.items() if v < 0]
    bad += [f"{k} = {v}" for k, v in {"adv_eps": cfg.adv_eps, "adv_alpha": cfg.adv_alpha,
                                      "adv_ramp_epochs": cfg.adv_ramp_epochs}.items() if v < 0]
    if cfg.adv_steps < 1:
        bad.append(f"adv_steps = {cfg.adv_steps}")
    if cfg.kind not in KINDS:
        bad.append(f"kind = {cfg.kind!r} (one of {KINDS})")
    elif cfg.kind == "vac" and cfg.adv_eps:
        bad.append(f"adv_eps = {cfg.adv_eps} (adversarial training is for the plain CNN, kind = 'cnn')")
    if not 0 <= cfg.ema < 1:
        bad.append(f"ema = {cfg.ema} (a decay in [0, 1))")
    if not 0 <= cfg.redraw <= 1 or cfg.elastic < 0:
        bad.append(f"redraw = {cfg.redraw} (a share in [0, 1]), elastic = {cfg.elastic} (α ≥ 0 px)")
    if (cfg.redraw or cfg.elastic) and (cfg.dataset != "mnist" or not cfg.augment):
        bad.append("redraw and elastic are digit augmentations: dataset = 'mnist' and augment = True")
    if bad:
        raise SettingsError("settings out of range: " + ", ".join(bad))


PRESETS = {
    # §5 as written, with Adam in place of SGD (measured: docs/models.md, "What we tried").
    "paper": Config(),
    # Narrow and short, for 2 CPU cores: under 10 minutes for MNIST. Batch 64: more steps for the same
    # time (measured: as many images/s as 128 on 2 cores, +0.7 points of accuracy after 2 epochs).
    "fast": Config(shape=ModelShape(width1=16, width2=32), epochs=6, milestones=(5,), batch_size=64, capacity_ramp_epochs=0.25),
    # The shipped checkpoints: the fast width (the app's ε-grid stays fast), trained about an hour on 2 cores
    # for real pictures: augmentation, an EMA of the weights, β rising 10 → 1000 over the first 8 epochs,
    # then 32 epochs at eq. 5's β = 1000 (docs/models.md, "What we tried").
    "ship": Config(shape=ModelShape(width1=16, width2=32), epochs=40, milestones=(28, 36), batch_size=64, capacity_ramp_epochs=0.25,
                   beta_start=10.0, beta_ramp_epochs=8.0, augment=True, ema=0.999, ema_start_epochs=8.0),
}

# Per-data-set changes to a preset, applied before the caller's overrides. Fashion-MNIST ships wider (24/48:
# +1 point, docs/models.md) and at C = 1, the capacity our reproduction measured best for it (the paper's is 10).
PRESET_DATASET = {"ship": {"fmnist": {"width1": 24, "width2": 48, "capacity": 1.0, "epochs": 30,
                                      "milestones": (21, 27)}}}


def preset(name: str, **overrides) -> Config:
    """A preset with overrides (None = keep; the shape's fields by name); capacity defaults to the paper's
    best for the data set (§6.3)."""
    if name not in PRESETS:
        raise SettingsError(f"unknown preset {name!r}; choose one of {sorted(PRESETS)}")
    overrides = {k: v for k, v in overrides.items() if v is not None}
    if "kl_unit" in overrides:
        raise SettingsError(f"kl_unit is not a setting: the loss measures KL in {KL_UNIT}")
    dataset = overrides.get("dataset")
    base = PRESET_DATASET.get(name, {}).get(dataset, {})
    if "capacity" not in overrides and "capacity" not in base and dataset in BEST_CAPACITY:
        overrides["capacity"] = BEST_CAPACITY[dataset]
    return with_overrides(PRESETS[name], **{**base, **overrides})
