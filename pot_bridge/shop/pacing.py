"""How fast and how often to ask one shop: rate limit, backoff, circuit breaker.

Coop shops run on cheap shared hosting; a client that retries at full speed
turns a slow shop into a dead one. Time comes from injected `sleep`/`clock`
callables so tests can check every wait without waiting.
"""

from __future__ import annotations

import random
from collections.abc import Callable


class RateLimit:
    """At most `per_second` requests; 0 means no limit."""

    def __init__(
        self,
        per_second: float,
        sleep: Callable[[float], None],
        clock: Callable[[], float],
    ) -> None:
        self.per_second = per_second
        self._sleep, self._clock = sleep, clock
        self._next_slot = 0.0

    def wait(self) -> None:
        if self.per_second <= 0:
            return
        now = self._clock()
        if self._next_slot > now:
            self._sleep(self._next_slot - now)

        self._next_slot = max(now, self._next_slot) + 1.0 / self.per_second


class Backoff:
    """Exponential waits with jitter, or the shop's own `Retry-After`."""

    def __init__(self, base: float, cap: float) -> None:
        self.base, self.cap = base, cap
        self._random = random.Random()

    def wait(self, attempt: int, retry_after: float | None) -> float | None:
        """Seconds before attempt `attempt + 1`; None if the shop asks too long."""
        if retry_after is not None:
            return retry_after if retry_after <= self.cap else None
        delay = min(self.cap, self.base * 2 ** (attempt - 1))

        return delay * self._random.uniform(0.5, 1.0)


class Breaker:
    """Opens after `threshold` failed calls in a row, for `cooldown` seconds.

    After the cooldown one call may go through; if it fails too the breaker
    opens again at once, if it succeeds the count starts over.
    """

    def __init__(
        self, threshold: int, cooldown: float, clock: Callable[[], float]
    ) -> None:
        self.threshold, self.cooldown = threshold, cooldown
        self.failures = 0
        self._clock = clock
        self._open_until: float | None = None

    def seconds_open_left(self) -> float:
        """Seconds until calls may go out again; 0 when they may go now."""
        if self._open_until is None:
            return 0.0
        left = self._open_until - self._clock()
        if left <= 0:
            self._open_until = None
            return 0.0

        return left

    def succeeded(self) -> None:
        self.failures = 0

    def failed(self) -> bool:
        """Count a failed call; True when this one opened the breaker."""
        self.failures += 1
        if self.failures < self.threshold:
            return False

        self._open_until = self._clock() + self.cooldown
        return True
