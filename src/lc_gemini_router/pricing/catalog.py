"""The Gemini price catalog: dated price data read into typed records.

Prices live in a data file (``data/prices.toml`` in the package), never in code.
Each entry carries its lifecycle (preview / GA / deprecated / shut down, with the
replacement ID), its rates per service tier, and where and when they were checked.

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

import re
import sys
import warnings
from collections.abc import Iterable, Iterator, Mapping
from datetime import date
from decimal import Decimal
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from lc_gemini_router.errors import ConfigError, ModelLifecycleWarning, RetiredModelError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

__all__ = [
    "SERVICE_TIERS",
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
]

ServiceTier = Literal["standard", "batch", "flex", "priority"]
SERVICE_TIERS: tuple[ServiceTier, ...] = get_args(ServiceTier)
ModelStatus = Literal["preview", "ga", "deprecated", "shutdown"]

_NonNegative = Field(ge=0)


class Rates(BaseModel):
    """USD per 1M tokens for one tier (and one prompt-size band) of one model."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    input: Decimal = _NonNegative
    """Fresh (uncached) input tokens, including tool-use prompt tokens."""
    output: Decimal = _NonNegative
    """Output tokens, thinking tokens included (Gemini bills thinking as output)."""
    cached_input: Decimal = _NonNegative
    """Input tokens read from the context cache."""
    image_output: Decimal | None = Field(default=None, ge=0)
    """Generated image tokens; None for models that do not generate images."""


class TierPrices(Rates):
    """Rates of one service tier, with the optional long-prompt band."""

    long_context: Rates | None = None
    """Rates for a whole request whose prompt exceeds the model's long-context threshold."""


class GroundingPrice(BaseModel):
    """Grounding with Google Search / Maps: a fee per 1,000 queries past a free quota."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    usd_per_1k_queries: Decimal = _NonNegative
    free_queries_per_month: int = Field(default=0, ge=0)


class ModelPrice(BaseModel):
    """One model of the catalog: identity, lifecycle, and prices per service tier."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(min_length=1)
    display_name: str = ""
    aliases: tuple[str, ...] = ()
    status: ModelStatus = "ga"
    released: date | None = None
    deprecated_on: date | None = None
    shutdown_on: date | None = None
    replacement: str | None = None
    """The model ID to move to when this one is deprecated or shut down."""
    as_of: date
    """When these figures were last checked."""
    source: str = Field(min_length=1)
    """Where the figures come from."""
    long_context_threshold: int | None = Field(default=None, gt=0)
    """Prompt size (tokens) above which a tier's ``long_context`` rates apply."""
    free_tier: bool = False
    grounding: GroundingPrice | None = None
    image_tokens: dict[str, int] = Field(default_factory=dict)
    """Output tokens per generated image, by size (``"512"``, ``"1K"``, ``"2K"``, ``"4K"``)."""
    standard: TierPrices
    batch: TierPrices | None = None
    flex: TierPrices | None = None
    priority: TierPrices | None = None

    @model_validator(mode="after")
    def _check_consistency(self) -> ModelPrice:
        tiers = [t for t in (self.standard, self.batch, self.flex, self.priority) if t]
        if any(t.long_context for t in tiers) and self.long_context_threshold is None:
            msg = f"{self.id}: long_context rates need long_context_threshold"
            raise ValueError(msg)
        if self.image_tokens and self.standard.image_output is None:
            msg = f"{self.id}: image_tokens given but standard.image_output is missing"
            raise ValueError(msg)
        return self

    def tier(self, service_tier: ServiceTier) -> TierPrices | None:
        """The prices of one service tier, or None when the catalog has none for it."""
        prices: TierPrices | None = getattr(self, service_tier)
        return prices

    @property
    def retired(self) -> bool:
        """True once Gemini no longer serves this model ID."""
        return self.status == "shutdown"

    def lifecycle_notice(self) -> str | None:
        """A sentence naming the replacement when the ID is deprecated or shut down."""
        if self.status not in ("deprecated", "shutdown"):
            return None
        when = self.shutdown_on if self.status == "shutdown" else self.deprecated_on
        state = "has been shut down" if self.status == "shutdown" else "is deprecated"
        msg = f"model {self.id!r} {state}"
        if when:
            msg += f" (since {when.isoformat()})"
        if self.replacement:
            msg += f"; use {self.replacement!r} instead"
        return msg


# Versioned IDs such as "gemini-3.1-flash-lite-001" share the base model's price.
_VERSION_SUFFIX = re.compile(r"-\d{3}$")
_PREFIXES = ("models/", "publishers/google/models/")


def normalize_model_id(model: str) -> str:
    """Canonical spelling of a model ID: no ``models/`` prefix, no spaces, lower case.

    >>> normalize_model_id(" models/Gemini-3.1-Flash-Lite ")
    'gemini-3.1-flash-lite'
    """
    name = model.strip().lower()
    for prefix in _PREFIXES:
        if name.startswith(prefix):
            name = name[len(prefix) :]
    return name


