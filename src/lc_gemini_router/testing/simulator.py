"""Loopback stand-in for the Gemini API, for tests and offline demos.

`GeminiSimulator` serves ``POST /{version}/models/{model}:generateContent`` and
``:streamGenerateContent?alt=sse`` on 127.0.0.1 for the versions ``v1``, ``v1beta``
and ``v1alpha``, answering the way Gemini does. Like Gemini, ``v1`` does not serve
``-preview`` models, ``-latest`` aliases or experimental models: it answers 404
NOT_FOUND with Gemini's message; given the ``models`` it serves, it answers any other
model ID the same way. ``:countTokens`` answers ``totalTokens`` (the same ~4
characters per token the usage counts use). Everything else is the same on every
version:
usage metadata (cumulative while streaming), thought signatures that are checked
on replay, Google-style error bodies, JSON that validates against the request's
response schema, ``candidateCount`` candidates, and inline PNG images: a request whose
``responseModalities`` include ``IMAGE`` gets one per candidate, of the pixel size of
its ``imageConfig`` (``imageSize`` 512 / 1K / 2K / 4K, ``aspectRatio``), billed with
Gemini's image output tokens (1K: 1,120). Grounding queries, replies without a
``finishReason`` and connections dropped mid-stream can be scripted (``SimReply``).
The real ``ChatGoogleGenerativeAI`` talks to it over HTTP through ``base_url``. It
needs nothing beyond the standard library.

It also serves Gemini's Batch API and Files API, on ``v1beta`` only (the only version
they are documented for; elsewhere 404 NOT_FOUND), so google-genai's own
``client.batches`` / ``client.aio.batches`` and ``client.files`` work unchanged:

- ``POST models/{model}:batchGenerateContent`` takes inline requests (at most 50,000,
  in a body of at most 20 MB) or ``fileName`` of an uploaded JSONL file (one
  ``{"key", "request"}`` per line) and answers a long-running Operation
  (``batches/ID``; state in ``metadata.state``, ``BATCH_STATE_*``). A malformed body is
  a 400 with the reason; ``batches.py`` and ``batch_input.py`` say what is checked.
- ``GET batches/ID`` answers the current state; once terminal the Operation is
  ``done`` with ``endTime`` and ``batchStats``, and a SUCCEEDED job has its output in
  ``metadata.output`` and ``response``: ``inlinedResponses`` in input order (each a
  ``response`` or an ``error``, with the request's ``metadata``), or a
  ``responsesFile`` whose lines are ``{"key": K, "response" | "error": ...}``.
  ``GET batches`` pages (``pageSize``, ``pageToken``), newest first;
  ``POST batches/ID:cancel`` ends a job not yet terminal CANCELLED (a terminal one is
  400 FAILED_PRECONDITION); ``DELETE batches/ID`` forgets it (then 404).
- Files: google-genai's resumable upload (``POST /upload/v1beta/files``), ``GET`` /
  ``DELETE files/ID`` (403 PERMISSION_DENIED for a file that does not exist, as Gemini
  answers), ``GET files``, and ``files/ID:download?alt=media`` for generated files
  (batch results). Files live 48 hours of simulator time.

Batch items are answered by the same machinery as generateContent: each is a
`SimRequest` with method ``batchGenerateContent`` and ``batch`` / ``key`` /
``batch_index`` set, logged in `requests`, checked like any request (thought
signatures, generation settings), and answered by injected failures (``fail_next``),
scripts, the responder or the default. A failure is that item's ``error`` (a
``google.rpc.Status``: canonical code, message) and is not billed (``usage`` None),
while the job still SUCCEEDS. Jobs follow a manual clock (``sim.batches``, a
`BatchJobs`): PENDING for ``pending_seconds``, RUNNING for ``running_seconds`` (both 0
by default: done at the first read), EXPIRED when not done within
``expire_after_seconds`` (48 h); ``advance(seconds)`` moves it. Items run when their
job turns SUCCEEDED, so a cancelled, failed or expired job runs and bills nothing.
``sim.batches.end_next("FAILED" | "EXPIRED")`` and ``sim.batches.fail_items(*keys)``
script outcomes; ``reset()`` forgets jobs and files and rewinds the clock.

This module is the simulator and its public names; the parts live beside it:
``server`` (HTTP and routing), ``requests`` (the logged request), ``validation``
(signatures, generation settings), ``replies`` (scripted replies and the responses built
from them), ``images``, ``schemas`` (schema-valid JSON), ``faults`` (injected errors,
delays, error bodies), ``api`` (the Batch and Files API handlers), ``batches`` (jobs and
their states), ``batch_input`` (the create body), ``files`` (uploaded and generated
files) and ``clock`` (the manual clock).

Example:
    >>> from langchain_google_genai import ChatGoogleGenerativeAI
    >>> from lc_gemini_router.testing.simulator import GeminiSimulator, SimReply
    >>> with GeminiSimulator() as sim:
    ...     sim.script(None, SimReply("Hello!", prompt_tokens=12, output_tokens=3))
    ...     llm = ChatGoogleGenerativeAI(
    ...         model="gemini-3.1-flash-lite", google_api_key="test",
    ...         base_url=sim.base_url, max_retries=1,
    ...     )
    ...     msg = llm.invoke("Hi")
    ...     print(msg.text, msg.usage_metadata["input_tokens"], len(sim.requests))
    Hello! 12 1

A batch job through google-genai's client; its one item is billed like a request:

    >>> from google import genai
    >>> from google.genai import types
    >>> with GeminiSimulator() as sim:
    ...     sim.script(None, SimReply("Batched!", prompt_tokens=4, output_tokens=2))
    ...     options = types.HttpOptions(base_url=sim.base_url, api_version="v1beta")
    ...     with genai.Client(api_key="test", http_options=options) as client:
    ...         job = client.batches.create(
    ...             model="gemini-3.1-flash-lite",
    ...             src=[{"contents": "Hi", "metadata": {"key": "greeting"}}],
    ...         )
    ...         done = client.batches.get(name=job.name)
    ...     (answer,) = done.dest.inlined_responses
    ...     (item,) = sim.requests
    ...     print(job.state.name, done.state.name, answer.response.text, answer.metadata)
    ...     print(item.method, item.key, item.usage["totalTokenCount"])
    JOB_STATE_PENDING JOB_STATE_SUCCEEDED Batched! {'key': 'greeting'}
    batchGenerateContent greeting 6
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import replace
from types import TracebackType
from typing import Any

from lc_gemini_router.api_versions import served_on
from lc_gemini_router.testing.api import RestApi
from lc_gemini_router.testing.batches import BatchCall, BatchJobs, SimBatch
from lc_gemini_router.testing.clock import ManualClock
from lc_gemini_router.testing.faults import FaultInjection, ModelQueues, error_body
from lc_gemini_router.testing.files import FileStore, SimFile
from lc_gemini_router.testing.images import IMAGE_TOKENS, sample_png
from lc_gemini_router.testing.replies import Responder, SimReply, estimate_tokens, render
from lc_gemini_router.testing.requests import SimRequest
from lc_gemini_router.testing.schemas import example_from_schema
from lc_gemini_router.testing.server import Answer, ApiCall, Problem, Reply, Server
from lc_gemini_router.testing.validation import (
    SKIP_THOUGHT_SIGNATURE,
    config_problem,
    make_thought_signature,
    not_found_message,
    signature_model,
    signature_problem,
)

__all__ = [
    "IMAGE_TOKENS",
    "SKIP_THOUGHT_SIGNATURE",
    "BatchJobs",
    "FileStore",
    "GeminiSimulator",
    "Responder",
    "SimBatch",
    "SimFile",
    "SimReply",
    "SimRequest",
    "example_from_schema",
    "make_thought_signature",
    "sample_png",
    "signature_model",
]


class GeminiSimulator(FaultInjection):
    """A scripted Gemini API on a loopback port (see the module docstring).

    Per request the answer is: an injected failure for that model (or any model),
    else the model's scripted queue, else the shared (``None``) queue, else the
    responder, else the built-in default. Function-call thought signatures of the
    current turn are checked after failures and before scripts are consumed.

    Attributes:
        batches: The batch jobs, their clock and scripted outcomes (:class:`BatchJobs`).
        files: The Files API's files (:class:`FileStore`).
    """

    def __init__(
        self,
        *,
        responder: Responder | None = None,
        models: Iterable[str] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        """Configure the simulator; call `start` (or use ``with``) to serve.

        ``models``: the model IDs it serves; any other is answered 404 NOT_FOUND, as
        Gemini answers a model it does not know (`serve` adds more). By default every
        ID is served: Gemini serves models no price file knows yet, and which ones
        changes month by month.
        """
        super().__init__()
        self.responder = responder
        self._models = None if models is None else {m.removeprefix("models/") for m in models}
        self._address = (host, port)
        self._lock = threading.Lock()
        self._log: list[SimRequest] = []
        self._scripts: ModelQueues[SimReply] = ModelQueues()
        self._server: Server | None = None
        self._thread: threading.Thread | None = None
        self._clock = ManualClock()
        self.files = FileStore(self._clock)
        self.batches = BatchJobs(self._clock, self.files, self._run_batch_item)
        self._rest = RestApi(self.batches, self.files, self.serves)

    def serve(self, *models: str) -> None:
        """Serve these model IDs too (when ``models`` narrowed the set)."""
        if self._models is not None:
            self._models.update(m.removeprefix("models/") for m in models)

    def serves(self, model: str) -> bool:
        """Whether a request for ``model`` is answered (else 404 NOT_FOUND)."""
        return self._models is None or model in self._models

    @property
    def base_url(self) -> str:
        """``http://HOST:PORT`` of the running server."""
        if self._server is None:
            msg = "simulator is not started"
            raise RuntimeError(msg)
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def requests(self) -> list[SimRequest]:
        """Snapshot of all logged requests, including failed ones."""
        with self._lock:
            return list(self._log)

    def requests_for(self, model: str) -> list[SimRequest]:
        """Logged requests addressed to ``model``."""
        return [r for r in self.requests if r.model == model]

    def start(self) -> GeminiSimulator:
        """Bind the port and serve in a daemon thread; returns self."""
        if self._server is None:
            self._closing.clear()
            self._server = Server(self._address, self)
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name="gemini-simulator",
                daemon=True,
            )
            self._thread.start()
        return self

    def close(self) -> None:
        """Stop serving now, waking delayed requests and dropping open connections."""
        server, self._server = self._server, None
        if server is None:
            return
        self._closing.set()
        server.shutdown()
        server.drop_connections()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> GeminiSimulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def script(self, model: str | None, *replies: SimReply) -> None:
        """Queue replies (FIFO) for ``model``, or for any model when None."""
        if not all(isinstance(r, SimReply) for r in replies):
            msg = "script() takes SimReply objects"
            raise TypeError(msg)
        self._scripts.extend(model, list(replies))

    def reset(self) -> None:
        """Forget the log, scripts, injected failures and delays, batch jobs and files.

        The simulator clock is back at 0 and batch timings at their defaults.
        """
        with self._lock:
            self._log.clear()
        self._scripts.clear()
        self._clear_faults()
        self.batches.reset()
        self.files.reset()
        self._clock.reset()

    # -- request handling (runs in server threads) --------------------------------

    def _exchange(self, req: SimRequest, problem: Problem | None) -> Answer:
        """Log ``req`` and pick its answer: a status and payloads (one, or one per event)."""
        with self._lock:
            self._log.append(req)
        if problem is not None:
            return Answer(problem[0], [error_body(*problem)])
        if not served_on(req.model, req.api_version) or not self.serves(req.model):
            return Answer(404, [error_body(404, not_found_message(req))])
        if req.method == "countTokens":  # no script is consumed by a count
            return Answer(200, [{"totalTokens": estimate_tokens(req.prompt_text, minimum=1)}])
        return self._generate(req)

    def _generate(self, req: SimRequest) -> Answer:
        """Answer a generate request (or batch item): failure, checks, script, responder."""
        failure = self._injected_failure(req.model)
        if failure is not None:
            return Answer(failure[0], [failure[1]])
        problem_text = signature_problem(req) or config_problem(req)
        if problem_text:
            return Answer(400, [error_body(400, problem_text)])
        reply = self._scripts.pop(req.model)
        if reply is None and self.responder is not None:
            try:
                reply = self.responder(req)
            except Exception as exc:  # a broken responder must not kill the server thread
                return Answer(500, [error_body(500, f"Simulator responder raised {exc!r}")])
        reply = reply or SimReply()
        if req.batch is not None:  # no connection to drop or trickle: the whole reply
            reply = replace(reply, cut_after=None, trickle_seconds=0.0)
        cut = reply.cut_after is not None
        return Answer(200, render(req, reply), cut=cut, trickle=reply.trickle_seconds)

    def _api(self, call: ApiCall) -> Reply:
        """Answer a Batch or Files API request (see ``api``)."""
        return self._rest.handle(call)

    def _run_batch_item(self, call: BatchCall) -> tuple[int, dict[str, Any]]:
        """Answer one batch item as a generate request, logged and billed like one."""
        item = call.item
        req = SimRequest(
            model=call.model,
            method="batchGenerateContent",
            body=item.request or {},
            headers={},
            api_version=call.api_version,
            batch=call.batch,
            key=item.key,
            batch_index=item.index,
        )
        with self._lock:
            self._log.append(req)
        if call.failure is not None:
            status, payload = call.failure[0], error_body(*call.failure)
        else:
            try:
                answer = self._generate(req)
            except Exception as exc:  # a settle must not die half-way through a job
                answer = Answer(500, [error_body(500, f"Simulator could not answer: {exc!r}")])
            status = answer.status
            payload = answer.payloads[0] if answer.payloads else error_body(500)
        req.status = status
        req.error = None if status == 200 else payload["error"]["message"]
        req.usage = payload.get("usageMetadata") if status == 200 else None
        req.delivered = True
        return status, payload
