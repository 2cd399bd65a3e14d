"""solver.clock: a schedule counted in the tokens (samples) each update consumed, stepped
with step(tokens=...); a batch-size ramp (solver.batch_size_schedule) that gives each
update's batch and may rescale the lr. Expected values are the formulas written here:
transformers' cosine with warmup at the position (tokens consumed so far), times 1, b / b0
or sqrt(b / b0) for the ramp's batch b; Megatron's cosine at its consumed samples."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf

import schedreg
from schedreg import ConfigError
from schedreg.integrations.cli import compose, main
from schedreg.schedules.ramp import BatchRamp

try:  # `python -m pytest` from the repo root
    from tests.curves import LRS, hf_cosine, sgd
except ModuleNotFoundError:  # plain `pytest`: tests/ itself is on sys.path
    from curves import LRS, hf_cosine, sgd  # type: ignore[no-redef]

TOKENS_PER_SAMPLE = 4
RAMP = "0:2 200:4 600:8"
"""Thresholds in tokens: 2 samples a batch, 4 from 200 tokens on, 8 from 600."""


def ramp_size(tokens: int) -> int:
    return 2 if tokens < 200 else 4 if tokens < 600 else 8


def on_tokens(**extra: Any) -> dict[str, Any]:
    solver = {
        "lr_scheduler_name": "cosine",
        "clock": "tokens",
        "max_iter": "1000tok",
        "warmup_iters": "100tok",
        **extra,
    }
    return {"solver": solver}


def lrs(optimizer: torch.optim.Optimizer) -> list[float]:
    return [float(g["lr"]) for g in optimizer.param_groups]


def test_a_token_clock_steps_by_the_tokens_each_update_consumed():
    optimizer = sgd()
    scheduler = schedreg.build_lr_scheduler(on_tokens(), optimizer)
    position = 0
    for consumed in (37, 0, 250, 1, 99, 300, 13, np.int64(7), torch.tensor(21)):
        optimizer.step()
        scheduler.step(tokens=consumed)
        position += int(consumed)
        expected = [base * hf_cosine(position, 100, 1000) for base in LRS]
        assert lrs(optimizer) == pytest.approx(expected, rel=1e-12, abs=1e-300), position
    assert scheduler.last_epoch == position


RESCALES = {"none": lambda b: 1.0, "linear": lambda b: b / 2, "sqrt": lambda b: math.sqrt(b / 2)}


@pytest.mark.parametrize("rescale", list(RESCALES))
def test_a_ramp_gives_each_updates_batch_and_a_plain_step_consumes_it(rescale):
    cfg = on_tokens(tokens_per_sample=TOKENS_PER_SAMPLE, batch_size_schedule=RAMP, batch_size_rescale=rescale)
    optimizer = sgd()
    scheduler = schedreg.build_lr_scheduler(cfg, optimizer)
    position, steps = 0, 0
    while position < 1000:
        size = ramp_size(position)
        assert scheduler.batch_size == size, position
        expected = [base * hf_cosine(position, 100, 1000) * RESCALES[rescale](size) for base in LRS]
        assert lrs(optimizer) == pytest.approx(expected, rel=1e-12, abs=1e-300), position
        optimizer.step()
        scheduler.step()
        position += size * TOKENS_PER_SAMPLE
        steps += 1
    assert scheduler.last_epoch == position
    assert cfg["solver"]["batch_size_schedule"] == RAMP  # read, not changed


def test_a_resumed_token_clock_continues_exactly():
    cfg = on_tokens(tokens_per_sample=TOKENS_PER_SAMPLE, batch_size_schedule=RAMP, batch_size_rescale="sqrt")
    consumed = [5, 17, 40, 3, 60, 61, 90, 8, 33, 100, 2, 44]

    def run(resume_at: int | None) -> list[list[float]]:
        optimizer = sgd()
        scheduler = schedreg.build_lr_scheduler(cfg, optimizer)
        out = []
        for i, n in enumerate(consumed):
            if i == resume_at:
                state = scheduler.state_dict()
                optimizer = sgd()
                scheduler = schedreg.build_lr_scheduler(cfg, optimizer)
                scheduler.load_state_dict(state)
            optimizer.step()
            scheduler.step(tokens=n)
            out.append([*lrs(optimizer), scheduler.batch_size])
        return out

    assert run(resume_at=6) == run(resume_at=None)


def test_token_thresholds_are_rounded_down_to_a_whole_sample_as_megatron_does():
    cfg = on_tokens(tokens_per_sample=3, batch_size_schedule="0:2 100:4")  # 100 tokens: 33 samples
    scheduler = schedreg.build_lr_scheduler(cfg, sgd())
    scheduler.seek(98)
    assert scheduler.batch_size == 2
    scheduler.seek(99)  # 99 tokens = 33 samples
    assert scheduler.batch_size == 4


def test_a_sample_clock_reads_token_thresholds_in_whole_samples():
    solver = {**on_tokens()["solver"], "clock": "samples", "max_iter": 300, "warmup_iters": 10}
    scheduler = schedreg.build_lr_scheduler(
        {"solver": {**solver, "tokens_per_sample": 3, "batch_size_schedule": "0:2 100tok:4 60sp:8"}}, sgd()
    )
    got = []
    for position in (0, 32, 33, 59, 60):
        scheduler.seek(position)
        got.append(scheduler.batch_size)
    assert got == [2, 2, 4, 4, 8]


DURATIONS = [
    ({"clock": "tokens"}, 5000, 5000),
    ({"clock": "tokens"}, "2e3tok", 2000),
    ({"clock": "tokens"}, "2.01Ktok", 2010),
    ({"clock": "tokens", "tokens_per_sample": 4}, "10sp", 40),
    ({"clock": "tokens", "tokens_per_step": 64}, "10it", 640),
    ({"clock": "tokens", "samples_per_step": 8, "tokens_per_sample": 4}, "10it", 320),
    ({"clock": "samples"}, "3Ksp", 3000),
    ({"clock": "samples", "samples_per_step": 8}, "10it", 80),
    ({"clock": "samples", "tokens_per_sample": 4}, "101tok", 25),
]


@pytest.mark.parametrize(("keys", "value", "expected"), DURATIONS)
def test_durations_count_the_clocks_unit(keys, value, expected):
    solver = schedreg.solver_config({"solver": {"max_iter": 10**6, "warmup_iters": value, **keys}})
    assert solver.warmup_iters == expected


REFUSED = [
    ({"batch_size_schedule": RAMP, "clock": "step"}, "set solver.clock: tokens"),
    ({"batch_size_schedule": RAMP, "tokens_per_sample": 4, "tokens_per_step": 64}, "changes what a step"),
    ({"batch_size_schedule": RAMP}, "solver.tokens_per_sample"),
    ({"batch_size_rescale": "sqrt"}, "solver.batch_size_schedule is not set"),
    ({"batch_size_rescale": "square"}, "none, linear, sqrt"),
    ({"batch_size_schedule": "100:2 200:4", "tokens_per_sample": 1}, "first threshold must be 0"),
    ({"batch_size_schedule": "0:2 200:4 200:8", "tokens_per_sample": 1}, "same threshold"),
    ({"batch_size_schedule": "0:1.5", "tokens_per_sample": 1}, "whole number"),
    ({"batch_size_schedule": "0:0", "tokens_per_sample": 1}, "at least 1"),
    ({"batch_size_schedule": "0-768", "tokens_per_sample": 1}, "THRESHOLD:BATCH_SIZE"),
    ({"batch_size_schedule": [[0, 2], [1.5, 4]], "tokens_per_sample": 1}, "threshold must be"),
    ({"batch_size_schedule": "0:2 10sp:4"}, "solver.tokens_per_sample"),
    ({"interval": "epoch"}, "keep one"),
    ({"clock": "minutes"}, "step, tokens, samples"),
    ({"warmup_iters": "10ep", "iters_per_epoch": 5}, "write it in tok"),
    ({"warmup_iters": "10it"}, "no size per step is set"),
    (
        {"warmup_iters": "10it", "batch_size_schedule": RAMP, "tokens_per_sample": 4},
        "a batch-size ramp changes what a step consumes",
    ),
    ({"warmup_iters": "1.5tok"}, "whole number of tokens"),
    ({"warmup_iters": "9007199254740993tok"}, "more than 2"),
    ({"batch_size_schedule": "0:2 1e400:4", "tokens_per_sample": 1}, "threshold must be from 0 to 2"),
    ({"batch_size_schedule": "0:1e400", "tokens_per_sample": 1}, "batch size must be from 0 to 2"),
    ({"tokens_per_step": 64, "samples_per_step": 8, "tokens_per_sample": 4}, "keep two of them"),
    ({"clock": "samples", "tokens_per_step": 64}, "no whole number of samples"),
    ({"warmup_iters": "10sp"}, "set solver.tokens_per_sample"),
]


@pytest.mark.parametrize(("keys", "message"), REFUSED)
def test_contradicting_or_incomplete_clock_settings_are_refused_naming_the_key(keys, message):
    with pytest.raises(ConfigError, match=message):
        schedreg.build_lr_scheduler(on_tokens(**keys), sgd())


BUILD_REFUSED = [
    ({"lr_scheduler_name": "StepLR", "args": {"step_size": 100}}, "counts its own steps"),
    ({"lr_scheduler_name": "CosineLRScheduler", "args": {"t_initial": 100}}, "counts its own steps"),
    ({"lr_scheduler_name": "cosine", "max_iter": None}, "max_iter is not set"),
    (
        {"lr_scheduler_name": "WarmupCosineLR", "warmup_iters": None},
        r"warmup_iters is not set, and its default \(1000 steps\)",
    ),
    ({"lr_scheduler_name": "WarmupMultiStepLR"}, "steps is not set"),
    ({"lr_scheduler_name": "inverse_sqrt", "warmup_iters": 0}, r"args.timescale is not set"),
]


@pytest.mark.parametrize(("keys", "message"), BUILD_REFUSED)
def test_schedules_that_would_count_steps_on_a_token_clock_are_refused(keys, message):
    solver = {k: v for k, v in {**on_tokens()["solver"], **keys}.items() if v is not None}
    with pytest.raises(ConfigError, match=message):
        schedreg.build_lr_scheduler({"solver": solver}, sgd())


def test_a_default_length_in_steps_is_converted_where_a_steps_size_is_fixed():
    """detectron2's 1000-step warmup is 1000 x tokens_per_step tokens."""
    cfg = {
        "solver": {
            "lr_scheduler_name": "WarmupCosineLR",
            "clock": "tokens",
            "tokens_per_step": 10,
            "max_iter": 100_000,
        }
    }
    optimizer = sgd()
    scheduler = schedreg.build_lr_scheduler(cfg, optimizer)
    optimizer.step()
    scheduler.step(tokens=5000)  # halfway through 10,000 tokens of warmup
    # fvcore's WarmupParamScheduler: from factor x cosine(0) to the cosine at the warmup's end
    factor, alpha = 0.001, 5000 / 10_000
    end = 0.5 * (1 + math.cos(math.pi * 10_000 / 100_000))
    expected = [base * (factor * (1 - alpha) + end * alpha) for base in LRS]
    assert lrs(optimizer) == pytest.approx(expected, rel=1e-12)
    scheduler.step()  # a plain step consumes tokens_per_step
    assert scheduler.last_epoch == 5010


