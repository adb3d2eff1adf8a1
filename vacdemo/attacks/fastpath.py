"""Which path pgd(fast=True) takes for a batch: the plain model in fp32, the BatchNorm-folded model in fp32, or the
folded model under bf16 autocast. The fastest one depends on the CPU and on the batch (measured on an AMD EPYC
Genoa, 2 cores: for one image folded fp32 beat bf16 by 1.8×, for a 21-row grid bf16 beat fp32 by 1.8×), so the
server measures them once (vacdemo.serving.fastpath) and sets a policy here; without one, the default below (a
CPU flag's guess) holds, and training and the study never set one.
"""
import threading

import torch

from ..device import bf16_native

PATHS = ("plain", "folded", "folded-bf16")
_policy: dict[tuple, list[tuple[int, str]]] = {}  # (device type, model shape) → [(rows up to, path)], ascending
_lock = threading.Lock()


def set_policy(device_type: str, shape, table: list[tuple[int, str]]) -> None:
    """From now on, a batch of up to rows[i] rows (the last entry: any larger batch too) on this device and model
    shape takes path[i]."""
    bad = [p for _, p in table if p not in PATHS]
    if bad or not table:
        raise ValueError(f"a policy is a non-empty list of (rows, path) with path in {PATHS}, got {table}")
    with _lock:
        _policy[(device_type, shape)] = sorted(table)


def has_policy(device_type: str, shape) -> bool:
    with _lock:
        return (device_type, shape) in _policy


def clear_policy() -> None:
    with _lock:
        _policy.clear()


def default_path(device: torch.device) -> str:
    """The guess without a measurement (what pgd(fast=True) always did): bf16 where the hardware claims it natively
    (GPUs, AVX512-BF16/AMX CPUs), the folded fp32 model elsewhere."""
    return "folded-bf16" if bf16_native(device) else "folded"


def path_for(device: torch.device, shape, rows: int) -> str:
    """The path a batch of `rows` rows takes: the measured policy's for the smallest bucket that holds it."""
    with _lock:
        table = _policy.get((device.type, shape))
    if not table:
        return default_path(device)
    return next((p for up_to, p in table if rows <= up_to), table[-1][1])
