"""What ``schedreg show``, ``plot`` and ``export`` write: the exported lrs are the ones a
scheduler built from the same config writes (stepped here by hand), options go anywhere,
closed forms are previewed without torch, and the README's command lines run."""

from __future__ import annotations

import csv
import json
import math
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch

import schedreg
from schedreg.integrations.cli import compose, main
from schedreg.integrations.outputs import log_floor

ROOT = Path(__file__).resolve().parents[1]


def written_lrs(
    overrides: list[str], keys: tuple[str, ...] = (), metric: Any = None
) -> dict[str, list[float]]:
    """Every iteration's values that a scheduler built from the composed config writes into
    an optimizer built from it: stepped here, the way a training loop does."""
    cfg = compose(overrides, None, "schedreg")
    solver = cfg.solver
    optimizer = torch.optim.SGD(
        [torch.nn.Parameter(torch.zeros(1))], lr=solver.base_lr, momentum=solver.momentum
    )
    scheduler = schedreg.build_lr_scheduler(cfg, optimizer)
    out: dict[str, list[float]] = {"default": [], **{f"default.{k}": [] for k in keys}}
    for step in range(solver.max_iter):
        group = optimizer.param_groups[0]
        out["default"].append(float(group["lr"]))
        for key in keys:
            out[f"default.{key}"].append(float(group[key]))
        optimizer.step()
        scheduler.step(*([] if metric is None else [metric(step)]))
    return out


def read_csv(path: Path) -> dict[str, list[float]]:
    with path.open() as file:
        rows = list(csv.reader(file))
    return {name: [float(r[i]) for r in rows[1:]] for i, name in enumerate(rows[0])}


CASES = [
    # schedreg's closed form (no torch in the preview), torch's class, transformers', a plateau
    (["solver=cosine", "solver.max_iter=300", "solver.warmup_iters=30"], (), None),
    (["solver=step", "solver.max_iter=300", "solver.args.step_size=70"], (), None),
    (["solver=cosine_hf", "solver.max_iter=300", "solver.warmup_iters=30"], (), None),
    (["solver=plateau", "solver.max_iter=300", "solver.args.patience=5"], (), lambda step: 1.0),
]


@pytest.mark.parametrize(("overrides", "keys", "metric"), CASES, ids=[c[0][0] for c in CASES])
@pytest.mark.parametrize("suffix", [".csv", ".json"])
def test_export_writes_every_iterations_lr_as_the_scheduler_writes_it(
    overrides, keys, metric, suffix, tmp_path, capsys
):
    output = tmp_path / f"lr{suffix}"
    assert main(["export", *overrides, "-o", str(output)]) == 0
    table = read_csv(output) if suffix == ".csv" else json.loads(output.read_text())
    expected = written_lrs(overrides, keys, metric)
    assert table["step"] == list(range(len(expected["default"])))
    assert table["default"] == pytest.approx(expected["default"], rel=1e-12, abs=0)


def test_export_writes_a_scheduled_momentum_column_as_the_scheduler_writes_it(tmp_path):
    overrides = [
        "solver=cosine",
        "solver.max_iter=200",
        "solver.warmup_iters=20",
        "+solver.param_schedules.momentum={lr_scheduler_name: Interpolate, "
        "args: {points: [[0, 1.0], [100, 0.9], [200, 1.0]]}}",
    ]
    output = tmp_path / "lr.csv"
    assert main(["export", *overrides, "-o", str(output)]) == 0
    table = read_csv(output)
    assert list(table) == ["step", "default", "default.momentum"]
    expected = written_lrs(overrides, ("momentum",))
    assert table["default"] == pytest.approx(expected["default"], rel=1e-12, abs=0)
    assert table["default.momentum"] == pytest.approx(expected["default.momentum"], rel=1e-12, abs=0)
    # the formula, written here: momentum 0.9 (solver.momentum) times the interpolated multiplier
    assert table["default.momentum"][50] == pytest.approx(0.9 * (1.0 - 0.1 * 50 / 100), rel=1e-12)


def test_a_plateau_preview_says_its_scenario_and_always_improving_never_reduces(tmp_path, capsys):
    overrides = ["solver=plateau", "solver.max_iter=100", "solver.args.patience=5"]
    assert main(["export", *overrides, "--plateau", "always", "-o", str(tmp_path / "a.csv")]) == 0
    assert set(read_csv(tmp_path / "a.csv")["default"]) == {0.001}
    assert main(["show", *overrides]) == 0
    assert "# plateau preview: the metric never improves" in capsys.readouterr().out


def test_export_without_an_output_writes_csv_to_stdout_and_a_sweep_labels_its_columns(capsys):
    assert main(["export", "solver=cosine,poly", "solver.max_iter=50", "solver.warmup_iters=5"]) == 0
    rows = list(csv.reader(capsys.readouterr().out.splitlines()))
    assert rows[0] == ["step", "solver=cosine: default", "solver=poly: default"]
    assert len(rows) == 1 + 50


