"""composer's and llm-foundry's dialect: a ``scheduler: {name: ...}`` node beside
``max_duration`` gives composer's numbers.

Expected values are composer's formulas, written here from its ``composer/optim/scheduler.py``
and ``composer/core/time.py`` (and llm-foundry's ``llmfoundry/optim/scheduler.py``): a
scheduler is a multiplier ``alpha`` of each group's lr, read off the clock after ``n`` batches
(``n`` batches, ``n * global_train_batch_size`` samples, ``n * global_train_batch_size *
max_seq_len`` tokens), each time converted by ``_convert_time`` (epochs and ``dur`` into
batches, truncated with ``int()``). Batch ``n`` trains at ``alpha(n)`` with ``trainer_lag:
false``; by default, and with it true, at ``alpha(max(n - 1, 0))`` as in composer's Trainer. The parity study
(benchmarks/parity_composer.py) runs composer's and llm-foundry's own files against schedreg.
"""

from __future__ import annotations

import math
from collections.abc import Callable
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


def composer(name: str, max_duration: Any = "100ba", **keys: Any) -> dict[str, Any]:
    """A composer/llm-foundry config: ``scheduler`` beside the Trainer's keys (those of
    ``keys`` that are not the scheduler's: iters_per_epoch, global_train_batch_size, ...),
    asking for the scheduler's own function (``trainer_lag: false``) unless told otherwise."""
    keys.setdefault("trainer_lag", False)
    state = ("iters_per_epoch", "global_train_batch_size", "max_seq_len", "trainer_lag")
    scheduler = {k: v for k, v in keys.items() if k not in state}
    return {
        "scheduler": {"name": name, **scheduler},
        "max_duration": max_duration,
        **{k: v for k, v in keys.items() if k in state},
    }


def assert_alpha(got: list[list[float]], alpha: Callable[[int], float], lag: bool = False) -> None:
    """Every group's lr is its base lr times ``alpha`` of the batch (of the batch before, lagged)."""
    for g, base in enumerate(LRS):
        expected = [base * alpha(max(n - 1, 0) if lag else n) for n in range(len(got))]
        assert [row[g] for row in got] == pytest.approx(expected, rel=1e-12, abs=0)


# --- composer's formulas ----------------------------------------------------------------


def cosine_anneal(x: float, min_y: float = 0.0, max_y: float = 1.0) -> float:
    """composer's ``_cosine_anneal``."""
    x = min(max(x, 0.0), 1.0)
    return min_y + (max_y - min_y) * (1 + math.cos(x * math.pi)) / 2


def after_warmup(n: int, warmup: int, t_max: int) -> float:
    """composer's ``frac`` past a warmup: ``(t - t_warmup) / (t_max - t_warmup)``, at most 1."""
    return min(1.0, (n - warmup) / (t_max - warmup) if t_max > warmup else 0.0)


# --- each of composer's classes ---------------------------------------------------------


def test_step_scheduler_multiplies_by_gamma_once_per_step_size():
    got = run(composer("StepScheduler", "5ep", iters_per_epoch=10, step_size="1ep", gamma=0.5), 55)
    assert_alpha(got, lambda n: 0.5 ** int(n / 10))
    assert got[9][0] == 0.1 and got[10][0] == 0.05


def test_multistep_scheduler_multiplies_gamma_in_for_each_milestone_reached_in_list_order():
    milestones = [10, 20, 35]  # "10ba", "2ep" (2 x 10 batches), "35ba"
    got = run(
        composer(
            "MultiStepScheduler", "5ep", iters_per_epoch=10, milestones=["10ba", "2ep", "35ba"], gamma=0.3
        ),
        50,
    )

    def alpha(n: int) -> float:
        factor = 1.0
        for m in milestones:
            if n >= m:
                factor *= 0.3
        return factor

    assert_alpha(got, alpha)


def test_constant_scheduler_holds_alpha_until_t_max_then_returns_1():
    got = run(composer("ConstantScheduler", alpha=0.5, t_max="0.3dur"), 40)
    assert_alpha(got, lambda n: 0.5 if n < int(0.3 * 100) else 1.0)
    assert got[29][0] == 0.05 and got[30][0] == 0.1


