"""kernels.parallel: every block runs once, results do not depend on blocks or threads, errors reach
the caller; and the blocked host kernels (im2col, col2im, max-pool, ReLU) equal their loop
references when split into many small blocks over several threads."""
import os
import subprocess
import sys
import threading

import numpy as np
import pytest

import kernels
from kernels import parallel
from tests.kernels.test_im2col import CASES as CONV_CASES
from tests.kernels.test_im2col import naive_im2col
from tests.kernels.test_pool import CASES as POOL_CASES
from tests.kernels.test_pool import naive_maxpool, naive_maxpool_backward


@pytest.fixture
def many_blocks(monkeypatch):
    """Blocks of a few hundred bytes on 3 threads: every kernel call splits into many blocks."""
    monkeypatch.setattr(parallel, "BLOCK_BYTES", 256)
    monkeypatch.setattr(parallel, "_num_threads", 3)


@pytest.mark.parametrize("n, block, threads", [(0, 4, 2), (1, 4, 2), (10, 3, 2), (10, 1, 3), (7, 100, 2), (50, 2, 1)])
def test_every_block_runs_exactly_once(monkeypatch, n, block, threads):
    monkeypatch.setattr(parallel, "_num_threads", threads)
    seen = []
    lock = threading.Lock()

    def fn(start, stop):
        with lock:
            seen.append((start, stop))

    parallel.run_blocks(n, fn, block)
    covered = sorted(i for start, stop in seen for i in range(start, stop))
    assert covered == list(range(n))
    assert all(0 < stop - start <= block for start, stop in seen)


def test_blocks_run_on_several_threads(monkeypatch):
    monkeypatch.setattr(parallel, "_num_threads", 2)
    names = set()
    barrier = threading.Barrier(2, timeout=10)

    def fn(start, stop):
        names.add(threading.current_thread().name)
        if start < 2:  # the first two blocks wait for each other: they must be on two threads
            barrier.wait()

    parallel.run_blocks(8, fn, 1)
    assert len(names) == 2


def test_an_error_in_a_block_reaches_the_caller(monkeypatch):
    monkeypatch.setattr(parallel, "_num_threads", 2)

    def fn(start, stop):
        if start == 5:
            raise ValueError("block 5")

    with pytest.raises(ValueError, match="block 5"):
        parallel.run_blocks(20, fn, 1)
    # The pool still works afterwards.
    out = np.zeros(20)
    parallel.run_blocks(20, lambda a, b: out.__setitem__(slice(a, b), 1.0), 3)
    assert (out == 1).all()


def test_after_an_error_no_block_is_still_running(monkeypatch):
    # Block 0 fails at once while another thread is inside a slow block: run_blocks must wait
    # for that block before raising (the caller's arrays may be recycled right after), and the
    # blocks not yet started never run.
    import time

    monkeypatch.setattr(parallel, "_num_threads", 2)
    started, finished = [], []

    def fn(start, stop):
        started.append(start)
        if start == 0:
            while len(started) < 2:  # let the other thread enter its block first
                time.sleep(0.001)
            raise RuntimeError("block 0")
        time.sleep(0.2)
        finished.append(start)

    with pytest.raises(RuntimeError, match="block 0"):
        parallel.run_blocks(10, fn, 1)
    assert finished == [s for s in started if s != 0]
    assert len(started) == 2


def test_more_threads_later_gets_a_larger_pool(monkeypatch):
    out = np.zeros(12)
    for threads in (2, 4, 3):
        monkeypatch.setattr(parallel, "_num_threads", threads)
        parallel.run_blocks(12, lambda a, b: out.__setitem__(slice(a, b), out[a:b] + 1), 1)
    assert (out == 3).all()


