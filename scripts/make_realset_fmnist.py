"""Build realset/fmnist: garments rendered as product photos on plain backgrounds, from outside Fashion-MNIST.

python scripts/make_realset_fmnist.py

Kinds, each a folder of pictures named <label>_<n>.<ext>:
  render   a garment's silhouette filled with a colour, a fold shading and a little texture, on a plain
           light background (a catalogue photo)
  photo    the same on a tinted backdrop, lit from one side, with a soft shadow, noise and JPEG, off-centre
  render-b, photo-b   the same two looks of a second cut of every garment (python scripts/make_realset_fmnist.py --cut-b)
Labels are Fashion-MNIST's (0 T-shirt/top … 9 Ankle boot). Seeded; independent of vacdemo.training.augment.
"""
import io
import random
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from make_realset import write_kinds  # this script's folder is on sys.path when run as a script

OUT = Path(__file__).resolve().parent.parent / "realset" / "fmnist"

# Outlines in the unit box (y downward), one polygon or several per garment.
SHAPES = {
    0: [[(.3, .1), (.42, .1), (.5, .17), (.58, .1), (.7, .1), (.95, .3), (.85, .43), (.75, .36), (.75, .92),
         (.25, .92), (.25, .36), (.15, .43), (.05, .3)]],
    1: [[(.3, .04), (.7, .04), (.75, .96), (.56, .96), (.5, .32), (.44, .96), (.25, .96)]],
    2: [[(.3, .08), (.5, .14), (.7, .08), (.9, .2), (.98, .86), (.86, .88), (.78, .4), (.76, .92), (.24, .92),
         (.22, .4), (.14, .88), (.02, .86), (.1, .2)]],
    3: [[(.38, .04), (.62, .04), (.6, .34), (.82, .96), (.18, .96), (.4, .34)]],
    4: [[(.3, .04), (.5, .12), (.7, .04), (.9, .16), (.98, .9), (.86, .92), (.8, .42), (.8, .97), (.2, .97),
         (.2, .42), (.14, .92), (.02, .9), (.1, .16)]],
    5: [[(.05, .72), (.95, .66), (.96, .8), (.05, .82)], [(.2, .72), (.35, .45), (.42, .47), (.3, .72)],
        [(.5, .7), (.62, .42), (.7, .44), (.6, .69)], [(.72, .68), (.8, .5), (.88, .52), (.82, .67)]],
    6: [[(.28, .06), (.42, .06), (.5, .14), (.58, .06), (.72, .06), (.9, .18), (.98, .86), (.86, .88), (.78, .42),
         (.77, .94), (.23, .94), (.22, .42), (.14, .88), (.02, .86), (.1, .18)]],
    7: [[(.04, .56), (.3, .5), (.52, .32), (.74, .33), (.8, .5), (.96, .58), (.97, .76), (.04, .76)]],
    8: [[(.12, .38), (.88, .38), (.93, .94), (.07, .94)], [(.28, .4), (.33, .12), (.67, .12), (.72, .4), (.64, .4),
                                                           (.6, .2), (.4, .2), (.36, .4)]],
    9: [[(.3, .06), (.62, .06), (.63, .5), (.92, .64), (.96, .9), (.08, .9), (.12, .56), (.28, .5)]],
}
DETAILS = {4: [[(.5, .14), (.5, .97)]], 6: [[(.5, .14), (.5, .94)], [(.42, .06), (.5, .2), (.58, .06)]]}  # zip; collar


