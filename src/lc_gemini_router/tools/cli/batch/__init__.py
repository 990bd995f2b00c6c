"""``lc-gemini-router batch``: a JSONL file of prompts through the Gemini Batch API.

Subcommands::

    batch submit FILE.jsonl [--out RESULTS.jsonl] [--no-wait] [--display-name NAME]
                 [--store DIR] [--poll-every SECONDS] [--timeout SECONDS] [--lane LANE]
                 [--max-requeues N] [--config FILE.toml] [--live | --simulated]
    batch status ID [--store DIR] [--config FILE.toml]
    batch results ID [--out RESULTS.jsonl] [--no-requeue] [--wait [--poll-every SECONDS]
                 [--timeout SECONDS]] [--store DIR] [--config FILE.toml]
    batch cancel ID [--store DIR] [--config FILE.toml]

``submit`` reads and checks every line first (one message naming ``file:line`` and the
field, exit 2, before anything is sent), routes each request as ``invoke`` would and
sends one Gemini batch job per model (``router.submit_batch``). Unless ``--no-wait``, it
then polls with a progress display, re-queues failed items, collects the answers
priced at the batch tier, writes the results file (one JSON line per input, in input
order; see :mod:`~lc_gemini_router.tools.batch_inputs`) and prints what the batch cost
against the standard tier and against all-Pro.

Jobs are kept in ``--store DIR`` (default ``./.lc-gemini-router/batches``: each job's
record ``ID.json``, the items collected ``ID.collected``, and this command's
``ID.inputs.json`` with the input ids), so ``status``, ``results`` and ``cancel`` of a
later process find them. Those three talk to the live API: a job submitted in
simulated mode (no API key) lives in a simulator that ends with its command, so
``submit`` waits and collects in the same run there, and ``--no-wait`` is refused.
``GOOGLE_GEMINI_BASE_URL`` (read by google-genai) points the live mode at another
endpoint, such as a simulator a test started.

Exit codes: 0 done (items Gemini failed are counted and written with their error, not
an exit code), 1 Gemini refused or failed a call (an API error, no connection), 2 a
user mistake, 3 ``results`` of a job that is not final yet (or whose failed items were
just sent again), or a wait that reached its ``--timeout``: run it again later; 130
interrupted.

This package: :func:`register` (the parser) here; the job store and Gemini's problems in
``jobs``, what the commands print in ``display``, the subcommands themselves in
``commands``.
"""

from __future__ import annotations

import argparse

from lc_gemini_router.tools.cli.batch.commands import (
    EXIT_NOT_READY,
    cmd_cancel,
    cmd_results,
    cmd_status,
    cmd_submit,
)
from lc_gemini_router.tools.cli.batch.jobs import DEFAULT_STORE, handled
from lc_gemini_router.tools.cli.common import add_backend_flags, add_config_flag

__all__ = ["DEFAULT_STORE", "EXIT_NOT_READY", "register"]


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value < float("inf"):
        msg = f"expected a number of seconds > 0, got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return value


def _requeues(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        msg = f"expected a whole number >= 0, got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return value


def _add_wait_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--poll-every",
        type=_positive_seconds,
        metavar="SECONDS",
        help="first pause between polls (default 30; then 1.5x longer each time, up to 600)",
    )
    parser.add_argument(
        "--timeout",
        type=_positive_seconds,
        metavar="SECONDS",
        help="stop waiting after this long (exit 3; the job goes on at Gemini)",
    )


def _add_store_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--store",
        metavar="DIR",
        help=f"where batch jobs are kept (default ./{DEFAULT_STORE})",
    )


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``batch`` command and its subcommands to the parser."""
    batch = commands.add_parser(
        "batch",
        help="answer a JSONL file of prompts through the Gemini Batch API, at batch rates",
        description="Route a file of prompts, send them as Gemini batch jobs (half the "
        "standard price, answers within 24 hours), wait, and collect the answers with "
        "their exact cost. Jobs are kept in --store, so status, results and cancel work "
        "from a later process (they need the live API).",
    )
    subcommands = batch.add_subparsers(dest="batch_command", metavar="SUBCOMMAND", required=True)

    submit = subcommands.add_parser(
        "submit",
        help="route and submit a JSONL file, then wait and collect (unless --no-wait)",
        description="Each line of FILE.jsonl is a JSON string (the prompt) or an object "
        '{"id": optional string or number, "input": "prompt" or [{"role": "system" | '
        '"user" | "assistant", "content": "..."}, ...]}. Every line is checked before '
        "anything is sent. Items Gemini fails are sent again up to --max-requeues "
        "times, then written with their error; the exit code stays 0. Without an API "
        "key the batch runs on the embedded simulator, in this one command.",
    )
    submit.add_argument("file", metavar="FILE.jsonl", help="the requests, one per line")
    submit.add_argument(
        "--out",
        metavar="RESULTS.jsonl",
        help="where to write the results, one JSON line per input in input order "
        "(default: FILE-results.jsonl next to FILE; replaced)",
    )
    submit.add_argument(
        "--no-wait",
        action="store_true",
        help="submit and return; collect later with batch results ID (live API only)",
    )
    submit.add_argument("--display-name", metavar="NAME", help="the job's name at Gemini")
    _add_store_flag(submit)
    _add_wait_flags(submit)
    submit.add_argument(
        "--lane",
        metavar="LANE",
        help="send every request to this lane (lite, pro, ...) instead of routing it",
    )
    submit.add_argument(
        "--max-requeues",
        type=_requeues,
        default=1,
        metavar="N",
        help="times failed items are sent again (default 1; Gemini bills no failed item)",
    )
    add_config_flag(submit, "router settings")
    add_backend_flags(submit)
    submit.set_defaults(handler=handled(cmd_submit))

    for name, run, text in (
        ("status", cmd_status, "show a job's state, items per state and Gemini jobs"),
        ("results", cmd_results, "collect a finished job's answers into a results file"),
        ("cancel", cmd_cancel, "cancel a job's Gemini jobs that are not final yet"),
    ):
        parser = subcommands.add_parser(
            name, help=text, description=f"{text[0].upper()}{text[1:]}."
        )
        parser.add_argument("job_id", metavar="ID", help="the job id batch submit printed")
        _add_store_flag(parser)
        add_config_flag(parser, "router settings (the lanes the job was submitted with)")
        if name == "results":
            parser.add_argument(
                "--out",
                metavar="RESULTS.jsonl",
                help="where to write the results (default: the --out of batch submit, "
                "else ID-results.jsonl)",
            )
            parser.add_argument(
                "--no-requeue",
                action="store_true",
                help="collect now, without sending failed items again first",
            )
            parser.add_argument(
                "--wait",
                action="store_true",
                help="wait for the job with a progress display (re-queueing failed items "
                "unless --no-requeue), then collect",
            )
            _add_wait_flags(parser)
            parser.epilog = (
                "Exit code 0 once the results are written (items Gemini failed are "
                "written with their error), 3 when the job is not final yet or its failed "
                "items were just sent again (without --wait), or when --wait reached its "
                "--timeout: run it again later."
            )
        parser.set_defaults(handler=handled(run))
