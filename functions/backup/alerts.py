"""The bridge to monitoring: a failed or corrupt backup raises its alert.

An alert that cannot be sent must not hide the backup's own failure, so the
calls here log and swallow their errors.
"""

from __future__ import annotations

import logging

from functions.services import Services

__all__ = ["backup_healthy", "backup_problem"]

_log = logging.getLogger("functions.backup")


def backup_problem(services: Services, backup_id: str, reason: str) -> None:
    """Raise the backup alert for `backup_id` (failed or corrupt)."""
    _log.error("backup problem", extra={"backup_id": backup_id, "reason": reason})
    try:
        from functions.monitoring import raise_backup_alert

        raise_backup_alert(services, backup_id, reason)
    except Exception:
        _log.exception("backup alert not raised", extra={"backup_id": backup_id})


def backup_healthy(services: Services) -> None:
    """Resolve the backup alert: the latest backup is good again."""
    try:
        from functions.monitoring import resolve_backup_alert

        resolve_backup_alert(services)
    except Exception:
        _log.exception("backup alert not resolved")
