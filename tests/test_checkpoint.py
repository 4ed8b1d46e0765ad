"""Checkpoints: round trip, atomic writes that survive a crash, clear errors, and no pickle;
forged and damaged files (built by hand as zips of .npy members) refused before their data is read."""
import errno
import io
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import warnings
import zipfile

import numpy as np
import pytest

import tinynet
from tinynet import checkpoint, nn
from tinynet.checkpoint import CheckpointError, load_checkpoint, read_meta, save_checkpoint
from tinynet.optim import SGD


def _model(seed=0):
    tinynet.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 4 * 4, 5))


def _stepped_model():
    """The model after one SGD step with momentum (so the optimizer has buffers), and its optimizer."""
    model = _model()
    opt = SGD(model.parameters(), lr=0.1, momentum=0.9)
    for p in model.parameters():
        p.grad = tinynet.Tensor(np.ones(p.shape, dtype=p.dtype))
    opt.step()
    return model, opt


def test_round_trip_restores_model_optimizer_and_meta(tmp_path):
    model, opt = _stepped_model()
    path = save_checkpoint(tmp_path / "c.npz", model, opt, {"epoch": 3, "classes": ["a", "b"]})
    ckpt = load_checkpoint(path)
    assert ckpt.meta["epoch"] == 3 and ckpt.meta["classes"] == ["a", "b"]
    fresh = _model(seed=1)
    fresh.load_state_dict(ckpt.model_state)
    for (n, a), (_, b) in zip(model.state_dict().items(), fresh.state_dict().items()):
        np.testing.assert_array_equal(a, b, err_msg=n)
    assert ckpt.optimizer_state["lr"] == 0.1 and len(ckpt.optimizer_state["buffers"]) == 4
    np.testing.assert_array_equal(ckpt.optimizer_state["buffers"][0], np.ones((4, 3, 3, 3), np.float32))


def test_failed_write_leaves_the_previous_checkpoint_and_no_temporary_file(tmp_path, monkeypatch):
    path = tmp_path / "c.npz"
    save_checkpoint(path, _model(), meta={"epoch": 1})

    def broken_savez(f, **arrays):  # writes half a file, then the disk "fills up"
        f.write(b"PK\x03\x04 partial")
        raise OSError("No space left on device")

    monkeypatch.setattr(np, "savez", broken_savez)
    with pytest.raises(CheckpointError, match="No space"):
        save_checkpoint(path, _model(), meta={"epoch": 2})
    monkeypatch.undo()
    assert load_checkpoint(path).meta["epoch"] == 1
    assert os.listdir(tmp_path) == ["c.npz"]


