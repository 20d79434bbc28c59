"""What expenses, orders and recipes share: create under the plan, list, delete.

Each kind of record lives in the user's own subcollection. A create checks the
plan and writes the record in one transaction; a retried create carrying the
same `requestId` returns the first record's id instead of a duplicate. Every
write invalidates the user's cached listings of that kind and their figures.
"""

from __future__ import annotations

import hashlib
import json
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
    "list_page",
    "new_id",
    "record_path",
]

_ID_ALPHABET = string.ascii_letters + string.digits


@dataclass(frozen=True)
class Kind:
    """One kind of user record: where it lives, its cache and its plan counter."""

    collection: str
    category: Category
    usage: Usage
    not_found: str


def new_id() -> str:
    """A random 20-character document id, like Firestore's automatic ids."""
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(20))


def _idempotent_id(uid: str, kind: Kind, request_id: str) -> str:
    digest = hashlib.sha256(f"{uid}\0{kind.collection}\0{request_id}".encode())
    return "r" + digest.hexdigest()[:27]


def record_path(uid: str, kind: Kind, record_id: str) -> str:
    return f"users/{uid}/{kind.collection}/{record_id}"


def invalidate(services: Services, uid: str, kind: Kind) -> None:
    """Forget what the cache holds about the user's records of `kind`."""
    for category in categories_written(kind):
        services.cache.invalidate(uid, category)


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


def list_page(
    services: Services,
    caller: Caller,
    kind: Kind,
    *,
    filters: tuple[Filter, ...],
    order_by: tuple[tuple[str, Any], ...],
    limit: int | None,
    cursor: str | None,
    shape: Callable[[Doc], dict[str, Any]],
) -> tuple[list[dict[str, Any]], str | None, bool]:
    """One page of the caller's records, shaped for the app, through the cache.

    Returns the shaped records, the cursor of the next page and whether the page
    came from the cache.
    """
    uid = caller.require_user()
    query = Query(f"users/{uid}/{kind.collection}", filters, order_by, limit, cursor)
    key = json.dumps(
        {
            "f": [[f.field, f.op, str(f.value)] for f in filters],
            "o": order_by,
            "l": limit,
            "c": cursor,
        },
        separators=(",", ":"),
    )

    def load() -> dict[str, Any]:
        try:
            page = services.store.query(query)
        except ValueError as err:
            raise InvalidArgument(
                "Cursor de paginação inválido.", {"cursor": "cursor inválido"}
            ) from err
        return {"items": [shape(doc) for doc in page.docs], "next": page.next_cursor}

    value, cached = services.cache.get_or_load(uid, kind.category, key, load)
    return value["items"], value["next"], cached
