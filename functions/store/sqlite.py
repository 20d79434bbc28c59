"""The embedded store: documents in one SQLite file (WAL), safe across processes.

Each document is one row keyed by its full path, its data as JSON with
timestamps tagged so they come back as datetimes. Writers take SQLite's write
lock (`BEGIN IMMEDIATE`), which makes every transaction serialisable across
threads and processes; readers never block writers thanks to WAL.
"""

from __future__ import annotations

import base64
import json
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from functions.store._values import apply_changes, deep_merge, resolve_transforms
from functions.store.base import (
    Doc,
    DocumentMissing,
    Filter,
    Page,
    Query,
    StoreUnavailable,
    collection_of,
    split_path,
)

__all__ = ["SqliteStore"]

T = TypeVar("T")

_TS = "$ts"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS docs (
    path TEXT PRIMARY KEY,
    collection TEXT NOT NULL,
    id TEXT NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS docs_collection ON docs (collection, id);
"""
_SQL_OPS = {"==": "=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}


def _to_json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("timestamps must be timezone-aware")
        return {_TS: value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")}
    if isinstance(value, dict):
        return {str(k): _to_json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_to_json_value(v) for v in value]
    return value


def _from_json_object(obj: dict[str, Any]) -> Any:
    # Limitation: a stored map whose only key is "$ts" holding ISO text reads
    # back as a timestamp. The services never store maps with keys taken from
    # user input, so no such map exists; anything else with that key is kept.
    if len(obj) == 1 and isinstance(obj.get(_TS), str):
        try:
            return datetime.fromisoformat(obj[_TS])
        except ValueError:
            return obj
    return obj


def encode(data: dict[str, Any]) -> str:
    """The JSON text stored for `data`."""
    return json.dumps(_to_json_value(data), ensure_ascii=False, allow_nan=False)


def decode(text: str) -> dict[str, Any]:
    """The data of a stored JSON text, timestamps restored."""
    result: dict[str, Any] = json.loads(text, object_hook=_from_json_object)
    return result


def _json_path(field: str) -> str:
    return "$" + "".join(
        '."' + part.replace('"', "") + '"' for part in field.split(".")
    )


def _field_expr(field: str) -> tuple[str, list[Any]]:
    # Timestamps are stored as {"$ts": iso}; comparing the ISO text orders them.
    path = _json_path(field)
    return "coalesce(json_extract(data, ?), json_extract(data, ?))", [
        path + '."$ts"',
        path,
    ]


def _sql_value(value: Any) -> Any:
    encoded = _to_json_value(value)
    if isinstance(encoded, dict) and _TS in encoded:
        return encoded[_TS]
    if isinstance(encoded, bool):
        return int(encoded)
    return encoded


def _encode_cursor(values: list[Any]) -> str:
    raw = json.dumps(_to_json_value(values), separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(
            base64.urlsafe_b64decode(padded), object_hook=_from_json_object
        )
    except ValueError as err:
        raise ValueError("invalid cursor") from err
    if not isinstance(values, list) or not all(map(_cursor_value_ok, values)):
        raise ValueError("invalid cursor")
    return values


def _cursor_value_ok(value: Any) -> bool:
    # A forged cursor may hold maps, lists or integers SQLite cannot bind
    # (a driver error, not a bad request); cursors we issue never do.
    if isinstance(value, int):
        return -(2**63) <= value < 2**63
    return value is None or isinstance(value, str | float | datetime)


def _read_field(data: dict[str, Any], field: str) -> Any:
    node: Any = data
    for part in field.split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node


def _compare_paths(left: str, right: str) -> int:
    left_parts, right_parts = left.split("/"), right.split("/")
    return (left_parts > right_parts) - (left_parts < right_parts)


class _SqliteTransaction:
    def __init__(self, store: SqliteStore, conn: sqlite3.Connection) -> None:
        self._store = store
        self._conn = conn

    def get(self, path: str) -> dict[str, Any] | None:
        return self._store._get(self._conn, path)

    def set(self, path: str, data: dict[str, Any], merge: bool = False) -> None:
        self._store._set(self._conn, path, data, merge)

    def update(self, path: str, changes: dict[str, Any]) -> None:
        self._store._update(self._conn, path, changes)

    def delete(self, path: str) -> None:
        collection_of(path)  # raises ValueError unless a document path
        self._conn.execute("DELETE FROM docs WHERE path = ?", (path,))


class _SqliteBatch:
    def __init__(self, store: SqliteStore) -> None:
        self._store = store
        self._ops: list[Callable[[_SqliteTransaction], None]] = []

    def set(self, path: str, data: dict[str, Any], merge: bool = False) -> None:
        collection_of(path)  # a bad path fails at the call, not at commit
        self._ops.append(lambda txn: txn.set(path, data, merge))

    def update(self, path: str, changes: dict[str, Any]) -> None:
        collection_of(path)
        self._ops.append(lambda txn: txn.update(path, changes))

    def delete(self, path: str) -> None:
        collection_of(path)
        self._ops.append(lambda txn: txn.delete(path))

    def commit(self) -> None:
        ops, self._ops = self._ops, []

        def run(txn: Any) -> None:
            for op in ops:
                op(txn)

        self._store.run_transaction(run)


class SqliteStore:
    """The `Store` port on a SQLite file shared by threads and processes."""

    def __init__(self, path: Path | str, busy_timeout_s: float = 30.0) -> None:
        self.path = Path(path)
        self._busy_timeout_ms = int(busy_timeout_s * 1000)
        self._local = threading.local()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._guard():
            conn = self._conn()
            conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript(_SCHEMA)

    # -- connections ---------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self.path, isolation_level=None, check_same_thread=False, timeout=30
        )
        conn.execute(f"PRAGMA busy_timeout={self._busy_timeout_ms}")
        conn.execute("PRAGMA synchronous=NORMAL")
        return conn

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            self._local.conn = conn
        return conn

    @contextmanager
    def _guard(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.OperationalError as err:
            raise StoreUnavailable(f"sqlite: {err}") from err
        except sqlite3.DatabaseError as err:
            raise StoreUnavailable(f"sqlite: {err}") from err

    def close(self) -> None:
        """Close this thread's connection."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    # -- primitives on a connection -----------------------------------------

    def _get(self, conn: sqlite3.Connection, path: str) -> dict[str, Any] | None:
        collection_of(path)  # raises ValueError unless a document path
        row = conn.execute("SELECT data FROM docs WHERE path = ?", (path,)).fetchone()
        return decode(row[0]) if row else None

    def _write(self, conn: sqlite3.Connection, path: str, data: dict) -> None:
        parts = split_path(path)
        if len(parts) % 2:
            raise ValueError(f"not a document path: {path!r}")
        conn.execute(
            "INSERT INTO docs (path, collection, id, data) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(path) DO UPDATE SET data = excluded.data",
            (path, collection_of(path), parts[-1], encode(data)),
        )

    def _set(
        self, conn: sqlite3.Connection, path: str, data: dict, merge: bool
    ) -> None:
        old = self._get(conn, path)
        if merge and old is not None:
            new = deep_merge(old, data)
        else:
            new = resolve_transforms(data, old if merge else None)
        self._write(conn, path, new)

    def _update(self, conn: sqlite3.Connection, path: str, changes: dict) -> None:
        old = self._get(conn, path)
        if old is None:
            raise DocumentMissing(path)
        self._write(conn, path, apply_changes(old, changes))

    @contextmanager
    def _write_txn(self) -> Iterator[sqlite3.Connection]:
        conn = self._conn()
        with self._guard():
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    # -- the port ------------------------------------------------------------

    def get(self, path: str) -> dict[str, Any] | None:
        with self._guard():
            return self._get(self._conn(), path)

    def set(self, path: str, data: dict[str, Any], merge: bool = False) -> None:
        with self._write_txn() as conn:
            self._set(conn, path, data, merge)

    def update(self, path: str, changes: dict[str, Any]) -> None:
        with self._write_txn() as conn:
            self._update(conn, path, changes)

    def delete(self, path: str) -> None:
        collection_of(path)  # raises ValueError unless a document path
        with self._guard():
            self._conn().execute("DELETE FROM docs WHERE path = ?", (path,))

    def run_transaction(self, fn: Callable[[Any], T]) -> T:
        # BEGIN IMMEDIATE serialises writers, so there is no contention to retry.
        with self._write_txn() as conn:
            return fn(_SqliteTransaction(self, conn))

    def batch(self) -> _SqliteBatch:
        return _SqliteBatch(self)

    def _where(self, query: Query) -> tuple[list[str], list[Any]]:
        if not len(split_path(query.collection)) % 2:
            raise ValueError(f"not a collection path: {query.collection!r}")
        clauses = ["collection = ?"]
        params: list[Any] = [query.collection]
        for flt in query.filters:
            clause, values = self._filter_clause(flt)
            clauses.append(clause)
            params.extend(values)
        return clauses, params

    def _filter_clause(self, flt: Filter) -> tuple[str, list[Any]]:
        expr, params = _field_expr(flt.field)
        if flt.op not in _SQL_OPS:
            raise ValueError(f"unsupported operator {flt.op!r}")
        if flt.value is None and flt.op == "==":
            return f"{expr} IS NULL", params
        return f"{expr} {_SQL_OPS[flt.op]} ?", [*params, _sql_value(flt.value)]

    def query(self, query: Query) -> Page:
        clauses, params = self._where(query)
        order_sql: list[str] = []
        order_exprs: list[tuple[str, list[Any], str]] = []
        for field, direction in query.order_by:
            expr, expr_params = _field_expr(field)
            clauses.append(f"{expr} IS NOT NULL")
            params.extend(expr_params)
            order_exprs.append((expr, expr_params, direction))
        id_direction = query.order_by[-1][1] if query.order_by else "asc"
        order_exprs.append(("id", [], id_direction))

        if query.cursor:
            values = _decode_cursor(query.cursor)
            if len(values) != len(order_exprs):
                raise ValueError("invalid cursor")
            clause, cursor_params = self._after_clause(order_exprs, values)
            clauses.append(clause)
            params.extend(cursor_params)

        for expr, expr_params, way in order_exprs:
            order_sql.append(f"{expr} {'DESC' if way == 'desc' else 'ASC'}")
            params.extend(expr_params)
        sql = (
            f"SELECT path, data FROM docs WHERE {' AND '.join(clauses)} "
            f"ORDER BY {', '.join(order_sql)}"
        )
        if query.limit is not None:
            sql += " LIMIT ?"
            params.append(query.limit + 1)

        with self._guard():
            rows = self._conn().execute(sql, params).fetchall()
        docs = [Doc(path, decode(data)) for path, data in rows]
        next_cursor = None
        if query.limit is not None and len(docs) > query.limit:
            docs = docs[: query.limit]
            last = docs[-1]
            next_cursor = _encode_cursor(
                [_read_field(last.data, f) for f, _ in query.order_by] + [last.id]
            )
        return Page(docs, next_cursor)

    @staticmethod
    def _after_clause(
        order_exprs: list[tuple[str, list[Any], str]], values: list[Any]
    ) -> tuple[str, list[Any]]:
        # Lexicographic "comes after": (a > x) OR (a = x AND b > y) OR ...
        alternatives: list[str] = []
        params: list[Any] = []
        for index, (expr, expr_params, direction) in enumerate(order_exprs):
            parts: list[str] = []
            for prev, (prev_expr, prev_params, _) in enumerate(order_exprs[:index]):
                parts.append(f"{prev_expr} = ?")
                params.extend([*prev_params, _sql_value(values[prev])])
            op = "<" if direction == "desc" else ">"
            parts.append(f"{expr} {op} ?")
            params.extend([*expr_params, _sql_value(values[index])])
            alternatives.append("(" + " AND ".join(parts) + ")")
        return "(" + " OR ".join(alternatives) + ")", params

    def count(self, query: Query) -> int:
        clauses, params = self._where(query)
        with self._guard():
            row = (
                self._conn()
                .execute(
                    f"SELECT COUNT(*) FROM docs WHERE {' AND '.join(clauses)}", params
                )
                .fetchone()
            )
        return int(row[0])

    def stream_all(self) -> Iterator[Doc]:
        # A dedicated connection holds one read transaction: a WAL snapshot.
        conn = self._connect()
        # Path order is segment by segment (a document, then its subcollections,
        # then its next sibling): as plain text "users/u1-x" would sort before
        # "users/u1/expenses/e1" because "-" < "/".
        conn.create_collation("segments", _compare_paths)
        try:
            with self._guard():
                conn.execute("BEGIN")
                cursor = conn.execute(
                    "SELECT path, data FROM docs ORDER BY path COLLATE segments"
                )
                while True:
                    rows = cursor.fetchmany(500)
                    if not rows:
                        break
                    for path, data in rows:
                        yield Doc(path, decode(data))
                conn.execute("COMMIT")
        finally:
            conn.close()

    def delete_tree(self, path: str) -> int:
        split_path(path)
        prefix = path.rstrip("/") + "/"
        with self._write_txn() as conn:
            cur = conn.execute(
                "DELETE FROM docs WHERE path = ? OR substr(path, 1, ?) = ?",
                (path, len(prefix), prefix),
            )
            return cur.rowcount

    def ping(self) -> None:
        with self._guard():
            self._conn().execute("SELECT 1").fetchone()