def test_a_writer_killed_midway_never_leaves_a_broken_checkpoint(tmp_path):
    """A process rewriting a 40 MB checkpoint in a loop is killed with SIGKILL at some point in a write;
    the file at the final path is always a complete checkpoint (the old or the new one)."""
    path = tmp_path / "c.npz"
    script = textwrap.dedent(f"""
        import sys; sys.path.insert(0, {os.getcwd()!r})
        from tinynet import nn
        from tinynet.checkpoint import save_checkpoint
        model = nn.Linear(2500, 4000)
        i = 0
        while True:
            i += 1
            save_checkpoint({str(path)!r}, model, meta={{"epoch": i}})
            print(i, flush=True)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "1"  # one complete checkpoint exists
        time.sleep(0.35)  # somewhere inside a later write
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    ckpt = load_checkpoint(path)
    assert ckpt.meta["epoch"] >= 1
    assert ckpt.model_state["weight"].shape == (4000, 2500)


def test_missing_truncated_and_foreign_files_give_clear_errors(tmp_path):
    with pytest.raises(CheckpointError, match="does not exist"):
        load_checkpoint(tmp_path / "nope.npz")
    path = save_checkpoint(tmp_path / "c.npz", _model(), meta={"epoch": 1})
    data = open(path, "rb").read()
    truncated = tmp_path / "t.npz"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match=r"t\.npz is truncated or corrupt"):
        load_checkpoint(truncated)
    foreign = tmp_path / "f.npz"
    np.savez(foreign, x=np.zeros(3))
    with pytest.raises(CheckpointError, match="not a tinynet checkpoint"):
        load_checkpoint(foreign)


def test_loading_never_unpickles(tmp_path):
    """An .npz holding a pickled object array is refused, not executed."""
    evil = tmp_path / "evil.npz"
    np.savez(evil, meta=np.frombuffer(b'{"format": 1}', dtype=np.uint8), payload=np.array([{"a": 1}], dtype=object))
    with pytest.raises(CheckpointError, match="evil.npz"):
        load_checkpoint(evil)


# --- forged and damaged files --------------------------------------------------------------------
# A good checkpoint of _model() after one momentum step has these members (name without ".npy"):
# meta, model/0.weight (4, 3, 3, 3), model/0.bias (4,), model/3.weight (5, 64), model/3.bias (5,),
# optim/buffer/0..3 of the same shapes. Each hostile row edits that dict of raw member bytes.
SHAPES = {"0.weight": (4, 3, 3, 3), "0.bias": (4,), "3.weight": (5, 64), "3.bias": (5,)}


def _good_members(folder):
    model, opt = _stepped_model()
    path = save_checkpoint(folder / "good.npz", model, opt, {"epoch": 1})
    with zipfile.ZipFile(path) as z:
        return {name[: -len(".npy")]: z.read(name) for name in z.namelist()}


def _npy(array):
    """The bytes of an .npy file holding ``array`` (object arrays pickled, as a forger would)."""
    buf = io.BytesIO()
    np.lib.format.write_array(buf, np.asarray(array), allow_pickle=True)
    return buf.getvalue()


def _npy_header(descr, shape, data=b"", fortran_order=False):
    """An .npy file with a hand-written header, followed by ``data``."""
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": descr, "fortran_order": fortran_order, "shape": shape})
    return buf.getvalue() + data


def _write_zip(path, members, deflate=()):
    """``members``: {name: bytes} or [(name, bytes)]; each stored as <name>.npy (deflated if listed)."""
    items = members.items() if isinstance(members, dict) else members
    with zipfile.ZipFile(path, "w") as z, warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Duplicate name", UserWarning)  # a forger's zip may repeat one
        for name, data in items:
            kind = zipfile.ZIP_DEFLATED if name in deflate else zipfile.ZIP_STORED
            z.writestr(name + ".npy", data, compress_type=kind)
    return path


def _meta(text):
    return lambda m: {**m, "meta": _npy(np.frombuffer(text, dtype=np.uint8))}


def _edit_meta(change):
    """An edit that loads the JSON metadata, lets ``change(meta)`` alter it in place, and stores it."""
    def edit(m):
        meta = json.loads(np.load(io.BytesIO(m["meta"])).tobytes())
        change(meta)
        return _meta(json.dumps(meta).encode())(m)
    return edit


def _set(key, value):
    def change(meta):
        *parents, last = key.split(".")
        target = meta
        for part in parents:
            target = target[part]
        target[last] = value
    return _edit_meta(change)


def _drop(key):
    return _edit_meta(lambda meta: meta.pop(key))


def _replace(name, data):
    return lambda m: {**m, name: data}


def _with_values(name, dtype, values):
    """Member ``name`` rewritten with ``values`` put at its first positions (same shape)."""
    def edit(m):
        array = np.load(io.BytesIO(m[name])).astype(dtype)
        array.reshape(-1)[: len(values)] = values
        return {**m, name: _npy(array)}
    return edit


def _as_dtype(name, make):
    return lambda m: {**m, name: _npy(make(np.load(io.BytesIO(m[name]))))}


HOSTILE_FILES = [
    # the metadata member
    ("meta is a JSON list", _meta(b"[1, 2]"), r"bad\.npz: field 'meta' must be a JSON object, got \[1, 2\]"),
    ("meta is a JSON string", _meta(b'"format"'), r"bad\.npz: field 'meta' must be a JSON object"),
    ("meta is not UTF-8", _meta(b'{"format": 1, "x": "\xff\xfe"}'),
     r"bad\.npz: field 'meta' is not UTF-8 text \(byte 0xff at offset 20\)"),
    ("meta is truncated JSON", _meta(b'{"format": 1, "epo'), r"bad\.npz: field 'meta' is not valid JSON"),
    ("meta is empty", _meta(b""), r"bad\.npz: field 'meta' is not valid JSON"),
    ("meta nests too deeply", _meta(b"[" * 100000), r"bad\.npz: field 'meta' is JSON nested too deeply"),
    ("meta has an int of 5000 digits", _meta(b'{"format": ' + b"1" * 5000 + b"}"),
     r"bad\.npz: field 'meta' is not valid JSON"),
    ("meta of float64", _replace("meta", _npy(np.zeros(8))), r"member 'meta' must be a 1-D uint8 .*dtype float64"),
    ("meta of 2-D", _replace("meta", _npy(np.zeros((2, 2), np.uint8))), r"member 'meta' must be .*shape \(2, 2\)"),
    ("meta twice", lambda m: [*m.items(), ("meta", m["meta"])], r"member 'meta' appears twice"),
    ("format 2", _set("format", 2), r"bad\.npz: field 'format' must be 1 .*, got 2"),
    ("format as a string", _set("format", "1"), r"field 'format' must be 1 .*, got '1'"),
    ("format true", _set("format", True), r"field 'format' must be 1 .*, got True"),
    ("format missing", _drop("format"), r"bad\.npz: field 'format' is missing"),
    # the optimizer's fields
    ("optimizer a list", _set("optimizer", [0.1]), r"field 'optimizer' must be an object, got \[0\.1\]"),
    ("lr as a string", _set("optimizer.lr", "0.1"),
     r"bad\.npz: field 'optimizer\.lr' must be a finite number >= 0, got '0\.1'"),
    ("lr NaN", _set("optimizer.lr", float("nan")), r"field 'optimizer\.lr' must be a finite number >= 0, got nan"),
    ("momentum inf", _set("optimizer.momentum", float("inf")), r"field 'optimizer\.momentum' .* got inf"),
    ("weight_decay a bool", _set("optimizer.weight_decay", True), r"field 'optimizer\.weight_decay' .* got True"),
    ("dampening negative", _set("optimizer.dampening", -0.5), r"field 'optimizer\.dampening' .* got -0\.5"),
    ("lr missing", _edit_meta(lambda meta: meta["optimizer"].pop("lr")), r"field 'optimizer\.lr' is missing"),
    ("nesterov a string", _set("optimizer.nesterov", "no"), r"field 'optimizer\.nesterov' must be a bool, got 'no'"),
    ("n_params negative", _set("optimizer.n_params", -1), r"field 'optimizer\.n_params' must be an int .* got -1"),
    ("n_params a float", _set("optimizer.n_params", 4.0), r"field 'optimizer\.n_params' must be an int .* got 4\.0"),
    ("n_params huge", _set("optimizer.n_params", 10**12), r"field 'optimizer\.n_params' must be an int from 0"),
    ("n_params below the buffers", _set("optimizer.n_params", 2),
     r"member 'optim/buffer/2' is not the buffer of one of the 2 parameters"),
    ("buffers without optimizer", _drop("optimizer"), r"holds optim/buffer/\d but no field 'optimizer'"),
    ("a buffer of another name", lambda m: {**m, "optim/buffer/01": m["optim/buffer/1"]},
     r"member 'optim/buffer/01' is not the buffer of one of the 4 parameters"),
    ("a buffer index of a non-ASCII digit", lambda m: {**m, "optim/buffer/\u00b2": m["optim/buffer/1"]},
     r"member 'optim/buffer/\u00b2' is not the buffer of one of the 4 parameters"),
    ("no model tensors", lambda m: {k: v for k, v in m.items() if not k.startswith("model/")},
     r"bad\.npz holds no model tensors"),
    # declared shapes and sizes, checked before any data is read
    ("a weight declaring 1e6x1e6x3x3", _replace("model/0.weight", _npy_header("<f4", (10**6, 10**6, 3, 3), bytes(432))),
     r"member 'model/0\.weight' declares shape \(1000000, 1000000, 3, 3\) of float32 = 32\.7 TiB "
     r"\(36000000000000 bytes\), but holds 432 bytes of data"),
    ("a weight shorter than declared", _replace("model/0.weight", _npy_header("<f4", (4, 3, 3, 3), bytes(40))),
     r"member 'model/0\.weight' declares shape \(4, 3, 3, 3\) of float32 = 432 bytes .* holds 40 bytes"),
    ("a buffer longer than declared", _replace("optim/buffer/3", _npy_header("<f4", (5,), bytes(24))),
     r"member 'optim/buffer/3' declares shape \(5,\) .* holds 24 bytes"),
    ("a negative dimension", _replace("model/0.bias", _npy_header("<f4", (-4,), bytes(16))),
     r"member 'model/0\.bias' is not a valid \.npy array \(shape \(-4,\) has a negative dimension\)"),
    ("a zero-size shape of 2**80 elements", _replace("optim/buffer/1", _npy_header("<f4", (0, 2**40, 2**40))),
     r"member 'optim/buffer/1' is not a valid \.npy array \(shape \(0, 1099511627776, 1099511627776\) declares "
     r"more than 281474976710656 elements\)"),
    ("not an .npy member", _replace("model/0.bias", b"\x93NUMPX" + bytes(100)),
     r"member 'model/0\.bias' is not a valid \.npy array"),
    ("an .npy of version 9", _replace("model/0.bias", b"\x93NUMPY\x09\x00" + bytes(100)),
     r"member 'model/0\.bias' is not a valid \.npy array \(.*version 9\.0"),
    ("a header cut short", _replace("model/0.bias", _npy(np.zeros(4, np.float32))[:20]),
     r"member 'model/0\.bias' is truncated or corrupt"),
    ("a header of 60000 bytes", _replace("model/0.bias", b"\x93NUMPY\x02\x00" + (60000).to_bytes(4, "little")
                                         + b" " * 60000), r"member 'model/0\.bias' is not a valid .*60000 bytes"),
    # dtypes: only floats are tensors (a pickled object array is refused by its header, never unpickled)
    ("string weights", _as_dtype("model/3.bias", lambda a: np.array(["hello"] * 5)),
     r"bad\.npz: tensor 'model/3\.bias' has dtype <U5"),
    ("object weights", _as_dtype("model/3.bias", lambda a: np.array([{"a": 1}] * 5, dtype=object)),
     r"tensor 'model/3\.bias' has dtype object"),
    ("int weights", _as_dtype("model/3.bias", lambda a: a.astype(np.int64)), r"tensor 'model/3\.bias' has dtype int64"),
    ("bool buffer", _as_dtype("optim/buffer/1", lambda a: a > 0), r"tensor 'optim/buffer/1' has dtype bool"),
    ("complex weights", _as_dtype("model/3.bias", lambda a: a.astype(np.complex64)),
     r"tensor 'model/3\.bias' has dtype complex64"),
    ("structured weights", _as_dtype("model/3.bias", lambda a: np.zeros(5, dtype=[("x", "<f4")])),
     r"tensor 'model/3\.bias' has dtype \[\('x', '<f4'\)\]"),
    # values: a checkpoint's tensors are finite
    ("a NaN weight", _with_values("model/0.weight", np.float32, [np.nan]),
     r"bad\.npz: tensor 'model/0\.weight' has 1 non-finite values of 108 \(1 NaN, 0 inf\)"),
    ("inf weights of float64", _with_values("model/3.weight", np.float64, [np.inf, -np.inf, np.nan]),
     r"tensor 'model/3\.weight' has 3 non-finite values of 320 \(1 NaN, 2 inf\)"),
    ("an inf buffer", _with_values("optim/buffer/2", np.float32, [np.inf, np.inf]),
     r"tensor 'optim/buffer/2' has 2 non-finite values of 320 \(0 NaN, 2 inf\)"),
]


def _cases(table):
    """A table of (id, edit, message) rows as pytest parameters of ``edit, message``."""
    return [pytest.param(e, m, id=i) for i, e, m in table]


def _refused(path, members, message):
    """``members`` written as the zip ``path``: load_checkpoint refuses it with ``message``."""
    with pytest.raises(CheckpointError, match=message):
        load_checkpoint(_write_zip(path, members))


@pytest.mark.parametrize("edit, message", _cases(HOSTILE_FILES))
def test_a_forged_or_damaged_checkpoint_is_refused_naming_the_file_and_the_member_or_field(tmp_path, edit, message):
    _refused(tmp_path / "bad.npz", edit(_good_members(tmp_path)), message)


def _forge_directory_size(path, member, size):
    """Overwrite the uncompressed size that the zip's central directory gives ``member``."""
    data = bytearray(path.read_bytes())
    at = data.index(b"PK\x01\x02")
    while data[at + 46: at + 46 + len(member)] != member.encode():
        at = data.index(b"PK\x01\x02", at + 4)
    data[at + 24: at + 28] = size.to_bytes(4, "little")
    path.write_bytes(bytes(data))


FORGED_DIRECTORY_SIZES = [  # (member, deflated?, forged size, message)
    ("model/0.bias.npy", False, 0xFFFFFFF0, r"member 'model/0\.bias' claims 4294967280 bytes from 144 bytes"),
    ("model/3.weight.npy", True, 0xFFFFFFF0, r"member 'model/3\.weight' claims 4294967280 bytes from \d+ bytes"),
    ("meta.npy", False, 0xFFFF, r"member 'meta' claims 65535 bytes"),
]


@pytest.mark.parametrize("member, deflated, size, message", [pytest.param(*row, id=row[0])
                                                               for row in FORGED_DIRECTORY_SIZES])
def test_a_size_in_the_zip_directory_that_the_file_cannot_hold_is_refused(tmp_path, member, deflated, size, message):
    deflate = {member[: -len(".npy")]} if deflated else ()
    path = _write_zip(tmp_path / "bad.npz", _good_members(tmp_path), deflate=deflate)
    _forge_directory_size(path, member, size)
    with pytest.raises(CheckpointError, match=message):
        load_checkpoint(path)


def test_a_huge_declared_shape_is_refused_before_anything_is_allocated(tmp_path, monkeypatch):
    members = _replace("model/0.weight", _npy_header("<f4", (10**6, 10**6, 3, 3), bytes(432)))(_good_members(tmp_path))
    path = _write_zip(tmp_path / "bad.npz", members)
    allocated = []
    real_empty = np.empty
    monkeypatch.setattr(np, "empty", lambda shape, *a, **k: allocated.append(shape) or real_empty(shape, *a, **k))
    with pytest.raises(CheckpointError, match=r"model/0\.weight' declares shape \(1000000, 1000000, 3, 3\)"):
        load_checkpoint(path)
    assert all(np.prod(s) < 2**20 for s in allocated), allocated


def _spy_on_opened_members(monkeypatch):
    opened = []
    real_open = zipfile.ZipFile.open

    def spy(self, name, *args, **kwargs):
        opened.append(name.filename if isinstance(name, zipfile.ZipInfo) else name)
        return real_open(self, name, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "open", spy)
    return opened


def test_a_member_that_is_not_needed_is_never_opened(tmp_path, monkeypatch):
    """100 MB of deflated zeros (100 KB in the file) and a pickled payload beside a good checkpoint:
    neither is decompressed nor unpickled; the checkpoint loads."""
    path = tmp_path / "c.npz"
    _write_zip(path, _good_members(tmp_path))
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED) as z:
        with z.open("junk.npy", "w", force_zip64=True) as f:  # streamed: no 100 MB buffer here
            f.write(_npy_header("|u1", (100 * 2**20,)))
            for _ in range(100):
                f.write(bytes(2**20))
        z.writestr("payload.npy", _npy(np.array([{"a": 1}], dtype=object)))
    assert path.stat().st_size < 2**20
    opened = _spy_on_opened_members(monkeypatch)
    ckpt = load_checkpoint(path)
    assert "junk.npy" not in opened and "payload.npy" not in opened
    assert sorted(ckpt.model_state) == sorted(SHAPES) and len(ckpt.optimizer_state["buffers"]) == 4


