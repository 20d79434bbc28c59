"""Paging and date-range parameters shared by the listing intents."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from functions.store.base import Filter
from functions.validation import Payload

__all__ = ["DEFAULT_PAGE", "MAX_PAGE", "ListParams", "date_filters"]

DEFAULT_PAGE = 20
MAX_PAGE = 100


@dataclass(frozen=True)
class ListParams:
    limit: int
    cursor: str | None
    start: date | None
    end: date | None

    @classmethod
    def read(cls, payload: Payload, default_limit: int = DEFAULT_PAGE) -> ListParams:
        """`limit`, `cursor`, `de` and `ate` from a listing payload; `limit` is
        `default_limit` when the payload has none."""
        limit = payload.integer("limit", 1, MAX_PAGE) or default_limit
        cursor = payload.cursor()
        start = payload.date("de")
        end = payload.date("ate")
        if start and end and start > end:
            payload.errors["ate"] = "a data final deve ser igual ou posterior à inicial"
        return cls(limit, cursor, start, end)


def date_filters(field: str, params: ListParams) -> tuple[Filter, ...]:
    """Range filters on an ISO date field for the listing's `de`/`ate`."""
    filters: list[Filter] = []
    if params.start:
        filters.append(Filter(field, ">=", params.start.isoformat()))
    if params.end:
        filters.append(Filter(field, "<=", params.end.isoformat()))
    return tuple(filters)
