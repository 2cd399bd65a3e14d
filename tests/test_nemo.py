"""NeMo's dialect: an ``optim.sched`` node gives NeMo's numbers.

Expected values are NeMo's formulas, written here from its ``lr_scheduler.py`` (a torch
scheduler whose lr at iteration s is its closed form at ``last_epoch = s``). The parity study
(benchmarks/parity_nemo.py) runs NeMo's own file against schedreg.
"""

from __future__ import annotations

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

LRS = (0.1, 0.03)


def sgd(*lrs: float) -> torch.optim.Optimizer:
    groups = [{"params": [torch.nn.Parameter(torch.zeros(1))], "lr": lr} for lr in lrs or LRS]
    return torch.optim.SGD(groups, lr=lrs[0] if lrs else LRS[0])


def run(cfg: Any, steps: int, optimizer: torch.optim.Optimizer | None = None) -> list[list[float]]:
    return peer_run(cfg, steps, optimizer or sgd())


def nemo(name: str, **keys: Any) -> dict[str, Any]:
    return {"optim": {"name": "adamw", "lr": 0.1, "sched": {"name": name, **keys}}}


def warmup(base: float, s: int, w: int) -> float:
    return base * (s + 1) / (w + 1)


def test_cosine_annealing_warms_up_from_one_over_w_plus_one_and_ends_at_min_lr():
    w, m, low = 5, 30, 0.001
    got = run(nemo("CosineAnnealing", warmup_steps=w, max_steps=m, min_lr=low), 35)

    def expected(base: float, s: int) -> float:
        if s <= w:
            return warmup(base, s, w)
        if s > m:
            return low
        return (base - low) * (0.5 * (1 + math.cos(math.pi * (s - w) / (m - w)))) + low

    for g, base in enumerate(LRS):
        assert [row[g] for row in got] == pytest.approx(
            [expected(base, s) for s in range(35)], rel=1e-12, abs=0
        )
    assert got[0][0] == 0.1 / 6 and got[m + 1] == [low, low]  # NeMo's first lr; min_lr just past max_steps


def test_cosine_annealing_with_constant_steps_runs_megatrons_form_on_the_first_groups_lr():
    w, c, m, low = 5, 6, 30, 0.001
    decay = m - (c + w)
    got = run(nemo("CosineAnnealing", warmup_steps=w, constant_steps=c, max_steps=m, min_lr=low), 35)

    def expected(s: int) -> float:
        first = LRS[0]  # NeMo reads base_lrs[0] for every group
        if s <= w:
            return first * s / w
        if s > w + decay:
            return low
        return low + 0.5 * (math.cos(math.pi * (s - w) / decay) + 1.0) * (first - low)

    for g in range(2):
        assert [row[g] for row in got] == pytest.approx([expected(s) for s in range(35)], rel=1e-12, abs=0)


def one_minus_sqrt(b: float, s: int, h: int, m: int, lo: float) -> float:
    return max(lo, b * (1 - ((s - h) / (m - h)) ** 0.5))


def linear(b: float, s: int, h: int, m: int, lo: float) -> float:
    return b - (b - lo) * (s - h) / (m - h)


@pytest.mark.parametrize(
    ("name", "keys", "decay"),
    [
        ("WarmupHoldAnnealOneMinusSquareRoot", {"hold_steps": 5}, one_minus_sqrt),
        ("WarmupHoldAnnealLinear", {"hold_steps": 5}, linear),
    ],
)
def test_the_wsd_forms_warm_up_hold_then_anneal_to_min_lr(name, keys, decay):
    w, m, low = 4, 30, 0.001
    hold = keys["hold_steps"] + w  # NeMo counts hold_steps from 0: warmup + hold
    got = run(nemo(name, warmup_steps=w, max_steps=m, min_lr=low, **keys), 34)

    def expected(base: float, s: int) -> float:
        if s <= w:
            return warmup(base, s, w)
        if s < hold:
            return base
        return low if s > m else decay(base, s, hold, m, low)

    for g, base in enumerate(LRS):
        assert [row[g] for row in got] == pytest.approx(
            [expected(base, s) for s in range(34)], rel=1e-12, abs=0
        )


