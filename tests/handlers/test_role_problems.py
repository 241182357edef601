"""A role refusal raised by a use case is a 403 problem with the reason, in every API."""

from __future__ import annotations

import json

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver

from handlers.problems import register_problem_handlers
from partners.onboarding import Actor, Permission, Role, require


def test_a_role_refusal_is_a_403_problem_with_the_reason():
    app = APIGatewayRestResolver()
    register_problem_handlers(app, Logger(service="test"))

    @app.post("/change")
    def change():
        require(Actor.member("u", "v@acme.example", "p1", Role.VIEWER), "p1", Permission.TOKENS)

    event = {"httpMethod": "POST", "path": "/change", "resource": "/change", "headers": {},
             "multiValueHeaders": {}, "queryStringParameters": None, "body": None,
             "isBase64Encoded": False, "requestContext": {"requestId": "r", "stage": "v1"}}
    response = app.resolve(event, None)
    body = json.loads(response["body"])
    assert response["statusCode"] == 403
    assert body["type"] == "urn:pgw:problem:forbidden"
    assert body["detail"].startswith("Your role in this organisation is viewer")


def test_a_permission_error_that_is_no_domain_refusal_is_a_500_without_its_message():
    # The refusal is mapped by its bases (no API imports the onboarding concept for it): an
    # OS-level PermissionError is a bug of ours, not a 403 telling the caller a file path.
    app = APIGatewayRestResolver()
    register_problem_handlers(app, Logger(service="test"))

    @app.post("/change")
    def change():
        raise PermissionError(13, "Permission denied", "/var/task/secret.json")

    event = {"httpMethod": "POST", "path": "/change", "resource": "/change", "headers": {},
             "multiValueHeaders": {}, "queryStringParameters": None, "body": None,
             "isBase64Encoded": False, "requestContext": {"requestId": "r", "stage": "v1"}}
    response = app.resolve(event, None)
    assert response["statusCode"] == 500
    assert json.loads(response["body"])["type"] == "urn:pgw:problem:internal-error"
    assert "/var/task" not in response["body"]
