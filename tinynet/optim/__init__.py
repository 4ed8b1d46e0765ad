"""Optimizers and learning-rate schedules, with PyTorch's names, defaults and update rules.

    optimizer.py     Optimizer: param_groups, state, zero_grad, add_param_group, state_dict
    sgd.py           SGD (momentum, dampening, weight decay, Nesterov, maximize)
    adam.py          Adam, AdamW
    rmsprop.py       RMSprop
    adagrad.py       Adagrad
    lr_scheduler.py  PyTorch's learning-rate schedules (StepLR, CosineAnnealingLR, OneCycleLR, ...)

docs/optimizers.md derives each update rule, docs/schedules.md each schedule; tests/test_optimizers.py and
tests/optim/test_lr_scheduler.py compare them with PyTorch.
"""
from tinynet.optim import lr_scheduler
from tinynet.optim.adagrad import Adagrad
from tinynet.optim.adam import Adam, AdamW
from tinynet.optim.lr_scheduler import (ChainedScheduler, ConstantLR, CosineAnnealingLR, CosineAnnealingWarmRestarts,
                                        ExponentialLR, LambdaLR, LinearLR, LRScheduler, MultiplicativeLR, MultiStepLR,
                                        OneCycleLR, PolynomialLR, ReduceLROnPlateau, SequentialLR, StepLR)
from tinynet.optim.optimizer import Optimizer
from tinynet.optim.rmsprop import RMSprop
from tinynet.optim.sgd import SGD

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "lr_scheduler", *lr_scheduler.__all__]
