"""The ``schedreg`` command and the quick-start script, run as a user would."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from schedreg.integrations.cli import main

ROOT = Path(__file__).resolve().parents[1]


def table(out: str) -> dict[int, float]:
    """The iteration -> lr rows that ``schedreg show`` prints after the config."""
    rows = out.split(" iteration ")[1].splitlines()[1:]
    return {int(r.split()[0]): float(r.split()[1]) for r in rows if r.strip()}


def test_show_prints_lrs_at_warmup_end_and_milestones(capsys):
    overrides = [
        "solver.max_iter=1000",
        "solver.steps=[600]",
        "solver.warmup_iters=100",
        "solver.base_lr=0.1",
    ]
    assert main(["show", *overrides]) == 0
    rows = table(capsys.readouterr().out)
    assert rows[0] == pytest.approx(0.1 * 0.001)
    assert rows[99] == pytest.approx(0.1 * (0.001 * (1 - 0.99) + 0.99))
    assert rows[100] == rows[599] == pytest.approx(0.1)
    assert rows[600] == rows[999] == pytest.approx(0.01)


def test_show_with_no_arguments_runs_detectron2s_default(capsys):
    assert main([]) == 0
    out = capsys.readouterr().out
    assert "lr_scheduler_name: WarmupMultiStepLR" in out
    rows = table(out)
    assert rows[999] < rows[1000] == pytest.approx(0.001) and rows[30000] == pytest.approx(1e-4)


def test_show_composes_a_solver_option_with_a_warmup_option(capsys):
    assert (
        main(
            [
                "show",
                "solver=cosine",
                "solver/warmup=constant",
                "solver.max_iter=2000",
                "solver.warmup_iters=200",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "lr_scheduler_name: WarmupCosineLR" in out and "method: constant" in out
    rows = table(out)
    assert rows[199] == pytest.approx(0.001 * 0.1)  # constant warmup at factor 0.1 x main(0)
    assert rows[200] == pytest.approx(0.001 * 0.5 * (1 + math.cos(math.pi * 200 / 2000)))


def test_a_comma_list_shows_each_choice(capsys):
    assert (
        main(["show", "solver=cosine,step_fixed_gamma", "solver.max_iter=400", "solver.warmup_iters=40"]) == 0
    )
    out = capsys.readouterr().out
    assert "# solver=cosine" in out and "# solver=step_fixed_gamma" in out


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["solver.warmup_itrs=5"], "Key 'warmup_itrs' not in 'SolverSchema'"),
        (["solver.warmup_iters=abc"], "solver.warmup_iters must be an integer, or a string like '90ep'"),
        (["solver.gamma=abc"], "Value 'abc' of type 'str' could not be converted to Float"),
        (["solver=cosin"], "Could not find 'solver/cosin'"),
        (["solver.steps=[600,300]"], "solver.steps must be increasing, got [600, 300]"),
        (
            ["solver.max_iter=500", "solver.steps=[300]"],
            "solver.warmup_iters must be smaller than solver.max_iter (500), got 1000",
        ),
    ],
)
def test_bad_overrides_exit_2_with_the_message_and_no_traceback(capsys, overrides, message):
    assert main(["show", *overrides]) == 2
    err = capsys.readouterr().err
    assert err.startswith("schedreg: error:") and message in err and "Traceback" not in err


def test_list_names_each_scheduler_its_source_and_what_it_is_in_full(capsys):
    assert main(["list"]) == 0
    lines = {line.split()[0]: line for line in capsys.readouterr().out.splitlines() if line.startswith("  ")}
    assert lines["WarmupCosineLR"].split()[1] == "detectron2"
    assert lines["warmup_stable_decay"].split()[1] == "transformers"
    assert lines["Interpolate"].split()[1] == "schedreg"
    assert lines["StepLR"].split()[1:5] == ["torch", "torch's", "StepLR;", "args:"]
    # the builder's whole first paragraph, not its first line
    assert lines["warmup_stable_decay"].endswith("unless args.num_stable_steps is set.")


def test_list_says_which_registered_name_each_solver_option_selects_and_its_source(capsys):
    assert main(["list"]) == 0
    lines = {
        line.split()[0]: line.split()[1:] for line in capsys.readouterr().out.splitlines() if line.strip()
    }
    # the option files, read here: conf/solver/<option>.yaml sets lr_scheduler_name
    for path in (ROOT / "conf" / "solver").glob("*.yaml"):
        name = next(
            line.split(":", 1)[1].strip()
            for line in path.read_text().splitlines()
            if line.startswith("lr_scheduler_name:")
        )
        assert lines[f"solver={path.stem}"][0] == name
    assert lines["solver=cosine"] == ["WarmupCosineLR", "(detectron2)"]
    assert lines["solver=cosine_hf"] == ["cosine", "(transformers)"]


def test_plot_overlays_a_comma_list_in_one_png(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    out = tmp_path / "lr.png"
    assert (
        main(
            [
                "plot",
                "solver=cosine,multistep",
                "solver.max_iter=500",
                "solver.steps=[300]",
                "solver.warmup_iters=50",
                "--log",
                "-o",
                str(out),
            ]
        )
        == 0
    )
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert capsys.readouterr().out.strip() == f"wrote {out}"


def test_installed_console_script_runs():
    result = subprocess.run(
        ["schedreg", "show", "solver=poly", "solver.max_iter=100", "solver.warmup_iters=10"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "WarmupPolyLR" in result.stdout


def test_quickstart_example_trains_and_logs_the_lr():
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples/quickstart.py")], capture_output=True, text=True, check=True
    )
    lines = result.stdout.splitlines()
    assert len(lines) == 6 and lines[0].startswith("iter    0  lr 0.000050")


def test_the_benchmark_suite_runs_at_a_tiny_size_and_writes_its_table(tmp_path):
    out = tmp_path / "bench.json"
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks/suite.py"), "--quick", "--json", str(out)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "ratio" in result.stdout and "target" in result.stdout
    table = json.loads(out.read_text())
    names = " ".join(row["name"] for row in table["rows"])
    for part in (
        "step, 1 group",
        "fvcore route",
        "preview",
        "resume jump",
        "import",
        "command: schedreg show",
    ):
        assert part in names
    assert table["machine"]["torch"] and all(
        set(row) >= {"measured", "target", "pass"} for row in table["rows"]
    )


def test_show_builds_the_configured_optimizer_so_betas_schedules_work(tmp_path, capsys):
    (tmp_path / "betas.yaml").write_text(
        "defaults:\n  - solver: cosine\n  - _self_\nsolver:\n  optimizer: AdamW\n  max_iter: 100\n"
        "  warmup_iters: 10\n  param_schedules:\n    betas[0]:\n      lr_scheduler_name: Interpolate\n"
        "      args: {points: [[0, 1.0], [50, 0.9]]}\n"
    )
    assert main(["show", "--config-dir", str(tmp_path), "--config-name", "betas"]) == 0
    assert table(capsys.readouterr().out)[50] == pytest.approx(
        0.001 * 0.5 * (1 + math.cos(math.pi * 50 / 100))
    )


def test_show_previews_rules_in_one_optimizer_as_training_does(capsys):
    from schedreg.integrations.sampled import simulate

    cfg = {
        "solver": {
            "lr_scheduler_name": "cosine_with_min_lr",
            "base_lr": 0.1,
            "max_iter": 20,
            "args": {"min_lr": 0.01},
            "param_groups": {"head": {"params": "1.*", "lr_factor": 0.1}},
        }
    }
    _, curves = simulate(cfg)
    # min_lr is relative to the optimizer's lr (0.1): the head, at a tenth, ends at a tenth of it
    assert curves["default"][-1] == pytest.approx(0.01) and curves["head"][-1] == pytest.approx(0.001)


@pytest.mark.parametrize(
    ("overrides", "line"),
    [
        (["solver=cosine", "solver.max_iter=9000"], "# warmup: linear, from 0.001 x lr, over 1000 steps"),
        (["solver=step", "solver/warmup=exponential"], "# no warmup (solver.warmup_iters is 0)"),
        (["solver=cosine", "solver/warmup=none"], "# no warmup (solver.warmup.method is none)"),
    ],
)
def test_show_says_what_warmup_the_schedule_gets_even_a_chosen_one_of_length_0(overrides, line, capsys):
    assert main(["show", *overrides]) == 0
    assert line in capsys.readouterr().out.splitlines()
