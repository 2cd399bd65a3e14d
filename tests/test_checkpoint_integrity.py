"""A scheduler's checkpoint is checked where it enters ``load_state_dict``: a damaged one, one
saved by another kind of scheduler, or an inconsistent one is a ConfigError naming the key,
its value and what is allowed; an equal schedule spelled differently loads; GroupedLR finds
its saved groups by name.

Expected lrs are written from the formulas here, never read back from schedreg.
"""

from __future__ import annotations

import collections
import io
import math
from typing import Any

import pytest
import torch
from torch import nn

import schedreg
from schedreg import ConfigError
from schedreg.adapters.scaled import TORCH_ARGUMENT_KEYS
from schedreg.builders.torch_builtins import DERIVED

LR = 0.1
MULTISTEP = {"lr_scheduler_name": "WarmupMultiStepLR", "max_iter": 1000, "steps": [600], "warmup_iters": 0}
STEP_LR = {"lr_scheduler_name": "StepLR", "args": {"step_size": 10, "gamma": 0.5}}


def sgd(*lrs: float) -> torch.optim.Optimizer:
    groups = [{"params": [nn.Parameter(torch.zeros(1))], "lr": lr} for lr in lrs or (LR,)]
    return torch.optim.SGD(groups, lr=LR)


def build(solver: dict[str, Any], optimizer: torch.optim.Optimizer | None = None):
    return schedreg.build_lr_scheduler({"solver": solver}, optimizer or sgd())


def roundtrip(state: Any) -> Any:
    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    return torch.load(buffer, weights_only=True)


def stepped(scheduler, steps: int) -> Any:
    for _ in range(steps):
        scheduler.optimizer.step()
        scheduler.step()
    return scheduler


def saved(solver: dict[str, Any], steps: int, optimizer: torch.optim.Optimizer | None = None) -> dict:
    return roundtrip(stepped(build(solver, optimizer), steps).state_dict())


def lrs(optimizer: torch.optim.Optimizer) -> list[float]:
    return [group["lr"] for group in optimizer.param_groups]


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.backbone = nn.Sequential(nn.Linear(4, 8), nn.LayerNorm(8))
        self.head = nn.Linear(8, 2)


GROUPED = {
    "lr_scheduler_name": "WarmupMultiStepLR",
    "base_lr": 0.1,
    "max_iter": 1000,
    "steps": [600, 800],
    "warmup_iters": 0,
    "param_groups": {
        "backbone": {"params": "backbone.*", "lr_factor": 0.1, "lr_scheduler_name": "WarmupCosineLR"},
    },
}


def backbone_lr(i: int) -> float:
    """0.1 * lr_factor 0.1, times a cosine over 1000 iters (no warmup: the rule inherits
    warmup_iters=0)."""
    return 0.01 * 0.5 * (1 + math.cos(math.pi * i / 1000))


def head_lr(i: int) -> float:
    return 0.1 * 0.1 ** sum(i >= s for s in (600, 800))


def grouped(groups: list[dict[str, Any]] | None = None, solver: dict[str, Any] | None = None):
    solver = solver or GROUPED
    if groups is None:
        groups = schedreg.build_param_groups({"solver": solver}, Net())
    optimizer = torch.optim.SGD(groups, lr=0.1)
    return optimizer, build(solver, optimizer)


# --- 1. a damaged checkpoint: which key, what value, what is allowed ------------------------


@pytest.mark.parametrize("state", [None, [], "last_epoch", 3], ids=["None", "list", "str", "int"])
@pytest.mark.parametrize("solver", [MULTISTEP, STEP_LR, GROUPED], ids=["closed-form", "torch", "grouped"])
def test_a_state_that_is_no_dict_is_refused_saying_what_load_state_dict_takes(state, solver):
    scheduler = grouped(solver=solver)[1] if solver is GROUPED else build(solver)
    with pytest.raises(ConfigError, match=r"load_state_dict takes the dict that state_dict\(\) returned"):
        scheduler.load_state_dict(state)


