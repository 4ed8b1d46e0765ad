"""A small generated image classification set, written as PNG files in ImageFolder layout.

    generate(out_dir, classes=10, per_class=500, size=64, seed=0)
        out_dir/train/<class>/<k>.png   k = 0 .. per_class - 1
        out_dir/val/<class>/<k>.png     k = 0 .. val_per_class - 1   (default per_class // 5)

Every image is one object over a cluttered background; the class is what the object is.
The kinds, in the order ``classes=n`` takes the first n of them:

    circle        a filled disc, slightly elliptic (axis ratio 0.8-1), rotated
    square        a filled square, slightly rectangular (axis ratio 0.8-1), rotated
    triangle      a filled triangle whose corners are jittered off the equilateral ones
    star          a filled five-pointed star, inner radius 0.38-0.52 of the outer one
    cross         a filled plus sign, its arms 0.15-0.225 of its span wide, rotated
    ring          an annulus, its hole 0.45-0.7 of the outer radius
    stripes       parallel stripes (period 6-10 px at 64 px) filling a disc or a square patch
    checkerboard  a two-colour checkerboard (cells 6-10 px) filling a disc or a square patch
    dots          dots (radius 0.22-0.3 of their spacing, 7-10 px), each jittered off a grid,
                  filling a disc or a square patch
    spiral        an Archimedean spiral stroke of 1.6-2.6 turns, either handedness
    crescent      a disc with an off-centre disc cut out of it
    zigzag        a thick polyline of 4-6 segments turning back and forth

Only the object decides the class; everything else varies independently of it:

    position      anywhere that keeps the object inside the image, with a margin
    scale         the object's radius from 0.22 to 0.38 of the image side (the textures' patch too)
    rotation      uniform over all angles (a random turn of the pattern for the textures)
    colour        random object colour at a distance of at least 0.4 (RGB in [0, 1]) from the
                  background under it, shaded by a linear ramp of up to +-20%; the gaps of the stripes
                  and dots are either transparent or a second colour, the checkerboard's always
                  a second colour
    background    a linear gradient between two random colours in a random direction, plus
                  low-frequency colour blotches
    distractors   1-3 thin straight strokes of random colour, length and direction behind the
                  object, and with probability 0.3 one more over it
    noise         per-pixel Gaussian noise, sigma 0.02-0.06, added last

Shapes are drawn with Pillow at 4x the image size and reduced (box filter), so edges are
anti-aliased. Each image draws from its own generator, np.random.default_rng([seed, class, k,
split]) with class the kind's index above and split 0 for train and 1 for val, so an image does
not depend on the order of generation or on how many classes or images were asked for, and the
same arguments give byte-identical files.
"""
import os
import re

import numpy as np
from PIL import Image, ImageDraw

from tinynet.validate import is_int

KINDS = (
    "circle", "square", "triangle", "star", "cross", "ring",
    "stripes", "checkerboard", "dots", "spiral", "crescent", "zigzag",
)
SPLITS = ("train", "val")
MIN_SIZE = 16
MAX_SIZE = 1024  # the masks are drawn at SUPERSAMPLE x this: 4096 x 4096 canvases at most
SUPERSAMPLE = 4  # masks are drawn at SUPERSAMPLE x the image side, then box-reduced
_NAME = re.compile(r"[0-9]+\.png")

# How hard the set is: ranges drawn from per image (sizes as fractions of the image side).
CLUTTER = dict(
    radius=(0.22, 0.38),        # object radius
    min_contrast=0.4,           # RGB distance of the object's colour from the background under it
    blotches=(0.05, 0.15),      # amplitude of the low-frequency colour blotches
    distractors=(1, 3),         # thin strokes behind the object (inclusive range)
    over=0.3,                   # probability of one more stroke over the object
    noise=(0.02, 0.06),         # sigma of the per-pixel Gaussian noise
)


# --------------------------------------------------------------------------------------------- masks

def _canvas(size):
    img = Image.new("L", (size * SUPERSAMPLE, size * SUPERSAMPLE), 0)
    return img, ImageDraw.Draw(img)


def _to_mask(img):
    """Supersampled 'L' image -> float32 (size, size) coverage in [0, 1]."""
    return np.asarray(img.reduce(SUPERSAMPLE), dtype=np.float32) / 255.0


