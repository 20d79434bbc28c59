"""The backend's command line: admin claim, demo data, scheduled jobs, local URLs.

    venv/bin/python -m functions grant-admin EMAIL_OR_UID [--create --password P]
    venv/bin/python -m functions load-demo [--url BASE] [--seed N] [--email E]
    venv/bin/python -m functions run-job NAME
    venv/bin/python -m functions serve-info [--wait SECONDS]

The local addresses come from the `emulators` section of firebase.json and the
project from .firebaserc, so this file never disagrees with the emulators.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from functions.demo import DemoData

__all__ = [
    "AuthEmulator",
    "CliError",
    "Functions",
    "Local",
    "Session",
    "grant_admin",
    "load_demo",
    "local_setup",
    "main",
]

ROOT = Path(__file__).resolve().parent.parent
# The Auth emulator accepts any API key; the client SDKs send one anyway.
API_KEY = "fake-api-key"
REGION = "us-central1"
DEMO_EMAIL = "demo@exemplo.com.br"
DEMO_PASSWORD = "demo-senha-123"
DEMO_ADMIN_EMAIL = "admin@exemplo.com.br"
DEMO_NAME = "Doces da Ana"
_ADMIN_APP = "functions-cli"
# Local calls must never go through an HTTP proxy set in the environment.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))

# (function name, data, ID token) -> the callable's `result`.
CallFn = Callable[[str, Any, str | None], Any]


class CliError(Exception):
    """A failure the command reports in one line, without a traceback."""


# --- the local project ----------------------------------------------------------


@dataclass(frozen=True)
class Local:
    """The local emulators as firebase.json and .firebaserc describe them."""

    project: str
    host: str
    ports: dict[str, int]

    def url(self, emulator: str) -> str:
        return f"http://{self.host}:{self.ports[emulator]}"

    @property
    def functions_url(self) -> str:
        """Base URL of the emulated functions; append the function's name."""
        return f"{self.url('functions')}/{self.project}/{REGION}"

    @property
    def auth_host(self) -> str:
        """`host:port` of the Auth emulator, as FIREBASE_AUTH_EMULATOR_HOST wants."""
        return f"{self.host}:{self.ports['auth']}"


def local_setup(root: Path = ROOT) -> Local:
    """The emulator addresses of firebase.json and the default project."""
    config = json.loads((root / "firebase.json").read_text(encoding="utf-8"))
    emulators = config.get("emulators", {})
    ports = {
        name: int(entry["port"])
        for name, entry in emulators.items()
        if isinstance(entry, dict) and "port" in entry
    }
    host = str(emulators.get("functions", {}).get("host", "127.0.0.1"))
    rc = json.loads((root / ".firebaserc").read_text(encoding="utf-8"))
    return Local(project=rc["projects"]["default"], host=host, ports=ports)


# --- HTTP -----------------------------------------------------------------------


def post_json(
    url: str, body: Any, headers: dict[str, str] | None = None, timeout: float = 60
) -> tuple[int, dict[str, Any]]:
    """(status, JSON body) of a POST; error statuses are returned, not raised.

    Raises CliError when nothing answers at `url`.
    """
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", **(headers or {})},
        method="POST",
    )
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as err:
        raw = err.read()
        try:
            return err.code, json.loads(raw)
        except ValueError:
            text = raw.decode(errors="replace")[:300]
            return err.code, {"error": {"status": "HTTP", "message": text}}
    except (urllib.error.URLError, OSError) as err:
        raise CliError(
            f"nothing answers at {url} ({err}); is scripts/serve.sh running?"
        ) from err


class CallFailed(CliError):
    """A callable answered with an error body."""

    def __init__(self, function: str, status: int, error: dict[str, Any]) -> None:
        self.function = function
        self.status = status
        self.code = str(error.get("status", "UNKNOWN"))
        self.error = error
        super().__init__(f"{function} failed ({status} {self.code}): {error}")


class Functions:
    """Calls callable functions over HTTP, as the Firebase client SDKs do."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")

    def call(self, function: str, data: Any = None, token: str | None = None) -> Any:
        """The callable's `result`; CallFailed with its error body otherwise."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        status, body = post_json(f"{self.base_url}/{function}", {"data": data}, headers)
        if status == 200 and "result" in body:
            return body["result"]
        raise CallFailed(function, status, body.get("error") or body)


