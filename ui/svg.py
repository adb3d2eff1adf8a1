"""The charts redrawn on every move of the ε slider, as small inline SVG: a browser draws them in a few
milliseconds, where re-rendering two plotly charts cost about 230 ms per move (measured in Chromium). The
curves and the latent map carry a mark at the current ε, so they too are redrawn per move."""
from html import escape

import numpy as np

# Okabe–Ito blue and vermillion: apart under every colour-vision deficiency and on a washed-out projector
# (tests/test_ui.py simulates both).
CLEAN, ADV, GRID, TEXT = "#0072B2", "#D55E00", "#DDDDDD", "#31333F"
FONT = 'font-family="Source Sans Pro, sans-serif" font-size="12"'
WIDTH = 370  # px: both charts, drawn at this size (inline <svg>, shown with st.html)


def svg(width: int, height: int, body: list[str], title: str) -> str:
    return (f'<svg viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
            f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg" {FONT}>'
            f'<title>{escape(title)}</title>{"".join(body)}</svg>')


def text(x, y, s, anchor="start", color=TEXT, weight="normal") -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" fill="{color}" font-weight="{weight}">{escape(s)}</text>'


def rect(x, y, w, h, color) -> str:
    return f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(w, 0):.1f}" height="{max(h, 0):.1f}" fill="{color}"/>'


def probability_bars(names: list[str], p_clean: np.ndarray, p_adv: np.ndarray) -> str:
    """One row per class: the clean input's probability (blue, upper bar) over the attacked one's (red, lower bar),
    each number beside its own bar."""
    w, label, row, top = WIDTH, 90, 24, 24
    span = w - label - 44
    body = [text(0, 14, "What the classifier says", weight="bold"),
            rect(w - 130, 5, 10, 10, CLEAN), text(w - 116, 14, "clean"),
            rect(w - 70, 5, 10, 10, ADV), text(w - 56, 14, "attacked")]
    for c, name in enumerate(names):
        y = top + c * row
        body += [text(label - 6, y + 16, name, "end"), rect(label, y + 2, span, row - 4, "#F4F4F4"),
                 rect(label, y + 3, span * float(p_clean[c]), 8, CLEAN),
                 rect(label, y + 12, span * float(p_adv[c]), 8, ADV)]
        for p, dy, color in ((p_clean[c], 10, CLEAN), (p_adv[c], 20, ADV)):
            if p >= 0.005:
                body.append(f'<text x="{label + span + 4}" y="{y + dy:.1f}" fill="{color}" font-size="10">'
                            f'{p:.0%}</text>')
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


def mark(x: float, y0: float, y1: float) -> str:
    """The current ε: a bold vertical line."""
    return f'<line x1="{x:.1f}" y1="{y0:.1f}" x2="{x:.1f}" y2="{y1:.1f}" stroke="{TEXT}" stroke-width="2.5"/>'


def polyline(xs, ys, color: str, dashed: bool = False) -> str:
    pts = " ".join(f"{x:.1f},{y:.1f}" for x, y in zip(xs, ys))
    dash = ' stroke-dasharray="5,4"' if dashed else ""
    return f'<polyline points="{pts}" fill="none" stroke="{color}" stroke-width="2.5"{dash}/>'


def curve_panel(eps: np.ndarray, title: str, series: list[tuple[np.ndarray, str, str]], ref: float | None,
                y_max: float, k: int, k_flip: int | None, axis: str = "ε") -> str:
    """One small chart over ε (or another axis, from 0): series of (values, label, colour), a dashed reference level
    (or None), the current ε (index k) marked, the flip (index k_flip) dotted; its legend below it. Panels wrap, so a phone stacks them."""
    pw, h, left, top, bottom = 250, 214, 34, 26, 68
    body = [text(0, 14, title, weight="bold"),
            f'<line x1="{left}" y1="{h - bottom}" x2="{pw - 8}" y2="{h - bottom}" stroke="{GRID}"/>',
            text(left - 4, top + 4, f"{y_max:.2g}", "end"), text(left - 4, h - bottom + 4, "0", "end"),
            text(left, h - bottom + 16, "0", "middle"), text(pw - 8, h - bottom + 16, f"{eps[-1]:g}", "middle"),
            text(left + (pw - left) / 2, h - bottom + 16, axis, "middle")]

    def x_of(e):
        return left + (e / eps[-1]) * (pw - left - 8)

    def y_of(v):
        return top + (1 - min(v, y_max) / y_max) * (h - top - bottom)
    if ref is not None:
        body.append(polyline([left, pw - 8], [y_of(ref)] * 2, "#888888", dashed=True))
    if k_flip is not None:
        body.append(f'<line x1="{x_of(eps[k_flip]):.1f}" y1="{top}" x2="{x_of(eps[k_flip]):.1f}" y2="{h - bottom}" '
                    f'stroke="{ADV}" stroke-dasharray="2,3"/>')
    for j, (v, label, color) in enumerate(series):
        body.append(polyline([x_of(e) for e in eps], [y_of(u) for u in v], color))
        cy = h - bottom + 32 + 15 * j
        body += [rect(left, cy - 8, 14, 4, color), text(left + 18, cy - 3, f"{label}: {v[k]:.2f}")]
    body.append(mark(x_of(eps[k]), top - 4, h - bottom))
    return svg(pw, h, body, f"{title} over {axis}, the current {axis} marked")


