"""The console on AWS Lambda: API Gateway events in, WSGI out (apig-wsgi).

The app is built once per container, from the environment variables `infra/spec.py`
produces (`partners.core.constants.Env`) and the `FLASK_*` ones (the session key).
"""

from __future__ import annotations

from typing import Any

from apig_wsgi import make_lambda_handler

from console import create_app

app = create_app()
_handler = make_lambda_handler(app, binary_support=True)


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
    return _handler(event, context)
