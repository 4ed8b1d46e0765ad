"""Loss modules, PyTorch's names and constructor order (tinynet/functional/loss.py and elementwise_loss.py;
docs/softmax_cross_entropy.md, docs/losses.md).

Each constructor keeps PyTorch's positional slots, including the deprecated ``size_average`` and
``reduce`` (None only: reduction= says the same), checks its arguments where the loss is built, and
registers ``weight`` / ``pos_weight`` as buffers (None: an empty slot, in no state dict), as PyTorch.
The repr is PyTorch's too: ``CrossEntropyLoss()``, whatever the options.
"""
from tinynet.functional.elementwise_loss import (binary_cross_entropy, binary_cross_entropy_with_logits, l1_loss,
                                                 mse_loss, smooth_l1_loss)
from tinynet.functional._loss_util import class_loss_args, loss_weight, reduction_args
from tinynet.functional.loss import cross_entropy, nll_loss
from tinynet.nn.module import Module
from tinynet.validate import check_number

__all__ = ["CrossEntropyLoss", "NLLLoss", "MSELoss", "L1Loss", "SmoothL1Loss", "BCELoss", "BCEWithLogitsLoss"]


class _Loss(Module):
    def __init__(self, size_average=None, reduce=None, reduction="mean"):
        super().__init__()
        self.reduction = reduction_args(type(self).__name__, size_average, reduce, reduction)


class CrossEntropyLoss(_Loss):
    """Cross-entropy of logits (N, C) / (N, C, d1, ...) / (C,) and class indices or class probabilities."""

    def __init__(self, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction="mean",
                 label_smoothing=0.0):
        super().__init__(size_average, reduce, reduction)
        weight, self.ignore_index, self.label_smoothing = class_loss_args(
            "CrossEntropyLoss", weight, ignore_index, label_smoothing)
        self.register_buffer("weight", weight)

    def forward(self, input, target):
        return cross_entropy(input, target, self.weight, ignore_index=self.ignore_index, reduction=self.reduction,
                             label_smoothing=self.label_smoothing)


class NLLLoss(_Loss):
    """Negative log-likelihood of log-probabilities (N, C) / (N, C, d1, ...) / (C,) at class indices."""

    def __init__(self, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction="mean"):
        super().__init__(size_average, reduce, reduction)
        weight, self.ignore_index, _ = class_loss_args("NLLLoss", weight, ignore_index)
        self.register_buffer("weight", weight)

    def forward(self, input, target):
        return nll_loss(input, target, self.weight, ignore_index=self.ignore_index, reduction=self.reduction)


class MSELoss(_Loss):
    """Mean squared error of input and target of one shape."""

    def forward(self, input, target):
        return mse_loss(input, target, reduction=self.reduction)


class L1Loss(_Loss):
    """Mean absolute error of input and target of one shape."""

    def forward(self, input, target):
        return l1_loss(input, target, reduction=self.reduction)


class SmoothL1Loss(_Loss):
    """Quadratic below ``beta``, linear above (beta = 0: L1Loss)."""

    def __init__(self, size_average=None, reduce=None, reduction="mean", beta=1.0):
        super().__init__(size_average, reduce, reduction)
        self.beta = float(check_number("SmoothL1Loss: beta", beta, low=0))

    def forward(self, input, target):
        return smooth_l1_loss(input, target, reduction=self.reduction, beta=self.beta)


class BCELoss(_Loss):
    """Binary cross-entropy of probabilities in [0, 1]; ``weight`` broadcasts to the input's shape."""

    def __init__(self, weight=None, size_average=None, reduce=None, reduction="mean"):
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", loss_weight("BCELoss", "weight", weight))

    def forward(self, input, target):
        return binary_cross_entropy(input, target, self.weight, reduction=self.reduction)


class BCEWithLogitsLoss(_Loss):
    """Sigmoid + binary cross-entropy in one stable op; ``pos_weight`` weighs the positives (per class)."""

    def __init__(self, weight=None, size_average=None, reduce=None, reduction="mean", pos_weight=None):
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", loss_weight("BCEWithLogitsLoss", "weight", weight))
        self.register_buffer("pos_weight", loss_weight("BCEWithLogitsLoss", "pos_weight", pos_weight))

    def forward(self, input, target):
        return binary_cross_entropy_with_logits(input, target, self.weight, reduction=self.reduction,
                                                pos_weight=self.pos_weight)
