"""What a partner environment may read of its deliveries: filtered pages and one delivery.

A partner environment reads only its own `by-environment` partition; another environment's
delivery is not found, exactly like one that does not exist. Cursors are opaque and name the
environment they were made for: a cursor brought to another environment is refused (422),
so paging can never step into another partition.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from partners.core.clock import parse_iso
from partners.core.exceptions import ValidationError
from partners.core.paging import MAX_PAGE_SIZE, decode_cursor, encode_cursor
from partners.deliveries.exceptions import DeliveryNotFoundError, InvalidDeliveryQueryError
from partners.deliveries.models import DELIVERY_ID_PREFIX, Delivery, Outcome
from partners.deliveries.store import DeliveryStore, created_key, env_key, to_delivery

DEFAULT_LIMIT = 50
DELIVERY_ID = re.compile(rf"^{DELIVERY_ID_PREFIX}[0-9a-f]{{24}}$")
TIME = re.compile(r"(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2}(?::\d{2})?)(\.\d+)?"
                  r"([Zz]|[+-]\d{2}:\d{2})?")
FILTER_VALUE = re.compile(r"^[A-Za-z0-9_.:/-]{1,128}$")
# A filter that matches few items reads at most this many index pages per call; the cursor
# then continues where the reading stopped.
MAX_PAGES_PER_CALL = 10
_BEGINNING = datetime(1970, 1, 1, tzinfo=timezone.utc)
_END = "9999"


@dataclass(frozen=True)
class DeliveryPage:
    items: list[Delivery]
    next_cursor: str | None


def parse_outcome(text: str) -> Outcome:
    """The `outcome` filter.

    Raises
    ------
    InvalidDeliveryQueryError: not one of `delivered`, `retrying`, `failed`, `dead_lettered`.
    """
    try:
        return Outcome(text)
    except ValueError:
        allowed = ", ".join(o.value for o in Outcome)
        raise InvalidDeliveryQueryError(f"outcome must be one of {allowed}",
                                        field="outcome") from None


def parse_time(text: str, field: str) -> datetime:
    """A `since` / `until` filter: an RFC 3339 date-time (a time without zone is UTC).

    Raises
    ------
    InvalidDeliveryQueryError: for anything else.
    """
    match = TIME.fullmatch(text.strip())
    try:
        if not match:
            raise ValueError(text)
        date, clock, fraction, zone = match.groups()
        # RFC 3339 allows any number of fraction digits; Python keeps microseconds.
        return parse_iso(f"{date}T{clock}{(fraction or '')[:7]}{(zone or 'Z').upper()}")
    except ValueError:
        raise InvalidDeliveryQueryError(f"{field} must be an RFC 3339 date-time",
                                        field=field) from None


def _filter_value(value: str | None, field: str) -> str | None:
    if value is None:
        return None
    if not FILTER_VALUE.match(value):
        raise InvalidDeliveryQueryError(
            f"{field} must be 1-128 letters, digits or . _ : / -", field=field)
    return value


class DeliveryQueries:
    """A partner environment's view of the delivery log.

    Parameters
    ----------
    store: the `deliveries` table.
    """

    def __init__(self, store: DeliveryStore):
        self.store = store

    def list(self, partner_id: str, environment: str, *, outcome: Outcome | str | None = None,
             request_type: str | None = None, request_id: str | None = None,
             since: datetime | None = None, until: datetime | None = None,
             limit: int = DEFAULT_LIMIT, cursor: str | None = None) -> DeliveryPage:
        """One page of the environment's deliveries, newest first.

        Parameters
        ----------
        partner_id, environment: the caller's partner environment (the only one it reads).
        outcome, request_type, request_id: keep only deliveries with these values.
        since, until: keep deliveries created in `[since, until]`.
        limit: page size, 1 to 100.
        cursor: the previous page's `next_cursor`.

        Returns
        -------
        The page; `next_cursor` is None after the last page.

        Raises
        ------
        InvalidDeliveryQueryError: an unknown outcome, a bad value, `since` after `until`,
            a limit out of range, or a cursor not made for this environment (`field` says
            which).
        """
        if isinstance(limit, bool) or not isinstance(limit, int) or \
                not 1 <= limit <= MAX_PAGE_SIZE:
            raise InvalidDeliveryQueryError(f"limit must be from 1 to {MAX_PAGE_SIZE}",
                                            field="limit")
        if since and until and since > until:
            raise InvalidDeliveryQueryError("since must not be after until", field="since")
        filters = {name: value for name, value in (
            ("outcome", parse_outcome(outcome).value if outcome is not None else None),
            ("request_type", _filter_value(request_type, "request_type")),
            ("request_id", _filter_value(request_id, "request_id"))) if value is not None}
        owner = env_key(partner_id, environment)
        start = self._start_key(cursor, owner)
        low = created_key(since or _BEGINNING, "")
        high = created_key(until, _END) if until else _END
        items: list[dict[str, Any]] = []
        last: dict[str, Any] | None = None
        for _ in range(MAX_PAGES_PER_CALL):
            page, last = self.store.query_environment(
                owner, low=low, high=high, filters=filters, start=start,
                limit=limit + 1 - len(items))
            items += page
            if len(items) > limit or not last:
                break
            start = last
        if len(items) > limit:
            items = items[:limit]
            last = {k: items[-1][k] for k in ("pk", "sk", "env_key", "created_key")}
        return DeliveryPage([to_delivery(item) for item in items],
                            self._cursor(last, owner) if last else None)

    def get(self, partner_id: str, environment: str, delivery: str) -> Delivery:
        """One delivery of the caller's environment.

        Raises
        ------
        DeliveryNotFoundError: no such delivery in this environment (another environment's
            is not found either).
        """
        if not DELIVERY_ID.match(delivery):
            raise DeliveryNotFoundError(delivery[:40])
        found = self.store.get(delivery)
        if found is None or (found.partner_id, found.environment) != (partner_id, environment):
            raise DeliveryNotFoundError(delivery)
        return found

    @staticmethod
    def _cursor(last: dict[str, Any], owner: str) -> str | None:
        return encode_cursor({"e": owner, "pk": last["pk"]["S"], "sk": last["sk"]["S"],
                              "c": last["created_key"]["S"]})

    @staticmethod
    def _start_key(cursor: str | None, owner: str) -> dict[str, Any] | None:
        if cursor is None:
            return None
        try:
            key = decode_cursor(cursor)
        except ValidationError:
            raise InvalidDeliveryQueryError("cursor is not valid", field="cursor") from None
        if key is None or set(key) != {"e", "pk", "sk", "c"} or \
                not all(isinstance(v, str) for v in key.values()):
            raise InvalidDeliveryQueryError("cursor is not valid", field="cursor")
        if key["e"] != owner:
            raise InvalidDeliveryQueryError("cursor belongs to another environment",
                                            field="cursor")
        if not key["pk"].startswith("DELIVERY#") or key["sk"] != "DELIVERY":
            raise InvalidDeliveryQueryError("cursor is not valid", field="cursor")
        return {"pk": {"S": key["pk"]}, "sk": {"S": key["sk"]}, "env_key": {"S": owner},
                "created_key": {"S": key["c"]}}
