"""lc-gemini-router: route LangChain calls between Gemini Flash-Lite and Pro, priced exactly.

What users write is re-exported here; everything else stays importable from its
module (``lc_gemini_router.routing.policy``, ``lc_gemini_router.keys``, ...)::

    routing/    the pure policy, text rules, signature hygiene, threshold replay
    classify/   the Flash-Lite classifier: GeminiDecisionModel, its bounded JSON input
    agents/     GeminiRoutingMiddleware for create_agent (the [agents] extra)
    batches/    the batch lane: routed work through the Gemini Batch API at batch rates
    engine.py   the one pipeline's effects and its blocking and async drivers
    router/     GeminiRouter, the chat model over that pipeline, and its steps
    lanes/      speculative starts;  state.py  score cache, breaker, ledger (protocols)
    budgets/    spend limits: worst-case holds before each call, exact settlement
    stores/     where state lives: this process, or a Redis shared by many
    pricing/    dated prices and the exact cost engine
    callbacks/  the cost handler and the router's metadata payloads
    testing/    the loopback Gemini simulator
    tools/      the command line, demo, doctor, evaluation, calibration, reports
"""

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lc_gemini_router.agents import GeminiRoutingMiddleware
    from lc_gemini_router.batches.job import BatchJob
    from lc_gemini_router.batches.records import BatchState
    from lc_gemini_router.batches.stores import BatchStore, FileBatchStore, MemoryBatchStore
    from lc_gemini_router.budgets.spec import Budget
    from lc_gemini_router.budgets.status import BudgetStatus
    from lc_gemini_router.callbacks.handler import (
        GeminiCostCallbackHandler,
        get_gemini_cost_callback,
    )
    from lc_gemini_router.callbacks.records import CallRecord, UsageTotals
    from lc_gemini_router.classify.decision_model import GeminiDecisionModel
    from lc_gemini_router.config import ClassifierSettings, LaneSpec, RouterConfig
    from lc_gemini_router.errors import (
        ApiVersionWarning,
        BatchError,
        BatchItemError,
        BatchNotReadyError,
        BatchTimeoutError,
        BudgetExceededError,
        ClassifierError,
        ConfigError,
        GeminiRouterError,
        GeminiRouterWarning,
        LaneError,
        ModelLifecycleWarning,
        RetiredModelError,
        StoreUnavailableError,
        StoreUnavailableWarning,
        UnknownBatchJobError,
        UnknownLaneError,
        UnknownPriceWarning,
        UnsupportedInputError,
        UnverifiedPriceWarning,
    )
    from lc_gemini_router.keys import COST_EVENT, DECISION_EVENT, WASTED_EVENT
    from lc_gemini_router.pricing.caching import price_cache_storage
    from lc_gemini_router.pricing.catalog import PriceCatalog, default_catalog, load_catalog
    from lc_gemini_router.pricing.costs import CostBreakdown, price_message, price_usage
    from lc_gemini_router.router import GeminiRouter
    from lc_gemini_router.routing.policy import ClassifierScore, RouteDecision
    from lc_gemini_router.state import (
        Breaker,
        BudgetLedger,
        CircuitBreaker,
        ScoreCache,
        ScoreStore,
        StateStore,
    )
    from lc_gemini_router.stores.memory import MemoryStore
    from lc_gemini_router.stores.redis import RedisStore

