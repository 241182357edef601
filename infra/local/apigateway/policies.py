"""A Lambda authorizer's answer as API Gateway reads it: its policy and its context.

https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-lambda-authorizer-output.html
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from typing import Any, Mapping

from infra.local.apigateway.responses import GatewayError


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def evaluate_policy(policy: Any, method_arn: str) -> bool:
    """Whether an authorizer's policy document allows `execute-api:Invoke` on `method_arn`.

    An explicit Deny wins; otherwise an Allow must match (IAM evaluation, `*` and `?`
    wildcards in actions and resources).

    Raises
    ------
    GatewayError: AUTHORIZER_CONFIGURATION_ERROR for a document that is not a policy.
    """
    if not isinstance(policy, Mapping) or not isinstance(policy.get("Statement"), (list, dict)):
        raise GatewayError("AUTHORIZER_CONFIGURATION_ERROR", "policyDocument has no Statement")
    allowed = False
    for statement in as_list(policy["Statement"]):
        if not isinstance(statement, Mapping) or statement.get("Effect") not in ("Allow", "Deny"):
            raise GatewayError("AUTHORIZER_CONFIGURATION_ERROR", "malformed policy statement")
        actions = [str(a) for a in as_list(statement.get("Action", []))]
        resources = [str(r) for r in as_list(statement.get("Resource", []))]
        if not any(fnmatch.fnmatchcase("execute-api:Invoke", a) or a == "*" for a in actions):
            continue
        if not any(fnmatch.fnmatchcase(method_arn, r) for r in resources):
            continue
        if statement["Effect"] == "Deny":
            return False
        allowed = True
    return allowed


def explicitly_denied(policy: Mapping[str, Any], method_arn: str) -> bool:
    deny_only = {"Statement": [st for st in as_list(policy["Statement"])
                               if st.get("Effect") == "Deny"]
                 + [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    return not evaluate_policy(deny_only, method_arn)


def flatten_context(context: Any) -> dict[str, str]:
    """The authorizer context as API Gateway passes it on: top-level scalars, as strings."""
    if context is None:
        return {}
    if not isinstance(context, Mapping):
        raise GatewayError("AUTHORIZER_CONFIGURATION_ERROR", "context is not an object")
    flat: dict[str, str] = {}
    for key, value in context.items():
        if isinstance(value, bool):
            flat[str(key)] = "true" if value else "false"
        elif isinstance(value, (str, int, float)):
            flat[str(key)] = str(value)
        elif value is None:
            continue
        else:
            raise GatewayError("AUTHORIZER_CONFIGURATION_ERROR",
                               f"context value {key!r} is not a string, number or boolean")
    return flat


@dataclass(frozen=True)
class AuthorizerResult:
    principal_id: str
    policy: Mapping[str, Any]
    context: dict[str, str]
    usage_key: str | None
