"""SGD, Adam, AdamW, RMSprop and Adagrad against PyTorch (tests/fixtures/torch_optim.npz, made by
tools/torch_reference/optim.py), param groups, state_dict layouts, and each optimizer given bad input."""
import json

import numpy as np
import pytest

from tests.fixtures import torch_fixture
from tests.helpers import host, tensor
from tinynet import backend, optim
from tinynet.nn import Parameter

TORCH = torch_fixture("optim")
CASES = sorted({k[: -len("_spec")] for k in TORCH if k.endswith("_spec")})
STEPS = max(int(k.split("_p")[-1].split("_")[0]) for k in TORCH if k.startswith("sgd_plain_p"))
# PyTorch's switches between its own implementations (for-each, fused, CUDA graphs, autograd through
# the step): they choose how, not what, and tinynet has one implementation.
TORCH_ONLY = {"foreach", "fused", "capturable", "differentiable"}


def _build(case, device):
    spec = json.loads(str(TORCH[f"{case}_spec"]))
    params = [Parameter(backend.to_device(TORCH[f"{case}_p0_{j}"], device)) for j in range(2)]
    groups = ([{"params": params}] if spec["group1"] is None
              else [{"params": params[:1]}, {"params": params[1:], **spec["group1"]}])
    return getattr(optim, spec["optimizer"])(groups, **spec["kwargs"]), params


@pytest.mark.parametrize("case", CASES)
def test_every_step_matches_pytorch(case, device):
    opt, params = _build(case, device)
    for s in range(STEPS):
        for j, p in enumerate(params):
            p.grad = tensor(TORCH[f"{case}_g{s}_{j}"], device)
        opt.step()
        for j, p in enumerate(params):
            np.testing.assert_allclose(host(p), TORCH[f"{case}_p{s + 1}_{j}"], rtol=1e-12, atol=1e-12,
                                       err_msg=f"{case}, parameter {j}, step {s + 1}")


@pytest.mark.parametrize("case", CASES)
def test_state_dict_has_pytorchs_layout(case):
    opt, params = _build(case, "cpu")
    for s in range(STEPS):
        for j, p in enumerate(params):
            p.grad = tensor(TORCH[f"{case}_g{s}_{j}"])
        opt.step()
    sd = opt.state_dict()
    assert sorted(sd) == ["param_groups", "state"]
    torch_keys = set(TORCH[f"{case}_group_keys"].tolist()) - TORCH_ONLY
    for group in sd["param_groups"]:
        assert set(group) - {"params"} == torch_keys
    assert [g["params"] for g in sd["param_groups"]] == ([[0, 1]] if len(opt.param_groups) == 1 else [[0], [1]])
    for j in range(2):
        assert sorted(sd["state"].get(j, {})) == TORCH[f"{case}_state_keys_{j}"].tolist(), j


@pytest.mark.parametrize("case", [c for c in CASES if not c.startswith("sgd_plain")])
def test_state_dict_round_trip_continues_identically(case):
    """Two steps, state_dict into a fresh optimizer (other settings), two more == four steps in one."""

    def run(split):
        opt, params = _build(case, "cpu")
        for s in range(STEPS):
            if s == split:
                state = opt.state_dict()
                opt = type(opt)([{"params": g["params"], "lr": 0.5} for g in opt.param_groups])
                opt.load_state_dict(state)
            for j, p in enumerate(params):
                p.grad = tensor(TORCH[f"{case}_g{s}_{j}"])
            opt.step()
        return [p.numpy() for p in params]

    for a, b in zip(run(None), run(2)):
        np.testing.assert_array_equal(a, b)


def test_param_groups_take_the_defaults_and_their_own_values():
    a, b, c = (Parameter(np.zeros(2)) for _ in range(3))
    opt = optim.SGD([{"params": [a], "lr": 0.1}, {"params": [b]}], lr=0.01, momentum=0.9)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.01]
    assert [g["momentum"] for g in opt.param_groups] == [0.9, 0.9]
    opt.add_param_group({"params": c, "nesterov": True})
    assert opt.param_groups[2]["params"] == [c] and opt.param_groups[2]["nesterov"] is True
    assert opt.params == [a, b, c]
    with pytest.raises(ValueError, match=r"^SGD.lr: the param groups have different learning rates"):
        opt.lr
    opt.lr = 0.5  # sets every group, as a schedule does
    assert [g["lr"] for g in opt.param_groups] == [0.5] * 3 and opt.lr == 0.5


