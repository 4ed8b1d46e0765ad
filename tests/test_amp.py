"""tinynet.amp: autocast's casts, float32 master weights, GradScaler's dynamic loss scaling (on the CPU:
float16 through NumPy, bfloat16 emulated)."""
import numpy as np
import pytest

import kernels
import tinynet
from tinynet import amp, functional as F, nn


def _net(seed=0):
    tinynet.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(4 * 4 * 4, 16), nn.ReLU(), nn.Linear(16, 5))


def _batch(seed=0):
    rng = np.random.default_rng(seed)
    return tinynet.tensor(rng.standard_normal((8, 3, 8, 8)).astype(np.float32)), tinynet.tensor(rng.integers(0, 5, 8))


def test_fp16_autocast_runs_the_products_in_half_and_the_loss_and_weights_in_float32():
    net, (x, y) = _net(), _batch()
    with amp.autocast("cpu", dtype="float16"):
        logits = net(x)
        loss = F.cross_entropy(logits, y)
    assert logits.dtype == np.float16 and loss.dtype == np.float32
    loss.backward()
    assert all(p.dtype == np.float32 and p.grad.dtype == np.float32 for p in net.parameters())
    ref_net = _net()
    ref = F.cross_entropy(ref_net(x), y)
    ref.backward()
    assert abs(loss.item() - ref.item()) < 5e-3 * abs(ref.item())  # float16's 11-bit mantissa
    for p, q in zip(net.parameters(), ref_net.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=0.05, atol=2e-3)


def test_bf16_autocast_rounds_the_products_to_bfloat16s_grid_in_float32_storage():
    lin = _net()[4]
    h = tinynet.randn(3, 64)
    with amp.autocast("cpu"):  # bfloat16: the CPU's default
        out = lin(h)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(kernels.round_to_bfloat16(out.numpy()), out.numpy())
    exact = lin(h).numpy()
    assert np.abs(out.numpy() - exact).max() < 0.02 * np.abs(exact).max()  # about 3 significant digits


def test_outside_or_disabled_nothing_changes_and_blocks_nest():
    lin, h = nn.Linear(4, 3), tinynet.randn(2, 4)
    want = lin(h).numpy()
    with amp.autocast("cpu", dtype="float16", enabled=False):
        np.testing.assert_array_equal(lin(h).numpy(), want)
    with amp.autocast("cpu", dtype="float16"):
        with amp.autocast("cpu", enabled=False):
            assert lin(h).dtype == np.float32
        assert lin(h).dtype == np.float16
    assert lin(h).dtype == np.float32

    @amp.autocast("cpu", dtype=np.float16)
    def run():
        return lin(h)

    assert run().dtype == np.float16 and lin(h).dtype == np.float32


@pytest.mark.parametrize("dtype, scaled", [("float16", True), ("bfloat16", False)])
def test_a_short_training_run_follows_float32s_losses(dtype, scaled):
    def train(mixed):
        net = _net(1)
        opt = tinynet.optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
        scaler = amp.GradScaler(enabled=mixed and scaled, init_scale=2.0 ** 12)
        losses = []
        for step in range(15):
            x, y = _batch(step % 3)
            with amp.autocast("cpu", dtype=dtype, enabled=mixed):
                loss = F.cross_entropy(net(x), y)
            opt.zero_grad()
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
            losses.append(loss.item())
        return np.array(losses), scaler

    full, _ = train(False)
    half, scaler = train(True)
    assert full[-1] < full[0] * 0.7  # it learns
    tolerance = 0.02 if dtype == "float16" else 0.06  # 11 bits of mantissa, or 8
    np.testing.assert_allclose(half, full, rtol=tolerance, atol=tolerance)
    assert scaler.skipped_steps == 0


def test_an_overflow_skips_exactly_that_step_and_halves_the_scale():
    net, (x, y) = _net(), _batch()
    opt = tinynet.optim.SGD(net.parameters(), lr=0.1)
    scaler = amp.GradScaler(init_scale=1024.0, growth_interval=3)
    scales, moved = [], []
    for step in range(6):
        with amp.autocast("cpu", dtype="float16"):
            loss = F.cross_entropy(net(x), y)
        opt.zero_grad()
        scaler.scale(loss).backward()
        if step == 2:
            net[4].weight.grad.data[0, 0] = np.inf  # as a float16 product that overflowed would leave it
        before = net[6].weight.numpy().copy()
        scaler.step(opt)
        moved.append(not np.array_equal(before, net[6].weight.numpy()))
        scaler.update()
        scales.append(scaler.get_scale())
    assert moved == [True, True, False, True, True, True]  # that step alone skipped: no weight changed
    # halved at the overflow; then 3 good steps in a row (growth_interval) double it again
    assert scales == [1024.0, 1024.0, 512.0, 512.0, 512.0, 1024.0] and scaler.skipped_steps == 1


