"""AlexNet and its variants, assembled only from tinynet.nn modules.

Every variant has the same skeleton, named as torchvision names it:

    features     5 convolutions, each followed by ReLU, some by LRN and an
                 overlapping 3x3 stride-2 max-pool
    avgpool      (torchvision variant only) adaptive average pool to 6x6
    flatten      (N, C, 6, 6) -> (N, C*36)
    classifier   Dropout, Linear, ReLU, Dropout, Linear, ReLU, Linear

Variants (see docs/alexnet.md for the walk through every shape):

    "seed"        224x224 input; 96-256-384-384-256 filters; 62,378,344 parameters
                  (1000 classes). The single-GPU form of the paper's net used by
                  most re-implementations, without LRN.
    "paper"       Krizhevsky, Sutskever & Hinton, "ImageNet Classification with Deep
                  Convolutional Neural Networks", NIPS 2012: 227x227 input, LRN after
                  the ReLUs of conv1 and conv2, conv2/conv4/conv5 in two groups (the
                  two-GPU layout). 60,965,224 parameters.
    "torchvision" the 64-192-384-256-256 net of torchvision.models.alexnet
                  (Krizhevsky, "One weird trick for parallelizing convolutional
                  neural networks", 2014), with its parameter names
                  (features.0.weight ... classifier.6.bias). 61,100,840 parameters.
    "mini"        the same pattern scaled for 64x64 images and two CPU cores:
                  32-64-96-96-64 filters, 256-unit dense layers, no dropout by default
                  (dropout 0.5 on 256 units held the main job's net under 25% top-1 for
                  six epochs, where without it the net reaches 90% in seven; measured).

Initialisation presets (independent of the variant):

    "pytorch"     PyTorch's default for Conv2d and Linear (nn.init.default_init_).
    "paper"       the paper's: weights ~ N(0, 0.01^2); biases 1 in conv2, conv4,
                  conv5 and the first two dense layers, 0 elsewhere.
    "kaiming"     He et al. (2015): weights ~ N(0, 2 / fan_in) before every ReLU, so a
                  layer keeps the variance of its input; N(0, 1 / fan_in) for the last
                  dense layer; biases 0. The mini variant's default.

Why the mini variant does not use PyTorch's default: U(-1/sqrt(fan_in), 1/sqrt(fan_in))
has variance 1 / (3 fan_in), and a ReLU halves the second moment, so each of the eight
weight layers scales the signal's second moment by 1/6. After eight layers the input's
part of the logits is about 6^-4 (1/1300) of its size, the biases decide the output,
and the gradients that reach the convolutions are as small. Trained on the synthetic
set with SGD, that net stays at chance (loss ln 10) for several epochs; the kaiming
preset starts learning in the first (measured; see tinynet.train.MAIN_JOB).
"""
from dataclasses import dataclass

from kernels.sizes import conv_output_size
from tinynet import nn
from tinynet.nn import init


@dataclass(frozen=True)
class ConvSpec:
    """One convolution of the feature extractor and what follows its ReLU."""

    out_channels: int
    kernel: int
    stride: int = 1
    padding: int = 0
    groups: int = 1
    lrn: bool = False  # LocalResponseNorm after the ReLU
    pool: bool = False  # MaxPool2d(3, 2) after the ReLU (and LRN)


@dataclass(frozen=True)
class Variant:
    input_size: int  # square input side the variant is designed for
    convs: tuple
    hidden: int  # width of the two hidden dense layers
    default_init: str
    adaptive_pool: bool = False  # torchvision's AdaptiveAvgPool2d((6, 6)) before flatten
    dropout: float = 0.5  # before the first two dense layers
    source: str = ""


# The paper's LRN: k=2, n=5, alpha=1e-4, beta=0.75 with b = a / (k + alpha * sum a^2)^beta.
# tinynet (like PyTorch) divides alpha by the window size, so the paper's alpha is 5 * 1e-4 here.
PAPER_LRN = dict(size=5, alpha=5e-4, beta=0.75, k=2.0)