class PriceCatalog:
    """An immutable set of :class:`ModelPrice` records, looked up by ID or alias.

    Build one with :func:`default_catalog` (the packaged data), :func:`load_catalog`
    (your own file), or derive one with :meth:`with_prices` / :meth:`merged`.
    """

    def __init__(self, models: Iterable[ModelPrice], *, as_of: date | None = None) -> None:
        self._models: dict[str, ModelPrice] = {}
        self._lookup: dict[str, str] = {}
        self.as_of = as_of
        for entry in models:
            key = normalize_model_id(entry.id)
            self._models[key] = entry
        for key, entry in self._models.items():
            self._lookup[key] = key
            for alias in entry.aliases:
                self._lookup.setdefault(normalize_model_id(alias), key)

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

    def with_model(self, entry: ModelPrice) -> PriceCatalog:
        """A copy of this catalog with ``entry`` added or replacing the same ID."""
        return PriceCatalog([*self._models.values(), entry], as_of=self.as_of)

    def with_prices(
        self,
        model: str,
        *,
        tier: ServiceTier = "standard",
        long_context: bool = False,
        **rates: str | int | Decimal,
    ) -> PriceCatalog:
        """A copy of this catalog with some rates of one model replaced.

        Use it for negotiated prices, or to price a free-tier key at $0. Rates are
        USD per 1M tokens (``input``, ``output``, ``cached_input``, ``image_output``).
        A model the catalog does not know is added; it then needs ``input``,
        ``output`` and ``cached_input``.

        Raises:
            ConfigError: an unknown rate name, a negative rate, or a new model
                with missing rates.
        """
        if tier not in SERVICE_TIERS:
            msg = f"unknown service tier {tier!r}; expected one of {', '.join(SERVICE_TIERS)}"
            raise ConfigError(msg)
        unknown = set(rates) - set(Rates.model_fields)
        if unknown:
            msg = f"unknown rate name(s) {sorted(unknown)}; expected {sorted(Rates.model_fields)}"
            raise ConfigError(msg)
        values = {name: Decimal(str(value)) for name, value in rates.items()}
        existing = self.get(model, warn=False)
        try:
            if existing is None:
                if long_context or tier != "standard":
                    msg = f"model {model!r} is not in the catalog: give its standard rates first"
                    raise ConfigError(msg)
                entry = ModelPrice(
                    id=normalize_model_id(model),
                    as_of=date.today(),
                    source="user override",
                    standard=TierPrices.model_validate(values),
                )
                return self.with_model(entry)
            current = existing.tier(tier)
            if long_context:
                if current is None or current.long_context is None:
                    msg = f"model {existing.id!r} has no long-context {tier} rates to override"
                    raise ConfigError(msg)
                band = Rates.model_validate({**current.long_context.model_dump(), **values})
                new_tier = current.model_copy(update={"long_context": band})
            elif current is None:
                new_tier = TierPrices.model_validate(values)
            else:
                new_tier = TierPrices.model_validate({**current.model_dump(), **values})
        except ValidationError as exc:
            msg = f"invalid price override for {model!r} ({tier}): {exc}"
            raise ConfigError(msg) from exc
        updated = existing.model_copy(update={tier: new_tier, "source": "user override"})
        return self.with_model(updated)

    def merged(self, other: PriceCatalog) -> PriceCatalog:
        """A catalog holding this one's entries, with ``other``'s entries winning."""
        return PriceCatalog([*self._models.values(), *other], as_of=other.as_of or self.as_of)

    # -- lookup -------------------------------------------------------------------

    def get(self, model: str, *, warn: bool = True) -> ModelPrice | None:
        """The entry for a model ID or alias, or None when the catalog does not know it.

        With ``warn=True`` a deprecated or shut-down ID issues a
        :class:`~lc_gemini_router.ModelLifecycleWarning` naming its replacement.
        """
        name = normalize_model_id(model)
        key = self._lookup.get(name) or self._lookup.get(_VERSION_SUFFIX.sub("", name))
        if key is None:
            return None
        entry = self._models[key]
        if warn:
            notice = entry.lifecycle_notice()
            if notice:
                warnings.warn(notice, ModelLifecycleWarning, stacklevel=2)
        return entry

    def ensure_servable(self, model: str) -> ModelPrice | None:
        """Check a model ID before any API call.

        Returns the entry (None for a model the catalog does not know, which may be
        newer than the catalog); warns for a deprecated ID.

        Raises:
            RetiredModelError: the ID has been shut down; the error names the replacement.
        """
        entry = self.get(model, warn=False)
        if entry is None:
            return None
        if entry.retired:
            detail = f"since {entry.shutdown_on.isoformat()}" if entry.shutdown_on else ""
            raise RetiredModelError(entry.id, entry.replacement, detail)
        notice = entry.lifecycle_notice()
        if notice:
            warnings.warn(notice, ModelLifecycleWarning, stacklevel=2)
        return entry

    def __contains__(self, model: object) -> bool:
        return isinstance(model, str) and self.get(model, warn=False) is not None

    def __iter__(self) -> Iterator[ModelPrice]:
        return iter(self._models.values())

    def __len__(self) -> int:
        return len(self._models)

    def __repr__(self) -> str:
        return f"PriceCatalog({len(self)} models, as_of={self.as_of})"


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
