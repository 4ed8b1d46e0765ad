"""tinynet.serialization: save/load round trips (state dicts of modules and optimizers, checkpoints), the
file's layout (a JSON manifest and .npy arrays, no pickle), atomic writes, and every bad object or file,
each named in its message."""
import io
import json
import math
import os
import zipfile
from collections import OrderedDict

import numpy as np
import pytest

import tinynet
from tinynet import backend, nn, optim
from tinynet.nn.parameter import Parameter
from tinynet.serialization import FORMAT, MAX_DEPTH, SerializationError, load, save


def _same(a, b, at="obj"):
    """a and b equal in type, dtype, shape, values (NaN equal to NaN), key order and key types."""
    assert type(a) is type(b), f"{at}: {type(a).__name__} vs {type(b).__name__}"
    if isinstance(a, tinynet.Tensor):
        assert a.requires_grad == b.requires_grad and a.device == b.device, at
        _same(a.data, b.data, at + ".data")
    elif isinstance(a, np.ndarray) or isinstance(a, np.generic):
        assert a.dtype == b.dtype and a.shape == b.shape, at
        np.testing.assert_array_equal(a, b, err_msg=at)
    elif backend.is_cupy_array(a):
        _same(backend.host(a), backend.host(b), at)
    elif isinstance(a, dict):
        assert list(a.keys()) == list(b.keys()), at
        assert [type(k) for k in a] == [type(k) for k in b], at
        for k in a:
            _same(a[k], b[k], f"{at}[{k!r}]")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), at
        for i, (x, y) in enumerate(zip(a, b)):
            _same(x, y, f"{at}[{i}]")
    elif isinstance(a, float) and math.isnan(a):
        assert math.isnan(b), at
    else:
        assert a == b and repr(a) == repr(b), at  # repr: -0.0 is not 0.0


def _round_trip(obj, tmp_path, **load_args):
    path = tmp_path / "obj.pt"
    save(obj, path)
    return load(path, **load_args)


def _trained():
    """A model with an int buffer (BatchNorm's num_batches_tracked) and an Adam after one step."""
    tinynet.manual_seed(3)
    model = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3), nn.ReLU(), nn.Linear(3, 2))
    opt = optim.Adam([{"params": model[0].parameters()}, {"params": model[3].parameters(), "lr": 0.1}], lr=1e-3)
    x = tinynet.Tensor(np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32))
    model(x).sum().backward()
    opt.step()
    return model, opt


# --- round trips -------------------------------------------------------------------------------------
def test_module_state_dict_round_trips_exactly(tmp_path):
    model, _ = _trained()
    state = model.state_dict()
    assert isinstance(state, OrderedDict) and any(v.dtype == np.int64 for v in state.values())
    back = _round_trip(state, tmp_path)
    _same(state, back)
    fresh = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3), nn.ReLU(), nn.Linear(3, 2))
    fresh.load_state_dict(back)
    _same(fresh.state_dict(), state)


@pytest.mark.parametrize("make", [
    lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True),
    lambda ps: optim.Adam(ps, lr=1e-3, betas=(0.8, 0.99), amsgrad=True),
    lambda ps: optim.RMSprop(ps, lr=0.01, centered=True, momentum=0.5),
])
def test_optimizer_state_dict_round_trips_exactly_and_loads_back(make, tmp_path):
    model = nn.Linear(3, 2)
    opt = make(model.parameters())
    model(tinynet.Tensor(np.ones((2, 3), dtype=np.float32))).sum().backward()
    opt.step()
    state = opt.state_dict()
    back = _round_trip(state, tmp_path)
    _same(state, back)  # int parameter indices stay ints, betas stays a tuple
    assert all(type(k) is int for k in back["state"])
    other = make(nn.Linear(3, 2).parameters())
    other.load_state_dict(back)
    _same(other.state_dict(), state)


def test_a_checkpoint_dict_round_trips_exactly(tmp_path):
    model, opt = _trained()
    checkpoint = {"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": 3}
    _same(checkpoint, _round_trip(checkpoint, tmp_path))


