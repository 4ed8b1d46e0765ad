"""The five tutorial models of tutorial_models.py, written as their PyTorch code reads, against PyTorch.

Each model's state_dict keys are PyTorch's; with the same float64 weights (loaded through
load_state_dict, as a PyTorch checkpoint would be) and the same batch, the output, the loss and every
parameter's gradient equal PyTorch's to 1e-12 (tests/fixtures/torch_models.npz, written by
tools/torch_reference/models.py from this same model text). Then each trains a few SGD steps in
float32 and its loss on the batch goes down.
"""
import numpy as np
import pytest

import tinynet
import tinynet.functional as F
import tinynet.optim as optim
from tests.fixtures import torch_fixture
from tests.helpers import host
from tests.models import tutorial_models as tm

TOL = dict(rtol=1e-12, atol=1e-12)


@pytest.fixture(scope="module")
def expected():
    return torch_fixture("models")


def _loss(name, out, targets):
    if name == "digits":
        return F.nll_loss(out, targets)
    logits = out[0] if name == "lenet5" else out
    return F.cross_entropy(logits, targets)


def _built(name, device, dtype="float64"):
    cls, kwargs, shape = tm.MODELS[name]
    model = cls(**kwargs).to(dtype).to(device)
    model.load_state_dict(tm.fixed_state(model.state_dict(), seed=1))
    x, y = tm.fixed_batch(shape, seed=2)
    return model, tinynet.Tensor(x.astype(dtype), device=device), tinynet.Tensor(y, device=device)


@pytest.mark.parametrize("name", list(tm.MODELS))
def test_state_dict_keys_are_pytorchs(name, expected):
    cls, kwargs, _ = tm.MODELS[name]
    assert list(cls(**kwargs).state_dict()) == list(expected[f"{name}__state_dict_keys"])


def _without_dropout(model):
    """Training mode (batch statistics in any batch norm) with every Dropout off: a deterministic pass."""
    model.train()
    for m in model.modules():
        if isinstance(m, tinynet.nn.Dropout):
            m.eval()
    return model


# Every model in eval mode; the batch-norm net also in training mode (batch statistics, running
# statistics updated). For the others, training mode differs from eval only by dropout's random mask.
CASES = [(name, "eval") for name in tm.MODELS] + [("vgg", "train")]


@pytest.mark.parametrize("name, mode", CASES)
def test_output_loss_and_gradients_match_pytorch(name, mode, device, expected):
    key = f"{name}__{mode}"
    model, x, y = _built(name, device)
    if mode == "train":  # batch statistics in the batch norms; Dropout stays off, as in the fixture
        _without_dropout(model)
    else:
        model.eval()
    out = model(x)
    loss = _loss(name, out, y)
    loss.backward()
    np.testing.assert_allclose(host(out[0] if name == "lenet5" else out), expected[f"{key}__out"], **TOL)
    np.testing.assert_allclose(loss.item(), expected[f"{key}__loss"], **TOL)
    for i, (pname, p) in enumerate(model.named_parameters()):
        g = host(p.grad)
        got = [g.sum(), (g * tm.probe(g.shape, seed=100 + i)).sum()]
        np.testing.assert_allclose(got, expected[f"{key}__grad__{pname}"], rtol=1e-10, atol=1e-12,
                                   err_msg=f"{name} {mode}: gradient of {pname}")
    if mode == "train":
        buffers = dict(model.named_buffers())
        assert buffers, "the batch-norm net has buffers"
        for bname, b in buffers.items():
            want = expected[f"{key}__buffer__{bname}"]
            assert host(b).dtype == want.dtype, bname
            np.testing.assert_allclose(host(b), want, **TOL, err_msg=bname)


@pytest.mark.parametrize("name", list(tm.MODELS))
def test_a_few_sgd_steps_lower_the_loss(name, device):
    tinynet.manual_seed(0)
    model, x, y = _built(name, device, dtype="float32")

    def loss_now():
        with tinynet.no_grad():
            return _loss(name, _without_dropout(model)(x), y).item()

    before = loss_now()
    model.train()
    optimizer = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    for _ in range(6):
        optimizer.zero_grad()
        loss = _loss(name, model(x), y)
        loss.backward()
        optimizer.step()
        assert np.isfinite(loss.item())
    after = loss_now()
    assert after < before, (before, after)
