"""The document store port and its adapters (SQLite embedded, Firestore)."""

from functions.store.base import (
    DELETE_FIELD,
    Doc,
    DocumentMissing,
    Filter,
    Increment,
    Page,
    Query,
    Store,
    StoreUnavailable,
    Transaction,
    WriteBatch,
)

__all__ = [
    "DELETE_FIELD",
    "Doc",
    "DocumentMissing",
    "Filter",
    "Increment",
    "Page",
    "Query",
    "Store",
    "StoreUnavailable",
    "Transaction",
    "WriteBatch",
]
