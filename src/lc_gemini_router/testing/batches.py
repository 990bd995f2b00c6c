"""Gemini's Batch API as the simulator runs it: jobs, their states, and the clock they follow.

A job is created ``BATCH_STATE_PENDING`` (the create answer always says so, as Gemini's
does). From then on its state is a function of the simulator clock (:class:`ManualClock`,
moved only by :meth:`BatchJobs.advance`): RUNNING once ``pending_seconds`` have passed,
terminal ``running_seconds`` later, EXPIRED instead when that would be later than
``expire_after_seconds`` (48 h, Gemini's limit). Both durations default to 0, so a job is
done at its first read: a test that wants to see it pending or running sets them.

A job settles (takes the state the clock says) whenever it is read: ``GET``, list,
cancel, delete, :attr:`BatchJobs.jobs`, and every :meth:`BatchJobs.advance`. Its items run
only when it turns SUCCEEDED: each through the simulator's generateContent machinery
(``ItemRunner``), in input order; a job that is cancelled, fails or expires first runs
(and bills) nothing. An item that fails (an injected failure, a validation problem, a
broken input line) is that item's ``error`` (a ``google.rpc.Status``: canonical code and
message) while the job still SUCCEEDS, as on Gemini.

Outcomes can be scripted: :meth:`BatchJobs.end_next` makes the next job (for a model, or
any) end FAILED (with an ``error`` on the operation) or EXPIRED; :meth:`BatchJobs.fail_items`
fails the items with given keys. Gemini's Developer API has no PARTIALLY_SUCCEEDED state
(google-genai lists it for Vertex AI only), so neither does the simulator.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from lc_gemini_router.testing.batch_input import BatchItem, BatchSpec
from lc_gemini_router.testing.clock import ManualClock
from lc_gemini_router.testing.faults import ApiError, ModelQueues, error_body, rpc_status
from lc_gemini_router.testing.files import FileStore

__all__ = [
    "BATCH_STATES",
    "DEFAULT_EXPIRE_AFTER_SECONDS",
    "BatchCall",
    "BatchJobs",
    "ItemRunner",
    "SimBatch",
]

PENDING, RUNNING = "BATCH_STATE_PENDING", "BATCH_STATE_RUNNING"
SUCCEEDED, FAILED = "BATCH_STATE_SUCCEEDED", "BATCH_STATE_FAILED"
CANCELLED, EXPIRED = "BATCH_STATE_CANCELLED", "BATCH_STATE_EXPIRED"
BATCH_STATES = (PENDING, RUNNING, SUCCEEDED, FAILED, CANCELLED, EXPIRED)
"""The ``BatchState`` values, in lifecycle order."""
_TERMINAL = frozenset({SUCCEEDED, FAILED, CANCELLED, EXPIRED})
DEFAULT_EXPIRE_AFTER_SECONDS = 48 * 3600.0
_API = "type.googleapis.com/google.ai.generativelanguage.v1beta"
_DEFAULT_PAGE_SIZE, _MAX_PAGE_SIZE = 50, 1000
_FAILED_MESSAGE = "The batch job failed: an internal error has occurred."


@dataclass(frozen=True)
class BatchCall:
    """One item to answer: which job and model, the item, and a failure forced on it."""

    batch: str
    model: str
    api_version: str
    item: BatchItem
    failure: tuple[int, str | None] | None = None
    """An HTTP status and message to fail with (a broken line, or ``fail_items``)."""


ItemRunner = Callable[[BatchCall], tuple[int, dict[str, Any]]]
"""Answers one item: an HTTP status and the payload (a response, or an error body)."""


@dataclass(frozen=True)
class SimBatch:
    """A batch job as a test sees it (a snapshot).

    Attributes:
        name: ``batches/ID``.
        model: The model id, without ``models/``.
        state: A ``BATCH_STATE_*`` value.
        display_name: The job's ``displayName``, if any.
        keys: Item keys in input order (None for an inline item without ``metadata.key``).
        succeeded: Items answered with a response (0 until the job SUCCEEDED).
        failed: Items answered with an error.
        input_file: ``files/ID`` of the JSONL input, for file input.
        responses_file: ``files/ID`` of the JSONL results, once a file-input job SUCCEEDED.
        error: The operation's ``error`` (a ``google.rpc.Status``) of a FAILED job.
        created_at: Simulator clock seconds at creation.
        ended_at: Clock seconds of the terminal state, None before.
    """

    name: str
    model: str
    state: str
    display_name: str | None
    keys: tuple[str | None, ...]
    succeeded: int = 0
    failed: int = 0
    input_file: str | None = None
    responses_file: str | None = None
    error: dict[str, Any] | None = None
    created_at: float = 0.0
    ended_at: float | None = None

    @property
    def done(self) -> bool:
        """Whether the job is in a terminal state."""
        return self.state in _TERMINAL

    @property
    def request_count(self) -> int:
        return len(self.keys)


@dataclass
class _Job:
    name: str
    seq: int
    model: str
    api_version: str
    spec: BatchSpec
    created: float
    pending: float
    running: float
    expire_after: float
    outcome: str
    message: str | None
    state: str = PENDING
    updated: float = 0.0
    ended: float | None = None
    results: list[dict[str, Any]] | None = None
    responses_file: str | None = None
    error: dict[str, Any] | None = None
    finishing: bool = field(default=False, repr=False)


class BatchJobs:
    """The simulator's batch jobs (``sim.batches``): timing, scripted outcomes, snapshots.

    Attributes:
        pending_seconds: Clock seconds a new job stays PENDING (default 0).
        running_seconds: Clock seconds it then stays RUNNING (default 0).
        expire_after_seconds: A job not done this long after creation EXPIRES (48 h).

    The three are read when a job is created; changing them affects later jobs only.
    Thread-safe; item runs hold the job lock, so a responder may read ``sim.batches``.
    """

    def __init__(self, clock: ManualClock, files: FileStore, runner: ItemRunner) -> None:
        self._clock = clock
        self._files = files
        self._runner = runner
        self._lock = threading.RLock()
        self._jobs: dict[str, _Job] = {}
        self._seq = 0
        self._outcomes: ModelQueues[tuple[str, str | None]] = ModelQueues()
        self._item_failures: dict[str, tuple[int, str | None]] = {}
        self._timing = [0.0, 0.0, DEFAULT_EXPIRE_AFTER_SECONDS]

    # -- timing (read when a job is created) -------------------------------------------------

    @property
    def pending_seconds(self) -> float:
        return self._timing[0]

    @pending_seconds.setter
    def pending_seconds(self, seconds: float) -> None:
        self._timing[0] = _duration("pending_seconds", seconds)

    @property
    def running_seconds(self) -> float:
        return self._timing[1]

    @running_seconds.setter
    def running_seconds(self, seconds: float) -> None:
        self._timing[1] = _duration("running_seconds", seconds)

    @property
    def expire_after_seconds(self) -> float:
        return self._timing[2]

    @expire_after_seconds.setter
    def expire_after_seconds(self, seconds: float) -> None:
        self._timing[2] = _duration("expire_after_seconds", seconds)

    # -- what tests use ---------------------------------------------------------------------

    @property
    def now(self) -> float:
        """The simulator clock, in seconds since start."""
        return self._clock.now

    def advance(self, seconds: float) -> None:
        """Move the simulator clock (jobs and file lifetimes) and settle every job."""
        self._clock.advance(seconds)
        with self._lock:
            for job in list(self._jobs.values()):
                self._settle(job)

    @property
    def jobs(self) -> list[SimBatch]:
        """Snapshot of the jobs not deleted, oldest first (settled first)."""
        with self._lock:
            for job in list(self._jobs.values()):
                self._settle(job)
            return [self._snapshot(job) for job in self._jobs.values()]

    def job(self, name: str) -> SimBatch:
        """Snapshot of one job (``batches/ID`` or ``ID``); KeyError when there is none."""
        with self._lock:
            job = self._jobs.get(name.removeprefix("batches/"))
            if job is None:
                raise KeyError(name)
            self._settle(job)
            return self._snapshot(job)

    def end_next(
        self,
        state: str = "FAILED",
        *,
        model: str | None = None,
        count: int = 1,
        message: str | None = None,
    ) -> None:
        """Make the next ``count`` jobs created (for ``model``, or any) end ``state``.

        ``state`` is ``FAILED`` (the operation carries ``error`` with ``message``) or
        ``EXPIRED``; ``BATCH_STATE_*`` and ``JOB_STATE_*`` spellings work too. Such a job
        goes through PENDING and RUNNING as usual and runs none of its items.
        """
        short = state.upper().removeprefix("BATCH_STATE_").removeprefix("JOB_STATE_")
        if short not in {"FAILED", "EXPIRED"}:
            msg = f"end_next() scripts FAILED or EXPIRED, got {state!r}"
            raise ValueError(msg)
        if count < 1:
            msg = f"count must be >= 1, got {count}"
            raise ValueError(msg)
        self._outcomes.extend(model, [(f"BATCH_STATE_{short}", message)] * count)

    def fail_items(self, *keys: str, status: int = 500, message: str | None = None) -> None:
        """Fail the next item run with each of ``keys`` (an HTTP status, as ``fail_next``).

        The item's result is an ``error`` (canonical code of ``status``, and ``message``
        or Gemini's default text); each key fails once, in whichever job runs it first.
        """
        if not 400 <= status <= 599:
            msg = f"status must be an HTTP error code, got {status}"
            raise ValueError(msg)
        with self._lock:
            for key in keys:
                self._item_failures[key] = (status, message)

    def reset(self) -> None:
        """Forget jobs, scripted outcomes and item failures; default timing again."""
        with self._lock:
            self._jobs.clear()
            self._item_failures.clear()
            self._outcomes.clear()
            self._timing = [0.0, 0.0, DEFAULT_EXPIRE_AFTER_SECONDS]

    # -- what the server asks ---------------------------------------------------------------

    def create(self, model: str, api_version: str, spec: BatchSpec) -> dict[str, Any]:
        """Store a new job; its Operation (always PENDING: creation is not a read)."""
        timing = tuple(self._timing)
        outcome, message = self._outcomes.pop(model) or (SUCCEEDED, None)
        with self._lock:
            self._seq += 1
            job_id = self._fresh_id()
            now = self._clock.now
            job = _Job(
                name=f"batches/{job_id}",
                seq=self._seq,
                model=model,
                api_version=api_version,
                spec=spec,
                created=now,
                pending=timing[0],
                running=timing[1],
                expire_after=timing[2],
                outcome=outcome,
                message=message,
                updated=now,
            )
            self._jobs[job_id] = job
            return self._operation(job)

    def get(self, job_id: str) -> dict[str, Any]:
        with self._lock:
            job = self._find(job_id)
            self._settle(job)
            return self._operation(job)

    def list(self, page_size: str | None, page_token: str | None) -> dict[str, Any]:
        """A page of Operations, newest first, and the next page's token."""
        size = _page_size(page_size)
        after = _decode_token(page_token) if page_token else None
        with self._lock:
            for job in list(self._jobs.values()):
                self._settle(job)
            jobs = sorted(self._jobs.values(), key=lambda j: j.seq, reverse=True)
            if after is not None:
                jobs = [j for j in jobs if j.seq < after]
            page = jobs[:size]
            answer: dict[str, Any] = {}
            if page:
                answer["operations"] = [self._operation(job) for job in page]
            if len(jobs) > size:
                answer["nextPageToken"] = _encode_token(page[-1].seq)
            return answer

    def cancel(self, job_id: str) -> None:
        with self._lock:
            job = self._find(job_id)
            self._settle(job)
            if job.state in _TERMINAL:
                msg = f"Batch {job.name} is already {job.state} and cannot be cancelled."
                raise ApiError(400, msg, status_name="FAILED_PRECONDITION")
            now = self._clock.now
            job.state, job.updated, job.ended = CANCELLED, now, now

    def delete(self, job_id: str) -> None:
        with self._lock:
            job = self._find(job_id)
            self._settle(job)  # a job the clock says is done has run (and billed) first
            del self._jobs[job_id]

    # -- the state machine (lock held) ------------------------------------------------------

    def _find(self, job_id: str) -> _Job:
        job = self._jobs.get(job_id)
        if job is None:
            raise ApiError(404, "Requested entity was not found.")
        return job

    def _settle(self, job: _Job) -> None:
        if job.state in _TERMINAL or job.finishing:
            return
        age = self._clock.now - job.created
        done_after, outcome = job.pending + job.running, job.outcome
        if done_after > job.expire_after:
            done_after, outcome = job.expire_after, EXPIRED
        if age >= done_after:
            self._finish(job, outcome, job.created + done_after)
        elif age >= job.pending and job.state == PENDING:
            job.state, job.updated = RUNNING, job.created + job.pending

    def _finish(self, job: _Job, outcome: str, at: float) -> None:
        if outcome == SUCCEEDED:
            job.finishing = True
            try:
                results = [self._run(job, item) for item in job.spec.items]
            finally:
                job.finishing = False
            if job.state in _TERMINAL:  # cancelled by a responder while its items ran
                return
            job.results = results
            if job.spec.input_file is not None:
                pairs = zip(job.spec.items, results, strict=True)
                data = "".join(json.dumps(_result_line(*pair)) + "\n" for pair in pairs).encode()
                job.responses_file = self._files.add_generated(data).name
        elif outcome == FAILED:
            job.error = {"code": 13, "message": job.message or _FAILED_MESSAGE}
        job.state, job.updated, job.ended = outcome, at, at

    def _run(self, job: _Job, item: BatchItem) -> dict[str, Any]:
        failure: tuple[int, str | None] | None = None
        if item.problem is not None:
            failure = (400, item.problem)
        elif item.key is not None and item.key in self._item_failures:
            failure = self._item_failures.pop(item.key)
        status, payload = self._runner(
            BatchCall(job.name, job.model, job.api_version, item, failure)
        )
        if status == 200:
            return {"response": payload}
        return {"error": rpc_status(payload if "error" in payload else error_body(status))}

    # -- rendering (lock held) --------------------------------------------------------------

    def _operation(self, job: _Job) -> dict[str, Any]:
        stamp = self._clock.timestamp
        meta: dict[str, Any] = {"@type": f"{_API}.GenerateContentBatch", "name": job.name}
        meta["model"] = f"models/{job.model}"
        if job.spec.display_name is not None:
            meta["displayName"] = job.spec.display_name
        meta["inputConfig"] = job.spec.input_config
        meta["createTime"], meta["updateTime"] = stamp(job.created), stamp(job.updated)
        if job.ended is not None:
            meta["endTime"] = stamp(job.ended)
        meta["batchStats"] = self._stats(job)
        meta["state"] = job.state
        operation: dict[str, Any] = {"name": job.name, "metadata": meta}
        output = self._output(job)
        if output is not None:
            meta["output"] = output
        if job.state in _TERMINAL:
            operation["done"] = True
        if output is not None:
            operation["response"] = {"@type": f"{_API}.GenerateContentBatchOutput", **output}
        if job.error is not None:
            operation["error"] = job.error
        return operation

    def _output(self, job: _Job) -> dict[str, Any] | None:
        if job.results is None:
            return None
        if job.responses_file is not None:
            return {"responsesFile": job.responses_file}
        inlined = []
        for item, result in zip(job.spec.items, job.results, strict=True):
            entry = dict(result)
            if item.metadata is not None:
                entry["metadata"] = item.metadata
            inlined.append(entry)
        return {"inlinedResponses": {"inlinedResponses": inlined}}

    def _stats(self, job: _Job) -> dict[str, str]:
        total = len(job.spec.items)
        if job.results is not None:
            ok = sum(1 for r in job.results if "response" in r)
            return {
                "requestCount": str(total),
                "successfulRequestCount": str(ok),
                "failedRequestCount": str(total - ok),
                "pendingRequestCount": "0",
            }
        if job.state in _TERMINAL:  # ended without running anything
            return {"requestCount": str(total)}
        return {"requestCount": str(total), "pendingRequestCount": str(total)}

    def _snapshot(self, job: _Job) -> SimBatch:
        results = job.results or []
        ok = sum(1 for r in results if "response" in r)
        return SimBatch(
            name=job.name,
            model=job.model,
            state=job.state,
            display_name=job.spec.display_name,
            keys=tuple(item.key for item in job.spec.items),
            succeeded=ok,
            failed=len(results) - ok,
            input_file=job.spec.input_file,
            responses_file=job.responses_file,
            error=job.error,
            created_at=job.created,
            ended_at=job.ended,
        )

    def _fresh_id(self) -> str:
        while True:
            job_id = secrets.token_hex(8)
            if job_id not in self._jobs:
                return job_id


