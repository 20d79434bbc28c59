"""checkSystemHealth answers the dashboard, a page on another origin (Hosting).

The page sends `Authorization: Bearer ...` with its GET, so the browser first
asks with a preflight OPTIONS; both must carry the CORS headers.
"""

from __future__ import annotations

from typing import Any

from flask import Flask

from tests.tokens import mint

PAGE = "http://127.0.0.1:5002"


def _health(method: str, headers: dict[str, str]) -> Any:
    import main

    app = Flask("dashboard-cors-tests")
    with app.test_request_context("/", method=method, headers=headers) as ctx:
        return main.checkSystemHealth(ctx.request)


def test_the_preflight_allows_a_get_with_a_bearer_token(services: Any) -> None:
    response = _health(
        "OPTIONS",
        {
            "Origin": PAGE,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization",
        },
    )

    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] in ("*", PAGE)
    assert "GET" in response.headers["Access-Control-Allow-Methods"]
    assert "authorization" in response.headers["Access-Control-Allow-Headers"].lower()


def test_the_admin_report_reaches_another_origin(services: Any) -> None:
    token = mint("admin-uid", admin=True)
    response = _health("GET", {"Origin": PAGE, "Authorization": f"Bearer {token}"})

    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] in ("*", PAGE)
    assert set(response.get_json()["components"]) >= {"store", "cache", "backup"}


def test_other_methods_are_still_refused(services: Any) -> None:
    response = _health("POST", {"Origin": PAGE})

    assert response.status_code == 405
