"""Gemini API versions: which version each lane calls, the simulator's two surfaces, and the
commands that show a lane failing on the wrong one (doctor, route, demo).

google-genai 3.x calls ``v1`` by default, where Gemini does not serve preview models; the
router pins ``v1beta`` on the lanes it builds. Each client here names its version
explicitly, so the tests mean the same on google-genai 2.x (CI's oldest step) and 3.x.
"""

from __future__ import annotations

import warnings
from decimal import Decimal
from importlib import metadata
from pathlib import Path

import pytest
from langchain_google_genai import ChatGoogleGenerativeAI
from langchain_google_genai.chat_models import ChatGoogleGenerativeAIError

from lc_gemini_router import GeminiRouter, LaneError, RouterConfig, get_gemini_cost_callback
from lc_gemini_router.api_versions import (
    API_VERSION_ENV,
    ApiVersion,
    effective_api_version,
    lane_api_version,
    normalize_api_version,
    sdk_default_api_version,
    served_on,
)
from lc_gemini_router.errors import ApiVersionWarning, UnknownPriceWarning
from lc_gemini_router.testing.simulator import GeminiSimulator
from tests.cli_kit import PREFIX, error_line, run
from tests.routing_kit import LITE, PRO, PRO_TOOLS, Backend, is_classifier, live_router

UNKNOWN = "gemini-9-nova"


def client(sim: GeminiSimulator, model: str, api_version: str | None) -> ChatGoogleGenerativeAI:
    return ChatGoogleGenerativeAI(
        model=model,
        google_api_key="test",
        base_url=sim.base_url,
        max_retries=1,
        api_version=api_version,
    )


# -- choosing a version ----------------------------------------------------------------------


def test_built_lanes_default_to_v1beta_and_the_user_wins() -> None:
    assert lane_api_version(None, environ={}) == ApiVersion("v1beta", "router default")
    assert lane_api_version("v1", environ={API_VERSION_ENV: "v1beta"}) == ApiVersion(
        "v1", "api_version="
    )
    assert lane_api_version(None, environ={API_VERSION_ENV: "beta"}) == ApiVersion(
        "v1beta", API_VERSION_ENV
    )
    assert lane_api_version(None, environ={API_VERSION_ENV: " v1 "}).version == "v1"
    assert lane_api_version(None, environ={API_VERSION_ENV: ""}).source == "router default"
    with pytest.raises(ValueError, match="must not be empty"):
        normalize_api_version("  ")


@pytest.mark.parametrize(
    ("model", "on_v1"),
    [
        ("gemini-3.1-flash-lite", True),
        ("models/gemini-3.5-flash", True),
        ("gemini-3.1-pro-preview", False),
        ("gemini-3.1-pro-preview-customtools", False),
        ("gemini-2.5-flash-preview-05-20", False),
        ("gemini-flash-latest", False),
        ("gemini-2.0-flash-exp", False),
    ],
)
def test_what_v1_serves(model: str, on_v1: bool) -> None:
    assert served_on(model, "v1") is on_v1
    assert served_on(model, "v1beta") and served_on(model, "v1alpha")


def test_sdk_default_follows_the_installed_major() -> None:
    installed = metadata.version("google-genai")
    expected = "v1" if int(installed.split(".")[0]) >= 3 else "v1beta"
    assert sdk_default_api_version() == ApiVersion(
        expected, f"SDK default (google-genai {installed})"
    )


def test_effective_version_of_a_ready_client(monkeypatch: pytest.MonkeyPatch) -> None:
    mine = ChatGoogleGenerativeAI(model=PRO, google_api_key="t")
    assert effective_api_version(mine, environ={}) == sdk_default_api_version()
    assert effective_api_version(mine, environ={API_VERSION_ENV: "beta"}) == ApiVersion(
        "v1beta", API_VERSION_ENV
    )
    pinned = ChatGoogleGenerativeAI(model=PRO, google_api_key="t", api_version="v1beta")
    assert effective_api_version(pinned, environ={API_VERSION_ENV: "v1"}) == ApiVersion(
        "v1beta", "api_version="
    )
    assert effective_api_version(object()) is None


# -- the simulator's surfaces ------------------------------------------------------------------


@pytest.mark.parametrize("version", ["v1", "v1beta", "v1alpha"])
def test_flash_lite_answers_on_every_version(sim: GeminiSimulator, version: str) -> None:
    reply = client(sim, LITE, version).invoke("hello")
    assert reply.text == f"{LITE} answers"
    assert [(r.api_version, r.status) for r in sim.requests] == [(version, 200)]


