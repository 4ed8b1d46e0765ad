"""Containers of modules, as in PyTorch: Sequential, ModuleList, ModuleDict.

A container registers what it holds as its children, so their parameters and buffers are the
container's too, under dotted names: a ModuleList ``layers`` of Linears gives "layers.0.weight",
"layers.1.weight", ...; a ModuleDict ``blocks`` gives "blocks.conv.weight". Sequential and ModuleList
name their children "0", "1", ...; deleting or inserting one renumbers the rest (as PyTorch does),
so the names always run from 0. Each refuses what is not a Module (None included) with a TypeError
naming the container, the method, the index or key, and the type given.

Only Sequential has a ``forward`` (each child's output feeds the next); a ModuleList or a
ModuleDict is a place to keep modules that your own ``forward`` calls.
"""
import operator
from collections import OrderedDict
from collections.abc import Iterable, Mapping

from tinynet.nn.module import Module

__all__ = ["Sequential", "ModuleList", "ModuleDict"]


def _check_module(where, label, value):
    if not isinstance(value, Module):
        raise TypeError(f"{where}: {label} has type {type(value).__name__}, not a Module")
    return value


def _check_modules(where, modules, start=0):
    """``modules`` (an iterable of Modules: a list, a Sequential, a ModuleList; not a mapping, whose
    iteration gives names) as a list, each checked."""
    if (isinstance(modules, (Mapping, str)) or not isinstance(modules, Iterable)
            or (isinstance(modules, Module) and not isinstance(modules, _Indexed))):
        raise TypeError(f"{where}: expected an iterable of Modules (a list, a ModuleList), "
                        f"got type {type(modules).__name__}")
    modules = list(modules)
    for i, m in enumerate(modules):
        _check_module(where, f"item {start + i}", m)
    return modules


def _index(where, index, size, insert=False):
    """``index`` (an int, negative counts from the end) as a position in 0..size-1 (0..size to insert)."""
    try:
        i = operator.index(index)
    except TypeError:
        raise TypeError(f"{where}: index must be an int or a slice, got {index!r}") from None
    if isinstance(index, bool):
        raise TypeError(f"{where}: index must be an int or a slice, got {index!r}")
    high = size if insert else size - 1
    if not -size <= i <= high:
        raise IndexError(f"{where}: index {i} is out of range for {size} modules")
    return i + size if i < 0 else i


def _set_children(container, items):
    """Make ``items`` [(name, module)] the children of ``container``, in this order."""
    for name in list(container._modules):
        del container._modules[name]
        container.__dict__.pop(name, None)
    for name, m in items:
        container.add_module(name, m)


def _numbered(modules):
    return [(str(i), m) for i, m in enumerate(modules)]


class _Indexed(Module):
    """What Sequential and ModuleList share: children held in order, read and changed by position."""

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def __contains__(self, module):
        """True if this very module object is held (modules compare by identity)."""
        return any(m is module for m in self._modules.values())

    def __setitem__(self, index, module):
        where = f"{type(self).__name__}.__setitem__"
        if isinstance(index, slice):
            raise TypeError(f"{where}: index must be an int (assign one module at a time), got {index!r}")
        i = _index(where, index, len(self))
        _check_module(where, f"index {i}", module)
        setattr(self, list(self._modules)[i], module)

    def __delitem__(self, index):
        """Delete one module (an int) or several (a slice); the rest are renumbered 0, 1, ..."""
        where = f"{type(self).__name__}.__delitem__"
        items = list(self._modules.items())
        if isinstance(index, slice):
            doomed = set(range(len(items))[index])
        else:
            doomed = {_index(where, index, len(items))}
        _set_children(self, _numbered(m for i, (_, m) in enumerate(items) if i not in doomed))

    def append(self, module):
        """Add ``module`` at the end, named str(len(self)); returns self."""
        _check_module(f"{type(self).__name__}.append", f"index {len(self)}", module)
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules):
        """Append every module of the iterable ``modules`` (all checked before any is added); returns self."""
        for m in _check_modules(f"{type(self).__name__}.extend", modules, start=len(self)):
            self.add_module(str(len(self)), m)
        return self

    def pop(self, index=-1):
        """Remove the module at ``index`` (the last by default) and return it; the rest are renumbered."""
        if isinstance(index, slice):
            raise TypeError(f"{type(self).__name__}.pop: index must be an int, got {index!r}")
        module = self[index]
        del self[index]
        return module

    def __iadd__(self, modules):
        return self.extend(modules)