STEP_MUST = r"must be an integer step from -1 \(torch's: not started yet\) to 2\*\*53"
LRS_MUST = "must be a list of lrs, each finite and >= 0"
DAMAGED = [
    ("last_epoch", math.nan, rf"last_epoch=nan; last_epoch {STEP_MUST}"),
    ("last_epoch", None, rf"last_epoch=None; last_epoch {STEP_MUST}"),
    ("last_epoch", "300", rf"last_epoch='300'; last_epoch {STEP_MUST}"),
    ("last_epoch", -2, rf"last_epoch=-2; last_epoch {STEP_MUST}"),
    ("last_epoch", 300.0, rf"last_epoch=300\.0; last_epoch {STEP_MUST}"),
    ("last_epoch", True, rf"last_epoch=True; last_epoch {STEP_MUST}"),
    ("last_epoch", 2**63, rf"last_epoch=9223372036854775808; last_epoch {STEP_MUST}"),
    ("base_lrs", "0.1", rf"base_lrs='0\.1'; base_lrs {LRS_MUST}"),
    ("base_lrs", None, rf"base_lrs=None; base_lrs {LRS_MUST}"),
    ("base_lrs", [math.nan], rf"base_lrs=\[nan\]; base_lrs {LRS_MUST}"),
    ("base_lrs", [-1.0], rf"base_lrs=\[-1\.0\]; base_lrs {LRS_MUST}"),
    ("base_lrs", [math.inf], rf"base_lrs=\[inf\]; base_lrs {LRS_MUST}"),
    ("base_lrs", [torch.tensor(math.nan)], rf"base_lrs=\[tensor\(nan\)\]; base_lrs {LRS_MUST}"),
    ("fingerprint", "steps=600", r"fingerprint='steps=600'; fingerprint must be a dict of strings"),
    ("fingerprint", None, r"fingerprint=None; fingerprint must be a dict of strings"),
    ("fingerprint", {"steps": 600}, r"fingerprint=\{'steps': 600\}; fingerprint must be a dict of strings"),
    ("param_groups", "1", r"param_groups='1'; param_groups must be a number of param groups"),
]


@pytest.mark.parametrize(("key", "value", "message"), DAMAGED, ids=[f"{k}={v!r}" for k, v, _ in DAMAGED])
def test_a_damaged_closed_form_state_is_refused_naming_key_value_and_what_is_allowed(key, value, message):
    state = {**saved(MULTISTEP, 300), key: value}
    optimizer = sgd()
    scheduler = build(MULTISTEP, optimizer)
    with pytest.raises(ConfigError, match=message):
        scheduler.load_state_dict(state)
    assert lrs(optimizer) == [LR]  # nothing of it was written


@pytest.mark.parametrize(("key", "value", "message"), DAMAGED, ids=[f"{k}={v!r}" for k, v, _ in DAMAGED])
def test_a_damaged_torch_state_is_refused_naming_key_value_and_what_is_allowed(key, value, message):
    state = {**saved(STEP_LR, 25), key: value}
    with pytest.raises(ConfigError, match=message):
        build(STEP_LR).load_state_dict(state)


SCALED_DAMAGED = [
    ("schedule_step", None, rf"schedule_step=None; schedule_step {STEP_MUST}"),
    ("schedule_step", 1e7, rf"schedule_step=10000000\.0; schedule_step {STEP_MUST}"),
    ("unscaled_lrs", [math.nan], rf"unscaled_lrs=\[nan\]; unscaled_lrs {LRS_MUST}"),
    ("added_groups", None, r"added_groups=None; added_groups must be a list of \{'groups'"),
    ("added_groups", [{"groups": [1]}], r"added_groups=\[\{'groups': \[1\]\}\]; added_groups must be"),
    ("added_groups", [{"groups": [], "state": {}}], r"added_groups=.*groups non-empty"),
]


@pytest.mark.parametrize(("key", "value", "message"), SCALED_DAMAGED, ids=[k for k, _, _ in SCALED_DAMAGED])
def test_a_damaged_key_schedreg_adds_to_torchs_state_is_refused(key, value, message):
    state = {**saved({**STEP_LR, "warmup_iters": 50}, 25), key: value}
    with pytest.raises(ConfigError, match=message):
        build({**STEP_LR, "warmup_iters": 50}).load_state_dict(state)


def test_a_torch_state_missing_what_torchs_own_load_reads_is_refused_naming_the_class():
    solver = {
        "lr_scheduler_name": "SequentialLR",
        "args": {
            "schedulers": [
                {"lr_scheduler_name": "ConstantLR", "args": {"factor": 0.5, "total_iters": 5}},
                {"lr_scheduler_name": "ExponentialLR", "args": {"gamma": 0.9}},
            ],
            "milestones": [5],
        },
    }
    state = saved(solver, 3)
    for broken in ({**state, "_schedulers": None}, {k: v for k, v in state.items() if k != "_schedulers"}):
        with pytest.raises(
            ConfigError, match=r"checkpoint's SequentialLR state (does not load|has _schedulers=None)"
        ):
            build(solver).load_state_dict(broken)