@pytest.mark.parametrize("model", [PRO, PRO_TOOLS, "gemini-flash-latest"])
@pytest.mark.parametrize("stream", [False, True])
def test_v1_answers_404_for_preview_models_and_aliases(
    sim: GeminiSimulator, model: str, stream: bool
) -> None:
    llm = client(sim, model, "v1")
    with pytest.raises(ChatGoogleGenerativeAIError, match="NOT_FOUND") as caught:
        list(llm.stream("hello")) if stream else llm.invoke("hello")
    method = "streamGenerateContent" if stream else "generateContent"
    message = (
        f"models/{model} is not found for API version v1, or is not supported for {method}. "
        "Call ListModels to see the list of available models and their supported methods."
    )
    assert message in str(caught.value)
    assert [(r.api_version, r.status, r.error) for r in sim.requests] == [("v1", 404, message)]


@pytest.mark.parametrize("version", ["v1", "v1beta"])
@pytest.mark.parametrize("stream", [False, True])
def test_a_model_outside_the_served_set_is_404_on_every_version(version: str, stream: bool) -> None:
    with GeminiSimulator(models=[LITE]) as sim:
        assert LITE in client(sim, LITE, version).invoke("hello").text
        llm = client(sim, UNKNOWN, version)
        with pytest.raises(ChatGoogleGenerativeAIError, match="NOT_FOUND") as caught:
            list(llm.stream("hello")) if stream else llm.invoke("hello")
        assert f"models/{UNKNOWN} is not found for API version {version}" in str(caught.value)
        assert [r.status for r in sim.requests] == [200, 404]
        sim.serve(UNKNOWN)  # a model released since
        assert UNKNOWN in client(sim, UNKNOWN, version).invoke("hello").text
        assert sim.serves(UNKNOWN) and not sim.serves(PRO)
    assert GeminiSimulator().serves(UNKNOWN)  # by default every ID is served


def test_a_lane_gemini_does_not_serve_falls_back_and_says_why() -> None:
    config = RouterConfig(pro_model=UNKNOWN, text_rules=False)
    with GeminiSimulator(models=[LITE, PRO], responder=Backend()) as sim:
        with pytest.warns(UnknownPriceWarning, match=UNKNOWN):  # before any call
            router = live_router(sim, config=config)
        with get_gemini_cost_callback() as cb:
            answer = router.invoke("Solve riddle 1: what has keys but no locks?")
    decision = answer.response_metadata["lc_gemini_router"]["decision"]
    assert (decision["lane"], decision["source"], decision["fallback_from"]) == (
        "lite",
        "fallback",
        "pro",
    )
    assert f"models/{UNKNOWN} is not found" in decision["reasons"][-1]
    assert [(r.model, r.status) for r in sim.requests] == [(LITE, 200), (UNKNOWN, 404), (LITE, 200)]
    # The classifier (150 in, 12 out) and the lite answer (500 in, 100 out) at $0.25 / $1.50
    # per 1M; the 404 billed nothing.
    assert cb.total_cost == Decimal("0.0000555") + Decimal("0.000275")


@pytest.mark.parametrize("version", ["v1beta", "v1alpha"])
def test_preview_models_answer_on_the_beta_surfaces(sim: GeminiSimulator, version: str) -> None:
    assert client(sim, PRO, version).invoke("hello").text == f"{PRO} answers"


def test_an_unknown_version_is_a_404(sim: GeminiSimulator) -> None:
    with pytest.raises(ChatGoogleGenerativeAIError, match="Path /v2/models/"):
        client(sim, LITE, "v2").invoke("hello")


# -- the router's lanes --------------------------------------------------------------------------


