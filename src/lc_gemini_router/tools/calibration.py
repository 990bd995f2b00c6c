"""Thresholds from data: pick ``escalation_threshold`` from a sample of real requests.

A sample is a JSON-lines file in one of two formats, detected from its first line:

**(a) a cost log** written by ``GeminiCostCallbackHandler(log=...)`` (or
``lc-gemini-router demo --log``). Each ``"answer"`` record that carries a routing
decision is one request:

- decided by ``rule``, ``override`` or ``sticky``: its lane is fixed whatever the
  threshold (``rule_lane``); so is an answer that fell back after its lane failed,
  unless the classifier had scored it. The later steps of an agent turn are
  ``sticky``: they keep their logged lane even where the turn's first step would
  change lanes at another threshold;
- decided by ``classifier`` or ``cache``: its recorded ``score``, ``category``,
  ``needs_tools`` and ``tools`` decide, at any threshold, through the router's policy;
- ``fallback`` without a score (the classifier failed): the classifier's fallback lane.

Its recorded tokens are priced on ``config.lite_model`` and on ``config.pro_model``
(:func:`~lc_gemini_router.price_usage`). That replays the *same* tokens on both
lanes: an answer moved to Pro would also think on Pro, so spend with more Pro is a
lower bound (and an answer moved off Pro a little over-counted). Its classifier
cost is the cost of the ``"classifier"`` record whose ``router_run_id`` is the
answer's ``run_id``; in logs written before that field existed, a classifier record
is counted with the next classifier-decided answer of the file (the classifier call
runs just before its answer, and the total is what the calibration uses). Other records
(speculative work, calls made outside a router) are skipped.

**(b) request lines**, one request per line::

    {"id": "q1", "prompt": "Prove that ...", "score": 0.9, "category": "reasoning"}
    {"id": "q2", "messages": [{"role": "user", "content": "..."}], "output_tokens": 800}

``prompt`` or ``messages`` (roles ``system``, ``user``/``human``,
``assistant``/``ai``) is required; optional: ``id`` (default: the line number),
``score`` (0..1), ``category`` (default ``chat``), ``needs_tools`` (default false),
``tools`` (number of bound tools, default 0), ``output_tokens`` (expected reply
length, default :data:`DEFAULT_OUTPUT_TOKENS`) and ``classifier_cost`` (USD).
Lines are routed as the router would: the rules of the config first (a line they
decide gets that lane, whatever its score); the classifier decides the others. Their
costs are estimated from the text (about four characters per token) plus
``output_tokens``, priced on the lite and pro models; the classifier cost of a line
that brings its own score is estimated from the classifier's bounded input unless
``classifier_cost`` is given. Lines with no score are *pending*: score them with
:func:`score_sample` (the router's classifier, live or simulated).

Then :func:`calibrate` replays the requests through the router's policy
(:func:`lc_gemini_router.routing.thresholds.sweep`) at the candidate thresholds and picks
the one that meets a target Pro share or a budget per 1,000 requests;
:func:`write_config` writes the router config with that threshold as TOML that
:meth:`RouterConfig.from_toml` loads.

Example:
    >>> from decimal import Decimal
    >>> from lc_gemini_router.tools.calibration import calibrate
    >>> from lc_gemini_router.routing.thresholds import ScoredRequest
    >>> sample = [
    ...     ScoredRequest(f"r{i}", score=i / 10, lite_cost=Decimal("0.001"),
    ...                   pro_cost=Decimal("0.008"))
    ...     for i in range(10)
    ... ]
    >>> result = calibrate(sample, target_pro_share=0.3)
    >>> result.chosen.threshold, result.chosen.pro_share, result.chosen.spend_per_1k
    (0.7, 0.3, Decimal('3.100'))
    >>> result.config.escalation_threshold
    0.7
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal, NoReturn

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from lc_gemini_router.callbacks.handler import get_gemini_cost_callback
from lc_gemini_router.classify.classifier import CLASSIFIER_INSTRUCTION, render_classifier_input
from lc_gemini_router.config import Category, RouterConfig
from lc_gemini_router.errors import ConfigError, unknown_name_hint
from lc_gemini_router.keys import ROLE_ANSWER, ROLE_CLASSIFIER
from lc_gemini_router.pricing.catalog import ServiceTier
from lc_gemini_router.pricing.costs import price_quietly
from lc_gemini_router.router import GeminiRouter
from lc_gemini_router.routing.policy import RouteDecision, RouteRequest, rule_decision
from lc_gemini_router.routing.thresholds import (
    ScoredRequest,
    ThresholdPoint,
    candidate_thresholds,
    sweep,
)
from lc_gemini_router.tools.jsonl import JsonLine, read_json_lines

__all__ = [
    "CHARS_PER_TOKEN",
    "CLASSIFIER_OUTPUT_TOKENS",
    "DEFAULT_OUTPUT_TOKENS",
    "Calibration",
    "PendingRequest",
    "Sample",
    "SampleFormat",
    "calibrate",
    "dump_config",
    "load_sample",
    "pro_requests",
    "read_sample",
    "score_sample",
    "write_config",
]

SampleFormat = Literal["cost-log", "requests"]
"""The two sample formats: a router cost log, or request lines."""

DEFAULT_OUTPUT_TOKENS = 300
"""Reply length assumed for a request line without ``output_tokens``."""
CHARS_PER_TOKEN = 4
"""Characters per token when token counts are estimated from text."""
CLASSIFIER_OUTPUT_TOKENS = 20
"""Output tokens assumed for one classifier call (its JSON score)."""

_RULE_SOURCES = frozenset({"rule", "override", "sticky"})
_SCORED_SOURCES = frozenset({"classifier", "cache"})


# -- samples ------------------------------------------------------------------------------


@dataclass(frozen=True)
class PendingRequest:
    """A request line that the rules leave open and that has no score yet.

    :func:`score_sample` scores it with a router's classifier.
    """

    id: str
    messages: tuple[BaseMessage, ...]
    tools: int
    """Tools bound to the request (placeholders are bound when it is scored)."""
    lite_cost: Decimal | None
    pro_cost: Decimal | None
    where: str
    """``file:line`` of the request."""


@dataclass(frozen=True)
class Sample:
    """A sample file, read: its requests in file order, some perhaps still pending."""

    path: Path
    format: SampleFormat
    entries: tuple[ScoredRequest | PendingRequest, ...]
    notes: tuple[str, ...] = ()
    """Things worth telling the user (unknown prices, unattributed classifier calls)."""

    @property
    def pending(self) -> tuple[PendingRequest, ...]:
        """The requests that still need a classifier score."""
        return tuple(e for e in self.entries if isinstance(e, PendingRequest))

    @property
    def requests(self) -> list[ScoredRequest]:
        """The requests, when none is pending.

        Raises:
            ConfigError: some requests have no score yet.
        """
        return self.with_scores(())

    def with_scores(self, scored: Sequence[ScoredRequest]) -> list[ScoredRequest]:
        """Every request in file order, the pending ones replaced by ``scored`` (in order).

        Raises:
            ConfigError: ``scored`` does not have one request per pending one.
        """
        pending = self.pending
        if len(scored) != len(pending):
            first = f" (first: {pending[0].where})" if pending else ""
            given = f", {len(scored)} scores given" if scored else ""
            msg = (
                f"{self.path}: {len(pending)} requests have no score{first}{given}: score "
                'them with the classifier (score_sample) or add "score" to each line'
            )
            raise ConfigError(msg)
        scores = iter(scored)
        return [next(scores) if isinstance(e, PendingRequest) else e for e in self.entries]


class _LogRecord(BaseModel):
    """The fields of a cost-log line (``CallRecord.to_json``) that calibration reads."""

    model_config = ConfigDict(extra="ignore")

    run_id: str
    parent_run_id: str | None = None
    router_run_id: str | None = None
    role: str
    service_tier: ServiceTier = "standard"
    input_tokens: int = Field(default=0, ge=0)
    cached_tokens: int = Field(default=0, ge=0)
    output_tokens: int = Field(default=0, ge=0)
    reasoning_tokens: int = Field(default=0, ge=0)
    cost: Decimal | None = None
    decision: dict[str, Any] | None = None


class _Message(BaseModel):
    model_config = ConfigDict(extra="ignore")

    role: Literal["system", "user", "human", "assistant", "ai"]
    content: str


class _RequestLine(BaseModel):
    """One line of the request format."""

    model_config = ConfigDict(extra="ignore")

    id: str | int | None = None
    prompt: str | None = None
    messages: list[_Message] | None = Field(default=None, min_length=1)
    score: float | None = Field(default=None, ge=0, le=1)
    category: Category = "chat"
    needs_tools: bool = False
    tools: int = Field(default=0, ge=0)
    output_tokens: int = Field(default=DEFAULT_OUTPUT_TOKENS, ge=0)
    classifier_cost: Decimal | None = Field(default=None, ge=0)


def _invalid(where: str, exc: ValidationError) -> ConfigError:
    problems = "; ".join(
        f"{'.'.join(str(p) for p in error['loc']) or '(line)'}: {error['msg']}"
        for error in exc.errors()
    )
    return ConfigError(f"{where}: {problems}")


def read_sample(path: str | Path, *, config: RouterConfig | None = None) -> Sample:
    """Read a sample file in either format (see the module docs), detected per file.

    Args:
        path: the JSON-lines file.
        config: lane models to price on, rules for request lines, classifier settings;
            the defaults when None.

    Returns:
        The sample; request lines without a score that the rules leave open are
        :class:`PendingRequest` entries.

    Raises:
        ConfigError: the file cannot be read, is empty, holds a malformed line
            (the message names ``file:line``), or is a cost log with no routed answer.
    """
    file = Path(path)
    config = config or RouterConfig()
    lines = read_json_lines(file, what="sample")
    first = next(lines, None)
    if first is None:
        msg = f"{file}: empty sample (no JSON lines)"
        raise ConfigError(msg)
    number, _, data = first
    rest = _chain(first, lines)
    if "run_id" in data and "role" in data:
        return _read_cost_log(file, rest, config)
    if "prompt" in data or "messages" in data:
        return _read_requests(file, rest, config)
    msg = (
        f"{file}:{number}: neither a cost-log record (run_id, role) nor a request "
        "(prompt or messages)"
    )
    raise ConfigError(msg)


def _chain(first: JsonLine, rest: Iterator[JsonLine]) -> Iterator[JsonLine]:
    yield first
    yield from rest


def load_sample(
    path: str | Path,
    *,
    config: RouterConfig | None = None,
    router: GeminiRouter | None = None,
) -> list[ScoredRequest]:
    """The requests of a sample file, every one ready for :func:`calibrate`.

    Args:
        path: the JSON-lines file (a cost log, or request lines).
        config: see :func:`read_sample`; the router's config when None and a router
            is given.
        router: scores request lines that have no score (:func:`score_sample`).

    Raises:
        ConfigError: see :func:`read_sample`; or lines have no score and no router
            was given.
    """
    if config is None and router is not None:
        config = router.config
    sample = read_sample(path, config=config)
    pending = sample.pending
    if pending and router is not None:
        return sample.with_scores(score_sample(pending, router))
    return sample.requests


# -- cost logs ----------------------------------------------------------------------------


@dataclass
class _Answer:
    record: _LogRecord
    decision: RouteDecision
    classifier_cost: Decimal = Decimal(0)


def _read_cost_log(file: Path, lines: Iterator[JsonLine], config: RouterConfig) -> Sample:
    answers: list[_Answer] = []
    # File order of answers and classifier records, for classifier calls whose
    # record does not name their answer.
    events: list[_Answer | _LogRecord] = []
    for _, where, data in lines:
        if "run_id" not in data or "role" not in data:
            msg = (
                f"{where}: not a cost-log record (no run_id or role), unlike the file's first line"
            )
            raise ConfigError(msg)
        try:
            record = _LogRecord.model_validate(data)
        except ValidationError as exc:
            raise _invalid(where, exc) from exc
        if record.role == ROLE_CLASSIFIER:
            events.append(record)
        elif record.role == ROLE_ANSWER and record.decision:
            try:
                decision = RouteDecision.model_validate(record.decision)
            except ValidationError as exc:
                raise _invalid(f"{where}: decision", exc) from exc
            if decision.lane not in config.lanes:
                hint = unknown_name_hint(decision.lane, config.lanes, "lane")
                raise ConfigError(f"{where}: decision: lane: {hint}")
            answer = _Answer(record, decision)
            answers.append(answer)
            events.append(answer)
    if not answers:
        msg = (
            f"{file}: no routed answers in this cost log "
            '(no "answer" record carries a router decision)'
        )
        raise ConfigError(msg)

    by_run = {a.record.run_id: a for a in answers}
    queue: list[Decimal] = []
    for event in events:
        if isinstance(event, _LogRecord):
            cost = event.cost or Decimal(0)
            parent = by_run.get(event.router_run_id or event.parent_run_id or "")
            if parent is not None:
                parent.classifier_cost += cost
            else:
                queue.append(cost)
        elif queue and _classifier_called(event.decision):
            event.classifier_cost += sum(queue, Decimal(0))
            queue.clear()
    notes: list[str] = []
    if queue:
        notes.append(
            f"{len(queue)} classifier calls (${sum(queue, Decimal(0))}) came after the "
            "last answer they could belong to: not counted"
        )
    problems: dict[str, None] = {}
    requests = tuple(_logged_request(a, config, problems) for a in answers)
    notes.extend(problems)
    return Sample(path=file, format="cost-log", entries=requests, notes=tuple(notes))


def _classifier_called(decision: RouteDecision) -> bool:
    """Whether the router called the classifier for this answer (or may have)."""
    if decision.source == "classifier":
        return True
    return decision.source == "fallback" and decision.fallback_from is None


def _logged_request(
    answer: _Answer, config: RouterConfig, problems: dict[str, None]
) -> ScoredRequest:
    record = answer.record
    usage = {
        "input_tokens": record.input_tokens,
        "output_tokens": record.output_tokens,
        "input_token_details": {"cache_read": record.cached_tokens},
        "output_token_details": {"reasoning": record.reasoning_tokens},
    }
    lite = _price(config.lite_model, usage, record.service_tier, problems)
    pro = _price(config.pro_model, usage, record.service_tier, problems)
    return _from_decision(record.run_id, answer.decision, lite, pro, answer.classifier_cost)


def _from_decision(
    request_id: str,
    decision: RouteDecision,
    lite_cost: Decimal | None,
    pro_cost: Decimal | None,
    classifier_cost: Decimal,
) -> ScoredRequest:
    """A request as its routing decision describes it."""
    scored = decision.score is not None and decision.needs_tools is not None
    if decision.source in _SCORED_SOURCES or (decision.source == "fallback" and scored):
        # Scored by the classifier (a lane failure afterwards does not change that).
        return ScoredRequest(
            request_id,
            score=decision.score,
            category=decision.category or "chat",
            needs_tools=bool(decision.needs_tools),
            tools=decision.tools,
            lite_cost=lite_cost,
            pro_cost=pro_cost,
            classifier_cost=classifier_cost,
        )
    if decision.source in _RULE_SOURCES or decision.fallback_from is not None:
        # Rules fixed the lane; a lane failure then moved it, which no threshold changes.
        return ScoredRequest(
            request_id,
            score=decision.score,
            rule_lane=decision.fallback_from or decision.lane,
            category=decision.category or "chat",
            tools=decision.tools,
            lite_cost=lite_cost,
            pro_cost=pro_cost,
            classifier_cost=classifier_cost,
        )
    # The classifier failed or was skipped: the fallback lane answers.
    return ScoredRequest(
        request_id,
        tools=decision.tools,
        lite_cost=lite_cost,
        pro_cost=pro_cost,
        classifier_cost=classifier_cost,
    )


def _price(
    model: str, usage: Mapping[str, Any], tier: ServiceTier, problems: dict[str, None]
) -> Decimal | None:
    cost, found = price_quietly(model, usage, service_tier=tier)
    for _, text in found:
        problems[text] = None
    return cost.total if cost is not None else None


# -- request lines ------------------------------------------------------------------------


def _messages(line: _RequestLine) -> tuple[BaseMessage, ...]:
    if line.messages is None:
        return (HumanMessage(line.prompt or ""),)
    kinds: dict[str, type[BaseMessage]] = {
        "system": SystemMessage,
        "user": HumanMessage,
        "human": HumanMessage,
        "assistant": AIMessage,
        "ai": AIMessage,
    }
    return tuple(kinds[m.role](m.content) for m in line.messages)


def _estimate_tokens(text_length: int) -> int:
    return max(1, math.ceil(text_length / CHARS_PER_TOKEN))


def _tool_names(count: int) -> tuple[str, ...]:
    return tuple(f"tool_{i}" for i in range(1, count + 1))


def _read_requests(file: Path, lines: Iterator[JsonLine], config: RouterConfig) -> Sample:
    entries: list[ScoredRequest | PendingRequest] = []
    problems: dict[str, None] = {}
    for number, where, data in lines:
        try:
            line = _RequestLine.model_validate(data)
        except ValidationError as exc:
            raise _invalid(where, exc) from exc
        if (line.prompt is None) == (line.messages is None):
            msg = f'{where}: a request needs exactly one of "prompt" and "messages"'
            raise ConfigError(msg)
        messages = _messages(line)
        request_id = str(line.id) if line.id is not None else str(number)
        chars = sum(len(str(m.content)) for m in messages)
        usage = {"input_tokens": _estimate_tokens(chars), "output_tokens": line.output_tokens}
        lite = _price(config.lite_model, usage, "standard", problems)
        pro = _price(config.pro_model, usage, "standard", problems)
        tool_names = _tool_names(line.tools)
        ruled = rule_decision(RouteRequest(messages=messages, tool_names=tool_names), config)
        if ruled is not None:
            entries.append(_from_decision(request_id, ruled, lite, pro, Decimal(0)))
        elif line.score is None:
            entries.append(PendingRequest(request_id, messages, line.tools, lite, pro, where))
        else:
            classifier_cost = line.classifier_cost
            if classifier_cost is None:
                classifier_cost = _classifier_estimate(messages, tool_names, config, problems)
            entries.append(
                ScoredRequest(
                    request_id,
                    score=line.score,
                    category=line.category,
                    needs_tools=line.needs_tools,
                    tools=line.tools,
                    lite_cost=lite,
                    pro_cost=pro,
                    classifier_cost=classifier_cost,
                )
            )
    return Sample(path=file, format="requests", entries=tuple(entries), notes=tuple(problems))


def _classifier_estimate(
    messages: Sequence[BaseMessage],
    tool_names: Sequence[str],
    config: RouterConfig,
    problems: dict[str, None],
) -> Decimal:
    """What one classifier call on this request costs, from the size of its input."""
    settings = config.classifier
    if not settings.enabled:
        return Decimal(0)
    text = render_classifier_input(messages, tool_names, settings)
    usage = {
        "input_tokens": _estimate_tokens(len(CLASSIFIER_INSTRUCTION) + len(text)),
        "output_tokens": CLASSIFIER_OUTPUT_TOKENS,
    }
    return _price(settings.model, usage, "standard", problems) or Decimal(0)


# -- scoring ------------------------------------------------------------------------------


def score_sample(
    requests: Sequence[PendingRequest],
    router: GeminiRouter,
    *,
    on_scored: Callable[[ScoredRequest], None] | None = None,
) -> list[ScoredRequest]:
    """Score requests as the router would route them, without answering them.

    Each request goes through ``router.route(...)``: the router's rules decide some
    (``rule_lane``), its classifier scores the others. A classifier that fails leaves
    the request without a score (the fallback lane answers it at any threshold).

    Args:
        requests: the pending requests of a :class:`Sample`.
        router: the router whose classifier scores (live Gemini, or the simulator).
        on_scored: called after each request, e.g. to show progress.

    Returns:
        One request per input, in order, with the exact cost of its classifier call
        ($0 when the rules or the router's score cache decided).
    """
    scored = []
    for pending in requests:
        tools = _tool_names(pending.tools)
        with get_gemini_cost_callback() as cb:
            decision = router.route(list(pending.messages), tools=tools)
        request = _from_decision(
            pending.id, decision, pending.lite_cost, pending.pro_cost, cb.total_cost
        )
        scored.append(request)
        if on_scored is not None:
            on_scored(request)
    return scored


# -- calibration --------------------------------------------------------------------------


@dataclass(frozen=True)
class Calibration:
    """The threshold that meets a target on a sample, with its neighbours."""

    chosen: ThresholdPoint
    neighbours: tuple[ThresholdPoint, ...]
    """Up to two candidate thresholds below the chosen one and two above, in order."""
    config: RouterConfig
    """The starting config with ``escalation_threshold`` set to the chosen threshold."""
    target: str
    """The target, for humans: ``"Pro share 20%"``, ``"at most $0.5 per 1,000 requests"``."""
    points: tuple[ThresholdPoint, ...]
    """Every candidate threshold's point, by threshold."""
    candidates: int
    """How many candidate thresholds the sample has."""
    reached: bool = True
    """False when no threshold comes within one request of the target Pro share (rules
    fix some lanes); the chosen point is then the closest one. A budget target is
    always reached: an unreachable budget raises instead."""

    @property
    def rows(self) -> tuple[ThresholdPoint, ...]:
        """The neighbours and the chosen point, by threshold."""
        return tuple(sorted((*self.neighbours, self.chosen), key=lambda p: p.threshold))

    @property
    def threshold_matters(self) -> bool:
        """Whether any threshold changes a decision on this sample."""
        return self.points[0].pro_share != self.points[-1].pro_share


def pro_requests(point: ThresholdPoint) -> int:
    """How many requests go to Pro at this point."""
    return round(point.pro_share * point.requests)


def _money(amount: Decimal) -> str:
    value = amount.quantize(Decimal("0.000001")).normalize()
    return f"${value:f}"


def calibrate(
    requests: Sequence[ScoredRequest],
    *,
    target_pro_share: float | None = None,
    budget_per_1k: Decimal | None = None,
    config: RouterConfig | None = None,
) -> Calibration:
    """Pick the escalation threshold that meets one target on these requests.

    Candidates are the thresholds at which some decision changes
    (:func:`~lc_gemini_router.routing.thresholds.candidate_thresholds`, capped at 1, the
    highest threshold a config holds); each is replayed through the router's policy
    (:func:`~lc_gemini_router.routing.thresholds.sweep`).

    Args:
        requests: the sample (see :func:`load_sample`).
        target_pro_share: the share of requests to answer on Pro (0..1): the
            candidate whose Pro share is closest wins; on a tie the higher (cheaper)
            threshold.
        budget_per_1k: USD per 1,000 requests, classifier included: the lowest
            threshold (the most Pro) whose spend is within it wins.
        config: the config to start from (its rules, category lists, lane models);
            the defaults when None.

    Returns:
        The chosen point, its neighbours and the new config.

    Raises:
        ConfigError: no requests; not exactly one target; a target out of range;
            a budget below the cheapest reachable spend (the message names it) or
            costs unknown for a budget target.
    """
    config = config or RouterConfig()
    if (target_pro_share is None) == (budget_per_1k is None):
        msg = "give exactly one target: a Pro share or a budget per 1,000 requests"
        raise ConfigError(msg)
    if not requests:
        msg = "the sample has no requests"
        raise ConfigError(msg)
    thresholds = sorted({min(t, 1.0) for t in candidate_thresholds(requests)})
    points = sweep(requests, thresholds, config)
    reached = True
    if target_pro_share is not None:
        index, target = _closest_share(points, target_pro_share)
        wanted = Decimal(str(target_pro_share)) * len(requests)
        reached = abs(pro_requests(points[index]) - wanted) <= 1
    else:
        assert budget_per_1k is not None
        index, target = _within_budget(points, budget_per_1k)
    chosen = points[index]
    below = range(max(index - 2, 0), index)
    above = range(index + 1, min(index + 3, len(points)))
    neighbours = tuple(points[i] for i in (*below, *above))
    return Calibration(
        chosen=chosen,
        neighbours=neighbours,
        config=config.with_overrides({"escalation_threshold": chosen.threshold}),
        target=target,
        points=tuple(points),
        candidates=len(points),
        reached=reached,
    )


def _closest_share(points: Sequence[ThresholdPoint], share: float) -> tuple[int, str]:
    if not 0 <= share <= 1:
        msg = f"the target Pro share must be between 0 and 1, got {share}"
        raise ConfigError(msg)
    # Exact: counts of requests, not float shares.
    wanted = Decimal(str(share)) * points[0].requests
    description = f"Pro share {(Decimal(str(share)) * 100).normalize():f}%"
    # The closest count; on a tie the higher threshold, which is the cheaper.
    index = min(range(len(points)), key=lambda i: (abs(pro_requests(points[i]) - wanted), -i))
    return index, description


def _within_budget(points: Sequence[ThresholdPoint], budget: Decimal) -> tuple[int, str]:
    if not budget.is_finite() or budget < 0:
        msg = f"the budget per 1,000 requests must be a number >= 0, got {budget}"
        raise ConfigError(msg)
    description = f"at most {_money(budget)} per 1,000 requests"
    known = [p for p in points if p.spend_per_1k is not None]
    if not known:
        msg = (
            "the sample's costs are unknown (a lane model has no price): "
            "a budget cannot be checked; give a Pro share target instead"
        )
        raise ConfigError(msg)
    # The lowest threshold within budget: the most Pro the budget buys.
    for index, point in enumerate(points):
        if point.spend_per_1k is not None and point.spend_per_1k <= budget:
            return index, description
    _out_of_reach(budget, min(known, key=lambda p: (p.spend_per_1k, -p.threshold)))


def _out_of_reach(budget: Decimal, cheapest: ThresholdPoint) -> NoReturn:
    spend = cheapest.spend_per_1k
    assert spend is not None
    msg = (
        f"a budget of {_money(budget)} per 1,000 requests is out of reach: the cheapest "
        f"threshold ({cheapest.threshold!r}) spends {_money(spend)} per 1,000 requests "
        "on this sample"
    )
    raise ConfigError(msg)


# -- TOML ---------------------------------------------------------------------------------

_BARE_KEY = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f"}
_ESCAPES["\r"] = "\\r"


def _toml_string(text: str) -> str:
    out = []
    for char in text:
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04X}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def _toml_key(key: str) -> str:
    return key if key and set(key) <= _BARE_KEY else _toml_string(key)


