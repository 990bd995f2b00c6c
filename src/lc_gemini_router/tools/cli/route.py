"""``lc-gemini-router route``: where one prompt would go, and why (``--answer``: and answer it)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING

from lc_gemini_router.callbacks.handler import get_gemini_cost_callback
from lc_gemini_router.keys import ROLE_CLASSIFIER, ROUTER_METADATA_KEY
from lc_gemini_router.routing.policy import RouteDecision
from lc_gemini_router.tools.cli.common import (
    add_backend_flags,
    add_config_flag,
    backend_problem,
    fail,
    live_flag,
    load_config,
    make_table,
    token_count,
)
from lc_gemini_router.tools.formatting import usd

if TYPE_CHECKING:
    from langchain_core.messages import AIMessage
    from rich.console import Console

    from lc_gemini_router.router import GeminiRouter


def _tool_names(count: int) -> tuple[str, ...]:
    """Names for ``route --tools N``: the demo's tools first, then numbered ones."""
    from lc_gemini_router.tools.demo import DEMO_TOOLS

    names = [t.name for t in DEMO_TOOLS][:count]
    return (*names, *(f"tool_{i}" for i in range(len(names) + 1, count + 1)))


def route_decision(
    router: GeminiRouter, prompt: str, tool_names: Sequence[str] = ()
) -> tuple[RouteDecision, Decimal]:
    """Decide where one prompt would go, without answering it.

    Applies the router's rules and, when they leave the prompt open, calls its
    classifier, as the router does before an answer.

    Returns:
        The decision and the exact cost of the classifier call ($0 without one).
    """
    with get_gemini_cost_callback() as cb:
        decision = router.route(prompt, tools=tool_names)
    return decision, cb.total_cost


def _cmd_route(args: argparse.Namespace, console: Console) -> int:
    from rich.text import Text

    from lc_gemini_router.tools.backend import gemini_backend

    config = load_config(args.config)
    names = _tool_names(args.tools)
    answer: AIMessage | None = None
    with gemini_backend(live=live_flag(args)) as backend:
        router = backend.router(config)
        try:
            if args.answer:
                answer, classifier_cost = _route_and_answer(router, args.prompt, names)
                decision = RouteDecision.model_validate(
                    answer.response_metadata[ROUTER_METADATA_KEY]["decision"]
                )
            else:
                decision, classifier_cost = route_decision(router, args.prompt, names)
        finally:
            router.close()
    console.print(Text(backend.description, style="bold red" if backend.live else "green"))
    score = "-" if decision.score is None else f"{decision.score:.2f}"
    rows = [
        ("lane", decision.lane),
        ("model", decision.model),
        ("source", decision.source),
        ("score", score),
        ("category", decision.category or "-"),
        ("needs tools", "-" if decision.needs_tools is None else str(decision.needs_tools)),
        ("tools bound", f"{decision.tools} ({', '.join(names)})" if names else "0"),
        ("reasons", "; ".join(decision.reasons) or "-"),
        ("classifier cost", usd(classifier_cost)),
    ]
    if answer is not None:
        cost = answer.response_metadata[ROUTER_METADATA_KEY]["cost"]["total_cost"]
        rows += [
            ("fell back from", decision.fallback_from or "-"),
            ("answer cost", "unknown" if cost is None else usd(Decimal(cost))),
            ("answer", _clip(answer.text or str(answer.tool_calls), 200)),
        ]
    columns = [("", False), ("", False)]
    console.print(make_table("Route decision", columns, rows, show_header=False), crop=False)
    problem = backend_problem(decision)
    return fail(problem, code=1) if problem else 0


def _clip(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def _route_and_answer(
    router: GeminiRouter, prompt: str, tool_names: Sequence[str]
) -> tuple[AIMessage, Decimal]:
    """Answer one prompt through the router; the answer and its classifier's exact cost."""
    tools = [
        {"type": "function", "function": {"name": n, "parameters": {"type": "object"}}}
        for n in tool_names
    ]
    model = router.bind_tools(tools) if tools else router
    with get_gemini_cost_callback() as cb:
        answer = model.invoke(prompt)
    classifier = cb.by_role.get(ROLE_CLASSIFIER)
    return answer, classifier.cost if classifier else Decimal(0)


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``route`` command to the parser."""
    route = commands.add_parser(
        "route",
        help="show where one prompt would go, and why (--answer: and answer it)",
        description="Decide the lane of one prompt: the rules, then the Flash-Lite "
        "classifier when the rules leave it open. The prompt is answered only with "
        "--answer. Exits 1 when the classifier or the chosen lane failed.",
    )
    route.add_argument("prompt", metavar="PROMPT", help="the user message to route")
    route.add_argument(
        "--tools",
        type=token_count,
        default=0,
        metavar="N",
        help="route as if N tools were bound (default 0)",
    )
    route.add_argument(
        "--answer",
        action="store_true",
        help="also answer the prompt on the chosen lane (shows a lane that fails and the "
        "fallback that answered)",
    )
    add_config_flag(route, "router settings")
    add_backend_flags(route)
    route.set_defaults(handler=_cmd_route)
