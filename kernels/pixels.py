"""uint8 images to float32, with a per-sample, per-channel affine map: the end of the loader's transport.

    pixels_to_float:  y[n, c] = pixels[n, c] * scale[n, c] + offset[n, c]       float32 (N, C, H, W)

The loader's workers hand images over as uint8 (a quarter of float32's bytes); the array stages of
the pipeline they skipped (ToArray's 1/255, PCALighting's per-image offset, Normalize's mean and std)
compose into one scale and one offset per sample and channel (tinynet/data/transforms.py, ToPixels),
applied here to the whole batch: on the GPU in one CUDA pass (kernels/cuda/elementwise.cu), on the host
in cache-sized blocks of samples on every core (one pass
instead of a convert, a divide, an add, a subtract and a divide, each writing the batch). The product
is rounded to float32, then the sum, as ``x * s + o`` in NumPy float32.
"""
import numpy as np

from kernels import cuda as _cuda
from kernels import parallel, workspace
from kernels.array import get_array_module, is_cupy_array


def pixels_to_float(pixels, scale, offset):
    """pixels uint8 (N, C, H, W), scale and offset float32 (N, C) -> float32 (N, C, H, W)."""
    xp = get_array_module(pixels)
    if getattr(pixels, "dtype", None) != np.uint8 or pixels.ndim < 3:
        raise TypeError(f"pixels_to_float: pixels must be a uint8 array (N, C, ...), got "
                        f"{getattr(pixels, 'dtype', type(pixels).__name__)} of shape {getattr(pixels, 'shape', None)}")
    n, c = pixels.shape[:2]
    for name, a in (("scale", scale), ("offset", offset)):
        if getattr(a, "shape", None) != (n, c) or a.dtype.kind != "f":
            raise ValueError(f"pixels_to_float: {name} must be a float array (N, C) = {(n, c)}, got "
                             f"{getattr(a, 'dtype', type(a).__name__)} of shape {getattr(a, 'shape', None)}")
    if is_cupy_array(pixels) and pixels.dtype == np.uint8:  # one CUDA pass (elementwise.cu)
        return _cuda.pixels_to_float(pixels, scale, offset)
    # A recycled buffer (kernels/workspace.py) once the batch before last is gone: fresh memory for a batch of
    # 128 images at 224 (77 MB) costs more in page faults than the arithmetic that fills it.
    out = workspace.empty(pixels.shape, np.float32, xp)
    s = scale.astype(np.float32, copy=False).reshape(n, c, *([1] * (pixels.ndim - 2)))
    o = offset.astype(np.float32, copy=False).reshape(s.shape)

    def block(start, stop):
        y = out[start:stop]
        xp.multiply(pixels[start:stop], s[start:stop], out=y, dtype=np.float32)
        y += o[start:stop]

    per_sample = int(np.prod(pixels.shape[1:])) * 5  # one uint8 in, one float32 out
    parallel.run_blocks(n, block, parallel.items_per_block(per_sample), xp)
    return out
