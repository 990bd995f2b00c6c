"""RouterConfig: validation naming the field, TOML, environment, per-call overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

from lc_gemini_router import ConfigError, RouterConfig


def test_defaults() -> None:
    config = RouterConfig()
    assert config.escalation_threshold == 0.6
    # Tool count alone never decides; long loops (8 rounds) and evidence escalate.
    assert (config.tool_heavy_min_tools, config.tool_heavy_min_rounds) == (0, 8)
    assert (config.escalate_after_tool_errors, config.escalate_on_repeated_call) == (2, True)
    assert "bash" in config.heavy_tools and not config.broad_text_rules
    assert config.lanes == {
        "lite": "gemini-3.1-flash-lite",
        "pro": "gemini-3.1-pro-preview",
        "pro_tools": "gemini-3.1-pro-preview-customtools",
    }
    assert config.classifier.model == "gemini-3.1-flash-lite"
    assert config.classifier.deadline_seconds == 2.0


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"escalation_threshold": 1.5}, "escalation_threshold"),
        ({"escalation_threshold": "high"}, "escalation_threshold"),
        ({"tool_heavy_min_tools": -1}, "tool_heavy_min_tools"),
        ({"never_escalate": ["poetry"]}, "never_escalate"),
        ({"long_context_lane": "ultra"}, "long_context_lane"),
        ({"classifier": {"deadline_seconds": 0}}, "classifier.deadline_seconds"),
        ({"escalation_treshold": 0.5}, "escalation_treshold"),
    ],
)
def test_invalid_values_name_the_field(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(ConfigError) as info:
        # Deliberately wrong values and types (and a misspelt name): each must be rejected.
        RouterConfig(**kwargs)  # type: ignore[arg-type]
    assert field in str(info.value)


def test_contradictory_category_lists() -> None:
    with pytest.raises(ConfigError, match="both always and never"):
        RouterConfig(always_escalate=frozenset({"coding"}), never_escalate=frozenset({"coding"}))


def test_fallback_to_itself_rejected() -> None:
    with pytest.raises(ConfigError, match="cannot fall back to itself"):
        RouterConfig(error_fallbacks={"lite": "lite"})


def test_with_overrides_validates() -> None:
    config = RouterConfig().with_overrides(
        {"escalation_threshold": 0.8, "classifier": {"enabled": False}}
    )
    assert config.escalation_threshold == 0.8
    assert config.classifier.enabled is False
    assert config.classifier.deadline_seconds == 2.0
    with pytest.raises(ConfigError, match="escalation_threshold"):
        RouterConfig().with_overrides({"escalation_threshold": -1})


def test_from_toml_with_table(tmp_path: Path) -> None:
    path = tmp_path / "pyproject.toml"
    path.write_text(
        "[tool.lc_gemini_router]\n"
        "escalation_threshold = 0.75\n"
        'never_escalate = ["translation", "extraction"]\n'
        "[tool.lc_gemini_router.classifier]\n"
        "deadline_seconds = 1.5\n"
    )
    config = RouterConfig.from_toml(path, table="tool.lc_gemini_router")
    assert config.escalation_threshold == 0.75
    assert config.never_escalate == frozenset({"translation", "extraction"})
    assert config.classifier.deadline_seconds == 1.5


def test_from_toml_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("escalation_threshold = ")
    with pytest.raises(ConfigError, match="not valid TOML"):
        RouterConfig.from_toml(bad)
    with pytest.raises(ConfigError, match="cannot read router config"):
        RouterConfig.from_toml(tmp_path / "missing.toml")
    wrong = tmp_path / "wrong.toml"
    wrong.write_text("escalation_threshold = 7\n")
    with pytest.raises(ConfigError, match="escalation_threshold"):
        RouterConfig.from_toml(wrong)


def test_from_env() -> None:
    env = {
        "LC_GEMINI_ROUTER_ESCALATION_THRESHOLD": "0.7",
        "LC_GEMINI_ROUTER_NEVER_ESCALATE": '["translation"]',
        "LC_GEMINI_ROUTER_PRO_MODEL": "gemini-3.1-pro-preview",
        "LC_GEMINI_ROUTER_CLASSIFIER__DEADLINE_SECONDS": "1.25",
        "UNRELATED": "x",
    }
    config = RouterConfig.from_env(env)
    assert config.escalation_threshold == 0.7
    assert config.never_escalate == frozenset({"translation"})
    assert config.classifier.deadline_seconds == 1.25
    with pytest.raises(ConfigError, match="escalation_threshold"):
        RouterConfig.from_env({"LC_GEMINI_ROUTER_ESCALATION_THRESHOLD": "lots"})
    with pytest.raises(ConfigError, match="nonsense"):
        RouterConfig.from_env({"LC_GEMINI_ROUTER_NONSENSE": "1"})
