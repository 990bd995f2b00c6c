"""Cost callbacks: the exact dollar cost of every Gemini call on LangChain's callback stream.

``GeminiCostCallbackHandler`` prices each chat-model run when it ends, from the
reply's ``usage_metadata`` and ``response_metadata["model_name"]``, and keeps running
totals by model and by role. ``get_gemini_cost_callback()`` attaches one to every
LangChain run inside a ``with`` block, like langchain-core's
``get_usage_metadata_callback()``.

Roles: a run whose metadata carries ``lc_gemini_router_role`` (or whose tags include
``lc_gemini_router:classifier``) is counted under that role; any other run is an
``"answer"``, except a decision model's run (``langchain_core.decisions``, priced
from its response's ``usage``), a ``"classifier"`` run unless marked otherwise. The
router marks its classifier calls this way, so reports can split classifier spend
from answer spend.

Example:
    >>> from langchain_google_genai import ChatGoogleGenerativeAI
    >>> from lc_gemini_router import get_gemini_cost_callback
    >>> llm = ChatGoogleGenerativeAI(model="gemini-3.1-flash-lite")  # doctest: +SKIP
    >>> with get_gemini_cost_callback() as cb:  # doctest: +SKIP
    ...     llm.invoke("Translate 'good morning' into French")
    ...     print(cb.total_cost, cb.by_model["gemini-3.1-flash-lite"].calls)
    0.0000345 1
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from os import PathLike
from typing import IO, Any
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, LLMResult

from lc_gemini_router.callbacks.context import attached, attached_everywhere
from lc_gemini_router.callbacks.ledger import CostLedger
from lc_gemini_router.callbacks.pricer import CallPricer, RunInfo
from lc_gemini_router.callbacks.records import CallRecord, UsageTotals
from lc_gemini_router.callbacks.replies import Reply, is_llm_cache_hit, read_reply
from lc_gemini_router.errors import ConfigError
from lc_gemini_router.keys import (
    CALL_TIME_METADATA_KEY,
    CLASSIFIER_TAG,
    ROLE_ANSWER,
    ROLE_CLASSIFIER,
    ROLE_METADATA_KEY,
    ROLE_SPECULATIVE,
    ROUTER_RUN_METADATA_KEY,
    SERVICE_TIER_METADATA_KEY,
    WASTED_EVENT,
)
from lc_gemini_router.pricing.catalog import (
    SERVICE_TIERS,
    PriceCatalog,
    ServiceTier,
    default_catalog,
)

__all__ = [
    "CallRecord",
    "GeminiCostCallbackHandler",
    "UsageTotals",
    "get_gemini_cost_callback",
]


DEFAULT_REFERENCE_MODEL = "gemini-3.1-pro-preview"


class GeminiCostCallbackHandler(CostLedger, BaseCallbackHandler):
    """Prices every chat-model run it sees and keeps totals by model and role.

    Thread-safe and exact under concurrency: totals are ``Decimal`` and updated
    under a lock. Memory grows with the number of models and roles, not of calls
    (per-run state lives only while the run is in flight). Pricing never raises:
    a call that cannot be priced (no price, bad usage, an unknown service tier, an
    error while pricing) is counted in ``unpriced_calls`` and warned about once.
    A run that fails or is cut off after Gemini reported usage is billed for it.

    Args:
        catalog: prices to apply; the packaged catalog by default.
        reference_model: the model every answer is also priced on, to show savings.
        service_tier: the tier runs are priced at unless their metadata says otherwise.
        log: a path or text stream; when given, one JSON line per finished call is
            written to it (see :class:`CallRecord`).
        free_tier: calls are made with a free-tier key: models that have a free tier
            cost $0 (``catalog.with_free_tier()``), and each record says so.
        free_search_queries: free Google Search queries left in this month's allowance
            (5,000 a month, shared by all models); they are used first and counted in
            ``free_search_queries``. Default: none assumed, every query is billed.
        clock: the time of a call (seconds since the epoch); calls are priced at the
            rates in force on its UTC day.

    Example:
        >>> from lc_gemini_router import GeminiCostCallbackHandler
        >>> handler = GeminiCostCallbackHandler()
        >>> handler.total_cost
        Decimal('0')
    """

    raise_error = False
    # Our work is a few additions under a lock: run it in the event loop rather
    # than paying for a thread-pool hop on every async call.
    run_inline = True

    def __init__(
        self,
        *,
        catalog: PriceCatalog | None = None,
        reference_model: str | None = DEFAULT_REFERENCE_MODEL,
        service_tier: ServiceTier = "standard",
        log: str | PathLike[str] | IO[str] | None = None,
        free_tier: bool = False,
        free_search_queries: int = 0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if service_tier not in SERVICE_TIERS:
            msg = f"unknown service tier {service_tier!r}; expected one of {SERVICE_TIERS}"
            raise ConfigError(msg)
        if free_search_queries < 0:
            msg = f"free_search_queries must be >= 0, got {free_search_queries}"
            raise ConfigError(msg)
        BaseCallbackHandler.__init__(self)
        CostLedger.__init__(self, log=log)
        catalog = catalog or default_catalog()
        self._pricer = CallPricer(
            catalog=catalog.with_free_tier() if free_tier and not catalog.free_tier else catalog,
            reference_model=reference_model,
            free_search_queries=free_search_queries,
            clock=clock,
            warn=self._warn_once,
        )
        self.service_tier: ServiceTier = service_tier
        self._clock = clock
        self._runs: dict[UUID, RunInfo] = {}

    @property
    def catalog(self) -> PriceCatalog:
        """The prices applied (a free-tier copy when ``free_tier=True``)."""
        return self._pricer.catalog

    @property
    def reference_model(self) -> str | None:
        """The model answers are also priced on, to show savings."""
        return self._pricer.reference_model

    @property
    def free_search_queries_left(self) -> int:
        """Free search queries of this month's allowance not used yet."""
        return self._pricer.free_search_queries_left

    # -- callback events ------------------------------------------------------------

    def on_chat_model_start(
        self,
        serialized: dict[str, Any],
        messages: list[list[BaseMessage]],
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        self._start(run_id, tags, metadata)

    def on_llm_start(
        self,
        serialized: dict[str, Any],
        prompts: list[str],
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        self._start(run_id, tags, metadata)

    def on_llm_end(
        self,
        response: LLMResult,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        if not self._first_delivery(run_id):
            return
        info = self._finish(run_id)
        if is_llm_cache_hit(response):
            self._count_llm_cache_hit()
            return
        self._count(response, run_id, parent_run_id, info, error=None)

    def on_llm_error(
        self,
        error: BaseException,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        # LangChain hands over what a stream delivered before it failed or was closed
        # (``response``): Gemini billed the usage it reported. No usage: nothing billed.
        info = self._finish(run_id)
        response = kwargs.get("response")
        if isinstance(response, LLMResult):
            self._count(response, run_id, parent_run_id, info, error=type(error).__name__)

    # Decision models (langchain_core.decisions) run as chains of type "llm" and report
    # usage on their response, not through on_llm_end: priced here, as classifier spend
    # unless their metadata names another role. Every other chain is skipped at once.

    def on_chain_start(
        self,
        serialized: dict[str, Any] | None,
        inputs: Any,
        *,
        run_id: UUID,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        run_type: str | None = None,
        **kwargs: Any,
    ) -> None:
        if run_type == "llm":
            self._start(run_id, tags, {ROLE_METADATA_KEY: ROLE_CLASSIFIER, **(metadata or {})})

    def on_chain_end(
        self, outputs: Any, *, run_id: UUID, parent_run_id: UUID | None = None, **kwargs: Any
    ) -> None:
        self._end_decision(outputs, run_id, parent_run_id)

    def on_chain_error(
        self,
        error: BaseException,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        # A reply that failed the schema was still billed: its error carries the usage.
        self._end_decision(error, run_id, parent_run_id)

    def _end_decision(self, source: Any, run_id: UUID, parent_run_id: UUID | None) -> None:
        if run_id not in self._runs:
            return
        usage, model = getattr(source, "usage", None), getattr(source, "model", None)
        if not usage or not isinstance(model, str):  # a cached answer: no call was made
            with self._lock:
                self._runs.pop(run_id, None)
            return
        message = AIMessage(
            content="", usage_metadata=usage, response_metadata={"model_name": model}
        )
        result = LLMResult(generations=[[ChatGeneration(message=message)]])
        self.on_llm_end(result, run_id=run_id, parent_run_id=parent_run_id)

    def on_custom_event(
        self,
        name: str,
        data: Any,
        *,
        run_id: UUID,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        # Cancelled speculative work is not a run of its own: the router reports
        # its usage in an event, and it is priced here like any call.
        if name != WASTED_EVENT or not isinstance(data, Mapping):
            return
        model = str(data.get("model") or "unknown")
        reply = Reply(data.get("usage"), model, [], 0, None)
        info = self._info(ROLE_SPECULATIVE, self.service_tier, None, model)
        decision = {"wasted": True, "estimated": bool(data.get("estimated"))}
        try:
            # An all-Pro setup would not have made this call: no reference cost.
            record = self._pricer.record(
                reply, run_id, None, info, decision=decision, reference=False
            )
        except Exception as exc:  # pricing must never break the user's run
            record = self._pricer.unpriced(reply, run_id, None, info, exc)
        self.add_record(record)

    # -- internals ------------------------------------------------------------------

    def _info(
        self,
        role: str,
        tier: str,
        router_run: str | None,
        model: str | None,
        started: float | None = None,
    ) -> RunInfo:
        """A run's facts; ``started`` (the call's time) defaults to now."""
        return RunInfo(role, tier, router_run, model, self._clock() if started is None else started)

    def _start(self, run_id: UUID, tags: list[str] | None, metadata: dict[str, Any] | None) -> None:
        meta = metadata or {}
        role = meta.get(ROLE_METADATA_KEY)
        if not isinstance(role, str):
            role = ROLE_CLASSIFIER if tags and CLASSIFIER_TAG in tags else ROLE_ANSWER
        tier = meta.get(SERVICE_TIER_METADATA_KEY, self.service_tier)
        router_run = meta.get(ROUTER_RUN_METADATA_KEY)
        model = meta.get("ls_model_name")
        called = meta.get(CALL_TIME_METADATA_KEY)  # a batch answer: made when submitted
        info = self._info(
            role,
            str(tier),
            router_run if isinstance(router_run, str) else None,
            model if isinstance(model, str) and model else None,
            float(called)
            if isinstance(called, (int, float)) and not isinstance(called, bool)
            else None,
        )
        with self._lock:
            self._runs.setdefault(run_id, info)

    def _finish(self, run_id: UUID) -> RunInfo:
        with self._lock:
            info = self._runs.pop(run_id, None)
        return info or self._info(ROLE_ANSWER, self.service_tier, None, None)

    def _count(
        self,
        response: LLMResult,
        run_id: UUID,
        parent_run_id: UUID | None,
        info: RunInfo,
        *,
        error: str | None,
    ) -> None:
        """Price a run's result and add it; a failure to price counts it as unpriced.

        A failed run (``error``) counts only when it reported usage, once.
        """
        reply: Reply | None = None
        try:
            reply = read_reply(response)
            if reply is None:
                return  # not a chat reply (a plain LLM's text): nothing of ours to price
            if error is not None and (not reply.usage or not self._first_delivery(run_id)):
                return
            decision = reply.decision
            record = self._pricer.record(reply, run_id, parent_run_id, info, decision, error=error)
        except Exception as exc:  # pricing must never break the user's run
            record = self._pricer.unpriced(reply, run_id, parent_run_id, info, exc, error=error)
        self.add_record(record)


@contextmanager
def get_gemini_cost_callback(
    *,
    catalog: PriceCatalog | None = None,
    reference_model: str | None = DEFAULT_REFERENCE_MODEL,
    service_tier: ServiceTier = "standard",
    log: str | PathLike[str] | IO[str] | None = None,
    free_tier: bool = False,
    free_search_queries: int = 0,
    process_wide: bool = False,
) -> Iterator[GeminiCostCallbackHandler]:
    """Price every LangChain chat-model call made inside the ``with`` block.

    Arguments are those of :class:`GeminiCostCallbackHandler`. Blocks nest: an
    outer handler also counts what inner blocks count, each with its own settings.
    The handler is detached when the block ends, even if it raises.

    The block covers the calls of its own context: the thread that opened it and the
    tasks and threads that copy its context (asyncio tasks, LangChain's ``batch`` and
    ``ContextThreadPoolExecutor``). A plain ``ThreadPoolExecutor`` thread starts with an
    empty context, and its calls are **not counted**. For those, pass the handler in
    ``config={"callbacks": [handler]}``, or open the block with ``process_wide=True``:
    the handler then counts every LangChain run in the process, from any thread, until
    the block ends.

    Example:
        >>> from lc_gemini_router import get_gemini_cost_callback
        >>> with get_gemini_cost_callback() as cb:
        ...     pass  # chain.invoke(...), agent.invoke(...), llm.stream(...)
        >>> cb.total_cost, cb.calls
        (Decimal('0'), 0)
    """
    handler = GeminiCostCallbackHandler(
        catalog=catalog,
        reference_model=reference_model,
        service_tier=service_tier,
        log=log,
        free_tier=free_tier,
        free_search_queries=free_search_queries,
    )
    try:
        with attached_everywhere(handler) if process_wide else attached(handler):
            yield handler
    finally:
        handler.close()
