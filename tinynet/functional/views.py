"""What an in-place change to a view does to the tensor it views, in the graph (PyTorch's CopySlices).

A view ``v`` of a base tensor ``b`` (``v = b[0]``, ``b[:, 1]``, ``b.view(6)``, ``b.t()``) shares b's
memory: writing into v changes b. When that change needs a gradient (``b[:, 1] *= 2`` inside a model),
b's history must learn it. Every element of v is one element of b; ``positions(v, b)`` finds which,
as flat (C-order) indices into b, from where each element sits in memory. Then, with p those indices:

    PutAt(p):  b_new = b_old with b_new.flat[p] = v_new      db_old = g, 0 at p;   dv_new = g.flat[p]
    TakeAt(p): v = b.flat[p]                                 db = 0, g scattered to p

The change to v is computed out of place (v_new from v's old values and the operand), b's history
becomes PutAt(b_old, v_new), and v's becomes TakeAt(b_new): later ops on either see the change, as in
PyTorch. The memory itself is written once, through v.
"""
from tinynet import backend
from tinynet.autograd import Function
from tinynet.backend import get_array_module

__all__ = []  # used by tinynet/functional/inplace.py


def _element_offsets(a, origin, xp):
    """The memory offset, in elements from address ``origin``, of every element of ``a`` (shape a.shape)."""
    item = a.itemsize
    start = backend.data_pointer(a) - origin
    if start % item or any(s % item for s in a.strides):
        return None  # not laid out on the element grid (a view of a view of bytes): no positions
    offsets = xp.full(a.shape, start // item, dtype=xp.int64)
    for axis, (n, stride) in enumerate(zip(a.shape, a.strides)):
        step = xp.arange(n, dtype=xp.int64) * (stride // item)
        offsets = offsets + step.reshape([n if k == axis else 1 for k in range(a.ndim)])
    return offsets


def positions(view, base):
    """For each element of array ``view`` (sharing ``base``'s memory), its flat C-order index in ``base``.

    None if some element of the view is not an element of the base.
    """
    xp = get_array_module(base)
    origin = backend.data_pointer(base)
    v = _element_offsets(view, origin, xp)
    b = _element_offsets(base, origin, xp)
    if v is None or b is None:
        return None
    if base.flags.c_contiguous:
        found = v  # element i of a C-contiguous base sits i elements after its start
        inside = bool(((v >= 0) & (v < base.size)).all()) if v.size else True
        return found if inside else None
    low = int(b.min()) if b.size else 0
    span = (int(b.max()) - low + 1) if b.size else 0
    lookup = xp.full(span, -1, dtype=xp.int64)
    lookup[(b - low).reshape(-1)] = xp.arange(base.size, dtype=xp.int64)
    shifted = v - low
    if v.size and not bool(((shifted >= 0) & (shifted < span)).all()):
        return None
    found = lookup[shifted]
    return found if not (found < 0).any() else None


class PutAt(Function):
    """b_new = b with b_new.flat[p] = v (the view's new values): db = g with 0 at p, dv = g.flat[p]."""

    def __init__(self, p):
        self.p = p

    def forward(self, b, v):
        self.v_shape = v.shape
        y = b.copy()  # C order
        y.reshape(-1)[self.p.reshape(-1)] = v.reshape(-1)
        return y

    def backward(self, g):
        gb = gv = None
        if self.needs_input_grad[0]:
            gb = g.copy()
            gb.reshape(-1)[self.p.reshape(-1)] = 0
        if self.needs_input_grad[1]:
            gv = g.reshape(-1)[self.p.reshape(-1)].reshape(self.v_shape)
        return gb, gv


class TakeAt(Function):
    """v = b.flat[p] (p distinct): db = zeros with g at p."""

    def __init__(self, p):
        self.p = p

    def forward(self, b):
        self.b_shape = b.shape
        return b.reshape(-1)[self.p.reshape(-1)].reshape(self.p.shape)

    def backward(self, g):
        xp = get_array_module(g)
        gb = xp.zeros(self.b_shape, dtype=g.dtype)
        gb.reshape(-1)[self.p.reshape(-1)] = g.reshape(-1)
        return gb
