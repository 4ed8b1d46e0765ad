"""kernels/half.py: float32 rounded to bfloat16's grid."""
import numpy as np
import pytest

import kernels


def _reference(a):
    """Round to 8 significant bits (bfloat16's 7 stored + the implicit one), ties to even, via float64."""
    out = []
    for v in a.astype(np.float64):
        if not np.isfinite(v) or v == 0:
            out.append(v)
            continue
        m, e = np.frexp(v)  # v = m 2^e, 0.5 <= |m| < 1
        e = max(e, -125)  # subnormals: bfloat16's grid is float32's below 2^-126 (spacing 2^-133)
        q = np.round(np.ldexp(v, 8 - e))  # numpy rounds half to even
        r = np.ldexp(q, e - 8)
        out.append(r if abs(r) < 2.0 ** 128 else np.copysign(np.inf, v))
    return np.array(out, np.float32)


def test_values_round_to_nearest_bfloat16_ties_to_even():
    rng = np.random.default_rng(0)
    a = np.concatenate([rng.standard_normal(2000).astype(np.float32) * 10.0 ** rng.integers(-30, 30, 2000),
                        np.float32([1.0, 1 + 2**-8, 1 + 3 * 2**-8, -2.5, 3.4e38, 1e-40, 0.0, -0.0])])
    got = kernels.round_to_bfloat16(a.astype(np.float32))
    np.testing.assert_array_equal(got, _reference(a.astype(np.float32)))
    assert got[-8:-4].tolist() == [1.0, 1.0, 1.015625, -2.5]  # 1 + 2^-8 ties down to 1, 1 + 3 * 2^-8 up to even
    assert (got.view(np.uint32) & 0xFFFF == 0).all()  # the low 16 bits are gone: bfloat16 values
    np.testing.assert_array_equal(kernels.round_to_bfloat16(got), got)  # on the grid already: unchanged


def test_infinities_and_nans_stay_and_the_largest_floats_overflow():
    a = np.float32([np.inf, -np.inf, np.nan, np.finfo(np.float32).max])
    got = kernels.round_to_bfloat16(a)
    assert np.isposinf(got[0]) and np.isneginf(got[1]) and np.isnan(got[2]) and np.isposinf(got[3])


def test_only_float32_is_taken():
    with pytest.raises(TypeError, match="round_to_bfloat16: expected a float32 array, got float64"):
        kernels.round_to_bfloat16(np.zeros(2))


def test_words_hold_the_rounded_values_and_come_back_exactly():
    rng = np.random.default_rng(1)
    a = np.concatenate([(rng.standard_normal(500) * 10.0 ** rng.integers(-20, 20, 500)).astype(np.float32),
                        np.float32([np.inf, -np.inf, 0.0, -0.0, 1 + 2**-8])])
    words = kernels.to_bfloat16_bits(a)
    assert words.dtype == np.uint16 and words.shape == a.shape
    np.testing.assert_array_equal(kernels.from_bfloat16_bits(words), kernels.round_to_bfloat16(a))
    nan = kernels.from_bfloat16_bits(kernels.to_bfloat16_bits(np.float32([np.nan, -np.nan])))
    assert np.isnan(nan).all()
    with pytest.raises(TypeError, match="to_bfloat16_bits: expected a float32 array, got float16"):
        kernels.to_bfloat16_bits(np.zeros(2, np.float16))
    with pytest.raises(TypeError, match="from_bfloat16_bits: expected uint16 words, got int32"):
        kernels.from_bfloat16_bits(np.zeros(2, np.int32))


