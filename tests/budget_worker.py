"""One replica of the multi-process budget test: N concurrent calls on a shared Redis.

``python -m tests.budget_worker REDIS_URL SIM_URL NAME CALLS LIMIT`` prints one JSON
line per call: its tag, whether it was answered, on which lane, and what it settled.
"""

from __future__ import annotations

import asyncio
import json
import sys

from lc_gemini_router import (
    Budget,
    BudgetExceededError,
    ClassifierSettings,
    GeminiRouter,
    RedisStore,
    RouterConfig,
)

HARD = "solve the riddle number {tag}"
EASY = "Translate 'item {tag}' into French"


async def main(redis_url: str, sim_url: str, name: str, calls: int, limit: str) -> None:
    store = RedisStore(redis_url, timeout=30.0)  # one busy loop: see test_budgets_live
    # A classifier past its deadline keeps its worst case (it is billed later): four busy
    # processes on two cores must not miss it, or spend would not equal the billing.
    config = RouterConfig(classifier=ClassifierSettings(deadline_seconds=60))
    router = GeminiRouter(
        config=config,
        api_key="test",
        base_url=sim_url,
        max_retries=1,
        max_tokens=1000,
        store=store,
        budgets=[Budget(limit=limit, window="day")],
    )

    async def one(i: int) -> dict[str, object]:
        tag = f"{name}-{i:03d}"
        prompt = (HARD if i % 2 else EASY).format(tag=tag)
        try:
            message = await router.ainvoke(prompt)
        except BudgetExceededError:
            return {"tag": tag, "answered": False}
        meta = message.response_metadata["lc_gemini_router"]
        lane = meta["decision"]["lane"]
        return {"tag": tag, "answered": True, "lane": lane, "settled": meta["budget"]["settled"]}

    for result in await asyncio.gather(*(one(i) for i in range(calls))):
        print(json.dumps(result), flush=True)
    await router.aclose()
    await store.aclose()
    store.close()


if __name__ == "__main__":
    url, sim, name, calls, limit = sys.argv[1:6]
    asyncio.run(main(url, sim, name, int(calls), limit))
