"""Business figures for a period, computed from the user's stored records.

Pure functions over stored records (money in integer centavos, dates as ISO
text); the reply shape is Portuguese, money in reais. The same `Figures`
feed the deterministic text and, when configured, the model's prompt, so both
always speak of the same numbers.

Definitions: revenue is the total of the period's orders by delivery date,
cancelled orders excluded; expenses are those dated in the period; profit is
revenue less expenses; margin is profit over revenue. Month over month
compares the month the period ends in (up to its end) with the whole month
before it.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from functions.wire import reais

__all__ = ["Figures", "Period", "compute", "load_window", "previous_month_start"]

TOP = 5
UPCOMING_DAYS = 7
MAX_UPCOMING = 10
_CANCELLED = "cancelado"
_DONE = {"entregue", "cancelado"}


@dataclass(frozen=True)
class Period:
    """An inclusive range of calendar days."""

    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def contains(self, iso: Any) -> bool:
        return isinstance(iso, str) and self.start.isoformat() <= iso[:10] <= (
            self.end.isoformat()
        )


@dataclass(frozen=True)
class Figures:
    """The summary the app shows and the text is written from (JSON-able)."""

    summary: dict[str, Any]


def previous_month_start(day: date) -> date:
    """The first day of the month before `day`'s month."""
    first = day.replace(day=1)
    return (first - timedelta(days=1)).replace(day=1)


def load_window(period: Period, today: date) -> Period:
    """Every day whose records the figures of `period` need."""
    start = min(period.start, previous_month_start(period.end))
    end = max(period.end, today + timedelta(days=UPCOMING_DAYS))
    return Period(start, end)


def compute(
    period: Period,
    today: date,
    expenses: list[dict[str, Any]],
    orders: list[dict[str, Any]],
    recipes: list[dict[str, Any]],
) -> Figures:
    """The period's figures from records covering `load_window(period, today)`."""
    in_orders = [o for o in orders if period.contains(o.get("deliveryDate"))]
    sold = [o for o in in_orders if o.get("status") != _CANCELLED]
    in_expenses = [e for e in expenses if period.contains(e.get("date"))]

    revenue = sum(_cents(o.get("total")) for o in sold)
    spent = sum(_cents(e.get("amount")) for e in in_expenses)
    profit = revenue - spent
    summary = {
        "periodo": {
            "de": period.start.isoformat(),
            "ate": period.end.isoformat(),
            "dias": period.days,
        },
        "receita": reais(revenue),
        "despesas": reais(spent),
        "lucro": reais(profit),
        "margem": _percent(profit, revenue),
        "pedidos": len(sold),
        "ticketMedio": reais(round(revenue / len(sold))) if sold else None,
        "despesasPorTipo": _expenses_by_type(in_expenses, spent),
        "principaisClientes": _top_customers(sold),
        "principaisProdutos": _top_products(sold),
        "pedidosPorStatus": dict(
            sorted(Counter(str(o.get("status")) for o in in_orders).items())
        ),
        "proximasEntregas": _upcoming(orders, today),
        "mesAMes": _month_over_month(period.end, expenses, orders),
        "receitas": _recipes(recipes),
    }
    return Figures(summary)


