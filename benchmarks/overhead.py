"""Section 1, overhead: what routing adds to a call, on zero-latency fakes.

Three paths, each against the bare call(s) the router makes on the same fake models:

* classifier: a request the rules leave open (a fresh one each time, so the cache
  misses) vs the bare structured classifier call plus the bare lite call;
* rule: a request a text rule decides vs the bare lite call;
* cache: a request whose score is cached vs the bare lite call.

Routed and bare calls alternate (routed first on even iterations, bare first on odd
ones) after a warm-up, so drift in machine speed hits both alike; ratios compare
medians (totals are reported too). All calls are synchronous ``invoke``.

The goals are measured through the real ``ChatGoogleGenerativeAI`` client on the
loopback ``GeminiSimulator`` (no delay): the rule path, a cache hit, the classifier
path (against a bare structured classifier call plus a lite call, the classifier
prompt rendered inside the timed region on both sides) and a drained stream, each
against the bare calls on the same server.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from typing import Any

from langchain_core.messages import BaseMessage, HumanMessage

from benchmarks.common import Sizes, median_us, profile_calls, ratio
from benchmarks.fakes import LITE, PRO, PRO_TOOLS, KeywordClassifier, LaneFake
from benchmarks.sim import respond
from lc_gemini_router import ClassifierSettings, GeminiRouter
from lc_gemini_router.api_versions import ROUTER_API_VERSION
from lc_gemini_router.classify.classifier import ROUTER_QUESTIONS
from lc_gemini_router.classify.decision_model import classifier_prompt
from lc_gemini_router.classify.prompt import router_state
from lc_gemini_router.classify.questions import response_schema
from lc_gemini_router.testing.simulator import GeminiSimulator

__all__ = ["GOALS", "LOOPBACK_GOALS", "run_overhead"]

ROUTER_SCHEMA = {
    "response_mime_type": "application/json",
    "response_json_schema": response_schema(ROUTER_QUESTIONS),
}
"""The bare side's structured-output arguments: the router's own questions."""

GOALS = {"classifier": 1.15, "rule": 1.10, "cache": 1.10}
"""Ratio routed / bare on zero-latency fakes (LangChain's own invoke dominates there)."""
LOOPBACK_GOALS = {"rule": 1.03, "cache": 1.03, "classifier": 1.02, "stream": 1.04}
"""Ratio routed / bare through the real client on the loopback server: the goals."""


def _open_prompt(i: int) -> list[BaseMessage]:
    # No text rule recognises it; the keyword classifier keeps it on lite.
    return [HumanMessage(f"What could explain observation {i} in my garden this week?")]


def _rule_prompt(i: int) -> list[BaseMessage]:
    return [HumanMessage(f"Translate 'good morning, table {i}' into French")]


_CACHED: list[BaseMessage] = [
    HumanMessage("What could explain the odd humming noise my fridge makes?")
]


def _cached_prompt(i: int) -> list[BaseMessage]:
    return _CACHED


PROMPTS: dict[str, Callable[[int], list[BaseMessage]]] = {
    "classifier": _open_prompt,
    "rule": _rule_prompt,
    "cache": _cached_prompt,
}


def _models() -> tuple[KeywordClassifier, LaneFake, GeminiRouter]:
    classifier = KeywordClassifier()
    lite = LaneFake(model_name=LITE)
    pro = LaneFake(model_name=PRO)
    pro_tools = LaneFake(model_name=PRO_TOOLS)
    router = GeminiRouter(classifier=classifier, lite=lite, pro=pro, pro_tools=pro_tools)
    return classifier, lite, router


def _interleaved(
    bare: Callable[[int], object],
    routed: Callable[[int], object],
    iterations: int,
    warmup: int,
) -> tuple[list[int], list[int]]:
    for i in range(warmup):
        bare(i)
        routed(i)
    gc.collect()
    bare_ns: list[int] = []
    routed_ns: list[int] = []
    clock = time.perf_counter_ns
    for k in range(iterations):
        i = warmup + k
        if k % 2:
            start = clock()
            bare(i)
            middle = clock()
            routed(i)
            end = clock()
            bare_ns.append(middle - start)
            routed_ns.append(end - middle)
        else:
            start = clock()
            routed(i)
            middle = clock()
            bare(i)
            end = clock()
            routed_ns.append(middle - start)
            bare_ns.append(end - middle)
    return bare_ns, routed_ns


Probe = tuple[Callable[[], object], Callable[[], object]]
"""One more routed call and one more bare call, for the profiler."""


def _measure(kind: str, sizes: Sizes) -> tuple[dict[str, Any], Probe]:
    classifier, lite, router = _models()
    prompt_of = PROMPTS[kind]
    total = sizes.overhead_warmup + sizes.overhead_iterations
    messages = [prompt_of(i) for i in range(total)]
    structured = classifier.bind(**ROUTER_SCHEMA)
    settings = ClassifierSettings()
    classifier_prompts = [classifier_prompt(router_state(m, [], settings)) for m in messages]
    sources: list[str] = []

    def bare(i: int) -> None:
        if kind == "classifier":
            structured.invoke(classifier_prompts[i])
        lite.invoke(messages[i])

    def routed(i: int) -> None:
        reply = router.invoke(messages[i])
        if i == total - 1 or i == sizes.overhead_warmup:
            sources.append(reply.response_metadata["lc_gemini_router"]["decision"]["source"])

    bare_ns, routed_ns = _interleaved(
        bare, routed, sizes.overhead_iterations, sizes.overhead_warmup
    )
    bare_us, routed_us = median_us(bare_ns), median_us(routed_ns)
    result = {
        "path": kind,
        "bare": "classifier structured call + lite call" if kind == "classifier" else "lite call",
        "decision_source": sorted(set(sources)),
        "iterations": sizes.overhead_iterations,
        "warmup": sizes.overhead_warmup,
        "bare_median_us": round(bare_us, 2),
        "routed_median_us": round(routed_us, 2),
        "overhead_median_us": round(routed_us - bare_us, 2),
        "ratio_median": round(ratio(routed_us, bare_us), 4),
        "ratio_total": round(ratio(sum(routed_ns), sum(bare_ns)), 4),
        "goal": GOALS[kind],
        "met": ratio(routed_us, bare_us) <= GOALS[kind],
    }
    counter = [total, total]

    def one_more() -> object:
        counter[0] += 1
        return router.invoke(prompt_of(counter[0]))

    def one_bare() -> object:
        counter[1] += 1
        messages = prompt_of(counter[1])
        if kind == "classifier":
            structured.invoke(classifier_prompt(router_state(messages, [], settings)))
        return lite.invoke(messages)

    return result, (one_more, one_bare)


def _loopback(kind: str, sizes: Sizes) -> dict[str, Any]:
    """One path through the real client on the loopback simulator, against the bare
    ``ChatGoogleGenerativeAI`` call(s) the router makes for it.

    The bare classifier side renders its prompt inside the timed region, as the router
    does; ``stream`` drains both streams.
    """
    from langchain_google_genai import ChatGoogleGenerativeAI

    iterations = sizes.loopback_overhead_iterations
    warmup = max(5, iterations // 10)
    settings = ClassifierSettings()

    def client(model: str, **kwargs: Any) -> ChatGoogleGenerativeAI:
        return ChatGoogleGenerativeAI(
            model=model,
            google_api_key="test",
            base_url=sim.base_url,
            max_retries=1,
            api_version=ROUTER_API_VERSION,  # the version the router's own lanes use
            **kwargs,
        )

    with GeminiSimulator(responder=respond) as sim:
        router = GeminiRouter(api_key="test", base_url=sim.base_url, max_retries=1)
        lite = client(LITE)
        classifier = client(
            LITE, temperature=0.0, max_tokens=settings.max_output_tokens, reasoning_effort="minimal"
        ).bind(**ROUTER_SCHEMA)
        prompt_of = {"rule": _rule_prompt, "stream": _rule_prompt, "cache": _cached_prompt}.get(
            kind, _open_prompt
        )
        if kind == "cache":
            router.invoke(_CACHED)  # the score is cached from here on

        def bare(i: int) -> object:
            messages = prompt_of(i)
            if kind == "stream":
                return list(lite.stream(messages))
            if kind == "classifier":
                classifier.invoke(classifier_prompt(router_state(messages, [], settings)))
            return lite.invoke(messages)

        def routed(i: int) -> object:
            if kind == "stream":
                return list(router.stream(prompt_of(i)))
            return router.invoke(prompt_of(i))

        try:
            bare_ns, routed_ns = _interleaved(bare, routed, iterations, warmup)
        finally:
            router.close()
            if lite.client is not None:
                lite.client.close()
    bare_us, routed_us = median_us(bare_ns), median_us(routed_ns)
    goal = LOOPBACK_GOALS[kind]
    return {
        "path": kind,
        "bare": {
            "classifier": "bare structured classifier call + lite call",
            "stream": "a drained lite stream",
        }.get(kind, "lite call"),
        "iterations": iterations,
        "bare_median_us": round(bare_us, 2),
        "routed_median_us": round(routed_us, 2),
        "overhead_median_us": round(routed_us - bare_us, 2),
        "ratio_median": round(ratio(routed_us, bare_us), 4),
        "goal": goal,
        "met": ratio(routed_us, bare_us) <= goal,
    }


def run_overhead(sizes: Sizes) -> dict[str, Any]:
    """Measure the three paths; profile the ones that miss their goal."""
    results: dict[str, Any] = {}
    profiles: dict[str, Any] = {}
    for kind in PROMPTS:
        result, (one_more, one_bare) = _measure(kind, sizes)
        results[kind] = result
        if not result["met"]:
            calls = max(50, sizes.overhead_iterations // 4)
            profiles[kind] = profile_calls(one_more, calls, baseline=one_bare)
    results["profile"] = profiles
    results["loopback"] = {kind: _loopback(kind, sizes) for kind in LOOPBACK_GOALS}
    results["note"] = (
        "sync invoke, zero-latency fakes, no callback handlers; medians of interleaved calls. "
        "Profiles cover the calling thread only: the classifier path's classifier call runs "
        "in the router's background thread and shows as a wait there."
    )
    return results
