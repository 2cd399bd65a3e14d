"""Megatron-LM's dialect: its arguments (or ``OptimizerParamScheduler``'s keywords) give
Megatron's numbers.

Expected values are Megatron's formulas, written here from its
``megatron/core/optimizer_param_scheduler.py`` and ``get_optimizer_param_scheduler``
(``training.py``): the scheduler counts ``num_steps`` in samples, an iteration adding the
global batch size, so iteration k trains with ``num_steps = k * global_batch_size``; each
group's lr and weight decay are closed forms of it. The parity study
(benchmarks/parity_megatron.py) runs Megatron's own file against schedreg.
"""

from __future__ import annotations

import argparse
import io
import math
from typing import Any

import pytest
import torch
from omegaconf import OmegaConf

import schedreg
from schedreg import ConfigError
from schedreg.integrations.cli import compose, main

# --- Megatron's formulas --------------------------------------------------------------


def megatron_lr(
    n: float,
    *,
    max_lr: float,
    decay: float,
    style: str = "linear",
    warmup: float = 0,
    min_lr: float = 0.0,
    init_lr: float = 0.0,
    wsd: float | None = None,
    wsd_style: str = "exponential",
) -> float:
    """``OptimizerParamScheduler.get_lr`` at ``num_steps = n``: a linear warmup from
    ``init_lr`` (n <= W, W > 0), then constant (forever), min_lr past the decay, the
    inverse square root of n, or min_lr + coeff * (max_lr - min_lr)."""
    if warmup > 0 and n <= warmup:
        return init_lr + (max_lr - init_lr) * float(n) / float(warmup)
    if style == "constant":
        return max_lr
    if n > decay:
        return min_lr
    if style == "inverse-square-root":
        return max(min_lr, max_lr * max(warmup, 1) ** 0.5 / max(n, 1) ** 0.5)
    ratio = (n - warmup) / (decay - warmup)
    if style == "linear":
        coeff = 1.0 - ratio
    elif style == "cosine":
        coeff = 0.5 * (math.cos(math.pi * ratio) + 1.0)
    else:  # WSD: 1 until the last `wsd` steps of the decay, then its own shape
        assert wsd is not None
        anneal_start = decay - wsd
        if n <= anneal_start:
            coeff = 1.0
        else:
            r = (n - anneal_start) / wsd
            coeff = {
                "linear": 1.0 - r,
                "cosine": 0.5 * (math.cos(math.pi * r) + 1.0),
                "exponential": 2.0 * 0.5**r - 1.0,
                "minus_sqrt": 1.0 - math.sqrt(r),
            }[wsd_style]
    return min_lr + coeff * (max_lr - min_lr)


def megatron_wd(n: float, *, start: float, end: float, steps: float, style: str) -> float:
    """``OptimizerParamScheduler.get_wd`` at ``num_steps = n`` (before the group's wd_mult):
    from start to end over ``steps`` (linear, or a cosine rising from 0 to 1), then end."""
    if n > steps or style == "constant":
        return end
    r = n / steps
    coeff = r if style == "linear" else 0.5 * (math.cos(math.pi * (1 - r)) + 1.0)
    return start + coeff * (end - start)


# --- running schedreg -----------------------------------------------------------------


def sgd(*groups: dict[str, Any]) -> torch.optim.Optimizer:
    """An SGD with one param group per mapping (an lr of 0.1 and weight decay 0.05 unless given)."""
    made = [
        {"params": [torch.nn.Parameter(torch.zeros(1))], "lr": 0.1, "weight_decay": 0.05, **group}
        for group in groups or ({},)
    ]
    return torch.optim.SGD(made, lr=0.1)


def run(
    cfg: Any, steps: int, optimizer: torch.optim.Optimizer | None = None, increment: int | None = None
) -> list[list[tuple[float, float]]]:
    """Every group's (lr, weight_decay) at iterations ``0 .. steps - 1``, the scheduler stepped
    after each optimizer step (with ``step(increment=...)`` where given), as Megatron's
    ``train_step`` does."""
    optimizer = optimizer or sgd()
    scheduler = schedreg.build_lr_scheduler(cfg, optimizer)
    out = []
    for _ in range(steps):
        out.append([(float(g["lr"]), float(g["weight_decay"])) for g in optimizer.param_groups])
        optimizer.step()
        if increment is None:
            scheduler.step()
        else:
            scheduler.step(increment=increment)
    return out


def lrs(rows: list[list[tuple[float, float]]], group: int = 0) -> list[float]:
    return [row[group][0] for row in rows]


def wds(rows: list[list[tuple[float, float]]], group: int = 0) -> list[float]:
    return [row[group][1] for row in rows]


def approx(values: list[float]) -> Any:
    return pytest.approx(values, rel=1e-12, abs=0)


GBS = 4
ARGS = {"lr": 0.1, "min_lr": 0.001, "train_iters": 20, "global_batch_size": GBS, "lr_warmup_iters": 3}
"""Megatron's arguments, iteration-based: 20 iterations of 4 samples, 3 of them warming up."""

# --- the decay styles -----------------------------------------------------------------

STYLES = [
    ("constant", None),
    ("linear", None),
    ("cosine", None),
    ("inverse-square-root", None),
    *(("WSD", wsd_style) for wsd_style in ("exponential", "linear", "cosine", "minus_sqrt")),
]