def test_base_lrs_for_more_groups_than_the_state_covers_are_refused():
    state = saved(MULTISTEP, 300)
    state["base_lrs"] = [LR, LR]
    with pytest.raises(ConfigError, match=r"2 base_lrs for param_groups=1; the checkpoint is damaged"):
        build(MULTISTEP).load_state_dict(state)


def test_base_lrs_for_more_groups_than_the_optimizer_has_are_refused_without_a_stamp():
    state = {"last_epoch": 3, "base_lrs": [LR, LR]}  # a scheduler built by hand stamps nothing
    scheduler = schedreg.MultiplierLR(sgd(), lambda step: 1.0)
    with pytest.raises(ConfigError, match="covers 2 param groups, but this optimizer has 1"):
        scheduler.load_state_dict(state)


GROUPED_DAMAGED = [
    ("lanes", None, r"lanes=None; lanes must be a list of \{'groups'"),
    ("lanes", "0", r"lanes='0'; lanes must be a list"),
    ("lanes", [{"groups": [0], "state": None}], r"lanes=.*must be a list of \{'groups'"),
    ("lanes", [{"groups": ["0"], "state": {}}], r"lanes=.*must be a list of \{'groups'"),
    ("lanes", [{"groups": [0], "names": [], "state": {}}], r"lanes=.*must be a list of \{'groups'"),
    ("last_epoch", math.nan, rf"last_epoch=nan; last_epoch {STEP_MUST}"),
]


@pytest.mark.parametrize(("key", "value", "message"), GROUPED_DAMAGED, ids=[k for k, _, _ in GROUPED_DAMAGED])
def test_a_damaged_grouped_state_is_refused_naming_key_value_and_what_is_allowed(key, value, message):
    _, scheduler = grouped()
    state = {**roundtrip(stepped(scheduler, 5).state_dict()), key: value}
    with pytest.raises(ConfigError, match=message):
        grouped()[1].load_state_dict(state)


def test_a_grouped_state_without_lanes_is_refused_as_another_kinds():
    _, scheduler = grouped()
    state = roundtrip(scheduler.state_dict())
    del state["lanes"]
    with pytest.raises(ConfigError, match=r"not saved by a GroupedLR \(it lacks lanes\)"):
        grouped()[1].load_state_dict(state)


def test_a_damaged_lane_state_is_refused_by_the_lane_naming_its_key():
    _, scheduler = grouped()
    state = roundtrip(stepped(scheduler, 5).state_dict())
    state["lanes"][0]["state"]["base_lrs"] = [math.inf, 0.01]
    with pytest.raises(ConfigError, match=rf"base_lrs=\[inf, 0\.01\]; base_lrs {LRS_MUST}"):
        grouped()[1].load_state_dict(state)


def test_lanes_scheduling_a_group_twice_are_refused():
    _, scheduler = grouped()
    state = roundtrip(scheduler.state_dict())
    state["lanes"][1]["groups"] = [0]
    state["lanes"][1]["names"] = ["backbone"]
    with pytest.raises(ConfigError, match=r"lanes schedule param groups \[0, 1, 0\], some of them twice"):
        grouped()[1].load_state_dict(state)


# --- 2. a state of another kind, another bias_lr_factor, or inconsistent steps ---------------


def torch_step_lr_state(steps: int) -> dict:
    optimizer = sgd()
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=10, gamma=0.5)
    return roundtrip(stepped(scheduler, steps).state_dict())


def test_a_plain_torch_state_is_refused_by_a_closed_form_schedule_naming_its_keys():
    with pytest.raises(
        ConfigError, match=r"not saved by a MultiplierLambdaLR like this one \(it has .*step_size"
    ):
        build(MULTISTEP).load_state_dict(torch_step_lr_state(25))


def test_a_plain_torch_state_loads_into_the_same_torch_class_built_by_schedreg():
    optimizer = sgd()
    build(STEP_LR, optimizer).load_state_dict(torch_step_lr_state(25))
    assert lrs(optimizer) == [LR * 0.5**2]  # step 25 of step_size 10, gamma 0.5


def test_a_plain_torch_state_is_refused_by_another_torch_class_naming_both_settings():
    cosine = {"lr_scheduler_name": "CosineAnnealingLR", "max_iter": 100}
    with pytest.raises(
        ConfigError, match=r"CosineAnnealingLR like this one \(it has gamma, step_size; it lacks T_max"
    ):
        build(cosine).load_state_dict(torch_step_lr_state(25))


