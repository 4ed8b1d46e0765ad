"""tinynet.nn.init: xavier, truncated normal, orthogonal, gains and fans; each fills in place on the
tensor's device and dtype from tinynet's generator. Distributions are tested against their closed
forms, with tolerances derived in each test (sample sizes and seeds fixed, so each test is
deterministic, and a correct sampler passes for any seed except with the probability stated)."""
import math

import numpy as np
import pytest

import tinynet
from tinynet import Tensor, nn
from tinynet.nn import init
from tests.helpers import host


def _w(*shape, dtype=np.float32, device="cpu"):
    return Tensor(np.zeros(shape, dtype=dtype), device=device)


def _cdf(x):
    """The standard normal CDF, accurate in both tails."""
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


def _pdf(x):
    return math.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)


# --- fans and gains -------------------------------------------------------------------------------------


@pytest.mark.parametrize("shape, fans", [((5, 4), (4, 5)), ((8, 3, 5, 5), (75, 200)), ((6, 2, 3), (6, 18)),
                                         ((4, 2, 1, 1), (2, 4))])
def test_fans_as_pytorch_for_linear_and_conv_weights(shape, fans):
    # fan_in = in * prod(kernel), fan_out = out * prod(kernel)
    assert init.calculate_fan_in_and_fan_out(_w(*shape)) == fans


@pytest.mark.parametrize("name, param, gain", [
    ("linear", None, 1.0), ("conv1d", None, 1.0), ("conv2d", None, 1.0), ("conv3d", None, 1.0),
    ("conv_transpose1d", None, 1.0), ("conv_transpose2d", None, 1.0), ("conv_transpose3d", None, 1.0),
    ("sigmoid", None, 1.0), ("tanh", None, 5.0 / 3), ("relu", None, math.sqrt(2)), ("relu", 7, math.sqrt(2)),
    ("selu", None, 0.75), ("leaky_relu", None, math.sqrt(2 / (1 + 0.01 ** 2))),
    ("leaky_relu", 0.2, math.sqrt(2 / 1.04)), ("leaky_relu", 0, math.sqrt(2)), ("leaky_relu", 1, 1.0),
])
def test_calculate_gain_table(name, param, gain):
    assert init.calculate_gain(name, param) == pytest.approx(gain, rel=1e-15)


# --- xavier -------------------------------------------------------------------------------------------


def test_xavier_uniform_bound_and_spread_for_a_conv_weight():
    # (64, 32, 3, 3): fan_in 288, fan_out 576; b = gain * sqrt(6 / 864). 18432 samples of U(-b, b):
    # the std's relative standard error is about sqrt(0.8 / n) = 0.7%, so 3% is over 4 standard errors.
    tinynet.manual_seed(0)
    w = _w(64, 32, 3, 3)
    assert init.xavier_uniform_(w, gain=2.0) is w
    bound = 2.0 * math.sqrt(6 / (288 + 576))
    v = w.numpy().astype(np.float64).ravel()
    assert np.abs(v).max() <= bound * (1 + 1e-6) and np.abs(v).max() > 0.99 * bound
    assert v.std() == pytest.approx(bound / math.sqrt(3), rel=0.03)
    assert abs(v.mean()) < 4 * bound / math.sqrt(3) / math.sqrt(v.size)


def test_xavier_normal_std():
    # (300, 200): std = gain * sqrt(2 / 500); n = 60000, the std's relative standard error is
    # sqrt(1 / (2n)) = 0.29%, so 1.5% is five standard errors.
    tinynet.manual_seed(1)
    w = init.xavier_normal_(_w(300, 200, dtype=np.float64), gain=init.calculate_gain("tanh"))
    std = 5 / 3 * math.sqrt(2 / 500)
    v = w.numpy().ravel()
    assert v.std() == pytest.approx(std, rel=0.015)
    assert abs(v.mean()) < 5 * std / math.sqrt(v.size)


@pytest.mark.parametrize("fill", [init.xavier_uniform_, init.xavier_normal_, init.orthogonal_, init.trunc_normal_])
@pytest.mark.parametrize("shape", [(0, 3), (3, 0), (0, 0), (2, 0, 3, 3)])
def test_a_tensor_with_no_elements_is_left_as_it_is(fill, shape):
    w = _w(*shape)
    assert fill(w) is w and w.shape == shape


# --- truncated normal -------------------------------------------------------------------------------------


