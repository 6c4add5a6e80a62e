"""Resident memory (VmRSS from /proc) of other processes, sampled while they work."""
from __future__ import annotations

import threading
import time
from pathlib import Path


def rss_kib(pid: int) -> int | None:
    """VmRSS of a process, in KiB (None once it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


class Sampler:
    """Samples the RSS of `pid` every `every` seconds with the work done so far (`progress()`)."""

    def __init__(self, pid: int, progress, every: float = 0.5):
        self.pid, self.progress, self.every = pid, progress, every
        self.samples: list[tuple[float, int, int]] = []  # (seconds, work done, RSS KiB)
        self._stop = threading.Event()
        self._t0 = time.perf_counter()
        self._thread = threading.Thread(target=self._run, name="bench-rss", daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.wait(self.every):
            rss = rss_kib(self.pid)
            if rss is None:
                return
            self.samples.append((time.perf_counter() - self._t0, self.progress(), rss))

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def summary(self, total: int, from_first: bool = False) -> dict:
        """start (the first sample, or the first with work done), peak, end, and RSS at each tenth
        of the work, in MiB."""
        working = self.samples if from_first else [s for s in self.samples if s[1] > 0] or self.samples
        if not working:
            return {}
        tenths = {}
        for _, done, rss in working:
            tenths.setdefault(min(10, done * 10 // max(1, total)), round(rss / 1024, 1))
        return {"start_mib": round(working[0][2] / 1024, 1), "peak_mib": round(max(s[2] for s in working) / 1024, 1),
                "end_mib": round(working[-1][2] / 1024, 1), "by_tenth_mib": tenths,
                "samples": len(working)}
