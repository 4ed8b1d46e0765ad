"""tinynet.nn given bad arguments, as a careless or hostile user would: the layers' constructors, the
Module API and the init functions. Each error names the layer (or function), the argument, the rule
and the value given; a bad layer fails where it is built, not at its first forward pass or inside NumPy.

Three tables, one row per case: (what is done, the exception expected, a regex for its message).
"""
from collections import OrderedDict

import numpy as np
import pytest

import tinynet
from tinynet import Tensor, nn
from tinynet.nn import init

NAN, INF = float("nan"), float("inf")

LAYER_ARGUMENTS = [
    # --- Conv2d
    pytest.param(lambda: nn.Conv2d(3, 4, 0), ValueError,
                 r"^Conv2d: kernel_size must be an int >= 1 or a pair of them, got 0$", id="Conv2d-kernel-0"),
    pytest.param(lambda: nn.Conv2d(3, 4, (3, 0)), ValueError, r"^Conv2d: kernel_size must be .*got \(3, 0\)$",
                 id="Conv2d-kernel-3x0"),
    pytest.param(lambda: nn.Conv2d(0, 4, 3), ValueError, r"^Conv2d: in_channels must be an int >= 1, got 0$",
                 id="Conv2d-in-0"),
    pytest.param(lambda: nn.Conv2d(-3, 4, 3), ValueError, r"^Conv2d: in_channels must be an int >= 1, got -3$",
                 id="Conv2d-in-negative"),
    pytest.param(lambda: nn.Conv2d(3, -4, 3), ValueError, r"^Conv2d: out_channels must be an int >= 1, got -4$",
                 id="Conv2d-out-negative"),
    pytest.param(lambda: nn.Conv2d(3.0, 4, 3), TypeError, r"^Conv2d: in_channels must be an int >= 1, got 3.0$",
                 id="Conv2d-in-float"),
    pytest.param(lambda: nn.Conv2d(True, 4, 3), TypeError, r"^Conv2d: in_channels must be .*got True$",
                 id="Conv2d-in-bool"),
    pytest.param(lambda: nn.Conv2d("3", 4, 3), TypeError, r"^Conv2d: in_channels must be .*got '3'$", id="Conv2d-in-str"),
    pytest.param(lambda: nn.Conv2d(3, 4, 3, stride=0), ValueError, r"^Conv2d: stride must be an int >= 1 or a pair",
                 id="Conv2d-stride-0"),
    pytest.param(lambda: nn.Conv2d(3, 4, 3, padding=-1), ValueError, r"^Conv2d: padding must be an int >= 0 or a pair",
                 id="Conv2d-padding--1"),
    pytest.param(lambda: nn.Conv2d(3, 4, 3, groups=0), ValueError, r"^Conv2d: groups must be an int >= 1, got 0$",
                 id="Conv2d-groups-0"),
    pytest.param(lambda: nn.Conv2d(4, 4, 3, groups=2.0), TypeError, r"^Conv2d: groups must be an int >= 1, got 2.0$",
                 id="Conv2d-groups-float"),
    pytest.param(lambda: nn.Conv2d(3, 4, 3, dtype="int32"), TypeError,
                 r"^Conv2d: parameters must be floating point, got dtype int32$", id="Conv2d-dtype-int"),
    # --- Linear
    pytest.param(lambda: nn.Linear(0, 3), ValueError, r"^Linear: in_features must be an int >= 1, got 0$", id="Linear-in-0"),
    pytest.param(lambda: nn.Linear(3, -1), ValueError, r"^Linear: out_features must be an int >= 1, got -1$",
                 id="Linear-out-negative"),
    pytest.param(lambda: nn.Linear(3.5, 2), TypeError, r"^Linear: in_features must be an int >= 1, got 3.5$",
                 id="Linear-in-float"),
    pytest.param(lambda: nn.Linear(3, 2, dtype="floatx"), TypeError, r"^Linear: dtype: 'floatx' is not a dtype",
                 id="Linear-dtype-unknown"),
    pytest.param(lambda: nn.Linear(3, 2, "False"), TypeError, r"^Linear: bias must be True or False, got 'False'$",
                 id="Linear-bias-str"),
    pytest.param(lambda: nn.Linear(3, 2, True, "float64"), tinynet.DeviceError, r"^Linear: unknown device .float64.",
                 id="Linear-device-is-4th-as-in-pytorch"),
    pytest.param(lambda: nn.Linear(3, 2, device="tpu"), tinynet.DeviceError, r"^Linear: unknown device .tpu.",
                 id="Linear-device-unknown"),
    # --- pooling
    pytest.param(lambda: nn.MaxPool2d(0), ValueError, r"^MaxPool2d: kernel_size must be an int >= 1 or a pair of them",
                 id="MaxPool2d-kernel-0"),
    pytest.param(lambda: nn.MaxPool2d("a"), TypeError, r"^MaxPool2d: kernel_size must be .*got 'a'$",
                 id="MaxPool2d-kernel-str"),
    pytest.param(lambda: nn.MaxPool2d(3, stride=0), ValueError, r"^MaxPool2d: stride must be an int >= 1",
                 id="MaxPool2d-stride-0"),
    pytest.param(lambda: nn.MaxPool2d(2, padding=2), ValueError, r"^MaxPool2d: padding must be between 0 and half",
                 id="MaxPool2d-padding-over-half"),
    pytest.param(lambda: nn.AdaptiveAvgPool2d(0), ValueError,
                 r"^AdaptiveAvgPool2d: output_size must be an int >= 1 or a pair of them, got 0$", id="Adaptive-0"),
    pytest.param(lambda: nn.AdaptiveAvgPool2d((6, -1)), ValueError, r"^AdaptiveAvgPool2d: output_size must be",
                 id="Adaptive-negative"),
    pytest.param(lambda: nn.AdaptiveAvgPool2d(6.0), TypeError, r"^AdaptiveAvgPool2d: output_size must be .*got 6.0$",
                 id="Adaptive-float"),
    # --- Dropout, LocalResponseNorm
    pytest.param(lambda: nn.Dropout("a"), TypeError, r"^Dropout: p must be .*got 'a'$", id="Dropout-str"),
    pytest.param(lambda: nn.LocalResponseNorm(0), ValueError, r"^LocalResponseNorm: size must be an int >= 1, got 0$",
                 id="LRN-size-0"),
    pytest.param(lambda: nn.LocalResponseNorm(2.5), TypeError, r"^LocalResponseNorm: size must be an int >= 1, got 2.5$",
                 id="LRN-size-float"),
    pytest.param(lambda: nn.LocalResponseNorm(5, alpha=NAN), ValueError,
                 r"^LocalResponseNorm: alpha must be a finite number, got nan$", id="LRN-alpha-nan"),
    pytest.param(lambda: nn.LocalResponseNorm(5, beta=INF), ValueError, r"^LocalResponseNorm: beta must be a finite",
                 id="LRN-beta-inf"),
    pytest.param(lambda: nn.LocalResponseNorm(5, k="2"), TypeError, r"^LocalResponseNorm: k must be a finite number",
                 id="LRN-k-str"),
    # --- Flatten, Softmax, CrossEntropyLoss
    pytest.param(lambda: nn.Flatten("a"), TypeError, r"^Flatten: start_dim must be an int, got 'a'$", id="Flatten-str"),
    pytest.param(lambda: nn.Flatten(1, 2.0), TypeError, r"^Flatten: end_dim must be an int, got 2.0$",
                 id="Flatten-end-float"),
    pytest.param(lambda: nn.Softmax("a"), TypeError, r"^Softmax: dim must be an int, got 'a'$", id="Softmax-str"),
    pytest.param(lambda: nn.CrossEntropyLoss(reduction="avg"), ValueError,
                 r"^CrossEntropyLoss: reduction must be 'mean', 'sum' or 'none', got 'avg'$", id="CrossEntropyLoss-avg"),
    pytest.param(lambda: nn.CrossEntropyLoss("sum"), TypeError,  # PyTorch's first slot is weight
                 r"^CrossEntropyLoss: weight must be a Tensor of floats or None, got 'sum'; pass reduction= by name$",
                 id="CrossEntropyLoss-reduction-in-weight-slot"),
    pytest.param(lambda: nn.CrossEntropyLoss(size_average=False), ValueError,
                 r"^CrossEntropyLoss: size_average is deprecated and not supported, got False; use reduction=",
                 id="CrossEntropyLoss-size_average"),
    pytest.param(lambda: nn.BCEWithLogitsLoss(pos_weight=[2.0]), TypeError,
                 r"^BCEWithLogitsLoss: pos_weight must be a Tensor of floats or None, got \[2.0\]$",
                 id="BCEWithLogitsLoss-pos_weight-list"),
    # --- activations and dropout (tinynet/nn/activation.py, tinynet/nn/dropout.py)
    pytest.param(lambda: nn.ReLU(inplace="yes"), TypeError, r"^ReLU: inplace must be True or False, got 'yes'$",
                 id="ReLU-inplace-str"),
    pytest.param(lambda: nn.LeakyReLU("a"), TypeError, r"^LeakyReLU: negative_slope must be a finite number, got 'a'$",
                 id="LeakyReLU-slope-str"),
    pytest.param(lambda: nn.LeakyReLU(True), TypeError, r"^LeakyReLU: negative_slope must be .*got True$",
                 id="LeakyReLU-slope-bool"),
    pytest.param(lambda: nn.LeakyReLU(NAN), ValueError, r"^LeakyReLU: negative_slope must be a finite number, got nan$",
                 id="LeakyReLU-slope-nan"),
    pytest.param(lambda: nn.LeakyReLU(INF), ValueError, r"^LeakyReLU: negative_slope must be .*got inf$",
                 id="LeakyReLU-slope-inf"),
    pytest.param(lambda: nn.LeakyReLU(0.1, "no"), TypeError, r"^LeakyReLU: inplace must be True or False, got 'no'$",
                 id="LeakyReLU-inplace-str"),
    pytest.param(lambda: nn.ELU("1"), TypeError, r"^ELU: alpha must be a finite number, got '1'$", id="ELU-alpha-str"),
    pytest.param(lambda: nn.ELU(None), TypeError, r"^ELU: alpha must be a finite number, got None$", id="ELU-alpha-None"),
    pytest.param(lambda: nn.ELU(NAN), ValueError, r"^ELU: alpha must be a finite number, got nan$", id="ELU-alpha-nan"),
    pytest.param(lambda: nn.ELU(-INF), ValueError, r"^ELU: alpha must be a finite number, got -inf$", id="ELU-alpha-inf"),
    pytest.param(lambda: nn.ELU(inplace=0), TypeError, r"^ELU: inplace must be True or False, got 0$", id="ELU-inplace-int"),
    pytest.param(lambda: nn.GELU("Tanh"), ValueError, r"^GELU: approximate must be 'none' or 'tanh', got 'Tanh'$",
                 id="GELU-approximate-case"),
    pytest.param(lambda: nn.GELU(""), ValueError, r"^GELU: approximate must be 'none' or 'tanh', got ''$",
                 id="GELU-approximate-empty"),
    pytest.param(lambda: nn.GELU(None), TypeError, r"^GELU: approximate must be 'none' or 'tanh', got None$",
                 id="GELU-approximate-None"),
    pytest.param(lambda: nn.GELU(False), TypeError, r"^GELU: approximate must be .*got False$", id="GELU-approximate-bool"),
    pytest.param(lambda: nn.Softmax(1.5), TypeError, r"^Softmax: dim must be an int, got 1.5$", id="Softmax-float"),
    pytest.param(lambda: nn.Softmax(True), TypeError, r"^Softmax: dim must be an int, got True$", id="Softmax-bool"),
    pytest.param(lambda: nn.LogSoftmax("a"), TypeError, r"^LogSoftmax: dim must be an int, got 'a'$", id="LogSoftmax-str"),
    pytest.param(lambda: nn.LogSoftmax(2.0), TypeError, r"^LogSoftmax: dim must be an int, got 2.0$",
                 id="LogSoftmax-float"),
    pytest.param(lambda: nn.Dropout(1.5), ValueError, r"^Dropout: p must be a finite number >= 0 and <= 1, got 1.5$",
                 id="Dropout-p-above-1"),
    pytest.param(lambda: nn.Dropout(inplace="no"), TypeError, r"^Dropout: inplace must be True or False, got 'no'$",
                 id="Dropout-inplace-str"),
    pytest.param(lambda: nn.Dropout2d(-0.1), ValueError, r"^Dropout2d: p must be a finite number >= 0 and <= 1, got -0.1$",
                 id="Dropout2d-p-negative"),
    pytest.param(lambda: nn.Dropout2d(1.5), ValueError, r"^Dropout2d: p must be .*got 1.5$", id="Dropout2d-p-above-1"),
    pytest.param(lambda: nn.Dropout2d(NAN), ValueError, r"^Dropout2d: p must be .*got nan$", id="Dropout2d-p-nan"),
    pytest.param(lambda: nn.Dropout2d("a"), TypeError, r"^Dropout2d: p must be .*got 'a'$", id="Dropout2d-p-str"),
    pytest.param(lambda: nn.Dropout2d(True), TypeError, r"^Dropout2d: p must be .*got True$", id="Dropout2d-p-bool"),
    pytest.param(lambda: nn.Dropout2d(0.5, inplace="no"), TypeError,
                 r"^Dropout2d: inplace must be True or False, got 'no'$", id="Dropout2d-inplace-str"),
    # --- Sequential's children
    pytest.param(lambda: nn.Sequential(OrderedDict(a=3)), TypeError,
                 r"^Sequential.add_module: child 'a' has type int, not a Module$", id="Sequential-dict-of-int"),
    pytest.param(lambda: nn.Sequential(OrderedDict([("a.b", nn.ReLU())])), ValueError,
                 r"^Sequential.add_module: a child's name must be non-empty and without '\.', got 'a.b'$",
                 id="Sequential-dotted-name"),
    pytest.param(lambda: nn.Sequential().add_module(1, nn.ReLU()), TypeError,
                 r"^Sequential.add_module: a child's name must be a str, got 1$", id="add_module-int-name"),
    pytest.param(lambda: nn.Sequential().append("relu"), TypeError,
                 r"^Sequential.add_module: child '0' has type str, not a Module$", id="append-str"),
]


