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

from lc_gemini_router.tools.calibration.config_file import dump_config, write_config
from lc_gemini_router.tools.calibration.reading import load_sample, read_sample
from lc_gemini_router.tools.calibration.sample import (
    CHARS_PER_TOKEN,
    CLASSIFIER_OUTPUT_TOKENS,
    DEFAULT_OUTPUT_TOKENS,
    PendingRequest,
    Sample,
    SampleFormat,
)
from lc_gemini_router.tools.calibration.scoring import score_sample
from lc_gemini_router.tools.calibration.targets import Calibration, calibrate, pro_requests

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
