"""Preview a request filter: its compiled event pattern, and which recent requests it matches.

Matching is EventBridge's own (`TestEventPattern`), so the preview cannot disagree with the
rule the reconciler will write. Requests with the same type and attributes are asked once.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any, Mapping

from partners.core.constants import REQUEST_CREATED, SOURCE_REQUESTS
from partners.onboarding import RequestFilter
from partners.requests import RequestSummary
from partners.routing.patterns import compile_event_pattern, pattern_json

# TestEventPattern wants a whole event; these fill the envelope fields a filter never reads.
PREVIEW_ACCOUNT = "123456789012"


@dataclass(frozen=True)
class PreviewRow:
    request: RequestSummary
    matched: bool


@dataclass(frozen=True)
class FilterPreview:
    pattern: dict[str, Any]
    rows: list[PreviewRow]

    @property
    def pattern_text(self) -> str:
        return json.dumps(self.pattern, indent=2)

    @property
    def matched(self) -> int:
        return sum(1 for row in self.rows if row.matched)


def preview_event(request: RequestSummary, region: str) -> dict[str, Any]:
    """The `Request Created` event a recent request was, in EventBridge's envelope."""
    return {
        "version": "0",
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"pgw:request:{request.request_id}")),
        "detail-type": REQUEST_CREATED,
        "source": SOURCE_REQUESTS,
        "account": PREVIEW_ACCOUNT,
        "time": request.created_at or "2026-01-01T00:00:00Z",
        "region": region,
        "resources": [],
        "detail": request.detail,
    }


def preview_filter(events_client: Any, request_filter: RequestFilter | Mapping[str, Any],
                   environment: str, partner_id: str,
                   requests: list[RequestSummary]) -> FilterPreview:
    """Compile `request_filter` and test it against `requests`.

    Raises
    ------
    InvalidFilterError: the filter does not compile (the field path says where).
    """
    pattern = compile_event_pattern(request_filter, environment, partner_id=partner_id)
    text = pattern_json(pattern)
    region = events_client.meta.region_name
    answers: dict[str, bool] = {}
    rows = []
    for request in requests:
        key = json.dumps(request.matching_key, sort_keys=True, default=str)
        if key not in answers:
            answers[key] = bool(events_client.test_event_pattern(
                EventPattern=text,
                Event=json.dumps(preview_event(request, region)))["Result"])
        rows.append(PreviewRow(request, answers[key]))
    return FilterPreview(pattern, rows)
