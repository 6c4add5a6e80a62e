"""Instruments around the dispatcher: time in the database, discarded connections, a watchdog."""
from __future__ import annotations

import contextlib
import logging
import threading
import time

from bot.line.dispatcher import Dispatcher


class TimedDispatcher(Dispatcher):
    """Adds up the time spent in the database (claim, finish) between the sends."""
    db_seconds = 0.0

    def claim(self):
        start = time.perf_counter()
        try:
            return super().claim()
        finally:
            self.db_seconds += time.perf_counter() - start

    def _finish(self, outcomes):
        start = time.perf_counter()
        try:
            return super()._finish(outcomes)
        finally:
            self.db_seconds += time.perf_counter() - start


class _PoolFull(logging.Filter):
    """Counts (and hides) urllib3's "Connection pool is full, discarding connection"."""
    count = 0

    def filter(self, record):
        if "pool is full" in record.getMessage():
            self.count += 1
            return False
        return True


@contextlib.contextmanager
def count_discarded_connections():
    counter, logger = _PoolFull(), logging.getLogger("urllib3.connectionpool")
    logger.addFilter(counter)
    try:
        yield counter
    finally:
        logger.removeFilter(counter)


@contextlib.contextmanager
def watchdog(worker: Dispatcher, server, limit: float):
    """Stops the dispatcher if the server dies or the run takes longer than `limit` seconds (failed
    sends back off for minutes, which run(until_idle=True) would wait for). Yields the reasons."""
    done, trouble = threading.Event(), []

    def watch():
        end = time.monotonic() + limit
        while not done.wait(0.2):
            if not server.alive():
                trouble.append("the server process died")
            elif time.monotonic() > end:
                trouble.append(f"not done within {limit:.0f} s")
            if trouble:
                worker.stop.set()
                return

    thread = threading.Thread(target=watch, name="bench-watchdog", daemon=True)
    thread.start()
    try:
        yield trouble
    finally:
        done.set()
        thread.join()