@pytest.mark.parametrize(("style", "wsd_style"), STYLES, ids=[f"{s}-{w}" if w else s for s, w in STYLES])
def test_each_decay_style_from_megatrons_arguments_gives_megatrons_lr_at_k_times_the_batch(style, wsd_style):
    args: dict[str, Any] = {**ARGS, "lr_decay_style": style, "lr_decay_iters": 16}
    if style == "WSD":
        args.update(lr_wsd_decay_iters=6, lr_wsd_decay_style=wsd_style)
    got = lrs(run(args, 24))
    expected = [
        megatron_lr(
            k * GBS,
            max_lr=0.1,
            min_lr=0.001,
            warmup=3 * GBS,
            decay=16 * GBS,
            style=style,
            wsd=6 * GBS,
            wsd_style=wsd_style or "exponential",
        )
        for k in range(24)
    ]
    assert got == approx(expected)
    assert got[0] == 0.0 and got[3] == pytest.approx(0.1, rel=1e-15)  # from lr_warmup_init 0 to lr at 3


def test_the_decay_defaults_to_train_iters_and_the_style_to_linear():
    got = lrs(run({**ARGS}, 24))
    expected = [megatron_lr(k * GBS, max_lr=0.1, min_lr=0.001, warmup=12, decay=80) for k in range(24)]
    assert got == approx(expected)


def test_a_namespace_a_dict_and_an_omegaconf_node_of_megatrons_arguments_give_the_same_lrs():
    args = {**ARGS, "lr_decay_style": "cosine", "weight_decay": 0.02}
    reference = run(args, 25)
    assert run(argparse.Namespace(**args), 25) == reference
    assert run(OmegaConf.create(args), 25) == reference
    # a full Megatron namespace: unset arguments are None, the others are not the scheduler's
    full = argparse.Namespace(
        **args, lr_decay_iters=None, train_samples=None, lr_warmup_fraction=None, lr_warmup_samples=0,
        start_weight_decay=None, end_weight_decay=None, decoupled_lr=None, decoupled_min_lr=None,
        lr_wsd_decay_style="exponential", lr_wsd_decay_iters=None, override_opt_param_scheduler=False,
        use_checkpoint_opt_param_scheduler=False, hidden_size=64, seq_length=128,
    )  # fmt: skip
    assert run(full, 25) == reference


def test_lr_warmup_fraction_is_a_float_share_of_the_decay_length_not_rounded():
    args = {**ARGS, "lr_warmup_iters": 0, "lr_decay_iters": 8, "lr_warmup_fraction": 0.15}
    warmup = 0.15 * 8 * GBS  # 4.8 samples: iteration 1 (4 samples) is still warming up
    got = lrs(run(args, 12))
    assert got == approx(
        [megatron_lr(k * GBS, max_lr=0.1, min_lr=0.001, warmup=warmup, decay=32) for k in range(12)]
    )
    assert got[1] == pytest.approx(0.1 * 4 / 4.8, rel=1e-12)  # a warmup rounded to 4 or 5 samples would not


def test_sample_based_lengths_count_samples():
    args = {
        "lr": 0.1,
        "min_lr": 0.001,
        "train_samples": 100,
        "lr_decay_samples": 70,
        "lr_warmup_samples": 10,
        "global_batch_size": GBS,
        "lr_decay_style": "cosine",
    }
    got = lrs(run(args, 30))
    expected = [
        megatron_lr(k * GBS, max_lr=0.1, min_lr=0.001, warmup=10, decay=70, style="cosine") for k in range(30)
    ]
    assert got == approx(expected)
    no_decay = {k: v for k, v in args.items() if k != "lr_decay_samples"}  # the decay: train_samples
    assert lrs(run(no_decay, 30)) == approx(
        [
            megatron_lr(k * GBS, max_lr=0.1, min_lr=0.001, warmup=10, decay=100, style="cosine")
            for k in range(30)
        ]
    )


def test_lr_warmup_init_is_where_the_warmup_starts():
    got = lrs(run({**ARGS, "lr_warmup_init": 0.01, "lr_warmup_iters": 4}, 22))
    expected = [
        megatron_lr(k * GBS, max_lr=0.1, min_lr=0.001, init_lr=0.01, warmup=16, decay=80) for k in range(22)
    ]
    assert got == approx(expected)
    assert got[0] == 0.01


@pytest.mark.parametrize("style", ["linear", "cosine", "WSD"])
def test_the_decaying_styles_are_at_min_lr_at_lr_decay_steps_already(style):
    args = {**ARGS, "lr_decay_style": style, "lr_decay_iters": 10, "lr_wsd_decay_iters": 4}
    got = lrs(run(args if style == "WSD" else {k: v for k, v in args.items() if "wsd" not in k}, 30))
    assert got[10] == pytest.approx(0.001, rel=1e-12)  # num_steps == lr_decay_steps
    assert got[11:] == [0.001] * 19  # past it: min_lr, exactly


def test_inverse_square_root_drops_to_min_lr_past_lr_decay_steps():
    args = {**ARGS, "lr_decay_style": "inverse-square-root", "lr_decay_iters": 10}
    got = lrs(run(args, 14))
    at_decay = 0.1 * (3 * GBS) ** 0.5 / (10 * GBS) ** 0.5  # 0.0548: far above min_lr
    assert got[10] == pytest.approx(at_decay, rel=1e-12)
    assert got[11:] == [0.001] * 3  # Megatron's drop, one iteration later


def test_constant_never_drops_to_min_lr():
    got = lrs(run({**ARGS, "lr_decay_style": "constant", "lr_decay_iters": 5}, 40))
    assert got[:4] == approx([0.0, 0.1 / 3, 0.2 / 3, 0.1])  # 0.1 * 12 / 12: 0.1 to the last bit
    assert got[4:] == [0.1] * 36


