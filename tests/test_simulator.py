"""The Gemini simulator, driven through the real ChatGoogleGenerativeAI over HTTP."""

from __future__ import annotations

import asyncio
import base64
import math
import struct
import threading
import time
from importlib import metadata
from typing import Any, Literal

import pytest
from google.genai import _api_client as google_api_client
from langchain_core.exceptions import ModelAPIError, ModelInvalidRequestError, ModelRateLimitError
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    HumanMessage,
    ToolMessage,
)
from langchain_google_genai import ChatGoogleGenerativeAI
from langchain_google_genai.chat_models import (
    GoogleAPIError,
    GoogleInvalidRequestError,
    GoogleRateLimitError,
)
from pydantic import BaseModel, Field

from lc_gemini_router.testing.simulator import (
    SKIP_THOUGHT_SIGNATURE,
    GeminiSimulator,
    SimReply,
    SimRequest,
    example_from_schema,
    signature_model,
)

LITE = "gemini-3.1-flash-lite"
PRO = "gemini-3.1-pro-preview"
LONG_TEXT = ("The quick brown fox jumps over the lazy dog and keeps running far away. " * 2).strip()


def chat(sim: GeminiSimulator, model: str = LITE, **kwargs: Any) -> ChatGoogleGenerativeAI:
    kwargs.setdefault("api_version", "v1beta")  # preview models are not served on v1
    return ChatGoogleGenerativeAI(
        model=model, google_api_key="test", base_url=sim.base_url, max_retries=1, **kwargs
    )


def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


def merge(chunks: list[AIMessageChunk]) -> AIMessageChunk:
    total = chunks[0]
    for chunk in chunks[1:]:
        total = total + chunk
    return total


def png_size(data_url: str) -> tuple[int, int]:
    raw = base64.b64decode(data_url.split(",", 1)[1])
    assert raw.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = struct.unpack(">II", raw[16:24])
    return width, height


def test_binds_loopback_and_keeps_no_api_key(gemini_sim: GeminiSimulator) -> None:
    assert gemini_sim.base_url.startswith("http://127.0.0.1:")
    chat(gemini_sim).invoke("hi")
    (req,) = gemini_sim.requests
    assert (req.model, req.method, req.status) == (LITE, "generateContent", 200)
    assert "x-goog-api-key" not in {k.lower() for k in req.headers}
    assert "test" not in req.headers.values()


def test_invoke_reports_scripted_usage_exactly(gemini_sim: GeminiSimulator) -> None:
    gemini_sim.script(
        LITE,
        SimReply(
            "Paris.",
            prompt_tokens=1000,
            output_tokens=200,
            thinking_tokens=50,
            cached_tokens=400,
            tool_use_prompt_tokens=10,
        ),
    )
    msg = chat(gemini_sim).invoke("Capital of France?")
    assert msg.text == "Paris."
    assert msg.usage_metadata == {
        "input_tokens": 1010,
        "output_tokens": 250,
        "total_tokens": 1260,
        "input_token_details": {"cache_read": 400},
        "output_token_details": {"reasoning": 50},
    }
    assert msg.response_metadata["model_name"] == LITE
    assert msg.response_metadata["finish_reason"] == "STOP"


def test_default_reply_is_deterministic_and_estimated(gemini_sim: GeminiSimulator) -> None:
    llm = chat(gemini_sim)
    messages = [("system", "Be brief."), ("human", "What is the tallest mountain?")]
    first, second = llm.invoke(messages), llm.invoke(messages)
    assert first.text == second.text
    assert "tallest mountain" in first.text
    assert first.usage_metadata is not None
    expected = math.ceil(len("Be brief.\nWhat is the tallest mountain?") / 4)
    assert first.usage_metadata["input_tokens"] == expected
    assert first.usage_metadata["output_tokens"] == math.ceil(len(first.text) / 4)
    assert gemini_sim.requests[0].text == "Be brief.\nWhat is the tallest mountain?"


