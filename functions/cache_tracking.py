"""A local copy of Redis keys that Redis keeps true: client-side tracking.

The cache checks two generation keys in Redis before it trusts any entry, on
every read. `GenerationMirror` keeps copies of those keys in the instance so
that the check costs no round trip: a dedicated connection turns on Redis
client tracking in broadcast mode for the generation prefixes, and Redis then
pushes an invalidation message on that connection whenever such a key changes,
expires or is evicted, on any instance. Every lookup first looks for received
messages (one poll() of the socket, without the lock when it finds none) and
applies them, so a copy is dropped as soon as its message arrives. Generations
this instance writes go through the same connection (`write`): Redis's answer
follows every earlier message, so the values written are kept at once.

A silent network fault would stop the messages without closing the socket, so
copies are trusted only while the connection has answered a PING sent within
the last `FRESH_FOR_S` seconds; lookups send that PING (without waiting for
it) every `PING_EVERY_S` seconds. Past that, or with the connection closed,
`lookup` answers None and the cache asks Redis itself.

# Limitation: Redis queues a write's invalidation messages before it answers
# the writer, but they travel to each instance on their own connection, so a
# read on another instance that starts within that delivery time (microseconds
# on one host, well under a millisecond in one region) may still use the old
# generation. The app's next request after a write takes at least one round
# trip through the phone first. Deployments that need the strict guarantee
# set CACHE_TRACKING=false: every read then checks Redis (one round trip).

# Limitation: broadcast mode sends every instance every generation change,
# including instances that are idle (Cloud Run throttles their CPU, so nothing
# reads the socket and Redis buffers the messages). A mirror unused for
# `IDLE_S` seconds is closed by the next lookup or by the cache's housekeeping
# and reopened by the next read, which bounds what Redis holds for it.
"""

from __future__ import annotations

import logging
import select
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["FRESH_FOR_S", "IDLE_S", "PING_EVERY_S", "GenerationMirror"]

log = logging.getLogger("functions.cache")

PING_EVERY_S = 0.5
FRESH_FOR_S = 1.0
IDLE_S = 10.0
_READ_TIMEOUT_S = 0.25


