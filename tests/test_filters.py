"""The conv1 kernel grid: layout, per-kernel scaling."""
import numpy as np

from tinynet.filters import filter_grid, save_filter_grid


def test_grid_layout_for_96_kernels_is_12_by_8_with_gaps():
    w = np.random.default_rng(0).standard_normal((96, 3, 11, 11))
    img = filter_grid(w, scale=1)
    assert img.shape == (8 * 12 - 1, 12 * 12 - 1, 3) and img.dtype == np.uint8
    assert (img[11, :, :] == 255).all() and (img[:, 11, :] == 255).all()  # the one-pixel gaps


def test_each_kernel_is_scaled_to_the_full_range():
    w = np.zeros((2, 3, 2, 2))
    w[0, 0, 0, 0], w[0, 2, 1, 1] = -3.0, 5.0  # kernel 0: min -3 -> 0, max 5 -> 255, zeros -> 96
    w[1] = 0.001 * np.arange(12).reshape(3, 2, 2)  # kernel 1: tiny values still span 0..255
    img = filter_grid(w, columns=2, scale=1)
    k0, k1 = img[:2, :2], img[:2, 3:5]
    assert k0[0, 0, 0] == 0 and k0[1, 1, 2] == 255 and k0[0, 1, 1] == round(255 * 3 / 8)
    assert k1.min() == 0 and k1.max() == 255


def test_save_writes_a_png(tmp_path):
    from PIL import Image

    path = save_filter_grid(np.random.default_rng(0).standard_normal((4, 3, 5, 5)), tmp_path / "f.png", scale=2)
    # 4 kernels -> ceil(sqrt(4 * 4/3)) = 3 columns, 2 rows, tiles of 5 + 1 gap, doubled
    assert Image.open(path).size == (2 * (3 * 6 - 1), 2 * (2 * 6 - 1))