# --- the scheduler's own keywords -----------------------------------------------------

KWARGS = {
    "max_lr": 0.1,
    "min_lr": 0.001,
    "lr_warmup_steps": 5,
    "lr_decay_steps": 30,
    "lr_decay_style": "cosine",
}


def test_the_schedulers_own_keywords_count_one_per_step():
    got = lrs(run(KWARGS, 35))
    expected = [
        megatron_lr(k, max_lr=0.1, min_lr=0.001, warmup=5, decay=30, style="cosine") for k in range(35)
    ]
    assert got == approx(expected)


def test_the_keywords_with_an_increment_equal_megatrons_arguments_with_that_batch():
    kwargs = {**KWARGS, "lr_warmup_steps": 3 * GBS, "lr_decay_steps": 20 * GBS, "increment": GBS}
    assert run(kwargs, 25) == run({**ARGS, "lr_decay_style": "cosine"}, 25)


def test_the_keywords_wsd_and_init_lr():
    kwargs = {**KWARGS, "init_lr": 0.02, "lr_decay_style": "WSD", "wsd_decay_steps": 10}
    kwargs["lr_wsd_decay_style"] = "cosine"
    got = lrs(run(kwargs, 34))
    shape = {"style": "WSD", "wsd": 10, "wsd_style": "cosine"}
    expected = [
        megatron_lr(k, max_lr=0.1, min_lr=0.001, init_lr=0.02, warmup=5, decay=30, **shape) for k in range(34)
    ]
    assert got == approx(expected)


def test_wsd_decays_exponentially_when_its_style_is_left_out():
    got = lrs(run({**KWARGS, "lr_decay_style": "WSD", "wsd_decay_steps": 10}, 34))
    expected = [
        megatron_lr(k, max_lr=0.1, min_lr=0.001, warmup=5, decay=30, style="WSD", wsd=10) for k in range(34)
    ]
    assert got == approx(expected)


# --- weight decay ---------------------------------------------------------------------


def test_a_constant_weight_decay_is_written_into_every_group():
    optimizer = sgd({"weight_decay": 0.3}, {"weight_decay": 0.7})
    rows = run({**ARGS, "weight_decay": 0.02}, 25, optimizer)
    assert wds(rows, 0) == wds(rows, 1) == [0.02] * 25


@pytest.mark.parametrize("style", ["linear", "cosine"])
def test_weight_decay_rises_from_start_to_end_over_train_iters_then_stays(style):
    args = {
        **ARGS,
        "lr_decay_iters": 10,  # the weight decay's length is train_iters, not the lr's decay
        "weight_decay_incr_style": style,
        "start_weight_decay": 0.01,
        "end_weight_decay": 0.1,
    }
    got = wds(run(args, 26))
    expected = [megatron_wd(k * GBS, start=0.01, end=0.1, steps=20 * GBS, style=style) for k in range(26)]
    assert got == approx(expected)
    assert got[0] == 0.01 and got[20:] == approx([0.1] * 6)


def test_the_keywords_weight_decay_ramp_counts_wd_incr_steps():
    kwargs = {**KWARGS, "start_wd": 0.0, "end_wd": 0.05, "wd_incr_steps": 12, "wd_incr_style": "cosine"}
    got = wds(run(kwargs, 16))
    assert got == approx([megatron_wd(k, start=0.0, end=0.05, steps=12, style="cosine") for k in range(16)])


def test_wd_mult_scales_each_groups_weight_decay_and_a_no_decay_group_without_one_stays_zero():
    args = {**ARGS, "weight_decay_incr_style": "linear", "start_weight_decay": 0.02, "end_weight_decay": 0.1}
    optimizer = sgd(
        {"wd_mult": 0.5},
        {"weight_decay": 0.0},  # a no-decay group (biases, norms): no wd_mult, weight decay 0
        {"weight_decay": 0.0, "wd_mult": 2.0},  # a wd_mult wins over the group's 0
        {"weight_decay": 0.3},  # no wd_mult: 1
    )
    rows = run(args, 24, optimizer)
    ramp = [megatron_wd(k * GBS, start=0.02, end=0.1, steps=80, style="linear") for k in range(24)]
    assert wds(rows, 0) == approx([0.5 * wd for wd in ramp])
    assert wds(rows, 1) == [0.0] * 24
    assert wds(rows, 2) == approx([2.0 * wd for wd in ramp])
    assert wds(rows, 3) == approx(ramp)


def test_without_weight_decay_keys_the_groups_weight_decay_is_untouched():
    optimizer = sgd({"weight_decay": 0.3}, {"weight_decay": 0.0, "wd_mult": 1.0})
    rows = run({**ARGS, "lr_decay_style": "cosine"}, 25, optimizer)
    assert wds(rows, 0) == [0.3] * 25 and wds(rows, 1) == [0.0] * 25
    kwargs_rows = run(KWARGS, 25, sgd({"weight_decay": 0.3}))
    assert wds(kwargs_rows) == [0.3] * 25


# --- param groups ---------------------------------------------------------------------


