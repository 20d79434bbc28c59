"""Backups to the local folder: format, round trip, verification, retention,
the run lock, failures, restore and the admin callables."""

from __future__ import annotations

import gzip
import math
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from functions.backup import api
from functions.backup.codec import decode_line, encode_line
from functions.backup.destinations import LocalDestination
from functions.backup.export import take_backup
from functions.backup.manifest import BackupStatus, Trigger, collection_pattern
from functions.backup.restore import MAX_BATCH_WRITES, restore_into
from functions.backup.retention import apply_retention
from functions.backup.status import RUN_TIMEOUT_S, status_path
from functions.backup.verify import read_manifest, verify_backup
from functions.services import Services
from functions.store.base import Doc, StoreUnavailable
from functions.store.sqlite import SqliteStore

NOW = datetime(2026, 12, 1, 5, 0, tzinfo=UTC)  # 02:00 in São Paulo


def _seed(store: Any, users: int = 3, expenses: int = 4) -> None:
    for u in range(users):
        uid = f"u{u}"
        store.set(
            f"users/{uid}",
            {
                "uid": uid,
                "plan": "pro" if u % 2 else "free",
                "createdAt": datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC),
                "preferences": {"language": "pt-BR", "notifications": {"push": True}},
                "usage": {"2026-12": {"expenses": 3}},
                "$weird": {"$note": "a key that starts with $"},
                "score": 1.0,
                "count": 1,
                "tags": ["a", 2, 3.5, None, True, {"n": [1, 2]}],
                "nome": "Pão de queijo ç",
            },
        )
        for e in range(expenses):
            store.set(
                f"users/{uid}/expenses/e{e}",
                {"valor": 1000 + e, "tipo": "ingrediente", "fator": 0.5 + e},
            )
        store.set(f"users/{uid}/orders/o1", {"cliente": "Ana", "valor": 4590})
    store.set("metrics/m1", {"calls": 3})
    store.set("alerts/a1", {"open": True})


def _business(store: Any) -> list[Doc]:
    return [doc for doc in store.stream_all() if not doc.path.startswith("backups/")]


def _typed(value: Any) -> Any:
    """`value` with the type of every leaf, so `1` and `1.0` differ."""
    if isinstance(value, dict):
        return {k: _typed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_typed(v) for v in value]
    return (type(value).__name__, value)


def _fixed(services: Services, when: datetime) -> None:
    services.clock = lambda: when


@pytest.fixture()
def local(services: Services) -> LocalDestination:
    return LocalDestination(services.settings.backup_dir)


# -- format -------------------------------------------------------------------


def test_line_format_round_trips_every_type() -> None:
    data = {
        "int": 1,
        "float": 1.0,
        "big": 2**62,
        "nan": math.nan,
        "inf": -math.inf,
        "ts": datetime(2026, 3, 4, 5, 6, 7, 890123, tzinfo=UTC),
        "bytes": b"\x00\xff",
        "$ts": "a key that looks like a tag",
        "nested": {"$map": [1], "deep": {"list": [{"x": 1.5}]}},
        "none": None,
        "bool": False,
        "text": "çãõ 🍞",
    }
    back = decode_line(encode_line(Doc("users/u1", data))).data

    assert math.isnan(back.pop("nan"))
    assert _typed(back) == _typed({k: v for k, v in data.items() if k != "nan"})


# -- round trip ---------------------------------------------------------------


def test_backup_wipe_restore_gives_identical_typed_data(
    services: Services, client: Any, admin: str
) -> None:
    _seed(services.store)
    before = _business(services.store)

    created = client.ok("createBackup", {}, admin)["backup"]
    assert created["status"] == "verified"
    assert created["documentCount"] == 3 * (1 + 4 + 1)  # no metrics, no alerts
    assert {f["collection"] for f in created["files"]} == {
        "users",
        "users/*/expenses",
        "users/*/orders",
    }
    for uid in ("u0", "u1", "u2"):
        services.store.delete_tree(f"users/{uid}")
    services.store.set("users/intruder", {"x": 1})

    result = client.ok(
        "restoreBackup", {"backupId": created["id"], "confirm": "RESTAURAR"}, admin
    )

    after = _business(services.store)
    assert [d.path for d in after] == [d.path for d in before]
    assert [_typed(d.data) for d in after] == [_typed(d.data) for d in before]
    assert result["totals"]["create"] == 18 and result["totals"]["remove"] == 1
    assert services.store.get("metrics/m1") == {"calls": 3}  # never touched
    safety = services.store.get(status_path(result["safetyBackupId"]))
    assert safety is not None and safety["trigger"] == "safety"


