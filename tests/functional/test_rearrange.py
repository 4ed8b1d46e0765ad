"""flip, roll, narrow, unbind, movedim, swapaxes (tinynet/functional/rearrange.py): PyTorch's values and
gradients from the fixture, which ones are views, gradchecks, and the refusals."""
import numpy as np
import pytest

import tinynet
import tinynet.functional as F
from tests.functional.torch_cases import check_case, names
from tests.helpers import rand


@pytest.mark.parametrize("name", names("rearrange_"))
def test_matches_pytorch(device, name):
    check_case(name, device)


@pytest.mark.parametrize("fn", [lambda x: F.flip(x, (0, 2)), lambda x: F.roll(x, (2, 1), (1, 2)),
                                lambda x: F.roll(x, -3), lambda x: F.narrow(x, 1, 1, 2),
                                lambda x: F.unbind(x, 2)[1], lambda x: F.movedim(x, 2, 0)],
                         ids=["flip", "roll", "roll_flat", "narrow", "unbind", "movedim"])
def test_gradcheck(rng, fn):
    assert tinynet.gradcheck(fn, [rand(rng, (2, 3, 4))])


def test_views_and_copies_as_pytorch():
    x = tinynet.tensor(np.arange(24.0).reshape(2, 3, 4))
    for view in (x.narrow(2, 1, 2), x.unbind(1)[0], x.movedim(0, 2), x.swapaxes(0, 1), x.swapdims(1, 2)):
        assert np.shares_memory(view.data, x.data) and view._base is x
    for copy in (x.flip(0), x.roll(1, 0)):
        assert not np.shares_memory(copy.data, x.data)
    assert (+x) is x and len(x.unbind(2)) == 4


@pytest.mark.parametrize("call, error, message", [
    (lambda x: F.flip(x, (0, 0)), ValueError, "flip: dims .* name a dimension more than once"),
    (lambda x: F.flip(x, 3), IndexError, "flip: dim 3 is out of range"),
    (lambda x: F.roll(x, (1, 2), 0), ValueError, "roll: shifts .* and dims .* must be ints, as many of each"),
    (lambda x: F.roll(x, 1.5), TypeError, "roll: without dims, shifts must be one int"),
    (lambda x: F.narrow(x, 0, 1, 5), IndexError, "narrow: start 1 and length 5 go past dimension 0 of size 2"),
    (lambda x: F.narrow(x, 0, 0.5, 1), TypeError, "narrow: start and length must be ints"),
    (lambda x: F.unbind(x.sum()), IndexError, "unbind: a 0-d tensor"),
    (lambda x: F.movedim(x, (0, 1), 2), ValueError, "movedim: 2 source and 1 destination"),
    (lambda x: F.movedim(x, "a", 0), TypeError, "movedim: dim must be an int"),
])
def test_bad_arguments(call, error, message):
    with pytest.raises(error, match=message):
        call(tinynet.zeros(2, 3, 4))
