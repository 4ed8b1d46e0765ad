"""Array libraries and devices: which library holds an array, moving, and the no-GPU errors."""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import tinynet
from tinynet import backend, nn
from tests.conftest import CUDA_SKIP_REASON
from tests.helpers import host

REPO_ROOT = Path(__file__).resolve().parents[1]

# tinynet's own answer, which the tests below branch on (conftest's answer is for `device`).
HAS_CUDA = tinynet.cuda.is_available()
needs_gpu = pytest.mark.skipif(not HAS_CUDA, reason=f"needs a CUDA GPU: {CUDA_SKIP_REASON or 'tinynet sees none'}")
needs_no_gpu = pytest.mark.skipif(
    HAS_CUDA, reason="checks the error raised on a machine without a GPU; this machine has one"
)


def test_get_array_module_on_numpy():
    # NumPy arrays (and non-arrays mixed in) map to numpy.
    assert backend.get_array_module(np.zeros(3)) is np
    assert backend.get_array_module(None, 2.0, np.ones((2, 2))) is np
    assert backend.get_array_module() is np


def test_device_of_numpy_array():
    # Host arrays and NumPy scalars live on "cpu".
    assert backend.device_of(np.zeros(3)) == "cpu"
    assert backend.device_of(np.float32(1.0)) == "cpu"
    assert tinynet.Tensor(np.zeros(2)).device == "cpu"


def test_cuda_is_available_is_a_bool_and_never_raises():
    # Asked twice (the second time from the cache): a plain bool both times, consistent.
    first = tinynet.cuda.is_available()
    second = tinynet.cuda.is_available()
    assert type(first) is bool
    assert first == second


def test_normalize_device_names():
    # The spellings of the two devices, and refusal of a second GPU.
    assert backend.normalize_device("cpu") == "cpu"
    assert backend.normalize_device("CPU") == "cpu"
    assert backend.normalize_device("cuda") == "cuda"
    assert backend.normalize_device("cuda:0") == "cuda"
    with pytest.raises(tinynet.DeviceError, match="cuda:1"):
        backend.normalize_device("cuda:1")


@pytest.mark.parametrize("bad", ["tpu", "metal", "cuda0"])
def test_unknown_device_string_raises(bad):
    # Unknown device names are refused with a message quoting them, wherever a device is taken.
    with pytest.raises(tinynet.DeviceError, match=bad):
        backend.normalize_device(bad)
    with pytest.raises(tinynet.DeviceError, match=bad):
        backend.to_device(np.zeros(2), bad)
    with pytest.raises(tinynet.DeviceError, match=bad):
        tinynet.Tensor(np.zeros(2), device=bad)


@pytest.mark.parametrize("bad", ["tpu", "cuda:1", "CUDA:1"])
def test_to_unknown_device_raises_device_error(bad):
    # Tensor.to and Module.to read their argument the same way: neither a device nor a dtype
    # is a DeviceError quoting it (not NumPy's "data type not understood").
    with pytest.raises(tinynet.DeviceError, match=bad):
        tinynet.Tensor(np.zeros(2)).to(bad)
    with pytest.raises(tinynet.DeviceError, match=bad):
        tinynet.nn.Linear(2, 2).to(bad)


def test_device_names_are_case_insensitive():
    assert backend.device_or_dtype("CPU") == ("device", "cpu")
    assert backend.device_or_dtype("CUDA:0") == ("device", "cuda")
    assert backend.device_or_dtype("float64") == ("dtype", np.dtype("float64"))


def test_to_cpu_is_a_no_op_on_cpu():
    # Moving to the device a tensor is already on returns it unchanged.
    t = tinynet.Tensor(np.arange(3.0))
    assert t.to("cpu") is t
    assert t.cpu() is t
    a = np.zeros(3)
    assert backend.to_device(a, "cpu") is a


