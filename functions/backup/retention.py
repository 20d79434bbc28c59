"""Retention: backups older than `backup_retention_days` go, except the
newest verified one, which is kept whatever its age so there is always one
backup known to be good."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from functions.backup.destinations import Destination
from functions.backup.manifest import BackupStatus
from functions.backup.status import all_statuses, status_path
from functions.services import Services

__all__ = ["apply_retention", "newest_verified"]

_log = logging.getLogger("functions.backup")


def newest_verified(records: list[dict[str, Any]]) -> str | None:
    """The id of the newest verified backup among `records` (newest first)."""
    for record in records:
        if record.get("status") == BackupStatus.VERIFIED:
            return str(record["id"])
    return None


def apply_retention(services: Services, destination: Destination) -> dict[str, Any]:
    """Delete the files and status of every backup past the retention period,
    sparing the newest verified backup and runs still in progress."""
    now = services.clock()
    cutoff = now - timedelta(days=services.settings.backup_retention_days)
    records = list(all_statuses(services.store))
    keep = newest_verified(records)

    deleted: list[str] = []
    for record in records:
        started = record.get("startedAt")
        if (
            record["id"] == keep
            or record.get("status") == BackupStatus.RUNNING
            or not isinstance(started, datetime)
            or started >= cutoff
        ):
            continue
        destination.delete(record["id"])
        services.store.delete(status_path(record["id"]))
        deleted.append(record["id"])

    if deleted:
        _log.info("old backups deleted", extra={"deleted": deleted, "kept": keep})
    return {"deleted": deleted, "keptVerified": keep, "cutoff": cutoff}
