"""``build_param_groups``: a model's parameters, grouped as detectron2 does, plus rules.

Without ``solver.param_groups`` the groups are exactly those of detectron2's
``get_default_optimizer_params`` (as its ``build_optimizer`` calls it): each trainable
parameter once (shared ones at their first appearance), ``lr = base_lr``, norm layers at
``weight_decay_norm``, parameters named ``bias`` at ``base_lr * bias_lr_factor`` and
``weight_decay_bias`` (when set), and parameters with equal settings merged in first-seen
order. Rules then move parameters into named groups; a parameter joins the first rule it
matches, and the unmatched ones form groups named ``default``.
"""

from __future__ import annotations

import fnmatch
import inspect
import re
from collections import Counter
from typing import Any

import torch
from torch.nn.modules import batchnorm, normalization

from schedreg.config.parse import RESERVED_GROUP_NAME, solver_config
from schedreg.config.solver import GroupRule
from schedreg.errors import ConfigError

DEFAULT_GROUP = RESERVED_GROUP_NAME


def _subclasses(cls: type) -> set[type]:
    subs: list[type] = cls.__subclasses__()
    return {cls, *(s for sub in subs for s in _subclasses(sub))}


def norm_types() -> tuple[type[torch.nn.Module], ...]:
    """Every normalisation layer torch has (batch, instance, layer, group, RMS, LRN...)."""
    found = _subclasses(batchnorm._NormBase) | {
        c for c in vars(normalization).values() if inspect.isclass(c) and issubclass(c, torch.nn.Module)
    }
    return tuple(c for c in found if not c.__name__.startswith("_") and c is not torch.nn.Module)


def _selects(rule: GroupRule, name: str, module: torch.nn.Module, norms: tuple[type, ...]) -> bool:
    def name_fits(pattern: str) -> bool:
        if not pattern.startswith("re:"):
            return fnmatch.fnmatchcase(name, pattern)
        try:
            return re.search(pattern[3:], name) is not None
        except re.error as exc:
            raise ConfigError(f"{rule.path}.params has an invalid regex {pattern!r}: {exc}") from exc

    classes = {c.__name__ for c in type(module).__mro__}
    type_fits = any(t in classes or (t == "norm" and isinstance(module, norms)) for t in rule.module_types)
    return (not rule.params or any(map(name_fits, rule.params))) and (not rule.module_types or type_fits)


def build_param_groups(cfg: Any, model: torch.nn.Module) -> list[dict[str, Any]]:
    """The param groups for ``model``'s optimizer, each a dict with ``params``, ``lr``, any
    overridden ``weight_decay``, and its ``name`` (the rule's, or ``"default"``).

    Raises:
        ConfigError: for a rule that matches no parameter (unless it is ``optional``).
    """
    solver = solver_config(cfg)
    bias: dict[str, float] = {}
    if solver.bias_lr_factor != 1.0:
        bias["lr"] = solver.base_lr * solver.bias_lr_factor
    if solver.weight_decay_bias is not None:
        bias["weight_decay"] = solver.weight_decay_bias
    norms = norm_types()
    matched: Counter[str] = Counter()
    seen: set[torch.nn.Parameter] = set()
    groups: dict[tuple[Any, ...], dict[str, Any]] = {}
    for module_name, module in model.named_modules():
        for short, param in module.named_parameters(recurse=False):
            full = f"{module_name}.{short}" if module_name else short
            rule = next((r for r in solver.param_groups if _selects(r, full, module, norms)), None)
            matched[rule.name if rule else DEFAULT_GROUP] += 1
            if not param.requires_grad or param in seen:
                continue
            seen.add(param)
            settings: dict[str, Any] = {"lr": solver.base_lr}
            if isinstance(module, norms) and solver.weight_decay_norm is not None:
                settings["weight_decay"] = solver.weight_decay_norm
            if short == "bias":
                settings.update(bias)
            if rule is not None:
                settings["lr"] = rule.lr if rule.lr is not None else settings["lr"] * (rule.lr_factor or 1.0)
                if rule.weight_decay is not None:
                    settings["weight_decay"] = rule.weight_decay
            name = rule.name if rule else DEFAULT_GROUP
            group = groups.setdefault((name, *settings.items()), {"params": [], **settings, "name": name})
            group["params"].append(param)
    for rule in solver.param_groups:
        if not matched[rule.name] and not rule.optional:
            raise ConfigError(
                f"{rule.path} matches no parameter of {type(model).__name__} "
                f"(params={list(rule.params)}, module_types={list(rule.module_types)}); "
                "fix the pattern, or set optional: true"
            )
    return list(groups.values())
