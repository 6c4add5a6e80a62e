"""Fault injection: scripted or random failures and slow answers."""
from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass
class FaultRule:
    """Which calls fail, and how.

    endpoint: an endpoint name ("push", "richmenu.create", ...), a list of
        names, or "*" for every LINE endpoint (never the /_emulator/ ones).
    status: answer this HTTP status instead of processing the call.
    delay: sleep this many seconds first (then answer ``status`` if set,
        otherwise process the call normally).
    times: fire for the next N matching calls only.
    probability: fire with this chance, drawn from ``random.Random(seed)``
        so a run is reproducible. With ``times`` too: at most N times.
        With neither ``times`` nor ``probability``: every matching call until
        ``clear_faults()``.
    message: overrides the error message LINE would give for ``status``.
    """

    endpoint: str | list[str] = "*"
    status: int | None = None
    delay: float | None = None
    times: int | None = None
    probability: float | None = None
    seed: int | None = None
    message: str | None = None
    fired: int = 0
    _rng: random.Random = field(default=None, repr=False, compare=False)

    def __post_init__(self):
        if self.status is None and self.delay is None:
            raise ValueError("a fault rule needs a status or a delay")
        if self.status is not None and not 400 <= int(self.status) <= 599:
            raise ValueError("status must be an HTTP error status (4xx or 5xx)")
        if self.delay is not None and self.delay < 0:
            raise ValueError("delay must be >= 0")
        if self.times is not None and self.times < 0:
            raise ValueError("times must be >= 0")
        if self.probability is not None and not 0 <= self.probability <= 1:
            raise ValueError("probability must be between 0 and 1")
        if isinstance(self.endpoint, (list, tuple)):
            self.endpoint = list(self.endpoint)
        self._rng = random.Random(self.seed)

    @classmethod
    def from_dict(cls, data: dict) -> "FaultRule":
        known = {"endpoint", "status", "delay", "times", "probability", "seed", "message"}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown fault fields: {sorted(unknown)}")
        return cls(**data)

    def to_dict(self) -> dict:
        return {"endpoint": self.endpoint, "status": self.status, "delay": self.delay,
                "times": self.times, "probability": self.probability, "seed": self.seed,
                "message": self.message, "fired": self.fired}

    def matches(self, endpoint: str) -> bool:
        if self.endpoint == "*":
            return True
        if isinstance(self.endpoint, list):
            return endpoint in self.endpoint
        return endpoint == self.endpoint

    def exhausted(self) -> bool:
        return self.times is not None and self.fired >= self.times

    def roll(self) -> bool:
        """Decide whether this rule fires for one matching call."""
        if self.exhausted():
            return False
        if self.probability is not None and self._rng.random() >= self.probability:
            return False
        self.fired += 1
        return True


class FaultBook:
    """The active rules, in the order they were injected. Not locked itself:
    the emulator state calls it under its own lock."""

    def __init__(self):
        self.rules: list[FaultRule] = []

    def add(self, rule: FaultRule) -> FaultRule:
        self.rules.append(rule)
        return rule

    def clear(self):
        self.rules.clear()

    def take(self, endpoint: str) -> FaultRule | None:
        """The first matching rule that fires for this call, if any."""
        chosen = None
        for rule in self.rules:
            if rule.matches(endpoint) and rule.roll():
                chosen = rule
                break
        self.rules = [r for r in self.rules if not r.exhausted()]
        return chosen
