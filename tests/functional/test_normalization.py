"""local_response_norm: PyTorch's definition (alpha / size, window [c - size//2, c + (size-1)//2]).

alpha is large (1.0) in most tests so the window's contribution is far above the
tolerances: with AlexNet's alpha = 1e-4 a wrong window or a missing cross term
in the backward would be lost in the rounding.
"""
import numpy as np
import pytest

import tinynet
import tinynet.functional as F
from tests.helpers import host, rand, tensor
from tinynet.functional.reference import local_response_norm as lrn_reference


@pytest.mark.parametrize("size", [1, 2, 3, 4, 5, 6])
def test_lrn_forward_matches_loop_reference(device, rng, size):
    """Odd and even windows (even ones reach one channel further back than forward), clipped at the edges."""
    x = rand(rng, (2, 6, 3, 2), device, requires_grad=False, low=-2.0, high=2.0)
    y = F.local_response_norm(x, size, alpha=1.0, beta=0.75, k=2.0)
    np.testing.assert_allclose(host(y), lrn_reference(host(x), size, 1.0, 0.75, 2.0), rtol=1e-12)


def test_lrn_forward_alexnet_constants(device, rng):
    """AlexNet's constants in PyTorch's convention (size 5, alpha 5e-4, beta 0.75, k 2) and the defaults."""
    x = rand(rng, (1, 8, 3, 3), device, requires_grad=False, low=-10.0, high=10.0)
    np.testing.assert_allclose(host(F.local_response_norm(x, 5, alpha=5e-4, beta=0.75, k=2.0)),
                               lrn_reference(host(x), 5, 5e-4, 0.75, 2.0), rtol=1e-12)
    np.testing.assert_allclose(host(F.local_response_norm(x, 3)), lrn_reference(host(x), 3), rtol=1e-12)


def test_lrn_hand_computed_even_window(device):
    """size 2, alpha 2, beta 1, k 1 on channels (1, 2, 3): window of c is {c-1, c}, so
    s = 1 + (2/2) * (x_{c-1}^2 + x_c^2) = (2, 6, 14) and y = x / s = (1/2, 2/6, 3/14)."""
    x = tensor(np.array([1.0, 2.0, 3.0]).reshape(1, 3, 1, 1), device)
    y = host(F.local_response_norm(x, 2, alpha=2.0, beta=1.0, k=1.0))
    np.testing.assert_allclose(y.reshape(-1), [1 / 2, 2 / 6, 3 / 14], rtol=1e-15)


def test_lrn_hand_computed_odd_window(device):
    """size 3, alpha 3, beta 1, k 1 on channels (1, 2, 3): window {c-1, c, c+1} clipped,
    s = 1 + (x_{c-1}^2 + x_c^2 + x_{c+1}^2) = (6, 15, 14) and y = (1/6, 2/15, 3/14)."""
    x = tensor(np.array([1.0, 2.0, 3.0]).reshape(1, 3, 1, 1), device)
    y = host(F.local_response_norm(x, 3, alpha=3.0, beta=1.0, k=1.0))
    np.testing.assert_allclose(y.reshape(-1), [1 / 6, 2 / 15, 3 / 14], rtol=1e-15)


def test_lrn_float32_keeps_dtype(device, rng):
    """A float32 input gives a float32 output close to the float64 reference."""
    x = rand(rng, (2, 5, 2, 2), device, requires_grad=False, dtype="float32", low=-2.0, high=2.0)
    y = F.local_response_norm(x, 3, alpha=1.0, beta=0.75, k=2.0)
    assert y.dtype == np.float32
    np.testing.assert_allclose(host(y), lrn_reference(host(x).astype(np.float64), 3, 1.0, 0.75, 2.0), rtol=1e-5)