def test_a_parameter_without_grad_is_skipped_and_gets_no_state():
    p, q = Parameter(np.ones(3)), Parameter(np.ones(2))
    opt = optim.Adam([p, q], lr=0.1)
    p.grad = tensor(np.ones(3))
    opt.step()
    assert q not in opt.state
    np.testing.assert_array_equal(q.numpy(), np.ones(2))
    assert list(opt.state_dict()["state"]) == [0]


def test_adagrad_has_state_for_every_parameter_from_the_start():
    opt = optim.Adagrad([Parameter(np.ones(3))], initial_accumulator_value=0.25)
    sd = opt.state_dict()
    assert sd["state"][0]["step"] == 0
    np.testing.assert_array_equal(sd["state"][0]["sum"], np.full(3, 0.25))


def test_the_update_keeps_the_parameter_object_and_dtype():
    p = Parameter(np.ones(3, np.float32))
    data = p.data
    for cls in (optim.SGD, optim.Adam, optim.AdamW, optim.RMSprop, optim.Adagrad):
        p.grad = tensor(np.ones(3, np.float32))
        cls([p]).step()
        assert p.data is data and p.dtype == np.float32


# --- bad input ---------------------------------------------------------------------------------------------

NAN, INF = float("nan"), float("inf")
ALL = ("SGD", "Adam", "AdamW", "RMSprop", "Adagrad")
NONNEGATIVE = {
    "SGD": ("lr", "momentum", "weight_decay"),
    "Adam": ("lr", "eps", "weight_decay"), "AdamW": ("lr", "eps", "weight_decay"),
    "RMSprop": ("lr", "alpha", "eps", "weight_decay", "momentum"),
    "Adagrad": ("lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps"),
}
FLAGS = {"SGD": ("nesterov", "maximize"), "Adam": ("amsgrad", "maximize"), "AdamW": ("amsgrad", "maximize"),
         "RMSprop": ("centered", "maximize"), "Adagrad": ("maximize",)}


def _make(name, params=None, **kwargs):
    return getattr(optim, name)([Parameter(np.zeros(3))] if params is None else params, **kwargs)


def _rows():
    for name in ALL:
        for arg in NONNEGATIVE[name]:
            yield pytest.param(name, {arg: -1.0}, ValueError, rf"^{name}: {arg} must be a finite number >= 0, got -1.0$",
                               id=f"{name}-{arg}-negative")
            yield pytest.param(name, {arg: NAN}, ValueError, rf"^{name}: {arg} must be .* got nan$", id=f"{name}-{arg}-nan")
            yield pytest.param(name, {arg: "0.1"}, TypeError, rf"^{name}: {arg} must be .* got '0.1'$", id=f"{name}-{arg}-str")
            yield pytest.param(name, {arg: True}, TypeError, rf"^{name}: {arg} must be .* got True$", id=f"{name}-{arg}-bool")
        for flag in FLAGS[name]:
            yield pytest.param(name, {flag: 1}, TypeError, rf"^{name}: {flag} must be True or False, got 1$",
                               id=f"{name}-{flag}-int")
    for name in ("Adam", "AdamW"):
        for betas, error, message in [((1.0, 0.999), ValueError, r"betas\[0\] must be a finite number >= 0 and < 1, got 1.0"),
                                      ((0.9, -0.1), ValueError, r"betas\[1\] must be .* got -0.1"),
                                      ((0.9, INF), ValueError, r"betas\[1\] must be .* got inf"),
                                      ((0.9, "0.9"), TypeError, r"betas\[1\] must be .* got '0.9'"),
                                      ((False, 0.9), TypeError, r"betas\[0\] must be .* got False"),
                                      (0.9, TypeError, r"betas must be a pair of numbers in \[0, 1\), got 0.9"),
                                      ((0.9,), TypeError, r"betas must be a pair")]:
            yield pytest.param(name, {"betas": betas}, error, rf"^{name}: {message}", id=f"{name}-betas-{betas}")
    yield pytest.param("SGD", {"nesterov": True}, ValueError, r"^SGD: Nesterov momentum needs momentum > 0 and dampening = 0$",
                       id="SGD-nesterov-without-momentum")
    yield pytest.param("SGD", {"dampening": 1.5}, ValueError, r"^SGD: dampening must be .* <= 1, got 1.5$",
                       id="SGD-dampening-above-1")


