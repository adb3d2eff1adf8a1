import os
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent
torch.set_num_threads(min(2, os.cpu_count() or 1))


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """Real MNIST/Fashion-MNIST: $VACDEMO_DATA, else ../shared/data beside the checkout. Never skipped."""
    path = Path(os.environ.get("VACDEMO_DATA") or ROOT.parent / "shared" / "data")
    assert (path / "MNIST" / "raw").is_dir(), f"tests need MNIST under {path} (set VACDEMO_DATA)"
    return path
