"""The ``schedreg`` command and the example scripts, run as a user would."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from schedreg.cli import main

ROOT = Path(__file__).resolve().parents[1]


def test_show_prints_lrs_at_warmup_end_and_milestones(capsys):
    assert (
        main(
            [
                "show",
                "solver.max_iter=1000",
                "solver.steps=[600]",
                "solver.warmup_iters=100",
                "solver.base_lr=0.1",
            ]
        )
        == 0
    )
    rows = {int(line.split()[0]): float(line.split()[1]) for line in capsys.readouterr().out.splitlines()[2:]}
    assert rows[0] == pytest.approx(0.1 * 0.001)
    assert rows[99] == pytest.approx(0.1 * (0.001 * (1 - 0.99) + 0.99))
    assert rows[100] == rows[599] == pytest.approx(0.1)
    assert rows[600] == rows[999] == pytest.approx(0.01)


def test_show_reads_a_solver_file_and_applies_overrides(capsys):
    assert (
        main(
            ["show", str(ROOT / "conf/solver/cosine.yaml"), "solver.max_iter=2000", "solver.warmup_iters=200"]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert out.startswith("scheduler: WarmupCosineLR  (max_iter=2000, base_lr=0.02)")
    assert "       199 " in out and "       200 " in out


def test_bad_config_exits_2_with_the_message(capsys):
    assert main(["show", "solver.steps=[600,300]"]) == 2
    assert "schedreg: error: solver.steps must be increasing, got [600, 300]" in capsys.readouterr().err


def test_plot_writes_a_png(tmp_path):
    pytest.importorskip("matplotlib")
    out = tmp_path / "lr.png"
    assert (
        main(["plot", "solver.max_iter=500", "solver.steps=[300]", "solver.warmup_iters=50", "-o", str(out)])
        == 0
    )
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_installed_console_script_runs():
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "schedreg.cli",
            "show",
            "solver.max_iter=100",
            "solver.steps=[50]",
            "solver.warmup_iters=10",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "WarmupMultiStepLR" in result.stdout


def test_quickstart_example_trains_and_logs_the_lr():
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples/quickstart.py")], capture_output=True, text=True, check=True
    )
    lines = result.stdout.splitlines()
    assert len(lines) == 6 and lines[0].startswith("iter    0  lr 0.000050")


def test_step_overhead_benchmark_runs_at_a_tiny_size(tmp_path):
    out = tmp_path / "ratios.json"
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks/step_overhead.py"),
            "--steps",
            "50",
            "--groups",
            "2",
            "--json",
            str(out),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "schedreg/torch" in result.stdout
    assert out.exists() and '"ratios"' in out.read_text()
