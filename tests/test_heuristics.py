"""The free text rules and how the policy applies them."""

from __future__ import annotations

import pytest
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage

from lc_gemini_router import ConfigError, RouterConfig
from lc_gemini_router.routing.heuristics import UNCERTAIN, text_prior
from lc_gemini_router.routing.policy import RouteRequest, rule_decision


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("Translate 'good night' into German", "translation"),
        ("please translate this menu to Spanish: ...", "translation"),
        ("Summarize the following article in three bullets: ...", "summarization"),
        ("TL;DR this thread", "summarization"),
        ("Extract the names and dates from this email: ...", "extraction"),
        ("Classify the sentiment of these reviews: ...", "classification"),
        ("Label each ticket with its topic", "classification"),
        ("Convert this list into JSON: a, b, c", "extraction"),
        ("Reformat the table below", "extraction"),
        ("Thanks!", "chat"),
        ("hello there", "chat"),
        ("Good morning :)", "chat"),
    ],
)
def test_cheap_lane_wording(text: str, category: str) -> None:
    prior = text_prior(text)
    assert prior.score < 0.2
    assert prior.category == category


@pytest.mark.parametrize(
    "text",
    [
        "Prove that there are infinitely many primes",
        "Derive the closed form of $$\\sum_{k=1}^n k^2$$",
        "Compute \\int_0^1 x^2 dx",
        "Find the bug:\n```python\n" + "x = 1\n" * 40 + "```",
    ],
)
def test_hard_wording(text: str) -> None:
    assert text_prior(text).score > 0.8


@pytest.mark.parametrize(
    "text",
    [
        "yes, do it",  # a follow-up: judged with its context by the classifier
        "ok",
        "Thomas is very healthy, but he has to go to the hospital every day. Why?",
        "When a number is divided by 10, the remainder is 4. What about twice it, by 4?",
        "Given the following records of stock prices, extract the highest closing prices",
        "Translate this function to Rust:\n```python\ndef f(x):\n    return x\n```",
        "Hello, can you help me design a distributed lock?",
        "",
    ],
)
def test_uncertain_wording_goes_to_the_classifier(text: str) -> None:
    assert text_prior(text).score == UNCERTAIN


def request(text: str, *history: BaseMessage) -> RouteRequest:
    return RouteRequest(messages=(*history, HumanMessage(text)))


def test_policy_applies_text_rules_outside_the_band() -> None:
    cheap = rule_decision(request("Translate 'hi' into French"), RouterConfig())
    hard = rule_decision(request("Prove Fermat's little theorem"), RouterConfig())
    assert cheap is not None and hard is not None
    assert (cheap.lane, cheap.source, cheap.category) == ("lite", "rule", "translation")
    assert cheap.reasons == ("text rule: asks for translation",)
    assert (hard.lane, hard.source, hard.score) == ("pro", "rule", 0.9)
    assert rule_decision(request("Why is the sky blue?"), RouterConfig()) is None


def test_band_and_switch_are_configurable() -> None:
    assert rule_decision(request("Thanks!"), RouterConfig(text_rules=False)) is None
    wide = RouterConfig(rule_band=(0.0, 1.0))  # every prior is inside: classifier decides
    assert rule_decision(request("Prove that 7 is prime"), wide) is None
    with pytest.raises(ConfigError, match="rule_band"):
        RouterConfig(rule_band=(0.9, 0.1))


def test_category_lists_override_text_rules() -> None:
    config = RouterConfig(
        always_escalate=frozenset({"translation"}), never_escalate=frozenset({"reasoning"})
    )
    translated = rule_decision(request("Translate 'hi' into French"), config)
    proved = rule_decision(request("Prove that 7 is prime"), config)
    assert translated is not None and translated.lane == "pro"
    assert proved is not None and proved.lane == "lite"


@pytest.mark.parametrize(
    "text",
    [
        "What does the CAP theorem say?",
        "Can you prove you're not a bot?",
        "Translate this COBOL payroll system into thread-safe Rust",
        "Summarize how our billing service retries payments",
    ],
)
def test_wordings_the_broad_rules_misrouted_go_to_the_classifier(text: str) -> None:
    assert text_prior(text).score == UNCERTAIN
    assert text_prior(text, broad=True).score != UNCERTAIN  # broad_text_rules=True: as before
    assert rule_decision(request(text), RouterConfig()) is None
    assert rule_decision(request(text), RouterConfig(broad_text_rules=True)) is not None


def test_only_the_latest_user_message_is_read() -> None:
    history = (HumanMessage("Translate 'hi' into French"), AIMessage("Salut"))
    assert rule_decision(request("Now explain the etymology", *history), RouterConfig()) is None
