"""The batch job handle: state, waiting with backoff, re-queues, results and their costs.

A :class:`BatchJob` is a view of a stored
:class:`~lc_gemini_router.batches.records.BatchRecord`; every method that learns
something from Gemini writes the record back, so another process (or a later one)
picks the job up with ``router.batch_job(job_id)``. Results are LangChain messages in
input order; each item is put on the callback stream once, when it is first
collected by any process (the store's ``claim``), as an answer run priced at the
batch tier of its model.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timezone
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from google.genai import types
from langchain_core.callbacks import CallbackManager
from langchain_core.messages import AIMessage, messages_from_dict
from langchain_core.outputs import ChatGeneration, LLMResult
from langchain_core.runnables import RunnableConfig

from lc_gemini_router.batches.budgets import charge
from lc_gemini_router.batches.gemini import (
    ItemOutcome,
    aoutcomes,
    batch_client,
    chat_result,
    outcomes,
    state_of,
)
from lc_gemini_router.batches.records import (
    BatchPart,
    BatchRecord,
    BatchState,
)
from lc_gemini_router.batches.stores import BatchStore
from lc_gemini_router.batches.submit import acreate_parts, create_parts, requeue_groups
from lc_gemini_router.callbacks.payloads import annotate
from lc_gemini_router.errors import BatchItemError, BatchNotReadyError, BatchTimeoutError
from lc_gemini_router.keys import (
    BATCH_METADATA_KEY,
    CALL_TIME_METADATA_KEY,
    COST_EVENT,
    ROUTER_METADATA_KEY,
    SERVICE_TIER_METADATA_KEY,
)
from lc_gemini_router.router.runs import Parent, child_callbacks, standalone_parent
from lc_gemini_router.routing.policy import RouteDecision

if TYPE_CHECKING:
    from lc_gemini_router.router.chat_model import GeminiRouter

__all__ = ["BatchJob", "BatchResult"]

BatchResult = AIMessage | BatchItemError
"""One item of ``results()``: the answer, or the error Gemini gave for that request."""

_RUN_IDS = uuid.UUID("1d7c3a52-5f0e-4d55-9a43-3f0d2c9b7e10")
"""Namespace of the items' run ids: one id per (job, key), in every process."""
_BACKOFF = 1.5
# Batch item errors are google.rpc.Status: gRPC codes, named here as Gemini names them.
_RPC_STATUS = dict(
    enumerate(
        [
            "OK",
            "CANCELLED",
            "UNKNOWN",
            "INVALID_ARGUMENT",
            "DEADLINE_EXCEEDED",
            "NOT_FOUND",
            "ALREADY_EXISTS",
            "PERMISSION_DENIED",
            "RESOURCE_EXHAUSTED",
            "FAILED_PRECONDITION",
            "ABORTED",
            "OUT_OF_RANGE",
            "UNIMPLEMENTED",
            "INTERNAL",
            "UNAVAILABLE",
            "DATA_LOSS",
            "UNAUTHENTICATED",
        ]
    )
)


