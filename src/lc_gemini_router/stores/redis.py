"""State in a Redis shared by every process of a deployment (``pip install
lc-gemini-router[redis]``).

:class:`RedisStore` makes a router's budget ledger, classifier score cache and circuit
breaker, all kept in one Redis, so replicas share spend, scores and breaker state:

- **ledger**: reservations and settlements are Lua scripts (atomic in Redis, see
  :mod:`~lc_gemini_router.stores.redis_lua`); a hold carries an expiry, so a process
  that dies holding money gives it back after ``reservation_ttl`` seconds; settling
  a hold twice counts it once (a marker per hold id);
- **scores**: by the SHA-256 key of the classifier input (no prompt text is stored),
  with the classifier settings' time to live;
- **breaker**: the same rules as :class:`~lc_gemini_router.CircuitBreaker`, with one
  half-open trial across every process.

Every command has a timeout (``timeout`` seconds, connect and read) and is not
retried, so a Redis that is down never hangs a call. What happens then is
``on_error``: ``"open"`` (default) lets the call go on unchecked, with a
:class:`~lc_gemini_router.StoreUnavailableWarning` and the reason among the
decision's reasons; ``"closed"`` raises :class:`~lc_gemini_router.StoreUnavailableError`
before any request. The score cache always fails open (a miss), and a settlement that
cannot be written warns: the answer it paid for is never lost.

Example:
    >>> from lc_gemini_router import Budget, GeminiRouter, RedisStore
    >>> store = RedisStore.from_url("redis://127.0.0.1:6379/0")
    >>> router = GeminiRouter(store=store, budgets=[Budget(limit="50.00")])  # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
import time
import warnings
import weakref
from collections.abc import Callable, Sequence
from decimal import ROUND_CEILING, Decimal
from typing import TYPE_CHECKING, Any, Literal

import redis
import redis.asyncio as aredis
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import NoBackoff
from redis.retry import Retry

from lc_gemini_router.budgets.accounts import Account, AccountState, Grant, Hold
from lc_gemini_router.budgets.ledger import DEFAULT_RESERVATION_TTL
from lc_gemini_router.config import ClassifierSettings
from lc_gemini_router.errors import StoreUnavailableError, StoreUnavailableWarning
from lc_gemini_router.routing.policy import ClassifierScore
from lc_gemini_router.stores import redis_lua

if TYPE_CHECKING:
    from lc_gemini_router.stores.redis_batches import RedisBatchStore

__all__ = ["OnError", "RedisBreaker", "RedisLedger", "RedisScoreStore", "RedisStore"]

OnError = Literal["open", "closed"]
"""When Redis does not answer: let the call go on unchecked, or refuse it."""
_UNAVAILABLE = (redis.ConnectionError, redis.TimeoutError, OSError)
_SETTLED_SECONDS = 86_400
"""How long a settled hold's marker lasts (a repeated settlement comes within seconds)."""
_KEPT_AFTER_WINDOW = 7 * 86_400
"""How long an account's keys outlive its window, so the last window can still be read."""


def _units(amount: Decimal) -> str:
    return str(int((amount * redis_lua.SCALE).to_integral_value(rounding=ROUND_CEILING)))


def _usd(units: Any) -> Decimal:
    text = units.decode() if isinstance(units, bytes) else str(units)
    return Decimal(int(text)).scaleb(-15).normalize() + 0


def _states(values: Sequence[Any], accounts: Sequence[Account]) -> tuple[AccountState, ...]:
    return tuple(
        AccountState(a.key, _usd(values[2 * i]), _usd(values[2 * i + 1]))
        for i, a in enumerate(accounts)
    )


