"""A server process started by the tests on a free loopback port."""

from __future__ import annotations

import socket
import subprocess


def free_port() -> int:
    """A loopback TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class LocalProcess:
    """Owns one child process: stop it gently, or kill it as a crash would."""

    def __init__(self) -> None:
        self._proc: subprocess.Popen[bytes] | None = None

    def kill(self) -> None:
        """Kill the process abruptly (SIGKILL), as in a crash."""
        if self._proc is not None:
            self._proc.kill()
            self._proc.wait()
            self._proc = None

    def stop(self) -> None:
        """Ask the process to end; kill it if it has not within 5 s."""
        if self._proc is not None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
            self._proc = None
