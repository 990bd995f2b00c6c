"""A real ``redis-server`` on a free loopback port, for tests and benchmarks of
``RedisStore``.

Not a mock: it runs the server binary (Debian's ``redis-server`` package; the project's
``.ci/run`` installs it when it is missing), without persistence, and stops it on exit.
Without the binary :meth:`RedisServer.start` raises with that instruction.

Example:
    >>> from lc_gemini_router import RedisStore
    >>> from lc_gemini_router.testing.redis_server import RedisServer
    >>> with RedisServer() as server:  # doctest: +SKIP
    ...     RedisStore(server.url).ping()
    True
"""

from __future__ import annotations

import os
import selectors
import shutil
import socket
import subprocess
import threading
import time
from types import TracebackType

__all__ = ["RedisServer", "free_port"]

_READY = b"Ready to accept connections"
_START_SECONDS = 20.0


def _drain(fd: int) -> None:
    try:
        while os.read(fd, 65536):
            pass
    except OSError:  # closed by stop()
        pass


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class RedisServer:
    """``redis-server`` on 127.0.0.1:``port`` without persistence, stopped on exit."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        binary = shutil.which("redis-server")
        if binary is None:
            msg = (
                "redis-server is not on PATH: RedisStore's tests need the real server "
                "(apt-get install redis-server; .ci/run installs it)"
            )
            raise RuntimeError(msg)
        args = [binary, "--port", str(self.port), "--bind", "127.0.0.1"]
        args += ["--save", "", "--appendonly", "no", "--loglevel", "notice"]
        # Unbuffered: select() must see every byte the server wrote, not a buffer's rest.
        process = subprocess.Popen(
            args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, bufsize=0
        )
        self._process = process
        assert process.stdout is not None
        fd = process.stdout.fileno()
        # Wait for the server's own "ready" line rather than polling the port.
        selector = selectors.DefaultSelector()
        selector.register(fd, selectors.EVENT_READ)
        deadline = time.monotonic() + _START_SECONDS
        seen = b""
        while _READY not in seen:
            left = deadline - time.monotonic()
            chunk = os.read(fd, 65536) if left > 0 and selector.select(left) else b""
            if not chunk:  # pragma: no cover - a server that cannot start
                selector.close()
                self.stop()
                msg = f"redis-server did not start on port {self.port}: {seen.decode()[-500:]}"
                raise RuntimeError(msg)
            seen += chunk
        selector.close()
        # Keep reading its log, so a full pipe never blocks the server.
        threading.Thread(target=_drain, args=(fd,), daemon=True, name="redis-log").start()
        return self

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:  # pragma: no cover - a stuck server
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