def _scaled(points):
    """Image coordinates (n, 2) -> list of supersampled (x, y) tuples for ImageDraw (pixel centres at +0.5)."""
    return [tuple(p) for p in ((np.asarray(points) + 0.5) * SUPERSAMPLE - 0.5).tolist()]


def _polygon(angles, radii, cx, cy, rot, aspect=1.0):
    """Vertices at polar (angle, radius) around (cx, cy), squeezed by ``aspect`` along one axis, then rotated."""
    x, y = radii * np.cos(angles), aspect * radii * np.sin(angles)
    c, s = np.cos(rot), np.sin(rot)
    return np.stack([cx + c * x - s * y, cy + s * x + c * y], axis=1)


def _fill(size, *polys, holes=()):
    img, draw = _canvas(size)
    for p in polys:
        draw.polygon(_scaled(p), fill=255)
    for p in holes:
        draw.polygon(_scaled(p), fill=0)
    return _to_mask(img)


def _circle_points(cx, cy, r, rot=0.0, aspect=1.0, n=64):
    return _polygon(np.linspace(0, 2 * np.pi, n, endpoint=False), np.full(n, r), cx, cy, rot, aspect)


def _shape_mask(kind, rng, size, cx, cy, r):
    """Coverage (size, size) of one of the solid kinds, centred at (cx, cy) with radius about r."""
    rot = rng.uniform(0, 2 * np.pi)
    if kind == "circle":
        return _fill(size, _circle_points(cx, cy, r, rot, rng.uniform(0.8, 1.0)))
    if kind == "square":
        a = np.pi / 4 + np.arange(4) * np.pi / 2
        return _fill(size, _polygon(a, np.full(4, r), cx, cy, rot, rng.uniform(0.8, 1.0)))
    if kind == "triangle":
        a = np.arange(3) * 2 * np.pi / 3 + rng.uniform(-0.25, 0.25, 3)
        return _fill(size, _polygon(a, r * rng.uniform(0.95, 1.15, 3), cx, cy, rot))
    if kind == "star":
        a = np.arange(10) * np.pi / 5
        radii = np.where(np.arange(10) % 2 == 0, 1.15 * r, 1.15 * r * rng.uniform(0.38, 0.52))
        return _fill(size, _polygon(a, radii, cx, cy, rot))
    if kind == "cross":
        h = r * rng.uniform(0.15, 0.225)  # half the arm width; arms reach r
        xs = np.array([h, r, r, h, h, -h, -h, -r, -r, -h, -h, h])
        ys = np.array([h, h, -h, -h, -r, -r, -h, -h, h, h, r, r])
        return _fill(size, _polygon(np.arctan2(ys, xs), np.hypot(xs, ys), cx, cy, rot))
    if kind == "ring":
        aspect = rng.uniform(0.85, 1.0)
        hole = _circle_points(cx, cy, r * rng.uniform(0.45, 0.7), rot, aspect)
        return _fill(size, _circle_points(cx, cy, r, rot, aspect), holes=[hole])
    if kind == "crescent":
        d = r * rng.uniform(0.35, 0.6)  # offset of the cut-out disc
        cut = _circle_points(cx + d * np.cos(rot), cy + d * np.sin(rot), r * rng.uniform(0.8, 0.95))
        return _fill(size, _circle_points(cx, cy, r), holes=[cut])
    if kind == "spiral":
        turns = rng.uniform(1.6, 2.6)
        t = np.linspace(0, 1, int(60 * turns))
        theta = rot + (1 if rng.random() < 0.5 else -1) * 2 * np.pi * turns * t
        rad = r * (0.12 + 0.88 * t)
        pts = np.stack([cx + rad * np.cos(theta), cy + rad * np.sin(theta)], axis=1)
        return _stroke(size, pts, r * rng.uniform(0.12, 0.18))
    if kind == "zigzag":
        n = int(rng.integers(4, 7))
        xs = np.linspace(-r, r, n + 1)
        ys = np.where(np.arange(n + 1) % 2 == 0, -1.0, 1.0) * r * rng.uniform(0.35, 0.6)
        pts = _polygon(np.arctan2(ys, xs), np.hypot(xs, ys), cx, cy, rot)
        return _stroke(size, pts, r * rng.uniform(0.14, 0.2))
    raise AssertionError(kind)


