"""An in-memory store of decision answers, for :class:`GeminiDecisionModel` used on its own.

The router caches its classifier *scores* in a :class:`~lc_gemini_router.state.ScoreStore`
(shareable, e.g. in Redis). A decision model asked arbitrary questions caches whole
responses instead; this is the same size-bounded, time-limited LRU for them, with
the store protocol's blocking and ``a``-prefixed methods so both drivers can use it.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from langchain_core.decisions import ClassifierResponse

__all__ = ["ResponseCache"]


class ResponseCache:
    """At most ``size`` responses, each kept ``ttl`` seconds; thread-safe."""

    def __init__(self, size: int, ttl: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.size = size
        self.ttl = ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, tuple[float, ClassifierResponse]] = OrderedDict()

    def get(self, key: str) -> ClassifierResponse | None:
        with self._lock:
            entry = self._entries.pop(key, None)
            if entry is None or self._clock() - entry[0] > self.ttl:
                return None
            self._entries[key] = entry  # most recently used last
            return entry[1]

    def put(self, key: str, response: ClassifierResponse) -> None:
        with self._lock:
            self._entries.pop(key, None)
            self._entries[key] = (self._clock(), response)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    async def aget(self, key: str) -> ClassifierResponse | None:
        return self.get(key)

    async def aput(self, key: str, response: ClassifierResponse) -> None:
        self.put(key, response)

    def __len__(self) -> int:
        return len(self._entries)
