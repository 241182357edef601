"""Patches of moto's request plumbing, shared by every service (speed only, same answers).

Profiling the embedded stack's delivery path found two per-request costs of moto's server
that it cannot afford; each patch below keeps every answer as moto gives it.
"""

from __future__ import annotations

from typing import Any

from infra.local.patches.registry import MOTO_5_2, Patch


def remember_host_lookups() -> None:
    """Remember moto's host -> service answer per host name.

    Targets moto >=5.2.5,<5.3: `moto.moto_server.werkzeug_app.DomainDispatcherApplication.
    get_backend_for_host`.
    Why: moto's server finds the service of every request by listing moto's package
    directory and matching the host against every service's URL patterns, under one
    process-wide lock; about a fifth of the stack's time went there. The answer depends on
    the host name alone (one endpoint host per service, as AWS's endpoints are) and never
    changes, so it is remembered.
    Follows: https://docs.aws.amazon.com/general/latest/gr/rande.html
    """
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


def read_known_accounts_without_lock() -> None:
    """`BackendDict[account]` without moto's lock once the account's backend exists.

    Targets moto >=5.2.5,<5.3: `moto.core.base_backend.BackendDict.__getitem__`.
    Why: every `backends[account]` (each request, each runtime delivery) takes moto's
    process-wide backend lock and walks every service's backends, although the account's
    backend exists after the first time. moto adds the account and registers the dict under
    its lock, and a reset clears both, so an existing entry is read without the lock, as moto
    itself reads a region's backend (`AccountSpecificBackend.__getitem__`). Resources stay
    per account, as an ARN's account field says.
    Follows: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html
    """
    from moto.core.base_backend import BackendDict

    original = BackendDict.__getitem__

    def getitem(self: Any, account_id: str) -> Any:
        backend = dict.get(self, account_id)
        if backend is not None:
            return backend
        return original(self, account_id)

    BackendDict.__getitem__ = getitem  # type: ignore[method-assign]


PATCHES = (
    Patch(remember_host_lookups, (MOTO_5_2,),
          "https://docs.aws.amazon.com/general/latest/gr/rande.html"),
    Patch(read_known_accounts_without_lock, (MOTO_5_2,),
          "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html"),
)
