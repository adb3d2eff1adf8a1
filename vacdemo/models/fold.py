"""BatchNorm folded into the convolution before it: the attack's view of a model, the same function in fewer ops.

In eval mode a BatchNorm is a fixed per-channel affine map, so conv → BN equals one conv with rescaled weights
and a bias (up to float rounding). PGD runs forward and backward through the network 40 times per attack;
folding removes a third of its ops (measured 17–20 % faster PGD on the CPU). The view is a copy, built once
per model and rebuilt when the model's weights or statistics change; the model itself is never touched.
"""
import copy
import threading
import weakref

from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from .vac import BetaVAC

_views: "weakref.WeakKeyDictionary[BetaVAC, tuple[tuple, BetaVAC]]" = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def fold_batchnorm(model: BetaVAC) -> BetaVAC:
    """A frozen eval-mode copy of model with each conv → BatchNorm pair replaced by one conv."""
    folded = copy.deepcopy(model).eval().requires_grad_(False)
    for block in (*folded.encoder, *getattr(folded, "decoder", ())):  # the plain CNN has no decoder
        if isinstance(block, nn.Sequential) and len(block) == 3 and isinstance(block[1], nn.BatchNorm2d):
            block[0] = fuse_conv_bn_eval(block[0], block[1], transpose=isinstance(block[0], nn.ConvTranspose2d))
            block[1] = nn.Identity()
    return folded


def state_key(model: BetaVAC) -> tuple:
    """Changes whenever a parameter or buffer is written in place (an optimiser step, BatchNorm statistics)."""
    return tuple((id(t), t._version) for t in (*model.parameters(), *model.buffers()))


def attack_view(model: BetaVAC) -> BetaVAC:
    """The folded copy of model, cached while its weights and statistics stay as they are."""
    key = state_key(model)
    with _lock:
        cached = _views.get(model)
        if cached is None or cached[0] != key:
            cached = (key, fold_batchnorm(model))
            _views[model] = cached
        return cached[1]
