"""Replay a labelled dataset through the router's policy: quality against Pro share, and spend.

RouteLLM's method (Ong et al., 2024): a router scores every prompt; at a threshold,
prompts scored at or above it go to the strong model. Sweeping the threshold traces
quality against the share of strong calls. Here the weak model's recorded answers
stand for Flash-Lite (the ``lite`` lane) and the strong model's for Pro (the ``pro``
lanes), and each prompt goes where the router's own policy sends it
(:func:`lc_gemini_router.routing.policy.rule_decision`, then
:func:`lc_gemini_router.routing.thresholds.lane_at` at each threshold).

Datasets (:func:`load_dataset`):

``mt-bench``
    A folder with RouteLLM's ``question.jsonl`` and ``judgements.jsonl``. One item per
    question, routed on its first turn as RouteLLM routes it; its quality on a lane
    is that model's GPT-4 judge score (1-10) averaged over both turns, so the mean
    over items is RouteLLM's MT-Bench score (every judgement of the routed model).
    All 80 questions are kept (RouteLLM drops a few it found contaminated).
``gsm8k``
    ``gsm8k_responses.csv`` (or a folder holding it): quality 1 when the model
    answered correctly, else 0; the mean is accuracy.
``jsonl``
    Your own data, one JSON object per line::

        {"id": "q1", "prompt": "...", "quality_lite": 6, "quality_pro": 9,
         "score": 0.42, "category": "coding", "input_tokens": 120,
         "output_tokens_lite": 300, "output_tokens_pro": 450}

    ``prompt`` may be replaced by ``messages`` (``[{"role": "user", "content":
    "..."}]``, roles ``system``/``user``/``assistant``). ``score`` is a recorded
    classifier difficulty (0-1) for ``scorer="recorded"``; ``category`` (one of the
    router's categories) takes part in ``always_escalate``/``never_escalate``. Token
    counts default to the text at ~4 characters per token and
    :data:`DEFAULT_OUTPUT_TOKENS` per reply.

Scorers (:func:`score_items`): ``rules`` (offline: the rules decide what they can,
the rest has no score and takes the classifier's fallback lane at every threshold),
``recorded`` (each item's ``score``), ``simulated`` (the embedded simulator's
keyword classifier, through ``GeminiRouter.route``: SIMULATED, not a quality
claim), ``live`` (``GeminiRouter.route`` on real Gemini; needs ``GOOGLE_API_KEY``).

Quality is exact (``Fraction``); money is exact (``Decimal``). Spend prices each
answer on ``config.lite_model`` / ``config.pro_model``: prompts at ~4 characters per
token, replies as long as the recorded answers (no thinking tokens are modelled).

Example:
    >>> from fractions import Fraction
    >>> from lc_gemini_router.tools.evaluation import EvalItem, evaluate, score_items
    >>> items = [
    ...     EvalItem("easy", (("user", "What could cause this?"),), Fraction(8), Fraction(8),
    ...              score=0.2),
    ...     EvalItem("hard", (("user", "Why does it fail?"),), Fraction(2), Fraction(9),
    ...              score=0.7),
    ... ]
    >>> result = evaluate(items, score_items(items, "recorded"), dataset="jsonl")
    >>> [(p.threshold, p.pro_share, float(p.quality)) for p in result.points]
    [(0.0, 1.0, 8.5), (0.2, 1.0, 8.5), (0.7, 0.5, 8.5), (1.01, 0.0, 5.0)]
    >>> result.target("quality_retained").point.pro_share
    0.5
"""

from __future__ import annotations

import csv
import json
import math
import os
import warnings
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, get_args

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage

from lc_gemini_router.config import CATEGORIES, Category, Lane, RouterConfig
from lc_gemini_router.errors import GeminiRouterError
from lc_gemini_router.pricing.costs import price_quietly
from lc_gemini_router.routing.policy import RouteDecision, RouteRequest, rule_decision
from lc_gemini_router.routing.thresholds import ScoredRequest, candidate_thresholds, lane_at, sweep
from lc_gemini_router.tools.jsonl import read_json_lines

if TYPE_CHECKING:
    from lc_gemini_router.router import GeminiRouter

__all__ = [
    "BUNDLED_DATA",
    "DEFAULT_MAX_POINTS",
    "DEFAULT_OUTPUT_TOKENS",
    "FORMATS",
    "GOAL",
    "ROUTELLM_MT_BENCH",
    "SCORERS",
    "STRONG_MODEL",
    "WEAK_MODEL",
    "DatasetError",
    "DatasetFormat",
    "EvalItem",
    "EvalPoint",
    "EvalResult",
    "PublishedPoint",
    "ScorerName",
    "Target",
    "detect_formats",
    "evaluate",
    "load_dataset",
    "load_datasets",
    "plot_curve",
    "resolve_dataset",
    "run_eval",
    "score_items",
]

DatasetFormat = Literal["mt-bench", "gsm8k", "jsonl"]
FORMATS: tuple[DatasetFormat, ...] = get_args(DatasetFormat)
ScorerName = Literal["rules", "recorded", "simulated", "live"]
SCORERS: tuple[ScorerName, ...] = get_args(ScorerName)
Role = Literal["system", "user", "assistant"]
Metric = Literal["quality_retained", "pgr"]

STRONG_MODEL = "gpt-4-1106-preview"
"""RouteLLM's strong model: its recorded answers stand for Pro."""
WEAK_MODEL = "mistralai/Mixtral-8x7B-Instruct-v0.1"
"""RouteLLM's weak model: its recorded answers stand for Flash-Lite."""
MT_BENCH_FILES = ("question.jsonl", "judgements.jsonl")
GSM8K_FILE = "gsm8k_responses.csv"
BUNDLED_DATA = Path(__file__).resolve().parent / "data" / "routellm"
"""RouteLLM's MT-Bench and GSM8K files, shipped with the package (Apache-2.0; its
README there says where they came from)."""
BUNDLED_NAMES: Mapping[str, DatasetFormat | None] = {
    "mt-bench": "mt-bench",
    "gsm8k": "gsm8k",
    "routellm": None,
}
"""Dataset names that mean the bundled data (``routellm``: both) when no such path exists."""

