"""The `deliveries` table: deliveries folded from bus log records, hourly health counters.

One table, item kinds by key (`pk`, `sk`), every item expiring by TTL (`expires_at`):

- `DELIVERY#<id>` / `DELIVERY`: a delivery's facts (JSON), the CloudEvent as sent, and what
  the fold gives (outcome, request, creation time) for filters; in the `by-environment` index
  (`env_key` = `<partner>#<env>`, `created_key` = fixed-width creation time + id), which
  lists an environment's deliveries newest first and by time range;
- `SEND#<partner>#<env>#<event id>` / `SEND`: one event on the bus for one environment: which
  delivery it belongs to, or, while no record has shown its CloudEvent id yet (records come
  out of order), the facts waiting for it;
- `HEALTH#<partner>#<env>` / `<yyyy-mm-ddThh>`: attempt counters and a latency histogram per
  UTC hour, in the `by-hour` index for the admin's cross-partner figures;
- `RESEND#<partner>#<env>` / `<window start>`: resends counted per window (rate limit).

Concurrent indexers never lose a fact: a send and its delivery are rewritten together in one
transaction conditioned on the versions read, and a lost race is re-read and merged again.
The health counters change in the same transaction, by exactly the facts the delivery did not
have before, so a record delivered twice is counted once.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable

import boto3
from botocore.exceptions import ClientError

from partners.core.aws import client, error_code
from partners.core.clock import Clock, utc_now
from partners.deliveries.fold import (
    ATTEMPT_OUTCOMES,
    cloudevent_of,
    fact_of,
    fold,
    partner_environment,
    request_of,
)
from partners.deliveries.models import (
    AttemptOutcome,
    Delivery,
    Fact,
    Outcome,
    delivery_id,
    from_ms,
)
from partners.deliveries.records import BusLogRecord, MessageType

ENVIRONMENT_INDEX = "by-environment"
HOUR_INDEX = "by-hour"
# What the `by-environment` index copies of a delivery: all but the CloudEvent body.
LISTED_ATTRIBUTES = ("partner_id", "environment", "cloudevent_id", "request_id", "request_type",
                     "outcome", "resent", "facts")
DEFAULT_TTL_DAYS = 30
HEALTH_KEEP_DAYS = 15  # the 14-day chart and today
# Latency histogram bucket upper bounds (ms); EventBridge gives up on a call after 5 s.
LATENCY_BOUNDS_MS = (25, 50, 100, 200, 300, 500, 750, 1000, 1500, 2000, 3000, 5000, 10000)
MAX_PAYLOAD_CHARS = 150_000  # a bigger CloudEvent is shown without its body (item limit)
MAX_TRIES = 8
# DynamoDB's per-item limit is 400 KB: past this many facts a delivery keeps its newest.
MAX_FACTS = 1000


@dataclass(frozen=True)
class IndexResult:
    records: int
    indexed: int
    ignored: int
    deliveries: int


def env_key(partner_id: str, environment: str) -> str:
    return f"{partner_id}#{environment}"


def created_key(moment: datetime, delivery: str) -> str:
    """Fixed width and UTC, so the index's string order is time order."""
    moment = moment.astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z#{delivery}"


