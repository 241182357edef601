"""Projections of the request log: pure folds from log events to the items of three views.

- `requests`: one `REQUEST` item per request (its current state, every route's status; for the
  portal and the console);
- `partner_inbox`: per partner environment (partition `<partner>#<env>`), one item per routed
  request (sort key: the request id): the request as that partner environment sees it (its
  own status, never another's) and the S3 references of its documents, with sort keys for
  "pending first" (`queue_key`) and "by status" (`status_key` + `routed_key`) listing. The
  partner API reads only these, so a request not routed to a partner is not in its partition.
  The route view is stored in parts, nothing twice: `document` (the summary the listings
  read), `history` (the partner's status posts) and `documents` (the S3 references, whose
  public metadata the view shows); `assemble_route_view` puts them together on read;
- `user_timeline`: per user, one entry per created / document / status event.

The keys' shapes and the index names are spelled once, in `partners.requests.tables`.

Every item is a function of the log alone (times come from the events, never from a clock),
so replaying a stream or rebuilding from the log gives the same items byte for byte. Items
carry `last_sequence`, and writers refuse to replace a newer item with an older one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Protocol, Sequence

from partners.requests.events import (
    CREATED,
    DOCUMENT_ADDED,
    NOTIFICATION_FAILED,
    ROUTED,
    STATUS_CHANGED,
    STATUS_PUBLICATION,
    LogEvent,
)
from partners.requests.status import PENDING, queue_rank
from partners.requests.tables import (
    inbox_key,
    inbox_status_key,
    queue_key,
    request_key,
    routed_key,
    timeline_sort_key,
)


@dataclass
class RouteState:
    """A request at one partner environment: where it was routed and what the partner said."""

    partner_id: str
    environment: str
    mode: str
    routed_at: str
    status: str | None = None
    updated_at: str | None = None
    last_sequence: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)
    commands: dict[str, dict[str, Any]] = field(default_factory=dict)

    def command(self, command_id: str) -> dict[str, Any] | None:
        """The status post with `command_id`, if it is in the log."""
        return self.commands.get(command_id)


@dataclass
class RequestState:
    """A request folded from its log."""

    request_id: str
    environment: str
    request_type: str
    user_id: str
    attributes: dict[str, Any]
    created_at: str
    test: bool = False
    documents: list[dict[str, Any]] = field(default_factory=list)
    last_sequence: int = 0
    routes: dict[tuple[str, str], RouteState] = field(default_factory=dict)
    timeline: list[dict[str, Any]] = field(default_factory=list)

    def route(self, partner_id: str, environment: str) -> RouteState | None:
        """The request's state at a partner environment; None when not routed there."""
        return self.routes.get((partner_id, environment))


def fold(events: Iterable[LogEvent]) -> RequestState | None:
    """Fold a request's events (in sequence order) into its state.

    Returns
    -------
    The state, or None when the log has no `request.created` (no such request). Unknown
    event types are skipped, so older code can read a newer log.
    """
    state: RequestState | None = None
    for event in events:
        if event.type == CREATED:
            detail = event.data
            state = RequestState(
                request_id=event.request_id, environment=detail["environment"],
                request_type=detail["request_type"], user_id=detail["user_id"],
                attributes=dict(detail.get("attributes") or {}),
                created_at=detail["occurred_at"], test=bool(detail.get("test", False)),
                documents=[dict(d) for d in detail.get("documents") or []],
            )
            state.timeline.append(_entry(event, request_type=state.request_type))
        elif state is None:
            continue
        elif event.type == ROUTED:
            key = (event.data["partner_id"], event.data["environment"])
            if key not in state.routes:
                state.routes[key] = RouteState(*key, mode=event.data.get("mode", "push"),
                                               routed_at=event.recorded_at,
                                               updated_at=event.recorded_at,
                                               last_sequence=event.sequence)
        elif event.type == STATUS_CHANGED:
            route = state.routes.get((event.data["partner_id"], event.data["environment"]))
            if route is None:
                continue
            post: dict[str, Any] = {
                "status": event.data["status"],
                "previous_status": event.data.get("previous_status"),
                "occurred_at": event.data["occurred_at"],
                "recorded_at": event.recorded_at,
                "sequence": event.sequence,
                **{k: event.data[k] for k in ("note", "reference") if k in event.data},
            }
            route.status = post["status"]
            route.updated_at = event.recorded_at
            route.last_sequence = event.sequence
            route.history.append(post)
            if event.data.get("command_id"):
                route.commands[event.data["command_id"]] = {
                    **post, "payload_digest": event.data.get("payload_digest")}
            state.timeline.append(_entry(
                event, status=post["status"], previous_status=post["previous_status"],
                partner_id=route.partner_id, partner_name=event.data.get("partner_name", ""),
                status_occurred_at=post["occurred_at"],
                **{k: event.data[k] for k in ("note",) if k in event.data}))
        elif event.type == DOCUMENT_ADDED:
            document = dict(event.data["document"])
            if all(d["document_id"] != document["document_id"] for d in state.documents):
                state.documents.append(document)
            state.timeline.append(_entry(event, document_id=document["document_id"]))
        elif event.type == STATUS_PUBLICATION:
            # Only the command's latest publication state: no view or timeline shows it.
            route = state.routes.get((event.data["partner_id"], event.data["environment"]))
            command = route.command(event.data["command_id"]) if route else None
            if command is not None:
                command["publication"] = {"outcome": event.data["outcome"],
                                          "recorded_at": event.recorded_at}
        elif event.type == NOTIFICATION_FAILED:
            # The user sees why a status did not reach them (destination masked).
            state.timeline.append(_entry(
                event, **{k: event.data[k] for k in ("channel", "code", "destination", "status")
                          if k in event.data}))
        else:
            continue
        state.last_sequence = event.sequence
    return state