def test_per_group_max_lr_and_min_lr_keys_are_each_groups_peak_and_floor():
    args = {**ARGS, "lr_decay_style": "cosine", "lr_warmup_init": 0.005}
    optimizer = sgd({}, {"lr": 0.03, "max_lr": 0.03, "min_lr": 0.0002}, {"lr": 0.5, "max_lr": 0.2})
    rows = run(args, 24, optimizer)

    def expected(max_lr: float, min_lr: float) -> list[float]:
        common = {"init_lr": 0.005, "warmup": 12, "decay": 80, "style": "cosine"}
        return [megatron_lr(k * GBS, max_lr=max_lr, min_lr=min_lr, **common) for k in range(24)]

    assert lrs(rows, 0) == approx(expected(0.1, 0.001))
    assert lrs(rows, 1) == approx(expected(0.03, 0.0002))  # its own peak and floor
    assert lrs(rows, 2) == approx(expected(0.2, 0.001))  # 'max_lr' wins over the group's lr


def test_without_lr_each_group_peaks_at_its_own_lr():
    args = {k: v for k, v in ARGS.items() if k != "lr"}
    rows = run(args, 24, sgd({"lr": 0.1}, {"lr": 0.03}))
    for group, peak in enumerate((0.1, 0.03)):
        expected = [megatron_lr(k * GBS, max_lr=peak, min_lr=0.001, warmup=12, decay=80) for k in range(24)]
        assert lrs(rows, group) == approx(expected)


def test_a_max_lr_other_than_a_groups_lr_is_refused():
    with pytest.raises(
        ConfigError, match=r"max_lr=0\.1 is Megatron's peak lr, but param group 1 has lr 0\.03"
    ):
        schedreg.build_lr_scheduler(ARGS, sgd({}, {"lr": 0.03}))
    with pytest.raises(
        ConfigError, match=r"max_lr=0\.1 is Megatron's peak lr, but param group 0 has lr 0\.2"
    ):
        schedreg.build_lr_scheduler(KWARGS, sgd({"lr": 0.2}))


# --- Megatron's stepping protocol -----------------------------------------------------


def test_step_with_the_global_batch_size_as_increment_equals_step():
    args = {**ARGS, "lr_decay_style": "cosine", "weight_decay_incr_style": "cosine"}
    args.update(start_weight_decay=0.0, end_weight_decay=0.1)
    assert run(args, 25, increment=GBS) == run(args, 25)


def test_num_steps_counts_samples_and_step_of_several_batches_jumps():
    optimizer = sgd()
    scheduler = schedreg.build_lr_scheduler({**ARGS, "lr_decay_style": "cosine"}, optimizer)
    assert scheduler.num_steps == 0
    for k in range(1, 6):
        optimizer.step()
        scheduler.step()
        assert scheduler.num_steps == k * GBS
    scheduler.step(increment=3 * GBS)  # three iterations at once
    assert scheduler.num_steps == 8 * GBS
    expected = megatron_lr(32, max_lr=0.1, min_lr=0.001, warmup=12, decay=80, style="cosine")
    assert optimizer.param_groups[0]["lr"] == pytest.approx(expected, rel=1e-12)
    optimizer.param_groups[0]["lr"] = 0.5
    scheduler.step(increment=0)  # Megatron's step(0): the current values, written again
    assert scheduler.num_steps == 32 and optimizer.param_groups[0]["lr"] == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("increment", [3, 6, -4, 4.0, True, "4"])
def test_an_increment_that_is_no_whole_number_of_iterations_is_refused(increment):
    scheduler = schedreg.build_lr_scheduler(ARGS, sgd())
    with pytest.raises(
        ConfigError, match=r"step\(increment=.*\) must add a whole number of iterations of 4 samples"
    ):
        scheduler.step(increment=increment)


def test_get_lr_and_get_wd_of_a_group_are_megatrons_at_num_steps():
    args = {**ARGS, "weight_decay_incr_style": "linear", "start_weight_decay": 0.0, "end_weight_decay": 0.1}
    optimizer = sgd({}, {"lr": 0.03, "max_lr": 0.03, "min_lr": 0.0, "wd_mult": 0.5})
    scheduler = schedreg.build_lr_scheduler(args, optimizer)
    for _ in range(7):
        optimizer.step()
        scheduler.step()
    n = 7 * GBS
    first, second = optimizer.param_groups
    assert scheduler.get_lr(first) == pytest.approx(
        megatron_lr(n, max_lr=0.1, min_lr=0.001, warmup=12, decay=80)
    )
    assert scheduler.get_lr(second) == pytest.approx(megatron_lr(n, max_lr=0.03, warmup=12, decay=80))
    wd = megatron_wd(n, start=0.0, end=0.1, steps=80, style="linear")
    assert (
        scheduler.get_wd(first) == scheduler.get_wd(second) == pytest.approx(wd, rel=1e-12)
    )  # before wd_mult
    assert second["weight_decay"] == pytest.approx(0.5 * wd, rel=1e-12)
    assert scheduler.get_lr() == [first["lr"], second["lr"]]  # no group: torch's, every group's


def test_get_wd_without_a_weight_decay_schedule_is_refused():
    scheduler = schedreg.build_lr_scheduler(ARGS, sgd())
    with pytest.raises(ConfigError, match=r"schedules no weight decay \(set start_wd and end_wd\)"):
        scheduler.get_wd(scheduler.optimizer.param_groups[0])


# --- checkpoints ----------------------------------------------------------------------

RAMP = {
    **ARGS,
    "lr_decay_style": "cosine",
    "weight_decay_incr_style": "linear",
    "start_weight_decay": 0.0,
    "end_weight_decay": 0.1,
}


