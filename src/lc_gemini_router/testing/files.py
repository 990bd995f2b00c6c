"""Gemini's Files API as the simulator keeps it: resumable uploads and generated files.

An upload is Google's resumable protocol, as google-genai speaks it: a ``start`` request
(``X-Goog-Upload-Protocol: resumable``) names the size and MIME type and is answered
with an ``X-Goog-Upload-URL``; the bytes then go to that URL in ``upload`` chunks, the
last one ``upload, finalize``, answered with ``{"file": File}``. Each answer carries
``X-Goog-Upload-Status`` (``active`` while more is expected, ``final`` otherwise), which
the client reads before the HTTP status. A batch job's results become a *generated* file
(``source: GENERATED``, with a ``downloadUri``): only those can be downloaded, as on
Gemini. Files live 48 hours of simulator time (see :class:`ManualClock`), then answer
like files that never existed (403 PERMISSION_DENIED, Gemini's answer for both).
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import threading
from dataclasses import dataclass, field
from typing import Any

from lc_gemini_router.testing.clock import ManualClock
from lc_gemini_router.testing.faults import ApiError
from lc_gemini_router.testing.json_names import camelize

__all__ = ["CHUNK_GRANULARITY", "FILE_TTL_SECONDS", "FileStore", "SimFile"]

FILE_TTL_SECONDS = 48 * 3600.0
"""How long Gemini keeps an uploaded (or generated) file."""
_FILE_ID = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$")
_MAX_DISPLAY_NAME = 512
CHUNK_GRANULARITY = 256 * 1024
"""``X-Goog-Upload-Chunk-Granularity``: chunks (but the last) are multiples of this."""


@dataclass(frozen=True)
class SimFile:
    """One stored file (a snapshot).

    Attributes:
        name: ``files/ID``.
        mime_type: As uploaded (google-genai sends what ``mime_type=`` says, e.g. ``jsonl``).
        data: The file's bytes.
        source: ``UPLOADED`` or ``GENERATED`` (a batch job's results).
        display_name: The optional display name.
        created_at: Simulator clock seconds at creation.
    """

    name: str
    mime_type: str
    data: bytes = field(repr=False)
    source: str = "UPLOADED"
    display_name: str | None = None
    created_at: float = 0.0

    @property
    def id(self) -> str:
        """The ID, without ``files/``."""
        return self.name.removeprefix("files/")

    @property
    def size_bytes(self) -> int:
        return len(self.data)


@dataclass
class _Upload:
    """An upload session between ``start`` and ``finalize``."""

    name: str
    mime_type: str
    size: int
    display_name: str | None
    received: bytearray = field(default_factory=bytearray)


class FileStore:
    """Uploaded and generated files, and the upload sessions in between; thread-safe."""

    def __init__(self, clock: ManualClock) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._files: dict[str, SimFile] = {}
        self._uploads: dict[str, _Upload] = {}

    # -- what tests read -------------------------------------------------------------------

    @property
    def files(self) -> list[SimFile]:
        """Snapshot of the live files, oldest first."""
        with self._lock:
            return [f for f in self._files.values() if self._alive(f)]

    def content(self, name: str) -> bytes:
        """The bytes of a live file (``files/ID`` or ``ID``); KeyError when there is none."""
        found = self.find(name)
        if found is None:
            raise KeyError(name)
        return found.data

    def find(self, name: str) -> SimFile | None:
        """The live file called ``name`` (``files/ID`` or ``ID``), if any."""
        with self._lock:
            found = self._files.get(name.removeprefix("files/"))
            return found if found is not None and self._alive(found) else None

    def reset(self) -> None:
        with self._lock:
            self._files.clear()
            self._uploads.clear()

    # -- what the server asks --------------------------------------------------------------

    def get(self, file_id: str) -> SimFile:
        found = self.find(file_id)
        if found is None:
            raise _no_such_file(file_id)
        return found

    def delete(self, file_id: str) -> None:
        with self._lock:
            found = self._files.get(file_id)
            if found is None or not self._alive(found):
                raise _no_such_file(file_id)
            del self._files[file_id]

    def add_generated(self, data: bytes, mime_type: str = "application/jsonl") -> SimFile:
        """Store a generated file (a batch job's results) under a fresh name."""
        with self._lock:
            made = SimFile(
                name=f"files/{self._fresh_id()}",
                mime_type=mime_type,
                data=data,
                source="GENERATED",
                created_at=self._clock.now,
            )
            self._files[made.id] = made
            return made

    def start_upload(self, headers: dict[str, str], body: dict[str, Any]) -> str:
        """Open an upload session from a ``start`` request; returns its upload ID."""
        size_text = headers.get("x-goog-upload-header-content-length")
        if size_text is None or not size_text.strip().isdigit():
            msg = "X-Goog-Upload-Header-Content-Length must give the file size in bytes."
            raise ApiError(400, msg)
        meta = body.get("file") or {}
        if not isinstance(meta, dict):
            raise ApiError(400, 'Invalid JSON payload received. "file" must be an object.')
        meta = camelize(meta)  # google-genai sends a File's fields in snake_case
        mime = meta.get("mimeType") or headers.get("x-goog-upload-header-content-type")
        if not mime:
            msg = "The MIME type of the file is required (X-Goog-Upload-Header-Content-Type)."
            raise ApiError(400, msg)
        announced = meta.get("sizeBytes")
        if announced is not None and str(announced) != size_text.strip():
            msg = (
                f"* File.size_bytes: {announced} differs from "
                f"X-Goog-Upload-Header-Content-Length {size_text.strip()}"
            )
            raise ApiError(400, msg)
        display = meta.get("displayName")
        if display is not None and len(str(display)) > _MAX_DISPLAY_NAME:
            msg = f"* File.display_name: must be at most {_MAX_DISPLAY_NAME} characters"
            raise ApiError(400, msg)
        with self._lock:
            wanted = meta.get("name")
            if wanted:
                file_id = str(wanted).removeprefix("files/")
                if not _FILE_ID.match(file_id):
                    msg = (
                        f"* File.name: {wanted!r} is not a valid file name: up to 40 lowercase"
                        " letters, digits or dashes, not starting or ending with a dash"
                    )
                    raise ApiError(400, msg)
                if file_id in self._files and self._alive(self._files[file_id]):
                    raise ApiError(409, f"File files/{file_id} already exists.")
            else:
                file_id = self._fresh_id()
            upload_id = secrets.token_urlsafe(18)
            self._uploads[upload_id] = _Upload(
                name=f"files/{file_id}",
                mime_type=str(mime),
                size=int(size_text),
                display_name=None if display is None else str(display),
            )
        return upload_id

    def receive(self, upload_id: str, headers: dict[str, str], chunk: bytes) -> SimFile | None:
        """Take one chunk of an upload; the file once finalized, else None (more expected).

        Raises:
            ApiError: unknown session, wrong offset, an unknown command, or a finalized
                size that differs from the announced one.
        """
        command = {c.strip() for c in headers.get("x-goog-upload-command", "").split(",")}
        with self._lock:
            upload = self._uploads.get(upload_id)
            if upload is None:
                raise ApiError(404, "No upload session with this upload_id.")
            if not command or not command <= {"upload", "finalize"}:
                msg = f"Unsupported X-Goog-Upload-Command {headers.get('x-goog-upload-command')!r}."
                raise ApiError(400, msg)
            if "upload" in command:
                offset = headers.get("x-goog-upload-offset", "")
                if offset.strip() != str(len(upload.received)):
                    msg = (
                        f"X-Goog-Upload-Offset {offset!r} does not match the "
                        f"{len(upload.received)} bytes received so far."
                    )
                    raise ApiError(400, msg)
                upload.received += chunk
            if len(upload.received) > upload.size:
                del self._uploads[upload_id]
                msg = f"Received more than the announced {upload.size} bytes."
                raise ApiError(400, msg)
            if "finalize" not in command:
                return None
            del self._uploads[upload_id]
            if len(upload.received) != upload.size:
                msg = (
                    f"The upload was finalized after {len(upload.received)} bytes; "
                    f"{upload.size} were announced."
                )
                raise ApiError(400, msg)
            made = SimFile(
                name=upload.name,
                mime_type=upload.mime_type,
                data=bytes(upload.received),
                display_name=upload.display_name,
                created_at=self._clock.now,
            )
            self._files[made.id] = made
            return made

    def download(self, file_id: str) -> SimFile:
        found = self.get(file_id)
        if found.source != "GENERATED":
            msg = (
                f"File {found.name} was uploaded; only generated files (such as batch "
                "results) can be downloaded."
            )
            raise ApiError(400, msg)
        return found

    def resource(self, found: SimFile, base_url: str, version: str) -> dict[str, Any]:
        """The ``File`` JSON Gemini answers for ``found``."""
        digest = hashlib.sha256(found.data).hexdigest().encode()
        created = self._clock.timestamp(found.created_at)
        body: dict[str, Any] = {
            "name": found.name,
            "mimeType": found.mime_type,
            "sizeBytes": str(found.size_bytes),
            "createTime": created,
            "updateTime": created,
            "expirationTime": self._clock.timestamp(found.created_at + FILE_TTL_SECONDS),
            "sha256Hash": base64.b64encode(digest).decode(),
            "uri": f"{base_url}/{version}/{found.name}",
            "state": "ACTIVE",
            "source": found.source,
        }
        if found.display_name is not None:
            body["displayName"] = found.display_name
        if found.source == "GENERATED":
            body["downloadUri"] = f"{base_url}/download/{version}/{found.name}:download?alt=media"
        return body

    # -- helpers (lock held) ---------------------------------------------------------------

    def _alive(self, found: SimFile) -> bool:
        return self._clock.now < found.created_at + FILE_TTL_SECONDS

    def _fresh_id(self) -> str:
        while True:
            file_id = secrets.token_hex(6)
            if file_id not in self._files:
                return file_id


def _no_such_file(file_id: str) -> ApiError:
    # Gemini answers the same for a file that never existed and one of another project.
    msg = f"You do not have permission to access the File {file_id} or it may not exist."
    return ApiError(403, msg)
