"""A JSON webhook on 127.0.0.1 that records what apprise (or anything else) POSTs to it.

One home for the sink the alert, report, flow, check-in and crash tests deliver to. It answers
500 to the first ``fail_first`` requests (a failing channel), and it stops within ~50 ms
(``serve_forever``'s default poll of 0.5 s made every test that closed one wait half a second).
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class Webhook:
    """Records every POST as ``(path, raw body)``; ``fail_first`` requests get a 500 and are not recorded."""

    def __init__(self, fail_first: int = 0) -> None:
        self.fail_first = fail_first
        self.raw: list[tuple[str, bytes]] = []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if hook.fail_first > 0:
                    hook.fail_first -= 1
                    self.send_response(500)
                    self.end_headers()
                    return
                hook.raw.append((self.path, body))
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def url(self, path: str = "hook") -> str:
        """The apprise URL that delivers JSON to ``/path`` here."""
        return f"json://127.0.0.1:{self.port}/{path}"

    @property
    def paths(self) -> list[str]:
        return [p for p, _ in self.raw]

    @property
    def received(self) -> list[dict]:
        """Every delivered body, parsed, in arrival order."""
        return [json.loads(b or b"{}") for _, b in self.raw]

    def to(self, path: str) -> list[dict]:
        """The bodies delivered to a path ending in ``path``."""
        return [json.loads(b or b"{}") for p, b in self.raw if p.rstrip("/").endswith(path)]

    def titles(self, path: str) -> Counter:
        """How often each title was delivered to exactly ``path``."""
        return Counter(json.loads(b or b"{}").get("title", "") for p, b in self.raw if p == path)

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> Webhook:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
