"""Fault injection (issue 8): the store failing on the n-th operation, Redis
killed, the backup bucket going away mid-backup, OCR and the model timing out.

Requests fail with UNAVAILABLE (never INTERNAL) or degrade as documented, a
failed request writes nothing, and the next request after recovery succeeds.
Real processes stand in for the dependencies where it matters: redis-server,
fake-gcs-server, a `tesseract` that sleeps, an HTTP model that hangs. Under
CI=true a missing tool fails the test instead of skipping it.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import sqlite3
import stat
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

import pytest

from functions.store.base import StoreUnavailable
from tests.conftest import CallableClient
from tests.support import need, started_redis
from tests.tokens import mint

_IGNORED = ("metrics/", "alerts/")


def snapshot(store: Any, ignored: tuple[str, ...] = _IGNORED) -> list[Any]:
    return [
        (d.path, d.data) for d in store.stream_all() if not d.path.startswith(ignored)
    ]


# -- a store that fails on the n-th operation ------------------------------------


class Injected(StoreUnavailable):
    """The fault this module injects."""


class FailingStore:
    """Wraps a store; the `fail_at`-th operation of the armed thread raises.

    Every call counts: get, set, update, delete, query, count, transaction
    start, each read and write inside a transaction, batch commits, each
    document of a stream, delete_tree, ping. Other threads (the monitoring
    flusher) pass through uncounted, so the count is that of the request.
    The error is `StoreUnavailable`, or whatever `error` builds; `failed`
    names the operation that raised it.
    """

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.fail_at: int | None = None
        self.ops = 0
        self.failed: str | None = None
        self.error: Callable[[], BaseException] = lambda: Injected("injected")
        self.kinds: tuple[str, ...] = ()
        self._thread: int | None = None

    def arm(self, fail_at: int | None, kinds: tuple[str, ...] = ()) -> None:
        """Fail the `fail_at`-th operation (of `kinds` only, when given)."""
        self.fail_at = fail_at
        self.kinds = kinds
        self.ops = 0
        self.failed = None
        self._thread = threading.get_ident()

    def tick(self, what: str) -> None:
        if self._thread != threading.get_ident():
            return
        if self.kinds and what not in self.kinds:
            return
        self.ops += 1
        if self.fail_at is not None and self.ops == self.fail_at:
            self.failed = what
            raise self.error()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def get(self, path: str) -> Any:
        self.tick("get")
        return self.inner.get(path)

    def set(self, path: str, data: Any, merge: bool = False) -> None:
        self.tick("set")
        self.inner.set(path, data, merge)

    def update(self, path: str, changes: Any) -> None:
        self.tick("update")
        self.inner.update(path, changes)

    def delete(self, path: str) -> None:
        self.tick("delete")
        self.inner.delete(path)

    def query(self, query: Any) -> Any:
        self.tick("query")
        return self.inner.query(query)

    def count(self, query: Any) -> int:
        self.tick("count")
        result: int = self.inner.count(query)
        return result

    def delete_tree(self, path: str) -> int:
        self.tick("delete_tree")
        result: int = self.inner.delete_tree(path)
        return result

    def ping(self) -> None:
        self.tick("ping")
        self.inner.ping()

    def stream_all(self) -> Iterator[Any]:
        self.tick("stream_all")
        for doc in self.inner.stream_all():
            self.tick("stream doc")
            yield doc

    def run_transaction(self, fn: Callable[[Any], Any]) -> Any:
        self.tick("transaction")
        outer = self

        class Txn:
            def __init__(self, txn: Any) -> None:
                self.txn = txn

            def get(self, path: str) -> Any:
                outer.tick("txn.get")
                return self.txn.get(path)

            def set(self, path: str, data: Any, merge: bool = False) -> None:
                outer.tick("txn.set")
                self.txn.set(path, data, merge)

            def update(self, path: str, changes: Any) -> None:
                outer.tick("txn.update")
                self.txn.update(path, changes)

            def delete(self, path: str) -> None:
                outer.tick("txn.delete")
                self.txn.delete(path)

        return self.inner.run_transaction(lambda txn: fn(Txn(txn)))

    def batch(self) -> Any:
        inner_batch = self.inner.batch()
        outer = self

        class Batch:
            def __getattr__(self, name: str) -> Any:
                return getattr(inner_batch, name)

            def commit(self) -> None:
                outer.tick("batch.commit")
                inner_batch.commit()

        return Batch()


@pytest.fixture()
def failing(services: Any) -> Iterator[FailingStore]:
    wrapper = FailingStore(services.store)
    services.store = wrapper
    yield wrapper
    services.store = wrapper.inner


ALICE = mint("alice")
ADMIN = mint("root", admin=True)


def _intent(name: str, payload: dict[str, Any]) -> tuple[str, Any, str]:
    return "assistenteHttp", {"intent": name, "payload": payload}, ALICE


def _expense(client: CallableClient, rid: str | None = None) -> str:
    payload = {
        "data": "2026-11-30",
        "tipo": "ingredientes",
        "valor": "R$ 45,90",
        "fornecedor": "Atacadão",
    }
    if rid:
        payload["requestId"] = rid
    return str(client.ok(*_intent("registrarDespesa", payload))["expenseId"])


def _order(client: CallableClient) -> str:
    return str(
        client.ok(
            *_intent(
                "registrarPedido",
                {
                    "cliente": "Maria",
                    "produtos": ["2x Bolo de pote"],
                    "dataEntrega": "2026-12-01",
                    "valor": "80,00",
                },
            )
        )["orderId"]
    )


def _recipe(client: CallableClient) -> str:
    return str(
        client.ok(
            *_intent(
                "criarNovaReceita",
                {"recipeName": "Brigadeiro", "ingredients": ["1 lata de leite"]},
            )
        )["recipeId"]
    )


Prepare = Callable[[CallableClient], tuple[str, Any, str]]

SCENARIOS: dict[str, Prepare] = {
    # creates
    "registrarDespesa": lambda c: _intent(
        "registrarDespesa",
        {"data": "01/12/2026", "tipo": "gás", "valor": 12.5, "fornecedor": "Ultragaz"},
    ),
    "registrarDespesa-requestId": lambda c: _intent(
        "registrarDespesa",
        {
            "data": "01/12/2026",
            "tipo": "gás",
            "valor": 12.5,
            "fornecedor": "Ultragaz",
            "requestId": f"fault-{os.urandom(4).hex()}",
        },
    ),
    "registrarPedido": lambda c: _intent(
        "registrarPedido",
        {
            "cliente": "João",
            "produtos": [{"produto": "Bolo", "quantidade": 1, "precoUnitario": 50}],
            "dataEntrega": "2026-12-02",
            "valor": 50,
        },
    ),
    "criarNovaReceita": lambda c: _intent(
        "criarNovaReceita",
        {"recipeName": "Pão", "ingredients": ["500 g de farinha"], "rendimento": 4},
    ),
    # updates
    "atualizarPedido": lambda c: _intent(
        "atualizarPedido", {"id": _order(c), "status": "pronto", "valor": 99}
    ),
    "updatePreferences": lambda c: (
        "updatePreferences",
        {"language": "en", "notifications": {"push": False}},
        ALICE,
    ),
    "setupUserProfile-existing": lambda c: (
        "setupUserProfile",
        {"displayName": "Alice"},
        ALICE,
    ),
    "updateUserPlan": lambda c: (
        "updateUserPlan",
        {"uid": "alice", "plan": "pro"},
        ADMIN,
    ),
    # deletes
    "excluirDespesa": lambda c: _intent("excluirDespesa", {"id": _expense(c)}),
    "excluirPedido": lambda c: _intent("excluirPedido", {"id": _order(c)}),
    "excluirReceita": lambda c: _intent("excluirReceita", {"id": _recipe(c)}),
    # listings and reads
    "listarDespesas": lambda c: _intent("listarDespesas", {"limit": 2}),
    "listarPedidos": lambda c: _intent("listarPedidos", {"status": "pendente"}),
    "listarReceitas": lambda c: _intent("listarReceitas", {}),
    "gerarAnalise": lambda c: _intent("gerarAnalise", {"query": "Estou lucrando?"}),
    "getUserStats": lambda c: ("getUserStats", {}, ALICE),
    "getUserProfileOptimized": lambda c: ("getUserProfileOptimized", {}, ALICE),
    "getUserMetrics": lambda c: ("getUserMetrics", {}, ALICE),
    "listBackups": lambda c: ("listBackups", {}, ADMIN),
    "getBackupStats": lambda c: ("getBackupStats", {}, ADMIN),
    # setup of a brand-new user
    "setupDatabase-new": lambda c: (
        "assistenteHttp",
        {"intent": "setupDatabase", "payload": {"displayName": "Nova"}},
        mint(f"new-{os.urandom(4).hex()}"),
    ),
    "setupUserProfile-new": lambda c: (
        "setupUserProfile",
        {},
        mint(f"new-{os.urandom(4).hex()}"),
    ),
}

RECORD_WRITES = frozenset(
    {
        "registrarDespesa",
        "registrarDespesa-requestId",
        "registrarPedido",
        "criarNovaReceita",
        "atualizarPedido",
        "excluirDespesa",
        "excluirPedido",
        "excluirReceita",
    }
)
"""The scenarios that write through `records`, and so refresh the first page."""

_MAX_OPS = 60
NOT_STREAMED = (
    "get",
    "set",
    "update",
    "delete",
    "query",
    "count",
    "delete_tree",
    "ping",
    "stream_all",
    "transaction",
    "txn.get",
    "txn.set",
    "txn.update",
    "txn.delete",
    "batch.commit",
)


def _fresh_cache(services: Any) -> None:
    for uid in ("alice", "root"):
        services.cache.invalidate(uid)


class _Events(logging.Handler):
    """The `event` of every record logged on a logger while installed."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.events: list[str | None] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.events.append(getattr(record, "event", None))


