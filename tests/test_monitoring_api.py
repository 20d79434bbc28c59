"""The monitoring functions through the callable protocol, logs and jobs."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import pytest

from functions.jobs import run_job
from functions.monitoring import run_scheduled
from functions.monitoring.alerts import Check, Rule, apply_check, raise_backup_alert
from functions.monitoring.logs import direct_route
from functions.monitoring.logs import flush as flush_logs
from functions.monitoring.rollups import Recorder
from functions.services import Services
from tests.conftest import CallableClient
from tests.monitoring_helpers import (
    START,
    FakeClock,
    json_lines,
    logged_lines,
    production_logging,
)
from tests.tokens import PROJECT


@pytest.fixture()
def clock(services: Services) -> FakeClock:
    fake = FakeClock(START)
    services.clock = fake
    return fake


def _some_calls(client: CallableClient, alice: str, bob: str) -> None:
    for _ in range(3):
        client.intent("listarDespesas", {}, alice)
    client.intent("registrarDespesa", {"valor": "abc"}, alice)  # INVALID_ARGUMENT
    client.intent("listarReceitas", {}, bob)


def test_system_metrics_for_admins_only(
    client: CallableClient, clock: FakeClock, alice: str, bob: str, admin: str
) -> None:
    _some_calls(client, alice, bob)

    assert client.error("getSystemMetrics", {}, alice)["status"] == "PERMISSION_DENIED"
    assert client.error("getSystemMetrics", {})["status"] == "UNAUTHENTICATED"
    bad = client.error("getSystemMetrics", {"window": "2y"}, admin)
    assert bad["status"] == "INVALID_ARGUMENT" and "window" in bad["details"]["fields"]

    result = client.ok("getSystemMetrics", {"window": "15m"}, admin)

    assistant = result["functions"]["assistenteHttp"]
    assert assistant["calls"] == 5
    assert assistant["errorsByCode"] == {"INVALID_ARGUMENT": 1}
    assert assistant["activeUsers"] == 2
    assert result["intents"]["listarDespesas"]["calls"] == 3
    assert result["intents"]["registrarDespesa"]["errors"] == 1
    assert result["totals"]["calls"] >= 5  # plus the refused metrics calls
    assert result["totals"]["p95Ms"] is not None
    assert result["cache"]["hits"] >= 2  # the repeated listarDespesas reads
    assert result["series"]["stepMinutes"] == 1
    assert len(result["series"]["points"]) >= 15
    assert (
        sum(p["calls"] for p in result["series"]["points"]) == result["totals"]["calls"]
    )
    assert result["window"] == "15m" and result["alerts"] == []
    assert result["recentAlerts"] == []
    # Every call and cache read fell in the clock's one minute: its point
    # carries the window's percentiles and hit rate.
    [busy] = [p for p in result["series"]["points"] if p["calls"]]
    assert busy["at"] == START.isoformat()
    assert busy["p50Ms"] == result["totals"]["p50Ms"] is not None
    assert busy["p95Ms"] == result["totals"]["p95Ms"]
    assert busy["cacheHitRate"] == result["cache"]["hitRate"] is not None
    idle = [p for p in result["series"]["points"] if not p["calls"]]
    assert idle and all(p["p50Ms"] is None and p["cacheHitRate"] is None for p in idle)


@pytest.mark.parametrize(("window", "step"), [("1h", 1), ("24h", 15), ("7d", 60)])
def test_every_window_has_its_series_step(
    client: CallableClient, clock: FakeClock, admin: str, window: str, step: int
) -> None:
    result = client.ok("getSystemMetrics", {"window": window}, admin)

    assert result["series"]["stepMinutes"] == step


def test_user_metrics_own_or_admin(
    client: CallableClient, clock: FakeClock, alice: str, bob: str, admin: str
) -> None:
    _some_calls(client, alice, bob)

    own = client.ok("getUserMetrics", {}, alice)
    denied = client.error("getUserMetrics", {"uid": "alice"}, bob)
    by_admin = client.ok("getUserMetrics", {"uid": "alice", "window": "1h"}, admin)

    assert own["uid"] == "alice"
    assert own["intents"]["listarDespesas"]["calls"] == 3
    assert own["intents"]["registrarDespesa"] == {
        "calls": 1,
        "errors": 1,
        "errorRate": 1.0,
        "avgMs": own["intents"]["registrarDespesa"]["avgMs"],
    }
    assert own["totals"]["calls"] == 4
    assert denied["status"] == "PERMISSION_DENIED"
    assert by_admin["intents"] == own["intents"]
    assert "listarReceitas" not in by_admin["intents"]


def test_system_metrics_lists_alerts_resolved_in_the_window(
    client: CallableClient, services: Services, clock: FakeClock, admin: str
) -> None:
    def latency(firing: bool, p95: float | None = None) -> None:
        apply_check(
            services,
            Check(Rule.LATENCY_P95, firing, p95, 3000.0, f"p95 {p95} ms"),
        )

    latency(True, 4500.0)  # opens at 12:00
    clock.tick(60)
    latency(True, 5200.0)  # seen again at 12:01
    clock.tick(120)
    latency(False)  # resolved at 12:03
    services.store.set(
        "alerts/cache_hit_rate",
        {
            "rule": "cache_hit_rate",
            "status": "resolved",
            "value": 0.1,
            "threshold": 0.2,
            "count": 4,
            "firstSeen": START - timedelta(hours=4),
            "lastSeen": START - timedelta(hours=3, minutes=30),
            "resolvedAt": START - timedelta(hours=3),
        },
    )
    raise_backup_alert(services, "b-1", "upload failed")  # open, not recent
    clock.tick(60)  # 12:04

    short = client.ok("getSystemMetrics", {"window": "15m"}, admin)
    day = client.ok("getSystemMetrics", {"window": "24h"}, admin)

    assert [a["rule"] for a in short["alerts"]] == ["backup_failed"]
    [recent] = short["recentAlerts"]
    assert recent == {
        "rule": "latency_p95",
        "status": "resolved",
        "message": "p95 5200.0 ms",
        "value": 5200.0,
        "threshold": 3000.0,
        "details": {},
        "firstSeen": "2026-12-03T12:00:00+00:00",
        "lastSeen": "2026-12-03T12:01:00+00:00",
        "resolvedAt": "2026-12-03T12:03:00+00:00",
        "count": 2,
    }
    # The 24 h window reaches back to the cache alert; newest resolution first.
    assert [(a["rule"], a["resolvedAt"]) for a in day["recentAlerts"]] == [
        ("latency_p95", "2026-12-03T12:03:00+00:00"),
        ("cache_hit_rate", "2026-12-03T09:00:00+00:00"),
    ]
    assert [a["rule"] for a in day["alerts"]] == ["backup_failed"]


def _seed_old_and_new(services: Services, clock: FakeClock) -> None:
    old = Recorder(
        services.store, clock=lambda: (clock.now - timedelta(days=40)).timestamp()
    )
    old.record("getUserStats", 10, user_id="alice")
    old.flush()
    new = Recorder(
        services.store, clock=lambda: (clock.now - timedelta(days=2)).timestamp()
    )
    new.record("getUserStats", 10, user_id="alice")
    new.flush()
    services.store.set(
        "alerts/cache_hit_rate",
        {
            "rule": "cache_hit_rate",
            "status": "resolved",
            "resolvedAt": clock.now - timedelta(days=100),
        },
    )
    services.store.set(
        "alerts/latency_p95",
        {
            "rule": "latency_p95",
            "status": "resolved",
            "resolvedAt": clock.now - timedelta(days=10),
        },
    )
    services.store.set(
        "alerts/backup_failed",
        {
            "rule": "backup_failed",
            "status": "open",
            "resolvedAt": None,
            "firstSeen": clock.now - timedelta(days=200),
        },
    )


def test_cleanup_removes_only_old_data(
    client: CallableClient, services: Services, clock: FakeClock, alice: str, admin: str
) -> None:
    _seed_old_and_new(services, clock)

    assert client.error("cleanupOldMetrics", {}, alice)["status"] == "PERMISSION_DENIED"
    result = client.ok("cleanupOldMetrics", {}, admin)

    assert result["metricsDeleted"] == 1
    assert result["alertsDeleted"] == 1
    assert services.store.get("alerts/cache_hit_rate") is None
    assert services.store.get("alerts/latency_p95") is not None
    assert services.store.get("alerts/backup_failed") is not None
    metrics = client.ok("getUserMetrics", {"uid": "alice", "window": "7d"}, admin)
    assert metrics["functions"]["getUserStats"]["calls"] == 1


def test_cleanup_and_alerts_run_as_jobs(services: Services, clock: FakeClock) -> None:
    _seed_old_and_new(services, clock)

    assert run_job("cleanupOldMetrics", services)["metricsDeleted"] == 1
    assert run_job("evaluateAlerts", services)["open"] == ["backup_failed"]


def test_scheduled_run_is_measured_and_failures_reraised(
    services: Services, clock: FakeClock, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        run_scheduled("cleanupOldMetricsDaily", "cleanupOldMetrics")["metricsDeleted"]
        == 0
    )
    with pytest.raises(KeyError):
        run_scheduled("noSuchJob", "noSuchJob")

    lines = logged_lines(capsys)
    calls = {line["function"]: line for line in lines if line.get("event") == "call"}
    assert calls["cleanupOldMetricsDaily"]["outcome"] == "ok"
    assert calls["noSuchJob"]["code"] == "INTERNAL"
    failed = [
        line for line in lines if line["message"].startswith("scheduled job failed")
    ]
    assert failed and "Traceback" in failed[0]["message"]


def test_one_json_line_per_call_with_trace_and_labels(
    client: CallableClient, alice: str, capsys: pytest.CaptureFixture[str]
) -> None:
    flush_logs()
    capsys.readouterr()
    with production_logging():  # the hand-built line, as in production
        assert direct_route()
        status, _ = client.raw(
            "assistenteHttp",
            {
                "data": {
                    "intent": "registrarDespesa",
                    "payload": {"valor": "12,50", "fornecedor": "Atacadão secreto"},
                }
            },
            alice,
            headers={"X-Cloud-Trace-Context": "105445aa7843bc8bf206b12000100000/1;o=1"},
        )
    flush_logs()
    out = capsys.readouterr().out

    assert status == 400
    [line] = [entry for entry in json_lines(out) if entry.get("event") == "call"]
    assert line["severity"] == "WARNING"
    assert line["function"] == "assistenteHttp"
    assert line["intent"] == "registrarDespesa"
    assert line["outcome"] == "error" and line["code"] == "INVALID_ARGUMENT"
    assert line["userId"] == "alice"
    assert isinstance(line["durationMs"], float)
    assert line["logging.googleapis.com/trace"] == (
        f"projects/{PROJECT}/traces/105445aa7843bc8bf206b12000100000"
    )
    assert line["logging.googleapis.com/spanId"] == "1"
    assert line["logging.googleapis.com/labels"] == {
        "function": "assistenteHttp",
        "intent": "registrarDespesa",
        "user_id": "alice",
    }
    # Neither the token nor the payload reach the logs.
    assert alice not in out and "secreto" not in out and "12,50" not in out


def test_every_functions_logger_writes_structured_json(
    capsys: pytest.CaptureFixture[str],
) -> None:
    import functions.monitoring  # noqa: F401  (installs the handler)

    logged_lines(capsys)  # nothing left over from earlier tests
    logging.getLogger("functions.cache").warning(
        "cache L2 (Redis) unreachable",
        extra={
            "tier": "l2",
            "retry_in_s": 2.0,
            "idToken": "eyJ...",
            "payload": {"a": 1},
        },
    )
    [line] = json_lines(capsys.readouterr().out)

    assert line["severity"] == "WARNING"
    assert line["message"] == "cache L2 (Redis) unreachable"
    assert line["logger"] == "functions.cache"
    assert line["tier"] == "l2" and line["retry_in_s"] == 2.0
    assert line["idToken"] == "[redacted]" and line["payload"] == "[redacted]"
    assert "logging.googleapis.com/trace" not in line


def test_unexpected_errors_log_their_traceback_inside_the_call(
    client: CallableClient,
    services: Services,
    alice: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from functions.assistant import router

    def boom(*_: Any) -> dict[str, Any]:
        raise RuntimeError("disk on fire")

    monkeypatch.setitem(router.INTENTS, "listarReceitas", boom)
    logged_lines(capsys)
    client.intent("listarReceitas", {}, alice)
    lines = logged_lines(capsys)

    error, call = lines
    assert error["severity"] == "ERROR" and "disk on fire" in error["message"]
    assert error["logging.googleapis.com/labels"]["intent"] == "listarReceitas"
    assert call["code"] == "INTERNAL" and call["severity"] == "ERROR"
