"""Fixtures for the request-lifecycle handlers: env vars, fresh handler modules, partners."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib
import itertools
from dataclasses import dataclass
from typing import Any, Iterator

import boto3
import pytest

from partners.onboarding.models import DeliveryMode, PartnerEnvironment, PartnerStatus
from partners.onboarding.registry import PartnerRegistry
from partners.onboarding.tokens import TokenStore
from partners.requests.log import RequestLog
from tests.handlers.gateway import Gateway, LambdaContext

PORTAL_TOKEN = "portal-token-for-tests-0123456789"


@functools.cache
def shared_session() -> boto3.session.Session:
    """One session for every test's handler clients: botocore loads each service model once
    per session. Made after moto is imported, so moto's hooks are in every client."""
    import moto  # noqa: F401

    return boto3.session.Session(region_name="us-east-1")

HANDLERS = ("handlers.authorizer", "handlers.partner_api", "handlers.portal_api",
            "handlers.projector", "handlers.routing_recorder", "handlers.partner_deliveries")


def handler_variables(stage) -> dict[str, str]:
    variables = stage.environment_variables()
    variables["PGW_PORTAL_TOKEN_HASH"] = hashlib.sha256(PORTAL_TOKEN.encode()).hexdigest()
    variables["POWERTOOLS_TRACE_DISABLED"] = "true"
    variables["POWERTOOLS_SERVICE_NAME"] = "pgw-test"
    return variables


@pytest.fixture
def handler_env(stage, monkeypatch):
    variables = handler_variables(stage)
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    return variables


@contextlib.contextmanager
def load_handlers(variables: dict[str, str], clock) -> Iterator[dict[str, Any]]:
    """The handler modules, wired to moto and the test's clock while the block runs.

    A handler builds its dependencies once, on first use (`handlers.wiring`); tests
    override them instead of re-importing (as a warm Lambda environment keeps its module
    state), and the overrides end with the block.
    """
    aws = shared_session()
    modules = {name.split(".")[1]: importlib.import_module(name) for name in HANDLERS}
    api, portal = modules["partner_api"], modules["portal_api"]
    projector, recorder = modules["projector"], modules["routing_recorder"]
    authorizer = modules["authorizer"]
    with contextlib.ExitStack() as stack:
        for module, dependencies in (
            (api, api.Dependencies.from_environment(session=aws, clock=clock)),
            (portal, portal.Dependencies.from_environment(session=aws, clock=clock)),
            (projector, projector.Dependencies.from_environment(session=aws)),
            (recorder, recorder.RoutingRecorder(RequestLog(
                variables["PGW_REQUEST_EVENTS_TABLE"], boto3_session=aws, clock=clock))),
            (authorizer, authorizer.from_environment(session=aws, clock=clock)),
            (modules["partner_deliveries"], modules["partner_deliveries"].Dependencies
             .from_environment(session=aws, clock=clock)),
        ):
            stack.enter_context(module.dependencies.override(dependencies))
        yield modules


@pytest.fixture
def handlers(handler_env, aws, clock):
    with load_handlers(handler_env, clock) as modules:
        yield modules


class StreamPump:
    """Feed the request log's DynamoDB stream (moto) to the projector, like Lambda does."""

    def __init__(self, stage, projector, *, from_start: bool = True):
        # botocore derives an account-based endpoint from the stream ARN, which moto's
        # in-process router does not know; the regional endpoint reaches the same backend.
        self.streams = shared_session().client("dynamodbstreams",
                                  endpoint_url="https://streams.dynamodb.us-east-1.amazonaws.com")
        self.projector = projector
        arn = stage.stream_arns["request_events"]
        shards = self.streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]
        self.iterators = [self.streams.get_shard_iterator(
            StreamArn=arn, ShardId=s["ShardId"],
            ShardIteratorType="TRIM_HORIZON" if from_start else "LATEST")["ShardIterator"]
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
    stage: Any = None
    slug_suffix: str = ""

    def partner(self, slug: str, environments=("prod", "test"),
                status: PartnerStatus = PartnerStatus.APPROVED):
        partner = self.registry.create_partner(display_name=f"Partner {slug}",
                                               contact_email=f"{slug}@example.com",
                                               slug=f"{slug}{self.slug_suffix}")
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
        events = self.handlers["partner_api"].dependencies.get().log.events(request_id)
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


def make_world(handlers, stage, clock, *, session=None, fresh_stream: bool = True,
               slug_suffix: str = "") -> World:
    tables = stage.spec.tables
    session = session or shared_session()
    registry = PartnerRegistry(tables["partners"].name, boto3_session=session, clock=clock)
    tokens = TokenStore(tables["tokens"].name, boto3_session=session, clock=clock)
    authorizer = handlers["authorizer"]
    return World(
        handlers=handlers, registry=registry, tokens=tokens,
        pump=StreamPump(stage, handlers["projector"], from_start=fresh_stream), clock=clock,
        api=Gateway(handlers["partner_api"].lambda_handler, authorizer.lambda_handler),
        portal=Gateway(handlers["portal_api"].lambda_handler, authorizer.lambda_handler,
                       public_paths=()),
        stage=stage, slug_suffix=slug_suffix,
    )


@pytest.fixture
def world(handlers, aws, stage, clock):
    """A world on a freshly provisioned stage (empty tables): for tests that scan tables."""
    return make_world(handlers, stage, clock, session=aws)


@pytest.fixture(scope="module")
def module_stage():
    """One provisioned stage (and moto) for a whole test module, its env vars set.

    Provisioning a stage costs more than most tests; modules whose tests only read what they
    wrote themselves (their own partners, tokens and requests) share one.
    """
    from moto import mock_aws

    from infra.local.provision import provision_stage
    from infra.spec import stage_spec

    patch = pytest.MonkeyPatch()
    with mock_aws():
        stage = provision_stage(stage_spec("test"), session=shared_session())
        for name, value in handler_variables(stage).items():
            patch.setenv(name, value)
        yield stage
    patch.undo()


_worlds = itertools.count()


@pytest.fixture
def shared_world(module_stage, clock):
    """A world on the module's stage: its partners get unique slugs, its stream reader
    starts after what earlier tests wrote."""
    with load_handlers(handler_variables(module_stage), clock) as handlers:
        yield make_world(handlers, module_stage, clock, fresh_stream=False,
                         slug_suffix=f"-{next(_worlds)}")
