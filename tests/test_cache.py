"""The two-tier cache against a fake clock and a real `redis-server`.

Contract tests run twice: L1 only and L1 + L2. Redis tests start their own
server (see `tests/redis_server.py`); without `redis-server` they skip, or
fail when `CI=true`.
"""

from __future__ import annotations

import copy
import functools
import json
import logging
import os
import pickle
import random
import select
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from functions.cache import TTL_SECONDS, Cache, Category
from functions.config import Settings
from tests.redis_server import RedisServer, find_redis_server
from tests.support import ListHandler

ROOT = Path(__file__).resolve().parent.parent
E = Category.EXPENSES
O = Category.ORDERS  # noqa: E741
P = Category.PROFILE


class FakeClock:
    """A timer that moves only when the test says so."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now

    def tick(self, seconds: float) -> None:
        self.now += seconds


class Source:
    """The data both "instances" read: a dict standing in for the store."""

    def __init__(self) -> None:
        self.data: dict[str, Any] = {}
        self.calls = 0
        self._lock = threading.Lock()

    def loader(self, name: str) -> Callable[[], dict[str, Any]]:
        def load() -> dict[str, Any]:
            with self._lock:
                self.calls += 1
            return {"name": name, "value": self.data.get(name)}

        return load


def _require_redis_server() -> None:
    if find_redis_server() is None:
        message = (
            "redis-server is not installed; the cache tests need it "
            "(apt-get install -y redis-server)"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture()
def redis_server() -> Iterator[RedisServer]:
    """A fresh redis-server for one test, stopped and removed afterwards."""
    _require_redis_server()
    server = RedisServer()
    try:
        yield server.start()
    finally:
        server.cleanup()


@pytest.fixture()
def make_cache() -> Iterator[Callable[..., Cache]]:
    """Builds caches and closes every one of them at the end of the test."""
    made: list[Cache] = []

    def make(**kwargs: Any) -> Cache:
        cache = Cache(**kwargs)
        made.append(cache)
        return cache

    yield make
    for cache in made:
        cache.close()


@pytest.fixture(params=["l1", "l2"])
def tiers(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Constructor arguments for an L1-only cache and for L1 + Redis."""
    if request.param == "l1":
        return {}
    server: RedisServer = request.getfixturevalue("redis_server")
    return {"redis_url": server.url}


@pytest.fixture()
def cache_log() -> Iterator[ListHandler]:
    # A handler on the module's own logger: independent of how the
    # application configures root logging or propagation.
    handler = ListHandler()
    logger = logging.getLogger("functions.cache")
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(old_level)


def _wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 10
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.005)


def _waiters(cache: Cache) -> int:
    return sum(flight.waiters for flight in list(cache._flights.values()))


# -- TTLs, bounds, garbage collection ------------------------------------


def test_ttl_table_is_the_documented_one() -> None:
    assert dict(TTL_SECONDS) == {
        Category.PROFILE: 300,
        Category.EXPENSES: 180,
        Category.ORDERS: 180,
        Category.RECIPES: 600,
        Category.ANALYSIS: 3600,
    }


@pytest.mark.parametrize("category", list(Category))
def test_each_category_expires_after_its_own_ttl(
    make_cache: Callable[..., Cache], category: Category
) -> None:
    clock = FakeClock()
    cache = make_cache(timer=clock)
    src = Source()
    ttl = TTL_SECONDS[category]

    assert cache.get_or_load("u1", category, "k", src.loader("a"))[1] is False
    clock.tick(ttl - 1)
    assert cache.get_or_load("u1", category, "k", src.loader("a"))[1] is True
    clock.tick(1)
    assert cache.get_or_load("u1", category, "k", src.loader("a"))[1] is False
    assert src.calls == 2


def test_ttls_can_be_overridden_per_category(make_cache: Callable[..., Cache]) -> None:
    clock = FakeClock()
    cache = make_cache(timer=clock, ttls={E: 10})
    src = Source()

    cache.get_or_load("u1", E, "k", src.loader("a"))
    cache.get_or_load("u1", P, "k", src.loader("a"))
    clock.tick(10)

    assert cache.get_or_load("u1", E, "k", src.loader("a"))[1] is False
    assert cache.get_or_load("u1", P, "k", src.loader("a"))[1] is True


def test_l2_values_carry_the_category_ttl(
    make_cache: Callable[..., Cache], redis_server: RedisServer
) -> None:
    import redis

    cache = make_cache(redis_url=redis_server.url)
    cache.get_or_load("u1", Category.RECIPES, "all", Source().loader("a"))

    client = redis.Redis.from_url(redis_server.url)
    try:
        keys = client.keys("cache:v1:d:recipes:u1:*")
        assert len(keys) == 1
        assert 590 <= client.ttl(keys[0]) <= 600
        assert client.get(keys[0]) == b'{"name":"a","value":null}'
    finally:
        client.close()