def test_a_call_inside_a_block_runs_on_that_thread(monkeypatch):
    monkeypatch.setattr(parallel, "_num_threads", 2)
    inner_threads = []

    def inner(start, stop):
        inner_threads.append(threading.current_thread().name)

    def outer(start, stop):
        me = threading.current_thread().name
        parallel.run_blocks(4, inner, 1)
        assert set(inner_threads[-4:]) == {me}

    parallel.run_blocks(4, outer, 1)
    assert len(inner_threads) == 16


def test_a_device_array_library_gets_one_call_on_the_calling_thread():
    class FakeCupy:
        pass

    calls = []
    parallel.run_blocks(10, lambda a, b: calls.append((a, b, threading.current_thread().name)), 1, FakeCupy)
    assert calls == [(0, 10, threading.current_thread().name)]


def test_thread_count_settings(monkeypatch):
    monkeypatch.setattr(parallel, "_num_threads", None)
    monkeypatch.setenv("TINYNET_NUM_THREADS", "3")
    assert parallel.num_threads() == 3
    parallel.set_num_threads(1)
    assert parallel.num_threads() == 1
    with pytest.raises(ValueError, match="at least 1"):
        parallel.set_num_threads(0)
    for bad in ("0", "two"):
        monkeypatch.setattr(parallel, "_num_threads", None)
        monkeypatch.setenv("TINYNET_NUM_THREADS", bad)
        with pytest.raises(ValueError, match="TINYNET_NUM_THREADS must be a positive integer"):
            parallel.num_threads()


def test_blockwise_updates_in_place_and_falls_back_for_strided_arrays(many_blocks):
    a = np.arange(1000, dtype=np.float32)
    b = np.ones(1000, dtype=np.float32)

    def update(x, y):
        x *= 2
        x += y

    parallel.blockwise(update, a, b)
    np.testing.assert_array_equal(a, np.arange(1000, dtype=np.float32) * 2 + 1)
    strided = np.arange(20.0).reshape(4, 5).T  # not C-contiguous: one call on the arrays as they are
    calls = []
    parallel.blockwise(lambda x, y: (calls.append(x.shape), update(x, y)), strided, np.ones((5, 4)))
    assert calls == [(5, 4)]
    np.testing.assert_array_equal(strided, np.arange(20.0).reshape(4, 5).T * 2 + 1)
    with pytest.raises(ValueError, match="different sizes"):
        parallel.blockwise(update, a, b[:10])


@pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork is POSIX only")
def test_a_forked_child_gets_its_own_pool(monkeypatch):
    monkeypatch.setattr(parallel, "_num_threads", 2)
    parallel.run_blocks(4, lambda a, b: None, 1)  # the parent's pool exists now
    pid = os.fork()
    if pid == 0:  # child: would hang forever on the parent's (absent) threads without the reset
        try:
            out = np.zeros(8)
            parallel.run_blocks(8, lambda a, b: out.__setitem__(slice(a, b), 1.0), 1)
            os._exit(0 if (out == 1).all() else 1)
        except BaseException:
            os._exit(2)
    _, status = os.waitpid(pid, 0)
    assert os.WEXITSTATUS(status) == 0


def test_importing_tinynet_leaves_the_environment_alone():
    code = "import os; before = dict(os.environ); import numpy, tinynet; print(dict(os.environ) == before)"
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_THREAD_TIMEOUT"}
    env["PYTHONPATH"] = root
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"


@pytest.mark.skipif(not parallel.openblas_controls(), reason="NumPy's BLAS here is not an OpenBLAS tinynet can "
                    "find (another BLAS or OS): it keeps its own threads")
