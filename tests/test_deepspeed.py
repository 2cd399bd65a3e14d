"""DeepSpeed's dialect: a ds_config's ``scheduler`` node gives DeepSpeed's numbers.

Expected values are DeepSpeed's formulas, written here from its ``lr_schedules.py``
(``last_batch_iteration`` i starts at -1, the constructor writes the value at -1, each
``step()`` adds 1: the lr of iteration s is DeepSpeed's at i = s - 1). The parity study
(benchmarks/parity_deepspeed.py) runs DeepSpeed's own file against schedreg.
"""

from __future__ import annotations

import io
import math
from typing import Any

import pytest
import torch
from omegaconf import OmegaConf

import schedreg
from schedreg import ConfigError
from schedreg.integrations.cli import compose

try:  # `python -m pytest` from the repo root
    from tests.peer_runs import run as peer_run
except ModuleNotFoundError:  # plain `pytest`: tests/ itself is on sys.path
    from peer_runs import run as peer_run  # type: ignore[no-redef]


def sgd(*lrs: float) -> torch.optim.Optimizer:
    groups = [{"params": [torch.nn.Parameter(torch.zeros(1))], "lr": lr} for lr in lrs or (0.1,)]
    return torch.optim.SGD(groups, lr=0.1)


def run(cfg: Any, steps: int, optimizer: torch.optim.Optimizer | None = None) -> list[list[float]]:
    return peer_run(cfg, steps, optimizer or sgd())


def ds(kind: str, **params: Any) -> dict[str, Any]:
    return {"train_batch_size": 32, "scheduler": {"type": kind, "params": params}}


def gamma(i: int, n: int, kind: str) -> float:
    """DeepSpeed's warmup fraction at its iteration i (n at least 2)."""
    n = max(2, n)
    if i < 0:
        return 0.0
    return (1.0 / math.log(n)) * math.log(i + 1) if kind == "log" else i / n


@pytest.mark.parametrize("kind", ["log", "linear"])
def test_warmup_decay_lr_warms_up_from_the_minimum_repeated_then_decays_linearly_to_zero(kind):
    lo, hi, n, total = 0.001, 0.05, 20, 60
    got = [
        row[0]
        for row in run(
            ds(
                "WarmupDecayLR",
                warmup_min_lr=lo,
                warmup_max_lr=hi,
                warmup_num_steps=n,
                total_num_steps=total,
                warmup_type=kind,
            ),
            70,
        )
    ]

    def expected(s: int) -> float:
        i = s - 1
        g = gamma(i, n, kind) if i < n else max(0.0, float(total - i) / float(max(1.0, total - n)))
        return lo + (hi - lo) * g

    assert got[0] == got[1] == lo  # DeepSpeed's repeat: updates 0 and 1 both use the minimum
    assert got == pytest.approx([expected(s) for s in range(70)], rel=1e-12, abs=0)
    assert got[-1] == lo  # past total_num_steps: 0 of the way


def test_warmup_lr_ignores_the_optimizers_lr_and_holds_the_maximum():
    got = run(ds("WarmupLR", warmup_max_lr=0.02, warmup_num_steps=10), 15, sgd(0.5, 3.0))
    expected = [0.02 * gamma(s - 1, 10, "log") if s <= 10 else 0.02 for s in range(15)]
    assert [row[0] for row in got] == pytest.approx(expected, rel=1e-12, abs=0)
    assert all(row[0] == row[1] for row in got)  # each group gets the same absolute lr


@pytest.mark.parametrize("kind", ["log", "linear"])
def test_warmup_cosine_lr_multiplies_each_groups_lr_and_never_quite_reaches_it(kind):
    n, total, wmr, cmr = 10, 50, 0.1, 0.01
    got = run(
        ds(
            "WarmupCosineLR",
            total_num_steps=total,
            warmup_num_steps=n,
            warmup_min_ratio=wmr,
            cos_min_ratio=cmr,
            warmup_type=kind,
        ),
        60,
        sgd(0.1, 0.03),
    )

    def ratio(s: int) -> float:
        i = s - 1
        if i < 0:
            return 0.0
        if i < n:
            return wmr + gamma(i, n, kind) * (1.0 - wmr)
        return max(0.0, cmr + (1.0 - cmr) * (1 + math.cos(math.pi * (i - n + 1) / (total - n))) / 2)

    for group, base in enumerate((0.1, 0.03)):
        assert [row[group] for row in got] == pytest.approx(
            [base * ratio(s) for s in range(60)], rel=1e-12, abs=0
        )
    assert max(row[0] for row in got) < 0.1  # the warmup ends below 1, the cosine starts past 0


