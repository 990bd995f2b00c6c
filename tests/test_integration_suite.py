"""langchain-tests' ChatModelIntegrationTests for GeminiRouter on the loopback Gemini simulator.

The suite drives the real ``ChatGoogleGenerativeAI`` lanes over loopback HTTP. Its
media tests download samples from the internet; here they get small local samples.
Left at their defaults, on purpose:
- supports_image_urls=False: the lane (langchain-google-genai) would download the URL itself,
  and this machine has no internet.
- supports_anthropic_inputs=False: langchain-google-genai rejects Anthropic-style image
  blocks ("Unrecognized message part type: image"), a lane limit, not the router's.
- enable_vcr_tests=False: test_stream_time needs recorded cassettes; nothing to record offline.
"""

from __future__ import annotations

import io
import json
import re
import wave
from collections.abc import AsyncIterator, Iterator
from typing import Any, Literal

import httpx
import pytest
from langchain_core.messages import AIMessage, AIMessageChunk
from langchain_tests.integration_tests import ChatModelIntegrationTests

from lc_gemini_router import GeminiRouter
from lc_gemini_router.testing.simulator import (
    GeminiSimulator,
    SimReply,
    SimRequest,
    example_from_schema,
    sample_png,
)

PRO = "gemini-3.1-pro-preview"
_Mode = Literal["invoke", "stream"]
_Detail = Literal[
    "audio_input", "audio_output", "reasoning_output", "cache_read_input", "cache_creation_input"
]


def _is_classifier(request: SimRequest) -> bool:
    schema = request.response_schema
    return schema is not None and "difficulty" in json.dumps(schema)


def _args_for(declaration: dict[str, Any], prompt: str) -> dict[str, Any]:
    """Schema-valid args, filled from the prompt where it is obvious (numbers, quoted text)."""
    schema = declaration.get("parametersJsonSchema") or declaration.get("parameters") or {}
    args = example_from_schema(schema) if schema.get("properties") else {}
    numbers = iter(int(n) for n in re.findall(r"(?<![\w.])-?\d+(?![\w.])", prompt))
    quoted = iter(re.findall(r"'([^']+)'", prompt))
    for name, sub in (schema.get("properties") or {}).items():
        kind = str(sub.get("type", "")).lower()
        if kind == "integer":
            args[name] = next(numbers, args.get(name))
        elif kind == "string":
            args[name] = next(quoted, args.get(name))
    return args


def responder(request: SimRequest) -> SimReply | None:
    """Classifier and structured output: the built-in schema-valid JSON.

    With tools offered and no function response in this turn: call the first tool
    (the one named by a forced ``allowedFunctionNames`` if any). Else: default text.
    """
    if _is_classifier(request) or request.response_schema is not None:
        return None
    if request.has_tools and request.tool_rounds == 0:
        declarations = request.function_declarations
        allowed = ((request.body.get("toolConfig") or {}).get("functionCallingConfig") or {}).get(
            "allowedFunctionNames"
        ) or []
        chosen = next((d for d in declarations if d.get("name") in allowed), declarations[0])
        return SimReply(
            function_calls=[(chosen["name"], _args_for(chosen, request.last_user_text))]
        )
    return None


# One simulator for the whole session: chat_model_params is a property (no fixtures),
# so it reads the module-level simulator, which the session fixture starts and closes.
SIM = GeminiSimulator(responder=responder)


@pytest.fixture(scope="session", autouse=True)
def gemini_sim() -> Iterator[GeminiSimulator]:
    with SIM:
        yield SIM


def _sample_pdf() -> bytes:
    """A one-page PDF with a title line (stands in for w3.org's dummy.pdf)."""
    stream = b"BT /F1 24 Tf 72 720 Td (Dummy PDF file) Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out, offsets = io.BytesIO(), []
    out.write(b"%PDF-1.4\n")
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    out.writelines(b"%010d 00000 n \n" % offset for offset in offsets)
    out.write(
        b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    )
    return out.getvalue()


def _sample_wav() -> bytes:
    """0.1 s of 8 kHz mono silence (stands in for the Wikimedia bird call)."""
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(8000)
        wav.writeframes(b"\x00\x00" * 800)
    return out.getvalue()


