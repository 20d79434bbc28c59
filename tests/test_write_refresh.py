"""A record write caches the kind's default first page again.

The app re-reads the default listing (no filters, no cursor, default limit)
right after every create, update or delete, so `records.invalidate` loads that
page through the cache once the write has committed: the app's read is a hit
that already holds the change. Filtered and paged listings are only
invalidated. A failed refresh never fails the write. With Redis, another
instance reads the refreshed page, never its own older copy.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from functions.store.base import StoreUnavailable
from tests.conftest import CallableClient
from tests.support import ListHandler, started_redis
from tests.test_assistant import EXPENSE, ORDER, RECIPE, ok


def _ids(items: list[dict[str, Any]]) -> list[str]:
    return [str(item["id"]) for item in items]


class QueryCountingStore:
    """Wraps a store: counts queries; while `error` is set, each query raises
    what it builds instead of reaching the store. Record writes run in
    transactions and never query, so only the refresh read meets the error."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.queries = 0
        self.failed = 0
        self.error: Callable[[], BaseException] | None = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def query(self, query: Any) -> Any:
        self.queries += 1
        if self.error is not None:
            self.failed += 1
            raise self.error()
        return self.inner.query(query)


@pytest.fixture()
def counting(services: Any) -> Iterator[QueryCountingStore]:
    wrapper = QueryCountingStore(services.store)
    services.store = wrapper
    yield wrapper
    services.store = wrapper.inner


@pytest.fixture()
def functions_log() -> Iterator[ListHandler]:
    # On the `functions` logger, which every module's logger reaches whatever
    # the application configured for propagation to the root.
    handler = ListHandler()
    logger = logging.getLogger("functions")
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)


# -- the default first page is a hit after every kind of write ----------------


def test_recording_an_expense_caches_the_default_listing_with_it(
    client: CallableClient, alice: str
) -> None:
    older = ok(client, "registrarDespesa", {**EXPENSE, "data": "2026-11-01"}, alice)
    assert ok(client, "listarDespesas", {}, alice)["cached"] is True

    newer = ok(client, "registrarDespesa", {**EXPENSE, "valor": 10}, alice)
    listed = ok(client, "listarDespesas", {}, alice)

    assert listed["cached"] is True
    assert _ids(listed["expenses"]) == [newer["expenseId"], older["expenseId"]]
    assert listed["expenses"][0]["valor"] == 10.0


def test_recording_an_order_caches_the_default_listing_with_it(
    client: CallableClient, alice: str
) -> None:
    first = ok(client, "registrarPedido", ORDER, alice)["orderId"]
    ok(client, "listarPedidos", {}, alice)

    later = {**ORDER, "cliente": "João", "dataEntrega": "2026-12-20"}
    second = ok(client, "registrarPedido", later, alice)["orderId"]
    listed = ok(client, "listarPedidos", {}, alice)

    assert listed["cached"] is True
    assert _ids(listed["orders"]) == [second, first]
    assert listed["orders"][0]["cliente"] == "João"


def test_creating_a_recipe_caches_the_listing_with_it(
    client: CallableClient, alice: str
) -> None:
    ok(client, "criarNovaReceita", RECIPE, alice)
    ok(client, "listarReceitas", {}, alice)

    created = ok(client, "criarNovaReceita", {**RECIPE, "recipeName": "Bolo"}, alice)
    listed = ok(client, "listarReceitas", {}, alice)

    assert listed["cached"] is True
    assert [r["recipeName"] for r in listed["recipes"]] == [
        "Bolo",
        "Brigadeiro gourmet",
    ]
    assert listed["recipes"][0]["id"] == created["recipeId"]


