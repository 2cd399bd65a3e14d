"""Third-party schedulers through the entry-point group ``schedreg.schedulers``."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

PLUGIN = {
    "pyproject.toml": """
        [build-system]
        requires = ["setuptools>=64"]
        build-backend = "setuptools.build_meta"

        [project]
        name = "schedreg-demo-plugin"
        version = "0.1.0"

        [project.entry-points."schedreg.schedulers"]
        DemoHalving = "schedreg_demo_plugin:build"
        Broken = "schedreg_demo_plugin:missing"
    """,
    "schedreg_demo_plugin/__init__.py": '''
        """A third-party schedule: halves every ``args.period`` steps."""
        import functools


        def halving(step, period):
            return 0.5 ** (step / period)


        def build(solver, optimizer):
            return functools.partial(halving, period=solver.args.get("period", 10))
    ''',
}


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """The plug-in, installed (not editable) into a directory of its own."""
    root = tmp_path_factory.mktemp("plugin")
    for name, text in PLUGIN.items():
        (root / "src" / name).parent.mkdir(parents=True, exist_ok=True)
        (root / "src" / name).write_text(textwrap.dedent(text))
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "--target",
            str(root / "site"),
            str(root / "src"),
        ],
        check=True,
        capture_output=True,
    )
    return root / "site"


def run(site: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run(args, capture_output=True, text=True, env=env, check=True)


def test_an_installed_plugin_appears_in_schedreg_list(site):
    result = run(site, sys.executable, "-m", "schedreg.integrations.cli", "list")
    line = next(line.strip() for line in result.stdout.splitlines() if line.strip().startswith("DemoHalving"))
    assert line.split()[1:3] == ["third-party", "(schedreg_demo_plugin)"]


def test_an_installed_plugin_builds_by_name_and_a_broken_one_only_warns(site):
    code = (
        "import warnings, torch, schedreg\n"
        "with warnings.catch_warnings(record=True) as caught:\n"
        "    warnings.simplefilter('always')\n"
        "    names = set(schedreg.SCHEDULERS)\n"
        "assert any(\"plug-in 'Broken'\" in str(w.message) for w in caught)\n"
        "opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)\n"
        "cfg = {'solver': {'lr_scheduler_name': 'DemoHalving', 'args': {'period': 4}}}\n"
        "s = schedreg.build_lr_scheduler(cfg, opt)\n"
        "for _ in range(8): opt.step(); s.step()\n"
        "print(opt.param_groups[0]['lr'], 'StepLR' in names)\n"
    )
    result = run(site, sys.executable, "-c", code)
    assert result.stdout.split() == ["0.25", "True"]
