"""End to end through the real Firebase emulators (Auth and Functions).

One `firebase emulators:start --only functions,auth` runs for the module with
its own DATA_DIR; users sign up through the Auth emulator's REST API and every
call goes over HTTP with the callable protocol, as the app's SDK sends it. The
command line is run as a subprocess, as a developer would.

Without the Firebase CLI the module is skipped, except under CI=true where that
is a failure. Neither emulator needs Java: a `java` on PATH that records any
call proves it.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from functions import demo
from functions.cli import (
    AuthEmulator,
    CallFailed,
    Functions,
    Local,
    Session,
    local_setup,
    post_json,
)
from functions.parsing import parse_money
from tests.tokens import mint

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parent.parent
FIREBASE = ROOT / "tools" / "node_modules" / ".bin" / "firebase"
PASSWORD = "senha-e2e-123"
START_TIMEOUT_S = 120
STOP_TIMEOUT_S = 30
# The emulators bind these; another run must have released them first.
_PORTS = ("functions", "auth", "hub", "logging")


@dataclass
class Emulators:
    local: Local
    functions: Functions
    accounts: AuthEmulator
    env: dict[str, str]
    java_calls: Path
    log: Path

    def call(self, function: str, data: Any = None, token: str | None = None) -> Any:
        return self.functions.call(function, data, token)

    def intent(self, name: str, payload: Any, user: Session) -> Any:
        return self.call(
            "assistenteHttp", {"intent": name, "payload": payload}, user.id_token
        )

    def failure(
        self, function: str, data: Any = None, token: str | None = None
    ) -> CallFailed:
        with pytest.raises(CallFailed) as caught:
            self.call(function, data, token)
        return caught.value

    def cli(self, *args: str) -> dict[str, Any]:
        """The JSON a `python -m functions` command prints; it must succeed."""
        done = subprocess.run(
            [sys.executable, "-m", "functions", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        result: dict[str, Any] = json.loads(done.stdout)
        return result


def _missing_tool(reason: str) -> None:
    # On CI a missing tool means the setup is broken, not that the test may go.
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: end-to-end tests must run)")
    pytest.skip(reason)


def _port_busy(host: str, port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex((host, port)) == 0


def _wait_for_free_ports(local: Local, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while True:
        busy = [
            n
            for n in _PORTS
            if n in local.ports and _port_busy(local.host, local.ports[n])
        ]
        if not busy:
            return
        if time.monotonic() > deadline:
            ports = ", ".join(f"{n} {local.ports[n]}" for n in busy)
            pytest.fail(f"emulator ports still in use after {seconds:g} s: {ports}")
        time.sleep(1)


def _tail(path: Path, size: int = 4000) -> str:
    return path.read_text(errors="replace")[-size:] if path.exists() else ""


def _stop(process: subprocess.Popen[bytes]) -> None:
    """INT to the emulators' process group (a clean shutdown), KILL if it hangs.

    The Python workers live in the same group; the final KILL reaps any the
    CLI left behind.
    """
    for sig, wait_s in ((signal.SIGINT, STOP_TIMEOUT_S), (signal.SIGKILL, 10)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break
        try:
            process.wait(wait_s)
        except subprocess.TimeoutExpired:
            continue
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        break


def _wait_until_ready(
    emulators: Emulators, process: subprocess.Popen[bytes], seconds: float
) -> None:
    health_url = f"{emulators.local.functions_url}/assistenteHttp"
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the emulators exited early:\n{_tail(emulators.log)}")
        if "All emulators ready" in _tail(emulators.log, 100_000):
            try:
                status, _ = post_json(
                    health_url, {"data": {"intent": "healthCheck"}}, timeout=5
                )
            except Exception:
                status = 0
            if status == 200:
                return
        time.sleep(0.5)
    pytest.fail(
        f"the emulators were not ready within {seconds} s:\n{_tail(emulators.log)}"
    )


@pytest.fixture(scope="module")
def emulators(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulators]:
    """The running Auth and Functions emulators over a fresh SQLite store."""
    if not FIREBASE.exists():
        _missing_tool(
            f"Firebase CLI not installed at {FIREBASE} (run scripts/setup.sh)"
        )
    local = local_setup(ROOT)
    _wait_for_free_ports(local, 60)

    tmp = tmp_path_factory.mktemp("emulators")
    shim_dir = tmp / "bin"
    shim_dir.mkdir()
    java_calls = tmp / "java-calls"
    java = shim_dir / "java"
    java.write_text(f'#!/bin/sh\necho "java $*" >> "{java_calls}"\nexit 1\n')
    java.chmod(0o755)

    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"CACHE_REDIS_URL", "FIRESTORE_EMULATOR_HOST", "STORE_BACKEND"}
    }
    env.update(
        DATA_DIR=str(tmp / "data"),
        PATH=f"{shim_dir}{os.pathsep}{env.get('PATH', '')}",
        # For the command line run by the tests: the same Auth emulator.
        FIREBASE_AUTH_EMULATOR_HOST=local.auth_host,
        PYTHONUNBUFFERED="1",
    )
    log = tmp / "emulators.log"
    state = Emulators(
        local=local,
        functions=Functions(local.functions_url),
        accounts=AuthEmulator(local.auth_host),
        env=env,
        java_calls=java_calls,
        log=log,
    )
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                str(FIREBASE),
                "emulators:start",
                "--only",
                "functions,auth",
                "--project",
                local.project,
            ],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        _wait_until_ready(state, process, START_TIMEOUT_S)
        yield state
    finally:
        _stop(process)


def _claims(session: Session) -> dict[str, Any]:
    segment = session.id_token.split(".")[1]
    claims: dict[str, Any] = json.loads(base64.urlsafe_b64decode(segment + "=="))
    return claims


def _new_user(emulators: Emulators, email: str) -> Session:
    user = emulators.accounts.sign_in(email, PASSWORD)
    reply = emulators.intent("setupDatabase", {"displayName": "Ana Doceira"}, user)
    assert reply["success"] is True
    assert reply["userProfile"]["uid"] == user.uid
    assert reply["userProfile"]["email"] == email
    return user


def test_expenses_round_trip_with_brazilian_money_and_dates(
    emulators: Emulators,
) -> None:
    user = _new_user(emulators, "ana.e2e@exemplo.com.br")
    first = emulators.intent(
        "registrarDespesa",
        {
            "data": "28/11/2026",
            "tipo": "Ingredientes",
            "valor": "R$ 1.234,56",
            "fornecedor": "Atacadão",
            "descricao": "Leite condensado e chocolate em pó",
        },
        user,
    )
    assert first["success"] is True and first["expenseId"]
    emulators.intent(
        "registrarDespesa",
        {
            "data": "2026-11-30",
            "tipo": "embalagens",
            "valor": 45.9,
            "fornecedor": "Casa do Confeiteiro",
        },
        user,
    )

    listed = emulators.intent("listarDespesas", {}, user)["expenses"]
    assert [(e["data"], e["valor"], e["tipo"]) for e in listed] == [
        ("2026-11-30", 45.9, "embalagens"),
        ("2026-11-28", 1234.56, "ingredientes"),
    ]
    assert listed[1]["id"] == first["expenseId"]
    assert listed[1]["fornecedor"] == "Atacadão"
    assert listed[1]["descricao"] == "Leite condensado e chocolate em pó"

    filtered = emulators.intent(
        "listarDespesas",
        {"tipo": "Ingredientes", "de": "01/11/2026", "ate": "2026-11-29"},
        user,
    )["expenses"]
    assert [e["id"] for e in filtered] == [first["expenseId"]]

    bad = emulators.failure(
        "assistenteHttp",
        {
            "intent": "registrarDespesa",
            "payload": {
                "data": "31/02/2026",
                "tipo": "gás",
                "valor": "abc",
                "fornecedor": "Ultragaz",
            },
        },
        user.id_token,
    )
    assert (bad.status, bad.code) == (400, "INVALID_ARGUMENT")
    assert set(bad.error["details"]["fields"]) == {"data", "valor"}


def test_missing_or_broken_tokens_are_unauthenticated(emulators: Emulators) -> None:
    user = emulators.accounts.sign_in("bia.e2e@exemplo.com.br", PASSWORD)
    listing = {"intent": "listarDespesas", "payload": {}}
    header, payload, signature = user.id_token.split(".")
    flipped = payload[:20] + ("A" if payload[20] != "A" else "B") + payload[21:]
    broken = {
        "no token": None,
        "tampered payload": f"{header}.{flipped}.{signature}",
        "truncated": user.id_token[: len(user.id_token) // 2],
        "other project": mint(user.uid, project="outro-projeto"),
        "expired": mint(user.uid, expires_in=-60),
    }
    for case, token in broken.items():
        failure = emulators.failure("assistenteHttp", listing, token)
        assert (failure.status, failure.code) == (401, "UNAUTHENTICATED"), case

    # The same call with the real token works, so the rejections are the tokens'.
    assert emulators.call("assistenteHttp", listing, user.id_token)["success"] is True
    health = emulators.call("assistenteHttp", {"intent": "healthCheck"})
    assert health["success"] is True


def test_admin_granted_through_the_cli_changes_a_users_plan(
    emulators: Emulators,
) -> None:
    user = _new_user(emulators, "carla.e2e@exemplo.com.br")
    change = {"uid": user.uid, "plan": "pro"}
    denied = emulators.failure("updateUserPlan", change, user.id_token)
    assert (denied.status, denied.code) == (403, "PERMISSION_DENIED")

    admin_email = "admin.e2e@exemplo.com.br"
    granted = emulators.cli(
        "grant-admin", admin_email, "--create", "--password", PASSWORD
    )
    assert granted["claims"] == {"admin": True}
    assert granted["authEmulator"] == emulators.local.auth_host
    admin = emulators.accounts.sign_in(admin_email, PASSWORD)
    assert admin.uid == granted["uid"]
    assert _claims(admin)["admin"] is True

    reply = emulators.call("updateUserPlan", change, admin.id_token)
    assert reply["plan"] == "pro" and reply["limits"]["expenses"] == 1000
    stats = emulators.call("getUserStats", None, user.id_token)["stats"]
    assert stats["plan"] == "pro"


def _count(emulators: Emulators, user: Session, intent: str, key: str) -> int:
    payload: dict[str, Any] = {} if intent == "listarReceitas" else {"limit": 100}
    items = emulators.intent(intent, payload, user)[key]
    return len(items)


def test_load_demo_fills_the_store_through_the_callables(emulators: Emulators) -> None:
    email = "demo.e2e@exemplo.com.br"
    args = ["load-demo", "--scale", "0.1", "--seed", "7", "--email", email]
    args += ["--url", emulators.local.functions_url]
    summary = emulators.cli(*args)
    expected = {"expenses": 15, "orders": 20, "recipes": 2}
    assert summary["sent"] == expected
    assert summary["stored"] == expected
    assert summary["plan"] == "business"

    user = emulators.accounts.sign_in(email, summary["password"])
    assert user.uid == summary["uid"]
    stats = emulators.call("getUserStats", None, user.id_token)["stats"]
    assert stats["counts"] == expected
    assert stats["plan"] == "business"

    # The stored values are the sent ones, read back through the app's listing.
    data = demo.generate(
        seed=7, today=date.fromisoformat(summary["period"][1]), scale=0.1
    )
    sent = data.expenses[0]
    day = sent["data"]
    found = emulators.intent(
        "listarDespesas", {"de": day, "ate": day, "limit": 100}, user
    )
    amounts = {
        e["valor"] for e in found["expenses"] if e["fornecedor"] == sent["fornecedor"]
    }
    assert parse_money(sent["valor"]) / 100 in amounts

    # requestIds make a second load store nothing new.
    emulators.cli(*args)
    assert _count(emulators, user, "listarDespesas", "expenses") == 15
    assert _count(emulators, user, "listarPedidos", "orders") == 20
    assert _count(emulators, user, "listarReceitas", "recipes") == 2


def test_the_emulators_never_needed_java(emulators: Emulators) -> None:
    assert not emulators.java_calls.exists(), emulators.java_calls.read_text()
