"""Benchmark clients as separate processes whose clocks start together, like pgbench's."""

from __future__ import annotations

import multiprocessing as mp
from collections.abc import Callable, Sequence
from typing import Any


def run_together(
    target: Callable[..., None],
    args: Sequence[tuple[Any, ...]],
    *,
    seconds: float,
    before_go: Callable[[], None] = lambda: None,
) -> list[Any]:
    """Start one spawned process per tuple of `args`, calling target(*args, ready, go, results).

    Each process puts something on `ready` once connected and warmed up, waits for `go`, then
    puts its result (or a string saying why it failed) on `results`. The clock starts when all
    are ready and `before_go` (a CHECKPOINT) has run. Returns the results; a failure raises.
    """
    ctx = mp.get_context("spawn")
    ready, go, results = ctx.Queue(), ctx.Event(), ctx.Queue()
    procs = [
        ctx.Process(target=target, args=(*client_args, ready, go, results), daemon=True)
        for client_args in args
    ]
    for proc in procs:
        proc.start()
    try:
        for _ in procs:
            ready.get(timeout=300)
        before_go()
        go.set()
        got = [results.get(timeout=seconds + 300) for _ in procs]
        failed = [item for item in got if isinstance(item, str)]
        if failed:
            raise RuntimeError(f"a client failed: {failed[0]}")
        for proc in procs:
            proc.join(timeout=60)
        return got
    finally:
        for proc in procs:
            if proc.is_alive():
                proc.terminate()
                proc.join(timeout=10)