# A second cut of every garment (issue 30: ten outlines measure ten shapes): a V-neck tee, wide-leg trousers, a
# pullover with ribbed cuffs and hem, a strapped sheath dress, a knee-length coat with lapels and buttons, a heeled
# sandal, a shirt with collar, placket and buttons, a laced sneaker, a satchel with a flap, a heeled ankle boot.
SHAPES_B = {
    0: [[(.32, .12), (.5, .26), (.68, .12), (.9, .22), (.97, .4), (.8, .46), (.76, .4), (.77, .9), (.23, .9),
         (.24, .4), (.2, .46), (.03, .4), (.1, .22)]],
    1: [[(.28, .05), (.72, .05), (.74, .12), (.86, .95), (.58, .95), (.5, .35), (.42, .95), (.14, .95), (.26, .12)]],
    2: [[(.33, .1), (.5, .15), (.67, .1), (.86, .16), (.97, .72), (.96, .8), (.84, .8), (.78, .36), (.78, .86),
         (.22, .86), (.22, .36), (.16, .8), (.04, .8), (.03, .72), (.14, .16)]],
    3: [[(.36, .04), (.4, .04), (.42, .16), (.58, .16), (.6, .04), (.64, .04), (.66, .3), (.6, .46), (.72, .96),
         (.28, .96), (.4, .46), (.34, .3)]],
    4: [[(.3, .04), (.5, .2), (.7, .04), (.9, .14), (.97, .84), (.86, .86), (.8, .4), (.82, .98), (.18, .98),
         (.2, .4), (.14, .86), (.03, .84), (.1, .14)]],
    5: [[(.05, .8), (.7, .76), (.9, .6), (.96, .62), (.94, .92), (.86, .92), (.84, .8), (.06, .88)],
        [(.15, .8), (.25, .55), (.31, .56), (.22, .8)], [(.45, .78), (.5, .5), (.56, .51), (.52, .78)],
        [(.7, .76), (.78, .48), (.84, .5), (.78, .74)]],
    6: [[(.32, .06), (.4, .04), (.5, .12), (.6, .04), (.68, .06), (.88, .16), (.97, .84), (.86, .86), (.79, .4),
         (.78, .92), (.5, .96), (.22, .92), (.21, .4), (.14, .86), (.03, .84), (.12, .16)]],
    7: [[(.04, .66), (.1, .56), (.32, .5), (.48, .36), (.7, .32), (.78, .34), (.96, .48), (.96, .78), (.04, .78)]],
    8: [[(.1, .4), (.9, .4), (.92, .92), (.08, .92)],
        [(.14, .4), (.3, .08), (.7, .08), (.86, .4), (.8, .4), (.66, .14), (.34, .14), (.2, .4)]],
    9: [[(.4, .04), (.74, .04), (.76, .6), (.86, .66), (.88, .94), (.74, .94), (.7, .84), (.3, .84), (.06, .92),
         (.04, .78), (.16, .66), (.38, .58)]],
}
DETAILS_B = {1: [[(.27, .12), (.73, .12)]], 2: [[(.22, .8), (.78, .8)], [(.05, .74), (.16, .74)], [(.84, .74), (.95, .74)]],
             3: [[(.4, .46), (.6, .46)]], 4: [[(.4, .06), (.5, .34), (.6, .06)], [(.5, .2), (.5, .98)]],
             6: [[(.4, .04), (.44, .18), (.5, .12), (.56, .18), (.6, .04)], [(.5, .12), (.5, .96)]],
             7: [[(.04, .7), (.96, .7)], [(.5, .4), (.58, .5)], [(.56, .37), (.64, .47)]],
             8: [[(.1, .4), (.5, .62), (.9, .4)]], 9: [[(.6, .06), (.6, .6)]]}
DOTS_B = {4: [(.45, .45), (.45, .6), (.45, .75)], 6: [(.52, .3), (.52, .5), (.52, .7)], 8: [(.5, .6)]}


