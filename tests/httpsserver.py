"""An HTTPS server on 127.0.0.1 for tests: routes by Host and path, a certificate made in the test.

Each route is ``(host, path) -> Route``; ``delay`` stalls an answer (for timeouts).
"""

from __future__ import annotations

import ssl
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


@dataclass
class Route:
    """What to answer for one URL."""

    body: bytes = b""
    status: int = 200
    content_type: str | None = "text/plain"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    chunked: bool = False


class HttpsServer:
    """``with HttpsServer(cert_chain, key) as server: server.routes[(host, path)] = Route(...)``."""

    def __init__(self, chain_file: Path, key_file: Path, host: str = "127.0.0.1") -> None:
        self.routes: dict[tuple[str, str], Route] = {}
        self.requests: list[tuple[str, str]] = []
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(chain_file, key_file)
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                host = (self.headers.get("Host") or "").lower()
                outer.requests.append((host, self.path))
                route = outer.routes.get((host, self.path))
                if route is None:
                    route = Route(b"not found\n", status=404)
                if route.delay:
                    time.sleep(route.delay)
                self.send_response(route.status)
                if route.content_type is not None:
                    self.send_header("Content-Type", route.content_type)
                for name, value in route.headers.items():
                    self.send_header(name, value)
                if route.chunked:
                    self.send_header("Transfer-Encoding", "chunked")
                else:
                    self.send_header("Content-Length", str(len(route.body)))
                self.send_header("Connection", "close")
                self.end_headers()
                if route.chunked:
                    for start in range(0, len(route.body), 100):
                        piece = route.body[start : start + 100]
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                    self.wfile.write(b"0\r\n\r\n")
                else:
                    self.wfile.write(route.body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def get_request(self):  # type: ignore[no-untyped-def]
                sock, addr = self.socket.accept()
                sock.settimeout(10)
                return context.wrap_socket(
                    sock, server_side=True, do_handshake_on_connect=False
                ), addr

            def handle_error(self, request, client_address) -> None:  # type: ignore[no-untyped-def]
                pass  # a client that gave up (a timeout test) is not a server failure

        self._server = Server((host, 0), Handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> HttpsServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
