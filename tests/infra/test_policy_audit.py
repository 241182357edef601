"""The policy audit of `make test`: every identity policy of every committed stack, through
parliament (https://github.com/duo-labs/parliament), which checks each statement against its
copy of AWS's Service Authorization Reference: every action exists, every condition key
applies to its action, and every action's resources match a resource type it is authorised
on. A grant that does nothing on AWS (or a typo) turns this red.

Each committed stack (`Pulumi.dev.yaml`, `Pulumi.prod.yaml`) is audited twice: every role of
`infra.roles` resolved for the stack's spec, and every policy the Pulumi program renders
under mocks (the same statements: `test_the_program_deploys_the_resolvers_statements`).
"""

from __future__ import annotations

import copy
import json
from functools import cache
from typing import Any

import parliament
import pytest

from infra.cloud.config import parse_cognito_email
from infra.roles import (
    EXTERNAL_POLICIES,
    ROLE_NAMES,
    ArnContext,
    MailSender,
    policy_document,
    resolve,
    role_names,
)
from infra.spec import stage_spec
from tests.infra.cloud_mocks import ACCOUNT, STACKS, StackResources, build_stack, stack_config

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

# Findings that fail the audit: a grant on resources its action is never authorised on, an
# action or service prefix AWS does not have, a condition key the action does not take, and
# documents IAM would refuse or misread.
FAILING_ISSUES = frozenset({
    "RESOURCE_MISMATCH", "UNKNOWN_ACTION", "UNKNOWN_PREFIX", "UNKNOWN_CONDITION_FOR_ACTION",
    "UNKNOWN_OPERATOR", "MISMATCHED_TYPE", "MALFORMED", "MALFORMED_JSON", "EXCEPTION",
    "INVALID_ARN", "DUPLICATE_SID", "INVALID_SID",
})
# (issue, action) -> the AWS documentation page proving parliament's database out of date.
# Empty: every statement of the stage passes parliament 1.6.4 as it is. An entry needs the
# Service Authorization Reference page that shows parliament wrong, never a convenience.
ALLOWED: dict[tuple[str, str], str] = {}
# Deploy-time ids of the test context (AWS assigns them; any well-formed value will do).
TEST_IDS = {"usage_plan": "a1b2c3", "partner_api": "abcdef1234", "portal_api": "fedcba4321",
            "user_pool": "eu-west-1_AbCdEfGhI",
            "topics_key": "1234abcd-12ab-34cd-56ef-1234567890ab"}
POLICIES = ROLE_NAMES + EXTERNAL_POLICIES


def stack_context(stack: str) -> ArnContext:
    config = stack_config(stack)
    region = config["aws:region"]
    spec = stage_spec(stack, config["partner-event-gateway:partnerEnvironments"],
                      account_id=ACCOUNT, region=region)
    # A stack with a `cognitoEmail` sender emails invitations (the console's SES grant).
    email = parse_cognito_email(config.get("partner-event-gateway:cognitoEmail"))
    mail = MailSender(email.address, email.ses_identity_arn) if email else None
    return ArnContext("aws", region, ACCOUNT, spec, ids=TEST_IDS, strict=True, mail=mail)


def findings(document: dict[str, Any]) -> list[str]:
    """parliament's failing findings of one policy document, allow-listed ones removed."""
    policy = parliament.analyze_policy_string(json.dumps(document), ignore_private_auditors=True)
    problems = []
    for finding in policy.findings:
        finding = parliament.enhance_finding(finding)
        if finding.issue not in FAILING_ISSUES:
            continue
        details = finding.detail if isinstance(finding.detail, list) else [finding.detail]
        for detail in details:
            action = detail.get("action", "") if isinstance(detail, dict) else ""
            if (finding.issue, action) not in ALLOWED:
                problems.append(f"{finding.issue}: {detail}")
    return problems


@pytest.mark.parametrize("stack", STACKS)
@pytest.mark.parametrize("role", POLICIES)
def test_every_role_passes_the_audit(stack: str, role: str) -> None:
    document = policy_document(role, stack_context(stack))
    assert findings(document) == []


# --- The audit can fail ----------------------------------------------------------------------

def replaced(role: str, sid: str, **changes: Any) -> dict[str, Any]:
    """`role`'s dev policy with statement `sid` changed (an earlier, defective version)."""
    document = copy.deepcopy(policy_document(role, stack_context("dev")))
    (statement,) = [s for s in document["Statement"] if s["Sid"] == sid]
    statement.update(changes)
    return document


