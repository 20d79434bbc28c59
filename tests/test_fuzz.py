"""Payload fuzzing (issue 8): every intent of assistenteHttp and every callable
of main.py under random payloads, through the real callable protocol.

Payloads mix plausible field values (the app's money and date formats) with
hostile ones: wrong types, strings up to 1 MB, long lists, deep nesting,
unicode oddities, NaN and infinities (the body is JSON as Python writes it,
so `NaN` and `Infinity` literals go over the wire), negative and enormous
money, dates out of range. For every call:

- no HTTP 5xx and never INTERNAL;
- a rejected call leaves the store exactly as it was (metrics and alerts,
  written by monitoring, are left out of the comparison);
- an accepted call gives a well-formed reply (strict JSON, the documented
  keys) and whatever it stored is sane.
"""

from __future__ import annotations

import ast
import base64
import io
import json
import math
import os
import re
from collections.abc import Callable
from datetime import date
from pathlib import Path
from shutil import which
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from functions.assistant.router import INTENTS
from tests.conftest import CallableClient
from tests.tokens import mint

MAIN = Path(__file__).resolve().parents[1] / "main.py"
_DOC_ID = re.compile(r"^[A-Za-z0-9_\-]{1,128}$")
_IGNORED = ("metrics/", "alerts/")

FUZZ = settings(
    max_examples=100,
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
)


def _callables() -> list[str]:
    """Names of the functions main.py exports as callables (`edge.on_call`)."""
    tree = ast.parse(MAIN.read_text(encoding="utf-8"))
    names = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and any(
            "on_call" in ast.unparse(d) for d in node.decorator_list
        ):
            names.append(node.name)
    return names


CALLABLES = _callables()
ADMIN_ONLY = {
    "updateUserPlan",
    "getSystemMetrics",
    "cleanupOldMetrics",
    "createBackup",
    "listBackups",
    "deleteBackup",
    "getBackupStats",
    "verifyBackupIntegrity",
    "simulateRestore",
    "restoreBackup",
}

# -- strategies ----------------------------------------------------------------

_chars = st.characters(codec="utf-8")  # every code point but surrogates
text = st.text(_chars, max_size=40)
odd_text = st.sampled_from(
    [
        "",
        " ",
        "\x00",
        "\u202e\u202d",
        "\ufeff",
        "e\u0301\u0301\u0301",
        "💸🎂",
        "\U0010ffff",
        "NaN",
        "Infinity",
        "-0",
        "null",
        "[]",
        "{}",
        "../../etc",
        "users/bob",
        "users/bob/expenses/x",
        "$ts",
        "%s%n",
        "' OR 1=1 --",
        '"); DROP TABLE docs; --',
        "\n\t\r",
        "R$",
        "１２３",
        "٣٤٥",
        "ⅷ",
    ]
)
huge_text = st.builds(
    lambda ch, n: ch * n,
    st.sampled_from(["a", "9", "é", "💸", " ", "1.", "[", "\u0301", "x\n"]),
    st.sampled_from([201, 1_001, 50_000, 1_000_000]),
)
big_ints = st.integers(min_value=-(10**40), max_value=10**40)
floats = st.floats(allow_nan=True, allow_infinity=True)
scalars = st.one_of(st.none(), st.booleans(), big_ints, floats, text, odd_text)
json_values = st.recursive(
    scalars,
    lambda kids: st.one_of(
        st.lists(kids, max_size=5), st.dictionaries(text, kids, max_size=5)
    ),
    max_leaves=15,
)


def _nest(depth: int, leaf: Any, as_dict: bool) -> Any:
    value = leaf
    for _ in range(depth):
        value = {"a": value} if as_dict else [value]
    return value


deep = st.builds(_nest, st.integers(20, 400), scalars, st.booleans())
long_list = st.builds(
    lambda item, n: [item] * n,
    st.one_of(scalars, st.just({"nome": "x"}), st.just("2 ovos")),
    st.sampled_from([101, 201, 1_000, 20_000]),
)
nasty = st.one_of(json_values, huge_text, long_list, deep)

