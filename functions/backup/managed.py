"""`BACKUP_MODE=managed`: Firestore's own export into the backup bucket.

For data too large to stream within one function run, the daily job asks
Firestore to export itself (`FirestoreAdminClient.export_documents`) and
records the long-running operation's name; Firestore does the work on its
side, unbounded by the function's timeout or memory.

Limitation: a managed export can only be restored whole, with
`gcloud firestore import` (or by collection group id, which takes that group
for every user): `restoreBackup` and `simulateRestore` refuse it, and there
is no per-user restore. Its files carry no checksums or counts we can check,
so `verifyBackupIntegrity` cannot verify it; Firestore reports the
operation's success. It exports every collection, including `backups`,
`metrics` and `alerts`, because collection group ids cannot exclude a root
collection without also naming every business collection.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from functions.backup.destinations import parse_bucket_url
from functions.backup.manifest import BackupStatus, Trigger
from functions.backup.status import claim, status_path
from functions.errors import InvalidArgument
from functions.services import Services

if TYPE_CHECKING:
    from google.cloud.firestore_admin_v1 import ExportDocumentsRequest

__all__ = ["DATABASE", "export_request", "start_managed_export"]

_log = logging.getLogger("functions.backup")

DATABASE = "(default)"


def export_request(
    project: str, bucket_url: str, backup_id: str, snapshot_time: datetime
) -> ExportDocumentsRequest:
    """The export of the whole database at `snapshot_time` (rounded down to the
    minute, as Firestore requires) into `{bucket_url}/{backup_id}`."""
    from google.cloud.firestore_admin_v1 import ExportDocumentsRequest

    bucket, prefix = parse_bucket_url(bucket_url)
    minute = snapshot_time.replace(second=0, microsecond=0)
    return ExportDocumentsRequest(
        name=f"projects/{project}/databases/{DATABASE}",
        output_uri_prefix=f"gs://{bucket}/{prefix}{backup_id}",
        collection_ids=[],  # empty: every collection group
        snapshot_time=minute,
    )


def start_managed_export(
    services: Services,
    backup_id: str,
    trigger: Trigger,
    client: Any = None,
    requested_by: str | None = None,
) -> dict[str, Any]:
    """Start a managed export under `backup_id` and record its operation.

    `client` is a `FirestoreAdminClient` (built here when None). Returns the
    status record; a second call for a held id does nothing.
    """
    settings = services.settings
    if not settings.backup_bucket or not settings.project_id:
        raise InvalidArgument(
            "O modo de backup gerenciado exige BACKUP_BUCKET e o projeto.",
            {"BACKUP_BUCKET": "obrigatório", "GOOGLE_CLOUD_PROJECT": "obrigatório"},
        )
    now = services.clock()
    # The previous minute: rounded down, and surely in the past for Firestore.
    snapshot = now - timedelta(minutes=1)
    request = export_request(
        settings.project_id, settings.backup_bucket, backup_id, snapshot
    )
    record: dict[str, Any] = {
        "id": backup_id,
        "trigger": trigger.value,
        "mode": "managed",
        "status": BackupStatus.RUNNING.value,
        "startedAt": now,
        "pointInTime": snapshot.replace(second=0, microsecond=0),
        "location": request.output_uri_prefix,
        "requestedBy": requested_by,
        "attempt": 1,
    }
    claimed, current = claim(services.store, backup_id, record, now)
    if not claimed:
        return {**current, "skipped": True}

    try:
        if client is None:
            from google.cloud.firestore_admin_v1 import FirestoreAdminClient

            client = FirestoreAdminClient()
        operation = client.export_documents(request=request)
        name = str(operation.operation.name)
    except Exception as err:
        from functions.backup import alerts

        reason = f"{type(err).__name__}: {err}"[:500]
        services.store.update(
            status_path(backup_id),
            {"status": BackupStatus.FAILED.value, "finishedAt": now, "error": reason},
        )
        alerts.backup_problem(services, backup_id, reason)
        raise

    started = {"status": BackupStatus.EXPORTING.value, "operation": name}
    services.store.update(status_path(backup_id), started)
    _log.info(
        "managed export started", extra={"backup_id": backup_id, "operation": name}
    )
    return {**record, **started}
