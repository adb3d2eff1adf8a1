"""Where the math runs: device choice and bf16 autocast where the hardware does bf16 natively."""
import contextlib
import os
import platform

import torch

from .errors import SettingsError


def pick_device(name: str = "auto") -> torch.device:
    """'auto' → CUDA when present, else CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise SettingsError("--device cuda, but torch sees no CUDA device; use --device cpu or auto")
    if name not in ("cpu", "cuda"):
        raise SettingsError(f"device must be auto, cpu or cuda, not {name!r}")
    return torch.device(name)


def bf16_native(device: torch.device) -> bool:
    """True on GPUs with bf16 and on CPUs with AVX512-BF16 or AMX. Elsewhere (AVX2 only, say) bf16
    convolutions fall back to a slow reference kernel: measured 10× slower than fp32 on an AMD EPYC
    Milan, so autocast there would only hurt."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    return device.type == "cpu" and torch.backends.mkldnn.is_available() and \
        torch.ops.mkldnn._is_mkldnn_bf16_supported()


def autocast(device: torch.device, bf16: bool):
    """bf16 autocast when asked for and native on this device, else a no-op context."""
    if bf16 and bf16_native(device):
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def serving_threads() -> int:
    """Torch threads for the app: $VACDEMO_THREADS, else half the cores (at least 1). Sessions share the cores,
    and on a laptop so does the browser: two threads that must meet at every op stall when a core is taken
    (measured on 2 cores with one kept busy: the ε-grid took 2.4 s with 2 threads, 0.85 s with 1)."""
    return int(os.environ.get("VACDEMO_THREADS") or max(1, (os.cpu_count() or 2) // 2))


def serving_workers() -> int:
    """Attack batches the app runs at once: $VACDEMO_WORKERS, else one per serving_threads() share of the cores.
    Measured on 2 cores, 30 students in a burst: 2 torch threads on one batch used 1.2 cores and did not shorten the
    whole grid (small convolutions scale poorly across threads); two batches side by side, one thread each, do."""
    return int(os.environ.get("VACDEMO_WORKERS") or max(1, (os.cpu_count() or 2) // serving_threads()))


def describe_device(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    name = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):  # Linux: the CPU's model name
        name = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")),
                    name)
    return f"CPU ({name}, {os.cpu_count()} cores)"