def test_stream_usage_sums_to_invoke_usage(gemini_sim: GeminiSimulator) -> None:
    reply = SimReply(
        LONG_TEXT, prompt_tokens=300, output_tokens=40, thinking_tokens=7, cached_tokens=100
    )
    gemini_sim.script(LITE, reply, reply)
    llm = chat(gemini_sim)
    invoked = llm.invoke("Tell me a story.")
    chunks = list(llm.stream("Tell me a story."))
    text_chunks = [c for c in chunks if c.text]
    assert len(text_chunks) >= 3
    total = merge(chunks)
    assert total.text == invoked.text == LONG_TEXT
    assert total.usage_metadata == invoked.usage_metadata
    # Thinking arrives whole on the first chunk; later deltas are zero.
    reasoning = [
        c.usage_metadata["output_token_details"]["reasoning"] for c in chunks if c.usage_metadata
    ]
    assert reasoning[0] == 7
    assert sum(reasoning) == 7
    named = [c for c in chunks if "model_name" in c.response_metadata]
    assert len(named) == 1
    assert named[0].response_metadata["finish_reason"] == "STOP"
    assert total.response_metadata["model_name"] == LITE
    assert gemini_sim.requests[-1].stream


class Address(BaseModel):
    city: str
    zip_code: str = Field(min_length=5, max_length=5)


class Person(BaseModel):
    name: str
    age: int = Field(ge=18, le=30)
    score: float = Field(gt=0.5, lt=0.9)
    role: Literal["admin", "user"]
    nickname: str | None = None
    tags: list[str] = Field(min_length=2)
    address: Address
    previous: list[Address] = []


def test_structured_output_validates_against_default_schema(gemini_sim: GeminiSimulator) -> None:
    result = chat(gemini_sim).with_structured_output(Person, method="json_schema").invoke("who?")
    assert isinstance(result, Person)
    assert 18 <= result.age <= 30
    assert len(result.address.zip_code) == 5
    (req,) = gemini_sim.requests
    assert req.response_schema is not None
    assert req.body["generationConfig"]["responseMimeType"] == "application/json"


def test_structured_output_uses_scripted_json(gemini_sim: GeminiSimulator) -> None:
    payload = {"city": "Oslo", "zip_code": "01500"}
    gemini_sim.script(None, SimReply(json=payload))
    result = chat(gemini_sim).with_structured_output(Address, method="json_schema").invoke("x")
    assert result == Address(**payload)


def test_example_from_schema_covers_refs_unions_and_bounds() -> None:
    assert Person.model_validate(example_from_schema(Person.model_json_schema()))
    gemini_style = {
        "type": "OBJECT",
        "properties": {
            "n": {"type": "INTEGER", "minimum": 3},
            "k": {"type": "STRING", "enum": ["a", "b"]},
        },
    }
    assert example_from_schema(gemini_style) == {"n": 3, "k": "a"}
    assert example_from_schema({"type": "number", "exclusiveMinimum": 2}) > 2


def run_tool_loop(llm: Any, first: list[BaseMessage], rounds: int) -> list[BaseMessage]:
    messages = list(first)
    for _ in range(rounds):
        ai = llm.invoke(messages)
        assert ai.tool_calls
        messages.append(ai)
        for call in ai.tool_calls:
            messages.append(ToolMessage(str(add(**call["args"])), tool_call_id=call["id"]))
    messages.append(llm.invoke(messages))
    return messages


def test_two_round_tool_loop_on_one_model(gemini_sim: GeminiSimulator) -> None:
    gemini_sim.script(
        LITE,
        SimReply(function_calls=[("add", {"a": 1, "b": 2}), ("add", {"a": 3, "b": 4})]),
        SimReply("One more.", function_calls=[("add", {"a": 3, "b": 7})]),
        SimReply("The total is 10."),
    )
    messages = run_tool_loop(chat(gemini_sim).bind_tools([add]), [HumanMessage("sum")], 2)
    assert messages[-1].text == "The total is 10."
    assert [r.status for r in gemini_sim.requests] == [200, 200, 200]
    replayed = gemini_sim.requests[-1].contents
    sigs = [p["thoughtSignature"] for c in replayed for p in c["parts"] if "functionCall" in p]
    assert len(sigs) == 3
    assert {signature_model(s) for s in sigs} == {LITE}
    assert [r["response"] for r in gemini_sim.requests[-1].function_responses][-1] == {"output": 10}


def test_replaying_another_models_call_is_rejected(gemini_sim: GeminiSimulator) -> None:
    gemini_sim.script(LITE, SimReply(function_calls=[("add", {"a": 1, "b": 2})]))
    ai = chat(gemini_sim).bind_tools([add]).invoke("add")
    history = [HumanMessage("add"), ai, ToolMessage("3", tool_call_id=ai.tool_calls[0]["id"])]
    with pytest.raises(GoogleInvalidRequestError, match="thought signature") as info:
        chat(gemini_sim, PRO).bind_tools([add]).invoke(history)
    assert isinstance(info.value, ModelInvalidRequestError)
    last = gemini_sim.requests_for(PRO)
    assert [r.status for r in last] == [400]
    assert last[0].error is not None


