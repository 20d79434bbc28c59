"""Monitoring benchmark (issue 4): wrapper overhead and metrics writes, one run.

Overhead. A cached `listarDespesas` (20 of 150 expenses, L1 hit) is called
through the real callable protocol in-process (Flask request, token check,
`edge.run`, router, cache), alternately with the monitoring wrapper and with
it swapped for a no-op stand-in, in interleaved rounds so drift and noise hit
both alike. The same comparison is made one level down, calling `edge.run`
directly, where the wrapper's share is largest. The JSON log lines go to
/dev/null (Cloud Run reads them from a pipe).

Writes. 1,000 calls spread over 60 simulated seconds (a fake clock) go through
`edge.run` with the flusher woken after every call (the worst case), the store
wrapped to count documents written and round trips. The previous design wrote
two documents per call.

    venv/bin/python bench/bench_monitoring.py             # prints and appends
    venv/bin/python bench/bench_monitoring.py --no-record
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

RESULTS = ROOT / "bench" / "RESULTS.md"
HEADING = "## Monitoring (issue 4)"
USER = "bench-user"


class _NoCall:
    """Stand-in for `functions.monitoring.calls.Call` that measures nothing."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def __enter__(self) -> _NoCall:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None

    def bind(self, services: Any) -> None:
        pass

    def identify(self, user_id: str | None) -> None:
        pass


@contextlib.contextmanager
def _unwrapped(enabled: bool) -> Iterator[None]:
    from functions.monitoring import calls

    real = calls.Call
    if enabled:
        calls.Call = _NoCall  # type: ignore[misc,assignment]
    try:
        yield
    finally:
        calls.Call = real  # type: ignore[misc]


@contextlib.contextmanager
def _stdout_to_devnull() -> Iterator[None]:
    saved = sys.stdout
    with open(os.devnull, "w") as sink:
        sys.stdout = sink
        try:
            yield
        finally:
            sys.stdout = saved


def _setup() -> tuple[Any, Any, str]:
    os.environ.update(
        {
            "DATA_DIR": tempfile.mkdtemp(prefix="bench-monitoring-"),
            "GCLOUD_PROJECT": "demo-assistente",
            "GOOGLE_CLOUD_PROJECT": "demo-assistente",
            "FIREBASE_AUTH_EMULATOR_HOST": "127.0.0.1:9099",
        }
    )
    from functions.services import build_services, use_services
    from tests.conftest import CallableClient
    from tests.tokens import mint

    services = build_services()
    use_services(services)
    client = CallableClient()
    token = mint(USER)
    services.store.set(f"users/{USER}", {"plan": "business"})
    with _stdout_to_devnull():
        for day in range(150):
            payload = {
                "data": f"2026-{(day % 12) + 1:02d}-{(day % 28) + 1:02d}",
                "tipo": "ingredientes",
                "valor": "12,34",
                "fornecedor": "Atacadão",
            }
            client.intent("registrarDespesa", payload, token)
    return services, client, token


def _interleaved(
    call: Callable[[], None],
    settle: Callable[[], None],
    rounds: int,
    per_round: int,
) -> tuple[float, float, float]:
    """Median per-call seconds (wrapped, unwrapped) over interleaved rounds,
    and the median of the per-pair ratios wrapped / unwrapped.

    The same call in the same warm state, both modes alternating which goes
    first. Each timed round ends with `settle()`, which does the work the
    wrapper defers (formatting and writing the queued log lines, folding the
    queued calls into the rollups), so that work is charged to the round that
    caused it, never hidden in a gap between rounds or left to a background
    thread; what the warm-up queued is settled untimed.
    """
    wrapped: list[float] = []
    bare: list[float] = []
    ratios: list[float] = []
    with _stdout_to_devnull():
        for _ in range(50):  # warm both paths
            call()
            with _unwrapped(True):
                call()
        for i in range(rounds):
            order = (False, True) if i % 2 == 0 else (True, False)
            pair: dict[bool, float] = {}
            for unwrapped in order:
                with _unwrapped(unwrapped):
                    settle()
                    start = time.perf_counter()
                    for _ in range(per_round):
                        call()
                    settle()
                    pair[unwrapped] = (time.perf_counter() - start) / per_round
            wrapped.append(pair[False])
            bare.append(pair[True])
            ratios.append(pair[False] / pair[True])
    return (
        statistics.median(wrapped),
        statistics.median(bare),
        statistics.median(ratios),
    )


