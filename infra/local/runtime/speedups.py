"""Per-request costs of moto's server that the embedded stack cannot afford.

moto's server finds the service of every request by listing moto's package directory and
matching the host against every service's URL patterns, under one process-wide lock
(`DomainDispatcherApplication.get_backend_for_host`). Profiling the embedded stack's
delivery path showed about a fifth of the process's time there. The answer depends on the
host name alone and never changes, so it is remembered per host. Behaviour is unchanged.
"""

from __future__ import annotations

import threading
from typing import Any

_installed = False
_lock = threading.Lock()


def install_server_speedups() -> None:
    """Remember moto's host -> service answer (idempotent, process-wide)."""
    global _installed
    with _lock:
        if _installed:
            return
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication

        original = DomainDispatcherApplication.get_backend_for_host
        known: dict[str, Any] = {}

        def get_backend_for_host(self: Any, host: str | None) -> Any:
            if host is None:
                return None
            backend = known.get(host)
            if backend is None:
                backend = original(self, host)
                if backend is not None:
                    known[host] = backend
            return backend

        DomainDispatcherApplication.get_backend_for_host = get_backend_for_host  # type: ignore[method-assign]
        _installed = True
