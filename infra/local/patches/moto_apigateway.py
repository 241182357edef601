"""Patches of moto's API Gateway: `GetUsage`, with the usage the embedded API Gateway
metered, and `FlushStageAuthorizersCache`, which empties the embedded API Gateway's cache.

`UsageRecorder` counts calls per usage-plan key value per UTC day: the embedded API Gateway
(`infra.local.apigateway`) records one call per authorised request against the authorizer's
`usageIdentifierKey` (API key source AUTHORIZER), and GetUsage reports it as AWS does.
The embedded API Gateway serves its stage's authorizer cache here (`serve_authorizer_cache`),
so the console's flush after a revoke reaches it through the same API call as on AWS.
"""

from __future__ import annotations

import json
import threading
from collections import defaultdict
from datetime import date, datetime, timedelta, timezone
from typing import Any, Callable, Mapping

from infra.local.patches.host import attached
from infra.local.patches.registry import MOTO_5_2, Patch

GET_USAGE_DOC = "https://docs.aws.amazon.com/apigateway/latest/api/API_GetUsage.html"
USAGE_PATH = "{0}/usageplans/(?P<usage_plan_id>[^/]+)/usage$"
FLUSH_AUTHORIZERS_DOC = ("https://docs.aws.amazon.com/apigateway/latest/api/"
                         "API_FlushStageAuthorizersCache.html")
FLUSH_AUTHORIZERS_PATH = ("{0}/restapis/(?P<function_id>[^/]+)/stages/(?P<stage_name>[^/]+)"
                          "/cache/authorizers$")
# GetUsage answers at most this many days (a guard against a year-long loop per key).
MAX_USAGE_DAYS = 366


class UsageRecorder:
    """Calls per usage-plan key value per UTC day (what API Gateway meters for GetUsage)."""

    def __init__(self, clock: Callable[[], datetime] | None = None):
        self._clock = clock or (lambda: datetime.now(timezone.utc))
        self._counts: dict[str, dict[date, int]] = defaultdict(lambda: defaultdict(int))
        self._lock = threading.Lock()

    def record(self, key_value: str) -> None:
        """Count one request against the API key whose value is `key_value`."""
        today = self._clock().astimezone(timezone.utc).date()
        with self._lock:
            self._counts[key_value][today] += 1

    def used(self, key_value: str, day: date) -> int:
        with self._lock:
            return self._counts.get(key_value, {}).get(day, 0)

    def clear(self) -> None:
        with self._lock:
            self._counts.clear()


# What GetUsage reads while no runtime is attached (nothing records into it).
_default_usage = UsageRecorder()


def _period_start(day: date, quota: Mapping[str, Any]) -> date:
    """First day of the quota period (DAY, WEEK or MONTH, shifted by `offset`) holding `day`."""
    period = str(quota.get("period", "DAY")).upper()
    offset = int(quota.get("offset", 0) or 0)
    if period == "WEEK":
        # API Gateway weeks start on Sunday (offset 0); offset moves the start by days.
        start = day - timedelta(days=(day.weekday() + 1) % 7)
        start += timedelta(days=offset)
        return start if start <= day else start - timedelta(days=7)
    if period == "MONTH":
        start = day.replace(day=1) + timedelta(days=offset)
        if start > day:
            previous = (day.replace(day=1) - timedelta(days=1)).replace(day=1)
            start = previous + timedelta(days=offset)
        return start
    return day


def usage_report(plan: Any, keys: list[Any], recorder: Any, start: date, end: date,
                 key_id: str | None = None) -> dict[str, Any]:
    """The GetUsage answer for a moto usage plan and its keys.

    Each API key id maps to one `[used, remaining]` pair per day; `remaining` is what the
    plan's quota leaves in the quota period after that day (0 when the plan has no quota).
    """
    quota = plan.quota or {}
    limit = int(quota["limit"]) if quota.get("limit") is not None else None
    days = [start + timedelta(days=n) for n in range((end - start).days + 1)]
    items: dict[str, list[list[int]]] = {}
    for key in keys:
        if key_id and key.id != key_id:
            continue
        rows = []
        for day in days:
            used = recorder.used(key.value, day)
            if limit is None:
                remaining = 0
            else:
                period_start = _period_start(day, quota)
                spent = sum(recorder.used(key.value, period_start + timedelta(days=n))
                            for n in range((day - period_start).days + 1))
                remaining = max(0, limit - spent)
            rows.append([used, remaining])
        items[key.id] = rows
    # The wire name of the SDKs' `items` is `values` (API Gateway's `Usage` shape).
    return {"usagePlanId": plan.id, "startDate": start.isoformat(),
            "endDate": end.isoformat(), "values": items}


def parse_usage_dates(start: str | None, end: str | None) -> tuple[date, date]:
    """GetUsage's `startDate`/`endDate` (yyyy-MM-dd), checked as API Gateway checks them.

    Raises:
        moto.apigateway.exceptions.BadRequestException: a date is missing, malformed,
            reversed, or the span is longer than MAX_USAGE_DAYS.
    """
    from moto.apigateway.exceptions import BadRequestException

    if not start or not end:
        raise BadRequestException("Both startDate and endDate are required (yyyy-MM-dd).")
    try:
        first, last = date.fromisoformat(start), date.fromisoformat(end)
    except ValueError:
        raise BadRequestException("Invalid date format: use yyyy-MM-dd.") from None
    if last < first:
        raise BadRequestException("The endDate must not be before the startDate.")
    if (last - first).days >= MAX_USAGE_DAYS:
        raise BadRequestException(f"The usage span must be at most {MAX_USAGE_DAYS} days.")
    return first, last


