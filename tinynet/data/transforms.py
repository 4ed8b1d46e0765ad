"""Image transforms for AlexNet-style training and evaluation: Pillow for geometry, NumPy after.

Every transform is called as ``t(img, rng)``: ``rng`` is a ``np.random.Generator`` that the random
ones draw from (the loader seeds one per sample from (seed, epoch, index)) and the others ignore.
They are plain top-level classes, so a dataset holding them can be pickled into worker processes.

    PIL stage (RGB image, size W x H)           array stage (float32, channels first)
    Resize, CenterCrop, RandomCrop,      ToArray     Normalize, PCALighting       (3, H, W)
    RandomHorizontalFlip              ---------->   TenCrop -> (10, 3, s, s), Normalize can follow

The training pipeline (train_transform) is the one most reimplementations of AlexNet use:
shorter side to 256, a random 224 x 224 crop, a random mirror, PCA colour noise ("lighting",
section 4.1 of the paper), then per-channel mean/std normalisation with ImageNet's statistics.
Evaluation uses the centre crop, or the paper's ten crops (four corners and the centre, mirrored).
"""
import numpy as np
from PIL import Image

from tinynet.validate import is_int

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
# Eigen-decomposition of the covariance of ImageNet's RGB pixels (in [0, 1]); columns are eigenvectors.
IMAGENET_EIGVAL = (0.2175, 0.0188, 0.0045)
IMAGENET_EIGVEC = ((-0.5675, 0.7192, 0.4009),
                   (-0.5808, -0.0045, -0.8140),
                   (-0.5836, -0.6948, 0.4203))


def _pair(size, name):
    """An int or (h, w) as (h, w), both positive ints; a TypeError or ValueError naming ``name`` otherwise."""
    hw = (size, size) if is_int(size) else tuple(size) if isinstance(size, (tuple, list)) else None
    if hw is None or len(hw) != 2 or not all(is_int(v) for v in hw):
        raise TypeError(f"{name}: size must be a positive int or a pair (h, w) of them, "
                        f"got {type(size).__name__} {size!r}")
    if min(hw) <= 0:
        raise ValueError(f"{name}: size must be a positive int or a pair (h, w) of them, got {size!r}")
    return int(hw[0]), int(hw[1])


def _floats(values, name, arg):
    """``values`` as a float64 array of finite numbers, or a TypeError/ValueError naming ``name`` and ``arg``."""
    try:
        if values is None or isinstance(values, (str, bytes)):
            raise TypeError
        a = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{name}: {arg} must be numbers, got {values!r}") from None
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name}: {arg} must be finite, got {values!r}")
    return a


def _check_pil(img, name):
    if not isinstance(img, Image.Image):
        raise TypeError(f"{name} works on PIL images; apply it before ToArray (got {type(img).__name__})")


def _check_rng(rng, name):
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"{name} is random: call it as t(img, rng) with a np.random.Generator "
                        f"(e.g. np.random.default_rng(0)), got {type(rng).__name__}")


def _check_fits(height, width, h, w, name):
    if height < h or width < w:
        raise ValueError(f"{name}: image of {height}x{width} (H x W) is smaller than the "
                         f"{h}x{w} crop; Resize it first")


def apply_to_pixels(transform, pixels, rng=None):
    """``transform(Image.fromarray(pixels), rng)``, exactly, for an image given as uint8 (H, W, 3) pixels,
    without making the image where the stages don't need one.

    Each leading stage with an array form (``on_array``, of tinynet's own classes, not subclasses: the no-op Resize, the crops and the flip give
    views of ``pixels``; ToArray and ToPixels copy them out, channels first) works on the array, drawing
    from ``rng`` what its PIL form draws; from the first stage without one (or a Resize that resizes), the
    rest run on a PIL image of the array as it is then. ``pixels`` is only read (it may be a read-only
    memory map, as PackedDataset's are). A transform that is not a Compose gets the PIL image.
    """
    if not callable(transform):
        raise TypeError(f"apply_to_pixels: transform must be a transform (e.g. a Compose), got "
                        f"{type(transform).__name__}")
    if not (isinstance(pixels, np.ndarray) and pixels.dtype == np.uint8 and pixels.ndim == 3 and pixels.shape[2] == 3):
        raise TypeError("apply_to_pixels: pixels must be a uint8 array (H, W, 3) of an RGB image, got "
                        + (f"{pixels.dtype} of shape {pixels.shape}" if isinstance(pixels, np.ndarray)
                           else type(pixels).__name__))
    steps = transform.transforms if isinstance(transform, Compose) else [transform]
    x, as_pixels = pixels, True  # as_pixels: x is still the image, as uint8 (H, W, 3)
    for step in steps:
        if as_pixels and type(step) in _ARRAY_FORMS:  # the type itself: a subclass may change __call__
            x = step.on_array(x, rng)
            as_pixels = isinstance(x, np.ndarray) and x.dtype == np.uint8  # not after ToArray, ToPixels
            continue
        if as_pixels:
            x, as_pixels = Image.fromarray(np.array(x)), False  # a copy: no stage ever writes into ``pixels``
        x = step(x, rng)
    return Image.fromarray(np.array(x)) if as_pixels else x


