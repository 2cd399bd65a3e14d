"""The registry's one-time load, raced by threads: no lookup sees a half-filled registry.

The races run in a fresh interpreter, where the load has not happened yet. Importing torch
takes seconds, so one interpreter imports schedreg afresh for each round of the race.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable
from pathlib import Path

from schedreg.registry import Registry

ROOT = Path(__file__).resolve().parents[1]


def run_python(code: str, *paths: Path) -> subprocess.CompletedProcess[str]:
    """``code`` in a fresh interpreter that imports this checkout's schedreg (and ``paths``)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(map(str, [*paths, ROOT]))}
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=300,
    )


RACE = """
    import math, sys, threading, time
    import torch

    THREADS, ROUNDS, STEPS = 8, 25, 30
    SOLVER = {"lr_scheduler_name": "WarmupCosineLR", "max_iter": 100, "warmup_iters": 10}
    # detectron2's cosine after the warmup: base_lr * (1 + cos(pi * step / max_iter)) / 2
    EXPECTED = 0.1 * 0.5 * (1 + math.cos(math.pi * STEPS / 100))
    finders = list(sys.meta_path)
    wrong = []

    def fresh_schedreg():
        for name in [m for m in sys.modules if m == "schedreg" or m.startswith("schedreg.")]:
            del sys.modules[name]
        sys.meta_path[:] = finders  # schedreg installs a finder of its old module paths
        import schedreg
        return schedreg

    def race(schedreg, barrier, index):
        optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
        schedreg.build_lr_scheduler  # imports the torch layer; the registry stays unloaded
        barrier.wait()
        time.sleep(index * 0.005)  # arrivals spread over the load (some 40 ms), not all before it
        try:
            if index % 2:  # half the threads register a name of their own during the load
                schedreg.register_scheduler(f"Mine{index}")(lambda solver: (lambda step: 1.0))
            scheduler = schedreg.build_lr_scheduler({"solver": SOLVER}, optimizer)
            first = optimizer.param_groups[0]["lr"]
            for _ in range(STEPS):
                optimizer.step()
                scheduler.step()
            last = optimizer.param_groups[0]["lr"]
            if not (math.isclose(first, 0.1 * 0.001) and math.isclose(last, EXPECTED)):
                wrong.append(f"lrs {first}, {last}")
        except Exception as exc:
            wrong.append(repr(exc))

    for _ in range(ROUNDS):
        schedreg = fresh_schedreg()
        barrier = threading.Barrier(THREADS)
        threads = [threading.Thread(target=race, args=(schedreg, barrier, i)) for i in range(THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        missing = {f"Mine{i}" for i in range(1, THREADS, 2)} - set(schedreg.SCHEDULERS)
        if missing:
            wrong.append(f"registered from threads but missing: {sorted(missing)}")
    print(f"{len(wrong)} wrong of {THREADS * ROUNDS}", *sorted(set(wrong))[:3], sep="\\n")
"""


def test_threads_building_right_after_import_all_find_the_builtins_and_their_own_names() -> None:
    result = run_python(RACE)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("0 wrong"), result.stdout


SLOW_MODULE = """
    import __main__
    from schedreg import register_scheduler

    @register_scheduler("Early")
    def early(solver): ...

    __main__.loading.set()  # the load is half done: a lookup now must wait
    assert __main__.release.wait(10)

    @register_scheduler("Late")
    def late(solver): ...
"""

HALF_LOADED = """
    import threading, time
    loading, release = threading.Event(), threading.Event()
    released, seen = [], []

    import schedreg
    schedreg.SCHEDULERS.preload("slow_builders")  # after schedreg's own builders

    def look_up(name):
        seen.append((name, name in schedreg.SCHEDULERS, bool(released)))

    loader = threading.Thread(target=look_up, args=("StepLR",))
    loader.start()
    assert loading.wait(60)
    lookups = [threading.Thread(target=look_up, args=(n,)) for n in ("WarmupCosineLR", "Late")]
    for thread in lookups:
        thread.start()
    time.sleep(0.3)
    released.append(True)
    release.set()
    for thread in [loader, *lookups]:
        thread.join()
    print(sorted(seen))
"""


def test_a_lookup_during_the_first_load_waits_for_it_to_finish(tmp_path: Path) -> None:
    (tmp_path / "slow_builders.py").write_text(textwrap.dedent(SLOW_MODULE))
    result = run_python(HALF_LOADED, tmp_path)
    assert result.returncode == 0, result.stderr
    # every lookup found its name, and none returned before the load was released
    expected = [("Late", True, True), ("StepLR", True, True), ("WarmupCosineLR", True, True)]
    assert result.stdout.strip() == str(expected)


def builder(solver: object) -> None:
    """One builder under many names: what the registry keeps is the names."""


def test_names_registered_from_many_threads_while_the_registry_loads_all_land() -> None:
    threads, per_thread = 16, 50
    registry: Registry[Callable[..., None]] = Registry(
        "thing", load=lambda: [registry.register(f"loaded{i}")(builder) for i in range(100)]
    )
    barrier = threading.Barrier(threads)

    def register(index: int) -> None:
        barrier.wait()
        for j in range(per_thread):
            registry.register(f"t{index}-{j}")(builder)

    workers = [threading.Thread(target=register, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    expected = {f"t{i}-{j}" for i in range(threads) for j in range(per_thread)} | {
        f"loaded{i}" for i in range(100)
    }
    assert set(registry) == expected and len(registry) == len(expected)
