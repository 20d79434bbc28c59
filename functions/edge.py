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
    from functions.monitoring.calls import Call
    from functions.services import get_services

    # The raw request goes to the wrapper, which reads the trace header itself.
    with Call(function, request.data, request=request.raw_request) as call:
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
    except (ValueError, UnicodeDecodeError, RecursionError):
        # RecursionError: nesting deeper than the parser's stack allows.
        return "corpo da requisição não é JSON válido"
    if not isinstance(body, dict) or "data" not in body:
        return 'o corpo deve ser um objeto JSON com o campo "data"'
    if _deeper_than(body, MAX_BODY_DEPTH):
        # The SDK parses the body again further down the stack, where a
        # nesting this parse survived could still overflow (an INTERNAL).
        return f"o corpo tem mais de {MAX_BODY_DEPTH} níveis de aninhamento"
    return None


MAX_BODY_DEPTH = 64
"""Nesting levels a callable body may have; the app's payloads use a handful."""


def _deeper_than(value: Any, limit: int) -> bool:
    """True when lists and objects in `value` nest more than `limit` levels."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children: Any = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


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
                return _in_portuguese(sdk_handler(request))
            error = https_fn.HttpsError(ERROR_CODES["INVALID_ARGUMENT"], problem)
            return _error_response(error, request.headers.get("Origin"))

        return handler

    return decorate


# The SDK answers a few requests before our code runs, in English; the app
# shows error messages to its users, so those get the app's language.
_SDK_MESSAGES = {
    "Unauthenticated": "Sessão inválida ou expirada. Entre novamente.",
    "Bad Request": "Requisição inválida: envie um POST com JSON.",
}


def _in_portuguese(response: Any) -> Any:
    if getattr(response, "status_code", 200) < 400:
        return response
    try:
        body = json.loads(response.get_data())
        error = body["error"]
        message = _SDK_MESSAGES.get(error.get("message"))
    except (ValueError, KeyError, TypeError, AttributeError):
        return response
    if message is not None:
        error["message"] = message
        response.set_data(json.dumps(body))
    return response


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
