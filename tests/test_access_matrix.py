"""Who may call what: every exported function of `main.py` × every kind of caller.

`MATRIX` is the one table of expected outcomes. Each cell runs on a fresh store
where alice owns a profile, an expense, an order and a recipe and a verified
backup exists. Callers:

- `anon`: no token;
- `own`: alice on her own data;
- `other`: bob guessing alice's data (her uid, her record ids); the reply must
  hold nothing of alice's and her documents must be unchanged;
- `expired`: alice's token past its expiry;
- `malformed`: a bearer value that is not a JWT;
- `badsig`: an RS256 token with a `kid` and a bogus signature, claiming admin,
  checked with FIREBASE_AUTH_EMULATOR_HOST removed so firebase-admin really
  verifies signatures (offline it cannot fetch Google's certificates; online
  the key id is unknown: UNAUTHENTICATED either way, never a 500);
- `admin`: a token with the custom claim `admin: true`.

Scheduled functions have no HTTP trigger: their row says so and the test
checks they are schedule endpoints only. `checkSystemHealth` (HTTP GET) answers
everyone: `SUMMARY` is the public status, `DETAILS` adds the components.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask

from functions.auth import Caller
from tests.conftest import CallableClient
from tests.test_assistant import EXPENSE, ORDER, RECIPE, ok
from tests.tokens import PROJECT, mint

CALLERS = ("anon", "own", "other", "expired", "malformed", "badsig", "admin")

OK = "OK"
UNAUTH = "UNAUTHENTICATED"
DENIED = "PERMISSION_DENIED"
NOT_FOUND = "NOT_FOUND"
INVALID = "INVALID_ARGUMENT"
SCHEDULED = "scheduled, not callable"
SUMMARY = "SUMMARY"
DETAILS = "DETAILS"

Ctx = dict[str, str]
PayloadFn = Callable[[Ctx], Any]


def _p(value: Any) -> PayloadFn:
    return lambda ctx: value


_EMPTY: PayloadFn = _p({})
_NONE: PayloadFn = _p(None)


def _intent(name: str, payload: PayloadFn = _EMPTY) -> PayloadFn:
    return lambda ctx: {"intent": name, "payload": payload(ctx)}


@dataclass(frozen=True)
class Row:
    """One function (or one intent of `assistenteHttp`) and its expectations.

    `own` is what alice sends about herself (also used by the token columns
    and by `anon`), `other` what bob sends to reach alice's data, `admin` what
    the admin sends.
    """

    function: str
    expected: dict[str, str]
    own: PayloadFn = _NONE
    other: PayloadFn | None = None
    admin: PayloadFn | None = None
    variant: str = ""


def _cells(anon: str, own: str, other: str, admin: str) -> dict[str, str]:
    # Every callable rejects a bad token before any service code runs.
    return {
        "anon": anon,
        "own": own,
        "other": other,
        "expired": UNAUTH,
        "malformed": UNAUTH,
        "badsig": UNAUTH,
        "admin": admin,
    }


_ADMIN_ONLY = _cells(UNAUTH, DENIED, DENIED, OK)
_BACKUP = _p({"backupId": "{backup}"})


def _fill(template: Any, ctx: Ctx) -> Any:
    """`template` with `{name}` placeholders replaced from `ctx`."""
    text = json.dumps(template)
    for key, value in ctx.items():
        text = text.replace("{" + key + "}", value)
    return json.loads(text)


MATRIX: tuple[Row, ...] = (
    # --- assistenteHttp: one row per way of reaching someone's records ------
    Row(
        "assistenteHttp",
        _cells(OK, OK, OK, OK),
        own=_intent("healthCheck"),
        variant="healthCheck",
    ),
    Row(
        "assistenteHttp",
        # bob lists his own (empty) records: the uid he adds is ignored.
        _cells(UNAUTH, OK, OK, OK),
        own=_intent("listarDespesas"),
        other=_intent("listarDespesas", _p({"uid": "alice"})),
        variant="listarDespesas",
    ),
    Row(
        "assistenteHttp",
        # Records are looked up under the caller's own uid, so a guessed id of
        # someone else's record is simply not found, for an admin too.
        _cells(UNAUTH, OK, NOT_FOUND, NOT_FOUND),
        own=_intent("excluirDespesa", _p({"id": "{expense}"})),
        other=_intent("excluirDespesa", _p({"id": "{expense}"})),
        admin=_intent("excluirDespesa", _p({"id": "{expense}"})),
        variant="excluirDespesa",
    ),
    Row(
        "assistenteHttp",
        _cells(UNAUTH, OK, NOT_FOUND, NOT_FOUND),
        own=_intent("atualizarPedido", _p({"id": "{order}", "status": "entregue"})),
        other=_intent("atualizarPedido", _p({"id": "{order}", "status": "cancelado"})),
        admin=_intent("atualizarPedido", _p({"id": "{order}", "status": "cancelado"})),
        variant="atualizarPedido",
    ),
    Row(
        "assistenteHttp",
        _cells(UNAUTH, OK, NOT_FOUND, NOT_FOUND),
        own=_intent("excluirReceita", _p({"id": "{recipe}"})),
        other=_intent("excluirReceita", _p({"id": "{recipe}"})),
        admin=_intent("excluirReceita", _p({"id": "{recipe}"})),
        variant="excluirReceita",
    ),
    # --- users ----------------------------------------------------------------
    # A `uid` in these payloads is ignored: each acts on the caller alone.
    Row(
        "setupUserProfile",
        _cells(UNAUTH, OK, OK, OK),
        own=_p({}),
        other=_p({"uid": "alice"}),
    ),
    Row(
        "getUserProfileOptimized",
        # bob and the admin have no profile of their own yet.
        _cells(UNAUTH, OK, NOT_FOUND, NOT_FOUND),
        other=_p({"uid": "alice"}),
    ),
    Row(
        "updatePreferences",
        # `uid` is not a preference: rejected, nothing changes.
        _cells(UNAUTH, OK, INVALID, OK),
        own=_p({"language": "en"}),
        other=_p({"uid": "alice", "language": "es"}),
        admin=_p({"language": "es"}),
    ),
    Row("getUserStats", _cells(UNAUTH, OK, OK, OK), other=_p({"uid": "alice"})),
    Row("clearUserCache", _cells(UNAUTH, OK, OK, OK), other=_p({"uid": "alice"})),
    Row(
        "updateUserPlan",
        _ADMIN_ONLY,
        own=_p({"uid": "alice", "plan": "business"}),
        other=_p({"uid": "alice", "plan": "free"}),
        admin=_p({"uid": "alice", "plan": "pro"}),
    ),
    Row(
        "exportUserData",
        _cells(UNAUTH, OK, DENIED, OK),
        own=_p({}),
        other=_p({"uid": "alice"}),
        admin=_p({"uid": "alice"}),
    ),
    Row(
        "deleteUserData",
        _cells(UNAUTH, OK, DENIED, OK),
        own=_p({"confirm": "EXCLUIR"}),
        other=_p({"uid": "alice", "confirm": "EXCLUIR"}),
        admin=_p({"uid": "alice", "confirm": "EXCLUIR"}),
    ),
    # --- monitoring -------------------------------------------------------------
    Row("getSystemMetrics", _ADMIN_ONLY, own=_p({})),
    Row(
        "getUserMetrics",
        _cells(UNAUTH, OK, DENIED, OK),
        own=_p({}),
        other=_p({"uid": "alice"}),
        admin=_p({"uid": "alice"}),
    ),
    Row("cleanupOldMetrics", _ADMIN_ONLY, own=_p({})),
    Row(
        "checkSystemHealth",
        {
            "anon": SUMMARY,
            "own": SUMMARY,
            "other": SUMMARY,
            "expired": SUMMARY,
            "malformed": SUMMARY,
            "badsig": SUMMARY,
            "admin": DETAILS,
        },
    ),
    Row("cleanupOldMetricsDaily", dict.fromkeys(CALLERS, SCHEDULED)),
    Row("evaluateAlerts", dict.fromkeys(CALLERS, SCHEDULED)),
    # --- backups: admin only ------------------------------------------------------
    Row("dailyBackup", dict.fromkeys(CALLERS, SCHEDULED)),
    Row("weeklyBackupVerification", dict.fromkeys(CALLERS, SCHEDULED)),
    Row("createBackup", _ADMIN_ONLY, own=_p({})),
    Row("listBackups", _ADMIN_ONLY, own=_p({})),
    Row("deleteBackup", _ADMIN_ONLY, own=_BACKUP),
    Row("getBackupStats", _ADMIN_ONLY, own=_p({})),
    Row("verifyBackupIntegrity", _ADMIN_ONLY, own=_BACKUP),
    Row("simulateRestore", _ADMIN_ONLY, own=_BACKUP),
    Row(
        "restoreBackup",
        _ADMIN_ONLY,
        own=_p({"backupId": "{backup}", "confirm": "RESTAURAR"}),
    ),
)


def _exported() -> dict[str, Any]:
    import main

    return {
        name: getattr(main, name)
        for name in dir(main)
        if getattr(getattr(main, name), "__firebase_endpoint__", None) is not None
    }


def test_the_table_covers_exactly_the_exported_functions() -> None:
    in_table = {row.function for row in MATRIX}
    assert in_table == set(_exported()), (
        "every exported function needs a row in MATRIX: "
        f"missing {sorted(set(_exported()) - in_table)}, "
        f"unknown {sorted(in_table - set(_exported()))}"
    )
    for row in MATRIX:
        assert set(row.expected) == set(CALLERS), row.function


def test_scheduled_rows_are_schedule_endpoints_only() -> None:
    for name, function in _exported().items():
        endpoint = function.__firebase_endpoint__
        row_says_scheduled = all(
            cell == SCHEDULED
            for row in MATRIX
            if row.function == name
            for cell in row.expected.values()
        )
        is_scheduled = endpoint.scheduleTrigger is not None
        assert row_says_scheduled == is_scheduled, name
        if is_scheduled:
            assert endpoint.callableTrigger is None and endpoint.httpsTrigger is None


# -- the callers' tokens -------------------------------------------------------------


def _segment(value: dict[str, Any]) -> str:
    raw = json.dumps(value, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _badly_signed(uid: str) -> str:
    """An RS256 token in Firebase's shape, claiming admin, with a bogus
    signature."""
    now = int(time.time())
    header = {"alg": "RS256", "kid": secrets.token_hex(20), "typ": "JWT"}
    claims = {
        "iss": f"https://securetoken.google.com/{PROJECT}",
        "aud": PROJECT,
        "auth_time": now,
        "user_id": uid,
        "sub": uid,
        "iat": now,
        "exp": now + 3600,
        "admin": True,
        "firebase": {"identities": {}, "sign_in_provider": "password"},
    }
    signature = base64.urlsafe_b64encode(secrets.token_bytes(256)).decode()
    return f"{_segment(header)}.{_segment(claims)}.{signature.rstrip('=')}"


def _token(caller: str) -> str | None:
    return {
        "anon": None,
        "own": mint("alice"),
        "other": mint("bob"),
        "expired": mint("alice", expires_in=-120),
        "malformed": "isto-nao-e-um-jwt",
        "badsig": _badly_signed("alice"),
        "admin": mint("root", admin=True),
    }[caller]


# -- one store per cell --------------------------------------------------------------


@pytest.fixture()
def world(
    client: CallableClient, services: Any, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Ctx]:
    """alice's records and two verified backups; the ids the payloads refer to."""
    alice = mint("alice")
    client.ok("setupUserProfile", {"displayName": "Alice Doceira"}, alice)
    ctx = {
        "expense": ok(client, "registrarDespesa", EXPENSE, alice)["expenseId"],
        "order": ok(client, "registrarPedido", ORDER, alice)["orderId"],
        "recipe": ok(client, "criarNovaReceita", RECIPE, alice)["recipeId"],
    }
    from functions.backup import api

    root = Caller("root", {"admin": True})
    ctx["backup"] = api.create_backup(services, root, {})["backup"]["id"]
    # A second verified backup: the only verified one may not be deleted.
    api.create_backup(services, root, {})
    yield ctx


