"""The output size of a sliding window, the one formula every conv and pooling layer uses.

Along one axis of ``size`` cells, padded by ``padding`` on each side, a window of ``kernel`` taps
spaced ``dilation`` apart spans ``dilation*(kernel - 1) + 1`` cells, and it starts at every
``stride``-th cell where it still fits:

    out = floor((size + 2*padding - dilation*(kernel - 1) - 1) / stride) + 1

With ``ceil_mode`` (pooling only) the division rounds up, so a last window that hangs past the
padded edge is kept; but one that would start in the right padding (at or past ``size + padding``)
is dropped, PyTorch's rule:

    out = ceil(...) + 1;  if (out - 1)*stride >= size + padding: out -= 1
"""


def conv_output_size(size: int, kernel: int, stride: int = 1, padding: int = 0, dilation: int = 1,
                     ceil_mode: bool = False) -> int:
    """The number of window positions along one axis (may be <= 0 if the window does not fit)."""
    span = size + 2 * padding - dilation * (kernel - 1) - 1
    if not ceil_mode:
        return span // stride + 1
    out = -(-span // stride) + 1
    if (out - 1) * stride >= size + padding:
        out -= 1
    return out
