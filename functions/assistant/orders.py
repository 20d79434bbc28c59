"""Customer orders: who ordered what, for when, for how much, and where it stands."""

from __future__ import annotations

import re
from typing import Any

from functions.assistant import records
from functions.assistant.listing import DEFAULT_PAGE, ListParams, date_filters
from functions.auth import Caller
from functions.cache import Category
from functions.errors import InvalidArgument
from functions.plans import Usage
from functions.services import Services
from functions.store.base import Doc, Filter
from functions.validation import Payload, clean_text
from functions.wire import jsonable, reais

__all__ = [
    "ORDERS",
    "STATUSES",
    "delete_order",
    "list_orders",
    "record_order",
    "update_order",
]

STATUSES = ("pendente", "confirmado", "em_producao", "pronto", "entregue", "cancelado")
MAX_PRODUCTS = 100
_MAX_QUANTITY = 100_000
_LEADING_QUANTITY = re.compile(
    r"^\s*(\d{1,6}(?:[.,]\d{1,3})?)\s*(?:x\b|x(?=\s)|un\b|\s)"
)
_STATUS_ALIASES = {"em produção": "em_producao", "em producao": "em_producao"}


def _product(entry: Any) -> dict[str, Any]:
    """A product line from a string (`2x Bolo de pote`) or an object."""
    if isinstance(entry, str):
        text = clean_text(entry, 200)
        quantity = 1.0
        match = _LEADING_QUANTITY.match(text)
        if match and text[match.end() :].strip():
            quantity = float(match.group(1).replace(",", "."))
            text = text[match.end() :].strip()
        if not 0 < quantity <= _MAX_QUANTITY:
            raise ValueError("quantidade inválida")
        return {"name": text, "quantity": quantity, "unitPrice": None}
    if not isinstance(entry, dict):
        raise ValueError("esperado um texto ou um objeto com produto")
    item = Payload(entry)
    name = item.text("produto", required=True, max_len=200)
    amount = item.number("quantidade", 0.001, _MAX_QUANTITY)
    price = item.money("precoUnitario", allow_zero=True)
    if item.errors:
        raise ValueError("; ".join(f"{k}: {v}" for k, v in item.errors.items()))
    return {
        "name": name,
        "quantity": amount if amount is not None else 1.0,
        "unitPrice": price,
    }


def _status(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("use um destes valores: " + ", ".join(STATUSES))
    normal = value.strip().lower()
    normal = _STATUS_ALIASES.get(normal, normal.replace(" ", "_"))
    if normal not in STATUSES:
        raise ValueError("use um destes valores: " + ", ".join(STATUSES))
    return normal


def _shape(doc: Doc) -> dict[str, Any]:
    data = doc.data
    return jsonable(
        {
            "id": doc.id,
            "cliente": data.get("customer"),
            "produtos": [
                {
                    "produto": p.get("name"),
                    "quantidade": p.get("quantity"),
                    "precoUnitario": reais(p.get("unitPrice")),
                }
                for p in data.get("products", [])
            ],
            "dataEntrega": data.get("deliveryDate"),
            "valor": reais(data.get("total")),
            "status": data.get("status"),
            "observacoes": data.get("notes"),
            "criadoEm": data.get("createdAt"),
            "atualizadoEm": data.get("updatedAt"),
        }
    )


ORDERS = records.Kind(
    collection="orders",
    category=Category.ORDERS,
    usage=Usage.ORDERS,
    not_found="Pedido não encontrado.",
    order_by=(("deliveryDate", "desc"),),
    page_size=DEFAULT_PAGE,
    shape=_shape,
)


def _read_fields(payload: Payload, required: bool) -> dict[str, Any]:
    """The order fields present in `payload`, in stored form."""
    fields: dict[str, Any] = {
        "customer": payload.text("cliente", required=required, max_len=200),
        "products": payload.items("produtos", _product, MAX_PRODUCTS, required),
        "deliveryDate": payload.date("dataEntrega", required=required),
        "total": payload.money("valor", required=required),
        "status": payload.read("status", False, _status),
        "notes": payload.text("observacoes", max_len=1000),
    }
    if fields["deliveryDate"] is not None:
        fields["deliveryDate"] = fields["deliveryDate"].isoformat()
    return fields


def record_order(services: Services, caller: Caller, data: Any) -> dict[str, Any]:
    """Store a customer order from the app's payload; returns its id."""
    caller.require_user()
    payload = Payload(data)
    order = _read_fields(payload, required=True)
    request_id = payload.request_id()
    payload.done("Não foi possível registrar o pedido: verifique os campos.")
    order["status"] = order["status"] or "pendente"

    order_id, created = records.create(services, caller, ORDERS, order, request_id)
    return {
        "message": "Pedido registrado com sucesso."
        if created
        else "Pedido já registrado.",
        "orderId": order_id,
    }


def list_orders(services: Services, caller: Caller, data: Any) -> dict[str, Any]:
    """A page of the caller's orders by delivery date, newest first."""
    caller.require_user()
    payload = Payload(data)
    params = ListParams.read(payload, ORDERS.page_size)
    status = payload.read("status", False, _status)
    payload.done()

    filters = date_filters("deliveryDate", params)
    if status:
        filters = (Filter("status", "==", status), *filters)
    items, next_cursor, cached = records.list_page(
        services,
        caller,
        ORDERS,
        filters=filters,
        order_by=ORDERS.order_by,
        limit=params.limit,
        cursor=params.cursor,
        shape=ORDERS.shape,
    )
    return {
        "message": f"{len(items)} pedido(s) encontrado(s).",
        "orders": items,
        "nextCursor": next_cursor,
        "cached": cached,
    }


def update_order(services: Services, caller: Caller, data: Any) -> dict[str, Any]:
    """Change the fields sent (status, customer, products, date, value, notes)."""
    payload = Payload(data)
    order_id = payload.doc_id("id")
    fields = {k: v for k, v in _read_fields(payload, required=False).items() if v}
    known = {
        "id",
        "cliente",
        "produtos",
        "dataEntrega",
        "valor",
        "status",
        "observacoes",
    }
    for key in sorted(set(payload.raw) - known - {"requestId"}):
        payload.errors[key] = "campo desconhecido"
    if not fields and not payload.errors:
        payload.errors["status"] = "envie ao menos um campo para alterar"
    payload.done("Não foi possível atualizar o pedido: verifique os campos.")
    if order_id is None:
        raise InvalidArgument()

    updated = records.update(services, caller, ORDERS, order_id, lambda _: fields)
    return {
        "message": "Pedido atualizado.",
        "order": _shape(
            Doc(records.record_path(caller.uid or "", ORDERS, order_id), updated)
        ),
    }


def delete_order(services: Services, caller: Caller, data: Any) -> dict[str, Any]:
    """Remove one of the caller's orders by id."""
    records.delete_requested(services, caller, ORDERS, data)
    return {"message": "Pedido excluído."}
