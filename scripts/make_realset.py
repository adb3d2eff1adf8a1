"""Build realset/mnist: digits from sources outside MNIST, as a user would upload or draw them.

python scripts/make_realset.py   (needs Debian's fonts: fonts-urw-base35 fonts-freefont-ttf fonts-liberation
fonts-texgyre fonts-comic-neue fonts-dkg-handwriting fonts-dancingscript fonts-kaushanscript fonts-rufscript)

Kinds, each a folder of pictures named <label>_<n>.<ext>:
  font-sans, font-serif, font-italic, font-script  glyphs of installed fonts, ink on paper, several sizes
  strokes-canvas   pen-stroke digits in many hands, white on black as the app's canvas gives them
  ink-photo        the same hands in blue or black ink on paper, photographed: uneven light, a shadow, noise,
                   JPEG, the digit small and off-centre
  scan-lowres      strokes or glyphs scanned at a tiny resolution (18–32 px)
  pen-sans, pen-serif, pen-italic, pen-script   single-line pen strokes in a font's shape: each glyph thinned to its
                   centre line (skimage's skeletonize) and drawn again with a round pen of one of three widths, as
                   a finger on the canvas draws (white on black) or a pen on paper (dark ink, a little blur)
  pen-styled       stylised hands drawn as pen strokes: a 1 with a long flag and a foot, a 4 open at the top, a 7
                   with a crossbar, a 9 with a straight stem, a 2 with a loop, …, slanted, at the same widths
python scripts/make_realset.py --pen   writes the pen kinds only (their own seed: the other kinds stay as they are).
The rendering here is independent of vacdemo.training.augment (PIL drawing, not the training transforms), so the
set does not test the augmentation against itself. Seeded: the same fonts give the same files.
"""
import io
import math
import random
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

OUT = Path(__file__).resolve().parent.parent / "realset" / "mnist"
FONT_ROOTS = ("/usr/share/fonts", "/usr/share/texmf/fonts")
FONT_KINDS = {
    "font-sans": ["DejaVuSans.ttf", "DejaVuSans-Bold.ttf",
                  "LiberationSans-Regular.ttf", "NimbusSans-Regular.otf",
                  "FreeSans.ttf", "ComicNeue-Regular.otf",
                  "DejaVuSansCondensed.ttf", "texgyreheros-regular.otf"],
    "font-serif": ["DejaVuSerif.ttf", "LiberationSerif-Regular.ttf",
                   "NimbusRoman-Regular.otf", "C059-Roman.otf",
                   "P052-Roman.otf", "FreeSerif.ttf",
                   "texgyretermes-regular.otf", "texgyrepagella-regular.otf"],
    "font-italic": ["DejaVuSerif-Italic.ttf", "LiberationSerif-Italic.ttf",
                    "NimbusRoman-Italic.otf", "P052-Italic.otf",
                    "FreeSerifItalic.ttf", "DejaVuSans-Oblique.ttf",
                    "ComicNeue-Italic.otf", "C059-Italic.otf"],
    "font-script": ["Z003-MediumItalic.otf", "DancingScript-Regular.otf",
                    "KaushanScript-Regular.otf", "Rufscript010.ttf",
                    "dkg.ttf", "dkgIt.ttf",
                    "DancingScript-Bold.otf", "texgyrechorus-mediumitalic.otf"],
}


def arc(cx, cy, rx, ry, a0, a1, n=24):
    """Points along an ellipse from angle a0 to a1 (degrees; 0 = right, 90 = down, y grows downward)."""
    return [(cx + rx * math.cos(math.radians(a)), cy + ry * math.sin(math.radians(a)))
            for a in np.linspace(a0, a1, n)]