def overhead(rounds: int, per_round: int) -> dict[str, float]:
    """Wrapper overhead on a cached listarDespesas, full protocol and edge.run."""
    from firebase_functions import https_fn
    from flask import Flask

    from functions import edge
    from functions.assistant.router import handle
    from functions.monitoring import logs
    from functions.monitoring.rollups import recorder_for

    services, client, token = _setup()
    data = {"intent": "listarDespesas", "payload": {"limit": 20}}
    recorder = recorder_for(services)

    def settle() -> None:
        logs.flush()
        recorder.fold()

    def full() -> None:
        status, body = client.call("assistenteHttp", data, token)
        assert status == 200 and body["result"]["cached"], body

    with Flask("bench").test_request_context("/", method="POST") as ctx:
        claims = {"uid": USER, "sub": USER, "exp": time.time() + 3600}
        request = https_fn.CallableRequest(
            raw_request=ctx.request,
            data=data,
            auth=https_fn.AuthData(uid=USER, token=claims),
        )

        def direct() -> None:
            assert edge.run("assistenteHttp", request, handle)["cached"]

        with _stdout_to_devnull():
            client.call("assistenteHttp", data, token)  # loads the cache
        full_w, full_b, full_r = _interleaved(full, settle, rounds, per_round)
        edge_w, edge_b, edge_r = _interleaved(direct, settle, rounds, per_round * 4)
    services.cache.close()
    return {
        "full_wrapped_us": full_w * 1e6,
        "full_bare_us": full_b * 1e6,
        "full_ratio": full_r - 1,
        "edge_wrapped_us": edge_w * 1e6,
        "edge_bare_us": edge_b * 1e6,
        "edge_ratio": edge_r - 1,
    }


def writes(calls: int, seconds: float, flush_seconds: float) -> dict[str, float]:
    """Metrics documents and round trips for `calls` calls over `seconds`."""
    from firebase_functions import https_fn
    from flask import Flask

    from functions import edge
    from functions.assistant.router import handle
    from functions.config import load_settings
    from functions.monitoring.rollups import recorder_for
    from functions.services import build_services, use_services
    from tests.monitoring_helpers import CountingStore

    settings = load_settings(
        {**os.environ, "METRICS_FLUSH_SECONDS": str(flush_seconds)}
    )
    services = build_services(settings)
    counting = CountingStore(services.store)
    services.store = counting
    now = [datetime(2026, 12, 3, 12, 0, 5, tzinfo=UTC)]
    services.clock = lambda: now[0]
    use_services(services)
    recorder = recorder_for(services)
    data = {"intent": "listarDespesas", "payload": {"limit": 20}}
    step = timedelta(seconds=seconds / calls)

    with (
        Flask("bench").test_request_context("/", method="POST") as ctx,
        _stdout_to_devnull(),
    ):
        claims = {"uid": USER, "sub": USER, "exp": time.time() + 3600}
        request = https_fn.CallableRequest(
            raw_request=ctx.request,
            data=data,
            auth=https_fn.AuthData(uid=USER, token=claims),
        )
        for _ in range(calls):
            now[0] += step
            edge.run("assistenteHttp", request, handle)
            recorder.flush_if_due()  # as if the flusher woke after every call
        during_run = sum(1 for p in counting.writes if p.endswith("-assistenteHttp"))
        recorder.flush()  # instance shutdown
    metric_docs = [p for p in counting.writes if p.startswith("metrics/")]
    function_docs = [p for p in metric_docs if p.endswith("-assistenteHttp")]
    services.cache.close()
    return {
        "calls": calls,
        "seconds": seconds,
        "flush_seconds": flush_seconds,
        "metric_docs": len(metric_docs),
        "function_docs": len(function_docs),
        "function_docs_run": during_run,
        "round_trips": counting.commits,
        "intervals": seconds / flush_seconds,
    }


