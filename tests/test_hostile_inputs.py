"""Hostile input gets one ConfigError at build time, naming the key: the classes a hostile
hunt found (issue #12). Each row is a config torch, transformers or timm would accept and
then run with NaN, a negative lr, a schedule that never moves, or a crash mid-run."""

from __future__ import annotations

import io
from typing import Any

import pytest
import torch

import schedreg
from schedreg import ConfigError

NAN, INF = float("nan"), float("inf")


def optimizer(lr: float = 0.1, groups: int = 1, named: bool = False) -> torch.optim.Optimizer:
    params = [
        {"params": [torch.nn.Parameter(torch.zeros(1))], **({"name": f"g{i}"} if named else {})}
        for i in range(groups)
    ]
    return torch.optim.SGD(params, lr=lr)


def build(solver: dict[str, Any], opt: torch.optim.Optimizer | None = None):
    return schedreg.build_lr_scheduler({"solver": solver}, opt or optimizer())


BAD_ARGUMENTS = [
    # transformers
    ("cosine", {"num_cycles": NAN}, r"args\.num_cycles must be finite"),
    ("cosine", {"num_cycles": INF}, r"args\.num_cycles must be finite"),
    ("cosine", {"num_cycles": 1e308}, r"num_cycles must be in \[-9007199254740992\.0, 9007199254740992\.0\]"),
    ("warmup_stable_decay", {"num_decay_steps": 10, "num_cycles": -1e300}, r"num_cycles must be in"),
    ("cosine_with_min_lr", {"min_lr_rate": NAN}, r"args\.min_lr_rate must be finite"),
    ("cosine_with_min_lr", {"min_lr_rate": 2}, r"min_lr_rate must be in \[0\.0, 1\.0\], got 2"),
    ("cosine_with_min_lr", {"min_lr": INF}, r"args\.min_lr must be a finite number >= 0"),
    ("polynomial", {"power": -1}, r"power must be in \[0\.0, inf\], got -1"),
    ("inverse_sqrt", {"timescale": -5}, r"timescale must be in \[1, inf\], got -5"),
    ("warmup_stable_decay", {"num_decay_steps": 10, "min_lr_ratio": 1.5}, r"min_lr_ratio must be in"),
    # torch
    ("ReduceLROnPlateau", {"factor": NAN}, r"args\.factor must be finite"),
    ("ReduceLROnPlateau", {"factor": 1.5}, r"args\.factor must be in \[0, 1\)"),
    ("ReduceLROnPlateau", {"patience": -1}, r"args\.patience must be >= 0"),
    ("ReduceLROnPlateau", {"cooldown": -2}, r"args\.cooldown must be >= 0"),
    ("LinearLR", {"total_iters": 0}, r"args\.total_iters must be > 0"),
    ("PolynomialLR", {"total_iters": 0}, r"args\.total_iters must be > 0"),
    ("MultiStepLR", {"milestones": [-1, 5]}, r"args\.milestones must be >= 0"),
    ("ExponentialLR", {"gamma": torch.tensor(NAN)}, r"args\.gamma must be finite"),
    ("CosineAnnealingLR", {"T_max": 10, "eta_min": INF}, r"args\.eta_min must be finite"),
    (
        "SequentialLR",
        {"milestones": [5, 3], "schedulers": [{"lr_scheduler_name": "ConstantLR"}] * 3},
        r"args\.milestones must be increasing and > 0",
    ),
    (
        "SequentialLR",
        {
            "milestones": [5],
            "schedulers": [
                {"lr_scheduler_name": "ConstantLR"},
                {
                    "lr_scheduler_name": "SequentialLR",
                    "args": {"milestones": [2], "schedulers": [{"lr_scheduler_name": "ConstantLR"}] * 2},
                },
            ],
        },
        r"schedulers\[1\]\.lr_scheduler_name: SequentialLR cannot switch to a SequentialLR",
    ),
    # timm
    ("CosineLRScheduler", {"t_initial": 10, "warmup_t": INF}, r"args\.warmup_t must be finite"),
    ("CosineLRScheduler", {"t_initial": 10, "lr_min": NAN}, r"args\.lr_min must be finite"),
]


