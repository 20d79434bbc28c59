"""What expenses, orders and recipes share: create under the plan, list, delete.

Each kind of record lives in the user's own subcollection. A create checks the
plan and writes the record in one transaction; a retried create carrying the
same `requestId` returns the first record's id instead of a duplicate.

Every write invalidates the user's cached listings of that kind and their
figures (analyses, stats), then loads the kind's default first page again (no
filters, no cursor, the default size and order: `Kind.order_by`,
`Kind.page_size`) through the same cached read as the listing intents. The app
re-reads exactly that page right after a write, so the write pays that store
read and the app's read is a cache hit that already holds the change. Other
pages, filtered listings and the figures stay merely invalidated: loading them
would cost the write reads nobody may make. A failed refresh never fails the
write that preceded it: it is logged and the next listing loads the page.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import secrets
import string
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from functions.auth import Caller
from functions.cache import Category
from functions.errors import InvalidArgument, NotFound
from functions.plans import Usage, charge, month_key
from functions.services import Services
from functions.store.base import Doc, Filter, Query, Transaction
from functions.users import ensure_profile
from functions.validation import Payload

__all__ = [
    "Kind",
    "categories_written",
    "create",
    "delete",
    "delete_requested",
    "invalidate",
    "list_default",
    "list_page",
    "new_id",
    "record_path",
    "refresh_default_page",
]

_log = logging.getLogger("functions.assistant.records")

_ID_ALPHABET = string.ascii_letters + string.digits

Shape = Callable[[Doc], dict[str, Any]]


@dataclass(frozen=True)
class Kind:
    """One kind of user record: where it lives, its cache, its plan counter and
    its default listing (the first page the app shows for it)."""

    collection: str
    category: Category
    usage: Usage
    not_found: str
    order_by: tuple[tuple[str, str], ...]
    """The default listing's order, also the order of every page of it."""
    page_size: int
    """How many records the default listing's first page holds."""
    shape: Shape
    """A stored record as the app reads it."""


def new_id() -> str:
    """A random 20-character document id, like Firestore's automatic ids."""
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(20))


def _idempotent_id(uid: str, kind: Kind, request_id: str) -> str:
    digest = hashlib.sha256(f"{uid}\0{kind.collection}\0{request_id}".encode())
    return "r" + digest.hexdigest()[:27]


def record_path(uid: str, kind: Kind, record_id: str) -> str:
    return f"users/{uid}/{kind.collection}/{record_id}"


def invalidate(services: Services, uid: str, kind: Kind) -> None:
    """Forget what the cache holds about the user's records of `kind`, then
    cache their default first page afresh (see `refresh_default_page`).

    Called after a write has been committed; never raises for the refresh.
    """
    services.cache.invalidate(uid, categories_written(kind))
    refresh_default_page(services, uid, kind)


def refresh_default_page(services: Services, uid: str, kind: Kind) -> None:
    """Load the user's default first page of `kind` through the cache, so the
    next default listing is a hit; nothing when the cache is off.

    Never raises: it runs after a write has succeeded, and a failed refresh
    only means the next listing loads the page itself. A failure is logged
    as one `cache_refresh_failed` line.
    """
    try:
        page = _default_page(kind)
        # Not a read: the hit rate counts what the app asks for. With the
        # cache off it loads nothing.
        services.cache.refresh(
            uid, kind.category, page.key, page.loader(services, uid, kind)
        )
    except Exception as err:
        # No payload and no uid in the line: the type is enough to tell a
        # store outage from a bug, and the call's own log line has the rest.
        _log.warning(
            "default listing not refreshed after a write",
            extra={
                "event": "cache_refresh_failed",
                "collection": kind.collection,
                "error_type": type(err).__name__,
            },
        )


def categories_written(kind: Kind) -> tuple[Category, ...]:
    """The cache categories a write of a `kind` record makes stale."""
    # Stats and analyses are derived from the records; the profile is not.
    return (kind.category, Category.ANALYSIS)


def create(
    services: Services,
    caller: Caller,
    kind: Kind,
    record: dict[str, Any],
    request_id: str | None,
) -> tuple[str, bool]:
    """Store a new record; returns its id and whether it was created now.

    Raises LimitReached when the plan's monthly quota for `kind` is spent.
    """
    uid = caller.require_user()
    record_id = _idempotent_id(uid, kind, request_id) if request_id else new_id()
    path = record_path(uid, kind, record_id)
    now = services.clock()
    month = month_key(now, services.settings.timezone)

    def run(txn: Transaction) -> bool:
        if request_id and txn.get(path) is not None:
            return False
        profile_path, profile = ensure_profile(services, txn, caller)
        charge(txn, profile_path, profile, kind.usage, month)
        txn.update(profile_path, {"lastActivityAt": now})
        txn.set(path, {**record, "createdAt": now, "updatedAt": now})
        return True

    created = services.store.run_transaction(run)
    if created:
        invalidate(services, uid, kind)
    return record_id, created


