"""The backup jobs and admin callables: read the request, call the concept
modules, answer. Every callable is admin-only."""

from __future__ import annotations

import logging
import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from functions.auth import Caller
from functions.backup import alerts
from functions.backup.destinations import Destination, destination_for
from functions.backup.export import expire_stale_runs, take_backup
from functions.backup.manifest import USABLE, BackupStatus, Trigger
from functions.backup.retention import apply_retention
from functions.backup.status import all_statuses, list_page, status_path
from functions.backup.verify import read_manifest, verify_backup
from functions.errors import InvalidArgument, NotFound
from functions.services import Services
from functions.store.base import Transaction
from functions.validation import Payload
from functions.wire import jsonable

__all__ = [
    "CONFIRMATION",
    "create_backup",
    "daily_backup_id",
    "delete_backup",
    "get_backup_stats",
    "list_backups",
    "restore_backup",
    "run_daily_backup",
    "run_weekly_verification",
    "simulate_restore",
    "verify_backup_integrity",
]

_log = logging.getLogger("functions.backup")

CONFIRMATION = "RESTAURAR"
"""The word `restoreBackup` requires in `confirm`."""

# A letter or digit first: `.` and `..` are not document ids.
_BACKUP_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:\-]{0,99}$")
_DELETION_LOCK = "locks/backupDeletion"
_FAILED = (BackupStatus.FAILED, BackupStatus.CORRUPT)


def _destination(services: Services) -> Destination:
    return destination_for(services.settings)


def _reply(record: dict[str, Any]) -> dict[str, Any]:
    reply: dict[str, Any] = jsonable(record)
    return reply


def _backup_id(payload: Payload) -> str | None:
    def convert(value: Any) -> str:
        if not isinstance(value, str) or not _BACKUP_ID.match(value):
            raise ValueError("identificador de backup inválido")
        return value

    return payload.read("backupId", True, convert)


def _load(services: Services, backup_id: str) -> dict[str, Any]:
    record = services.store.get(status_path(backup_id))
    if record is None:
        raise NotFound("Backup não encontrado.", {"backupId": backup_id})
    return {**record, "id": backup_id}


def _require_usable(record: dict[str, Any]) -> None:
    if record.get("mode") == "managed":
        raise InvalidArgument(
            "Backups gerenciados só podem ser restaurados com o gcloud.",
            {"backupId": "backup gerenciado"},
        )
    if record.get("status") not in USABLE:
        raise InvalidArgument(
            f"Este backup não pode ser usado (situação: {record.get('status')}).",
            {"backupId": f"situação {record.get('status')}"},
        )


# -- scheduled jobs -----------------------------------------------------------


def daily_backup_id(services: Services) -> str:
    """`daily-YYYY-MM-DD`, the date in the app's time zone when the job runs.

    The job is scheduled at 02:00 local time, so any fire of one schedule (a
    duplicate, a retry) falls on the scheduled date and gets the same id.
    """
    now = services.clock().astimezone(ZoneInfo(services.settings.timezone))
    return f"daily-{now.date().isoformat()}"


def run_daily_backup(services: Services) -> dict[str, Any]:
    """The nightly job: one backup per date, verified, then retention.

    In managed mode, starts Firestore's export instead (not verified here).
    Raises when the backup fails, after recording it and raising the alert.
    """
    backup_id = daily_backup_id(services)
    destination = _destination(services)
    if services.settings.backup_mode == "managed":
        from functions.backup.managed import start_managed_export

        record = start_managed_export(services, backup_id, Trigger.SCHEDULED)
        return {"backupId": backup_id, "mode": "managed", **_reply(record)}

    outcome = take_backup(services, destination, Trigger.SCHEDULED, backup_id)
    if not outcome.ran:
        return {
            "backupId": backup_id,
            "skipped": True,
            "status": outcome.record.get("status"),
        }
    report = verify_backup(services, destination, backup_id)
    if report.ok:
        alerts.backup_healthy(services)
    retention = apply_retention(services, destination)
    return {
        "backupId": backup_id,
        "skipped": False,
        "status": BackupStatus.VERIFIED if report.ok else BackupStatus.CORRUPT,
        "documentCount": outcome.record.get("documentCount"),
        "totalBytes": outcome.record.get("totalBytes"),
        "durationMs": outcome.record.get("durationMs"),
        "retention": _reply(retention),
    }