def _apigateway_get_usage(self: Any) -> str:
    plan_id = self.path.split("/")[2]
    plan = self.backend.get_usage_plan(plan_id)
    start, end = parse_usage_dates(self._get_param("startDate"), self._get_param("endDate"))
    runtime = attached()
    recorder = runtime.usage if runtime is not None else _default_usage
    keys = self.backend.get_usage_plan_keys(plan_id)
    return json.dumps(usage_report(plan, keys, recorder, start, end,
                                   key_id=self._get_param("keyId")))


def answer_get_usage() -> None:
    """API Gateway `GetUsage` is answered from the usage the embedded API Gateway metered.

    Targets moto >=5.2.5,<5.3: `moto.apigateway.responses.APIGatewayResponse` (a new
    `get_usage`) and `moto.apigateway.urls.url_paths` (the `/usageplans/{id}/usage` route).
    AWS: a usage plan's daily `[used, remaining]` per API key id between `startDate` and
    `endDate` (`values` on the wire); `remaining` is what the plan's quota leaves in its
    period.
    Why: moto 5.2 does not implement it. moto builds a service's URL map when it first
    serves it and never again, so `apply()` must run before the first API Gateway request.
    Follows: https://docs.aws.amazon.com/apigateway/latest/api/API_GetUsage.html
    """
    from moto.apigateway import urls as apigateway_urls
    from moto.apigateway.responses import APIGatewayResponse

    APIGatewayResponse.get_usage = _apigateway_get_usage  # type: ignore[attr-defined]
    apigateway_urls.url_paths.setdefault(USAGE_PATH, APIGatewayResponse.dispatch)


# (rest api id, stage name) -> empties that stage's cache of authorizer results.
_authorizer_caches: dict[tuple[str, str], Callable[[], None]] = {}
_caches_lock = threading.Lock()


def serve_authorizer_cache(rest_api_id: str, stage_name: str, flush: Callable[[], None]) -> None:
    """FlushStageAuthorizersCache on `rest_api_id`/`stage_name` calls `flush` from now on."""
    with _caches_lock:
        _authorizer_caches[(rest_api_id, stage_name)] = flush


def withdraw_authorizer_cache(rest_api_id: str, stage_name: str) -> None:
    """The stage's cache is gone (its API Gateway stopped)."""
    with _caches_lock:
        _authorizer_caches.pop((rest_api_id, stage_name), None)


def _apigateway_flush_stage_authorizers_cache(self: Any) -> tuple[int, dict[str, Any], str]:
    # /restapis/{restapi_id}/stages/{stage_name}/cache/authorizers
    parts = self.path.split("/")
    rest_api_id, stage_name = parts[2], parts[4]
    with _caches_lock:
        flush = _authorizer_caches.get((rest_api_id, stage_name))
    if flush is None:
        # A stage moto stores has no authorizer cache to empty; any other is NotFound, as
        # on AWS ("Invalid Rest API Id specified" / "Invalid stage identifier specified").
        self.backend.get_stage(rest_api_id, stage_name)
    else:
        flush()
    # moto reads the status from the headers' `status`, not the tuple's first item.
    return 202, {"status": 202}, ""


def answer_flush_stage_authorizers_cache() -> None:
    """API Gateway `FlushStageAuthorizersCache` empties the embedded API Gateway's cache.

    Targets moto >=5.2.5,<5.3: `moto.apigateway.responses.APIGatewayResponse` (a new
    `flush_stage_authorizers_cache`) and `moto.apigateway.urls.url_paths` (the
    `DELETE /restapis/{id}/stages/{stage}/cache/authorizers` route).
    AWS: answers 202 with no body and empties the stage's cache of authorizer results, so
    the next call with any token runs the authorizer again; NotFoundException for an
    unknown API or stage.
    Why: moto 5.2 does not implement it (and runs no API, so caches nothing); the embedded
    API Gateway registers its cache with `serve_authorizer_cache`. Like GetUsage's route,
    `apply()` must run before the first API Gateway request.
    Follows: https://docs.aws.amazon.com/apigateway/latest/api/API_FlushStageAuthorizersCache.html
    """
    from moto.apigateway import urls as apigateway_urls
    from moto.apigateway.responses import APIGatewayResponse

    APIGatewayResponse.flush_stage_authorizers_cache = (  # type: ignore[attr-defined]
        _apigateway_flush_stage_authorizers_cache)
    apigateway_urls.url_paths.setdefault(FLUSH_AUTHORIZERS_PATH, APIGatewayResponse.dispatch)


PATCHES = (
    Patch(answer_get_usage, (MOTO_5_2,), GET_USAGE_DOC),
    Patch(answer_flush_stage_authorizers_cache, (MOTO_5_2,), FLUSH_AUTHORIZERS_DOC),
)