def test_every_supported_leaf_comes_back_with_its_type(tmp_path):
    obj = {
        "none": None, "true": True, "int": -7, "big": 10**40, "float": 0.1, "neg_zero": -0.0, "nan": math.nan,
        "inf": math.inf, "-inf": -math.inf, "complex": 1.5 - 2j, "str": "héllo \u2603 \udc80", "empty": "",
        "f32": np.float32(1.25), "i8": np.int8(-3), "b": np.bool_(True), "c64": np.complex64(1j),
        "arrays": [np.arange(6, dtype=np.uint8).reshape(2, 3), np.zeros((0, 4)), np.array(2.5), np.array(["ab", "c"]),
                   np.asfortranarray(np.arange(6.0).reshape(2, 3)), np.arange(10)[::3]],
        "tensors": (tinynet.Tensor(np.arange(3.0), requires_grad=True), tinynet.Tensor(np.array([1, 2], dtype=np.int16)),
                    tinynet.Tensor(np.array(True))),
        1: "an int key", -2: [], "": (), "nested": {"a": {"b": {"c": [[[1]]]}}},
        "ordered": OrderedDict([("z", 1), ("a", 2)]),
    }
    _same(obj, _round_trip(obj, tmp_path))
    assert _round_trip(np.float64(2.0), tmp_path).dtype == np.float64
    for top in (None, 3, "s", [], (), {}, tinynet.Tensor([1.0]), np.ones(2)):
        _same(top, _round_trip(top, tmp_path))


def test_a_parameter_stays_a_parameter_and_a_tensor_listed_twice_comes_back_once(tmp_path):
    p = Parameter(np.ones(3, dtype=np.float32))
    t = tinynet.Tensor(np.zeros(2))
    shares = tinynet.Tensor(t.data)  # another Tensor on the same array
    a = np.arange(4)
    back = _round_trip({"p": p, "t": [t, t], "shares": shares, "a": (a, a)}, tmp_path)
    assert type(back["p"]) is Parameter and back["p"].requires_grad
    assert back["t"][0] is back["t"][1]
    assert back["shares"] is not back["t"][0] and back["shares"].data is back["t"][0].data  # memory shared, as saved
    assert back["a"][0] is back["a"][1]


def test_a_non_leaf_tensor_is_saved_as_a_leaf_that_requires_grad(tmp_path):
    x = tinynet.Tensor(np.ones(2), requires_grad=True)
    back = _round_trip(x * 2.0, tmp_path)
    assert back.is_leaf and back.requires_grad and back.tolist() == [2.0, 2.0]


def test_file_objects_round_trip_and_a_non_seekable_stream_loads(tmp_path):
    obj = {"w": np.arange(5.0), "k": [1, (2, 3)]}
    buf = io.BytesIO()
    save(obj, buf)
    buf.seek(0)
    _same(obj, load(buf))

    class Stream(io.RawIOBase):  # readable, not seekable: a pipe
        def __init__(self, data):
            self.inner = io.BytesIO(data)

        def readable(self):
            return True

        def readinto(self, b):
            return self.inner.readinto(b)

    _same(obj, load(Stream(buf.getvalue())))
    with open(tmp_path / "f.pt", "wb") as f:
        save(obj, f)
    with open(tmp_path / "f.pt", "rb") as f:
        _same(obj, load(f))


def test_map_location_and_devices(device, tmp_path):
    t = tinynet.Tensor(np.arange(3.0), device=device)
    a = backend.to_device(np.ones(2), device)
    back = _round_trip({"t": t, "a": a}, tmp_path)
    assert back["t"].device == device and backend.device_of(back["a"]) == device
    on_cpu = load(tmp_path / "obj.pt", map_location="cpu")
    assert on_cpu["t"].device == "cpu" and isinstance(on_cpu["a"], np.ndarray)
    assert on_cpu["t"].tolist() == [0.0, 1.0, 2.0]
    assert load(tmp_path / "obj.pt", weights_only=False)["t"].tolist() == [0.0, 1.0, 2.0]


@pytest.mark.skipif(backend.cuda_available(), reason="checks the message of a machine without a GPU")
def test_a_cuda_save_on_a_machine_without_a_gpu_says_use_map_location(tmp_path):
    save(np.ones(2), tmp_path / "x.pt")
    path = tmp_path / "x.pt"
    with zipfile.ZipFile(path) as z:
        manifest = json.loads(np.load(io.BytesIO(z.read("manifest.npy"))).tobytes())
    manifest["root"]["device"] = "cuda"
    _write_raw(path, manifest, {"arrays/0": np.ones(2)})
    with pytest.raises(backend.DeviceError, match=r"saved on 'cuda'.*pass map_location='cpu'"):
        load(path)
    assert load(path, map_location="cpu").tolist() == [1.0, 1.0]


