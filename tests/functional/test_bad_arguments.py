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
    pytest.param(lambda: F.log_softmax(_t(2, 3), dim=None), TypeError, r"^log_softmax: dim must be an int, got None$",
                 id="log_softmax-dim-None"),
    pytest.param(lambda: F.softmax(tinynet.Tensor(1.0)), tinynet.ShapeError,
                 r"^softmax: needs a tensor of 1 or more dimensions", id="softmax-0d"),
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
]


@pytest.mark.parametrize("call, error, message", BAD_ARGUMENTS)
def test_bad_arguments_name_the_op_and_the_argument(call, error, message):
    with pytest.raises(error, match=message):
        call()
