"""The runtime over a real moto server (ThreadedMotoServer in this process), as `make run` uses it."""

from __future__ import annotations

import json
import socket

import boto3
import pytest

from infra.local.runtime import LocalRuntime, RuntimeSettings
from tests.infra.local.runtime_support import create_function, create_queue, receive_all


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def server_session():
    from moto.server import ThreadedMotoServer

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    session = boto3.session.Session(aws_access_key_id="local", aws_secret_access_key="local",
                                    region_name="us-east-1")
    endpoint = f"http://127.0.0.1:{port}"
    original_client = session.client
    session.client = lambda service, **kw: original_client(service, endpoint_url=endpoint, **kw)
    runtime = LocalRuntime(RuntimeSettings(backoff_scale=0.0001)).start()
    yield session, runtime
    runtime.stop()
    server.stop()
    from moto.core.models import reset_model_data  # the server's state lives in the process

    reset_model_data()


def test_put_events_invoke_test_event_pattern_and_get_usage_over_http(server_session):
    """Any AWS client pointed at the local endpoint sees AWS's behaviour (DESIGN.md, "The
    embedded stack"): delivery, Lambda Invoke, TestEventPattern, GetUsage."""
    session, runtime = server_session
    url, queue_arn = create_queue(session, "server-q")
    events = session.client("events")
    events.put_rule(Name="r", EventPattern=json.dumps({"source": ["s"]}))
    events.put_targets(Rule="r", Targets=[{"Id": "q", "Arn": queue_arn,
                                           "InputTransformer": {
                                               "InputPathsMap": {"v": "$.detail.v"},
                                               "InputTemplate": '{"v": <v>}'}}])
    events.put_events(Entries=[{"Source": "s", "DetailType": "d", "Detail": '{"v": "x"}'}])
    assert runtime.drain(5)
    assert [json.loads(m["Body"]) for m in receive_all(session, url)] == [{"v": "x"}]

    create_function(session, "server-fn")
    runtime.register("server-fn", lambda event, context: {"got": event})
    answer = session.client("lambda").invoke(FunctionName="server-fn", Payload=b'{"a": 1}')
    assert json.loads(answer["Payload"].read()) == {"got": {"a": 1}}

    event = {"id": "1", "account": "123456789012", "source": "s", "time": "2026-11-23T10:00:00Z",
             "region": "us-east-1", "resources": [], "detail-type": "d", "detail": {}}
    assert events.test_event_pattern(EventPattern='{"source": ["s"]}',
                                     Event=json.dumps(event))["Result"] is True

    apigateway = session.client("apigateway")
    plan = apigateway.create_usage_plan(name="plan")["id"]
    key = apigateway.create_api_key(name="k", value="k" * 24, enabled=True)["id"]
    apigateway.create_usage_plan_key(usagePlanId=plan, keyId=key, keyType="API_KEY")
    runtime.usage.record("k" * 24)
    from datetime import datetime, timezone

    today = datetime.now(timezone.utc).date().isoformat()
    usage = apigateway.get_usage(usagePlanId=plan, startDate=today, endDate=today)
    assert usage["items"][key][0][0] >= 1


def test_the_host_lookup_speedup_answers_as_moto_does():
    """patches.moto_core: remembering moto's host -> service answer changes no answer."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    from infra.local import patches

    patches.apply()
    app = DomainDispatcherApplication(create_app=lambda backend: None)
    for host, backend in [("events.us-east-1.amazonaws.com", "events"),
                          ("sqs.us-east-1.amazonaws.com", "sqs"),
                          ("dynamodb", "dynamodb"), ("moto_api", "moto_api")]:
        assert app.get_backend_for_host(host) == backend
        assert app.get_backend_for_host(host) == backend
    assert app.get_backend_for_host(None) is None
    assert app.get_backend_for_host("nothing.example.org") is None
