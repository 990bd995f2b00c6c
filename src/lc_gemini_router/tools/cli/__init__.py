"""The ``lc-gemini-router`` command: demo, decisions, prices, thresholds, reports, batches.

Commands::

    lc-gemini-router demo [--live | --simulated] [--log FILE] [--config FILE.toml]
    lc-gemini-router route "PROMPT" [--tools N] [--answer] [--config FILE]
                           [--live | --simulated]
    lc-gemini-router price MODEL --input N --output N [--cached N] [--thinking N]
                           [--batch | --tier TIER] [--images SIZE:COUNT ...]
    lc-gemini-router models
    lc-gemini-router doctor [--config FILE] [--live | --simulated]
    lc-gemini-router calibrate SAMPLE.jsonl (--target-pro-share S | --budget-per-1k-requests USD)
                               [--out FILE.toml] [--config FILE] [--live | --simulated]
    lc-gemini-router eval DATASET [--format F] [--scorer S] [--png FILE | --no-png]
                          [--json FILE] [--config FILE]
    lc-gemini-router report COSTLOG.jsonl [--out DIR] [--bucket N|30m|6h|1d]
    lc-gemini-router batch submit FILE.jsonl [--out RESULTS.jsonl] [--no-wait]
                           [--display-name NAME] [--store DIR] [--poll-every SECONDS]
                           [--lane LANE] [--max-requeues N] [--config FILE]
                           [--live | --simulated]
    lc-gemini-router batch status ID [--store DIR] [--config FILE]
    lc-gemini-router batch results ID [--out RESULTS.jsonl] [--no-requeue] [--store DIR]
                                  [--config FILE]
    lc-gemini-router batch cancel ID [--store DIR] [--config FILE]

Without ``GOOGLE_API_KEY`` (or ``GEMINI_API_KEY``) ``demo``, ``route`` and ``batch
submit`` run against an embedded loopback simulator, and say so (``batch status``,
``results`` and ``cancel`` need the live API). User mistakes end with exit code 2 and
one line on stderr; a lane that fails for good ends with exit code 1; ``batch results``
of a job not final yet ends with exit code 3.

The output uses rich (the ``cli`` extra), imported only when a command runs.

Example:
    >>> from lc_gemini_router.tools.cli import main
    >>> main(["price", "gemini-3.1-flash-lite", "--input", "500", "--output", "100"])
    ... # doctest: +SKIP
    0
"""

from __future__ import annotations

from lc_gemini_router.tools.cli.app import main
from lc_gemini_router.tools.cli.common import CliError, backend_problem
from lc_gemini_router.tools.cli.route import route_decision
from lc_gemini_router.tools.formatting import usd

__all__ = ["CliError", "backend_problem", "main", "route_decision", "usd"]