@pytest.mark.parametrize("bad", [-1, 1.5, True, "7", torch.tensor([1, 2])])
def test_a_count_that_is_no_whole_number_is_refused(bad):
    scheduler = schedreg.build_lr_scheduler(on_tokens(), sgd())
    with pytest.raises(ValueError, match="whole number >= 0"):
        scheduler.step(tokens=bad)


def test_the_step_clock_refuses_a_count_it_would_ignore():
    scheduler = schedreg.build_lr_scheduler(
        {"solver": {"lr_scheduler_name": "cosine", "max_iter": 10}}, sgd()
    )
    with pytest.raises(TypeError, match=r"solver\.clock: tokens"):
        scheduler.step(tokens=100)


def test_a_token_clock_without_a_size_per_step_needs_the_count():
    scheduler = schedreg.build_lr_scheduler(on_tokens(), sgd())
    with pytest.raises(TypeError, match=r"step\(tokens=n\)"):
        scheduler.step()


def test_samples_on_a_token_clock_count_tokens_per_sample():
    optimizer = sgd()
    scheduler = schedreg.build_lr_scheduler(on_tokens(tokens_per_sample=4), optimizer)
    optimizer.step()
    scheduler.step(samples=30)
    assert scheduler.last_epoch == 120
    assert lrs(optimizer) == pytest.approx([b * hf_cosine(120, 100, 1000) for b in LRS], rel=1e-12)


