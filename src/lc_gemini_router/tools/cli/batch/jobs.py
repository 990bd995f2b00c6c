"""The job store and the live job for ``lc-gemini-router batch``, and Gemini's problems.

Where jobs are kept (``--store DIR``, with the ``ID.inputs.json`` this command writes
beside each record), how ``status``, ``results`` and ``cancel`` find a stored job on a
router that talks to the live API, and how Gemini's refusals and unreachable endpoints
(and the batch lane's own errors) become the CLI's one-line reports: the pieces every
subcommand uses, kept apart from what the commands print and from the commands.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lc_gemini_router.batches.stores import FileBatchStore, check_job_id
from lc_gemini_router.errors import UnknownBatchJobError, UnsupportedInputError
from lc_gemini_router.tools.cli.common import CliError, fail, load_config

if TYPE_CHECKING:
    from rich.console import Console

    from lc_gemini_router.batches.job import BatchJob

__all__ = [
    "DEFAULT_STORE",
    "file_store",
    "gemini_problems",
    "handled",
    "has_api_key",
    "live_job",
    "read_inputs",
    "store_dir",
    "write_inputs",
]

DEFAULT_STORE = Path(".lc-gemini-router") / "batches"
"""Where jobs are kept unless ``--store`` says otherwise (relative to the working directory)."""


def has_api_key() -> bool:
    from lc_gemini_router.tools.backend import API_KEY_VARIABLES

    return any(os.environ.get(name) for name in API_KEY_VARIABLES)


def store_dir(args: argparse.Namespace) -> Path:
    return Path(args.store) if args.store else DEFAULT_STORE


def _inputs_path(directory: Path, job_id: str) -> Path:
    return directory / f"{check_job_id(job_id)}.inputs.json"


def file_store(directory: Path) -> FileBatchStore:
    try:
        return FileBatchStore(directory)
    except OSError as exc:
        msg = f"cannot use {directory} as the batch job store: {exc.strerror or exc}"
        raise CliError(msg) from exc


def write_inputs(directory: Path, job_id: str, source: Path, out: Path, ids: list[Any]) -> None:
    """What ``results`` of a later process needs and the record lacks: ids, the out file."""
    data = {"source": str(source), "out": str(out.resolve()), "ids": ids}
    path = _inputs_path(directory, job_id)
    try:
        path.write_text(json.dumps(data), encoding="utf-8")
    except OSError as exc:
        msg = f"cannot write {path}: {exc.strerror or exc} (the job {job_id} was submitted)"
        raise CliError(msg) from exc


def read_inputs(directory: Path, job_id: str, count: int) -> tuple[list[Any], dict[str, Any]]:
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
def gemini_problems() -> Iterator[None]:
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


def handled(
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
def live_job(args: argparse.Namespace, console: Console, command: str) -> Iterator[_Stored]:
    """The stored job ``args.job_id``, on a router that talks to the live API."""
    from lc_gemini_router.tools.backend import gemini_backend

    check_job_id(args.job_id)
    if not has_api_key():
        msg = (
            f"batch {command} needs the live Gemini API: set GOOGLE_API_KEY (or "
            "GEMINI_API_KEY). A job submitted in simulated mode lived in a simulator "
            "that ended with its batch submit, which waited for it"
        )
        raise CliError(msg)
    directory = store_dir(args)
    if not directory.is_dir():
        msg = f"no batch job store at {directory} (pass the --store DIR batch submit used)"
        raise CliError(msg)
    config = load_config(args.config)
    with gemini_backend(live=True) as backend:
        console.print(backend.description, style="bold red", markup=False)
        store = file_store(directory)
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