def _stroke(size, pts, width):
    img, draw = _canvas(size)
    draw.line(_scaled(pts), fill=255, width=max(1, int(round(width * SUPERSAMPLE))), joint="curve")
    return _to_mask(img)


def _texture(kind, rng, size, cx, cy, r):
    """(pattern, region): pattern (size, size) in [0, 1] of one of the texture kinds, region its patch's coverage."""
    if rng.random() < 0.5:
        region = _fill(size, _circle_points(cx, cy, 1.1 * r))
    else:
        a = np.pi / 4 + np.arange(4) * np.pi / 2
        region = _fill(size, _polygon(a, np.full(4, 1.1 * r), cx, cy, rng.uniform(0, 2 * np.pi)))
    rot = rng.uniform(0, 2 * np.pi)
    y, x = np.mgrid[0:size, 0:size].astype(np.float32)
    u = (x - cx) * np.cos(rot) + (y - cy) * np.sin(rot) + rng.uniform(0, 100)
    v = -(x - cx) * np.sin(rot) + (y - cy) * np.cos(rot) + rng.uniform(0, 100)
    scale = size / 64.0
    if kind == "stripes":
        period = rng.uniform(6.0, 10.0) * scale
        pattern = np.clip(0.5 + 2.0 * np.sin(2 * np.pi * u / period), 0, 1)
    elif kind == "checkerboard":
        cell = rng.uniform(6.0, 10.0) * scale
        pattern = np.clip(0.5 + 6.0 * np.sin(np.pi * u / cell) * np.sin(np.pi * v / cell), 0, 1)
    elif kind == "dots":
        spacing = rng.uniform(7.0, 10.0) * scale
        iu, iv = np.floor(u / spacing), np.floor(v / spacing)
        jitter = rng.uniform(-0.2, 0.2, (2, 16, 16)).astype(np.float32)  # each dot off its cell centre
        cell = (iu.astype(np.int64) % 16, iv.astype(np.int64) % 16)
        du = u / spacing - iu - 0.5 - jitter[0][cell]
        dv = v / spacing - iv - 0.5 - jitter[1][cell]
        dist = np.hypot(du, dv) * spacing
        pattern = np.clip(rng.uniform(0.22, 0.3) * spacing - dist + 0.5, 0, 1)
    else:
        raise AssertionError(kind)
    return pattern.astype(np.float32), region


# ---------------------------------------------------------------------------------------- background

def _background(rng, size):
    """(size, size, 3) float32: a two-colour linear gradient plus low-frequency colour blotches."""
    c0, c1 = rng.uniform(0, 1, (2, 3)).astype(np.float32)
    ang = rng.uniform(0, 2 * np.pi)
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) / (size - 1) - 0.5
    t = np.clip(0.5 + x * np.cos(ang) + y * np.sin(ang), 0, 1)[..., None]
    bg = (1 - t) * c0 + t * c1
    low = rng.uniform(-1, 1, (4, 4, 3)).astype(np.float32)
    blotches = [np.asarray(Image.fromarray(low[..., i]).resize((size, size), Image.BICUBIC))
                for i in range(3)]
    bg += rng.uniform(*CLUTTER["blotches"]) * np.stack(blotches, axis=-1)
    return bg


def _distractors(rng, img, count, size):
    """Draw ``count`` thin straight strokes of random colour onto the float image ``img`` in place."""
    for _ in range(count):
        p0 = rng.uniform(0, size, 2)
        ang, length = rng.uniform(0, 2 * np.pi), rng.uniform(0.2, 0.8) * size
        p1 = p0 + length * np.array([np.cos(ang), np.sin(ang)])
        mask = _stroke(size, np.stack([p0, p1]), rng.uniform(0.8, 2.0) * size / 64.0)[..., None]
        img *= 1 - mask
        img += mask * rng.uniform(0, 1, 3).astype(np.float32)


def _colour_far_from(rng, ref, min_dist):
    for _ in range(20):
        c = rng.uniform(0, 1, 3).astype(np.float32)
        if np.linalg.norm(c - ref) >= min_dist:
            break
    return c


