"""Helpers shared by the monitoring tests: a fake clock, a counting store."""

from __future__ import annotations

import contextlib
import json
import logging
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from functions.cache import Cache
from functions.config import load_settings
from functions.services import Services
from functions.store.sqlite import SqliteStore

START = datetime(2026, 12, 3, 12, 0, 0, tzinfo=UTC)


class FakeClock:
    """A wall clock that moves only when told to."""

    def __init__(self, start: datetime = START) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def tick(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)

    def epoch(self) -> float:
        return self.now.timestamp()


class _CountingBatch:
    def __init__(self, owner: CountingStore, batch: Any) -> None:
        self._owner = owner
        self._batch = batch

    def set(self, path: str, data: dict[str, Any], merge: bool = False) -> None:
        self._owner.writes.append(path)
        self._batch.set(path, data, merge)

    def update(self, path: str, changes: dict[str, Any]) -> None:
        self._owner.writes.append(path)
        self._batch.update(path, changes)

    def delete(self, path: str) -> None:
        self._batch.delete(path)

    def commit(self) -> None:
        self._owner.commits += 1
        self._batch.commit()


class CountingStore:
    """Wraps a store and counts the documents written and the round trips."""

    def __init__(self, store: Any) -> None:
        self.inner = store
        self.writes: list[str] = []
        self.commits = 0
        self.fail_writes = False

    def set(self, path: str, data: dict[str, Any], merge: bool = False) -> None:
        if self.fail_writes:
            from functions.store.base import StoreUnavailable

            raise StoreUnavailable("down for the test")
        self.writes.append(path)
        self.commits += 1
        self.inner.set(path, data, merge)

    def batch(self) -> Any:
        if self.fail_writes:
            from functions.store.base import StoreUnavailable

            raise StoreUnavailable("down for the test")
        return _CountingBatch(self, self.inner.batch())

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def dead_port() -> int:
    """A local TCP port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def make_services(
    tmp_path: Path,
    clock: FakeClock | None = None,
    store: Any = None,
    cache: Cache | None = None,
    **env: str,
) -> Services:
    """Services over a fresh SQLite store, an L1 cache and a fake clock."""
    settings = load_settings({"DATA_DIR": str(tmp_path / "data"), **env})
    return Services(
        settings=settings,
        store=store if store is not None else SqliteStore(tmp_path / "m.sqlite3"),
        cache=cache if cache is not None else Cache(),
        clock=clock or FakeClock(),
    )


def json_lines(text: str) -> list[dict[str, Any]]:
    """Every stdout line parsed as JSON (each must parse)."""
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def logged_lines(capsys: Any) -> list[dict[str, Any]]:
    """Every JSON line written to the captured stdout so far, after writing
    out the call lines the log writer still holds in its queue."""
    from functions.monitoring import logs

    logs.flush()
    return json_lines(capsys.readouterr().out)


@contextlib.contextmanager
def production_logging() -> Iterator[None]:
    """The `functions` logger with only the installed JSON handler, as in
    production, so call lines take the direct route (`logs.direct_route`).

    pytest attaches its capture handlers to every non-propagating logger, which
    would otherwise send every call line down the LogRecord route in tests.
    """
    from functions.monitoring import logs

    logs.install()
    logger = logging.getLogger("functions")
    saved = list(logger.handlers)
    logger.handlers[:] = [h for h in saved if isinstance(h, logs._StdoutHandler)]
    try:
        yield
    finally:
        logger.handlers[:] = saved
