"""A ready backend and a built-in workload: the router on real Gemini or offline.

:func:`gemini_backend` yields a :class:`Backend`: the live Gemini API when an API
key is set, else an embedded :class:`~lc_gemini_router.testing.simulator.GeminiSimulator`
that the real ``ChatGoogleGenerativeAI`` talks to over loopback HTTP, answering
like Gemini would (:func:`simulated_responder`). :func:`run_workload` routes a
mixed workload (:data:`WORKLOAD`) through one :class:`~lc_gemini_router.GeminiRouter`
and prices every call exactly. The CLI's ``demo`` command and the notebooks use it.

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

import json
import math
import os
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.tools import BaseTool, tool

from lc_gemini_router.callbacks.handler import GeminiCostCallbackHandler, get_gemini_cost_callback
from lc_gemini_router.classify.classifier import wire_answer
from lc_gemini_router.classify.prompt import read_classifier_input
from lc_gemini_router.config import Category, RouterConfig
from lc_gemini_router.errors import ConfigError
from lc_gemini_router.keys import ROLE_CLASSIFIER, ROUTER_METADATA_KEY
from lc_gemini_router.router import GeminiRouter
from lc_gemini_router.routing.policy import RouteDecision
from lc_gemini_router.testing.simulator import GeminiSimulator, Responder, SimReply, SimRequest

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

API_KEY_VARIABLES = ("GOOGLE_API_KEY", "GEMINI_API_KEY")
"""Environment variables that hold a Gemini API key, in the order they are read."""
MAX_TOOL_STEPS = 6
"""Model calls a tool task may make before :func:`run_workload` stops its loop."""

# Sent to the simulator instead of any real key the environment holds, so a real
# key never leaves the process in simulated mode.
_SIMULATED_KEY = "simulated-key"


# -- backend ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Backend:
    """Where the router's Gemini calls go: the live API or the embedded simulator.

    Attributes:
        live: True for the real Gemini API (an API key is set), False for the simulator.
        base_url: The simulator's URL; None when live.
        api_key: The key the lanes send (a placeholder when simulated); kept out of repr.
        description: One line for humans, saying LIVE or SIMULATED and why.
    """

    live: bool
    base_url: str | None
    api_key: str | None = field(repr=False)
    description: str

    def router(self, config: RouterConfig | None = None, **kwargs: Any) -> GeminiRouter:
        """A :class:`~lc_gemini_router.GeminiRouter` whose lanes call this backend.

        Args:
            config: Routing settings; the defaults when None.
            **kwargs: Further ``GeminiRouter`` fields (``temperature``, ``lite``, ...);
                they win over the backend's settings.

        Returns:
            The router. Lanes are built as ``ChatGoogleGenerativeAI`` with this
            backend's key and URL, and one attempt per call when simulated.

        Raises:
            RetiredModelError: the config names a model ID that has been shut down.
        """
        params: dict[str, Any] = {"api_key": self.api_key, "base_url": self.base_url}
        if config is not None:
            params["config"] = config
        if not self.live:
            # The simulator never throttles: a retry would only hide a scripted fault.
            params["max_retries"] = 1
        params.update(kwargs)
        return GeminiRouter(**params)


def _api_key() -> tuple[str, str] | None:
    for name in API_KEY_VARIABLES:
        value = os.environ.get(name)
        if value:
            return name, value
    return None


@contextmanager
def gemini_backend(*, live: bool | None = None) -> Iterator[Backend]:
    """Yield the live Gemini API or a simulator started for the ``with`` block.

    Args:
        live: True for the live API, False for the simulator (even when a key is
            set), None for live exactly when ``GOOGLE_API_KEY`` or
            ``GEMINI_API_KEY`` is set.

    Yields:
        The backend; a simulator is closed when the block ends.

    Raises:
        ConfigError: ``live=True`` and no API key is set.

    Example:
        >>> from lc_gemini_router.tools.demo import gemini_backend
        >>> with gemini_backend(live=False) as backend:
        ...     backend.live, backend.base_url.startswith("http://127.0.0.1:")
        (False, True)
    """
    found = _api_key()
    if live is None:
        live = found is not None
    if live:
        if found is None:
            msg = "live mode needs GOOGLE_API_KEY (or GEMINI_API_KEY) set in the environment"
            raise ConfigError(msg)
        name, key = found
        yield Backend(
            live=True, base_url=None, api_key=key, description=f"LIVE Gemini API (key from {name})"
        )
        return
    why = "simulation requested, API key ignored" if found else "no GOOGLE_API_KEY found"
    with GeminiSimulator(responder=simulated_responder()) as simulator:
        yield Backend(
            live=False,
            base_url=simulator.base_url,
            api_key=_SIMULATED_KEY,
            description=f"SIMULATED Gemini (loopback {simulator.base_url}) - {why}",
        )


# -- simulated Gemini ---------------------------------------------------------------------


@dataclass(frozen=True)
class _Cue:
    """Words that mark a kind of request, and what Flash-Lite would score it."""

    category: Category
    difficulty: float
    pattern: re.Pattern[str]
    needs_tools: bool = False


def _cue(category: Category, difficulty: float, words: str, needs_tools: bool = False) -> _Cue:
    return _Cue(category, difficulty, re.compile(rf"\b(?:{words})\b", re.IGNORECASE), needs_tools)


# Strong cues name the task itself: the earliest one in the text wins, so
# "Translate this proof" is translation and "Prove ..., then summarize" is reasoning.
_STRONG_CUES = (
    _cue(
        "agentic",
        0.75,
        r"find out why|investigate|use the tools|using the tools|search the docs|"
        r"run the tests|look through the repo",
        needs_tools=True,
    ),
    _cue("reasoning", 0.9, r"prove|proof|theorem|lemma|derive|olympiad|by induction"),
    _cue(
        "coding",
        0.8,
        r"debug|bugs?|refactor|traceback|stack trace|race condition|deadlock|memory leak|"
        r"segfault",
    ),
    _cue("coding", 0.65, r"implement|write an? (?:\w+ )?(?:function|class|script|program)"),
    _cue("reasoning", 0.7, r"analy[sz]e|trade-?offs?|root cause|carefully|risk assessment"),
    _cue(
        "translation",
        0.05,
        r"translate|translation|into (?:french|german|spanish|italian|japanese|chinese|"
        r"portuguese|english|dutch|korean)",
    ),
    _cue("extraction", 0.15, r"extract|pull out|list (?:all|the) (?:names|dates|emails|fields)"),
    _cue("classification", 0.1, r"classify|label|categori[sz]e|sentiment"),
    _cue("summarization", 0.2, r"summari[sz]e|summary|tl;?dr|key points"),
)
# Weak cues count only when no strong cue matches: "Hi! Prove ..." is a proof.
_WEAK_CUES = (
    _cue("coding", 0.35, r"rename|docstring|add (?:a )?comments?|format (?:this|the) code"),
    _cue("reasoning", 0.4, r"explain|why|how does|how do"),
    _cue("chat", 0.05, r"hi|hello|hey|thanks|thank you|good morning|how are you"),
)
_DEFAULT_SCORE: tuple[Category, float, bool] = ("chat", 0.3, False)
"""What Flash-Lite answers for a request no cue describes."""

# Visible output tokens of a final answer, by category (translation follows its source).
_OUTPUT_TOKENS: dict[str, int] = {
    "extraction": 60,
    "classification": 20,
    "summarization": 120,
    "chat": 40,
    "coding": 450,
    "reasoning": 600,
    "agentic": 250,
}
_MEDIUM_OUTPUT_TOKENS = 200
"""Visible output of reasoning or coding work that is not hard (an explanation, a rename)."""
_HARD_DIFFICULTY = 0.6
# Thinking tokens of a final answer on Pro; Flash-Lite thinks only a little, on hard work.
_PRO_THINKING: dict[str, int] = {"reasoning": 1800, "coding": 1200, "agentic": 800}
_PRO_THINKING_EASY = 200
_LITE_THINKING_HARD = 120
_HARD_CATEGORIES = frozenset({"reasoning", "coding", "agentic"})
_TOOL_STEP_THINKING = {"pro": 400, "lite": 0}
_CLASSIFIER_OUTPUT_TOKENS = 15
_TOOL_ROUNDS = 2
"""Tool rounds the simulated model runs in a turn before it answers."""

_ACTIONS: dict[str, str] = {
    "translation": "Translated the text, keeping its tone and formatting.",
    "extraction": "Extracted the requested fields into a short structured list.",
    "classification": "Labeled the input with one of the requested classes.",
    "summarization": "Summarized the text in three short points.",
    "chat": "Replied briefly and conversationally.",
    "coding": "Found the defect, explained the fix and returned the refactored code.",
    "reasoning": "Worked through the problem step by step and wrote out the full argument.",
    "agentic": "Planned the steps and reported what the tools found.",
}


def _tokens(text: str) -> int:
    """About four characters per token, as Gemini counts English text."""
    return max(1, math.ceil(len(text) / 4))


def _score(text: str) -> tuple[Category, float, bool]:
    """Category, difficulty and needs_tools that Flash-Lite would give ``text``."""
    for cues in (_STRONG_CUES, _WEAK_CUES):
        hits = [(m.start(), i, c) for i, c in enumerate(cues) if (m := c.pattern.search(text))]
        if hits:
            _, _, cue = min(hits, key=lambda hit: (hit[0], hit[1]))
            return cue.category, cue.difficulty, cue.needs_tools
    return _DEFAULT_SCORE


def _classifier_text(request: SimRequest) -> tuple[str, str]:
    """The latest user message and the earlier context from a classifier request."""
    return read_classifier_input(request.last_user_text)


def _is_classifier(request: SimRequest) -> bool:
    schema = request.response_schema
    text = json.dumps(schema) if schema is not None else ""
    return "difficulty" in text and "needs_tools" in text


def _classify(request: SimRequest) -> SimReply:
    latest, earlier = _classifier_text(request)
    category, difficulty, needs_tools = _score(latest)
    # A bare follow-up ("yes, do it") has the difficulty of the plan it approves.
    if (category, difficulty, needs_tools) == _DEFAULT_SCORE and earlier.strip():
        category, difficulty, needs_tools = _score(f"{earlier}\n{latest}")
    return SimReply(
        json=wire_answer(difficulty, needs_tools, category),
        prompt_tokens=_tokens(request.prompt_text),
        output_tokens=_CLASSIFIER_OUTPUT_TOKENS,
    )


_PATH_IN_TEXT = re.compile(r"[\w./-]+\.(?:py|md|toml|txt|json|yaml|yml|cfg|ini|js|ts|rs|go)\b")


def _argument(name: str, schema: Mapping[str, Any], text: str) -> Any:
    """A plausible value for one tool parameter, taken from the user's request."""
    kind = str(schema.get("type", "string")).lower()
    if kind in ("integer", "number"):
        return 20
    if kind == "boolean":
        return True
    if kind == "array":
        return []
    lowered = name.lower()
    if any(word in lowered for word in ("path", "file", "selection", "target")):
        found = _PATH_IN_TEXT.search(text)
        return found.group(0) if found else "README.md"
    # A query: the request's first clause ("Find out why the nightly build fails").
    return re.split(r"[:\n]|\.\s", text.strip(), maxsplit=1)[0][:80]