def garment(label: int, rng: random.Random, size: int = 220, backdrop=(245, 245, 245), cut: str = "a") -> Image.Image:
    img = Image.new("RGB", (size, size), backdrop)
    mask = Image.new("L", (size, size), 0)
    d, m = ImageDraw.Draw(img), ImageDraw.Draw(mask)
    s, ox, oy = size * rng.uniform(0.7, 0.9), size * rng.uniform(0.05, 0.15), size * rng.uniform(0.05, 0.15)
    colour = tuple(rng.randint(20, 200) for _ in range(3))
    shapes, details, dots = (SHAPES, DETAILS, {}) if cut == "a" else (SHAPES_B, DETAILS_B, DOTS_B)
    for poly in shapes[label]:
        pts = [(ox + x * s, oy + y * s) for x, y in poly]
        d.polygon(pts, fill=colour)
        m.polygon(pts, fill=255)
    dark = tuple(max(0, c - 60) for c in colour)
    for line in details.get(label, []):
        d.line([(ox + x * s, oy + y * s) for x, y in line], fill=dark, width=3)
    for x, y in dots.get(label, []):  # buttons
        d.ellipse([ox + x * s - 4, oy + y * s - 4, ox + x * s + 4, oy + y * s + 4], fill=dark)
    a = np.asarray(img).astype(np.float32)
    yy, xx = np.mgrid[0:size, 0:size] / size
    fold = 1 + 0.18 * np.sin(xx * rng.uniform(6, 12) + yy * rng.uniform(2, 5))  # folds in the cloth
    noise = np.random.default_rng(rng.randint(0, 2**31)).normal(0, 6, a.shape[:2])
    inside = (np.asarray(mask) > 0)[..., None]
    a = np.where(inside, a * fold[..., None] + noise[..., None], a)
    return Image.fromarray(a.clip(0, 255).astype(np.uint8))


def photographed(img: Image.Image, rng: random.Random) -> bytes:
    w, h = 400, 400
    tint = tuple(rng.randint(200, 245) for _ in range(3))
    frame = Image.new("RGB", (w, h), tint)
    side = int(w * rng.uniform(0.55, 0.8))
    small = img.resize((side, side), Image.BILINEAR)
    mask = Image.fromarray(((np.asarray(small).astype(int) - np.asarray(small)[0, 0]).__abs__().sum(2) > 30)
                           .astype(np.uint8) * 255).filter(ImageFilter.MaxFilter(3))
    x, y = rng.randint(0, w - side), rng.randint(0, h - side)
    shadow = Image.new("L", (w, h), 0)
    shadow.paste(mask, (x + 8, y + 10))
    shadow = shadow.filter(ImageFilter.GaussianBlur(8))
    a = np.asarray(frame).astype(np.float32) * (1 - 0.25 * np.asarray(shadow)[..., None] / 255)
    frame = Image.fromarray(a.clip(0, 255).astype(np.uint8))
    frame.paste(small, (x, y), mask)
    a = np.asarray(frame).astype(np.float32)
    light = 0.8 + 0.25 * np.linspace(0, 1, w)[None, :] if rng.random() < 0.5 else 1.05 - 0.25 * np.linspace(0, 1, h)[:, None]
    a = a * np.broadcast_to(light, (h, w))[..., None] + np.random.default_rng(rng.randint(0, 2**31)).normal(0, 3, a.shape)
    buf = io.BytesIO()
    Image.fromarray(a.clip(0, 255).astype(np.uint8)).save(buf, "JPEG", quality=rng.randint(55, 85))
    return buf.getvalue()


def build(per_label: int = 3, seed: int = 0, cut: str = "a") -> dict[str, int]:
    """The render and photo kinds of one cut (cut "b": the kinds render-b and photo-b, their own seed)."""
    rng = random.Random(seed)
    suffix = "" if cut == "a" else f"-{cut}"
    files = {f"render{suffix}": [], f"photo{suffix}": []}
    for label in range(10):
        for n in range(per_label):
            buf = io.BytesIO()
            garment(label, rng, backdrop=tuple([rng.randint(235, 255)] * 3), cut=cut).save(buf, "PNG", optimize=True)
            files[f"render{suffix}"].append((f"{label}_{n}.png", buf.getvalue()))
            files[f"photo{suffix}"].append((f"{label}_{n}.jpg", photographed(garment(label, rng, cut=cut), rng)))
    return write_kinds(OUT, files)


if __name__ == "__main__":
    import sys
    # --cut-b: only the second cut's kinds (the first cut's pictures stay byte for byte as they are)
    print(build(seed=1, cut="b") if "--cut-b" in sys.argv[1:] else {**build(), **build(seed=1, cut="b")})
