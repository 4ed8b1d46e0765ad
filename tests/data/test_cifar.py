"""CIFAR-10 and CIFAR-100, binary and python versions, built here to the published byte layouts: pixels and
labels round-trip, classes come from the meta files, and hostile or malformed files are refused naming the
file, a pickle's payload without running it.

``write_cifar(folder, name, version, n)`` (also used by test_layouts) writes a tiny set and returns the
pixels (N, 3, 32, 32) and labels it wrote for each split.
"""
import os
import pickle
import struct

import numpy as np
import pytest

from tinynet.data import DataLoader, transforms
from tinynet.data.cifar import CIFAR10, CIFAR100, LAYOUTS, UnsafePickleError, cifar_layout, load_batch
from tinynet.data.files import DatasetFileError

COUNTS = {"CIFAR-10": (10,), "CIFAR-100": (20, 100)}  # classes of each label, coarse before fine


def _names(name):
    if name == "CIFAR-10":
        return {"": [f"class{k}" for k in range(10)]}
    return {"fine": [f"fine{k}" for k in range(100)], "coarse": [f"coarse{k}" for k in range(20)]}


def write_cifar(root, name="CIFAR-10", version="binary", n=3, seed=0):
    """Write ``name``'s ``version`` layout under root/<folder as the archive unpacks>/, n images per file.

    Returns (folder, {"train": (pixels, labels), "test": (pixels, labels)}) with pixels (N, 3, 32, 32)
    uint8 and labels (N, k) int: one column (CIFAR-10) or coarse, fine (CIFAR-100).
    """
    rng = np.random.default_rng(seed)
    folder_name, train_files, test_files, name_files = LAYOUTS[name, version]
    folder = os.path.join(root, folder_name)
    os.makedirs(folder, exist_ok=True)
    written = {}
    for split, files in (("train", train_files), ("test", test_files)):
        pixels, labels = [], []
        for f in files:
            p = rng.integers(0, 256, (n, 3, 32, 32), dtype=np.uint8)
            y = np.stack([rng.integers(0, c, n) for c in COUNTS[name]], axis=1)
            path = os.path.join(folder, f)
            if version == "binary":
                with open(path, "wb") as out:
                    for k in range(n):
                        out.write(bytes(int(v) for v in y[k]) + p[k].tobytes())
            else:
                batch = {b"batch_label": b"training batch", b"data": p.reshape(n, 3072), b"filenames": [b"x.png"] * n}
                if name == "CIFAR-10":
                    batch[b"labels"] = [int(v) for v in y[:, 0]]
                else:
                    batch[b"coarse_labels"], batch[b"fine_labels"] = ([int(v) for v in y[:, 0]],
                                                                      [int(v) for v in y[:, 1]])
                with open(path, "wb") as out:
                    pickle.dump(batch, out, protocol=2)
            pixels.append(p)
            labels.append(y)
        written[split] = (np.concatenate(pixels), np.concatenate(labels))
    names = _names(name)
    if version == "binary":
        for f in name_files:
            key = "" if name == "CIFAR-10" else f.split("_")[0]
            with open(os.path.join(folder, f), "w") as out:
                out.write("\n".join(names[key]) + "\n\n")  # the real files end in blank lines
    else:
        meta = ({b"label_names": [s.encode() for s in names[""]], b"num_cases_per_batch": n, b"num_vis": 3072}
                if name == "CIFAR-10" else {b"fine_label_names": [s.encode() for s in names["fine"]],
                                            b"coarse_label_names": [s.encode() for s in names["coarse"]]})
        with open(os.path.join(folder, name_files[0]), "wb") as out:
            pickle.dump(meta, out, protocol=2)
    return folder, written


SETS = [(n, v) for n in ("CIFAR-10", "CIFAR-100") for v in ("binary", "python")]
CLASSES = {"CIFAR-10": CIFAR10, "CIFAR-100": CIFAR100}


@pytest.mark.parametrize("name,version", SETS)
def test_pixels_labels_and_classes_round_trip(tmp_path, name, version):
    folder, written = write_cifar(tmp_path, name, version, n=3)
    assert cifar_layout(folder) == (name, version)
    for train in (True, False):
        for root in (folder, tmp_path):  # the unpacked folder, or the folder holding it
            ds = CLASSES[name](root, train=train)
            pixels, labels = written["train" if train else "test"]
            assert ds.root == folder and ds.version == version and len(ds) == len(pixels)
            assert ds.data.shape == (len(pixels), 32, 32, 3) and ds.data.dtype == np.uint8
            for k in range(len(ds)):
                img, target = ds[k]
                assert img.mode == "RGB" and img.size == (32, 32)
                # pixel (c, y, x) of record k is what was written there
                np.testing.assert_array_equal(np.asarray(img).transpose(2, 0, 1), pixels[k])
                assert target == labels[k, -1] and type(target) is int
            if name == "CIFAR-10":
                assert ds.classes == [f"class{k}" for k in range(10)]
            else:
                assert ds.classes == [f"fine{k}" for k in range(100)]
                assert ds.coarse_classes == [f"coarse{k}" for k in range(20)]
                assert ds.coarse_targets == labels[:, 0].tolist()
    assert ds.class_to_idx[ds.classes[3]] == 3


