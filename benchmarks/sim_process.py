"""The load section's simulator, served from its own process.

Gemini's CPU is not the client's. A ``GeminiSimulator`` in the benchmark's own process
parses, validates and answers every request under the client's GIL, which roughly
doubles the CPU a burst of calls queues behind (about 5 ms of the 21 ms a routed call
took on a 2-core machine). A load figure measured that way says as much about the
stand-in as about the router, so the load section serves the same simulator, with
the same scripted replies, from a child process and asks it for its billing.

The child reads one command per line on stdin and answers one JSON line on stdout:
``billing`` (requests, classifier requests, and the ``Decimal`` sum of what each
request billed, as a string) or ``reset``; end of input stops it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from dataclasses import dataclass
from decimal import Decimal
from types import TracebackType
from typing import IO, Any

from benchmarks.common import REPO_ROOT
from benchmarks.sim import expected_cost, is_classifier, respond
from lc_gemini_router.testing.simulator import GeminiSimulator, SimReply, SimRequest

__all__ = ["CLASSIFIER_DELAY", "Billing", "SimulatorProcess", "slow_classifier"]

CLASSIFIER_DELAY = 0.05


@dataclass(frozen=True)
class Billing:
    """What the child's simulator received and billed, summed request by request."""

    requests: int
    classifier_requests: int
    billed: Decimal


def slow_classifier(delay: float = CLASSIFIER_DELAY) -> Any:
    """The responder: classifier replies after ``delay`` seconds (the server's latency),
    lanes at once."""
    never = threading.Event()

    def answer(request: SimRequest) -> SimReply:
        if is_classifier(request):
            never.wait(delay)
        return respond(request)

    return answer


class SimulatorProcess:
    """``with SimulatorProcess() as sim:`` serves :func:`slow_classifier` from a child
    process at ``sim.base_url``."""

    def __init__(self, classifier_delay: float = CLASSIFIER_DELAY) -> None:
        self.classifier_delay = classifier_delay
        self._child: subprocess.Popen[str] | None = None
        self.base_url = ""

    def __enter__(self) -> SimulatorProcess:
        self._child = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.sim_process", str(self.classifier_delay)],
            cwd=REPO_ROOT,  # ``-m benchmarks...`` imports from here
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.base_url = self._read()
        if not self.base_url.startswith("http://127.0.0.1:"):
            self.__exit__(None, None, None)
            msg = f"the simulator process did not start: {self.base_url!r}"
            raise RuntimeError(msg)
        return self

    def billing(self) -> Billing:
        """The child's billing so far."""
        self._send("billing")
        data = json.loads(self._read())
        return Billing(data["requests"], data["classifier_requests"], Decimal(data["billed"]))

    def reset(self) -> None:
        """Forget the child's request log."""
        self._send("reset")
        self._read()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        child, self._child = self._child, None
        if child is not None:
            _pipe(child.stdin).close()
            try:
                child.wait(timeout=30)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
            _pipe(child.stdout).close()

    def _send(self, command: str) -> None:
        stream = _pipe(self._child.stdin if self._child else None)
        stream.write(command + "\n")
        stream.flush()

    def _read(self) -> str:
        return _pipe(self._child.stdout if self._child else None).readline().strip()


def _pipe(stream: IO[str] | None) -> IO[str]:
    if stream is None:
        msg = "the simulator process is not running"
        raise RuntimeError(msg)
    return stream


def _serve(delay: float) -> None:
    with GeminiSimulator(responder=slow_classifier(delay)) as sim:
        print(sim.base_url, flush=True)
        for line in sys.stdin:
            command = line.strip()
            if command == "billing":
                log = sim.requests
                billed = sum((expected_cost(r) for r in log), Decimal(0))
                answer: dict[str, Any] = {
                    "requests": len(log),
                    "classifier_requests": sum(1 for r in log if is_classifier(r)),
                    "billed": str(billed),
                }
            elif command == "reset":
                sim.reset()
                answer = {"reset": True}
            else:
                answer = {"error": f"unknown command {command!r}"}
            print(json.dumps(answer), flush=True)


if __name__ == "__main__":
    _serve(float(sys.argv[1]))