def old_destination_grant() -> dict[str, Any]:
    """Defect 1: destination actions on API destination ARNs alone."""
    document = replaced("reconciler", "PartnerDestinations")
    (statement,) = [s for s in document["Statement"] if s["Sid"] == "PartnerDestinations"]
    statement["Action"] += ["events:DeleteApiDestination"]
    statement["Resource"] = [r for r in statement["Resource"] if ":api-destination/" in r]
    return document


def old_stream_listing() -> dict[str, Any]:
    """Defect 5: ListStreams granted on the stream's ARN."""
    context = stack_context("dev")
    stream = next(s for s in resolve("projector", context) if s["Sid"] == "ReadRequestLogStream")
    return replaced("projector", "FindRequestLogStream", Resource=stream["Resource"])


def old_subscription_management() -> dict[str, Any]:
    """Defect 5: Unsubscribe and GetSubscriptionAttributes on topic ARNs."""
    context = stack_context("dev")
    topic = next(s for s in resolve("portal_api", context) if s["Sid"] == "EmailSubscriptions")
    return replaced("portal_api", "ManageEmailSubscriptions",
                    Resource=[*topic["Resource"], topic["Resource"][0] + ":*"])


@pytest.mark.parametrize("document, actions", [
    (old_destination_grant, {"events:CreateApiDestination", "events:DescribeApiDestination"}),
    (old_stream_listing, {"dynamodb:ListStreams"}),
    (old_subscription_management, {"sns:Unsubscribe", "sns:GetSubscriptionAttributes"}),
], ids=["defect-1-destination-without-connection", "defect-5-list-streams",
        "defect-5-subscriptions"])
def test_the_audit_catches_the_old_grants(document: Any, actions: set[str]) -> None:
    problems = findings(document())
    assert problems, "the old statements passed the audit"
    assert all(p.startswith("RESOURCE_MISMATCH") for p in problems)
    assert {a for a in actions if any(f"'{a}'" in p for p in problems)} == actions


def test_the_audit_catches_unknown_actions_and_condition_keys() -> None:
    document = replaced("reconciler", "PartnerEvents", Action=["events:PutEvent"])
    assert [p for p in findings(document) if p.startswith("UNKNOWN_ACTION")]
    condition = {"StringEquals": {"iam:PassedToServices": "events.amazonaws.com"}}
    document = replaced("reconciler", "PassDeliveryRole", Condition=condition)
    assert [p for p in findings(document) if p.startswith("UNKNOWN_CONDITION_FOR_ACTION")]


# --- What the program deploys ----------------------------------------------------------------

@cache
def program(stack: str) -> StackResources:
    return build_stack(stack)


@pytest.mark.parametrize("stack", STACKS)
def test_every_policy_the_program_renders_passes_the_audit(stack: str) -> None:
    audited = 0
    for resource, document in program(stack).policies():
        assert findings(document) == [], resource.name
        audited += 1
    assert audited >= len(POLICIES) - 1  # apigateway_logs holds AWS's managed policy only


def program_ids(resources: StackResources, context: ArnContext) -> dict[str, str]:
    """The deploy-time ids the mocked provider assigned."""
    spec = context.spec
    return {
        "usage_plan": resources.one("aws:apigateway/usagePlan:UsagePlan",
                                    spec.usage_plan_name).state["id"],
        "partner_api": resources.one("aws:apigateway/restApi:RestApi",
                                     f"{spec.prefix}-partner-api").state["id"],
        "portal_api": resources.one("aws:apigateway/restApi:RestApi",
                                    f"{spec.prefix}-portal-api").state["id"],
        "user_pool": resources.of_type("aws:cognito/userPool:UserPool")[0].state["id"],
        "topics_key": resources.of_type("aws:kms/key:Key")[0].state["keyId"],
    }


@pytest.mark.parametrize("stack", STACKS)
def test_the_program_deploys_the_resolvers_statements(stack: str) -> None:
    """The role policies `pulumi up` sends are exactly `infra.roles.resolve`'s, so what the
    embedded stack authorises against is what AWS will hold."""
    resources = program(stack)
    base = stack_context(stack)
    context = ArnContext("aws", base.region, ACCOUNT, base.spec,
                         ids=program_ids(resources, base), strict=True, mail=base.mail)
    roles = {r.state["id"]: r.inputs["name"] for r in resources.of_type("aws:iam/role:Role")}
    deployed = {roles[p.inputs["role"]]: p.json("policy")
                for p in resources.of_type("aws:iam/rolePolicy:RolePolicy")}
    names = {name: role for role, name in role_names(base.spec).items()}
    expected = {name: policy_document(role, context) for name, role in names.items()
                if resolve(role, context)}
    assert deployed == expected
    (invoke,) = resources.of_type("aws:iam/policy:Policy")
    assert invoke.json("policy") == policy_document("portal_invoke", context)