@pytest.mark.parametrize("shape, size", [
    pytest.param((2, 6, 2, 2), 5, id="odd-size-interior-and-edges"),
    pytest.param((2, 5, 2, 1), 2, id="even-size-2"),
    pytest.param((1, 6, 2, 2), 4, id="even-size-4"),
    pytest.param((2, 3, 2, 2), 5, id="C-smaller-than-size"),
    pytest.param((1, 2, 2, 2), 4, id="C-smaller-than-even-size"),
    pytest.param((2, 1, 3, 3), 5, id="C-equals-1"),
    pytest.param((2, 4, 2, 2), 1, id="size-1"),
])
def test_lrn_gradcheck(device, rng, shape, size):
    """dx, including the cross terms from neighbouring channels' windows, agrees with central differences."""
    x = rand(rng, shape, device, low=-1.5, high=1.5)
    assert tinynet.gradcheck(lambda x: F.local_response_norm(x, size, alpha=1.0, beta=0.75, k=2.0), [x])


def test_lrn_gradcheck_other_constants(device, rng):
    """A different beta and k (beta > 1, k < 1) still checks out: the exponent is not hard-coded."""
    x = rand(rng, (1, 5, 2, 2), device, low=-1.5, high=1.5)
    assert tinynet.gradcheck(lambda x: F.local_response_norm(x, 3, alpha=2.0, beta=1.5, k=0.5), [x])


@pytest.mark.parametrize("size", [2, 3])
def test_lrn_3d_input(device, rng, size):
    """An (N, C, L) input is normalised across C the same way, forward and backward."""
    x = rand(rng, (2, 4, 5), device, low=-1.5, high=1.5)
    y = F.local_response_norm(x, size, alpha=1.0, beta=0.75, k=2.0)
    assert y.shape == (2, 4, 5)
    np.testing.assert_allclose(host(y), lrn_reference(host(x), size, 1.0, 0.75, 2.0), rtol=1e-12)
    assert tinynet.gradcheck(lambda x: F.local_response_norm(x, size, alpha=1.0, beta=0.75, k=2.0), [x])


@pytest.mark.parametrize("shape", [(4, 6), (6,)])
def test_lrn_rejects_inputs_without_channels_and_batch(device, rng, shape):
    """A 2-D (or 1-D) input is a ShapeError naming local_response_norm and the shape."""
    x = rand(rng, shape, device, requires_grad=False)
    with pytest.raises(tinynet.ShapeError) as info:
        F.local_response_norm(x, 3)
    message = str(info.value)
    assert "local_response_norm" in message and str(tuple(shape)) in message


def test_lrn_rejects_size_zero(device, rng):
    """size must be at least 1."""
    x = rand(rng, (1, 3, 2, 2), device, requires_grad=False)
    with pytest.raises(ValueError, match="size"):
        F.local_response_norm(x, 0)


def test_lrn_in_groups_normalises_each_block_of_channels_on_its_own():
    # groups=2: the paper's two GPUs, each normalising its own half of the kernel maps; a window stops at the
    # block's edge, so channel C/2 - 1 no longer sees channel C/2.
    import tinynet
    from tinynet import functional as F
    from tinynet.gradcheck import gradcheck

    rng = np.random.default_rng(5)
    x = tinynet.tensor(rng.standard_normal((2, 8, 3, 3)), requires_grad=True)
    whole = F.local_response_norm(x, 5, alpha=1e-2, k=2.0).numpy()
    halves = F.local_response_norm(x, 5, alpha=1e-2, k=2.0, groups=2).numpy()
    parts = [F.local_response_norm(tinynet.tensor(x.numpy()[:, 4 * g:4 * g + 4]), 5, alpha=1e-2, k=2.0).numpy()
             for g in range(2)]
    np.testing.assert_allclose(halves, np.concatenate(parts, axis=1), rtol=1e-12)
    assert not np.allclose(halves[:, 3], whole[:, 3])  # the edge channel: its window lost channels 4 and 5
    np.testing.assert_array_equal(F.local_response_norm(x, 5, groups=1).numpy(), F.local_response_norm(x, 5).numpy())
    assert gradcheck(lambda t: F.local_response_norm(t, 3, alpha=0.1, k=2.0, groups=4), [x])
    layer = tinynet.nn.LocalResponseNorm(5, groups=2)
    assert "groups=2" in repr(layer) and layer(x).shape == x.shape
    for bad, error in ((0, ValueError), (3, ValueError), (True, TypeError)):
        with pytest.raises(error, match="groups"):
            F.local_response_norm(x, 5, groups=bad)
