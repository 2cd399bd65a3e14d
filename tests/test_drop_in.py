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


# --- torch's names: the object is torch's class -------------------------------------------

TORCH_CASES = {
    "StepLR": {"step_size": 3, "gamma": 0.1},
    "MultiStepLR": {"milestones": [2, 5], "gamma": 0.5},
    "ExponentialLR": {"gamma": 0.9},
    "CosineAnnealingLR": {"T_max": 10, "eta_min": 0.001},
    "CosineAnnealingWarmRestarts": {"T_0": 4, "T_mult": 2},
    "PolynomialLR": {"total_iters": 6, "power": 2.0},
    "LinearLR": {"start_factor": 0.5, "total_iters": 4},
    "ConstantLR": {"factor": 0.5, "total_iters": 3},
    "OneCycleLR": {"max_lr": 0.1, "total_steps": 20},
    "CyclicLR": {"base_lr": 0.01, "max_lr": 0.1, "step_size_up": 3},
    "ReduceLROnPlateau": {"patience": 1, "factor": 0.5},
    "SWALR": {"swa_lr": 0.01, "anneal_epochs": 3},
}


def torch_class(name: str) -> type:
    return SWALR if name == "SWALR" else getattr(torch.optim.lr_scheduler, name)


def build(name: str, args: dict, opt: torch.optim.Optimizer, **solver):
    return schedreg.build_lr_scheduler({"solver": {"lr_scheduler_name": name, "args": args, **solver}}, opt)


@pytest.mark.parametrize("name", TORCH_CASES)
def test_a_torch_name_gives_an_instance_of_torchs_class_with_its_attributes(name):
    args = TORCH_CASES[name]
    ours, theirs = optimizer(), optimizer()
    built, reference = build(name, args, ours), torch_class(name)(theirs, **args)
    assert isinstance(built, torch_class(name))
    assert type(built).__name__ == name
    assert built.optimizer is ours
    own = {k for k in vars(reference) if k != "optimizer"}
    assert own <= set(vars(built))
    for key in own - {"_scale_fn_ref", "_scale_fn_custom"}:  # bound methods of each object
        assert repr(vars(built)[key]) == repr(vars(reference)[key]), key


@pytest.mark.parametrize("name", TORCH_CASES)
def test_a_torch_names_state_dict_has_torchs_keys_and_values(name):
    args = TORCH_CASES[name]
    ours, theirs = optimizer(), optimizer()
    built, reference = build(name, args, ours), torch_class(name)(theirs, **args)
    metric = (1.0,) if name == "ReduceLROnPlateau" else ()
    for _ in range(5):
        ours.step(), built.step(*metric)
        theirs.step(), reference.step(*metric)
    state, expected = built.state_dict(), reference.state_dict()
    assert set(expected) <= set(state)
    for key, value in expected.items():
        assert repr(state[key]) == repr(value), key


def stepped(opt, schedulers, steps, metric=()):
    out = []
    for _ in range(steps):
        out.append([g["lr"] for g in opt.param_groups])
        opt.step()
        for scheduler in schedulers:
            scheduler.step(*metric)
    return out


CHAINS = [
    (("StepLR", {"step_size": 3, "gamma": 0.1}), ("MultiStepLR", {"milestones": [2, 5], "gamma": 0.5})),
    (("CosineAnnealingLR", {"T_max": 10, "eta_min": 0.001}), ("StepLR", {"step_size": 2, "gamma": 0.9})),
    (("ExponentialLR", {"gamma": 0.9}), ("LinearLR", {"start_factor": 0.5, "total_iters": 4})),
    (("ConstantLR", {"factor": 0.5, "total_iters": 3}), ("PolynomialLR", {"total_iters": 8, "power": 1.0})),
]


@pytest.mark.parametrize(("first", "second"), CHAINS)
def test_two_torch_names_stepped_back_to_back_chain_as_torchs_do(first, second):
    ours, theirs = optimizer(), optimizer()
    built = [build(name, args, ours) for name, args in (first, second)]
    reference = [torch_class(name)(theirs, **args) for name, args in (first, second)]
    assert stepped(ours, built, 12) == stepped(theirs, reference, 12)


def test_a_torch_name_chains_with_torchs_own_scheduler_on_one_optimizer():
    ours, theirs = optimizer(), optimizer()
    built = [
        build("StepLR", {"step_size": 2, "gamma": 0.5}, ours),
        torch.optim.lr_scheduler.ExponentialLR(ours, 0.9),
    ]
    reference = [
        torch.optim.lr_scheduler.StepLR(theirs, 2, 0.5),
        torch.optim.lr_scheduler.ExponentialLR(theirs, 0.9),
    ]
    assert stepped(ours, built, 8) == stepped(theirs, reference, 8)


