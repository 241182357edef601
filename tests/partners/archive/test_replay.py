"""Archive replay: window, chosen rules only, optional pattern, progress (moto, AWS semantics)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from infra.local.provision import provision_archive
from infra.local.patches import apply as install_replay_semantics
from partners.archive.exceptions import InvalidReplayError, ReplayNotFoundError
from partners.archive.patterns import combine_patterns, parse_pattern
from partners.archive.progress import ReplayProgress, progress_from
from partners.archive.replay import (
    Replayer,
    default_replay_name,
    parse_time,
    rule_names,
    temporary_rule_name,
)

T0 = datetime(2026, 11, 23, 10, 0, tzinfo=timezone.utc)
STATUS_PATTERN = {"source": ["marketplace.requests"], "detail-type": ["Request Status Changed"]}


# --- pure parts --------------------------------------------------------------------------

@pytest.mark.parametrize("rule,extra,expected", [
    ({"source": ["a"]}, {"detail": {"status": ["accepted"]}},
     {"source": ["a"], "detail": {"status": ["accepted"]}}),
    ({"source": ["a", "b"]}, {"source": ["b", "c"]}, {"source": ["b"]}),
    ({"detail": {"environment": ["prod"]}}, {"detail": {"status": ["declined"]}},
     {"detail": {"environment": ["prod"], "status": ["declined"]}}),
    ({"detail": {"environment": ["prod", "test"]}}, {"detail": {"environment": ["test"]}},
     {"detail": {"environment": ["test"]}}),
    ({"source": ["a"]}, {"detail": {"amount": [{"numeric": [">", 5]}]}},
     {"source": ["a"], "detail": {"amount": [{"numeric": [">", 5]}]}}),
])
def test_combine_patterns(rule, extra, expected):
    assert combine_patterns(rule, extra, rule_name="r") == expected


@pytest.mark.parametrize("rule,extra", [
    ({"source": ["a"]}, {"source": ["b"]}),                              # disjoint
    ({"source": [{"prefix": "mar"}]}, {"source": ["marketplace"]}),      # matcher vs value
    ({"detail": {"status": ["x"]}}, {"detail": ["x"]}),                  # object vs list
])
def test_combine_patterns_refuses_what_one_pattern_cannot_say(rule, extra):
    with pytest.raises(InvalidReplayError) as caught:
        combine_patterns(rule, extra, rule_name="r")
    assert caught.value.field == "pattern"


@pytest.mark.parametrize("text", [
    "not json", "[]", "{}", '{"source": "a"}', '{"detail": {"status": []}}',
    '{"$or": [1, 2]}',
])
def test_parse_pattern_refuses_malformed_patterns(text):
    with pytest.raises(InvalidReplayError):
        parse_pattern(text)


def test_parse_pattern_accepts_a_pattern_and_nothing():
    assert parse_pattern('{"detail": {"status": ["accepted"]}}') == {
        "detail": {"status": ["accepted"]}}
    assert parse_pattern(None) is None and parse_pattern("") is None


@pytest.mark.parametrize("text,expected", [
    ("2026-11-23T10:00:00Z", T0),
    ("2026-11-23T10:00:00", T0),
    ("2026-11-23T11:00:00+01:00", T0),
    ("2026-11-23", datetime(2026, 11, 23, tzinfo=timezone.utc)),
])
def test_parse_time(text, expected):
    assert parse_time(text, field_name="from") == expected


@pytest.mark.parametrize("text", ["yesterday", "", "23/11/2026"])
def test_parse_time_refuses(text):
    with pytest.raises(InvalidReplayError) as caught:
        parse_time(text, field_name="to")
    assert caught.value.field == "to"


def test_names_fit_eventbridge_limits():
    long_rule = "pgw-staging01-pt-p4k9x2m7q1zb0-production-with-a-long-suffix-x"
    name = temporary_rule_name(long_rule, "abc123")
    assert len(name) <= 64 and name.endswith("-rp-abc123")
    assert temporary_rule_name("short", "abc123") == "short-rp-abc123"
    assert default_replay_name("pgw-test-marketplace", T0, "abc123") == \
        "pgw-test-marketplace-20261123T1000-abc123"
    assert len(default_replay_name("x" * 80, T0, "abc123")) <= 64


def test_rule_names_from_repeated_and_comma_separated_options():
    assert rule_names(["a,b", "c", "a", " d , "]) == ["a", "b", "c", "d"]


@pytest.mark.parametrize("state,last,fraction", [
    ("STARTING", None, 0.0),
    ("RUNNING", T0 + timedelta(minutes=15), 0.25),
    ("RUNNING", T0 - timedelta(minutes=5), 0.0),
    ("COMPLETED", None, 1.0),
    ("CANCELLED", T0 + timedelta(minutes=30), 0.5),
])
def test_progress_fraction(state, last, fraction):
    progress = ReplayProgress("r", state, T0, T0 + timedelta(hours=1), last)
    assert progress.fraction == fraction
    assert progress.done == (state in ("COMPLETED", "CANCELLED"))
    assert f"{fraction:.0%}" in progress.describe()


def test_progress_from_describe_replay():
    progress = progress_from({
        "ReplayName": "r", "State": "RUNNING", "EventStartTime": T0,
        "EventEndTime": T0 + timedelta(hours=2), "EventLastReplayedTime": T0 + timedelta(hours=1),
        "Destination": {"Arn": "bus", "FilterArns": ["arn:rule/a"]}, "StateReason": "",
    })
    assert progress.fraction == 0.5 and progress.filter_arns == ("arn:rule/a",)


# --- against moto ------------------------------------------------------------------------

class World:
    """The test stage with its archive, two rules each delivering to its own SQS queue."""

    def __init__(self, aws, spec, stage, clock):
        install_replay_semantics()
        provision_archive(spec, stage, session=aws)
        self.events, self.sqs = aws.client("events"), aws.client("sqs")
        self.bus = spec.bus_name
        self.queues = {}
        for rule in ("pgw-test-alpha", "pgw-test-beta"):
            url = self.sqs.create_queue(QueueName=rule)["QueueUrl"]
            arn = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
            self.events.put_rule(Name=rule, EventBusName=self.bus,
                                 EventPattern=json.dumps(STATUS_PATTERN))
            self.events.put_targets(Rule=rule, EventBusName=self.bus, Targets=[
                {"Id": "queue", "Arn": arn["Attributes"]["QueueArn"]}])
            self.queues[rule] = url
        self.replayer = Replayer(self.bus, spec.archive_name, boto3_session=aws, clock=clock,
                                 id_factory=iter(f"t{i}" for i in range(100)).__next__)

    def put(self, request_id, status, at):
        self.events.put_events(Entries=[{
            "EventBusName": self.bus, "Source": "marketplace.requests",
            "DetailType": "Request Status Changed", "Time": at,
            "Detail": json.dumps({"request_id": request_id, "status": status})}])

    def received(self, rule):
        """(request id, status, replay name) of every message the rule's queue got, drained."""
        got = []
        while True:
            messages = self.sqs.receive_message(QueueUrl=self.queues[rule],
                                                MaxNumberOfMessages=10).get("Messages", [])
            if not messages:
                return sorted(got)
            for message in messages:
                event = json.loads(message["Body"])
                got.append((event["detail"]["request_id"], event["detail"]["status"],
                            event.get("replay-name")))
                self.sqs.delete_message(QueueUrl=self.queues[rule],
                                        ReceiptHandle=message["ReceiptHandle"])