@pytest.mark.parametrize("build, error, message", LAYER_ARGUMENTS)
def test_a_layer_with_bad_arguments_fails_where_it_is_built(build, error, message):
    with pytest.raises(error, match=message):
        build()


def _load(**values):
    """Load ``values`` over a valid state dict of a Linear(2, 2)."""
    model = nn.Linear(2, 2)
    state = model.state_dict()
    state.update(values)
    model.load_state_dict(state)


def _load_with_key(key):
    """Load a valid state dict of a Linear(2, 2) with one more entry, under ``key``."""
    model = nn.Linear(2, 2)
    state = dict(model.state_dict())
    state[key] = np.zeros(2)
    model.load_state_dict(state)


MODULE_API = [
    pytest.param(lambda: nn.Linear(2, 2).load_state_dict([1, 2]), TypeError,
                 r"^load_state_dict into Linear: expected a mapping of parameter name -> array .*got type list$",
                 id="load-list"),
    pytest.param(lambda: nn.Linear(2, 2).load_state_dict("model.npz"), TypeError,
                 r"^load_state_dict into Linear: expected a mapping .*got type str$", id="load-path"),
    pytest.param(lambda: _load(weight=np.array([["1", "2"], ["3", "4"]])), TypeError,
                 r"^load_state_dict into Linear: weight: expected an array of real numbers, got dtype <U1$",
                 id="load-str-array"),
    pytest.param(lambda: _load(weight=np.array([[None, 1], [1, 1]])), TypeError,
                 r"weight: expected an array of real numbers, got dtype object$", id="load-object-array"),
    pytest.param(lambda: _load(bias=np.array([1j, 2j])), TypeError,
                 r"bias: expected an array of real numbers, got dtype complex128$", id="load-complex"),
    pytest.param(lambda: _load(weight=None), TypeError, r"weight: expected an array of real numbers, got dtype object$",
                 id="load-None"),
    pytest.param(lambda: _load(weight=[[1.0, 2.0], [3.0]]), TypeError, r"weight: expected an array, got a list of ragged",
                 id="load-ragged"),
    pytest.param(lambda: _load_with_key(0), RuntimeError, r"^load_state_dict into Linear: unexpected keys: 0$",
                 id="load-int-key"),
    pytest.param(lambda: nn.Linear(2, 2).train("no"), ValueError, r"^Linear.train: mode must be True or False, got 'no'$",
                 id="train-str"),
    pytest.param(lambda: nn.Linear(2, 2).train(0), ValueError, r"^Linear.train: mode must be True or False, got 0$",
                 id="train-int"),
    pytest.param(lambda: nn.Linear(2, 2).to(None), TypeError, r"^Module.to\(None\): expected a device", id="to-None"),
    pytest.param(lambda: nn.Module().register_parameter("w", np.zeros(3)), TypeError,
                 r"^Module.register_parameter: 'w' has type ndarray; a Parameter or None is expected",
                 id="register-an-array"),
    pytest.param(lambda: nn.Module().register_parameter("a.w", nn.Parameter(np.zeros(3))), ValueError,
                 r"^Module.register_parameter: a parameter's name must be non-empty and without '\.', got 'a.w'$",
                 id="register-dotted-name"),
    pytest.param(lambda: nn.ReLU().register_forward_hook("print"), TypeError,
                 r"^ReLU.register_forward_hook: the hook must be callable as hook\(module, inputs, output\), got 'print'$",
                 id="hook-not-callable"),
]


