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
    # torchvision's flags (issue 14)
    (dict(opt="foo"), ConfigError, r"--opt must be one of 'sgd', 'sgd_nesterov', 'rmsprop', 'adamw', 'adam', got 'foo'"),
    (dict(opt="SGD"), ConfigError, r"--opt must be one of .* got 'SGD'"),
    (dict(lr_warmup_epochs=-1), ConfigError, r"--lr-warmup-epochs must be an int >= 0, got -1"),
    (dict(lr_warmup_epochs=1.5), ConfigError, r"--lr-warmup-epochs must be an int >= 0, got 1.5"),
    (dict(lr_warmup_method="cubic"), ConfigError, r"--lr-warmup-method must be one of 'constant', 'linear', got 'cubic'"),
    (dict(lr_warmup_decay=0.0), ConfigError, r"--lr-warmup-decay must be a finite number > 0 and <= 1, got 0.0"),
    (dict(lr_warmup_decay=1.5), ConfigError, r"--lr-warmup-decay must be .* got 1.5"),
    (dict(label_smoothing=1.5), ConfigError, r"--label-smoothing must be a finite number >= 0 and < 1, got 1.5"),
    (dict(label_smoothing=1.0), ConfigError, r"--label-smoothing must be .* got 1.0"),
    (dict(label_smoothing=-0.1), ConfigError, r"--label-smoothing must be .* got -0.1"),
    (dict(label_smoothing=math.nan), ConfigError, r"--label-smoothing must be .* got nan"),
    (dict(norm_weight_decay=-1.0), ConfigError, r"--norm-weight-decay must be a finite number >= 0, got -1.0"),
    (dict(norm_weight_decay=math.inf), ConfigError, r"--norm-weight-decay must be .* got inf"),
    (dict(lr_milestones=[3, 1]), ConfigError, r"--lr-milestones must be increasing, got 3 1"),
    (dict(lr_milestones=[2, 2]), ConfigError, r"--lr-milestones must be increasing, got 2 2"),
    (dict(lr_milestones=[0]), ConfigError, r"--lr-milestones must be increasing ints >= 1, got 0"),
    (dict(lr_milestones=[1.5]), ConfigError, r"--lr-milestones must be increasing ints >= 1, got 1.5"),
    (dict(lr_milestones=[]), ConfigError, r"--lr-milestones must list at least one epoch"),
    (dict(lr_milestones="30"), ConfigError, r"--lr-milestones must be increasing epochs such as 30 60 80, got '30'"),
    (dict(lr_scheduler="cosineannealing"), ConfigError, r"--lr-scheduler must be one of 'cosine', 'step', 'plateau', "
                                                        r"got 'cosineannealing' \(also: 'multistep', 'exponential', and "
                                                        r"torchvision's names 'steplr'"),
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
                                                r"--lr-scheduler step, plateau, multistep and exponential only"),
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


