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
