"""The Gemini price catalog: dated price data read into typed records.

Prices live in a data file (``data/prices.toml`` in the package), never in code.
Each entry carries its lifecycle (preview / GA / deprecated / shut down, with the
replacement ID), its rates per service tier, and where and when they were checked; a
model whose prices change on a date has one entry per price period. The records
themselves (``ModelPrice``, ``Rates``...) are in :mod:`lc_gemini_router.pricing.entries`
and importable from here too.

Example:
    >>> from lc_gemini_router import default_catalog
    >>> catalog = default_catalog()
    >>> catalog.get("models/gemini-3.1-flash-lite").standard.input
    Decimal('0.25')
    >>> free = catalog.with_prices("gemini-3.1-flash-lite", input="0", output="0", cached_input="0")
    >>> free.get("gemini-3.1-flash-lite").standard.output
    Decimal('0')
"""

from __future__ import annotations

import itertools
import re
import sys
import threading
import warnings
from collections.abc import Iterable, Iterator, Mapping
from datetime import date, datetime, timezone
from decimal import Decimal
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from lc_gemini_router.errors import ConfigError, ModelLifecycleWarning, RetiredModelError
from lc_gemini_router.pricing.entries import (
    SERVICE_TIERS,
    CacheStoragePrice,
    GroundingPrice,
    ModelPrice,
    ModelStatus,
    Rates,
    ServiceTier,
    TierPrices,
)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

__all__ = [
    "SERVICE_TIERS",
    "CacheStoragePrice",
    "GroundingPrice",
    "ModelPrice",
    "ModelStatus",
    "PriceCatalog",
    "Rates",
    "ServiceTier",
    "TierPrices",
    "default_catalog",
    "load_catalog",
    "normalize_model_id",
    "utc_day",
]

# Versioned IDs such as "gemini-3.1-flash-lite-001" share the base model's price.
_VERSION_SUFFIX = re.compile(r"-\d{3}$")
# "models/x", "publishers/google/models/x", and Vertex AI's full resource name
# "projects/P/locations/L/publishers/google/models/x" all name model x.
_RESOURCE_PREFIX = re.compile(r"^(?:projects/[^/]+/locations/[^/]+/)?(?:publishers/[^/]+/)?models/")


@lru_cache(maxsize=1024)  # pure, and asked for on every priced call
def normalize_model_id(model: str) -> str:
    """Canonical spelling of a model ID: no resource-name prefix, no spaces, lower case.

    >>> normalize_model_id(" models/Gemini-3.1-Flash-Lite ")
    'gemini-3.1-flash-lite'
    >>> normalize_model_id("projects/p/locations/us/publishers/google/models/gemini-3.1-pro")
    'gemini-3.1-pro'
    """
    return _RESOURCE_PREFIX.sub("", model.strip().lower(), count=1)


def utc_day(when: date | datetime | None = None) -> date:
    """The UTC calendar day of ``when`` (now when None); a naive datetime is taken as UTC."""
    if type(when) is date:  # the usual case, and the cheapest
        return when
    if when is None:
        return datetime.now(timezone.utc).date()
    if isinstance(when, datetime):
        return when.astimezone(timezone.utc).date() if when.tzinfo else when.date()
    return when


def _overlap(a: ModelPrice, b: ModelPrice) -> bool:
    """Whether two price periods share a day (open ends reach as far as dates go)."""
    a_from, a_until = a.effective_from or date.min, a.effective_until or date.max
    b_from, b_until = b.effective_from or date.min, b.effective_until or date.max
    return a_from <= b_until and b_from <= a_until


def _start(entry: ModelPrice) -> date:
    return entry.effective_from or date.min


