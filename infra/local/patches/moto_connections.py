"""Patches of moto's EventBridge connections: the authorisation states EventBridge has.

moto 5.2.5 answers every connection `AUTHORIZED` at once, whatever its credentials, has no
`StateReason` and no `DeauthorizeConnection`. On AWS a connection is usable only once
EventBridge has authorised it (EventBridge User Guide, "Connections for HTTP endpoint
targets", eb-target-connection; "Connection states", eb-target-connection-states; API
reference, `ConnectionState` and `StateReason` of
https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_Connection.html):

- `CreateConnection` answers `CREATING` (API key, Basic) or `AUTHORIZING` (OAuth client
  credentials); `UpdateConnection` answers `UPDATING` / `AUTHORIZING` and re-authorises.
- API key and Basic become `AUTHORIZED` at once (here: by the next Describe/List).
- OAuth becomes `AUTHORIZED` only after EventBridge got a token from the connection's
  authorization endpoint; if the endpoint refuses, `DEAUTHORIZED` with a `StateReason`.
  The token request is the attached runtime's (`Host.authorize_connection`, made as
  EventBridge makes it); without a runtime nobody fetches a token and the connection
  settles `AUTHORIZED` at the next read, as moto alone would say.
- `DeauthorizeConnection` answers `DEAUTHORIZING`, then `DEAUTHORIZED`, and removes the
  authorization parameters (eb-target-connection-deauthorize).

`DescribeConnection` answers `AuthParameters` without the secret values, as AWS does.
"""

from __future__ import annotations

import json
import threading
from typing import Any, Callable

from infra.local.patches.host import attached
from infra.local.patches.registry import MOTO_5_2, Patch

CONNECTION_DOC = "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-target-connection.html"
DEAUTHORIZE_DOC = \
    "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-target-connection-deauthorize.html"

OAUTH = "OAUTH_CLIENT_CREDENTIALS"
AUTHORIZED = "AUTHORIZED"
AUTHORIZING = "AUTHORIZING"
DEAUTHORIZED = "DEAUTHORIZED"
DEAUTHORIZING = "DEAUTHORIZING"
CREATING = "CREATING"
UPDATING = "UPDATING"
# States an API destination can be invoked through (ACTIVE: connections to private APIs).
USABLE_STATES = frozenset({AUTHORIZED, "ACTIVE"})
STATE_REASON_MAX = 512  # ConnectionStateReason's length limit in the API model

# Secret values `DescribeConnection` never returns (ConnectionAuthResponseParameters).
_SECRET_FIELDS = {"ApiKeyAuthParameters": ("ApiKeyValue",), "BasicAuthParameters": ("Password",)}

_lock = threading.RLock()


def _now() -> float:
    from moto.core.utils import unix_time

    return float(unix_time())


def _settle(connection: Any) -> None:
    """A read sees what EventBridge has finished meanwhile (API key/Basic at once)."""
    with _lock:
        state = getattr(connection, "state", AUTHORIZED)
        if state in (CREATING, UPDATING) or (
                state == AUTHORIZING and not getattr(connection, "pgw_in_flight", False)):
            connection.state = AUTHORIZED
            connection.pgw_state_reason = ""
            connection.pgw_last_authorized = _now()
        elif state == DEAUTHORIZING:
            connection.state = DEAUTHORIZED


def connection_state(connection: Any) -> tuple[str, str]:
    """(state, state reason) of a moto connection as a read would show them now."""
    _settle(connection)
    return str(connection.state), str(getattr(connection, "pgw_state_reason", "") or "")


def _finish(connection: Any, generation: int) -> Callable[[bool, str], None]:
    def done(authorized: bool, reason: str = "") -> None:
        with _lock:
            if getattr(connection, "pgw_generation", 0) != generation:
                return  # updated, deauthorized or deleted meanwhile: that answer is stale
            connection.pgw_in_flight = False
            if authorized:
                connection.state = AUTHORIZED
                connection.pgw_state_reason = ""
                connection.pgw_last_authorized = _now()
            else:
                connection.state = DEAUTHORIZED
                connection.pgw_state_reason = (reason or "authorization failed")[
                    :STATE_REASON_MAX]
    return done


def begin_authorization(connection: Any, *, updating: bool = False) -> None:
    """Put a created or updated connection in its first state and start authorising it."""
    with _lock:
        generation = connection.pgw_generation = getattr(connection, "pgw_generation", 0) + 1
        connection.pgw_state_reason = ""
        connection.pgw_last_modified = _now()
        connection.pgw_in_flight = False
        if connection.authorization_type != OAUTH:
            connection.state = UPDATING if updating else CREATING
            return
        connection.state = AUTHORIZING
        authorize = getattr(attached(), "authorize_connection", None)
        if authorize is None:
            return  # no runtime to fetch a token: settles AUTHORIZED at the next read
        connection.pgw_in_flight = True
    try:
        authorize(connection.arn, json.loads(json.dumps(connection.auth_parameters or {})),
                  _finish(connection, generation))
    except Exception as error:  # the runtime could not even start: report it, do not hang
        _finish(connection, generation)(False, f"authorization could not start: "
                                               f"{type(error).__name__}")


def mark_deauthorized(connection: Any, reason: str) -> None:
    """EventBridge de-authorised the connection while using it (an OAuth token it could not
    refresh, eb-target-connection-deauthorize): DEAUTHORIZED with `reason`, until updated."""
    with _lock:
        connection.pgw_generation = getattr(connection, "pgw_generation", 0) + 1
        connection.pgw_in_flight = False
        connection.state = DEAUTHORIZED
        connection.pgw_state_reason = (reason or "deauthorized")[:STATE_REASON_MAX]
        connection.pgw_last_modified = _now()


