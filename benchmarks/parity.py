"""What the parity studies share: comparing two lr tables and reporting the worst difference,
and loading a peer's files alone, with stand-ins for the rest of its package."""

from __future__ import annotations

import importlib.util
import json
import sys
import types
from typing import Any

import torch

import schedreg


def compare(name: str, kwargs: dict[str, Any], ours: list[list[float]], theirs: list[list[float]]) -> float:
    """The largest relative difference between two tables of lrs (step x group), printed."""
    pairs = [(a, b) for ra, rb in zip(ours, theirs, strict=True) for a, b in zip(ra, rb, strict=True)]
    diff = max(abs(a - b) / max(abs(b), 1e-300) for a, b in pairs)
    identical = "  (bit-identical)" if all(a == b for a, b in pairs) else ""
    print(f"{name:<22} {json.dumps(kwargs):<100} max rel diff {diff:.3g}{identical}")
    return diff


def finish(worst: dict[str, float], what: str, json_path: str | None) -> dict[str, float]:
    """Print the worst case over ``what`` and write every case's worst to ``json_path``."""
    print(f"worst over {what}: {max(worst.values()):.3g}")
    if json_path:
        with open(json_path, "w") as f:
            json.dump(worst, f, indent=2)
    return worst


def optimizer(*lrs: float) -> torch.optim.Optimizer:
    """An SGD with one param group per lr (the first lr its default)."""
    params = [{"params": [torch.nn.Parameter(torch.zeros(1))], "lr": lr} for lr in lrs]
    return torch.optim.SGD(params, lr=lrs[0], momentum=0.9)


def stepped(opt: torch.optim.Optimizer, scheduler: Any, steps: int) -> list[list[float]]:
    """Every group's lr at iterations ``0 .. steps - 1``, the scheduler stepped after each
    optimizer step, as the peers' trainers do."""
    out = []
    for _ in range(steps):
        out.append([float(g["lr"]) for g in opt.param_groups])
        opt.step()
        scheduler.step()
    return out


def package(name: str, **attributes: Any) -> types.ModuleType:
    """A stand-in package ``name`` (in sys.modules) holding ``attributes``."""
    module = sys.modules.setdefault(name, types.ModuleType(name))
    module.__path__ = []  # type: ignore[attr-defined]
    for key, value in attributes.items():
        setattr(module, key, value)
    return module


def load_source(path: str, name: str, stubs: dict[str, dict[str, Any]]) -> types.ModuleType:
    """A peer's scheduler file loaded alone as module ``name``, the modules of its own package
    that it imports stood in for by ``stubs`` (module name -> its attributes)."""
    for module, attributes in stubs.items():
        stub = sys.modules.setdefault(module, types.ModuleType(module))
        for attribute, value in attributes.items():
            setattr(stub, attribute, value)
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    loaded = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(loaded)
    return loaded


def side_by_side(
    name: str, params: dict[str, Any], lrs: tuple[float, ...], theirs: Any, ours: Any, steps: int
) -> float:
    """The peer's scheduler class ``theirs`` built with ``params`` and schedreg's built from
    the config ``ours``, each over an SGD with ``lrs``, stepped ``steps`` times: their worst
    relative difference, printed."""
    theirs_opt, ours_opt = optimizer(*lrs), optimizer(*lrs)
    peer = theirs(theirs_opt, **params)
    built = schedreg.build_lr_scheduler(ours, ours_opt)
    return compare(name, params, stepped(ours_opt, built, steps), stepped(theirs_opt, peer, steps))
