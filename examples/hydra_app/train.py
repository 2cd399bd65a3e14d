"""A tiny regression model trained with the lr schedules its Hydra config composes.

    python examples/hydra_app/train.py solver=cosine solver.warmup_iters=100
    python examples/hydra_app/train.py -m solver=cosine,multistep solver/warmup=linear,constant

schedreg's groups (solver=..., solver/warmup=..., solver/param_groups=...,
lr_scheduler=schedreg) are found through its Hydra plugin: nothing here points Hydra at
them. The backbone trains at 0.1x the lr with warmup, the head at the full lr without.
"""

import logging

import hydra
import torch
from hydra.utils import instantiate
from omegaconf import DictConfig

import schedreg

log = logging.getLogger(__name__)


@hydra.main(version_base="1.3", config_path="conf", config_name="config")
def main(cfg: DictConfig) -> float:
    torch.manual_seed(cfg.seed)
    model = torch.nn.Sequential()
    model.add_module("backbone", torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU()))
    model.add_module("head", torch.nn.Linear(16, 1))
    x = torch.randn(512, 8)
    y = x @ torch.randn(8, 1) + 0.1 * torch.randn(512, 1)
    optimizer = schedreg.build_optimizer(cfg, model)  # one group per rule in solver.param_groups
    scheduler = instantiate(cfg.lr_scheduler)(optimizer=optimizer)  # schedreg.build_lr_scheduler

    for iteration in range(cfg.solver.max_iter):
        loss = torch.nn.functional.mse_loss(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if iteration % cfg.log_every == 0:
            lrs = " ".join(f"{g['name']}={g['lr']!r}" for g in optimizer.param_groups)
            log.info("iter %d lr %s loss %.5f", iteration, lrs, loss.item())
        if getattr(scheduler, "takes_metric", False):
            scheduler.step(loss.item())  # solver=plateau watches the loss
        else:
            scheduler.step()
    log.info("final loss %.5f", loss.item())
    return loss.item()


if __name__ == "__main__":
    main()
