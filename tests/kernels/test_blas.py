"""kernels.blas: split products equal NumPy's, every part of the output is written once, OpenBLAS is
held at one thread while they run and given its count back after, and every case the split cannot
take goes to np.matmul unchanged."""
import threading

import numpy as np
import pytest

from kernels import blas, parallel

RNG = np.random.default_rng(0)


@pytest.fixture
def threads(monkeypatch):
    """Three threads and no size floor: every product below is split."""
    monkeypatch.setattr(parallel, "_num_threads", 3)
    monkeypatch.setattr(blas, "MIN_SPLIT_FLOPS", 0)


def blocks_seen(monkeypatch):
    """Record the (n, block) of every run_blocks call the products make."""
    calls = []
    run = parallel.run_blocks

    def recording(n, fn, block, xp=np):
        calls.append((n, block))
        run(n, fn, block, xp)

    monkeypatch.setattr(parallel, "run_blocks", recording)
    return calls


@pytest.mark.parametrize("m, k, n", [(70, 33, 9), (9, 33, 70), (48, 5, 48), (1, 7, 100), (100, 7, 1), (17, 1, 35)])
@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-12), (np.float32, 1e-5)])
def test_a_split_product_equals_numpys(threads, monkeypatch, m, k, n, dtype, tol):
    calls = blocks_seen(monkeypatch)
    a = RNG.standard_normal((m, k)).astype(dtype)
    b = RNG.standard_normal((k, n)).astype(dtype)
    got = blas.matmul(a, b)
    assert got.dtype == dtype and got.shape == (m, n)
    np.testing.assert_allclose(got, a @ b, rtol=tol, atol=tol)
    # the longer side of the output is the one cut, at multiples of ALIGN
    assert calls == [(max(m, n), blas._cuts(max(m, n), 3))]


def test_transposed_views_and_an_out_view(threads):
    a = RNG.standard_normal((40, 70))
    b = RNG.standard_normal((90, 40))
    out = np.full((120, 90), 7.0)
    view = out[10:80].T  # (90, 70), strided
    got = blas.matmul(b, a, out=view)
    assert got is view
    np.testing.assert_allclose(out[10:80], (b @ a).T, rtol=1e-12)
    assert (out[:10] == 7).all() and (out[80:] == 7).all()  # nothing written outside the view
    np.testing.assert_allclose(blas.matmul(a.T, b.T), a.T @ b.T, rtol=1e-12)


@pytest.mark.parametrize("batch", [1, 2, 3, 7, 16])
def test_batched_products_split_the_batch_or_each_matrix(threads, monkeypatch, batch):
    calls = blocks_seen(monkeypatch)
    a = RNG.standard_normal((batch, 20, 30))
    b = RNG.standard_normal((30, batch, 50)).transpose(1, 0, 2)  # a strided batch, as Winograd's views are
    out = np.empty((batch, 20, 50))
    blas.matmul(a, b, out=out)
    np.testing.assert_allclose(out, a @ b, rtol=1e-12)
    assert calls == ([(batch, -(-batch // 3))] if batch >= 3 else [(50, blas._cuts(50, 3))])


@pytest.mark.parametrize("a, b", [
    (np.arange(12).reshape(3, 4), np.arange(8).reshape(4, 2)),  # integers
    (RNG.standard_normal((1, 3, 4)), RNG.standard_normal((5, 4, 2))),  # broadcasting
    (RNG.standard_normal(4), RNG.standard_normal((4, 3))),  # 1-D
    (RNG.standard_normal((2, 2, 3, 4)), RNG.standard_normal((2, 2, 4, 3))),  # 4-D
])
def test_what_the_split_cannot_take_is_numpys_matmul(threads, monkeypatch, a, b):
    calls = blocks_seen(monkeypatch)
    np.testing.assert_array_equal(blas.matmul(a, b), np.matmul(a, b))
    assert calls == []


def test_mismatched_operands_raise_numpys_error(threads):
    with pytest.raises(ValueError, match="matmul"):
        blas.matmul(np.ones((3, 4)), np.ones((5, 2)))


def test_one_thread_or_a_small_product_is_not_split(monkeypatch):
    calls = blocks_seen(monkeypatch)
    a, b = RNG.standard_normal((64, 64)), RNG.standard_normal((64, 64))
    monkeypatch.setattr(parallel, "_num_threads", 1)
    np.testing.assert_allclose(blas.matmul(a, b), a @ b, rtol=1e-12)
    assert calls == []  # NumPy's own product
    monkeypatch.setattr(parallel, "_num_threads", 2)
    monkeypatch.setattr(blas, "MIN_SPLIT_FLOPS", 2 * 64 ** 3 + 1)
    np.testing.assert_allclose(blas.matmul(a, b), a @ b, rtol=1e-12)
    assert calls == [(1, 1)]  # whole, as one block on the caller (OpenBLAS held at one thread)


needs_openblas = pytest.mark.skipif(not parallel.openblas_controls(), reason="NumPy's BLAS here is not an OpenBLAS "
                                    "tinynet can find (another BLAS or OS): products stay NumPy's own")


@pytest.fixture
def two_blas_threads():
    """OpenBLAS set to two threads for the test, its own count given back after; yields its get_num_threads."""
    get, put = parallel.openblas_controls()
    before = get()
    put(2)
    try:
        yield get
    finally:
        put(before)


@needs_openblas
def test_openblas_runs_on_one_thread_inside_a_split_product_and_gets_its_count_back(threads, two_blas_threads,
                                                                                     monkeypatch):
    get = two_blas_threads
    inside = []
    run = parallel.run_blocks

    def recording(n, fn, block, xp=np):
        def part(start, stop):
            inside.append(get())
            fn(start, stop)
        run(n, part, block, xp)

    monkeypatch.setattr(parallel, "run_blocks", recording)
    blas.matmul(np.ones((50, 60)), np.ones((60, 70)))
    assert inside and set(inside) == {1}
    assert get() == 2


@needs_openblas
def test_concurrent_products_restore_the_count_once_the_last_one_ends(threads, two_blas_threads):
    a = RNG.standard_normal((200, 100))
    errors = []

    def work():
        try:
            for _ in range(20):
                np.testing.assert_allclose(blas.matmul(a, a.T), a @ a.T, rtol=1e-10)
        except BaseException as e:
            errors.append(e)

    workers = [threading.Thread(target=work) for _ in range(3)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=60)
    assert not any(w.is_alive() for w in workers) and not errors
    assert two_blas_threads() == 2 and parallel._blas_depth == 0


@needs_openblas
def test_an_error_inside_a_split_product_still_gives_the_count_back(threads, two_blas_threads):
    with pytest.raises(ValueError):
        blas.matmul(np.ones((30, 4)), np.ones((4, 30)), out=np.ones((30, 31)))
    assert two_blas_threads() == 2 and parallel._blas_depth == 0