@contextmanager
def _events(name: str) -> Iterator[_Events]:
    # On the logger itself: independent of how the app configures propagation.
    handler = _Events()
    logger = logging.getLogger(name)
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)


Outcome = Literal["failed", "refresh", "done"]


def _attempt(
    client: CallableClient,
    services: Any,
    failing: FailingStore,
    prepare: Prepare,
    n: int,
    ignored: tuple[str, ...] = _IGNORED,
    kinds: tuple[str, ...] = (),
) -> Outcome:
    """The call with its n-th store operation (of `kinds`) failing.

    "failed": the call was UNAVAILABLE, wrote nothing, and the same call
    succeeds once the store is back. "refresh": the n-th operation was the
    read that caches the default first page after a record write had committed
    (`records.refresh_default_page`): the call succeeded, the write stands and
    one `cache_refresh_failed` line was logged. "done": the call needed fewer
    than n operations (and succeeded).
    """
    failing.arm(None)
    function, data, token = prepare(client)
    _fresh_cache(services)
    before = snapshot(failing.inner, ignored)

    failing.arm(n, kinds)
    with _events("functions.assistant.records") as log:
        status, body = client.call(function, data, token)
    used, failed = failing.ops, failing.failed
    failing.arm(None)

    if status == 200 and used < n:
        return "done"
    if status == 200 and "cache_refresh_failed" in log.events:
        assert failed == "query", (n, failed)
        assert log.events == ["cache_refresh_failed"], (n, log.events)
        assert snapshot(failing.inner, ignored) != before, f"write lost at op {n}"
        return "refresh"
    assert status == 503, (n, body)
    assert body["error"]["status"] == "UNAVAILABLE", (n, body)
    assert snapshot(failing.inner, ignored) == before, f"partial write at op {n}"

    _fresh_cache(services)
    status, body = client.call(function, data, token)
    assert status == 200, (n, body)
    return "failed"


