"""solver.on_resume_change: use_checkpoint (Megatron's use_checkpoint_opt_param_scheduler): a
checkpoint saved under another schedule resumes under its own, which the state carries as
the solver node it was built from. Expected lrs are the saved schedule's formula, written
here (transformers' cosine with warmup; Megatron's linear decay)."""

from __future__ import annotations

import io
from typing import Any

import pytest
import torch

import schedreg
from schedreg import ConfigError

try:  # `python -m pytest` from the repo root
    from tests.curves import LRS, hf_cosine, sgd
except ModuleNotFoundError:  # plain `pytest`: tests/ itself is on sys.path
    from curves import LRS, hf_cosine, sgd  # type: ignore[no-redef]


def cosine(max_iter: int, **extra: Any) -> dict[str, Any]:
    return {"solver": {"lr_scheduler_name": "cosine", "max_iter": max_iter, "warmup_iters": 10, **extra}}


def trained(cfg: Any, steps: int) -> tuple[Any, torch.optim.Optimizer]:
    optimizer = sgd()
    scheduler = schedreg.build_lr_scheduler(cfg, optimizer)
    for _ in range(steps):
        optimizer.step()
        scheduler.step()
    return scheduler, optimizer


def lrs(optimizer: torch.optim.Optimizer) -> list[float]:
    return [float(g["lr"]) for g in optimizer.param_groups]


def reloaded(state: dict[str, Any]) -> dict[str, Any]:
    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    return torch.load(buffer, weights_only=True)


def test_the_checkpoints_schedule_wins_and_the_change_is_named():
    saved, _ = trained(cosine(100), 30)
    state = reloaded(saved.state_dict())  # the solver node travels as plain data
    optimizer = sgd()
    resumed = schedreg.build_lr_scheduler(cosine(200, on_resume_change="use_checkpoint"), optimizer)
    with pytest.warns(UserWarning, match=r"checkpoint's schedule \(max_iter: 100 -> 200\)"):
        resumed.load_state_dict(state)
    for step in range(30, 110):
        assert lrs(optimizer) == pytest.approx([b * hf_cosine(step, 10, 100) for b in LRS], rel=1e-12)
        optimizer.step()
        resumed.step()
    assert resumed.state_dict()["fingerprint"] == state["fingerprint"]


def test_without_use_checkpoint_the_same_change_is_refused():
    saved, _ = trained(cosine(100), 30)
    with pytest.raises(ConfigError, match="use_checkpoint to run the checkpoint's"):
        schedreg.build_lr_scheduler(cosine(200), sgd()).load_state_dict(saved.state_dict())


def test_the_checkpoints_cooldown_wins_too():
    branch = {"start": 40, "length": 20, "shape": "linear", "to": 0.0}
    saved, _ = trained(cosine(100, cooldown=branch), 30)
    optimizer = sgd()
    resumed = schedreg.build_lr_scheduler(cosine(100, on_resume_change="use_checkpoint"), optimizer)
    with pytest.warns(UserWarning, match="checkpoint's schedule"):
        resumed.load_state_dict(saved.state_dict())
    for _ in range(20):
        optimizer.step()
        resumed.step()
    at_start = hf_cosine(40, 10, 100)
    assert lrs(optimizer) == pytest.approx([b * at_start * (1 - 10 / 20) for b in LRS], rel=1e-12)


def test_a_checkpoint_of_another_kind_of_scheduler_is_rebuilt_from_its_saved_solver():
    saved, saved_optimizer = trained(
        {"solver": {"lr_scheduler_name": "StepLR", "args": {"step_size": 7}}}, 12
    )
    state = saved.state_dict()
    with pytest.raises(ConfigError, match=r"saved_solver\(state\)"):
        schedreg.build_lr_scheduler(cosine(100, on_resume_change="use_checkpoint"), sgd()).load_state_dict(
            state
        )
    optimizer = sgd()
    resumed = schedreg.build_lr_scheduler(schedreg.saved_solver(state), optimizer)
    resumed.load_state_dict(state)
    for _ in range(10):
        for opt, sched in ((optimizer, resumed), (saved_optimizer, saved)):
            opt.step()
            sched.step()
    assert lrs(optimizer) == lrs(saved_optimizer)
    assert lrs(optimizer) == pytest.approx([b * 0.1**3 for b in LRS], rel=1e-12)  # 22 steps: 3 decays


