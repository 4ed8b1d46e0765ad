"""tinynet.summary: every row and total of the AlexNet tables against values computed by hand."""
import numpy as np
import pytest

import tinynet
from tinynet import cli, nn
from tinynet.model_summary import profile
from tinynet.models import alexnet

# Seed AlexNet at 224x224: (in C, out C, kernel, output side) per conv; (in, out) per dense layer.
SEED_CONVS = [(3, 96, 11, 55), (96, 256, 5, 27), (256, 384, 3, 13), (384, 384, 3, 13), (384, 256, 3, 13)]
SEED_DENSE = [(9216, 4096), (4096, 4096), (4096, 1000)]


@pytest.fixture(scope="module")
def seed_profile():
    tinynet.manual_seed(0)
    return profile(alexnet("seed"), (3, 224, 224))


def test_seed_mult_adds_per_layer(seed_profile):
    """Conv: OC*OH*OW * C*kH*kW per image; dense: in*out; other layers count none."""
    conv_rows = [r for r in seed_profile.rows if r.kind == "Conv2d"]
    dense_rows = [r for r in seed_profile.rows if r.kind == "Linear"]
    assert [r.mult_adds for r in conv_rows] == [oc * s * s * c * k * k for c, oc, k, s in SEED_CONVS]
    assert [r.mult_adds for r in dense_rows] == [i * o for i, o in SEED_DENSE]
    assert all(r.mult_adds == 0 for r in seed_profile.rows if r.kind not in ("Conv2d", "Linear"))
    assert conv_rows[0].mult_adds == 105_415_200  # 96*55*55 outputs, 3*11*11 each


def test_seed_totals(seed_profile):
    assert seed_profile.total_params == 62_378_344
    expected = sum(oc * s * s * c * k * k for c, oc, k, s in SEED_CONVS) + sum(i * o for i, o in SEED_DENSE)
    assert seed_profile.total_mult_adds == expected == 1_135_256_096
    # float32 outputs of every layer: the sum over rows of 4 bytes * C*H*W.
    assert seed_profile.total_activation_bytes == 4 * sum(int(np.prod(r.output_shape)) for r in seed_profile.rows)
    assert seed_profile.rows[0].activation_bytes == 4 * 96 * 55 * 55
    assert seed_profile.error is None


def test_mini_table_text():
    text = tinynet.summary(alexnet("mini", num_classes=10), (3, 64, 64))
    assert text.splitlines()[0] == "AlexNet (mini), input (3, 64, 64), batch 1, float32"
    assert "430,794" in text and "16,303,616" in text  # mini totals: hand-summed in test_alexnet
    assert "(576,)" in text


def test_seed_table_shows_the_flatten_and_the_parameter_count():
    text = tinynet.summary(alexnet("seed"), (3, 224, 224))
    flatten = next(line for line in text.splitlines() if line.startswith("flatten"))
    assert "Flatten" in flatten and "(9216,)" in flatten
    assert "(256, 6, 6)" in text
    assert "parameters: 62,378,344" in text


def test_batch_size_scales_mult_adds_and_memory():
    model = alexnet("mini", num_classes=10)
    one, four = profile(model, (3, 64, 64), 1), profile(model, (3, 64, 64), 4)
    assert four.total_mult_adds == 4 * one.total_mult_adds
    assert four.total_activation_bytes == 4 * one.total_activation_bytes
    assert four.total_params == one.total_params


def test_an_input_the_model_cannot_take_shows_the_rows_that_worked_and_the_failing_layer():
    model = alexnet("mini", num_classes=10)
    prof = profile(model, (3, 48, 48))
    # 48 -> conv1 24 -> pool 11 -> 11 -> pool 5 -> 5 -> pool 2: 64*2*2 = 256 features, not 576.
    assert prof.rows[-1].name == "classifier.0" and prof.rows[-1].output_shape == (256,)
    assert "classifier.1" in prof.error and "576" in prof.error and "256" in prof.error
    text = tinynet.summary(model, (3, 48, 48))
    assert "stopped: layer classifier.1 Linear" in text and "total" not in text
    assert model.training  # the summary leaves the model's mode as it found it
    assert all(not m._forward_hooks for m in model.modules())  # and removes its hooks


def test_summary_of_a_plain_sequential():
    net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(2 * 4 * 4, 3))
    rows = profile(net, (1, 6, 6)).rows
    assert [(r.name, r.output_shape, r.params) for r in rows] == [
        ("0", (2, 4, 4), 2 * 9 + 2), ("1", (2, 4, 4), 0), ("2", (32,), 0), ("3", (3,), 32 * 3 + 3)]


def test_cli_summary(capsys):
    assert cli.main(["summary", "alexnet", "--variant", "mini", "--num-classes", "10"]) == 0
    out = capsys.readouterr().out
    assert "AlexNet (mini), input (3, 64, 64)" in out and "430,794" in out
    assert cli.main(["summary", "alexnet", "--variant", "mini", "--input", "3,48,48"]) == 1
    assert "stopped: layer classifier.1" in capsys.readouterr().out
    with pytest.raises(SystemExit) as e:  # argparse refuses it: usage, one error line, status 2
        cli.main(["summary", "alexnet", "--input", "3,224"])
    assert e.value.code == 2 and "C,H,W" in capsys.readouterr().err
