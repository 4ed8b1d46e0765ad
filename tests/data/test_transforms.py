"""Transforms checked on constructed images whose pixels encode their own coordinates.

In ``_coords(h, w)`` pixel (y, x) is RGB (10*y, 10*x, 7): a crop's values say where it came from.
"""
import pickle

import numpy as np
import pytest
from PIL import Image

from tinynet.data import transforms as T


def _coords(h, w):
    y, x = np.mgrid[0:h, 0:w]
    return Image.fromarray(np.stack([10 * y, 10 * x, np.full_like(x, 7)], axis=-1).astype(np.uint8), "RGB")


def _where(a):
    """(top, left) of a (3, h, w) ToArray crop of a _coords image."""
    yx = np.rint(a[:2, 0, 0] * 255 / 10).astype(int)
    return int(yx[0]), int(yx[1])


def _rng(seed=0):
    return np.random.default_rng(seed)


@pytest.mark.parametrize("wh, size, want", [
    ((40, 20), 10, (20, 10)),        # landscape: height is the shorter side
    ((20, 40), 10, (10, 20)),        # portrait: width is
    ((30, 20), 7, (10, 7)),          # 7 * 30 / 20 = 10.5, truncated as torchvision does
    ((16, 16), 4, (4, 4)),
    ((10, 5), 12, (24, 12)),         # enlarging too
])
def test_resize_shorter_side_keeps_aspect(wh, size, want):
    img = Image.new("RGB", wh, (30, 60, 90))
    out = T.Resize(size)(img, _rng())
    assert out.size == want and out.mode == "RGB"
    np.testing.assert_array_equal(np.asarray(out)[0, 0], (30, 60, 90))  # a flat colour stays flat


def test_resize_to_exact_hw():
    assert T.Resize((5, 9))(Image.new("RGB", (40, 20)), _rng()).size == (9, 5)


def test_resize_rejects_bad_size():
    with pytest.raises(ValueError, match="Resize: size must be"):
        T.Resize(0)


def test_center_crop_takes_the_centre():
    img = _coords(10, 12)
    a = T.ToArray()(T.CenterCrop(4)(img, _rng()))
    assert a.shape == (3, 4, 4) and _where(a) == (3, 4)  # (10-4)/2, (12-4)/2
    np.testing.assert_array_equal(a, T.ToArray()(img)[:, 3:7, 4:8])
    b = T.ToArray()(T.CenterCrop((3, 5))(img, _rng()))
    assert b.shape == (3, 3, 5) and _where(b) == (round(3.5), round(3.5))  # torchvision's rounding


def test_crops_refuse_images_smaller_than_the_crop():
    for t in [T.CenterCrop(5), T.RandomCrop(5), T.TenCrop(5)]:
        with pytest.raises(ValueError, match="smaller than the 5x5 crop; Resize it first"):
            t(Image.new("RGB", (8, 4)), _rng())


def test_random_crop_is_a_window_at_a_seeded_uniform_position():
    img = _coords(10, 12)
    full = T.ToArray()(img)
    seen = set()
    for seed in range(200):
        a = T.ToArray()(T.RandomCrop((4, 5))(img, _rng(seed)))
        top, left = _where(a)
        np.testing.assert_array_equal(a, full[:, top:top + 4, left:left + 5])
        seen.add((top, left))
        np.testing.assert_array_equal(a, T.ToArray()(T.RandomCrop((4, 5))(img, _rng(seed))))  # same rng, same crop
    assert seen == {(top, left) for top in range(7) for left in range(8)}  # every position, corners included