def test_a_closed_form_state_of_an_older_schedreg_without_fingerprint_loads():
    optimizer = sgd()
    build(MULTISTEP, optimizer).load_state_dict({"last_epoch": 700, "base_lrs": [0.2]})
    assert lrs(optimizer) == [pytest.approx(0.2 * 0.1)]  # past the step at 600


def test_a_changed_bias_lr_factor_is_a_changed_schedule():
    model = nn.Linear(2, 2)
    old, new = {**MULTISTEP, "bias_lr_factor": 1.5}, {**MULTISTEP, "bias_lr_factor": 2.0}
    state = saved(old, 10, schedreg.build_optimizer({"solver": old}, model))
    scheduler = build(new, schedreg.build_optimizer({"solver": new}, model))
    with pytest.raises(ConfigError, match=r"different schedule \(bias_lr_factor: 1\.5 -> 2\.0\)"):
        scheduler.load_state_dict(state)


@pytest.mark.parametrize("warmup", [0, 50], ids=["no-warmup", "warmup"])
def test_a_torch_state_whose_schedule_step_and_last_epoch_disagree_is_refused(warmup):
    solver = {**STEP_LR, "warmup_iters": warmup}
    state = {**saved(solver, 5), "schedule_step": 10_000_000}
    with pytest.raises(ConfigError, match=r"inconsistent: schedule_step=10000000 but last_epoch=5"):
        build(solver).load_state_dict(state)


def test_a_grouped_state_whose_step_and_a_lanes_disagree_is_refused():
    _, scheduler = grouped()
    state = roundtrip(stepped(scheduler, 5).state_dict())
    state["last_epoch"] = 10_000_000
    with pytest.raises(
        ConfigError,
        match=r"last_epoch=10000000, but the schedule of param groups \[0, 1\] was saved at step 5",
    ):
        grouped()[1].load_state_dict(state)


def test_added_groups_that_do_not_follow_torchs_groups_are_refused():
    optimizer = sgd()
    scheduler = stepped(build(STEP_LR, optimizer), 3)
    optimizer.add_param_group({"params": [nn.Parameter(torch.zeros(1))], "lr": 0.2})
    state = roundtrip(stepped(scheduler, 2).state_dict())
    state["added_groups"][0]["groups"] = [0]
    with pytest.raises(
        ConfigError, match=r"added_groups holds param groups \[0\], but torch's state covers 1"
    ):
        build(STEP_LR, sgd(LR, 0.2)).load_state_dict(state)


def test_a_torch_schedule_with_groups_added_midway_resumes_into_an_optimizer_that_has_them_all():
    optimizer = sgd(0.1)
    scheduler = stepped(build(STEP_LR, optimizer), 5)
    for lr in (0.2, 0.3):
        optimizer.add_param_group({"params": [nn.Parameter(torch.zeros(1))], "lr": lr})
    state = roundtrip(stepped(scheduler, 10).state_dict())
    fresh_optimizer = sgd(0.1, 0.2, 0.3)
    fresh = build(STEP_LR, fresh_optimizer)
    fresh.load_state_dict(state)
    stepped(fresh, 10)  # step 25: each group at its lr times 0.5 ** (25 // 10), stepped once each
    assert lrs(fresh_optimizer) == pytest.approx([lr * 0.25 for lr in (0.1, 0.2, 0.3)], rel=1e-12)


def test_a_plateau_schedule_rescheduled_on_resume_saves_a_state_that_loads():
    old = {"lr_scheduler_name": "ReduceLROnPlateau", "args": {"patience": 2}}
    new = {**old, "args": {"patience": 3}, "on_resume_change": "reschedule"}
    state = roundtrip(stepped(build(old), 0).state_dict())
    state["last_epoch"] = state["schedule_step"] = 7
    optimizer = sgd()
    rescheduled = build(new, optimizer)
    rescheduled.load_state_dict(state)
    build(new).load_state_dict(roundtrip(rescheduled.state_dict()))
    assert rescheduled.state_dict()["last_epoch"] == 7


# --- 3. the same schedule spelled differently is no change -----------------------------------


