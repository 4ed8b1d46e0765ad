"""Winograd convolution (tinynet/functional/winograd.py) and the choice of algorithm (conv_choice.py):
float64 gradient checks of every variant, equality with im2col, the float32 error rule, "auto" and its
record, and the refusals."""
import numpy as np
import pytest

import tinynet
import tinynet.functional as F
from tests.helpers import host, rand
from tinynet import nn
from tinynet.functional import conv_choice
from tinynet.functional.winograd import WinogradConv2d
from tinynet.gradcheck import gradcheck

# (x shape, weight shape, padding, groups): odd sizes, so the last tiles overhang the output.
CASES = [
    pytest.param((2, 3, 5, 6), (4, 3, 3, 3), (1, 1), 1, id="3x3-pad1"),
    pytest.param((1, 2, 7, 5), (2, 2, 3, 3), (0, 1), 1, id="3x3-pad-pair"),
    pytest.param((2, 4, 6, 6), (6, 2, 3, 3), (1, 1), 2, id="3x3-groups2"),
    pytest.param((1, 2, 7, 7), (3, 2, 5, 5), (2, 2), 1, id="5x5-pad2"),
    pytest.param((1, 4, 6, 5), (2, 2, 5, 5), (1, 0), 2, id="5x5-groups2"),
]
VARIANT = {3: [(2, 3), (4, 3)], 5: [(2, 5)]}


def _variants(w_shape):
    return VARIANT[w_shape[-1]]


@pytest.mark.parametrize("x_shape, w_shape, padding, groups", CASES)
def test_every_variant_passes_a_float64_gradient_check(x_shape, w_shape, padding, groups):
    rng = np.random.default_rng(0)
    for m, r in _variants(w_shape):
        x, w, b = rand(rng, x_shape), rand(rng, w_shape), rand(rng, (w_shape[0],))
        report = gradcheck(lambda x, w, b: WinogradConv2d(m, r, padding, groups)(x, w, b), (x, w, b))
        assert report, f"F({m}, {r}): {report}"


@pytest.mark.parametrize("x_shape, w_shape, padding, groups", CASES)
def test_every_variant_computes_im2cols_convolution(device, x_shape, w_shape, padding, groups):
    # float64: the same numbers to 1e-12, forward and both gradients, on each device.
    rng = np.random.default_rng(1)
    x, w, b = (rand(rng, s, device) for s in (x_shape, w_shape, (w_shape[0],)))
    y_ref = F.conv2d(x, w, b, padding=padding, groups=groups)
    g = rand(rng, y_ref.shape, device, requires_grad=False)
    y_ref.backward(g)
    ref = [host(t) for t in (y_ref, x.grad, w.grad, b.grad)]
    for m, r in _variants(w_shape):
        for t in (x, w, b):
            t.grad = None
        y = WinogradConv2d(m, r, padding, groups)(x, w, b)
        y.backward(g)
        for got, want in zip((y, x.grad, w.grad, b.grad), ref):
            np.testing.assert_allclose(host(got), want, rtol=1e-10, atol=1e-10, err_msg=f"F({m}, {r})")


def test_float16_runs_when_forced_within_its_precision(device):
    rng = np.random.default_rng(2)
    x = rand(rng, (1, 3, 6, 6), device, dtype="float16")
    w = rand(rng, (2, 3, 3, 3), device, dtype="float16")
    y = F.conv2d(x, w, padding=1, algorithm="winograd")
    assert y.dtype == np.float16
    want = F.conv2d(x.float(), w.float(), padding=1)
    np.testing.assert_allclose(host(y).astype(np.float32), host(want), atol=3e-2)


# AlexNet's stride-1 layers (seed variant at 224, one image): conv2 5x5 over 96 channels of 27x27, conv3-5
# 3x3 over 256 and 384 channels of 13x13.
ALEXNET_LAYERS = [((1, 96, 27, 27), (256, 96, 5, 5), 2), ((1, 256, 13, 13), (384, 256, 3, 3), 1),
                  ((1, 384, 13, 13), (384, 384, 3, 3), 1), ((1, 384, 13, 13), (256, 384, 3, 3), 1)]


def relative_rms_error(y, ref):
    return float(np.sqrt(np.mean((y - ref) ** 2)) / np.sqrt(np.mean(ref ** 2)))


