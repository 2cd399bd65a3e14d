"""The README's code and YAML run as written."""

from __future__ import annotations

import importlib
import math
import pickle
import re
from pathlib import Path

import pytest
import torch
import yaml

import schedreg
from schedreg import SCHEDULERS

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()
PYTHON = re.findall(r"```python\n(.*?)```", README, re.S)
YAML = re.findall(r"```yaml\n(.*?)```", README, re.S)


def block(blocks: list[str], marker: str) -> str:
    return next(b for b in blocks if marker in b)


def test_quick_start_runs():
    exec(block(PYTHON, "model = torch.nn.Linear(8, 1)"), {})


def test_your_own_schedule_example_registers_builds_and_pickles(tmp_path, monkeypatch):
    (tmp_path / "readme_example.py").write_text(block(PYTHON, '@register_scheduler("HalfLife")'))
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.import_module("readme_example")
    try:
        optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
        cfg = {"solver": {"lr_scheduler_name": "HalfLife", "args": {"half_life": 10}}}
        scheduler = schedreg.build_lr_scheduler(cfg, optimizer)
        for _ in range(10):
            optimizer.step()
            scheduler.step()
        assert optimizer.param_groups[0]["lr"] == pytest.approx(0.5)
        pickle.loads(pickle.dumps(scheduler.schedule))
    finally:
        SCHEDULERS._entries.pop("HalfLife")


def test_param_groups_and_param_schedules_yaml_build_as_described():
    cfg = yaml.safe_load(block(YAML, "param_groups:                # first match wins"))
    schedules = yaml.safe_load("solver:\n" + block(YAML, "  param_schedules:"))["solver"]
    cfg["solver"].update(schedules, momentum=0.95)
    model = torch.nn.Sequential()
    model.add_module("backbone", torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4)))
    model.add_module("head", torch.nn.Linear(4, 2))
    optimizer = schedreg.build_optimizer(cfg, model)
    scheduler = schedreg.build_lr_scheduler(cfg, optimizer)
    assert [g["name"] for g in optimizer.param_groups] == ["backbone", "backbone", "default"]
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.02 * 0.1 * 0.001)  # 0.1x, warming up
    for _ in range(27000):
        scheduler.step()
    assert optimizer.param_groups[2]["momentum"] == pytest.approx(0.85, rel=1e-3)
    rise = 1 + 9 * (1 - math.cos(math.pi * 27000 / 90000)) / 2  # cosine from 1x to 10x over 90000
    assert optimizer.param_groups[2]["weight_decay"] == pytest.approx(1e-4 * rise, rel=1e-12)


def test_timm_yaml_builds_timms_cosine_with_its_cycles():
    cfg = yaml.safe_load(block(YAML, "lr_scheduler_name: CosineLRScheduler"))
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    scheduler = schedreg.build_lr_scheduler(cfg, optimizer)
    lrs = [optimizer.param_groups[0]["lr"]]
    for _ in range(650):
        optimizer.step()
        scheduler.step()
        lrs.append(optimizer.param_groups[0]["lr"])
    cosine_at_5 = 1e-5 + (0.1 - 1e-5) * (1 + math.cos(math.pi * 5 / 300)) / 2  # warmup ends on the cosine
    assert lrs[0] == 1e-6 and lrs[5] == pytest.approx(cosine_at_5, rel=1e-12)
    assert lrs[300] == pytest.approx(0.05, rel=1e-12)  # the second cycle peaks at cycle_decay x
    assert lrs[600:] == [1e-5] * 51  # after cycle_limit cycles: lr_min


def test_units_yaml_resolves_to_the_iterations_in_its_comments():
    solver = schedreg.solver_config(yaml.safe_load(block(YAML, "interval: epoch")))
    assert (solver.max_iter, solver.steps, solver.warmup_iters) == (45000, (15000, 36000), 500)


def test_the_solver_keys_table_is_made_from_the_one_declaration():
    from schedreg.config.schema import markdown_table

    assert markdown_table() in README


def test_the_architecture_section_names_every_folder_and_module():
    root = Path(__file__).resolve().parents[1] / "schedreg"
    section = README[README.index("## Architecture") :]
    section = section[: section.index("\n## ", 1)] if "\n## " in section[1:] else section
    for folder in (p for p in root.iterdir() if (p / "__init__.py").exists()):
        assert f"{folder.name}/" in section, folder.name
        for module in folder.glob("*.py"):
            if module.stem != "__init__":
                assert f"`{module.stem}`" in section or f"{module.name}" in section, module
    for module in root.glob("*.py"):
        if module.stem != "__init__":
            assert module.name in section, module.name


@pytest.mark.parametrize("section", ["## DeepSpeed's configs", "## NeMo's configs"])
def test_a_peers_example_in_the_readme_builds_and_steps(section):
    text = README
    start = text.index(section)
    block = text[start:].split("```python\n", 1)[1].split("```", 1)[0]
    namespace: dict = {}
    exec(compile(block, f"README {section}", "exec"), namespace)
    scheduler, optimizer = namespace["scheduler"], namespace["optimizer"]
    for _ in range(3):
        optimizer.step()
        scheduler.step()
    assert all(0 <= group["lr"] < 1 for group in optimizer.param_groups)


@pytest.mark.parametrize(
    "marker", ['"lr_decay_style": "cosine"', '"name": "cosine_with_warmup"', '"param_scheduler": [']
)
def test_large_scale_dialect_examples_build_and_step(marker):
    namespace: dict = {}
    exec(block(PYTHON, marker), namespace)
    scheduler, optimizer = namespace["scheduler"], namespace["optimizer"]
    for _ in range(3):
        optimizer.step()
        scheduler.step()
    assert all(0 < g["lr"] < 1 for g in optimizer.param_groups)


def test_the_token_clock_yaml_builds_and_steps_by_the_ramps_batch():
    cfg = yaml.safe_load(block(YAML, 'batch_size_schedule: "0:768 250B:1536 500B:3072"'))
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=3e-4)
    scheduler = schedreg.build_lr_scheduler(cfg, optimizer)
    assert scheduler.batch_size == 768
    for _ in range(2):
        optimizer.step()
        scheduler.step()
    assert scheduler.last_epoch == 2 * 768 * 4096
    warmup = 2 * 768 * 4096 / 2e9  # transformers' cosine, still warming up; sqrt(768 / 768) = 1
    assert optimizer.param_groups[0]["lr"] == pytest.approx(3e-4 * warmup, rel=1e-12)