def test_the_gradients_the_optimizer_sees_are_unscaled():
    net, (x, y) = _net(), _batch()
    F.cross_entropy(net(x), y).backward()
    want = [p.grad.numpy().copy() for p in net.parameters()]
    net.zero_grad()
    opt = tinynet.optim.SGD(net.parameters(), lr=0.1)
    scaler = amp.GradScaler(init_scale=256.0)
    scaler.scale(F.cross_entropy(net(x), y)).backward()
    scaler.unscale_(opt)
    for p, w in zip(net.parameters(), want):
        np.testing.assert_allclose(p.grad.numpy(), w, rtol=1e-5, atol=1e-7)
    with pytest.raises(RuntimeError, match="unscale_ was already called for this optimizer"):
        scaler.unscale_(opt)


def test_state_dict_round_trips_and_disabled_is_a_pass_through():
    s = amp.GradScaler(init_scale=8.0, growth_interval=5)
    s._good_steps = 3
    t = amp.GradScaler()
    t.load_state_dict(s.state_dict())
    assert t.get_scale() == 8.0 and t._good_steps == 3 and t.growth_interval == 5
    off = amp.GradScaler(enabled=False)
    loss = tinynet.tensor(2.0, requires_grad=True)
    assert off.scale(loss) is loss and off.get_scale() == 1.0 and not off.is_enabled()


@pytest.mark.parametrize("make, message", [
    (lambda: amp.GradScaler(init_scale=0), "GradScaler: init_scale must be"),
    (lambda: amp.GradScaler(growth_factor=1.0), "GradScaler: growth_factor must be"),
    (lambda: amp.GradScaler(backoff_factor=1.5), "GradScaler: backoff_factor must be"),
    (lambda: amp.GradScaler(growth_interval=0), "GradScaler: growth_interval must be"),
    (lambda: amp.GradScaler(enabled="yes"), "GradScaler: enabled must be True or False"),
    (lambda: amp.GradScaler().load_state_dict([1]), "GradScaler.load_state_dict: expected the dict"),
    (lambda: amp.GradScaler().step(object()), "GradScaler: expected a tinynet optimizer"),
    (lambda: amp.autocast("tpu"), "autocast: device_type must be 'cuda' or 'cpu', got 'tpu'"),
    (lambda: amp.autocast("cpu", dtype="float64"), "autocast: dtype must be float16 or 'bfloat16'"),
    (lambda: amp.autocast("cpu", dtype=np.int8), "autocast: dtype must be float16 or 'bfloat16'"),
    (lambda: amp.autocast("cpu", enabled=1), "autocast: enabled must be True or False"),
])
def test_bad_arguments_are_refused_by_name(make, message):
    with pytest.raises((ValueError, TypeError), match=message):
        make()


@pytest.fixture(scope="module")
def tiny_images(tmp_path_factory):
    from tinynet.data import synth

    root = tmp_path_factory.mktemp("amp_images")
    synth.generate(root, classes=2, per_class=8, val_per_class=2, size=32, seed=0)
    return root


def _train_cfg(data, out, **kw):
    from tinynet.train import TrainConfig

    base = dict(data_path=str(data), variant="mini", image_size=32, batch_size=4, epochs=1, workers=0,
                lr_scheduler="step", output_dir=str(out), progress=False, seed=0)
    base.update(kw)
    return TrainConfig(**base)


def test_train_with_amp_fp16_keeps_the_loss_scale_in_the_checkpoint_and_resumes_it(tiny_images, tmp_path):
    from tinynet.checkpoint import load_checkpoint
    from tinynet.train import train

    lines = []
    history = train(_train_cfg(tiny_images, tmp_path / "run", amp="fp16"), log=lines.append)
    scale = history[0]["loss_scale"]
    assert 0 < scale <= 2.0 ** 16 and any("loss scale" in line for line in lines)
    meta = load_checkpoint(tmp_path / "run" / "checkpoint.npz").meta
    assert meta["grad_scaler"]["scale"] == scale
    resumed = train(_train_cfg(tiny_images, None, resume=str(tmp_path / "run" / "checkpoint.npz"), epochs=2,
                               amp="fp16", output_dir=None), log=lines.append)
    assert resumed[-1]["epoch"] == 2 and resumed[-1]["loss_scale"] >= scale / 2 ** 4  # went on from there


def test_train_with_amp_bf16_has_no_scaler_and_a_bad_mode_is_refused(tiny_images, tmp_path):
    from tinynet.checkpoint import load_checkpoint
    from tinynet.train import ConfigError, train

    history = train(_train_cfg(tiny_images, tmp_path / "run", amp="bf16"), log=None)
    assert "loss_scale" not in history[0] and np.isfinite(history[0]["train_loss"])
    assert "grad_scaler" not in load_checkpoint(tmp_path / "run" / "checkpoint.npz").meta
    with pytest.raises(ConfigError, match="--amp must be one of 'fp16', 'bf16', got 'fp8'"):
        train(_train_cfg(tiny_images, tmp_path / "bad", amp="fp8"), log=None)


