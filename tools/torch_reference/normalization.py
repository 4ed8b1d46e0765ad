"""PyTorch's batch norm and layer norm, stored for tests/functional/test_batch_norm.py, test_layer_norm.py and
tests/nn/test_normalization.py:

    python tools/torch_reference/normalization.py      # writes tests/fixtures/torch_normalization.npz

Everything in float64 (num_batches_tracked int64). Inputs come from a seeded NumPy generator and are stored
beside the results, so the tests feed tinynet exactly what torch saw. Keys:

    bn_<case>_*          F.batch_norm, training and eval, for (N, C), (N, C, L), (N, C, H, W) and n = 2
    bn2d_<run>_*         nn.BatchNorm2d run for 4 training steps (momentum 0.1, 0.5, None;
                         track_running_stats=False), the buffers after each step, then eval
    bn1d_<run>_*         nn.BatchNorm1d on (N, C) and (N, C, L)
    ln_<case>_*          F.layer_norm with and without weight and bias
    seq_*                Sequential(Conv2d, BatchNorm2d, ReLU) trained 3 SGD steps: its state_dict, an input,
                         eval-mode and train-mode outputs and gradients, the buffers after the train step
"""
import numpy as np
import torch
import torch.nn.functional as F
from _common import SEED, arr, save, t
from torch import nn

rng = np.random.default_rng(SEED)
out = {}


# --- F.batch_norm --------------------------------------------------------------------------------------------
for case, shape in (("2d", (5, 3)), ("3d", (4, 3, 5)), ("4d", (3, 2, 4, 5)), ("n2", (2, 3))):
    C = shape[1]
    x = rng.normal(0.5, 2.0, shape)
    w, b = rng.normal(1.0, 0.5, C), rng.normal(0.0, 0.5, C)
    rm, rv = rng.normal(0.0, 1.0, C), rng.uniform(0.5, 2.0, C)
    g = rng.normal(size=shape)
    out.update({f"bn_{case}_x": x, f"bn_{case}_weight": w, f"bn_{case}_bias": b,
                f"bn_{case}_running_mean": rm, f"bn_{case}_running_var": rv, f"bn_{case}_g": g})
    for mode, training in (("train", True), ("eval", False)):
        tx, tw, tb = t(x, True), t(w, True), t(b, True)
        trm, trv = t(rm), t(rv)
        y = F.batch_norm(tx, trm, trv, tw, tb, training=training, momentum=0.1, eps=1e-5)
        y.backward(t(g))
        out.update({f"bn_{case}_{mode}_y": arr(y), f"bn_{case}_{mode}_dx": arr(tx.grad),
                    f"bn_{case}_{mode}_dweight": arr(tw.grad), f"bn_{case}_{mode}_dbias": arr(tb.grad),
                    f"bn_{case}_{mode}_running_mean": arr(trm), f"bn_{case}_{mode}_running_var": arr(trv)})
    # no affine, no running statistics
    tx = t(x, True)
    y = F.batch_norm(tx, None, None, training=True)
    y.backward(t(g))
    out.update({f"bn_{case}_plain_y": arr(y), f"bn_{case}_plain_dx": arr(tx.grad)})

# --- nn.BatchNorm2d / nn.BatchNorm1d over several steps ----------------------------------------------------


def run(prefix, layer, shapes):
    """Train ``layer`` one step per input shape, then one eval forward; store inputs, outputs and buffers."""
    layer = layer.double()
    with torch.no_grad():
        if layer.weight is not None:
            layer.weight.copy_(t(rng.normal(1.0, 0.3, layer.num_features)))
            layer.bias.copy_(t(rng.normal(0.0, 0.3, layer.num_features)))
    out[f"{prefix}_weight"] = arr(layer.weight) if layer.weight is not None else np.zeros(0)
    out[f"{prefix}_bias"] = arr(layer.bias) if layer.bias is not None else np.zeros(0)
    layer.train()
    for step, shape in enumerate(shapes):
        x = rng.normal(rng.uniform(-1, 1), rng.uniform(0.5, 3.0), shape)
        out[f"{prefix}_x{step}"] = x
        out[f"{prefix}_y{step}"] = arr(layer(t(x)))
        if layer.track_running_stats:
            out[f"{prefix}_running_mean{step}"] = arr(layer.running_mean)
            out[f"{prefix}_running_var{step}"] = arr(layer.running_var)
            out[f"{prefix}_num_batches_tracked{step}"] = arr(layer.num_batches_tracked)
    layer.eval()
    x = rng.normal(0.0, 2.0, shapes[0])
    out[f"{prefix}_eval_x"] = x
    out[f"{prefix}_eval_y"] = arr(layer(t(x)))