@pytest.fixture
def world(aws, spec, stage, clock):
    world = World(aws, spec, stage, clock)
    world.put("r-1", "accepted", T0 + timedelta(minutes=5))
    world.put("r-2", "declined", T0 + timedelta(minutes=35))
    world.put("r-3", "accepted", T0 + timedelta(minutes=90))
    # Live delivery happened; the queues start empty for the replays.
    assert len(world.received("pgw-test-alpha")) == 3
    assert len(world.received("pgw-test-beta")) == 3
    clock.advance(hours=3)
    return world


def test_replay_redelivers_the_window_to_the_chosen_rules_only(world):
    progress = world.replayer.start(T0, T0 + timedelta(hours=1), rules=["pgw-test-alpha"],
                                    name="fix-alpha")
    assert progress.state == "COMPLETED" and progress.fraction == 1.0
    assert progress.last_replayed == T0 + timedelta(minutes=35)
    assert world.received("pgw-test-alpha") == [("r-1", "accepted", "fix-alpha"),
                                                ("r-2", "declined", "fix-alpha")]
    assert world.received("pgw-test-beta") == []
    # Replayed events are not archived again.
    archived = world.events.describe_archive(ArchiveName=world.replayer.archive_name)
    assert archived["EventCount"] == 3


def test_replay_without_rules_reaches_every_rule(world):
    world.replayer.start(T0 + timedelta(minutes=30), T0 + timedelta(hours=2), name="all")
    expected = [("r-2", "declined", "all"), ("r-3", "accepted", "all")]
    assert world.received("pgw-test-alpha") == expected
    assert world.received("pgw-test-beta") == expected


def test_replay_with_a_pattern_goes_through_a_temporary_rule(world):
    progress = world.replayer.start(T0, T0 + timedelta(hours=2), rules=["pgw-test-beta"],
                                    pattern={"detail": {"status": ["accepted"]}}, name="acc")
    assert progress.filter_arns and all("-rp-" in arn for arn in progress.filter_arns)
    assert world.received("pgw-test-beta") == [("r-1", "accepted", "acc"),
                                               ("r-3", "accepted", "acc")]
    assert world.received("pgw-test-alpha") == []
    # The temporary rule never takes live events: a new event reaches beta once.
    world.put("r-4", "accepted", T0 + timedelta(hours=3))
    assert world.received("pgw-test-beta") == [("r-4", "accepted", None)]
    world.received("pgw-test-alpha")

    assert world.replayer.cleanup("acc") == ["pgw-test-beta-rp-t0"]
    names = [r["Name"] for r in world.events.list_rules(EventBusName=world.bus)["Rules"]]
    assert "pgw-test-beta-rp-t0" not in names and "pgw-test-beta" in names
    assert world.replayer.cleanup("acc") == []