def test_read_meta_reads_only_the_meta_member(tmp_path, monkeypatch):
    path = save_checkpoint(tmp_path / "c.npz", _model(), SGD(_model().parameters(), lr=0.5), {"epoch": 7})
    opened = _spy_on_opened_members(monkeypatch)
    meta = checkpoint.read_meta(path)
    assert meta["epoch"] == 7 and meta["optimizer"]["lr"] == 0.5 and meta["format"] == checkpoint.FORMAT_VERSION
    assert opened and set(opened) == {"meta.npy"}


def test_shapes_given_by_the_caller_are_checked_and_a_fortran_order_weight_reads_right(tmp_path):
    members = _good_members(tmp_path)
    weight = np.asfortranarray(np.arange(320, dtype=np.float32).reshape(5, 64))
    members["model/3.weight"] = _npy(weight)
    path = _write_zip(tmp_path / "c.npz", members, deflate={"model/0.weight", "optim/buffer/0"})
    ckpt = load_checkpoint(path, model_shapes=SHAPES, param_shapes=list(SHAPES.values()))
    np.testing.assert_array_equal(ckpt.model_state["3.weight"], weight)
    assert ckpt.model_state["0.weight"].shape == (4, 3, 3, 3)
    assert [b.shape for b in ckpt.optimizer_state["buffers"]] == list(SHAPES.values())
    assert ckpt.optimizer_state["momentum"] == 0.9 and "n_params" not in ckpt.optimizer_state