def test_entries_are_bounded_and_evictions_counted(
    make_cache: Callable[..., Cache],
) -> None:
    cache = make_cache(max_entries=3, timer=FakeClock())
    src = Source()

    cache.get_or_load("u1", E, "k1", src.loader("a"))
    cache.get_or_load("u1", O, "k1", src.loader("a"))
    cache.get_or_load("u1", E, "k2", src.loader("a"))
    cache.get_or_load("u1", E, "k1", src.loader("a"))  # k1 is now most recent
    cache.get_or_load("u1", P, "me", src.loader("a"))  # evicts orders k1
    cache.get_or_load("u1", P, "me2", src.loader("a"))  # evicts expenses k2

    stats = cache.stats()
    assert stats["total"]["entries"] == 3
    assert stats["total"]["evictions"] == 2
    assert stats["categories"]["orders"]["evictions"] == 1
    assert stats["categories"]["expenses"]["evictions"] == 1
    assert stats["categories"]["profile"]["entries"] == 2
    assert cache.get_or_load("u1", E, "k1", src.loader("a"))[1] is True
    assert cache.get_or_load("u1", O, "k1", src.loader("a"))[1] is False


def test_collect_expired_drops_only_expired_entries(
    make_cache: Callable[..., Cache],
) -> None:
    clock = FakeClock()
    cache = make_cache(timer=clock)
    src = Source()
    cache.get_or_load("u1", P, "me", src.loader("a"))
    cache.get_or_load("u2", P, "me", src.loader("a"))
    cache.get_or_load("u1", Category.ANALYSIS, "q", src.loader("a"))

    clock.tick(TTL_SECONDS[P])

    assert cache.collect_expired() == 2
    assert cache.collect_expired() == 0
    assert cache.stats()["total"]["entries"] == 1


def test_expired_entries_are_collected_without_any_read(
    make_cache: Callable[..., Cache], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Cache, "_GC_INTERVAL_S", 0.01)
    clock = FakeClock()
    cache = make_cache(timer=clock)
    cache.get_or_load("u1", E, "k", Source().loader("a"))
    assert cache._l1.currsize == 1

    clock.tick(TTL_SECONDS[E])

    # currsize counts stored items, expired or not: only a collection lowers it.
    _wait_for(lambda: cache._l1.currsize == 0, "the housekeeping thread")


# -- invalidation and stats (L1 and L1 + L2) ------------------------------


def test_invalidation_by_user_category_and_every_category(
    make_cache: Callable[..., Cache], tiers: dict[str, Any]
) -> None:
    cache = make_cache(**tiers)
    src = Source()

    def cached(uid: str, category: Category) -> bool:
        return cache.get_or_load(uid, category, "k", src.loader(uid))[1]

    for uid in ("u1", "u2"):
        for category in (E, O, P):
            assert cached(uid, category) is False

    cache.invalidate("u1", E)
    assert [cached("u1", E), cached("u1", O), cached("u2", E)] == [False, True, True]

    cache.invalidate("u1")
    assert [cached("u1", c) for c in (E, O, P)] == [False, False, False]
    assert [cached("u2", c) for c in (E, O, P)] == [True, True, True]

    cache.invalidate_category(O)
    assert [cached("u1", O), cached("u2", O)] == [False, False]
    assert [cached("u1", E), cached("u2", E), cached("u2", P)] == [True, True, True]


def test_stats_are_exact_for_a_known_sequence(
    make_cache: Callable[..., Cache], tiers: dict[str, Any]
) -> None:
    cache = make_cache(**tiers)
    src = Source()

    cache.get_or_load("u1", P, "me", src.loader("p"))  # miss
    cache.get_or_load("u1", P, "me", src.loader("p"))  # hit
    cache.get_or_load("u1", E, "page1", src.loader("e"))  # miss
    cache.get_or_load("u1", E, "page1", src.loader("e"))  # hit
    cache.get_or_load("u1", E, "page1", src.loader("e"))  # hit
    cache.get_or_load("u1", E, "page2", src.loader("e"))  # miss
    cache.invalidate("u1", E)
    cache.get_or_load("u1", E, "page1", src.loader("e"))  # miss

    stats = cache.stats()
    assert stats["categories"]["profile"] == {
        "hits": 1,
        "misses": 1,
        "hitRate": 0.5,
        "entries": 1,
        "evictions": 0,
        "l2Errors": 0,
    }
    assert stats["categories"]["expenses"] == {
        "hits": 2,
        "misses": 3,
        "hitRate": 0.4,
        # page2's entry still sits in L1 under the old generation.
        "entries": 2,
        "evictions": 0,
        "l2Errors": 0,
    }
    assert stats["categories"]["recipes"]["hitRate"] == 0.0
    assert stats["total"] == {
        "hits": 3,
        "misses": 4,
        "hitRate": 0.4286,
        "entries": 3,
        "evictions": 0,
        "l2Errors": 0,
    }
    assert stats["enabled"] is True
    assert stats["l2"] == {
        "configured": bool(tiers),
        "healthy": bool(tiers),
        "tracking": bool(tiers),
    }