@pytest.mark.parametrize(("name", "args", "message"), BAD_ARGUMENTS, ids=lambda v: str(v)[:40])
def test_an_argument_that_would_run_wrong_is_refused_at_build_naming_it(name, args, message):
    with pytest.raises(ConfigError, match=message):
        build({"lr_scheduler_name": name, "max_iter": 100, "warmup_iters": 0, "args": args})


@pytest.mark.parametrize("name", ["WarmupCosineLR", "cosine", "Interpolate", "CosineLRScheduler", "StepLR"])
@pytest.mark.parametrize("lr", [NAN, INF, -0.5])
def test_a_base_lr_that_is_nan_infinite_or_negative_is_refused_naming_its_group(name, lr):
    args = {
        "Interpolate": {"points": [[0, 1.0], [50, 0.1]]},
        "CosineLRScheduler": {"t_initial": 100},
        "StepLR": {"step_size": 10},
    }.get(name, {})
    opt = optimizer()
    opt.param_groups[0]["lr"] = lr  # torch's optimizers refuse a negative lr, not one set later
    with pytest.raises(ConfigError, match=r"must be finite and >= 0"):
        build({"lr_scheduler_name": name, "max_iter": 100, "warmup_iters": 0, "args": args}, opt)


@pytest.mark.parametrize("name", ["WarmupCosineLR", "cosine", "StepLR"])
def test_a_group_added_with_a_negative_lr_is_refused_at_the_next_step(name):
    args = {"step_size": 10} if name == "StepLR" else {}
    opt = optimizer()
    scheduler = build({"lr_scheduler_name": name, "max_iter": 100, "warmup_iters": 0, "args": args}, opt)
    opt.add_param_group({"params": [torch.nn.Parameter(torch.zeros(1))], "lr": -0.5})
    with pytest.raises(ConfigError, match=r"-0\.5|-0\.45|must be finite and >= 0"):
        opt.step()
        scheduler.step()


def _chain(eta_min: float, t_max: int) -> dict[str, Any]:
    return {
        "lr_scheduler_name": "ChainedScheduler",
        "max_iter": 20,
        "args": {
            "schedulers": [
                {"lr_scheduler_name": "ExponentialLR", "args": {"gamma": 0.5}},
                {"lr_scheduler_name": "CosineAnnealingLR", "args": {"T_max": t_max, "eta_min": eta_min}},
            ]
        },
    }


def test_a_chained_cosine_that_torch_would_drive_below_zero_is_refused_at_build():
    # torch's own chain of the same two schedulers, past T_max, writes a negative lr
    opt = optimizer(lr=0.1)
    chain = torch.optim.lr_scheduler.ChainedScheduler(
        [
            torch.optim.lr_scheduler.ExponentialLR(opt, gamma=0.5),
            torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=4, eta_min=0.01),
        ]
    )
    lrs = []
    for _ in range(20):
        opt.step()
        chain.step()
        lrs.append(opt.param_groups[0]["lr"])
    assert min(lrs) < 0
    with pytest.raises(ConfigError, match=r"schedulers\[1\]\.args: a CosineAnnealingLR with eta_min=0\.01"):
        build(_chain(eta_min=0.01, t_max=4))


@pytest.mark.parametrize(("eta_min", "t_max"), [(0.0, 4), (0.01, 20)])
def test_a_chained_cosine_with_no_floor_or_ending_by_max_iter_builds_as_torchs(eta_min, t_max):
    opt, by_hand = optimizer(lr=0.1), optimizer(lr=0.1)
    scheduler = build(_chain(eta_min, t_max), opt)
    chain = torch.optim.lr_scheduler.ChainedScheduler(
        [
            torch.optim.lr_scheduler.ExponentialLR(by_hand, gamma=0.5),
            torch.optim.lr_scheduler.CosineAnnealingLR(by_hand, T_max=t_max, eta_min=eta_min),
        ]
    )
    for _ in range(20):
        for o, s in ((opt, scheduler), (by_hand, chain)):
            o.step()
            s.step()
        assert opt.param_groups[0]["lr"] == by_hand.param_groups[0]["lr"] >= 0