def _sweep(
    client: CallableClient,
    services: Any,
    failing: FailingStore,
    prepare: Prepare,
    ignored: tuple[str, ...] = _IGNORED,
    kinds: tuple[str, ...] = (),
) -> Counter[Outcome]:
    """`_attempt` for n = 1, 2, ... until the call needs fewer operations;
    returns how many n had each outcome but "done"."""
    outcomes: Counter[Outcome] = Counter()
    for n in range(1, _MAX_OPS + 1):
        outcome = _attempt(client, services, failing, prepare, n, ignored, kinds)
        if outcome == "done":
            return outcomes
        outcomes[outcome] += 1
    raise AssertionError(f"still failing after {_MAX_OPS} operations")


@pytest.fixture()
def seeded(client: CallableClient) -> CallableClient:
    client.ok("setupUserProfile", {}, ALICE)
    _expense(client)
    _order(client)
    _recipe(client)
    client.ok("createBackup", {}, ADMIN)
    return client


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_store_failing_on_the_nth_operation(
    seeded: CallableClient, services: Any, failing: FailingStore, scenario: str
) -> None:
    outcomes = _sweep(seeded, services, failing, SCENARIOS[scenario])
    assert outcomes["failed"] >= 1  # every scenario touches the store
    # A record write ends with one read that refreshes the cached first page:
    # its failure is logged and the write stands. No other call swallows one.
    assert outcomes["refresh"] == (scenario in RECORD_WRITES)