def test_noam_annealing_scales_by_d_model_and_peaks_at_the_warmups_end():
    d, w = 16, 5
    got = run(nemo("NoamAnnealing", d_model=d, warmup_steps=w, max_steps=30), 12)

    def expected(base: float, s: int) -> float:
        s = max(1, s)
        return base * d**-0.5 * min(s**-0.5, s * w**-1.5)

    for g, base in enumerate(LRS):
        assert [row[g] for row in got] == pytest.approx([expected(base, s) for s in range(12)], rel=1e-12)


def test_polynomial_decay_cycles_its_decay_length_when_asked():
    w, m, power = 5, 30, 2.0
    got = run(nemo("PolynomialDecayAnnealing", warmup_steps=w, max_steps=m, power=power, cycle=True), 30)

    def expected(base: float, s: int) -> float:
        if s <= w:
            return warmup(base, s, w)
        x, length = s - w, m - w
        length *= 1.0 if x == 0 else math.ceil(x / length)
        return base * (1 - x / length) ** power

    assert [row[0] for row in got] == pytest.approx([expected(0.1, s) for s in range(30)], rel=1e-12, abs=0)


WSD = {"warmup_steps": 5, "hold_ratio": 0.2, "max_steps": 40, "min_lr": 0.001}
WSD_NAME = "WarmupHoldAnnealOneMinusSquareRoot"


@pytest.mark.parametrize(
    "cfg",
    [
        nemo(WSD_NAME, **WSD),
        {"sched": {"name": WSD_NAME, **WSD}},
        OmegaConf.create(nemo(WSD_NAME, **WSD)),
        {
            "solver": {
                "lr_scheduler_name": f"nemo.{WSD_NAME}",
                "max_iter": 40,
                "warmup_iters": 5,
                "args": {"hold_ratio": 0.2, "min_lr": 0.001},
            }
        },
    ],
    ids=["model config", "optim node", "OmegaConf", "qualified name in a solver node"],
)
def test_every_route_to_a_nemo_schedule_gives_the_same_lrs(cfg):
    reference = nemo(
        "WarmupHoldAnnealOneMinusSquareRoot", warmup_steps=5, hold_ratio=0.2, max_steps=40, min_lr=0.001
    )
    assert run(cfg, 45) == run(reference, 45)


def test_the_hydra_options_compose_to_nemos_numbers():
    cfg = compose(["solver=nemo_cosine", "solver.max_iter=40", "solver.warmup_iters=5"], None, "schedreg")
    assert run(cfg, 45) == run(nemo("CosineAnnealing", warmup_steps=5, max_steps=40), 45)
    wsd = compose(["solver=nemo_wsd", "solver.max_iter=40", "solver.warmup_iters=5"], None, "schedreg")
    assert run(wsd, 45) == run(
        nemo("WarmupHoldAnnealOneMinusSquareRoot", warmup_steps=5, hold_ratio=0.7, max_steps=40), 45
    )


def test_a_torch_name_in_a_nemo_sched_node_is_torchs_class():
    by_hand = sgd()
    torch_scheduler = torch.optim.lr_scheduler.StepLR(by_hand, step_size=3, gamma=0.5)
    expected = []
    for _ in range(10):
        expected.append([g["lr"] for g in by_hand.param_groups])
        by_hand.step()
        torch_scheduler.step()
    assert run(nemo("StepLR", step_size=3, gamma=0.5), 10) == expected


