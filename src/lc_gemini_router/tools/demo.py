"""A built-in workload: a mixed set of requests, routed and priced exactly.

:func:`run_workload` routes a mixed workload (:data:`WORKLOAD`) through one
:class:`~lc_gemini_router.GeminiRouter` on a backend from
:func:`~lc_gemini_router.tools.backend.gemini_backend` (the live Gemini API with an
API key, else the embedded simulator) and prices every call exactly. The CLI's
``demo`` command and the notebooks use it. ``Backend``, ``gemini_backend``,
``API_KEY_VARIABLES`` and ``simulated_responder`` live in
:mod:`~lc_gemini_router.tools.backend` and :mod:`~lc_gemini_router.tools.simulated`;
they are re-exported here, where the notebooks import them.

Example:
    >>> from lc_gemini_router.tools.demo import WORKLOAD, gemini_backend, run_workload
    >>> with gemini_backend(live=False) as backend:
    ...     results, cb = run_workload(backend, WORKLOAD[:2])
    >>> [(r.task.name, r.decision.lane) for r in results]
    [('translate', 'lite'), ('extract', 'lite')]
    >>> cb.total_cost == sum(r.cost + r.classifier_cost for r in results)
    True
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import IO

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.tools import BaseTool, tool

from lc_gemini_router.callbacks.handler import GeminiCostCallbackHandler, get_gemini_cost_callback
from lc_gemini_router.config import RouterConfig
from lc_gemini_router.keys import ROLE_CLASSIFIER, ROUTER_METADATA_KEY
from lc_gemini_router.router import GeminiRouter
from lc_gemini_router.routing.policy import RouteDecision
from lc_gemini_router.tools.backend import API_KEY_VARIABLES, Backend, gemini_backend
from lc_gemini_router.tools.simulated import simulated_responder

__all__ = [
    "API_KEY_VARIABLES",
    "DEMO_TOOLS",
    "MAX_TOOL_STEPS",
    "WORKLOAD",
    "Backend",
    "DemoResult",
    "DemoTask",
    "gemini_backend",
    "read_file",
    "run_tests",
    "run_workload",
    "search_docs",
    "simulated_responder",
]


MAX_TOOL_STEPS = 6
"""Model calls a tool task may make before :func:`run_workload` stops its loop."""


@tool
def search_docs(query: str) -> str:
    """Search the project documentation and return the best matching passages."""
    return (
        f"2 passages match {query!r}:\n"
        "docs/testing.md: Tests marked @flaky are retried once; a test that fails twice "
        "fails the nightly build.\n"
        "docs/ci.md: The nightly build runs the whole suite with --timeout=30 on 2 CPUs."
    )


@tool
def read_file(path: str) -> str:
    """Read a text file from the repository."""
    return (
        f"{path}:\n"
        "@pytest.mark.flaky\n"
        "def test_roundtrip_large(tmp_path):\n"
        "    data = make_blob(size=2_000_000_000)\n"
        "    assert read_back(write(tmp_path, data)) == data\n"
    )


@tool
def run_tests(selection: str) -> str:
    """Run the test suite (or a selection of it) and return the summary."""
    return (
        f"pytest {selection}: 1 failed, 212 passed in 61.4s\n"
        "FAILED tests/test_io.py::test_roundtrip_large - Failed: Timeout >30.0s"
    )


DEMO_TOOLS: tuple[BaseTool, ...] = (search_docs, read_file, run_tests)
"""Three offline tools for the agentic task: canned answers, no I/O."""


@dataclass(frozen=True)
class DemoTask:
    """One request of a workload.

    Attributes:
        name: Short label, e.g. ``"translate"``.
        category: The kind of work (translation, extraction, reasoning, agentic, ...).
        prompt: The user message.
        tools: Tools bound for the request; a task with tools runs a tool loop.
    """

    name: str
    category: str
    prompt: str
    tools: tuple[BaseTool, ...] = ()


WORKLOAD: tuple[DemoTask, ...] = (
    DemoTask(
        "translate",
        "translation",
        "Translate into French: 'Our office is closed on Monday 11 November for the public "
        "holiday. Orders placed over the weekend ship on Tuesday. Urgent requests can go to "
        "support@example.com, which is staffed from 9:00 to 17:00 every day.'",
    ),
    DemoTask(
        "extract",
        "extraction",
        "Extract the sender, the invoice number, the due date and the total due as JSON "
        "from this email:\n"
        "From: Dana Reyes <dana@northwind.example>\n"
        "Subject: Invoice INV-20931 (October retainer)\n\n"
        "Hi Sam,\n\nAttached is invoice INV-20931 for the October retainer: 36 hours of "
        "design review at EUR 110, plus EUR 220 of stock-photo licences. The total due is "
        "EUR 4,180.00, payable by 30 November to the usual account. Let me know if the PO "
        "number should appear on it.\n\nThanks,\nDana",
    ),
    DemoTask(
        "summarize",
        "summarization",
        "Summarize these release notes in three bullet points for the support team:\n"
        "Version 2.4 adds streaming uploads for files over 100 MB, so large imports no "
        "longer time out. Python 3.8 is no longer supported; 3.9 is the minimum. A crash "
        "when the cache directory is read-only is fixed: the client now falls back to a "
        "temporary directory and logs a warning. Retries use exponential backoff with "
        "jitter instead of a fixed two-second delay. The --fast flag is renamed "
        "--no-verify; the old name keeps working until version 3 and prints a deprecation "
        "notice. Windows installers are now signed.",
    ),
    DemoTask(
        "label",
        "classification",
        "Label the sentiment of each review as positive, negative or neutral:\n"
        "1. 'Arrived two days late, but the headphones sound great and the battery lasts "
        "all week.'\n"
        "2. 'The left ear cup cracked after a month. Support never answered.'\n"
        "3. 'They are headphones. They work.'",
    ),
    DemoTask(
        "tickets",
        "classification",
        "Classify each support ticket by team (billing, shipping, technical):\n"
        "A: 'I was charged twice for order 5531.'\n"
        "B: 'The app logs me out every time I switch to another app.'\n"
        "C: 'My parcel has said out for delivery since Friday.'",
    ),
    DemoTask("chat", "chat", "Hi! Can you suggest a name for a grey cat who loves boxes?"),
    DemoTask(
        "explain",
        "reasoning",
        "Explain in one paragraph how a bloom filter can say 'maybe present' but never "
        "'maybe absent'.",
    ),
    DemoTask(
        "translate-ja",
        "translation",
        "Translate 'Where is the nearest train station?' into Japanese and into Spanish.",
    ),
    DemoTask(
        "proof",
        "reasoning",
        "Prove that for every integer n >= 1 the sum of the first n odd numbers is n^2, "
        "then prove that there are infinitely many primes of the form 4k + 3.",
    ),
    DemoTask(
        "debug",
        "coding",
        "Debug and refactor this function: it should return the running median of a stream "
        "but returns wrong values once the two heaps differ in size by two.\n"
        "```python\n"
        "import heapq\n\n"
        "def running_median(stream):\n"
        "    low, high, out = [], [], []\n"
        "    for x in stream:\n"
        "        heapq.heappush(low, -x)\n"
        "        if len(low) > len(high) + 2:\n"
        "            heapq.heappush(high, -heapq.heappop(low))\n"
        "        out.append(-low[0] if len(low) > len(high) else (high[0] - low[0]) / 2)\n"
        "    return out\n"
        "```",
    ),
    DemoTask(
        "agent",
        "agentic",
        "Find out why the nightly build fails: search the docs for the flaky-test policy, "
        "read tests/test_io.py, run the tests, and report the root cause with a fix.",
        tools=DEMO_TOOLS,
    ),
)
"""A mixed workload as real traffic looks: mostly cheap work, a few hard requests."""


@dataclass(frozen=True)
class DemoResult:
    """How one task was routed, what it cost and what came back.

    Attributes:
        task: The task.
        decision: The routing decision of the task's first model call.
        model: The model that gave the final answer.
        steps: Model calls for the task (a tool task makes several).
        input_tokens: Input tokens of every call but the classifier's (all steps).
        output_tokens: Output tokens of those calls, thinking included.
        cost: Exact USD of those calls: the answer's steps, plus any speculative
            work cancelled by an escalation; None when a call has no price.
        classifier_cost: Exact USD of the classifier call; 0 when it was not called
            (the rules or the decision cache decided), None when it has no price.
        reply: Text of the final answer.
    """

    task: DemoTask
    decision: RouteDecision
    model: str
    steps: int
    input_tokens: int
    output_tokens: int
    cost: Decimal | None
    classifier_cost: Decimal | None
    reply: str


def _decision(message: BaseMessage) -> RouteDecision:
    meta = message.response_metadata.get(ROUTER_METADATA_KEY) or {}
    return RouteDecision.model_validate(meta["decision"])


def _run_task(router: GeminiRouter, task: DemoTask) -> list[AIMessage]:
    """Run one task to its final answer; returns the model's replies, in order."""
    messages: list[BaseMessage] = [HumanMessage(task.prompt)]
    model = router.bind_tools(list(task.tools)) if task.tools else router
    tools = {t.name: t for t in task.tools}
    replies: list[AIMessage] = []
    for _ in range(MAX_TOOL_STEPS):
        reply = model.invoke(messages)
        replies.append(reply)
        messages.append(reply)
        if not reply.tool_calls:
            break
        for call in reply.tool_calls:
            chosen = tools.get(call["name"])
            if chosen is None:
                text = f"unknown tool {call['name']!r}"
                messages.append(ToolMessage(text, tool_call_id=call["id"], status="error"))
            else:
                messages.append(chosen.invoke(call))
    return replies


