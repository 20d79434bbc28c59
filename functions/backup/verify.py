"""Checking a backup: every file re-read, hashed, decompressed and parsed.

A file passes when its compressed bytes have the manifest's size and SHA-256,
it decompresses to the end, every line is a document of the file's collection
group, and the lines number the manifest's count. One flipped byte fails at
least the checksum.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import logging
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from functions.backup import alerts
from functions.backup.codec import FormatError, decode_line
from functions.backup.destinations import Destination, FileMissing, ReadStream
from functions.backup.manifest import (
    MANIFEST_NAME,
    BackupStatus,
    FileEntry,
    Manifest,
    collection_pattern,
)
from functions.backup.status import status_path
from functions.services import Services
from functions.store.base import Doc

__all__ = [
    "VerifyReport",
    "read_documents",
    "read_manifest",
    "verify_backup",
    "verify_files",
]

_log = logging.getLogger("functions.backup")

_READ_BYTES = 1024 * 1024
_MAX_PROBLEMS = 20


class _HashingSource:
    """Counts and hashes the compressed bytes as gzip pulls them in."""

    def __init__(self, stream: ReadStream) -> None:
        self.stream = stream
        self.sha256 = hashlib.sha256()
        self.bytes = 0

    def read(self, size: int = -1) -> bytes:
        data = self.stream.read(size)
        self.sha256.update(data)
        self.bytes += len(data)
        return data

    def seek(self, offset: int, whence: int = 0) -> int:
        # gzip only seeks when asked to rewind, which nothing here does.
        raise io.UnsupportedOperation("backup files are read once, forward")

    def drain(self) -> None:
        while self.read(_READ_BYTES):
            pass


def read_manifest(destination: Destination, backup_id: str) -> Manifest:
    """The manifest of a committed backup; ValueError when unreadable.

    DestinationError when the destination cannot be read at all.
    """
    stream = destination.open_read(backup_id, MANIFEST_NAME)
    try:
        chunks = []
        while chunk := stream.read(_READ_BYTES):
            chunks.append(chunk)
    finally:
        stream.close()
    return Manifest.from_json(b"".join(chunks))


def read_documents(
    destination: Destination, backup_id: str, entry: FileEntry
) -> Iterator[Doc]:
    """The documents of one data file, in file (path) order, one at a time.

    Raises FormatError for a damaged file. Does not check the checksum; see
    `verify_files`.
    """
    stream = destination.open_read(backup_id, entry.name)
    try:
        with gzip.GzipFile(fileobj=_HashingSource(stream), mode="rb") as lines:
            try:
                for line in lines:
                    yield decode_line(line)
            except (OSError, EOFError, zlib.error) as err:
                raise FormatError(f"{entry.name}: not a complete gzip file") from err
    finally:
        stream.close()


def _check_file(
    destination: Destination, backup_id: str, entry: FileEntry
) -> list[str]:
    problems: list[str] = []
    stream = destination.open_read(backup_id, entry.name)
    source = _HashingSource(stream)
    count = 0
    try:
        with gzip.GzipFile(fileobj=source, mode="rb") as lines:
            for number, line in enumerate(lines, start=1):
                doc = decode_line(line)
                if collection_pattern(doc.path) != entry.collection:
                    problems.append(
                        f"{entry.name}: line {number} is {doc.path!r}, "
                        f"not a document of {entry.collection}"
                    )
                count += 1
        source.drain()
    except FormatError as err:
        problems.append(f"{entry.name}: line {count + 1}: {err}")
    except (OSError, EOFError, zlib.error) as err:
        problems.append(
            f"{entry.name}: gzip data unreadable after {count} lines: {err}"
        )
    finally:
        stream.close()

    digest = source.sha256.hexdigest()
    if source.bytes != entry.bytes:
        problems.append(
            f"{entry.name}: {entry.bytes} bytes expected, got {source.bytes}"
        )
    if digest != entry.sha256:
        problems.append(f"{entry.name}: sha256 {entry.sha256} expected, got {digest}")
    if count != entry.documents:
        problems.append(
            f"{entry.name}: {entry.documents} documents expected, read {count}"
        )
    return problems


@dataclass(frozen=True)
class VerifyReport:
    """The outcome of checking one backup."""

    backup_id: str
    ok: bool
    documents: int = 0
    files: int = 0
    problems: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        return {
            "backupId": self.backup_id,
            "ok": self.ok,
            "documents": self.documents,
            "files": self.files,
            "problems": list(self.problems),
        }


def verify_files(destination: Destination, backup_id: str) -> VerifyReport:
    """Check every file of a backup against its manifest; changes nothing."""
    try:
        manifest = read_manifest(destination, backup_id)
    except ValueError as err:
        return VerifyReport(backup_id, ok=False, problems=(f"manifest: {err}",))
    if manifest.backup_id != backup_id:
        return VerifyReport(
            backup_id,
            ok=False,
            problems=(f"manifest names backup {manifest.backup_id!r}",),
        )
    problems: list[str] = []
    for entry in manifest.files:
        problems.extend(_check_file(destination, backup_id, entry))
    return VerifyReport(
        backup_id,
        ok=not problems,
        documents=manifest.documents,
        files=len(manifest.files),
        problems=tuple(problems[:_MAX_PROBLEMS]),
    )


def verify_backup(
    services: Services, destination: Destination, backup_id: str
) -> VerifyReport:
    """Check a backup and record the result: `verified`, or `corrupt` plus the
    monitoring alert. A missing file or manifest counts as corrupt."""
    # Any other DestinationError (bucket down) propagates: it says nothing
    # about the backup itself.
    try:
        report = verify_files(destination, backup_id)
    except FileMissing as err:
        reason = str((err.details or {}).get("reason") or err.message)
        report = VerifyReport(backup_id, ok=False, problems=(f"missing: {reason}",))

    now = services.clock()
    status = BackupStatus.VERIFIED if report.ok else BackupStatus.CORRUPT
    services.store.set(
        status_path(backup_id),
        {
            "status": status.value,
            "verifiedAt": now,
            "verification": {**report.to_dict(), "checkedAt": now},
        },
        merge=True,
    )
    if not report.ok:
        alerts.backup_problem(
            services, backup_id, "backup corrupt: " + "; ".join(report.problems[:3])
        )
    _log.info(
        "backup verified",
        extra={
            "backup_id": backup_id,
            "ok": report.ok,
            "problems": len(report.problems),
        },
    )
    return report
