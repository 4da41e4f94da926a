"""``Memory`` and ``AsyncMemory``: a namespace-bound facade over a store.

Written once: the I/O-free logic (validation, encoding, decoding) is
``botwire._memory_base``; ``AsyncMemory`` (``botwire._memory_async``) is the source
of the methods, and ``Memory`` (``botwire._memory_sync``) is generated from it by
``scripts/unasync.py``, checked by ``scripts/test``. ``tests/test_twins.py``
compares the two signature for signature.
"""

from __future__ import annotations

from botwire._memory_async import AsyncMemory
from botwire._memory_sync import Memory

__all__ = ["AsyncMemory", "Memory"]
