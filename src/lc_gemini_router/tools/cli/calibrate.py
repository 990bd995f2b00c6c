"""``lc-gemini-router calibrate``: pick the escalation threshold from a sample."""

from __future__ import annotations

import argparse
import os
from decimal import Decimal
from typing import TYPE_CHECKING

from lc_gemini_router.callbacks.handler import get_gemini_cost_callback
from lc_gemini_router.config import RouterConfig
from lc_gemini_router.tools.cli.common import (
    PROG,
    CliError,
    add_backend_flags,
    add_config_flag,
    live_flag,
    load_config,
    make_table,
)
from lc_gemini_router.tools.formatting import usd

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

    from lc_gemini_router.tools.calibration import Calibration


def _calibration_target(args: argparse.Namespace) -> tuple[float | None, Decimal | None]:
    """The one target of ``calibrate``: a Pro share (``0.2`` or ``20%``) or a budget."""
    share_text: str | None = args.target_pro_share
    budget_text: str | None = args.budget_per_1k_requests
    if (share_text is None) == (budget_text is None):
        msg = "give one target: --target-pro-share SHARE or --budget-per-1k-requests USD"
        raise CliError(msg)
    if share_text is not None:
        raw = share_text.strip()
        try:
            share = float(raw[:-1]) / 100 if raw.endswith("%") else float(raw)
        except ValueError:
            share = -1.0
        if not 0 <= share <= 1:
            msg = f"--target-pro-share must be a share from 0 to 1 (or 0% to 100%), got {raw!r}"
            raise CliError(msg)
        return share, None
    raw = (budget_text or "").strip()
    try:
        budget = Decimal(raw.removeprefix("$").replace(",", ""))
    except ArithmeticError:
        budget = Decimal(-1)
    if not budget.is_finite() or budget < 0:
        msg = f"--budget-per-1k-requests must be an amount in USD >= 0, got {raw!r}"
        raise CliError(msg)
    return None, budget


def _per_1k(amount: Decimal | None) -> str:
    """Dollars per 1,000 requests, to a millionth of a dollar."""
    return "unknown" if amount is None else usd(amount.quantize(Decimal("0.000001")))


def _threshold_text(threshold: float) -> str:
    """A threshold as written to the config, or to 4 decimals when that is long."""
    text = repr(threshold)
    return text if len(text) <= 6 else f"{threshold:.4f}"


def _calibration_table(calibration: Calibration) -> Table:
    from rich.text import Text

    from lc_gemini_router.tools.calibration import pro_requests

    rows = []
    for point in calibration.rows:
        chosen = point == calibration.chosen
        all_pro = (
            None if point.all_pro_spend is None else point.all_pro_spend * 1000 / point.requests
        )
        savings = point.savings_share
        cells = (
            "chosen" if chosen else "",
            _threshold_text(point.threshold),
            f"{point.pro_share:.1%}",
            f"{pro_requests(point):,} of {point.requests:,}",
            _per_1k(point.spend_per_1k),
            _per_1k(all_pro),
            "-" if savings is None else f"{savings:.1%}",
        )
        rows.append(tuple(Text(c, style="bold" if chosen else "") for c in cells))
    headers = (
        "threshold",
        "Pro share",
        "on Pro",
        "spend per 1k requests",
        "all-Pro per 1k",
        "savings vs all-Pro",
    )
    columns = [("", False), *((name, True) for name in headers)]
    return make_table(f"Escalation thresholds (target: {calibration.target})", columns, rows)