CHARS_PER_TOKEN = 4
DEFAULT_OUTPUT_TOKENS = 400
"""Reply length assumed on each lane when a dataset records none."""
DEFAULT_MAX_POINTS = 101
"""Thresholds evaluated at most; beyond it, evenly spaced ranks of the distinct scores."""
GOAL = Fraction(95, 100)
"""The quality level compared against RouteLLM's headline: 95%."""
_DEFAULT_WORKERS = 8
_ROLES: dict[str, Role] = {
    "system": "system",
    "user": "user",
    "human": "user",
    "assistant": "assistant",
    "ai": "assistant",
}
_METRIC_LABELS: dict[Metric, str] = {
    "quality_retained": "quality retained",
    "pgr": "PGR",
}
_QUALITY_LABELS: dict[str, str] = {
    "mt-bench": "mean GPT-4 judge score (1-10), both turns",
    "gsm8k": "accuracy",
    "jsonl": "mean quality",
}


@dataclass(frozen=True)
class PublishedPoint:
    """A published operating point of another router, for comparison."""

    source: str
    router: str
    dataset: DatasetFormat
    pro_share: float
    """Share of strong-model calls."""
    quality_retained: Fraction
    """Quality as a share of the all-strong quality."""


ROUTELLM_MT_BENCH = PublishedPoint(
    source="RouteLLM (Ong et al., 2024)",
    router="matrix-factorisation router",
    dataset="mt-bench",
    pro_share=0.26,
    quality_retained=GOAL,
)
"""RouteLLM's headline: 95% of GPT-4's MT-Bench quality with about 26% GPT-4 calls."""


class DatasetError(GeminiRouterError, ValueError):
    """A dataset that is missing, of an unknown format, or malformed (names file:line)."""


# -- items ----------------------------------------------------------------------------------


def _tokens(chars: int) -> int:
    """About four characters per token, at least one."""
    return max(1, math.ceil(chars / CHARS_PER_TOKEN))


@dataclass(frozen=True)
class EvalItem:
    """One labelled request: what routing sees, and how good each lane's answer was."""

    id: str
    messages: tuple[tuple[Role, str], ...]
    """``(role, text)`` pairs; routing reads them as the call's messages."""
    quality_lite: Fraction
    """Quality of the weak model's answer (the ``lite`` lane)."""
    quality_pro: Fraction
    """Quality of the strong model's answer (the ``pro`` lanes)."""
    score: float | None = None
    """A recorded classifier difficulty (0-1), for ``scorer="recorded"``."""
    category: str | None = None
    """The dataset's category (MT-Bench's ``writing``...) or one of the router's."""
    input_tokens: int | None = None
    """Prompt tokens over every call the item costs; None: the text at ~4 chars/token."""
    output_tokens_lite: int | None = None
    """Reply tokens on Flash-Lite; None: :data:`DEFAULT_OUTPUT_TOKENS`."""
    output_tokens_pro: int | None = None
    """Reply tokens on Pro; None: :data:`DEFAULT_OUTPUT_TOKENS`."""
    resent_tokens_lite: int = 0
    """Flash-Lite's own earlier answers sent back as input (a multi-turn item)."""
    resent_tokens_pro: int = 0
    """Pro's own earlier answers sent back as input (a multi-turn item)."""

    def __post_init__(self) -> None:
        if not any(role == "user" for role, _ in self.messages):
            msg = f"item {self.id!r} has no user message"
            raise ValueError(msg)
        for name in ("quality_lite", "quality_pro"):
            object.__setattr__(self, name, Fraction(getattr(self, name)))

    @property
    def prompt(self) -> str:
        """The latest user message."""
        return next(text for role, text in reversed(self.messages) if role == "user")

    @property
    def replies_recorded(self) -> bool:
        """True when both reply lengths come from the dataset."""
        return self.output_tokens_lite is not None and self.output_tokens_pro is not None

    def to_messages(self) -> list[BaseMessage]:
        """The messages as LangChain messages."""
        kinds: dict[Role, type[BaseMessage]] = {
            "system": SystemMessage,
            "user": HumanMessage,
            "assistant": AIMessage,
        }
        return [kinds[role](content=text) for role, text in self.messages]

    def usage(self, lane: Lane) -> dict[str, int]:
        """The token counts an answer on ``lane`` costs, as LangChain usage metadata."""
        prompt = self.input_tokens
        if prompt is None:
            prompt = _tokens(sum(len(text) for _, text in self.messages))
        if lane == "lite":
            output, resent = self.output_tokens_lite, self.resent_tokens_lite
        else:
            output, resent = self.output_tokens_pro, self.resent_tokens_pro
        return {
            "input_tokens": prompt + resent,
            "output_tokens": DEFAULT_OUTPUT_TOKENS if output is None else output,
        }


# -- loading --------------------------------------------------------------------------------


def _number(value: Any, where: str, name: str) -> Fraction:
    if isinstance(value, bool) or not isinstance(value, (int, Decimal, float)):
        msg = f"{where}: {name!r} must be a number, got {value!r}"
        raise DatasetError(msg)
    if isinstance(value, (Decimal, float)) and not math.isfinite(value):
        msg = f"{where}: {name!r} must be finite, got {value}"
        raise DatasetError(msg)
    return Fraction(value)


def _count_field(row: Mapping[str, Any], name: str, where: str) -> int | None:
    value = row.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        msg = f"{where}: {name!r} must be a whole number >= 0, got {value!r}"
        raise DatasetError(msg)
    return value


