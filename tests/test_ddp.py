"""examples/ddp under torchrun (2 CPU processes, gloo): every rank uses the same, scaled lrs."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def expected_lr(i: int) -> float:
    """The example's schedule for 1 worker (lr 0.01, 200 iters, steps 120/160, warmup 20), on 2:
    lr 0.02, 100 iters, steps 60/80, warmup 10, as detectron2 scales it."""
    base, warm = 0.02, 10
    ramp = 0.001 * (1 - i / warm) + i / warm if i < warm else 1.0
    return base * ramp * 0.1 ** sum(i >= s for s in (60, 80))


def test_every_rank_uses_identical_scaled_lrs(tmp_path):
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node=2",
        "--master_addr=127.0.0.1",
        f"--master_port={free_port()}",
        str(ROOT / "examples/ddp/train.py"),
        str(tmp_path),
    ]
    subprocess.run(command, check=True, capture_output=True, text=True, timeout=300)
    ranks = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert ranks[0]["lrs"] == ranks[1]["lrs"]
    assert ranks[0]["world"] == 2 and ranks[0]["max_iter"] == 100
    for i, lr in enumerate(ranks[0]["lrs"]):
        assert lr == pytest.approx(expected_lr(i), rel=1e-12), i