@pytest.mark.parametrize("action, error, message", MODULE_API)
def test_the_module_api_refuses_bad_input_naming_it(action, error, message):
    with pytest.raises(error, match=message):
        action()


def _w(*shape, dtype=np.float32):
    return Tensor(np.zeros(shape, dtype=dtype))


INIT_ARGUMENTS = [
    pytest.param(lambda: init.kaiming_uniform_(_w(3, 3), mode="fanin"), ValueError,
                 r"^init.kaiming_uniform_: mode must be 'fan_in' or 'fan_out', got 'fanin'$", id="kaiming_uniform-mode"),
    pytest.param(lambda: init.kaiming_normal_(_w(3, 3), mode="in"), ValueError,
                 r"^init.kaiming_normal_: mode must be 'fan_in' or 'fan_out', got 'in'$", id="kaiming_normal-mode"),
    pytest.param(lambda: init.kaiming_uniform_(_w(3, 3), a=NAN), ValueError,
                 r"^init.calculate_gain: the leaky_relu slope must be a finite number, got nan$", id="kaiming-slope-nan"),
    pytest.param(lambda: init.calculate_gain("leaky_relu", "a"), TypeError, r"^init.calculate_gain: the leaky_relu slope",
                 id="gain-slope-str"),
    pytest.param(lambda: init.calculate_gain("foo"), ValueError, r"^init.calculate_gain: unsupported nonlinearity 'foo'",
                 id="gain-unknown"),
    pytest.param(lambda: init.uniform_(_w(3, 3, dtype=np.int64)), TypeError,
                 r"^init.uniform_: only floating-point tensors can be initialised, got int64$", id="uniform-int-tensor"),
    pytest.param(lambda: init.uniform_(np.zeros((3, 3))), TypeError,
                 r"^init.uniform_: expected a Tensor \(e.g. a layer's weight\), got type ndarray$", id="uniform-ndarray"),
    pytest.param(lambda: init.uniform_(_w(3), 1.0, 0.0), ValueError, r"^init.uniform_: needs a <= b, got a=1.0, b=0.0$",
                 id="uniform-b-below-a"),
    pytest.param(lambda: init.uniform_(_w(3), "a", 1.0), TypeError, r"^init.uniform_: a must be a finite number",
                 id="uniform-a-str"),
    pytest.param(lambda: init.normal_(_w(3), std=-1.0), ValueError, r"^init.normal_: std must be a finite number >= 0",
                 id="normal-std-negative"),
    pytest.param(lambda: init.normal_(_w(3), mean=NAN), ValueError, r"^init.normal_: mean must be a finite number",
                 id="normal-mean-nan"),
    pytest.param(lambda: init.constant_(_w(3), "a"), TypeError, r"^init.constant_: value must be a real number, got 'a'$",
                 id="constant-str"),
]


@pytest.mark.parametrize("call, error, message", INIT_ARGUMENTS)
def test_init_functions_refuse_bad_arguments_naming_them(call, error, message):
    with pytest.raises(error, match=message):
        call()


@pytest.mark.parametrize("shape", [(3, 0), (0, 3), (4, 0, 3, 3)])
def test_kaiming_init_of_a_tensor_with_no_elements_is_a_no_op_as_in_pytorch(shape):
    """fan 0 comes only with no elements; there is nothing to fill (it was a ZeroDivisionError)."""
    for fill in (init.kaiming_uniform_, init.kaiming_normal_):
        for mode in ("fan_in", "fan_out"):
            w = _w(*shape)
            assert fill(w, mode=mode) is w and w.shape == shape