def test_linear_scheduler_interpolates_alpha_i_to_alpha_f_over_t_max_then_holds():
    got = run(composer("LinearScheduler", alpha_i=0.9, alpha_f=0.2, t_max="40ba"), 60)
    assert_alpha(got, lambda n: 0.9 + min(1.0, n / 40) * (0.2 - 0.9))


def test_exponential_scheduler_is_gamma_to_the_power_of_elapsed_decay_periods():
    got = run(composer("ExponentialScheduler", "4ep", iters_per_epoch=7, gamma=0.9), 30)  # decay_period 1ep
    assert_alpha(got, lambda n: 0.9 ** float(n / 7))


def test_cosine_annealing_scheduler_reaches_alpha_f_at_t_max_and_holds_it():
    t_max = int(0.5 * 25 * 4)  # 0.5dur of 4 epochs of 25 batches
    got = run(
        composer("CosineAnnealingScheduler", "4ep", iters_per_epoch=25, t_max="0.5dur", alpha_f=0.05), 70
    )
    assert_alpha(got, lambda n: cosine_anneal(n / t_max, 0.05))
    assert got[t_max][0] == pytest.approx(0.1 * 0.05, rel=1e-12) and got[69] == got[t_max]


def warm_restarts(n: int, t_0: int, t_mult: float, alpha_f: float) -> float:
    """composer's ``CosineAnnealingWarmRestartsScheduler``: cycles of ``t_0``, each the
    last times ``t_mult`` (truncated)."""
    length = end = t_0
    while end <= n:
        length = int(t_mult * length)
        end += length
    return cosine_anneal((n - (end - length)) / length, alpha_f)


def test_warm_restarts_with_t_mult_1_restart_every_t_0():
    got = run(composer("CosineAnnealingWarmRestartsScheduler", t_0="10ba", alpha_f=0.01), 45)
    assert_alpha(got, lambda n: cosine_anneal((n % 10) / 10, 0.01))
    assert [got[n][0] for n in (0, 10, 20, 30, 40)] == [0.1] * 5


def test_warm_restarts_with_t_mult_1_5_grow_each_cycle_by_int_of_t_mult_times_the_last():
    got = run(composer("CosineAnnealingWarmRestartsScheduler", t_0="10ba", t_mult=1.5, alpha_f=0.01), 90)
    assert_alpha(got, lambda n: warm_restarts(n, 10, 1.5, 0.01))
    restarts = [n for n in range(1, 90) if got[n][0] == 0.1]
    assert restarts == [10, 25, 47, 80]  # cycles of 10, 15, int(22.5) = 22, int(33.0) = 33


def test_polynomial_scheduler_decays_to_alpha_f_at_the_power():
    got = run(composer("PolynomialScheduler", power=0.5, alpha_f=0.02), 110)  # t_max 1dur = 100ba
    assert_alpha(got, lambda n: 0.02 + (1 - min(1.0, n / 100)) ** 0.5 * (1.0 - 0.02))


def test_multistep_with_warmup_warms_up_from_0_then_multiplies_gamma_per_milestone():
    milestones = [25, 60, 75]  # "1ep", "60ba", "3ep" with 25 batches an epoch
    got = run(
        composer(
            "MultiStepWithWarmupScheduler",
            "4ep",
            iters_per_epoch=25,
            t_warmup="5ba",
            milestones=["1ep", "60ba", "3ep"],
            gamma=0.3,
        ),
        100,
    )

    def alpha(n: int) -> float:
        if n < 5:
            return n / 5
        factor = 1.0
        for m in milestones:
            if n >= m:
                factor *= 0.3
        return factor

    assert_alpha(got, alpha)


