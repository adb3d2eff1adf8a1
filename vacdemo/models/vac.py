"""The β-Variational Classifier (§3, §5): All-CNN encoder → z ∈ R^100 → mirrored decoder and MLP classifier;
and, to compare it with, the plain CNN: the same encoder and classifier, nothing else."""
import contextlib
from typing import NamedTuple

import torch
from torch import nn

from ..config import Config, ModelShape


def conv(c_in: int, c_out: int, k: int = 3, stride: int = 1, bn: bool = True) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, k, stride, padding=k // 2, bias=not bn),
                         *([nn.BatchNorm2d(c_out)] if bn else []), nn.ReLU(inplace=True))


def upconv(c_in: int, c_out: int, bn: bool = True) -> nn.Sequential:
    """Mirror of a stride-2 conv: doubles height and width."""
    return nn.Sequential(nn.ConvTranspose2d(c_in, c_out, 4, 2, padding=1, bias=not bn),
                         *([nn.BatchNorm2d(c_out)] if bn else []), nn.ReLU(inplace=True))


def all_cnn(w1: int, w2: int, bn: bool) -> nn.Sequential:
    """The All-CNN encoder adapted to 28×28×1 (padding keeps sizes: 28 → 14 → 7), flattened: (B, w2·7·7)."""
    return nn.Sequential(
        conv(1, w1, bn=bn), conv(w1, w1, bn=bn), conv(w1, w1, stride=2, bn=bn),
        conv(w1, w2, bn=bn), conv(w2, w2, bn=bn), conv(w2, w2, stride=2, bn=bn),
        conv(w2, w2, bn=bn), conv(w2, w2, k=1, bn=bn), nn.Flatten())


def classifier(d: int, hidden: int) -> nn.Sequential:
    """The 2-layer MLP on the code: d → hidden → hidden → 10."""
    return nn.Sequential(nn.Linear(d, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, 10))


class Readout(NamedTuple):
    """What the model says about x, all from z = mu(x): the code, the class logits and the reconstruction."""
    mu: torch.Tensor  # (B, latent_dim)
    logits: torch.Tensor  # (B, 10)
    recon: torch.Tensor  # (B, 1, 28, 28) the decoder's mean image, in [0, 1]
    recon_logits: torch.Tensor  # (B, 1, 28, 28) its Bernoulli logits, for the likelihood −log p(x|z)

    @property
    def probs(self) -> torch.Tensor:
        return self.logits.softmax(-1)