def render(kind, rng, size=64):
    """One image of ``kind`` as a uint8 array (size, size, 3), drawn from the numpy Generator ``rng``."""
    img = _background(rng, size)
    low, high = CLUTTER["distractors"]
    _distractors(rng, img, int(rng.integers(low, high + 1)), size)

    r = rng.uniform(*CLUTTER["radius"]) * size
    margin = r + 0.04 * size
    cx, cy = rng.uniform(margin, size - 1 - margin, 2)
    if kind in ("stripes", "checkerboard", "dots"):
        pattern, region = _texture(kind, rng, size, cx, cy, r)
    else:
        pattern, region = _shape_mask(kind, rng, size, cx, cy, r), None

    cover = pattern if region is None else region
    under = (img * cover[..., None]).sum(axis=(0, 1)) / max(float(cover.sum()), 1e-6)
    colour = _colour_far_from(rng, under, CLUTTER["min_contrast"])
    ang = rng.uniform(0, 2 * np.pi)
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) / size - 0.5
    shade = 1 + rng.uniform(-0.3, 0.3) * (x * np.cos(ang) + y * np.sin(ang))
    fg = np.clip(colour * shade[..., None], 0, 1)
    two_tone = region is not None and (kind == "checkerboard" or rng.random() < 0.5)
    if two_tone:  # textures: gaps of a second colour instead of see-through (always for the checkerboard)
        gap = _colour_far_from(rng, colour, CLUTTER["min_contrast"])
        fg = pattern[..., None] * fg + (1 - pattern[..., None]) * gap
        alpha = region
    else:
        alpha = pattern if region is None else pattern * region
    img = img * (1 - alpha[..., None]) + fg * alpha[..., None]

    if rng.random() < CLUTTER["over"]:
        _distractors(rng, img, 1, size)
    img += rng.uniform(*CLUTTER["noise"]) * rng.standard_normal(img.shape, dtype=np.float32)
    return (np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8)


# ------------------------------------------------------------------------------------------ generate

def _check_args(classes, per_class, val_per_class, size, seed):
    """Refuse bad arguments before anything is written, naming each by its `tinynet data synth` flag."""
    if not is_int(classes) or not 2 <= classes <= len(KINDS):
        raise ValueError(f"--classes {classes!r}: need an integer from 2 to {len(KINDS)} (a classification "
                         f"set needs two classes at least, and there are {len(KINDS)} kinds: {', '.join(KINDS)})")
    if not is_int(per_class) or per_class < 1:
        raise ValueError(f"--per-class {per_class!r}: need an integer >= 1 (training images per class)")
    if val_per_class is None:
        if per_class // 5 < 1:
            raise ValueError(f"--per-class {per_class} gives {per_class // 5} validation images per class (the "
                             f"default is a fifth of it, rounded down); pass --val-per-class N (N >= 1) or a "
                             f"--per-class of at least 5")
    elif not is_int(val_per_class) or val_per_class < 1:
        raise ValueError(f"--val-per-class {val_per_class!r}: need an integer >= 1 (validation images per class; "
                         f"every class needs some)")
    if not is_int(size) or not MIN_SIZE <= size <= MAX_SIZE:
        raise ValueError(f"--size {size!r}: need an integer from {MIN_SIZE} (the smallest the generator draws) "
                         f"to {MAX_SIZE} pixels (the image side)")
    if not is_int(seed) or seed < 0:
        raise ValueError(f"--seed {seed!r}: need an integer >= 0")


