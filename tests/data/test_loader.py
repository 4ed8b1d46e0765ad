"""DataLoader: batching, seeded order and augmentation, skipped files, bad targets, and worker processes
that stop cleanly: with the consumer, on Ctrl-C, when one of them is killed, and when their parent is.

The datasets live in tests/data/loader_datasets.py, top-level so 'spawn' workers can import them.
Every wait on a loader that could hang is bounded (``_within``), so a regression fails instead of hanging.
"""
import contextlib
import multiprocessing
import os
import pickle
import signal
import re
import subprocess
import sys
import threading
import time
import warnings

import numpy as np
import pytest
from PIL import Image
from tqdm import tqdm

from tests.conftest import CUDA_SKIP_REASON
from tests.data.loader_datasets import Big, Dying, Failing, Holding, Labelled, Marking, Numbers, Stuck
from tests.data.test_folder import make_mixed_folder
import tinynet
from tinynet.data import DataLoader, DataLoaderError, ImageFolder, TensorDataset
from tinynet.data import transforms as T

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _all(loader):
    """Every batch of a pass, as host NumPy copies."""
    return [(x.numpy(), y.numpy()) for x, y in loader]


def _assert_gone(pids):
    """No worker left: not running, not a zombie (join reaped it)."""
    assert multiprocessing.active_children() == []
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


@contextlib.contextmanager
def _within(seconds, what):
    """Fail (TimeoutError) if the block takes longer than ``seconds``: SIGALRM interrupts a hung wait."""
    def hung(signum, frame):
        raise TimeoutError(f"{what} took more than {seconds} s: the loader hung")

    previous = signal.signal(signal.SIGALRM, hung)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _worker_pids():
    """The pids of this process's loader workers, by worker number."""
    by_name = {p.name: p.pid for p in multiprocessing.active_children()}
    return [by_name[name] for name in sorted(by_name) if name.startswith("tinynet-data-worker-")]


def _running(pid):
    """Whether process ``pid`` runs (a zombie, dead and waiting for its new parent to reap it, does not)."""
    if not os.path.isdir("/proc"):
        try:
            os.kill(pid, 0)
            return True
        except ProcessLookupError:
            return False
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (FileNotFoundError, ProcessLookupError):
        return False


def test_batches_in_order_without_shuffle():
    loader = DataLoader(Numbers(10), batch_size=4)
    batches = _all(loader)
    assert len(loader) == len(batches) == 3
    assert [x[:, 0].tolist() for x, _ in batches] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    x, y = batches[0]
    assert x.dtype == np.float32 and x.shape == (4, 2) and y.dtype == np.int64 and y.tolist() == [0, 1, 2, 0]


def test_batches_are_tensors_a_model_takes():
    from tinynet import nn

    x, y = next(iter(DataLoader(Numbers(6), batch_size=3, num_workers=0)))
    assert isinstance(x, tinynet.Tensor) and isinstance(y, tinynet.Tensor)
    assert x.dtype == np.float32 and y.dtype == np.int64 and not x.requires_grad
    loss = tinynet.functional.cross_entropy(nn.Linear(2, 3)(x), y)  # as a PyTorch user writes it
    loss.backward()
    assert np.asarray(y).tolist() == [0, 1, 2]


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


def _order(loader):
    return np.concatenate([x[:, 0] for x, _ in loader]).astype(int).tolist()


def test_each_pass_without_set_epoch_takes_the_next_epoch():
    n = 30
    loader = DataLoader(Numbers(n), batch_size=8, shuffle=True, seed=3)
    passes = [_order(loader) for _ in range(3)]
    assert passes[0] != passes[1] != passes[2]  # a fresh order each pass, as PyTorch's shuffling
    for epoch, order in enumerate(passes):  # pass k is epoch k: a pure function of (seed, epoch)
        assert order == np.random.default_rng([3, epoch]).permutation(n).tolist()
    assert loader.epoch == 3
    loader.set_epoch(1)
    assert _order(loader) == passes[1] and _order(loader) == passes[2]  # set_epoch pins, then it counts on
    it_a, it_b = iter(loader), iter(loader)  # the epoch is taken when iter() is called, in call order
    assert _order(it_b) == np.random.default_rng([3, 4]).permutation(n).tolist()
    assert _order(it_a) == np.random.default_rng([3, 3]).permutation(n).tolist()
    assert loader.batch_indices(0)[0].tolist() == passes[0][:8]


