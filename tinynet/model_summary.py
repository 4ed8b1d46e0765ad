"""``tinynet.summary``: a model's layers, output shapes, parameters, multiply-adds and activation memory.

The summary runs one real forward pass on a zero input (batch 1 by default,
in eval mode, under no_grad) with a forward hook on every leaf module, so the
shapes it reports are the ones the layers actually produce. Counting rules:

    parameters     the elements of the layer's own parameters
    multiply-adds  Conv2d:  N * OC * OH * OW * (C / G) * kH * kW
                   Linear:  N * out_features * in_features
                   other layers: 0 (they do no weighted sums)
    activations    the bytes of the layer's output (batch N, the model's dtype)

If a layer can't take its input, the table stops there and names that layer
and the reason; nothing is raised.
"""
from dataclasses import dataclass

import numpy as np

from tinynet import nn
from tinynet.autograd import no_grad
from tinynet._tensor import Tensor
from tinynet.functional import ShapeError


@dataclass
class LayerRow:
    name: str  # dotted path in the model, e.g. "features.0"
    kind: str  # the module's class name
    output_shape: tuple  # without the batch dimension
    params: int
    mult_adds: int
    activation_bytes: int


@dataclass
class Profile:
    rows: list
    error: str = None  # why the forward pass stopped, if it did

    @property
    def total_params(self):
        return sum(r.params for r in self.rows)

    @property
    def total_mult_adds(self):
        return sum(r.mult_adds for r in self.rows)

    @property
    def total_activation_bytes(self):
        return sum(r.activation_bytes for r in self.rows)


def _mult_adds(module, out_shape):
    out_elements = int(np.prod(out_shape))
    if isinstance(module, nn.Conv2d):
        c_per_group, kh, kw = module.weight.shape[1:]
        return out_elements * c_per_group * kh * kw
    if isinstance(module, nn.Linear):
        return out_elements * module.in_features
    return 0


def profile(model, input_shape, batch_size=1):
    """Run ``model`` on zeros of shape (batch_size, *input_shape) and collect one LayerRow per leaf module."""
    params = list(model.parameters())
    dtype = _param_dtype(model)
    device = params[0].device if params else "cpu"
    names = {id(m): name for name, m in model.named_modules()}
    rows, handles = [], []

    def record(module, inputs, output):
        shape = tuple(output.shape)
        rows.append(LayerRow(
            name=names[id(module)],
            kind=type(module).__name__,
            output_shape=shape[1:],
            params=sum(p.numel() for p in module.parameters()),
            mult_adds=_mult_adds(module, shape),
            activation_bytes=int(np.prod(shape)) * output.dtype.itemsize,
        ))

    for m in model.modules():
        if not m._modules:
            handles.append(m.register_forward_hook(record))
    was_training = model.training
    model.eval()
    error = None
    try:
        with no_grad():
            model(Tensor(np.zeros((batch_size, *input_shape), dtype=dtype), device=device))
    except ShapeError as e:
        error = str(e)
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    return Profile(rows, error)


def _mib(n_bytes):
    return f"{n_bytes / 2**20:,.2f} MiB"


def summary(model, input_shape, batch_size=1):
    """The model's layer table as a string.

    Args:
        model: a tinynet.nn.Module.
        input_shape: (C, H, W) of one input, e.g. (3, 224, 224).
        batch_size: N for the forward pass (multiply-adds and memory scale with it).
    """
    input_shape = tuple(int(n) for n in input_shape)
    prof = profile(model, input_shape, batch_size)
    dtype = _param_dtype(model)
    title = type(model).__name__
    if getattr(model, "variant", None):
        title += f" ({model.variant})"
    header = f"{'layer':<16}{'type':<20}{'output shape':<18}{'params':>14}{'mult-adds':>17}{'activations':>14}"
    lines = [f"{title}, input {input_shape}, batch {batch_size}, {dtype.name}", header, "-" * len(header)]
    for r in prof.rows:
        lines.append(f"{r.name:<16}{r.kind:<20}{str(r.output_shape):<18}{r.params:>14,}{r.mult_adds:>17,}"
                     f"{_mib(r.activation_bytes):>14}")
    lines.append("-" * len(header))
    if prof.error:
        lines.append(f"stopped: {prof.error}")
    else:
        lines.append(f"{'total':<54}{prof.total_params:>14,}{prof.total_mult_adds:>17,}"
                     f"{_mib(prof.total_activation_bytes):>14}")
        lines.append(f"parameters: {prof.total_params:,} ({_mib(prof.total_params * dtype.itemsize)})")
    return "\n".join(lines)


def _param_dtype(model):
    """The dtype of the model's parameters (float32 for a model without any)."""
    params = list(model.parameters())
    return np.dtype(params[0].dtype if params else np.float32)
