"""The embedded stack refuses what AWS refuses: each function's calls are decided by its role.

The stack is `make run`'s, in this process, without the demo data or the console; the IAM
check is on by default (`StackOptions.iam`).

AWS documentation followed:
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Programming.Errors.html
https://docs.aws.amazon.com/sns/latest/api/API_Publish.html#API_Publish_Errors
https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoneventbridge.html
"""

from __future__ import annotations

import json
import os
import re
import threading
from typing import Any

import boto3
import pytest
import requests
from botocore.exceptions import ClientError

from infra.local import iam
from infra.local.servers import free_port
from infra.local.stack import EmbeddedStack, Ports, StackOptions
from infra.roles import ArnContext, resolve
from partners.core.clock import isoformat, utc_now
from partners.core.constants import Env
from partners.onboarding import (
    AuthType,
    CredentialStore,
    DeliveryMode,
    EndpointAuth,
    PartnerEnvironment,
    PartnerRegistry,
    PartnerStatus,
    RoutingState,
    parse_filter,
    validate_environment,
)


@pytest.fixture(scope="module")
def stack():
    stack = EmbeddedStack(
        Ports(aws=free_port(), console=free_port(), api=free_port(), sample_partner=free_port()),
        StackOptions(console=True, demo=False, demo_file=None, status_delay=0.01,
                     authorizer_ttl_seconds=0, retry_time_scale=0.01)).start()
    yield stack
    stack.stop()


def _as(stack: EmbeddedStack, logical: str, service: str) -> Any:
    """A client made the way a function makes one, while acting as that function."""
    with iam.acting_as(stack.spec.function_name(logical)):
        return boto3.session.Session().client(service)


def test_a_call_outside_the_role_answers_dynamodbs_access_denied_shape(stack):
    """The notifier reads contacts; a PutItem on the partners table is refused as AWS does:
    HTTP 400, `AccessDeniedException`, IAM's message naming the role session and the ARN."""
    dynamodb = _as(stack, "notifier", "dynamodb")
    table = stack.spec.tables["partners"].name
    with pytest.raises(ClientError) as denied:
        dynamodb.put_item(TableName=table, Item={"pk": {"S": "p"}, "sk": {"S": "s"}})
    error = denied.value.response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert error["Error"]["Code"] == "AccessDeniedException"
    assert error["Error"]["Message"] == (
        "User: arn:aws:sts::123456789012:assumed-role/pgw-local-notifier-fn/pgw-local-notifier"
        " is not authorized to perform: dynamodb:PutItem on resource: "
        f"arn:aws:dynamodb:us-east-1:123456789012:table/{table} because no identity-based "
        "policy allows the dynamodb:PutItem action")
    # What the role grants still works (a read of its contacts table).
    dynamodb.get_item(TableName=stack.spec.tables["contacts"].name,
                      Key={"user_id": {"S": "nobody"}})


def test_an_explicit_deny_answers_sns_authorization_error(stack):
    """The notifier may text any number but publish to no topic but its own (a Deny):
    SNS answers `AuthorizationError` (HTTP 403, query protocol ErrorResponse)."""
    sns = _as(stack, "notifier", "sns")
    other = "arn:aws:sns:us-east-1:123456789012:someone-elses-topic"
    with pytest.raises(ClientError) as denied:
        sns.publish(TopicArn=other, Message="hello")
    error = denied.value.response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert error["Error"]["Code"] == "AuthorizationError"
    assert "with an explicit deny in an identity-based policy" in error["Error"]["Message"]
    sns.publish(PhoneNumber="+15555550100", Message="allowed: direct SMS")


