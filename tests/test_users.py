"""Profiles, preferences, plans and limits, stats, through the callable protocol."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from functions.plans import PLANS, Plan, Usage
from functions.store.base import Query
from tests.conftest import CallableClient
from tests.test_assistant import EXPENSE, ORDER, ok
from tests.tokens import mint


def test_setup_user_profile_takes_token_claims(client: CallableClient) -> None:
    token = mint("carla", name="Carla Bolos", picture="https://x/p.png")
    result = client.ok("setupUserProfile", {}, token)
    profile = result["userProfile"]
    assert profile["email"] == "carla@example.com"
    assert profile["displayName"] == "Carla Bolos"
    assert profile["photoURL"] == "https://x/p.png"
    assert result["created"] is True
    assert client.ok("setupUserProfile", None, token)["created"] is False


def test_profile_is_cached_and_refreshed_after_a_change(
    client: CallableClient, alice: str
) -> None:
    assert client.error("getUserProfileOptimized", None, alice)["status"] == (
        "NOT_FOUND"
    )
    client.ok("setupUserProfile", {"displayName": "Alice"}, alice)

    first = client.ok("getUserProfileOptimized", None, alice)
    second = client.ok("getUserProfileOptimized", None, alice)
    assert (first["cached"], second["cached"]) == (False, True)

    client.ok("updatePreferences", {"language": "en"}, alice)
    third = client.ok("getUserProfileOptimized", None, alice)
    assert third["cached"] is False
    assert third["profile"]["preferences"]["language"] == "en"


def test_update_preferences_changes_only_what_was_sent(
    client: CallableClient, alice: str
) -> None:
    client.ok("setupUserProfile", {}, alice)
    result = client.ok(
        "updatePreferences",
        {"timezone": "America/Manaus", "notifications": {"push": False}},
        alice,
    )
    prefs = result["preferences"]
    assert prefs["timezone"] == "America/Manaus"
    assert prefs["notifications"] == {"email": True, "push": False}
    assert prefs["language"] == "pt-BR"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"language": "klingon"}, "language"),
        ({"notifications": {"push": "sim"}}, "notifications.push"),
        ({"notifications": {"sms": True}}, "notifications.sms"),
        ({"theme": "dark"}, "theme"),
        ({}, "preferences"),
    ],
)
def test_bad_preferences(
    client: CallableClient, alice: str, payload: dict, field: str
) -> None:
    error = client.error("updatePreferences", payload, alice)
    assert error["status"] == "INVALID_ARGUMENT"
    assert field in error["details"]["fields"]


def test_stats_count_totals_and_usage(client: CallableClient, alice: str) -> None:
    ok(client, "registrarDespesa", EXPENSE, alice)
    ok(client, "registrarDespesa", {**EXPENSE, "valor": "10,00"}, alice)
    ok(client, "registrarPedido", ORDER, alice)
    ok(client, "registrarPedido", {**ORDER, "status": "cancelado"}, alice)

    stats = client.ok("getUserStats", None, alice)["stats"]
    assert stats["counts"] == {"expenses": 2, "orders": 2, "recipes": 0}
    assert stats["totals"]["expenses"] == 1244.56
    assert stats["totals"]["orders"] == 185.0  # the cancelled order does not count
    assert stats["usage"]["expenses"] == {
        "used": 2,
        "limit": PLANS[Plan.FREE][Usage.EXPENSES],
        "remaining": PLANS[Plan.FREE][Usage.EXPENSES] - 2,
    }
    assert stats["plan"] == "free"
    assert stats["lastActivityAt"]


def test_only_admins_change_plans(
    client: CallableClient, alice: str, admin: str
) -> None:
    client.ok("setupUserProfile", {}, alice)
    error = client.error("updateUserPlan", {"uid": "alice", "plan": "business"}, alice)
    assert error["status"] == "PERMISSION_DENIED"
    assert (
        client.error("updateUserPlan", {"uid": "alice", "plan": "pro"})["status"]
        == "UNAUTHENTICATED"
    )

    result = client.ok("updateUserPlan", {"uid": "alice", "plan": "pro"}, admin)
    assert result["limits"]["expenses"] == PLANS[Plan.PRO][Usage.EXPENSES]
    assert client.ok("getUserProfileOptimized", None, alice)["profile"]["plan"] == "pro"

    missing = client.error("updateUserPlan", {"uid": "ghost", "plan": "pro"}, admin)
    assert missing["status"] == "NOT_FOUND"
    bad = client.error("updateUserPlan", {"uid": "alice", "plan": "gold"}, admin)
    assert bad["status"] == "INVALID_ARGUMENT"


def test_a_user_cannot_raise_their_own_plan_through_setup(
    client: CallableClient, alice: str
) -> None:
    client.ok("setupUserProfile", {"plan": "business"}, alice)
    assert client.ok("getUserProfileOptimized", None, alice)["profile"]["plan"] == (
        "free"
    )


def test_plan_limit_is_enforced_with_details(
    client: CallableClient, alice: str, services: Any
) -> None:
    limit = PLANS[Plan.FREE][Usage.RECIPES]
    recipe = {"recipeName": "Bolo", "ingredients": ["3 ovos"]}
    for _ in range(limit):
        ok(client, "criarNovaReceita", recipe, alice)

    status, body = client.intent("criarNovaReceita", recipe, alice)
    assert status == 429
    error = body["error"]
    assert error["status"] == "RESOURCE_EXHAUSTED"
    assert error["details"]["limit"] == limit
    assert error["details"]["usage"] == limit
    assert len(ok(client, "listarReceitas", None, alice)["recipes"]) == limit


def test_concurrent_creates_never_overshoot_the_limit(
    client: CallableClient, services: Any
) -> None:
    token = mint("dani")
    limit = PLANS[Plan.FREE][Usage.RECIPES]
    for _ in range(limit - 5):
        ok(
            client,
            "criarNovaReceita",
            {"recipeName": "B", "ingredients": ["1 ovo"]},
            token,
        )
    outcomes: list[int] = []
    lock = threading.Lock()

    def create() -> None:
        status, _ = client.intent(
            "criarNovaReceita", {"recipeName": "B", "ingredients": ["1 ovo"]}, token
        )
        with lock:
            outcomes.append(status)

    threads = [threading.Thread(target=create) for _ in range(30)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes).count(200) == 5
    assert outcomes.count(429) == 25
    stored = services.store.count(Query("users/dani/recipes"))
    assert stored == limit


def test_clear_user_cache(client: CallableClient, alice: str) -> None:
    ok(client, "listarDespesas", {}, alice)
    assert ok(client, "listarDespesas", {}, alice)["cached"] is True
    assert client.ok("clearUserCache", None, alice)["cleared"] == "all"
    assert ok(client, "listarDespesas", {}, alice)["cached"] is False
    assert client.error("clearUserCache", None)["status"] == "UNAUTHENTICATED"


def test_deployed_functions_refuse_unsigned_tokens() -> None:
    from functions.auth import check_token_mode

    emulator = {"FIREBASE_AUTH_EMULATOR_HOST": "127.0.0.1:9099"}
    check_token_mode(emulator)
    check_token_mode({**emulator, "K_SERVICE": "fn", "FUNCTIONS_EMULATOR": "true"})
    check_token_mode({"K_SERVICE": "assistenteHttp"})
    with pytest.raises(RuntimeError, match="FIREBASE_AUTH_EMULATOR_HOST"):
        check_token_mode({**emulator, "K_SERVICE": "assistenteHttp"})


def test_record_writes_keep_the_profile_cached_but_refresh_stats(
    client: CallableClient, alice: str
) -> None:
    assert client.error("getUserProfileOptimized", None, alice)["status"] == (
        "NOT_FOUND"
    )
    ok(client, "registrarDespesa", EXPENSE, alice)  # creates the profile
    assert client.ok("getUserProfileOptimized", None, alice)["cached"] is False
    assert client.ok("getUserStats", None, alice)["stats"]["counts"]["expenses"] == 1

    ok(client, "registrarDespesa", EXPENSE, alice)
    assert client.ok("getUserProfileOptimized", None, alice)["cached"] is True
    stats = client.ok("getUserStats", None, alice)
    assert stats["cached"] is False
    assert stats["stats"]["counts"]["expenses"] == 2


def test_stats_show_a_charge_made_after_they_were_cached(
    client: CallableClient, alice: str
) -> None:
    ok(client, "registrarDespesa", EXPENSE, alice)
    client.ok("getUserStats", None, alice)
    ok(client, "gerarAnalise", {"query": "como estou?"}, alice)

    stats = client.ok("getUserStats", None, alice)
    assert stats["cached"] is True  # the figures did not change
    assert stats["stats"]["usage"]["analyses"]["used"] == 1
