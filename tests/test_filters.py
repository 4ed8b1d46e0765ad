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


def test_auto_scale_makes_the_mini_models_32_kernels_of_5x5_readable():
    # 7 columns of 5 + 1 gap - 1 = 41 pixels; scale 12 -> 492, the first at least 480 wide
    img = filter_grid(np.random.default_rng(0).standard_normal((32, 3, 5, 5)))
    assert img.shape == (12 * (5 * 6 - 1), 12 * (7 * 6 - 1), 3)
    assert 480 <= img.shape[1] <= 1200


def test_auto_scale_keeps_the_seed_models_96_kernels_of_11x11_a_sensible_size():
    # 12 columns of 11 + 1 gap - 1 = 143 pixels; scale 4 -> 572
    img = filter_grid(np.random.default_rng(0).standard_normal((96, 3, 11, 11)))
    assert img.shape == (4 * (8 * 12 - 1), 4 * 143, 3)
    assert 480 <= img.shape[1] <= 1200


def test_auto_scale_rule():
    from tinynet.filters import MAX_WIDTH, MIN_WIDTH, auto_scale

    assert auto_scale(41) == 12 and auto_scale(143) == 4 and auto_scale(MIN_WIDTH) == 1
    assert auto_scale(300) == 2 and auto_scale(500) == 1 and auto_scale(5000) == 1  # never below 1
    assert all(auto_scale(w) * w <= MAX_WIDTH for w in range(1, MAX_WIDTH + 1))


def test_an_explicit_scale_overrides_the_automatic_one():
    w = np.random.default_rng(0).standard_normal((32, 3, 5, 5))
    assert filter_grid(w, scale=4).shape[1] == 4 * 41
