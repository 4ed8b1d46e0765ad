"""TensorDataset, Subset, ConcatDataset and random_split: PyTorch's semantics, load passed through, the
DataLoader over them (also with 'spawn' workers, which pickle them), and a table of hostile arguments."""
import pickle
import warnings

import numpy as np
import pytest

import tinynet
from tests.data.loader_datasets import Numbers
from tinynet.data import ConcatDataset, DataLoader, Subset, TensorDataset, random_split
from tinynet.data.dataset import split_lengths


def _xy(n=10):
    return np.arange(n * 2, dtype=np.float32).reshape(n, 2), np.arange(n) % 3


def test_tensor_dataset_rows_from_arrays_and_tensors():
    x, y = _xy()
    ds = TensorDataset(tinynet.tensor(x), y)
    assert len(ds) == 10 and repr(ds) == "TensorDataset((10, 2), (10,))"
    a, b = ds[3]
    np.testing.assert_array_equal(a, x[3])
    assert b == y[3]
    np.testing.assert_array_equal(ds[-1][0], x[9])
    assert ds[np.int64(2)][1] == y[2]
    assert all(isinstance(t, np.ndarray) for t in ds.tensors)


def test_subset_and_concat_index_and_pass_load_through():
    base = Numbers(10)
    sub = Subset(base, np.array([7, 2, 2]))
    assert sub.indices == [7, 2, 2] and len(sub) == 3 and len(Subset(base, [])) == 0
    x, y = sub.load(0, np.random.default_rng(0))
    assert x[0] == 7 and x[1] == np.random.default_rng(0).random() and y == 1
    t = TensorDataset(*_xy(4))
    assert Subset(t, range(1, 3))[-1][1] == 2
    cat = ConcatDataset([t, Subset(t, [0]), t])
    assert len(cat) == 9 and cat.cumulative_sizes == [4, 5, 9]
    assert [int(cat[i][1]) for i in range(9)] == [0, 1, 2, 0, 0, 0, 1, 2, 0] and cat[-5][1] == 0
    both = ConcatDataset([Numbers(2), sub])
    assert both.load(3, np.random.default_rng(0))[0][0] == 2  # sub's sample 1 is base's 2


def test_random_split_by_counts_and_by_fractions_with_pytorchs_remainder_rule():
    ds = TensorDataset(*_xy(10))
    parts = random_split(ds, [3, 7], generator=np.random.default_rng(1))
    order = np.random.default_rng(1).permutation(10).tolist()
    assert [p.indices for p in parts] == [order[:3], order[3:]]
    assert split_lengths(10, [0.5, 0.25, 0.25]) == [6, 2, 2]  # 5, 2, 2 and the remainder 1 to part 0
    assert split_lengths(11, [0.3, 0.3, 0.4]) == [4, 3, 4]  # 3, 3, 4: the remainder 1 to part 0
    assert split_lengths(3, [1 / 3] * 3) == [1, 1, 1]
    with pytest.warns(UserWarning, match=r"random_split: part 2 of the split is empty"):
        assert split_lengths(4, [0.5, 0.3, 0.2]) == [3, 1, 0]
    tinynet.manual_seed(5)
    a = [p.indices for p in random_split(ds, [0.5, 0.5])]
    tinynet.manual_seed(5)
    assert a == [p.indices for p in random_split(ds, [0.5, 0.5])]  # manual_seed fixes the default generator
    assert sorted(a[0] + a[1]) == list(range(10))


@pytest.mark.parametrize("context", ["spawn", "fork"])
def test_the_loader_batches_them_in_worker_processes_as_in_this_one(context):
    x, y = _xy(12)
    train, val = random_split(TensorDataset(x, y), [0.75, 0.25], generator=np.random.default_rng(0))
    for ds in [TensorDataset(tinynet.tensor(x), y), train, ConcatDataset([train, val]),
               Subset(Numbers(9), [8, 0, 4])]:
        pickle.loads(pickle.dumps(ds))
        serial = list(DataLoader(ds, batch_size=4, shuffle=True, seed=2))
        parallel = list(DataLoader(ds, batch_size=4, shuffle=True, seed=2, num_workers=2, mp_context=context))
        assert len(serial) == len(parallel) > 0
        for (a, b), (c, d) in zip(serial, parallel):
            np.testing.assert_array_equal(a, c)
            np.testing.assert_array_equal(b, d)
    got = np.concatenate([b for _, b in DataLoader(train, batch_size=4)])
    np.testing.assert_array_equal(got, y[train.indices])


