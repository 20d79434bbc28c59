"""Alerts: open, dedupe and resolve over simulated time; webhook; backup hooks."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest

from functions.cache import Cache
from functions.monitoring.alerts import (
    Rule,
    evaluate_alerts,
    open_alerts,
    raise_backup_alert,
    resolve_backup_alert,
)
from functions.monitoring.rollups import Recorder
from functions.services import Services
from tests.monitoring_helpers import FakeClock, dead_port, logged_lines, make_services


class _Hook(BaseHTTPRequestHandler):
    received: list[dict[str, Any]]

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        self.server.received.append(json.loads(self.rfile.read(length)))  # type: ignore[attr-defined]
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture()
def webhook() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    server = HTTPServer(("127.0.0.1", 0), _Hook)
    server.received = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook", server.received  # type: ignore[attr-defined]
    server.shutdown()
    server.server_close()


@pytest.fixture()
def clock() -> FakeClock:
    return FakeClock()


def _record(
    services: Services, clock: FakeClock, ok: int, failed: int, ms: float = 20
) -> None:
    rec = Recorder(services.store, clock=clock.epoch)
    for _ in range(ok):
        rec.record("assistenteHttp", ms, user_id="alice")
    for _ in range(failed):
        rec.record("assistenteHttp", ms, user_id="alice", code="INTERNAL")
    rec.flush()


def test_error_rate_alert_opens_once_then_resolves(
    tmp_path: Path, clock: FakeClock, webhook: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    url, received = webhook
    services = make_services(tmp_path, clock, ALERT_WEBHOOK_URL=url)
    _record(services, clock, ok=40, failed=10)  # 20% server errors
    clock.tick(60)

    first = evaluate_alerts(services)
    clock.tick(300)
    second = evaluate_alerts(services)

    assert first["opened"] == ["error_rate"] and first["open"] == ["error_rate"]
    assert second["opened"] == []  # deduplicated: still one open alert
    alert = services.store.get("alerts/error_rate")
    assert alert is not None
    assert alert["status"] == "open"
    assert alert["count"] == 2
    assert alert["value"] == pytest.approx(0.2)
    assert alert["firstSeen"] < alert["lastSeen"]
    alert_lines = [line for line in logged_lines(capsys) if line["severity"] == "ALERT"]
    assert [line["alert"] for line in alert_lines] == ["error_rate"]
    assert [body["event"] for body in received] == ["opened"]
    assert received[0]["alert"]["rule"] == "error_rate"

    # Fifteen quiet minutes later the window no longer holds the failures.
    clock.tick(15 * 60)
    third = evaluate_alerts(services)

    assert third["resolved"] == ["error_rate"] and third["open"] == []
    resolved = services.store.get("alerts/error_rate")
    assert resolved is not None and resolved["status"] == "resolved"
    assert resolved["resolvedAt"] == clock.now
    assert [body["event"] for body in received] == ["opened", "resolved"]


def test_too_few_calls_raise_nothing(tmp_path: Path, clock: FakeClock) -> None:
    services = make_services(tmp_path, clock)
    _record(services, clock, ok=5, failed=5, ms=5000)  # bad, but only 10 calls

    assert evaluate_alerts(services)["opened"] == []


def test_client_errors_alone_do_not_alert(tmp_path: Path, clock: FakeClock) -> None:
    services = make_services(tmp_path, clock)
    rec = Recorder(services.store, clock=clock.epoch)
    for _ in range(100):
        rec.record("assistenteHttp", 5, code="INVALID_ARGUMENT")
    rec.flush()

    assert evaluate_alerts(services)["opened"] == []


def test_slow_p95_opens_the_latency_alert(tmp_path: Path, clock: FakeClock) -> None:
    services = make_services(tmp_path, clock)
    _record(services, clock, ok=15, failed=0, ms=50)
    _record(services, clock, ok=10, failed=0, ms=4500)

    result = evaluate_alerts(services)

    assert result["opened"] == ["latency_p95"]
    alert = services.store.get("alerts/latency_p95")
    assert alert is not None and alert["value"] > 3000 and alert["threshold"] == 3000


def test_redis_down_opens_the_cache_alert(tmp_path: Path, clock: FakeClock) -> None:
    cache = Cache(redis_url=f"redis://127.0.0.1:{dead_port()}/0")
    services = make_services(tmp_path, clock, cache=cache)
    try:
        result = evaluate_alerts(services)
    finally:
        cache.close()

    assert Rule.CACHE_REDIS_DOWN.value in result["opened"]


def test_backup_alert_is_raised_and_resolved_by_the_backup_module(
    tmp_path: Path, clock: FakeClock, webhook: Any
) -> None:
    url, received = webhook
    services = make_services(tmp_path, clock, ALERT_WEBHOOK_URL=url)

    raise_backup_alert(services, "b-20261203", "upload failed")
    clock.tick(3600)
    raise_backup_alert(services, "b-20261203-retry", "upload failed again")

    [alert] = open_alerts(services)
    assert alert["rule"] == "backup_failed" and alert["count"] == 2
    assert alert["details"]["backupId"] == "b-20261203-retry"

    resolve_backup_alert(services)
    resolve_backup_alert(services)  # nothing open: no second notification

    assert open_alerts(services) == []
    assert [body["event"] for body in received] == ["opened", "resolved"]


def test_webhook_failure_does_not_fail_the_alert(
    tmp_path: Path, clock: FakeClock, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"http://127.0.0.1:{dead_port()}/hook"
    services = make_services(tmp_path, clock, ALERT_WEBHOOK_URL=url)

    raise_backup_alert(services, "b1", "disk full")

    assert [a["rule"] for a in open_alerts(services)] == ["backup_failed"]
    events = [line.get("event") for line in logged_lines(capsys)]
    assert "alert_webhook_failed" in events
