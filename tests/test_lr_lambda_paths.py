"""``lr_lambda`` paths: only a user's own Python functions are taken, and what they return is checked.

A path that would end or harm the process if called (``os._exit``, ``sys.exit``,
``os.umask``) is tried in a fresh interpreter, so that a regression fails the test rather
than the test run.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch

import schedreg
from schedreg import ConfigError

try:  # `python -m pytest` from the repo root
    from tests import hostile_lambdas
except ModuleNotFoundError:  # plain `pytest`: tests/ itself is on sys.path
    import hostile_lambdas  # type: ignore[no-redef]

ROOT = Path(__file__).resolve().parents[1]
HOSTILE = hostile_lambdas.__name__
KEY = r"solver\.args\.lr_lambda must be an importable function path"


def build(lr_lambda: Any, name: str = "LambdaLR", groups: int = 1) -> tuple[Any, torch.optim.Optimizer]:
    params = [{"params": [torch.nn.Parameter(torch.zeros(1))]} for _ in range(groups)]
    optimizer = torch.optim.SGD(params, lr=0.1)
    solver = {"lr_scheduler_name": name, "args": {"lr_lambda": lr_lambda}}
    return schedreg.build_lr_scheduler({"solver": solver}, optimizer), optimizer


def run(args: list[str]) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        args, capture_output=True, text=True, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, timeout=300
    )


# --- refused before anything is called -----------------------------------------------


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("math.exp", "'math' is a module of the standard library, not imported"),
        ("torch.exp", "'torch' is a module of torch, not imported"),
        (f"{HOSTILE}.Schedule", "a class, not a function"),
        (f"{HOSTILE}.dedent", "defined in textwrap, a module of the standard library"),
        (f"{HOSTILE}:_private", "'_private' is a private name"),
        (f"{HOSTILE}.math", "a module, not callable"),
        ("os.path..join", "not a dotted path of Python names"),
    ],
)
def test_a_path_that_is_not_a_users_own_function_is_a_config_error_naming_key_value_and_reason(
    path: str, reason: str
) -> None:
    with pytest.raises(ConfigError, match=KEY) as caught:
        build(path)
    assert f"got {path!r}" in str(caught.value) and reason in str(caught.value)
    assert "a Python function or callable object of your own module" in str(caught.value)


def test_one_refused_path_in_a_per_group_list_refuses_the_list() -> None:
    with pytest.raises(ConfigError, match=r"got 'math\.exp'"):
        build(["tests.lambdas.halve_every_10", "math.exp"], groups=2)


REFUSE_IN_A_FRESH_INTERPRETER = """
    import os, sys, torch, schedreg
    umask = os.umask(0o022)
    os.umask(umask)
    for path in sys.argv[1:]:
        optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
        solver = {"lr_scheduler_name": "LambdaLR", "args": {"lr_lambda": path}}
        try:
            schedreg.build_lr_scheduler({"solver": solver}, optimizer)
            print("built", path)
        except schedreg.ConfigError as exc:
            print("refused", path, "solver.args.lr_lambda" in str(exc) and repr(path) in str(exc))
    os.fstat(0)  # os.close(0) was not called
    print("umask kept", os.umask(umask) == umask, "| 'this' imported", "this" in sys.modules)
