"""The paper's two-GPU split, as R processes: every layer's kernels divided between the ranks ("columns").

    rank r of R holds, of a network built from convolutions, LRN, pooling, dropout and dense layers:
      a convolution with groups=1    output channels r*C/R .. (r+1)*C/R, over the whole input
      a convolution with groups=R    its group r (input and output), which needs only rank r's channels
      a dense layer                  neurons r*n/R .. (r+1)*n/R, over the whole input
      LRN                            over its own channels (the per-column form, LRN(groups=R) of the whole)
      the last dense layer           whole, on every rank alike, when R does not divide its outputs (the logits
                                     of 3 classes on 2 ranks)
    and the ranks exchange activations only where a layer needs the whole input and has only a part: the
    channels (or features) are gathered from every rank (all_gather), concatenated in rank order.

Gradients go back the other way. A gathered activation read by a partitioned layer gets, on each rank,
only the part of its gradient that rank's half of the layer produces, so backward sums them over the
ranks (all_reduce) and keeps its own slice; the final logits, gathered for a loss that every rank computes
alike, need no sum: each rank keeps its own slice of their gradient.

    ColumnNet(full_model, rank, world)   this rank's column of ``full_model`` (its weights copied); forward
                                         gives the whole network's output on every rank
    ColumnNet.full_state_dict(full)      the whole network's state dict, gathered (one ordinary checkpoint)
    ColumnNet.load_from(full)            this rank's blocks of ``full``'s weights copied in (after a resume)
    ColumnNet.scatter_optimizer(f, c)    the whole network's optimizer ``f`` -> this column's ``c``: each
                                         state array's block (momentum buffers, Adam's moments), the rest as it is
    ColumnNet.gather_optimizer(c, f)     the other way, gathered from every rank (for the checkpoint)
    ColumnGradScaler                     GradScaler whose inf/NaN check is agreed by every rank: a column sees
                                         only its own gradients, and every rank must skip the same steps
"""
import numpy as np

from tinynet import amp, backend, nn
from tinynet.autograd import Function
from tinynet.distributed import group as _group

__all__ = ["ColumnNet", "GatherChannels", "ColumnGradScaler", "copy_hyperparameters"]


class GatherChannels(Function):
    """(N, c, ...) on each rank -> (N, R c, ...): every rank's block along axis 1, in rank order.

    ``partitioned`` True: what reads the result is split over the ranks, so the gradient is summed over them
    before this rank's slice is kept; False: every rank reads it alike (a loss), so the slice alone."""

    def __init__(self, partitioned=True):
        self.partitioned = partitioned

    def forward(self, x):
        grp = _group._need("GatherChannels")
        self.rank, self.width = grp.rank, x.shape[1]
        xp = backend.get_array_module(x)
        parts = grp.all_gather(xp.ascontiguousarray(x))  # (R, N, c, ...)
        return xp.concatenate(list(parts), axis=1)

    def backward(self, g):
        if self.partitioned:
            g = g.copy()
            _group._need("GatherChannels").all_reduce(g, "sum")
        start = self.rank * self.width
        return g[:, start:start + self.width].copy()


class _Gather(nn.Module):
    def __init__(self, partitioned=True):
        super().__init__()
        self.partitioned = partitioned

    def forward(self, x):
        return GatherChannels(self.partitioned)(x)


def _block(a, rank, world):
    """Block ``rank`` of ``world`` equal blocks of ``a`` along axis 0 (a copy)."""
    n = a.shape[0] // world
    return a[rank * n:(rank + 1) * n].copy()


