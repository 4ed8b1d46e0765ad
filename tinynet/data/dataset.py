"""Datasets built from other data, as torch.utils.data names them: TensorDataset, Subset, ConcatDataset,
random_split.

    ds = TensorDataset(x, y)                      x (N, ...) inputs, y (N,) int class indices
    train, val = random_split(ds, [0.8, 0.2], generator=np.random.default_rng(0))
    both = ConcatDataset([train, val])            train's samples, then val's
    DataLoader(train, batch_size=32, shuffle=True, num_workers=2)

A dataset here is anything with ``len()`` and ``[i]`` (or ``load(i, rng)``, like ImageFolder, whose
random transforms draw from ``rng``): Subset and ConcatDataset pass ``load`` through to the datasets they
wrap, so augmentations stay seeded by the DataLoader's (seed, epoch, index). They hold only what they
were given, so a DataLoader with worker processes can pickle them ('spawn').

Indices follow Python's sequences: an int (NumPy ints too, never a bool or a float) from -len to len-1.
"""
import bisect
import math
import numbers
import operator
import warnings

import numpy as np

from tinynet import backend
from tinynet._tensor import Tensor
from tinynet.validate import is_int


def is_dataset(obj):
    """Whether ``obj`` can be read as a dataset: ``len()`` and ``[i]`` or ``load(i, rng)``."""
    return hasattr(obj, "__len__") and (hasattr(obj, "__getitem__") or hasattr(obj, "load")) \
        and not isinstance(obj, (str, bytes, np.ndarray, Tensor, list, tuple, dict))


def load_sample(dataset, i, rng):
    """Sample ``i`` of ``dataset``: ``dataset.load(i, rng)`` when it has one, else ``dataset[i]``."""
    return dataset.load(i, rng) if hasattr(dataset, "load") else dataset[i]


def _check_dataset(what, dataset):
    if not is_dataset(dataset):
        raise TypeError(f"{what} must be a dataset (with len() and [i] or load(i, rng)), got "
                        f"{type(dataset).__name__}")
    return dataset


def _index(cls, i, n):
    """``i`` as an int in 0..n-1 (negative counted from the end), or TypeError / IndexError naming ``cls``."""
    if not is_int(i):
        raise TypeError(f"{cls} index must be an int, got {type(i).__name__} {i!r}")
    i = operator.index(i)
    if not -n <= i < n:
        raise IndexError(f"{cls} index {i} is out of range: the dataset holds {n} samples "
                         f"(indices {-n} to {n - 1})" if n else f"{cls} index {i} is out of range: it is empty")
    return i % n


class Dataset:
    """The base class of a map-style dataset, as ``torch.utils.data.Dataset``: subclass it and write
    ``__getitem__(i)`` (one sample) and ``__len__``. ``a + b`` is ``ConcatDataset([a, b])``.

    Nothing requires it: the DataLoader takes any object with ``len()`` and ``[i]`` (or ``load(i, rng)``).
    """

    def __getitem__(self, i):
        raise NotImplementedError(f"{type(self).__name__} must implement __getitem__(self, i)")

    def __len__(self):
        raise NotImplementedError(f"{type(self).__name__} must implement __len__(self)")

    def __add__(self, other):
        return ConcatDataset([self, other])


class TensorDataset(Dataset):
    """Sample i is ``(tensors[0][i], tensors[1][i], ...)``: rows of arrays that share their first dimension N.

    tensors   tinynet Tensors or arrays (NumPy, CuPy), each (N, ...); kept as host NumPy arrays (a view
              of a NumPy-backed Tensor's data, a copy of a GPU one), so a sample is a tuple of NumPy rows.
              The DataLoader batches (input, class index) pairs: give TensorDataset(x, y) with y (N,) ints.
    """

    def __init__(self, *tensors):
        if not tensors:
            raise ValueError("TensorDataset needs at least one tensor, e.g. TensorDataset(x, y)")
        arrays = []
        for k, t in enumerate(tensors):
            data = t.data if isinstance(t, Tensor) else t
            if not hasattr(data, "shape") or not hasattr(data, "dtype"):
                raise TypeError(f"TensorDataset: tensors[{k}] must be a tinynet Tensor or an array, got "
                                f"{type(t).__name__}")
            if len(data.shape) == 0:
                raise ValueError(f"TensorDataset: tensors[{k}] is 0-d (a scalar); each needs a first "
                                 "dimension, one row per sample")
            arrays.append(backend.host(data))
        sizes = [a.shape[0] for a in arrays]
        if len(set(sizes)) > 1:
            listed = ", ".join(f"tensors[{k}] has {n}" for k, n in enumerate(sizes))
            raise ValueError(f"TensorDataset: tensors must have the same first dimension (one row per sample), "
                             f"but {listed}")
        self.tensors = tuple(arrays)

    def __len__(self):
        return self.tensors[0].shape[0]

    def __getitem__(self, i):
        i = _index("TensorDataset", i, len(self))
        return tuple(a[i] for a in self.tensors)

    def __repr__(self):
        return f"TensorDataset({', '.join(str(a.shape) for a in self.tensors)})"


