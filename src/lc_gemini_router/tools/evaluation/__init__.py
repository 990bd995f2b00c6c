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

from lc_gemini_router.tools.evaluation.datasets import (
    BUNDLED_DATA,
    detect_formats,
    load_dataset,
    load_datasets,
    resolve_dataset,
)
from lc_gemini_router.tools.evaluation.items import (
    DEFAULT_OUTPUT_TOKENS,
    FORMATS,
    STRONG_MODEL,
    WEAK_MODEL,
    DatasetError,
    DatasetFormat,
    EvalItem,
)
from lc_gemini_router.tools.evaluation.plot import plot_curve
from lc_gemini_router.tools.evaluation.results import (
    GOAL,
    ROUTELLM_MT_BENCH,
    EvalPoint,
    EvalResult,
    PublishedPoint,
    Target,
)
from lc_gemini_router.tools.evaluation.runner import DEFAULT_MAX_POINTS, evaluate, run_eval
from lc_gemini_router.tools.evaluation.scoring import SCORERS, ScorerName, score_items

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
