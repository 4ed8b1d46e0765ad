"""The loss modules: PyTorch's constructor order (deprecated slots included), values against torch
(tests/fixtures/torch_loss.npz), weight / pos_weight as buffers, repr, errors where a loss is built."""
import re

import numpy as np
import pytest

import tinynet
import tinynet.functional as F
from tests.fixtures import torch_fixture
from tests.helpers import host, rand, tensor
from tinynet import nn
from tinynet.functional.elementwise_loss import (binary_cross_entropy, binary_cross_entropy_with_logits, l1_loss,
                                                 mse_loss, smooth_l1_loss)
from tinynet.nn.loss import (BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, L1Loss, MSELoss, NLLLoss,
                             SmoothL1Loss)

TORCH = torch_fixture("loss")
TOL = dict(rtol=1e-12, atol=1e-12)
ALL = [CrossEntropyLoss, NLLLoss, MSELoss, L1Loss, SmoothL1Loss, BCELoss, BCEWithLogitsLoss]


def test_the_package_exports_the_loss_modules():
    for cls in ALL:
        assert getattr(nn, cls.__name__) is cls


def test_cross_entropy_loss_positional_arguments_in_pytorchs_order(device, xp):
    """CrossEntropyLoss(weight, size_average, ignore_index, reduce, reduction, label_smoothing), positionally:
    the loss and gradient torch gives for (w, None, 1, None, 'sum', 0.2)."""
    z = tensor(TORCH["ce_2d_z"], device, requires_grad=True)
    loss = CrossEntropyLoss(tensor(TORCH["ce_2d_w"], device), None, 1, None, "sum", 0.2)(
        z, xp.asarray(TORCH["ce_2d_t_inrange"]))
    np.testing.assert_allclose(loss.item(), TORCH["module_CrossEntropyLoss_loss"], **TOL)
    loss.backward()
    np.testing.assert_allclose(host(z.grad), TORCH["module_CrossEntropyLoss_dz"], **TOL)


def test_nll_loss_positional_arguments_in_pytorchs_order(device, xp):
    z = tensor(TORCH["ce_2d_z"], device, requires_grad=True)
    loss = NLLLoss(tensor(TORCH["ce_2d_w"], device), None, 1, None, "sum")(F.log_softmax(z, 1),
                                                                          xp.asarray(TORCH["ce_2d_t_inrange"]))
    np.testing.assert_allclose(loss.item(), TORCH["module_NLLLoss_loss"], **TOL)
    loss.backward()
    np.testing.assert_allclose(host(z.grad), TORCH["module_NLLLoss_dz"], **TOL)


def test_bce_with_logits_loss_positional_arguments(device):
    """BCEWithLogitsLoss(weight, size_average, reduce, reduction, pos_weight), positionally."""
    x = tensor(TORCH["bcel_w4_pw31_x"], device, requires_grad=True)
    module = BCEWithLogitsLoss(tensor(TORCH["bcel_w4_pw31_weight"], device), None, None, "sum",
                               tensor(TORCH["bcel_w4_pw31_pos_weight"], device))
    loss = module(x, tensor(TORCH["bcel_w4_pw31_y"], device))
    np.testing.assert_allclose(loss.item(), TORCH["module_BCEWithLogitsLoss_loss"], **TOL)
    loss.backward()
    np.testing.assert_allclose(host(x.grad), TORCH["module_BCEWithLogitsLoss_dz"], **TOL)


def test_smooth_l1_loss_positional_arguments(device):
    """SmoothL1Loss(size_average, reduce, reduction, beta), positionally."""
    x = tensor(TORCH["mse_x"], device, requires_grad=True)
    loss = SmoothL1Loss(None, None, "sum", 0.5)(x, tensor(TORCH["mse_y"], device))
    np.testing.assert_allclose(loss.item(), TORCH["module_SmoothL1Loss_loss"], **TOL)
    loss.backward()
    np.testing.assert_allclose(host(x.grad), TORCH["module_SmoothL1Loss_dz"], **TOL)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_each_module_is_its_function(device, xp, rng, reduction):
    """Every module gives its function's value with the same options (MSELoss(None, None, 'sum') etc.)."""
    z = rand(rng, (4, 3), device)
    t = xp.asarray(np.array([0, 2, -100, 1]))
    p, q = tensor(rng.uniform(0.1, 0.9, (4, 3)), device), tensor(rng.uniform(0, 1, (4, 3)), device)
    w = tensor(rng.uniform(0.5, 2, 3), device)
    pairs = [
        (CrossEntropyLoss(w, None, -100, None, reduction, 0.1)(z, t),
         F.cross_entropy(z, t, w, reduction=reduction, label_smoothing=0.1)),
        (NLLLoss(w, reduction=reduction)(z, t), F.nll_loss(z, t, w, reduction=reduction)),
        (MSELoss(None, None, reduction)(p, q), mse_loss(p, q, reduction=reduction)),
        (L1Loss(reduction=reduction)(p, q), l1_loss(p, q, reduction=reduction)),
        (SmoothL1Loss(reduction=reduction, beta=0.2)(p, q), smooth_l1_loss(p, q, reduction=reduction, beta=0.2)),
        (BCELoss(w, reduction=reduction)(p, q), binary_cross_entropy(p, q, w, reduction=reduction)),
        (BCEWithLogitsLoss(reduction=reduction, pos_weight=w)(z, q),
         binary_cross_entropy_with_logits(z, q, reduction=reduction, pos_weight=w)),
    ]
    for got, expected in pairs:
        np.testing.assert_array_equal(host(got), host(expected))