_ALICE_MARKERS = ("alice", "Alice Doceira", "Atacad", "Maria Souza", "Brigadeiro")


def _alice_docs(services: Any) -> dict[str, Any]:
    return {
        doc.path: doc.data
        for doc in services.store.stream_all()
        if doc.path == "users/alice" or doc.path.startswith("users/alice/")
    }


def _call_health(token: str | None) -> tuple[int, dict[str, Any]]:
    import main

    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with Flask("health").test_request_context(
        "/", method="GET", headers=headers
    ) as ctx:
        response = main.checkSystemHealth(ctx.request)
    return response.status_code, json.loads(response.get_data(as_text=True))


def _outcome(status: int, body: dict[str, Any]) -> str:
    if status == 200 and "result" in body:
        return OK
    assert "error" in body, body
    code = str(body["error"]["status"])
    assert code != "INTERNAL" and status < 500, body
    return code


_CELLS = [
    pytest.param(
        row,
        caller,
        id=f"{row.function}{'-' + row.variant if row.variant else ''}-{caller}",
    )
    for row in MATRIX
    for caller in CALLERS
    if row.expected[caller] != SCHEDULED
]


@pytest.mark.parametrize(("row", "caller"), _CELLS)
def test_cell(
    row: Row,
    caller: str,
    client: CallableClient,
    services: Any,
    world: Ctx,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    expected = row.expected[caller]
    token = _token(caller)
    if caller == "badsig":
        # Real signature checks: firebase-admin skips them in emulator mode.
        monkeypatch.delenv("FIREBASE_AUTH_EMULATOR_HOST", raising=False)
    before = _alice_docs(services)
    started = time.monotonic()

    if row.function == "checkSystemHealth":
        status, body = _call_health(token)
        assert status == 200, body
        assert body["status"] in {"healthy", "degraded"}
        outcome = DETAILS if "components" in body else SUMMARY
        sent: Any = None
    else:
        template = {"other": row.other, "admin": row.admin}.get(caller) or row.own
        sent = _fill(template(world), world)
        status, body = client.call(row.function, sent, token)
        outcome = _outcome(status, body)

    assert outcome == expected, (row.function, row.variant, caller, body)
    # A bad signature must not hang on the certificate fetch.
    assert time.monotonic() - started < 30

    if caller in {"other", "anon", "expired", "malformed", "badsig"}:
        # Nothing of alice's leaks, and nothing of hers changes.
        reply = json.dumps(body, ensure_ascii=False)
        sent_text = json.dumps(sent, ensure_ascii=False)
        markers = [*_ALICE_MARKERS, world["expense"], world["order"], world["recipe"]]
        for marker in markers:
            if marker not in sent_text:
                assert marker not in reply, (marker, body)
        if row.function != "assistenteHttp" or caller != "own":
            assert _alice_docs(services) == before
