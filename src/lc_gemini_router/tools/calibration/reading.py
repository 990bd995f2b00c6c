"""Reading a sample file in either format, detected from its first line."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from lc_gemini_router.config import RouterConfig
from lc_gemini_router.errors import ConfigError
from lc_gemini_router.router import GeminiRouter
from lc_gemini_router.routing.thresholds import ScoredRequest
from lc_gemini_router.tools.calibration.cost_log import _read_cost_log
from lc_gemini_router.tools.calibration.request_lines import _read_requests
from lc_gemini_router.tools.calibration.sample import Sample
from lc_gemini_router.tools.calibration.scoring import score_sample
from lc_gemini_router.tools.jsonl import JsonLine, read_json_lines


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