def test_returned_values_are_shared_and_refuse_changes(
    make_cache: Callable[..., Cache], tiers: dict[str, Any]
) -> None:
    cache = make_cache(**tiers)
    src = Source()
    src.data["a"] = [1, {"b": 2}]

    first, _ = cache.get_or_load("u1", E, "k", src.loader("a"))
    second, cached = cache.get_or_load("u1", E, "k", src.loader("a"))
    changes: list[Callable[[], Any]] = [
        lambda: first["value"].append(3),
        lambda: second["value"][1].update(b=3),
        lambda: second.__setitem__("value", None),
        lambda: second["value"].sort(),
        lambda: second["value"][1].pop("b"),
    ]
    for change in changes:
        with pytest.raises(TypeError, match="read-only"):
            change()

    assert cached is True and second is first
    assert cache.get_or_load("u1", E, "k", src.loader("a"))[0]["value"] == [1, {"b": 2}]
    # Copies are ordinary values the caller owns; JSON sees plain containers.
    mine = copy.deepcopy(second)
    mine["value"][1]["b"] = 3
    assert type(mine) is dict and type(mine["value"]) is list
    assert json.loads(json.dumps(second)) == {"name": "a", "value": [1, {"b": 2}]}
    assert pickle.loads(pickle.dumps(second)) == second


def test_loader_errors_propagate_and_are_not_cached(
    make_cache: Callable[..., Cache], tiers: dict[str, Any]
) -> None:
    cache = make_cache(**tiers)

    def broken() -> dict[str, Any]:
        raise RuntimeError("store down")

    with pytest.raises(RuntimeError, match="store down"):
        cache.get_or_load("u1", E, "k", broken)
    assert cache.get_or_load("u1", E, "k", Source().loader("a"))[1] is False


# -- threads -------------------------------------------------------------


def test_concurrent_reads_and_invalidations_stay_consistent(
    make_cache: Callable[..., Cache], tiers: dict[str, Any]
) -> None:
    cache = make_cache(max_entries=8, **tiers)
    errors: list[BaseException] = []
    reads = [0] * 12

    def worker(n: int) -> None:
        rng = random.Random(n)
        try:
            for _ in range(200):
                uid = f"u{rng.randrange(4)}"
                category = rng.choice([E, O])
                key = f"k{rng.randrange(3)}"
                if rng.random() < 0.1:
                    cache.invalidate(uid, category if rng.random() < 0.5 else None)
                    continue
                expected = [uid, str(category), key]
                value, _ = cache.get_or_load(
                    uid, category, key, functools.partial(list[str], expected)
                )
                assert value == expected
                reads[n] += 1
        except BaseException as err:
            errors.append(err)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    total = cache.stats()["total"]
    assert total["hits"] + total["misses"] == sum(reads)
    assert total["entries"] <= 8
    assert total["evictions"] > 0


def _release_when(
    condition: Callable[[], bool], release: threading.Event
) -> threading.Thread:
    def run() -> None:
        _wait_for(condition, "every thread to join the load")
        release.set()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_fifty_concurrent_misses_run_the_loader_once(
    make_cache: Callable[..., Cache], tiers: dict[str, Any]
) -> None:
    cache = make_cache(**tiers)
    release = threading.Event()
    calls: list[int] = []

    def slow_loader() -> dict[str, Any]:
        calls.append(1)
        release.wait(10)
        return {"total": 42}

    results: list[tuple[Any, bool]] = []
    threads = [
        threading.Thread(
            target=lambda: results.append(cache.get_or_load("u1", E, "k", slow_loader))
        )
        for _ in range(50)
    ]
    for thread in threads:
        thread.start()
    releaser = _release_when(lambda: _waiters(cache) == 49, release)
    for thread in [*threads, releaser]:
        thread.join()

    assert len(calls) == 1
    assert len(results) == 50
    assert all(value == {"total": 42} for value, _ in results)
    assert sorted(cached for _, cached in results) == [False] + [True] * 49
    assert cache.stats()["total"]["misses"] == 1


def test_concurrent_misses_on_two_instances_run_the_loader_once(
    make_cache: Callable[..., Cache], redis_server: RedisServer
) -> None:
    a = make_cache(redis_url=redis_server.url)
    b = make_cache(redis_url=redis_server.url)
    release = threading.Event()
    calls: list[int] = []

    def slow_loader() -> dict[str, Any]:
        calls.append(1)
        release.wait(10)
        return {"total": 42}

    results: list[tuple[Any, bool]] = []

    def read(cache: Cache) -> None:
        results.append(cache.get_or_load("u1", E, "k", slow_loader))

    threads = [threading.Thread(target=read, args=(c,)) for c in [a, b] * 25]
    for thread in threads:
        thread.start()
    releaser = _release_when(
        lambda: len(calls) == 1 and _waiters(a) == 24 and _waiters(b) == 24, release
    )
    for thread in [*threads, releaser]:
        thread.join()

    assert len(calls) == 1
    assert len(results) == 50
    assert all(value == {"total": 42} for value, _ in results)
    assert [cached for _, cached in results].count(False) == 1