def _short(connection: Any) -> dict[str, Any]:
    answer = {"ConnectionArn": connection.arn, "ConnectionState": connection.state,
              "CreationTime": connection.creation_time,
              "LastModifiedTime": getattr(connection, "pgw_last_modified",
                                          connection.creation_time)}
    if getattr(connection, "pgw_last_authorized", None) is not None:
        answer["LastAuthorizedTime"] = connection.pgw_last_authorized
    return answer


def _public_parameters(parameters: dict[str, Any]) -> dict[str, Any]:
    """`AuthParameters` as DescribeConnection shows them: names, never secret values."""
    shown = json.loads(json.dumps(parameters or {}))
    for key, fields in _SECRET_FIELDS.items():
        for name in fields:
            (shown.get(key) or {}).pop(name, None)
    (shown.get("OAuthParameters") or {}).get("ClientParameters", {}).pop("ClientSecret", None)
    return shown


def connection_states() -> None:
    """Connections go CREATING/AUTHORIZING -> AUTHORIZED or DEAUTHORIZED, as on AWS.

    Targets moto >=5.2.5,<5.3: `moto.events.models.Connection.__init__`, `.describe`,
    `.describe_short`; `EventsBackend.update_connection`; `EventsHandler.create_connection`
    and `.list_connections` (which answer a fixed `AUTHORIZED`).
    AWS: see the module docstring (eb-target-connection, eb-target-connection-states,
    API_Connection's `ConnectionState` and `StateReason`).
    Why: moto says `AUTHORIZED` for every connection, so a reconciler that creates the API
    destination before its OAuth connection is authorised passed here and failed on AWS.
    Follows: https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-target-connection.html
    """
    from moto.events.models import Connection, EventsBackend
    from moto.events.responses import EventsHandler

    original_init = Connection.__init__
    original_update = EventsBackend.update_connection

    def __init__(connection: Any, *args: Any, **kwargs: Any) -> None:
        original_init(connection, *args, **kwargs)
        begin_authorization(connection)

    def describe(connection: Any) -> dict[str, Any]:
        state, reason = connection_state(connection)
        answer = {**_short(connection), "AuthorizationType": connection.authorization_type,
                  "AuthParameters": _public_parameters(connection.auth_parameters),
                  "Description": connection.description, "Name": connection.name,
                  "SecretArn": connection.secret_arn, "ConnectionState": state}
        if reason:
            answer["StateReason"] = reason
        return answer

    def update_connection(backend: Any, name: str, **kwargs: Any) -> dict[str, Any]:
        original_update(backend, name, **kwargs)
        connection = backend.connections[name]
        begin_authorization(connection, updating=True)
        return _short(connection)

    def create_connection(handler: Any) -> tuple[str, dict[str, Any]]:
        connection = handler.events_backend.create_connection(
            handler._get_param("Name"), handler._get_param("Description"),
            handler._get_param("AuthorizationType"), handler._get_param("AuthParameters"))
        return json.dumps(_short(connection)), handler.response_headers

    def list_connections(handler: Any) -> tuple[str, dict[str, Any]]:
        wanted_prefix = handler._get_param("NamePrefix") or ""
        wanted_state = handler._get_param("ConnectionState")
        listed = []
        for connection in handler.events_backend.list_connections():
            state, reason = connection_state(connection)
            if not connection.name.startswith(wanted_prefix) or (
                    wanted_state and state != wanted_state):
                continue
            entry = {**_short(connection), "Name": connection.name, "ConnectionState": state,
                     "AuthorizationType": connection.authorization_type}
            if reason:
                entry["StateReason"] = reason
            listed.append(entry)
        return json.dumps({"Connections": listed}), handler.response_headers

    Connection.__init__ = __init__  # type: ignore[method-assign,assignment]
    Connection.describe = describe  # type: ignore[method-assign,assignment]
    Connection.describe_short = _short  # type: ignore[method-assign,assignment]
    EventsBackend.update_connection = update_connection  # type: ignore[method-assign,assignment]
    EventsHandler.create_connection = create_connection  # type: ignore[method-assign,assignment]
    EventsHandler.list_connections = list_connections  # type: ignore[method-assign,assignment]


def deauthorize_connections() -> None:
    """`DeauthorizeConnection`: DEAUTHORIZING, then DEAUTHORIZED, authorization removed.

    Targets moto >=5.2.5,<5.3: adds `EventsHandler.deauthorize_connection` (moto answers the
    action as not implemented).
    AWS: de-authorizing removes all authorization parameters; the connection stays
    DEAUTHORIZED until `UpdateConnection` gives it new ones, and calls through it fail.
    Why: the product and its tests need a way to de-authorize a connection on purpose.
    Follows: https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-target-connection-deauthorize.html
    """
    from moto.events.exceptions import ResourceNotFoundException
    from moto.events.responses import EventsHandler

    def deauthorize_connection(handler: Any) -> tuple[str, dict[str, Any]]:
        name = handler._get_param("Name")
        connection = handler.events_backend.connections.get(name)
        if connection is None:
            raise ResourceNotFoundException(f"Connection '{name}' does not exist.")
        with _lock:
            connection.pgw_generation = getattr(connection, "pgw_generation", 0) + 1
            connection.pgw_in_flight = False
            connection.state = DEAUTHORIZING
            connection.pgw_state_reason = "deauthorized by DeauthorizeConnection"
            connection.pgw_last_modified = _now()
            connection.auth_parameters = {}
        return json.dumps(_short(connection)), handler.response_headers

    EventsHandler.deauthorize_connection = deauthorize_connection  # type: ignore[attr-defined]


PATCHES = (
    Patch(connection_states, (MOTO_5_2,), CONNECTION_DOC),
    Patch(deauthorize_connections, (MOTO_5_2,), DEAUTHORIZE_DOC),
)
