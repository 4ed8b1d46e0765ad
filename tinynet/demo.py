"""A short demo: a tiny convnet learns to tell four kinds of 16x16 images apart.

The images are generated in memory (no download): a horizontal bar, a vertical
bar, a square or a diagonal line, of random size, position and colour over noise. The net is the
AlexNet pattern in miniature (conv, ReLU, overlapping 3x3 stride-2 max-pool,
twice, then a dense layer), trained with SGD and cross-entropy. It prints the
loss falling epoch by epoch and the accuracy on held-out images.
"""
import time

import numpy as np

from tinynet import backend, functional as F, nn
from tinynet.autograd import no_grad
from tinynet._tensor import Tensor
from tinynet.optim import SGD

CLASSES = ("horizontal bar", "vertical bar", "square", "diagonal")


def make_images(n, rng, size=16):
    """n images (n, 3, size, size) float32 in [0, 1] and their labels (n,) int64.

    Each image is noise with one shape of a random colour, size and position.
    """
    x = rng.uniform(0.0, 0.7, size=(n, 3, size, size)).astype(np.float32)
    y = rng.integers(0, len(CLASSES), size=n)
    for i in range(n):
        colour = rng.uniform(0.5, 1.0, size=(3, 1)).astype(np.float32)
        length = int(rng.integers(5, 10))
        r, c = rng.integers(1, size - length, size=2)
        if y[i] == 0:
            rows, cols = np.full(length, r), c + np.arange(length)
        elif y[i] == 1:
            rows, cols = r + np.arange(length), np.full(length, c)
        elif y[i] == 2:
            side = length // 2
            rows, cols = np.divmod(np.arange(side * side), side)
            rows, cols = rows + r, cols + c
        else:
            rows, cols = r + np.arange(length), c + np.arange(length)
            if rng.random() < 0.5:
                cols = cols[::-1]
        x[i][:, rows, cols] = colour
    return x, y


def build_model():
    """(N, 3, 16, 16) -> conv 3x3 -> pool 3x3/2 -> (N, 8, 7, 7) -> conv 3x3 -> pool -> (N, 16, 3, 3) -> 3 logits."""
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(3, 2),
        nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(3, 2),
        nn.Flatten(), nn.Linear(16 * 3 * 3, len(CLASSES)),
    )


def accuracy(model, x, y, device):
    model.eval()
    with no_grad():
        logits = model(Tensor(x, device=device))
    model.train()
    return float((backend.host(logits.data).argmax(axis=1) == y).mean())


def run(epochs=10, batch_size=32, lr=0.02, seed=0, device="cpu", log=print):
    """Train the demo net; returns the list of mean training losses, one per epoch."""
    backend.manual_seed(seed)
    rng = np.random.default_rng(seed)
    x_train, y_train = make_images(1600, rng)
    x_val, y_val = make_images(400, rng)
    model = build_model().to(device)
    opt = SGD(model.parameters(), lr=lr, momentum=0.9)
    log(f"tinynet demo: {len(x_train)} training images of {', '.join(CLASSES)}; device {device}")
    losses = []
    for epoch in range(1, epochs + 1):
        start, total = time.perf_counter(), 0.0
        order = rng.permutation(len(x_train))
        for i in range(0, len(order), batch_size):
            idx = order[i:i + batch_size]
            xb = Tensor(x_train[idx], device=device)
            yb = Tensor(y_train[idx], device=device)
            loss = F.cross_entropy(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        losses.append(total / len(x_train))
        log(f"epoch {epoch:2d}  loss {losses[-1]:.4f}  val accuracy {accuracy(model, x_val, y_val, device):.1%}"
            f"  ({time.perf_counter() - start:.1f} s)")
    return losses
