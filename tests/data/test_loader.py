"""DataLoader: batching, seeded order and augmentation, skipped files, and worker processes that stop cleanly.

The datasets are top-level classes so 'spawn' workers can import them. ``Numbers`` sample i is
[i, u] with u the first draw of the sample's generator, so a batch shows both which samples it holds
and which generator each was given.
"""
import multiprocessing
import os
import pickle
import signal
import threading
import time
import warnings

import numpy as np
import pytest
from PIL import Image

from tests.data.test_folder import make_mixed_folder
from tinynet.data import CorruptImageError, DataLoader, ImageFolder
from tinynet.data import transforms as T


class Numbers:
    """n samples: sample i is float [i, rng.random()], target i % 3."""

    def __init__(self, n, bad=(), delay=0.0):
        self.n, self.bad, self.delay = n, set(bad), delay

    def __len__(self):
        return self.n

    def load(self, i, rng):
        if i in self.bad:
            raise CorruptImageError(f"/fake/{i}.jpg", "not an image")
        time.sleep(self.delay)
        return np.array([i, rng.random()]), i % 3


class Failing(Numbers):
    def load(self, i, rng):
        if i == 5:
            raise ZeroDivisionError("sample five is broken")
        return super().load(i, rng)


class Dying(Numbers):
    def load(self, i, rng):
        if multiprocessing.parent_process() is not None:  # only ever in a worker
            os.kill(os.getpid(), signal.SIGKILL)
        return super().load(i, rng)


class Marking(Numbers):
    """Leaves a file per sample loaded, so the test can count how far the workers ran ahead."""

    def __init__(self, n, folder):
        super().__init__(n)
        self.folder = folder

    def load(self, i, rng):
        open(os.path.join(self.folder, str(i)), "w").close()
        return super().load(i, rng)


class Holding(Numbers):
    """Not picklable: it keeps a lambda."""

    def __init__(self, n):
        super().__init__(n)
        self.f = lambda x: x


def _all(loader):
    return [(x.copy(), y.copy()) for x, y in loader]


def _assert_gone(pids):
    """No worker left: not running, not a zombie (join reaped it)."""
    assert multiprocessing.active_children() == []
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_batches_in_order_without_shuffle():
    loader = DataLoader(Numbers(10), batch_size=4)
    batches = _all(loader)
    assert len(loader) == len(batches) == 3
    assert [x[:, 0].tolist() for x, _ in batches] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    x, y = batches[0]
    assert x.dtype == np.float32 and x.shape == (4, 2) and y.dtype == np.int64 and y.tolist() == [0, 1, 2, 0]


def test_drop_last():
    loader = DataLoader(Numbers(10), batch_size=4, drop_last=True)
    assert len(loader) == 2 and [len(y) for _, y in loader] == [4, 4]
    assert len(DataLoader(Numbers(8), batch_size=4, drop_last=True)) == 2


def test_sample_generators_come_from_seed_epoch_index():
    loader = DataLoader(Numbers(7), batch_size=3, shuffle=True, seed=11)
    loader.set_epoch(4)
    for x, _ in loader:
        for i, u in x:
            assert u == np.float32(np.random.default_rng([11, 4, int(i)]).random())


def test_shuffle_from_seed_changes_with_epoch():
    n = 50

    def order(seed, epoch):
        loader = DataLoader(Numbers(n), batch_size=8, shuffle=True, seed=seed)
        loader.set_epoch(epoch)
        return np.concatenate([x[:, 0] for x, _ in loader]).astype(int)

    o = order(0, 0)
    assert sorted(o) == list(range(n)) and list(o) != list(range(n))  # each sample once, shuffled
    np.testing.assert_array_equal(o, np.random.default_rng([0, 0]).permutation(n))
    np.testing.assert_array_equal(o, order(0, 0))  # same seed, same order
    assert list(order(0, 1)) != list(o) and list(order(1, 0)) != list(o)  # new epoch or seed, new order
    loader = DataLoader(Numbers(n), batch_size=8, shuffle=True)
    first = _all(loader)
    for (a, b), (c, d) in zip(first, _all(loader)):  # iterating again without set_epoch repeats the epoch
        np.testing.assert_array_equal(a, c)
        np.testing.assert_array_equal(b, d)


