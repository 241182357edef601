"""The request lifecycle as an append-only log (seed 004): `request_events` in DynamoDB.

Every change to a request is a new item `(request_id, sequence)` written with a conditional
put, so nothing is ever overwritten: sequences start at 1 and have no gaps. The projections
(`partners.requests.projections`) are folds of this log, rebuilt by the projector from the table's
stream.

Writers that decide from the current state (route once, legal status moves) read the log,
fold it, and append at `expected_sequence`: if anyone appended in between, the put fails and
they decide again from the newer log (optimistic concurrency, no locks).

The log is also the idempotency record of status posts, and of whether each status change
reached the bus: `request.status_publication` items say a post claimed, published or failed
to publish it, so a repeated post publishes again only when that is due (`publication_due`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Iterator, Mapping

import boto3
from botocore.exceptions import ClientError

from partners.core.aws import client, error_code
from partners.core.clock import Clock, isoformat, parse_iso, utc_now
from partners.requests.exceptions import (
    IdempotencyInProgressError,
    IdempotencyKeyReusedError,
    RequestExistsError,
    RequestLogConflictError,
    RequestNotFoundError,
)
from partners.requests.events import (
    CREATED,
    DOCUMENT_ADDED,
    EVENT_TYPES,
    ROUTED,
    STATUS_CHANGED,
    STATUS_PUBLICATION,
    LogEvent,
    event_from_item,
    event_item,
)
from partners.requests.projections import RequestState, fold
from partners.requests.status import check_status_transition


@dataclass(frozen=True)
class StatusChange:
    """The outcome of a status post: the appended (or earlier identical) log event."""

    request_id: str
    sequence: int
    status: str
    previous_status: str | None
    occurred_at: str
    user_id: str
    environment: str
    request_type: str
    replayed: bool = False  # True: this command was appended before; nothing new written
    # True: this post holds the change's publication: put it on the bus, then
    # `RequestLog.record_publication`. False: it is published, or another post is at it.
    publish: bool = True
    command_id: str = ""


# `request.status_publication` outcomes: a post took over the publication, or finished it.
CLAIMED, PUBLISHED, PUBLISH_FAILED = "claimed", "published", "failed"
# What a repeated post does about a change's publication (`publication_due`).
DUE, IN_PROGRESS = "due", "in_progress"


def publication_due(command: Mapping[str, Any], now: datetime, lease: timedelta) -> str:
    """Whether a repeated status post must publish its change (a pure decision).

    The post that appended the change holds its publication from the append on, and a post
    that claimed it (`CLAIMED`) from the claim on, each for `lease`: longer than the partner
    API may run, so a holder past it has died without a word. Only a publication known to
    have failed, or whose holder is gone, is due again: repeats never flood the bus.

    Parameters
    ----------
    command: the change as `RouteState.command` has it (`recorded_at`, and `publication`,
        its latest outcome, once there is one).
    now: the time of the decision.
    lease: how long a holder may take.

    Returns
    -------
    `PUBLISHED` (nothing to do), `IN_PROGRESS` (a live holder is at it) or `DUE`.
    """
    publication = command.get("publication") or {"outcome": CLAIMED,
                                                 "recorded_at": command["recorded_at"]}
    if publication["outcome"] == PUBLISHED:
        return PUBLISHED
    if publication["outcome"] == PUBLISH_FAILED:
        return DUE
    return IN_PROGRESS if now < parse_iso(publication["recorded_at"]) + lease else DUE


class RequestLog:
    """Append to and read the request log.

    Parameters
    ----------
    table_name: the `request_events` table.
    boto3_session: the AWS session (default: a new one).
    clock: when events are recorded.
    """

    # Appends without an expected sequence retry this often when others append concurrently.
    max_attempts = 25
    # How long a status post holds its change's publication (`publication_due`): well past
    # the partner API function's timeout (10 s), so a holder past it is no longer running.
    publish_lease = timedelta(seconds=30)

    def __init__(self, table_name: str, *, boto3_session: boto3.session.Session | None = None,
                 clock: Clock = utc_now, dynamodb_client: Any = None):
        self.table_name = table_name
        self._dynamodb = dynamodb_client or client("dynamodb", boto3_session)
        self._clock = clock

    # --- the log ----------------------------------------------------------------------------

    def append(self, request_id: str, event_type: str, data: Mapping[str, Any], *,
               partner_id: str | None = None, environment: str | None = None,
               expected_sequence: int | None = None) -> int:
        """Append one event; return its sequence.

        Parameters
        ----------
        request_id, event_type, data: the event (`data` must be JSON-serialisable).
        partner_id, environment: the partner environment the event concerns, if any.
        expected_sequence: the last sequence the caller decided from (0: an empty log). When
            given, the event goes right after it or not at all; when None, after whatever is
            last.

        Raises
        ------
        ValueError: an unknown event type.
        RequestLogConflictError: `expected_sequence` is no longer the last one.
        """
        if event_type not in EVENT_TYPES:
            raise ValueError(f"unknown request event type {event_type!r}")
        attempts = 1 if expected_sequence is not None else self.max_attempts
        for _ in range(attempts):
            last = expected_sequence if expected_sequence is not None else self.last_sequence(
                request_id)
            event = LogEvent(request_id, last + 1, event_type, dict(data),
                             isoformat(self._clock()), partner_id, environment)
            try:
                self._dynamodb.put_item(
                    TableName=self.table_name, Item=event_item(event),
                    ConditionExpression="attribute_not_exists(request_id)",
                )
            except ClientError as error:
                if error_code(error) != "ConditionalCheckFailedException":
                    raise
                continue
            return event.sequence
        raise RequestLogConflictError(request_id, last)

    def last_sequence(self, request_id: str) -> int:
        """The sequence of the request's last event, 0 for an empty log."""
        response = self._dynamodb.query(
            TableName=self.table_name, KeyConditionExpression="request_id = :r",
            ExpressionAttributeValues={":r": {"S": request_id}},
            ScanIndexForward=False, Limit=1, ConsistentRead=True,
            ProjectionExpression="#s", ExpressionAttributeNames={"#s": "sequence"},
        )
        items = response.get("Items", [])
        return int(items[0]["sequence"]["N"]) if items else 0

    def events(self, request_id: str) -> list[LogEvent]:
        """The request's events in order (strongly consistent); [] for an unknown request."""
        request: dict[str, Any] = {
            "TableName": self.table_name, "KeyConditionExpression": "request_id = :r",
            "ExpressionAttributeValues": {":r": {"S": request_id}}, "ConsistentRead": True,
        }
        events: list[LogEvent] = []
        while True:
            response = self._dynamodb.query(**request)
            events += [event_from_item(item) for item in response.get("Items", [])]
            if "LastEvaluatedKey" not in response:
                return events
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def state(self, request_id: str) -> RequestState:
        """The request folded from its log (strongly consistent).

        Raises
        ------
        RequestNotFoundError: the request has no `request.created` event.
        """
        state = fold(self.events(request_id))
        if state is None:
            raise RequestNotFoundError(request_id)
        return state

    def request_ids(self) -> Iterator[str]:
        """Every request id in the log (a scan for first events; for rebuilds)."""
        request: dict[str, Any] = {
            "TableName": self.table_name, "FilterExpression": "#s = :one",
            "ExpressionAttributeNames": {"#s": "sequence"},
            "ExpressionAttributeValues": {":one": {"N": "1"}},
            "ProjectionExpression": "request_id",
        }
        while True:
            response = self._dynamodb.scan(**request)
            for item in response.get("Items", []):
                yield item["request_id"]["S"]
            if "LastEvaluatedKey" not in response:
                return
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    # --- lifecycle commands -----------------------------------------------------------------

    def create(self, detail: Mapping[str, Any]) -> int:
        """Start a request's log with `request.created` (the validated event detail).

        Raises
        ------
        RequestExistsError: the request id already has a log.
        """
        try:
            return self.append(detail["request_id"], CREATED, detail, expected_sequence=0)
        except RequestLogConflictError:
            raise RequestExistsError(detail["request_id"]) from None

    def record_routing(self, detail: Mapping[str, Any], *, partner_id: str, environment: str,
                       mode: str, event_id: str) -> bool:
        """Record that EventBridge routed the request in `detail` to a partner environment.

        A request put on the bus without the intake API has no log yet: its
        `request.created` is appended first, from the same detail. Recording twice (EventBridge
        delivers at least once) appends nothing the second time.

        Returns
        -------
        True when `request.routed` was appended, False when it was already there.
        """
        request_id = detail["request_id"]
        for _ in range(self.max_attempts):
            events = self.events(request_id)
            state = fold(events)
            try:
                if state is None:
                    self.append(request_id, CREATED, detail, expected_sequence=len(events))
                    continue
                if state.route(partner_id, environment) is not None:
                    return False
                self.append(request_id, ROUTED,
                            {"partner_id": partner_id, "environment": environment, "mode": mode,
                             "event_id": event_id},
                            partner_id=partner_id, environment=environment,
                            expected_sequence=state.last_sequence)
                return True
            except RequestLogConflictError:
                continue
        raise RequestLogConflictError(request_id, len(events))

    def add_document(self, request_id: str, document: Mapping[str, Any]) -> int:
        """Append `request.document_added` (an S3 reference) to an existing request.

        Raises
        ------
        RequestNotFoundError: no such request.
        """
        self.state(request_id)
        return self.append(request_id, DOCUMENT_ADDED, {"document": dict(document)})

    def change_status(self, request_id: str, *, partner_id: str, environment: str,
                      partner_name: str, status: str, command_id: str,
                      payload_digest: str | None = None,
                      note: str | None = None, reference: str | None = None,
                      occurred_at: str | None = None) -> StatusChange:
        """Append a partner's status post, if the request was routed to it and the move is legal.

        Parameters
        ----------
        request_id: the request.
        partner_id, environment: the caller's partner environment.
        partner_name: the partner's display name (for notifications downstream).
        status: the posted status.
        command_id: a stable id of the post (a hash of its idempotency scope): a post whose
            command id is already in the log is answered from the log, never appended twice.
            The log is the idempotency record: no other store is written. Such a repeat
            publishes again only when the change's publication is due (`publication_due`),
            and claims it first with a conditional append, so one repeat at most does.
        payload_digest: a digest of what the post said (`partners.requests.commands.payload_digest`),
            kept with it: the same command id with another digest is refused.
        note, reference, occurred_at: optional details of the post.

        Returns
        -------
        The change; its `publish` says whether this post must publish it.

        Raises
        ------
        RequestNotFoundError: no such request, or it was not routed to this partner environment.
        IllegalStatusTransitionError: the transition table forbids the move.
        IdempotencyKeyReusedError: the command id is in the log with another payload digest.
        IdempotencyInProgressError: the command is in the log and another post is publishing
            it right now (retry shortly).
        """
        last = 0
        for _ in range(self.max_attempts):
            events = self.events(request_id)
            state = fold(events)
            route = state.route(partner_id, environment) if state else None
            if state is None or route is None:
                raise RequestNotFoundError(request_id)
            earlier = route.command(command_id)
            if earlier is not None:
                recorded = earlier.get("payload_digest")
                if payload_digest and recorded and recorded != payload_digest:
                    raise IdempotencyKeyReusedError(command_id)
                replay = StatusChange(request_id, earlier["sequence"], earlier["status"],
                                      earlier["previous_status"], earlier["occurred_at"],
                                      state.user_id, state.environment, state.request_type,
                                      replayed=True, publish=False, command_id=command_id)
                due = publication_due(earlier, self._clock(), self.publish_lease)
                if due == PUBLISHED:
                    return replay
                if due == IN_PROGRESS:
                    raise IdempotencyInProgressError(command_id)
                last = events[-1].sequence
                try:  # the claim: right after the log decided from, or someone was faster
                    self._append_publication(replay, partner_id, environment, CLAIMED,
                                             expected_sequence=last)
                except RequestLogConflictError:
                    continue
                return replace(replay, publish=True)
            check_status_transition(request_id, route.status, status)
            last = state.last_sequence
            moment = occurred_at or isoformat(self._clock())
            data: dict[str, Any] = {
                "partner_id": partner_id, "environment": environment,
                "partner_name": partner_name, "status": status,
                "previous_status": route.status, "occurred_at": moment,
                "command_id": command_id,
                # What a reader of the log's stream (the notifier) needs without a read.
                "user_id": state.user_id, "request_type": state.request_type,
            }
            if payload_digest:
                data["payload_digest"] = payload_digest
            if note is not None:
                data["note"] = note
            if reference is not None:
                data["reference"] = reference
            try:
                sequence = self.append(request_id, STATUS_CHANGED, data, partner_id=partner_id,
                                       environment=environment,
                                       expected_sequence=state.last_sequence)
            except RequestLogConflictError:
                continue
            return StatusChange(request_id, sequence, status, route.status, moment,
                                state.user_id, state.environment, state.request_type,
                                command_id=command_id)
        raise RequestLogConflictError(request_id, last)

    def record_publication(self, change: StatusChange, *, partner_id: str, environment: str,
                           published: bool) -> int:
        """Record how the publication of a change held by this post ended.

        Parameters
        ----------
        change: the change `change_status` returned with `publish` set.
        partner_id, environment: the caller's partner environment.
        published: True once PutEvents took the event; False when it refused or failed (a
            repeat of the post then publishes it).

        Returns
        -------
        The sequence of the appended `request.status_publication`.
        """
        return self._append_publication(change, partner_id, environment,
                                        PUBLISHED if published else PUBLISH_FAILED)

    def _append_publication(self, change: StatusChange, partner_id: str, environment: str,
                            outcome: str, *, expected_sequence: int | None = None) -> int:
        return self.append(change.request_id, STATUS_PUBLICATION,
                           {"partner_id": partner_id, "environment": environment,
                            "command_id": change.command_id, "sequence": change.sequence,
                            "outcome": outcome},
                           partner_id=partner_id, environment=environment,
                           expected_sequence=expected_sequence)
