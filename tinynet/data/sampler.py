"""DistributedSampler: each of R processes takes its share of one global order, as PyTorch's does.

For epoch e, every rank computes the same global order of the N samples (shuffled with
``np.random.default_rng([seed, e]).permutation(N)``, the DataLoader's own rule, or 0 .. N-1), then:

    padding (drop_last False)   the order is extended by repeating it from its start up to a multiple of
                                R: total = ceil(N / R) * R, so every rank gets ceil(N / R) samples
    drop_last True              it is cut to floor(N / R) * R: every rank gets floor(N / R), a few dropped
    rank r takes                order[r], order[r + R], order[r + 2R], ... (every R-th from r)

So the ranks' shares are disjoint (apart from the padding's repeats) and together are the whole epoch,
and a batch of b on each of R ranks holds, at step k, the samples a single process with batch R x b would
hold at step k, spread over the ranks. The DataLoader that takes it (``DataLoader(ds, sampler=s)``) tells
it the pass's epoch (``set_epoch``) before each pass, so its order follows the loader's epoch, and each
sample keeps its own generator ``default_rng([loader seed, epoch, index])``: augmentations do not depend on
which rank loads the sample.
"""
import math

import numpy as np

from tinynet.validate import is_int

__all__ = ["DistributedSampler"]


class DistributedSampler:
    """Rank ``rank``'s share of each epoch's order of ``dataset`` among ``num_replicas`` processes.

    num_replicas, rank  default: the process group's world size and rank (1 and 0 without one)
    shuffle, seed       a new order each epoch from (seed, epoch); the same seed on every rank
    drop_last           cut the tail instead of padding by repetition

    ``len(sampler)`` is the number of indices each rank takes per epoch; ``iter(sampler)`` yields them for the
    epoch last given to ``set_epoch`` (0 at first); ``indices(epoch)`` gives them for any epoch.
    """

    def __init__(self, dataset, num_replicas=None, rank=None, shuffle=True, seed=0, drop_last=False):
        if num_replicas is None or rank is None:
            from tinynet import distributed

            num_replicas = distributed.get_world_size() if num_replicas is None else num_replicas
            rank = distributed.get_rank() if rank is None else rank
        for name, value, low in (("num_replicas", num_replicas, 1), ("rank", rank, 0), ("seed", seed, 0)):
            if not is_int(value) or value < low:
                raise ValueError(f"DistributedSampler: {name} must be an int >= {low}, got {value!r}")
        if rank >= num_replicas:
            raise ValueError(f"DistributedSampler: rank {rank} is not below num_replicas {num_replicas} "
                             f"(ranks are 0 .. {num_replicas - 1})")
        for name, value in (("shuffle", shuffle), ("drop_last", drop_last)):
            if not isinstance(value, (bool, np.bool_)):
                raise ValueError(f"DistributedSampler: {name} must be True or False, got {value!r}")
        try:
            n = len(dataset)
        except TypeError:
            raise TypeError(f"DistributedSampler: the dataset must have a len(), got {type(dataset).__name__}") from None
        self.dataset, self.num_replicas, self.rank, self.seed = dataset, int(num_replicas), int(rank), int(seed)
        self.shuffle, self.drop_last, self.epoch = bool(shuffle), bool(drop_last), 0
        if self.drop_last and n < self.num_replicas:
            raise ValueError(f"DistributedSampler: drop_last with {n} samples for {self.num_replicas} ranks "
                             "leaves every rank nothing")
        self.num_samples = n // self.num_replicas if self.drop_last else math.ceil(n / self.num_replicas)
        self.total_size = self.num_samples * self.num_replicas

    def set_epoch(self, epoch):
        """The epoch whose order ``iter`` gives (the DataLoader calls it before each pass)."""
        if not is_int(epoch) or epoch < 0:
            raise ValueError(f"DistributedSampler.set_epoch: epoch must be an int >= 0, got {epoch!r}")
        self.epoch = int(epoch)

    def indices(self, epoch):
        """This rank's indices for ``epoch``: int64 (len(self),)."""
        n = len(self.dataset)
        order = np.random.default_rng([self.seed, epoch]).permutation(n) if self.shuffle else np.arange(n)
        if self.total_size > n:  # padding: the order again from its start, as often as needed
            order = np.resize(order, self.total_size)
        return order[self.rank:self.total_size:self.num_replicas].astype(np.int64, copy=False)

    def __iter__(self):
        return iter(self.indices(self.epoch).tolist())

    def __len__(self):
        return self.num_samples

    def __repr__(self):
        return (f"DistributedSampler(rank {self.rank} of {self.num_replicas}, {len(self.dataset)} samples, "
                f"shuffle={self.shuffle}, seed={self.seed}, drop_last={self.drop_last})")
