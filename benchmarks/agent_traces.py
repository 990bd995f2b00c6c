"""The labelled agent-trace set: 66 agent turns, written to ``benchmarks/data/agent_traces.jsonl``.

    python -m benchmarks.agent_traces      # rewrite the JSONL from the lists below

Each turn is what an agent did for one user message: the tools it had bound, the tool
calls it made in order (with their results, failed or not) and the size of its final
answer. ``hard`` is the label: does the turn need Pro (multi-step engineering, an
investigation that keeps failing) or would Flash-Lite do it (lookups, mechanical
paging)? Three groups:

* ``easy_lookup`` (24): three to five tools bound, one or two calls that succeed;
  among them the wordings the old text rules misrouted ("What does the CAP theorem
  say?", "Can you prove you're not a bot?");
* ``engineering`` (22): reading, editing, running tests and shell commands over
  three to eight rounds, some tests failing first ("Translate this COBOL payroll
  system into thread-safe Rust" among them);
* ``long_loop`` (20): many rounds; easy paging through results (each call new), or
  hard investigations whose calls fail and repeat.

The agent's steps are fixed (the same whichever model answers), so policies differ
only in which lane pays for each step.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["TRACES", "AgentTrace", "ToolStep", "build", "load_traces"]

TRACES = Path(__file__).resolve().parent / "data" / "agent_traces.jsonl"

LOOKUP_TOOLS = ["search_docs", "get_order", "get_weather", "lookup_customer", "get_exchange_rate"]
CODE_TOOLS = ["read_file", "search_code", "edit_file", "run_tests", "bash", "git_diff"]
DATA_TOOLS = ["list_invoices", "fetch_page", "query_db", "fetch_logs"]


@dataclass(frozen=True)
class ToolStep:
    """One tool call the agent made, and what came back."""

    name: str
    args: dict[str, Any]
    result: str
    error: bool = False


@dataclass(frozen=True)
class AgentTrace:
    """One agent turn: the user's message, the bound tools, the calls, the label."""

    id: str
    group: str
    hard: bool
    prompt: str
    tools: list[str]
    steps: list[ToolStep] = field(default_factory=list)
    answer_tokens: int = 150


