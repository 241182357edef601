"""CloudWatch Logs subscription filters to Lambda, as CloudWatch Logs delivers them.

moto 5.2 calls a subscription's Lambda function synchronously inside `PutLogEvents`, with
every event, ignoring the filter pattern. CloudWatch Logs instead invokes the function
asynchronously with the events the filter pattern matches, as a base64-encoded gzip of
`{"messageType": "DATA_MESSAGE", "owner", "logGroup", "logStream", "subscriptionFilters",
"logEvents": [{"id", "timestamp", "message"}]}` under `awslogs.data` (AWS documentation:
"Using CloudWatch Logs subscription filters", SubscriptionFilters; "Filter pattern syntax
for metric filters, subscription filters, and filter log events",
FilterAndPatternSyntax). `deliver` does that for the local runtime (patch:
`infra.local.patches.moto_logs.deliver_subscriptions_asynchronously`).

Filter patterns: the empty pattern (every event) and JSON patterns of comparisons joined by
`&&` or `||`: `{ $.details.target_arn = "*:api-destination/*" }`, with `=` and `!=` on
strings (`*` matches any run of characters) and numbers. Anything else is refused
(`FilterPatternError`) rather than guessed.
"""

from __future__ import annotations

import base64
import fnmatch
import gzip
import json
import re
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

_TERM = re.compile(
    r'\s*\(?\s*(\$(?:\.[A-Za-z0-9_\-]+)+)\s*(=|!=)\s*("(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?)\s*\)?\s*')
_JOIN = re.compile(r"\s*(&&|\|\|)\s*")


class FilterPatternError(ValueError):
    """A filter pattern outside the subset the local runtime evaluates."""


@dataclass(frozen=True)
class _Comparison:
    path: tuple[str, ...]
    operator: str
    value: str | float

    def holds(self, record: Any) -> bool:
        value = record
        for key in self.path:
            if not isinstance(value, Mapping) or key not in value:
                return False
            value = value[key]
        if isinstance(self.value, str):
            if not isinstance(value, str):
                return False
            # `*` is the only wildcard; escape what fnmatch would also read as one.
            pattern = re.sub(r"([\[\]?])", r"[\1]", self.value)
            equal = fnmatch.fnmatchcase(value, pattern)
        else:
            equal = isinstance(value, (int, float)) and not isinstance(value, bool) \
                and float(value) == self.value
        return equal if self.operator == "=" else not equal


@dataclass(frozen=True)
class FilterPattern:
    """A compiled filter pattern: `matches(message)` for one log event's message."""

    text: str
    terms: tuple[_Comparison, ...] = ()
    joiner: str = "&&"

    @classmethod
    def compile(cls, text: str | None) -> FilterPattern:
        """Compile `text` (None or blank: every event matches).

        Raises:
            FilterPatternError: not a JSON pattern of the supported form.
        """
        text = (text or "").strip()
        if not text:
            return cls("")
        if not (text.startswith("{") and text.endswith("}")):
            raise FilterPatternError(f"only JSON filter patterns are supported: {text!r}")
        body, terms, joiners = text[1:-1], [], set()
        position = 0
        while True:
            match = _TERM.match(body, position)
            if match is None:
                raise FilterPatternError(f"unsupported filter pattern at {body[position:]!r}")
            path, operator, raw = match.groups()
            value: str | float = json.loads(raw) if raw.startswith('"') else float(raw)
            terms.append(_Comparison(tuple(path.split(".")[1:]), operator, value))
            position = match.end()
            if position >= len(body):
                break
            join = _JOIN.match(body, position)
            if join is None:
                raise FilterPatternError(f"unsupported filter pattern at {body[position:]!r}")
            joiners.add(join.group(1))
            position = join.end()
        if len(joiners) > 1:
            raise FilterPatternError("mixing && and || needs parentheses the runtime lacks")
        return cls(text, tuple(terms), joiners.pop() if joiners else "&&")

    def matches(self, message: str) -> bool:
        if not self.terms:
            return True
        try:
            record = json.loads(message)
        except ValueError:
            return False  # a JSON pattern matches JSON messages only
        results = (term.holds(record) for term in self.terms)
        return all(results) if self.joiner == "&&" else any(results)


def awslogs_event(*, owner: str, log_group: str, log_stream: str, filter_name: str,
                  log_events: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The Lambda event of one subscription delivery: `{"awslogs": {"data": ...}}`."""
    data = {
        "messageType": "DATA_MESSAGE",
        "owner": owner,
        "logGroup": log_group,
        "logStream": log_stream,
        "subscriptionFilters": [filter_name],
        "logEvents": [{"id": str(e["id"]), "timestamp": int(e["timestamp"]),
                       "message": str(e["message"])} for e in log_events],
    }
    compressed = gzip.compress(json.dumps(data, separators=(",", ":")).encode("utf-8"))
    return {"awslogs": {"data": base64.b64encode(compressed).decode("ascii")}}


def read_awslogs_event(event: Mapping[str, Any]) -> dict[str, Any]:
    """The decoded payload of an `awslogs` Lambda event (tests, bench)."""
    return json.loads(gzip.decompress(base64.b64decode(event["awslogs"]["data"])))


class LogSubscriptions:
    """Hand a log group's new events to its subscription's function, filtered, asynchronously.

    Parameters
    ----------
    invoke_async: queues an `Event` invocation (the runtime's `invoke_async`).
    account, region: where the log groups are (moto's backends).
    """

    def __init__(self, invoke_async: Callable[[str, Any], None], *, account: str, region: str):
        self._invoke_async = invoke_async
        self.account = account
        self.region = region
        self.deliveries = 0  # invocations handed over (bench)
        self.events_delivered = 0

    def _pattern(self, log_group: str, filter_name: str) -> FilterPattern:
        from moto.logs.models import logs_backends

        group = logs_backends[self.account][self.region].groups.get(log_group)
        subscription = group.subscription_filters.get(filter_name) if group else None
        return FilterPattern.compile(getattr(subscription, "filter_pattern", "") or "")

    def deliver(self, function_arn: str, filter_name: str, log_group: str, log_stream: str,
                log_events: Sequence[Mapping[str, Any]]) -> None:
        """What `PutLogEvents` gave one subscription: queue its function with the matches."""
        pattern = self._pattern(log_group, filter_name)
        matching = [e for e in log_events if pattern.matches(str(e.get("message", "")))]
        if not matching:
            return
        self.deliveries += 1
        self.events_delivered += len(matching)
        self._invoke_async(function_arn, awslogs_event(
            owner=self.account, log_group=log_group, log_stream=log_stream,
            filter_name=filter_name, log_events=matching))
