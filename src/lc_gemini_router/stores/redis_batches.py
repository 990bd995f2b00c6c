"""Batch job records in Redis, so any process of a deployment can collect a job.

A record is one JSON string (``{namespace}:batch:{id}``); the keys already collected are
a set beside it, added to by a Lua script that returns only the keys it added, so two
processes collecting one job at once price each item once. Unlike the routing state,
batch state never fails open: a Redis that does not answer raises
:class:`~lc_gemini_router.StoreUnavailableError` (a job that cannot be stored cannot be
collected elsewhere; a claim that cannot be made could price twice).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import redis

from lc_gemini_router.batches.records import BatchRecord
from lc_gemini_router.batches.stores import check_job_id
from lc_gemini_router.errors import StoreUnavailableError

if TYPE_CHECKING:
    from lc_gemini_router.stores.redis import RedisStore

__all__ = ["RedisBatchStore"]

_UNAVAILABLE = (redis.ConnectionError, redis.TimeoutError, OSError)

_CLAIM = """
local fresh = {}
for i, key in ipairs(ARGV) do
  if redis.call('SADD', KEYS[1], key) == 1 then
    fresh[#fresh + 1] = key
  end
end
return fresh
"""


class RedisBatchStore:
    """A :class:`~lc_gemini_router.batches.stores.BatchStore` in a :class:`RedisStore`'s Redis."""

    def __init__(self, store: RedisStore) -> None:
        self.store = store
        self._claim = store.client.register_script(_CLAIM)

    def _key(self, job_id: str, *rest: str) -> str:
        return self.store.key("batch", check_job_id(job_id), *rest)

    def _run(self, what: str, call: Any) -> Any:
        try:
            return call()
        except _UNAVAILABLE as exc:
            reason = f"{what}: {type(exc).__name__}: {exc}"
            msg = f"redis unavailable ({reason}); the batch job's state was not kept"
            raise StoreUnavailableError(msg) from exc

    def save(self, record: BatchRecord) -> None:
        data = record.model_dump_json()
        self._run("save", lambda: self.store.client.set(self._key(record.id), data))

    def load(self, job_id: str) -> BatchRecord | None:
        data = self._run("load", lambda: self.store.client.get(self._key(job_id)))
        return None if data is None else BatchRecord.model_validate_json(data)

    def claim(self, job_id: str, keys: Sequence[str]) -> list[str]:
        if not keys:
            return []
        target = self._key(job_id, "collected")
        fresh = self._run("claim", lambda: self._claim([target], list(dict.fromkeys(keys))))
        return [k.decode() if isinstance(k, bytes) else str(k) for k in fresh]

    def collected(self, job_id: str) -> set[str]:
        target = self._key(job_id, "collected")
        members = self._run("collected", lambda: self.store.client.smembers(target))
        return {m.decode() if isinstance(m, bytes) else str(m) for m in members}

    def delete(self, job_id: str) -> None:
        keys = [self._key(job_id), self._key(job_id, "collected")]
        self._run("delete", lambda: self.store.client.delete(*keys))
