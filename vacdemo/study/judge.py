"""An independent plain CNN that reads the β-VAC's reconstructions: does the decoder draw the wrong class?

The paper's Fig. 5 claim ("the decoder reconstructs an image of the class the classifier mistakenly chose")
is judged by eye there. Here a separate classifier, trained only on real images and never attacked, labels
each reconstruction, which turns the claim into a share that can be counted.
"""
import json
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from tqdm import tqdm

from ..data import Split

WEIGHTS, META = "judge.safetensors", "judge.json"
JUDGE_EPOCHS = 3


def judge_cnn() -> nn.Sequential:
    """Two conv blocks and an MLP: 98.6 % on MNIST, 89.2 % on Fashion-MNIST after 3 epochs (the H200 run)."""
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # (B, 32, 14, 14)
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # (B, 64, 7, 7)
        nn.Flatten(), nn.Linear(64 * 7 * 7, 128), nn.ReLU(), nn.Linear(128, 10))


@torch.inference_mode()
def judge_labels(judge: nn.Module, x: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
    """The judge's class for each image in x (N, 1, 28, 28) ∈ [0, 1], (N,)."""
    judge.eval()
    return torch.cat([judge(x[s:s + batch_size]).argmax(1) for s in range(0, len(x), batch_size)])


def train_judge(train: Split, test: Split, device: torch.device, *, epochs: int = JUDGE_EPOCHS, batch_size: int = 128,
                seed: int = 0) -> tuple[nn.Module, float]:
    """Adam on cross-entropy over the real training images; returns the judge and its test accuracy."""
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    judge = judge_cnn().to(device)
    opt = torch.optim.Adam(judge.parameters(), lr=1e-3)
    steps = len(train) // batch_size
    for epoch in range(epochs):
        judge.train()
        perm = torch.randperm(len(train), generator=gen)
        for i in tqdm(range(steps), desc=f"judge epoch {epoch + 1}/{epochs}", leave=False, mininterval=1.0):
            x, y = train.batch(perm[i * batch_size:(i + 1) * batch_size])
            loss = F.cross_entropy(judge(x.to(device)), y.to(device))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    x, y = test.batch(slice(None))
    accuracy = (judge_labels(judge, x.to(device)).cpu() == y).float().mean().item()
    return judge.eval(), accuracy


def save_judge(judge: nn.Module, folder: Path, meta: dict) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    save_file({k: v.detach().cpu().contiguous() for k, v in judge.state_dict().items()}, str(folder / WEIGHTS))
    (folder / META).write_text(json.dumps(meta, indent=1))


def load_judge(folder: Path) -> tuple[nn.Module, dict] | None:
    """The judge saved in folder, or None when there is none yet."""
    if not (folder / WEIGHTS).exists() or not (folder / META).exists():
        return None
    judge = judge_cnn()
    judge.load_state_dict(load_file(str(folder / WEIGHTS)))
    return judge.eval(), json.loads((folder / META).read_text())
