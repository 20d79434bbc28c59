"""`firestore.rules` on Google's Firestore emulator; `storage.rules` read as text.

The emulator (`google-cloud-cli-firestore-emulator`, Java) starts once for the
module with the repository's rules on a free loopback port. Documents are
seeded through the emulator's admin bypass (`Authorization: Bearer owner`);
clients are emulator-style unsigned ID tokens, which the emulator accepts.

Without the emulator or Java the Firestore tests skip, and fail under
`CI=true`. The Storage emulator of firebase-tools needs Java 21 (this image
has 17), so `storage.rules` is checked statically: every `allow` denies.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.tokens import mint

ROOT = Path(__file__).resolve().parent.parent
PROJECT = "demo-rules"
_START_TIMEOUT_S = 60.0
_HTTP_TIMEOUT_S = 10.0


def _emulator_command(port: int) -> list[str] | None:
    """The command that starts the emulator with our rules, or None."""
    if shutil.which("java") is None:
        return None
    rules = str(ROOT / "firestore.rules")
    roots = [Path("/usr/lib/google-cloud-sdk"), Path("/usr/share/google-cloud-sdk")]
    gcloud = shutil.which("gcloud")
    if gcloud:
        roots.insert(0, Path(os.path.realpath(gcloud)).parent.parent)
    for root in roots:
        script = (
            root / "platform" / "cloud-firestore-emulator" / "cloud_firestore_emulator"
        )
        if script.exists():
            # The platform script directly: gcloud's wrapper adds seconds.
            return [
                str(script),
                "start",
                "--host=127.0.0.1",
                f"--port={port}",
                f"--rules={rules}",
            ]
    return None


def _missing(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(
            f"{reason}: install Java and google-cloud-cli-firestore-emulator "
            "(check `dpkg -l google-cloud-cli-firestore-emulator`)"
        )
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_ready(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + _START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"Firestore emulator exited: {log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2):
                return
        except (OSError, urllib.error.URLError):
            time.sleep(0.3)
    pytest.fail(f"Firestore emulator not ready in {_START_TIMEOUT_S}s")


def _stop(process: subprocess.Popen[bytes]) -> None:
    # The script starts java as a child: end the whole group it leads.
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=10)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The base URL of a running emulator loaded with `firestore.rules`."""
    port = _free_port()
    command = _emulator_command(port)
    if command is None:
        _missing("Firestore emulator or Java not installed")
    assert command is not None
    log = tmp_path_factory.mktemp("firestore-emulator") / "emulator.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        _wait_ready(port, process, log)
        yield f"http://127.0.0.1:{port}"
    finally:
        _stop(process)


def _docs_url(base: str, path: str) -> str:
    return f"{base}/v1/projects/{PROJECT}/databases/(default)/documents/{path}"


def _request(
    method: str, url: str, token: str | None, body: Any = None
) -> tuple[int, Any]:
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=_HTTP_TIMEOUT_S) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"{}")


def _fields(data: dict[str, str]) -> dict[str, Any]:
    return {"fields": {k: {"stringValue": v} for k, v in data.items()}}


SEEDED = (
    "users/alice",
    "users/alice/expenses/e1",
    "users/alice/orders/o1",
    "users/alice/recipes/r1",
    "users/bob",
    "users/bob/expenses/e2",
    "metrics/202612031200-assistenteHttp",
    "backups/daily-2026-12-03",
    "alerts/error_rate",
    "erasures/abc",
)


@pytest.fixture(scope="module")
def seeded(emulator: str) -> str:
    for path in SEEDED:
        status, body = _request(
            "PATCH", _docs_url(emulator, path), "owner", _fields({"v": path})
        )
        assert status == 200, body
    return emulator


def _get(base: str, path: str, token: str | None) -> int:
    return _request("GET", _docs_url(base, path), token)[0]


ALICE_OWN = [p for p in SEEDED if p == "users/alice" or p.startswith("users/alice/")]


@pytest.mark.parametrize("path", ALICE_OWN)
def test_user_reads_own_profile_and_records(seeded: str, path: str) -> None:
    assert _get(seeded, path, mint("alice", project=PROJECT)) == 200


@pytest.mark.parametrize("path", [p for p in SEEDED if p not in ALICE_OWN])
def test_user_cannot_read_anything_else(seeded: str, path: str) -> None:
    assert _get(seeded, path, mint("alice", project=PROJECT)) == 403


@pytest.mark.parametrize("path", SEEDED)
def test_anonymous_reads_nothing(seeded: str, path: str) -> None:
    assert _get(seeded, path, None) == 403


@pytest.mark.parametrize("path", SEEDED)
def test_admin_claim_grants_no_client_access_to_others(seeded: str, path: str) -> None:
    # Admins work through the functions; the rules know no admin claim.
    token = mint("root", admin=True, project=PROJECT)
    assert _get(seeded, path, token) == 403


@pytest.mark.parametrize(
    "path", [*ALICE_OWN, "users/alice/expenses/new", "users/alice/other/x"]
)
def test_user_cannot_write_even_own_documents(seeded: str, path: str) -> None:
    token = mint("alice", project=PROJECT)
    url = _docs_url(seeded, path)
    assert _request("PATCH", url, token, _fields({"v": "changed"}))[0] == 403
    assert _request("DELETE", url, token)[0] == 403


def test_listing_is_limited_to_own_collections(seeded: str) -> None:
    token = mint("alice", project=PROJECT)
    status, body = _request("GET", _docs_url(seeded, "users/alice/expenses"), token)
    assert status == 200 and len(body["documents"]) == 1
    assert _request("GET", _docs_url(seeded, "users/bob/expenses"), token)[0] == 403
    for collection in ("users", "metrics", "backups", "alerts", "erasures"):
        assert _request("GET", _docs_url(seeded, collection), token)[0] == 403


def test_seeded_data_is_unchanged_by_the_denied_writes(seeded: str) -> None:
    status, body = _request("GET", _docs_url(seeded, "users/alice"), "owner")
    assert status == 200 and body["fields"]["v"]["stringValue"] == "users/alice"


def test_storage_rules_deny_every_client_access() -> None:
    text = (ROOT / "storage.rules").read_text(encoding="utf-8")
    code = re.sub(r"//[^\n]*", "", text)
    allows = re.findall(r"allow\s+([^:;]+):\s*([^;]+);", code)
    assert allows, "storage.rules has no allow statement"
    for _operations, condition in allows:
        assert condition.strip() == "if false", condition
    assert "service firebase.storage" in code
    assert re.search(r"match\s+/\{allPaths=\*\*\}", code)
