"""Preview a request filter: its compiled event pattern, what it says in words, and which
recent requests it matches.

Matching is EventBridge's own (`TestEventPattern`), so the preview cannot disagree with the
rule the reconciler will write. Requests with the same type and attributes are asked once.

A partner sees only what is its own (tenant isolation): the requests routed to this
partner environment and its own test events are listed; other recent requests it could
receive (the marketplace's, addressed to nobody) are only counted; test events of other
partners (addressed to them) are left out altogether, not even counted.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from partners.core.constants import ADDRESSED_TO, REQUEST_CREATED, SOURCE_REQUESTS
from partners.onboarding import RequestFilter, parse_filter
from partners.requests import RequestSummary
from partners.routing.patterns import compile_event_pattern, pattern_json
from partners.routing.test_events import Matcher, is_probe_of
from partners.routing.wording import describe_filter

# TestEventPattern wants a whole event; these fill the envelope fields a filter never reads.
PREVIEW_ACCOUNT = "123456789012"


@dataclass(frozen=True)
class PreviewRow:
    request: RequestSummary
    matched: bool


@dataclass(frozen=True)
class PreviewSample:
    """The recent requests a partner environment may preview against.

    own: requests routed to this partner environment, and its own test events (listed).
    others: the other requests it could receive, addressed to nobody (only counted).
    """

    own: list[RequestSummary] = field(default_factory=list)
    others: list[RequestSummary] = field(default_factory=list)


@dataclass(frozen=True)
class FilterPreview:
    pattern: dict[str, Any]
    rows: list[PreviewRow]
    others: int = 0
    others_matched: int = 0
    sentence: str = ""

    @property
    def pattern_text(self) -> str:
        return json.dumps(self.pattern, indent=2)

    @property
    def matched(self) -> int:
        return sum(1 for row in self.rows if row.matched)


def preview_sample(requests: Iterable[RequestSummary], partner_id: str,
                   environment: str) -> PreviewSample:
    """Split recent requests into what the partner environment may see and may count.

    Parameters
    ----------
    requests: recent requests of the stage (any partner's).
    partner_id, environment: the partner environment previewing its filter.

    Returns
    -------
    A `PreviewSample`: other environments' requests and other partners' test events are in
    neither list.
    """
    sample = PreviewSample()
    for request in requests:
        if request.environment != environment:
            continue
        routed_here = (partner_id, environment) in request.routed_to
        own_probe = request.test and is_probe_of(request.request_id, partner_id) and all(
            p == partner_id for p, _ in request.routed_to)
        if routed_here or own_probe:
            sample.own.append(request)
        elif not request.test:
            sample.others.append(request)
    return sample


def preview_event(request: RequestSummary, region: str,
                  addressed_to: str | None = None) -> dict[str, Any]:
    """The `Request Created` event a recent request was, in EventBridge's envelope."""
    detail = dict(request.detail)
    if addressed_to:
        detail[ADDRESSED_TO] = addressed_to
    return envelope(detail, region, request.request_id, request.created_at)


def envelope(detail: Mapping[str, Any], region: str, request_id: str,
             time: str | None = None) -> dict[str, Any]:
    """A `Request Created` detail in the envelope `TestEventPattern` needs."""
    return {
        "version": "0",
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"pgw:request:{request_id}")),
        "detail-type": REQUEST_CREATED,
        "source": SOURCE_REQUESTS,
        "account": PREVIEW_ACCOUNT,
        "time": time or "2026-01-01T00:00:00Z",
        "region": region,
        "resources": [],
        "detail": dict(detail),
    }


def event_pattern_matcher(events_client: Any) -> Matcher:
    """A `Matcher` answered by EventBridge's `TestEventPattern`."""
    region = events_client.meta.region_name

    def matches(pattern: Mapping[str, Any], detail: Mapping[str, Any]) -> bool:
        event = envelope(detail, region, str(detail.get("request_id", "")),
                         str(detail.get("occurred_at") or "") or None)
        return bool(events_client.test_event_pattern(
            EventPattern=pattern_json(pattern), Event=json.dumps(event, default=str))["Result"])

    return matches


def preview_filter(events_client: Any, request_filter: RequestFilter | Mapping[str, Any],
                   environment: str, partner_id: str,
                   requests: list[RequestSummary]) -> FilterPreview:
    """Compile `request_filter` and test it against the recent requests the partner
    environment may preview against (see `preview_sample`).

    Parameters
    ----------
    events_client: the EventBridge client (`TestEventPattern`).
    request_filter: the filter to preview.
    environment, partner_id: the partner environment.
    requests: recent requests of `environment` (any partner's: they are sorted out here).

    Returns
    -------
    The pattern, its sentence, a row per own request, and counts for the others.

    Raises
    ------
    InvalidFilterError: the filter does not compile (the field path says where).
    """
    parsed = parse_filter(request_filter)
    pattern = compile_event_pattern(parsed, environment, partner_id=partner_id)
    matcher = event_pattern_matcher(events_client)
    answers: dict[str, bool] = {}

    def matched(request: RequestSummary, addressed_to: str | None) -> bool:
        key = json.dumps([request.matching_key, addressed_to], sort_keys=True, default=str)
        if key not in answers:
            detail = dict(request.detail)
            if addressed_to:
                detail[ADDRESSED_TO] = addressed_to
            answers[key] = matcher(pattern, detail)
        return answers[key]

    sample = preview_sample(requests, partner_id, environment)
    rows = [PreviewRow(r, matched(r, partner_id if r.test else None)) for r in sample.own]
    others_matched = sum(1 for r in sample.others if matched(r, None))
    return FilterPreview(pattern, rows, others=len(sample.others),
                         others_matched=others_matched, sentence=describe_filter(parsed))
