"""Expenses: what the business spent, on what, with whom."""

from __future__ import annotations

from typing import Any

from functions.assistant import records
from functions.assistant.listing import DEFAULT_PAGE, ListParams, date_filters
from functions.auth import Caller
from functions.cache import Category
from functions.plans import Usage
from functions.services import Services
from functions.store.base import Doc, Filter
from functions.validation import Payload
from functions.wire import jsonable, reais

__all__ = ["EXPENSES", "delete_expense", "list_expenses", "record_expense"]


def _shape(doc: Doc) -> dict[str, Any]:
    data = doc.data
    return jsonable(
        {
            "id": doc.id,
            "data": data.get("date"),
            "tipo": data.get("type"),
            "valor": reais(data.get("amount")),
            "fornecedor": data.get("supplier"),
            "descricao": data.get("description"),
            "origem": data.get("source"),
            "criadoEm": data.get("createdAt"),
        }
    )


EXPENSES = records.Kind(
    collection="expenses",
    category=Category.EXPENSES,
    usage=Usage.EXPENSES,
    not_found="Despesa não encontrada.",
    order_by=(("date", "desc"),),
    page_size=DEFAULT_PAGE,
    shape=_shape,
)


def _type(value: str) -> str:
    return value.lower()


def record_expense(services: Services, caller: Caller, data: Any) -> dict[str, Any]:
    """Store an expense from the app's payload; returns its id."""
    caller.require_user()
    payload = Payload(data)
    day = payload.date("data", required=True)
    kind = payload.text("tipo", required=True, max_len=60)
    amount = payload.money("valor", required=True)
    supplier = payload.text("fornecedor", required=True, max_len=200)
    description = payload.text("descricao", max_len=1000)
    request_id = payload.request_id()
    payload.done("Não foi possível registrar a despesa: verifique os campos.")
    assert day is not None and kind is not None

    expense = {
        "date": day.isoformat(),
        "type": _type(kind),
        "amount": amount,
        "supplier": supplier,
        "description": description,
        "source": "app",
    }
    expense_id, created = records.create(
        services, caller, EXPENSES, expense, request_id
    )
    return {
        "message": "Despesa registrada com sucesso."
        if created
        else "Despesa já registrada.",
        "expenseId": expense_id,
    }


def list_expenses(services: Services, caller: Caller, data: Any) -> dict[str, Any]:
    """A page of the caller's expenses, newest date first, with filters."""
    caller.require_user()
    payload = Payload(data)
    params = ListParams.read(payload, EXPENSES.page_size)
    kind = payload.text("tipo", max_len=60)
    payload.done()

    filters = date_filters("date", params)
    if kind:
        filters = (Filter("type", "==", _type(kind)), *filters)
    items, next_cursor, cached = records.list_page(
        services,
        caller,
        EXPENSES,
        filters=filters,
        order_by=EXPENSES.order_by,
        limit=params.limit,
        cursor=params.cursor,
        shape=EXPENSES.shape,
    )
    return {
        "message": f"{len(items)} despesa(s) encontrada(s).",
        "expenses": items,
        "nextCursor": next_cursor,
        "cached": cached,
    }


def delete_expense(services: Services, caller: Caller, data: Any) -> dict[str, Any]:
    """Remove one of the caller's expenses by id."""
    records.delete_requested(services, caller, EXPENSES, data)
    return {"message": "Despesa excluída."}