money = st.one_of(
    floats,
    big_ints,
    st.integers(-1000, 10**9),
    st.decimals(-(10**7), 10**7, places=2).map(float),
    st.sampled_from(
        [
            "R$ 45,90",
            "1.234,56",
            "45.9",
            "-1",
            "0",
            "0,00",
            "1e308",
            "-1e308",
            "R$ -5",
            "9" * 39,
            "1.000.000,00",
            "1.000.000,01",
            "1.000.000.000.000,00",
            "NaN",
            "inf",
            "-inf",
            "--1",
            "1,2,3",
            ",",
            "R$",
            "R$ 0,001",
            "١٢٣",
        ]
    ),
    text,
)


def _br(day: date) -> str:
    return day.strftime("%d/%m/%Y")


dates = st.one_of(
    st.dates().map(date.isoformat),
    st.dates().map(_br),
    st.dates(date(2000, 1, 1), date(2100, 12, 31)).map(date.isoformat),
    st.sampled_from(
        [
            "0001-01-01",
            "9999-12-31",
            "1999-12-31",
            "2101-01-01",
            "31/02/2026",
            "2026-02-30",
            "2026-13-01",
            "00/00/0000",
            "+002026-01-01",
            "2026-1-1",
            "1/1/26",
            "29/02/2027",
            "2026-12-01T25:00:00",
            "99999-01-01",
            "01/12/99999999999",
            "2026-12-01T10:00:00-03:00",
        ]
    ),
    big_ints,
    floats,
    text,
)
request_ids = st.one_of(st.from_regex(r"\A[A-Za-z0-9_.:\-]{1,100}\Z"), text)
product = st.one_of(
    text,
    st.sampled_from(["2x Bolo de pote", "1,5 kg de brigadeiro", "999999 x bolo"]),
    st.fixed_dictionaries(
        {},
        optional={
            "produto": st.one_of(text, scalars),
            "quantidade": st.one_of(money, floats, scalars),
            "precoUnitario": money,
        },
    ),
    scalars,
)
ingredient = st.one_of(
    st.sampled_from(
        [
            "2 xícaras (chá) de farinha de trigo",
            "1 lata de leite condensado",
            "Massa:",
            "1/2 colher de sopa de fermento",
            "1e308 g de açúcar",
            "9" * 400 + " g de farinha",
            "½ xícara de leite",
        ]
    ),
    text,
    st.fixed_dictionaries(
        {},
        optional={
            "nome": st.one_of(text, scalars),
            "quantidade": st.one_of(floats, big_ints, text),
            "unidade": st.one_of(text, scalars),
            "custo": money,
            "secao": text,
        },
    ),
    scalars,
)
statuses = st.one_of(
    st.sampled_from(
        ["pendente", "confirmado", "em produção", "Em Producao", "pronto", "x"]
    ),
    text,
    scalars,
)
limits = st.one_of(st.integers(-5, 200), big_ints, floats, text, st.just("10"))
cursors = st.one_of(
    text,
    st.binary(max_size=60).map(lambda b: base64.urlsafe_b64encode(b).decode()),
    json_values.map(
        lambda v: base64.urlsafe_b64encode(json.dumps(v).encode()).decode()
    ),
    st.sampled_from(
        [
            base64.urlsafe_b64encode(raw).decode().rstrip("=")
            for raw in (
                b"[1,2]",
                b'[{"a":1},"x"]',
                b'[["x"],"y"]',
                b'[{"$ts":"nope"},"x"]',
                b'[NaN,"x"]',
                b'[1e999,"x"]',
                b'["2026-01-01",{"a":[]}]',
                b"[null,null]",
                b'[true,"x"]',
                b"[]",
                b"{}",
            )
        ]
    ),
)
windows = st.one_of(st.sampled_from(["15m", "1h", "24h", "7d"]), scalars, nasty)

# Field values per intent and per callable; "ID" and "BACKUP" are replaced by
# ids that exist in the seeded store (or near misses) when drawn.
ID = object()
BACKUP = object()
UID = object()

