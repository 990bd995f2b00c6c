"""Where a router keeps its state: in this process (:class:`MemoryStore`), or in a
Redis that several processes share (:class:`~lc_gemini_router.stores.redis.RedisStore`,
with the ``redis`` extra)."""

from lc_gemini_router.stores.memory import MemoryStore

__all__ = ["MemoryStore"]
