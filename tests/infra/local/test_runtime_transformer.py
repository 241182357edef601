"""Input rendering with EventBridge's semantics (pure)."""

from __future__ import annotations

import json

import pytest

from infra.local.runtime.envelope import aws_event, iso_time
from infra.local.runtime.transformer import (
    MISSING,
    InputPathError,
    RuleContext,
    extract_path,
    render_input,
    render_template,
    resolve_variables,
)
from partners.core.contracts import CLOUDEVENTS_TRANSFORMER, cloudevent_for

# The EC2 example event of the AWS page "Amazon EventBridge input transformation".
EC2_EVENT = {
    "version": "0",
    "id": "7bf73129-1428-4cd3-a780-95db273d1602",
    "detail-type": "EC2 Instance State-change Notification",
    "source": "aws.ec2",
    "account": "123456789012",
    "time": "2015-11-11T21:29:54Z",
    "region": "us-east-1",
    "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111"],
    "detail": {"instance-id": "i-0123456789", "state": "RUNNING", "count": 3,
               "tags": {"a": "b"}},
}
CONTEXT = RuleContext("my-rule", "arn:aws:events:us-east-1:123456789012:rule/my-rule",
                      "2015-11-11T21:29:55Z")
PATHS = {"instance": "$.detail.instance-id", "state": "$.detail.state",
         "count": "$.detail.count", "tags": "$.detail.tags", "nothing": "$.detail.missing"}


def render(template: str) -> str:
    return render_template(template, resolve_variables(PATHS, EC2_EVENT, CONTEXT))


@pytest.mark.parametrize("template, expected", [
    # AWS page "Amazon EventBridge input transformation", section "Input transform examples":
    # a string outside quotes is inserted as a JSON string.
    ('{"instance": <instance>, "state": [9, <state>, true], "Transformed": "Yes"}',
     '{"instance": "i-0123456789", "state": [9, "RUNNING", true], "Transformed": "Yes"}'),
    # Inside quotes: raw text.
    ('"instance <instance> is in state <state>"',
     '"instance i-0123456789 is in state RUNNING"'),
    # InputTransformer API reference: escaped quotes inside a JSON string.
    ('{"myStatus": "<instance> is in state \\"<state>\\""}',
     '{"myStatus": "i-0123456789 is in state \\"RUNNING\\""}'),
    # Numbers and objects outside quotes stay JSON values.
    ('{"n": <count>, "tags": <tags>}', '{"n": 3, "tags": {"a":"b"}}'),
    # An object inside a string loses its inner quotes (a valid string stays valid).
    ('{"text": "tags <tags>"}', '{"text": "tags {a:b}"}'),
    # A path the event does not have.
    ('{"x": <nothing>, "y": "[<nothing>]"}', '{"x": null, "y": "[]"}'),
    # Predefined variables.
    ('{"rule": <aws.events.rule-name>, "at": "<aws.events.event.ingestion-time>"}',
     '{"rule": "my-rule", "at": "2015-11-11T21:29:55Z"}'),
    # A placeholder that names no variable stays as it is.
    ('{"keep": "<unknown>"}', '{"keep": "<unknown>"}'),
    # A text (non-JSON) template takes every value raw.
    ("state: <state>", "state: RUNNING"),
])
def test_template_rendering_follows_the_input_transformation_page(template, expected):
    """AWS documentation: "Amazon EventBridge input transformation" (eb-transform-target-input)."""
    assert render(template) == expected


def test_aws_events_event_has_no_detail_and_event_json_has_it():
    """eb-transform-target-input, "Predefined variables": `aws.events.event` is the event
    without `detail`; `aws.events.event.json` is the full event."""
    out = json.loads(render('{"a": <aws.events.event>, "b": <aws.events.event.json>}'))
    assert "detail" not in out["a"] and out["a"]["id"] == EC2_EVENT["id"]
    assert out["b"] == EC2_EVENT


@pytest.mark.parametrize("path, expected", [
    ("$", EC2_EVENT),
    ("$.detail.state", "RUNNING"),
    ("$.detail-type", "EC2 Instance State-change Notification"),
    ("$.resources[0]", EC2_EVENT["resources"][0]),
    ("$.resources[5]", MISSING),
    ("$.detail.nope", MISSING),
    ("$.detail.tags.*", ["b"]),
])
def test_extract_path(path, expected):
    """eb-transform-target-input: dot notation, dashes, array indices, wildcards."""
    assert extract_path(EC2_EVENT, path) == expected


