"""Measuring one call: duration, outcome, error code, one log line, one rollup.

`Call` is the context manager `functions.edge.run` (and the HTTP and
scheduled triggers) wrap around a service call. While it is open, every line
logged in the request carries its trace and labels. On exit it writes one
JSON line (`event: "call"`) and records the call into the instance's
in-memory rollups: no store round trip happens on this path.

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
    direct_route,
    log_call,
    reset_context,
)
from functions.monitoring.logs import trace_fields as _trace_fields
from functions.monitoring.rollups import recorder_for

if TYPE_CHECKING:
    from contextvars import Token

    from functions.services import Services

__all__ = ["CLIENT_CODES", "Call", "is_server_error", "run_scheduled"]

_log = logging.getLogger("functions.monitoring.calls")

TRACE_HEADER = "X-Cloud-Trace-Context"

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


_SOURCE = {"file": __file__, "line": _LINE, "function": "Call.__exit__"}
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
    """One measured invocation of `function`; use as a context manager.

    `data` is read only to find the intent of `assistenteHttp`; `trace_header`
    is the request's `X-Cloud-Trace-Context`.
    """

    __slots__ = (
        "_context",
        "_services",
        "_started",
        "_token",
        "_trace_header",
        "code",
        "duration_ms",
        "function",
        "intent",
        "user_id",
    )

    def __init__(
        self,
        function: str,
        data: Any = None,
        trace_header: str | None = None,
    ) -> None:
        self.function = function
        self.intent = _intent(data) if function == _ASSISTANT else None
        self.user_id: str | None = None
        self.code: str | None = None
        self.duration_ms = 0.0
        self._trace_header = trace_header
        self._services: Services | None = None
        labels = {"function": function}
        if self.intent is not None:
            labels["intent"] = self.intent
        self._context = LogContext(labels=labels)
        self._token: Token[LogContext | None] | None = None
        self._started = 0.0

    def __enter__(self) -> Call:
        self._token = bind_context(self._context)
        self._started = time.perf_counter()
        return self

    def bind(self, services: Services) -> None:
        """Attach the instance's services: rollups go to their store, and the
        trace gets the project id from their settings."""
        self._services = services
        if self._trace_header:
            trace, span, sampled = _trace_fields(
                self._trace_header, services.settings.project_id
            )
            if trace is not None:
                current = self._context
                self._rebind(LogContext(trace, span, sampled, current.labels))

    def identify(self, user_id: str | None) -> None:
        """Name the signed-in user of the call (None for an anonymous one)."""
        self.user_id = user_id
        if user_id:
            current = self._context
            labels = {**current.labels, "user_id": user_id}
            self._rebind(
                LogContext(current.trace, current.span_id, current.sampled, labels)
            )

    def _rebind(self, context: LogContext) -> None:
        # Set in the context `__enter__` saved a token for: its reset restores
        # what was bound before the call, whatever was set since.
        self._context = context
        bind_context(context)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.duration_ms = (time.perf_counter() - self._started) * 1000.0
        if self.code is None and exc is not None:
            self.code = _code_of(exc)
        try:
            self._log_line()
            if self._services is not None:
                recorder_for(self._services).record(
                    self.function,
                    self.duration_ms,
                    code=self.code,
                    intent=self.intent,
                    user_id=self.user_id,
                )
        finally:
            if self._token is not None:
                reset_context(self._token)
                self._token = None

    def _log_line(self) -> None:
        code = self.code
        fields = {
            "event": "call",
            "function": self.function,
            "intent": self.intent,
            "outcome": "ok" if code is None else "error",
            "code": code,
            "durationMs": round(self.duration_ms, 3),
            "userId": self.user_id,
        }
        server_error = None if code is None else code not in CLIENT_CODES
        if direct_route():
            # The usual case: a plain dict, queued for the log writer thread.
            log_call(self._context, server_error, fields, _SOURCE, time.time())
            return
        # Someone attached a handler or filter: give them a real LogRecord.
        level = (
            logging.INFO
            if server_error is None
            else logging.ERROR
            if server_error
            else logging.WARNING
        )
        if not _log.isEnabledFor(level):
            return
        # Built directly rather than through `_log.log`: finding the caller's
        # frame is a large share of a log call, and the source is known.
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