def update(
    services: Services,
    caller: Caller,
    kind: Kind,
    record_id: str,
    change: Callable[[dict[str, Any]], dict[str, Any]],
) -> dict[str, Any]:
    """Apply `change` to the stored record atomically; returns the new record.

    `change` receives the current data and returns the fields to set; it may
    raise InvalidArgument after looking at the current data.
    """
    uid = caller.require_user()
    path = record_path(uid, kind, record_id)
    now = services.clock()

    def run(txn: Transaction) -> dict[str, Any]:
        current = txn.get(path)
        if current is None:
            raise NotFound(kind.not_found)
        profile_path, _ = ensure_profile(services, txn, caller)
        fields = change(current)
        fields["updatedAt"] = now
        txn.update(path, fields)
        txn.update(profile_path, {"lastActivityAt": now})
        return {**current, **fields}

    updated: dict[str, Any] = services.store.run_transaction(run)
    invalidate(services, uid, kind)
    return updated


def delete_requested(services: Services, caller: Caller, kind: Kind, data: Any) -> None:
    """Remove the record whose `id` the payload names; InvalidArgument without one."""
    payload = Payload(data)
    record_id = payload.doc_id("id")
    payload.done()
    if record_id is None:
        raise InvalidArgument()
    delete(services, caller, kind, record_id)


def delete(services: Services, caller: Caller, kind: Kind, record_id: str) -> None:
    """Remove one of the caller's records; NotFound when they have no such id."""
    uid = caller.require_user()
    path = record_path(uid, kind, record_id)
    now = services.clock()

    def run(txn: Transaction) -> None:
        if txn.get(path) is None:
            raise NotFound(kind.not_found)
        profile_path, _ = ensure_profile(services, txn, caller)
        txn.delete(path)
        txn.update(profile_path, {"lastActivityAt": now})

    services.store.run_transaction(run)
    invalidate(services, uid, kind)


def list_default(
    services: Services, caller: Caller, kind: Kind
) -> tuple[list[dict[str, Any]], str | None, bool]:
    """The caller's default first page of `kind` (no filters, no cursor), the
    page a write caches afresh; returns what `list_page` returns."""
    return _list(services, caller.require_user(), kind, _default_page(kind))


def list_page(
    services: Services,
    caller: Caller,
    kind: Kind,
    *,
    filters: tuple[Filter, ...],
    order_by: tuple[tuple[str, Any], ...],
    limit: int | None,
    cursor: str | None,
    shape: Shape,
) -> tuple[list[dict[str, Any]], str | None, bool]:
    """One page of the caller's records, shaped for the app, through the cache.

    Returns the shaped records, the cursor of the next page and whether the page
    came from the cache.
    """
    page = _Page(filters, order_by, limit, cursor, shape)
    return _list(services, caller.require_user(), kind, page)


@dataclass(frozen=True)
class _Page:
    """Which page of a kind's records, and how each record is shaped."""

    filters: tuple[Filter, ...]
    order_by: tuple[tuple[str, Any], ...]
    limit: int | None
    cursor: str | None
    shape: Shape

    @property
    def key(self) -> str:
        return _page_key(self.filters, self.order_by, self.limit, self.cursor)

    def loader(
        self, services: Services, uid: str, kind: Kind
    ) -> Callable[[], dict[str, Any]]:
        """What queries the store for this page of `uid`'s records."""

        def load() -> dict[str, Any]:
            query = Query(
                f"users/{uid}/{kind.collection}",
                self.filters,
                self.order_by,
                self.limit,
                self.cursor,
            )
            try:
                found = services.store.query(query)
            except ValueError as err:
                raise InvalidArgument(
                    "Cursor de paginação inválido.", {"cursor": "cursor inválido"}
                ) from err
            items = [self.shape(doc) for doc in found.docs]
            return {"items": items, "next": found.next_cursor}

        return load


def _default_page(kind: Kind) -> _Page:
    # The listing intents reach this same key for an empty payload: their
    # defaults are these fields of `kind` (see `ListParams.read`).
    return _Page((), kind.order_by, kind.page_size, None, kind.shape)


def _list(
    services: Services, uid: str, kind: Kind, page: _Page
) -> tuple[list[dict[str, Any]], str | None, bool]:
    load = page.loader(services, uid, kind)
    value, cached = services.cache.get_or_load(uid, kind.category, page.key, load)
    return value["items"], value["next"], cached


@functools.lru_cache(maxsize=1024)
def _page_key(
    filters: tuple[Filter, ...],
    order_by: tuple[tuple[str, Any], ...],
    limit: int | None,
    cursor: str | None,
) -> str:
    """The one place a listing's cache key is built (the same for every user:
    the cache keys entries by user too). Remembered: most reads ask for the
    same few pages."""
    return json.dumps(
        {
            "f": [[f.field, f.op, str(f.value)] for f in filters],
            "o": order_by,
            "l": limit,
            "c": cursor,
        },
        separators=(",", ":"),
    )
