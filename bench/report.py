"""The one table of figures, and bench/results/latest.json."""
from __future__ import annotations

import datetime as dt
import json
import os
import platform
from pathlib import Path

from bench import Context, Figure

RESULTS_DIR = Path(__file__).resolve().parent / "results"
HEADERS = ("figure", "value", "baseline", "ratio", "goal")


def _amount(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    return f"{value:,.0f} {unit}" if value >= 100 else f"{value:,.2f} {unit}"


def table(figures: list[Figure]) -> str:
    rows = [HEADERS] + [
        (f.name, _amount(f.value, f.unit), _amount(f.baseline, f.unit),
         "—" if f.ratio is None else f"{f.ratio:.2f}", f.goal or "—")
        for f in figures]
    widths = [max(len(row[i]) for row in rows) for i in range(len(HEADERS))]

    def line(row):
        cells = [row[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(row[1:4], widths[1:4])]
        return "  ".join(cells + [row[4]]).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(rows[0]), rule] + [line(r) for r in rows[1:]])


def write_json(ctx: Context, durations: dict[str, float], figures: list[Figure], seconds: float) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    document = {
        "time": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "quick": ctx.quick,
        "benchmarks": list(durations),
        "emulator": ctx.emulator,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "platform": platform.platform()},
        "seconds": round(seconds, 1),
        "seconds_by_benchmark": {name: round(s, 1) for name, s in durations.items()},
        "figures": [{"name": f.name, "value": round(f.value, 2), "unit": f.unit,
                     "baseline": None if f.baseline is None else round(f.baseline, 2),
                     "ratio": None if f.ratio is None else round(f.ratio, 3),
                     "goal": f.goal, "details": f.details} for f in figures],
        "notes": ctx.notes,
    }
    path = RESULTS_DIR / "latest.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(document, ensure_ascii=False, indent=2) + "\n")
    tmp.replace(path)
    return path
