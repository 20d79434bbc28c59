"""Per-minute rollups of function calls, kept in memory and flushed in bulk.

A call is recorded into the rollup of its minute and function (and, for
`assistenteHttp`, of its intent): count, errors by code, duration sum, a
fixed-bucket latency histogram, min and max, and the users who called. Nothing
touches the store while recording; a `Recorder` writes what accumulated with
one batch of merged `Increment`s at most once per flush interval, from a
background thread, and once more when the instance shuts down (atexit and
SIGTERM). A lost instance therefore loses at most one interval of figures.

Document `metrics/{YYYYMMDDHHMM}-{function}` (minute in UTC)::

    kind: "function", function, minute (timestamp)
    count, durationMsSum                       Increment
    errors: {CODE: n}                          Increment
    histogram: {"le5": n, ..., "inf": n}       Increment
    peaks: {instance: {minMs, maxMs}}          overwritten, see below
    intents: {name: {count, durationMsSum, errors, histogram, peaks}}
    users: {uid: {count, errors, durationMsSum,
                  intents: {name: {count, errors, durationMsSum}}}}

Minimum and maximum cannot be merged with increments. Each instance keeps the
running extremes of every minute it served and overwrites only its own entry
under `peaks`; readers take the min and max over the entries. A second
document per minute, `metrics/{minute}-_cache` (kind "cache"), adds this
instance's cache hits, misses and L2 errors since the previous flush.
"""

from __future__ import annotations

import bisect
import contextlib
import logging
import math
import secrets
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from functions.monitoring import shutdown
from functions.store.base import Increment

if TYPE_CHECKING:
    from functions.cache import Cache
    from functions.services import Services
    from functions.store.base import Store

__all__ = [
    "BOUNDS_MS",
    "BUCKET_KEYS",
    "CACHE_DOC_SUFFIX",
    "METRICS",
    "Recorder",
    "bucket_index",
    "flush_all",
    "minute_id",
    "percentile",
    "recorder_for",
]

_log = logging.getLogger("functions.monitoring.rollups")

METRICS = "metrics"
CACHE_DOC_SUFFIX = "_cache"

BOUNDS_MS: tuple[float, ...] = (
    0.5,
    1,
    2.5,
    5,
    10,
    25,
    50,
    100,
    200,
    300,
    500,
    750,
    1000,
    1500,
    2000,
    3000,
    5000,
    10000,
    30000,
    60000,
)
"""Upper bounds (inclusive, ms) of the latency buckets; one more catches the rest.

Dense below 1 s where most calls land, down to half a millisecond for cached
reads; 3000 is a bound so the p95 alert's threshold falls exactly on a bucket
edge.
"""

# Field names cannot hold a dot (it would address a nested field): le0_5.
BUCKET_KEYS: tuple[str, ...] = (
    *(f"le{bound:g}".replace(".", "_") for bound in BOUNDS_MS),
    "inf",
)
_N_BUCKETS = len(BUCKET_KEYS)
_BATCH_LIMIT = 400  # below Firestore's 500 writes per batch
_PEAK_MINUTES_KEPT = 3
_FOLD_AT = 2048
"""Queued calls that wake the flusher to fold them before its next tick."""
_FOLD_INLINE_AT = 8 * _FOLD_AT
"""Queued calls folded by the recording request itself (no flusher attached,
or it fell behind): the queue's memory stays bounded."""


def bucket_index(duration_ms: float) -> int:
    """The histogram bucket a duration falls in."""
    return bisect.bisect_left(BOUNDS_MS, duration_ms)


def minute_id(minute: int) -> str:
    """The document id prefix of a minute (epoch minutes), e.g. `202612031432`."""
    return datetime.fromtimestamp(minute * 60, UTC).strftime("%Y%m%d%H%M")


def percentile(
    histogram: list[int],
    q: float,
    min_ms: float | None = None,
    max_ms: float | None = None,
) -> float | None:
    """The `q` quantile (0 < q <= 1) estimated from bucket counts, in ms.

    Values are assumed spread evenly inside their bucket; the observed min and
    max, when known, narrow the first and last buckets used (and stand in for
    the open upper end of the overflow bucket). None for an empty histogram.
    """
    total = sum(histogram)
    if total == 0:
        return None
    rank = q * total
    seen = 0
    for index, count in enumerate(histogram):
        if count == 0 or seen + count < rank:
            seen += count
            continue
        lower = BOUNDS_MS[index - 1] if index > 0 else 0.0
        upper = BOUNDS_MS[index] if index < len(BOUNDS_MS) else max_ms or lower
        if min_ms is not None:
            lower = max(lower, min(min_ms, upper))
        if max_ms is not None:
            upper = min(upper, max(max_ms, lower))
        return lower + (upper - lower) * (rank - seen) / count
    return max_ms