class Compose:
    """Apply ``transforms`` in order, passing the same generator to each."""

    def __init__(self, transforms):
        if not isinstance(transforms, (list, tuple)):
            raise TypeError(f"Compose: transforms must be a list of transforms, got {type(transforms).__name__} "
                            f"{transforms!r}")
        for k, t in enumerate(transforms):
            if not callable(t):
                raise TypeError(f"Compose: transforms[{k}] is a {type(t).__name__} ({t!r}), not a callable "
                                f"transform")
        self.transforms = list(transforms)

    def __call__(self, img, rng=None):
        for t in self.transforms:
            img = t(img, rng)
        return img

    def __repr__(self):
        return "Compose([" + ", ".join(repr(t) for t in self.transforms) + "])"


class Resize:
    """Resize a PIL image with bilinear interpolation (antialiased when shrinking).

    ``size`` an int: the shorter side becomes ``size`` and the longer keeps the aspect ratio,
    ``long * size / short`` truncated to an int (torchvision's rule); (h, w): exactly that size.
    """

    def __init__(self, size):
        self.size = _pair(size, "Resize") if isinstance(size, (tuple, list)) else _pair(size, "Resize")[0]

    def output_size(self, h, w):
        """(height, width) that an h x w image is resized to."""
        if np.ndim(self.size):
            return self.size
        if w <= h:
            return int(self.size * h / w), self.size
        return self.size, int(self.size * w / h)

    def on_array(self, a, rng=None):
        """uint8 (H, W, 3) -> the same array if it already has the size, else the resized PIL image."""
        if self.output_size(*a.shape[:2]) == a.shape[:2]:
            return a
        return self(Image.fromarray(np.array(a)), rng)

    def __call__(self, img, rng=None):
        _check_pil(img, "Resize")
        w, h = img.size
        oh, ow = self.output_size(h, w)
        if (oh, ow) == (h, w):
            return img
        if Image.MAX_IMAGE_PIXELS and oh * ow > Image.MAX_IMAGE_PIXELS:  # an extreme aspect ratio, e.g. 1 x 10000
            raise ValueError(f"Resize({self.size!r}): an image of {h}x{w} (H x W) would become {oh}x{ow}, "
                             f"{oh * ow} pixels, more than Pillow's limit of {Image.MAX_IMAGE_PIXELS}")
        return img.resize((ow, oh), Image.BILINEAR)

    def __repr__(self):
        return f"Resize({self.size!r})"


class CenterCrop:
    """The central ``size`` (int or (h, w)) crop of a PIL image: top = round((H - h) / 2), likewise left."""

    def __init__(self, size):
        self.size = _pair(size, "CenterCrop")

    def origin(self, height, width, rng=None):
        """(top, left) of the crop in a height x width image."""
        h, w = self.size
        _check_fits(height, width, h, w, "CenterCrop")
        return round((height - h) / 2), round((width - w) / 2)

    def on_array(self, a, rng=None):
        """(H, W, C) -> the (h, w, C) view of the crop."""
        top, left = self.origin(*a.shape[:2])
        return a[top:top + self.size[0], left:left + self.size[1]]

    def __call__(self, img, rng=None):
        _check_pil(img, "CenterCrop")
        top, left = self.origin(img.height, img.width)
        return img.crop((left, top, left + self.size[1], top + self.size[0]))

    def __repr__(self):
        return f"CenterCrop({self.size!r})"