def test_a_waiter_loads_itself_when_the_lock_holder_is_stuck(
    make_cache: Callable[..., Cache], redis_server: RedisServer
) -> None:
    a = make_cache(redis_url=redis_server.url)
    b = make_cache(redis_url=redis_server.url)
    b._lock_ttl_s = 0.2
    started, release = threading.Event(), threading.Event()

    def stuck_loader() -> str:
        started.set()
        release.wait(10)
        return "from a"

    holder = threading.Thread(target=lambda: a.get_or_load("u1", E, "k", stuck_loader))
    holder.start()
    try:
        assert started.wait(10)
        value, cached = b.get_or_load("u1", E, "k", lambda: "from b")
    finally:
        release.set()
        holder.join()

    assert (value, cached) == ("from b", False)


# -- two instances over one Redis ------------------------------------------


def test_a_write_on_one_instance_is_read_on_another(
    make_cache: Callable[..., Cache], redis_server: RedisServer
) -> None:
    a = make_cache(redis_url=redis_server.url)
    b = make_cache(redis_url=redis_server.url)
    src = Source()
    src.data["e"] = 1

    assert a.get_or_load("u1", E, "k", src.loader("e")) == (
        {"name": "e", "value": 1},
        False,
    )
    assert b.get_or_load("u1", E, "k", src.loader("e"))[1] is True  # from L2
    assert b.get_or_load("u1", E, "k", src.loader("e"))[1] is True  # from L1
    assert src.calls == 1

    src.data["e"] = 2  # the write on instance A...
    a.invalidate("u1", E)  # ...and its invalidation
    assert b.get_or_load("u1", E, "k", src.loader("e"))[0]["value"] == 2

    src.data["e"] = 3
    a.invalidate("u1")
    assert b.get_or_load("u1", E, "k", src.loader("e"))[0]["value"] == 3

    src.data["e"] = 4
    a.invalidate_category(E)
    assert b.get_or_load("u1", E, "k", src.loader("e"))[0]["value"] == 4
    assert a.get_or_load("u1", E, "k", src.loader("e")) == (
        {"name": "e", "value": 4},
        True,
    )


def test_without_redis_other_instances_may_be_stale_for_one_ttl(
    make_cache: Callable[..., Cache],
) -> None:
    # The documented limitation, pinned: L1-only instances do not share
    # invalidations; the writer's own instance is fresh at once.
    clock = FakeClock()
    a, b = make_cache(timer=clock), make_cache(timer=clock)
    src = Source()
    src.data["e"] = 1
    a.get_or_load("u1", E, "k", src.loader("e"))
    b.get_or_load("u1", E, "k", src.loader("e"))

    src.data["e"] = 2
    a.invalidate("u1", E)

    assert a.get_or_load("u1", E, "k", src.loader("e"))[0]["value"] == 2
    assert b.get_or_load("u1", E, "k", src.loader("e"))[0]["value"] == 1
    clock.tick(TTL_SECONDS[E])
    assert b.get_or_load("u1", E, "k", src.loader("e"))[0]["value"] == 2


# -- outages ---------------------------------------------------------------


def test_killing_redis_degrades_to_l1_and_recovers(
    make_cache: Callable[..., Cache],
    redis_server: RedisServer,
    cache_log: ListHandler,
) -> None:
    clock = FakeClock()
    a = make_cache(redis_url=redis_server.url, timer=clock)
    b = make_cache(redis_url=redis_server.url, timer=clock)
    src = Source()
    src.data["e"] = 1
    a.get_or_load("u1", E, "k", src.loader("e"))
    assert b.get_or_load("u1", E, "k", src.loader("e"))[1] is True

    redis_server.kill()
    src.data["e"] = 2
    served = [a.get_or_load("u1", E, "k", src.loader("e")) for _ in range(5)]

    assert [value["value"] for value, _ in served] == [2] * 5
    assert [cached for _, cached in served] == [False, True, True, True, True]
    warnings = cache_log.at(logging.WARNING)
    assert len(warnings) == 1
    assert warnings[0].__dict__["event"] == "cache_l2_down"
    assert warnings[0].__dict__["tier"] == "l2"
    assert a.stats()["total"]["l2Errors"] == 1
    assert a.stats()["l2"] == {"configured": True, "healthy": False, "tracking": False}
    assert a.health() == {"l1": "ok", "l2": "down"}

    # An invalidation during the outage still clears this instance's L1.
    src.data["e"] = 3
    a.invalidate("u1", E)
    assert a.get_or_load("u1", E, "k", src.loader("e")) == (
        {"name": "e", "value": 3},
        False,
    )
    assert a.stats()["categories"]["expenses"]["l2Errors"] == 2
    assert len(cache_log.at(logging.WARNING)) == 1

    redis_server.start()
    clock.tick(2.5)  # past the first backoff

    assert a.get_or_load("u1", E, "k", src.loader("e"))[0]["value"] == 3
    assert a.stats()["l2"] == {"configured": True, "healthy": True, "tracking": True}
    assert a.health() == {"l1": "ok", "l2": "ok"}
    assert b.get_or_load("u1", E, "k", src.loader("e"))[0]["value"] == 3
    assert len(cache_log.at(logging.WARNING)) == 1
    assert [r.__dict__["event"] for r in cache_log.at(logging.INFO)] == ["cache_l2_up"]


