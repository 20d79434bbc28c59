"""Concurrency (issue 8): creates racing at a plan limit, retried creates with
one idempotency key, and scheduled jobs fired twice at once.

Threads go through the real callable protocol (`main.py`); processes run this
module as a worker (`python -m tests.test_concurrency ...`) on the same SQLite
file, as two instances of the function would share one database.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from tests.tokens import mint

ROOT = Path(__file__).resolve().parents[1]
ALICE = mint("alice")
FREE_EXPENSES = 100  # functions.plans.PLANS[Plan.FREE][Usage.EXPENSES]
_RESULT = "WORKER-RESULT "


def _expense(index: int, request_id: str | None = None) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "data": "2026-12-01",
        "tipo": "ingredientes",
        "valor": f"{10 + index},00",
        "fornecedor": f"Fornecedor {index}",
    }
    if request_id:
        payload["requestId"] = request_id
    return {"intent": "registrarDespesa", "payload": payload}


def _race(count: int, call: Callable[[int], Any]) -> list[Any]:
    """`call(i)` for i in range(count), all threads released at once."""
    barrier = threading.Barrier(count)

    def run(index: int) -> Any:
        barrier.wait()
        return call(index)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count)))


def _usage(store: Any, kind: str) -> int:
    profile = store.get("users/alice") or {}
    return sum(
        int((month or {}).get(kind, 0))
        for month in (profile.get("usage") or {}).values()
    )


def _near_the_limit(services: Any, left: int) -> None:
    """Alice's profile with `left` expenses to go this month."""
    from functions.plans import month_key
    from functions.store.base import Increment

    client_month = month_key(services.clock(), services.settings.timezone)
    from tests.conftest import CallableClient

    CallableClient().ok("setupUserProfile", {}, ALICE)
    services.store.update(
        "users/alice",
        {f"usage.{client_month}.expenses": Increment(FREE_EXPENSES - left)},
    )


def _expenses(store: Any) -> int:
    from functions.store.base import Query

    return int(store.count(Query("users/alice/expenses")))


# -- threads ---------------------------------------------------------------------


def test_fifty_parallel_creates_at_the_limit_never_overshoot(
    client: Any, services: Any
) -> None:
    _near_the_limit(services, left=10)

    results = _race(50, lambda i: client.call("assistenteHttp", _expense(i), ALICE))

    codes = Counter(
        "OK" if status == 200 else body["error"]["status"] for status, body in results
    )
    assert codes == {"OK": 10, "RESOURCE_EXHAUSTED": 40}, codes
    assert _expenses(services.store) == 10
    assert _usage(services.store, "expenses") == FREE_EXPENSES
    refused = next(body for status, body in results if status != 200)
    assert refused["error"]["details"]["limit"] == FREE_EXPENSES


def test_same_request_id_retried_concurrently_gives_one_record(
    client: Any, services: Any
) -> None:
    client.ok("setupUserProfile", {}, ALICE)

    results = _race(
        20,
        lambda i: client.call("assistenteHttp", _expense(0, "retry-123"), ALICE),
    )

    assert all(status == 200 for status, _ in results), results
    ids = {body["result"]["expenseId"] for _, body in results}
    assert len(ids) == 1
    messages = Counter(body["result"]["message"] for _, body in results)
    assert messages["Despesa registrada com sucesso."] == 1
    assert _expenses(services.store) == 1
    assert _usage(services.store, "expenses") == 1  # charged once


def test_request_id_at_the_limit_retries_get_the_first_id(
    client: Any, services: Any
) -> None:
    """Retries of a create that used the last unit of the quota still get
    its id, not RESOURCE_EXHAUSTED."""
    _near_the_limit(services, left=1)

    results = _race(
        20,
        lambda i: client.call("assistenteHttp", _expense(0, "last-one"), ALICE),
    )

    assert all(status == 200 for status, _ in results), results
    assert len({body["result"]["expenseId"] for _, body in results}) == 1
    assert _expenses(services.store) == 1


def test_daily_backup_fired_twice_at_once_runs_once(services: Any) -> None:
    from functions.monitoring import run_scheduled

    client_profile = services.store
    client_profile.set("users/alice", {"uid": "alice", "plan": "free"})

    results = _race(2, lambda i: run_scheduled("dailyBackup", "dailyBackup"))

    assert sorted(r["skipped"] for r in results) == [False, True], results
    daily = [
        d for d in services.store.stream_all() if d.path.startswith("backups/daily-")
    ]
    assert len(daily) == 1 and daily[0].data["status"] == "verified"
    assert daily[0].data["attempt"] == 1
    folders = sorted(p.name for p in services.settings.backup_dir.iterdir())
    assert folders == [daily[0].id]


