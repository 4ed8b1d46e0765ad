"""The flags of `tinynet train`: range checks, defaults, and what a flag changed on --resume does."""
import math

import pytest

from tinynet.train_flags import DEFAULTS, ON_RESUME, ConfigError, TrainConfig, check, flag, resolve, resume_help

# (field values, the error's type, what its message says): every value check() refuses.
BAD_VALUES = [
    (dict(lr=math.nan), ConfigError, r"--lr must be a finite number >= 0, got nan"),
    (dict(lr=math.inf), ConfigError, r"--lr must be a finite number >= 0, got inf"),
    (dict(lr=-0.1), ConfigError, r"--lr must be .* got -0.1"),
    (dict(lr="0.1"), ConfigError, r"--lr must be a finite number >= 0, got '0.1'"),
    (dict(momentum=math.nan), ConfigError, r"--momentum must be a finite number >= 0, got nan"),
    (dict(weight_decay=-1.0), ConfigError, r"--wd must be a finite number >= 0, got -1.0"),
    (dict(lr_gamma=0.0), ConfigError, r"--lr-gamma must be a finite number > 0, got 0.0"),
    (dict(lr_gamma=math.nan), ConfigError, r"--lr-gamma must be .* got nan"),
    (dict(dropout=1.0), ConfigError, r"--dropout must be a finite number >= 0 and < 1, got 1.0"),
    (dict(dropout=-0.5), ConfigError, r"--dropout must be .* got -0.5"),
    (dict(image_size=-5), ConfigError, r"--image-size must be an int >= 1, got -5"),
    (dict(image_size=64.0), ConfigError, r"--image-size must be an int >= 1, got 64.0"),
    (dict(epochs=0), ConfigError, r"--epochs must be an int >= 1, got 0"),
    (dict(epochs=True), ConfigError, r"--epochs must be an int >= 1, got True"),
    (dict(batch_size=0), ConfigError, r"-b/--batch-size must be an int >= 1, got 0"),
    (dict(workers=-1), ConfigError, r"-j/--workers must be an int >= 0, got -1"),
    (dict(lr_step_size=0), ConfigError, r"--lr-step-size must be an int >= 1, got 0"),
    (dict(seed=-1), ConfigError, r"--seed must be an int >= 0, got -1"),
    (dict(loader_timeout=-1.0), ConfigError, r"--loader-timeout must be a finite number >= 0, got -1.0"),
    (dict(loader_timeout=math.nan), ConfigError, r"--loader-timeout must be .* got nan"),
    (dict(variant="huge"), ConfigError, r"--variant must be one of 'seed', .* got 'huge'"),
    (dict(lr_scheduler="linear"), ConfigError, r"--lr-scheduler must be one of 'cosine', 'step', 'plateau', got"),
    (dict(device="tpu"), ConfigError, r"--device must be one of 'cpu', 'cuda', got 'tpu'"),
    (dict(init="xavier"), ConfigError, r"--init must be one of"),
    (dict(model="resnet"), ConfigError, r"--model must be one of 'alexnet'"),
    (dict(data_path=""), ConfigError, r"--data-path must name a path, got ''.*leave --data-path out"),
    (dict(output_dir="  "), ConfigError, r"--output-dir must name a path"),
    (dict(resume=""), ConfigError, r"--resume must name a path, got ''"),
    (dict(test_only=True), ConfigError, r"--test-only evaluates the checkpoint given with --resume"),
    (dict(overwrite="no"), ConfigError, r"TrainConfig.overwrite must be True or False, got 'no'"),
    (dict(progress=0), ConfigError, r"TrainConfig.progress must be True or False, got 0"),
    (dict(lr=10**400), ConfigError, r"--lr must be a finite number >= 0, got 1000"),
    (dict(overwrite=True, resume="x.npz"), ConfigError, r"--overwrite starts a new run .* give one of them"),
    (dict(overwrite=True), ConfigError, r"--overwrite replaces the run in the --output-dir given; without one .* "
                                        r"nothing is overwritten"),
]


@pytest.mark.parametrize("values, error, message", BAD_VALUES, ids=[str(v) for v, _, _ in BAD_VALUES])
def test_bad_values_are_refused_naming_the_flag(values, error, message):
    with pytest.raises(error, match=message):
        check(TrainConfig(**values))


def test_check_wants_a_train_config():
    with pytest.raises(TypeError, match="expected a TrainConfig, got dict"):
        check({"lr": 0.1})


def test_a_new_run_takes_the_defaults():
    cfg, changed = resolve(check(TrainConfig()), None)
    assert (cfg.variant, cfg.lr, cfg.epochs, cfg.lr_scheduler, cfg.batch_size) == ("mini", 0.01, 15, "cosine", 32)
    assert (cfg.image_size, cfg.init, cfg.dropout) == (64, "kaiming", 0.0)  # the variant's own
    assert changed == set() and resolve(TrainConfig(lr=0.5, image_size=40), None)[0].lr == 0.5