class PartitionedClient:
    """A real redis-py client that fails like a network partition on demand:
    Redis (and its data) stays up for everyone else. Connections made from
    its pool (the generation mirror's) are cut too."""

    def __init__(self, url: str) -> None:
        import redis

        self._client = redis.Redis.from_url(url)
        self._error = redis.ConnectionError
        self.cut = False
        self.connection_pool = _PartitionedPool(self)

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._client, name)
        if not callable(attr):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            self._check()
            result = attr(*args, **kwargs)
            if name == "pipeline":
                execute = result.execute

                def guarded_execute(*a: Any, **kw: Any) -> Any:
                    self._check()
                    return execute(*a, **kw)

                result.execute = guarded_execute
            return result

        return call

    def _check(self) -> None:
        if self.cut:
            raise self._error("partitioned by the test")

    def close(self) -> None:
        self._client.close()


class _PartitionedPool:
    def __init__(self, link: PartitionedClient) -> None:
        self._link = link

    def make_connection(self) -> Any:
        return _PartitionedConnection(
            self._link, self._link._client.connection_pool.make_connection()
        )


class _PartitionedConnection:
    _GUARDED = frozenset(
        {"connect", "can_read", "read_response", "send_command", "send_packed_command"}
    )

    def __init__(self, link: PartitionedClient, conn: Any) -> None:
        self._link = link
        self._conn = conn

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._conn, name)
        if name not in self._GUARDED:
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            self._link._check()
            return attr(*args, **kwargs)

        return call


def test_invalidations_missed_during_an_outage_are_replayed(
    make_cache: Callable[..., Cache], redis_server: RedisServer
) -> None:
    clock = FakeClock()
    link = PartitionedClient(redis_server.url)
    a = make_cache(redis_client=link, timer=clock)
    b = make_cache(redis_url=redis_server.url, timer=clock)
    src = Source()
    src.data["e"] = 1
    a.get_or_load("u1", E, "k", src.loader("e"))
    b.get_or_load("u1", E, "k", src.loader("e"))

    link.cut = True
    src.data["e"] = 2
    a.invalidate("u1", E)

    assert a.get_or_load("u1", E, "k", src.loader("e"))[0]["value"] == 2
    # The documented window: B has not heard of the invalidation yet.
    assert b.get_or_load("u1", E, "k", src.loader("e"))[0]["value"] == 1

    link.cut = False
    clock.tick(2.5)
    assert a.health() == {"l1": "ok", "l2": "ok"}  # probes, then replays

    assert b.get_or_load("u1", E, "k", src.loader("e"))[0]["value"] == 2
    assert a.get_or_load("u1", E, "k", src.loader("e"))[0]["value"] == 2
    link.close()


def test_an_unreachable_redis_never_fails_a_request(
    make_cache: Callable[..., Cache], cache_log: ListHandler
) -> None:
    _require_redis_server()
    closed = RedisServer()  # a free port nobody listens on
    cache = make_cache(redis_url=closed.url, timer=FakeClock())
    src = Source()

    results = [cache.get_or_load("u1", E, "k", src.loader("e"))[1] for _ in range(3)]
    cache.invalidate("u1")
    cache.invalidate_category(O)

    assert results == [False, True, True]
    assert len(cache_log.at(logging.WARNING)) == 1
    assert cache.health() == {"l1": "ok", "l2": "down"}
    # One failed read, then five plus one invalidations that missed Redis.
    assert cache.stats()["total"]["l2Errors"] == 7
    closed.cleanup()


# -- configuration -----------------------------------------------------------


def test_cache_off_always_runs_the_loader(make_cache: Callable[..., Cache]) -> None:
    cache = make_cache(enabled=False, redis_url="redis://127.0.0.1:1/0")
    src = Source()

    results = [cache.get_or_load("u1", E, "k", src.loader("e")) for _ in range(3)]
    cache.invalidate("u1")
    cache.invalidate_category(E)

    assert results == [({"name": "e", "value": None}, False)] * 3
    assert src.calls == 3
    stats = cache.stats()
    assert (stats["enabled"], stats["total"]["hits"], stats["total"]["misses"]) == (
        False,
        0,
        3,
    )
    assert stats["l2"] == {"configured": False, "healthy": False, "tracking": False}
    assert cache.health() == {"l1": "ok", "l2": "off"}


