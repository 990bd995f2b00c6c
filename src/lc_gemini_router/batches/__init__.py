"""The batch lane: non-urgent work through the Gemini Batch API, at half price.

``router.submit_batch(inputs)`` routes each input as ``invoke`` would, then sends one
Gemini batch job per model (:mod:`~lc_gemini_router.batches.submit`); the
:class:`BatchJob` it returns waits, re-queues failed items and collects the answers
as LangChain messages priced at the batch tier (:mod:`~lc_gemini_router.batches.job`).
Jobs are stored (:mod:`~lc_gemini_router.batches.stores`) so another process can
collect them; :mod:`~lc_gemini_router.batches.gemini` is the google-genai side.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lc_gemini_router.batches.records import BatchState
from lc_gemini_router.batches.stores import BatchStore, FileBatchStore, MemoryBatchStore

if TYPE_CHECKING:
    from lc_gemini_router.batches.job import BatchJob, BatchResult

__all__ = [
    "BatchJob",
    "BatchResult",
    "BatchState",
    "BatchStore",
    "FileBatchStore",
    "MemoryBatchStore",
]


def __getattr__(name: str) -> Any:
    # The job handle imports google-genai: loaded on first use.
    if name in ("BatchJob", "BatchResult"):
        from lc_gemini_router.batches import job

        return getattr(job, name)
    msg = f"module {__name__!r} has no attribute {name!r}"
    raise AttributeError(msg)