class ColumnNet(nn.Module):
    """Rank ``rank``'s column of ``full`` (a Sequential-like model: see the module docstring)."""

    def __init__(self, full, rank, world):
        super().__init__()
        self.rank, self.world = rank, world
        if not (isinstance(world, int) and world >= 1 and isinstance(rank, int) and 0 <= rank < world):
            raise ValueError(f"ColumnNet: need ints 0 <= rank < world, got rank={rank!r}, world={world!r}")
        layers, self._sources = [], []  # sources: (column layer, full layer) with weights to slice
        self._replicas = []  # (column layer, full layer) held whole on every rank
        split = False  # whether the activation so far holds only this rank's channels
        leaves = _leaves(full)
        last = max((k for k, m in enumerate(leaves) if isinstance(m, (nn.Conv2d, nn.Linear))), default=-1)
        for at, layer in enumerate(leaves):
            width = getattr(layer, "out_channels", getattr(layer, "out_features", 0))
            if isinstance(layer, nn.Linear) and width % world and at == last:
                # The logits of a class count the ranks can't share (say 3 classes on 2): the last layer whole on
                # every rank. Its input gathered, its gradient kept alone (each rank's is the whole one), and the
                # same weights, gradients and steps on every rank.
                if split:
                    layers.append(_Gather(partitioned=False))
                whole = nn.Linear(layer.in_features, layer.out_features, bias=layer.bias is not None)
                layers.append(whole)
                self._replicas.append((whole, layer))
                split = False
                continue
            if isinstance(layer, (nn.Conv2d, nn.Linear)) and width % world:
                raise ValueError(f"ColumnNet: {layer!r} has {width} outputs, which {world} ranks can't share equally")
            if isinstance(layer, nn.Conv2d):
                g = layer.groups
                if g == 1:
                    if split:
                        layers.append(_Gather())
                    conv = nn.Conv2d(layer.in_channels, layer.out_channels // world, layer.kernel_size,
                                     layer.stride, layer.padding, bias=layer.bias is not None)
                elif g == world and split:
                    conv = nn.Conv2d(layer.in_channels // world, layer.out_channels // world, layer.kernel_size,
                                     layer.stride, layer.padding, bias=layer.bias is not None)
                else:
                    raise ValueError(f"ColumnNet: a convolution with groups={g} splits over {g} ranks, not {world}")
                conv.algorithm = layer.algorithm  # im2col, winograd or auto, as the whole network's layer
                layers.append(conv)
                self._sources.append((conv, layer))
                split = True
            elif isinstance(layer, nn.Linear):
                if split:
                    layers.append(_Gather())
                lin = nn.Linear(layer.in_features, layer.out_features // world, bias=layer.bias is not None)
                layers.append(lin)
                self._sources.append((lin, layer))
                split = True
            elif isinstance(layer, nn.LocalResponseNorm):
                if layer.groups != world:
                    raise ValueError(f"ColumnNet: {layer!r} normalises over {layer.groups} block(s) of channels; a "
                                     f"column normalises only its own, so the whole network must have LRN groups="
                                     f"{world} (alexnet(..., lrn_groups={world})) to compute what the columns do")
                layers.append(nn.LocalResponseNorm(layer.size, layer.alpha, layer.beta, layer.k))
            elif isinstance(layer, nn.Dropout) and split:  # on the whole activation, as the full network draws it
                layers += [_Gather(), layer]
                split = False
            else:
                layers.append(layer)
        if split:
            layers.append(_Gather(partitioned=False))
        self.body = nn.Sequential(*layers)
        self.load_from(full)

    def forward(self, x):
        return self.body(x)

    def pairs(self, replicas=False):
        """(column parameter, whole-network parameter) for every parameter that is split: block ``rank`` of the
        whole one along axis 0 is the column's; ``replicas``: those held whole on every rank instead."""
        return [(getattr(column, name), getattr(whole, name))
                for column, whole in (self._replicas if replicas else self._sources)
                for name in ("weight", "bias") if getattr(column, name) is not None]

    def load_from(self, full):
        """Copy this rank's block of every weight of ``full`` (the network this column was made from) in."""
        for part, whole in self.pairs():
            part.data[...] = _on(part, _block(whole.data, self.rank, self.world))
        for part, whole in self.pairs(replicas=True):
            part.data[...] = _on(part, whole.data)

    def full_state_dict(self, full):
        """``full``'s state dict with this column's weights gathered from every rank in (the same on all)."""
        for part, whole in self.pairs():
            whole.data[...] = _on(whole, _gathered(part.data, "full_state_dict"))
        for part, whole in self.pairs(replicas=True):
            whole.data[...] = _on(whole, part.data)  # the same on every rank
        return full.state_dict()

    def scatter_optimizer(self, full_optimizer, optimizer):
        """Put ``full_optimizer``'s state (over the whole network's parameters, as a checkpoint holds it) into
        ``optimizer`` (over this column's): each array the shape of its parameter is cut to this rank's block,
        other entries (a step count) are copied; the param groups' hyper-parameters are copied too."""
        for part, whole in self.pairs():
            state = full_optimizer.state.get(whole)
            if state is None:
                optimizer.state.pop(part, None)
                continue
            optimizer.state[part] = {k: _on(part, _block(v, self.rank, self.world)) if _shaped_like(v, whole) else v
                                     for k, v in state.items()}
        _copy_state(full_optimizer, optimizer, [(whole, part) for part, whole in self.pairs(replicas=True)])
        copy_hyperparameters(full_optimizer, optimizer)

    def gather_optimizer(self, optimizer, full_optimizer):
        """The other way: ``full_optimizer``'s state and hyper-parameters from every rank's ``optimizer``
        (a collective: every rank calls it; afterwards all hold the same)."""
        for part, whole in self.pairs():
            state = optimizer.state.get(part)
            if state is None:
                full_optimizer.state.pop(whole, None)
                continue
            full_optimizer.state[whole] = {k: _on(whole, _gathered(v, "gather_optimizer")) if _shaped_like(v, part)
                                           else v for k, v in sorted(state.items())}
        _copy_state(optimizer, full_optimizer, self.pairs(replicas=True))
        copy_hyperparameters(optimizer, full_optimizer)


class ColumnGradScaler(amp.GradScaler):
    """``amp.GradScaler`` for columns: after unscaling, whether a gradient is inf or NaN is decided over every
    rank (an all-reduce of one number), so all ranks skip the same steps and keep the same scale."""

    def unscale_(self, optimizer):
        super().unscale_(optimizer)
        if self.enabled:
            found = backend.to_device(np.array([float(self._unscaled[id(optimizer)])]), self.device)  # NCCL: on the GPU
            _group._need("ColumnGradScaler").all_reduce(found, "max")
            self._unscaled[id(optimizer)] = bool(backend.host(found)[0])


def _gathered(a, what):
    """Every rank's ``a`` concatenated along axis 0 in rank order (a collective)."""
    xp = backend.get_array_module(a)
    return xp.concatenate(list(_group._need(what).all_gather(xp.ascontiguousarray(a))), axis=0)


def _on(parameter, a):
    """``a`` on ``parameter``'s device (the whole network may stay on the host while its columns are on GPUs)."""
    return backend.to_device(a, backend.device_of(parameter.data))


def _shaped_like(value, parameter):
    return hasattr(value, "shape") and tuple(value.shape) == tuple(parameter.shape)


def _copy_state(source, target, pairs):
    """``source``'s state of each parameter a into ``target``'s of b, for (a, b) in ``pairs`` (arrays copied)."""
    for a, b in pairs:
        state = source.state.get(a)
        if state is None:
            target.state.pop(b, None)
        else:
            target.state[b] = {k: _on(b, v).copy() if hasattr(v, "shape") else v for k, v in state.items()}


def copy_hyperparameters(source, target):
    """Each param group's hyper-parameters (lr, momentum, weight decay, ...) from ``source`` to ``target``."""
    if len(source.param_groups) != len(target.param_groups):
        raise ValueError(f"columns: the optimizers have {len(source.param_groups)} and {len(target.param_groups)} "
                         "param groups")
    for a, b in zip(source.param_groups, target.param_groups):
        b.update({k: v for k, v in a.items() if k != "params"})


def _leaves(model):
    """The layers of ``model`` in forward order (its Sequentials flattened)."""
    out = []
    for child in model.children():
        if isinstance(child, nn.Sequential):
            out += _leaves(child)
        else:
            out.append(child)
    return out

