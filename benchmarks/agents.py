"""Agent policies, measured: the labelled agent-trace set replayed under three policies.

Each turn of :mod:`benchmarks.agent_traces` is replayed step by step through
``GeminiRouter.route()`` (the same rules, classifier and sticky turns an agent's model
calls get, through ``GeminiRoutingMiddleware`` too): before each model step the router
decides a lane from the history so far (the user's message, the earlier steps' tool
calls with the router's decision on them, the tool results). Policies:

* ``all_pro``: every step on Pro, no classifier (the reference);
* ``before``: the defaults before this change (three bound tools -> ``pro_tools`` for
  every step, two tool rounds -> ``pro_tools``, the broad wording rules);
* ``now``: today's defaults (evidence-based escalation: failed or repeated calls,
  engineering tools called, long loops; precise wording rules).

The classifier is :class:`benchmarks.fakes.KeywordClassifier` (keyword heuristics,
label-blind), called inline and priced by the cost handler. A step's prompt is the
history's characters / 4 plus 60 tokens per bound tool; a tool-call step writes 40
tokens, the final answer the trace's ``answer_tokens``; Pro lanes think 200 tokens more
per step. The agent's steps are the same on every lane: a stronger model that would
need fewer steps is not modelled.
"""

from __future__ import annotations

import json
from collections import Counter
from decimal import Decimal
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage

from benchmarks.agent_traces import AgentTrace, load_traces
from benchmarks.common import lane_cost
from benchmarks.fakes import LITE, PRO, PRO_TOOLS, KeywordClassifier, LaneFake
from lc_gemini_router import GeminiRouter, RouterConfig, get_gemini_cost_callback
from lc_gemini_router.config import LEGACY_AGENT_RULES
from lc_gemini_router.keys import ROUTER_METADATA_KEY

__all__ = ["BEFORE", "agent_rows", "run_agents"]

BEFORE = RouterConfig(**LEGACY_AGENT_RULES)
"""The routing defaults before evidence-based escalation, as a config."""

_TOOL_SCHEMA_TOKENS = 60
_CALL_TOKENS = 40
_PRO_THINKING = 200
_MODELS = {"lite": LITE, "pro": PRO, "pro_tools": PRO_TOOLS}


def _step_cost(lane: str, history: list[BaseMessage], tools: int, output: int) -> Decimal:
    chars = sum(
        len(str(m.content)) + len(json.dumps(getattr(m, "tool_calls", []))) for m in history
    )
    prompt = chars // 4 + tools * _TOOL_SCHEMA_TOKENS
    thinking = 0 if lane == "lite" else _PRO_THINKING
    return lane_cost(_MODELS[lane], prompt, output + thinking)


def _replay(trace: AgentTrace, router: GeminiRouter | None) -> list[tuple[str, str, Decimal]]:
    """(lane, decision source, answer cost) of each model step of one turn."""
    history: list[BaseMessage] = [HumanMessage(trace.prompt)]
    steps: list[tuple[str, str, Decimal]] = []
    for index in range(len(trace.steps) + 1):
        final = index == len(trace.steps)
        if router is None:
            lane, source, meta = "pro", "all_pro", None
        else:
            decision = router.route(history, tools=trace.tools)
            lane, source, meta = decision.lane, decision.source, decision.to_metadata()
        output = trace.answer_tokens if final else _CALL_TOKENS
        steps.append((lane, source, _step_cost(lane, history, len(trace.tools), output)))
        if final:
            break
        step = trace.steps[index]
        call = {"name": step.name, "args": step.args, "id": f"c{index}", "type": "tool_call"}
        response_metadata: dict[str, Any] = {"model_name": _MODELS[lane]}
        if meta is not None:
            response_metadata[ROUTER_METADATA_KEY] = {"decision": meta}
        history.append(AIMessage("", tool_calls=[call], response_metadata=response_metadata))
        status = "error" if step.error else "success"
        history.append(ToolMessage(step.result, tool_call_id=f"c{index}", status=status))
    return steps