def test_constant_with_warmup_warms_up_to_alpha_and_holds_it_even_past_t_max():
    warmup = int(0.05 * 100)
    got = run(composer("ConstantWithWarmupScheduler", t_warmup="0.05dur", alpha=0.7), 110)
    assert_alpha(got, lambda n: (n / warmup) * 0.7 if n < warmup else 0.7)
    assert got[105][0] == pytest.approx(0.07, rel=1e-12)  # not composer's docstring's 1.0 after t_max


def test_linear_with_warmup_warms_up_to_alpha_i_then_goes_linearly_to_alpha_f():
    warmup, t_max = 10, 100  # 1ep and 1dur of 10 epochs of 10 batches
    got = run(
        composer(
            "LinearWithWarmupScheduler", "10ep", iters_per_epoch=10, t_warmup="1ep", alpha_i=0.9, alpha_f=0.1
        ),
        110,
    )

    def alpha(n: int) -> float:
        if n < warmup:
            return (n / warmup) * 0.9
        return 0.9 + after_warmup(n, warmup, t_max) * (0.1 - 0.9)

    assert_alpha(got, alpha)


def test_cosine_annealing_with_warmup_warms_up_then_anneals_to_alpha_f():
    got = run(composer("CosineAnnealingWithWarmupScheduler", t_warmup="10ba", alpha_f=0.1), 110)
    assert_alpha(got, lambda n: n / 10 if n < 10 else cosine_anneal(after_warmup(n, 10, 100), 0.1))
    assert got[10] == [0.1, 0.03] and got[100][0] == pytest.approx(0.01, rel=1e-12)


def test_polynomial_with_warmup_warms_up_then_decays_at_the_power():
    got = run(composer("PolynomialWithWarmupScheduler", t_warmup="10ba", power=2.0, alpha_f=0.05), 110)

    def alpha(n: int) -> float:
        if n < 10:
            return n / 10
        return 0.05 + (1 - after_warmup(n, 10, 100)) ** 2.0 * (1.0 - 0.05)

    assert_alpha(got, alpha)


def inverse_sqrt(
    n: int, warmup: int, scale: int, cooldown: int, t_max: int, decay: float, floor: float
) -> float:
    """llm-foundry's ``InverseSquareRootWithWarmupScheduler``: t / t_warmup, then
    1 / sqrt((t + t_scale - t_warmup) / t_scale) toward ``alpha_f_decay``, then linearly to
    ``alpha_f_cooldown`` over the last ``t_cooldown``."""
    if n < warmup:
        return n / warmup
    shift, start = scale - warmup, max(t_max - cooldown, warmup)
    if n < start:
        return decay + 1 / ((n + shift) / scale) ** 0.5 * (1.0 - decay)
    alpha_i = decay + 1 / ((start + shift) / scale) ** 0.5 * (1.0 - decay)
    if cooldown == 0:
        return alpha_i
    return alpha_i + min(1.0, (n - start) / cooldown) * (floor - alpha_i)


def test_inverse_square_root_with_warmup_decays_as_1_over_sqrt_then_cools_down_linearly():
    keys = {"t_warmup": "10ba", "t_scale": "20ba", "t_cooldown": "30ba", "alpha_f_decay": 0.1}
    got = run(composer("InverseSquareRootWithWarmupScheduler", **keys, alpha_f_cooldown=0.0), 110)
    assert_alpha(got, lambda n: inverse_sqrt(n, 10, 20, 30, 100, 0.1, 0.0))
    assert got[10][0] == 0.1  # (10 + 20 - 10) / 20 = 1: the peak
    assert got[70][0] == pytest.approx(0.1 * (0.1 + 0.5 * 0.9), rel=1e-12)  # cooldown from (80 / 20) ** -0.5
    assert got[100][0] == 0.0


def test_inverse_square_root_without_cooldown_holds_its_value_from_t_max():
    keys = {"t_warmup": "4ba", "t_scale": "4ba", "t_cooldown": "0ba", "alpha_f_decay": 0.2}
    got = run(composer("InverseSquareRootWithWarmupScheduler", "50ba", **keys), 60)
    assert_alpha(got, lambda n: inverse_sqrt(n, 4, 4, 0, 50, 0.2, 0.0))
    assert got[55] == got[50]