def test_transforms_resize_up_to_the_model_input(tmp_path):
    write_cifar(tmp_path, "CIFAR-10", "binary")
    ds = CIFAR10(tmp_path, transform=transforms.train_transform(64))
    x, y = ds.load(0, np.random.default_rng(0))
    assert x.shape == (3, 64, 64) and x.dtype == np.float32
    x2, _ = ds.load(0, np.random.default_rng(0))
    np.testing.assert_array_equal(x, x2)


def test_a_worker_process_reads_the_files_again(tmp_path):
    # Pickled for a 'spawn' worker, the set carries its paths, not its pixels; the batches are the same.
    write_cifar(tmp_path, "CIFAR-10", "python", n=2)
    ds = CIFAR10(tmp_path, transform=transforms.eval_transform(32))
    state = pickle.loads(pickle.dumps(ds))
    assert state._data is None and len(state) == len(ds)
    inline = [(x.numpy(), y.numpy()) for x, y in DataLoader(ds, batch_size=4, workers=0)]
    spawned = [(x.numpy(), y.numpy()) for x, y in DataLoader(ds, batch_size=4, workers=1, timeout=60)]
    for (a, b), (c, d) in zip(inline, spawned, strict=True):
        np.testing.assert_array_equal(a, c)
        np.testing.assert_array_equal(b, d)


# --- Python 2's pickles, as the real files are ---------------------------------------------------------------

def _py2_batch(pixels, labels):
    """A batch as Python 2's cPickle wrote it (protocol 2, str as SHORT_BINSTRING/BINSTRING, numpy.core names)."""
    def s(text):
        text = text if isinstance(text, bytes) else text.encode()
        return (b"U" + bytes([len(text)]) + text) if len(text) < 256 else b"T" + struct.pack("<I", len(text)) + text

    n = len(pixels)
    array = (b"cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\nK\x00\x85" + s("b") + b"\x87R"
             + b"(K\x01K" + bytes([n]) + b"M\x00\x0c\x86"                          # version 1, shape (n, 3072)
             + b"cnumpy\ndtype\n" + s("u1") + b"K\x00K\x01\x87R"
             + b"(K\x03" + s("|") + b"NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb"  # dtype state
             + b"\x89" + s(pixels.tobytes()) + b"tb")                              # not Fortran, the bytes
    items = s("data") + array + s("labels") + b"](" + b"".join(b"K" + bytes([v]) for v in labels) + b"e"
    return b"\x80\x02}(" + items + s("batch_label") + s("training batch 1 of 5") + b"u."


def test_a_python2_pickle_reads_as_the_real_files_do(tmp_path):
    rng = np.random.default_rng(1)
    pixels = rng.integers(0, 256, (4, 3072), dtype=np.uint8)
    path = tmp_path / "data_batch_1"
    path.write_bytes(_py2_batch(pixels, [3, 1, 4, 1]))
    batch = load_batch(str(path))
    assert set(batch) == {b"data", b"labels", b"batch_label"}
    np.testing.assert_array_equal(batch[b"data"], pixels)
    assert batch[b"labels"] == [3, 1, 4, 1] and batch[b"batch_label"] == b"training batch 1 of 5"


# --- hostile pickles: refused, nothing run -----------------------------------------------------------------

class _Payload:
    def __init__(self, func, *args):
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args


def _hostile(marker):
    import builtins

    command = f"touch {marker}"
    code = f"open({str(marker)!r}, 'w').close()"
    return {
        "os.system": pickle.dumps({b"data": _Payload(os.system, command)}, protocol=2),
        "builtins.eval": pickle.dumps({b"data": _Payload(builtins.eval, code)}, protocol=2),
        "builtins.exec at the top": pickle.dumps(_Payload(builtins.exec, code), protocol=2),
        "protocol 4 os.system": pickle.dumps([_Payload(os.system, command)], protocol=4),
        "by hand, GLOBAL os system": b"\x80\x02cos\nsystem\n(X" + struct.pack("<I", len(command))
                                     + command.encode() + b"tR.",
        "subprocess.Popen": b"\x80\x02csubprocess\nPopen\n((X\x05\x00\x00\x00touchX" + struct.pack(
            "<I", len(str(marker))) + str(marker).encode() + b"ltR.",
    }