SAME_SCHEDULE = [
    (STEP_LR, {**STEP_LR, "args": {"gamma": 0.5, "step_size": 10}}, LR * 0.5**2),
    (
        {**STEP_LR, "args": {"step_size": 10, "gamma": 1}},
        {**STEP_LR, "args": {"step_size": 10, "gamma": 1.0}},
        LR,
    ),
    (
        {"lr_scheduler_name": "CosineAnnealingLR", "max_iter": 100},
        {"lr_scheduler_name": "CosineAnnealingLR", "args": {"T_max": 100}},
        LR * 0.5 * (1 + math.cos(math.pi * 25 / 100)),
    ),
    (
        {"lr_scheduler_name": "CosineAnnealingLR", "args": {"T_max": 100}},
        {"lr_scheduler_name": "CosineAnnealingLR", "max_iter": 100, "args": {"T_max": 100}},
        LR * 0.5 * (1 + math.cos(math.pi * 25 / 100)),
    ),
    (
        {"lr_scheduler_name": "MultiStepLR", "steps": [10, 20], "gamma": 0.5},
        {"lr_scheduler_name": "MultiStepLR", "args": {"milestones": [10, 20], "gamma": 0.5}},
        LR * 0.5**2,
    ),
]


@pytest.mark.parametrize(
    ("old", "new", "lr_at_25"),
    SAME_SCHEDULE,
    ids=["key-order", "int-float", "T_max", "T_max-both", "milestones"],
)
def test_the_same_schedule_spelled_differently_resumes_without_a_word(old, new, lr_at_25):
    optimizer = sgd()
    build(new, optimizer).load_state_dict(saved(old, 25))
    assert lrs(optimizer) == [pytest.approx(lr_at_25, rel=1e-12)]


def test_a_torch_argument_that_resolves_differently_is_still_a_changed_schedule():
    state = saved({"lr_scheduler_name": "CosineAnnealingLR", "max_iter": 100}, 25)
    with pytest.raises(ConfigError, match=r"different schedule \(args: \{\} -> \{'T_max': 50\}"):
        build(
            {"lr_scheduler_name": "CosineAnnealingLR", "max_iter": 100, "args": {"T_max": 50}}
        ).load_state_dict(state)


def test_the_keys_forgiven_for_equal_torch_arguments_are_those_torch_arguments_derive_from():
    assert set(TORCH_ARGUMENT_KEYS) == {"args", *(key for key, _ in DERIVED.values())}


def test_a_closed_form_setting_spelled_as_an_int_is_the_same_as_its_float():
    optimizer = sgd()
    build({**MULTISTEP, "gamma": 0.5}, optimizer).load_state_dict(saved({**MULTISTEP, "gamma": 0.5}, 700))
    state = saved(MULTISTEP, 700)
    state["fingerprint"]["max_iter"] = "1000.0"
    state["fingerprint"]["steps"] = "[600]"
    build(MULTISTEP, optimizer).load_state_dict(state)
    assert lrs(optimizer) == [pytest.approx(LR * 0.1)]


# Saved by schedreg before checkpoints were checked for integrity (no bias_lr_factor), pasted.
OLD_COSINE_FINGERPRINT = {
    "args": "{'eta_min': 0.001}",
    "base_lr": "0.001",
    "base_lr_end": "0.0",
    "gamma": "0.1",
    "lr_scheduler_name": "'CosineAnnealingLR'",
    "max_iter": "100",
    "num_decays": "3",
    "param_groups": "[]",
    "param_schedules": "{}",
    "poly_lr_constant_ending": "0.0",
    "poly_lr_power": "0.9",
    "rescale_interval": "False",
    "step_unit": "iter",
    "steps": "(30000,)",
    "warmup_factor": "0.001",
    "warmup_iters": "0",
    "warmup_method": "'linear'",
}
OLD_COSINE = {"lr_scheduler_name": "CosineAnnealingLR", "max_iter": 100, "args": {"eta_min": 0.001}}
OLD_GROUPED_FINGERPRINT = {
    "args": "{}",
    "base_lr": "0.1",
    "base_lr_end": "0.0",
    "gamma": "0.1",
    "lr_scheduler_name": "'WarmupMultiStepLR'",
    "max_iter": "1000",
    "num_decays": "3",
    "param_groups": "[('backbone', ('backbone.*',), (), 0.1, None, None, (\"'WarmupCosineLR'\", "
    "'0.1', '0.0', '1000', '(600, 800)', '0.1', '3', '0.001', '200', "
    "\"'linear'\", 'False', '0.9', '0.0', '{}'))]",
    "param_schedules": "{'momentum': (\"'Interpolate'\", '0.1', '0.0', '1000', '(600, "
    "800)', '0.1', '3', '0.001', '0', \"'linear'\", 'False', '0.9', "
    "'0.0', \"{'points': [[0, 1.0], [10, 0.5]]}\")}",
    "poly_lr_constant_ending": "0.0",
    "poly_lr_power": "0.9",
    "rescale_interval": "False",
    "step_unit": "iter",
    "steps": "(600, 800)",
    "warmup_factor": "0.001",
    "warmup_iters": "0",
    "warmup_method": "'linear'",
}
OLD_GROUPED = {
    **GROUPED,
    "param_groups": {"backbone": {**GROUPED["param_groups"]["backbone"], "warmup_iters": 200}},
    "param_schedules": {
        "momentum": {"lr_scheduler_name": "Interpolate", "args": {"points": [[0, 1.0], [10, 0.5]]}}
    },
}


