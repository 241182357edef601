"""The console on AWS Lambda: API Gateway events in, WSGI out (apig-wsgi).

The Flask app is built once per execution environment, on the first invocation (like every
handler's dependencies, `handlers.wiring`), from the environment variables `infra/spec.py`
produces (`partners.core.constants.Env`) and the `FLASK_*` ones (the session key). Built at
the first invocation rather than at import, the console answers exactly as before: the
settings are the function's, the same at both moments, and one app serves the environment's
whole life (its generated session key too, where `FLASK_SECRET_KEY` is unset); only a
missing setting now fails that invocation instead of the init phase.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from apig_wsgi import make_lambda_handler
from flask import Flask

from console import create_app
from handlers.snapshots import prepare_for_snapshot
from handlers.wiring import Wiring


@dataclass(frozen=True)
class Console:
    """The Flask app and the apig-wsgi adapter in front of it."""

    app: Flask
    handler: Callable[[dict[str, Any], Any], dict[str, Any]]


def build_console() -> Console:
    """The console of this stage, from the function's environment variables.

    Returns
    -------
    The app and its API Gateway adapter (binary bodies base64-encoded).

    Raises
    ------
    RuntimeError: a required setting (table, bus, user pool) is missing.
    """
    app = create_app()
    return Console(app, make_lambda_handler(app, binary_support=True))


dependencies: Wiring[Console] = Wiring(build_console)
# SnapStart: built before the snapshot, entropy reseeded after each restore.
prepare_for_snapshot(dependencies)


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Serve one API Gateway (REST or HTTP API) event with the Flask console.

    Parameters
    ----------
    event: the API Gateway proxy event.
    context: the Lambda context.

    Returns
    -------
    The proxy response (status, headers, body).
    """
    return dependencies.get().handler(event, context)