@pytest.mark.parametrize("kind", list(_hostile("m")))
def test_a_pickle_that_would_run_code_is_refused_without_running(tmp_path, kind):
    marker = tmp_path / "ran"
    path = tmp_path / "cifar-10-batches-py" / "data_batch_1"
    path.parent.mkdir()
    path.write_bytes(_hostile(marker)[kind])
    with pytest.raises(UnsafePickleError, match="refused: the pickle asks for the global") as e:
        load_batch(str(path))
    assert e.value.path == str(path) and str(path) in str(e.value)
    assert not marker.exists()
    # through the dataset too: the other files are fine, the hostile one is named
    write_cifar(tmp_path, "CIFAR-10", "python")
    path.write_bytes(_hostile(marker)[kind])
    with pytest.raises(UnsafePickleError, match="data_batch_1: refused"):
        CIFAR10(tmp_path)
    assert not marker.exists()


def test_the_refusal_names_the_global(tmp_path):
    path = tmp_path / "test_batch"
    path.write_bytes(_hostile(tmp_path / "ran")["os.system"])
    with pytest.raises(UnsafePickleError, match=r"global (posix|os|nt)\.system"):
        load_batch(str(path))


def _array_pickle(dtype=b"u1", cls=b"cnumpy\nndarray\n", shape=b"K\x02\x85", raw=b"U\x02ab"):
    """A protocol-2 pickle of one array, its parts replaceable (to forge one)."""
    return (b"\x80\x02cnumpy._core.multiarray\n_reconstruct\n" + cls + b"K\x00\x85U\x01b\x87R(K\x01" + shape
            + b"cnumpy\ndtype\nU" + bytes([len(dtype)]) + dtype + b"K\x00K\x01\x87R(K\x03U\x01|NNNJ\xff\xff\xff\xff"
            + b"J\xff\xff\xff\xffK\x00tb\x89" + raw + b"tb.")


FORGED = {
    "an object dtype": (_array_pickle(dtype=b"O"), "not a plain number type"),
    "a structured dtype": (_array_pickle(dtype=b"V8"), "not a plain number type"),
    "_reconstruct of a dict": (_array_pickle(cls=b"}"), "not numpy.ndarray"),
    "bytes shorter than the shape": (_array_pickle(shape=b"K\x09\x85"), "needs 9 bytes, the pickle holds 2"),
    "a negative shape": (_array_pickle(shape=b"J\xff\xff\xff\xff\x85"), "not a tuple of sizes"),
    "data that is not bytes": (_array_pickle(raw=b"]"), "not bytes"),
    "a persistent id": (b"\x80\x02U\x01xQ.", "persistent object"),
    "truncated": (pickle.dumps({b"data": b"x" * 100}, protocol=2)[:40], "not a readable CIFAR pickle"),
    "not a pickle": (b"\x00\x01\x02 hello", "not a readable CIFAR pickle"),
    "empty": (b"", "not a readable CIFAR pickle"),
    "a list at the top": (pickle.dumps([1, 2], protocol=2), "holds a pickled list, not the dict"),
}


@pytest.mark.parametrize("kind", list(FORGED))
def test_forged_arrays_and_broken_pickles_are_refused_naming_the_file(tmp_path, kind):
    data, message = FORGED[kind]
    path = tmp_path / "data_batch_2"
    path.write_bytes(data)
    with pytest.raises(DatasetFileError, match=message) as e:
        load_batch(str(path))
    assert str(e.value).startswith(str(path))


def _batch():
    return {b"data": np.zeros((2, 3072), np.uint8), b"labels": [0, 1], b"batch_label": b"b", b"filenames": [b"a", b"b"]}


BAD_BATCHES = {
    "no data": ({b"data": None}, r"has no b'data' entry"),
    "no labels": ({b"labels": None}, r"has no b'labels' entry"),
    "wrong width": ({b"data": np.zeros((2, 3071), np.uint8)}, r"\(N, 3072\) uint8 array, got .*3071"),
    "float pixels": ({b"data": np.zeros((2, 3072), np.float32)}, r"uint8 array, got an array of float32"),
    "no rows": ({b"data": np.zeros((0, 3072), np.uint8), b"labels": []}, "holds no images"),
    "a label out of range": ({b"labels": [0, 10]}, r"b'labels'\[1\] is 10, outside 0..9"),
    "too few labels": ({b"labels": [0]}, r"has 1 labels for 2 images"),
    "a label that is a string": ({b"labels": [0, b"cat"]}, r"must be a list of ints"),
}


@pytest.mark.parametrize("kind", list(BAD_BATCHES))
def test_a_malformed_python_batch_is_refused_naming_it(tmp_path, kind):
    write_cifar(tmp_path, "CIFAR-10", "python", n=2)
    change, message = BAD_BATCHES[kind]
    path = tmp_path / "cifar-10-batches-py" / "data_batch_4"
    batch = {k: v for k, v in {**_batch(), **change}.items() if v is not None}
    path.write_bytes(pickle.dumps(batch, protocol=2))
    with pytest.raises(DatasetFileError, match=message) as e:
        CIFAR10(tmp_path)
    assert e.value.path == str(path)


