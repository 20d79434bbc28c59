"""The per-instance dependencies every service uses, built once on first use.

Heavy clients (Firestore, Redis) are created here lazily, behind a lock, so
importing `main.py` stays cheap on a cold start. Tests build their own
`Services` over temporary stores and install them with `use_services`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from functions.config import Settings, load_settings

if TYPE_CHECKING:
    from functions.cache import Cache
    from functions.store.base import Store

__all__ = ["Services", "build_services", "get_services", "use_services"]


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Services:
    """What a request needs: settings, the store, the cache and a clock."""

    settings: Settings
    store: Store
    cache: Cache
    clock: Callable[[], datetime] = field(default=_utc_now)


def build_store(settings: Settings) -> Store:
    """The document store the settings name."""
    if settings.use_firestore:
        from functions.store.firestore import FirestoreStore

        return FirestoreStore.from_firebase_admin()
    from functions.store.sqlite import SqliteStore

    return SqliteStore(settings.sqlite_path)


def build_services(settings: Settings | None = None) -> Services:
    """Fresh services for `settings` (the environment's by default)."""
    from functions.cache import Cache

    settings = settings or load_settings()
    return Services(
        settings=settings,
        store=build_store(settings),
        cache=Cache.from_settings(settings),
    )


_lock = threading.Lock()
_current: Services | None = None


def get_services() -> Services:
    """The instance's services, built on the first call."""
    global _current
    if _current is None:
        with _lock:
            if _current is None:
                _current = build_services()
    return _current


def use_services(services: Services | None) -> None:
    """Install `services` for this instance (None: rebuild on next use)."""
    global _current
    with _lock:
        _current = services