def test_torchs_and_per_group_schedulers_take_the_checkpoints_schedule():
    rules = {"head": {"params": ["1.*"], "lr_factor": 10.0}}
    for cfg, changed in (
        ({"solver": {"lr_scheduler_name": "StepLR", "args": {"step_size": 7}}}, {"args": {"step_size": 5}}),
        (cosine(100, param_groups=rules), {"max_iter": 300}),
    ):
        model = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Linear(2, 2))
        first_optimizer = schedreg.build_optimizer(cfg, model)
        first = schedreg.build_lr_scheduler(cfg, first_optimizer)
        for _ in range(12):
            first_optimizer.step()
            first.step()
        other = {"solver": {**cfg["solver"], **changed, "on_resume_change": "use_checkpoint"}}
        optimizer = schedreg.build_optimizer(other, model)
        resumed = schedreg.build_lr_scheduler(other, optimizer)
        with pytest.warns(UserWarning, match="checkpoint's schedule"):
            resumed.load_state_dict(first.state_dict())
        for _ in range(15):
            for opt, sched in ((optimizer, resumed), (first_optimizer, first)):
                opt.step()
                sched.step()
        assert lrs(optimizer) == lrs(first_optimizer), cfg


def test_a_checkpoint_without_its_solver_node_cannot_be_used():
    saved, _ = trained(cosine(100), 30)
    state = {k: v for k, v in saved.state_dict().items() if k != "solver"}  # an older schedreg's
    resumed = schedreg.build_lr_scheduler(cosine(200, on_resume_change="use_checkpoint"), sgd())
    with pytest.raises(ConfigError, match="holds no schedule to use"):
        resumed.load_state_dict(state)


def test_a_config_holding_other_objects_than_plain_data_saves_no_solver_node():
    cfg = {"solver": {"lr_scheduler_name": "StepLR", "args": {"step_size": 2, "gamma": torch.tensor(0.5)}}}
    scheduler, _ = trained(cfg, 2)
    assert "solver" not in scheduler.state_dict()
    with pytest.raises(ConfigError, match="holds no solver node"):
        schedreg.saved_solver(scheduler.state_dict())


def test_a_damaged_solver_node_in_a_checkpoint_is_refused_where_it_enters():
    saved, _ = trained(cosine(100), 3)
    state = {**saved.state_dict(), "solver": {"node": "cosine"}}
    with pytest.raises(ConfigError, match="the checkpoint's scheduler state has solver="):
        schedreg.build_lr_scheduler(cosine(100), sgd()).load_state_dict(state)


def test_a_peer_configs_checkpoint_rebuilds_under_its_own_dialect():
    ds = {"scheduler": {"type": "WarmupCosineLR", "params": {"total_num_steps": 100, "warmup_num_steps": 10}}}
    saved, saved_optimizer = trained(ds, 20)
    changed = {
        "scheduler": {"type": "WarmupCosineLR", "params": {"total_num_steps": 300, "warmup_num_steps": 10}}
    }
    with pytest.raises(ConfigError, match="different schedule"):
        schedreg.build_lr_scheduler(changed, sgd()).load_state_dict(saved.state_dict())
    optimizer = sgd()
    resumed = schedreg.build_lr_scheduler(schedreg.saved_solver(saved.state_dict()), optimizer)
    resumed.load_state_dict(saved.state_dict())
    for _ in range(30):
        for opt, sched in ((optimizer, resumed), (saved_optimizer, saved)):
            opt.step()
            sched.step()
    assert lrs(optimizer) == lrs(saved_optimizer)


# --- Megatron's checkpoints ------------------------------------------------------------

GBS = 4
ARGS = {"lr": 0.1, "min_lr": 0.001, "train_iters": 20, "global_batch_size": GBS, "lr_warmup_iters": 3}
MEGATRONS = {
    "max_lr": 0.1,
    "min_lr": 0.001,
    "lr_warmup_steps": 2 * GBS,
    "lr_decay_steps": 30 * GBS,
    "lr_decay_style": "linear",
    "num_steps": 5 * GBS,
}
"""A Megatron checkpoint's scheduler state, saved under a 2-iteration warmup and 30 iterations."""


def megatron_linear(n: int, warmup: int, decay: int, peak: float = 0.1, low: float = 0.001) -> float:
    if n <= warmup:
        return peak * n / warmup
    return low + (1 - (n - warmup) / (decay - warmup)) * (peak - low)


def one_group() -> torch.optim.Optimizer:
    return torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)


