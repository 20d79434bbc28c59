"""assistenteHttp through the callable protocol: every intent, bad input, auth."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import CallableClient
from tests.tokens import mint

EXPENSE = {
    "data": "01/12/2026",
    "tipo": "Ingredientes",
    "valor": "R$ 1.234,56",
    "fornecedor": "Atacadão",
    "descricao": "Farinha e açúcar",
}
ORDER = {
    "cliente": "Maria Souza",
    "produtos": [
        "2x Bolo de pote",
        {"produto": "Brigadeiro", "quantidade": 50, "precoUnitario": "2,50"},
    ],
    "dataEntrega": "2026-12-10",
    "valor": "185,00",
}
RECIPE = {
    "recipeName": "Brigadeiro gourmet",
    "ingredients": [
        "1 lata de leite condensado (395 g)",
        "1 colher (sopa) de manteiga",
        {
            "nome": "chocolate em pó",
            "quantidade": 2,
            "unidade": "colher (sopa)",
            "custo": "3,00",
        },
    ],
    "rendimento": "Rende 25 unidades",
    "precoVenda": "R$ 2,50",
}


def ok(client: CallableClient, intent: str, payload: Any, token: str) -> dict:
    status, body = client.intent(intent, payload, token)
    assert status == 200, body
    result: dict = body["result"]
    assert result["success"] is True and isinstance(result["message"], str)
    return result


def fail(client: CallableClient, intent: str, payload: Any, token: str | None) -> dict:
    status, body = client.intent(intent, payload, token)
    assert status != 200, body
    error: dict = body["error"]
    return error


def test_health_check_needs_no_token(client: CallableClient) -> None:
    status, body = client.intent("healthCheck")
    assert status == 200
    result = body["result"]
    assert result["success"] is True
    assert "registrarDespesa" in result["features"]
    assert "total" in result["cache"]
    assert result["version"]


def test_setup_database_is_idempotent(client: CallableClient, alice: str) -> None:
    first = ok(client, "setupDatabase", {"displayName": "Alice Doces"}, alice)
    assert first["created"] is True
    profile = first["userProfile"]
    assert profile["displayName"] == "Alice Doces"
    assert profile["plan"] == "free"
    assert profile["preferences"]["currency"] == "BRL"

    again = ok(client, "setupDatabase", {"displayName": "Outro nome"}, alice)
    assert again["created"] is False
    assert again["userProfile"]["displayName"] == "Alice Doces"
    assert again["userProfile"]["createdAt"] == profile["createdAt"]


def test_expense_round_trip_in_centavos(client: CallableClient, alice: str) -> None:
    created = ok(client, "registrarDespesa", EXPENSE, alice)
    listed = ok(client, "listarDespesas", {}, alice)

    assert listed["cached"] is True  # the write cached the page it read back
    [expense] = listed["expenses"]
    assert expense["id"] == created["expenseId"]
    assert expense["valor"] == 1234.56
    assert expense["data"] == "2026-12-01"
    assert expense["tipo"] == "ingredientes"
    assert expense["fornecedor"] == "Atacadão"
    stored = client._main  # the store keeps integer centavos
    from functions.services import get_services

    doc = get_services().store.get(f"users/alice/expenses/{expense['id']}")
    assert doc is not None and doc["amount"] == 123456
    assert stored is not None


def test_listing_is_cached_until_a_write(client: CallableClient, alice: str) -> None:
    first = ok(client, "registrarDespesa", EXPENSE, alice)["expenseId"]
    assert ok(client, "listarDespesas", {"limit": 5}, alice)["cached"] is False
    assert ok(client, "listarDespesas", {"limit": 5}, alice)["cached"] is True

    second = ok(client, "registrarDespesa", {**EXPENSE, "valor": 10}, alice)
    after = ok(client, "listarDespesas", {"limit": 5}, alice)
    assert after["cached"] is False
    ids = {e["id"] for e in after["expenses"]}
    assert ids == {first, second["expenseId"]}
    # The default first page was cached again by the write, with both in it.
    default = ok(client, "listarDespesas", {}, alice)
    assert default["cached"] is True and default["expenses"] == after["expenses"]


def test_expense_pages_filters_and_ranges(client: CallableClient, alice: str) -> None:
    for day in range(1, 8):
        kind = "embalagens" if day % 2 else "ingredientes"
        payload = {**EXPENSE, "data": f"2026-11-0{day}", "tipo": kind, "valor": day}
        ok(client, "registrarDespesa", payload, alice)

    seen: list[str] = []
    cursor = None
    while True:
        page = ok(client, "listarDespesas", {"limit": 3, "cursor": cursor}, alice)
        seen += [e["data"] for e in page["expenses"]]
        cursor = page["nextCursor"]
        if cursor is None:
            break
    assert seen == [f"2026-11-0{d}" for d in range(7, 0, -1)]

    ranged = ok(
        client, "listarDespesas", {"de": "02/11/2026", "ate": "2026-11-04"}, alice
    )
    assert [e["data"] for e in ranged["expenses"]] == [
        "2026-11-04",
        "2026-11-03",
        "2026-11-02",
    ]
    typed = ok(client, "listarDespesas", {"tipo": "Embalagens"}, alice)
    assert {e["valor"] for e in typed["expenses"]} == {1.0, 3.0, 5.0, 7.0}


def test_delete_expense_and_not_found(client: CallableClient, alice: str) -> None:
    expense_id = ok(client, "registrarDespesa", EXPENSE, alice)["expenseId"]
    ok(client, "excluirDespesa", {"id": expense_id}, alice)
    assert ok(client, "listarDespesas", {}, alice)["expenses"] == []
    error = fail(client, "excluirDespesa", {"id": expense_id}, alice)
    assert error["status"] == "NOT_FOUND"


def test_order_life_cycle(client: CallableClient, alice: str) -> None:
    order_id = ok(client, "registrarPedido", ORDER, alice)["orderId"]
    [order] = ok(client, "listarPedidos", {}, alice)["orders"]
    assert order["valor"] == 185.0
    assert order["status"] == "pendente"
    assert order["produtos"] == [
        {"produto": "Bolo de pote", "quantidade": 2.0, "precoUnitario": None},
        {"produto": "Brigadeiro", "quantidade": 50.0, "precoUnitario": 2.5},
    ]

    updated = ok(
        client,
        "atualizarPedido",
        {"id": order_id, "status": "em produção", "valor": "200"},
        alice,
    )["order"]
    assert updated["status"] == "em_producao"
    assert updated["valor"] == 200.0
    assert updated["cliente"] == "Maria Souza"

    by_status = ok(client, "listarPedidos", {"status": "em_producao"}, alice)
    assert [o["id"] for o in by_status["orders"]] == [order_id]
    assert ok(client, "listarPedidos", {"status": "entregue"}, alice)["orders"] == []

    ok(client, "excluirPedido", {"id": order_id}, alice)
    assert fail(client, "excluirPedido", {"id": order_id}, alice)["status"] == (
        "NOT_FOUND"
    )


def test_recipe_with_lines_and_objects(client: CallableClient, alice: str) -> None:
    recipe_id = ok(client, "criarNovaReceita", RECIPE, alice)["recipeId"]
    [recipe] = ok(client, "listarReceitas", None, alice)["recipes"]

    assert recipe["id"] == recipe_id
    assert recipe["rendimento"] == 25
    assert recipe["precoVenda"] == 2.5
    milk, butter, cocoa = recipe["ingredients"]
    assert (milk["quantidade"], milk["unidade"], milk["nome"]) == (
        1.0,
        "lata",
        "leite condensado",
    )
    assert (milk["peso"], milk["unidadePeso"]) == (395.0, "g")
    assert butter["unidade"] == "colher (sopa)"
    assert cocoa["custo"] == 3.0
    assert recipe["custosCompletos"] is False

    ok(client, "excluirReceita", {"id": recipe_id}, alice)
    assert ok(client, "listarReceitas", None, alice)["recipes"] == []


def test_recipe_from_one_text_block_keeps_sections(
    client: CallableClient, alice: str
) -> None:
    text = (
        "MASSA\n3 ovos\n2 xícaras (chá) de farinha de trigo\n"
        "RECHEIO\n1 lata de leite condensado (395 g)\nFrutas vermelhas a gosto"
    )
    ok(client, "criarNovaReceita", {"recipeName": "Bolo", "ingredients": text}, alice)
    [recipe] = ok(client, "listarReceitas", None, alice)["recipes"]
    sections = [(i["secao"], i["nome"]) for i in recipe["ingredients"]]
    assert sections[0][0] and sections[0][0].lower() == "massa"
    assert sections[-1][1].lower().startswith("frutas vermelhas")
    assert recipe["ingredients"][-1]["quantidade"] is None


BAD_EXPENSES = [
    ({**EXPENSE, "valor": "abc"}, "valor"),
    ({**EXPENSE, "valor": -10}, "valor"),
    ({**EXPENSE, "valor": 0}, "valor"),
    ({**EXPENSE, "valor": 10**12}, "valor"),
    ({**EXPENSE, "valor": True}, "valor"),
    ({**EXPENSE, "valor": [1]}, "valor"),
    ({**EXPENSE, "data": "31/02/2026"}, "data"),
    ({**EXPENSE, "data": "2026-13-01"}, "data"),
    ({**EXPENSE, "data": 20261201}, "data"),
    ({**EXPENSE, "data": "01/01/1850"}, "data"),
    ({**EXPENSE, "fornecedor": "   "}, "fornecedor"),
    ({**EXPENSE, "fornecedor": "x" * 1_000_000}, "fornecedor"),
    ({**EXPENSE, "fornecedor": {"nome": "x"}}, "fornecedor"),
    ({k: v for k, v in EXPENSE.items() if k != "tipo"}, "tipo"),
    ({**EXPENSE, "requestId": "tem espaço"}, "requestId"),
]


@pytest.mark.parametrize(("payload", "field"), BAD_EXPENSES)
def test_bad_expense_names_the_field_and_writes_nothing(
    client: CallableClient, alice: str, payload: dict, field: str
) -> None:
    error = fail(client, "registrarDespesa", payload, alice)
    assert error["status"] == "INVALID_ARGUMENT"
    assert field in error["details"]["fields"]
    from functions.services import get_services

    assert list(get_services().store.stream_all()) == []


BAD_ORDERS = [
    ({**ORDER, "produtos": []}, "produtos"),
    ({**ORDER, "produtos": "bolo"}, "produtos"),
    ({**ORDER, "produtos": ["bolo"] * 10_000}, "produtos"),
    ({**ORDER, "produtos": [{"quantidade": 2}]}, "produtos[0]"),
    ({**ORDER, "produtos": ["ok", {"produto": "x", "quantidade": -1}]}, "produtos[1]"),
    ({**ORDER, "status": "voando"}, "status"),
    ({**ORDER, "cliente": ""}, "cliente"),
    ({**ORDER, "dataEntrega": "30/02/2026"}, "dataEntrega"),
    ({**ORDER, "valor": "NaN"}, "valor"),
    ({**ORDER, "valor": float("inf")}, "valor"),
]


@pytest.mark.parametrize(("payload", "field"), BAD_ORDERS)
def test_bad_order_names_the_field(
    client: CallableClient, alice: str, payload: dict, field: str
) -> None:
    status, body = client.raw(
        "assistenteHttp",
        # json.dumps writes Infinity for inf; the SDK must still reject it cleanly.
        {"data": {"intent": "registrarPedido", "payload": payload}},
        alice,
    )
    assert status == 400, body
    assert body["error"]["status"] == "INVALID_ARGUMENT"
    assert field in body["error"]["details"]["fields"]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"ingredients": ["1 ovo"]}, "recipeName"),
        ({"recipeName": "Bolo"}, "ingredients"),
        ({"recipeName": "Bolo", "ingredients": []}, "ingredients"),
        ({"recipeName": "Bolo", "ingredients": ["MASSA", ""]}, "ingredients"),
        ({"recipeName": "Bolo", "ingredients": ["1 ovo"] * 201}, "ingredients"),
        ({"recipeName": "Bolo", "ingredients": ["x" * 600]}, "ingredients[0]"),
        ({"recipeName": "Bolo", "ingredients": [42]}, "ingredients[0]"),
        (
            {"recipeName": "Bolo", "ingredients": ["1 ovo"], "rendimento": -2},
            "rendimento",
        ),
        (
            {"recipeName": "Bolo", "ingredients": ["1 ovo"], "precoVenda": "x"},
            "precoVenda",
        ),
    ],
)
def test_bad_recipe_names_the_field(
    client: CallableClient, alice: str, payload: dict, field: str
) -> None:
    error = fail(client, "criarNovaReceita", payload, alice)
    assert error["status"] == "INVALID_ARGUMENT"
    assert field in error["details"]["fields"]


@pytest.mark.parametrize(
    "payload",
    [
        {"limit": 0},
        {"limit": 1000},
        {"limit": "dez"},
        {"cursor": "!!!"},
        {"cursor": 5},
        {"de": "2026-12-10", "ate": "2026-12-01"},
        {"de": "ontem"},
    ],
)
def test_bad_listing_parameters(
    client: CallableClient, alice: str, payload: dict
) -> None:
    error = fail(client, "listarDespesas", payload, alice)
    assert error["status"] == "INVALID_ARGUMENT"
    assert error["details"]["fields"]


@pytest.mark.parametrize(
    "body",
    [
        {"intent": "naoExiste", "payload": {}},
        {"payload": {}},
        {"intent": 5},
        "registrarDespesa",
        ["registrarDespesa"],
    ],
)
def test_unknown_intent_lists_the_valid_ones(
    client: CallableClient, alice: str, body: Any
) -> None:
    status, reply = client.call("assistenteHttp", body, alice)
    assert status == 400
    assert reply["error"]["status"] == "INVALID_ARGUMENT"
    if isinstance(body, dict):
        assert "registrarDespesa" in reply["error"]["message"]


def test_payload_must_be_an_object(client: CallableClient, alice: str) -> None:
    error = fail(client, "registrarDespesa", ["not", "an", "object"], alice)
    assert error["status"] == "INVALID_ARGUMENT"


def test_malformed_protocol_bodies(client: CallableClient, alice: str) -> None:
    assert client.raw("assistenteHttp", "{not json", alice)[0] == 400
    assert client.raw("assistenteHttp", {"nodata": 1}, alice)[0] == 400


@pytest.mark.parametrize(
    "token",
    [
        None,
        mint("alice", expires_in=-60),
        "not-a-jwt",
        "a.b.c",
        mint("alice", project="another-project"),
    ],
)
def test_records_need_a_valid_token(client: CallableClient, token: str | None) -> None:
    for intent in ("registrarDespesa", "listarDespesas", "listarReceitas"):
        error = fail(client, intent, EXPENSE, token)
        assert error["status"] == "UNAUTHENTICATED"


def test_users_never_see_each_others_records(
    client: CallableClient, alice: str, bob: str
) -> None:
    expense_id = ok(client, "registrarDespesa", EXPENSE, alice)["expenseId"]
    order_id = ok(client, "registrarPedido", ORDER, alice)["orderId"]
    recipe_id = ok(client, "criarNovaReceita", RECIPE, alice)["recipeId"]

    assert ok(client, "listarDespesas", {}, bob)["expenses"] == []
    assert ok(client, "listarPedidos", {}, bob)["orders"] == []
    assert ok(client, "listarReceitas", {}, bob)["recipes"] == []
    for intent, record_id in [
        ("excluirDespesa", expense_id),
        ("excluirPedido", order_id),
        ("excluirReceita", recipe_id),
        ("atualizarPedido", order_id),
    ]:
        payload = {"id": record_id, "status": "cancelado"}
        error = fail(client, intent, payload, bob)
        assert error["status"] == "NOT_FOUND"
        assert "Maria" not in str(error)

    assert len(ok(client, "listarDespesas", {}, alice)["expenses"]) == 1
    [order] = ok(client, "listarPedidos", {}, alice)["orders"]
    assert order["status"] == "pendente"


def test_ids_with_path_characters_are_rejected(
    client: CallableClient, alice: str
) -> None:
    for bad in ["../bob/expenses/x", "a/b", "", "x" * 200]:
        error = fail(client, "excluirDespesa", {"id": bad}, alice)
        assert error["status"] == "INVALID_ARGUMENT"


def test_request_id_makes_a_retry_return_the_same_record(
    client: CallableClient, alice: str
) -> None:
    payload = {**EXPENSE, "requestId": "app-123"}
    first = ok(client, "registrarDespesa", payload, alice)
    second = ok(client, "registrarDespesa", payload, alice)

    assert first["expenseId"] == second["expenseId"]
    assert len(ok(client, "listarDespesas", {}, alice)["expenses"]) == 1


def test_cache_intents(client: CallableClient, alice: str) -> None:
    ok(client, "listarDespesas", {}, alice)
    ok(client, "listarDespesas", {}, alice)
    stats = ok(client, "getCacheStats", None, alice)["stats"]
    assert stats["categories"]["expenses"]["hits"] >= 1

    ok(client, "invalidateCache", {"categoria": "expenses"}, alice)
    assert ok(client, "listarDespesas", {}, alice)["cached"] is False
    error = fail(client, "invalidateCache", {"categoria": "tudo"}, alice)
    assert error["status"] == "INVALID_ARGUMENT"
