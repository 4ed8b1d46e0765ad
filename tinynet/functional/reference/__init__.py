"""Textbook loops: each layer's forward (and, where it has one worth showing, backward) written as the
formula reads, one output element at a time, with nothing but NumPy.

These are slow on purpose. The fast ops in tinynet.functional hide the formula behind im2col, cache
blocks and CUDA kernels; here a reader sees the math itself, the docs show these functions beside
the derivations, and the tests compare every fast op with its loop on small shapes. Nothing in this
package imports tinynet or any library but NumPy (tests/functional/test_reference.py checks), so a
function here can be read, copied and run on its own.

    conv.py           conv2d: the sum over channels and kernel taps, output pixel by output pixel
    pool.py           max and average pooling: one window at a time
    normalization.py  local response norm, batch norm, layer norm: the statistics as sums
    loss.py           cross-entropy, nll_loss, smooth L1, binary cross-entropy: one sample at a time
"""
from tinynet.functional.reference.conv import *  # noqa: F401,F403
from tinynet.functional.reference.loss import *  # noqa: F401,F403
from tinynet.functional.reference.normalization import *  # noqa: F401,F403
from tinynet.functional.reference.pool import *  # noqa: F401,F403
