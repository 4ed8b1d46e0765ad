"""kernels/random.py: counter-based uniform numbers, one stream per sample."""
import numpy as np
import pytest

import kernels


def test_a_sample_draws_the_same_row_wherever_it_sits_in_a_batch():
    keys = kernels.sample_keys(3, 1, 0, [5, 9, 2, 7])
    batch = kernels.uniform_rows(keys, (4, 6), np.float32)
    alone = kernels.uniform_rows(kernels.sample_keys(3, 1, 0, [9]), (1, 6), np.float32)
    np.testing.assert_array_equal(batch[1], alone[0])
    halves = np.concatenate([kernels.uniform_rows(keys[:2], (2, 6), np.float32),
                             kernels.uniform_rows(keys[2:], (2, 6), np.float32)])
    np.testing.assert_array_equal(halves, batch)


@pytest.mark.parametrize("change", [(4, 1, 0), (3, 2, 0), (3, 1, 1)], ids=["seed", "epoch", "draw"])
def test_each_part_of_the_key_gives_other_numbers(change):
    base = kernels.uniform_rows(kernels.sample_keys(3, 1, 0, [5]), (1, 64), np.float64)
    other = kernels.uniform_rows(kernels.sample_keys(*change, [5]), (1, 64), np.float64)
    assert not np.any(base == other)


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_the_numbers_look_uniform_in_0_1(dtype):
    u = kernels.uniform_rows(kernels.sample_keys(0, 0, 0, np.arange(200)), (200, 500), dtype).astype(np.float64)
    assert u.min() >= 0 and u.max() < 1
    assert abs(u.mean() - 0.5) < 0.003 and abs(u.var() - 1 / 12) < 0.002  # 100,000 numbers: 5 sigma and more
    counts = np.histogram(u, bins=20, range=(0, 1))[0]
    assert counts.min() > 4500 and counts.max() < 5500  # 5000 expected per bin
    rows = u.reshape(200, 500)
    c = np.corrcoef(rows[:, :-1].ravel(), rows[:, 1:].ravel())[0, 1]  # neighbours in a row
    assert abs(c) < 0.02


def test_row_count_must_match_the_keys():
    with pytest.raises(ValueError, match="uniform_rows: 2 keys for 3 rows"):
        kernels.uniform_rows(kernels.sample_keys(0, 0, 0, [1, 2]), (3, 4), np.float32)
