"""Clean test accuracy and reconstruction error of a trained β-VAC (accuracy alone for the plain CNN)."""
import torch
import torch.nn.functional as F

from ..data import Split
from ..device import autocast
from ..models.vac import BetaVAC, eval_mode, reconstruction_error


@torch.inference_mode()
def evaluate(model: BetaVAC, split: Split, device: torch.device, *, bf16: bool = False,
             batch_size: int = 500, per_class: bool = False) -> dict:
    """accuracy, mean ℓ2 reconstruction error ‖x − x̂‖₂ and mean Bernoulli NLL (nats/image), z = mu(x); per_class:
    also "per_class", each class's accuracy (a list, by label)."""
    l2, nll = 0.0, 0.0
    preds, labels = [], []
    for start in range(0, len(split), batch_size):
        x, y = split.batch(slice(start, start + batch_size))
        x, y = x.to(device, memory_format=torch.channels_last), y.to(device)
        with autocast(device, bf16), eval_mode(model):
            read = model(x) if model.has_decoder else None
            logits = read.logits if read is not None else model.classify(x)
        preds.append(logits.argmax(1).cpu())
        labels.append(y.cpu())
        if read is None:  # the plain CNN: nothing to reconstruct
            continue
        l2 += reconstruction_error(model, x, torch.sigmoid(read.recon_logits.float())).sum().item()
        nll += F.binary_cross_entropy_with_logits(read.recon_logits.float(), x, reduction="sum").item()
    n, p, t = len(split), torch.cat(preds), torch.cat(labels)
    m = {"accuracy": (p == t).sum().item() / n}
    if model.has_decoder:
        m.update(recon_error_l2=l2 / n, recon_nll=nll / n)
    if per_class:
        m["per_class"] = [(p[t == c] == c).float().mean().nan_to_num().item() for c in range(logits.shape[1])]
    return m
