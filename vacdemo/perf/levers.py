"""Ways to run one image's PGD-40 with less per-operator overhead, measured by `python -m vacdemo bench`.

One 28×28 image is far too little arithmetic to keep a core busy: PGD on it is bound by the cost of
launching each operator (Python, the dispatcher, autograd), not by the operators. Each lever removes part of
that cost and computes the same ℓ∞ sign-step PGD (cross-entropy, untargeted, from x itself) as
vacdemo.attacks.pgd.pgd, the oracle the bench and tests/test_levers.py compare them with:

- compiled_step: torch.compile of one whole step, forward and input gradient (torch.func.grad) included;
- compiled_steps: one compiled graph for all the steps;
- onnx_step: the step, gradient included, exported to ONNX and run by ONNX Runtime. The exporter has no
  rule for a convolution's backward, so the traced graph writes a convolution's input gradient as the
  transposed convolution it is.

Each is built for one batch shape (a new shape recompiles or re-exports); the first call compiles.
"""
import tempfile
from pathlib import Path

import torch
import torch.nn.functional as F

from ..models.fold import attack_view
from ..models.vac import BetaVAC, eval_mode


def step_fn(model: BetaVAC):
    """(x_adv, x, y, eps, alpha) → the next x_adv: one sign step on the cross-entropy, projected (fp32)."""
    net = attack_view(model)  # BatchNorm folded: the same function, fewer operators

    def loss(x_adv, y):
        return F.cross_entropy(net.classify(x_adv), y, reduction="sum")
    grad = torch.func.grad(loss)

    def step(x_adv, x, y, eps, alpha):
        x_adv = x_adv + alpha * grad(x_adv, y).sign()
        return torch.minimum(torch.maximum(x_adv, x - eps), x + eps).clamp(0, 1)
    return step


def compiled_step(model: BetaVAC, steps: int = 40):
    step = torch.compile(step_fn(model), dynamic=False)

    def attack(x, y, eps, alpha):
        with torch.no_grad(), eval_mode(model):
            x_adv = x.clone()
            for _ in range(steps):
                x_adv = step(x_adv, x, y, eps, alpha)
        return x_adv
    return attack


def compiled_steps(model: BetaVAC, steps: int = 40):
    step = step_fn(model)

    def all_steps(x, y, eps, alpha):
        x_adv = x
        for _ in range(steps):
            x_adv = step(x_adv, x, y, eps, alpha)
        return x_adv
    fused = torch.compile(all_steps, dynamic=False)

    def attack(x, y, eps, alpha):
        with torch.no_grad(), eval_mode(model):
            return fused(x, y, eps, alpha)
    return attack


def conv_input_grad(grad, x, weight, bias_sizes, stride, padding, dilation, transposed, output_padding, groups,
                    mask):
    """aten.convolution_backward for the input only: the transposed convolution with the same weights."""
    if transposed or mask[1] or mask[2]:
        raise NotImplementedError("only the input gradient of a plain convolution")
    size = [(grad.shape[2 + i] - 1) * stride[i] - 2 * padding[i] + dilation[i] * (weight.shape[2 + i] - 1) + 1
            for i in range(2)]
    extra = [x.shape[2 + i] - size[i] for i in range(2)]  # stride 2 loses a row or column: put it back
    return F.conv_transpose2d(grad, weight, None, stride, padding, extra, groups, dilation), None, None


def export_step(model: BetaVAC, x, y, eps, alpha, path: Path) -> Path:
    """One PGD step with its input gradient, (x_adv, x, y, eps, alpha) → x_adv, exported to ONNX for these shapes
    (the backward written out in plain operators, so any ONNX runtime runs it: ONNX Runtime here, onnxruntime-web
    in a browser, scripts/browser_attack.py)."""
    from torch.fx.experimental.proxy_tensor import make_fx
    step = step_fn(model)
    with eval_mode(model):
        traced = make_fx(step, decomposition_table={torch.ops.aten.convolution_backward.default: conv_input_grad})(
            x.clone(), x, y, eps, alpha)  # plain aten operators, the backward written out

    class Graph(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.traced = traced

        def forward(self, *a):
            return self.traced(*a)
    torch.onnx.export(Graph(), (x.clone(), x, y, eps, alpha), str(path), dynamo=True, verbose=False,
                      input_names=["x_adv", "x", "y", "eps", "alpha"], output_names=["next"],
                      external_data=False)  # one file: a browser runtime cannot fetch a side file of weights
    return path


def onnx_step(model: BetaVAC, x, y, eps, alpha, steps: int = 40, threads: int | None = None):
    """ONNX Runtime on the CPU, the graph exported for these shapes; → attack(x, y, eps, alpha) on tensors."""
    import onnxruntime as ort  # optional: the bench's lever only
    path = export_step(model, x, y, eps, alpha, Path(tempfile.mkdtemp()) / "pgd_step.onnx")
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or torch.get_num_threads()
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")  # idle threads sleep, not spin
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]

    def attack(x, y, eps, alpha):
        fixed = [t.contiguous().numpy() for t in (x, y, eps, alpha)]
        x_adv = fixed[0]
        for _ in range(steps):
            x_adv = session.run(None, dict(zip(names, [x_adv, *fixed])))[0]
        return torch.from_numpy(x_adv)
    return attack
