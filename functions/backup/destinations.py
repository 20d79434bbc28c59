"""Where backup files live: a local folder, or a Cloud Storage bucket.

A destination stores the files of each backup under the backup's id and
streams them both ways, so neither a backup nor a verification ever holds a
whole file in memory. What makes a backup usable is its manifest, written
last (see `functions.backup.export`); a destination only has to make files
written before `commit` invisible or removable until then.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Protocol

from functions.config import Settings
from functions.errors import Unavailable

if TYPE_CHECKING:
    from google.cloud.storage import Client as StorageClient

__all__ = [
    "Destination",
    "DestinationError",
    "FileMissing",
    "GcsDestination",
    "LocalDestination",
    "ReadStream",
    "WriteStream",
    "destination_for",
    "parse_bucket_url",
    "reset_storage_client",
]

# Resumable uploads buffer one chunk per open file; 1 MiB keeps a backup of
# six collection groups near 6 MiB of buffers whatever the data size (the
# library's default chunk is 40 MiB per file).
UPLOAD_CHUNK_BYTES = 4 * 256 * 1024
DOWNLOAD_CHUNK_BYTES = 4 * 256 * 1024

_PARTIAL_SUFFIX = ".partial"


class DestinationError(Unavailable):
    """The backup folder or bucket failed (missing, unreachable, refused)."""

    default_message = "O armazenamento de backups está indisponível."


class FileMissing(DestinationError):
    """A file of a backup is not there (deleted, or never committed)."""

    default_message = "Arquivo de backup não encontrado."


class WriteStream(Protocol):
    """A file being written: `close` finishes it, `abort` throws it away."""

    def write(self, data: bytes) -> int: ...

    def close(self) -> None: ...

    def abort(self) -> None: ...


class ReadStream(Protocol):
    """A file being read."""

    def read(self, size: int = -1) -> bytes: ...

    def close(self) -> None: ...


class Destination(Protocol):
    """Files of backups, grouped by backup id."""

    def location(self, backup_id: str) -> str:
        """Where the files of `backup_id` live, for people (a path or gs:// URL)."""
        ...

    def open_write(self, backup_id: str, name: str) -> WriteStream:
        """A binary stream that creates the file `name` of an uncommitted backup."""
        ...

    def commit(self, backup_id: str) -> None:
        """Make the files written for `backup_id` the backup's final files."""
        ...

    def open_read(self, backup_id: str, name: str) -> ReadStream:
        """A binary stream over a committed file; DestinationError if missing."""
        ...

    def delete(self, backup_id: str) -> int:
        """Remove every file of `backup_id`, committed or not; how many went."""
        ...


# -- local folder -------------------------------------------------------------


class LocalDestination:
    """Backups as folders under `root`: `{root}/{backup_id}/{name}`.

    Files are written into `{backup_id}.partial/` and the folder is renamed on
    commit, an atomic step, so a run killed half way leaves only a `.partial`
    folder behind.
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _final(self, backup_id: str) -> Path:
        return self.root / backup_id

    def _partial(self, backup_id: str) -> Path:
        return self.root / (backup_id + _PARTIAL_SUFFIX)

    def location(self, backup_id: str) -> str:
        return str(self._final(backup_id))

    def open_write(self, backup_id: str, name: str) -> WriteStream:
        folder = self._partial(backup_id)
        try:
            folder.mkdir(parents=True, exist_ok=True)
            return _LocalWriter(open(folder / name, "wb"))
        except OSError as err:
            raise DestinationError(details={"reason": str(err)}) from err

    def commit(self, backup_id: str) -> None:
        try:
            os.replace(self._partial(backup_id), self._final(backup_id))
        except OSError as err:
            raise DestinationError(details={"reason": str(err)}) from err

    def open_read(self, backup_id: str, name: str) -> ReadStream:
        try:
            return open(self._final(backup_id) / name, "rb")
        except FileNotFoundError as err:
            raise FileMissing(details={"reason": str(err)}) from err
        except OSError as err:
            raise DestinationError(details={"reason": str(err)}) from err

    def delete(self, backup_id: str) -> int:
        removed = 0
        for folder in (self._final(backup_id), self._partial(backup_id)):
            if folder.is_dir():
                removed += sum(1 for _ in folder.iterdir())
                shutil.rmtree(folder, ignore_errors=True)
        return removed


class _LocalWriter:
    def __init__(self, file: IO[bytes]) -> None:
        self._file = file

    def write(self, data: bytes) -> int:
        try:
            return self._file.write(data)
        except OSError as err:
            raise DestinationError(details={"reason": str(err)}) from err

    def close(self) -> None:
        try:
            self._file.close()
        except OSError as err:
            raise DestinationError(details={"reason": str(err)}) from err

    def abort(self) -> None:
        # The file stays in the `.partial` folder, which the caller deletes.
        self._file.close()


# -- Cloud Storage ------------------------------------------------------------


def parse_bucket_url(url: str) -> tuple[str, str]:
    """(bucket, prefix) of `gs://bucket[/prefix]`; the prefix ends with `/`."""
    if not url.startswith("gs://") or not url[5:].strip("/"):
        raise ValueError(
            f"BACKUP_BUCKET must look like gs://bucket/prefix, got {url!r}"
        )
    bucket, _, prefix = url[5:].strip("/").partition("/")
    return bucket, (prefix.strip("/") + "/" if prefix.strip("/") else "")


class GcsDestination:
    """Backups as objects `{prefix}{backup_id}/{name}` in one bucket.

    Each file is one resumable upload, finalised when its stream closes; an
    upload cut short never becomes an object. Cloud Storage has no atomic
    rename of a prefix, so `commit` does nothing: the manifest, written last,
    is what marks the files complete.
    """

    def __init__(
        self,
        client: StorageClient,
        bucket: str,
        prefix: str = "",
        retry_seconds: float = 120.0,
    ) -> None:
        from google.cloud.storage.retry import DEFAULT_RETRY

        self._client = client
        self.bucket_name = bucket
        self.prefix = prefix
        # Transient errors are retried with backoff, but a bucket that is gone
        # must fail the run well within the function's timeout.
        self._retry = DEFAULT_RETRY.with_timeout(retry_seconds)

    def _name(self, backup_id: str, name: str) -> str:
        return f"{self.prefix}{backup_id}/{name}"

    def location(self, backup_id: str) -> str:
        return f"gs://{self.bucket_name}/{self.prefix}{backup_id}/"

    def open_write(self, backup_id: str, name: str) -> WriteStream:
        blob = self._client.bucket(self.bucket_name).blob(
            self._name(backup_id, name), chunk_size=UPLOAD_CHUNK_BYTES
        )
        with _translated():
            stream: IO[bytes] = blob.open(
                "wb",
                content_type="application/octet-stream",
                ignore_flush=True,
                retry=self._retry,
            )
        return _GuardedStream(stream)

    def commit(self, backup_id: str) -> None:
        return None

    def open_read(self, backup_id: str, name: str) -> ReadStream:
        blob = self._client.bucket(self.bucket_name).blob(self._name(backup_id, name))
        with _translated():
            stream: IO[bytes] = blob.open(
                "rb", chunk_size=DOWNLOAD_CHUNK_BYTES, retry=self._retry
            )
        return _GuardedStream(stream)

    def delete(self, backup_id: str) -> int:
        with _translated():
            blobs = list(
                self._client.list_blobs(
                    self.bucket_name,
                    prefix=self._name(backup_id, ""),
                    retry=self._retry,
                )
            )
            for blob in blobs:
                blob.delete(retry=self._retry)
        return len(blobs)


@contextmanager
def _translated() -> Iterator[None]:
    """Cloud Storage and transport errors as DestinationError (FileMissing for
    a 404)."""
    from google.api_core import exceptions as api_exceptions
    from google.auth import exceptions as auth_exceptions
    from requests import exceptions as http_exceptions

    try:
        yield
    except api_exceptions.NotFound as err:
        raise FileMissing(details={"reason": str(err)}) from err
    except (
        api_exceptions.GoogleAPIError,
        auth_exceptions.GoogleAuthError,
        http_exceptions.RequestException,
        OSError,
    ) as err:
        raise DestinationError(details={"reason": str(err)}) from err


class _GuardedStream:
    """A storage stream whose library errors surface as DestinationError."""

    def __init__(self, inner: IO[bytes]) -> None:
        self._inner: Any = inner

    def _call(self, method: str, *args: Any) -> Any:
        with _translated():
            return getattr(self._inner, method)(*args)

    def write(self, data: bytes) -> int:
        written: int = self._call("write", data)
        return written

    def read(self, size: int = -1) -> bytes:
        data: bytes = self._call("read", size)
        return data

    def readable(self) -> bool:
        return bool(self._inner.readable())

    def writable(self) -> bool:
        return bool(self._inner.writable())

    def flush(self) -> None:
        self._call("flush")

    def close(self) -> None:
        self._call("close")

    def abort(self) -> None:
        # Closing would finalise the upload; an abandoned resumable upload
        # session never becomes an object and expires on its own.
        self._inner = _Closed()

    def __enter__(self) -> _GuardedStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Closed:
    def close(self) -> None:
        return None


# -- choosing one -------------------------------------------------------------

_client_lock = threading.Lock()
_storage_client: StorageClient | None = None


def _shared_storage_client() -> StorageClient:
    # One client per instance: building one reads credentials and opens a
    # session, which every backup would otherwise pay again.
    global _storage_client
    if _storage_client is None:
        with _client_lock:
            if _storage_client is None:
                from google.cloud import storage

                _storage_client = storage.Client()
    return _storage_client


def reset_storage_client() -> None:
    """Forget the shared Cloud Storage client (tests switch emulators)."""
    global _storage_client
    with _client_lock:
        _storage_client = None


def destination_for(
    settings: Settings, storage_client: StorageClient | None = None
) -> Destination:
    """The bucket of `backup_bucket` when set, else the folder `backup_dir`."""
    if settings.backup_bucket:
        bucket, prefix = parse_bucket_url(settings.backup_bucket)
        return GcsDestination(
            storage_client or _shared_storage_client(), bucket, prefix
        )
    return LocalDestination(settings.backup_dir)
