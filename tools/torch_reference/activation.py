"""PyTorch's activations and channel dropout, stored for tests/functional/test_activation.py:

    python tools/torch_reference/activation.py      # writes tests/fixtures/torch_activation.npz

Everything in float64. Inputs come from a seeded NumPy generator (plus hand-picked edge values) and
are stored beside the results, so the tests feed tinynet exactly what torch saw. Keys:

    x, g                         the inputs (random values, 0, tiny, near the kinks, +-8, +-40, +-1e3, ...)
                                 and a random upstream gradient of the same shape
    special_x, special_g         NaN, +-inf
    <case>_y, <case>_dx          the output and input gradient (backward of g) for x, and
    <case>_special_y, _dx        the same for special_x, where <case> is one of
                                 tanh, sigmoid, gelu_none, gelu_tanh,
                                 leaky_relu_<k> (slope leaky_slopes[k]; k = 0 is the default 0.01),
                                 elu_<k> (alpha elu_alphas[k]; k = 0 is the default 1.0)
    dropout2d_x, dropout2d_g     a (3, 4, 2, 5) input and upstream gradient
    dropout2d_p03_y, _dx         F.dropout2d(x, 0.3) under torch.manual_seed(0): the channels it dropped
                                 are where y is 0 (x has no zeros); the tests give tinynet that mask
    dropout2d_p1_y, _dx          p = 1: zeros, and a zero gradient
    dropout2d_eval_y             training=False: x itself
    dropout2d_3d_y               F.dropout2d(ones(2, 3, 4), 0.5): PyTorch 2.13 takes a 3-d input as (N, C, L)
                                 (with a warning), so its zeros run along the last axis only
    repr_exprs, repr_torch       layer constructors (source text, "nn.ELU(alpha=-0.5, inplace=True)") and the
                                 repr torch prints for each
    sig_<name>                   the parameters of F.<name> or nn.<Name>.__init__, "input, alpha=1.0, inplace=False"
                                 (names, order, defaults; gelu's from its docstring, it is a builtin)
"""
import inspect
import re
import warnings

import numpy as np
import torch
import torch.nn.functional as F
from _common import SEED, arr, save, t

rng = np.random.default_rng(SEED)
out = {}


edges = [0.0, -0.0, 1e-300, -1e-300, 1e-8, -1e-8, 0.05, -0.05, 0.5, -0.5, 1.0, -1.0, 1.5, -1.5, 2.0, -2.0,
         3.0, -3.0, 5.0, -5.0, 8.0, -8.0, 10.0, -10.0, 20.0, -20.0, 40.0, -40.0, 1e3, -1e3, 1e6, -1e6]
x = np.concatenate([edges, rng.normal(0.0, 1.0, 40), rng.normal(0.0, 4.0, 40), rng.uniform(-30.0, 30.0, 20)])
g = rng.normal(size=x.shape)
special_x = np.array([np.nan, np.inf, -np.inf])
special_g = rng.normal(size=special_x.shape)
leaky_slopes = np.array([0.01, 0.2, -0.5, 1.5, 0.0])
elu_alphas = np.array([1.0, 0.5, -0.7, 2.0, 0.0])
out.update(x=x, g=g, special_x=special_x, special_g=special_g, leaky_slopes=leaky_slopes, elu_alphas=elu_alphas)

cases = {"tanh": torch.tanh, "sigmoid": torch.sigmoid, "gelu_none": F.gelu,
         "gelu_tanh": lambda v: F.gelu(v, approximate="tanh")}
for k, slope in enumerate(leaky_slopes):
    cases[f"leaky_relu_{k}"] = (lambda s: (lambda v: F.leaky_relu(v, s)))(float(slope))
for k, alpha in enumerate(elu_alphas):
    cases[f"elu_{k}"] = (lambda a: (lambda v: F.elu(v, a)))(float(alpha))
cases["leaky_relu_default"] = F.leaky_relu  # PyTorch's default arguments, to pin ours
cases["elu_default"] = F.elu

for name, fn in cases.items():
    for suffix, inputs, upstream in (("", x, g), ("_special", special_x, special_g)):
        tx = t(inputs, True)
        y = fn(tx)
        y.backward(t(upstream))
        out[f"{name}{suffix}_y"] = arr(y)
        out[f"{name}{suffix}_dx"] = arr(tx.grad)

# --- dropout2d -----------------------------------------------------------------------------------------------
dx_in = rng.uniform(0.5, 2.0, (3, 4, 2, 5)) * rng.choice([-1.0, 1.0], (3, 4, 2, 5))  # never 0
dg = rng.normal(size=dx_in.shape)
out.update(dropout2d_x=dx_in, dropout2d_g=dg)
for name, kwargs in (("p03", dict(p=0.3)), ("p1", dict(p=1.0))):
    torch.manual_seed(0)
    tx = t(dx_in, True)
    y = F.dropout2d(tx, **kwargs)
    y.backward(t(dg))
    out[f"dropout2d_{name}_y"] = arr(y)
    out[f"dropout2d_{name}_dx"] = arr(tx.grad)
out["dropout2d_eval_y"] = arr(F.dropout2d(t(dx_in), 0.5, training=False))
torch.manual_seed(0)
with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # "Received a 3D input to dropout2d and assuming ... (N, C, L)"
    out["dropout2d_3d_y"] = arr(F.dropout2d(t(np.ones((2, 3, 4))), 0.5))

# --- the layers' reprs, and every signature ------------------------------------------------------------------
from torch import nn  # noqa: E402

repr_exprs = ["nn.ReLU()", "nn.ReLU(inplace=True)", "nn.LeakyReLU()", "nn.LeakyReLU(0)", "nn.LeakyReLU(0.2, True)",
              "nn.LeakyReLU(negative_slope=-1.5)", "nn.ELU()", "nn.ELU(1)", "nn.ELU(alpha=-0.5, inplace=True)",
              "nn.Tanh()", "nn.Sigmoid()", "nn.GELU()", "nn.GELU('tanh')", "nn.GELU(approximate='none')",
              "nn.Softmax()", "nn.Softmax(dim=1)", "nn.Softmax(-1)", "nn.LogSoftmax()", "nn.LogSoftmax(0)",
              "nn.Identity()", "nn.Identity(3, 'a', b=4)", "nn.Dropout()", "nn.Dropout(0.25, True)",
              "nn.Dropout2d()", "nn.Dropout2d(p=0.1)", "nn.Dropout2d(1, inplace=True)", "nn.Dropout2d(0)"]
out["repr_exprs"] = np.array(repr_exprs)
out["repr_torch"] = np.array([repr(eval(e, {"nn": nn})) for e in repr_exprs])


def parameters(fn):
    if fn is F.gelu:  # a builtin: "gelu(input, approximate = 'none') -> Tensor" heads its docstring
        inside = re.match(r"gelu\((.*?)\)", fn.__doc__.strip()).group(1)
        return re.sub(r"\s*=\s*", "=", inside)
    return ", ".join(p.name if p.default is inspect.Parameter.empty else f"{p.name}={p.default!r}"
                     for p in inspect.signature(fn).parameters.values() if p.name != "self")


for name in ("relu", "leaky_relu", "elu", "tanh", "sigmoid", "gelu", "dropout", "dropout2d"):
    out[f"sig_{name}"] = np.array(parameters(getattr(F, name)))
for name in ("ReLU", "LeakyReLU", "ELU", "GELU", "Softmax", "LogSoftmax", "Identity", "Dropout", "Dropout2d"):
    out[f"sig_{name}"] = np.array(parameters(getattr(nn, name).__init__))

save("activation", out)
