"""Section 3, economics: routing RouteLLM's labelled prompts, priced exactly.

Data (``../shared/data/routellm``, see its README): the 80 MT-Bench turn-1 prompts
and the 1,319 GSM8K prompts. A prompt "needs strong" when, on MT-Bench, the strong
model's turn-1 judge score beats the weak one's by 2 or more, and on GSM8K when the
weak model was wrong and the strong one right.

Token counts: prompts at ~4 characters per token. Replies take the recorded
lengths: Flash-Lite answers as long as the weak model's answer, Pro as long as the
strong model's, plus thinking tokens of 1.5x its visible reply (Flash-Lite: no
thinking). MT-Bench answers are read from the judge prompts in ``judgements.jsonl``
(the text between ``[The Start of Assistant's Answer]`` and ``[The End of Assistant's
Answer]``); when that fails, a fixed length per category is used and counted.

The classifier is :class:`benchmarks.fakes.KeywordClassifier`: keyword heuristics,
blind to the labels. Spend shares are the figures that matter here; the routing
quality of a keyword heuristic says nothing about Flash-Lite's.

Two runs through ``GeminiRouter`` (``RouterConfig()`` defaults) inside
``get_gemini_cost_callback()``: every prompt once, then a fresh router and handler
on a replay where every prompt comes ``replay_repeats`` times in a shuffled order
(fixed seed). The text rules' precision is measured on all labelled prompts with the
router's own rule step (:func:`lc_gemini_router.rule_decision`).
"""

from __future__ import annotations

import csv
import json
import random
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from langchain_core.messages import HumanMessage

from benchmarks.common import Sizes, lane_cost
from benchmarks.fakes import (
    LITE,
    PRO,
    PRO_TOOLS,
    KeywordClassifier,
    LaneFake,
    ReplySize,
    tokens_for,
)
from lc_gemini_router import GeminiRouter, RouterConfig, get_gemini_cost_callback
from lc_gemini_router.classify.classifier import CLASSIFIER_INSTRUCTION
from lc_gemini_router.routing.policy import RouteRequest, rule_decision

__all__ = [
    "CLASSIFIER_SHARE_GOAL",
    "Item",
    "load_items",
    "rules_precision",
    "run_economics",
]

CLASSIFIER_SHARE_GOAL = 0.05
AVOIDED_GOAL = 0.50
SEED = 20_240_601
STRONG = "gpt-4-1106-preview"
WEAK = "mistralai/Mixtral-8x7B-Instruct-v0.1"
PRO_THINKING_FACTOR = 1.5
_ANSWER = re.compile(
    r"\[The Start of Assistant's Answer\]\n(.*?)\n\[The End of Assistant's Answer\]", re.S
)
# Used only when an MT-Bench answer cannot be read from the judge prompt.
CATEGORY_REPLY_TOKENS = {
    "writing": 450,
    "roleplay": 350,
    "reasoning": 300,
    "math": 300,
    "coding": 400,
    "extraction": 150,
    "stem": 450,
    "humanities": 500,
}


@dataclass(frozen=True)
class Item:
    """One labelled prompt with the reply sizes its lanes produce."""

    dataset: str
    key: str
    category: str
    prompt: str
    needs_strong: bool
    lite_reply: int
    pro_reply: int
    reply_source: str

    @property
    def pro_thinking(self) -> int:
        return round(self.pro_reply * PRO_THINKING_FACTOR)

    @property
    def input_tokens(self) -> int:
        return tokens_for(len(self.prompt))


