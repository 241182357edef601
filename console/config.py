"""The console's settings: defaults here, instance settings from environment variables.

Every resource name comes from the variables named in `partners.core.constants.Env` (their values
are produced by `infra/spec.py`); Flask's own settings come from `FLASK_*` variables
(`FLASK_SESSION_COOKIE_SECURE=false` for the embedded stack's http). The session key is read
from the Secrets Manager secret `PGW_CONSOLE_SESSION_SECRET` names (console/secret_key.py),
never from a plain variable on AWS.
"""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any, Mapping

import boto3

from console.secret_key import read_session_keys
from partners.core.constants import DEFAULT_PARTNER_ENVIRONMENTS, Env

# Settings without which the console cannot serve a page.
REQUIRED = (
    Env.PARTNERS_TABLE, Env.TOKENS_TABLE, Env.AUDIT_TABLE, Env.BUS_NAME, Env.RESOURCE_PREFIX,
    Env.SECRET_PREFIX, Env.USER_POOL_ID, Env.USER_POOL_CLIENT_ID, Env.CONSOLE_SESSIONS_TABLE,
)


class DefaultConfig:
    """Safe defaults: secure cookies, short sessions, CSRF on."""

    SESSION_COOKIE_SECURE = True
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_NAME = "pgw_session"
    REMEMBER_COOKIE_SECURE = True
    REMEMBER_COOKIE_HTTPONLY = True
    # The cookie's idle lifetime, renewed by every response ...
    PERMANENT_SESSION_LIFETIME = timedelta(hours=8)
    # ... and the sign-in's absolute end, which no renewal moves (console/sessions.py).
    SESSION_ABSOLUTE_LIFETIME = timedelta(hours=12)
    WTF_CSRF_TIME_LIMIT = 8 * 3600
    MAX_CONTENT_LENGTH = 256 * 1024
    # How often a logged-in user's groups and account state are re-read from Cognito.
    IDENTITY_RECHECK = timedelta(minutes=5)
    # Requests the filter preview tests against (the issue: the last 50).
    PREVIEW_REQUESTS = 50
    # Failed deliveries read from a DLQ per page view.
    DLQ_PAGE_SIZE = 50


def _truthy(value: str | None) -> bool:
    return str(value or "").strip().lower() in ("1", "true", "yes", "on")


def settings_from_environment(environ: Mapping[str, str] | None = None, *,
                              session: boto3.session.Session | None = None) -> dict[str, Any]:
    """The instance settings: every `Env` variable that is set, under its own name, and the
    session key (`SECRET_KEY`, `SECRET_KEY_FALLBACKS`) from the secret
    `PGW_CONSOLE_SESSION_SECRET` names, when it names one.

    Raises
    ------
    console.secret_key.SessionKeyError: the named secret cannot be read or holds no key.
    """
    environ = os.environ if environ is None else environ
    names = [value for key, value in vars(Env).items() if key.isupper()]
    settings: dict[str, Any] = {name: environ[name] for name in names if name in environ}
    settings.setdefault(Env.PARTNER_ENVIRONMENTS, ",".join(DEFAULT_PARTNER_ENVIRONMENTS))
    if settings.get(Env.CONSOLE_SESSION_SECRET):
        keys = read_session_keys(settings[Env.CONSOLE_SESSION_SECRET], session=session)
        settings["SECRET_KEY"] = keys.current
        settings["SECRET_KEY_FALLBACKS"] = list(keys.previous)
    return settings


def allow_insecure(config: Mapping[str, Any]) -> bool:
    """`PGW_ALLOW_INSECURE_ENDPOINTS`: http and loopback endpoints (the embedded stack only)."""
    value = config.get(Env.ALLOW_INSECURE_ENDPOINTS)
    return value is True or _truthy(value if isinstance(value, str) else None)


def partner_environments(config: Mapping[str, Any]) -> tuple[str, ...]:
    value = config.get(Env.PARTNER_ENVIRONMENTS) or ",".join(DEFAULT_PARTNER_ENVIRONMENTS)
    return tuple(name.strip() for name in str(value).split(",") if name.strip())