def _cmd_calibrate(args: argparse.Namespace, console: Console) -> int:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
    from rich.text import Text

    from lc_gemini_router.routing.thresholds import ScoredRequest
    from lc_gemini_router.tools.backend import API_KEY_VARIABLES, gemini_backend
    from lc_gemini_router.tools.calibration import (
        calibrate,
        pro_requests,
        read_sample,
        score_sample,
        write_config,
    )

    share, budget = _calibration_target(args)
    start = load_config(args.config) or RouterConfig()
    sample = read_sample(args.sample, config=start)
    pending = sample.pending
    scored: list[ScoredRequest] = []
    if pending:
        live = live_flag(args)
        if live is None and not any(os.environ.get(name) for name in API_KEY_VARIABLES):
            msg = (
                f"{len(pending):,} requests in {args.sample} have no score (first: "
                f"{pending[0].where}): set GOOGLE_API_KEY to score them with Gemini's "
                "classifier, pass --simulated to score them with the offline simulator, "
                'or add "score" to each line'
            )
            raise CliError(msg)
        with gemini_backend(live=live) as backend:
            style = "bold red" if backend.live else "green"
            console.print(Text(backend.description, style=style))
            router = backend.router(start)
            columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
            try:
                with (
                    get_gemini_cost_callback() as cb,
                    Progress(
                        *columns,
                        console=console,
                        transient=True,
                        disable=not console.is_terminal,
                    ) as progress,
                ):
                    bar = progress.add_task("scoring", total=len(pending))
                    scored = score_sample(
                        pending, router, on_scored=lambda _: progress.update(bar, advance=1)
                    )
            finally:
                router.close()
        if all(r.score is None and r.rule_lane is None for r in scored):
            hint = " (is the API key valid?)" if backend.live else ""
            msg = (
                f"the classifier scored none of the {len(pending):,} requests "
                f"it was asked to score{hint}"
            )
            raise CliError(msg)
        console.print(
            f"Scored {len(pending):,} requests: {cb.calls:,} classifier calls, "
            f"{usd(cb.total_cost)}",
            markup=False,
        )
    requests = sample.with_scores(scored)
    calibration = calibrate(requests, target_pro_share=share, budget_per_1k=budget, config=start)
    chosen = calibration.chosen
    threshold = calibration.config.escalation_threshold
    header = (
        f"Written by `{PROG} calibrate` from {args.sample} "
        f"({chosen.requests:,} requests, {sample.format}).\n"
        f"Target {calibration.target}: escalation_threshold {threshold!r} gives a Pro share "
        f"of {chosen.pro_share:.1%} and {_per_1k(chosen.spend_per_1k)} per 1,000 requests "
        "on that sample.\nEvery setting is written: RouterConfig.from_toml loads this file."
    )
    write_config(calibration.config, args.out, header=header)

    ruled = sum(1 for r in requests if r.rule_lane is not None)
    unscored = sum(1 for r in requests if r.rule_lane is None and r.score is None)
    kind = "a cost log" if sample.format == "cost-log" else "request lines"
    console.print(
        f"Sample {args.sample} ({kind}): {len(requests):,} requests, {ruled:,} decided by "
        f"rules, {len(requests) - ruled - unscored:,} by their classifier score, "
        f"{unscored:,} without a score (fallback lane)",
        markup=False,
    )
    console.print(_calibration_table(calibration), crop=False)
    expected = (
        f"Expected: Pro share {chosen.pro_share:.1%} ({pro_requests(chosen):,} of "
        f"{chosen.requests:,} requests), {_per_1k(chosen.spend_per_1k)} per 1,000 requests"
    )
    savings = chosen.savings_share
    if chosen.all_pro_spend is not None and chosen.spend_per_1k is not None and savings is not None:
        all_pro_1k = chosen.all_pro_spend * 1000 / chosen.requests
        expected += (
            f", saving {savings:.1%} ({_per_1k(all_pro_1k - chosen.spend_per_1k)} per 1,000) "
            f"against all-Pro ({_per_1k(all_pro_1k)} per 1,000)"
        )
    console.print(
        f"Chosen escalation_threshold = {threshold!r} (was {start.escalation_threshold!r})",
        style="bold",
        markup=False,
    )
    console.print(expected, markup=False)
    console.print(
        f"Wrote {args.out}: the full router config; use it with --config {args.out} "
        "or RouterConfig.from_toml.",
        markup=False,
    )
    if not calibration.reached:
        console.print(
            f"The target is out of reach on this sample: {chosen.pro_share:.1%} is the "
            "closest Pro share any threshold gives (rules fix the lane of some requests).",
            style="yellow",
            markup=False,
        )
    if not calibration.threshold_matters:
        console.print(
            "No threshold changes a decision on this sample: no request is routed by a score.",
            style="yellow",
            markup=False,
        )
    if sample.format == "cost-log":
        basis = "each request's logged tokens, replayed on Flash-Lite and on Pro"
    else:
        basis = (
            "tokens estimated from each request's text (about 4 characters per token) "
            "and its output_tokens"
        )
    console.print(
        f"Spend uses {basis}, classifier calls included. A request moved to Pro would "
        "also think on Pro: spend with more Pro is a lower bound.",
        style="dim",
        markup=False,
    )
    for note in sample.notes:
        console.print(f"Note: {note}", style="yellow", markup=False)
    return 0


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``calibrate`` command to the parser."""
    calibrate_parser = commands.add_parser(
        "calibrate",
        help="pick the escalation threshold from a sample of requests and write a config",
        description="Replay a sample of requests at every escalation threshold and write "
        "the router config with the one that meets a target: a share of requests on Pro, "
        "or a budget per 1,000 requests. The sample is a cost log (demo --log, or "
        "GeminiCostCallbackHandler(log=...)), whose recorded scores are reused, or JSON "
        'lines of requests ({"id": ..., "prompt": ...}, optionally with a "score"); '
        "requests without a score are scored with the classifier: live with an API key, "
        "or on the simulator with --simulated.",
    )
    calibrate_parser.add_argument(
        "sample", metavar="SAMPLE.jsonl", help="a cost log or request lines (JSON lines)"
    )
    calibrate_parser.add_argument(
        "--target-pro-share",
        metavar="SHARE",
        help="share of requests to answer on Pro: 0.2 or 20%%",
    )
    calibrate_parser.add_argument(
        "--budget-per-1k-requests",
        metavar="USD",
        help="spend per 1,000 requests, classifier included: the most Pro within it",
    )
    calibrate_parser.add_argument(
        "--out",
        metavar="FILE.toml",
        default="router.toml",
        help="where to write the router config (default router.toml; replaced)",
    )
    add_config_flag(calibrate_parser, "start from these router settings")
    add_backend_flags(calibrate_parser)
    calibrate_parser.set_defaults(handler=_cmd_calibrate)