# --- llm-foundry's yaml -------------------------------------------------------------------

FOUNDRY_YAML = """
max_seq_len: 512
global_train_batch_size: 8
max_duration: {max_duration}
scheduler:
  name: {name}
{keys}
"""
TOKENS = 8 * 512  # a batch of global_train_batch_size sequences of max_seq_len tokens


def foundry(name: str, max_duration: str, **keys: Any) -> Any:
    lines = "\n".join(f"  {k}: {v}" for k, v in keys.items())
    return OmegaConf.create(FOUNDRY_YAML.format(name=name, max_duration=max_duration, keys=lines))


FOUNDRY: list[tuple[str, str, dict[str, Any], Callable[[int], float]]] = [
    (
        "constant_with_warmup",
        "800sp",
        {"t_warmup": "80sp"},  # 10 batches of 8 samples
        lambda n: (8 * n / 80) * 1.0 if 8 * n < 80 else 1.0,
    ),
    (
        "cosine_with_warmup",
        "409600tok",  # 100 batches of 4096 tokens
        {"t_warmup": "3e4tok", "alpha_f": 0.1},
        lambda n: (
            TOKENS * n / 30000
            if TOKENS * n < 30000
            else cosine_anneal((TOKENS * n - 30000) / (409600 - 30000), 0.1)
        ),
    ),
    (
        "linear_decay_with_warmup",
        "100ba",
        {"t_warmup": "0.1dur", "alpha_f": 0.1},
        lambda n: n / 10 if n < 10 else 1.0 + after_warmup(n, 10, 100) * (0.1 - 1.0),
    ),
    (
        "inv_sqrt_with_warmup",
        "100ba",
        {"t_warmup": "10ba", "t_scale": "10ba", "t_cooldown": "20ba", "alpha_f_decay": 0.1},
        lambda n: inverse_sqrt(n, 10, 10, 20, 100, 0.1, 0.0),
    ),
]


@pytest.mark.parametrize(("name", "max_duration", "keys", "alpha"), FOUNDRY, ids=[f[0] for f in FOUNDRY])
def test_llm_foundrys_names_in_its_yaml_give_the_numbers_its_trainer_gave(name, max_duration, keys, alpha):
    got = run(foundry(name, max_duration, **keys), 110)
    assert_alpha(got, alpha, lag=True)  # composer's Trainer: batch n at alpha(max(n - 1, 0))
    assert got[0] == got[1] == [0.0, 0.0]
    assert_alpha(
        run(OmegaConf.merge(foundry(name, max_duration, **keys), {"trainer_lag": False}), 110), alpha
    )


# --- time strings -------------------------------------------------------------------------


@pytest.mark.parametrize(("max_duration", "per_epoch"), [("100ba", None), ("4ep", 25)])
def test_dur_is_a_fraction_of_max_duration_in_batches_truncated_by_int(max_duration, per_epoch):
    extra = {"iters_per_epoch": per_epoch} if per_epoch else {}
    warmup = int(0.57 * 25 * 4) if per_epoch else int(0.57 * 100)
    assert warmup == 56  # 0.57 * 100 is 56.99999999999999
    got = run(composer("CosineAnnealingWithWarmupScheduler", max_duration, t_warmup="0.57dur", **extra), 101)
    assert_alpha(got, lambda n: n / warmup if n < warmup else cosine_anneal(after_warmup(n, warmup, 100)))
    assert got[56] == [0.1, 0.03]


def test_epochs_are_iters_per_epoch_batches():
    got = run(composer("StepScheduler", "3ep", iters_per_epoch=7, step_size="2ep", gamma=0.5), 21)
    assert_alpha(got, lambda n: 0.5 ** int(n / 14))


def test_samples_count_global_train_batch_size_per_batch():
    got = run(composer("StepScheduler", step_size="20sp", gamma=0.5, global_train_batch_size=8), 30)
    assert_alpha(got, lambda n: 0.5 ** int(8 * n / 20))