def test_advance_on_update_holds_the_position_without_an_update():
    optimizer = sgd()
    scheduler = schedreg.build_lr_scheduler(on_tokens(advance_on="update"), optimizer)
    optimizer.step()
    scheduler.step(tokens=50)
    scheduler.step(tokens=50)  # no update in between: a micro-batch's call
    assert scheduler.last_epoch == 50


def test_param_group_rules_follow_the_token_clock():
    rules = {"head": {"params": ["1.*"], "lr_factor": 10.0}}
    cfg = on_tokens(base_lr=0.1, param_groups=rules)
    model = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Linear(2, 2))
    optimizer = schedreg.build_optimizer(cfg, model)
    scheduler = schedreg.build_lr_scheduler(cfg, optimizer)
    bases = [g["initial_lr"] for g in optimizer.param_groups]
    for consumed in (30, 200, 11):
        optimizer.step()
        scheduler.step(tokens=consumed)
    expected = [b * hf_cosine(241, 100, 1000) for b in bases]
    assert lrs(optimizer) == pytest.approx(expected, rel=1e-12)
    assert scheduler.last_epoch == 241


def test_resuming_under_another_ramp_is_refused_naming_it():
    cfg = on_tokens(tokens_per_sample=4, batch_size_schedule=RAMP)
    scheduler = schedreg.build_lr_scheduler(cfg, sgd())
    scheduler.seek(40)
    state = scheduler.state_dict()
    other = on_tokens(tokens_per_sample=4, batch_size_schedule="0:2 300:4")
    with pytest.raises(ConfigError, match="batch_size_schedule"):
        schedreg.build_lr_scheduler(other, sgd()).load_state_dict(state)