def test_lr_range_test_rises_continuously_or_in_stairs():
    for staircase in (False, True):
        got = run(
            ds(
                "LRRangeTest",
                lr_range_test_min_lr=0.01,
                lr_range_test_step_size=4,
                lr_range_test_step_rate=0.5,
                lr_range_test_staircase=staircase,
            ),
            12,
        )
        interval = [(s / 4 if not staircase else s // 4) for s in range(12)]  # (i + 1) / size, i = s - 1
        assert [row[0] for row in got] == pytest.approx([0.01 * (1 + 0.5 * x) for x in interval], rel=1e-12)


def test_one_cycle_goes_up_and_down_then_decays_from_the_minimum():
    lo, hi, up, down, rate, every = 0.001, 0.05, 10, 20, 0.5, 5
    got = [
        row[0]
        for row in run(
            ds(
                "OneCycle",
                cycle_min_lr=lo,
                cycle_max_lr=hi,
                cycle_first_step_size=up,
                cycle_second_step_size=down,
                decay_lr_rate=rate,
                decay_step_size=every,
                cycle_momentum=False,
            ),
            45,
        )
    ]
    total = up + down

    def expected(s: int) -> float:
        if s - 1 < total:
            x = s / total - math.floor(s / total)  # 1 + s/T - floor(1 + s/T)
            scale = x / (up / total) if x <= up / total else (x - 1) / (up / total - 1)
            return lo + (hi - lo) * scale
        return lo / (1 + rate * (s - total) / every)

    assert got == pytest.approx([expected(s) for s in range(45)], rel=1e-12, abs=1e-18)


def test_one_cycle_refuses_to_leave_an_adam_optimizers_betas_uncycled():
    adam = torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    with pytest.raises(
        ConfigError, match=r"scheduler\.params\.cycle_momentum: DeepSpeed's OneCycle would cycle"
    ):
        schedreg.build_lr_scheduler(ds("OneCycle", cycle_min_lr=0.001, cycle_max_lr=0.05), adam)


def test_any_torch_scheduler_name_works_as_in_deepspeed():
    by_hand = sgd()
    torch_scheduler = torch.optim.lr_scheduler.StepLR(by_hand, step_size=3, gamma=0.5)
    expected = []
    for _ in range(10):
        expected.append([by_hand.param_groups[0]["lr"]])
        by_hand.step()
        torch_scheduler.step()
    assert run(ds("StepLR", step_size=3, gamma=0.5), 10) == expected


@pytest.mark.parametrize(
    "cfg",
    [
        ds("WarmupDecayLR", total_num_steps=40, warmup_num_steps=5),
        {"type": "WarmupDecayLR", "params": {"total_num_steps": 40, "warmup_num_steps": 5}},
        OmegaConf.create(ds("WarmupDecayLR", total_num_steps=40, warmup_num_steps=5)),
        {"solver": {"lr_scheduler_name": "deepspeed.WarmupDecayLR", "max_iter": 40, "warmup_iters": 5}},
    ],
    ids=["ds_config", "scheduler node", "OmegaConf", "qualified name in a solver node"],
)
def test_every_route_to_a_deepspeed_schedule_gives_the_same_lrs(cfg):
    reference = run(ds("WarmupDecayLR", total_num_steps=40, warmup_num_steps=5), 45)
    assert run(cfg, 45) == reference


def test_the_hydra_option_composes_to_deepspeeds_numbers():
    overrides = [
        "solver=ds_warmup_decay",
        "solver.max_iter=40",
        "solver.warmup_iters=5",
        "solver.base_lr=0.02",
    ]
    cfg = compose(overrides, None, "schedreg")
    reference = ds("WarmupDecayLR", total_num_steps=40, warmup_num_steps=5, warmup_max_lr=0.02)
    assert run(cfg, 45) == run(reference, 45)
    cosine = compose(
        ["solver=ds_warmup_cosine", "solver.max_iter=40", "solver.warmup_iters=5"], None, "schedreg"
    )
    assert run(cosine, 45) == run(ds("WarmupCosineLR", total_num_steps=40, warmup_num_steps=5), 45)


NOT_DEEPSPEEDS = r"scheduler\.type: deepspeed has no scheduler"
PARAMS = r"scheduler\.params"
BAD_NODES = [
    ({"scheduler": {"type": "cosine"}}, rf"{NOT_DEEPSPEEDS} 'cosine' \(a transformers name\)"),
    (
        {"scheduler": {"type": "WarmupMultiStepLR"}},
        rf"{NOT_DEEPSPEEDS} 'WarmupMultiStepLR' \(a detectron2 name\)",
    ),
    (
        ds("WarmupCosineLR", total_num_steps=5, warmup_num_steps=5),
        r"total_num_steps must be in \[6, inf\], got 5",
    ),
    (ds("WarmupLR", warmup_type="exp"), rf"{PARAMS}\.warmup_type must be one of log, linear, got 'exp'"),
    (ds("WarmupLR", warmup_max_lr=[0.1, 0.2]), rf"{PARAMS}\.warmup_max_lr: one lr per param group"),
    (ds("WarmupLR", last_batch_iteration=10), rf"{PARAMS}\.last_batch_iteration must be -1"),
    (ds("WarmupDecayLR", warmup_num_steps=10), rf"{PARAMS}\.total_num_steps is required"),
    (ds("WarmupLR", warmup_steps=10), rf"{PARAMS}"),
    ({"scheduler": {"type": "WarmupLR", "params": [1]}}, rf"{PARAMS} must be a mapping"),
]


@pytest.mark.parametrize(("cfg", "message"), BAD_NODES)
def test_a_bad_deepspeed_node_is_refused_naming_deepspeeds_keys(cfg, message):
    with pytest.raises(ConfigError, match=message):
        schedreg.build_lr_scheduler(cfg, sgd())


def test_detectron2s_warmup_cosine_lr_keeps_its_name_in_a_solver_node():
    opt = sgd()
    solver = {"lr_scheduler_name": "WarmupCosineLR", "max_iter": 100, "warmup_iters": 10}
    schedreg.build_lr_scheduler({"solver": solver}, opt)
    assert opt.param_groups[0]["lr"] == pytest.approx(0.1 * 0.001)  # detectron2's warmup factor: not 0


def test_a_deepspeed_schedule_resumes_bit_for_bit_mid_warmup():
    cfg = ds("WarmupDecayLR", total_num_steps=60, warmup_num_steps=20, warmup_type="linear")
    opt = sgd()
    scheduler = schedreg.build_lr_scheduler(cfg, opt)
    for _ in range(7):
        opt.step()
        scheduler.step()
    buffer = io.BytesIO()
    torch.save(scheduler.state_dict(), buffer)
    buffer.seek(0)
    fresh_opt = sgd()
    fresh = schedreg.build_lr_scheduler(cfg, fresh_opt)
    fresh.load_state_dict(torch.load(buffer, weights_only=True))
    for _ in range(30):
        for o, s in ((opt, scheduler), (fresh_opt, fresh)):
            o.step()
            s.step()
        assert fresh_opt.param_groups[0]["lr"] == opt.param_groups[0]["lr"]


@pytest.mark.parametrize(
    ("node", "message"),
    [
        ({"type": "WarmupLR", "params": {"warmup_max_lr": "???"}}, r"must be float, got '\?\?\?'"),
        ({"type": "WarmupLR", "params": "???"}, r"scheduler\.params must be a mapping"),
        ({"type": "WarmupLR", "params": {"warmup_max_lr": "${nope}"}}, r"could not be resolved"),
        ({"type": "${nope}"}, r"could not be resolved"),
    ],
)
def test_an_unresolvable_omegaconf_deepspeed_node_is_a_config_error_not_defaults(node, message):
    with pytest.raises(ConfigError, match=message):
        schedreg.build_lr_scheduler(OmegaConf.create({"scheduler": node}), sgd())


def test_show_describes_a_ds_configs_own_warmup(tmp_path, capsys):
    from schedreg.integrations.cli import main

    config = tmp_path / "ds.yaml"
    config.write_text(
        "scheduler:\n  type: WarmupDecayLR\n  params: {total_num_steps: 200, warmup_num_steps: 50}\n"
    )
    assert main(["show", "--config-dir", str(tmp_path), "--config-name", "ds"]) == 0
    out = capsys.readouterr().out
    assert "# warmup: the scheduler's own, over 50 steps (scheduler.params.warmup_num_steps)" in out


def test_a_tensor_argument_that_requires_grad_is_refused_at_build():
    value = torch.tensor(0.01, dtype=torch.float64, requires_grad=True)
    with pytest.raises(ConfigError, match=r"scheduler\.params\.warmup_max_lr must be float, got tensor"):
        schedreg.build_lr_scheduler(ds("WarmupLR", warmup_max_lr=value, warmup_num_steps=5), sgd())
