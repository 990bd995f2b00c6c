"""The simulator's Batch and Files APIs, driven through google-genai's real clients."""

from __future__ import annotations

import base64
import io
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any, cast

import pytest
from google import genai
from google.genai import errors, types

from lc_gemini_router.testing.simulator import (
    GeminiSimulator,
    SimReply,
    SimRequest,
    make_thought_signature,
)

LITE = "gemini-3.1-flash-lite"
PRO = "gemini-3.1-pro-preview"
HOUR = 3600.0
LIMIT = 20 * 1024 * 1024


def make_client(sim: GeminiSimulator, version: str = "v1beta") -> genai.Client:
    options = types.HttpOptions(base_url=sim.base_url, api_version=version)
    return genai.Client(api_key="test", http_options=options)


@pytest.fixture
def client(gemini_sim: GeminiSimulator) -> Iterator[genai.Client]:
    with make_client(gemini_sim) as made:
        yield made


def ask(text: str, key: str | None = None, **config: Any) -> types.InlinedRequestDict:
    """One inline request as google-genai takes it."""
    request: dict[str, Any] = {"contents": [{"role": "user", "parts": [{"text": text}]}]}
    if key is not None:
        request["metadata"] = {"key": key}
    if config:
        request["config"] = config
    return cast(types.InlinedRequestDict, request)


def line(key: str, text: str, **extra: Any) -> dict[str, Any]:
    """One JSONL input line (REST JSON)."""
    return {"key": key, "request": {"contents": [{"parts": [{"text": text}]}], **extra}}


def upload(client: genai.Client, lines: list[Any], display_name: str | None = None) -> types.File:
    rows = [row if isinstance(row, str) else json.dumps(row) for row in lines]
    data = "".join(row + "\n" for row in rows).encode()
    config: types.UploadFileConfigDict = {"mime_type": "jsonl", "display_name": display_name}
    return client.files.upload(file=io.BytesIO(data), config=config)


def raw(
    sim: GeminiSimulator, method: str, path: str, body: Any = None, **headers: str
) -> tuple[int, dict[str, Any]]:
    """A plain HTTP request to the simulator; status and JSON answer."""
    data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        sim.base_url + path, data=data, method=method, headers={"x-goog-api-key": "test", **headers}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            status, text = answer.status, answer.read()
    except urllib.error.HTTPError as failed:
        status, text = failed.code, failed.read()
    return status, json.loads(text or b"{}")


def items_of(sim: GeminiSimulator, name: str | None) -> list[SimRequest]:
    return [r for r in sim.requests if r.batch == name]


def create_body(requests: list[dict[str, Any]]) -> dict[str, Any]:
    return {"batch": {"displayName": "raw", "inputConfig": {"requests": {"requests": requests}}}}


# -- inline jobs -------------------------------------------------------------------------------


def test_a_batch_for_a_model_outside_the_served_set_is_404() -> None:
    with GeminiSimulator(models=[LITE]) as sim, make_client(sim) as client:
        with pytest.raises(errors.ClientError) as caught:
            client.batches.create(model="gemini-9-nova", src=[ask("hi", "k")])
        assert caught.value.code == 404
        assert "models/gemini-9-nova is not found for API version v1beta" in str(caught.value)
        assert sim.batches.jobs == []
        assert client.batches.create(model=LITE, src=[ask("hi", "k")]).name


def test_inline_job_answers_in_input_order_and_bills_each_item(
    gemini_sim: GeminiSimulator, client: genai.Client
) -> None:
    gemini_sim.script(
        LITE,
        SimReply("one", prompt_tokens=11, output_tokens=2),
        SimReply("two", prompt_tokens=12, output_tokens=3),
        SimReply("three", prompt_tokens=13, output_tokens=4),
    )
    src = [ask("first", "a"), ask("second", "b"), ask("third", "c", temperature=0.1)]
    created = client.batches.create(model=LITE, src=src, config={"display_name": "nightly"})
    assert created.state == types.JobState.JOB_STATE_PENDING  # the create answer always is
    assert (created.display_name, created.model) == ("nightly", f"models/{LITE}")
    assert gemini_sim.requests == []  # nothing runs before the job is read
    assert created.name is not None

    job = client.batches.get(name=created.name)
    assert job.state == types.JobState.JOB_STATE_SUCCEEDED and job.done
    assert job.dest is not None and job.dest.inlined_responses is not None
    answers = job.dest.inlined_responses
    assert [a.response.text if a.response else None for a in answers] == ["one", "two", "three"]
    assert [a.metadata for a in answers] == [{"key": "a"}, {"key": "b"}, {"key": "c"}]
    usage = [a.response.usage_metadata for a in answers if a.response]
    assert [(u.prompt_token_count, u.candidates_token_count) for u in usage if u] == [
        (11, 2),
        (12, 3),
        (13, 4),
    ]
    logged = items_of(gemini_sim, created.name)
    assert [(r.method, r.model, r.key, r.batch_index, r.status) for r in logged] == [
        ("batchGenerateContent", LITE, key, index, 200) for index, key in enumerate("abc")
    ]
    assert all(r.delivered for r in logged)
    assert [r.usage["promptTokenCount"] for r in logged if r.usage] == [11, 12, 13]
    assert logged[2].generation_config == {"temperature": 0.1}
    assert logged[0].last_user_text == "first"


