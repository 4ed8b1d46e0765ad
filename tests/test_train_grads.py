"""Each parameter layer's mean |gradient| over an epoch (tinynet/train_grads.py)."""
import numpy as np
import pytest

from tinynet import functional as F
from tinynet import nn
from tinynet._tensor import Tensor
from tinynet.train_grads import GradSizes


def _net():
    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 4 * 4, 3))


def _step(model, rng):
    model.zero_grad()
    x = Tensor(rng.standard_normal((2, 3, 6, 6)).astype(np.float32))
    F.cross_entropy(model(x), Tensor(np.array([0, 2]))).backward()


def test_one_entry_per_parameter_layer_named_as_in_the_state_dict():
    sizes = GradSizes(_net())
    assert [name for name, _ in sizes.layers] == ["0", "3"]  # the ReLU and the Flatten hold nothing
    assert sizes.result() == {}  # nothing counted yet


def test_the_average_over_steps_of_the_weights_mean_absolute_gradient():
    model, rng = _net(), np.random.default_rng(0)
    sizes, expected = GradSizes(model), {"0": [], "3": []}
    for _ in range(3):
        _step(model, rng)
        sizes.add(sizes.measure())
        expected["0"].append(np.abs(model[0].weight.grad.numpy()).mean())  # the weight's, not the bias's
        expected["3"].append(np.abs(model[3].weight.grad.numpy()).mean())
    result = sizes.result()
    assert result == pytest.approx({k: np.mean(v) for k, v in expected.items()}, rel=1e-6)
    assert all(v > 0 and np.isfinite(v) for v in result.values())


def test_a_layer_without_a_weight_uses_all_its_own_parameters():
    class Shift(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = nn.Parameter(np.ones(2, np.float32)), nn.Parameter(np.ones(4, np.float32))

        def forward(self, x):
            return x * self.a.sum() + self.b.sum()

    model = Shift()
    (model(Tensor(np.float32(3.0))) * 1.0).backward()  # d/da = 3 (each of 2), d/db = 1 (each of 4)
    sizes = GradSizes(model)
    sizes.add(sizes.measure())
    assert sizes.result() == pytest.approx({"": (2 * 3 + 4 * 1) / 6})


def test_a_step_without_gradients_is_not_counted_and_a_skipped_measure_changes_nothing():
    model, rng = _net(), np.random.default_rng(0)
    sizes = GradSizes(model)
    assert sizes.measure() == [None, None]  # before any backward
    sizes.add(sizes.measure())
    assert sizes.result() == {}
    _step(model, rng)
    measured = sizes.measure()  # measured, but the step was skipped: not added
    _step(model, rng)
    sizes.add(sizes.measure())
    assert sizes.result()["3"] == pytest.approx(np.abs(model[3].weight.grad.numpy()).mean(), rel=1e-6)
    assert measured[1] != sizes.result()["3"]


def test_frozen_parameters_are_not_measured():
    model = _net()
    model[0].requires_grad_(False)
    assert [name for name, _ in GradSizes(model).layers] == ["3"]


def test_the_first_step_and_every_tenth_after_it_are_due():
    from tinynet import nn
    from tinynet import train_grads

    sizes = train_grads.GradSizes(nn.Linear(2, 2))
    due = []
    for _ in range(2 * train_grads.EVERY + 1):
        due.append(sizes.due())
        if due[-1]:
            sizes.add([])
    assert [k for k, d in enumerate(due) if d] == [0, train_grads.EVERY, 2 * train_grads.EVERY]
    # a due step that is not counted (the scaler skipped it) passes the turn on until one is
    fresh = train_grads.GradSizes(nn.Linear(2, 2))
    assert [fresh.due(), fresh.due(), fresh.due()] == [True, True, True]
    fresh.add([])
    assert fresh.due() is False