def run_weekly_verification(services: Services) -> dict[str, Any]:
    """Re-check every streamed backup still kept; the alert for any corrupt."""
    destination = _destination(services)
    expired = expire_stale_runs(services, destination)
    checked: dict[str, bool] = {}
    for record in list(all_statuses(services.store)):
        verifiable = (*USABLE, BackupStatus.CORRUPT)
        if record.get("mode") == "managed" or record.get("status") not in verifiable:
            continue
        checked[record["id"]] = verify_backup(services, destination, record["id"]).ok
    corrupt = sorted(backup for backup, ok in checked.items() if not ok)
    if checked and not corrupt:
        alerts.backup_healthy(services)
    return {"checked": len(checked), "corrupt": corrupt, "expired": expired}


# -- callables ----------------------------------------------------------------


def create_backup(services: Services, caller: Caller, data: Any) -> dict[str, Any]:
    """Take and verify a backup now (admin)."""
    admin = caller.require_admin()
    Payload(data).done()

    destination = _destination(services)
    outcome = take_backup(services, destination, Trigger.MANUAL, requested_by=admin)
    report = verify_backup(services, destination, outcome.backup_id)
    record = _load(services, outcome.backup_id)
    return {
        "message": "Backup concluído." if report.ok else "Backup com problemas.",
        "backup": _reply(record),
    }


def list_backups(services: Services, caller: Caller, data: Any) -> dict[str, Any]:
    """Status documents, newest first, `limit` (1-100, default 20) per page."""
    caller.require_admin()
    payload = Payload(data)
    limit = payload.integer("limit", 1, 100) or 20
    cursor = payload.cursor()
    payload.done()

    try:
        page = list_page(services.store, limit, cursor)
    except ValueError:
        raise InvalidArgument(fields={"cursor": "cursor inválido"}) from None
    backups = [_reply({**doc.data, "id": doc.id}) for doc in page.docs]
    return {"backups": backups, "nextCursor": page.next_cursor}


def delete_backup(services: Services, caller: Caller, data: Any) -> dict[str, Any]:
    """Delete a backup's files and status; never the only verified backup."""
    caller.require_admin()
    payload = Payload(data)
    backup_id = _backup_id(payload)
    payload.done()
    assert backup_id is not None

    def forget(txn: Transaction) -> None:
        # Every deletion reads and writes one lock document, so two deletions
        # never both see "another verified backup remains" and both proceed.
        txn.get(_DELETION_LOCK)
        record = txn.get(status_path(backup_id))
        if record is None:
            raise NotFound("Backup não encontrado.", {"backupId": backup_id})
        if record.get("status") == BackupStatus.RUNNING:
            raise InvalidArgument(
                "Este backup ainda está em andamento.", {"backupId": "em andamento"}
            )
        if record.get("status") == BackupStatus.VERIFIED and not any(
            other["id"] != backup_id and other.get("status") == BackupStatus.VERIFIED
            for other in all_statuses(services.store)
        ):
            raise InvalidArgument(
                "Este é o único backup verificado; ele não pode ser excluído.",
                {"backupId": "único backup verificado"},
            )
        txn.delete(status_path(backup_id))
        txn.set(_DELETION_LOCK, {"backupId": backup_id, "at": services.clock()})

    services.store.run_transaction(forget)
    # Limitation: the files go after the status document; if deleting them
    # fails they stay in the bucket unlisted, to be removed by hand.
    files = _destination(services).delete(backup_id)
    return {"message": "Backup excluído.", "backupId": backup_id, "files": files}


def get_backup_stats(services: Services, caller: Caller, data: Any) -> dict[str, Any]:
    """Count, bytes, last success and failure, average duration, oldest, newest."""
    caller.require_admin()
    Payload(data).done()

    count = total_bytes = 0
    by_status: dict[str, int] = {}
    durations: list[int] = []
    last_success: dict[str, Any] | None = None
    last_failure: dict[str, Any] | None = None
    oldest: dict[str, Any] | None = None
    newest: dict[str, Any] | None = None
    for record in all_statuses(services.store):  # newest first
        count += 1
        status = str(record.get("status"))
        by_status[status] = by_status.get(status, 0) + 1
        summary = {
            "backupId": record["id"],
            "status": status,
            "startedAt": record.get("startedAt"),
            "finishedAt": record.get("finishedAt"),
        }
        if status in USABLE:
            total_bytes += int(record.get("totalBytes") or 0)
            durations.append(int(record.get("durationMs") or 0))
            last_success = last_success or summary
            newest = newest or summary
            oldest = summary
        elif status in _FAILED:
            last_failure = last_failure or {**summary, "error": record.get("error")}
    return _reply(
        {
            "count": count,
            "byStatus": by_status,
            "totalBytes": total_bytes,
            "lastSuccess": last_success,
            "lastFailure": last_failure,
            "averageDurationMs": round(sum(durations) / len(durations))
            if durations
            else None,
            "oldest": oldest,
            "newest": newest,
        }
    )


