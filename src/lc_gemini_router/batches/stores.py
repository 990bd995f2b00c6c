"""Where batch jobs are kept, so one process submits and another collects.

A :class:`BatchStore` keeps each job's :class:`~lc_gemini_router.batches.records.BatchRecord`
and, apart from it, the set of item keys already collected. ``claim`` adds to that set
atomically and returns only the keys that were not in it: the one step that must
never happen twice, since a collected item is priced on the callback stream. Records
are written whole (last writer wins): let one process drive a job's waiting and
re-queues; any number may read and collect it.

Three stores: :class:`MemoryBatchStore` (this process), :class:`FileBatchStore` (a
directory on a disk the processes share) and the Redis one a
:class:`~lc_gemini_router.RedisStore` makes (``store.batch_store()``).
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Protocol, runtime_checkable

from lc_gemini_router.batches.records import BatchRecord
from lc_gemini_router.errors import ConfigError

__all__ = ["BatchStore", "FileBatchStore", "MemoryBatchStore", "check_job_id"]

_JOB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


def check_job_id(job_id: str) -> str:
    """``job_id`` if it is one this package could have made (it names files and keys)."""
    if not isinstance(job_id, str) or not _JOB_ID.match(job_id):
        msg = f"not a batch job id: {job_id!r} (expected letters, digits, '.', '_' or '-')"
        raise ConfigError(msg)
    return job_id


@runtime_checkable
class BatchStore(Protocol):
    """Keeps batch job records and, for each job, the keys already collected."""

    def save(self, record: BatchRecord) -> None:
        """Write ``record`` whole, replacing any earlier version."""

    def load(self, job_id: str) -> BatchRecord | None:
        """The record of ``job_id``, or None when this store never saw it."""

    def claim(self, job_id: str, keys: Sequence[str]) -> list[str]:
        """Mark ``keys`` collected; return those no earlier claim had (atomically)."""

    def collected(self, job_id: str) -> set[str]:
        """The keys collected so far."""

    def delete(self, job_id: str) -> None:
        """Forget the job (its record and its collected keys)."""


class MemoryBatchStore:
    """A :class:`BatchStore` in this process's memory (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: dict[str, str] = {}
        self._collected: dict[str, set[str]] = {}

    def save(self, record: BatchRecord) -> None:
        data = record.model_dump_json()  # a copy: later changes to ``record`` stay local
        with self._lock:
            self._records[check_job_id(record.id)] = data

    def load(self, job_id: str) -> BatchRecord | None:
        with self._lock:
            data = self._records.get(check_job_id(job_id))
        return None if data is None else BatchRecord.model_validate_json(data)

    def claim(self, job_id: str, keys: Sequence[str]) -> list[str]:
        with self._lock:
            seen = self._collected.setdefault(check_job_id(job_id), set())
            fresh = [key for key in dict.fromkeys(keys) if key not in seen]
            seen.update(fresh)
        return fresh

    def collected(self, job_id: str) -> set[str]:
        with self._lock:
            return set(self._collected.get(check_job_id(job_id), ()))

    def delete(self, job_id: str) -> None:
        with self._lock:
            self._records.pop(check_job_id(job_id), None)
            self._collected.pop(job_id, None)


class FileBatchStore:
    """A :class:`BatchStore` in a directory: ``ID.json`` and ``ID.collected`` per job.

    Records are replaced atomically (written aside, then renamed); claims append to
    the collected file under an exclusive ``flock``, so processes on one machine (or
    on a file system with working POSIX locks) never collect an item twice.
    """

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)

    def _path(self, job_id: str, suffix: str) -> Path:
        return self.directory / f"{check_job_id(job_id)}{suffix}"

    def save(self, record: BatchRecord) -> None:
        target = self._path(record.id, ".json")
        fd, temp = tempfile.mkstemp(dir=self.directory, prefix=".", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(record.model_dump_json())
            os.replace(temp, target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temp)
            raise

    def load(self, job_id: str) -> BatchRecord | None:
        try:
            data = self._path(job_id, ".json").read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        return BatchRecord.model_validate_json(data)

    def claim(self, job_id: str, keys: Sequence[str]) -> list[str]:
        with self._locked(job_id) as handle:
            handle.seek(0)
            seen = set(handle.read().split())
            fresh = [key for key in dict.fromkeys(keys) if key not in seen]
            if fresh:
                handle.seek(0, os.SEEK_END)
                handle.write("".join(f"{key}\n" for key in fresh))
                handle.flush()
                os.fsync(handle.fileno())
        return fresh

    def collected(self, job_id: str) -> set[str]:
        try:
            return set(self._path(job_id, ".collected").read_text(encoding="utf-8").split())
        except FileNotFoundError:
            return set()

    def delete(self, job_id: str) -> None:
        for suffix in (".json", ".collected"):
            with contextlib.suppress(FileNotFoundError):
                self._path(job_id, suffix).unlink()

    @contextlib.contextmanager
    def _locked(self, job_id: str) -> Iterator[IO[str]]:
        import fcntl  # POSIX only: imported here so the module loads everywhere

        path = self._path(job_id, ".collected")
        with path.open("a+", encoding="utf-8") as handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                yield handle
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