def _messages(row: Mapping[str, Any], where: str) -> tuple[tuple[Role, str], ...]:
    if "messages" in row:
        raw = row["messages"]
        if not isinstance(raw, list) or not raw:
            msg = f"{where}: 'messages' must be a non-empty list of {{role, content}} objects"
            raise DatasetError(msg)
        messages: list[tuple[Role, str]] = []
        for index, message in enumerate(raw):
            role = _ROLES.get(str(message.get("role"))) if isinstance(message, dict) else None
            content = message.get("content") if isinstance(message, dict) else None
            if role is None or not isinstance(content, str):
                msg = (
                    f"{where}: messages[{index}] must be {{'role': system|user|assistant, "
                    f"'content': str}}"
                )
                raise DatasetError(msg)
            messages.append((role, content))
        if not any(role == "user" for role, _ in messages):
            raise DatasetError(f"{where}: 'messages' holds no user message")
        return tuple(messages)
    prompt = row.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        raise DatasetError(f"{where}: needs a non-empty 'prompt' string (or 'messages')")
    return (("user", prompt),)


def _jsonl_item(row: Mapping[str, Any], where: str) -> EvalItem:
    item_id = row.get("id")
    if not isinstance(item_id, (str, int)) or isinstance(item_id, bool) or item_id == "":
        raise DatasetError(f"{where}: needs an 'id' (a string)")
    qualities = []
    for name in ("quality_lite", "quality_pro"):
        if name not in row:
            raise DatasetError(f"{where}: missing {name!r}")
        qualities.append(_number(row[name], where, name))
    score: float | None = None
    if row.get("score") is not None:
        score = float(_number(row["score"], where, "score"))
        if not 0 <= score <= 1:
            raise DatasetError(f"{where}: 'score' must be a difficulty from 0 to 1, got {score}")
    category = row.get("category")
    if category is not None and not isinstance(category, str):
        raise DatasetError(f"{where}: 'category' must be a string, got {category!r}")
    return EvalItem(
        id=str(item_id),
        messages=_messages(row, where),
        quality_lite=qualities[0],
        quality_pro=qualities[1],
        score=score,
        category=category,
        input_tokens=_count_field(row, "input_tokens", where),
        output_tokens_lite=_count_field(row, "output_tokens_lite", where),
        output_tokens_pro=_count_field(row, "output_tokens_pro", where),
    )


def _load_jsonl(path: Path) -> list[EvalItem]:
    items: list[EvalItem] = []
    seen: dict[str, str] = {}
    for _, where, row in read_json_lines(path, what="dataset", error=DatasetError):
        item = _jsonl_item(row, where)
        if item.id in seen:
            msg = f"{where}: duplicate id {item.id!r} (first at {seen[item.id]})"
            raise DatasetError(msg)
        seen[item.id] = where
        items.append(item)
    return items


def _between(text: str, start: str, end: str) -> str | None:
    begin = text.find(start)
    if begin < 0:
        return None
    begin += len(start)
    stop = text.find(end, begin)
    return text[begin:stop] if stop >= 0 else None


def _judged_answer(judge_prompt: object, turn: int) -> str | None:
    """The assistant's answer to ``turn``, read from the GPT-4 judge's prompt."""
    if not isinstance(judge_prompt, str):
        return None
    if turn == 1:
        answer = _between(
            judge_prompt, "[The Start of Assistant's Answer]\n", "\n[The End of Assistant's Answer]"
        )
        return answer
    conversation = _between(
        judge_prompt,
        "<|The Start of Assistant A's Conversation with User|>",
        "<|The End of Assistant A's Conversation with User|>",
    )
    if conversation is None or "### Assistant A:\n" not in conversation:
        return None
    return conversation.rsplit("### Assistant A:\n", 1)[1].strip()


def _load_mt_bench(folder: Path) -> list[EvalItem]:
    questions_path, judgements_path = (folder / name for name in MT_BENCH_FILES)
    scores: dict[tuple[int, str, int], Fraction] = {}
    answers: dict[tuple[int, str, int], str] = {}
    for _, where, row in read_json_lines(judgements_path, what="dataset", error=DatasetError):
        model = row.get("model")
        if model not in (STRONG_MODEL, WEAK_MODEL):
            continue
        try:
            key = (int(row["question_id"]), str(model), int(row["turn"]))
        except (KeyError, TypeError, ValueError) as exc:
            msg = f"{where}: needs integer 'question_id' and 'turn' ({exc})"
            raise DatasetError(msg) from exc
        score = _number(row.get("score"), where, "score")
        if not 1 <= score <= 10:
            raise DatasetError(f"{where}: judge score {float(score)} is outside 1-10")
        if key in scores:
            raise DatasetError(f"{where}: a second judgement of {key[1]} on {key[0]} turn {key[2]}")
        scores[key] = score
        answer = _judged_answer(row.get("user_prompt"), key[2])
        if answer is not None:
            answers[key] = answer

    items = []
    for _, where, row in read_json_lines(questions_path, what="dataset", error=DatasetError):
        turns = row.get("turns")
        if (
            not isinstance(turns, list)
            or len(turns) != 2
            or not all(isinstance(t, str) for t in turns)
        ):
            raise DatasetError(f"{where}: 'turns' must hold the two user turns")
        try:
            qid = int(row["question_id"])
        except (KeyError, TypeError, ValueError) as exc:
            raise DatasetError(f"{where}: needs an integer 'question_id'") from exc
        quality: dict[str, Fraction] = {}
        output: dict[str, int | None] = {}
        resent: dict[str, int] = {}
        for model in (WEAK_MODEL, STRONG_MODEL):
            turn_scores = []
            for turn in (1, 2):
                if (qid, model, turn) not in scores:
                    msg = (
                        f"{judgements_path}: no turn-{turn} judgement of {model} on question {qid}"
                    )
                    raise DatasetError(msg)
                turn_scores.append(scores[(qid, model, turn)])
            quality[model] = sum(turn_scores, Fraction(0)) / 2
            first, second = answers.get((qid, model, 1)), answers.get((qid, model, 2))
            if first is None or second is None:
                output[model], resent[model] = None, 0
            else:
                output[model] = _tokens(len(first)) + _tokens(len(second))
                resent[model] = _tokens(len(first))
        first_turn, second_turn = (_tokens(len(t)) for t in turns)
        category = row.get("category")
        items.append(
            EvalItem(
                id=f"mt-bench-{qid}",
                # Routed on the first turn, as RouteLLM routes MT-Bench questions.
                messages=(("user", turns[0]),),
                quality_lite=quality[WEAK_MODEL],
                quality_pro=quality[STRONG_MODEL],
                category=category if isinstance(category, str) else None,
                # Call 1 sends turn 1; call 2 sends turn 1, the first answer, turn 2.
                input_tokens=2 * first_turn + second_turn,
                output_tokens_lite=output[WEAK_MODEL],
                output_tokens_pro=output[STRONG_MODEL],
                resent_tokens_lite=resent[WEAK_MODEL],
                resent_tokens_pro=resent[STRONG_MODEL],
            )
        )
    return items