def _arguments(declaration: Mapping[str, Any], text: str) -> dict[str, Any]:
    params = declaration.get("parameters") or declaration.get("parametersJsonSchema") or {}
    properties: Mapping[str, Any] = params.get("properties") or {}
    required = set(params.get("required") or properties)
    return {
        name: _argument(name, schema, text)
        for name, schema in properties.items()
        if name in required
    }


def _tool_calls(request: SimRequest, rounds: int, text: str) -> list[tuple[str, dict[str, Any]]]:
    """Round 0 calls the first tool; round 1 calls the remaining ones in parallel."""
    declarations = request.function_declarations
    chosen = declarations[:1] if rounds == 0 else declarations[1:3] or declarations[:1]
    return [(str(d.get("name")), _arguments(d, text)) for d in chosen]


def _answer_text(request: SimRequest, category: str, difficulty: float) -> str:
    action = _ACTIONS[category]
    used = sorted({str(r.get("name")) for r in request.function_responses})
    if used:
        action = f"Called {', '.join(used)} and summarized what they returned."
    return (
        f"[simulated {request.model}] {action} "
        f"(category {category}, difficulty {difficulty:.2f}; no real model was called)"
    )


def _answer(request: SimRequest) -> SimReply:
    user_text = request.last_user_text
    category, difficulty, _ = _score(user_text)
    tier = "pro" if "pro" in request.model.lower() else "lite"
    prompt = _tokens(request.prompt_text)
    if request.response_schema is not None:
        # Structured output: the simulator writes schema-valid JSON and counts it.
        thinking = _PRO_THINKING_EASY if tier == "pro" else 0
        return SimReply(prompt_tokens=prompt, thinking_tokens=thinking)
    rounds = request.tool_rounds
    if request.function_declarations and rounds < _TOOL_ROUNDS:
        return SimReply(
            function_calls=_tool_calls(request, rounds, user_text),
            prompt_tokens=prompt,
            thinking_tokens=_TOOL_STEP_THINKING[tier],
        )
    hard = category in _HARD_CATEGORIES and difficulty >= _HARD_DIFFICULTY
    if tier == "pro":
        thinking = _PRO_THINKING[category] if hard else _PRO_THINKING_EASY
    else:
        thinking = _LITE_THINKING_HARD if hard else 0
    if category == "translation":
        output = _tokens(user_text)
    elif category in _HARD_CATEGORIES and not hard:
        output = _MEDIUM_OUTPUT_TOKENS
    else:
        output = _OUTPUT_TOKENS[category]
    return SimReply(
        text=_answer_text(request, category, difficulty),
        prompt_tokens=prompt,
        output_tokens=output,
        thinking_tokens=thinking,
    )