def test_the_same_seed_gives_the_same_passes_across_loaders_and_num_workers():
    def passes(**kwargs):
        loader = DataLoader(Numbers(20), batch_size=6, shuffle=True, seed=7, mp_context="fork", **kwargs)
        return [_all(loader) for _ in range(2)]

    reference = passes()
    for kwargs in [{}, {"num_workers": 2}, {"workers": 1}, {"num_workers": 1, "workers": 1}]:
        for ours, theirs in zip(passes(**kwargs), reference):
            assert len(ours) == len(theirs)
            for (a, b), (c, d) in zip(ours, theirs):  # the order and every sample's generator
                np.testing.assert_array_equal(a, c)
                np.testing.assert_array_equal(b, d)
    _assert_gone([])


def test_num_workers_and_its_alias_workers():
    assert DataLoader(Numbers(3)).num_workers == 0 and DataLoader(Numbers(3), num_workers=None).num_workers == 0
    assert DataLoader(Numbers(3), num_workers=2).workers == 2 and DataLoader(Numbers(3), workers=2).num_workers == 2
    assert DataLoader(Numbers(3), 1, False, 0, 3).num_workers == 3  # num_workers is where workers was


def test_a_sample_that_is_not_an_input_target_pair_is_explained():
    from tinynet.data import TensorDataset

    with pytest.raises(TypeError, match=r"DataLoader: sample 0 is a tuple of 1 items; it batches \(input, class "
                                        r"index\) pairs"):
        _all(DataLoader(TensorDataset(np.zeros((3, 2))), batch_size=2))


