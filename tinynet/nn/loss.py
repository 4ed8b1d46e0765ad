"""Loss modules (tinynet/functional/loss.py, docs/softmax_cross_entropy.md).
"""
from tinynet import functional as F
from tinynet.functional.loss import check_reduction
from tinynet.nn.module import Module

__all__ = ["CrossEntropyLoss"]


class CrossEntropyLoss(Module):
    """Cross-entropy between logits (N, K) and integer targets (N,); mean over the batch by default."""

    def __init__(self, reduction="mean"):
        super().__init__()
        self.reduction = check_reduction(reduction, "CrossEntropyLoss")

    def forward(self, logits, targets):
        return F.cross_entropy(logits, targets, self.reduction)