@pytest.mark.parametrize("name, kwargs, error, message", list(_rows()))
def test_bad_hyper_parameters_are_refused_naming_the_optimizer_and_argument(name, kwargs, error, message):
    with pytest.raises(error, match=message):
        _make(name, **kwargs)


def _twice_across_groups():
    p = Parameter(np.zeros(3))
    return [{"params": [p, Parameter(np.zeros(2))]}, {"params": [p]}]


PARAMS = [
    ([], ValueError, r"got an empty parameter list$"),
    (Parameter(np.zeros(3)), TypeError,
     r"params argument given to the optimizer should be an iterable of Tensors, but got Parameter \(wrap a single"),
    ([np.zeros(3)], TypeError, r"parameter 0 has type ndarray, not a Tensor$"),
    ([{"params": [Parameter(np.zeros(1))]}, Parameter(np.zeros(1))], TypeError, r"params mixes param groups"),
    ([{"lr": 0.1}], ValueError, r"param group 0 has no 'params' key$"),
    ([{"params": {Parameter(np.zeros(1))}}], TypeError, r"param group 0: params must be an ordered collection"),
    ([{"params": "weight"}], TypeError, r"param group 0: params must be an iterable of Tensors, got str$"),
    ([{"params": [Parameter(np.zeros(1))], "lr": -1.0}], ValueError, r"param_groups\[0\]: lr must be .* got -1.0$"),
    ([{"params": [Parameter(np.zeros(1))]}, {"params": [Parameter(np.zeros(1))], "maximize": "no"}], TypeError,
     r"param_groups\[1\]: maximize must be True or False"),
]


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("params, error, message", PARAMS + [(None, ValueError, None)],
                         ids=[f"params{i}" for i in range(len(PARAMS))] + ["twice-across-groups"])
def test_bad_params_are_refused(name, params, error, message):
    if params is None:
        params, message = _twice_across_groups(), r"parameter 2 is the same tensor as parameter 0 \(given twice\)$"
    with pytest.raises(error, match=rf"^{name}: {message}"):
        _make(name, params)


@pytest.mark.parametrize("name", ALL)
def test_add_param_group_refuses_a_parameter_already_held(name):
    p = Parameter(np.zeros(3))
    opt = _make(name, [p])
    with pytest.raises(ValueError, match=rf"^{name}.add_param_group: parameter 1 is the same tensor as parameter 0"):
        opt.add_param_group({"params": [p]})
    with pytest.raises(TypeError, match=rf"^{name}.add_param_group: param group 1 must be a dict, got list$"):
        opt.add_param_group([p])
    assert len(opt.param_groups) == 1


def _stepped(name, **kwargs):
    p = Parameter(np.zeros(3))
    opt = _make(name, [p], **kwargs)
    p.grad = tensor(np.ones(3))
    opt.step()
    return opt, p


def _edit(sd, path, value):
    """sd with sd[path[0]][path[1]]... set to value (removed where value is _DELETE)."""
    *head, last = path
    for key in head:
        sd = sd[key]
    if value is _DELETE:
        del sd[last]
    else:
        sd[last] = value


_DELETE = object()
FIRST_ARRAY = {"SGD": "momentum_buffer", "Adam": "exp_avg", "AdamW": "exp_avg", "RMSprop": "square_avg",
               "Adagrad": "sum"}