T = TensorDataset(*_xy(4))
HOSTILE = [  # (call, exception, message)
    (lambda: TensorDataset(), ValueError, r"TensorDataset needs at least one tensor"),
    (lambda: TensorDataset(np.zeros(3), np.zeros(4)), ValueError,
     r"TensorDataset: tensors must have the same first dimension .*tensors\[0\] has 3, tensors\[1\] has 4"),
    (lambda: TensorDataset(np.zeros(3), [1, 2, 3]), TypeError,
     r"TensorDataset: tensors\[1\] must be a tinynet Tensor or an array, got list"),
    (lambda: TensorDataset(np.float32(1)), ValueError, r"TensorDataset: tensors\[0\] is 0-d"),
    (lambda: T[4], IndexError, r"TensorDataset index 4 is out of range: the dataset holds 4 samples"),
    (lambda: T[-5], IndexError, r"TensorDataset index -5 is out of range"),
    (lambda: T[1.0], TypeError, r"TensorDataset index must be an int, got float 1\.0"),
    (lambda: T[True], TypeError, r"TensorDataset index must be an int, got bool True"),
    (lambda: T["0"], TypeError, r"TensorDataset index must be an int, got str '0'"),
    (lambda: Subset(T, [0, -1]), IndexError, r"Subset: indices\[1\] is -1, outside 0\.\.3"),
    (lambda: Subset(T, [4]), IndexError, r"Subset: indices\[0\] is 4, outside 0\.\.3 \(the dataset holds 4"),
    (lambda: Subset(T, [0, 1.0]), TypeError, r"Subset: indices\[1\] must be an int, got float 1\.0"),
    (lambda: Subset(T, [True]), TypeError, r"Subset: indices\[0\] must be an int, got bool True"),
    (lambda: Subset(T, np.array([True, False, True, False])), TypeError, r"Subset: indices must be ints, got a "
                                                                          r"boolean mask"),
    (lambda: Subset(T, 3), TypeError, r"Subset: indices must be a sequence of ints .*, got int"),
    (lambda: Subset(T, "01"), TypeError, r"Subset: indices must be a sequence of ints .*, got str"),
    (lambda: Subset([1, 2], [0]), TypeError, r"Subset: dataset must be a dataset .*, got list"),
    (lambda: Subset(T, [1])[1], IndexError, r"Subset index 1 is out of range"),
    (lambda: Subset(T, [])[0], IndexError, r"Subset index 0 is out of range: it is empty"),
    (lambda: ConcatDataset([]), ValueError, r"ConcatDataset: datasets must not be empty"),
    (lambda: ConcatDataset(T), TypeError, r"ConcatDataset: datasets must be a list of datasets, got TensorDataset"),
    (lambda: ConcatDataset(5), TypeError, r"ConcatDataset: datasets must be a list of datasets, got int"),
    (lambda: ConcatDataset([T, 3]), TypeError, r"ConcatDataset: datasets\[1\] must be a dataset .*, got int"),
    (lambda: ConcatDataset([T, np.zeros(3)]), TypeError, r"ConcatDataset: datasets\[1\] must be a dataset .*"
                                                         r"got ndarray"),
    (lambda: ConcatDataset([T])[4], IndexError, r"ConcatDataset index 4 is out of range"),
    (lambda: ConcatDataset([T])[0.5], TypeError, r"ConcatDataset index must be an int, got float"),
    (lambda: random_split(T, [2, 1]), ValueError, r"random_split: lengths \[2, 1\] sum to 3, but the dataset "
                                                  r"holds 4 samples"),
    (lambda: random_split(T, [5, -1]), ValueError, r"random_split: lengths\[1\] must be >= 0, got -1"),
    (lambda: random_split(T, [0.5, 0.4]), ValueError, r"random_split: fractions \[0\.5, 0\.4\] must sum to 1, "
                                                      r"got 0\.9"),
    (lambda: random_split(T, [1.5, -0.5]), ValueError, r"random_split: lengths\[0\] must be a fraction from 0 "
                                                       r"to 1, got 1\.5"),
    (lambda: random_split(T, [float("nan"), 1.0]), ValueError, r"random_split: lengths\[0\] must be a fraction"),
    (lambda: random_split(T, [True, 3]), TypeError, r"random_split: lengths\[0\] must be an int or a fraction, "
                                                    r"got bool True"),
    (lambda: random_split(T, ["2", 2]), TypeError, r"random_split: lengths\[0\] must be an int or a fraction"),
    (lambda: random_split(T, []), ValueError, r"random_split: lengths must not be empty"),
    (lambda: random_split(T, 4), TypeError, r"random_split: lengths must be a list of ints or of fractions, "
                                            r"got int"),
    (lambda: random_split(T, [2, 2], generator=0), TypeError, r"random_split: generator must be a NumPy "
                                                              r"Generator .*, got int"),
    (lambda: random_split("abcd", [2, 2]), TypeError, r"random_split: dataset must be a dataset .*, got str"),
]


@pytest.mark.parametrize("call, error, message", HOSTILE, ids=[m[:40] for _, _, m in HOSTILE])
def test_hostile_arguments_are_refused_naming_the_class_and_argument(call, error, message):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(error, match=message):
            call()


def test_dataset_base_class():
    from tinynet.data import ConcatDataset, Dataset

    class Squares(Dataset):
        def __len__(self):
            return 3

        def __getitem__(self, i):
            return np.full(2, i * i, np.float32), i

    both = Squares() + Squares()
    assert isinstance(both, ConcatDataset) and len(both) == 6 and both[4][1] == 1
    assert isinstance(TensorDataset(np.zeros((2, 1))), Dataset)
    with pytest.raises(NotImplementedError, match="Bare must implement __getitem__"):
        type("Bare", (Dataset,), {})()[0]