@needs_no_gpu
def test_tensor_to_cuda_without_gpu_raises_device_error():
    # No GPU: a clear DeviceError that says what to do (install CuPy / use 'cpu'), tensor untouched.
    t = tinynet.Tensor(np.arange(3.0), requires_grad=True)
    with pytest.raises(tinynet.DeviceError) as e:
        t.to("cuda")
    msg = str(e.value)
    assert "cuda" in msg
    assert "'cpu'" in msg  # the way out: use device 'cpu' (or install CuPy / use a GPU machine)
    assert t.device == "cpu"
    with pytest.raises(tinynet.DeviceError):
        t.cuda()
    with pytest.raises(tinynet.DeviceError):
        tinynet.Tensor(np.zeros(2), device="cuda")


@needs_no_gpu
def test_module_to_cuda_without_gpu_raises_device_error():
    # Same for a module, and no parameter is left half-moved.
    model = nn.Sequential(nn.Linear(3, 2), nn.ReLU(), nn.Linear(2, 1))
    with pytest.raises(tinynet.DeviceError) as e:
        model.to("cuda")
    assert "'cpu'" in str(e.value)
    assert all(p.device == "cpu" for p in model.parameters())
    with pytest.raises(tinynet.DeviceError):
        model.cuda()


@needs_gpu
def test_tensor_round_trip_to_cuda_and_back(rng):
    # Values survive cpu -> cuda -> cpu exactly; the gradient flows back to the host tensor.
    a = rng.standard_normal((3, 4))
    t = tinynet.Tensor(a, requires_grad=True)
    g = t.to("cuda")
    assert g.device == "cuda"
    back = g.to("cpu")
    np.testing.assert_array_equal(back.numpy(), a)
    (g * 3.0).sum().backward()
    assert t.grad.device == "cpu"
    np.testing.assert_allclose(host(t.grad), np.full((3, 4), 3.0))


@needs_gpu
def test_module_round_trip_to_cuda_and_back(rng):
    # A module's parameters move (same objects) and come back with the same values.
    model = nn.Linear(4, 3, dtype="float64")
    before = {k: v.copy() for k, v in model.state_dict().items()}
    params = list(model.parameters())
    model.to("cuda")
    assert all(p.device == "cuda" for p in model.parameters())
    assert [id(p) for p in model.parameters()] == [id(p) for p in params]
    x = tinynet.Tensor(rng.standard_normal((2, 4)), device="cuda")
    y_gpu = host(model(x))
    model.to("cpu")
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v, before[k])
    y_cpu = host(model(x.to("cpu")))
    np.testing.assert_allclose(y_gpu, y_cpu, rtol=1e-12)


@needs_gpu
def test_mixing_devices_in_one_op_raises_naming_the_op(rng):
    # A CPU tensor times a GPU tensor: DeviceError naming the op, not a CuPy/NumPy TypeError.
    a = tinynet.Tensor(rng.standard_normal(3))
    b = tinynet.Tensor(rng.standard_normal(3), device="cuda")
    with pytest.raises(tinynet.DeviceError, match="Mul"):
        a * b
    model = nn.Linear(3, 2)
    with pytest.raises(tinynet.DeviceError, match="Linear"):
        model(tinynet.Tensor(rng.standard_normal((1, 3)).astype("float32"), device="cuda"))


def test_check_same_device_accepts_one_device():
    # Arrays all on the CPU (None ignored) pass the mixed-device check.
    backend.check_same_device([np.zeros(2), None, np.ones(3)], "Add")


