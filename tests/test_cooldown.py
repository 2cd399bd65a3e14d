"""solver.cooldown: a decay branched off any schedule at any step ("anytime" training), and
the resume guard taking a new branch as deliberate. Expected values are the formula written
here: from start, lr = low + (lr0 - low) * fall(p), p = min(1, (t - start) / length)."""

from __future__ import annotations

import math
from typing import Any

import pytest
import torch

import schedreg
from schedreg import ConfigError
from schedreg.integrations.cli import compose, main

try:  # `python -m pytest` from the repo root
    from tests.curves import LRS, sgd
except ModuleNotFoundError:  # plain `pytest`: tests/ itself is on sys.path
    from curves import LRS, sgd  # type: ignore[no-redef]

FALL = {
    "linear": lambda p: 1 - p,
    "cosine": lambda p: (1 + math.cos(math.pi * p)) / 2,
    "1-sqrt": lambda p: 1 - math.sqrt(p),
}


def run(cfg: Any, steps: int, optimizer: torch.optim.Optimizer | None = None) -> list[list[float]]:
    optimizer = optimizer or sgd()
    return stepped(optimizer, schedreg.build_lr_scheduler(cfg, optimizer), steps)


def stepped(optimizer: torch.optim.Optimizer, scheduler: Any, steps: int) -> list[list[float]]:
    """Every group's lr at each of ``steps`` iterations, the scheduler stepped after each."""
    out = []
    for _ in range(steps):
        out.append([float(g["lr"]) for g in optimizer.param_groups])
        optimizer.step()
        scheduler.step()
    return out


def anytime(**cooldown: Any) -> dict[str, Any]:
    """transformers' constant_with_warmup (linear from 0 over 10 steps), cooled as asked."""
    solver = {"lr_scheduler_name": "constant_with_warmup", "max_iter": 100, "warmup_iters": 10}
    return {"solver": {**solver, "cooldown": cooldown}}


@pytest.mark.parametrize("shape", list(FALL))
def test_a_cooldown_falls_from_the_lr_at_its_start_to_its_fraction_in_each_shape(shape):
    start, length, to = 60, 20, 0.1
    got = run(anytime(start=start, length=length, shape=shape, to=to), 100)
    for g, base in enumerate(LRS):
        for t in range(100):
            if t < 10:
                expected = base * t / 10
            elif t < start:
                expected = base
            else:
                low = base * to
                expected = low + (base - low) * FALL[shape](min(1.0, (t - start) / length))
            assert got[t][g] == pytest.approx(expected, rel=1e-12, abs=1e-300), (shape, t)


def test_a_cooldown_to_an_absolute_lr_ends_every_group_there():
    got = run(anytime(start=50, length=10, to_lr=0.001), 70)
    for g, base in enumerate(LRS):
        assert got[55][g] == pytest.approx(0.001 + (base - 0.001) * 0.5, rel=1e-12)
        assert got[60][g] == got[69][g] == pytest.approx(0.001, rel=1e-12)


def test_a_cooldown_starting_mid_decay_falls_from_the_value_the_schedule_had_there():
    cfg = {"solver": {"lr_scheduler_name": "cosine", "max_iter": 100, "warmup_iters": 0}}
    cfg["solver"]["cooldown"] = {"start": "40%", "length": "10%", "shape": "linear"}
    got = run(cfg, 60)
    for g, base in enumerate(LRS):
        at_start = base * 0.5 * (1 + math.cos(math.pi * 40 / 100))  # transformers' cosine at 40
        assert got[39][g] == pytest.approx(base * 0.5 * (1 + math.cos(math.pi * 39 / 100)), rel=1e-12)
        assert got[45][g] == pytest.approx(at_start * 0.5, rel=1e-12)
        assert got[50][g] == 0.0


def test_a_cooldown_applies_to_a_peer_schedule_with_absolute_lrs():
    cfg = {
        "optim": {
            "name": "adamw",
            "lr": 0.1,
            "sched": {"name": "WarmupPolicy", "warmup_steps": 4, "max_steps": 100},
        }
    }
    base = run(cfg, 30)
    cooled = {
        "solver": {"lr_scheduler_name": "nemo.WarmupPolicy", "args": {"warmup_steps": 4, "max_steps": 100}}
    }
    cooled["solver"]["cooldown"] = {"start": 20, "length": 5}
    got = run(cooled, 30)
    assert got[:20] == base[:20]
    for g in range(2):
        assert got[22][g] == pytest.approx(base[20][g] * (1 - 2 / 5), rel=1e-12)
        assert got[25][g] == 0.0


