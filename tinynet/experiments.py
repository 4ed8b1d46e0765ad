"""AlexNet's claims as paired runs: ``tinynet experiment relu-tanh | pooling | lrn | dropout | augmentation | all``.

Each experiment trains two arms that differ only in what the claim is about, over several
seeds, and prints a table: the paper's figure, ours (mean and spread over the seeds), and
whether the paper's direction holds here. It draws a plot and writes the numbers as JSON
into ``<output dir>/<name>/`` (``<name>.png``, ``<name>.json``). docs/experiments.md gives
each claim, the command and our result.

    relu-tanh     the paper's Figure 1: a four-layer net (three convolutions, one dense layer;
                  ``four_layer_net``) with ReLUs reaches 25% training error six times faster
                  (in epochs) than the same net with tanh
    pooling       overlapping max-pooling (3x3, stride 2) against non-overlapping (2x2, stride 2):
                  top-1 error 0.4% lower, top-5 0.3% lower
    lrn           local response normalisation after conv1 and conv2 (the paper's k=2, n=5,
                  alpha=1e-4, beta=0.75): top-1 1.4% lower, top-5 1.2% lower
    dropout       dropout 0.5 before the first two dense layers: without it, substantial overfitting
    augmentation  random crops, horizontal flips and PCA lighting: less overfitting

How the arms are kept paired. For one seed both arms start from the same weights (the model
is built right after seeding, and the arms have the same parameters: what differs has none
or, for pooling, the same shapes), see the same batches in the same order, and draw the
same dropout masks' seeds. ``check_arms`` compares the two models' layer lists and refuses
a pair that differs anywhere but in the layers under test (tests/test_experiments.py runs it
for every experiment).

The mini AlexNet (tinynet/models/alexnet.py) is the other experiments' net. For ``pooling``
both arms get their feature maps of the same size: the overlapping arm pools with
``ceil_mode=True`` (as Caffe, whose AlexNet the paper's sizes come from, rounds), so
16 -> 8 -> 4 on a 64x64 input for 3x3/2 and 2x2/2 alike, and the dense layers are the same.

Training: cross-entropy, weight decay 5e-4, a constant learning rate (each claim's default
optimizer and rate in CLAIMS: SGD with momentum 0.9 at 0.003 for relu-tanh, Adam at 3e-4 for
the mini AlexNet), on the whole set held in memory as uint8 (normalised per channel with the
training set's mean and spread). The training error of an epoch is counted on the batches
as they are trained (in train mode, as a running figure), which is what a training curve
such as the paper's Figure 1 shows; the overfitting rows compare the validation error with
the training error measured as the validation error is (eval mode, no augmentation, on a
fixed subset of the training images as large as the validation set). Validation is on the held-out split
(val/ of an image folder, the test split of CIFAR or MNIST files). Top-5 is reported only
with 20 classes or more (with 10, five guesses are half the classes).

Inputs are the whole image. In ``augmentation`` the augmented arm's training images are
flipped with probability 1/2, shifted by up to 1/16 of the side each way (the translations of
the paper's random crops, 224 of 256, keeping the image's size, so the two arms are the same model) and
given PCA lighting (tinynet.data.transforms.PCALighting); both arms are validated on the
images as they are.
"""
import json
import math
import os
import tempfile
import textwrap
import time
from dataclasses import asdict, dataclass

import numpy as np

from kernels.sizes import conv_output_size
from tinynet import backend, nn
from tinynet import functional as F
from tinynet.autograd import no_grad
from tinynet.data import transforms
from tinynet.models.alexnet import PAPER_LRN, alexnet, init_kaiming_, min_input_size
from tinynet.optim import SGD, Adam
from tinynet._tensor import Tensor

NAMES = ("relu-tanh", "pooling", "lrn", "dropout", "augmentation")
DEFAULT_OUTPUT_DIR = os.path.join("runs", "experiments")
TARGET_ERROR = 0.25  # Figure 1's line: epochs until the training error first reaches 25%


@dataclass(frozen=True)
class Claim:
    """One of the paper's claims and how an experiment measures it."""

    name: str
    arms: tuple  # (label of the arm with the paper's choice, label of the other)
    tested: tuple  # the layer types the two arms may differ in (empty: the same model, different data)
    claim: str  # the paper's words, shortened
    paper: dict  # the paper's figures
    net: str  # "four-layer" or "mini"
    epochs: int  # default epochs
    quick_epochs: int
    optimizer: str = "adam"  # the default --optimizer and --lr
    lr: float = 3e-4
    side: int = None  # images are scaled to this side first (None: as the data has them)


