"""Structured logs: one JSON line per record on stdout, as Cloud Logging reads them.

Every logger under `functions` writes through one handler installed here. A
line carries `severity`, `message`, `time`, the logger name, the source
location, every `extra={...}` field of the call as a structured field and,
while a request is being served, its trace (`logging.googleapis.com/trace`,
from `X-Cloud-Trace-Context`) and labels (`logging.googleapis.com/labels`:
function, intent, user id) taken from the request's log context.

Fields whose names suggest secrets or bulk content (tokens, files, images,
payloads) are replaced by a marker: a careless `extra=` must not leak them.
"""

from __future__ import annotations

import contextvars
import json
import logging
import sys
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

__all__ = [
    "ALERT",
    "JsonFormatter",
    "LogContext",
    "bind_context",
    "install",
    "reset_context",
    "trace_fields",
]

ALERT = 70
"""Level of an alert opening: above CRITICAL, shown as severity ALERT."""

logging.addLevelName(ALERT, "ALERT")

_TRACE_KEY = "logging.googleapis.com/trace"
_SPAN_KEY = "logging.googleapis.com/spanId"
_SAMPLED_KEY = "logging.googleapis.com/trace_sampled"
_LABELS_KEY = "logging.googleapis.com/labels"
_SOURCE_KEY = "logging.googleapis.com/sourceLocation"

# Attributes every LogRecord has; anything else on a record came from `extra`.
_RECORD_ATTRS = frozenset(vars(logging.makeLogRecord({}))) | {
    "message",
    "asctime",
    "taskName",
}
_REDACTED = "[redacted]"
_SECRET_WORDS = ("token", "authorization", "password", "secret", "apikey")
_BULK_KEYS = frozenset({"file", "image", "payload", "data", "body", "content"})


@dataclass(frozen=True, slots=True)
class LogContext:
    """What every line logged while serving one request carries."""

    trace: str | None = None
    span_id: str | None = None
    sampled: bool = False
    labels: Mapping[str, str] = field(default_factory=dict)


_context: contextvars.ContextVar[LogContext | None] = contextvars.ContextVar(
    "functions_log_context", default=None
)


def bind_context(context: LogContext) -> contextvars.Token[LogContext | None]:
    """Attach `context` to the lines logged from now on in this context."""
    return _context.set(context)


def reset_context(token: contextvars.Token[LogContext | None]) -> None:
    """Restore the log context that `bind_context` replaced."""
    _context.reset(token)


def trace_fields(
    header: str | None, project_id: str | None
) -> tuple[str | None, str | None, bool]:
    """(trace, span id, sampled) from an `X-Cloud-Trace-Context` header.

    The header reads `TRACE_ID/SPAN_ID;o=1`; the trace becomes
    `projects/{project}/traces/{TRACE_ID}` so Cloud Logging links the line to
    the request. (None, None, False) when there is no usable header.
    """
    if not header:
        return None, None, False
    trace_id, _, rest = header.partition("/")
    trace_id = trace_id.strip()
    if not trace_id or not trace_id.isalnum() or len(trace_id) > 64:
        return None, None, False
    span, _, options = rest.partition(";")
    trace = f"projects/{project_id}/traces/{trace_id}" if project_id else trace_id
    span_id = span.strip() if span.strip().isdigit() else None
    return trace, span_id, options.strip() == "o=1"


def _severity(levelno: int) -> str:
    if levelno >= ALERT:
        return "ALERT"
    if levelno >= logging.CRITICAL:
        return "CRITICAL"
    if levelno >= logging.ERROR:
        return "ERROR"
    if levelno >= logging.WARNING:
        return "WARNING"
    if levelno >= logging.INFO:
        return "INFO"
    return "DEBUG"


_sensitive_memo: dict[str, bool] = {}


def _is_sensitive(key: str) -> bool:
    # Field names come from a handful of call sites: remember each verdict.
    verdict = _sensitive_memo.get(key)
    if verdict is None:
        lowered = key.lower()
        verdict = lowered in _BULK_KEYS or any(w in lowered for w in _SECRET_WORDS)
        if len(_sensitive_memo) < 10_000:
            _sensitive_memo[key] = verdict
    return verdict


# One encoder for every line: `json.dumps` with options builds a new one per call.
_ENCODER = json.JSONEncoder(default=str, ensure_ascii=False, separators=(",", ":"))


class JsonFormatter(logging.Formatter):
    """Formats a record as one Cloud Logging JSON line (no trailing newline)."""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        if record.exc_info:
            # Error Reporting finds stack traces inside the message text.
            message = f"{message}\n{self.formatException(record.exc_info)}"
        entry: dict[str, Any] = {
            "severity": _severity(record.levelno),
            "message": message,
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "logger": record.name,
        }
        context = _context.get()
        if context is not None:
            if context.trace:
                entry[_TRACE_KEY] = context.trace
                entry[_SAMPLED_KEY] = context.sampled
            if context.span_id:
                entry[_SPAN_KEY] = context.span_id
            if context.labels:
                entry[_LABELS_KEY] = dict(context.labels)
        for key, value in record.__dict__.items():
            if key not in _RECORD_ATTRS:
                entry[key] = _REDACTED if _is_sensitive(key) else value
        entry[_SOURCE_KEY] = {
            "file": record.pathname,
            "line": record.lineno,
            "function": record.funcName,
        }
        return _ENCODER.encode(entry)


class _StdoutHandler(logging.Handler):
    """Writes each line to the current `sys.stdout`, looked up at every record.

    Looking it up late lets tests capture stdout and survives a runtime that
    replaces the stream after start-up.
    """

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
            stream = sys.stdout
            stream.write(line + "\n")
            # Flushed per line: a crash must not swallow the lines before it.
            stream.flush()
        except Exception:
            self.handleError(record)


_install_lock = threading.Lock()


def install(level: int = logging.INFO) -> logging.Handler:
    """Route every `functions.*` logger to JSON lines on stdout; idempotent.

    The `functions` logger gets `level` unless a level was already set on it,
    and stops propagating: the root logger gets a plain-text stderr handler
    as soon as any library calls `logging.error()`, which would print every
    line twice. Handlers added to `functions.*` loggers still see everything.
    """
    logger = logging.getLogger("functions")
    with _install_lock:
        for handler in logger.handlers:
            if isinstance(handler, _StdoutHandler):
                return handler
        handler = _StdoutHandler()
        handler.setFormatter(JsonFormatter())
        logger.addHandler(handler)
        if logger.level == logging.NOTSET:
            logger.setLevel(level)
        logger.propagate = False
        return handler