def test_unsigned_call_gets_skip_sentinel_and_is_accepted(gemini_sim: GeminiSimulator) -> None:
    ai = AIMessage("", tool_calls=[{"name": "add", "args": {"a": 1, "b": 2}, "id": "c1"}])
    chat(gemini_sim, PRO).bind_tools([add]).invoke(
        [HumanMessage("add"), ai, ToolMessage("3", tool_call_id="c1")]
    )
    (req,) = gemini_sim.requests
    assert req.status == 200
    assert req.contents[1]["parts"][0]["thoughtSignature"] == SKIP_THOUGHT_SIGNATURE


def test_missing_signature_in_current_turn_only_is_rejected(gemini_sim: GeminiSimulator) -> None:
    # A non-Gemini-3 name makes the client skip its sentinel, so the part arrives unsigned.
    llm = chat(gemini_sim, "custom-model").bind_tools([add])
    unsigned = AIMessage("", tool_calls=[{"name": "add", "args": {"a": 1, "b": 2}, "id": "c1"}])
    earlier_turn = [
        HumanMessage("add"),
        unsigned,
        ToolMessage("3", tool_call_id="c1"),
        AIMessage("3"),
        HumanMessage("thanks"),
    ]
    assert llm.invoke(earlier_turn).text
    with pytest.raises(GoogleInvalidRequestError, match="thought signature"):
        llm.invoke(earlier_turn[:3])
    assert [r.status for r in gemini_sim.requests] == [200, 400]


def test_rate_limit_is_one_request_and_classified(gemini_sim: GeminiSimulator) -> None:
    gemini_sim.fail_next(429)
    llm = chat(gemini_sim)
    with pytest.raises(GoogleRateLimitError) as info:
        llm.invoke("hi")
    assert isinstance(info.value, ModelRateLimitError)
    assert "RESOURCE_EXHAUSTED" in str(info.value)
    assert [r.status for r in gemini_sim.requests] == [429]
    assert llm.invoke("again").text
    assert [r.status for r in gemini_sim.requests] == [429, 200]


@pytest.mark.parametrize(("status", "name"), [(500, "INTERNAL"), (503, "UNAVAILABLE")])
def test_server_errors_are_google_api_errors(
    gemini_sim: GeminiSimulator, status: int, name: str
) -> None:
    gemini_sim.fail_next(status, model=PRO)
    assert chat(gemini_sim).invoke("other model is fine").text
    with pytest.raises(GoogleAPIError) as info:
        chat(gemini_sim, PRO).invoke("hi")
    assert isinstance(info.value, ModelAPIError)
    assert (info.value.code, info.value.status) == (status, name)
    assert [r.status for r in gemini_sim.requests_for(PRO)] == [status]


def test_stream_errors_are_classified(gemini_sim: GeminiSimulator) -> None:
    gemini_sim.fail_next(429, count=2)
    with pytest.raises(GoogleRateLimitError):
        list(chat(gemini_sim).stream("hi"))
    assert [r.status for r in gemini_sim.requests] == [429]
    gemini_sim.reset()
    assert gemini_sim.requests == []
    assert chat(gemini_sim).invoke("failure queue was cleared").text


def test_images_come_back_as_image_url_blocks(gemini_sim: GeminiSimulator) -> None:
    gemini_sim.script(None, SimReply("Here.", output_tokens=2, images=["1K", "512"]))
    msg = chat(gemini_sim, "gemini-3.1-flash-image").invoke("draw a cat")
    assert isinstance(msg.content, list)
    images = [b for b in msg.content if isinstance(b, dict) and b["type"] == "image_url"]
    assert [png_size(b["image_url"]["url"]) for b in images] == [(1024, 1024), (512, 512)]
    assert [b["type"] for b in msg.content_blocks] == ["text", "image", "image"]
    assert msg.usage_metadata is not None
    assert msg.usage_metadata["output_tokens"] == 2 + 1120 + 747


def test_image_tokens_in_stream(gemini_sim: GeminiSimulator) -> None:
    gemini_sim.script(None, SimReply("A picture of a cat.", output_tokens=5, images=["4K"]))
    total = merge(list(chat(gemini_sim).stream("draw")))
    assert total.usage_metadata is not None
    assert total.usage_metadata["output_tokens"] == 5 + 2520