def test_too_small_an_image_is_refused_with_the_variant_minimum():
    with pytest.raises(ConfigError, match="--image-size 28 is too small for the mini AlexNet.* at least 29"):
        resolve(TrainConfig(image_size=28), None)
    assert resolve(TrainConfig(image_size=29), None)[0].image_size == 29


SAVED = dict(DEFAULTS, variant="mini", image_size=64, init="kaiming", dropout=0.0, lr_scheduler="step",
             epochs=2, completed=2)


def test_on_resume_flags_not_given_take_the_checkpoints_values():
    cfg, changed = resolve(TrainConfig(resume="c.npz", epochs=3, lr=None), dict(SAVED, lr=0.05, batch_size=7))
    assert (cfg.lr, cfg.batch_size, cfg.lr_scheduler, cfg.epochs) == (0.05, 7, "step", 3)
    assert changed == {"epochs"}


@pytest.mark.parametrize("name, value", [("variant", "seed"), ("image_size", 48), ("lr_scheduler", "cosine"),
                                         ("init", "paper")])
def test_on_resume_a_refused_flag_names_both_values(name, value):
    assert ON_RESUME[name][0] == "refused"
    with pytest.raises(ConfigError, match=rf"{flag(name)} {value!r} differs from the checkpoint's "
                                          rf"{SAVED[name]!r} \(c.npz\), and can't change on --resume"):
        resolve(TrainConfig(resume="c.npz", epochs=3, **{name: value}), SAVED)


def test_on_resume_the_same_value_given_again_is_no_change():
    logs = []
    cfg, changed = resolve(TrainConfig(resume="c.npz", epochs=3, image_size=64, init="kaiming", variant="mini"),
                           SAVED, logs.append)
    assert cfg.image_size == 64 and changed == {"epochs"}
    assert [line for line in logs if not line.startswith("note: --epochs")] == []


@pytest.mark.parametrize("name, value", [("lr", 0.5), ("batch_size", 4), ("momentum", 0.5), ("seed", 3),
                                         ("dropout", 0.25), ("lr_gamma", 0.5), ("weight_decay", 0.0)])
def test_on_resume_a_flag_that_applies_is_used_and_said(name, value):
    logs = []
    cfg, changed = resolve(TrainConfig(resume="c.npz", epochs=3, **{name: value}), SAVED, logs.append)
    assert getattr(cfg, name) == value and changed == {name, "epochs"}
    assert [line for line in logs if not line.startswith("note: --epochs")] == [
        line for line in logs if line.startswith(f"note: {flag(name)} {value!r} applies from here on")] != []


def test_a_finished_run_or_too_few_epochs_is_said():
    with pytest.raises(ConfigError, match=r"c.npz is the end of its run \(epoch 2 of 2\).*--epochs N with N > 2"):
        resolve(TrainConfig(resume="c.npz"), SAVED)
    with pytest.raises(ConfigError, match=r"--epochs 2 is not above the checkpoint's epoch 2"):
        resolve(TrainConfig(resume="c.npz", epochs=2), SAVED)
    assert resolve(TrainConfig(resume="c.npz", test_only=True), SAVED)[0].epochs == 2  # evaluating needs no epochs left


def test_every_resume_policy_is_in_the_help():
    text = resume_help()
    for name, (what, _) in ON_RESUME.items():
        assert f"{flag(name)}" in text and what in text
    assert set(ON_RESUME) == set(DEFAULTS)  # every run flag has a stated policy


@pytest.mark.parametrize("values, message", [
    (dict(lr_scheduler="cosine", lr_gamma=0.5), r"--lr-gamma has no effect with --lr-scheduler cosine; it is read by "
                                                r"--lr-scheduler step and plateau only"),
    (dict(lr_scheduler="plateau", lr_step_size=5), r"--lr-step-size has no effect with --lr-scheduler plateau"),
    (dict(lr_step_size=5), r"--lr-step-size has no effect with --lr-scheduler cosine"),  # cosine: the default
])
def test_a_schedule_flag_the_schedule_does_not_read_is_refused(values, message):
    with pytest.raises(ConfigError, match=message):
        resolve(TrainConfig(**values), None)
    assert resolve(TrainConfig(lr_scheduler="step", lr_gamma=0.5, lr_step_size=5), None)[0].lr_gamma == 0.5


def test_notes_come_only_once_every_check_passed():
    logs = []
    with pytest.raises(ConfigError, match="--variant 'seed' differs"):
        resolve(TrainConfig(resume="c.npz", epochs=3, lr=0.5, variant="seed"), SAVED, logs.append)
    with pytest.raises(ConfigError, match="--epochs 2 is not above"):
        resolve(TrainConfig(resume="c.npz", epochs=2, lr=0.5), SAVED, logs.append)
    assert logs == []
    resolve(TrainConfig(resume="c.npz", lr=0.5, test_only=True), SAVED, logs.append)
    assert logs == ["note: --lr have no effect with --test-only (it only evaluates)"]  # said, not applied