def _correct(value: str | None, where: str, column: str) -> Fraction:
    text = (value or "").strip()
    if text not in ("True", "False"):
        raise DatasetError(f"{where}: column {column!r} must be True or False, got {text!r}")
    return Fraction(int(text == "True"))


def _load_gsm8k(path: Path) -> list[EvalItem]:
    csv.field_size_limit(max(csv.field_size_limit(), 1 << 26))
    columns = [
        "prompt",
        WEAK_MODEL,
        STRONG_MODEL,
        f"{WEAK_MODEL}_response",
        f"{STRONG_MODEL}_response",
    ]
    items = []
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle)
            missing = [c for c in columns if c not in (reader.fieldnames or [])]
            if missing:
                raise DatasetError(f"{path}: missing column(s) {', '.join(missing)}")
            for index, row in enumerate(reader):
                where = f"{path}:{reader.line_num}"
                prompt = row["prompt"] or ""
                if not prompt.strip():
                    raise DatasetError(f"{where}: empty prompt")
                items.append(
                    EvalItem(
                        id=f"gsm8k-{index}",
                        messages=(("user", prompt),),
                        quality_lite=_correct(row[WEAK_MODEL], where, WEAK_MODEL),
                        quality_pro=_correct(row[STRONG_MODEL], where, STRONG_MODEL),
                        category="math",
                        input_tokens=_tokens(len(prompt)),
                        output_tokens_lite=_tokens(len(row[f"{WEAK_MODEL}_response"] or "")),
                        output_tokens_pro=_tokens(len(row[f"{STRONG_MODEL}_response"] or "")),
                    )
                )
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DatasetError(f"cannot read {path}: {exc}") from exc
    return items


def detect_formats(path: str | os.PathLike[str]) -> list[DatasetFormat]:
    """The dataset formats found at ``path`` (a folder may hold MT-Bench and GSM8K).

    Raises:
        DatasetError: nothing usable is there.
    """
    where = Path(path)
    if where.is_dir():
        found: list[DatasetFormat] = []
        if all((where / name).is_file() for name in MT_BENCH_FILES):
            found.append("mt-bench")
        if (where / GSM8K_FILE).is_file():
            found.append("gsm8k")
        if not found:
            msg = (
                f"no dataset in {where}: expected {' + '.join(MT_BENCH_FILES)} (MT-Bench) "
                f"or {GSM8K_FILE} (GSM8K)"
            )
            raise DatasetError(msg)
        return found
    if not where.exists():
        raise DatasetError(f"dataset not found: {where}")
    if where.suffix.lower() == ".jsonl":
        return ["jsonl"]
    if where.suffix.lower() == ".csv":
        return ["gsm8k"]
    msg = f"cannot tell the format of {where}: expected a folder, a .jsonl or a .csv file"
    raise DatasetError(msg)


def load_dataset(
    path: str | os.PathLike[str], format: DatasetFormat | None = None
) -> list[EvalItem]:
    """Read a labelled dataset (see the module docs for the formats).

    Args:
        path: a RouteLLM data folder, ``gsm8k_responses.csv``, or a ``.jsonl`` file.
        format: ``mt-bench``, ``gsm8k`` or ``jsonl``; detected when None.

    Raises:
        DatasetError: the path is missing, holds no (or two) datasets and no format
            says which, or a line is malformed (the error names ``file:line``).
    """
    where = Path(path)
    if format is None:
        found = detect_formats(where)
        if len(found) > 1:
            msg = f"{where} holds {' and '.join(found)} data: choose one with a format"
            raise DatasetError(msg)
        format = found[0]
    if format not in FORMATS:
        raise DatasetError(f"unknown dataset format {format!r}: expected {', '.join(FORMATS)}")
    if not where.exists():
        raise DatasetError(f"dataset not found: {where}")
    if format == "mt-bench":
        missing = [n for n in MT_BENCH_FILES if not (where / n).is_file()]
        if missing:
            raise DatasetError(f"not MT-Bench data: {where} lacks {', '.join(missing)}")
        items = _load_mt_bench(where)
    elif format == "gsm8k":
        csv_path = where / GSM8K_FILE if where.is_dir() else where
        if not csv_path.is_file():
            raise DatasetError(f"not GSM8K data: {csv_path} not found")
        items = _load_gsm8k(csv_path)
    else:
        if where.is_dir():
            raise DatasetError(f"jsonl format needs a file, {where} is a folder")
        items = _load_jsonl(where)
    if not items:
        raise DatasetError(f"no items in {where}")
    return items


# -- scoring --------------------------------------------------------------------------------


class _Pricer:
    """Both lanes' answer cost per item; each pricing problem is warned about once."""

    def __init__(self, config: RouterConfig) -> None:
        self.config = config
        self.problems: dict[str, type[Warning]] = {}

    def _price(self, model: str, usage: Mapping[str, int]) -> Decimal | None:
        cost, problems = price_quietly(model, usage)
        for category, message in problems:
            self.problems.setdefault(message, category)
        return None if cost is None else cost.total

    def costs(self, item: EvalItem) -> tuple[Decimal | None, Decimal | None]:
        return (
            self._price(self.config.lite_model, item.usage("lite")),
            self._price(self.config.pro_model, item.usage("pro")),
        )

    def warn(self) -> None:
        for message, category in self.problems.items():
            warnings.warn(message, category, stacklevel=3)


