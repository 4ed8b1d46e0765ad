"""Mixed precision: autocast and loss scaling, with PyTorch's names (torch.autocast, torch.amp.GradScaler).

    with tinynet.amp.autocast("cuda"):              # float16 on the GPU (the default there)
        loss = F.cross_entropy(model(x), y)          # linear and conv2d in float16, the loss in float32
    scaler.scale(loss).backward()                    # gradients of loss x scale: small ones stay above zero
    scaler.step(optimizer)                           # unscaled first; skipped if any is inf or NaN
    scaler.update()                                  # scale / 2 after a skip, x 2 after a run of good steps

Why the scale. float16 holds magnitudes from 6e-8 (subnormal; 6e-5 normal) to 65504 with an 11-bit
mantissa. Gradients of a deep net are often far below 6e-8 and would round to zero in float16; multiplying
the loss by S (65536 to start) multiplies every gradient by S on the way back (backward is linear in its
upstream gradient), lifting them into range. The optimizer must see the true gradient, so ``step``
divides by S first; a gradient that overflowed (inf or NaN) means S was too large: the step is skipped and
S halved. After ``growth_interval`` good steps in a row S doubles, so it hovers near the largest value
that does not overflow. bfloat16 has float32's 8-bit exponent (its range), so it needs no scaling (only
its 8-bit mantissa, about 3 digits, is short).

The weights stay float32 (the "master weights"): autocast casts them at each matrix product, and the
cast's backward returns float32 gradients, which the optimizer applies in float32. See
tinynet/functional/_autocast.py for which ops change.

On the CPU float16 runs through NumPy's float16 (slow, for correctness) and bfloat16 is emulated: float32
storage rounded to bfloat16's grid before and after each matrix product (kernels/half.py).
"""
import math

import numpy as np

from tinynet import backend
from tinynet.functional import _autocast
from tinynet.validate import check_number

__all__ = ["autocast", "GradScaler"]

_DTYPES = {"float16": np.dtype(np.float16), "half": np.dtype(np.float16), "fp16": np.dtype(np.float16),
           "bfloat16": _autocast.BFLOAT16, "bf16": _autocast.BFLOAT16}


def _dtype(dtype, device_type):
    if dtype is None:
        return np.dtype(np.float16) if device_type == "cuda" else _autocast.BFLOAT16  # PyTorch's defaults
    if isinstance(dtype, str) and dtype.lower() in _DTYPES:
        return _DTYPES[dtype.lower()]
    try:
        if np.dtype(dtype) == np.float16:
            return np.dtype(np.float16)
    except TypeError:
        pass
    raise ValueError(f"autocast: dtype must be float16 or 'bfloat16' (None: float16 on cuda, bfloat16 on cpu), "
                     f"got {dtype!r}")


class autocast:  # noqa: N801 -- PyTorch's name
    """Within: linear and conv2d in ``dtype``, softmax, cross-entropy, LRN and batch norm in float32.

    device_type  "cuda" or "cpu" (as PyTorch's; it picks the default dtype)
    dtype        float16 or "bfloat16" (None: float16 on cuda, bfloat16 on cpu)
    enabled      False: a no-op (so one code path can switch it off)

    Nested blocks take the innermost's setting and restore the outer one on exit. A context manager and
    a decorator, as PyTorch's.
    """

    def __init__(self, device_type="cuda", dtype=None, enabled=True):
        self.device_type = _device("autocast: device_type", device_type)
        if not isinstance(enabled, (bool, np.bool_)):
            raise ValueError(f"autocast: enabled must be True or False, got {enabled!r}")
        self.dtype, self.enabled = _dtype(dtype, self.device_type), bool(enabled)
        self._outer = []

    def __enter__(self):
        self._outer.append(_autocast.set_state(self.dtype if self.enabled else None))
        return self

    def __exit__(self, *exc):
        _autocast.set_state(self._outer.pop())
        return False

    def __call__(self, fn):
        def wrapped(*args, **kwargs):
            with self:
                return fn(*args, **kwargs)
        wrapped.__name__, wrapped.__doc__ = getattr(fn, "__name__", "wrapped"), getattr(fn, "__doc__", None)
        return wrapped


