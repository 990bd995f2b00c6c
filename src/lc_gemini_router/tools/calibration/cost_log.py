"""A cost log as a sample: each routed answer is one request, its classifier cost attached."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from pydantic import ValidationError

from lc_gemini_router.config import RouterConfig
from lc_gemini_router.errors import ConfigError, unknown_name_hint
from lc_gemini_router.keys import ROLE_ANSWER, ROLE_CLASSIFIER
from lc_gemini_router.routing.policy import RouteDecision
from lc_gemini_router.routing.thresholds import ScoredRequest
from lc_gemini_router.tools.calibration.sample import Sample, _from_decision, _price
from lc_gemini_router.tools.jsonl import JsonLine
from lc_gemini_router.tools.reports.records import LogRecord, parse_record


@dataclass
class _Answer:
    id: str
    """The answer's ``run_id``: the request's ID."""
    record: LogRecord
    decision: RouteDecision
    classifier_cost: Decimal = Decimal(0)


def _read_cost_log(file: Path, lines: Iterator[JsonLine], config: RouterConfig) -> Sample:
    answers: list[_Answer] = []
    # File order of answers and classifier records, for classifier calls whose
    # record does not name their answer.
    events: list[_Answer | LogRecord] = []
    for line in lines:
        where, data = line.where, line.data
        if "run_id" not in data or "role" not in data:
            msg = (
                f"{where}: not a cost-log record (no run_id or role), unlike the file's first line"
            )
            raise ConfigError(msg)
        # The same checks as the report's: one cost-log format, one set of rules.
        record = parse_record(line)
        if record.role == ROLE_CLASSIFIER:
            events.append(record)
        elif record.role == ROLE_ANSWER and record.decision:
            if record.run_id is None:
                raise ConfigError(f"{where}: 'run_id' of a routed answer is null")
            try:
                decision = RouteDecision.model_validate(record.decision)
            except ValidationError as exc:
                raise ConfigError.from_validation(f"{where}: decision", exc) from exc
            if decision.lane not in config.lanes:
                hint = unknown_name_hint(decision.lane, config.lanes, "lane")
                raise ConfigError(f"{where}: decision: lane: {hint}")
            answer = _Answer(record.run_id, record, decision)
            answers.append(answer)
            events.append(answer)
    if not answers:
        msg = (
            f"{file}: no routed answers in this cost log "
            '(no "answer" record carries a router decision)'
        )
        raise ConfigError(msg)

    by_run = {a.id: a for a in answers}
    queue: list[Decimal] = []
    for event in events:
        if isinstance(event, LogRecord):
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
    return _from_decision(answer.id, answer.decision, lite, pro, answer.classifier_cost)
