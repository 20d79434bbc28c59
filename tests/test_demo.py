"""The demo data set: reproducible, realistic, and accepted by the intents as sent."""

from __future__ import annotations

import re
from collections import Counter
from datetime import date, timedelta
from typing import Any

import pytest

from functions import demo
from functions.assistant.orders import STATUSES
from functions.parsing import parse_date, parse_money

TODAY = date(2026, 3, 15)
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_BR_DATE = re.compile(r"^\d{2}/\d{2}/\d{4}$")
_BR_MONEY = re.compile(r"^(R\$ )?\d{1,3}(\.\d{3})*,\d{2}$|^\d+,\d{2}$")


@pytest.fixture(scope="module")
def data() -> demo.DemoData:
    return demo.generate(seed=42, today=TODAY)


def _money_style(value: Any) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return "number"
    assert isinstance(value, str) and _BR_MONEY.match(value), value
    return "R$" if value.startswith("R$") else "text"


def _date_style(value: Any) -> str:
    assert isinstance(value, str)
    if _ISO.match(value):
        return "iso"
    assert _BR_DATE.match(value), value
    return "br"


def test_same_seed_and_day_give_the_same_set(data: demo.DemoData) -> None:
    assert demo.generate(seed=42, today=TODAY) == data
    assert demo.generate(seed=43, today=TODAY) != data
    assert demo.generate(seed=42, today=TODAY + timedelta(days=1)) != data


def test_counts_and_period(data: demo.DemoData) -> None:
    assert data.counts() == {"expenses": 150, "orders": 200, "recipes": 20}
    assert (data.start, data.end) == (TODAY - timedelta(days=89), TODAY)
    assert len(data.calls()) == 370


def test_scaled_sets_are_spread_subsets_with_the_same_request_ids(
    data: demo.DemoData,
) -> None:
    small = demo.generate(seed=42, today=TODAY, scale=0.1)
    assert small.counts() == {"expenses": 15, "orders": 20, "recipes": 2}
    for kind in ("recipes", "expenses", "orders"):
        full = {p["requestId"]: p for p in getattr(data, kind)}
        for payload in getattr(small, kind):
            assert full[payload["requestId"]] == payload
    days = sorted(parse_date(o["dataEntrega"]) for o in small.orders)
    assert (days[-1] - days[0]).days > 60
    assert demo.generate(seed=42, today=TODAY, scale=0.001).counts() == {
        "expenses": 1,
        "orders": 1,
        "recipes": 1,
    }
    for scale in (0, -1, 1.5):
        with pytest.raises(ValueError, match="scale"):
            demo.generate(scale=scale)


def test_request_ids_are_unique(data: demo.DemoData) -> None:
    ids = [payload["requestId"] for _, payload in data.calls()]
    assert len(set(ids)) == len(ids)
    assert all(i.startswith("demo-42-") for i in ids)


def test_expenses_look_like_a_confectioners(data: demo.DemoData) -> None:
    kinds = Counter(e["tipo"].lower() for e in data.expenses)
    assert kinds.most_common(1)[0][0] == "ingredientes"
    assert {"embalagens", "gás", "energia", "água", "transporte", "marketing"} <= set(
        kinds
    )
    suppliers = {e["fornecedor"] for e in data.expenses}
    assert {"Atacadão", "Assaí Atacadista", "Casa do Confeiteiro"} <= suppliers
    assert any("Embalagens" in s for s in suppliers)
    for expense in data.expenses:
        day = parse_date(expense["data"])
        assert data.start <= day <= data.end
        assert 1_000 <= parse_money(expense["valor"]) <= 150_000  # R$ 10 to R$ 1.500
    # Light and water come once a month.
    assert kinds["energia"] == kinds["água"] == 3