def _machine() -> str:
    uname = subprocess.run(["uname", "-srm"], capture_output=True, text=True).stdout
    nproc = subprocess.run(["nproc"], capture_output=True, text=True).stdout
    return (
        f"`{uname.strip()}`, nproc {nproc.strip()}, Python {platform.python_version()}"
    )


def _report(over: dict[str, float], wr: dict[str, float], command: str) -> str:
    return "\n".join(
        [
            HEADING,
            "",
            f"- Machine: {_machine()}; shared, noisy.",
            f"- Date: {datetime.now(UTC).date().isoformat()}",
            f"- Command: `{command}`",
            "",
            "Overhead: interleaved rounds (order alternating), wrapped vs the "
            "wrapper swapped for a no-op, cached `listarDespesas` (20 of 150 "
            "expenses, L1 hit); log lines to /dev/null. Each timed round ends by "
            "doing the work the wrapper defers (writing the queued log lines, "
            "folding the queued rollup records), so it is charged, not hidden. "
            "The wrapper reads the trace header from the raw request itself, so "
            "that lookup is charged to it too. Times are medians per mode; the "
            "overhead is the median of the per-round ratios.",
            "",
            "| path | wrapped | unwrapped | overhead |",
            "| --- | --- | --- | --- |",
            f"| callable protocol (Flask request, token, edge, router, cache) "
            f"| {over['full_wrapped_us']:.1f} µs | {over['full_bare_us']:.1f} µs "
            f"| {over['full_ratio']:+.1%} (goal: under 5 %) |",
            f"| `edge.run` called directly | {over['edge_wrapped_us']:.1f} µs "
            f"| {over['edge_bare_us']:.1f} µs | {over['edge_ratio']:+.1%} |",
            "",
            f"Writes: {wr['calls']:.0f} calls of one function over "
            f"{wr['seconds']:.0f} simulated seconds, flush interval "
            f"{wr['flush_seconds']:.0f} s ({wr['intervals']:.0f} intervals), flusher "
            "woken after every call, final flush at shutdown.",
            "",
            "| figure | value |",
            "| --- | --- |",
            f"| function rollup documents written during the run "
            f"| {wr['function_docs_run']} (goal: at most one per function per "
            "interval) |",
            f"| ... including the shutdown flush | {wr['function_docs']} |",
            f"| all metrics documents (with the cache rollup) | {wr['metric_docs']} |",
            f"| store round trips (batch commits) | {wr['round_trips']} |",
            f"| previous design | {2 * wr['calls']:.0f} documents |",
            "",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=41)
    parser.add_argument("--per-round", type=int, default=200)
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()

    over = overhead(args.rounds, args.per_round)
    wr = writes(1000, 60.0, 10.0)
    command = "venv/bin/python bench/bench_monitoring.py " + " ".join(sys.argv[1:])
    report = _report(over, wr, command.strip())
    print(report)
    if not args.no_record:
        _record(report)


def _record(report: str) -> None:
    """Replace this benchmark's section of RESULTS.md in place (re-read right
    before writing); every other section stays byte for byte."""
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    start = text.find(HEADING + "\n")
    if start < 0:
        RESULTS.write_text(text.rstrip("\n") + "\n\n" + report)
        return
    end = text.find("\n## ", start + len(HEADING))
    rest = text[end + 1 :] if end >= 0 else ""
    RESULTS.write_text(text[:start] + report + ("\n" + rest if rest else ""))


if __name__ == "__main__":
    main()
