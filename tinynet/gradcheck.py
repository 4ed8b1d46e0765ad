"""Numerical gradient check: analytic gradients against central differences.

For a function f of tensors x_1..x_m returning outputs y_1..y_k, draw a random
upstream gradient G_j for each output and check the gradient of the scalar

    L(x) = sum_j sum(G_j * y_j(x))

Analytically, dL/dx_i is what ``y_j.backward(G_j)`` accumulates into x_i.grad.
Numerically, for every element e of every x_i that requires grad,

    dL/dx_i[e] ~ (L(x_i[e] + eps) - L(x_i[e] - eps)) / (2 * eps)

whose error is O(eps^2). A random G (rather than all ones) matters: the plain
sum of a softmax's outputs is constant, so a softmax backward that returned
zeros would pass a check on sum(y).

Run in float64: with eps = 1e-6 the float32 rounding error of L (about 1e-7
relative) divided by 2*eps would swamp the difference.
"""
import numpy as np

from tinynet import backend
from tinynet.autograd import no_grad
from tinynet._tensor import Tensor
from tinynet.validate import check_number

__all__ = ["gradcheck", "gradcheck_directional", "GradcheckError"]


class GradcheckError(AssertionError):
    """An analytic gradient disagrees with the numerical one (the message says where)."""


def _outputs(fn, inputs):
    out = fn(*inputs)
    outs = out if isinstance(out, (tuple, list)) else (out,)
    for o in outs:
        if not isinstance(o, Tensor):
            raise TypeError(f"gradcheck: fn must return Tensors, got {type(o).__name__}")
    return outs


def _weighted_sum(outs, upstream) -> float:
    return float(sum(np.sum(backend.host(o.data).astype(np.float64) * g) for o, g in zip(outs, upstream)))


def _checked_inputs(inputs, name):
    """Indices of the inputs that require grad, all of which must be float64."""
    checked = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    if not checked:
        raise ValueError(f"{name}: no input requires grad; pass Tensors created with requires_grad=True")
    for i in checked:
        if inputs[i].dtype != np.float64:
            raise TypeError(
                f"{name}: input {i} is {inputs[i].dtype}; gradient checks need float64 "
                "(use Tensor(..., dtype='float64') or module.double())"
            )
    return checked


def _analytic_gradients(fn, inputs, checked, rng):
    """Draw random upstream gradients G for fn's outputs and backpropagate them.

    Returns (upstream, {i: dL/dx_i as a float64 host array}); the inputs' own .grad are left as they were.
    """
    outs = _outputs(fn, inputs)
    upstream = [rng.standard_normal(o.shape) for o in outs]
    saved = [inputs[i].grad for i in checked]
    for i in checked:
        inputs[i].grad = None
    for o, g in zip(outs, upstream):  # outputs may share a graph: keep it until the last one
        if o.requires_grad:
            o.backward(backend.to_device(g.astype(o.dtype), o.device), retain_graph=True)
    grads = {}
    for i in checked:
        x = inputs[i]
        grads[i] = np.zeros(x.shape) if x.grad is None else backend.host(x.grad.data).astype(np.float64)
    for i, g in zip(checked, saved):
        inputs[i].grad = g
    return upstream, grads


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, seed=0, max_elements=None):
    """Compare the analytic gradient of ``fn`` with central differences for every input that requires grad.

    Args:
        fn: callable taking ``*inputs`` and returning a Tensor or a tuple of Tensors.
            It must be deterministic (reseed inside it if it draws random numbers).
        inputs: sequence of Tensors; those with ``requires_grad`` are checked and
            must be float64. Their data is perturbed in place and restored.
        eps: finite-difference step.
        atol, rtol: an element passes if |analytic - numeric| <= atol + rtol * |numeric|.
        seed: seed of the random upstream gradients (and of the sampled elements).
        max_elements: check at most this many elements of each input, drawn at
            random (all of them by default); for inputs too large to check whole.

    Returns:
        True if every element passes.

    Raises:
        GradcheckError naming the input, the worst element's index, and the
        analytic and numeric values there.
    """
    inputs = list(inputs)
    _check_settings("gradcheck", eps=eps, atol=atol, rtol=rtol, seed=seed)
    if max_elements is not None:
        check_number("gradcheck: max_elements", max_elements, integer=True, low=1)
    checked = _checked_inputs(inputs, "gradcheck")
    rng = np.random.default_rng(seed)
    upstream, analytic = _analytic_gradients(fn, inputs, checked, rng)

    # Numeric: central differences, one element at a time.
    with no_grad():
        for i in checked:
            data = inputs[i].data
            if not data.flags.c_contiguous:
                raise ValueError(f"gradcheck: input {i} must be C-contiguous to be perturbed in place")
            flat = data.reshape(-1)  # a view: perturbing it perturbs the input
            numeric = np.zeros(data.size)
            elements = np.arange(data.size)
            if max_elements is not None and data.size > max_elements:
                elements = np.sort(rng.choice(data.size, size=max_elements, replace=False))
            for e in elements:
                orig = float(flat[e])
                flat[e] = orig + eps
                plus = _weighted_sum(_outputs(fn, inputs), upstream)
                flat[e] = orig - eps
                minus = _weighted_sum(_outputs(fn, inputs), upstream)
                flat[e] = orig
                numeric[e] = (plus - minus) / (2 * eps)
            numeric = numeric.reshape(data.shape)
            if len(elements) < data.size:  # compare only the sampled elements
                mask = np.zeros(data.size, dtype=bool)
                mask[elements] = True
                numeric = np.where(mask.reshape(data.shape), numeric, analytic[i])
            _compare(i, inputs[i].shape, analytic[i], numeric, atol, rtol)
    return True


