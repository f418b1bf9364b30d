"""A throwaway Redis server for the tests, on a free loopback port.

:func:`throwaway_redis` starts Debian's ``redis-server`` (``apt-get install
redis-server``; ``$WPS_REDIS_SERVER`` names another binary) with nothing saved to
disk, waits until it answers, yields its URL, and stops it afterwards whatever
happened. :func:`find_redis_server` says why it cannot run here.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["RedisUnavailable", "find_redis_server", "throwaway_redis"]


class RedisUnavailable(Exception):
    """No Redis server can be started here; the message says why and what to install."""


def find_redis_server() -> str:
    """The path of ``redis-server``, or :class:`RedisUnavailable`."""
    path = os.environ.get("WPS_REDIS_SERVER") or shutil.which("redis-server")
    if path is None and os.path.exists("/usr/bin/redis-server"):
        path = "/usr/bin/redis-server"
    if path is None:
        raise RedisUnavailable(
            "redis-server is not installed (Debian: apt-get install redis-server; or set "
            "WPS_REDIS_SERVER to its path)"
        )
    return path


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as connection:
            connection.sendall(b"PING\r\n")
            return connection.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@contextmanager
def throwaway_redis(timeout: float = 20) -> Iterator[str]:
    """Start a Redis server; yield its URL (``redis://127.0.0.1:<port>/0``); stop it."""
    binary = find_redis_server()
    port = _free_port()
    with tempfile.TemporaryDirectory(prefix="wps-redis-") as directory:
        process = subprocess.Popen(
            [
                binary,
                "--bind",
                "127.0.0.1",
                "--port",
                str(port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                directory,
                "--protected-mode",
                "yes",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + timeout
            while not _answers(port):
                if process.poll() is not None:
                    raise RedisUnavailable(f"redis-server exited with status {process.returncode}")
                if time.monotonic() > deadline:
                    raise RedisUnavailable(f"redis-server did not answer within {timeout} s")
                time.sleep(0.05)
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
