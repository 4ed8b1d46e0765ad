"""Five models as their PyTorch tutorials write them; only the three import lines below differ.

tools/torch_reference/models.py reads this very file, puts PyTorch's imports in place of these three
lines, and runs it with torch, so the classes below are the same text for both engines:

    import torch                          import tinynet as torch
    import torch.nn as nn          <->    import tinynet.nn as nn
    import torch.nn.functional as F       import tinynet.functional as F

The models: the 28x28 digits CNN of the PyTorch examples, the CIFAR-10 tutorial net, LeNet-5
(tanh and average pooling), a VGG-style net of conv-batchnorm-relu blocks, and torchvision's AlexNet.
"""
import numpy as np

import tinynet as torch  # IMPORTS
import tinynet.nn as nn  # IMPORTS
import tinynet.functional as F  # IMPORTS


class DigitsNet(nn.Module):
    """The 28x28 digits CNN: two convs, 2x2 max pooling, dropout, two dense layers, log-softmax."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, 1)
        self.conv2 = nn.Conv2d(32, 64, 3, 1)
        self.pool = nn.MaxPool2d(2, 2)
        self.dropout1 = nn.Dropout(0.25)
        self.dropout2 = nn.Dropout(0.5)
        self.fc1 = nn.Linear(9216, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        x = F.relu(self.conv1(x))
        x = self.pool(F.relu(self.conv2(x)))
        x = self.dropout1(x)
        x = x.view(-1, 9216)
        x = self.dropout2(F.relu(self.fc1(x)))
        x = self.fc2(x)
        return F.log_softmax(x, dim=1)


class CifarNet(nn.Module):
    """The CIFAR-10 tutorial net: conv-relu-pool twice, then three dense layers."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 5)
        self.pool = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = self.pool(F.relu(self.conv1(x)))
        x = self.pool(F.relu(self.conv2(x)))
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        x = self.fc3(x)
        return x


class LeNet5(nn.Module):
    """LeNet-5 on 32x32 inputs, with tanh and average pooling as in the 1998 paper."""

    def __init__(self, n_classes=10):
        super().__init__()
        self.feature_extractor = nn.Sequential(
            nn.Conv2d(in_channels=1, out_channels=6, kernel_size=5, stride=1),
            nn.Tanh(),
            nn.AvgPool2d(kernel_size=2),
            nn.Conv2d(in_channels=6, out_channels=16, kernel_size=5, stride=1),
            nn.Tanh(),
            nn.AvgPool2d(kernel_size=2),
            nn.Conv2d(in_channels=16, out_channels=120, kernel_size=5, stride=1),
            nn.Tanh(),
        )
        self.classifier = nn.Sequential(
            nn.Linear(in_features=120, out_features=84),
            nn.Tanh(),
            nn.Linear(in_features=84, out_features=n_classes),
        )

    def forward(self, x):
        x = self.feature_extractor(x)
        x = torch.flatten(x, 1)
        logits = self.classifier(x)
        probs = F.softmax(logits, dim=1)
        return logits, probs


def vgg_block(in_channels, out_channels, convs):
    layers = []
    for _ in range(convs):
        layers += [nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1),
                   nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True)]
        in_channels = out_channels
    layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
    return nn.Sequential(*layers)


class VGGNet(nn.Module):
    """Two VGG blocks (conv-batchnorm-relu twice, then 2x2 max pooling) and a classifier, on 32x32."""

    def __init__(self, num_classes=10):
        super().__init__()
        self.features = nn.Sequential(vgg_block(3, 8, 2), vgg_block(8, 16, 2))
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(16 * 8 * 8, 32),
            nn.BatchNorm1d(32),
            nn.ReLU(inplace=True),
            nn.Dropout(0.5),
            nn.Linear(32, num_classes),
        )
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                nn.init.constant_(m.bias, 0)
            elif isinstance(m, (nn.BatchNorm2d, nn.BatchNorm1d)):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)

    def forward(self, x):
        return self.classifier(self.features(x))


class AlexNet(nn.Module):
    """torchvision's AlexNet (the one-GPU variant, 64-192-384-256-256 channels)."""

    def __init__(self, num_classes=1000, dropout=0.5):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 64, kernel_size=11, stride=4, padding=2),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(64, 192, kernel_size=5, padding=2),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(192, 384, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(384, 256, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(256, 256, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
        )
        self.avgpool = nn.AdaptiveAvgPool2d((6, 6))
        self.classifier = nn.Sequential(
            nn.Dropout(p=dropout),
            nn.Linear(256 * 6 * 6, 4096),
            nn.ReLU(inplace=True),
            nn.Dropout(p=dropout),
            nn.Linear(4096, 4096),
            nn.ReLU(inplace=True),
            nn.Linear(4096, num_classes),
        )

    def forward(self, x):
        x = self.features(x)
        x = self.avgpool(x)
        x = torch.flatten(x, 1)
        x = self.classifier(x)
        return x


# --- what both engines run on the models above (NumPy only, so the same on both sides) --------------

# name -> (class, constructor kwargs, input shape (N, C, H, W) for the comparison)
MODELS = {
    "digits": (DigitsNet, {}, (2, 1, 28, 28)),
    "cifar": (CifarNet, {}, (2, 3, 32, 32)),
    "lenet5": (LeNet5, {}, (2, 1, 32, 32)),
    "vgg": (VGGNet, {}, (4, 3, 32, 32)),
    "alexnet": (AlexNet, {"num_classes": 10}, (2, 3, 64, 64)),
}


def fixed_state(state_dict, seed):
    """Deterministic float64 values for every entry of ``state_dict`` (name -> array), in its order:
    weights uniform in +-1/sqrt(fan_in), 1-D parameters and running means in +-0.5, running
    variances in [0.5, 1.5]; integer entries (num_batches_tracked) keep their value."""
    rng = np.random.default_rng(seed)
    out = {}
    for name, value in state_dict.items():
        value = np.asarray(value)
        if value.dtype.kind != "f":
            out[name] = value.copy()
            continue
        u = rng.random(value.shape)
        if name.endswith("running_var"):
            out[name] = 0.5 + u
        elif value.ndim >= 2:
            out[name] = (2 * u - 1) / np.sqrt(np.prod(value.shape[1:]))
        elif name.endswith(".weight") and "running" not in name and value.ndim == 1:
            out[name] = 0.5 + u  # batch-norm scales, away from 0
        else:
            out[name] = u - 0.5
    return out


def fixed_batch(shape, seed, num_classes=10):
    """A deterministic float64 input of ``shape`` and integer targets for it."""
    rng = np.random.default_rng(seed)
    return rng.random(shape) * 2 - 1, rng.integers(0, num_classes, size=shape[0])


def probe(shape, seed):
    """A fixed random array to project a large gradient onto (one number to compare per parameter)."""
    return np.random.default_rng(seed).random(shape) - 0.5
