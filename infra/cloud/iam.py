"""The stage's IAM, rendered from `infra.roles` for the Pulumi program.

Partition, region and account come from the provider (`aws.get_partition_output`,
`aws.get_region_output`, `aws.get_caller_identity_output`), so every ARN follows the
partition the stack deploys to (aws, aws-cn, aws-us-gov). Components name the role and the
deploy-time ids its statements need; the context is strict, so a missing id fails the
deployment instead of widening a grant to `*`.
"""

from __future__ import annotations

import json
from typing import Any, Mapping

import pulumi
import pulumi_aws as aws

from infra.roles import (
    ArnContext,
    MailSender,
    managed_policy_arns,
    policy_document,
    role_names,
    statement_templates,
    trust_policy,
)
from infra.roles.services import MANAGED_POLICIES
from infra.spec import StageSpec


def arn_context(spec: StageSpec,
                ids: Mapping[str, pulumi.Input[str]] | None = None, *,
                mail: MailSender | None = None) -> pulumi.Output[ArnContext]:
    """The provider's partition, region and account with `spec` and the given ids (and the
    console's mail sender, `mail`, where the stage has one)."""
    keys = sorted(ids or {})
    values = [pulumi.Output.from_input((ids or {})[key]) for key in keys]
    return pulumi.Output.all(
        aws.get_partition_output().partition,
        aws.get_region_output().region,
        aws.get_caller_identity_output().account_id,
        *values,
    ).apply(lambda resolved: _context(spec, resolved, keys, mail))


def _context(spec: StageSpec, resolved: list[Any], keys: list[str],
             mail: MailSender | None = None) -> ArnContext:
    ids = dict(zip(keys, resolved[3:]))
    missing = sorted(key for key, value in ids.items() if not value)
    if missing:
        raise ValueError(f"deploy-time ids without a value: {', '.join(missing)}")
    return ArnContext(partition=resolved[0], region=resolved[1], account=resolved[2],
                      spec=spec, ids=ids, strict=True, mail=mail)


def rendered(context: pulumi.Output[ArnContext], template: Any) -> pulumi.Output[Any]:
    """A template (an ARN, or a structure holding some) resolved in `context`."""
    return context.apply(lambda resolved: resolved.render(template))


def _json(document: Any) -> str:
    return json.dumps(document, sort_keys=True)


def role_policy_json(role: str, context: pulumi.Output[ArnContext]) -> pulumi.Output[str]:
    """The role's identity policy document, as the JSON AWS receives."""
    return context.apply(lambda resolved: _json(policy_document(role, resolved)))


def trust_policy_json(role: str, context: pulumi.Output[ArnContext]) -> pulumi.Output[str]:
    return context.apply(lambda resolved: _json(trust_policy(role, resolved)))


class StageRole:
    """One role of `infra.roles`: the IAM role (named as `role_names`), its trust, its inline
    policy (when it has statements) and its AWS managed policies. Resources are named
    `<name>-role`, `<name>-policy`, `<name>-managed-<n>`."""

    role: aws.iam.Role
    policy: aws.iam.RolePolicy | None

    def __init__(self, name: str, role: str, spec: StageSpec,
                 context: pulumi.Output[ArnContext], opts: pulumi.ResourceOptions) -> None:
        self.role = aws.iam.Role(
            f"{name}-role", name=role_names(spec)[role],
            assume_role_policy=trust_policy_json(role, context), opts=opts)
        self.policy = None
        if statement_templates(role, spec):
            self.policy = aws.iam.RolePolicy(
                f"{name}-policy", role=self.role.id,
                policy=role_policy_json(role, context), opts=opts)
        managed = context.apply(lambda resolved: managed_policy_arns(role, resolved))
        self.attachments = [
            aws.iam.RolePolicyAttachment(
                f"{name}-managed-{index}", role=self.role.name,
                policy_arn=managed[index], opts=opts)
            for index in range(len(MANAGED_POLICIES.get(role, ())))
        ]

    @property
    def arn(self) -> pulumi.Output[str]:
        return self.role.arn