def test_createbackup_failing_on_the_nth_operation(
    seeded: CallableClient, services: Any, failing: FailingStore
) -> None:
    # A failed backup is recorded as such (its status document and the alert
    # are the point), so only business data and other backups must not move.
    def prepare(client: CallableClient) -> tuple[str, Any, str]:
        return "createBackup", {}, ADMIN

    # Every operation but the documents of the stream (their number grows
    # with each backup's own status document), then the stream itself.
    ignored = (*_IGNORED, "backups/")
    outcomes = _sweep(seeded, services, failing, prepare, ignored, NOT_STREAMED)
    assert outcomes["failed"] >= 3 and outcomes["refresh"] == 0
    for n in (1, 2, 4):
        outcome = _attempt(
            seeded, services, failing, prepare, n, ignored, ("stream doc",)
        )
        assert outcome == "failed"
    statuses = [
        d.data["status"]
        for d in failing.inner.stream_all()
        if d.path.startswith("backups/")
    ]
    assert "failed" in statuses or "completed" in statuses
    alert = failing.inner.get("alerts/backup_failed")
    assert alert is not None


def test_daily_backup_job_fails_then_recovers(
    seeded: CallableClient, services: Any, failing: FailingStore
) -> None:
    from functions.monitoring import run_scheduled

    failing.arm(3, kinds=("stream doc",))  # the backup's snapshot breaks off
    with pytest.raises(StoreUnavailable):
        run_scheduled("dailyBackup", "dailyBackup")
    failing.arm(None)
    daily = [
        d.data
        for d in failing.inner.stream_all()
        if d.path.startswith("backups/daily-")
    ]
    assert [r["status"] for r in daily] == ["failed"]
    alert = failing.inner.get("alerts/backup_failed")
    assert alert is not None and alert["status"] == "open"

    result = run_scheduled("dailyBackup", "dailyBackup")

    assert result["skipped"] is False and result["status"] == "verified"
    alert = failing.inner.get("alerts/backup_failed")
    assert alert is not None and alert["status"] != "open"


# -- SQLite errors inside a transaction --------------------------------------------


def test_sqlite_error_inside_a_transaction_rolls_back(
    seeded: CallableClient, services: Any, failing: FailingStore
) -> None:
    """An OperationalError raised between the writes of a transaction (after
    the profile was charged, before the record) leaves nothing behind."""
    conn = failing.inner._conn()
    failing.error = lambda: sqlite3.OperationalError("disk I/O error")
    function, data, token = SCENARIOS["registrarDespesa"](seeded)
    for n in range(2, 9):
        before = snapshot(failing.inner)
        failing.arm(n)
        status, body = seeded.call(function, data, token)
        failing.arm(None)
        if status == 200:
            break
        assert body["error"]["status"] == "UNAVAILABLE", body
        assert not conn.in_transaction  # ROLLBACK ran
        assert snapshot(failing.inner) == before
    else:
        raise AssertionError("the create never succeeded")