def test_an_old_format_fingerprint_of_the_same_schedule_loads():
    optimizer = sgd()
    build(OLD_COSINE, optimizer).load_state_dict(
        {**saved(OLD_COSINE, 25), "fingerprint": OLD_COSINE_FINGERPRINT}
    )
    assert lrs(optimizer) == [pytest.approx(0.001 + (LR - 0.001) * 0.5 * (1 + math.cos(math.pi * 25 / 100)))]
    optimizer, scheduler = grouped(solver=OLD_GROUPED)
    state = roundtrip(stepped(scheduler, 5).state_dict())
    grouped(solver=OLD_GROUPED)[1].load_state_dict({**state, "fingerprint": OLD_GROUPED_FINGERPRINT})


def test_an_old_format_fingerprint_of_another_schedule_is_still_refused():
    state = {**saved(OLD_COSINE, 25), "fingerprint": OLD_COSINE_FINGERPRINT}
    with pytest.raises(ConfigError, match=r"different schedule \(max_iter: 100 -> 200\)"):
        build({**OLD_COSINE, "max_iter": 200}).load_state_dict(state)


# --- 4. GroupedLR finds its saved groups by name -------------------------------------------


def test_a_grouped_state_saves_each_lanes_group_names():
    _, scheduler = grouped()
    assert [lane["names"] for lane in scheduler.state_dict()["lanes"]] == [
        ["backbone", "backbone"],
        ["default"],
    ]


def test_reordered_param_groups_resume_each_with_its_own_schedule():
    _, scheduler = grouped()
    state = roundtrip(stepped(scheduler, 650).state_dict())
    groups = schedreg.build_param_groups({"solver": GROUPED}, Net())
    optimizer, fresh = grouped(groups=[groups[2], groups[0], groups[1]])  # default first
    fresh.load_state_dict(state)
    stepped(fresh, 1)
    names = [group["name"] for group in optimizer.param_groups]
    expected = {"backbone": backbone_lr(651), "default": head_lr(651)}
    assert names == ["default", "backbone", "backbone"]
    assert lrs(optimizer) == [pytest.approx(expected[name], rel=1e-12) for name in names]


def test_a_grouped_state_without_names_still_loads_by_index():
    _, scheduler = grouped()
    state = roundtrip(stepped(scheduler, 650).state_dict())
    for lane in state["lanes"]:
        del lane["names"]  # as saved before names were
    optimizer, fresh = grouped()
    fresh.load_state_dict(state)
    assert lrs(optimizer) == pytest.approx([backbone_lr(650), backbone_lr(650), head_lr(650)], rel=1e-12)


def test_param_groups_whose_names_do_not_match_the_saved_ones_are_refused():
    _, scheduler = grouped()
    state = roundtrip(scheduler.state_dict())
    groups = schedreg.build_param_groups({"solver": GROUPED}, Net())
    groups[1] = {**groups[1], "name": "neck"}
    with pytest.raises(
        ConfigError, match=r"2 or more param groups named 'backbone', but this optimizer has 1 .*'neck'"
    ):
        grouped(groups=groups)[1].load_state_dict(state)


# --- torch's own state: its kind and its settings (found by an independent hunt) ---------


def _torch_state(solver: dict, mutate) -> tuple:
    def build():
        opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
        return opt, schedreg.build_lr_scheduler({"solver": solver}, opt)

    opt, scheduler = build()
    metric = (1.0,) if "Plateau" in solver["lr_scheduler_name"] else ()
    for _ in range(5):
        opt.step(), scheduler.step(*metric)
    state = scheduler.state_dict()
    mutate(state)
    return build()[1], state


