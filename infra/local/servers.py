"""Serve a WSGI app on loopback in a background thread (werkzeug's threaded server)."""

from __future__ import annotations

import socket
import threading
from typing import Any, Callable

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

LOOPBACK = "127.0.0.1"


def free_port(host: str = LOOPBACK) -> int:
    """A TCP port nobody listens on right now (for tests and benchmarks)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


class ServerThread:
    """One WSGI app served on `host:port` until `stop()`; `port=0` picks a free port."""

    def __init__(self, app: Callable[..., Any], port: int = 0, *, host: str = LOOPBACK,
                 name: str = "wsgi", request_handler: type[WSGIRequestHandler] | None = None):
        self.app = app
        self.host = host
        self.name = name
        self._server: BaseWSGIServer = make_server(host, port, app, threaded=True,
                                                   request_handler=request_handler)
        # Many short connections (EventBridge sends `Connection: close`): a deep backlog keeps
        # bursts from being refused while handler threads start.
        self._server.socket.listen(256)
        self.port = int(self._server.server_port)
        self._thread = threading.Thread(target=self._server.serve_forever, name=f"{name}:{self.port}",
                                        kwargs={"poll_interval": 0.2}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> ServerThread:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