def test_a_state_dict_resume_continues_exactly():
    optimizer = sgd({}, {"lr": 0.03, "max_lr": 0.03, "wd_mult": 0.5})
    scheduler = schedreg.build_lr_scheduler(RAMP, optimizer)
    for _ in range(7):
        optimizer.step()
        scheduler.step()
    buffer = io.BytesIO()
    torch.save(scheduler.state_dict(), buffer)
    buffer.seek(0)
    fresh_optimizer = sgd({}, {"lr": 0.03, "max_lr": 0.03, "wd_mult": 0.5})
    fresh = schedreg.build_lr_scheduler(RAMP, fresh_optimizer)
    fresh.load_state_dict(torch.load(buffer, weights_only=True))
    assert fresh.num_steps == 7 * GBS
    for _ in range(20):
        values = [
            [(g["lr"], g["weight_decay"]) for g in o.param_groups] for o in (optimizer, fresh_optimizer)
        ]
        assert values[1] == values[0]
        for o, s in ((optimizer, scheduler), (fresh_optimizer, fresh)):
            o.step()
            s.step()


MEGATRON_CHECKPOINT = {
    "max_lr": 0.1,
    "lr_warmup_steps": 12,
    "num_steps": 28,
    "lr_decay_style": "cosine",
    "lr_decay_steps": 80,
    "min_lr": 0.001,
    "start_wd": 0.0,
    "end_wd": 0.1,
    "wd_incr_style": "linear",
    "wd_incr_steps": 80,
}
"""What Megatron's ``OptimizerParamScheduler.state_dict()`` saves, 7 iterations into RAMP."""


def test_a_megatron_checkpoint_resumes_at_its_num_steps():
    optimizer = sgd()
    scheduler = schedreg.build_lr_scheduler(RAMP, optimizer)
    scheduler.load_state_dict(dict(MEGATRON_CHECKPOINT))
    assert scheduler.num_steps == 28
    for n in (28, 32, 36):
        lr = megatron_lr(n, max_lr=0.1, min_lr=0.001, warmup=12, decay=80, style="cosine")
        wd = megatron_wd(n, start=0.0, end=0.1, steps=80, style="linear")
        assert optimizer.param_groups[0]["lr"] == pytest.approx(lr, rel=1e-12)
        assert optimizer.param_groups[0]["weight_decay"] == pytest.approx(wd, rel=1e-12)
        optimizer.step()
        scheduler.step()


def test_a_megatron_checkpoint_with_its_legacy_keys_resumes_too():
    legacy = {"start_lr": 0.1, "min_lr": 0.001, "warmup_iter": 12, "end_iter": 80, "decay_style": "cosine"}
    optimizer = sgd()
    scheduler = schedreg.build_lr_scheduler(RAMP, optimizer)
    scheduler.load_state_dict({**legacy, "num_iters": 40})
    assert scheduler.num_steps == 40
    expected = megatron_lr(40, max_lr=0.1, min_lr=0.001, warmup=12, decay=80, style="cosine")
    assert optimizer.param_groups[0]["lr"] == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("max_lr", 0.2),
        ("min_lr", 0.0),
        ("lr_warmup_steps", 16),
        ("lr_decay_steps", 64),
        ("lr_decay_style", "linear"),
        ("start_wd", 0.01),
        ("end_wd", 0.2),
        ("wd_incr_style", "cosine"),
        ("wd_incr_steps", 40),
    ],
)
def test_a_megatron_checkpoint_saved_under_another_config_is_refused_naming_the_key(key, value):
    scheduler = schedreg.build_lr_scheduler(RAMP, sgd())
    differ = rf"the Megatron checkpoint's differ \({key}: config .*, checkpoint {value!r}\)"
    with pytest.raises(ConfigError, match=differ):
        scheduler.load_state_dict({**MEGATRON_CHECKPOINT, key: value})


def test_a_damaged_megatron_checkpoint_is_refused():
    scheduler = schedreg.build_lr_scheduler(RAMP, sgd())
    without_min_lr = {k: v for k, v in MEGATRON_CHECKPOINT.items() if k != "min_lr"}
    with pytest.raises(ConfigError, match=r"the Megatron checkpoint has no min_lr; it is damaged"):
        scheduler.load_state_dict(without_min_lr)
    with pytest.raises(ConfigError, match=r"num_steps=30 is not a whole number of iterations of 4 samples"):
        scheduler.load_state_dict({**MEGATRON_CHECKPOINT, "num_steps": 30})


# --- refusals -------------------------------------------------------------------------

