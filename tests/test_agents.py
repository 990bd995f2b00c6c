"""Both middleware forms in a create_agent tool loop, through the real client on the simulator.

GeminiRoutingMiddleware (the router's whole policy per model call) and langchain's
ModelRouterMiddleware with GeminiDecisionModel as its classifier: every Gemini call
priced once, classifier spend split out, tokens streamed once, lane switches that
pass the simulator's thought-signature checks.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from langchain.agents import create_agent
from langchain.agents.middleware import ModelChoice, ModelRouterMiddleware
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage
from langchain_core.tools import tool
from langchain_google_genai import ChatGoogleGenerativeAI
from pydantic import BaseModel

from lc_gemini_router import (
    ConfigError,
    GeminiDecisionModel,
    GeminiRouter,
    GeminiRoutingMiddleware,
    get_gemini_cost_callback,
)
from lc_gemini_router.testing.simulator import GeminiSimulator, SimReply, SimRequest
from tests.routing_kit import LITE, PRO, PRO_TOOLS, Backend, cost, live_router


@tool
def bash(query: str) -> str:
    """Run a shell command."""
    return f"ran {query}"


@dataclass
class AgentBackend(Backend):
    """The router kit's backend, plus ModelRouterMiddleware's one Choice question."""

    route_reply: dict[str, int] | None = None

    def __call__(self, request: SimRequest) -> SimReply:
        schema = request.response_schema or {}
        if "model_route" in json.dumps(schema) and self.route_reply is not None:
            prompt, output = self.classifier_tokens
            reply = {"model_route": self.route_reply}
            return SimReply(json=reply, prompt_tokens=prompt, output_tokens=output)
        return super().__call__(request)


@pytest.fixture
def backend() -> Backend:
    return AgentBackend(tool_rounds=2)


def client(sim: GeminiSimulator, model: str) -> ChatGoogleGenerativeAI:
    return ChatGoogleGenerativeAI(
        model=model,
        google_api_key="test",
        base_url=sim.base_url,
        max_retries=1,
        api_version="v1beta",
    )


def ask(text: str) -> Any:
    return {"messages": [HumanMessage(text)]}


def decisions(state: dict[str, Any]) -> list[tuple[str, str]]:
    found = []
    for message in state["messages"]:
        meta = (
            message.response_metadata.get("lc_gemini_router")
            if isinstance(message, AIMessage)
            else None
        )
        if meta:
            found.append((meta["decision"]["lane"], meta["decision"]["source"]))
    return found


def routed_agent(sim: GeminiSimulator, **router: Any) -> Any:
    middleware = GeminiRoutingMiddleware(live_router(sim, **router))
    # The agent's own model is never called: the middleware answers with the router.
    return create_agent(client(sim, "gemini-3.5-flash"), [bash], middleware=[middleware])


def test_routing_middleware_runs_a_tool_loop_priced_once_with_a_lane_switch(
    sim: GeminiSimulator, backend: Backend
) -> None:
    agent = routed_agent(sim)
    with get_gemini_cost_callback() as cb:
        state = agent.invoke(ask("look up the release notes"))
    # One classifier call for the turn, which starts on lite; its first shell call is
    # evidence of engineering work and moves it to the custom-tools lane (lite's
    # signatures removed: no 400 from the simulator).
    assert decisions(state) == [
        ("lite", "classifier"),
        ("pro_tools", "rule"),
        ("pro_tools", "rule"),
    ]
    assert [r.model for r in sim.requests] == [LITE, LITE, PRO_TOOLS, PRO_TOOLS]
    assert all(r.status == 200 for r in sim.requests)
    assert state["messages"][-1].text == f"{PRO_TOOLS} answers"
    assert cb.calls == len(sim.requests) == 4  # every Gemini call priced once
    assert cb.by_role["classifier"].cost == backend.classifier_cost
    answers = backend.answer_cost(LITE) + 2 * backend.answer_cost(PRO_TOOLS)
    assert cb.by_role["answer"].cost == answers
    assert cb.total_cost == answers + backend.classifier_cost


def test_routing_middleware_streams_each_token_once(sim: GeminiSimulator) -> None:
    agent = routed_agent(sim)
    texts = []
    for chunk, _meta in agent.stream(ask("look up the release notes"), stream_mode="messages"):
        if isinstance(chunk, AIMessageChunk) and chunk.text:
            texts.append(chunk.text)
    streamed = "".join(texts)
    assert streamed.count(f"{PRO_TOOLS} answers") == 1
    assert "difficulty" not in streamed  # the classifier's reply is never streamed


async def test_routing_middleware_async(sim: GeminiSimulator, backend: Backend) -> None:
    router = live_router(sim)
    agent = create_agent(router, [bash], middleware=[GeminiRoutingMiddleware(router)])
    with get_gemini_cost_callback() as cb:
        state = await agent.ainvoke(ask("look up the release notes"))
    await router.aclose()
    assert [lane for lane, _ in decisions(state)] == ["lite", "pro_tools", "pro_tools"]
    assert cb.calls == len(sim.requests) == 4
    assert cb.by_role["classifier"].cost == backend.classifier_cost


def test_a_hard_turn_starts_on_pro_and_keeps_the_agents_response_format(
    sim: GeminiSimulator, backend: Backend
) -> None:
    class Answer(BaseModel):
        summary: str

    router = live_router(sim)
    agent = create_agent(
        router, [bash], middleware=[GeminiRoutingMiddleware(router)], response_format=Answer
    )
    backend.tool_rounds = 1
    state = agent.invoke(ask("solve the riddle with a lookup"))
    assert decisions(state)[0][0] == "pro"
    assert isinstance(state["structured_response"], Answer)
    assert all(
        r.response_schema is not None for r in sim.requests
    )  # the agent's format reached the lanes


# ModelRouterMiddleware is marked beta by langchain; the warning says only that.
@pytest.mark.filterwarnings("ignore::langchain_core._api.beta_decorator.LangChainBetaWarning")
def test_model_router_middleware_with_the_gemini_decision_model(
    sim: GeminiSimulator, backend: Backend
) -> None:
    assert isinstance(backend, AgentBackend)
    backend.route_reply = {"lite": 20, "pro": 80}
    backend.tool_rounds = 1
    decider = GeminiDecisionModel(api_key="test", base_url=sim.base_url)
    middleware = ModelRouterMiddleware(
        choices={
            "lite": ModelChoice(model=client(sim, LITE), criteria="simple lookups"),
            "pro": ModelChoice(model=client(sim, PRO), criteria="hard multi-step work"),
        },
        instructions="Pick the cheapest model that will do the task well.",
        classifier=decider,
    )
    agent = create_agent(client(sim, LITE), [bash], middleware=[middleware])
    with get_gemini_cost_callback() as cb:
        state = agent.invoke(ask("plan the data migration"))
    route = state["model_route"]
    assert (route.choice, route.confidence) == ("pro", 0.8)
    assert [r.model for r in sim.requests] == [LITE, PRO, PRO]  # classifier, then the run
    assert cb.calls == 3
    assert cb.by_role["classifier"].cost == cost(LITE, 150, 12) == Decimal("0.0000555")
    assert cb.by_role["answer"].cost == 2 * backend.answer_cost(PRO)


def test_middleware_takes_a_router_or_its_settings_not_both(sim: GeminiSimulator) -> None:
    router = live_router(sim)
    assert GeminiRoutingMiddleware(router).router is router
    built = GeminiRoutingMiddleware(api_key="test", base_url=sim.base_url)
    assert isinstance(built.router, GeminiRouter)
    with pytest.raises(ConfigError, match="not both"):
        GeminiRoutingMiddleware(router, api_key="test")