@pytest.mark.parametrize("x_shape, w_shape, padding", ALEXNET_LAYERS, ids=["conv2", "conv3", "conv4", "conv5"])
def test_every_variant_auto_uses_is_within_10x_of_im2cols_float32_error(x_shape, w_shape, padding):
    # The rule for a default: inputs like a ReLU's output, weights of Kaiming's scale; the error of float32
    # against the float64 convolution of the same (float32) numbers, as an RMS relative to the output's.
    rng = np.random.default_rng(3)
    x = np.maximum(rng.standard_normal(x_shape), 0).astype(np.float32)
    w = (rng.standard_normal(w_shape) * np.sqrt(2 / np.prod(w_shape[1:]))).astype(np.float32)
    ref = F.conv2d(tinynet.tensor(x.astype(np.float64)), tinynet.tensor(w.astype(np.float64)), padding=padding).numpy()
    base = relative_rms_error(F.conv2d(tinynet.tensor(x), tinynet.tensor(w), padding=padding).numpy(), ref)
    assert 0 < base < 1e-6
    for m, r in _variants(w_shape):
        op = WinogradConv2d(m, r, (padding, padding))
        err = relative_rms_error(op(tinynet.tensor(x), tinynet.tensor(w)).numpy(), ref)
        assert err < 10 * base, f"F({m}x{m}, {r}x{r}): {err:.2e} against im2col's {base:.2e}"


def test_auto_times_once_per_shape_and_keeps_the_choice(monkeypatch):
    conv_choice.clear()
    timed = []
    real = conv_choice._time
    monkeypatch.setattr(conv_choice, "_time", lambda name, *a: timed.append(name) or real(name, *a))
    layer = nn.Conv2d(4, 8, 3, padding=1)  # algorithm="auto", the default
    assert layer.algorithm == "auto"
    x = tinynet.randn(2, 4, 9, 9)
    y = layer(x)
    assert timed == ["im2col", "winograd F(2x2,3x3)", "winograd F(4x4,3x3)"]
    layer(x)
    assert len(timed) == 3  # the same shapes: the choice is kept
    (key, choice), = conv_choice.choices().items()
    assert key == "float32 cpu input=2x4x9x9 weight=8x4x3x3 stride=1x1 padding=1x1 dilation=1x1 groups=1"
    assert choice in conv_choice.NAMES
    np.testing.assert_allclose(y.numpy(), F.conv2d(x, layer.weight, layer.bias, padding=1).numpy(), atol=1e-5)
    layer(tinynet.randn(3, 4, 9, 9))  # another batch size is another shape
    assert len(timed) == 6 and len(conv_choice.choices()) == 2


def test_auto_uses_im2col_where_winograd_cannot_or_should_not(monkeypatch):
    conv_choice.clear()
    monkeypatch.setattr(conv_choice, "_time", lambda *a: pytest.fail("nothing to time"))
    x = tinynet.randn(1, 3, 11, 11)
    for layer in (nn.Conv2d(3, 4, 3, stride=2), nn.Conv2d(3, 4, 7), nn.Conv2d(3, 4, 3, dilation=2),
                  nn.Conv2d(3, 4, (3, 5)), nn.Conv2d(3, 4, 1)):
        layer(x)
    half = nn.Conv2d(3, 4, 3).half()
    half(x.half())  # float16: Winograd's error would be past what a layer can take
    assert conv_choice.choices() == {}


def test_a_recorded_choice_is_used_as_it_is(monkeypatch):
    conv_choice.clear()
    x = tinynet.randn(1, 2, 8, 8)
    layer = nn.Conv2d(2, 3, 3, padding=1)
    key = conv_choice.shape_key(x.data, layer.weight.data, (1, 1), (1, 1), (1, 1), 1)
    conv_choice.load_choices({key: "winograd F(4x4,3x3)"})
    monkeypatch.setattr(conv_choice, "_time", lambda *a: pytest.fail("a recorded shape is not timed again"))
    made = []
    real = conv_choice.make_op
    monkeypatch.setattr(conv_choice, "make_op", lambda name, *a: made.append(name) or real(name, *a))
    layer(x)
    assert made == ["winograd F(4x4,3x3)"]
    conv_choice.clear()


KEY3 = "float32 cpu input=2x4x9x9 weight=8x4x3x3 stride=1x1 padding=1x1 dilation=1x1 groups=1"


@pytest.mark.parametrize("table, message", [
    ([("k", "im2col")], "'conv_algorithms' must be a dict of shape key -> algorithm, got list"),
    ({"k": "im2col"}, "'conv_algorithms': 'k' is not a shape key"),
    ({1: "im2col"}, "'conv_algorithms': 1 is not a shape key"),
    ({KEY3: "fft"}, "maps to 'fft', which can't compute it"),
    ({KEY3: ["im2col"]}, r"maps to \['im2col'\], which can't compute it"),
    ({KEY3: "winograd F(2x2,5x5)"}, r"maps to 'winograd F\(2x2,5x5\)', which can't compute it \(one of im2col, "
                                    r"winograd F\(2x2,3x3\), winograd F\(4x4,3x3\)\)"),
    ({KEY3.replace("stride=1x1", "stride=2x2"): "winograd F(2x2,3x3)"}, "which can't compute it \\(one of im2col\\)"),
])
def test_a_bad_table_is_refused_naming_the_entry(table, message):
    with pytest.raises(ValueError, match=message):
        conv_choice.load_choices(table)
    conv_choice.check_table({KEY3: "winograd F(4x4,3x3)"})  # a good one