# Names load on first use (PEP 562): importing the package, or a pure module such as
# ``routing.policy``, must not import the cost handler, whose import registers
# LangChain's configure hook.
_LAZY: dict[str, str] = {
    "ApiVersionWarning": "lc_gemini_router.errors",
    "BatchError": "lc_gemini_router.errors",
    "BatchItemError": "lc_gemini_router.errors",
    "BatchJob": "lc_gemini_router.batches.job",
    "BatchNotReadyError": "lc_gemini_router.errors",
    "BatchState": "lc_gemini_router.batches.records",
    "BatchStore": "lc_gemini_router.batches.stores",
    "BatchTimeoutError": "lc_gemini_router.errors",
    "Breaker": "lc_gemini_router.state",
    "Budget": "lc_gemini_router.budgets.spec",
    "BudgetExceededError": "lc_gemini_router.errors",
    "BudgetLedger": "lc_gemini_router.state",
    "BudgetStatus": "lc_gemini_router.budgets.status",
    "COST_EVENT": "lc_gemini_router.keys",
    "CallRecord": "lc_gemini_router.callbacks.records",
    "CircuitBreaker": "lc_gemini_router.state",
    "ClassifierError": "lc_gemini_router.errors",
    "ClassifierScore": "lc_gemini_router.routing.policy",
    "ClassifierSettings": "lc_gemini_router.config",
    "ConfigError": "lc_gemini_router.errors",
    "CostBreakdown": "lc_gemini_router.pricing.costs",
    "DECISION_EVENT": "lc_gemini_router.keys",
    "FileBatchStore": "lc_gemini_router.batches.stores",
    "GeminiCostCallbackHandler": "lc_gemini_router.callbacks.handler",
    "GeminiDecisionModel": "lc_gemini_router.classify.decision_model",
    "GeminiRouter": "lc_gemini_router.router",
    "GeminiRouterError": "lc_gemini_router.errors",
    "GeminiRouterWarning": "lc_gemini_router.errors",
    "GeminiRoutingMiddleware": "lc_gemini_router.agents",
    "LaneError": "lc_gemini_router.errors",
    "LaneSpec": "lc_gemini_router.config",
    "MemoryBatchStore": "lc_gemini_router.batches.stores",
    "MemoryStore": "lc_gemini_router.stores.memory",
    "ModelLifecycleWarning": "lc_gemini_router.errors",
    "PriceCatalog": "lc_gemini_router.pricing.catalog",
    "RedisStore": "lc_gemini_router.stores.redis",
    "RetiredModelError": "lc_gemini_router.errors",
    "RouteDecision": "lc_gemini_router.routing.policy",
    "RouterConfig": "lc_gemini_router.config",
    "ScoreCache": "lc_gemini_router.state",
    "ScoreStore": "lc_gemini_router.state",
    "StateStore": "lc_gemini_router.state",
    "StoreUnavailableError": "lc_gemini_router.errors",
    "StoreUnavailableWarning": "lc_gemini_router.errors",
    "UnknownBatchJobError": "lc_gemini_router.errors",
    "UnknownLaneError": "lc_gemini_router.errors",
    "UnknownPriceWarning": "lc_gemini_router.errors",
    "UnsupportedInputError": "lc_gemini_router.errors",
    "UnverifiedPriceWarning": "lc_gemini_router.errors",
    "UsageTotals": "lc_gemini_router.callbacks.records",
    "WASTED_EVENT": "lc_gemini_router.keys",
    "default_catalog": "lc_gemini_router.pricing.catalog",
    "get_gemini_cost_callback": "lc_gemini_router.callbacks.handler",
    "load_catalog": "lc_gemini_router.pricing.catalog",
    "price_cache_storage": "lc_gemini_router.pricing.caching",
    "price_message": "lc_gemini_router.pricing.costs",
    "price_usage": "lc_gemini_router.pricing.costs",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        msg = f"module 'lc_gemini_router' has no attribute {name!r}"
        raise AttributeError(msg)
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


__version__ = "0.1.0"

__all__ = [
    "COST_EVENT",
    "DECISION_EVENT",
    "WASTED_EVENT",
    "ApiVersionWarning",
    "BatchError",
    "BatchItemError",
    "BatchJob",
    "BatchNotReadyError",
    "BatchState",
    "BatchStore",
    "BatchTimeoutError",
    "Breaker",
    "Budget",
    "BudgetExceededError",
    "BudgetLedger",
    "BudgetStatus",
    "CallRecord",
    "CircuitBreaker",
    "ClassifierError",
    "ClassifierScore",
    "ClassifierSettings",
    "ConfigError",
    "CostBreakdown",
    "FileBatchStore",
    "GeminiCostCallbackHandler",
    "GeminiDecisionModel",
    "GeminiRouter",
    "GeminiRouterError",
    "GeminiRouterWarning",
    "GeminiRoutingMiddleware",
    "LaneError",
    "LaneSpec",
    "MemoryBatchStore",
    "MemoryStore",
    "ModelLifecycleWarning",
    "PriceCatalog",
    "RedisStore",
    "RetiredModelError",
    "RouteDecision",
    "RouterConfig",
    "ScoreCache",
    "ScoreStore",
    "StateStore",
    "StoreUnavailableError",
    "StoreUnavailableWarning",
    "UnknownBatchJobError",
    "UnknownLaneError",
    "UnknownPriceWarning",
    "UnsupportedInputError",
    "UnverifiedPriceWarning",
    "UsageTotals",
    "__version__",
    "default_catalog",
    "get_gemini_cost_callback",
    "load_catalog",
    "price_cache_storage",
    "price_message",
    "price_usage",
]