def test_tokens_count_batch_size_times_max_seq_len_per_batch_and_take_scientific_notation():
    cfg = composer(
        "ExponentialScheduler", gamma=0.5, decay_period="3e4tok", global_train_batch_size=8, max_seq_len=512
    )
    got = run(cfg, 30)
    assert_alpha(got, lambda n: 0.5 ** float(TOKENS * n / 30000))


def test_units_are_case_insensitive():
    lower = run(composer("CosineAnnealingWithWarmupScheduler", "100ba", t_warmup="10ba"), 110)
    assert run(composer("CosineAnnealingWithWarmupScheduler", "100Ba", t_warmup="10BA"), 110) == lower
    assert run(composer("CosineAnnealingWithWarmupScheduler", "100ba", t_warmup="0.1DUR"), 110) == lower


def test_a_whole_number_max_duration_counts_epochs_as_composers_trainer_reads_it():
    keys = {"iters_per_epoch": 10, "t_warmup": "10ba"}
    assert run(composer("CosineAnnealingWithWarmupScheduler", 5, **keys), 60) == run(
        composer("CosineAnnealingWithWarmupScheduler", "5ep", **keys), 60
    )


# --- the trainer's lag, the warmup's start, groups, routes --------------------------------


def test_a_config_read_as_it_is_gives_composers_trainers_numbers_one_batch_late():
    def alpha(n: int) -> float:
        return n / 10 if n < 10 else cosine_anneal(after_warmup(n, 10, 100), 0.1)

    cfg = {
        "scheduler": {"name": "cosine_with_warmup", "t_warmup": "10ba", "alpha_f": 0.1},
        "max_duration": "100ba",
    }
    assert_alpha(run(cfg, 110), alpha, lag=True)


def test_trainer_lag_gives_composers_trainers_numbers_one_batch_late():
    def alpha(n: int) -> float:
        return n / 10 if n < 10 else cosine_anneal(after_warmup(n, 10, 100), 0.1)

    got = run(composer("cosine_with_warmup", t_warmup="10ba", alpha_f=0.1, trainer_lag=True), 110)
    assert_alpha(got, alpha, lag=True)
    assert got[0] == got[1] == [0.0, 0.0] and got[11] == [0.1, 0.03]  # batch n at alpha(max(n - 1, 0))


WARMUP_CLASSES = [
    ("MultiStepWithWarmupScheduler", {"milestones": ["50ba"]}),
    ("ConstantWithWarmupScheduler", {}),
    ("LinearWithWarmupScheduler", {}),
    ("CosineAnnealingWithWarmupScheduler", {}),
    ("PolynomialWithWarmupScheduler", {}),
    ("InverseSquareRootWithWarmupScheduler", {"t_scale": "10ba", "t_cooldown": "0ba"}),
]


@pytest.mark.parametrize(("name", "keys"), WARMUP_CLASSES, ids=[w[0] for w in WARMUP_CLASSES])
def test_every_warmup_class_starts_at_0_and_reaches_its_peak_at_t_warmup(name, keys):
    got = run(composer(name, t_warmup="10ba", **keys), 11)
    assert got[0] == [0.0, 0.0]
    assert_alpha(got[:10], lambda n: n / 10)
    assert got[10] == [0.1, 0.03]


def test_two_param_groups_keep_their_ratio():
    got = run(composer("PolynomialWithWarmupScheduler", t_warmup="7ba", power=1.5, alpha_f=0.05), 105)
    for row in got[1:]:
        assert row[1] / row[0] == pytest.approx(0.3, rel=1e-12)


COSINE = {"t_warmup": "10ba", "alpha_f": 0.1}