def _router(config: RouterConfig) -> GeminiRouter:
    return GeminiRouter(
        classifier=KeywordClassifier(),
        lite=LaneFake(model_name=LITE),
        pro=LaneFake(model_name=PRO),
        pro_tools=LaneFake(model_name=PRO_TOOLS),
        config=config,
    )


def _policy(traces: list[AgentTrace], config: RouterConfig | None) -> dict[str, Any]:
    router = _router(config) if config is not None else None
    lanes: Counter[str] = Counter()
    sources: Counter[str] = Counter()
    answers = Decimal(0)
    hard_on_lite = easy_on_pro = hard_lite_steps = 0
    per_group: dict[str, dict[str, Any]] = {}
    with get_gemini_cost_callback() as cb:
        for trace in traces:
            steps = _replay(trace, router)
            turn_lanes = {lane for lane, _, _ in steps}
            lanes.update(lane for lane, _, _ in steps)
            sources.update(source for _, source, _ in steps)
            cost = sum((c for _, _, c in steps), Decimal(0))
            answers += cost
            hard_on_lite += trace.hard and turn_lanes == {"lite"}
            if trace.hard:
                hard_lite_steps += sum(lane == "lite" for lane, _, _ in steps)
            easy_on_pro += not trace.hard and turn_lanes != {"lite"}
            group = per_group.setdefault(trace.group, {"turns": 0, "steps": 0, "cost": Decimal(0)})
            group["turns"] += 1
            group["steps"] += len(steps)
            group["cost"] += cost
    classifier = cb.by_role.get("classifier")
    classifier_cost = classifier.cost if classifier else Decimal(0)
    steps_total = sum(lanes.values())
    hard = sum(t.hard for t in traces)
    return {
        "steps": steps_total,
        "steps_by_lane": {lane: lanes[lane] for lane in ("lite", "pro", "pro_tools")},
        "step_share_by_lane": {
            lane: round(lanes[lane] / steps_total, 4) for lane in ("lite", "pro", "pro_tools")
        },
        "decision_sources": dict(sorted(sources.items())),
        "classifier_calls": classifier.calls if classifier else 0,
        "answer_cost_usd": answers,
        "classifier_cost_usd": classifier_cost,
        "total_cost_usd": answers + classifier_cost,
        "hard_turns_kept_on_lite": hard_on_lite,
        "hard_turns": hard,
        "hard_turn_steps_on_lite": hard_lite_steps,
        "hard_turn_steps": sum(len(t.steps) + 1 for t in traces if t.hard),
        "easy_turns_sent_to_pro": easy_on_pro,
        "easy_turns": len(traces) - hard,
        "cost_by_group_usd": {name: g["cost"] for name, g in sorted(per_group.items())},
    }


def run_agents() -> dict[str, Any]:
    """The three policies over the whole set, and their spend against each other."""
    traces = load_traces()
    result: dict[str, Any] = {
        "turns": len(traces),
        "groups": dict(sorted(Counter(t.group for t in traces).items())),
        "hard_turns": sum(t.hard for t in traces),
        "classifier": "benchmarks.fakes.KeywordClassifier (keyword heuristics, label-blind)",
    }
    policies = {"all_pro": None, "before": BEFORE, "now": RouterConfig()}
    for name, config in policies.items():
        result[name] = _policy(traces, config)
    all_pro = result["all_pro"]["total_cost_usd"]
    before = result["before"]["total_cost_usd"]
    for name in ("before", "now"):
        total = result[name]["total_cost_usd"]
        result[name]["spend_vs_all_pro"] = round(float(total / all_pro), 4)
        result[name]["spend_vs_before"] = round(float(total / before), 4)
    return result


def agent_rows(agents: dict[str, Any]) -> list[tuple[str, str]]:
    """The summary lines the benchmark table prints for this section."""
    return [
        (
            f"agents ({name}): spend vs all-Pro",
            "{:.3f}; steps lite/pro/pro_tools {}; hard turns kept on lite {}/{}".format(
                agents[name]["spend_vs_all_pro"],
                "/".join(f"{v:.2f}" for v in agents[name]["step_share_by_lane"].values()),
                agents[name]["hard_turns_kept_on_lite"],
                agents[name]["hard_turns"],
            ),
        )
        for name in ("before", "now")
        if name in agents
    ]