@dataclass(frozen=True)
class Session:
    """A signed-in user of the Auth emulator."""

    uid: str
    email: str
    id_token: str


class AuthEmulator:
    """Email/password accounts through the Auth emulator's REST API."""

    def __init__(self, host: str) -> None:
        self.base_url = f"http://{host}/identitytoolkit.googleapis.com/v1"

    def _accounts(self, method: str, body: dict[str, Any]) -> dict[str, Any]:
        url = f"{self.base_url}/accounts:{method}?key={API_KEY}"
        status, reply = post_json(url, body)
        if status != 200:
            message = reply.get("error", {}).get("message", reply)
            raise CliError(f"Auth emulator {method} failed: {message}")
        return reply

    def sign_in(self, email: str, password: str) -> Session:
        """A fresh session for `email`, creating the account if there is none."""
        body = {"email": email, "password": password, "returnSecureToken": True}
        try:
            reply = self._accounts("signUp", body)
        except CliError as err:
            if "EMAIL_EXISTS" not in str(err):
                raise
            reply = self._accounts("signInWithPassword", body)
        return Session(reply["localId"], email, reply["idToken"])


# --- commands -------------------------------------------------------------------


def _admin_app(project: str) -> Any:
    import firebase_admin

    try:
        return firebase_admin.get_app(_ADMIN_APP)
    except ValueError:
        return firebase_admin.initialize_app(
            options={"projectId": project}, name=_ADMIN_APP
        )


def grant_admin(
    who: str, project: str, create: bool = False, password: str | None = None
) -> dict[str, Any]:
    """Set the custom claim `admin: true` on the user with that email or uid.

    Talks to the Auth emulator when FIREBASE_AUTH_EMULATOR_HOST is set, to the
    project's real Auth otherwise. Other custom claims are kept. With `create`
    a missing user is created (an email needs a `password`).
    """
    from firebase_admin import auth, exceptions
    from google.auth.exceptions import DefaultCredentialsError

    app = _admin_app(project)
    try:
        return _grant(auth, app, who, create, password)
    except exceptions.FirebaseError as err:
        raise CliError(f"could not grant admin to {who}: {err}") from err
    except DefaultCredentialsError as err:
        raise CliError(
            "no Google credentials for the real project; for the local emulator "
            "set FIREBASE_AUTH_EMULATOR_HOST (see serve-info)"
        ) from err


def _grant(
    auth: Any, app: Any, who: str, create: bool, password: str | None
) -> dict[str, Any]:
    by_email = "@" in who
    try:
        user = (
            auth.get_user_by_email(who, app=app)
            if by_email
            else auth.get_user(who, app=app)
        )
    except auth.UserNotFoundError as missing:
        if not create:
            raise CliError(
                f"no user {who}; add --create --password P to create it"
            ) from missing
        if by_email and not password:
            raise CliError("--create with an email needs --password") from missing
        fields: dict[str, Any] = {"email": who} if by_email else {"uid": who}
        if password:
            fields["password"] = password
        user = auth.create_user(app=app, **fields)
    claims = {**(user.custom_claims or {}), "admin": True}
    auth.set_custom_user_claims(user.uid, claims, app=app)
    return {
        "uid": user.uid,
        "email": user.email,
        "claims": claims,
        "authEmulator": os.environ.get("FIREBASE_AUTH_EMULATOR_HOST"),
    }


