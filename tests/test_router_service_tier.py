"""The router's own cost metadata prices the run's service tier, as the handler does."""

from __future__ import annotations

from decimal import Decimal

from langchain_core.runnables import RunnableConfig

from lc_gemini_router import get_gemini_cost_callback
from lc_gemini_router.keys import SERVICE_TIER_METADATA_KEY
from lc_gemini_router.testing.simulator import GeminiSimulator
from tests.routing_kit import live_router


def test_the_router_metadata_prices_the_run_service_tier(
    sim: GeminiSimulator,
) -> None:
    router = live_router(sim)
    run: RunnableConfig = {"metadata": {SERVICE_TIER_METADATA_KEY: "flex"}}
    with get_gemini_cost_callback() as cb:
        answer = router.invoke("Translate 'thank you' into Italian", config=run)  # lite, by rule
    meta = answer.response_metadata["lc_gemini_router"]
    assert meta["decision"]["lane"] == "lite"
    # Flash-Lite at flex (the batch rates): 500 in at $0.125 / 1M, 100 out at $0.75 / 1M.
    flex = (500 * Decimal("0.125") + 100 * Decimal("0.75")) / 10**6
    assert Decimal(meta["cost"]["total_cost"]) == flex == cb.total_cost
