"""Replay the bus archive: re-deliver a window of archived events to chosen rules.

EventBridge `StartReplay` sends every archived event of a time window back to the bus, to all
of its rules or, with `Destination.FilterArns`, to the named rules only; replayed events carry
`replay-name`, and archives never re-archive them. It has no event filter of its own (the
archive's pattern filtered when the events were archived), so a replay restricted by an
event pattern goes through temporary rules:

- for each chosen rule, a rule `<rule>` + `-rp-<id>` on the same bus whose pattern is the
  rule's pattern AND the operator's pattern AND `{"replay-name": ["<this replay>"]}`, with
  copies of the rule's targets. The `replay-name` condition means the temporary rule never
  sees a live event, so leaving it behind is harmless; `cleanup` deletes it when the replay
  is over;
- the replay's `FilterArns` name the temporary rules only, so the original rules are not
  replayed to twice;
- Lambda targets get an invoke permission for the temporary rule (a function's resource
  policy names the rules that may call it). Targets whose access is a role (API
  destinations, Firehose, Step Functions, other buses) need nothing. SQS queues and SNS topics
  whose policies name specific rules must allow `rule/<bus>/<prefix>*-rp-*` (the Pulumi
  program's policies allow the rule name prefix).

Patterns are parsed and combined in `partners.archive.patterns`; progress comes from
`DescribeReplay` (`partners.archive.progress`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Iterable, Mapping, Sequence

import boto3
from botocore.exceptions import ClientError

from partners.archive.exceptions import InvalidReplayError, ReplayNotFoundError
from partners.archive.patterns import combine_patterns
from partners.archive.progress import ReplayProgress, progress_from
from partners.core.aws import client, error_code
from partners.core.clock import Clock, new_id, utc_now

REPLAY_NAME_PATTERN = re.compile(r"^[.\-_A-Za-z0-9]{1,64}$")
RULE_NAME_MAX = 64
TEMPORARY_RULE_MARK = "-rp-"
# Rules EventBridge manages for archives: never replay targets.
_MANAGED_RULE_PREFIX = "Events-Archive-"


# --- pure parts --------------------------------------------------------------------------

def parse_time(text: str, *, field_name: str) -> datetime:
    """An ISO 8601 time (`2026-11-23T10:00:00Z`; no zone means UTC).

    Raises
    ------
    InvalidReplayError: anything else.
    """
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except (ValueError, AttributeError):
        raise InvalidReplayError(f"{field_name} must be an ISO 8601 time such as "
                                 "2026-11-23T10:00:00Z", field=field_name) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def check_window(start: datetime, end: datetime, now: datetime) -> None:
    """Raise `InvalidReplayError` unless `start < end <= now`."""
    if start >= end:
        raise InvalidReplayError("the window's start must be before its end", field="from")
    if end > now:
        raise InvalidReplayError("the window's end must not be in the future (the archive "
                                 "holds only events that happened)", field="to")


def temporary_rule_name(rule_name: str, token: str) -> str:
    """`<rule>-rp-<token>`, shortened from the left end of `rule_name` to fit 64 characters."""
    suffix = f"{TEMPORARY_RULE_MARK}{token}"
    return rule_name[:RULE_NAME_MAX - len(suffix)] + suffix


def default_replay_name(prefix: str, start: datetime, token: str) -> str:
    """`<prefix>-<yyyymmddThhmm>-<token>`, at most 64 characters."""
    name = f"{prefix}-{start.astimezone(timezone.utc):%Y%m%dT%H%M}-{token}"
    return name[-64:].lstrip("-.")


# --- the replayer ------------------------------------------------------------------------

@dataclass
class Replayer:
    """Start, watch, cancel and clean up replays of one bus's archive.

    Parameters
    ----------
    bus_name: the stage's bus (env `PGW_BUS_NAME`).
    archive_name: its archive (env `PGW_ARCHIVE_NAME`; `StageSpec.archive_name`).
    """

    bus_name: str
    archive_name: str
    boto3_session: boto3.session.Session | None = None
    clock: Clock = utc_now
    id_factory: Any = field(default=lambda: new_id("", 6))
    _events: Any = field(init=False, repr=False)
    _lambda: Any = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._events = client("events", self.boto3_session)
        self._lambda = client("lambda", self.boto3_session)

    # --- start ---

    def start(self, start: datetime, end: datetime, *, rules: Sequence[str] = (),
              pattern: Mapping[str, Any] | None = None, name: str | None = None,
              description: str = "") -> ReplayProgress:
        """Start replaying the archived events of `[start, end)`.

        Parameters
        ----------
        start, end: the window (aware datetimes; `end` not in the future).
        rules: names of the rules on the bus that get the events; none: every rule.
        pattern: only events matching this pattern (through temporary rules, see the module).
        name: the replay's name (default `<bus>-<start>-<random>`).

        Returns
        -------
        ReplayProgress: the replay as just started.

        Raises
        ------
        InvalidReplayError: bad window, name or pattern, or a rule that is not on the bus.
        """
        check_window(start, end, self.clock())
        token = self.id_factory()
        name = name or default_replay_name(self.bus_name, start, token)
        if not REPLAY_NAME_PATTERN.match(name):
            raise InvalidReplayError("the replay name must be 1-64 of A-Z a-z 0-9 . - _",
                                     field="name")
        archive = self._archive()
        chosen = [self._rule(r) for r in rules]
        filter_arns = [r["Arn"] for r in chosen]
        if pattern is not None:
            targets_of = chosen or self._replayable_rules()
            filter_arns = [self._temporary_rule(rule, pattern, name, token)
                           for rule in targets_of]
        destination: dict[str, Any] = {"Arn": archive["EventSourceArn"]}
        if filter_arns:
            destination["FilterArns"] = filter_arns
        try:
            self._events.start_replay(
                ReplayName=name, Description=description or f"replay of {self.archive_name}",
                EventSourceArn=archive["ArchiveArn"], EventStartTime=start, EventEndTime=end,
                Destination=destination)
        except ClientError as error:
            if error_code(error) in ("ValidationException", "ResourceAlreadyExistsException",
                                     "InvalidEventPatternException"):
                message = error.response.get("Error", {}).get("Message", str(error))
                raise InvalidReplayError(f"EventBridge refused the replay: {message}",
                                         field="name" if "exists" in message else None) \
                    from error
            raise
        return self.progress(name)

    # --- watch, cancel, clean up ---

    def progress(self, name: str) -> ReplayProgress:
        """The replay's state and how far through its window it is.

        Raises
        ------
        ReplayNotFoundError: no replay of that name.
        """
        try:
            return progress_from(self._events.describe_replay(ReplayName=name))
        except ClientError as error:
            if error_code(error) == "ResourceNotFoundException":
                raise ReplayNotFoundError(name) from error
            raise

    def cancel(self, name: str) -> ReplayProgress:
        """Ask EventBridge to stop a running replay (events already sent stay sent)."""
        try:
            self._events.cancel_replay(ReplayName=name)
        except ClientError as error:
            if error_code(error) == "ResourceNotFoundException":
                raise ReplayNotFoundError(name) from error
            if error_code(error) != "IllegalStatusException":  # already over
                raise
        return self.progress(name)

    def cleanup(self, name: str) -> list[str]:
        """Delete the temporary rules of a finished replay; return their names.

        Raises
        ------
        InvalidReplayError: the replay is still running (its rules are still in use).
        ReplayNotFoundError: no replay of that name.
        """
        progress = self.progress(name)
        if not progress.done:
            raise InvalidReplayError(f"replay {name} is {progress.state}; cancel it or wait",
                                     field="name")
        removed = []
        for arn in progress.filter_arns:
            rule_name = arn.rsplit("/", 1)[-1]
            if TEMPORARY_RULE_MARK not in rule_name:
                continue
            if self._delete_rule(rule_name):
                removed.append(rule_name)
        return removed

    # --- helpers ---

    def _archive(self) -> dict[str, Any]:
        try:
            return self._events.describe_archive(ArchiveName=self.archive_name)
        except ClientError as error:
            if error_code(error) == "ResourceNotFoundException":
                raise InvalidReplayError(f"archive {self.archive_name} does not exist",
                                         field="archive") from error
            raise

    def _rule(self, rule_name: str) -> dict[str, Any]:
        try:
            return self._events.describe_rule(Name=rule_name, EventBusName=self.bus_name)
        except ClientError as error:
            if error_code(error) == "ResourceNotFoundException":
                raise InvalidReplayError(f"rule {rule_name} is not on bus {self.bus_name}",
                                         field="rule") from error
            raise

    def _replayable_rules(self) -> list[dict[str, Any]]:
        rules, token = [], None
        while True:
            page = self._events.list_rules(EventBusName=self.bus_name,
                                           **({"NextToken": token} if token else {}))
            rules += [r for r in page.get("Rules", [])
                      if r.get("EventPattern") and not r["Name"].startswith(_MANAGED_RULE_PREFIX)
                      and TEMPORARY_RULE_MARK not in r["Name"]]
            token = page.get("NextToken")
            if not token:
                return rules

    def _targets(self, rule_name: str) -> list[dict[str, Any]]:
        targets, token = [], None
        while True:
            page = self._events.list_targets_by_rule(Rule=rule_name, EventBusName=self.bus_name,
                                                     **({"NextToken": token} if token else {}))
            targets += page.get("Targets", [])
            token = page.get("NextToken")
            if not token:
                return targets

    def _temporary_rule(self, rule: Mapping[str, Any], pattern: Mapping[str, Any],
                        replay_name: str, token: str) -> str:
        combined = combine_patterns(json.loads(rule["EventPattern"]), pattern,
                                    rule_name=rule["Name"])
        combined["replay-name"] = [replay_name]
        name = temporary_rule_name(rule["Name"], token)
        arn = self._events.put_rule(
            Name=name, EventBusName=self.bus_name, EventPattern=json.dumps(combined),
            State="ENABLED",
            Description=f"temporary: replay {replay_name} to the targets of {rule['Name']}",
        )["RuleArn"]
        targets = self._targets(rule["Name"])
        for target in targets:
            if ":lambda:" in target["Arn"]:
                self._allow_lambda(target["Arn"], arn, name)
        for offset in range(0, len(targets), 10):
            self._events.put_targets(Rule=name, EventBusName=self.bus_name,
                                     Targets=targets[offset:offset + 10])
        return arn

    def _allow_lambda(self, function_arn: str, rule_arn: str, statement_id: str) -> None:
        try:
            self._lambda.add_permission(
                FunctionName=function_arn, StatementId=statement_id,
                Action="lambda:InvokeFunction", Principal="events.amazonaws.com",
                SourceArn=rule_arn)
        except ClientError as error:
            if error_code(error) != "ResourceConflictException":  # already allowed
                raise

    def _delete_rule(self, rule_name: str) -> bool:
        """Delete a temporary rule with its targets and permissions; False if it is gone."""
        try:
            targets = self._targets(rule_name)
        except ClientError as error:
            if error_code(error) == "ResourceNotFoundException":
                return False
            raise
        for target in targets:
            if ":lambda:" in target["Arn"]:
                try:
                    self._lambda.remove_permission(FunctionName=target["Arn"],
                                                   StatementId=rule_name)
                except ClientError as error:
                    if error_code(error) != "ResourceNotFoundException":
                        raise
        if targets:
            self._events.remove_targets(Rule=rule_name, EventBusName=self.bus_name,
                                        Ids=[t["Id"] for t in targets])
        self._events.delete_rule(Name=rule_name, EventBusName=self.bus_name)
        return True


def rule_names(values: Iterable[str]) -> list[str]:
    """Rule names from repeated and comma-separated `--rule` values, in order, once each."""
    seen: list[str] = []
    for value in values:
        for name in value.split(","):
            name = name.strip()
            if name and name not in seen:
                seen.append(name)
    return seen
