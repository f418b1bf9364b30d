"""A throwaway memcached server, on a free loopback port.

:func:`throwaway_memcached` starts Debian's ``memcached`` (``apt-get install
memcached``; ``$WPS_MEMCACHED_SERVER`` names another binary) listening on
127.0.0.1 only, with UDP off, waits until it answers, yields its address
(``127.0.0.1:<port>``, what Django's ``PyMemcacheCache`` takes as its
``LOCATION``), and stops it afterwards whatever happened; the directory it
ran in is removed with it. :func:`find_memcached` says why it cannot run here.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["MemcachedUnavailable", "find_memcached", "throwaway_memcached"]


class MemcachedUnavailable(Exception):
    """No memcached server can be started here; the message says why and what to install."""


def find_memcached() -> str:
    """The path of ``memcached``, or :class:`MemcachedUnavailable`."""
    path = os.environ.get("WPS_MEMCACHED_SERVER") or shutil.which("memcached")
    if path is None and os.path.exists("/usr/bin/memcached"):
        path = "/usr/bin/memcached"
    if path is None:
        raise MemcachedUnavailable(
            "memcached is not installed (Debian: apt-get install memcached; or set "
            "WPS_MEMCACHED_SERVER to its path)"
        )
    if not os.access(path, os.X_OK):
        raise MemcachedUnavailable(f"{path} (memcached) is not an executable file")
    return path


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as connection:
            connection.sendall(b"version\r\n")
            return connection.recv(64).startswith(b"VERSION ")
    except OSError:
        return False


def _run_as() -> list[str]:
    """memcached refuses to run as root without ``-u``: drop to ``nobody`` when it exists."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam("nobody")
    except KeyError:
        return ["-u", "root"]
    return ["-u", "nobody"]


@contextmanager
def throwaway_memcached(timeout: float = 20, memory_mb: int = 64) -> Iterator[str]:
    """Start a memcached server; yield its address (``127.0.0.1:<port>``); stop it."""
    binary = find_memcached()
    port = _free_port()
    with tempfile.TemporaryDirectory(prefix="wps-memcached-") as directory:
        try:
            process = subprocess.Popen(
                [
                    binary,
                    "--listen=127.0.0.1",
                    f"--port={port}",
                    "--udp-port=0",
                    f"--memory-limit={memory_mb}",
                    *_run_as(),
                ],
                cwd=directory,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.STDOUT,
            )
        except OSError as exc:
            raise MemcachedUnavailable(f"memcached could not be started: {exc}") from exc
        try:
            deadline = time.monotonic() + timeout
            while not _answers(port):
                if process.poll() is not None:
                    raise MemcachedUnavailable(f"memcached exited with status {process.returncode}")
                if time.monotonic() > deadline:
                    raise MemcachedUnavailable(f"memcached did not answer within {timeout} s")
                time.sleep(0.05)
            yield f"127.0.0.1:{port}"
        finally:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
