"""The CUDA kernels (kernels/cuda/*.cu, launched by kernels.cuda) against the NumPy versions.

Every test runs on two targets, each skipped with its reason where it can't run:

    "emulated"  the .cu sources compiled with g++ against tests/kernels/cuda_host_shim.h and run
                on the CPU thread by thread (a small grid, so each thread loops several times),
                launched through kernels.cuda's own Python code - argument order, scalar types,
                dtype and index-type choice - with NumPy arrays standing in for CuPy arrays.
                Needs a C++ compiler and the CUDA headers (cuda_fp16.h), not a GPU.
    "cuda"      CuPy on a GPU: the same kernels compiled by NVRTC.

dtypes: float32 and float64 against NumPy in the same dtype - exactly where the kernel adds in
the NumPy version's order, closely where pow() is involved; float16 against NumPy in float64
on the same half inputs (the kernels widen halves to float and round once, where NumPy rounds
at every step). Both index widths: the 32-bit instantiations, and the 64-bit ones forced by
lowering the 2**31 limit.
"""
import numpy as np
import pytest

import kernels
from kernels import cuda as kcuda
from tests.conftest import CUDA_SKIP_REASON
from tests.kernels import cuda_tools
from tests.kernels.test_im2col import CASES as CONV_CASES
from tests.kernels.test_pool import CASES as POOL_CASES


def _emulation_skip_reason():
    if cuda_tools.find_cxx() is None:
        return "no C++ compiler (g++) to build the CPU emulation of the CUDA kernels"
    if cuda_tools.find_cuda_include() is None:
        return "no CUDA headers (cuda_fp16.h in $CUDA_PATH/include or /usr/local/cuda/include)"
    return None


EMULATION_SKIP_REASON = _emulation_skip_reason()
TARGETS = [
    pytest.param("emulated", marks=pytest.mark.skipif(EMULATION_SKIP_REASON is not None,
                                                      reason=str(EMULATION_SKIP_REASON))),
    pytest.param("cuda", marks=pytest.mark.skipif(CUDA_SKIP_REASON is not None,
                                                  reason=f"needs a CUDA GPU: {CUDA_SKIP_REASON}")),
]
DTYPES = ["float32", "float64", "float16"]


@pytest.fixture(scope="session")
def host_modules(tmp_path_factory):
    """Every .cu source built for the CPU, once per session."""
    workdir = str(tmp_path_factory.mktemp("cuda_host"))
    return {source: cuda_tools.build_host_module(source, workdir) for source in kcuda.KERNELS}


class Target:
    """Runs ``kernels.cuda.<name>`` on host NumPy inputs and returns host NumPy results."""

    def __init__(self, name, launches):
        self.name, self.launches = name, launches

    def run(self, fn, *args, **kwargs):
        if self.name == "cuda":
            import cupy

            args = [cupy.asarray(a) if isinstance(a, np.ndarray) else a for a in args]
            out = getattr(kcuda, fn)(*args, **kwargs)
            return tuple(o.get() for o in out) if isinstance(out, tuple) else out.get()
        return getattr(kcuda, fn)(*args, **kwargs)

    def index_dtypes(self):
        """The index dtype of every launch so far."""
        return [launch[-1] for launch in self.launches]


@pytest.fixture(params=TARGETS)
def target(request, monkeypatch):
    launches = []
    monkeypatch.setattr(kcuda, "_functions", {})
    if request.param == "emulated":
        modules = request.getfixturevalue("host_modules")
        monkeypatch.setattr(kcuda, "_cupy", lambda: np)  # empty, empty_like, ascontiguousarray
        monkeypatch.setattr(kcuda, "module", lambda source: modules[source])
        monkeypatch.setattr(kcuda, "THREADS", 32)
        monkeypatch.setattr(kcuda, "_max_blocks", lambda: 3)  # 96 threads: most loop several times
    original = kcuda.function

    def recording(source, kernel, *dtypes):
        launches.append((source, kernel) + tuple(np.dtype(d).name for d in dtypes))
        return original(source, kernel, *dtypes)

    monkeypatch.setattr(kcuda, "function", recording)
    return Target(request.param, launches)


@pytest.fixture(params=["int32", "int64"])
def index(request, monkeypatch):
    """The index width to test; int64 is forced by pretending 2**31 is 0."""
    if request.param == "int64":
        monkeypatch.setattr(kcuda, "INT32_LIMIT", 0)
    return request.param


def _inputs(dtype, *arrays):
    """The arrays in ``dtype``, and the NumPy reference's inputs: the same values, widened to float64 for half."""
    typed = [a.astype(dtype) for a in arrays]
    ref = [t.astype(np.float64) if dtype == "float16" else t for t in typed]
    return typed, ref


def assert_matches(got, ref, dtype, exact=False, rtol=None):
    """float32/float64: equal to the NumPy result in the same dtype (exactly, or to ``rtol``).
    float16: within half precision of the float64 NumPy result on the same inputs."""
    assert got.dtype == np.dtype(dtype), (got.dtype, dtype)
    assert got.shape == ref.shape
    if dtype == "float16":
        scale = max(1.0, float(np.max(np.abs(ref))) if ref.size else 1.0)
        np.testing.assert_allclose(got.astype(np.float64), ref, rtol=2e-3, atol=2e-3 * scale)
    elif exact:
        np.testing.assert_array_equal(got, ref)
    else:
        rtol = rtol if rtol is not None else (1e-5 if dtype == "float32" else 1e-12)
        np.testing.assert_allclose(got, ref, rtol=rtol, atol=rtol)


