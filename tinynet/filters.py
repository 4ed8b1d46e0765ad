"""The learned first-layer kernels as an image grid, as in the AlexNet paper's figure of 96 kernels.

Each kernel (3, kH, kW) is scaled on its own to fill [0, 255] (its minimum is
black, its maximum white), shown as an RGB tile, and the tiles are laid out in
a grid with a one-pixel gap, then enlarged without smoothing: each kernel pixel
becomes a ``scale`` x ``scale`` block.

Without a ``scale``, ``auto_scale`` picks the smallest one that makes the grid at
least ``MIN_WIDTH`` (480) pixels wide, but never one past ``MAX_WIDTH`` (1200),
and at least 1: the mini model's 32 kernels of 5x5 (7 columns, 41 pixels) at
scale 12 are 492 pixels wide; the seed model's 96 kernels of 11x11 (12 columns,
143 pixels) at scale 4, 572.
"""
import math

import numpy as np

MIN_WIDTH, MAX_WIDTH = 480, 1200  # the automatic scale's target for the grid's width, in pixels


def grid_shape(oc, columns=None):
    """(rows, columns) of the grid of ``oc`` kernels: a landscape grid, 96 -> 12 columns x 8 rows."""
    columns = columns or math.ceil(math.sqrt(oc * 4 / 3))
    return math.ceil(oc / columns), columns


def auto_scale(width):
    """The scale for a grid ``width`` pixels wide (before enlarging): the smallest that reaches MIN_WIDTH,
    capped so that the grid stays within MAX_WIDTH, and at least 1."""
    return max(1, min(math.ceil(MIN_WIDTH / width), MAX_WIDTH // width))


def filter_grid(weight, columns=None, scale=None):
    """(OC, C, kH, kW) array, C = 1 or 3 -> (rows*(kH+1)-1)*s x (cols*(kW+1)-1)*s x 3 uint8 image.

    s = ``scale``, or ``auto_scale`` of the grid's width when None.
    """
    oc, c, kh, kw = weight.shape
    if c not in (1, 3):
        raise ValueError(f"filters: first-layer kernels need 1 or 3 input channels to show as images, got {c}")
    rows, columns = grid_shape(oc, columns)
    grid = np.full((rows * (kh + 1) - 1, columns * (kw + 1) - 1, 3), 255, dtype=np.uint8)
    for i, k in enumerate(weight):
        k = k.astype(np.float64)
        lo, hi = k.min(), k.max()
        tile = (k - lo) / (hi - lo) if hi > lo else np.zeros_like(k)
        tile = np.repeat(tile, 3, axis=0) if c == 1 else tile
        r, col = divmod(i, columns)
        grid[r * (kh + 1):r * (kh + 1) + kh, col * (kw + 1):col * (kw + 1) + kw] = np.round(
            255 * tile.transpose(1, 2, 0)).astype(np.uint8)
    scale = auto_scale(grid.shape[1]) if scale is None else scale
    return np.repeat(np.repeat(grid, scale, axis=0), scale, axis=1)


def save_filter_grid(weight, path, scale=None):
    """``filter_grid(weight, scale=scale)`` written to ``path`` (the format from its extension); returns path."""
    from PIL import Image

    Image.fromarray(filter_grid(weight, scale=scale)).save(path)
    return path
