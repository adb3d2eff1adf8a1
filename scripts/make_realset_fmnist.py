"""Build realset/fmnist: garments rendered as product photos on plain backgrounds, from outside Fashion-MNIST.

python scripts/make_realset_fmnist.py

Kinds, each a folder of pictures named <label>_<n>.<ext>:
  render   a garment's silhouette filled with a colour, a fold shading and a little texture, on a plain
           light background (a catalogue photo)
  photo    the same on a tinted backdrop, lit from one side, with a soft shadow, noise and JPEG, off-centre
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


def garment(label: int, rng: random.Random, size: int = 220, backdrop=(245, 245, 245)) -> Image.Image:
    img = Image.new("RGB", (size, size), backdrop)
    mask = Image.new("L", (size, size), 0)
    d, m = ImageDraw.Draw(img), ImageDraw.Draw(mask)
    s, ox, oy = size * rng.uniform(0.7, 0.9), size * rng.uniform(0.05, 0.15), size * rng.uniform(0.05, 0.15)
    colour = tuple(rng.randint(20, 200) for _ in range(3))
    for poly in SHAPES[label]:
        pts = [(ox + x * s, oy + y * s) for x, y in poly]
        d.polygon(pts, fill=colour)
        m.polygon(pts, fill=255)
    for line in DETAILS.get(label, []):
        d.line([(ox + x * s, oy + y * s) for x, y in line], fill=tuple(max(0, c - 60) for c in colour), width=3)
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


def build(per_label: int = 3, seed: int = 0) -> dict[str, int]:
    rng = random.Random(seed)
    files = {"render": [], "photo": []}
    for label in range(10):
        for n in range(per_label):
            buf = io.BytesIO()
            garment(label, rng, backdrop=tuple([rng.randint(235, 255)] * 3)).save(buf, "PNG", optimize=True)
            files["render"].append((f"{label}_{n}.png", buf.getvalue()))
            files["photo"].append((f"{label}_{n}.jpg", photographed(garment(label, rng), rng)))
    return write_kinds(OUT, files)


if __name__ == "__main__":
    print(build())