BAD = [
    ({"lr": 0.1, "lr_decay_style": "cosine"}, r"^args: set train_iters or train_samples"),
    ({**ARGS, "lr_warmup_fraction": 0.1}, r"set lr_warmup_fraction or lr_warmup_iters, not both"),
    (
        {**ARGS, "lr_decay_samples": 100},
        r"args\.lr_decay_samples=100 does not apply to iteration-based training",
    ),
    (
        {**ARGS, "lr_warmup_samples": 8},
        r"args\.lr_warmup_samples=8 does not apply to iteration-based training",
    ),
    (
        {"lr": 0.1, "train_samples": 80, "lr_warmup_iters": 2},
        r"args\.lr_warmup_iters=2 does not apply to sample",
    ),
    ({**ARGS, "train_samples": 80}, r"args\.train_samples=80 does not apply to iteration-based training"),
    ({**ARGS, "min_lr": 0.2}, r"args\.min_lr=0\.2 must be <= args\.lr=0\.1"),
    ({**ARGS, "lr_decay_style": "cosin"}, r"lr_decay_style must be one of constant, .*, got 'cosin'"),
    (
        {**ARGS, "lr_decay_style": "WSD", "lr_wsd_decay_iters": 4, "lr_wsd_decay_style": "sqrt"},
        r"lr_wsd_decay_style must be one of exponential, linear, cosine, minus_sqrt, got 'sqrt'",
    ),
    ({**ARGS, "lr_decay_stlye": "cosine"}, r"args\.lr_decay_stlye; did you mean args\.lr_decay_style\?"),
    ({**ARGS, "lr_warmup_iter": 3}, r"args\.lr_warmup_iter; did you mean args\.lr_warmup_iters\?"),
    ({**ARGS, "decoupled_lr": 0.01}, r"args\.decoupled_lr=0\.01: give the groups it is for their own peak"),
    (
        {**ARGS, "use_checkpoint_opt_param_scheduler": True, "override_opt_param_scheduler": True},
        "are both set; Megatron refuses both",
    ),
    ({**ARGS, "min_lr": math.nan}, r"min_lr must be a finite number >= 0, got nan"),
    ({**ARGS, "lr_warmup_init": -0.01}, r"args\.lr_warmup_init must be a finite number >= 0, got -0\.01"),
    ({**ARGS, "lr_warmup_iters": -1}, r"args\.lr_warmup_iters must be an integer >= 0, got -1"),
    ({**ARGS, "train_iters": 20.5}, r"args\.train_iters must be an integer >= 0, got 20\.5"),
    ({**ARGS, "lr_decay_iters": 10.0}, r"args\.lr_decay_iters must be an integer >= 0, got 10\.0"),
    ({**ARGS, "global_batch_size": 0}, r"args\.global_batch_size must be an integer >= 1, got 0"),
    (
        {**ARGS, "lr_warmup_iters": 0, "lr_warmup_fraction": math.nan},
        r"args\.lr_warmup_fraction must be a fraction",
    ),
    (
        {**ARGS, "lr_warmup_iters": 0, "lr_warmup_fraction": 1.0},
        r"args\.lr_warmup_fraction must be a fraction",
    ),
    ({**ARGS, "weight_decay_incr_style": "linear"}, r"needs start_weight_decay and end_weight_decay"),
    (
        {**ARGS, "start_weight_decay": 0.0},
        r"args\.start_weight_decay/end_weight_decay \(0\.0, None\) apply to .* linear or cosine",
    ),
    (
        {**ARGS, "weight_decay_incr_style": "linear", "start_weight_decay": 0.1, "end_weight_decay": 0.0},
        r"end_wd=0\.0 must be >= start_wd=0\.1",
    ),
    ({**ARGS, "lr_warmup_init": 0.2}, r"peak lr 0\.1 is below min_lr=0\.001 or init_lr=0\.2"),
    (
        {**KWARGS, "lr_warmup_step": 2},
        r"unknown argument lr_warmup_step of Megatron's OptimizerParamScheduler",
    ),
    (
        {"max_lr": 0.1, "lr_warmup_steps": 2},
        r"lr_decay_steps is required by megatron\.OptimizerParamScheduler",
    ),
    ({**KWARGS, "lr_decay_steps": math.nan}, r"lr_decay_steps must be a finite number >= 0, got nan"),
    ({**KWARGS, "lr_decay_steps": 5}, r"lr_warmup_steps=5 must be below lr_decay_steps=5"),
    ({**KWARGS, "lr_decay_style": "WSD"}, r"wsd_decay_steps is required by lr_decay_style WSD"),
    ({**KWARGS, "increment": 0}, r"increment must be an integer >= 1 \(samples per step\), got 0"),
    ({**KWARGS, "max_lr": "0.1"}, r"max_lr must be a finite number >= 0, got '0\.1'"),
]


@pytest.mark.parametrize(("cfg", "message"), BAD)
def test_a_bad_megatron_config_is_one_config_error_naming_the_key(cfg, message):
    with pytest.raises(ConfigError, match=message):
        schedreg.build_lr_scheduler(cfg, sgd())


NAMED_AS_TRANSLATED = [
    pytest.param({**ARGS, "lr": math.nan}, r"args\.lr\b", id="NaN lr"),
    pytest.param(
        {**ARGS, "lr_decay_style": "WSD"}, r"lr_wsd_decay_iters", id="WSD without lr_wsd_decay_iters"
    ),
    pytest.param({**ARGS, "lr_warmup_iters": 20}, r"lr_warmup_iters", id="warmup as long as the decay"),
]
"""Bad values of Megatron's arguments that the scheduler would see translated (max_lr,
wsd_decay_steps, lr_warmup_steps in samples): refused naming the argument the user wrote."""


@pytest.mark.parametrize(("cfg", "message"), NAMED_AS_TRANSLATED)
def test_a_bad_value_translated_from_megatrons_arguments_is_named_by_megatrons_argument(cfg, message):
    with pytest.raises(ConfigError, match=message):
        schedreg.build_lr_scheduler(cfg, sgd())


# --- Hydra options and the CLI --------------------------------------------------------


def composed(*overrides: str) -> Any:
    return compose(
        ["solver.max_iter=40", "solver.warmup_iters=5", "solver.base_lr=0.1", *overrides], None, "schedreg"
    )


def test_the_hydra_options_compose_to_megatrons_numbers():
    cosine = lrs(run(composed("solver=megatron_cosine", "solver.args.min_lr=0.001"), 45))
    assert cosine == approx(
        [megatron_lr(k, max_lr=0.1, min_lr=0.001, warmup=5, decay=40, style="cosine") for k in range(45)]
    )
    wsd = lrs(run(composed("solver=megatron_wsd", "solver.args.wsd_decay_steps=10"), 45))
    expected = [
        megatron_lr(k, max_lr=0.1, warmup=5, decay=40, style="WSD", wsd=10, wsd_style="minus_sqrt")
        for k in range(45)
    ]
    assert wsd == approx(expected)


