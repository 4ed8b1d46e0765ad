"""What one image becomes inside a trained AlexNet: the maps after every layer of ``model.features``.

``tinynet show activations IMAGE --checkpoint CKPT`` runs one image through the run's model (eval mode,
no gradients) and draws one PNG:

    one block per layer of model.features   (conv, ReLU, LRN, pool: every module of the Sequential, in
                                            order), titled "features.0 Conv2d (32, 32, 32)": the name, the
                                            kind and the output's shape (C, H, W) for this one image; its
                                            first ``channels`` maps (16 by default), 16 to a row, each a
                                            grey-scale tile normalised on its own (its minimum black, its
                                            maximum white; a constant map, such as a dead ReLU's, black;
                                            maps of one pixel are shaded against each other), pale blue
                                            between the tiles
    a bar chart                             the top-5 class probabilities, softmax of the logits

The maps are captured with forward hooks (``Module.register_forward_hook``) on the children of
``model.features``, so the model runs as it always does (``model(x)``) and the hooks only copy each
output to the host. This is an application module: it reads tinynet.saved_run, tinynet.data and
tinynet.nn, and no engine module imports it.
"""
import math
import os

import numpy as np

PER_ROW = 16  # maps in one row of a layer's block
GAP = "#a9c4e0"  # the colour between the maps: no grey, so a white (maximal) map still shows its edges
TOP = 5  # the classes the bar chart shows


def capture(model, x):
    """Run ``x`` (a Tensor (1, 3, H, W)) through ``model`` under no_grad; returns (layers, logits).

    layers   [(name, module, array (C, OH, OW) on the host)], one per child of ``model.features``, in order
             (name as in the state_dict: "features.0", ...)
    logits   (num_classes,) NumPy array
    """
    from tinynet.autograd import no_grad

    features = getattr(model, "features", None)
    if features is None or not list(features.named_children()):
        raise ValueError(f"show activations: the model ({type(model).__name__}) has no 'features' Sequential "
                         "to look inside")
    layers, handles = [], []

    def keep(name):
        def hook(module, inputs, output):
            layers.append((name, module, output.numpy()[0]))  # one image: (C, OH, OW)
        return hook

    try:
        for name, module in features.named_children():
            handles.append(module.register_forward_hook(keep(f"features.{name}")))
        with no_grad():
            logits = model(x).numpy()[0]
    finally:
        for handle in handles:
            handle.remove()
    return layers, logits


def softmax(logits):
    """(K,) logits -> (K,) probabilities, computed in float64 (the largest logit subtracted first)."""
    z = np.asarray(logits, dtype=np.float64)
    e = np.exp(z - z.max())
    return e / e.sum()


def tiles(maps, channels=16, per_row=PER_ROW):
    """(C, H, W) maps -> the first min(C, channels) of them as one (rows*(H+1)-1, cols*(W+1)-1) float image in
    [0, 1], each map normalised on its own, NaN in the one-pixel gaps and unused places (drawn in a pale blue,
    apart from every grey); cols = min(that, per_row).

    Maps of one pixel (H = W = 1, or a 1-D output (C,), taken as C maps of 1x1) would be constant on their own:
    those are normalised together, over the channels shown.
    """
    maps = np.asarray(maps, dtype=np.float64)
    maps = maps.reshape(maps.shape[0], 1, 1) if maps.ndim == 1 else maps
    if maps.ndim != 3:
        raise ValueError(f"tiles: expected maps of shape (C, H, W), got {maps.shape}")
    c, h, w = min(maps.shape[0], channels), maps.shape[1], maps.shape[2]
    maps = maps[:c]
    axes = (0, 1, 2) if h * w == 1 else (1, 2)  # one pixel each: shaded against each other
    lo, hi = maps.min(axis=axes, keepdims=True), maps.max(axis=axes, keepdims=True)
    span = hi - lo
    scaled = np.where(span > 0, (maps - lo) / np.where(span > 0, span, 1.0), 0.0)  # a constant map: black
    cols = min(c, per_row)
    rows = math.ceil(c / cols)
    image = np.full((rows * (h + 1) - 1, cols * (w + 1) - 1), np.nan)
    for k in range(c):
        r, col = divmod(k, cols)
        image[r * (h + 1):r * (h + 1) + h, col * (w + 1):col * (w + 1) + w] = scaled[k]
    return image


def _pyplot():
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise RuntimeError("show activations draws with matplotlib, which is not installed: "
                           "pip install matplotlib") from None
    return plt


