"""A fake clock for the code that waits (the storage adapter's backoff, the client's retries)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class FakeClock:
    """``monotonic()`` is under the test's control; every sleep is recorded and advances it."""

    now: float = 1000.0
    sleeps: list[float] = field(default_factory=list)

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
