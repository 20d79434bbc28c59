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

import functools
import json
import logging
import os
import queue
import sys
import threading
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, NamedTuple, Protocol, TextIO

from functions.monitoring import shutdown

__all__ = [
    "ALERT",
    "CallFigures",
    "ContextSource",
    "JsonFormatter",
    "LineWriter",
    "LogContext",
    "bind_context",
    "bound_context",
    "call_line",
    "direct_route",
    "flush",
    "install",
    "queue_call",
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


_NO_LABELS: Mapping[str, str] = MappingProxyType({})


class LogContext(NamedTuple):
    """What every line logged while serving one request carries.

    Immutable; a named tuple rather than a frozen dataclass because one or
    two are built per call and a tuple is several times cheaper to build.
    """

    trace: str | None = None
    span_id: str | None = None
    sampled: bool = False
    labels: Mapping[str, str] = _NO_LABELS


class ContextSource(Protocol):
    """Whatever is bound while a request is served (the measured `Call`)."""

    def log_context(self) -> LogContext:
        """The trace and labels of the lines logged now."""
        ...


class _Bound(threading.local):
    source: ContextSource | None = None


# The source is bound rather than a `LogContext`: the user id and the trace
# become known during the call, and building and rebinding a context at each
# step cost more per call than asking the source in the rare line logged
# inside a request.
#
# A thread-local rather than a ContextVar: setting a ContextVar invalidates
# the lookup cache of every other ContextVar of the thread, and Flask and
# werkzeug read theirs many times per request (measured: about 2.5 us per
# call, a third of the wrapper's cost). Requests are served one per thread
# (Flask's WSGI model), where the two are equivalent; an asyncio task of the
# request runs on its thread and sees the same source.
_bound = _Bound()


def bind_context(source: ContextSource) -> ContextSource | None:
    """Attach `source`'s trace and labels to the lines logged from now on in
    this thread; returns what was bound before, for `reset_context`."""
    previous = _bound.source
    _bound.source = source
    return previous


def bound_context() -> ContextSource | None:
    """What `bind_context` attached in this thread (the call in progress)."""
    return _bound.source


def reset_context(previous: ContextSource | None) -> None:
    """Restore the log context `bind_context` replaced (its return value)."""
    _bound.source = previous


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
        source = _bound.source
        if source is not None:
            context = source.log_context()
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
    replaces the stream after start-up. The line goes out at once, after the
    call lines queued before it (`_writer.write_now`): order is kept, and an
    error logged just before a crash is not lost.
    """

    def emit(self, record: logging.LogRecord) -> None:
        try:
            _writer.write_now(sys.stdout, self.format(record))
        except Exception:
            self.handleError(record)


# -- the per-call line: built from precomputed pieces, off the request --------

_CALL_LOGGER = "functions.monitoring.calls"
_CALL_LEVEL = {None: logging.INFO, False: logging.WARNING, True: logging.ERROR}
_encode_str = json.encoder.encode_basestring  # `ensure_ascii=False`, as _ENCODER

# Every call line has the keys a `JsonFormatter` line of the same record
# would have, in the same order (tests compare the two). Most of it repeats
# from call to call, so it is kept as ready-made pieces joined around the few
# per-call values (time, trace, duration): encoding a fresh dict of nested
# dicts per call was most of the monitoring cost of a fast call.
_CALL_HEAD = {
    server_error: '{"severity":' + _encode_str(severity) + ',"message":"function call"'
    for server_error, severity in ((None, "INFO"), (False, "WARNING"), (True, "ERROR"))
}
_CALL_LOGGER_FIELD = ',"logger":' + _encode_str(_CALL_LOGGER)
_OUTCOME_OK = ',"outcome":"ok","code":null'


@functools.lru_cache(maxsize=1024)
def _call_middle(
    function: str, intent: str | None, user_id: str | None, code: str | None
) -> str:
    """The part of a call line between the trace and the duration's value:
    labels, then `event` to `userId`. It depends only on these four values,
    which repeat from call to call (an instance serves a few users at a
    time), so it is built once per combination and kept."""
    user = "null" if user_id is None else _encode_str(user_id)
    intent_value = "null" if intent is None else _encode_str(intent)
    labels = ',"' + _LABELS_KEY + '":{"function":' + _encode_str(function)
    if intent is not None:
        labels += ',"intent":' + intent_value
    if user_id:
        labels += ',"user_id":' + user
    outcome = (
        _OUTCOME_OK
        if code is None
        else ',"outcome":"error","code":' + _encode_str(code)
    )
    return (
        labels
        + '},"event":"call","function":'
        + _encode_str(function)
        + ',"intent":'
        + intent_value
        + outcome
        + ',"userId":'
        + user
        + ',"durationMs":'
    )


@functools.lru_cache(maxsize=64)
def _source_field(source: tuple[str, int, str]) -> str:
    file, line, function = source
    location = {"file": file, "line": line, "function": function}
    return ',"' + _SOURCE_KEY + '":' + _ENCODER.encode(location) + "}"


_last_second: tuple[int, str] = (-1, "")


def _timestamp(at: float) -> str:
    """`at` (epoch seconds) as `datetime.isoformat` writes it in UTC."""
    global _last_second
    second, micros = divmod(round(at * 1_000_000), 1_000_000)
    cached_second, prefix = _last_second
    if cached_second != second:
        # Lines come in bursts within the same second: format its date once.
        prefix = datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S")
        _last_second = (second, prefix)
    return f"{prefix}.{micros:06d}+00:00" if micros else prefix + "+00:00"


CallFigures = tuple[
    float,
    str,
    str | None,
    str | None,
    str | None,
    bool | None,
    float,
    str | None,
    str | None,
    tuple[str, int, str],
]
"""What a queued call line is made from, in `call_line`'s argument order.

A plain tuple of str, float, bool and None (the source location too): the
garbage collector stops tracking such a tuple at its first pass. Queued
objects it keeps tracking (the `Call` itself, dicts) survive into the oldest
generation and trigger full collections of the whole heap, which cost more
per call than building the line.
"""


def call_line(
    at: float,
    function: str,
    intent: str | None,
    user_id: str | None,
    code: str | None,
    server_error: bool | None,
    duration_ms: float,
    trace_header: str | None,
    project_id: str | None,
    source: tuple[str, int, str],
) -> str:
    """The JSON line of one call (`CallFigures`), as `JsonFormatter` lays
    out a record with the call's fields and log context: severity (INFO,
    WARNING for a client error, ERROR for a server error), message, time,
    logger, trace and span from `trace_header`, labels (function, intent,
    user id), the fields `event`, `function`, `intent`, `outcome`, `code`,
    `durationMs`, `userId`, and the source location `(file, line, function)`.
    """
    start = (
        _CALL_HEAD[server_error]
        + ',"time":"'
        + _timestamp(at)
        + '"'
        + _CALL_LOGGER_FIELD
    )
    trace_part = ""
    if trace_header:
        trace, span_id, sampled = trace_fields(trace_header, project_id)
        if trace:
            trace_part = (
                f',"{_TRACE_KEY}":{_encode_str(trace)}'
                f',"{_SAMPLED_KEY}":{"true" if sampled else "false"}'
            )
        if span_id:
            trace_part += f',"{_SPAN_KEY}":{_encode_str(span_id)}'
    # Three decimals like `round(duration_ms, 3)` in a record, for less.
    return (
        start
        + trace_part
        + _call_middle(function, intent, user_id, code)
        + f"{duration_ms:.3f}"
        + _source_field(source)
    )


class LineWriter:
    """Queues log lines and writes them in batches from one daemon thread.

    A request only appends `(stream, line-or-entry)` to a `queue.SimpleQueue`
    (lock-free for the producer). Every `interval` seconds the writer thread
    drains the queue, formats the entries (JSON, time stamp), and writes each
    run of lines bound for the same stream with one `write` and one `flush`.
    `write_now` (every other `functions.*` record) and `flush` drain the queue
    first under the same lock, so lines reach the stream in the order they
    were produced.

    # Limitation: queued lines live only in this process's memory until the
    # next drain. They are written every `interval` seconds (default 0.5 s),
    # at interpreter exit (atexit) and on SIGTERM (Cloud Run's shutdown
    # signal), so an instance that dies without either (SIGKILL, OOM kill, a
    # hard crash) loses at most the last `interval` of call lines. A runtime
    # that throttles CPU between requests may also delay (not lose) them
    # until the next request or the shutdown. Records of every other logger
    # are still written synchronously, so an error logged just before a
    # crash is not lost.
    """

    def __init__(self, interval: float = 0.5) -> None:
        self.interval = interval
        self._queue: queue.SimpleQueue[tuple[TextIO, str | CallFigures]] = (
            queue.SimpleQueue()
        )
        self._lock = threading.RLock()
        self._thread: threading.Thread | None = None
        self.dropped = 0
        """Lines whose stream refused them (closed, broken pipe)."""

    def put(self, stream: TextIO, line: str | CallFigures) -> None:
        """Queue one line for `stream`: a formatted string, or the figures of a
        call that the writer turns into its line (`call_line`) when it drains
        the queue."""
        self._queue.put((stream, line))
        if self._thread is None:
            self._start()

    def _start(self) -> None:
        # Started on first use; `_after_fork` makes a forked child (threads do
        # not survive a fork) start its own.
        with self._lock:
            if self._thread is not None:
                return
            thread = threading.Thread(target=self._loop, name="log-writer", daemon=True)
            thread.start()
            self._thread = thread

    def _after_fork(self) -> None:
        self._lock = threading.RLock()
        self._thread = None

    def _loop(self) -> None:
        while True:
            time.sleep(self.interval)
            self.flush()

    def write_now(self, stream: TextIO, line: str) -> None:
        """Write `line` now, after every line queued before it."""
        with self._lock:
            self._drain()
            stream.write(line + "\n")
            # Flushed per line: a crash must not swallow the lines before it.
            stream.flush()

    def flush(self) -> int:
        """Write everything queued so far; how many lines were written."""
        with self._lock:
            return self._drain()

    def _drain(self) -> int:
        # Caller holds the lock. Items are taken one by one with get_nowait:
        # a producer never waits, and nothing is held outside the lock (which
        # would let a concurrent drain overtake them).
        get = self._queue.get_nowait
        written = 0
        current: TextIO | None = None
        lines: list[str] = []
        while True:
            try:
                stream, line = get()
            except queue.Empty:
                break
            if stream is not current:
                if lines:
                    written += self._write(current, lines)
                current, lines = stream, []
            lines.append(line if isinstance(line, str) else _render(line))
        if lines:
            written += self._write(current, lines)
        return written

    def _write(self, stream: TextIO | None, lines: list[str]) -> int:
        if stream is None:
            return 0
        try:
            stream.write("\n".join(lines) + "\n")
            stream.flush()
        except (OSError, ValueError):
            # A closed or broken stream (a test's capture that ended, a
            # vanished pipe): nothing else could receive these lines.
            self.dropped += len(lines)
            return 0
        return len(lines)


def _render(figures: CallFigures) -> str:
    try:
        return call_line(*figures)
    except Exception:
        # Should never happen (a call's figures are str, float or None), but
        # a bad value must cost one line, not the batch.
        return _ENCODER.encode(
            {"severity": "ERROR", "message": "unformattable call line"}
        )


_writer = LineWriter()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_writer._after_fork)


def queue_call(figures: CallFigures, level: int) -> None:
    """Queue a call's line for stdout, built by the writer thread.

    Only for `functions.monitoring.calls` lines on the direct route (see
    `direct_route`): honours that logger's level like a stdlib record would,
    but skips the LogRecord and the handler chain.
    """
    if _call_logger.isEnabledFor(level):
        _writer.put(sys.stdout, figures)


def flush() -> int:
    """Write every queued log line now (tests, shutdown); lines written."""
    return _writer.flush()


_call_logger = logging.getLogger(_CALL_LOGGER)


_install_lock = threading.Lock()
_functions_logger = logging.getLogger("functions")
_handlers: list[logging.Handler] = []
"""`[the installed _StdoutHandler]` once `install` ran."""


def direct_route() -> bool:
    """True when a call line may bypass the stdlib machinery: the only place a
    `functions.monitoring.calls` record would reach is the installed handler,
    with no filter on the way. Anything else (a test's or an operator's extra
    handler or filter on any logger in between) gets real LogRecords, so it
    still sees every line.

    Checked at every call rather than cached: nothing tells when a handler is
    added, and the walk costs about a tenth of a microsecond.
    """
    if not _handlers or _functions_logger.propagate:
        return False
    logger: logging.Logger | None = _call_logger
    while logger is not None and logger is not _functions_logger:
        if logger.handlers or logger.filters or not logger.propagate:
            return False
        logger = logger.parent
    return (
        logger is _functions_logger
        and not logger.filters
        and logger.handlers == _handlers
    )


def install(level: int = logging.INFO) -> logging.Handler:
    """Route every `functions.*` logger to JSON lines on stdout; idempotent.

    The `functions` logger gets `level` unless a level was already set on it,
    and stops propagating: the root logger gets a plain-text stderr handler
    as soon as any library calls `logging.error()`, which would print every
    line twice. Handlers added to `functions.*` loggers still see everything.

    Queued lines are flushed at interpreter exit and on SIGTERM (before the
    previous handler runs), the hooks the metrics rollups use too.
    """
    logger = _functions_logger
    with _install_lock:
        for handler in logger.handlers:
            if isinstance(handler, _StdoutHandler):
                return handler
        handler = _StdoutHandler()
        handler.setFormatter(JsonFormatter())
        logger.addHandler(handler)
        _handlers[:] = [handler]
        if logger.level == logging.NOTSET:
            logger.setLevel(level)
        logger.propagate = False
        shutdown.at_shutdown(flush, shutdown.LOGS)
        return handler