def test_locked_database_is_unavailable_then_recovers(
    client: CallableClient, services: Any, tmp_path: Path
) -> None:
    """A real `database is locked` from SQLite: another process holds the
    write lock longer than the busy timeout."""
    from functions.store.sqlite import SqliteStore

    store = SqliteStore(tmp_path / "locked.sqlite3", busy_timeout_s=0.2)
    services.store = store
    _expense(client)
    before = snapshot(store)
    blocker = sqlite3.connect(tmp_path / "locked.sqlite3", isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        function, data, token = SCENARIOS["registrarDespesa"](client)
        status, body = client.call(function, data, token)
        assert status == 503 and body["error"]["status"] == "UNAVAILABLE", body
        assert not store._conn().in_transaction
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert snapshot(store) == before
    status, body = client.call(function, data, token)
    assert status == 200, body


# -- Redis killed mid-test ----------------------------------------------------------


@pytest.fixture()
def redis_services(services: Any) -> Iterator[tuple[Any, Any]]:
    from functions.cache import Cache
    from functions.services import use_services

    server = started_redis()
    os.environ["CACHE_REDIS_URL"] = server.url
    services.settings = dataclasses.replace(
        services.settings, cache_redis_url=server.url
    )
    services.cache.close()
    services.cache = Cache.from_settings(services.settings)
    use_services(services)
    try:
        yield services, server
    finally:
        server.cleanup()


def test_redis_killed_mid_test_requests_still_succeed(
    client: CallableClient, redis_services: tuple[Any, Any]
) -> None:
    services, server = redis_services
    _expense(client)
    listed = client.ok(*_intent("listarDespesas", {}))
    assert len(listed["expenses"]) == 1
    assert client.ok(*_intent("listarDespesas", {}))["cached"] is True
    assert services.cache.stats()["l2"] == {
        "configured": True,
        "healthy": True,
        "tracking": True,
    }

    server.kill()

    for round_ in range(3):
        _expense(client)
        listed = client.ok(*_intent("listarDespesas", {}))
        assert len(listed["expenses"]) == 2 + round_  # the write is seen
        client.ok("getUserProfileOptimized", {}, ALICE)
        client.ok("getUserStats", {}, ALICE)
        client.ok(*_intent("gerarAnalise", {"query": "lucro?"}))
    stats = client.ok(*_intent("getCacheStats", {}))["stats"]
    assert stats["total"]["l2Errors"] >= 1 and stats["l2"]["healthy"] is False
    assert stats["l2"]["tracking"] is False

    server.start()  # recovery on the same port
    _expense(client)
    assert len(client.ok(*_intent("listarDespesas", {}))["expenses"]) == 5


# -- the bucket going away mid-backup -------------------------------------------------


def test_bucket_unreachable_mid_backup_then_next_backup_ok(
    services: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from functions.backup import api as backup_api
    from functions.backup.destinations import GcsDestination, reset_storage_client
    from functions.backup.verify import verify_backup
    from functions.monitoring import run_scheduled
    from tests.fake_gcs import FakeGcsError, FakeGcsServer, find_fake_gcs

    need(find_fake_gcs() is not None, "fake-gcs-server")
    server = FakeGcsServer()
    try:
        server.start()
    except FakeGcsError as err:
        need(False, f"fake-gcs-server ({err})")
    try:
        server.client().create_bucket("app-backups")
        # The configured destination, with retries cut from 120 s to 2 s so a
        # dead bucket fails the run quickly.
        monkeypatch.setattr(
            backup_api,
            "_destination",
            lambda s: GcsDestination(server.client(), "app-backups", "db/", 2.0),
        )
        for index in range(2500):
            services.store.set(
                f"users/u{index % 5}/expenses/e{index:05d}",
                {"descricao": os.urandom(300).hex(), "valor": index},
            )
        inner = services.store

        class KillingStore(FailingStore):
            def stream_all(self) -> Iterator[Any]:
                for index, doc in enumerate(inner.stream_all()):
                    if index == 1200:
                        server.kill()
                    yield doc

        services.store = KillingStore(inner)
        with pytest.raises(Exception) as failure:
            run_scheduled("dailyBackup", "dailyBackup")
        from functions.errors import Unavailable

        assert isinstance(failure.value, Unavailable)
        services.store = inner
        (record,) = [
            d.data for d in inner.stream_all() if d.path.startswith("backups/daily-")
        ]
        assert record["status"] == "failed"
        alert = inner.get("alerts/backup_failed")
        assert alert is not None and alert["status"] == "open"

        server.start()  # same port, empty memory: the bucket is recreated
        server.client().create_bucket("app-backups")
        result = run_scheduled("dailyBackup", "dailyBackup")

        assert result["status"] == "verified" and result["documentCount"] == 2500
        destination = backup_api._destination(services)
        assert verify_backup(services, destination, result["backupId"]).ok
        alert = inner.get("alerts/backup_failed")
        assert alert is not None and alert["status"] != "open"
    finally:
        server.stop()
        reset_storage_client()


# -- OCR timing out -----------------------------------------------------------------


def _sleeping_tesseract(tmp_path: Path) -> Path:
    script = tmp_path / "tesseract"
    script.write_text(
        "#!/bin/sh\n"
        'if [ "$1" = "--version" ]; then echo "tesseract 5.3.0"; exit 0; fi\n'
        "exec sleep 30\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


def _receipt_image() -> bytes:
    from PIL import Image, ImageDraw

    image = Image.new("L", (400, 200), 255)
    draw = ImageDraw.Draw(image)
    draw.text((20, 20), "PADARIA PAO QUENTE\nTOTAL R$ 12,50", fill=0)
    import io

    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def test_ocr_timing_out_is_unavailable_and_not_charged(
    client: CallableClient, services: Any, tmp_path: Path
) -> None:
    import base64

    from functions.ocr import UNAVAILABLE_MESSAGE

    client.ok("setupUserProfile", {}, ALICE)
    services.settings = dataclasses.replace(
        services.settings,
        ocr_engine="tesseract",
        tesseract_cmd=str(_sleeping_tesseract(tmp_path)),
        ocr_timeout_seconds=1.0,
    )
    payload = {"file": base64.b64encode(_receipt_image()).decode()}
    before = snapshot(services.store)

    status, body = client.intent("processarDocumento", payload, ALICE)

    assert status == 503, body
    assert body["error"]["status"] == "UNAVAILABLE"
    assert body["error"]["message"] == UNAVAILABLE_MESSAGE
    assert snapshot(services.store) == before  # no plan charge

    # Recovery: the real engine answers the next call.
    import shutil

    need(shutil.which("tesseract") is not None, "tesseract")
    services.settings = dataclasses.replace(
        services.settings, tesseract_cmd="tesseract", ocr_timeout_seconds=30.0
    )
    status, body = client.intent("processarDocumento", payload, ALICE)
    assert status in (200, 400), body  # read (or "no legible text"), not down
    assert body.get("error", {}).get("status") != "UNAVAILABLE"


# -- the model timing out -------------------------------------------------------------


def test_model_timing_out_falls_back_to_the_deterministic_text(
    client: CallableClient, services: Any
) -> None:
    from tests.test_analysis import FakeGemini

    fake = FakeGemini()
    fake.mode = "hang"
    try:
        services.settings = dataclasses.replace(
            services.settings,
            gemini_api_key="test-key",
            gemini_base_url=fake.url,
            gemini_timeout_seconds=1.0,
            gemini_model="gemini-test",
        )
        _expense(client)
        reply = client.ok(*_intent("gerarAnalise", {"query": "Estou lucrando?"}))
        assert reply["source"] == "deterministico"
        assert reply["analysis"]
        assert len(fake.requests) == 1  # tried once, no retry

        fake.mode = "ok"
        services.cache.invalidate("alice")
        reply = client.ok(*_intent("gerarAnalise", {"query": "E agora?"}))
        assert reply["source"] == "gemini"
    finally:
        fake.close()