def test_files_are_gzip_json_lines_per_collection_group(
    services: Services, local: LocalDestination
) -> None:
    _seed(services.store, users=2, expenses=2)

    outcome = take_backup(services, local, Trigger.MANUAL)

    folder = Path(local.location(outcome.backup_id))
    manifest = read_manifest(local, outcome.backup_id)
    for entry in manifest.files:
        lines = gzip.decompress((folder / entry.name).read_bytes()).splitlines()
        assert len(lines) == entry.documents
        assert {collection_pattern(decode_line(x).path) for x in lines} == {
            entry.collection
        }
    record = services.store.get(status_path(outcome.backup_id))
    assert record is not None and record["status"] == "completed"
    assert record["totalBytes"] == sum(e.bytes for e in manifest.files)
    assert record["excludedCollections"] == [
        "alerts",
        "backups",
        "erasures",
        "locks",
        "metrics",
    ]


# -- verification ---------------------------------------------------------------


def test_one_flipped_byte_is_detected(
    services: Services, local: LocalDestination
) -> None:
    _seed(services.store)
    outcome = take_backup(services, local, Trigger.MANUAL)
    assert verify_backup(services, local, outcome.backup_id).ok
    entry = read_manifest(local, outcome.backup_id).files[1]
    path = Path(local.location(outcome.backup_id)) / entry.name
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0x01
    path.write_bytes(bytes(raw))

    report = verify_backup(services, local, outcome.backup_id)

    assert not report.ok
    assert any("sha256" in problem for problem in report.problems)
    record = services.store.get(status_path(outcome.backup_id))
    assert record is not None and record["status"] == "corrupt"


def test_missing_file_marks_backup_corrupt(
    services: Services, local: LocalDestination
) -> None:
    _seed(services.store)
    outcome = take_backup(services, local, Trigger.MANUAL)
    entry = read_manifest(local, outcome.backup_id).files[0]
    (Path(local.location(outcome.backup_id)) / entry.name).unlink()

    assert not verify_backup(services, local, outcome.backup_id).ok


# -- the daily job: one backup per date, retention ------------------------------


