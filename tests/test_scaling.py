"""detectron2's linear scaling rule (REFERENCE_WORLD_SIZE), values by detectron2's formulas."""

from __future__ import annotations

import pytest
import torch

import schedreg
from schedreg import ConfigError, scale_to_world_size

SOLVER = {
    "reference_world_size": 8,
    "ims_per_batch": 16,
    "base_lr": 0.02,
    "base_lr_end": 0.001,
    "max_iter": 90001,
    "steps": [60001, 80003],
    "warmup_iters": 1001,
    "checkpoint_period": 5000,
}


@pytest.mark.parametrize("world", [1, 2, 4, 16, 32])
def test_scaling_follows_detectron2s_rule_and_rounding(world):
    scale = world / 8
    solver = scale_to_world_size({"solver": SOLVER}, world)
    assert solver.ims_per_batch == round(16 * scale)
    assert solver.base_lr == 0.02 * scale
    assert solver.max_iter == round(90001 / scale)
    assert solver.steps == (round(60001 / scale), round(80003 / scale))
    assert solver.warmup_iters == round(1001 / scale)
    assert solver.checkpoint_period == round(5000 / scale)
    assert solver.reference_world_size == world
    assert solver.base_lr_end == 0.001  # not scaled, as in detectron2


@pytest.mark.parametrize("world", [8, 3])
def test_no_reference_or_the_same_world_size_changes_nothing(world):
    off = scale_to_world_size({"solver": {**SOLVER, "reference_world_size": 0}}, world)
    assert off.max_iter == 90001
    same = scale_to_world_size({"solver": SOLVER}, 8)
    assert (same.max_iter, same.base_lr) == (90001, 0.02)


def test_the_scaled_solver_builds_the_scaled_schedule():
    solver = scale_to_world_size(
        {"solver": {**SOLVER, "max_iter": 1000, "steps": [600], "warmup_iters": 100}}, 16
    )
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=solver.base_lr)
    scheduler = schedreg.build_lr_scheduler(solver, optimizer)
    assert (scheduler.schedule(299), scheduler.schedule(300)) == (1.0, pytest.approx(0.1))  # step 600 -> 300
    assert scheduler.schedule(50) == 1.0  # warmup 100 -> 50


@pytest.mark.parametrize(
    ("solver", "world", "message"),
    [
        (
            {**SOLVER, "ims_per_batch": 12},
            16,
            r"solver\.ims_per_batch \(12\) must be divisible by solver\.reference_world_size \(8\)",
        ),
        ({**SOLVER, "max_iter": 10, "steps": [3, 4], "warmup_iters": 0}, 64, r"too short to scale by 1/8"),
        (SOLVER, 0, r"world_size must be a positive integer, got 0"),
    ],
)
def test_impossible_scaling_is_a_config_error(solver, world, message):
    with pytest.raises(ConfigError, match=message):
        scale_to_world_size({"solver": solver}, world)