# Each digit: a few hands, each a list of strokes, each stroke a polyline in the unit box.
HANDS = {
    0: [[arc(.5, .5, .27, .42, 260, 625)], [arc(.52, .5, .2, .42, 250, 610)]],
    1: [[[(.5, .08), (.5, .92)]], [[(.33, .24), (.52, .08), (.52, .92)]], [[(.36, .22), (.53, .08), (.5, .92)],
                                                                         [(.34, .92), (.68, .92)]]],
    2: [[arc(.5, .3, .26, .22, 190, 380) + [(.2, .92), (.82, .92)]],
        [arc(.48, .32, .27, .24, 200, 370) + [(.22, .9), (.3, .84), (.55, .92), (.84, .9)]]],
    3: [[arc(.48, .29, .25, .21, 200, 450), arc(.48, .71, .27, .21, 270, 520)],
        [[(.22, .1), (.75, .1), (.45, .42)] + arc(.48, .68, .27, .24, 280, 520)]],
    4: [[[(.64, .92), (.64, .08), (.18, .64), (.86, .64)]],
        [[(.26, .08), (.2, .58), (.84, .58)], [(.66, .28), (.66, .92)]]],
    5: [[[(.76, .1), (.32, .1), (.28, .45)] + arc(.5, .66, .26, .26, 215, 520)],
        [[(.3, .1), (.26, .46)] + arc(.5, .67, .26, .25, 220, 520), [(.3, .1), (.78, .1)]]],
    6: [[[(.7, .08), (.4, .35)] + arc(.5, .67, .24, .25, 200, 560)],
        [arc(.72, .6, .44, .52, 235, 180) + arc(.5, .68, .23, .23, 180, 540)]],
    7: [[[(.2, .1), (.8, .1), (.4, .92)]], [[(.2, .14), (.8, .1), (.42, .92)], [(.35, .5), (.72, .5)]]],
    8: [[arc(.5, .29, .2, .2, 90, 450), arc(.5, .71, .25, .22, 270, 630)],
        [arc(.5, .28, .22, .19, 60, 420), arc(.5, .72, .24, .21, 240, 600)]],
    9: [[arc(.5, .32, .24, .24, 0, 360), [(.74, .32), (.7, .92)]],
        [arc(.48, .33, .24, .23, 10, 370) + [(.72, .5)] + arc(.45, .6, .27, .32, 0, 110)]],
}


def hand_drawn(label: int, rng: random.Random, size: int, width: float, ink, paper) -> Image.Image:
    """A digit drawn with a pen: one of its hands, slanted, rotated, scaled, wobbled, placed off-centre."""
    strokes = rng.choice(HANDS[label])
    slant, rot = rng.uniform(-0.35, 0.25), math.radians(rng.uniform(-12, 12))
    sx, sy = rng.uniform(0.7, 1.1), rng.uniform(0.8, 1.05)
    box = size * rng.uniform(0.45, 0.8)
    ox, oy = size / 2 + rng.uniform(-0.15, 0.15) * size, size / 2 + rng.uniform(-0.1, 0.1) * size
    img = Image.new("RGB", (size, size), paper)
    draw = ImageDraw.Draw(img)
    for stroke in strokes:
        pts = []
        for x, y in stroke:
            x, y = (x - .5) * sx + slant * (.5 - y), (y - .5) * sy
            x, y = x * math.cos(rot) - y * math.sin(rot), x * math.sin(rot) + y * math.cos(rot)
            pts.append((ox + box * x + rng.gauss(0, size * 0.004), oy + box * y + rng.gauss(0, size * 0.004)))
        draw.line(pts, fill=ink, width=max(1, round(width)), joint="curve")
        r = width / 2  # round caps
        for px, py in (pts[0], pts[-1]):
            draw.ellipse((px - r, py - r, px + r, py + r), fill=ink)
    return img


def font_file(name: str) -> Path:
    """An installed font by file name (Debian's packages put them under a few roots)."""
    for root in FONT_ROOTS:
        found = sorted(Path(root).rglob(name))
        if found:
            return found[0]
    raise FileNotFoundError(f"font {name} not installed: see this script's docstring for the packages")


def glyph(label: int, font_path: str, rng: random.Random, size: int = 160) -> Image.Image:
    """A font's glyph, black on near-white paper, a little rotated."""
    font = ImageFont.truetype(str(font_file(font_path)), rng.randint(int(size * 0.45), int(size * 0.75)))
    img = Image.new("L", (size, size), rng.randint(225, 255))
    draw = ImageDraw.Draw(img)
    l, t, r, b = draw.textbbox((0, 0), str(label), font=font)
    x = (size - (r - l)) / 2 - l + rng.uniform(-0.1, 0.1) * size
    y = (size - (b - t)) / 2 - t + rng.uniform(-0.08, 0.08) * size
    draw.text((x, y), str(label), fill=rng.randint(0, 50), font=font)
    return img.rotate(rng.uniform(-8, 8), resample=Image.BICUBIC, fillcolor=int(np.median(np.asarray(img))))