def _router_category(category: str | None) -> Category:
    return category if category in CATEGORIES else "chat"


def _from_decision(
    item: EvalItem,
    decision: RouteDecision,
    costs: tuple[Decimal | None, Decimal | None],
    classifier_cost: Decimal = Decimal(0),
) -> ScoredRequest:
    common: dict[str, Any] = {
        "id": item.id,
        "lite_cost": costs[0],
        "pro_cost": costs[1],
        "classifier_cost": classifier_cost,
    }
    if decision.source in ("classifier", "cache"):
        return ScoredRequest(
            score=decision.score,
            category=decision.category or "chat",
            needs_tools=bool(decision.needs_tools),
            **common,
        )
    if decision.source == "fallback":
        return ScoredRequest(**common)
    return ScoredRequest(rule_lane=decision.lane, **common)


def _route_all(
    router: GeminiRouter,
    items: Sequence[EvalItem],
    workers: int,
    on_item: Callable[[EvalItem], None] | None,
) -> list[tuple[RouteDecision, Decimal]]:
    from lc_gemini_router.callbacks.handler import GeminiCostCallbackHandler

    def route(item: EvalItem) -> tuple[RouteDecision, Decimal]:
        handler = GeminiCostCallbackHandler(reference_model=None)
        decision = router.route(item.to_messages(), config={"callbacks": [handler]})
        if on_item is not None:
            on_item(item)
        return decision, handler.total_cost

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        return list(pool.map(route, items))


def score_items(
    items: Sequence[EvalItem],
    scorer: ScorerName,
    *,
    config: RouterConfig | None = None,
    router: GeminiRouter | None = None,
    workers: int = _DEFAULT_WORKERS,
    on_item: Callable[[EvalItem], None] | None = None,
) -> list[ScoredRequest]:
    """Score every item as the router would; one :class:`ScoredRequest` per item, same order.

    Args:
        items: the dataset.
        scorer: ``rules`` (a rule decides, or no score: the fallback lane),
            ``recorded`` (rules, then each item's ``score``), ``simulated`` or
            ``live`` (``router.route``: rules, then the classifier).
        config: routing settings and lane models priced; ``router.config`` when a
            router is given, else the defaults.
        router: the router ``simulated``/``live`` call; by default one on the
            embedded simulator (``simulated``) or on real Gemini (``live``).
        workers: concurrent ``route`` calls for ``simulated``/``live``.
        on_item: called (from a worker thread) after each ``route`` call.

    Returns:
        Scored requests carrying each lane's exact answer cost and, for
        ``simulated``/``live``, what each classifier call cost.

    Raises:
        DatasetError: ``recorded`` and no item has a score.
        ConfigError: ``live`` without ``GOOGLE_API_KEY`` (or ``GEMINI_API_KEY``).
    """
    if scorer not in SCORERS:
        raise ValueError(f"unknown scorer {scorer!r}: expected {', '.join(SCORERS)}")
    config = config or (router.config if router is not None else RouterConfig())
    pricer = _Pricer(config)
    costs = [pricer.costs(item) for item in items]
    pricer.warn()

    if scorer in ("rules", "recorded"):
        if scorer == "recorded" and items and all(item.score is None for item in items):
            raise DatasetError("scorer 'recorded' needs items with a 'score'; none has one")
        scored = []
        for item, cost in zip(items, costs, strict=True):
            ruled = rule_decision(RouteRequest(messages=item.to_messages()), config)
            if ruled is not None:
                scored.append(_from_decision(item, ruled, cost))
            else:
                scored.append(
                    ScoredRequest(
                        id=item.id,
                        score=item.score if scorer == "recorded" else None,
                        category=_router_category(item.category),
                        lite_cost=cost[0],
                        pro_cost=cost[1],
                    )
                )
        return scored

    if router is not None:
        routed = _route_all(router, items, workers, on_item)
    else:
        from lc_gemini_router.tools.demo import gemini_backend

        with gemini_backend(live=scorer == "live") as backend:
            built = backend.router(config)
            try:
                routed = _route_all(built, items, workers, on_item)
            finally:
                built.close()
    return [
        _from_decision(item, decision, cost, classifier_cost)
        for item, cost, (decision, classifier_cost) in zip(items, costs, routed, strict=True)
    ]


# -- evaluation -----------------------------------------------------------------------------


def _ratio(part: Fraction, whole: Fraction) -> Fraction | None:
    return part / whole if whole else None


def _sum(values: Sequence[Decimal | None]) -> Decimal | None:
    if any(v is None for v in values):
        return None
    return sum((v for v in values if v is not None), Decimal(0))