def _truncated_moments(mean, std, a, b):
    """Mean and standard deviation of N(mean, std^2) truncated to [a, b] (the closed forms)."""
    al, be = (a - mean) / std, (b - mean) / std
    if al > 0:  # mirror into the lower tail, where the CDF is precise
        m, s = _truncated_moments(-mean, std, -b, -a)
        return -m, s
    z = _cdf(be) - _cdf(al)
    d = (_pdf(al) - _pdf(be)) / z
    var = 1 + (al * _pdf(al) - be * _pdf(be)) / z - d * d
    return mean + std * d, std * math.sqrt(var)


def _truncated_cdf(x, mean, std, a, b):
    al, be = (a - mean) / std, (b - mean) / std
    if al > 0:  # P(X <= x) = 1 - P(-X <= -x), the mirror image drawn in the lower tail
        return 1.0 - _truncated_cdf(-x, -mean, std, -b, -a)
    cdf = np.vectorize(_cdf)
    return (cdf((x - mean) / std) - _cdf(al)) / (_cdf(be) - _cdf(al))


TRUNCATIONS = [  # (mean, std, a, b): PyTorch's default, one-sided, asymmetric, a far tail on each side, narrow
    (0.0, 1.0, -2.0, 2.0), (0.0, 1.0, 0.0, 3.0), (1.0, 0.5, 0.0, 1.2), (0.0, 1.0, 5.0, 6.0),
    (0.0, 1.0, -6.0, -5.0), (0.0, 0.02, -0.04, 0.04), (3.0, 2.0, 3.0, 3.01), (0.0, 1.0, -30.0, -29.0),
]


@pytest.mark.parametrize("mean, std, a, b", TRUNCATIONS)
def test_trunc_normal_matches_the_truncated_distribution(mean, std, a, b):
    # n = 100000 float64 draws. Mean: within 5 standard errors (sd / sqrt(n)). Std: the sample
    # variance's standard error is sqrt((m4 - s^4) / n), m4 the sample's 4th central moment, so the
    # std's is that / (2 s); within 5 of them. Shape: the Kolmogorov-Smirnov distance to the closed-form
    # CDF is below eps = sqrt(ln(2 / 1e-6) / (2n)) = 0.0085 except with probability 1e-6 (the
    # Dvoretzky-Kiefer-Wolfowitz inequality). Clipping a plain normal into [a, b] (mass piled on the
    # bounds) or drawing from the wrong side of the mean fails all three.
    tinynet.manual_seed(7)
    n = 100_000
    v = init.trunc_normal_(_w(n, dtype=np.float64), mean, std, a, b).numpy()
    assert v.min() >= a and v.max() <= b
    m, s = _truncated_moments(mean, std, a, b)
    assert abs(v.mean() - m) < 5 * s / math.sqrt(n)
    se_var = math.sqrt((np.mean((v - v.mean()) ** 4) - v.var() ** 2) / n)
    assert abs(v.std() - s) < 5 * se_var / (2 * s)
    x = np.sort(v)
    f = _truncated_cdf(x, mean, std, a, b)
    ks = max(np.max(np.arange(1, n + 1) / n - f), np.max(f - np.arange(n) / n))
    assert ks < math.sqrt(math.log(2 / 1e-6) / (2 * n))


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
def test_trunc_normal_stays_inside_the_bounds_in_any_float_dtype(dtype):
    # The bounds rounded into the dtype lie outside [0.1, 0.3] for float32 and float16; the values
    # must not: they are clipped to the nearest representable numbers inside.
    tinynet.manual_seed(3)
    w = init.trunc_normal_(_w(20000, dtype=dtype), 0.2, 1.0, 0.1, 0.3)
    v = w.numpy()
    assert w.dtype == dtype and v.min() >= 0.1 and v.max() <= 0.3
    assert v.max() - v.min() > 0.19  # filling the interval, not stuck at a bound


# --- orthogonal -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(3, 5), (5, 3), (4, 4), (4, 2, 3, 3), (20, 2, 3)])
@pytest.mark.parametrize("gain", [1.0, 0.5, -2.0])
def test_orthogonal_rows_or_columns_are_orthonormal(shape, gain):
    tinynet.manual_seed(5)
    w = init.orthogonal_(_w(*shape, dtype=np.float64), gain)
    rows = shape[0]
    m = w.numpy().reshape(rows, -1)
    if rows <= m.shape[1]:
        np.testing.assert_allclose(m @ m.T, gain ** 2 * np.eye(rows), atol=1e-12)
    else:
        np.testing.assert_allclose(m.T @ m, gain ** 2 * np.eye(m.shape[1]), atol=1e-12)


