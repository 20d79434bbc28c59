"""The command line, in process: arguments, jobs, URLs, admin claim and demo loader.

The same commands run against the real emulators in test_emulator_e2e.py.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from datetime import date
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from functions import cli, demo
from functions.jobs import JOBS
from tests.tokens import mint

ROOT = Path(__file__).resolve().parent.parent


def fake_job(services: Any) -> dict[str, Any]:
    """A job for `run-job`: it logs to stdout, as the real jobs do."""
    print("a log line")
    return {"ran": True, "dataDir": str(services.settings.data_dir)}


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        status = cli.main(list(argv))
    except SystemExit as exit_:
        status = int(exit_.code or 0)
    out, err = capsys.readouterr()
    return status, out, err


def test_local_setup_reads_firebase_json_and_firebaserc() -> None:
    local = cli.local_setup(ROOT)
    config = json.loads((ROOT / "firebase.json").read_text())["emulators"]
    assert local.project == "demo-assistente"
    assert local.ports["functions"] == config["functions"]["port"]
    assert local.functions_url == (
        f"http://127.0.0.1:{config['functions']['port']}/demo-assistente/us-central1"
    )
    assert local.auth_host == f"127.0.0.1:{config['auth']['port']}"


def test_help_lists_the_commands(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = _run(capsys, "--help")
    assert status == 0
    for command in (
        "grant-admin",
        "load-demo",
        "run-job",
        "clear-cache",
        "serve-info",
    ):
        assert command in out


def test_run_job_help_and_unknown_names_list_the_jobs(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status, out, _ = _run(capsys, "run-job", "--help")
    assert status == 0
    assert all(name in out for name in JOBS)

    status, _, err = _run(capsys, "run-job", "noSuchJob")
    assert status == 2
    assert "noSuchJob" in err and all(name in err for name in JOBS)


def test_run_job_prints_only_the_json_result_on_stdout(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setitem(JOBS, "fakeJob", "tests.test_cli:fake_job")
    status, out, err = _run(capsys, "run-job", "fakeJob")
    assert status == 0
    assert json.loads(out) == {"ran": True, "dataDir": str(tmp_path / "data")}
    assert "a log line" in err


def test_run_job_whose_code_is_missing_fails_in_one_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(JOBS, "ghostJob", "functions.no_such_module:run")
    status, out, err = _run(capsys, "run-job", "ghostJob")
    assert (status, out) == (1, "")
    assert err.startswith("error: job ghostJob") and "Traceback" not in err


def test_serve_info_prints_the_local_urls(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = _run(capsys, "serve-info")
    base = "http://127.0.0.1:5001/demo-assistente/us-central1"
    assert status == 0
    assert f"{base}/assistenteHttp" in out
    assert f"{base}/updateUserPlan" in out
    assert "http://127.0.0.1:9099" in out
    assert "python -m functions load-demo" in out
    assert all(f"run-job {name}" in out for name in JOBS)


def test_serve_info_wait_gives_up_when_nothing_answers(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    port = _free_port()
    local = cli.Local("demo-assistente", "127.0.0.1", {"functions": port, "auth": port})
    monkeypatch.setattr(cli, "local_setup", lambda root=cli.ROOT: local)
    status, _, err = _run(capsys, "serve-info", "--wait", "1")
    assert status == 1 and "did not answer" in err


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_http_to_nothing_is_a_one_line_error() -> None:
    port = _free_port()
    with pytest.raises(cli.CliError, match="nothing answers"):
        cli.Functions(f"http://127.0.0.1:{port}/p/us-central1").call("assistenteHttp")
    with pytest.raises(cli.CliError, match="nothing answers"):
        cli.AuthEmulator(f"127.0.0.1:{port}").sign_in("a@b.com", "segredo")


class FakeAuth:
    """The firebase_admin.auth calls grant-admin makes, over a dict of users."""

    UserNotFoundError = type("UserNotFoundError", (Exception,), {})

    def __init__(self) -> None:
        self.users: dict[str, SimpleNamespace] = {}

    def add(self, uid: str, email: str | None, claims: dict[str, Any] | None) -> None:
        self.users[uid] = SimpleNamespace(uid=uid, email=email, custom_claims=claims)

    def get_user(self, uid: str, app: Any = None) -> SimpleNamespace:
        if uid not in self.users:
            raise self.UserNotFoundError(uid)
        return self.users[uid]

    def get_user_by_email(self, email: str, app: Any = None) -> SimpleNamespace:
        for user in self.users.values():
            if user.email == email:
                return user
        raise self.UserNotFoundError(email)

    def create_user(self, app: Any = None, **fields: Any) -> SimpleNamespace:
        uid = fields.get("uid", f"uid-{len(self.users)}")
        self.add(uid, fields.get("email"), None)
        self.users[uid].password = fields.get("password")
        return self.users[uid]

    def set_custom_user_claims(
        self, uid: str, claims: dict[str, Any], app: Any = None
    ) -> None:
        self.users[uid].custom_claims = claims


@pytest.fixture()
def fake_auth(monkeypatch: pytest.MonkeyPatch) -> FakeAuth:
    from firebase_admin import auth

    fake = FakeAuth()
    for name in (
        "UserNotFoundError",
        "get_user",
        "get_user_by_email",
        "create_user",
        "set_custom_user_claims",
    ):
        monkeypatch.setattr(auth, name, getattr(fake, name))
    return fake


def test_grant_admin_keeps_other_claims(
    capsys: pytest.CaptureFixture[str], fake_auth: FakeAuth
) -> None:
    fake_auth.add("u1", "ana@exemplo.com.br", {"beta": True})
    status, out, _ = _run(capsys, "grant-admin", "ana@exemplo.com.br")
    assert status == 0
    assert fake_auth.users["u1"].custom_claims == {"beta": True, "admin": True}
    assert json.loads(out)["uid"] == "u1"

    fake_auth.add("u2", None, None)
    assert _run(capsys, "grant-admin", "u2")[0] == 0
    assert fake_auth.users["u2"].custom_claims == {"admin": True}


def test_grant_admin_creates_only_when_asked(
    capsys: pytest.CaptureFixture[str], fake_auth: FakeAuth
) -> None:
    status, _, err = _run(capsys, "grant-admin", "novo@exemplo.com.br")
    assert status == 1 and "--create" in err and not fake_auth.users

    status, _, err = _run(capsys, "grant-admin", "novo@exemplo.com.br", "--create")
    assert status == 1 and "--password" in err and not fake_auth.users

    argv = ("grant-admin", "novo@exemplo.com.br", "--create", "--password", "segredo1")
    assert _run(capsys, *argv)[0] == 0
    (user,) = fake_auth.users.values()
    assert (user.email, user.password, user.custom_claims) == (
        "novo@exemplo.com.br",
        "segredo1",
        {"admin": True},
    )


def test_load_demo_rejects_a_bad_scale(capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = _run(capsys, "load-demo", "--scale", "0")
    assert status == 1 and "--scale" in err


def test_load_demo_through_the_callables_is_idempotent(client: Any, admin: str) -> None:
    def call(function: str, data: Any, token: str | None) -> Any:
        return client.ok(function, data, token)

    user = cli.Session(
        "ana", "demo@exemplo.com.br", mint("ana", email="demo@exemplo.com.br")
    )
    data = demo.generate(seed=5, today=date(2026, 6, 30), scale=0.2)
    expected = {"expenses": 30, "orders": 40, "recipes": 4}
    seen: list[tuple[int, int]] = []

    summary = cli.load_demo(call, user, admin, data, lambda *p: seen.append(p))
    assert summary["sent"] == summary["stored"] == expected
    assert summary["plan"] == "business"
    assert summary["period"] == ["2026-04-02", "2026-06-30"]
    assert seen[-1] == (74, 74)

    again = cli.load_demo(call, user, admin, data)
    assert again["stored"] == expected
    profile = client.ok("getUserProfileOptimized", None, user.id_token)["profile"]
    assert profile["displayName"] == cli.DEMO_NAME


def test_python_dash_m_functions_runs_the_cli() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "functions", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0 and "load-demo" in done.stdout


def test_clear_cache_makes_every_instance_miss_once(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from functions.cache import Cache, Category
    from tests.support import started_redis

    server = started_redis()
    instance = Cache(redis_url=server.url)
    try:
        calls = []

        def load() -> int:
            calls.append(1)
            return len(calls)

        for category in Category:
            instance.get_or_load("u1", category, "k", load)
        monkeypatch.setenv("CACHE_REDIS_URL", server.url)

        status, out, _ = _run(capsys, "clear-cache")

        assert status == 0
        assert json.loads(out) == {"cleared": [str(c) for c in Category]}
        assert [instance.get_or_load("u1", c, "k", load)[1] for c in Category] == [
            False
        ] * len(Category)
    finally:
        instance.close()
        server.cleanup()


def test_clear_cache_fails_without_a_reachable_redis(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.redis_server import RedisServer

    monkeypatch.delenv("CACHE_REDIS_URL", raising=False)
    status, out, err = _run(capsys, "clear-cache")
    assert (status, out) == (1, "") and "CACHE_REDIS_URL is not set" in err

    nobody = RedisServer()  # a free port nobody listens on
    monkeypatch.setenv("CACHE_REDIS_URL", nobody.url)
    status, out, err = _run(capsys, "clear-cache")
    assert (status, out) == (1, "") and "unreachable" in err
    nobody.cleanup()