def test_one_clock_config_has_one_meaning_as_a_dict_an_omegaconf_node_and_from_hydra():
    keys = {
        "clock": "tokens",
        "tokens_per_sample": TOKENS_PER_SAMPLE,
        "max_iter": "1000tok",
        "warmup_iters": "100tok",
        "batch_size_schedule": RAMP,
        "batch_size_rescale": "linear",
    }
    hydra = compose(
        [
            "solver=cosine",
            *(f"solver.{k}={v!r}" if " " in str(v) else f"solver.{k}={v}" for k, v in keys.items()),
        ],
        None,
        "schedreg",
    )
    cfgs = [
        {"solver": {"lr_scheduler_name": "WarmupCosineLR", **keys}},
        OmegaConf.create({"solver": {"lr_scheduler_name": "WarmupCosineLR", **keys}}),
        hydra,
    ]
    runs = []
    for cfg in cfgs:
        optimizer = sgd()
        scheduler = schedreg.build_lr_scheduler(cfg, optimizer)
        out = []
        for _ in range(40):
            optimizer.step()
            scheduler.step()
            out.append([*lrs(optimizer), scheduler.batch_size])
        runs.append(out)
    assert runs[0] == runs[1] == runs[2]


ON_THE_COMMAND_LINE = [
    "solver=cosine",
    "solver.clock=tokens",
    "solver.tokens_per_sample=4",
    "solver.max_iter=1000tok",
    "solver.warmup_iters=100tok",
    "solver.batch_size_schedule='0:2 200:4 600:8'",
]
"""detectron2's WarmupCosineLR over 1000 tokens, warming up over 100, on RAMP."""