VARIANTS = {
    "seed": Variant(
        input_size=224,
        convs=(
            ConvSpec(96, 11, stride=4, padding=2, pool=True),
            ConvSpec(256, 5, padding=2, pool=True),
            ConvSpec(384, 3, padding=1),
            ConvSpec(384, 3, padding=1),
            ConvSpec(256, 3, padding=1, pool=True),
        ),
        hidden=4096,
        default_init="pytorch",
        source="the single-GPU AlexNet of the paper's layer sizes, without LRN or groups",
    ),
    "paper": Variant(
        input_size=227,
        convs=(
            ConvSpec(96, 11, stride=4, lrn=True, pool=True),
            ConvSpec(256, 5, padding=2, groups=2, lrn=True, pool=True),
            ConvSpec(384, 3, padding=1),
            ConvSpec(384, 3, padding=1, groups=2),
            ConvSpec(256, 3, padding=1, groups=2, pool=True),
        ),
        hidden=4096,
        default_init="paper",
        source="Krizhevsky, Sutskever and Hinton, NIPS 2012 (two-GPU layout as groups=2)",
    ),
    "torchvision": Variant(
        input_size=224,
        convs=(
            ConvSpec(64, 11, stride=4, padding=2, pool=True),
            ConvSpec(192, 5, padding=2, pool=True),
            ConvSpec(384, 3, padding=1),
            ConvSpec(256, 3, padding=1),
            ConvSpec(256, 3, padding=1, pool=True),
        ),
        hidden=4096,
        default_init="pytorch",
        adaptive_pool=True,
        source="torchvision.models.alexnet (Krizhevsky, 'One weird trick', 2014)",
    ),
    "mini": Variant(
        input_size=64,
        convs=(
            ConvSpec(32, 5, stride=2, padding=2, pool=True),
            ConvSpec(64, 3, padding=1, pool=True),
            ConvSpec(96, 3, padding=1),
            ConvSpec(96, 3, padding=1),
            ConvSpec(64, 3, padding=1, pool=True),
        ),
        hidden=256,
        default_init="kaiming",
        dropout=0.0,
        source="tinynet's scaled-down AlexNet for 64x64 images on two CPU cores",
    ),
}

INITS = ("pytorch", "paper", "kaiming")


def _feature_size(variant: Variant, input_size: int) -> int:
    """Side of the convolution stack's output for a square input of side ``input_size``; 0 when some
    layer's output vanishes."""
    size = input_size
    for c in variant.convs:
        size = conv_output_size(size, c.kernel, c.stride, c.padding)
        if c.pool:
            size = conv_output_size(size, 3, 2, 0)  # MaxPool2d(3, 2)
        if size < 1:
            return 0
    return size


def min_input_size(variant: str) -> int:
    """The smallest square input side that the variant's convolutions and pools can take."""
    spec = VARIANTS[variant]
    size = 1
    while _feature_size(spec, size) < 1:
        size += 1
    return size