FIELDS: dict[str, dict[str, Any]] = {
    "healthCheck": {},
    "setupDatabase": {"email": text, "displayName": text, "photoURL": text},
    "registrarDespesa": {
        "data": dates,
        "tipo": text,
        "valor": money,
        "fornecedor": text,
        "descricao": text,
        "requestId": request_ids,
    },
    "listarDespesas": {
        "limit": limits,
        "cursor": cursors,
        "de": dates,
        "ate": dates,
        "tipo": text,
    },
    "excluirDespesa": {"id": ID},
    "registrarPedido": {
        "cliente": text,
        "produtos": st.lists(product, max_size=4),
        "dataEntrega": dates,
        "valor": money,
        "status": statuses,
        "observacoes": text,
        "requestId": request_ids,
    },
    "listarPedidos": {
        "limit": limits,
        "cursor": cursors,
        "status": statuses,
        "de": dates,
        "ate": dates,
    },
    "atualizarPedido": {
        "id": ID,
        "status": statuses,
        "cliente": text,
        "produtos": st.lists(product, max_size=4),
        "dataEntrega": dates,
        "valor": money,
        "observacoes": text,
    },
    "excluirPedido": {"id": ID},
    "criarNovaReceita": {
        "recipeName": text,
        "ingredients": st.one_of(st.lists(ingredient, max_size=5), text),
        "rendimento": st.one_of(
            st.integers(-5, 10**6), text, st.just("rende 20 unidades"), scalars
        ),
        "precoVenda": money,
        "requestId": request_ids,
    },
    "listarReceitas": {},
    "excluirReceita": {"id": ID},
    # processarDocumento has its own tests below; here only its field checks.
    "processarDocumento": {"file": st.one_of(text, scalars), "mimeType": text},
    "gerarAnalise": {"query": text, "de": dates, "ate": dates},
    "getCacheStats": {},
    "invalidateCache": {
        "categoria": st.one_of(
            st.sampled_from(["profile", "expenses", "analysis"]), text
        )
    },
    # callables
    "setupUserProfile": {"email": text, "displayName": text, "photoURL": text},
    "updatePreferences": {
        "language": st.one_of(st.sampled_from(["pt-BR", "en", "es"]), text),
        "timezone": st.one_of(
            st.sampled_from(["America/Sao_Paulo", "UTC", "Etc/GMT+3", "../x"]), text
        ),
        "currency": st.one_of(st.just("BRL"), text),
        "notifications": st.one_of(
            st.fixed_dictionaries(
                {}, optional={"email": scalars, "push": scalars, "sms": scalars}
            ),
            scalars,
        ),
    },
    "clearUserCache": {
        "categoria": st.one_of(st.sampled_from(["profile", "recipes"]), text)
    },
    "updateUserPlan": {
        "uid": UID,
        "plan": st.one_of(st.sampled_from(["free", "pro", "business"]), text),
    },
    "getSystemMetrics": {"window": windows},
    "getUserMetrics": {"uid": UID, "window": windows},
    "listBackups": {"limit": limits, "cursor": cursors},
    "deleteBackup": {"backupId": BACKUP},
    "verifyBackupIntegrity": {"backupId": BACKUP},
    "simulateRestore": {"backupId": BACKUP, "uid": UID},
    "restoreBackup": {
        "backupId": BACKUP,
        "uid": UID,
        "confirm": st.one_of(st.just("RESTAURAR"), text),
    },
}

# -- helpers -----------------------------------------------------------------


def snapshot(services: Any) -> list[tuple[str, dict[str, Any]]]:
    """The store's business documents (monitoring's own left out)."""
    return [
        (doc.path, doc.data)
        for doc in services.store.stream_all()
        if not doc.path.startswith(_IGNORED)
    ]


class Seeded:
    """Alice's records and a verified backup, for ids that exist."""

    def __init__(self, client: CallableClient) -> None:
        self.client = client
        self.alice = mint("alice")
        self.admin = mint("root", admin=True)
        ok = client.ok
        self.expense = ok(
            "assistenteHttp",
            {
                "intent": "registrarDespesa",
                "payload": {
                    "data": "2026-11-30",
                    "tipo": "ingredientes",
                    "valor": "R$ 45,90",
                    "fornecedor": "Atacadão",
                },
            },
            self.alice,
        )["expenseId"]
        self.order = ok(
            "assistenteHttp",
            {
                "intent": "registrarPedido",
                "payload": {
                    "cliente": "Maria",
                    "produtos": ["2x Bolo de pote"],
                    "dataEntrega": "01/12/2026",
                    "valor": 80,
                },
            },
            self.alice,
        )["orderId"]
        self.recipe = ok(
            "assistenteHttp",
            {
                "intent": "criarNovaReceita",
                "payload": {
                    "recipeName": "Brigadeiro",
                    "ingredients": ["1 lata de leite condensado"],
                },
            },
            self.alice,
        )["recipeId"]
        backup = ok("createBackup", {}, self.admin)["backup"]
        self.backup = backup["id"]

    def ids(self) -> st.SearchStrategy[Any]:
        real = [self.expense, self.order, self.recipe]
        return st.one_of(
            st.sampled_from(real),
            st.sampled_from([r[:-1] for r in real] + ["x" * 129, "a/b", ".."]),
            text,
            scalars,
        )

    def backups(self) -> st.SearchStrategy[Any]:
        return st.one_of(
            st.just(self.backup),
            st.sampled_from(["daily-2026-12-01", self.backup + "x", "../x", ""]),
            text,
            scalars,
        )

    def uids(self) -> st.SearchStrategy[Any]:
        return st.one_of(
            st.sampled_from(["alice", "root", "bob", "nobody", "alice/expenses"]),
            text,
            scalars,
        )