@dataclass(frozen=True)
class EvalPoint:
    """Quality, Pro share and spend of one operating point."""

    threshold: float | None
    """The escalation threshold; None for the all-lite and all-Pro endpoints."""
    requests: int
    pro_calls: int
    """Items answered on ``pro`` or ``pro_tools``."""
    pro_share: float
    spend: Decimal | None
    """Answers plus classifier calls; None when a cost is unknown."""
    all_pro_spend: Decimal | None
    quality: Fraction
    """Mean quality of the chosen lanes' answers."""
    quality_retained: Fraction | None
    """``quality / all-Pro quality``."""
    pgr: Fraction | None
    """Performance gap recovered: ``(quality - lite) / (Pro - lite)``."""

    @property
    def spend_vs_all_pro(self) -> Fraction | None:
        """``spend / all_pro_spend``."""
        if self.spend is None or not self.all_pro_spend:
            return None
        return Fraction(self.spend) / Fraction(self.all_pro_spend)

    def metric(self, name: Metric) -> Fraction | None:
        return self.quality_retained if name == "quality_retained" else self.pgr

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: money as decimal strings, quality as a float and an exact fraction."""
        ratio = self.spend_vs_all_pro
        return {
            "threshold": self.threshold,
            "requests": self.requests,
            "pro_calls": self.pro_calls,
            "pro_share": self.pro_share,
            "spend": None if self.spend is None else str(self.spend),
            "all_pro_spend": None if self.all_pro_spend is None else str(self.all_pro_spend),
            "spend_vs_all_pro": None if ratio is None else float(ratio),
            "quality": float(self.quality),
            "quality_exact": str(self.quality),
            "quality_retained": _float(self.quality_retained),
            "pgr": _float(self.pgr),
        }


def _float(value: Fraction | None) -> float | None:
    return None if value is None else float(value)


@dataclass(frozen=True)
class Target:
    """Where the curve first reaches a quality goal (``GOAL`` of a metric)."""

    metric: Metric
    goal: Fraction
    point: EvalPoint | None
    """The point with the least Pro share reaching the goal; None: not reached."""
    best: EvalPoint | None
    """The curve's best point on this metric (what it reaches at most)."""
    random_pro_share: float | None
    """Pro share a random router needs for the goal (linear between the endpoints)."""

    @property
    def label(self) -> str:
        return _METRIC_LABELS[self.metric]

    def describe(self) -> str:
        """One line: where the goal is reached, or how close the curve comes."""
        goal = f"{float(self.goal):.0%} {self.label}"
        random = (
            ""
            if self.random_pro_share is None
            else f"; random routing needs {self.random_pro_share:.1%}"
        )
        if self.point is not None:
            where = f"threshold {self.point.threshold:.2f}"
            return f"{goal}: reached at {self.point.pro_share:.1%} Pro calls ({where}){random}"
        best = self.best.metric(self.metric) if self.best is not None else None
        if self.best is None or best is None:
            return f"{goal}: not reached{random}"
        return (
            f"{goal}: not reached (at most {float(best):.1%}, at "
            f"{self.best.pro_share:.1%} Pro calls){random}"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "goal": float(self.goal),
            "reached": self.point is not None,
            "pro_share": None if self.point is None else self.point.pro_share,
            "threshold": None if self.point is None else self.point.threshold,
            "best": None if self.best is None else _float(self.best.metric(self.metric)),
            "random_pro_share": self.random_pro_share,
        }


@dataclass(frozen=True)
class EvalResult:
    """A dataset replayed through the policy: endpoints, the curve, targets, notes."""

    dataset: str
    """``mt-bench``, ``gsm8k`` or ``jsonl``."""
    scorer: str
    source: str
    quality_metric: str
    lite_model: str
    pro_model: str
    fallback_lane: Lane
    ruled: int
    """Items a rule decided whatever the threshold."""
    scored: int
    """Items the score decides, threshold by threshold."""
    unscored: int
    """Items with neither: the fallback lane answers at every threshold."""
    all_lite: EvalPoint
    """Every item on Flash-Lite (the weak model), rules ignored."""
    all_pro: EvalPoint
    """Every item on Pro (the strong model), rules ignored."""
    points: tuple[EvalPoint, ...]
    """The router's curve, by increasing threshold (decreasing Pro share)."""
    targets: tuple[Target, ...]
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def items(self) -> int:
        return self.all_pro.requests

    @property
    def simulated(self) -> bool:
        return self.scorer == "simulated"

    def target(self, metric: Metric) -> Target:
        return next(t for t in self.targets if t.metric == metric)

    def routellm_comparison(self) -> str:
        """One line against RouteLLM's published MT-Bench point, on the same metric."""
        ref = ROUTELLM_MT_BENCH
        retained = self.target("quality_retained")
        published = (
            f"{ref.source}, {ref.router}: {float(ref.quality_retained):.0%} of GPT-4 quality "
            f"at ~{ref.pro_share:.0%} GPT-4 calls on MT-Bench"
        )
        if retained.point is not None:
            ours = f"here {retained.point.pro_share:.1%} Pro calls"
            if self.dataset == "mt-bench":
                verdict = "fewer" if retained.point.pro_share < ref.pro_share else "more"
                ours += f" ({verdict} than RouteLLM's)"
        else:
            ours = "here not reached"
        if self.dataset != "mt-bench":
            ours += f" (on {self.dataset}, not MT-Bench: not the same data)"
        return f"{published}; {ours}."

    def to_dict(self) -> dict[str, Any]:
        """Everything, JSON-safe."""
        return {
            "dataset": self.dataset,
            "scorer": self.scorer,
            "simulated": self.simulated,
            "source": self.source,
            "items": self.items,
            "quality_metric": self.quality_metric,
            "lite_model": self.lite_model,
            "pro_model": self.pro_model,
            "decided": {"rules": self.ruled, "score": self.scored, "fallback": self.unscored},
            "fallback_lane": self.fallback_lane,
            "endpoints": {"all_lite": self.all_lite.to_dict(), "all_pro": self.all_pro.to_dict()},
            "points": [p.to_dict() for p in self.points],
            "targets": [t.to_dict() for t in self.targets],
            "routellm": {
                "source": ROUTELLM_MT_BENCH.source,
                "router": ROUTELLM_MT_BENCH.router,
                "dataset": ROUTELLM_MT_BENCH.dataset,
                "pro_share": ROUTELLM_MT_BENCH.pro_share,
                "quality_retained": float(ROUTELLM_MT_BENCH.quality_retained),
                "comparison": self.routellm_comparison(),
            },
            "notes": list(self.notes),
        }

    def to_json(self, *, indent: int | None = 2) -> str:
        """:meth:`to_dict` as JSON text."""
        return json.dumps(self.to_dict(), indent=indent)


def _pick(values: Sequence[float], limit: int) -> list[float]:
    """At most ``limit`` of ``values`` (sorted), at evenly spaced ranks, ends included."""
    if len(values) <= limit:
        return list(values)
    limit = max(limit, 2)
    step = (len(values) - 1) / (limit - 1)
    return sorted({values[round(i * step)] for i in range(limit)})


