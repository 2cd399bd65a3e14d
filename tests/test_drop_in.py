"""Drop-in: what torch's own scheduler tests pin down, checked on schedreg-built ones
(modeled on torch's ``test/optim/test_lrscheduler.py``; expected values from torch's
classes built by hand)."""

from __future__ import annotations

import importlib

import pytest
import torch
from torch.optim.swa_utils import SWALR

import schedreg
from schedreg import ConfigError


def optimizer(lr: float | torch.Tensor = 0.05, groups: int = 2) -> torch.optim.Optimizer:
    params = [{"params": [torch.nn.Parameter(torch.zeros(1))], "lr": lr} for _ in range(groups)]
    return torch.optim.SGD(params, lr=0.05)


def lrs_of(opt: torch.optim.Optimizer, scheduler, steps: int) -> list[list[float]]:
    out = []
    for _ in range(steps):
        out.append([float(g["lr"]) for g in opt.param_groups])
        opt.step()
        scheduler.step()
    return out


@pytest.mark.parametrize(("anneal_epochs", "strategy"), [(4, "cos"), (3, "linear"), (0, "cos")])
def test_swalr_is_registered_and_gives_torchs_lrs(anneal_epochs, strategy):
    args = {"swa_lr": 0.01, "anneal_epochs": anneal_epochs, "anneal_strategy": strategy}
    ours = optimizer()
    built = schedreg.build_lr_scheduler({"solver": {"lr_scheduler_name": "SWALR", "args": args}}, ours)
    theirs = optimizer()
    assert lrs_of(ours, built, 10) == lrs_of(theirs, SWALR(theirs, **args), 10)


def test_swalr_refuses_a_negative_swa_lr_naming_the_key():
    with pytest.raises(ConfigError, match=r"solver\.args\.swa_lr must be >= 0"):
        schedreg.build_lr_scheduler(
            {"solver": {"lr_scheduler_name": "SWALR", "args": {"swa_lr": -1.0}}}, optimizer()
        )


@pytest.mark.parametrize(
    "solver",
    [
        {"lr_scheduler_name": "WarmupCosineLR", "max_iter": 10, "warmup_iters": 2},
        {"lr_scheduler_name": "StepLR", "args": {"step_size": 1, "gamma": 0.5}},
        {"lr_scheduler_name": "CosineLRScheduler", "args": {"t_initial": 10}},
        {
            "lr_scheduler_name": "StepLR",
            "args": {"step_size": 1},
            "param_schedules": {
                "momentum": {"lr_scheduler_name": "Interpolate", "args": {"points": [[0, 1.0], [5, 0.5]]}}
            },
        },
    ],
)
def test_get_last_lr_hands_out_values_that_a_later_step_leaves_alone(solver):
    opt = torch.optim.SGD(
        [{"params": [torch.nn.Parameter(torch.zeros(1))], "lr": torch.tensor(0.05)}], lr=0.05, momentum=0.9
    )
    scheduler = schedreg.build_lr_scheduler({"solver": solver}, opt)
    opt.step()
    scheduler.step()
    before = scheduler.get_last_lr()
    kept = [float(v) for v in before]
    opt.step()
    scheduler.step()
    assert [float(v) for v in before] == kept != [float(v) for v in scheduler.get_last_lr()]


def both(name: str, args: dict, steps: int = 8) -> tuple[list, list]:
    """(schedreg's, torch's) lrs and momenta over ``steps`` steps, two groups."""

    def run(opt, scheduler) -> list:
        out = []
        for _ in range(steps):
            out.append([(float(g["lr"]), g.get("momentum")) for g in opt.param_groups])
            opt.step()
            scheduler.step()
        return out

    ours, theirs = optimizer(), optimizer()
    for opt in (ours, theirs):
        for group in opt.param_groups:
            group["momentum"] = 0.9
    built = schedreg.build_lr_scheduler({"solver": {"lr_scheduler_name": name, "args": args}}, ours)
    return run(ours, built), run(theirs, getattr(torch.optim.lr_scheduler, name)(theirs, **args))


def test_cyclic_lr_takes_a_momentum_per_group_as_torch_does():
    args = {"base_lr": [0.01, 0.02], "max_lr": [0.1, 0.2], "step_size_up": 3}
    args.update(base_momentum=[0.8, 0.85], max_momentum=[0.9, 0.95])
    ours, theirs = both("CyclicLR", args)
    assert ours == theirs