class Sequential(_Indexed):
    """``Sequential(m0, m1, ...)`` or ``Sequential(OrderedDict(name=module, ...))``: ``forward`` feeds
    each child's output to the next.

    ``seq[i]`` is a child (negative counts from the end), ``seq[a:b]`` a new Sequential holding the
    same module objects under their names; ``seq[i] = m`` replaces one, keeping its name; ``del seq[i]``,
    ``insert`` and ``pop`` renumber the children 0, 1, ... (as PyTorch: names of an OrderedDict are lost);
    ``append`` and ``extend`` add at the end; ``seq + other`` is a new Sequential of both, renumbered.
    """

    def __init__(self, *modules):
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], OrderedDict):
            for name, m in modules[0].items():
                self.add_module(name, m)
        else:
            for i, m in enumerate(modules):
                if not isinstance(m, Module):
                    raise TypeError(f"Sequential: argument {i} is of type {type(m).__name__}, not a Module")
                self.add_module(str(i), m)

    def forward(self, x):
        for m in self._modules.values():
            x = m(x)
        return x

    def __getitem__(self, index):
        items = list(self._modules.items())
        if isinstance(index, slice):
            return Sequential(OrderedDict(items[index]))
        return items[_index("Sequential.__getitem__", index, len(items))][1]

    def append(self, module):
        """Add ``module`` at the end, named str(len(self)); returns self."""
        self.add_module(str(len(self)), module)  # add_module names the child in its message
        return self

    def insert(self, index, module):
        """Put ``module`` before position ``index`` (-len..len); the children are renumbered; returns self."""
        where = "Sequential.insert"
        i = _index(where, index, len(self), insert=True)
        _check_module(where, f"index {i}", module)
        modules = list(self._modules.values())
        modules.insert(i, module)
        _set_children(self, _numbered(modules))
        return self

    def __add__(self, other):
        if not isinstance(other, Sequential):
            raise TypeError(f"Sequential + {type(other).__name__}: only a Sequential can be added to a Sequential")
        return Sequential(*self, *other)


class ModuleList(_Indexed):
    """A list of modules, registered as children "0", "1", ... (PyTorch's ``nn.ModuleList``).

    ``modules``: an iterable of Modules, or None for an empty list. Indexing as a Python list:
    ``ml[i]`` (negative counts from the end), ``ml[a:b]`` a new ModuleList (renumbered from 0),
    ``ml[i] = m``, ``del ml[i]`` / ``del ml[a:b]`` (the rest renumbered), ``insert``, ``append``,
    ``extend``, ``pop``, ``ml += modules``, ``ml + other`` (a new ModuleList), ``m in ml`` (identity).
    It has no ``forward``: loop over it in yours.
    """

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.extend(_check_modules("ModuleList", modules))

    def __getitem__(self, index):
        if isinstance(index, slice):
            return ModuleList(list(self._modules.values())[index])
        return self._modules[str(_index("ModuleList.__getitem__", index, len(self)))]

    def insert(self, index, module):
        """Put ``module`` before position ``index``, as ``list.insert`` (an index past either end
        inserts at that end); the children are renumbered."""
        where = "ModuleList.insert"
        try:
            i = operator.index(index)
        except TypeError:
            i = None
        if i is None or isinstance(index, bool):
            raise TypeError(f"{where}: index must be an int, got {index!r}")
        modules = list(self._modules.values())
        _check_module(where, f"index {min(max(i + len(modules) if i < 0 else i, 0), len(modules))}", module)
        modules.insert(i, module)
        _set_children(self, _numbered(modules))

    def __add__(self, other):
        return ModuleList(list(self) + _check_modules("ModuleList.__add__", other, start=len(self)))