def _shapes_except(changes):
    """SHAPES with some shapes changed, and those changed to None left out."""
    shapes = dict(SHAPES)
    for name, shape in changes.items():
        if shape is None:
            shapes.pop(name)
        else:
            shapes[name] = shape
    return shapes


SHAPE_MISMATCHES = [
    ("a missing tensor", dict(model_shapes={**SHAPES, "4.weight": (2, 5)}),
     r"c\.npz does not fit the model: missing model/4\.weight$"),
    ("an unexpected tensor", dict(model_shapes=_shapes_except({"3.bias": None})),
     r"c\.npz does not fit the model: unexpected model/3\.bias$"),
    ("a tensor of another shape", dict(model_shapes=_shapes_except({"3.weight": (5, 65)})),
     r"does not fit the model: model/3\.weight: expected shape \(5, 65\), got \(5, 64\)$"),
    ("all three, listed together",
     dict(model_shapes={**_shapes_except({"0.bias": None, "3.weight": (6, 64)}), "9.bias": (1,)}),
     r"missing model/9\.bias; unexpected model/0\.bias; model/3\.weight: expected shape \(6, 64\), got \(5, 64\)$"),
    ("fewer optimizer parameters", dict(param_shapes=list(SHAPES.values())[:3]),
     r"c\.npz: field 'optimizer\.n_params' is 4, but the optimizer has 3 parameters"),
    ("a buffer of another shape", dict(param_shapes=[(4, 3, 3, 3), (4,), (64, 5), (5,)]),
     r"optim/buffer/2: expected shape \(64, 5\) \(parameter 2\), got \(5, 64\)$"),
]


@pytest.mark.parametrize("shapes, message", [pytest.param(s, m, id=i) for i, s, m in SHAPE_MISMATCHES])
def test_names_and_shapes_that_do_not_fit_are_all_refused_before_any_data_is_read(tmp_path, monkeypatch,
                                                                                    shapes, message):
    path = _write_zip(tmp_path / "c.npz", _good_members(tmp_path))
    read = []
    monkeypatch.setattr(checkpoint._Archive, "tensor", lambda self, name, header: read.append(name))
    with pytest.raises(CheckpointError, match=message):
        load_checkpoint(path, **shapes)
    assert read == []