def photographed(img: Image.Image, rng: random.Random) -> bytes:
    """img (ink on paper) as a phone photo: placed small in a larger frame, uneven light, a shadow, noise, JPEG."""
    w, h = rng.choice([(480, 360), (640, 480), (360, 480)])
    paper = tuple(rng.randint(215, 245) - d for d in (0, 3, 12))
    frame = Image.new("RGB", (w, h), paper)
    side = int(min(w, h) * rng.uniform(0.35, 0.7))
    frame.paste(img.resize((side, side), Image.BILINEAR), (rng.randint(0, w - side), rng.randint(0, h - side)))
    a = np.asarray(frame).astype(np.float32)
    yy, xx = np.mgrid[0:h, 0:w] / max(w, h)
    angle = rng.uniform(0, 2 * math.pi)
    light = 0.72 + 0.33 * (0.5 + 0.5 * (math.cos(angle) * xx + math.sin(angle) * yy))  # a lamp on one side
    cx, cy = rng.choice([(0, 0), (w, 0), (0, h), (w, h)])
    shadow = 1 - 0.35 * np.exp(-(((np.mgrid[0:h, 0:w][1] - cx) ** 2 + (np.mgrid[0:h, 0:w][0] - cy) ** 2)
                                 / (2 * (0.35 * max(w, h)) ** 2)))
    a = a * (light * shadow)[..., None] + np.random.default_rng(rng.randint(0, 2**31)).normal(0, 4, a.shape)
    photo = Image.fromarray(a.clip(0, 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(rng.uniform(0.4, 1.2)))
    buf = io.BytesIO()
    photo.save(buf, "JPEG", quality=rng.randint(45, 80))
    return buf.getvalue()


def png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "PNG", optimize=True)
    return buf.getvalue()


def build(per_label: int = 4, seed: int = 0) -> dict[str, int]:
    rng = random.Random(seed)
    files: dict[str, list[tuple[str, bytes]]] = {k: [] for k in [*FONT_KINDS, "strokes-canvas", "ink-photo",
                                                                  "scan-lowres"]}
    for label in range(10):
        for n in range(per_label):
            for kind, fonts in FONT_KINDS.items():
                font = fonts[(label * per_label + n) % len(fonts)]
                files[kind].append((f"{label}_{n}.png", png(glyph(label, font, rng))))
            canvas = hand_drawn(label, rng, 252, rng.uniform(8, 28), (255, 255, 255), (0, 0, 0))  # the app's canvas
            files["strokes-canvas"].append((f"{label}_{n}.png", png(canvas)))
            ink = rng.choice([(20, 30, 110), (25, 25, 30), (40, 40, 90)])
            paper = hand_drawn(label, rng, 300, rng.uniform(3, 16), ink, (240, 240, 235))
            files["ink-photo"].append((f"{label}_{n}.jpg", photographed(paper, rng)))
            src = hand_drawn(label, rng, 200, rng.uniform(8, 22), (0, 0, 0), (245, 245, 245)) if n % 2 else \
                glyph(label, rng.choice(FONT_KINDS["font-sans"] + FONT_KINDS["font-serif"]), rng, 200).convert("RGB")
            tiny = rng.randint(18, 32)
            files["scan-lowres"].append((f"{label}_{n}.png", png(src.convert("L").resize((tiny, tiny), Image.BILINEAR))))
    return write_kinds(OUT, files)


def write_kinds(out: Path, files: dict[str, list[tuple[str, bytes]]]) -> dict[str, int]:
    """Each kind's folder emptied and filled with its (name, bytes) pictures; the count per kind."""
    for kind, items in files.items():
        folder = out / kind
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.iterdir():
            old.unlink()
        for name, data in items:
            (folder / name).write_bytes(data)
    return {kind: len(items) for kind, items in files.items()}


