"""What a backup is: its files, its manifest, and the words for its state.

The manifest is a JSON file written next to the data files after all of them
are complete; a backup without a readable manifest is not a backup. The same
facts are copied into the status document `backups/{backupId}` so listings and
statistics never have to open the files.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from functions.store.base import split_path

__all__ = [
    "ERASURES",
    "EXCLUDED_COLLECTIONS",
    "FORMAT_VERSION",
    "MANIFEST_NAME",
    "BackupStatus",
    "FileEntry",
    "Manifest",
    "Trigger",
    "collection_pattern",
    "is_excluded",
]

FORMAT_VERSION = 1
MANIFEST_NAME = "manifest.json"

ERASURES = "erasures"
"""Where LGPD erasures are recorded (`functions.privacy`), one per erased uid."""

EXCLUDED_COLLECTIONS = ("alerts", "backups", ERASURES, "locks", "metrics")
"""Root collections left out of the business backup, with their subtrees.

`backups` describes the backups themselves (restoring it would rewrite
history), `erasures` records what must never come back, `locks` serialise
admin operations, and `metrics` and `alerts` are operational data rebuilt by
use; none of them is the users' business data.
"""


class BackupStatus(StrEnum):
    """The life of a backup, as recorded in its status document."""

    RUNNING = "running"
    COMPLETED = "completed"  # manifest written, not yet re-read
    VERIFIED = "verified"  # every file re-read and matched the manifest
    CORRUPT = "corrupt"  # a verification found a mismatch
    FAILED = "failed"  # the run stopped before its manifest was written
    EXPORTING = "exporting"  # a managed export was started (BACKUP_MODE=managed)


USABLE = frozenset({BackupStatus.COMPLETED, BackupStatus.VERIFIED})
"""States whose files a restore may read."""


class Trigger(StrEnum):
    """Why a backup was taken."""

    SCHEDULED = "scheduled"
    MANUAL = "manual"
    SAFETY = "safety"  # taken by a restore before it writes


def is_excluded(path: str) -> bool:
    """True for documents of the collections the backup leaves out."""
    return path.split("/", 1)[0] in EXCLUDED_COLLECTIONS


def collection_pattern(path: str) -> str:
    """The collection group of a document path: `users/*/expenses` for
    `users/u1/expenses/e1`. Document ids become `*`; collection ids stay."""
    parts = split_path(path)[:-1]
    return "/".join("*" if index % 2 else part for index, part in enumerate(parts))


@dataclass(frozen=True)
class FileEntry:
    """One data file: the documents of one collection group."""

    name: str
    collection: str
    documents: int
    bytes: int
    sha256: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "collection": self.collection,
            "documents": self.documents,
            "bytes": self.bytes,
            "sha256": self.sha256,
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> FileEntry:
        return cls(
            name=str(raw["name"]),
            collection=str(raw["collection"]),
            documents=int(raw["documents"]),
            bytes=int(raw["bytes"]),
            sha256=str(raw["sha256"]),
        )


@dataclass(frozen=True)
class Manifest:
    """The description of a complete backup, written after its files."""

    backup_id: str
    trigger: Trigger
    point_in_time: datetime
    started_at: datetime
    finished_at: datetime
    files: tuple[FileEntry, ...] = ()
    excluded: tuple[str, ...] = EXCLUDED_COLLECTIONS
    format_version: int = FORMAT_VERSION
    status: str = field(default=BackupStatus.COMPLETED.value)

    @property
    def documents(self) -> int:
        return sum(entry.documents for entry in self.files)

    @property
    def total_bytes(self) -> int:
        return sum(entry.bytes for entry in self.files)

    @property
    def duration_ms(self) -> int:
        return int((self.finished_at - self.started_at).total_seconds() * 1000)

    def to_json(self) -> bytes:
        body = {
            "formatVersion": self.format_version,
            "backupId": self.backup_id,
            "trigger": self.trigger.value,
            "status": self.status,
            "pointInTime": self.point_in_time.isoformat(),
            "startedAt": self.started_at.isoformat(),
            "finishedAt": self.finished_at.isoformat(),
            "durationMs": self.duration_ms,
            "documentCount": self.documents,
            "totalBytes": self.total_bytes,
            "excludedCollections": list(self.excluded),
            "files": [entry.to_dict() for entry in self.files],
        }
        return json.dumps(body, indent=2, ensure_ascii=False).encode("utf-8")

    @classmethod
    def from_json(cls, raw: bytes) -> Manifest:
        """The manifest in `raw`; ValueError when it is not one."""
        try:
            body = json.loads(raw)
            if body.get("formatVersion") != FORMAT_VERSION:
                raise ValueError(
                    f"format version {FORMAT_VERSION} expected, "
                    f"got {body.get('formatVersion')!r}"
                )
            return cls(
                backup_id=str(body["backupId"]),
                trigger=Trigger(body["trigger"]),
                point_in_time=datetime.fromisoformat(body["pointInTime"]),
                started_at=datetime.fromisoformat(body["startedAt"]),
                finished_at=datetime.fromisoformat(body["finishedAt"]),
                files=tuple(FileEntry.from_dict(f) for f in body["files"]),
                excluded=tuple(body["excludedCollections"]),
                status=str(body["status"]),
            )
        except (KeyError, TypeError, AttributeError) as err:
            raise ValueError(f"not a backup manifest: {err!r}") from err
