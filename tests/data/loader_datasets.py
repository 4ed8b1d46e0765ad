"""Datasets for the DataLoader tests, top-level so that 'spawn' workers (and a script) can import them.

``Numbers`` sample i is [i, u] with u the first draw of the sample's generator, so a batch shows both
which samples it holds and which generator each was given. ``load_and_stall`` is the main program
of a process that the tests kill.
"""
import multiprocessing
import os
import signal
import sys
import time

import numpy as np

from tinynet.data import CorruptImageError, DataLoader


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


class Stuck(Numbers):
    """A load that never returns (until the process is stopped)."""

    def load(self, i, rng):
        while True:
            time.sleep(1)


class Big(Numbers):
    """Sample i is ``floats`` float32 values i (4 MiB for 2**20): a batch is far larger than a pipe holds.

    Samples from ``stuck_from`` on never return; each sample takes ``delay`` seconds.
    """

    def __init__(self, n, floats, delay=0.0, stuck_from=None):
        super().__init__(n, delay=delay)
        self.floats, self.stuck_from = floats, stuck_from

    def load(self, i, rng):
        while self.stuck_from is not None and i >= self.stuck_from:
            time.sleep(1)
        time.sleep(self.delay)
        return np.full(self.floats, i, dtype=np.float32), i % 3


class Labelled:
    """Sample i is two zeros with target ``targets[i]``, whatever that is."""

    def __init__(self, targets):
        self.targets = list(targets)

    def __len__(self):
        return len(self.targets)

    def load(self, i, rng):
        return np.zeros(2), self.targets[i]


def load_and_stall(pid_file, context):
    """Start two workers and stop consuming, then write their pids to ``pid_file`` and wait to be killed.

    Worker 0 is then stuck inside the dataset (batch 2, samples 4 and 5, never returns) and worker 1
    blocked halfway through sending batch 1 (8 MiB, which nobody reads): one can end only through its
    watchdog, the other through its broken pipe. Gives up by itself after two minutes.
    """
    loader = DataLoader(Big(16, 2**20, stuck_from=4), batch_size=2, workers=2, mp_context=context)
    it = iter(loader)
    next(it)
    time.sleep(0.5)  # time to reach those two states
    pids = [p.pid for p in multiprocessing.active_children() if p.name.startswith("tinynet-data-worker-")]
    with open(pid_file + ".tmp", "w") as f:
        f.write(" ".join(map(str, pids)))
    os.replace(pid_file + ".tmp", pid_file)
    time.sleep(120)
    it.close()
    sys.exit(1)  # not killed: the test that started this has failed or gone