class RedisStore:
    """A :class:`~lc_gemini_router.state.StateStore` in Redis (see the module docstring).

    Args:
        url: the Redis to use (``redis://host:port/db``, ``rediss://`` for TLS).
        namespace: prefix of every key, so several deployments can share one Redis.
        timeout: seconds each Redis command may take, connecting included.
        on_error: ``"open"`` or ``"closed"``, when Redis does not answer in time.
        reservation_ttl: seconds after which a hold that was never settled expires.
        clock: UNIX time source for windows, hold expiry and the breaker (tests set it).
        max_connections: connections per client (the blocking one, and the asyncio one
            of each event loop); callers beyond them wait up to ``timeout``.
    """

    def __init__(
        self,
        url: str = "redis://127.0.0.1:6379/0",
        *,
        namespace: str = "lc_gemini_router",
        timeout: float = 2.0,
        on_error: OnError = "open",
        reservation_ttl: float = DEFAULT_RESERVATION_TTL,
        clock: Callable[[], float] = time.time,
        max_connections: int = 64,
    ) -> None:
        self.url = url
        self.namespace = namespace
        self.timeout = timeout
        self.on_error: OnError = on_error
        self.reservation_ttl = reservation_ttl
        self.clock = clock
        self.max_connections = max_connections
        pool = redis.BlockingConnectionPool.from_url(
            url, retry=Retry(NoBackoff(), 0), **self._options()
        )
        self.client: redis.Redis = redis.Redis(connection_pool=pool)
        self._aclients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Async] = (
            weakref.WeakKeyDictionary()
        )
        self._ledger = RedisLedger(self)

    @classmethod
    def from_url(cls, url: str, **options: Any) -> RedisStore:
        """A store on the Redis at ``url``; ``options`` as for the constructor."""
        return cls(url, **options)

    def _options(self) -> dict[str, Any]:
        # A bounded pool: callers beyond it wait for a connection, up to the timeout.
        return {
            "socket_timeout": self.timeout,
            "socket_connect_timeout": self.timeout,
            "retry_on_timeout": False,
            "max_connections": self.max_connections,
            "timeout": self.timeout,
        }

    def _async(self) -> _Async:
        loop = asyncio.get_running_loop()
        state = self._aclients.get(loop)
        if state is None:
            pool = aredis.BlockingConnectionPool.from_url(
                self.url, retry=AsyncRetry(NoBackoff(), 0), **self._options()
            )
            client = aredis.Redis(connection_pool=pool)
            state = self._aclients[loop] = _Async(client)
        return state

    def aclient(self) -> aredis.Redis:
        """The asyncio client of the running event loop (one per loop: a client's
        connections belong to the loop that opened them)."""
        return self._async().client

    async def run_script(self, source: str, keys: list[str], args: list[str]) -> Any:
        """Run a Lua script with the asyncio client (by SHA, loaded on first use)."""
        state = self._async()
        script = state.scripts.get(source)
        if script is None:
            script = state.scripts[source] = state.client.register_script(source)
        return await script(keys, args)

    def key(self, *parts: str) -> str:
        return ":".join((self.namespace, *parts))

    def unavailable(self, what: str, error: BaseException, *, fail: bool) -> str:
        """Fail closed (raise) when ``fail`` and the store says so; else warn, return why."""
        reason = f"redis unavailable ({what}: {type(error).__name__}: {error})"
        if fail and self.on_error == "closed":
            raise StoreUnavailableError(f"{reason}; the store fails closed") from error
        warnings.warn(f"{reason}; going on without it", StoreUnavailableWarning, stacklevel=3)
        return f"{reason}: not checked (fail-open)"

    # -- the StateStore protocol ---------------------------------------------------

    def score_store(self, settings: ClassifierSettings) -> RedisScoreStore:
        return RedisScoreStore(self, settings.cache_ttl_seconds)

    def breaker(self, settings: ClassifierSettings) -> RedisBreaker:
        return RedisBreaker(
            self, settings.model, settings.failure_threshold, settings.cooldown_seconds
        )

    def budget_ledger(self) -> RedisLedger:
        return self._ledger

    def batch_store(self) -> RedisBatchStore:
        """Batch job records in this Redis (see :mod:`~lc_gemini_router.stores.redis_batches`)."""
        from lc_gemini_router.stores.redis_batches import RedisBatchStore

        return RedisBatchStore(self)

    def ping(self) -> bool:
        """Whether Redis answers now."""
        try:
            return bool(self.client.ping())
        except _UNAVAILABLE:
            return False

    def close(self) -> None:
        """Close the blocking client's connections."""
        self.client.connection_pool.disconnect()
        self.client.close()

    async def aclose(self) -> None:
        """Close the running loop's asyncio client (call it before the loop ends)."""
        state = self._aclients.pop(asyncio.get_running_loop(), None)
        if state is not None:
            await state.client.aclose(close_connection_pool=True)


class _Async:
    """One event loop's client and the scripts registered on it."""

    def __init__(self, client: aredis.Redis) -> None:
        self.client = client
        self.scripts: dict[str, Any] = {}