def test_updating_an_order_caches_the_default_listing_with_the_change(
    client: CallableClient, alice: str
) -> None:
    order_id = ok(client, "registrarPedido", ORDER, alice)["orderId"]
    assert ok(client, "listarPedidos", {}, alice)["orders"][0]["status"] == ("pendente")

    ok(client, "atualizarPedido", {"id": order_id, "status": "pronto"}, alice)
    listed = ok(client, "listarPedidos", {}, alice)

    assert listed["cached"] is True
    [order] = listed["orders"]
    assert (order["id"], order["status"]) == (order_id, "pronto")


@pytest.mark.parametrize(
    ("create", "payload", "id_key", "remove", "listing", "items"),
    [
        (
            "registrarDespesa",
            EXPENSE,
            "expenseId",
            "excluirDespesa",
            "listarDespesas",
            "expenses",
        ),
        (
            "registrarPedido",
            ORDER,
            "orderId",
            "excluirPedido",
            "listarPedidos",
            "orders",
        ),
        (
            "criarNovaReceita",
            RECIPE,
            "recipeId",
            "excluirReceita",
            "listarReceitas",
            "recipes",
        ),
    ],
    ids=["expense", "order", "recipe"],
)
def test_a_delete_caches_the_default_listing_without_the_record(
    client: CallableClient,
    alice: str,
    create: str,
    payload: dict[str, Any],
    id_key: str,
    remove: str,
    listing: str,
    items: str,
) -> None:
    kept = ok(client, create, payload, alice)[id_key]
    gone = ok(client, create, payload, alice)[id_key]
    assert set(_ids(ok(client, listing, {}, alice)[items])) == {kept, gone}

    ok(client, remove, {"id": gone}, alice)
    listed = ok(client, listing, {}, alice)

    assert listed["cached"] is True
    assert _ids(listed[items]) == [kept]


def test_the_refresh_reads_the_store_once_per_write(
    client: CallableClient, alice: str, counting: QueryCountingStore
) -> None:
    ok(client, "registrarDespesa", EXPENSE, alice)
    assert counting.queries == 1  # the write's refresh of the first page
    ok(client, "listarDespesas", {}, alice)
    assert counting.queries == 1  # ...which the app's read then hits


def test_the_refresh_is_not_counted_as_a_read_in_the_cache_stats(
    client: CallableClient, services: Any, alice: str
) -> None:
    def counts() -> tuple[int, int]:
        block = services.cache.stats()["categories"]["expenses"]
        return block["hits"], block["misses"]

    ok(client, "registrarDespesa", EXPENSE, alice)
    # The hit rate the dashboard and the alert watch is about the app's reads.
    assert counts() == (0, 0)
    ok(client, "listarDespesas", {}, alice)
    assert counts() == (1, 0)


# -- other listings are only invalidated ------------------------------------


def test_filtered_and_paged_listings_after_a_write_are_loaded_fresh(
    client: CallableClient, alice: str
) -> None:
    ok(client, "registrarDespesa", EXPENSE, alice)
    ok(client, "registrarPedido", ORDER, alice)
    expenses = [{"tipo": "Ingredientes"}, {"limit": 5}, {"de": "2026-12-01"}]
    orders = [{"status": "pendente"}, {"limit": 5}, {"ate": "2026-12-31"}]
    other = [("listarDespesas", p) for p in expenses] + [
        ("listarPedidos", p) for p in orders
    ]
    for intent, payload in other:
        ok(client, intent, payload, alice)
        assert ok(client, intent, payload, alice)["cached"] is True

    written = {
        "listarDespesas": ok(client, "registrarDespesa", EXPENSE, alice)["expenseId"],
        "listarPedidos": ok(client, "registrarPedido", ORDER, alice)["orderId"],
    }

    for intent, payload in other:
        listed = ok(client, intent, payload, alice)
        items = listed["expenses" if intent == "listarDespesas" else "orders"]
        assert listed["cached"] is False, (intent, payload)
        assert written[intent] in _ids(items) and len(items) == 2, (intent, payload)


# -- a failed refresh never fails the write ---------------------------------