def hour_key(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H")


def latency_bucket(duration_ms: int) -> int:
    for index, bound in enumerate(LATENCY_BOUNDS_MS):
        if duration_ms <= bound:
            return index
    return len(LATENCY_BOUNDS_MS)


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def _n(value: int) -> dict[str, str]:
    return {"N": str(value)}


def _facts(item: dict[str, Any] | None, attribute: str = "facts") -> dict[str, Fact]:
    raw = (item or {}).get(attribute, {}).get("S")
    return {key: Fact.from_item(key, value) for key, value in json.loads(raw).items()} \
        if raw else {}


def _dump_facts(facts: dict[str, Fact]) -> dict[str, str]:
    return _s(json.dumps({k: f.to_item() for k, f in facts.items()}, separators=(",", ":")))


class DeliveryStore:
    """Read and write the `deliveries` table.

    Parameters
    ----------
    table_name: the table (`Env.DELIVERIES_TABLE`).
    prefix: the stage's partner-resource prefix, to read partner environments from rule names.
    ttl_days: how long a delivery is kept (the stack setting, 30 by default).
    clock: when "now" is (TTL, rate windows).
    """

    def __init__(self, table_name: str, *, prefix: str = "", ttl_days: int = DEFAULT_TTL_DAYS,
                 boto3_session: boto3.session.Session | None = None,
                 dynamodb_client: Any = None, clock: Clock = utc_now):
        if ttl_days < 1:
            raise ValueError("ttl_days must be at least 1")
        self.table_name = table_name
        self.prefix = prefix
        self.ttl_days = ttl_days
        self.clock = clock
        self._dynamodb = dynamodb_client or client("dynamodb", boto3_session)

    # --- indexing ---------------------------------------------------------------------------

    def index(self, records: Iterable[BusLogRecord]) -> IndexResult:
        """Fold bus log records into their deliveries (any order, any repetition).

        Parameters
        ----------
        records: parsed records; those about no partner delivery are ignored.

        Returns
        -------
        How many records came, were indexed and ignored, and how many sends were written.
        """
        sends: dict[tuple[str, str, str], tuple[list[Fact], dict[str, Any] | None]] = {}
        total = ignored = 0
        for record in records:
            total += 1
            owner = partner_environment(record, self.prefix)
            if owner is None:
                ignored += 1
                continue
            facts, cloudevent = sends.setdefault((*owner, record.event_id), ([], None))
            facts.append(fact_of(record))
            if cloudevent is None:
                sends[(*owner, record.event_id)] = (facts, cloudevent_of(record))
        for (partner_id, environment, event_id), (facts, cloudevent) in sends.items():
            self._index_send(partner_id, environment, event_id, facts, cloudevent)
        return IndexResult(total, total - ignored, ignored, len(sends))

    def _index_send(self, partner_id: str, environment: str, event_id: str, facts: list[Fact],
                    cloudevent: dict[str, Any] | None) -> None:
        for _ in range(MAX_TRIES):
            try:
                self._try_index_send(partner_id, environment, event_id, facts, cloudevent)
                return
            except ClientError as error:
                if error_code(error) not in ("TransactionCanceledException",
                                             "ConditionalCheckFailedException",
                                             "TransactionConflictException"):
                    raise
        raise RuntimeError(f"send {event_id} kept changing under the indexer")

    def _get(self, pk: str, sk: str) -> dict[str, Any] | None:
        return self._dynamodb.get_item(TableName=self.table_name, ConsistentRead=True,
                                       Key={"pk": _s(pk), "sk": _s(sk)}).get("Item")

    def _versioned_put(self, item: dict[str, Any], old: dict[str, Any] | None) -> dict[str, Any]:
        version = int(old["version"]["N"]) if old else 0
        put: dict[str, Any] = {"TableName": self.table_name,
                               "Item": {**item, "version": _n(version + 1)}}
        if old:
            put.update(ConditionExpression="#version = :v",
                       ExpressionAttributeNames={"#version": "version"},
                       ExpressionAttributeValues={":v": _n(version)})
        else:
            put["ConditionExpression"] = "attribute_not_exists(pk)"
        return {"Put": put}

    def _expires(self, moment: datetime, days: int) -> dict[str, str]:
        return _n(int((moment + timedelta(days=days)).timestamp()))

    def _try_index_send(self, partner_id: str, environment: str, event_id: str,
                        facts: list[Fact], cloudevent: dict[str, Any] | None) -> None:
        owner = env_key(partner_id, environment)
        send_pk = f"SEND#{owner}#{event_id}"
        send = self._get(send_pk, "SEND")
        known = (send or {}).get("delivery_id", {}).get("S")
        target = known or (delivery_id(partner_id, environment, cloudevent["id"])
                           if cloudevent else None)
        pending = _facts(send, "pending")
        incoming = {**pending, **{f.key: f for f in facts}}
        first = min(f.timestamp_ms for f in incoming.values())
        send_item = {"pk": _s(send_pk), "sk": _s("SEND"), "env_key": _s(owner),
                     "expires_at": self._expires(from_ms(first), self.ttl_days)}
        if target is None:
            # No record has shown this send's CloudEvent id yet: keep its facts waiting.
            if set(incoming) == set(pending):
                return
            self._dynamodb.transact_write_items(TransactItems=[self._versioned_put(
                {**send_item, "pending": _dump_facts(incoming)}, send)])
            return
        summary = self._get(f"DELIVERY#{target}", "DELIVERY")
        known_facts = _facts(summary)
        added = {k: f for k, f in incoming.items() if k not in known_facts}
        has_payload = bool(summary and "payload" in summary)
        if not added and known and (has_payload or cloudevent is None):
            return
        merged = {**known_facts, **added}
        if len(merged) > MAX_FACTS:
            merged = dict(sorted(merged.items(), key=lambda kv: kv[1].timestamp_ms)[-MAX_FACTS:])
        writes = [self._versioned_put(self._delivery_item(
            target, partner_id, environment, merged, summary, cloudevent), summary)]
        if not known:
            writes.append(self._versioned_put({**send_item, "delivery_id": _s(target)}, send))
        writes += self._health_updates(owner, partner_id, environment, added.values())
        self._dynamodb.transact_write_items(TransactItems=writes)

    def _delivery_item(self, target: str, partner_id: str, environment: str,
                       facts: dict[str, Fact], old: dict[str, Any] | None,
                       cloudevent: dict[str, Any] | None) -> dict[str, Any]:
        folded = fold(facts.values())
        item: dict[str, Any] = {
            "pk": _s(f"DELIVERY#{target}"), "sk": _s("DELIVERY"),
            "env_key": _s(env_key(partner_id, environment)),
            "created_key": _s(created_key(folded.created_at, target)),
            "partner_id": _s(partner_id), "environment": _s(environment),
            "outcome": _s(folded.outcome.value), "resent": _n(folded.resent),
            "facts": _dump_facts(facts),
            "expires_at": self._expires(folded.created_at, self.ttl_days),
        }
        for name in ("cloudevent_id", "request_id", "request_type", "payload"):
            if old and name in old:
                item[name] = old[name]
        if cloudevent is not None and "payload" not in item:
            request_id, request_type = request_of(cloudevent)
            item["cloudevent_id"] = _s(cloudevent["id"])
            if request_id:
                item["request_id"] = _s(request_id)
            if request_type:
                item["request_type"] = _s(request_type)
            text = json.dumps(cloudevent, separators=(",", ":"))
            if len(text) <= MAX_PAYLOAD_CHARS:
                item["payload"] = _s(text)
        return item

    def _health_updates(self, owner: str, partner_id: str, environment: str,
                        added: Iterable[Fact]) -> list[dict[str, Any]]:
        hours: dict[str, dict[str, int]] = {}
        for fact in added:
            counts = None
            if fact.message_type in ATTEMPT_OUTCOMES:
                counts = hours.setdefault(hour_key(from_ms(fact.timestamp_ms)), {})
                outcome = ATTEMPT_OUTCOMES[fact.message_type]
                name = {AttemptOutcome.SUCCESS: "successes",
                        AttemptOutcome.THROTTLED: "throttled"}.get(outcome, "failures")
                counts[name] = counts.get(name, 0) + 1
                if fact.duration_ms is not None:
                    bucket = f"lat_{latency_bucket(fact.duration_ms)}"
                    counts[bucket] = counts.get(bucket, 0) + 1
            elif fact.message_type == MessageType.INVOCATION_DLQ:
                counts = hours.setdefault(hour_key(from_ms(fact.timestamp_ms)), {})
                counts["dead_lettered"] = counts.get("dead_lettered", 0) + 1
        updates = []
        for hour, counts in sorted(hours.items()):
            names = sorted(counts)
            moment = datetime.strptime(hour, "%Y-%m-%dT%H").replace(tzinfo=timezone.utc)
            updates.append({"Update": {
                "TableName": self.table_name,
                "Key": {"pk": _s(f"HEALTH#{owner}"), "sk": _s(hour)},
                "UpdateExpression": "SET #hour = :hour, #env = :env, #p = :p, #e = :e, "
                                    "#x = :x ADD " + ", ".join(f"#{n} :{n}" for n in names),
                "ExpressionAttributeNames": {"#hour": "hour", "#env": "env_key",
                                             "#p": "partner_id", "#e": "environment",
                                             "#x": "expires_at",
                                             **{f"#{n}": n for n in names}},
                "ExpressionAttributeValues": {
                    ":hour": _s(hour), ":env": _s(owner), ":p": _s(partner_id),
                    ":e": _s(environment),
                    ":x": self._expires(moment, max(self.ttl_days, HEALTH_KEEP_DAYS)),
                    **{f":{n}": _n(v) for n, v in counts.items()}},
            }})
        return updates

    # --- reading ----------------------------------------------------------------------------

    def get(self, delivery: str) -> Delivery | None:
        """The delivery with this id, or None."""
        item = self._get(f"DELIVERY#{delivery}", "DELIVERY")
        return to_delivery(item) if item else None

    def query_environment(self, owner: str, *, low: str, high: str, filters: dict[str, str],
                          start: dict[str, Any] | None, limit: int) -> tuple[list[dict], dict | None]:
        """One `by-environment` page, newest first: `(items, last evaluated key)`."""
        arguments: dict[str, Any] = {
            "TableName": self.table_name, "IndexName": ENVIRONMENT_INDEX,
            "KeyConditionExpression": "env_key = :env AND created_key BETWEEN :low AND :high",
            "ExpressionAttributeValues": {":env": _s(owner), ":low": _s(low), ":high": _s(high)},
            "ScanIndexForward": False, "Limit": limit,
        }
        if filters:
            arguments["FilterExpression"] = " AND ".join(f"#{n} = :{n}" for n in sorted(filters))
            arguments["ExpressionAttributeNames"] = {f"#{n}": n for n in filters}
            arguments["ExpressionAttributeValues"].update({f":{n}": _s(v)
                                                           for n, v in filters.items()})
        if start:
            arguments["ExclusiveStartKey"] = start
        answer = self._dynamodb.query(**arguments)
        return answer.get("Items", []), answer.get("LastEvaluatedKey")

    def health_items(self, owner: str, first_hour: str, last_hour: str) -> list[dict[str, Any]]:
        """An environment's hourly counters from `first_hour` to `last_hour` (keys)."""
        return self._all(KeyConditionExpression="pk = :pk AND sk BETWEEN :a AND :b",
                         ExpressionAttributeValues={":pk": _s(f"HEALTH#{owner}"),
                                                    ":a": _s(first_hour), ":b": _s(last_hour)})

    def hour_items(self, hour: str) -> list[dict[str, Any]]:
        """Every environment's counters of one hour (the `by-hour` index)."""
        return self._all(IndexName=HOUR_INDEX, KeyConditionExpression="#h = :h",
                         ExpressionAttributeNames={"#h": "hour"},
                         ExpressionAttributeValues={":h": _s(hour)})

    def _all(self, **arguments: Any) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        while True:
            answer = self._dynamodb.query(TableName=self.table_name, **arguments)
            items += answer.get("Items", [])
            if not answer.get("LastEvaluatedKey"):
                return items
            arguments["ExclusiveStartKey"] = answer["LastEvaluatedKey"]

    # --- resend rate ------------------------------------------------------------------------

    def take_resend_slot(self, partner_id: str, environment: str, *, per_window: int,
                         window_seconds: int) -> int | None:
        """Count one resend for a partner environment if its window has room.

        Returns
        -------
        None when the resend may go (it is counted), else the seconds until the window ends.
        """
        now = self.clock().timestamp()
        start = int(now // window_seconds * window_seconds)
        try:
            self._dynamodb.update_item(
                TableName=self.table_name,
                Key={"pk": _s(f"RESEND#{env_key(partner_id, environment)}"), "sk": _s(str(start))},
                UpdateExpression="ADD #n :one SET expires_at = :x",
                ConditionExpression="attribute_not_exists(#n) OR #n < :limit",
                ExpressionAttributeNames={"#n": "count"},
                ExpressionAttributeValues={":one": _n(1), ":limit": _n(per_window),
                                           ":x": _n(start + 2 * window_seconds)})
        except ClientError as error:
            if error_code(error) != "ConditionalCheckFailedException":
                raise
            return max(1, math.ceil(start + window_seconds - now))
        return None


def to_delivery(item: dict[str, Any]) -> Delivery:
    """A `DELIVERY` item (from the table or the `by-environment` index) as a Delivery."""
    folded = fold(_facts(item).values())
    delivery = item["pk"]["S"].removeprefix("DELIVERY#")
    text = lambda name: item[name]["S"] if name in item else None  # noqa: E731
    payload = text("payload")
    return Delivery(
        id=delivery, partner_id=item["partner_id"]["S"], environment=item["environment"]["S"],
        cloudevent_id=text("cloudevent_id") or folded.event_ids[0],
        request_id=text("request_id"), request_type=text("request_type"),
        created_at=folded.created_at, outcome=Outcome(folded.outcome), resent=folded.resent,
        attempts=folded.attempts, payload=json.loads(payload) if payload else None,
        event_ids=folded.event_ids)