@pytest.mark.parametrize(
    ("argv", "written"),
    [
        (
            ["show", "-o", "{tmp}/a.csv", "solver=cosine", "solver.max_iter=40", "solver.warmup_iters=4"],
            "a.csv",
        ),
        (
            ["plot", "solver=cosine", "solver.max_iter=40", "solver.warmup_iters=4", "-o", "{tmp}/a.json"],
            "a.json",
        ),
        (
            ["export", "solver=cosine", "-o", "{tmp}/a.json", "solver.max_iter=40", "solver.warmup_iters=4"],
            "a.json",
        ),
    ],
)
def test_o_writes_by_its_extension_on_every_command_with_options_anywhere(argv, written, tmp_path, capsys):
    assert main([a.format(tmp=tmp_path) for a in argv]) == 0
    assert (tmp_path / written).is_file()
    assert f"wrote {tmp_path / written}" in capsys.readouterr().out


def test_export_refuses_a_figure_extension_in_one_line(tmp_path, capsys):
    assert main(["export", "solver=cosine", "-o", str(tmp_path / "lr.png")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "export writes .csv, .json (every step), not .png" in err


def test_show_prints_the_keys_that_shape_the_lrs_and_full_prints_the_whole_node(capsys):
    overrides = ["solver=multistep", "solver.max_iter=1000", "solver.steps=[600]", "solver.warmup_iters=100"]
    assert main(["show", *overrides]) == 0
    short = capsys.readouterr().out
    assert main(["show", "--full", *overrides]) == 0
    full = capsys.readouterr().out
    for line in ("lr_scheduler_name: WarmupMultiStepLR", "max_iter: 1000", "- 600", "warmup_iters: 100"):
        assert line in short and line in full
    for line in ("momentum: 0.9", "checkpoint_period: 5000", "optimizer: SGD"):
        assert line not in short and line in full


def test_show_draws_the_whole_run_as_a_chart_read_at_one_step_per_column(capsys):
    overrides = ["solver=multistep", "solver.max_iter=1000", "solver.steps=[500]", "solver.warmup_iters=0"]
    assert main(["show", *overrides]) == 0
    out = capsys.readouterr().out
    chart = [line for line in out.splitlines() if " |" in line]
    assert len(chart) == 6  # rows
    columns = [line.split(" |", 1)[1] for line in chart]
    assert {len(c) for c in columns} == {60}
    # the formula: 0.1x after step 500, so the right half's columns fill 1/10 of the height
    # (6 rows of 8 eighths: 48 at the peak, round(4.8) = 5 eighths after the milestone)
    assert columns[-1][:29] == "█" * 29 and columns[-1][31:] == "▅" * 29
    assert set(columns[0][31:]) == {" "}


def test_a_closed_form_schedule_detectron2s_transformers_or_deepspeeds_is_shown_without_importing_torch():
    code = (
        "import sys; from schedreg.integrations.cli import main; "
        "assert main(['show', 'solver=cosine', 'solver.max_iter=100000000000']) == 0; "
        "assert main(['export', 'solver=wsd', 'solver.max_iter=100', 'solver.warmup_iters=10']) == 0; "
        "assert main(['show', 'solver=ds_warmup_cosine,ds_warmup_decay', 'solver.max_iter=5000']) == 0; "
        "print('torch' in sys.modules, file=sys.stderr)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == "False"


def test_a_30_million_step_torch_preview_and_a_trillion_step_cosine_finish(capsys):
    assert main(["show", "solver=step", "solver.max_iter=30000000"]) == 0
    assert "StepLR: lrs by torch's closed form" in capsys.readouterr().out
    assert main(["show", "solver=cosine", "solver.max_iter=1000000000000"]) == 0


def test_the_log_axis_starts_at_half_the_first_percentile_of_the_positive_lrs():
    values = [0.0, *(10.0**-k for k in range(1, 201))]  # 200 positive values
    assert log_floor(values) == sorted(v for v in values if v > 0)[2] / 2
    assert log_floor([0.0, 0.0]) is None


def test_lr_curve_uses_the_solvers_base_lr_unless_told_otherwise():
    solver = {
        "lr_scheduler_name": "WarmupMultiStepLR",
        "base_lr": 0.1,
        "max_iter": 10,
        "steps": [5],
        "warmup_iters": 0,
    }
    assert schedreg.lr_curve(solver, 10).tolist() == [0.1] * 5 + [0.1 * 0.1] * 5
    assert schedreg.lr_curve(solver, 10, base_lr=1.0).tolist() == [1.0] * 5 + [0.1] * 5


def readme_commands() -> list[str]:
    """Every `schedreg ...` command line in the README's code blocks and inline code."""
    text = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```bash\n(.*?)```", text, re.S)
    lines = [line.split(" #")[0].strip() for block in blocks for line in block.splitlines()]
    inline = [m.replace("\n", " ") for m in re.findall(r"`(schedreg (?:show|plot|export|list)[^`]*)`", text)]
    commands = [c for c in [*lines, *inline] if c.startswith("schedreg ") and "..." not in c]
    return list(dict.fromkeys(commands))


def test_the_readme_names_schedreg_commands_to_run():
    assert len(readme_commands()) >= 6


@pytest.mark.parametrize("command", readme_commands())
def test_every_schedreg_command_line_in_the_readme_runs(command, tmp_path):
    pytest.importorskip("matplotlib")
    env = {**os.environ, "MPLBACKEND": "Agg"}
    result = subprocess.run(
        shlex.split(command), capture_output=True, text=True, cwd=tmp_path, env=env, timeout=300
    )
    assert result.returncode == 0, f"{command}\n{result.stderr}"


def test_the_quick_start_line_ends_in_a_show_that_runs():
    line = next(line for line in (ROOT / "README.md").read_text().splitlines() if "&& schedreg show" in line)
    command = line.split("&& ")[-1]
    result = subprocess.run(shlex.split(command), capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert not math.isnan(float(result.stdout.strip().splitlines()[-1].split()[-1]))


def test_did_you_mean_says_where_each_close_name_comes_from(capsys):
    assert main(["show", "solver.lr_scheduler_name=cosin"]) == 2
    err = capsys.readouterr().err
    assert "did you mean 'cosine' (transformers) or 'WarmupCosineLR' (detectron2)" in err


def test_export_refuses_two_columns_of_one_name_rather_than_merge_them(tmp_path, capsys):
    assert (
        main(["export", "solver=cosine,cosine", "solver.max_iter=3000", "-o", str(tmp_path / "d.json")]) == 2
    )
    assert "two columns would both be named 'solver=cosine: default'" in capsys.readouterr().err
    assert not (tmp_path / "d.json").exists()


def test_a_sweep_of_more_runs_than_the_limit_is_one_error_line(capsys):
    assert main(["show", "solver=cosine", "solver.max_iter=range(2000,10000000)"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "a sweep of more than 64 runs" in err


def test_an_export_that_fails_midway_leaves_the_file_that_was_there(tmp_path, capsys):
    output = tmp_path / "lr.csv"
    output.write_text("kept\n")
    overrides = [
        "solver.lr_scheduler_name=LambdaLR",
        "solver.max_iter=20",
        "solver.warmup_iters=0",
        "+solver.args.lr_lambda=tests.hostile_lambdas.raises_key_error",  # fails at step 3
        "+solver.param_schedules.momentum={lr_scheduler_name: Interpolate, args: {points: [[0, 1.0]]}}",
    ]
    assert main(["export", *overrides, "-o", str(output)]) == 2
    assert "KeyError('boom')" in capsys.readouterr().err
    assert output.read_text() == "kept\n" and sorted(p.name for p in tmp_path.iterdir()) == ["lr.csv"]


@pytest.mark.parametrize("argv", [["--full", "solver=cosine"], ["-o", "{tmp}/a.csv", "solver=cosine"]])
def test_options_before_the_first_override_still_mean_show(argv, tmp_path, capsys):
    assert main([a.format(tmp=tmp_path) for a in argv]) == 0
    assert "lr_scheduler_name: WarmupCosineLR" in capsys.readouterr().out


def test_a_null_solver_node_is_refused_as_no_mapping():
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    with pytest.raises(schedreg.ConfigError, match=r"^solver must be a mapping of solver keys, got None"):
        schedreg.build_lr_scheduler({"solver": None}, optimizer)


@pytest.mark.parametrize(
    "overrides", [["solver=constant", "solver.warmup_iters=0"], ["solver=multistep", "solver.steps=[10]"]]
)
def test_a_log_plot_of_one_level_or_a_staircase_warns_nothing(overrides, tmp_path, recwarn):
    pytest.importorskip("matplotlib")
    argv = ["plot", "solver.warmup_iters=0", "solver.max_iter=1000", *overrides, "--log"]
    assert main([*argv, "-o", str(tmp_path / "a.png")]) == 0
    assert [str(w.message) for w in recwarn if "matplotlib" in (w.filename or "")] == []


@pytest.mark.parametrize("log", [[], ["--log"]])
def test_lrs_matplotlib_cannot_draw_are_one_error_line(log, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    argv = ["plot", "solver=constant", "solver.base_lr=1e308", "solver.max_iter=100", *log]
    assert main([*argv, "-o", str(tmp_path / "a.png")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "matplotlib cannot draw these lrs" in err
