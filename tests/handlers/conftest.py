"""Fixtures for the request-lifecycle handlers: env vars, fresh handler modules, partners."""

from __future__ import annotations

import functools
import hashlib
import importlib
from dataclasses import dataclass, replace
from typing import Any

import boto3
import pytest

from partners.models import PartnerEnvironment, PartnerStatus, DeliveryMode
from partners.registry import PartnerRegistry
from partners.requests import RequestLog
from partners.tokens import TokenStore
from tests.handlers.gateway import Gateway, LambdaContext

PORTAL_TOKEN = "portal-token-for-tests-0123456789"


@functools.cache
def shared_session() -> boto3.session.Session:
    """One session for every test's handler clients: botocore loads each service model once
    per session. Made after moto is imported, so moto's hooks are in every client."""
    import moto  # noqa: F401

    return boto3.session.Session(region_name="us-east-1")

HANDLERS = ("handlers.authorizer", "handlers.partner_api", "handlers.portal_api",
            "handlers.projector", "handlers.routing_recorder")


@pytest.fixture
def handler_env(stage, monkeypatch):
    variables = stage.environment_variables()
    variables["PGW_PORTAL_TOKEN_HASH"] = hashlib.sha256(PORTAL_TOKEN.encode()).hexdigest()
    variables["POWERTOOLS_TRACE_DISABLED"] = "true"
    variables["POWERTOOLS_SERVICE_NAME"] = "pgw-test"
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    return variables


@pytest.fixture
def handlers(handler_env, aws, clock):
    aws = shared_session()
    """The handler modules, with dependencies built in this test's moto and clock.

    Each module builds its clients once, at import, from the environment; tests inject fresh
    ones instead of re-importing (as a warm Lambda container keeps its module state).
    """
    modules = {name.split(".")[1]: importlib.import_module(name) for name in HANDLERS}
    api, portal = modules["partner_api"], modules["portal_api"]
    api.deps = api.Dependencies.from_environment(session=aws, clock=clock)
    portal.deps = portal.Dependencies.from_environment(session=aws, clock=clock)
    modules["projector"].deps = modules["projector"].Dependencies.from_environment(session=aws)
    recorder = modules["routing_recorder"]
    recorder.recorder = recorder.RoutingRecorder(RequestLog(
        handler_env["PGW_REQUEST_EVENTS_TABLE"], boto3_session=aws, clock=clock))
    authorizer = modules["authorizer"]
    authorizer.authorizer = authorizer.from_environment(session=aws, clock=clock)
    return modules


class StreamPump:
    """Feed the request log's DynamoDB stream (moto) to the projector, like Lambda does."""

    def __init__(self, aws, stage, projector):
        # botocore derives an account-based endpoint from the stream ARN, which moto's
        # in-process router does not know; the regional endpoint reaches the same backend.
        self.streams = shared_session().client("dynamodbstreams",
                                  endpoint_url="https://streams.dynamodb.us-east-1.amazonaws.com")
        self.projector = projector
        arn = stage.stream_arns["request_events"]
        shards = self.streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]
        self.iterators = [self.streams.get_shard_iterator(
            StreamArn=arn, ShardId=s["ShardId"], ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
            for s in shards]

    def pump(self) -> int:
        count = 0
        for i, iterator in enumerate(self.iterators):
            response = self.streams.get_records(ShardIterator=iterator)
            self.iterators[i] = response["NextShardIterator"]
            records = response["Records"]
            if records:
                result = self.projector.lambda_handler({"Records": records}, LambdaContext())
                assert result == {"batchItemFailures": []}
                count += len(records)
        return count


@dataclass
class World:
    """Partners, tokens and requests of a test, with the gateway in front of the handlers."""

    handlers: dict[str, Any]
    registry: PartnerRegistry
    tokens: TokenStore
    pump: StreamPump
    clock: Any
    api: Gateway
    portal: Gateway

    def partner(self, slug: str, environments=("prod", "test"),
                status: PartnerStatus = PartnerStatus.APPROVED):
        partner = self.registry.create_partner(display_name=f"Partner {slug}",
                                               contact_email=f"{slug}@example.com", slug=slug)
        for name in environments:
            partner = partner.with_environment(PartnerEnvironment(name, mode=DeliveryMode.POLL))
        partner = self.registry.save_partner(partner)
        partner = self.registry.transition(partner, PartnerStatus.PENDING_APPROVAL)
        if status is not PartnerStatus.PENDING_APPROVAL:
            partner = self.registry.transition(partner, PartnerStatus.APPROVED)
        if status is PartnerStatus.SUSPENDED:
            partner = self.registry.transition(partner, PartnerStatus.SUSPENDED)
        return partner

    def token(self, partner_id: str, environment: str) -> str:
        return self.tokens.issue(partner_id, environment).token

    def create_request(self, environment: str = "prod", **extra) -> str:
        body = {"environment": environment, "request_type": "stock.check", "user_id": "u1",
                "attributes": {"sku": "A-1", "qty": 2}, **extra}
        response = self.portal.call("POST", "/v1/portal/requests", body=body,
                                    headers={"Authorization": f"Bearer {PORTAL_TOKEN}"})
        assert response.status == 202, response.text
        return response.json()["request_id"]

    def route(self, request_id: str, partner_id: str, environment: str = "prod",
              mode: str = "poll") -> dict[str, Any]:
        """What EventBridge does for a matching rule's `routing` target."""
        events = self.handlers["partner_api"].deps.log.events(request_id)
        detail = events[0].data
        payload = {"partner_id": partner_id, "environment": environment, "mode": mode,
                   "event": {"version": "0", "id": f"ev-{request_id}", "detail-type": "Request Created",
                             "source": "marketplace.requests", "account": "123456789012",
                             "time": detail["occurred_at"], "region": "us-east-1",
                             "resources": [], "detail": detail}}
        result = self.handlers["routing_recorder"].lambda_handler(payload, LambdaContext())
        self.pump.pump()
        return result

    def get(self, path: str, token: str, **kwargs):
        return self.api.call("GET", path, headers={"Authorization": f"Bearer {token}"}, **kwargs)

    def post_status(self, request_id: str, token: str, body: Any, key: str | None = "k1",
                    headers: dict[str, str] | None = None):
        all_headers = {"Authorization": f"Bearer {token}", **(headers or {})}
        if key is not None:
            all_headers["Idempotency-Key"] = key
        return self.api.call("POST", f"/v1/requests/{request_id}/status", headers=all_headers,
                             body=body)


@pytest.fixture
def world(handlers, aws, stage, clock):
    tables = stage.spec.tables
    registry = PartnerRegistry(tables["partners"].name, boto3_session=aws, clock=clock)
    tokens = TokenStore(tables["tokens"].name, boto3_session=aws, clock=clock)
    authorizer = handlers["authorizer"]
    return World(
        handlers=handlers, registry=registry, tokens=tokens,
        pump=StreamPump(aws, stage, handlers["projector"]), clock=clock,
        api=Gateway(handlers["partner_api"].lambda_handler, authorizer.lambda_handler),
        portal=Gateway(handlers["portal_api"].lambda_handler, authorizer.lambda_handler,
                       public_paths=()),
    )