@pytest.mark.parametrize(
    "solver",
    [
        {"lr_scheduler_name": "StepLR", "args": {"step_size": 10}},
        {"lr_scheduler_name": "CosineLRScheduler", "args": {"t_initial": 100}},
    ],
    ids=["torch", "timm"],
)
def test_a_cooldown_on_a_schedule_stepped_its_own_way_is_refused(solver):
    with pytest.raises(ConfigError, match=r"^solver\.cooldown: a cooldown applies to schedreg's closed-form"):
        schedreg.build_lr_scheduler({"solver": {**solver, "cooldown": {"start": 50, "length": 10}}}, sgd())


@pytest.mark.parametrize("to", [{"to": 0.1}, {"to_lr": 0.002}])
def test_megatrons_schedule_cools_down_inside_its_own_protocol(to):
    """Megatron's cosine (warmup 10, decay to 0.001 at 100), a 1-sqrt cooldown from 50 over 20
    steps; each group at its own peak, its weight decay Megatron's."""
    cfg = {
        "lr_scheduler_name": "megatron.OptimizerParamScheduler",
        "max_iter": 100,
        "warmup_iters": 10,
        "args": {"lr_decay_style": "cosine", "min_lr": 0.001},
        "cooldown": {"start": 50, "length": 20, "shape": "1-sqrt", **to},
    }
    got = run({"solver": cfg}, 80)

    def megatron(t: int, peak: float) -> float:
        if t <= 10:
            return peak * t / 10
        return 0.001 + 0.5 * (math.cos(math.pi * (t - 10) / 90) + 1) * (peak - 0.001)

    for g, peak in enumerate(LRS):
        v0 = megatron(50, peak)
        low = v0 * to["to"] if "to" in to else to["to_lr"]
        for t in range(80):
            expected = (
                megatron(t, peak) if t < 50 else low + (v0 - low) * FALL["1-sqrt"](min(1, (t - 50) / 20))
            )
            assert got[t][g] == pytest.approx(expected, rel=1e-12), (g, t)


@pytest.mark.parametrize(
    ("cooldown", "message"),
    [
        ({"start": 50}, r"solver\.cooldown\.length is required"),
        ({"length": 10}, r"solver\.cooldown\.start is not set"),
        ({"start": 50, "length": 0}, r"solver\.cooldown\.length must be an integer >= 1"),
        (
            {"start": 50, "length": 10, "shape": "exp"},
            r"solver\.cooldown\.shape must be one of linear, cosine",
        ),
        ({"start": 50, "length": 10, "to": 1.5}, r"solver\.cooldown\.to must be in"),
        ({"start": 50, "length": 10, "to": 0.1, "to_lr": 0.001}, r"set to .* or to_lr .*, not both"),
        ({"start": 50, "length": 10, "until": 3}, r"unknown key solver\.cooldown\.until"),
        ({"start": -1, "length": 10}, r"solver\.cooldown\.start"),
        (
            {"start": 50, "length": 10, "to_lr": float("nan")},
            r"solver\.cooldown\.to_lr must be a finite number",
        ),
        ("soon", r"solver\.cooldown must be a mapping"),
    ],
)
def test_a_bad_cooldown_is_one_config_error_naming_the_key(cooldown, message):
    cfg = anytime()
    cfg["solver"]["cooldown"] = cooldown
    with pytest.raises(ConfigError, match=message):
        schedreg.build_lr_scheduler(cfg, sgd())


def resumed(saved_cfg: Any, new_cfg: Any, at: int, steps: int) -> list[list[float]]:
    optimizer = sgd()
    scheduler = schedreg.build_lr_scheduler(saved_cfg, optimizer)
    stepped(optimizer, scheduler, at)
    state = scheduler.state_dict()
    optimizer = sgd()
    scheduler = schedreg.build_lr_scheduler(new_cfg, optimizer)
    scheduler.load_state_dict(state)
    return stepped(optimizer, scheduler, steps)


