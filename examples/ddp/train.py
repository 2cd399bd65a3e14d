"""Data-parallel training on CPU (gloo), with the schedule scaled to the world size.

    torchrun --nproc_per_node=2 examples/ddp/train.py OUT_DIR

The schedule is written for one worker (reference_world_size: 1). On N workers,
scale_to_world_size multiplies the lr and the batch by N and divides the iterations by
N, as detectron2 does. Each rank writes the lrs it used to OUT_DIR/rank<R>.json.
"""

import json
import sys
from pathlib import Path

import torch
import torch.distributed as dist

import schedreg

SOLVER = {
    "lr_scheduler_name": "WarmupMultiStepLR",
    "reference_world_size": 1,
    "ims_per_batch": 8,
    "base_lr": 0.01,
    "max_iter": 200,
    "steps": [120, 160],
    "warmup_iters": 20,
}


def main(out: Path) -> None:
    dist.init_process_group("gloo")
    rank, world = dist.get_rank(), dist.get_world_size()
    solver = schedreg.scale_to_world_size({"solver": SOLVER}, world)
    torch.manual_seed(0)
    model = torch.nn.parallel.DistributedDataParallel(torch.nn.Linear(4, 1))
    optimizer = schedreg.build_optimizer(solver, model)
    scheduler = schedreg.build_lr_scheduler(solver, optimizer)
    data = torch.Generator().manual_seed(rank)
    lrs = []
    for _ in range(solver.max_iter):
        x = torch.randn(solver.ims_per_batch // world, 4, generator=data)
        loss = torch.nn.functional.mse_loss(model(x), x.sum(1, keepdim=True))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        lrs.append(optimizer.param_groups[0]["lr"])
        scheduler.step()
    record = {"rank": rank, "world": world, "max_iter": solver.max_iter, "lrs": lrs, "loss": loss.item()}
    (out / f"rank{rank}.json").write_text(json.dumps(record))
    dist.destroy_process_group()


if __name__ == "__main__":
    main(Path(sys.argv[1]))
