"""IAM identity-policy evaluation: does a role's statements allow one action on one resource?

The rules of AWS's policy evaluation logic for a request inside one account, identity-based
policies only (the embedded stack has no SCPs, boundaries or session policies): an explicit
`Deny` in any matching statement wins; otherwise an `Allow` in a matching statement allows;
otherwise the request is implicitly denied. A statement matches when its `Action` (or
`NotAction`), its `Resource` (or `NotResource`) and every one of its `Condition` blocks match.

- Actions match case-insensitively, resources case-sensitively; both take the `*` and `?`
  wildcards.
- Conditions: every operator block must hold, every key in a block must hold, and a key
  holds when any of its values matches. A key the request does not carry fails the
  condition, except for negated operators and `...IfExists` (true) and `Null` (which tests
  for it). `ForAnyValue:` / `ForAllValues:` compare multivalued keys.
- An operator this module does not know raises `UnsupportedCondition`: a statement is never
  silently treated as matching (or not) because of a condition nobody evaluated.

No kept library evaluates a request against statements with conditions: moto's
`moto.iam.access_control` matches actions case-sensitively, ignores NotResource and `?` and
treats any failed condition as a Deny; policyuniverse, parliament and policy_sentry parse and
lint policies but do not decide requests. Hence this module (pure, no AWS calls).

AWS documentation followed:
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from functools import lru_cache
from typing import Any, Callable, Iterable, Mapping, Sequence

Statement = Mapping[str, Any]
# Request context keys: a string for single-valued keys, a list for multivalued ones.
Context = Mapping[str, "str | Sequence[str]"]


class Decision(str, Enum):
    ALLOW = "Allow"
    EXPLICIT_DENY = "ExplicitDeny"
    IMPLICIT_DENY = "ImplicitDeny"


class UnsupportedCondition(ValueError):
    """A statement uses a condition operator this evaluator cannot decide."""


@lru_cache(maxsize=4096)
def _wildcard(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(f"^{body}$", re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def wildcard_match(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    """Whether `value` matches `pattern`, where `*` is any run of characters, `?` one."""
    return _wildcard(pattern, ignore_case).match(value) is not None


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def arn_match(pattern: str, arn: str) -> bool:
    """ArnLike: the six colon-separated parts compared one by one, each with wildcards."""
    pattern_parts, arn_parts = pattern.split(":", 5), arn.split(":", 5)
    if len(pattern_parts) != 6 or len(arn_parts) != 6:
        return wildcard_match(pattern, arn)
    return all(wildcard_match(p, a) for p, a in zip(pattern_parts, arn_parts))


def _bool(expected: str, actual: str) -> bool:
    return str(expected).lower() == str(actual).lower()


# operator -> (compare(expected, actual), negated)
_OPERATORS: dict[str, tuple[Callable[[str, str], bool], bool]] = {
    "StringEquals": (lambda e, a: str(e) == a, False),
    "StringNotEquals": (lambda e, a: str(e) == a, True),
    "StringEqualsIgnoreCase": (lambda e, a: str(e).lower() == a.lower(), False),
    "StringNotEqualsIgnoreCase": (lambda e, a: str(e).lower() == a.lower(), True),
    "StringLike": (lambda e, a: wildcard_match(str(e), a), False),
    "StringNotLike": (lambda e, a: wildcard_match(str(e), a), True),
    "ArnEquals": (arn_match, False),
    "ArnLike": (arn_match, False),
    "ArnNotEquals": (arn_match, True),
    "ArnNotLike": (arn_match, True),
    "Bool": (_bool, False),
}


def _condition_holds(operator: str, key: str, expected: Any, context: Context) -> bool:
    qualifier, _, name = operator.rpartition(":")
    if_exists = name.endswith("IfExists") and name != "IfExists"
    name = name.removesuffix("IfExists") if if_exists else name
    present = key in context and context[key] is not None
    wanted = [str(v) for v in _as_list(expected)]
    if name == "Null":
        return all((not present) == _bool(v, "true") for v in wanted)
    if name not in _OPERATORS or qualifier not in ("", "ForAnyValue", "ForAllValues"):
        raise UnsupportedCondition(f"condition operator {operator!r} is not supported")
    compare, negated = _OPERATORS[name]
    if not present:
        # A missing key: negated operators, IfExists and ForAllValues hold; the rest fail.
        return negated or if_exists or qualifier == "ForAllValues"
    actual = [str(v) for v in _as_list(context[key])]

    def one(value: str) -> bool:
        matched = any(compare(e, value) for e in wanted)
        return not matched if negated else matched

    if qualifier == "ForAllValues":
        return all(one(v) for v in actual)
    # Single-valued keys and ForAnyValue: any value of the request will do.
    return any(one(v) for v in actual)


def conditions_hold(conditions: Mapping[str, Mapping[str, Any]] | None,
                    context: Context) -> bool:
    """Every operator block, every key in it (AND); any value of a key (OR)."""
    for operator, keys in (conditions or {}).items():
        for key, expected in keys.items():
            if not _condition_holds(operator, key, expected, _lookup(context, key)):
                return False
    return True


def _lookup(context: Context, key: str) -> Context:
    """Condition keys are case-insensitive: a context whose key matches `key` in any case."""
    if key in context:
        return context
    lowered = key.lower()
    for name, value in context.items():
        if name.lower() == lowered:
            return {key: value}
    return {}


def _any_match(patterns: Iterable[Any], value: str, *, ignore_case: bool) -> bool:
    return any(wildcard_match(str(p), value, ignore_case=ignore_case) for p in patterns)


def statement_applies(statement: Statement, action: str, resource: str,
                      context: Context) -> bool:
    """Whether the statement's action, resource and conditions all match the request."""
    if "NotAction" in statement:
        if _any_match(_as_list(statement["NotAction"]), action, ignore_case=True):
            return False
    elif not _any_match(_as_list(statement.get("Action")), action, ignore_case=True):
        return False
    if "NotResource" in statement:
        if _any_match(_as_list(statement["NotResource"]), resource, ignore_case=False):
            return False
    elif not _any_match(_as_list(statement.get("Resource")), resource, ignore_case=False):
        return False
    return conditions_hold(statement.get("Condition"), context)


def evaluate(statements: Iterable[Statement], action: str, resource: str,
             context: Context | None = None) -> Decision:
    """The decision for one action on one resource: explicit Deny, Allow or implicit deny."""
    allowed = False
    for statement in statements:
        if not statement_applies(statement, action, resource, context or {}):
            continue
        if str(statement.get("Effect", "")).lower() == "deny":
            return Decision.EXPLICIT_DENY
        allowed = allowed or str(statement.get("Effect", "")).lower() == "allow"
    return Decision.ALLOW if allowed else Decision.IMPLICIT_DENY


@dataclass(frozen=True)
class Denial:
    """Why a request is refused: the action, the first resource denied, and how."""

    action: str
    resource: str
    decision: Decision


def authorise(statements: Sequence[Statement], action: str, resources: Sequence[str],
              context: Context | None = None) -> Denial | None:
    """None when `action` is allowed on every one of `resources`; else the first denial.

    An action authorised against several resources (EventBridge's CreateApiDestination on
    the destination and its connection) needs an Allow, and no Deny, for each of them.
    """
    for resource in resources or ["*"]:
        decision = evaluate(statements, action, resource, context)
        if decision is not Decision.ALLOW:
            return Denial(action, resource, decision)
    return None
