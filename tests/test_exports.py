"""The public API: every name in __all__ exists, and the list is pinned."""

from __future__ import annotations

import lc_gemini_router

EXPECTED = {
    "CATEGORIES",
    "CLASSIFIER_INSTRUCTION",
    "CLASSIFIER_TAG",
    "COST_EVENT",
    "DECISION_EVENT",
    "LANES",
    "ROLE_ANSWER",
    "ROLE_CLASSIFIER",
    "ROLE_METADATA_KEY",
    "ROLE_SPECULATIVE",
    "ROUTER_METADATA_KEY",
    "ROUTER_RUN_METADATA_KEY",
    "SERVICE_TIER_METADATA_KEY",
    "WASTED_EVENT",
    "Breaker",
    "CallRecord",
    "Category",
    "CircuitBreaker",
    "Classifier",
    "ClassifierOutcome",
    "ClassifierScore",
    "ClassifierSettings",
    "ConfigError",
    "CostBreakdown",
    "DecisionSource",
    "GeminiCostCallbackHandler",
    "GeminiRouter",
    "GeminiRouterError",
    "GeminiRouterWarning",
    "GroundingPrice",
    "Lane",
    "LaneError",
    "LaneSpec",
    "ModelLifecycleWarning",
    "ModelPrice",
    "PriceCatalog",
    "Rates",
    "RetiredModelError",
    "RouteDecision",
    "RouteRequest",
    "RouterConfig",
    "ScoreCache",
    "ScoreStore",
    "TierPrices",
    "UnknownLaneError",
    "UnknownPriceWarning",
    "UnsupportedInputError",
    "UsageTotals",
    "__version__",
    "decide",
    "default_catalog",
    "get_gemini_cost_callback",
    "image_sizes",
    "load_catalog",
    "normalize_model_id",
    "price_message",
    "price_usage",
    "render_classifier_input",
    "rule_decision",
    "strip_foreign_signatures",
}


def test_all_is_pinned() -> None:
    assert set(lc_gemini_router.__all__) == EXPECTED


def test_all_is_unique() -> None:
    # Sorting is enforced by ruff (RUF022); duplicates would hide a renamed export.
    names = lc_gemini_router.__all__
    assert len(names) == len(set(names))


def test_every_exported_name_resolves() -> None:
    for name in lc_gemini_router.__all__:
        assert getattr(lc_gemini_router, name) is not None, name


def test_errors_share_one_root() -> None:
    from lc_gemini_router import errors

    for name in errors.__all__:
        cls = getattr(errors, name)
        root = errors.GeminiRouterWarning if issubclass(cls, Warning) else errors.GeminiRouterError
        assert issubclass(cls, root), name
