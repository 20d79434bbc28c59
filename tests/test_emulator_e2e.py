"""End to end through the real Firebase emulators (Auth and Functions).

One `firebase emulators:start --only functions,auth` runs for the module with
its own DATA_DIR (`tests.emulators`); users sign up through the Auth
emulator's REST API and every call goes over HTTP with the callable protocol,
as the app's SDK sends it. The command line is run as a subprocess, as a
developer would.

Without the Firebase CLI the module is skipped, except under CI=true where that
is a failure. Neither emulator needs Java: a `java` on PATH that records any
call proves it.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest

from functions import demo
from functions.cli import Session
from functions.parsing import parse_money
from tests.emulators import Emulators, start_emulators
from tests.tokens import mint

pytestmark = pytest.mark.e2e

PASSWORD = "senha-e2e-123"


@pytest.fixture(scope="module")
def emulators(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulators]:
    """The running Auth and Functions emulators over a fresh SQLite store."""
    with start_emulators(tmp_path_factory.mktemp("emulators")) as running:
        yield running


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