def _result_line(item: BatchItem, result: dict[str, Any]) -> dict[str, Any]:
    """One line of a responses file: ``{"key": K, "response": ...}`` or ``{..., "error": ...}``."""
    line: dict[str, Any] = {} if item.key is None else {"key": item.key}
    line.update(result)
    return line


def _duration(name: str, seconds: float) -> float:
    if not seconds >= 0:  # also refuses NaN
        msg = f"{name} must be >= 0 seconds, got {seconds!r}"
        raise ValueError(msg)
    return float(seconds)


def _page_size(raw: str | None) -> int:
    if raw is None or raw == "":
        return _DEFAULT_PAGE_SIZE
    if not raw.lstrip("-").isdigit() or int(raw) < 0:
        raise ApiError(400, f"* ListBatchesRequest.page_size: must be >= 0, got {raw!r}")
    return min(int(raw), _MAX_PAGE_SIZE) or _DEFAULT_PAGE_SIZE


def _encode_token(seq: int) -> str:
    return base64.urlsafe_b64encode(f"after:{seq}".encode()).decode()


def _decode_token(token: str) -> int:
    try:
        text = base64.urlsafe_b64decode(token.encode()).decode()
        prefix, _, number = text.partition(":")
        if prefix == "after" and number.isdigit():
            return int(number)
    except (ValueError, UnicodeDecodeError):
        pass
    raise ApiError(400, "Invalid page token.")
