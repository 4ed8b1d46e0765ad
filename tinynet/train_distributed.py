"""What ``tinynet train`` does differently as one of several processes (tinynet/distributed).

A process started by a launcher (``tinynet train --nproc-per-node N``, ``mpiexec -n N tinynet train``) joins
the process group (``--dist-backend``: nccl on the GPU, mpi on the CPU by default), and then:

- trains a DistributedDataParallel of the model, on its share of each epoch (DistributedSampler seeded with
  --seed, following the loader's epoch), ``-b`` samples per step, so the global batch is N x b; a step whose
  images were all unreadable on one rank still runs there, with zero gradients, so no rank waits for ever
  (each rank's mean loss weighs equally, as in PyTorch, also when some of its images were skipped);
- draws dropout per sample (backend.per_sample_random, keyed by the sample's dataset index): with the
  augmentations, also per sample, N processes draw what one process with batch N x b draws;
- evaluates its own slice of the validation set (every N-th image, no padding), the sums all-reduced, so
  the metrics are those of the whole set;
- leaves the run folder, the checkpoints, metrics.jsonl, curves.png, the log and the progress bar to rank 0.

A checkpoint holds the model (not the wrapper) and the optimizer, as one process's does, so a run resumes
with any number of processes.

With ``--model-parallel 2`` (the paper variant, exactly two processes) the two ranks are not replicas but the
paper's two columns (tinynet/distributed/columns.py): each holds half of every layer, both read the same
batches (the whole set, in the order one process would), and they exchange activations where the paper's
GPUs did. LRN normalises over each column's own channels, in the single-process network too
(``lrn_groups`` 2, recorded in the checkpoint). Each checkpoint is the whole network's, gathered: the weights
and the optimizer's state (momentum buffers, moments), as one process would have written them; a resume cuts
them into columns again, or continues in one process.
"""
import os

import numpy as np

from tinynet import backend
from tinynet.data import DataLoader, DistributedSampler
from tinynet.train_flags import ConfigError

__all__ = ["World", "join", "leave", "train_loader", "val_loader", "reduce_sums", "check_columns", "lrn_groups",
           "Columns"]


class World:
    """This process's place: rank, world size, the backend's name."""

    def __init__(self, rank, size, backend_name):
        self.rank, self.size, self.backend = rank, size, backend_name

    @property
    def main(self):
        return self.rank == 0


def join(cfg):
    """Join the process group if a launcher started this process; None when it runs alone."""
    from tinynet import distributed
    from tinynet.distributed.group import launched_world

    from tinynet.distributed import launch

    if launched_world() is None:
        if cfg.dist_backend is not None and cfg.nproc_per_node is None:
            raise ConfigError(f"--dist-backend {cfg.dist_backend}: this process was not started by a launcher; give "
                              "--nproc-per-node N (or start it with mpiexec -n N)")
        if cfg.dist_timeout is not None and cfg.nproc_per_node is None:
            raise ConfigError("--dist-timeout: only the launcher watches the ranks; give --nproc-per-node N")
        return None
    if cfg.dist_timeout is not None and not os.environ.get(launch.HEARTBEAT_ENV):
        raise ConfigError("--dist-timeout: this process was started by mpiexec (or another launcher), not by "
                          "tinynet train --nproc-per-node, so nothing watches for it; start the job with "
                          "--nproc-per-node N, or leave --dist-timeout out")
    device = backend.normalize_device(cfg.device)
    name = cfg.dist_backend or ("nccl" if device == "cuda" else "mpi")
    distributed.init_process_group(name)
    launch.started()  # the launcher, if one started this process, now knows its pid and hears its beats
    return World(distributed.get_rank(), distributed.get_world_size(), name)


def leave(world, code):
    """Tell the launcher how this rank ended, and leave the process group. A rank that failed, under MPI,
    aborts the whole MPI job as the process exits (after its error is printed): the others would wait
    in their next collective for ever, and mpiexec waits for them."""
    if world is None:
        return
    import atexit

    from tinynet import distributed
    from tinynet.distributed import group, launch

    launch.finished(code)
    if code == 0:
        distributed.destroy_process_group()
    else:
        atexit.register(group.abort, code)  # after mpi4py's own exit handler was registered: so it runs first


def train_loader(dataset, world, cfg, **loader_args):
    """The training loader: shuffled by the loader, or this rank's share of the shuffled order."""
    if world is None:
        return DataLoader(dataset, shuffle=True, **loader_args)
    sampler = DistributedSampler(dataset, world.size, world.rank, shuffle=True, seed=cfg.seed)
    loader = DataLoader(dataset, sampler=sampler, **loader_args)
    loader.keep_empty_batches = True  # every rank takes every step, even one whose images were all unreadable
    return loader


