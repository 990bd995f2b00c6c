"""``lc-gemini-router price`` and ``models``: price one call, list the price catalog."""

from __future__ import annotations

import argparse
import warnings
from decimal import Decimal
from typing import TYPE_CHECKING

from lc_gemini_router.pricing.catalog import (
    SERVICE_TIERS,
    ModelPrice,
    Rates,
    ServiceTier,
    default_catalog,
)
from lc_gemini_router.tools.cli.common import PROG, CliError, make_table, thousands, token_count
from lc_gemini_router.tools.formatting import usd

if TYPE_CHECKING:
    from rich.console import Console


_IMAGE_SIZES = ("512", "1K", "2K", "4K")
_PER_MILLION = Decimal(1_000_000)


def _image_spec(text: str) -> tuple[str, int]:
    """``SIZE[:COUNT]`` (``1K:2``) for ``--images``."""
    size, _, count_text = text.partition(":")
    size = size.strip().upper()
    if size not in _IMAGE_SIZES:
        msg = f"image size {size!r} is not one of {', '.join(_IMAGE_SIZES)}"
        raise argparse.ArgumentTypeError(msg)
    try:
        count = int(count_text) if count_text else 1
    except ValueError:
        count = 0
    if count < 1:
        msg = f"image count in {text!r} must be a positive integer"
        raise argparse.ArgumentTypeError(msg)
    return size, count


def _rates(entry: ModelPrice, tier: ServiceTier, long_context: bool) -> Rates:
    prices = entry.tier(tier)
    if prices is None:  # pragma: no cover - the call was priced, so the tier exists
        raise CliError(f"no {tier} price for model {entry.id!r}")
    return prices.long_context if long_context and prices.long_context else prices


def _cmd_price(args: argparse.Namespace, console: Console) -> int:
    from lc_gemini_router.pricing.costs import price_quietly

    catalog = default_catalog()
    entry = catalog.get(args.model, warn=False)
    if entry is None:
        msg = f"unknown model {args.model!r}: not in the price catalog; see `{PROG} models`"
        raise CliError(msg)
    catalog.ensure_servable(args.model)  # a shut-down ID raises, naming its replacement
    tier: ServiceTier = "batch" if args.batch else args.tier
    if args.cached > args.input:
        msg = "--cached counts part of --input (Gemini includes cached tokens in the prompt)"
        raise CliError(f"{msg}: {args.cached:,} > {args.input:,}")
    sizes = [size for size, count in args.images for _ in range(count)]
    if sizes and not entry.image_tokens:
        raise CliError(f"model {entry.id!r} does not generate images (no image price)")
    image_tokens = sum(entry.image_tokens[size] for size in sizes)
    # LangChain's usage counts thinking and image tokens as output: rebuild it so.
    usage = {
        "input_tokens": args.input,
        "output_tokens": args.output + args.thinking + image_tokens,
        "input_token_details": {"cache_read": args.cached},
        "output_token_details": {"reasoning": args.thinking},
    }
    cost, problems = price_quietly(entry.id, usage, service_tier=tier, images=sizes)
    if cost is None:
        raise CliError("; ".join(text for _, text in problems))
    for category, text in problems:
        warnings.warn(text, category, stacklevel=1)

    rates = _rates(entry, tier, cost.long_context)
    thinking_cost = args.thinking * rates.output / _PER_MILLION
    rows = [("input", thousands(cost.input_tokens), str(rates.input), usd(cost.input_cost))]
    if cost.cached_tokens:
        cached = (
            thousands(cost.cached_tokens),
            str(rates.cached_input),
            usd(cost.cached_input_cost),
        )
        rows.append(("cached input", *cached))
    visible_cost = cost.output_cost - thinking_cost
    rows.append(("output", thousands(args.output), str(rates.output), usd(visible_cost)))
    if args.thinking:
        thinking = (thousands(args.thinking), str(rates.output), usd(thinking_cost))
        rows.append(("thinking (billed as output)", *thinking))
    if sizes:
        counts = ", ".join(f"{count} x {size}" for size, count in args.images)
        images = (
            thousands(cost.image_tokens),
            str(rates.image_output),
            usd(cost.image_output_cost),
        )
        rows.append((f"images ({counts})", *images))
    columns = [("part", False), ("tokens", True), ("USD per 1M", True), ("cost", True)]
    total = ("total", "", "", usd(cost.total))
    console.print(make_table(f"{entry.id}, {tier} tier", columns, rows, total=total), crop=False)
    if cost.long_context:
        # The whole request moves to the higher band, not only the tokens above it.
        threshold = entry.long_context_threshold or 0
        console.print(f"Long-context rates: the prompt is over {threshold:,} tokens.")
    return 0


