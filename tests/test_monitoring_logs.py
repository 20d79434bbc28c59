"""The log writer: call lines queued off the request, written in order."""

from __future__ import annotations

import io
import json
import logging
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from functions.monitoring import logs, shutdown
from functions.monitoring.calls import Call
from functions.monitoring.logs import (
    CallFigures,
    JsonFormatter,
    LineWriter,
    call_line,
)
from tests.monitoring_helpers import json_lines, logged_lines, production_logging

_SOURCE = ("calls.py", 1, "Call.__exit__")


def _call(n: int) -> CallFigures:
    """The queued figures of a call line, built when the writer drains."""
    at = 1_800_000_000.0 + n
    return (at, f"f{n}", None, None, None, None, float(n), None, None, _SOURCE)


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
    with production_logging(), Call("getUserStats"):
        assert logs.direct_route()  # the line is queued, not written
    seen: list[str] = []

    def previous(signum: int, frame: Any) -> None:
        seen.append(capsys.readouterr().out)

    shutdown._on_sigterm(previous)(15, None)

    [out] = seen
    assert [line["function"] for line in json_lines(out)] == ["getUserStats"]


def test_call_line_is_one_json_line_with_every_field(
    capsys: pytest.CaptureFixture[str],
) -> None:
    logged_lines(capsys)
    with (
        production_logging(),
        Call("getUserStats", trace_header="abc123/7;o=1") as call,
    ):
        assert logs.direct_route()  # the hand-built line, as in production
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
    assert line["logging.googleapis.com/trace"] == "abc123"  # no project id bound
    assert line["logging.googleapis.com/spanId"] == "7"
    assert line["logging.googleapis.com/trace_sampled"] is True


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


def _formatter_line(call: Call, level: int) -> dict[str, Any]:
    """The line `JsonFormatter` writes for the record of `call` (the route a
    call takes when a handler was added), with the call's context bound."""
    record = logging.getLogger("functions.monitoring.calls").makeRecord(
        "functions.monitoring.calls",
        level,
        _SOURCE[0],
        _SOURCE[1],
        "function call",
        (),
        None,
        _SOURCE[2],
        {
            "event": "call",
            "function": call.function,
            "intent": call.intent,
            "outcome": "ok" if call.code is None else "error",
            "code": call.code,
            "userId": call.user_id,
            "durationMs": round(call.duration_ms, 3),
        },
    )
    record.created = call.at
    token = logs.bind_context(call)
    try:
        line: dict[str, Any] = json.loads(JsonFormatter().format(record))
    finally:
        logs.reset_context(token)
    return line


@pytest.mark.parametrize(
    ("function", "data", "user", "code", "header", "level"),
    [
        ("getUserStats", None, "alice", None, None, logging.INFO),
        (
            "assistenteHttp",
            {"intent": "listarDespesas"},
            'o"dd\\ user é',
            "INVALID_ARGUMENT",
            "105445aa7843bc8bf206b12000100000/1;o=1",
            logging.WARNING,
        ),
        ("assistenteHttp", {"intent": "nope"}, None, "INTERNAL", "abc/x", 40),
        ("getUserStats", None, "", "UNAVAILABLE", "abc123;o=0", logging.ERROR),
    ],
)
def test_hand_built_call_line_matches_the_formatter(
    function: str,
    data: Any,
    user: str | None,
    code: str | None,
    header: str | None,
    level: int,
) -> None:
    call = Call(function, data, trace_header=header)
    call.user_id = user
    call.code = code
    call.duration_ms = 12.3456789
    call.at = 1_800_000_000.123456

    server_error = None if code is None else code != "INVALID_ARGUMENT"
    fast = json.loads(
        call_line(
            call.at,
            call.function,
            call.intent,
            call.user_id,
            call.code,
            server_error,
            call.duration_ms,
            header,
            None,
            _SOURCE,
        )
    )

    assert fast == _formatter_line(call, level)
    assert list(fast) == list(_formatter_line(call, level))  # same key order


def test_call_line_time_matches_isoformat() -> None:
    from datetime import UTC, datetime

    for at in (1_800_000_000.0, 1_800_000_000.5, 1_800_000_059.999999, 0.000001):
        expected = datetime.fromtimestamp(at, UTC).isoformat()
        assert logs._timestamp(at) == expected


def test_a_handler_on_an_intermediate_logger_gets_records() -> None:
    with production_logging():
        assert logs.direct_route()
        handler = logging.NullHandler()
        logger = logging.getLogger("functions.monitoring")
        logger.addHandler(handler)
        try:
            assert not logs.direct_route()
        finally:
            logger.removeHandler(handler)
        assert logs.direct_route()


def test_sigterm_does_not_wait_forever_on_a_held_lock(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import threading

    held = threading.Lock()
    held.acquire()  # as if the interrupted thread were inside a flush
    monkeypatch.setattr(shutdown, "_SIGTERM_BUDGET_S", 0.05)
    monkeypatch.setattr(shutdown, "_tasks", {held.acquire: 0})
    seen: list[int] = []

    shutdown._on_sigterm(lambda signum, frame: seen.append(signum))(15, None)

    assert seen == [15]  # the previous handler ran: the process can stop
    held.release()