def test_schedreg_show_counts_the_run_in_tokens_and_steps(capsys):
    assert main(["show", *ON_THE_COMMAND_LINE, "solver.batch_size_rescale=sqrt"]) == 0
    out = capsys.readouterr().out
    steps = BatchRamp((0, 200, 600), (2, 4, 8)).steps_to(1000, 4)
    assert f"1,000 tokens = {steps} steps" in out
    assert "batch size (samples): 2 from 0, 4 from 200, 8 from 600 tokens; lr rescale: sqrt" in out
    assert "over 100 tokens" in out


def test_schedreg_plot_draws_the_ramp(tmp_path):
    pytest.importorskip("matplotlib")
    out = tmp_path / "ramp.png"
    assert main(["plot", *ON_THE_COMMAND_LINE, "solver.batch_size_rescale=sqrt", "-o", str(out)]) == 0
    assert out.stat().st_size > 0


def megatron_steps(schedule: list[tuple[int, int]], total: int) -> int:
    """Megatron's update_train_iters with a step batch-size schedule, step by step."""
    iterations = consumed = 0
    while consumed < total:
        consumed += [size for at, size in schedule if at <= consumed][-1]
        iterations += 1
    return iterations


@pytest.mark.parametrize("end", [1, 9, 10, 11, 30, 999, 1000])
def test_a_ramps_step_count_is_megatrons(end):
    schedule = [(0, 3), (10, 5), (12, 7), (400, 11)]
    ramp = BatchRamp(tuple(a for a, _ in schedule), tuple(s for _, s in schedule))
    assert ramp.steps_to(end) == megatron_steps(schedule, end)


MEGATRON_ARGS = {
    "lr": 0.1,
    "min_lr": 0.001,
    "lr_warmup_init": 0.0,
    "lr_decay_style": "cosine",
    "train_samples": 4000,
    "lr_warmup_samples": 400,
    "lr_decay_samples": 3600,
    "micro_batch_size": 1,
    "seq_length": 4,
    "step_batch_size_schedule": "0:8 2K:16 3K:32",  # tokens: 500 and 750 samples
}


def megatron_cosine(n: int) -> float:
    warmup, decay, peak, low = 400, 3600, 0.1, 0.001
    if n <= warmup:
        return peak * n / warmup
    if n > decay:
        return low
    return low + 0.5 * (math.cos(math.pi * (n - warmup) / (decay - warmup)) + 1.0) * (peak - low)


def test_megatrons_step_batch_size_schedule_runs_as_its_training_loop():
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    scheduler = schedreg.build_lr_scheduler(MEGATRON_ARGS, optimizer)
    consumed = 0
    while consumed < 4000:
        size = 8 if consumed < 500 else 16 if consumed < 750 else 32
        assert scheduler.batch_size == size
        assert scheduler.num_steps == consumed
        assert lrs(optimizer)[0] == pytest.approx(megatron_cosine(consumed), rel=1e-12, abs=1e-300)
        optimizer.step()
        scheduler.step(increment=size)
        consumed += size


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"rampup_batch_size": [16, 8, 3000]}, "Megatron ignores it now"),
        ({"global_batch_size": 32}, "the ramp gives the batch size"),
        (
            {"train_samples": None, "train_iters": 100, "lr_warmup_samples": 0, "lr_decay_samples": None},
            "samples",
        ),
    ],
)
def test_megatron_ramp_arguments_it_would_ignore_or_refuse_are_refused(extra, message):
    args = {k: v for k, v in {**MEGATRON_ARGS, **extra}.items() if v is not None}
    with pytest.raises(ConfigError, match=message):
        schedreg.build_lr_scheduler(args, sgd())


def test_a_cooldown_to_an_lr_under_a_rescale_falls_from_the_rescaled_lr_to_that_lr():
    """The cooldown takes the lr as trained (rescaled) at its start down to to_lr, whatever
    the ramp does after it."""
    branch = {"start": 700, "length": 200, "to_lr": 0.01}
    cfg = on_tokens(
        tokens_per_sample=1,
        batch_size_schedule="0:2 200:4 800:8",
        batch_size_rescale="linear",
        cooldown=branch,
    )
    optimizer = sgd()
    scheduler = schedreg.build_lr_scheduler(cfg, optimizer)
    for position in (650, 700, 750, 850, 900, 950):
        scheduler.seek(position)
        for g, base in enumerate(LRS):
            v0 = base * hf_cosine(700, 100, 1000) * 4 / 2
            size = 2 if position < 200 else 4 if position < 800 else 8
            expected = base * hf_cosine(position, 100, 1000) * size / 2
            if position >= 700:
                expected = 0.01 + (v0 - 0.01) * (1 - min(1.0, (position - 700) / 200))
            assert lrs(optimizer)[g] == pytest.approx(expected, rel=1e-12), (position, g)