# --- the layout: a manifest and plain arrays, nothing pickled ------------------------------------
def test_the_file_is_an_npz_of_a_json_manifest_and_plain_arrays(tmp_path):
    path = tmp_path / "m.pt"
    save(OrderedDict([("w", tinynet.Tensor(np.ones((2, 2), dtype=np.float32))), ("step", 4)]), path)
    with np.load(path, allow_pickle=False) as npz:  # NumPy reads it without pickle
        assert sorted(npz.files) == ["arrays/0", "manifest"]
        assert npz["manifest"].dtype == np.uint8 and npz["manifest"].ndim == 1
        manifest = json.loads(npz["manifest"].tobytes().decode("utf-8"))
        np.testing.assert_array_equal(npz["arrays/0"], np.ones((2, 2), dtype=np.float32))
    assert manifest == {"format": FORMAT, "version": 1, "root": {"kind": "dict", "ordered": True, "items": [
        ["w", {"kind": "tensor", "array": "arrays/0", "dtype": "<f4", "shape": [2, 2], "device": "cpu",
               "requires_grad": False, "parameter": False, "id": 0}],
        ["step", {"kind": "int", "value": 4}]]}}


# --- atomic writes -----------------------------------------------------------------------------------
def test_a_failed_save_leaves_the_previous_file_and_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "keep.pt"
    save({"v": 1}, path)
    before = path.read_bytes()

    def crash(*args, **kwargs):
        raise KeyboardInterrupt  # the process stops mid-write

    monkeypatch.setattr(np, "savez", crash)
    with pytest.raises(KeyboardInterrupt):
        save({"v": 2}, path)

    def full_disk(f, *args, **kwargs):
        f.write(b"PK partial")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "savez", full_disk)
    with pytest.raises(SerializationError, match=r"^tinynet\.save: could not write .*keep\.pt: \[Errno 28\] No space left "
                                                 r"on device; the previous .*keep\.pt is intact$"):
        save({"v": 3}, path)
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["keep.pt"]
    monkeypatch.undo()
    assert load(path) == {"v": 1}


def test_a_save_that_cant_be_walked_writes_nothing(tmp_path):
    path = tmp_path / "x.pt"
    with pytest.raises(TypeError):
        save({"ok": 1, "bad": {1, 2}}, path)
    assert not path.exists() and os.listdir(tmp_path) == []


def test_save_overwrites_and_leaves_no_temporary(tmp_path):
    path = str(tmp_path / "x.pt")
    save([1], path)
    save([2], path)
    assert load(path) == [2] and os.listdir(tmp_path) == ["x.pt"]


# --- what can't be saved -------------------------------------------------------------------------
def _looped():
    a = [1]
    a.append(a)
    return a


def _deep(n):
    obj = []
    for _ in range(n):
        obj = [obj]
    return obj


class _Sub(tinynet.Tensor):
    pass