def test_torchs_sequential_lr_takes_schedreg_built_children():
    ours, theirs = optimizer(), optimizer()
    children = [
        build("LinearLR", {"start_factor": 0.1, "total_iters": 3}, ours),
        build("ExponentialLR", {"gamma": 0.9}, ours),
    ]
    built = torch.optim.lr_scheduler.SequentialLR(ours, children, milestones=[3])
    expected = torch.optim.lr_scheduler.SequentialLR(
        theirs,
        [
            torch.optim.lr_scheduler.LinearLR(theirs, 0.1, total_iters=3),
            torch.optim.lr_scheduler.ExponentialLR(theirs, 0.9),
        ],
        milestones=[3],
    )
    assert stepped(ours, [built], 8) == stepped(theirs, [expected], 8)


def test_a_warmup_on_a_torch_name_multiplies_torchs_lr_and_its_recursion_never_sees_it():
    ours, theirs = optimizer(groups=1), optimizer(groups=1)
    built = build("StepLR", {"step_size": 2, "gamma": 0.5}, ours, warmup_iters=4, warmup_factor=0.25)
    reference = torch.optim.lr_scheduler.StepLR(theirs, 2, 0.5)
    torch_lrs = [lrs[0] for lrs in stepped(theirs, [reference], 8)]
    factors = [0.25 + (1 - 0.25) * i / 4 if i < 4 else 1.0 for i in range(8)]  # linear warmup
    assert [lrs[0] for lrs in stepped(ours, [built], 8)] == [
        lr * f for lr, f in zip(torch_lrs, factors, strict=True)
    ]
    assert isinstance(built, torch.optim.lr_scheduler.StepLR)


def test_a_group_added_later_gets_torchs_schedule_from_the_current_step():
    opt = optimizer(groups=1)
    built = build("CosineAnnealingLR", {"T_max": 10}, opt)
    stepped(opt, [built], 3)
    opt.add_param_group({"params": [torch.nn.Parameter(torch.zeros(1))], "lr": 0.2})
    lrs = stepped(opt, [built], 4)
    alone = optimizer(lr=0.2, groups=1)
    reference = torch.optim.lr_scheduler.CosineAnnealingLR(alone, T_max=10)
    expected = stepped(alone, [reference], 7)[3:]
    assert [row[1] for row in lrs[1:]] == [row[0] for row in expected[1:]]


def test_plateau_takes_a_group_added_later_as_torch_does():
    ours, theirs = optimizer(), optimizer()
    built, reference = (
        build("ReduceLROnPlateau", {"patience": 0}, ours),
        torch.optim.lr_scheduler.ReduceLROnPlateau(theirs, patience=0),
    )
    for opt in (ours, theirs):
        opt.add_param_group({"params": [torch.nn.Parameter(torch.zeros(1))], "lr": 0.3})
    assert stepped(ours, [built], 5, metric=(1.0,)) == stepped(theirs, [reference], 5, metric=(1.0,))


@pytest.mark.parametrize("name", ["StepLR", "OneCycleLR", "ReduceLROnPlateau"])
def test_a_torch_name_survives_pickle_and_deepcopy_as_torchs_class(name):
    import copy
    import pickle

    opt = optimizer()
    built = build(name, TORCH_CASES[name], opt)
    for clone in (copy.deepcopy(built), pickle.loads(pickle.dumps(built))):
        assert isinstance(clone, torch_class(name))
        assert clone.state_dict() == built.state_dict()


def test_stepping_a_torch_name_after_amps_skipped_first_step_does_not_warn():
    model = torch.nn.Linear(2, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    built = build("StepLR", {"step_size": 2}, opt)
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0**100)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        scaler.scale(model(torch.ones(1, 2)).sum() * 1e30).backward()
        scaler.step(opt)
        scaler.update()
        assert not getattr(opt, "_opt_called", False)
        built.step()
    assert not opt._opt_called  # the flag is left as the optimizer set it


def test_a_torch_name_warns_as_torch_does_when_stepped_before_the_optimizer():
    opt = optimizer()
    built = build("ExponentialLR", {"gamma": 0.9}, opt)
    with pytest.warns(
        UserWarning, match=r"Detected call of `lr_scheduler.step\(\)` before `optimizer.step\(\)`"
    ):
        built.step()


def test_a_non_function_lr_lambda_is_torchs_type_error_and_a_config_error():
    with pytest.raises(TypeError, match="lr_lambda should be a function") as caught:
        build("MultiplicativeLR", {"lr_lambda": 0.95}, optimizer())
    assert isinstance(caught.value, ConfigError)
    assert "solver.args.lr_lambda" in str(caught.value)


def test_swalr_takes_one_swa_lr_per_group_as_torch_does():
    ours, theirs = optimizer(), optimizer()
    built = build("SWALR", {"swa_lr": [0.01, 0.02], "anneal_epochs": 3}, ours)
    reference = SWALR(theirs, swa_lr=[0.01, 0.02], anneal_epochs=3)
    assert stepped(ours, [built], 6) == stepped(theirs, [reference], 6)


def test_loading_a_torch_names_state_under_other_arguments_is_refused_naming_them():
    saved = build("StepLR", {"step_size": 3}, optimizer()).state_dict()
    fresh = build("StepLR", {"step_size": 5}, optimizer())
    with pytest.raises(ConfigError, match=r"step_size.*3.*5"):
        fresh.load_state_dict(saved)
