"""What most likely bounds a throughput figure, from wall and CPU times (bench.measure)."""
from __future__ import annotations

SERVER_BOUND = {
    "emulator": "the emulator (threaded werkzeug under one GIL: more client threads make it slower, "
                "not faster)",
    "null stub": "round trips (latency)",
}


def bucket_ceiling(per_second: float, requests: int, messages: int) -> float | None:
    """The most messages/s the token bucket lets through for this many requests (None: no limit)."""
    burst = max(1.0, per_second)
    return messages * per_second / (requests - burst) if requests > burst else None


def describe(ctx, m, where: str, *, backend=None, db_seconds=None, rate=None, ceiling=None,
             baseline=None) -> str:
    """'1.23 s wall; bench process 0.97 CPU cores, ...; bound: ...'"""
    cpu, server, others = m.cores(m.cpu), m.cores(m.emulator_cpu), m.cores(m.others_cpu)
    usage = f"bench process {cpu:.2f} CPU cores" + (
        " (emulator thread included)" if server is None else f", {where} process {server:.2f}")
    if others is not None:
        usage += f", other processes {others:.2f}"
    parts, bounds = [f"{m.wall:.2f} s wall", usage], []
    if cpu >= 0.85:
        bounds.append("this process's GIL (one core of Python)")
    if server is not None and server >= 0.85:
        bounds.append(f"the {where}'s CPU")
    if cpu + (server or 0) + (others or 0) >= 0.85 * ctx.cpus:
        bounds.append(f"the {ctx.cpus} CPUs")
    if others is not None and others >= 0.25 * ctx.cpus:
        who = "PostgreSQL, anything else running" if backend == "postgresql" else "anything else running"
        bounds.append(f"other processes ({others:.2f} cores: {who})")
    if db_seconds is not None:
        parts.append(f"database (claim + finish) {db_seconds / m.wall:.0%} of wall")
        if db_seconds / m.wall >= 0.4:
            bounds.append("the database between sends"
                          + (" (SQLite: one writer at a time)" if backend == "sqlite" else ""))
    if rate and ceiling and rate >= 0.9 * ceiling:
        bounds.append(f"the token bucket (at most {ceiling:,.0f}/s over this run, burst included)")
    if rate and baseline and rate >= 0.85 * baseline:
        bounds.append("whatever bounds the SDK loop (it gets ≥85% of it)")
    return "; ".join(parts) + "; bound: " + ", ".join(bounds or [SERVER_BOUND[where]])
