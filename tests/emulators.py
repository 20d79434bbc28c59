"""The real Firebase emulators for end-to-end tests, started and stopped here.

`start_emulators` runs `firebase emulators:start --only ...` with its own
DATA_DIR, waits until the functions answer, and stops the whole process group
afterwards. The test modules wrap it in a module-scoped fixture. A `java` shim
on PATH records any call, proving no emulator needed Java.

Without a tool the caller skips, except under CI=true where that is a failure
(`missing_tool`).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from functions.cli import (
    AuthEmulator,
    CallFailed,
    Functions,
    Local,
    Session,
    local_setup,
    post_json,
)

__all__ = ["FIREBASE", "ROOT", "Emulators", "missing_tool", "start_emulators"]

ROOT = Path(__file__).resolve().parent.parent
FIREBASE = ROOT / "tools" / "node_modules" / ".bin" / "firebase"
START_TIMEOUT_S = 120
STOP_TIMEOUT_S = 30
# Started with every run whatever `only` says; another run must have
# released them first.
_ALWAYS = ("hub", "logging")


@dataclass
class Emulators:
    local: Local
    functions: Functions
    accounts: AuthEmulator
    env: dict[str, str]
    java_calls: Path
    log: Path

    def call(self, function: str, data: Any = None, token: str | None = None) -> Any:
        return self.functions.call(function, data, token)

    def intent(self, name: str, payload: Any, user: Session) -> Any:
        return self.call(
            "assistenteHttp", {"intent": name, "payload": payload}, user.id_token
        )

    def failure(
        self, function: str, data: Any = None, token: str | None = None
    ) -> CallFailed:
        with pytest.raises(CallFailed) as caught:
            self.call(function, data, token)
        return caught.value

    def cli(self, *args: str) -> dict[str, Any]:
        """The JSON a `python -m functions` command prints; it must succeed."""
        done = subprocess.run(
            [sys.executable, "-m", "functions", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        result: dict[str, Any] = json.loads(done.stdout)
        return result


def missing_tool(reason: str) -> None:
    """Skip the test, or fail it under CI=true: there a tool must be installed."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: end-to-end tests must run)")
    pytest.skip(reason)


def _port_busy(host: str, port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex((host, port)) == 0


def _wait_for_free_ports(local: Local, names: Sequence[str], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while True:
        busy = [
            n
            for n in names
            if n in local.ports and _port_busy(local.host, local.ports[n])
        ]
        if not busy:
            return
        if time.monotonic() > deadline:
            ports = ", ".join(f"{n} {local.ports[n]}" for n in busy)
            pytest.fail(f"emulator ports still in use after {seconds:g} s: {ports}")
        time.sleep(1)


def tail(path: Path, size: int = 4000) -> str:
    """The end of a log file, for failure messages."""
    return path.read_text(errors="replace")[-size:] if path.exists() else ""


def _stop(process: subprocess.Popen[bytes]) -> None:
    """INT to the emulators' process group (a clean shutdown), KILL if it hangs.

    The Python workers live in the same group; the final KILL reaps any the
    CLI left behind.
    """
    for sig, wait_s in ((signal.SIGINT, STOP_TIMEOUT_S), (signal.SIGKILL, 10)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break
        try:
            process.wait(wait_s)
        except subprocess.TimeoutExpired:
            continue
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        break


def _wait_until_ready(
    emulators: Emulators, process: subprocess.Popen[bytes], seconds: float
) -> None:
    health_url = f"{emulators.local.functions_url}/assistenteHttp"
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the emulators exited early:\n{tail(emulators.log)}")
        if "All emulators ready" in tail(emulators.log, 100_000):
            try:
                status, _ = post_json(
                    health_url, {"data": {"intent": "healthCheck"}}, timeout=5
                )
            except Exception:
                status = 0
            if status == 200:
                return
        time.sleep(0.5)
    pytest.fail(
        f"the emulators were not ready within {seconds} s:\n{tail(emulators.log)}"
    )


@contextlib.contextmanager
def start_emulators(
    tmp: Path,
    only: Sequence[str] = ("functions", "auth"),
    extra_env: Mapping[str, str] | None = None,
) -> Iterator[Emulators]:
    """The running emulators named in `only` over a fresh SQLite store in `tmp`.

    `extra_env` reaches the emulated functions (the emulator hands its own
    environment to the Python workers) and the command line run by `cli`.
    """
    if not FIREBASE.exists():
        missing_tool(f"Firebase CLI not installed at {FIREBASE} (run scripts/setup.sh)")
    local = local_setup(ROOT)
    _wait_for_free_ports(local, (*only, *_ALWAYS), 60)

    shim_dir = tmp / "bin"
    shim_dir.mkdir()
    java_calls = tmp / "java-calls"
    java = shim_dir / "java"
    java.write_text(f'#!/bin/sh\necho "java $*" >> "{java_calls}"\nexit 1\n')
    java.chmod(0o755)

    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"CACHE_REDIS_URL", "FIRESTORE_EMULATOR_HOST", "STORE_BACKEND"}
    }
    env.update(
        DATA_DIR=str(tmp / "data"),
        PATH=f"{shim_dir}{os.pathsep}{env.get('PATH', '')}",
        # For the command line run by the tests: the same Auth emulator.
        FIREBASE_AUTH_EMULATOR_HOST=local.auth_host,
        PYTHONUNBUFFERED="1",
    )
    env.update(extra_env or {})
    log = tmp / "emulators.log"
    state = Emulators(
        local=local,
        functions=Functions(local.functions_url),
        accounts=AuthEmulator(local.auth_host),
        env=env,
        java_calls=java_calls,
        log=log,
    )
    command = [str(FIREBASE), "emulators:start", "--only", ",".join(only)]
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*command, "--project", local.project],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        _wait_until_ready(state, process, START_TIMEOUT_S)
        yield state
    finally:
        _stop(process)
