"""Alerts: one document per rule in `alerts/{rule}`, opened and resolved by checks.

A check says whether its rule fires now and with which figure. Applying it in
a transaction keeps one open alert per rule however many instances evaluate:

- fires, no open alert: the document becomes `open` with firstSeen, lastSeen,
  count 1 and the figure; logged at severity ALERT, posted to the webhook;
- fires, already open: lastSeen, count and the figure are updated (no flood);
- clears while open: the document becomes `resolved` (resolvedAt), logged at
  INFO and posted to the webhook.

Rules: server error rate and p95 latency over the last 15 minutes (both need
`alert_min_calls` calls), Redis unreachable, cache hit rate collapsing, and a
failed backup (raised and resolved by the backup module). `evaluate_alerts`
is the scheduled job that runs the metric and cache checks.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from functions.monitoring.logs import ALERT
from functions.monitoring.window import Window, bounds, read_window
from functions.services import Services
from functions.store.base import Filter, Query, Transaction

__all__ = [
    "ALERTS",
    "Check",
    "Rule",
    "apply_check",
    "evaluate_alerts",
    "open_alerts",
    "raise_backup_alert",
    "recent_alerts",
    "resolve_backup_alert",
]

_log = logging.getLogger("functions.monitoring.alerts")

ALERTS = "alerts"
EVALUATION_WINDOW = timedelta(minutes=15)
CACHE_HIT_RATE_FLOOR = 0.2
"""Below this hit rate over the window (with enough reads) the cache is
considered collapsed: almost every read reaches the store."""
CACHE_MIN_READS = 50
_WEBHOOK_TIMEOUT_S = 5.0


class Rule(StrEnum):
    """The alert rules; each value is the id of the rule's document."""

    ERROR_RATE = "error_rate"
    LATENCY_P95 = "latency_p95"
    BACKUP_FAILED = "backup_failed"
    CACHE_REDIS_DOWN = "cache_redis_down"
    CACHE_HIT_RATE = "cache_hit_rate"


@dataclass(frozen=True)
class Check:
    """The verdict of one rule now: whether it fires, with the figure behind it."""

    rule: Rule
    firing: bool
    value: float | None = None
    threshold: float | None = None
    message: str = ""
    details: dict[str, Any] | None = None


@dataclass(frozen=True)
class Transition:
    """An alert that opened or resolved, with its document after the change."""

    event: str  # "opened" or "resolved"
    alert: dict[str, Any]


def _alert_path(rule: Rule) -> str:
    return f"{ALERTS}/{rule.value}"


def apply_check(services: Services, check: Check) -> Transition | None:
    """Open, refresh or resolve the alert of `check.rule`; the transition, if any.

    Logging and the webhook happen after the transaction commits, once.
    """
    now = services.clock()
    path = _alert_path(check.rule)

    def change(txn: Transaction) -> Transition | None:
        current = txn.get(path)
        is_open = current is not None and current.get("status") == "open"
        if check.firing and not is_open:
            doc = {
                "rule": check.rule.value,
                "status": "open",
                "message": check.message,
                "value": check.value,
                "threshold": check.threshold,
                "details": check.details or {},
                "firstSeen": now,
                "lastSeen": now,
                "count": 1,
                "resolvedAt": None,
            }
            txn.set(path, doc)
            return Transition("opened", doc)
        if check.firing and current is not None:
            changes = {
                "lastSeen": now,
                "count": int(current.get("count") or 0) + 1,
                "value": check.value,
                "message": check.message,
                "details": check.details or {},
            }
            txn.set(path, {**current, **changes})
            return None
        if not check.firing and is_open and current is not None:
            doc = {**current, "status": "resolved", "resolvedAt": now}
            txn.set(path, doc)
            return Transition("resolved", doc)
        return None

    transition = services.store.run_transaction(change)
    if transition is not None:
        _announce(services, transition)
    return transition


def _announce(services: Services, transition: Transition) -> None:
    alert = transition.alert
    fields = {
        "event": f"alert_{transition.event}",
        "alert": alert.get("rule"),
        "value": alert.get("value"),
        "threshold": alert.get("threshold"),
        "alert_message": alert.get("message"),
    }
    if transition.event == "opened":
        _log.log(ALERT, "alert opened", extra=fields)
    else:
        _log.info("alert resolved", extra=fields)
    url = services.settings.alert_webhook_url
    if url:
        _post_webhook(url, {"event": transition.event, "alert": alert})