def test_resuming_with_a_new_cooldown_from_the_saved_step_on_is_a_deliberate_branch():
    plain = {"solver": {"lr_scheduler_name": "constant_with_warmup", "max_iter": 100, "warmup_iters": 10}}
    branch = anytime(start=50, length=20, shape="cosine")
    got = resumed(plain, branch, at=50, steps=30)
    straight = run(branch, 80)
    assert got == straight[50:]  # as if the cooldown had been in the config all along


def test_resuming_with_a_cooldown_that_starts_before_the_saved_step_is_refused():
    plain = {"solver": {"lr_scheduler_name": "constant_with_warmup", "max_iter": 100, "warmup_iters": 10}}
    with pytest.raises(ConfigError, match=r"the checkpoint's step is 50, but the cooldown changed .* at 40"):
        resumed(plain, anytime(start=40, length=20), at=50, steps=1)


def test_dropping_a_cooldown_that_had_started_is_refused_and_one_that_had_not_is_a_branch():
    plain = {"solver": {"lr_scheduler_name": "constant_with_warmup", "max_iter": 100, "warmup_iters": 10}}
    with pytest.raises(ConfigError, match="the cooldown changed"):
        resumed(anytime(start=40, length=20), plain, at=50, steps=1)
    assert resumed(anytime(start=60, length=20), plain, at=50, steps=20) == run(plain, 70)[50:]


def test_a_changed_schedule_with_a_new_cooldown_is_still_a_different_schedule():
    plain = {"solver": {"lr_scheduler_name": "constant_with_warmup", "max_iter": 100, "warmup_iters": 10}}
    other = anytime(start=60, length=20)
    other["solver"]["warmup_iters"] = 20
    with pytest.raises(ConfigError, match="different schedule"):
        resumed(plain, other, at=50, steps=1)


def test_the_anytime_option_branches_cooldowns_from_the_command_line():
    overrides = ["solver=anytime", "solver.max_iter=100", "solver.warmup_iters=10"]
    cfg = compose([*overrides, "solver.cooldown.start=60", "solver.cooldown.length=20"], None, "schedreg")
    got = run(cfg, 100)
    for t in (59, 70, 80, 99):
        p = min(1.0, max(0, t - 60) / 20)
        assert got[t][0] == pytest.approx(LRS[0] * (1 - math.sqrt(p)), rel=1e-12, abs=1e-300)


def test_an_anytime_option_without_a_branch_stays_constant():
    cfg = compose(["solver=anytime", "solver.max_iter=100", "solver.warmup_iters=10"], None, "schedreg")
    got = run(cfg, 100)
    assert [row[0] for row in got[10:]] == [LRS[0]] * 90


def test_plot_draws_several_cooldown_branches_of_one_run_in_one_figure(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    out = tmp_path / "branches.csv"
    argv = ["export", "solver=anytime", "solver.max_iter=100", "solver.warmup_iters=10"]
    argv += ["solver.cooldown.start=40,60,80", "solver.cooldown.length=20", "-o", str(out)]
    assert main(argv) == 0
    header, *rows = out.read_text().splitlines()
    assert header.count("solver.cooldown.start=") == 3
    row = dict(zip(header.split(","), rows[70].split(","), strict=True))
    lrs = [float(v) for k, v in row.items() if k.startswith("solver.cooldown.start=")]
    assert lrs == pytest.approx([0.0, 0.001 * (1 - math.sqrt(0.5)), 0.001], rel=1e-9, abs=1e-300)


def test_a_cooldown_to_an_lr_above_a_groups_lr_at_its_start_is_refused():
    with pytest.raises(ConfigError, match=r"cooldown\.to_lr=0\.05 is above param group 1's lr"):
        run(anytime(start=50, length=10, to_lr=0.05), 1)  # groups at 0.1 and 0.03


def test_a_cooldown_starting_inside_the_warmup_is_refused():
    with pytest.raises(ConfigError, match=r"cooldown\.start=5 is inside the warmup"):
        run(anytime(start=5, length=10), 1)