"""
PROCESS_KILLERS = [
    "os._exit",
    "os:_exit",
    "sys.exit",
    "os.umask",
    "os.close",
    "builtins.print",
    "this.s",  # importing `this` prints the Zen of Python
    f"{HOSTILE}.exit",  # sys.exit, through a user module
    f"{HOSTILE}.terminate",  # os._exit, through a user module
]


def test_process_ending_or_state_changing_paths_are_refused_and_the_process_goes_on() -> None:
    result = run([sys.executable, "-c", textwrap.dedent(REFUSE_IN_A_FRESH_INTERPRETER), *PROCESS_KILLERS])
    assert result.returncode == 0, result.stderr
    # nothing was called: no stray output, the umask and stdin are as they were
    expected = [f"refused {path} True" for path in PROCESS_KILLERS]
    assert result.stdout.splitlines() == [*expected, "umask kept True | 'this' imported False"]


@pytest.mark.parametrize("path", ["os._exit", "sys.exit"])
def test_schedreg_show_with_a_refused_path_prints_one_error_line_and_exits_non_zero(path: str) -> None:
    args = ["show", "solver.lr_scheduler_name=LambdaLR", f"+solver.args.lr_lambda={path}"]
    result = run([sys.executable, "-m", "schedreg.integrations.cli", *args])
    assert result.returncode == 2 and result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("schedreg: error: solver.args.lr_lambda must be")
    assert repr(path) in lines[0]


# --- what is imported -------------------------------------------------------------------

SIDE_EFFECT_MODULE = """
    from pathlib import Path

    Path(__file__).with_name("imported").write_text("top-level code ran")


    def _hidden(step):
        return 1.0


    class Factor:
        pass
"""


@pytest.fixture
def side_effect_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A user module that writes ``tmp_path / "imported"`` when imported."""
    (tmp_path / "lr_lambda_side_effect.py").write_text(textwrap.dedent(SIDE_EFFECT_MODULE))
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path / "imported"
    sys.modules.pop("lr_lambda_side_effect", None)


def test_a_path_refused_by_its_text_does_not_import_its_module(side_effect_module: Path) -> None:
    with pytest.raises(ConfigError, match="'_hidden' is a private name"):
        build("lr_lambda_side_effect._hidden")
    assert not side_effect_module.exists() and "lr_lambda_side_effect" not in sys.modules


def test_a_public_name_of_a_user_module_is_imported_before_it_is_judged(side_effect_module: Path) -> None:
    """The limit of the guarantee: a config is code, as Hydra's ``_target_`` is, so a user
    module's top-level code runs before its name is found to be a class."""
    with pytest.raises(ConfigError, match="a class, not a function"):
        build("lr_lambda_side_effect.Factor")
    assert side_effect_module.read_text() == "top-level code ran"


# --- taken, and what the function returns ------------------------------------------------


def test_a_callable_object_of_a_user_class_is_taken_as_a_function_is() -> None:
    scheduler, optimizer = build(f"{HOSTILE}.halving")
    lrs = []
    for _ in range(25):
        optimizer.step()
        scheduler.step()
        lrs.append(optimizer.param_groups[0]["lr"])
    assert lrs[8] == 0.1 and lrs[9] == 0.1 * 0.5 and lrs[24] == 0.1 * 0.25  # halved every 10 steps


@pytest.mark.parametrize(
    ("name", "lr_lambda"),
    [
        (name, fn)
        for name in ("LambdaLR", "MultiplicativeLR")
        for fn in (
            "returns_string",
            "string_after_start",
            "returns_none",
            "returns_nan",
            "returns_negative",
            "raises_system_exit",
        )
    ],
)
def test_a_multiplier_that_is_not_a_finite_number_at_least_0_is_a_config_error(
    name: str, lr_lambda: str
) -> None:
    with pytest.raises(ConfigError, match=name):
        scheduler, optimizer = build(f"{HOSTILE}.{lr_lambda}", name)
        for _ in range(3):
            optimizer.step()
            scheduler.step()


@pytest.mark.parametrize("name", ["LambdaLR", "MultiplicativeLR"])
def test_a_function_raising_any_exception_is_a_config_error_naming_the_scheduler_and_step(name: str) -> None:
    scheduler, optimizer = build(f"{HOSTILE}.raises_key_error", name)
    with pytest.raises(ConfigError, match=rf"{name}' failed at step 3: KeyError\('boom'\)"):
        for _ in range(5):
            optimizer.step()
            scheduler.step()


def test_a_function_recursing_forever_is_a_config_error_at_build() -> None:
    with pytest.raises(ConfigError, match=r"solver\.args: LambdaLR rejected .*RecursionError"):
        build(f"{HOSTILE}.recurses")