def test_from_settings_uses_the_cache_settings(
    make_cache: Callable[..., Cache],
) -> None:
    cache = Cache.from_settings(
        Settings(cache_enabled=False, cache_redis_url=None, cache_max_entries=5)
    )
    try:
        assert cache.stats()["enabled"] is False
        assert cache._max_entries == 5
    finally:
        cache.close()


def test_importing_the_module_does_not_import_redis() -> None:
    code = "import sys, functions.cache; print('redis' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "False"


# -- generation tracking -----------------------------------------------------


def _mget_calls(server: RedisServer) -> int:
    import redis

    with redis.Redis.from_url(server.url) as admin:
        stats = admin.info("commandstats")
    return int(stats.get("cmdstat_mget", {}).get("calls", 0))


def test_tracked_generations_spare_l1_hits_the_round_trip(
    make_cache: Callable[..., Cache], redis_server: RedisServer
) -> None:
    tracked = make_cache(redis_url=redis_server.url)
    strict = make_cache(redis_url=redis_server.url, tracking=False)
    src = Source()
    for cache in (tracked, strict):
        cache.get_or_load("u1", E, "k", src.loader("e"))
        cache.get_or_load("u1", E, "k", src.loader("e"))

    before = _mget_calls(redis_server)
    assert all(tracked.get_or_load("u1", E, "k", src.loader("e"))[1] for _ in range(50))
    middle = _mget_calls(redis_server)
    assert all(strict.get_or_load("u1", E, "k", src.loader("e"))[1] for _ in range(50))
    after = _mget_calls(redis_server)

    assert (middle - before, after - middle) == (0, 50)


def test_random_reads_and_writes_on_three_instances_never_read_stale(
    make_cache: Callable[..., Cache], redis_server: RedisServer
) -> None:
    import redis

    instances = [
        make_cache(redis_url=redis_server.url),
        make_cache(redis_url=redis_server.url),
        make_cache(redis_url=redis_server.url, tracking=False),
    ]
    src = Source()
    rng = random.Random(7)
    admin = redis.Redis.from_url(redis_server.url)
    users = ["u1", "u2", "u3"]
    for step in range(600):
        cache = rng.choice(instances)
        uid = rng.choice(users)
        roll = rng.random()
        if roll < 0.25:
            src.data[uid] = step  # the write, then its invalidation
            how = rng.random()
            if how < 0.8:
                cache.invalidate(uid, E)
            elif how < 0.95:
                cache.invalidate(uid)
            else:
                cache.invalidate_category(E)
        elif roll < 0.26:
            admin.flushall()  # Redis restarted empty, say
        else:
            value, _ = cache.get_or_load(uid, E, "k", src.loader(uid))
            assert value["value"] == src.data.get(uid), f"stale read at step {step}"
    admin.close()
    stats = [cache.stats()["total"] for cache in instances]
    assert all(s["hits"] > 0 and s["l2Errors"] == 0 for s in stats)


def test_mirror_trusts_copies_only_while_redis_answers_pings(
    redis_server: RedisServer,
) -> None:
    import redis

    from functions.cache_tracking import FRESH_FOR_S, IDLE_S, GenerationMirror

    clock = FakeClock()
    client = redis.Redis.from_url(redis_server.url)
    mirror = GenerationMirror(client, ("t:",), max_keys=10, clock=clock)
    mirror.start()
    client.set("t:a", "1")

    def fetch() -> None:
        mark = mirror.mark()
        assert mark is not None
        mirror.remember(mark, ["t:a"], client.mget(["t:a"]))

    fetch()
    assert mirror.lookup(["t:a"]) == [b"1"]
    assert mirror.lookup(["t:a", "t:b"]) is None  # t:b was never fetched

    # Redis's message drops the copy as soon as it has arrived.
    client.set("t:a", "2")
    _wait_for(lambda: mirror.lookup(["t:a"]) is None, "the invalidation")
    fetch()
    assert mirror.lookup(["t:a"]) == [b"2"]

    # A value fetched before a message arrived is not kept.
    mark = mirror.mark()
    assert mark is not None
    old = client.mget(["t:a"])
    client.set("t:a", "3")
    _wait_for(lambda: mirror.mark() != mark, "the invalidation")
    mirror.remember(mark, ["t:a"], old)
    assert mirror.lookup(["t:a"]) is None
    fetch()

    # No PING answered for longer than FRESH_FOR_S: copies are not trusted
    # until the PING that lookup sends comes back.
    clock.tick(FRESH_FOR_S * 2)
    assert mirror.lookup(["t:a"]) is None
    _wait_for(lambda: mirror.lookup(["t:a"]) == [b"3"], "the PONG")

    client.flushall()
    _wait_for(lambda: mirror.lookup(["t:a"]) is None, "the flush message")
    fetch()  # t:a is gone: nothing to keep
    assert mirror.lookup(["t:a"]) is None

    clock.tick(IDLE_S + 1)
    assert mirror.mark() is None and not mirror.running  # closed when idle
    mirror.start()
    assert mirror.running
    redis_server.kill()
    _wait_for(lambda: mirror.mark() is None, "the closed connection")
    assert not mirror.running
    client.close()


