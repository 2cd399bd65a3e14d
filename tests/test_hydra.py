"""schedreg's config groups under Hydra: every option, the schema, the plugin, a user's
app, the example app (as a subprocess, overrides typed as a user would), and a wheel."""

from __future__ import annotations

import math
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import torch
from hydra import compose, initialize_config_dir, initialize_config_module
from hydra.errors import ConfigCompositionException
from hydra.utils import instantiate

import schedreg

ROOT = Path(__file__).resolve().parents[1]
SOLVERS = sorted(p.stem for p in (ROOT / "conf/solver").glob("*.yaml"))
WARMUPS = sorted(p.stem for p in (ROOT / "conf/solver/warmup").glob("*.yaml"))


def composed(*overrides: str):
    with initialize_config_module("schedreg.conf", version_base="1.3"):
        return compose("schedreg", overrides=list(overrides))


def optimizer(lr: float = 0.1) -> torch.optim.Optimizer:
    return torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=lr, momentum=0.9)


def run(cfg, steps: int) -> list[float]:
    opt = optimizer(cfg.solver.base_lr)
    scheduler = schedreg.build_lr_scheduler(cfg, opt)
    out = [opt.param_groups[0]["lr"]]
    for _ in range(steps):
        opt.step()
        if getattr(scheduler, "takes_metric", False):
            scheduler.step(1.0)
        else:
            scheduler.step()
        out.append(opt.param_groups[0]["lr"])
    return out


def test_the_menu_has_the_promised_options():
    promised = {
        "multistep",
        "cosine",
        "step_fixed_gamma",
        "poly",
        "exponential",
        "linear",
        "constant",
        "onecycle",
        "cyclic",
        "cosine_restarts",
        "plateau",
    }
    assert promised <= set(SOLVERS)
    assert WARMUPS == ["constant", "cosine", "exponential", "from_zero", "linear", "none", "own"]


@pytest.mark.parametrize("option", SOLVERS)
def test_every_solver_option_composes_builds_and_runs(option):
    cfg = composed(f"solver={option}", "solver.max_iter=200", "solver.steps=[100]", "solver.warmup_iters=20")
    lrs = run(cfg, 200)  # max_iter steps, as detectron2's trainer takes
    assert all(0 <= lr < math.inf for lr in lrs)


@pytest.mark.parametrize("option", SOLVERS)
def test_every_solver_option_builds_with_its_own_lengths(option):
    """The preset's own max_iter, steps and warmup (in iterations, '1000it'), interpolations
    into its arguments included."""
    lrs = run(composed(f"solver={option}"), 3)
    assert all(0 <= lr < math.inf for lr in lrs)


@pytest.mark.parametrize("solver", ["cosine", "exponential"])
@pytest.mark.parametrize("warmup", WARMUPS)
def test_every_warmup_option_composes_with_any_solver(solver, warmup):
    cfg = composed(
        f"solver={solver}", f"solver/warmup={warmup}", "solver.max_iter=200", "solver.warmup_iters=20"
    )
    assert cfg.solver.warmup.method == {"from_zero": "linear", "own": None}.get(warmup, warmup)
    lrs = run(cfg, 25)
    factor = cfg.solver.warmup.factor
    if factor is None:  # the own option: the scheduler's own start, detectron2's 0.001 for these two
        factor = 0.001
    expected_start = cfg.solver.base_lr * (1.0 if warmup == "none" else factor)
    assert lrs[0] == pytest.approx(expected_start, rel=1e-12)


PRESETS = sorted(p.stem for p in (ROOT / "conf/solver/param_groups").glob("*.yaml"))


class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.backbone = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4))
        self.head = torch.nn.Linear(4, 2)


@pytest.mark.parametrize("preset", PRESETS)
@pytest.mark.parametrize("solver", ["cosine", "multistep", "cosine_annealing"])
def test_every_param_groups_preset_composes_with_any_solver_and_trains(preset, solver):
    cfg = composed(
        f"solver={solver}",
        f"solver/param_groups={preset}",
        "solver.max_iter=100",
        "solver.steps=[50]",
        "solver.warmup_iters=10",
    )
    optimizer = schedreg.build_optimizer(cfg, Net())
    scheduler = schedreg.build_lr_scheduler(cfg, optimizer)
    for _ in range(100):
        optimizer.step()
        scheduler.step()
    assert all(0 <= g["lr"] < math.inf for g in optimizer.param_groups)