def check_out(out):
    """ValueError / FileNotFoundError naming --out unless a picture can be written to ``out``: a file name with
    an extension matplotlib writes (.png, .pdf, .svg, ...), in a folder that exists, that is not a folder."""
    plt = _pyplot()
    if os.path.isdir(out):
        raise ValueError(f"--out {out!r} is a folder: give a file path such as {os.path.join(out, 'activations.png')}")
    folder = os.path.dirname(out) or "."
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"--out {out!r}: the folder {folder!r} does not exist")
    ext = os.path.splitext(out)[1].lstrip(".").lower()
    kinds = plt.figure().canvas.get_supported_filetypes()
    plt.close("all")
    if ext not in kinds:
        raise ValueError(f"--out {out!r}: can't tell the picture format from its extension; end it in .png "
                         "(or .jpg, .pdf, .svg, ...: a format matplotlib writes)")


def draw(layers, probabilities, classes, out, channels=16, title=None):
    """One figure: a block per captured layer (``capture``'s list), the top-5 bar chart of ``probabilities``
    (K,) over ``classes`` (K names), written to ``out`` atomically (a temporary file beside it, then
    os.replace). Returns ``out``."""
    plt = _pyplot()
    images = [tiles(a, channels) for _, _, a in layers]
    top = np.argsort(-np.asarray(probabilities))[:TOP]
    # Every block spans the figure's width; its height follows its aspect (at least a little, for a title).
    heights = [max(image.shape[0] / image.shape[1], 0.04) + 0.35 / 12 for image in images] + [0.03 * len(top) + 0.08]
    width = 12.0
    fig, axes = plt.subplots(len(heights), 1, figsize=(width, width * sum(heights) + 0.6),
                             gridspec_kw={"height_ratios": heights})
    cmap = plt.get_cmap("gray").with_extremes(bad=GAP)  # NaN: the gaps between the maps
    for ax, (name, module, a), image in zip(axes, layers, images):
        shown = min(a.shape[0], channels)
        more = f", first {shown} of {a.shape[0]} channels" if shown < a.shape[0] else ""
        more += ", maps of one pixel shaded against each other" if a.ndim == 1 or a.shape[1] * a.shape[2] == 1 else ""
        ax.imshow(image, cmap=cmap, vmin=0.0, vmax=1.0, interpolation="nearest", aspect="equal")
        ax.set_title(f"{name} {type(module).__name__} {tuple(a.shape)}{more}", fontsize=9, loc="left")
        ax.set_axis_off()
    ax = axes[-1]
    names = [str(classes[i]) if i < len(classes) else str(i) for i in top]
    ax.barh(range(len(top)), [100 * probabilities[i] for i in top], color="0.4")
    ax.set_yticks(range(len(top)), names, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xlabel("probability (%)", fontsize=8)
    ax.set_title(f"classifier: top-{len(top)} classes", fontsize=9, loc="left")
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    from tinynet.run_folder import save_figure

    return save_figure(fig, out, prefix=".activations.")


def load_image(path, size):
    """The image file at ``path`` as the run's evaluation sees it: float32 (1, 3, size, size), resized, centre
    cropped and normalised (tinynet.data.transforms.eval_transform). FileNotFoundError / ValueError
    (CorruptImageError) naming the file."""
    from tinynet.data import transforms
    from tinynet.data.folder import load_rgb

    if not os.path.exists(path):
        raise FileNotFoundError(f"IMAGE {path} does not exist")
    if os.path.isdir(path):
        raise ValueError(f"IMAGE {path} is a folder: give one image file")
    x = transforms.eval_transform(size)(load_rgb(path), np.random.default_rng(0))
    return x[None]


def show_activations(checkpoint, image, out, device="cpu", channels=16):
    """``image`` through the model of the run ``checkpoint`` on ``device``, drawn into ``out``. Returns
    {"layers": count, "top": (class name, probability), "out": out}. ``out`` is checked before the
    checkpoint is read, so a bad path fails fast."""
    from tinynet._tensor import Tensor
    from tinynet.saved_run import load_model

    check_out(out)
    model, meta = load_model(checkpoint, device)
    x = load_image(image, meta["image_size"])
    layers, logits = capture(model, Tensor(x, device=device))
    p = softmax(logits)
    best = int(np.argmax(p))
    draw(layers, p, meta["classes"], out, channels,
         title=f"{os.path.basename(image)} through the {meta['variant']} AlexNet of {checkpoint} "
               f"(epoch {meta['epoch']}, {meta['image_size']}x{meta['image_size']})")
    return {"layers": len(layers), "top": (meta["classes"][best], float(p[best])), "out": out}
