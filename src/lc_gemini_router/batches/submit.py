"""Routing, then batching: each input decided by the router's policy, grouped by model.

Every input is checked and sorted first (typed errors before any request), then routed
by the same rules and classifier as ``invoke`` (the classifier calls are synchronous,
standard-tier calls on the callback stream, cached like any), then turned into the
request its lane's model would send, and sent as one Gemini batch job per model.
Failed items are sent again the same way, from the stored record, by any process.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from langchain_core.messages import messages_from_dict, messages_to_dict

from lc_gemini_router.batches.budgets import check_fits
from lc_gemini_router.batches.gemini import (
    Prepared,
    acreate_job,
    batch_client,
    create_job,
    prepare,
)
from lc_gemini_router.batches.records import BatchItem, BatchPart, BatchRecord
from lc_gemini_router.batches.submission import Submission
from lc_gemini_router.callbacks.payloads import classifier_report
from lc_gemini_router.classify.classifier import ClassifierOutcome
from lc_gemini_router.engine import aresult_of, result_of
from lc_gemini_router.errors import BatchError, UnsupportedInputError
from lc_gemini_router.router.calls import Call
from lc_gemini_router.router.pipeline import route_flow
from lc_gemini_router.router.runs import standalone_parent
from lc_gemini_router.routing.policy import RouteDecision
from lc_gemini_router.routing.signatures import strip_foreign_signatures

if TYPE_CHECKING:
    from lc_gemini_router.router.chat_model import GeminiRouter

__all__ = [
    "Groups",
    "Submission",
    "acreate_parts",
    "asubmit",
    "create_parts",
    "requeue_groups",
    "submit",
]

MAX_REQUESTS_PER_JOB = 50_000
"""Gemini's limit on the requests of one batch job."""
ROUTING_CONCURRENCY = 16
"""Classifier calls in flight while a batch is routed (at most the classifier's
``max_in_flight``): batch work is not urgent, and a crowded client would push calls
past the classifier's deadline, deciding them by fallback instead of by score."""


def submit(router: GeminiRouter, request: Submission) -> BatchRecord:
    """Route every input, then create one Gemini job per model (blocking)."""
    calls, kwargs = _calls(router, request)
    parent = standalone_parent(request.config)
    workers = max(1, min(len(calls), _concurrency(router)))

    def route(call: Call) -> tuple[RouteDecision, ClassifierOutcome | None]:
        steps = route_flow(router, call, parent, is_async=False)
        return result_of(router.lane_set.drive(steps))  # type: ignore[no-any-return]

    with ThreadPoolExecutor(workers, thread_name_prefix="lcgr-batch-route") as pool:
        decided = list(pool.map(route, calls))
    record, groups = _plan(router, request, calls, decided, kwargs)
    check_fits(router, record.id, calls, [d for d, _ in decided], parent)
    try:
        create_parts(router, record, groups, request.inline_limit)
    except Exception as exc:
        raise _partly_created(router, record, exc) from exc
    return record


async def asubmit(router: GeminiRouter, request: Submission) -> BatchRecord:
    """:func:`submit` with awaits: classifier calls run concurrently on the event loop."""
    calls, kwargs = _calls(router, request)
    parent = standalone_parent(request.config)
    slots = asyncio.Semaphore(_concurrency(router))

    async def route(call: Call) -> tuple[RouteDecision, ClassifierOutcome | None]:
        async with slots:
            steps = route_flow(router, call, parent, is_async=True)
            return await aresult_of(router.lane_set.adrive(steps))  # type: ignore[no-any-return]

    decided = list(await asyncio.gather(*(route(call) for call in calls)))
    record, groups = _plan(router, request, calls, decided, kwargs)
    decisions = [d for d, _ in decided]
    await asyncio.to_thread(check_fits, router, record.id, calls, decisions, parent)
    try:
        await acreate_parts(router, record, groups, request.inline_limit)
    except Exception as exc:
        raise _partly_created(router, record, exc) from exc
    return record


def _partly_created(router: GeminiRouter, record: BatchRecord, error: Exception) -> Exception:
    """The error to raise when creating the jobs failed: with none created, ``error``
    itself; else a BatchError naming the job, stored with the Gemini jobs that exist
    (they run and bill, so they must stay collectable)."""
    if not record.parts:
        return error
    assert router.batch_store is not None  # set by the router's validator
    router.batch_store.save(record)
    made = len(record.parts)
    msg = (
        f"batch job {record.id!r}: creating its Gemini jobs failed after {made} of them "
        f"were created ({type(error).__name__}: {error}); it is stored with those: "
        f"router.batch_job({record.id!r}) collects them"
    )
    return BatchError(msg)


Groups = dict[tuple[str, int], tuple[str, list[Prepared]]]
"""Requests to send, by (model, attempt): the lane they were routed to, and each request."""