def test_rescheduling_a_checkpoint_saved_on_another_clock_is_refused():
    steps = {"solver": {"lr_scheduler_name": "cosine", "max_iter": 1000, "on_resume_change": "reschedule"}}
    scheduler = schedreg.build_lr_scheduler(steps, sgd())
    scheduler.seek(5)
    tokens = on_tokens(on_resume_change="reschedule")
    with pytest.raises(ConfigError, match=r"position counts step \(solver\.clock\), this config's tokens"):
        schedreg.build_lr_scheduler(tokens, sgd()).load_state_dict(scheduler.state_dict())


def test_advance_on_update_counts_every_micro_batchs_tokens_at_the_update():
    optimizer = sgd()
    scheduler = schedreg.build_lr_scheduler(on_tokens(advance_on="update", max_iter=10_000), optimizer)
    for _ in range(10):
        for micro in range(4):
            if micro == 3:
                optimizer.step()
            scheduler.step(tokens=25)
    assert scheduler.last_epoch == 1000
    assert lrs(optimizer) == pytest.approx([b * hf_cosine(1000, 100, 10_000) for b in LRS], rel=1e-12)


MEGATRON_ON_TOKENS = {
    "solver": {
        "lr_scheduler_name": "megatron.OptimizerParamScheduler",
        "clock": "tokens",
        "tokens_per_sample": 4,
        "max_iter": 8000,
        "warmup_iters": 800,
        "args": {"lr_decay_style": "linear", "min_lr": 0.0},
    }
}
"""Megatron's linear decay in tokens: 800 warming up, to 0 at 8000."""


def test_megatrons_scheduler_on_a_clock_takes_tokens_and_samples():
    cfg = MEGATRON_ON_TOKENS
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    scheduler = schedreg.build_lr_scheduler(cfg, optimizer)
    optimizer.step()
    scheduler.step(tokens=100)
    optimizer.step()
    scheduler.step(samples=100)  # 400 tokens
    optimizer.step()
    scheduler.step(increment=100)  # Megatron's: samples
    assert scheduler.num_steps == 900
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.1 * (1 - (900 - 800) / (8000 - 800)), rel=1e-12)
    with pytest.raises(TypeError, match="not both"):
        scheduler.step(increment=1, tokens=4)


def test_a_plain_step_past_2_53_tokens_is_refused():
    cfg = {
        "solver": {
            "lr_scheduler_name": "cosine",
            "clock": "tokens",
            "tokens_per_step": 2**52,
            "max_iter": 2**53,
        }
    }
    scheduler = schedreg.build_lr_scheduler(cfg, sgd())
    scheduler.seek(2**53 - 10)
    with pytest.raises(ValueError, match="pass 2\\*\\*53"):
        scheduler.step()


def test_the_batch_size_on_the_step_clock_is_the_configs():
    for keys, expected in (
        ({"samples_per_step": 8}, 8),
        ({"tokens_per_step": 64, "tokens_per_sample": 4}, 16),
        ({}, None),
    ):
        cfg = {"solver": {"lr_scheduler_name": "cosine", "max_iter": 100, **keys}}
        assert schedreg.build_lr_scheduler(cfg, sgd()).batch_size == expected


def test_megatrons_ramp_must_be_its_string():
    args = {**MEGATRON_ARGS, "step_batch_size_schedule": [[0, 8], [2000, 16]]}
    with pytest.raises(ConfigError, match="Megatron's string"):
        schedreg.build_lr_scheduler(args, sgd())