def test_the_operation_is_gemini_s_long_running_operation(
    gemini_sim: GeminiSimulator, client: genai.Client
) -> None:
    created = client.batches.create(model=LITE, src=[ask("hi", "k")])
    assert created.name is not None
    status, operation = raw(gemini_sim, "GET", f"/v1beta/{created.name}")
    assert status == 200
    meta = operation["metadata"]
    assert (
        meta["@type"]
        == "type.googleapis.com/google.ai.generativelanguage.v1beta.GenerateContentBatch"
    )
    assert (operation["name"], meta["name"], meta["model"]) == (
        created.name,
        created.name,
        f"models/{LITE}",
    )
    assert meta["state"] == "BATCH_STATE_SUCCEEDED" and operation["done"] is True
    assert meta["batchStats"] == {
        "requestCount": "1",
        "successfulRequestCount": "1",
        "failedRequestCount": "0",
        "pendingRequestCount": "0",
    }
    assert operation["response"]["@type"].endswith(".GenerateContentBatchOutput")
    assert operation["response"]["inlinedResponses"] == meta["output"]["inlinedResponses"]
    assert meta["inputConfig"]["requests"]["requests"][0]["metadata"] == {"key": "k"}
    assert {"createTime", "updateTime", "endTime"} <= set(meta)


def test_a_responder_sees_which_job_and_key_an_item_is() -> None:
    def responder(req: SimRequest) -> SimReply:
        return SimReply(f"{req.batch_index}:{req.key}")

    with GeminiSimulator(responder=responder) as sim, make_client(sim) as client:
        created = client.batches.create(model=LITE, src=[ask("x", "left"), ask("y")])
        job = client.batches.get(name=str(created.name))
    assert job.dest is not None and job.dest.inlined_responses is not None
    texts = [a.response.text for a in job.dest.inlined_responses if a.response]
    assert texts == ["0:left", "1:None"]


def test_concurrent_polls_run_each_item_once(
    gemini_sim: GeminiSimulator, client: genai.Client
) -> None:
    created = client.batches.create(model=LITE, src=[ask(str(n), str(n)) for n in range(20)])
    path = f"/v1beta/{created.name}"
    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(lambda _: raw(gemini_sim, "GET", path), range(32)))
    assert {a[1]["metadata"]["state"] for a in answers} == {"BATCH_STATE_SUCCEEDED"}
    outputs = {json.dumps(a[1]["response"], sort_keys=True) for a in answers}
    assert len(outputs) == 1  # every poll saw the same results
    assert [r.key for r in gemini_sim.requests] == [str(n) for n in range(20)]


# -- the clock ---------------------------------------------------------------------------------


