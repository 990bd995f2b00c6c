"""The Batch API through google-genai: requests built as the lanes build them, jobs, results.

Each request is made by the lane's own ``ChatGoogleGenerativeAI`` (its
``_prepare_request``: the same contents, system instruction, tools, thinking and
image settings a synchronous call would send), so a batch item is the call the
router would have made. Jobs go inline while their JSON stays under Gemini's 20 MB
limit, else as a JSONL file through the Files API. Results come back as
``(key, response, error)`` in input order, from inline responses or the result file.

Two private helpers of the SDKs are used here and nowhere else: google-genai's
converter of an inline request to its REST JSON (for the JSONL file and the size
check), and langchain-google-genai's ``_response_to_result`` (a batch response becomes
the same ``ChatResult`` a synchronous call gives). CI runs the newest releases, so a
change in either shows at once.
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from google.genai import Client, types
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage
from langchain_core.outputs import ChatResult

from lc_gemini_router.batches.records import INLINE_LIMIT_BYTES, BatchState, gemini_state
from lc_gemini_router.errors import ConfigError, UnsupportedInputError

__all__ = [
    "INLINE_LIMIT_BYTES",
    "ItemOutcome",
    "Prepared",
    "batch_client",
    "chat_result",
    "create_job",
    "outcomes",
    "prepare",
]

_SIZE_MARGIN = 1.1
_ENVELOPE_BYTES = 64 * 1024
"""Headroom for the body around the requests (names, brackets), so a job never lands
just over the limit."""


@dataclass(frozen=True)
class Prepared:
    """One request ready for a batch job."""

    key: str
    inline: types.InlinedRequest
    size: int
    """Bytes of its JSON, about: the SDK's field names, which its REST form shortens."""

    def rest(self, client: Client) -> dict[str, Any]:
        """The request as REST JSON (``GenerateContentRequest``), for a JSONL line."""
        from google.genai import _common
        from google.genai import batches as genai_batches

        converted = genai_batches._InlinedRequest_to_mldev(client._api_client, self.inline)
        data = _common.encode_unserializable_types(_common.convert_to_dict(converted))
        request = data.get("request")
        return dict(request) if isinstance(request, dict) else {}


@dataclass(frozen=True)
class ItemOutcome:
    """What Gemini answered for one key: a response, or an error (code, message, status)."""

    key: str
    response: types.GenerateContentResponse | None
    error: Mapping[str, Any] | None


def batch_client(llm: BaseChatModel, lane: str) -> Client:
    """The google-genai client of a lane model (its key, endpoint and API version)."""
    client = getattr(llm, "client", None)
    if not isinstance(client, Client):
        msg = (
            f"lane {lane!r} is a {type(llm).__name__}, not a ChatGoogleGenerativeAI: "
            "the batch lane sends Gemini batch jobs with the lane's google-genai client"
        )
        raise ConfigError(msg)
    if client.vertexai:
        msg = f"lane {lane!r} uses Vertex AI: the batch lane supports the Gemini Developer API"
        raise ConfigError(msg)
    return client


def prepare(
    llm: BaseChatModel,
    key: str,
    messages: list[BaseMessage],
    lane_kwargs: Mapping[str, Any],
) -> Prepared:
    """The request ``llm`` would send for ``messages``, as a batch item keyed ``key``."""
    kwargs = dict(lane_kwargs)
    if kwargs.get("cached_content") or getattr(llm, "cached_content", None):
        # python-genai #509, #1313: explicit caches do not apply inside batch jobs.
        msg = "explicit context caches (cached_content) do not apply inside Gemini batch jobs"
        raise UnsupportedInputError(msg)
    request = llm._prepare_request(messages, **kwargs)  # type: ignore[attr-defined]
    config = request.get("config")
    if isinstance(config, types.GenerateContentConfig):
        # Timeouts and retries are the client's, not part of a batch item.
        config = config.model_copy(update={"http_options": None})
    # The parts are the SDK's own, already validated: validating them again took 1.8 ms
    # of the ~2.4 ms an item cost to prepare.
    inline = types.InlinedRequest.model_construct(
        contents=request["contents"], config=config, metadata={"key": key}
    )
    # The SDK converts the request to REST JSON when it sends it; converting it here
    # too (for its exact size) doubled the cost of a submission.
    size = len(inline.model_dump_json(exclude_none=True))
    return Prepared(key, inline, size)


def create_job(
    client: Client,
    model: str,
    requests: Sequence[Prepared],
    display_name: str,
    *,
    inline_limit: int = INLINE_LIMIT_BYTES,
) -> tuple[str, str]:
    """Create one Gemini batch job; returns its name and how its input went (inline/file)."""
    config = types.CreateBatchJobConfig(display_name=display_name)
    if _fits_inline(requests, inline_limit):
        src = [r.inline for r in requests]
        return _name(client.batches.create(model=model, src=src, config=config)), "inline"
    file = _jsonl(requests, client)
    uploaded = client.files.upload(file=file, config=_upload_config(display_name))
    job = client.batches.create(model=model, src=str(uploaded.name), config=config)
    return _name(job), "file"