def test_resolution_order(gemini_sim: GeminiSimulator) -> None:
    seen: list[SimRequest] = []

    def responder(req: SimRequest) -> SimReply | None:
        seen.append(req)
        return SimReply("from responder") if "ask" in req.last_user_text else None

    gemini_sim.responder = responder
    gemini_sim.script(None, SimReply("shared"))
    gemini_sim.script(LITE, SimReply("lite only"))
    llm = chat(gemini_sim)
    answers = [llm.invoke(q).text for q in ("one", "two", "ask me", "plain")]
    assert answers[:3] == ["lite only", "shared", "from responder"]
    assert answers[3].startswith("Simulated answer")
    assert len(seen) == 2


async def test_async_invoke_and_stream(gemini_sim: GeminiSimulator) -> None:
    gemini_sim.script(LITE, SimReply("async hello", prompt_tokens=5, output_tokens=2))
    gemini_sim.script(LITE, SimReply(LONG_TEXT, prompt_tokens=5, output_tokens=30))
    llm = chat(gemini_sim)
    msg = await llm.ainvoke("hi")
    assert msg.text == "async hello"
    assert msg.usage_metadata is not None
    assert msg.usage_metadata["input_tokens"] == 5
    chunks = [c async for c in llm.astream("hi")]
    await llm.aclose()  # the client's async transport must close on this loop
    assert merge(chunks).usage_metadata == {
        "input_tokens": 5,
        "output_tokens": 30,
        "total_tokens": 35,
        "input_token_details": {"cache_read": 0},
    }


async def test_200_concurrent_ainvoke(gemini_sim: GeminiSimulator) -> None:
    llm = chat(gemini_sim)
    await llm.ainvoke("warm up")  # opens the pool before the burst
    replies = await asyncio.gather(*(llm.ainvoke(f"question {i}") for i in range(200)))
    await llm.aclose()
    assert all(r.text for r in replies)
    logged = gemini_sim.requests[1:]
    assert len(logged) == 200
    assert {r.last_user_text for r in logged} == {f"question {i}" for i in range(200)}
    assert {r.status for r in logged} == {200}


def test_threaded_batch(gemini_sim: GeminiSimulator) -> None:
    out = chat(gemini_sim).batch([f"q{i}" for i in range(40)], config={"max_concurrency": 16})
    assert len(out) == 40
    assert len(gemini_sim.requests) == 40


# google-genai 3.x (and late 2.x) talk through httpx2 by default, chosen by this variable.
HAS_TRANSPORT_CHOICE = hasattr(google_api_client, "_DEFAULT_HTTP_CLIENT_BACKEND")


@pytest.mark.parametrize(
    ("transport", "client_class"), [("httpx", "AsyncHttpxClient"), ("httpx2", "AsyncHttpx2Client")]
)
def test_both_http_transports(
    gemini_sim: GeminiSimulator, monkeypatch: pytest.MonkeyPatch, transport: str, client_class: str
) -> None:
    if transport == "httpx2" and not HAS_TRANSPORT_CHOICE:
        pytest.skip(f"google-genai {metadata.version('google-genai')} has no httpx2 transport")
    monkeypatch.setenv("GOOGLE_GENAI_HTTP_CLIENT", transport)
    llm = chat(gemini_sim)
    gemini_sim.script(None, SimReply(LONG_TEXT))

    async def both() -> tuple[str, str]:
        streamed = merge([c async for c in llm.astream("s")])
        answer = await llm.ainvoke("a")
        await llm.aclose()
        return streamed.text, answer.text

    assert llm.client is not None
    assert type(llm.client._api_client._async_httpx_client).__name__ == client_class
    assert asyncio.run(both())[0] == LONG_TEXT
    assert [r.status for r in gemini_sim.requests] == [200, 200]


def test_close_is_prompt_with_delayed_requests() -> None:
    arrived = threading.Event()
    errors: list[BaseException] = []

    def responder(req: SimRequest) -> SimReply | None:
        arrived.set()
        return None

    sim = GeminiSimulator(responder=responder).start()
    sim.set_delay(60)
    llm = chat(sim, timeout=120)

    def call() -> None:
        try:
            llm.invoke("slow")
        except Exception as exc:
            errors.append(exc)

    worker = threading.Thread(target=call)
    worker.start()
    assert arrived.wait(10)
    started = time.perf_counter()
    sim.close()
    worker.join(10)
    assert not worker.is_alive()
    assert time.perf_counter() - started < 5
    assert len(errors) == 1
    assert [r.status for r in sim.requests] == [0]