def test_a_rate_per_step_in_an_epoch_schedule_converted_to_iterations_is_refused():
    solver = {"lr_scheduler_name": "ExponentialLR", "args": {"gamma": 0.5}}
    with pytest.raises(
        ConfigError, match=r"args\.gamma of ExponentialLR acts once per step.*iters_per_epoch"
    ):
        build({**solver, "interval": "epoch", "iters_per_epoch": 100})
    stepped_per_epoch = build({**solver, "interval": "epoch"})  # without iters_per_epoch: fine
    assert isinstance(stepped_per_epoch, torch.optim.lr_scheduler.ExponentialLR)


def test_a_warmup_stable_decay_fraction_is_a_fraction_of_the_run_in_every_unit():
    # 10 epochs of 100 iterations: the decay is the last half of 1000 iterations
    opt = optimizer(0.1)
    scheduler = build(
        {
            "lr_scheduler_name": "warmup_stable_decay",
            "max_iter": 10,
            "interval": "epoch",
            "iters_per_epoch": 100,
            "warmup_iters": 0,
            "args": {"num_decay_steps": 0.5, "decay_type": "linear"},
        },
        opt,
    )
    lrs = []
    for _ in range(1000):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        scheduler.step()
    assert lrs[499] == 0.1  # still stable
    for step in (500, 750, 999):  # linear decay over the last 500 steps
        assert lrs[step] == pytest.approx(0.1 * (1.0 - (step - 500) / 500), rel=1e-12)


def test_a_rule_named_default_is_refused_because_unmatched_groups_carry_that_name():
    with pytest.raises(
        ConfigError, match=r"param_groups\.default: 'default' is the name of the groups no rule"
    ):
        build(
            {
                "lr_scheduler_name": "WarmupCosineLR",
                "param_groups": {"default": {"params": "*", "lr_factor": 2}},
            }
        )


def test_a_rule_with_its_own_schedule_that_no_group_is_named_after_is_refused():
    solver = {
        "lr_scheduler_name": "WarmupCosineLR",
        "max_iter": 100,
        "warmup_iters": 0,
        "param_groups": {"head": {"params": "head.*", "warmup_iters": 0}},
    }
    with pytest.raises(
        ConfigError, match=r"param_groups\.head sets a schedule .* named 'head'.*none has a name"
    ):
        build(solver, optimizer(groups=2))
    with pytest.raises(ConfigError, match=r"names: 'g0', 'g1'"):
        build(solver, optimizer(groups=2, named=True))
    optional = {**solver, "param_groups": {"head": {"params": "head.*", "warmup_iters": 0, "optional": True}}}
    build(optional, optimizer(groups=2))  # optional: may match nothing


def test_a_group_of_lr_zero_under_an_annealing_floor_is_not_refused_for_rounding():
    opt, reference = optimizer(0.0), optimizer(0.0)
    scheduler = build(
        {"lr_scheduler_name": "CosineAnnealingLR", "args": {"T_max": 10, "eta_min": 0.001}}, opt
    )
    torch_scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(reference, T_max=10, eta_min=0.001)
    for _ in range(40):
        opt.step(), scheduler.step()
        reference.step(), torch_scheduler.step()
        expected = reference.param_groups[0]["lr"]
        # torch's recursion dips to -1e-22 where the exact value is 0; schedreg writes 0 there
        # and recurses on from it, so the two differ by rounding only
        assert opt.param_groups[0]["lr"] == pytest.approx(max(expected, 0.0), rel=1e-9, abs=1e-15)
        assert opt.param_groups[0]["lr"] >= 0.0


def test_a_grouped_scheduler_without_a_plateau_refuses_an_argument_it_would_drop():
    opt = optimizer(groups=2, named=True)
    solver = {
        "lr_scheduler_name": "WarmupCosineLR",
        "max_iter": 100,
        "warmup_iters": 0,
        "param_groups": {"g1": {"params": "x", "warmup_iters": 5, "optional": True}},
    }
    scheduler = build(solver, opt)
    with pytest.raises(TypeError, match=r"step\(\) takes no argument; got step\(7,\)"):
        scheduler.step(7)
    opt.step()
    scheduler.step()  # the plain form works


