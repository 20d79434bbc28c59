"""Backups to Cloud Storage against a real fake-gcs-server, and the request
of a managed export."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from functions.backup.destinations import (
    DestinationError,
    GcsDestination,
    reset_storage_client,
)
from functions.backup.export import take_backup
from functions.backup.managed import export_request, start_managed_export
from functions.backup.manifest import Trigger
from functions.backup.restore import restore_into
from functions.backup.status import status_path
from functions.backup.verify import read_manifest, verify_backup
from functions.services import Services
from functions.store.base import Doc
from functions.store.sqlite import SqliteStore
from tests.fake_gcs import FakeGcsError, FakeGcsServer
from tests.test_backup import _business, _seed, _typed


def _start() -> FakeGcsServer:
    try:
        return FakeGcsServer().start()
    except FakeGcsError as err:
        if os.environ.get("CI") == "true":
            pytest.fail(f"fake-gcs-server is required under CI: {err}")
        pytest.skip(str(err))


@pytest.fixture(scope="module")
def gcs() -> Iterator[FakeGcsServer]:
    server = _start()
    yield server
    server.stop()


@pytest.fixture()
def bucket(gcs: FakeGcsServer, request: pytest.FixtureRequest) -> GcsDestination:
    client = gcs.client()
    name = "backups-" + request.node.name.lower().replace("_", "-")[:40]
    client.create_bucket(name)
    return GcsDestination(client, name, "nightly/")


def test_gcs_backup_verifies_and_restores_identically(
    services: Services, bucket: GcsDestination, tmp_path: Path
) -> None:
    _seed(services.store, users=5, expenses=30)

    outcome = take_backup(services, bucket, Trigger.MANUAL)
    report = verify_backup(services, bucket, outcome.backup_id)
    scratch = SqliteStore(tmp_path / "scratch.sqlite3")
    restore_into(scratch, bucket, read_manifest(bucket, outcome.backup_id))

    assert report.ok and report.documents == 5 * 32
    original = [(d.path, _typed(d.data)) for d in _business(services.store)]
    restored = [(d.path, _typed(d.data)) for d in scratch.stream_all()]
    assert restored == [
        (path, data)
        for path, data in original
        if not path.startswith(("metrics/", "alerts/"))
    ]
    names = [b.name for b in bucket._client.list_blobs(bucket.bucket_name)]
    assert all(name.startswith(f"nightly/{outcome.backup_id}/") for name in names)
    assert f"nightly/{outcome.backup_id}/manifest.json" in names


def test_gcs_corruption_is_detected(services: Services, bucket: GcsDestination) -> None:
    _seed(services.store)
    outcome = take_backup(services, bucket, Trigger.MANUAL)
    entry = read_manifest(bucket, outcome.backup_id).files[0]
    blob = bucket._client.bucket(bucket.bucket_name).blob(
        f"nightly/{outcome.backup_id}/{entry.name}"
    )
    raw = bytearray(blob.download_as_bytes())
    raw[10] ^= 0x04
    blob.upload_from_string(bytes(raw))

    report = verify_backup(services, bucket, outcome.backup_id)

    assert not report.ok
    assert any("sha256" in problem for problem in report.problems)


def test_missing_bucket_fails_cleanly_and_the_next_run_works(
    services: Services, gcs: FakeGcsServer
) -> None:
    _seed(services.store)
    client = gcs.client()
    destination = GcsDestination(client, "not-created-yet", "")

    with pytest.raises(DestinationError):
        take_backup(services, destination, Trigger.SCHEDULED, "daily-2026-12-01")
    record = services.store.get(status_path("daily-2026-12-01"))
    assert record is not None and record["status"] == "failed"

    client.create_bucket("not-created-yet")
    outcome = take_backup(services, destination, Trigger.SCHEDULED, "daily-2026-12-01")
    assert outcome.ran and verify_backup(services, destination, outcome.backup_id).ok


class _KillingStore:
    """The real store, whose stream kills the bucket's server after `after` docs."""

    def __init__(self, inner: Any, server: FakeGcsServer, after: int) -> None:
        self._inner = inner
        self._server = server
        self._after = after

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def stream_all(self) -> Iterator[Doc]:
        for index, doc in enumerate(self._inner.stream_all()):
            if index == self._after:
                self._server.kill()
            yield doc


