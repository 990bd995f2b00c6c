"""The README stays true: its Python snippets run, its option table matches RouterConfig.

Snippets run as a user would write them, with no test hooks: ``GOOGLE_API_KEY`` is a
dummy and ``GOOGLE_GEMINI_BASE_URL`` (read by the google-genai SDK) points every client
at the loopback Gemini simulator.
"""

from __future__ import annotations

import json
import re
import shlex
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from lc_gemini_router import ClassifierSettings, RouterConfig
from lc_gemini_router.testing.simulator import GeminiSimulator
from tests.routing_kit import Backend, is_classifier

README = Path(__file__).resolve().parents[1] / "README.md"


def python_snippets() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)


def test_readme_snippets_run_against_the_simulator(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    redis_url: str,
) -> None:
    snippets = python_snippets()
    assert len(snippets) >= 8
    with GeminiSimulator(responder=Backend()) as sim:
        monkeypatch.setenv("GOOGLE_API_KEY", "test")
        monkeypatch.delenv("GEMINI_API_KEY", raising=False)
        monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", sim.base_url)
        monkeypatch.setenv("REDIS_URL", redis_url)  # the budgets snippet's shared store
        monkeypatch.chdir(tmp_path)
        namespace: dict[str, Any] = {"__name__": "readme"}
        for index, snippet in enumerate(snippets):
            try:
                exec(compile(snippet, f"README.md snippet {index + 1}", "exec"), namespace)
            except Exception as exc:  # name the snippet that broke
                pytest.fail(f"README snippet {index + 1} failed: {exc!r}\n{snippet}")
        requests = sim.requests
    assert all(r.status == 200 for r in requests)
    # The chain snippet routed a translation to lite and a proof to Pro.
    lanes = [r.model for r in requests if not is_classifier(r)]
    assert lanes[:2] == ["gemini-3.1-flash-lite", "gemini-3.1-pro-preview"]
    # The last `cb` is the price-override snippet's: its handler prices with that catalog
    # and, with only `pass` inside, saw no call.
    assert namespace["cb"].catalog is namespace["catalog"]
    assert namespace["cb"].calls == 0
    assert namespace["cost"].total == Decimal("0.000275")
    log = (tmp_path / "costs.jsonl").read_text().splitlines()
    assert len(log) == 1 and json.loads(log[0])["model"] == "gemini-3.1-flash-lite"
    out = capsys.readouterr().out
    assert "0.000275" in out
    assert "global-day 0.01 0.024678" in out  # the refused call, with nothing sent


def cli_lines() -> list[str]:
    blocks = re.findall(r"```bash\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    lines = [line.split("  #")[0].strip() for block in blocks for line in block.splitlines()]
    return [line for line in lines if line.startswith("lc-gemini-router ")]


def test_readme_cli_examples_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from lc_gemini_router.tools.cli import main

    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "prompts.jsonl").write_text(
        '"Translate \'good morning\' into French"\n{"id": "q2", "input": "Prove it"}\n'
    )
    lines = cli_lines()
    assert len(lines) == 13
    for line in lines:
        assert main(shlex.split(line)[1:]) == 0, line
    out = capsys.readouterr().out
    assert "SIMULATED" in out
    assert "$0.802" in out  # the long-prompt Pro example, priced at the > 200k rates
    assert "$0.0336" in out  # one 1K image in batch
    assert (tmp_path / "router.toml").is_file()
    assert (tmp_path / "report" / "report.html").is_file()
    assert (tmp_path / "curve.png").read_bytes().startswith(b"\x89PNG")  # the bundled data
    assert "Every lane answered" in out  # doctor
    answers = (tmp_path / "answers.jsonl").read_text().splitlines()  # batch submit
    assert [json.loads(line)["id"] for line in answers] == [None, "q2"]


def _render(value: Any) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, frozenset | set):
        return "{}" if not value else "{" + ", ".join(sorted(f'"{v}"' for v in value)) + "}"
    if isinstance(value, dict):
        return json.dumps(value, separators=(", ", ": "))
    return str(value)


def readme_options() -> dict[str, str]:
    rows = re.findall(r"^\| `([a-z_.]+)` \| `([^`]*)` \|", README.read_text(), re.M)
    return dict(rows)


def test_option_table_lists_every_setting_with_its_default() -> None:
    expected = {
        name: _render(field.get_default(call_default_factory=True))
        for name, field in RouterConfig.model_fields.items()
        if name != "classifier"
    }
    expected |= {
        f"classifier.{name}": _render(field.get_default(call_default_factory=True))
        for name, field in ClassifierSettings.model_fields.items()
    }
    assert readme_options() == expected