@pytest.mark.parametrize("cls", ALL)
def test_repr_is_pytorchs(cls):
    """PyTorch's loss modules print no options: CrossEntropyLoss(), whatever was given."""
    assert repr(cls()) == f"{cls.__name__}()"
    assert repr(cls(reduction="sum")) == f"{cls.__name__}()"


def test_weights_are_buffers_in_the_state_dict():
    """weight and pos_weight are buffers, as PyTorch registers them: in state_dict() when given, absent when
    None, never parameters; they follow .double()."""
    w = np.array([1.0, 2.0, 3.0], dtype=np.float32)
    for cls in (CrossEntropyLoss, NLLLoss, BCELoss):
        module = cls(w)
        assert list(module.state_dict()) == ["weight"] and list(module.parameters()) == []
        np.testing.assert_array_equal(module.state_dict()["weight"], w)
        assert list(cls().state_dict()) == []
        assert module.double().weight.dtype == np.float64
    module = BCEWithLogitsLoss(pos_weight=w)
    assert list(module.state_dict()) == ["pos_weight"]
    assert list(BCEWithLogitsLoss(w, pos_weight=w).state_dict()) == ["weight", "pos_weight"]
    for cls in (MSELoss, L1Loss, SmoothL1Loss):
        assert list(cls().state_dict()) == []


def test_a_loaded_weight_is_used(device, xp, rng):
    """load_state_dict replaces the weight buffer, and the loss uses the loaded values."""
    z = rand(rng, (3, 3), device)
    t = xp.asarray(np.array([0, 1, 2]))
    source = CrossEntropyLoss(np.array([1.0, 5.0, 0.5]))
    target = CrossEntropyLoss(np.ones(3))
    target.load_state_dict(source.state_dict())
    np.testing.assert_array_equal(host(target.to(device)(z, t)), host(source.to(device)(z, t)))


def test_a_bad_input_names_the_layer(device, xp, rng):
    """A ShapeError raised inside a loss module is prefixed with the module."""
    with pytest.raises(tinynet.ShapeError, match=r"^CrossEntropyLoss\(\): cross_entropy: expected targets of shape"):
        CrossEntropyLoss()(rand(rng, (2, 3), device), xp.asarray(np.array([0, 1, 2])))
    with pytest.raises(tinynet.ShapeError, match=r"^MSELoss\(\): mse_loss: target shape \(3,\) must equal"):
        MSELoss()(rand(rng, (2, 3), device), rand(rng, (3,), device))


def test_module_training_step(device, xp, rng):
    """A layer + CrossEntropyLoss(weight, label_smoothing) trains: the loss falls over a few SGD steps."""
    from tinynet.optim import SGD

    tinynet.manual_seed(0)
    model = nn.Linear(4, 3).to(device).double()
    x = rand(rng, (16, 4), device, requires_grad=False)
    t = xp.asarray(rng.integers(0, 3, 16))
    loss_fn = CrossEntropyLoss(tensor(np.array([1.0, 2.0, 1.0]), device), label_smoothing=0.1)
    opt = SGD(model.parameters(), lr=0.5)
    losses = []
    for _ in range(20):
        opt.zero_grad()
        loss = loss_fn(model(x), t)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]


# --- bad arguments where a loss is built ---------------------------------------------------------------------------

