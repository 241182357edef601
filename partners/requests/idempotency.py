"""Idempotent commands (the `Idempotency-Key` header) on the `idempotency` table.

Built on Powertools' idempotency utility and its DynamoDB persistence layer: the first call
with a key claims it (a conditional put, status `INPROGRESS`), runs the command and stores its
result; a later call with the same key and the same payload gets that stored result without
running the command again; the same key with another payload is refused. A command that raises
releases its key, so a corrected retry runs.

Commands that append to the request log need none of this: the log keeps each command's id
and payload digest (`partners.requests.commands`), so it is its own idempotency record
(`partners.requests.log.RequestLog.change_status`).
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

import boto3
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyValidationError,
)

from partners.core.aws import CLIENT_CONFIG
from partners.requests.exceptions import IdempotencyInProgressError, IdempotencyKeyReusedError

MAX_KEY_LENGTH = 255


class IdempotentCommands:
    """Run commands at most once per scoped key.

    Parameters
    ----------
    table_name: the `idempotency` table (key `id`, TTL attribute `expiration`).
    name: names this kind of command in the stored key (`status` for status posts).
    expires_after_seconds: how long a key is remembered (24 hours).
    boto3_session / dynamodb_client: the AWS session or a ready DynamoDB client.
    """

    expires_after_seconds = 24 * 3600

    def __init__(self, table_name: str, *, name: str = "command",
                 boto3_session: boto3.session.Session | None = None,
                 dynamodb_client: Any = None, expires_after_seconds: int | None = None):
        self.table_name = table_name
        if dynamodb_client is not None:
            store = DynamoDBPersistenceLayer(table_name, boto3_client=dynamodb_client)
        else:
            store = DynamoDBPersistenceLayer(
                table_name, boto3_session=boto3_session or boto3.session.Session(),
                boto_config=CLIENT_CONFIG)
        self._config = config = IdempotencyConfig(
            event_key_jmespath="scope",
            payload_validation_jmespath="payload",
            raise_on_no_idempotency_key=True,
            expires_after_seconds=expires_after_seconds or self.expires_after_seconds,
            hash_function="sha256",
        )

        def run(command: dict[str, Any], action: Callable[[], dict[str, Any]]) -> dict[str, Any]:
            return action()

        run.__qualname__ = run.__name__ = name  # the stored key reads `<module>.<name>#<hash>`
        self._run = idempotent_function(data_keyword_argument="command",
                                        persistence_store=store, config=config)(run)

    def use_lambda_context(self, context: Any) -> None:
        """Let an in-progress key expire with the invocation (a crashed run frees its key)."""
        if context is not None and hasattr(context, "get_remaining_time_in_millis"):
            self._config.register_lambda_context(context)

    def run(self, scope: str, payload: Mapping[str, Any],
            action: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        """Run `action` once for `scope`; return its (stored) JSON-serialisable result.

        Parameters
        ----------
        scope: the key in its scope, e.g. `<partner>#<env>#<request>#<Idempotency-Key>`.
        payload: what the key must always come with (the parsed request body).
        action: the command; its result must be a JSON-serialisable dict.

        Raises
        ------
        IdempotencyKeyReusedError: the key was used with another payload.
        IdempotencyInProgressError: the first call with this key has not finished.
        Whatever `action` raises (and the key is released).
        """
        try:
            return self._run(command={"scope": scope, "payload": dict(payload)}, action=action)
        except IdempotencyValidationError:
            raise IdempotencyKeyReusedError(scope.rsplit("#", 1)[-1]) from None
        except IdempotencyAlreadyInProgressError:
            raise IdempotencyInProgressError(scope.rsplit("#", 1)[-1]) from None