def test_corrupt_files_are_skipped_with_one_warning_each(tmp_path):
    expected, corrupt = make_mixed_folder(tmp_path / "data")
    loader = DataLoader(ImageFolder(tmp_path / "data", T.ToArray()), batch_size=4)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        batches = _all(loader)
    messages = [str(w.message) for w in caught]
    assert len(messages) == 2 and all(sum(p in m for m in messages) == 1 for p in corrupt)
    assert all("cannot decode" in m for m in messages)
    assert loader.skipped == corrupt
    assert sum(len(y) for _, y in batches) == len(expected)  # the epoch completed with every good image
    assert all(x.shape[1:] == (3, 6, 8) and x.dtype == np.float32 for x, _ in batches)
    loader.set_epoch(1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert sum(len(y) for _, y in loader) == len(expected)
    assert caught == [] and loader.skipped == corrupt  # once per file; the list does not repeat


def test_a_batch_of_only_bad_samples_is_not_yielded():
    loader = DataLoader(Numbers(6, bad={2, 3}), batch_size=2)
    with pytest.warns(UserWarning) as caught:
        batches = _all(loader)
    assert ["/fake/2.jpg" in str(w.message) for w in caught] == [True, False]
    assert ["/fake/3.jpg" in str(w.message) for w in caught] == [False, True]
    assert [x[:, 0].tolist() for x, _ in batches] == [[0, 1], [4, 5]]
    assert loader.skipped == ["/fake/2.jpg", "/fake/3.jpg"]


def _augmented(tmp_path):
    make_mixed_folder(tmp_path / "data")
    tf = T.Compose([T.RandomCrop(4), T.RandomHorizontalFlip(), T.ToArray(), T.PCALighting(), T.Normalize()])
    return ImageFolder(tmp_path / "data", tf)


@pytest.mark.parametrize("workers, context", [(1, "spawn"), (2, "spawn"), (2, "fork")])
def test_same_batches_whatever_the_workers(tmp_path, workers, context):
    ds = _augmented(tmp_path)
    runs = {}
    for w in [0, workers]:
        loader = DataLoader(ds, batch_size=3, shuffle=True, seed=5, workers=w, prefetch=2, mp_context=context)
        loader.set_epoch(2)
        with warnings.catch_warnings(record=True):
            warnings.simplefilter("always")
            runs[w] = (_all(loader), loader.skipped)
    (serial, skipped0), (parallel, skipped1) = runs[0], runs[workers]
    assert len(serial) == len(parallel) and skipped0 == skipped1 and len(skipped0) == 2
    for (a, b), (c, d) in zip(serial, parallel):
        np.testing.assert_array_equal(a, c)
        np.testing.assert_array_equal(b, d)
    _assert_gone([])


def test_breaking_out_stops_the_workers():
    loader = DataLoader(Numbers(200, delay=0.01), batch_size=2, workers=2)
    for x, _ in loader:
        pids = [p.pid for p in multiprocessing.active_children()]
        break
    assert len(pids) == 2 and x[:, 0].tolist() == [0, 1]
    _assert_gone(pids)
    it = iter(loader)  # the same through an explicit close()
    next(it)
    pids = [p.pid for p in multiprocessing.active_children()]
    it.close()
    _assert_gone(pids)


def test_ctrl_c_stops_the_workers_quietly(capfd):
    loader = DataLoader(Numbers(400, delay=0.05), batch_size=2, workers=2)
    pids = []

    def ctrl_c():  # as a terminal does: SIGINT to every process of the job, the workers included
        for pid in pids:
            os.kill(pid, signal.SIGINT)
        time.sleep(0.3)  # time for a worker that did not ignore it to die noisily
        os.kill(os.getpid(), signal.SIGINT)

    with pytest.raises(KeyboardInterrupt):
        for k, _ in enumerate(loader):
            if k == 0:
                pids += [p.pid for p in multiprocessing.active_children()]
                threading.Timer(0.2, ctrl_c).start()
    assert len(pids) == 2
    _assert_gone(pids)
    assert "Traceback" not in capfd.readouterr().err  # the workers ignored it; the main process stopped them


def test_an_error_in_a_worker_is_raised_with_its_traceback():
    loader = DataLoader(Failing(12), batch_size=2, workers=2)
    with pytest.raises(RuntimeError, match=r"(?s)batch 2 \(samples \[4, 5\]\).*ZeroDivisionError: sample five"):
        _all(loader)
    _assert_gone([])


def test_a_killed_worker_is_reported_not_waited_for():
    loader = DataLoader(Dying(4), batch_size=2, workers=1)
    with pytest.raises(RuntimeError, match="killed by signal 9"):
        _all(loader)
    _assert_gone([])


def test_at_most_workers_times_prefetch_batches_in_flight(tmp_path):
    workers, prefetch, batch = 2, 2, 3
    loader = DataLoader(Marking(60, str(tmp_path)), batch_size=batch, workers=workers, prefetch=prefetch)
    it = iter(loader)
    next(it)
    time.sleep(0.5)  # give the workers every chance to run ahead
    loaded = len(os.listdir(tmp_path))
    it.close()
    assert batch <= loaded <= workers * prefetch * batch  # not all 60: the loader waits for its consumer


def test_unpicklable_dataset_is_explained():
    with pytest.raises(TypeError, match="must be picklable .* no lambdas"):
        _all(DataLoader(Holding(4), batch_size=2, workers=1))
    _assert_gone([])


def test_samples_must_be_arrays_of_one_shape(tmp_path):
    make_mixed_folder(tmp_path / "data")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(TypeError, match="dataset gave a Image; give it a transform that ends in ToArray"):
            _all(DataLoader(ImageFolder(tmp_path / "data"), batch_size=2))
    Image.new("RGB", (5, 5)).save(tmp_path / "data" / "cat" / "big.png")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ValueError, match=r"different shapes \[\(3, 5, 5\), \(3, 6, 8\)\]"):
            _all(DataLoader(ImageFolder(tmp_path / "data", T.ToArray()), batch_size=100))


def test_arguments_are_checked():
    for kw in [{"batch_size": 0}, {"workers": -1}, {"prefetch": 0}, {"seed": -1}, {"batch_size": 2.5}]:
        with pytest.raises(ValueError):
            DataLoader(Numbers(3), **kw)
    with pytest.raises(ValueError, match="epoch must be an int >= 0"):
        DataLoader(Numbers(3)).set_epoch(-1)
    pickle.dumps(DataLoader(Numbers(3)).dataset)
