"""One contract for every `Store` adapter.

Every test runs against:

* `sqlite`: `SqliteStore` on a temporary file;
* `fake-firestore`: `FirestoreStore` on the in-process `fake_firestore` client,
  with the test-only fixes below for what that fake gets wrong;
* `firestore-emulator`: `FirestoreStore` on the real Firestore emulator, only
  when `FIRESTORE_EMULATOR_HOST` is set (each test gets its own project, so
  tests never see each other's documents).
"""

from __future__ import annotations

import copy
import os
import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from itertools import islice
from pathlib import Path
from typing import Any

import pytest

from functions.store.base import (
    DELETE_FIELD,
    DocumentMissing,
    Filter,
    Increment,
    Query,
    Store,
)
from functions.store.firestore import FirestoreStore
from functions.store.sqlite import SqliteStore

_BACKENDS = ["sqlite", "fake-firestore"]
if os.environ.get("FIRESTORE_EMULATOR_HOST"):
    # Not skip-marked when absent: CI forbids skips, so the param simply is not
    # generated without an emulator.
    _BACKENDS.append("firestore-emulator")


# -- test-only wiring for the fake_firestore package -------------------------
#
# fake_firestore keeps a document's fields and its subcollections in the same
# nested dict, sorts by one order key at a time, has no document-id ordering,
# treats cursors as "first document whose fields are equal", applies batch and
# transaction writes one by one and never isolates transactions. The patches
# below fix exactly those points so the fake behaves like Firestore for the
# calls FirestoreStore makes; they touch the fake only, never the adapter.


def _fake_subcollection_keys(ref: Any) -> set[str]:
    prefix = tuple(ref._path)
    size = len(prefix)
    return {
        path[size]
        for path in ref._written_docs
        if len(path) > size + 1 and path[:size] == prefix
    }


def _fake_node(ref: Any) -> dict[str, Any] | None:
    from fake_firestore._helpers import get_by_path

    try:
        node = get_by_path(ref._data, ref._path)
    except (KeyError, TypeError):
        return None
    return node if isinstance(node, dict) else None