class GradScaler:
    """Dynamic loss scaling for float16 training, as torch.amp.GradScaler.

    device           "cuda" or "cpu" (PyTorch's first argument; the scaler works on either)
    init_scale       the first scale S (2^16)
    growth_factor    S x this after ``growth_interval`` steps in a row without inf/NaN (2.0)
    backoff_factor   S x this after a step with one (0.5)
    growth_interval  good steps in a row before S grows (2000)
    enabled          False: scale() returns the loss, step() just steps, update() does nothing

    ``state_dict()`` holds S and the count of good steps, for checkpoints ({} when disabled, as PyTorch's).
    Each step is scale -> backward -> [unscale_] -> step -> update; step twice before update is refused.
    """

    def __init__(self, device="cuda", init_scale=2.0 ** 16, growth_factor=2.0, backoff_factor=0.5,
                 growth_interval=2000, enabled=True):
        self.device = _device("GradScaler: device", device)
        self._scale = _positive("GradScaler: init_scale", init_scale)
        self.growth_factor, self.backoff_factor, self.growth_interval = _factors(
            "GradScaler", growth_factor, backoff_factor, growth_interval)
        if not isinstance(enabled, (bool, np.bool_)):
            raise ValueError(f"GradScaler: enabled must be True or False, got {enabled!r}")
        self.enabled = bool(enabled)
        self._good_steps = 0
        self._unscaled = {}  # id(optimizer) -> whether an inf/NaN was found when its gradients were unscaled
        self._stepped = set()  # id(optimizer) of those stepped since the last update()
        self.skipped_steps = 0  # how many steps were skipped so far (a tinynet addition, for logs)

    def get_scale(self):
        return self._scale if self.enabled else 1.0

    def is_enabled(self):
        return self.enabled

    def scale(self, outputs):
        """``outputs`` x S: a Tensor (so that backward carries the scale), or a list or tuple of them."""
        if not self.enabled:
            return outputs
        if isinstance(outputs, (list, tuple)):
            return type(outputs)(self.scale(o) for o in outputs)
        return outputs * self._scale

    def unscale_(self, optimizer):
        """Divide the gradients of ``optimizer``'s parameters by S, in place (once per step; e.g. before
        clipping them), noting whether any is inf or NaN."""
        if not self.enabled:
            return
        if id(optimizer) in self._stepped:
            raise RuntimeError("GradScaler.unscale_ after step(): step() has unscaled this optimizer's gradients "
                               "already; call unscale_ before step(), once per update()")
        if id(optimizer) in self._unscaled:
            raise RuntimeError("GradScaler.unscale_ was already called for this optimizer since the last update()")
        inv, found, seen = 1.0 / self._scale, False, False
        for p in _parameters(optimizer):
            if p.grad is None:
                continue
            seen = True
            g = p.grad.data
            xp = backend.get_array_module(g)
            g *= g.dtype.type(inv)
            found = found or not bool(xp.isfinite(g).all())
        if not seen:
            raise RuntimeError("GradScaler: no parameter of this optimizer has a gradient: nothing to check for "
                               "inf/NaN (call backward on the scaled loss first)")
        self._unscaled[id(optimizer)] = found

    def step(self, optimizer, *args, **kwargs):
        """Unscale (if not done), then ``optimizer.step()`` unless a gradient is inf or NaN (then skipped,
        and None returned)."""
        if not self.enabled:
            return optimizer.step(*args, **kwargs)
        if id(optimizer) in self._stepped:
            raise RuntimeError("GradScaler.step() has already been called for this optimizer since the last update()")
        if id(optimizer) not in self._unscaled:
            self.unscale_(optimizer)
        self._stepped.add(id(optimizer))
        if self._unscaled[id(optimizer)]:
            self.skipped_steps += 1
            return None
        return optimizer.step(*args, **kwargs)

    def update(self, new_scale=None):
        """Adjust S after the step: halve it (backoff) if any optimizer met inf/NaN, else count a good step and
        grow it every ``growth_interval``; or set it to ``new_scale``."""
        if not self.enabled:
            return
        if new_scale is not None:
            array = getattr(new_scale, "data", new_scale)  # a one-element Tensor or array, as PyTorch takes
            if getattr(array, "ndim", None) is not None and getattr(array, "size", None) == 1:
                new_scale = float(backend.host(array).reshape(-1)[0])
            self._scale = _positive("GradScaler.update: new_scale", new_scale)
            self._good_steps = 0
        elif not self._unscaled:
            raise RuntimeError("GradScaler.update(): no inf/NaN checks were recorded since the last update (call "
                               "step(optimizer) or unscale_(optimizer) first)")
        elif any(self._unscaled.values()):
            self._scale *= self.backoff_factor
            self._good_steps = 0
        elif self._unscaled:
            self._good_steps += 1
            if self._good_steps == self.growth_interval:
                grown = self._scale * self.growth_factor
                self._scale = grown if math.isfinite(grown) else self._scale
                self._good_steps = 0
        self._unscaled, self._stepped = {}, set()

    def state_dict(self):
        if not self.enabled:
            return {}
        return {"scale": self._scale, "growth_factor": self.growth_factor, "backoff_factor": self.backoff_factor,
                "growth_interval": self.growth_interval, "_growth_tracker": self._good_steps}

    def load_state_dict(self, state):
        """Every field checked, by name, before any is taken."""
        if not isinstance(state, dict) or "scale" not in state:
            raise ValueError(f"GradScaler.load_state_dict: expected the dict state_dict() gives, got {state!r}")
        where = "GradScaler.load_state_dict"
        scale = _positive(f"{where}: scale", state["scale"])
        tracker = int(check_number(f"{where}: _growth_tracker", state.get("_growth_tracker", 0), integer=True, low=0))
        factors = _factors(where, state.get("growth_factor", self.growth_factor),
                           state.get("backoff_factor", self.backoff_factor),
                           state.get("growth_interval", self.growth_interval))
        self._scale, self._good_steps = scale, tracker
        self.growth_factor, self.backoff_factor, self.growth_interval = factors


def _device(what, device):
    """'cuda' or 'cpu' for ``device`` (a device name), or a ValueError naming ``what``."""
    try:
        if isinstance(device, str):
            return backend.normalize_device(device)
    except backend.DeviceError:
        pass
    raise ValueError(f"{what} must be 'cuda' or 'cpu', got {device!r}")


def _positive(what, value):
    return float(check_number(what, value, low=0, low_open=True))


def _factors(where, growth_factor, backoff_factor, growth_interval):
    """(growth_factor > 1, 0 < backoff_factor < 1, growth_interval an int >= 1), each checked by name."""
    return (float(check_number(f"{where}: growth_factor", growth_factor, low=1, low_open=True)),
            float(check_number(f"{where}: backoff_factor", backoff_factor, low=0, high=1, low_open=True,
                               high_open=True)),
            int(check_number(f"{where}: growth_interval", growth_interval, integer=True, low=1)))


def _parameters(optimizer):
    groups = getattr(optimizer, "param_groups", None)
    if groups is None:
        raise TypeError(f"GradScaler: expected a tinynet optimizer (with param_groups), got {type(optimizer).__name__}")
    return [p for group in groups for p in group["params"]]
