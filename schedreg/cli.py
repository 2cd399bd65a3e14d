"""The ``schedreg`` command: show or plot the schedule a config describes.

    schedreg show [CONFIG.yaml] [key=value ...]
    schedreg plot [CONFIG.yaml] [key=value ...] [-o lr.png]

``key=value`` overrides use dotted paths from the config root (``solver.max_iter=9000``).
Without a config file the config is just the overrides, on detectron2's defaults. A
file holding only solver keys (like ``conf/solver/cosine.yaml``) is the ``solver`` node.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from schedreg.config import SolverConfig, solver_config
from schedreg.errors import ConfigError


def load_config(path: str | None, overrides: Sequence[str]) -> Any:
    """The config in ``path`` (YAML) with dotted ``key=value`` overrides merged on top.

    A file without a ``solver``/``SOLVER`` node is taken to be the solver node itself.
    """
    from omegaconf import OmegaConf

    base = OmegaConf.load(path) if path else OmegaConf.create({})
    if not {"solver", "SOLVER"} & set(base):
        base = OmegaConf.create({"solver": base})
    return OmegaConf.merge(base, OmegaConf.from_dotlist(list(overrides)))


def simulate(cfg: Any, num_steps: int | None = None) -> tuple[SolverConfig, list[float]]:
    """The lr of every iteration, for one param group at ``solver.base_lr``.

    Returns the solver node and ``num_steps + 1`` lrs (default ``max_iter + 1``): the lr of
    iterations ``0 .. num_steps - 1`` and the one the scheduler holds after the end.
    """
    import torch

    from schedreg.factory import build_lr_scheduler, resolve

    _, solver = resolve(solver_config(cfg))
    param = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([param], lr=solver.base_lr)
    scheduler = build_lr_scheduler(solver, optimizer)
    lrs = [optimizer.param_groups[0]["lr"]]
    for _ in range(solver.max_iter if num_steps is None else num_steps):
        optimizer.step()
        scheduler.step()
        lrs.append(optimizer.param_groups[0]["lr"])
    return solver, lrs


def landmarks(solver: SolverConfig, count: int, rows: int = 10) -> list[int]:
    """Steps worth printing: evenly spaced ones, plus both sides of warmup's end and milestones."""
    marks = {0, count - 1}
    marks.update(range(0, count, max(1, count // rows)))
    for edge in (solver.warmup_iters, *solver.steps):
        marks.update({edge - 1, edge})
    return sorted(m for m in marks if 0 <= m < count)


def show(cfg: Any) -> None:
    """Print the solver node and a table of lrs at landmark steps."""
    solver, lrs = simulate(cfg)
    print(f"scheduler: {solver.lr_scheduler_name}  (max_iter={solver.max_iter}, base_lr={solver.base_lr})")
    print(f"{'iteration':>10}  {'lr':>14}  {'x base_lr':>10}")
    for step in landmarks(solver, len(lrs) - 1):
        print(f"{step:>10}  {lrs[step]:>14.8g}  {lrs[step] / solver.base_lr:>10.5g}")


def plot(cfg: Any, output: str) -> None:
    """Draw the lr of every iteration to ``output`` (needs matplotlib)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    solver, lrs = simulate(cfg)
    fig, ax = plt.subplots(figsize=(8, 4))
    ax.plot(range(len(lrs) - 1), lrs[:-1])
    ax.set(xlabel="iteration", ylabel="learning rate", title=solver.lr_scheduler_name)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(output, dpi=100)
    plt.close(fig)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``schedreg`` command."""
    parser = argparse.ArgumentParser(prog="schedreg", description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["show", "plot"])
    parser.add_argument("items", nargs="*", help="an optional CONFIG.yaml, then key=value overrides")
    parser.add_argument("-o", "--output", default="lr.png", help="image file for `plot` (default: lr.png)")
    args = parser.parse_args(argv)
    path = args.items[0] if args.items and "=" not in args.items[0] else None
    overrides = args.items[1:] if path else args.items
    try:
        cfg = load_config(path, overrides)
        if args.command == "show":
            show(cfg)
        else:
            plot(cfg, args.output)
            print(f"wrote {args.output}")
    except ConfigError as exc:
        print(f"schedreg: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
