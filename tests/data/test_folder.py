"""ImageFolder: the layout it reads, every Pillow mode converted to RGB, corrupt files, clear errors.

``make_mixed_folder`` (also used by test_loader) writes tiny images of every mode we promise to read,
plus a corrupt and a truncated file, and returns the RGB pixels each good one must decode to.
"""
import os
import pickle
import re
import warnings

import numpy as np
import pytest
from PIL import Image

from tests.helpers import record_jpeg_drafts
from tinynet.data import CorruptImageError, ImageFolder
from tinynet.data.folder import load_rgb
from tinynet.data.transforms import Compose, RandomCrop, ToArray

W, H = 8, 6  # every test image is W x H pixels


def _rgb(color):
    return np.broadcast_to(np.array(color, dtype=np.uint8), (H, W, 3))


def make_mixed_folder(root):
    """Write root/<class>/<image> in many modes; return (expected, corrupt).

    expected: {path: (H, W, 3) uint8 RGB the file must decode to, or None where JPEG is lossy
    (then the entry is (pixels, tolerance))}; corrupt: sorted paths that cannot be decoded.
    """
    rng = np.random.default_rng(0)
    os.makedirs(root / "cat" / "sub")
    os.makedirs(root / "dog")
    expected = {}

    def save(img, rel, pixels, tol=0, **kw):
        path = str(root / rel)
        img.save(path, **kw)
        expected[path] = (np.asarray(pixels, dtype=np.uint8), tol)

    noise = rng.integers(0, 256, (H, W, 3), dtype=np.uint8)
    save(Image.fromarray(noise, "RGB"), "cat/rgb.png", noise)
    save(Image.new("RGB", (W, H), (200, 40, 90)), "cat/rgb.jpg", _rgb((200, 40, 90)), tol=3, quality=95)
    gray = rng.integers(0, 256, (H, W), dtype=np.uint8)
    save(Image.fromarray(gray, "L"), "cat/gray.png", np.stack([gray] * 3, axis=-1))
    pal = Image.new("P", (W, H), 0)
    pal.putpalette([255, 0, 0, 0, 255, 0, 0, 0, 255] + [0] * (256 * 3 - 9))
    pal.putpixel((1, 2), 2)
    want = _rgb((255, 0, 0)).copy()
    want[2, 1] = (0, 0, 255)
    save(pal, "cat/sub/palette.png", want)  # in a sub-folder of its class: still found
    save(pal, "cat/palette_transparent.png", want, transparency=bytes([255, 0, 128]))  # alpha per palette entry
    save(Image.new("CMYK", (W, H), (0, 255, 255, 0)), "dog/cmyk.jpg", _rgb((255, 0, 0)), tol=3, quality=95)
    rgba = rng.integers(0, 256, (H, W, 4), dtype=np.uint8)
    save(Image.fromarray(rgba, "RGBA"), "dog/rgba.png", rgba[..., :3])  # alpha dropped, colour kept
    save(Image.new("LA", (W, H), (77, 10)), "dog/la.png", _rgb((77, 77, 77)))
    deep = (np.arange(H * W, dtype=np.uint16).reshape(H, W) * 1000).astype(np.uint16)
    save(Image.fromarray(deep), "dog/gray16.png", np.stack([np.rint(deep / 257).astype(np.uint8)] * 3, -1))
    save(Image.fromarray(noise, "RGB"), "dog/UPPER.PNG", noise)  # extensions in any case

    corrupt = root / "dog" / "corrupt.jpg"
    corrupt.write_bytes(rng.integers(0, 256, 300, dtype=np.uint8).tobytes())
    full = root / "cat" / "whole.png"
    Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(full)
    truncated = root / "cat" / "truncated.png"
    truncated.write_bytes(full.read_bytes()[: len(full.read_bytes()) // 2])
    full.unlink()
    (root / "dog" / "notes.txt").write_text("not an image")  # ignored: no image extension
    (root / "dog" / ".hidden.jpg").write_bytes(b"junk")  # ignored: hidden (e.g. macOS ._ files)
    return expected, sorted([str(corrupt), str(truncated)])


@pytest.fixture
def mixed(tmp_path):
    expected, corrupt = make_mixed_folder(tmp_path / "data")
    return tmp_path / "data", expected, corrupt


def test_layout_classes_and_samples(mixed):
    root, expected, corrupt = mixed
    ds = ImageFolder(root)
    assert ds.root == str(root)
    assert ds.classes == ["cat", "dog"] and ds.class_to_idx == {"cat": 0, "dog": 1}
    paths = [p for p, _ in ds.samples]
    assert sorted(paths) == sorted(list(expected) + corrupt) and len(ds) == len(paths)
    cats = sorted(p for p in paths if os.sep + "cat" + os.sep in p)
    dogs = sorted(p for p in paths if os.sep + "dog" + os.sep in p)
    assert paths == cats + dogs  # class by class, each class's files sorted
    assert ds.targets == [t for _, t in ds.samples] == [0] * len(cats) + [1] * len(dogs)


def test_classes_are_sorted(tmp_path):
    for name in ["zebra", "Apple", "mango"]:
        os.makedirs(tmp_path / name)
        Image.new("RGB", (2, 2)).save(tmp_path / name / "x.png")
    ds = ImageFolder(tmp_path)
    assert ds.classes == ["Apple", "mango", "zebra"]
    assert [t for _, t in ds.samples] == [0, 1, 2]


def test_every_mode_decodes_to_rgb(mixed):
    root, expected, _ = mixed
    ds = ImageFolder(root)
    for i, (path, target) in enumerate(ds.samples):
        if path not in expected:
            continue
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            img, t = ds[i]
        assert caught == [], path  # no Pillow noise in the logs either
        assert t == target and isinstance(img, Image.Image) and img.mode == "RGB" and img.size == (W, H)
        want, tol = expected[path]
        got = np.asarray(img).astype(int)
        assert np.abs(got - want).max() <= tol, path


def test_to_array_gives_float32_chw(mixed):
    root, expected, _ = mixed
    ds = ImageFolder(root, transform=ToArray())
    for i, (path, _) in enumerate(ds.samples):
        if path in expected:
            x, _ = ds.load(i, np.random.default_rng(0))
            assert x.shape == (3, H, W) and x.dtype == np.float32
            assert 0 <= x.min() and x.max() <= 1


@pytest.mark.parametrize("name", ["corrupt.jpg", "truncated.png"])
def test_corrupt_file_raises_naming_it(mixed, name):
    root, _, corrupt = mixed
    ds = ImageFolder(root)
    path = next(p for p in corrupt if p.endswith(name))
    i = [p for p, _ in ds.samples].index(path)
    with pytest.raises(CorruptImageError) as info:
        ds[i]
    assert isinstance(info.value, ValueError)
    assert info.value.path == path and path in str(info.value)
    assert pickle.loads(pickle.dumps(info.value)).path == path


def test_getitem_uses_index_seeded_rng_and_load_takes_one(mixed):
    root, _, _ = mixed
    ds = ImageFolder(root, transform=Compose([RandomCrop(3), ToArray()]))
    i = 0
    a, b = ds[i][0], ds[i][0]
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, ds.load(i, np.random.default_rng(i))[0])
    crops = {ds.load(i, np.random.default_rng(s))[0].tobytes() for s in range(20)}
    assert len(crops) > 1
    assert ds[-1][1] == ds.targets[-1]
    with pytest.raises(IndexError):
        ds[len(ds)]


def test_picklable_with_transform(mixed):
    root, _, _ = mixed
    ds = ImageFolder(root, transform=Compose([RandomCrop(3), ToArray()]))
    ds2 = pickle.loads(pickle.dumps(ds))
    assert ds2.samples == ds.samples and ds2.classes == ds.classes
    np.testing.assert_array_equal(ds2[0][0], ds[0][0])


def test_missing_root(tmp_path):
    missing = tmp_path / "nope"
    with pytest.raises(FileNotFoundError, match="nope.*does not exist.*root/<class>/<image>"):
        ImageFolder(missing)


def test_root_is_a_file(tmp_path):
    (tmp_path / "f.png").write_bytes(b"")
    with pytest.raises(NotADirectoryError, match="f.png.*not a folder"):
        ImageFolder(tmp_path / "f.png")


def test_empty_root(tmp_path):
    with pytest.raises(ValueError, match=r"holds nothing and no class sub-folders; expected root/<class>/<image>"):
        ImageFolder(tmp_path)


def test_flat_layout_says_images_are_directly_in_root(tmp_path):
    for k in range(5):
        Image.new("RGB", (2, 2)).save(tmp_path / f"{k}.png")
    with pytest.raises(ValueError) as info:
        ImageFolder(tmp_path)
    msg = str(info.value)
    assert "5 image file(s) directly in the root" in msg and "'0.png'" in msg and "2 more" in msg
    assert "no class sub-folders" in msg and "expected root/<class>/<image>" in msg


def test_only_non_image_files(tmp_path):
    (tmp_path / "labels.csv").write_text("a,b")
    with pytest.raises(ValueError, match=r"1 non-image file\(s\) \('labels.csv'\) and no class sub-folders"):
        ImageFolder(tmp_path)


def test_class_folders_without_images(tmp_path):
    os.makedirs(tmp_path / "a")
    os.makedirs(tmp_path / "b")
    (tmp_path / "a" / "readme.txt").write_text("x")
    with pytest.raises(ValueError, match=r"2 class folder\(s\) \('a', 'b'\) but no image files"):
        ImageFolder(tmp_path)


def test_one_empty_class_is_named(tmp_path):
    os.makedirs(tmp_path / "full")
    os.makedirs(tmp_path / "hollow")
    Image.new("RGB", (2, 2)).save(tmp_path / "full" / "x.png")
    with pytest.raises(ValueError, match=r"class folder\(s\) 'hollow' .* hold no image files"):
        ImageFolder(tmp_path)


# ------------------------------------------------------------------------------- links and hostile input

def _png(path):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    Image.new("RGB", (2, 2)).save(path)


@pytest.fixture
def linked(tmp_path):
    """root/circle/{a.png, sub/b.png, .stash/h.png}, root/square/c.png, and outside/o.png beside root."""
    root = tmp_path / "root"
    for rel in ["circle/a.png", "circle/sub/b.png", "circle/.stash/h.png", "square/c.png"]:
        _png(root / rel)
    _png(tmp_path / "outside" / "o.png")
    return root


BASE = [("circle/a.png", 0), ("circle/sub/b.png", 0), ("square/c.png", 1)]

# (links to make: {path under root: target, relative to the link's folder or absolute under tmp_path
#  when it starts with "/"}; the samples expected (relative path, class); the links expected skipped
#  (relative path, reason regex)). Every skipped link is named, and no image is read twice or labelled
#  with another class.
LINKS = [
    ({"circle/loop": ".."}, BASE, [("circle/loop", "loops back to an ancestor")]),  # was 60 -> 2460 images
    ({"circle/self": "."}, BASE, [("circle/self", "loops back to an ancestor")]),
    ({"circle/sub/up": ".."}, BASE, [("circle/sub/up", "loops back to an ancestor")]),
    ({"circle/sub/deep/up": "../.."}, BASE, [("circle/sub/deep/up", "loops back to an ancestor")]),
    ({"circle/squares": "../square"}, BASE, [("circle/squares", "leaves the class folder 'circle'")]),
    ({"circle/out": "/outside"}, BASE, [("circle/out", "leaves the class folder 'circle'")]),
    ({"circle/again": "sub"}, BASE, [("circle/again", r"leads to a folder walked already \(.*circle/sub\)")]),
    ({"circle/stash": ".stash"}, BASE[:2] + [("circle/stash/h.png", 0)] + BASE[2:], []),  # inside: followed
    ({"circle/l1": ".stash", "circle/l2": ".stash"}, BASE[:1] + [("circle/l1/h.png", 0)] + BASE[1:],
     [("circle/l2", r"leads to a folder walked already \(.*circle/l1\)")]),
    ({"circle/stash": ".stash", "circle/.stash/back": ".."},
     BASE[:2] + [("circle/stash/h.png", 0)] + BASE[2:], [("circle/stash/back", "loops back to an ancestor")]),
    ({"circle/linked.png": "/outside/o.png"}, BASE[:1] + [("circle/linked.png", 0)] + BASE[1:], []),  # file link
    ({"circle/gone.png": "/nowhere.png"}, BASE, [("circle/gone.png", "broken link: its target does not exist")]),
    ({"circle/x": "y", "circle/y": "x"}, BASE, [("circle/x", "broken link: Too many levels"),
                                                ("circle/y", "broken link: Too many levels")]),
    ({"circle/.hidden": ".."}, BASE, []),  # hidden entries stay ignored, links or not
    ({"ghost": "/nowhere"}, BASE, [("ghost", "broken link")]),  # a class folder link to nothing
    ({"tri": "/outside"}, BASE + [("tri/o.png", 2)], []),  # a class folder that is a link: allowed
    ({"tri": "/outside", "tri/o2.png": "o.png", "tri/self": "."},  # inside it, the link's target is the class
     BASE + [("tri/o.png", 2), ("tri/o2.png", 2)], [("tri/self", "loops back to an ancestor")]),
    ({"tri": "/outside", "tri/root": "/root"},  # back to the root from the class folder's target
     BASE + [("tri/o.png", 2)], [("tri/root", "leaves the class folder 'tri'")]),
]


def _make_links(root, links):
    for rel, target in links.items():
        if target.startswith("/"):
            target = str(root.parent) + target
        os.makedirs((root / rel).parent, exist_ok=True)
        os.symlink(target, root / rel)


@pytest.mark.parametrize("links, samples, skipped", LINKS)
def test_directory_links_are_followed_only_inside_the_class_and_never_in_a_loop(linked, links, samples, skipped):
    _make_links(linked, links)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ds = ImageFolder(linked)
    got = [(os.path.relpath(p, linked), t) for p, t in ds.samples]
    assert got == sorted(samples, key=lambda s: (s[1], s[0]))
    assert [os.path.relpath(p, linked) for p, _ in ds.skipped_links] == [p for p, _ in skipped]
    for (_, reason), (_, want) in zip(ds.skipped_links, skipped):
        assert re.search(want, reason), reason
    mine = [w for w in caught if "link" in str(w.message)]
    assert len(mine) == (1 if skipped else 0)
    if skipped:
        assert issubclass(mine[0].category, UserWarning) and mine[0].filename == __file__
        assert f"skipped {len(skipped)} link(s)" in str(mine[0].message)
        assert os.path.join(str(linked), skipped[0][0]) in str(mine[0].message)


def test_one_warning_names_the_first_links_and_counts_the_rest(linked):
    for k in range(5):
        os.symlink(linked.parent / "outside", linked / "circle" / f"out{k}")
    with pytest.warns(UserWarning) as caught:
        ds = ImageFolder(linked)
    assert len(caught) == 1 and len(ds) == 3 and len(ds.skipped_links) == 5
    msg = str(caught[0].message)
    assert "skipped 5 link(s)" in msg and "out0 (leaves the class folder 'circle')" in msg and "out2" in msg
    assert "out3" not in msg and "2 more" in msg and "ImageFolder.skipped_links" in msg


def _unreadable(monkeypatch, folder, error=PermissionError(13, "Permission denied")):
    """Make os.scandir of ``folder`` fail as it does for a folder without read permission."""
    real = os.scandir

    def scandir(path="."):
        if os.path.realpath(os.fspath(path)) == os.path.realpath(folder):
            raise type(error)(error.errno, error.strerror, os.fspath(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)


def _root(root, monkeypatch):
    return (root,), {}


# (make the inputs from (root, monkeypatch) -> (args, kwargs); the exception; its message)
BAD_INPUT = [
    (lambda r, m: ((5,), {}), TypeError, r"ImageFolder: root must be a folder path .*got int 5"),
    (lambda r, m: ((None,), {}), TypeError, r"root must be a folder path .*got NoneType None"),
    (lambda r, m: ((str(r).encode(),), {}), TypeError, r"root must be a folder path .*got bytes"),
    (lambda r, m: (([str(r)],), {}), TypeError, r"root must be a folder path .*got list"),
    (lambda r, m: (("",), {}), ValueError, r"ImageFolder: root is an empty string"),
    (lambda r, m: ((r,), {"transform": 5}), TypeError, r"transform must be callable .*got int 5"),
    (lambda r, m: ((r,), {"transform": "Resize(8)"}), TypeError, r"transform must be callable .*got str"),
    (lambda r, m: ((r,), {"transform": lambda img: img}), TypeError,
     r"transform <function .*> cannot be called as transform\(img, rng\) \(its signature is \(img\)\)"),
    (lambda r, m: ((r,), {"transform": ToArray}), TypeError, r"cannot be called as transform\(img, rng\)"),
    (lambda r, m: (os.symlink(".", r / "all"), ((r,), {}))[1], ValueError,
     r"class folder '.*all' is a link to .*which holds the root"),
    (lambda r, m: (os.symlink("circle", r / "kitty"), ((r,), {}))[1], ValueError,
     r"class folders 'circle' and 'kitty' .* are the same folder"),
    (lambda r, m: (os.symlink("circle/sub", r / "inner"), ((r,), {}))[1], ValueError,
     r"class folder 'inner' .* inside class folder 'circle'"),
    (lambda r, m: (_unreadable(m, r), ((r,), {}))[1], PermissionError,
     r"ImageFolder: cannot list the root '.*root' \(Permission denied\)"),
    (lambda r, m: (_unreadable(m, r / "circle"), ((r,), {}))[1], PermissionError,
     r"cannot list a folder of class 'circle', '.*root/circle' \(Permission denied\)"),
    (lambda r, m: (_unreadable(m, r / "circle" / "sub"), ((r,), {}))[1], PermissionError,
     r"cannot list a folder of class 'circle', '.*circle/sub' \(Permission denied\)"),
    (lambda r, m: (_unreadable(m, r / "square", OSError(5, "Input/output error")), ((r,), {}))[1], OSError,
     r"cannot list a folder of class 'square', '.*root/square' \(Input/output error\)"),
]


@pytest.mark.parametrize("make, error, message", BAD_INPUT)
def test_bad_input_is_refused_naming_the_argument_or_folder(linked, monkeypatch, make, error, message):
    args, kwargs = make(linked, monkeypatch)
    with pytest.raises(error, match=message):
        ImageFolder(*args, **kwargs)


# (an index; the exception, or None and the sample it reads; the message)
INDICES = [
    (3, IndexError, r"ImageFolder index 3 is out of range: the dataset holds 3 images \(indices -3 to 2\)"),
    (-4, IndexError, r"index -4 is out of range: the dataset holds 3 images"),
    (10 ** 12, IndexError, r"out of range: the dataset holds 3 images"),
    ("0", TypeError, r"ImageFolder index must be an int from -3 to 2 \(the dataset holds 3 images\), got str '0'"),
    (1.0, TypeError, r"must be an int .*got float 1.0"),
    (np.float64(0), TypeError, r"must be an int .*got float64"),
    (None, TypeError, r"must be an int .*got NoneType"),
    (slice(0, 2), TypeError, r"must be an int .*got slice"),
    (True, TypeError, r"ImageFolder index must be an int, got True \(bool\)"),
    (np.int64(1), None, 1),
    (-1, None, 2),
    (0, None, 0),
]


@pytest.mark.parametrize("index, error, expect", INDICES)
def test_an_index_is_an_int_in_range(linked, index, error, expect):
    ds = ImageFolder(linked, transform=Compose([RandomCrop(1), ToArray()]))
    if error is None:
        x, t = ds[index]
        np.testing.assert_array_equal(x, ds.load(expect, np.random.default_rng(expect))[0])
        assert t == ds.targets[expect]
    else:
        with pytest.raises(error, match=expect):
            ds[index]


def test_a_fifo_named_like_an_image_is_skipped_not_waited_on(tmp_path):
    # Reading a FIFO blocks until a writer comes; with -j 0 no timeout would end that wait.
    (tmp_path / "cat").mkdir()
    Image.new("RGB", (4, 4)).save(tmp_path / "cat" / "a.png")
    os.mkfifo(tmp_path / "cat" / "zz.png")
    with pytest.raises(CorruptImageError, match=r"zz\.png: ValueError: not a regular file"):
        load_rgb(tmp_path / "cat" / "zz.png")


def test_a_large_jpeg_is_decoded_at_a_reduced_scale_when_a_resize_comes_first(tmp_path, monkeypatch):
    # A transform that opens with Resize(s) lets the folder decode a JPEG at least twice s on both sides in
    # Pillow's draft mode, straight to the size Resize gives; smaller JPEGs, PNGs and other transforms decode
    # fully, as before.
    from tinynet.data import transforms as T

    rng = np.random.default_rng(0)
    os.makedirs(tmp_path / "c")
    smooth = Image.fromarray(rng.integers(0, 256, (12, 16, 3), dtype=np.uint8)).resize((400, 300), Image.BICUBIC)
    smooth.save(tmp_path / "c" / "big.jpg", quality=95)
    smooth.save(tmp_path / "c" / "big.png")
    asked = record_jpeg_drafts(monkeypatch)
    ds = ImageFolder(str(tmp_path), T.Compose([T.Resize(64), T.ToArray()]))
    jpg, png = (ds.samples.index((str(tmp_path / "c" / n), 0)) for n in ("big.jpg", "big.png"))
    drafted = ds.load(jpg, rng)[0]
    assert asked == [(85, 64)] and drafted.shape == (3, 64, 85)  # 400 x 300 -> 85 x 64, as Resize(64) makes it
    full = T.ToArray()(T.Resize(64)(load_rgb(tmp_path / "c" / "big.jpg")))
    assert 0 < np.abs(drafted - full).mean() < 2 / 255  # a little interpolation apart from the full decode
    np.testing.assert_array_equal(ds.load(png, rng)[0], T.ToArray()(T.Resize(64)(load_rgb(tmp_path / "c" / "big.png"))))
    ImageFolder(str(tmp_path), T.Compose([T.Resize(200), T.ToArray()])).load(jpg, rng)  # 266 x 200: not twice
    ImageFolder(str(tmp_path), T.Compose([T.CenterCrop(64), T.ToArray()])).load(jpg, rng)  # no Resize first
    assert asked == [(85, 64)]


@pytest.mark.parametrize("shorter", [0, -5, 2.5, "256", True])
def test_load_rgb_refuses_a_bad_target_side_before_opening_the_file(shorter):
    with pytest.raises(ValueError, match=r"load_rgb: shorter must be None or a positive int \(a Resize side\), got"):
        load_rgb("/nonexistent.jpg", shorter)
