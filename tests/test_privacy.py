"""LGPD: exportUserData and deleteUserData through the callable protocol."""

from __future__ import annotations

import hashlib
import json
import stat
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from functions import privacy
from functions.config import load_settings
from functions.monitoring.rollups import recorder_for
from functions.plans import month_key
from functions.store.base import Query, StoreUnavailable
from tests.conftest import CallableClient
from tests.test_assistant import EXPENSE, ORDER, RECIPE, ok


def _seed(client: CallableClient, token: str) -> dict[str, str]:
    """A profile, one record of each kind; returns the record ids."""
    client.ok("setupUserProfile", {"displayName": "Dona Confeiteira"}, token)
    return {
        "expense": ok(client, "registrarDespesa", EXPENSE, token)["expenseId"],
        "order": ok(client, "registrarPedido", ORDER, token)["orderId"],
        "recipe": ok(client, "criarNovaReceita", RECIPE, token)["recipeId"],
    }


def _paths_under(services: Any, prefix: str) -> list[str]:
    return [d.path for d in services.store.stream_all() if d.path.startswith(prefix)]


def _metrics_users(services: Any) -> list[set[str]]:
    recorder_for(services).flush()
    page = services.store.query(Query("metrics", limit=10_000))
    return [set((d.data.get("users") or {}).keys()) for d in page.docs]


@pytest.fixture()
def seeded(
    client: CallableClient, services: Any, alice: str, bob: str
) -> Iterator[dict[str, dict[str, str]]]:
    yield {"alice": _seed(client, alice), "bob": _seed(client, bob)}


def test_export_holds_everything_stored_about_the_user(
    client: CallableClient, services: Any, alice: str, seeded: dict
) -> None:
    result = client.ok("exportUserData", {}, alice)
    assert result["delivery"] == "inline"
    export = result["export"]
    assert export["format"] == privacy.EXPORT_FORMAT and export["uid"] == "alice"
    assert export["profile"]["displayName"] == "Dona Confeiteira"
    assert [e["id"] for e in export["expenses"]] == [seeded["alice"]["expense"]]
    assert [o["id"] for o in export["orders"]] == [seeded["alice"]["order"]]
    assert [r["id"] for r in export["recipes"]] == [seeded["alice"]["recipe"]]
    assert export["expenses"][0]["amount"] == 123456  # centavos, as stored
    # The calls just made are in the metrics, flushed before the export.
    functions = {m["function"] for m in export["metrics"]}
    assert {"setupUserProfile", "assistenteHttp"} <= functions
    assert all(m["count"] >= 1 for m in export["metrics"])
    assert sum(m["count"] for m in export["metrics"]) >= 4
    # JSON-safe, and nothing of bob's.
    text = json.dumps(export)
    assert "bob" not in text and seeded["bob"]["expense"] not in text
    assert result["bytes"] == len(
        json.dumps(export, ensure_ascii=False, separators=(",", ":")).encode()
    )


def test_every_document_of_the_user_is_in_the_export(
    client: CallableClient, services: Any, alice: str, seeded: dict
) -> None:
    # A new per-user collection not added to USER_COLLECTIONS fails here.
    export = client.ok("exportUserData", {}, alice)["export"]
    exported = {"users/alice"} | {
        f"users/alice/{name}/{doc['id']}"
        for name in privacy.USER_COLLECTIONS
        for doc in export[name]
    }
    assert set(_paths_under(services, "users/alice")) == exported


def test_admin_exports_any_user_and_a_user_only_their_own(
    client: CallableClient, alice: str, bob: str, admin: str, seeded: dict
) -> None:
    export = client.ok("exportUserData", {"uid": "alice"}, admin)["export"]
    assert export["uid"] == "alice" and len(export["orders"]) == 1
    error = client.error("exportUserData", {"uid": "alice"}, bob)
    assert error["status"] == "PERMISSION_DENIED"
    assert "alice" not in json.dumps(error).replace('"uid"', "")
    assert client.error("exportUserData", {}, None)["status"] == "UNAUTHENTICATED"
    bad = client.error("exportUserData", {"uid": "a/b"}, admin)
    assert bad["status"] == "INVALID_ARGUMENT" and "uid" in bad["details"]["fields"]


