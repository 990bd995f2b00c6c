"""Budgets through the real client against the simulator: holds before every request,
exact settlement after, downgrade or refusal with nothing sent."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Generator, Iterator
from decimal import Decimal
from typing import Any, cast

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.runnables import RunnableConfig

from lc_gemini_router import (
    Budget,
    BudgetExceededError,
    ClassifierSettings,
    ConfigError,
    MemoryStore,
    RouterConfig,
    price_usage,
)
from lc_gemini_router.keys import DECISION_EVENT
from lc_gemini_router.state import StateStore
from lc_gemini_router.testing.simulator import GeminiSimulator
from tests.budget_kit import (
    EASY_PROMPT,
    HARD_PROMPT,
    MAX_TOKENS,
    budget_backend,
    budget_router,
    pro_worst,
    store_of,
)
from tests.routing_kit import LITE, PRO, Backend, cost


@pytest.fixture
def backend() -> Backend:
    return budget_backend()


@pytest.fixture(params=["memory", "redis"])
def store(request: pytest.FixtureRequest) -> Iterator[StateStore]:
    yield from store_of(request.param, request)


class Decisions(BaseCallbackHandler):
    """Keeps the router's decision events."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def on_custom_event(self, name: str, data: Any, **kwargs: Any) -> None:
        if name == DECISION_EVENT:
            self.events.append(data)


def routed(message: BaseMessage) -> dict[str, Any]:
    meta: dict[str, Any] = message.response_metadata["lc_gemini_router"]
    return meta


def spent(router: Any, scope: str = "global", key: str | None = None) -> Decimal:
    [status] = router.budget_status(scope, key)
    assert status.reserved == 0  # nothing left held once the calls are done
    return Decimal(status.spent)


async def answer(router: Any, mode: str, prompt: str, **kwargs: Any) -> AIMessage:
    if mode == "invoke":
        return router.invoke(prompt, **kwargs)  # type: ignore[no-any-return]
    if mode == "ainvoke":
        return await router.ainvoke(prompt, **kwargs)  # type: ignore[no-any-return]
    chunks = []
    if mode == "stream":
        chunks = list(router.stream(prompt, **kwargs))
    else:
        chunks = [chunk async for chunk in router.astream(prompt, **kwargs)]
    merged = chunks[0]
    for chunk in chunks[1:]:
        merged = merged + chunk
    return merged  # type: ignore[no-any-return]


@pytest.mark.parametrize("mode", ["invoke", "ainvoke", "stream", "astream"])
async def test_pro_that_does_not_fit_is_answered_on_lite(
    sim: GeminiSimulator, backend: Backend, store: StateStore, mode: str
) -> None:
    router = budget_router(sim, store, budgets=[Budget(limit="0.01")])  # pro needs $0.012076
    message = await answer(router, mode, HARD_PROMPT)
    decision = routed(message)["decision"]
    assert (decision["lane"], decision["source"]) == ("lite", "budget")
    assert decision["reasons"][-1] == (
        "budget 'global-day' cannot cover pro's worst case ($0.012076): answered on lite"
    )
    assert sim.requests_for(PRO) == []  # the refused part sent nothing
    assert len(sim.requests_for(LITE)) == 2  # the classifier and the answer
    total = backend.classifier_cost + backend.answer_cost(LITE)
    assert Decimal(routed(message)["budget"]["settled"]) == total
    assert Decimal(routed(message)["budget"]["budgets"][0]["spent"]) == total
    assert decision["budget"]["budgets"][0]["limit"] == "0.01"
    assert spent(router) == total
    await router.aclose()
    if hasattr(store, "aclose"):
        await store.aclose()


def test_a_refusing_budget_raises_before_any_request(sim: GeminiSimulator) -> None:
    router = budget_router(sim, budgets=[Budget(limit="0.01", on_exceed="refuse")])
    with pytest.raises(BudgetExceededError) as raised:
        router.invoke(HARD_PROMPT, lane="pro")
    assert sim.requests == []
    error = raised.value
    assert (error.budget, error.scope, error.key, error.lane) == (
        "global-day",
        "global",
        "*",
        "pro",
    )
    assert (error.limit, error.spent, error.reserved) == (Decimal("0.01"), Decimal(0), Decimal(0))
    assert error.needed == pro_worst(HARD_PROMPT) == Decimal("0.012076")
    assert spent(router) == 0


def test_when_not_even_lite_fits_the_classifier_is_not_called(sim: GeminiSimulator) -> None:
    router = budget_router(sim, budgets=[Budget(limit="0.001")])  # lite alone needs $0.0015+
    with pytest.raises(BudgetExceededError, match="cannot cover lane 'lite'"):
        router.invoke(HARD_PROMPT)
    assert sim.requests == []
    assert spent(router) == 0