class RandomCrop:
    """A ``size`` (int or (h, w)) crop of a PIL image at a uniform random position (top drawn, then left)."""

    def __init__(self, size):
        self.size = _pair(size, "RandomCrop")

    def origin(self, height, width, rng):
        """(top, left) of the crop in a height x width image: top drawn from ``rng``, then left."""
        h, w = self.size
        _check_fits(height, width, h, w, "RandomCrop")
        _check_rng(rng, "RandomCrop")
        return int(rng.integers(0, height - h + 1)), int(rng.integers(0, width - w + 1))

    def on_array(self, a, rng):
        """(H, W, C) -> the (h, w, C) view of the crop."""
        top, left = self.origin(*a.shape[:2], rng)
        return a[top:top + self.size[0], left:left + self.size[1]]

    def __call__(self, img, rng):
        _check_pil(img, "RandomCrop")
        top, left = self.origin(img.height, img.width, rng)
        return img.crop((left, top, left + self.size[1], top + self.size[0]))

    def __repr__(self):
        return f"RandomCrop({self.size!r})"


class RandomHorizontalFlip:
    """Mirror a PIL image left-right with probability ``p`` (one uniform draw per call, whatever p)."""

    def __init__(self, p=0.5):
        if not isinstance(p, (int, float, np.integer, np.floating)) or isinstance(p, (bool, np.bool_)):
            raise TypeError(f"RandomHorizontalFlip: p must be a number in [0, 1], got {type(p).__name__} {p!r}")
        if not 0 <= p <= 1:
            raise ValueError(f"RandomHorizontalFlip: p must be in [0, 1], got {p}")
        self.p = float(p)

    def flips(self, rng):
        """Whether this call mirrors: one uniform draw from ``rng``."""
        _check_rng(rng, "RandomHorizontalFlip")
        return rng.random() < self.p

    def on_array(self, a, rng):
        """(H, W, C) -> a view of it, mirrored or not."""
        return a[:, ::-1] if self.flips(rng) else a

    def __call__(self, img, rng):
        _check_pil(img, "RandomHorizontalFlip")
        return img.transpose(Image.FLIP_LEFT_RIGHT) if self.flips(rng) else img

    def __repr__(self):
        return f"RandomHorizontalFlip(p={self.p})"


class ToArray:
    """PIL RGB image (W x H) -> float32 array (3, H, W) with values k / 255 in [0, 1]."""

    def on_array(self, a, rng=None):
        """uint8 (H, W, 3) -> float32 (3, H, W)."""
        return np.ascontiguousarray(a.transpose(2, 0, 1), dtype=np.float32) / np.float32(255)

    def __call__(self, img, rng=None):
        _check_pil(img, "ToArray")
        if img.mode != "RGB":
            img = img.convert("RGB")
        return self.on_array(np.asarray(img, dtype=np.uint8))

    def __repr__(self):
        return "ToArray()"


class ToPixels:
    """The last step of a pipeline split for the DataLoader's transport (``split_for_transport``).

    PIL RGB image -> ``Pixels``: the uint8 array (3, H, W) and the per-channel map y = pixels * scale + offset
    (float32, (3,) each) that the array stages it replaces (ToArray, then PCALighting and Normalize in
    their order) would apply, their random draws made here from ``rng`` in the same order. The loader
    stacks the uint8 arrays (a quarter of float32's bytes in shared memory) and applies the map to the
    whole batch at the end (kernels.pixels_to_float).
    """

    def __init__(self, stages=()):
        for s in stages:
            if not hasattr(s, "affine"):
                raise TypeError(f"ToPixels: {s!r} is not a per-channel affine array stage (Normalize, PCALighting)")
        self.stages = list(stages)

    def __call__(self, img, rng=None):
        _check_pil(img, "ToPixels")
        if img.mode != "RGB":
            img = img.convert("RGB")
        return self.on_array(np.asarray(img, dtype=np.uint8), rng)

    def on_array(self, a, rng=None):
        """uint8 (H, W, 3) -> Pixels (the channels-first copy, and the map)."""
        pixels = np.array(a.transpose(2, 0, 1), order="C")  # a copy, always (a 1 x 1 view is contiguous already)
        scale, offset = np.full(3, 1.0 / 255.0), np.zeros(3)  # ToArray: k / 255
        for stage in self.stages:  # y -> y * a + b after each stage, composed in float64
            a, b = stage.affine(rng)
            scale, offset = scale * a, offset * a + b
        return Pixels(pixels, scale.astype(np.float32), offset.astype(np.float32))

    def __repr__(self):
        return f"ToPixels({self.stages!r})"