def _resolve(value: Any, seeded: Seeded) -> st.SearchStrategy[Any]:
    if value is ID:
        return seeded.ids()
    if value is BACKUP:
        return seeded.backups()
    if value is UID:
        return seeded.uids()
    assert isinstance(value, st.SearchStrategy)
    return value


def payloads(name: str, seeded: Seeded) -> st.SearchStrategy[Any]:
    """Dicts with some of the function's fields (plausible or hostile values),
    sometimes extra keys, sometimes no dict at all."""
    fields = {
        key: st.one_of(_resolve(value, seeded), nasty)
        for key, value in FIELDS.get(name, {}).items()
    }
    shaped = st.builds(
        lambda known, extra: {**extra, **known},
        st.fixed_dictionaries({}, optional=fields),
        st.dictionaries(text, json_values, max_size=2),
    )
    return st.one_of(shaped, shaped, shaped, nasty, st.none())


def strict_json(value: Any) -> None:
    """The value survives strict JSON (no NaN, no infinities)."""
    json.dumps(value, allow_nan=False)


def sane_record(data: dict[str, Any]) -> None:
    """Stored money is integer centavos in range; stored dates are real dates."""
    for key in ("amount", "total", "salePrice"):
        value = data.get(key)
        if value is not None:
            assert isinstance(value, int) and not isinstance(value, bool), data
            assert 0 < value <= 100_000_000, data
    for key in ("date", "deliveryDate"):
        value = data.get(key)
        if value is not None:
            assert 2000 <= date.fromisoformat(value).year <= 2100, data
    for item in data.get("products") or []:
        assert math.isfinite(item["quantity"]) and item["quantity"] > 0, data
    for item in data.get("ingredients") or []:
        quantity = item.get("quantity")
        assert quantity is None or math.isfinite(quantity), data
    strict_json({k: v for k, v in data.items() if k not in ("createdAt", "updatedAt")})


def check_reply(name: str, result: Any, services: Any, uid: str) -> None:
    """Well-formed reply of an accepted call."""
    strict_json(result)
    assert isinstance(result, dict), result
    if name not in INTENTS:
        return
    assert result["success"] is True and isinstance(result["message"], str)
    created = {
        "registrarDespesa": ("expenseId", "expenses"),
        "registrarPedido": ("orderId", "orders"),
        "criarNovaReceita": ("recipeId", "recipes"),
    }
    if name in created:
        key, collection = created[name]
        assert isinstance(result[key], str) and _DOC_ID.match(result[key])
        stored = services.store.get(f"users/{uid}/{collection}/{result[key]}")
        assert stored is not None
        sane_record(stored)
    listed = {
        "listarDespesas": "expenses",
        "listarPedidos": "orders",
        "listarReceitas": "recipes",
    }
    if name in listed:
        assert isinstance(result[listed[name]], list)
        assert isinstance(result["cached"], bool)
        if name != "listarReceitas":
            assert result["nextCursor"] is None or isinstance(result["nextCursor"], str)
    if name == "atualizarPedido":
        assert isinstance(result["order"], dict)
        sane_record(services.store.get(f"users/{uid}/orders/{result['order']['id']}"))
    if name == "gerarAnalise":
        assert isinstance(result["analysis"], str) and result["analysis"]
        assert isinstance(result["summary"], dict)
    if name == "processarDocumento":
        extracted = result["extractedData"]
        for key in ("valor", "fornecedor", "cnpj", "data", "itens", "chaveAcesso"):
            assert key in extracted
        assert isinstance(extracted["textoCompleto"], str)
    if name == "healthCheck":
        assert {"version", "features", "cache", "timestamp"} <= set(result)
    if name == "setupDatabase":
        assert isinstance(result["userProfile"], dict)


