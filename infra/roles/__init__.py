"""The IAM statements of every role the stage declares, as data both backends read.

The Pulumi program (`infra/cloud`) deploys exactly these statements, and the embedded stack
(`infra/local`) authorises each function's AWS calls against the same ones. Statements are
written once, as templates naming spec resources (a table by logical name, the bus, a queue,
the partition/region/account), and resolved for one deployment by `resolve`.

Stable API
----------
``ROLE_NAMES: tuple[str, ...]``
    Every role of the stage: the functions' roles, named as `infra.spec`'s functions
    (``FUNCTION_ROLES``: partner_api, authorizer, portal_api, routing_recorder, projector,
    notifier, reconciler, console, delivery_indexer), then the service roles (``SERVICE_ROLES``:
    partner_delivery, portal_callback, datalake_firehose, datalake_rule,
    reconcile_scheduler, apigateway_logs). ``EXTERNAL_POLICIES`` (portal_invoke) are
    policies the stage publishes for roles outside it; `resolve` takes them too.
``ArnContext(partition, region, account, spec, ids={}, names={}, strict=False, mail=None)``
    Where the statements are resolved: `spec` is `infra.spec.stage_spec(...)`; `ids` holds
    deploy-time ids (``DEPLOY_IDS``: usage_plan, partner_api, portal_api, user_pool,
    topics_key); an id not given resolves to `*` unless `strict`. `names` overrides a spec
    name (`bucket.<logical>`). `mail` (``MailSender(address, identity_arn)``) is the stage's
    sender of the console's emails: only a context with one grants the console
    `ses:SendEmail` (from that address, as that identity).
``resolve(role: str, context: ArnContext) -> list[dict]``
    The role's identity statements, concrete IAM JSON (`Sid`, `Effect`, `Action` list,
    `Resource` or `NotResource` list, optional `Condition`), in a stable order.
``policy_document(role, context) -> dict``
    ``{"Version": "2012-10-17", "Statement": resolve(role, context)}``.
``trust_policy(role, context) -> dict``
    The role's trust policy (service principal, `aws:SourceAccount`, `aws:SourceArn`).
``managed_policy_arns(role, context) -> list[str]``
    AWS managed policies the role holds besides its statements.
``role_names(spec) -> dict[str, str]``
    role -> IAM role name in the stage (function roles: `<function name>-fn`, service roles:
    `<prefix>-<role with dashes>`).
``topics_key_policy(context) -> dict``
    The key policy of the stage's topics key.
``WILDCARD_RESOURCE_ACTIONS``
    Actions AWS authorises only on `Resource: "*"`, each with the reason.

Table access stays a reviewed mapping: `infra.roles.tables.TABLE_ACCESS`.
"""

from __future__ import annotations

from typing import Any

from infra.roles.context import ANY_ID, DEPLOY_IDS, ArnContext, MailSender, MissingDeployId
from infra.roles.control import console_statements, reconciler_statements
from infra.roles.functions import function_statements
from infra.roles.names import (
    EXTERNAL_POLICIES,
    FUNCTION_ROLES,
    ROLE_NAMES,
    SERVICE_ROLES,
    role_names,
)
from infra.roles.services import (
    MANAGED_POLICIES,
    service_statements,
    topics_key_policy_template,
    trust_template,
)
from infra.roles.statements import WILDCARD_RESOURCE_ACTIONS, Statement
from infra.roles.tables import APPEND_ONLY_TABLES, TABLE_ACCESS
from infra.spec import StageSpec

__all__ = [
    "ANY_ID", "APPEND_ONLY_TABLES", "DEPLOY_IDS", "EXTERNAL_POLICIES", "FUNCTION_ROLES",
    "ROLE_NAMES", "SERVICE_ROLES", "TABLE_ACCESS", "WILDCARD_RESOURCE_ACTIONS", "ArnContext",
    "MailSender", "MissingDeployId", "Statement", "managed_policy_arns", "policy_document", "resolve",
    "role_names", "statement_templates", "topics_key_policy", "trust_policy",
]


def statement_templates(role: str, spec: StageSpec, *,
                        sends_mail: bool = False) -> list[Statement]:
    """The role's statements before resolution (ARN templates, `infra.roles.context`);
    `sends_mail`: the stage has a sender for the console's emails (`ArnContext.mail`)."""
    if role == "reconciler":
        return reconciler_statements()
    if role == "console":
        return console_statements(sends_mail=sends_mail)
    if role in FUNCTION_ROLES:
        return function_statements(role, spec)
    if role in SERVICE_ROLES or role in EXTERNAL_POLICIES:
        return service_statements(role)
    raise KeyError(f"unknown role {role!r} (roles: {', '.join(ROLE_NAMES + EXTERNAL_POLICIES)})")


def resolve(role: str, context: ArnContext) -> list[dict[str, Any]]:
    """The concrete IAM statements of `role` in the deployment `context` describes."""
    return context.render(statement_templates(role, context.spec,
                                              sends_mail=context.mail is not None))


def policy_document(role: str, context: ArnContext) -> dict[str, Any]:
    """The role's identity policy document."""
    return {"Version": "2012-10-17", "Statement": resolve(role, context)}


def trust_policy(role: str, context: ArnContext) -> dict[str, Any]:
    """The role's trust policy (who may assume it, for which source)."""
    return context.render(trust_template(role))


def managed_policy_arns(role: str, context: ArnContext) -> list[str]:
    """AWS managed policies the role holds (partition-correct ARNs)."""
    return context.render(list(MANAGED_POLICIES.get(role, ())))


def topics_key_policy(context: ArnContext) -> dict[str, Any]:
    """The key policy of the stage's topics key."""
    return context.render(topics_key_policy_template())