def _sample_png() -> bytes:
    return sample_png("512")


_SAMPLES = {".pdf": _sample_pdf, ".wav": _sample_wav, ".png": _sample_png}
_REAL_GET = httpx.get


def _offline_get(url: Any, *args: Any, **kwargs: Any) -> httpx.Response:
    """langchain-tests downloads its media samples with httpx.get: serve local ones."""
    for suffix, make in _SAMPLES.items():
        if str(url).endswith(suffix):
            return httpx.Response(200, content=make(), request=httpx.Request("GET", url))
    return _REAL_GET(url, *args, **kwargs)


@pytest.fixture(autouse=True)
def _offline_media_samples(monkeypatch: pytest.MonkeyPatch) -> None:
    # The suite fetches a PDF (w3.org), a WAV (wikimedia.org) and a PNG (github);
    # this machine has no internet, so those fetches get local samples instead.
    monkeypatch.setattr(httpx, "get", _offline_get)
    # Else the audio test warns (an error under the project's filterwarnings).
    monkeypatch.setenv("LANGCHAIN_TESTS_USER_AGENT", "lc-gemini-router-tests/0 (offline samples)")


class TestGeminiRouterIntegration(ChatModelIntegrationTests):
    @property
    def chat_model_class(self) -> type[GeminiRouter]:
        return GeminiRouter

    @pytest.fixture
    async def model(self, request: pytest.FixtureRequest) -> AsyncIterator[GeminiRouter]:
        """The suite's model fixture, closing the lanes' HTTP clients on the test's loop
        (else unclosed async transports fail the project's filterwarnings=error)."""
        extra = getattr(request, "param", None) or {}
        router = self.chat_model_class(
            **{**self.standard_chat_model_params, **self.chat_model_params, **extra}
        )
        yield router
        await router.aclose()

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {"api_key": "test", "base_url": SIM.base_url, "max_retries": 1}

    @property
    def has_tool_calling(self) -> bool:
        return True

    @property
    def has_tool_choice(self) -> bool:
        return True

    @property
    def has_structured_output(self) -> bool:
        return True

    @property
    def supports_json_mode(self) -> bool:
        return True

    @property
    def supports_image_inputs(self) -> bool:
        return True

    @property
    def supports_pdf_inputs(self) -> bool:
        return True

    @property
    def supports_audio_inputs(self) -> bool:
        return True

    @property
    def supports_image_tool_message(self) -> bool:
        return True

    @property
    def supports_pdf_tool_message(self) -> bool:
        return True

    @property
    def returns_usage_metadata(self) -> bool:
        return True

    @property
    def model_override_value(self) -> str:
        return PRO

    @property
    def supported_usage_metadata_details(self) -> dict[_Mode, list[_Detail]]:
        # The simulator reports thoughtsTokenCount and cachedContentTokenCount, which
        # langchain-google-genai maps to output "reasoning" and input "cache_read".
        return {
            "invoke": ["reasoning_output", "cache_read_input"],
            "stream": ["reasoning_output", "cache_read_input"],
        }

    def _scripted(self, reply: SimReply, *, stream: bool) -> AIMessage:
        # lane="pro" is decided by a rule: no classifier call consumes the script.
        SIM.script(PRO, reply)
        router = GeminiRouter(**self.chat_model_params)
        try:
            if not stream:
                return router.invoke("Hello", lane="pro")
            full: AIMessageChunk | None = None
            for chunk in router.stream("Hello", lane="pro"):
                full = chunk if full is None else full + chunk
            assert full is not None
            return full
        finally:
            router.close()

    def invoke_with_reasoning_output(self, *, stream: bool = False) -> AIMessage:
        reply = SimReply(
            "Thought it through.", prompt_tokens=20, output_tokens=5, thinking_tokens=40
        )
        return self._scripted(reply, stream=stream)

    def invoke_with_cache_read_input(self, *, stream: bool = False) -> AIMessage:
        reply = SimReply("From the cache.", prompt_tokens=20, output_tokens=4, cached_tokens=12)
        return self._scripted(reply, stream=stream)
