"""Normalisation layers: batch norm (tinynet/functional/batchnorm.py, docs/batch_norm.md), layer norm
(tinynet/functional/layernorm.py, docs/layer_norm.md) and local response norm
(tinynet/functional/normalization.py, docs/local_response_norm.md).
"""
import numpy as np

from tinynet import backend
from tinynet import functional as F
from tinynet._tensor import Tensor
from tinynet.functional._util import ShapeError, flag_arg, int_arg
from tinynet.functional.batchnorm import eps_arg, momentum_arg
from tinynet.functional.layernorm import normalized_shape_arg
from tinynet.functional.normalization import lrn_args
from tinynet.nn import init
from tinynet.nn.module import Module
from tinynet.nn.parameter import Parameter, parameter_dtype

__all__ = ["BatchNorm1d", "BatchNorm2d", "LayerNorm", "LocalResponseNorm"]


class _BatchNorm(Module):
    """What BatchNorm1d and BatchNorm2d share; they differ only in the input dimensions they take.

    Parameters (affine=True): weight (num_features,) of ones, bias (num_features,) of zeros (bias=False:
    None). Buffers (track_running_stats=True): running_mean (zeros), running_var (ones), both
    (num_features,), and num_batches_tracked, an int64 scalar counting the training forwards.
    """

    dims = ()  # the numbers of input dimensions the layer takes
    dims_text = ""  # as PyTorch's message says them

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True,
                 device=None, dtype=None, *, bias=True):
        super().__init__()
        where = type(self).__name__
        self.num_features = int_arg(num_features, "num_features", where, low=1)
        self.eps = eps_arg(eps, where, positive=True)  # training divides by sqrt(var + eps), var can be 0
        self.momentum = momentum_arg(momentum, where, allow_none=True)
        self.affine = flag_arg(affine, "affine", where)
        self.track_running_stats = flag_arg(track_running_stats, "track_running_stats", where)
        bias = flag_arg(bias, "bias", where)
        device = backend.device_arg(where, device)
        dtype = parameter_dtype(dtype, where)
        C = self.num_features
        if self.affine:
            self.weight = Parameter(np.ones(C, dtype=dtype))
            if bias:
                self.bias = Parameter(np.zeros(C, dtype=dtype))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if self.track_running_stats:
            self.register_buffer("running_mean", Tensor(np.zeros(C, dtype=dtype)))
            self.register_buffer("running_var", Tensor(np.ones(C, dtype=dtype)))
            self.register_buffer("num_batches_tracked", Tensor(np.array(0, dtype=np.int64)))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)
        self.reset_parameters()
        if device is not None:
            self.to(device)

    def reset_running_stats(self):
        """running_mean to 0, running_var to 1, num_batches_tracked to 0, in place."""
        if self.track_running_stats:
            self.running_mean.data[...] = 0
            self.running_var.data[...] = 1
            self.num_batches_tracked.data[...] = 0

    def reset_parameters(self):
        """The running statistics reset, weight to ones, bias to zeros."""
        self.reset_running_stats()
        if self.weight is not None:
            init.ones_(self.weight)
        if self.bias is not None:
            init.zeros_(self.bias)

    def _check_input(self, x):
        name = type(self).__name__
        if not hasattr(x, "shape"):
            raise TypeError(f"{name}: input must be a Tensor, got {type(x).__name__}")
        shape = tuple(x.shape)
        if len(shape) not in self.dims:
            raise ShapeError(f"{name}: expected {self.dims_text} input (got {len(shape)}D input of shape {shape})")
        if shape[1] != self.num_features:
            raise ShapeError(f"{name}: expected an input with num_features = {self.num_features} channels "
                             f"(dimension 1), got {shape[1]} (input shape {shape})")

    def forward(self, input):
        self._check_input(input)
        tracking = self.training and self.track_running_stats and self.num_batches_tracked is not None
        factor = 0.0 if self.momentum is None else self.momentum
        if tracking and self.momentum is None:  # the cumulative average: weight 1/k for the k-th batch
            factor = 1.0 / (int(self.num_batches_tracked.item()) + 1)
        # Batch statistics in training, and in eval too when no running statistics are kept.
        use_batch = self.training or (self.running_mean is None and self.running_var is None)
        give_stats = not self.training or self.track_running_stats  # else: nothing to update
        y = F.batch_norm(input, self.running_mean if give_stats else None, self.running_var if give_stats else None,
                         self.weight, self.bias, use_batch, factor, self.eps)
        if tracking:  # after the call: a refused input leaves the count alone
            self.num_batches_tracked.data[...] += 1
        return y

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"bias={self.bias is not None}, track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch norm over (N, C) or (N, C, L), PyTorch's ``nn.BatchNorm1d``: each of the C channels is
    normalised with the statistics of its N (or N * L) values."""

    dims = (2, 3)
    dims_text = "2D or 3D"


class BatchNorm2d(_BatchNorm):
    """Batch norm over (N, C, H, W), PyTorch's ``nn.BatchNorm2d``: each of the C channels is normalised
    with the statistics of its N * H * W values."""

    dims = (4,)
    dims_text = "4D"


class LayerNorm(Module):
    """Layer norm, PyTorch's ``nn.LayerNorm``: each sample of an input (*, *normalized_shape) is normalised
    over its trailing normalized_shape dims. Parameters (elementwise_affine=True): weight of ones and bias
    of zeros (bias=False: None), each of shape normalized_shape."""

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True, device=None, dtype=None):
        super().__init__()
        self.normalized_shape = normalized_shape_arg(normalized_shape, "LayerNorm", allow_int=True)
        self.eps = eps_arg(eps, "LayerNorm")
        self.elementwise_affine = flag_arg(elementwise_affine, "elementwise_affine", "LayerNorm")
        bias = flag_arg(bias, "bias", "LayerNorm")
        device = backend.device_arg("LayerNorm", device)
        dtype = parameter_dtype(dtype, "LayerNorm")
        if self.elementwise_affine:
            self.weight = Parameter(np.ones(self.normalized_shape, dtype=dtype))
            if bias:
                self.bias = Parameter(np.zeros(self.normalized_shape, dtype=dtype))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if device is not None:
            self.to(device)

    def reset_parameters(self):
        if self.weight is not None:
            init.ones_(self.weight)
        if self.bias is not None:
            init.zeros_(self.bias)

    def forward(self, input):
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return (f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}, "
                f"bias={self.bias is not None}")


class LocalResponseNorm(Module):
    """Local response normalisation across channels, PyTorch's convention (alpha divided by size).

    ``groups`` (keyword, a tinynet addition; 1 is PyTorch's form): normalise within each of that many
    contiguous blocks of channels only (the paper's two GPUs, each over its own half)."""

    def __init__(self, size, alpha=1e-4, beta=0.75, k=1.0, *, groups=1):
        super().__init__()
        lrn_args(size, alpha, beta, k, "LocalResponseNorm")
        self.size, self.alpha, self.beta, self.k = size, alpha, beta, k
        self.groups = int_arg(groups, "groups", "LocalResponseNorm", low=1)

    def forward(self, x):
        return F.local_response_norm(x, self.size, self.alpha, self.beta, self.k, groups=self.groups)

    def extra_repr(self):
        extra = f", groups={self.groups}" if self.groups != 1 else ""
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}{extra}"