# --- im2col / col2im -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("x_shape, kernel, stride, padding", CONV_CASES)
def test_im2col(target, index, rng, dtype, x_shape, kernel, stride, padding):
    # A copy: every entry, including the zeros of the padding, equals NumPy's in every dtype.
    x = rng.standard_normal(x_shape).astype(dtype)
    got = target.run("im2col", x, kernel, stride, padding)
    np.testing.assert_array_equal(got, kernels.im2col(x, kernel, stride, padding))
    assert got.dtype == x.dtype
    assert target.index_dtypes() == [index]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("x_shape, kernel, stride, padding", CONV_CASES)
def test_col2im(target, index, rng, dtype, x_shape, kernel, stride, padding):
    # The gather adds the same column entries in the same order as NumPy's slice additions.
    rows = x_shape[1] * kernel[0] * kernel[1]
    OH = kernels.conv_output_size(x_shape[2], kernel[0], stride[0], padding[0])
    OW = kernels.conv_output_size(x_shape[3], kernel[1], stride[1], padding[1])
    (col,), (col_ref,) = _inputs(dtype, rng.standard_normal((rows, x_shape[0] * OH * OW)))
    got = target.run("col2im", col, x_shape, kernel, stride, padding)
    assert_matches(got, kernels.col2im(col_ref, x_shape, kernel, stride, padding), dtype, exact=True)
    assert target.index_dtypes() == [index]


def test_col2im_is_deterministic(target, rng):
    # No atomics: two runs give the same bits.
    x_shape, kernel, stride, padding = (2, 3, 9, 9), (3, 3), (2, 2), (1, 1)
    col = rng.standard_normal((3 * 9, 2 * 5 * 5)).astype(np.float32)
    a = target.run("col2im", col, x_shape, kernel, stride, padding)
    b = target.run("col2im", col, x_shape, kernel, stride, padding)
    assert a.tobytes() == b.tobytes()


def test_im2col_of_a_non_contiguous_input(target, rng):
    # A transposed view is read as the array it shows, not as its memory.
    x = rng.standard_normal((3, 2, 6, 5)).astype(np.float32).transpose(1, 0, 3, 2)
    got = target.run("im2col", x, (3, 2), (1, 2), (1, 0))
    np.testing.assert_array_equal(got, kernels.im2col(np.ascontiguousarray(x), (3, 2), (1, 2), (1, 0)))


def test_empty_batch_launches_nothing(target):
    # N = 0: the right (empty) shapes and no kernel launch (a grid of 0 blocks is an error).
    col = target.run("im2col", np.zeros((0, 2, 5, 5), np.float32), (3, 3), (1, 1), (1, 1))
    assert col.shape == (18, 0)
    x = target.run("col2im", np.zeros((18, 0), np.float32), (0, 2, 5, 5), (3, 3), (1, 1), (1, 1))
    assert x.shape == (0, 2, 5, 5)
    assert target.launches == []


# --- max-pool --------------------------------------------------------------------------------------------------

