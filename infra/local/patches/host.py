"""Where the calls the runtime hooks take go: the local runtime attached to moto, or nobody.

The hooking patches (`Rule.send_to_targets`, `LambdaFunction.invoke`,
`LambdaBackend.send_dynamodb_items`, GetUsage's recorder) stay installed for the life of the
process and ask `attached()` on every call: with a runtime attached they hand the call to it,
without one they give moto's own behaviour, exactly as if nothing were patched. The runtime
attaches itself when it starts and detaches when it stops (`LocalRuntime.start`/`stop`).
"""

from __future__ import annotations

import threading
from typing import Any, Callable, Mapping, Protocol


class StreamWaker(Protocol):
    def notify(self) -> None: ...


class LogSubscriber(Protocol):
    def deliver(self, function_arn: str, filter_name: str, log_group: str, log_stream: str,
                log_events: Any) -> None: ...


class UsageMeter(Protocol):
    def used(self, key_value: str, day: Any) -> int: ...


class Host(Protocol):
    """What the hooking patches need of the local runtime."""

    @property
    def streams(self) -> StreamWaker: ...

    @property
    def usage(self) -> UsageMeter: ...

    @property
    def log_subscriptions(self) -> LogSubscriber: ...

    def route(self, rule: Any, moto_event: Mapping[str, Any]) -> None: ...

    def serve_invoke(self, function: Any, body: Any, request_headers: Any,
                     response_headers: Any) -> bytes: ...

    # OAuth connections: fetch a token in the background, then `done(authorized, reason)`
    # (moto_connections asks for it with getattr, so a host without it is allowed).
    def authorize_connection(self, connection_arn: str, auth_parameters: Mapping[str, Any],
                             done: Callable[[bool, str], None]) -> None: ...


_host: Host | None = None
_lock = threading.Lock()


def attach(host: Host) -> None:
    """Send hooked calls to `host` from now on.

    Raises:
        RuntimeError: another host is attached (one runtime per process).
    """
    global _host
    with _lock:
        if _host is not None and _host is not host:
            raise RuntimeError("another local runtime is attached to moto in this process")
        _host = host


def detach(host: Host) -> None:
    """Give hooked calls back to moto (if `host` is the one attached)."""
    global _host
    with _lock:
        if _host is host:
            _host = None


def attached() -> Host | None:
    """The host hooked calls go to, or None (moto's own behaviour)."""
    return _host