def _post_webhook(url: str, body: dict[str, Any]) -> None:
    # Imported here: urllib.request pulls in http.client and ssl, which only
    # instances that actually post an alert should pay for.
    import urllib.request

    data = json.dumps(body, default=_json_default, ensure_ascii=False).encode()
    request = urllib.request.Request(
        url,
        data=data,
        method="POST",
        headers={"Content-Type": "application/json", "User-Agent": "assistente-alerts"},
    )
    try:
        with urllib.request.urlopen(request, timeout=_WEBHOOK_TIMEOUT_S) as reply:
            reply.read()
    except Exception as err:
        # The alert is already stored and logged; a webhook outage only loses
        # the notification.
        _log.warning(
            "alert webhook failed",
            extra={"event": "alert_webhook_failed", "error_type": type(err).__name__},
        )


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


# -- the checks ----------------------------------------------------------------


def check_error_rate(services: Services, window: Window) -> Check:
    """Server error rate over the window above `alert_error_rate`."""
    settings = services.settings
    calls = window.total.count
    rate = window.total.server_error_count / calls if calls else 0.0
    return Check(
        Rule.ERROR_RATE,
        calls >= settings.alert_min_calls and rate > settings.alert_error_rate,
        round(rate, 4),
        settings.alert_error_rate,
        f"server error rate {rate:.1%} over {calls} calls in 15 min",
        {"calls": calls, "serverErrors": window.total.server_error_count},
    )


def check_latency(services: Services, window: Window) -> Check:
    """p95 latency over the window above `alert_p95_ms`."""
    settings = services.settings
    calls = window.total.count
    p95 = window.total.percentile(0.95) or 0.0
    return Check(
        Rule.LATENCY_P95,
        calls >= settings.alert_min_calls and p95 > settings.alert_p95_ms,
        round(p95, 2),
        settings.alert_p95_ms,
        f"p95 latency {p95:.0f} ms over {calls} calls in 15 min",
        {"calls": calls},
    )


def check_cache_hit_rate(window: Window) -> Check:
    """Cache hit rate over the window below the floor, with enough reads."""
    reads = window.cache_reads
    rate = window.cache_hit_rate
    return Check(
        Rule.CACHE_HIT_RATE,
        reads >= CACHE_MIN_READS and rate is not None and rate < CACHE_HIT_RATE_FLOOR,
        rate,
        CACHE_HIT_RATE_FLOOR,
        f"cache hit rate {rate or 0:.1%} over {reads} reads in 15 min",
        {"reads": reads, "hits": window.cache_hits},
    )


def check_redis(services: Services) -> Check:
    """Redis configured but unreachable from this instance."""
    state = services.cache.health().get("l2")
    return Check(
        Rule.CACHE_REDIS_DOWN,
        state == "down",
        None,
        None,
        "cache L2 (Redis) unreachable",
        {"l2": state},
    )


def evaluate_alerts(services: Services) -> dict[str, Any]:
    """Run the metric and cache checks now (the scheduled job).

    Returns the rules that opened and resolved, and every rule open now.
    """
    now = services.clock()
    window = read_window(services.store, *bounds(now, EVALUATION_WINDOW))
    checks = [
        check_error_rate(services, window),
        check_latency(services, window),
        check_cache_hit_rate(window),
        check_redis(services),
    ]
    opened: list[str] = []
    resolved: list[str] = []
    for check in checks:
        transition = apply_check(services, check)
        if transition is not None:
            target = opened if transition.event == "opened" else resolved
            target.append(check.rule.value)
    return {
        "opened": opened,
        "resolved": resolved,
        "open": [alert["rule"] for alert in open_alerts(services)],
    }


def raise_backup_alert(services: Services, backup_id: str, reason: str) -> None:
    """Open (or refresh) the failed-backup alert; called by the backup module."""
    apply_check(
        services,
        Check(
            Rule.BACKUP_FAILED,
            True,
            message=f"backup {backup_id} failed: {reason}"[:500],
            details={"backupId": backup_id, "reason": reason[:500]},
        ),
    )


def resolve_backup_alert(services: Services) -> None:
    """Resolve the failed-backup alert after a good backup; no-op when none."""
    apply_check(services, Check(Rule.BACKUP_FAILED, False))


def open_alerts(services: Services) -> list[dict[str, Any]]:
    """Every alert open now."""
    page = services.store.query(
        Query(ALERTS, filters=(Filter("status", "==", "open"),), limit=len(Rule) * 4)
    )
    return [doc.data for doc in page.docs]


def recent_alerts(services: Services, since: datetime) -> list[dict[str, Any]]:
    """Alerts resolved at or after `since`, most recently resolved first.

    There is one document per rule, so this is each rule's last resolution;
    a rule that fired again since is open, and listed by `open_alerts` only.
    """
    page = services.store.query(
        Query(
            ALERTS,
            filters=(Filter("resolvedAt", ">=", since),),
            limit=len(Rule) * 4,
        )
    )
    resolved = [
        doc.data
        for doc in page.docs
        if doc.data.get("status") == "resolved"
        and isinstance(doc.data.get("resolvedAt"), datetime)
    ]
    resolved.sort(key=lambda alert: alert["resolvedAt"], reverse=True)
    return resolved