def test_router_from_plain_ids_answers_every_lane_on_its_own_lane(
    sim: GeminiSimulator, backend: Backend
) -> None:
    """On google-genai 3.x the SDK would call v1 (404 for Pro); every lane answers itself."""
    backend.tool_rounds = 0
    config = RouterConfig(fallback_on_error=False, tool_heavy_min_tools=3)
    router = live_router(sim, config=config)
    tools = [
        {"type": "function", "function": {"name": f"t{i}", "parameters": {}}} for i in range(3)
    ]
    with get_gemini_cost_callback() as cb:
        easy = router.invoke("what is the capital of Peru?")
        hard = router.invoke("solve the riddle of the sphinx")
        agent = router.bind_tools(tools).invoke("plan the migration")
    answered = [m.response_metadata["lc_gemini_router"]["decision"] for m in (easy, hard, agent)]
    assert [(d["lane"], d["model"], d["fallback_from"]) for d in answered] == [
        ("lite", LITE, None),
        ("pro", PRO, None),
        ("pro_tools", PRO_TOOLS, None),
    ]
    assert {r.api_version for r in sim.requests} == {"v1beta"}
    assert all(r.status == 200 for r in sim.requests)
    assert cb.by_role["classifier"].calls == 2  # the third call was decided by the tools rule
    for lane in ("classifier", "lite", "pro", "pro_tools"):
        assert router.lane_api_version(lane) == ApiVersion("v1beta", "router default")
    pro = router.lane_model("pro")
    assert isinstance(pro, ChatGoogleGenerativeAI)
    assert pro.api_version == "v1beta"


def test_a_router_pinned_to_v1_loses_its_pro_lanes(sim: GeminiSimulator) -> None:
    """The regression the simulator catches: v1 for a preview lane is a 404, then a fallback."""
    with pytest.warns(ApiVersionWarning) as caught:
        router = live_router(sim, api_version="v1")
    assert {str(w.message).split(" will")[0] for w in caught} == {"lane 'pro'", "lane 'pro_tools'"}
    reply = router.invoke("solve the riddle of the sphinx")
    decision = reply.response_metadata["lc_gemini_router"]["decision"]
    assert (decision["lane"], decision["fallback_from"]) == ("lite", "pro")
    assert "is not found for API version v1" in decision["reasons"][-1]
    lanes = [(r.model, r.status) for r in sim.requests if not is_classifier(r)]
    assert lanes == [(PRO, 404), (LITE, 200)]


