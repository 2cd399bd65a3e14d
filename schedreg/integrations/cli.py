"""The ``schedreg`` command: list schedulers, show, plot or export a configured schedule.

    schedreg list
    schedreg show [OVERRIDE ...] [-o FILE] [--full]   e.g. solver=cosine solver.max_iter=9000
    schedreg plot [OVERRIDE ...] [-o lr.png] [--log]
    schedreg export [OVERRIDE ...] [-o lr.csv]        every step's lr (CSV on stdout without -o)

Overrides are Hydra's, over schedreg's config groups (``solver=...``,
``solver/warmup=...``, ``solver.key=value``). A comma list (``solver=cosine,multistep``)
shows, plots or exports each choice; ``plot`` overlays them in one figure. Options go
anywhere among the overrides. ``-o`` writes by its extension: ``.png``/``.svg``/``.pdf`` a
figure, ``.csv``/``.json`` every step's values. ``--plateau`` says what a plateau
schedule's metric does in the preview. ``--config-dir`` and ``--config-name`` read your
own Hydra app's primary config instead of schedreg's.

schedreg's own closed forms are evaluated without importing torch, and a long run is read
at sampled steps and its edges, so ``show`` and ``plot`` take about a second whatever
``max_iter`` is (:mod:`schedreg.integrations.sampled`). A mistake in the command line or
the config is one ``schedreg: error:`` line and status 2 (:func:`error_line`).
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, NoReturn

from schedreg.errors import ConfigError, suggest
from schedreg.integrations.outputs import OutputError, export, output_kind, plot, show
from schedreg.integrations.sampled import PLATEAU_SCENARIOS, preview

COMMANDS = ("list", "show", "plot", "export")
MAX_RUNS = 64
"""The most runs a sweep expands to: each is composed, and shown or drawn."""


class UsageError(Exception):
    """A mistake on the command line that is no config value's (an argument argparse
    refuses). Reported as one line, like a :class:`ConfigError` or an unwritable ``-o``."""


class _Parser(argparse.ArgumentParser):
    """argparse, with its errors raised to :func:`main` (one line, status 2) instead of
    printed after the usage and exited on."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see schedreg --help)")


def expand_sweeps(overrides: Sequence[str]) -> list[tuple[str, list[str]]]:
    """One (label, overrides) per combination of the comma lists in ``overrides``.

    The label names the swept choices only, e.g. ``solver=cosine solver/warmup=constant``.
    """
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import OverrideParseException

    choices = []
    parser = OverridesParser.create()
    for line in overrides:
        try:
            (override,) = parser.parse_overrides([line])
        except OverrideParseException as exc:  # Hydra names the override in some messages only
            if line in str(exc):
                raise
            raise ConfigError(f"override {line!r}: {error_line(exc)}") from exc
        except ValueError as exc:  # Python's own limits: an int of 5000 digits
            raise ConfigError(f"override {line[:60]!r}: {exc}") from exc
        if not override.key_or_group:
            raise ConfigError(
                f"override {override.input_line!r} has no key: write key=value, e.g. solver=cosine"
            )
        if override.is_sweep_override():
            key = override.get_key_element()
            choices.append([(f"{key}={value}", True) for value in override.sweep_string_iterator()])
        else:
            assert override.input_line is not None  # the parser sets it (Hydra asserts the same)
            choices.append([(override.input_line, False)])
    count = 1
    for options in choices:
        count *= len(options)
        if count > MAX_RUNS:
            swept = " ".join(o for o in overrides if "," in o or "(" in o)
            raise ConfigError(f"{swept}: a sweep of more than {MAX_RUNS} runs; sweep fewer choices")
    return [
        (" ".join(o for o, swept in combo if swept), [o for o, _ in combo])
        for combo in itertools.product(*choices)
    ]


def compose(overrides: Sequence[str], config_dir: str | None, config_name: str) -> Any:
    """The config Hydra composes from schedreg's groups (or your app's) and ``overrides``."""
    import yaml
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir, initialize_config_module

    from schedreg.config.schema import register_schemas

    register_schemas()
    context: initialize_config_dir | initialize_config_module
    if config_dir:
        context = initialize_config_dir(str(Path(config_dir).resolve()), version_base="1.3")
    else:
        context = initialize_config_module("schedreg.conf", version_base="1.3")
    with context:
        try:
            return hydra_compose(config_name, overrides=list(overrides))
        except ValueError as exc:  # Hydra's own, for a group given a non-name (solver=null)
            if isinstance(exc, ConfigError):
                raise
            culprits = [o for o in overrides if "=" in o and "." not in o.split("=", 1)[0]]
            raise ConfigError(f"{' '.join(culprits) or 'overrides'}: {exc}") from exc
        except yaml.YAMLError as exc:  # a config file that is no YAML
            raise ConfigError(f"--config-name {config_name}: not valid YAML: {exc}") from exc


def list_schedulers() -> Iterator[str]:
    """The ``solver=`` options and the registered name each selects, then one line per
    registered scheduler: its name, where it comes from, and what it is (its builder's
    ``about``, or first paragraph) or takes (torch's arguments)."""
    from schedreg.builders.builtin import source
    from schedreg.builders.torch_builtins import TorchBuilder
    from schedreg.registry import SCHEDULERS

    yield "solver= options (schedreg's config group; solver.lr_scheduler_name=NAME picks any name below):"
    for option, name in solver_options():
        yield f"  solver={option:<22} {name} ({source(SCHEDULERS.get(name))})"
    yield ""
    yield "registered schedulers (solver.lr_scheduler_name):"
    for name in sorted(SCHEDULERS):
        builder = SCHEDULERS.get(name)
        if isinstance(builder, TorchBuilder):
            about = f"torch's {builder.cls.__name__}; args: " + ", ".join(builder.parameters())
        else:
            about = getattr(builder, "about", None) or " ".join(
                (builder.__doc__ or "").strip().split("\n\n")[0].split()
            )
        yield f"  {name:<28} {source(builder):<13} {about.replace('``', '')}"