@pytest.mark.parametrize(
    "cfg",
    [
        composer("cosine_with_warmup", **COSINE),
        OmegaConf.create(composer("cosine_with_warmup", **COSINE)),
        composer("CosineAnnealingWithWarmupScheduler", **COSINE),
        OmegaConf.merge(foundry("cosine_with_warmup", "100ba", **COSINE), {"trainer_lag": False}),
        {
            "solver": {
                "lr_scheduler_name": "composer.CosineAnnealingWithWarmupScheduler",
                "max_iter": 100,
                "warmup_iters": 10,
                "args": {"alpha_f": 0.1},
            }
        },
    ],
    ids=[
        "dict",
        "DictConfig",
        "composer's class name",
        "llm-foundry yaml",
        "qualified name in a solver node",
    ],
)
def test_every_route_to_a_composer_schedule_gives_the_same_lrs(cfg):
    assert run(cfg, 110) == run(composer("cosine_with_warmup", **COSINE), 110)


# --- refusals -------------------------------------------------------------------------------

WITH_WARMUP = ["ConstantWithWarmupScheduler", "LinearWithWarmupScheduler"]
WITH_WARMUP += ["CosineAnnealingWithWarmupScheduler", "PolynomialWithWarmupScheduler"]
INV_SQRT = {"t_warmup": "10ba", "t_scale": "10ba", "t_cooldown": "10ba"}
BAD = [
    (
        composer("cosine_with_warmup", t_warmup=10),
        r"scheduler\.t_warmup must be a composer time string .*got 10$",
    ),
    (
        composer("cosine_with_warmup", t_warmup="1.5ba"),
        r"scheduler\.t_warmup='1\.5ba': ba takes a whole number",
    ),
    (composer("cosine_with_warmup", t_warmup="10sec"), r"scheduler\.t_warmup='10sec' is in wall-clock time"),
    (
        composer("cosine_with_warmup", t_warmup="10ba", t_max="100iter"),
        r"scheduler\.t_max='100iter' is in composer's outer iterations",
    ),
    (
        composer("cosine_with_warmup", t_warmup="10sp", t_max="100ba", global_train_batch_size=4),
        r"scheduler: t_warmup '10sp' and t_max '100ba' must be in the same unit",
    ),
    *[
        (
            composer(name, t_warmup="10ba", t_max=t_max, **extra),
            rf"scheduler\.t_max='{t_max}' must be at least max_duration",
        )
        for name in WITH_WARMUP
        for t_max, extra in [("50ba", {}), ("0.5dur", {}), ("3ep", {"iters_per_epoch": 25})]
    ],
    (
        composer("cosine_with_warmup", "4ep", t_warmup="10ba", t_max="80ba", iters_per_epoch=25),
        r"scheduler\.t_max='80ba' must be at least max_duration",
    ),
    (
        composer("cosine_with_warmup", "800sp", t_warmup="80sp"),
        r"scheduler: a time in sp needs scheduler\.samples_per_batch \(llm-foundry: global_train_batch_size",
    ),
    (
        composer("StepScheduler", step_size="3e4tok", global_train_batch_size=8),
        r"scheduler: a time in tok needs scheduler\.tokens_per_batch \(llm-foundry: global_train_batch_size, "
        r"times max_seq_len\)",
    ),
    (
        composer("cosine_with_warmup", t_warmup="1ep"),
        r"scheduler\.t_warmup counts epochs: set iters_per_epoch",
    ),
    (
        composer("cosine_with_warmup", t_warmup="10ba", alpha_final=0.1),
        r"unknown argument scheduler\.alpha_final for composer's CosineAnnealingWithWarmupScheduler",
    ),
    (
        composer(
            "inv_sqrt_with_warmup", **INV_SQRT, scale_warmup=True
        ),  # composer's classes take it, not this one
        r"unknown argument scheduler\.scale_warmup for composer's InverseSquareRootWithWarmupScheduler",
    ),
    (
        composer("cosine_warmup", t_warmup="10ba"),
        r"scheduler\.name: composer has no scheduler 'cosine_warmup'; did you mean 'cosine_with_warmup'",
    ),
    (
        composer("CosineAnnealingSchedular"),
        r"scheduler\.name: composer has no scheduler 'CosineAnnealingSchedular'; did you mean "
        r"'CosineAnnealingScheduler'",
    ),
    (
        composer("CosineAnnealingScheduler", alpha_f=math.nan),
        r"scheduler\.alpha_f must be a finite number >= 0, got nan",
    ),
    (
        composer("StepScheduler", step_size="0ba"),
        r"scheduler\.step_size must be above 0 \(composer divides by it\)",
    ),
    (
        composer("CosineAnnealingWarmRestartsScheduler", t_0="3ba", t_mult=0.5),
        r"scheduler\.t_mult=0\.5: the cycles shrink to length 0 before max_duration",
    ),
    (
        {
            "solver": {
                "lr_scheduler_name": "composer.CosineAnnealingWarmRestartsScheduler",
                "args": {"t_0": "3ba", "t_mult": 0.5},
            }
        },
        r"solver\.args\.t_mult=0\.5 below 1 needs solver\.args\.max_duration",
    ),
    (
        composer("inv_sqrt_with_warmup", **{**INV_SQRT, "t_warmup": "0.1dur"}),
        r"scheduler\.t_warmup cannot be in dur \(llm-foundry refuses it\)",
    ),
    (
        composer("inv_sqrt_with_warmup", **{**INV_SQRT, "t_scale": "1ep"}, iters_per_epoch=10),
        r"scheduler\.t_scale must be in max_duration's unit ba, got ep",
    ),
    (
        composer("inv_sqrt_with_warmup", **INV_SQRT, alpha_f_decay=0.0, alpha_f_cooldown=0.1),
        r"scheduler: alpha_f_decay=0\.0 must be >= alpha_f_cooldown=0\.1",
    ),
    (
        {
            "solver": {
                "lr_scheduler_name": "composer.InverseSquareRootWithWarmupScheduler",
                "args": {**INV_SQRT, "t_scale": "20sp", "t_max": "100ba", "samples_per_batch": 2},
            }
        },
        r"solver\.args: t_warmup, t_scale, t_cooldown and t_max must be in one unit, got \['ba', 'sp'\]",
    ),
    (
        composer("cosine_with_warmup", "1dur", t_warmup="10ba"),
        r"scheduler\.max_duration='1dur' must be in ba, ep, sp or tok",
    ),
]