CANT_SAVE = [
    pytest.param(lambda: {"f": len}, r"^tinynet\.save: obj\['f'\] is a builtin_function_or_method, which a save file can't "
                 r"hold \(it holds Tensors, arrays", id="function"),
    pytest.param(lambda: {"f": lambda x: x}, r"obj\['f'\] is a function", id="lambda"),
    pytest.param(lambda: [1, {2, 3}], r"^tinynet\.save: obj\[1\] is a set, which has no order; save a sorted list instead$",
                 id="set"),
    pytest.param(lambda: {"model": nn.Linear(2, 2)}, r"^tinynet\.save: obj\['model'\] is a Linear \(a Module\); save its "
                 r"state_dict\(\) instead$", id="module"),
    pytest.param(lambda: nn.Sequential(nn.ReLU()), r"^tinynet\.save: obj is a Sequential \(a Module\); save its state_dict",
                 id="module-top"),
    pytest.param(lambda: {"opt": optim.SGD(nn.Linear(1, 1).parameters(), lr=0.1)},
                 r"obj\['opt'\] is a SGD \(an optimizer\); save its state_dict\(\) instead$", id="optimizer"),
    pytest.param(lambda: {"a": np.array([None, 1])}, r"^tinynet\.save: obj\['a'\] is an array of dtype object; a save file "
                 r"holds arrays of numbers, bools or strings \(no objects: they would need pickle\)$", id="object-array"),
    pytest.param(lambda: np.zeros(2, dtype=[("x", "f4")]), r"obj is an array of dtype \[", id="record-array"),
    pytest.param(lambda: np.array(["2024-01-01"], dtype="datetime64[D]"), r"obj is an array of dtype datetime64",
                 id="datetime-array"),
    pytest.param(lambda: {"b": b"raw"}, r"obj\['b'\] is bytes; save np\.frombuffer\(b, dtype=np\.uint8\) instead$", id="bytes"),
    pytest.param(lambda: {(1, 2): 3}, r"^tinynet\.save: obj has the key \(1, 2\) of type tuple; a save file's dict keys are "
                 r"str or int \(of up to 4096 bits\)$", id="tuple-key"),
    pytest.param(lambda: {True: 1}, r"obj has the key True of type bool", id="bool-key"),
    pytest.param(lambda: {1.5: 1}, r"obj has the key 1\.5 of type float", id="float-key"),
    pytest.param(lambda: {"d": __import__("collections").defaultdict(list)}, r"obj\['d'\] is a defaultdict \(a subclass of "
                 r"dict\), which would come back as another type; convert it to a plain dict", id="defaultdict"),
    pytest.param(lambda: [__import__("collections").namedtuple("P", "x")(1)], r"obj\[0\] is a P \(a subclass of tuple\)",
                 id="namedtuple"),
    pytest.param(_looped, r"^tinynet\.save: obj\[1\] contains itself, so its contents have no end$", id="self-containing"),
    pytest.param(lambda: _deep(MAX_DEPTH + 5), r"^tinynet\.save: obj\[0\]\[0\]\[0\]\.\.\. is nested more than 100 deep$",
                 id="too-deep"),
    pytest.param(lambda: _Sub([1.0]), r"^tinynet\.save: obj is a _Sub \(a Tensor subclass\); save it as a Tensor", id="tensor-subclass"),
    pytest.param(lambda: {"x": object()}, r"obj\['x'\] is a object, which a save file can't hold", id="object"),
    pytest.param(lambda: {"x": Ellipsis}, r"obj\['x'\] is a ellipsis", id="ellipsis"),
    pytest.param(lambda: {"x": range(3)}, r"obj\['x'\] is a range", id="range"),
]


@pytest.mark.parametrize("make, message", CANT_SAVE)
def test_what_cant_be_saved_is_named_where_it_is(make, message, tmp_path):
    with pytest.raises(TypeError, match=message):
        save(make(), tmp_path / "x.pt")
    assert os.listdir(tmp_path) == []


def test_an_int_too_long_for_json_readers_is_refused_at_save(tmp_path):
    with pytest.raises(ValueError, match=r"^tinynet\.save: obj\['n'\] is an int of 100001 bits; a save file holds ints of "
                                         r"up to 4096 bits \(save it as a str\)$"):
        save({"n": 2**100000}, tmp_path / "x.pt")
    with pytest.raises(TypeError, match=r"^tinynet\.save: obj has the key <an int of 100001 bits> of type int"):
        save({2**100000: 1}, tmp_path / "x.pt")
    assert os.listdir(tmp_path) == []
    assert load(_path_with(tmp_path, {"n": 2**4000})) == {"n": 2**4000}


def _path_with(tmp_path, obj):
    save(obj, tmp_path / "ok.pt")
    return tmp_path / "ok.pt"


def test_save_refuses_an_f_that_is_not_a_path_or_a_file():
    with pytest.raises(TypeError, match=r"^tinynet\.save: f must be a path \(str or os\.PathLike\) or a binary file object, "
                                        r"got int$"):
        save([1], 3)


def test_a_file_open_in_text_mode_is_refused_both_ways(tmp_path):
    path = tmp_path / "t.pt"
    with open(path, "w") as f:
        with pytest.raises(TypeError, match=r"^tinynet\.save: file .*t\.pt is open in text mode; open it in binary mode "
                                            r"\('wb'\)$"):
            save([1], f)
    save([1], path)
    with open(path) as f:
        with pytest.raises(TypeError, match=r"^tinynet\.load: file .*t\.pt is open in text mode; open it in binary mode"):
            load(f)