# --- writing ------------------------------------------------------------------------------------
def _raise(error):
    def broken(*args, **kwargs):
        raise error
    return broken


WRITE_FAILURES = [  # (what fails, with what, a checkpoint there before?, expected error, message)
    ("os.fsync", OSError(errno.ENOSPC, "No space left on device"), True, CheckpointError,
     r"^could not write checkpoint \S*c\.npz: \[Errno 28\] No space left on device; the previous \S*c\.npz is intact$"),
    ("np.savez", OSError(errno.ENOSPC, "No space left on device"), False, CheckpointError,
     r"^could not write checkpoint \S*c\.npz: \[Errno 28\] No space left on device; no checkpoint was written there$"),
    ("os.replace", PermissionError(errno.EACCES, "Permission denied"), True, CheckpointError,
     r"^could not write checkpoint \S*c\.npz: \[Errno 13\] Permission denied; the previous \S*c\.npz is intact$"),
    ("np.savez", KeyboardInterrupt(), True, KeyboardInterrupt, r"^$"),
]


@pytest.mark.parametrize("target, error, previous, expected, message", [pytest.param(*row, id=f"{row[0]}-{i}")
                                                                        for i, row in enumerate(WRITE_FAILURES)])
def test_a_failed_write_is_one_clear_error_and_leaves_no_temporary_file(tmp_path, monkeypatch, target, error,
                                                                         previous, expected, message):
    path = tmp_path / "c.npz"
    if previous:
        save_checkpoint(path, _model(), meta={"epoch": 1})
    module, name = target.split(".")
    monkeypatch.setattr(np if module == "np" else os, name, _raise(error))
    with pytest.raises(expected, match=message) as caught:
        save_checkpoint(path, _model(), meta={"epoch": 2})
    monkeypatch.undo()
    if expected is CheckpointError:
        assert caught.value.__cause__ is error
    assert os.listdir(tmp_path) == (["c.npz"] if previous else [])
    if previous:
        assert load_checkpoint(path).meta["epoch"] == 1


def _a_file(path):
    path.write_text("not a folder")
    return path


UNWRITABLE_TARGETS = [  # (what, the target under tmp_path, message)
    ("a folder on the way is a file", lambda t: _a_file(t / "file") / "c.npz",
     r"^could not write checkpoint \S*file/c\.npz: \[Errno \d+\] .*: \S*file; no checkpoint was written there$"),
    ("the target is a folder", lambda t: (t / "c.npz").mkdir() or t / "c.npz",
     r"^could not write checkpoint \S*c\.npz: \[Errno 21\] Is a directory; no checkpoint was written there$"),
]


@pytest.mark.parametrize("target, message", [pytest.param(t, m, id=i) for i, t, m in UNWRITABLE_TARGETS])
def test_a_target_that_cannot_take_a_checkpoint_is_one_clear_error(tmp_path, target, message):
    path = target(tmp_path)
    with pytest.raises(CheckpointError, match=message):
        save_checkpoint(path, _model())
    assert not [n for n in os.listdir(tmp_path) if ".tmp-" in n]


def test_a_folder_is_not_read_as_a_checkpoint(tmp_path):
    with pytest.raises(CheckpointError, match=r"is a folder, not a checkpoint file"):
        load_checkpoint(tmp_path)


# --- stale temporaries ---------------------------------------------------------------------------
def _dead_pid():
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


STALE_FILES = [  # (name, what it is, removed?) with {dead}, {live} and {me} standing for pids
    ("checkpoint.npz.tmp-{dead}", "partial zip", True),
    ("checkpoint_epoch3.npz.tmp-{dead}", "empty", True),
    ("checkpoint.npz.tmp-{live}", "partial zip", False),
    ("checkpoint.npz.tmp-{me}", "partial zip", False),
    ("checkpoint.npz.tmp-0", "partial zip", False),
    ("notes.txt.tmp-{dead}", "text", False),
    ("link.npz.tmp-{dead}", "link to a partial zip", False),
    ("folder.npz.tmp-{dead}", "folder", False),
    ("checkpoint.npz.tmp-{dead}x", "partial zip", False),
    ("checkpoint.npz.tmp-", "partial zip", False),
    ("checkpoint.npz", "partial zip", False),
]


def test_remove_stale_temporaries_removes_only_partial_checkpoints_of_dead_processes(tmp_path):
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        pids = {"dead": _dead_pid(), "live": live.pid, "me": os.getpid()}
        folder, outside = tmp_path / "run", tmp_path / "outside.npz"
        folder.mkdir()
        outside.write_bytes(b"PK\x03\x04 a partial zip")
        expected = []
        for name, kind, removed in STALE_FILES:
            path = folder / name.format(**pids)
            if kind == "partial zip":
                path.write_bytes(b"PK\x03\x04 a partial zip")
            elif kind == "empty":
                path.write_bytes(b"")
            elif kind == "text":
                path.write_text("my notes")
            elif kind == "folder":
                path.mkdir()
            else:
                path.symlink_to(outside)
            if removed:
                expected.append(str(path))
        assert sorted(checkpoint.remove_stale_temporaries(folder)) == sorted(expected)
    finally:
        live.kill()
        live.wait()
    left = sorted(p.name for p in folder.iterdir())
    assert left == sorted(n.format(**pids) for n, _, removed in STALE_FILES if not removed)
    assert outside.read_bytes() == b"PK\x03\x04 a partial zip"
    assert checkpoint.remove_stale_temporaries(tmp_path / "missing") == []


# --- require: checking one metadata field ------------------------------------------------------
META = {"epoch": 3, "lr": 0.1, "name": "a", "flag": True, "scheduler": {"kind": "cosine", "T_max": 4}, "list": [1]}