@pytest.mark.parametrize(("cfg", "message"), BAD)
def test_a_bad_composer_node_is_refused_at_build_naming_the_key(cfg, message):
    with pytest.raises(ConfigError, match=message):
        schedreg.build_lr_scheduler(cfg, sgd())


def test_a_detectron2_name_in_a_composer_node_is_refused_not_picked():
    with pytest.raises(
        ConfigError, match=r"scheduler\.name: composer has no scheduler 'WarmupCosineLR'"
    ) as error:
        schedreg.build_lr_scheduler(composer("WarmupCosineLR", t_warmup="10ba"), sgd())
    assert "did you mean" not in str(error.value)


# --- Hydra, and schedreg's warmup on composer's classes without one -------------------------


def composed(*overrides: str) -> Any:
    return compose(
        ["solver=composer_cosine", "solver.max_iter=40", "solver.warmup_iters=5", *overrides],
        None,
        "schedreg",
    )


def composer_cosine(n: int, alpha_f: float = 0.0) -> float:
    return n / 5 if n < 5 else cosine_anneal(after_warmup(n, 5, 40), alpha_f)


def test_the_hydra_option_composes_to_composers_cosine_with_warmup():
    assert_alpha(run(composed(), 45), composer_cosine)
    assert_alpha(run(composed("solver.args.alpha_f=0.1"), 45), lambda n: composer_cosine(n, 0.1))
    assert_alpha(run(composed("solver.args.trainer_lag=true"), 45), composer_cosine, lag=True)


