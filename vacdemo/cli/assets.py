"""`assets` and `card`: the files shipped beside a checkpoint (detector, gallery, latent map) and the model
card's measured tables (pretrained/README.md)."""
from __future__ import annotations

from pathlib import Path

from ..datasets import DATASETS
from ..errors import SettingsError
from ..paper import TABLE_EPS
from ..paths import PRETRAINED
from .common import WATCH_N, check_counts, checkpoint_for, command, detector_for


def cmd_assets(args) -> int:
    """The app's files beside a checkpoint: the ℓ∞ detector (fitted if missing), a gallery of test images and
    the latent map (atlas)."""
    from ..data import load_split
    from ..lab.atlas import build_atlas, save_atlas
    from ..lab.gallery import build_gallery, save_gallery
    if args.n < 100:
        raise SettingsError(f"--n must be ≥ 100 (the map needs every class), got {args.n}")
    check_counts(per_class=args.per_class, n_fit=args.n_fit)
    ckpt, model = checkpoint_for(args.dataset, args.checkpoint)
    model.requires_grad_(False)
    detector_for(model, ckpt, args, TABLE_EPS[args.dataset])
    test = load_split(args.dataset, False, args.data_dir, args.download)
    print(f"wrote {save_gallery(build_gallery(test, args.per_class), ckpt)}")
    print(f"wrote {save_atlas(build_atlas(model, test, args.n), ckpt)}")
    return 0


def register_assets(sub) -> None:
    p = command(sub, "assets", "the app's detector, gallery and latent map beside a checkpoint", cmd_assets,
                "dataset", "data", "checkpoint", "detector")
    p.add_argument("--per-class", type=int, default=8, help="gallery images per class (default 8)")
    p.add_argument("--n", type=int, default=2000, help="test images in the latent map (default 2000)")


def cmd_card(args) -> int:
    """Measure the shipped checkpoints and rewrite the tables of the model card (pretrained/README.md)."""
    folder = Path(args.pretrained)
    if not 0 < args.n <= 10_000 - WATCH_N:  # the card's first images stay apart from the epoch-choosing last ones
        raise SettingsError(f"--n must lie in 1 … {10_000 - WATCH_N}, got {args.n}")
    from ..data import load_split
    from ..models.checkpoint import load_checkpoint
    from ..models.detector import Detector
    from ..serving.lab import RIVALS
    from ..study.card import card_section, fill
    sections: dict[str, str] = {}  # data set → its sections; the data sets not measured keep theirs
    card = folder / "README.md"
    for name in args.datasets:
        model = load_checkpoint(folder / name).requires_grad_(False)
        if args.realset_only:  # the real-picture table alone, in seconds
            from ..study.card import sections_of, with_realset
            kept = sections_of(card.read_text() if card.exists() else "").get(name)
            if kept is None:
                raise SettingsError(f"{card} has no {name} section yet: run the card without --realset-only first")
            sections[name] = with_realset(kept, model, name)
            continue
        detector = Detector.load(folder / name / "detector_inf.json")
        test = load_split(name, False, args.data_dir, args.download)
        print(f"measuring {folder / name} …")
        sections[name] = card_section(model, detector, test, min(args.n, len(test)))
        rivals = {label: folder / f"{name}-{kind}" for kind, label in RIVALS.items()}
        if all((f / "config.json").exists() for f in rivals.values()):  # the comparison, where it is shipped
            from ..study.rivals import comparison_section
            models = {"β-VAC": model, **{k: load_checkpoint(f).requires_grad_(False) for k, f in rivals.items()}}
            print(f"measuring the comparison for {name} …")
            sections[name] += "\n" + comparison_section(models, name, test, min(args.n, len(test)), folder / name)
    card.write_text(fill(card.read_text() if card.exists() else "# Pretrained checkpoints\n", sections))
    print(f"wrote the tables of {card}:\n\n" + "\n".join(sections.values()))
    return 0


def register_card(sub) -> None:
    p = command(sub, "card", "measure the shipped checkpoints and rewrite the model card's tables", cmd_card, "data")
    p.add_argument("--dataset", dest="datasets", nargs="+", choices=sorted(DATASETS), default=["mnist", "fmnist"])
    p.add_argument("--n", type=int, default=500, help="test images attacked per ε (default 500)")
    p.add_argument("--pretrained", default=str(PRETRAINED), help="folder of the checkpoints and the card")
    p.add_argument("--realset-only", action="store_true",
                   help="measure only the real-picture tables again (after the realset changed), keep the rest")


def cmd_rates(args) -> int:
    """The detector's measured error rates beside a shipped checkpoint (the page's "Is this picture attacked?")."""
    import json

    from ..data import load_split
    from ..models.detector import Detector
    from ..study.rates import RATES, detector_rates
    from ..models.checkpoint import code_version
    check_counts(n=args.n)
    ckpt, model = checkpoint_for(args.dataset, args.checkpoint)
    model.requires_grad_(False)
    detector = Detector.load(ckpt / "detector_inf.json")
    test = load_split(args.dataset, False, args.data_dir, args.download)
    rates = detector_rates(model, detector, test, TABLE_EPS[args.dataset][1:], n=min(args.n, len(test)))
    rates.update(command=args.command_line, code_version=code_version())
    (ckpt / RATES).write_text(json.dumps(rates, indent=1))
    print(json.dumps(rates, indent=1))
    print(f"wrote {ckpt / RATES}")
    return 0


def register(sub) -> None:
    register_assets(sub)
    register_card(sub)
    p = command(sub, "rates", "the detector's false alarms and misses on the shipped model (the page states them)",
                cmd_rates, "dataset", "data", "checkpoint")
    p.add_argument("--n", type=int, default=500, help="test images attacked per ε (default 500)")