REQUIRE_REFUSALS = [  # (key, kind, keyword arguments, message)
    ("epoch", str, {}, r"^checkpoint c\.npz: field 'epoch' must be a string, got 3$"),
    ("name", int, dict(check=lambda v: v >= 0, what="an int >= 0"), r"field 'name' must be an int >= 0, got 'a'$"),
    ("flag", int, {}, r"field 'flag' must be an int, got True$"),
    ("flag", float, {}, r"field 'flag' must be a finite number, got True$"),
    ("epoch", int, dict(check=lambda v: v > 3, what="an int > 3"), r"field 'epoch' must be an int > 3, got 3$"),
    ("lr", (str, type(None)), {}, r"field 'lr' must be a string or null, got 0\.1$"),
    ("missing", int, {}, r"^checkpoint c\.npz: field 'missing' is missing \(it must be an int\)$"),
    ("scheduler.T_max", str, {}, r"field 'scheduler\.T_max' must be a string, got 4$"),
    ("scheduler.mode", str, {}, r"field 'scheduler\.mode' is missing"),
    ("scheduler.kind.x", int, {}, r"field 'scheduler\.kind' must be an object, got 'cosine'$"),
    ("nope.x", int, dict(default=0), r"field 'nope' is missing"),
    ("list", dict, {}, r"field 'list' must be an object, got \[1\]$"),
]


@pytest.mark.parametrize("key, kind, kwargs, message", [pytest.param(*row, id=f"{row[0]}-{i}")
                                                         for i, row in enumerate(REQUIRE_REFUSALS)])
def test_require_names_the_file_the_field_the_rule_and_the_value(key, kind, kwargs, message):
    with pytest.raises(CheckpointError, match=message):
        checkpoint.require(META, key, kind, "c.npz", **kwargs)


def test_require_returns_the_value_or_the_default():
    require = checkpoint.require
    assert require(META, "epoch", int, "c.npz", check=lambda v: v >= 0) == 3
    assert require(META, "scheduler.T_max", (int, float), "c.npz") == 4
    assert require(META, "lr", float, "c.npz") == 0.1 and require(META, "epoch", float, "c.npz") == 3
    assert require(META, "history", list, "c.npz", default=[]) == []
    assert require(META, "scheduler", dict, "c.npz")["kind"] == "cosine"
    with pytest.raises(CheckpointError, match=r"field 'lr' must be a finite number, got nan"):
        require({"lr": float("nan")}, "lr", float, "c.npz")


def test_evaluation_reads_no_optimizer_buffer(tmp_path, monkeypatch):
    # with_optimizer=False: a model loaded to be evaluated reads and checks only model/ members, so
    # a broken momentum buffer does not refuse a good model, and costs no I/O.
    model, opt = _stepped_model()
    opt.buffers[0][...] = np.nan
    path = save_checkpoint(tmp_path / "c.npz", model, opt, {"epoch": 1})
    with pytest.raises(CheckpointError, match="optim/buffer/0"):
        load_checkpoint(path)
    read = []
    real = checkpoint._Archive.tensor
    monkeypatch.setattr(checkpoint._Archive, "tensor", lambda self, name, h: read.append(name) or real(self, name, h))
    ckpt = load_checkpoint(path, with_optimizer=False)
    assert ckpt.optimizer_state is None and read and all(n.startswith("model/") for n in read)


def test_a_fifo_is_refused_not_waited_on(tmp_path):
    fifo = tmp_path / "c.npz"
    os.mkfifo(fifo)
    with pytest.raises(CheckpointError, match="is not a regular file"):
        load_checkpoint(fifo)
    with pytest.raises(CheckpointError, match="is not a regular file"):
        read_meta(fifo)


@pytest.mark.parametrize("call, error, message", [
    (lambda p: load_checkpoint(str(p).encode()), TypeError, r"a checkpoint path must be a str or a pathlib.Path, got bytes"),
    (lambda p: load_checkpoint(None), TypeError, r"a checkpoint path must be .* got NoneType None"),
    (lambda p: load_checkpoint(p, model_shapes=[(4, 3, 3, 3)]), TypeError, r"model_shapes must be a dict"),
    (lambda p: load_checkpoint(p, param_shapes=4), TypeError, r"param_shapes must be a list of shapes, got int"),
    (lambda p: read_meta(5), TypeError, r"a checkpoint path must be .* got int 5"),
    (lambda p: checkpoint.require({}, 5, int, "c.npz"), TypeError, r"require: key must be a field name"),
], ids=["bytes path", "None path", "model_shapes list", "param_shapes int", "read_meta int", "require key int"])
def test_bad_arguments_to_the_readers(tmp_path, call, error, message):
    model, opt = _stepped_model()
    path = save_checkpoint(tmp_path / "c.npz", model, opt, {"epoch": 1})
    with pytest.raises(error, match=message):
        call(path)


def test_remove_stale_temporaries_of_a_link_loop_is_nothing(tmp_path):
    os.symlink(tmp_path / "loop", tmp_path / "loop")
    assert checkpoint.remove_stale_temporaries(tmp_path / "loop") == []


# --- models with buffers: floats, an int64 counter, a bool mask ------------------------------------------------


class _Norm(nn.Module):
    """Batch norm's state (two float buffers and an int64 counter), a bool mask and a non-persistent cache."""

    def __init__(self, c=4):
        super().__init__()
        self.weight = nn.Parameter(np.ones(c, dtype=np.float32))
        self.register_buffer("running_mean", np.zeros(c, dtype=np.float32))
        self.register_buffer("running_var", np.ones(c, dtype=np.float32))
        self.register_buffer("num_batches_tracked", np.array(0, dtype=np.int64))
        self.register_buffer("mask", np.array([True, False, True, True]))
        self.register_buffer("cache", np.zeros(3), persistent=False)


def _buffered_model(seed=0):
    tinynet.manual_seed(seed)
    model = nn.Sequential(nn.Linear(3, 4), _Norm())
    norm = model[1]
    norm.running_mean.data = np.arange(4, dtype=np.float32) + seed
    norm.num_batches_tracked.data = np.array(1234 + seed, dtype=np.int64)
    return model