def create_parts(router: GeminiRouter, record: BatchRecord, groups: Groups, limit: int) -> None:
    """Create the Gemini jobs of ``groups`` and add them to ``record``'s parts."""
    for (model, attempt), (lane, prepared) in groups.items():
        client = batch_client(router.lane_set.for_model(lane, model), lane)
        for chunk in _chunks(prepared):
            title = _part_name(record, model, attempt)
            name, source = create_job(client, model, chunk, title, inline_limit=limit)
            record.parts.append(_part(name, model, chunk, attempt, source))


async def acreate_parts(
    router: GeminiRouter, record: BatchRecord, groups: Groups, limit: int
) -> None:
    """:func:`create_parts` through the async client."""
    for (model, attempt), (lane, prepared) in groups.items():
        client = batch_client(router.lane_set.for_model(lane, model), lane)
        for chunk in _chunks(prepared):
            title = _part_name(record, model, attempt)
            name, source = await acreate_job(client, model, chunk, title, inline_limit=limit)
            record.parts.append(_part(name, model, chunk, attempt, source))


def requeue_groups(router: GeminiRouter, record: BatchRecord) -> Groups:
    """The failed items of ``record`` to send again, rebuilt from their stored input.

    Marks the parts they came from as re-queued (the caller then creates the jobs).
    """
    groups: Groups = {}
    for part, keys in record.requeue_plan():
        part.requeued = True
        for key in keys:
            item = record.item(key)
            llm = router.lane_set.for_model(item.lane, item.model)
            messages = messages_from_dict(item.messages)
            call = router.prepare_call(messages, {**record.kwargs, "lane": item.lane})
            kwargs = call.kwargs_for(item.lane)
            prepared = prepare(llm, key, messages, kwargs)
            groups.setdefault((item.model, part.attempt + 1), (item.lane, []))[1].append(prepared)
    return groups


# -- the pure steps ----------------------------------------------------------------------


def _calls(router: GeminiRouter, request: Submission) -> tuple[list[Call], dict[str, Any]]:
    """Every input checked and sorted; the per-call arguments as they will be stored."""
    if not request.inputs:
        msg = "submit_batch() needs at least one input"
        raise UnsupportedInputError(msg)
    kwargs = dict(request.kwargs)
    try:
        json.dumps(kwargs)
    except (TypeError, ValueError) as exc:
        # The record must let another process send failed items again.
        msg = f"batch arguments must be JSON (tools as dicts, strings, numbers): {exc}"
        raise UnsupportedInputError(msg) from None
    calls = [
        router.prepare_call(router._convert_input(item).to_messages(), dict(kwargs))
        for item in request.inputs
    ]
    return calls, kwargs


def _plan(
    router: GeminiRouter,
    request: Submission,
    calls: Sequence[Call],
    decided: Sequence[tuple[RouteDecision, ClassifierOutcome | None]],
    kwargs: dict[str, Any],
) -> tuple[BatchRecord, Groups]:
    """The job's record and, per model, its lane and requests (no I/O)."""
    job_id = f"lcgr-{uuid.uuid4().hex}"
    items: list[BatchItem] = []
    groups: Groups = {}
    checked: set[str] = set()
    for index, (call, (decision, outcome)) in enumerate(zip(calls, decided, strict=True)):
        key = str(index)
        messages = strip_foreign_signatures(call.request.messages, decision.model)
        llm = router.lane_set.for_call(call.config, decision.lane)
        if decision.lane not in checked:  # a ConfigError before any job is created
            batch_client(llm, decision.lane)
            checked.add(decision.lane)
        report = classifier_report(outcome, router.config.classifier.model, router.catalog)
        items.append(
            BatchItem(
                key=key,
                messages=messages_to_dict(messages),
                lane=decision.lane,
                model=decision.model,
                decision=decision.model_dump(mode="json"),
                classifier=report,
            )
        )
        prepared = prepare(llm, key, messages, call.kwargs_for(decision.lane))
        groups.setdefault((decision.model, 0), (decision.lane, []))[1].append(prepared)
    record = BatchRecord(
        id=job_id,
        display_name=request.display_name or job_id,
        created=time.time(),
        items=items,
        max_requeues=request.max_requeues,
        kwargs=kwargs,
        inline_limit=request.inline_limit,
    )
    return record, groups


def _concurrency(router: GeminiRouter) -> int:
    return max(1, min(ROUTING_CONCURRENCY, router.config.classifier.max_in_flight))


def _chunks(prepared: list[Prepared]) -> Iterable[list[Prepared]]:
    for start in range(0, len(prepared), MAX_REQUESTS_PER_JOB):
        yield prepared[start : start + MAX_REQUESTS_PER_JOB]


def _part(name: str, model: str, chunk: list[Prepared], attempt: int, source: str) -> BatchPart:
    return BatchPart(
        name=name,
        model=model,
        keys=[p.key for p in chunk],
        attempt=attempt,
        source="file" if source == "file" else "inline",
    )


def _part_name(record: BatchRecord, model: str, attempt: int = 0) -> str:
    suffix = f" (retry {attempt})" if attempt else ""
    return f"{record.display_name} [{model}]{suffix}"
