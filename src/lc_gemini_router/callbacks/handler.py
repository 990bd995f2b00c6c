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

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from os import PathLike
from typing import IO, Any
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, LLMResult

from lc_gemini_router.callbacks.context import attached
from lc_gemini_router.callbacks.ledger import CostLedger
from lc_gemini_router.callbacks.records import CallRecord, UsageTotals
from lc_gemini_router.errors import ConfigError
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
from lc_gemini_router.pricing.costs import image_sizes, price_quietly

__all__ = [
    "CallRecord",
    "GeminiCostCallbackHandler",
    "UsageTotals",
    "get_gemini_cost_callback",
]


DEFAULT_REFERENCE_MODEL = "gemini-3.1-pro-preview"


@dataclass
class _RunInfo:
    role: str
    service_tier: ServiceTier
    router_run_id: str | None = None


def _is_llm_cache_hit(response: LLMResult) -> bool:
    """LangChain's own cache answered: it marks the copy ``usage_metadata["total_cost"]=0``."""
    for generations in response.generations:
        for generation in generations:
            message = getattr(generation, "message", None)
            usage = getattr(message, "usage_metadata", None) or {}
            if "total_cost" in usage and usage["total_cost"] == 0:
                return True
    return False


class GeminiCostCallbackHandler(CostLedger, BaseCallbackHandler):
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
        if service_tier not in SERVICE_TIERS:
            msg = f"unknown service tier {service_tier!r}; expected one of {SERVICE_TIERS}"
            raise ConfigError(msg)
        BaseCallbackHandler.__init__(self)
        CostLedger.__init__(self, log=log)
        self.catalog = catalog or default_catalog()
        self.reference_model = reference_model
        self.service_tier: ServiceTier = service_tier
        self._runs: dict[UUID, _RunInfo] = {}

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
        with self._lock:
            info = self._runs.pop(run_id, None)
        if _is_llm_cache_hit(response):
            self._count_llm_cache_hit()
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
    try:
        with attached(handler):
            yield handler
    finally:
        handler.close()