TORCH_STATE_DAMAGE = [
    (
        {"lr_scheduler_name": "StepLR", "args": {"step_size": 5}},
        ("_last_lr", 0.5),
        r"_last_lr=0\.5, where a list of 1",
    ),
    (
        {"lr_scheduler_name": "StepLR", "args": {"step_size": 5}},
        ("gamma", "0.1"),
        r"gamma='0\.1', where a number",
    ),
    (
        {"lr_scheduler_name": "CosineAnnealingLR", "max_iter": 50},
        ("T_max", "3"),
        r"T_max='3', where a number",
    ),
    (
        {"lr_scheduler_name": "ReduceLROnPlateau", "args": {"patience": 1}},
        ("best", torch.tensor([1.0, 2.0])),
        r"best=tensor.*where a number",
    ),
    (
        {"lr_scheduler_name": "CyclicLR", "args": {"base_lr": 0.01, "max_lr": 0.1, "step_size_up": 5}},
        ("use_beta1", 1e-320),
        r"use_beta1=1e-320, where a true/false",
    ),
    ({"lr_scheduler_name": "StepLR", "args": {"step_size": 5}}, ("_last_lr", [-1.0]), r"where an lr >= 0"),
    (
        {"lr_scheduler_name": "PlateauLRScheduler", "args": {"patience_t": 1}},
        ("restore_lr", float("nan")),
        r"restore_lr=nan, where lrs are expected",
    ),
    (
        {"lr_scheduler_name": "PlateauLRScheduler", "args": {"patience_t": 1}},
        ("restore_lr", [-1.0]),
        r"restore_lr=\[-1\.0\], where an lr >= 0",
    ),
    (
        {"lr_scheduler_name": "PlateauLRScheduler", "args": {"patience_t": 1}},
        ("restore_lr", []),
        r"restore_lr=\[\], where a list of 1 is expected",
    ),
    (
        {"lr_scheduler_name": "PlateauLRScheduler", "args": {"patience_t": 1}},
        ("lrs", [-1.0]),
        r"where an lr >= 0",
    ),
    (
        {"lr_scheduler_name": "CosineAnnealingWarmRestarts", "args": {"T_0": 10}},
        ("T_i", -0.0),
        r"T_i=-0\.0, where an integer \(at most 2\*\*53\) is expected",
    ),
    (
        {"lr_scheduler_name": "ReduceLROnPlateau", "args": {"patience": 2}},
        ("num_bad_epochs", -1.0),
        r"num_bad_epochs=-1\.0, where an integer",
    ),
    (
        {"lr_scheduler_name": "ReduceLROnPlateau", "args": {"patience": 2}},
        ("cooldown_counter", 1e308),
        r"cooldown_counter=1e\+308, where an integer",
    ),
    (  # a Counter whose repr raises (a Tensor count): named by its type
        {"lr_scheduler_name": "MultiStepLR", "args": {"milestones": [5, 20]}},
        ("milestones", collections.Counter({5: torch.tensor([1.0, 2.0]), 20: 1})),
        r"milestones=<a Counter that cannot be shown>, where a number is expected",
    ),
]


@pytest.mark.parametrize(("solver", "change", "message"), TORCH_STATE_DAMAGE)
def test_a_torch_state_value_of_the_wrong_kind_is_refused_at_load_naming_the_key(solver, change, message):
    key, value = change
    fresh, state = _torch_state(solver, lambda s: s.__setitem__(key, value))
    with pytest.raises(ConfigError, match=message):
        fresh.load_state_dict(state)


@pytest.mark.parametrize(
    ("solver", "key", "value"),
    [
        ({"lr_scheduler_name": "StepLR", "args": {"step_size": 5, "gamma": 0.5}}, "step_size", 1),
        ({"lr_scheduler_name": "ReduceLROnPlateau", "args": {"patience": 1}}, "factor", 0.001),
        (
            {"lr_scheduler_name": "OneCycleLR", "max_iter": 60},
            "_anneal_func_type",
            "linear",
        ),
        # derived from the optimizer: True would read an SGD's missing betas at the next step
        ({"lr_scheduler_name": "CyclicLR", "args": {"base_lr": 0.01, "max_lr": 0.1}}, "use_beta1", True),
        ({"lr_scheduler_name": "CyclicLR", "args": {"base_lr": 0.01, "max_lr": 0.1}}, "step_ratio", -1),
    ],
)
def test_a_torch_setting_changed_in_the_checkpoint_is_refused_not_run(solver, key, value):
    fresh, state = _torch_state(solver, lambda s: s.__setitem__(key, value))
    with pytest.raises(
        ConfigError, match=rf"{key}=.* where the config gives .*torch would run the saved one"
    ):
        fresh.load_state_dict(state)