class Pixels(tuple):
    """(pixels uint8 (3, H, W), scale float32 (3,), offset float32 (3,)): an image on its way to float32."""

    __slots__ = ()

    def __new__(cls, pixels, scale, offset):
        return super().__new__(cls, (pixels, scale, offset))

    @property
    def shape(self):
        return self[0].shape


def split_for_transport(transform):
    """``transform`` with its array stages replaced by ``ToPixels``, or None if it can't be split.

    A Compose of PIL stages, one ToArray, then only Normalize / PCALighting (train_transform and
    eval_transform without ten crops) is split; anything else (a TenCrop, a user's transform) is left.
    """
    if not isinstance(transform, Compose):
        return None
    steps = transform.transforms
    at = [k for k, t in enumerate(steps) if type(t) is ToArray]
    tail = steps[at[0] + 1:] if len(at) == 1 else None
    if tail is None or not all(type(t) in (Normalize, PCALighting) for t in tail):
        return None
    if any(len(t.mean if type(t) is Normalize else t.eigval) != 3 for t in tail):
        return None  # not for RGB (3 channels): left whole, so it fails, or works, as it does unsplit
    return Compose(steps[:at[0]] + [ToPixels(tail)])


class Normalize:
    """Per-channel ``(x - mean[c]) / std[c]`` on float arrays (..., 3, H, W): one image or TenCrop's ten."""

    def __init__(self, mean=IMAGENET_MEAN, std=IMAGENET_STD):
        m, s = _floats(mean, "Normalize", "mean"), _floats(std, "Normalize", "std")
        if m.ndim != 1 or m.shape != s.shape or len(m) == 0:
            raise ValueError(f"Normalize: need one mean and one std per channel (two lists of the same "
                             f"length), got mean={mean!r}, std={std!r}")
        if np.any(s.astype(np.float32) == 0):
            raise ValueError(f"Normalize: std must be nonzero (it divides), got std={std!r}")
        self.mean = m.astype(np.float32).reshape(-1, 1, 1)
        self.std = s.astype(np.float32).reshape(-1, 1, 1)

    def affine(self, rng=None):
        """Per channel (a, b) with Normalize(x) = x * a + b: a = 1 / std, b = -mean / std (float64)."""
        std, mean = self.std.ravel().astype(np.float64), self.mean.ravel().astype(np.float64)
        return 1.0 / std, -mean / std

    def __call__(self, x, rng=None):
        if not isinstance(x, np.ndarray) or x.ndim < 3 or x.shape[-3] != len(self.mean):
            raise TypeError(f"Normalize expects an array (..., {len(self.mean)}, H, W) (apply ToArray first), "
                            f"got {getattr(x, 'shape', type(x).__name__)}")
        return ((x - self.mean) / self.std).astype(np.float32, copy=False)

    def __repr__(self):
        return f"Normalize(mean={self.mean.ravel().tolist()}, std={self.std.ravel().tolist()})"


