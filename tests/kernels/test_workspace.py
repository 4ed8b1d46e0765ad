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


def test_a_request_takes_a_buffer_of_enough_bytes_whatever_its_shape():
    a = workspace.empty(BIG, np.float32)
    address = a.ctypes.data
    del a
    assert workspace.empty((1024, 512), np.float32).ctypes.data == address  # the same bytes, another shape
    big = workspace.empty(BIG, np.float64)  # twice the bytes: too small, so a new buffer, which replaces it
    big_address = big.ctypes.data
    assert big_address != address and workspace.held_bytes() == big.nbytes
    del big
    assert workspace.empty(BIG, np.float32).ctypes.data == big_address  # the bigger one serves the smaller


def test_small_arrays_are_not_kept():
    workspace.empty((4, 4), np.float32)
    assert workspace.held_bytes() == 0


def test_a_free_buffer_serves_any_request_of_about_its_size():
    # One buffer for arrays of other shapes and dtypes, if it is at least the request and at most SLACK times it.
    a = workspace.empty((1024, 1024), np.float32)  # 4 MiB
    address = a.ctypes.data
    del a
    b = workspace.empty((1400, 1024), np.float16)  # 2.7 MiB: fits
    assert b.ctypes.data == address and b.shape == (1400, 1024) and b.dtype == np.float16 and b.flags.c_contiguous
    c = workspace.empty((600, 1024), np.float32)  # 2.3 MiB: fits, but the buffer is busy
    assert not np.shares_memory(b, c)
    del b
    small = workspace.empty((384, 1024), np.float32)  # 1.5 MiB: the free 4 MiB buffer is more than twice that
    assert small.ctypes.data != address
    assert workspace.held_bytes() == (4 + 2.34375 + 1.5) * 2**20


def test_at_most_max_buffers_are_kept_the_least_recently_used_free_one_goes():
    held = [workspace.empty(BIG, np.float32) for _ in range(workspace.MAX_BUFFERS)]
    first = held[0].ctypes.data
    del held[0]
    extra = workspace.empty(BIG, np.float32)  # reuses the free one
    assert extra.ctypes.data == first
    beyond = workspace.empty(BIG, np.float32)  # none free: handed out, not kept
    assert workspace.held_bytes() == workspace.MAX_BUFFERS * beyond.nbytes
    del held[:3], extra, beyond
    odd = workspace.empty((1500, 1024), np.float32)  # no free buffer fits 6 MiB: the oldest free one makes room
    assert workspace.held_bytes() == (workspace.MAX_BUFFERS - 1) * 2 * 2**20 + odd.nbytes


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
