"""Hostile command lines and step counts: each is one ``schedreg: error:`` line and status 2,
or a bounded preview of a huge run, never a traceback, a hang or an exhausted memory."""

from __future__ import annotations

import subprocess
import sys

import pytest

from schedreg import ConfigError, lr_curve
from schedreg.integrations import preview
from schedreg.integrations.cli import main

SHORT = ["solver.max_iter=1000", "solver.steps=[500]", "solver.warmup_iters=10"]


def run_cli(argv: list[str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """The installed command's interpreter running ``main``, killed past ``timeout`` seconds."""
    code = "import sys; from schedreg.integrations.cli import main; sys.exit(main(sys.argv[1:]))"
    return subprocess.run(
        [sys.executable, "-c", code, *argv], capture_output=True, text=True, timeout=timeout
    )


def rows(out: str) -> dict[int, float]:
    """The step -> lr rows that ``schedreg show`` prints after the config (one group)."""
    table = out.split(" iteration ")[1].splitlines()[1:]
    return {int(r.split()[0]): float(r.split()[1]) for r in table if r.strip()}


def assert_one_error_line(err: str, *named: str) -> None:
    assert "Traceback" not in err
    assert err.startswith("schedreg: error: ") and err.count("\n") == 1, err
    for text in named:
        assert text in err, err


HOSTILE = [
    (["show", "solver=null"], ["solver=null"]),
    (["show", "solver=5"], ["solver=5"]),
    (["show", "=5"], ["'=5'", "has no key"]),
    (["show", "solver.max_iter=["], ["solver.max_iter=["]),
    (["show", "solver.max_iter==3"], ["solver.max_iter==3"]),
    (["show", "solver.steps=[1,2"], ["solver.steps=[1,2"]),
    (["show", "solver=nonexistent"], ["solver/nonexistent", "cosine, cosine_annealing"]),
    (["show", "solver=cosine,nonexistent"], ["solver/nonexistent"]),
    (["show", "solver/warmup=nope"], ["solver/warmup/nope", "linear"]),
    (["show", "solver.max_itr=5"], ["solver.max_itr", "did you mean 'max_iter'"]),
    (["show", "solver.base_lr=abc"], ["solver.base_lr=abc", "could not be converted to Float"]),
    (["show", "solver.optimizer=Sgd"], ["solver.optimizer", "'SGD'"]),
    (["show", "solver.lr_scheduler_name=Nope"], ["solver.lr_scheduler_name", "'Nope'"]),
    (["show", "solver.max_iter=0"], ["solver.max_iter", "got 0"]),
    (["show", "solver.steps=[600,300]"], ["solver.steps", "[600, 300]"]),
    (["show", "solver=step", "solver.args.step_size=0"], ["solver.args.step_size", "got 0"]),
    (["show", "solver=cyclic", "solver.max_iter=30000000"], ["solver.max_iter", "1000000", "30000000"]),
    (["show", "solver=plateau", "solver.max_iter=1000000000000"], ["solver.max_iter", "ReduceLROnPlateau"]),
    (["show", "--config-name", "nope"], ["'nope'"]),
    (["show", "--config-dir", "/nonexistent_schedreg_dir"], ["/nonexistent_schedreg_dir"]),
    (["bogus"], ["'bogus'", "list"]),
    (["show", "--bogus"], ["--bogus"]),
]


@pytest.mark.parametrize(("argv", "named"), HOSTILE, ids=[" ".join(a) for a, _ in HOSTILE])
def test_a_mistake_on_the_command_line_is_one_error_line_and_status_2(argv, named, capsys):
    assert main(argv) == 2
    assert_one_error_line(capsys.readouterr().err, *named)


def test_an_unwritable_plot_path_is_one_error_line(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    for output, named in [
        (tmp_path / "missing_dir" / "x.png", "No such file or directory"),
        (
            tmp_path / "lr.xyz",
            "plot writes .png, .svg, .pdf, .csv, .json (a figure, or every step as data), not .xyz",
        ),
        (tmp_path / "lr", "not a name without an extension"),
    ]:
        assert main(["plot", *SHORT, "-o", str(output)]) == 2
        assert_one_error_line(capsys.readouterr().err, f"-o {output}", named)


def test_plot_without_matplotlib_is_one_error_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # `import matplotlib` raises ImportError
    assert main(["plot", *SHORT, "-o", str(tmp_path / "lr.png")]) == 2
    assert_one_error_line(
        capsys.readouterr().err, "plot needs matplotlib", "pip install matplotlib", "-o lr.csv"
    )


def test_overrides_alone_show_the_schedule(capsys):
    assert main(["solver=cosine", "solver.max_iter=100", "solver.warmup_iters=10"]) == 0
    assert "lr_scheduler_name: WarmupCosineLR" in capsys.readouterr().out


def test_show_of_a_30_million_step_torch_steplr_is_quick_and_exact():
    result = run_cli(["show", "solver=step", "solver.max_iter=30000000"])
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    table = rows(result.stdout)
    # StepLR: lr 0.001 x 0.1 every 10000 steps, by torch's closed form past the stepping limit
    assert table[0] == table[9999] == 0.001
    assert table[10000] == table[19999] == pytest.approx(1e-4, rel=1e-12)
    assert table[20000] == pytest.approx(1e-5, rel=1e-12) and table[29999999] == 0.0
    assert "torch's closed form" in result.stdout and "rows at the first 12" in result.stdout


def test_show_and_plot_of_a_trillion_steps_sample_the_run(tmp_path):
    overrides = ["solver.max_iter=1000000000000", "solver.steps=[300000000017]"]
    result = run_cli(["show", "solver=multistep_torch", *overrides])
    assert result.returncode == 0, result.stderr
    table = rows(result.stdout)
    # the milestone, at an odd step between samples, is found and printed on both sides
    assert table[300000000016] == 0.001 and table[300000000017] == pytest.approx(1e-4, rel=1e-12)
    assert len(table) < 40
    if subprocess.run([sys.executable, "-c", "import matplotlib"], capture_output=True).returncode == 0:
        out = tmp_path / "lr.png"
        result = run_cli(["plot", "solver=step,multistep", "solver.max_iter=1000000000000", "-o", str(out)])
        assert result.returncode == 0 and out.stat().st_size > 0, result.stderr


def test_a_long_run_is_read_at_its_samples_and_edges_not_every_step():
    from schedreg.integrations.cli import compose
    from schedreg.integrations.sampled import preview as read_run

    overrides = ["solver=multistep_torch", "solver.max_iter=100000000", "solver.steps=[70000001,70000003]"]
    run = read_run(compose(overrides, None, "schedreg"))
    assert len(run.samples) <= 2002 and run.edges == [70000001, 70000003]
    assert run.lrs.cache_info().currsize < 10_000  # type: ignore[attr-defined]


def test_torchs_closed_form_past_the_stepping_limit_equals_stepping_up_to_rounding(monkeypatch):
    cfg = {
        "lr_scheduler_name": "StepLR",
        "args": {"step_size": 70, "gamma": 0.5},
        "max_iter": 1000,
        "warmup_iters": 50,
        "base_lr": 0.1,
    }
    scheduler, optimizer = preview.preview_scheduler(cfg, 0.1)
    stepped = preview.stepped_lrs(scheduler, optimizer, 1001)[0]
    monkeypatch.setattr(preview, "MAX_STEPPED_STEPS", 100)
    lrs, note = preview.lrs_at(*preview.preview_scheduler(cfg, 0.1), 1000)
    assert note is not None and "closed form" in note
    assert [lrs(step)[0] for step in range(1001)] == pytest.approx(stepped, rel=1e-12, abs=0)


@pytest.mark.parametrize(
    ("cfg", "num_steps", "limit"),
    [
        ({"lr_scheduler_name": "WarmupCosineLR", "max_iter": 100}, 10**12, "at most 10000000 (80 MB"),
        ({"lr_scheduler_name": "WarmupCosineLR", "max_iter": 100}, 10**7 + 1, "at most 10000000 (80 MB"),
        ({"lr_scheduler_name": "StepLR", "args": {"step_size": 10}}, 10**6 + 1, "at most 1000000 for StepLR"),
        ({"lr_scheduler_name": "CosineLRScheduler", "max_iter": 100}, 10**9, "at most 10000000"),
    ],
)
def test_lr_curve_refuses_a_curve_too_big_to_hold_or_too_long_to_step(cfg, num_steps, limit):
    with pytest.raises(ConfigError, match=r"num_steps must be") as info:
        lr_curve(cfg, num_steps)
    assert limit in str(info.value) and str(num_steps) in str(info.value)


@pytest.mark.parametrize(
    "argv",
    [
        ["plot", "-o", "{tmp}/a.png", "solver=cosine"],
        ["plot", "--log", "solver=cosine", "-o", "{tmp}/a.png"],
        ["plot", "solver=cosine", "-o", "{tmp}/a.png", "solver.max_iter=5000"],
    ],
)
def test_overrides_may_come_before_or_after_the_options(argv, tmp_path, capsys):
    assert main([a.format(tmp=tmp_path) for a in argv]) == 0
    assert (tmp_path / "a.png").is_file()


@pytest.mark.parametrize("output", ["{tmp}", "", "/dev/null"])
def test_plot_to_a_directory_a_device_or_no_name_is_one_error_line(output, tmp_path, capsys):
    assert main(["plot", "solver=cosine", "-o", output.format(tmp=tmp_path)]) == 2
    assert_one_error_line(capsys.readouterr().err, "-o")
    assert list(tmp_path.iterdir()) == []


def test_list_refuses_an_override_it_would_ignore(capsys):
    assert main(["list", "solver=cosine"]) == 2
    assert_one_error_line(capsys.readouterr().err, "list takes no overrides")
