"""One request of a function, decided: allowed, refused in the service's shape, or refused
because nobody mapped it (fail closed).

https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_access-denied.html
https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Programming.Errors.html
https://docs.aws.amazon.com/sns/latest/api/API_Publish.html#API_Publish_Errors
https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/CommonErrors.html
https://docs.aws.amazon.com/apigateway/latest/api/CommonErrors.html
https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ElementTree

import pytest

from infra.local.iam import authoriser
from infra.local.iam.authoriser import authorise_request
from infra.local.iam.errors import refusal
from infra.local.iam.principals import Principal

TOPIC = "arn:aws:sns:us-east-1:123456789012:pgw-local-user-notifications"
NOTIFIER = [
    {"Effect": "Allow", "Action": ["sns:Publish"], "Resource": ["*"]},
    {"Effect": "Deny", "Action": ["sns:Publish"], "NotResource": [TOPIC],
     "Condition": {"Null": {"aws:ResourceAccount": "false"}}},
    {"Effect": "Allow", "Action": ["dynamodb:GetItem"],
     "Resource": ["arn:aws:dynamodb:us-east-1:123456789012:table/pgw-local-contacts"]},
]


def principal(statements=NOTIFIER):
    return Principal("pgw-local-notifier", "pgw-local-notifier-fn", "123456789012",
                     lambda: statements)


def ask(who, service, operation, params, protocol="json", **kwargs):
    return authorise_request(who, service=service, operation=operation, params=params,
                             region="us-east-1", account="123456789012", protocol=protocol,
                             **kwargs)


def test_an_allowed_call_passes():
    assert ask(principal(), "dynamodb", "GetItem", {"TableName": "pgw-local-contacts"}) is None


def test_a_denied_call_answers_iams_message_in_dynamodbs_shape():
    answer = ask(principal(), "dynamodb", "PutItem", {"TableName": "pgw-local-contacts"})
    assert answer is not None and answer.status == 400
    body = json.loads(answer.body)
    assert body == {"__type": "com.amazon.coral.service#AccessDeniedException",
                    "message": answer.message}
    assert answer.message == (
        "User: arn:aws:sts::123456789012:assumed-role/pgw-local-notifier-fn/pgw-local-notifier "
        "is not authorized to perform: dynamodb:PutItem on resource: arn:aws:dynamodb:"
        "us-east-1:123456789012:table/pgw-local-contacts because no identity-based policy "
        "allows the dynamodb:PutItem action")


def test_the_notifiers_deny_spares_sms_and_its_own_topic():
    """`aws:ResourceAccount` is in the context only for a resource with an owning account."""
    who = principal()
    assert ask(who, "sns", "Publish", {"PhoneNumber": "+15555550100"}, "query") is None
    assert ask(who, "sns", "Publish", {"TopicArn": TOPIC}, "query") is None
    other = ask(who, "sns", "Publish", {"TopicArn": TOPIC + "-other"}, "query")
    assert other is not None and "with an explicit deny" in other.message


def test_an_unmapped_operation_is_refused_naming_it(caplog):
    answer = ask(principal(), "events", "PutPermission", {})
    assert answer is not None and answer.status == 400
    assert "events.PutPermission" in answer.message and "operations.py" in answer.message
    assert "refuses what it cannot decide" in caplog.text


def test_a_condition_nobody_can_decide_is_refused():
    statements = [{"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": "*",
                   "Condition": {"DateLessThan": {"aws:CurrentTime": "2030-01-01"}}}]
    answer = ask(principal(statements), "dynamodb", "GetItem", {"TableName": "t"})
    assert answer is not None and "DateLessThan" in answer.message


def test_operations_iam_does_not_authorise_pass_without_statements():
    assert ask(principal([]), "sts", "GetCallerIdentity", {}, "query") is None


def test_a_decision_is_made_once_per_principal(monkeypatch):
    who, made = principal(), []
    original = authoriser.authorise

    def counting(*args, **kwargs):
        made.append(args[1])
        return original(*args, **kwargs)

    monkeypatch.setattr(authoriser, "authorise", counting)
    for _ in range(3):
        ask(who, "dynamodb", "GetItem", {"TableName": "pgw-local-contacts"})
    assert made == ["dynamodb:GetItem"]
    fresh = principal([])  # a re-registered principal decides again, with its statements
    assert ask(fresh, "dynamodb", "GetItem", {"TableName": "pgw-local-contacts"}) is not None


@pytest.mark.parametrize("service, protocol, status, code", [
    ("dynamodb", "json", 400, "AccessDeniedException"),
    ("events", "json", 400, "AccessDeniedException"),
    ("sns", "query", 403, "AuthorizationError"),
    ("sts", "query", 403, "AccessDenied"),
    ("apigateway", "rest-json", 403, "AccessDeniedException"),
    ("s3", "rest-xml", 403, "AccessDenied"),
])
def test_each_protocol_answers_in_its_own_shape(service, protocol, status, code):
    answer = refusal(service, protocol, "User: x is not authorized to perform: a on resource: b")
    assert answer.status == status
    if protocol == "json":
        assert json.loads(answer.body)["__type"].endswith("#" + code)
    elif protocol == "rest-json":
        assert answer.headers["x-amzn-ErrorType"] == code
        assert json.loads(answer.body)["message"] == answer.message
    else:
        assert ElementTree.fromstring(answer.body).find(".//Code").text == code


def test_sqs_names_its_query_code_too():
    answer = refusal("sqs", "json", "denied")
    assert answer.headers["x-amzn-query-error"] == "AccessDenied;Sender"