class BetaVAC(nn.Module):
    has_decoder = True  # a reconstruction, hence a reconstruction-error detector

    def __init__(self, shape: ModelShape):
        super().__init__()
        w1, w2, bn, d = shape.width1, shape.width2, shape.batchnorm, shape.latent_dim
        self.shape = shape
        self.cfg: Config | None = None  # how it was trained, where known: set by build_model (saved in checkpoints)
        self.encoder = all_cnn(w1, w2, bn)
        feat = w2 * 7 * 7
        self.to_mu = nn.Linear(feat, d)
        self.to_logvar = nn.Linear(feat, d)
        self.from_z = nn.Linear(d, feat)
        self.decoder = nn.Sequential(
            conv(w2, w2, k=1, bn=bn), conv(w2, w2, bn=bn), upconv(w2, w2, bn=bn),
            conv(w2, w2, bn=bn), conv(w2, w1, bn=bn), upconv(w1, w1, bn=bn),
            conv(w1, w1, bn=bn), nn.Conv2d(w1, 1, 3, padding=1))  # Bernoulli logits
        self.classifier = classifier(d, shape.hidden)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x (B, 1, 28, 28) in [0, 1] → mu, logvar, each (B, latent_dim)."""
        h = self.encoder(x)  # (B, w2·7·7)
        return self.to_mu(h), self.to_logvar(h)

    @staticmethod
    def reparameterize(mu: torch.Tensor, logvar: torch.Tensor, samples: int = 1) -> torch.Tensor:
        """z = mu + σ·ξ, ξ ~ N(0, I): (samples, B, latent_dim)."""
        xi = torch.randn((samples, *mu.shape), dtype=mu.dtype, device=mu.device)
        return mu + xi * (0.5 * logvar).exp()

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """z (..., latent_dim) → Bernoulli logits (..., 1, 28, 28)."""
        lead = z.shape[:-1]
        h = self.from_z(z.reshape(-1, z.shape[-1])).view(-1, self.shape.width2, 7, 7)
        return self.decoder(h).view(*lead, 1, 28, 28)

    # At test and attack time the classifier and decoder read z = mu(x), not a sample: a sampled z would
    # make the output random, so an attack would follow a noisy gradient (and our robustness figures
    # would flatter the model through gradient obfuscation) and a prediction would change between calls.
    def forward(self, x: torch.Tensor) -> Readout:
        """The readout of x (B, 1, 28, 28) in [0, 1]: one encoder pass, then the classifier and the decoder,
        both from z = mu(x). In training mode it still reads mu (training samples z itself, train.train_step),
        but BatchNorm then normalises with the batch's statistics and updates its running ones: call it in
        eval mode (eval_mode) to read a trained model."""
        mu, _ = self.encode(x)
        recon_logits = self.decode(mu)
        return Readout(mu, self.classifier(mu), torch.sigmoid(recon_logits), recon_logits)

    def classify(self, x: torch.Tensor) -> torch.Tensor:
        """Class logits (B, 10) from z = mu(x)."""
        return self.classifier(self.encode(x)[0])

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """The decoder's mean image from z = mu(x), in [0, 1], shape (B, 1, 28, 28)."""
        return torch.sigmoid(self.decode(self.encode(x)[0]))


class PlainCNN(nn.Module):
    """The control: the β-VAC's encoder, its linear map to the code and its classifier, with no sampling, no
    decoder and no capacity term, trained on cross-entropy (train.train_step_ce). It has no reconstruction, so
    no reconstruction-error detector: what it has instead is its accuracy (and, adversarially trained, its
    robustness)."""
    has_decoder = False

    def __init__(self, shape: ModelShape):
        super().__init__()
        self.shape = shape
        self.cfg: Config | None = None  # as for BetaVAC
        self.encoder = all_cnn(shape.width1, shape.width2, shape.batchnorm)
        self.to_mu = nn.Linear(shape.width2 * 7 * 7, shape.latent_dim)
        self.classifier = classifier(shape.latent_dim, shape.hidden)

    def classify(self, x: torch.Tensor) -> torch.Tensor:
        """Class logits (B, 10)."""
        return self.classifier(self.to_mu(self.encoder(x)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classify(x)



def build_model(cfg: Config) -> nn.Module:
    """The network a config describes (the β-VAC, or the plain CNN: cfg.kind), built from its shape and carrying
    the config it is trained with (model.cfg), which a checkpoint saves."""
    model = PlainCNN(cfg.shape) if cfg.kind == "cnn" else BetaVAC(cfg.shape)
    model.cfg = cfg
    return model


def reconstruction_error(model: BetaVAC, x: torch.Tensor, recon: torch.Tensor | None = None) -> torch.Tensor:
    """ℓ2 distance ‖x − reconstruct(x)‖₂ per image, (B,); recon: the reconstruction when already at hand."""
    return (x - (model.reconstruct(x) if recon is None else recon)).flatten(1).norm(dim=1)


@contextlib.contextmanager
def eval_mode(model: nn.Module):
    """Eval mode inside, the caller's mode restored after. BatchNorm then uses its running statistics,
    so each sample's result does not depend on the rest of the batch."""
    was_training = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was_training)


class Classify(nn.Module):
    """model.classify as a forward(): the interface peer attack libraries (torchattacks) expect. Built in eval
    mode: torchattacks restores the wrapper's mode after each attack, and a new Module is in training mode
    (BatchNorm would then use batch statistics and update its running ones)."""

    def __init__(self, model: BetaVAC):
        super().__init__()
        self.model = model
        self.eval()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model.classify(x)
