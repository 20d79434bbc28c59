"""Settings from the environment, read in one place.

Every setting the backend honours is a field of `Settings`; the README lists them
with the same names. Nothing else in the package reads `os.environ` for its own
behaviour.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Settings", "load_settings"]

_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Settings:
    """The backend's configuration, frozen for the life of an instance."""

    store_backend: str = "sqlite"
    data_dir: Path = _ROOT / ".data"
    sqlite_path: Path = _ROOT / ".data" / "store.sqlite3"
    timezone: str = "America/Sao_Paulo"
    cache_enabled: bool = True
    cache_redis_url: str | None = None
    cache_max_entries: int = 10_000
    metrics_flush_seconds: float = 10.0
    metrics_retention_days: int = 30
    alert_webhook_url: str | None = None
    backup_bucket: str | None = None
    backup_dir: Path = _ROOT / ".data" / "backups"
    backup_retention_days: int = 30
    backup_mode: str = "stream"
    max_document_bytes: int = 10 * 1024 * 1024
    gemini_api_key: str | None = None
    gemini_model: str = "gemini-2.5-flash"

    @property
    def use_firestore(self) -> bool:
        """True when documents live in Firestore rather than the embedded SQLite."""
        return self.store_backend == "firestore"


def _flag(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _optional(value: str | None) -> str | None:
    return value.strip() if value and value.strip() else None


def load_settings(env: dict[str, str] | None = None) -> Settings:
    """Build settings from `env` (the process environment by default).

    Raises ValueError naming the variable when a value cannot be read.
    """
    env = dict(os.environ if env is None else env)
    data_dir = Path(env.get("DATA_DIR") or _ROOT / ".data")
    backend = (env.get("STORE_BACKEND") or "sqlite").strip().lower()
    if backend not in {"sqlite", "firestore"}:
        raise ValueError(f"STORE_BACKEND must be sqlite or firestore, got {backend!r}")
    backup_mode = (env.get("BACKUP_MODE") or "stream").strip().lower()
    if backup_mode not in {"stream", "managed"}:
        raise ValueError(f"BACKUP_MODE must be stream or managed, got {backup_mode!r}")

    def number(name: str, default: float) -> float:
        raw = env.get(name)
        if raw is None or raw == "":
            return default
        try:
            return float(raw)
        except ValueError:
            raise ValueError(f"{name} must be a number, got {raw!r}") from None

    return Settings(
        store_backend=backend,
        data_dir=data_dir,
        sqlite_path=Path(env.get("SQLITE_PATH") or data_dir / "store.sqlite3"),
        timezone=env.get("APP_TIMEZONE") or "America/Sao_Paulo",
        cache_enabled=_flag(env.get("CACHE_ENABLED"), True),
        cache_redis_url=_optional(env.get("CACHE_REDIS_URL")),
        cache_max_entries=int(number("CACHE_MAX_ENTRIES", 10_000)),
        metrics_flush_seconds=number("METRICS_FLUSH_SECONDS", 10.0),
        metrics_retention_days=int(number("METRICS_RETENTION_DAYS", 30)),
        alert_webhook_url=_optional(env.get("ALERT_WEBHOOK_URL")),
        backup_bucket=_optional(env.get("BACKUP_BUCKET")),
        backup_dir=Path(env.get("BACKUP_DIR") or data_dir / "backups"),
        backup_retention_days=int(number("BACKUP_RETENTION_DAYS", 30)),
        backup_mode=backup_mode,
        max_document_bytes=int(number("MAX_DOCUMENT_BYTES", 10 * 1024 * 1024)),
        gemini_api_key=_optional(env.get("GEMINI_API_KEY")),
        gemini_model=env.get("GEMINI_MODEL") or "gemini-2.5-flash",
    )
