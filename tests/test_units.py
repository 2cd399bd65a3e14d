"""Epochs or iterations: ``solver.interval``, ``solver.iters_per_epoch`` and unit strings
("90ep", "500it", "10%") on every duration key, resolved once at build time."""

from __future__ import annotations

import math
import warnings

import pytest
import torch

import schedreg
from schedreg import ConfigError, solver_config
from schedreg.integrations.cli import main
from schedreg.integrations.lightning import configure_optimizers

try:  # `python -m pytest` from the repo root
    from tests.test_cli import table
except ModuleNotFoundError:  # plain `pytest`: tests/ itself is on sys.path
    from test_cli import table  # type: ignore[no-redef]
try:  # `python -m pytest` from the repo root
    from tests.curves import lrs
except ModuleNotFoundError:  # plain `pytest`: tests/ itself is on sys.path
    from curves import lrs  # type: ignore[no-redef]

PER_EPOCH = 7


# (name, the schedule in epochs, the same schedule written in iterations by hand)
CONVERSIONS = [
    (
        "WarmupMultiStepLR",
        {"max_iter": 12, "steps": [5, 9], "warmup_iters": 2},
        {"max_iter": 12 * PER_EPOCH, "steps": [5 * PER_EPOCH, 9 * PER_EPOCH], "warmup_iters": 2 * PER_EPOCH},
    ),
    (
        "WarmupCosineLR",
        {"max_iter": 12, "warmup_iters": 1, "warmup_method": "cosine"},
        {"max_iter": 12 * PER_EPOCH, "warmup_iters": PER_EPOCH, "warmup_method": "cosine"},
    ),
    ("StepLR", {"warmup_iters": 1, "args": {"step_size": 3}}, {"warmup_iters": 7, "args": {"step_size": 21}}),
    (
        "CosineAnnealingWarmRestarts",
        {"args": {"T_0": 4, "T_mult": 2}},
        {"args": {"T_0": 4 * PER_EPOCH, "T_mult": 2}},
    ),
    (
        "CosineLRScheduler",
        {"args": {"t_initial": 10, "warmup_t": 2, "warmup_lr_init": 1e-4, "t_in_epochs": True}},
        {"args": {"t_initial": 70, "warmup_t": 14, "warmup_lr_init": 1e-4}},
    ),
    (
        "warmup_stable_decay",
        {"max_iter": 12, "warmup_iters": 2, "args": {"num_decay_steps": 4}},
        {"max_iter": 84, "warmup_iters": 14, "args": {"num_decay_steps": 28}},
    ),
    (
        "Interpolate",
        {"args": {"points": [[0, 1.0], [4, 0.2], [10, 0.5]]}},
        {"args": {"points": [[0, 1.0], [28, 0.2], [70, 0.5]]}},
    ),
]


@pytest.mark.parametrize(("name", "in_epochs", "in_iterations"), CONVERSIONS, ids=[c[0] for c in CONVERSIONS])
def test_an_epoch_schedule_with_iters_per_epoch_is_the_same_schedule_in_iterations(
    name, in_epochs, in_iterations
):
    converted = {"lr_scheduler_name": name, "interval": "epoch", "iters_per_epoch": PER_EPOCH, **in_epochs}
    if name == "CosineLRScheduler":
        del converted["interval"]  # args.t_in_epochs says it
    by_hand = {"lr_scheduler_name": name, **in_iterations}
    assert lrs(converted, 90) == lrs(by_hand, 90)


def test_unit_strings_resolve_in_every_duration_key():
    solver = solver_config(
        {
            "solver": {
                "iters_per_epoch": 500,
                "max_iter": "90ep",
                "steps": ["30ep", "80%", 44000],
                "warmup_iters": "1.5ep",
                "checkpoint_period": "10ep",
                "args": {"T_max": "50%", "milestones": ["500it", "2ep"], "gamma": 0.5},
            }
        }
    )
    assert solver.max_iter == 90 * 500
    assert solver.steps == (30 * 500, round(0.8 * 45000), 44000)
    assert solver.warmup_iters == 750 and solver.checkpoint_period == 5000
    assert solver.args == {"T_max": 22500, "milestones": [500, 1000], "gamma": 0.5}