class PCALighting:
    """AlexNet's PCA colour augmentation on float arrays (..., 3, H, W) with RGB values in [0, 1].

    Draws alpha ~ N(0, alphastd^2), one per principal component (3 draws from ``rng``), and adds to
    every pixel of channel c the same offset

        delta[c] = sum_k eigvec[c, k] * alpha[k] * eigval[k]        (delta = eigvec @ (alpha * eigval))

    so the image's colour shifts along the principal axes of natural-image colour. The eigenvalues
    and eigenvectors are ImageNet's (for [0, 1] pixels); alphastd = 0.1 as in the paper.
    """

    def __init__(self, alphastd=0.1, eigval=IMAGENET_EIGVAL, eigvec=IMAGENET_EIGVEC):
        if not isinstance(alphastd, (int, float, np.integer, np.floating)) or isinstance(alphastd, (bool, np.bool_)):
            raise TypeError(f"PCALighting: alphastd must be a number, got {type(alphastd).__name__} {alphastd!r}")
        if not np.isfinite(alphastd) or alphastd < 0:
            raise ValueError(f"PCALighting: alphastd must be finite and >= 0 (a standard deviation), "
                             f"got {alphastd!r}")
        self.alphastd = float(alphastd)
        self.eigval = _floats(eigval, "PCALighting", "eigval")
        self.eigvec = _floats(eigvec, "PCALighting", "eigvec")
        if self.eigval.ndim != 1 or len(self.eigval) == 0:
            raise ValueError(f"PCALighting: eigval must be a list of numbers, got {eigval!r}")
        if self.eigvec.shape != (len(self.eigval), len(self.eigval)):
            raise ValueError(f"PCALighting: eigvec must be {len(self.eigval)}x{len(self.eigval)}, "
                             f"got {self.eigvec.shape}")

    def affine(self, rng):
        """Per channel (a, b) = (1, delta), delta drawn as __call__ draws it (nothing drawn for alphastd 0)."""
        n = len(self.eigval)
        if self.alphastd == 0:
            return np.ones(n), np.zeros(n)
        _check_rng(rng, "PCALighting")
        return np.ones(n), self.offset(rng)

    def offset(self, rng):
        """The per-channel offset delta, shape (3,), drawn from ``rng``."""
        alpha = rng.normal(0.0, self.alphastd, size=len(self.eigval))
        return self.eigvec @ (alpha * self.eigval)

    def __call__(self, x, rng):
        if not isinstance(x, np.ndarray) or x.ndim < 3 or x.shape[-3] != len(self.eigval):
            raise TypeError(f"PCALighting expects an array (..., 3, H, W) (apply ToArray first), "
                            f"got {getattr(x, 'shape', type(x).__name__)}")
        if self.alphastd == 0:
            return x
        _check_rng(rng, "PCALighting")
        delta = self.offset(rng).astype(x.dtype).reshape(-1, 1, 1)
        return x + delta

    def __repr__(self):
        return f"PCALighting(alphastd={self.alphastd})"


class TenCrop:
    """PIL image -> float32 (10, 3, h, w): the paper's ten evaluation crops, as ToArray would give them.

    Crops 0-4: top-left, top-right, bottom-left, bottom-right, centre (as CenterCrop places it);
    crops 5-9: crops 0-4 mirrored left-right, in the same order. (torchvision instead five-crops the
    mirrored image, so its crops 5 and 6, 7 and 8 are swapped; averaging the ten predictions is the same.)
    """

    def __init__(self, size):
        self.size = _pair(size, "TenCrop")

    def __call__(self, img, rng=None):
        _check_pil(img, "TenCrop")
        h, w = self.size
        _check_fits(img.height, img.width, h, w, "TenCrop")
        a = ToArray()(img)
        H, W = a.shape[1:]
        top, left = round((H - h) / 2), round((W - w) / 2)
        corners = [(0, 0), (0, W - w), (H - h, 0), (H - h, W - w), (top, left)]
        five = np.stack([a[:, y:y + h, x:x + w] for y, x in corners])
        return np.concatenate([five, five[..., ::-1]])

    def __repr__(self):
        return f"TenCrop({self.size!r})"


def _resize_for(size, name):
    """The Resize side for a ``size`` crop (224 -> 256, as AlexNet's crops come from 256-pixel images)."""
    if not is_int(size) or size <= 0:
        raise ValueError(f"{name}: size (the crop side, e.g. 224) must be a positive int, got {size!r}")
    return round(size * 256 / 224)


def train_transform(size=224):
    """AlexNet-style training pipeline: PIL image -> float32 (3, size, size).

    Resize(size*256/224), RandomCrop(size), RandomHorizontalFlip(), ToArray(), PCALighting(), Normalize().
    """
    return Compose([Resize(_resize_for(size, "train_transform")), RandomCrop(size), RandomHorizontalFlip(), ToArray(),
                    PCALighting(), Normalize()])


def eval_transform(size=224, ten_crop=False):
    """Evaluation pipeline: PIL image -> float32 (3, size, size), or (10, 3, size, size) with ``ten_crop``.

    Resize(size*256/224), CenterCrop(size) (or TenCrop(size)), ToArray(), Normalize().
    """
    resize = Resize(_resize_for(size, "eval_transform"))
    crop = [TenCrop(size)] if ten_crop else [CenterCrop(size), ToArray()]
    return Compose([resize] + crop + [Normalize()])


# The stages that apply_to_pixels runs on arrays (their on_array forms), by exact type.
_ARRAY_FORMS = (Resize, CenterCrop, RandomCrop, RandomHorizontalFlip, ToArray, ToPixels)
