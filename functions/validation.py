"""Reading the app's payloads: each field checked, every problem reported at once.

A `Payload` wraps the raw dict; its readers return clean values and record a
Portuguese message per bad field. `done()` raises InvalidArgument naming every
bad field, so the app can highlight them all in one round trip.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from datetime import date
from typing import Any, TypeVar

from functions import parsing
from functions.errors import InvalidArgument

__all__ = ["MAX_TEXT", "Payload", "require_mapping"]

T = TypeVar("T")

MAX_TEXT = 500
_REQUEST_ID = re.compile(r"^[A-Za-z0-9_.:\-]{1,100}$")
_DOC_ID = re.compile(r"^[A-Za-z0-9_\-]{1,128}$")
_MAX_MONEY_CENTS = 100_000_000  # R$ 1.000.000,00 for one expense or order
_MISSING = object()


def require_mapping(data: Any, name: str = "payload") -> dict[str, Any]:
    """`data` as a dict; InvalidArgument when it is anything else."""
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InvalidArgument(
            f"O campo {name} deve ser um objeto.", {name: "esperado um objeto"}
        )
    return data


class Payload:
    """Typed, validated access to the fields of one payload."""

    def __init__(self, data: Any, name: str = "payload") -> None:
        self.raw = require_mapping(data, name)
        self.errors: dict[str, str] = {}

    def has(self, key: str) -> bool:
        return self.raw.get(key) is not None

    def read(self, key: str, required: bool, convert: Callable[[Any], T]) -> T | None:
        """The field converted by `convert`; a ValueError becomes the field's error."""
        value = self.raw.get(key, _MISSING)
        if value is _MISSING or value is None or value == "":
            if required:
                self.errors[key] = "campo obrigatório"
            return None
        try:
            return convert(value)
        except (ValueError, TypeError, OverflowError) as err:
            self.errors[key] = str(err) or "valor inválido"
            return None

    def text(self, key: str, required: bool = False, max_len: int = 200) -> str | None:
        """A trimmed non-empty string of at most `max_len` characters."""
        return self.read(key, required, lambda v: clean_text(v, max_len))

    def money(
        self, key: str, required: bool = False, allow_zero: bool = False
    ) -> int | None:
        """A positive amount in centavos, from a number or Brazilian text."""
        return self.read(key, required, lambda v: positive_money(v, allow_zero))

    def date(self, key: str, required: bool = False) -> date | None:
        """A calendar date from ISO or Brazilian text, years 2000 to 2100."""
        return self.read(key, required, app_date)

    def choice(
        self, key: str, options: Iterable[str], required: bool = False
    ) -> str | None:
        """One of `options`, compared without case or surrounding spaces."""
        allowed = list(options)

        def convert(value: Any) -> str:
            if not isinstance(value, str) or value.strip().lower() not in allowed:
                raise ValueError("use um destes valores: " + ", ".join(allowed))
            return value.strip().lower()

        return self.read(key, required, convert)

    def integer(
        self, key: str, low: int, high: int, required: bool = False
    ) -> int | None:
        """A whole number between `low` and `high`."""

        def convert(value: Any) -> int:
            if isinstance(value, bool):
                raise ValueError("esperado um número inteiro")
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            if isinstance(value, str) and value.strip().isdigit():
                value = int(value.strip())
            if not isinstance(value, int):
                raise ValueError("esperado um número inteiro")
            if not low <= value <= high:
                raise ValueError(f"esperado um número entre {low} e {high}")
            return value

        return self.read(key, required, convert)

    def number(
        self, key: str, low: float, high: float, required: bool = False
    ) -> float | None:
        """A finite number between `low` and `high` (comma decimals accepted)."""

        def convert(value: Any) -> float:
            if isinstance(value, bool):
                raise ValueError("esperado um número")
            if isinstance(value, str) and len(value) <= 30:
                value = float(value.strip().replace(",", "."))
            if not isinstance(value, int | float) or not math.isfinite(value):
                raise ValueError("esperado um número")
            if not low <= value <= high:
                raise ValueError(f"esperado um número entre {low:g} e {high:g}")
            return float(value)

        return self.read(key, required, convert)

    def boolean(self, key: str, required: bool = False) -> bool | None:
        def convert(value: Any) -> bool:
            if not isinstance(value, bool):
                raise ValueError("esperado verdadeiro ou falso")
            return value

        return self.read(key, required, convert)

    def doc_id(self, key: str = "id", required: bool = True) -> str | None:
        """A document id as the app received it from a create or a listing."""

        def convert(value: Any) -> str:
            if not isinstance(value, str) or not _DOC_ID.match(value):
                raise ValueError("identificador inválido")
            return value

        return self.read(key, required, convert)

    def request_id(self) -> str | None:
        """The optional idempotency key of a create (`requestId`)."""

        def convert(value: Any) -> str:
            if not isinstance(value, str) or not _REQUEST_ID.match(value):
                raise ValueError("use até 100 letras, números, _ . : ou -")
            return value

        return self.read("requestId", False, convert)

    def cursor(self) -> str | None:
        def convert(value: Any) -> str:
            if not isinstance(value, str) or len(value) > 1000:
                raise ValueError("cursor inválido")
            return value

        return self.read("cursor", False, convert)

    def items(
        self, key: str, read_one: Callable[[Any], T], max_items: int, required: bool
    ) -> list[T] | None:
        """A list of at most `max_items` entries, each read by `read_one`.

        Errors name the entry, as in `produtos[3]`.
        """
        value = self.raw.get(key, _MISSING)
        if value is _MISSING or value is None:
            if required:
                self.errors[key] = "campo obrigatório"
            return None
        if not isinstance(value, list):
            self.errors[key] = "esperada uma lista"
            return None
        if not value and required:
            self.errors[key] = "a lista não pode ser vazia"
            return None
        if len(value) > max_items:
            self.errors[key] = f"no máximo {max_items} itens"
            return None
        result: list[T] = []
        for index, entry in enumerate(value):
            try:
                result.append(read_one(entry))
            except (ValueError, TypeError, OverflowError) as err:
                self.errors[f"{key}[{index}]"] = str(err) or "valor inválido"
        return result

    def done(self, message: str = "Verifique os campos destacados.") -> None:
        """Raise InvalidArgument naming every bad field, if there is one."""
        if self.errors:
            raise InvalidArgument(message, dict(self.errors))


def clean_text(value: Any, max_len: int = 200) -> str:
    """`value` as trimmed text; ValueError when empty, not text or too long."""
    if not isinstance(value, str):
        raise ValueError("esperado um texto")
    text = " ".join(value.split())
    if not text:
        raise ValueError("o texto não pode ser vazio")
    if len(text) > max_len:
        raise ValueError(f"no máximo {max_len} caracteres")
    return text


def positive_money(value: Any, allow_zero: bool = False) -> int:
    """Centavos of a positive amount up to R$ 1.000.000,00."""
    if isinstance(value, str) and len(value) > 40:
        raise ValueError("valor em reais inválido")
    cents = parsing.parse_money(value)
    if cents < 0 or (cents == 0 and not allow_zero):
        raise ValueError("o valor deve ser maior que zero")
    if cents > _MAX_MONEY_CENTS:
        raise ValueError("valor acima de R$ 1.000.000,00")
    return cents


def app_date(value: Any) -> date:
    """A date the app sent, between the years 2000 and 2100."""
    if isinstance(value, str) and len(value) > 40:
        raise ValueError("data inválida")
    day = parsing.parse_date(value)
    if not 2000 <= day.year <= 2100:
        raise ValueError("data fora do intervalo aceito (2000 a 2100)")
    return day
