"""Shapes of the replies the app reads: JSON-safe values and money in reais."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

__all__ = ["jsonable", "reais"]


def reais(centavos: int | None) -> float | None:
    """Centavos as reais with two decimals (None stays None)."""
    if centavos is None:
        return None
    return round(centavos / 100, 2)


def jsonable(value: Any) -> Any:
    """`value` with datetimes and dates as ISO text, ready for a JSON reply."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value