def test_horizontal_flip_mirrors():
    img = _coords(5, 6)
    a = T.ToArray()(img)
    flipped = T.ToArray()(T.RandomHorizontalFlip(p=1.0)(img, _rng()))
    np.testing.assert_array_equal(flipped, a[:, :, ::-1])
    np.testing.assert_array_equal(T.ToArray()(T.RandomHorizontalFlip(p=0.0)(img, _rng())), a)
    flips = [T.RandomHorizontalFlip()(img, _rng(s)) is not img for s in range(400)]
    assert 150 < sum(flips) < 250  # about half
    assert flips == [T.RandomHorizontalFlip()(img, _rng(s)) is not img for s in range(400)]  # seeded


def test_to_array_values_and_layout():
    img = _coords(3, 4)
    a = T.ToArray()(img, _rng())
    assert a.shape == (3, 3, 4) and a.dtype == np.float32 and a.flags["C_CONTIGUOUS"]
    np.testing.assert_array_equal(a, np.asarray(img).transpose(2, 0, 1).astype(np.float32) / np.float32(255))
    gray = T.ToArray()(Image.new("L", (4, 3), 51))
    assert gray.shape == (3, 3, 4) and np.all(gray == np.float32(51) / np.float32(255))


def test_geometric_transforms_want_pil_images():
    with pytest.raises(TypeError, match="CenterCrop works on PIL images; apply it before ToArray"):
        T.CenterCrop(2)(np.zeros((3, 4, 4), np.float32), _rng())


def test_normalize_is_exactly_mean_std():
    x = np.random.default_rng(1).random((3, 4, 5)).astype(np.float32)
    out = T.Normalize()(x, _rng())
    mean, std = np.array(T.IMAGENET_MEAN), np.array(T.IMAGENET_STD)
    assert T.IMAGENET_MEAN == (0.485, 0.456, 0.406) and T.IMAGENET_STD == (0.229, 0.224, 0.225)
    assert out.dtype == np.float32 and out.shape == x.shape
    np.testing.assert_allclose(out, (x - mean[:, None, None]) / std[:, None, None], rtol=1e-6, atol=1e-6)
    own = T.Normalize(mean=(0.5, 0.0, 1.0), std=(0.5, 2.0, 0.25))(x, _rng())
    np.testing.assert_allclose(own[0], (x[0] - 0.5) / 0.5, rtol=1e-6)
    np.testing.assert_allclose(own[2], (x[2] - 1.0) / 0.25, rtol=1e-6)
    ten = np.stack([x] * 10)
    np.testing.assert_array_equal(T.Normalize()(ten, _rng()), np.stack([out] * 10))  # (10, 3, H, W) too
    with pytest.raises(TypeError, match="Normalize expects an array"):
        T.Normalize()(x.transpose(1, 2, 0), _rng())  # (H, W, 3) is refused, not broadcast wrongly


def test_imagenet_pca_constants():
    v = np.array(T.IMAGENET_EIGVEC)
    assert T.IMAGENET_EIGVAL == (0.2175, 0.0188, 0.0045)
    assert v.tolist() == [[-0.5675, 0.7192, 0.4009], [-0.5808, -0.0045, -0.8140], [-0.5836, -0.6948, 0.4203]]
    np.testing.assert_allclose(v.T @ v, np.eye(3), atol=2e-3)  # columns are orthonormal eigenvectors


def test_pca_lighting_adds_one_offset_per_channel():
    x = np.random.default_rng(2).random((3, 6, 7)).astype(np.float32)
    t = T.PCALighting()
    out = t(x, _rng(5))
    delta = (out - x).reshape(3, -1)
    np.testing.assert_allclose(delta, delta[:, :1].repeat(delta.shape[1], 1), atol=1e-6)  # same for every pixel
    alpha = _rng(5).normal(0, 0.1, 3)  # the draw the transform makes
    want = np.array(T.IMAGENET_EIGVEC) @ (alpha * np.array(T.IMAGENET_EIGVAL))
    np.testing.assert_allclose(delta[:, 0], want, atol=1e-6)
    np.testing.assert_array_equal(out, t(x, _rng(5)))  # deterministic for a given rng
    assert not np.array_equal(out, t(x, _rng(6)))
    assert out.dtype == np.float32
    np.testing.assert_array_equal(T.PCALighting(alphastd=0)(x, _rng()), x)


