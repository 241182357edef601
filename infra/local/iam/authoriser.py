"""Decide one request of a function: map it to actions and ARNs, evaluate its role's statements.

`authorise_request` is what the AWS side (`infra.local.patches.moto_iam`) asks for each
request signed with a function's key. An operation nobody mapped is refused (fail closed) with
a message naming it and the file to map it in, and logged as an error.
"""

from __future__ import annotations

import logging
from email.utils import parseaddr
from typing import Any, Mapping

from infra.local.iam.errors import Refusal, denial_message, refusal
from infra.local.iam.evaluation import Context, Denial, UnsupportedCondition, authorise
from infra.local.iam.operations import Call, UnmappedOperation, checks_for
from infra.local.iam.principals import Principal

logger = logging.getLogger(__name__)


class MotoLookups:
    """ARNs AWS knows of the resources a request names by name (read from moto's backends)."""

    def __init__(self, account: str, region: str):
        self.account, self.region = account, region

    def secret_arn(self, secret_id: str) -> str | None:
        from moto.secretsmanager.models import secretsmanager_backends

        try:
            secret = secretsmanager_backends[self.account][self.region].secrets.get(secret_id)
        except Exception:  # moto's store raises its own errors for odd ids
            return None
        return str(secret.arn) if secret is not None else None

    def destination_connection(self, name: str) -> str | None:
        from moto.events.models import events_backends

        destination = events_backends[self.account][self.region].destinations.get(name)
        return str(destination.connection_arn) if destination is not None else None


def request_context(principal: Principal, call: Call) -> dict[str, Any]:
    """The condition keys a request carries (the global ones and the services' own)."""
    context: dict[str, Any] = {
        "aws:PrincipalArn": f"arn:{call.partition}:iam::{principal.account}:role/"
                            f"{principal.role}",
        "aws:PrincipalAccount": principal.account,
        "aws:RequestedRegion": call.region,
        "aws:PrincipalType": "AssumedRole",
    }
    params = call.params
    if call.service == "sns" and call.operation == "Subscribe":
        context.update({"sns:Protocol": params.get("Protocol"),
                        "sns:Endpoint": params.get("Endpoint")})
    if call.service == "events" and call.operation == "PutEvents":
        entries = params.get("Entries") or []
        context.update({"events:source": [e.get("Source", "") for e in entries],
                        "events:detail-type": [e.get("DetailType", "") for e in entries]})
    if call.service == "secretsmanager" and "SecretId" in params:
        context["secretsmanager:SecretId"] = params["SecretId"]
    if call.service == "ses" and params.get("Source"):
        # The address alone; the display name is `ses:FromDisplayName`.
        # https://docs.aws.amazon.com/ses/latest/dg/control-user-access.html
        context["ses:FromAddress"] = parseaddr(str(params["Source"]))[1]
    return {key: value for key, value in context.items() if value is not None}


# Decisions kept per principal; past this many, the oldest half is forgotten.
DECISIONS_KEPT = 4096


def _decide(principal: Principal, action: str, resource: str, context: Context) -> Denial | None:
    """`authorise` for one resource, remembered per principal (its statements never change)."""
    key = (action, resource, tuple(sorted((name, value if isinstance(value, str)
                                          else tuple(value)) for name, value in context.items())))
    try:
        return principal.decisions[key]  # type: ignore[no-any-return]
    except KeyError:
        pass
    denial = authorise(principal.statements, action, [resource], context)
    if len(principal.decisions) >= DECISIONS_KEPT:
        for old in list(principal.decisions)[:DECISIONS_KEPT // 2]:
            principal.decisions.pop(old, None)
    principal.decisions[key] = denial
    return denial


def _with_resource(context: Context, resource: str) -> Context:
    """`aws:ResourceAccount`: the account owning the resource (none for `*`, a phone number)."""
    parts = resource.split(":")
    if len(parts) > 4 and parts[0] == "arn" and parts[4]:
        return {**context, "aws:ResourceAccount": parts[4]}
    return context


def _partition(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    return "aws-us-gov" if region.startswith("us-gov-") else "aws"


def authorise_request(principal: Principal, *, service: str, operation: str,
                      params: Mapping[str, Any], region: str, account: str,
                      method: str = "POST", path: str = "/",
                      protocol: str = "json") -> Refusal | None:
    """None when the function's role allows the request; else the service-shaped refusal."""
    call = Call(service, operation, params, region, account, _partition(region), method, path,
                MotoLookups(account, region))
    try:
        checks = checks_for(call)
        if isinstance(checks, str):  # PUBLIC: IAM is not asked
            return None
        context: Context = request_context(principal, call)
        for check in checks:
            denial = _decide(principal, check.action, check.resource,
                             _with_resource(context, check.resource))
            if denial is not None:
                message = denial_message(principal.arn, denial)
                logger.warning("IAM (embedded stack): %s", message)
                return refusal(service, protocol, message)
    except (UnmappedOperation, UnsupportedCondition) as error:
        message = (f"User: {principal.arn} is not authorized to perform: "
                   f"{service}:{operation}: {error}")
        logger.error("IAM (embedded stack) refuses what it cannot decide: %s", message)
        return refusal(service, protocol, message)
    return None