def test_states_follow_the_clock_and_items_run_when_the_job_ends(
    gemini_sim: GeminiSimulator, client: genai.Client
) -> None:
    with pytest.raises(ValueError, match="pending_seconds must be >= 0"):
        gemini_sim.batches.pending_seconds = -1
    gemini_sim.batches.pending_seconds = 60
    gemini_sim.batches.running_seconds = 120
    created = client.batches.create(model=LITE, src=[ask("hi", "a"), ask("ho", "b")])
    assert created.name is not None
    name = created.name

    def state() -> types.JobState | None:
        return client.batches.get(name=name).state

    assert state() == types.JobState.JOB_STATE_PENDING
    gemini_sim.batches.advance(60)
    assert state() == types.JobState.JOB_STATE_RUNNING
    gemini_sim.batches.advance(119)
    assert state() == types.JobState.JOB_STATE_RUNNING
    assert gemini_sim.requests == []
    gemini_sim.batches.advance(1)
    assert [r.key for r in gemini_sim.requests] == ["a", "b"]  # advance() settled the job
    job = client.batches.get(name=name)
    assert job.state == types.JobState.JOB_STATE_SUCCEEDED
    assert job.create_time is not None and job.end_time is not None
    assert job.end_time - job.create_time == timedelta(seconds=180)
    (snapshot,) = gemini_sim.batches.jobs
    assert (snapshot.name, snapshot.state, snapshot.keys) == (
        name,
        "BATCH_STATE_SUCCEEDED",
        ("a", "b"),
    )
    assert (snapshot.succeeded, snapshot.failed, snapshot.ended_at) == (2, 0, 180)


def test_a_job_not_done_within_48_hours_expires_and_bills_nothing(
    gemini_sim: GeminiSimulator, client: genai.Client
) -> None:
    gemini_sim.batches.running_seconds = 49 * HOUR
    created = client.batches.create(model=LITE, src=[ask("slow")])
    assert created.name is not None
    gemini_sim.batches.advance(48 * HOUR - 1)
    assert client.batches.get(name=created.name).state == types.JobState.JOB_STATE_RUNNING
    gemini_sim.batches.advance(1)
    job = client.batches.get(name=created.name)
    assert job.state == types.JobState.JOB_STATE_EXPIRED and job.done
    assert job.dest is None
    assert gemini_sim.requests == []
    assert raw(gemini_sim, "GET", f"/v1beta/{created.name}")[1]["metadata"]["batchStats"] == {
        "requestCount": "1"
    }


def test_uploaded_files_expire_after_48_hours(
    gemini_sim: GeminiSimulator, client: genai.Client
) -> None:
    uploaded = upload(client, [line("a", "hi")])
    assert uploaded.name is not None and uploaded.expiration_time is not None
    assert uploaded.create_time is not None
    assert uploaded.expiration_time - uploaded.create_time == timedelta(hours=48)
    gemini_sim.batches.advance(48 * HOUR)
    with pytest.raises(errors.ClientError) as caught:
        client.files.get(name=uploaded.name)
    assert (caught.value.code, caught.value.status) == (403, "PERMISSION_DENIED")
    status, body = raw(
        gemini_sim,
        "POST",
        f"/v1beta/models/{LITE}:batchGenerateContent",
        {"batch": {"inputConfig": {"fileName": uploaded.name}}},
    )
    assert status == 400 and "does not exist" in body["error"]["message"]


# -- scripted outcomes and failures -----------------------------------------------------------


def test_scripted_failed_and_expired_jobs_run_nothing(
    gemini_sim: GeminiSimulator, client: genai.Client
) -> None:
    gemini_sim.batches.end_next("FAILED", message="The batch ran out of quota.")
    gemini_sim.batches.end_next("JOB_STATE_EXPIRED", model=PRO)
    failed = client.batches.create(model=LITE, src=[ask("a")])
    expired = client.batches.create(model=PRO, src=[ask("b")])
    succeeded = client.batches.create(model=LITE, src=[ask("c")])
    states = {
        job.name: job.state
        for job in (client.batches.get(name=str(j.name)) for j in (failed, expired, succeeded))
    }
    assert list(states.values()) == [
        types.JobState.JOB_STATE_FAILED,
        types.JobState.JOB_STATE_EXPIRED,
        types.JobState.JOB_STATE_SUCCEEDED,
    ]
    operation = raw(gemini_sim, "GET", f"/v1beta/{failed.name}")[1]
    assert operation["done"] is True
    assert operation["error"] == {"code": 13, "message": "The batch ran out of quota."}
    assert "output" not in operation["metadata"] and "response" not in operation
    assert [r.batch for r in gemini_sim.requests] == [succeeded.name]
    assert gemini_sim.batches.job(str(failed.name)).error == operation["error"]
    with pytest.raises(ValueError, match="FAILED or EXPIRED"):
        gemini_sim.batches.end_next("SUCCEEDED")


