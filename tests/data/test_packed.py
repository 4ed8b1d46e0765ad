"""Packed sets: what `pack` writes, that training reads the folder's own samples from it, corrupt sources
skipped, every damaged index or shard refused naming the file, and an interrupted pack resumed."""
import json
import os
import pickle
import shutil

import numpy as np
import pytest
from PIL import Image

from tests.helpers import record_jpeg_drafts
from tinynet.data import ImageFolder, packed, transforms
from tinynet.data.folder import load_rgb
from tinynet.data.packed import PackedDataset, PackedFormatError

SIZE = 40   # packed shorter side; transforms for 35-pixel crops resize to round(35 * 256 / 224) = 40
CROP = 35
SHAPES = [(30, 50), (64, 41), (40, 40), (90, 23), (41, 77), (25, 25)]  # (W, H): taller, wider, smaller than SIZE


def _write_split(root, rng, jpeg=False, corrupt=False):
    for c, name in enumerate(("ant", "bee")):
        os.makedirs(root / name / "sub")
        for k, (w, h) in enumerate(SHAPES[c::2]):
            Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(root / name / f"{k}.png")
    gray = rng.integers(0, 256, (45, 60), dtype=np.uint8)
    Image.fromarray(gray, "L").save(root / "bee" / "sub" / "gray.png")
    if jpeg:  # smooth, so the draft decode stays close to the full one
        y, x = np.mgrid[0:300, 0:400]
        smooth = np.stack([x * 255 // 400, y * 255 // 300, (x + y) * 255 // 700], -1).astype(np.uint8)
        Image.fromarray(smooth).save(root / "ant" / "big.jpg", quality=95)
    if corrupt:
        (root / "ant" / "bad.png").write_bytes(b"not an image")
        good = root / "bee" / "0.png"
        (root / "bee" / "trunc.png").write_bytes(good.read_bytes()[:60])


@pytest.fixture(scope="module")
def src(tmp_path_factory):
    """SRC/train (PNGs, a gray one, a big JPEG, a corrupt and a truncated file) and SRC/val (PNGs only)."""
    root = tmp_path_factory.mktemp("packed") / "src"
    rng = np.random.default_rng(0)
    _write_split(root / "train", rng, jpeg=True, corrupt=True)
    _write_split(root / "val", rng)
    return root


@pytest.fixture(scope="module")
def out(src, tmp_path_factory):
    """``src`` packed at SIZE, in small shards (a few images each)."""
    out = tmp_path_factory.mktemp("packed") / "out"
    with pytest.warns(UserWarning, match=r"skipped 2 unreadable file\(s\) .*ant/bad.png .*bee/trunc.png"):
        summary = packed.pack(src, out, size=SIZE, shard_bytes=12000)
    assert summary["splits"]["train"]["images"] == 8 and summary["splits"]["val"]["images"] == 7
    return out


def _index(path):
    return json.loads((path / "index.json").read_text())


def test_the_index_lists_every_readable_image_with_its_place_shape_label_and_source(src, out):
    folder = ImageFolder(src / "train")
    index = _index(out / "train")
    assert (index["format"], index["version"], index["split"], index["size"]) == ("tinynet-packed", 1, "train", SIZE)
    assert index["classes"] == folder.classes == ["ant", "bee"]
    readable = [(os.path.relpath(p, src / "train"), t) for p, t in folder.samples
                if not p.endswith(("bad.png", "trunc.png"))]
    im = index["images"]
    assert list(zip(im["source"], im["label"])) == readable  # the folder's order, less the skipped
    assert [s["source"] for s in index["skipped"]] == ["ant/bad.png", "bee/trunc.png"]
    assert all("Error" in s["reason"] for s in index["skipped"])
    for k, source in enumerate(im["source"]):
        w, h = packed.target_size(*Image.open(src / "train" / source).size, SIZE)
        assert (im["height"][k], im["width"][k]) == (h, w) and min(h, w) == SIZE
    sizes = [s["bytes"] for s in index["shards"]]
    assert len(sizes) > 2 and sizes == [os.path.getsize(out / "train" / s["file"]) for s in index["shards"]]
    for s in range(len(sizes)):  # back to back, each shard filled from byte 0 to its end
        ends = [o + h * w * 3 for sh, o, h, w in zip(im["shard"], im["offset"], im["height"], im["width"]) if sh == s]
        assert ends[-1] == sizes[s]
    assert sorted(os.listdir(out / "train")) == ["index.json"] + [s["file"] for s in index["shards"]]


@pytest.mark.parametrize("w, h", [(30, 50), (50, 30), (40, 40), (41, 77), (333, 500), (500, 333), (7, 1000), (1, 1)])
def test_target_size_is_resizes_rule(w, h):
    for size in (1, 17, SIZE, 256):
        assert packed.target_size(w, h, size) == transforms.Resize(size)(Image.new("RGB", (w, h))).size


def test_png_pixels_are_the_folders_resized_image(src, out):
    ds = PackedDataset(out / "train")
    for i, source in enumerate(ds.sources):
        if source.endswith(".png"):
            want = np.asarray(transforms.Resize(SIZE)(load_rgb(src / "train" / source)))
            np.testing.assert_array_equal(ds.pixels(i), want)


def test_a_big_jpeg_is_decoded_in_draft_mode_at_least_the_target_size(src, out, monkeypatch):
    ds = PackedDataset(out / "train")
    i = ds.sources.index("ant/big.jpg")
    full = np.asarray(transforms.Resize(SIZE)(load_rgb(src / "train" / "ant" / "big.jpg")), dtype=np.float64)
    assert ds.pixels(i).shape == full.shape == (40, 53, 3)
    assert np.abs(ds.pixels(i) - full).mean() < 2  # a reduced DCT scale, then bilinear: close to the full decode
    asked = record_jpeg_drafts(monkeypatch)
    np.testing.assert_array_equal(packed.decode(src / "train" / "ant" / "big.jpg", SIZE), ds.pixels(i))
    packed.decode(src / "train" / "ant" / "big.jpg", 200)  # 266 x 200: less than half the source, no draft
    assert asked == [(53, 40)]


def test_eval_samples_equal_the_folders_bit_for_bit(src, out):
    tf = transforms.eval_transform(CROP)
    folder, ds = ImageFolder(src / "val", tf), PackedDataset(out / "val", tf)
    assert len(ds) == len(folder) == 7
    for i in range(len(ds)):
        a, ya = ds.load(i, np.random.default_rng(i))
        b, yb = folder.load(i, np.random.default_rng(i))
        assert ya == yb and a.dtype == b.dtype == np.float32
        np.testing.assert_array_equal(a, b)
    ten = transforms.eval_transform(CROP, ten_crop=True)
    np.testing.assert_array_equal(PackedDataset(out / "val", ten)[3][0], ImageFolder(src / "val", ten)[3][0])


def test_train_samples_equal_the_folders_for_the_same_generator(src, out):
    tf = transforms.train_transform(CROP)
    folder, ds = ImageFolder(src / "train", tf), PackedDataset(out / "train", tf)
    where = {os.path.relpath(p, src / "train"): j for j, (p, _) in enumerate(folder.samples)}
    for i, source in enumerate(ds.sources):
        if not source.endswith(".png"):
            continue
        for seed in range(4):
            a, ya = ds.load(i, np.random.default_rng([seed, i]))
            b, yb = folder.load(where[source], np.random.default_rng([seed, i]))
            assert ya == yb
            np.testing.assert_array_equal(a, b)


def test_the_resize_of_a_packed_image_is_a_no_op(out):
    img, _ = PackedDataset(out / "train")[0]
    assert transforms.Resize(SIZE)(img) is img


def test_pixels_are_a_read_only_memory_map(out):
    ds = PackedDataset(out / "train")
    a = ds.pixels(-1)
    assert a.dtype == np.uint8 and a.ndim == 3 and a.shape[2] == 3 and not a.flags.writeable
    bases = [a]
    while getattr(bases[-1], "base", None) is not None:  # down to the mmap object
        bases.append(bases[-1].base)
    assert any(isinstance(b, np.memmap) for b in bases)  # a view of the shard's map, not a copy
    with pytest.raises(ValueError, match="read-only"):
        a[0, 0, 0] = 1
    with pytest.raises(IndexError, match="PackedDataset index 8 is out of range"):
        ds.pixels(8)
    with pytest.raises(TypeError, match="PackedDataset index must be an int"):
        ds.pixels(1.0)


def test_attributes_repr_and_pickle(out):
    ds = PackedDataset(out / "train", transforms.eval_transform(CROP))
    assert ds.classes == ["ant", "bee"] and ds.class_to_idx == {"ant": 0, "bee": 1} and len(ds.targets) == 8
    assert [s for s, _ in ds.skipped] == ["ant/bad.png", "bee/trunc.png"]
    assert "8 images of 40 px" in repr(ds)
    first = ds[2][0]  # maps a shard, which the pickle must leave behind
    again = pickle.loads(pickle.dumps(ds))
    assert again._maps == {}
    np.testing.assert_array_equal(again[2][0], first)
    with pytest.raises(TypeError, match=r"PackedDataset: transform .* cannot be called as transform\(img, rng\)"):
        PackedDataset(out / "train", lambda img: img)


def test_is_packed_and_open_packed(src, out, tmp_path):
    assert packed.is_packed(out) and packed.is_packed(out / "train") and packed.is_packed(str(out / "val"))
    assert not packed.is_packed(src) and not packed.is_packed(tmp_path / "missing")
    train_set, val_set = packed.open_packed(out, CROP)
    assert len(train_set) == 8 and len(val_set) == 7 and train_set.classes == val_set.classes
    assert train_set[0][0].shape == val_set[0][0].shape == (3, CROP, CROP)
    with pytest.raises(ValueError, match=r"packed at --size 40, smaller than the 256 that --image-size 224 resizes "
                                         r"to: repack with --size 256"):
        packed.open_packed(out, 224)
    small = packed.open_packed(out, 28)[0]  # a smaller crop: resized down again per sample
    assert small[0][0].shape == (3, 28, 28)
    shutil.copytree(out / "train", tmp_path / "only" / "train")
    with pytest.raises(FileNotFoundError, match=r"only has no val/index.json"):
        packed.open_packed(tmp_path / "only", CROP)


# --- damaged sets: each refused naming the file --------------------------------------------------------------

def _edit_index(change):
    def damage(split):
        data = _index(split)
        change(data)
        (split / "index.json").write_text(json.dumps(data))
    return damage


def _write(name, content):
    def damage(split):
        (split / name).write_bytes(content)
    return damage


def _truncate(split):
    shard = split / "shard-00001.u8"
    shard.write_bytes(shard.read_bytes()[:-1])


DAMAGES = [
    ("no index", lambda s: os.remove(s / "index.json"), r"index.json does not exist: not a packed set"),
    ("index a folder", lambda s: (os.remove(s / "index.json"), os.mkdir(s / "index.json")),
     r"index.json is not a file"),
    ("bad json", lambda s: (s / "index.json").write_text(_index(s).__repr__()[:50]), r"index.json is not a valid JSON"),
    ("cut json", lambda s: (s / "index.json").write_bytes((s / "index.json").read_bytes()[:-10]), r"not a valid JSON"),
    ("pickle", _write("index.json", pickle.dumps({"format": "tinynet-packed"})), r"index.json is not a valid JSON"),
    ("not utf-8", _write("index.json", b"\xff\xfe{}"), r"index.json is not a valid JSON"),
    ("a list", _write("index.json", b"[1, 2]"), r"index.json holds a JSON list, not a packed set's index"),
    ("NaN", lambda s: (s / "index.json").write_text((s / "index.json").read_text().replace('"size":40', '"size":NaN')),
     r"index.json is not a valid JSON index .*NaN"),
    ("deep", _write("index.json", b"[" * 100000 + b"]" * 100000), r"index.json is not a valid JSON"),
    ("format", _edit_index(lambda d: d.update(format="npz")), r"index.json: format is 'npz', not 'tinynet-packed'"),
    ("version", _edit_index(lambda d: d.update(version=2)), r"index.json: format version 2; this tinynet reads "
                                                             r"version 1 only"),
    ("str version", _edit_index(lambda d: d.update(version="1")), r"index.json: format version '1'"),
    ("bool size", _edit_index(lambda d: d.update(size=True)), r"index.json: size must be an int"),
    ("dup classes", _edit_index(lambda d: d.update(classes=["ant", "ant"])), r"classes must be a list of distinct"),
    ("no classes", _edit_index(lambda d: d.pop("classes")), r"classes must be a list"),
    ("shard path", _edit_index(lambda d: d["shards"][0].update(file="../../etc/passwd")),
     r'index.json: shards must be a list of \{"file": "shard-NNNNN.u8"'),
    ("shard bytes", _edit_index(lambda d: d["shards"][0].update(bytes=-5)), r"shards must be a list"),
    ("same shard twice", _edit_index(lambda d: d["shards"].__setitem__(1, d["shards"][0])), r"names a file twice"),
    ("no images", _edit_index(lambda d: d.pop("images")), r"images must hold the lists shard, offset"),
    ("short column", _edit_index(lambda d: d["images"]["label"].pop()), r"the lists in images differ in length"),
    ("float height", _edit_index(lambda d: d["images"]["height"].__setitem__(0, 40.0)),
     r"images.height must be a list of ints"),
    ("huge offset", _edit_index(lambda d: d["images"]["offset"].__setitem__(0, 10**30)),
     r"images.offset holds a value outside 0..4611686018427387904"),
    ("label", _edit_index(lambda d: d["images"]["label"].__setitem__(0, 2)),
     r"images.label holds a value outside 0..1"),
    ("negative label", _edit_index(lambda d: d["images"]["label"].__setitem__(0, -1)), r"images.label holds a value"),
    ("shard index", _edit_index(lambda d: d["images"]["shard"].__setitem__(0, 99)), r"images.shard holds a value"),
    ("shape", _edit_index(lambda d: d["images"].update(height=[41] * 7, width=[41] * 7)),
     r"image 0 is 41x41, but the set's shorter side is 40"),
    ("offset past the end", _edit_index(lambda d: d["images"]["offset"].__setitem__(1, 10**6)),
     r"image 1 \(.*\) ends at byte \d+, past the end of shard-\d+.u8"),
    ("source", _edit_index(lambda d: d["images"]["source"].__setitem__(0, 7)),
     r"images.source must be a list of paths"),
    ("skipped", _edit_index(lambda d: d.update(skipped=["x"])), r"skipped must be a list of"),
    ("truncated shard", _truncate, r"shard-00001.u8 is truncated: \d+ bytes, the index .*index.json records \d+"),
    ("longer shard", lambda s: open(s / "shard-00000.u8", "ab").write(b"x"),
     r"shard-00000.u8 is longer than the index"),
    ("missing shard", lambda s: os.remove(s / "shard-00002.u8"),
     r"shard-00002.u8 is missing \(the index .* lists it\)"),
    ("shard a folder", lambda s: (os.remove(s / "shard-00002.u8"), os.mkdir(s / "shard-00002.u8")),
     r"shard-00002.u8 is not a regular file"),
]


@pytest.mark.parametrize("name, damage, message", DAMAGES, ids=[d[0] for d in DAMAGES])
def test_a_damaged_index_or_shard_is_refused_naming_the_file(out, tmp_path, name, damage, message):
    split = tmp_path / "set" / "val"
    shutil.copytree(out / "val", split)
    damage(split)
    with pytest.raises(PackedFormatError, match=message) as info:
        PackedDataset(split)
    assert str(split) in str(info.value)


def test_a_folder_that_is_no_packed_set(src, tmp_path):
    with pytest.raises(PackedFormatError, match=r"train/index.json does not exist: not a packed set"):
        PackedDataset(src / "train")


# --- packing: arguments, reruns, interrupts ---------------------------------------------------------------

def _same_set(a, b):
    for split in ("train", "val"):
        assert _index(a / split) == _index(b / split)
        for s in _index(a / split)["shards"]:
            assert (a / split / s["file"]).read_bytes() == (b / split / s["file"]).read_bytes()
        assert sorted(os.listdir(a / split)) == sorted(os.listdir(b / split))


def _quiet_pack(*args, **kw):
    with pytest.warns(UserWarning, match="unreadable"):
        return packed.pack(*args, **kw)


def interrupt_decoding_after(monkeypatch, n):
    """Make packed.decode raise KeyboardInterrupt at its n-th call (a Ctrl-C mid-pack); the paths it got."""
    real, calls = packed.decode, []

    def decode(path, size):
        calls.append(path)
        if len(calls) == n:
            raise KeyboardInterrupt
        return real(path, size)

    monkeypatch.setattr(packed, "decode", decode)
    return calls


def test_an_interrupted_pack_keeps_whole_shards_and_a_rerun_finishes_it(src, out, tmp_path, monkeypatch):
    real = packed.decode
    calls = interrupt_decoding_after(monkeypatch, 6)
    with pytest.raises(KeyboardInterrupt, match=r"interrupted: \d whole shard\(s\) of train/ \(\d of 10 images\) kept "
                                                r"in .*; run the same command again to go on"):
        packed.pack(src, tmp_path / "o", size=SIZE, shard_bytes=12000)
    left = sorted(os.listdir(tmp_path / "o" / "train"))
    whole = sorted(f"shard-{k:05d}.{e}" for k in range(len(left) // 2) for e in ("json", "u8"))
    assert len(left) >= 4 and left == whole  # each shard with its manifest, no half shard
    assert not packed.is_packed(tmp_path / "o")
    calls.clear()
    monkeypatch.setattr(packed, "decode", lambda path, size: (calls.append(path), real(path, size))[1])
    summary = _quiet_pack(src, tmp_path / "o", size=SIZE, shard_bytes=12000)
    assert summary["splits"]["train"]["resumed"] == "resumed" and len(calls) < 10 + 7  # the kept shards not redone
    _same_set(tmp_path / "o", out)
    again = _quiet_pack(src, tmp_path / "o", size=SIZE, shard_bytes=12000)
    assert again["splits"]["train"]["resumed"] == again["splits"]["val"]["resumed"] == "complete"
    _same_set(tmp_path / "o", out)


def test_a_rerun_redoes_what_a_kill_left_unfinished(src, out, tmp_path, monkeypatch):
    """A kill leaves a temporary file, perhaps a shard renamed before its manifest: neither is trusted."""
    real = packed.decode
    calls = []

    def decode(path, size):
        calls.append(path)
        if len(calls) == 8:
            raise KeyboardInterrupt
        return real(path, size)

    monkeypatch.setattr(packed, "decode", decode)
    with pytest.raises(KeyboardInterrupt):
        packed.pack(src, tmp_path / "o", size=SIZE, shard_bytes=12000)
    train = tmp_path / "o" / "train"
    os.remove(train / "shard-00002.json")  # killed after the shard's rename, before its manifest
    (train / "shard-00003.u8.tmp-999999").write_bytes(b"half")
    (train / "shard-00001.json").write_text("{")  # a torn manifest: shards 1 and 2 are redone
    monkeypatch.setattr(packed, "decode", real)
    assert _quiet_pack(src, tmp_path / "o", size=SIZE, shard_bytes=12000)["splits"]["train"]["resumed"] == "resumed"
    _same_set(tmp_path / "o", out)


def test_a_set_of_other_images_or_size_needs_overwrite(src, out, tmp_path, monkeypatch):
    o = tmp_path / "o"
    shutil.copytree(out, o)
    with pytest.raises(ValueError, match=r"train/index.json is a packed set of other images or another --size "
                                         r"\(its size 40, 8 images\); --overwrite replaces it"):
        packed.pack(src, o, size=SIZE + 1, shard_bytes=12000)
    summary = _quiet_pack(src, o, size=SIZE + 1, overwrite=True)
    assert summary["splits"]["train"]["shards"] == 1 and PackedDataset(o / "val").size == SIZE + 1
    assert sorted(os.listdir(o / "val")) == ["index.json", "shard-00000.u8"]
    real = packed.decode
    interrupt_decoding_after(monkeypatch, 5)
    with pytest.raises(KeyboardInterrupt):
        packed.pack(src, tmp_path / "p", size=SIZE, shard_bytes=12000)
    monkeypatch.setattr(packed, "decode", real)
    with pytest.raises(ValueError, match=r"p/train holds an unfinished pack of other images or another --size "
                                         r"\(shard-00000.json\); --overwrite replaces it"):
        packed.pack(src, tmp_path / "p", size=SIZE + 2, shard_bytes=12000)


def test_an_out_folder_holding_other_files(src, tmp_path):
    o = tmp_path / "o"
    (o / "train").mkdir(parents=True)
    (o / "train" / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match=r"OUT .*o is not a packed set \(.*notes.txt was not written by `tinynet data "
                                         r"pack`\): choose a new or empty folder, or pass --overwrite"):
        packed.pack(src, o, size=SIZE)
    _quiet_pack(src, o, size=SIZE, overwrite=True)
    assert (o / "train" / "notes.txt").read_text() == "mine" and packed.is_packed(o)
    (tmp_path / "empty").mkdir()
    _quiet_pack(src, tmp_path / "empty", size=SIZE)  # an empty folder is fine


def test_unusable_files_are_skipped_and_a_split_of_none_refused(tmp_path):
    root = tmp_path / "src"
    (root / "train" / "a").mkdir(parents=True)
    Image.new("RGB", (5000, 1)).save(root / "train" / "a" / "thin.png")  # 256 x 1,280,000: past Pillow's limit
    (root / "train" / "a" / "empty.jpg").write_bytes(b"")
    os.mkfifo(root / "train" / "a" / "pipe.png")
    Image.new("RGB", (8, 8)).save(root / "train" / "a" / "ok.png")
    with pytest.warns(UserWarning, match=r"skipped 3 unreadable file\(s\) in .*train: a/empty.jpg \(.*\); "
                                         r"a/pipe.png \(ValueError: not a regular file\); "
                                         r"a/thin.png \(.*more than Pillow's limit"):
        packed.pack(root, tmp_path / "o")
    assert PackedDataset(tmp_path / "o" / "train").sources == ["a/ok.png"]
    os.remove(root / "train" / "a" / "ok.png")
    with pytest.raises(ValueError, match=r"none of the 3 image files in .*train can be decoded, e.g. a/empty.jpg"):
        packed.pack(root, tmp_path / "p")
    assert not packed.is_packed(tmp_path / "p")


BAD_ARGS = [
    (dict(size=0), ValueError, r"--size must be an int >= 1"),
    (dict(size="256"), TypeError, r"--size must be an int"),
    (dict(size=2.5), TypeError, r"--size must be an int"),
    (dict(size=True), TypeError, r"--size must be an int"),
    (dict(shard_bytes=0), ValueError, r"shard_bytes must be an int >= 1"),
    (dict(src="{tmp}/missing"), FileNotFoundError, r"SRC .*missing does not exist"),
    (dict(src="{src}/train/ant/0.png"), FileNotFoundError, r"SRC .*0.png is not a folder"),
    (dict(src="{src}/train"), FileNotFoundError, r"SRC .*train has no train/ folder"),
    (dict(src=""), ValueError, r"SRC '': need a folder path"),
    (dict(out=None), ValueError, r"OUT None: need a folder path"),
    (dict(out="{src}"), ValueError, r"OUT .* is SRC .* or lies in one of its split folders"),
    (dict(out="{src}/val/packed"), ValueError, r"lies in one of its split folders"),
    (dict(out="{src}/train/ant/0.png"), ValueError, r"lies in one of its split folders"),
    (dict(out="{tmp}/file"), ValueError, r"OUT .*file is a file, not a folder"),
]


@pytest.mark.parametrize("change, error, message", BAD_ARGS, ids=[str(a) for a, _, _ in BAD_ARGS])
def test_bad_arguments_are_refused_before_anything_is_written(src, tmp_path, change, error, message):
    (tmp_path / "file").write_text("x")
    args = dict(src=str(src), out=str(tmp_path / "o"), size=SIZE)
    args.update({k: v.format(src=src, tmp=tmp_path) if isinstance(v, str) else v for k, v in change.items()})
    with pytest.raises(error, match=message):
        packed.pack(**args)
    assert not (tmp_path / "o").exists()


def test_a_data_loader_with_workers_gives_the_folders_batches(src, out):
    from tinynet.data import DataLoader

    tf = transforms.train_transform(CROP)
    folder, ds = ImageFolder(src / "val", tf), PackedDataset(out / "val", tf)
    want = [(x.data, y.data) for x, y in DataLoader(folder, 3, shuffle=True, seed=5, workers=0)]
    got = [(x.data, y.data) for x, y in DataLoader(ds, 3, shuffle=True, seed=5, workers=2)]
    assert len(got) == len(want) == 3
    for (a, ya), (b, yb) in zip(got, want):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(ya, yb)


def test_a_rerun_over_a_finished_set_with_a_damaged_shard_says_so(src, out, tmp_path):
    shutil.copytree(out, tmp_path / "o")
    _truncate(tmp_path / "o" / "train")
    with pytest.raises(PackedFormatError, match=r"train/shard-00001.u8 is truncated: .*--overwrite"):
        packed.pack(src, tmp_path / "o", size=SIZE, shard_bytes=12000)



def test_tinynet_train_takes_a_packed_set_as_data_path(out, tmp_path, capsys):
    # --data-path of a packed set: the run reads it (random crops from the shards) and says so.
    from tinynet import cli

    assert cli.main(["train", "--data-path", str(out), "--variant", "mini", "--image-size", "35", "-b", "4",
                     "--epochs", "1", "-j", "0", "--output-dir", str(tmp_path / "run"), "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert f"data: packed set at {out}:" in printed and "decoded at 40" in printed and "epoch 1/1" in printed
    assert os.path.isfile(tmp_path / "run" / "checkpoint.npz")