ADDED_GROUP_SOLVERS = {
    "ChainedScheduler": {
        "lr_scheduler_name": "ChainedScheduler",
        "args": {
            "schedulers": [
                {"lr_scheduler_name": "StepLR", "args": {"step_size": 3, "gamma": 0.9}},
                {"lr_scheduler_name": "ExponentialLR", "args": {"gamma": 0.99}},
            ]
        },
    },
    "SequentialLR": {
        "lr_scheduler_name": "SequentialLR",
        "args": {
            "milestones": [4],
            "schedulers": [
                {"lr_scheduler_name": "LinearLR", "args": {"start_factor": 0.1, "total_iters": 4}},
                {"lr_scheduler_name": "ExponentialLR", "args": {"gamma": 0.9}},
            ],
        },
    },
    "LambdaLR": {"lr_scheduler_name": "LambdaLR", "args": {"lr_lambda": "tests.lambdas.halve_every_10"}},
    "CyclicLR": {
        "lr_scheduler_name": "CyclicLR",
        "args": {"base_lr": 0.01, "max_lr": 0.1, "step_size_up": 3},
    },
}


def _lrs(opt, scheduler, steps):
    out = []
    for _ in range(steps):
        opt.step(), scheduler.step()
        out.append([g["lr"] for g in opt.param_groups])
    return out


@pytest.mark.parametrize("name", ADDED_GROUP_SOLVERS)
def test_a_group_added_mid_run_follows_the_schedule_and_survives_a_resume(name):
    solver = {**ADDED_GROUP_SOLVERS[name], "warmup_iters": 0}
    opt = optimizer(0.1)
    scheduler = build(solver, opt)
    _lrs(opt, scheduler, 2)
    opt.add_param_group({"params": [torch.nn.Parameter(torch.zeros(1))], "lr": 0.05})
    _lrs(opt, scheduler, 3)
    state = scheduler.state_dict()
    uninterrupted = _lrs(opt, scheduler, 6)
    # the added group runs the same schedule from where it joined: the one of a lone group of 0.05
    alone = optimizer(0.05)
    reference = build(solver, alone)
    expected = [row[0] for row in _lrs(alone, reference, 11)]
    if name != "CyclicLR":  # CyclicLR's peak is each group's own lr: compare the ratio below instead
        assert [row[1] for row in uninterrupted] == pytest.approx(expected[5:], rel=1e-12)
    resumed_opt = optimizer(0.1)
    resumed_opt.add_param_group({"params": [torch.nn.Parameter(torch.zeros(1))], "lr": 0.05})
    resumed = build(solver, resumed_opt)
    resumed.load_state_dict(state)
    assert _lrs(resumed_opt, resumed, 6) == uninterrupted


def test_a_per_group_scheduler_with_a_plateau_group_refuses_a_step_without_a_metric_before_moving():
    opt = optimizer(0.1, groups=2, named=True)
    solver = {
        "lr_scheduler_name": "ReduceLROnPlateau",
        "warmup_iters": 0,
        "param_groups": {
            "g1": {
                "params": "x",
                "lr_scheduler_name": "LinearLR",
                "optional": True,
                "args": {"start_factor": 0.1, "total_iters": 10},
            }
        },
    }
    scheduler = build(solver, opt)
    before = [g["lr"] for g in opt.param_groups]
    with pytest.raises(TypeError, match=r"step them with step\(metric\)"):
        scheduler.step()
    assert [g["lr"] for g in opt.param_groups] == before


