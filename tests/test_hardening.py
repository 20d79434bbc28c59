"""Problems found by trying to break the backend, each kept fixed by a test."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from functions import privacy
from tests.conftest import CallableClient
from tests.test_assistant import EXPENSE, ok
from tests.tokens import mint


def _backup(client: CallableClient, admin: str) -> str:
    backup_id: str = client.ok("createBackup", {}, admin)["backup"]["id"]
    client.ok("verifyBackupIntegrity", {"backupId": backup_id}, admin)
    return backup_id


def test_a_full_restore_never_brings_an_erased_user_back(
    client: CallableClient, services: Any, alice: str, bob: str, admin: str
) -> None:
    ok(client, "registrarDespesa", EXPENSE, alice)
    ok(client, "registrarDespesa", EXPENSE, bob)
    backup_id = _backup(client, admin)
    client.ok("deleteUserData", {"confirm": "EXCLUIR"}, alice)

    client.ok("restoreBackup", {"backupId": backup_id, "confirm": "RESTAURAR"}, admin)

    assert services.store.get("users/alice") is None
    assert ok(client, "listarDespesas", {}, alice)["expenses"] == []
    assert services.store.get(privacy.erasure_path("alice")) is not None
    assert len(ok(client, "listarDespesas", {}, bob)["expenses"]) == 1


def test_erasing_ones_data_does_not_reset_the_months_quota(
    client: CallableClient, alice: str
) -> None:
    for _ in range(3):
        ok(client, "registrarDespesa", EXPENSE, alice)
    client.ok("deleteUserData", {"confirm": "EXCLUIR"}, alice)

    ok(client, "registrarDespesa", EXPENSE, alice)

    usage = client.ok("getUserStats", None, alice)["stats"]["usage"]["expenses"]
    assert usage["used"] == 4


@pytest.mark.parametrize("uid", ["bob/expenses/x", "..", ".", "__x__", "a/b"])
def test_uids_that_would_reach_other_documents_are_refused(
    client: CallableClient, bob: str, uid: str
) -> None:
    ok(client, "registrarDespesa", EXPENSE, bob)
    evil = mint(uid)
    for function in ("getUserProfileOptimized", "updatePreferences"):
        error = client.error(function, {"language": "en"}, evil)
        assert error["status"] == "PERMISSION_DENIED"
    status, body = client.intent("registrarDespesa", EXPENSE, evil)
    assert body["error"]["status"] == "PERMISSION_DENIED", (status, body)
    assert len(ok(client, "listarDespesas", {}, bob)["expenses"]) == 1


def test_concurrent_deletes_never_remove_the_last_verified_backup(
    client: CallableClient, services: Any, alice: str, admin: str
) -> None:
    ok(client, "registrarDespesa", EXPENSE, alice)
    ids = [_backup(client, admin), _backup(client, admin)]
    barrier = threading.Barrier(2)
    statuses: list[int] = []

    def delete(backup_id: str) -> None:
        barrier.wait()
        statuses.append(client.call("deleteBackup", {"backupId": backup_id}, admin)[0])

    threads = [threading.Thread(target=delete, args=(i,)) for i in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(statuses) == [200, 400]
    listed = client.ok("listBackups", {}, admin)["backups"]
    assert [b["status"] for b in listed] == ["verified"]


@pytest.mark.parametrize("backup_id", [".", "..", "-x", "a/b"])
def test_dot_backup_ids_are_bad_arguments(
    client: CallableClient, admin: str, backup_id: str
) -> None:
    for function in ("deleteBackup", "verifyBackupIntegrity", "simulateRestore"):
        error = client.error(function, {"backupId": backup_id}, admin)
        assert error["status"] == "INVALID_ARGUMENT"


@pytest.mark.parametrize(
    ("text", "expected"),
    [("Rende 3 dúzias", 36), ("rende 12 porções", 12), ("24", 24)],
)
def test_recipe_yields_read_from_text(
    client: CallableClient, alice: str, text: str, expected: int
) -> None:
    payload = {"recipeName": "Bolo", "ingredients": ["3 ovos"], "rendimento": text}
    ok(client, "criarNovaReceita", payload, alice)
    [recipe] = ok(client, "listarReceitas", None, alice)["recipes"]
    assert recipe["rendimento"] == expected


@pytest.mark.parametrize("text", ["-5", "1/2", "rende 1e9", "rende 2,5 porções"])
def test_recipe_yields_that_are_not_whole_counts_are_refused(
    client: CallableClient, alice: str, text: str
) -> None:
    payload = {"recipeName": "Bolo", "ingredients": ["3 ovos"], "rendimento": text}
    status, body = client.intent("criarNovaReceita", payload, alice)
    assert status == 400
    assert "rendimento" in body["error"]["details"]["fields"]


def test_protocol_errors_reach_the_user_in_portuguese(client: CallableClient) -> None:
    status, body = client.call("assistenteHttp", {"intent": "listarDespesas"}, "a.b.c")

    assert status == 401
    assert body["error"]["message"].startswith("Sessão inválida")
