"""The API Gateway stand-in answers every gateway error with the program's problem+json.

The Pulumi program declares `x-amazon-apigateway-gateway-responses` from
`infra.spec.problem_gateway_responses`; the embedded stack's stand-in applies the same
declaration (`program_gateway_responses`), so a partner sees the same 401/403/404/413/429/5xx
locally as on AWS: `Content-Type: application/problem+json` (RFC 9457), never AWS's default
`application/json` `{"message": ...}`. Gateway response types and their default statuses:
https://docs.aws.amazon.com/apigateway/latest/developerguide/supported-gateway-response-types.html
"""

from __future__ import annotations

import json

import pytest

from infra.local.apigateway import program_gateway_responses
from infra.local.apigateway.responses import AWS_RESPONSE_TYPES, DEFAULT_GATEWAY_RESPONSES
from infra.spec import GATEWAY_PROBLEMS, problem_gateway_responses

PROGRAM = program_gateway_responses(problem_gateway_responses())


def _expected_status(kind: str) -> int:
    declared = GATEWAY_PROBLEMS.get(AWS_RESPONSE_TYPES.get(kind, kind))
    if declared is not None and declared[0] is not None:
        return declared[0]
    return DEFAULT_GATEWAY_RESPONSES[kind].status  # DEFAULT_4XX/5XX keep the type's status


@pytest.mark.parametrize("kind", sorted(DEFAULT_GATEWAY_RESPONSES))
def test_every_gateway_error_is_the_programs_problem_json(kind: str) -> None:
    response = PROGRAM[kind].render("req-1", {"deny_reason": "partner is suspended"})
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.status_code == _expected_status(kind)
    problem = json.loads(response.get_data(as_text=True))
    assert problem["type"] == "about:blank" and problem["title"]
    assert problem["instance"] == "req-1"
    assert isinstance(problem["detail"], str)
    if "status" in problem:
        assert problem["status"] == response.status_code


@pytest.mark.parametrize("kind, status, title", [
    ("UNAUTHORIZED", 401, "A valid partner API token is required"),
    ("ACCESS_DENIED", 403, "This token may not perform this request"),
    ("ACCESS_DENIED_IMPLICIT", 403, "This token may not perform this request"),
    ("MISSING_AUTHENTICATION_TOKEN", 404, "No such route"),
    ("THROTTLED", 429, "Too many requests; retry later"),
    ("QUOTA_EXCEEDED", 429, "The usage quota is exhausted for today"),
    ("REQUEST_TOO_LARGE", 413, "The request body is too large"),
    ("AUTHORIZER_FAILURE", 500, "The gateway failed to serve the request"),
    ("INTEGRATION_FAILURE", 502, "The gateway failed to serve the request"),
])
def test_statuses_and_titles_come_from_the_one_declaration(kind: str, status: int,
                                                           title: str) -> None:
    response = PROGRAM[kind].render("req-2")
    assert (response.status_code, json.loads(response.get_data())["title"]) == (status, title)


def test_a_deny_passes_the_authorizers_reason() -> None:
    response = PROGRAM["ACCESS_DENIED"].render("req-3", {"deny_reason": "token revoked"})
    assert json.loads(response.get_data())["reason"] == "token revoked"


def test_without_the_programs_declaration_the_stand_in_answers_like_aws_does() -> None:
    """The control: AWS's defaults are application/json, so the tests above can fail."""
    response = DEFAULT_GATEWAY_RESPONSES["UNAUTHORIZED"].render("req-4")
    assert response.headers["Content-Type"] == "application/json"
    assert json.loads(response.get_data()) == {"message": "Unauthorized"}
