"""Intents of `assistenteHttp`: names the app sends, mapped to services.

Every reply is `{"success": true, "message": ..., <data keys>}`; failures are
raised as domain errors and become the callable protocol's error body.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from functions import users
from functions.assistant import advisor, documents, expenses, orders, recipes
from functions.auth import Caller
from functions.errors import InvalidArgument
from functions.services import Services
from functions.validation import require_mapping

__all__ = ["INTENTS", "VERSION", "handle"]

VERSION = "1.0.0"

Handler = Callable[[Services, Caller, Any], dict[str, Any]]


def _health(services: Services, caller: Caller, data: Any) -> dict[str, Any]:
    return {
        "message": "Assistente funcionando.",
        "version": VERSION,
        "features": sorted(INTENTS),
        "cache": services.cache.stats(),
        "timestamp": datetime.now(UTC).isoformat(),
    }


def _setup(services: Services, caller: Caller, data: Any) -> dict[str, Any]:
    reply = users.setup_profile(services, caller, data)
    reply["message"] = (
        "Perfil criado com sucesso." if reply["created"] else "Perfil já existente."
    )
    return reply


def _cache_stats(services: Services, caller: Caller, data: Any) -> dict[str, Any]:
    caller.require_user()
    return {"message": "Estatísticas do cache.", "stats": services.cache.stats()}


def _invalidate(services: Services, caller: Caller, data: Any) -> dict[str, Any]:
    reply = users.clear_cache(services, caller, data)
    return {"message": "Cache limpo.", **reply}


INTENTS: dict[str, Handler] = {
    "healthCheck": _health,
    "setupDatabase": _setup,
    "registrarDespesa": expenses.record_expense,
    "listarDespesas": expenses.list_expenses,
    "excluirDespesa": expenses.delete_expense,
    "registrarPedido": orders.record_order,
    "listarPedidos": orders.list_orders,
    "atualizarPedido": orders.update_order,
    "excluirPedido": orders.delete_order,
    "criarNovaReceita": recipes.create_recipe,
    "listarReceitas": recipes.list_recipes,
    "excluirReceita": recipes.delete_recipe,
    "processarDocumento": documents.process_document,
    "gerarAnalise": advisor.generate_analysis,
    "getCacheStats": _cache_stats,
    "invalidateCache": _invalidate,
}
_PUBLIC = {"healthCheck"}


def intent_of(data: Any) -> str | None:
    """The intent name of a request body, when it has a usable one."""
    if isinstance(data, dict) and isinstance(data.get("intent"), str):
        name: str = data["intent"]
        return name if name in INTENTS else None
    return None


def handle(services: Services, caller: Caller, data: Any) -> dict[str, Any]:
    """Run the intent named in `data` with its payload; the app's reply shape."""
    body = require_mapping(data, "data")
    intent = body.get("intent")
    if not isinstance(intent, str) or intent not in INTENTS:
        valid = ", ".join(sorted(INTENTS))
        raise InvalidArgument(
            f"Intenção desconhecida. Use uma destas: {valid}.",
            {"intent": "intenção desconhecida"},
            validIntents=sorted(INTENTS),
        )
    if intent not in _PUBLIC:
        caller.require_user()
    reply = INTENTS[intent](services, caller, body.get("payload"))
    return {"success": True, **reply}