# Latent map: ten colours (Okabe–Ito's and Paul Tol's) and five marker shapes; the two classes that share a shape
# (c and c + 5) were paired for the largest colour difference under simulated colour blindness (tests/test_ui.py).
CLASS_COLOURS = ["#0072B2", "#E69F00", "#56B4E9", "#D55E00", "#999933", "#661100", "#882255", "#CC6677", "#332288",
                 "#6699CC"]
CLASS_SHAPES = ["circle", "square", "triangle", "diamond", "triangle-down"] * 2
POLYGONS = {"triangle": [(0, -1.2), (1.1, 0.8), (-1.1, 0.8)], "triangle-down": [(0, 1.2), (1.1, -0.8), (-1.1, -0.8)],
            "diamond": [(0, -1.3), (1.1, 0), (0, 1.3), (-1.1, 0)]}  # vertices in units of the marker's radius


def shape(kind: str, x: float, y: float, r: float, fill: str, stroke: str = "none", width: float = 0) -> str:
    common = f'fill="{fill}" stroke="{stroke}" stroke-width="{width}"'
    if kind == "circle":
        return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r:.1f}" {common}/>'
    if kind == "square":
        return f'<rect x="{x - r:.1f}" y="{y - r:.1f}" width="{2 * r:.1f}" height="{2 * r:.1f}" {common}/>'
    return f'<polygon points="{" ".join(f"{x + a * r:.1f},{y + b * r:.1f}" for a, b in POLYGONS[kind])}" {common}/>'


def latent_map(background: str, to_px, path: np.ndarray, k: int, k_flip: int | None, names: list[str],
               note: str) -> str:
    """The test codes (a PNG data URI drawn once per data set) under the path of μ(x_adv) as ε grows, with the
    clean code, the current ε's code and the flip marked. to_px: map coordinates (N, 2) → pixel (N, 2)."""
    w, h = WIDTH + 190, WIDTH
    px = to_px(path)
    body = [f'<image href="{background}" x="0" y="0" width="{WIDTH}" height="{WIDTH}"/>',
            polyline(px[:, 0], px[:, 1], "#000000"),
            shape("circle", *px[0], 8, "#FFFFFF", "#000000", 3)]
    if k_flip is not None:
        x, y = px[k_flip]
        body.append(f'<path d="M{x - 7:.1f},{y - 7:.1f}L{x + 7:.1f},{y + 7:.1f}M{x - 7:.1f},{y + 7:.1f}L{x + 7:.1f},'
                    f'{y - 7:.1f}" stroke="{ADV}" stroke-width="3.5"/>')
    body.append(f'<circle cx="{px[k, 0]:.1f}" cy="{px[k, 1]:.1f}" r="11" fill="none" stroke="{TEXT}" stroke-width="3"/>')
    x0 = WIDTH + 10
    for c, name in enumerate(names):
        y = 20 + c * 20
        body += [shape(CLASS_SHAPES[c], x0 + 6, y - 4, 5, CLASS_COLOURS[c]), text(x0 + 18, y, name)]
    y = 20 + len(names) * 20 + 8
    body += [shape("circle", x0 + 6, y - 4, 6, "#FFFFFF", "#000000", 2.5), text(x0 + 18, y, "clean input"),
             f'<circle cx="{x0 + 6}" cy="{y + 16}" r="7" fill="none" stroke="{TEXT}" stroke-width="2.5"/>',
             text(x0 + 18, y + 20, "at this ε")]
    lines = wrap(note, 30)
    body += [text(x0, y + 48 + 15 * i, line) for i, line in enumerate(lines)]
    return svg(w, h, body, "The code's path through the latent map as ε grows")


def wrap(s: str, width: int) -> list[str]:
    lines, line = [], ""
    for word in s.split():
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    return lines + ([line] if line else [])