def test_a_redis_that_refuses_tracking_is_asked_on_every_read(
    make_cache: Callable[..., Cache],
    redis_server: RedisServer,
    cache_log: ListHandler,
) -> None:
    import redis

    with redis.Redis.from_url(redis_server.url) as admin:
        # As a managed Redis that does not offer CLIENT TRACKING would.
        admin.execute_command("ACL", "SETUSER", "default", "-client|tracking")
    a = make_cache(redis_url=redis_server.url)
    b = make_cache(redis_url=redis_server.url)
    src = Source()
    src.data["e"] = 1

    a.get_or_load("u1", E, "k", src.loader("e"))
    before = _mget_calls(redis_server)
    assert [a.get_or_load("u1", E, "k", src.loader("e"))[1] for _ in range(3)] == [
        True
    ] * 3
    assert _mget_calls(redis_server) - before == 3
    assert b.get_or_load("u1", E, "k", src.loader("e"))[1] is True
    src.data["e"] = 2
    b.invalidate("u1", E)
    assert a.get_or_load("u1", E, "k", src.loader("e"))[0]["value"] == 2

    # One warning per instance, not per read.
    warnings = cache_log.at(logging.WARNING)
    assert [w.__dict__["event"] for w in warnings] == ["cache_tracking_off"] * 2
    assert all(w.__dict__["permanent"] is True for w in warnings)
    assert a.stats()["total"]["l2Errors"] == 0
    assert a.stats()["l2"] == {"configured": True, "healthy": True, "tracking": False}


def test_tracking_is_a_setting() -> None:
    from functions.config import load_settings

    assert load_settings({}).cache_tracking is True
    off = load_settings({"CACHE_TRACKING": "false"})
    cache = Cache.from_settings(off)
    try:
        assert off.cache_tracking is False and cache._tracking is False
    finally:
        cache.close()


def test_a_write_is_read_at_once_where_it_was_made_and_on_delivery_elsewhere(
    make_cache: Callable[..., Cache], redis_server: RedisServer
) -> None:
    a = make_cache(redis_url=redis_server.url)
    b = make_cache(redis_url=redis_server.url)
    src = Source()
    src.data["e"] = 1
    for cache in (a, b, a, b):
        cache.get_or_load("u1", E, "k", src.loader("e"))
    # Hold back Redis's messages to both instances, as a slow network would.
    held = {}
    for cache in (a, b):
        assert cache._mirror is not None and cache._mirror._conn is not None
        held[cache] = cache._mirror._conn
        cache._mirror._conn.can_read = lambda timeout=0: False

    src.data["e"] = 2
    before = _mget_calls(redis_server)
    a.invalidate("u1", E)

    # The writer knows the new generation from Redis's answer, not a message.
    assert a.get_or_load("u1", E, "k", src.loader("e")) == (
        {"name": "e", "value": 2},
        False,
    )
    assert a.get_or_load("u1", E, "k", src.loader("e"))[1] is True
    assert _mget_calls(redis_server) == before
    # The documented window: B serves its copy until the message arrives...
    assert b.get_or_load("u1", E, "k", src.loader("e"))[0]["value"] == 1
    del held[b].can_read  # ...which it now does.
    _wait_for(
        lambda: b.get_or_load("u1", E, "k", src.loader("e"))[0]["value"] == 2,
        "the message to reach B",
    )
    del held[a].can_read


def test_invalidating_several_categories_is_one_message_to_other_instances(
    make_cache: Callable[..., Cache], redis_server: RedisServer
) -> None:
    a = make_cache(redis_url=redis_server.url)
    b = make_cache(redis_url=redis_server.url)
    src = Source()
    for category in (E, O, P):
        b.get_or_load("u1", category, "k", src.loader(str(category)))
    mirror = b._mirror
    assert mirror is not None and mirror._conn is not None
    seen: list[Any] = []
    original = mirror._on_invalidate

    def spy(message: list[Any]) -> None:
        seen.append(message)
        original(message)

    mirror._conn._parser.set_invalidation_push_handler(spy)

    src.data.update({"expenses": 1, "orders": 2})
    a.invalidate("u1", (E, O))

    _wait_for(lambda: mirror.mark() is not None and bool(seen), "the message")
    assert len(seen) == 1 and len(seen[0][1]) == 2
    assert b.get_or_load("u1", E, "k", src.loader("expenses"))[0]["value"] == 1
    assert b.get_or_load("u1", O, "k", src.loader("orders"))[0]["value"] == 2
    assert b.get_or_load("u1", P, "k", src.loader("profile"))[1] is True