def _tie_free(rng, shape):
    # Distinct, mostly negative values, exactly representable in float16 (multiples of 1/64, |x| < 8).
    n = int(np.prod(shape))
    return (rng.permutation(n).reshape(shape) - (6 * n) // 10) / 64.0


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("x_shape, kernel, stride, padding", POOL_CASES)
def test_maxpool_forward(target, index, rng, dtype, x_shape, kernel, stride, padding):
    # Maxima and the winning offsets, exactly, in NumPy's argmax dtype (uint8 here).
    x = _tie_free(rng, x_shape).astype(dtype)
    y, arg = target.run("maxpool_forward", x, kernel, stride, padding, np.dtype("uint8"))
    y_ref, arg_ref = kernels.maxpool_forward(x, kernel, stride, padding)
    np.testing.assert_array_equal(y, y_ref)
    assert y.dtype == x.dtype and arg.dtype == arg_ref.dtype == np.uint8
    np.testing.assert_array_equal(arg, arg_ref)
    assert target.index_dtypes() == [index]


@pytest.mark.parametrize("dtype", DTYPES)
def test_maxpool_forward_special_values(target, dtype):
    # NaN wins its window (the first NaN), -inf and all-negative windows with -inf padding,
    # ties to the first cell: whatever NumPy's version returns, the kernel returns.
    x = -np.arange(1.0, 1.0 + 2 * 6 * 6).reshape(1, 2, 6, 6)
    x[0, 0, 1, 1] = np.nan
    x[0, 0, 1, 3] = np.nan
    x[0, 0, 4, 4] = -np.inf
    x[0, 1, :3, :3] = 7.0  # a tie over a whole window
    x[0, 1, 5, :] = -np.inf  # a row of -inf on the edge
    x = x.astype(dtype)
    for kernel, stride, padding in [((3, 3), (2, 2), (1, 1)), ((2, 2), (2, 2), (0, 0)), ((3, 3), (1, 1), (1, 1))]:
        y, arg = target.run("maxpool_forward", x, kernel, stride, padding, np.dtype("uint8"))
        y_ref, arg_ref = kernels.maxpool_forward(x, kernel, stride, padding)
        np.testing.assert_array_equal(y, y_ref)
        np.testing.assert_array_equal(arg, arg_ref)


@pytest.mark.parametrize("window, arg_dtype", [(17, "uint16"), (257, "int64")])
def test_maxpool_large_windows(target, rng, window, arg_dtype):
    # More offsets than a uint8 (17x17) or a uint16 (257x257) holds: the wider argmax instantiations.
    # Two overlapping windows side by side; the reference is np.argmax over each flattened window
    # (NumPy's kernel would loop over all 66,049 offsets).
    x = rng.standard_normal((1, 1, window, window + 1)).astype(np.float32)
    y, arg = target.run("maxpool_forward", x, (window, window), (1, 1), (0, 0), np.dtype(arg_dtype))
    windows = [x[0, 0, :, ow:ow + window].ravel() for ow in range(2)]
    assert arg.dtype == np.dtype(arg_dtype) and arg.shape == y.shape == (1, 1, 1, 2)
    np.testing.assert_array_equal(y.ravel(), [w.max() for w in windows])
    np.testing.assert_array_equal(arg.ravel(), [np.argmax(w) for w in windows])
    gy = np.array([[[[1.5, -2.0]]]], np.float32)
    gx = target.run("maxpool_backward", gy, arg, x.shape, (window, window), (1, 1), (0, 0))
    expected = np.zeros_like(x)
    for ow in range(2):
        i, j = divmod(int(np.argmax(windows[ow])), window)
        expected[0, 0, i, ow + j] += gy[0, 0, 0, ow]
    np.testing.assert_array_equal(gx, expected)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("x_shape, kernel, stride, padding", POOL_CASES)
def test_maxpool_backward(target, index, rng, dtype, x_shape, kernel, stride, padding):
    # Each gradient goes to its window's winner; overlapping windows that share one add up.
    x = _tie_free(rng, x_shape)
    y_ref, arg = kernels.maxpool_forward(x, kernel, stride, padding)
    (gy,), (gy_ref,) = _inputs(dtype, rng.standard_normal(y_ref.shape))
    got = target.run("maxpool_backward", gy, arg, x_shape, kernel, stride, padding)
    assert_matches(got, kernels.maxpool_backward(gy_ref, arg, x_shape, kernel, stride, padding), dtype, exact=True)
    assert target.index_dtypes() == [index]


def test_maxpool_backward_sums_a_shared_winner(target):
    # The centre of a 5x5 input wins all four 3x3/stride-2 windows: it gets 1 + 2 + 3 + 4.
    x = -np.ones((1, 1, 5, 5), np.float32)
    x[0, 0, 2, 2] = 5.0
    _, arg = target.run("maxpool_forward", x, (3, 3), (2, 2), (0, 0), np.dtype("uint8"))
    gy = np.array([[[[1.0, 2.0], [3.0, 4.0]]]], np.float32)
    gx = target.run("maxpool_backward", gy, arg, x.shape, (3, 3), (2, 2), (0, 0))
    expected = np.zeros((1, 1, 5, 5), np.float32)
    expected[0, 0, 2, 2] = 10.0
    np.testing.assert_array_equal(gx, expected)


# --- local response norm ---------------------------------------------------------------------------------------

LRN_SHAPES = [(2, 7, 3, 4), (3, 5), (2, 6, 5)]
WINDOWS = [(0, 0), (1, 1), (2, 1), (0, 3), (9, 2)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("before, after", WINDOWS)
@pytest.mark.parametrize("shape", LRN_SHAPES, ids=["4d", "2d", "3d"])
def test_channel_window_sum(target, index, rng, dtype, shape, before, after):
    (a,), (a_ref,) = _inputs(dtype, rng.standard_normal(shape))
    got = target.run("channel_window_sum", a, before, after)
    assert_matches(got, kernels.channel_window_sum(a_ref, before, after), dtype, exact=True)
    assert target.index_dtypes() == [index]


LRN_PARAMS = [dict(size=5, alpha=5e-4, beta=0.75, k=2.0), dict(size=2, alpha=0.3, beta=0.5, k=1.0),
              dict(size=3, alpha=1.0, beta=1.5, k=0.5), dict(size=1, alpha=1e-4, beta=0.75, k=1.0)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("params", LRN_PARAMS, ids=["paper", "even", "strong", "size1"])
@pytest.mark.parametrize("shape", LRN_SHAPES, ids=["4d", "2d", "3d"])
def test_lrn_forward_and_backward(target, index, rng, dtype, shape, params):
    # y and s of the forward, dx of the backward; the kernels differ from NumPy only in pow().
    (x, g), (x_ref, g_ref) = _inputs(dtype, rng.standard_normal(shape), rng.standard_normal(shape))
    y, s = target.run("lrn_forward", x, **params)
    y_ref, s_ref = kernels.lrn_forward(x_ref, **params)
    assert_matches(y, y_ref, dtype)
    assert_matches(s, s_ref, dtype)
    p = {k: v for k, v in params.items() if k != "k"}
    gx = target.run("lrn_backward", g, x, s, **p)
    # The reference backward takes the kernel's own s (as the op does), widened for half.
    gx_ref = kernels.lrn_backward(g_ref, x_ref, s.astype(np.float64) if dtype == "float16" else s, **p)
    assert_matches(gx, gx_ref, dtype)
    assert target.index_dtypes() == [index, index]


# --- element-wise ----------------------------------------------------------------------------------------------

def _with_special_values(rng, shape, dtype):
    x = rng.standard_normal(shape)
    flat = x.reshape(-1)
    flat[:5] = [0.0, -0.0, np.nan, np.inf, -np.inf]
    return x.astype(dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_relu(target, index, rng, dtype):
    # max(x, 0) and x > 0, exactly as NumPy (NaN stays NaN and is not in the mask; -0 becomes 0).
    x = _with_special_values(rng, (3, 4, 5), dtype)
    y, mask = target.run("relu_forward", x)
    y_ref, mask_ref = kernels.relu_forward(x)
    np.testing.assert_array_equal(y, y_ref)
    assert y.dtype == x.dtype and mask.dtype == np.bool_
    np.testing.assert_array_equal(mask, mask_ref)
    assert not np.signbit(y[~np.isnan(y)]).any()
    assert target.index_dtypes() == [index]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(2, 3, 4, 5), (6, 7), (2, 3, 5)], ids=["conv", "linear", "3d"])
def test_bias_relu(target, index, rng, dtype, shape):
    # The bias is added along axis 1 and rounded to the dtype before the ReLU, as NumPy does.
    x = _with_special_values(rng, shape, dtype)
    b = rng.standard_normal(shape[1]).astype(dtype)
    y, mask = target.run("relu_forward", x, b)
    y_ref, mask_ref = kernels.relu_forward(x, b)
    np.testing.assert_array_equal(y, y_ref)
    np.testing.assert_array_equal(mask, mask_ref)
    assert target.index_dtypes() == [index]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
def test_dropout(target, index, rng, dtype, p):
    # Same uniform samples, same mask; kept values x * (1 / (1 - p)) rounded to the dtype, as NumPy.
    x = rng.standard_normal((4, 50)).astype(dtype)
    u = rng.random((4, 50)).astype(dtype)
    y, mask = target.run("dropout_forward", x, u, p)
    y_ref, mask_ref = kernels.dropout_forward(x, u, p)
    np.testing.assert_array_equal(mask, mask_ref)
    np.testing.assert_array_equal(y, y_ref)
    assert y.dtype == x.dtype
    assert target.index_dtypes() == [index]


# --- optimizer updates (optim.cu against kernels/optim.py) ----------------------------------------------------

SGD_CASES = [
    pytest.param(dict(lr=0.1), False, id="plain"),
    pytest.param(dict(lr=0.1, momentum=0.9), True, id="momentum-first"),
    pytest.param(dict(lr=0.05, momentum=0.9, weight_decay=5e-4), False, id="momentum-wd"),
    pytest.param(dict(lr=0.05, momentum=0.8, dampening=0.3, maximize=True), False, id="dampening-maximize"),
    pytest.param(dict(lr=0.02, momentum=0.9, nesterov=True, weight_decay=1e-2), False, id="nesterov"),
]


def _update_in_place(target, fn, *arrays, **hyper):
    """kernels.cuda.<fn>(*arrays) changes its arrays in place; on the GPU, on copies then copied back."""
    if target.name != "cuda":
        return getattr(kcuda, fn)(*arrays, **hyper)
    import cupy

    on_gpu = [None if a is None else cupy.asarray(a) for a in arrays]
    getattr(kcuda, fn)(*on_gpu, **hyper)
    for a, d in zip(arrays, on_gpu):
        if a is not None:
            a[...] = d.get()


def _state(rng, dtype, shape, *names):
    return {n: (rng.random(shape) if n in ("exp_avg_sq", "max_exp_avg_sq") else rng.standard_normal(shape))
            .astype(dtype) for n in names}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("hyper, first", SGD_CASES)
def test_sgd_update(target, index, rng, dtype, hyper, first):
    # p and the momentum buffer after one update, each operation rounded as NumPy rounds it in the dtype.
    shape = (5, 7)
    s = _state(rng, dtype, shape, "p", "g", "buf")
    momentum = hyper.get("momentum", 0.0)
    full = dict(momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False, maximize=False, first=first)
    full.update(hyper)
    got = {k: v.copy() for k, v in s.items()}
    ref = {k: v.copy() for k, v in s.items()}
    _update_in_place(target, "sgd_update", got["p"], got["g"], got["buf"] if momentum else None, **full)
    kernels.optim._sgd_block(ref["p"], ref["g"], ref["buf"] if momentum else None, **full)
    for name in ("p", "buf"):
        assert_matches(got[name], ref[name], dtype, exact=dtype != "float16")
    np.testing.assert_array_equal(got["g"], s["g"])  # the gradient is only read
    assert target.index_dtypes() == [index]


ADAM_CASES = [
    pytest.param(dict(step=1, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8), False, id="adam-step1"),
    pytest.param(dict(step=7, lr=1e-2, beta1=0.9, beta2=0.99, eps=1e-6, weight_decay=0.1), False, id="adam-l2"),
    pytest.param(dict(step=3, lr=1e-2, beta1=0.8, beta2=0.999, eps=1e-8, weight_decay=0.05, decoupled=True),
                 True, id="adamw-amsgrad"),
    pytest.param(dict(step=2, lr=3e-3, beta1=0.3, beta2=0.9, eps=1e-8, maximize=True), False, id="lerp-from-end"),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("hyper, amsgrad", ADAM_CASES)
def test_adam_update(target, index, rng, dtype, hyper, amsgrad):
    # p, exp_avg, exp_avg_sq (and max_exp_avg_sq) after one update, as kernels/optim.py computes them.
    shape = (4, 9)
    s = _state(rng, dtype, shape, "p", "g", "exp_avg", "exp_avg_sq", "max_exp_avg_sq")
    s["max_exp_avg_sq"][0, :3] = [np.nan, 0.0, 10.0]  # max() keeps a NaN, as NumPy's maximum
    full = dict(weight_decay=0.0, decoupled=False, maximize=False)
    full.update(hyper)
    got = {k: v.copy() for k, v in s.items()}
    ref = {k: v.copy() for k, v in s.items()}
    names = ("p", "g", "exp_avg", "exp_avg_sq")
    _update_in_place(target, "adam_update", *(got[n] for n in names), got["max_exp_avg_sq"] if amsgrad else None,
                     **full)
    kernels.optim.adam_update(*(ref[n] for n in names), ref["max_exp_avg_sq"] if amsgrad else None, **full)
    for name in ("p", "exp_avg", "exp_avg_sq") + (("max_exp_avg_sq",) if amsgrad else ()):
        assert_matches(got[name], ref[name], dtype, exact=dtype != "float16")
    assert target.index_dtypes() == [index]


RMSPROP_CASES = [
    pytest.param(dict(lr=1e-2, alpha=0.99, eps=1e-8), False, False, id="plain"),
    pytest.param(dict(lr=1e-2, alpha=0.9, eps=1e-6, weight_decay=0.1, momentum=0.9), True, True,
                 id="centered-momentum-wd"),
    pytest.param(dict(lr=3e-3, alpha=0.3, eps=1e-8, maximize=True), True, False, id="lerp-from-end-maximize"),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("hyper, centered, momentum", RMSPROP_CASES)
def test_rmsprop_update(target, index, rng, dtype, hyper, centered, momentum):
    shape = (3, 11)
    s = _state(rng, dtype, shape, "p", "g", "exp_avg_sq", "exp_avg", "buf")
    s["exp_avg"] *= s["exp_avg"].dtype.type(0.1)  # a small running mean: v - a * a stays positive
    full = dict(weight_decay=0.0, momentum=0.0, maximize=False)
    full.update(hyper)
    if momentum and not full["momentum"]:
        full["momentum"] = 0.9
    got = {k: v.copy() for k, v in s.items()}
    ref = {k: v.copy() for k, v in s.items()}

    def args(d):
        return (d["p"], d["g"], d["exp_avg_sq"], d["exp_avg"] if centered else None, d["buf"] if momentum else None)

    _update_in_place(target, "rmsprop_update", *args(got), **full)
    kernels.optim._rmsprop_block(*args(ref), **full)
    for name in ("p", "exp_avg_sq") + (("exp_avg",) if centered else ()) + (("buf",) if momentum else ()):
        assert_matches(got[name], ref[name], dtype, exact=dtype != "float16")
    assert target.index_dtypes() == [index]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("hyper", [dict(clr=1e-2, eps=1e-10), dict(clr=5e-3, eps=1e-6, weight_decay=0.1, maximize=True)],
                         ids=["plain", "wd-maximize"])
def test_adagrad_update(target, index, rng, dtype, hyper):
    s = _state(rng, dtype, (4, 7), "p", "g", "exp_avg_sq")
    full = dict(weight_decay=0.0, maximize=False)
    full.update(hyper)
    got = {k: v.copy() for k, v in s.items()}
    ref = {k: v.copy() for k, v in s.items()}
    _update_in_place(target, "adagrad_update", got["p"], got["g"], got["exp_avg_sq"], **full)
    kernels.optim._adagrad_block(ref["p"], ref["g"], ref["exp_avg_sq"], **full)
    for name in ("p", "exp_avg_sq"):
        assert_matches(got[name], ref[name], dtype, exact=dtype != "float16")
    assert target.index_dtypes() == [index]


@pytest.mark.parametrize("shape", [(3, 3, 5, 7), (2, 1, 4)], ids=["images", "one-channel"])
def test_pixels_to_float(target, index, rng, shape):
    # float(x) * scale + offset with both roundings, exactly as the NumPy version.
    x = rng.integers(0, 256, shape, dtype=np.uint8)
    scale = rng.uniform(0.001, 0.02, shape[:2]).astype(np.float32)
    offset = rng.uniform(-2, 2, shape[:2]).astype(np.float32)
    got = target.run("pixels_to_float", x, scale, offset)
    np.testing.assert_array_equal(got, kernels.pixels_to_float(x, scale, offset))
    assert got.dtype == np.float32 and target.index_dtypes() == [index]


# --- the loader ------------------------------------------------------------------------------------------------

def test_a_failed_compile_keeps_cupys_error_and_says_what_to_check(monkeypatch):
    # The compile error comes through unchanged in type, with a note naming the source and the header.
    class Module:
        def get_function(self, name):
            raise RuntimeError("cannot open source file \"cuda_fp16.h\"")

    monkeypatch.setattr(kcuda, "_functions", {})
    monkeypatch.setattr(kcuda, "module", lambda source: Module())
    with pytest.raises(RuntimeError, match="cuda_fp16.h") as e:
        kcuda.function("pool.cu", "maxpool_forward_kernel", np.float16, np.uint8, np.int32)
    notes = "\n".join(getattr(e.value, "__notes__", []))
    if hasattr(e.value, "add_note"):
        assert "kernels/cuda/pool.cu" in notes and "maxpool_forward_kernel<__half, unsigned char, int>" in notes


# --- the GPU only ----------------------------------------------------------------------------------------------

needs_gpu = pytest.mark.skipif(CUDA_SKIP_REASON is not None, reason=f"needs a CUDA GPU: {CUDA_SKIP_REASON}")


@needs_gpu
def test_public_functions_dispatch_to_the_kernels(rng, monkeypatch):
    # kernels.<fn> on a CuPy float array launches the CUDA kernel; on an integer array it takes the
    # array-library path (which CuPy also runs).
    import cupy

    launched = []
    original = kcuda.function
    monkeypatch.setattr(kcuda, "function", lambda s, k, *d: launched.append(k) or original(s, k, *d))
    x = cupy.asarray(rng.standard_normal((2, 3, 6, 6)).astype(np.float32))
    kernels.im2col(x, (3, 3), (1, 1), (1, 1))
    y, arg = kernels.maxpool_forward(x, (3, 3), (2, 2), (0, 0))
    kernels.maxpool_backward(y, arg, x.shape, (3, 3), (2, 2), (0, 0))
    kernels.lrn_forward(x, 5, 1e-4, 0.75, 2.0)
    kernels.relu_forward(x)
    assert launched == ["im2col_kernel", "maxpool_forward_kernel", "maxpool_backward_kernel",
                        "lrn_forward_kernel", "relu_kernel"]
    launched.clear()
    kernels.im2col(cupy.ones((1, 1, 4, 4), dtype=cupy.int32), (2, 2), (1, 1), (0, 0))
    assert launched == []


@needs_gpu
@pytest.mark.parametrize("dtype", DTYPES)
def test_optimizer_kernels_update_in_place_on_the_gpu(rng, dtype):
    # kernels.sgd_update / adam_update on CuPy arrays: one launch each, the arrays changed in place,
    # equal to the NumPy version on the same values.
    import cupy

    shape = (6, 5)
    s = _state(rng, dtype, shape, "p", "g", "buf", "exp_avg", "exp_avg_sq")
    d = {k: cupy.asarray(v) for k, v in s.items()}
    sgd = dict(lr=0.1, momentum=0.9, dampening=0.0, weight_decay=1e-3, nesterov=True, maximize=False, first=False)
    kernels.sgd_update(d["p"], d["g"], d["buf"], **sgd)
    kernels.optim._sgd_block(s["p"], s["g"], s["buf"], **sgd)
    adam = dict(step=4, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=1e-2, decoupled=True)
    kernels.adam_update(d["p"], d["g"], d["exp_avg"], d["exp_avg_sq"], **adam)
    kernels.optim.adam_update(s["p"], s["g"], s["exp_avg"], s["exp_avg_sq"], **adam)
    for name in ("p", "buf", "exp_avg", "exp_avg_sq"):
        assert_matches(d[name].get(), s[name], dtype, exact=dtype != "float16")
    rms = dict(lr=1e-2, alpha=0.9, eps=1e-8, weight_decay=0.0, momentum=0.5, maximize=False)
    kernels.rmsprop_update(d["p"], d["g"], d["exp_avg_sq"], None, d["buf"], **rms)
    kernels.optim.rmsprop_update(s["p"], s["g"], s["exp_avg_sq"], None, s["buf"], **rms)
    kernels.adagrad_update(d["p"], d["g"], d["exp_avg_sq"], clr=1e-2, eps=1e-10)
    kernels.optim.adagrad_update(s["p"], s["g"], s["exp_avg_sq"], clr=1e-2, eps=1e-10)
    for name in ("p", "buf", "exp_avg_sq"):
        assert_matches(d[name].get(), s[name], dtype, exact=dtype != "float16")


@needs_gpu
def test_each_source_is_compiled_once(rng):
    # The RawModule of a source is built once and reused.
    import cupy

    x = cupy.asarray(rng.standard_normal((1, 2, 5, 5)).astype(np.float32))
    kernels.im2col(x, (3, 3), (1, 1), (0, 0))
    first = kcuda.module("im2col.cu")
    kernels.col2im(kernels.im2col(x, (3, 3), (1, 1), (0, 0)), x.shape, (3, 3), (1, 1), (0, 0))
    assert kcuda.module("im2col.cu") is first


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(3, 5, 7), (4, 1), (2, 1000)], ids=["rows", "one-each", "long-rows"])
def test_uniform_rows(target, index, dtype, shape):
    # Bit for bit the NumPy version's numbers: the same integer mixing, the same exact scaling.
    keys = kernels.sample_keys(7, 2, 1, np.arange(shape[0]) * 1000)
    got = target.run("uniform_rows", keys, shape, np.dtype(dtype))
    np.testing.assert_array_equal(got, kernels.uniform_rows(keys, shape, dtype))
    assert got.dtype == np.dtype(dtype) and target.index_dtypes() == [index]


@pytest.mark.parametrize("shape", [(7,), (3, 5, 11)])
def test_bfloat16_words(target, index, rng, shape):
    # float32 -> bfloat16 words -> float32, bit for bit the NumPy version (NaN, infinities and ties included).
    x = (rng.standard_normal(shape) * 10.0 ** rng.integers(-30, 30, shape)).astype(np.float32)
    x.ravel()[:4] = [np.nan, np.inf, -np.inf, 1 + 2**-8]
    words = target.run("float_to_bfloat16", x)
    np.testing.assert_array_equal(words, kernels.to_bfloat16_bits(x))
    back = target.run("bfloat16_to_float", words)
    np.testing.assert_array_equal(back.view(np.uint32), kernels.from_bfloat16_bits(words).view(np.uint32))
    assert words.dtype == np.uint16 and back.dtype == np.float32 and target.index_dtypes() == [index, index]


# --- bfloat16 words: every float kernel's bf16 instantiation ----------------------------------------------------
#
# The bf16 kernels widen each word to float32, compute exactly as the float32 kernel does and round once on
# store, so each result is the float32 kernel's result on the widened inputs, rounded to bfloat16 - bit for
# bit. (LRN's forward is the one place a rounded value is read again: y is computed from the stored s.)

def _words(rng, shape, positive=False, scale=1.0):
    """uint16 bfloat16 words of random values (uniform in [0.1, 1.1) if ``positive``, else normal; times
    ``scale``), and the float32 values they hold."""
    a = (rng.random(shape) + 0.1 if positive else rng.standard_normal(shape)) * scale
    words = kernels.to_bfloat16_bits(a.astype(np.float32))
    return words, kernels.from_bfloat16_bits(words)


def assert_rounded_once(got_words, ref_float32):
    assert got_words.dtype == np.uint16, got_words.dtype
    np.testing.assert_array_equal(got_words, kernels.to_bfloat16_bits(ref_float32))


BF16_CONV = [((2, 3, 7, 6), (3, 3), (2, 1), (1, 1)), ((1, 2, 5, 5), (5, 5), (1, 1), (2, 2))]


@pytest.mark.parametrize("x_shape, kernel, stride, padding", BF16_CONV, ids=["3x3", "5x5"])
def test_bfloat16_im2col_and_col2im(target, index, rng, x_shape, kernel, stride, padding):
    xw, xf = _words(rng, x_shape)
    col = target.run("im2col", xw, kernel, stride, padding)
    assert_rounded_once(col, target.run("im2col", xf, kernel, stride, padding))
    cw, cf = _words(rng, col.shape)
    assert_rounded_once(target.run("col2im", cw, x_shape, kernel, stride, padding),
                        target.run("col2im", cf, x_shape, kernel, stride, padding))
    assert ("im2col.cu", "im2col_kernel", "uint16", index) in target.launches


def test_bfloat16_maxpool(target, index, rng):
    # Rounding to bfloat16 makes ties; both kernels see the same widened values, so the same winners.
    xw, xf = _words(rng, (2, 3, 9, 8))
    yw, aw = target.run("maxpool_forward", xw, (3, 3), (2, 2), (1, 1), np.uint8)
    yf, af = target.run("maxpool_forward", xf, (3, 3), (2, 2), (1, 1), np.uint8)
    assert_rounded_once(yw, yf)
    np.testing.assert_array_equal(aw, af)
    gw, gf = _words(rng, yw.shape)
    assert_rounded_once(target.run("maxpool_backward", gw, aw, xw.shape, (3, 3), (2, 2), (1, 1)),
                        target.run("maxpool_backward", gf, af, xf.shape, (3, 3), (2, 2), (1, 1)))


def test_bfloat16_lrn(target, index, rng):
    xw, xf = _words(rng, (2, 7, 3, 4))
    p = dict(size=5, alpha=1e-2, beta=0.75)
    assert_rounded_once(target.run("channel_window_sum", xw, 2, 2), target.run("channel_window_sum", xf, 2, 2))
    yw, sw = target.run("lrn_forward", xw, k=2.0, **p)
    yf, sf = target.run("lrn_forward", xf, k=2.0, **p)
    assert_rounded_once(sw, sf)
    # y from the stored (rounded) s: NumPy's float32 on the same values, within one bfloat16 step.
    s_read = kernels.from_bfloat16_bits(sw)
    y_ref = kernels.to_bfloat16_bits(xf * np.power(s_read, np.float32(-0.75)))
    assert np.max(np.abs(yw.astype(np.int32) - y_ref.astype(np.int32))) <= 1
    gw, gf = _words(rng, xw.shape)
    assert_rounded_once(target.run("lrn_backward", gw, xw, sw, **p), target.run("lrn_backward", gf, xf, s_read, **p))


def test_bfloat16_relu_bias_relu_and_dropout(target, index, rng):
    xw, xf = _words(rng, (3, 4, 5))
    bw, bf = _words(rng, (4,))
    uw, uf = _words(rng, xw.shape, positive=True, scale=0.9)  # samples in [0.09, 0.99)
    for args in ((xw,), (xw, bw)):
        y, mask = target.run("relu_forward", *args)
        y_ref, mask_ref = target.run("relu_forward", *(xf, bf)[:len(args)])
        assert_rounded_once(y, y_ref)
        np.testing.assert_array_equal(mask, mask_ref)
    y, mask = target.run("dropout_forward", xw, uw, 0.3)
    y_ref, mask_ref = target.run("dropout_forward", xf, uf, 0.3)
    assert_rounded_once(y, y_ref)
    np.testing.assert_array_equal(mask, mask_ref)


OPTIMIZER_CASES = [
    ("sgd_update", ("p", "g", "buf"), dict(lr=0.05, momentum=0.9, dampening=0.1, weight_decay=5e-4,
                                           nesterov=False, maximize=False, first=False)),
    ("adam_update", ("p", "g", "m", "v", "vmax"), dict(step=3, lr=1e-2, beta1=0.9, beta2=0.99, eps=1e-8,
                                                        weight_decay=0.1, decoupled=True, maximize=False)),
    ("rmsprop_update", ("p", "g", "v", "a", "buf"), dict(lr=1e-2, alpha=0.9, eps=1e-6, weight_decay=0.1,
                                                          momentum=0.9, maximize=False)),
    ("adagrad_update", ("p", "g", "v"), dict(clr=1e-2, eps=1e-10, weight_decay=0.1, maximize=True)),
]


@pytest.mark.parametrize("fn, names, hyper", OPTIMIZER_CASES, ids=[c[0] for c in OPTIMIZER_CASES])
def test_bfloat16_optimizer_updates(target, index, rng, fn, names, hyper):
    # Scalars stay float32 for bfloat16 (kernels.cuda._acc): the same scalars the float32 kernel gets.
    # Second moments positive; rmsprop's running mean a small, so its centred v - a*a stays positive.
    state = {n: _words(rng, (3, 7), positive=n in ("v", "vmax"), scale=0.01 if n == "a" else 1.0) for n in names}
    words = {n: w.copy() for n, (w, _) in state.items()}
    floats = {n: f.copy() for n, (_, f) in state.items()}
    _update_in_place(target, fn, *(words[n] for n in names), **hyper)
    _update_in_place(target, fn, *(floats[n] for n in names), **hyper)
    for n in names:
        assert_rounded_once(words[n], floats[n])
    assert not np.array_equal(words["p"], state["p"][0])  # the update did something


@pytest.mark.parametrize("shape", [(3, 5, 7), (2, 1000)])
def test_bfloat16_uniform_rows(target, index, shape):
    # The grid k / 256: float32's samples floored onto it, so exact in bfloat16 and never rounded up to 1.
    keys = kernels.sample_keys(7, 2, 1, np.arange(shape[0]) * 1000)
    got = target.run("uniform_rows", keys, shape, kcuda.BFLOAT16_WORDS)
    u32 = kernels.uniform_rows(keys, shape, np.float32)
    grid = np.floor(u32 * np.float32(256)) / np.float32(256)
    assert_rounded_once(got, grid)
    assert kernels.from_bfloat16_bits(got).max() < 1 and np.array_equal(kernels.from_bfloat16_bits(got), grid)


# --- Winograd tiles (winograd.cu against the layouts of kernels/winograd.py) ---------------------------------------

WINOGRAD_CASES = [((2, 3, 7, 6), 2, 3, (1, 1)), ((1, 2, 9, 9), 4, 3, (1, 0)), ((2, 2, 8, 7), 2, 5, (2, 2)),
                  ((1, 1, 5, 5), 4, 3, (0, 0))]


def _tiles_reference(x, m, r, padding):
    """D (C, a*a, P) by the definition: D[c, (i, j), (n, t, u)] = x_pad[n, c, t*m + i, u*m + j] (0 outside)."""
    N, C, H, W = x.shape
    pH, pW = padding
    a = m + r - 1
    tH, tW = -(-(H + 2 * pH - r + 1) // m), -(-(W + 2 * pW - r + 1) // m)
    x_pad = np.zeros((N, C, tH * m + a, tW * m + a), x.dtype)
    x_pad[:, :, pH:pH + H, pW:pW + W] = x
    D = np.zeros((C, a, a, N, tH, tW), x.dtype)
    for i in range(a):
        for j in range(a):
            for t in range(tH):
                for u in range(tW):
                    D[:, i, j, :, t, u] = x_pad[:, :, t * m + i, u * m + j].T
    return D.reshape(C, a * a, N * tH * tW)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("x_shape, m, r, padding", WINOGRAD_CASES)
def test_winograd_tiles(target, index, rng, dtype, x_shape, m, r, padding):
    # The gathers are copies (every entry equals the definition's, zeros included); the scatter of overlapping
    # tiles is their adjoint: <D, dD> = <x, dx> (float64 sums of the same products); the output tiles and
    # their placing are inverse copies, the bias added once.
    x = rng.standard_normal(x_shape).astype(dtype)
    D = target.run("winograd_input_tiles", x, m, r, padding)
    np.testing.assert_array_equal(D, _tiles_reference(x, m, r, padding))
    dD = rng.standard_normal(D.shape).astype(dtype)
    dx = target.run("winograd_input_untiles", dD, x_shape, m, r, padding)
    assert dx.shape == x.shape and dx.dtype == x.dtype
    lhs = float(np.sum(D.astype(np.float64) * dD.astype(np.float64)))
    rhs = float(np.sum(x.astype(np.float64) * dx.astype(np.float64)))
    assert abs(lhs - rhs) <= (2e-2 if dtype == "float16" else 1e-4) * max(1.0, abs(lhs)), (lhs, rhs)
    N, C, H, W = x_shape
    out_shape = (N, 3, H + 2 * padding[0] - r + 1, W + 2 * padding[1] - r + 1)
    tH, tW = -(-out_shape[2] // m), -(-out_shape[3] // m)
    y_full = rng.standard_normal((N, 3, tH * m, tW * m)).astype(dtype)
    y = np.ascontiguousarray(y_full[:, :, :out_shape[2], :out_shape[3]])
    dY = target.run("winograd_output_tiles", y, m)  # (OC, m*m, P): the tiles of y, zeros past its edge
    expect = np.where(np.arange(tH * m)[:, None] < out_shape[2], 1, 0) * np.where(
        np.arange(tW * m)[None, :] < out_shape[3], 1, 0) * y_full
    expect = expect.reshape(N, 3, tH, m, tW, m).transpose(1, 3, 5, 0, 2, 4).reshape(3, m * m, N * tH * tW)
    np.testing.assert_array_equal(dY, expect.astype(dtype))
    np.testing.assert_array_equal(target.run("winograd_output_untiles", dY, out_shape, m), y)
    bias = rng.standard_normal(3).astype(dtype)
    with_bias = target.run("winograd_output_untiles", dY, out_shape, m, bias)
    np.testing.assert_array_equal(with_bias, (y + bias.reshape(1, 3, 1, 1)).astype(dtype))
    assert target.index_dtypes() == [index] * 5


@pytest.mark.parametrize("m, r, groups", [(2, 3, 1), (4, 3, 2), (2, 5, 1)])
def test_winograd_convolution_through_the_gpu_branches(target, monkeypatch, rng, m, r, groups):
    # kernels/winograd.py's GPU branches (the tile kernels, then the transforms as batched products) run the
    # whole op when told every array is the GPU's: the emulated kernels stand in for the GPU's. The same
    # output and gradients as the host's blocks, to float32's rounding (the products are summed alike).
    from tinynet.functional.winograd import WinogradConv2d

    if target.name == "cuda":
        pytest.skip("the real GPU runs these branches in tests/functional/test_winograd.py")
    x = rng.standard_normal((2, 4, 9, 8)).astype(np.float32)
    w = rng.standard_normal((6, 4 // groups, r, r)).astype(np.float32)
    b = rng.standard_normal(6).astype(np.float32)
    gy = rng.standard_normal((2, 6, 9, 8)).astype(np.float32)

    def run():
        op = WinogradConv2d(m, r, (r // 2, r // 2), groups)
        op.needs_input_grad = (True, True, True)
        y = op.forward(x, w, b)
        return (y,) + op.backward(gy)

    host = run()
    monkeypatch.setattr(kcuda, "handles", lambda *arrays: True)
    emulated = run()
    assert {launch[1] for launch in target.launches} == {
        "winograd_input_tiles_kernel", "winograd_output_untiles_kernel", "winograd_output_tiles_kernel",
        "winograd_input_untiles_kernel"}
    for got, want in zip(emulated, host):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