def simulated_responder() -> Responder:
    """How the simulated Gemini answers: deterministic, with realistic token counts.

    Classifier requests (a response schema with ``difficulty``) are scored with
    keyword heuristics that mimic Flash-Lite: translation, extraction, labeling,
    summaries and chit-chat score low; proofs, debugging and careful analysis
    high; multi-step work with tools is ``agentic`` with ``needs_tools``.

    Lane requests get a short text saying what the model did, with output tokens
    by category (translation ~ its source, extraction 60, summary 120, chat 40,
    coding 450, reasoning 600), thinking tokens on Pro (800-1,800 for hard work)
    and few or none on Flash-Lite. With tools bound, the model calls them for two
    rounds (first tool, then the others in parallel) before answering. Structured
    output gets token counts only; the simulator fills schema-valid JSON.

    Returns:
        A responder for :class:`~lc_gemini_router.testing.simulator.GeminiSimulator`.

    Example:
        >>> from lc_gemini_router.tools.demo import simulated_responder
        >>> from lc_gemini_router.testing.simulator import GeminiSimulator
        >>> from langchain_google_genai import ChatGoogleGenerativeAI
        >>> with GeminiSimulator(responder=simulated_responder()) as sim:
        ...     llm = ChatGoogleGenerativeAI(
        ...         model="gemini-3.1-pro-preview", google_api_key="k",
        ...         base_url=sim.base_url, api_version="v1beta",
        ...     )
        ...     reply = llm.invoke("Prove that there are infinitely many primes.")
        >>> reply.usage_metadata["output_token_details"]["reasoning"]
        1800
    """

    def respond(request: SimRequest) -> SimReply:
        return _classify(request) if _is_classifier(request) else _answer(request)

    return respond


# -- workload -----------------------------------------------------------------------------


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