@dataclass(slots=True)
class _Stats:
    """Deltas of one rollup cell since the last flush."""

    count: int = 0
    duration_sum: float = 0.0
    errors: dict[str, int] = field(default_factory=dict)
    histogram: list[int] = field(default_factory=lambda: [0] * _N_BUCKETS)

    def add(self, duration_ms: float, code: str | None) -> None:
        self.count += 1
        self.duration_sum += duration_ms
        self.histogram[bucket_index(duration_ms)] += 1
        if code is not None:
            self.errors[code] = self.errors.get(code, 0) + 1

    def merge(self, other: _Stats) -> None:
        self.count += other.count
        self.duration_sum += other.duration_sum
        for code, n in other.errors.items():
            self.errors[code] = self.errors.get(code, 0) + n
        for i, n in enumerate(other.histogram):
            self.histogram[i] += n

    def increments(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "count": Increment(self.count),
            "durationMsSum": Increment(round(self.duration_sum, 3)),
            "histogram": {
                BUCKET_KEYS[i]: Increment(n) for i, n in enumerate(self.histogram) if n
            },
        }
        if self.errors:
            data["errors"] = {code: Increment(n) for code, n in self.errors.items()}
        return data


@dataclass(slots=True)
class _UserStats:
    count: int = 0
    errors: int = 0
    duration_sum: float = 0.0
    intents: dict[str, list[float]] = field(default_factory=dict)

    def add(self, intent: str | None, duration_ms: float, failed: bool) -> None:
        self.count += 1
        self.errors += failed
        self.duration_sum += duration_ms
        if intent is not None:
            cell = self.intents.get(intent)
            if cell is None:  # not setdefault: its default is a new list per call
                cell = self.intents[intent] = [0, 0, 0.0]
            cell[0] += 1
            cell[1] += failed
            cell[2] += duration_ms

    def merge(self, other: _UserStats) -> None:
        self.count += other.count
        self.errors += other.errors
        self.duration_sum += other.duration_sum
        for intent, (n, errors, duration) in other.intents.items():
            cell = self.intents.setdefault(intent, [0, 0, 0.0])
            cell[0] += n
            cell[1] += errors
            cell[2] += duration

    def increments(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "count": Increment(self.count),
            "errors": Increment(self.errors),
            "durationMsSum": Increment(round(self.duration_sum, 3)),
        }
        if self.intents:
            data["intents"] = {
                name: {
                    "count": Increment(int(n)),
                    "errors": Increment(int(errors)),
                    "durationMsSum": Increment(round(duration, 3)),
                }
                for name, (n, errors, duration) in self.intents.items()
            }
        return data


@dataclass(slots=True)
class _Bucket:
    """Everything one minute of one function accumulated since the last flush."""

    stats: _Stats = field(default_factory=_Stats)
    intents: dict[str, _Stats] = field(default_factory=dict)
    users: dict[str, _UserStats] = field(default_factory=dict)

    def merge(self, other: _Bucket) -> None:
        self.stats.merge(other.stats)
        for name, stats in other.intents.items():
            self.intents.setdefault(name, _Stats()).merge(stats)
        for uid, user in other.users.items():
            self.users.setdefault(uid, _UserStats()).merge(user)


_Key = tuple[int, str]  # (epoch minute, function)
# (epoch seconds, function, duration ms, code, intent, user id)
_Recorded = tuple[float, str, float, str | None, str | None, str | None]
_PeakKey = tuple[int, str, str | None]  # (epoch minute, function, intent)


