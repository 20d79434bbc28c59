"""The log writer: call lines queued off the request, written in order."""

from __future__ import annotations

import io
import json
import logging
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from functions.monitoring import logs
from functions.monitoring.calls import Call
from functions.monitoring.logs import LineWriter, LogContext
from tests.monitoring_helpers import json_lines, logged_lines

_SOURCE = {"file": "calls.py", "line": 1, "function": "Call.__exit__"}


def _call(n: int, context: LogContext | None = None) -> Any:
    fields = {"event": "call", "function": f"f{n}", "durationMs": float(n)}
    return (context or LogContext(), None, fields, _SOURCE, 1_800_000_000.0 + n)


def test_writer_keeps_the_order_of_queued_and_immediate_lines() -> None:
    writer = LineWriter(interval=3600)  # no timed drain during the test
    out = io.StringIO()
    writer.put(out, _call(1))
    writer.put(out, '{"n":2}')
    writer.write_now(out, '{"n":3}')  # drains 1 and 2 first
    writer.put(out, _call(4))
    assert writer.flush() == 1

    lines = json_lines(out.getvalue())
    assert [line.get("function") or line.get("n") for line in lines] == [
        "f1",
        2,
        3,
        "f4",
    ]
    assert lines[0]["time"] == "2027-01-15T08:00:01+00:00"


def test_writer_keeps_order_across_threads_and_streams() -> None:
    writer = LineWriter(interval=0.001)  # the writer thread drains constantly
    first, second = io.StringIO(), io.StringIO()

    def produce(tag: str, stream: io.StringIO) -> None:
        for i in range(500):
            writer.put(stream, json.dumps({"tag": tag, "i": i}))

    threads = [
        threading.Thread(target=produce, args=("a", first)),
        threading.Thread(target=produce, args=("b", second)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    writer.flush()

    for stream, tag in ((first, "a"), (second, "b")):
        lines = json_lines(stream.getvalue())
        assert [line["i"] for line in lines] == list(range(500))
        assert {line["tag"] for line in lines} == {tag}


def test_flush_at_shutdown_writes_everything_queued() -> None:
    writer = LineWriter(interval=3600)
    out = io.StringIO()
    for i in range(1000):
        writer.put(out, _call(i))
    assert out.getvalue() == ""  # nothing written on the request path

    assert writer.flush() == 1000  # what atexit / SIGTERM run
    assert [line["function"] for line in json_lines(out.getvalue())] == [
        f"f{i}" for i in range(1000)
    ]
    assert writer.flush() == 0


def test_a_closed_stream_costs_its_own_lines_only() -> None:
    writer = LineWriter(interval=3600)
    gone, alive = io.StringIO(), io.StringIO()
    writer.put(gone, '{"n":1}')
    writer.put(alive, '{"n":2}')
    gone.close()

    assert writer.flush() == 1
    assert writer.dropped == 1
    assert json_lines(alive.getvalue()) == [{"n": 2}]


def test_sigterm_writes_the_queued_lines_before_the_previous_handler(
    capsys: pytest.CaptureFixture[str],
) -> None:
    logged_lines(capsys)
    with Call("getUserStats"):
        pass
    seen: list[str] = []

    def previous(signum: int, frame: Any) -> None:
        seen.append(capsys.readouterr().out)

    logs._on_sigterm(previous)(15, None)

    [out] = seen
    assert [line["function"] for line in json_lines(out)] == ["getUserStats"]


def test_call_line_is_one_json_line_with_every_field(
    capsys: pytest.CaptureFixture[str],
) -> None:
    logged_lines(capsys)
    with Call("getUserStats", trace_header="abc123/7;o=1") as call:
        call.identify("alice")

    [line] = logged_lines(capsys)
    assert line["severity"] == "INFO"
    assert line["message"] == "function call"
    assert line["logger"] == "functions.monitoring.calls"
    assert line["event"] == "call" and line["outcome"] == "ok"
    assert line["function"] == "getUserStats" and line["intent"] is None
    assert line["code"] is None and line["userId"] == "alice"
    assert isinstance(line["durationMs"], float)
    assert line["logging.googleapis.com/labels"] == {
        "function": "getUserStats",
        "user_id": "alice",
    }
    assert line["logging.googleapis.com/sourceLocation"]["function"] == (
        "Call.__exit__"
    )
    assert line["time"].endswith("+00:00")


@pytest.fixture()
def extra_handler() -> Iterator[list[logging.LogRecord]]:
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Keep()
    logger = logging.getLogger("functions.monitoring")
    logger.addHandler(handler)
    yield records
    logger.removeHandler(handler)


def test_an_added_handler_still_sees_call_records(
    extra_handler: list[logging.LogRecord], capsys: pytest.CaptureFixture[str]
) -> None:
    logged_lines(capsys)
    with pytest.raises(KeyError), Call("getUserStats"):
        raise KeyError("x")

    [record] = extra_handler
    assert record.levelno == logging.ERROR
    assert record.__dict__["code"] == "INTERNAL"
    [line] = logged_lines(capsys)
    assert line["severity"] == "ERROR" and line["code"] == "INTERNAL"
