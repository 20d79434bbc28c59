"""The production store: the `Store` port on Cloud Firestore.

The adapter takes a `google.cloud.firestore.Client` in its constructor so tests
can hand in an in-process fake or an emulator-backed client; production code
builds it with `FirestoreStore.from_firebase_admin()`. Nothing from
`google.cloud` or `firebase_admin` is imported at module level: importing them
costs hundreds of milliseconds, which every cold start of a function that never
touches Firestore would otherwise pay.

Values go in and come out as the port's JSON-like types: Firestore's
`DatetimeWithNanoseconds` comes back as a plain UTC `datetime` (microsecond
precision, which is all a `datetime` holds).
"""

from __future__ import annotations

import base64
import inspect
import json
import random
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from functions.store.base import (
    DELETE_FIELD,
    Doc,
    DocumentMissing,
    Increment,
    Page,
    Query,
    StoreUnavailable,
    split_path,
)

if TYPE_CHECKING:
    from google.cloud.firestore import (
        Client,
        CollectionReference,
        DocumentReference,
        DocumentSnapshot,
    )
    from google.cloud.firestore import Transaction as FsTransaction
    from google.cloud.firestore import WriteBatch as FsWriteBatch

__all__ = ["MAX_BATCH_WRITES", "FirestoreStore"]

T = TypeVar("T")

MAX_BATCH_WRITES = 500
"""Firestore's limit on writes in one commit."""

_TS = "$ts"


# -- values ------------------------------------------------------------------