class BatchJob:
    """A batch job of Gemini Batch API jobs (one per model and attempt), resumable anywhere.

    Made by ``router.submit_batch()`` or found again by ``router.batch_job(job_id)``.

    Attributes:
        id: the job's id (``lcgr-...``), the key of its record in the batch store.
        record: its persisted state (items, Gemini jobs, their states).
    """

    def __init__(self, router: GeminiRouter, record: BatchRecord, store: BatchStore) -> None:
        self._router = router
        self.record = record
        self._store = store
        self._outcomes: dict[str, dict[str, ItemOutcome]] = {}
        """Each final part's answers by key, once fetched (by Gemini job name)."""

    def __repr__(self) -> str:
        return f"BatchJob(id={self.id!r}, state={self.state.value}, items={len(self.record.items)})"

    @property
    def id(self) -> str:
        return self.record.id

    @property
    def display_name(self) -> str:
        return self.record.display_name

    @property
    def state(self) -> BatchState:
        """The state as last seen (``refresh()`` asks Gemini)."""
        return self.record.state

    @property
    def gemini_jobs(self) -> list[str]:
        """The names of the Gemini batch jobs behind this one (``batches/...``)."""
        return [part.name for part in self.record.parts]

    def progress(self) -> dict[str, int]:
        """How many items are in each state of their latest attempt (``failed``: errors)."""
        counts: Counter[str] = Counter()
        for part, failed in self.record.latest_attempts():
            if part is None:
                counts[BatchState.PENDING.value] += 1
            elif failed:
                counts["failed"] += 1
            else:
                counts[part.state.value] += 1
        return dict(counts)

    # -- asking Gemini ------------------------------------------------------------------

    def refresh(self) -> BatchState:
        """Ask Gemini for the state of every part not final yet; store what changed."""
        for part in self._open_parts():
            client = self._client(part)
            job = client.batches.get(name=part.name)
            if self._seen(part, job):
                self._keep(part, outcomes(client, job, part.keys))
        self._save()
        return self.state

    async def arefresh(self) -> BatchState:
        """:meth:`refresh` through the async client."""
        for part in self._open_parts():
            client = self._client(part)
            job = await client.aio.batches.get(name=part.name)
            if self._seen(part, job):
                self._keep(part, await aoutcomes(client, job, part.keys))
        await asyncio.to_thread(self._save)
        return self.state

    def requeue_failed(self) -> int:
        """Send failed items again (a new Gemini job per model), within ``max_requeues``.

        Returns how many items were sent. Gemini does not bill the failed attempts.
        """
        self._reload()  # what another handle re-queued is not sent again
        before = len(self.record.parts)
        groups = requeue_groups(self._router, self.record)
        try:
            create_parts(self._router, self.record, groups, self.record.inline_limit)
        finally:  # the jobs created before a failure are kept, to be collected
            self._save()
        return sum(len(part.keys) for part in self.record.parts[before:])

    async def arequeue_failed(self) -> int:
        """:meth:`requeue_failed` through the async client."""
        await asyncio.to_thread(self._reload)
        before = len(self.record.parts)
        groups = requeue_groups(self._router, self.record)
        try:
            await acreate_parts(self._router, self.record, groups, self.record.inline_limit)
        finally:
            await asyncio.to_thread(self._save)
        return sum(len(part.keys) for part in self.record.parts[before:])

    def cancel(self) -> BatchState:
        """Cancel every Gemini job not final yet (what already ran may still be billed)."""
        self.record.cancelled = True
        for part in self._open_parts():
            self._client(part).batches.cancel(name=part.name)
        return self.refresh()

    async def acancel(self) -> BatchState:
        """:meth:`cancel` through the async client."""
        self.record.cancelled = True
        for part in self._open_parts():
            await self._client(part).aio.batches.cancel(name=part.name)
        return await self.arefresh()

    # -- waiting ------------------------------------------------------------------------

    def wait(
        self,
        poll_every: float = 30.0,
        *,
        timeout: float | None = None,
        max_poll_every: float = 600.0,
        requeue: bool = True,
        config: RunnableConfig | None = None,
        sleep: Callable[[float], None] = time.sleep,
        on_poll: Callable[[BatchJob], None] | None = None,
    ) -> list[BatchResult]:
        """Poll until every part is final, re-queue failed items, then return ``results()``.

        Pauses start at ``poll_every`` seconds and grow 1.5x per poll up to
        ``max_poll_every`` (back to ``poll_every`` after a re-queue).

        Raises:
            BatchTimeoutError: ``timeout`` seconds of pauses passed first (the job
                goes on; wait again, or collect it later).
        """
        backoff = _Backoff(self.id, poll_every, max_poll_every, timeout)
        while True:
            state = self.refresh()
            if on_poll is not None:
                on_poll(self)
            if not state.done:
                sleep(backoff.pause(state))
            elif requeue and self.requeue_failed():
                backoff.restart()
            else:
                return self.results(config=config)

    async def await_results(
        self,
        poll_every: float = 30.0,
        *,
        timeout: float | None = None,
        max_poll_every: float = 600.0,
        requeue: bool = True,
        config: RunnableConfig | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        on_poll: Callable[[BatchJob], None] | None = None,
    ) -> list[BatchResult]:
        """:meth:`wait` for async code."""
        backoff = _Backoff(self.id, poll_every, max_poll_every, timeout)
        while True:
            state = await self.arefresh()
            if on_poll is not None:
                on_poll(self)
            if not state.done:
                await sleep(backoff.pause(state))
            elif requeue and await self.arequeue_failed():
                backoff.restart()
            else:
                return await self.aresults(config=config)

    # -- results ------------------------------------------------------------------------

    def results(self, *, config: RunnableConfig | None = None) -> list[BatchResult]:
        """Every item in input order: its answer, or a :class:`BatchItemError`.

        Items not collected before (by any process) are put on the callback stream of
        ``config`` (and of ``get_gemini_cost_callback()`` blocks), priced at the batch
        tier; collecting again returns the same answers and reports nothing twice.

        Raises:
            BatchNotReadyError: some part is not final yet (``refresh()`` first).
        """
        for part in self._parts_to_fetch():
            client = self._client(part)
            job = client.batches.get(name=part.name)
            self._keep(part, outcomes(client, job, part.keys))
        return self._collect(config)

    async def aresults(self, *, config: RunnableConfig | None = None) -> list[BatchResult]:
        """:meth:`results` through the async client."""
        for part in self._parts_to_fetch():
            client = self._client(part)
            job = await client.aio.batches.get(name=part.name)
            self._keep(part, await aoutcomes(client, job, part.keys))
        return await asyncio.to_thread(self._collect, config)

    def _parts_to_fetch(self) -> list[BatchPart]:
        state = self.state
        if not state.done:
            raise BatchNotReadyError(self.id, state.value)
        latest = {id(part) for part in self.record.latest_parts().values()}
        return [
            part
            for part in self.record.parts
            if id(part) in latest and part.state.has_results and part.name not in self._outcomes
        ]

    def _collect(self, config: RunnableConfig | None) -> list[BatchResult]:
        answers: dict[str, tuple[AIMessage, dict[str, Any], BatchPart]] = {}
        results: list[BatchResult] = []
        latest = self.record.latest_parts()
        for index, item in enumerate(self.record.items):
            part = latest.get(item.key)
            if part is None:  # its Gemini job could not be created
                results.append(_unsent(index, item.key))
                continue
            outcome = self._outcome(part, item.key)
            if outcome is None or outcome.response is None:
                results.append(_item_error(index, item.key, part, outcome))
                continue
            message, payload = self._message(item.key, part, outcome.response)
            answers[item.key] = (message, payload, part)
            results.append(message)
        fresh = self._store.claim(self.id, list(answers)) if answers else []
        if fresh:
            collected = {key: answers[key] for key in fresh}
            parent = standalone_parent(config)  # the caller's handlers and scope keys
            self._report(parent, collected)
            self._charge(parent, collected)
        return results

    def _charge(
        self,
        parent: Parent,
        answers: Mapping[str, tuple[AIMessage, dict[str, Any], BatchPart]],
    ) -> None:
        """Settle the budgets at each newly collected answer's exact cost."""
        router = self._router
        if not router.budgets:
            return
        costs: dict[str, Decimal] = {}
        for key, (message, _, _) in answers.items():
            total = (message.response_metadata[ROUTER_METADATA_KEY].get("cost") or {}).get(
                "total_cost"
            )
            if total is not None:  # an unknown price was warned about when priced
                costs[key] = Decimal(total)
        first = self.record.items[0]
        call = router.prepare_call(messages_from_dict(first.messages), dict(self.record.kwargs))
        charge(router, self.id, call, parent, costs)

    def _outcome(self, part: BatchPart, key: str) -> ItemOutcome | None:
        if not part.state.has_results:
            return None
        return self._outcomes.get(part.name, {}).get(key)

    def _message(
        self, key: str, part: BatchPart, response: types.GenerateContentResponse
    ) -> tuple[AIMessage, dict[str, Any]]:
        item = self.record.item(key)
        result = chat_result(response)
        decision = RouteDecision.model_validate(item.decision)
        router = self._router
        submitted = datetime.fromtimestamp(self.record.created, timezone.utc)
        payload = annotate(
            result, decision, item.classifier, router.catalog, service_tier="batch", at=submitted
        )
        message = result.generations[0].message
        message.response_metadata.setdefault("model_name", part.model)
        batch = {"job": self.id, "key": key, "attempt": part.attempt, "gemini_job": part.name}
        message.response_metadata[ROUTER_METADATA_KEY]["batch"] = batch
        payload["batch"] = batch
        assert isinstance(message, AIMessage)
        return message, payload

    def _report(
        self,
        base: Parent,
        answers: Mapping[str, tuple[AIMessage, dict[str, Any], BatchPart]],
    ) -> None:
        """Each newly collected answer as a chat-model run on the callback stream."""
        if not base.handlers:
            return
        for key, (message, payload, part) in answers.items():
            item = self.record.item(key)
            metadata = {
                **base.metadata,
                "ls_provider": "google_genai",
                "ls_model_name": part.model,
                "ls_model_type": "chat",
                SERVICE_TIER_METADATA_KEY: "batch",
                CALL_TIME_METADATA_KEY: self.record.created,
                BATCH_METADATA_KEY: {"job": self.id, "key": key, "gemini_job": part.name},
            }
            parent = Parent(None, base.handlers, base.tags, metadata)
            manager = child_callbacks(parent, CallbackManager)
            assert isinstance(manager, CallbackManager)
            run_id = uuid.uuid5(_RUN_IDS, f"{self.id}/{key}")
            (run,) = manager.on_chat_model_start(
                {"name": "GeminiRouter", "id": ["lc_gemini_router", "GeminiRouter"]},
                [messages_from_dict(item.messages)],
                run_id=run_id,
                name="GeminiRouter",
                invocation_params={"model": part.model, "service_tier": "batch"},
            )
            manager.on_custom_event(COST_EVENT, payload, run_id=run_id)
            run.on_llm_end(LLMResult(generations=[[ChatGeneration(message=message)]]))

    # -- internals ------------------------------------------------------------------------

    def _reload(self) -> None:
        stored = self._store.load(self.id)
        if stored is not None:
            self.record.merge(stored)

    def _save(self) -> None:
        """Store the record, with what other handles stored since merged in first."""
        self._reload()
        self._store.save(self.record)

    def _open_parts(self) -> list[BatchPart]:
        return [part for part in self.record.parts if not part.state.done]

    def _client(self, part: BatchPart) -> Any:
        lane = self.record.item(part.keys[0]).lane
        return batch_client(self._router.lane_set.for_model(lane, part.model), lane)

    def _seen(self, part: BatchPart, job: types.BatchJob) -> bool:
        """Take the job's state into ``part``; True when it is final with results."""
        part.state, part.error = state_of(job)
        return part.state.has_results

    def _keep(self, part: BatchPart, found: list[ItemOutcome]) -> None:
        """Keep a final part's answers; note which of its items failed."""
        self._outcomes[part.name] = {outcome.key: outcome for outcome in found}
        part.failed_keys = [o.key for o in found if o.response is None]


