"""Hostile config files and environments: a ConfigError that says what is wrong, never a raw error.

A misspelt table name must not silently give the defaults; a file that is not UTF-8
names the file; environment variables that cannot combine name the variables.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from lc_gemini_router import ConfigError, RouterConfig
from tests.cli_kit import one_line_error, run

PYPROJECT = """\
[project]
name = "my-app"

[tool.ruff]
line-length = 100

[tool.{table}]
escalation_threshold = 0.7
"""


def pyproject(tmp_path: Path, table: str) -> Path:
    path = tmp_path / "pyproject.toml"
    path.write_text(PYPROJECT.format(table=table), encoding="utf-8")
    return path


def test_the_table_is_read_from_a_pyproject(tmp_path: Path) -> None:
    path = pyproject(tmp_path, "lc_gemini_router")
    config = RouterConfig.from_toml(path, table="tool.lc_gemini_router")
    assert config.escalation_threshold == 0.7


def test_a_misspelt_table_names_the_tables_found_and_the_one_expected(tmp_path: Path) -> None:
    path = pyproject(tmp_path, "lc_gemini_routr")
    with pytest.raises(ConfigError) as info:
        RouterConfig.from_toml(path, table="tool.lc_gemini_router")
    assert str(info.value) == (
        f"router config {path} has no [tool.lc_gemini_router] table (tables found in "
        "[tool]: [tool.lc_gemini_routr], [tool.ruff]); did you mean [tool.lc_gemini_routr]?"
    )


def test_a_missing_parent_table_names_the_top_level_tables(tmp_path: Path) -> None:
    path = tmp_path / "pyproject.toml"
    path.write_text('[project]\nname = "my-app"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"has no \[tool\.lc_gemini_router\] table "):
        RouterConfig.from_toml(path, table="tool.lc_gemini_router")
    with pytest.raises(ConfigError, match=r"\(tables found: \[project\]\)$"):
        RouterConfig.from_toml(path, table="tool.lc_gemini_router")


def test_a_table_that_is_a_value_is_named(tmp_path: Path) -> None:
    path = tmp_path / "pyproject.toml"
    path.write_text("[tool]\nlc_gemini_router = 5\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"\[tool\.lc_gemini_router\] is not a table but int"):
        RouterConfig.from_toml(path, table="tool.lc_gemini_router")


def test_a_non_utf8_file_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "router.toml"
    path.write_bytes("escalation_threshold = 0.7  # café\n".encode("latin-1"))
    with pytest.raises(ConfigError, match=f"router config {path} is not UTF-8 text"):
        RouterConfig.from_toml(path)


@pytest.mark.usefixtures("offline_cli")
@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        (
            "pyproject.toml",
            PYPROJECT.format(table="lc_gemini_routr").encode(),
            "has no [tool.lc_gemini_router] table (tables found in [tool]: "
            "[tool.lc_gemini_routr], [tool.ruff]); did you mean [tool.lc_gemini_routr]?",
        ),
        ("router.toml", b"escalation_threshold = 0.7 # caf\xe9\n", "is not UTF-8 text"),
    ],
)
@pytest.mark.parametrize("command", ["route", "doctor", "calibrate"])
def test_the_cli_reports_a_bad_config_file_on_one_line(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    name: str,
    content: bytes,
    message: str,
    command: str,
) -> None:
    config = tmp_path / name
    config.write_bytes(content)
    sample = tmp_path / "sample.jsonl"
    sample.write_text('{"prompt": "hi", "score": 0.5}\n', encoding="utf-8")
    arguments = {
        "route": ["route", "Hello there", "--simulated"],
        "doctor": ["doctor", "--simulated"],
        "calibrate": [
            "calibrate",
            str(sample),
            "--target-pro-share",
            "0.2",
            "--out",
            str(tmp_path / "out.toml"),
        ],
    }[command]

    code, out, err = run(capsys, *arguments, "--config", str(config))

    assert (code, out) == (2, "")  # before any backend starts, and nothing written
    assert not (tmp_path / "out.toml").exists()
    line = one_line_error(err)
    assert line.startswith(f"router config {config} ")
    assert message in line


@pytest.mark.parametrize(
    "environ",
    [
        # The order of the variables must not matter: both orders are rejected alike.
        {"LC_GEMINI_ROUTER_CLASSIFIER": "5", "LC_GEMINI_ROUTER_CLASSIFIER__MODEL": "m"},
        {"LC_GEMINI_ROUTER_CLASSIFIER__MODEL": "m", "LC_GEMINI_ROUTER_CLASSIFIER": "5"},
        {"LC_GEMINI_ROUTER_CLASSIFIER": "[1]", "LC_GEMINI_ROUTER_CLASSIFIER__MODEL": "m"},
        {"LC_GEMINI_ROUTER_CLASSIFIER": '"off"', "LC_GEMINI_ROUTER_CLASSIFIER__MODEL": "m"},
    ],
)
def test_env_variables_that_cannot_combine_name_both(environ: dict[str, str]) -> None:
    with pytest.raises(ConfigError) as info:
        RouterConfig.from_env(environ)
    message = str(info.value)
    assert message.startswith("environment variable LC_GEMINI_ROUTER_CLASSIFIER__MODEL ")
    assert "but LC_GEMINI_ROUTER_CLASSIFIER sets the whole of it" in message


@pytest.mark.parametrize(
    "environ",
    [
        {
            "LC_GEMINI_ROUTER_CLASSIFIER": '{"model": "gemini-3.5-flash", "enabled": false}',
            "LC_GEMINI_ROUTER_CLASSIFIER__DEADLINE_SECONDS": "1.5",
        },
        {
            "LC_GEMINI_ROUTER_CLASSIFIER__DEADLINE_SECONDS": "1.5",
            "LC_GEMINI_ROUTER_CLASSIFIER": '{"model": "gemini-3.5-flash", "enabled": false}',
        },
    ],
)
def test_a_json_object_and_its_parts_combine_in_any_order(environ: dict[str, str]) -> None:
    classifier = RouterConfig.from_env(environ).classifier
    assert (classifier.model, classifier.enabled, classifier.deadline_seconds) == (
        "gemini-3.5-flash",
        False,
        1.5,
    )