def expect_sound(
    client: CallableClient,
    services: Any,
    function: str,
    data: Any,
    token: str | None,
    name: str | None = None,
    uid: str = "alice",
    send: Callable[[], tuple[int, dict[str, Any]]] | None = None,
) -> tuple[int, dict[str, Any]]:
    """One call that must not fail the server nor write when rejected."""
    before = snapshot(services)
    status, body = send() if send else client.call(function, data, token)
    assert status < 500, body
    if status != 200:
        error = body["error"]
        assert error["status"] != "INTERNAL", body
        assert isinstance(error["message"], str) and error["message"]
        assert snapshot(services) == before, f"rejected {function} wrote: {body}"
    else:
        check_reply(name or function, body["result"], services, uid)
    return status, body


# -- the fuzzing ---------------------------------------------------------------


@pytest.fixture()
def seeded(client: CallableClient) -> Seeded:
    return Seeded(client)


# Our strategies never touch the `random` module, yet after the GCS backup tests
# Hypothesis sometimes reports that the global random state changed during a
# draw (its check compares the state before and after, whoever changed it) and
# pytest's "error" filter turns that warning into a failure. Tracing every use
# of the global generator outside Hypothesis found none, so only this warning
# is ignored here; every other warning still fails the test.
_RANDOM_STATE_NOISE = pytest.mark.filterwarnings(
    "ignore:Do not use the `random` module inside strategies"
)


@_RANDOM_STATE_NOISE
@pytest.mark.parametrize("intent", sorted(INTENTS))
@FUZZ
@given(data=st.data())
def test_intents_survive_random_payloads(
    client: CallableClient, services: Any, seeded: Seeded, intent: str, data: Any
) -> None:
    payload = data.draw(payloads(intent, seeded), label="payload")
    body = data.draw(
        st.one_of(
            st.just({"intent": intent, "payload": payload}),
            st.builds(
                lambda extra: {"intent": intent, "payload": payload, **extra},
                st.dictionaries(text, json_values, max_size=2),
            ),
        ),
        label="body",
    )
    token = data.draw(st.sampled_from([seeded.alice, seeded.alice, None]))
    expect_sound(client, services, "assistenteHttp", body, token, name=intent)


@_RANDOM_STATE_NOISE
@pytest.mark.parametrize("function", [f for f in CALLABLES if f != "assistenteHttp"])
@FUZZ
@given(data=st.data())
def test_callables_survive_random_payloads(
    client: CallableClient, services: Any, seeded: Seeded, function: str, data: Any
) -> None:
    payload = data.draw(payloads(function, seeded), label="payload")
    token = seeded.admin if function in ADMIN_ONLY else seeded.alice
    uid = "root" if function in ADMIN_ONLY else "alice"
    expect_sound(client, services, function, payload, token, uid=uid)


@settings(FUZZ, max_examples=60)
@given(data=st.data())
def test_unknown_intents_and_bodies(
    client: CallableClient, services: Any, seeded: Seeded, data: Any
) -> None:
    intent = data.draw(st.one_of(text, odd_text, nasty), label="intent")
    body = data.draw(
        st.one_of(
            st.builds(
                lambda payload: {"intent": intent, "payload": payload}, json_values
            ),
            nasty,
        ),
        label="body",
    )
    status, reply = expect_sound(client, services, "assistenteHttp", body, seeded.alice)
    if not (isinstance(intent, str) and intent in INTENTS):
        assert status == 400 and reply["error"]["status"] == "INVALID_ARGUMENT"


def _raw_caller(function: str, raw: bytes, token: str) -> Any:
    from flask import Flask

    import main

    app = Flask("fuzz")

    def send() -> tuple[int, dict[str, Any]]:
        headers = {"Content-Type": "application/json"}
        headers["Authorization"] = f"Bearer {token}"
        with app.test_request_context(
            "/", method="POST", data=raw, headers=headers
        ) as ctx:
            response = getattr(main, function)(ctx.request)
        return response.status_code, json.loads(response.get_data(as_text=True))

    return send