# --- torchvision's flags (issue 14) -----------------------------------------------------------------------
@pytest.mark.parametrize("values, message", [
    (dict(epochs=3, lr_warmup_epochs=3), r"--lr-warmup-epochs 3 leaves no epoch of --epochs 3 to the main schedule"),
    (dict(lr_scheduler="plateau", lr_warmup_epochs=1), r"--lr-warmup-epochs has no meaning with --lr-scheduler plateau"),
    (dict(lr_warmup_method="linear"), r"--lr-warmup-method has no effect without --lr-warmup-epochs N"),
    (dict(lr_warmup_decay=0.1), r"--lr-warmup-decay has no effect without --lr-warmup-epochs N"),
    (dict(opt="adamw", momentum=0.9), r"--momentum has no effect with --opt adamw; it is read by --opt sgd, "
                                      r"sgd_nesterov, rmsprop only"),
    (dict(opt="adam", momentum=0.0), r"--momentum has no effect with --opt adam"),
    (dict(opt="sgd_nesterov", momentum=0.0), r"--opt sgd_nesterov needs --momentum > 0, got 0.0"),
    (dict(lr_scheduler="multisteplr"), r"--lr-scheduler multisteplr needs --lr-milestones"),
    (dict(lr_scheduler="multistep", lr_milestones=[5, 15], epochs=15), r"--lr-milestones 15 is past the run"),
    (dict(lr_scheduler="multistep", lr_milestones=[5, 8], epochs=10, lr_warmup_epochs=3),
     r"--lr-milestones 8 is past the run: the milestones count the epochs after the warm-up, and --epochs 10 - "
     r"--lr-warmup-epochs 3 leaves 7"),
    (dict(lr_milestones=[3]), r"--lr-milestones has no effect with --lr-scheduler cosine; it is read by "
                              r"--lr-scheduler multistep only"),
    (dict(lr_scheduler="exponentiallr", lr_step_size=3), r"--lr-step-size has no effect with --lr-scheduler "
                                                         r"exponential"),
])
def test_torchvision_flags_that_conflict_are_refused_naming_them(values, message):
    with pytest.raises(ConfigError, match=message):
        resolve(check(TrainConfig(**values)), None)


def test_new_flags_take_torchvisions_defaults():
    cfg, _ = resolve(check(TrainConfig()), None)
    assert (cfg.opt, cfg.lr_warmup_epochs, cfg.lr_warmup_method, cfg.lr_warmup_decay, cfg.label_smoothing,
            cfg.norm_weight_decay, cfg.lr_milestones) == ("sgd", 0, "constant", 0.01, 0.0, None, None)


@pytest.mark.parametrize("alias, name", [("cosineannealinglr", "cosine"), ("steplr", "step"),
                                         ("multisteplr", "multistep"), ("exponentiallr", "exponential")])
def test_torchvision_schedule_names_are_stored_as_the_short_ones(alias, name):
    given = TrainConfig(lr_scheduler=alias)
    assert check(given).lr_scheduler == name and given.lr_scheduler == alias  # the caller's config untouched


@pytest.mark.parametrize("saved, given", [("cosine", "cosineannealinglr"), ("step", "steplr")])
def test_a_checkpoints_schedule_resumes_under_its_torchvision_name_and_back(saved, given):
    cfg, changed = resolve(check(TrainConfig(resume="c.npz", epochs=3, lr_scheduler=given)),
                           dict(SAVED, lr_scheduler=saved))
    assert cfg.lr_scheduler == saved and changed == {"epochs"}
    alias_saved = dict(SAVED, lr_scheduler=check(TrainConfig(lr_scheduler=given)).lr_scheduler)  # a new checkpoint
    assert resolve(check(TrainConfig(resume="c.npz", epochs=3, lr_scheduler=saved)), alias_saved)[1] == {"epochs"}


def test_on_resume_another_optimizer_is_refused():
    assert ON_RESUME["opt"][0] == "refused"
    with pytest.raises(ConfigError, match=r"--opt 'adamw' differs from the checkpoint's 'sgd' \(c.npz\), and can't "
                                          r"change on --resume: the optimizer's state"):
        resolve(TrainConfig(resume="c.npz", epochs=3, opt="adamw"), SAVED)
    old = {k: v for k, v in SAVED.items() if k != "opt"}  # a checkpoint written before --opt: SGD
    assert resolve(TrainConfig(resume="c.npz", epochs=3, opt="sgd"), old)[1] == {"epochs"}


@pytest.mark.parametrize("name, value", [("label_smoothing", 0.1), ("lr_warmup_epochs", 1),
                                         ("norm_weight_decay", 0.0)])
def test_on_resume_the_new_flags_that_apply_are_used_and_said(name, value):
    logs = []
    cfg, changed = resolve(TrainConfig(resume="c.npz", epochs=3, **{name: value}), SAVED, logs.append)
    assert getattr(cfg, name) == value and changed == {name, "epochs"}
    assert any(line.startswith(f"note: {flag(name)} {value!r} applies from here on") for line in logs)
