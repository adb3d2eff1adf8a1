"""Which path pgd(fast=True) takes for a batch: the plain model in fp32, the BatchNorm-folded model in fp32, or the
folded model under bf16 autocast. The fastest one depends on the CPU and on the batch (measured on an AMD EPYC
Genoa, 2 cores: for one image folded fp32 beat bf16 by 1.8×, for a 21-row grid bf16 beat fp32 by 1.8×), so the
server measures them once (vacdemo.serving.fastpath) and sets a policy here; without one, the default below (a
CPU flag's guess) holds, and training and the study never set one.
"""
import threading
import weakref

import torch

from ..device import bf16_native

PATHS = ("plain", "folded", "folded-bf16")
# model → {device type: [(rows up to, path)], ascending}: per model, since its agreement was measured on its own
# weights (a rival of the same shape gets the default)
_policy: "weakref.WeakKeyDictionary[torch.nn.Module, dict[str, list[tuple[int, str]]]]" = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def set_policy(device_type: str, model: torch.nn.Module, table: list[tuple[int, str]]) -> None:
    """From now on, a batch of up to rows[i] rows (the last entry: any larger batch too) of this model on this
    device takes path[i]."""
    bad = [p for _, p in table if p not in PATHS]
    if bad or not table:
        raise ValueError(f"a policy is a non-empty list of (rows, path) with path in {PATHS}, got {table}")
    with _lock:
        _policy.setdefault(model, {})[device_type] = sorted(table)


def has_policy(device_type: str, model: torch.nn.Module) -> bool:
    with _lock:
        return device_type in _policy.get(model, {})


def clear_policy(model: torch.nn.Module | None = None) -> None:
    """Forget the measured policy of one model (None: of every model): the default path again."""
    with _lock:
        if model is None:
            _policy.clear()
        else:
            _policy.pop(model, None)


def default_path(device: torch.device) -> str:
    """The guess without a measurement (what pgd(fast=True) always did): bf16 where the hardware claims it natively
    (GPUs, AVX512-BF16/AMX CPUs), the folded fp32 model elsewhere."""
    return "folded-bf16" if bf16_native(device) else "folded"


def path_for(device: torch.device, model: torch.nn.Module, rows: int) -> str:
    """The path a batch of `rows` rows takes: the measured policy's for the smallest bucket that holds it."""
    with _lock:
        table = _policy.get(model, {}).get(device.type)
    if not table:
        return default_path(device)
    return next((p for up_to, p in table if rows <= up_to), table[-1][1])