def _entry(event: LogEvent, **extra: Any) -> dict[str, Any]:
    return {"request_id": event.request_id, "sequence": event.sequence,
            "type": event.type.removeprefix("request."), "recorded_at": event.recorded_at,
            **extra}


# --- views ------------------------------------------------------------------------------------


def public_document(document: Mapping[str, Any]) -> dict[str, Any]:
    """A document as partners see it: its id and metadata, never the bucket or key."""
    return {k: document[k] for k in ("document_id", "name", "content_type", "size")
            if k in document}


def route_summary(state: RequestState, route: RouteState) -> dict[str, Any]:
    """A request as listed in a partner's inbox (`GET /v1/requests`)."""
    return {
        "request_id": state.request_id,
        "request_type": state.request_type,
        "environment": state.environment,
        "status": route.status or PENDING,
        "created_at": state.created_at,
        "routed_at": route.routed_at,
        "updated_at": route.updated_at or route.routed_at,
        "test": state.test,
        "attributes": state.attributes,
    }


def route_history(route: RouteState) -> list[dict[str, Any]]:
    """A partner environment's status posts as it sees them (without log bookkeeping)."""
    return [{k: v for k, v in post.items() if k not in ("recorded_at", "sequence")}
            for post in route.history]


def assemble_route_view(summary: Mapping[str, Any], history: Sequence[Mapping[str, Any]],
                        documents: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The route view from its stored parts: summary, status history, S3 references.

    Parameters
    ----------
    summary: the route summary (`route_summary`).
    history: the partner's status posts (`route_history`).
    documents: the request's document references (with bucket and key; only their public
        metadata is shown).
    """
    return {**summary, "documents": [public_document(d) for d in documents],
            "history": [dict(post) for post in history]}


def route_view(state: RequestState, route: RouteState) -> dict[str, Any]:
    """A request as one partner environment sees it (`GET /v1/requests/{id}`)."""
    return assemble_route_view(route_summary(state, route), route_history(route),
                               state.documents)


def request_view(state: RequestState) -> dict[str, Any]:
    """A request's whole current state (the `REQUEST` item; for the portal and operators)."""
    return {
        "request_id": state.request_id,
        "request_type": state.request_type,
        "environment": state.environment,
        "user_id": state.user_id,
        "created_at": state.created_at,
        "test": state.test,
        "attributes": state.attributes,
        "documents": state.documents,
        "routes": [
            {"partner_id": r.partner_id, "environment": r.environment, "mode": r.mode,
             "status": r.status or PENDING, "routed_at": r.routed_at,
             "updated_at": r.updated_at or r.routed_at}
            for r in sorted(state.routes.values(), key=lambda r: (r.partner_id, r.environment))
        ],
        "last_sequence": state.last_sequence,
    }


# --- items ------------------------------------------------------------------------------------


def _json(value: Any) -> dict[str, str]:
    return {"S": json.dumps(value, separators=(",", ":"), sort_keys=True)}


def request_items(state: RequestState) -> list[dict[str, Any]]:
    """Items of the `requests` table for one request: its `REQUEST` item."""
    return [{
        **request_key(state.request_id),
        "request_id": {"S": state.request_id}, "user_id": {"S": state.user_id},
        "environment": {"S": state.environment}, "request_type": {"S": state.request_type},
        "created_at": {"S": state.created_at},
        "last_sequence": {"N": str(state.last_sequence)},
        "document": _json(request_view(state)),
    }]