SCHED = r"optim\.sched"
BAD = [
    (
        nemo("cosine", max_steps=10),
        r"optim\.sched\.name: nemo has no scheduler 'cosine' \(a transformers name\)",
    ),
    (nemo("CosineAnnealing", max_steps=0), rf"{SCHED}: NeMo's CosineAnnealing would divide by 0 at step 0"),
    (nemo("T5InverseSquareRootAnnealing", constant_steps=4, warmup_steps=2, max_steps=9), r"takes no warmup"),
    (nemo("NoamAnnealing", d_model=0), rf"{SCHED}\.d_model must be a whole number >= 1"),
    (nemo("NoamAnnealing", max_steps=9), rf"{SCHED}\.d_model is required by NeMo's NoamAnnealing"),
    (
        nemo("CosineAnnealing", max_steps=math.nan),
        rf"{SCHED}\.max_steps must be a whole number >= 0, got nan",
    ),
    (
        nemo("CosineAnnealing", max_steps=9, warmup_steps=math.inf),
        rf"{SCHED}\.warmup_steps must be a whole number",
    ),
    (nemo("ExponentialLR", gamma=0.9, max_steps=-7), rf"{SCHED}\.max_steps must be an integer >= 0"),
    (
        nemo("CosineAnnealing", max_steps=10, constant_steps=2, min_lr=0.1),
        r"must be below the first group's lr",
    ),
    (nemo("CosineAnnealing", max_steps=10, min_lr=0.5), rf"{SCHED}\.min_lr=0\.5 is above a param group's lr"),
    (
        nemo("CosineAnnealing", max_steps=10, warmup_steps=2, warmup_ratio=0.1),
        rf"{SCHED}: set warmup_steps or",
    ),
    (nemo("CosineAnnealing", max_steps=-1), rf"{SCHED}\.max_steps is -1, for which NeMo builds no scheduler"),
    (nemo("CosineAnnealing", t_max_epochs=3), rf"{SCHED}\.t_max_epochs: NeMo computes max_steps"),
    (
        nemo("CosineAnnealing", max_steps=10, hold_steps=2),
        rf"{SCHED}\.hold_steps: NeMo's CosineAnnealing takes",
    ),
    (nemo("NoamHoldAnnealing", max_steps=10), r"NoamHoldAnnealing needs warmup_steps > 0"),
    (nemo("CosineAnnealing"), rf"{SCHED}\.max_steps is required by NeMo's CosineAnnealing"),
    (
        nemo("CosineAnnealing", max_steps=10, min_lr=math.inf),
        rf"{SCHED}\.min_lr must be a finite number >= 0",
    ),
]


@pytest.mark.parametrize(("cfg", "message"), BAD)
def test_a_bad_nemo_node_is_refused_at_build_naming_nemos_keys(cfg, message):
    with pytest.raises(ConfigError, match=message):
        schedreg.build_lr_scheduler(cfg, sgd())


def test_a_warmup_longer_than_max_steps_runs_as_nemos_smoke_test():
    w, m = 10, 6  # NeMo: the warmup's branch comes first, then min_lr past max_steps
    got = [row[0] for row in run(nemo("CosineAnnealing", warmup_steps=w, max_steps=m), 12)]
    assert got == pytest.approx([warmup(0.1, s, w) if s <= w else 0.0 for s in range(12)], rel=1e-12, abs=0)


def test_max_steps_in_a_torch_names_node_is_the_runs_length_not_an_argument():
    assert run(nemo("StepLR", step_size=3, gamma=0.5, max_steps=100), 10) == run(
        nemo("StepLR", step_size=3, gamma=0.5), 10
    )


def test_whole_floats_read_as_nemo_reads_them():
    assert run(nemo("CosineAnnealing", warmup_steps=3.0, max_steps=20.0), 25) == run(
        nemo("CosineAnnealing", warmup_steps=3, max_steps=20), 25
    )


def test_a_numpy_integer_max_steps_in_a_torch_names_node_is_read_as_a_number():
    np = pytest.importorskip("numpy")
    assert run(nemo("StepLR", step_size=3, gamma=0.5, max_steps=np.int64(40)), 10) == run(
        nemo("StepLR", step_size=3, gamma=0.5), 10
    )
