"""Measuring one call: duration, outcome, error code, one log line, one rollup.

`Call` is the context manager `functions.edge.run` (and the HTTP and
scheduled triggers) wrap around a service call. While it is open, every line
logged in the request carries its trace and labels. On exit it queues one
JSON line (`event: "call"`), formatted later by the log writer thread, and
records the call into the instance's in-memory rollups: no store round trip
and no JSON encoding happen on this path.

Only names, codes, the user id and the duration are logged: never tokens,
images or payloads.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from enum import Enum
from types import TracebackType
from typing import TYPE_CHECKING, Any

from functions.monitoring.logs import (
    LogContext,
    bind_context,
    bound_context,
    direct_route,
    queue_call,
    reset_context,
    trace_fields,
)
from functions.monitoring.rollups import recorder_for

if TYPE_CHECKING:
    from functions.monitoring.logs import ContextSource
    from functions.services import Services

__all__ = [
    "CLIENT_CODES",
    "TRACE_HEADER",
    "Call",
    "anonymize_current_call",
    "is_server_error",
    "run_scheduled",
]

_log = logging.getLogger("functions.monitoring.calls")

TRACE_HEADER = "X-Cloud-Trace-Context"
_TRACE_ENVIRON = "HTTP_X_CLOUD_TRACE_CONTEXT"
"""The same header as WSGI stores it in the request's environ."""

CLIENT_CODES = frozenset(
    {
        "INVALID_ARGUMENT",
        "UNAUTHENTICATED",
        "PERMISSION_DENIED",
        "NOT_FOUND",
        "RESOURCE_EXHAUSTED",
        "ALREADY_EXISTS",
        "FAILED_PRECONDITION",
        "OUT_OF_RANGE",
        "CANCELLED",
    }
)
"""Codes caused by the request itself; they are errors of the call but not of
the system, so alerts and health count only the other codes."""

_ASSISTANT = "assistenteHttp"
_LINE = sys._getframe().f_lineno  # reported as the call line's source
_SOURCE = (__file__, _LINE, "Call.__exit__")
_LEVEL = {None: logging.INFO, False: logging.WARNING, True: logging.ERROR}


def is_server_error(code: str | None) -> bool:
    """True for an error code that points at the backend rather than the caller."""
    return code is not None and code not in CLIENT_CODES


def _code_of(err: BaseException) -> str:
    # HttpsError carries a str enum member (its name is the protocol code),
    # AppError a plain string.
    code = getattr(err, "code", None)
    if isinstance(code, Enum):
        return code.name
    return code if isinstance(code, str) else "INTERNAL"


_intent_of: Callable[[Any], str | None] | None = None


def _intent(data: Any) -> str | None:
    # The router is imported on first use (importing it pulls in every intent
    # handler), then kept: an import statement per call is measurable.
    global _intent_of
    if _intent_of is None:
        from functions.assistant.router import intent_of

        _intent_of = intent_of
    return _intent_of(data)


