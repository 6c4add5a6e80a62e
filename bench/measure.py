"""Wall time and CPU time of a stretch of work: this process's (getrusage) and the emulator's."""
from __future__ import annotations

import contextlib
import dataclasses
import os
import resource
import time

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def self_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def process_cpu_seconds(pid: int) -> float | None:
    """User + system CPU of another process, from /proc (None where there is no /proc)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def machine_busy_seconds() -> float | None:
    """CPU seconds all processes of the machine used (from /proc/stat), idle and iowait left out."""
    try:
        with open("/proc/stat") as f:
            fields = [int(x) for x in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    return (sum(fields[:8]) - fields[3] - fields[4]) / CLOCK_TICKS


@dataclasses.dataclass
class Measurement:
    wall: float = 0.0
    cpu: float = 0.0                   # this process (dispatcher, SDK, SQLite; + emulator in thread mode)
    emulator_cpu: float | None = None  # the emulator process, when it has one
    machine_cpu: float | None = None   # every process of the machine

    @property
    def others_cpu(self) -> float | None:
        """CPU used by other processes meanwhile: a database server, anything else running."""
        if self.machine_cpu is None:
            return None
        return max(0.0, self.machine_cpu - self.cpu - (self.emulator_cpu or 0.0))

    def cores(self, seconds: float | None) -> float | None:
        return None if seconds is None or not self.wall else seconds / self.wall

    def as_dict(self) -> dict:
        return {"wall_s": round(self.wall, 3), "cpu_s": round(self.cpu, 3),
                "server_cpu_s": None if self.emulator_cpu is None else round(self.emulator_cpu, 3),
                "others_cpu_s": None if self.others_cpu is None else round(self.others_cpu, 3)}


@contextlib.contextmanager
def measure(emulator):
    m = Measurement()
    e0, b0, c0 = emulator.cpu_seconds(), machine_busy_seconds(), self_cpu_seconds()
    t0 = time.perf_counter()
    yield m
    m.wall = time.perf_counter() - t0
    m.cpu = self_cpu_seconds() - c0
    e1, b1 = emulator.cpu_seconds(), machine_busy_seconds()
    m.emulator_cpu = None if e0 is None or e1 is None else e1 - e0
    m.machine_cpu = None if b0 is None or b1 is None else b1 - b0
