"""Reconnect delays: exponential backoff with full jitter, as the TypeScript SDK does.

The n-th consecutive failure waits a uniformly random time in ``[0, min(max_delay, base * 2**(n-1)))``; ``base``
is the server's ``retry:`` hint when it sent one, else ``initial_delay``. A ``Retry-After`` is a floor on top.
"""
from __future__ import annotations

import random as _random
from dataclasses import dataclass, field
from typing import Callable, Optional


@dataclass(frozen=True)
class Backoff:
    #: Consecutive failed attempts (without progress in between) before giving up.
    max_retries: int = 8
    #: Base delay in seconds when the server sent no ``retry:``.
    initial_delay: float = 0.5
    #: Cap of the exponential part, in seconds.
    max_delay: float = 30.0
    #: Use the server's ``retry:`` field as the base delay.
    honor_server_retry: bool = True
    #: Source of randomness in [0, 1): inject a seeded one for reproducible tests.
    random: Callable[[], float] = field(default=_random.random, compare=False)

    def delay(self, failures: int, server_retry: Optional[float] = None, retry_after: Optional[float] = None) -> float:
        """Seconds to wait before retry number ``failures`` (1 = the first retry after a failure)."""
        base = server_retry if self.honor_server_retry and server_retry is not None else self.initial_delay
        exp = min(self.max_delay, base * float(2 ** max(0, min(failures - 1, 30))))
        jittered = float(self.random()) * exp
        return max(jittered, retry_after) if retry_after is not None else jittered
