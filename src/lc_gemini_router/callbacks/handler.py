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

import contextlib
import json
import threading
import time
import warnings
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from decimal import Decimal
from os import PathLike
from pathlib import Path
from typing import IO, Any
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, LLMResult
from langchain_core.tracers.context import register_configure_hook

from lc_gemini_router.errors import ConfigError, UnknownPriceWarning
from lc_gemini_router.keys import (
    CLASSIFIER_TAG,
    ROLE_ANSWER,
    ROLE_CLASSIFIER,
    ROLE_METADATA_KEY,
    ROLE_SPECULATIVE,
    ROUTER_METADATA_KEY,
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
from lc_gemini_router.pricing.costs import CostBreakdown, image_sizes, price_quietly

__all__ = [
    "CallRecord",
    "GeminiCostCallbackHandler",
    "UsageTotals",
    "get_gemini_cost_callback",
]


DEFAULT_REFERENCE_MODEL = "gemini-3.1-pro-preview"


@dataclass(frozen=True)
class UsageTotals:
    """Token and cost totals of a group of calls (one model, one role, or all)."""

    calls: int = 0
    unpriced_calls: int = 0
    """Calls whose cost is unknown (no price, no usage, or no model name)."""
    input_tokens: int = 0
    """All input tokens, cached included (as LangChain reports them)."""
    cached_tokens: int = 0
    output_tokens: int = 0
    """All output tokens, thinking included."""
    reasoning_tokens: int = 0
    images: int = 0
    cost: Decimal = Decimal(0)
    """USD of the priced calls."""
    reference_cost: Decimal = Decimal(0)
    """USD the priced calls would have cost on the reference model."""

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    @property
    def savings(self) -> Decimal:
        """``reference_cost - cost``: what routing saved against the reference model."""
        return self.reference_cost - self.cost

    def add(self, record: CallRecord) -> UsageTotals:
        """These totals with one more call counted."""
        priced = record.cost is not None
        return UsageTotals(
            calls=self.calls + 1,
            unpriced_calls=self.unpriced_calls + (0 if priced else 1),
            input_tokens=self.input_tokens + record.input_tokens,
            cached_tokens=self.cached_tokens + record.cached_tokens,
            output_tokens=self.output_tokens + record.output_tokens,
            reasoning_tokens=self.reasoning_tokens + record.reasoning_tokens,
            images=self.images + record.images,
            cost=self.cost + (record.cost.total if record.cost else 0),
            reference_cost=self.reference_cost + record.reference_total,
        )


@dataclass(frozen=True)
class CallRecord:
    """One finished chat-model run, priced. Written as a JSON line when logging is on."""

    run_id: str
    parent_run_id: str | None
    model: str
    role: str
    service_tier: ServiceTier
    input_tokens: int
    cached_tokens: int
    output_tokens: int
    reasoning_tokens: int
    images: int
    cost: CostBreakdown | None
    reference_cost: CostBreakdown | None
    decision: Mapping[str, Any] | None = None
    router_run_id: str | None = None
    """The router run this call belongs to: its own ID for a routed answer, the
    serving router's for its classifier call (None outside a router)."""
    timestamp: float = field(default_factory=time.time)

    @property
    def reference_total(self) -> Decimal:
        """Reference-model cost, counted only when the call itself is priced."""
        if self.cost is None or self.reference_cost is None:
            return Decimal(0)
        return self.reference_cost.total

    def to_json(self) -> str:
        """One JSON line; money as decimal strings."""
        data = {
            "ts": round(self.timestamp, 6),
            "run_id": self.run_id,
            "parent_run_id": self.parent_run_id,
            "model": self.model,
            "role": self.role,
            "service_tier": self.service_tier,
            "input_tokens": self.input_tokens,
            "cached_tokens": self.cached_tokens,
            "output_tokens": self.output_tokens,
            "reasoning_tokens": self.reasoning_tokens,
            "images": self.images,
            "cost": str(self.cost.total) if self.cost else None,
            "cost_breakdown": self.cost.to_dict() if self.cost else None,
            "reference_cost": str(self.reference_cost.total) if self.reference_cost else None,
            "decision": dict(self.decision) if self.decision else None,
            "router_run_id": self.router_run_id,
        }
        return json.dumps(data, default=str, separators=(",", ":"))


@dataclass
class _RunInfo:
    role: str
    service_tier: ServiceTier
    router_run_id: str | None = None


_FINISHED_KEPT = 1024
"""Finished run ids remembered to drop a second delivery (bounded: memory stays flat)."""


def _is_llm_cache_hit(response: LLMResult) -> bool:
    """LangChain's own cache answered: it marks the copy ``usage_metadata["total_cost"]=0``."""
    for generations in response.generations:
        for generation in generations:
            message = getattr(generation, "message", None)
            usage = getattr(message, "usage_metadata", None) or {}
            if "total_cost" in usage and usage["total_cost"] == 0:
                return True
    return False


class GeminiCostCallbackHandler(BaseCallbackHandler):
    """Prices every chat-model run it sees and keeps totals by model and role.

    Thread-safe and exact under concurrency: totals are ``Decimal`` and updated
    under a lock. Memory grows with the number of models and roles, not of calls
    (per-run state lives only while the run is in flight). Pricing never raises:
    a call that cannot be priced is counted in ``unpriced_calls`` and warned about
    once per model.

    Args:
        catalog: prices to apply; the packaged catalog by default.
        reference_model: the model every call is also priced on, to show savings.
        service_tier: the tier runs are priced at unless their metadata says otherwise.
        log: a path or text stream; when given, one JSON line per finished call is
            written to it (see :class:`CallRecord`).

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
    ) -> None:
        super().__init__()
        if service_tier not in SERVICE_TIERS:
            msg = f"unknown service tier {service_tier!r}; expected one of {SERVICE_TIERS}"
            raise ConfigError(msg)
        self.catalog = catalog or default_catalog()
        self.reference_model = reference_model
        self.service_tier: ServiceTier = service_tier
        self._lock = threading.Lock()
        self._runs: dict[UUID, _RunInfo] = {}
        # Runs already counted: the same handler attached twice (the context hook and
        # ``config["callbacks"]``) hears each end twice and must count it once.
        self._finished: OrderedDict[UUID, None] = OrderedDict()
        self._llm_cache_hits = 0
        self._totals = UsageTotals()
        self._by_model: dict[str, UsageTotals] = {}
        self._by_role: dict[str, UsageTotals] = {}
        self._decisions: dict[str, int] = {}
        self._warned: set[str] = set()
        self._log_owned = False
        self._log: IO[str] | None
        if log is None or hasattr(log, "write"):
            self._log = log  # type: ignore[assignment]
        else:
            self._log = Path(log).open("a", encoding="utf-8")  # noqa: SIM115 - closed in close()
            self._log_owned = True

    # -- results --------------------------------------------------------------------

    @property
    def totals(self) -> UsageTotals:
        """Totals over every call seen."""
        return self._totals

    @property
    def total_cost(self) -> Decimal:
        """USD of every priced call."""
        return self._totals.cost

    @property
    def reference_cost(self) -> Decimal:
        """USD the priced calls would have cost on ``reference_model``."""
        return self._totals.reference_cost

    @property
    def savings(self) -> Decimal:
        """``reference_cost - total_cost``."""
        return self._totals.savings

    @property
    def llm_cache_hits(self) -> int:
        """Answers LangChain's own LLM cache gave: no API call, not billed, not counted."""
        return self._llm_cache_hits

    @property
    def calls(self) -> int:
        return self._totals.calls

    @property
    def unpriced_calls(self) -> int:
        return self._totals.unpriced_calls

    @property
    def input_tokens(self) -> int:
        return self._totals.input_tokens

    @property
    def cached_tokens(self) -> int:
        return self._totals.cached_tokens

    @property
    def output_tokens(self) -> int:
        return self._totals.output_tokens

    @property
    def reasoning_tokens(self) -> int:
        return self._totals.reasoning_tokens

    @property
    def total_tokens(self) -> int:
        return self._totals.total_tokens

    @property
    def by_model(self) -> dict[str, UsageTotals]:
        """Totals per model ID (a snapshot)."""
        with self._lock:
            return dict(self._by_model)

    @property
    def by_role(self) -> dict[str, UsageTotals]:
        """Totals per role, ``"classifier"`` and ``"answer"`` among them (a snapshot)."""
        with self._lock:
            return dict(self._by_role)

    @property
    def decision_sources(self) -> dict[str, int]:
        """Routed answers counted by decision source (``rule``, ``classifier``, ``cache``...)."""
        with self._lock:
            return dict(self._decisions)

    @property
    def cache_hit_rate(self) -> float | None:
        """Share of classifier scores served by the decision cache (None before any)."""
        sources = self.decision_sources
        looked_up = sources.get("cache", 0) + sources.get("classifier", 0)
        return sources.get("cache", 0) / looked_up if looked_up else None

    @property
    def classifier_calls_avoided(self) -> float | None:
        """Share of routed answers decided without a classifier call (None before any)."""
        sources = self.decision_sources
        total = sum(sources.values())
        free = sum(sources.get(s, 0) for s in ("rule", "cache", "sticky", "override"))
        return free / total if total else None

    def __repr__(self) -> str:
        t = self._totals
        return (
            f"GeminiCostCallbackHandler(calls={t.calls}, total_cost={t.cost}, "
            f"reference_cost={t.reference_cost}, unpriced_calls={t.unpriced_calls})"
        )

    def close(self) -> None:
        """Close the JSON-lines log if this handler opened it."""
        if self._log_owned and self._log is not None:
            self._log.close()
            self._log = None

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
        with self._lock:
            if run_id in self._finished:
                return
            self._finished[run_id] = None
            if len(self._finished) > _FINISHED_KEPT:
                self._finished.popitem(last=False)
            info = self._runs.pop(run_id, None)
        if _is_llm_cache_hit(response):
            with self._lock:
                self._llm_cache_hits += 1
            return
        try:
            record = self._price(response, run_id, parent_run_id, info)
        except Exception as exc:  # pricing must never break the user's run
            record = None
            self._warn_once(f"error:{type(exc).__name__}", f"could not price run {run_id}: {exc}")
        if record is not None:
            self.add_record(record)

    def on_llm_error(
        self,
        error: BaseException,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        # A failed run returns no usage: forget it, count nothing.
        with self._lock:
            self._runs.pop(run_id, None)

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
        try:
            record = self._wasted_record(data, run_id)
        except Exception as exc:  # pricing must never break the user's run
            self._warn_once(f"error:{type(exc).__name__}", f"could not price wasted work: {exc}")
            return
        self.add_record(record)

    # -- internals ------------------------------------------------------------------

    def _wasted_record(self, data: Mapping[str, Any], run_id: UUID) -> CallRecord:
        model = str(data.get("model") or "unknown")
        usage: Mapping[str, Any] = data.get("usage") or {}
        cost, problems = price_quietly(
            model, usage, catalog=self.catalog, service_tier=self.service_tier
        )
        for category, text in problems:
            self._warn_once(text, text, category)
        return CallRecord(
            run_id=str(run_id),
            parent_run_id=None,
            model=cost.model if cost else model,
            role=ROLE_SPECULATIVE,
            service_tier=self.service_tier,
            input_tokens=int(usage.get("input_tokens") or 0),
            cached_tokens=int((usage.get("input_token_details") or {}).get("cache_read") or 0),
            output_tokens=int(usage.get("output_tokens") or 0),
            reasoning_tokens=int((usage.get("output_token_details") or {}).get("reasoning") or 0),
            images=0,
            cost=cost,
            reference_cost=None,  # an all-Pro setup would not have made this call
            decision={"wasted": True, "estimated": bool(data.get("estimated"))},
        )

    def _start(self, run_id: UUID, tags: list[str] | None, metadata: dict[str, Any] | None) -> None:
        meta = metadata or {}
        role = meta.get(ROLE_METADATA_KEY)
        if not isinstance(role, str):
            role = ROLE_CLASSIFIER if tags and CLASSIFIER_TAG in tags else ROLE_ANSWER
        tier = meta.get(SERVICE_TIER_METADATA_KEY, self.service_tier)
        if tier not in SERVICE_TIERS:
            tier = self.service_tier
        router_run = meta.get(ROUTER_RUN_METADATA_KEY)
        info = _RunInfo(role, tier, router_run if isinstance(router_run, str) else None)
        with self._lock:
            self._runs.setdefault(run_id, info)

    def _price(
        self,
        response: LLMResult,
        run_id: UUID,
        parent_run_id: UUID | None,
        info: _RunInfo | None,
    ) -> CallRecord | None:
        try:
            generation = response.generations[0][0]
        except IndexError:
            return None
        message = generation.message if isinstance(generation, ChatGeneration) else None
        if not isinstance(message, AIMessage):
            return None
        info = info or _RunInfo(role=ROLE_ANSWER, service_tier=self.service_tier)
        usage = message.usage_metadata
        model = message.response_metadata.get("model_name") or (response.llm_output or {}).get(
            "model_name"
        )
        router_meta = message.response_metadata.get(ROUTER_METADATA_KEY)
        decision = router_meta.get("decision") if isinstance(router_meta, Mapping) else None
        images = image_sizes(message)
        cost = reference = None
        if not usage or not isinstance(model, str):
            self._warn_once(
                f"nousage:{model}",
                f"a {model or 'model'} reply carried no usage_metadata or model_name: "
                "its cost is unknown (None), not $0",
            )
        else:
            cost, problems = price_quietly(
                model, usage, catalog=self.catalog, service_tier=info.service_tier, images=images
            )
            for category, text in problems:
                self._warn_once(text, text, category)
            # An all-Pro setup would make the answer calls only: no classifier.
            if (
                self.reference_model
                and cost is not None
                and not images
                and info.role == ROLE_ANSWER
            ):
                reference, _ = price_quietly(
                    self.reference_model,
                    usage,
                    catalog=self.catalog,
                    service_tier=info.service_tier,
                )
        usage_map: Mapping[str, Any] = usage or {}
        return CallRecord(
            run_id=str(run_id),
            parent_run_id=str(parent_run_id) if parent_run_id else None,
            model=cost.model if cost else (model if isinstance(model, str) else "unknown"),
            role=info.role,
            service_tier=info.service_tier,
            input_tokens=int(usage_map.get("input_tokens") or 0),
            cached_tokens=int((usage_map.get("input_token_details") or {}).get("cache_read") or 0),
            output_tokens=int(usage_map.get("output_tokens") or 0),
            reasoning_tokens=int(
                (usage_map.get("output_token_details") or {}).get("reasoning") or 0
            ),
            images=len(images),
            cost=cost,
            reference_cost=reference,
            decision=decision if isinstance(decision, Mapping) else None,
            router_run_id=info.router_run_id or (str(run_id) if decision else None),
        )

    def add_record(self, record: CallRecord) -> None:
        """Count one priced call (the handler calls this itself for every run it sees).

        Public so that code that prices calls outside LangChain runs (a batch job's
        results, say) can add them to the same totals.
        """
        with self._lock:
            self._totals = self._totals.add(record)
            self._by_model[record.model] = self._by_model.get(record.model, UsageTotals()).add(
                record
            )
            self._by_role[record.role] = self._by_role.get(record.role, UsageTotals()).add(record)
            source = record.decision.get("source") if record.decision else None
            if isinstance(source, str):
                self._decisions[source] = self._decisions.get(source, 0) + 1
            if self._log is not None:
                self._log.write(record.to_json() + "\n")
                self._log.flush()

    def _warn_once(
        self, key: str, message: str, category: type[Warning] = UnknownPriceWarning
    ) -> None:
        with self._lock:
            if key in self._warned:
                return
            self._warned.add(key)
        # A filter set to "error" turns the warning into an exception: it must not
        # break the user's run.
        with contextlib.suppress(Warning):
            warnings.warn(message, category, stacklevel=2)


class _ActiveHandlers(BaseCallbackHandler):
    """Fans LangChain's callbacks out to every handler of the enclosing ``with`` blocks.

    One configure hook serves any nesting depth, and each handler prices the calls
    itself, with its own catalog, tier and reference model.
    """

    raise_error = False
    run_inline = True

    def __init__(self, handlers: tuple[GeminiCostCallbackHandler, ...]) -> None:
        super().__init__()
        self.handlers = handlers

    def on_chat_model_start(self, *args: Any, **kwargs: Any) -> None:
        for handler in self.handlers:
            handler.on_chat_model_start(*args, **kwargs)

    def on_llm_start(self, *args: Any, **kwargs: Any) -> None:
        for handler in self.handlers:
            handler.on_llm_start(*args, **kwargs)

    def on_llm_end(self, *args: Any, **kwargs: Any) -> None:
        for handler in self.handlers:
            handler.on_llm_end(*args, **kwargs)

    def on_llm_error(self, *args: Any, **kwargs: Any) -> None:
        for handler in self.handlers:
            handler.on_llm_error(*args, **kwargs)

    def on_custom_event(self, *args: Any, **kwargs: Any) -> None:
        for handler in self.handlers:
            handler.on_custom_event(*args, **kwargs)

    def on_chain_start(self, *args: Any, **kwargs: Any) -> None:
        for handler in self.handlers:
            handler.on_chain_start(*args, **kwargs)

    def on_chain_end(self, *args: Any, **kwargs: Any) -> None:
        for handler in self.handlers:
            handler.on_chain_end(*args, **kwargs)

    def on_chain_error(self, *args: Any, **kwargs: Any) -> None:
        for handler in self.handlers:
            handler.on_chain_error(*args, **kwargs)


_active_handlers: ContextVar[_ActiveHandlers | None] = ContextVar(
    "lc_gemini_router_cost_callbacks", default=None
)
register_configure_hook(_active_handlers, inheritable=True)


@contextmanager
def get_gemini_cost_callback(
    *,
    catalog: PriceCatalog | None = None,
    reference_model: str | None = DEFAULT_REFERENCE_MODEL,
    service_tier: ServiceTier = "standard",
    log: str | PathLike[str] | IO[str] | None = None,
) -> Iterator[GeminiCostCallbackHandler]:
    """Price every LangChain chat-model call made inside the ``with`` block.

    Arguments are those of :class:`GeminiCostCallbackHandler`. Blocks nest: an
    outer handler also counts what inner blocks count, each with its own settings.
    The handler is detached when the block ends, even if it raises.

    Example:
        >>> from lc_gemini_router import get_gemini_cost_callback
        >>> with get_gemini_cost_callback() as cb:
        ...     pass  # chain.invoke(...), agent.invoke(...), llm.stream(...)
        >>> cb.total_cost, cb.calls
        (Decimal('0'), 0)
    """
    handler = GeminiCostCallbackHandler(
        catalog=catalog, reference_model=reference_model, service_tier=service_tier, log=log
    )
    outer = _active_handlers.get()
    token = _active_handlers.set(_ActiveHandlers((*(outer.handlers if outer else ()), handler)))
    try:
        yield handler
    finally:
        _active_handlers.reset(token)
        handler.close()