def test_fixed_algorithms_are_noted_as_used_and_clear_forgets():
    conv_choice.clear()
    x = tinynet.randn(1, 2, 8, 8)
    nn.Conv2d(2, 3, 3, padding=1, algorithm="winograd")(x)
    nn.Conv2d(2, 3, 5, padding=2, algorithm="im2col")(x)
    assert sorted(conv_choice.used().values()) == ["im2col", "winograd F(2x2,3x3)"]
    assert conv_choice.choices() == {}  # fixed algorithms are not "auto"'s decisions
    conv_choice.clear()
    assert conv_choice.used() == {}


def test_bad_algorithms_are_refused():
    x, w = tinynet.randn(1, 2, 8, 8), tinynet.randn(3, 2, 3, 3)
    with pytest.raises(ValueError, match="conv2d: algorithm must be 'auto', 'im2col' or 'winograd', got 'fft'"):
        F.conv2d(x, w, algorithm="fft")
    with pytest.raises(ValueError, match="Conv2d: algorithm must be 'auto', 'im2col' or 'winograd', got None"):
        nn.Conv2d(2, 3, 3, algorithm=None)
    with pytest.raises(ValueError, match=r"Conv2d: algorithm='winograd' computes square 3x3 or 5x5 kernels with "
                                         r"stride 1 and dilation 1; got kernel_size=\(7, 7\)"):
        nn.Conv2d(2, 3, 7, algorithm="winograd")
    with pytest.raises(ValueError, match=r"got kernel_size=\(3, 3\), stride=\(2, 2\)"):
        nn.Conv2d(2, 3, 3, stride=2, algorithm="winograd")
    with pytest.raises(ValueError, match=r"conv2d: algorithm='winograd' computes .* got kernel 3x3, stride \(1, 1\), "
                                         r"dilation \(2, 2\)"):
        F.conv2d(x, w, dilation=2, algorithm="winograd")
    with pytest.raises(tinynet.functional.ShapeError, match=r"conv2d: expected input with 2 channels"):
        F.conv2d(tinynet.randn(1, 3, 8, 8), w, algorithm="winograd")  # the shapes checked as im2col's are
    assert "algorithm='winograd'" in repr(nn.Conv2d(2, 3, 3, algorithm="winograd"))
    assert "algorithm" not in repr(nn.Conv2d(2, 3, 3))


@pytest.mark.parametrize("x_shape, w_shape, padding, groups", CASES[:3] + CASES[3:4])
def test_runs_of_samples_give_the_whole_batchs_result(monkeypatch, x_shape, w_shape, padding, groups):
    # CHUNK_BYTES so small that every sample is a run of its own: the same output and gradients (float64),
    # also with the weight frozen (no V kept) and for an empty batch.
    from tinynet.functional import winograd as op_module

    rng = np.random.default_rng(7)
    x_shape = (3,) + x_shape[1:]
    x, w, b = rand(rng, x_shape), rand(rng, w_shape), rand(rng, (w_shape[0],))
    g = rand(rng, F.conv2d(x, w, padding=padding, groups=groups).shape, requires_grad=False)
    for m, r in _variants(w_shape):
        results = []
        for chunk in (1 << 40, 1):
            monkeypatch.setattr(op_module, "CHUNK_BYTES", chunk)
            for t in (x, w, b):
                t.grad = None
            y = WinogradConv2d(m, r, padding, groups)(x, w, b)
            y.backward(g)
            results.append([host(t) for t in (y, x.grad, w.grad, b.grad)])
        for got, want in zip(*results):
            np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
        frozen = w.detach()
        x.grad = None
        WinogradConv2d(m, r, padding, groups)(x, frozen).backward(g[:, :, :, :])
        np.testing.assert_allclose(host(x.grad), results[0][1], rtol=1e-12, atol=1e-12)
        empty = rand(rng, (0,) + x_shape[1:])
        w.grad = None
        y = WinogradConv2d(m, r, padding, groups)(empty, w)
        y.sum().backward()
        assert y.shape[0] == 0 and host(empty.grad).shape == empty.shape and not host(w.grad).any()
