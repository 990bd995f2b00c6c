"""RedisStore shared by several routers and processes, and what happens when Redis is down."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from decimal import Decimal
from pathlib import Path

import pytest

from lc_gemini_router import (
    Budget,
    ClassifierSettings,
    RedisStore,
    RouterConfig,
    StoreUnavailableError,
    StoreUnavailableWarning,
    price_usage,
)
from lc_gemini_router.stores.redis import RedisBreaker
from lc_gemini_router.testing.redis_server import RedisServer, free_port
from lc_gemini_router.testing.simulator import GeminiSimulator
from tests.budget_kit import EASY_PROMPT, HARD_PROMPT, budget_backend, budget_router
from tests.routing_kit import PRO, Backend, is_classifier

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def backend() -> Backend:
    return budget_backend()


def test_two_routers_share_spend_scores_and_breaker(
    sim: GeminiSimulator, backend: Backend, redis_url: str
) -> None:
    settings = ClassifierSettings(model="gemini-3.5-flash", failure_threshold=1)
    config = RouterConfig(classifier=settings)
    stores = [RedisStore(redis_url), RedisStore(redis_url)]
    a, b = (budget_router(sim, s, config=config, budgets=[Budget(limit="1")]) for s in stores)
    a.invoke(HARD_PROMPT)
    b.invoke(HARD_PROMPT)  # a's score is cached in Redis: one classifier call
    assert len(sim.requests_for("gemini-3.5-flash")) == 1
    classifier = price_usage("gemini-3.5-flash", {"input_tokens": 10, "output_tokens": 12})
    assert classifier is not None
    both = 2 * backend.answer_cost(PRO) + classifier.total
    assert a.budget_status()[0].spent == b.budget_status()[0].spent == both
    sim.fail_next(503, model="gemini-3.5-flash")
    a.invoke("solve another riddle")  # one failure opens the shared breaker...
    message = b.invoke("solve a third riddle")  # ...so b skips the classifier
    reasons = message.response_metadata["lc_gemini_router"]["decision"]["reasons"]
    assert reasons == ["classifier circuit open (cooling down)"]
    assert len(sim.requests_for("gemini-3.5-flash")) == 2
    for store in stores:
        store.close()


def test_an_unreachable_redis_fails_open_with_a_warning(sim: GeminiSimulator) -> None:
    store = RedisStore(f"redis://127.0.0.1:{free_port()}/0", timeout=1.0)
    router = budget_router(sim, store, budgets=[Budget(limit="0.000001")])
    with pytest.warns(StoreUnavailableWarning, match="redis unavailable"):
        message = router.invoke(EASY_PROMPT)  # far over budget, but unchecked
    decision = message.response_metadata["lc_gemini_router"]["decision"]
    assert decision["reasons"][-1].endswith("not checked (fail-open)")
    assert len(sim.requests) == 1
    assert not store.ping()


def test_an_unreachable_redis_fails_closed_before_any_request(sim: GeminiSimulator) -> None:
    store = RedisStore(f"redis://127.0.0.1:{free_port()}/0", timeout=1.0, on_error="closed")
    router = budget_router(sim, store, budgets=[Budget(limit="1")])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StoreUnavailableWarning)  # the score cache's miss
        with pytest.raises(StoreUnavailableError, match="fails closed"):
            router.invoke(HARD_PROMPT)
    assert sim.requests == []


@pytest.mark.slow
def test_four_processes_share_one_daily_budget(
    sim: GeminiSimulator, backend: Backend, redis_url: str
) -> None:
    # Fifty calls of one process hold more than $0.05 at once: some must be refused.
    limit = Decimal("0.05")
    command = [sys.executable, "-m", "tests.budget_worker", redis_url, sim.base_url]
    workers = [
        subprocess.Popen(
            [*command, f"p{n}", "50", str(limit)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        for n in range(4)
    ]
    results = []
    for worker in workers:
        out, _ = worker.communicate(timeout=240)
        assert worker.returncode == 0
        results += [json.loads(line) for line in out.splitlines()]
    assert len(results) == 200
    store = RedisStore(redis_url)
    router = budget_router(sim, store, budgets=[Budget(limit=limit, window="day")])
    [status] = router.budget_status()
    billed = sum(
        (
            backend.classifier_cost if is_classifier(r) else backend.answer_cost(r.model)
            for r in sim.requests
            if r.status == 200
        ),
        Decimal(0),
    )
    assert status.reserved == 0
    assert status.spent <= limit
    assert status.spent == billed == sum(Decimal(r["settled"]) for r in results if r["answered"])
    refused = [r["tag"] for r in results if not r["answered"]]
    answered = {r["lane"] for r in results if r["answered"]}
    assert refused
    assert "lite" in answered
    assert answered <= {"lite", "pro"}
    sent = " ".join(r.text for r in sim.requests)
    assert not [tag for tag in refused if tag in sent]  # every refused call sent nothing
    answered_tags = [r["tag"] for r in results if r["answered"]]
    assert all(tag in sent for tag in answered_tags)
    store.close()


async def test_async_calls_share_the_breaker_and_fail_open(
    sim: GeminiSimulator, redis_url: str
) -> None:
    settings = ClassifierSettings(model="gemini-3.5-flash", failure_threshold=1)
    store = RedisStore(redis_url)
    router = budget_router(sim, store, config=RouterConfig(classifier=settings))
    breaker = router.lane_set.classifier.breaker
    assert isinstance(breaker, RedisBreaker)
    assert not breaker.is_open
    sim.fail_next(503, model="gemini-3.5-flash")
    await router.ainvoke(HARD_PROMPT)
    assert breaker.is_open  # one failure opened it, for every process on this Redis
    await router.aclose()
    await store.aclose()
    store.close()

    down = RedisStore(f"redis://127.0.0.1:{free_port()}/0", timeout=1.0)
    unchecked = budget_router(sim, down, config=RouterConfig(classifier=settings))
    unchecked.budgets = [Budget(limit="0.000001")]
    with pytest.warns(StoreUnavailableWarning) as seen:
        message = await unchecked.ainvoke("solve yet another riddle")
    assert message.response_metadata["lc_gemini_router"]["decision"]["source"] == "classifier"
    # The score cache, the breaker and the ledger each went on without Redis.
    whats = {str(w.message).split("(")[1].split(":")[0] for w in seen}
    assert whats >= {"score get", "breaker allow", "reserve", "settle", "score put"}
    await unchecked.aclose()


def test_without_the_server_binary_the_redis_tests_fail_with_the_fix(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PATH", "")
    with pytest.raises(RuntimeError, match=r"apt-get install redis-server"):
        RedisServer().start()
