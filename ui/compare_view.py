"""Compare models: the same input and attack on the β-VAC, a plain CNN and an adversarially trained CNN, each
attacked with its own gradients, side by side; what transfers; the robustness measured over the test set."""
import numpy as np
import streamlit as st

from vacdemo.datasets import CLASS_NAMES
from vacdemo.images import diverging_png, gray_png
from vacdemo.lab.record import LabFacts

from . import inline
from .lab_view import Q, grey_levels

OTHERS_HAVE = {"plain CNN": "No decoder, so no detector: nothing tells it that an input was attacked.",
               "adversarially trained CNN": "No decoder, so no detector: its defence is robustness itself, learnt "
                                            "from attacks during training."}


@st.cache_resource(show_spinner=False)
def robustness_figure(card: dict):
    import plotly.graph_objects as go  # drawn once per data set: the chart does not change with ε
    colours = ["#0072B2", "#E69F00", "#009E73"]  # Okabe–Ito: told apart with colour-blindness too
    fig = go.Figure([go.Scatter(x=card["eps"], y=acc, mode="lines+markers", name=k, line=dict(color=colours[i % 3]),
                                marker=dict(symbol=["circle", "square", "diamond"][i % 3]))
                     for i, (k, acc) in enumerate(card["robust"].items())])
    fig.update_layout(height=320, margin=dict(l=10, r=10, t=10, b=10), xaxis_title="ε (ℓ∞)",
                      yaxis_title="robust accuracy", yaxis_range=[0, 1.02], legend=dict(orientation="h"))
    return fig


def transfer_table(c, names: list[str]) -> str:
    """Markdown: row i, the attack made for model i; column j, what model j reads on it (✗: fooled, ✓: not)."""
    head = "| attack made for ↓ · read by → | " + " | ".join(c.names) + " |\n|---|" + "---|" * len(c.names)
    rows = [f"| {src} | " + " | ".join(f"{names[p]} {'✗' if fooled else '✓'}"
                                      for p, fooled in zip(c.probs[i].argmax(-1), c.transfer[i])) + " |"
            for i, src in enumerate(c.names)]
    return "\n".join([head, *rows])


def render_compare(facts: LabFacts, name: str, x: np.ndarray, settings: dict, present: bool, compared,
                   card: dict | None) -> None:
    """The same input and attack on each model, each with its own gradients, at the slider's ε; transfer.
    compared: (CompareGrid, recon (K, 28, 28), re (K,), score (K,)) from vacdemo.serving.lab.comparison; card:
    the comparison measured on the test set by `python -m vacdemo card`, or None."""
    names = CLASS_NAMES[name]
    grid, recon, re, score = compared
    top, n = float(grid.eps[-1]), len(grid.eps)
    key = f"cmp_eps_{name}"
    if key not in st.session_state and key not in st.query_params:  # opened from the lab: its ε, else the default
        st.session_state[key] = st.session_state.get(f"eps_{name}_inf", float(grid.eps[n // 2]))
    eps = st.slider("ε, the attack's budget (every model)", 0.0, top, step=top / (n - 1), format="%.3f",
                    key=f"cmp_eps_{name}", bind=Q)
    k = int(round(eps / top * (n - 1)))
    c = grid.at(k)
    st.markdown(f"**The same input and the same attack (PGD-{settings['steps']}, each pixel changed by at most "
                f"{grey_levels(c.eps)} of 255 grey levels, ε = {c.eps:.3f}), each model attacked with its own "
                "gradients.** " + (f"True class: **{names[grid.ys[0]]}**." if grid.labelled else
                                   "Each model's attack moves it away from what that model reads on it."))
    size = 150 if present else 110
    for i, model_name in enumerate(c.names):
        pred = int(c.probs[i, i].argmax())
        sure = f"{c.probs[i, i, pred]:.0%} sure"
        col_text, col_pics = st.columns([2, 3])
        with col_text:
            st.markdown(f"#### {model_name}")
            if k == 0:
                st.info(f"No attack yet: it says **{names[pred]}**, {sure}.")
            elif pred != grid.ys[i]:
                st.error(f"Fooled: it says **{names[pred]}**, {sure}.")
            else:
                st.success(f"Not fooled: it still says **{names[pred]}**, {sure}.")
            if i == 0:
                tau = facts.tau
                st.caption(f"Its detector: the redrawn image differs by {re[k]:.2f}, "
                           f"{'above' if re[k] > tau else 'under'} the limit {tau:.2f}: alarm "
                           f"{'on' if re[k] > tau else 'off'} (P(adversarial) = {score[k]:.2f}).")
            else:
                st.caption(OTHERS_HAVE.get(model_name, ""))
        delta = c.x_adv[i] - x[0]
        pics = [(gray_png(c.x_adv[i]), f"attacked for it: {names[pred]}"),
                (diverging_png(delta, c.eps) if c.eps > 0 else gray_png(0.5 + delta),
                 "the change that fooled it" if pred != grid.ys[i] else "its change: too small to fool it")]
        if i == 0:
            pics.append((gray_png(recon[k]), "its decoder redraws it"))
        col_pics.html(inline.row(pics, size))
    st.markdown("**Transfer**: does the image made to fool one model fool the others? (✗ fooled, ✓ right)")
    st.markdown(transfer_table(c, names))
    if card is None:
        st.caption("The robustness chart over the test set comes with the shipped comparison: `python -m vacdemo "
                   "card` measures it.")
        return
    st.markdown(f"**Robust accuracy over ε** on {card['n']} test images (PGD-40; measured by `python -m vacdemo "
                f"card`, not on this page). With the stronger APGD too (on {card['stronger_n']} images), at " +
                "; at ".join(f"ε = {s['eps']:g}: " + ", ".join(f"{k} {v:.1%}" for k, v in s["accuracy"].items())
                             for s in card["stronger"]) + ".")
    st.plotly_chart(robustness_figure(card), config={"displayModeBar": False})


def note_attack(settings: dict) -> None:
    """The comparison runs one attack on every model: say so when the sidebar asks for another."""
    if settings["norm"] != "inf" or settings["target"] is not None or settings["adaptive"]:
        st.info("The comparison runs the paper's attack on every model: untargeted ℓ∞ PGD, with your steps and "
                "step size.", icon=":material/info:")