def _lookups() -> list[AgentTrace]:
    asks = [
        ("What's the status of order A1042?", "get_order", {"id": "A1042"}, "shipped"),
        ("Where is my parcel for order B2210?", "get_order", {"id": "B2210"}, "in transit"),
        ("Has order C3301 been delivered yet?", "get_order", {"id": "C3301"}, "delivered"),
        ("What's the weather in Lisbon tomorrow?", "get_weather", {"city": "Lisbon"}, "sunny"),
        ("Will it rain in Oslo this weekend?", "get_weather", {"city": "Oslo"}, "rain"),
        ("Is it cold in Montreal today?", "get_weather", {"city": "Montreal"}, "-8C"),
        ("What is our refund window?", "search_docs", {"q": "refund window"}, "30 days"),
        ("How do I reset my password?", "search_docs", {"q": "reset password"}, "Settings"),
        ("Which plans include SSO?", "search_docs", {"q": "SSO plans"}, "Business"),
        ("What does the CAP theorem say?", "search_docs", {"q": "CAP theorem"}, "pick 2 of 3"),
        ("Can you prove you're not a bot?", "search_docs", {"q": "about the assistant"}, "ok"),
        ("Who is the account owner for ACME?", "lookup_customer", {"name": "ACME"}, "Dana"),
        ("What's the phone number of Globex?", "lookup_customer", {"name": "Globex"}, "555"),
        ("When did Initech sign up?", "lookup_customer", {"name": "Initech"}, "2024-03"),
        ("How much is 250 EUR in USD today?", "get_exchange_rate", {"pair": "EURUSD"}, "1.09"),
        ("Convert 90 GBP to JPY", "get_exchange_rate", {"pair": "GBPJPY"}, "191"),
        ("What's the CHF to EUR rate?", "get_exchange_rate", {"pair": "CHFEUR"}, "1.04"),
        ("Do we ship to Iceland?", "search_docs", {"q": "shipping countries"}, "yes"),
        ("What are the support hours?", "search_docs", {"q": "support hours"}, "9-17 CET"),
        (
            "Is the API rate limit per key or per project?",
            "search_docs",
            {"q": "rate limit"},
            "key",
        ),
    ]
    traces = []
    for index, (prompt, tool, args, result) in enumerate(asks):
        bound = LOOKUP_TOOLS[: 3 + index % 3]
        if tool not in bound:
            bound = [*bound[:-1], tool]
        traces.append(
            AgentTrace(
                f"lookup-{index + 1:02d}",
                "easy_lookup",
                False,
                prompt,
                bound,
                [ToolStep(tool, args, result)],
                120,
            )
        )
    two_step = [
        ("What's the weather where ACME's office is?", "lookup_customer", "get_weather"),
        ("Is Globex's last order shipped?", "lookup_customer", "get_order"),
        (
            "Price 120 USD in the currency of Initech's country",
            "lookup_customer",
            "get_exchange_rate",
        ),
        ("Find the docs page on refunds and the status of order D4410", "search_docs", "get_order"),
    ]
    for index, (prompt, first, second) in enumerate(two_step):
        steps = [ToolStep(first, {"q": prompt[:20]}, "found"), ToolStep(second, {"q": "x"}, "ok")]
        traces.append(
            AgentTrace(
                f"lookup-{21 + index:02d}", "easy_lookup", False, prompt, LOOKUP_TOOLS, steps, 140
            )
        )
    return traces


def _engineering() -> list[AgentTrace]:
    tasks = [
        "Fix the failing test in payments/test_refund.py: the refund total is off by one cent",
        "Translate this COBOL payroll system into thread-safe Rust",
        "Refactor the session cache to remove the global lock",
        "Debug the intermittent deadlock in the job scheduler",
        "Add retries with backoff to the webhook sender and test it",
        "Migrate the user table to the new schema without downtime",
        "Make the CSV importer stream rows instead of loading the whole file",
        "Find and fix the memory leak in the image resizer worker",
        "Implement rate limiting per API key in the gateway",
        "Upgrade the ORM to version 3 and fix what breaks",
        "Port the billing module from Python 2 idioms to modern typed Python",
        "Track down why the integration tests are flaky on CI",
        "Add pagination to the /orders endpoint with cursor tokens",
        "Replace the hand-written JSON parser with the standard library and keep behaviour",
        "Split the monolithic settings file into per-environment configs",
        "Fix the race between cache invalidation and writes in the profile service",
        "Write a migration script that backfills missing invoice currencies",
        "Harden the file upload handler against path traversal",
        "Speed up the search indexer: it takes 40 minutes for 1M documents",
        "Make the date parsing timezone-aware across the reporting code",
        "Remove the circular import between orders and payments",
        "Turn the nightly cron scripts into one idempotent job with tests",
    ]
    traces = []
    for index, prompt in enumerate(tasks):
        path = f"src/module_{index}.py"
        steps = [
            ToolStep("search_code", {"q": prompt.split()[1]}, f"{path}:12"),
            ToolStep("read_file", {"path": path}, "def handler(...): ..." * 20),
        ]
        if index % 3 != 2:  # most tasks read a second file
            steps.append(
                ToolStep("read_file", {"path": f"tests/test_{index}.py"}, "def test_x(): ...")
            )
        steps.append(ToolStep("edit_file", {"path": path, "patch": "..."}, "edited"))
        if index % 2 == 0:  # the first test run fails, then a second edit fixes it
            steps.append(ToolStep("run_tests", {"path": "tests"}, "1 failed", error=True))
            steps.append(ToolStep("edit_file", {"path": path, "patch": "fix"}, "edited"))
        steps.append(ToolStep("run_tests", {"path": "tests"}, "all passed"))
        if index % 4 == 1:
            steps.append(ToolStep("bash", {"cmd": "git diff --stat"}, "2 files changed"))
        tools = CODE_TOOLS[: 4 + index % 3]
        for name in {s.name for s in steps} - set(tools):
            tools.append(name)
        traces.append(
            AgentTrace(f"eng-{index + 1:02d}", "engineering", True, prompt, tools, steps, 400)
        )
    return traces