def test_a_failed_item_is_its_own_error_and_is_not_billed(
    gemini_sim: GeminiSimulator, client: genai.Client
) -> None:
    gemini_sim.fail_next(429, model=LITE)  # the existing injection: the job's first item
    gemini_sim.batches.fail_items("c", status=500, message="The shard broke.")
    gemini_sim.script(LITE, SimReply("fine", prompt_tokens=7, output_tokens=1))
    created = client.batches.create(model=LITE, src=[ask("1", "a"), ask("2", "b"), ask("3", "c")])
    job = client.batches.get(name=str(created.name))
    assert job.state == types.JobState.JOB_STATE_SUCCEEDED
    assert job.dest is not None and job.dest.inlined_responses is not None
    first, second, third = job.dest.inlined_responses
    assert first.error is not None and first.response is None
    assert (first.error.code, first.error.message) == (
        8,
        "Resource has been exhausted (e.g. check quota).",
    )
    assert second.response is not None and second.response.text == "fine"
    assert third.error is not None and (third.error.code, third.error.message) == (
        13,
        "The shard broke.",
    )
    logged = items_of(gemini_sim, created.name)
    assert [(r.key, r.status, r.usage is None) for r in logged] == [
        ("a", 429, True),
        ("b", 200, False),
        ("c", 500, True),
    ]
    assert logged[2].error == "The shard broke."
    billed = sum(r.usage["totalTokenCount"] for r in logged if r.usage)
    assert billed == 8
    stats = raw(gemini_sim, "GET", f"/v1beta/{created.name}")[1]["metadata"]["batchStats"]
    assert (stats["successfulRequestCount"], stats["failedRequestCount"]) == ("1", "2")


def test_each_item_is_validated_like_generate_content(
    gemini_sim: GeminiSimulator, client: genai.Client
) -> None:
    foreign = base64.b64decode(make_thought_signature(PRO))  # made by another model
    call = {
        "function_call": {"name": "add", "args": {"a": 1, "b": 2}},
        "thought_signature": foreign,
    }
    answer = {"function_response": {"name": "add", "response": {"r": 3}}}
    contents = [
        {"role": "user", "parts": [{"text": "add 1 and 2"}]},
        {"role": "model", "parts": [call]},
        {"role": "user", "parts": [answer]},
    ]
    replayed = cast(types.InlinedRequestDict, {"contents": contents, "metadata": {"key": "signed"}})
    src = [replayed, ask("nine", "many", candidate_count=9), ask("two", "pair", candidate_count=2)]
    created = client.batches.create(model=LITE, src=src)
    job = client.batches.get(name=str(created.name))
    assert job.state == types.JobState.JOB_STATE_SUCCEEDED
    assert job.dest is not None and job.dest.inlined_responses is not None
    signed, many, pair = job.dest.inlined_responses
    assert signed.error is not None and signed.error.code == 3
    assert "invalid thought signature" in str(signed.error.message)
    assert many.error is not None and "candidate_count" in str(many.error.message)
    assert pair.response is not None and len(pair.response.candidates or []) == 2
    assert [r.status for r in items_of(gemini_sim, created.name)] == [400, 400, 200]


# -- file input -----------------------------------------------------------------------------


def test_file_input_writes_a_jsonl_responses_file(
    gemini_sim: GeminiSimulator, client: genai.Client
) -> None:
    uploaded = upload(
        client,
        [
            line("k1", "first"),
            line("k2", "two candidates", generation_config={"candidate_count": 2}),
            "{not json",
            line("k3", "third", systemInstruction={"parts": [{"text": "Be brief."}]}),
            {"key": "k4", "request": {"contents": "not a list"}},
        ],
        display_name="nightly input",
    )
    assert uploaded.name is not None and uploaded.state == types.FileState.ACTIVE
    assert (uploaded.mime_type, uploaded.source) == ("jsonl", types.FileSource.UPLOADED)
    assert uploaded.display_name == "nightly input"  # sent in snake_case by google-genai
    created = client.batches.create(model=LITE, src=uploaded.name, config={"display_name": "file"})
    job = client.batches.get(name=str(created.name))
    assert job.state == types.JobState.JOB_STATE_SUCCEEDED
    assert job.dest is not None and job.dest.file_name is not None
    assert job.dest.inlined_responses is None
    results = [
        json.loads(row) for row in client.files.download(file=job.dest.file_name).splitlines()
    ]
    assert [r.get("key") for r in results] == ["k1", "k2", None, "k3", "k4"]
    assert len(results[1]["response"]["candidates"]) == 2  # snake_case fields are read
    assert (
        results[2]["error"]["code"] == 3
        and "Line 3 is not valid JSON" in results[2]["error"]["message"]
    )
    assert "usageMetadata" in results[3]["response"]
    assert (
        "Line 5: Invalid JSON payload received. Expected a list" in results[4]["error"]["message"]
    )
    logged = items_of(gemini_sim, created.name)
    assert [(r.key, r.status) for r in logged] == [
        ("k1", 200),
        ("k2", 200),
        (None, 400),
        ("k3", 200),
        ("k4", 400),
    ]
    assert logged[3].system_text == "Be brief."
    result_file = client.files.get(name=job.dest.file_name)
    assert result_file.source == types.FileSource.GENERATED and result_file.download_uri
    snapshot = gemini_sim.batches.job(str(created.name))
    assert (snapshot.input_file, snapshot.responses_file) == (uploaded.name, job.dest.file_name)


