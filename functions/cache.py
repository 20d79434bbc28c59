"""Two-tier cache for per-user reads: categories, TTLs, invalidation and stats.

Reads of profiles, expenses, orders, recipes and analyses go through
`Cache.get_or_load`. L1 is an in-process cachetools TLRU cache (one bound on
entries for every category, a TTL per category) guarded by a lock because
functions-framework serves requests on threads. L2 is Redis when a URL is
configured, shared by every instance; values travel as compact JSON
(`separators=(",", ":")`, no msgpack dependency) and are stored with the
category's TTL. L1 keeps each value as read-only Python objects (`FrozenDict`,
`FrozenList`) handed to every reader without a copy: a hit costs a lookup, and
a caller that tries to change a shared value gets a TypeError rather than
silently changing what other readers see.

Read-your-writes. Every entry is tagged with a generation token made of a
per-category generation and a per-(user, category) generation. With Redis the
generations live in Redis: an invalidation replaces them with fresh random
values, and every read checks them before trusting any tier, so an entry
written under an older generation on any instance is never served again. The
check is local when the instance mirrors the generations it has read
(`functions.cache_tracking`: Redis pushes a message to every instance the
moment one changes), and one MGET round trip otherwise (tracking off, refused
by the server, or its connection not proven alive in the last second); see
that module for the delivery window it leaves. Random values rather than
counters mean a generation key lost to eviction or a Redis restart can never
come back with a value an old entry was tagged with. Without Redis the
generations are in-process counters, which gives read-your-writes within one
instance only.

# Limitation: without Redis, or while Redis is unreachable, instances do not
# see each other's invalidations: another instance may serve data older than a
# write for up to that category's TTL (`TTL_SECONDS`). An invalidation that
# cannot reach Redis still clears this instance's L1 at once, is counted in
# `l2Errors`, and is replayed to Redis when it is reachable again; until that
# replay (normally the first request or housekeeping tick after the backoff),
# instances that did not notice the outage may serve their older L1 entries,
# and if this instance dies before replaying, for up to the TTL.

# Limitation: generations are only as durable as Redis. A Redis restored from
# an older snapshot, or a replica promoted before it received the latest
# writes, brings back generations that entries older than those writes carry,
# and such entries are served until their TTL. Memorystore's basic tier
# restarts empty, which is safe; after a restore or failover of a persistent
# or replicated Redis, run `python -m functions clear-cache` (README) so every
# entry misses once.

# Limitation: a Redis call waits up to twice the 0.25 s socket timeout (one
# immediate retry replaces a connection Redis closed), and opening the mirror
# adds its own, so a stalled Redis can hold a request about 1 s before it is
# declared down; later requests skip Redis until the backoff ends.

Stampedes. Concurrent misses of one key on one instance share one loader call
(a per-key in-flight record); across instances with Redis a short `SET NX PX`
lock makes the others wait and re-read L2, and load themselves only once the
lock is gone or its TTL has passed (the holder died or is stuck).

Outages. Any Redis failure degrades to L1 plus the loader and never fails the
request; one warning is logged per outage (on logger `functions.cache`) and
Redis is retried after a backoff that grows from 2 s to 30 s.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import itertools
import json
import logging
import secrets
import threading
import time
import weakref
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Any, NoReturn, TypeVar

from cachetools import TLRUCache

from functions.cache_tracking import GenerationMirror
from functions.config import Settings

__all__ = ["TTL_SECONDS", "Cache", "Category", "FrozenDict", "FrozenList"]

T = TypeVar("T")

log = logging.getLogger("functions.cache")


class Category(StrEnum):
    """What kind of data a cache entry holds; each kind has its own TTL."""

    PROFILE = "profile"
    EXPENSES = "expenses"
    ORDERS = "orders"
    RECIPES = "recipes"
    ANALYSIS = "analysis"


TTL_SECONDS: Mapping[Category, int] = MappingProxyType(
    {
        Category.PROFILE: 5 * 60,
        Category.EXPENSES: 3 * 60,
        Category.ORDERS: 3 * 60,
        Category.RECIPES: 10 * 60,
        Category.ANALYSIS: 60 * 60,
    }
)
"""Seconds an entry of each category lives; the one place these are set."""

_PREFIX = "cache:v1"
_CATEGORY_GEN_PREFIX = f"{_PREFIX}:cg:"
_USER_GEN_PREFIX = f"{_PREFIX}:ug:"
_USER_GEN_TTL_S = 24 * 60 * 60
_KEY_HASH_OVER = 64
_SOCKET_TIMEOUT_S = 0.25
_BACKOFF_MIN_S = 2.0
_BACKOFF_MAX_S = 30.0
_MAX_PENDING = 10_000
_RELEASE_LOCK_LUA = """
if redis.call('get', KEYS[1]) == ARGV[1] then
    return redis.call('del', KEYS[1])