def parameter_count(variant: str, num_classes: int, input_size: int) -> int:
    """The number of parameters of ``alexnet(variant, num_classes, input_size=input_size)``, counted
    from the layer sizes without building it (a checkpoint's metadata is checked against it first).

        conv:   out * (in / groups) * k * k + out        dense:  in * out + out
    """
    spec = VARIANTS[variant]
    count, channels = 0, 3
    for c in spec.convs:
        count += c.out_channels * (channels // c.groups) * c.kernel * c.kernel + c.out_channels
        channels = c.out_channels
    widths = [channels * _spatial_size(spec, input_size) ** 2, spec.hidden, spec.hidden, num_classes]
    return count + sum(a * b + b for a, b in zip(widths, widths[1:]))


def _spatial_size(variant: Variant, input_size: int) -> int:
    """Side of the last feature map for a square input of side ``input_size`` (6 for the 224/227 variants)."""
    size = _feature_size(variant, input_size)
    if size < 1:
        raise ValueError(f"an input of side {input_size} is too small for this AlexNet: the feature map vanishes")
    return 6 if variant.adaptive_pool else size


class AlexNet(nn.Module):
    """features -> [avgpool] -> flatten -> classifier. Input (N, 3, S, S), output (N, num_classes)."""

    def __init__(self, variant="seed", num_classes=1000, dropout=None, input_size=None, lrn_groups=1):
        super().__init__()
        if variant not in VARIANTS:
            raise ValueError(f"unknown AlexNet variant {variant!r}; choose one of {', '.join(VARIANTS)}")
        spec = VARIANTS[variant]
        self.variant, self.num_classes = variant, num_classes
        self.input_size = spec.input_size if input_size is None else int(input_size)
        dropout = spec.dropout if dropout is None else dropout

        layers, in_channels = [], 3
        for c in spec.convs:
            conv = nn.Conv2d(in_channels, c.out_channels, c.kernel, c.stride, c.padding, groups=c.groups)
            layers += [conv, nn.ReLU()]
            if c.lrn:
                layers.append(nn.LocalResponseNorm(**PAPER_LRN, groups=lrn_groups))
            if c.pool:
                layers.append(nn.MaxPool2d(kernel_size=3, stride=2))
            in_channels = c.out_channels
        self.features = nn.Sequential(*layers)
        if spec.adaptive_pool:
            self.avgpool = nn.AdaptiveAvgPool2d((6, 6))
        self.flatten = nn.Flatten()
        side = _spatial_size(spec, self.input_size)
        self.classifier = nn.Sequential(
            nn.Dropout(dropout),
            nn.Linear(in_channels * side * side, spec.hidden),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(spec.hidden, spec.hidden),
            nn.ReLU(),
            nn.Linear(spec.hidden, num_classes),
        )

    def forward(self, x):
        x = self.features(x)
        if "avgpool" in self._modules:
            x = self.avgpool(x)
        return self.classifier(self.flatten(x))


def init_paper_(model):
    """The paper's initialisation: weights N(0, 0.01^2); biases 1 in conv2, conv4, conv5 and the
    first two dense layers, 0 in the others."""
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    dense = [m for m in model.modules() if isinstance(m, nn.Linear)]
    for m in convs + dense:
        init.normal_(m.weight, 0.0, 0.01)
        if m.bias is not None:
            init.zeros_(m.bias)
    for m in [convs[i] for i in (1, 3, 4) if i < len(convs)] + dense[:2]:
        if m.bias is not None:
            init.ones_(m.bias)
    return model


def init_pytorch_(model):
    """PyTorch's default initialisation for every Conv2d and Linear."""
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            m.reset_parameters()
    return model


def init_kaiming_(model):
    """He et al.'s initialisation: N(0, 2 / fan_in) for the weights of every layer followed by a
    ReLU, N(0, 1 / fan_in) for the last dense layer (no ReLU after it), biases 0."""
    layers = [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    for i, m in enumerate(layers):
        last = i == len(layers) - 1
        init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="linear" if last else "relu")
        if m.bias is not None:
            init.zeros_(m.bias)
    return model


def alexnet(variant="seed", num_classes=1000, init=None, dropout=None, input_size=None, lrn_groups=1):
    """Build an AlexNet.

    Args:
        variant: "seed" (default), "paper", "torchvision" or "mini" (see the module docstring).
        num_classes: size of the last dense layer.
        init: "pytorch", "paper" or "kaiming"; default: the paper's for the "paper" variant,
            kaiming for "mini", PyTorch's otherwise.
        dropout: dropout probability before the first two dense layers (default: the
            variant's, 0.5 as in the paper, 0 for "mini").
        input_size: side of the square input the first dense layer is sized for
            (default: the variant's own, e.g. 224; ignored by "torchvision", whose
            adaptive pool always yields 6x6).
        lrn_groups: 1 (default): each LRN normalises over all the channels, as single-GPU
            reimplementations (and every checkpoint so far) do; 2: within each half of the channels,
            as each of the paper's two GPUs normalised only its own kernel maps (the form a two-process
            model-parallel run computes). The weights are the same either way; only the outputs differ.
    """
    model = AlexNet(variant, num_classes, dropout, input_size, lrn_groups)
    init = VARIANTS[variant].default_init if init is None else init
    if init == "paper":
        init_paper_(model)
    elif init == "pytorch":
        init_pytorch_(model)
    elif init == "kaiming":
        init_kaiming_(model)
    else:
        raise ValueError(f"unknown initialisation {init!r}; choose one of {', '.join(INITS)}")
    return model