class PriceCatalog:
    """An immutable set of :class:`ModelPrice` records, looked up by ID or alias and date.

    Build one with :func:`default_catalog` (the packaged data), :func:`load_catalog`
    (your own file), or derive one with :meth:`with_prices` / :meth:`merged` /
    :meth:`with_free_tier`. Iterating yields one entry per model: the one in force today
    (or, for a model without one, its nearest period); :meth:`periods` lists them all.

    Args:
        models: the entries; several per ID when its prices change on dates.
        as_of: when the catalog as a whole was last checked.
        free_tier: price calls on a free-tier key: every model that has a free tier
            costs $0, and each breakdown says so (``CostBreakdown.free_tier``).

    Raises:
        ConfigError: two periods of one model overlap.
    """

    def __init__(
        self,
        models: Iterable[ModelPrice],
        *,
        as_of: date | None = None,
        free_tier: bool = False,
    ) -> None:
        self.as_of = as_of
        self.free_tier = free_tier
        grouped: dict[str, list[ModelPrice]] = {}
        for entry in models:
            grouped.setdefault(normalize_model_id(entry.id), []).append(entry)
        self._periods: dict[str, tuple[ModelPrice, ...]] = {}
        for key, entries in grouped.items():
            entries.sort(key=_start)
            for earlier, later in itertools.pairwise(entries):
                if _overlap(earlier, later):
                    msg = f"price periods of {key!r} overlap: give each an effective date range"
                    raise ConfigError(msg)
            self._periods[key] = tuple(entries)
        self._lookup: dict[str, str] = {key: key for key in self._periods}
        for key, periods in self._periods.items():
            for alias in {a for entry in periods for a in entry.aliases}:
                self._lookup.setdefault(normalize_model_id(alias), key)
        self._warned: set[str] = set()
        self._warned_lock = threading.Lock()

    # -- construction -------------------------------------------------------------

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], *, origin: str = "<mapping>") -> PriceCatalog:
        """Build a catalog from parsed TOML/JSON data (a ``models`` list of tables)."""
        raw_models = data.get("models")
        if not isinstance(raw_models, list) or not raw_models:
            msg = f"price catalog {origin}: expected a non-empty 'models' list"
            raise ConfigError(msg)
        models = []
        for index, raw in enumerate(raw_models):
            try:
                models.append(ModelPrice.model_validate(raw))
            except ValidationError as exc:
                name = raw.get("id", f"#{index}") if isinstance(raw, Mapping) else f"#{index}"
                msg = f"price catalog {origin}: invalid entry {name}: {exc}"
                raise ConfigError(msg) from exc
        as_of = data.get("as_of")
        return cls(models, as_of=as_of if isinstance(as_of, date) else None)

    def _derived(self, models: Iterable[ModelPrice], *, as_of: date | None = None) -> PriceCatalog:
        return PriceCatalog(models, as_of=as_of or self.as_of, free_tier=self.free_tier)

    def entries(self) -> Iterator[ModelPrice]:
        """Every price period of every model."""
        for periods in self._periods.values():
            yield from periods

    def with_model(self, entry: ModelPrice) -> PriceCatalog:
        """A copy with ``entry`` added, replacing the periods of its ID that it overlaps.

        An entry without effective dates replaces every period of its model.
        """
        key = normalize_model_id(entry.id)
        kept = [
            e for e in self.entries() if normalize_model_id(e.id) != key or not _overlap(e, entry)
        ]
        return self._derived([*kept, entry])

    def with_free_tier(self, enabled: bool = True) -> PriceCatalog:
        """A copy that prices calls as made with a free-tier key (``enabled=True``).

        Models with a free tier (``free_tier = true`` in the data) then cost $0 and
        their breakdowns say ``free_tier=True``; models without one keep their prices.
        """
        return PriceCatalog(self.entries(), as_of=self.as_of, free_tier=enabled)

    def with_prices(
        self,
        model: str,
        *,
        tier: ServiceTier | None = None,
        long_context: bool | None = None,
        **rates: str | int | Decimal,
    ) -> PriceCatalog:
        """A copy of this catalog with some rates of one model replaced.

        Use it for negotiated prices, or any rate the catalog lacks. Rates are USD per
        1M tokens (``input``, ``output``, ``cached_input``, ``image_output``); only the
        rates named change. An override reaches **every service tier, both prompt-size
        bands and every price period** of the model, unless narrowed:

        - ``tier="standard"`` (or ``batch``, ``flex``, ``priority``): that tier only;
          naming a tier the model lacks adds it (then give ``input`` and ``output``).
        - ``long_context=False``: the base band only; ``True``: the > threshold band only.

        A model the catalog does not know is added with standard rates (it needs
        ``input`` and ``output``). For a free-tier key, use :meth:`with_free_tier`.

        Raises:
            ConfigError: an unknown rate name or tier, a rate that is not a number >= 0,
                a new model without ``input`` and ``output``, or ``long_context=True``
                for a model without long-context rates.
        """
        if tier is not None and tier not in SERVICE_TIERS:
            msg = f"unknown service tier {tier!r}; expected one of {', '.join(SERVICE_TIERS)}"
            raise ConfigError(msg)
        unknown = set(rates) - set(Rates.model_fields)
        if unknown:
            msg = f"unknown rate name(s) {sorted(unknown)}; expected {sorted(Rates.model_fields)}"
            raise ConfigError(msg)
        try:
            values = {name: Decimal(str(value)) for name, value in rates.items()}
        except ArithmeticError as exc:  # decimal.InvalidOperation
            msg = f"invalid price override for {model!r}: rates must be numbers ({rates})"
            raise ConfigError(msg) from exc
        periods = self.periods(model)
        try:
            if not periods:
                return self.with_model(_new_model(model, values, tier, long_context))
            updated = [_override(e, values, tier, long_context) for e in periods]
        except ValidationError as exc:
            msg = f"invalid price override for {model!r} ({tier or 'every tier'}): {exc}"
            raise ConfigError(msg) from exc
        key = normalize_model_id(periods[0].id)
        others = [e for e in self.entries() if normalize_model_id(e.id) != key]
        return self._derived([*others, *updated])

    def merged(self, other: PriceCatalog) -> PriceCatalog:
        """A catalog holding this one's entries, with ``other``'s models winning.

        A model ``other`` knows keeps only ``other``'s price periods.
        """
        theirs = {normalize_model_id(e.id) for e in other.entries()}
        mine = [e for e in self.entries() if normalize_model_id(e.id) not in theirs]
        return self._derived([*mine, *other.entries()], as_of=other.as_of)

    # -- lookup -------------------------------------------------------------------

    def _key(self, model: str) -> str | None:
        name = normalize_model_id(model)
        return self._lookup.get(name) or self._lookup.get(_VERSION_SUFFIX.sub("", name))

    def periods(self, model: str) -> tuple[ModelPrice, ...]:
        """Every price period of a model ID or alias, oldest first (empty when unknown)."""
        key = self._key(model)
        return self._periods[key] if key else ()

    def get(
        self, model: str, *, at: date | datetime | None = None, warn: bool = True
    ) -> ModelPrice | None:
        """The entry in force for a model ID or alias on a day (today, UTC, by default).

        Returns None when the catalog does not know the model, or has no price for it
        on that day. With ``warn=True`` a deprecated or shut-down ID issues a
        :class:`~lc_gemini_router.ModelLifecycleWarning` naming its replacement.
        """
        day = utc_day(at)
        entry = next((e for e in self.periods(model) if e.in_force(day)), None)
        if entry is not None and warn:
            notice = entry.lifecycle_notice()
            if notice:
                warnings.warn(notice, ModelLifecycleWarning, stacklevel=2)
        return entry

    def current(self, model: str) -> ModelPrice | None:
        """The entry in force today, else the next period to start, else the last one.

        For what does not depend on a date: lifecycle, aliases, image tokens.
        """
        periods = self.periods(model)
        today = utc_day()
        return (
            next((e for e in periods if e.in_force(today)), None)
            or next((e for e in periods if _start(e) > today), None)
            or (periods[-1] if periods else None)
        )

    def upcoming(self, model: str, *, after: date | None = None) -> tuple[ModelPrice, ...]:
        """The price periods of a model that start after ``after`` (today by default)."""
        day = after or utc_day()
        return tuple(e for e in self.periods(model) if _start(e) > day)

    def ensure_servable(self, model: str) -> ModelPrice | None:
        """Check a model ID before any API call.

        Returns its current entry (None for a model the catalog does not know, which
        may be newer than the catalog); warns for a deprecated ID.

        Raises:
            RetiredModelError: the ID has been shut down; the error names the replacement.
        """
        entry = self.current(model)
        if entry is None:
            return None
        if entry.retired:
            detail = f"since {entry.shutdown_on.isoformat()}" if entry.shutdown_on else ""
            raise RetiredModelError(entry.id, entry.replacement, detail)
        notice = entry.lifecycle_notice()
        if notice:
            warnings.warn(notice, ModelLifecycleWarning, stacklevel=2)
        return entry

    def first_warning(self, key: str) -> bool:
        """True the first time ``key`` is asked for: warnings this catalog gives once."""
        with self._warned_lock:
            if key in self._warned:
                return False
            self._warned.add(key)
            return True

    def __contains__(self, model: object) -> bool:
        return isinstance(model, str) and self._key(model) is not None

    def __iter__(self) -> Iterator[ModelPrice]:
        for key in self._periods:
            entry = self.current(key)
            if entry is not None:
                yield entry

    def __len__(self) -> int:
        return len(self._periods)

    def __repr__(self) -> str:
        free = ", free_tier=True" if self.free_tier else ""
        return f"PriceCatalog({len(self)} models, as_of={self.as_of}{free})"