def test_orthogonal_matrices_are_uniformly_distributed():
    # For Haar-distributed 3x3 orthogonal Q every entry has mean 0 and E[Q_ij^2] = 1/3 (rows are unit
    # vectors, uniformly oriented). With n = 2000 draws an entry's mean has standard error
    # sqrt(1/3 / n) = 0.013: 0.065 is five. Without the sign fix, NumPy's QR gives diagonal means near
    # +-0.48, which this catches.
    tinynet.manual_seed(11)
    n = 2000
    qs = np.array([init.orthogonal_(_w(3, 3, dtype=np.float64)).numpy() for _ in range(n)])
    assert np.abs(qs.mean(axis=0)).max() < 5 * math.sqrt(1 / 3 / n)
    np.testing.assert_allclose((qs ** 2).mean(axis=0), 1 / 3, atol=5 * math.sqrt(4 / 45 / n))
    raw = np.array([np.linalg.qr(np.random.default_rng(i).standard_normal((3, 3)))[0] for i in range(200)])
    assert np.abs(np.diag(raw.mean(axis=0))).min() > 0.3  # what the sign fix removes


# --- in place, device, dtype, generator ----------------------------------------------------------------------


FILLS = [
    pytest.param(lambda w: init.xavier_uniform_(w), id="xavier_uniform_"),
    pytest.param(lambda w: init.xavier_normal_(w, 0.5), id="xavier_normal_"),
    pytest.param(lambda w: init.trunc_normal_(w, 0.0, 0.02), id="trunc_normal_"),
    pytest.param(lambda w: init.orthogonal_(w), id="orthogonal_"),
]


