"""The simulator's HTTP layer: a threaded loopback server that speaks Gemini's REST surface.

It parses each generate request into a :class:`SimRequest`, asks its backend (the
simulator) for the answer and writes it as JSON, or as server-sent events over chunked
transfer for ``streamGenerateContent``. The Batch and Files API paths (``_API_ROUTES``)
are routed here to an operation name and handed to the backend as an :class:`ApiCall`,
whose :class:`Reply` is written back as is. Keep-alive connections are tracked so
``close()`` is prompt.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol, cast
from urllib.parse import parse_qsl, urlsplit

from lc_gemini_router.testing.faults import error_body
from lc_gemini_router.testing.requests import SimRequest

__all__ = ["Answer", "ApiCall", "Backend", "Reply", "Server"]

_PATH = re.compile(
    r"^/(v1|v1beta|v1alpha)/models/([^/:]+):(generateContent|streamGenerateContent|countTokens)$"
)
# Batch and Files API paths: (HTTP method, path pattern, operation). Each pattern's two
# groups are the API version and the resource (model, batch or file ID; "" for none).
_API_ROUTES = [
    (method, re.compile(pattern), operation)
    for method, pattern, operation in [
        ("POST", r"^/(v[^/]*)/models/([^/:]+):batchGenerateContent$", "batches.create"),
        ("GET", r"^/(v[^/]*)/batches()$", "batches.list"),
        ("GET", r"^/(v[^/]*)/batches/([^/:]+)$", "batches.get"),
        ("POST", r"^/(v[^/]*)/batches/([^/:]+):cancel$", "batches.cancel"),
        ("DELETE", r"^/(v[^/]*)/batches/([^/:]+)$", "batches.delete"),
        ("POST", r"^/upload/(v[^/]*)/files()$", "files.upload"),
        ("GET", r"^/(v[^/]*)/files()$", "files.list"),
        ("GET", r"^/(v[^/]*)/files/([^/:]+)$", "files.get"),
        ("DELETE", r"^/(v[^/]*)/files/([^/:]+)$", "files.delete"),
        # google-genai downloads from /{version}/files/ID:download, the REST docs from
        # /download/{version}/files/ID:download; both take ?alt=media.
        ("GET", r"^/(?:download/)?(v[^/]*)/files/([^/:]+):download$", "files.download"),
    ]
]
# Headers that carry credentials are never kept in the request log.
_SECRET_HEADERS = frozenset({"x-goog-api-key", "authorization", "proxy-authorization", "cookie"})

Problem = tuple[int, str]
"""An HTTP status and the message of a request the server could not parse."""


_TRICKLE_BYTES = 16
"""Bytes per write of a trickled reply."""


@dataclass(frozen=True)
class Answer:
    """What to send: a status and one payload (or one per SSE event)."""

    status: int
    payloads: list[dict[str, Any]]
    cut: bool = False
    """Drop the connection after the payloads, without ending the response."""
    trickle: float = 0.0
    """Seconds between small writes of the body (0: all at once)."""


@dataclass(frozen=True)
class ApiCall:
    """A routed Batch or Files API request."""

    operation: str
    """``batches.create``, ``batches.get``, ``files.upload``, ... (see ``_API_ROUTES``)."""
    version: str
    resource: str
    """The model (``batches.create``), batch or file ID; empty for lists and uploads."""
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    """Lower-case names, without credentials."""
    body: bytes
    base_url: str
    """``http://host:port`` as the client addressed the server."""


@dataclass(frozen=True)
class Reply:
    """A Batch or Files API answer: JSON (``json``) or raw bytes (``data``)."""

    status: int
    json: dict[str, Any] | None = None
    data: bytes | None = None
    content_type: str = "application/json; charset=UTF-8"
    headers: dict[str, str] = field(default_factory=dict)


class Backend(Protocol):
    """What the server asks of the simulator."""

    def _exchange(self, req: SimRequest, problem: Problem | None) -> Answer:
        """Log ``req`` and answer it."""

    def _api(self, call: ApiCall) -> Reply:
        """Answer a Batch or Files API request."""

    def _hold(self, model: str) -> bool:
        """Wait the delay set for ``model``; True when the simulator closed meanwhile."""

    def _pause(self, seconds: float) -> bool:
        """Wait ``seconds``; True when the simulator closed meanwhile."""