@pytest.mark.parametrize(
    "error",
    [lambda: StoreUnavailable("store down"), lambda: RuntimeError("a bug")],
    ids=["store-down", "any-exception"],
)
def test_a_failed_refresh_keeps_the_write_and_logs_one_line(
    client: CallableClient,
    services: Any,
    alice: str,
    counting: QueryCountingStore,
    functions_log: ListHandler,
    error: Callable[[], BaseException],
) -> None:
    first = ok(client, "registrarDespesa", EXPENSE, alice)["expenseId"]
    assert _ids(ok(client, "listarDespesas", {}, alice)["expenses"]) == [first]

    counting.error = error
    payload = {**EXPENSE, "valor": 10, "descricao": "segredo do cliente"}
    created = ok(client, "registrarDespesa", payload, alice)["expenseId"]
    counting.error = None

    assert counting.failed == 1  # the refresh read, and only that
    stored = services.store.get(f"users/alice/expenses/{created}")
    assert stored is not None and stored["amount"] == 1000
    lines = [
        r
        for r in functions_log.records
        if getattr(r, "event", None) == "cache_refresh_failed"
    ]
    assert len(lines) == 1
    [line] = lines
    assert line.levelno == logging.WARNING
    assert line.name == "functions.assistant.records"
    assert getattr(line, "collection", None) == "expenses"
    assert getattr(line, "error_type", None) == type(error()).__name__
    text = line.getMessage() + repr(vars(line))
    for secret in ("segredo", "Atacad", "store down", "a bug"):
        assert secret not in text

    # The invalidation came before the failed read: nothing stale is served.
    listed = ok(client, "listarDespesas", {}, alice)
    assert listed["cached"] is False
    assert set(_ids(listed["expenses"])) == {created, first}


def test_no_refresh_read_while_the_cache_is_off(
    client: CallableClient, services: Any, alice: str, counting: QueryCountingStore
) -> None:
    from functions.cache import Cache

    services.settings = dataclasses.replace(services.settings, cache_enabled=False)
    services.cache.close()
    services.cache = Cache.from_settings(services.settings)

    ok(client, "registrarDespesa", EXPENSE, alice)
    assert counting.queries == 0
    listed = ok(client, "listarDespesas", {}, alice)
    assert listed["cached"] is False and len(listed["expenses"]) == 1


# -- two instances sharing one store and one Redis --------------------------


@pytest.fixture()
def two_instances(services: Any) -> Iterator[tuple[Any, Any]]:
    """Services of two instances over the test's store and one redis-server."""
    from functions.cache import Cache
    from functions.services import Services, use_services

    server = started_redis()
    settings = dataclasses.replace(services.settings, cache_redis_url=server.url)
    a, b = (
        Services(settings, services.store, Cache.from_settings(settings))
        for _ in range(2)
    )
    try:
        yield a, b
    finally:
        use_services(services)
        a.cache.close()
        b.cache.close()
        server.cleanup()


def test_a_write_on_one_instance_is_read_fresh_on_another(
    client: CallableClient, alice: str, two_instances: tuple[Any, Any]
) -> None:
    from functions.services import use_services

    a, b = two_instances

    def on(instance: Any, intent: str, payload: dict[str, Any]) -> dict[str, Any]:
        use_services(instance)
        return ok(client, intent, payload, alice)

    first = on(a, "registrarDespesa", EXPENSE)["expenseId"]
    on(b, "listarDespesas", {})
    assert on(b, "listarDespesas", {})["cached"] is True  # B holds the page

    second = on(a, "registrarDespesa", {**EXPENSE, "valor": 10})["expenseId"]
    listed = on(b, "listarDespesas", {})
    assert set(_ids(listed["expenses"])) == {first, second}
    # B's older copy is dropped; the page A refreshed comes from Redis.
    assert listed["cached"] is True

    on(a, "excluirDespesa", {"id": first})
    listed = on(b, "listarDespesas", {})
    assert _ids(listed["expenses"]) == [second] and listed["cached"] is True