def test_large_export_is_written_as_a_private_file(
    client: CallableClient,
    services: Any,
    alice: str,
    seeded: dict,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    services.settings = replace(
        services.settings,
        lgpd_export_inline_max_bytes=200,
        lgpd_export_dir=tmp_path / "exports",
    )
    result = client.ok("exportUserData", None, alice)
    assert result["delivery"] == "file" and "export" not in result
    assert result["url"] is None
    path = Path(result["path"])
    assert path.parent == tmp_path / "exports"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    content = json.loads(path.read_text(encoding="utf-8"))
    assert content["uid"] == "alice" and len(content["recipes"]) == 1
    assert path.stat().st_size == result["bytes"] > 200
    # The name cannot be derived from the uid alone.
    assert "alice" not in path.name


def test_delete_requires_the_confirmation(
    client: CallableClient, services: Any, alice: str, seeded: dict
) -> None:
    before = _paths_under(services, "users/alice")
    for payload in (None, {}, {"confirm": "excluir"}, {"confirm": True}):
        error = client.error("deleteUserData", payload, alice)
        assert error["status"] == "INVALID_ARGUMENT"
        assert "confirm" in error["details"]["fields"]
    assert _paths_under(services, "users/alice") == before
    assert services.store.get(privacy.erasure_path("alice")) is None


def test_delete_erases_profile_records_cache_and_metrics(
    client: CallableClient, services: Any, alice: str, bob: str, seeded: dict
) -> None:
    # Warm the cache with alice's profile and listings.
    client.ok("getUserProfileOptimized", None, alice)
    assert client.ok("getUserProfileOptimized", None, alice)["cached"] is True
    ok(client, "listarDespesas", {}, alice)
    assert ok(client, "listarDespesas", {}, alice)["cached"] is True
    bob_before = _paths_under(services, "users/bob")
    assert any("alice" in users for users in _metrics_users(services))

    result = client.ok("deleteUserData", {"confirm": "EXCLUIR"}, alice)
    assert result["erased"] is True and result["authUser"] == "skipped"
    counts = result["counts"]
    assert counts["profile"] == 1
    assert (counts["expenses"], counts["orders"], counts["recipes"]) == (1, 1, 1)
    assert counts["metricsEntries"] >= 2

    assert _paths_under(services, "users/alice") == []
    # No metrics document names alice any more, not even the erasing call's.
    users_per_doc = _metrics_users(services)
    assert users_per_doc and not any("alice" in users for users in users_per_doc)
    assert any("bob" in users for users in users_per_doc)
    # Nothing is served from a cache: the profile and listings are gone.
    assert client.error("getUserProfileOptimized", None, alice)["status"] == (
        "NOT_FOUND"
    )
    listing = ok(client, "listarDespesas", {}, alice)
    assert listing["expenses"] == [] and listing["cached"] is False
    # Bob is untouched.
    assert _paths_under(services, "users/bob") == bob_before
    assert client.ok("exportUserData", {}, bob)["export"]["profile"] is not None


def test_an_erasure_that_fails_after_deleting_serves_nothing_erased(
    client: CallableClient, services: Any, alice: str
) -> None:
    class MetricsDown:
        """The store, failing only the metrics query that follows the deletion."""

        def __init__(self, inner: Any) -> None:
            self.inner = inner

        def __getattr__(self, name: str) -> Any:
            return getattr(self.inner, name)

        def query(self, query: Query) -> Any:
            if query.collection.startswith("metrics"):
                raise StoreUnavailable("store down")
            return self.inner.query(query)

    expense_id = ok(client, "registrarDespesa", EXPENSE, alice)["expenseId"]
    assert ok(client, "listarDespesas", {}, alice)["cached"] is True
    services.store = MetricsDown(services.store)
    try:
        status, _ = client.call("deleteUserData", {"confirm": "EXCLUIR"}, alice)
    finally:
        services.store = services.store.inner

    assert status == 503
    assert services.store.get(f"users/alice/expenses/{expense_id}") is None
    assert ok(client, "listarDespesas", {}, alice)["expenses"] == []


def test_erasure_record_holds_no_personal_data(
    client: CallableClient, services: Any, alice: str, seeded: dict
) -> None:
    client.ok("deleteUserData", {"confirm": "EXCLUIR"}, alice)
    path = privacy.erasure_path("alice")
    assert path == "erasures/" + hashlib.sha256(b"alice").hexdigest()
    record = services.store.get(path)
    assert record is not None
    assert set(record) == {"erasedAt", "requestedBy", "counts", "authUser", "usage"}
    assert set(record["usage"]) <= {month_key(services.clock(), "America/Sao_Paulo")}
    assert record["requestedBy"] == "user"
    text = json.dumps(record, default=str)
    for secret in ("alice", "example.com", "Confeiteira", "Maria", "Atacad"):
        assert secret not in text
    assert all(isinstance(v, int) for v in record["counts"].values())


def test_delete_is_idempotent_and_admin_may_erase_anyone(
    client: CallableClient, services: Any, alice: str, bob: str, admin: str
) -> None:
    _seed(client, bob)
    error = client.error("deleteUserData", {"uid": "bob", "confirm": "EXCLUIR"}, alice)
    assert error["status"] == "PERMISSION_DENIED"
    assert _paths_under(services, "users/bob")
    result = client.ok("deleteUserData", {"uid": "bob", "confirm": "EXCLUIR"}, admin)
    assert result["counts"]["orders"] == 1
    assert services.store.get(privacy.erasure_path("bob"))["requestedBy"] == "admin"
    again = client.ok("deleteUserData", {"uid": "bob", "confirm": "EXCLUIR"}, admin)
    assert again["counts"]["profile"] == 0 and again["counts"]["orders"] == 0


def test_auth_account_is_deleted_when_enabled(
    client: CallableClient,
    services: Any,
    alice: str,
    seeded: dict,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    services.settings = replace(services.settings, lgpd_delete_auth_user=True)
    deleted: list[str] = []

    def fake_delete(uid: str) -> bool:
        deleted.append(uid)
        return True

    monkeypatch.setattr(privacy, "auth_user_deleter", fake_delete)
    result = client.ok("deleteUserData", {"confirm": "EXCLUIR"}, alice)
    assert deleted == ["alice"] and result["authUser"] == "deleted"


def test_auth_failure_is_unavailable_after_the_data_is_gone(
    client: CallableClient,
    services: Any,
    alice: str,
    seeded: dict,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    services.settings = replace(services.settings, lgpd_delete_auth_user=True)

    def broken(uid: str) -> bool:
        raise ConnectionError("auth down")

    monkeypatch.setattr(privacy, "auth_user_deleter", broken)
    error = client.error("deleteUserData", {"confirm": "EXCLUIR"}, alice)
    assert error["status"] == "UNAVAILABLE"
    assert _paths_under(services, "users/alice") == []
    record = services.store.get(privacy.erasure_path("alice"))
    assert record is not None and record["authUser"] == "failed"


def test_settings_are_read_and_checked() -> None:
    default = load_settings({})
    assert default.lgpd_delete_auth_user is True
    assert default.lgpd_export_inline_max_bytes == 8_000_000
    assert default.lgpd_export_dir == default.data_dir / "exports"
    custom = load_settings(
        {
            "LGPD_DELETE_AUTH_USER": "false",
            "LGPD_EXPORT_INLINE_MAX_BYTES": "10",
            "LGPD_EXPORT_DIR": "/tmp/x",
        }
    )
    assert (custom.lgpd_delete_auth_user, custom.lgpd_export_inline_max_bytes) == (
        False,
        10,
    )
    assert custom.lgpd_export_dir == Path("/tmp/x")
    with pytest.raises(ValueError, match="LGPD_EXPORT_INLINE_MAX_BYTES"):
        load_settings({"LGPD_EXPORT_INLINE_MAX_BYTES": "muito"})