def val_loader(dataset, world, **loader_args):
    """The validation loader: the whole set, or every world-size-th image from this rank's (no padding)."""
    if world is None:
        return DataLoader(dataset, shuffle=False, **loader_args)
    return DataLoader(dataset, sampler=range(world.rank, len(dataset), world.size), **loader_args)


def reduce_sums(values, world, device):
    """``values`` (floats) summed over the ranks (as they are, alone)."""
    if world is None:
        return list(values)
    from tinynet import distributed

    a = np.asarray(values, dtype=np.float64)
    if world.backend == "nccl":
        a = backend.to_device(a, device)
    distributed.all_reduce(a)
    return [float(v) for v in backend.host(a)]


def check_columns(cfg, meta):
    """ConfigError unless a --model-parallel run of ``cfg`` can resume ``meta`` (the checkpoint's metadata; None
    for a new run): a paper-variant run whose LRN normalised each column's channels."""
    variant = cfg.variant if meta is None else meta["variant"]
    if variant != "paper":
        raise ConfigError(f"--model-parallel 2 splits the paper variant's two columns; the checkpoint {cfg.resume} "
                          f"is of the {variant} variant, which has no grouped layers to split along" if meta is not None
                          else f"--model-parallel 2 splits the paper variant's two columns: give --variant paper (the "
                          f"{variant} variant has no grouped layers to split along)")
    if meta is not None and meta["lrn_groups"] != 2:
        raise ConfigError(f"--model-parallel 2: the checkpoint {cfg.resume}'s run normalised LRN over all the channels; "
                          "the columns normalise over their own halves, so resuming would change the network. Resume "
                          "it without --model-parallel, or start a new run")


def lrn_groups(cfg, world, meta):
    """The LRN form of the run (the resolved ``cfg``; ``meta``: the checkpoint's, or None): 2 (per column)
    with --model-parallel, else the checkpoint's (1, over all the channels, for a new run). ConfigError for a
    --model-parallel run that can't be one."""
    saved = 1 if meta is None else meta["lrn_groups"]
    if cfg.model_parallel is None:
        return saved
    check_columns(cfg, meta)
    if world is None:
        raise ConfigError("--model-parallel 2 runs as two processes, one column each: add --nproc-per-node 2 (or "
                          "start it with mpiexec -n 2)")
    if world.size != cfg.model_parallel:
        raise ConfigError(f"--model-parallel 2 needs exactly 2 processes, one column each; this job has {world.size} "
                          "(model parallelism combined with data parallelism is not supported)")
    return 2


class Columns:
    """--model-parallel: this rank's column (on the run's device) of the whole network ``net`` (on the host),
    and the whole network's optimizer, kept there to read and write checkpoints; the column's own optimizer
    is the one that trains. So the device holds half of every layer, as each of the paper's GPUs did."""

    def __init__(self, cfg, net, world):
        from tinynet.distributed.columns import ColumnNet
        from tinynet.train_optimizer import make_optimizer

        self.net, self.world = net, world
        self.column = ColumnNet(net, world.rank, world.size).to(cfg.device)
        self.full_optimizer = make_optimizer(cfg, net)

    def scatter(self, optimizer):
        """The whole network's weights and optimizer state (a resumed checkpoint's) into this column."""
        self.column.load_from(self.net)
        self.column.scatter_optimizer(self.full_optimizer, optimizer)

    def gather(self, optimizer):
        """This column's weights and ``optimizer``'s state gathered into the whole network's, on every rank
        (a collective)."""
        self.column.full_state_dict(self.net)
        self.column.gather_optimizer(optimizer, self.full_optimizer)

    def layer_names(self):
        """{name of a layer of the column: the whole network's name of it} ("body.0" -> "features.0"), for the
        records that name layers (tinynet/train_grads.py)."""
        column = self.column
        whole_of = {id(part): whole for part, whole in column.pairs() + column.pairs(replicas=True)}
        owner = {id(p): name for name, m in self.net.named_modules() for _, p in m.named_parameters(recurse=False)}
        return {name: owner[id(whole_of[id(p)])] for name, m in column.named_modules()
                for _, p in m.named_parameters(recurse=False) if id(p) in whole_of}

    def copy_lr(self, optimizer):
        """The hyper-parameters of ``optimizer`` (the column's: the scheduler sets its lr) into the whole
        network's optimizer, which the checkpoint holds."""
        from tinynet.distributed.columns import copy_hyperparameters

        copy_hyperparameters(optimizer, self.full_optimizer)
