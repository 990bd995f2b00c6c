"""The simulator's image, candidate, grounding and cut-off replies, through the real client."""

from __future__ import annotations

import base64
import math
import struct
import zlib
from typing import Any

import pytest
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage
from langchain_google_genai.chat_models import GoogleInvalidRequestError

from lc_gemini_router.testing.simulator import GeminiSimulator, SimReply, sample_png
from tests.test_simulator import chat

IMAGE = "gemini-3.1-flash-image"


def decode_png(data: bytes) -> tuple[int, int]:
    """Width and height of a PNG, after checking every chunk's CRC and the pixel data."""
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    position, chunks = 8, {}
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind = data[position + 4 : position + 8]
        body = data[position + 8 : position + 8 + length]
        (crc,) = struct.unpack(">I", data[position + 8 + length : position + 12 + length])
        assert zlib.crc32(kind + body) == crc, kind
        chunks[kind] = body
        position += 12 + length
    width, height, depth = struct.unpack(">IIB", chunks[b"IHDR"][:9])
    pixels = zlib.decompress(chunks[b"IDAT"])
    assert len(pixels) == height * (1 + math.ceil(width * depth / 8))  # a filter byte a row
    assert b"IEND" in chunks
    return width, height


def images_of(message: AIMessage) -> list[tuple[int, int]]:
    assert isinstance(message.content, list)
    return [
        decode_png(base64.b64decode(block["image_url"]["url"].split(",", 1)[1]))
        for block in message.content
        if isinstance(block, dict) and block.get("type") == "image_url"
    ]


def test_an_image_request_gets_one_png_per_candidate_of_its_size_and_ratio(
    gemini_sim: GeminiSimulator,
) -> None:
    llm = chat(
        gemini_sim,
        IMAGE,
        response_modalities=["TEXT", "IMAGE"],
        image_config={"aspect_ratio": "16:9", "image_size": "2K"},
        n=2,
    )
    result = llm.generate([[HumanMessage("a lighthouse at dusk")]])
    candidates = [getattr(g, "message", None) for g in result.generations[0]]
    assert len(candidates) == 2
    for message in candidates:
        assert isinstance(message, AIMessage)
        assert images_of(message) == [(2752, 1536)]
    assert isinstance(candidates[0], AIMessage)
    usage = candidates[0].usage_metadata
    assert usage is not None
    text = len("Simulated answer from gemini-3.1-flash-image to: a lighthouse at dusk")
    # Both candidates' text and image tokens: a 2K image is 1,680 output tokens.
    assert usage["output_tokens"] == 2 * (math.ceil(text / 4) + 1680)
    (request,) = gemini_sim.requests
    assert request.generation_config["candidateCount"] == 2


@pytest.mark.parametrize(
    ("config", "size"),
    [
        ({}, (1024, 1024)),  # Gemini's defaults: 1K, square
        ({"image_size": "512", "aspect_ratio": "9:16"}, (384, 688)),
        ({"image_size": "4K", "aspect_ratio": "21:9"}, (6336, 2688)),
        ({"image_size": "1K", "aspect_ratio": "8:1"}, (2896, 368)),  # beyond the table
    ],
)
def test_image_sizes_and_ratios(
    gemini_sim: GeminiSimulator, config: dict[str, str], size: tuple[int, int]
) -> None:
    llm = chat(gemini_sim, IMAGE, response_modalities=["TEXT", "IMAGE"], image_config=config)
    assert images_of(llm.invoke("draw")) == [size]


def test_a_scripted_image_takes_the_requested_ratio(gemini_sim: GeminiSimulator) -> None:
    gemini_sim.script(None, SimReply(images=["1K"], output_tokens=0))
    llm = chat(gemini_sim, IMAGE, image_config={"aspect_ratio": "3:2"})
    message = llm.invoke("draw")
    assert images_of(message) == [(1264, 848)]
    assert message.usage_metadata is not None and message.usage_metadata["output_tokens"] == 1120


def test_sample_png_is_a_valid_image() -> None:
    assert decode_png(sample_png("2K", "4:3")) == (2400, 1792)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"image_config": {"image_size": "8K"}}, "image_size"),
        ({"image_config": {"aspect_ratio": "wide"}}, "aspect_ratio"),
        ({"n": 9}, "candidate_count"),
    ],
)
def test_bad_generation_settings_are_a_400(
    gemini_sim: GeminiSimulator, kwargs: dict[str, Any], field: str
) -> None:
    llm = chat(gemini_sim, IMAGE, response_modalities=["TEXT", "IMAGE"], **kwargs)
    with pytest.raises(GoogleInvalidRequestError, match=field):
        llm.invoke("draw")
    assert gemini_sim.requests[0].status == 400


def test_search_queries_are_grounding_metadata(gemini_sim: GeminiSimulator) -> None:
    gemini_sim.script(None, SimReply("Sunny.", search_queries=["weather paris", "paris today"]))
    message = chat(gemini_sim).invoke("weather in Paris?")
    grounding = message.response_metadata["grounding_metadata"]
    assert grounding["web_search_queries"] == ["weather paris", "paris today"]


def test_a_reply_without_finish_reason_names_no_model(gemini_sim: GeminiSimulator) -> None:
    gemini_sim.script(None, SimReply("one two three", finish_reason=None))
    chunks = list(chat(gemini_sim).stream("count"))
    merged = chunks[0]
    for chunk in chunks[1:]:
        merged = merged + chunk
    assert isinstance(merged, AIMessageChunk)
    assert "model_name" not in merged.response_metadata
    assert "finish_reason" not in merged.response_metadata


def test_a_cut_stream_delivers_its_first_events_then_fails(gemini_sim: GeminiSimulator) -> None:
    gemini_sim.script(None, SimReply("one two three four five six", cut_after=1))
    seen: list[str] = []

    def read() -> None:
        for chunk in chat(gemini_sim).stream("count"):
            seen.append(chunk.text)

    # The transport's error (httpx or httpx2, by google-genai version): a dropped connection.
    with pytest.raises(Exception, match="incomplete chunked read") as cut:
        read()
    assert type(cut.value).__name__ == "RemoteProtocolError"
    assert "".join(seen) == "one two "
    gemini_sim.script(None, SimReply("never sent", cut_after=0))
    with pytest.raises(Exception, match="disconnected without sending a response"):
        chat(gemini_sim).invoke("again")


def test_cut_after_must_not_be_negative() -> None:
    with pytest.raises(ValueError, match="cut_after"):
        SimReply("x", cut_after=-1)
