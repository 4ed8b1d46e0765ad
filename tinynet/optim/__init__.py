"""Optimizers and learning-rate schedules, with PyTorch's names, defaults and update rules.

    optimizer.py     Optimizer: param_groups, state, zero_grad, add_param_group, state_dict
    sgd.py           SGD (momentum, dampening, weight decay, Nesterov, maximize)
    adam.py          Adam, AdamW
    rmsprop.py       RMSprop
    adagrad.py       Adagrad
    lr_scheduler.py  StepLR, CosineAnnealingLR, ReduceLROnPlateau

docs/optimizers.md derives each update rule; tests/test_optim.py compares them with PyTorch.
"""
from tinynet.optim import lr_scheduler
from tinynet.optim.adagrad import Adagrad
from tinynet.optim.adam import Adam, AdamW
from tinynet.optim.lr_scheduler import CosineAnnealingLR, ReduceLROnPlateau, StepLR
from tinynet.optim.optimizer import Optimizer
from tinynet.optim.rmsprop import RMSprop
from tinynet.optim.sgd import SGD

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "lr_scheduler", "StepLR",
           "CosineAnnealingLR", "ReduceLROnPlateau"]