end
return 0
"""

_L1Key = tuple[Category, str, str]


class _L2Error(Exception):
    """A Redis call failed; already counted and logged by `_l2_failed`."""


@dataclass(frozen=True, slots=True)
class _Entry:
    token: str
    value: Any  # frozen: shared by every reader
    expires: float


def _entry_expiry(_key: _L1Key, entry: _Entry, _now: float) -> float:
    return entry.expires


class _L1(TLRUCache[_L1Key, _Entry]):
    """A TLRU cache that reports which category each eviction came from."""

    def __init__(
        self,
        maxsize: int,
        timer: Callable[[], float],
        on_evict: Callable[[Category], None],
    ) -> None:
        super().__init__(maxsize, ttu=_entry_expiry, timer=timer)
        self._on_evict = on_evict

    def popitem(self) -> tuple[_L1Key, _Entry]:
        # cachetools calls popitem only to make room, after dropping expired
        # items, so every call here is a real eviction of a live entry.
        key, entry = super().popitem()
        self._on_evict(key[0])
        return key, entry


class _Flight:
    """One loader call in progress, shared by every thread missing its key."""

    __slots__ = ("done", "error", "value", "waiters")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.value: Any = None
        self.error: BaseException | None = None
        self.waiters = 0


@dataclass
class _Counters:
    hits: int = 0
    misses: int = 0
    evictions: int = 0
    l2_errors: int = 0


def _encode(value: Any) -> bytes:
    """The compact JSON stored in Redis (portable across Python versions)."""
    return json.dumps(
        value, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode()


def _read_only(*_args: Any, **_kwargs: Any) -> NoReturn:
    raise TypeError("cached values are shared and read-only: copy before changing")


class FrozenDict(dict[str, Any]):
    """A dict that refuses changes: cached values are shared by every reader.

    It serialises like a dict (json, Flask); copies (`dict(d)`, `copy.copy`,
    `copy.deepcopy`) are plain, mutable dicts and lists.
    """

    __slots__ = ()
    __setitem__ = __delitem__ = __ior__ = _read_only
    clear = pop = popitem = setdefault = update = _read_only

    def __copy__(self) -> dict[str, Any]:
        return dict(self)

    def __deepcopy__(self, memo: dict[int, Any]) -> dict[str, Any]:
        return _thaw(self)

    def __reduce__(self) -> tuple[Any, ...]:
        return (dict, (_thaw(self),))


class FrozenList(list[Any]):
    """A list that refuses changes; see `FrozenDict`."""

    __slots__ = ()
    __setitem__ = __delitem__ = __iadd__ = __imul__ = _read_only
    append = extend = insert = pop = remove = clear = sort = reverse = _read_only

    def __copy__(self) -> list[Any]:
        return list(self)

    def __deepcopy__(self, memo: dict[int, Any]) -> list[Any]:
        return _thaw(self)

    def __reduce__(self) -> tuple[Any, ...]:
        return (list, (_thaw(self),))


def _freeze(value: Any) -> Any:
    # The constructors fill the frozen types without calling their methods.
    if isinstance(value, dict):
        return FrozenDict({key: _freeze(item) for key, item in value.items()})
    if isinstance(value, list):
        return FrozenList(_freeze(item) for item in value)
    return value


def _thaw(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _thaw(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_thaw(item) for item in value]
    return value


def _category_gen_key(category: Category) -> str:
    return f"{_CATEGORY_GEN_PREFIX}{category}"


def _user_gen_key(category: Category, uid: str) -> str:
    return f"{_USER_GEN_PREFIX}{category}:{uid}"


def _data_key(
    category: Category, uid: str, token: str, key: str, kind: str = "d"
) -> str:
    # Long query keys are hashed to keep Redis keys (and memory) small.
    if len(key) > _KEY_HASH_OVER:
        key = "#" + hashlib.blake2b(key.encode(), digest_size=16).hexdigest()
    return f"{_PREFIX}:{kind}:{category}:{uid}:{token}:{key}"


def _new_generation() -> str:
    return secrets.token_hex(6)


def _gc_loop(ref: weakref.ref[Cache], stop: threading.Event, interval: float) -> None:
    # A weak reference lets an unclosed Cache be garbage collected; the thread
    # then notices and exits.
    while not stop.wait(interval):
        cache = ref()
        if cache is None:
            return
        try:
            cache._housekeeping()
        except Exception:
            log.exception("cache housekeeping failed", extra={"event": "cache_gc"})
        del cache


class Cache:
    """Per-user read cache over L1 (in-process) and optional L2 (Redis).

    Without Redis, read-your-writes holds within one instance, and another
    instance may serve data older than a write for up to the category's TTL
    (see the module's `# Limitation:`). With Redis it holds across instances.
    """

    _GC_INTERVAL_S = 30.0
    _LOCK_TTL_S = 5.0

    def __init__(
        self,
        *,
        redis_url: str | None = None,
        max_entries: int = 10_000,
        ttls: Mapping[Category, int] | None = None,
        enabled: bool = True,
        timer: Callable[[], float] = time.monotonic,
        redis_client: Any = None,
        tracking: bool = True,
    ) -> None:
        """Build the cache; nothing connects until the first read.

        `ttls` overrides some or all of `TTL_SECONDS`. `timer` drives TTLs and
        the Redis retry backoff (tests pass a fake clock). `redis_client` is a
        ready redis-py client used instead of building one from `redis_url`.
        With `enabled=False` every read runs its loader. `tracking` mirrors
        the Redis generations in the instance (see `functions.cache_tracking`)
        so an L1 hit costs no round trip; False makes every read ask Redis.
        """
        if max_entries < 1:
            raise ValueError(f"max_entries must be at least 1, got {max_entries}")
        merged = {**TTL_SECONDS, **(ttls or {})}
        for category, ttl in merged.items():
            if ttl <= 0:
                raise ValueError(f"TTL of {category} must be positive, got {ttl}")
        self._ttls: dict[Category, int] = {c: int(merged[c]) for c in Category}
        self._max_ttl = max(self._ttls.values())
        self._max_entries = max_entries
        self._enabled = enabled
        self._timer = timer
        self._redis_url = redis_url
        self._client: Any = redis_client
        self._owns_client = redis_client is None
        self._release_script: Any = None
        self._l2_configured = enabled and (
            redis_url is not None or redis_client is not None
        )
        self._lock_ttl_s = self._LOCK_TTL_S
        self._tracking = tracking
        self._mirror: GenerationMirror | None = None
        self._mirror_lock = threading.Lock()
        self._mirror_retry_at = 0.0

        # One lock guards L1, counters, generations, flights and L2 state. It
        # is never held across a Redis call or a loader.
        self._lock = threading.Lock()
        self._client_lock = threading.Lock()
        self._counters = {c: _Counters() for c in Category}
        self._l1 = self._new_l1()
        self._flights: dict[tuple[Category, str, str, str], _Flight] = {}
        self._gen_seq = itertools.count(1)
        self._user_gens: dict[tuple[Category, str], tuple[int, float]] = {}
        self._category_gens: dict[Category, int] = dict.fromkeys(Category, 0)

        self._l2_healthy = True
        self._l2_probing = False
        self._l2_retry_at = 0.0
        self._l2_backoff = _BACKOFF_MIN_S
        self._l2_down_since = 0.0
        # Bumped whenever L2 goes down or comes back; a load that started in
        # another epoch does not write its result into L1.
        self._epoch = 0
        # Invalidations Redis missed, each with the number of its latest miss:
        # a replay forgets only those not missed again while it ran.
        self._pending: dict[tuple[Category, str | None], int] = {}
        self._misses_seq = itertools.count(1)
        self._pending_overflow = 0  # the number of the latest miss past the bound

        self._stop = threading.Event()
        self._gc_thread: threading.Thread | None = None
        if enabled:
            self._gc_thread = threading.Thread(
                target=_gc_loop,
                args=(weakref.ref(self), self._stop, self._GC_INTERVAL_S),
                name="cache-gc",
                daemon=True,
            )
            self._gc_thread.start()

    @classmethod
    def from_settings(cls, settings: Settings) -> Cache:
        """A cache configured from `cache_enabled`, `cache_redis_url`,
        `cache_max_entries` and `cache_tracking`."""
        return cls(
            redis_url=settings.cache_redis_url,
            max_entries=settings.cache_max_entries,
            enabled=settings.cache_enabled,
            tracking=settings.cache_tracking,
        )

    # -- reads -----------------------------------------------------------

    def get_or_load(
        self, uid: str, category: Category, key: str, loader: Callable[[], T]
    ) -> tuple[T, bool]:
        """The value for (`uid`, `category`, `key`) and whether it came from cache.

        The value is served from L1 or L2 only when no invalidation of that
        user and category has completed since it was loaded; otherwise
        `loader` runs (once for all concurrent callers of the key) and its
        JSON-serialisable result is cached. Every call, the loading one
        included, gets the value in JSON form (tuples come back as lists) as
        a `FrozenDict`/`FrozenList` shared with other readers: changing it
        raises TypeError, so copy it first. The second item is False exactly
        when this call ran the loader. Redis failures never raise; loader
        errors propagate and nothing is cached.
        """
        return self._read(uid, category, key, loader, counted=True)

    def refresh(
        self, uid: str, category: Category, key: str, loader: Callable[[], Any]
    ) -> None:
        """Cache the value for (`uid`, `category`, `key`) now, as the next
        read's miss would, unless it is cached already; not counted as a read
        in `stats` (a write path that knows which read comes next calls it).
        Nothing when the cache is off.

        Redis failures never raise; loader errors propagate.
        """
        if self._enabled:
            self._read(uid, category, key, loader, counted=False)

    def _read(
        self,
        uid: str,
        category: Category,
        key: str,
        loader: Callable[[], T],
        *,
        counted: bool,
    ) -> tuple[T, bool]:
        """`get_or_load`; `counted` says whether `stats` count it as a read."""
        category = Category(category)
        if not uid:
            raise ValueError("uid must be a non-empty string")
        if not self._enabled:
            with self._lock:
                self._counters[category].misses += 1
            return loader(), False

        started = self._timer()
        client, token = self._current_token(category, uid)
        with self._lock:
            entry = self._l1.get((category, uid, key))
            hit = entry is not None and entry.token == token
            if hit and counted:
                self._counters[category].hits += 1
        if entry is not None and hit:
            return entry.value, True
        return self._load_once(
            client, category, uid, key, token, loader, started, counted
        )

    def _current_token(self, category: Category, uid: str) -> tuple[Any, str]:
        """The Redis client to use (None: L2 is skipped) and the generation
        token entries of (`uid`, `category`) must carry to be served."""
        client = self._usable_client()
        if client is not None:
            try:
                return client, self._redis_token(client, category, uid)
            except _L2Error:
                client = None
        return None, self._local_token(category, uid)

    def _load_once(
        self,
        client: Any,
        category: Category,
        uid: str,
        key: str,
        token: str,
        loader: Callable[[], T],
        started: float,
        counted: bool,
    ) -> tuple[T, bool]:
        # The token is part of the flight key: a read that starts after an
        # invalidation must not join a load that began before it.
        flight_key = (category, uid, key, token)
        with self._lock:
            flight = self._flights.get(flight_key)
            leader = flight is None
            if flight is None:
                flight = self._flights[flight_key] = _Flight()
            else:
                flight.waiters += 1

        if not leader:
            flight.done.wait()
            if flight.error is not None:
                raise flight.error
            if counted:
                with self._lock:
                    self._counters[category].hits += 1
            return flight.value, True

        try:
            value, from_cache = self._fill(
                client, category, uid, key, token, loader, started, counted
            )
            flight.value = value
        except BaseException as err:
            flight.error = err
            raise
        finally:
            with self._lock:
                del self._flights[flight_key]
            flight.done.set()
        return value, from_cache

    def _fill(
        self,
        client: Any,
        category: Category,
        uid: str,
        key: str,
        token: str,
        loader: Callable[[], T],
        started: float,
        counted: bool,
    ) -> tuple[Any, bool]:
        """Fill L1 from L2 or the loader; `counted` says whether this is a
        read for `stats`.

        Returns (value, came_from_cache); the value is the frozen JSON form,
        the same whichever tier produced it.
        """
        with self._lock:
            epoch = self._epoch
        l1_key = (category, uid, key)
        expires = started + self._ttls[category]
        if client is None:
            _, value = self._run_loader(category, loader, counted)
            self._store_l1(l1_key, token, value, expires, epoch)
            return value, False

        data_key = _data_key(category, uid, token, key)
        lock_key = _data_key(category, uid, token, key, kind="lk")
        try:
            found = self._l2_read_or_lock(client, category, data_key, lock_key)
        except _L2Error:
            _, value = self._run_loader(category, loader, counted)
            return value, False

        if isinstance(found, tuple):
            wire, ttl_ms = found
            value = _freeze(json.loads(wire))
            if ttl_ms > 0:
                expires = min(expires, self._timer() + ttl_ms / 1000)
            self._store_l1(l1_key, token, value, expires, epoch)
            if counted:
                with self._lock:
                    self._counters[category].hits += 1
            return value, True

        lock_token = found
        try:
            wire, value = self._run_loader(category, loader, counted)
            stored = self._l2_write(client, category, data_key, wire)
        finally:
            if lock_token:
                self._release_lock(client, lock_key, lock_token)
        if stored:
            self._store_l1(l1_key, token, value, expires, epoch)
        return value, False

    def _l2_read_or_lock(
        self, client: Any, category: Category, data_key: str, lock_key: str
    ) -> tuple[bytes, int] | str:
        """The L2 value and its remaining TTL in ms, or the token of the load
        lock this call now holds ("" when the wait timed out: load anyway)."""
        deadline = time.monotonic() + self._lock_ttl_s
        pause = 0.002
        while True:
            pipe = client.pipeline(transaction=False)
            pipe.get(data_key)
            pipe.pttl(data_key)
            blob, ttl_ms = self._l2_call(category, pipe.execute)
            if blob is not None:
                return blob, int(ttl_ms)
            lock_token = _new_generation()
            acquired = self._l2_call(
                category,
                functools.partial(
                    client.set,
                    lock_key,
                    lock_token,
                    nx=True,
                    px=int(self._lock_ttl_s * 1000),
                ),
            )
            if acquired:
                return lock_token
            # Another instance is loading this key: wait for its value. If its
            # lock disappears without a value, the next turn takes the lock.
            if time.monotonic() >= deadline:
                return ""
            time.sleep(pause)
            pause = min(pause * 2, 0.05)

    def _run_loader(
        self, category: Category, loader: Callable[[], Any], counted: bool
    ) -> tuple[bytes, Any]:
        """Run the loader; returns its value as (JSON for L2, frozen for L1)."""
        if counted:
            with self._lock:
                self._counters[category].misses += 1
        wire = _encode(loader())
        return wire, _freeze(json.loads(wire))

    def _store_l1(
        self, l1_key: _L1Key, token: str, value: Any, expires: float, epoch: int
    ) -> None:
        with self._lock:
            if epoch == self._epoch and expires > self._timer():
                self._l1[l1_key] = _Entry(token, value, expires)

    # -- invalidation ----------------------------------------------------

    def invalidate(
        self, uid: str, category: Category | Iterable[Category] | None = None
    ) -> None:
        """Make every cached read of `uid` in `category` (several categories
        when given a collection, every category when None) miss, here at once
        and on every instance sharing Redis, in one Redis round trip.

        Never raises for Redis: a failed invalidation is counted in `l2Errors`
        and replayed to Redis once it is reachable again.
        """
        if not uid:
            raise ValueError("uid must be a non-empty string")
        if category is None:
            categories = list(Category)
        elif isinstance(category, str):
            categories = [Category(category)]
        else:
            categories = [Category(c) for c in category]
        if not self._enabled:
            return
        with self._lock:
            for cat in categories:
                self._user_gens[(cat, uid)] = (next(self._gen_seq), self._timer())
            if len(self._user_gens) > 4 * self._max_entries:
                # Bounded memory: a new generation for every category outdates
                # every entry tagged with a local token, as the user ones did.
                self._user_gens.clear()
                for cat in Category:
                    self._category_gens[cat] = next(self._gen_seq)
        self._invalidate_l2([(cat, uid) for cat in categories])

    def invalidate_category(self, category: Category) -> None:
        """Make every cached read of `category`, for every user, miss."""
        category = Category(category)
        if not self._enabled:
            return
        with self._lock:
            self._category_gens[category] = next(self._gen_seq)
        self._invalidate_l2([(category, None)])

    def _invalidate_l2(self, targets: list[tuple[Category, str | None]]) -> None:
        if not self._l2_configured:
            return
        categories = [cat for cat, _ in targets]
        client = self._usable_client()
        if client is None:
            self._defer(targets, categories)
            return
        try:
            self._l2_call(categories, lambda: self._publish(client, targets))
        except _L2Error:
            self._defer(targets, [])

    def _defer(
        self, targets: list[tuple[Category, str | None]], uncounted: list[Category]
    ) -> None:
        # Counted as L2 errors too: the shared tier missed an invalidation.
        with self._lock:
            for cat in uncounted:
                self._counters[cat].l2_errors += 1
            if self._pending_overflow or (
                len(self._pending) + len(targets) > _MAX_PENDING
            ):
                # Too many to remember: the replay invalidates everything, at
                # least once after this miss.
                self._pending_overflow = next(self._misses_seq)
                self._pending.clear()
            else:
                for target in targets:
                    self._pending[target] = next(self._misses_seq)

    def _publish(self, client: Any, targets: list[tuple[Category, str | None]]) -> None:
        assignments = [
            (_category_gen_key(category), _new_generation(), None)
            if uid is None
            else (_user_gen_key(category, uid), _new_generation(), _USER_GEN_TTL_S)
            for category, uid in targets
        ]
        mirror = self._mirror
        if mirror is not None and mirror.write(assignments):
            return
        pipe = client.pipeline(transaction=False)
        for key, value, ttl in assignments:
            pipe.set(key, value, ex=ttl)
        pipe.execute()

    # -- generations -----------------------------------------------------

    # Limitation: local generations live in this process only. Without Redis
    # (or during an outage) an invalidation here is invisible to other
    # instances, which may serve the pre-write value until its TTL runs out:
    # the staleness bound between instances is TTL_SECONDS[category].
    def _local_token(self, category: Category, uid: str) -> str:
        with self._lock:
            user_gen = self._user_gens.get((category, uid), (0, 0.0))[0]
            return f"l{self._category_gens[category]}.{user_gen}"

    def _redis_token(self, client: Any, category: Category, uid: str) -> str:
        keys = [_category_gen_key(category), _user_gen_key(category, uid)]
        mirror = self._running_mirror(client)
        mark = None
        if mirror is not None:
            mirrored = mirror.lookup(keys)
            if mirrored is not None:
                return "r" + ".".join(v.decode() for v in mirrored)
            mark = mirror.mark()
        values = self._l2_call(category, lambda: client.mget(keys))
        if None in values:
            # First read since the key was created, evicted or lost: start it
            # at a fresh random value, never one an old entry could carry.
            def create() -> list[bytes | None]:
                pipe = client.pipeline(transaction=False)
                for gen_key, value in zip(keys, values, strict=True):
                    if value is None:
                        ttl = None if gen_key == keys[0] else _USER_GEN_TTL_S
                        pipe.set(gen_key, _new_generation(), nx=True, ex=ttl)
                pipe.mget(keys)
                result: list[bytes | None] = pipe.execute()[-1]
                return result

            values = self._l2_call(category, create)
        if mirror is not None and mark is not None:
            mirror.remember(mark, keys, values)
        # A value still missing (expired between the two calls) gets a token
        # nobody will ever match, so this read simply misses.
        parts = [v.decode() if v else "?" + _new_generation() for v in values]
        return "r" + ".".join(parts)

    def _running_mirror(self, client: Any) -> GenerationMirror | None:
        """The generation mirror when tracking is on and its connection is
        open (opening it when due), else None: the read then asks Redis."""
        if not self._tracking:
            return None
        mirror = self._mirror
        if mirror is not None and mirror.running:
            return mirror
        if self._timer() < self._mirror_retry_at:
            return None
        if not self._mirror_lock.acquire(blocking=False):
            return None  # another thread is opening it; this read asks Redis
        try:
            if mirror is None:
                mirror = GenerationMirror(
                    client,
                    (_CATEGORY_GEN_PREFIX, _USER_GEN_PREFIX),
                    max_keys=2 * self._max_entries,
                )
            mirror.start()
            self._mirror = mirror
        except Exception as err:
            from redis.exceptions import NoPermissionError, ResponseError

            # A server that refuses CLIENT TRACKING (no permission, unknown
            # command, RESP2 only) will keep refusing it; BUSY, LOADING and
            # the like pass, so those are retried after the backoff.
            refused = isinstance(err, ValueError | NoPermissionError) or (
                isinstance(err, ResponseError) and "unknown" in str(err).lower()
            )
            self._mirror_retry_at = (
                float("inf") if refused else self._timer() + _BACKOFF_MAX_S
            )
            # Only a refusal is news: an unreachable Redis is an outage, which
            # the read that follows reports once.
            log.log(
                logging.WARNING if refused else logging.DEBUG,
                "cache generation tracking unavailable; every read asks Redis",
                extra={
                    "event": "cache_tracking_off",
                    "tier": "l2",
                    "error_type": type(err).__name__,
                    "error": str(err)[:200],
                    "permanent": refused,
                },
            )
            return None
        finally:
            self._mirror_lock.release()
        return mirror

    # -- L2 state --------------------------------------------------------

    def _usable_client(self) -> Any:
        """The Redis client when L2 should be tried now, else None.

        While L2 is down, one caller per backoff period probes it (PING, then
        the replay of invalidations it missed) and brings it back.
        """
        if not self._l2_configured:
            return None
        client = self._client
        if self._l2_healthy and client is not None and self._release_script:
            # The common case without locks: reading two references is atomic,
            # and a client that just failed is reported by the call that uses it.
            return client
        probe = False
        with self._lock:
            if not self._l2_healthy:
                if self._l2_probing or self._timer() < self._l2_retry_at:
                    return None
                self._l2_probing = probe = True
        try:
            client = self._get_client()
        except _L2Error:
            return None
        if probe:
            return client if self._probe(client) else None
        return client

    def _get_client(self) -> Any:
        with self._client_lock:
            if self._client is None:
                try:
                    self._client = self._build_client()
                except Exception as err:
                    self._l2_failed(err, [], probe=True)
                    raise _L2Error from err
            if self._release_script is None:
                self._release_script = self._client.register_script(_RELEASE_LOCK_LUA)
            return self._client

    def _build_client(self) -> Any:
        # Imported here, not at module import: cold starts stay cheap and
        # instances without Redis never load it.
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        assert self._redis_url is not None
        return redis.Redis.from_url(
            self._redis_url,
            socket_timeout=_SOCKET_TIMEOUT_S,
            socket_connect_timeout=_SOCKET_TIMEOUT_S,
            # One immediate retry replaces a pooled connection Redis closed
            # (after a restart) without declaring an outage.
            retry=Retry(NoBackoff(), 1),
        )

    def _probe(self, client: Any) -> bool:
        try:
            client.ping()
            self._replay_pending(client)
        except Exception as err:
            self._l2_failed(err, [], probe=True)
            return False
        with self._lock:
            outage_s = self._timer() - self._l2_down_since
            self._l2_healthy = True
            self._l2_probing = False
            self._l2_backoff = _BACKOFF_MIN_S
            self._epoch += 1
            if self._mirror_retry_at != float("inf"):
                self._mirror_retry_at = 0.0  # reopen the mirror with L2
            # Entries loaded while degraded carry local tokens and can never
            # be served again; dropping them frees the room at once.
            self._l1 = self._new_l1()
        log.info(
            "cache L2 (Redis) reachable again",
            extra={
                "event": "cache_l2_up",
                "tier": "l2",
                "outage_s": round(outage_s, 3),
            },
        )
        return True

    def _replay_pending(self, client: Any) -> None:
        # Invalidations missed while a replay runs are replayed at once too,
        # a few rounds at most; any left wait for the next housekeeping tick.
        for _ in range(3):
            with self._lock:
                replayed = dict(self._pending)
                overflow = self._pending_overflow
            if not replayed and not overflow:
                return
            targets = list(replayed)
            if overflow:
                # Too many missed invalidations to remember: all of them.
                targets = [(category, None) for category in Category]
            self._publish(client, targets)
            with self._lock:
                for target, seq in replayed.items():
                    if self._pending.get(target) == seq:
                        del self._pending[target]
                if overflow and self._pending_overflow == overflow:
                    self._pending_overflow = 0

    def _l2_call(self, categories: Category | list[Category], fn: Callable[[], T]) -> T:
        try:
            return fn()
        except Exception as err:
            # Any failure of the shared tier degrades to L1 and the loader:
            # a cache must never be the reason a request fails.
            cats = [categories] if isinstance(categories, Category) else categories
            self._l2_failed(err, cats, probe=False)
            raise _L2Error from err

    def _l2_failed(
        self, err: BaseException, categories: list[Category], *, probe: bool
    ) -> None:
        with self._lock:
            for category in categories:
                self._counters[category].l2_errors += 1
            now = self._timer()
            started_outage = self._l2_healthy
            if started_outage:
                self._l2_healthy = False
                self._l2_down_since = now
                self._l2_backoff = _BACKOFF_MIN_S
                self._epoch += 1
                # Entries tagged with Redis generations cannot be validated
                # while Redis is away, and would be wrongly trusted after it
                # returns if an invalidation was missed meanwhile.
                self._l1 = self._new_l1()
                self._l2_retry_at = now + self._l2_backoff
            elif probe:
                self._l2_backoff = min(self._l2_backoff * 2, _BACKOFF_MAX_S)
                self._l2_retry_at = now + self._l2_backoff
            if probe:
                self._l2_probing = False
            backoff = self._l2_backoff
        if started_outage:
            # Copies of generations are worthless once messages may be lost.
            if self._mirror is not None:
                self._mirror.stop()
            log.warning(
                "cache L2 (Redis) unreachable; serving from L1 and the store",
                extra={
                    "event": "cache_l2_down",
                    "tier": "l2",
                    "error_type": type(err).__name__,
                    "error": str(err)[:200],
                    "retry_in_s": backoff,
                },
            )
        else:
            log.debug(
                "cache L2 (Redis) still unreachable",
                extra={"event": "cache_l2_error", "tier": "l2"},
            )

    def _l2_write(
        self, client: Any, category: Category, data_key: str, blob: bytes
    ) -> bool:
        try:
            ex = self._ttls[category]
            self._l2_call(category, lambda: client.set(data_key, blob, ex=ex))
        except _L2Error:
            return False
        return True

    def _release_lock(self, client: Any, lock_key: str, lock_token: str) -> None:
        # Compare-and-delete: a lock that expired and was taken by another
        # instance is not ours to remove. A failure only lets the lock expire.
        try:
            self._release_script(keys=[lock_key], args=[lock_token], client=client)
        except Exception:
            log.debug("cache lock release failed", extra={"event": "cache_lock"})

    # -- housekeeping, stats, health -------------------------------------

    def _new_l1(self) -> _L1:
        return _L1(self._max_entries, self._timer, self._count_eviction)

    def _count_eviction(self, category: Category) -> None:
        # Called from inside L1 operations, which already hold self._lock.
        self._counters[category].evictions += 1

    def collect_expired(self) -> int:
        """Drop expired L1 entries now; returns how many were dropped.

        Also runs every `_GC_INTERVAL_S` seconds on a daemon thread, so memory
        is returned without waiting for a read of the same keys.
        """
        with self._lock:
            expired = self._l1.expire()
            now = self._timer()
            # A user generation older than the longest TTL can be forgotten:
            # every entry tagged before it was bumped has expired.
            stale = [
                k for k, (_, at) in self._user_gens.items() if now - at > self._max_ttl
            ]
            for k in stale:
                del self._user_gens[k]
        return len(expired)

    def _housekeeping(self) -> None:
        self.collect_expired()
        if not self._l2_configured:
            return
        if self._mirror is not None:
            self._mirror.stop_if_idle()
        client = self._usable_client()
        with self._lock:
            replay = client is not None and (self._pending or self._pending_overflow)
        if replay:
            with contextlib.suppress(_L2Error):
                self._l2_call([], lambda: self._replay_pending(client))

    def stats(self) -> dict[str, Any]:
        """Counters per category and in total, plus L2 state (JSON-able).

        Each block has hits, misses, hitRate (hits / reads, 0 before any
        read), entries (live L1 entries on this instance), evictions (L1
        entries dropped for room) and l2Errors (failed Redis operations, plus
        invalidations not published because Redis was down). Reads skipped
        during an outage's backoff are not errors, and `refresh` loads are
        not reads. `l2.tracking` says whether
        this instance mirrors the generations (L1 hits need no round trip).
        """
        with self._lock:
            self._l1.expire()
            entries = Counter(key[0] for key in self._l1)
            counters = {c: _Counters(**vars(self._counters[c])) for c in Category}
            healthy = bool(self._l2_configured and self._l2_healthy)

        def block(c: _Counters, n_entries: int) -> dict[str, Any]:
            reads = c.hits + c.misses
            return {
                "hits": c.hits,
                "misses": c.misses,
                "hitRate": round(c.hits / reads, 4) if reads else 0.0,
                "entries": n_entries,
                "evictions": c.evictions,
                "l2Errors": c.l2_errors,
            }

        total = _Counters()
        for c in counters.values():
            total.hits += c.hits
            total.misses += c.misses
            total.evictions += c.evictions
            total.l2_errors += c.l2_errors
        return {
            "enabled": self._enabled,
            "categories": {
                str(cat): block(counters[cat], entries[cat]) for cat in Category
            },
            "total": block(total, sum(entries.values())),
            "l2": {
                "configured": bool(self._l2_configured),
                "healthy": healthy,
                "tracking": healthy
                and self._mirror is not None
                and self._mirror.running,
            },
        }

    def health(self) -> dict[str, Any]:
        """{"l1": "ok", "l2": "ok" | "down" | "off"}; pings Redis when it is
        configured and not waiting out a backoff."""
        if not self._l2_configured:
            return {"l1": "ok", "l2": "off"}
        client = self._usable_client()
        if client is None:
            return {"l1": "ok", "l2": "down"}
        try:
            self._l2_call([], client.ping)
        except _L2Error:
            return {"l1": "ok", "l2": "down"}
        return {"l1": "ok", "l2": "ok"}

    def close(self) -> None:
        """Stop the housekeeping thread and close the Redis connections this
        cache opened. A later read reconnects lazily."""
        self._stop.set()
        thread = self._gc_thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5)
        if self._mirror is not None:
            self._mirror.stop()
        if not self._owns_client:
            return  # an injected client belongs to the caller
        with self._client_lock:
            client, self._client = self._client, None
            self._release_script = None
        if client is not None:
            try:
                client.close()
            except Exception:
                log.debug("closing the Redis client failed", extra={"event": "cache"})