def test_pca_lighting_magnitude_along_each_principal_axis():
    t, rng = T.PCALighting(), _rng(7)
    deltas = np.array([t.offset(rng) for _ in range(4000)])  # (4000, 3)
    along = deltas @ np.array(T.IMAGENET_EIGVEC)  # coordinates on the eigenvectors: alpha_k * eigval_k
    np.testing.assert_allclose(along.std(axis=0), 0.1 * np.array(T.IMAGENET_EIGVAL), rtol=0.06)
    np.testing.assert_allclose(along.mean(axis=0), 0, atol=0.1 * 0.2175 * 4 / np.sqrt(4000))


def test_ten_crop_corners_centre_and_mirrors():
    img = _coords(10, 12)
    out = T.TenCrop(4)(img, _rng())
    assert out.shape == (10, 3, 4, 4) and out.dtype == np.float32
    full = T.ToArray()(img)
    places = [(0, 0), (0, 8), (6, 0), (6, 8), (3, 4)]  # top-left, top-right, bottom-left, bottom-right, centre
    assert [_where(c) for c in out[:5]] == places
    for k, (top, left) in enumerate(places):
        np.testing.assert_array_equal(out[k], full[:, top:top + 4, left:left + 4])
        np.testing.assert_array_equal(out[5 + k], full[:, top:top + 4, left:left + 4][:, :, ::-1])
    np.testing.assert_array_equal(out[4], T.ToArray()(T.CenterCrop(4)(img, _rng())))
    rect = T.TenCrop((3, 5))(img, _rng())
    assert rect.shape == (10, 3, 3, 5) and _where(rect[3]) == (7, 7)


@pytest.mark.parametrize("wh", [(50, 40), (40, 90)])
def test_pipelines_output_shapes(wh):
    img = Image.fromarray(np.random.default_rng(3).integers(0, 256, (wh[1], wh[0], 3), dtype=np.uint8))
    train = T.train_transform(32)
    assert [type(t).__name__ for t in train.transforms] == [
        "Resize", "RandomCrop", "RandomHorizontalFlip", "ToArray", "PCALighting", "Normalize"]
    assert train.transforms[0].size == 37  # round(32 * 256 / 224); 224 -> 256
    x = train(img, _rng())
    assert x.shape == (3, 32, 32) and x.dtype == np.float32
    np.testing.assert_array_equal(x, train(img, _rng()))
    e = T.eval_transform(32)(img, _rng())
    assert e.shape == (3, 32, 32) and e.dtype == np.float32
    ten = T.eval_transform(32, ten_crop=True)(img, _rng())
    assert ten.shape == (10, 3, 32, 32) and ten.dtype == np.float32
    np.testing.assert_allclose(ten[4], e, atol=1e-6)  # ten-crop's centre is the centre crop
    assert T.train_transform(224).transforms[0].size == 256


def test_transforms_pickle_and_repr():
    t = T.train_transform(16)
    t2 = pickle.loads(pickle.dumps(t))
    img = _coords(20, 24)
    np.testing.assert_array_equal(t(img, _rng(3)), t2(img, _rng(3)))
    assert repr(t).startswith("Compose([Resize(18), RandomCrop((16, 16)), RandomHorizontalFlip(p=0.5), ToArray()")


# ------------------------------------------------------------------------------------- hostile arguments

SIZE = r"size must be a positive int or a pair \(h, w\) of them, got"
NAN, INF = float("nan"), float("inf")