def test_bfloat16_products_are_those_of_the_rounded_operands(device):
    # On the GPU cuBLAS's bfloat16 GEMM (CUDA_R_16BF in, float32 sums); on the host the float32 product of the
    # rounded values. The two differ only in the order of the float32 sums.
    from tinynet import backend

    rng = np.random.default_rng(2)
    a, b = rng.standard_normal((37, 50)).astype(np.float32), rng.standard_normal((50, 23)).astype(np.float32)
    want = kernels.round_to_bfloat16(a).astype(np.float64) @ kernels.round_to_bfloat16(b).astype(np.float64)
    got = backend.host(kernels.matmul_bfloat16(backend.to_device(a, device), backend.to_device(b, device)))
    assert got.dtype == np.float32 and got.shape == (37, 23)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    # An operand given as words is read as it is: the same product as its float32 values.
    words = backend.to_device(kernels.to_bfloat16_bits(b), device)
    got_words = backend.host(kernels.matmul_bfloat16(backend.to_device(a, device), words))
    np.testing.assert_array_equal(got_words, got)
    with pytest.raises(TypeError, match=r"matmul_bfloat16: a must be a 2-D float32 array or uint16 bfloat16 "
                                        r"words, got float64 of shape \(2, 2\)"):
        kernels.matmul_bfloat16(np.zeros((2, 2)), b)
    with pytest.raises(TypeError, match=r"matmul_bfloat16: b must be .* got uint16 of shape \(50,\)"):
        kernels.matmul_bfloat16(a, np.zeros(50, np.uint16))


def test_linear_under_bfloat16_autocast_matches_on_both_devices(device):
    import tinynet
    from tinynet import amp, nn

    tinynet.manual_seed(0)
    lin = nn.Linear(20, 7).to(device)
    x = tinynet.randn(5, 20).to(device)
    with amp.autocast("cuda" if device == "cuda" else "cpu", dtype="bfloat16"):
        y = lin(x)
    y.sum().backward()
    host = tinynet.tensor(np.asarray(x.numpy()))
    lin_host = nn.Linear(20, 7)
    lin_host.load_state_dict({k: np.asarray(v.numpy() if hasattr(v, "numpy") else v) for k, v in lin.state_dict().items()})
    with amp.autocast("cpu", dtype="bfloat16"):
        y_host = lin_host(host)
    np.testing.assert_allclose(y.numpy(), y_host.numpy(), rtol=1e-2, atol=1e-2)
    assert lin.weight.grad.dtype == np.float32


def test_a_nan_rounds_to_the_nan_its_word_holds_and_non_arrays_are_refused():
    bits = np.array([0x7F800001, 0xFF812345, 0x7FC00000], np.uint32)
    a = bits.view(np.float32)
    rounded = kernels.round_to_bfloat16(a)
    via_words = kernels.from_bfloat16_bits(kernels.to_bfloat16_bits(a))
    np.testing.assert_array_equal(rounded.view(np.uint32), via_words.view(np.uint32))
    assert np.isnan(rounded).all() and (rounded.view(np.uint32) & 0xFFFF == 0).all()
    for bad in (1.0, [1.0]):
        with pytest.raises(TypeError, match="round_to_bfloat16: expected a float32 array"):
            kernels.round_to_bfloat16(bad)


def test_conv2d_under_bfloat16_autocast_matches_the_hosts_emulation(device, monkeypatch):
    # On the GPU its three products go through cuBLAS's bfloat16 GEMM; on the host through the float32 product of
    # the same rounded operands: the two agree to float32's summation order.
    import tinynet
    from tinynet import amp, nn

    tinynet.manual_seed(1)
    conv = nn.Conv2d(3, 4, 3, padding=1)
    x = tinynet.randn(2, 3, 6, 6)
    operands, product = [], kernels.matmul_bfloat16
    monkeypatch.setattr(kernels, "matmul_bfloat16", lambda a, b, **kw: operands.append((a.dtype, b.dtype)) or
                        product(a, b, **kw))
    results = []
    for where in ("cpu", device):
        c, xi = conv.to(where), x.to(where)
        for p in c.parameters():
            p.grad = None
        with amp.autocast(where, dtype="bfloat16"):
            y = c(xi)
        y.sum().backward()
        results.append((y.numpy(), c.weight.grad.numpy()))
    # Forward W @ col and dW G @ col^T (the input needs no gradient): the columns are the input's bfloat16
    # words (half the bytes of float32 columns to write, keep for dW and read).
    assert operands == [(np.float32, np.uint16)] * 4
    (y0, g0), (y1, g1) = results
    np.testing.assert_array_equal(kernels.round_to_bfloat16(y1), y1)
    np.testing.assert_allclose(y1, y0, rtol=1e-2, atol=1e-2)
    np.testing.assert_allclose(g1, g0, rtol=2e-2, atol=2e-2)
