"""``lc-gemini-router batch``: a JSONL file of prompts through the Gemini Batch API.

Subcommands::

    batch submit FILE.jsonl [--out RESULTS.jsonl] [--no-wait] [--display-name NAME]
                 [--store DIR] [--poll-every SECONDS] [--lane LANE] [--max-requeues N]
                 [--config FILE.toml] [--live | --simulated]
    batch status ID [--store DIR] [--config FILE.toml]
    batch results ID [--out RESULTS.jsonl] [--no-requeue] [--store DIR] [--config FILE.toml]
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
just sent again): run it again later; 130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lc_gemini_router.batches.records import TERMINAL_STATES
from lc_gemini_router.batches.stores import (
    FileBatchStore,
    MemoryBatchStore,
    check_job_id,
)
from lc_gemini_router.callbacks.handler import get_gemini_cost_callback
from lc_gemini_router.callbacks.records import UsageTotals
from lc_gemini_router.errors import (
    BatchItemError,
    ConfigError,
    UnknownBatchJobError,
    UnsupportedInputError,
)
from lc_gemini_router.keys import ROLE_ANSWER, ROLE_CLASSIFIER
from lc_gemini_router.tools.cli.common import (
    PROG,
    CliError,
    add_backend_flags,
    add_config_flag,
    fail,
    live_flag,
    load_config,
    make_table,
)
from lc_gemini_router.tools.formatting import usd

if TYPE_CHECKING:
    from rich.console import Console, RenderableType
    from rich.live import Live

    from lc_gemini_router.batches.job import BatchJob, BatchResult
    from lc_gemini_router.callbacks.handler import GeminiCostCallbackHandler
    from lc_gemini_router.router import GeminiRouter
    from lc_gemini_router.tools.batch_inputs import BatchInput, InputId

__all__ = ["DEFAULT_STORE", "EXIT_NOT_READY", "register"]

DEFAULT_STORE = Path(".lc-gemini-router") / "batches"
"""Where jobs are kept unless ``--store`` says otherwise (relative to the working directory)."""
EXIT_NOT_READY = 3
"""``batch results`` of a job whose Gemini jobs are not all final: run it again later."""
_MAX_POLL_EVERY = 600.0
_SHOWN_ERRORS = 3
_STATE_ORDER = (
    "PENDING",
    "QUEUED",
    "RUNNING",
    "UPDATING",
    "PAUSED",
    "CANCELLING",
    "SUCCEEDED",
    "PARTIALLY_SUCCEEDED",
    "failed",
    "CANCELLED",
    "FAILED",
    "EXPIRED",
)
_FINAL = frozenset({*(state.value for state in TERMINAL_STATES), "failed"})

_sleep: Callable[[float], None] = time.sleep
"""How ``submit`` pauses between polls (the tests move a simulator's clock instead)."""


# -- the pieces every subcommand uses ----------------------------------------------------


def _many(count: int, noun: str) -> str:
    """``1 answer``, ``2 answers``, ``1,000 answers``."""
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


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


def _has_api_key() -> bool:
    from lc_gemini_router.tools.backend import API_KEY_VARIABLES

    return any(os.environ.get(name) for name in API_KEY_VARIABLES)


def _store_dir(args: argparse.Namespace) -> Path:
    return Path(args.store) if args.store else DEFAULT_STORE


def _inputs_path(directory: Path, job_id: str) -> Path:
    return directory / f"{check_job_id(job_id)}.inputs.json"


def _file_store(directory: Path) -> FileBatchStore:
    try:
        return FileBatchStore(directory)
    except OSError as exc:
        msg = f"cannot use {directory} as the batch job store: {exc.strerror or exc}"
        raise CliError(msg) from exc


def _write_inputs(directory: Path, job_id: str, source: Path, out: Path, ids: list[Any]) -> None:
    """What ``results`` of a later process needs and the record lacks: ids, the out file."""
    data = {"source": str(source), "out": str(out.resolve()), "ids": ids}
    path = _inputs_path(directory, job_id)
    try:
        path.write_text(json.dumps(data), encoding="utf-8")
    except OSError as exc:
        msg = f"cannot write {path}: {exc.strerror or exc} (the job {job_id} was submitted)"
        raise CliError(msg) from exc


def _read_inputs(directory: Path, job_id: str, count: int) -> tuple[list[Any], dict[str, Any]]:
    """The ids ``submit`` kept for ``job_id`` (None each when it kept none) and the rest."""
    try:
        data = json.loads(_inputs_path(directory, job_id).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return [None] * count, {}
    ids = data.get("ids") if isinstance(data, dict) else None
    if not isinstance(ids, list) or len(ids) != count:
        return [None] * count, {}
    return ids, data


def _api_problem(exc: Exception) -> str:
    code = getattr(exc, "code", None)
    status = getattr(exc, "status", None)
    message = getattr(exc, "message", None) or str(exc)
    what = " ".join(str(part) for part in (code, status) if part)
    return f"Gemini answered {what}: {message}" if what else f"Gemini failed: {message}"


_TRANSPORT_MODULES = ("httpx", "httpcore", "aiohttp")
"""Where google-genai's transport errors come from (httpx, its fork httpx2, aiohttp)."""


def _transport_error(exc: BaseException) -> bool:
    """A connection or timeout error of the HTTP client google-genai uses (it re-raises
    them unwrapped once its retries run out)."""
    if isinstance(exc, (ConnectionError, TimeoutError)):
        return True
    return any(cls.__module__.startswith(_TRANSPORT_MODULES) for cls in type(exc).__mro__)


@contextmanager
def _gemini_problems() -> Iterator[None]:
    """Gemini's refusals and unreachable endpoints as one line and exit code 1."""
    from google.genai import errors as genai_errors

    try:
        yield
    except genai_errors.APIError as exc:
        raise _GeminiProblem(_api_problem(exc)) from exc
    except Exception as exc:
        if not _transport_error(exc):
            raise
        raise _GeminiProblem(f"cannot reach Gemini: {exc}") from exc


class _GeminiProblem(Exception):
    """A call to Gemini that failed: reported with exit code 1."""


def _handled(
    run: Callable[[argparse.Namespace, Console], int],
) -> Callable[[argparse.Namespace, Console], int]:
    """``run`` with the batch lane's own errors turned into the CLI's one-line reports."""

    def handler(args: argparse.Namespace, console: Console) -> int:
        from pydantic import ValidationError

        try:
            return run(args, console)
        except _GeminiProblem as exc:
            return fail(str(exc), code=1)
        except (UnknownBatchJobError, UnsupportedInputError) as exc:
            raise CliError(str(exc)) from exc
        except ValidationError as exc:  # a record file that is not one
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first.get("loc", ())) or "the record"
            job_id = getattr(args, "job_id", "the job")
            msg = f"the store holds a broken record for {job_id}: {where}: {first['msg']}"
            raise CliError(msg) from exc

    return handler


@dataclass(frozen=True)
class _Stored:
    """A job found in the store, with where it was found."""

    job: BatchJob
    directory: Path
    store: FileBatchStore


@contextmanager
def _live_job(args: argparse.Namespace, console: Console, command: str) -> Iterator[_Stored]:
    """The stored job ``args.job_id``, on a router that talks to the live API."""
    from lc_gemini_router.tools.backend import gemini_backend

    check_job_id(args.job_id)
    if not _has_api_key():
        msg = (
            f"batch {command} needs the live Gemini API: set GOOGLE_API_KEY (or "
            "GEMINI_API_KEY). A job submitted in simulated mode lived in a simulator "
            "that ended with its batch submit, which waited for it"
        )
        raise CliError(msg)
    directory = _store_dir(args)
    if not directory.is_dir():
        msg = f"no batch job store at {directory} (pass the --store DIR batch submit used)"
        raise CliError(msg)
    config = load_config(args.config)
    with gemini_backend(live=True) as backend:
        console.print(backend.description, style="bold red", markup=False)
        store = _file_store(directory)
        router = backend.router(config, batch_store=store)
        try:
            try:
                job = router.batch_job(args.job_id)
            except UnknownBatchJobError:
                msg = f"no batch job {args.job_id!r} in {directory}"
                raise CliError(msg) from None
            except OSError as exc:
                msg = f"cannot read batch job {args.job_id} in {directory}: {exc.strerror or exc}"
                raise CliError(msg) from exc
            yield _Stored(job, directory, store)
        finally:
            router.close()


# -- what the commands print -------------------------------------------------------------


def _ordered(counts: dict[str, int]) -> list[tuple[str, int]]:
    rank = {state: index for index, state in enumerate(_STATE_ORDER)}
    return sorted(counts.items(), key=lambda item: (rank.get(item[0], len(rank)), item[0]))


def progress_line(job: BatchJob) -> str:
    """The items of ``job`` per state: ``40 items: 30 SUCCEEDED, 10 RUNNING``."""
    counts = job.progress()
    total = len(job.record.items)
    states = ", ".join(f"{count:,} {state}" for state, count in _ordered(counts))
    return f"{total:,} items: {states}"


class _ProgressDisplay:
    """Called on every poll: a live bar on a terminal, else one line per poll (a log)."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.polls = 0
        self.waited = 0.0
        self._live: Live | None = None

    def __enter__(self) -> _ProgressDisplay:
        if self.console.is_terminal:
            from rich.live import Live

            self._live = Live(console=self.console, auto_refresh=False, transient=False)
            self._live.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.stop()

    def pause(self, seconds: float) -> None:
        """Wait between polls, counting the time waited."""
        _sleep(seconds)
        self.waited += seconds

    def __call__(self, job: BatchJob) -> None:
        self.polls += 1
        if self._live is not None:
            self._live.update(self.renderable(job), refresh=True)
            return
        self.console.print(
            f"poll {self.polls} ({self.waited:g}s): {job.state.value} - {progress_line(job)}",
            markup=False,
        )

    def renderable(self, job: BatchJob) -> RenderableType:
        from rich.progress_bar import ProgressBar
        from rich.table import Table

        counts = job.progress()
        total = len(job.record.items)
        final = sum(count for state, count in counts.items() if state in _FINAL)
        grid = Table.grid(padding=(0, 1))
        grid.add_row(
            job.state.value,
            ProgressBar(total=total, completed=final, width=30),
            f"{final:,}/{total:,} final",
            progress_line(job),
            f"(poll {self.polls}, {self.waited:g}s)",
        )
        return grid


def _parts_table(job: BatchJob, *, with_state: bool) -> Any:
    rows = []
    for part in job.record.parts:
        row = [part.name, part.model, str(part.attempt), f"{len(part.keys):,}", part.source]
        if with_state:
            row += [part.state.value, f"{len(part.failed_keys):,}", part.error or ""]
        rows.append(row)
    columns = [("Gemini job", False), ("model", False), ("attempt", True), ("requests", True)]
    columns.append(("input", False))
    if with_state:
        columns += [("state", False), ("failed", True), ("error", False)]
    return make_table("Gemini batch jobs", columns, rows)


def _routing_line(job: BatchJob) -> str:
    lanes: dict[str, int] = {}
    sources: dict[str, int] = {}
    for item in job.record.items:
        lanes[item.lane] = lanes.get(item.lane, 0) + 1
        source = str(item.decision.get("source") or "unknown")
        sources[source] = sources.get(source, 0) + 1
    on = ", ".join(f"{count:,} on {lane}" for lane, count in sorted(lanes.items()))
    by = ", ".join(f"{source} {count:,}" for source, count in sorted(sources.items()))
    return f"Routed {len(job.record.items):,} requests: {on} (decided by {by})"


def _record_classifier(job: BatchJob) -> tuple[int, Decimal]:
    """Classifier calls made when the job was routed, and their cost (from the record)."""
    calls, cost = 0, Decimal(0)
    for item in job.record.items:
        report = item.classifier or {}
        if report.get("cost") is not None:
            calls += 1
            cost += Decimal(str(report["cost"]))
    return calls, cost


@dataclass(frozen=True)
class _Spend:
    """What a collection cost, with the classifier spend of the routing."""

    cb: GeminiCostCallbackHandler
    classifier_calls: int
    classifier_cost: Decimal
    classifier_counted: bool
    """Whether ``cb`` counted the classifier calls (``submit``) or they come from the
    record (``results`` in a later process)."""

    @property
    def extra(self) -> Decimal:
        return Decimal(0) if self.classifier_counted else self.classifier_cost

    def table(self) -> Any:
        cb = self.cb
        answers = cb.by_role.get(ROLE_ANSWER, UsageTotals())
        total = cb.total_cost + self.extra
        standard = cb.standard_cost + self.extra
        standard_reference = cb.totals.standard_reference_cost
        when = "" if self.classifier_counted else " (when the batch was routed)"
        rows = [
            ("answers at batch rates", usd(answers.cost), _many(answers.calls, "answer")),
            (
                "classifier, standard tier",
                usd(self.classifier_cost),
                f"{_many(self.classifier_calls, 'call')}{when}",
            ),
            ("total spend", usd(total), ""),
            ("the same on the standard tier", usd(standard), "without the batch lane"),
            ("saved by batch rates", usd(cb.tier_savings), ""),
            ("all-Pro reference, batch rates", usd(cb.reference_cost), "every answer on Pro"),
            ("all-Pro reference, standard tier", usd(standard_reference), ""),
            ("saved against all-Pro, batch rates", usd(cb.reference_cost - total), ""),
            ("saved against all-Pro, standard tier", usd(standard_reference - total), ""),
        ]
        columns = [("", False), ("USD", True), ("", False)]
        return make_table("Batch spend", columns, rows)


def _error_text(result: BatchItemError, input_id: InputId) -> str:
    named = f" (id {input_id!r})" if input_id is not None else ""
    what = f"{result.status}: " if result.status else ""
    tries = "once" if result.attempts == 1 else f"{result.attempts} times"
    return f"  item {result.index}{named}: {what}{result.message} (sent {tries})"


def _report_results(
    console: Console,
    job: BatchJob,
    results: Sequence[BatchResult],
    ids: Sequence[InputId],
    out: Path,
    spend: _Spend,
) -> None:
    """Write the results file, then say what came back and what it cost."""
    from lc_gemini_router.tools.batch_inputs import result_line, write_json_lines

    items = job.record.items
    lines = [
        result_line(index, ids[index], items[index].lane, items[index].model, result)
        for index, result in enumerate(results)
    ]
    try:
        write_json_lines(out, lines)
    except OSError as exc:
        msg = f"cannot write the results to {out}: {exc.strerror or exc}"
        raise CliError(msg) from exc
    errors = [r for r in results if isinstance(r, BatchItemError)]
    console.print(
        f"Batch job {job.id} {job.state.value}: {_many(len(results) - len(errors), 'answer')}, "
        f"{_many(len(errors), 'error')}. Wrote {_many(len(results), 'line')} to {out}",
        markup=False,
    )
    for error in errors[:_SHOWN_ERRORS]:
        console.print(_error_text(error, ids[error.index]), style="yellow", markup=False)
    if len(errors) > _SHOWN_ERRORS:
        console.print(f"  ... and {len(errors) - _SHOWN_ERRORS:,} more", style="yellow")
    cb = spend.cb
    answered = len(results) - len(errors)
    counted = cb.by_role.get(ROLE_ANSWER, UsageTotals()).calls
    if answered and not counted:
        # Priced when first collected (by any process): counting them again would lie.
        in_file = sum((Decimal(line["cost"]) for line in lines if line["cost"]), Decimal(0))
        console.print(
            f"All {answered:,} answers had been collected before, their cost reported "
            f"then: {usd(in_file)} at batch rates in all (each item's cost is in {out}).",
            markup=False,
        )
    else:
        console.print(spend.table(), crop=False)
    if 0 < counted < answered:
        console.print(
            f"{_many(answered - counted, 'answer')} had been collected before (their cost was "
            "reported then): the table counts the answers collected now; the results file "
            "has every item's cost.",
            style="yellow",
            markup=False,
        )
    if cb.unpriced_calls:
        console.print(
            f"{cb.unpriced_calls:,} calls had no price: their cost is unknown and not counted.",
            style="yellow",
            markup=False,
        )


def _wait(
    console: Console, job: BatchJob, poll_every: float, *, live: bool
) -> list[BatchResult] | None:
    """Poll with the progress display until the job is final; None when interrupted."""
    pace = (
        f"polling every {poll_every:g}s, 1.5x longer each time up to "
        f"{max(poll_every, _MAX_POLL_EVERY):g}s; Ctrl-C stops waiting, the job goes on"
        if live
        else "the simulated jobs run at once"
    )
    console.print(f"Waiting for batch job {job.id} ({pace})", markup=False)
    try:
        with _ProgressDisplay(console) as display:
            return job.wait(
                poll_every,
                max_poll_every=max(poll_every, _MAX_POLL_EVERY),
                sleep=display.pause,
                on_poll=display,
            )
    except KeyboardInterrupt:
        if not live:
            raise
        return None


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


def _cmd_submit(args: argparse.Namespace, console: Console) -> int:
    from lc_gemini_router.tools.backend import gemini_backend
    from lc_gemini_router.tools.batch_inputs import read_batch_inputs

    live = live_flag(args)
    simulated = live is False or (live is None and not _has_api_key())
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
    directory = _store_dir(args)
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
                router.batch_store = _file_store(directory)
            with _gemini_problems(), get_gemini_cost_callback() as cb:
                job = router.submit_batch(
                    [request.messages for request in inputs],
                    display_name=args.display_name,
                    max_requeues=args.max_requeues,
                    **({"lane": args.lane} if args.lane else {}),
                )
                if not simulated:
                    _write_inputs(directory, job.id, source, out, ids)
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
                results = _wait(console, job, args.poll_every, live=not simulated)
                if results is None:
                    return fail(
                        f"interrupted: batch job {job.id} goes on at Gemini; collect it "
                        f"with {PROG} batch results {job.id}",
                        code=130,
                    )
            classifier = cb.by_role.get(ROLE_CLASSIFIER, UsageTotals())
            spend = _Spend(cb, classifier.calls, classifier.cost, classifier_counted=True)
            _report_results(console, job, results, ids, out, spend)
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
        f"{_routing_line(job)}; {_many(classifier.calls, 'classifier call')}, "
        f"{usd(classifier.cost)} (standard tier)",
        markup=False,
    )
    console.print(_parts_table(job, with_state=False), crop=False)
    where = f"kept in {directory}" if directory is not None else "simulated: kept in memory only"
    console.print(f"Job {job.id}: {where}", markup=False, soft_wrap=True)


# -- status, results, cancel -------------------------------------------------------------


def _print_status(console: Console, job: BatchJob, directory: Path) -> None:
    created = datetime.fromtimestamp(job.record.created, timezone.utc)
    _, inputs = _read_inputs(directory, job.id, len(job.record.items))
    source = f" from {inputs['source']}" if inputs.get("source") else ""
    name = f' "{job.display_name}"' if job.display_name != job.id else ""
    console.print(f"Batch job {job.id}{name}: {job.state.value}", style="bold", markup=False)
    console.print(
        f"Submitted {created:%Y-%m-%d %H:%M:%S} UTC{source}; re-queues allowed: "
        f"{job.record.max_requeues}" + ("; cancelled" if job.record.cancelled else ""),
        markup=False,
    )
    console.print(progress_line(job), markup=False)
    console.print(_parts_table(job, with_state=True), crop=False)


def _cmd_status(args: argparse.Namespace, console: Console) -> int:
    with _live_job(args, console, "status") as stored, _gemini_problems():
        job = stored.job
        job.refresh()
        _print_status(console, job, stored.directory)
        collected = len(stored.store.collected(job.id))
        console.print(f"Collected so far: {collected:,} of {len(job.record.items):,}")
    return 0


def _cmd_results(args: argparse.Namespace, console: Console) -> int:
    with _live_job(args, console, "results") as stored, _gemini_problems():
        job, directory = stored.job, stored.directory
        state = job.refresh()
        if state.done and not args.no_requeue:
            sent = job.requeue_failed()
            if sent:
                console.print(progress_line(job), markup=False)
                requeue = max(part.attempt for part in job.record.parts)
                return fail(
                    f"batch job {job.id}: {_many(sent, 'failed item')} sent again (re-queue "
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
        ids, inputs = _read_inputs(directory, job.id, len(job.record.items))
        out = Path(args.out or inputs.get("out") or f"{job.id}-results.jsonl")
        _check_out(out)
        with get_gemini_cost_callback() as cb:
            results = job.results()
        calls, cost = _record_classifier(job)
        _report_results(console, job, results, ids, out, _Spend(cb, calls, cost, False))
    return 0


def _cmd_cancel(args: argparse.Namespace, console: Console) -> int:
    with _live_job(args, console, "cancel") as stored, _gemini_problems():
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
        console.print(_parts_table(job, with_state=True), crop=False)
        console.print(
            "Gemini may still bill requests that ran before the cancel; "
            f"{PROG} batch results {job.id} collects what they answered.",
            style="dim",
            markup=False,
        )
    return 0


# -- the parser --------------------------------------------------------------------------


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
    submit.add_argument(
        "--poll-every",
        type=_positive_seconds,
        default=30.0,
        metavar="SECONDS",
        help="first pause between polls (default 30; then 1.5x longer each time, up to 600)",
    )
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
    submit.set_defaults(handler=_handled(_cmd_submit))

    for name, run, text in (
        ("status", _cmd_status, "show a job's state, items per state and Gemini jobs"),
        ("results", _cmd_results, "collect a finished job's answers into a results file"),
        ("cancel", _cmd_cancel, "cancel a job's Gemini jobs that are not final yet"),
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
            parser.epilog = (
                "Exit code 0 once the results are written (items Gemini failed are "
                "written with their error), 3 when the job is not final yet or its failed "
                "items were just sent again: run it again later."
            )
        parser.set_defaults(handler=_handled(run))