def test_the_losses_and_layer_norm_run_in_float32_under_fp16_autocast():
    lin = nn.Linear(3, 2)
    x, t = tinynet.randn(4, 3), tinynet.randn(4, 2)
    with amp.autocast("cpu", dtype="float16"):
        h = lin(x)
        outs = [F.mse_loss(h, t), F.l1_loss(h, t), F.smooth_l1_loss(h, t), nn.LayerNorm(2)(h),
                F.nll_loss(F.log_softmax(h, dim=1), tinynet.tensor(np.array([0, 1, 0, 1]))),
                F.cross_entropy(h, tinynet.tensor(np.array([0, 1, 0, 1])), weight=tinynet.ones(2).half()),
                F.binary_cross_entropy_with_logits(h, t.sigmoid())]
    assert h.dtype == np.float16 and all(o.dtype == np.float32 for o in outs)


def test_grad_scaler_keeps_pytorchs_order_of_calls():
    net, (x, y) = _net(), _batch()
    opt = tinynet.optim.SGD(net.parameters(), lr=0.1)
    s = amp.GradScaler("cpu")
    with pytest.raises(RuntimeError, match=r"update\(\): no inf/NaN checks were recorded"):
        s.update()
    with pytest.raises(RuntimeError, match="no parameter of this optimizer has a gradient"):
        s.step(opt)
    s.scale(F.cross_entropy(net(x), y)).backward()
    s.step(opt)
    with pytest.raises(RuntimeError, match=r"step\(\) has already been called for this optimizer"):
        s.step(opt)
    with pytest.raises(RuntimeError, match=r"unscale_ after step\(\)"):
        s.unscale_(opt)
    s.update()
    a, b = s.scale([tinynet.tensor(1.0), tinynet.tensor(2.0)])
    assert (a.item(), b.item()) == (65536.0, 131072.0)
    s.update(new_scale=tinynet.tensor(8.0))
    assert s.get_scale() == 8.0 and amp.GradScaler(enabled=False).state_dict() == {}


@pytest.mark.parametrize("state, message", [
    ({"scale": 8.0, "growth_factor": -1}, "load_state_dict: growth_factor must be"),
    ({"scale": 8.0, "backoff_factor": 5}, "load_state_dict: backoff_factor must be"),
    ({"scale": 8.0, "growth_interval": 0}, "load_state_dict: growth_interval must be"),
    ({"scale": 8.0, "growth_interval": 2.5}, "load_state_dict: growth_interval must be"),
    ({"scale": 8.0, "growth_interval": None}, "load_state_dict: growth_interval must be"),
    ({"scale": -8.0}, "load_state_dict: scale must be"),
    ({"scale": 8.0, "_growth_tracker": -1}, "load_state_dict: _growth_tracker must be"),
])
def test_a_damaged_scaler_state_is_refused_by_field_and_nothing_taken(state, message):
    s = amp.GradScaler("cpu", init_scale=4.0)
    with pytest.raises((ValueError, TypeError), match=message):
        s.load_state_dict(state)
    assert s.get_scale() == 4.0 and s.growth_interval == 2000


def test_autocast_is_per_thread_and_the_scaler_names_its_device():
    import threading

    seen = []
    with amp.autocast("cpu", dtype="float16"):
        t = threading.Thread(target=lambda: seen.append(nn.Linear(2, 2)(tinynet.randn(1, 2)).dtype))
        t.start()
        t.join()
    assert seen == [np.float32]
    with pytest.raises(ValueError, match="GradScaler: device must be 'cuda' or 'cpu', got 'tpu'"):
        amp.GradScaler("tpu")


def test_reductions_sum_in_float32_under_fp16_autocast():
    lin = nn.Linear(3, 4)
    with amp.autocast("cpu", dtype="float16"):
        h = lin(tinynet.randn(5, 3))
        assert h.dtype == np.float16
        assert all(r.dtype == np.float32 for r in (h.sum(), h.mean(dim=0), tinynet.sum(h), h.var(), h.std(dim=1)))


def test_with_amp_fp16_the_gradient_sizes_are_the_unscaled_ones(tiny_images, tmp_path):
    # The loss is multiplied by the scale (65536, halved at each skipped step) before backward; the recorded
    # mean |gradient| is measured after unscaling, so it is of the size a float32 run records, not thousands
    # of times it. (Not equal: the steps skipped for overflow are left out, and the weights then differ.)
    from tinynet.train import train

    full = train(_train_cfg(tiny_images, tmp_path / "fp32", conv_algorithm="im2col"), log=None)[0]["grad_abs_mean"]
    half = train(_train_cfg(tiny_images, tmp_path / "fp16", conv_algorithm="im2col", amp="fp16"),
                 log=None)[0]["grad_abs_mean"]
    assert list(half) == list(full) and len(full) == 8
    for name in full:
        assert 0.01 < half[name] / full[name] < 10, name
