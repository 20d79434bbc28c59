"""Health: the verdict per component, and what the HTTP function answers."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from functions.cache import Cache
from functions.monitoring.health import check_health
from functions.monitoring.rollups import Recorder
from functions.services import Services, use_services
from functions.store.base import StoreUnavailable
from functions.store.sqlite import SqliteStore
from tests.monitoring_helpers import FakeClock, dead_port, make_services


class _DownStore(SqliteStore):
    def ping(self) -> None:
        raise StoreUnavailable("no route to the database")


def _get_health(headers: dict[str, str] | None = None) -> tuple[int, dict[str, Any]]:
    import main

    app = Flask("health-tests")
    with app.test_request_context("/", method="GET", headers=headers or {}) as ctx:
        response = main.checkSystemHealth(ctx.request)
    return response.status_code, json.loads(response.get_data(as_text=True))


@pytest.fixture()
def clock() -> FakeClock:
    return FakeClock()


def test_fresh_system_is_healthy(tmp_path: Path, clock: FakeClock) -> None:
    report = check_health(make_services(tmp_path, clock))

    assert report.status == "healthy" and report.http_status == 200
    assert set(report.components) == {"store", "cache", "backup", "errors"}
    assert report.components["backup"]["reason"] == "no backup yet"


def test_dead_redis_degrades(tmp_path: Path, clock: FakeClock) -> None:
    cache = Cache(redis_url=f"redis://127.0.0.1:{dead_port()}/0")
    try:
        report = check_health(make_services(tmp_path, clock, cache=cache))
    finally:
        cache.close()

    assert report.status == "degraded" and report.http_status == 200
    assert report.components["cache"]["l2"] == "down"


def test_store_down_is_unhealthy(tmp_path: Path, clock: FakeClock) -> None:
    store = _DownStore(tmp_path / "down.sqlite3")
    report = check_health(make_services(tmp_path, clock, store=store))

    assert report.status == "unhealthy" and report.http_status == 503
    assert report.components["store"] == {
        "status": "unhealthy",
        "error": "StoreUnavailable",
    }


def test_backup_age_decides_the_backup_component(
    tmp_path: Path, clock: FakeClock
) -> None:
    services = make_services(tmp_path, clock)
    services.store.set(
        "backups/b1",
        {"status": "completed", "finishedAt": clock.now - timedelta(hours=3)},
    )
    services.store.set(
        "backups/b2", {"status": "failed", "finishedAt": clock.now - timedelta(hours=1)}
    )
    assert check_health(services).components["backup"]["ageHours"] == 3.0

    clock.tick(30 * 3600)
    report = check_health(services)

    assert report.status == "degraded"
    assert report.components["backup"]["status"] == "degraded"


def test_no_backup_with_old_data_degrades(tmp_path: Path, clock: FakeClock) -> None:
    services = make_services(tmp_path, clock)
    services.store.set("users/alice", {"createdAt": clock.now - timedelta(days=2)})

    report = check_health(services)

    assert report.components["backup"]["status"] == "degraded"
    assert report.status == "degraded"


def test_recent_server_errors_degrade(tmp_path: Path, clock: FakeClock) -> None:
    services = make_services(tmp_path, clock)
    rec = Recorder(services.store, clock=clock.epoch)
    for i in range(30):
        rec.record("getUserStats", 10, code="UNAVAILABLE" if i % 2 else None)
    rec.flush()

    report = check_health(services)

    assert report.components["errors"]["serverErrorRate"] == 0.5
    assert report.status == "degraded"


def test_http_details_only_for_admins(
    services: Services, alice: str, admin: str
) -> None:
    status, anonymous = _get_health()
    _, user = _get_health({"Authorization": f"Bearer {alice}"})
    _, root = _get_health({"Authorization": f"Bearer {admin}"})
    _, forged = _get_health({"Authorization": "Bearer not-a-token"})

    assert status == 200
    assert set(anonymous) == {"status", "timestamp"} == set(user) == set(forged)
    assert root["status"] == "healthy"
    assert set(root["components"]) == {"store", "cache", "backup", "errors"}


def test_http_unhealthy_is_503(tmp_path: Path, clock: FakeClock, admin: str) -> None:
    services = make_services(tmp_path, clock, store=_DownStore(tmp_path / "d.sqlite3"))
    use_services(services)
    try:
        status, body = _get_health({"Authorization": f"Bearer {admin}"})
    finally:
        use_services(None)

    assert status == 503
    assert body["status"] == "unhealthy"
    assert body["components"]["store"]["status"] == "unhealthy"


def test_http_rejects_other_methods(services: Services) -> None:
    import main

    app = Flask("health-tests")
    with app.test_request_context("/", method="POST") as ctx:
        response = main.checkSystemHealth(ctx.request)

    assert response.status_code == 405