def test_orders_look_like_a_confectioners(data: demo.DemoData) -> None:
    names = set()
    for order in data.orders:
        day = parse_date(order["dataEntrega"])
        assert data.start <= day <= data.end + timedelta(days=14)
        assert order["status"] in STATUSES
        if day < data.end:
            assert order["status"] in {"entregue", "cancelado"}
        elif day > data.end:
            assert order["status"] in {"pendente", "confirmado", "em_producao"}
        assert 1 <= len(order["produtos"]) <= 3
        assert 100 <= parse_money(order["valor"]) <= 500_000  # R$ 1 to R$ 5.000
        for product in order["produtos"]:
            if isinstance(product, str):
                names.add(re.sub(r"^\d+x? ", "", product))
            else:
                assert set(product) == {"produto", "quantidade", "precoUnitario"}
                assert parse_money(product["precoUnitario"]) > 0
                names.add(product["produto"])
    for wanted in (
        "Brigadeiro gourmet",
        "Torta de limão",
        "Pão de mel",
        "Coxinha de frango",
    ):
        assert wanted in names
    assert any(n.startswith("Bolo de pote") for n in names)
    assert "Bolo de cenoura com cobertura" in names

    statuses = Counter(o["status"] for o in data.orders)
    past = sum(1 for o in data.orders if parse_date(o["dataEntrega"]) < data.end)
    assert statuses["entregue"] > 0.8 * past
    assert statuses["cancelado"] > 0
    assert statuses["pendente"] + statuses["confirmado"] > 0
    customers = Counter(o["cliente"] for o in data.orders)
    assert len(customers) >= 15 and customers.most_common(1)[0][1] >= 5


def test_object_products_add_up_to_the_order_value(data: demo.DemoData) -> None:
    checked = 0
    for order in data.orders:
        products = order["produtos"]
        if all(isinstance(p, dict) for p in products) and "observacoes" not in order:
            total = sum(
                round(parse_money(p["precoUnitario"]) * p["quantidade"])
                for p in products
            )
            assert parse_money(order["valor"]) == total
            checked += 1
    assert checked > 20


def test_recipes_use_the_apps_ingredient_styles(data: demo.DemoData) -> None:
    styles: Counter[str] = Counter()
    for recipe in data.recipes:
        assert recipe["recipeName"]
        assert parse_money(recipe["precoVenda"]) > 0
        ingredients = recipe["ingredients"]
        if isinstance(ingredients, str):
            styles["text block"] += 1
        elif all(isinstance(i, str) for i in ingredients):
            styles["lines"] += 1
        else:
            styles["objects"] += 1
            for item in ingredients:
                assert {"nome", "quantidade", "unidade", "custo"} <= set(item)
    assert set(styles) == {"text block", "lines", "objects"}, styles
    lines = [
        line
        for r in data.recipes
        if not isinstance(r["ingredients"], str)
        for line in r["ingredients"]
        if isinstance(line, str)
    ]
    assert "1 lata de leite condensado (395 g)" in lines
    assert "2 xícaras (chá) de farinha de trigo" in lines
    assert any(line.endswith(":") for line in lines)  # section headers


def test_money_and_dates_come_in_every_format_the_app_sends(
    data: demo.DemoData,
) -> None:
    money = [e["valor"] for e in data.expenses] + [o["valor"] for o in data.orders]
    assert set(map(_money_style, money)) == {"number", "R$", "text"}
    assert any(isinstance(v, str) and "." in v for v in money)  # thousands mark
    dates = [e["data"] for e in data.expenses] + [o["dataEntrega"] for o in data.orders]
    assert set(map(_date_style, dates)) == {"iso", "br"}


def test_every_payload_is_accepted_and_stored_as_sent(
    client: Any, alice: str, admin: str, data: demo.DemoData
) -> None:
    client.ok("assistenteHttp", {"intent": "setupDatabase"}, alice)
    client.ok("updateUserPlan", {"uid": "alice", "plan": "business"}, admin)
    for intent, payload in data.calls():
        status, body = client.intent(intent, payload, alice)
        assert status == 200, (intent, payload, body)

    stats = client.ok("getUserStats", None, alice)["stats"]
    assert stats["counts"] == data.counts()
    spent = sum(parse_money(e["valor"]) for e in data.expenses)
    sold = sum(
        parse_money(o["valor"]) for o in data.orders if o["status"] != "cancelado"
    )
    assert stats["totals"]["expenses"] == spent / 100
    assert stats["totals"]["orders"] == sold / 100