def test_megatrons_use_checkpoint_runs_the_checkpoints_values():
    optimizer = one_group()
    scheduler = schedreg.build_lr_scheduler({**ARGS, "use_checkpoint_opt_param_scheduler": True}, optimizer)
    with pytest.warns(UserWarning, match=r"checkpoint's values \(lr_warmup_steps: config 12, checkpoint 8"):
        scheduler.load_state_dict(MEGATRONS)
    for iteration in range(5, 25):
        expected = megatron_linear(iteration * GBS, 2 * GBS, 30 * GBS)
        assert optimizer.param_groups[0]["lr"] == pytest.approx(expected, rel=1e-12), iteration
        optimizer.step()
        scheduler.step()


def test_megatrons_class_defaults_to_the_checkpoints_values_and_its_arguments_to_asserting():
    kwargs = {"max_lr": 0.1, "min_lr": 0.001, "lr_warmup_steps": 12, "lr_decay_steps": 80}
    optimizer = one_group()
    scheduler = schedreg.build_lr_scheduler({**kwargs, "lr_decay_style": "linear"}, optimizer)
    with pytest.warns(UserWarning, match="checkpoint's values"):
        scheduler.load_state_dict({**MEGATRONS, "num_steps": 5})
    assert optimizer.param_groups[0]["lr"] == pytest.approx(megatron_linear(5, 8, 120), rel=1e-12)
    with pytest.raises(ConfigError, match="use_checkpoint_opt_param_scheduler"):
        schedreg.build_lr_scheduler(ARGS, one_group()).load_state_dict(MEGATRONS)


def test_megatrons_override_keeps_the_configs_values():
    optimizer = one_group()
    scheduler = schedreg.build_lr_scheduler({**ARGS, "override_opt_param_scheduler": True}, optimizer)
    with pytest.warns(UserWarning, match="config's values"):
        scheduler.load_state_dict(MEGATRONS)
    assert optimizer.param_groups[0]["lr"] == pytest.approx(megatron_linear(5 * GBS, 3 * GBS, 20 * GBS))


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("lr_decay_style", "sideways"),
        ("lr_warmup_steps", 500),
        ("min_lr", -1.0),
        ("lr_decay_steps", "x"),
        ("min_lr", 0.5),
        ("lr_decay_style", "WSD"),
    ],
)
def test_a_damaged_megatron_checkpoint_is_refused_under_use_checkpoint(key, value):
    scheduler = schedreg.build_lr_scheduler({**ARGS, "use_checkpoint_opt_param_scheduler": True}, one_group())
    with pytest.raises(ConfigError, match=f"checkpoint's ({key}|values do not hold)"):
        scheduler.load_state_dict({**MEGATRONS, key: value})


def test_a_megatron_checkpoints_values_travel_with_the_state_saved_after_them():
    cfg = {**ARGS, "use_checkpoint_opt_param_scheduler": True}
    optimizer = one_group()
    scheduler = schedreg.build_lr_scheduler(cfg, optimizer)
    with pytest.warns(UserWarning, match="checkpoint's values"):
        scheduler.load_state_dict(MEGATRONS)
    for _ in range(3):
        optimizer.step()
        scheduler.step()
    state = scheduler.state_dict()
    assert state["num_steps"] == 8 * GBS and state["lr_warmup_steps"] == 2 * GBS  # Megatron's own form
    resumed_optimizer = one_group()
    resumed = schedreg.build_lr_scheduler(cfg, resumed_optimizer)
    with pytest.warns(UserWarning, match="checkpoint's values"):
        resumed.load_state_dict(state)
    for _ in range(4):
        for opt, sched in ((resumed_optimizer, resumed), (optimizer, scheduler)):
            opt.step()
            sched.step()
    expected = megatron_linear(12 * GBS, 2 * GBS, 30 * GBS)
    assert resumed_optimizer.param_groups[0]["lr"] == optimizer.param_groups[0]["lr"]
    assert resumed_optimizer.param_groups[0]["lr"] == pytest.approx(expected, rel=1e-12)
    with pytest.raises(ConfigError, match="use_checkpoint_opt_param_scheduler"):
        schedreg.build_lr_scheduler(ARGS, one_group()).load_state_dict(state)  # Megatron asserts


