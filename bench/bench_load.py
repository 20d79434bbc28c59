"""Bounded load test on loopback (issue 8): the real server, mixed intents.

Starts `assistenteHttp` under functions-framework (gunicorn, gthread: what the
Firebase emulator and Cloud Run run) on 127.0.0.1 with the embedded SQLite
store in a temporary folder, and the Auth emulator's unsigned-token mode
(FIREBASE_AUTH_EMULATOR_HOST; nothing listens there, tokens are minted
locally). Client threads, each with one keep-alive connection, send a fixed
number of callable requests over a mix of intents for a set of users, then
the server is stopped. The run is bounded twice: by `--calls` and by
`--max-seconds`; it stops by itself either way.

Any error (HTTP status other than 200, an `error` body, `success` not true)
fails the run with exit code 1, as does not finishing every call in time.

    venv/bin/python bench/bench_load.py [--calls 3000] [--threads 8]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.tokens import PROJECT, mint  # noqa: E402

MIX: tuple[tuple[str, int], ...] = (
    ("listarDespesas", 25),
    ("registrarDespesa", 15),
    ("listarPedidos", 20),
    ("registrarPedido", 10),
    ("listarReceitas", 15),
    ("healthCheck", 15),
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _payload(intent: str, rng: random.Random) -> dict[str, Any]:
    day = f"2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
    if intent == "registrarDespesa":
        return {
            "data": day,
            "tipo": rng.choice(["ingredientes", "embalagens", "gás"]),
            "valor": f"R$ {rng.randint(1, 500)},{rng.randint(0, 99):02d}",
            "fornecedor": rng.choice(["Atacadão", "Assaí", "Feira"]),
        }
    if intent == "registrarPedido":
        return {
            "cliente": rng.choice(["Maria", "João", "Ana"]),
            "produtos": [f"{rng.randint(1, 5)}x Bolo de pote"],
            "dataEntrega": day,
            "valor": rng.randint(20, 300),
        }
    if intent in ("listarDespesas", "listarPedidos"):
        return {"limit": rng.choice([10, 20, 50])}
    return {}


class Server:
    """functions-framework serving one function on loopback, in its own
    process group (gunicorn's master and worker), stopped by that group id."""

    def __init__(self, data_dir: Path, log: Path, threads: int) -> None:
        self.port = _free_port()
        self.log = log
        env = {
            **os.environ,
            "GCLOUD_PROJECT": PROJECT,
            "GOOGLE_CLOUD_PROJECT": PROJECT,
            "FIREBASE_AUTH_EMULATOR_HOST": "127.0.0.1:9099",
            "DATA_DIR": str(data_dir),
            "THREADS": str(threads),
            "PYTHONUNBUFFERED": "1",
        }
        for name in ("CACHE_REDIS_URL", "STORE_BACKEND", "K_SERVICE", "BACKUP_BUCKET"):
            env.pop(name, None)
        self.command = [
            str(ROOT / "venv" / "bin" / "functions-framework"),
            "--target",
            "assistenteHttp",
            "--source",
            "main.py",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
        ]
        self._log_file = open(log, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            self.command,
            cwd=ROOT,
            env=env,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_ready(self, timeout_s: float = 60.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited; see {self.log}")
            try:
                status, _ = call(self.connect(), "healthCheck", {}, None)
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"server did not answer in {timeout_s:.0f} s")

    def connect(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self._log_file.close()


def call(
    conn: http.client.HTTPConnection, intent: str, payload: Any, token: str | None
) -> tuple[int, Any]:
    body = json.dumps({"data": {"intent": intent, "payload": payload}})
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    conn.request("POST", "/", body=body, headers=headers)
    response = conn.getresponse()
    return response.status, json.loads(response.read() or b"null")


def _ok(status: int, body: Any) -> bool:
    return (
        status == 200
        and isinstance(body, dict)
        and isinstance(body.get("result"), dict)
        and body["result"].get("success") is True
    )


def _percentile(values: list[float], q: float) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=1000, method="inclusive")[round(q * 10) - 1]


def run(args: argparse.Namespace) -> int:
    tokens = [mint(f"load-{index:03d}") for index in range(args.users)]
    intents = [name for name, _ in MIX]
    weights = [weight for _, weight in MIX]
    with tempfile.TemporaryDirectory(prefix="bench-load-") as folder:
        server = Server(Path(folder) / "data", Path(folder) / "server.log", 8)
        try:
            server.wait_ready()
            setup = server.connect()
            for token in tokens:  # profiles and a few recipes, not measured
                for intent, payload in (
                    ("setupDatabase", {}),
                    (
                        "criarNovaReceita",
                        {
                            "recipeName": "Brigadeiro",
                            "ingredients": ["1 lata de leite condensado"],
                        },
                    ),
                ):
                    status, body = call(setup, intent, payload, token)
                    if not _ok(status, body):
                        raise RuntimeError(f"setup failed: {status} {body}")
            setup.close()

            lock = threading.Lock()
            issued = 0
            samples: list[tuple[str, float]] = []
            errors: list[str] = []
            deadline = time.monotonic() + args.max_seconds

            def worker(index: int) -> None:
                nonlocal issued
                rng = random.Random(1000 + index)
                conn = server.connect()
                local: list[tuple[str, float]] = []
                try:
                    while time.monotonic() < deadline:
                        with lock:
                            if issued >= args.calls:
                                break
                            issued += 1
                        intent = rng.choices(intents, weights)[0]
                        token = rng.choice(tokens)
                        payload = _payload(intent, rng)
                        started = time.perf_counter()
                        try:
                            status, body = call(conn, intent, payload, token)
                        except (OSError, http.client.HTTPException) as err:
                            conn.close()
                            conn = server.connect()
                            status, body = 0, repr(err)
                        elapsed = time.perf_counter() - started
                        if not _ok(status, body):
                            with lock:
                                errors.append(f"{intent}: {status} {str(body)[:200]}")
                        local.append((intent, elapsed))
                finally:
                    conn.close()
                    with lock:
                        samples.extend(local)

            started = time.perf_counter()
            threads = [
                threading.Thread(target=worker, args=(i,)) for i in range(args.threads)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            wall = time.perf_counter() - started
        finally:
            server.stop()

    report(args, samples, errors, wall)
    if errors or len(samples) < args.calls:
        print(
            f"FAILED: {len(errors)} error(s), {len(samples)}/{args.calls} calls done",
            file=sys.stderr,
        )
        for line in errors[:10]:
            print("  " + line, file=sys.stderr)
        return 1
    return 0


def report(
    args: argparse.Namespace,
    samples: list[tuple[str, float]],
    errors: list[str],
    wall: float,
) -> None:
    by_intent: dict[str, list[float]] = defaultdict(list)
    for intent, elapsed in samples:
        by_intent[intent].append(elapsed * 1000)
    every = [ms for values in by_intent.values() for ms in values]
    counts = Counter(intent for intent, _ in samples)
    uname = platform.uname()
    print(f"- Machine: `{uname.system} {uname.release} {uname.machine}`, ", end="")
    print(f"nproc {os.cpu_count()}, Python {platform.python_version()}")
    print(f"- Date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print(
        f"- Calls: {len(samples)} from {args.threads} client threads, "
        f"{args.users} users; errors: {len(errors)}"
    )
    print(f"- Wall time: {wall:.1f} s; throughput: {len(samples) / wall:.0f} calls/s")
    print()
    print("| intent | calls | p50 ms | p95 ms | p99 ms |")
    print("| --- | ---: | ---: | ---: | ---: |")
    rows = [(name, by_intent[name]) for name, _ in MIX if by_intent.get(name)]
    rows.append(("all", every))
    for name, values in rows:
        print(
            f"| {name} | {len(values) if name == 'all' else counts[name]} "
            f"| {statistics.median(values):.1f} | {_percentile(values, 95):.1f} "
            f"| {_percentile(values, 99):.1f} |"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--users", type=int, default=40)
    parser.add_argument("--max-seconds", type=float, default=300.0)
    args = parser.parse_args()
    if args.calls < 1 or args.threads < 1 or args.users < 1:
        parser.error("--calls, --threads and --users must be positive")
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