four_steps = [(4, 3, 2, 3), (2, 3, 3, 3), (5, 3, 1, 2), (3, 3, 2, 2)]
run("bn2d_m01", nn.BatchNorm2d(3), four_steps)
run("bn2d_m05", nn.BatchNorm2d(3, momentum=0.5), four_steps)
run("bn2d_mnone", nn.BatchNorm2d(3, momentum=None), four_steps)
run("bn2d_untracked", nn.BatchNorm2d(3, track_running_stats=False), four_steps)
run("bn2d_noaffine", nn.BatchNorm2d(3, affine=False, momentum=0.3), four_steps)
run("bn1d_2d", nn.BatchNorm1d(4), [(6, 4), (3, 4), (2, 4)])
run("bn1d_3d", nn.BatchNorm1d(4, momentum=None), [(3, 4, 5), (2, 4, 1), (4, 4, 2)])

# --- F.layer_norm ----------------------------------------------------------------------------------------------
for case, shape, normalized, affine in (("last", (4, 5), (5,), "both"), ("two", (2, 3, 4), (3, 4), "both"),
                                        ("plain", (2, 3, 4), (4,), "none"), ("weight", (3, 2, 6), (2, 6), "weight"),
                                        ("all", (3, 4), (3, 4), "both")):
    x = rng.normal(-0.3, 1.5, shape)
    w, b = rng.normal(1.0, 0.5, normalized), rng.normal(0.0, 0.5, normalized)
    g = rng.normal(size=shape)
    tx, tw, tb = t(x, True), t(w, True), t(b, True)
    y = F.layer_norm(tx, normalized, tw if affine != "none" else None, tb if affine == "both" else None, eps=1e-5)
    y.backward(t(g))
    out.update({f"ln_{case}_x": x, f"ln_{case}_weight": w, f"ln_{case}_bias": b, f"ln_{case}_g": g,
                f"ln_{case}_normalized_shape": np.array(normalized, dtype=np.int64), f"ln_{case}_y": arr(y),
                f"ln_{case}_dx": arr(tx.grad)})
    if affine != "none":
        out[f"ln_{case}_dweight"] = arr(tw.grad)
    if affine == "both":
        out[f"ln_{case}_dbias"] = arr(tb.grad)

# --- Sequential(Conv2d, BatchNorm2d, ReLU): a state_dict from training in torch ----------------------------
torch.manual_seed(0)
model = nn.Sequential(nn.Conv2d(2, 3, 3, padding=1), nn.BatchNorm2d(3), nn.ReLU()).double()
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
for step in range(3):
    x = t(rng.normal(0.5, 1.5, (4, 2, 5, 5)))
    loss = (model(x) * t(rng.normal(size=(4, 3, 5, 5)))).sum()
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
for name, value in model.state_dict().items():
    out[f"seq_state_{name}"] = arr(value)
x, g = rng.normal(0.5, 1.5, (3, 2, 5, 5)), rng.normal(size=(3, 3, 5, 5))
out["seq_x"], out["seq_g"] = x, g
for mode in ("eval", "train"):
    model.train(mode == "train")
    model.zero_grad()
    tx = t(x, True)
    y = model(tx)
    y.backward(t(g))
    out[f"seq_{mode}_y"], out[f"seq_{mode}_dx"] = arr(y), arr(tx.grad)
    for name, p in model.named_parameters():
        out[f"seq_{mode}_grad_{name}"] = arr(p.grad)
for name, value in model.state_dict().items():  # after the train-mode step: the buffers moved once more
    out[f"seq_after_{name}"] = arr(value)

save("normalization", out)
