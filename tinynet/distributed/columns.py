"""The paper's two-GPU split, as R processes: every layer's kernels divided between the ranks ("columns").

    rank r of R holds, of a network built from convolutions, LRN, pooling, dropout and dense layers:
      a convolution with groups=1    output channels r*C/R .. (r+1)*C/R, over the whole input
      a convolution with groups=R    its group r (input and output), which needs only rank r's channels
      a dense layer                  neurons r*n/R .. (r+1)*n/R, over the whole input
      LRN                            over its own channels (the per-column form, LRN(groups=R) of the whole)
    and the ranks exchange activations only where a layer needs the whole input and has only a part: the
    channels (or features) are gathered from every rank (all_gather), concatenated in rank order.

Gradients go back the other way. A gathered activation read by a partitioned layer gets, on each rank,
only the part of its gradient that rank's half of the layer produces, so backward sums them over the
ranks (all_reduce) and keeps its own slice; the final logits, gathered for a loss that every rank computes
alike, need no sum: each rank keeps its own slice of their gradient.

    ColumnNet(full_model, rank, world)   this rank's column of ``full_model`` (its weights copied); forward
                                         gives the whole network's output on every rank
    ColumnNet.full_state_dict()          the whole network's state dict, gathered (one ordinary checkpoint)
"""
import numpy as np

from tinynet import backend, nn
from tinynet.autograd import Function
from tinynet.distributed import group as _group

__all__ = ["ColumnNet", "GatherChannels"]


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
        split = False  # whether the activation so far holds only this rank's channels
        for layer in _leaves(full):
            width = getattr(layer, "out_channels", getattr(layer, "out_features", 0))
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
                layers.append(nn.LocalResponseNorm(layer.size, layer.alpha, layer.beta, layer.k))
            elif isinstance(layer, nn.Dropout) and split:  # on the whole activation, as the full network draws it
                layers += [_Gather(), layer]
                split = False
            else:
                layers.append(layer)
        if split:
            layers.append(_Gather(partitioned=False))
        self.body = nn.Sequential(*layers)
        for column, whole in self._sources:
            column.weight.data[...] = _block(whole.weight.data, rank, world)
            if whole.bias is not None:
                column.bias.data[...] = _block(whole.bias.data, rank, world)

    def forward(self, x):
        return self.body(x)

    def full_state_dict(self, full):
        """``full``'s state dict with this column's weights gathered from every rank in (the same on all)."""
        for column, whole in self._sources:
            for name in ("weight", "bias"):
                part = getattr(column, name)
                if part is None:
                    continue
                xp = backend.get_array_module(part.data)
                gathered = _group._need("full_state_dict").all_gather(xp.ascontiguousarray(part.data))
                getattr(whole, name).data[...] = xp.concatenate(list(gathered), axis=0)
        return full.state_dict()


def _leaves(model):
    """The layers of ``model`` in forward order (its Sequentials flattened)."""
    out = []
    for child in model.children():
        if isinstance(child, nn.Sequential):
            out += _leaves(child)
        else:
            out.append(child)
    return out