def test_import_tinynet_does_not_import_cupy():
    # CuPy stays optional: a plain import never loads it, even where it is installed.
    out = subprocess.run(
        [sys.executable, "-c", "import tinynet, sys; print('cupy' in sys.modules)"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


@needs_gpu
def test_uploader_delivers_each_batch_intact_while_its_buffers_take_turns(rng):
    # Batches of changing size (the buffers grow at the first and at a larger one), two sent ahead of the
    # first receive: each arrives whole, and what fn returns (new arrays) is untouched by later uploads.
    import cupy

    up = backend.Uploader()
    batches = [(rng.integers(0, 256, (n, 3, 5, 7), dtype=np.uint8), np.arange(n, dtype=np.int64),
                rng.standard_normal((n, 2, 3)).astype(np.float32)) for n in (4, 4, 9, 2, 9, 1)]
    kept, tickets = [], [up.send(list(batches[0]))]
    for k in range(len(batches)):
        if k + 1 < len(batches):
            tickets.append(up.send(list(batches[k + 1])))  # the next is sent before this one is received
        kept.append(up.receive(tickets[k], lambda x, y, a: (x.astype(cupy.float32) * 2, y.copy(), a + 1)))
    cupy.cuda.get_current_stream().synchronize()
    for (x, y, a), (gx, gy, ga) in zip(batches, kept):
        np.testing.assert_array_equal(gx.get(), x.astype(np.float32) * 2)
        np.testing.assert_array_equal(gy.get(), y)
        np.testing.assert_array_equal(ga.get(), a + 1)


@pytest.mark.skipif(HAS_CUDA, reason="checks the refusal where CuPy or a GPU is missing")
def test_uploader_without_a_gpu_is_a_device_error():
    with pytest.raises(backend.DeviceError):
        backend.Uploader()


@pytest.mark.parametrize("buffers", [0, -1, 1.5, True, "2", None])
def test_uploader_refuses_a_bad_buffer_count_before_looking_for_a_gpu(buffers):
    with pytest.raises(ValueError, match=r"Uploader: buffers must be an int >= 1, got "):
        backend.Uploader(buffers)


def test_uploader_tickets_are_good_for_one_receive_and_a_full_turn_is_refused(monkeypatch):
    # With a stand-in for CuPy (tests/fake_cupy.py): the bookkeeping, on any machine.
    from tests import fake_cupy

    monkeypatch.setattr(backend, "cupy_or_raise", fake_cupy.module)
    up = backend.Uploader()
    t0 = up.send([np.arange(3)])
    t1 = up.send([np.arange(3) + 10])
    with pytest.raises(RuntimeError, match="Uploader: 2 uploads are already waiting to be received"):
        up.send([np.arange(3)])
    assert up.receive(t0, lambda a: a.copy()).tolist() == [0, 1, 2]
    with pytest.raises(RuntimeError, match="Uploader.receive: this ticket was received already"):
        up.receive(t0, lambda a: a.copy())
    t2 = up.send([np.arange(5.0)])  # buffer 0 again, grown
    with pytest.raises(ZeroDivisionError):
        up.receive(t1, lambda a: 1 // 0)  # fn raised: the buffer is still marked read, so it can be refilled
    assert up.receive(t2, lambda a: a.copy()).tolist() == [0.0, 1.0, 2.0, 3.0, 4.0]
    up.send([np.arange(2)])
    up.close()


def test_dropout_under_per_sample_random_depends_on_the_sample_not_its_batch():
    # Two half batches get the masks of the whole batch: what data parallelism needs of dropout.
    from tinynet import functional as F

    x = tinynet.ones(6, 40)
    with backend.per_sample_random(np.arange(10, 16), seed=3, epoch=1):
        whole = F.dropout(x, 0.5, training=True).numpy()
        again = F.dropout(x, 0.5, training=True).numpy()  # the block's second draw: other masks
    with backend.per_sample_random(np.arange(10, 13), seed=3, epoch=1):
        first = F.dropout(x[:3], 0.5, training=True).numpy()
    with backend.per_sample_random(np.arange(13, 16), seed=3, epoch=1):
        second = F.dropout(x[3:], 0.5, training=True).numpy()
    np.testing.assert_array_equal(np.concatenate([first, second]), whole)
    assert not np.array_equal(whole, again) and set(np.unique(whole)) == {0.0, 2.0}
    with backend.per_sample_random(np.arange(4), seed=3, epoch=1):
        other = F.dropout(x, 0.5, training=True)  # 6 rows, not 4: the usual generator
    assert other.shape == (6, 40)