def test_a_percentage_rounds_to_the_nearest_step():
    assert solver_config({"max_iter": 45, "warmup_iters": "10%"}).warmup_iters == 4  # 4.5, halves to even
    assert solver_config({"max_iter": 45, "warmup_iters": "11%"}).warmup_iters == 5  # 4.95


def test_a_schedule_stepped_per_epoch_counts_epochs_and_refuses_iterations():
    solver = solver_config({"interval": "epoch", "max_iter": 90, "steps": ["30ep", 60]})
    assert (solver.max_iter, solver.steps, solver.units.step_unit) == (90, (30, 60), "epoch")
    with pytest.raises(
        ConfigError, match=r"solver.warmup_iters='500it' counts iterations.*set solver.iters_per_epoch"
    ):
        solver_config({"interval": "epoch", "max_iter": 90, "warmup_iters": "500it"})


@pytest.mark.parametrize(
    ("solver", "message"),
    [
        ({"max_iter": "90ep"}, "solver.max_iter='90ep' counts epochs: set solver.iters_per_epoch"),
        ({"max_iter": "10%"}, "solver.max_iter='10%' is a percentage of max_iter, which is not set"),
        ({"warmup_iters": "abc"}, "solver.warmup_iters must be an integer, or a string like '90ep'"),
        ({"steps": ["5 epochs"]}, "solver.steps[0] must be an integer, or a string like"),
        ({"warmup_iters": "2.5it"}, "solver.warmup_iters must be a whole number of steps, got '2.5it'"),
        ({"max_iter": 100, "warmup_iters": "150%"}, "solver.warmup_iters must be at most 100% of max_iter"),
        ({"warmup_iters": "10%"}, "solver.warmup_iters='10%' is a percentage of max_iter, which is not set"),
        ({"args": {"T_max": "10%"}}, "solver.args.T_max='10%' is a percentage of max_iter, which is not set"),
        ({"iters_per_epoch": 0}, "solver.iters_per_epoch must be an integer >= 1"),
        ({"interval": "epochs"}, "solver.interval must be one of iter, epoch"),
        ({"max_iter": 100, "steps": ["90%", "10%"]}, "solver.steps must be increasing, got [90, 10]"),
        ({"args": {"T_max": "9ep"}}, "solver.args.T_max='9ep' counts epochs"),
        ({"interval": "iter", "args": {"t_in_epochs": True}}, "t_in_epochs=True contradicts solver.interval"),
    ],
)
def test_unresolvable_durations_are_errors_naming_the_key(solver, message):
    with pytest.raises(ConfigError) as info:
        solver_config({"solver": solver})
    assert message in str(info.value)


def test_detectron2_upper_case_keys_are_named_in_upper_case():
    with pytest.raises(
        ConfigError, match=r"SOLVER\.MAX_ITER='90ep' counts epochs: set SOLVER\.ITERS_PER_EPOCH"
    ):
        solver_config({"SOLVER": {"MAX_ITER": "90ep"}})


def test_a_rule_inherits_the_units_and_converts_only_its_own_durations():
    cfg = {
        "interval": "epoch",
        "iters_per_epoch": 10,
        "max_iter": 9,
        "steps": [3],
        "param_groups": {"head": {"params": "head.*", "steps": [6], "warmup_iters": "1ep"}},
    }
    rule = solver_config(cfg).param_groups[0].schedule
    assert (rule.max_iter, rule.steps, rule.warmup_iters) == (90, (60,), 10)


def test_stepping_an_epoch_schedule_past_its_end_warns_once_naming_the_fix():
    with pytest.warns(
        UserWarning, match=r"past solver.max_iter=5 epochs.*set solver.iters_per_epoch"
    ) as record:
        lrs(
            {"lr_scheduler_name": "WarmupCosineLR", "interval": "epoch", "max_iter": 5, "warmup_iters": 1}, 20
        )
    assert len(record) == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        lrs({"lr_scheduler_name": "WarmupCosineLR", "max_iter": 5, "warmup_iters": 1}, 20)  # iterations: fine