LOAD = [
    (None, [1, 2], TypeError, r"expected a dict, got list$"),
    (("state",), _DELETE, ValueError, r"the state lacks state \(a \w+.state_dict\(\) holds 'state' and 'param_groups'\)$"),
    (("param_groups",), [], ValueError, r"the state has 0 param groups, this optimizer 1$"),
    (("param_groups", 0, "params"), [0, 1], ValueError,
     r"param_groups\[0\] of the state has 2 parameters, this optimizer's has 1 parameter$"),
    (("param_groups", 0, "lr"), _DELETE, ValueError, r"param_groups\[0\] lacks lr$"),
    (("param_groups", 0, "lr"), -1.0, ValueError, r"param_groups\[0\]: lr must be a finite number >= 0, got -1.0$"),
    (("param_groups", 0, "maximize"), "no", TypeError, r"param_groups\[0\]: maximize must be True or False"),
    (("state", 3), {}, ValueError, r"state key 3 is not the index of a parameter"),
    (("state", 0, "bogus"), np.zeros(3), ValueError, r"state\[0\] holds 'bogus', not an entry of a \w+ state"),
    (("state", 0, "FIRST"), np.zeros(4), ValueError, r"state\[0\]: \w+ has shape \(4,\), its parameter \(3,\)$"),
    (("state", 0, "FIRST"), [0.0, 0.0, 0.0], TypeError, r"state\[0\]: \w+ has type list, expected an array$"),
    (("state", 0, "FIRST"), np.array(["a", "b", "c"]), TypeError, r"state\[0\]: \w+ has dtype <U1, expected a float"),
    (("state", 0, "FIRST"), _DELETE, ValueError, r"state\[0\] lacks \w+$"),
]


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("path, value, error, message", LOAD, ids=[f"load{i}" for i in range(len(LOAD))])
def test_load_state_dict_refuses_a_bad_state_and_changes_nothing(name, path, value, error, message):
    if name == "SGD" and path == ("state", 0, "FIRST") and value is _DELETE:
        pytest.skip("SGD's momentum buffer is created at the first step: a state without it is valid")
    opt, p = _stepped(name, **({"momentum": 0.9} if name == "SGD" else {}))
    before = opt.state_dict()
    sd = opt.state_dict()
    if path is None:
        sd = value
    else:
        _edit(sd, tuple(FIRST_ARRAY[name] if k == "FIRST" else k for k in path), value)
    with pytest.raises(error, match=rf"^{name}.load_state_dict: {message}"):
        opt.load_state_dict(sd)
    after = opt.state_dict()
    assert after["param_groups"] == before["param_groups"]
    assert all(np.array_equal(v, before["state"][0][k]) for k, v in after["state"][0].items())


def test_the_package_is_importable_as_before_and_from_tinynet():
    import tinynet
    from tinynet.optim import SGD, CosineAnnealingLR, ReduceLROnPlateau, StepLR  # noqa: F401

    assert tinynet.optim.lr_scheduler.StepLR is StepLR and "optim" in tinynet.__all__


def test_a_checkpoint_holds_sgd_with_one_group_and_converts_both_ways(tmp_path):
    from tinynet import nn
    from tinynet.checkpoint import CheckpointError, read_meta, save_checkpoint, sgd_fields, sgd_state_dict

    model = nn.Linear(3, 2)
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model.weight.grad = tensor(np.ones((2, 3)))
    opt.step()  # the bias has no grad: no buffer
    fields, buffers = sgd_fields(opt)
    assert fields == {"lr": 0.1, "momentum": 0.9, "dampening": 0.0, "weight_decay": 0.0, "nesterov": False}
    assert buffers[1] is None and buffers[0].shape == (2, 3)
    fresh = optim.SGD(model.parameters())
    fresh.load_state_dict(sgd_state_dict({**fields, "buffers": buffers}))
    assert fresh.state_dict()["param_groups"] == opt.state_dict()["param_groups"]
    np.testing.assert_array_equal(fresh.buffers[0], buffers[0])
    for other in (optim.Adam(model.parameters()),
                  optim.SGD([{"params": [model.weight]}, {"params": [model.bias]}], lr=0.1)):
        with pytest.raises(CheckpointError, match="a checkpoint holds an SGD optimizer with one param group"):
            sgd_fields(other)
        # the SGD layout does not fit them; the general one does (issue 14: every optimizer is saveable)
        assert "type" in read_meta(save_checkpoint(tmp_path / "c.npz", model, other))["optimizer"]


@pytest.mark.parametrize("make", [lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9), lambda ps: optim.Adam(ps, lr=0.1),
                                  lambda ps: optim.AdamW(ps), lambda ps: optim.RMSprop(ps), lambda ps: optim.Adagrad(ps)],
                         ids=["SGD", "Adam", "AdamW", "RMSprop", "Adagrad"])
def test_step_with_a_closure_recomputes_the_loss_and_returns_it(make):
    # PyTorch's step(closure): the closure runs first, with gradients on (also inside no_grad), then the update.
    import tinynet

    w = Parameter(np.array([1.0, -2.0]))
    opt = make([w])
    calls = []

    def closure():
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        calls.append(loss.item())
        return loss

    with tinynet.no_grad():
        loss = opt.step(closure)
    assert calls == [5.0] and loss.item() == 5.0
    assert not np.array_equal(w.numpy(), [1.0, -2.0])
    assert opt.step() is None
    with pytest.raises(TypeError, match=r"step: closure must be a function of no arguments returning the loss, got int"):
        opt.step(3)