def _random_share(metric: Metric, goal: Fraction, lite: Fraction, pro: Fraction) -> float | None:
    if pro == lite:
        return None
    if metric == "pgr":
        return float(goal)
    share = (goal * pro - lite) / (pro - lite)
    return float(min(max(share, Fraction(0)), Fraction(1)))


def _target(metric: Metric, points: Sequence[EvalPoint], lite: Fraction, pro: Fraction) -> Target:
    rated = [(p.metric(metric), p) for p in points if p.metric(metric) is not None]
    reaching = [p for value, p in rated if value is not None and value >= GOAL]
    first = min(reaching, key=lambda p: (p.pro_calls, -p.quality), default=None)
    best = max(rated, key=lambda vp: (vp[0], -vp[1].pro_calls), default=(None, None))[1]
    return Target(metric, GOAL, first, best, _random_share(metric, GOAL, lite, pro))


def _notes(
    dataset: str,
    scorer: str,
    items: Sequence[EvalItem],
    counts: tuple[int, int, int],
    lane: Lane,
    candidates: int,
    evaluated: int,
) -> list[str]:
    ruled, scored, unscored = counts
    notes = []
    if scorer == "simulated":
        notes.append(
            "SIMULATED: scores come from the embedded simulator's keyword classifier, not "
            "from Gemini Flash-Lite; the curve shows the policy's mechanics, not a quality claim."
        )
    if unscored:
        single = " so the curve is a single point" if not scored else ""
        notes.append(
            f"{unscored:,} of {len(items):,} items have no score (no rule decided them"
            f"{'' if scorer == 'rules' else ' and no classifier score'}): they go to the "
            f"fallback lane ({lane}) at every threshold;{single}."
        )
    if ruled:
        notes.append(
            f"{ruled:,} of {len(items):,} items were decided by the rules at every threshold."
        )
    if dataset == "mt-bench":
        notes.append(
            "MT-Bench: each question is routed on its first turn and answered by one model for "
            "both turns (as RouteLLM does); quality = that model's judge score averaged over "
            "both turns; all 80 questions (RouteLLM drops a few as contaminated)."
        )
    defaults = sum(1 for item in items if not item.replies_recorded)
    if defaults:
        notes.append(
            f"{defaults:,} items record no reply length: {DEFAULT_OUTPUT_TOKENS} output tokens "
            "assumed on each lane they lack."
        )
    notes.append(
        "Spend: prompts at ~4 characters per token, replies as long as the recorded answers, "
        "no thinking tokens; the weak model's answers stand for Flash-Lite, the strong "
        "model's for Pro."
    )
    if evaluated < candidates:
        notes.append(
            f"{candidates:,} candidate thresholds: {evaluated} evaluated, at evenly spaced ranks."
        )
    return notes


def evaluate(
    items: Sequence[EvalItem],
    scored: Sequence[ScoredRequest],
    config: RouterConfig | None = None,
    *,
    dataset: str = "jsonl",
    scorer: str = "recorded",
    source: str = "",
    max_points: int = DEFAULT_MAX_POINTS,
) -> EvalResult:
    """Quality, Pro share and spend along the threshold sweep, with both endpoints.

    Args:
        items: the labelled items.
        scored: :func:`score_items` of the same items, in the same order.
        config: the policy replayed (the defaults when None).
        dataset, scorer, source: recorded in the result (and pick its notes).
        max_points: thresholds evaluated at most (every distinct score below it).

    Raises:
        ValueError: ``scored`` does not match ``items`` one to one, or no items.
    """
    if len(items) != len(scored):
        raise ValueError(f"{len(items)} items but {len(scored)} scored requests")
    for item, request in zip(items, scored, strict=True):
        if item.id != request.id:
            raise ValueError(f"scored request {request.id!r} does not match item {item.id!r}")
    if not items:
        raise ValueError("no items to evaluate")
    config = config or RouterConfig()
    n = len(items)
    lite_quality = sum((i.quality_lite for i in items), Fraction(0)) / n
    pro_quality = sum((i.quality_pro for i in items), Fraction(0)) / n
    gap = pro_quality - lite_quality
    all_pro_spend = _sum([s.pro_cost for s in scored])

    def point(
        threshold: float | None, lanes: Sequence[Lane], spend: Decimal | None, share: float
    ) -> EvalPoint:
        quality = (
            sum(
                (
                    i.quality_lite if lane == "lite" else i.quality_pro
                    for i, lane in zip(items, lanes, strict=True)
                ),
                Fraction(0),
            )
            / n
        )
        return EvalPoint(
            threshold=threshold,
            requests=n,
            pro_calls=sum(1 for lane in lanes if lane != "lite"),
            pro_share=share,
            spend=spend,
            all_pro_spend=all_pro_spend,
            quality=quality,
            quality_retained=_ratio(quality, pro_quality),
            pgr=_ratio(quality - lite_quality, gap),
        )

    all_lite = point(None, ["lite"] * n, _sum([s.lite_cost for s in scored]), 0.0)
    all_pro = point(None, ["pro"] * n, all_pro_spend, 1.0)

    candidates = candidate_thresholds(scored)
    thresholds = _pick(candidates, max_points)
    points = tuple(
        point(
            swept.threshold,
            [lane_at(s, swept.threshold, config) for s in scored],
            swept.spend,
            swept.pro_share,
        )
        for swept in sweep(scored, thresholds, config)
    )
    counts = (
        sum(1 for s in scored if s.rule_lane is not None),
        sum(1 for s in scored if s.rule_lane is None and s.score is not None),
        sum(1 for s in scored if s.rule_lane is None and s.score is None),
    )
    metrics: tuple[Metric, ...] = ("quality_retained", "pgr")
    return EvalResult(
        dataset=dataset,
        scorer=scorer,
        source=source,
        quality_metric=_QUALITY_LABELS.get(dataset, "mean quality"),
        lite_model=config.lite_model,
        pro_model=config.pro_model,
        fallback_lane=config.classifier.fallback_lane,
        ruled=counts[0],
        scored=counts[1],
        unscored=counts[2],
        all_lite=all_lite,
        all_pro=all_pro,
        points=points,
        targets=tuple(_target(m, points, lite_quality, pro_quality) for m in metrics),
        notes=tuple(
            _notes(
                dataset,
                scorer,
                items,
                counts,
                config.classifier.fallback_lane,
                len(candidates),
                len(thresholds),
            )
        ),
    )