def test_lightning_steps_an_epoch_schedule_per_epoch_and_a_converted_one_per_step():
    module = torch.nn.Linear(2, 2)
    cosine = {"lr_scheduler_name": "WarmupCosineLR", "interval": "epoch", "max_iter": 90, "warmup_iters": 5}
    per_epoch = configure_optimizers(cosine, module)
    converted = configure_optimizers({**cosine, "iters_per_epoch": 10}, module)
    assert per_epoch["lr_scheduler"]["interval"] == "epoch"
    assert converted["lr_scheduler"]["interval"] == "step"


def test_world_size_scaling_keeps_the_epochs_of_an_epoch_schedule_and_scales_its_lr():
    cfg = {"interval": "epoch", "max_iter": 90, "steps": [30], "reference_world_size": 8, "base_lr": 0.1}
    scaled = schedreg.scale_to_world_size({"solver": {**cfg, "ims_per_batch": 16}}, 16)
    assert (scaled.max_iter, scaled.steps, scaled.base_lr) == (90, (30,), pytest.approx(0.2))


def test_show_says_what_a_step_is_and_warns_about_a_likely_unit_mismatch(capsys):
    assert (
        main(
            [
                "show",
                "solver.interval=epoch",
                "solver.max_iter=90",
                "solver.steps=[60]",
                "solver.warmup_iters=5",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "# stepped once per EPOCH: 90 epochs" in out and "set solver.iters_per_epoch" in out
    assert (
        main(
            [
                "show",
                "solver.iters_per_epoch=100",
                "solver.max_iter=90",
                "solver.steps=[60]",
                "solver.warmup_iters=5",
            ]
        )
        == 0
    )
    assert "warning: solver.max_iter=90 is less than one epoch" in capsys.readouterr().out
    assert (
        main(
            [
                "show",
                "solver=cosine",
                "solver.interval=epoch",
                "solver.iters_per_epoch=100",
                "solver.max_iter=90",
                "solver.warmup_iters=5ep",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "9000 iterations = 90 epochs of 100 (converted from epochs)" in out and "warning" not in out


def test_unit_strings_work_from_the_command_line_and_bad_ones_fail_naming_the_key(capsys):
    overrides = [
        "solver=cosine",
        "solver.iters_per_epoch=10",
        "solver.max_iter=20ep",
        "solver.warmup_iters=10%",
    ]
    assert main(["show", *overrides]) == 0
    rows = table(capsys.readouterr().out)
    # detectron2's cosine over 200 iterations after a 20-iteration linear warmup from 0.001
    assert rows[199] == pytest.approx(0.001 * 0.5 * (1 + math.cos(math.pi * 199 / 200)), rel=1e-12)
    assert main(["show", "solver.warmup_iters=abc"]) == 2
    forms = "an integer, or a string like '90ep', '500it', '10%', '300Btok' or '60Msp'"
    assert f"solver.warmup_iters must be {forms}, got 'abc'" in capsys.readouterr().err


def test_lightning_steps_a_plateau_schedule_converted_to_iterations_per_step_and_a_plain_one_per_epoch():
    module = torch.nn.Linear(2, 2)
    plateau = {"lr_scheduler_name": "ReduceLROnPlateau", "args": {"patience": 3}}
    converted = {**plateau, "interval": "epoch", "iters_per_epoch": 500, "max_iter": 90}
    assert configure_optimizers(converted, module)["lr_scheduler"]["interval"] == "step"
    assert configure_optimizers(plateau, module)["lr_scheduler"]["interval"] == "epoch"


def test_a_rule_with_a_longer_epoch_schedule_does_not_warn_before_its_own_end():
    cfg = {
        "lr_scheduler_name": "WarmupCosineLR",
        "interval": "epoch",
        "max_iter": 10,
        "warmup_iters": 1,
        "param_groups": {"head": {"params": "*", "max_iter": 20}},
    }
    optimizer = torch.optim.SGD([{"params": [torch.nn.Parameter(torch.zeros(1))], "name": "head"}], lr=0.1)
    scheduler = schedreg.build_lr_scheduler(cfg, optimizer)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for _ in range(20):
            optimizer.step()
            scheduler.step()
    with pytest.warns(UserWarning, match="past solver.max_iter=20 epochs"):
        optimizer.step()
        scheduler.step()


def test_world_size_scaling_of_a_converted_schedule_scales_iters_per_epoch_too():
    cfg = {
        "interval": "epoch",
        "iters_per_epoch": 10,
        "max_iter": 10,
        "steps": [5],
        "reference_world_size": 8,
    }
    scaled = schedreg.scale_to_world_size({"solver": {**cfg, "ims_per_batch": 16}}, 16)
    assert (scaled.max_iter, scaled.steps, scaled.iters_per_epoch) == (50, (25,), 5)


TOKENS = 4 * 2**20  # a global batch of 1024 sequences of 4096 tokens


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("max_iter", "300Btok", round(300e9 / TOKENS)),
        ("max_iter", "2e9tok", round(2e9 / TOKENS)),
        ("max_iter", "1.5Ttok", round(1.5e12 / TOKENS)),
        ("warmup_iters", "60M sp", round(60e6 / 1024)),
        ("warmup_iters", "5Kit", 5000),
    ],
)
def test_durations_in_tokens_and_samples_are_the_nearest_step_of_what_each_step_consumes(
    key, value, expected
):
    solver = solver_config(
        {
            "solver": {
                "lr_scheduler_name": "cosine",
                "max_iter": 10**6,
                "tokens_per_step": TOKENS,
                "samples_per_step": 1024,
                key: value,
            }
        }
    )
    assert getattr(solver, key) == expected


def test_a_schedule_written_in_tokens_holds_when_the_batch_size_changes():
    def warmup_end_in_tokens(tokens_per_step: int) -> int:
        solver = solver_config(
            {
                "solver": {
                    "lr_scheduler_name": "cosine",
                    "tokens_per_step": tokens_per_step,
                    "max_iter": "100Btok",
                    "warmup_iters": "1Btok",
                }
            }
        )
        return solver.warmup_iters * tokens_per_step

    for per_step in (2**20, 2**21, 2**22):  # within half a step of a billion tokens, whatever the batch
        assert abs(warmup_end_in_tokens(per_step) - 10**9) <= per_step / 2


@pytest.mark.parametrize(
    ("solver", "message"),
    [
        ({"max_iter": "300Btok"}, r"solver\.max_iter='300Btok' counts tokens: set solver\.tokens_per_step"),
        ({"max_iter": 100, "warmup_iters": "10Msp"}, r"counts samples: set solver\.samples_per_step"),
        ({"max_iter": 100, "warmup_iters": "10K%"}, r"a percentage takes no K suffix"),
        ({"max_iter": "1Btok", "tokens_per_step": 0}, r"solver\.tokens_per_step must be an integer >= 1"),
    ],
)
def test_a_token_or_sample_duration_without_its_size_per_step_is_refused_naming_it(solver, message):
    with pytest.raises(ConfigError, match=message):
        solver_config({"solver": {"lr_scheduler_name": "cosine", **solver}})


def test_token_durations_work_from_the_command_line(capsys):
    overrides = ["solver=cosine", "solver.tokens_per_step=1048576", "solver.max_iter=1Btok"]
    assert main(["show", *overrides, "solver.warmup_iters=100Mtok"]) == 0
    out = capsys.readouterr().out
    assert f"{round(1e9 / 2**20)} iterations" in out


def test_a_token_duration_under_half_a_step_is_refused_rather_than_made_0():
    with pytest.raises(
        ConfigError, match=r"solver\.warmup_iters='4tok' is less than half a step of 10 tokens"
    ):
        solver_config(
            {"solver": {"lr_scheduler_name": "cosine", "tokens_per_step": 10, "warmup_iters": "4tok"}}
        )
