"""A provider on loopback that a test can make answer, fail, hang, or recover.

:func:`provider_stub` starts a threaded HTTP server on a free port and yields a
:class:`ProviderStub`: ``stub.url`` is what a plugin instance calls;
``stub.mode`` is ``"ok"`` (200, body ``ok``), ``"fail"`` (503 at once) or
``"hang"`` (answers 503 after ``stub.hang`` seconds); ``stub.hits`` counts the
requests that reached it, per mode, and ``stub.log`` lists when each arrived.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

__all__ = ["ProviderStub", "provider_stub"]


class ProviderStub:
    def __init__(self, url: str) -> None:
        self.url = url
        self.mode = "ok"
        self.hang = 0.2
        self.hits: Counter[str] = Counter()
        #: (mode, monotonic time) of each request, in arrival order.
        self.log: list[tuple[str, float]] = []
        self.lock = threading.Lock()

    def set(self, mode: str, hang: float | None = None) -> None:
        with self.lock:
            self.mode = mode
            if hang is not None:
                self.hang = hang

    def count(self, mode: str) -> int:
        with self.lock:
            return self.hits[mode]


@contextmanager
def provider_stub() -> Iterator[ProviderStub]:
    stub: ProviderStub

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            with stub.lock:
                mode, hang = stub.mode, stub.hang
                stub.hits[mode] += 1
                stub.log.append((mode, time.monotonic()))
            if mode == "hang":
                time.sleep(hang)
            status = 200 if mode == "ok" else 503
            body = b"ok" if mode == "ok" else b"unavailable"
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    stub = ProviderStub(f"http://127.0.0.1:{server.server_address[1]}/")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield stub
    finally:
        server.shutdown()
        server.server_close()