def test_a_model_with_buffers_round_trips_integer_ones_included(tmp_path):
    model = _buffered_model()
    path = save_checkpoint(tmp_path / "c.npz", model, meta={"epoch": 1, "model_integer": ["forged"]})
    ckpt = load_checkpoint(path, model_shapes={k: v.shape for k, v in model.state_dict().items()})
    assert list(ckpt.model_state) == ["0.weight", "0.bias", "1.weight", "1.running_mean", "1.running_var",
                                      "1.num_batches_tracked", "1.mask"]
    assert ckpt.meta["model_integer"] == ["1.num_batches_tracked", "1.mask"]  # the file's own record
    assert ckpt.model_state["1.num_batches_tracked"].dtype == np.int64
    assert ckpt.model_state["1.num_batches_tracked"].shape == ()
    assert ckpt.model_state["1.mask"].dtype == np.bool_
    fresh = _buffered_model(seed=5)
    fresh.load_state_dict(ckpt.model_state)
    for (n, a), (_, b) in zip(model.state_dict().items(), fresh.state_dict().items()):
        np.testing.assert_array_equal(a, b, err_msg=n)
        assert a.dtype == b.dtype, n
    assert fresh[1].num_batches_tracked.item() == 1234


def test_a_model_without_integer_buffers_writes_no_model_integer_field(tmp_path):
    path = save_checkpoint(tmp_path / "c.npz", _model(), meta={"epoch": 1})
    assert "model_integer" not in read_meta(path)


def _good_buffered_members(folder):
    path = save_checkpoint(folder / "good.npz", _buffered_model(), meta={"epoch": 1})
    with zipfile.ZipFile(path) as z:
        return {name[: -len(".npy")]: z.read(name) for name in z.namelist()}


HOSTILE_BUFFER_FILES = [
    ("a listed counter of floats", _as_dtype("model/1.num_batches_tracked", lambda a: a.astype(np.float64)),
     r"tensor 'model/1\.num_batches_tracked' has dtype float64; field 'model_integer' lists it, so it must hold "
     r"ints or bools"),
    ("a listed counter of objects", _as_dtype("model/1.num_batches_tracked", lambda a: np.array(5, dtype=object)),
     r"tensor 'model/1\.num_batches_tracked' has dtype object; field 'model_integer' lists it"),
    ("a listed counter of strings", _as_dtype("model/1.num_batches_tracked", lambda a: np.array("5")),
     r"tensor 'model/1\.num_batches_tracked' has dtype <U1; field 'model_integer'"),
    ("a listed counter of records", _as_dtype("model/1.num_batches_tracked", lambda a: np.zeros((), [("x", "<i8")])),
     r"tensor 'model/1\.num_batches_tracked' has dtype .*field 'model_integer' lists it"),
    ("an unlisted int buffer", _set("model_integer", ["1.mask"]),
     r"tensor 'model/1\.num_batches_tracked' has dtype int64; a checkpoint's tensors are floating point"),
    ("a listed float weight", _set("model_integer", ["1.mask", "1.num_batches_tracked", "0.bias"]),
     r"tensor 'model/0\.bias' has dtype float32; field 'model_integer' lists it"),
    ("no model_integer field", _drop("model_integer"), r"tensor 'model/1\.num_batches_tracked' has dtype int64"),
    ("model_integer a string", _set("model_integer", "1.mask"),
     r"field 'model_integer' must be a list of distinct model entry names, got '1\.mask'"),
    ("model_integer of ints", _set("model_integer", [1, 2]), r"field 'model_integer' must be a list of distinct"),
    ("model_integer twice a name", _set("model_integer", ["1.mask", "1.mask", "1.num_batches_tracked"]),
     r"field 'model_integer' must be a list of distinct model entry names"),
    ("model_integer lists a stranger", _set("model_integer", ["1.mask", "1.num_batches_tracked", "2.steps"]),
     r"field 'model_integer' lists 2\.steps, not a model/ member of the file"),
    ("a NaN running mean", _with_values("model/1.running_mean", np.float32, [np.nan]),
     r"tensor 'model/1\.running_mean' has 1 non-finite values of 4 \(1 NaN, 0 inf\)"),
]


@pytest.mark.parametrize("edit, message", _cases(HOSTILE_BUFFER_FILES))
def test_a_forged_buffer_is_refused_naming_the_file_and_the_member_or_field(tmp_path, edit, message):
    _refused(tmp_path / "bad.npz", edit(_good_buffered_members(tmp_path)), message)


def test_an_integer_buffer_is_read_with_the_checks_of_any_member(tmp_path, monkeypatch):
    # A member listed in model_integer still goes through the header and size checks: a forged size is refused.
    members = _good_buffered_members(tmp_path)
    header = _npy_header("<i8", (1000,))  # declares 8000 bytes of data, holds none
    _refused(tmp_path / "bad.npz", {**members, "model/1.num_batches_tracked": header},
             r"member 'model/1\.num_batches_tracked' declares shape \(1000,\)")


# --- every optimizer, several param groups: the general layout (issue 14) -----------------------------------
from tinynet.checkpoint import optimizer_state_dict, optimizer_type  # noqa: E402
from tinynet.optim import Adagrad, Adam, AdamW, RMSprop  # noqa: E402

GENERAL = {
    "adam": lambda ps: Adam(ps, lr=0.01, amsgrad=True),
    "adamw": lambda ps: AdamW(ps, lr=0.01, weight_decay=0.1),
    "rmsprop": lambda ps: RMSprop(ps, lr=0.01, momentum=0.9, centered=True, eps=0.0316, alpha=0.9),
    "adagrad": lambda ps: Adagrad(ps, lr=0.1),
    "sgd_two_groups": lambda ps: SGD([{"params": ps[:2], "weight_decay": 0.1}, {"params": ps[2:], "weight_decay": 0.0}],
                                     lr=0.1, momentum=0.9),
    "sgd_nesterov": lambda ps: SGD(ps, lr=0.1, momentum=0.9, nesterov=True, maximize=True),
}


