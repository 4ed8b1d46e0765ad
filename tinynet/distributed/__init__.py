"""tinynet.distributed: more than one process, as torch.distributed.

Process groups on MPI (host arrays, mpi4py) and NCCL (CuPy arrays, cupyx.distributed), their collectives
(group.py), and data parallelism on top. Imported only when asked for: ``import tinynet`` does not import
mpi4py or CuPy.
"""
from tinynet.distributed.group import (ReduceOp, all_gather, all_reduce, barrier, broadcast,
                                       destroy_process_group, get_backend, get_rank, get_world_size,
                                       init_process_group, is_initialized)
from tinynet.distributed.ddp import DistributedDataParallel

__all__ = ["ReduceOp", "init_process_group", "destroy_process_group", "is_initialized", "get_rank",
           "get_world_size", "get_backend", "all_reduce", "broadcast", "all_gather", "barrier",
           "DistributedDataParallel"]
