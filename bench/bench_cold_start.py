"""Cold start and a warm call: what `main.py` costs on top of the SDK.

Each import is timed inside a fresh interpreter (so the interpreter's own start
is not counted), alternating the two cases so machine noise hits both alike.
Then a warm `listarDespesas` call is timed in-process, uncached and cached.

    venv/bin/python bench/bench_cold_start.py [--rounds 15]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_TIMED_IMPORT = (
    "import time; t = time.perf_counter(); import {module}; "
    "print(time.perf_counter() - t)"
)


def _import_seconds(module: str, env: dict[str, str]) -> float:
    out = subprocess.run(
        [sys.executable, "-c", _TIMED_IMPORT.format(module=module)],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return float(out.strip().splitlines()[-1])


def cold_start(rounds: int) -> dict[str, float]:
    """Median import times of the SDK alone and of main.py, and their ratio."""
    env = {**os.environ, "GCLOUD_PROJECT": "demo-assistente"}
    sdk: list[float] = []
    app: list[float] = []
    for _ in range(rounds):
        sdk.append(_import_seconds("firebase_functions.https_fn", env))
        app.append(_import_seconds("main", env))
    sdk_median = statistics.median(sdk)
    app_median = statistics.median(app)
    return {
        "sdk_ms": sdk_median * 1000,
        "main_ms": app_median * 1000,
        "overhead_pct": (app_median / sdk_median - 1) * 100,
    }


def warm_calls(calls: int) -> dict[str, float]:
    """p50 of a warm `listarDespesas` call over 150 expenses, uncached and cached."""
    sys.path.insert(0, str(ROOT))
    data_dir = tempfile.mkdtemp(prefix="bench-warm-")
    os.environ.update(
        {
            "DATA_DIR": data_dir,
            "GCLOUD_PROJECT": "demo-assistente",
            "FIREBASE_AUTH_EMULATOR_HOST": "127.0.0.1:9099",
        }
    )
    from functions.services import build_services, use_services
    from tests.conftest import CallableClient
    from tests.tokens import mint

    services = build_services()
    use_services(services)
    client = CallableClient()
    token = mint("bench-user")
    services.store.set("users/bench-user", {"plan": "business"})
    for day in range(150):
        payload = {
            "data": f"2026-{(day % 12) + 1:02d}-{(day % 28) + 1:02d}",
            "tipo": "ingredientes",
            "valor": "12,34",
            "fornecedor": "Atacadão",
        }
        client.intent("registrarDespesa", payload, token)

    def timed(invalidate: bool) -> float:
        samples = []
        for _ in range(calls):
            if invalidate:
                services.cache.invalidate("bench-user")
            start = time.perf_counter()
            status, _ = client.intent("listarDespesas", {"limit": 20}, token)
            samples.append(time.perf_counter() - start)
            assert status == 200
        return statistics.median(samples) * 1000

    uncached = timed(invalidate=True)
    cached = timed(invalidate=False)
    return {"uncached_p50_ms": uncached, "cached_p50_ms": cached}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--calls", type=int, default=300)
    args = parser.parse_args()

    cold = cold_start(args.rounds)
    print(f"import firebase_functions.https_fn  p50 {cold['sdk_ms']:.1f} ms")
    print(f"import main                         p50 {cold['main_ms']:.1f} ms")
    print(f"main.py on top of the SDK           {cold['overhead_pct']:+.1f} %")
    # Every call writes a JSON log line to stdout; keep them out of the report.
    # (A real file: the SDK reconfigures stdout's encoding when it is imported.)
    with (
        open(os.devnull, "w", encoding="utf-8") as sink,
        contextlib.redirect_stdout(sink),
    ):
        warm = warm_calls(args.calls)
        from functions.monitoring import logs

        logs.flush()
    print(f"warm listarDespesas uncached        p50 {warm['uncached_p50_ms']:.2f} ms")
    print(f"warm listarDespesas cached          p50 {warm['cached_p50_ms']:.2f} ms")


if __name__ == "__main__":
    main()