class Subset(Dataset):
    """Sample i is ``dataset[indices[i]]`` (or ``dataset.load(indices[i], rng)``).

    indices   a sequence of ints 0 <= j < len(dataset) (a list, a range, a NumPy int array), kept as a
              list of ints; repeats are allowed, and an empty subset is one
    """

    def __init__(self, dataset, indices):
        self.dataset = _check_dataset("Subset: dataset", dataset)
        if isinstance(indices, (str, bytes, dict, set)) or not hasattr(indices, "__len__") \
                or not hasattr(indices, "__getitem__"):
            raise TypeError(f"Subset: indices must be a sequence of ints (a list, a range, an int array), got "
                            f"{type(indices).__name__}")
        if isinstance(indices, np.ndarray) and indices.dtype == bool:
            raise TypeError("Subset: indices must be ints, got a boolean mask; give np.flatnonzero(mask)")
        n = len(dataset)
        checked = []
        for k in range(len(indices)):
            j = indices[k]
            if not is_int(j):
                raise TypeError(f"Subset: indices[{k}] must be an int, got {type(j).__name__} {j!r}")
            if not 0 <= j < n:
                raise IndexError(f"Subset: indices[{k}] is {j}, outside 0..{n - 1} (the dataset holds {n} "
                                 "samples)")
            checked.append(int(j))
        self.indices = checked

    def __len__(self):
        return len(self.indices)

    def __getitem__(self, i):
        return self.dataset[self.indices[_index("Subset", i, len(self))]]

    def load(self, i, rng):
        return load_sample(self.dataset, self.indices[_index("Subset", i, len(self))], rng)

    def __repr__(self):
        return f"Subset({self.dataset!r}, {len(self.indices)} indices)"


class ConcatDataset(Dataset):
    """The samples of ``datasets[0]``, then those of ``datasets[1]``, ...

    cumulative_sizes   [len(datasets[0]), len(datasets[0]) + len(datasets[1]), ...], as PyTorch keeps it
    """

    def __init__(self, datasets):
        if isinstance(datasets, (str, bytes)) or not hasattr(datasets, "__iter__") or is_dataset(datasets):
            raise TypeError(f"ConcatDataset: datasets must be a list of datasets, got {type(datasets).__name__}")
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ConcatDataset: datasets must not be empty")
        for k, d in enumerate(self.datasets):
            _check_dataset(f"ConcatDataset: datasets[{k}]", d)
        self.cumulative_sizes = list(np.cumsum([len(d) for d in self.datasets], dtype=np.int64).tolist())

    def __len__(self):
        return self.cumulative_sizes[-1]

    def _locate(self, i):
        i = _index("ConcatDataset", i, len(self))
        d = bisect.bisect_right(self.cumulative_sizes, i)
        return self.datasets[d], i - (self.cumulative_sizes[d - 1] if d else 0)

    def __getitem__(self, i):
        dataset, j = self._locate(i)
        return dataset[j]

    def load(self, i, rng):
        dataset, j = self._locate(i)
        return load_sample(dataset, j, rng)

    def __repr__(self):
        return f"ConcatDataset({len(self.datasets)} datasets, {len(self)} samples)"


def split_lengths(n, lengths):
    """The sizes of random_split's parts of a dataset of ``n`` samples (see random_split)."""
    if isinstance(lengths, (str, bytes)) or not hasattr(lengths, "__iter__"):
        raise TypeError(f"random_split: lengths must be a list of ints or of fractions, got "
                        f"{type(lengths).__name__}")
    lengths = list(lengths)
    if not lengths:
        raise ValueError("random_split: lengths must not be empty")
    for k, v in enumerate(lengths):
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Real):
            raise TypeError(f"random_split: lengths[{k}] must be an int or a fraction, got {type(v).__name__} {v!r}")
    if all(is_int(v) for v in lengths):
        for k, v in enumerate(lengths):
            if v < 0:
                raise ValueError(f"random_split: lengths[{k}] must be >= 0, got {v}")
        if sum(lengths) != n:
            raise ValueError(f"random_split: lengths {lengths} sum to {sum(lengths)}, but the dataset holds {n} "
                             "samples (or give fractions that sum to 1)")
        return [int(v) for v in lengths]
    for k, v in enumerate(lengths):
        if not (math.isfinite(v) and 0 <= v <= 1):
            raise ValueError(f"random_split: lengths[{k}] must be a fraction from 0 to 1, got {v!r}")
    if not math.isclose(sum(lengths), 1):
        raise ValueError(f"random_split: fractions {lengths} must sum to 1, got {sum(lengths):g}")
    sizes = [math.floor(n * v) for v in lengths]
    for k in range(n - sum(sizes)):  # PyTorch's rule: the remainder one each to the parts, in order
        sizes[k % len(sizes)] += 1
    for k, size in enumerate(sizes):
        if size == 0:
            warnings.warn(f"random_split: part {k} of the split is empty ({lengths[k]!r} of {n} samples)",
                          UserWarning, stacklevel=3)
    return sizes


def random_split(dataset, lengths, generator=None):
    """Split ``dataset`` at random into Subsets of the given lengths, which share no sample.

    lengths    ints that sum to len(dataset), or fractions (any float among them) that sum to 1: part k
               gets floor(len * lengths[k]) samples, and the remainder goes one each to parts 0, 1, ...
    generator  a NumPy Generator (np.random.default_rng(seed)); None: tinynet's own, which
               tinynet.manual_seed(seed) fixes (backend.host_rng(), also behind parameter initialisation)

    The order is ``generator.permutation(len(dataset))``, cut into consecutive parts.
    """
    _check_dataset("random_split: dataset", dataset)
    sizes = split_lengths(len(dataset), lengths)
    if generator is None:
        generator = backend.host_rng()
    elif not isinstance(generator, np.random.Generator):
        raise TypeError(f"random_split: generator must be a NumPy Generator (np.random.default_rng(seed)) or "
                        f"None, got {type(generator).__name__}")
    order = generator.permutation(len(dataset)).tolist()
    ends = np.cumsum(sizes).tolist()
    return [Subset(dataset, order[end - size:end]) for size, end in zip(sizes, ends)]
