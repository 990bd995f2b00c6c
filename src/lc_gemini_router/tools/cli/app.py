"""The argument parser of every command, and the entry point that runs one."""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING

from lc_gemini_router.errors import ConfigError, GeminiRouterWarning, LaneError
from lc_gemini_router.pricing.catalog import SERVICE_TIERS
from lc_gemini_router.tools.cli.calibrate import _cmd_calibrate
from lc_gemini_router.tools.cli.common import PROG, CliError, _count, _fail
from lc_gemini_router.tools.cli.demo import _cmd_demo
from lc_gemini_router.tools.cli.doctor import _cmd_doctor
from lc_gemini_router.tools.cli.evaluate import _EVAL_DEFAULT_PNG, _cmd_eval
from lc_gemini_router.tools.cli.prices import _IMAGE_SIZES, _cmd_models, _cmd_price, _image_spec
from lc_gemini_router.tools.cli.report import _bucket, _cmd_report
from lc_gemini_router.tools.cli.route import _cmd_route

if TYPE_CHECKING:
    from rich.console import Console


# Without a terminal rich assumes 80 columns: too narrow for the demo's tables.
_PIPE_WIDTH = 180


def _add_config_flag(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument(
        "--config",
        metavar="FILE.toml",
        help=f"{what} (TOML; a pyproject.toml is read from [tool.lc_gemini_router])",
    )


def _add_backend_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "--live",
        action="store_true",
        help="call the real Gemini API (needs GOOGLE_API_KEY or GEMINI_API_KEY)",
    )
    group.add_argument(
        "--simulated",
        action="store_true",
        help="use the embedded loopback simulator, even when an API key is set",
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Route LangChain calls between Gemini Flash-Lite and Pro, priced exactly.",
        epilog="Without an API key, demo and route run on a local simulator and say so.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    demo = commands.add_parser(
        "demo",
        help="route a built-in mixed workload and show what each request cost",
        description="Route a built-in workload (translation, extraction, summaries, a proof, "
        "debugging, a three-tool agent task) and show each decision and its exact cost, "
        "then the totals against sending everything to Pro.",
    )
    _add_backend_flags(demo)
    demo.add_argument("--log", metavar="FILE", help="append one JSON line per model call")
    _add_config_flag(demo, "router settings")
    demo.set_defaults(handler=_cmd_demo)

    route = commands.add_parser(
        "route",
        help="show where one prompt would go, and why (--answer: and answer it)",
        description="Decide the lane of one prompt: the rules, then the Flash-Lite "
        "classifier when the rules leave it open. The prompt is answered only with "
        "--answer. Exits 1 when the classifier or the chosen lane failed.",
    )
    route.add_argument("prompt", metavar="PROMPT", help="the user message to route")
    route.add_argument(
        "--tools",
        type=_count,
        default=0,
        metavar="N",
        help="route as if N tools were bound (default 0)",
    )
    route.add_argument(
        "--answer",
        action="store_true",
        help="also answer the prompt on the chosen lane (shows a lane that fails and the "
        "fallback that answered)",
    )
    _add_config_flag(route, "router settings")
    _add_backend_flags(route)
    route.set_defaults(handler=_cmd_route)

    price = commands.add_parser(
        "price",
        help="price a call from its token counts",
        description="Price one call exactly. --input counts every prompt token, cached ones "
        "included (as Gemini reports them); --output counts visible output tokens only: "
        "--thinking tokens are added to them, as Gemini bills thinking as output, and "
        "--images add each image's output tokens at the image rate.",
    )
    price.add_argument("model", metavar="MODEL", help="model ID, e.g. gemini-3.1-flash-lite")
    price.add_argument(
        "--input", type=_count, required=True, metavar="N", help="prompt tokens, cached included"
    )
    price.add_argument(
        "--output",
        type=_count,
        required=True,
        metavar="N",
        help="visible output tokens (thinking and images excluded)",
    )
    price.add_argument(
        "--cached", type=_count, default=0, metavar="N", help="the part of --input read from cache"
    )
    price.add_argument(
        "--thinking", type=_count, default=0, metavar="N", help="thinking tokens (billed as output)"
    )
    tiers = price.add_mutually_exclusive_group()
    tiers.add_argument(
        "--batch", action="store_true", help="Batch API prices (same as --tier batch)"
    )
    tiers.add_argument(
        "--tier", choices=SERVICE_TIERS, default="standard", help="service tier (default standard)"
    )
    price.add_argument(
        "--images",
        type=_image_spec,
        nargs="+",
        action="extend",
        default=[],
        metavar="SIZE:COUNT",
        help=f"generated images, e.g. 1K:2 ({', '.join(_IMAGE_SIZES)})",
    )
    price.set_defaults(handler=_cmd_price)

    models = commands.add_parser(
        "models",
        help="list the price catalog, with deprecated and shut-down model IDs",
        description="List every model of the packaged price catalog: status, prices per 1M "
        "tokens, and the replacement of deprecated and shut-down IDs.",
    )
    models.set_defaults(handler=_cmd_models)

    doctor = commands.add_parser(
        "doctor",
        help="send one tiny request per lane; show versions, API versions, latency, cost",
        description="Send one short prompt to the classifier and to every lane (live with "
        "an API key, else on the simulator) and show, per lane, the model, the Gemini API "
        "version and where it came from, lifecycle, latency, tokens and exact cost, with "
        "the installed google-genai and langchain-google-genai. Exits 1 naming each lane "
        "that fails.",
    )
    _add_config_flag(doctor, "router settings")
    _add_backend_flags(doctor)
    doctor.set_defaults(handler=_cmd_doctor)

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
    _add_config_flag(calibrate_parser, "start from these router settings")
    _add_backend_flags(calibrate_parser)
    calibrate_parser.set_defaults(handler=_cmd_calibrate)
    eval_parser = commands.add_parser(
        "eval",
        help="replay a labelled dataset: quality vs Pro share, spend, against RouteLLM",
        description="Replay a labelled dataset through the router's policy at every "
        "escalation threshold and report Pro share, spend (against all-Pro) and quality "
        "retained, the curve as a PNG, and where it stands against RouteLLM's published "
        "MT-Bench point. DATASET is RouteLLM's data folder (MT-Bench question.jsonl + "
        "judgements.jsonl and/or GSM8K gsm8k_responses.csv: each is reported) or a .jsonl "
        'file, one item per line: {"id", "prompt" (or "messages"), "quality_lite", '
        '"quality_pro", optional "score" (recorded classifier difficulty 0-1), "category", '
        '"input_tokens", "output_tokens_lite", "output_tokens_pro"}.',
    )
    eval_parser.add_argument(
        "dataset", metavar="DATASET", help="a RouteLLM data folder or a .jsonl file"
    )
    eval_parser.add_argument(
        "--format",
        metavar="FORMAT",
        help="mt-bench, gsm8k or jsonl (default: detected; a folder with both runs both)",
    )
    eval_parser.add_argument(
        "--scorer",
        metavar="SCORER",
        help="rules (offline: rules only, the rest takes the fallback lane), recorded "
        '(each item\'s "score"), simulated (offline keyword classifier: SIMULATED), live '
        "(Gemini's classifier; needs GOOGLE_API_KEY). Default: live with a key, else rules",
    )
    png_group = eval_parser.add_mutually_exclusive_group()
    png_group.add_argument(
        "--png",
        metavar="FILE.png",
        help=f"where to save the quality-vs-Pro-share curve (default {_EVAL_DEFAULT_PNG})",
    )
    png_group.add_argument("--no-png", action="store_true", help="do not save the curve")
    eval_parser.add_argument("--json", metavar="FILE.json", help="write every figure as JSON")
    _add_config_flag(eval_parser, "the router settings replayed")
    eval_parser.set_defaults(handler=_cmd_eval)
    report = commands.add_parser(
        "report",
        help="summarize a cost log into tables, PNG plots and an HTML page",
        description="Read the JSON lines a cost handler wrote (demo --log, or "
        "GeminiCostCallbackHandler(log=...)) and show where the money went: spend by "
        "model and by role, savings against sending every answer to Pro, the "
        "classifier's share of spend, and the escalation rate over time. Writes PNG "
        "plots and report.html into --out.",
    )
    report.add_argument("costlog", metavar="COSTLOG.jsonl", help="the cost log to read")
    report.add_argument(
        "--out",
        metavar="DIR",
        help="where to write the plots and report.html "
        "(default: COSTLOG-report next to the log, e.g. costs-report/)",
    )
    report.add_argument(
        "--bucket",
        type=_bucket,
        default=None,
        metavar="N",
        help="escalation-rate buckets: N routed answers each, or a time span such as "
        "30m, 6h, 1d (default: N for about 20 buckets)",
    )
    report.set_defaults(handler=_cmd_report)
    return parser


