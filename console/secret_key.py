"""The console's Flask session key, read from Secrets Manager once per execution environment.

The function's environment holds only the secret's name or ARN (`PGW_CONSOLE_SESSION_SECRET`);
the key itself lives in Secrets Manager (the Pulumi program stores the stack's
`consoleSessionSecret` there, the embedded stack a generated one), so it is in no Lambda
configuration, log or console page. The version labelled `AWSPREVIOUS`, when there is one,
becomes Flask's `SECRET_KEY_FALLBACKS`: after a key rotation the sessions signed with the
old key stay valid until they expire instead of signing everyone out.
https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_GetSecretValue.html
https://flask.palletsprojects.com/en/stable/config/#SECRET_KEY_FALLBACKS
"""

from __future__ import annotations

from dataclasses import dataclass, field

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from partners.core.aws import client, error_code

# A signing key shorter than this is refused (the program's README generates 64 characters).
MINIMUM_KEY_LENGTH = 32


class SessionKeyError(RuntimeError):
    """The session key secret cannot be read or holds no usable key; names the secret, never
    its value."""

    def __init__(self, secret_id: str, reason: str):
        super().__init__(f"the console's session key secret {secret_id} {reason}")
        self.secret_id = secret_id
        self.reason = reason


@dataclass(frozen=True)
class SessionKeys:
    """The key that signs new sessions, and earlier keys that still verify old ones."""

    current: str = field(repr=False)
    previous: tuple[str, ...] = field(default=(), repr=False)


def read_session_keys(secret_id: str, *,
                      session: boto3.session.Session | None = None) -> SessionKeys:
    """The current (`AWSCURRENT`) and previous (`AWSPREVIOUS`, if any) session keys.

    Raises
    ------
    SessionKeyError: the secret cannot be read, or its value is not a key of at least
        `MINIMUM_KEY_LENGTH` characters.
    """
    secrets = client("secretsmanager", session)
    try:
        current = secrets.get_secret_value(SecretId=secret_id).get("SecretString") or ""
    except (ClientError, BotoCoreError) as error:
        raise SessionKeyError(secret_id, f"cannot be read ({error_code(error) or error})"
                              ) from None
    if len(current) < MINIMUM_KEY_LENGTH:
        raise SessionKeyError(secret_id, f"must hold a key of at least {MINIMUM_KEY_LENGTH} "
                                         "characters")
    try:
        previous = secrets.get_secret_value(SecretId=secret_id, VersionStage="AWSPREVIOUS"
                                            ).get("SecretString") or ""
    except ClientError as error:
        # No earlier version: the secret has never been rotated.
        if error_code(error) != "ResourceNotFoundException":
            raise SessionKeyError(secret_id, f"cannot be read ({error_code(error)})") from None
        previous = ""
    fallbacks = (previous,) if previous and previous != current else ()
    return SessionKeys(current, fallbacks)
