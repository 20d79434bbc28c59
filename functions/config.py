"""Settings from the environment, read in one place.

Every setting the backend honours is a field of `Settings`; the README lists them
with the same names. The only other variables read are the platform's and
firebase-admin's own (`K_SERVICE`, `FUNCTIONS_EMULATOR`,
`FIREBASE_AUTH_EMULATOR_HOST`), by `functions.auth.check_token_mode` and the
command line.
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
    cache_tracking: bool = True
    metrics_flush_seconds: float = 10.0
    metrics_retention_days: int = 30
    alert_webhook_url: str | None = None
    alert_error_rate: float = 0.10
    alert_p95_ms: float = 3000.0
    alert_min_calls: int = 20
    project_id: str | None = None
    backup_bucket: str | None = None
    backup_dir: Path = _ROOT / ".data" / "backups"
    backup_retention_days: int = 30
    backup_mode: str = "stream"
    max_document_bytes: int = 10 * 1024 * 1024
    lgpd_delete_auth_user: bool = True
    lgpd_export_inline_max_bytes: int = 8_000_000
    lgpd_export_dir: Path = _ROOT / ".data" / "exports"
    gemini_api_key: str | None = None
    gemini_model: str = "gemini-2.5-flash"
    gemini_base_url: str | None = None
    gemini_timeout_seconds: float = 20.0
    vertex_project: str | None = None
    vertex_location: str = "us-central1"
    ocr_engine: str = "auto"
    ocr_timeout_seconds: float = 30.0
    tesseract_cmd: str = "tesseract"
    on_gcp: bool = False

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


def _ocr_engine(value: str | None) -> str:
    engine = (value or "auto").strip().lower()
    if engine not in {"auto", "vision", "tesseract"}:
        raise ValueError(
            f"OCR_ENGINE must be auto, vision or tesseract, got {engine!r}"
        )
    return engine


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
        cache_tracking=_flag(env.get("CACHE_TRACKING"), True),
        metrics_flush_seconds=number("METRICS_FLUSH_SECONDS", 10.0),
        metrics_retention_days=int(number("METRICS_RETENTION_DAYS", 30)),
        alert_webhook_url=_optional(env.get("ALERT_WEBHOOK_URL")),
        alert_error_rate=number("ALERT_ERROR_RATE", 0.10),
        alert_p95_ms=number("ALERT_P95_MS", 3000.0),
        alert_min_calls=int(number("ALERT_MIN_CALLS", 20)),
        project_id=_optional(env.get("GOOGLE_CLOUD_PROJECT"))
        or _optional(env.get("GCLOUD_PROJECT")),
        backup_bucket=_optional(env.get("BACKUP_BUCKET")),
        backup_dir=Path(env.get("BACKUP_DIR") or data_dir / "backups"),
        backup_retention_days=int(number("BACKUP_RETENTION_DAYS", 30)),
        backup_mode=backup_mode,
        max_document_bytes=int(number("MAX_DOCUMENT_BYTES", 10 * 1024 * 1024)),
        lgpd_delete_auth_user=_flag(env.get("LGPD_DELETE_AUTH_USER"), True),
        lgpd_export_inline_max_bytes=int(
            number("LGPD_EXPORT_INLINE_MAX_BYTES", 8_000_000)
        ),
        lgpd_export_dir=Path(env.get("LGPD_EXPORT_DIR") or data_dir / "exports"),
        gemini_api_key=_optional(env.get("GEMINI_API_KEY")),
        gemini_model=env.get("GEMINI_MODEL") or "gemini-2.5-flash",
        gemini_base_url=_optional(env.get("GEMINI_BASE_URL")),
        gemini_timeout_seconds=number("GEMINI_TIMEOUT_SECONDS", 20.0),
        vertex_project=_optional(env.get("VERTEX_PROJECT")),
        vertex_location=env.get("VERTEX_LOCATION") or "us-central1",
        ocr_engine=_ocr_engine(env.get("OCR_ENGINE")),
        ocr_timeout_seconds=number("OCR_TIMEOUT_SECONDS", 30.0),
        tesseract_cmd=env.get("TESSERACT_CMD") or "tesseract",
        # Cloud Functions (2nd gen) runs on Cloud Run, which sets K_SERVICE;
        # the local emulator sets it too, and FUNCTIONS_EMULATOR besides.
        on_gcp=bool(env.get("K_SERVICE"))
        and not _flag(env.get("FUNCTIONS_EMULATOR"), False),
    )