def _spend(
    handler: GeminiCostCallbackHandler, *, classifier: bool
) -> tuple[int, int, Decimal | None]:
    """Input tokens, output tokens and cost of the classifier's calls, or of all others.

    "All others" is the answer with every step, plus any cancelled speculative
    work, so a task's answer and classifier costs add up to everything it spent.
    """
    groups = [t for role, t in handler.by_role.items() if (role == ROLE_CLASSIFIER) == classifier]
    cost = (
        None if any(t.unpriced_calls for t in groups) else sum((t.cost for t in groups), Decimal(0))
    )
    return sum(t.input_tokens for t in groups), sum(t.output_tokens for t in groups), cost


def run_workload(
    backend: Backend,
    tasks: Sequence[DemoTask] = WORKLOAD,
    *,
    config: RouterConfig | None = None,
    on_result: Callable[[DemoResult], None] | None = None,
    log: str | Path | IO[str] | None = None,
) -> tuple[list[DemoResult], GeminiCostCallbackHandler]:
    """Route every task through one router and price each call exactly.

    Tool tasks run a plain tool loop (bind the tools, run the calls, send the
    results back) of at most :data:`MAX_TOOL_STEPS` model calls.

    Args:
        backend: Where the calls go (see :func:`gemini_backend`).
        tasks: The workload; :data:`WORKLOAD` by default.
        config: Routing settings; the defaults when None.
        on_result: Called with each task's result as soon as it is done.
        log: A path or text stream for one JSON line per model call.

    Returns:
        The results in task order, and the handler with the totals of every call
        (``by_model``, ``by_role``, ``reference_cost``, ``savings``).

    Raises:
        LaneError: a lane failed and its fallback lane too.
        RetiredModelError: the config names a model ID that has been shut down.
    """
    router = backend.router(config)
    results: list[DemoResult] = []
    try:
        with get_gemini_cost_callback(log=log) as overall:
            for task in tasks:
                # A nested block: it counts this task alone and passes every call up.
                with get_gemini_cost_callback() as per_task:
                    replies = _run_task(router, task)
                input_tokens, output_tokens, cost = _spend(per_task, classifier=False)
                final = replies[-1]
                result = DemoResult(
                    task=task,
                    decision=_decision(replies[0]),
                    model=str(final.response_metadata.get("model_name") or ""),
                    steps=len(replies),
                    input_tokens=input_tokens,
                    output_tokens=output_tokens,
                    cost=cost,
                    classifier_cost=_spend(per_task, classifier=True)[2],
                    reply=str(final.text),
                )
                results.append(result)
                if on_result is not None:
                    on_result(result)
    finally:
        router.close()
    return results, overall
