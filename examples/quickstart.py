"""Quick start: a tiny model trained with a schedule declared as config.

Run: python examples/quickstart.py
"""

import torch

import schedreg

cfg = {
    "solver": {
        "lr_scheduler_name": "WarmupCosineLR",  # or any name in schedreg.SCHEDULERS
        "base_lr": 0.05,
        "max_iter": 300,
        "warmup_iters": 30,
    }
}

torch.manual_seed(0)
model = torch.nn.Linear(8, 1)
x, y = torch.randn(256, 8), torch.randn(256, 1)
optimizer = torch.optim.SGD(model.parameters(), lr=cfg["solver"]["base_lr"], momentum=0.9)
scheduler = schedreg.build_lr_scheduler(cfg, optimizer)

for iteration in range(cfg["solver"]["max_iter"]):
    loss = torch.nn.functional.mse_loss(model(x), y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    if iteration % 50 == 0:
        print(f"iter {iteration:4d}  lr {optimizer.param_groups[0]['lr']:.6f}  loss {loss.item():.4f}")
    scheduler.step()
