"""Status documents `backups/{backupId}`: the lock, the record, the listings.

A run claims its id with a transaction that creates the status document only
when no live run holds it, so Cloud Scheduler firing twice gives one backup.
A `running` document older than the function timeout belongs to a run that
was killed; it counts as failed and may be claimed again.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from functions.backup.manifest import BackupStatus, Manifest
from functions.store.base import Page, Query, Store, Transaction

__all__ = [
    "RUN_TIMEOUT_S",
    "all_statuses",
    "claim",
    "is_stale",
    "list_page",
    "status_path",
]

COLLECTION = "backups"

RUN_TIMEOUT_S = 1800
"""The backup functions' timeout (`timeout_sec` in main.py; Cloud Functions'
maximum for scheduled functions). A run cannot outlive it."""

# Clocks of two instances may disagree a little; wait this much longer before
# declaring a run dead.
_STALE_MARGIN_S = 120


def status_path(backup_id: str) -> str:
    """The store path of a backup's status document."""
    return f"{COLLECTION}/{backup_id}"


def is_stale(record: dict[str, Any], now: datetime) -> bool:
    """True for a `running` record whose run must have been killed."""
    started = record.get("startedAt")
    if record.get("status") != BackupStatus.RUNNING or not isinstance(
        started, datetime
    ):
        return False
    return now - started > timedelta(seconds=RUN_TIMEOUT_S + _STALE_MARGIN_S)


def claim(
    store: Store, backup_id: str, record: dict[str, Any], now: datetime
) -> tuple[bool, dict[str, Any]]:
    """Create the status document `record` unless a live run or a finished
    backup already holds `backup_id`.

    Returns (True, record) when claimed, (False, existing) otherwise. A failed
    or stale record is taken over, its attempt count carried on.
    """
    path = status_path(backup_id)

    def attempt(txn: Transaction) -> tuple[bool, dict[str, Any]]:
        existing = txn.get(path)
        if existing is not None:
            failed = existing.get("status") == BackupStatus.FAILED
            if not failed and not is_stale(existing, now):
                return False, existing
            record["attempt"] = int(existing.get("attempt") or 1) + 1
        txn.set(path, record)
        return True, record

    return store.run_transaction(attempt)


def manifest_fields(manifest: Manifest) -> dict[str, Any]:
    """The facts of a manifest as status document fields."""
    return {
        "pointInTime": manifest.point_in_time,
        "finishedAt": manifest.finished_at,
        "durationMs": manifest.duration_ms,
        "documentCount": manifest.documents,
        "totalBytes": manifest.total_bytes,
        "files": [entry.to_dict() for entry in manifest.files],
    }


def list_page(store: Store, limit: int, cursor: str | None) -> Page:
    """Status documents, newest first."""
    return store.query(
        Query(
            COLLECTION,
            order_by=(("startedAt", "desc"),),
            limit=limit,
            cursor=cursor,
        )
    )


def all_statuses(store: Store) -> Iterator[dict[str, Any]]:
    """Every status document, newest first, read page by page."""
    cursor: str | None = None
    while True:
        page = list_page(store, 200, cursor)
        for doc in page.docs:
            yield {**doc.data, "id": doc.id}
        if page.next_cursor is None:
            return
        cursor = page.next_cursor