def _new_model(
    model: str, values: dict[str, Decimal], tier: ServiceTier | None, long_context: bool | None
) -> ModelPrice:
    if long_context or tier not in (None, "standard"):
        msg = f"model {model!r} is not in the catalog: give its standard rates first"
        raise ConfigError(msg)
    if values.get("input") is None or values.get("output") is None:
        msg = f"model {model!r} is not in the catalog: a new model needs input and output rates"
        raise ConfigError(msg)
    return ModelPrice(
        id=normalize_model_id(model),
        as_of=date.today(),
        source="user override",
        standard=TierPrices.model_validate(values),
    )


def _override(
    entry: ModelPrice,
    values: dict[str, Decimal],
    tier: ServiceTier | None,
    long_context: bool | None,
) -> ModelPrice:
    """One price period with ``values`` applied where ``tier`` and ``long_context`` reach."""
    update: dict[str, Any] = {"source": "user override"}
    for name in (tier,) if tier else SERVICE_TIERS:
        current = entry.tier(name)
        if current is None:
            if tier is None:
                continue  # reaching every tier means every tier the model has
            if values.get("input") is None or values.get("output") is None:
                msg = f"model {entry.id!r} has no {name} rates: give input and output to add them"
                raise ConfigError(msg)
            update[name] = TierPrices.model_validate(values)
            continue
        base = current.model_dump(exclude={"long_context"})
        band = current.long_context
        if long_context is not True:
            base.update(values)
        if long_context is not False and band is not None:
            band = Rates.model_validate({**band.model_dump(), **values})
        update[name] = TierPrices.model_validate({**base, "long_context": band})
    if long_context is True and not any(
        prices.long_context for prices in update.values() if isinstance(prices, TierPrices)
    ):
        where = f" {tier}" if tier else ""
        msg = f"model {entry.id!r} has no long-context{where} rates to override"
        raise ConfigError(msg)
    return entry.model_copy(update=update)