raw_bodies = st.one_of(
    st.binary(max_size=200),
    st.text(_chars, max_size=200).map(str.encode),
    json_values.map(lambda v: json.dumps(v).encode()),
    json_values.map(lambda v: json.dumps({"data": v}).encode()),
    st.integers(900, 200_000).map(lambda n: b'{"data":' + b"[" * n + b"]" * n + b"}"),
    st.integers(900, 200_000).map(lambda n: b'{"data":' + b'{"a":' * n + b"}" * n),
    st.integers(900, 100_000).map(
        lambda n: (
            b'{"data":{"intent":"registrarDespesa","payload":{"descricao":'
            + b"[" * n
            + b"]" * n
            + b"}}}"
        )
    ),
    st.sampled_from(
        [
            b'{"data": NaN}',
            b'{"data": {"intent": "listarDespesas", "payload": {"limit": Infinity}}}',
            b'{"data": 1e999999}',
            b'{"data": -Infinity}',
            b'{"data": "\\ud800"}',
            b'{"data": {"intent": "registrarDespesa", "payload": '
            b'{"data": "2026-01-01", "tipo": "x", "valor": -Infinity, '
            b'"fornecedor": "\\udfff"}}}',
            b'{"data": {"a": 1, "a": 2}}',
            b"\xff\xfe{\x00}",
            b'{"data": "' + b"\xc3\x28" * 10 + b'"}',
            b'{"data": {}, "data": []}',
            b'{"data":' + b"9" * 5000 + b"}",
        ]
    ),
)


@pytest.mark.parametrize("function", ["assistenteHttp", "setupUserProfile"])
@settings(FUZZ, max_examples=40)
@given(raw=raw_bodies)
@example(raw=b'{"data":' + b"[" * 1990 + b"]" * 1990 + b"}")
@example(raw=b'{"data":' + b"[" * 100_000 + b"]" * 100_000 + b"}")
def test_raw_bodies_never_break_the_protocol(
    client: CallableClient, services: Any, seeded: Seeded, function: str, raw: bytes
) -> None:
    send = _raw_caller(function, raw, seeded.alice)
    expect_sound(client, services, function, None, None, send=send)


@settings(FUZZ, max_examples=40)
@given(
    token=st.one_of(
        text,
        odd_text,
        huge_text,
        st.binary(max_size=80).map(lambda b: base64.urlsafe_b64encode(b).decode()),
        st.builds(
            lambda a, b: f"{a}.{b}.",
            st.binary(max_size=40).map(lambda b: base64.urlsafe_b64encode(b).decode()),
            st.binary(max_size=80).map(lambda b: base64.urlsafe_b64encode(b).decode()),
        ),
    )
)
def test_garbage_tokens_are_refused_cleanly(
    client: CallableClient, services: Any, token: str
) -> None:
    token = "".join(ch for ch in token if 32 < ord(ch) < 127) or "x"
    status, _ = expect_sound(
        client,
        services,
        "assistenteHttp",
        {"intent": "listarDespesas", "payload": {}},
        token,
        name="listarDespesas",
    )
    assert status in (401, 403)


@settings(FUZZ, max_examples=30)
@given(
    query=st.dictionaries(text, text, max_size=3),
    auth=st.one_of(st.none(), text, st.just(f"Bearer {mint('root', admin=True)}")),
    method=st.sampled_from(["GET", "HEAD", "POST", "OPTIONS", "DELETE"]),
)
def test_health_endpoint_survives_random_requests(
    client: CallableClient, services: Any, query: Any, auth: Any, method: str
) -> None:
    from flask import Flask

    import main

    headers = {"Origin": "https://example.com"}
    if auth:
        headers["Authorization"] = "".join(c for c in auth if 32 <= ord(c) < 127)
    before = snapshot(services)
    with Flask("fuzz").test_request_context(
        "/", method=method, query_string=query, headers=headers
    ) as ctx:
        response = main.checkSystemHealth(ctx.request)
    assert response.status_code in (200, 204, 405, 503), response.status_code
    assert snapshot(services) == before


# -- processarDocumento ----------------------------------------------------------


@pytest.fixture()
def ocr_tools() -> None:
    """Tesseract and poppler answer, so no rejection below is an outage."""
    missing = [t for t in ("tesseract", "pdftotext", "pdftoppm") if not which(t)]
    if not missing:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{', '.join(missing)} required under CI (scripts/setup.sh)")
    pytest.skip(f"{', '.join(missing)} not installed")


_MAGIC = [b"", b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"%PDF-1.4\n", b"GIF89a"]


