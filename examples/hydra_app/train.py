"""A tiny regression model trained with the lr schedule its Hydra config composes.

    python examples/hydra_app/train.py solver=cosine solver.warmup_iters=100
    python examples/hydra_app/train.py -m solver=cosine,multistep solver/warmup=linear,constant

schedreg's groups (solver=..., solver/warmup=..., lr_scheduler=schedreg) are found
through its Hydra plugin: nothing here points Hydra at them.
"""

import logging

import hydra
import torch
from hydra.utils import instantiate
from omegaconf import DictConfig

log = logging.getLogger(__name__)


@hydra.main(version_base="1.3", config_path="conf", config_name="config")
def main(cfg: DictConfig) -> float:
    torch.manual_seed(cfg.seed)
    model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 1))
    x = torch.randn(512, 8)
    y = x @ torch.randn(8, 1) + 0.1 * torch.randn(512, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=cfg.solver.base_lr, momentum=0.9)
    scheduler = instantiate(cfg.lr_scheduler)(optimizer=optimizer)  # schedreg.build_lr_scheduler

    for iteration in range(cfg.solver.max_iter):
        loss = torch.nn.functional.mse_loss(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if iteration % cfg.log_every == 0:
            log.info("iter %d lr %r loss %.5f", iteration, optimizer.param_groups[0]["lr"], loss.item())
        scheduler.step()
    log.info("final loss %.5f", loss.item())
    return loss.item()


if __name__ == "__main__":
    main()
