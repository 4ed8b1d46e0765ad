"""Sequential, ModuleList, ModuleDict: PyTorch's indexing, renumbering and state-dict names; a
non-Module refused naming the container, the method, the index or key, and the type."""
from collections import OrderedDict

import numpy as np
import pytest

import tinynet
from tinynet import nn


def _linears(*sizes):
    """Linear(sizes[0], sizes[1]), Linear(sizes[1], sizes[2]), ...: each recognisable by its shape."""
    return [nn.Linear(a, b) for a, b in zip(sizes, sizes[1:])]


def _shapes(container):
    return [m.weight.shape for m in container]


def _keys(container):
    return list(container._modules)


# --- Sequential -----------------------------------------------------------------------------------------


def test_sequential_indexing_negative_and_slices_keep_names():
    a, b, c = _linears(1, 2, 3, 4)
    seq = nn.Sequential(a, b, c)
    assert seq[0] is a and seq[-1] is c and seq[-3] is a
    part = seq[1:]
    assert isinstance(part, nn.Sequential) and part[0] is b and _keys(part) == ["1", "2"]  # names kept, as PyTorch
    named = nn.Sequential(OrderedDict([("first", a), ("second", b)]))
    assert named[1] is b and _keys(named[::-1]) == ["second", "first"]
    with pytest.raises(IndexError, match=r"^Sequential.__getitem__: index 3 is out of range for 3 modules$"):
        seq[3]
    with pytest.raises(IndexError, match=r"index -4 is out of range"):
        seq[-4]


def test_sequential_setitem_keeps_the_name_and_the_forward_order():
    a, b = _linears(2, 2, 2)
    c = nn.Linear(2, 2)
    seq = nn.Sequential(OrderedDict([("x", a), ("y", b)]))
    seq[-1] = c
    assert seq.y is c and _keys(seq) == ["x", "y"] and list(seq.state_dict())[2:] == ["y.weight", "y.bias"]
    x = tinynet.Tensor(np.ones((1, 2), dtype=np.float32))
    np.testing.assert_allclose(seq(x).numpy(), c(a(x)).numpy(), rtol=1e-6)


def test_sequential_delitem_insert_pop_renumber_as_pytorch():
    mods = _linears(1, 2, 3, 4, 5)
    seq = nn.Sequential(*mods)
    del seq[1]
    assert _keys(seq) == ["0", "1", "2"] and _shapes(seq) == [(2, 1), (4, 3), (5, 4)]
    assert not hasattr(seq, "3")  # the old last name is gone as an attribute too
    assert seq[1] is getattr(seq, "1") is mods[2]
    seq.insert(1, mods[1])
    assert _shapes(seq) == [(2, 1), (3, 2), (4, 3), (5, 4)]
    seq.insert(-1, nn.ReLU())
    assert isinstance(seq[3], nn.ReLU) and len(seq) == 5
    seq.insert(5, nn.Flatten())
    assert isinstance(seq[-1], nn.Flatten)
    assert seq.pop(3).__class__ is nn.ReLU and seq.pop() .__class__ is nn.Flatten
    del seq[::2]
    assert _shapes(seq) == [(3, 2), (5, 4)] and _keys(seq) == ["0", "1"]
    assert list(seq.state_dict()) == ["0.weight", "0.bias", "1.weight", "1.bias"]


def test_sequential_append_extend_add_iadd_contains():
    a, b, c = _linears(1, 2, 3, 4)
    seq = nn.Sequential(a)
    assert seq.append(b) is seq and seq.extend([c]) is seq
    assert _shapes(seq) == [(2, 1), (3, 2), (4, 3)]
    both = seq + nn.Sequential(nn.ReLU())
    assert isinstance(both, nn.Sequential) and len(both) == 4 and both[0] is a and len(seq) == 3
    seq += nn.Sequential(nn.ReLU())
    assert len(seq) == 4 and _keys(seq) == ["0", "1", "2", "3"]
    assert a in seq and nn.Linear(1, 2) not in seq  # identity, not equal shapes


# --- ModuleList -----------------------------------------------------------------------------------------


