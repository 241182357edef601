"""The policy pack's rules on resources that pass and resources that fail.

Each policy is called the way the Pulumi engine calls it: `validate(args, report_violation)`
with a `ResourceValidationArgs`-like (or `StackValidationArgs`-like) object.
"""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest
from pulumi_policy import EnforcementLevel, ResourceValidationPolicy, StackValidationPolicy

from infra.policy.pack import build_policies
from infra.policy.rules import (
    API_DESTINATION,
    BUCKET,
    BUCKET_ENCRYPTION,
    BUCKET_POLICY,
    EVENT_TARGET,
    FUNCTION,
    HTTP_STAGE,
    INVOKE_CONFIG,
    LOG_GROUP,
    MANAGED_POLICY,
    PUBLIC_ACCESS_BLOCK,
    QUEUE,
    REST_STAGE,
    ROLE_POLICY,
    SCHEDULE,
    TABLE,
    TOPIC,
    Resource,
    iam_statement_problems,
)
from partners.core.constants import Env

POLICIES = {policy.name: policy for policy in build_policies()}


def policy_document(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(action: Any, resource: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource}


TLS_ONLY = policy_document({
    "Effect": "Deny", "Principal": "*", "Action": "s3:*",
    "Resource": ["arn:aws:s3:::b", "arn:aws:s3:::b/*"],
    "Condition": {"Bool": {"aws:SecureTransport": "false"}}})
ALL_BLOCKED = {"blockPublicAcls": True, "blockPublicPolicy": True, "ignorePublicAcls": True,
               "restrictPublicBuckets": True}
DLQ = {"arn": "arn:aws:sqs:eu-west-1:1:dlq"}
RETRY = {"maximumRetryAttempts": 3, "maximumEventAgeInSeconds": 3600}

# (policy, resource type, props, stack) -> passes?
CASES = [
    ("s3-public-access-blocked", PUBLIC_ACCESS_BLOCK, ALL_BLOCKED, "dev", True),
    ("s3-public-access-blocked", PUBLIC_ACCESS_BLOCK, {**ALL_BLOCKED, "blockPublicPolicy": False},
     "dev", False),
    ("s3-public-access-blocked", PUBLIC_ACCESS_BLOCK, {}, "dev", False),
    ("s3-default-encryption", BUCKET_ENCRYPTION,
     {"rules": [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms"}}]}, "dev", True),
    ("s3-default-encryption", BUCKET_ENCRYPTION, {"rules": []}, "dev", False),
    ("dynamodb-pitr-and-encryption", TABLE,
     {"pointInTimeRecovery": {"enabled": True}, "serverSideEncryption": {"enabled": True}},
     "dev", True),
    ("dynamodb-pitr-and-encryption", TABLE, {"serverSideEncryption": {"enabled": True}},
     "dev", False),
    ("dynamodb-pitr-and-encryption", TABLE, {"pointInTimeRecovery": {"enabled": True}},
     "dev", False),
    ("sns-kms-encryption", TOPIC, {"kmsMasterKeyId": "arn:aws:kms:eu-west-1:1:key/k"}, "dev", True),
    ("sns-kms-encryption", TOPIC, {"name": "t"}, "dev", False),
    ("sqs-encryption", QUEUE, {"sqsManagedSseEnabled": True}, "dev", True),
    ("sqs-encryption", QUEUE, {"kmsMasterKeyId": "alias/q"}, "dev", True),
    ("sqs-encryption", QUEUE, {"sqsManagedSseEnabled": False}, "dev", False),
    ("iam-no-wildcards", ROLE_POLICY,
     {"policy": policy_document(allow(["dynamodb:GetItem"], ["arn:aws:dynamodb:x:1:table/t"]))},
     "dev", True),
    ("iam-no-wildcards", ROLE_POLICY,
     {"policy": policy_document(allow(["xray:PutTraceSegments"], "*"))}, "dev", True),
    ("iam-no-wildcards", ROLE_POLICY, {"policy": policy_document(allow("*", "arn:x"))},
     "dev", False),
    ("iam-no-wildcards", MANAGED_POLICY, {"policy": policy_document(allow("s3:*", "arn:x"))},
     "dev", False),
    ("iam-no-wildcards", ROLE_POLICY,
     {"policy": policy_document(allow(["dynamodb:PutItem"], "*"))}, "dev", False),
    ("iam-no-wildcards", ROLE_POLICY,
     {"policy": policy_document({"Effect": "Allow", "NotAction": "iam:*", "Resource": "arn:x"})},
     "dev", False),
    # A Deny may be broad: it only ever removes permissions.
    ("iam-no-wildcards", ROLE_POLICY,
     {"policy": policy_document({"Effect": "Deny", "Action": "*", "Resource": "*"})},
     "dev", True),
    # Unknown during a preview: checked again at `up`.
    ("iam-no-wildcards", ROLE_POLICY, {}, "dev", True),
    ("log-retention", LOG_GROUP, {"retentionInDays": 14.0}, "dev", True),
    ("log-retention", LOG_GROUP, {"name": "/aws/lambda/f"}, "dev", False),
    ("log-retention", LOG_GROUP, {"retentionInDays": 0}, "dev", False),
    ("event-target-dlq", EVENT_TARGET, {"deadLetterConfig": DLQ, "retryPolicy": RETRY},
     "dev", True),
    ("event-target-dlq", EVENT_TARGET, {"retryPolicy": RETRY}, "dev", False),
    ("event-target-dlq", EVENT_TARGET, {"deadLetterConfig": DLQ}, "dev", False),
    ("schedule-dlq", SCHEDULE, {"target": {"deadLetterConfig": DLQ}}, "dev", True),
    ("schedule-dlq", SCHEDULE, {"target": {"arn": "arn:aws:lambda:x"}}, "dev", False),
    ("https-api-destinations", API_DESTINATION, {"invocationEndpoint": "https://p.example"},
     "dev", True),
    ("https-api-destinations", API_DESTINATION, {"invocationEndpoint": "http://p.example"},
     "dev", False),
    ("no-insecure-endpoints-in-prod", FUNCTION,
     {"environment": {"variables": {Env.ALLOW_INSECURE_ENDPOINTS: "true"}}}, "dev", True),
    ("no-insecure-endpoints-in-prod", FUNCTION,
     {"environment": {"variables": {Env.ALLOW_INSECURE_ENDPOINTS: "false"}}}, "prod", True),
    ("no-insecure-endpoints-in-prod", FUNCTION,
     {"environment": {"variables": {Env.ALLOW_INSECURE_ENDPOINTS: "True"}}}, "prod", False),
    ("api-access-logs", REST_STAGE, {"accessLogSettings": {"destinationArn": "arn:logs"}},
     "dev", True),
    ("api-access-logs", HTTP_STAGE, {"stageName": "$default"}, "dev", False),
    ("request-path-snap-start", FUNCTION,
     {"tags": {"pgw:request-path": "true"}, "publish": True,
      "snapStart": {"applyOn": "PublishedVersions"}}, "dev", True),
    ("request-path-snap-start", FUNCTION, {"tags": {}, "publish": False}, "dev", True),
    ("request-path-snap-start", FUNCTION,
     {"tags": {"pgw:request-path": "true"}, "snapStart": {"applyOn": "PublishedVersions"}},
     "dev", False),
    ("request-path-snap-start", FUNCTION, {"tags": {"pgw:request-path": "true"},
                                           "publish": True}, "prod", False),
]


def resource_args(resource_type: str, props: dict[str, Any], stack: str = "dev") -> Any:
    return SimpleNamespace(resource_type=resource_type, props=props, name="r",
                           urn=f"urn:pulumi:{stack}::partner-event-gateway::{resource_type}::r")


@pytest.mark.parametrize("name, resource_type, props, stack, passes", CASES)
def test_resource_policy(name: str, resource_type: str, props: dict[str, Any], stack: str,
                         passes: bool) -> None:
    violations: list[tuple[str, str | None]] = []
    policy = POLICIES[name]
    assert isinstance(policy, ResourceValidationPolicy)
    policy.validate(resource_args(resource_type, props, stack),  # type: ignore[operator]
                    lambda message, urn=None: violations.append((message, urn)))
    assert (violations == []) is passes, violations


def test_every_policy_is_mandatory_and_exercised() -> None:
    assert all(p.enforcement_level == EnforcementLevel.MANDATORY for p in POLICIES.values())
    resource_policies = {n for n, p in POLICIES.items() if isinstance(p, ResourceValidationPolicy)}
    exercised = {case[0] for case in CASES}
    assert resource_policies == exercised
    for name in resource_policies:
        assert {case[4] for case in CASES if case[0] == name} == {True, False}, name


def test_a_resource_rule_ignores_other_types() -> None:
    violations: list[str] = []
    POLICIES["dynamodb-pitr-and-encryption"].validate(  # type: ignore[operator]
        resource_args(TOPIC, {}), lambda message, urn=None: violations.append(message))
    assert violations == []


# --- Stack policies -------------------------------------------------------------------------

def policy_resource(resource_type: str, name: str, props: dict[str, Any],
                    depends: dict[str, list[Any]] | None = None) -> Any:
    return SimpleNamespace(resource_type=resource_type, name=name, props=props,
                           urn=f"urn:pulumi:dev::pgw::{resource_type}::{name}",
                           property_dependencies=depends or {})


def bucket_with(*, block: bool = True, encryption: bool = True, policy: str | None = TLS_ONLY,
                by_dependency: bool = False) -> list[Any]:
    bucket = policy_resource(BUCKET, "docs", {"bucket": "pgw-dev-documents"})
    # During a preview the bucket's id is unknown: only the property dependency links them.
    reference = {} if by_dependency else {"bucket": "pgw-dev-documents"}
    depends = {"bucket": [bucket]} if by_dependency else {}
    resources = [bucket]
    if block:
        resources.append(policy_resource(PUBLIC_ACCESS_BLOCK, "pab",
                                         {**ALL_BLOCKED, **reference}, depends))
    if encryption:
        resources.append(policy_resource(BUCKET_ENCRYPTION, "sse", {**reference, "rules": [
            {"applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms"}}]}, depends))
    if policy is not None:
        resources.append(policy_resource(BUCKET_POLICY, "tls", {**reference, "policy": policy},
                                         depends))
    return resources


def run_stack_policy(name: str, resources: list[Any]) -> list[tuple[str, str | None]]:
    violations: list[tuple[str, str | None]] = []
    policy = POLICIES[name]
    assert isinstance(policy, StackValidationPolicy)
    policy.validate(SimpleNamespace(resources=resources),  # type: ignore[operator]
                    lambda message, urn=None: violations.append((message, urn)))
    return violations


@pytest.mark.parametrize("by_dependency", [False, True])
def test_a_protected_bucket_passes(by_dependency: bool) -> None:
    assert run_stack_policy("s3-buckets-protected", bucket_with(by_dependency=by_dependency)) == []


@pytest.mark.parametrize("changes, message", [
    ({"block": False}, "public access block"),
    ({"encryption": False}, "default encryption"),
    ({"policy": None}, "TLS"),
    ({"policy": policy_document(allow(["s3:GetObject"], "arn:aws:s3:::b/*"))}, "TLS"),
    ({"policy": json.dumps({"Statement": [{"Effect": "Deny", "Principal": "*", "Action": "s3:*",
                                           "Condition": {"Bool": {"aws:SecureTransport": "true"}}}]})},
     "TLS"),
])
def test_an_unprotected_bucket_fails(changes: dict[str, Any], message: str) -> None:
    violations = run_stack_policy("s3-buckets-protected", bucket_with(**changes))
    assert len(violations) == 1 and message in violations[0][0]
    assert violations[0][1] == "urn:pulumi:dev::pgw::aws:s3/bucket:Bucket::docs"


def function_with(*, log_group: bool = True, failure_destination: bool = True) -> list[Any]:
    function = policy_resource(FUNCTION, "fn", {"name": "pgw-dev-fn", "loggingConfig": {
        "logGroup": "/aws/lambda/pgw-dev-fn"}})
    resources = [function]
    if log_group:
        resources.append(policy_resource(LOG_GROUP, "logs", {"name": "/aws/lambda/pgw-dev-fn",
                                                             "retentionInDays": 14}))
    destination = {"onFailure": {"destination": "arn:aws:sqs:x:1:failures"}} \
        if failure_destination else {}
    resources.append(policy_resource(INVOKE_CONFIG, "async", {"functionName": "pgw-dev-fn",
                                                              "destinationConfig": destination}))
    return resources


def test_a_wired_function_passes() -> None:
    assert run_stack_policy("lambda-logs-and-failures", function_with()) == []


@pytest.mark.parametrize("changes, message", [
    ({"log_group": False}, "log group"),
    ({"failure_destination": False}, "on-failure destination"),
])
def test_an_unwired_function_fails(changes: dict[str, Any], message: str) -> None:
    violations = run_stack_policy("lambda-logs-and-failures", function_with(**changes))
    assert len(violations) == 1 and message in violations[0][0]


@pytest.mark.parametrize("document, problems", [
    ({"Statement": [allow(["sqs:ListQueues"], "*")]}, []),
    ({"Statement": allow(["sqs:ListQueues", "sqs:DeleteQueue"], "*")},
     ['Resource "*" for sqs:DeleteQueue']),
    ({"Statement": [allow("events:*", ["arn:x"])]}, ["wildcard action events:*"]),
    (None, []),
])
def test_iam_statement_problems(document: Any, problems: list[str]) -> None:
    assert iam_statement_problems(document) == problems


def test_stack_name_comes_from_the_urn() -> None:
    assert Resource(FUNCTION, {}, urn="urn:pulumi:prod::pgw::aws:lambda/function:Function::f"
                    ).stack == "prod"
    assert Resource(FUNCTION, {}).stack == ""
