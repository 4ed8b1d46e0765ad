"""PyTorch's convolution and padding, stored for tests/functional/test_conv.py, tests/nn/test_conv.py and
tests/functional/test_padding.py: python tools/torch_reference/conv.py

Writes tests/fixtures/torch_conv.npz, every array float64:

    conv cases   <name>__x, __w, __b (cases with a bias), __y, __gy, __gx, __gw, __gb (with a bias)
                 y = nn.Conv2d(**args)(x) with the layer's weight and bias set to w and b (so
                 padding_mode is the module's own), gy a random upstream gradient, g* the gradients
                 of sum(y * gy)
    pad cases    <name>__x, __y, __gy, __gx: y = F.pad(x, pad, mode, value)

and ``conv_cases`` / ``pad_cases``, JSON lists of each case's name and arguments, so the tests call
our ops with the same ones. The conv cases cover stride, integer and pair padding, "valid", "same"
(odd and even kernels, with dilation), dilation with stride, groups, every padding mode (also with
"same"), and unbatched inputs; the pad cases every mode on 1, 2 and 3 padded dimensions, asymmetric
pads, the largest pad each mode allows, constant values and negative (cropping) constant pads.
"""
import json

import numpy as np
import torch
import torch.nn.functional as F

from _common import SEED, arr, save, t

rng = np.random.default_rng(SEED)

# name, x shape, (in, out, kernel), conv args beyond those, bias
CONV = [
    ("plain", (2, 3, 5, 5), (3, 4, 3), dict(), True),
    ("stride2_pad1", (2, 2, 7, 6), (2, 3, 3), dict(stride=2, padding=1), True),
    ("pairs", (1, 2, 7, 8), (2, 2, (3, 2)), dict(stride=(2, 1), padding=(1, 2)), False),
    ("valid", (1, 2, 6, 5), (2, 3, (3, 2)), dict(padding="valid"), True),
    ("same_odd", (2, 2, 5, 6), (2, 3, 3), dict(padding="same"), True),
    ("same_even", (1, 2, 5, 6), (2, 2, (4, 2)), dict(padding="same"), True),
    ("same_dilation", (1, 2, 7, 6), (2, 2, 3), dict(padding="same", dilation=(2, 3)), True),
    ("same_even_dilation", (1, 1, 6, 7), (1, 2, (2, 4)), dict(padding="same", dilation=(3, 1)), False),
    ("dilation2", (2, 2, 9, 8), (2, 3, 3), dict(dilation=2), True),
    ("dilation_stride_pad", (1, 2, 11, 10), (2, 2, (3, 2)), dict(stride=(2, 3), padding=(2, 1), dilation=(2, 3)),
     True),
    ("dilation_stride_coprime", (1, 1, 12, 11), (1, 2, 3), dict(stride=3, dilation=2, padding=1), True),
    ("groups2", (2, 4, 5, 5), (4, 6, 3), dict(padding=1, groups=2), True),
    ("groups_dilation", (1, 6, 8, 8), (6, 3, 2), dict(dilation=2, groups=3, stride=2), True),
    ("depthwise", (1, 3, 5, 6), (3, 3, 3), dict(padding=1, groups=3), False),
    ("kernel_spans_padded", (1, 1, 3, 3), (1, 1, 3), dict(padding=1, dilation=2), True),
    ("unbatched", (3, 6, 5), (3, 2, 3), dict(stride=2, padding=1), True),
    ("unbatched_same", (2, 5, 5), (2, 2, 2), dict(padding="same"), True),
    ("reflect", (2, 2, 5, 6), (2, 3, 3), dict(padding=2, padding_mode="reflect"), True),
    ("reflect_pair_stride", (1, 2, 6, 7), (2, 2, 3), dict(padding=(1, 2), stride=2, padding_mode="reflect"), True),
    ("replicate", (1, 2, 4, 5), (2, 2, 3), dict(padding=3, padding_mode="replicate"), True),
    ("circular", (1, 2, 4, 5), (2, 2, (3, 2)), dict(padding=(2, 1), padding_mode="circular"), True),
    ("circular_groups_dilation", (1, 4, 6, 6), (4, 4, 3), dict(padding=2, dilation=2, groups=2,
                                                                padding_mode="circular"), True),
    ("reflect_same_even", (1, 2, 5, 6), (2, 2, 4), dict(padding="same", padding_mode="reflect"), True),
    ("replicate_same_dilation", (1, 1, 6, 6), (1, 2, 3), dict(padding="same", dilation=2,
                                                               padding_mode="replicate"), False),
    ("circular_valid", (1, 2, 5, 5), (2, 2, 3), dict(padding="valid", padding_mode="circular"), True),
    ("reflect_unbatched", (2, 5, 6), (2, 3, 3), dict(padding=1, padding_mode="reflect"), True),
]