def test_double_fired_schedule_gives_one_backup(services: Services) -> None:
    _seed(services.store)
    _fixed(services, NOW)
    results: list[dict[str, Any]] = []

    def fire() -> None:
        results.append(api.run_daily_backup(services))

    threads = [threading.Thread(target=fire) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    third = api.run_daily_backup(services)

    assert sorted(r["skipped"] for r in results) == [False, True]
    assert third["skipped"] is True
    ids = [d.id for d in services.store.stream_all() if d.path.startswith("backups/")]
    assert ids == ["daily-2026-12-01"]
    folders = sorted(p.name for p in services.settings.backup_dir.iterdir())
    assert folders == ["daily-2026-12-01"]


def test_retention_deletes_old_backups_but_keeps_newest_verified(
    services: Services, local: LocalDestination
) -> None:
    _seed(services.store, users=1, expenses=1)
    for days_ago in (60, 50, 40):
        _fixed(services, NOW - timedelta(days=days_ago))
        api.run_daily_backup(services)
    # The latest two ran but were found corrupt afterwards: not verified.
    for days_ago in (35, 20):
        _fixed(services, NOW - timedelta(days=days_ago))
        backup_id = api.daily_backup_id(services)
        take_backup(services, local, Trigger.SCHEDULED, backup_id)
        services.store.update(status_path(backup_id), {"status": "corrupt"})

    _fixed(services, NOW)
    api.run_daily_backup(services)

    left = sorted(
        d.id for d in services.store.stream_all() if d.path.startswith("backups/")
    )
    # Past 30 days: gone (verified or not, today's is the newest verified);
    # the 20-day-old one stays.
    assert left == ["daily-2026-11-11", "daily-2026-12-01"]
    assert sorted(p.name for p in services.settings.backup_dir.iterdir()) == left


def test_old_verified_backup_survives_when_it_is_the_only_one(
    services: Services, local: LocalDestination
) -> None:
    _seed(services.store, users=1, expenses=1)
    _fixed(services, NOW - timedelta(days=90))
    api.run_daily_backup(services)
    _fixed(services, NOW)
    services.store.set(
        status_path("broken"),
        {"id": "broken", "status": "failed", "startedAt": NOW - timedelta(days=31)},
    )

    _fixed(services, NOW - timedelta(days=40))
    corrupt = take_backup(services, local, Trigger.MANUAL).backup_id
    services.store.update(status_path(corrupt), {"status": "corrupt"})
    _fixed(services, NOW)

    result = apply_retention(services, local)

    assert sorted(result["deleted"]) == sorted(["broken", corrupt])
    assert result["keptVerified"] == "daily-2026-09-02"


# -- failures -------------------------------------------------------------------


class _FailingStore:
    """The real store, except that its snapshot stream breaks after `after` docs."""

    def __init__(self, inner: SqliteStore, after: int) -> None:
        self._inner = inner
        self._after = after

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def stream_all(self) -> Iterator[Doc]:
        for index, doc in enumerate(self._inner.stream_all()):
            if index == self._after:
                raise StoreUnavailable("connection lost")
            yield doc


def test_store_failure_half_way_leaves_nothing_marked_good(
    services: Services, local: LocalDestination
) -> None:
    _seed(services.store, users=20, expenses=20)
    _fixed(services, NOW)
    backup_id = api.daily_backup_id(services)
    store = services.store
    assert isinstance(store, SqliteStore)

    with pytest.raises(StoreUnavailable):
        take_backup(
            services,
            local,
            Trigger.SCHEDULED,
            backup_id,
            store=_FailingStore(store, 150),
        )

    record = store.get(status_path(backup_id))
    assert record is not None and record["status"] == "failed"
    assert "connection lost" in record["error"]
    assert list(services.settings.backup_dir.iterdir()) == []

    again = api.run_daily_backup(services)  # the same id, taken over

    assert again["status"] == "verified" and not again["skipped"]
    record = store.get(status_path(backup_id))
    assert record is not None and record["attempt"] == 2
    assert record["documentCount"] == 20 * 22


def test_run_killed_mid_way_is_expired_by_the_next_run(services: Services) -> None:
    _seed(services.store)
    killed_at = NOW - timedelta(seconds=RUN_TIMEOUT_S + 600)
    services.store.set(
        status_path("manual-killed"),
        {"id": "manual-killed", "status": "running", "startedAt": killed_at},
    )
    partial = services.settings.backup_dir / "manual-killed.partial"
    partial.mkdir(parents=True)
    (partial / "001-users.jsonl.gz").write_bytes(b"half a file")
    _fixed(services, NOW)

    api.run_daily_backup(services)

    record = services.store.get(status_path("manual-killed"))
    assert record is not None and record["status"] == "failed"
    assert not partial.exists()


def test_running_backup_within_timeout_blocks_a_second_run(
    services: Services,
) -> None:
    _fixed(services, NOW)
    services.store.set(
        status_path("daily-2026-12-01"),
        {"id": "daily-2026-12-01", "status": "running", "startedAt": NOW},
    )

    assert api.run_daily_backup(services)["skipped"] is True


# -- restore ----------------------------------------------------------------------


class _CountingStore:
    """The real store, recording how many writes each committed batch held."""

    def __init__(self, inner: SqliteStore) -> None:
        self._inner = inner
        self.commits: list[int] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def batch(self) -> Any:
        inner = self._inner.batch()
        outer = self
        writes = [0]

        class Batch:
            def set(self, path: str, data: dict[str, Any], merge: bool = False) -> None:
                writes[0] += 1
                inner.set(path, data, merge)

            def delete(self, path: str) -> None:
                writes[0] += 1
                inner.delete(path)

            def commit(self) -> None:
                outer.commits.append(writes[0])
                inner.commit()

        return Batch()


def test_restore_writes_in_batches_within_firestore_limit(
    services: Services, local: LocalDestination, tmp_path: Path
) -> None:
    for index in range(1234):
        services.store.set(f"users/big/expenses/e{index:05d}", {"valor": index})
    outcome = take_backup(services, local, Trigger.MANUAL)
    manifest = read_manifest(local, outcome.backup_id)
    target = _CountingStore(SqliteStore(tmp_path / "scratch.sqlite3"))

    report = restore_into(target, local, manifest)

    assert sum(target.commits) == 1234
    assert max(target.commits) <= MAX_BATCH_WRITES
    assert report.largest_batch == MAX_BATCH_WRITES


def test_restore_of_one_user_touches_only_that_user(
    services: Services, client: Any, admin: str
) -> None:
    _seed(services.store)
    backup_id = client.ok("createBackup", {}, admin)["backup"]["id"]
    services.store.update("users/u1", {"plan": "business"})
    services.store.set("users/u1/expenses/new", {"valor": 1})
    services.store.update("users/u2", {"plan": "business"})

    result = client.ok(
        "restoreBackup",
        {"backupId": backup_id, "confirm": "RESTAURAR", "uid": "u1"},
        admin,
    )

    assert services.store.get("users/u1")["plan"] == "pro"  # type: ignore[index]
    assert services.store.get("users/u1/expenses/new") is None
    assert services.store.get("users/u2")["plan"] == "business"  # type: ignore[index]
    assert result["totals"] == {
        "inBackup": 6,
        "create": 0,
        "overwrite": 1,
        "unchanged": 5,
        "remove": 1,
    }


def test_restore_refuses_without_confirmation(
    services: Services, client: Any, admin: str
) -> None:
    _seed(services.store)
    backup_id = client.ok("createBackup", {}, admin)["backup"]["id"]

    error = client.error("restoreBackup", {"backupId": backup_id}, admin)
    wrong = client.error(
        "restoreBackup", {"backupId": backup_id, "confirm": "sim"}, admin
    )

    assert error["status"] == wrong["status"] == "INVALID_ARGUMENT"
    assert "confirm" in error["details"]["fields"]


def test_restore_refuses_a_corrupt_backup(
    services: Services, client: Any, admin: str, local: LocalDestination
) -> None:
    _seed(services.store)
    backup_id = client.ok("createBackup", {}, admin)["backup"]["id"]
    entry = read_manifest(local, backup_id).files[0]
    path = Path(local.location(backup_id)) / entry.name
    raw = path.read_bytes()
    path.write_bytes(raw[:-1] + bytes([raw[-1] ^ 0x80]))

    error = client.error(
        "restoreBackup", {"backupId": backup_id, "confirm": "RESTAURAR"}, admin
    )

    assert error["status"] == "INVALID_ARGUMENT"
    assert error["details"]["problems"]


def test_simulate_restore_reports_the_plan_and_changes_nothing(
    services: Services, client: Any, admin: str
) -> None:
    _seed(services.store)
    backup_id = client.ok("createBackup", {}, admin)["backup"]["id"]
    services.store.delete_tree("users/u0")
    services.store.update("users/u1/expenses/e0", {"valor": 1})
    services.store.set("users/u9", {"uid": "u9"})
    before = _business(services.store)

    result = client.ok("simulateRestore", {"backupId": backup_id}, admin)

    assert _business(services.store) == before
    assert result["scratch"]["documents"] == 18
    assert result["scratch"]["matchesBackup"] is True
    assert result["scratch"]["collections"]["users/*/expenses"] == 12
    assert result["plan"]["totals"] == {
        "inBackup": 18,
        "create": 6,
        "overwrite": 1,
        "unchanged": 11,
        "remove": 1,
    }
    assert result["plan"]["applied"] is False


# -- the admin callables ------------------------------------------------------------


@pytest.mark.parametrize(
    "function",
    [
        "createBackup",
        "listBackups",
        "deleteBackup",
        "getBackupStats",
        "verifyBackupIntegrity",
        "simulateRestore",
        "restoreBackup",
    ],
)
def test_callables_are_admin_only(client: Any, alice: str, function: str) -> None:
    data = {"backupId": "x", "confirm": "RESTAURAR"}

    assert client.error(function, data, alice)["status"] == "PERMISSION_DENIED"
    assert client.error(function, data)["status"] == "UNAUTHENTICATED"


def test_list_backups_newest_first_in_pages(
    services: Services, client: Any, admin: str, local: LocalDestination
) -> None:
    ids = []
    for day in range(5):
        _fixed(services, NOW + timedelta(days=day))
        ids.append(take_backup(services, local, Trigger.MANUAL).backup_id)

    first = client.ok("listBackups", {"limit": 2}, admin)
    second = client.ok(
        "listBackups", {"limit": 2, "cursor": first["nextCursor"]}, admin
    )
    last = client.ok("listBackups", {"limit": 2, "cursor": second["nextCursor"]}, admin)

    listed = [b["id"] for page in (first, second, last) for b in page["backups"]]
    assert listed == ids[::-1]
    assert last["nextCursor"] is None
    bad = client.error("listBackups", {"limit": 1000}, admin)
    assert bad["details"]["fields"]["limit"]


def test_delete_refuses_the_only_verified_backup(
    services: Services, client: Any, admin: str
) -> None:
    _seed(services.store, users=1)
    first = client.ok("createBackup", {}, admin)["backup"]["id"]

    error = client.error("deleteBackup", {"backupId": first}, admin)
    second = client.ok("createBackup", {}, admin)["backup"]["id"]
    deleted = client.ok("deleteBackup", {"backupId": first}, admin)

    assert error["status"] == "INVALID_ARGUMENT"
    assert deleted["files"] > 0
    assert services.store.get(status_path(first)) is None
    assert client.error("deleteBackup", {"backupId": second}, admin)
    missing = client.error("deleteBackup", {"backupId": "nope"}, admin)
    assert missing["status"] == "NOT_FOUND"


def test_stats_and_verify_callables(
    services: Services, client: Any, admin: str, local: LocalDestination
) -> None:
    _seed(services.store)
    _fixed(services, NOW)
    good = client.ok("createBackup", {}, admin)["backup"]
    _fixed(services, NOW + timedelta(hours=1))
    with pytest.raises(StoreUnavailable):
        take_backup(
            services,
            local,
            Trigger.MANUAL,
            store=_FailingStore(services.store, 2),  # type: ignore[arg-type]
        )

    stats = client.ok("getBackupStats", {}, admin)
    verified = client.ok("verifyBackupIntegrity", {"backupId": good["id"]}, admin)

    assert stats["count"] == 2
    assert stats["byStatus"] == {"verified": 1, "failed": 1}
    assert stats["totalBytes"] == good["totalBytes"]
    assert stats["lastSuccess"]["backupId"] == good["id"]
    assert "connection lost" in stats["lastFailure"]["error"]
    assert stats["oldest"]["backupId"] == stats["newest"]["backupId"] == good["id"]
    assert isinstance(stats["averageDurationMs"], int)
    assert verified["ok"] is True and verified["documents"] == 18


def test_weekly_verification_marks_corrupt_backups(
    services: Services, local: LocalDestination
) -> None:
    from functions.jobs import run_job

    _seed(services.store)
    _fixed(services, NOW)
    run_job("dailyBackup", services)
    _fixed(services, NOW + timedelta(days=1))
    run_job("dailyBackup", services)
    entry = read_manifest(local, "daily-2026-12-01").files[0]
    path = Path(local.location("daily-2026-12-01")) / entry.name
    path.write_bytes(b"garbage")

    result = run_job("weeklyBackupVerification", services)

    assert result["checked"] == 2
    assert result["corrupt"] == ["daily-2026-12-01"]


def test_backup_triggers_are_registered_as_documented() -> None:
    import main

    daily: Any = getattr(main.dailyBackup, "__firebase_endpoint__")  # noqa: B009
    weekly: Any = getattr(main.weeklyBackupVerification, "__firebase_endpoint__")  # noqa: B009

    assert daily.scheduleTrigger["schedule"] == "0 2 * * *"
    assert daily.scheduleTrigger["timeZone"] == "America/Sao_Paulo"
    assert weekly.scheduleTrigger["schedule"].endswith(" 0")  # Sundays
    assert daily.timeoutSeconds == weekly.timeoutSeconds == RUN_TIMEOUT_S
    assert BackupStatus.VERIFIED == "verified"