def verify_backup_integrity(
    services: Services, caller: Caller, data: Any
) -> dict[str, Any]:
    """Re-read every file of a backup and mark it verified or corrupt."""
    caller.require_admin()
    payload = Payload(data)
    backup_id = _backup_id(payload)
    payload.done()
    assert backup_id is not None

    record = _load(services, backup_id)
    if record.get("mode") == "managed":
        raise InvalidArgument(
            "Backups gerenciados não têm somas de verificação.",
            {"backupId": "backup gerenciado"},
        )
    if record.get("status") not in (*USABLE, BackupStatus.CORRUPT):
        raise InvalidArgument(
            f"Este backup não pode ser verificado (situação: {record.get('status')}).",
            {"backupId": f"situação {record.get('status')}"},
        )
    report = verify_backup(services, _destination(services), backup_id)
    return {
        "message": "Backup íntegro." if report.ok else "Backup corrompido.",
        **report.to_dict(),
    }


def _restore_target(payload: Payload) -> tuple[str | None, str | None]:
    backup_id = _backup_id(payload)
    uid = payload.doc_id("uid", required=False)
    return backup_id, uid


def simulate_restore(services: Services, caller: Caller, data: Any) -> dict[str, Any]:
    """Restore into a scratch store and report what a real restore would do.

    Production data is only read.
    """
    from functions.backup.restore import simulate_restore as simulate

    caller.require_admin()
    payload = Payload(data)
    backup_id, uid = _restore_target(payload)
    payload.done()
    assert backup_id is not None

    record = _load(services, backup_id)
    _require_usable(record)
    destination = _destination(services)
    manifest = read_manifest(destination, backup_id)
    return simulate(services.store, destination, manifest, uid)


def restore_backup(services: Services, caller: Caller, data: Any) -> dict[str, Any]:
    """Restore a backup, whole or one user's subtree, after a safety backup.

    Requires `confirm: "RESTAURAR"`. Refuses a backup that fails verification.

    Limitation: the writes are committed in batches, not as one transaction;
    a restore that fails half way leaves a mix, which the safety backup taken
    first can undo. Two restores at once are not prevented.
    """
    from functions.backup.restore import restore_into

    admin = caller.require_admin()
    payload = Payload(data)
    backup_id, uid = _restore_target(payload)
    if payload.raw.get("confirm") != CONFIRMATION:
        payload.errors["confirm"] = f'envie confirm: "{CONFIRMATION}" para confirmar'
    payload.done("Confirme a restauração.")
    assert backup_id is not None

    # 1. the backup must exist and still read back exactly as written
    record = _load(services, backup_id)
    _require_usable(record)
    destination = _destination(services)
    check = verify_backup(services, destination, backup_id)
    if not check.ok:
        raise InvalidArgument(
            "O backup está corrompido e não pode ser restaurado.",
            {"backupId": "corrompido"},
            problems=list(check.problems),
        )

    # 2. a safety backup of the data about to be replaced
    safety = take_backup(services, destination, Trigger.SAFETY, requested_by=admin)

    # 3. the restore itself
    manifest = read_manifest(destination, backup_id)
    report = restore_into(services.store, destination, manifest, uid, apply=True)

    # 4. caches would otherwise serve the replaced data until they expire
    _invalidate_caches(services, uid)
    restored_at: datetime = services.clock()
    services.store.update(
        status_path(backup_id),
        {
            "lastRestore": {
                "at": restored_at,
                "by": admin,
                "uid": uid,
                "safetyBackupId": safety.backup_id,
            }
        },
    )
    _log.info(
        "backup restored",
        extra={"backup_id": backup_id, "uid": uid, "safety": safety.backup_id},
    )
    return {
        "message": "Backup restaurado.",
        "safetyBackupId": safety.backup_id,
        **report.to_dict(),
    }


def _invalidate_caches(services: Services, uid: str | None) -> None:
    from functions.cache import Category

    if uid is not None:
        services.cache.invalidate(uid)
        return
    for category in Category:
        services.cache.invalidate_category(category)
