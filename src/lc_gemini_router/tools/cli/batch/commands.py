"""The ``batch`` subcommands: ``submit`` (and its wait), ``status``, ``results``, ``cancel``.

The flow of each command: ``submit`` checks every request and the results file before
anything is sent, submits through ``router.submit_batch``, waits with the progress
display and reports the results; ``status``, ``results`` and ``cancel`` act on a stored
job. The store and Gemini's problems they use are in
:mod:`~lc_gemini_router.tools.cli.batch.jobs` and what they print in
:mod:`~lc_gemini_router.tools.cli.batch.display`, so this module holds only the order
of the steps.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from lc_gemini_router.batches.stores import MemoryBatchStore
from lc_gemini_router.callbacks.handler import get_gemini_cost_callback
from lc_gemini_router.callbacks.records import UsageTotals
from lc_gemini_router.errors import BatchTimeoutError, ConfigError, UnsupportedInputError
from lc_gemini_router.keys import ROLE_CLASSIFIER
from lc_gemini_router.tools.cli.batch.display import (
    ProgressDisplay,
    Spend,
    many,
    parts_table,
    progress_line,
    record_classifier,
    report_results,
    routing_line,
)
from lc_gemini_router.tools.cli.batch.jobs import (
    file_store,
    gemini_problems,
    has_api_key,
    live_job,
    read_inputs,
    store_dir,
    write_inputs,
)
from lc_gemini_router.tools.cli.common import PROG, CliError, fail, live_flag, load_config
from lc_gemini_router.tools.formatting import usd

if TYPE_CHECKING:
    from rich.console import Console

    from lc_gemini_router.batches.job import BatchJob, BatchResult
    from lc_gemini_router.callbacks.handler import GeminiCostCallbackHandler
    from lc_gemini_router.router import GeminiRouter
    from lc_gemini_router.tools.batch_inputs import BatchInput

__all__ = ["EXIT_NOT_READY", "cmd_cancel", "cmd_results", "cmd_status", "cmd_submit"]

EXIT_NOT_READY = 3
"""``batch results`` of a job whose Gemini jobs are not all final: run it again later."""
_POLL_EVERY = 30.0
_MAX_POLL_EVERY = 600.0


def _wait(
    console: Console,
    job: BatchJob,
    args: argparse.Namespace,
    *,
    live: bool,
    requeue: bool = True,
) -> list[BatchResult]:
    """Poll with the progress display until the job is final (failed items re-queued
    unless ``requeue`` is off), within ``args.timeout``.

    Raises:
        CliError: interrupted (exit 130) or timed out (exit 3); the job goes on.
    """
    poll_every = args.poll_every or _POLL_EVERY
    limit = f", for at most {args.timeout:g}s" if args.timeout is not None else ""
    pace = (
        f"polling every {poll_every:g}s, 1.5x longer each time up to "
        f"{max(poll_every, _MAX_POLL_EVERY):g}s{limit}; Ctrl-C stops waiting, the job goes on"
        if live
        else "the simulated jobs run at once"
    )
    console.print(f"Waiting for batch job {job.id} ({pace})", markup=False)
    later = f"collect it with {PROG} batch results {job.id}"
    try:
        with ProgressDisplay(console) as display:
            return job.wait(
                poll_every,
                timeout=args.timeout,
                max_poll_every=max(poll_every, _MAX_POLL_EVERY),
                requeue=requeue,
                sleep=display.pause,
                on_poll=display,
            )
    except KeyboardInterrupt:
        if not live:
            raise
        msg = f"interrupted: batch job {job.id} goes on at Gemini; {later}"
        raise CliError(msg, code=130) from None
    except BatchTimeoutError as exc:
        msg = f"{exc}; it goes on at Gemini: {later} (--wait to wait again)"
        raise CliError(msg, code=EXIT_NOT_READY) from None


# -- submit ------------------------------------------------------------------------------


def _default_out(source: Path) -> Path:
    return source.with_name(f"{source.stem}-results.jsonl")


def _check_out(out: Path) -> None:
    if out.is_dir():
        msg = f"--out {out} is a directory: name the results file"
        raise CliError(msg)
    if not out.parent.is_dir():
        msg = f"--out {out}: no directory {out.parent} to write the results in"
        raise CliError(msg)


def _check_requests(router: GeminiRouter, inputs: Sequence[BatchInput], lane: str | None) -> None:
    """What ``submit_batch`` would refuse, named by its line (nothing is sent)."""
    if lane is not None:
        router.lane_set.check(lane)
    for request in inputs:
        kwargs = {"lane": lane} if lane else {}
        try:
            router.prepare_call(list(request.messages), kwargs)
        except (UnsupportedInputError, ConfigError) as exc:
            msg = f"{request.where}: {exc}"
            raise CliError(msg) from None


def cmd_submit(args: argparse.Namespace, console: Console) -> int:
    from lc_gemini_router.tools.backend import gemini_backend
    from lc_gemini_router.tools.batch_inputs import read_batch_inputs

    live = live_flag(args)
    simulated = live is False or (live is None and not has_api_key())
    if simulated and args.no_wait:
        msg = (
            "--no-wait needs the live Gemini API (set GOOGLE_API_KEY): in simulated mode "
            "the job lives only while this command runs, so submit waits for it"
        )
        raise CliError(msg)
    config = load_config(args.config)
    source = Path(args.file)
    inputs = read_batch_inputs(source)
    out = Path(args.out) if args.out else _default_out(source)
    _check_out(out)
    directory = store_dir(args)
    ids = [request.id for request in inputs]
    with gemini_backend(live=not simulated) as backend:
        style = "bold red" if backend.live else "green"
        console.print(backend.description, style=style, markup=False)
        if simulated and args.store:
            console.print(
                "Simulated: the job is kept in memory for this command; --store is not used.",
                style="yellow",
                markup=False,
            )
        router = backend.router(config, batch_store=MemoryBatchStore())
        try:
            _check_requests(router, inputs, args.lane)
            if not simulated:  # made only now: a refused file leaves no directory behind
                router.batch_store = file_store(directory)
            with gemini_problems(), get_gemini_cost_callback() as cb:
                job = router.submit_batch(
                    [request.messages for request in inputs],
                    display_name=args.display_name,
                    max_requeues=args.max_requeues,
                    **({"lane": args.lane} if args.lane else {}),
                )
                if not simulated:
                    write_inputs(directory, job.id, source, out, ids)
                _print_submitted(console, job, cb, directory if not simulated else None)
                if args.no_wait:
                    where = f" --store {directory}" if args.store else ""
                    console.print(
                        f"Not waiting. Later: {PROG} batch status {job.id}{where}, then "
                        f"{PROG} batch results {job.id}{where}",
                        markup=False,
                        soft_wrap=True,
                    )
                    return 0
                results = _wait(console, job, args, live=not simulated)
            classifier = cb.by_role.get(ROLE_CLASSIFIER, UsageTotals())
            spend = Spend(cb, classifier.calls, classifier.cost, classifier_counted=True)
            report_results(console, job, results, ids, out, spend)
        finally:
            router.close()
    return 0


def _print_submitted(
    console: Console, job: BatchJob, cb: GeminiCostCallbackHandler, directory: Path | None
) -> None:
    classifier = cb.by_role.get(ROLE_CLASSIFIER, UsageTotals())
    name = f' "{job.display_name}"' if job.display_name != job.id else ""
    console.print(f"Submitted batch job {job.id}{name}", style="bold", markup=False)
    console.print(
        f"{routing_line(job)}; {many(classifier.calls, 'classifier call')}, "
        f"{usd(classifier.cost)} (standard tier)",
        markup=False,
    )
    console.print(parts_table(job, with_state=False), crop=False)
    where = f"kept in {directory}" if directory is not None else "simulated: kept in memory only"
    console.print(f"Job {job.id}: {where}", markup=False, soft_wrap=True)


# -- status, results, cancel -------------------------------------------------------------


def _print_status(console: Console, job: BatchJob, directory: Path) -> None:
    created = datetime.fromtimestamp(job.record.created, timezone.utc)
    _, inputs = read_inputs(directory, job.id, len(job.record.items))
    source = f" from {inputs['source']}" if inputs.get("source") else ""
    name = f' "{job.display_name}"' if job.display_name != job.id else ""
    console.print(f"Batch job {job.id}{name}: {job.state.value}", style="bold", markup=False)
    console.print(
        f"Submitted {created:%Y-%m-%d %H:%M:%S} UTC{source}; re-queues allowed: "
        f"{job.record.max_requeues}" + ("; cancelled" if job.record.cancelled else ""),
        markup=False,
    )
    console.print(progress_line(job), markup=False)
    console.print(parts_table(job, with_state=True), crop=False)


def cmd_status(args: argparse.Namespace, console: Console) -> int:
    with live_job(args, console, "status") as stored, gemini_problems():
        job = stored.job
        job.refresh()
        _print_status(console, job, stored.directory)
        collected = len(stored.store.collected(job.id))
        console.print(f"Collected so far: {collected:,} of {len(job.record.items):,}")
    return 0


def cmd_results(args: argparse.Namespace, console: Console) -> int:
    for flag, value in (("--poll-every", args.poll_every), ("--timeout", args.timeout)):
        if value is not None and not args.wait:
            msg = f"{flag} applies to --wait: pass --wait too, or leave {flag} out"
            raise CliError(msg)
    with live_job(args, console, "results") as stored, gemini_problems():
        job, directory = stored.job, stored.directory
        if args.wait:
            # The wait polls, re-queues and collects in one go (see _collect).
            return _collect(console, job, directory, args, wait=True)
        state = job.refresh()
        if state.done and not args.no_requeue:
            sent = job.requeue_failed()
            if sent:
                console.print(progress_line(job), markup=False)
                requeue = max(part.attempt for part in job.record.parts)
                return fail(
                    f"batch job {job.id}: {many(sent, 'failed item')} sent again (re-queue "
                    f"{requeue} of {job.record.max_requeues}): run batch results again "
                    "later, or pass --no-requeue to collect now",
                    code=EXIT_NOT_READY,
                )
        if not state.done:
            console.print(progress_line(job), markup=False)
            return fail(
                f"batch job {job.id} is {state.value}: its results are not ready yet "
                "(run batch results again later)",
                code=EXIT_NOT_READY,
            )
        return _collect(console, job, directory, args, wait=False)


def _collect(
    console: Console, job: BatchJob, directory: Path, args: argparse.Namespace, *, wait: bool
) -> int:
    """Write a job's results (after waiting for them, if ``wait``) and what they cost."""
    ids, inputs = read_inputs(directory, job.id, len(job.record.items))
    out = Path(args.out or inputs.get("out") or f"{job.id}-results.jsonl")
    _check_out(out)  # before any wait: a bad --out fails now, not hours later
    with get_gemini_cost_callback() as cb:
        if wait:
            results = _wait(console, job, args, live=True, requeue=not args.no_requeue)
        else:
            results = job.results()
    calls, cost = record_classifier(job)
    report_results(console, job, results, ids, out, Spend(cb, calls, cost, False))
    return 0


def cmd_cancel(args: argparse.Namespace, console: Console) -> int:
    with live_job(args, console, "cancel") as stored, gemini_problems():
        job = stored.job
        before = job.refresh()
        if before.done:
            console.print(
                f"Batch job {job.id} is already {before.value}: nothing to cancel",
                markup=False,
            )
            return 0
        after = job.cancel()
        console.print(
            f"Cancelled batch job {job.id}: {before.value} -> {after.value}", markup=False
        )
        console.print(progress_line(job), markup=False)
        console.print(parts_table(job, with_state=True), crop=False)
        console.print(
            "Gemini may still bill requests that ran before the cancel; "
            f"{PROG} batch results {job.id} collects what they answered.",
            style="dim",
            markup=False,
        )
    return 0