# (a transform made from bad arguments; the exception; its message, naming the transform and argument)
BAD_CONSTRUCTION = [
    (lambda: T.Resize(0), ValueError, rf"^Resize: {SIZE} 0$"),
    (lambda: T.Resize(-3), ValueError, rf"^Resize: {SIZE} -3$"),
    (lambda: T.Resize((0, 4)), ValueError, rf"^Resize: {SIZE} \(0, 4\)$"),
    (lambda: T.Resize((4, -1)), ValueError, rf"^Resize: {SIZE} \(4, -1\)$"),
    (lambda: T.Resize(2.5), TypeError, rf"^Resize: {SIZE} float 2.5$"),
    (lambda: T.Resize(10.0), TypeError, rf"^Resize: {SIZE} float 10.0$"),
    (lambda: T.Resize(NAN), TypeError, rf"^Resize: {SIZE} float nan$"),
    (lambda: T.Resize(INF), TypeError, rf"^Resize: {SIZE} float inf$"),
    (lambda: T.Resize("10"), TypeError, rf"^Resize: {SIZE} str '10'$"),
    (lambda: T.Resize(None), TypeError, rf"^Resize: {SIZE} NoneType None$"),
    (lambda: T.Resize(True), TypeError, rf"^Resize: {SIZE} bool True$"),
    (lambda: T.Resize((1, 2, 3)), TypeError, rf"^Resize: {SIZE} tuple \(1, 2, 3\)$"),
    (lambda: T.Resize((3,)), TypeError, rf"^Resize: {SIZE} tuple \(3,\)$"),
    (lambda: T.Resize([]), TypeError, rf"^Resize: {SIZE} list \[\]$"),
    (lambda: T.RandomCrop(0), ValueError, rf"^RandomCrop: {SIZE} 0$"),
    (lambda: T.RandomCrop((2, 2.5)), TypeError, rf"^RandomCrop: {SIZE} tuple"),
    (lambda: T.RandomCrop(None), TypeError, rf"^RandomCrop: {SIZE} NoneType"),
    (lambda: T.CenterCrop((0, 3)), ValueError, rf"^CenterCrop: {SIZE} \(0, 3\)$"),
    (lambda: T.CenterCrop("224"), TypeError, rf"^CenterCrop: {SIZE} str '224'$"),
    (lambda: T.TenCrop(-1), ValueError, rf"^TenCrop: {SIZE} -1$"),
    (lambda: T.TenCrop(1.5), TypeError, rf"^TenCrop: {SIZE} float 1.5$"),
    (lambda: T.Normalize(std=(0, 1, 1)), ValueError, r"^Normalize: std must be nonzero \(it divides\)"),
    (lambda: T.Normalize(std=(1e-50, 1, 1)), ValueError, r"^Normalize: std must be nonzero"),  # 0 in float32
    (lambda: T.Normalize(std=(NAN, 1, 1)), ValueError, r"^Normalize: std must be finite, got \(nan, 1, 1\)"),
    (lambda: T.Normalize(mean=(INF, 0, 0)), ValueError, r"^Normalize: mean must be finite"),
    (lambda: T.Normalize(mean="abc"), TypeError, r"^Normalize: mean must be numbers, got 'abc'"),
    (lambda: T.Normalize(mean=None), TypeError, r"^Normalize: mean must be numbers, got None"),
    (lambda: T.Normalize(std=("a", 1, 1)), TypeError, r"^Normalize: std must be numbers"),
    (lambda: T.Normalize(mean=(1, 2), std=(1, 2, 3)), ValueError, r"^Normalize: need one mean and one std per channel"),
    (lambda: T.Normalize(mean=(), std=()), ValueError, r"^Normalize: need one mean and one std per channel"),
    (lambda: T.Normalize(mean=[[0, 0, 0]], std=[[1, 1, 1]]), ValueError, r"^Normalize: need one mean and one std"),
    (lambda: T.PCALighting(alphastd=-1), ValueError, r"^PCALighting: alphastd must be finite and >= 0"),
    (lambda: T.PCALighting(alphastd=NAN), ValueError, r"^PCALighting: alphastd must be finite and >= 0"),
    (lambda: T.PCALighting(alphastd=INF), ValueError, r"^PCALighting: alphastd must be finite"),
    (lambda: T.PCALighting(alphastd="0.1"), TypeError, r"^PCALighting: alphastd must be a number, got str"),
    (lambda: T.PCALighting(alphastd=None), TypeError, r"^PCALighting: alphastd must be a number"),
    (lambda: T.PCALighting(alphastd=True), TypeError, r"^PCALighting: alphastd must be a number, got bool"),
    (lambda: T.PCALighting(eigval=(NAN, 1, 1)), ValueError, r"^PCALighting: eigval must be finite"),
    (lambda: T.PCALighting(eigvec=np.full((3, 3), INF)), ValueError, r"^PCALighting: eigvec must be finite"),
    (lambda: T.PCALighting(eigvec=np.eye(2)), ValueError, r"^PCALighting: eigvec must be 3x3"),
    (lambda: T.PCALighting(eigval=np.eye(3), eigvec=np.eye(3)), ValueError, r"^PCALighting: eigval must be a list"),
    (lambda: T.RandomHorizontalFlip(p=NAN), ValueError, r"^RandomHorizontalFlip: p must be in \[0, 1\], got nan"),
    (lambda: T.RandomHorizontalFlip(p=1.5), ValueError, r"^RandomHorizontalFlip: p must be in \[0, 1\]"),
    (lambda: T.RandomHorizontalFlip(p="0.5"), TypeError, r"^RandomHorizontalFlip: p must be a number .*got str"),
    (lambda: T.RandomHorizontalFlip(p=None), TypeError, r"^RandomHorizontalFlip: p must be a number"),
    (lambda: T.Compose(None), TypeError, r"^Compose: transforms must be a list of transforms, got NoneType"),
    (lambda: T.Compose(T.Resize(3)), TypeError, r"^Compose: transforms must be a list .*got Resize"),
    (lambda: T.Compose([T.ToArray(), 1]), TypeError, r"^Compose: transforms\[1\] is a int \(1\), not a callable"),
    (lambda: T.train_transform(0), ValueError, r"^train_transform: size \(the crop side, e.g. 224\) must be a "
                                               r"positive int, got 0$"),
    (lambda: T.train_transform(-5), ValueError, r"^train_transform: size .*got -5$"),  # said "got -6"
    (lambda: T.train_transform(32.0), ValueError, r"^train_transform: size .*got 32.0$"),
    (lambda: T.eval_transform(0), ValueError, r"^eval_transform: size .*got 0$"),
    (lambda: T.eval_transform(None, ten_crop=True), ValueError, r"^eval_transform: size .*got None$"),
]