class GenerationMirror:
    """Copies of the Redis keys under `prefixes` this instance has read.

    Not running until `start` succeeds; `stop` (or a connection failure seen
    while draining) drops every copy. Thread-safe.
    """

    def __init__(
        self,
        client: Any,
        prefixes: Sequence[str],
        max_keys: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Mirror keys under `prefixes` read through `client`'s pool, up to
        `max_keys` of them; `clock` measures PING and idle times (tests pass a
        fake one)."""
        self._client = client
        self._clock = clock
        self._prefixes = tuple(prefixes)
        self._lock = threading.Lock()
        # A plain dict: lookups read it without the lock (one dict.get is
        # atomic); every change happens under the lock.
        self._values: dict[str, bytes] = {}
        self._max_keys = max_keys
        self._conn: Any = None
        self._fd: int | None = None
        # Bumped by every invalidation message and every start and stop: a
        # value fetched before a bump may be older than the message.
        self._seq = 0
        # Odd while a drain may have taken messages off the socket that it has
        # not applied yet: a lock-free lookup that sees it change retries.
        self._draining = 0
        self._ping_sent_at: float | None = None
        self._proven_at = 0.0  # when the last answered PING was sent
        self._used_at = 0.0

    @property
    def running(self) -> bool:
        """Whether the tracking connection is open."""
        # No lock: reading one reference is atomic, and a caller that acts on
        # a stale answer finds out under the lock (lookup answers None).
        return self._conn is not None

    def start(self) -> None:
        """Open the tracking connection; raises the redis-py error on failure.

        Raises redis.ResponseError when the server refuses client tracking
        (Redis before 6, or a managed service that disables the command).
        """
        conn = self._client.connection_pool.make_connection()
        try:
            conn.connect()
            if str(conn.get_protocol()) != "3":
                raise ValueError("client tracking here needs RESP3 (protocol=3)")
            # redis-py's own client-side cache registers its handler the same
            # way; pushes that arrive while reading replies are routed to it.
            conn._parser.set_invalidation_push_handler(self._on_invalidate)
            # NOLOOP: writes made through this connection (`write`) send it no
            # message; their values are known the moment Redis answers.
            command = ["CLIENT", "TRACKING", "ON", "BCAST", "NOLOOP"]
            for prefix in self._prefixes:
                command += ["PREFIX", prefix]
            sent_at = self._clock()
            conn.send_command(*command)
            conn.read_response(timeout=_READ_TIMEOUT_S)
            conn.send_command("PING")
            conn.read_response(timeout=_READ_TIMEOUT_S)
            # Messages read along with those replies concern changes made
            # before anything is mirrored; they only must not stay buffered.
            while conn.can_read(0):
                conn.read_response(push_request=True, timeout=_READ_TIMEOUT_S)
        except BaseException:
            conn.disconnect()
            raise
        with self._lock:
            self._close_locked()
            self._conn = conn
            # The socket's descriptor, for the lock-free check that nothing
            # waits to be read (redis-py keeps the socket in `_sock`).
            self._fd = conn._sock.fileno()
            self._seq += 1
            self._proven_at = self._used_at = sent_at

    def stop(self) -> None:
        """Close the connection and forget every copy."""
        with self._lock:
            self._close_locked()

    def stop_if_idle(self) -> bool:
        """Stop when no lookup ran for `IDLE_S` seconds; True when stopped."""
        with self._lock:
            if self._conn is None or self._clock() - self._used_at < IDLE_S:
                return False
            self._close_locked()
            return True

    def lookup(self, keys: Sequence[str]) -> list[bytes] | None:
        """The current values of `keys`, or None when any is not mirrored or
        the copies cannot be trusted right now."""
        found = self._lookup_quiet(keys)
        if found is not None:
            return found
        found = []
        with self._lock:
            if not self._drain() or self._used_at - self._proven_at > FRESH_FOR_S:
                return None
            for key in keys:
                value = self._values.get(key)
                if value is None:
                    return None
                found.append(value)
        return found

    def _lookup_quiet(self, keys: Sequence[str]) -> list[bytes] | None:
        """`lookup` without the lock when the socket holds nothing to read, no
        drain is under way and no PING is due; None means "take the lock"."""
        fd = self._fd
        draining = self._draining
        now = self._clock()
        if fd is None or draining & 1 or now - self._proven_at >= PING_EVERY_S:
            return None
        try:
            # poll, not select: descriptors past 1023 are fine. Every path that
            # reads the socket leaves no whole message in redis-py's buffer,
            # so an empty socket means nothing has arrived unapplied.
            poller = select.poll()
            poller.register(fd, select.POLLIN)
            if poller.poll(0):
                return None
        except (OSError, ValueError):
            return None  # closed meanwhile
        found = [self._values.get(key) for key in keys]
        # A drain that started after the first read of `_draining` may have
        # taken a message off the socket before the poll above.
        if self._draining != draining or None in found:
            return None
        self._used_at = now
        return found  # type: ignore[return-value]

    def mark(self) -> int | None:
        """A point to pass to `remember` before fetching values from Redis;
        None when nothing can be remembered (not running)."""
        with self._lock:
            return self._seq if self._drain() else None

    def remember(self, mark: int, keys: Sequence[str], values: Sequence[Any]) -> None:
        """Keep values fetched from Redis after `mark`, unless a message that
        may concern them arrived since."""
        with self._lock:
            if not self._drain() or self._seq != mark:
                return
            for key, value in zip(keys, values, strict=True):
                if isinstance(value, bytes):
                    self._keep(key, value)

    def write(self, assignments: Sequence[tuple[str, str, int | None]]) -> bool:
        """SET each (key, value, ttl seconds or None) in Redis through the
        tracking connection and keep the values; False when not running (the
        caller writes another way).

        Redis answers on the connection that carries the messages, after the
        messages of every earlier change: the values kept are exactly what
        Redis holds at that point, and later changes still drop them. Raises
        the redis-py error when the connection fails (the mirror then stops).
        """
        with self._lock:
            if not self._drain():
                return False
            conn = self._conn
            commands = [
                ("SET", key, value) if ttl is None else ("SET", key, value, "EX", ttl)
                for key, value, ttl in assignments
            ]
            # Messages may come before and after the replies; the handler
            # applies those read along the way, the last loop those behind.
            self._draining += 1
            try:
                if self._ping_sent_at is not None:
                    # The PONG of an earlier PING comes before the replies.
                    conn.read_response(timeout=_READ_TIMEOUT_S)
                    self._proven_at, self._ping_sent_at = self._ping_sent_at, None
                conn.send_packed_command(conn.pack_commands(commands))
                for _ in commands:
                    # An error reply (out of memory, READONLY) raises here.
                    conn.read_response(timeout=_READ_TIMEOUT_S)
                self._apply_received(conn)
            except Exception:
                self._close_locked()
                raise
            finally:
                self._draining += 1
            self._seq += 1
            for key, value, _ in assignments:
                self._keep(key, value.encode())
            return True

    # -- under self._lock --------------------------------------------------

    def _drain(self) -> bool:
        """Apply every message received so far and note the time in
        `_used_at`; False when not running."""
        conn = self._conn
        if conn is None:
            return False
        now = self._clock()
        if now - self._used_at > IDLE_S:
            # A backlog of broadcasts from an idle period costs more to read
            # than a new connection; the caller asks Redis this time.
            self._close_locked()
            return False
        self._used_at = now
        self._draining += 1
        try:
            self._apply_received(conn)
            if self._ping_sent_at is None and now - self._proven_at >= PING_EVERY_S:
                conn.send_command("PING")
                self._ping_sent_at = now
        except Exception as err:
            # Debug only: when Redis itself is down the cache logs the outage.
            log.debug(
                "cache generation tracking connection lost",
                extra={
                    "event": "cache_tracking_lost",
                    "error_type": type(err).__name__,
                },
            )
            self._close_locked()
            return False
        finally:
            self._draining += 1
        return True

    def _apply_received(self, conn: Any) -> None:
        """Apply every message received so far, the buffered ones included."""
        while conn.can_read(0):
            reply = conn.read_response(push_request=True, timeout=_READ_TIMEOUT_S)
            # Pushes go to the handler and come back as None. The only reply
            # expected is the PONG, which proves every earlier message arrived;
            # anything else means replies and requests no longer pair up.
            if reply is None:
                continue
            if self._ping_sent_at is None:
                raise RuntimeError(
                    f"unexpected reply on the tracking connection: {reply!r}"
                )
            self._proven_at, self._ping_sent_at = self._ping_sent_at, None

    def _keep(self, key: str, value: bytes) -> None:
        values = self._values
        if key not in values and len(values) >= self._max_keys:
            del values[next(iter(values))]  # the oldest: a miss costs one MGET
        values[key] = value

    def _on_invalidate(self, message: list[Any]) -> None:
        keys = message[1] if len(message) > 1 else None
        self._seq += 1
        if keys is None:  # FLUSHALL / FLUSHDB: everything may have changed
            self._values.clear()
            return
        for key in keys:
            self._values.pop(key.decode() if isinstance(key, bytes) else key, None)

    def _close_locked(self) -> None:
        conn, self._conn = self._conn, None
        self._fd = None
        self._values.clear()
        self._seq += 1
        self._ping_sent_at = None
        if conn is not None:
            try:
                conn.disconnect()
            except Exception:
                log.debug("closing the tracking connection failed")
