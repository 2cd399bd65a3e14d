"""schedreg.integrations.lightning.configure_optimizers with a real Lightning Trainer on CPU."""

from __future__ import annotations

import math

import pytest
import torch

from schedreg.integrations.lightning import configure_optimizers

L = pytest.importorskip("lightning")


class Regression(L.LightningModule):
    def __init__(self, solver: dict):
        super().__init__()
        self.cfg = {"solver": solver}
        self.backbone = torch.nn.Linear(4, 8)
        self.head = torch.nn.Linear(8, 1)
        self.seen: list[list[float]] = []

    def training_step(self, batch, batch_idx):
        self.seen.append([g["lr"] for g in self.optimizers().optimizer.param_groups])
        x, y = batch
        loss = torch.nn.functional.mse_loss(self.head(torch.relu(self.backbone(x))), y)
        self.log("train_loss", loss)
        self.log("flat", 1.0)  # a metric that never improves
        return loss

    def configure_optimizers(self):
        return configure_optimizers(self.cfg, self, monitor="flat")


def fit(module: Regression, steps: int, epochs: int = 100) -> None:
    torch.manual_seed(0)
    data = torch.utils.data.TensorDataset(torch.randn(40, 4), torch.randn(40, 1))
    trainer = L.Trainer(
        max_steps=steps,
        max_epochs=epochs,
        accelerator="cpu",
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    trainer.fit(module, torch.utils.data.DataLoader(data, batch_size=10))


def test_lightning_steps_the_schedule_every_optimizer_step_per_group():
    solver = {
        "lr_scheduler_name": "WarmupCosineLR",
        "base_lr": 0.1,
        "max_iter": 30,
        "warmup_iters": 5,
        "param_groups": {"backbone": {"params": "backbone.*", "lr_factor": 0.1}},
    }
    module = Regression(solver)
    fit(module, steps=30)
    assert len(module.seen) == 30
    for i, (backbone, head) in enumerate(module.seen):
        main = 0.5 * (1 + math.cos(math.pi * i / 30))
        ramp = 0.001 + (0.5 * (1 + math.cos(math.pi * 5 / 30)) - 0.001) * i / 5
        expected = ramp if i < 5 else main
        assert head == pytest.approx(0.1 * expected, rel=1e-12) and backbone == pytest.approx(
            0.01 * expected, rel=1e-12
        )


def test_a_plateau_schedule_gets_its_monitor_and_is_stepped_per_epoch():
    solver = {
        "lr_scheduler_name": "ReduceLROnPlateau",
        "base_lr": 0.1,
        "args": {"patience": 0, "factor": 0.5},
    }
    module = Regression(solver)
    config = module.configure_optimizers()["lr_scheduler"]
    assert (config["interval"], config["monitor"], config["reduce_on_plateau"]) == ("epoch", "flat", True)
    fit(module, steps=16, epochs=4)  # 4 batches an epoch; the first epoch sets the best
    per_epoch = [row[0] for row in module.seen[::4]]
    assert per_epoch == pytest.approx([0.1, 0.1, 0.05, 0.025])


def test_interval_and_frequency_pass_through():
    module = Regression({"lr_scheduler_name": "StepLR", "args": {"step_size": 2}})
    config = configure_optimizers(module.cfg, module, interval="epoch", frequency=3)["lr_scheduler"]
    assert (config["interval"], config["frequency"], config["reduce_on_plateau"]) == ("epoch", 3, False)
    assert "monitor" not in config


def test_the_lightning_example_trains_with_two_groups():
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "examples/lightning/train.py"
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, check=True)
    lines = [line for line in result.stdout.splitlines() if line.startswith("step ")]
    assert len(lines) == 4 and lines[0].startswith("step 0 lr {'default': 0.0, 'head': 0.0}")
    assert "step 150 lr {'default': " in lines[3]