# name, x shape, pad, mode, value (None: the default)
PAD = [
    ("constant_last", (2, 3, 4), (1, 2), "constant", None),
    ("constant_2d_value", (1, 2, 3, 4), (2, 0, 1, 3), "constant", -1.5),
    ("constant_crop", (1, 1, 4, 5), (-1, 2, 1, -2), "constant", 0.5),
    ("constant_crop_all", (1, 2, 3, 3), (-2, -1, 0, 0), "constant", None),
    ("constant_3dims", (2, 3, 2, 3), (1, 0, 0, 2, 1, 1), "constant", 2.0),
    ("constant_2d_input", (3, 4), (1, 1, 2, 0), "constant", None),
    ("constant_every_dim", (2, 3), (1, 1, 1, 2), "constant", 3.0),
]
for mode in ("reflect", "replicate", "circular"):
    PAD += [
        (f"{mode}_1d_batched", (2, 3, 5), (2, 3), mode, None),
        (f"{mode}_1d_unbatched", (3, 5), (1, 0), mode, None),
        (f"{mode}_2d", (2, 2, 4, 5), (1, 2, 3, 1), mode, None),
        (f"{mode}_2d_unbatched", (2, 4, 5), (0, 2, 2, 0), mode, None),
        (f"{mode}_3d", (1, 2, 3, 4, 5), (1, 1, 2, 0, 1, 2), mode, None),
        (f"{mode}_3d_unbatched", (2, 3, 4, 4), (2, 0, 0, 1, 2, 2), mode, None),
    ]
PAD += [
    ("reflect_largest", (1, 1, 3, 4), (3, 3, 2, 2), "reflect", None),  # pad = size - 1
    ("circular_largest", (1, 1, 3, 4), (4, 4, 3, 3), "circular", None),  # pad = size
    ("replicate_larger_than_size", (1, 1, 2, 3), (5, 4, 3, 6), "replicate", None),
    ("replicate_size1", (1, 2, 1, 1), (2, 1, 1, 3), "replicate", None),
    ("reflect_zero_value", (1, 1, 3, 3), (1, 1, 1, 1), "reflect", 0.0),
]


def run_conv(name, x_shape, layer, args, bias):
    in_channels, out_channels, kernel = layer
    conv = torch.nn.Conv2d(in_channels, out_channels, kernel, bias=bias, dtype=torch.float64, **args)
    x = rng.standard_normal(x_shape)
    w = rng.standard_normal(tuple(conv.weight.shape))
    out = {"x": x, "w": w}
    with torch.no_grad():
        conv.weight.copy_(t(w))
        if bias:
            b = rng.standard_normal(out_channels)
            conv.bias.copy_(t(b))
            out["b"] = b
    xt = t(x, True)
    y = conv(xt)
    gy = rng.standard_normal(tuple(y.shape))
    y.backward(t(gy))
    out.update(y=arr(y), gy=gy, gx=arr(xt.grad), gw=arr(conv.weight.grad))
    if bias:
        out["gb"] = arr(conv.bias.grad)
    return out


def run_pad(name, x_shape, pad, mode, value):
    x = rng.standard_normal(x_shape)
    xt = t(x, True)
    y = F.pad(xt, pad, mode=mode, value=value)
    gy = rng.standard_normal(tuple(y.shape))
    y.backward(t(gy))
    return {"x": x, "y": arr(y), "gy": gy, "gx": arr(xt.grad)}


arrays = {}
conv_cases = []
for name, x_shape, layer, args, bias in CONV:
    for key, value in run_conv(name, x_shape, layer, args, bias).items():
        arrays[f"conv_{name}__{key}"] = np.ascontiguousarray(value)
    conv_cases.append(dict(name=f"conv_{name}", layer=list(layer[:2]) + [layer[2]], args=args, bias=bias))
pad_cases = []
for name, x_shape, pad, mode, value in PAD:
    for key, array in run_pad(name, x_shape, pad, mode, value).items():
        arrays[f"pad_{name}__{key}"] = np.ascontiguousarray(array)
    pad_cases.append(dict(name=f"pad_{name}", pad=list(pad), mode=mode, value=value))
arrays["conv_cases"] = np.array(json.dumps(conv_cases))
arrays["pad_cases"] = np.array(json.dumps(pad_cases))
save("conv", arrays)
