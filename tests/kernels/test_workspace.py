"""kernels.workspace: a buffer is handed out again only once nothing references it."""
import numpy as np
import pytest

from kernels import workspace

BIG = (512, 1024)  # 2 MB of float32: above MIN_BYTES


@pytest.fixture(autouse=True)
def fresh_pool():
    workspace.clear()
    yield
    workspace.clear()


def test_a_released_buffer_is_reused():
    a = workspace.empty(BIG, np.float32)
    address = a.ctypes.data
    del a
    b = workspace.empty(BIG, np.float32)
    assert b.ctypes.data == address
    assert b.shape == BIG and b.dtype == np.float32 and b.flags.c_contiguous


def test_a_buffer_in_use_is_never_handed_out_twice():
    a = workspace.empty(BIG, np.float32)
    b = workspace.empty(BIG, np.float32)
    assert not np.shares_memory(a, b)


@pytest.mark.parametrize("keep", ["view", "slice", "transpose", "reshape"])
def test_a_view_keeps_its_buffer_busy(keep):
    a = workspace.empty(BIG, np.float32)
    a.fill(7.0)
    view = {"view": a.view(), "slice": a[3:5], "transpose": a.T, "reshape": a.reshape(-1)}[keep]
    del a
    b = workspace.empty(BIG, np.float32)
    b.fill(-1.0)
    assert not np.shares_memory(view, b)
    assert (view == 7.0).all()


def test_shape_and_dtype_must_match():
    a = workspace.empty(BIG, np.float32)
    address = a.ctypes.data
    del a
    assert workspace.empty(BIG, np.float64).ctypes.data != address
    assert workspace.empty((1024, 512), np.float32).ctypes.data != address


def test_small_arrays_are_not_kept():
    workspace.empty((4, 4), np.float32)
    assert workspace.held_bytes() == 0


def test_at_most_max_per_shape_buffers_are_kept():
    held = [workspace.empty(BIG, np.float32) for _ in range(workspace.MAX_PER_SHAPE + 2)]
    assert len({a.ctypes.data for a in held}) == len(held)
    assert workspace.held_bytes() == workspace.MAX_PER_SHAPE * held[0].nbytes


def test_conv_training_steps_reuse_their_column_buffers(monkeypatch):
    """Two training steps of a conv layer keeping its columns: the second step's im2col lands in the first
    one's buffer, and the gradients are the same as with fresh memory."""
    import tinynet
    from tinynet import functional as F
    from tinynet.functional import conv

    monkeypatch.setattr(conv, "KEEP_COLUMNS", True)
    rng = np.random.default_rng(0)
    x = tinynet.Tensor(rng.standard_normal((4, 8, 32, 32), dtype=np.float32), requires_grad=True)
    w = tinynet.Tensor(rng.standard_normal((16, 8, 3, 3), dtype=np.float32), requires_grad=True)
    grads = []
    for _ in range(2):
        x.grad = w.grad = None
        y = F.conv2d(x, w, padding=1)
        col = y.grad_fn.col
        y.sum().backward()
        grads.append((x.grad.numpy().copy(), w.grad.numpy().copy(), col.ctypes.data))
        del y, col
    np.testing.assert_array_equal(grads[0][0], grads[1][0])
    np.testing.assert_array_equal(grads[0][1], grads[1][1])
    assert grads[0][2] == grads[1][2]
