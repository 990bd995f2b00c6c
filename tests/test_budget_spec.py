"""Budgets as users write them: validation, UTC windows, scope keys, worst cases."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage

from lc_gemini_router import Budget, BudgetExceededError, ConfigError, GeminiRouter, default_catalog
from lc_gemini_router.budgets.estimate import (
    ATTACHMENT_TOKENS,
    GEMINI_MAX_OUTPUT,
    MESSAGE_OVERHEAD,
    output_cap,
    prompt_bound,
    worst_case,
)
from lc_gemini_router.budgets.spec import scope_key, window_bounds


def at(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc).timestamp()


def test_a_budget_keeps_its_limit_exact_and_names_itself() -> None:
    budget = Budget(limit="0.10", window="hour", per="tenant", on_exceed="refuse")
    assert budget.limit == Decimal("0.10")
    assert (budget.name, budget.scope) == ("tenant-hour", "tenant")
    assert Budget(limit=5).name == "global-day"
    assert Budget(limit="1", name="team-a").name == "team-a"


@pytest.mark.parametrize(
    ("settings", "problem"),
    [
        ({"limit": "0"}, "limit"),
        ({"limit": "-1"}, "limit"),
        ({"limit": "1", "window": "week"}, "window"),
        ({"limit": "1", "per": "escalation_threshold"}, "not a router setting"),
        ({"limit": "1", "per": "lane"}, "not a router setting"),
        ({"limit": "1", "per": "a user"}, "plain key name"),
        ({"limit": "1", "required": True}, "required=True needs per="),
        ({"limit": "1", "name": "a|b"}, "name="),
        ({"limit": "1", "on_exced": "refuse"}, "did you mean 'on_exceed'"),
    ],
)
def test_bad_budgets_are_config_errors(settings: dict[str, object], problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        Budget(**settings)  # type: ignore[arg-type]


def test_two_budgets_with_one_name_are_refused() -> None:
    with pytest.raises(ConfigError, match=r"\['user-day'\] given twice"):
        GeminiRouter(api_key="k", budgets=[Budget(limit="1", per="user")] * 2)


@pytest.mark.parametrize(
    ("window", "moment", "start", "end"),
    [
        ("hour", "2026-12-01T23:59:59", "2026-12-01T23:00:00", "2026-12-02T00:00:00"),
        ("day", "2026-12-01T00:00:00", "2026-12-01T00:00:00", "2026-12-02T00:00:00"),
        ("day", "2026-02-28T23:00:00", "2026-02-28T00:00:00", "2026-03-01T00:00:00"),
        ("month", "2026-12-31T23:59:59", "2026-12-01T00:00:00", "2027-01-01T00:00:00"),
        ("month", "2028-02-29T12:00:00", "2028-02-01T00:00:00", "2028-03-01T00:00:00"),
    ],
)
def test_windows_are_utc_calendar_periods(window: str, moment: str, start: str, end: str) -> None:
    begins, ends = window_bounds(window, at(moment))  # type: ignore[arg-type]
    assert (begins, ends) == (
        datetime.fromisoformat(start).replace(tzinfo=timezone.utc),
        datetime.fromisoformat(end).replace(tzinfo=timezone.utc),
    )


def test_accounts_change_with_the_window_and_never_for_none() -> None:
    hourly = Budget(limit="1", window="hour", per="user")
    assert hourly.account("a:b", at("2026-12-01T10:59:59")) == "user-hour|a%3Ab|2026-12-01T10"
    assert hourly.account("a:b", at("2026-12-01T11:00:00")) == "user-hour|a%3Ab|2026-12-01T11"
    forever = Budget(limit="1", window="none")
    assert forever.account("*", at("2020-01-01T00:00:00")) == "global-none|%2A|all"
    assert window_bounds("none", 0.0) == (None, None)


def test_scope_keys_come_from_settings_then_metadata() -> None:
    per_user = Budget(limit="1", per="user")
    assert scope_key(per_user, {"user": "alice"}, {"user": "bob"}) == "alice"
    assert scope_key(per_user, {}, {"user": 42}) == "42"
    assert scope_key(per_user, {}, {"user": True}) is None  # not a name
    assert scope_key(per_user, {}, {}) is None
    assert scope_key(Budget(limit="1"), {}, {}) == "*"


def test_the_prompt_bound_counts_bytes_and_fixed_costs() -> None:
    text = "héllo"  # 6 bytes in UTF-8
    image = {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}
    call = AIMessage("", tool_calls=[{"name": "f", "args": {"q": 1}, "id": "c1"}])
    messages = [
        SystemMessage("sys"),
        HumanMessage(content=[{"type": "text", "text": text}, image]),
        call,
        ToolMessage("42", tool_call_id="c1"),
    ]
    tool = {"type": "function", "function": {"name": "f"}}
    expected = (
        4 * MESSAGE_OVERHEAD
        + 3
        + 6
        + ATTACHMENT_TOKENS
        + len(b'{"name": "f", "args": {"q": 1}}')
        + 2
        + len(b'{"type": "function", "function": {"name": "f"}}')
    )
    assert prompt_bound(messages, [tool]) == expected


def test_the_output_cap_prefers_the_call_then_the_model(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    router = GeminiRouter(api_key="k", max_tokens=900)
    lite = router.lane_model("lite")
    assert output_cap(lite, {}) == 900
    assert output_cap(lite, {"max_output_tokens": 50}) == 50
    assert output_cap(lite, {"generation_config": {"max_output_tokens": 40}}) == 40
    assert output_cap(lite, {"max_output_tokens": 50, "thinking_budget": 128}) == 178
    unset = GeminiRouter(api_key="k").lane_model("lite")
    assert output_cap(unset, {}) == (unset.profile or {}).get("max_output_tokens", 65_536)
    monkeypatch.setattr(type(unset), "profile", None, raising=False)
    assert output_cap(unset.model_copy(update={"profile": None}), {}) == GEMINI_MAX_OUTPUT


def test_worst_cases_use_the_tier_and_the_long_context_rates() -> None:
    catalog = default_catalog()
    short = worst_case("gemini-3.1-pro-preview", 1000, 1000, catalog)
    assert (short.input_cost, short.output_cost) == (Decimal("0.002"), Decimal("0.012"))
    long = worst_case("gemini-3.1-pro-preview", 200_001, 1000, catalog)
    assert long.input_cost == Decimal("0.800004")
    assert long.output_cost == Decimal("0.018")
    flex = worst_case("gemini-3.1-pro-preview", 1000, 1000, catalog, "flex")
    assert flex.total == Decimal("0.007")
    with pytest.raises(ConfigError, match="no standard price for model 'gemini-9'"):
        worst_case("gemini-9", 1, 1, catalog)
    # Listed, but its price is unknown: no budget can cover it either.
    with pytest.raises(
        ConfigError, match="no standard price for model 'gemini-3.1-flash-lite-image'"
    ):
        worst_case("gemini-3.1-flash-lite-image", 1, 1, catalog)


def test_the_refusal_names_the_budget_and_its_figures() -> None:
    error = BudgetExceededError(
        budget="user-day",
        scope="user",
        key="alice",
        limit=Decimal("0.50"),
        spent=Decimal("0.49"),
        reserved=Decimal("0.005"),
        needed=Decimal("0.0151"),
        lane="lite",
    )
    assert str(error) == (
        "budget 'user-day' for user 'alice' cannot cover lane 'lite': worst case $0.0151, "
        "limit $0.50, spent $0.49, reserved $0.005"
    )
    assert (error.spent, error.reserved) == (Decimal("0.49"), Decimal("0.005"))
