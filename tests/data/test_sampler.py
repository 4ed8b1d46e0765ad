"""DistributedSampler: the ranks' shares of one global order, and the DataLoader driving it."""
import numpy as np
import pytest

from tinynet.data import DataLoader, DistributedSampler, TensorDataset


def _data(n):
    return TensorDataset(np.arange(n, dtype=np.float32).reshape(n, 1), np.arange(n) % 3)


@pytest.mark.parametrize("n, world, drop_last", [(10, 3, False), (10, 3, True), (9, 3, False), (2, 4, False),
                                                 (10, 1, False)])
def test_shares_are_every_worlds_th_sample_of_one_order_padded_by_repetition(n, world, drop_last):
    # As PyTorch's: the global order (seeded by (seed, epoch)), padded from its start up to a multiple of
    # the world size (or cut), rank r taking order[r::world].
    data = _data(n)
    shares = [DistributedSampler(data, world, r, seed=5, drop_last=drop_last) for r in range(world)]
    order = np.random.default_rng([5, 3]).permutation(n)
    per_rank = n // world if drop_last else -(-n // world)
    padded = np.resize(order, per_rank * world)
    for r, s in enumerate(shares):
        s.set_epoch(3)
        assert len(s) == per_rank and list(s) == padded[r::world].tolist() == s.indices(3).tolist()
    together = sorted(i for s in shares for i in s)
    if drop_last:
        assert len(set(together)) == len(together) == per_rank * world  # disjoint, the tail dropped
    else:
        assert set(together) == set(range(n))  # the whole epoch, the padding repeating a few


def test_a_loader_tells_its_sampler_the_epoch_and_batches_its_share():
    data = _data(11)
    loaders = [DataLoader(data, batch_size=2, sampler=DistributedSampler(data, 2, r, seed=1)) for r in range(2)]
    for epoch in (0, 1):
        got = [[b[0].numpy().ravel().astype(int).tolist() for b in loader] for loader in loaders]
        want = [DistributedSampler(data, 2, r, seed=1).indices(epoch).tolist() for r in range(2)]
        for r in range(2):
            assert sum(got[r], []) == want[r] and len(got[r]) == len(loaders[r]) == 3
        assert loaders[1].last_indices.tolist() == want[1][-2:]
    first = DistributedSampler(data, 2, 0, seed=1).indices(0).tolist()
    loaders[0].set_epoch(0)  # set_epoch pins the loader, and so the sampler
    assert sum([b[0].numpy().ravel().astype(int).tolist() for b in loaders[0]], []) == first


def test_without_a_process_group_a_sampler_is_rank_0_of_1():
    s = DistributedSampler(_data(5), shuffle=False)
    assert (s.num_replicas, s.rank, list(s)) == (1, 0, [0, 1, 2, 3, 4])


@pytest.mark.parametrize("kwargs, message", [
    ({"num_replicas": 0, "rank": 0}, "num_replicas must be an int >= 1, got 0"),
    ({"num_replicas": 2, "rank": 2}, r"rank 2 is not below num_replicas 2 \(ranks are 0 .. 1\)"),
    ({"num_replicas": 2, "rank": -1}, "rank must be an int >= 0, got -1"),
    ({"num_replicas": 2.0, "rank": 0}, "num_replicas must be an int >= 1, got 2.0"),
    ({"num_replicas": 2, "rank": True}, "rank must be an int >= 0, got True"),
    ({"num_replicas": 1, "rank": 0, "seed": -3}, "seed must be an int >= 0, got -3"),
    ({"num_replicas": 1, "rank": 0, "shuffle": "yes"}, "shuffle must be True or False, got 'yes'"),
    ({"num_replicas": 8, "rank": 0, "drop_last": True}, "drop_last with 5 samples for 8 ranks leaves every rank"),
])
def test_bad_arguments_are_refused_by_name(kwargs, message):
    with pytest.raises(ValueError, match="DistributedSampler: " + message):
        DistributedSampler(_data(5), **kwargs)


def test_bad_samplers_and_epochs_are_refused():
    data = _data(4)
    with pytest.raises(TypeError, match="DistributedSampler: the dataset must have a len"):
        DistributedSampler(object(), 1, 0)
    with pytest.raises(ValueError, match="set_epoch: epoch must be an int >= 0, got -1"):
        DistributedSampler(data, 1, 0).set_epoch(-1)
    with pytest.raises(ValueError, match=r"DataLoader: sampler is mutually exclusive with shuffle=True"):
        DataLoader(data, shuffle=True, sampler=DistributedSampler(data, 1, 0))
    with pytest.raises(ValueError, match="DataLoader: sampler must be iterable .* got int"):
        DataLoader(data, sampler=3)
    for bad, shown in (([0, 4], "4"), ([0, -1], "-1"), ([0.5], "0.5"), ([True], "True")):
        with pytest.raises(ValueError, match=f"DataLoader: the sampler gave {shown}, not a dataset index"):
            list(DataLoader(data, sampler=bad))
    assert [b[1].numpy().tolist() for b in DataLoader(data, batch_size=3, sampler=[3, 1, 0])] == [[0, 1, 0]]
