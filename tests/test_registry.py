"""The registry: registering, lookup, reloads, and third-party builders with warmup."""

from __future__ import annotations

import math
import subprocess
import sys
import threading

import pytest
import torch

from schedreg import SCHEDULERS, ConfigError, Registry, register_scheduler

try:  # `python -m pytest` from the repo root
    from tests import curves
except ModuleNotFoundError:  # plain `pytest`: tests/ itself is on sys.path
    import curves  # type: ignore[no-redef]


def test_register_get_contains_and_iterate():
    reg = Registry("thing")

    @reg.register()
    def alpha(solver, optimizer):
        return None

    @reg.register("Beta")
    def beta(solver, optimizer):
        return None

    assert reg.get("alpha") is alpha and reg.get("Beta") is beta
    assert "alpha" in reg and "gamma" not in reg
    assert list(reg) == ["alpha", "Beta"] and len(reg) == 2


def test_registering_a_taken_name_with_another_function_raises():
    reg = Registry("thing")

    def first(solver, optimizer):
        return None

    def second(solver, optimizer):
        return None

    reg.register("x")(first)
    with pytest.raises(ValueError, match=r"thing 'x' is already registered by .*first"):
        reg.register("x")(second)
    reg.register("y")(lambda s, o: None)
    with pytest.raises(ValueError, match="thing 'y' is already registered"):
        reg.register("y")(lambda s, o: 1)


def test_registering_the_same_function_again_replaces_it_like_a_module_reload():
    reg = Registry("thing")

    def build(solver, optimizer):
        return None

    reg.register("x")(build)
    copy = type(build)(build.__code__, build.__globals__, "build")  # what importlib.reload makes
    copy.__qualname__ = build.__qualname__
    reg.register("x")(copy)
    assert reg.get("x") is copy


def test_register_scheduler_is_the_registry_decorator():
    assert register_scheduler.__self__ is SCHEDULERS


def test_unknown_name_lookup_is_a_config_error_with_suggestions():
    reg = Registry("widget")
    reg.register("RedWidget")(lambda s, o: None)
    with pytest.raises(ConfigError, match=r"unknown widget 'redwidgt'; did you mean 'RedWidget'\?"):
        reg.get("redwidgt")


def test_concurrent_registration_keeps_every_entry():
    reg = Registry("thing")

    def add(i):
        def build(solver, optimizer):
            return i

        build.__qualname__ = f"build{i}"
        reg.register(f"n{i}")(build)

    threads = [threading.Thread(target=add, args=(i,)) for i in range(64)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(reg) == 64


@pytest.fixture
def third_party():
    """Register two third-party builders for the duration of a test."""
    names = ("TestHalfLife", "TestTorchStep")

    @register_scheduler("TestHalfLife", defaults={"max_iter": 100})
    def half_life(solver, optimizer):
        """A pure schedule: halves every solver.args.half_life steps."""
        period = solver.args.get("half_life", 10)
        return lambda step: 0.5 ** (step / period)

    @register_scheduler("TestTorchStep")
    def torch_step(solver, optimizer):
        return torch.optim.lr_scheduler.StepLR(optimizer, step_size=4, gamma=0.5)

    yield
    for name in names:
        SCHEDULERS._entries.pop(name)


def lrs(solver: dict, steps: int) -> list[float]:
    return curves.lrs(solver, steps, base_lr=2.0)


@pytest.mark.usefixtures("third_party")
@pytest.mark.parametrize("method", ["linear", "constant", "exponential", "cosine"])
def test_third_party_builders_get_the_same_warmup_as_everything_else(method):
    w, f = 6, 0.05
    factor = {
        "linear": lambda a: f * (1 - a) + a,
        "constant": lambda a: f,
        "exponential": lambda a: f ** (1 - a),
        "cosine": lambda a: f + (1 - f) * (1 - math.cos(math.pi * a)) / 2,
    }[method]
    warm = dict(warmup_iters=w, warmup_factor=f, warmup_method=method)
    pure = lrs(dict(lr_scheduler_name="TestHalfLife", args={"half_life": 5}, **warm), 20)
    wrapped = lrs(dict(lr_scheduler_name="TestTorchStep", **warm), 20)
    for i in range(21):
        ramp = factor(i / w) if i < w else 1.0
        assert pure[i] == pytest.approx(2.0 * 0.5 ** (i / 5) * ramp, rel=1e-12, abs=0)
        assert wrapped[i] == pytest.approx(2.0 * 0.5 ** (i // 4) * ramp, rel=1e-12, abs=0)


@pytest.mark.usefixtures("third_party")
def test_builder_defaults_fill_only_keys_the_user_left_out():
    with pytest.raises(
        ConfigError, match=r"solver\.warmup_iters must be smaller than solver\.max_iter \(100\)"
    ):
        lrs(dict(lr_scheduler_name="TestHalfLife", warmup_iters=100), 1)
    assert len(lrs(dict(lr_scheduler_name="TestHalfLife", warmup_iters=100, max_iter=200), 1)) == 2


def test_a_builder_returning_something_else_is_a_type_error():
    @register_scheduler("TestBroken")
    def broken(solver, optimizer):
        return 42

    try:
        with pytest.raises(TypeError, match="returned int; expected an LRScheduler or a schedule"):
            lrs(dict(lr_scheduler_name="TestBroken"), 1)
    finally:
        SCHEDULERS._entries.pop("TestBroken")


def test_a_schedule_producing_a_negative_or_nan_lr_is_refused():
    @register_scheduler("TestNegative")
    def negative(solver, optimizer):
        return lambda step: 1.0 - step  # goes negative at step 2

    try:
        message = r"solver\.lr_scheduler_name='TestNegative' produced lr multiplier -1\.0 at step 2"
        with pytest.raises(ConfigError, match=message):
            lrs(dict(lr_scheduler_name="TestNegative"), 3)
    finally:
        SCHEDULERS._entries.pop("TestNegative")


def test_importing_schedreg_does_not_import_torch():
    code = "import sys, schedreg; assert 'torch' not in sys.modules; print(len(schedreg.SCHEDULERS))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert int(result.stdout) >= 19


def test_a_lazy_registry_loads_its_builtins_before_the_first_lookup_or_registration():
    loads = []
    reg = Registry("thing", load=lambda: (loads.append(1), reg.register("builtin")(lambda s, o: None)))
    with pytest.raises(ValueError, match="'builtin' is already registered"):
        reg.register("builtin")(lambda s, o: 1)
    assert "builtin" in reg and loads == [1]


def test_registering_over_a_builtin_name_is_a_value_error():
    with pytest.raises(ValueError, match=r"scheduler 'StepLR' is already registered by schedreg\.builders"):

        @register_scheduler("StepLR")
        def mine(solver, optimizer):
            return None