@pytest.mark.parametrize("make, error, message", BAD_CONSTRUCTION)
def test_bad_arguments_are_refused_at_construction(make, error, message):
    with pytest.raises(error, match=message):
        make()


IMG = Image.new("RGB", (8, 4))  # W x H: 8 wide, 4 high
ARR = np.zeros((3, 4, 8), np.float32)

# (a transform; what it is called with (input, rng); the exception; its message, naming sizes or the argument)
BAD_CALL = [
    (T.CenterCrop(5), (IMG, _rng()), ValueError, r"^CenterCrop: image of 4x8 \(H x W\) is smaller than the 5x5 crop"),
    (T.RandomCrop((3, 9)), (IMG, _rng()), ValueError, r"^RandomCrop: image of 4x8 .* smaller than the 3x9 crop"),
    (T.RandomCrop((5, 2)), (IMG, _rng()), ValueError, r"^RandomCrop: image of 4x8 .* smaller than the 5x2 crop"),
    (T.TenCrop(9), (IMG, _rng()), ValueError, r"^TenCrop: image of 4x8 .* smaller than the 9x9 crop"),
    (T.RandomCrop(2), (IMG, None), TypeError, r"^RandomCrop is random: call it as t\(img, rng\) with a "
                                               r"np.random.Generator .*got NoneType"),
    (T.RandomCrop(2), (IMG, 0), TypeError, r"^RandomCrop is random: .*got int"),
    (T.RandomHorizontalFlip(), (IMG, None), TypeError, r"^RandomHorizontalFlip is random: .*got NoneType"),
    (T.RandomHorizontalFlip(), (IMG, np.random.RandomState(0)), TypeError, r"is random: .*got RandomState"),
    (T.PCALighting(), (ARR, None), TypeError, r"^PCALighting is random: .*got NoneType"),
    (T.Compose([T.RandomCrop(2)]), (IMG,), TypeError, r"^RandomCrop is random: .*got NoneType"),
    (T.Resize(3), (ARR, _rng()), TypeError, r"^Resize works on PIL images; apply it before ToArray"),
]