def test_a_tensor_argument_is_taken_as_torch_takes_it():
    ours, theirs = both("LinearLR", {"start_factor": torch.tensor(0.5), "total_iters": 4})
    assert ours == theirs
    with pytest.raises(ConfigError, match=r"solver\.args\.gamma must be >= 0"):
        schedreg.build_lr_scheduler(
            {"solver": {"lr_scheduler_name": "ExponentialLR", "args": {"gamma": torch.tensor(-0.5)}}},
            optimizer(),
        )


class Wrapped:
    """A callable object around a schedule, as transformers' tests wrap ``lr_lambdas``."""

    def __init__(self, fn, scale: float = 1.0):
        self.fn, self.scale = fn, scale

    def __call__(self, step: int) -> float:
        return self.scale * self.fn(step)


@pytest.mark.parametrize(
    "name", ["linear", "cosine", "constant_with_warmup", "WarmupCosineLR", "Interpolate"]
)
def test_a_closed_form_schedule_is_a_lambda_lr_with_its_lr_lambdas(name):
    args = {"points": [[0, 1.0], [10, 0.1]]} if name == "Interpolate" else {}
    opt = optimizer(0.05, groups=2)
    solver = {"lr_scheduler_name": name, "max_iter": 10, "warmup_iters": 2, "args": args}
    scheduler = schedreg.build_lr_scheduler({"solver": solver}, opt)
    assert isinstance(scheduler, torch.optim.lr_scheduler.LambdaLR) and len(scheduler.lr_lambdas) == 2
    theirs = optimizer(0.05, groups=2)
    by_hand = torch.optim.lr_scheduler.LambdaLR(theirs, scheduler.lr_lambdas[0])
    assert lrs_of(opt, scheduler, 12) == lrs_of(theirs, by_hand, 12)


def test_lr_lambdas_set_per_group_schedule_each_group_and_survive_a_save_and_reload(tmp_path):
    opt = optimizer(0.05, groups=2)
    solver = {"lr_scheduler_name": "cosine", "max_iter": 10, "warmup_iters": 2}
    scheduler = schedreg.build_lr_scheduler({"solver": solver}, opt)
    schedule = scheduler.lr_lambdas[0]
    scheduler.lr_lambdas = [Wrapped(schedule), Wrapped(schedule, 0.5)]
    seen = []
    for step in range(10):
        seen.append([g["lr"] for g in opt.param_groups])
        opt.step()
        scheduler.step()
        if step == 5:
            torch.save(scheduler.state_dict(), tmp_path / "s.pt")
            scheduler.load_state_dict(torch.load(tmp_path / "s.pt"))
    assert seen == [[0.05 * schedule(i), 0.05 * 0.5 * schedule(i)] for i in range(10)]
    with pytest.raises(ValueError, match="Expected 2 callable lr_lambdas"):
        scheduler.lr_lambdas = [schedule]


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("StepLR", {"step_size": 3, "gamma": 0.1}),
        ("CosineAnnealingLR", {"T_max": 10, "eta_min": 0.001}),
        ("LambdaLR", {"lr_lambda": "tests.lambdas.halve_every_10"}),
    ],
)
def test_last_epoch_resumes_as_torch_does(name, args):
    """torch's resume by constructor: each group carries its initial_lr, and the schedule
    continues from last_epoch + 1."""
    ours, theirs = optimizer(), optimizer()
    for opt in (ours, theirs):
        for group in opt.param_groups:
            group["initial_lr"] = group["lr"]
    solver = {"lr_scheduler_name": name, "args": {**args, "last_epoch": 4}}
    built = schedreg.build_lr_scheduler({"solver": solver}, ours)
    by_hand = dict(args)
    if name == "LambdaLR":
        by_hand["lr_lambda"] = importlib.import_module("tests.lambdas").halve_every_10
    reference = getattr(torch.optim.lr_scheduler, name)(theirs, **by_hand, last_epoch=4)
    assert built.last_epoch == reference.last_epoch == 5
    assert lrs_of(ours, built, 8) == lrs_of(theirs, reference, 8)


def test_last_epoch_without_initial_lrs_is_torchs_refusal_as_a_config_error():
    solver = {"lr_scheduler_name": "StepLR", "args": {"step_size": 3, "last_epoch": 4}}
    with pytest.raises(ConfigError, match=r"solver\.args: StepLR rejected .*initial_lr"):
        schedreg.build_lr_scheduler({"solver": solver}, optimizer())