def test_a_megatron_checkpoints_max_lr_reaches_the_groups_without_their_own():
    kwargs = {"min_lr": 0.001, "lr_warmup_steps": 8, "lr_decay_steps": 120, "lr_decay_style": "linear"}
    optimizer = sgd()  # groups at 0.1 and 0.03, no max_lr of their own
    scheduler = schedreg.build_lr_scheduler(kwargs, optimizer)
    with pytest.warns(UserWarning, match=r"max_lr: config \[0.03, 0.1\], checkpoint 0.2"):
        scheduler.load_state_dict({**MEGATRONS, "max_lr": 0.2, "num_steps": 60})
    expected = megatron_linear(60, 8, 120, peak=0.2)
    assert lrs(optimizer) == pytest.approx([expected, expected], rel=1e-12)


def test_megatrons_none_flag_is_false_as_in_megatron():
    kwargs = {"max_lr": 0.1, "min_lr": 0.001, "lr_warmup_steps": 12, "lr_decay_steps": 80}
    cfg = {**kwargs, "lr_decay_style": "linear", "use_checkpoint_opt_param_scheduler": None}
    with pytest.raises(ConfigError, match="differ"):
        schedreg.build_lr_scheduler(cfg, one_group()).load_state_dict(MEGATRONS)
    with pytest.raises(
        ConfigError, match=r"use_checkpoint_opt_param_scheduler \(OptimizerParamScheduler's default"
    ):
        schedreg.build_lr_scheduler({**kwargs, "override_opt_param_scheduler": True}, one_group())


# --- all or nothing --------------------------------------------------------------------


def groups_of(optimizer: torch.optim.Optimizer) -> list[dict[str, Any]]:
    return [{k: v for k, v in g.items() if k != "params"} for g in optimizer.param_groups]


def test_a_failed_load_leaves_the_scheduler_and_the_optimizer_as_they_were():
    saved, _ = trained(cosine(100), 30)
    optimizer = torch.optim.SGD(
        [{"params": [torch.nn.Parameter(torch.zeros(1))], "lr": lr} for lr in (*LRS, 0.01)], lr=0.1
    )
    scheduler = schedreg.build_lr_scheduler(cosine(200, on_resume_change="use_checkpoint"), optimizer)
    for _ in range(5):
        optimizer.step()
        scheduler.step()
    before, state = groups_of(optimizer), scheduler.state_dict()
    with pytest.raises(ConfigError, match="covers 2 param groups, but this optimizer has 3"):
        scheduler.load_state_dict(saved.state_dict())
    assert groups_of(optimizer) == before and scheduler.state_dict() == state
    optimizer.step()
    scheduler.step()
    assert lrs(optimizer) == pytest.approx([b * hf_cosine(6, 10, 200) for b in (*LRS, 0.01)], rel=1e-12)


def test_a_refused_rebuild_leaves_the_optimizer_as_it_was():
    megatron = {"solver": {"lr_scheduler_name": "megatron.OptimizerParamScheduler", "max_iter": 100}}
    megatron["solver"]["args"] = {"start_wd": 0.5, "end_wd": 0.5, "wd_incr_style": "constant"}
    saved, _ = trained(megatron, 5)
    optimizer = torch.optim.SGD(
        [{"params": [torch.nn.Parameter(torch.zeros(1))], "lr": lr} for lr in LRS], lr=0.1, weight_decay=0.01
    )
    scheduler = schedreg.build_lr_scheduler(cosine(100, on_resume_change="use_checkpoint"), optimizer)
    before = groups_of(optimizer)
    with pytest.raises(ConfigError, match="the checkpoint's schedule is a MegatronLR"):
        scheduler.load_state_dict(saved.state_dict())
    assert groups_of(optimizer) == before


def test_the_runs_policy_stays_use_checkpoint_after_a_checkpoints_schedule_was_taken():
    first, _ = trained(cosine(100), 12)
    second, second_optimizer = trained(cosine(300), 40)
    optimizer = sgd()
    scheduler = schedreg.build_lr_scheduler(cosine(200, on_resume_change="use_checkpoint"), optimizer)
    with pytest.warns(UserWarning):
        scheduler.load_state_dict(first.state_dict())
    with pytest.warns(UserWarning, match=r"max_iter: 300 -> 100"):
        scheduler.load_state_dict(second.state_dict())
    assert lrs(optimizer) == lrs(second_optimizer) == pytest.approx([b * hf_cosine(40, 10, 300) for b in LRS])


def test_a_solver_node_that_does_not_build_its_fingerprint_is_damaged():
    saved, _ = trained(cosine(100), 13)
    state = saved.state_dict()
    state["solver"] = {**state["solver"], "node": {**state["solver"]["node"], "max_iter": 150}}
    optimizer = sgd()
    scheduler = schedreg.build_lr_scheduler(cosine(200, on_resume_change="use_checkpoint"), optimizer)
    before = groups_of(optimizer)
    with pytest.raises(ConfigError, match="does not build the schedule its fingerprint records"):
        scheduler.load_state_dict(state)
    assert groups_of(optimizer) == before


