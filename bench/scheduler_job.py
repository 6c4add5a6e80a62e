"""The clock's weekly recommendation job in a process of its own, for bench/memory.py:

    python -m bench.scheduler_job      # settings from the environment, as `flask scheduler run`

The app is built from the environment as the Procfile's clock builds it and the declared job's function
runs once, at the recommendation benchmark's fixed time (outside quiet hours), then the process exits.
"""
from __future__ import annotations

import sys


def main() -> int:
    from app import create_app
    from bench.recommendations import NOW
    from bot import recommendations, scheduler

    services = create_app().extensions["bot"]
    scheduler._services = services  # what run_clock sets for the job functions
    print("ready", flush=True)
    sys.stdin.readline()  # the benchmark takes the starting RSS, then says go
    report = recommendations.run(services, NOW)
    print(f"sent {report.sent}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