CLAIMS = {
    "relu-tanh": Claim(
        "relu-tanh", ("ReLU", "tanh"), ("ReLU", "Tanh"),
        "a four-layer convolutional net with ReLUs reaches 25% training error on CIFAR-10 six times faster "
        "than the same net with tanh neurons (Figure 1)",
        {"speedup": 6.0}, "four-layer", epochs=8, quick_epochs=4, optimizer="sgd", lr=0.003, side=32),
    "pooling": Claim(
        "pooling", ("overlapping 3x3/2", "non-overlapping 2x2/2"), ("MaxPool2d",),
        "overlapping pooling (z=3, s=2) lowers top-1 and top-5 error by 0.4% and 0.3% against z=2, s=2",
        {"top1": -0.4, "top5": -0.3}, "mini", epochs=6, quick_epochs=3),
    "lrn": Claim(
        "lrn", ("with LRN", "without LRN"), ("LocalResponseNorm",),
        "response normalisation lowers top-1 and top-5 error by 1.4% and 1.2%",
        {"top1": -1.4, "top5": -1.2}, "mini", epochs=6, quick_epochs=3),
    "dropout": Claim(
        "dropout", ("dropout 0.5", "no dropout"), ("Dropout",),
        "without dropout the network exhibits substantial overfitting",
        {"gap": "substantial without dropout"}, "mini", epochs=6, quick_epochs=3),
    "augmentation": Claim(
        "augmentation", ("augmented", "not augmented"), (),
        "random crops, horizontal flips and PCA lighting reduce overfitting",
        {"gap": "smaller with augmentation"}, "mini", epochs=6, quick_epochs=3),
}


@dataclass
class Settings:
    """What a run of an experiment used (written into its JSON)."""

    seeds: int = 3
    optimizer: str = None  # "sgd" or "adam"; None: the claim's default
    epochs: int = None  # None: the claim's default
    batch_size: int = 32
    lr: float = None  # None: the claim's default
    momentum: float = 0.9
    weight_decay: float = 5e-4
    conv_algorithm: str = "auto"  # every convolution's algorithm (tinynet train's --conv-algorithm)
    train_limit: int = None  # at most this many training images (a class-balanced subset), None: all
    val_limit: int = None
    quick: bool = False
    device: str = "cpu"
    data: str = ""


# --- the nets -------------------------------------------------------------------------------------

