"""What a batch job keeps between processes: its items, its Gemini jobs, their states.

A :class:`BatchRecord` is the whole of a job's state that is not in Gemini: each item's
input messages, routing decision and lane arguments (so failed items can be sent
again from any process), and the Gemini batch jobs ("parts", one per model and
attempt) with the keys each one carries. It is plain JSON, so any store can keep it.
Which items have been collected (and priced) is kept apart, as a set the store adds
to atomically (see :mod:`lc_gemini_router.batches.stores`).
"""

from __future__ import annotations

from enum import Enum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "INLINE_LIMIT_BYTES",
    "TERMINAL_STATES",
    "BatchItem",
    "BatchPart",
    "BatchRecord",
    "BatchState",
    "combined_state",
    "gemini_state",
]


INLINE_LIMIT_BYTES = 20 * 1024 * 1024
"""Gemini's limit on an inline batch request body; larger jobs go as a JSONL file."""


class BatchState(str, Enum):
    """A batch job's state: Gemini's job states, without their ``JOB_STATE_`` prefix."""

    QUEUED = "QUEUED"
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELLING = "CANCELLING"
    CANCELLED = "CANCELLED"
    EXPIRED = "EXPIRED"
    PARTIALLY_SUCCEEDED = "PARTIALLY_SUCCEEDED"
    PAUSED = "PAUSED"
    UPDATING = "UPDATING"

    @property
    def done(self) -> bool:
        """Whether the state is final: Gemini will not change it again."""
        return self in TERMINAL_STATES

    @property
    def has_results(self) -> bool:
        """Whether a job in this state has per-request results (answers or errors)."""
        return self in _WITH_RESULTS


TERMINAL_STATES = frozenset(
    {
        BatchState.SUCCEEDED,
        BatchState.FAILED,
        BatchState.CANCELLED,
        BatchState.EXPIRED,
        BatchState.PARTIALLY_SUCCEEDED,
    }
)
_WITH_RESULTS = frozenset({BatchState.SUCCEEDED, BatchState.PARTIALLY_SUCCEEDED})
"""States whose job has per-request results; read through ``BatchState.has_results``."""


def gemini_state(value: object) -> BatchState:
    """The state google-genai reports (``JOB_STATE_RUNNING``, ``BATCH_STATE_...``, an enum)."""
    text = str(getattr(value, "value", value) or "")
    for prefix in ("JOB_STATE_", "BATCH_STATE_"):
        text = text.removeprefix(prefix)
    try:
        return BatchState(text)
    except ValueError:
        # JOB_STATE_UNSPECIFIED, or a state newer than this library: not final.
        return BatchState.PENDING


class BatchItem(BaseModel):
    """One request of a batch job, as submitted."""

    model_config = ConfigDict(frozen=True)

    key: str
    """The request's key in Gemini's batch (``metadata.key`` / the JSONL line's key)."""
    messages: list[dict[str, Any]]
    """The input, as ``langchain_core.messages.messages_to_dict`` writes it."""
    lane: str
    model: str
    decision: dict[str, Any]
    """The :class:`~lc_gemini_router.RouteDecision`, dumped."""
    classifier: dict[str, Any] | None = None
    """The classifier report of the routing (its cost was reported when submitted)."""
    lane_kwargs: dict[str, Any] = Field(default_factory=dict)
    """Per-call lane arguments (tools, stop, generation settings), JSON-ready."""


class BatchPart(BaseModel):
    """One Gemini batch job: the items of one model, for one attempt."""

    name: str
    """Gemini's job name, ``batches/...``."""
    model: str
    keys: list[str]
    attempt: int = 0
    """0 for the first submission, 1 for the first re-queue of failed items, ..."""
    source: Literal["inline", "file"] = "inline"
    state: BatchState = BatchState.PENDING
    failed_keys: list[str] = Field(default_factory=list)
    """Keys Gemini answered with an error (known once the part is final)."""
    requeued: bool = False
    """Its failed items were sent again in a later part."""
    error: str | None = None
    """The job's own error, for a part that FAILED as a whole."""