# -- processes -------------------------------------------------------------------


def _spawn(mode: str, data_dir: Path, start_at: float, *args: str) -> Any:
    env = {
        **os.environ,
        "DATA_DIR": str(data_dir),
        "PYTHONPATH": str(ROOT),
        "METRICS_FLUSH_SECONDS": "3600",
    }
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.test_concurrency",
            mode,
            str(start_at),
            *args,
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _collect(processes: list[Any]) -> list[Any]:
    results = []
    for proc in processes:
        out, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, err[-3000:]
        (line,) = [x for x in out.splitlines() if x.startswith(_RESULT)]
        results.append(json.loads(line[len(_RESULT) :]))
    return results


def test_two_processes_at_the_limit_never_overshoot(
    services: Any, tmp_path: Path
) -> None:
    _near_the_limit(services, left=10)
    start_at = time.time() + 3.0  # both processes imported and ready by then

    results = _collect(
        [
            _spawn("create", Path(os.environ["DATA_DIR"]), start_at, str(p), "25")
            for p in range(2)
        ]
    )

    codes: Counter[str] = Counter()
    for result in results:
        codes.update(result["codes"])
    assert codes == {"OK": 10, "RESOURCE_EXHAUSTED": 40}, codes
    assert _expenses(services.store) == 10
    assert _usage(services.store, "expenses") == FREE_EXPENSES


def test_two_processes_same_request_id_give_one_record(
    services: Any, tmp_path: Path
) -> None:
    from tests.conftest import CallableClient

    CallableClient().ok("setupUserProfile", {}, ALICE)
    start_at = time.time() + 3.0

    results = _collect(
        [
            _spawn("retry", Path(os.environ["DATA_DIR"]), start_at, str(p), "10")
            for p in range(2)
        ]
    )

    ids = {i for result in results for i in result["ids"]}
    assert len(ids) == 1
    assert _expenses(services.store) == 1
    assert _usage(services.store, "expenses") == 1


def test_daily_backup_in_two_processes_runs_once(services: Any, tmp_path: Path) -> None:
    services.store.set("users/alice", {"uid": "alice", "plan": "free"})
    start_at = time.time() + 3.0

    results = _collect(
        [_spawn("daily", Path(os.environ["DATA_DIR"]), start_at) for _ in range(2)]
    )

    assert sorted(r["skipped"] for r in results) == [False, True], results
    daily = [
        d for d in services.store.stream_all() if d.path.startswith("backups/daily-")
    ]
    assert len(daily) == 1 and daily[0].data["status"] == "verified"
    folders = sorted(p.name for p in services.settings.backup_dir.iterdir())
    assert folders == [daily[0].id]


# -- the worker (one process) ------------------------------------------------------


def _worker(argv: list[str]) -> dict[str, Any]:
    mode, start_at = argv[0], float(argv[1])
    os.environ.setdefault("GCLOUD_PROJECT", "demo-assistente")
    os.environ.setdefault("GOOGLE_CLOUD_PROJECT", "demo-assistente")
    os.environ.setdefault("FIREBASE_AUTH_EMULATOR_HOST", "127.0.0.1:9099")
    from functions.services import build_services, use_services
    from tests.conftest import CallableClient

    use_services(build_services())
    client = CallableClient()
    client.call("assistenteHttp", {"intent": "healthCheck"})  # warm imports
    time.sleep(max(0.0, start_at - time.time()))

    if mode == "daily":
        from functions.monitoring import run_scheduled

        result = run_scheduled("dailyBackup", "dailyBackup")
        return {"skipped": result["skipped"]}

    process, count = int(argv[2]), int(argv[3])

    def create(index: int) -> tuple[int, dict[str, Any]]:
        body = (
            _expense(process * 1000 + index)
            if mode == "create"
            else _expense(0, "cross-process")
        )
        result: tuple[int, dict[str, Any]] = client.call("assistenteHttp", body, ALICE)
        return result

    results = _race(count, create)
    codes = Counter(
        "OK" if status == 200 else body["error"]["status"] for status, body in results
    )
    ids = sorted(
        {body["result"]["expenseId"] for status, body in results if status == 200}
    )
    return {"codes": dict(codes), "ids": ids}


if __name__ == "__main__":
    print(_RESULT + json.dumps(_worker(sys.argv[1:])))
    sys.stdout.flush()
    os._exit(0)  # skip interpreter teardown of the SDK's threads
