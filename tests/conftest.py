"""Shared fixtures: a clean environment, fresh services, and the callable client."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from tests.tokens import PROJECT, mint

_BASE_ENV = {
    "GCLOUD_PROJECT": PROJECT,
    "GOOGLE_CLOUD_PROJECT": PROJECT,
    # firebase-admin accepts the emulator's unsigned tokens only in this mode;
    # no request reaches this address during unit tests.
    "FIREBASE_AUTH_EMULATOR_HOST": "127.0.0.1:9099",
}


@pytest.fixture(autouse=True)
def _restore_environment(tmp_path: Path) -> Iterator[None]:
    saved = dict(os.environ)
    os.environ.update(_BASE_ENV)
    os.environ["DATA_DIR"] = str(tmp_path / "data")
    # No Auth emulator runs during unit tests; the erasure of the Auth account
    # is tested with a fake where it matters.
    os.environ["LGPD_DELETE_AUTH_USER"] = "false"
    os.environ.pop("CACHE_REDIS_URL", None)
    os.environ.pop("STORE_BACKEND", None)
    yield
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture()
def services(tmp_path: Path) -> Iterator[Any]:
    """Services over a fresh SQLite store and an L1-only cache, installed."""
    from functions.config import load_settings
    from functions.services import build_services, use_services

    built = build_services(load_settings())
    use_services(built)
    yield built
    use_services(None)
    built.cache.close()


class CallableClient:
    """Calls the functions of `main.py` the way the Firebase client SDKs do."""

    def __init__(self) -> None:
        import main

        self._main = main
        self._app = Flask("tests")

    def raw(
        self,
        function: str,
        body: Any,
        token: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, Any]]:
        sent = {"Content-Type": "application/json", **(headers or {})}
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        text = body if isinstance(body, str) else json.dumps(body)
        with self._app.test_request_context(
            "/", method="POST", data=text, headers=sent
        ) as ctx:
            response = getattr(self._main, function)(ctx.request)
        return response.status_code, json.loads(response.get_data(as_text=True))

    def call(
        self, function: str, data: Any = None, token: str | None = None
    ) -> tuple[int, dict[str, Any]]:
        """(HTTP status, body) of a callable call with `data`."""
        return self.raw(function, {"data": data}, token)

    def ok(self, function: str, data: Any = None, token: str | None = None) -> Any:
        """The `result` of a call that must succeed."""
        status, body = self.call(function, data, token)
        assert status == 200, body
        return body["result"]

    def error(
        self, function: str, data: Any = None, token: str | None = None
    ) -> dict[str, Any]:
        """The `error` body of a call that must fail."""
        status, body = self.call(function, data, token)
        assert status != 200 and "error" in body, body
        return dict(body["error"])

    def intent(
        self, name: str, payload: Any = None, token: str | None = None
    ) -> tuple[int, dict[str, Any]]:
        return self.call("assistenteHttp", {"intent": name, "payload": payload}, token)


@pytest.fixture()
def client(services: Any) -> CallableClient:
    return CallableClient()


@pytest.fixture()
def alice() -> str:
    return mint("alice")


@pytest.fixture()
def bob() -> str:
    return mint("bob")


@pytest.fixture()
def admin() -> str:
    return mint("root", admin=True)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Under CI every test must run: a skip there means a tool was not installed."""
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = len(reporter.stats.get("skipped", [])) if reporter else 0
    if os.environ.get("CI") == "true" and skipped and exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        if reporter:
            reporter.write_line(
                f"CI: {skipped} test(s) skipped; install what they need"
            )