def test_backbone_preset_gives_the_backbone_a_tenth_of_the_lr_and_presets_combine():
    cfg = composed(
        "solver=cosine", "solver/param_groups=[backbone_0.1x,no_wd_norm_bias]", "solver.base_lr=0.1"
    )
    groups = {(g["name"], g.get("weight_decay")): g for g in schedreg.build_param_groups(cfg, Net())}
    assert set(groups) == {("backbone", None), ("backbone", 0.0), ("default", None), ("bias", 0.0)}
    assert groups[("backbone", None)]["lr"] == pytest.approx(0.01) and groups[("bias", 0.0)]["lr"] == 0.1


def test_solver_cosine_and_multistep_are_detectron2s_with_detectron2s_defaults():
    defaults = dict(
        max_iter=40000, warmup_iters=1000, warmup_factor=0.001, warmup_method="linear", base_lr=0.001
    )
    for option, name, extra in [
        ("cosine", "WarmupCosineLR", {}),
        ("multistep", "WarmupMultiStepLR", {"steps": [30000], "gamma": 0.1}),
    ]:
        ours = schedreg.build_lr_scheduler(composed(f"solver={option}"), optimizer()).schedule
        plain = schedreg.build_lr_scheduler(
            {"solver": {"lr_scheduler_name": name, **defaults, **extra}}, optimizer()
        ).schedule
        assert [ours(i) for i in range(0, 40001, 97)] == [plain(i) for i in range(0, 40001, 97)]


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("solver.warmup_itrs=5", "Could not override 'solver.warmup_itrs'"),
        ("solver.gamma=abc", "Error merging override solver.gamma=abc"),
        ("solver.iters_per_epoch=many", "Error merging override solver.iters_per_epoch=many"),
        ("solver.nesterov=maybe", "Error merging override solver.nesterov=maybe"),
    ],
)
def test_schema_rejects_misspelled_keys_and_wrong_types_at_composition(override, message):
    """Durations also take unit strings, so a bad one is caught at build instead (test_units)."""
    with pytest.raises(ConfigCompositionException, match=re.escape(message)):
        composed(override)


def test_interpolated_arguments_follow_max_iter():
    cfg = composed("solver=onecycle", "solver.max_iter=321")
    assert cfg.solver.args.total_steps == 321
    cfg = composed("solver=linear", "solver.max_iter=50")
    lrs = run(cfg, 50)
    assert lrs[25] == pytest.approx(0.001 * (1 - 25 / 50), rel=1e-12) and lrs[50] == 0.0


def test_torch_arguments_are_overridable_from_the_command_line():
    lrs = run(composed("solver=step", "solver.args.step_size=5", "solver.args.gamma=0.5"), 12)
    assert lrs[4] == 0.001 and lrs[5] == 0.0005 and lrs[10] == 0.00025


def test_target_route_builds_the_scheduler_of_cfg_solver():
    cfg = composed("+lr_scheduler=schedreg", "solver=cosine", "solver.max_iter=100", "solver.warmup_iters=10")
    opt = optimizer(0.001)
    scheduler = instantiate(cfg.lr_scheduler)(optimizer=opt)
    assert isinstance(scheduler, torch.optim.lr_scheduler.LRScheduler)
    assert opt.param_groups[0]["lr"] == pytest.approx(0.001 * 0.001)