def test_module_list_registers_its_modules_with_numbered_names():
    class Tower(nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = nn.ModuleList(_linears(4, 3, 2))

        def forward(self, x):
            for layer in self.layers:
                x = layer(x)
            return x

    tower = Tower()
    assert list(tower.state_dict()) == ["layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias"]
    assert len(list(tower.parameters())) == 4
    y = tower(tinynet.Tensor(np.ones((5, 4), dtype=np.float32)))
    assert y.shape == (5, 2)
    assert repr(tower).splitlines()[:3] == ["Tower(", "  (layers): ModuleList(",
                                            "    (0): Linear(in_features=4, out_features=3, bias=True)"]
    with pytest.raises(NotImplementedError, match="ModuleList must implement forward"):
        tower.layers(y)


def test_module_list_behaves_as_a_python_list():
    mods = _linears(1, 2, 3, 4, 5, 6)  # five Linears
    ml = nn.ModuleList(mods[:2])
    assert len(nn.ModuleList()) == 0 and len(ml) == 2
    assert ml.append(mods[2]) is ml and ml.extend(mods[3:]) is ml
    assert list(ml) == mods and ml[-1] is mods[-1]
    part = ml[1:4]
    assert isinstance(part, nn.ModuleList) and list(part) == mods[1:4] and _keys(part) == ["0", "1", "2"]
    ml[0] = nn.ReLU()
    assert isinstance(ml[0], nn.ReLU) and _keys(ml) == ["0", "1", "2", "3", "4"]  # replaced in its place
    del ml[0]
    assert list(ml) == mods[1:] and _keys(ml) == ["0", "1", "2", "3"]
    del ml[-2:]
    assert list(ml) == mods[1:3]
    ml.insert(0, mods[0])
    ml.insert(100, mods[4])  # past the end: at the end, as list.insert
    ml.insert(-1, mods[3])
    ml.insert(-100, nn.ReLU())  # before the start: at the start
    assert list(ml)[1:] == mods and _keys(ml) == ["0", "1", "2", "3", "4", "5"]
    assert isinstance(ml.pop(0), nn.ReLU) and ml.pop() is mods[4]
    assert mods[0] in ml and mods[4] not in ml and nn.ReLU() not in ml
    ml += [mods[4]]
    joined = ml + nn.ModuleList([nn.ReLU()])
    assert len(joined) == 6 and joined[4] is mods[4] and len(ml) == 5
    assert list(ml.state_dict())[-2:] == ["4.weight", "4.bias"]


def test_module_list_keeps_attributes_in_step_with_its_children():
    ml = nn.ModuleList(_linears(1, 2, 3, 4))
    del ml[0]
    assert getattr(ml, "0") is ml[0] and getattr(ml, "1") is ml[1] and not hasattr(ml, "2")
    assert [n for n, _ in ml.named_children()] == ["0", "1"]


# --- ModuleDict -----------------------------------------------------------------------------------------


def test_module_dict_names_its_children_by_key_in_insertion_order():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.blocks = nn.ModuleDict({"conv": nn.Conv2d(1, 2, 3), "act": nn.ReLU(), "fc": nn.Linear(2, 2)})

    net = Net()
    assert list(net.state_dict()) == ["blocks.conv.weight", "blocks.conv.bias", "blocks.fc.weight", "blocks.fc.bias"]
    assert list(net.blocks) == ["conv", "act", "fc"] and list(net.blocks.keys()) == ["conv", "act", "fc"]


def test_module_dict_mapping_methods():
    a, b, c = _linears(1, 2, 3, 4)
    md = nn.ModuleDict([("a", a), ("b", b)])
    assert md["a"] is a and "b" in md and "z" not in md and 3 not in md and len(md) == 2
    md["c"] = c
    md["a"] = nn.ReLU()  # replaced in place: its position is kept
    assert list(md) == ["a", "b", "c"] and isinstance(md["a"], nn.ReLU)
    assert list(md.values())[1:] == [b, c] and [k for k, _ in md.items()] == ["a", "b", "c"]
    del md["b"]
    assert list(md) == ["a", "c"] and not hasattr(md, "b")
    assert md.pop("c") is c and list(md) == ["a"]
    md.update({"x": a, "y": b})
    md.update([("z", c)])
    md.update(nn.ModuleDict({"w": nn.ReLU()}))
    assert list(md) == ["a", "x", "y", "z", "w"] and md.z is c
    md.clear()
    assert len(md) == 0 and list(md.state_dict()) == [] and not hasattr(md, "x")
    with pytest.raises(KeyError, match="ModuleDict: no module named 'x'"):
        md["x"]


def test_module_dict_update_is_all_or_nothing():
    md = nn.ModuleDict({"a": nn.ReLU()})
    with pytest.raises(TypeError, match=r"^ModuleDict.update: key 'c' has type int, not a Module$"):
        md.update([("b", nn.ReLU()), ("c", 3)])
    assert list(md) == ["a"]


# --- bad arguments: one row per case (what is done, exception, message) ----------------------------------


def _seq():
    return nn.Sequential(nn.ReLU(), nn.ReLU())


def _ml():
    return nn.ModuleList([nn.ReLU(), nn.ReLU()])


def _md():
    return nn.ModuleDict({"act": nn.ReLU()})


def _setitem(container, key, value):
    container[key] = value


def _delitem(container, key):
    del container[key]


def _iadd(container, other):
    container += other


CONTAINER_ROWS = [
    # Sequential
    ("seq-getitem-str", lambda: _seq()["0"], TypeError,
     r"^Sequential.__getitem__: index must be an int or a slice, got '0'$"),
    ("seq-getitem-float", lambda: _seq()[1.0], TypeError, r"^Sequential.__getitem__: index must be an int .*got 1.0$"),
    ("seq-getitem-bool", lambda: _seq()[True], TypeError, r"^Sequential.__getitem__: index must be an int .*got True$"),
    ("seq-getitem-out", lambda: _seq()[2], IndexError,
     r"^Sequential.__getitem__: index 2 is out of range for 2 modules$"),
    ("seq-setitem-str-value", lambda: _setitem(_seq(), 0, "relu"), TypeError,
     r"^Sequential.__setitem__: index 0 has type str, not a Module$"),
    ("seq-setitem-None", lambda: _setitem(_seq(), -1, None), TypeError,
     r"^Sequential.__setitem__: index 1 has type NoneType, not a Module$"),
    ("seq-setitem-slice", lambda: _setitem(_seq(), slice(0, 1), nn.ReLU()), TypeError,
     r"^Sequential.__setitem__: index must be an int \(assign one module at a time\)"),
    ("seq-setitem-out", lambda: _setitem(_seq(), 5, nn.ReLU()), IndexError,
     r"^Sequential.__setitem__: index 5 is out of range for 2 modules$"),
    ("seq-delitem-out", lambda: _delitem(_seq(), -3), IndexError,
     r"^Sequential.__delitem__: index -3 is out of range for 2 modules$"),
    ("seq-delitem-str", lambda: _delitem(_seq(), "0"), TypeError,
     r"^Sequential.__delitem__: index must be an int or a slice, got '0'$"),
    ("seq-append-int", lambda: _seq().append(3), TypeError,
     r"^Sequential.add_module: child '2' has type int, not a Module$"),
    ("seq-extend-one-module", lambda: _seq().extend(nn.ReLU()), TypeError,
     r"^Sequential.extend: expected an iterable of Modules \(a list, a ModuleList\), got type ReLU$"),
    ("seq-extend-str", lambda: _seq().extend("relu"), TypeError,
     r"^Sequential.extend: expected an iterable .*got type str$"),
    ("seq-extend-bad-item", lambda: _seq().extend([nn.ReLU(), np.zeros(2)]), TypeError,
     r"^Sequential.extend: item 3 has type ndarray, not a Module$"),
    ("seq-insert-str-value", lambda: _seq().insert(0, "relu"), TypeError,
     r"^Sequential.insert: index 0 has type str, not a Module$"),
    ("seq-insert-out", lambda: _seq().insert(3, nn.ReLU()), IndexError,
     r"^Sequential.insert: index 3 is out of range for 2 modules$"),
    ("seq-insert-float-index", lambda: _seq().insert(1.5, nn.ReLU()), TypeError,
     r"^Sequential.insert: index must be an int or a slice, got 1.5$"),
    ("seq-pop-slice", lambda: _seq().pop(slice(1)), TypeError, r"^Sequential.pop: index must be an int"),
    ("seq-add-list", lambda: _seq() + [nn.ReLU()], TypeError,
     r"^Sequential \+ list: only a Sequential can be added to a Sequential$"),
    ("seq-iadd-int", lambda: _iadd(_seq(), 3), TypeError, r"^Sequential.extend: expected an iterable .*got type int$"),
    # ModuleList
    ("ml-init-module", lambda: nn.ModuleList(nn.ReLU()), TypeError,
     r"^ModuleList: expected an iterable of Modules \(a list, a ModuleList\), got type ReLU$"),
    ("ml-init-dict", lambda: nn.ModuleList({"a": nn.ReLU()}), TypeError,
     r"^ModuleList: expected an iterable .*got type dict$"),
    ("ml-init-int", lambda: nn.ModuleList(3), TypeError, r"^ModuleList: expected an iterable .*got type int$"),
    ("ml-init-bad-item", lambda: nn.ModuleList([nn.ReLU(), "relu"]), TypeError,
     r"^ModuleList: item 1 has type str, not a Module$"),
    ("ml-init-None-item", lambda: nn.ModuleList([None]), TypeError,
     r"^ModuleList: item 0 has type NoneType, not a Module$"),
    ("ml-getitem-str", lambda: _ml()["0"], TypeError,
     r"^ModuleList.__getitem__: index must be an int or a slice, got '0'$"),
    ("ml-getitem-out", lambda: _ml()[-3], IndexError,
     r"^ModuleList.__getitem__: index -3 is out of range for 2 modules$"),
    ("ml-getitem-nan", lambda: _ml()[float("nan")], TypeError,
     r"^ModuleList.__getitem__: index must be an int .*got nan$"),
    ("ml-setitem-int-value", lambda: _setitem(_ml(), 1, 7), TypeError,
     r"^ModuleList.__setitem__: index 1 has type int, not a Module$"),
    ("ml-setitem-out", lambda: _setitem(_ml(), 2, nn.ReLU()), IndexError,
     r"^ModuleList.__setitem__: index 2 is out of range"),
    ("ml-delitem-bool", lambda: _delitem(_ml(), False), TypeError,
     r"^ModuleList.__delitem__: index must be an int .*got False$"),
    ("ml-append-str", lambda: _ml().append("relu"), TypeError,
     r"^ModuleList.append: index 2 has type str, not a Module$"),
    ("ml-append-class", lambda: _ml().append(nn.ReLU), TypeError,
     r"^ModuleList.append: index 2 has type type, not a Module$"),
    ("ml-extend-bad-item", lambda: _ml().extend([nn.ReLU(), 1.0]), TypeError,
     r"^ModuleList.extend: item 3 has type float, not a Module$"),
    ("ml-insert-str-index", lambda: _ml().insert("0", nn.ReLU()), TypeError,
     r"^ModuleList.insert: index must be an int, got '0'$"),
    ("ml-insert-bool-index", lambda: _ml().insert(True, nn.ReLU()), TypeError,
     r"^ModuleList.insert: index must be an int"),
    ("ml-insert-bad-value", lambda: _ml().insert(-1, [nn.ReLU()]), TypeError,
     r"^ModuleList.insert: index 1 has type list, not a Module$"),
    ("ml-pop-out", lambda: _ml().pop(2), IndexError, r"^ModuleList.__getitem__: index 2 is out of range"),
    ("ml-iadd-module", lambda: _iadd(_ml(), nn.ReLU()), TypeError,
     r"^ModuleList.extend: expected an iterable .*got type ReLU$"),
    ("ml-add-bad-item", lambda: _ml() + [None], TypeError,
     r"^ModuleList.__add__: item 2 has type NoneType, not a Module$"),
    # ModuleDict
    ("md-init-list-of-modules", lambda: nn.ModuleDict([nn.ReLU()]), TypeError,
     r"^ModuleDict: element 0 must be a \(name, Module\) pair, got type ReLU$"),
    ("md-init-triple", lambda: nn.ModuleDict([("a", nn.ReLU(), 1)]), ValueError,
     r"^ModuleDict: element 0 must be a \(name, Module\) pair, got 3 items$"),
    ("md-init-str", lambda: nn.ModuleDict("ab"), TypeError,
     r"^ModuleDict: expected a mapping of name -> Module or an iterable of \(name, Module\) pairs, got type str$"),
    ("md-init-module", lambda: nn.ModuleDict(nn.ReLU()), TypeError,
     r"^ModuleDict: expected a mapping .*got type ReLU$"),
    ("md-init-bad-value", lambda: nn.ModuleDict({"a": "relu"}), TypeError,
     r"^ModuleDict: key 'a' has type str, not a Module$"),
    ("md-init-dotted-key", lambda: nn.ModuleDict({"a.b": nn.ReLU()}), ValueError,
     r"^ModuleDict: a child's name must be non-empty and without '\.', got 'a\.b'$"),
    ("md-init-empty-key", lambda: nn.ModuleDict({"": nn.ReLU()}), ValueError,
     r"^ModuleDict: a child's name must be non-empty"),
    ("md-init-int-key", lambda: nn.ModuleDict({1: nn.ReLU()}), TypeError,
     r"^ModuleDict: a child's name must be a str, got 1$"),
    ("md-init-method-key", lambda: nn.ModuleDict({"keys": nn.ReLU()}), KeyError,
     r"ModuleDict: 'keys' is already an attribute of ModuleDict"),
    ("md-setitem-int-value", lambda: _setitem(_md(), "x", 1), TypeError,
     r"^ModuleDict.__setitem__: key 'x' has type int, not a Module$"),
    ("md-setitem-None", lambda: _setitem(_md(), "act", None), TypeError,
     r"^ModuleDict.__setitem__: key 'act' has type NoneType, not a Module$"),
    ("md-setitem-bool-key", lambda: _setitem(_md(), True, nn.ReLU()), TypeError,
     r"^ModuleDict.__setitem__: a child's name must be a str, got True$"),
    ("md-setitem-attribute-key", lambda: _setitem(_md(), "training", nn.ReLU()), KeyError,
     r"ModuleDict.__setitem__: 'training' is already an attribute of ModuleDict"),
    ("md-setitem-dotted", lambda: _setitem(_md(), "a.b", nn.ReLU()), ValueError,
     r"^ModuleDict.__setitem__: a child's name must be non-empty and without '\.'"),
    ("md-getitem-missing", lambda: _md()["x"], KeyError, r"ModuleDict: no module named 'x'"),
    ("md-getitem-attribute", lambda: _md()["training"], KeyError, r"ModuleDict: no module named 'training'"),
    ("md-delitem-missing", lambda: _delitem(_md(), "x"), KeyError, r"ModuleDict.__delitem__: no module named 'x'"),
    ("md-delitem-attribute", lambda: _delitem(_md(), "_modules"), KeyError,
     r"ModuleDict.__delitem__: no module named '_modules'"),
    ("md-pop-missing", lambda: _md().pop("x"), KeyError, r"ModuleDict.pop: no module named 'x'"),
    ("md-update-int", lambda: _md().update(3), TypeError, r"^ModuleDict.update: expected a mapping .*got type int$"),
    ("md-update-None", lambda: _md().update(None), TypeError,
     r"^ModuleDict.update: expected a mapping .*got type NoneType$"),
    ("md-update-pair-str", lambda: _md().update(["ab"]), TypeError,
     r"^ModuleDict.update: element 0 must be a \(name, Module\) pair, got type str$"),
    ("md-update-single", lambda: _md().update([("a",)]), ValueError,
     r"^ModuleDict.update: element 0 must be a \(name, Module\) pair, got 1 items$"),
    ("md-update-bad-value", lambda: _md().update({"act": 3}), TypeError, r"^ModuleDict.update: key 'act' has type int"),
]


@pytest.mark.parametrize("action, error, message", [pytest.param(a, e, m, id=i) for i, a, e, m in CONTAINER_ROWS])
def test_containers_refuse_bad_arguments_naming_the_method_and_the_argument(action, error, message):
    with pytest.raises(error, match=message):
        action()