def _notes(entry: ModelPrice, upcoming: tuple[ModelPrice, ...] = ()) -> str:
    notes = []
    if not entry.verified:
        notes.append("unverified: secondary sources")
    for change in upcoming:  # dated price changes still to come
        when = change.effective_from.isoformat() if change.effective_from else "?"
        notes.append(f"from {when}: {change.standard.input} / {change.standard.output}")
    if entry.status == "shutdown":
        when = f" {entry.shutdown_on.isoformat()}" if entry.shutdown_on else ""
        notes.append(f"SHUT DOWN{when}: use {entry.replacement or 'another model'}")
    elif entry.status == "deprecated":
        notes.append(f"deprecated: use {entry.replacement or 'another model'}")
    long_context = entry.standard.long_context
    if long_context is not None and entry.long_context_threshold:
        notes.append(
            f"prompt > {entry.long_context_threshold // 1000}k: "
            f"{long_context.input} / {long_context.output}"
        )
    if entry.standard.image_output is not None:
        notes.append(f"image output {entry.standard.image_output}")
    if entry.aliases:
        notes.append(f"alias {', '.join(entry.aliases)}")
    return "; ".join(notes)


def _cmd_models(args: argparse.Namespace, console: Console) -> int:
    from rich.text import Text

    from lc_gemini_router.api_versions import lane_api_version, sdk_default_api_version, served_on

    catalog = default_catalog()
    styles = {"shutdown": "bold red", "deprecated": "yellow"}
    chosen = lane_api_version(None)
    rows = [
        (
            Text(entry.id, style=styles.get(entry.status, "")),
            Text(entry.status, style=styles.get(entry.status, "")),
            chosen.version if served_on(entry.id, "v1") else f"{chosen.version} (not v1)",
            str(entry.standard.input),
            str(entry.standard.output),
            str(entry.standard.cached_input),
            f"{entry.batch.input} / {entry.batch.output}" if entry.batch else "-",
            entry.as_of.isoformat(),
            _notes(entry, catalog.upcoming(entry.id)),
        )
        for entry in catalog
    ]
    columns = [("model ID", False), ("status", False), ("API", False)]
    columns += [(name, True) for name in ("input", "output", "cached", "batch", "as of")]
    title = "Gemini price catalog: USD per 1M tokens, standard tier (batch: input / output)"
    console.print(make_table(title, [*columns, ("notes", False)], rows), crop=False)
    as_of = catalog.as_of.isoformat() if catalog.as_of else "unknown"
    console.print(
        f"Catalog as of {as_of}. Thinking tokens are billed as output. "
        f"Price a call: {PROG} price MODEL --input N --output N",
        markup=False,
    )
    sdk = sdk_default_api_version()
    console.print(
        f"API: the Gemini API version of the lanes the router builds ({chosen.source}; "
        f"set api_version= or GOOGLE_GENAI_API_VERSION to change it). The {sdk.source} "
        f"is {sdk.version}; 'not v1' models answer 404 on v1. Check every lane: {PROG} doctor",
        markup=False,
    )
    return 0


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``price`` and ``models`` commands to the parser."""
    price = commands.add_parser(
        "price",
        help="price a call from its token counts",
        description="Price one call exactly. --input counts every prompt token, cached ones "
        "included (as Gemini reports them); --output counts visible output tokens only: "
        "--thinking tokens are added to them, as Gemini bills thinking as output, and "
        "--images add each image's output tokens at the image rate.",
    )
    price.add_argument("model", metavar="MODEL", help="model ID, e.g. gemini-3.1-flash-lite")
    price.add_argument(
        "--input",
        type=token_count,
        required=True,
        metavar="N",
        help="prompt tokens, cached included",
    )
    price.add_argument(
        "--output",
        type=token_count,
        required=True,
        metavar="N",
        help="visible output tokens (thinking and images excluded)",
    )
    price.add_argument(
        "--cached",
        type=token_count,
        default=0,
        metavar="N",
        help="the part of --input read from cache",
    )
    price.add_argument(
        "--thinking",
        type=token_count,
        default=0,
        metavar="N",
        help="thinking tokens (billed as output)",
    )
    tiers = price.add_mutually_exclusive_group()
    tiers.add_argument(
        "--batch", action="store_true", help="Batch API prices (same as --tier batch)"
    )
    tiers.add_argument(
        "--tier", choices=SERVICE_TIERS, default="standard", help="service tier (default standard)"
    )
    price.add_argument(
        "--images",
        type=_image_spec,
        nargs="+",
        action="extend",
        default=[],
        metavar="SIZE:COUNT",
        help=f"generated images, e.g. 1K:2 ({', '.join(_IMAGE_SIZES)})",
    )
    price.set_defaults(handler=_cmd_price)

    models = commands.add_parser(
        "models",
        help="list the price catalog, with deprecated and shut-down model IDs",
        description="List every model of the packaged price catalog: status, prices per 1M "
        "tokens, and the replacement of deprecated and shut-down IDs.",
    )
    models.set_defaults(handler=_cmd_models)
