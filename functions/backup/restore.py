"""Restoring a backup, for real or into a scratch store, whole or one user.

A restore makes the restored scope (every business document, or one user's
`users/{uid}` subtree) equal to the backup: documents missing now are
created, different ones overwritten, and documents that did not exist at the
backup's point in time are removed. The collections the backup leaves out
(`backups`, `metrics`, `alerts`) are never touched.

The plan comes from one forward pass: the target's snapshot, in path order,
is merged with each group file of the backup, which is in path order too, so
memory stays flat whatever the number of documents.
"""

from __future__ import annotations

import hashlib
import json
import logging
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from functions.backup.codec import encode_value
from functions.backup.destinations import Destination
from functions.backup.manifest import (
    ERASURES,
    FileEntry,
    Manifest,
    collection_pattern,
    is_excluded,
)
from functions.backup.verify import read_documents
from functions.store.base import Doc, Query, Store, WriteBatch

__all__ = [
    "MAX_BATCH_BYTES",
    "MAX_BATCH_WRITES",
    "CollectionPlan",
    "RestoreReport",
    "erased_users",
    "in_scope",
    "restore_into",
    "simulate_restore",
]

_log = logging.getLogger("functions.backup")

MAX_BATCH_WRITES = 500
"""Firestore's limit on writes in one commit."""

MAX_BATCH_BYTES = 8 * 1024 * 1024
"""Under Firestore's 10 MiB per request, leaving room for the request's framing."""


def in_scope(path: str, uid: str | None, erased: frozenset[str] = frozenset()) -> bool:
    """True when a restore of `uid` (everything when None) covers `path`.

    Users whose erasure is on record (`erased`: SHA-256 of their uids) are out
    of every restore's scope: a restore must never bring erased data back.
    """
    if is_excluded(path):
        return False
    parts = path.split("/")
    if parts[0] == "users" and len(parts) > 1 and _uid_hash(parts[1]) in erased:
        return False
    if uid is None:
        return True
    root = f"users/{uid}"
    return path == root or path.startswith(root + "/")


def _uid_hash(uid: str) -> str:
    return hashlib.sha256(uid.encode()).hexdigest()


def erased_users(store: Store) -> frozenset[str]:
    """SHA-256 of every uid whose erasure is recorded in `erasures/`."""
    hashes: set[str] = set()
    cursor = None
    while True:
        page = store.query(Query(ERASURES, limit=1000, cursor=cursor))
        hashes.update(doc.id for doc in page.docs)
        cursor = page.next_cursor
        if cursor is None:
            return frozenset(hashes)


def _key(path: str) -> list[str]:
    # The stores' path order: segment by segment.
    return path.split("/")


def _canonical(data: dict[str, Any]) -> str:
    # `1 == 1.0` in Python; the typed text tells an integer from a float.
    return json.dumps(encode_value(data), sort_keys=True, ensure_ascii=False)


@dataclass
class CollectionPlan:
    """What a restore does to one collection group."""

    in_backup: int = 0
    create: int = 0
    overwrite: int = 0
    unchanged: int = 0
    remove: int = 0

    def to_dict(self) -> dict[str, int]:
        return {
            "inBackup": self.in_backup,
            "create": self.create,
            "overwrite": self.overwrite,
            "unchanged": self.unchanged,
            "remove": self.remove,
        }


@dataclass
class RestoreReport:
    """Per collection group counts, and the batches a real restore committed."""

    backup_id: str
    uid: str | None
    applied: bool
    collections: dict[str, CollectionPlan] = field(default_factory=dict)
    batches: int = 0
    largest_batch: int = 0

    def plan(self, collection: str) -> CollectionPlan:
        return self.collections.setdefault(collection, CollectionPlan())

    def totals(self) -> CollectionPlan:
        total = CollectionPlan()
        for plan in self.collections.values():
            total.in_backup += plan.in_backup
            total.create += plan.create
            total.overwrite += plan.overwrite
            total.unchanged += plan.unchanged
            total.remove += plan.remove
        return total

    def to_dict(self) -> dict[str, Any]:
        return {
            "backupId": self.backup_id,
            "uid": self.uid,
            "applied": self.applied,
            "collections": {
                name: plan.to_dict() for name, plan in sorted(self.collections.items())
            },
            "totals": self.totals().to_dict(),
            "batches": self.batches,
            "largestBatch": self.largest_batch,
        }