def load_demo(
    call: CallFn,
    user: Session,
    admin_token: str,
    data: DemoData,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Load a demo set as `user` through the callable functions.

    The user's profile is set up and raised to the business plan by an admin
    first: the demo holds more records than the free plan allows in a month.
    Every payload carries its `requestId`, so a second load stores nothing new.
    """
    setup = {"email": user.email, "displayName": DEMO_NAME}
    call("assistenteHttp", {"intent": "setupDatabase", "payload": setup}, user.id_token)
    call("updateUserPlan", {"uid": user.uid, "plan": "business"}, admin_token)
    calls = data.calls()
    for done, (intent, payload) in enumerate(calls, 1):
        call("assistenteHttp", {"intent": intent, "payload": payload}, user.id_token)
        if progress:
            progress(done, len(calls))
    stats = call("getUserStats", None, user.id_token)["stats"]
    return {
        "uid": user.uid,
        "email": user.email,
        "seed": data.seed,
        "period": [data.start.isoformat(), data.end.isoformat()],
        "sent": data.counts(),
        "stored": stats["counts"],
        "plan": stats["plan"],
        "totals": stats["totals"],
    }


def _print_progress(done: int, total: int) -> None:
    if done % 50 == 0 or done == total:
        print(f"load-demo: {done}/{total} records sent", file=sys.stderr)


def _load_demo_command(args: argparse.Namespace, local: Local) -> dict[str, Any]:
    from functions import demo

    auth_host = os.environ.get("FIREBASE_AUTH_EMULATOR_HOST") or local.auth_host
    # The admin claim is set with firebase-admin, which must talk to the same
    # Auth emulator the REST sign-ins use.
    os.environ["FIREBASE_AUTH_EMULATOR_HOST"] = auth_host
    accounts = AuthEmulator(auth_host)
    grant_admin(args.admin_email, local.project, create=True, password=args.password)
    # Sign in after the grant: only tokens minted later carry the claim.
    admin = accounts.sign_in(args.admin_email, args.password)
    user = accounts.sign_in(args.email, args.password)
    data = demo.generate(seed=args.seed, scale=args.scale)
    functions = Functions(args.url or local.functions_url)
    summary = load_demo(functions.call, user, admin.id_token, data, _print_progress)
    summary["password"] = args.password
    return summary


def _run_job_command(name: str) -> Any:
    from functions.jobs import run_job
    from functions.services import build_services

    services = build_services()
    try:
        # Jobs log JSON lines to stdout (what Cloud Logging reads); here they
        # go to stderr so stdout holds only the result.
        with contextlib.redirect_stdout(sys.stderr):
            return run_job(name, services)
    except (ImportError, AttributeError) as err:
        raise CliError(
            f"job {name} is registered but its code is missing: {err}"
        ) from err
    finally:
        services.cache.close()


def _clear_cache_command() -> dict[str, Any]:
    """Give every cache category a new generation in the shared Redis, so
    every instance's every entry misses once (after a Redis restore or
    failover, or to drop data changed behind the backend's back)."""
    from functions.cache import Category
    from functions.services import build_services

    services = build_services()
    cache = services.cache
    try:
        if not cache.stats()["l2"]["configured"]:
            raise CliError(
                "CACHE_REDIS_URL is not set: without Redis each instance's "
                "cache is its own, and this process cannot reach theirs"
            )
        # The cache logs JSON lines to stdout; stdout holds only the result.
        with contextlib.redirect_stdout(sys.stderr):
            for category in Category:
                cache.invalidate_category(category)
        if not cache.stats()["l2"]["healthy"]:
            raise CliError("Redis (CACHE_REDIS_URL) unreachable: nothing cleared")
        return {"cleared": [str(category) for category in Category]}
    finally:
        cache.close()


def _functions_of_main() -> dict[str, list[str]]:
    """The function names of main.py by kind: callable, http, scheduled."""
    import main

    kinds: dict[str, list[str]] = {"callable": [], "http": [], "scheduled": []}
    for name in sorted(vars(main)):
        endpoint = getattr(getattr(main, name), "__firebase_endpoint__", None)
        if endpoint is None:
            continue
        if getattr(endpoint, "callableTrigger", None) is not None:
            kinds["callable"].append(name)
        elif getattr(endpoint, "scheduleTrigger", None) is not None:
            kinds["scheduled"].append(name)
        elif getattr(endpoint, "httpsTrigger", None) is not None:
            kinds["http"].append(name)
    return kinds


def _wait_for_functions(local: Local, seconds: float) -> None:
    url = f"{local.functions_url}/assistenteHttp"
    deadline = time.monotonic() + seconds
    while True:
        try:
            status, _ = post_json(url, {"data": {"intent": "healthCheck"}}, timeout=5)
            if status == 200:
                return
        except CliError:
            pass
        if time.monotonic() > deadline:
            raise CliError(
                f"the functions emulator did not answer within {seconds:g} s"
            )
        time.sleep(1)


def _serve_info(local: Local) -> str:
    from functions.config import load_settings
    from functions.jobs import JOBS

    lines = [f"Local emulators of project {local.project}:"]
    for name in ("functions", "auth", "hosting", "hub"):
        if name in local.ports:
            lines.append(f"  {name:<10} {local.url(name)}")
    rest = f"{local.url('auth')}/identitytoolkit.googleapis.com/v1"
    lines.append(f"  REST auth  {rest}")
    lines.append(
        f"Accounts (after load-demo): {DEMO_EMAIL} and {DEMO_ADMIN_EMAIL} (admin), "
        f"password {DEMO_PASSWORD}"
    )
    lines.append(
        f"ID token: curl -s '{rest}/accounts:signInWithPassword?key=fake-api-key' "
        '-H \'Content-Type: application/json\' -d \'{"email": "...", '
        '"password": "...", "returnSecureToken": true}\' (idToken)'
    )
    lines.append(f"Documents: {load_settings().sqlite_path}")
    try:
        kinds = _functions_of_main()
    except Exception as err:  # main.py may be mid-edit; the URLs still help
        lines.append(f"(could not list main.py's functions: {err!r})")
        kinds = {}
    for kind in ("callable", "http"):
        if kinds.get(kind):
            lines.append(f"{kind.capitalize()} functions:")
            lines += [f"  {local.functions_url}/{name}" for name in kinds[kind]]
    lines.append("Scheduled jobs (the emulator does not run them):")
    lines += [f"  venv/bin/python -m functions run-job {name}" for name in sorted(JOBS)]
    lines.append("Demo data: venv/bin/python -m functions load-demo")
    lines.append(
        f"Admin claim: FIREBASE_AUTH_EMULATOR_HOST={local.auth_host} "
        "venv/bin/python -m functions grant-admin EMAIL"
    )
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every command."""
    from functions.jobs import JOBS

    parser = argparse.ArgumentParser(
        prog="python -m functions", description="Tools for the assistant backend."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    grant = commands.add_parser(
        "grant-admin",
        help="set the custom claim admin: true on a user",
        description="Set the admin claim; against the Auth emulator when "
        "FIREBASE_AUTH_EMULATOR_HOST is set.",
    )
    grant.add_argument("who", metavar="EMAIL_OR_UID")
    grant.add_argument("--create", action="store_true", help="create a missing user")
    grant.add_argument("--password", help="password of a created user")
    grant.add_argument("--project", help="project id (default: .firebaserc's)")

    demo = commands.add_parser(
        "load-demo",
        help="load the demo data through the emulated callable functions",
        description="Create the demo user in the Auth emulator and load a "
        "confectioner's last 90 days through assistenteHttp.",
    )
    demo.add_argument("--url", help="functions base URL (default: firebase.json's)")
    demo.add_argument("--seed", type=int, default=42)
    demo.add_argument("--email", default=DEMO_EMAIL)
    demo.add_argument("--password", default=DEMO_PASSWORD)
    demo.add_argument("--admin-email", default=DEMO_ADMIN_EMAIL)
    demo.add_argument(
        "--scale", type=float, default=1.0, help="share of the data set, in (0, 1]"
    )

    names = sorted(JOBS)
    job = commands.add_parser(
        "run-job",
        help="run a scheduled job now on the local services",
        description="Run a scheduled job now and print its JSON result. "
        "Jobs: " + ", ".join(names) + ".",
    )
    job.add_argument("name", metavar="NAME", choices=names, help=", ".join(names))

    commands.add_parser(
        "clear-cache",
        help="make every cached entry of every instance miss once (needs Redis)",
        description="New generations for every cache category in the Redis of "
        "CACHE_REDIS_URL: every instance reloads what it reads next.",
    )

    info = commands.add_parser("serve-info", help="print the local URLs")
    info.add_argument(
        "--wait",
        type=float,
        default=0,
        metavar="SECONDS",
        help="first wait up to SECONDS for the functions emulator to answer",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the process exit status."""
    args = build_parser().parse_args(argv)
    local = local_setup()
    try:
        if args.command == "grant-admin":
            result: Any = grant_admin(
                args.who, args.project or local.project, args.create, args.password
            )
        elif args.command == "load-demo":
            if not 0 < args.scale <= 1:
                raise CliError("--scale must be in (0, 1]")
            result = _load_demo_command(args, local)
        elif args.command == "run-job":
            result = _run_job_command(args.name)
        elif args.command == "clear-cache":
            result = _clear_cache_command()
        else:
            if args.wait:
                _wait_for_functions(local, args.wait)
            print(_serve_info(local))
            return 0
    except CliError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(json.dumps(result, ensure_ascii=False, indent=2, default=str))
    return 0