class Server(ThreadingHTTPServer):
    """Threaded HTTP server that knows its backend and its open connections."""

    daemon_threads = True
    request_queue_size = 2048  # 1,000 clients connecting at once must not be refused

    def __init__(self, address: tuple[str, int], backend: Backend) -> None:
        self.backend = backend
        self._connections: set[socket.socket] = set()
        self._conn_lock = threading.Lock()
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._conn_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._conn_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def drop_connections(self) -> None:
        """Shut down keep-alive sockets so their handler threads end now."""
        with self._conn_lock:
            connections = list(self._connections)
        for conn in connections:
            with contextlib.suppress(OSError):  # already closed by the peer
                conn.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: pooled clients reuse connections
    server_version = "GeminiSimulator/1.0"
    disable_nagle_algorithm = True  # else small writes stall ~40 ms on delayed ACKs
    _trickle = 0.0  # the current reply's pause between writes (see Answer.trickle)

    def log_message(self, format: str, *args: Any) -> None:
        """Keep the server quiet."""

    def do_GET(self) -> None:
        """A Batch or Files API read."""
        self._serve_api("GET")

    def do_DELETE(self) -> None:
        """A Batch or Files API deletion."""
        self._serve_api("DELETE")

    def do_POST(self) -> None:
        """Log the request, then answer it as Gemini would."""
        path = urlsplit(self.path).path
        match = _PATH.match(path)
        if match is None and _route("POST", path) is not None:
            self._serve_api("POST")
            return
        backend = cast(Server, self.server).backend
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _SECRET_HEADERS}
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = None
        req = SimRequest(
            model=match.group(2) if match else "",
            method=match.group(3) if match else path,
            body=body if isinstance(body, dict) else {},
            headers=headers,
            api_version=match.group(1) if match else "",
        )
        problem: Problem | None = None
        if match is None:
            problem = 404, f"Path {path} was not found."
        elif not isinstance(body, dict):
            problem = 400, "Invalid JSON payload received."
        answer = backend._exchange(req, problem)
        if backend._hold(req.model):
            self.close_connection = True
            return
        status, payloads = answer.status, answer.payloads
        self._trickle = answer.trickle
        req.error = payloads[0]["error"]["message"] if status != 200 else None
        req.status = status
        if status == 200 and payloads:
            req.usage = payloads[-1].get("usageMetadata")
        try:
            if answer.cut:
                self._send_cut(payloads if req.stream else [])
            elif status == 200 and req.stream:
                self._send_events(payloads)
                req.delivered = True
            else:
                self._send_json(status, payloads[0])
                req.delivered = True
        except OSError:  # the client went away
            self.close_connection = True

    def _serve_api(self, method: str) -> None:
        backend = cast(Server, self.server).backend
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        split = urlsplit(self.path)
        route = _route(method, split.path)
        if route is None:
            reply = Reply(404, error_body(404, f"Path {split.path} was not found."))
        else:
            operation, match = route
            host, port = cast(Server, self.server).server_address[:2]
            call = ApiCall(
                operation=operation,
                version=match.group(1),
                resource=match.group(2),
                path=split.path,
                query=dict(parse_qsl(split.query)),
                headers={
                    k.lower(): v
                    for k, v in self.headers.items()
                    if k.lower() not in _SECRET_HEADERS
                },
                body=raw,
                base_url=f"http://{self.headers.get('Host') or f'{host!s}:{port}'}",
            )
            reply = backend._api(call)
        data = reply.data if reply.data is not None else json.dumps(reply.json or {}).encode()
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except OSError:  # the client went away
            self.close_connection = True

    def _send_json(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self._write(data)

    def _send_events(self, events: list[dict[str, Any]], *, end: bool = True) -> None:
        # Chunked transfer keeps the connection reusable without a Content-Length.
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for event in events:
            data = f"data: {json.dumps(event)}\r\n\r\n".encode()
            self._write(f"{len(data):X}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()
        if end:
            self.wfile.write(b"0\r\n\r\n")

    def _write(self, data: bytes) -> None:
        pause = self._trickle
        if not pause:
            self.wfile.write(data)
            return
        backend = cast(Server, self.server).backend
        for start in range(0, len(data), _TRICKLE_BYTES):
            self.wfile.write(data[start : start + _TRICKLE_BYTES])
            self.wfile.flush()
            if backend._pause(pause):
                raise OSError("the simulator closed")  # ends this reply, as a drop

    def _send_cut(self, events: list[dict[str, Any]]) -> None:
        """Send some events (none for a plain request), then drop the connection."""
        if events:
            self._send_events(events, end=False)
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)


def _route(method: str, path: str) -> tuple[str, re.Match[str]] | None:
    """The Batch or Files API operation ``method`` and ``path`` name, with the match."""
    for route_method, pattern, operation in _API_ROUTES:
        match = pattern.match(path)
        if match is not None and route_method == method:
            return operation, match
    return None