def test_a_param_schedule_that_would_give_adam_a_beta_of_one_or_more_is_refused_before_it_is_written():
    model = torch.nn.Linear(2, 1)
    opt = torch.optim.Adam(model.parameters(), lr=0.1, betas=(0.9, 0.999))
    solver = {
        "lr_scheduler_name": "WarmupCosineLR",
        "max_iter": 100,
        "warmup_iters": 0,
        "param_schedules": {
            "betas[0]": {"lr_scheduler_name": "Interpolate", "args": {"points": [[0, 1.0], [20, 1.2]]}}
        },
    }
    scheduler = build(solver, opt)
    with pytest.raises(ConfigError, match=r"param_schedules\.betas\[0\] gives betas\[0\]=1\.0.* in \[0, 1\)"):
        for _ in range(20):
            assert opt.param_groups[0]["betas"][0] < 1.0
            opt.step()
            scheduler.step()


def test_a_config_with_both_a_solver_and_a_SOLVER_node_is_refused():
    with pytest.raises(ConfigError, match="both a SOLVER and a solver node"):
        schedreg.build_lr_scheduler({"SOLVER": {"MAX_ITER": 30}, "solver": {"max_iter": 20}}, optimizer())


def test_a_tensor_base_lr_resumes_bit_for_bit():
    def fresh():
        opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=torch.tensor(0.05))
        return opt, build({"lr_scheduler_name": "WarmupCosineLR", "max_iter": 50, "warmup_iters": 5}, opt)

    opt, scheduler = fresh()
    _lrs(opt, scheduler, 7)
    state = scheduler.state_dict()
    uninterrupted = [[float(v) for v in row] for row in _lrs(opt, scheduler, 10)]
    opt2, resumed = fresh()
    resumed.load_state_dict(state)
    assert [[float(v) for v in row] for row in _lrs(opt2, resumed, 10)] == uninterrupted


def test_numpy_scalars_in_the_config_give_the_schedule_of_python_numbers_and_a_weights_only_checkpoint():
    np = pytest.importorskip("numpy")
    states, lrs = [], []
    for gamma in (0.5, np.float64(0.5)):
        opt = optimizer()
        scheduler = build({"lr_scheduler_name": "ExponentialLR", "args": {"gamma": gamma}}, opt)
        for _ in range(3):
            opt.step()
            scheduler.step()
        lrs.append(opt.param_groups[0]["lr"])
        buffer = io.BytesIO()
        torch.save(scheduler.state_dict(), buffer)
        buffer.seek(0)
        states.append(torch.load(buffer, weights_only=True))
    assert type(lrs[1]) is float and lrs[0] == lrs[1] == 0.1 * 0.5**3
    assert states[0] == states[1]


def test_a_numpy_array_where_a_word_is_expected_is_a_config_error():
    np = pytest.importorskip("numpy")
    with pytest.raises(ConfigError, match=r"solver\.interval must be one of iter, epoch; got \[5, 10\]"):
        build({"lr_scheduler_name": "constant", "interval": np.array([5, 10])})


def test_a_group_added_with_a_numpy_lr_is_scheduled_in_python_floats():
    np = pytest.importorskip("numpy")
    opt = optimizer()
    scheduler = build({"lr_scheduler_name": "StepLR", "args": {"step_size": 3}}, opt)
    opt.add_param_group({"params": [torch.nn.Parameter(torch.zeros(1))], "lr": np.float64(0.3)})
    for _ in range(4):
        opt.step()
        scheduler.step()
    assert type(opt.param_groups[1]["lr"]) is float and opt.param_groups[1]["lr"] == 0.3 * 0.1
    torch.load(io.BytesIO(_saved(scheduler.state_dict())), weights_only=True)


def _saved(state: dict[str, Any]) -> bytes:
    buffer = io.BytesIO()
    torch.save(state, buffer)
    return buffer.getvalue()


@pytest.mark.parametrize("name", ["WarmupCosineLR", "cosine", "StepLR", "Interpolate"])
def test_a_group_added_with_a_string_lr_is_refused_naming_its_group(name):
    args = {"StepLR": {"step_size": 10}, "Interpolate": {"points": [[0, 1.0], [50, 0.1]]}}.get(name, {})
    opt = optimizer()
    scheduler = build({"lr_scheduler_name": name, "max_iter": 60, "warmup_iters": 0, "args": args}, opt)
    opt.add_param_group({"params": [torch.nn.Parameter(torch.zeros(1))], "lr": "0.1"})
    with pytest.raises(ConfigError, match=r"param group 1 has lr \(initial_lr\) '0\.1'"):
        opt.step()
        scheduler.step()


