"""infra.roles: every role's statements as data, resolved for one deployment."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra.roles import (
    EXTERNAL_POLICIES,
    FUNCTION_ROLES,
    ROLE_NAMES,
    SERVICE_ROLES,
    TABLE_ACCESS,
    ArnContext,
    MailSender,
    MissingDeployId,
    managed_policy_arns,
    policy_document,
    resolve,
    role_names,
    topics_key_policy,
    trust_policy,
)
from infra.roles.tables import table_statements
from infra.spec import stage_spec

ACCOUNT = "111122223333"
SPEC = stage_spec("dev", account_id=ACCOUNT, region="eu-west-1")
IDS = {"usage_plan": "plan1", "partner_api": "api1", "portal_api": "portal1",
       "user_pool": "eu-west-1_pool", "topics_key": "key-1"}
CONTEXT = ArnContext("aws", "eu-west-1", ACCOUNT, SPEC, ids=IDS, strict=True)
EVERY_POLICY = ROLE_NAMES + EXTERNAL_POLICIES


def by_sid(role: str, context: ArnContext = CONTEXT) -> dict[str, dict[str, Any]]:
    return {s["Sid"]: s for s in resolve(role, context)}


def granted_on(role: str, action: str) -> list[str]:
    """Resources of every Allow statement of `role` that names `action`."""
    return [r for s in resolve(role, CONTEXT) if s["Effect"] == "Allow" and action in s["Action"]
            for r in s["Resource"]]


# --- The catalogue ---------------------------------------------------------------------------

def test_every_function_of_the_spec_has_a_role_and_reviewed_table_access() -> None:
    assert set(FUNCTION_ROLES) == set(SPEC.functions)
    assert set(TABLE_ACCESS) == set(SPEC.functions)
    for logical, function in SPEC.functions.items():
        assert set(TABLE_ACCESS[logical]) == set(function.tables), logical


def test_append_only_tables_cannot_be_granted_write(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(TABLE_ACCESS, "routing_recorder", {"request_events": "write"})
    with pytest.raises(ValueError, match="append-only"):
        table_statements("routing_recorder")


def test_role_names_carry_the_stage_prefix() -> None:
    names = role_names(SPEC)
    assert set(names) == set(ROLE_NAMES)
    assert names["reconciler"] == "pgw-dev-reconciler-fn"
    assert names["partner_delivery"] == "pgw-dev-partner-delivery"
    assert all(name.startswith(SPEC.prefix) and len(name) <= 64 for name in names.values())


@pytest.mark.parametrize("role", EVERY_POLICY)
def test_statements_are_concrete_json_with_unique_sids(role: str) -> None:
    statements = resolve(role, CONTEXT)
    sids = [s["Sid"] for s in statements]
    assert len(sids) == len(set(sids))
    for statement in statements:
        assert statement["Effect"] in ("Allow", "Deny")
        assert ("Resource" in statement) != ("NotResource" in statement)
        for resource in statement.get("Resource", []) + statement.get("NotResource", []):
            assert resource == "*" or resource.startswith("arn:aws:"), resource
            assert "{" not in resource and "None" not in resource, resource
    assert json.loads(json.dumps(policy_document(role, CONTEXT)))["Version"] == "2012-10-17"


def test_an_unknown_role_is_refused() -> None:
    with pytest.raises(KeyError, match="unknown role"):
        resolve("nobody", CONTEXT)


# --- Deploy-time ids -------------------------------------------------------------------------

def test_a_strict_context_refuses_a_missing_id() -> None:
    context = ArnContext("aws", "eu-west-1", ACCOUNT, SPEC, strict=True)
    with pytest.raises(MissingDeployId, match="usage_plan"):
        resolve("reconciler", context)


def test_a_lenient_context_matches_any_id() -> None:
    context = ArnContext("aws", "us-east-1", "123456789012", stage_spec("local"))
    keys = by_sid("reconciler", context)["UsagePlanKeys"]["Resource"]
    assert "arn:aws:apigateway:us-east-1::/usageplans/*/keys/*" in keys


# --- Partitions (defect 6) ------------------------------------------------------------------

@pytest.mark.parametrize("partition", ["aws-cn", "aws-us-gov"])
def test_every_arn_follows_the_partition(partition: str) -> None:
    context = ArnContext(partition, "cn-north-1", ACCOUNT, SPEC, ids=IDS)
    documents: list[Any] = [policy_document(role, context) for role in EVERY_POLICY]
    documents += [trust_policy(role, context) for role in ROLE_NAMES]
    documents += [topics_key_policy(context), managed_policy_arns("apigateway_logs", context)]
    text = json.dumps(documents)
    assert text.count("arn:") == text.count(f"arn:{partition}:") > 100
    assert "arn:aws:" not in text


# --- Defect 1: API destinations are authorised on the connection too -------------------------

@pytest.mark.parametrize("action", ["events:CreateApiDestination",
                                    "events:UpdateApiDestination",
                                    "events:DescribeApiDestination"])
def test_destination_actions_are_granted_on_the_partners_connections(action: str) -> None:
    """https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoneventbridge.html
    lists api-destination* and connection* for these actions."""
    prefix = f"arn:aws:events:eu-west-1:{ACCOUNT}"
    assert sorted(granted_on("reconciler", action)) == [
        f"{prefix}:api-destination/pgw-dev-pt-*", f"{prefix}:connection/pgw-dev-pt-*"]


def test_the_reconciler_reaches_only_the_stage_prefix() -> None:
    statements = by_sid("reconciler")
    events = f"arn:aws:events:eu-west-1:{ACCOUNT}"
    assert statements["PartnerRules"]["Resource"] == [
        f"{events}:rule/pgw-dev-marketplace/pgw-dev-pt-*"]
    assert statements["PartnerConnections"]["Resource"] == [f"{events}:connection/pgw-dev-pt-*"]
    assert statements["DeletePartnerDestinations"]["Resource"] == [
        f"{events}:api-destination/pgw-dev-pt-*"]
    assert statements["PartnerDeadLetterQueues"]["Resource"] == [
        f"arn:aws:sqs:eu-west-1:{ACCOUNT}:pgw-dev-pt-*"]
    assert statements["ReadEndpointCredentials"]["Resource"] == [
        f"arn:aws:secretsmanager:eu-west-1:{ACCOUNT}:secret:pgw/dev/partners/*"]
    assert statements["ConnectionSecrets"]["Resource"] == [
        f"arn:aws:secretsmanager:eu-west-1:{ACCOUNT}:secret:events!connection/pgw-dev-pt-*"]
    assert "arn:aws:apigateway:eu-west-1::/usageplans/plan1/keys/*" in \
        statements["UsagePlanKeys"]["Resource"]
    assert statements["UsageKeyTags"]["Resource"] == ["arn:aws:apigateway:eu-west-1::/tags/*"]
    assert statements["PassDeliveryRole"] == {
        "Sid": "PassDeliveryRole", "Effect": "Allow", "Action": ["iam:PassRole"],
        "Resource": [f"arn:aws:iam::{ACCOUNT}:role/pgw-dev-partner-delivery"],
        "Condition": {"StringEquals": {"iam:PassedToService": "events.amazonaws.com"}}}


# --- Defect 5: actions without resource types are granted on "*" ---------------------------

@pytest.mark.parametrize("role, action", [
    ("projector", "dynamodb:ListStreams"), ("notifier", "dynamodb:ListStreams"),
    ("portal_api", "sns:Unsubscribe"), ("portal_api", "sns:GetSubscriptionAttributes"),
])
def test_actions_without_resource_types_are_granted_on_everything(role: str,
                                                                  action: str) -> None:
    """https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazondynamodb.html
    and .../list_amazonsns.html: no resource type, so only `Resource: "*"` grants them."""
    assert granted_on(role, action) == ["*"]


def test_subscribe_stays_on_the_notification_topic() -> None:
    assert granted_on("portal_api", "sns:Subscribe") == [
        f"arn:aws:sns:eu-west-1:{ACCOUNT}:pgw-dev-notifications"]


# --- Defect 7: hardening ---------------------------------------------------------------------

def test_the_notifier_may_text_anyone_but_publish_to_no_other_topic() -> None:
    statements = by_sid("notifier")
    own = f"arn:aws:sns:eu-west-1:{ACCOUNT}:pgw-dev-notifications"
    assert statements["PublishToTopic"]["Resource"] == [own]
    assert statements["SendSms"]["Resource"] == ["*"]
    deny = statements["PublishToNoOtherTopic"]
    assert deny["Effect"] == "Deny" and deny["Action"] == ["sns:Publish"]
    assert deny["NotResource"] == [own]
    # Only requests on an owned resource (a topic), never direct SMS (no resource).
    assert deny["Condition"] == {"Null": {"aws:ResourceAccount": "false"}}
    assert statements["EncryptedTopic"]["Resource"] == [
        f"arn:aws:kms:eu-west-1:{ACCOUNT}:key/key-1"]


@pytest.mark.parametrize("role", ROLE_NAMES)
def test_every_trust_names_its_account(role: str) -> None:
    """Confused-deputy guard:
    https://docs.aws.amazon.com/IAM/latest/UserGuide/confused-deputy.html"""
    (trust,) = trust_policy(role, CONTEXT)["Statement"]
    assert trust["Action"] == "sts:AssumeRole"
    assert trust["Condition"]["StringEquals"] == {"aws:SourceAccount": ACCOUNT}


