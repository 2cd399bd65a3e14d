"""A LightningModule whose optimizer and schedule come from one YAML-able dict.

Run: python examples/lightning/train.py
"""

import lightning as L
import torch

import schedreg.integrations.lightning

SOLVER = {
    "lr_scheduler_name": "cosine",  # transformers' cosine: warmup from 0, then half a cosine
    "optimizer": "AdamW",
    "base_lr": 3e-3,
    "weight_decay": 0.01,
    "max_iter": 200,
    "warmup_iters": 20,
    "param_groups": {"head": {"params": "head.*", "lr_factor": 10.0}},
}


class Regression(L.LightningModule):
    def __init__(self):
        super().__init__()
        self.backbone = torch.nn.Sequential(torch.nn.Linear(8, 32), torch.nn.ReLU())
        self.head = torch.nn.Linear(32, 1)

    def training_step(self, batch, batch_idx):
        x, y = batch
        loss = torch.nn.functional.mse_loss(self.head(self.backbone(x)), y)
        if self.global_step % 50 == 0:
            lrs = {g["name"]: g["lr"] for g in self.optimizers().optimizer.param_groups}
            print(f"step {self.global_step} lr {lrs} loss {loss.item():.4f}")
        return loss

    def configure_optimizers(self):
        return schedreg.integrations.lightning.configure_optimizers({"solver": SOLVER}, self)


if __name__ == "__main__":
    torch.manual_seed(0)
    x = torch.randn(640, 8)
    data = torch.utils.data.TensorDataset(x, x @ torch.randn(8, 1))
    trainer = L.Trainer(
        max_steps=SOLVER["max_iter"],
        accelerator="cpu",
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    trainer.fit(Regression(), torch.utils.data.DataLoader(data, batch_size=32, shuffle=True))