@pytest.mark.parametrize("kwargs,field", [
    ({"start": T0 + timedelta(hours=1), "end": T0}, "from"),
    ({"start": T0, "end": T0 + timedelta(days=1)}, "to"),
    ({"rules": ["no-such-rule"]}, "rule"),
    ({"name": "bad name!"}, "name"),
    ({"pattern": {"source": ["elsewhere"]}}, "pattern"),
])
def test_bad_replays_are_refused_before_anything_starts(world, kwargs, field):
    arguments = {"start": T0, "end": T0 + timedelta(hours=1), **kwargs}
    with pytest.raises(InvalidReplayError) as caught:
        world.replayer.start(arguments.pop("start"), arguments.pop("end"), **arguments)
    assert caught.value.field == field
    assert world.events.list_replays()["Replays"] == []


def test_a_replay_name_is_used_once(world):
    world.replayer.start(T0, T0 + timedelta(hours=1), name="once")
    with pytest.raises(InvalidReplayError):
        world.replayer.start(T0, T0 + timedelta(hours=1), name="once")


def test_unknown_replay(world):
    with pytest.raises(ReplayNotFoundError):
        world.replayer.progress("nope")


# --- the operator command ----------------------------------------------------------------

def run_cli(world, *argv):
    import io

    from handlers.replay_cli import main

    out, err = io.StringIO(), io.StringIO()
    status = main(list(argv), out=out, err=err, replayer=world.replayer,
                  sleep=lambda seconds: None)
    lines = out.getvalue().splitlines()
    return status, lines, err.getvalue()


def test_cli_replays_to_a_rule_and_reports_progress(world):
    status, lines, _ = run_cli(world, "--from", "2026-11-23T10:00:00Z",
                               "--to", "2026-11-23T11:00:00Z", "--rule", "pgw-test-alpha",
                               "--name", "cli-1")
    assert status == 0
    assert lines[0].startswith("cli-1 COMPLETED 100%")
    summary = json.loads(lines[-1])
    assert summary == {"name": "cli-1", "state": "COMPLETED", "fraction": 1.0,
                       "window": ["2026-11-23T10:00:00Z", "2026-11-23T11:00:00Z"],
                       "last_replayed": "2026-11-23T10:35:00Z", "rules": ["pgw-test-alpha"],
                       "removed_rules": []}
    assert [r[0] for r in world.received("pgw-test-alpha")] == ["r-1", "r-2"]
    assert world.received("pgw-test-beta") == []

    status, lines, _ = run_cli(world, "--status", "cli-1")
    assert status == 0 and json.loads(lines[-1])["state"] == "COMPLETED"


def test_cli_with_a_pattern_cleans_up_its_temporary_rules(world):
    status, lines, _ = run_cli(world, "--from", "2026-11-23T10:00:00Z",
                               "--to", "2026-11-23T12:00:00Z",
                               "--pattern", '{"detail":{"status":["declined"]}}',
                               "--name", "cli-2")
    assert status == 0
    summary = json.loads(lines[-1])
    assert sorted(summary["removed_rules"]) == ["pgw-test-alpha-rp-t0", "pgw-test-beta-rp-t0"]
    assert world.received("pgw-test-alpha") == [("r-2", "declined", "cli-2")]
    assert world.received("pgw-test-beta") == [("r-2", "declined", "cli-2")]
    names = [r["Name"] for r in world.events.list_rules(EventBusName=world.bus)["Rules"]]
    assert not [n for n in names if "-rp-" in n]


@pytest.mark.parametrize("argv,message", [
    (["--from", "yesterday", "--to", "2026-11-23T11:00:00Z"], "from must be an ISO 8601"),
    (["--from", "2026-11-23T10:00:00Z", "--to", "2026-11-23T11:00:00Z", "--rule", "nope"],
     "rule nope is not on bus"),
    (["--from", "2026-11-23T10:00:00Z", "--to", "2026-11-23T11:00:00Z", "--pattern", "{"],
     "not valid JSON"),
])
def test_cli_explains_bad_input_without_a_trace(world, argv, message):
    status, _, err = run_cli(world, *argv)
    assert status == 2
    assert message in err and "Traceback" not in err


def test_cli_unknown_replay_and_missing_window(world):
    status, _, err = run_cli(world, "--status", "nope")
    assert status == 1 and "replay nope not found" in err
    with pytest.raises(SystemExit) as caught:
        run_cli(world, "--from", "2026-11-23T10:00:00Z")
    assert caught.value.code == 2


def test_cli_needs_the_bus_and_archive(monkeypatch, capsys):
    from handlers.replay_cli import main

    monkeypatch.delenv("PGW_BUS_NAME", raising=False)
    monkeypatch.delenv("PGW_ARCHIVE_NAME", raising=False)
    with pytest.raises(SystemExit) as caught:
        main(["--status", "x"])
    assert caught.value.code == 2
    assert "PGW_ARCHIVE_NAME" in capsys.readouterr().err