def load_datasets(
    path: str | os.PathLike[str], format: DatasetFormat | None = None
) -> list[tuple[DatasetFormat, list[EvalItem]]]:
    """Every dataset at ``path`` (``format`` picks one), as ``(format, items)`` pairs.

    Raises:
        DatasetError: as :func:`detect_formats` and :func:`load_dataset`.
    """
    path, format = resolve_dataset(path, format)
    formats = [format] if format is not None else detect_formats(path)
    return [(fmt, load_dataset(path, fmt)) for fmt in formats]


def resolve_dataset(
    path: str | os.PathLike[str], format: DatasetFormat | None = None
) -> tuple[Path, DatasetFormat | None]:
    """``mt-bench``, ``gsm8k`` or ``routellm`` name the bundled data unless such a path exists.

    Example:
        >>> from lc_gemini_router.tools.evaluation import BUNDLED_DATA, resolve_dataset
        >>> resolve_dataset("gsm8k") == (BUNDLED_DATA, "gsm8k")
        True
    """
    where = Path(path)
    name = os.fspath(path)
    if name in BUNDLED_NAMES and not where.exists():
        return BUNDLED_DATA, format or BUNDLED_NAMES[name]
    return where, format


def run_eval(
    path: str | os.PathLike[str],
    *,
    format: DatasetFormat | None = None,
    scorer: ScorerName = "rules",
    config: RouterConfig | None = None,
    max_points: int = DEFAULT_MAX_POINTS,
    workers: int = _DEFAULT_WORKERS,
    on_item: Callable[[EvalItem], None] | None = None,
    datasets: Sequence[tuple[DatasetFormat, Sequence[EvalItem]]] | None = None,
) -> list[EvalResult]:
    """Load, score and evaluate every dataset at ``path`` (both in a RouteLLM folder).

    ``simulated`` and ``live`` scoring share one router (one simulator) for all datasets.
    ``datasets`` (from :func:`load_datasets`) skips loading; ``path`` then only labels
    the results.

    Raises:
        DatasetError: as :func:`load_dataset` and :func:`score_items`.
        ConfigError: ``live`` without an API key.
    """
    config = config or RouterConfig()
    if datasets is None:
        datasets = load_datasets(path, format)

    def run(router: GeminiRouter | None) -> list[EvalResult]:
        results = []
        for fmt, items in datasets:
            scored = score_items(
                items, scorer, config=config, router=router, workers=workers, on_item=on_item
            )
            results.append(
                evaluate(
                    items,
                    scored,
                    config,
                    dataset=fmt,
                    scorer=scorer,
                    source=str(path),
                    max_points=max_points,
                )
            )
        return results

    if scorer not in ("simulated", "live"):
        return run(None)
    from lc_gemini_router.tools.demo import gemini_backend

    with gemini_backend(live=scorer == "live") as backend:
        router = backend.router(config)
        try:
            return run(router)
        finally:
            router.close()


# -- plotting -------------------------------------------------------------------------------


def plot_curve(results: EvalResult | Sequence[EvalResult], path: str | os.PathLike[str]) -> Path:
    """Save quality against Pro share as a PNG, one panel per result.

    Each panel shows the router's points, both endpoints, random routing (the
    straight line between them), the 95%-of-Pro quality line and, for MT-Bench,
    RouteLLM's published point. Uses matplotlib's Agg canvas (no display, no pyplot).

    Raises:
        ImportError: matplotlib is not installed (``pip install lc-gemini-router[cli]``).
        OSError: the file cannot be written.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    panels = [results] if isinstance(results, EvalResult) else list(results)
    if not panels:
        raise ValueError("nothing to plot")
    figure = Figure(figsize=(6.4 * len(panels), 4.8), layout="constrained")
    FigureCanvasAgg(figure)
    for axes, result in zip(figure.subplots(1, len(panels), squeeze=False)[0], panels, strict=True):
        lite, pro = result.all_lite, result.all_pro
        axes.plot(
            [0, 100],
            [float(lite.quality), float(pro.quality)],
            linestyle="--",
            color="grey",
            label="random routing",
        )
        curve = sorted(result.points, key=lambda p: (p.pro_share, p.quality))
        axes.plot(
            [100 * p.pro_share for p in curve],
            [float(p.quality) for p in curve],
            marker="o",
            markersize=3,
            label=f"router ({result.scorer} scorer)",
        )
        axes.scatter(
            [0], [float(lite.quality)], color="tab:green", zorder=3, label="all Flash-Lite"
        )
        axes.scatter([100], [float(pro.quality)], color="tab:red", zorder=3, label="all Pro")
        axes.axhline(
            float(GOAL * pro.quality), color="tab:purple", linewidth=0.8, label="95% of all-Pro"
        )
        if result.dataset == ROUTELLM_MT_BENCH.dataset:
            ref = ROUTELLM_MT_BENCH
            axes.scatter(
                [100 * ref.pro_share],
                [float(ref.quality_retained * pro.quality)],
                marker="*",
                s=120,
                color="black",
                zorder=4,
                label="RouteLLM mf (published)",
            )
        title = f"{result.dataset}: {result.items} items"
        if result.simulated:
            title += " - SIMULATED scorer, not a quality claim"
        axes.set_title(title, fontsize=10)
        axes.set_xlabel("Pro share of calls (%)")
        axes.set_ylabel(result.quality_metric)
        axes.set_xlim(-2, 102)
        axes.grid(alpha=0.3)
        axes.legend(fontsize=8, loc="lower right")
    target = Path(path)
    figure.savefig(target, format="png", dpi=100)
    return target
