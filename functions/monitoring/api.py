"""The monitoring functions the app and the dashboard call.

Callables (through `functions.edge.run`): `get_system_metrics` and
`cleanup_metrics` for admins, `get_user_metrics` for a user's own figures (an
admin may ask for anyone's). `health_response` serves the plain HTTP
`checkSystemHealth`.
"""

from __future__ import annotations

import json
import logging
import time
from datetime import UTC, datetime
from typing import Any

from firebase_functions import https_fn

from functions.auth import Caller, caller_from_token
from functions.errors import InvalidArgument
from functions.monitoring.alerts import open_alerts, recent_alerts
from functions.monitoring.calls import Call
from functions.monitoring.health import check_health
from functions.monitoring.retention import cleanup_old_metrics
from functions.monitoring.rollups import recorder_for
from functions.monitoring.window import WINDOWS, bounds, read_docs, read_window
from functions.services import Services
from functions.validation import require_mapping

__all__ = [
    "cleanup_metrics",
    "get_system_metrics",
    "get_user_metrics",
    "health_response",
]

_log = logging.getLogger("functions.monitoring.api")

_STEP_MINUTES = {"15m": 1, "1h": 1, "24h": 15, "7d": 60}
_WINDOW_HELP = ", ".join(WINDOWS)


def _window_of(body: dict[str, Any], default: str) -> str:
    window = body.get("window") or default
    # A list or dict sent as the window is unhashable: check the type first.
    if not isinstance(window, str) or window not in WINDOWS:
        raise InvalidArgument(
            f"Janela de tempo inválida. Use uma destas: {_WINDOW_HELP}.",
            {"window": f"esperado um de {_WINDOW_HELP}"},
        )
    return str(window)


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    return value


def _range(services: Services, window: str) -> tuple[datetime, datetime]:
    return bounds(services.clock(), WINDOWS[window])


def get_system_metrics(services: Services, caller: Caller, data: Any) -> dict[str, Any]:
    """Totals, rates, latency percentiles, active users, cache hit rate,
    per-function and per-intent breakdowns and a chart series for a window
    (`15m`, `1h` (default), `24h`, `7d`); admins only.

    `alerts` lists the alerts open now; `recentAlerts` those resolved within
    the requested window (`resolvedAt >= since`), most recent first.
    """
    caller.require_admin()
    window_name = _window_of(require_mapping(data, "data"), "1h")

    # This instance's unflushed figures first, so the admin sees them now.
    recorder_for(services).flush()
    since, until = _range(services, window_name)
    window = read_window(services.store, since, until)

    return _jsonable(
        {
            "window": window_name,
            "since": since,
            "until": until,
            "totals": window.total.summary(),
            "cache": {
                "hits": window.cache_hits,
                "misses": window.cache_misses,
                "hitRate": window.cache_hit_rate,
                "l2Errors": window.cache_l2_errors,
            },
            "functions": {
                name: rollup.summary()
                for name, rollup in sorted(window.functions.items())
            },
            "intents": {
                name: rollup.summary()
                for name, rollup in sorted(window.intents.items())
            },
            "series": {
                "stepMinutes": _STEP_MINUTES[window_name],
                "points": window.series(_STEP_MINUTES[window_name]),
            },
            "alerts": open_alerts(services),
            "recentAlerts": recent_alerts(services, since),
        }
    )


def _user_block(calls: int, errors: int, duration_sum: float) -> dict[str, Any]:
    return {
        "calls": calls,
        "errors": errors,
        "errorRate": round(errors / calls, 4) if calls else 0.0,
        "avgMs": round(duration_sum / calls, 2) if calls else None,
    }


def get_user_metrics(services: Services, caller: Caller, data: Any) -> dict[str, Any]:
    """One user's calls by function and by intent, errors and average latency
    over a window (`24h` by default). `uid` defaults to the caller; another
    user's figures are for admins only."""
    body = require_mapping(data, "data")
    uid = body.get("uid") or caller.require_user()
    if not isinstance(uid, str):
        raise InvalidArgument(
            "O campo uid deve ser um texto.", {"uid": "esperado um texto"}
        )
    caller.require_self_or_admin(uid)
    window_name = _window_of(body, "24h")

    if uid == caller.uid:
        recorder_for(services).flush()
    since, until = _range(services, window_name)
    totals = [0, 0, 0.0]
    functions: dict[str, list[float]] = {}
    intents: dict[str, list[float]] = {}
    for doc in read_docs(services.store, since, until):
        user = (doc.get("users") or {}).get(uid)
        if doc.get("kind") != "function" or not isinstance(user, dict):
            continue
        cell = [user.get("count") or 0, user.get("errors") or 0, 0.0]
        cell[2] = float(user.get("durationMsSum") or 0.0)
        for target in (
            totals,
            functions.setdefault(str(doc.get("function")), [0, 0, 0.0]),
        ):
            for i in range(3):
                target[i] += cell[i]
        for name, figures in (user.get("intents") or {}).items():
            target = intents.setdefault(name, [0, 0, 0.0])
            target[0] += figures.get("count") or 0
            target[1] += figures.get("errors") or 0
            target[2] += float(figures.get("durationMsSum") or 0.0)

    def block(cell: list[float]) -> dict[str, Any]:
        return _user_block(int(cell[0]), int(cell[1]), cell[2])

    return _jsonable(
        {
            "uid": uid,
            "window": window_name,
            "since": since,
            "until": until,
            "totals": block(totals),
            "functions": {name: block(c) for name, c in sorted(functions.items())},
            "intents": {name: block(c) for name, c in sorted(intents.items())},
        }
    )


def cleanup_metrics(services: Services, caller: Caller, data: Any) -> dict[str, Any]:
    """Run the metrics retention now; admins only."""
    caller.require_admin()
    return cleanup_old_metrics(services)


# -- checkSystemHealth ------------------------------------------------------------


def _admin_uid(request: https_fn.Request) -> str | None:
    """The uid of an admin caller, from a verified Bearer token; else None."""
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        return None
    try:
        from firebase_admin import auth

        claims = auth.verify_id_token(header.removeprefix("Bearer ").strip())
        caller = caller_from_token(claims, time.time())
    except Exception:
        # A bad token only means no details: health must answer anyone.
        return None
    return caller.uid if caller.is_admin else None


def _json_response(body: dict[str, Any], status: int) -> https_fn.Response:
    return https_fn.Response(
        json.dumps(body, ensure_ascii=False),
        status=status,
        mimetype="application/json",
        headers={"Cache-Control": "no-store"},
    )


def health_response(request: https_fn.Request) -> https_fn.Response:
    """The `checkSystemHealth` reply: `{"status", "timestamp"}` to anyone,
    plus `components` for an admin; HTTP 503 when unhealthy, else 200."""
    if request.method not in ("GET", "HEAD"):
        response = _json_response({"error": "use GET"}, 405)
        response.headers["Allow"] = "GET, HEAD"
        return response
    from functions.services import get_services

    with Call("checkSystemHealth", request=request) as call:
        try:
            services = get_services()
        except Exception:
            _log.exception("services unavailable", extra={"event": "health"})
            now = datetime.now(UTC).isoformat()
            return _json_response({"status": "unhealthy", "timestamp": now}, 503)
        call.bind(services)
        admin = _admin_uid(request)
        call.identify(admin)
        report = check_health(services)

        body: dict[str, Any] = {
            "status": report.status,
            "timestamp": services.clock().isoformat(),
        }
        if admin is not None:
            body["components"] = report.components
        return _json_response(body, report.http_status)