def test_a_ramp_size_the_run_never_reaches_is_warned_of():
    cfg = on_tokens(tokens_per_sample=4, batch_size_schedule="0:2 200:4 5000:8")
    with pytest.warns(UserWarning, match="from 5,000 tokens on are never reached"):
        schedreg.build_lr_scheduler(cfg, sgd())


def test_export_on_a_clock_writes_one_row_per_update(tmp_path):
    out = tmp_path / "ramp.csv"
    assert main(["export", *ON_THE_COMMAND_LINE, "-o", str(out)]) == 0
    header, *rows = [line.split(",") for line in out.read_text().splitlines()]
    assert header == ["step", "tokens", "batch_size", "default"]
    position = 0
    for step, row in enumerate(rows):
        size = ramp_size(position)
        # detectron2's WarmupCosineLR (fvcore's warmup from 0.001 x the lr, to the cosine at its end)
        cosine = 0.5 * (1 + math.cos(math.pi * position / 1000))
        end, alpha = 0.5 * (1 + math.cos(math.pi * 100 / 1000)), min(position / 100, 1.0)
        expected = 0.001 * (cosine if position >= 100 else 0.001 * (1 - alpha) + end * alpha)
        assert [int(row[0]), int(row[1]), int(row[2])] == [step, position, size]
        assert float(row[3]) == pytest.approx(expected, rel=1e-12)
        position += size * 4
    assert len(rows) == BatchRamp((0, 200, 600), (2, 4, 8)).steps_to(1000, 4)


def test_a_checkpoint_between_micro_batches_keeps_their_tokens():
    cfg = on_tokens(advance_on="update", max_iter=10_000)

    def run(save_after: int | None) -> int:
        optimizer = sgd()
        scheduler = schedreg.build_lr_scheduler(cfg, optimizer)
        calls = 0
        for _ in range(5):
            for micro in range(4):
                if calls == save_after:
                    state = scheduler.state_dict()
                    optimizer = sgd()
                    scheduler = schedreg.build_lr_scheduler(cfg, optimizer)
                    scheduler.load_state_dict(state)
                if micro == 3:
                    optimizer.step()
                scheduler.step(tokens=25)
                calls += 1
        return scheduler.last_epoch

    assert run(save_after=10) == run(save_after=None) == 500  # saved after 2 of an update's 4 calls


@pytest.mark.parametrize("keys", [{"advance_on": "step"}, {"clock": "step"}])
def test_held_tokens_a_config_would_lose_are_refused(keys):
    scheduler = schedreg.build_lr_scheduler(on_tokens(advance_on="update", max_iter=10_000), sgd())
    state = {**scheduler.state_dict(), "held": 50}
    other = on_tokens(max_iter=10_000, **{"advance_on": "update", **keys})
    if keys.get("clock") == "step":
        other = {"solver": {"lr_scheduler_name": "cosine", "max_iter": 10_000, "advance_on": "update"}}
    with pytest.raises(ConfigError, match="holds held=50"):
        schedreg.build_lr_scheduler(other, sgd()).load_state_dict(state)


def test_a_refused_load_leaves_the_held_tokens_as_they_were():
    cfg = on_tokens(advance_on="update", max_iter=10_000)
    state = {**schedreg.build_lr_scheduler(cfg, sgd()).state_dict(), "held": 999, "param_groups": 3}
    optimizer = sgd()
    scheduler = schedreg.build_lr_scheduler(cfg, optimizer)
    with pytest.raises(ConfigError, match="covers 3 param groups"):
        scheduler.load_state_dict(state)
    optimizer.step()
    scheduler.step(tokens=25)
    assert scheduler.last_epoch == 25


def test_a_megatron_checkpoint_on_a_token_clock_is_refused():
    cfg = MEGATRON_ON_TOKENS
    scheduler = schedreg.build_lr_scheduler(
        cfg, torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    )
    native = {"max_lr": 0.1, "min_lr": 0.0, "lr_warmup_steps": 800, "lr_decay_steps": 8000}
    with pytest.raises(ConfigError, match="counts samples"):
        scheduler.load_state_dict({**native, "lr_decay_style": "linear", "num_steps": 100})