def _cents(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _percent(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def _expenses_by_type(
    expenses: list[dict[str, Any]], spent: int
) -> list[dict[str, Any]]:
    by_type: dict[str, int] = defaultdict(int)
    for expense in expenses:
        by_type[str(expense.get("type") or "outros")] += _cents(expense.get("amount"))
    ranked = sorted(by_type.items(), key=lambda kv: (-kv[1], kv[0]))
    return [
        {"tipo": kind, "valor": reais(amount), "percentual": _percent(amount, spent)}
        for kind, amount in ranked
    ]


def _top_customers(orders: list[dict[str, Any]]) -> list[dict[str, Any]]:
    totals: dict[str, int] = defaultdict(int)
    counts: Counter[str] = Counter()
    for order in orders:
        name = str(order.get("customer") or "sem nome")
        totals[name] += _cents(order.get("total"))
        counts[name] += 1
    ranked = sorted(totals, key=lambda name: (-totals[name], name))[:TOP]
    return [
        {"cliente": name, "pedidos": counts[name], "valor": reais(totals[name])}
        for name in ranked
    ]


def _top_products(orders: list[dict[str, Any]]) -> list[dict[str, Any]]:
    quantities: dict[str, float] = defaultdict(float)
    values: dict[str, int] = defaultdict(int)
    priced: dict[str, bool] = defaultdict(lambda: True)
    spelling: dict[str, str] = {}
    for order in orders:
        for product in order.get("products") or []:
            name = str(product.get("name") or "").strip()
            if not name:
                continue
            key = name.lower()
            spelling.setdefault(key, name)
            quantity = float(product.get("quantity") or 0)
            quantities[key] += quantity
            price = product.get("unitPrice")
            if isinstance(price, int):
                values[key] += round(quantity * price)
            else:
                priced[key] = False
    ranked = sorted(quantities, key=lambda k: (-quantities[k], k))[:TOP]
    return [
        {
            "produto": spelling[key],
            "quantidade": round(quantities[key], 3),
            # Only when every order line of the product carried a unit price.
            "valor": reais(values[key]) if priced[key] else None,
        }
        for key in ranked
    ]


def _upcoming(orders: list[dict[str, Any]], today: date) -> list[dict[str, Any]]:
    window = Period(today, today + timedelta(days=UPCOMING_DAYS))
    pending = [
        o
        for o in orders
        if window.contains(o.get("deliveryDate")) and o.get("status") not in _DONE
    ]
    pending.sort(key=lambda o: (str(o.get("deliveryDate")), str(o.get("customer"))))
    return [
        {
            "cliente": o.get("customer"),
            "dataEntrega": o.get("deliveryDate"),
            "valor": reais(_cents(o.get("total"))),
            "status": o.get("status"),
        }
        for o in pending[:MAX_UPCOMING]
    ]


def _month_over_month(
    end: date, expenses: list[dict[str, Any]], orders: list[dict[str, Any]]
) -> dict[str, Any]:
    # The month so far against the same days of the month before: a month
    # three days old is not compared with a whole month.
    current = Period(end.replace(day=1), end)
    previous_start = previous_month_start(end)
    previous_end = min(
        previous_start + timedelta(days=end.day - 1),
        current.start - timedelta(days=1),
    )
    previous = Period(previous_start, previous_end)

    def revenue(period: Period) -> int:
        return sum(
            _cents(o.get("total"))
            for o in orders
            if period.contains(o.get("deliveryDate")) and o.get("status") != _CANCELLED
        )

    def spent(period: Period) -> int:
        return sum(
            _cents(e.get("amount")) for e in expenses if period.contains(e.get("date"))
        )

    now_rev, before_rev = revenue(current), revenue(previous)
    now_exp, before_exp = spent(current), spent(previous)
    return {
        "mesAtual": current.start.strftime("%Y-%m"),
        "mesAnterior": previous.start.strftime("%Y-%m"),
        "diaFinal": end.day,
        "receitaAtual": reais(now_rev),
        "receitaAnterior": reais(before_rev),
        "variacaoReceita": _change(now_rev, before_rev),
        "despesasAtual": reais(now_exp),
        "despesasAnterior": reais(before_exp),
        "variacaoDespesas": _change(now_exp, before_exp),
    }


def _change(now: int, before: int) -> float | None:
    """Percent change; None when there is nothing to compare with."""
    return round(100 * (now - before) / before, 1) if before else None


def _recipes(recipes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    result = []
    for recipe in recipes:
        ingredients = [
            i for i in recipe.get("ingredients") or [] if i.get("quantity") is not None
        ]
        costs = [i.get("cost") for i in ingredients]
        if not costs or not all(isinstance(c, int) for c in costs):
            continue  # cost unknown for some ingredient: no honest figure
        total = sum(c for c in costs if isinstance(c, int))
        servings = recipe.get("yield")
        unit_cost = (
            round(total / servings) if isinstance(servings, int) and servings else None
        )
        price = recipe.get("salePrice")
        # Limitation: the app does not say whether `precoVenda` is the price
        # of one unit or of the whole batch; it is read as per unit (what a
        # baker quotes), so the margin compares it with the cost per unit.
        margin = None
        if isinstance(price, int) and price and unit_cost is not None:
            margin = _percent(price - unit_cost, price)
        result.append(
            {
                "nome": recipe.get("name"),
                "custoTotal": reais(total),
                "rendimento": servings,
                "custoPorUnidade": reais(unit_cost),
                "precoVenda": reais(price if isinstance(price, int) else None),
                "margem": margin,
            }
        )
    result.sort(key=lambda r: str(r["nome"]))
    return result