class ModuleDict(Module):
    """Modules by name, registered as children in insertion order (PyTorch's ``nn.ModuleDict``).

    ``modules``: a mapping of name -> Module, an iterable of (name, Module) pairs, or None. A name
    follows add_module's rules: a non-empty str without '.', not an attribute of the ModuleDict
    ("keys", "forward", "training" are taken: KeyError). ``md[name]``, ``md[name] = m`` (a new name at
    the end, an old one replaced in place), ``del md[name]``, ``name in md``, ``len``, iteration over
    the names, ``keys()``, ``values()``, ``items()``, ``update``, ``pop``, ``clear``.
    It has no ``forward``.
    """

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self._update("ModuleDict", modules)

    def __getitem__(self, key):
        if not isinstance(key, str) or key not in self._modules:
            raise KeyError(f"ModuleDict: no module named {key!r}")
        return self._modules[key]

    def __setitem__(self, key, module):
        self._put("ModuleDict.__setitem__", key, module)

    def _put(self, where, key, module):
        if not (isinstance(key, str) and key in self._modules):  # a new name: add_module's rules
            _check_name_free(self, where, key)
        _check_module(where, f"key {key!r}", module)
        self.add_module(key, module)

    def __delitem__(self, key):
        if not isinstance(key, str) or key not in self._modules:
            raise KeyError(f"ModuleDict.__delitem__: no module named {key!r}")
        delattr(self, key)

    def __contains__(self, key):
        return key in self._modules

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules)

    def keys(self):
        return self._modules.keys()

    def values(self):
        return self._modules.values()

    def items(self):
        return self._modules.items()

    def pop(self, key):
        """Remove the module named ``key`` and return it."""
        if not isinstance(key, str) or key not in self._modules:
            raise KeyError(f"ModuleDict.pop: no module named {key!r}")
        module = self._modules[key]
        delattr(self, key)
        return module

    def clear(self):
        for key in list(self._modules):
            delattr(self, key)

    def update(self, modules):
        """Add or replace modules from a mapping (its order) or an iterable of (name, Module) pairs.

        Every entry is checked before any is added, so a bad one leaves the ModuleDict as it was.
        """
        self._update("ModuleDict.update", modules)

    def _update(self, where, modules):
        if isinstance(modules, (Mapping, ModuleDict)):
            pairs = list(modules.items())
        elif isinstance(modules, Iterable) and not isinstance(modules, (str, bytes, Module)):
            pairs = []
            for j, pair in enumerate(modules):
                if isinstance(pair, (str, bytes)) or not isinstance(pair, Iterable):
                    raise TypeError(f"{where}: element {j} must be a (name, Module) pair, got type "
                                    f"{type(pair).__name__}")
                pair = tuple(pair)
                if len(pair) != 2:
                    raise ValueError(f"{where}: element {j} must be a (name, Module) pair, got {len(pair)} items")
                pairs.append(pair)
        else:
            raise TypeError(f"{where}: expected a mapping of name -> Module or an iterable of (name, Module) "
                            f"pairs, got type {type(modules).__name__}")
        for key, module in pairs:  # all checked before any is added
            if not (isinstance(key, str) and key in self._modules):
                _check_name_free(self, where, key)
            _check_module(where, f"key {key!r}", module)
        for key, module in pairs:
            self.add_module(key, module)


def _check_name_free(container, where, key):
    """The checks ``add_module`` makes of a new name, but naming ``where``."""
    if not isinstance(key, str):
        raise TypeError(f"{where}: a child's name must be a str, got {key!r}")
    if not key or "." in key:
        raise ValueError(f"{where}: a child's name must be non-empty and without '.', got {key!r}")
    if hasattr(container, key):
        raise KeyError(f"{where}: {key!r} is already an attribute of {type(container).__name__}; choose another name")