def _encode(raw: bytes, how: str) -> str:
    text_b64 = base64.b64encode(raw).decode()
    if how == "urlsafe":
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")
    if how == "dataurl":
        return "data:image/png;base64," + text_b64
    if how == "wrapped":
        return "\n".join(text_b64[i : i + 76] for i in range(0, len(text_b64), 76))
    if how == "truncated":
        return text_b64[: max(1, len(text_b64) - 3)]
    if how == "junk":
        return text_b64[: len(text_b64) // 2] + "!*ç" + text_b64[len(text_b64) // 2 :]
    return text_b64


def _documents_used(services: Any) -> int:
    profile = services.store.get("users/alice") or {}
    return sum(
        int((month or {}).get("documents", 0))
        for month in (profile.get("usage") or {}).values()
    )


@settings(FUZZ, max_examples=60)
@given(
    magic=st.sampled_from(_MAGIC),
    body=st.binary(max_size=2048),
    how=st.sampled_from(
        ["plain", "urlsafe", "dataurl", "wrapped", "truncated", "junk"]
    ),
    mime=st.one_of(
        st.none(),
        st.sampled_from(["image/png", "image/jpeg", "application/pdf", "text/plain"]),
        text,
        scalars,
    ),
)
def test_document_bytes_and_bad_base64(
    client: CallableClient,
    services: Any,
    seeded: Seeded,
    ocr_tools: None,
    magic: bytes,
    body: bytes,
    how: str,
    mime: Any,
) -> None:
    payload: dict[str, Any] = {"file": _encode(magic + body, how)}
    if mime is not None:
        payload["mimeType"] = mime
    used = _documents_used(services)
    status, _ = expect_sound(
        client,
        services,
        "assistenteHttp",
        {"intent": "processarDocumento", "payload": payload},
        seeded.alice,
        name="processarDocumento",
    )
    assert _documents_used(services) == used + (status == 200)


def _noise_image(seed: int, width: int, height: int, fmt: str) -> bytes:
    import random

    from PIL import Image

    rng = random.Random(seed)
    image = Image.new("L", (width, height), 255)
    pixels = image.load()
    assert pixels is not None
    for _ in range(width * height // 4):
        pixels[rng.randrange(width), rng.randrange(height)] = rng.randrange(256)
    out = io.BytesIO()
    image.save(out, fmt)
    return out.getvalue()


@settings(FUZZ, max_examples=6)
@given(
    seed=st.integers(0, 10**6),
    width=st.integers(1, 300),
    height=st.integers(1, 300),
    fmt=st.sampled_from(["PNG", "JPEG"]),
    cut=st.one_of(st.none(), st.integers(10, 400)),
)
def test_random_images_reach_the_ocr_cleanly(
    client: CallableClient,
    services: Any,
    seeded: Seeded,
    ocr_tools: None,
    seed: int,
    width: int,
    height: int,
    fmt: str,
    cut: int | None,
) -> None:
    raw = _noise_image(seed, width, height, fmt)
    if cut is not None:
        raw = raw[:cut]
    used = _documents_used(services)
    status, _ = expect_sound(
        client,
        services,
        "assistenteHttp",
        {"intent": "processarDocumento", "payload": {"file": _encode(raw, "plain")}},
        seeded.alice,
        name="processarDocumento",
    )
    assert _documents_used(services) == used + (status == 200)


@pytest.mark.parametrize("intent", ["listarDespesas", "listarPedidos"])
@settings(FUZZ, max_examples=60)
@given(values=st.lists(json_values, max_size=4))
@example(values=[{"a": 1}, "x"])
@example(values=[10**30, "x"])
@example(values=[{"$ts": 5}, "x"])
def test_forged_cursors_are_invalid_argument(
    client: CallableClient, services: Any, seeded: Seeded, intent: str, values: Any
) -> None:
    raw = json.dumps(values).encode()
    cursor = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    status, body = expect_sound(
        client,
        services,
        "assistenteHttp",
        {"intent": intent, "payload": {"cursor": cursor}},
        seeded.alice,
        name=intent,
    )
    assert status in (200, 400), body


@settings(FUZZ, max_examples=40)
@given(values=st.lists(json_values, max_size=4))
@example(values=[["2026"], "x"])
def test_forged_backup_cursors(
    client: CallableClient, services: Any, seeded: Seeded, values: Any
) -> None:
    cursor = base64.urlsafe_b64encode(json.dumps(values).encode()).decode()
    status, body = expect_sound(
        client, services, "listBackups", {"cursor": cursor}, seeded.admin, uid="root"
    )
    assert status in (200, 400), body
