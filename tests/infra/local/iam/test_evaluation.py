"""AWS's policy evaluation logic, rule by rule (identity-based policies in one account).

https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html
"""

from __future__ import annotations

import pytest

from infra.local.iam.evaluation import (
    Decision,
    UnsupportedCondition,
    arn_match,
    authorise,
    evaluate,
)

TABLE = "arn:aws:dynamodb:us-east-1:123456789012:table/pgw-local-partners"
TOPIC = "arn:aws:sns:us-east-1:123456789012:pgw-local-user-notifications"
OTHER_TOPIC = "arn:aws:sns:us-east-1:123456789012:someone-else"


def allow(action, resource, **extra):
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action, resource, **extra):
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


@pytest.mark.parametrize("statements, action, resource, decision", [
    # No statement allows: implicit deny.
    ([], "dynamodb:GetItem", TABLE, Decision.IMPLICIT_DENY),
    ([allow("dynamodb:GetItem", TABLE)], "dynamodb:GetItem", TABLE, Decision.ALLOW),
    ([allow("dynamodb:GetItem", TABLE)], "dynamodb:PutItem", TABLE, Decision.IMPLICIT_DENY),
    # An explicit Deny wins over any Allow, in any order.
    ([allow("dynamodb:*", "*"), deny("dynamodb:PutItem", TABLE)], "dynamodb:PutItem", TABLE,
     Decision.EXPLICIT_DENY),
    ([deny("dynamodb:PutItem", TABLE), allow("dynamodb:*", "*")], "dynamodb:PutItem", TABLE,
     Decision.EXPLICIT_DENY),
    # Actions: case-insensitive, `*` and `?` wildcards; a list of actions.
    ([allow("DynamoDB:getitem", TABLE)], "dynamodb:GetItem", TABLE, Decision.ALLOW),
    ([allow("dynamodb:Get*", TABLE)], "dynamodb:GetItem", TABLE, Decision.ALLOW),
    ([allow("dynamodb:?etItem", TABLE)], "dynamodb:GetItem", TABLE, Decision.ALLOW),
    ([allow("dynamodb:?etItem", TABLE)], "dynamodb:BatchGetItem", TABLE, Decision.IMPLICIT_DENY),
    ([allow(["sqs:SendMessage", "dynamodb:GetItem"], TABLE)], "dynamodb:GetItem", TABLE,
     Decision.ALLOW),
    # Resources: case-sensitive, wildcards, a list of resources.
    ([allow("dynamodb:GetItem", TABLE.upper())], "dynamodb:GetItem", TABLE,
     Decision.IMPLICIT_DENY),
    ([allow("dynamodb:GetItem", "arn:aws:dynamodb:*:*:table/pgw-local-*")],
     "dynamodb:GetItem", TABLE, Decision.ALLOW),
    ([allow("dynamodb:GetItem", "arn:aws:dynamodb:us-east-1:123456789012:table/pgw-local-partner?")],
     "dynamodb:GetItem", TABLE, Decision.ALLOW),
    ([allow("dynamodb:Query", [TABLE, TABLE + "/index/*"])], "dynamodb:Query",
     TABLE + "/index/by-status", Decision.ALLOW),
    ([allow("dynamodb:Query", TABLE)], "dynamodb:Query", TABLE + "/index/by-status",
     Decision.IMPLICIT_DENY),
    # NotAction: every action but those listed.
    ([{"Effect": "Allow", "NotAction": "dynamodb:DeleteItem", "Resource": TABLE}],
     "dynamodb:PutItem", TABLE, Decision.ALLOW),
    ([{"Effect": "Allow", "NotAction": "dynamodb:DeleteItem", "Resource": TABLE}],
     "dynamodb:DeleteItem", TABLE, Decision.IMPLICIT_DENY),
    # NotResource: the notifier publishes anywhere (SMS) but to no topic except its own.
    ([allow("sns:Publish", "*"), {"Effect": "Deny", "Action": "sns:Publish",
                                  "NotResource": TOPIC}], "sns:Publish", OTHER_TOPIC,
     Decision.EXPLICIT_DENY),
    ([allow("sns:Publish", "*"), {"Effect": "Deny", "Action": "sns:Publish",
                                  "NotResource": TOPIC}], "sns:Publish", TOPIC, Decision.ALLOW),
    # A statement without an Effect of Allow allows nothing.
    ([{"Effect": "Maybe", "Action": "*", "Resource": "*"}], "dynamodb:GetItem", TABLE,
     Decision.IMPLICIT_DENY),
])
def test_decisions(statements, action, resource, decision):
    assert evaluate(statements, action, resource) is decision