# Stylised hands (issue 30): shapes the canvas sees from people taught other scripts than MNIST's writers.
STYLED = {
    0: [[arc(.5, .5, .26, .42, 260, 625), [(.7, .12), (.3, .88)]], [arc(.5, .5, .3, .4, 240, 600)]],
    1: [[[(.28, .3), (.58, .06), (.58, .92)], [(.34, .92), (.82, .92)]],  # a long flag and a foot
        [[(.3, .36), (.6, .06), (.5, .92)]]],
    2: [[arc(.5, .28, .25, .2, 190, 360) + [(.3, .78)] + arc(.32, .84, .08, .07, 270, 630) + [(.82, .9)]],  # a loop
        [arc(.48, .3, .26, .22, 190, 390) + [(.18, .9), (.84, .86)]]],
    3: [[[(.22, .1), (.78, .1), (.42, .44)] + arc(.48, .68, .28, .24, 280, 520)],  # a flat top
        [arc(.46, .28, .24, .2, 200, 440), arc(.46, .7, .3, .22, 270, 520)]],
    4: [[[(.26, .06), (.18, .6), (.86, .6)], [(.66, .3), (.62, .94)]],  # open at the top
        [[(.56, .94), (.6, .06), (.14, .66), (.88, .64)], [(.66, .4), (.8, .46)]]],
    5: [[[(.32, .08), (.26, .46)] + arc(.5, .68, .27, .25, 220, 510), [(.32, .08), (.8, .06)]],
        [[(.78, .06), (.3, .1), (.24, .5)] + arc(.48, .7, .28, .23, 230, 500)]],
    6: [[[(.72, .06)] + arc(.78, .62, .56, .56, 240, 180) + arc(.48, .7, .24, .22, 180, 540)]],
    7: [[[(.18, .12), (.82, .1), (.38, .94)], [(.3, .52), (.74, .5)]],  # a crossbar
        [[(.2, .22), (.2, .1), (.82, .1), (.46, .94)]]],
    8: [[arc(.5, .27, .2, .19, 120, 480), arc(.5, .72, .26, .22, 300, 660)],
        [[(.72, .14)] + arc(.5, .27, .22, .19, 330, 90) + arc(.5, .72, .25, .21, 270, 630) + arc(.5, .27, .22, .19, 90, 200)]],
    9: [[arc(.5, .3, .24, .22, 0, 360), [(.74, .3), (.74, .94)]],  # a straight stem
        [arc(.48, .3, .24, .23, 10, 370), [(.72, .32), (.58, .94)]]],
}
PEN_FONTS = {"pen-sans": FONT_KINDS["font-sans"], "pen-serif": FONT_KINDS["font-serif"],
             "pen-italic": FONT_KINDS["font-italic"], "pen-script": FONT_KINDS["font-script"]}
WIDTHS = (0.025, 0.07, 0.13)  # the pen, as a share of the picture's side: thin, medium (the canvas's 18 of 252), thick


def centre_line(img: Image.Image) -> np.ndarray:
    """A glyph (dark on light) → its one-pixel centre line, (H, W) bool."""
    from skimage.morphology import skeletonize
    return skeletonize(np.asarray(img.convert("L")) < 128)


def pen(line: np.ndarray, width: float, ink, paper) -> Image.Image:
    """Every pixel within width/2 of the centre line inked, the rim antialiased: a round pen along the line."""
    from scipy import ndimage
    d = ndimage.distance_transform_edt(~line)
    cover = np.clip(width / 2 + 0.5 - d, 0, 1)[..., None]
    rgb = np.asarray(paper, np.float32) * (1 - cover) + np.asarray(ink, np.float32) * cover
    return Image.fromarray(rgb.round().astype(np.uint8))


def look(img_line: np.ndarray, size: int, rng: random.Random, n: int) -> bytes:
    """The centre line at one of three widths (n % 3), on the canvas (n < 3) or on paper, blurred a little."""
    width = WIDTHS[n % 3] * size * rng.uniform(0.85, 1.15)
    if n < 3:
        return png(pen(img_line, width, (255, 255, 255), (0, 0, 0)))
    ink = rng.choice([(20, 30, 110), (25, 25, 30), (40, 40, 90)])
    return png(pen(img_line, width, ink, (240, 240, 232)).filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.0))))


def styled_line(label: int, rng: random.Random, size: int) -> np.ndarray:
    """A stylised hand's strokes drawn 1 px wide (then thinned): a centre line like a glyph's."""
    saved = HANDS[label]
    HANDS[label] = STYLED[label]  # hand_drawn's placement, slant and wobble, with the stylised shapes
    try:
        img = hand_drawn(label, rng, size, 3, (0, 0, 0), (255, 255, 255))
    finally:
        HANDS[label] = saved
    return centre_line(img)


def build_pen(per_label: int = 6, seed: int = 30) -> dict[str, int]:
    """The pen kinds: per label, three widths on the canvas and three on paper; their own seed."""
    rng = random.Random(seed)
    files: dict[str, list[tuple[str, bytes]]] = {k: [] for k in [*PEN_FONTS, "pen-styled"]}
    for label in range(10):
        for n in range(per_label):
            for kind, fonts in PEN_FONTS.items():
                g = glyph(label, fonts[(label * per_label + n) % len(fonts)], rng, 252)
                files[kind].append((f"{label}_{n}.png", look(centre_line(g), 252, rng, n)))
            files["pen-styled"].append((f"{label}_{n}.png", look(styled_line(label, rng, 252), 252, rng, n)))
    return write_kinds(OUT, files)


if __name__ == "__main__":
    import sys
    print(build_pen() if "--pen" in sys.argv[1:] else {**build(), **build_pen()})