def test_bucket_going_away_mid_way_leaves_no_good_backup(
    services: Services,
) -> None:
    # Big, incompressible-ish documents so uploads happen while streaming.
    for index in range(3000):
        services.store.set(
            f"users/u{index % 7}/expenses/e{index:05d}",
            {"descricao": os.urandom(300).hex(), "valor": index},
        )
    doomed = _start()
    doomed.client().create_bucket("doomed")
    destination = GcsDestination(doomed.client(), "doomed", "", retry_seconds=2)
    try:
        with pytest.raises(DestinationError):
            take_backup(
                services,
                destination,
                Trigger.SCHEDULED,
                "daily-2026-12-01",
                store=_KillingStore(services.store, doomed, 1500),
            )
    finally:
        doomed.stop()
    record = services.store.get(status_path("daily-2026-12-01"))
    assert record is not None and record["status"] == "failed"

    revived = _start()
    try:
        revived.client().create_bucket("doomed")
        destination = GcsDestination(revived.client(), "doomed", "")
        outcome = take_backup(
            services, destination, Trigger.SCHEDULED, "daily-2026-12-01"
        )
        assert outcome.ran
        assert verify_backup(services, destination, outcome.backup_id).documents == 3000
    finally:
        revived.stop()


@pytest.fixture()
def gcs_services(services: Services, gcs: FakeGcsServer) -> Iterator[Services]:
    """Services whose settings point at a bucket on the fake server."""
    from functions.config import load_settings
    from functions.services import use_services

    gcs.client().create_bucket("app-backups")
    os.environ["STORAGE_EMULATOR_HOST"] = gcs.url
    os.environ["BACKUP_BUCKET"] = "gs://app-backups/firestore"
    reset_storage_client()
    services.settings = load_settings()
    use_services(services)
    yield services
    reset_storage_client()


def test_callables_use_the_configured_bucket(
    gcs_services: Services, client: Any, admin: str
) -> None:
    _seed(gcs_services.store)

    backup = client.ok("createBackup", {}, admin)["backup"]
    listed = client.ok("listBackups", {}, admin)["backups"]

    assert backup["status"] == "verified"
    assert backup["location"] == f"gs://app-backups/firestore/{backup['id']}/"
    assert [b["id"] for b in listed] == [backup["id"]]


# -- managed export -----------------------------------------------------------


class _FakeAdminClient:
    """Stands in for Google's FirestoreAdminClient: records the request."""

    def __init__(self) -> None:
        self.requests: list[Any] = []

    def export_documents(self, request: Any) -> Any:
        self.requests.append(request)

        class Operation:
            class operation:  # noqa: N801 - the attribute name of Google's type
                name = "projects/p/databases/(default)/operations/op-123"

        return Operation()


def test_managed_export_request() -> None:
    from google.cloud.firestore_admin_v1 import ExportDocumentsRequest

    when = datetime(2026, 12, 1, 5, 0, 42, 123, tzinfo=UTC)

    request = export_request("demo-project", "gs://bk/firestore/", "daily-x", when)

    assert isinstance(request, ExportDocumentsRequest)
    assert request.name == "projects/demo-project/databases/(default)"
    assert request.output_uri_prefix == "gs://bk/firestore/daily-x"
    assert list(request.collection_ids) == []
    assert request.snapshot_time == datetime(2026, 12, 1, 5, 0, tzinfo=UTC)


def test_managed_daily_records_the_operation_once(services: Services) -> None:
    from dataclasses import replace

    services.settings = replace(
        services.settings,
        backup_mode="managed",
        backup_bucket="gs://bk",
        project_id="demo-project",
    )
    services.clock = lambda: datetime(2026, 12, 1, 5, 0, 30, tzinfo=UTC)
    admin_client = _FakeAdminClient()

    first = start_managed_export(
        services, "daily-2026-12-01", Trigger.SCHEDULED, admin_client
    )
    second = start_managed_export(
        services, "daily-2026-12-01", Trigger.SCHEDULED, admin_client
    )

    assert len(admin_client.requests) == 1
    assert admin_client.requests[0].output_uri_prefix == "gs://bk/daily-2026-12-01"
    assert first["status"] == "exporting" and second["skipped"] is True
    record = services.store.get(status_path("daily-2026-12-01"))
    assert record is not None
    assert record["operation"].endswith("/operations/op-123")
    assert record["mode"] == "managed"
