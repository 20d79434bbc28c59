"""System health: store, cache, last good backup and recent errors, in one verdict.

`unhealthy` (HTTP 503) when the store cannot be reached: nothing works then.
`degraded` (HTTP 200) when something is wrong but requests are still served:
Redis unreachable, the last good backup older than `BACKUP_MAX_AGE`, no good
backup at all while the system already holds data older than a day, or a
server error rate above `alert_error_rate` over the last 15 minutes. A
brand-new system with no backup yet is healthy: the first daily backup has
not had a chance to run.

Anyone may ask for the status; the component details are only for admins.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from functions.monitoring.window import bounds, read_window
from functions.services import Services
from functions.store.base import Filter, Query, StoreUnavailable

__all__ = ["BACKUP_MAX_AGE", "HealthReport", "check_health"]

BACKUP_MAX_AGE = timedelta(hours=26)
"""The daily backup runs at 02:00; two hours of slack before it counts as late."""

ERROR_WINDOW = timedelta(minutes=15)
_NO_BACKUP_GRACE = timedelta(days=1)
_GOOD_BACKUP = ("verified", "completed")
_BACKUP_SCAN = 50

_RANK = {"healthy": 0, "degraded": 1, "unhealthy": 2}


@dataclass
class HealthReport:
    """The verdict and what each component said."""

    status: str = "healthy"
    components: dict[str, dict[str, Any]] = field(default_factory=dict)

    def note(self, name: str, status: str, **details: Any) -> None:
        self.components[name] = {"status": status, **details}
        if _RANK[status] > _RANK[self.status]:
            self.status = status

    @property
    def http_status(self) -> int:
        return 503 if self.status == "unhealthy" else 200


def check_health(services: Services) -> HealthReport:
    """Probe every component now; never raises."""
    report = HealthReport()
    store_ok = _check_store(services, report)
    _check_cache(services, report)
    if store_ok:
        _check_backup(services, report)
        _check_errors(services, report)
    return report


def _check_store(services: Services, report: HealthReport) -> bool:
    started = time.perf_counter()
    try:
        services.store.ping()
    except Exception as err:
        report.note("store", "unhealthy", error=type(err).__name__)
        return False
    elapsed = (time.perf_counter() - started) * 1000
    report.note("store", "healthy", latencyMs=round(elapsed, 2))
    return True


def _check_cache(services: Services, report: HealthReport) -> None:
    try:
        state = services.cache.health()
        total = services.cache.stats()["total"]
    except Exception as err:
        report.note("cache", "degraded", error=type(err).__name__)
        return
    status = "degraded" if state.get("l2") == "down" else "healthy"
    report.note(
        "cache",
        status,
        l1=state.get("l1"),
        l2=state.get("l2"),
        hitRate=total.get("hitRate"),
    )


def _last_good_backup(services: Services) -> datetime | None:
    # Ordered by finishedAt only (a single-field index) and filtered here, so
    # no composite index on (status, finishedAt) is needed.
    page = services.store.query(
        Query("backups", order_by=(("finishedAt", "desc"),), limit=_BACKUP_SCAN)
    )
    for doc in page.docs:
        finished = doc.data.get("finishedAt")
        if doc.data.get("status") in _GOOD_BACKUP and isinstance(finished, datetime):
            return finished
    return None


def _has_old_data(services: Services, cutoff: datetime) -> bool:
    page = services.store.query(
        Query("users", filters=(Filter("createdAt", "<", cutoff),), limit=1)
    )
    return bool(page.docs)


def _check_backup(services: Services, report: HealthReport) -> None:
    now = services.clock()
    try:
        finished = _last_good_backup(services)
        if finished is None:
            old_data = _has_old_data(services, now - _NO_BACKUP_GRACE)
            status = "degraded" if old_data else "healthy"
            report.note("backup", status, lastGoodBackup=None, reason="no backup yet")
            return
    except (StoreUnavailable, ValueError) as err:
        report.note("backup", "degraded", error=type(err).__name__)
        return
    age = now - finished
    report.note(
        "backup",
        "degraded" if age > BACKUP_MAX_AGE else "healthy",
        lastGoodBackup=finished.isoformat(),
        ageHours=round(age.total_seconds() / 3600, 2),
    )


def _check_errors(services: Services, report: HealthReport) -> None:
    now = services.clock()
    try:
        window = read_window(services.store, *bounds(now, ERROR_WINDOW))
    except StoreUnavailable as err:
        report.note("errors", "degraded", error=type(err).__name__)
        return
    calls = window.total.count
    rate = window.total.server_error_count / calls if calls else 0.0
    settings = services.settings
    failing = calls >= settings.alert_min_calls and rate > settings.alert_error_rate
    report.note(
        "errors",
        "degraded" if failing else "healthy",
        calls=calls,
        serverErrorRate=round(rate, 4),
    )
