"""The view tables' keys and indexes: the one place their shapes are spelled.

The projections write these keys (`partners.requests.projections`), the views read them
(`partners.requests.views`), and `infra/spec.py` declares the indexes under these names:

- `requests`: pk `REQUEST#<request id>`, sk `REQUEST`; index `by-environment`
  (`environment`, `created_at`) for an environment's latest requests;
- `partner_inbox`: pk `<partner>#<env>` (the partner environment's partition), sk the
  request id; `queue_key` `<rank>#<routed_at>#<request id>` (index `by-queue`: pending
  first), `status_key` `<partner>#<env>#<status>` with `routed_key`
  `<routed_at>#<request id>` (index `by-status`: one status), and `by-routed` (pk,
  `routed_key`: the latest routings, routings per day);
- `user_timeline`: pk `user_id`, sk `<recorded_at>#<request id>#<sequence, 10 digits>`.

Times are ISO 8601 UTC strings, so sort keys that start with one sort by time.
"""

from __future__ import annotations

from typing import Any

REQUESTS_ENVIRONMENT_INDEX = "by-environment"
INBOX_QUEUE_INDEX = "by-queue"
INBOX_STATUS_INDEX = "by-status"
INBOX_ROUTED_INDEX = "by-routed"

REQUEST_SORT_KEY = "REQUEST"
# Sort-key prefix of the per-route items the `requests` table held before routes moved to
# the inbox: nothing reads them any more; a rebuild deletes them.
RETIRED_ROUTE_PREFIX = "ROUTE#"


def request_key(request_id: str) -> dict[str, Any]:
    """The key of a request's `REQUEST` item in the `requests` table."""
    return {"pk": {"S": f"REQUEST#{request_id}"}, "sk": {"S": REQUEST_SORT_KEY}}


def inbox_partition(partner_id: str, environment: str) -> str:
    """The `partner_inbox` partition of a partner environment: `<partner>#<env>`."""
    return f"{partner_id}#{environment}"


def inbox_key(request_id: str, partner_id: str, environment: str) -> dict[str, Any]:
    """The key of a request's item in a partner environment's inbox partition."""
    return {"pk": {"S": inbox_partition(partner_id, environment)}, "sk": {"S": request_id}}


def inbox_status_key(partner_id: str, environment: str, status: str) -> str:
    """The `by-status` partition of a partner environment's requests in one status."""
    return f"{partner_id}#{environment}#{status}"


def routed_key(routed_at: str, request_id: str) -> str:
    """The `by-routed` sort key: when the request was routed, then its id (ties)."""
    return f"{routed_at}#{request_id}"


def routed_day(key: str) -> str:
    """The UTC day (`YYYY-MM-DD`) of a `routed_key`."""
    return key[:10]


def queue_key(rank: int, routed_at: str, request_id: str) -> str:
    """The `by-queue` sort key: the status rank (pending, open, final), then routing time."""
    return f"{rank}#{routed_key(routed_at, request_id)}"


def timeline_sort_key(recorded_at: str, request_id: str, sequence: int) -> str:
    """The `user_timeline` sort key of one log event: time, request, zero-padded sequence."""
    return f"{recorded_at}#{request_id}#{sequence:010d}"