class RedisLedger:
    """The budget ledger in Redis (:class:`~lc_gemini_router.state.BudgetLedger`)."""

    def __init__(self, store: RedisStore) -> None:
        self.store = store
        client = store.client
        self._reserve = client.register_script(redis_lua.RESERVE)
        self._settle = client.register_script(redis_lua.SETTLE)
        self._status = client.register_script(redis_lua.STATUS)

    def now(self) -> float:
        return self.store.clock()

    def _keys(self, accounts: Sequence[Account]) -> list[str]:
        key = self.store.key
        return [key(part, a.key) for a in accounts for part in ("b", "h", "z")]

    @staticmethod
    def _expiry(account: Account) -> str:
        if account.expires_at is None:
            return "0"
        return str(int(account.expires_at) + _KEPT_AFTER_WINDOW)

    def _reserve_args(self, holds: Sequence[Hold], accounts: Sequence[Account]) -> list[str]:
        now = self.now()
        args = [repr(now), repr(now + self.store.reservation_ttl), str(len(holds))]
        for hold in holds:
            args += [hold.id, _units(hold.amount)]
        for account in accounts:
            args += [_units(account.limit), self._expiry(account)]
        return args

    def _settle_args(self, hold: str, amount: Decimal, accounts: Sequence[Account]) -> list[str]:
        args = [repr(self.now()), hold, _units(amount), str(_SETTLED_SECONDS)]
        return args + [self._expiry(a) for a in accounts]

    def _settle_keys(self, hold: str, accounts: Sequence[Account]) -> list[str]:
        return [self.store.key("settled", hold), *self._keys(accounts)]

    @staticmethod
    def _grant(raw: Sequence[Any], accounts: Sequence[Account]) -> Grant:
        count = int(raw[0])
        refused = tuple(int(i) for i in raw[1 : 1 + count])
        return Grant(refused, _states(raw[1 + count :], accounts))

    def _open(self, error: BaseException) -> Grant:
        return Grant((), (), note=self.store.unavailable("reserve", error, fail=True))

    def _lost(self, error: BaseException) -> tuple[AccountState, ...]:
        self.store.unavailable("settle", error, fail=False)
        return ()

    def reserve(self, holds: Sequence[Hold], accounts: Sequence[Account]) -> Grant:
        try:
            raw = self._reserve(self._keys(accounts), self._reserve_args(holds, accounts))
        except _UNAVAILABLE as exc:
            return self._open(exc)
        return self._grant(raw, accounts)

    def settle(
        self, hold: str, amount: Decimal, accounts: Sequence[Account]
    ) -> tuple[AccountState, ...]:
        try:
            keys = self._settle_keys(hold, accounts)
            raw = self._settle(keys, self._settle_args(hold, amount, accounts))
        except _UNAVAILABLE as exc:
            return self._lost(exc)
        return _states(raw, accounts)

    def status(self, accounts: Sequence[Account]) -> tuple[AccountState, ...]:
        raw = self._status(self._keys(accounts), [repr(self.now())])
        return _states(raw, accounts)

    def reset(self, accounts: Sequence[Account]) -> None:
        self.store.client.delete(*self._keys(accounts))

    async def areserve(self, holds: Sequence[Hold], accounts: Sequence[Account]) -> Grant:
        try:
            keys, args = self._keys(accounts), self._reserve_args(holds, accounts)
            raw = await self.store.run_script(redis_lua.RESERVE, keys, args)
        except _UNAVAILABLE as exc:
            return self._open(exc)
        return self._grant(raw, accounts)

    async def asettle(
        self, hold: str, amount: Decimal, accounts: Sequence[Account]
    ) -> tuple[AccountState, ...]:
        try:
            keys, args = (
                self._settle_keys(hold, accounts),
                self._settle_args(hold, amount, accounts),
            )
            raw = await self.store.run_script(redis_lua.SETTLE, keys, args)
        except _UNAVAILABLE as exc:
            return self._lost(exc)
        return _states(raw, accounts)

    async def astatus(self, accounts: Sequence[Account]) -> tuple[AccountState, ...]:
        keys = self._keys(accounts)
        raw = await self.store.run_script(redis_lua.STATUS, keys, [repr(self.now())])
        return _states(raw, accounts)

    async def areset(self, accounts: Sequence[Account]) -> None:
        await self.store.aclient().delete(*self._keys(accounts))