NAN = float("nan")
BAD = [
    *[(lambda cls=cls: cls(reduction="avg"), ValueError,
       rf"^{cls.__name__}: reduction must be 'mean', 'sum' or 'none', got 'avg'$") for cls in ALL],
    *[(lambda cls=cls: cls(size_average=True), ValueError, rf"^{cls.__name__}: size_average is deprecated and not "
       r"supported, got True; use reduction=") for cls in ALL],
    *[(lambda cls=cls: cls(reduce=False), ValueError, rf"^{cls.__name__}: reduce is deprecated and not supported, "
       r"got False; use reduction=.*reduce=False is 'none'\)$") for cls in ALL],
    (lambda: CrossEntropyLoss("sum"), TypeError,
     r"^CrossEntropyLoss: weight must be a Tensor of floats or None, got 'sum'; pass reduction= by name$"),
    (lambda: CrossEntropyLoss([1.0, 2.0]), TypeError, r"^CrossEntropyLoss: weight must be a Tensor of floats or None, "
                                                       r"got \[1.0, 2.0\]$"),
    (lambda: CrossEntropyLoss(np.ones(3, dtype=np.int64)), TypeError,
     r"^CrossEntropyLoss: weight must hold floating-point numbers, got dtype int64$"),
    (lambda: CrossEntropyLoss(np.ones((2, 3))), tinynet.ShapeError,
     r"^CrossEntropyLoss: weight must be 1-d, one entry per class, got shape \(2, 3\)$"),
    (lambda: CrossEntropyLoss(np.float64(1.0)), TypeError, r"^CrossEntropyLoss: weight must be a Tensor of floats"),
    (lambda: CrossEntropyLoss(None, None, 2.5), TypeError, r"^CrossEntropyLoss: ignore_index must be an int, got 2.5$"),
    (lambda: CrossEntropyLoss(ignore_index=False), TypeError,
     r"^CrossEntropyLoss: ignore_index must be an int, got False$"),
    (lambda: CrossEntropyLoss(ignore_index="x"), TypeError,
     r"^CrossEntropyLoss: ignore_index must be an int, got 'x'$"),
    (lambda: CrossEntropyLoss(label_smoothing=-1), ValueError,
     r"^CrossEntropyLoss: label_smoothing must be a finite number >= 0 and <= 1, got -1$"),
    (lambda: CrossEntropyLoss(label_smoothing=2.0), ValueError,
     r"^CrossEntropyLoss: label_smoothing must be .*got 2.0$"),
    (lambda: CrossEntropyLoss(label_smoothing=NAN), ValueError,
     r"^CrossEntropyLoss: label_smoothing must be .*got nan$"),
    (lambda: CrossEntropyLoss(label_smoothing="0.1"), TypeError,
     r"^CrossEntropyLoss: label_smoothing must be .*'0.1'$"),
    (lambda: CrossEntropyLoss(None, None, -100, None, "mean", None), TypeError,
     r"^CrossEntropyLoss: label_smoothing must be .*got None$"),
    (lambda: NLLLoss("none"), TypeError,
     r"^NLLLoss: weight must be a Tensor of floats or None, got 'none'; pass reduction="),
    (lambda: NLLLoss(np.ones((3, 1))), tinynet.ShapeError, r"^NLLLoss: weight must be 1-d"),
    (lambda: NLLLoss(ignore_index=1.0), TypeError, r"^NLLLoss: ignore_index must be an int, got 1.0$"),
    (lambda: MSELoss("mean"), ValueError, r"^MSELoss: size_average is deprecated and not supported, got 'mean'"),
    (lambda: L1Loss(None, None, None), ValueError, r"^L1Loss: reduction must be 'mean', 'sum' or 'none', got None$"),
    (lambda: SmoothL1Loss(beta=-0.5), ValueError, r"^SmoothL1Loss: beta must be a finite number >= 0, got -0.5$"),
    (lambda: SmoothL1Loss(beta=NAN), ValueError, r"^SmoothL1Loss: beta must be a finite number >= 0, got nan$"),
    (lambda: SmoothL1Loss(beta="1"), TypeError, r"^SmoothL1Loss: beta must be a finite number >= 0, got '1'$"),
    (lambda: SmoothL1Loss(None, None, "mean", True), TypeError, r"^SmoothL1Loss: beta must be .*got True$"),
    (lambda: BCELoss("mean"), TypeError,
     r"^BCELoss: weight must be a Tensor of floats or None, got 'mean'; pass reduction="),
    (lambda: BCELoss(np.ones(2, dtype=bool)), TypeError,
     r"^BCELoss: weight must hold floating-point numbers, got dtype bool$"),
    (lambda: BCEWithLogitsLoss(pos_weight="2"), TypeError,
     r"^BCEWithLogitsLoss: pos_weight must be a Tensor of floats or None, got '2'; pass reduction= by name$"),
    (lambda: BCEWithLogitsLoss(pos_weight=np.ones(2, dtype=np.int64)), TypeError,
     r"^BCEWithLogitsLoss: pos_weight must hold floating-point numbers, got dtype int64$"),
    (lambda: BCEWithLogitsLoss(3.0), TypeError,
     r"^BCEWithLogitsLoss: weight must be a Tensor of floats or None, got 3.0$"),
]


def _id(i, message):
    return f"{i}-" + re.sub(r"[^A-Za-z_]+", "-", message[1:].split(" must ")[0].split(" is ")[0])[:40].strip("-")


@pytest.mark.parametrize("build, error, message", [pytest.param(*row, id=_id(i, row[2])) for i, row in enumerate(BAD)])
def test_a_loss_with_bad_arguments_fails_where_it_is_built(build, error, message):
    """Each row: the exception type and a message naming the module and the argument."""
    assert re.match(r"^\^(CrossEntropyLoss|NLLLoss|MSELoss|L1Loss|SmoothL1Loss|BCELoss|BCEWithLogitsLoss): ", message)
    with pytest.raises(error, match=message):
        build()
