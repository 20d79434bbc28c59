"""The deterministic Portuguese text of an analysis, from its figures alone.

Used when no model is configured and whenever the model fails. It answers the
common questions (profit, costs, best products and customers, deliveries,
recipe margins, what to improve) by picking the sections the question asks
for; a question it does not recognise gets the overview.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from typing import Any

__all__ = ["brl", "normalise_question", "write"]

_TOPICS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("profit", re.compile(r"lucr|ganh|sobr|resultado|margem|fatur|receita\b")),
    ("costs", re.compile(r"cust|gast|despes|compr|conta")),
    ("products", re.compile(r"produt|vend|sabor|item|itens")),
    ("customers", re.compile(r"client|fregues")),
    ("deliveries", re.compile(r"entreg|agenda|pedido|encomend")),
    ("recipes", re.compile(r"receitas|preco|precific|cobr")),
    ("advice", re.compile(r"melhor|dica|aument|reduz|econom|conselho|fazer|ajud")),
)


def normalise_question(question: str) -> str:
    """Lower case, no accents, no punctuation, single spaces (the cache key)."""
    folded = unicodedata.normalize("NFKD", question.lower())
    plain = "".join(c for c in folded if not unicodedata.combining(c))
    return " ".join(re.sub(r"[^\w\s]", " ", plain).split())


def brl(value: float | None) -> str:
    """`1234.5` as `R$ 1.234,50`."""
    if value is None:
        return "—"
    sign = "-" if value < 0 else ""
    whole = f"{abs(value):,.2f}".replace(",", "X").replace(".", ",").replace("X", ".")
    return f"{sign}R$ {whole}"


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}%".replace(".", ",")


def write(summary: dict[str, Any], question: str) -> str:
    """Paragraphs answering `question` from `summary` (see functions.analysis)."""
    asked = normalise_question(question)
    topics = [name for name, pattern in _TOPICS if pattern.search(asked)]
    if not topics:
        topics = ["profit", "costs", "products", "deliveries", "advice"]
    writers: dict[str, Callable[[dict[str, Any]], str]] = {
        "profit": _profit,
        "costs": _costs,
        "products": _products,
        "customers": _customers,
        "deliveries": _deliveries,
        "recipes": _recipes,
        "advice": _advice,
    }
    parts = [_headline(summary)]
    parts += [writers[name](summary) for name in topics if name != "profit"]
    if "profit" in topics:
        parts.insert(1, _profit(summary))
    return "\n\n".join(part for part in parts if part)


def _headline(s: dict[str, Any]) -> str:
    period = s["periodo"]
    return (
        f"Período de {_date(period['de'])} a {_date(period['ate'])} "
        f"({period['dias']} dias)."
    )


def _date(iso: str) -> str:
    year, month, day = iso[:10].split("-")
    return f"{day}/{month}/{year}"


def _profit(s: dict[str, Any]) -> str:
    if not s["pedidos"] and not s["despesas"]:
        return "Não há pedidos nem despesas registrados neste período."
    verdict = "lucro" if s["lucro"] >= 0 else "prejuízo"
    text = (
        f"Receita de {brl(s['receita'])} em {s['pedidos']} pedido(s) e despesas de "
        f"{brl(s['despesas'])}: {verdict} de {brl(abs(s['lucro']))}"
    )
    if s["margem"] is not None:
        text += f" (margem de {_pct(s['margem'])})"
    text += "."
    if s["ticketMedio"] is not None:
        text += f" Ticket médio de {brl(s['ticketMedio'])} por pedido."
    mom = s["mesAMes"]
    if mom["variacaoReceita"] is not None:
        direction = "subiu" if mom["variacaoReceita"] >= 0 else "caiu"
        text += (
            f" Até o dia {mom['diaFinal']}, a receita de {_month_name(mom['mesAtual'])}"
            f" {direction} {_pct(abs(mom['variacaoReceita']))} em relação ao mesmo"
            f" período de {_month_name(mom['mesAnterior'])}."
        )
    return text


def _costs(s: dict[str, Any]) -> str:
    kinds = s["despesasPorTipo"]
    if not kinds:
        return "Nenhuma despesa registrada no período."
    listed = "; ".join(
        f"{k['tipo']}: {brl(k['valor'])} ({_pct(k['percentual'])})" for k in kinds[:5]
    )
    return f"Despesas por tipo — {listed}."


def _products(s: dict[str, Any]) -> str:
    products = s["principaisProdutos"]
    if not products:
        return "Ainda não há produtos vendidos no período."
    listed = ", ".join(
        f"{p['produto']} ({p['quantidade']:g} un.)" for p in products[:3]
    )
    return f"Produtos mais vendidos: {listed}."


def _customers(s: dict[str, Any]) -> str:
    customers = s["principaisClientes"]
    if not customers:
        return "Nenhum cliente com pedidos no período."
    listed = ", ".join(
        f"{c['cliente']} ({c['pedidos']} pedido(s), {brl(c['valor'])})"
        for c in customers[:3]
    )
    return f"Principais clientes: {listed}."


def _deliveries(s: dict[str, Any]) -> str:
    upcoming = s["proximasEntregas"]
    status = ", ".join(f"{k}: {v}" for k, v in s["pedidosPorStatus"].items())
    text = f"Pedidos por status — {status}." if status else ""
    if upcoming:
        listed = ", ".join(
            f"{o['cliente']} em {_date(o['dataEntrega'])}" for o in upcoming[:5]
        )
        text += f" Próximas entregas (7 dias): {listed}."
    else:
        text += " Nenhuma entrega pendente nos próximos 7 dias."
    return text.strip()


def _recipes(s: dict[str, Any]) -> str:
    recipes = s["receitas"]
    if not recipes:
        return (
            "Cadastre o custo dos ingredientes nas receitas para ver o custo "
            "e a margem de cada uma."
        )
    lines = []
    for r in recipes[:5]:
        line = f"{r['nome']}: custo {brl(r['custoTotal'])}"
        if r["custoPorUnidade"] is not None:
            line += f" ({brl(r['custoPorUnidade'])} por unidade)"
        if r["margem"] is not None:
            line += f", margem {_pct(r['margem'])}"
        lines.append(line)
    return "Custo das receitas — " + "; ".join(lines) + "."


def _advice(s: dict[str, Any]) -> str:
    tips = []
    if s["margem"] is not None and s["margem"] < 30:
        tips.append(
            "a margem está abaixo de 30%: revise preços ou o custo dos ingredientes"
        )
    if s["lucro"] < 0:
        tips.append("as despesas superam a receita: corte gastos que não geram venda")
    kinds = s["despesasPorTipo"]
    if kinds and kinds[0]["percentual"] and kinds[0]["percentual"] > 50:
        tips.append(
            f"{kinds[0]['tipo']} concentra {_pct(kinds[0]['percentual'])} dos gastos: "
            "compare fornecedores ou compre em maior volume"
        )
    low = [r for r in s["receitas"] if r["margem"] is not None and r["margem"] < 40]
    if low:
        tips.append(f"a receita {low[0]['nome']} tem margem baixa")
    if s["principaisProdutos"]:
        tips.append(
            f"divulgue mais {s['principaisProdutos'][0]['produto']}, "
            "o seu campeão de vendas"
        )
    if not tips:
        return "Registre pedidos e despesas para receber sugestões."
    return "Sugestões: " + "; ".join(tips) + "."


_MONTHS = (
    "janeiro",
    "fevereiro",
    "março",
    "abril",
    "maio",
    "junho",
    "julho",
    "agosto",
    "setembro",
    "outubro",
    "novembro",
    "dezembro",
)


def _month_name(month: str) -> str:
    """`2026-12` as `dezembro de 2026`."""
    year, number = month.split("-")
    return f"{_MONTHS[int(number) - 1]} de {year}"