class RedisScoreStore:
    """Classifier scores in Redis (:class:`~lc_gemini_router.ScoreStore`), by hashed key."""

    def __init__(self, store: RedisStore, ttl: float) -> None:
        self.store = store
        self.ttl_ms = max(int(ttl * 1000), 1)

    def _key(self, key: str) -> str:
        return self.store.key("score", key)

    def _unavailable(self, what: str, error: BaseException) -> None:
        self.store.unavailable(f"score {what}", error, fail=False)

    def get(self, key: str) -> ClassifierScore | None:
        try:
            raw = self.store.client.get(self._key(key))
        except _UNAVAILABLE as exc:
            self._unavailable("get", exc)
            return None
        return ClassifierScore.model_validate_json(raw) if raw else None

    def peek(self, key: str) -> bool:
        try:
            return bool(self.store.client.exists(self._key(key)))
        except _UNAVAILABLE as exc:
            self._unavailable("peek", exc)
            return False

    def put(self, key: str, score: ClassifierScore) -> None:
        try:
            self.store.client.set(self._key(key), score.model_dump_json(), px=self.ttl_ms)
        except _UNAVAILABLE as exc:
            self._unavailable("put", exc)

    async def aget(self, key: str) -> ClassifierScore | None:
        try:
            raw = await self.store.aclient().get(self._key(key))
        except _UNAVAILABLE as exc:
            self._unavailable("get", exc)
            return None
        return ClassifierScore.model_validate_json(raw) if raw else None

    async def apeek(self, key: str) -> bool:
        try:
            return bool(await self.store.aclient().exists(self._key(key)))
        except _UNAVAILABLE as exc:
            self._unavailable("peek", exc)
            return False

    async def aput(self, key: str, score: ClassifierScore) -> None:
        try:
            await self.store.aclient().set(self._key(key), score.model_dump_json(), px=self.ttl_ms)
        except _UNAVAILABLE as exc:
            self._unavailable("put", exc)


class RedisBreaker:
    """The classifier's circuit breaker in Redis (:class:`~lc_gemini_router.Breaker`).

    An unreachable Redis lets the classifier be called (``on_error="open"``) or
    skips it (``"closed"``: the rules' fallback lane answers).
    """

    def __init__(self, store: RedisStore, name: str, threshold: int, cooldown: float) -> None:
        self.store = store
        self.name = store.key("breaker", name)
        self.threshold = threshold
        self.cooldown = cooldown
        self._lifetime = str(max(int(cooldown * 4), 3600))
        self._allow = store.client.register_script(redis_lua.BREAKER_ALLOW)
        self._failure = store.client.register_script(redis_lua.BREAKER_FAILURE)

    def _allow_args(self) -> list[str]:
        return [repr(self.store.clock()), repr(self.cooldown), self._lifetime]

    def _failure_args(self) -> list[str]:
        return [repr(self.store.clock()), str(self.threshold), self._lifetime]

    def _down(self, what: str, error: BaseException) -> bool:
        self.store.unavailable(f"breaker {what}", error, fail=False)
        return self.store.on_error == "open"

    @property
    def is_open(self) -> bool:
        """Whether the breaker refuses calls now (read without taking the trial)."""
        state = self.store.client.hmget(self.name, ["opened_at", "trial_at"])
        since = state[1] or state[0]
        return since is not None and self.store.clock() - float(since) < self.cooldown

    def allow(self) -> bool:
        try:
            return bool(self._allow([self.name], self._allow_args()))
        except _UNAVAILABLE as exc:
            return self._down("allow", exc)

    def record_success(self) -> None:
        try:
            self.store.client.delete(self.name)
        except _UNAVAILABLE as exc:
            self._down("success", exc)

    def record_failure(self) -> None:
        try:
            self._failure([self.name], self._failure_args())
        except _UNAVAILABLE as exc:
            self._down("failure", exc)

    async def aallow(self) -> bool:
        try:
            source = redis_lua.BREAKER_ALLOW
            return bool(await self.store.run_script(source, [self.name], self._allow_args()))
        except _UNAVAILABLE as exc:
            return self._down("allow", exc)

    async def arecord_success(self) -> None:
        try:
            await self.store.aclient().delete(self.name)
        except _UNAVAILABLE as exc:
            self._down("success", exc)

    async def arecord_failure(self) -> None:
        try:
            source = redis_lua.BREAKER_FAILURE
            await self.store.run_script(source, [self.name], self._failure_args())
        except _UNAVAILABLE as exc:
            self._down("failure", exc)