def _loops() -> list[AgentTrace]:
    traces = []
    easy = [
        ("List every open invoice for ACME", "list_invoices", 9),
        ("Collect the titles of all pages in the help centre", "fetch_page", 7),
        ("Export the order history of Globex to a table", "list_invoices", 6),
        ("Gather the release notes of the last ten versions", "fetch_page", 10),
        ("Count the tickets per tag for last month", "query_db", 5),
        ("List all customers in Germany with their plan", "query_db", 8),
        ("Copy the FAQ entries into one document", "fetch_page", 12),
        ("Sum the invoice totals per quarter for Initech", "list_invoices", 6),
        ("Fetch every changelog page and list breaking changes", "fetch_page", 11),
        ("Tabulate the weekly signups for this year", "query_db", 7),
    ]
    for index, (prompt, tool, pages) in enumerate(easy):
        steps = [ToolStep(tool, {"page": page}, f"page {page} of {pages}") for page in range(pages)]
        traces.append(
            AgentTrace(f"loop-{index + 1:02d}", "long_loop", False, prompt, DATA_TOOLS, steps, 300)
        )
    hard = [
        "Find out why the nightly export job fails",
        "Work out why revenue in the dashboard differs from the ledger",
        "Investigate the spike of 502s on the checkout service",
        "Figure out which deploy broke the recommendation ranking",
        "Reconcile the payouts that are missing from the bank statements",
        "Explain why some users are billed twice",
        "Diagnose the slow queries behind the admin search",
        "Find the source of the duplicate emails sent on Monday",
        "Determine why the warehouse stock counts drift",
        "Trace the lost messages between the queue and the worker",
    ]
    for index, prompt in enumerate(hard):
        steps = [
            ToolStep("fetch_logs", {"service": f"svc{index}", "since": "24h"}, "ERROR timeout"),
            ToolStep("query_db", {"sql": "select ..."}, "permission denied", error=True),
            ToolStep("query_db", {"sql": "select ..."}, "permission denied", error=True),
            ToolStep("fetch_logs", {"service": f"svc{index}", "since": "7d"}, "ERROR timeout x40"),
            ToolStep("query_db", {"sql": "select ... limit 10"}, "10 rows"),
            ToolStep("fetch_page", {"url": "runbook"}, "runbook text"),
        ]
        steps += [ToolStep("query_db", {"sql": f"select {i}"}, "rows") for i in range(index % 4)]
        traces.append(
            AgentTrace(f"loop-{11 + index:02d}", "long_loop", True, prompt, DATA_TOOLS, steps, 450)
        )
    return traces


def build() -> list[AgentTrace]:
    """Every turn of the set, in a fixed order."""
    return [*_lookups(), *_engineering(), *_loops()]


def load_traces(path: Path = TRACES) -> list[AgentTrace]:
    """The committed set (``benchmarks/data/agent_traces.jsonl``)."""
    traces = []
    for line in path.read_text(encoding="utf-8").splitlines():
        data = json.loads(line)
        data["steps"] = [ToolStep(**step) for step in data["steps"]]
        traces.append(AgentTrace(**data))
    return traces


if __name__ == "__main__":
    TRACES.parent.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps(asdict(trace), sort_keys=True) for trace in build()]
    TRACES.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"{len(lines)} turns -> {TRACES}")