def test_file_input_problems_that_sink_the_whole_job(
    gemini_sim: GeminiSimulator, client: genai.Client
) -> None:
    cases: list[tuple[list[Any], str]] = [
        ([line("a", "x"), line("b", "y"), line("a", "z")], "key 'a' is used on lines 1 and 3"),
        (["", "  "], "has no requests"),
    ]
    for lines, message in cases:
        uploaded = upload(client, lines)
        with pytest.raises(errors.ClientError, match=message) as caught:
            client.batches.create(model=LITE, src=str(uploaded.name))
        assert caught.value.code == 400
    assert gemini_sim.batches.jobs == []


def test_files_get_delete_and_download_as_gemini_does(
    gemini_sim: GeminiSimulator, client: genai.Client
) -> None:
    uploaded = upload(client, [line("a", "hi")])
    assert uploaded.name is not None and uploaded.size_bytes == len(json.dumps(line("a", "hi"))) + 1
    assert client.files.get(name=uploaded.name).sha256_hash == uploaded.sha256_hash
    with pytest.raises(errors.ClientError, match="only generated files") as caught:
        client.files.download(file=uploaded.name)
    assert caught.value.code == 400
    assert [f.name for f in client.files.list()] == [uploaded.name]
    client.files.delete(name=uploaded.name)
    for call in (client.files.get, client.files.delete):
        with pytest.raises(errors.ClientError, match="may not exist") as gone:
            call(name=uploaded.name)
        assert gone.value.code == 403
    assert gemini_sim.files.files == []


def test_the_resumable_upload_protocol_is_checked_chunk_by_chunk(
    gemini_sim: GeminiSimulator,
) -> None:
    start = urllib.request.Request(
        gemini_sim.base_url + "/upload/v1beta/files",
        data=json.dumps({"file": {"displayName": "two chunks"}}).encode(),
        method="POST",
        headers={
            "X-Goog-Upload-Protocol": "resumable",
            "X-Goog-Upload-Command": "start",
            "X-Goog-Upload-Header-Content-Length": "6",
            "X-Goog-Upload-Header-Content-Type": "text/plain",
        },
    )
    with urllib.request.urlopen(start, timeout=10) as answer:
        url = answer.headers["X-Goog-Upload-URL"]
        assert answer.headers["X-Goog-Upload-Status"] == "active"
    path = url.removeprefix(gemini_sim.base_url)

    def chunk(data: bytes, offset: int, command: str) -> tuple[int, dict[str, Any]]:
        headers = {"X-Goog-Upload-Command": command, "X-Goog-Upload-Offset": str(offset)}
        return raw(gemini_sim, "POST", path, data, **headers)

    assert chunk(b"abc", 0, "upload") == (200, {})
    status, body = chunk(b"def", 1, "upload, finalize")
    assert status == 400 and "does not match the 3 bytes" in body["error"]["message"]
    status, body = chunk(b"def", 3, "upload, finalize")
    assert status == 200
    assert (body["file"]["displayName"], body["file"]["sizeBytes"]) == ("two chunks", "6")
    assert gemini_sim.files.content(body["file"]["name"]) == b"abcdef"
    assert chunk(b"", 6, "upload, finalize")[0] == 404  # the session is closed


# -- cancel, list, delete ---------------------------------------------------------------------