def _console() -> Console:
    from rich.console import Console

    console = Console(highlight=False)
    if not console.is_terminal and "COLUMNS" not in os.environ:
        console = Console(highlight=False, width=_PIPE_WIDTH)
    return console


def main(argv: list[str] | None = None) -> int:
    """Run the ``lc-gemini-router`` command line.

    Args:
        argv: The arguments after the program name; ``sys.argv[1:]`` when None.

    Returns:
        The exit code: 0 on success, 2 for a user mistake (a bad flag, a missing
        API key, an unknown or shut-down model, an invalid config), 1 when a
        lane failed for good, 130 when interrupted.
    """
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, or a usage error argparse already reported
        return exc.code if isinstance(exc.code, int) else 2
    try:
        import rich  # noqa: F401
    except ImportError:
        return _fail("the CLI needs rich: install lc-gemini-router[cli]")
    handler: Callable[[argparse.Namespace, Console], int] = args.handler
    with warnings.catch_warnings(record=True) as caught:
        # Lifecycle and price warnings become notes below, not Python warnings.
        warnings.simplefilter("always", GeminiRouterWarning)
        try:
            code = handler(args, _console())
        except (CliError, ConfigError) as exc:
            code = _fail(str(exc))
        except LaneError as exc:
            code = _fail(str(exc), code=1)
        except KeyboardInterrupt:
            code = _fail("interrupted", code=130)
    notes = dict.fromkeys(
        str(w.message) for w in caught if issubclass(w.category, GeminiRouterWarning)
    )
    for note in notes:
        print(f"{PROG}: note: {note}", file=sys.stderr)
    return code