def test_corrupt_files_are_skipped_with_one_warning_each(tmp_path):
    expected, corrupt = make_mixed_folder(tmp_path / "data")
    loader = DataLoader(ImageFolder(tmp_path / "data", T.ToArray()), batch_size=4)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        batches = _all(loader)
    messages = [str(w.message) for w in caught]
    assert len(messages) == 2 and all(sum(p in m for m in messages) == 1 for p in corrupt)
    assert all("cannot decode" in m for m in messages)
    assert sorted(w.filename for w in caught) == [f"<skipped image {p}>" for p in corrupt]
    assert {w.category for w in caught} == {UserWarning}
    assert loader.skipped == corrupt
    assert sum(len(y) for _, y in batches) == len(expected)  # the epoch completed with every good image
    assert all(x.shape[1:] == (3, 6, 8) and x.dtype == np.float32 for x, _ in batches)
    loader.set_epoch(1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert sum(len(y) for _, y in loader) == len(expected)
    assert caught == [] and loader.skipped == corrupt  # once per file; the list does not repeat


def _through_generator(it):
    for item in it:  # as tqdm's __iter__ does: the loader's caller is this frame, not the user's code
        yield item


@pytest.mark.parametrize("wrap", [_through_generator, lambda it: tqdm(it, disable=True)], ids=["generator", "tqdm"])
def test_the_skip_warning_points_at_the_skipped_file_through_a_wrapper(tmp_path, wrap):
    _, corrupt = make_mixed_folder(tmp_path / "data")
    loader = DataLoader(ImageFolder(tmp_path / "data", T.ToArray()), batch_size=4)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in wrap(loader):
            pass
    # Named in <...>: the warning printer never opens a file of that name for a source line.
    assert sorted((w.filename, w.lineno) for w in caught) == [(f"<skipped image {path}>", 0) for path in corrupt]
    assert all(str(w.message).startswith(f"DataLoader: skipping {w.filename[15:-1]}: cannot decode it (")
               for w in caught)


def test_a_fifo_among_the_images_is_skipped_and_its_warning_printed(tmp_path):
    # A FIFO named *.png: load_rgb refuses it, and printing the warning must not open it either (the
    # printer reads the warning's file for a source line: it blocked forever on the FIFO). A child
    # process, so that a hang is a timeout here, not a hung test run.
    (tmp_path / "cat").mkdir()
    Image.new("RGB", (4, 4)).save(tmp_path / "cat" / "a.png")
    os.mkfifo(tmp_path / "cat" / "zz.png")
    script = ("import sys; from tinynet.data import DataLoader, ImageFolder, transforms as T; "
              "print(sum(len(y) for _, y in DataLoader(ImageFolder(sys.argv[1], T.ToArray()), batch_size=2)))")
    done = subprocess.run([sys.executable, "-W", "always", "-c", script, str(tmp_path)], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == "1", done.stderr
    assert "skipping" in done.stderr and "zz.png" in done.stderr and "not a regular file" in done.stderr


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


@pytest.mark.parametrize("workers, context", [(1, "spawn"), (2, "spawn"), (2, "fork"), (2, "forkserver"), (2, None)])
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
    # A shell that starts a job in the background makes it ignore SIGINT, and Python keeps that; here
    # Ctrl-C must raise KeyboardInterrupt as in a terminal, whatever started the test run.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        _ctrl_c_during_iteration(capfd)
    finally:
        signal.signal(signal.SIGINT, previous)


def _ctrl_c_during_iteration(capfd):
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
    with pytest.raises(DataLoaderError, match=r"(?s)worker tinynet-data-worker-0 \(pid \d+\) failed on batch 2 "
                       r"\(samples \[4, 5\]\).*ZeroDivisionError: sample five"):
        _all(loader)
    _assert_gone([])


def test_a_killed_worker_is_reported_not_waited_for():
    loader = DataLoader(Dying(4), batch_size=2, workers=1)
    with pytest.raises(DataLoaderError, match=r"worker tinynet-data-worker-0 \(pid \d+\) was killed by signal 9 "
                       r"\(SIGKILL; out of memory\?\) with batch 0 \(samples \[0, 1\]\) still to deliver"):
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


ARGUMENT_CASES = [  # (DataLoader keyword arguments, exception, message)
    ({"batch_size": 0}, ValueError, r"batch_size must be an int >= 1, got 0"),
    ({"batch_size": 2.5}, ValueError, r"batch_size must be an int >= 1, got 2\.5"),
    ({"workers": -1}, ValueError, r"workers must be an int >= 0, got -1"),
    ({"num_workers": -1}, ValueError, r"num_workers must be an int >= 0, got -1"),
    ({"num_workers": 1.0}, ValueError, r"num_workers must be an int >= 0, got 1\.0"),
    ({"num_workers": 2.5}, ValueError, r"num_workers must be an int >= 0, got 2\.5"),
    ({"num_workers": True}, ValueError, r"num_workers must be an int >= 0, got True"),
    ({"num_workers": "2"}, ValueError, r"num_workers must be an int >= 0, got '2'"),
    ({"workers": False}, ValueError, r"workers must be an int >= 0, got False"),
    ({"workers": "2"}, ValueError, r"workers must be an int >= 0, got '2'"),
    ({"num_workers": 2, "workers": 3}, ValueError, r"num_workers=2 and workers=3 disagree; give num_workers only"),
    ({"num_workers": 0, "workers": 2}, ValueError, r"num_workers=0 and workers=2 disagree"),
    ({"prefetch": 0}, ValueError, r"prefetch must be an int >= 1, got 0"),
    ({"seed": -1}, ValueError, r"seed must be an int >= 0, got -1"),
    ({"timeout": float("nan")}, ValueError, r"timeout must be a finite number of seconds >= 0 .*, got nan"),
    ({"timeout": -1}, ValueError, r"timeout must be a finite number of seconds >= 0 .*, got -1"),
    ({"timeout": "5"}, ValueError, r"timeout must be a finite number of seconds >= 0 .*, got '5'"),
    ({"timeout": float("inf")}, ValueError, r"timeout must be a finite number of seconds >= 0 .*, got inf"),
    ({"timeout": True}, ValueError, r"timeout must be a finite number of seconds >= 0 .*, got True"),
    ({"mp_context": "thread"}, ValueError, r"mp_context must be None .* or one of \[.*'spawn'.*\], got 'thread'"),
    ({"mp_context": "none"}, ValueError, r"mp_context must be None \(the default: '(forkserver|spawn)' here\) or one "
                                         r"of \[.*'spawn'.*\], got 'none'"),
]


@pytest.mark.parametrize("kwargs, error, message", ARGUMENT_CASES)
def test_arguments_are_checked(kwargs, error, message):
    with pytest.raises(error, match="DataLoader: " + message):
        DataLoader(Numbers(3), **kwargs)


def test_set_epoch_is_checked_and_the_dataset_stays_picklable():
    with pytest.raises(ValueError, match="epoch must be an int >= 0"):
        DataLoader(Numbers(3)).set_epoch(-1)
    with pytest.raises(ValueError, match="DataLoader.set_epoch: epoch must be an int >= 0, got True"):
        DataLoader(Numbers(3)).set_epoch(True)
    pickle.dumps(DataLoader(Numbers(3)).dataset)


def test_timeout_defaults_to_120_s_and_0_or_none_means_no_limit():
    assert DataLoader(Numbers(3)).timeout == 120.0 and DataLoader(Numbers(3), timeout=np.float32(2.5)).timeout == 2.5
    assert DataLoader(Numbers(3), timeout=0).timeout is None and DataLoader(Numbers(3), timeout=None).timeout is None


TARGET_CASES = [  # (target of sample 1, workers, exception, message)
    ("cat", 0, TypeError, r"sample 1 has target 'cat' \(str\); expected an int class index .*ImageFolder's "
                          r"class_to_idx"),
    ("cat", 1, DataLoaderError, r"(?s)failed on batch 0 \(samples \[0, 1, 2\]\).*TypeError: DataLoader: sample 1 "
                                r"has target 'cat' \(str\); expected an int class index .*class_to_idx"),
    (None, 0, TypeError, r"sample 1 has target None \(NoneType\); expected an int class index"),
    (None, 1, DataLoaderError, r"(?s)failed on batch 0.*TypeError: DataLoader: sample 1 has target None"),
    (b"cat", 0, TypeError, r"sample 1 has target b'cat' \(bytes\); expected an int class index .*class_to_idx"),
    (True, 0, TypeError, r"sample 1 has target True \(bool\); expected an int class index .*, not a bool"),
    (np.bool_(False), 0, TypeError, r"sample 1 has target (np\.)?False_? \(bool_?\); .*not a bool"),
    (2.5, 0, ValueError, r"sample 1 has target 2\.5 \(float\), not a whole number; expected an int class index"),
    (np.float32(0.5), 0, ValueError, r"sample 1 has target .*0\.5.* \(float32\), not a whole number"),
    (float("nan"), 0, ValueError, r"sample 1 has target nan \(float\), not a whole number"),
    (float("inf"), 0, ValueError, r"sample 1 has target inf \(float\), not a whole number"),
    (2**64, 0, ValueError, r"sample 1 has target 18446744073709551616 \(int\), outside int64"),
    (np.array([1, 2]), 0, TypeError, r"sample 1 has target array\(\[1, 2\]\) \(ndarray\); expected an int class"),
    ([1], 0, TypeError, r"sample 1 has target \[1\] \(list\); expected an int class index"),
]


@pytest.mark.parametrize("target, workers, error, message", TARGET_CASES)
def test_a_target_that_is_no_class_index_is_refused_naming_the_sample(target, workers, error, message):
    loader = DataLoader(Labelled([0, target, 2]), batch_size=3, workers=workers, mp_context="fork", timeout=30)
    with _within(30, "loading the batch"):
        with pytest.raises(error, match=message):
            _all(loader)
    _assert_gone([])


def test_a_batch_that_never_arrives_times_out_naming_the_batch_and_the_worker():
    loader = DataLoader(Stuck(4), batch_size=2, workers=1, mp_context="fork", timeout=1)
    with _within(15, "the timeout of 1 s"):
        with pytest.raises(DataLoaderError, match=r"batch 0 \(samples \[0, 1\]\) did not arrive from worker "
                           r"tinynet-data-worker-0 \(pid \d+\) within the timeout of 1 s; .*"
                           r"DataLoader\(timeout=\.\.\.\) or `tinynet train --loader-timeout SECONDS` \(0: no limit\)"):
            _all(loader)
    _assert_gone([])


KILLS = [  # (start method, worker killed, when): "stalled" while the consumer pauses, so the worker is blocked
    # halfway through sending a batch (8 MiB against a 64 KiB pipe); "waiting" 0.1 s into the epoch, from
    # another thread, while the main process receives
    ("spawn", 1, "stalled"),
    ("fork", 0, "stalled"),
    ("fork", 1, "waiting"),
    ("spawn", 0, "waiting"),
    ("fork", 0, "waiting"),
]


@pytest.mark.parametrize("context, victim, when", KILLS)
def test_a_worker_killed_at_any_moment_is_reported_within_seconds(context, victim, when):
    loader = DataLoader(Big(400, 2**20, delay=0.01), batch_size=2, workers=2, mp_context=context)
    pids = []
    with _within(15, "detecting the killed worker"):
        with pytest.raises(DataLoaderError) as caught:
            for k, _ in enumerate(loader):
                if k == 0:
                    pids = _worker_pids()
                    if when == "stalled":
                        time.sleep(0.5)
                        os.kill(pids[victim], signal.SIGKILL)
                    else:
                        threading.Timer(0.1, os.kill, (pids[victim], signal.SIGKILL)).start()
    assert len(pids) == 2
    assert f"DataLoader worker tinynet-data-worker-{victim} (pid {pids[victim]}) was killed by signal 9" \
        in str(caught.value)
    _assert_gone(pids)


@pytest.mark.parametrize("context", ["spawn", "fork", "forkserver"])
def test_the_workers_exit_soon_after_their_parent_is_killed(tmp_path, context):
    pid_file = str(tmp_path / "pids")
    code = f"from tests.data.loader_datasets import load_and_stall; load_and_stall({pid_file!r}, {context!r})"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [ROOT, os.environ.get("PYTHONPATH")])))
    main = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=env)
    pids = []
    try:
        deadline = time.monotonic() + 60
        while not os.path.exists(pid_file):
            assert main.poll() is None, f"the script ended early with code {main.returncode}"
            assert time.monotonic() < deadline, "the script wrote no pids within 60 s"
            time.sleep(0.05)
        with open(pid_file) as f:
            pids = [int(p) for p in f.read().split()]
        assert len(pids) == 2 and all(_running(p) for p in pids)
        segments = _shm_segments(main.pid)
        if os.path.isdir("/dev/shm"):
            assert segments, "worker 0's shared-memory slots exist once its first batch has arrived"
        main.kill()  # SIGKILL: no finally, no atexit; one worker is stuck in the dataset, one in a send
        main.wait(timeout=10)
        deadline = time.monotonic() + 10
        while any(_running(p) for p in pids) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert [p for p in pids if _running(p)] == [], "workers outlived their parent by 10 s"
        # The resource tracker unlinks the slots of a process killed with SIGKILL.
        deadline = time.monotonic() + 10
        while _shm_segments(main.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _shm_segments(main.pid) == [], "shared-memory slots outlived the killed loader by 10 s"
    finally:
        if main.poll() is None:
            main.kill()
            main.wait(timeout=10)
        for p in pids:
            if _running(p):
                os.kill(p, signal.SIGKILL)


def _shm_segments(pid):
    """The shared-memory slots of the loader in process ``pid`` (tinynet/data/shm.py names them tn<pid>...)."""
    try:
        return sorted(n for n in os.listdir("/dev/shm") if re.match(rf"tn{pid}w\d+s", n))
    except FileNotFoundError:
        return []


def test_batches_after_each_workers_first_come_through_shared_memory(monkeypatch):
    # Every batch equals the one loaded in-process; all but each worker's first (which sizes its slots)
    # arrive as a slot message; no slot is left once the pass ends.
    from tinynet.data import shm

    arrived = []
    original = shm.Slots.read

    def counting(self, i, msg):
        arrived.append(i)
        return original(self, i, msg)

    monkeypatch.setattr(shm.Slots, "read", counting)
    want = _all(DataLoader(Big(24, 2**16), batch_size=2, num_workers=0))
    got = _all(DataLoader(Big(24, 2**16), batch_size=2, num_workers=2))
    assert len(got) == len(want) == 12
    for (gx, gy), (wx, wy) in zip(got, want):
        np.testing.assert_array_equal(gx, wx)
        np.testing.assert_array_equal(gy, wy)
    assert len(arrived) >= 6  # 12 batches: the first of each worker and those sent before its slots existed by pipe
    assert _shm_segments(os.getpid()) == []


def test_without_room_in_dev_shm_batches_go_through_the_pipes(monkeypatch):
    from tinynet.data import shm

    monkeypatch.setattr(shm, "_room_for", lambda nbytes: False)
    with pytest.warns(RuntimeWarning, match="too little free space .*docker run --shm-size"):
        got = _all(DataLoader(Big(8, 2**16), batch_size=2, num_workers=2))
    want = _all(DataLoader(Big(8, 2**16), batch_size=2, num_workers=0))
    assert all(np.array_equal(g[0], w[0]) for g, w in zip(got, want)) and len(got) == 4
    assert _shm_segments(os.getpid()) == []


def test_a_batch_larger_than_its_slot_comes_through_the_pipe():
    from tinynet.data import shm

    slots = shm.Slots(2, "w99")
    slots.ensure(128)
    try:
        i, slot = slots.take()
        x, y = np.ones((4, 8), np.float32), np.arange(4)
        assert shm.write_batch({}, slot, x, y, []) is None  # 128 + 32 bytes do not fit in 128
        small = np.ones((2, 2), np.float32), np.arange(2)
        attached = {}
        msg = shm.write_batch(attached, slot, *small, [("a.jpg", "bad")])
        for seg in attached.values():
            seg.close()
        (gx, gy, skipped, affine), freed = slots.read(i, msg)
        np.testing.assert_array_equal(gx, small[0])
        np.testing.assert_array_equal(gy, small[1])
        assert skipped == [("a.jpg", "bad")] and affine is None and sorted(slots.free) == [0, 1] and freed
    finally:
        slots.release()
    assert _shm_segments(os.getpid()) == []


def test_uint8_pixels_are_read_in_their_slot_which_stays_taken_until_given_back():
    # A finished float batch is copied out and its slot freed at once; uint8 pixels (with their affine map)
    # are a view of the slot, which stays out of use until the caller gives it back.
    from tinynet.data import shm

    slots = shm.Slots(2, "w98")
    slots.ensure(1024)
    try:
        i, slot = slots.take()
        pixels, y = np.arange(96, dtype=np.uint8).reshape(2, 3, 4, 4), np.arange(2)
        affine = np.ones((2, 2, 3), np.float32)
        attached = {}
        msg = shm.write_batch(attached, slot, pixels, y, [], affine)
        (gx, gy, _, ga), freed = slots.read(i, msg)
        assert not freed and slots.free == [1 - i]
        np.testing.assert_array_equal(gx, pixels)
        np.testing.assert_array_equal(ga, affine)
        y_before = gy.copy()
        attached[slot[0]].buf[:8] = b"\xff" * 8  # a worker writing the slot again changes the view, not y
        assert gx.ravel()[0] == 255 and np.array_equal(gy, y_before)
        slots.give_back(i)
        assert sorted(slots.free) == [0, 1]
        for seg in attached.values():
            seg.close()
        del gx
    finally:
        slots.release()
    assert _shm_segments(os.getpid()) == []


@pytest.mark.parametrize("context", ["spawn", "fork"])
def test_persistent_workers_serve_every_complete_pass_with_the_same_batches(context):
    import gc

    kept = DataLoader(Numbers(10), batch_size=3, shuffle=True, seed=4, num_workers=2, persistent_workers=True,
                      mp_context=context)
    fresh = DataLoader(Numbers(10), batch_size=3, shuffle=True, seed=4, num_workers=0)
    first = [x.numpy() for x, _ in kept]
    pids = _worker_pids()
    assert len(pids) == 2  # still running between passes
    second = [x.numpy() for x, _ in kept]
    assert _worker_pids() == pids  # the same processes
    for got, want in zip(first + second, [x.numpy() for x, _ in fresh] + [x.numpy() for x, _ in fresh]):
        np.testing.assert_array_equal(got, want)  # epochs 0 and 1, as without workers
    for _ in kept:  # a pass left early stops them, as without persistent_workers
        break
    _assert_gone(pids)
    list(kept)
    pids = _worker_pids()
    kept.close()
    _assert_gone(pids)
    list(kept)
    pids = _worker_pids()
    del kept
    gc.collect()
    _assert_gone(pids)
    assert _shm_segments(os.getpid()) == []


def test_a_kept_worker_that_died_between_passes_is_replaced():
    loader = DataLoader(Numbers(8), batch_size=2, num_workers=2, persistent_workers=True)
    list(loader)
    pids = _worker_pids()
    os.kill(pids[0], signal.SIGKILL)
    time.sleep(0.2)
    assert len(list(loader)) == 4  # a new set of workers
    assert _worker_pids() != pids
    loader.close()
    with pytest.raises(ValueError, match="DataLoader: persistent_workers must be True or False, got 'yes'"):
        DataLoader(Numbers(8), persistent_workers="yes")


def test_workers_start_with_sigint_blocked_and_the_parents_mask_is_restored():
    # Ctrl-C to the whole job while a worker boots printed that worker's KeyboardInterrupt traceback
    # (3 of 28 tries): SIGINT is now blocked in a worker from its first instruction.
    if not hasattr(signal, "pthread_sigmask") or not os.path.exists(f"/proc/{os.getpid()}/status"):
        pytest.skip("needs POSIX signal masks and /proc to read a process's mask")
    before = signal.pthread_sigmask(signal.SIG_BLOCK, set())
    loader = DataLoader(Numbers(40, delay=0.05), batch_size=2, workers=1)
    for _ in loader:
        (worker,) = [p for p in multiprocessing.active_children() if p.name.startswith("tinynet-data-worker-")]
        with open(f"/proc/{worker.pid}/status") as f:
            blocked = int(next(line for line in f if line.startswith("SigBlk:")).split()[1], 16)
        break
    assert blocked & (1 << (signal.SIGINT - 1))
    assert signal.pthread_sigmask(signal.SIG_BLOCK, set()) == before


def test_batches_finished_on_the_device_equal_the_hosts(device, tmp_path):
    # device="cuda": the uint8 batch and its affine map go to the GPU and are finished there (one kernel);
    # the values are the host's.
    from PIL import Image

    from tinynet.data import transforms as T

    rng = np.random.default_rng(0)
    for c in range(2):
        os.makedirs(tmp_path / f"c{c}")
        for k in range(3):
            Image.fromarray(rng.integers(0, 256, (40, 48, 3), dtype=np.uint8)).save(tmp_path / f"c{c}" / f"{k}.png")
    data = ImageFolder(str(tmp_path), T.train_transform(32))
    floats = TensorDataset(rng.standard_normal((7, 3, 4)).astype(np.float32), np.arange(7) % 3)  # not split
    for ds, workers in [(data, 0), (data, 1), (floats, 0)]:
        loader = DataLoader(ds, batch_size=4, seed=1, device=device, workers=workers, persistent_workers=workers > 0)
        got = [batch for _ in range(2) for batch in loader]  # all kept first: no batch shares a reused buffer
        host = DataLoader(ds, batch_size=4, seed=1)
        want = [(x.numpy(), y.numpy()) for _ in range(2) for x, y in host]  # epochs 0 and 1, as on the device
        assert len(got) == len(want) == 4
        for (x, y), (hx, hy) in zip(got, want):
            assert x.device == device and y.device == device and x.dtype == np.float32
            np.testing.assert_array_equal(x.numpy(), hx)
            np.testing.assert_array_equal(y.numpy(), hy)
        loader.close()
    with pytest.raises(ValueError, match="DataLoader: unknown device 'tpu'"):
        DataLoader(data, device="tpu")


def _images(tmp_path, n=4):
    from PIL import Image

    rng = np.random.default_rng(0)
    os.makedirs(tmp_path / "c0", exist_ok=True)
    for k in range(n):
        Image.fromarray(rng.integers(0, 256, (40, 48, 3), dtype=np.uint8)).save(tmp_path / "c0" / f"{k}.png")
    return str(tmp_path)


def test_only_datasets_that_hand_back_their_transforms_output_are_split(tmp_path):
    # A dataset that post-processes its transform's output keeps its own transform, whole.
    from PIL import Image

    from tinynet.data import transforms as T

    images = [Image.fromarray(np.full((40, 40, 3), k * 20, np.uint8)) for k in range(4)]

    class Flipped:
        def __init__(self):
            self.transform = T.Compose([T.CenterCrop(32), T.ToArray(), T.Normalize()])

        def __len__(self):
            return 4

        def __getitem__(self, i):
            return np.ascontiguousarray(self.transform(images[i])[:, ::-1]), i

    x, _ = next(iter(DataLoader(Flipped(), batch_size=4)))
    np.testing.assert_array_equal(x.numpy()[1], Flipped()[1][0])
    folder = ImageFolder(_images(tmp_path), T.Compose([T.CenterCrop(32), T.ToArray(), T.Normalize([0.5], [0.5])]))
    with pytest.raises(TypeError, match=r"Normalize expects an array \(\.\.\., 1, H, W\)"):  # as unsplit: not for RGB
        next(iter(DataLoader(folder, batch_size=2)))


@pytest.mark.parametrize("workers", [0, 2])
def test_a_transform_changed_after_the_loader_was_made_is_followed(tmp_path, workers):
    from tinynet.data import transforms as T

    data = ImageFolder(_images(tmp_path), T.train_transform(32))
    loader = DataLoader(data, batch_size=2, num_workers=workers, persistent_workers=workers > 0)
    assert next(iter(loader))[0].shape == (2, 3, 32, 32)
    list(loader)
    data.transform = T.eval_transform(24)
    assert [x.shape for x, _ in loader] == [(2, 3, 24, 24)] * 2
    loader.close()
    assert _shm_segments(os.getpid()) == []


def test_two_overlapping_passes_of_a_persistent_loader_leave_nothing(tmp_path):
    loader = DataLoader(Big(16, 2**12), batch_size=2, num_workers=2, persistent_workers=True)
    a, b = iter(loader), iter(loader)
    next(a)
    next(b)
    assert len(list(a)) == 7 and len(list(b)) == 7
    loader.close()
    assert multiprocessing.active_children() == [] and _shm_segments(os.getpid()) == []


def test_forked_workers_share_the_resource_tracker(tmp_path):
    # Forked workers must not start trackers of their own (they would warn about slots unlinked here).
    code = ("from tests.data.loader_datasets import Big\nfrom tinynet.data import DataLoader\n"
            "if __name__ == '__main__':\n"
            "    loader = DataLoader(Big(16, 2**12), batch_size=2, num_workers=2, mp_context='fork')\n"
            "    list(loader); list(loader)\n")
    script = tmp_path / "forked.py"
    script.write_text(code)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [ROOT, os.environ.get("PYTHONPATH")])))
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120, cwd=ROOT,
                          env=env)
    assert done.returncode == 0, done.stderr
    assert "resource_tracker" not in done.stderr and "leaked" not in done.stderr, done.stderr


