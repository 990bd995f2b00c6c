"""The Batch and Files API surface: one handler per operation the server routes.

Both APIs are documented for ``v1beta`` only; on any other version every path answers
404 NOT_FOUND (``batchGenerateContent`` with Gemini's message for a method a version does
not serve). Errors are Google error bodies; an upload's error answers also carry
``X-Goog-Upload-Status: final``, so google-genai raises at once instead of retrying.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

from lc_gemini_router.testing.batch_input import MAX_INLINE_BYTES, parse_batch
from lc_gemini_router.testing.batches import BatchJobs
from lc_gemini_router.testing.faults import ApiError, error_body
from lc_gemini_router.testing.files import CHUNK_GRANULARITY, FileStore
from lc_gemini_router.testing.requests import SimRequest
from lc_gemini_router.testing.server import ApiCall, Reply
from lc_gemini_router.testing.validation import not_found_message

__all__ = ["BATCH_API_VERSION", "RestApi"]

BATCH_API_VERSION = "v1beta"
"""The only version that serves the Batch and Files APIs."""
_DEFAULT_FILES_PAGE, _MAX_FILES_PAGE = 10, 100


class RestApi:
    """Answers routed Batch and Files API calls from the job and file stores."""

    def __init__(self, batches: BatchJobs, files: FileStore, serves: Callable[[str], bool]) -> None:
        self._batches = batches
        self._files = files
        self._serves = serves
        self._handlers: dict[str, Callable[[ApiCall], Reply]] = {
            "batches.create": self._create_batch,
            "batches.get": lambda call: Reply(200, self._batches.get(call.resource)),
            "batches.list": self._list_batches,
            "batches.cancel": self._cancel_batch,
            "batches.delete": self._delete_batch,
            "files.upload": self._upload,
            "files.get": self._get_file,
            "files.list": self._list_files,
            "files.delete": self._delete_file,
            "files.download": self._download,
        }

    def handle(self, call: ApiCall) -> Reply:
        """The answer to ``call``: its handler's, or a Google error body."""
        upload = call.operation == "files.upload"
        extra = {"X-Goog-Upload-Status": "final"} if upload else {}
        if call.version != BATCH_API_VERSION or not self._model_served(call):
            return Reply(404, error_body(404, _not_served(call)), headers=extra)
        try:
            return self._handlers[call.operation](call)
        except ApiError as exc:
            return Reply(exc.status, exc.body, headers=extra)

    def _model_served(self, call: ApiCall) -> bool:
        if call.operation != "batches.create":
            return True
        return self._serves(call.resource.removeprefix("models/"))

    # -- batches ----------------------------------------------------------------------------

    def _create_batch(self, call: ApiCall) -> Reply:
        if len(call.body) > MAX_INLINE_BYTES:  # before parsing 20 MB of JSON
            raise ApiError(
                400, f"Request payload size exceeds the limit: {MAX_INLINE_BYTES} bytes."
            )
        spec = parse_batch(_json(call.body), len(call.body), self._input_bytes)
        model = call.resource.removeprefix("models/")
        return Reply(200, self._batches.create(model, call.version, spec))

    def _input_bytes(self, name: str) -> bytes | None:
        found = self._files.find(name)
        return None if found is None else found.data

    def _list_batches(self, call: ApiCall) -> Reply:
        page = self._batches.list(call.query.get("pageSize"), call.query.get("pageToken"))
        return Reply(200, page)

    def _cancel_batch(self, call: ApiCall) -> Reply:
        self._batches.cancel(call.resource)
        return Reply(200, {})

    def _delete_batch(self, call: ApiCall) -> Reply:
        self._batches.delete(call.resource)
        return Reply(200, {})

    # -- files ------------------------------------------------------------------------------

    def _upload(self, call: ApiCall) -> Reply:
        upload_id = call.query.get("upload_id")
        if upload_id is not None:
            made = self._files.receive(upload_id, call.headers, call.body)
            if made is None:
                return Reply(200, {}, headers={"X-Goog-Upload-Status": "active"})
            file_json = self._files.resource(made, call.base_url, call.version)
            return Reply(200, {"file": file_json}, headers={"X-Goog-Upload-Status": "final"})
        protocol = call.headers.get("x-goog-upload-protocol", "")
        command = call.headers.get("x-goog-upload-command", "")
        if protocol.strip().lower() != "resumable" or command.strip().lower() != "start":
            msg = (
                "Uploads start with X-Goog-Upload-Protocol: resumable and "
                "X-Goog-Upload-Command: start (the simulator speaks the resumable protocol only)."
            )
            raise ApiError(400, msg)
        body = _json(call.body) if call.body.strip() else {}
        if not isinstance(body, dict):
            raise ApiError(400, "Invalid JSON payload received.")
        upload_id = self._files.start_upload(call.headers, body)
        url = f"{call.base_url}/upload/{call.version}/files?upload_id={upload_id}"
        url += "&upload_protocol=resumable"
        headers = {
            "X-Goog-Upload-Status": "active",
            "X-Goog-Upload-URL": url,
            "X-Goog-Upload-Control-URL": url,
            "X-Goog-Upload-Chunk-Granularity": str(CHUNK_GRANULARITY),
        }
        return Reply(200, data=b"", headers=headers)

    def _get_file(self, call: ApiCall) -> Reply:
        found = self._files.get(call.resource)
        return Reply(200, self._files.resource(found, call.base_url, call.version))

    def _delete_file(self, call: ApiCall) -> Reply:
        self._files.delete(call.resource)
        return Reply(200, {})

    def _list_files(self, call: ApiCall) -> Reply:
        files = list(reversed(self._files.files))  # newest first
        start = _offset(call.query.get("pageToken"))
        raw_size = call.query.get("pageSize") or ""
        if raw_size and (not raw_size.isdigit()):
            raise ApiError(400, f"* ListFilesRequest.page_size: must be >= 0, got {raw_size!r}")
        size = min(int(raw_size or 0) or _DEFAULT_FILES_PAGE, _MAX_FILES_PAGE)
        page = files[start : start + size]
        answer: dict[str, Any] = {}
        if page:
            answer["files"] = [self._files.resource(f, call.base_url, call.version) for f in page]
        if start + size < len(files):
            token = base64.urlsafe_b64encode(f"offset:{start + size}".encode()).decode()
            answer["nextPageToken"] = token
        return Reply(200, answer)

    def _download(self, call: ApiCall) -> Reply:
        if call.query.get("alt") != "media":
            raise ApiError(400, "Downloads take ?alt=media.")
        found = self._files.download(call.resource)
        return Reply(200, data=found.data, content_type=found.mime_type)


def _not_served(call: ApiCall) -> str:
    if call.operation == "batches.create":
        model = call.resource.removeprefix("models/")
        req = SimRequest(model, "batchGenerateContent", {}, {}, api_version=call.version)
        return not_found_message(req)
    return f"Path {call.path} was not found."


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw or b"{}")
    except ValueError:
        raise ApiError(400, "Invalid JSON payload received.") from None


def _offset(token: str | None) -> int:
    if not token:
        return 0
    try:
        prefix, _, number = base64.urlsafe_b64decode(token.encode()).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        prefix, number = "", ""
    if prefix != "offset" or not number.isdigit():
        raise ApiError(400, "Invalid page token.")
    return int(number)
