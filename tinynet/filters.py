"""The learned first-layer kernels as an image grid, as in the AlexNet paper's figure of 96 kernels.

Each kernel (3, kH, kW) is scaled on its own to fill [0, 255] (its minimum is
black, its maximum white), shown as an RGB tile, and the tiles are laid out in
a grid with a one-pixel gap, then enlarged without smoothing.
"""
import math

import numpy as np


def filter_grid(weight, columns=None, scale=4):
    """(OC, 3, kH, kW) array -> (rows*(kH+1)-1)*scale x (cols*(kW+1)-1)*scale x 3 uint8 image."""
    oc, c, kh, kw = weight.shape
    if c not in (1, 3):
        raise ValueError(f"filters: first-layer kernels need 1 or 3 input channels to show as images, got {c}")
    columns = columns or math.ceil(math.sqrt(oc * 4 / 3))  # a landscape grid, 96 -> 12 columns x 8 rows
    rows = math.ceil(oc / columns)
    grid = np.full((rows * (kh + 1) - 1, columns * (kw + 1) - 1, 3), 255, dtype=np.uint8)
    for i, k in enumerate(weight):
        k = k.astype(np.float64)
        lo, hi = k.min(), k.max()
        tile = (k - lo) / (hi - lo) if hi > lo else np.zeros_like(k)
        tile = np.repeat(tile, 3, axis=0) if c == 1 else tile
        r, col = divmod(i, columns)
        grid[r * (kh + 1):r * (kh + 1) + kh, col * (kw + 1):col * (kw + 1) + kw] = np.round(
            255 * tile.transpose(1, 2, 0)).astype(np.uint8)
    return np.repeat(np.repeat(grid, scale, axis=0), scale, axis=1)


def save_filter_grid(weight, path, scale=4):
    from PIL import Image

    Image.fromarray(filter_grid(weight, scale=scale)).save(path)
    return path