async def acreate_job(
    client: Client,
    model: str,
    requests: Sequence[Prepared],
    display_name: str,
    *,
    inline_limit: int = INLINE_LIMIT_BYTES,
) -> tuple[str, str]:
    """:func:`create_job` through the async client."""
    config = types.CreateBatchJobConfig(display_name=display_name)
    batches, files = client.aio.batches, client.aio.files
    if _fits_inline(requests, inline_limit):
        src = [r.inline for r in requests]
        return _name(await batches.create(model=model, src=src, config=config)), "inline"
    file = _jsonl(requests, client)
    uploaded = await files.upload(file=file, config=_upload_config(display_name))
    job = await batches.create(model=model, src=str(uploaded.name), config=config)
    return _name(job), "file"


def _fits_inline(requests: Sequence[Prepared], limit: int) -> bool:
    # REST names are no longer than the SDK's; the margin covers each item's wrapping.
    return sum(r.size for r in requests) * _SIZE_MARGIN + _ENVELOPE_BYTES <= limit


def _upload_config(display_name: str) -> types.UploadFileConfig:
    return types.UploadFileConfig(mime_type="jsonl", display_name=f"{display_name}.jsonl")


def _jsonl(requests: Sequence[Prepared], client: Client) -> io.BytesIO:
    """The JSONL input file: one ``{"key", "request"}`` line per request."""
    lines = (
        json.dumps({"key": r.key, "request": r.rest(client)}, separators=(",", ":"))
        for r in requests
    )
    return io.BytesIO(("\n".join(lines) + "\n").encode())


def _name(job: types.BatchJob) -> str:
    if not job.name:
        msg = "Gemini created a batch job without a name"
        raise RuntimeError(msg)
    return job.name


def state_of(job: types.BatchJob) -> tuple[BatchState, str | None]:
    """A job's state, and its error message when it failed as a whole."""
    error = job.error
    message = None
    if error is not None:
        message = error.message or (f"code {error.code}" if error.code else None)
    return gemini_state(job.state), message


def outcomes(client: Client, job: types.BatchJob, keys: Sequence[str]) -> list[ItemOutcome]:
    """The answers of a finished job, matched to ``keys`` (the order it was sent in)."""
    dest = job.dest
    if dest is not None and dest.file_name:
        return _from_lines(client.files.download(file=dest.file_name), keys)
    return _from_inline(dest.inlined_responses if dest else None, keys)


async def aoutcomes(client: Client, job: types.BatchJob, keys: Sequence[str]) -> list[ItemOutcome]:
    """:func:`outcomes` through the async client."""
    dest = job.dest
    if dest is not None and dest.file_name:
        return _from_lines(await client.aio.files.download(file=dest.file_name), keys)
    return _from_inline(dest.inlined_responses if dest else None, keys)


def _from_inline(
    responses: Sequence[types.InlinedResponse] | None, keys: Sequence[str]
) -> list[ItemOutcome]:
    found: dict[str, ItemOutcome] = {}
    for index, item in enumerate(responses or ()):
        key = (item.metadata or {}).get("key")
        if key is None and index < len(keys):
            key = keys[index]  # Gemini keeps input order; metadata names it when set
        if key is None:
            continue
        error = item.error.model_dump(exclude_none=True) if item.error else None
        found[str(key)] = ItemOutcome(str(key), item.response, error)
    return [found.get(key) or _missing(key) for key in keys]


def _from_lines(data: bytes, keys: Sequence[str]) -> list[ItemOutcome]:
    found: dict[str, ItemOutcome] = {}
    for number, line in enumerate(data.decode("utf-8", "replace").splitlines(), 1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
            key = str(entry["key"])
            response = entry.get("response")
            error = entry.get("error")
            parsed = (
                types.GenerateContentResponse.model_validate(response)
                if isinstance(response, dict)
                else None
            )
        except (ValueError, KeyError, TypeError) as exc:
            # One unreadable line loses one item, reported as its error, not the job.
            found.setdefault(f"\x00line{number}", _missing(f"line {number}: {exc}"))
            continue
        if parsed is None and not isinstance(error, dict):
            error = {"message": "the result line has neither a response nor an error"}
        found[key] = ItemOutcome(key, parsed, error if parsed is None else None)
    return [found.get(key) or _missing(key) for key in keys]


def _missing(key: str) -> ItemOutcome:
    return ItemOutcome(key, None, {"message": "Gemini returned no result for this request"})


def chat_result(response: types.GenerateContentResponse) -> ChatResult:
    """The ``ChatResult`` a synchronous call with this response would have given."""
    from langchain_google_genai.chat_models import _response_to_result

    return _response_to_result(response)