def test_a_solver_node_of_an_unknown_peer_is_refused():
    saved, _ = trained(cosine(100), 3)
    state = saved.state_dict()
    state["solver"] = {**state["solver"], "peer": "bogus"}
    with pytest.raises(ConfigError, match="holds no solver node to rebuild"):
        schedreg.saved_solver(state)
    scheduler = schedreg.build_lr_scheduler(cosine(200, on_resume_change="use_checkpoint"), sgd())
    with pytest.raises(ConfigError, match="does not build"):
        scheduler.load_state_dict(state)


def test_a_saved_solver_node_is_the_callers_to_change():
    scheduler, _ = trained(cosine(100), 3)
    scheduler.state_dict()["solver"]["node"]["max_iter"] = 5
    assert scheduler.state_dict()["solver"]["node"]["max_iter"] == 100


def test_a_failed_load_puts_tensor_lrs_back_in_place():
    saved, _ = trained(cosine(100), 30)
    params = [torch.nn.Parameter(torch.zeros(1)) for _ in range(3)]
    optimizer = torch.optim.SGD(
        [
            {"params": [p], "lr": lr, "betas": (torch.tensor(0.9), torch.tensor(0.99))}
            for p, lr in zip(params, (*LRS, 0.01), strict=True)
        ],
        lr=0.1,
    )
    cfg = cosine(200, on_resume_change="use_checkpoint", lr_as_tensor=True)
    scheduler = schedreg.build_lr_scheduler(cfg, optimizer)
    optimizer.step()
    scheduler.step()
    tensors = [g["lr"] for g in optimizer.param_groups]
    before = [float(t) for t in tensors]
    with pytest.raises(ConfigError, match="covers 2 param groups"):
        scheduler.load_state_dict(saved.state_dict())
    assert [g["lr"] for g in optimizer.param_groups] == tensors  # the same Tensors
    assert [float(t) for t in tensors] == before
    assert [float(b) for b in optimizer.param_groups[0]["betas"]] == pytest.approx([0.9, 0.99])


def test_megatrons_legacy_start_lr_is_its_max_lr_and_is_saved_as_max_lr():
    kwargs = {"min_lr": 0.001, "lr_warmup_steps": 8, "lr_decay_steps": 120, "lr_decay_style": "linear"}
    optimizer = one_group()
    scheduler = schedreg.build_lr_scheduler(kwargs, optimizer)
    legacy = {k: v for k, v in {**MEGATRONS, "num_steps": 60}.items() if k != "max_lr"}
    with pytest.warns(UserWarning, match="checkpoint's values"):
        scheduler.load_state_dict({**legacy, "start_lr": 0.2})
    assert optimizer.param_groups[0]["lr"] == pytest.approx(megatron_linear(60, 8, 120, peak=0.2), rel=1e-12)
    assert scheduler.state_dict()["max_lr"] == 0.2  # Megatron's own load reads it


def test_a_schedule_free_warmup_change_says_what_to_do():
    try:  # `python -m pytest` from the repo root
        from tests.test_schedule_free import ANYTIME, ScheduleFreeLike, params
    except ModuleNotFoundError:  # plain `pytest`: tests/ itself is on sys.path
        from test_schedule_free import ANYTIME, ScheduleFreeLike, params  # type: ignore[no-redef]

    optimizer = ScheduleFreeLike(params(), lr=0.01)
    first = schedreg.build_lr_scheduler(ANYTIME, optimizer)
    longer = {"solver": {**ANYTIME["solver"], "warmup_iters": 20}}
    with pytest.raises(ConfigError, match="schedule-free optimizer was given another warmup"):
        schedreg.build_lr_scheduler(longer, ScheduleFreeLike(params(), lr=0.01)).load_state_dict(
            first.state_dict()
        )
    sgd_run, _ = trained({"solver": {**ANYTIME["solver"], "on_resume_change": "use_checkpoint"}}, 3)
    resumed = schedreg.build_lr_scheduler(
        {"solver": {**ANYTIME["solver"], "max_iter": 200, "on_resume_change": "use_checkpoint"}},
        ScheduleFreeLike(params(), lr=0.01),
    )
    with pytest.raises(ConfigError, match="saved with another optimizer"):
        resumed.load_state_dict(sgd_run.state_dict())