def test_the_environment_variable_sets_the_built_lanes(
    sim: GeminiSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(API_VERSION_ENV, "v1alpha")
    router = live_router(sim)
    router.invoke("what is the capital of Peru?")
    assert {r.api_version for r in sim.requests} == {"v1alpha"}
    assert router.lane_api_version("lite") == ApiVersion("v1alpha", API_VERSION_ENV)


def test_a_ready_lane_on_v1_warns_and_is_left_alone(sim: GeminiSimulator) -> None:
    mine = client(sim, PRO, "v1")
    with pytest.warns(ApiVersionWarning) as caught:
        router = live_router(sim, pro=mine)
    (warning,) = caught
    text = str(warning.message)
    assert text.startswith("ready lane 'pro' will fail: model 'gemini-3.1-pro-preview'")
    assert "pass api_version='v1beta'" in text and f"{API_VERSION_ENV}=v1beta" in text
    assert router.lane_model("pro") is mine and mine.api_version == "v1"


def test_a_ready_lane_on_v1beta_or_vertex_is_quiet(sim: GeminiSimulator) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", ApiVersionWarning)
        live_router(sim, pro=client(sim, PRO, "v1beta"))
        vertex = ChatGoogleGenerativeAI(model=PRO, vertexai=True, project="p", api_key="k")
        router = GeminiRouter(api_key="k", pro=vertex)
    assert router.lane_api_version("pro") is None


def test_when_every_lane_fails_the_error_names_each(sim: GeminiSimulator) -> None:
    router = live_router(sim)
    sim.fail_next(503, model=PRO)
    sim.fail_next(500, model=LITE)
    with get_gemini_cost_callback() as cb, pytest.raises(LaneError) as caught:
        router.invoke("Prove that the square root of 2 is irrational")  # a rule: no classifier
    error = caught.value
    assert [(f.lane, f.model) for f in error.failures] == [("pro", PRO), ("lite", LITE)]
    assert str(error).startswith("every lane tried failed (2): lane 'pro' (gemini-3.1-pro-preview)")
    assert "then lane 'lite' (gemini-3.1-flash-lite) failed" in str(error)
    assert (error.lane, error.model) == ("lite", LITE)
    assert error.__cause__ is error.failures[-1].error
    assert "503 UNAVAILABLE" in str(error.failures[0].error)
    assert cb.calls == 0  # both failed requests were refused before any billing


# -- the commands ----------------------------------------------------------------------------------


def table_rows(out: str, cells: int) -> dict[str, list[str]]:
    lines = [line.split("│") for line in out.splitlines() if line.count("│") == cells + 1]
    return {row[1].strip(): [c.strip() for c in row[2:-1]] for row in lines}


@pytest.mark.usefixtures("offline_cli")
def test_doctor_checks_every_lane(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "doctor")
    assert code == 0, err
    assert out.startswith("SIMULATED")
    rows = table_rows(out, 10)
    assert list(rows) == ["classifier", "lite", "pro", "pro_tools"]
    assert rows["pro"][:4] == [PRO, "v1beta", "router default", "preview"]
    assert rows["lite"][3] == "ga" and rows["pro"][-1] == "ok"
    versions = table_rows(out, 2)
    assert versions["google-genai"] == [metadata.version("google-genai")]
    assert versions["langchain-google-genai"] == [metadata.version("langchain-google-genai")]
    assert "Every lane answered; the checks cost $0." in out


@pytest.mark.usefixtures("offline_cli")
def test_doctor_names_the_lanes_that_fail(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(API_VERSION_ENV, "v1")
    code, out, err = run(capsys, "doctor")
    assert code == 1
    rows = table_rows(out, 10)
    assert [rows[lane][-1] for lane in ("classifier", "lite", "pro", "pro_tools")] == [
        "ok",
        "ok",
        "FAILED",
        "FAILED",
    ]
    error = error_line(err)
    assert error.startswith(f"{PREFIX}2 of 4 lanes failed: lane 'pro' ({PRO} on v1): ")
    assert f"lane 'pro_tools' ({PRO_TOOLS} on v1)" in error


@pytest.mark.usefixtures("offline_cli")
def test_route_answer_shows_a_lane_that_fell_back(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(API_VERSION_ENV, "v1")
    code, out, err = run(capsys, "route", "--answer", "Prove that sqrt(2) is irrational")
    assert code == 1
    rows = {k: v[0] for k, v in table_rows(out, 2).items()}
    assert (rows["lane"], rows["model"], rows["fell back from"]) == ("lite", LITE, "pro")
    assert "GoogleModelNotFoundError" in rows["reasons"]
    error = error_line(err)
    assert error.startswith(f"{PREFIX}lane pro failed: GoogleModelNotFoundError")
    assert error.endswith("(answered on lane 'lite' instead)")


@pytest.mark.usefixtures("offline_cli")
def test_route_answer_on_a_working_backend(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "route", "--answer", "Prove that sqrt(2) is irrational")
    assert code == 0, err
    rows = {k: v[0] for k, v in table_rows(out, 2).items()}
    assert (rows["lane"], rows["fell back from"]) == ("pro", "-")
    assert rows["answer"].startswith(f"[simulated {PRO}]")
    assert rows["answer cost"].startswith("$0.0")


@pytest.mark.usefixtures("offline_cli")
def test_route_exits_1_when_the_classifier_fails(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(API_VERSION_ENV, "v2")  # the simulator serves no such version
    code, out, err = run(capsys, "route", "Hi! Can you suggest a name for a grey cat?")
    assert code == 1
    rows = {k: v[0] for k, v in table_rows(out, 2).items()}
    assert rows["source"] == "fallback"
    error = error_line(err)
    assert error.startswith(f"{PREFIX}the classifier failed: ")
    assert "Path /v2/models/gemini-3.1-flash-lite:generateContent was not found" in error


@pytest.mark.usefixtures("offline_cli")
def test_demo_exits_1_when_both_pro_lanes_fail(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(API_VERSION_ENV, "v1")
    code, _, err = run(capsys, "demo")
    assert code == 1
    error = error_line(err)
    assert error.startswith(f"{PREFIX}every lane tried failed (2): lane 'pro_tools' ({PRO_TOOLS})")
    assert f"then lane 'pro' ({PRO}) failed: GoogleModelNotFoundError" in error


@pytest.mark.usefixtures("offline_cli")
def test_demo_exits_1_when_answers_came_from_fallback_lanes(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(API_VERSION_ENV, "v1")
    config = tmp_path / "router.toml"
    config.write_text('[error_fallbacks]\npro = "lite"\npro_tools = "lite"\n', encoding="utf-8")
    code, out, err = run(capsys, "demo", "--config", str(config))
    assert code == 1
    assert "Totals" in out  # the tables are still printed
    error = error_line(err)
    assert " requests were not answered as routed; first, " in error
    assert "lane pro failed: GoogleModelNotFoundError" in error
    assert error.endswith("(answered on lane 'lite' instead)")