@pytest.mark.parametrize(("key", "value"), [("eps", 1e308), ("patience", 7.5)])
def test_a_setting_of_the_torch_plateau_inside_timms_plateau_changed_in_the_checkpoint_is_refused(key, value):
    solver = {"lr_scheduler_name": "PlateauLRScheduler", "args": {"patience_t": 1}}
    fresh, state = _torch_state(solver, lambda s: s["plateau"].__setitem__(key, value))
    with pytest.raises(
        ConfigError, match=rf"plateau \(ReduceLROnPlateau\) state has {key}=.* where the config"
    ):
        fresh.load_state_dict(state)


@pytest.mark.parametrize(
    "solver",
    [
        {"lr_scheduler_name": "StepLR", "args": {"step_size": 3, "gamma": 0.5}},
        {"lr_scheduler_name": "LinearLR", "args": {"start_factor": 0.5, "total_iters": 8}},
        {"lr_scheduler_name": "WarmupCosineLR", "max_iter": 40, "warmup_iters": 5},
        {
            "lr_scheduler_name": "ChainedScheduler",
            "args": {"schedulers": [{"lr_scheduler_name": "ConstantLR"}]},
        },
        {"lr_scheduler_name": "ReduceLROnPlateau", "args": {"patience": 1}},
        {**GROUPED},
        {"lr_scheduler_name": "CosineLRScheduler", "args": {"t_initial": 40}},
        {"lr_scheduler_name": "deepspeed.WarmupLR", "args": {"warmup_num_steps": 10}},
        {"lr_scheduler_name": "nemo.CosineAnnealing", "max_iter": 40, "warmup_iters": 5},
    ],
    ids=[
        *("StepLR", "LinearLR", "WarmupCosineLR", "ChainedScheduler", "ReduceLROnPlateau", "grouped"),
        *("timm", "deepspeed", "nemo"),
    ],
)
def test_a_state_saved_between_add_param_group_and_the_next_step_resumes_exactly(solver):
    """A group added (an unfrozen layer) and the checkpoint saved before the next step: the
    state covers the groups scheduled so far and says one more is pending, which joins at
    the next step after the resume as it would have without one."""
    metric = (1.0,) if "Plateau" in solver["lr_scheduler_name"] else ()
    names = solver is GROUPED or "param_groups" in solver

    def optimizer_with(groups: int) -> torch.optim.Optimizer:
        params = [{"params": [nn.Parameter(torch.zeros(1))], "lr": lr} for lr in (0.1, 0.05)[:groups]]
        if names:
            for group, name in zip(params, ("backbone", "head"), strict=False):
                group["name"] = name
        return torch.optim.SGD(params, lr=0.1)

    opt = optimizer_with(1)
    scheduler = build(solver, opt)
    for _ in range(5):
        opt.step(), scheduler.step(*metric)
    opt.add_param_group(
        {"params": [nn.Parameter(torch.zeros(1))], "lr": 0.05, **({"name": "head"} if names else {})}
    )
    state, opt_state = roundtrip(scheduler.state_dict()), roundtrip(opt.state_dict())
    assert state["pending_groups"] == 1
    fresh_opt = optimizer_with(2)
    fresh = build(solver, fresh_opt)
    fresh_opt.load_state_dict(opt_state)  # torch's usual order: the optimizer, then the scheduler
    fresh.load_state_dict(state)
    assert lrs(fresh_opt) == lrs(opt)  # the lrs the next optimizer step uses: the new group's its own
    for _ in range(12):
        for o, s in ((opt, scheduler), (fresh_opt, fresh)):
            o.step(), s.step(*metric)
        assert lrs(fresh_opt) == lrs(opt)
    with pytest.raises(ConfigError, match=r"covers 2 param groups, but this optimizer has 1"):
        build(solver, optimizer_with(1)).load_state_dict(state)


def test_timms_plateau_refuses_a_group_added_later_rather_than_reduce_it_twice():
    opt = sgd()
    scheduler = build({"lr_scheduler_name": "PlateauLRScheduler", "args": {"patience_t": 1}}, opt)
    scheduler.step(1.0)
    opt.add_param_group({"params": [nn.Parameter(torch.zeros(1))], "lr": 0.05})
    with pytest.raises(
        ConfigError, match=r"a param group was added to the optimizer after the scheduler was built"
    ):
        scheduler.step(1.0)