def test_a_thread_the_function_starts_signs_as_the_function(stack):
    """Clients made in a thread started while acting as a function carry its identity."""
    found: dict[str, Any] = {}

    def work() -> None:
        client = boto3.session.Session().client("dynamodb")
        try:
            client.scan(TableName=stack.spec.tables["tokens"].name)
        except ClientError as error:
            found["code"] = error.response["Error"]["Code"]

    with iam.acting_as(stack.spec.function_name("projector")):
        thread = threading.Thread(target=work)
        thread.start()
    thread.join(30)
    assert found == {"code": "AccessDeniedException"}


def test_the_console_signs_as_the_console_function(stack, monkeypatch):
    """The console runs in-process, as its function does on Lambda: a sign-in's AWS calls
    (Cognito, the login throttle's counters) are signed with the console function's key."""
    console = iam.PRINCIPALS.by_function(stack.spec.function_name("console"))
    assert console is not None
    seen: list[str] = []
    by_key = iam.PRINCIPALS.by_key

    def spy(access_key: str) -> Any:
        seen.append(access_key)
        return by_key(access_key)

    monkeypatch.setattr(iam.PRINCIPALS, "by_key", spy)
    http = requests.Session()
    page = http.get(f"{stack.console_url}/auth/login", timeout=30).text
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page) or \
        re.search(r'value="([^"]+)"[^>]*name="csrf_token"', page)
    assert token, "no CSRF token on the sign-in page"
    answer = http.post(f"{stack.console_url}/auth/login", timeout=30, data={
        "email": "nobody@example.com", "password": "not-the-password-1",
        "csrf_token": token.group(1)})
    assert answer.status_code in (200, 401, 403, 429)
    assert console.access_key in seen


def test_the_operators_credentials_are_not_checked(stack):
    """The operator (the stack's own session, a test, the AWS CLI) keeps moto's behaviour."""
    stack.session().client("dynamodb").scan(TableName=stack.spec.tables["tokens"].name)


# -- defect 1: the reconciler's CreateApiDestination needs the connection ARN too -----------------

def _old_reconciler_statements(stack: EmbeddedStack) -> list[dict[str, Any]]:
    """The reconciler's statements before the fix: destination actions on the API destination
    ARN only (what `infra/cloud/reconciler.py` deployed)."""
    context = ArnContext(partition="aws", region="us-east-1", account="123456789012",
                         spec=stack.spec)
    statements = json.loads(json.dumps(resolve("reconciler", context)))
    for statement in statements:
        if statement.get("Sid") == "PartnerDestinations":
            statement["Resource"] = [r for r in statement["Resource"]
                                     if ":api-destination/" in r]
            assert statement["Resource"], "the destination grant is still there"
    return statements


def _replace_statements(stack: EmbeddedStack, statements: Any) -> iam.Principal:
    """Give the reconciler other statements (same function, role and key); returns the
    principal it had, for `iam.PRINCIPALS.register` to put back."""
    function = stack.spec.function_name("reconciler")
    fixed = iam.PRINCIPALS.by_function(function)
    assert fixed is not None
    iam.PRINCIPALS.register(iam.Principal(function, fixed.role, fixed.account,
                                          lambda: statements))
    return fixed


def _push_partner(stack: EmbeddedStack) -> str:
    """An approved partner whose test environment pushes to the sample partner (Basic)."""
    session, environ = stack.session(), os.environ
    registry = PartnerRegistry(environ[Env.PARTNERS_TABLE], boto3_session=session)
    credentials = CredentialStore(environ[Env.SECRET_PREFIX], boto3_session=session)
    partner = registry.create_partner(display_name="Pushco", contact_email="dev@pushco.example",
                                      slug="pushco", owner="owner-sub-pushco")
    stored = credentials.put(partner.id, "test", AuthType.BASIC, "a-password-of-pushco-42",
                             set_on=isoformat(utc_now()))
    environment = validate_environment(PartnerEnvironment(
        name="test", mode=DeliveryMode.PUSH,
        filter=parse_filter({"request_types": ["repair.booking"], "conditions": []}),
        endpoint_url=f"{stack.sample_partner_url}/hooks/pushco",
        auth=EndpointAuth(AuthType.BASIC, username="pushco", secret_arn=stored.arn,
                          secret_set_on=stored.set_on)),
        allowed_names=("prod", "test", "dev"), allow_insecure=True)
    partner = registry.save_partner(partner.with_environment(environment))
    partner = registry.transition(partner, PartnerStatus.PENDING_APPROVAL)
    registry.transition(partner, PartnerStatus.APPROVED)
    return partner.id