def test_the_hydra_option_with_param_group_rules_scales_each_groups_lr():
    class Net(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.backbone = torch.nn.Linear(2, 2)
            self.head = torch.nn.Linear(2, 2)

    cfg = composed("solver/param_groups=backbone_0.1x", "solver.base_lr=0.1")
    optimizer = schedreg.build_optimizer(cfg, Net())
    got = run(cfg, 45, optimizer)
    assert {g["name"] for g in optimizer.param_groups} == {"backbone", "default"}
    for group, g in enumerate(optimizer.param_groups):
        peak = 0.01 if g["name"] == "backbone" else 0.1
        expected = [peak * composer_cosine(n) for n in range(45)]
        assert [row[group] for row in got] == pytest.approx(expected, rel=1e-12, abs=0)


@pytest.mark.parametrize(
    "override", ["solver/warmup=linear", "solver/warmup=cosine", "solver.warmup.factor=0.1"]
)
def test_a_hydra_warmup_on_composers_own_warmup_is_refused(override):
    message = (
        r"composer\.CosineAnnealingWithWarmupScheduler warms up composer's own way.*choose solver/warmup=own"
    )
    with pytest.raises(ConfigError, match=message):
        schedreg.build_lr_scheduler(composed(override), sgd())


def test_a_composer_class_without_warmup_takes_schedreg_warmup_on_top():
    solver = {
        "lr_scheduler_name": "composer.CosineAnnealingScheduler",
        "max_iter": 40,  # composer's max_duration: t_max 1dur is 40 batches
        "warmup_iters": 5,
        "warmup_method": "linear",
        "warmup_factor": 0.1,
        "args": {"alpha_f": 0.1},
    }
    got = run({"solver": solver}, 45)

    def warmup(n: int) -> float:
        return 0.1 + (1.0 - 0.1) * n / 5 if n < 5 else 1.0

    assert_alpha(got, lambda n: warmup(n) * cosine_anneal(n / 40, 0.1))
    assert got[0][0] == pytest.approx(0.1 * 0.1, rel=1e-12)


@pytest.mark.parametrize(
    "key, value", [("global_train_batch_size", 0), ("global_train_batch_size", 8.0), ("max_seq_len", True)]
)
def test_llm_foundrys_batch_keys_must_be_whole_numbers_and_are_named(key, value):
    cfg = {"scheduler": {"name": "cosine_with_warmup", "t_warmup": "10tok"}, "max_duration": "1e5tok"}
    cfg.update({"global_train_batch_size": 4, "max_seq_len": 128, key: value})
    with pytest.raises(ConfigError, match=f"^{key} must be an integer >= 1"):
        schedreg.build_lr_scheduler(cfg, torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1))


def test_a_max_duration_in_scientific_notation_is_the_runs_length():
    from schedreg.config.parse import solver_config

    cfg = {"scheduler": {"name": "cosine_with_warmup", "t_warmup": "10ba"}, "max_duration": "1e2ba"}
    assert solver_config(cfg).max_iter == 100


@pytest.mark.parametrize(
    ("solver_key", "args_key", "value"),
    [("max_iter", "max_duration", "50ba"), ("warmup_iters", "t_warmup", "1ep")],
)
def test_a_solver_length_and_the_composer_argument_it_fills_may_not_disagree(solver_key, args_key, value):
    solver = {"lr_scheduler_name": "composer.CosineAnnealingWithWarmupScheduler", "iters_per_epoch": 25}
    solver.update({"max_iter": 100, "warmup_iters": 10, "args": {args_key: value}})
    with pytest.raises(
        ConfigError, match=rf"solver\.args\.{args_key}=.* and solver\.{solver_key}=.* both set it"
    ):
        schedreg.build_lr_scheduler(
            {"solver": solver}, torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
        )
    solver["args"] = {args_key: "100ba" if args_key == "max_duration" else "10ba"}  # the same length: fine
    schedreg.build_lr_scheduler(
        {"solver": solver}, torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    )


@pytest.mark.parametrize("key", ["max_duration", "trainer_lag", "samples_per_batch"])
def test_the_trainers_keys_inside_the_scheduler_node_are_refused_as_composer_refuses_them(key):
    cfg = {
        "scheduler": {"name": "cosine_with_warmup", "t_warmup": "10ba", key: "10ba"},
        "max_duration": "100ba",
    }
    with pytest.raises(ConfigError, match=rf"^scheduler\.{key} is not an argument of composer's"):
        schedreg.build_lr_scheduler(cfg, sgd())
