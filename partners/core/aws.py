"""boto3 sessions and clients, made once per process (Lambda reuses them across invocations)."""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config

# Standard retry mode: exponential backoff with jitter on throttling and 5xx, which is
# what every caller in the gateway wants for temporary failures.
CLIENT_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5},
                       connect_timeout=5, read_timeout=30)


def session_or_default(session: boto3.session.Session | None) -> boto3.session.Session:
    return session or boto3.session.Session()


def client(service: str, session: boto3.session.Session | None = None, **kwargs: Any) -> Any:
    """A boto3 client with the gateway's retry config; honours `AWS_ENDPOINT_URL`."""
    # Typed loosely on purpose: the stubs overload on each service's literal name.
    factory: Any = session_or_default(session)
    return factory.client(service, config=CLIENT_CONFIG, **kwargs)


def resource(service: str, session: boto3.session.Session | None = None) -> Any:
    factory: Any = session_or_default(session)
    return factory.resource(service, config=CLIENT_CONFIG)


def error_code(error: Exception) -> str:
    """The AWS error code of a botocore `ClientError`, or '' for anything else."""
    response = getattr(error, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))
