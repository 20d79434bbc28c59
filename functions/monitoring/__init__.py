"""Monitoring: measured calls, structured logs, rollups, alerts and health.

One concept per module:

- `logs`: JSON lines on stdout in Cloud Logging's format, for every
  `functions.*` logger (installed when this package is imported);
- `calls`: the `Call` wrapper `functions.edge.run` puts around every trigger;
- `rollups`: per-minute in-memory rollups flushed with atomic increments;
- `window`: reading rollups back for a time window;
- `alerts`: one open alert per rule, the webhook, the backup alert hooks;
- `health`: the healthy / degraded / unhealthy verdict;
- `retention`: deleting old rollups and resolved alerts;
- `api`: the callables and the `checkSystemHealth` HTTP reply.
"""

from functions.monitoring import logs as _logs
from functions.monitoring.alerts import (
    evaluate_alerts,
    raise_backup_alert,
    resolve_backup_alert,
)
from functions.monitoring.calls import Call, run_scheduled
from functions.monitoring.health import check_health
from functions.monitoring.retention import cleanup_old_metrics

__all__ = [
    "Call",
    "check_health",
    "cleanup_old_metrics",
    "evaluate_alerts",
    "raise_backup_alert",
    "resolve_backup_alert",
    "run_scheduled",
]

_logs.install()