class _Batches:
    """Writes grouped into commits within Firestore's limits."""

    def __init__(self, store: Store, report: RestoreReport) -> None:
        self._store = store
        self._report = report
        self._batch: WriteBatch | None = None
        self._writes = 0
        self._bytes = 0

    def _room(self, size: int) -> WriteBatch:
        if self._batch is not None and (
            self._writes >= MAX_BATCH_WRITES or self._bytes + size > MAX_BATCH_BYTES
        ):
            self.flush()
        if self._batch is None:
            self._batch = self._store.batch()
        self._writes += 1
        self._bytes += size
        return self._batch

    def set(self, doc: Doc, size: int) -> None:
        self._room(size).set(doc.path, doc.data)

    def delete(self, path: str) -> None:
        self._room(len(path)).delete(path)

    def flush(self) -> None:
        if self._batch is None or not self._writes:
            return
        self._batch.commit()
        self._report.batches += 1
        self._report.largest_batch = max(self._report.largest_batch, self._writes)
        self._batch, self._writes, self._bytes = None, 0, 0


class _BackupCursor:
    """The next in-scope document of one group file."""

    def __init__(self, docs: Iterator[Doc]) -> None:
        self._docs = docs
        self.head: Doc | None = next(docs, None)

    def advance(self) -> None:
        self.head = next(self._docs, None)


def _scoped(
    docs: Iterator[Doc], uid: str | None, erased: frozenset[str]
) -> Iterator[Doc]:
    return (doc for doc in docs if in_scope(doc.path, uid, erased))


def restore_into(
    target: Store,
    destination: Destination,
    manifest: Manifest,
    uid: str | None = None,
    apply: bool = True,
    erased: frozenset[str] | None = None,
) -> RestoreReport:
    """Make `target`'s scope equal to the backup (with `apply`), or only count
    what that would create, overwrite and remove (without).

    Raises FormatError for a damaged backup file; writes already committed
    stay (a restore is not one transaction; see `functions.backup.api`).
    """
    if erased is None:
        erased = erased_users(target)
    report = RestoreReport(manifest.backup_id, uid, applied=apply)
    writes = _Batches(target, report) if apply else None
    cursors: dict[str, _BackupCursor] = {}
    for entry in manifest.files:
        cursors[entry.collection] = _BackupCursor(
            _scoped(_counted(destination, manifest, entry, report, erased), uid, erased)
        )

    def create(doc: Doc) -> None:
        report.plan(collection_pattern(doc.path)).create += 1
        if writes is not None:
            writes.set(doc, len(_canonical(doc.data)))

    for current in _scoped(target.stream_all(), uid, erased):
        group = collection_pattern(current.path)
        plan = report.plan(group)
        cursor = cursors.get(group)
        key = _key(current.path)
        while cursor is not None and cursor.head and _key(cursor.head.path) < key:
            create(cursor.head)
            cursor.advance()
        head = cursor.head if cursor is not None else None
        if head is not None and cursor is not None and head.path == current.path:
            text = _canonical(head.data)
            if text == _canonical(current.data):
                plan.unchanged += 1
            else:
                plan.overwrite += 1
                if writes is not None:
                    writes.set(head, len(text))
            cursor.advance()
        else:
            plan.remove += 1
            if writes is not None:
                writes.delete(current.path)

    for cursor in cursors.values():
        while cursor.head is not None:
            create(cursor.head)
            cursor.advance()
    if writes is not None:
        writes.flush()
    return report


def _counted(
    destination: Destination,
    manifest: Manifest,
    entry: FileEntry,
    report: RestoreReport,
    erased: frozenset[str],
) -> Iterator[Doc]:
    for doc in read_documents(destination, manifest.backup_id, entry):
        if in_scope(doc.path, report.uid, erased):
            report.plan(entry.collection).in_backup += 1
        yield doc


def simulate_restore(
    target: Store, destination: Destination, manifest: Manifest, uid: str | None
) -> dict[str, Any]:
    """Restore into a scratch store in a temporary folder, then count what a
    real restore into `target` would do. `target` is only read."""
    from functions.store.sqlite import SqliteStore

    erased = erased_users(target)
    with tempfile.TemporaryDirectory(prefix="backup-simulation-") as folder:
        scratch = SqliteStore(Path(folder) / "scratch.sqlite3")
        try:
            loaded = restore_into(
                scratch, destination, manifest, uid, apply=True, erased=erased
            )
            scratch_counts: dict[str, int] = {}
            for doc in scratch.stream_all():
                group = collection_pattern(doc.path)
                scratch_counts[group] = scratch_counts.get(group, 0) + 1
        finally:
            scratch.close()
    plan = restore_into(target, destination, manifest, uid, apply=False, erased=erased)
    expected = loaded.totals().in_backup
    return {
        "backupId": manifest.backup_id,
        "uid": uid,
        "scratch": {
            "collections": dict(sorted(scratch_counts.items())),
            "documents": sum(scratch_counts.values()),
            "matchesBackup": sum(scratch_counts.values()) == expected,
        },
        "plan": plan.to_dict(),
    }