def test_a_hydra_options_lengths_count_iterations_whatever_the_increment():
    """solver.max_iter and warmup_iters count steps: with an increment of 4 they fill Megatron's
    lengths as 4 x as many samples, and the lrs per iteration are the same."""
    plain = composed("solver=megatron_cosine")
    by_four = composed("solver=megatron_cosine", "+solver.args.increment=4")
    assert run(by_four, 45) == run(plain, 45)


def test_a_hydra_option_with_param_group_rules_peaks_each_group_at_its_lr():
    class Net(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.backbone = torch.nn.Linear(2, 2)
            self.head = torch.nn.Linear(2, 2)

    cfg = composed("solver=megatron_cosine", "solver/param_groups=backbone_0.1x")
    optimizer = schedreg.build_optimizer(cfg, Net())
    rows = run(cfg, 45, optimizer)
    for group, g in enumerate(optimizer.param_groups):
        peak = 0.01 if g["name"] == "backbone" else 0.1
        expected = [megatron_lr(k, max_lr=peak, warmup=5, decay=40, style="cosine") for k in range(45)]
        assert lrs(rows, group) == approx(expected)
    assert {g["name"] for g in optimizer.param_groups} == {"backbone", "default"}


def test_a_hydra_option_with_no_decay_rules_keeps_those_groups_weight_decay_at_0():
    class Net(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.linear = torch.nn.Linear(2, 2)
            self.norm = torch.nn.LayerNorm(2)

    cfg = composed(
        "solver=megatron_cosine",
        "solver/param_groups=no_wd_norm_bias",
        "solver.weight_decay=0.1",
        "+solver.args.start_wd=0.0",
        "+solver.args.end_wd=0.1",
        "+solver.args.wd_incr_style=linear",
    )
    optimizer = schedreg.build_optimizer(cfg, Net())
    rows = run(cfg, 45, optimizer)
    for group, g in enumerate(optimizer.param_groups):
        if g["name"] == "default":
            ramp = [megatron_wd(k, start=0.0, end=0.1, steps=40, style="linear") for k in range(45)]
            assert wds(rows, group) == approx(ramp)
        else:
            assert wds(rows, group) == [0.0] * 45


@pytest.mark.parametrize(
    "override",
    ["solver/warmup=linear", "solver/warmup=none", "solver/warmup=cosine", "solver.warmup.factor=0.1"],
)
def test_a_hydra_warmup_other_than_megatrons_own_is_refused(override):
    with pytest.raises(ConfigError, match=r"warms up Megatron's own way.*choose solver/warmup=own"):
        schedreg.build_lr_scheduler(composed("solver=megatron_cosine", override), sgd())


def test_warmup_iters_0_leaves_out_megatrons_warmup():
    got = lrs(run(composed("solver=megatron_cosine", "solver.warmup_iters=0"), 45))
    assert got == approx([megatron_lr(k, max_lr=0.1, decay=40, style="cosine") for k in range(45)])


def table(out: str) -> dict[int, float]:
    """The iteration -> lr rows that ``schedreg show`` prints after the config."""
    rows = out.split(" iteration ")[1].splitlines()[1:]
    return {int(r.split()[0]): float(r.split()[1]) for r in rows if r.strip()}


@pytest.mark.parametrize("option", ["megatron_cosine", "megatron_wsd"])
def test_show_runs_the_hydra_options(option, capsys):
    overrides = [
        "solver.max_iter=100",
        "solver.warmup_iters=10",
        "solver.base_lr=0.1",
        "solver.args.min_lr=0.001",
    ]
    if option == "megatron_wsd":
        overrides.append("solver.args.wsd_decay_steps=20")
    assert main(["show", f"solver={option}", *overrides]) == 0
    out = capsys.readouterr().out
    assert "lr_scheduler_name: megatron.OptimizerParamScheduler" in out
    shape: dict[str, Any] = (
        {"style": "cosine"} if option == "megatron_cosine" else {"style": "WSD", "wsd": 20}
    )
    rows = table(out)
    assert rows[0] == 0.0 and rows[10] == pytest.approx(0.1, rel=1e-7)
    for k, lr in rows.items():
        expected = megatron_lr(
            k, max_lr=0.1, min_lr=0.001, warmup=10, decay=100, wsd_style="minus_sqrt", **shape
        )
        assert lr == pytest.approx(expected, rel=1e-7)  # the table prints 8 significant digits


def test_show_previews_a_config_of_megatrons_arguments(tmp_path, capsys):
    (tmp_path / "megatron.yaml").write_text(
        "lr: 0.1\nmin_lr: 0.001\ntrain_iters: 100\nglobal_batch_size: 8\nlr_warmup_iters: 10\n"
        "lr_decay_style: cosine\n"
    )
    assert main(["show", "--config-dir", str(tmp_path), "--config-name", "megatron"]) == 0
    rows = table(capsys.readouterr().out)
    for k, lr in rows.items():
        expected = megatron_lr(8 * k, max_lr=0.1, min_lr=0.001, warmup=80, decay=800, style="cosine")
        assert lr == pytest.approx(expected, rel=1e-7)


def test_a_groups_wd_mult_without_a_weight_decay_in_the_config_is_refused():
    opt = torch.optim.SGD(
        [{"params": [torch.nn.Parameter(torch.zeros(1))], "lr": 0.1, "wd_mult": 0.0}], lr=0.1
    )
    with pytest.raises(ConfigError, match=r"wd_mult 0\.0, but the config sets no weight decay"):
        schedreg.build_lr_scheduler({k: v for k, v in ARGS.items() if "weight_decay" not in k}, opt)


def test_groups_all_at_weight_decay_0_take_the_configs_weight_decay():
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)  # weight_decay 0, no wd_mult
    cfg = {**ARGS, "weight_decay_incr_style": "linear", "start_weight_decay": 0.0, "end_weight_decay": 0.1}
    scheduler = schedreg.build_lr_scheduler(cfg, opt)
    for _ in range(10):
        opt.step()
        scheduler.step()
    assert opt.param_groups[0]["wd_mult"] == 1.0
    assert opt.param_groups[0]["weight_decay"] == pytest.approx(0.1 * (10 * GBS) / (20 * GBS), rel=1e-12)


def test_the_wd_mult_schedreg_gives_a_group_travels_with_the_optimizers_state():
    def optimizer() -> torch.optim.Optimizer:
        groups = [{"params": [torch.nn.Parameter(torch.zeros(1))], "weight_decay": wd} for wd in (0.05, 0.0)]
        return torch.optim.AdamW(groups, lr=0.1)

    cfg = {**ARGS, "weight_decay_incr_style": "linear", "start_weight_decay": 0.0, "end_weight_decay": 0.1}
    first = optimizer()
    schedreg.build_lr_scheduler(cfg, first)
    assert [g["wd_mult"] for g in first.param_groups] == [1.0, 0.0]
    resumed = optimizer()
    resumed.load_state_dict(first.state_dict())  # both groups now at weight decay 0 (the ramp's start)
    scheduler = schedreg.build_lr_scheduler(cfg, resumed)
    for _ in range(5):
        resumed.step()
        scheduler.step()
    assert resumed.param_groups[0]["weight_decay"] > 0 and resumed.param_groups[1]["weight_decay"] == 0


def test_the_namespace_megatrons_validate_args_returns_builds_as_the_raw_one():
    raw = argparse.Namespace(**{**ARGS, "weight_decay": 0.1, "weight_decay_incr_style": "constant"})
    validated = argparse.Namespace(
        **vars(raw), start_weight_decay=0.1, end_weight_decay=0.1
    )  # as validate_args
    lrs = [run(ns, 25) for ns in (raw, validated)]
    assert lrs[0] == lrs[1]
    with pytest.raises(ConfigError, match=r"start_weight_decay/end_weight_decay \(0\.1, 0\.2\)"):
        schedreg.build_lr_scheduler(argparse.Namespace(**{**vars(validated), "end_weight_decay": 0.2}), sgd())


def test_a_percent_length_in_args_is_of_the_runs_steps_whatever_the_increment():
    overrides = ["solver=megatron_wsd", "solver.max_iter=100", "solver.warmup_iters=10"]
    for increment in (1, 4):
        optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.001)
        cfg = compose([*overrides, f"+solver.args.increment={increment}"], None, "schedreg")
        lrs = [lr for lr, _ in (row[0] for row in run(cfg, 100, optimizer))]
        assert lrs[80] == 0.001 and lrs[81] < 0.001  # 20% of 100 iterations: the decay starts at 80