def test_save_into_a_missing_folder_says_so(tmp_path):
    path = tmp_path / "no" / "such" / "x.pt"
    with pytest.raises(SerializationError, match=r"^tinynet\.save: could not write .*x\.pt: the folder .*such does not "
                                                 r"exist; nothing was written there$"):
        save([1], path)


# --- what can't be loaded ------------------------------------------------------------------------
def _write_raw(path, manifest, arrays):
    """A file laid out as save's, with ``manifest`` (a dict, or raw bytes) and ``arrays`` as given."""
    raw = manifest if isinstance(manifest, bytes) else json.dumps(manifest).encode("utf-8")
    with open(path, "wb") as f:
        np.savez(f, manifest=np.frombuffer(raw, dtype=np.uint8), **arrays)


def _manifest(root):
    return {"format": FORMAT, "version": 1, "root": root}


ARRAY_NODE = {"kind": "ndarray", "array": "arrays/0", "dtype": "<f8", "shape": [2], "device": "cpu"}


def _bad_file(kind, path):
    """Write the bad file ``kind`` at ``path``."""
    if kind == "text":
        path.write_text("hello, this is not a save file\n")
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "truncated":
        save({"w": np.arange(1000.0)}, path)
        path.write_bytes(path.read_bytes()[:3000])
    elif kind == "truncated-tail":
        save({"w": np.arange(1000.0)}, path)
        data = path.read_bytes()
        path.write_bytes(data[:-30])
    elif kind == "npy":
        np.save(path, np.ones(3))
        os.replace(str(path) + ".npy", path)
    elif kind == "pickle":
        path.write_bytes(b"\x80\x04\x95\x05\x00\x00\x00\x00\x00\x00\x00K\x01.")  # pickle.dumps(1)
    elif kind == "torch-zip":
        with zipfile.ZipFile(path, "w") as z:
            z.writestr("archive/data.pkl", b"\x80\x02}q\x00.")
            z.writestr("archive/version", b"3\n")
    elif kind == "npz-no-manifest":
        np.savez(path, weights=np.ones(2))
        os.replace(str(path) + ".npz", path)
    elif kind == "manifest-not-json":
        _write_raw(path, b"{not json", {})
    elif kind == "manifest-not-utf8":
        _write_raw(path, b"\xff\xfe{}", {})
    elif kind == "manifest-float":
        with open(path, "wb") as f:
            np.savez(f, manifest=np.zeros(3))
    elif kind == "manifest-other-format":
        _write_raw(path, {"format": "something", "version": 1, "root": {"kind": "none"}}, {})
    elif kind == "manifest-list":
        _write_raw(path, [1, 2], {})
    elif kind == "version-2":
        _write_raw(path, {"format": FORMAT, "version": 2, "root": {"kind": "none"}}, {})
    elif kind == "no-root":
        _write_raw(path, {"format": FORMAT, "version": 1}, {})
    elif kind == "missing-array":
        _write_raw(path, _manifest(ARRAY_NODE), {})
    elif kind == "array-mismatch":
        _write_raw(path, _manifest(ARRAY_NODE), {"arrays/0": np.ones(3, dtype=np.float32)})
    elif kind == "array-node-incomplete":
        _write_raw(path, _manifest({"kind": "tensor", "array": "arrays/0"}), {"arrays/0": np.ones(2)})
    elif kind == "unknown-kind":
        _write_raw(path, _manifest({"kind": "pickle", "value": "os.system"}), {})
    elif kind == "bad-int":
        _write_raw(path, _manifest({"kind": "int", "value": "3"}), {})
    elif kind == "bad-float":
        _write_raw(path, _manifest({"kind": "float", "value": [1]}), {})
    elif kind == "bad-dict-item":
        _write_raw(path, _manifest({"kind": "dict", "items": [[1.5, {"kind": "none"}]]}), {})
    elif kind == "bad-items":
        _write_raw(path, _manifest({"kind": "list", "items": "abc"}), {})
    elif kind == "int-tensor-requires-grad":
        node = {**ARRAY_NODE, "kind": "tensor", "dtype": "<i8", "requires_grad": True, "id": 0}
        _write_raw(path, _manifest(node), {"arrays/0": np.ones(2, dtype=np.int64)})
    elif kind == "tensor-of-strings":
        node = {**ARRAY_NODE, "kind": "tensor", "dtype": "<U1", "requires_grad": False, "id": 0}
        _write_raw(path, _manifest(node), {"arrays/0": np.array(["a", "b"])})
    elif kind == "scalar-not-0d":
        _write_raw(path, _manifest({**ARRAY_NODE, "kind": "scalar"}), {"arrays/0": np.ones(2)})
    elif kind == "forged-header":  # declares 800 GB in a 42-byte member: refused before NumPy allocates it
        save({"w": np.ones(4)}, path)
        with zipfile.ZipFile(path) as z:
            members = {n: z.read(n) for n in z.namelist()}
        raw = members["arrays/0.npy"]
        length = int.from_bytes(raw[8:10], "little")  # an .npy 1.0 header: magic, version, 2-byte length, text
        text = raw[10: 10 + length].decode("latin1").replace("(4,)", "(99999999999,)").rstrip()
        members["arrays/0.npy"] = raw[:10] + text.ljust(length - 1).encode("latin1") + b"\n" + raw[10 + length:]
        assert len(members["arrays/0.npy"]) == len(raw)
        with zipfile.ZipFile(path, "w") as z:
            for name, data in members.items():
                z.writestr(name, data)
    elif kind == "zip-claims-more":  # the directory says the member holds more bytes than the file has
        save({"w": np.ones(4)}, path)
        data = bytearray(path.read_bytes())
        at = data.rfind(b"arrays/0.npy") - 46  # the central directory entry of arrays/0
        assert data[at: at + 4] == b"PK\x01\x02"
        data[at + 20: at + 28] = (10**9).to_bytes(4, "little") * 2  # compressed and uncompressed sizes
        path.write_bytes(bytes(data))
    elif kind == "deep-manifest":
        root = {"kind": "none"}
        for _ in range(MAX_DEPTH + 10):
            root = {"kind": "list", "items": [root]}
        _write_raw(path, _manifest(root), {})
    else:
        raise AssertionError(kind)


