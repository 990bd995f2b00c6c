"""``lc-gemini-router doctor``: one tiny request per lane, with versions, latency and cost."""

from __future__ import annotations

import argparse
from decimal import Decimal
from typing import TYPE_CHECKING

from lc_gemini_router.tools.cli.common import _fail, _live_flag, _load_config, _table, _tokens
from lc_gemini_router.tools.formatting import usd

if TYPE_CHECKING:
    from rich.console import Console


def _cmd_doctor(args: argparse.Namespace, console: Console) -> int:
    from rich.text import Text

    from lc_gemini_router.api_versions import sdk_default_api_version
    from lc_gemini_router.tools.demo import gemini_backend
    from lc_gemini_router.tools.doctor import check_lanes, installed_versions

    config = _load_config(args.config)
    with gemini_backend(live=_live_flag(args)) as backend:
        console.print(Text(backend.description, style="bold red" if backend.live else "green"))
        router = backend.router(config)
        try:
            checks = check_lanes(router)
        finally:
            router.close()
    versions = [(name, version) for name, version in installed_versions().items()]
    sdk = sdk_default_api_version()
    versions.append(("SDK default API version", sdk.version))
    console.print(_table("Installed", [("", False), ("", False)], versions, show_header=False))
    rows = [
        (
            check.lane,
            check.model,
            check.api_version or "-",
            check.api_version_source or "-",
            check.lifecycle,
            "-" if check.latency_s is None else f"{check.latency_s * 1000:,.0f} ms",
            _tokens(check.input_tokens),
            _tokens(check.output_tokens),
            "unknown" if check.cost is None else usd(check.cost),
            Text("ok", style="green") if check.ok else Text("FAILED", style="bold red"),
        )
        for check in checks
    ]
    columns = [(name, False) for name in ("lane", "model", "API", "from", "lifecycle")]
    columns += [(name, True) for name in ("latency", "input", "output", "cost")]
    title = "One tiny request per lane"
    console.print(_table(title, [*columns, ("", False)], rows), crop=False)
    failed = [check for check in checks if not check.ok]
    if failed:
        lanes = "; ".join(
            f"lane {c.lane!r} ({c.model} on {c.api_version or 'its own API version'}): {c.error}"
            for c in failed
        )
        return _fail(f"{len(failed)} of {len(checks)} lanes failed: {lanes}", code=1)
    total = sum((c.cost for c in checks if c.cost is not None), Decimal(0))
    console.print(f"Every lane answered; the checks cost {usd(total)}.", markup=False)
    return 0