def _status(stack: EmbeddedStack, partner_id: str) -> Any:
    registry = PartnerRegistry(os.environ[Env.PARTNERS_TABLE], boto3_session=stack.session())
    return registry.routing_statuses(partner_id)["test"]


def test_defect_1_a_push_partner_goes_live_only_with_the_connection_arn_granted(stack):
    """With the old statement (CreateApiDestination on the destination ARN only) AWS refuses
    the reconciler, and so does the embedded stack: the routing status records the error.
    With the fixed statements (destination and connection) the same partner goes live."""
    partner_id = _push_partner(stack)
    fixed = _replace_statements(stack, _old_reconciler_statements(stack))
    try:
        stack.reconcile(partner_id)
        status = _status(stack, partner_id)
        assert status.state is RoutingState.ERROR, status
        assert status.reason.startswith("AccessDeniedException: User: arn:aws:sts::"
                                        "123456789012:assumed-role/pgw-local-reconciler-fn/")
        assert "events:CreateApiDestination on resource: arn:aws:events:us-east-1:" \
            "123456789012:connection/" in status.reason
    finally:
        iam.PRINCIPALS.register(fixed)  # the fixed statements, as the stack registered them
    stack.reconcile(partner_id)
    assert _status(stack, partner_id).state is RoutingState.LIVE


def test_a_presigned_url_is_authorised_as_the_function_that_signed_it(stack):
    """A presigned GET carries the signer's key: S3 answers 403 AccessDenied (REST-XML) when
    the signer's role may not read the object, and serves it when it may.
    https://docs.aws.amazon.com/AmazonS3/latest/userguide/using-presigned-url.html
    https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html"""
    bucket = stack.spec.buckets["documents"].name
    stack.session().client("s3").put_object(Bucket=bucket, Key="r1/doc.pdf", Body=b"%PDF")
    refused = _as(stack, "notifier", "s3").generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": "r1/doc.pdf"}, ExpiresIn=60)
    answer = requests.get(refused, timeout=10)
    assert answer.status_code == 403
    assert "<Code>AccessDenied</Code>" in answer.text
    assert "is not authorized to perform: s3:GetObject" in answer.text
    allowed = _as(stack, "partner_api", "s3").generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": "r1/doc.pdf"}, ExpiresIn=60)
    answer = requests.get(allowed, timeout=10)
    assert answer.status_code == 200 and answer.content == b"%PDF"


def test_the_wire_shape_of_a_json_protocol_refusal(stack):
    """DynamoDB's own error body: HTTP 400, `__type` com.amazon.coral.service#
    AccessDeniedException and a `message` (not only what botocore makes of it).
    https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Programming.Errors.html"""
    dynamodb = _as(stack, "notifier", "dynamodb")
    raw: dict[str, Any] = {}

    def keep(http_response, **_: Any) -> None:
        raw["status"], raw["body"] = http_response.status_code, http_response.content

    dynamodb.meta.events.register("after-call.dynamodb.DeleteItem", keep)
    with pytest.raises(ClientError):
        dynamodb.delete_item(TableName=stack.spec.tables["audit"].name,
                             Key={"pk": {"S": "p"}, "sk": {"S": "s"}})
    body = json.loads(raw["body"])
    assert raw["status"] == 400
    assert body["__type"] == "com.amazon.coral.service#AccessDeniedException"
    assert body["message"].startswith("User: arn:aws:sts::123456789012:assumed-role/")