CANT_LOAD = [
    pytest.param("text", r"is not a tinynet save file: it is neither a zip \(\.npz\) nor an \.npy array \(a pickle, "
                 r"such as a PyTorch file of the legacy format, is never loaded\)$", id="text"),
    pytest.param("empty", r"is empty, not a tinynet save file$", id="empty"),
    pytest.param("truncated", r"is not a tinynet save file, or is truncated \(BadZipFile", id="truncated"),
    pytest.param("truncated-tail", r"is not a tinynet save file, or is truncated \(BadZipFile", id="truncated-tail"),
    pytest.param("npy", r"is a single \.npy array, not a tinynet save file", id="lone-npy"),
    pytest.param("pickle", r"is not a tinynet save file: it is neither a zip .*is never loaded\)$", id="pickle"),
    pytest.param("torch-zip", r"is a zip but not a tinynet save file: it has no manifest \(a PyTorch file holds pickled "
                 r"objects, which tinynet never loads\)$", id="pytorch-zip"),
    pytest.param("npz-no-manifest", r"is a zip but not a tinynet save file: it has no manifest$", id="npz-without-manifest"),
    pytest.param("manifest-not-json", r"has a manifest that is not UTF-8 JSON \(JSONDecodeError", id="manifest-not-json"),
    pytest.param("manifest-not-utf8", r"has a manifest that is not UTF-8 JSON \(UnicodeDecodeError", id="manifest-not-utf8"),
    pytest.param("manifest-float", r"has a manifest of dtype float64 and shape \(3,\); it must be a 1-D uint8 array",
                 id="manifest-float"),
    pytest.param("manifest-other-format", r"has a manifest that is not a tinynet save file's", id="other-format"),
    pytest.param("manifest-list", r"has a manifest that is not a tinynet save file's", id="manifest-list"),
    pytest.param("version-2", r"is a save file of version 2; this tinynet reads version 1$", id="version-2"),
    pytest.param("no-root", r"has a manifest without a 'root' entry$", id="no-root"),
    pytest.param("missing-array", r"has a manifest that names the array 'arrays/0', which the file does not hold$",
                 id="missing-array"),
    pytest.param("array-mismatch", r"is corrupt: the array 'arrays/0' has dtype <f4 and shape \[3\], its manifest says <f8 "
                 r"and \[2\]$", id="array-mismatch"),
    pytest.param("array-node-incomplete", r"has a malformed manifest: the tensor at obj lacks one of array, dtype, shape, device$",
                 id="array-node-incomplete"),
    pytest.param("unknown-kind", r"has a malformed manifest: the entry at obj has kind 'pickle'$", id="unknown-kind"),
    pytest.param("bad-int", r"has a malformed manifest: the int at obj holds '3'$", id="bad-int"),
    pytest.param("bad-float", r"has a malformed manifest: the float at obj holds \[1\]$", id="bad-float"),
    pytest.param("bad-dict-item", r"has a malformed manifest: an item of the dict at obj is not a \[key, value\] pair", id="bad-dict-item"),
    pytest.param("bad-items", r"has a malformed manifest: the list at obj has no list of items$", id="bad-items"),
    pytest.param("int-tensor-requires-grad", r"has a malformed manifest: the tensor at obj has requires_grad=True with dtype int64$",
                 id="int-tensor-requires-grad"),
    pytest.param("tensor-of-strings", r"is corrupt: the tensor at obj has dtype <U1, not numbers$", id="tensor-of-strings"),
    pytest.param("scalar-not-0d", r"has a malformed manifest: the NumPy scalar at obj has shape \(2,\)$", id="scalar-not-0d"),
    pytest.param("deep-manifest", r"has a manifest nested more than 100 deep$", id="deep-manifest"),
    pytest.param("forged-header", r"is truncated or corrupt: the array 'arrays/0' can't be read \(ValueError: its header "
                 r"declares shape \(99999999999,\) of float64 \(799999999992 bytes\), the member holds 32 bytes of data\)$",
                 id="forged-header"),
    pytest.param("zip-claims-more", r"is truncated or corrupt: the array 'arrays/0' can't be read \(ValueError: it claims "
                 r"1000000000 bytes from 1000000000 in a \d+-byte file\)$", id="zip-claims-more"),
]


