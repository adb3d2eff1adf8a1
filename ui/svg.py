"""The two charts redrawn on every move of the ε slider, as small inline SVG: a browser draws them in a few
milliseconds, where re-rendering two plotly charts cost about 230 ms per move (measured in Chromium)."""
from html import escape

import numpy as np

CLEAN, ADV, GRID, TEXT = "#4C78A8", "#E45756", "#DDDDDD", "#31333F"
FONT = 'font-family="Source Sans Pro, sans-serif" font-size="12"'
WIDTH = 370  # px: both charts, drawn at this size (st.image(..., width=WIDTH))


def svg(width: int, height: int, body: list[str], title: str) -> str:
    return (f'<svg viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
            f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg" {FONT}>'
            f'<title>{escape(title)}</title>{"".join(body)}</svg>')


def text(x, y, s, anchor="start", color=TEXT, weight="normal") -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" fill="{color}" font-weight="{weight}">{escape(s)}</text>'


def rect(x, y, w, h, color) -> str:
    return f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(w, 0):.1f}" height="{max(h, 0):.1f}" fill="{color}"/>'


def probability_bars(names: list[str], p_clean: np.ndarray, p_adv: np.ndarray) -> str:
    """One row per class: the clean input's probability (blue) over the adversarial one's (red)."""
    w, label, row, top = WIDTH, 90, 22, 24
    span = w - label - 40
    body = [text(0, 14, "What the classifier says", weight="bold"),
            rect(w - 130, 5, 10, 10, CLEAN), text(w - 116, 14, "clean"),
            rect(w - 70, 5, 10, 10, ADV), text(w - 56, 14, "attacked")]
    for c, name in enumerate(names):
        y = top + c * row
        body += [text(label - 6, y + 15, name, "end"), rect(label, y + 2, span, row - 4, "#F4F4F4"),
                 rect(label, y + 2, span * float(p_clean[c]), 8, CLEAN),
                 rect(label, y + 10, span * float(p_adv[c]), 8, ADV)]
        p = max(p_clean[c], p_adv[c])
        if p >= 0.01:
            body.append(text(label + span + 4, y + 15, f"{p:.0%}"))
    return svg(w, top + 10 * row + 4, body, "Class probabilities before and after the attack")


def error_histogram(counts: np.ndarray, edges: np.ndarray, lines: list[tuple[float, str, str, bool]]) -> str:
    """Bars of the test set's clean reconstruction errors; lines: (x, label, colour, dashed)."""
    w, h, left, bottom, top = WIDTH, 270, 36, 46, 30
    x_max = max(edges[-1], *(x for x, *_ in lines)) * 1.04
    sx, sy = (w - left - 8) / x_max, (h - top - bottom) / counts.max()
    body = [text(0, 14, "Where the inputs fall among clean test images", weight="bold")]
    for c, a, b in zip(counts, edges[:-1], edges[1:]):
        body.append(rect(left + a * sx, h - bottom - c * sy, (b - a) * sx - 0.5, c * sy, "#BBBBBB"))
    body.append(f'<line x1="{left}" y1="{h - bottom}" x2="{w - 8}" y2="{h - bottom}" stroke="{GRID}"/>')
    step = 1 if x_max < 8 else 2
    for t in np.arange(0, x_max, step):
        body.append(text(left + t * sx, h - bottom + 14, f"{t:g}", "middle"))
    body.append(text(left + (w - left) / 2, h - bottom + 28, "reconstruction error ‖x − x̂‖₂", "middle"))
    for i, (x, label, color, dashed) in enumerate(lines):
        dash = ' stroke-dasharray="5,4"' if dashed else ""
        body.append(f'<line x1="{left + x * sx:.1f}" y1="{top}" x2="{left + x * sx:.1f}" y2="{h - bottom}" '
                    f'stroke="{color}" stroke-width="3"{dash}/>')
        at = 4 + i * (w - 8) // 3
        body += [f'<line x1="{at}" y1="{h - 4}" x2="{at + 16}" y2="{h - 4}" stroke="{color}" '
                 f'stroke-width="3"{dash}/>', text(at + 20, h, f"{label} {x:.2f}")]
    return svg(w, h + 4, body, "Reconstruction errors of the test set, this input and its attacked version")
