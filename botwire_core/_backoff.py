"""The one backoff policy: capped exponential delays with full jitter.

Every retry loop in BotWire waits with :func:`backoff`: ``update``'s compare-and-set
loop, the HTTP stores' resends (:class:`botwire.RetryPolicy`), the PostgreSQL stores
after a deadlock or serialization failure, and the SQLite store while another
process holds the file's lock. Full jitter (a uniform pick below the ceiling)
spreads competing retries apart instead of lining them up (AWS's "Exponential
Backoff And Jitter").
"""

from __future__ import annotations

import random

__all__ = ["backoff"]


def backoff(attempt: int, base: float, cap: float) -> float:
    """Seconds to wait before retry number ``attempt + 1``.

    A uniform pick in ``[0, min(cap, base * 2**attempt)]``.
    """
    return random.uniform(0, min(cap, base * 2 ** min(attempt, 32)))
