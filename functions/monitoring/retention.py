"""Retention: old rollups and long-resolved alerts are deleted in batches."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from functions.monitoring.alerts import ALERTS
from functions.monitoring.rollups import METRICS
from functions.services import Services
from functions.store.base import Filter, Query, Store

__all__ = ["ALERT_RETENTION", "cleanup_old_metrics"]

_log = logging.getLogger("functions.monitoring.retention")

ALERT_RETENTION = timedelta(days=90)
"""Resolved alerts are kept this long after they resolved."""

_BATCH = 400  # below Firestore's 500 writes per batch


def _delete_all(store: Store, query: Query, keep: Any = None) -> int:
    # Deleted documents leave the query, so each round reads the first page
    # again; no cursor is needed.
    deleted = 0
    while True:
        page = store.query(query)
        doomed = [doc for doc in page.docs if keep is None or not keep(doc.data)]
        if doomed:
            batch = store.batch()
            for doc in doomed:
                batch.delete(doc.path)
            batch.commit()
            deleted += len(doomed)
        if len(doomed) < len(page.docs) or page.next_cursor is None:
            return deleted


def cleanup_old_metrics(services: Services) -> dict[str, Any]:
    """Delete rollups older than `metrics_retention_days` and alerts resolved
    more than `ALERT_RETENTION` ago; recent data and open alerts stay.

    The scheduled job `cleanupOldMetrics`; returns what was deleted.
    """
    now = services.clock()
    metrics_cutoff = now - timedelta(days=services.settings.metrics_retention_days)
    alerts_cutoff = now - ALERT_RETENTION
    metrics_deleted = _delete_all(
        services.store,
        Query(METRICS, filters=(Filter("minute", "<", metrics_cutoff),), limit=_BATCH),
    )
    alerts_deleted = _delete_all(
        services.store,
        Query(
            ALERTS, filters=(Filter("resolvedAt", "<", alerts_cutoff),), limit=_BATCH
        ),
        # An alert that re-opened keeps its document: only resolved ones go.
        keep=lambda data: data.get("status") != "resolved",
    )
    _log.info(
        "old metrics deleted",
        extra={
            "event": "metrics_cleanup",
            "metrics_deleted": metrics_deleted,
            "alerts_deleted": alerts_deleted,
        },
    )
    return {
        "metricsDeleted": metrics_deleted,
        "alertsDeleted": alerts_deleted,
        "metricsCutoff": metrics_cutoff.isoformat(),
        "alertsCutoff": alerts_cutoff.isoformat(),
    }