def inbox_items(state: RequestState) -> list[dict[str, Any]]:
    """Items of the `partner_inbox` table: one per partner environment the request reached.

    Each is the whole route: what the listings read (`document`, the summary), what
    `GET /v1/requests/{id}` adds (`history`; the documents' metadata comes from
    `documents`) and the S3 references to presign (`documents`, never shown as such).
    """
    items = []
    for route in sorted(state.routes.values(), key=lambda r: (r.partner_id, r.environment)):
        status = route.status or PENDING
        items.append({
            **inbox_key(state.request_id, route.partner_id, route.environment),
            "queue_key": {"S": queue_key(queue_rank(route.status), route.routed_at,
                                         state.request_id)},
            "status_key": {"S": inbox_status_key(route.partner_id, route.environment, status)},
            "routed_key": {"S": routed_key(route.routed_at, state.request_id)},
            "status": {"S": status},
            "mode": {"S": route.mode},
            "last_sequence": {"N": str(state.last_sequence)},
            "document": _json(route_summary(state, route)),
            "history": _json(route_history(route)),
            "documents": _json(state.documents),
        })
    return items


def timeline_items(state: RequestState,
                   sequences: Iterable[int] | None = None) -> list[dict[str, Any]]:
    """Items of the `user_timeline` table (only those of `sequences`, when given)."""
    wanted = None if sequences is None else set(sequences)
    return [{
        "user_id": {"S": state.user_id},
        "sk": {"S": timeline_sort_key(entry["recorded_at"], state.request_id,
                                      entry["sequence"])},
        "request_id": {"S": state.request_id},
        "document": _json(entry),
    } for entry in state.timeline if wanted is None or entry["sequence"] in wanted]


@dataclass(frozen=True)
class Projection:
    """Everything one request contributes to the three views."""

    request_id: str
    last_sequence: int
    requests: list[dict[str, Any]]
    inbox: list[dict[str, Any]]
    timeline: list[dict[str, Any]]


def _item_key(table: str, item: Mapping[str, Any]) -> tuple[str, str, str]:
    return table, item["pk"]["S"], item["sk"]["S"]


def _view_items(events: Sequence[LogEvent]) -> dict[tuple[str, str, str], dict[str, Any]]:
    """The `requests` and `partner_inbox` items of a log, keyed, without `last_sequence`."""
    state = fold(events)
    if state is None:
        return {}
    items = {}
    for table, table_items in (("requests", request_items(state)),
                               ("inbox", inbox_items(state))):
        for item in table_items:
            items[_item_key(table, item)] = {k: v for k, v in item.items()
                                             if k != "last_sequence"}
    return items


def project(events: Sequence[LogEvent], since: int | None = None) -> Projection | None:
    """The projection of one request's log; None for a log without `request.created`.

    Each `requests` / `partner_inbox` item carries as `last_sequence` the sequence of the
    last event that changed it, so an item is a function of the log alone whichever batches
    the log was projected in.

    Parameters
    ----------
    events: the request's events, in order (the log, or a prefix of it).
    since: only the items that events from this sequence on changed, and only their
        timeline entries (what a stream batch of those events must write); None: every item.
    """
    events = list(events)
    state = fold(events)
    if state is None:
        return None
    start = 1 if since is None else since
    window = [i for i, event in enumerate(events) if event.sequence >= start]
    changed_at: dict[tuple[str, str, str], int] = {}
    previous = _view_items(events[:window[0]]) if window else {}
    for index in window:
        current = _view_items(events[:index + 1])
        for key, item in current.items():
            if previous.get(key) != item:
                changed_at[key] = events[index].sequence
        previous = current

    def stamped(table: str, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{**item, "last_sequence": {"N": str(changed_at[_item_key(table, item)])}}
                for item in items if _item_key(table, item) in changed_at]

    sequences = None if since is None else range(since, state.last_sequence + 1)
    return Projection(state.request_id, state.last_sequence,
                      stamped("requests", request_items(state)),
                      stamped("inbox", inbox_items(state)),
                      timeline_items(state, sequences))


class ProjectionSink(Protocol):
    def write(self, projection: Projection) -> None: ...

    def delete_retired_items(self, request_id: str) -> int: ...


class LogSource(Protocol):
    def request_ids(self) -> Iterable[str]: ...

    def events(self, request_id: str) -> list[LogEvent]: ...


def rebuild(log: LogSource, sink: ProjectionSink) -> int:
    """Rebuild every request's projection from the log; return how many requests.

    Items of a former layout that no view reads any more are deleted on the way, so a
    rebuild also migrates a stage's views to the current layout.

    Parameters
    ----------
    log: where the events come from (a `partners.requests.log.RequestLog`).
    sink: where the items go (a `partners.requests.views.RequestViews`).
    """
    count = 0
    for request_id in log.request_ids():
        projection = project(log.events(request_id))
        if projection is not None:
            sink.write(projection)
            sink.delete_retired_items(request_id)
            count += 1
    return count