class Recorder:
    """In-memory rollups of one instance, flushed to one store.

    Thread-safe: requests record from many threads while a flush drains.
    """

    def __init__(
        self,
        store: Store,
        *,
        flush_seconds: float = 10.0,
        clock: Callable[[], float],
        cache: Cache | None = None,
        instance_id: str | None = None,
    ) -> None:
        """`clock` gives epoch seconds (tests pass a fake). With `cache`, its
        hit and miss counters are rolled up at each flush too."""
        self._store = store
        self._flush_seconds = flush_seconds
        self._clock = clock
        self._cache = cache
        self.instance_id = instance_id or secrets.token_hex(4)
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._buckets: dict[_Key, _Bucket] = {}
        self._queued: deque[_Recorded] = deque()
        self._peaks: dict[_PeakKey, list[float]] = {}
        self._dirty_peaks: set[_PeakKey] = set()
        self._last_flush = clock()
        self._next_slot_at = self._slot_end(self._last_flush)
        self._cache_seen: tuple[int, int, int] | None = None
        self._wake: Callable[[], None] | None = None

    @property
    def flush_seconds(self) -> float:
        return self._flush_seconds

    def record(
        self,
        function: str,
        duration_ms: float,
        *,
        code: str | None = None,
        intent: str | None = None,
        user_id: str | None = None,
        at: float | None = None,
    ) -> bool:
        """Count one call (`code` None for success); True when a flush is due.

        Never touches the store; a background flusher, if attached, is woken.
        The call is only appended to a queue here (an atomic `deque.append`,
        no lock); `fold` adds queued calls to the rollups in a batch, which
        every read of the rollups (`flush`, `pending`) does first, and the
        flusher does at each tick or when the queue grows long.
        """
        now = self._clock() if at is None else at
        queued = self._queued
        queued.append((now, function, duration_ms, code, intent, user_id))
        if len(queued) >= _FOLD_AT:
            if self._wake is not None and len(queued) < _FOLD_INLINE_AT:
                self._wake()
            else:
                self.fold()
        due = now >= self._next_slot_at
        if due and self._wake is not None:
            self._wake()
        return due

    def fold(self) -> int:
        """Add every queued call to the rollups; how many were folded."""
        with self._lock:
            return self._fold()

    def _fold(self) -> int:
        # Caller holds `_lock`. popleft is atomic against a concurrent append,
        # so no recorded call is lost or counted twice.
        queued = self._queued
        buckets = self._buckets
        folded = 0
        while True:
            try:
                now, function, duration_ms, code, intent, user_id = queued.popleft()
            except IndexError:
                return folded
            folded += 1
            minute = int(now // 60)
            key = (minute, function)
            bucket = buckets.get(key)
            if bucket is None:
                bucket = buckets[key] = _Bucket()
            bucket.stats.add(duration_ms, code)
            self._extend_peak((minute, function, None), duration_ms)
            if intent is not None:
                stats = bucket.intents.get(intent)
                if stats is None:
                    stats = bucket.intents[intent] = _Stats()
                stats.add(duration_ms, code)
                self._extend_peak((minute, function, intent), duration_ms)
            if user_id:
                user = bucket.users.get(user_id)
                if user is None:
                    user = bucket.users[user_id] = _UserStats()
                user.add(intent, duration_ms, code is not None)

    def _extend_peak(self, key: _PeakKey, duration_ms: float) -> None:
        # Only a new or moved extreme needs writing again: the stored entry of
        # an unchanged one is already right (a failed flush re-marks its own).
        peak = self._peaks.get(key)
        if peak is None:
            self._peaks[key] = [duration_ms, duration_ms]
        elif duration_ms < peak[0]:
            peak[0] = duration_ms
        elif duration_ms > peak[1]:
            peak[1] = duration_ms
        else:
            return
        self._dirty_peaks.add(key)

    def _slot(self, epoch: float) -> int:
        # Flushes are aligned to multiples of the interval in wall time: with
        # an interval dividing a minute, no interval spans two minutes.
        return int(epoch // self._flush_seconds) if self._flush_seconds > 0 else 0

    def _slot_end(self, epoch: float) -> float:
        # The first time in a later slot than `epoch`: a record at or after
        # it finds a flush due (`_slot(now) > _slot(epoch)`), one compare.
        if self._flush_seconds <= 0:
            return math.inf
        return (self._slot(epoch) + 1) * self._flush_seconds

    def pending(self) -> int:
        """How many (minute, function) rollups wait for the next flush."""
        with self._lock:
            self._fold()
            return len(self._buckets)

    def flush_if_due(self) -> int:
        """Flush when the interval has passed since the last flush; documents
        written (0 when not due or nothing to write)."""
        with self._lock:
            now = self._clock()
            slot = self._slot(now)
            due = slot > self._slot(self._last_flush)
        if not due:
            return 0
        # Calls of a minute that began in the current slot wait for the next
        # flush, so each flush writes one document per function.
        return self.flush(hold_from=slot * self._flush_seconds)

    def flush(self, hold_from: float | None = None) -> int:
        """Write everything recorded so far; returns how many documents.

        With `hold_from` (epoch seconds), minutes starting at or after it stay
        in memory for the next flush. On a store failure the figures are kept
        for the next flush and the failure is logged, never raised: metrics
        must not fail a request.
        """
        with self._flush_lock:
            with self._lock:
                self._fold()
                buckets, self._buckets = self._buckets, {}
                if hold_from is not None:
                    for key in [k for k in buckets if k[0] * 60 >= hold_from]:
                        self._buckets[key] = buckets.pop(key)
                dirty, self._dirty_peaks = self._dirty_peaks, set()
                held = {k for k in dirty if k[:2] in self._buckets}
                self._dirty_peaks |= held
                peaks = {key: tuple(self._peaks[key]) for key in dirty - held}
                now = self._clock()
                self._last_flush = now
                self._next_slot_at = self._slot_end(now)
                self._forget_old_peaks(int(now // 60))
            writes = [
                (key, self._document(key, bucket, peaks))
                for key, bucket in buckets.items()
            ]
            cache_write = self._cache_document(int(now // 60))
            written = 0
            for start in range(0, len(writes), _BATCH_LIMIT):
                chunk = writes[start : start + _BATCH_LIMIT]
                extra = [cache_write] if cache_write and start == 0 else []
                try:
                    self._commit([w for _, w in chunk] + extra)
                except Exception as err:
                    self._restore(writes[start:], buckets, peaks, extra)
                    _log.warning(
                        "metrics flush failed; figures kept for the next one",
                        extra={
                            "event": "metrics_flush_failed",
                            "error_type": type(err).__name__,
                            "documents": len(writes) - start,
                        },
                    )
                    return written
                written += len(chunk) + len(extra)
            if cache_write and not writes:
                try:
                    self._commit([cache_write])
                    written += 1
                except Exception:
                    self._cache_seen = None  # re-read the counters next time
            return written

    def _commit(self, docs: list[tuple[str, dict[str, Any]]]) -> None:
        if len(docs) == 1:
            self._store.set(docs[0][0], docs[0][1], merge=True)
            return
        batch = self._store.batch()
        for path, data in docs:
            batch.set(path, data, merge=True)
        batch.commit()

    def _restore(
        self,
        failed: list[tuple[_Key, tuple[str, dict[str, Any]]]],
        buckets: dict[_Key, _Bucket],
        peaks: Mapping[_PeakKey, tuple[float, ...]],
        cache_write: list[tuple[str, dict[str, Any]]],
    ) -> None:
        failed_keys = {key for key, _ in failed}
        with self._lock:
            for key in failed_keys:
                current = self._buckets.get(key)
                if current is None:
                    self._buckets[key] = buckets[key]
                else:
                    current.merge(buckets[key])
            for peak_key in peaks:
                if peak_key[:2] in failed_keys and peak_key in self._peaks:
                    self._dirty_peaks.add(peak_key)
            if cache_write:
                self._cache_seen = None

    def _forget_old_peaks(self, minute: int) -> None:
        # Records carry the current time, so minutes this old get no more calls.
        stale = [k for k in self._peaks if k[0] < minute - _PEAK_MINUTES_KEPT]
        for key in stale:
            if key not in self._dirty_peaks:
                del self._peaks[key]

    def _document(
        self,
        key: _Key,
        bucket: _Bucket,
        peaks: Mapping[_PeakKey, tuple[float, ...]],
    ) -> tuple[str, dict[str, Any]]:
        minute, function = key

        def peak_of(intent: str | None) -> dict[str, Any]:
            peak = peaks.get((minute, function, intent))
            if peak is None:
                return {}
            return {
                "peaks": {
                    self.instance_id: {
                        "minMs": round(peak[0], 3),
                        "maxMs": round(peak[1], 3),
                    }
                }
            }

        data: dict[str, Any] = {
            "kind": "function",
            "function": function,
            "minute": datetime.fromtimestamp(minute * 60, UTC),
            **bucket.stats.increments(),
            **peak_of(None),
        }
        if bucket.intents:
            data["intents"] = {
                name: {**stats.increments(), **peak_of(name)}
                for name, stats in bucket.intents.items()
            }
        if bucket.users:
            data["users"] = {
                uid: user.increments() for uid, user in bucket.users.items()
            }
        return f"{METRICS}/{minute_id(minute)}-{function}", data

    def _cache_document(self, minute: int) -> tuple[str, dict[str, Any]] | None:
        if self._cache is None:
            return None
        try:
            total = self._cache.stats()["total"]
            now = (int(total["hits"]), int(total["misses"]), int(total["l2Errors"]))
        except Exception:
            return None
        before, self._cache_seen = self._cache_seen, now
        if before is None:
            before = (0, 0, 0)
        hits, misses, l2_errors = (
            max(0, a - b) for a, b in zip(now, before, strict=True)
        )
        if not (hits or misses or l2_errors):
            return None
        return f"{METRICS}/{minute_id(minute)}-{CACHE_DOC_SUFFIX}", {
            "kind": "cache",
            "minute": datetime.fromtimestamp(minute * 60, UTC),
            "hits": Increment(hits),
            "misses": Increment(misses),
            "l2Errors": Increment(l2_errors),
        }


# -- one recorder per Services, one background flusher per process -----------


class _Flusher:
    """A daemon thread that flushes every registered recorder when it is due."""

    def __init__(self) -> None:
        self._recorders: weakref.WeakSet[Recorder] = weakref.WeakSet()
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._tick = 10.0

    def add(self, recorder: Recorder) -> None:
        with self._lock:
            self._recorders.add(recorder)
            self._tick = min(self._tick, max(recorder.flush_seconds, 0.05))
            recorder._wake = self._event.set
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._loop, name="metrics-flusher", daemon=True
                )
                self._thread.start()

    def recorders(self) -> list[Recorder]:
        with self._lock:
            return list(self._recorders)

    def _loop(self) -> None:
        while True:
            self._event.wait(self._tick)
            self._event.clear()
            for recorder in self.recorders():
                try:
                    recorder.fold()
                    recorder.flush_if_due()
                except Exception:
                    _log.exception("metrics flusher failed", extra={"event": "metrics"})


_flusher = _Flusher()
_registry: dict[int, tuple[weakref.ref[Services], Recorder]] = {}
# Reentrant: a garbage collection inside `recorder_for` may run a dead
# Services' weakref callback (`_forget`) on the same thread, under the lock.
_registry_lock = threading.RLock()


def recorder_for(services: Services) -> Recorder:
    """The recorder that flushes into `services.store`, created on first use."""
    entry = _registry.get(id(services))
    if entry is not None and entry[0]() is services:
        return entry[1]
    with _registry_lock:
        entry = _registry.get(id(services))
        if entry is not None and entry[0]() is services:
            return entry[1]
        recorder = Recorder(
            services.store,
            flush_seconds=services.settings.metrics_flush_seconds,
            clock=_epoch_clock(weakref.ref(services)),
            cache=services.cache,
        )
        key = id(services)
        _registry[key] = (weakref.ref(services, lambda _: _forget(key)), recorder)
        shutdown.at_shutdown(flush_all, shutdown.ROLLUPS)
    _flusher.add(recorder)
    return recorder


def _epoch_clock(ref: weakref.ref[Services]) -> Callable[[], float]:
    # Reads `services.clock` at each call (tests swap it) through a weak
    # reference, so the recorder does not keep its services alive.
    from functions.services import Services

    system_clock = Services.clock  # the dataclass default: datetime.now(UTC)

    def now() -> float:
        services = ref()
        if services is None:
            return time.time()
        clock = services.clock
        # The same instant as `clock().timestamp()` for the default clock,
        # without building a datetime per recorded call.
        return time.time() if clock is system_clock else clock().timestamp()

    return now


def _forget(key: int) -> None:
    with _registry_lock:
        entry = _registry.get(key)
        if entry is not None and entry[0]() is None:
            del _registry[key]


def flush_all() -> int:
    """Flush every live recorder now (instance shutdown); documents written."""
    written = 0
    for recorder in _flusher.recorders():
        with contextlib.suppress(Exception):
            written += recorder.flush()
    return written
