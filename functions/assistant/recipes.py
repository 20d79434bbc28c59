"""Recipes: ingredients parsed from the app's lines or objects, yield and price."""

from __future__ import annotations

import re
from typing import Any

from functions import parsing
from functions.assistant import records
from functions.auth import Caller
from functions.cache import Category
from functions.plans import Usage
from functions.services import Services
from functions.store.base import Doc
from functions.validation import Payload
from functions.wire import jsonable, reais

__all__ = ["RECIPES", "create_recipe", "delete_recipe", "list_recipes"]

MAX_INGREDIENTS = 200
MAX_LISTED = 500
_MAX_LINE = 500


def _from_parsed(item: parsing.Ingredient, line: str | None) -> dict[str, Any]:
    return {
        "name": item.name,
        "quantity": item.quantity,
        "quantityMax": item.quantity_max,
        "unit": item.unit,
        "weight": item.weight,
        "weightUnit": item.weight_unit,
        "notes": list(item.notes),
        "section": item.section,
        "cost": None,
        "line": line,
    }


def _from_object(entry: dict[str, Any]) -> dict[str, Any]:
    item = Payload(entry)
    name = item.text("nome", required=True, max_len=200)
    quantity = item.number("quantidade", 0, 1_000_000)
    unit = item.text("unidade", max_len=40)
    cost = item.money("custo", allow_zero=True)
    section = item.text("secao", max_len=100)
    if item.errors:
        raise ValueError("; ".join(f"{k}: {v}" for k, v in item.errors.items()))
    return {
        "name": name,
        "quantity": quantity,
        "quantityMax": None,
        "unit": unit or "unidade",
        "weight": None,
        "weightUnit": None,
        "notes": [],
        "section": section,
        "cost": cost,
        "line": None,
    }


def _read_ingredients(payload: Payload) -> list[dict[str, Any]] | None:
    """Ingredients from a text block, a list of lines, or a list of objects."""
    raw = payload.raw.get("ingredients")
    if isinstance(raw, str):
        if len(raw) > MAX_INGREDIENTS * _MAX_LINE:
            payload.errors["ingredients"] = "texto de ingredientes longo demais"
            return None
        raw = parsing.split_ingredient_text(raw)
    if not isinstance(raw, list):
        payload.errors["ingredients"] = (
            "campo obrigatório" if raw is None else "esperada uma lista"
        )
        return None
    if len(raw) > MAX_INGREDIENTS:
        payload.errors["ingredients"] = f"no máximo {MAX_INGREDIENTS} ingredientes"
        return None

    result: list[dict[str, Any]] = []
    section: str | None = None
    for index, entry in enumerate(raw):
        try:
            if isinstance(entry, dict):
                result.append(_from_object(entry))
            elif isinstance(entry, str):
                if len(entry) > _MAX_LINE:
                    raise ValueError(f"no máximo {_MAX_LINE} caracteres")
                if parsing.is_section_header(entry):
                    section = " ".join(entry.split()).strip(" :-")
                    continue
                for piece in parsing.split_ingredient_text(entry):
                    if parsing.is_section_header(piece):
                        section = " ".join(piece.split()).strip(" :-")
                        continue
                    parsed = parsing.parse_ingredient_line(piece, section)
                    if parsed is not None:
                        result.append(_from_parsed(parsed, piece))
            else:
                raise ValueError("esperado um texto ou um objeto com nome")
        except ValueError as err:
            payload.errors[f"ingredients[{index}]"] = str(err) or "ingrediente inválido"
    if not result and "ingredients" not in payload.errors:
        payload.errors["ingredients"] = "informe ao menos um ingrediente"
    return result


# A yield is a whole count: a sign, a fraction, a decimal or an exponent next
# to a digit means the text says something else.
_NOT_A_COUNT = re.compile(r"-\s*\d|\d\s*[/,.]\s*\d|\d[eE][+-]?\d")


def _read_yield(payload: Payload) -> int | None:
    raw = payload.raw.get("rendimento")
    if isinstance(raw, str) and _NOT_A_COUNT.search(raw):
        payload.errors["rendimento"] = "informe um número inteiro de unidades"
        return None
    if isinstance(raw, str) and len(raw) <= 200 and not raw.strip().isdigit():
        value = parsing.parse_yield(raw)
        if value is None or not 0 < value <= 100_000:
            payload.errors["rendimento"] = "informe quantas unidades a receita rende"
        return value
    return payload.integer("rendimento", 1, 100_000)


def _shape(doc: Doc) -> dict[str, Any]:
    data = doc.data
    ingredients = data.get("ingredients", [])
    costs = [i.get("cost") for i in ingredients if i.get("quantity") is not None]
    known = [c for c in costs if isinstance(c, int)]
    total = sum(known) if known else None
    servings = data.get("yield")
    return jsonable(
        {
            "id": doc.id,
            "recipeName": data.get("name"),
            "ingredients": [
                {
                    "nome": i.get("name"),
                    "quantidade": i.get("quantity"),
                    "quantidadeMax": i.get("quantityMax"),
                    "unidade": i.get("unit"),
                    "peso": i.get("weight"),
                    "unidadePeso": i.get("weightUnit"),
                    "observacoes": i.get("notes", []),
                    "secao": i.get("section"),
                    "custo": reais(i.get("cost")),
                    "linha": i.get("line"),
                }
                for i in ingredients
            ],
            "rendimento": servings,
            "precoVenda": reais(data.get("salePrice")),
            "custoTotal": reais(total),
            "custosCompletos": total is not None and len(known) == len(costs),
            "custoPorUnidade": reais(round(total / servings))
            if total is not None and servings
            else None,
            "criadoEm": data.get("createdAt"),
        }
    )


RECIPES = records.Kind(
    collection="recipes",
    category=Category.RECIPES,
    usage=Usage.RECIPES,
    not_found="Receita não encontrada.",
    order_by=(("name", "asc"),),
    page_size=MAX_LISTED,
    shape=_shape,
)


def create_recipe(services: Services, caller: Caller, data: Any) -> dict[str, Any]:
    """Store a recipe with its parsed ingredients; returns its id."""
    caller.require_user()
    payload = Payload(data)
    name = payload.text("recipeName", required=True, max_len=200)
    ingredients = _read_ingredients(payload)
    servings = _read_yield(payload)
    price = payload.money("precoVenda")
    request_id = payload.request_id()
    payload.done("Não foi possível salvar a receita: verifique os campos.")

    recipe = {
        "name": name,
        "ingredients": ingredients,
        "yield": servings,
        "salePrice": price,
    }
    recipe_id, created = records.create(services, caller, RECIPES, recipe, request_id)
    return {
        "message": "Receita salva com sucesso." if created else "Receita já salva.",
        "recipeId": recipe_id,
    }


def list_recipes(services: Services, caller: Caller, data: Any) -> dict[str, Any]:
    """Every recipe of the caller (up to 500), by name."""
    caller.require_user()
    Payload(data).done()
    items, _, cached = records.list_default(services, caller, RECIPES)
    return {
        "message": f"{len(items)} receita(s) encontrada(s).",
        "recipes": items,
        "cached": cached,
    }


def delete_recipe(services: Services, caller: Caller, data: Any) -> dict[str, Any]:
    """Remove one of the caller's recipes by id."""
    records.delete_requested(services, caller, RECIPES, data)
    return {"message": "Receita excluída."}