class Call:
    """One measured invocation of `function`; use as a context manager, once.

    `data` is read only to find the intent of `assistenteHttp`. The trace
    comes from `trace_header` (`X-Cloud-Trace-Context`) or else from that
    header of `request`, the raw HTTP request.

    The request path only stores figures: the labels and trace of other lines
    logged during the call are derived when such a line is written
    (`log_context`), and the call's own line is built from its figures by the
    log writer thread.
    """

    __slots__ = (
        "_previous",
        "_request",
        "_services",
        "_started",
        "at",
        "code",
        "duration_ms",
        "function",
        "intent",
        "trace_header",
        "user_id",
    )

    def __init__(
        self,
        function: str,
        data: Any = None,
        trace_header: str | None = None,
        request: Any = None,
    ) -> None:
        self.function = function
        self.intent = _intent(data) if function == _ASSISTANT else None
        self.user_id: str | None = None
        self.code: str | None = None
        self.duration_ms = 0.0
        self.at = 0.0
        """Epoch seconds when the call ended."""
        self.trace_header = trace_header
        self._request = request
        self._services: Services | None = None
        self._previous: ContextSource | None = None
        self._started = 0.0

    def __enter__(self) -> Call:
        if self.trace_header is None and self._request is not None:
            # Straight from the WSGI environ: the same value as
            # `request.headers.get(TRACE_HEADER)` for a fraction of the cost.
            self.trace_header = self._request.environ.get(_TRACE_ENVIRON)
        self._request = None  # only the header was needed
        self._previous = bind_context(self)
        self._started = time.perf_counter()
        return self

    def bind(self, services: Services) -> None:
        """Attach the instance's services: rollups go to their store, and the
        trace gets the project id from their settings."""
        self._services = services

    def identify(self, user_id: str | None) -> None:
        """Name the signed-in user of the call (None for an anonymous one)."""
        self.user_id = user_id

    def _project_id(self) -> str | None:
        services = self._services
        return services.settings.project_id if services is not None else None

    def log_context(self) -> LogContext:
        """The trace and labels of a line logged while the call is open."""
        trace, span_id, sampled = trace_fields(self.trace_header, self._project_id())
        labels = {"function": self.function}
        if self.intent is not None:
            labels["intent"] = self.intent
        if self.user_id:
            labels["user_id"] = self.user_id
        return LogContext(trace, span_id, sampled, labels)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.duration_ms = (time.perf_counter() - self._started) * 1000.0
        self.at = time.time()
        if self.code is None and exc is not None:
            self.code = _code_of(exc)
        try:
            self._log()
            if self._services is not None:
                recorder_for(self._services).record(
                    self.function,
                    self.duration_ms,
                    code=self.code,
                    intent=self.intent,
                    user_id=self.user_id,
                )
        finally:
            reset_context(self._previous)
            self._previous = None

    def _server_error(self) -> bool | None:
        # None for a success, False for a client error, True for a server one.
        code = self.code
        return None if code is None else code not in CLIENT_CODES

    def _log(self) -> None:
        server_error = self._server_error()
        level = _LEVEL[server_error]
        if direct_route():
            # The usual case: the figures are queued and the writer thread
            # builds the line (`functions.monitoring.logs.call_line`).
            queue_call(
                (
                    self.at,
                    self.function,
                    self.intent,
                    self.user_id,
                    self.code,
                    server_error,
                    self.duration_ms,
                    self.trace_header,
                    self._project_id(),
                    _SOURCE,
                ),
                level,
            )
            return
        # Someone attached a handler or filter: give them a real LogRecord.
        if not _log.isEnabledFor(level):
            return
        fields = {
            "event": "call",
            "function": self.function,
            "intent": self.intent,
            "outcome": "ok" if self.code is None else "error",
            "code": self.code,
            "userId": self.user_id,
            "durationMs": round(self.duration_ms, 3),
        }
        # Built directly rather than through `_log.log`: the source is known.
        record = _log.makeRecord(
            _log.name,
            level,
            __file__,
            _LINE,
            "function call",
            (),
            None,
            "Call.__exit__",
            fields,
        )
        _log.handle(record)


def anonymize_current_call() -> None:
    """Stop naming a user in the call in progress (its log line and rollup).

    Used after erasing that user's data (LGPD), so the erasing call does not
    write their id back into the metrics it just cleaned.
    """
    source = bound_context()
    if isinstance(source, Call):
        source.identify(None)


def run_scheduled(function: str, job: str) -> dict[str, Any]:
    """Run the scheduled job `job` as the deployed function `function`,
    measured like any call. A failure is logged with its traceback and
    re-raised so the platform records the failed run."""
    from functions.jobs import run_job
    from functions.services import get_services

    with Call(function) as call:
        try:
            services = get_services()
            call.bind(services)
            return run_job(job, services)
        except Exception as err:
            _log.exception(
                "scheduled job failed",
                extra={"job": job, "error_type": type(err).__name__},
            )
            raise