def test_refresh_caches_the_next_read_without_counting_a_read(
    make_cache: Callable[..., Cache], tiers: dict[str, Any]
) -> None:
    cache = make_cache(**tiers)
    src = Source()
    src.data["e"] = 1

    cache.refresh("u1", E, "k", src.loader("e"))
    assert src.calls == 1
    stats = cache.stats()["categories"]["expenses"]
    assert (stats["hits"], stats["misses"], stats["entries"]) == (0, 0, 1)
    assert cache.get_or_load("u1", E, "k", src.loader("e")) == (
        {"name": "e", "value": 1},
        True,
    )

    cache.refresh("u1", E, "k", src.loader("e"))  # cached and current: no load
    assert src.calls == 1
    src.data["e"] = 2
    cache.invalidate("u1", E)
    cache.refresh("u1", E, "k", src.loader("e"))
    assert src.calls == 2
    assert cache.get_or_load("u1", E, "k", src.loader("e"))[0]["value"] == 2

    def broken() -> dict[str, Any]:
        raise RuntimeError("store down")

    cache.invalidate("u1", E)
    with pytest.raises(RuntimeError, match="store down"):
        cache.refresh("u1", E, "k", broken)
    stats = cache.stats()["categories"]["expenses"]
    assert (stats["hits"], stats["misses"]) == (2, 0)


def test_a_refresh_on_one_instance_is_a_hit_on_another(
    make_cache: Callable[..., Cache], redis_server: RedisServer
) -> None:
    a = make_cache(redis_url=redis_server.url)
    b = make_cache(redis_url=redis_server.url)
    src = Source()
    src.data["e"] = 1
    b.get_or_load("u1", E, "k", src.loader("e"))

    src.data["e"] = 2
    a.invalidate("u1", E)
    a.refresh("u1", E, "k", src.loader("e"))

    _wait_for(
        lambda: (
            b.get_or_load("u1", E, "k", src.loader("e"))
            == ({"name": "e", "value": 2}, True)
        ),
        "B to see A's refresh",
    )
    assert src.calls == 2


def test_a_refused_generation_write_is_an_l2_error_even_with_a_ping_pending(
    make_cache: Callable[..., Cache], redis_server: RedisServer
) -> None:
    import redis

    from functions.cache_tracking import PING_EVERY_S

    a = make_cache(redis_url=redis_server.url)
    src = Source()
    src.data["e"] = 1
    for _ in range(2):
        a.get_or_load("u1", E, "k", src.loader("e"))
    with redis.Redis.from_url(redis_server.url) as admin:
        admin.config_set("maxmemory-policy", "noeviction")
        admin.config_set("maxmemory", 1)  # every SET is refused (OOM)
        src.data["e"] = 2
        # The write first sends the PING that is due, then its SET.
        time.sleep(PING_EVERY_S + 0.1)
        a.invalidate("u1", E)

        # The refusal is seen (not mistaken for the PING's answer): counted,
        # kept for replay, and this instance does not serve the old value.
        assert a.stats()["total"]["l2Errors"] >= 1
        assert a._pending
        assert a.get_or_load("u1", E, "k", src.loader("e"))[0]["value"] == 2
        admin.config_set("maxmemory", 0)


def test_a_message_read_along_with_a_reply_is_applied_at_once(
    make_cache: Callable[..., Cache], redis_server: RedisServer
) -> None:
    import redis

    a = make_cache(redis_url=redis_server.url)
    b = make_cache(redis_url=redis_server.url)
    src = Source()
    src.data["u2"] = "old"
    for cache in (a, b, a, b):
        for uid in ("u1", "u2"):
            cache.get_or_load(uid, E, "k", src.loader(uid))

    # Both invalidations reach Redis in one turn of its event loop, so B's
    # message to A travels in the same packet as the answer to A's own write.
    with redis.Redis.from_url(redis_server.url) as admin:
        admin.execute_command("CLIENT", "PAUSE", "100", "WRITE")
        mine = threading.Thread(target=lambda: a.invalidate("u1", E))
        mine.start()
        time.sleep(0.02)
        src.data["u2"] = "new"
        theirs = threading.Thread(target=lambda: b.invalidate("u2", E))
        theirs.start()
        mine.join()
        theirs.join()
    mirror = a._mirror
    assert mirror is not None and mirror._conn is not None
    conn = mirror._conn
    gen_key = "cache:v1:ug:expenses:u2"

    def arrived() -> bool:
        # Applied already, buffered by redis-py, or waiting on the socket.
        readable = select.select([conn._sock], [], [], 0)[0]
        return gen_key not in mirror._values or conn.can_read(0) or bool(readable)

    _wait_for(arrived, "B's message to reach A")
    assert a.get_or_load("u2", E, "k", src.loader("u2"))[0]["value"] == "new"