@pytest.mark.parametrize("kind, message", CANT_LOAD)
def test_what_cant_be_loaded_is_named_with_the_path(kind, message, tmp_path):
    path = tmp_path / f"{kind}.pt"
    _bad_file(kind, path)
    with pytest.raises(SerializationError, match=rf"^tinynet\.load: {path} {message}"):
        load(path)
    with open(path, "rb") as f:  # the same, read from a file object
        with pytest.raises(SerializationError, match=rf"^tinynet\.load: file {path} {message}"):
            load(f)


def test_load_of_a_missing_path_or_a_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match=rf"^tinynet\.load: no such file: {tmp_path}/nope\.pt$"):
        load(tmp_path / "nope.pt")
    with pytest.raises(IsADirectoryError, match=rf"^tinynet\.load: {tmp_path} is a folder, not a save file$"):
        load(tmp_path)


@pytest.mark.parametrize("args, error, message", [
    pytest.param(dict(map_location="tpu"), backend.DeviceError, r"^tinynet\.load: map_location: unknown device 'tpu'",
                 id="map_location-unknown"),
    pytest.param(dict(map_location={"cuda": "cpu"}), TypeError, r"^tinynet\.load: map_location must be None, 'cpu' or "
                 r"'cuda', got dict", id="map_location-dict"),
    pytest.param(dict(weights_only="yes"), TypeError, r"^tinynet\.load: weights_only must be True or False, got 'yes'$",
                 id="weights_only-str"),
])
def test_load_refuses_bad_arguments(args, error, message, tmp_path):
    save([1], tmp_path / "x.pt")
    with pytest.raises(error, match=message):
        load(tmp_path / "x.pt", **args)


def test_load_refuses_an_f_that_is_not_a_path_or_a_file():
    with pytest.raises(TypeError, match=r"^tinynet\.load: f must be a path .*got NoneType$"):
        load(None)


def test_a_bad_file_object_is_named_by_its_type():
    with pytest.raises(SerializationError, match=r"^tinynet\.load: the BytesIO object is not a tinynet save file"):
        load(io.BytesIO(b"junk"))