def gradcheck_directional(fn, inputs, directions=3, eps=1e-6, atol=1e-5, rtol=1e-3, seed=0):
    """Check the gradient along random directions: all inputs at once, two evaluations per direction.

    For a random direction V = (V_1, ..., V_m) over every input that requires
    grad, the directional derivative of L (defined as in ``gradcheck``) is

        analytic:  sum_i <dL/dx_i, V_i>
        numeric:   (L(x + eps V) - L(x - eps V)) / (2 eps)

    This checks every parameter of a whole network (millions of elements) in a
    few forward passes, where ``gradcheck`` needs two per element. It is a
    weaker check (an error orthogonal to V goes unseen), so use it beside an
    element-wise ``gradcheck`` of the input, with several directions.

    Returns True, or raises GradcheckError naming the direction and both values.
    """
    inputs = list(inputs)
    _check_settings("gradcheck_directional", eps=eps, atol=atol, rtol=rtol, seed=seed)
    check_number("gradcheck_directional: directions", directions, integer=True, low=1)
    checked = _checked_inputs(inputs, "gradcheck_directional")
    rng = np.random.default_rng(seed)
    upstream, grads = _analytic_gradients(fn, inputs, checked, rng)

    originals = {i: inputs[i].data.copy() for i in checked}
    try:
        for d in range(directions):
            v = {i: rng.standard_normal(inputs[i].shape) for i in checked}
            analytic = float(sum(np.sum(grads[i] * v[i]) for i in checked))
            values = []
            for sign in (1.0, -1.0):
                for i in checked:
                    step = backend.to_device(sign * eps * v[i], inputs[i].device)
                    inputs[i].data = originals[i] + step
                with no_grad():
                    values.append(_weighted_sum(_outputs(fn, inputs), upstream))
            numeric = (values[0] - values[1]) / (2 * eps)
            if not abs(analytic - numeric) <= atol + rtol * abs(numeric):
                raise GradcheckError(
                    f"gradcheck_directional failed along direction {d} (inputs {checked}): analytic "
                    f"{analytic:.10g}, numeric {numeric:.10g} (|difference| {abs(analytic - numeric):.3g})"
                )
    finally:
        for i in checked:
            inputs[i].data = originals[i]
    return True


def _compare(i, shape, analytic, numeric, atol, rtol):
    err = np.abs(analytic - numeric)
    allowed = atol + rtol * np.abs(numeric)
    # "not <=" rather than ">": a NaN anywhere counts as a failure, never as a pass.
    bad = ~(err <= allowed) | ~np.isfinite(analytic) | ~np.isfinite(numeric)
    if not bad.any():
        return
    excess = np.where(np.isfinite(err), err - allowed, np.inf)
    worst = np.unravel_index(int(np.argmax(excess)), shape) if shape else ()
    raise GradcheckError(
        f"gradcheck failed for input {i} (shape {shape}): {int(bad.sum())} of {bad.size} elements out of "
        f"tolerance; worst at index {tuple(int(w) for w in worst)}: analytic {analytic[worst]:.8g}, "
        f"numeric {numeric[worst]:.8g} (|difference| {err[worst]:.3g} > atol + rtol*|numeric| "
        f"= {allowed[worst]:.3g})"
    )


def _check_settings(name, eps, atol, rtol, seed):
    """eps > 0, atol and rtol >= 0 (finite numbers), seed an int >= 0; else TypeError/ValueError."""
    check_number(f"{name}: eps", eps, low=0, low_open=True)
    check_number(f"{name}: atol", atol, low=0)
    check_number(f"{name}: rtol", rtol, low=0)
    check_number(f"{name}: seed", seed, integer=True, low=0)