@pytest.mark.parametrize("t, args, error, message", BAD_CALL)
def test_bad_calls_are_refused_naming_the_transform(t, args, error, message):
    with pytest.raises(error, match=message):
        t(*args)


def test_resize_refuses_an_output_past_pillows_pixel_limit(monkeypatch):
    """A 1-pixel-high strip resized by its shorter side would become gigantic (here: past a lowered limit)."""
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    with pytest.raises(ValueError, match=r"^Resize\(16\): an image of 1x100 \(H x W\) would become 16x1600, "
                                         r"25600 pixels, more than Pillow's limit of 1000"):
        T.Resize(16)(Image.new("RGB", (100, 1)), _rng())
    assert T.Resize(16)(Image.new("RGB", (20, 10)), _rng()).size == (32, 16)  # within the limit: as before


def test_split_for_transport_gives_the_pipelines_values_from_uint8_pixels():
    # ToPixels: uint8 pixels and one scale and offset per channel that reproduce ToArray, PCALighting and
    # Normalize to float32 rounding, with the same random draws (so the crop, flip and lighting agree).
    from PIL import Image

    import kernels
    from tinynet.data import transforms as T

    rng = np.random.default_rng(3)
    img = Image.fromarray(rng.integers(0, 256, (50, 60, 3), dtype=np.uint8))
    for full in (T.train_transform(32), T.eval_transform(32)):
        head = T.split_for_transport(full)
        assert type(head.transforms[-1]) is T.ToPixels
        want = full(img, np.random.default_rng(9))
        pixels, scale, offset = head(img, np.random.default_rng(9))
        assert pixels.dtype == np.uint8 and pixels.shape == want.shape
        got = kernels.pixels_to_float(pixels[None], scale[None], offset[None])[0]
        np.testing.assert_allclose(got, want, rtol=0, atol=2e-6)
    assert T.split_for_transport(T.eval_transform(32, ten_crop=True)) is None  # TenCrop makes floats itself
    assert T.split_for_transport(lambda img, rng: img) is None
    with pytest.raises(TypeError, match="ToPixels: .* is not a per-channel affine array stage"):
        T.ToPixels([T.CenterCrop(3)])