@pytest.mark.parametrize("path", ["detail.state", "$..state", "$.detail[abc]"])
def test_unsupported_paths_are_refused(path):
    with pytest.raises(InputPathError):
        extract_path(EC2_EVENT, path)


@pytest.mark.parametrize("target, expected", [
    ({"Input": '{"constant": true}'}, '{"constant": true}'),
    ({"InputPath": "$.detail.state"}, '"RUNNING"'),
    ({"InputPath": "$.detail.tags"}, '{"a":"b"}'),
    ({}, json.dumps(EC2_EVENT, separators=(",", ":"))),
])
def test_input_and_input_path(target, expected):
    """API reference "Target": Input (constant JSON), InputPath, or the whole event."""
    assert render_input({"Arn": "x", **target}, EC2_EVENT, CONTEXT) == expected


def test_cloudevents_transformer_renders_what_the_contract_says():
    """The partner delivery template (partners.core.contracts) renders to valid JSON equal to
    `cloudevent_for`, strings quoted as AWS quotes them."""
    event = dict(EC2_EVENT, detail={"request_id": "r-1", "environment": "prod"})
    target = {"Arn": "x", "InputTransformer": {"InputPathsMap": CLOUDEVENTS_TRANSFORMER.paths,
                                               "InputTemplate": CLOUDEVENTS_TRANSFORMER.template}}
    rendered = json.loads(render_input(target, event, CONTEXT))
    assert rendered == cloudevent_for(event)
    assert rendered["id"] == "r-1" != event["id"]  # stays the same for a resend or redrive


@pytest.mark.parametrize("value, expected", [
    (1448000000, "2015-11-20T06:13:20Z"),
    (1448000000.75, "2015-11-20T06:13:20Z"),
    ("1448000000", "2015-11-20T06:13:20Z"),
    ("2015-11-11T21:29:54Z", "2015-11-11T21:29:54Z"),
    ("2015-11-11T21:29:54+01:00", "2015-11-11T20:29:54Z"),
])
def test_event_time_is_iso_8601(value, expected):
    """AWS documentation "Amazon EventBridge events" (eb-events-structure): `time` is ISO 8601;
    moto gives epoch seconds."""
    assert iso_time(value) == expected


def test_aws_event_drops_moto_internals_and_keeps_replay_name():
    moto_event = dict(EC2_EVENT, time=1448000000, **{"ingestion-time": 1448000001.2,
                                                     "replay-name": "r1"})
    event, ingestion = aws_event(moto_event)
    assert list(event)[:9] == ["version", "id", "detail-type", "source", "account", "time",
                               "region", "resources", "detail"]
    assert "ingestion-time" not in event and event["replay-name"] == "r1"
    assert event["time"] == "2015-11-20T06:13:20Z" and ingestion == "2015-11-20T06:13:21Z"


@pytest.mark.parametrize("pattern", [
    {"source": ["aws.ec2"]},
    {"detail": {"state": ["RUNNING"], "count": [{"numeric": [">", 2]}]}},
    {"detail": {"tags": {"a": ["b"]}}, "resources": [{"prefix": "arn:aws:ec2"}]},
    {"detail": {"missing": [{"exists": False}]}, "time": [{"prefix": "2015-11-20"}]},
    {"source": ["other"]},
    {},
])
def test_shaped_event_matches_exactly_as_moto_matches_the_aws_event(pattern):
    """The matcher that routes is moto's EventPattern, applied to the event AWS delivers
    (ISO `time`); the memo only avoids flattening it once per rule."""
    from moto.events.models import EventPattern

    from infra.local.runtime.envelope import ShapedEvents

    moto_event = dict(EC2_EVENT, time=1448000000, **{"ingestion-time": 1448000001})

    class Rule:
        event_pattern = EventPattern.load(json.dumps(pattern) if pattern else None)

    shaped = ShapedEvents().get(moto_event)
    assert shaped.matches(Rule) is Rule.event_pattern.matches_event(shaped.event)


def test_shaped_events_are_made_once_per_event_id():
    from infra.local.runtime.envelope import ShapedEvents

    memo = ShapedEvents(size=2)
    first = memo.get(dict(EC2_EVENT, time=1.0))
    assert memo.get(dict(EC2_EVENT, time=2.0)) is first  # moto's per-rule time stamps differ
    assert memo.get(dict(EC2_EVENT, **{"replay-name": "r"})) is not first
    memo.get(dict(EC2_EVENT, id="other"))  # over the size: the memo starts again
    assert memo.get(dict(EC2_EVENT, time=1.0)) is not first