def test_a_malformed_meta_file_is_refused_naming_it(tmp_path):
    folder, _ = write_cifar(tmp_path, "CIFAR-10", "python")
    meta = os.path.join(folder, "batches.meta")
    with open(meta, "wb") as f:
        pickle.dump({b"label_names": [b"a", b"b"]}, f, protocol=2)
    with pytest.raises(DatasetFileError, match="'label_names' names 2 classes, expected 10") as e:
        CIFAR10(folder)
    assert e.value.path == meta
    folder, _ = write_cifar(tmp_path, "CIFAR-100", "binary")
    with open(os.path.join(folder, "coarse_label_names.txt"), "w") as f:
        f.write("only\none\n")
    with pytest.raises(DatasetFileError, match=r"coarse_label_names.txt: names 2 classes \(one a line\), expected 20"):
        CIFAR100(folder)


# --- malformed binary files ---------------------------------------------------------------------------------

def test_binary_files_truncated_empty_or_out_of_range_are_refused_naming_them(tmp_path):
    folder, _ = write_cifar(tmp_path, "CIFAR-10", "binary", n=2)
    path = os.path.join(folder, "data_batch_3.bin")
    good = open(path, "rb").read()
    cases = [(good[:-1], r"holds 6145 bytes, not a whole number of 3073-byte records .*1 records and 3072 bytes over"),
             (b"", "it is empty"),
             (bytes([10]) + good[1:], r"label byte\[0\] is 10, outside 0..9")]
    for data, message in cases:
        with open(path, "wb") as f:
            f.write(data)
        with pytest.raises(DatasetFileError, match=message) as e:
            CIFAR10(folder)
        assert e.value.path == path
    folder, _ = write_cifar(tmp_path, "CIFAR-100", "binary", n=2)
    path = os.path.join(folder, "test.bin")
    data = bytearray(open(path, "rb").read())
    data[3074 + 1] = 100  # record 1's fine label
    open(path, "wb").write(bytes(data))
    with pytest.raises(DatasetFileError, match=r"test.bin: fine label byte\[1\] is 100, outside 0..99"):
        CIFAR100(folder, train=False)
    with pytest.raises(DatasetFileError, match=r"holds 6149 bytes, not a whole number of 3074-byte records"):
        open(path, "ab").write(b"x")
        CIFAR100(folder, train=False)


def test_a_missing_file_or_the_wrong_folder_is_named(tmp_path):
    folder, _ = write_cifar(tmp_path, "CIFAR-10", "binary")
    os.remove(os.path.join(folder, "data_batch_3.bin"))
    with pytest.raises(DatasetFileError, match=r"data_batch_3.bin: is missing \(CIFAR-10 \(binary version\) has"):
        CIFAR10(folder)
    CIFAR10(folder, train=False)  # the test split needs only its own file
    os.mkdir(os.path.join(folder, "data_batch_3.bin"))
    with pytest.raises(DatasetFileError, match=r"data_batch_3.bin: is a folder, not a file"):
        CIFAR10(folder)
    with pytest.raises(DatasetFileError, match=r"holds CIFAR-10 files, not CIFAR-100"):
        CIFAR100(folder)
    os.mkdir(os.path.join(folder, "empty"))
    with pytest.raises(DatasetFileError, match=r"holds no CIFAR-10 files: expected the folder cifar-10-batches-bin/ "
                                               r"or cifar-10-batches-py/"):
        CIFAR10(tmp_path / "cifar-10-batches-bin" / "empty")
    with pytest.raises(DatasetFileError, match="does not exist"):
        CIFAR10(tmp_path / "nowhere")


def test_a_build_on_an_allowed_global_changes_nothing_of_tinynets(tmp_path):
    # BUILD (setattr with the file's values) on the allowed _codecs.encode or an array class must not reach
    # tinynet's own function or class: each request gets a throwaway stand-in.
    from tinynet.data import cifar

    state = b"}X\x0c\x00\x00\x00__defaults__X\x01\x00\x00\x00xX\x06\x00\x00\x00latin1\x86s"
    for glob in (b"c_codecs\nencode\n", b"cnumpy.core.multiarray\n_reconstruct\n"):
        path = tmp_path / "data_batch_1"
        path.write_bytes(glob + b"N" + state + b"\x86b0}.")
        before = (cifar._encode.__defaults__, dict(vars(cifar._Array)))
        try:
            cifar.load_batch(str(path))
        except ValueError:
            pass  # refusing the file is fine too; changing tinynet is not
        assert (cifar._encode.__defaults__, dict(vars(cifar._Array))) == before
        assert cifar._encode("ab", "latin1") == b"ab"