def _steps(model, opt, n, seed):
    rng = np.random.default_rng(seed)
    for _ in range(n):
        for p in model.parameters():
            p.grad = tinynet.Tensor(rng.normal(size=p.shape).astype(p.dtype))
        opt.step()


@pytest.mark.parametrize("name", sorted(GENERAL))
def test_every_optimizer_round_trips_and_continues_identically(tmp_path, name):
    """Two steps, a checkpoint, two more from the checkpoint == four steps in one go (no pickle anywhere)."""
    model, opt = _model(), GENERAL[name](list(_model().parameters()))
    opt = GENERAL[name](list(model.parameters()))
    _steps(model, opt, 2, seed=1)
    path = save_checkpoint(tmp_path / "c.npz", model, opt, {"epoch": 2})
    meta = read_meta(path)
    assert meta["optimizer"]["type"] == type(opt).__name__ and meta["optimizer"]["n_params"] == 4
    ckpt = load_checkpoint(path, model_shapes=SHAPES, param_shapes=list(SHAPES.values()))
    assert optimizer_type(ckpt.optimizer_state) == type(opt).__name__
    fresh = _model(seed=1)
    fresh.load_state_dict(ckpt.model_state)
    again = GENERAL[name](list(fresh.parameters()))
    again.load_state_dict(optimizer_state_dict(ckpt.optimizer_state))
    _steps(model, opt, 2, seed=2)
    _steps(fresh, again, 2, seed=2)
    for (n, a), (_, b) in zip(model.state_dict().items(), fresh.state_dict().items()):
        np.testing.assert_array_equal(a, b, err_msg=n)
    with zipfile.ZipFile(path) as z:
        assert not any(n.startswith("optim/buffer/") for n in z.namelist())


def test_plain_sgd_keeps_the_old_layout_and_an_old_checkpoint_still_loads(tmp_path):
    model, opt = _stepped_model()
    path = save_checkpoint(tmp_path / "c.npz", model, opt, {"epoch": 1})
    record = read_meta(path)["optimizer"]
    assert "type" not in record and record["momentum"] == 0.9
    state = optimizer_state_dict(load_checkpoint(path).optimizer_state)
    assert optimizer_type(load_checkpoint(path).optimizer_state) == "SGD"
    again = SGD(_model().parameters(), lr=0.5)
    again.load_state_dict(state)
    np.testing.assert_array_equal(again.buffers[0], opt.buffers[0])


def _general_members(folder):
    model = _model()
    opt = Adam(model.parameters(), lr=0.01)
    _steps(model, opt, 1, seed=0)
    path = save_checkpoint(folder / "adam.npz", model, opt, {"epoch": 1})
    with zipfile.ZipFile(path) as z:
        return {name[: -len(".npy")]: z.read(name) for name in z.namelist()}


HOSTILE_GENERAL = [
    ("unknown type", _set("optimizer.type", "LBFGS"), r"field 'optimizer\.type' must be one of SGD, Adam, AdamW"),
    ("type a number", _set("optimizer.type", 3), r"field 'optimizer\.type' must be one of"),
    ("groups missing", _edit_meta(lambda m: m["optimizer"].pop("param_groups")),
     r"field 'optimizer\.param_groups' is missing"),
    ("groups empty", _set("optimizer.param_groups", []), r"field 'optimizer\.param_groups' must be a non-empty list"),
    ("group not an object", _set("optimizer.param_groups", [3]), r"field 'optimizer\.param_groups\[0\]' must be an object"),
    ("params not indices", _edit_meta(lambda m: m["optimizer"]["param_groups"][0].update(params=["a"])),
     r"field 'optimizer\.param_groups\[0\]\.params' must be a list of parameter indices"),
    ("an index twice", _edit_meta(lambda m: m["optimizer"]["param_groups"][0].update(params=[0, 0, 1, 2])),
     r"must share out the indices 0\.\.3 once each"),
    ("an index missing", _edit_meta(lambda m: m["optimizer"]["param_groups"][0].update(params=[0, 1, 2])),
     r"must share out the indices 0\.\.3 once each"),
    ("lr a string", _edit_meta(lambda m: m["optimizer"]["param_groups"][0].update(lr="0.1")),
     r"field 'optimizer\.param_groups\[0\]\.lr' must be a bool, a finite number or a list of finite numbers, got '0\.1'"),
    ("betas nan", _edit_meta(lambda m: m["optimizer"]["param_groups"][0].update(betas=[float("nan"), 0.9])),
     r"field 'optimizer\.param_groups\[0\]\.betas' must be a bool"),
    ("steps too short", _set("optimizer.steps", [1, 1]), r"field 'optimizer\.steps' must be a list of 4 ints >= 0"),
    ("a step negative", _set("optimizer.steps", [1, 1, 1, -1]), r"field 'optimizer\.steps' must be a list of 4"),
    ("n_params below the arrays", _edit_meta(lambda m: m["optimizer"].update(
        n_params=2, param_groups=[dict(m["optimizer"]["param_groups"][0], params=[0, 1])], steps=[1, 1])),
     r"member 'optim/exp_avg/2' is not the buffer of one of the 2 parameters"),
    ("an array of another optimizer", lambda m: {**m, "optim/momentum_buffer/1": m["optim/exp_avg/1"]},
     r"member 'optim/momentum_buffer/1' is not an array of a Adam state \(exp_avg, exp_avg_sq, max_exp_avg_sq\)"),
    ("an array index of another spelling", lambda m: {**m, "optim/exp_avg/01": m["optim/exp_avg/1"]},
     r"member 'optim/exp_avg/01' is not the buffer of one of the 4 parameters"),
    ("an inf average", _with_values("optim/exp_avg_sq/2", np.float32, [np.inf]),
     r"tensor 'optim/exp_avg_sq/2' has 1 non-finite values"),
]


@pytest.mark.parametrize("edit, message", _cases(HOSTILE_GENERAL))
def test_a_forged_general_optimizer_record_is_refused_naming_the_field(tmp_path, edit, message):
    _refused(tmp_path / "bad.npz", edit(_general_members(tmp_path)), message)