def solver_options() -> list[tuple[str, str]]:
    """Each option of schedreg's ``solver`` config group and the scheduler name it sets."""
    from importlib.resources import files

    from omegaconf import OmegaConf

    folder = files("schedreg.conf") / "solver"
    options = sorted(p.name[: -len(".yaml")] for p in folder.iterdir() if p.name.endswith(".yaml"))
    return [(o, str(OmegaConf.load(str(folder / f"{o}.yaml")).lr_scheduler_name)) for o in options]


def error_line(exc: BaseException) -> str:
    """``exc``'s message, with its cause's, on one line: Hydra's and OmegaConf's span many
    (the options of a group, the config search path, the node's type), which reads as a
    traceback. A key missing from a schema gets the close names it has."""
    from omegaconf.errors import ConfigAttributeError, ConfigKeyError

    cause = exc.__cause__
    schema = getattr(cause, "object_type", None)
    typo = isinstance(cause, (ConfigAttributeError, ConfigKeyError)) and dataclasses.is_dataclass(schema)
    line = _one_line(str(exc), typo)
    if cause is not None and _one_line(str(cause), typo) not in line:
        line = _one_line(f"{exc}\n{cause}", typo)
    key = getattr(cause, "key", None)
    if typo and isinstance(schema, type) and isinstance(key, str):
        close = suggest(key, [f.name for f in dataclasses.fields(schema)])
        if close:
            line += f"; did you mean {' or '.join(repr(c) for c in close)}?"
    return line


def _one_line(text: str, typo: bool = False) -> str:
    """``text``'s lines joined, less Hydra's search path, docs link and OmegaConf's node
    details; the tab-indented items of a list (a group's options) joined by commas. The
    advice to add a key with ``+`` is left out for a ``typo`` (schedreg's schema takes none)."""
    line = ""
    for raw in text.splitlines():
        part = raw.strip()
        if part.startswith("Config search path:"):
            break
        if not part or part.startswith(("full_key:", "object_type=", "See https://hydra.cc")):
            continue
        if typo and part.startswith("To append to your config use"):
            continue
        if raw.startswith("\t"):
            line += (" " if line.endswith(":") else ", ") + part
        else:
            line += ("" if not line else " " if line.endswith((".", ":")) else "; ") + part
    return line


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``schedreg`` command: 0, or 2 with one ``schedreg: error:`` line
    on stderr for a mistake in the command line or the config (an unexpected exception is
    a bug, and keeps its traceback)."""
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    parser = _Parser(prog="schedreg", description=__doc__.split("\n\n")[0])
    parser.add_argument("command", nargs="?", default="show", choices=COMMANDS)
    parser.add_argument(
        "overrides", nargs="*", help="Hydra overrides, e.g. solver=cosine solver.max_iter=1000"
    )
    parser.add_argument(
        "-o",
        "--output",
        help="write to FILE by its extension: .png/.svg/.pdf a figure, .csv/.json every step's values "
        "(plot: lr.png by default; export: CSV on stdout by default)",
    )
    parser.add_argument("--log", action="store_true", help="a figure with a log-scale lr axis")
    parser.add_argument("--full", action="store_true", help="`show` the whole solver node")
    parser.add_argument(
        "--plateau",
        choices=PLATEAU_SCENARIOS,
        default="never",
        help="a plateau schedule's metric in the preview: never improves (default), or always",
    )
    parser.add_argument(
        "-m", "--multirun", action="store_true", help="accepted for Hydra habit; sweeps always expand"
    )
    parser.add_argument("--config-dir", help="your Hydra app's config directory")
    parser.add_argument(
        "--config-name", default="schedreg", help="primary config name (default: schedreg's own)"
    )
    argv = list(sys.argv[1:] if argv is None else argv)
    if not any(a in COMMANDS for a in argv) and any("=" in a and not a.startswith("-") for a in argv):
        argv.insert(0, "show")  # `schedreg solver=cosine`, `schedreg --full solver=cosine`: show
    try:
        args = parser.parse_intermixed_args(argv)  # overrides before or after the options
        if args.command == "list":
            if args.overrides:
                raise UsageError(f"list takes no overrides, got {' '.join(args.overrides)}")
            print("\n".join(list_schedulers()))
            return 0
        output = args.output if args.output is not None else "lr.png" if args.command == "plot" else None
        kind = output_kind(output, args.command) if output is not None else None
        runs = [
            (label, compose(o, args.config_dir, args.config_name))
            for label, o in expand_sweeps(args.overrides)
        ]
        if args.command == "export" or kind == "table":
            written = export(runs, output, args.plateau)
            if output is not None and args.command != "show":
                print(f"wrote {written}")
        previews = []
        if args.command == "show" or kind == "figure":
            previews = [(label, preview(cfg, plateau=args.plateau)) for label, cfg in runs]
        if args.command == "show":
            for (label, cfg), (_, run) in zip(runs, previews, strict=True):
                if len(runs) > 1:
                    print(f"# {label or 'defaults'}")
                print("\n".join(show(cfg, run, args.full)))
        if kind == "figure" and output is not None:
            print(f"wrote {plot(previews, output, args.log)}")
        elif kind == "table" and args.command == "show":
            print(f"wrote {output}")
    except (ConfigError, UsageError, OutputError, HydraException, OmegaConfBaseException) as exc:
        print(f"schedreg: error: {error_line(exc)}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `schedreg export | head`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no error at exit's flush
    return 0


if __name__ == "__main__":
    sys.exit(main())