def _to_firestore(value: Any) -> Any:
    """A port value as the Firestore client wants it (transforms mapped)."""
    from google.cloud import firestore

    if isinstance(value, Increment):
        return firestore.Increment(value.amount)
    if value is DELETE_FIELD:
        return firestore.DELETE_FIELD
    if isinstance(value, datetime):
        # Firestore would read a naive datetime as UTC silently; the port (and
        # the SQLite adapter) refuse it so a local time never slips in.
        if value.tzinfo is None:
            raise ValueError("timestamps must be timezone-aware")
        return value
    if isinstance(value, dict):
        return {str(key): _to_firestore(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_to_firestore(item) for item in value]
    return value


def _from_firestore(value: Any) -> Any:
    """A value read from Firestore as the port's plain types."""
    if isinstance(value, datetime):
        # DatetimeWithNanoseconds is a datetime subclass; rebuild a plain one in
        # UTC so both adapters return the exact same type.
        utc = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
        return datetime(
            utc.year,
            utc.month,
            utc.day,
            utc.hour,
            utc.minute,
            utc.second,
            utc.microsecond,
            tzinfo=UTC,
        )
    if isinstance(value, dict):
        return {key: _from_firestore(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_from_firestore(item) for item in value]
    return value


def _snapshot_data(snapshot: DocumentSnapshot) -> dict[str, Any] | None:
    if not snapshot.exists:
        return None
    data = snapshot.to_dict() or {}
    result: dict[str, Any] = _from_firestore(data)
    return result


def _doc_path(path: str) -> str:
    parts = split_path(path)
    if len(parts) % 2:
        raise ValueError(f"not a document path: {path!r}")
    return "/".join(parts)


def _collection_path(path: str) -> str:
    parts = split_path(path)
    if not len(parts) % 2:
        raise ValueError(f"not a collection path: {path!r}")
    return "/".join(parts)


# -- cursors -----------------------------------------------------------------


def _cursor_json(value: Any) -> Any:
    if isinstance(value, datetime):
        return {_TS: value.astimezone(UTC).isoformat()}
    if isinstance(value, dict):
        return {key: _cursor_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_cursor_json(item) for item in value]
    return value


def _cursor_object(obj: dict[str, Any]) -> Any:
    if len(obj) == 1 and _TS in obj:
        return datetime.fromisoformat(obj[_TS])
    return obj


def _encode_cursor(values: list[Any]) -> str:
    raw = json.dumps(_cursor_json(values), separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str, expected: int) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(
            base64.urlsafe_b64decode(padded), object_hook=_cursor_object
        )
    except (ValueError, TypeError) as err:  # TypeError: {"$ts": <not text>}
        raise ValueError("invalid cursor") from err
    if not isinstance(values, list) or len(values) != expected:
        raise ValueError("invalid cursor")
    if not isinstance(values[-1], str):
        raise ValueError("invalid cursor")
    return values


def _read_field(data: dict[str, Any], field: str) -> Any:
    node: Any = data
    for part in field.split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node


def _accepts_read_time(method: Callable[..., Any]) -> bool:
    """True when a client method takes `read_time` (the real client does)."""
    try:
        return "read_time" in inspect.signature(method).parameters
    except (TypeError, ValueError):
        return False


# -- transaction and batch ---------------------------------------------------


class _FirestoreTransaction:
    """The port's `Transaction` over a Firestore transaction.

    Writes are buffered by Firestore and sent with the commit, so an `update` of
    a missing document fails at commit time (as DocumentMissing from
    `run_transaction`), not at the call.
    """

    def __init__(self, store: FirestoreStore, transaction: FsTransaction) -> None:
        self._store = store
        self._transaction = transaction

    def get(self, path: str) -> dict[str, Any] | None:
        ref = self._store._doc(path)
        return _snapshot_data(ref.get(transaction=self._transaction))

    def set(self, path: str, data: dict[str, Any], merge: bool = False) -> None:
        self._transaction.set(self._store._doc(path), _to_firestore(data), merge=merge)

    def update(self, path: str, changes: dict[str, Any]) -> None:
        self._transaction.update(self._store._doc(path), _to_firestore(changes))

    def delete(self, path: str) -> None:
        self._transaction.delete(self._store._doc(path))


class _FirestoreBatch:
    """The port's `WriteBatch`, split into Firestore commits of 500 writes.

    Limitation: Firestore commits at most 500 writes atomically. A batch of up
    to 500 writes is atomic; a larger one is committed as consecutive chunks of
    500, so a failure in a later chunk leaves the earlier chunks written. Callers
    that need all-or-nothing beyond 500 writes must split the work themselves.
    """

    def __init__(self, store: FirestoreStore) -> None:
        self._store = store
        self._ops: list[Callable[[FsWriteBatch], None]] = []

    def set(self, path: str, data: dict[str, Any], merge: bool = False) -> None:
        ref = self._store._doc(path)
        value = _to_firestore(data)
        self._ops.append(lambda batch: batch.set(ref, value, merge=merge))

    def update(self, path: str, changes: dict[str, Any]) -> None:
        ref = self._store._doc(path)
        value = _to_firestore(changes)
        self._ops.append(lambda batch: batch.update(ref, value))

    def delete(self, path: str) -> None:
        ref = self._store._doc(path)
        self._ops.append(lambda batch: batch.delete(ref))

    def commit(self) -> None:
        """Send the writes; raises DocumentMissing when an update found no doc."""
        ops, self._ops = self._ops, []
        for start in range(0, len(ops), MAX_BATCH_WRITES):
            batch = self._store._client.batch()
            for op in ops[start : start + MAX_BATCH_WRITES]:
                op(batch)
            with self._store._guard():
                batch.commit()


# -- the store ---------------------------------------------------------------


class FirestoreStore:
    """The `Store` port on a Firestore client (real, emulator or fake).

    Paths are validated before any call; client errors from the Google API
    become `StoreUnavailable`, except a missing document in `update`, which is
    `DocumentMissing`.
    """

    def __init__(self, client: Client, max_attempts: int = 5) -> None:
        """Wrap `client`; transactions are tried up to `max_attempts` times."""
        self._client = client
        self._max_attempts = max_attempts

    @classmethod
    def from_firebase_admin(cls, app: Any = None) -> FirestoreStore:
        """The store on the default (or given) firebase_admin app's Firestore.

        Initialises the default app when none exists yet. Imported lazily so a
        cold start that never reaches Firestore does not load the SDK.
        """
        import firebase_admin
        from firebase_admin import firestore as admin_firestore

        if app is None:
            try:
                app = firebase_admin.get_app()
            except ValueError:
                app = firebase_admin.initialize_app()
        return cls(admin_firestore.client(app))

    # -- helpers -------------------------------------------------------------

    def _doc(self, path: str) -> DocumentReference:
        return self._client.document(_doc_path(path))

    def _collection(self, path: str) -> CollectionReference:
        return self._client.collection(_collection_path(path))

    @contextmanager
    def _guard(self) -> Iterator[None]:
        """Translate Google API errors into the port's exceptions."""
        from google.api_core import exceptions as api_exceptions

        try:
            yield
        except api_exceptions.NotFound as err:
            # The only NOT_FOUND the port's calls can cause is a write that
            # requires an existing document (update), alone or in a commit.
            raise DocumentMissing(str(err)) from err
        except (
            api_exceptions.ServiceUnavailable,
            api_exceptions.DeadlineExceeded,
            api_exceptions.GoogleAPICallError,
            api_exceptions.RetryError,
        ) as err:
            raise StoreUnavailable(f"firestore: {err}") from err

    # -- the port ------------------------------------------------------------

    def get(self, path: str) -> dict[str, Any] | None:
        """The document's data, or None when it does not exist."""
        ref = self._doc(path)
        with self._guard():
            return _snapshot_data(ref.get())

    def set(self, path: str, data: dict[str, Any], merge: bool = False) -> None:
        """Write the document; with `merge`, nested maps merge into the old data."""
        ref = self._doc(path)
        value = _to_firestore(data)
        with self._guard():
            ref.set(value, merge=merge)

    def update(self, path: str, changes: dict[str, Any]) -> None:
        """Change fields (dotted names reach into maps); DocumentMissing if absent."""
        ref = self._doc(path)
        value = _to_firestore(changes)
        with self._guard():
            ref.update(value)

    def delete(self, path: str) -> None:
        """Remove the document (not its subcollections); no error if missing."""
        ref = self._doc(path)
        with self._guard():
            ref.delete()

    def _filtered(self, query: Query) -> Any:
        from google.cloud.firestore import FieldFilter

        fs_query: Any = self._collection(query.collection)
        for flt in query.filters:
            if flt.op not in {"==", "<", "<=", ">", ">="}:
                raise ValueError(f"unsupported operator {flt.op!r}")
            fs_query = fs_query.where(
                filter=FieldFilter(flt.field, flt.op, _to_firestore(flt.value))
            )
        return fs_query

    def query(self, query: Query) -> Page:
        """Matching documents ordered by the order fields, then by document id.

        The cursor is an opaque base64 JSON of the last document's order values
        and id, resumed with `start_after`, so ties on the order fields never
        repeat or skip a document.
        """
        from google.cloud.firestore import Query as FsQuery
        from google.cloud.firestore_v1.field_path import FieldPath

        fs_query = self._filtered(query)
        order_keys: list[str] = []
        for field, direction in query.order_by:
            fs_query = fs_query.order_by(
                field, direction=_direction(FsQuery, direction)
            )
            order_keys.append(field)
        id_direction = query.order_by[-1][1] if query.order_by else "asc"
        fs_query = fs_query.order_by(
            FieldPath.document_id(), direction=_direction(FsQuery, id_direction)
        )
        if query.cursor:
            values = _decode_cursor(query.cursor, len(order_keys) + 1)
            start = dict(zip(order_keys, values[:-1], strict=True))
            # A plain id string under "__name__" is turned into a reference in
            # the queried collection by the client.
            start["__name__"] = values[-1]
            fs_query = fs_query.start_after(start)
        if query.limit is not None:
            # One extra document tells whether another page exists.
            fs_query = fs_query.limit(query.limit + 1)

        with self._guard():
            docs = [
                Doc(snap.reference.path, _snapshot_data(snap) or {})
                for snap in fs_query.stream()
            ]
        next_cursor = None
        if query.limit is not None and len(docs) > query.limit:
            docs = docs[: query.limit]
            last = docs[-1]
            next_cursor = _encode_cursor(
                [_read_field(last.data, key) for key in order_keys] + [last.id]
            )
        return Page(docs, next_cursor)

    def count(self, query: Query) -> int:
        """How many documents match the filters (order and page ignored).

        Uses an aggregation query (one round trip, no documents read) when the
        client has one; otherwise streams the matching ids.
        """
        fs_query = self._filtered(query)
        with self._guard():
            if hasattr(fs_query, "count"):
                results = fs_query.count().get()
                return int(results[0][0].value)
            return sum(1 for _ in fs_query.select([]).stream())

    def run_transaction(self, fn: Callable[[Any], T]) -> T:
        """Run `fn` in a Firestore transaction, retried on contention.

        `fn` may run several times, so it must not have side effects outside
        the transaction. An exception from `fn` rolls back and propagates;
        contention that outlasts every retry raises StoreUnavailable.
        """
        from google.api_core import exceptions as api_exceptions
        from google.cloud import firestore

        @firestore.transactional  # type: ignore[untyped-decorator,unused-ignore]
        def _attempt(txn: FsTransaction) -> T:
            return fn(_FirestoreTransaction(self, txn))

        # The client retries an aborted commit at once, up to max_attempts; under
        # heavy contention every immediate retry collides again, so rounds of
        # those retries are spaced by a jittered, growing pause.
        for round_number in range(self._max_attempts):
            transaction = self._client.transaction(max_attempts=self._max_attempts)
            try:
                with self._guard():
                    return _attempt(transaction)
            except ValueError as err:
                # Exhausted retries come as a ValueError wrapping the last Aborted.
                if not isinstance(err.__cause__, api_exceptions.Aborted):
                    raise
                if round_number + 1 == self._max_attempts:
                    raise StoreUnavailable(f"firestore: {err}") from err
            time.sleep(random.uniform(0, min(1.0, 0.02 * 2**round_number)))
        raise AssertionError("unreachable")

    def batch(self) -> _FirestoreBatch:
        """A new batch; atomic up to 500 writes (see `_FirestoreBatch`)."""
        return _FirestoreBatch(self)

    def _snapshot_time(self) -> datetime | None:
        """A server read time for the whole walk, or None if unsupported.

        Reading a (missing) document returns the server's read time, which is
        safe to pass back: a client clock ahead of the server's would be
        rejected as a read time in the future.
        """
        if not _accepts_read_time(self._client.collections):
            return None
        snapshot = self._client.document("_store/_snapshot").get()
        read_time: datetime | None = snapshot.read_time
        return read_time

    def stream_all(self) -> Iterator[Doc]:
        """Every document of every (sub)collection, in path order.

        Each collection's ids are listed (including "missing" parents that only
        hold subcollections), the existing documents are streamed, and each
        document is followed by its subcollections, depth first, collections
        sorted by id. With the real client every read uses one `read_time`, so
        the walk sees one consistent moment (Firestore keeps old versions for
        an hour, which bounds how long a walk may take).

        Limitation: an in-process fake without `read_time` sees writes made
        while the walk is running. Per collection the ids (not the data) are
        held in memory to merge listed and streamed documents in order.
        """
        with self._guard():
            read_time = self._snapshot_time()
            collections = list(self._client.collections(**_at(read_time)))
        yield from self._walk(collections, read_time)

    def _walk(
        self, collections: Iterable[CollectionReference], read_time: datetime | None
    ) -> Iterator[Doc]:
        for collection in sorted(collections, key=lambda coll: coll.id):
            with self._guard():
                refs = {
                    ref.id: ref for ref in collection.list_documents(**_at(read_time))
                }
                stream = iter(collection.stream(**_at(read_time)))
            existing = {}
            # Both sequences are in id order; the snapshot dict only holds the
            # streamed documents not yet matched, i.e. usually one.
            for doc_id in sorted(refs):
                while doc_id not in existing:
                    with self._guard():
                        snap = next(stream, None)
                    if snap is None:
                        break
                    existing[snap.id] = snap
                snap = existing.pop(doc_id, None)
                if snap is not None and snap.exists:
                    yield Doc(snap.reference.path, _snapshot_data(snap) or {})
                with self._guard():
                    children = list(refs[doc_id].collections(**_at(read_time)))
                yield from self._walk(children, read_time)

    def delete_tree(self, path: str) -> int:
        """Delete a document (or collection) and everything under it.

        Returns how many existing documents were deleted. Uses the client's
        `recursive_delete` (a bulk writer) when it has one.
        """
        parts = split_path(path)
        with self._guard():
            if len(parts) % 2:
                return self._delete_collection(self._collection(path))
            ref = self._doc(path)
            deleted = 1 if ref.get().exists else 0
            for collection in ref.collections():
                deleted += self._delete_collection(collection)
            ref.delete()
            return deleted

    def _delete_collection(self, collection: CollectionReference) -> int:
        recursive_delete = getattr(self._client, "recursive_delete", None)
        if recursive_delete is not None:
            return int(recursive_delete(collection))
        deleted = 0
        for ref in collection.list_documents():
            if ref.get().exists:
                deleted += 1
            for child in ref.collections():
                deleted += self._delete_collection(child)
            ref.delete()
        return deleted

    def ping(self) -> None:
        """One round trip (list the first collection id)."""
        with self._guard():
            next(iter(self._client.collections()), None)


def _direction(fs_query_class: Any, direction: str) -> Any:
    return (
        fs_query_class.DESCENDING if direction == "desc" else fs_query_class.ASCENDING
    )


def _at(read_time: datetime | None) -> dict[str, Any]:
    """Keyword arguments that pin a read to `read_time` when there is one."""
    return {} if read_time is None else {"read_time": read_time}