@pytest.mark.skipif(not CUDA_SKIP_REASON, reason="checks the refusal where CuPy or a GPU is missing")
def test_device_cuda_without_cupy_is_refused_when_the_loader_is_made():
    with pytest.raises(ValueError, match="DataLoader: .*(CuPy|GPU)"):
        DataLoader(Numbers(4), device="cuda")


def test_device_batches_stay_whole_and_a_pass_left_early_does_not_spoil_the_next(monkeypatch, tmp_path):
    # device="cuda" with a stand-in for CuPy (tests/fake_cupy.py): each pass uploads one batch ahead through its
    # own buffers; batches kept by the caller are never overwritten, a pass broken off leaves nothing behind,
    # and two passes under way at once (zip) each get their own.
    from tests import fake_cupy
    from tinynet import backend
    from tinynet.data import transforms as T

    monkeypatch.setattr(backend, "cupy_or_raise", fake_cupy.module)
    data = ImageFolder(_images(tmp_path, 10), T.train_transform(32))
    host = [(x.numpy(), y.numpy()) for x, y in DataLoader(data, batch_size=3, seed=2)]
    loader = DataLoader(data, batch_size=3, seed=2)
    loader.device = "cuda"  # the stand-in is not importable as cupy: set after the check at construction
    for _ in range(2):
        loader.set_epoch(0)
        kept = [(x.numpy().copy(), x.numpy(), y.numpy()) for x, y in loader]
        assert len(kept) == len(host) == 4
        for (copied, live, y), (hx, hy) in zip(kept, host):
            np.testing.assert_array_equal(copied, hx)
            np.testing.assert_array_equal(live, hx)  # not overwritten by a later upload
            np.testing.assert_array_equal(y, hy)
        loader.set_epoch(0)
        next(iter(loader))  # left after one batch, with the next one sent ahead
    loader.set_epoch(0)
    a = iter(loader)
    loader.set_epoch(0)
    pairs = list(zip(a, iter(loader)))
    assert len(pairs) == 4 and all(np.array_equal(p[0][0].numpy(), p[1][0].numpy()) for p in pairs)
    assert loader.last_indices.tolist() == [9]


def test_the_default_start_method_keeps_a_forkserver_preload_list_the_program_set(tmp_path):
    if "forkserver" not in multiprocessing.get_all_start_methods():
        pytest.skip("this platform has no forkserver start method")
    code = ("import multiprocessing as mp\nfrom tests.data.loader_datasets import Numbers\n"
            "from tinynet.data import DataLoader\n"
            "if __name__ == '__main__':\n"
            "    mp.set_forkserver_preload(['json'])\n"
            "    assert len(list(DataLoader(Numbers(4), batch_size=2, num_workers=1))) == 2\n"
            "    print(mp.forkserver._forkserver._preload_modules)\n")
    script = tmp_path / "preload.py"
    script.write_text(code)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [ROOT, os.environ.get("PYTHONPATH")])))
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120, cwd=ROOT,
                          env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "['json']"