def test_plugin_is_discovered_and_imports_no_torch():
    code = (
        "import sys\n"
        "from hydra.core.plugins import Plugins\n"
        "from hydra.plugins.search_path_plugin import SearchPathPlugin\n"
        "names = [p.__name__ for p in Plugins.instance().discover(SearchPathPlugin)]\n"
        "assert 'SchedregSearchPathPlugin' in names, names\n"
        "from hydra.core.config_search_path import ConfigSearchPath\n"
        "from hydra._internal.config_search_path_impl import ConfigSearchPathImpl\n"
        "from hydra_plugins.schedreg_searchpath import SchedregSearchPathPlugin\n"
        "path = ConfigSearchPathImpl()\n"
        "SchedregSearchPathPlugin().manipulate_search_path(path)\n"
        "assert 'torch' not in sys.modules\n"
        "print(path)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "pkg://schedreg.conf" in result.stdout


def write_user_app(directory: Path) -> Path:
    conf = directory / "conf"
    conf.mkdir(parents=True)
    (conf / "train.yaml").write_text("defaults:\n  - solver: cosine\n  - _self_\nepochs: 3\n")
    return conf


def test_a_users_app_composes_schedregs_groups_without_touching_its_search_path(tmp_path):
    conf = write_user_app(tmp_path)
    with initialize_config_dir(str(conf), version_base="1.3"):
        cfg = compose("train", overrides=["solver=multistep", "solver.warmup_iters=1000"])
    assert cfg.epochs == 3 and cfg.solver.lr_scheduler_name == "WarmupMultiStepLR"
    assert cfg.solver.warmup_iters == 1000
    scheduler = schedreg.build_lr_scheduler(cfg.solver, optimizer(0.001))
    assert scheduler.schedule(1000) == 1.0 and scheduler.schedule(30000) == pytest.approx(0.1)


# ---- the example app, as a subprocess ------------------------------------------------

LOGGED = re.compile(r"iter (\d+) lr backbone=([0-9.e+-]+) head=([0-9.e+-]+)")


def logged_lrs(text: str) -> dict[int, tuple[float, float]]:
    """iteration -> (backbone lr, head lr) from the example's log lines."""
    return {int(i): (float(b), float(h)) for i, b, h in LOGGED.findall(text)}


def expected_lrs(solver: str, warmup: str, i: int, warmup_iters: int) -> tuple[float, float]:
    """The example's two groups: the backbone at 0.1x with warmup, the head without warmup."""
    return 0.1 * expected_lr(solver, warmup, i, warmup_iters), expected_lr(solver, warmup, i, 0)


def expected_lr(solver: str, warmup: str, i: int, warmup_iters: int) -> float:
    """The example's schedule (base 0.05, 300 iters, steps 200/250) from detectron2's formulas."""
    base, total = 0.05, 300
    if solver == "cosine":

        def main(k):
            return 0.5 * (1 + math.cos(math.pi * k / total))
    else:

        def main(k):
            return 0.1 ** sum(k >= s for s in (200, 250))

    if i >= warmup_iters:
        return base * main(i)
    factor = {"linear": 0.001, "constant": 0.1}[warmup]
    start = factor * main(0)
    if warmup == "constant":
        return base * start
    return base * (start + (main(warmup_iters) - start) * i / warmup_iters)


def test_example_app_trains_two_groups_each_on_its_own_schedule(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "examples/hydra_app/train.py"),
            "solver=cosine",
            "solver.warmup_iters=100",
            f"hydra.run.dir={tmp_path}",
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
    )
    lrs = logged_lrs(result.stdout + result.stderr)
    assert sorted(lrs) == list(range(0, 300, 25))
    for i, pair in lrs.items():
        assert pair == pytest.approx(expected_lrs("cosine", "linear", i, 100), rel=1e-12), i
    assert lrs[0][0] < lrs[0][1] / 100  # the head skips the warmup the backbone takes


def test_example_app_multirun_sweeps_solvers_and_warmups(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "examples/hydra_app/train.py"),
            "-m",
            "solver=cosine,multistep",
            "solver/warmup=linear,constant",
            f"hydra.sweep.dir={tmp_path}",
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
    )
    jobs = re.findall(r"#(\d+) : solver=(\w+) solver/warmup=(\w+)", result.stdout + result.stderr)
    assert len(jobs) == 4
    for number, solver, warmup in jobs:
        lrs = logged_lrs((tmp_path / number / "train.log").read_text())
        assert len(lrs) == 12
        for i, pair in lrs.items():
            assert pair == pytest.approx(expected_lrs(solver, warmup, i, 30), rel=1e-12), (solver, warmup, i)


