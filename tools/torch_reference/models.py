"""PyTorch's outputs and gradients for the five tutorial models of tests/models/tutorial_models.py.

That file is read as text, its three tinynet import lines (marked "# IMPORTS") are replaced by
PyTorch's, and the result is run with torch: the model classes are the same text for both engines.
Each model, in float64 with the deterministic weights of ``fixed_state``, runs one batch:

- in eval mode: the output, the loss, and for every parameter its gradient's sum and its dot
  product with a fixed random probe (two numbers instead of the whole gradient, which for AlexNet
  would be 460 MB);
- in training mode (for the batch-norm net, with its Dropout kept in eval mode so both engines run
  the same function): the same, plus every buffer after the step (running statistics, counters).

    /tmp/tvenv/bin/python tools/torch_reference/models.py   # writes tests/fixtures/torch_models.npz
"""
import pathlib
import sys

import numpy as np
import torch

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from _common import ROOT, arr, save  # noqa: E402

SOURCE = ROOT / "tests" / "models" / "tutorial_models.py"
TORCH_IMPORTS = {
    "import tinynet as torch  # IMPORTS": "import torch",
    "import tinynet.nn as nn  # IMPORTS": "import torch.nn as nn",
    "import tinynet.functional as F  # IMPORTS": "import torch.nn.functional as F",
}


def load_models():
    text = SOURCE.read_text()
    for ours, theirs in TORCH_IMPORTS.items():
        assert text.count(ours) == 1, ours
        text = text.replace(ours, theirs)
    namespace = {"__name__": "tutorial_models_torch"}
    exec(compile(text, str(SOURCE), "exec"), namespace)
    return namespace


def loss_of(name, out, targets, F):
    if name == "digits":
        return F.nll_loss(out, targets)
    logits = out[0] if name == "lenet5" else out
    return F.cross_entropy(logits, targets)


def run(ns, name, mode, arrays):
    cls, kwargs, shape = ns["MODELS"][name]
    torch.manual_seed(0)
    model = cls(**kwargs).double()
    state = ns["fixed_state"]({k: v.numpy() for k, v in model.state_dict().items()}, seed=1)
    model.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()})
    model.train(mode == "train")
    if mode == "train":
        for m in model.modules():
            if isinstance(m, torch.nn.Dropout):
                m.eval()
    x, y = ns["fixed_batch"](shape, seed=2)
    out = model(torch.from_numpy(x))
    loss = loss_of(name, out, torch.from_numpy(y), torch.nn.functional)
    loss.backward()
    key = f"{name}__{mode}"
    arrays[f"{key}__out"] = arr(out[0] if name == "lenet5" else out)
    arrays[f"{key}__loss"] = np.array(loss.item())
    for i, (pname, p) in enumerate(model.named_parameters()):
        g = p.grad.numpy()
        arrays[f"{key}__grad__{pname}"] = np.array([g.sum(), (g * ns["probe"](g.shape, seed=100 + i)).sum()])
    if mode == "train":
        for bname, b in model.named_buffers():
            arrays[f"{key}__buffer__{bname}"] = arr(b)
    arrays[f"{name}__state_dict_keys"] = np.array(list(model.state_dict().keys()))


def main():
    ns = load_models()
    arrays = {}
    for name in ns["MODELS"]:
        run(ns, name, "eval", arrays)
    run(ns, "vgg", "train", arrays)
    save("models", arrays)


if __name__ == "__main__":
    main()
