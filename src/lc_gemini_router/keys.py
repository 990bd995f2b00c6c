"""Names the router puts on LangChain runs and events: metadata keys, tags, roles.

A module of constants with no side effects, so the pure routing code can name them
without importing the cost handler (whose import registers LangChain's configure hook).
"""

from __future__ import annotations

__all__ = [
    "BATCH_METADATA_KEY",
    "CALL_TIME_METADATA_KEY",
    "CLASSIFIER_TAG",
    "COST_EVENT",
    "DECISION_EVENT",
    "ROLE_ANSWER",
    "ROLE_CLASSIFIER",
    "ROLE_METADATA_KEY",
    "ROLE_SPECULATIVE",
    "ROUTER_METADATA_KEY",
    "ROUTER_RUN_METADATA_KEY",
    "SERVICE_TIER_METADATA_KEY",
    "WASTED_EVENT",
]

ROLE_METADATA_KEY = "lc_gemini_router_role"
"""Run metadata key naming a call's role (``"classifier"``, ``"answer"``, ...)."""
CLASSIFIER_TAG = "lc_gemini_router:classifier"
"""Run tag carried by the router's classifier calls."""
ROLE_CLASSIFIER = "classifier"
ROLE_ANSWER = "answer"
ROUTER_RUN_METADATA_KEY = "lc_gemini_router_run_id"
"""Run metadata key the router puts on its classifier call: the router run it serves."""
SERVICE_TIER_METADATA_KEY = "lc_gemini_router_service_tier"
"""Run metadata key to price a run at another service tier (``"flex"``, ``"priority"``)."""
ROLE_SPECULATIVE = "speculative"
"""Role of speculative lite work that was cancelled because the call escalated."""
WASTED_EVENT = "lc_gemini_router/wasted"
"""Custom event with the usage of cancelled speculative work; handlers count it."""
ROUTER_METADATA_KEY = "lc_gemini_router"
"""``response_metadata`` key under which the router puts its decision and cost."""
DECISION_EVENT = "lc_gemini_router/decision"
"""Custom event with the routing decision and the classifier call's tokens and cost."""
COST_EVENT = "lc_gemini_router/cost"
"""Custom event with the answer's tokens and exact cost, after it is complete."""
BATCH_METADATA_KEY = "lc_gemini_router_batch"
"""Run metadata key where a batch answer's run names its job, key and Gemini job (its
message has them under ``response_metadata["lc_gemini_router"]["batch"]``)."""
CALL_TIME_METADATA_KEY = "lc_gemini_router_called_at"
"""Run metadata key with the UNIX time a call was made, when that is not the run's start
(a batch answer collected later): the day whose rates apply."""