def test_per_user_budgets_keep_one_account_per_user(sim: GeminiSimulator, backend: Backend) -> None:
    lite = backend.answer_cost(LITE)
    # Each call holds $0.0015105 and costs $0.0001525: the fifth of one user does not fit.
    budgets = [Budget(limit="0.002", per="user", on_exceed="refuse"), Budget(limit="5")]
    router = budget_router(sim, budgets=budgets)
    as_alice: RunnableConfig = {"configurable": {"user": "alice"}}
    for _ in range(2):
        router.invoke(EASY_PROMPT, config=as_alice)
    as_bob: RunnableConfig = {"configurable": {"lc_gemini_router": {"user": "bob"}}}
    as_carol: RunnableConfig = {"metadata": {"user": "carol"}}
    router.invoke(EASY_PROMPT, config=as_bob)
    router.invoke(EASY_PROMPT, config=as_carol)
    router.invoke(EASY_PROMPT)  # no user: counted globally only
    assert spent(router, "user", "alice") == 2 * lite
    assert spent(router, "user", "bob") == spent(router, "user", "carol") == lite
    assert spent(router) == 5 * lite
    router.invoke(EASY_PROMPT, config=as_alice)
    router.invoke(EASY_PROMPT, config=as_alice)
    with pytest.raises(BudgetExceededError) as raised:
        router.invoke(EASY_PROMPT, config=as_alice)
    assert (raised.value.key, raised.value.spent) == ("alice", 4 * lite)
    assert len(sim.requests) == 7
    [status] = router.budget_reset("user", "alice")
    assert (status.spent, status.remaining) == (Decimal(0), Decimal("0.002"))
    router.invoke(EASY_PROMPT, config=as_alice)


def test_a_required_scope_missing_is_a_config_error(sim: GeminiSimulator) -> None:
    router = budget_router(sim, budgets=[Budget(limit="1", per="tenant", required=True)])
    with pytest.raises(ConfigError, match="budget 'tenant-day' is kept per 'tenant'"):
        router.invoke(EASY_PROMPT)
    assert sim.requests == []
    with pytest.raises(ConfigError, match="no budget is kept per 'user'"):
        router.budget_status("user", "alice")
    with pytest.raises(ConfigError, match="name the tenant"):
        router.budget_status("tenant")


def test_a_failed_lane_is_released_and_its_fallback_held(
    sim: GeminiSimulator, backend: Backend
) -> None:
    router = budget_router(sim, budgets=[Budget(limit="1")])
    sim.fail_next(503, model=PRO)
    handler = Decisions()
    message = router.invoke(HARD_PROMPT, config={"callbacks": [handler]})
    events = handler.events
    assert routed(message)["decision"]["source"] == "fallback"
    assert spent(router) == backend.classifier_cost + backend.answer_cost(LITE)
    # Each decision event shows the hold made for the lane it names.
    assert [Decimal(e["decision"]["budget"]["reserved"]) for e in events] == [
        pro_worst(HARD_PROMPT),
        cost(LITE, 38, MAX_TOKENS),
    ]


@pytest.mark.parametrize("mode", ["stream", "astream"])
async def test_an_abandoned_stream_settles_its_prompt_and_holds_nothing(
    sim: GeminiSimulator, mode: str
) -> None:
    router = budget_router(sim, budgets=[Budget(limit="1")])
    if mode == "stream":
        chunks = cast("Generator[Any, None, None]", router.stream(EASY_PROMPT))
        next(chunks)
        chunks.close()
    else:
        achunks = cast("AsyncGenerator[Any, None]", router.astream(EASY_PROMPT))
        await anext(achunks)
        await achunks.aclose()
        # LangChain leaves the inner generators to be closed when they are collected;
        # give the loop a bounded number of turns to run those closes.
        for _ in range(100):
            [status] = await router.abudget_status()
            if status.reserved == 0:
                break
            await asyncio.sleep(0)
        await router.aclose()
    prompt_part = Decimal(len(EASY_PROMPT.encode()) + 8) * Decimal("0.25") / 1_000_000
    assert spent(router) == prompt_part  # the request was sent: at least its prompt


def test_speculation_runs_on_the_floor_and_its_waste_is_settled(
    sim: GeminiSimulator, backend: Backend
) -> None:
    # The classifier on a model of its own, so the lite lane alone can be slowed down.
    settings = ClassifierSettings(model="gemini-3.5-flash")
    config = RouterConfig(speculative=True, classifier=settings)
    router = budget_router(sim, config=config, budgets=[Budget(limit="1")])
    sim.set_delay(30, model=LITE)  # the speculative stream never reports a chunk
    message = router.invoke(HARD_PROMPT)
    assert routed(message)["decision"]["lane"] == "pro"
    classifier = price_usage("gemini-3.5-flash", {"input_tokens": 10, "output_tokens": 12})
    waste = cost(LITE, len(HARD_PROMPT.encode()) + 8, 0)  # its prompt, as a bound
    assert classifier is not None
    assert spent(router) == classifier.total + backend.answer_cost(PRO) + waste