def load_catalog(path: str | Path) -> PriceCatalog:
    """Read a price catalog from a TOML or JSON file in the packaged file's format.

    To change a few entries and keep the rest, merge it onto the default:
    ``default_catalog().merged(load_catalog("my_prices.toml"))``.

    Raises:
        ConfigError: the file is missing, malformed, or holds an invalid entry.
    """
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        msg = f"cannot read price catalog {file}: {exc}"
        raise ConfigError(msg) from exc
    return _parse_catalog(text, origin=str(file), json_format=file.suffix.lower() == ".json")


def _parse_catalog(text: str, *, origin: str, json_format: bool) -> PriceCatalog:
    try:
        if json_format:
            import json

            data = json.loads(text)
        else:
            data = tomllib.loads(text)
    except ValueError as exc:  # TOMLDecodeError and JSONDecodeError are ValueErrors
        msg = f"price catalog {origin} is not valid {'JSON' if json_format else 'TOML'}: {exc}"
        raise ConfigError(msg) from exc
    if not isinstance(data, Mapping):
        msg = f"price catalog {origin}: expected a table at the top level"
        raise ConfigError(msg)
    return PriceCatalog.from_mapping(data, origin=origin)


@lru_cache(maxsize=1)
def default_catalog() -> PriceCatalog:
    """The catalog shipped with the package (read once, then shared: it is immutable)."""
    data = resources.files("lc_gemini_router.pricing").joinpath("data/prices.toml")
    origin = "lc_gemini_router/pricing/data/prices.toml"
    return _parse_catalog(data.read_text("utf-8"), origin=origin, json_format=False)