def _mt_bench(data_dir: Path) -> list[Item]:
    questions = [
        json.loads(line)
        for line in (data_dir / "question.jsonl").read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    scores: dict[tuple[int, str], float] = {}
    answers: dict[tuple[int, str], str] = {}
    for line in (data_dir / "judgements.jsonl").read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        if row["turn"] != 1:
            continue
        key = (int(row["question_id"]), str(row["model"]))
        scores[key] = float(row["score"])
        match = _ANSWER.search(row.get("user_prompt") or "")
        if match:
            answers[key] = match.group(1)
    items = []
    for question in questions:
        qid = int(question["question_id"])
        category = str(question["category"])
        strong, weak = (qid, STRONG), (qid, WEAK)
        if strong not in scores or weak not in scores:
            continue
        recorded = strong in answers and weak in answers
        default = CATEGORY_REPLY_TOKENS.get(category, 400)
        items.append(
            Item(
                dataset="mt-bench",
                key=str(qid),
                category=category,
                prompt=str(question["turns"][0]),
                needs_strong=scores[strong] - scores[weak] >= 2,
                lite_reply=tokens_for(len(answers[weak])) if recorded else default,
                pro_reply=tokens_for(len(answers[strong])) if recorded else default,
                reply_source="recorded" if recorded else "category default",
            )
        )
    return items


def _gsm8k(data_dir: Path) -> list[Item]:
    csv.field_size_limit(1 << 26)
    items = []
    with (data_dir / "gsm8k_responses.csv").open(encoding="utf-8", newline="") as handle:
        for index, row in enumerate(csv.DictReader(handle)):
            weak_right = row[WEAK].strip() == "True"
            strong_right = row[STRONG].strip() == "True"
            items.append(
                Item(
                    dataset="gsm8k",
                    key=str(index),
                    category="math",
                    prompt=row["prompt"],
                    needs_strong=strong_right and not weak_right,
                    lite_reply=tokens_for(len(row[f"{WEAK}_response"])),
                    pro_reply=tokens_for(len(row[f"{STRONG}_response"])),
                    reply_source="recorded",
                )
            )
    return items


def load_items(data_dir: Path) -> list[Item]:
    """Every labelled prompt: MT-Bench turn 1, then GSM8K."""
    return _mt_bench(data_dir) + _gsm8k(data_dir)


def _router(items: Sequence[Item]) -> GeminiRouter:
    lite = {i.prompt: ReplySize(i.lite_reply) for i in items}
    pro = {i.prompt: ReplySize(i.pro_reply, i.pro_thinking) for i in items}
    return GeminiRouter(
        classifier=KeywordClassifier(),
        lite=LaneFake(model_name=LITE, replies=lite),
        pro=LaneFake(model_name=PRO, replies=pro),
        pro_tools=LaneFake(model_name=PRO_TOOLS, replies=pro),
        config=RouterConfig(),
    )


def _answer_cost(item: Item, lane: str) -> Decimal:
    if lane == "lite":
        return lane_cost(LITE, item.input_tokens, item.lite_reply)
    model = PRO if lane == "pro" else PRO_TOOLS
    return lane_cost(model, item.input_tokens, item.pro_reply + item.pro_thinking)


def _share(part: float, whole: float) -> float | None:
    return round(part / whole, 6) if whole else None


def _breakeven(per_request: dict[str, float]) -> float | None:
    """The Pro share of answers at which the classifier's spend is exactly the goal's share.

    With c = classifier spend per request, l and p = a lite and a Pro answer's mean cost:
    c / (c + (1 - q) l + q p) = g  gives  q = (c (1 - g) / g - l) / (p - l).
    """
    c, lite, pro = per_request["classifier"], per_request["lite_answer"], per_request["pro_answer"]
    g = CLASSIFIER_SHARE_GOAL
    if pro <= lite:
        return None
    return round(min(max((c * (1 - g) / g - lite) / (pro - lite), 0.0), 1.0), 4)


def _route(items: Sequence[Item], order: Iterable[int]) -> dict[str, Any]:
    router = _router(items)
    decisions: list[tuple[int, dict[str, Any]]] = []
    with get_gemini_cost_callback() as cb:
        for index in order:
            reply = router.invoke([HumanMessage(items[index].prompt)])
            decisions.append((index, reply.response_metadata["lc_gemini_router"]["decision"]))
    roles = cb.by_role
    classifier = roles.get("classifier")
    answer = roles.get("answer")
    speculative = roles.get("speculative")
    classifier_cost = classifier.cost if classifier else Decimal(0)
    lanes = Counter(d["lane"] for _, d in decisions)
    requests = len(decisions)
    expected_answers = sum((_answer_cost(items[i], d["lane"]) for i, d in decisions), Decimal(0))
    all_pro = sum((_answer_cost(items[i], "pro") for i, _ in decisions), Decimal(0))
    all_lite = sum((_answer_cost(items[i], "lite") for i, _ in decisions), Decimal(0))
    per_dataset: dict[str, dict[str, Any]] = {}
    for name in sorted({items[i].dataset for i, _ in decisions}):
        mine = [d for i, d in decisions if items[i].dataset == name]
        pro = sum(1 for d in mine if d["lane"] != "lite")
        per_dataset[name] = {"requests": len(mine), "pro_share_of_answers": _share(pro, len(mine))}
    strong_needed = [(i, d) for i, d in decisions if items[i].needs_strong]
    to_pro = [(i, d) for i, d in decisions if d["lane"] != "lite"]
    total = cb.total_cost
    calls = classifier.calls if classifier else 0
    per_request = {
        "classifier": float(classifier_cost) / requests,
        "lite_answer": float(all_lite) / requests,
        "pro_answer": float(all_pro) / requests,
    }
    return {
        "requests": requests,
        "answers_by_lane": dict(sorted(lanes.items())),
        "pro_share_of_answers": _share(lanes["pro"] + lanes["pro_tools"], requests),
        "decision_sources": dict(sorted(cb.decision_sources.items())),
        "classifier_calls": classifier.calls if classifier else 0,
        "classifier_calls_avoided": cb.classifier_calls_avoided,
        "cache_hit_rate": cb.cache_hit_rate,
        "total_cost_usd": total,
        "classifier_cost_usd": classifier_cost,
        "answer_cost_usd": answer.cost if answer else Decimal(0),
        "speculative_cost_usd": speculative.cost if speculative else Decimal(0),
        "classifier_spend_share": _share(float(classifier_cost), float(total)),
        "pro_spend_share": _share(
            float(sum((_answer_cost(items[i], d["lane"]) for i, d in to_pro), Decimal(0))),
            float(total),
        ),
        "reference_cost_usd": cb.reference_cost,
        "spend_vs_reference": _share(float(total), float(cb.reference_cost)),
        "all_pro_cost_usd": all_pro,
        "spend_vs_all_pro": _share(float(total), float(all_pro)),
        "all_lite_cost_usd": all_lite,
        "answer_costs_exact": answer is not None and answer.cost == expected_answers,
        "classifier_call": {
            "mean_input_tokens": round(classifier.input_tokens / calls, 1) if classifier else None,
            "mean_output_tokens": round(classifier.output_tokens / calls, 1)
            if classifier
            else None,
            "instruction_tokens": tokens_for(len(CLASSIFIER_INSTRUCTION)),
            "cost_per_call_usd": classifier_cost / calls if calls else None,
        },
        "mean_cost_per_request_usd": {k: round(v, 9) for k, v in per_request.items()},
        "pro_share_needed_for_classifier_goal": _breakeven(per_request),
        "per_dataset": per_dataset,
        "simulated_classifier_quality": {
            "needs_strong_requests": len(strong_needed),
            "needs_strong_sent_to_pro": sum(1 for _, d in strong_needed if d["lane"] != "lite"),
            "pro_answers_that_needed_strong": sum(1 for i, _ in to_pro if items[i].needs_strong),
        },
        "_rule_indices": sorted({i for i, d in decisions if d["source"] == "rule"}),
    }


def run_economics(sizes: Sizes, data_dir: Path) -> dict[str, Any]:
    """Both runs over the data (every ``economics_stride``-th prompt of each set)."""
    items = load_items(data_dir)
    chosen = [
        index
        for dataset in ("mt-bench", "gsm8k")
        for n, index in enumerate(i for i, item in enumerate(items) if item.dataset == dataset)
        if n % sizes.economics_stride == 0
    ]
    once = _route(items, chosen)
    replay_order = [i for i in chosen for _ in range(sizes.replay_repeats)]
    random.Random(SEED).shuffle(replay_order)
    replay = _route(items, replay_order)
    rule_indices = once.pop("_rule_indices")
    replay.pop("_rule_indices")
    expected_rules = {i for i in chosen if _rule(items[i]) is not None}
    sources = Counter(item.reply_source for item in items)
    return {
        "prompts": {
            "mt_bench": sum(1 for i in chosen if items[i].dataset == "mt-bench"),
            "gsm8k": sum(1 for i in chosen if items[i].dataset == "gsm8k"),
            "stride": sizes.economics_stride,
        },
        "tokens": {
            "chars_per_token": 4,
            "pro_thinking_factor": PRO_THINKING_FACTOR,
            "reply_lengths": dict(sources),
            "mean_input_tokens": round(sum(items[i].input_tokens for i in chosen) / len(chosen), 1),
            "mean_lite_reply_tokens": round(
                sum(items[i].lite_reply for i in chosen) / len(chosen), 1
            ),
            "mean_pro_reply_tokens": round(
                sum(items[i].pro_reply for i in chosen) / len(chosen), 1
            ),
        },
        "classifier": "benchmarks.fakes.KeywordClassifier (keyword heuristics, label-blind)",
        "config": "RouterConfig() defaults",
        "once": once,
        "replay": {"repeats": sizes.replay_repeats, "seed": SEED, **replay},
        "rule_decisions_match_router": set(rule_indices) == expected_rules,
        "notes": {
            "spend_vs_reference": "total / handler.reference_cost, which prices each answer's "
            "own usage at Pro rates (lite answers are shorter and think less than Pro's would)",
            "spend_vs_all_pro": "total / the cost of Pro answering every request with its "
            "recorded reply length plus thinking: the counterfactual all-Pro bill",
            "pro_share_needed_for_classifier_goal": "Pro share of answers at which the "
            "classifier's spend share would equal the goal, at this run's mean costs",
            "simulated_classifier_quality": "keyword heuristics, label-blind: not a measure "
            "of Flash-Lite as a classifier",
        },
        "goals": {"classifier_spend_share": CLASSIFIER_SHARE_GOAL, "calls_avoided": AVOIDED_GOAL},
    }


def _rule(item: Item) -> Any:
    request = RouteRequest(messages=(HumanMessage(item.prompt),))
    return rule_decision(request, RouterConfig())


def _tally(rows: list[tuple[Item, Any]]) -> dict[str, Any]:
    needs = sum(1 for item, _ in rows if item.needs_strong)
    return {
        "count": len(rows),
        "needs_strong": needs,
        "needs_strong_share": _share(needs, len(rows)),
    }


def rules_precision(data_dir: Path) -> dict[str, Any]:
    """How often the free text rules' picks need the strong model, on all labelled prompts."""
    items = load_items(data_dir)
    decided = [(item, _rule(item)) for item in items]
    to_lite = [(i, d) for i, d in decided if d is not None and d.lane == "lite"]
    to_pro = [(i, d) for i, d in decided if d is not None and d.lane != "lite"]
    open_ = [(i, d) for i, d in decided if d is None]
    per_dataset = {}
    for name in ("mt-bench", "gsm8k"):
        mine = [(i, d) for i, d in decided if i.dataset == name]
        per_dataset[name] = {
            "prompts": len(mine),
            "base_rate_needs_strong": _share(sum(1 for i, _ in mine if i.needs_strong), len(mine)),
            "rule_to_lite": _tally([(i, d) for i, d in mine if d is not None and d.lane == "lite"]),
            "rule_to_pro": _tally([(i, d) for i, d in mine if d is not None and d.lane != "lite"]),
        }
    fired = [
        {
            "dataset": i.dataset,
            "id": i.key,
            "category": i.category,
            "lane": d.lane,
            "reason": d.reasons[0] if d.reasons else "",
            "needs_strong": i.needs_strong,
        }
        for i, d in decided
        if d is not None
    ]
    return {
        "prompts": len(items),
        "base_rate_needs_strong": _share(sum(1 for i in items if i.needs_strong), len(items)),
        "rules_fired": len(fired),
        "rules_fired_share": _share(len(fired), len(items)),
        "rule_to_lite": _tally(to_lite),
        "rule_to_pro": _tally(to_pro),
        "left_to_classifier": _tally(open_),
        "per_dataset": per_dataset,
        "fired": fired[:50],
        "note": "rule_to_lite.needs_strong_share: lower is better (a rule sent to Flash-Lite "
        "what needed Pro); rule_to_pro.needs_strong_share: higher is better.",
    }
