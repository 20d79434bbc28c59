"""Reading rollups back: the metrics documents of a time window, merged.

`read_window` pages through `metrics/` by the `minute` field (a single-field
range, no composite index needed) and folds the documents into totals per
function, per intent and per minute. The figures of the last flush interval
of other instances are not there yet; see `rollups`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from functions.monitoring.calls import is_server_error
from functions.monitoring.rollups import BUCKET_KEYS, METRICS, percentile
from functions.store.base import Filter, Query, Store

__all__ = ["WINDOWS", "Rollup", "Window", "bounds", "read_docs", "read_window"]

WINDOWS: Mapping[str, timedelta] = {
    "15m": timedelta(minutes=15),
    "1h": timedelta(hours=1),
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
}
"""The windows the metrics API offers, by the name the dashboard sends."""

_PAGE = 500
_BUCKET_INDEX = {key: i for i, key in enumerate(BUCKET_KEYS)}


def _number(value: Any) -> float:
    return float(value) if isinstance(value, int | float) else 0.0


@dataclass
class Rollup:
    """Merged figures of any set of rollup cells."""

    count: int = 0
    duration_sum: float = 0.0
    errors: dict[str, int] = field(default_factory=dict)
    histogram: list[int] = field(default_factory=lambda: [0] * len(BUCKET_KEYS))
    min_ms: float | None = None
    max_ms: float | None = None
    users: set[str] = field(default_factory=set)

    def add_cell(self, cell: Mapping[str, Any]) -> None:
        """Fold in one stored cell (a function document or one of its intents)."""
        self.count += int(_number(cell.get("count")))
        self.duration_sum += _number(cell.get("durationMsSum"))
        for code, n in (cell.get("errors") or {}).items():
            self.errors[code] = self.errors.get(code, 0) + int(_number(n))
        for key, n in (cell.get("histogram") or {}).items():
            index = _BUCKET_INDEX.get(key)
            if index is not None:
                self.histogram[index] += int(_number(n))
        for peak in (cell.get("peaks") or {}).values():
            if isinstance(peak, Mapping):
                self._extend(peak.get("minMs"), peak.get("maxMs"))

    def _extend(self, low: Any, high: Any) -> None:
        if isinstance(low, int | float):
            self.min_ms = low if self.min_ms is None else min(self.min_ms, low)
        if isinstance(high, int | float):
            self.max_ms = high if self.max_ms is None else max(self.max_ms, high)

    def merge(self, other: Rollup) -> None:
        """Fold in another rollup."""
        self.count += other.count
        self.duration_sum += other.duration_sum
        for code, n in other.errors.items():
            self.errors[code] = self.errors.get(code, 0) + n
        for i, n in enumerate(other.histogram):
            self.histogram[i] += n
        self._extend(other.min_ms, other.max_ms)
        self.users |= other.users

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    @property
    def server_error_count(self) -> int:
        return sum(n for code, n in self.errors.items() if is_server_error(code))

    def percentile(self, q: float) -> float | None:
        """Estimated latency quantile in ms (None without calls)."""
        return percentile(self.histogram, q, self.min_ms, self.max_ms)

    def summary(self) -> dict[str, Any]:
        """The JSON figures the metrics API returns for this rollup."""

        def ms(value: float | None) -> float | None:
            return None if value is None else round(value, 2)

        def rate(n: int) -> float:
            return round(n / self.count, 4) if self.count else 0.0

        errors = self.error_count
        return {
            "calls": self.count,
            "errors": errors,
            "serverErrors": self.server_error_count,
            "errorsByCode": dict(sorted(self.errors.items())),
            "successRate": rate(self.count - errors) if self.count else 1.0,
            "errorRate": rate(errors),
            "serverErrorRate": rate(self.server_error_count),
            "avgMs": ms(self.duration_sum / self.count) if self.count else None,
            "p50Ms": ms(self.percentile(0.50)),
            "p95Ms": ms(self.percentile(0.95)),
            "p99Ms": ms(self.percentile(0.99)),
            "minMs": ms(self.min_ms),
            "maxMs": ms(self.max_ms),
            "activeUsers": len(self.users),
        }


@dataclass
class Window:
    """Everything recorded between `since` (inclusive) and `until`."""

    since: datetime
    until: datetime
    total: Rollup = field(default_factory=Rollup)
    functions: dict[str, Rollup] = field(default_factory=dict)
    intents: dict[str, Rollup] = field(default_factory=dict)
    minutes: dict[int, Rollup] = field(default_factory=dict)
    cache_hits: int = 0
    cache_misses: int = 0
    cache_l2_errors: int = 0
    cache_minutes: dict[int, list[int]] = field(default_factory=dict)
    """Cache `[hits, misses]` by epoch minute (the minute of the flush)."""

    @property
    def cache_reads(self) -> int:
        return self.cache_hits + self.cache_misses

    @property
    def cache_hit_rate(self) -> float | None:
        reads = self.cache_reads
        return round(self.cache_hits / reads, 4) if reads else None

    def add(self, doc: Mapping[str, Any]) -> None:
        """Fold in one metrics document."""
        if doc.get("kind") == "cache":
            hits = int(_number(doc.get("hits")))
            misses = int(_number(doc.get("misses")))
            self.cache_hits += hits
            self.cache_misses += misses
            self.cache_l2_errors += int(_number(doc.get("l2Errors")))
            cache_at = doc.get("minute")
            if isinstance(cache_at, datetime):
                reads = self.cache_minutes.setdefault(
                    int(cache_at.timestamp() // 60), [0, 0]
                )
                reads[0] += hits
                reads[1] += misses
            return
        function = doc.get("function")
        minute_at = doc.get("minute")
        if not isinstance(function, str) or not isinstance(minute_at, datetime):
            return
        cell = Rollup()
        cell.add_cell(doc)
        cell.users.update((doc.get("users") or {}).keys())
        self.total.merge(cell)
        self.functions.setdefault(function, Rollup()).merge(cell)
        minute = int(minute_at.timestamp() // 60)
        self.minutes.setdefault(minute, Rollup()).merge(cell)
        users = doc.get("users") or {}
        for name, intent_cell in (doc.get("intents") or {}).items():
            rollup = self.intents.setdefault(name, Rollup())
            rollup.add_cell(intent_cell)
            rollup.users.update(
                uid
                for uid, user in users.items()
                if name in ((user or {}).get("intents") or {})
            )

    def series(self, step_minutes: int) -> list[dict[str, Any]]:
        """Per step: calls, errors, average, p50 and p95 latency (from the
        step's merged histogram, as for the window) and the cache hit rate.

        Steps without calls have zero counts and null latencies; steps without
        cache reads have a null hit rate.
        """
        first = int(self.since.timestamp() // 60) // step_minutes
        last = (int(self.until.timestamp() // 60) - 1) // step_minutes
        steps: dict[int, Rollup] = {}
        for minute, rollup in self.minutes.items():
            steps.setdefault(minute // step_minutes, Rollup()).merge(rollup)
        cache: dict[int, list[int]] = {}
        for minute, (hits, misses) in self.cache_minutes.items():
            cell = cache.setdefault(minute // step_minutes, [0, 0])
            cell[0] += hits
            cell[1] += misses
        points = []
        for step in range(first, last + 1):
            summary = steps.get(step, Rollup()).summary()
            hits, misses = cache.get(step, (0, 0))
            reads = hits + misses
            points.append(
                {
                    "at": datetime.fromtimestamp(step * step_minutes * 60, UTC),
                    "calls": summary["calls"],
                    "errors": summary["errors"],
                    "serverErrors": summary["serverErrors"],
                    "avgMs": summary["avgMs"],
                    "p50Ms": summary["p50Ms"],
                    "p95Ms": summary["p95Ms"],
                    "cacheHitRate": round(hits / reads, 4) if reads else None,
                }
            )
        return points


def bounds(now: datetime, span: timedelta) -> tuple[datetime, datetime]:
    """`[since, until)` covering `span` back from `now`, up to the end of the
    current minute so its partial rollup counts."""
    now = now.astimezone(UTC)
    until = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
    return now - span, until


def read_docs(store: Store, since: datetime, until: datetime) -> Iterator[dict]:
    """The data of every metrics document with `since <= minute < until`."""
    query = Query(
        METRICS,
        filters=(Filter("minute", ">=", since), Filter("minute", "<", until)),
        order_by=(("minute", "asc"),),
        limit=_PAGE,
    )
    cursor: str | None = None
    while True:
        page = store.query(
            Query(query.collection, query.filters, query.order_by, _PAGE, cursor)
        )
        for doc in page.docs:
            yield doc.data
        cursor = page.next_cursor
        if cursor is None:
            return


def read_window(store: Store, since: datetime, until: datetime) -> Window:
    """All rollups recorded in `[since, until)`, merged."""
    window = Window(since=since, until=until)
    for data in read_docs(store, since, until):
        window.add(data)
    return window