def four_layer_net(activation="relu", num_classes=10, in_channels=3, input_size=32):
    """The relu-tanh experiment's net: three convolutions and one dense layer. Input (N, 3, S, S).

        conv 5x5, 32, pad 2 -> act -> max-pool 3x3/2 (ceil)      S -> S/2
        conv 5x5, 64, pad 2 -> act -> max-pool 3x3/2 (ceil)      -> S/4
        conv 3x3, 64, pad 1 -> act -> max-pool 3x3/2 (ceil)      -> S/8
        flatten -> dense (64 * (S/8)^2 -> num_classes)

    ``activation`` is "relu" or "tanh"; the weights are He et al.'s for both (N(0, 2 / fan_in), the dense
    layer's N(0, 1 / fan_in): tinynet.models.alexnet.init_kaiming_), so a seed gives both arms the same
    starting weights.
    """
    act = {"relu": nn.ReLU, "tanh": nn.Tanh}[activation]
    layers, c = [], in_channels
    for out, k in ((32, 5), (64, 5), (64, 3)):
        layers += [nn.Conv2d(c, out, k, padding=k // 2), act(), nn.MaxPool2d(3, 2, ceil_mode=True)]
        c = out
    side = _side_after(layers, input_size)
    model = nn.Sequential(*layers, nn.Flatten(), nn.Linear(c * side * side, num_classes))
    return init_kaiming_(model)


def mini_alexnet(num_classes, input_size, pool="overlapping", lrn=False, dropout=0.0):
    """The mini AlexNet with one thing changed: its max-pools (``pool``: "stock" 3x3/2 as the variant has
    it, "overlapping" 3x3/2 rounding up, "non-overlapping" 2x2/2), LRN after the ReLUs of conv1 and conv2
    (``lrn``), and ``dropout`` before the first two dense layers."""
    model = alexnet("mini", num_classes=num_classes, dropout=dropout, input_size=input_size)
    layers = list(model.features)
    if pool != "stock":
        make = {"overlapping": lambda: nn.MaxPool2d(3, 2, ceil_mode=True),
                "non-overlapping": lambda: nn.MaxPool2d(2, 2)}[pool]
        layers = [make() if isinstance(m, nn.MaxPool2d) else m for m in layers]
    if lrn:
        relus = [i for i, m in enumerate(layers) if isinstance(m, nn.ReLU)][:2]
        for i in reversed(relus):
            layers.insert(i + 1, nn.LocalResponseNorm(**PAPER_LRN))
    side = _side_after(layers, input_size)
    if side != _side_after(model.features, input_size):  # the stock pools round down: another dense width
        channels = [m for m in layers if isinstance(m, nn.Conv2d)][-1].out_channels
        model.classifier[1] = nn.Linear(channels * side * side, model.classifier[1].out_features)
    model.features = nn.Sequential(*layers)
    return init_kaiming_(model)


def _side_after(layers, size):
    """Side of the feature map that ``layers`` (convolutions and max-pools; others keep the size) make of a
    size x size input: kernels.sizes.conv_output_size, layer by layer."""
    for m in layers:
        if isinstance(m, (nn.Conv2d, nn.MaxPool2d)):
            k, s, p, d = (_first(getattr(m, a)) for a in ("kernel_size", "stride", "padding", "dilation"))
            size = conv_output_size(size, k, s, p, d, ceil_mode=getattr(m, "ceil_mode", False))
    return size


def _first(v):
    return v[0] if isinstance(v, (tuple, list)) else v


def build_arm(name, arm, num_classes, input_size):
    """The model of arm 0 (the paper's choice) or arm 1 of experiment ``name``."""
    if name == "relu-tanh":
        return four_layer_net(("relu", "tanh")[arm], num_classes, input_size=input_size)
    if name == "pooling":
        return mini_alexnet(num_classes, input_size, pool=("overlapping", "non-overlapping")[arm])
    if name == "lrn":
        return mini_alexnet(num_classes, input_size, pool="stock", lrn=(arm == 0))
    if name == "dropout":
        return mini_alexnet(num_classes, input_size, pool="stock", dropout=(0.5, 0.0)[arm])
    if name == "augmentation":
        return mini_alexnet(num_classes, input_size, pool="stock")
    raise ValueError(f"unknown experiment {name!r}; choose one of {', '.join(NAMES)} or all")


def layer_list(model):
    """[(type name, its settings)] of the model's leaf layers, in order: what tells two arms apart."""
    return [(type(m).__name__, m.extra_repr()) for _, m in model.named_modules() if not list(m.children())]


def arm_differences(a, b):
    """The leaf layers in which models ``a`` and ``b`` differ: [(entries of a, entries of b)], one
    pair per run of differing layers (difflib's alignment of the two layer lists)."""
    import difflib

    la, lb = layer_list(a), layer_list(b)
    return [(la[i1:i2], lb[j1:j2]) for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=la, b=lb, autojunk=False)
            .get_opcodes() if op != "equal"]


def check_arms(name, a, b):
    """Refuse a pair of models that differ anywhere but in the layers experiment ``name`` tests (a Linear
    whose input width follows from a pooling's output is also refused: the arms keep the same sizes)."""
    tested = set(CLAIMS[name].tested)
    for left, right in arm_differences(a, b):
        other = {t for t, _ in left + right} - tested
        if other:
            raise AssertionError(f"experiment {name}: the two arms differ in {sorted(other)}, not only in the layers "
                                 f"under test ({sorted(tested) or 'none'}): {left} vs {right}")


# --- the data --------------------------------------------------------------------------------------

@dataclass
class Data:
    """The training and validation images in memory. x: (N, 3, S, S) uint8; y: (N,) int64."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    classes: list
    description: str
    mean: np.ndarray = None  # per channel, of the training images in [0, 1]
    std: np.ndarray = None
    fit_subset: np.ndarray = None  # indices of the training images evaluated in eval mode each epoch

    def __post_init__(self):
        flat = self.x_train.transpose(1, 0, 2, 3).reshape(3, -1)
        mean = np.array([c.mean(dtype=np.float64) for c in flat]) / 255.0
        std = np.array([c.std(dtype=np.float64) for c in flat]) / 255.0
        self.mean = mean.astype(np.float32)
        self.std = np.maximum(std, 1e-3).astype(np.float32)
        self.fit_subset = _balanced(self.y_train, len(self.y_val), seed=1)  # training images evaluated as val is

    def scaled(self, side):
        """The same images at ``side`` x ``side`` (Pillow's box filter: each pixel the mean of the area it covers)."""
        return Data(_scale(self.x_train, side), self.y_train, _scale(self.x_val, side), self.y_val, self.classes,
                    f"{self.description}, scaled to {side}x{side}")


def _scale(x, side):
    from PIL import Image

    out = np.empty(x.shape[:2] + (side, side), dtype=np.uint8)
    for i, img in enumerate(x):
        out[i] = np.asarray(Image.fromarray(img.transpose(1, 2, 0)).resize((side, side), Image.BOX)).transpose(2, 0, 1)
    return out


def load_data(data_path=None, train_limit=None, val_limit=None, log=print):
    """The images of ``data_path`` (train/ and val/ image folders at 64x64, or CIFAR/MNIST files at their
    own size; None: the generated set) as uint8 arrays, cut to class-balanced subsets of at most
    ``train_limit`` and ``val_limit`` images."""
    if data_path is None:
        from tinynet.train import default_data_path

        data_path = default_data_path(log=log)
    if not os.path.exists(data_path):
        raise FileNotFoundError(f"--data-path {data_path}: no such file or folder")
    if not os.path.isdir(data_path):
        raise NotADirectoryError(f"--data-path {data_path}: not a folder")
    if os.path.isdir(os.path.join(data_path, "train")):
        if not os.path.isdir(os.path.join(data_path, "val")):
            raise FileNotFoundError(f"--data-path {data_path}: has train/ but no val/ folder")
        x_tr, y_tr, classes = _read_folder(os.path.join(data_path, "train"), train_limit, log=log)
        x_va, y_va, val_classes = _read_folder(os.path.join(data_path, "val"), val_limit, log=log)
        if val_classes != classes:
            only = sorted(set(classes) ^ set(val_classes))
            raise ValueError(f"--data-path {data_path}: train/ and val/ have different classes ("
                             f"{', '.join(only[:5]) or 'the same names in another order'} in only one of them)")
        what = f"image folders at {data_path}"
    else:
        from tinynet.data import layouts

        layout = layouts.find_layout(data_path)
        if layout is None:
            raise FileNotFoundError(f"--data-path {data_path}: neither train/ and val/ image folders nor CIFAR or "
                                    "MNIST files")
        train_set, test_set = layouts.open_layout(layout)
        x_tr, y_tr = _arrays(train_set, train_limit)
        x_va, y_va = _arrays(test_set, val_limit)
        classes = list(train_set.classes)
        what = f"{train_set.format_name} at {data_path}"
    if len(classes) < 2:
        raise ValueError(f"--data-path {data_path}: an experiment needs at least 2 classes, found {len(classes)}")
    return Data(x_tr, y_tr, x_va, y_va, classes,
                f"{what}: {len(y_tr)} training and {len(y_va)} validation images of {len(classes)} classes, "
                f"{x_tr.shape[-1]}x{x_tr.shape[-2]}")


def _balanced(y, limit, seed=0):
    """Indices of at most ``limit`` samples, as equal a share of every class as there is (sorted)."""
    if limit is None or limit >= len(y):
        return np.arange(len(y))
    rng = np.random.default_rng(seed)
    by_class = [rng.permutation(np.flatnonzero(y == c)) for c in np.unique(y)]
    picked, k = [], 0
    while len(picked) < limit:
        for idx in by_class:
            if k < len(idx) and len(picked) < limit:
                picked.append(idx[k])
        k += 1
    return np.sort(np.array(picked, dtype=np.int64))


def _read_folder(root, limit, size=64, log=print):
    """An image folder's images, each resized (shorter side) and centre-cropped to ``size``, as uint8
    (N, 3, size, size); an image that does not decode is skipped and counted in one line to ``log``."""
    from tinynet.data import ImageFolder
    from tinynet.data.folder import CorruptImageError, load_rgb

    ds = ImageFolder(root)
    y = np.array([t for _, t in ds.samples], dtype=np.int64)
    keep = _balanced(y, limit)
    resize, crop = transforms.Resize(size), transforms.CenterCrop(size)
    x = np.empty((len(keep), 3, size, size), dtype=np.uint8)
    good, skipped = [], []
    for i in keep:
        try:
            img = crop(resize(load_rgb(ds.samples[i][0])))
        except CorruptImageError as e:
            skipped.append(e)
            continue
        x[len(good)] = np.asarray(img, dtype=np.uint8).transpose(2, 0, 1)
        good.append(i)
    if skipped:
        if not good:
            raise ValueError(f"none of the {len(keep)} images in {root} decodes, e.g. {skipped[0].path}: "
                             f"{skipped[0].reason}")
        log(f"skipped {len(skipped)} image(s) in {root} that do not decode, e.g. {skipped[0].path}: "
            f"{skipped[0].reason}")
    return x[:len(good)], y[np.array(good, dtype=np.int64)], list(ds.classes)


def _arrays(ds, limit):
    y = np.asarray(ds.targets, dtype=np.int64)
    keep = _balanced(y, limit)
    x = np.asarray(ds.data)[keep]
    x = np.repeat(x[:, None], 3, axis=1) if x.ndim == 3 else x.transpose(0, 3, 1, 2)  # grey: three equal channels
    return np.ascontiguousarray(x), y[keep]


def batch_input(data, x, augment=False, rng=None):
    """uint8 (B, 3, S, S) -> float32 (B, 3, S, S), normalised with the training set's per-channel mean and
    spread. With ``augment``, per image (draws from ``rng``): a flip with probability 1/2, PCA lighting (its
    offset in [0, 1] units, divided by the spread), then a shift by up to S/16 pixels each way with the
    uncovered border 0 (the mean): the paper's 224-pixel crops of 256-pixel images lie up to 16 pixels (1/16)
    from the centre each way; here the same translations at the image's own size."""
    out = (x.astype(np.float32) / np.float32(255) - data.mean[:, None, None]) / data.std[:, None, None]
    if not augment:
        return out
    S = x.shape[-1]
    p = max(1, S // 16)
    lighting = transforms.PCALighting()
    for i in range(len(out)):
        img = out[i, :, :, ::-1] if rng.random() < 0.5 else out[i]
        img = img + (lighting.offset(rng) / data.std).astype(np.float32)[:, None, None]
        dy, dx = (int(v) for v in rng.integers(-p, p + 1, size=2))
        shifted = np.zeros_like(img)
        shifted[:, max(dy, 0):S + min(dy, 0), max(dx, 0):S + min(dx, 0)] = \
            img[:, max(-dy, 0):S + min(-dy, 0), max(-dx, 0):S + min(-dx, 0)]
        out[i] = shifted
    return out


# --- one run ------------------------------------------------------------------------------------------

def train_arm(name, arm, seed, data, settings, epochs, progress=None):
    """Train arm ``arm`` of experiment ``name`` with ``seed``; the history, one dict per epoch:
    train_loss, train_error (running, over the epoch's batches, in train mode and as augmented),
    val_loss, val_error, val_error5 (None with fewer than 20 classes), fit_error (top-1 on a fixed subset
    of the training images, evaluated as the validation images are)."""
    from tinynet.train import reseed, use_conv_algorithm

    augmentation = name == "augmentation"
    size = data.x_train.shape[-1]
    backend.manual_seed(seed)  # the same starting weights for both arms
    model = build_arm(name, arm, len(data.classes), size)
    use_conv_algorithm(model, settings.conv_algorithm)
    if settings.device != "cpu":
        model.to(settings.device)
    if settings.optimizer == "adam":
        opt = Adam(model.parameters(), lr=settings.lr, weight_decay=settings.weight_decay)
    else:
        opt = SGD(model.parameters(), lr=settings.lr, momentum=settings.momentum, weight_decay=settings.weight_decay)
    history = []
    n = len(data.y_train)
    for epoch in range(1, epochs + 1):
        reseed(seed, epoch)
        rng = np.random.default_rng([seed, epoch])  # the same order for both arms
        aug_rng = np.random.default_rng([seed, epoch, 1])
        order = rng.permutation(n)
        model.train()
        loss_sum, wrong, seen = 0.0, 0, 0
        for start in range(0, n, settings.batch_size):
            idx = order[start:start + settings.batch_size]
            x = batch_input(data, data.x_train[idx], augment=(augmentation and arm == 0), rng=aug_rng)
            y = data.y_train[idx]
            logits = model(Tensor(x, device=settings.device))
            loss = F.cross_entropy(logits, Tensor(y, device=settings.device))
            opt.zero_grad()
            loss.backward()
            opt.step()
            value = float(backend.host(loss.data))
            if not math.isfinite(value):
                raise RuntimeError(f"experiment {name}: the loss of arm {CLAIMS[name].arms[arm]!r} (seed {seed}) became "
                                   f"{value} in epoch {epoch}; try a smaller --lr than {settings.lr}")
            pred = backend.host(logits.data).argmax(axis=1)
            loss_sum += value * len(idx)
            wrong += int((pred != y).sum())
            seen += len(idx)
            if progress is not None:
                progress(len(idx))
        entry = {"epoch": epoch, "train_loss": loss_sum / seen, "train_error": wrong / seen}
        entry.update(_evaluate(model, data, settings))
        history.append(entry)
    return history


def _evaluate(model, data, settings):
    """val_loss, val_error, val_error5 on the validation images, and fit_error: the top-1 error, also in
    eval mode and without augmentation, on a fixed class-balanced subset of the training images as large
    as the validation set (what the overfitting rows compare the validation error with)."""
    val = _errors(model, data, data.x_val, data.y_val, settings)
    fit = _errors(model, data, data.x_train[data.fit_subset], data.y_train[data.fit_subset], settings)
    five = len(data.classes) >= 20
    return {"val_loss": val[0], "val_error": val[1], "val_error5": val[2] if five else None, "fit_error": fit[1]}


def _errors(model, data, xs, ys, settings):
    """(mean cross-entropy, top-1 error, top-5 error) of ``model`` in eval mode on uint8 images ``xs``."""
    from tinynet.train import accuracy_counts

    model.eval()
    loss_sum, top1, top5, n = 0.0, 0, 0, len(ys)
    with no_grad():
        for start in range(0, n, 256):
            x = batch_input(data, xs[start:start + 256])
            y = ys[start:start + 256]
            logits = backend.host(model(Tensor(x, device=settings.device)).data).astype(np.float64)
            logits -= logits.max(axis=1, keepdims=True)
            logp = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
            loss_sum += float(-logp[np.arange(len(y)), y].sum())
            c1, c5 = accuracy_counts(logp, y)
            top1, top5 = top1 + c1, top5 + c5
    model.train()
    return loss_sum / n, 1 - top1 / n, 1 - top5 / n


# --- the summary ------------------------------------------------------------------------------------

def epochs_to(history, target=TARGET_ERROR):
    """The first epoch whose training error is at most ``target``, or None if none is."""
    return next((h["epoch"] for h in history if h["train_error"] <= target), None)


def _stats(values):
    """(mean, spread) of the values that are not None, and how many were None."""
    got = [v for v in values if v is not None]
    if not got:
        return None, None, len(values)
    return float(np.mean(got)), float(np.std(got)), len(values) - len(got)


def summarise(name, runs, classes):
    """Table rows from ``runs`` = {arm index: {seed: history}}: [{metric, arms: [(mean, spread, missing)]
    per arm, ours, paper, holds}]. ``holds`` says whether the paper's direction holds: "yes", "no",
    "unclear" (the mean paired difference is within its spread over the seeds), or "-" (the row is not the
    claim's measure)."""
    claim = CLAIMS[name]
    final = {a: [runs[a][s][-1] for s in sorted(runs[a])] for a in (0, 1)}
    if name == "relu-tanh":
        reach = {a: [epochs_to(runs[a][s]) for s in sorted(runs[a])] for a in (0, 1)}
        ratios = [b / a for a, b in zip(reach[0], reach[1]) if a is not None and b is not None]
        # a seed where only ReLU got there within the run's E epochs: tanh's ratio is more than E / ReLU's
        bounds = [len(runs[1][s]) / a for s, a, b in zip(sorted(runs[0]), reach[0], reach[1]) if a and b is None]
        relu, tanh = _stats(reach[0]), _stats(reach[1])
        # Per seed, tanh's epochs minus ReLU's, a run that never got there counted as E + 1 (a bound: the
        # direction is still known), a seed where neither did left out.
        gains = [(len(runs[1][s]) + 1 if b is None else b) - (len(runs[0][s]) + 1 if a is None else a)
                 for s, a, b in zip(sorted(runs[0]), reach[0], reach[1]) if a is not None or b is not None]
        holds = _direction(float(np.mean(gains)), float(np.std(gains)), len(gains)) if gains else "unclear"
        rows = [{"metric": f"epochs to {TARGET_ERROR:.0%} training error", "arms": [relu, tanh],
                 "paper": "6x faster with ReLU", "ours": _ratio_text(ratios, bounds, reach), "holds": holds}]
        rows.append(_difference_row("final training error (%)", final, "train_error", "", None))
        return rows
    rows = [_difference_row("top-1 validation error (%)", final, "val_error", claim.paper.get("top1"),
                            "lower" if name in ("pooling", "lrn") else None)]
    if len(classes) >= 20:
        rows.append(_difference_row("top-5 validation error (%)", final, "val_error5", claim.paper.get("top5"),
                                    "lower" if name in ("pooling", "lrn") else None))
    gaps = {a: [{"gap": e["val_error"] - e["fit_error"]} for e in final[a]] for a in (0, 1)}
    rows.append(_difference_row("overfitting: val - train error (points)", gaps, "gap", claim.paper.get("gap", ""),
                                "lower" if name in ("dropout", "augmentation") else None))
    return rows


def _difference_row(metric, final, key, paper, expect):
    """A row comparing ``key`` (a fraction, shown in percent) between the arms, seed by seed; ``expect``
    "lower" when the paper's choice (arm 0) should have the lower value, None when the row only informs."""
    diffs = [100 * (a[key] - b[key]) for a, b in zip(final[0], final[1]) if a[key] is not None and b[key] is not None]
    mean, spread = (float(np.mean(diffs)), float(np.std(diffs))) if diffs else (None, None)
    holds = "-"
    if expect == "lower" and diffs:
        holds = _direction(-mean, spread, len(diffs))
    return {"metric": metric, "arms": [_pct(final[0], key), _pct(final[1], key)],
            "paper": f"{paper:+.1f}" if isinstance(paper, float) else (paper or ""),
            "ours": f"{mean:+.1f} (+-{spread:.1f})" if diffs else "n/a", "holds": holds}


def _direction(gain, spread, n):
    """"yes" when ``gain`` (the mean paired difference, positive in the paper's direction) is positive and
    beyond its spread over the ``n`` seeds, "no" when negative and beyond it, else "unclear" (a tie too)."""
    if gain == 0 or (n > 1 and abs(gain) <= spread):
        return "unclear"
    return "yes" if gain > 0 else "no"


def _pct(entries, key):
    return _stats([None if e[key] is None else 100 * e[key] for e in entries])


def _ratio_text(ratios, bounds, reach):
    """tanh's epochs over ReLU's (mean +- spread over the seeds where both got there), and the least ratio
    of the seeds where only ReLU did."""
    never = [sum(r is None for r in reach[a]) for a in (0, 1)]
    parts = [f"{np.mean(ratios):.1f}x (+-{np.std(ratios):.1f})"] if ratios else []
    if bounds:
        parts.append(f"more than {min(bounds):.1f}x in {len(bounds)} seed(s) where tanh did not get there")
    if never[0]:
        parts.append(f"ReLU did not get there in {never[0]} seed(s)")
    return "; ".join(parts) or "n/a"


def format_table(name, rows, settings):
    """The printed table: one line per metric, both arms as mean +- spread over the seeds."""
    claim = CLAIMS[name]
    head = [f"{name}: {claim.claim}",
            f"({settings.seeds} seed(s), {settings.epochs} epochs, {settings.optimizer} lr {settings.lr:g}, batch "
            f"{settings.batch_size}; {settings.data})"]
    cols = ["metric", claim.arms[0], claim.arms[1], "ours (0 - 1)", "paper", "paper's direction holds"]
    body = []
    for r in rows:
        cells = [r["metric"]] + [_cell(s) for s in r["arms"]] + [
            r["ours"], str(r["paper"]), r["holds"]]
        body.append(cells)
    if name == "relu-tanh":
        cols[3] = "ours (tanh / ReLU)"
    widths = [max(len(str(c[i])) for c in [cols] + body) for i in range(len(cols))]
    line = lambda cells: "  ".join(str(c).ljust(w) for c, w in zip(cells, widths)).rstrip()  # noqa: E731
    return "\n".join(head + [line(cols), line(["-" * w for w in widths])] + [line(c) for c in body])


def markdown_table(result):
    """The table of a finished experiment (its JSON, as ``run_experiment`` returns and writes it) in Markdown:
    what docs/experiments.md quotes, and tests/test_docs.py regenerates from the committed JSON."""
    arms = result["arms"]
    ours = "ours (tanh / ReLU)" if result["experiment"] == "relu-tanh" else f"ours ({arms[0]} - {arms[1]})"
    lines = [f"| metric | {arms[0]} | {arms[1]} | {ours} | paper | paper's direction holds |",
             "| --- | --- | --- | --- | --- | --- |"]
    for r in result["rows"]:
        cells = [r["metric"]] + [_cell(tuple(a)) for a in r["arms"]] + [r["ours"], str(r["paper"]), r["holds"]]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _cell(stats):
    mean, spread, missing = stats
    if mean is None:
        return "not reached" if missing else "n/a"
    text = f"{mean:.1f} +- {spread:.1f}"
    return text + (f" ({missing} not reached)" if missing else "")


# --- the plot -----------------------------------------------------------------------------------------

def plot(name, runs, path):
    """``path``: relu-tanh as the paper's Figure 1 (training error per epoch, both arms, the 25% line);
    the others as training and validation error per epoch. Each seed thin, the mean thick. Written to a
    temporary file and renamed; None without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    claim = CLAIMS[name]
    fig, ax = plt.subplots(1, 1 if name == "relu-tanh" else 2, figsize=(6 if name == "relu-tanh" else 11, 4),
                           squeeze=False)
    panels = [("train_error", "training error")] if name == "relu-tanh" else [
        ("train_error", "training error"), ("val_error", "validation error (top-1)")]
    for axis, (key, label) in zip(ax[0], panels):
        for a, style in ((0, "-"), (1, "--")):
            colour = "C0" if a == 0 else "C3"
            curves = [[100 * h[key] for h in hist] for hist in runs[a].values()]
            for c in curves:
                axis.plot(range(1, len(c) + 1), c, style, color=colour, alpha=0.3, linewidth=0.8)
            mean = np.mean(np.array(curves), axis=0)
            axis.plot(range(1, len(mean) + 1), mean, style, color=colour, linewidth=2, label=claim.arms[a])
        if name == "relu-tanh":
            axis.axhline(100 * TARGET_ERROR, color="k", linewidth=0.8, linestyle=":", label="25%")
        axis.set_xlabel("epoch"), axis.set_ylabel(f"{label} (%)"), axis.grid(alpha=0.3), axis.legend()
        axis.set_ylim(0, 100)
    fig.suptitle("\n".join(textwrap.wrap(f"{name}: {claim.claim}", 90 if name == "relu-tanh" else 160)), fontsize=8)
    fig.tight_layout()
    from tinynet.run_folder import save_figure

    return save_figure(fig, path, prefix=f"{name}.")


# --- the command ----------------------------------------------------------------------------------------

QUICK = dict(seeds=2, train_limit=1200, val_limit=400)


def run_experiment(name, settings, data, output_dir=DEFAULT_OUTPUT_DIR, log=print, bar=True):
    """Run experiment ``name`` (both arms, every seed); print its table; write ``<name>.json`` and
    ``<name>.png`` into ``output_dir/name/``. Returns the JSON's contents."""
    claim = CLAIMS[name]
    settings = Settings(**{**asdict(settings), "epochs": settings.epochs or
                           (claim.quick_epochs if settings.quick else claim.epochs),
                           "optimizer": settings.optimizer or claim.optimizer, "lr": settings.lr or claim.lr})
    side = claim.side
    if side is None and claim.net == "mini" and data.x_train.shape[-1] < min_input_size("mini"):
        side = 32  # MNIST's 28x28 is too small for the mini AlexNet's five layers: scale it up
    if side is not None and data.x_train.shape[-1] != side:
        data = data.scaled(side)
    settings.data = data.description
    size = data.x_train.shape[-1]
    check_arms(name, build_arm(name, 0, len(data.classes), size), build_arm(name, 1, len(data.classes), size))
    folder = os.path.join(output_dir, name)
    try:  # before any training: the folder, and a file in it
        os.makedirs(folder, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as e:
        raise OSError(f"--output-dir {output_dir}: can't write into {folder} ({e.strerror or e})") from None
    total = 2 * settings.seeds * settings.epochs * len(data.y_train)
    runs = {0: {}, 1: {}}
    started = time.perf_counter()
    with _progress(total, name, bar) as advance:
        for seed in range(settings.seeds):
            for arm in (0, 1):
                runs[arm][seed] = train_arm(name, arm, seed, data, settings, settings.epochs, advance)
    rows = summarise(name, runs, data.classes)
    log(format_table(name, rows, settings))
    result = {"experiment": name, "claim": claim.claim, "paper": claim.paper, "arms": list(claim.arms),
              "classes": len(data.classes),
              "settings": asdict(settings), "seconds": round(time.perf_counter() - started, 1),
              "rows": rows, "runs": {claim.arms[a]: {str(s): h for s, h in runs[a].items()} for a in (0, 1)}}
    json_path = os.path.join(folder, f"{name}.json")
    _write_json(json_path, result)
    png = plot(name, runs, os.path.join(folder, f"{name}.png"))
    log(f"wrote {json_path}" + (f" and {png}" if png else " (no plot: matplotlib is not installed)"))
    return result


class _progress:
    """A tqdm bar over the images an experiment trains on (a no-op without a terminal or ``bar``)."""

    def __init__(self, total, name, bar):
        self.total, self.name, self.bar = total, name, bar
        self.tqdm = None

    def __enter__(self):
        if self.bar:
            from tqdm import tqdm

            self.tqdm = tqdm(total=self.total, desc=self.name, unit="img", leave=False, disable=None)
        return (lambda k: self.tqdm.update(k)) if self.tqdm is not None else None

    def __exit__(self, *exc):
        if self.tqdm is not None:
            self.tqdm.close()
        return False


def _write_json(path, obj):
    from tinynet.run_folder import replace_file

    replace_file(path, (json.dumps(obj, indent=1) + "\n").encode("utf-8"))


def main(names, settings, data_path=None, output_dir=DEFAULT_OUTPUT_DIR, log=print, bar=True):
    """``tinynet experiment``: run each of ``names`` ("all": every one) on the data at ``data_path``."""
    names = [names] if isinstance(names, str) else list(names)
    for n in names:
        if n not in CLAIMS and n != "all":
            raise ValueError(f"unknown experiment {n!r}; choose one of {', '.join(NAMES)} or all")
    names = list(NAMES) if "all" in names else list(dict.fromkeys(names))  # each once, in the order given
    from tinynet.train import prepare_device

    settings.device = prepare_device(settings.device, log=log)
    if not output_dir:
        raise ValueError("--output-dir is empty: give a folder, e.g. runs/experiments")
    if os.path.exists(output_dir) and not os.path.isdir(output_dir):
        raise NotADirectoryError(f"--output-dir {output_dir}: exists and is not a folder")
    data = load_data(data_path, settings.train_limit, settings.val_limit, log=log)
    settings.data = data.description
    log(f"data: {data.description}")
    return {n: run_experiment(n, settings, data, output_dir, log, bar) for n in names}