class BatchRecord(BaseModel):
    """A batch job's persisted state."""

    id: str
    display_name: str
    created: float
    """UNIX time of the submission: the day whose batch rates apply."""
    items: list[BatchItem]
    """In input order."""
    parts: list[BatchPart] = Field(default_factory=list)
    max_requeues: int = 1
    """How many times failed items are sent again (Gemini does not bill them)."""
    kwargs: dict[str, Any] = Field(default_factory=dict)
    """The per-call arguments every item was submitted with (JSON-ready)."""
    inline_limit: int = INLINE_LIMIT_BYTES
    """Bytes up to which a Gemini job's requests go inline (else a JSONL file)."""
    cancelled: bool = False

    def item(self, key: str) -> BatchItem:
        """The item submitted under ``key`` (its index in the input)."""
        return self.items[int(key)]

    @property
    def state(self) -> BatchState:
        """The job's state, from the latest attempt of each item."""
        attempts = self.latest_attempts()
        parts = [part for part, _ in attempts]
        return combined_state(parts, items_failed=any(failed for _, failed in attempts))

    def latest_attempts(self) -> list[tuple[BatchPart | None, bool]]:
        """Per item, in input order: the part of its latest attempt (None: never sent)
        and whether Gemini failed it there."""
        latest = self.latest_parts()
        failed = {id(part): set(part.failed_keys) for part in self.parts}
        attempts: list[tuple[BatchPart | None, bool]] = []
        for item in self.items:
            part = latest.get(item.key)
            attempts.append((part, part is not None and item.key in failed[id(part)]))
        return attempts

    def latest_parts(self) -> dict[str, BatchPart]:
        """The part that carries each key's latest attempt (one pass over the parts)."""
        found: dict[str, BatchPart] = {}
        # Stable: of two parts with one attempt number, the later one wins.
        for part in sorted(self.parts, key=lambda p: p.attempt):
            for key in part.keys:
                found[key] = part
        return found

    def latest(self, key: str) -> BatchPart | None:
        """The part that carries ``key``'s latest attempt."""
        return self.latest_parts().get(key)

    def merge(self, stored: BatchRecord) -> None:
        """Take in what another handle stored for this job since this one was read: the
        Gemini jobs it created (re-queues), parts it saw final or re-queued, a cancel.

        Records are written whole: without this, a handle holding an older record would
        drop from the store the jobs another created since (they would run and bill
        unseen), and re-queue items already sent again.
        """
        ours = {part.name: part for part in self.parts}
        for theirs in stored.parts:
            part = ours.get(theirs.name)
            if part is None:
                self.parts.append(theirs.model_copy(deep=True))
                continue
            part.requeued = part.requeued or theirs.requeued
            if theirs.state.done and not part.state.done:
                part.state, part.error = theirs.state, theirs.error
                part.failed_keys = list(theirs.failed_keys)
        self.cancelled = self.cancelled or stored.cancelled

    def requeue_plan(self) -> list[tuple[BatchPart, list[str]]]:
        """Final parts with items to send again (re-queues not used up), and those keys.

        Items Gemini failed inside a succeeded job, and every item of a job that
        FAILED or EXPIRED as a whole (nothing of it ran, nothing was billed).
        """
        if self.cancelled:
            return []
        plan: list[tuple[BatchPart, list[str]]] = []
        for part in self.parts:
            if part.requeued or part.attempt >= self.max_requeues:
                continue
            if part.state.has_results:
                keys = list(part.failed_keys)
            elif part.state in (BatchState.FAILED, BatchState.EXPIRED):
                keys = list(part.keys)
            else:
                continue
            if keys:
                plan.append((part, keys))
        return plan


def combined_state(parts: list[BatchPart | None], *, items_failed: bool = False) -> BatchState:
    """One state for a job made of several Gemini jobs (the latest part of each item).

    ``items_failed``: some item's latest attempt is an error inside a succeeded part.
    """
    states = {part.state for part in parts if part is not None}
    if not states:
        return BatchState.PENDING
    pending = states - TERMINAL_STATES
    if pending:
        for state in (BatchState.RUNNING, BatchState.CANCELLING, BatchState.UPDATING):
            if state in pending:
                return state
        return BatchState.QUEUED if pending == {BatchState.QUEUED} else BatchState.PENDING
    if len(states) == 1:
        (state,) = states
        if state is BatchState.SUCCEEDED and items_failed:
            return BatchState.PARTIALLY_SUCCEEDED
        return state
    return BatchState.PARTIALLY_SUCCEEDED if states & _WITH_RESULTS else BatchState.FAILED