# ---- a non-editable install -------------------------------------------------------------


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(out),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    return next(out.glob("schedreg-*.whl"))


def test_wheel_ships_the_config_groups_and_the_plugin_without_a_namespace_init(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for option in SOLVERS:
        assert f"schedreg/conf/solver/{option}.yaml" in names
    for option in WARMUPS:
        assert f"schedreg/conf/solver/warmup/{option}.yaml" in names
    for option in PRESETS:
        assert f"schedreg/conf/solver/param_groups/{option}.yaml" in names
    assert {"schedreg/conf/schedreg.yaml", "schedreg/conf/lr_scheduler/schedreg.yaml"} <= names
    assert "hydra_plugins/schedreg_searchpath/__init__.py" in names
    assert "hydra_plugins/__init__.py" not in names


def test_groups_are_found_from_a_wheel_installed_elsewhere(wheel, tmp_path):
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
        check=True,
        capture_output=True,
    )
    conf = write_user_app(tmp_path / "app")
    code = (
        "import schedreg, hydra_plugins.schedreg_searchpath as p\n"
        f"assert schedreg.__file__.startswith({str(target)!r}), schedreg.__file__\n"
        f"assert p.__file__.startswith({str(target)!r}), p.__file__\n"
        "from hydra import initialize_config_dir, compose\n"
        f"with initialize_config_dir({str(conf)!r}, version_base='1.3'):\n"
        "    cfg = compose('train', overrides=['solver/warmup=exponential'])\n"
        "print(cfg.solver.lr_scheduler_name, cfg.solver.warmup.method)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"},
        cwd=tmp_path,
    )
    assert result.stdout.split() == ["WarmupCosineLR", "exponential"]


def test_a_solver_mounted_inside_another_group_is_overridden_by_its_package(tmp_path):
    conf = tmp_path / "conf"
    (conf / "model").mkdir(parents=True)
    (conf / "model" / "resnet.yaml").write_text(
        "defaults:\n  - /solver@solver: cosine\n  - _self_\ndepth: 50\n"
    )
    (conf / "train.yaml").write_text("defaults:\n  - model: resnet\n  - _self_\n")
    with initialize_config_dir(str(conf), version_base="1.3"):
        cfg = compose(
            "train", overrides=["solver@model.solver=multistep", "solver/warmup@model.solver.warmup=constant"]
        )
    assert cfg.model.solver.lr_scheduler_name == "WarmupMultiStepLR"
    assert cfg.model.solver.warmup.method == "constant" and "solver" not in cfg


def test_explicit_searchpath_fallback_composes_the_groups(tmp_path):
    conf = tmp_path / "conf"
    conf.mkdir()
    (conf / "train.yaml").write_text(
        "defaults:\n  - solver: poly\n  - _self_\nhydra:\n  searchpath:\n    - pkg://schedreg.conf\n"
    )
    with initialize_config_dir(str(conf), version_base="1.3"):
        cfg = compose("train")
    assert cfg.solver.lr_scheduler_name == "WarmupPolyLR"


def test_example_app_sweeps_in_parallel_with_the_joblib_launcher(tmp_path):
    pytest.importorskip("hydra_plugins.hydra_joblib_launcher")
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "examples/hydra_app/train.py"),
            "-m",
            "hydra/launcher=joblib",
            "hydra.launcher.n_jobs=2",
            "solver=cosine,multistep",
            f"hydra.sweep.dir={tmp_path}",
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
    )
    for job in ("0", "1"):
        solver = re.search(r"solver=(\w+)", (tmp_path / job / ".hydra" / "overrides.yaml").read_text())[1]
        lrs = logged_lrs((tmp_path / job / "train.log").read_text())
        assert len(lrs) == 12
        for i, pair in lrs.items():
            assert pair == pytest.approx(expected_lrs(solver, "linear", i, 30), rel=1e-12), (solver, i)


def test_every_option_file_opens_with_a_one_line_comment():
    for path in sorted((ROOT / "conf").rglob("*.yaml")):
        first, second = path.read_text().splitlines()[:2]
        assert first.startswith("# ") and not second.startswith("#"), path
