"""``lc-gemini-router doctor``: one tiny request per lane, with versions, latency and cost."""

from __future__ import annotations

import argparse
from decimal import Decimal
from typing import TYPE_CHECKING

from lc_gemini_router.tools.cli.common import (
    add_backend_flags,
    add_config_flag,
    fail,
    live_flag,
    load_config,
    make_table,
    thousands,
)
from lc_gemini_router.tools.formatting import usd

if TYPE_CHECKING:
    from rich.console import Console


def _cmd_doctor(args: argparse.Namespace, console: Console) -> int:
    from rich.text import Text

    from lc_gemini_router.api_versions import sdk_default_api_version
    from lc_gemini_router.tools.backend import gemini_backend
    from lc_gemini_router.tools.doctor import check_lanes, installed_versions

    config = load_config(args.config)
    with gemini_backend(live=live_flag(args)) as backend:
        console.print(Text(backend.description, style="bold red" if backend.live else "green"))
        router = backend.router(config)
        try:
            checks = check_lanes(router)
        finally:
            router.close()
    versions = [(name, version) for name, version in installed_versions().items()]
    sdk = sdk_default_api_version()
    versions.append(("SDK default API version", sdk.version))
    console.print(make_table("Installed", [("", False), ("", False)], versions, show_header=False))
    rows = [
        (
            check.lane,
            check.model,
            check.api_version or "-",
            check.api_version_source or "-",
            check.lifecycle,
            "-" if check.latency_s is None else f"{check.latency_s * 1000:,.0f} ms",
            thousands(check.input_tokens),
            thousands(check.output_tokens),
            "unknown" if check.cost is None else usd(check.cost),
            Text("ok", style="green") if check.ok else Text("FAILED", style="bold red"),
        )
        for check in checks
    ]
    columns = [(name, False) for name in ("lane", "model", "API", "from", "lifecycle")]
    columns += [(name, True) for name in ("latency", "input", "output", "cost")]
    title = "One tiny request per lane"
    console.print(make_table(title, [*columns, ("", False)], rows), crop=False)
    failed = [check for check in checks if not check.ok]
    if failed:
        lanes = "; ".join(
            f"lane {c.lane!r} ({c.model} on {c.api_version or 'its own API version'}): {c.error}"
            for c in failed
        )
        return fail(f"{len(failed)} of {len(checks)} lanes failed: {lanes}", code=1)
    total = sum((c.cost for c in checks if c.cost is not None), Decimal(0))
    console.print(f"Every lane answered; the checks cost {usd(total)}.", markup=False)
    return 0


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``doctor`` command to the parser."""
    doctor = commands.add_parser(
        "doctor",
        help="send one tiny request per lane; show versions, API versions, latency, cost",
        description="Send one short prompt to the classifier and to every lane (live with "
        "an API key, else on the simulator) and show, per lane, the model, the Gemini API "
        "version and where it came from, lifecycle, latency, tokens and exact cost, with "
        "the installed google-genai and langchain-google-genai. Exits 1 naming each lane "
        "that fails.",
    )
    add_config_flag(doctor, "router settings")
    add_backend_flags(doctor)
    doctor.set_defaults(handler=_cmd_doctor)