def test_cancel_stops_a_job_before_anything_runs(
    gemini_sim: GeminiSimulator, client: genai.Client
) -> None:
    gemini_sim.batches.pending_seconds = HOUR
    created = client.batches.create(model=LITE, src=[ask("never")])
    name = str(created.name)
    client.batches.cancel(name=name)
    gemini_sim.batches.advance(2 * HOUR)
    job = client.batches.get(name=name)
    assert job.state == types.JobState.JOB_STATE_CANCELLED and job.done and job.dest is None
    assert gemini_sim.requests == []
    with pytest.raises(errors.ClientError, match="cannot be cancelled") as caught:
        client.batches.cancel(name=name)
    assert (caught.value.code, caught.value.status) == (400, "FAILED_PRECONDITION")


def test_list_pages_newest_first(gemini_sim: GeminiSimulator, client: genai.Client) -> None:
    names = [str(client.batches.create(model=LITE, src=[ask(str(n))]).name) for n in range(5)]
    pager = client.batches.list(config={"page_size": 2})
    assert [job.name for job in pager.page] == names[:2:-1][:2] == [names[4], names[3]]
    assert [job.name for job in pager] == names[::-1]
    status, first = raw(gemini_sim, "GET", "/v1beta/batches?pageSize=2")
    assert status == 200 and len(first["operations"]) == 2 and first["nextPageToken"]
    status, last = raw(
        gemini_sim, "GET", "/v1beta/batches?pageSize=4&pageToken=" + first["nextPageToken"]
    )
    assert [op["name"] for op in last["operations"]] == names[2::-1] and "nextPageToken" not in last
    status, body = raw(gemini_sim, "GET", "/v1beta/batches?pageToken=garbage")
    assert (status, body["error"]["message"]) == (400, "Invalid page token.")


def test_delete_removes_the_job(gemini_sim: GeminiSimulator, client: genai.Client) -> None:
    created = client.batches.create(model=LITE, src=[ask("x")])
    name = str(created.name)
    client.batches.delete(name=name)
    for call in (client.batches.get, client.batches.delete):
        with pytest.raises(errors.ClientError, match="not found") as caught:
            call(name=name)
        assert (caught.value.code, caught.value.status) == (404, "NOT_FOUND")
    assert gemini_sim.batches.jobs == []
    assert [r.batch for r in gemini_sim.requests] == [name]  # it was done, so it ran first


def test_reset_forgets_jobs_files_and_the_clock(
    gemini_sim: GeminiSimulator, client: genai.Client
) -> None:
    upload(client, [line("a", "b")])
    client.batches.create(model=LITE, src=[ask("x")])
    gemini_sim.batches.pending_seconds = 5
    gemini_sim.batches.advance(10)
    gemini_sim.reset()
    assert (gemini_sim.batches.jobs, gemini_sim.files.files, gemini_sim.requests) == ([], [], [])
    assert (gemini_sim.batches.now, gemini_sim.batches.pending_seconds) == (0, 0)


# -- versions and bad bodies ------------------------------------------------------------------


def test_the_batch_and_files_apis_are_v1beta_only(gemini_sim: GeminiSimulator) -> None:
    with make_client(gemini_sim, "v1") as v1, pytest.raises(errors.ClientError) as caught:
        v1.batches.create(model=LITE, src=[ask("x")])
    assert (caught.value.code, caught.value.status) == (404, "NOT_FOUND")
    assert (
        f"models/{LITE} is not found for API version v1, or is not supported for "
        "batchGenerateContent" in str(caught.value.message)
    )
    for version in ("v1", "v1alpha"):
        for method, path in [
            ("GET", f"/{version}/batches"),
            ("GET", f"/{version}/batches/abc"),
            ("GET", f"/{version}/files/abc"),
            ("POST", f"/upload/{version}/files"),
        ]:
            status, body = raw(gemini_sim, method, path, b"{}")
            assert (status, body["error"]["status"]) == (404, "NOT_FOUND"), path
    assert gemini_sim.batches.jobs == []