def test_megatrons_override_lets_the_arguments_win_over_a_checkpoint_and_says_what_changed():
    optimizer = sgd()
    scheduler = schedreg.build_lr_scheduler({**ARGS, "lr_decay_style": "cosine"}, optimizer)
    for _ in range(5):
        optimizer.step()
        scheduler.step()
    state = scheduler.state_dict()
    changed = {**ARGS, "lr_decay_style": "linear"}
    with pytest.raises(ConfigError, match="different schedule"):
        schedreg.build_lr_scheduler(changed, sgd()).load_state_dict(state)
    resumed_optimizer = sgd()
    resumed = schedreg.build_lr_scheduler(
        {**changed, "override_opt_param_scheduler": True}, resumed_optimizer
    )
    with pytest.warns(UserWarning, match=r"resuming under a changed schedule \(.*cosine.*linear.*\)"):
        resumed.load_state_dict(state)
    assert resumed.last_epoch == 5
    n, warmup, decay = 5 * GBS, 3 * GBS, 20 * GBS
    expected = 0.001 + (1 - (n - warmup) / (decay - warmup)) * (0.1 - 0.001)  # linear, from the saved step
    assert resumed_optimizer.param_groups[0]["lr"] == pytest.approx(expected, rel=1e-12)


def test_loading_a_checkpoint_twice_does_not_count_its_steps_twice():
    optimizer = sgd()
    scheduler = schedreg.build_lr_scheduler(ARGS, optimizer)
    for _ in range(4):
        optimizer.step()
        scheduler.step()
    ours = scheduler.state_dict()
    megatrons = {"max_lr": 0.1, "min_lr": 0.001, "lr_warmup_steps": 3 * GBS, "lr_decay_steps": 20 * GBS}
    megatrons.update({"lr_decay_style": "linear", "num_steps": 4 * GBS})
    for state in (ours, megatrons):
        resumed = schedreg.build_lr_scheduler(ARGS, sgd())
        resumed.load_state_dict(state)
        resumed.load_state_dict(state)  # Megatron's own load adds num_steps each time
        assert resumed.last_epoch == 4 and resumed.num_steps == 4 * GBS