@pytest.mark.parametrize("fill", FILLS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fills_in_place_on_the_device_and_dtype_reproducibly(fill, dtype, device):
    p = nn.Parameter(np.zeros((6, 4, 3), dtype=dtype))
    p.data = tinynet.backend.to_device(p.data, device)
    tinynet.manual_seed(42)
    assert fill(p) is p
    assert p.device == device and p.dtype == dtype and p.requires_grad and p.is_leaf and p.grad_fn is None
    first = host(p)
    assert np.abs(first).max() > 0
    tinynet.manual_seed(42)
    fill(p)
    np.testing.assert_array_equal(host(p), first)  # tinynet.manual_seed fixes the draw
    fill(p)
    assert not np.array_equal(host(p), first)  # and the next draw differs


# Every init function, called on a (6, 4, 3) weight that holds 7.0 everywhere (none of them leaves
# that as it is): the in-place test below checks the list is complete.
EVERY_INIT = {
    "uniform_": lambda w: init.uniform_(w, -1.0, 1.0),
    "normal_": lambda w: init.normal_(w),
    "constant_": lambda w: init.constant_(w, 3.0),
    "zeros_": lambda w: init.zeros_(w),
    "ones_": lambda w: init.ones_(w),
    "kaiming_uniform_": lambda w: init.kaiming_uniform_(w),
    "kaiming_normal_": lambda w: init.kaiming_normal_(w),
    "default_init_": lambda w: init.default_init_(w),
    "xavier_uniform_": lambda w: init.xavier_uniform_(w),
    "xavier_normal_": lambda w: init.xavier_normal_(w),
    "trunc_normal_": lambda w: init.trunc_normal_(w),
    "orthogonal_": lambda w: init.orthogonal_(w),
}


def test_every_init_function_is_checked_in_place():
    public = {name for name in dir(init) if name.endswith("_") and not name.startswith("_")}
    assert public == set(EVERY_INIT)


@pytest.mark.parametrize("name", sorted(EVERY_INIT))
def test_fills_the_tensors_own_array_so_another_reference_sees_it(name, device):
    # As PyTorch's init functions: the values are written into the array .data holds, not into a
    # new array bound to .data, so a view of it (or a second tensor on it) changes too.
    p = nn.Parameter(np.full((6, 4, 3), 7.0, dtype=np.float32))
    p.data = tinynet.backend.to_device(p.data, device)
    array, row = p.data, p.data[1]
    other = Tensor(array)
    EVERY_INIT[name](p)
    assert p.data is array and p.device == device and p.dtype == np.float32
    assert not np.any(host(p) == 7.0)
    np.testing.assert_array_equal(tinynet.backend.host(array), host(p))
    np.testing.assert_array_equal(tinynet.backend.host(row), host(p)[1])
    np.testing.assert_array_equal(host(other), host(p))


def test_init_inside_no_grad_and_on_a_layer():
    lin = nn.Linear(30, 20)
    with tinynet.no_grad():
        init.orthogonal_(lin.weight, init.calculate_gain("relu"))
    w = lin.weight.numpy().astype(np.float64)
    np.testing.assert_allclose(w @ w.T, 2 * np.eye(20), atol=1e-5)


# --- bad arguments: one row per case (what is done, exception, message) ----------------------------------------

NAN, INF = float("nan"), float("inf")

INIT_ROWS = [
    # xavier_uniform_ / xavier_normal_
    ("xu-ndarray", lambda: init.xavier_uniform_(np.zeros((3, 3))), TypeError,
     r"^init.xavier_uniform_: expected a Tensor \(e.g. a layer's weight\), got type ndarray$"),
    ("xu-list", lambda: init.xavier_uniform_([[0.0]]), TypeError,
     r"^init.xavier_uniform_: expected a Tensor .*got type list$"),
    ("xu-None", lambda: init.xavier_uniform_(None), TypeError, r"^init.xavier_uniform_: expected a Tensor .*NoneType$"),
    ("xu-int-tensor", lambda: init.xavier_uniform_(_w(3, 3, dtype=np.int64)), TypeError,
     r"^init.xavier_uniform_: only floating-point tensors can be initialised, got int64$"),
    ("xu-1d", lambda: init.xavier_uniform_(_w(3)), ValueError,
     r"^init.xavier_uniform_: fan in and fan out need a tensor of 2 or more dimensions, got shape \(3,\)$"),
    ("xu-0d", lambda: init.xavier_uniform_(_w()), ValueError,
     r"^init.xavier_uniform_: fan in and fan out need .*\(\)$"),
    ("xu-gain-str", lambda: init.xavier_uniform_(_w(3, 3), "1"), TypeError,
     r"^init.xavier_uniform_: gain must be a finite number >= 0, got '1'$"),
    ("xu-gain-bool", lambda: init.xavier_uniform_(_w(3, 3), True), TypeError,
     r"^init.xavier_uniform_: gain must be a finite number >= 0, got True$"),
    ("xu-gain-nan", lambda: init.xavier_uniform_(_w(3, 3), NAN), ValueError,
     r"^init.xavier_uniform_: gain must be a finite number >= 0, got nan$"),
    ("xu-gain-inf", lambda: init.xavier_uniform_(_w(3, 3), INF), ValueError, r"^init.xavier_uniform_: gain .*got inf$"),
    ("xu-gain-negative", lambda: init.xavier_uniform_(_w(3, 3), -1.0), ValueError,
     r"^init.xavier_uniform_: gain must be a finite number >= 0, got -1.0$"),
    ("xn-ndarray", lambda: init.xavier_normal_(np.zeros((3, 3))), TypeError,
     r"^init.xavier_normal_: expected a Tensor"),
    ("xn-bool-tensor", lambda: init.xavier_normal_(_w(3, 3, dtype=np.bool_)), TypeError,
     r"^init.xavier_normal_: only floating-point tensors can be initialised, got bool$"),
    ("xn-1d", lambda: init.xavier_normal_(_w(4)), ValueError, r"^init.xavier_normal_: fan in and fan out need"),
    ("xn-gain-None", lambda: init.xavier_normal_(_w(3, 3), None), TypeError,
     r"^init.xavier_normal_: gain must be a finite number >= 0, got None$"),
    ("xn-gain-negative", lambda: init.xavier_normal_(_w(3, 3), -0.5), ValueError,
     r"^init.xavier_normal_: gain .*-0.5$"),
    # trunc_normal_
    ("tn-ndarray", lambda: init.trunc_normal_(np.zeros(3)), TypeError, r"^init.trunc_normal_: expected a Tensor"),
    ("tn-int-tensor", lambda: init.trunc_normal_(_w(3, dtype=np.int32)), TypeError,
     r"^init.trunc_normal_: only floating-point tensors can be initialised, got int32$"),
    ("tn-mean-nan", lambda: init.trunc_normal_(_w(3), NAN), ValueError,
     r"^init.trunc_normal_: mean must be a finite number, got nan$"),
    ("tn-mean-str", lambda: init.trunc_normal_(_w(3), "0"), TypeError,
     r"^init.trunc_normal_: mean must be a finite number, got '0'$"),
    ("tn-std-zero", lambda: init.trunc_normal_(_w(3), 0.0, 0.0), ValueError,
     r"^init.trunc_normal_: std must be a finite number > 0, got 0.0$"),
    ("tn-std-negative", lambda: init.trunc_normal_(_w(3), std=-1), ValueError,
     r"^init.trunc_normal_: std must be .*got -1$"),
    ("tn-std-nan", lambda: init.trunc_normal_(_w(3), std=NAN), ValueError,
     r"^init.trunc_normal_: std must be .*got nan$"),
    ("tn-std-bool", lambda: init.trunc_normal_(_w(3), std=True), TypeError,
     r"^init.trunc_normal_: std must be .*got True$"),
    ("tn-a-nan", lambda: init.trunc_normal_(_w(3), a=NAN), ValueError,
     r"^init.trunc_normal_: a must be a finite number, got nan$"),
    ("tn-b-inf", lambda: init.trunc_normal_(_w(3), b=INF), ValueError,
     r"^init.trunc_normal_: b must be a finite number, got inf$"),
    ("tn-b-None", lambda: init.trunc_normal_(_w(3), b=None), TypeError,
     r"^init.trunc_normal_: b must be a finite number, got None$"),
    ("tn-a-equals-b", lambda: init.trunc_normal_(_w(3), a=1.0, b=1.0), ValueError,
     r"^init.trunc_normal_: needs a < b, got a=1.0, b=1.0$"),
    ("tn-a-above-b", lambda: init.trunc_normal_(_w(3), a=2, b=-2), ValueError,
     r"^init.trunc_normal_: needs a < b, got a=2, b=-2$"),
    ("tn-far-tail", lambda: init.trunc_normal_(_w(3), a=40.0, b=41.0), ValueError,
     r"^init.trunc_normal_: under N\(0.0, 1.0\^2\), \[a, b\] = \[40.0, 41.0\] is too narrow or too far in the tail"),
    ("tn-too-narrow", lambda: init.trunc_normal_(_w(3), a=0.0, b=1e-20), ValueError,
     r"^init.trunc_normal_: .* is too narrow or too far in the tail for float64"),
    # orthogonal_
    ("or-ndarray", lambda: init.orthogonal_(np.zeros((3, 3))), TypeError, r"^init.orthogonal_: expected a Tensor"),
    ("or-int-tensor", lambda: init.orthogonal_(_w(3, 3, dtype=np.int64)), TypeError,
     r"^init.orthogonal_: only floating-point tensors can be initialised, got int64$"),
    ("or-1d", lambda: init.orthogonal_(_w(3)), ValueError,
     r"^init.orthogonal_: needs a tensor of 2 or more dimensions \(rows, cols...\), got shape \(3,\)$"),
    ("or-0d", lambda: init.orthogonal_(_w()), ValueError, r"^init.orthogonal_: needs a tensor of 2 or more dimensions"),
    ("or-gain-str", lambda: init.orthogonal_(_w(3, 3), "2"), TypeError,
     r"^init.orthogonal_: gain must be a finite number, got '2'$"),
    ("or-gain-nan", lambda: init.orthogonal_(_w(3, 3), NAN), ValueError,
     r"^init.orthogonal_: gain must be a finite number, got nan$"),
    ("or-gain-bool", lambda: init.orthogonal_(_w(3, 3), False), TypeError,
     r"^init.orthogonal_: gain must be .*got False$"),
    # calculate_gain, calculate_fan_in_and_fan_out
    ("gain-None", lambda: init.calculate_gain(None), TypeError,
     r"^init.calculate_gain: nonlinearity must be a str such as 'relu', got None$"),
    ("gain-int", lambda: init.calculate_gain(3), TypeError,
     r"^init.calculate_gain: nonlinearity must be a str .*got 3$"),
    ("gain-module", lambda: init.calculate_gain(nn.ReLU()), TypeError,
     r"^init.calculate_gain: nonlinearity must be a str"),
    ("gain-capitalised", lambda: init.calculate_gain("ReLU"), ValueError,
     r"^init.calculate_gain: unsupported nonlinearity 'ReLU' \(expected one of linear, conv1d, .*, leaky_relu\)$"),
    ("gain-slope-bool", lambda: init.calculate_gain("leaky_relu", True), TypeError,
     r"^init.calculate_gain: the leaky_relu slope must be a finite number, got True$"),
    ("gain-slope-inf", lambda: init.calculate_gain("leaky_relu", INF), ValueError,
     r"^init.calculate_gain: the leaky_relu slope must be a finite number, got inf$"),
    ("fans-ndarray", lambda: init.calculate_fan_in_and_fan_out(np.zeros((3, 3))), TypeError,
     r"^init.calculate_fan_in_and_fan_out: expected a Tensor, got type ndarray$"),
    ("fans-1d", lambda: init.calculate_fan_in_and_fan_out(_w(3)), ValueError,
     r"^init.calculate_fan_in_and_fan_out: fan in and fan out need a tensor of 2 or more dimensions, "
     r"got shape \(3,\)$"),
]


@pytest.mark.parametrize("call, error, message", [pytest.param(c, e, m, id=i) for i, c, e, m in INIT_ROWS])
def test_init_refuses_bad_arguments_naming_the_function_and_the_argument(call, error, message):
    with pytest.raises(error, match=message):
        call()