@pytest.mark.parametrize("role, source", [
    ("partner_delivery", "rule/pgw-dev-marketplace/pgw-dev-pt-*"),
    ("portal_callback", "rule/pgw-dev-marketplace/pgw-dev-portal-callback"),
    ("datalake_rule", "rule/pgw-dev-marketplace/pgw-dev-datalake"),
])
def test_eventbridge_roles_trust_their_rules_only(role: str, source: str) -> None:
    (trust,) = trust_policy(role, CONTEXT)["Statement"]
    assert trust["Principal"] == {"Service": "events.amazonaws.com"}
    assert trust["Condition"]["ArnLike"] == {
        "aws:SourceArn": f"arn:aws:events:eu-west-1:{ACCOUNT}:{source}"}


def test_the_scheduler_role_trusts_the_reconcile_schedules_only() -> None:
    (trust,) = trust_policy("reconcile_scheduler", CONTEXT)["Statement"]
    assert trust["Condition"]["ArnLike"] == {"aws:SourceArn": (
        f"arn:aws:scheduler:eu-west-1:{ACCOUNT}:schedule/default/pgw-dev-reconcile-*")}


def test_the_api_gateway_logging_role_is_guarded_and_holds_the_managed_policy() -> None:
    (trust,) = trust_policy("apigateway_logs", CONTEXT)["Statement"]
    assert trust["Principal"] == {"Service": "apigateway.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT}}
    assert resolve("apigateway_logs", CONTEXT) == []
    assert managed_policy_arns("apigateway_logs", CONTEXT) == [
        "arn:aws:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"]


def test_the_topics_key_serves_this_accounts_alarms_only() -> None:
    statements = {s["Sid"]: s for s in topics_key_policy(CONTEXT)["Statement"]}
    assert statements["AccountAdministers"]["Principal"] == {
        "AWS": f"arn:aws:iam::{ACCOUNT}:root"}
    services = statements["ServicesPublishToEncryptedTopics"]
    assert services["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert services["Condition"] == {
        "StringEquals": {"aws:SourceAccount": ACCOUNT},
        "ArnLike": {"aws:SourceArn": f"arn:aws:cloudwatch:eu-west-1:{ACCOUNT}:alarm:pgw-dev-*"}}


def test_the_console_reads_its_session_key_and_no_other_secret_of_its_own() -> None:
    statements = by_sid("console")
    assert statements["ConsoleSessionKey"] == {
        "Sid": "ConsoleSessionKey", "Effect": "Allow",
        "Action": ["secretsmanager:GetSecretValue"],
        "Resource": [f"arn:aws:secretsmanager:eu-west-1:{ACCOUNT}:secret:"
                     f"{SPEC.console_session_secret_name}-??????"]}
    # The partners' prefix it may write does not hold the session key.
    writable = statements["WriteEndpointCredentials"]["Resource"][0].rsplit(":", 1)[1]
    assert not SPEC.console_session_secret_name.startswith(writable.rstrip("*"))


@pytest.mark.parametrize("role", SERVICE_ROLES)
def test_service_roles_reach_only_the_stage(role: str) -> None:
    for statement in resolve(role, CONTEXT):
        for resource in statement["Resource"]:
            assert SPEC.prefix in resource, resource


def test_the_reconciler_may_create_only_the_api_destinations_service_linked_role() -> None:
    """https://docs.aws.amazon.com/eventbridge/latest/userguide/using-service-linked-roles-service-action-1.html:
    creating a connection creates the role, with the caller's permissions, where it is
    missing."""
    (statement,) = [s for s in resolve("reconciler", CONTEXT)
                    if "iam:CreateServiceLinkedRole" in s["Action"]]
    assert statement["Resource"] == [
        f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/apidestinations.events.amazonaws.com/"
        "AWSServiceRoleForAmazonEventBridgeApiDestinations"]
    assert statement["Condition"] == {
        "StringEquals": {"iam:AWSServiceName": "apidestinations.events.amazonaws.com"}}


def test_the_console_emails_invitations_only_from_the_stages_sender() -> None:
    """`ses:SendEmail` on the stage's verified identity, from its address alone
    (https://docs.aws.amazon.com/ses/latest/dg/control-user-access.html), and only in a stage
    that has a sender; no other role sends email."""
    identity = f"arn:aws:ses:eu-west-1:{ACCOUNT}:identity/example.com"
    mail = MailSender("no-reply@example.com", identity)
    sending = ArnContext("aws", "eu-west-1", ACCOUNT, SPEC, ids=IDS, strict=True, mail=mail)
    assert by_sid("console", sending)["InvitationMail"] == {
        "Sid": "InvitationMail", "Effect": "Allow", "Action": ["ses:SendEmail"],
        "Resource": [identity],
        "Condition": {"StringEquals": {"ses:FromAddress": "no-reply@example.com"}}}
    assert "InvitationMail" not in by_sid("console")
    for role in EVERY_POLICY:
        for context in (CONTEXT, sending):
            actions = [a for s in resolve(role, context) for a in s.get("Action", [])]
            sends = [a for a in actions if a.lower().startswith("ses:")]
            assert sends == (["ses:SendEmail"] if (role, context) == ("console", sending)
                             else []), role
