"""Benchmarks: `python -m bench [--quick] [--only NAME]` (what `make bench` runs).

A benchmark is a module of this package with `run(ctx: Context) -> list[Figure]`, named in BENCHMARKS.
The runner prints one table of every figure (value, baseline, ratio, goal), the notes the benchmarks
left (what bounds each figure) and writes bench/results/latest.json. A benchmark that cannot produce an
honest figure raises BenchError; the runner prints one line on stderr and exits non-zero.
"""
from __future__ import annotations

import dataclasses
import os
import time
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# name -> module; add a line per new benchmark.
BENCHMARKS = {
    "dispatcher": "bench.dispatcher",
    "memory": "bench.memory",
    "recommendations": "bench.recommendations",
    "search": "bench.search",
    "webhook": "bench.webhook",
}


class BenchError(Exception):
    """The benchmark failed (wrong deliveries, unsent rows, a dead emulator); one line."""


@dataclasses.dataclass
class Figure:
    name: str
    value: float
    unit: str
    baseline: float | None = None  # same unit as value
    goal: str = ""
    details: dict = dataclasses.field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        return self.value / self.baseline if self.baseline else None


@dataclasses.dataclass
class Context:
    quick: bool = False
    emulator: str = "process"  # "process" (own interpreter, own GIL) or "thread" (in this process)
    soak: int | None = None    # webhook: events before the web worker's RSS is read (None: the default)
    notes: list[str] = dataclasses.field(default_factory=list)
    # The log's clock, so a slow run shows where its minutes went.
    started: float = dataclasses.field(default_factory=time.perf_counter)

    def scale(self, full: int, quick: int) -> int:
        return quick if self.quick else full

    def log(self, message: str) -> None:
        minutes, seconds = divmod(int(time.perf_counter() - self.started), 60)
        print(f"· {minutes:02d}:{seconds:02d} {message}", flush=True)

    def note(self, message: str) -> None:
        self.notes.append(message)

    @property
    def cpus(self) -> int:
        return os.cpu_count() or 1