def _check_out_dir(out_dir):
    """Refuse an ``out_dir`` that is a file or holds anything this generator would not have written.

    Accepted: a missing or empty folder, or one holding only train/ and val/ with <kind>/<k>.png
    inside (an earlier run, whose files are replaced). ``out_dir`` may itself be a link to such a
    folder, but a link inside it is refused: the generator never writes one, and the files behind
    it could be overwritten or deleted.
    """
    def foreign(path):
        return ValueError(f"--out {out_dir!r}: {path} was not written by this generator; choose a new or "
                          f"empty folder (only an earlier `tinynet data synth` output is overwritten)")

    if os.path.lexists(out_dir) and not os.path.isdir(out_dir):
        what = "a broken link" if os.path.islink(out_dir) else "a file, not a folder"
        raise ValueError(f"--out {out_dir!r} is {what}; choose a new or empty folder")
    if not os.path.isdir(out_dir):
        return
    for split in sorted(os.listdir(out_dir)):
        d = os.path.join(out_dir, split)
        if split not in SPLITS or os.path.islink(d) or not os.path.isdir(d):
            raise foreign(d)
        for name in sorted(os.listdir(d)):
            path = os.path.join(d, name)
            if name not in KINDS or os.path.islink(path) or not os.path.isdir(path):
                raise foreign(path)
            for f in sorted(os.listdir(path)):
                file = os.path.join(path, f)
                if not _NAME.fullmatch(f) or os.path.islink(file) or not os.path.isfile(file):
                    raise foreign(file)


def _remove_stale(out_dir, names, counts):
    """Delete <k>.png files (and class folders) an earlier, larger run left behind."""
    for split in SPLITS:
        d = os.path.join(out_dir, split)
        if not os.path.isdir(d):
            continue
        for name in os.listdir(d):
            path = os.path.join(d, name)
            for f in os.listdir(path):
                if name not in names or int(f[:-4]) >= counts[split]:
                    os.remove(os.path.join(path, f))
            if name not in names:
                os.rmdir(path)


def generate(out_dir, classes=10, per_class=500, size=64, seed=0, val_per_class=None):
    """Write the synthetic set under ``out_dir`` and return a summary.

    Args:
        out_dir: folder to write train/<class>/<k>.png and val/<class>/<k>.png into (created if
            missing). It must be new, empty, or an earlier run's output (whose files are replaced,
            and the extra ones of a larger run removed); a file, or a folder holding anything
            else (a link inside it included), is refused before anything is written.
        classes: how many kinds to use, the first ``classes`` of KINDS (2 to len(KINDS)).
        per_class: training images per class, at least 1.
        size: side of the square RGB images, MIN_SIZE (16) to MAX_SIZE (1024).
        seed: non-negative integer; the same arguments give byte-identical files.
        val_per_class: validation images per class, at least 1 (default per_class // 5, so a
            per_class below 5 needs it given).

    Every check runs before anything is written; a bad argument raises a ValueError that names it
    by its `tinynet data synth` flag (``per_class`` is ``--per-class``, ``out_dir`` is ``--out``), in
    a message that reads alone on one line.

    Returns:
        {"root": out_dir, "classes": [names], "size": size, "seed": seed,
         "per_class": {"train": n, "val": m}, "counts": {"train": classes * n, "val": classes * m}}
    """
    _check_args(classes, per_class, val_per_class, size, seed)
    if val_per_class is None:
        val_per_class = per_class // 5
    if not isinstance(out_dir, (str, os.PathLike)) or not isinstance(os.fspath(out_dir), str) or not os.fspath(out_dir):
        raise ValueError(f"--out {out_dir!r}: need a folder path")
    out_dir = os.fspath(out_dir)
    names = list(KINDS[:classes])
    counts = {"train": int(per_class), "val": int(val_per_class)}
    try:
        _check_out_dir(out_dir)
        os.makedirs(out_dir, exist_ok=True)
    except OSError as e:
        raise ValueError(f"--out {out_dir!r}: cannot use the folder: {e.strerror or type(e).__name__}"
                         + (f" ({e.filename})" if e.filename else "")) from e
    _remove_stale(out_dir, names, counts)
    for split_index, split in enumerate(SPLITS):
        for class_index, name in enumerate(names):
            folder = os.path.join(out_dir, split, name)
            os.makedirs(folder, exist_ok=True)
            for k in range(counts[split]):
                rng = np.random.default_rng([seed, class_index, k, split_index])
                Image.fromarray(render(name, rng, size)).save(os.path.join(folder, f"{k}.png"),
                                                              format="PNG", compress_level=1)
    return {
        "root": out_dir,
        "classes": names,
        "size": int(size),
        "seed": int(seed),
        "per_class": counts,
        "counts": {split: classes * n for split, n in counts.items()},
    }