def test_blocks_run_with_openblas_on_one_thread_nested_or_failing_and_get_its_count_back(monkeypatch):
    monkeypatch.setattr(parallel, "_num_threads", 2)
    get, put = parallel.openblas_controls()
    before = get()
    put(2)
    try:
        seen = []

        def block(start, stop):
            seen.append(get())
            parallel.run_blocks(2, lambda a, b: seen.append(get()), 1)  # nested: serial, still held

        parallel.run_blocks(4, block, 1)
        assert seen and set(seen) == {1} and get() == 2

        def failing(start, stop):
            raise RuntimeError("block failed")

        with pytest.raises(RuntimeError, match="block failed"):
            parallel.run_blocks(4, failing, 1)
        assert get() == 2 and parallel._blas_depth == 0
        monkeypatch.setattr(parallel, "_num_threads", 1)  # one thread: OpenBLAS keeps its own
        parallel.run_blocks(2, lambda a, b: seen.append(get()), 1)
        assert seen[-1] == 2
    finally:
        put(before)


# --- the blocked kernels, in many small blocks on 3 threads -------------------------------------


@pytest.mark.parametrize("x_shape, kernel, stride, padding", CONV_CASES)
def test_im2col_and_col2im_in_many_blocks(many_blocks, rng, x_shape, kernel, stride, padding):
    x = rng.standard_normal(x_shape)
    col = kernels.im2col(x, kernel, stride, padding)
    np.testing.assert_array_equal(col, naive_im2col(x, kernel, stride, padding))
    c = rng.standard_normal(col.shape)
    folded = kernels.col2im(c, x_shape, kernel, stride, padding)
    parallel.set_num_threads(1)
    parallel.BLOCK_BYTES = 1 << 30  # one block: the whole-array result
    np.testing.assert_array_equal(folded, kernels.col2im(c, x_shape, kernel, stride, padding))


def test_im2col_splits_a_large_channel_into_runs_of_samples(many_blocks, rng):
    # One padded 9x9 map is 648 bytes, over the 256-byte block: blocks are (channel, sample runs).
    x = rng.standard_normal((5, 2, 7, 7))
    col = kernels.im2col(x, (3, 3), (2, 2), (1, 1))
    np.testing.assert_array_equal(col, naive_im2col(x, (3, 3), (2, 2), (1, 1)))


@pytest.mark.parametrize("x_shape, kernel, stride, padding", POOL_CASES)
def test_maxpool_in_many_blocks_with_ties(many_blocks, rng, x_shape, kernel, stride, padding):
    # Small integers: many ties (as after a ReLU), which must still go to the first cell.
    x = rng.integers(-2, 3, size=x_shape).astype(np.float64)
    y_ref, arg_ref = naive_maxpool(x, kernel, stride, padding)
    y, arg = kernels.maxpool_forward(x, kernel, stride, padding)
    np.testing.assert_array_equal(y, y_ref)
    np.testing.assert_array_equal(arg.astype(np.int64), arg_ref)
    y_only, none = kernels.maxpool_forward(x, kernel, stride, padding, with_argmax=False)
    assert none is None
    np.testing.assert_array_equal(y_only, y_ref)
    gy = rng.standard_normal(y_ref.shape)
    gx = kernels.maxpool_backward(gy, arg, x_shape, kernel, stride, padding)
    np.testing.assert_allclose(gx, naive_maxpool_backward(gy, arg_ref, x_shape, kernel, stride, padding),
                               rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("shape", [(6, 4, 5, 5), (9, 7), (13,), ()])
def test_relu_in_many_blocks(many_blocks, rng, shape):
    x = rng.standard_normal(shape)
    y, mask = kernels.relu_forward(x)
    np.testing.assert_array_equal(y, np.maximum(x, 0))
    np.testing.assert_array_equal(mask, x > 0)
    if len(shape) >= 2:
        b = rng.standard_normal(shape[1])
        z = x + b.reshape((1, -1) + (1,) * (len(shape) - 2))
        y, mask = kernels.relu_forward(x, b)
        np.testing.assert_array_equal(y, np.maximum(z, 0))
        np.testing.assert_array_equal(mask, z > 0)
    y_only, none = kernels.relu_forward(x, with_mask=False)
    assert none is None
    np.testing.assert_array_equal(y_only, np.maximum(x, 0))