@pytest.mark.parametrize(
    ("name", "args"),
    [("ExponentialLR", {"gamma": 1.5}), ("StepLR", {"step_size": 1, "gamma": 1e308})],
)
def test_a_torch_schedule_whose_lr_leaves_floats_range_by_max_iter_is_refused_at_build(name, args):
    # the formula, written here: base lr 0.1 times gamma ** (steps it decays by max_iter)
    decays = 5000 // args.get("step_size", 1)
    with pytest.raises(OverflowError):
        0.1 * args["gamma"] ** decays
    with pytest.raises(
        ConfigError, match=r"solver\.args: by solver\.max_iter=5000 the lr leaves float's range"
    ):
        build({"lr_scheduler_name": name, "max_iter": 5000, "args": args})


def test_an_integer_tensor_where_a_float_is_expected_is_refused_because_it_would_wrap_around():
    args = {"decay_t": 1, "decay_rate": torch.tensor(2, dtype=torch.int8)}
    with pytest.raises(
        ConfigError, match=r"solver\.args\.decay_rate must be float, got tensor\(2, dtype=torch\.int8\)"
    ):
        build({"lr_scheduler_name": "StepLRScheduler", "args": args})


@pytest.mark.parametrize("name", ["WarmupCosineLR", "StepLR", "cosine", "CosineLRScheduler"])
@pytest.mark.parametrize(
    "lr", [torch.tensor(1), torch.tensor(0.1, requires_grad=True)], ids=["integer", "requires_grad"]
)
def test_a_tensor_lr_that_would_be_truncated_or_cannot_be_written_in_place_is_refused(name, lr):
    args = {"StepLR": {"step_size": 10}, "CosineLRScheduler": {"t_initial": 20}}.get(name, {})
    opt = torch.optim.SGD([{"params": [torch.nn.Parameter(torch.zeros(1))], "lr": lr}], lr=0.1)
    with pytest.raises(ConfigError, match=r"param group 0 has lr .*a Tensor lr must be floating-point"):
        build({"lr_scheduler_name": name, "max_iter": 20, "warmup_iters": 0, "args": args}, opt)


@pytest.mark.parametrize("epoch", [NAN, INF, -INF])
@pytest.mark.parametrize("name", ["StepLR", "ExponentialLR", "CosineAnnealingLR"])
def test_torchs_step_epoch_with_a_non_finite_epoch_is_refused(name, epoch):
    args = {"StepLR": {"step_size": 3}, "ExponentialLR": {"gamma": 0.5}, "CosineAnnealingLR": {"T_max": 5}}
    opt = optimizer()
    scheduler = build({"lr_scheduler_name": name, "args": args[name]}, opt)
    with pytest.raises(ConfigError, match=r"step\(epoch\) takes a finite epoch"):
        scheduler.step(epoch)
    assert opt.param_groups[0]["lr"] == 0.1  # nothing was written


@pytest.mark.parametrize(
    ("key", "value"), [("t_initial", torch.tensor(10.0)), ("decay_t", torch.tensor(2.0))]
)
def test_a_tensor_duration_is_refused_because_it_would_skip_the_conversion_from_epochs(key, value):
    name = "CosineLRScheduler" if key == "t_initial" else "StepLRScheduler"
    args = {key: value} if key == "t_initial" else {"decay_t": value, "decay_rate": 0.5}
    with pytest.raises(ConfigError, match=rf"solver\.args\.{key} is a duration: .*got a Tensor"):
        build({"lr_scheduler_name": name, "interval": "epoch", "iters_per_epoch": 100, "args": args})


def test_a_rules_duration_in_epochs_points_to_the_solvers_iters_per_epoch():
    solver = {"max_iter": 100, "param_groups": {"a": {"params": "*", "max_iter": "2ep"}}}
    with pytest.raises(
        ConfigError, match=r"param_groups\.a\.max_iter='2ep' counts epochs: set solver\.iters_per_epoch "
    ):
        schedreg.solver_config({"solver": solver})
