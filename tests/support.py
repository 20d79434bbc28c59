"""Helpers several test modules share: tool checks, log capture, Redis."""

from __future__ import annotations

import logging
import os

import pytest

from tests.redis_server import RedisServer, RedisServerError, find_redis_server

__all__ = ["ListHandler", "need", "started_redis"]


def need(condition: bool, what: str) -> None:
    """Skip without `what`, or fail under CI where every tool must be present."""
    if condition:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{what} is required under CI (scripts/setup.sh installs it)")
    pytest.skip(f"{what} not available")


def started_redis() -> RedisServer:
    """A running throwaway redis-server (skipped, or failed under CI, without
    one); the caller calls `cleanup()`."""
    need(find_redis_server() is not None, "redis-server")
    server = RedisServer()
    try:
        return server.start()
    except RedisServerError as err:
        server.cleanup()
        need(False, f"redis-server ({err})")
        raise


class ListHandler(logging.Handler):
    """Keeps every record it receives, for assertions on structured logs."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def at(self, level: int) -> list[logging.LogRecord]:
        return [r for r in self.records if r.levelno == level]