def _same(a, b):
    """Two transform outputs equal in kind and value: PIL images, arrays, or Pixels."""
    if isinstance(a, Image.Image):
        assert isinstance(b, Image.Image) and a.mode == b.mode
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    elif isinstance(a, T.Pixels):
        assert isinstance(b, T.Pixels)
        for u, v in zip(a, b):
            assert u.dtype == v.dtype
            np.testing.assert_array_equal(u, v)
    else:
        assert type(a) is type(b) and a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("make", [
    lambda: T.train_transform(24),                                     # no-op Resize, crop, flip, ToArray, floats
    lambda: T.split_for_transport(T.train_transform(24)),              # ... ending in ToPixels
    lambda: T.split_for_transport(T.eval_transform(24)),
    lambda: T.eval_transform(24, ten_crop=True),                       # TenCrop has no array form: a PIL image
    lambda: T.Compose([T.RandomCrop((20, 9)), T.RandomHorizontalFlip(1.0)]),  # ends as an image: a PIL one
    lambda: T.Compose([T.CenterCrop(11), T.Resize(30), T.RandomCrop(25), T.ToArray()]),  # resizes midway
    lambda: T.Compose([T.Resize(27)]),                                 # the no-op Resize alone
    lambda: T.RandomHorizontalFlip(0.0),                               # not a Compose
])
def test_apply_to_pixels_is_the_transform_of_the_image(make):
    # The array forms (views for crops and flips, one copy at ToArray/ToPixels) give exactly what the PIL
    # stages give, with the same draws, and never write into the pixels (a read-only memory map in packed sets).
    transform = make()
    for seed in range(6):
        pixels = np.random.default_rng(seed).integers(0, 256, (27, 28 + 3 * seed, 3), dtype=np.uint8)  # 27: Resize(27) is a no-op
        pixels.flags.writeable = False
        want = transform(Image.fromarray(pixels), np.random.default_rng([seed, 1]))
        rng = np.random.default_rng([seed, 1])
        got = T.apply_to_pixels(transform, pixels, rng)
        _same(want, got)
        ref = np.random.default_rng([seed, 1])
        transform(Image.fromarray(pixels), ref)
        assert rng.bit_generator.state == ref.bit_generator.state  # as many draws as the PIL path


def test_apply_to_pixels_refuses_as_the_stages_do():
    pixels = np.zeros((10, 12, 3), np.uint8)
    with pytest.raises(ValueError, match=r"RandomCrop: image of 10x12 \(H x W\) is smaller than the 11x11 crop"):
        T.apply_to_pixels(T.Compose([T.RandomCrop(11)]), pixels, _rng())
    with pytest.raises(TypeError, match="RandomCrop is random: call it as t"):
        T.apply_to_pixels(T.Compose([T.RandomCrop(5)]), pixels, None)


@pytest.mark.parametrize("transform, pixels, message", [
    (None, np.zeros((4, 4, 3), np.uint8), "transform must be a transform .* got NoneType"),
    (T.CenterCrop(2), np.zeros((4, 4, 3), np.float32), r"pixels must be a uint8 array \(H, W, 3\) .* got float32"),
    (T.CenterCrop(2), np.zeros((4, 4), np.uint8), r"pixels must be a uint8 array .* of shape \(4, 4\)"),
    (T.CenterCrop(2), np.zeros((3, 4, 4), np.uint8), r"pixels .* of shape \(3, 4, 4\)"),  # channels first
    (T.CenterCrop(2), [[[0, 0, 0]]], "pixels .* got list"),
])
def test_apply_to_pixels_refuses_what_is_not_an_rgb_image(transform, pixels, message):
    with pytest.raises(TypeError, match="apply_to_pixels: " + message):
        T.apply_to_pixels(transform, pixels, _rng())


def test_apply_to_pixels_copies_even_a_1x1_crop_and_ignores_array_forms_a_subclass_inherits():
    # A (3, 1, 1) transpose is contiguous already: ToPixels still copies, so the result never views the input
    # (a packed set's read-only map). A subclass that changes __call__ is run as PIL, as its __call__ says.
    pixels = np.arange(12, dtype=np.uint8).reshape(2, 2, 3)
    out = T.apply_to_pixels(T.Compose([T.CenterCrop(1), T.ToPixels()]), pixels, _rng())
    assert not np.shares_memory(out[0], pixels) and out[0].flags.writeable

    class UpsideDown(T.RandomHorizontalFlip):
        def __call__(self, img, rng):
            return img.transpose(Image.FLIP_TOP_BOTTOM)

    tf = T.Compose([UpsideDown(), T.ToArray()])
    np.testing.assert_array_equal(T.apply_to_pixels(tf, pixels, _rng()), tf(Image.fromarray(pixels), _rng()))
