"""How large each layer's gradient is, epoch by epoch: the "grad_abs_mean" of metrics.jsonl and curves.png.

For every module that holds parameters of its own ("features.0", "classifier.1", ...), after backward
and before the optimizer's step, the training loop measures

    g_l = mean over the elements of |dL/dW_l|        W_l the module's weight (all its own parameters
                                                   together if it has none called "weight")

and the epoch's record is the average of g_l over the measured steps that updated the weights:
{"features.0": 1.2e-3, ...}. The first step of an epoch and every EVERY-th after it are measured (a
measured step the loss scaler skips passes the turn to the next step):
reading every gradient once costs about as much as an SGD update (fc6's 37.7M weights: 50 ms on the
project's 2-core machine), 6% of the seed AlexNet's step if done at each one, under 1% this way. The gradient is the one the step uses: averaged over the ranks in a
data-parallel run (DistributedDataParallel reduces it during backward), and with --amp fp16
unscaled first (the loop calls GradScaler.unscale_ before measuring); a step that the scaler skips
for an inf/NaN gradient is left out of the average.

On the GPU each g_l stays on the device: the sums are device scalars, added to step by step, and
come to the host once, in ``result()``; so the measurement adds a few small kernels per layer per
step and no synchronisation. With --model-parallel 2 each rank measures its own column (half of every
split layer), named as the whole network's layers; rank 0's is the one recorded.
"""
import math

from tinynet import backend

EVERY = 10  # measure the first step of an epoch and every 10th after it


class GradSizes:
    """Mean |gradient| per parameter-holding layer of ``model``, summed over steps. A DistributedDataParallel
    wrapper is looked through (its layers are named as the wrapped model's); ``names`` renames layers
    ({name in model: name recorded}, e.g. a --model-parallel column's "body.0" -> "features.0")."""

    def __init__(self, model, names=None):
        model = getattr(model, "module", model) if type(model).__name__ == "DistributedDataParallel" else model
        names = names or {}
        self.layers = []  # (name, [parameters measured])
        for name, module in model.named_modules():
            own = [(n, p) for n, p in module.named_parameters(recurse=False) if p.requires_grad]
            if own:
                weight = [p for n, p in own if n == "weight"]
                self.layers.append((names.get(name, name), weight or [p for _, p in own]))
        self.sums = [None] * len(self.layers)  # device scalars
        self.steps = [0] * len(self.layers)
        self.calls = 0
        self.pending = False  # a step was due but not counted (skipped by the loss scaler): measure the next

    def due(self):
        """Whether this step is one to measure (the first, every EVERY-th, and the one after a due step that
        was not counted); counts the step."""
        self.calls += 1
        self.pending = self.pending or (self.calls - 1) % EVERY == 0
        return self.pending

    def measure(self):
        """Each layer's mean |gradient| now, as device scalars (None for a layer without gradients)."""
        values = []
        for _, params in self.layers:
            grads = [p.grad.data for p in params if p.grad is not None]
            if len(grads) < len(params):
                values.append(None)
                continue
            xp = backend.get_array_module(grads[0])
            total = sum(xp.abs(g).sum(dtype=xp.float64) for g in grads)
            values.append(total / sum(g.size for g in grads))
        return values

    def add(self, values):
        """Count one step's ``measure()``."""
        self.pending = False
        for k, v in enumerate(values):
            if v is not None:
                self.sums[k] = v if self.sums[k] is None else self.sums[k] + v
                self.steps[k] += 1

    def result(self):
        """{layer name: the average over the counted steps} of the layers measured at least once with a finite
        average (one transfer to the host)."""
        counted = [k for k in range(len(self.layers)) if self.steps[k]]
        if not counted:
            return {}
        xp = backend.get_array_module(self.sums[counted[0]])
        sums = backend.host(xp.stack([self.sums[k] for k in counted]))
        out = {}
        for k, s in zip(counted, sums):
            value = float(s) / self.steps[k]
            if math.isfinite(value):
                out[self.layers[k][0]] = value
        return out
