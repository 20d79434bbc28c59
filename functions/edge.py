"""The callable edge: token to caller, domain errors to `HttpsError`, one place.

Triggers in `main.py` hand their request and a service function to `run`; what
the service raises is mapped here so every function answers the app alike.
"""

from __future__ import annotations

import functools
import json
import logging
import time
from collections.abc import Callable
from typing import Any

from firebase_functions import https_fn

from functions.auth import Caller, caller_from_token
from functions.errors import AppError

__all__ = ["ERROR_CODES", "caller_of", "on_call", "run", "to_https_error"]

_log = logging.getLogger("functions.edge")

ERROR_CODES: dict[str, https_fn.FunctionsErrorCode] = {
    "INVALID_ARGUMENT": https_fn.FunctionsErrorCode.INVALID_ARGUMENT,
    "UNAUTHENTICATED": https_fn.FunctionsErrorCode.UNAUTHENTICATED,
    "PERMISSION_DENIED": https_fn.FunctionsErrorCode.PERMISSION_DENIED,
    "NOT_FOUND": https_fn.FunctionsErrorCode.NOT_FOUND,
    "RESOURCE_EXHAUSTED": https_fn.FunctionsErrorCode.RESOURCE_EXHAUSTED,
    "UNAVAILABLE": https_fn.FunctionsErrorCode.UNAVAILABLE,
    "INTERNAL": https_fn.FunctionsErrorCode.INTERNAL,
}

_GENERIC = "Erro interno. Tente novamente em instantes."
_UNAVAILABLE = "Serviço temporariamente indisponível. Tente novamente."


def caller_of(request: https_fn.CallableRequest[Any]) -> Caller:
    """The caller of a callable request (anonymous when it has no token)."""
    token = request.auth.token if request.auth is not None else None
    return caller_from_token(token, time.time())


def to_https_error(err: BaseException) -> https_fn.HttpsError:
    """The protocol error for any exception; unknown ones become INTERNAL."""
    from functions.store.base import StoreUnavailable

    if isinstance(err, https_fn.HttpsError):
        return err
    if isinstance(err, AppError):
        return https_fn.HttpsError(ERROR_CODES[err.code], err.message, err.details)
    if isinstance(err, StoreUnavailable):
        return https_fn.HttpsError(ERROR_CODES["UNAVAILABLE"], _UNAVAILABLE)
    return https_fn.HttpsError(ERROR_CODES["INTERNAL"], _GENERIC)


def error_code(err: BaseException) -> str:
    """The protocol code name an exception maps to."""
    return to_https_error(err).code.name


def run(
    function: str,
    request: https_fn.CallableRequest[Any],
    service: Callable[[Any, Caller, Any], Any],
) -> Any:
    """Call `service(services, caller, data)` for the function named `function`.

    Whatever the service raises leaves as the matching `HttpsError`. Every call
    is measured (`functions.monitoring.calls.Call`): one JSON log line and an
    in-memory rollup, no store round trip.
    """
    from functions.monitoring.calls import TRACE_HEADER, Call
    from functions.services import get_services

    raw = request.raw_request
    trace_header = raw.headers.get(TRACE_HEADER) if raw is not None else None
    with Call(function, request.data, trace_header) as call:
        try:
            services = get_services()
            call.bind(services)
            caller = caller_of(request)
            call.identify(caller.uid)
            return service(services, caller, request.data)
        except Exception as err:
            mapped = to_https_error(err)
            if mapped.code.name == "INTERNAL" and not isinstance(err, AppError):
                _log.exception(
                    "unexpected error", extra={"error_type": type(err).__name__}
                )
            raise mapped from err


def _body_problem(request: Any) -> str | None:
    """Why a POST body is not a callable request body, or None when it is."""
    if request.method != "POST":
        return None
    try:
        body = json.loads(request.get_data(cache=True) or b"null")
    except (ValueError, UnicodeDecodeError):
        return "corpo da requisição não é JSON válido"
    if not isinstance(body, dict) or "data" not in body:
        return 'o corpo deve ser um objeto JSON com o campo "data"'
    return None


def on_call(**options: Any) -> Callable[[Callable[..., Any]], Any]:
    """`https_fn.on_call` that answers a malformed body with INVALID_ARGUMENT.

    The SDK turns a body that is not JSON, or JSON that is not an object, into
    an INTERNAL error (HTTP 500); the app must get a 400 it can act on.
    """

    def decorate(func: Callable[..., Any]) -> Any:
        sdk_handler = https_fn.on_call(**options)(func)

        @functools.wraps(sdk_handler)
        def handler(request: Any) -> Any:
            problem = _body_problem(request)
            if problem is None:
                return sdk_handler(request)
            error = https_fn.HttpsError(ERROR_CODES["INVALID_ARGUMENT"], problem)
            return _error_response(error, request.headers.get("Origin"))

        return handler

    return decorate


def _error_response(error: https_fn.HttpsError, origin: str | None) -> Any:
    from flask import Response

    response = Response(
        json.dumps({"error": error._as_dict()}),
        status=error._http_error_code.status,
        mimetype="application/json",
    )
    # The SDK's own replies allow any origin; an error must stay readable too.
    if origin:
        response.headers["Access-Control-Allow-Origin"] = "*"
    return response
