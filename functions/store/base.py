"""The document store port: what the services need from a document database.

Paths are slash-separated like Firestore's: a document path has an even number
of segments (`users/u1/expenses/e1`), a collection path an odd number
(`users/u1/expenses`). Values are JSON-like (str, int, float, bool, None, list,
dict) plus timezone-aware `datetime`. Adapters keep those types on the way back.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, TypeVar

__all__ = [
    "DELETE_FIELD",
    "Doc",
    "Filter",
    "Increment",
    "Page",
    "Query",
    "Store",
    "StoreUnavailable",
    "Transaction",
    "WriteBatch",
    "collection_of",
    "doc_id",
    "split_path",
]

T = TypeVar("T")

Operator = Literal["==", "<", "<=", ">", ">="]
Direction = Literal["asc", "desc"]


class StoreUnavailable(Exception):
    """The store cannot be reached or failed; the request may be retried."""


class DocumentMissing(Exception):
    """An update named a document that does not exist."""


@dataclass(frozen=True)
class Increment:
    """An atomic numeric increment of one field, applied by the store."""

    amount: int | float


class _DeleteField:
    def __repr__(self) -> str:
        return "DELETE_FIELD"


DELETE_FIELD: Any = _DeleteField()
"""Sentinel value that removes a field in `update`."""


@dataclass(frozen=True)
class Filter:
    field: str
    op: Operator
    value: Any


@dataclass(frozen=True)
class Query:
    """A query on one collection: equality and range filters, order, page."""

    collection: str
    filters: tuple[Filter, ...] = ()
    order_by: tuple[tuple[str, Direction], ...] = ()
    limit: int | None = None
    cursor: str | None = None


@dataclass(frozen=True)
class Doc:
    """A document read from the store."""

    path: str
    data: dict[str, Any]

    @property
    def id(self) -> str:
        return doc_id(self.path)


@dataclass(frozen=True)
class Page:
    """One page of query results; `next_cursor` is None on the last page."""

    docs: list[Doc] = field(default_factory=list)
    next_cursor: str | None = None


class Transaction(Protocol):
    """Reads and writes that commit together or not at all.

    Every read must come before the first write, as in Firestore.
    """

    def get(self, path: str) -> dict[str, Any] | None: ...

    def set(self, path: str, data: dict[str, Any], merge: bool = False) -> None: ...

    def update(self, path: str, changes: dict[str, Any]) -> None: ...

    def delete(self, path: str) -> None: ...


class WriteBatch(Protocol):
    """Writes collected and committed atomically by `commit`."""

    def set(self, path: str, data: dict[str, Any], merge: bool = False) -> None: ...

    def update(self, path: str, changes: dict[str, Any]) -> None: ...

    def delete(self, path: str) -> None: ...

    def commit(self) -> None: ...


class Store(Protocol):
    """The document store every service talks to."""

    def get(self, path: str) -> dict[str, Any] | None:
        """The document's data, or None when it does not exist."""
        ...

    def set(self, path: str, data: dict[str, Any], merge: bool = False) -> None:
        """Write the document; with `merge`, nested maps merge into the old data."""
        ...

    def update(self, path: str, changes: dict[str, Any]) -> None:
        """Change fields of an existing document (dotted names reach into maps).

        Values may be `Increment` or `DELETE_FIELD`. Raises DocumentMissing when
        the document does not exist.
        """
        ...

    def delete(self, path: str) -> None:
        """Remove the document (not its subcollections); no error if missing."""
        ...

    def query(self, query: Query) -> Page:
        """Documents of one collection matching every filter, in order.

        Results are ordered by the requested fields and then by document id, so a
        cursor resumes exactly after the last document of the previous page.
        """
        ...

    def count(self, query: Query) -> int:
        """How many documents match the query's filters (order and page ignored)."""
        ...

    def run_transaction(self, fn: Callable[[Transaction], T]) -> T:
        """Run `fn` in a serialisable transaction, retried on contention."""
        ...

    def batch(self) -> WriteBatch:
        """A new batch of writes."""
        ...

    def stream_all(self) -> Iterator[Doc]:
        """Every document of every collection and subcollection.

        The documents come from one consistent point in time, in path order,
        without holding them all in memory.
        """
        ...

    def delete_tree(self, path: str) -> int:
        """Delete a document and everything under it; returns how many went."""
        ...

    def ping(self) -> None:
        """One round trip; raises StoreUnavailable when the store is down."""
        ...


def split_path(path: str) -> list[str]:
    """The segments of a path; raises ValueError for empty or odd segments."""
    parts = path.strip("/").split("/")
    if not parts or any(not part or part in {".", ".."} for part in parts):
        raise ValueError(f"bad store path: {path!r}")
    return parts


def doc_id(path: str) -> str:
    """The last segment of a document path."""
    return split_path(path)[-1]


def collection_of(path: str) -> str:
    """The collection path that holds the document at `path`."""
    parts = split_path(path)
    if len(parts) % 2:
        raise ValueError(f"not a document path: {path!r}")
    return "/".join(parts[:-1])