class _Backoff:
    """Pauses between polls: ``first`` seconds, 1.5x longer each time up to ``most``,
    until ``timeout`` seconds of pauses have passed (then BatchTimeoutError)."""

    def __init__(self, job_id: str, first: float, most: float, timeout: float | None) -> None:
        self.job_id, self.first, self.most, self.timeout = job_id, first, most, timeout
        self.waited, self.delay = 0.0, first

    def pause(self, state: BatchState) -> float:
        pause = self.delay
        if self.timeout is not None:
            if self.waited >= self.timeout:
                msg = (
                    f"batch job {self.job_id!r} is still {state.value} "
                    f"after {self.waited:g}s of waiting"
                )
                raise BatchTimeoutError(msg)
            pause = min(pause, self.timeout - self.waited)
        self.waited += pause
        self.delay = min(self.delay * _BACKOFF, self.most)
        return pause

    def restart(self) -> None:
        """New jobs were created (a re-queue): poll them soon again."""
        self.delay = self.first


def _unsent(index: int, key: str) -> BatchItemError:
    return BatchItemError(
        key=key,
        index=index,
        message="creating its Gemini batch job failed (see submit_batch's error)",
        attempts=0,
        job_state="NOT_CREATED",
    )


def _item_error(
    index: int, key: str, part: BatchPart, outcome: ItemOutcome | None
) -> BatchItemError:
    error = dict(outcome.error or {}) if outcome is not None else {}
    if outcome is None:
        error = {"message": part.error or f"the Gemini job {part.name} ended {part.state.value}"}
    code = error.get("code")
    code = code if isinstance(code, int) and not isinstance(code, bool) else None
    status = error.get("status") or _RPC_STATUS.get(code)  # type: ignore[arg-type]
    return BatchItemError(
        key=key,
        index=index,
        message=str(error.get("message") or "no message"),
        code=code,
        status=str(status) if status else None,
        attempts=part.attempt + 1,
        job_state=part.state.value,
    )
