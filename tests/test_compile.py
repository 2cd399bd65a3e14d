"""lr_as_tensor: a torch.compile'd optimizer step does not recompile as the lr changes."""

from __future__ import annotations

import pytest
import torch

import schedreg

SOLVER = {
    "lr_scheduler_name": "WarmupMultiStepLR",
    "base_lr": 0.01,
    "max_iter": 30,
    "steps": [12],
    "warmup_iters": 5,
    "optimizer": "Adam",
    "lr_as_tensor": True,
}


def expected(i: int) -> float:
    ramp = 0.001 * (1 - i / 5) + i / 5 if i < 5 else 1.0
    return 0.01 * ramp * (0.1 if i >= 12 else 1.0)


def test_lr_as_tensor_makes_every_group_lr_a_float64_tensor():
    optimizer = schedreg.build_optimizer({"solver": SOLVER}, torch.nn.Linear(2, 1))
    assert all(
        isinstance(g["lr"], torch.Tensor) and g["lr"].dtype == torch.float64 for g in optimizer.param_groups
    )


@pytest.mark.parametrize("name", ["WarmupMultiStepLR", "MultiStepLR"])
def test_compiled_optimizer_step_never_recompiles_across_warmup_and_a_milestone(name):
    import torch._dynamo

    torch._dynamo.reset()
    solver = {**SOLVER, "lr_scheduler_name": name}
    if name == "MultiStepLR":
        solver["args"] = {"milestones": [12], "gamma": 0.1}
    model = torch.nn.Linear(4, 1)
    optimizer = schedreg.build_optimizer({"solver": solver}, model)
    scheduler = schedreg.build_lr_scheduler({"solver": solver}, optimizer)
    lr_object = optimizer.param_groups[0]["lr"]

    @torch.compile
    def step():
        optimizer.step()

    with torch._dynamo.config.patch(error_on_recompile=True):  # a recompile raises
        for i in range(20):
            for p in model.parameters():
                p.grad = torch.ones_like(p)
            step()
            assert float(optimizer.param_groups[0]["lr"]) == pytest.approx(expected(i), rel=1e-12), i
            scheduler.step()
    assert optimizer.param_groups[0]["lr"] is lr_object  # written in place, never replaced
