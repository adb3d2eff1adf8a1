"""Rows of pictures as one HTML block with the images inline (data URIs): one element for the browser to
draw and no image fetches, where one st.image per picture costs a request each on every slider move."""
import base64
from html import escape


def data_uri(img: bytes | str) -> str:
    """PNG bytes, or an SVG document as text."""
    if isinstance(img, str):
        return "data:image/svg+xml;base64," + base64.b64encode(img.encode()).decode()
    return "data:image/png;base64," + base64.b64encode(img).decode()


def row(items: list[tuple[bytes | str, str]], width: int, caption_width: int | None = None, gap: int = 12,
        highlight: int | None = None, caption_px: float | None = None) -> str:
    """items: (image, caption) pairs, each drawn `width` px wide, pixels kept square and crisp; the row wraps
    on a narrow screen. highlight: the index of one item to frame (the current ε in a film strip). caption_px:
    the captions' font size (default 0.85rem; the projector's are read from the back of a room)."""
    size = f"{caption_px:g}px" if caption_px else "0.85rem"
    cw = caption_width or width
    frame = "outline:3px solid #31333F;outline-offset:1px"
    # max-width: a wide chart shrinks to a phone's width instead of running off the screen
    cells = [f'<figure style="margin:0;width:{cw}px;max-width:100%;text-align:center">'
             f'<img src="{data_uri(img)}" width="{width}" alt="{escape(cap)}" '
             f'style="image-rendering:pixelated;border-radius:4px;max-width:100%;height:auto;'
             f'{frame if i == highlight else ""}"/>'
             + (f'<figcaption style="font-size:{size};color:#555;line-height:1.2">{escape(cap)}</figcaption>'
                if cap else '') + '</figure>'
             for i, (img, cap) in enumerate(items)]
    return f'<div style="display:flex;flex-wrap:wrap;gap:{gap}px;align-items:flex-start">{"".join(cells)}</div>'