def test_a_classifier_past_its_deadline_keeps_its_worst_case(sim: GeminiSimulator) -> None:
    settings = ClassifierSettings(model="gemini-3.5-flash", deadline_seconds=0.2)
    config = RouterConfig(classifier=settings.model_copy(update={"fallback_lane": "pro"}))
    router = budget_router(sim, config=config, budgets=[Budget(limit="1")])
    sim.set_delay(30, model="gemini-3.5-flash")
    message = router.invoke(HARD_PROMPT)
    decision = routed(message)["decision"]
    assert decision["reasons"] == ["timeout after 0.2s"]
    settled = Decimal(routed(message)["budget"]["settled"]) - budget_backend().answer_cost(PRO)
    floor = price_usage("gemini-3.5-flash", {"input_tokens": 0, "output_tokens": 64})
    assert floor is not None
    assert settled > floor.total  # the classifier's whole worst case, its prompt included


def test_route_holds_the_classifier_too(sim: GeminiSimulator, backend: Backend) -> None:
    router = budget_router(sim, budgets=[Budget(limit="0.0001")])
    with pytest.raises(BudgetExceededError, match="cannot cover lane 'classifier'"):
        router.route(HARD_PROMPT)
    assert sim.requests == []
    roomy = budget_router(sim, budgets=[Budget(limit="1")])
    assert roomy.route(HARD_PROMPT).lane == "pro"
    assert spent(roomy) == backend.classifier_cost


@pytest.fixture(params=["memory", "redis"])
def patient_store(request: pytest.FixtureRequest) -> Iterator[StateStore]:
    # A thousand calls started at once keep one event loop busy for seconds: Redis
    # answers in time, but the loop gets to the answer late. A long timeout keeps this
    # test about atomicity (see the README on timeouts under a saturated loop).
    yield from store_of(request.param, request, timeout=30.0)


@pytest.mark.slow
async def test_a_thousand_concurrent_calls_never_overshoot(
    sim: GeminiSimulator, backend: Backend, patient_store: StateStore
) -> None:
    limit = Decimal("0.05")
    store = patient_store
    # max_tokens=100: the worst case is close to the real cost, so many calls fit.
    router = budget_router(sim, store, budgets=[Budget(limit=limit)], max_tokens=100)

    async def one(i: int) -> bool:
        try:
            await router.ainvoke(f"Translate 'item {i:04d}' into French")
        except BudgetExceededError:
            return False
        return True

    answered = sum(await asyncio.gather(*(one(i) for i in range(1000))))
    total = spent(router)
    assert 0 < answered < 1000
    assert total <= limit
    assert total == answered * backend.answer_cost(LITE)  # exactly what the simulator billed
    assert len(sim.requests) == answered  # every refused call sent nothing
    await router.aclose()
    if hasattr(store, "aclose"):
        await store.aclose()


def test_many_threads_share_one_budget(sim: GeminiSimulator, backend: Backend) -> None:
    from concurrent.futures import ThreadPoolExecutor

    limit = Decimal("0.02")
    store = MemoryStore()
    routers = [budget_router(sim, store, budgets=[Budget(limit=limit)]) for _ in range(2)]

    def one(i: int) -> bool:
        try:
            routers[i % 2].invoke(f"Translate 'word {i}' into German")
        except BudgetExceededError:
            return False
        return True

    with ThreadPoolExecutor(max_workers=16) as pool:
        answered = sum(pool.map(one, range(200)))
    assert spent(routers[0]) == spent(routers[1]) == answered * backend.answer_cost(LITE)
    assert spent(routers[0]) <= limit
    assert len(sim.requests) == answered


def test_a_ruled_pro_call_that_does_not_fit_holds_lite_instead(
    sim: GeminiSimulator, backend: Backend
) -> None:
    router = budget_router(sim, budgets=[Budget(limit="0.01")])
    message = router.invoke(HARD_PROMPT, lane="pro")  # no classifier: no floor held yet
    decision = routed(message)["decision"]
    assert (decision["lane"], decision["source"]) == ("lite", "budget")
    assert Decimal(decision["budget"]["reserved"]) == cost(LITE, 38, MAX_TOKENS)
    assert [r.model for r in sim.requests] == [LITE]
    assert spent(router) == backend.answer_cost(LITE)


def test_a_refusing_budget_after_the_classifier_has_paid_for_it(
    sim: GeminiSimulator, backend: Backend
) -> None:
    router = budget_router(sim, budgets=[Budget(limit="0.01", on_exceed="refuse")])
    with pytest.raises(BudgetExceededError, match="cannot cover lane 'pro'"):
        router.invoke(HARD_PROMPT)
    assert len(sim.requests) == 1  # the classifier, which decided Pro; nothing after it
    assert spent(router) == backend.classifier_cost


def test_a_lane_that_timed_out_keeps_its_worst_case(sim: GeminiSimulator, backend: Backend) -> None:
    router = budget_router(sim, budgets=[Budget(limit="1")], timeout=0.3)
    sim.set_delay(30, model=PRO)  # Pro may still answer, and bill, after the client gave up
    answer = router.invoke(HARD_PROMPT)  # a lane fault: lite answers instead
    assert answer.response_metadata["lc_gemini_router"]["decision"]["fallback_from"] == "pro"
    # The timed-out Pro call keeps its whole hold: Gemini may have billed it.
    expected = backend.classifier_cost + pro_worst(HARD_PROMPT) + backend.answer_cost(LITE)
    assert spent(router) == expected