@pytest.mark.parametrize("condition, context, holds", [
    ({"StringEquals": {"sns:Protocol": "email"}}, {"sns:Protocol": "email"}, True),
    ({"StringEquals": {"sns:Protocol": ["sms", "email"]}}, {"sns:Protocol": "email"}, True),
    ({"StringEquals": {"sns:Protocol": "sms"}}, {"sns:Protocol": "email"}, False),
    ({"StringEquals": {"sns:Protocol": "EMAIL"}}, {"sns:Protocol": "email"}, False),
    ({"StringEqualsIgnoreCase": {"sns:Protocol": "EMAIL"}}, {"sns:Protocol": "email"}, True),
    ({"StringLike": {"sns:Endpoint": "*@example.com"}}, {"sns:Endpoint": "a@example.com"}, True),
    ({"StringNotLike": {"sns:Endpoint": "*@example.com"}}, {"sns:Endpoint": "a@example.com"},
     False),
    # Condition keys are case-insensitive.
    ({"StringEquals": {"SNS:protocol": "email"}}, {"sns:Protocol": "email"}, True),
    # A missing key fails a positive operator, passes a negated one and `IfExists`.
    ({"StringEquals": {"sns:Protocol": "email"}}, {}, False),
    ({"StringNotEquals": {"sns:Protocol": "email"}}, {}, True),
    ({"StringEqualsIfExists": {"sns:Protocol": "email"}}, {}, True),
    ({"StringEqualsIfExists": {"sns:Protocol": "email"}}, {"sns:Protocol": "sms"}, False),
    # Null tests for the key's absence ("true") or presence ("false").
    ({"Null": {"aws:ResourceAccount": "false"}}, {"aws:ResourceAccount": "123456789012"}, True),
    ({"Null": {"aws:ResourceAccount": "false"}}, {}, False),
    ({"Null": {"aws:ResourceAccount": "true"}}, {}, True),
    ({"Bool": {"aws:SecureTransport": "false"}}, {"aws:SecureTransport": "False"}, True),
    ({"Bool": {"aws:SecureTransport": "true"}}, {"aws:SecureTransport": "false"}, False),
    # ARN operators compare the six parts, each with wildcards.
    ({"ArnLike": {"aws:SourceArn": "arn:aws:events:*:123456789012:rule/pgw-*"}},
     {"aws:SourceArn": "arn:aws:events:us-east-1:123456789012:rule/pgw-local-x"}, True),
    ({"ArnEquals": {"aws:SourceArn": "arn:aws:events:*:123456789012:rule/pgw-*"}},
     {"aws:SourceArn": "arn:aws:events:us-east-1:210987654321:rule/pgw-local-x"}, False),
    ({"ArnNotLike": {"aws:SourceArn": "arn:aws:events:*:*:rule/pgw-*"}},
     {"aws:SourceArn": "arn:aws:events:us-east-1:123456789012:rule/other"}, True),
    # Multivalued keys: any value (ForAnyValue), every value (ForAllValues).
    ({"ForAnyValue:StringEquals": {"events:source": "marketplace.requests"}},
     {"events:source": ["x", "marketplace.requests"]}, True),
    ({"ForAllValues:StringEquals": {"events:source": "marketplace.requests"}},
     {"events:source": ["x", "marketplace.requests"]}, False),
    ({"ForAllValues:StringEquals": {"events:source": "marketplace.requests"}}, {}, True),
    ({"ForAnyValue:StringEquals": {"events:source": "marketplace.requests"}}, {}, False),
    # Every block and every key must hold.
    ({"StringEquals": {"sns:Protocol": "email", "sns:Endpoint": "a@b.c"}},
     {"sns:Protocol": "email", "sns:Endpoint": "x@y.z"}, False),
])
def test_conditions(condition, context, holds):
    statements = [allow("sns:Subscribe", TOPIC, Condition=condition)]
    expected = Decision.ALLOW if holds else Decision.IMPLICIT_DENY
    assert evaluate(statements, "sns:Subscribe", TOPIC, context) is expected


def test_a_condition_on_a_deny_limits_the_deny():
    """The notifier's Deny applies only to resources with an owning account (topics), never
    to a direct SMS (resource `*`): `Null aws:ResourceAccount false`."""
    statements = [allow("sns:Publish", "*"),
                  {"Effect": "Deny", "Action": "sns:Publish", "NotResource": TOPIC,
                   "Condition": {"Null": {"aws:ResourceAccount": "false"}}}]
    assert evaluate(statements, "sns:Publish", "*", {}) is Decision.ALLOW
    assert evaluate(statements, "sns:Publish", OTHER_TOPIC,
                    {"aws:ResourceAccount": "123456789012"}) is Decision.EXPLICIT_DENY


def test_an_unknown_condition_operator_is_an_error_not_a_guess():
    statements = [allow("sns:Subscribe", TOPIC, Condition={"DateGreaterThan": {"a:b": "x"}})]
    with pytest.raises(UnsupportedCondition, match="DateGreaterThan"):
        evaluate(statements, "sns:Subscribe", TOPIC, {"a:b": "x"})


def test_a_call_on_several_resources_needs_each_allowed():
    """EventBridge authorises CreateApiDestination on the destination AND its connection."""
    destination = "arn:aws:events:us-east-1:123456789012:api-destination/pgw-local-pt-x"
    connection = "arn:aws:events:us-east-1:123456789012:connection/pgw-local-pt-x/abc"
    only_destination = [allow("events:CreateApiDestination",
                              "arn:aws:events:*:*:api-destination/pgw-local-pt-*")]
    denial = authorise(only_destination, "events:CreateApiDestination", [destination, connection])
    assert denial is not None and denial.resource == connection
    both = only_destination + [allow("events:CreateApiDestination",
                                     "arn:aws:events:*:*:connection/pgw-local-pt-*")]
    assert authorise(both, "events:CreateApiDestination", [destination, connection]) is None


def test_arn_match_needs_six_parts_to_line_up():
    assert arn_match("arn:aws:sqs:*:*:pgw-*", "arn:aws:sqs:us-east-1:123456789012:pgw-dlq")
    assert not arn_match("arn:aws:sqs:*:*:pgw-*", "arn:aws:sns:us-east-1:123456789012:pgw-dlq")