def _toml_value(value: object, name: str) -> str:
    if value is None:
        msg = f"cannot write {name} = None: TOML has no null (set it to a lane)"
        raise ConfigError(msg)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)  # shortest text that reads back as the same float
    if isinstance(value, str):
        return _toml_string(value)
    if isinstance(value, (set, frozenset)):
        return _toml_value(sorted(value), name)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v, name) for v in value) + "]"
    if isinstance(value, Mapping):
        items = ", ".join(
            f"{_toml_key(str(k))} = {_toml_value(v, f'{name}.{k}')}" for k, v in value.items()
        )
        return "{ " + items + " }" if items else "{}"
    msg = f"cannot write {name}: {type(value).__name__} values have no TOML form here"
    raise ConfigError(msg)


def dump_config(config: RouterConfig, *, header: str | None = None) -> str:
    """The whole config as TOML text that :meth:`RouterConfig.from_toml` reads back equal.

    Top-level settings first, then one table per nested setting (``[classifier]``,
    ``[error_fallbacks]``); ``header`` becomes ``#`` comment lines at the top.

    Raises:
        ConfigError: a setting TOML cannot hold (``forced_tool_choice_lane = None``:
            TOML has no null).

    Example:
        >>> from lc_gemini_router import RouterConfig
        >>> text = dump_config(RouterConfig(escalation_threshold=0.55))
        >>> text.splitlines()[0]
        'escalation_threshold = 0.55'
        >>> "[classifier]" in text
        True
    """
    lines = [f"# {line}".rstrip() for line in (header or "").splitlines()]
    if lines:
        lines.append("")
    tables: list[tuple[str, Mapping[str, Any]]] = []
    for key, value in config.model_dump().items():
        if isinstance(value, Mapping):
            tables.append((key, value))
        else:
            lines.append(f"{_toml_key(key)} = {_toml_value(value, key)}")
    for name, table in tables:
        lines += ["", f"[{_toml_key(name)}]"]
        lines += [f"{_toml_key(k)} = {_toml_value(v, f'{name}.{k}')}" for k, v in table.items()]
    return "\n".join(lines) + "\n"


def write_config(config: RouterConfig, path: str | Path, *, header: str | None = None) -> None:
    """Write the whole config as TOML (see :func:`dump_config`), replacing ``path``.

    The file is written next to ``path`` first and then moved into place, so a
    failed write leaves the old file as it was.

    Raises:
        ConfigError: a setting TOML cannot hold, or the file cannot be written.
    """
    file = Path(path)
    text = dump_config(config, header=header)
    temporary = file.with_name(f".{file.name}.tmp")
    try:
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, file)
    except OSError as exc:
        with contextlib.suppress(OSError):
            temporary.unlink(missing_ok=True)
        msg = f"cannot write router config {file}: {exc.strerror or exc}"
        raise ConfigError(msg) from exc
