"""Rollups: arithmetic, percentiles, and flushes bounded by the interval."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from functions.monitoring.rollups import (
    BOUNDS_MS,
    BUCKET_KEYS,
    Recorder,
    bucket_index,
    minute_id,
    percentile,
)
from functions.monitoring.window import read_window
from functions.store.sqlite import SqliteStore
from tests.monitoring_helpers import START, CountingStore, FakeClock


def _histogram(durations: list[float]) -> list[int]:
    counts = [0] * len(BUCKET_KEYS)
    for d in durations:
        counts[bucket_index(d)] += 1
    return counts


@pytest.fixture()
def store(tmp_path: Path) -> CountingStore:
    return CountingStore(SqliteStore(tmp_path / "rollups.sqlite3"))


@pytest.fixture()
def clock() -> FakeClock:
    return FakeClock()


def _recorder(store: CountingStore, clock: FakeClock, every: float = 10) -> Recorder:
    return Recorder(store, flush_seconds=every, clock=clock.epoch, instance_id="i1")


def test_bucket_edges_are_inclusive_upper_bounds() -> None:
    assert bucket_index(0) == 0
    assert bucket_index(0.5) == 0
    assert bucket_index(0.501) == 1
    assert bucket_index(5) == BOUNDS_MS.index(5)
    assert bucket_index(5.001) == BOUNDS_MS.index(5) + 1
    assert bucket_index(3000) == BOUNDS_MS.index(3000)
    assert bucket_index(10**9) == len(BUCKET_KEYS) - 1


def test_sub_millisecond_calls_give_sub_millisecond_percentiles() -> None:
    hist = _histogram([0.3] * 90 + [8.0] * 10)

    median = percentile(hist, 0.50, 0.3, 8.0)
    assert median is not None and median <= 0.5


def test_percentiles_of_an_even_spread_are_exact() -> None:
    durations = [float(ms) for ms in range(1, 101)]  # 1..100 ms
    hist = _histogram(durations)

    assert percentile(hist, 0.50, 1, 100) == pytest.approx(50)
    assert percentile(hist, 0.95, 1, 100) == pytest.approx(95)
    assert percentile(hist, 0.99, 1, 100) == pytest.approx(99)


def test_percentiles_of_identical_calls_are_that_duration() -> None:
    hist = _histogram([40.0] * 100)

    for q in (0.5, 0.95, 0.99):
        assert percentile(hist, q, 40, 40) == pytest.approx(40)


def test_percentile_stays_inside_its_bucket_and_handles_the_tail() -> None:
    # 90 fast calls and 10 slow ones: p95 lands among the slow ones.
    hist = _histogram([20.0] * 90 + [4000.0] * 9 + [90_000.0])

    p50 = percentile(hist, 0.50, 20, 90_000)
    p95 = percentile(hist, 0.95, 20, 90_000)
    p99 = percentile(hist, 0.99, 20, 90_000)
    assert p50 is not None and p95 is not None and p99 is not None
    assert 10 < p50 <= 25
    assert 3000 < p95 <= 5000
    assert 3000 < p99 <= 5000
    assert percentile(hist, 1.0, 20, 90_000) == pytest.approx(90_000)
    assert percentile([0] * len(BUCKET_KEYS), 0.5) is None


def test_flushed_rollup_adds_up(store: CountingStore, clock: FakeClock) -> None:
    rec = _recorder(store, clock)
    rec.record("assistenteHttp", 10, intent="listarDespesas", user_id="alice")
    rec.record("assistenteHttp", 30, intent="listarDespesas", user_id="bob")
    rec.record(
        "assistenteHttp",
        200,
        intent="registrarDespesa",
        user_id="alice",
        code="INVALID_ARGUMENT",
    )
    rec.record("getUserStats", 4, user_id="alice")
    rec.record("getUserStats", 6, code="INTERNAL")

    assert rec.flush() == 2
    doc = store.inner.get(
        f"metrics/{minute_id(int(START.timestamp()) // 60)}-assistenteHttp"
    )
    assert doc is not None
    assert doc["count"] == 3
    assert doc["durationMsSum"] == pytest.approx(240)
    assert doc["errors"] == {"INVALID_ARGUMENT": 1}
    assert doc["peaks"] == {"i1": {"minMs": 10, "maxMs": 200}}
    assert doc["histogram"] == {"le10": 1, "le50": 1, "le200": 1}
    assert doc["intents"]["listarDespesas"]["count"] == 2
    assert doc["intents"]["registrarDespesa"]["errors"] == {"INVALID_ARGUMENT": 1}
    assert doc["users"]["alice"]["count"] == 2
    assert doc["users"]["alice"]["errors"] == 1
    assert doc["users"]["alice"]["intents"]["registrarDespesa"]["durationMsSum"] == 200

    # A second flush of the same minute adds to the same documents.
    rec.record("assistenteHttp", 5, intent="listarDespesas", user_id="carol")
    clock.tick(10)
    assert rec.flush() == 1
    window = read_window(store.inner, START, START + timedelta(minutes=1))
    total = window.functions["assistenteHttp"]
    assert total.count == 4
    assert total.min_ms == 5 and total.max_ms == 200
    assert total.users == {"alice", "bob", "carol"}
    assert window.intents["listarDespesas"].count == 3
    assert window.intents["listarDespesas"].users == {"alice", "bob", "carol"}
    assert window.total.count == 6
    assert window.total.error_count == 2
    assert (
        window.total.server_error_count == 1
    )  # INTERNAL; INVALID_ARGUMENT is the caller's
    summary = window.total.summary()
    assert summary["calls"] == 6
    assert summary["errorRate"] == pytest.approx(2 / 6, abs=1e-4)
    assert summary["avgMs"] == pytest.approx((240 + 10 + 5) / 6, abs=0.01)


def test_recording_touches_no_store(store: CountingStore, clock: FakeClock) -> None:
    rec = _recorder(store, clock)
    for i in range(1000):
        rec.record("assistenteHttp", 1 + i % 7, intent="listarDespesas", user_id="u")

    assert store.writes == [] and store.commits == 0
    assert rec.pending() == 1


def test_flush_is_bounded_by_the_interval(
    store: CountingStore, clock: FakeClock
) -> None:
    rec = _recorder(store, clock, every=10)
    functions = ["assistenteHttp", "getUserStats", "getSystemMetrics"]

    # 3,000 calls over 60 simulated seconds, the flusher woken after every one
    # of them (the worst case for write counts).
    for i in range(3000):
        clock.tick(0.02)
        due = rec.record(functions[i % 3], 12.5, user_id=f"u{i % 40}")
        if due:
            rec.flush_if_due()
        else:
            assert rec.flush_if_due() == 0

    intervals = 60 / 10
    assert store.commits <= intervals
    per_function = {
        f: sum(1 for p in store.writes if p.endswith(f"-{f}")) for f in functions
    }
    for f in functions:
        assert per_function[f] <= intervals
    rec.flush()  # instance shutdown
    window = read_window(store.inner, START, START + timedelta(minutes=2))
    assert window.total.count == 3000


def test_failed_flush_keeps_figures_for_the_next(
    store: CountingStore, clock: FakeClock
) -> None:
    rec = _recorder(store, clock)
    rec.record("getUserStats", 7, user_id="alice")
    store.fail_writes = True

    assert rec.flush() == 0

    rec.record("getUserStats", 9, user_id="alice")
    store.fail_writes = False
    assert rec.flush() == 1
    window = read_window(store.inner, START, START + timedelta(minutes=1))
    assert window.total.count == 2
    assert window.total.min_ms == 7 and window.total.max_ms == 9


def test_cache_counters_are_rolled_up_as_deltas(
    store: CountingStore, clock: FakeClock
) -> None:
    from functions.cache import Cache, Category

    cache = Cache()
    rec = Recorder(store, flush_seconds=10, clock=clock.epoch, cache=cache)
    cache.get_or_load("alice", Category.EXPENSES, "k", lambda: [1])
    cache.get_or_load("alice", Category.EXPENSES, "k", lambda: [1])
    rec.flush()
    cache.get_or_load("alice", Category.EXPENSES, "k", lambda: [1])
    rec.flush()
    cache.close()

    window = read_window(store.inner, START, START + timedelta(minutes=1))
    assert (window.cache_hits, window.cache_misses) == (2, 1)
    assert window.cache_hit_rate == pytest.approx(2 / 3, abs=1e-4)


def test_series_has_p50_p95_and_cache_hit_rate_per_minute(
    store: CountingStore, clock: FakeClock
) -> None:
    from functions.cache import Cache, Category

    cache = Cache()
    rec = Recorder(store, flush_seconds=10, clock=clock.epoch, cache=cache)

    def read(key: str) -> None:
        cache.get_or_load("alice", Category.EXPENSES, key, lambda: [1])

    # Minute 0: calls of 1..100 ms; the cache misses once and hits 3 times.
    for ms in range(1, 101):
        rec.record("assistenteHttp", float(ms))
    for _ in range(4):
        read("a")
    rec.flush()
    # Minute 1: ten calls of 40 ms; no cache reads.
    clock.tick(60)
    for _ in range(10):
        rec.record("getUserStats", 40.0)
    rec.flush()
    # Minute 2: no calls; one miss and one hit.
    clock.tick(60)
    read("b")
    read("b")
    rec.flush()
    cache.close()

    window = read_window(store.inner, START, START + timedelta(minutes=3))
    points = window.series(1)

    assert [p["at"] for p in points] == [START + timedelta(minutes=m) for m in range(3)]
    assert [p["calls"] for p in points] == [100, 10, 0]
    assert [p["p50Ms"] for p in points] == [50.0, 40.0, None]
    assert [p["p95Ms"] for p in points] == [95.0, 40.0, None]
    assert [p["avgMs"] for p in points] == [50.5, 40.0, None]
    assert [p["cacheHitRate"] for p in points] == [0.75, None, 0.5]
    # The minute's figures are the window's own, computed the same way.
    minute = window.minutes[int(START.timestamp()) // 60].summary()
    assert (minute["p50Ms"], minute["p95Ms"]) == (50.0, 95.0)

    # Two-minute steps merge the histograms and the cache counters first:
    # 110 calls, rank 55 falls 30/35 into (25, 50], rank 104.5 44.5/50 into
    # (50, 100].
    coarse = window.series(2)
    assert [p["calls"] for p in coarse] == [110, 0]
    assert [p["p50Ms"] for p in coarse] == [46.43, None]
    assert [p["p95Ms"] for p in coarse] == [94.5, None]
    assert [p["cacheHitRate"] for p in coarse] == [0.75, 0.5]
