"""The ops of tinynet.functional given bad arguments: each error names the op, the argument, expected vs got.

The checks live in tinynet/functional/_util.py (``check_dim``, ``int_arg``, ``pair``) and in each op's
own argument function (``conv_args``, ``max_pool_args``, ``lrn_args``, ``dropout_p``), which the
layers of tinynet.nn call too. One table: (call, the exception expected, a regex for its message).
"""
import numpy as np
import pytest

import tinynet
from tinynet import functional as F

NAN, INF = float("nan"), float("inf")


def _t(*shape):
    return tinynet.Tensor(np.ones(shape, dtype=np.float32))


def _i(*shape):
    return tinynet.Tensor(np.ones(shape, dtype=np.int64))


def _b(*shape):
    return tinynet.Tensor(np.ones(shape, dtype=bool))


def _conv(**kwargs):
    return F.conv2d(_t(1, 2, 5, 5), _t(2, 2, 3, 3), **kwargs)


BAD_ARGUMENTS = [
    # --- dim of softmax / log_softmax
    pytest.param(lambda: F.softmax(_t(2, 3), dim=5), IndexError,
                 r"^softmax: dim 5 is out of range for a tensor of 2 dimensions \(valid: -2\.\.1\)$", id="softmax-dim-5"),
    pytest.param(lambda: F.softmax(_t(2, 3), dim=-3), IndexError, r"^softmax: dim -3 is out of range", id="softmax-dim--3"),
    pytest.param(lambda: F.log_softmax(_t(2, 3), dim=2), IndexError,
                 r"^log_softmax: dim 2 is out of range for a tensor of 2 dimensions", id="log_softmax-dim-2"),
    pytest.param(lambda: F.softmax(_t(2, 3), dim=1.0), TypeError, r"^softmax: dim must be an int, got 1.0$",
                 id="softmax-dim-float"),
    pytest.param(lambda: F.log_softmax(_t(2, 3), dim="1"), TypeError, r"^log_softmax: dim must be an int, got '1'$",
                 id="log_softmax-dim-str"),
    pytest.param(lambda: F.softmax(tinynet.Tensor(1.0), dim=1), IndexError,
                 r"^softmax: dim 1 is out of range for a tensor of 0 dimensions \(valid: -1\.\.0\)$", id="softmax-0d-dim-1"),
    # --- losses (their full tables: tests/functional/test_loss.py, test_elementwise_loss.py)
    pytest.param(lambda: F.cross_entropy(_t(2, 3), np.array([0, 1]), "sum"), TypeError,
                 r"^cross_entropy: weight must be a Tensor of floats or None, got 'sum'; pass reduction= by name$",
                 id="cross_entropy-reduction-in-weight-slot"),
    pytest.param(lambda: F.cross_entropy(_t(2, 3), np.array([0, 1]), label_smoothing=1.5), ValueError,
                 r"^cross_entropy: label_smoothing must be a finite number >= 0 and <= 1, got 1.5$",
                 id="cross_entropy-label_smoothing-1.5"),
    pytest.param(lambda: F.nll_loss(_t(2, 3), np.array([0, 1]), ignore_index=0.5), TypeError,
                 r"^nll_loss: ignore_index must be an int, got 0.5$", id="nll_loss-ignore_index-float"),
    pytest.param(lambda: tinynet.nn.Softmax(dim=2)(_t(2, 3)), IndexError, r"^softmax: dim 2 is out of range",
                 id="Softmax-module-dim-2"),
    # --- flatten
    pytest.param(lambda: F.flatten(_t(2, 3, 4), 3), IndexError,
                 r"^flatten: dim 3 is out of range for a tensor of 3 dimensions \(valid: -3\.\.2\)$", id="flatten-3"),
    # --- conv2d's stride, padding, groups
    pytest.param(lambda: _conv(stride=True), TypeError, r"^conv2d: stride must be .*got True$", id="conv-stride-bool"),
    pytest.param(lambda: _conv(padding=(1, 0.5)), TypeError, r"^conv2d: padding must be", id="conv-padding-float"),
    pytest.param(lambda: _conv(groups=1.5), TypeError, r"^conv2d: groups must be an int >= 1, got 1.5$",
                 id="conv-groups-float"),
    # --- pooling
    pytest.param(lambda: F.adaptive_avg_pool2d(_t(1, 1, 4, 4), 0), ValueError,
                 r"^adaptive_avg_pool2d: output_size must be an int >= 1 or a pair of them, got 0$", id="adaptive-0"),
    pytest.param(lambda: F.adaptive_avg_pool2d(_t(1, 1, 4, 4), (2, -1)), ValueError,
                 r"^adaptive_avg_pool2d: output_size must be .*got \(2, -1\)$", id="adaptive-negative"),
    # --- local response norm
    pytest.param(lambda: F.local_response_norm(_t(1, 3, 2, 2), 2.5), TypeError,
                 r"^local_response_norm: size must be an int >= 1, got 2.5$", id="lrn-size-float"),
    pytest.param(lambda: F.local_response_norm(_t(1, 3, 2, 2), "a"), TypeError,
                 r"^local_response_norm: size must be an int >= 1, got 'a'$", id="lrn-size-str"),
    pytest.param(lambda: F.local_response_norm(_t(1, 3, 2, 2), 3, alpha=NAN), ValueError,
                 r"^local_response_norm: alpha must be a finite number, got nan$", id="lrn-alpha-nan"),
    pytest.param(lambda: F.local_response_norm(_t(1, 3, 2, 2), 3, beta=INF), ValueError,
                 r"^local_response_norm: beta must be a finite number, got inf$", id="lrn-beta-inf"),
    pytest.param(lambda: F.local_response_norm(_t(1, 3, 2, 2), 3, k="1"), TypeError,
                 r"^local_response_norm: k must be a finite number, got '1'$", id="lrn-k-str"),
    # --- dropout
    pytest.param(lambda: F.dropout(_t(2, 3), "a"), TypeError,
                 r"^dropout: p must be a finite number >= 0 and <= 1, got 'a'$", id="dropout-p-str"),
    pytest.param(lambda: F.dropout(_t(2, 3), True), TypeError, r"^dropout: p must be .*got True$", id="dropout-p-bool"),
    pytest.param(lambda: F.dropout(_t(2, 3), inplace=0), TypeError, r"^dropout: inplace must be True or False, got 0$",
                 id="dropout-inplace-int"),
    pytest.param(lambda: F.dropout(_t(2, 3), 0.5, "no"), TypeError,
                 r"^dropout: training must be True or False, got 'no'$", id="dropout-training-str"),
    pytest.param(lambda: F.dropout(tinynet.Tensor(np.arange(3)), 0.5), TypeError,
                 r"^dropout: input must be floating point, got dtype int64$", id="dropout-int-input"),
    pytest.param(lambda: F.dropout(tinynet.Tensor(np.arange(3)), 1.0), TypeError,
                 r"^dropout: input must be floating point, got dtype int64$", id="dropout-int-input-p1"),
    pytest.param(lambda: F.dropout("abc"), TypeError, r"^dropout: input: Tensor: data must be numbers",
                 id="dropout-str-input"),
    # --- activations (tinynet/functional/activation.py): constants, flags, input dtypes
    pytest.param(lambda: F.relu(_t(2, 3), inplace="no"), TypeError, r"^relu: inplace must be True or False, got 'no'$",
                 id="relu-inplace-str"),
    pytest.param(lambda: F.tanh(_i(2, 3)), TypeError, r"^tanh: input must be floating point, got dtype int64$",
                 id="tanh-int-input"),
    pytest.param(lambda: F.tanh("a"), TypeError, r"^Tanh: input 0: Tensor: data must be numbers", id="tanh-str-input"),
    pytest.param(lambda: F.sigmoid(_b(2, 3)), TypeError, r"^sigmoid: input must be floating point, got dtype bool$",
                 id="sigmoid-bool-input"),
    pytest.param(lambda: F.sigmoid([[1.0, 2.0], [3.0]]), ValueError, r"^Sigmoid: input 0: ", id="sigmoid-ragged-input"),
    pytest.param(lambda: F.leaky_relu(_t(2, 3), "a"), TypeError,
                 r"^leaky_relu: negative_slope must be a finite number, got 'a'$", id="leaky_relu-slope-str"),
    pytest.param(lambda: F.leaky_relu(_t(2, 3), True), TypeError, r"^leaky_relu: negative_slope must be .*got True$",
                 id="leaky_relu-slope-bool"),
    pytest.param(lambda: F.leaky_relu(_t(2, 3), None), TypeError, r"^leaky_relu: negative_slope must be .*got None$",
                 id="leaky_relu-slope-None"),
    pytest.param(lambda: F.leaky_relu(_t(2, 3), NAN), ValueError,
                 r"^leaky_relu: negative_slope must be a finite number, got nan$", id="leaky_relu-slope-nan"),
    pytest.param(lambda: F.leaky_relu(_t(2, 3), -INF), ValueError, r"^leaky_relu: negative_slope must be .*got -inf$",
                 id="leaky_relu-slope-inf"),
    pytest.param(lambda: F.leaky_relu(_t(2, 3), 0.1, "yes"), TypeError,
                 r"^leaky_relu: inplace must be True or False, got 'yes'$", id="leaky_relu-inplace-str"),
    pytest.param(lambda: F.leaky_relu(_t(2, 3), 0.1, inplace=1), TypeError,
                 r"^leaky_relu: inplace must be True or False, got 1$", id="leaky_relu-inplace-int"),
    pytest.param(lambda: F.leaky_relu(_i(2, 3)), TypeError, r"^leaky_relu: input must be floating point, got dtype int64$",
                 id="leaky_relu-int-input"),
    pytest.param(lambda: F.elu(_t(2, 3), "1"), TypeError, r"^elu: alpha must be a finite number, got '1'$",
                 id="elu-alpha-str"),
    pytest.param(lambda: F.elu(_t(2, 3), False), TypeError, r"^elu: alpha must be a finite number, got False$",
                 id="elu-alpha-bool"),
    pytest.param(lambda: F.elu(_t(2, 3), NAN), ValueError, r"^elu: alpha must be a finite number, got nan$",
                 id="elu-alpha-nan"),
    pytest.param(lambda: F.elu(_t(2, 3), INF), ValueError, r"^elu: alpha must be a finite number, got inf$",
                 id="elu-alpha-inf"),
    pytest.param(lambda: F.elu(_t(2, 3), inplace=None), TypeError, r"^elu: inplace must be True or False, got None$",
                 id="elu-inplace-None"),
    pytest.param(lambda: F.elu(_i(2, 3)), TypeError, r"^elu: input must be floating point, got dtype int64$",
                 id="elu-int-input"),
    pytest.param(lambda: F.gelu(_t(2, 3), "Tanh"), ValueError, r"^gelu: approximate must be 'none' or 'tanh', got 'Tanh'$",
                 id="gelu-approximate-case"),
    pytest.param(lambda: F.gelu(_t(2, 3), "exact"), ValueError, r"^gelu: approximate must be .*got 'exact'$",
                 id="gelu-approximate-exact"),
    pytest.param(lambda: F.gelu(_t(2, 3), None), TypeError, r"^gelu: approximate must be 'none' or 'tanh', got None$",
                 id="gelu-approximate-None"),
    pytest.param(lambda: F.gelu(_t(2, 3), True), TypeError, r"^gelu: approximate must be .*got True$",
                 id="gelu-approximate-bool"),
    pytest.param(lambda: F.gelu(_i(2, 3)), TypeError, r"^gelu: input must be floating point, got dtype int64$",
                 id="gelu-int-input"),
    pytest.param(lambda: F.gelu("x"), TypeError, r"^GELU: input 0: Tensor: data must be numbers", id="gelu-str-input"),
    pytest.param(lambda: tinynet.nn.GELU()(_i(2, 3)), TypeError, r"^gelu: input must be floating point",
                 id="GELU-module-int-input"),
    pytest.param(lambda: tinynet.nn.LogSoftmax(dim=2)(_t(2, 3)), IndexError, r"^log_softmax: dim 2 is out of range",
                 id="LogSoftmax-module-dim-2"),
    pytest.param(lambda: tinynet.nn.Softmax(dim=-3)(_t(2, 3)), IndexError, r"^softmax: dim -3 is out of range",
                 id="Softmax-module-dim--3"),
    # --- dropout2d
    pytest.param(lambda: F.dropout2d(_t(1, 2, 3, 3), -0.1), ValueError,
                 r"^dropout2d: p must be a finite number >= 0 and <= 1, got -0.1$", id="dropout2d-p-negative"),
    pytest.param(lambda: F.dropout2d(_t(1, 2, 3, 3), 1.5), ValueError, r"^dropout2d: p must be .*got 1.5$",
                 id="dropout2d-p-above-1"),
    pytest.param(lambda: F.dropout2d(_t(1, 2, 3, 3), NAN), ValueError, r"^dropout2d: p must be .*got nan$",
                 id="dropout2d-p-nan"),
    pytest.param(lambda: F.dropout2d(_t(1, 2, 3, 3), "0.5"), TypeError, r"^dropout2d: p must be .*got '0.5'$",
                 id="dropout2d-p-str"),
    pytest.param(lambda: F.dropout2d(_t(1, 2, 3, 3), False), TypeError, r"^dropout2d: p must be .*got False$",
                 id="dropout2d-p-bool"),
    pytest.param(lambda: F.dropout2d(_t(1, 2, 3, 3), 0.5, "yes"), TypeError,
                 r"^dropout2d: training must be True or False, got 'yes'$", id="dropout2d-training-str"),
    pytest.param(lambda: F.dropout2d(_t(1, 2, 3, 3), training=None), TypeError,
                 r"^dropout2d: training must be True or False, got None$", id="dropout2d-training-None"),
    pytest.param(lambda: F.dropout2d(_t(1, 2, 3, 3), inplace=1), TypeError,
                 r"^dropout2d: inplace must be True or False, got 1$", id="dropout2d-inplace-int"),
    pytest.param(lambda: F.dropout2d(_t(2, 3)), tinynet.ShapeError,
                 r"^dropout2d: expected a 4-d input \(N, C, H, W\) or a 3-d one \(C, H, W\), got shape \(2, 3\)$",
                 id="dropout2d-2d-input"),
    pytest.param(lambda: F.dropout2d(_t(2, 3), training=False), tinynet.ShapeError,
                 r"^dropout2d: expected a 4-d input .*got shape \(2, 3\)$", id="dropout2d-2d-input-eval"),
    pytest.param(lambda: F.dropout2d(_t(1, 2, 3, 3, 3)), tinynet.ShapeError,
                 r"^dropout2d: expected a 4-d input .*got shape \(1, 2, 3, 3, 3\)$", id="dropout2d-5d-input"),
    pytest.param(lambda: F.dropout2d(_t(5)), tinynet.ShapeError, r"^dropout2d: expected .*got shape \(5,\)$",
                 id="dropout2d-1d-input"),
    pytest.param(lambda: F.dropout2d(tinynet.Tensor(1.0)), tinynet.ShapeError, r"^dropout2d: expected .*got shape \(\)$",
                 id="dropout2d-0d-input"),
    pytest.param(lambda: F.dropout2d(_i(1, 2, 3, 3)), TypeError, r"^dropout2d: input must be floating point, got dtype int64$",
                 id="dropout2d-int-input"),
    pytest.param(lambda: F.dropout2d("image"), TypeError, r"^dropout2d: input: Tensor: data must be numbers",
                 id="dropout2d-str-input"),
]


@pytest.mark.parametrize("call, error, message", BAD_ARGUMENTS)
def test_bad_arguments_name_the_op_and_the_argument(call, error, message):
    with pytest.raises(error, match=message):
        call()
