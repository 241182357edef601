"""The reconciler's Lambda handler: event shapes, a real run against moto, no secrets logged."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest

from handlers import reconciler as handler
from partners.core.constants import Env
from partners.core.exceptions import ValidationError
from partners.onboarding.models import RoutingState
from tests.partners.routing.reconciler_fixtures import (  # noqa: F401 (fixture)
    ROUTING_RECORDER_ARN,
    poll_env,
    push_env,
    world,
)


@dataclass
class FakeContext:
    function_name: str = "pgw-test-reconciler"
    memory_limit_in_mb: int = 1024
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:pgw-test-reconciler"
    aws_request_id: str = "req-1"
    remaining_ms: int = 300_000

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


@pytest.mark.parametrize("event, partner_id, deep", [
    ({"partner_id": "p0123456789a"}, "p0123456789a", False),
    ({"partner_id": "p0123456789a", "resync": "deep"}, "p0123456789a", True),
    ({"source": "schedule"}, None, False),
    ({"source": "aws.scheduler"}, None, False),
    ({"version": "0", "source": "aws.events", "detail-type": "Scheduled Event", "detail": {}},
     None, False),
    ({"resync": "full"}, None, False),
    ({"resync": "deep"}, None, True),
    ({}, None, False),
])
def test_parse_request(event, partner_id, deep):
    request = handler.parse_request(event)
    assert (request.partner_id, request.deep) == (partner_id, deep)


@pytest.mark.parametrize("event, field", [
    ({"partner_id": 5}, "partner_id"),
    ({"partner_id": ""}, "partner_id"),
    ({"partner_id": "P0123/../x"}, "partner_id"),
    ({"resync": "everything"}, "resync"),
    ([1, 2], None),
    ("partner", None),
])
def test_parse_request_refuses_bad_events(event, field):
    with pytest.raises(ValidationError) as caught:
        handler.parse_request(event)
    assert caught.value.field == field


@pytest.fixture
def lambda_env(world, monkeypatch):
    spec = world.stage.spec
    for name, value in {
        Env.BUS_NAME: spec.bus_name,
        Env.RESOURCE_PREFIX: spec.partner_resource_prefix,
        Env.ROUTING_RECORDER_ARN: ROUTING_RECORDER_ARN,
        Env.PARTNERS_TABLE: spec.tables["partners"].name,
        Env.SECRET_PREFIX: spec.secret_prefix,
    }.items():
        monkeypatch.setenv(name, value)
    # Nothing built: the first invocation builds from the environment just set.
    with handler.dependencies.override():
        yield world


def _finished(caplog) -> list[dict]:
    return [record.__dict__ for record in caplog.records
            if record.getMessage() == "reconcile finished"]


def test_handler_reconciles_one_partner_then_all(lambda_env, caplog):
    world = lambda_env
    partner = world.partner("acme", push_env("prod"), poll_env("test"),
                            secret="handler-secret-value")
    result = handler.lambda_handler({"partner_id": partner.id}, FakeContext())
    assert result["ok"] and result["scope"] == partner.id
    assert result["states"] == {"live": 2} and result["writes"] == 9
    statuses = world.registry.routing_statuses(partner.id)
    assert {s.state for s in statuses.values()} == {RoutingState.LIVE}

    scheduled = handler.lambda_handler({"source": "schedule"}, FakeContext())
    assert scheduled["ok"] and scheduled["scope"] == "all" and scheduled["writes"] == 0
    assert scheduled["headroom"]["rules_per_bus"]["used"] == 2
    deep = handler.lambda_handler({"resync": "deep"}, FakeContext())
    assert deep["deep"] and deep["looked_closer"] == 2 and deep["writes"] == 0

    finished = _finished(caplog)
    assert [entry["scope"] for entry in finished] == [partner.id, "all", "all"]
    everything = json.dumps([r.__dict__ for r in caplog.records], default=str)
    assert "handler-secret-value" not in everything + caplog.text


def test_handler_stops_in_time(lambda_env):
    world = lambda_env
    world.partner("acme", poll_env("test"))
    result = handler.lambda_handler({"source": "schedule"}, FakeContext(remaining_ms=10_000))
    assert result["ok"] and result["deferred"] == 1 and result["writes"] == 0
    result = handler.lambda_handler({"source": "schedule"}, FakeContext())
    assert result["deferred"] == 0 and result["states"] == {"live": 1}


def test_handler_answers_bad_input_without_raising(lambda_env, caplog):
    result = handler.lambda_handler({"partner_id": 42}, FakeContext())
    assert result == {"ok": False,
                      "error": "partner_id must be 1-40 lower-case letters or digits"}
    refused = [r for r in caplog.records if r.getMessage() == "reconcile request refused"]
    assert refused and refused[0].__dict__["field"] == "partner_id"


def test_handler_logs_failures(lambda_env, caplog):
    world = lambda_env
    partner = world.partner("acme", poll_env("test"))
    world.update(partner.id, lambda p: p.with_environment(push_env("prod")))
    result = handler.lambda_handler({"partner_id": partner.id}, FakeContext())
    assert result["states"] == {"live": 1, "error": 1}
    failed = _finished(caplog)[0]["failed"]
    assert failed == [{"environment": f"{world.settings.resource_prefix}{partner.id}-prod",
                       "state": "error",
                       "reason": "push mode needs endpoint credentials; set them in the console"}]
