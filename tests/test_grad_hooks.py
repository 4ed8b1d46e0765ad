"""Post-accumulate-grad hooks and end-of-backward callbacks (what data parallelism builds on)."""
import numpy as np
import pytest

import tinynet
from tinynet import autograd, nn


def test_a_leaf_used_twice_fires_once_with_its_whole_gradient():
    w = tinynet.tensor(np.array([1.0, 2.0]), requires_grad=True)
    seen = []
    w.register_post_accumulate_grad_hook(lambda t: seen.append(t.grad.numpy().tolist()))
    ((w * 3).sum() + (w * w).sum()).backward()  # d/dw = 3 + 2w
    assert seen == [[5.0, 7.0]]
    (w * 1).sum().backward()  # accumulates: fires again, with the sum so far
    assert seen == [[5.0, 7.0], [6.0, 8.0]]


def test_hooks_fire_as_backward_reaches_each_layer_last_layer_first():
    # In a chain, the last layer's parameters are complete before the first layer's backward has run:
    # the order data parallelism overlaps its reduces with.
    tinynet.manual_seed(0)
    net = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    events = []
    for name, p in net.named_parameters():
        p.register_post_accumulate_grad_hook(lambda t, name=name: events.append(name))
    net(tinynet.randn(5, 3)).sum().backward()
    assert events.index("2.weight") < events.index("0.weight") and sorted(events) == sorted(
        n for n, _ in net.named_parameters())


def test_a_removed_hook_is_not_called_and_a_root_leaf_fires_too():
    w = tinynet.tensor(np.ones(2), requires_grad=True)
    calls = []
    handle = w.register_post_accumulate_grad_hook(lambda t: calls.append("a"))
    w.register_post_accumulate_grad_hook(lambda t: calls.append("b"))
    handle.remove()
    handle.remove()  # twice: nothing
    w.backward(np.ones(2))  # the leaf is the root itself
    assert calls == ["b"]


def test_queued_callbacks_run_once_backward_has_finished():
    w = tinynet.tensor(np.ones(2), requires_grad=True)
    order = []

    def hook(t):
        order.append("hook")
        autograd.queue_callback(lambda: order.append(("end", t.grad.numpy().tolist())))

    w.register_post_accumulate_grad_hook(hook)
    (w * 2).sum().backward()
    assert order == ["hook", ("end", [2.0, 2.0])]
    with pytest.raises(RuntimeError, match="queue_callback: no backward is running"):
        autograd.queue_callback(lambda: None)


def test_bad_registrations_are_refused():
    w = tinynet.tensor(np.ones(2), requires_grad=True)
    with pytest.raises(RuntimeError, match="only a leaf tensor"):
        (w * 2).register_post_accumulate_grad_hook(print)
    with pytest.raises(TypeError, match="hook must be callable, got int"):
        w.register_post_accumulate_grad_hook(3)


def test_a_leaf_this_backward_sent_nothing_is_not_announced_and_non_grad_leaves_are_refused():
    w = tinynet.tensor(np.ones(2), requires_grad=True)
    v = tinynet.tensor(np.ones(2), requires_grad=True)
    calls = []
    w.register_post_accumulate_grad_hook(lambda t: calls.append("w"))
    (w * 2).sum().backward()
    (v * 2).sum().backward()  # w holds an old .grad but got nothing now
    assert calls == ["w"]
    with pytest.raises(RuntimeError, match="only a leaf tensor that requires grad"):
        tinynet.tensor(np.ones(2)).register_post_accumulate_grad_hook(print)


def test_a_collected_hooked_tensor_stops_costing_backward_its_edge_count():
    import gc

    before = autograd._hooked_nodes
    w = tinynet.tensor(np.ones(2), requires_grad=True)
    w.register_post_accumulate_grad_hook(lambda t: None)
    assert autograd._hooked_nodes == before + 1
    del w
    gc.collect()
    assert autograd._hooked_nodes == before
    u = tinynet.tensor(np.ones(2), requires_grad=True)
    handle = u.register_post_accumulate_grad_hook(lambda t: None)
    handle.remove()
    del u
    gc.collect()
    assert autograd._hooked_nodes == before  # counted down once, not again when collected
