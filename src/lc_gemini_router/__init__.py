"""lc-gemini-router: route LangChain calls between Gemini Flash-Lite and Pro, priced exactly."""

from lc_gemini_router.callbacks import (
    CLASSIFIER_TAG,
    ROLE_ANSWER,
    ROLE_CLASSIFIER,
    ROLE_METADATA_KEY,
    ROUTER_METADATA_KEY,
    SERVICE_TIER_METADATA_KEY,
    CallRecord,
    GeminiCostCallbackHandler,
    UsageTotals,
    get_gemini_cost_callback,
)
from lc_gemini_router.costs import CostBreakdown, image_sizes, price_message, price_usage
from lc_gemini_router.errors import (
    ConfigError,
    GeminiRouterError,
    GeminiRouterWarning,
    LaneError,
    ModelLifecycleWarning,
    RetiredModelError,
    UnknownLaneError,
    UnknownPriceWarning,
    UnsupportedInputError,
)
from lc_gemini_router.pricing import (
    GroundingPrice,
    ModelPrice,
    PriceCatalog,
    Rates,
    TierPrices,
    default_catalog,
    load_catalog,
    normalize_model_id,
)

__version__ = "0.1.0"

__all__ = [
    "CLASSIFIER_TAG",
    "ROLE_ANSWER",
    "ROLE_CLASSIFIER",
    "ROLE_METADATA_KEY",
    "ROUTER_METADATA_KEY",
    "SERVICE_TIER_METADATA_KEY",
    "CallRecord",
    "ConfigError",
    "CostBreakdown",
    "GeminiCostCallbackHandler",
    "GeminiRouterError",
    "GeminiRouterWarning",
    "GroundingPrice",
    "LaneError",
    "ModelLifecycleWarning",
    "ModelPrice",
    "PriceCatalog",
    "Rates",
    "RetiredModelError",
    "TierPrices",
    "UnknownLaneError",
    "UnknownPriceWarning",
    "UnsupportedInputError",
    "UsageTotals",
    "__version__",
    "default_catalog",
    "get_gemini_cost_callback",
    "image_sizes",
    "load_catalog",
    "normalize_model_id",
    "price_message",
    "price_usage",
]
