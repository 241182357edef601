"""The policies of the pack, built from `infra.policy.rules` (importable without serving).

    pulumi preview --policy-pack infra/policy
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from infra.policy.rules import RESOURCE_RULES, STACK_RULES, Resource

PACK_NAME = "partner-event-gateway-security"


def to_resource(policy_resource: Any) -> Resource:
    """A rule's view of a Pulumi `PolicyResource` (or of `ResourceValidationArgs`)."""
    dependencies = getattr(policy_resource, "property_dependencies", None) or {}
    return Resource(
        resource_type=policy_resource.resource_type,
        props=policy_resource.props or {},
        urn=getattr(policy_resource, "urn", "") or "",
        name=getattr(policy_resource, "name", "") or "",
        property_dependencies={key: tuple(getattr(d, "urn", "") for d in found)
                               for key, found in dependencies.items()},
    )


def resource_validator(check: Callable[[Resource], list[str]]) -> Callable[
        [ResourceValidationArgs, ReportViolation], None]:
    """A `validate` function reporting each message of `check` as a violation."""
    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        for message in check(to_resource(args)):
            report_violation(message, None)
    return validate


def stack_validator(check: Callable[[Sequence[Resource]], Any]) -> Callable[
        [StackValidationArgs, ReportViolation], None]:
    """A stack `validate` function reporting each (resource, message) of `check`."""
    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        resources = [to_resource(r) for r in args.resources]
        for resource, message in check(resources):
            report_violation(message, resource.urn or None)
    return validate


def build_policies() -> list[Policy]:
    """Every rule as a mandatory policy: a violation stops the preview or update."""
    policies: list[Policy] = [
        ResourceValidationPolicy(name=name, description=description,
                                 validate=resource_validator(check),
                                 enforcement_level=EnforcementLevel.MANDATORY)
        for name, (description, check) in RESOURCE_RULES.items()
    ]
    policies += [
        StackValidationPolicy(name=name, description=description,
                              validate=stack_validator(check),
                              enforcement_level=EnforcementLevel.MANDATORY)
        for name, (description, check) in STACK_RULES.items()
    ]
    return policies
