"""Who is calling: each function's own credentials, and the role statements they stand for.

On AWS the Lambda service hands each function's execution environment temporary credentials
of the function's execution role (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
`AWS_SESSION_TOKEN`); every client the function makes signs with them, and IAM decides each
request by that role's policies. Here every function runs in one process whose environment
holds the operator's credentials, so the same effect takes two small hooks:

- `acting_as(function)` marks the code that runs *as* a function (the runtime wraps every
  invocation, init phase included; the embedded stack wraps the console's app and requests);
- while it is active, every botocore client made without explicit credentials gets the
  function's credentials (`botocore.session.Session.create_client`), and every thread
  started inside it runs as the function too (`threading.Thread.start`), so clients a
  function makes in its own threads sign as it, and a client keeps its identity wherever it
  is used later.

The AWS side (`infra.local.patches.moto_iam`) finds the principal by the access key id a
request is signed with, and authorises it against the principal's statements. Product code
learns nothing of this: it makes clients as it does on Lambda.

AWS documentation followed:
https://docs.aws.amazon.com/lambda/latest/dg/lambda-intro-execution-role.html
https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime
"""

from __future__ import annotations

import base64
import contextvars
import hashlib
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Mapping, Sequence

import botocore.session

Statement = Mapping[str, Any]
StatementSource = Callable[[], Sequence[Statement]]


def access_key_for(function: str) -> str:
    """A stable, AWS-shaped temporary access key id for a function (`ASIA` + 16 characters)."""
    digest = base64.b32encode(hashlib.sha256(function.encode()).digest()).decode()
    return "ASIA" + digest[:16]


@dataclass
class Principal:
    """A function and its role: its credentials, and its statements (resolved once)."""

    function: str
    role: str
    account: str
    source: StatementSource
    access_key: str = ""
    _statements: tuple[Statement, ...] | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    # Decisions already made, by (action, resource, context): the statements never change,
    # and most requests repeat an action on the same resource.
    decisions: dict[Any, Any] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.access_key = self.access_key or access_key_for(self.function)

    @property
    def secret_key(self) -> str:
        return hashlib.sha256(f"secret:{self.function}".encode()).hexdigest()[:40]

    @property
    def arn(self) -> str:
        """The assumed-role session ARN AWS names in its errors."""
        return f"arn:aws:sts::{self.account}:assumed-role/{self.role}/{self.function}"

    @property
    def statements(self) -> tuple[Statement, ...]:
        """The role's statements, resolved on first use and kept (the role does not change)."""
        if self._statements is None:
            with self._lock:
                if self._statements is None:
                    self._statements = tuple(self.source())
        return self._statements


class Principals:
    """The functions the AWS side knows by access key id."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_key: dict[str, Principal] = {}
        self._by_function: dict[str, Principal] = {}

    def register(self, principal: Principal) -> Principal:
        with self._lock:
            old = self._by_function.pop(principal.function, None)
            if old is not None:
                self._by_key.pop(old.access_key, None)
            self._by_key[principal.access_key] = principal
            self._by_function[principal.function] = principal
        return principal

    def clear(self) -> None:
        with self._lock:
            self._by_key.clear()
            self._by_function.clear()

    def by_key(self, access_key: str) -> Principal | None:
        return self._by_key.get(access_key)

    def by_function(self, function: str) -> Principal | None:
        return self._by_function.get(function)

    def __len__(self) -> int:
        return len(self._by_key)


# The process's principals: one embedded stack per process.
PRINCIPALS = Principals()

_current: contextvars.ContextVar[Principal | None] = contextvars.ContextVar(
    "pgw_local_principal", default=None)


def current() -> Principal | None:
    """The principal the running code acts as (None: the operator, with its own keys)."""
    return _current.get()


@contextmanager
def acting_as(function: str) -> Iterator[Principal | None]:
    """Run the block as `function` (no change when it has no registered principal)."""
    principal = PRINCIPALS.by_function(function)
    if principal is None:
        yield None
        return
    token = _current.set(principal)
    try:
        yield principal
    finally:
        _current.reset(token)


def acting_app(app: Callable[..., Any], function: str) -> Callable[..., Any]:
    """A WSGI app whose every request runs as `function` (the console, served in-process)."""
    def wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        with acting_as(function):
            return app(environ, start_response)
    return wsgi


def _explicit(session: Any) -> bool:
    """Whether the botocore session was given credentials (not resolved from the environment)."""
    credentials = getattr(session, "_credentials", None)
    return credentials is not None and getattr(credentials, "method", None) in (None, "explicit")


_installed = False
_install_lock = threading.Lock()


def install_credential_hooks() -> None:
    """Give clients and threads made while acting as a function that function's identity.

    Idempotent and process-wide; outside `acting_as` nothing changes (the operator's
    clients, the runtime's, a test's keep their own credentials).
    """
    global _installed
    with _install_lock:
        if _installed:
            return
        original_create_client = botocore.session.Session.create_client
        original_start = threading.Thread.start

        def create_client(self: Any, *args: Any, **kwargs: Any) -> Any:
            principal = _current.get()
            if principal is not None and kwargs.get("aws_access_key_id") is None \
                    and len(args) < 7 and not _explicit(self):
                kwargs.update(aws_access_key_id=principal.access_key,
                              aws_secret_access_key=principal.secret_key,
                              aws_session_token=f"session-{principal.function}")
            return original_create_client(self, *args, **kwargs)

        def start(self: threading.Thread) -> None:
            principal = _current.get()
            if principal is not None:
                run = self.run

                def run_as_principal() -> None:
                    _current.set(principal)  # this thread's own context
                    run()

                self.run = run_as_principal  # type: ignore[method-assign]
            original_start(self)

        botocore.session.Session.create_client = create_client  # type: ignore[method-assign]
        threading.Thread.start = start  # type: ignore[method-assign]
        _installed = True


__all__ = ["PRINCIPALS", "Principal", "Principals", "access_key_for", "acting_app", "acting_as",
           "current", "install_credential_hooks"]