def test_bad_create_bodies_are_400_with_the_reason(gemini_sim: GeminiSimulator) -> None:
    cases: list[tuple[Any, str]] = [
        (b"{not json", "Invalid JSON payload received."),
        ({"batch": {"displayName": "x"}}, "batch.input_config: is required"),
        (
            {"batch": {"inputConfig": {"fileName": "files/abc", "requests": {"requests": []}}}},
            "exactly one of requests and file_name must be set, got both",
        ),
        ({"batch": {"inputConfig": {}}}, "got neither"),
        ({"batch": {"inputConfig": {"fileName": "files/nope"}}}, "files/nope does not exist"),
        ({"batch": {"inputConfig": {"requests": {"requests": []}}}}, "at least one request"),
        ({"batch": {"colour": "red"}}, "Unknown name \"colour\" at 'batch'"),
        (create_body([{"request": {}, "extra": 1}]), 'Unknown name "extra"'),
        (create_body([{"metadata": {"key": "a"}}]), "requests[0].request: is required"),
        (create_body([{"request": "hi"}]), "Expected an object"),
        (
            create_body([{"request": {"contents": "hi"}}]),
            "Expected a list at 'batch.input_config.requests.requests[0].request.contents'",
        ),
    ]
    for body, message in cases:
        path = f"/v1beta/models/{LITE}:batchGenerateContent"
        status, answer = raw(gemini_sim, "POST", path, body)
        assert (status, answer["error"]["status"]) == (400, "INVALID_ARGUMENT"), body
        assert message in answer["error"]["message"], body
    assert gemini_sim.batches.jobs == []


def test_snake_case_create_bodies_are_accepted(gemini_sim: GeminiSimulator) -> None:
    body = {
        "batch": {
            "display_name": "snake",
            "input_config": {
                "requests": {"requests": [{"request": {"contents": [{"parts": [{"text": "hi"}]}]}}]}
            },
        }
    }
    status, operation = raw(gemini_sim, "POST", f"/v1beta/models/{LITE}:batchGenerateContent", body)
    assert status == 200 and operation["metadata"]["displayName"] == "snake"


def test_more_than_50000_inline_requests_are_refused(gemini_sim: GeminiSimulator) -> None:
    item = {"request": {"contents": [{"parts": [{"text": "x"}]}]}}
    status, answer = raw(
        gemini_sim,
        "POST",
        f"/v1beta/models/{LITE}:batchGenerateContent",
        create_body([item] * 50_001),
    )
    assert status == 400
    assert "at most 50000 requests are allowed in a batch, got 50001" in answer["error"]["message"]


def test_the_inline_body_limit_is_20_mb_to_the_byte(gemini_sim: GeminiSimulator) -> None:
    def body_of(size: int) -> bytes:
        template = json.dumps(
            create_body([{"request": {"contents": [{"parts": [{"text": "@"}]}]}}])
        )
        filler = "a" * (size - len(template) + 1)
        data = template.replace("@", filler).encode()
        assert len(data) == size
        return data

    path = f"/v1beta/models/{LITE}:batchGenerateContent"
    status, answer = raw(gemini_sim, "POST", path, body_of(LIMIT + 1))
    assert status == 400
    assert answer["error"]["message"] == "Request payload size exceeds the limit: 20971520 bytes."
    status, _ = raw(gemini_sim, "POST", path, body_of(LIMIT))
    assert status == 200
    assert len(gemini_sim.batches.jobs) == 1


# -- the async client -------------------------------------------------------------------------


async def test_async_client_round_trip(gemini_sim: GeminiSimulator) -> None:
    gemini_sim.batches.running_seconds = 10
    with make_client(gemini_sim) as client:
        async with client.aio as aio:
            data = (json.dumps(line("only", "async hello")) + "\n").encode()
            uploaded = await aio.files.upload(file=io.BytesIO(data), config={"mime_type": "jsonl"})
            from_file = await aio.batches.create(model=LITE, src=str(uploaded.name))
            inline = await aio.batches.create(model=LITE, src=[ask("x", "i")])
            await aio.batches.cancel(name=str(inline.name))
            gemini_sim.batches.advance(10)
            job = await aio.batches.get(name=str(from_file.name))
            assert job.state == types.JobState.JOB_STATE_SUCCEEDED
            assert job.dest is not None and job.dest.file_name is not None
            (result,) = [
                json.loads(row)
                for row in (await aio.files.download(file=job.dest.file_name)).splitlines()
            ]
            assert result["key"] == "only" and "async hello" in json.dumps(result["response"])
            listed = [j.name async for j in await aio.batches.list(config={"page_size": 1})]
            assert listed == [inline.name, from_file.name]
            cancelled = await aio.batches.get(name=str(inline.name))
            assert cancelled.state == types.JobState.JOB_STATE_CANCELLED
            await aio.batches.delete(name=str(inline.name))
    assert [(r.key, r.status) for r in gemini_sim.requests] == [("only", 200)]