def _flatten_merge(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Dotted leaf paths, so a merge reaches into nested maps like Firestore's."""
    flat: dict[str, Any] = {}
    for key, value in data.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            flat.update(_flatten_merge(value, dotted + "."))
        else:
            flat[dotted] = value
    return flat


def _patch_fake_firestore(monkeypatch: pytest.MonkeyPatch) -> None:
    from fake_firestore import (
        FakeDocumentReference,
        FakeDocumentSnapshot,
        FakeQuery,
        FakeTransaction,
        FakeWriteBatch,
    )
    from fake_firestore._helpers import delete_by_path, get_by_path, set_by_path
    from google.api_core.exceptions import NotFound
    from google.cloud.firestore import DELETE_FIELD as FS_DELETE_FIELD
    from google.cloud.firestore import Increment as FsIncrement

    original_set = FakeDocumentReference.set

    def update(self: Any, data: dict[str, Any], **_: Any) -> None:
        # The fake rebuilds a whole map when one dotted field of it increments,
        # losing its siblings; apply each dotted change in place instead.
        document = _fake_node(self)
        if tuple(self._path) not in self._written_docs or document is None:
            raise NotFound(f"No document to update: {self.path}")
        for dotted, value in data.items():
            *parents, leaf = dotted.split(".")
            node = document
            for name in parents:
                if not isinstance(node.get(name), dict):
                    node[name] = {}
                node = node[name]
            if value is FS_DELETE_FIELD:
                node.pop(leaf, None)
            elif isinstance(value, FsIncrement):
                base = node.get(leaf)
                node[leaf] = (
                    base if isinstance(base, int | float) else 0
                ) + value.value
            else:
                node[leaf] = copy.deepcopy(value)

    def get(self: Any, *args: Any, **kwargs: Any) -> Any:
        # Subcollections live inside the parent's dict: hide them from its data.
        node = _fake_node(self)
        if tuple(self._path) not in self._written_docs or node is None:
            return FakeDocumentSnapshot(self, None)
        hidden = _fake_subcollection_keys(self)
        return FakeDocumentSnapshot(
            self, {k: v for k, v in node.items() if k not in hidden}
        )

    def set_(self: Any, data: dict[str, Any], merge: bool = False, **_: Any) -> None:
        if merge and tuple(self._path) in self._written_docs:
            update(self, _flatten_merge(data))
            return
        node = _fake_node(self) or {}
        keep = {k: node[k] for k in _fake_subcollection_keys(self) if k in node}
        original_set(self, data)
        # A plain set must not wipe the document's subcollections.
        _fake_node(self).update(keep)  # type: ignore[union-attr]

    def delete(self: Any, **_: Any) -> None:
        node = _fake_node(self)
        keep = {}
        if node is not None:
            keep = {k: node[k] for k in _fake_subcollection_keys(self) if k in node}
        self._written_docs.discard(tuple(self._path))
        if keep:
            set_by_path(self._data, self._path, keep)
            return
        if node is not None:
            delete_by_path(self._data, self._path)
        # Drop emptied containers, or they would show up as empty map fields.
        path = list(self._path[:-1])
        while len(path) >= 2:
            try:
                container = get_by_path(self._data, path)
            except (KeyError, TypeError):
                break
            if container or tuple(path) in self._written_docs:
                break
            delete_by_path(self._data, path)
            path.pop()

    def _value(snap: Any, key: str) -> tuple[bool, Any]:
        if key == "__name__":
            return True, snap.id
        node: Any = snap.to_dict()
        for part in key.split("."):
            if not isinstance(node, dict) or part not in node:
                return False, None
            node = node[part]
        return True, node

    def _matches(
        snap: Any, field: str, compare: Callable[..., bool], value: Any
    ) -> bool:
        present, actual = _value(snap, field)
        try:
            return present and compare(actual, value)
        except TypeError:
            return False

    def stream(self: Any, transaction: Any = None, **_: Any) -> Iterator[Any]:
        snaps = [
            snap
            for snap in self.parent.stream()
            if all(_matches(snap, *flt) for flt in self._field_filters)
        ]
        orders = [(str(key), direction) for key, direction in self.orders]
        # Firestore leaves out documents missing an ordered field.
        snaps = [s for s in snaps if all(_value(s, key)[0] for key, _ in orders)]
        for key, direction in reversed(orders):
            snaps.sort(
                key=lambda s: _value(s, key)[1], reverse=direction == "DESCENDING"
            )
        if self._start_at:
            cursor, inclusive = self._start_at
            start = {
                k: getattr(v, "id", v) if k == "__name__" else v
                for k, v in cursor.items()
            }

            def after(snap: Any) -> bool:
                for key, direction in orders:
                    value = _value(snap, key)[1]
                    if value != start[key]:
                        return bool(
                            value < start[key]
                            if direction == "DESCENDING"
                            else value > start[key]
                        )
                return bool(inclusive)

            snaps = [s for s in snaps if after(s)]
        result: Any = iter(snaps)
        if self._limit:
            result = islice(result, self._limit)
        if self._projection is not None:
            result = self._apply_projection(result)
        return iter(result)

    def _atomic(commit: Callable[..., Any]) -> Callable[..., Any]:
        def run(self: Any, *args: Any, **kwargs: Any) -> Any:
            client = self._client
            data, written = copy.deepcopy(client._data), set(client._written_docs)
            try:
                return commit(self, *args, **kwargs)
            except BaseException:
                client._data.clear()
                client._data.update(data)
                client._written_docs.clear()
                client._written_docs.update(written)
                raise

        return run

    # The fake has no isolation at all; one lock held from begin to commit or
    # rollback serialises fake transactions, which makes them serialisable.
    lock = threading.Lock()
    original_begin = FakeTransaction._begin
    original_clean_up = FakeTransaction._clean_up

    def begin(self: Any, *args: Any, **kwargs: Any) -> None:
        if not getattr(self, "_holds_lock", False):
            lock.acquire()
            self._holds_lock = True
        original_begin(self, *args, **kwargs)

    def clean_up(self: Any) -> None:
        original_clean_up(self)
        if getattr(self, "_holds_lock", False):
            self._holds_lock = False
            lock.release()

    monkeypatch.setattr(FakeDocumentReference, "get", get)
    monkeypatch.setattr(FakeDocumentReference, "set", set_)
    monkeypatch.setattr(FakeDocumentReference, "update", update)
    monkeypatch.setattr(FakeDocumentReference, "delete", delete)
    monkeypatch.setattr(FakeQuery, "stream", stream)
    monkeypatch.setattr(FakeWriteBatch, "commit", _atomic(FakeWriteBatch.commit))
    monkeypatch.setattr(FakeTransaction, "_commit", _atomic(FakeTransaction._commit))
    monkeypatch.setattr(FakeTransaction, "_begin", begin)
    monkeypatch.setattr(FakeTransaction, "_clean_up", clean_up)


@pytest.fixture(params=_BACKENDS)
def store(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Store]:
    """A fresh, empty store of each adapter."""
    if request.param == "sqlite":
        sqlite_store = SqliteStore(tmp_path / "store.db")
        yield sqlite_store
        sqlite_store.close()
    elif request.param == "fake-firestore":
        from fake_firestore import FakeFirestoreClient

        _patch_fake_firestore(monkeypatch)
        yield FirestoreStore(FakeFirestoreClient())
    else:
        from google.cloud import firestore

        client = firestore.Client(project=f"demo-contract-{uuid.uuid4().hex[:12]}")
        # The emulator locks pessimistically and times contenders out rather than
        # letting the oldest win, so twenty threads on one counter need more
        # rounds than production does.
        yield FirestoreStore(client, max_attempts=20)


# -- get / set / update / delete ---------------------------------------------


def test_get_missing_document_returns_none(store: Store) -> None:
    assert store.get("users/nobody") is None


def test_set_replaces_the_document(store: Store) -> None:
    store.set("users/u1", {"name": "Ana", "city": "Recife"})
    store.set("users/u1", {"name": "Bia"})
    assert store.get("users/u1") == {"name": "Bia"}


def test_set_merge_deep_merges_nested_maps(store: Store) -> None:
    store.set("users/u1", {"name": "Ana", "prefs": {"lang": "pt", "theme": {"a": 1}}})
    store.set(
        "users/u1", {"prefs": {"theme": {"b": 2}, "units": "g"}, "age": 30}, merge=True
    )
    assert store.get("users/u1") == {
        "name": "Ana",
        "age": 30,
        "prefs": {"lang": "pt", "units": "g", "theme": {"a": 1, "b": 2}},
    }


def test_set_merge_creates_missing_document(store: Store) -> None:
    store.set("users/u1", {"a": {"b": 1}}, merge=True)
    assert store.get("users/u1") == {"a": {"b": 1}}


def test_values_round_trip_with_exact_types(store: Store) -> None:
    brasilia = timezone(timedelta(hours=-3))
    when = datetime(2024, 5, 17, 6, 30, 15, 123456, tzinfo=brasilia)
    data = {
        "int": 7,
        "big": 2**53 + 1,
        "float": 2.0,
        "fraction": 0.1,
        "negative": -3,
        "bool": True,
        "none": None,
        "text": "pão de queijo ✓",
        "when": when,
        "list": [1, 2.5, "x", {"deep": [when, None]}],
        "map": {"inner": {"count": 3, "price": 9.9, "at": when}},
        "empty_map": {},
        "empty_list": [],
    }
    store.set("recipes/r1", data)
    got = store.get("recipes/r1")
    assert got == data
    assert got is not None
    assert type(got["int"]) is int and type(got["big"]) is int
    assert type(got["float"]) is float and type(got["bool"]) is bool
    assert type(got["when"]) is datetime
    assert got["when"].tzinfo is not None
    assert got["when"].utcoffset() == timedelta(0)
    assert got["when"] == when and got["when"].microsecond == 123456
    assert type(got["list"][3]["deep"][0]) is datetime
    assert type(got["map"]["inner"]["at"]) is datetime
    assert type(got["map"]["inner"]["price"]) is float


def test_naive_datetime_is_refused(store: Store) -> None:
    with pytest.raises(ValueError):
        store.set("recipes/r1", {"when": datetime(2024, 1, 1)})


def test_update_with_dotted_fields(store: Store) -> None:
    store.set("users/u1", {"name": "Ana", "stats": {"sales": 1, "keep": True}})
    store.update("users/u1", {"stats.sales": 5, "stats.new.deep": "x", "name": "Bia"})
    assert store.get("users/u1") == {
        "name": "Bia",
        "stats": {"sales": 5, "keep": True, "new": {"deep": "x"}},
    }


def test_update_increment_and_delete_field(store: Store) -> None:
    store.set(
        "users/u1", {"count": 1, "total": 1.5, "gone": "x", "m": {"n": 2, "o": 3}}
    )
    store.update(
        "users/u1",
        {
            "count": Increment(2),
            "total": Increment(0.25),
            "fresh": Increment(4),
            "m.n": Increment(-5),
            "gone": DELETE_FIELD,
            "m.o": DELETE_FIELD,
        },
    )
    got = store.get("users/u1")
    assert got == {"count": 3, "total": 1.75, "fresh": 4, "m": {"n": -3}}
    assert got is not None
    assert type(got["count"]) is int and type(got["total"]) is float


def test_set_with_increment_and_merge_delete(store: Store) -> None:
    store.set("users/u1", {"count": Increment(3), "keep": 1, "drop": 2})
    store.set("users/u1", {"count": Increment(1), "drop": DELETE_FIELD}, merge=True)
    assert store.get("users/u1") == {"count": 4, "keep": 1}


def test_update_of_missing_document_raises(store: Store) -> None:
    with pytest.raises(DocumentMissing):
        store.update("users/nobody", {"a": 1})
    assert store.get("users/nobody") is None


def test_delete(store: Store) -> None:
    store.set("users/u1", {"a": 1})
    store.delete("users/u1")
    assert store.get("users/u1") is None
    store.delete("users/u1")  # deleting a missing document is fine


def test_delete_keeps_subcollections(store: Store) -> None:
    store.set("users/u1", {"a": 1})
    store.set("users/u1/expenses/e1", {"v": 1})
    store.delete("users/u1")
    assert store.get("users/u1") is None
    assert store.get("users/u1/expenses/e1") == {"v": 1}


def test_subcollections_do_not_leak_into_parent_data(store: Store) -> None:
    store.set("users/u1", {"a": 1})
    store.set("users/u1/expenses/e1", {"v": 1})
    store.set("users/u1", {"b": 2})
    assert store.get("users/u1") == {"b": 2}
    assert store.get("users/u1/expenses/e1") == {"v": 1}


# -- queries -----------------------------------------------------------------


def _seed_sales(store: Store) -> None:
    # Ties on "amount" (two 10s, three 20s) exercise the id tie-breaker.
    amounts = {"s5": 20, "s1": 10, "s3": 30, "s2": 20, "s4": 10, "s6": 20, "s7": 40}
    for sale_id, amount in amounts.items():
        store.set(
            f"sales/{sale_id}",
            {"amount": amount, "kind": "bread" if amount < 30 else "cake"},
        )
    store.set("sales/s8", {"kind": "bread"})  # no amount at all


def _ids(store: Store, query: Query) -> list[str]:
    return [doc.id for doc in store.query(query).docs]


def test_query_without_order_is_by_id(store: Store) -> None:
    _seed_sales(store)
    page = store.query(Query("sales"))
    assert [d.id for d in page.docs] == [f"s{i}" for i in range(1, 9)]
    assert page.next_cursor is None
    assert page.docs[0].path == "sales/s1"
    assert page.docs[0].data == {"amount": 10, "kind": "bread"}


@pytest.mark.parametrize(
    ("op", "value", "expected"),
    [
        ("==", 20, ["s2", "s5", "s6"]),
        ("<", 20, ["s1", "s4"]),
        ("<=", 20, ["s1", "s4", "s2", "s5", "s6"]),
        (">", 20, ["s3", "s7"]),
        (">=", 30, ["s3", "s7"]),
    ],
)
def test_query_filters(store: Store, op: Any, value: int, expected: list[str]) -> None:
    _seed_sales(store)
    query = Query(
        "sales", filters=(Filter("amount", op, value),), order_by=(("amount", "asc"),)
    )
    assert _ids(store, query) == expected


def test_query_equality_and_range_together(store: Store) -> None:
    _seed_sales(store)
    query = Query(
        "sales",
        filters=(Filter("kind", "==", "bread"), Filter("amount", ">=", 20)),
        order_by=(("amount", "desc"),),
    )
    assert _ids(store, query) == ["s6", "s5", "s2"]


def test_query_equality_on_string(store: Store) -> None:
    _seed_sales(store)
    assert _ids(store, Query("sales", filters=(Filter("kind", "==", "cake"),))) == [
        "s3",
        "s7",
    ]


def test_query_range_on_timestamps(store: Store) -> None:
    start = datetime(2024, 1, 1, tzinfo=UTC)
    for day in range(5):
        store.set(f"logs/l{day}", {"at": start + timedelta(days=day, microseconds=day)})
    query = Query(
        "logs",
        filters=(Filter("at", ">", start + timedelta(days=1, microseconds=1)),),
        order_by=(("at", "asc"),),
    )
    assert _ids(store, query) == ["l2", "l3", "l4"]


def test_order_asc_and_desc_break_ties_by_id(store: Store) -> None:
    _seed_sales(store)
    asc = Query("sales", order_by=(("amount", "asc"),))
    desc = Query("sales", order_by=(("amount", "desc"),))
    assert _ids(store, asc) == ["s1", "s4", "s2", "s5", "s6", "s3", "s7"]
    assert _ids(store, desc) == ["s7", "s3", "s6", "s5", "s2", "s4", "s1"]


def test_order_by_two_fields(store: Store) -> None:
    _seed_sales(store)
    query = Query("sales", order_by=(("kind", "asc"), ("amount", "desc")))
    assert _ids(store, query) == ["s6", "s5", "s2", "s4", "s1", "s7", "s3"]


def test_order_by_nested_field(store: Store) -> None:
    for key, value in {"a": 3, "b": 1, "c": 2}.items():
        store.set(f"items/{key}", {"stats": {"rank": value}})
    assert _ids(store, Query("items", order_by=(("stats.rank", "asc"),))) == [
        "b",
        "c",
        "a",
    ]


def test_order_leaves_out_documents_missing_the_field(store: Store) -> None:
    _seed_sales(store)
    assert "s8" not in _ids(store, Query("sales", order_by=(("amount", "asc"),)))


def _all_pages(store: Store, query: Query) -> tuple[list[str], int]:
    seen: list[str] = []
    pages = 0
    cursor = None
    while True:
        page = store.query(
            Query(query.collection, query.filters, query.order_by, query.limit, cursor)
        )
        pages += 1
        assert len(page.docs) <= (query.limit or 0)
        seen.extend(doc.id for doc in page.docs)
        if page.next_cursor is None:
            return seen, pages
        assert isinstance(page.next_cursor, str)
        cursor = page.next_cursor
        assert pages < 100


@pytest.mark.parametrize("direction", ["asc", "desc"])
@pytest.mark.parametrize("limit", [1, 2, 3, 7, 50])
def test_paging_visits_every_document_once(
    store: Store, direction: Any, limit: int
) -> None:
    _seed_sales(store)
    order = (("amount", direction),)
    expected = _ids(store, Query("sales", order_by=order))
    seen, pages = _all_pages(store, Query("sales", order_by=order, limit=limit))
    assert seen == expected
    assert len(set(seen)) == len(seen) == 7
    assert pages == max(1, -(-7 // limit))


def test_paging_with_filter_and_without_order(store: Store) -> None:
    _seed_sales(store)
    seen, _ = _all_pages(
        store, Query("sales", filters=(Filter("kind", "==", "bread"),), limit=2)
    )
    assert seen == ["s1", "s2", "s4", "s5", "s6", "s8"]


def test_paging_on_timestamps_with_ties(store: Store) -> None:
    moment = datetime(2024, 3, 1, 12, 0, 0, 500, tzinfo=UTC)
    for index in range(9):
        at = moment + timedelta(microseconds=index // 3)
        store.set(f"logs/l{index}", {"at": at})
    query = Query("logs", order_by=(("at", "desc"),), limit=2)
    seen, _ = _all_pages(store, query)
    assert seen == ["l8", "l7", "l6", "l5", "l4", "l3", "l2", "l1", "l0"]


def test_invalid_cursor_raises(store: Store) -> None:
    _seed_sales(store)
    with pytest.raises(ValueError):
        store.query(
            Query("sales", order_by=(("amount", "asc"),), cursor="@@not-a-cursor")
        )


def test_count(store: Store) -> None:
    _seed_sales(store)
    assert store.count(Query("sales")) == 8
    assert store.count(Query("sales", filters=(Filter("kind", "==", "bread"),))) == 6
    assert (
        store.count(Query("sales", filters=(Filter("amount", ">=", 20),), limit=1)) == 5
    )
    assert store.count(Query("nothing")) == 0


def test_query_reads_only_its_collection(store: Store) -> None:
    store.set("users/u1", {"n": 1})
    store.set("users/u1/expenses/e1", {"n": 2})
    store.set("users/u1/expenses/e2", {"n": 3})
    store.set("users/u2/expenses/e3", {"n": 4})
    assert _ids(store, Query("users/u1/expenses")) == ["e1", "e2"]
    assert _ids(store, Query("users")) == ["u1"]
    assert store.count(Query("users/u2/expenses")) == 1


# -- transactions and batches ------------------------------------------------


def test_transaction_reads_then_writes(store: Store) -> None:
    store.set("stock/flour", {"grams": 1000})

    def use_flour(txn: Any) -> int:
        current = txn.get("stock/flour")
        assert txn.get("stock/missing") is None
        left = int(current["grams"]) - 300
        txn.update("stock/flour", {"grams": left})
        txn.set("log/l1", {"used": 300})
        return left

    assert store.run_transaction(use_flour) == 700
    assert store.get("stock/flour") == {"grams": 700}
    assert store.get("log/l1") == {"used": 300}


def test_transaction_exception_rolls_back_everything(store: Store) -> None:
    store.set("stock/flour", {"grams": 1000})
    store.set("stock/sugar", {"grams": 50})

    class BoomError(Exception):
        pass

    def fail(txn: Any) -> None:
        txn.get("stock/flour")
        txn.update("stock/flour", {"grams": 0})
        txn.set("stock/new", {"grams": 1})
        txn.delete("stock/sugar")
        raise BoomError

    with pytest.raises(BoomError):
        store.run_transaction(fail)
    assert store.get("stock/flour") == {"grams": 1000}
    assert store.get("stock/sugar") == {"grams": 50}
    assert store.get("stock/new") is None


def test_transaction_update_of_missing_document_rolls_back(store: Store) -> None:
    def bad(txn: Any) -> None:
        txn.set("a/one", {"x": 1})
        txn.update("a/missing", {"x": 1})

    with pytest.raises(DocumentMissing):
        store.run_transaction(bad)
    assert store.get("a/one") is None


# The Firestore emulator times out contending transactions instead of letting
# the oldest win, so against it a handful of contenders prove the same point.
_CONTENDERS = 4 if os.environ.get("FIRESTORE_EMULATOR_HOST") else 20


def test_concurrent_transactions_do_not_lose_updates(store: Store) -> None:
    store.set("counters/c", {"value": 0})
    errors: list[BaseException] = []
    barrier = threading.Barrier(_CONTENDERS)

    def bump(txn: Any) -> None:
        current = txn.get("counters/c")
        txn.set("counters/c", {"value": current["value"] + 1})

    def worker() -> None:
        try:
            barrier.wait()
            store.run_transaction(bump)
        except BaseException as err:  # collected and asserted below
            errors.append(err)

    threads = [threading.Thread(target=worker) for _ in range(_CONTENDERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert store.get("counters/c") == {"value": _CONTENDERS}


def test_batch_commits_all_writes(store: Store) -> None:
    store.set("a/upd", {"n": 1})
    store.set("a/del", {"n": 1})
    batch = store.batch()
    batch.set("a/new", {"n": 1})
    batch.set("a/upd", {"m": 2}, merge=True)
    batch.update("a/upd", {"n": Increment(1)})
    batch.delete("a/del")
    assert store.get("a/new") is None  # nothing is written before commit
    batch.commit()
    assert store.get("a/new") == {"n": 1}
    assert store.get("a/upd") == {"n": 2, "m": 2}
    assert store.get("a/del") is None


def test_batch_is_atomic(store: Store) -> None:
    store.set("a/keep", {"n": 1})
    batch = store.batch()
    batch.set("a/new", {"n": 1})
    batch.delete("a/keep")
    batch.update("a/missing", {"n": 1})
    with pytest.raises(DocumentMissing):
        batch.commit()
    assert store.get("a/new") is None
    assert store.get("a/keep") == {"n": 1}


def test_large_batch_is_committed(store: Store) -> None:
    batch = store.batch()
    for index in range(1201):
        batch.set(f"bulk/d{index:05d}", {"i": index})
    batch.commit()
    assert store.count(Query("bulk")) == 1201
    assert store.get("bulk/d01200") == {"i": 1200}


# -- whole-store operations --------------------------------------------------


def test_stream_all_walks_every_collection_in_path_order(store: Store) -> None:
    paths = [
        "users/u1-x",  # "-" sorts before "/" as text, after it by segment
        "users/u1/expenses/e2/items/i1",
        "users/u1",
        "users/u1/expenses/e1",
        "users/u1/sales/s1",
        "users/u2/expenses/e9",  # its parent users/u2 does not exist
        "config/app",
        "users-archive/old",
        "users/u1/expenses/e2",
    ]
    for index, path in enumerate(paths):
        store.set(path, {"i": index})
    streamed = list(store.stream_all())
    assert [doc.path for doc in streamed] == [
        "config/app",
        "users/u1",
        "users/u1/expenses/e1",
        "users/u1/expenses/e2",
        "users/u1/expenses/e2/items/i1",
        "users/u1/sales/s1",
        "users/u1-x",
        "users/u2/expenses/e9",
        "users-archive/old",
    ]
    by_path = {doc.path: doc.data for doc in streamed}
    assert by_path == {path: {"i": index} for index, path in enumerate(paths)}


def test_stream_all_of_empty_store(store: Store) -> None:
    assert list(store.stream_all()) == []


def test_delete_tree_removes_document_and_subcollections(store: Store) -> None:
    for path in [
        "users/u1",
        "users/u1/expenses/e1",
        "users/u1/expenses/e1/items/i1",
        "users/u1/sales/s1",
        "users/u1-x",
        "users/u10",
        "users/u2/expenses/e1",
    ]:
        store.set(path, {"p": path})
    assert store.delete_tree("users/u1") == 4  # u1, e1, i1, s1
    remaining = [doc.path for doc in store.stream_all()]
    assert remaining == ["users/u1-x", "users/u10", "users/u2/expenses/e1"]
    assert store.get("users/u1") is None
    assert store.query(Query("users/u1/expenses")).docs == []
    assert store.delete_tree("users/missing") == 0


def test_ping(store: Store) -> None:
    store.ping()


@pytest.mark.parametrize(
    "call",
    [
        lambda s: s.get(""),
        lambda s: s.get("users"),
        lambda s: s.get("users//u1"),
        lambda s: s.get("users/../u1"),
        lambda s: s.set("users", {"a": 1}),
        lambda s: s.set("users/u1/expenses", {"a": 1}),
        lambda s: s.update("users", {"a": 1}),
        lambda s: s.delete("users"),
        lambda s: s.delete("users//x"),
        lambda s: s.query(Query("users/u1")),
        lambda s: s.query(Query("")),
        lambda s: s.count(Query("users/u1")),
        lambda s: s.delete_tree(""),
        lambda s: s.batch().set("users", {"a": 1}),
    ],
    ids=[
        "get-empty",
        "get-collection",
        "get-empty-segment",
        "get-dotdot",
        "set-collection",
        "set-subcollection",
        "update-collection",
        "delete-collection",
        "delete-empty-segment",
        "query-document",
        "query-empty",
        "count-document",
        "delete-tree-empty",
        "batch-set-collection",
    ],
)
def test_invalid_paths_raise_value_error(
    store: Store, call: Callable[[Store], Any]
) -> None:
    with pytest.raises(ValueError):
        call(store)
