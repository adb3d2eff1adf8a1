"""Plotly figures for the attack page, drawn once per input (the ε slider's charts are in svg.py).
They only draw: every number comes from vacdemo's Sweep and Atlas."""
import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

# Ten classes, ten distinct colours (Tableau 10); the adversarial path is drawn in black over them.
PALETTE = ["#4E79A7", "#F28E2B", "#E15759", "#76B7B2", "#59A14F", "#EDC948", "#B07AA1", "#FF9DA7",
           "#9C755F", "#BAB0AC"]
CLEAN, ADV = "#4C78A8", "#E45756"


LAYOUT = dict(margin=dict(l=10, r=10, t=30, b=10), legend=dict(orientation="h", y=-0.2), dragmode=False)


def layout(fig: go.Figure, height: int, **kw) -> go.Figure:
    fig.update_layout(height=height, **LAYOUT, **kw)
    return fig


def curves(eps: np.ndarray, p_true: np.ndarray, p_wrong: np.ndarray, re: np.ndarray, score: np.ndarray,
           eps_flip: float | None, true_name: str, tau: float) -> go.Figure:
    """Over ε: the true class's and the top wrong class's probability, the reconstruction error, the score."""
    fig = make_subplots(rows=1, cols=3, subplot_titles=("classifier", "reconstruction error", "detector"))
    fig.add_trace(go.Scatter(x=eps, y=p_true, name=f"P({true_name})", line_color=CLEAN), 1, 1)
    fig.add_trace(go.Scatter(x=eps, y=p_wrong, name="P(top wrong class)", line_color=ADV), 1, 1)
    fig.add_trace(go.Scatter(x=eps, y=re, name="‖x_adv − x̂_adv‖₂", line_color="#59A14F"), 1, 2)
    fig.add_hline(y=tau, line_dash="dash", line_color="black", row=1, col=2, annotation_text="τ")
    fig.add_trace(go.Scatter(x=eps, y=score, name="P(adversarial)", line_color="#B07AA1"), 1, 3)
    fig.add_hline(y=0.5, line_dash="dash", line_color="black", row=1, col=3)
    for col in (1, 2, 3):
        if eps_flip is not None:
            fig.add_vline(x=eps_flip, line_color=ADV, line_dash="dot", row=1, col=col)
        fig.update_xaxes(title="ε", row=1, col=col)
    fig.update_yaxes(range=[0, 1.02], row=1, col=1)
    fig.update_yaxes(range=[0, 1.02], row=1, col=3)
    return layout(fig, 300)


def latent_map(codes: np.ndarray, labels: np.ndarray, names: list[str], path: np.ndarray, eps: np.ndarray,
               k_flip: int | None) -> go.Figure:
    """Test codes in the 2-D LDA view coloured by class, and the path of μ(x_adv) as ε grows."""
    fig = go.Figure()
    for c, name in enumerate(names):
        pts = codes[labels == c]
        fig.add_trace(go.Scattergl(x=pts[:, 0], y=pts[:, 1], mode="markers", name=name, opacity=0.35,
                                   marker=dict(size=5, color=PALETTE[c]), hoverinfo="name"))
    fig.add_trace(go.Scatter(x=path[:, 0], y=path[:, 1], mode="lines+markers", name="μ(x_adv) as ε grows",
                             line=dict(color="black", width=2), marker=dict(size=5, color="black"),
                             text=[f"ε = {e:.3f}" for e in eps], hoverinfo="text"))
    fig.add_trace(go.Scatter(x=path[[0], 0], y=path[[0], 1], mode="markers", name="clean",
                             marker=dict(size=14, color=CLEAN, symbol="circle", line=dict(color="white", width=2))))
    if k_flip is not None:
        fig.add_trace(go.Scatter(x=path[[k_flip], 0], y=path[[k_flip], 1], mode="markers",
                                 name=f"prediction flips (ε = {eps[k_flip]:.3f})",
                                 marker=dict(size=16, color=ADV, symbol="x", line=dict(color="white", width=1))))
    fig.update_xaxes(showticklabels=False, title="LDA 1")
    fig.update_yaxes(showticklabels=False, title="LDA 2")
    return layout(fig, 480, title="Latent space: the code walks toward another class")
